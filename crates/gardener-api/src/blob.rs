//! Opaque JSON blobs kept as their text.
//!
//! A Cluster embeds the whole Shoot, Seed and CloudProfile, often 50 KiB together, of which an
//! extension reads a few fields. Parsed into [`serde_json::Value`] such a blob takes about ten
//! times its text in memory (a map per object); kept as text it takes its size, and the few
//! fields are decoded on demand.

use schemars::{JsonSchema, Schema, SchemaGenerator, json_schema};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use serde_json::value::RawValue;
use std::borrow::Cow;

/// A JSON value held as its (compact, valid) text; serializes back byte for byte.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Blob(Box<RawValue>);

impl Blob {
    /// The blob of `value`.
    pub fn from_value(value: &Value) -> Self {
        // Serializing a `Value` cannot fail: its map keys are strings.
        Self(serde_json::value::to_raw_value(value).unwrap_or_else(|_| Self::null_raw()))
    }

    fn null_raw() -> Box<RawValue> {
        RawValue::NULL.to_owned()
    }

    /// The JSON text.
    pub fn get(&self) -> &str {
        self.0.get()
    }

    /// Whether the blob is JSON `null`.
    pub fn is_null(&self) -> bool {
        self.0.get().trim() == "null"
    }

    /// Decodes the blob as `T`.
    ///
    /// # Errors
    /// When the text does not decode as `T`.
    pub fn decode<T: DeserializeOwned>(&self) -> Result<T, serde_json::Error> {
        serde_json::from_str(self.0.get())
    }

    /// The blob as a [`Value`].
    pub fn to_value(&self) -> Value {
        self.decode().unwrap_or(Value::Null)
    }
}

impl Default for Blob {
    fn default() -> Self {
        Self(Self::null_raw())
    }
}

/// Equal when the texts are equal (what was received is what is compared).
impl PartialEq for Blob {
    fn eq(&self, other: &Self) -> bool {
        self.0.get() == other.0.get()
    }
}

impl From<Value> for Blob {
    fn from(value: Value) -> Self {
        Self::from_value(&value)
    }
}

impl JsonSchema for Blob {
    fn schema_name() -> Cow<'static, str> {
        "Blob".into()
    }

    fn json_schema(_: &mut SchemaGenerator) -> Schema {
        json_schema!({ "type": "object", "x-kubernetes-preserve-unknown-fields": true })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn text_round_trips_and_decodes_on_demand() {
        let text = r#"{"b":1,"a":{"x":[1,2]}}"#;
        let blob: Blob = serde_json::from_str(text).unwrap();
        assert_eq!(blob.get(), text);
        assert_eq!(serde_json::to_string(&blob).unwrap(), text);
        assert_eq!(blob.to_value(), json!({"b": 1, "a": {"x": [1, 2]}}));
        assert_eq!(Blob::from(json!({"b": 1})).get(), r#"{"b":1}"#);
        assert!(Blob::default().is_null());
        // From a parsed Value too (how a lenient watch decodes objects).
        let from_value: Blob = serde_json::from_value(json!({"k": "v"})).unwrap();
        assert_eq!(from_value.get(), r#"{"k":"v"}"#);
    }
}
