use kube::CustomResource;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// Spec of a `core.gardener.cloud/v1beta1` ControllerRegistration: which kinds/types an extension serves.
#[derive(CustomResource, Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[kube(
    group = "core.gardener.cloud",
    version = "v1beta1",
    kind = "ControllerRegistration",
    printcolumn = r#"{"name":"Resources","type":"string","jsonPath":".spec.resources[*].kind"}"#,
    printcolumn = r#"{"name":"Type","type":"string","jsonPath":".spec.resources[*].type"}"#,
    printcolumn = r#"{"name":"Age","type":"date","jsonPath":".metadata.creationTimestamp"}"#,
    derive = "PartialEq",
    derive = "Default"
)]
#[serde(rename_all = "camelCase")]
pub struct ControllerRegistrationSpec {
    /// The kinds and types the extension serves.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resources: Option<Vec<ControllerResource>>,
    /// How the extension is deployed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub deployment: Option<ControllerRegistrationDeployment>,
}

/// One kind/type served by an extension.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ControllerResource {
    /// Kind, e.g. `Extension`.
    pub kind: String,
    /// Type, e.g. `mwe`.
    #[serde(rename = "type")]
    pub type_: String,
    /// Whether this controller is primary (default true).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub primary: Option<bool>,
    /// gardenlet's wait timeout for the object (Extension only, default `3m0s`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reconcile_timeout: Option<String>,
    /// When gardenlet reconciles/deletes/migrates the Extension relative to the kube-apiserver.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lifecycle: Option<ControllerResourceLifecycle>,
    /// Whether the extension supports workerless shoots.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub workerless_supported: Option<bool>,
    /// `shoot` and/or `seed`: enable the extension for all of them.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub auto_enable: Option<Vec<String>>,
    /// Cluster types the extension works with (default `[shoot]`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cluster_compatibility: Option<Vec<String>>,
}

/// Lifecycle strategy of an Extension resource.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct ControllerResourceLifecycle {
    /// `BeforeKubeAPIServer`, `AfterKubeAPIServer` or `AfterWorker`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reconcile: Option<String>,
    /// `BeforeKubeAPIServer` or `AfterKubeAPIServer`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub delete: Option<String>,
    /// `BeforeKubeAPIServer` or `AfterKubeAPIServer`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub migrate: Option<String>,
}

/// Deployment settings of a registration.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ControllerRegistrationDeployment {
    /// `OnDemand` (default), `Always` or `AlwaysExceptNoShoots`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub policy: Option<String>,
    /// Seeds the extension is deployed to (secondary-only registrations).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub seed_selector: Option<k8s_openapi::apimachinery::pkg::apis::meta::v1::LabelSelector>,
    /// The ControllerDeployments to use (one is supported).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub deployment_refs: Option<Vec<DeploymentRef>>,
}

/// Reference to a ControllerDeployment.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct DeploymentRef {
    /// Name.
    pub name: String,
}
