use super::{DefaultSpec, DefaultStatus, impl_extension_object};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::LabelSelector;
use kube::CustomResource;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// Spec of a [`ContainerRuntime`]: one runtime type for one worker pool.
#[derive(CustomResource, Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[kube(
    group = "extensions.gardener.cloud",
    version = "v1alpha1",
    kind = "ContainerRuntime",
    namespaced,
    status = "ContainerRuntimeStatus",
    shortname = "cr",
    printcolumn = r#"{"name":"Type","type":"string","jsonPath":".spec.type","description":"The type of the Container Runtime resource."}"#,
    printcolumn = r#"{"name":"Status","type":"string","jsonPath":".status.lastOperation.state","description":"Status of the Container Runtime resource."}"#,
    printcolumn = r#"{"name":"Age","type":"date","jsonPath":".metadata.creationTimestamp"}"#,
    derive = "PartialEq",
    derive = "Default"
)]
#[serde(default, rename_all = "camelCase")]
pub struct ContainerRuntimeSpec {
    /// Directory on the node where the runtime binaries go (gardenlet: `/var/bin/containerruntimes`).
    #[schemars(extend("title" = "x-required"))]
    pub binary_path: String,
    /// The worker pool the runtime is installed on.
    #[schemars(extend("title" = "x-required"))]
    pub worker_pool: ContainerRuntimeWorkerPool,
    /// `type`, `class`, `providerConfig`.
    #[serde(flatten)]
    pub default_spec: DefaultSpec,
}

/// The worker pool a [`ContainerRuntime`] applies to.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(default)]
pub struct ContainerRuntimeWorkerPool {
    /// Pool name (immutable).
    #[schemars(extend("title" = "x-required"))]
    pub name: String,
    /// Selects the pool's nodes.
    #[schemars(extend("title" = "x-required"))]
    pub selector: LabelSelector,
}

/// Status of a [`ContainerRuntime`].
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(default)]
pub struct ContainerRuntimeStatus {
    /// `lastOperation`, `lastError`, `conditions`, ...
    #[serde(flatten)]
    pub default_status: DefaultStatus,
}

impl_extension_object!(ContainerRuntime);
