//! The extension configuration (`--config`) and its per-shoot override from `providerConfig`.

use extension_framework::Error;
use extension_framework::config::{self, FieldError, FieldPath, VersionedConfig};
use gardener_api::extensions::ErrorCode;
use serde::Deserialize;
use serde_json::Value;

/// The NTP daemon gardenlet's nodes run.
pub const TIMESYNCD: &str = "systemd-timesyncd";
/// The alternative NTP daemon, with servers of the operator's choice.
pub const NTPD: &str = "ntpd";

/// `config.coreos.os.extensions.gardener.cloud/v1alpha1` `ExtensionConfig`.
#[derive(Clone, Debug, Default, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ExtensionConfig {
    /// `ignition` (default) or `cloud-config`.
    #[serde(default)]
    pub user_data_format: Option<String>,
    /// Enable Flatcar's docker sysext (default false).
    #[serde(default)]
    pub enable_docker: Option<bool>,
    /// Time synchronisation; defaulted to systemd-timesyncd.
    #[serde(default)]
    pub ntp: Option<NtpConfig>,
    /// Size of the provision user data (not in upstream's API).
    #[serde(default)]
    pub user_data: Option<UserDataConfig>,
}

/// Provision user-data size: a warning above a limit, and optional compression of large files.
#[derive(Clone, Debug, Default, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct UserDataConfig {
    /// Above this many bytes the reconcile warns (event and log line); default 16 KiB, the AWS
    /// user-data limit; 0 disables the warning.
    #[serde(default)]
    pub size_limit_bytes: Option<u64>,
    /// Ignition files larger than this are gzip-compressed (`compression: gzip`); off when unset.
    #[serde(default)]
    pub gzip_files_above_bytes: Option<u64>,
}

/// The default user-data size limit.
pub const DEFAULT_SIZE_LIMIT: u64 = 16 * 1024;

/// NTP settings.
#[derive(Clone, Debug, Default, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct NtpConfig {
    /// Whether the extension configures NTP at all (default true).
    #[serde(default)]
    pub enabled: Option<bool>,
    /// `systemd-timesyncd` (default) or `ntpd`.
    #[serde(default)]
    pub daemon: String,
    /// ntpd's settings (only with `daemon: ntpd`).
    #[serde(default)]
    pub ntpd: Option<NtpdConfig>,
}

/// ntpd's settings.
#[derive(Clone, Debug, Default, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct NtpdConfig {
    /// Servers to synchronise with (required).
    #[serde(default)]
    pub servers: Vec<String>,
    /// Interfaces ntpd listens on (default: all).
    #[serde(default)]
    pub interfaces: Vec<String>,
}

impl VersionedConfig for ExtensionConfig {
    const API_VERSION: &'static str = "config.coreos.os.extensions.gardener.cloud/v1alpha1";
    const KIND: &'static str = "ExtensionConfig";

    fn set_defaults(&mut self) {
        let ntp = self.ntp.get_or_insert_with(NtpConfig::default);
        ntp.enabled.get_or_insert(true);
        if ntp.daemon.is_empty() {
            ntp.daemon = TIMESYNCD.into();
        }
        if self
            .user_data_format
            .as_deref()
            .unwrap_or_default()
            .is_empty()
        {
            self.user_data_format = Some(UserDataFormat::IGNITION.into());
        }
    }

    /// Upstream's rules; paths are rooted at the ntp block's fields (`daemon`, `ntpd`), as upstream's.
    fn validate(&self, path: &FieldPath) -> Vec<FieldError> {
        let mut errors = Vec::new();
        if let Some(format) = self.user_data_format.as_deref()
            && !UserDataFormat::ALL.contains(&format)
        {
            errors.push(FieldError::not_supported(
                path.child("userDataFormat"),
                format,
                UserDataFormat::ALL,
            ));
        }
        let Some(ntp) = &self.ntp else {
            return errors;
        };
        if ![TIMESYNCD, NTPD].contains(&ntp.daemon.as_str()) {
            errors.push(FieldError::not_supported(
                path.child("daemon"),
                &ntp.daemon,
                &[TIMESYNCD, NTPD],
            ));
        }
        match (&ntp.ntpd, ntp.daemon.as_str()) {
            (Some(_), daemon) if daemon != NTPD => errors.push(FieldError::forbidden(
                path.child("ntpd"),
                "NTP daemon not allowed in systemd config",
            )),
            (Some(ntpd), _) if ntpd.servers.is_empty() => {
                errors.push(FieldError::required(path.child("ntpd").child("servers")))
            }
            _ => {}
        }
        errors
    }
}

/// The user-data formats.
pub struct UserDataFormat;

impl UserDataFormat {
    /// Ignition v3.3.0 JSON (current Gardener, with gardener-node-agent).
    pub const IGNITION: &'static str = "ignition";
    /// coreos-cloudinit `#cloud-config` YAML (the original os-coreos output, for both purposes).
    pub const CLOUD_CONFIG: &'static str = "cloud-config";
    /// Both.
    pub const ALL: &'static [&'static str] = &[Self::IGNITION, Self::CLOUD_CONFIG];
}

impl ExtensionConfig {
    /// The effective NTP settings (after defaulting).
    pub fn ntp(&self) -> NtpConfig {
        self.ntp.clone().unwrap_or_default()
    }

    /// The user-data size above which the reconcile warns (`None`: never).
    pub fn size_limit(&self) -> Option<u64> {
        let limit = self
            .user_data
            .as_ref()
            .and_then(|u| u.size_limit_bytes)
            .unwrap_or(DEFAULT_SIZE_LIMIT);
        (limit > 0).then_some(limit)
    }

    /// The file size above which Ignition files are gzip-compressed.
    pub fn gzip_above(&self) -> Option<u64> {
        self.user_data
            .as_ref()
            .and_then(|u| u.gzip_files_above_bytes)
    }

    /// Whether the user data is cloud-config rather than Ignition.
    pub fn cloud_config(&self) -> bool {
        self.user_data_format.as_deref() == Some(UserDataFormat::CLOUD_CONFIG)
    }

    /// Whether docker's sysext is enabled.
    pub fn docker(&self) -> bool {
        self.enable_docker.unwrap_or(false)
    }

    /// The global config with a shoot's `providerConfig` applied, as upstream merges it: the
    /// decoded (and defaulted) shoot config replaces `ntp` as a whole, and `enableDocker` when set.
    /// So any providerConfig, even one that only sets `enableDocker`, brings back the default
    /// systemd-timesyncd over a globally configured ntpd. The shoot config is not validated.
    ///
    /// # Errors
    /// `failed to decode provider config: ...` with `ERR_CONFIGURATION_PROBLEM`.
    pub fn merged(&self, provider_config: Option<&Value>) -> Result<Self, Error> {
        let Some(raw) = provider_config.filter(|v| !v.is_null()) else {
            return Ok(self.clone());
        };
        let mut shoot: ExtensionConfig = serde_json::from_value(strip_type_meta::<Self>(raw)?)
            .map_err(|e| {
                decode_error(config::ConfigError::Malformed {
                    path: FieldPath::new("providerConfig"),
                    source: e,
                })
            })?;
        shoot.set_defaults();
        let mut merged = self.clone();
        if shoot.ntp.is_some() {
            merged.ntp = shoot.ntp;
        }
        if shoot.enable_docker.is_some() {
            merged.enable_docker = shoot.enable_docker;
        }
        if shoot.user_data.is_some() {
            merged.user_data = shoot.user_data;
        }
        Ok(merged)
    }
}

fn decode_error(e: config::ConfigError) -> Error {
    Error::context("failed to decode provider config", e)
        .with_codes([ErrorCode::ConfigurationProblem])
}

/// Checks `apiVersion`/`kind` and returns the rest (decoding without validation).
fn strip_type_meta<T: VersionedConfig>(raw: &Value) -> Result<Value, Error> {
    // Decoding through the framework checks the type and defaults; validation is skipped by
    // decoding the stripped body ourselves.
    let api_version = raw
        .get("apiVersion")
        .and_then(Value::as_str)
        .unwrap_or_default();
    let kind = raw.get("kind").and_then(Value::as_str).unwrap_or_default();
    if api_version != T::API_VERSION || kind != T::KIND {
        return Err(decode_error(config::ConfigError::NotRegistered {
            path: FieldPath::new("providerConfig"),
            message: format!(
                "no kind {kind:?} is registered for version {api_version:?} in scheme"
            ),
        }));
    }
    let mut body = raw.clone();
    if let Some(map) = body.as_object_mut() {
        map.remove("apiVersion");
        map.remove("kind");
    }
    Ok(body)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn load(extra: Value) -> Result<ExtensionConfig, config::ConfigError> {
        let mut v = json!({"apiVersion": ExtensionConfig::API_VERSION, "kind": "ExtensionConfig"});
        v.as_object_mut()
            .unwrap()
            .extend(extra.as_object().unwrap().clone());
        config::decode(&v, &FieldPath::default())
    }

    #[test]
    fn an_empty_config_defaults_to_timesyncd() {
        let c = load(json!({})).unwrap();
        assert_eq!(
            c.ntp,
            Some(NtpConfig {
                enabled: Some(true),
                daemon: TIMESYNCD.into(),
                ntpd: None
            })
        );
        assert!(!c.docker());
        assert_eq!(c.user_data_format.as_deref(), Some("ignition"));
    }

    /// Checklist item 30 (the messages; the binary test checks the exit).
    #[test]
    fn validation_errors_name_the_fields_as_upstream() {
        let e = load(json!({"ntp": {"daemon": "foo"}}))
            .unwrap_err()
            .to_string();
        assert!(e.starts_with("daemon: Unsupported value: \"foo\""), "{e}");
        let e = load(json!({"ntp": {"daemon": "systemd-timesyncd", "ntpd": {"servers": ["a"]}}}))
            .unwrap_err()
            .to_string();
        assert_eq!(
            e,
            "ntpd: Forbidden: NTP daemon not allowed in systemd config"
        );
        let e = load(json!({"ntp": {"daemon": "ntpd", "ntpd": {"servers": []}}}))
            .unwrap_err()
            .to_string();
        assert_eq!(e, "ntpd.servers: Required value");
    }

    /// The upstream `GetAndMergeProviderConfiguration` table, and checklist item 29.
    #[test]
    fn provider_config_merges_as_upstream() {
        let shoot = |v: Value| {
            let mut raw =
                json!({"apiVersion": ExtensionConfig::API_VERSION, "kind": "ExtensionConfig"});
            raw.as_object_mut()
                .unwrap()
                .extend(v.as_object().unwrap().clone());
            raw
        };
        let global = load(json!({"enableDocker": false})).unwrap();
        assert_eq!(global.merged(Some(&shoot(json!({})))).unwrap(), global);
        let docker = load(json!({"enableDocker": true})).unwrap();
        let merged = docker
            .merged(Some(&shoot(json!({"enableDocker": false}))))
            .unwrap();
        assert!(!merged.docker());
        let ntpd =
            load(json!({"ntp": {"daemon": "ntpd", "ntpd": {"servers": ["foo.bar"]}}})).unwrap();
        let merged = ntpd
            .merged(Some(&shoot(json!({"enableDocker": true}))))
            .unwrap();
        assert_eq!(
            merged.ntp().daemon,
            TIMESYNCD,
            "the whole ntp block is replaced by the defaulted shoot value"
        );
        assert!(merged.docker());
        let e = global
            .merged(Some(
                &json!({"apiVersion": "v9", "kind": "ExtensionConfig"}),
            ))
            .unwrap_err();
        assert_eq!(e.codes(), [ErrorCode::ConfigurationProblem]);
        assert!(
            e.to_string()
                .starts_with("failed to decode provider config: "),
            "{e}"
        );
        assert_eq!(global.merged(None).unwrap(), global);
    }
}
