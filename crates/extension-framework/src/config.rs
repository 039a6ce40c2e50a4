//! Typed, versioned configuration: an object's `providerConfig` and the extension's `--config`
//! file, decoded, defaulted and validated the same way.
//!
//! Both carry their own `apiVersion`/`kind`, as Go's `runtime.RawExtension` configs do. Decoding
//! checks those first, then decodes the rest (strictly, i.e. rejecting unknown fields, where the
//! type says so, as upstream's `serializer.EnableStrict` decoders do), applies defaults and runs the
//! type's validation. Every failure names the field path.
//!
//! ```
//! use extension_framework::config::{FieldError, FieldPath, VersionedConfig, decode_provider_config};
//! use serde::Deserialize;
//!
//! #[derive(Debug, Default, Deserialize)]
//! #[serde(rename_all = "camelCase", deny_unknown_fields)]
//! struct GVisorConfiguration {
//!     #[serde(default)]
//!     config_flags: Option<std::collections::BTreeMap<String, String>>,
//! }
//!
//! impl VersionedConfig for GVisorConfiguration {
//!     const API_VERSION: &'static str = "gvisor.runtime.extensions.config.gardener.cloud/v1alpha1";
//!     const KIND: &'static str = "GVisorConfiguration";
//! }
//!
//! let raw = serde_json::json!({
//!     "apiVersion": "gvisor.runtime.extensions.config.gardener.cloud/v1alpha1",
//!     "kind": "GVisorConfiguration",
//!     "configFlags": {"net-raw": "true"},
//! });
//! let config: GVisorConfiguration = decode_provider_config(Some(&raw)).unwrap().unwrap();
//! assert_eq!(config.config_flags.unwrap()["net-raw"], "true");
//!
//! let wrong = serde_json::json!({"apiVersion": "v9", "kind": "GVisorConfiguration"});
//! let err = decode_provider_config::<GVisorConfiguration>(Some(&wrong)).unwrap_err();
//! assert_eq!(
//!     err.to_string(),
//!     r#"invalid providerConfig: providerConfig: no kind "GVisorConfiguration" is registered for version "v9" in scheme"#
//! );
//! ```

use crate::Error;
use gardener_api::extensions::ErrorCode;
use serde::de::DeserializeOwned;
use serde_json::Value;
use std::fmt;
use std::path::Path;

/// A dotted field path, as Kubernetes prints them (`spec.providerConfig.flux.version`,
/// `items[2].name`).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct FieldPath(String);

impl FieldPath {
    /// A path starting at `root` (may be empty).
    pub fn new(root: &str) -> Self {
        Self(root.to_string())
    }

    /// The path of a child field.
    pub fn child(&self, name: &str) -> Self {
        if self.0.is_empty() {
            Self(name.to_string())
        } else {
            Self(format!("{}.{name}", self.0))
        }
    }

    /// The path of a list item.
    pub fn index(&self, i: usize) -> Self {
        Self(format!("{}[{i}]", self.0))
    }
}

impl fmt::Display for FieldPath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// One invalid field, printed as Kubernetes' `field.Error`: `<path>: <message>`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FieldError {
    /// Where.
    pub path: FieldPath,
    /// What (`Required value`, `Unsupported value: "x": supported values: "a", "b"`, ...).
    pub message: String,
}

impl FieldError {
    /// `Required value`.
    pub fn required(path: FieldPath) -> Self {
        Self {
            path,
            message: "Required value".into(),
        }
    }

    /// `Invalid value: <value>: <detail>`, the value as JSON (strings quoted, `null`), as
    /// Kubernetes prints it.
    pub fn invalid(path: FieldPath, value: impl serde::Serialize, detail: &str) -> Self {
        let value = serde_json::to_string(&value).unwrap_or_else(|_| "<unprintable>".into());
        Self {
            path,
            message: format!("Invalid value: {value}: {detail}"),
        }
    }

    /// `Unsupported value: "<value>": supported values: "a", "b"`.
    pub fn not_supported(path: FieldPath, value: &str, supported: &[&str]) -> Self {
        let supported: Vec<String> = supported.iter().map(|s| format!("{s:?}")).collect();
        Self {
            path,
            message: format!(
                "Unsupported value: {value:?}: supported values: {}",
                supported.join(", ")
            ),
        }
    }

    /// `Forbidden: <detail>`.
    pub fn forbidden(path: FieldPath, detail: &str) -> Self {
        Self {
            path,
            message: format!("Forbidden: {detail}"),
        }
    }
}

impl fmt::Display for FieldError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.path, self.message)
    }
}

/// A configuration type with its own `apiVersion` and `kind`.
pub trait VersionedConfig: DeserializeOwned {
    /// The only accepted `apiVersion`.
    const API_VERSION: &'static str;
    /// The only accepted `kind`.
    const KIND: &'static str;

    /// Fills in defaults after decoding (Go's `SetDefaults_*`).
    fn set_defaults(&mut self) {}

    /// Checks the decoded, defaulted value; `path` is where the config sits.
    fn validate(&self, _path: &FieldPath) -> Vec<FieldError> {
        Vec::new()
    }
}

/// Why a configuration was rejected.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// The values are wrong (one or more field errors).
    #[error("{}", join(.0))]
    Invalid(Vec<FieldError>),
    /// `apiVersion`/`kind` are missing or not this type's (Go's scheme error text).
    #[error("{path}: {message}")]
    NotRegistered {
        /// Where the config sits.
        path: FieldPath,
        /// `no kind "K" is registered for version "V" in scheme`, or `Object 'Kind' is missing`.
        message: String,
    },
    /// The document is not valid JSON/YAML or does not fit the type.
    #[error("{path}: {source}")]
    Malformed {
        /// Where decoding stopped.
        path: FieldPath,
        /// The decoder's message.
        source: serde_json::Error,
    },
    /// The file could not be read or is not YAML.
    #[error("reading {file}: {message}")]
    File {
        /// The file.
        file: String,
        /// What went wrong.
        message: String,
    },
}

fn join(errors: &[FieldError]) -> String {
    match errors {
        [one] => one.to_string(),
        many => format!(
            "[{}]",
            many.iter()
                .map(ToString::to_string)
                .collect::<Vec<_>>()
                .join(", ")
        ),
    }
}

/// Decodes, defaults and validates a config found at `path` in its document.
///
/// # Errors
/// [`ConfigError::NotRegistered`] for a wrong `apiVersion`/`kind`, [`ConfigError::Invalid`] for
/// failed validation, [`ConfigError::Malformed`] for a document that does not fit the type (with the
/// field path).
pub fn decode<T: VersionedConfig>(value: &Value, path: &FieldPath) -> Result<T, ConfigError> {
    check_type_meta::<T>(value, path)?;
    let mut body = value.clone();
    if let Some(map) = body.as_object_mut() {
        map.remove("apiVersion");
        map.remove("kind");
    }
    let mut config: T = serde_path_to_error::deserialize(&body).map_err(|e| {
        let inner = e.path().to_string();
        let at = if inner == "." {
            path.clone()
        } else {
            path.child(&inner)
        };
        ConfigError::Malformed {
            path: at,
            source: e.into_inner(),
        }
    })?;
    config.set_defaults();
    let errors = config.validate(path);
    if errors.is_empty() {
        Ok(config)
    } else {
        Err(ConfigError::Invalid(errors))
    }
}

/// Go's universal decoder checks `apiVersion`/`kind` against its scheme first; its messages are
/// what upstream extensions report, so they are kept to the letter.
fn check_type_meta<T: VersionedConfig>(value: &Value, path: &FieldPath) -> Result<(), ConfigError> {
    let Some(object) = value.as_object() else {
        return Err(ConfigError::Invalid(vec![FieldError::invalid(
            path.clone(),
            value,
            "must be an object",
        )]));
    };
    let field = |name: &str| object.get(name).and_then(Value::as_str).unwrap_or_default();
    let (api_version, kind) = (field("apiVersion"), field("kind"));
    if kind.is_empty() {
        return Err(ConfigError::NotRegistered {
            path: path.clone(),
            message: "Object 'Kind' is missing".into(),
        });
    }
    if api_version != T::API_VERSION || kind != T::KIND {
        return Err(ConfigError::NotRegistered {
            path: path.clone(),
            message: format!(
                "no kind {kind:?} is registered for version {api_version:?} in scheme"
            ),
        });
    }
    Ok(())
}

/// Decodes an object's `spec.providerConfig` (`None` when it has none).
///
/// # Errors
/// An [`Error`] with `ERR_CONFIGURATION_PROBLEM`, described as `invalid providerConfig: <field
/// errors>`, which the framework records in `status.lastError`.
pub fn decode_provider_config<T: VersionedConfig>(raw: Option<&Value>) -> Result<Option<T>, Error> {
    let Some(raw) = raw.filter(|v| !v.is_null()) else {
        return Ok(None);
    };
    decode(raw, &FieldPath::new("providerConfig"))
        .map(Some)
        .map_err(|e| {
            Error::context("invalid providerConfig", e)
                .with_codes([ErrorCode::ConfigurationProblem])
        })
}

/// Loads the extension's `--config` file (YAML or JSON) at start-up.
///
/// # Errors
/// [`ConfigError::File`] if it cannot be read or parsed, else as [`decode`].
pub fn load_file<T: VersionedConfig>(file: &Path) -> Result<T, ConfigError> {
    let fail = |message: String| ConfigError::File {
        file: file.display().to_string(),
        message,
    };
    let text = std::fs::read_to_string(file).map_err(|e| fail(e.to_string()))?;
    let value: Value = serde_saphyr::from_str(&text).map_err(|e| fail(e.to_string()))?;
    decode(&value, &FieldPath::default())
}

/// The extension's `--config`, loaded by the [`Manager`](crate::Manager) at start-up.
///
/// Create it before the actuator, hand a clone to the actuator and register it with
/// [`Manager::config_file`](crate::Manager::config_file). Until a file is loaded (or when no
/// `--config` is given) it holds the type's defaults. A file that does not load or validate stops
/// the start-up with the field paths of its errors.
pub struct ConfigFile<T> {
    current: std::sync::Arc<std::sync::RwLock<std::sync::Arc<T>>>,
}

impl<T> Clone for ConfigFile<T> {
    fn clone(&self) -> Self {
        Self {
            current: self.current.clone(),
        }
    }
}

impl<T: VersionedConfig + Default + Send + Sync + 'static> Default for ConfigFile<T> {
    fn default() -> Self {
        let mut defaults = T::default();
        defaults.set_defaults();
        Self {
            current: std::sync::Arc::new(std::sync::RwLock::new(std::sync::Arc::new(defaults))),
        }
    }
}

impl<T: VersionedConfig + Default + Send + Sync + 'static> ConfigFile<T> {
    /// A handle holding the defaults.
    pub fn new() -> Self {
        Self::default()
    }

    /// The configuration in force.
    pub fn get(&self) -> std::sync::Arc<T> {
        self.current
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }

    /// Loads `file` (or keeps the defaults for `None`).
    ///
    /// # Errors
    /// As [`load_file`]; the handle keeps what it had.
    pub fn load(&self, file: Option<&Path>) -> Result<(), ConfigError> {
        let Some(file) = file else {
            return Ok(());
        };
        let loaded = load_file::<T>(file)?;
        *self.current.write().unwrap_or_else(|p| p.into_inner()) = std::sync::Arc::new(loaded);
        Ok(())
    }
}

/// What the manager keeps of a registered [`ConfigFile`]: a loader that ignores the type.
pub(crate) type ConfigLoader = Box<dyn Fn(Option<&Path>) -> Result<(), ConfigError> + Send + Sync>;

impl<T: VersionedConfig + Default + Send + Sync + 'static> ConfigFile<T> {
    pub(crate) fn loader(&self) -> ConfigLoader {
        let handle = self.clone();
        Box::new(move |file| handle.load(file))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde::Deserialize;
    use serde_json::json;

    #[derive(Debug, Default, Deserialize, PartialEq)]
    #[serde(rename_all = "camelCase", deny_unknown_fields)]
    struct Config {
        #[serde(default)]
        version: String,
        #[serde(default)]
        replicas: Option<u32>,
    }

    impl VersionedConfig for Config {
        const API_VERSION: &'static str = "test.config.gardener.cloud/v1alpha1";
        const KIND: &'static str = "Config";
        fn set_defaults(&mut self) {
            if self.version.is_empty() {
                self.version = "v2".into();
            }
        }
        fn validate(&self, path: &FieldPath) -> Vec<FieldError> {
            match self.replicas {
                Some(0) => vec![FieldError::invalid(
                    path.child("replicas"),
                    0,
                    "must be positive",
                )],
                _ => vec![],
            }
        }
    }

    fn raw(extra: Value) -> Value {
        let mut v = json!({"apiVersion": Config::API_VERSION, "kind": "Config"});
        v.as_object_mut()
            .unwrap()
            .extend(extra.as_object().unwrap().clone());
        v
    }

    fn message(v: Value) -> String {
        let e = decode_provider_config::<Config>(Some(&v)).unwrap_err();
        assert_eq!(e.codes(), [ErrorCode::ConfigurationProblem]);
        e.to_string()
    }

    #[test]
    fn decodes_defaults_and_validates_with_field_paths() {
        let c: Config = decode_provider_config(Some(&raw(json!({}))))
            .unwrap()
            .unwrap();
        assert_eq!(
            c,
            Config {
                version: "v2".into(),
                replicas: None
            }
        );
        assert!(decode_provider_config::<Config>(None).unwrap().is_none());
        assert_eq!(
            message(raw(json!({"replicas": 0}))),
            "invalid providerConfig: providerConfig.replicas: Invalid value: 0: must be positive"
        );
        assert_eq!(
            message(json!({"kind": "Other"})),
            r#"invalid providerConfig: providerConfig: no kind "Other" is registered for version "" in scheme"#
        );
        assert_eq!(
            message(json!({"apiVersion": Config::API_VERSION})),
            "invalid providerConfig: providerConfig: Object 'Kind' is missing"
        );
        let unknown = message(raw(json!({"surprise": true})));
        assert!(
            unknown.starts_with(
                "invalid providerConfig: providerConfig.surprise: unknown field `surprise`"
            ),
            "{unknown}"
        );
        let wrong_type = message(raw(json!({"replicas": "two"})));
        assert!(
            wrong_type.starts_with("invalid providerConfig: providerConfig.replicas: invalid type"),
            "{wrong_type}"
        );
        assert!(message(json!("text")).contains("must be an object"));
    }

    #[test]
    fn config_files_load_from_yaml() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("config.yaml");
        std::fs::write(
            &file,
            "apiVersion: test.config.gardener.cloud/v1alpha1\nkind: Config\nreplicas: 3\n",
        )
        .unwrap();
        let c: Config = load_file(&file).unwrap();
        assert_eq!(c.replicas, Some(3));
        std::fs::write(
            &file,
            "apiVersion: test.config.gardener.cloud/v1alpha1\nkind: Config\nreplicas: 0\n",
        )
        .unwrap();
        assert_eq!(
            load_file::<Config>(&file).unwrap_err().to_string(),
            "replicas: Invalid value: 0: must be positive"
        );
        assert!(
            load_file::<Config>(&dir.path().join("missing"))
                .unwrap_err()
                .to_string()
                .starts_with("reading ")
        );
    }
}
