//! Reading like Go: string enums that keep unknown values, and `metav1.Time` with a zero value.
//!
//! Go's API types are plain `string` types with constants, and `json.Unmarshal` accepts any string
//! for them, fills missing fields with zero values and reads `null` as zero. A controller built on
//! these types must do the same, or one object written by a newer gardenlet (or by hand) stops the
//! whole watch. The enums declared with `wire_enum!` therefore have an `Other(String)` variant
//! that round-trips byte for byte, and every `Time` field reads `null` or a missing key as
//! [`zero_time`], which is written back as `null`, as Go's `metav1.Time.MarshalJSON` does.

use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;
use std::fmt;

/// A string that is not one of an enum's known wire values (see `parse_known` on each enum).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UnknownValue {
    /// Name of the enum.
    pub kind: &'static str,
    /// The offending value.
    pub value: String,
}

impl fmt::Display for UnknownValue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "unknown {} {:?}", self.kind, self.value)
    }
}

impl std::error::Error for UnknownValue {}

/// Declares a Go string type: known values as variants plus `Other(String)` for everything else.
///
/// Serialises as the plain string, deserialises any string (unknown ones into `Other`), defaults to
/// `Other("")` (Go's zero value) and has the JSON schema `{"type": "string"}`, as Gardener's CRDs.
macro_rules! wire_enum {
    ($(#[$meta:meta])* $name:ident { $($(#[$vmeta:meta])* $variant:ident = $wire:literal),+ $(,)? }) => {
        $(#[$meta])*
        #[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub enum $name {
            $($(#[$vmeta])* $variant,)+
            /// A value this version does not know (kept as is, as Go's string type does).
            Other(String),
        }

        impl $name {
            /// The known values, in declaration order.
            pub const KNOWN: &'static [Self] = &[$(Self::$variant),+];

            /// The exact wire string.
            pub fn as_str(&self) -> &str {
                match self {
                    $(Self::$variant => $wire,)+
                    Self::Other(s) => s,
                }
            }

            /// Whether this is one of the known values.
            pub fn is_known(&self) -> bool {
                !matches!(self, Self::Other(_))
            }

            /// Parses a known value only (for flags and validation, where unknown values are errors).
            ///
            /// # Errors
            /// [`UnknownValue`](crate::wire::UnknownValue) for any other string.
            pub fn parse_known(s: &str) -> Result<Self, $crate::wire::UnknownValue> {
                match Self::from(s) {
                    Self::Other(value) => Err($crate::wire::UnknownValue { kind: stringify!($name), value }),
                    known => Ok(known),
                }
            }
        }

        impl Default for $name {
            fn default() -> Self {
                Self::Other(String::new())
            }
        }

        impl From<&str> for $name {
            fn from(s: &str) -> Self {
                match s {
                    $($wire => Self::$variant,)+
                    other => Self::Other(other.to_string()),
                }
            }
        }

        impl From<String> for $name {
            fn from(s: String) -> Self {
                match Self::from(s.as_str()) {
                    Self::Other(_) => Self::Other(s),
                    known => known,
                }
            }
        }

        impl std::str::FromStr for $name {
            type Err = std::convert::Infallible;
            fn from_str(s: &str) -> Result<Self, Self::Err> {
                Ok(Self::from(s))
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl serde::Serialize for $name {
            fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.serialize_str(self.as_str())
            }
        }

        impl<'de> serde::Deserialize<'de> for $name {
            fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                // `null` is Go's zero value too.
                Ok(Option::<String>::deserialize(d)?.map(Self::from).unwrap_or_default())
            }
        }

        impl schemars::JsonSchema for $name {
            fn schema_name() -> std::borrow::Cow<'static, str> {
                stringify!($name).into()
            }
            fn inline_schema() -> bool {
                true
            }
            fn json_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
                schemars::json_schema!({ "type": "string" })
            }
        }
    };
}
pub(crate) use wire_enum;

/// Go's zero `time.Time` (`0001-01-01T00:00:00Z`): what a missing or `null` timestamp decodes to.
pub fn zero_time() -> Time {
    // Seconds from 0001-01-01T00:00:00Z to the Unix epoch.
    const GO_ZERO_UNIX_SECONDS: i64 = -62_135_596_800;
    Time(
        k8s_openapi::jiff::Timestamp::from_second(GO_ZERO_UNIX_SECONDS)
            .unwrap_or(k8s_openapi::jiff::Timestamp::MIN),
    )
}

/// Whether `t` is Go's zero time.
pub fn is_zero_time(t: &Time) -> bool {
    *t == zero_time()
}

/// Serde functions for a `metav1.Time` field: `null` or missing reads as [`zero_time`], the zero
/// time writes as `null` (Go's `MarshalJSON`).
pub mod time {
    use super::{is_zero_time, zero_time};
    use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;
    use serde::{Deserialize, Deserializer, Serialize, Serializer};

    /// Reads a timestamp; `null` is the zero time.
    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Time, D::Error> {
        Ok(Option::<Time>::deserialize(d)?.unwrap_or_else(zero_time))
    }

    /// Writes a timestamp; the zero time is `null`.
    pub fn serialize<S: Serializer>(t: &Time, s: S) -> Result<S::Ok, S::Error> {
        if is_zero_time(t) {
            s.serialize_none()
        } else {
            t.serialize(s)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn zero_time_is_gos() {
        let json = serde_json::to_value(zero_time()).unwrap();
        assert_eq!(json, "0001-01-01T00:00:00Z");
        assert!(is_zero_time(&zero_time()));
    }
}
