use super::{DefaultSpec, DefaultStatus, ExtensionObject};
use crate::wire::wire_enum;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;
use kube::CustomResource;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::Value;

/// Spec of an [`OperatingSystemConfig`]: what the nodes of one worker pool run.
#[derive(CustomResource, Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[kube(
    group = "extensions.gardener.cloud",
    version = "v1alpha1",
    kind = "OperatingSystemConfig",
    namespaced,
    status = "OperatingSystemConfigStatus",
    shortname = "osc",
    printcolumn = r#"{"name":"Type","type":"string","jsonPath":".spec.type","description":"The type of the operating system configuration."}"#,
    printcolumn = r#"{"name":"Purpose","type":"string","jsonPath":".spec.purpose","description":"The purpose of the operating system configuration."}"#,
    printcolumn = r#"{"name":"Status","type":"string","jsonPath":".status.lastOperation.state","description":"Status of the operating system configuration."}"#,
    printcolumn = r#"{"name":"Age","type":"date","jsonPath":".metadata.creationTimestamp"}"#,
    derive = "PartialEq",
    derive = "Default"
)]
#[serde(default, rename_all = "camelCase")]
pub struct OperatingSystemConfigSpec {
    /// `provision` (first boot user data) or `reconcile` (gardener-node-agent).
    #[schemars(extend("title" = "x-required"))]
    pub purpose: OperatingSystemConfigPurpose,
    /// Container runtime configuration.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cri_config: Option<CriConfig>,
    /// systemd units.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub units: Option<Vec<Unit>>,
    /// Files.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub files: Option<Vec<File>>,
    /// Versions for in-place updates of the node.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub in_place_updates: Option<InPlaceUpdates>,
    /// **Legacy** (removed in Gardener v1.97): path of the reload script. Accepted and ignored.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reload_config_file_path: Option<String>,
    /// `type`, `class`, `providerConfig`.
    #[serde(flatten)]
    pub default_spec: DefaultSpec,
}

wire_enum!(
    /// Purpose of an OperatingSystemConfig.
    OperatingSystemConfigPurpose {
        /// User data for the first boot of a machine.
        Provision = "provision",
        /// Configuration that gardener-node-agent keeps applied.
        Reconcile = "reconcile",
    }
);

/// Container runtime configuration (`spec.criConfig`).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(default, rename_all = "camelCase")]
pub struct CriConfig {
    /// Runtime name; only `containerd` exists (the one enum of the CRD, immutable).
    #[schemars(schema_with = "crate::schema::cri_name")]
    #[schemars(extend("title" = "x-required"))]
    pub name: String,
    /// `cgroupfs` or `systemd`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cgroup_driver: Option<String>,
    /// containerd settings (forbidden for purpose `provision`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub containerd: Option<ContainerdConfig>,
}

/// containerd settings.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(default, rename_all = "camelCase")]
pub struct ContainerdConfig {
    /// Pause image.
    #[schemars(extend("title" = "x-required"))]
    pub sandbox_image: String,
    /// Registry mirrors.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub registries: Option<Vec<RegistryConfig>>,
    /// Plugin configuration patches.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub plugins: Option<Vec<PluginConfig>>,
}

/// A registry mirror configuration.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(default, rename_all = "camelCase")]
pub struct RegistryConfig {
    /// Upstream registry host.
    #[schemars(extend("title" = "x-required"))]
    pub upstream: String,
    /// Fallback server URL.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub server: Option<String>,
    /// Mirror hosts.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hosts: Option<Vec<RegistryHost>>,
    /// Whether to probe the hosts before use.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub readiness_probe: Option<bool>,
}

/// A mirror host.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(default, rename_all = "camelCase")]
pub struct RegistryHost {
    /// Host URL.
    #[schemars(extend("title" = "x-required"))]
    pub url: String,
    /// `pull`, `resolve`, `push`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub capabilities: Option<Vec<String>>,
    /// CA certificate paths.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ca_certs: Option<Vec<String>>,
    /// Override the API path.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub override_path: Option<bool>,
}

/// A containerd plugin configuration patch.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(default, rename_all = "camelCase")]
pub struct PluginConfig {
    /// `add` (default) or `remove`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub op: Option<String>,
    /// Path in the containerd config.
    #[schemars(extend("title" = "x-required"))]
    pub path: Vec<String>,
    /// Values to set, any JSON.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(schema_with = "crate::schema::preserve_unknown_any")]
    pub values: Option<Value>,
}

/// A systemd unit.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(default, rename_all = "camelCase")]
pub struct Unit {
    /// Unit name, e.g. `kubelet.service`.
    #[schemars(extend("title" = "x-required"))]
    pub name: String,
    /// `start`, `restart` or `stop`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub command: Option<UnitCommand>,
    /// Whether to enable the unit.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub enable: Option<bool>,
    /// Unit file content.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub content: Option<String>,
    /// Drop-in files.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub drop_ins: Option<Vec<DropIn>>,
    /// Files the unit depends on (restart on change).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub file_paths: Option<Vec<String>>,
}

wire_enum!(
    /// What to do with a unit.
    UnitCommand {
        /// Start.
        Start = "start",
        /// Restart.
        Restart = "restart",
        /// Stop.
        Stop = "stop",
    }
);

/// A systemd drop-in.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(default)]
pub struct DropIn {
    /// File name of the drop-in.
    #[schemars(extend("title" = "x-required"))]
    pub name: String,
    /// Content.
    #[schemars(extend("title" = "x-required"))]
    pub content: String,
}

/// A file on the node.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(default, rename_all = "camelCase")]
pub struct File {
    /// Absolute path.
    #[schemars(extend("title" = "x-required"))]
    pub path: String,
    /// Octal mode as a number (e.g. 0o644 = 420).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub permissions: Option<u32>,
    /// Where the content comes from.
    #[schemars(extend("title" = "x-required"))]
    pub content: FileContent,
    /// Only write the file on this host name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub host_name: Option<String>,
}

/// Source of a file's content: exactly one of `secretRef`, `inline`, `imageRef`.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(default, rename_all = "camelCase")]
pub struct FileContent {
    /// A key of a Secret in the OSC's namespace.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub secret_ref: Option<FileContentSecretRef>,
    /// Inline data.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub inline: Option<FileContentInline>,
    /// Write the data unencoded into the user data.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub transmit_unencoded: Option<bool>,
    /// A file extracted from a container image.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub image_ref: Option<FileContentImageRef>,
}

/// File content from a Secret.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(default, rename_all = "camelCase")]
pub struct FileContentSecretRef {
    /// Secret name.
    #[schemars(extend("title" = "x-required"))]
    pub name: String,
    /// Key in the Secret's data.
    #[schemars(extend("title" = "x-required"))]
    pub data_key: String,
}

/// Inline file content.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(default)]
pub struct FileContentInline {
    /// `""` (plain) or `b64`/`base64`.
    #[schemars(extend("title" = "x-required"))]
    pub encoding: String,
    /// The data.
    #[schemars(extend("title" = "x-required"))]
    pub data: String,
}

/// File content from a container image.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(default, rename_all = "camelCase")]
pub struct FileContentImageRef {
    /// Image reference.
    #[schemars(extend("title" = "x-required"))]
    pub image: String,
    /// Path of the file in the image.
    #[schemars(extend("title" = "x-required"))]
    pub file_path_in_image: String,
}

/// Versions relevant for in-place node updates.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(default, rename_all = "camelCase")]
pub struct InPlaceUpdates {
    /// Target OS version.
    #[schemars(extend("title" = "x-required"))]
    pub operating_system_version: String,
    /// Target kubelet version.
    #[schemars(extend("title" = "x-required"))]
    pub kubelet: String,
    /// Credentials rotation times.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub credentials_rotation: Option<CredentialsRotation>,
}

/// Credentials rotation times for in-place updates.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(default, rename_all = "camelCase")]
pub struct CredentialsRotation {
    /// CA rotation.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub certificate_authorities: Option<RotationTime>,
    /// Service account key rotation.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub service_account_key: Option<RotationTime>,
}

/// When a rotation was last initiated.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(default, rename_all = "camelCase")]
pub struct RotationTime {
    /// Initiation time (gardenlet writes `{}` for pools updated in place).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last_initiation_time: Option<Time>,
}

/// Status of an [`OperatingSystemConfig`].
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(default, rename_all = "camelCase")]
pub struct OperatingSystemConfigStatus {
    /// `lastOperation`, `lastError`, `conditions`, ...
    #[serde(flatten)]
    pub default_status: DefaultStatus,
    /// Units the OS extension adds to the spec's units.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub extension_units: Option<Vec<Unit>>,
    /// Files the OS extension adds to the spec's files.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub extension_files: Option<Vec<File>>,
    /// Reference to the result Secret (key `cloud_config`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cloud_config: Option<CloudConfig>,
    /// How to update the OS in place.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub in_place_updates: Option<InPlaceUpdatesStatus>,
    /// **Legacy** (removed in Gardener v1.97): command that applies the config.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub command: Option<String>,
    /// **Legacy** (removed in Gardener v1.97): names of the units in the config.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub units: Option<Vec<String>>,
    /// **Legacy** (removed in Gardener v1.97): paths of the files in the config.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub files: Option<Vec<String>>,
}

/// Reference to the OSC result Secret.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(default, rename_all = "camelCase")]
pub struct CloudConfig {
    /// The Secret.
    #[schemars(extend("title" = "x-required"))]
    pub secret_ref: SecretReference,
}

/// A Secret by name and namespace (`corev1.SecretReference`).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(default)]
pub struct SecretReference {
    /// Name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// Namespace.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub namespace: Option<String>,
}

/// In-place update instructions produced by the OS extension.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(default, rename_all = "camelCase")]
pub struct InPlaceUpdatesStatus {
    /// Command that updates the OS.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub os_update: Option<OsUpdate>,
}

/// A command with arguments.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(default)]
pub struct OsUpdate {
    /// The command.
    #[schemars(extend("title" = "x-required"))]
    pub command: String,
    /// Its arguments.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub args: Option<Vec<String>>,
}

impl ExtensionObject for OperatingSystemConfig {
    fn default_spec(&self) -> &DefaultSpec {
        &self.spec.default_spec
    }
    fn default_status(&self) -> Option<&DefaultStatus> {
        self.status.as_ref().map(|s| &s.default_status)
    }
    fn purpose(&self) -> Option<&str> {
        Some(self.spec.purpose.as_str())
    }
}
