//! An extension config from its fields, defaulted and validated as `--config` is; shared by the
//! benchmarks and the integration tests.

use extension_framework::config::{FieldPath, VersionedConfig, decode};
use os_coreos::config::ExtensionConfig;
use serde_json::{Value, json};

/// The config with `fields` (a JSON object) besides apiVersion and kind.
pub fn config(fields: Value) -> ExtensionConfig {
    let mut raw =
        json!({"apiVersion": ExtensionConfig::API_VERSION, "kind": ExtensionConfig::KIND});
    raw.as_object_mut()
        .unwrap()
        .extend(fields.as_object().unwrap().clone());
    decode(&raw, &FieldPath::default()).unwrap()
}
