//! The `providerConfig` of a gvisor ContainerRuntime, and the runsc flags it selects.

use extension_framework::Error;
use extension_framework::config::{self, FieldPath, VersionedConfig};
use gardener_api::extensions::ErrorCode;
use serde::Deserialize;
use serde_json::Value;
use std::collections::BTreeMap;

/// `gvisor.runtime.extensions.config.gardener.cloud/v1alpha1` `GVisorConfiguration`.
///
/// Decoded leniently, as upstream's non-strict decoder does: unknown fields are ignored.
#[derive(Clone, Debug, Default, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct GVisorConfiguration {
    /// runsc flags by name; only the ones in [`runsc_flags`]'s table are used.
    #[serde(default)]
    pub config_flags: Option<BTreeMap<String, String>>,
    /// With `--gvisor-installation-test-repository`, the tag of a test installation image.
    #[serde(default)]
    pub test_image_tag: Option<String>,
}

impl VersionedConfig for GVisorConfiguration {
    const API_VERSION: &'static str = "gvisor.runtime.extensions.config.gardener.cloud/v1alpha1";
    const KIND: &'static str = "GVisorConfiguration";
}

/// Decodes the providerConfig (`None`: none given).
///
/// # Errors
/// `could not decode provider config: <decoder message>` with `ERR_CONFIGURATION_PROBLEM`, as
/// upstream reports it (e.g. `no kind "GVisorConfiguration" is registered for version ...`).
pub fn decode(raw: Option<&Value>) -> Result<Option<GVisorConfiguration>, Error> {
    let Some(raw) = raw.filter(|v| !v.is_null()) else {
        return Ok(None);
    };
    config::decode(raw, &FieldPath::new("providerConfig"))
        .map(Some)
        .map_err(|e| {
            Error::context("could not decode provider config", e)
                .with_codes([ErrorCode::ConfigurationProblem])
        })
}

/// Where runsc writes its debug logs when `debug` is on.
pub const DEBUG_LOG: &str = "/var/log/runsc/%ID%/gvisor-%COMMAND%.log";

/// The runsc flags a configuration selects, sorted by name (upstream's order is random).
///
/// | flag | accepted |
/// |---|---|
/// | `net-raw` | `true`, `false` |
/// | `debug` | `true` (adds `debug-log`) |
/// | `nvproxy` | `true` |
/// | `panic-signal` | an integer |
///
/// Everything else is dropped, with a log line naming the flag.
pub fn runsc_flags(config: Option<&GVisorConfiguration>) -> Vec<(String, String)> {
    let mut flags = Vec::new();
    for (name, value) in config
        .and_then(|c| c.config_flags.as_ref())
        .into_iter()
        .flatten()
    {
        match (name.as_str(), value.as_str()) {
            ("net-raw", "true" | "false") | ("nvproxy", "true") => {
                flags.push((name.clone(), value.clone()));
            }
            ("debug", "true") => {
                flags.push(("debug".into(), "true".into()));
                flags.push(("debug-log".into(), DEBUG_LOG.into()));
            }
            ("panic-signal", v) if v.trim().parse::<i64>().is_ok() => {
                flags.push((name.clone(), v.trim().to_string()));
            }
            _ => tracing::info!(flag = %name, value = %value, "Dropping unsupported runsc flag"),
        }
    }
    flags.sort();
    flags
}

/// The flags as upstream's chart value `configFlags`: one `key = "value"` line each.
pub fn flags_toml(flags: &[(String, String)]) -> String {
    flags
        .iter()
        .map(|(k, v)| format!("{k} = {v:?}\n"))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn flags(map: Value) -> String {
        let config: GVisorConfiguration =
            serde_json::from_value(json!({"configFlags": map})).unwrap();
        flags_toml(&runsc_flags(Some(&config)))
    }

    /// extensions.md §2.1/§2.2 and checklist item 35.
    #[test]
    fn the_flag_filter_matches_upstream() {
        assert_eq!(
            flags(json!({"net-raw": "true", "foo": "bar", "nvproxy": "false"})),
            "net-raw = \"true\"\n"
        );
        assert_eq!(
            flags(json!({"debug": "true"})),
            "debug = \"true\"\ndebug-log = \"/var/log/runsc/%ID%/gvisor-%COMMAND%.log\"\n"
        );
        assert_eq!(flags(json!({"panic-signal": "abc"})), "");
        assert_eq!(
            flags(json!({"panic-signal": "123"})),
            "panic-signal = \"123\"\n"
        );
        assert_eq!(flags(json!({"debug": "false", "nvproxy": "false"})), "");
        assert_eq!(flags(json!({"net-raw": "false"})), "net-raw = \"false\"\n");
        assert_eq!(flags(json!({})), "");
        assert_eq!(flags_toml(&runsc_flags(None)), "");
        assert_eq!(
            flags(
                json!({"panic-signal": "6", "net-raw": "true", "nvproxy": "true", "debug": "true"})
            ),
            "debug = \"true\"\ndebug-log = \"/var/log/runsc/%ID%/gvisor-%COMMAND%.log\"\nnet-raw = \"true\"\nnvproxy = \"true\"\npanic-signal = \"6\"\n",
            "sorted, deterministic"
        );
    }

    /// Checklist item 36.
    #[test]
    fn other_versions_are_configuration_problems() {
        for version in [
            "some.group.com/v1alpha1",
            "gvisor.runtime.extensions.config.gardener.cloud/v1alpha2",
        ] {
            let raw = json!({"apiVersion": version, "kind": "GVisorConfiguration"});
            let e = decode(Some(&raw)).unwrap_err();
            assert_eq!(e.codes(), [ErrorCode::ConfigurationProblem]);
            assert!(
                e.to_string().contains(&format!(
                    "no kind \"GVisorConfiguration\" is registered for version {version:?}"
                )),
                "{e}"
            );
        }
        let ok = json!({"apiVersion": GVisorConfiguration::API_VERSION, "kind": "GVisorConfiguration", "testImageTag": "t", "extra": 1});
        assert_eq!(
            decode(Some(&ok))
                .unwrap()
                .unwrap()
                .test_image_tag
                .as_deref(),
            Some("t")
        );
        assert!(decode(None).unwrap().is_none());
    }
}
