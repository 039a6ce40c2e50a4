use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::borrow::Cow;

/// A `core.gardener.cloud/v1` ControllerDeployment: how gardenlet installs an extension.
///
/// Unlike most kinds it has no `spec`: `helm`, `injectGardenKubeconfig` and `resources` are top level.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ControllerDeployment {
    /// `core.gardener.cloud/v1`.
    pub api_version: String,
    /// `ControllerDeployment`.
    pub kind: String,
    /// Standard metadata.
    pub metadata: ObjectMeta,
    /// The Helm chart to deploy.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub helm: Option<HelmControllerDeployment>,
    /// Inject a kubeconfig for the garden cluster into the extension's pods.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub inject_garden_kubeconfig: Option<bool>,
}

impl ControllerDeployment {
    /// An empty ControllerDeployment with the given name.
    pub fn new(name: &str) -> Self {
        Self {
            api_version: "core.gardener.cloud/v1".into(),
            kind: "ControllerDeployment".into(),
            metadata: ObjectMeta {
                name: Some(name.into()),
                ..ObjectMeta::default()
            },
            ..Self::default()
        }
    }
}

/// Helm settings of a ControllerDeployment.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct HelmControllerDeployment {
    /// Base64 of the gzipped chart tarball.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub raw_chart: Option<String>,
    /// Values merged over the chart's defaults.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(schema_with = "crate::schema::preserve_unknown_object")]
    pub values: Option<Value>,
    /// Chart from an OCI registry instead of `rawChart`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(schema_with = "crate::schema::preserve_unknown_object")]
    pub oci_repository: Option<Value>,
}

impl kube::Resource for ControllerDeployment {
    type DynamicType = ();
    type Scope = kube::core::ClusterResourceScope;

    fn kind(_: &()) -> Cow<'_, str> {
        "ControllerDeployment".into()
    }
    fn group(_: &()) -> Cow<'_, str> {
        "core.gardener.cloud".into()
    }
    fn version(_: &()) -> Cow<'_, str> {
        "v1".into()
    }
    fn api_version(_: &()) -> Cow<'_, str> {
        "core.gardener.cloud/v1".into()
    }
    fn plural(_: &()) -> Cow<'_, str> {
        "controllerdeployments".into()
    }
    fn meta(&self) -> &ObjectMeta {
        &self.metadata
    }
    fn meta_mut(&mut self) -> &mut ObjectMeta {
        &mut self.metadata
    }
}
