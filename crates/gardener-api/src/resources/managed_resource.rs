use crate::extensions::Condition;
use k8s_openapi::api::core::v1::LocalObjectReference;
use kube::CustomResource;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// Condition type: all objects were applied.
pub const RESOURCES_APPLIED: &str = "ResourcesApplied";
/// Condition type: all objects are healthy.
pub const RESOURCES_HEALTHY: &str = "ResourcesHealthy";
/// Condition type: some objects are still rolling out.
pub const RESOURCES_PROGRESSING: &str = "ResourcesProgressing";

/// Spec of a ManagedResource: Secrets with manifests that gardener-resource-manager applies.
#[derive(CustomResource, Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[kube(
    group = "resources.gardener.cloud",
    version = "v1alpha1",
    kind = "ManagedResource",
    namespaced,
    status = "ManagedResourceStatus",
    shortname = "mr",
    printcolumn = r#"{"name":"Class","type":"string","jsonPath":".spec.class","description":"The class identifies which resource manager is responsible for this ManagedResource."}"#,
    printcolumn = r#"{"name":"Applied","type":"string","jsonPath":".status.conditions[?(@.type==\"ResourcesApplied\")].status","description":"Indicates whether all resources have been applied."}"#,
    printcolumn = r#"{"name":"Healthy","type":"string","jsonPath":".status.conditions[?(@.type==\"ResourcesHealthy\")].status","description":"Indicates whether all resources are healthy."}"#,
    printcolumn = r#"{"name":"Progressing","type":"string","jsonPath":".status.conditions[?(@.type==\"ResourcesProgressing\")].status","description":"Indicates whether some resources are still progressing to be rolled out."}"#,
    printcolumn = r#"{"name":"Age","type":"date","jsonPath":".metadata.creationTimestamp"}"#,
    derive = "PartialEq",
    derive = "Default"
)]
#[serde(default, rename_all = "camelCase")]
pub struct ManagedResourceSpec {
    /// Unset: the shoot's resource manager; `seed`: the seed's.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub class: Option<String>,
    /// Secrets holding the manifests.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub secret_refs: Option<Vec<LocalObjectReference>>,
    /// Labels injected into every object (and pod template).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub inject_labels: Option<BTreeMap<String, String>>,
    /// Overwrite labels changed by others.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub force_overwrite_labels: Option<bool>,
    /// Overwrite annotations changed by others.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub force_overwrite_annotations: Option<bool>,
    /// Keep the objects when the ManagedResource or an entry is removed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub keep_objects: Option<bool>,
    /// Group kinds to treat as equivalent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub equivalences: Option<Vec<Vec<GroupKind>>>,
    /// Delete PVCs of deleted StatefulSets.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub delete_persistent_volume_claims: Option<bool>,
}

/// A group and kind.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(default)]
pub struct GroupKind {
    /// API group.
    #[schemars(extend("title" = "x-required"))]
    pub group: String,
    /// Kind.
    #[schemars(extend("title" = "x-required"))]
    pub kind: String,
}

/// Status of a ManagedResource, maintained by gardener-resource-manager.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(default, rename_all = "camelCase")]
pub struct ManagedResourceStatus {
    /// `ResourcesApplied`, `ResourcesHealthy`, `ResourcesProgressing`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub conditions: Option<Vec<Condition>>,
    /// The generation the status reflects.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub observed_generation: Option<i64>,
    /// The applied objects.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resources: Option<Vec<ObjectReference>>,
    /// Checksum of the referenced secrets' data.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub secrets_data_checksum: Option<String>,
}

/// An applied object.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(default, rename_all = "camelCase")]
pub struct ObjectReference {
    /// API version.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub api_version: Option<String>,
    /// Kind.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kind: Option<String>,
    /// Name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// Namespace.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub namespace: Option<String>,
    /// Labels of the object.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub labels: Option<BTreeMap<String, String>>,
    /// Annotations of the object.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub annotations: Option<BTreeMap<String, String>>,
}

impl ManagedResource {
    /// The condition of the given type, if present.
    pub fn condition(&self, type_: &str) -> Option<&Condition> {
        self.status
            .as_ref()?
            .conditions
            .as_ref()?
            .iter()
            .find(|c| c.type_ == type_)
    }

    /// Healthy as gardenlet checks it: observedGeneration current, `ResourcesApplied` and
    /// `ResourcesHealthy` both `True`.
    pub fn is_healthy(&self) -> bool {
        use crate::extensions::ConditionStatus::True;
        let observed = self.status.as_ref().and_then(|s| s.observed_generation);
        observed.is_some()
            && observed == self.metadata.generation
            && self
                .condition(RESOURCES_APPLIED)
                .is_some_and(|c| c.status == True)
            && self
                .condition(RESOURCES_HEALTHY)
                .is_some_and(|c| c.status == True)
    }
}
