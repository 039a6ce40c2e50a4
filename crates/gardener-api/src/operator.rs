//! `operator.gardener.cloud/v1alpha1` Extension: how gardener-operator registers and deploys an
//! extension in a garden (it writes the ControllerRegistration and ControllerDeployment from it).
//!
//! Only the fields an extension's registration sets are typed; the admission deployment is kept
//! as opaque JSON.

use crate::core::ControllerResource;
use k8s_openapi::api::core::v1::LocalObjectReference;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::LabelSelector;
use kube::CustomResource;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::Value;

/// Spec of an operator Extension (cluster-scoped, short name `extop`).
#[derive(CustomResource, Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[kube(
    group = "operator.gardener.cloud",
    version = "v1alpha1",
    kind = "Extension",
    shortname = "extop",
    derive = "PartialEq",
    derive = "Default"
)]
#[serde(rename_all = "camelCase")]
pub struct ExtensionSpec {
    /// The kinds and types the extension serves (as in a ControllerRegistration).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resources: Option<Vec<ControllerResource>>,
    /// How the extension and its admission controller are deployed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub deployment: Option<Deployment>,
}

/// The extension's deployments.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Deployment {
    /// The extension controller, deployed to seeds (and optionally the garden runtime cluster).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub extension: Option<ExtensionDeploymentSpec>,
    /// The admission controller (none of this workspace's extensions has one).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(schema_with = "crate::schema::preserve_unknown_object")]
    pub admission: Option<Value>,
}

/// Deployment of the extension controller.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ExtensionDeploymentSpec {
    /// Where the chart comes from.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub helm: Option<ExtensionHelm>,
    /// Values for the chart in seeds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(schema_with = "crate::schema::preserve_unknown_object")]
    pub values: Option<Value>,
    /// Values for the chart in the garden runtime cluster.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(schema_with = "crate::schema::preserve_unknown_object")]
    pub runtime_cluster_values: Option<Value>,
    /// `OnDemand` (default), `Always` or `AlwaysExceptNoShoots`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub policy: Option<String>,
    /// Seeds to deploy to.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub seed_selector: Option<LabelSelector>,
    /// Whether gardenlet injects a garden kubeconfig (`$GARDEN_KUBECONFIG`) into the pods.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub inject_garden_kubeconfig: Option<bool>,
}

/// The chart of a deployment.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ExtensionHelm {
    /// The chart as an OCI artifact.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub oci_repository: Option<OciRepository>,
}

/// An OCI artifact: either `ref`, or `repository` with `tag` and/or `digest`.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct OciRepository {
    /// Full reference, e.g. `ghcr.io/org/charts/x:1.0.0`.
    #[serde(default, rename = "ref", skip_serializing_if = "Option::is_none")]
    pub ref_: Option<String>,
    /// Repository without tag or digest.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub repository: Option<String>,
    /// Tag.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tag: Option<String>,
    /// Digest (`sha256:…`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub digest: Option<String>,
    /// Pull secret in the garden namespace.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pull_secret_ref: Option<LocalObjectReference>,
}
