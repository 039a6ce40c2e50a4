use super::{DefaultSpec, DefaultStatus, impl_extension_object};
use kube::CustomResource;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// Spec of an [`Extension`]: only the default spec.
#[derive(CustomResource, Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[kube(
    group = "extensions.gardener.cloud",
    version = "v1alpha1",
    kind = "Extension",
    namespaced,
    status = "ExtensionStatus",
    shortname = "ext",
    printcolumn = r#"{"name":"Type","type":"string","jsonPath":".spec.type","description":"The type of the Extension resource."}"#,
    printcolumn = r#"{"name":"Status","type":"string","jsonPath":".status.lastOperation.state","description":"Status of the Extension resource."}"#,
    printcolumn = r#"{"name":"Age","type":"date","jsonPath":".metadata.creationTimestamp"}"#,
    derive = "PartialEq",
    derive = "Default"
)]
#[serde(default)]
pub struct ExtensionSpec {
    /// `type`, `class`, `providerConfig`.
    #[serde(flatten)]
    pub default_spec: DefaultSpec,
}

/// Status of an [`Extension`]: only the default status.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(default)]
pub struct ExtensionStatus {
    /// `lastOperation`, `lastError`, `conditions`, ...
    #[serde(flatten)]
    pub default_status: DefaultStatus,
}

impl_extension_object!(Extension);
