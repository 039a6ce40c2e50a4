//! The fields of a `core.gardener.cloud/v1beta1` Shoot that extensions read from a Cluster.

use crate::constants::FORCE_DELETION_ANNOTATION;
use crate::extensions::{LastOperation, LastOperationState, LastOperationType};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// Read-only view of a Shoot. Unknown fields are ignored; this type is never written back.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Shoot {
    /// Name, namespace, annotations, ...
    #[serde(default)]
    pub metadata: ShootMetadata,
    /// The fields of the spec extensions read.
    #[serde(default)]
    pub spec: ShootSpec,
    /// The fields of the status extensions read.
    #[serde(default)]
    pub status: Option<ShootStatus>,
}

/// Shoot metadata.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct ShootMetadata {
    /// Name.
    #[serde(default)]
    pub name: Option<String>,
    /// Project namespace.
    #[serde(default)]
    pub namespace: Option<String>,
    /// Annotations (force deletion, ...).
    #[serde(default)]
    pub annotations: Option<BTreeMap<String, String>>,
    /// Labels.
    #[serde(default)]
    pub labels: Option<BTreeMap<String, String>>,
}

/// Shoot spec fields.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct ShootSpec {
    /// Hibernation settings.
    #[serde(default)]
    pub hibernation: Option<Hibernation>,
    /// Kubernetes settings.
    #[serde(default)]
    pub kubernetes: Option<ShootKubernetes>,
    /// Named resource references (`spec.resources[]`), e.g. Secrets extensions consume.
    #[serde(default)]
    pub resources: Option<Vec<crate::extensions::NamedResourceReference>>,
    /// Networking settings.
    #[serde(default)]
    pub networking: Option<serde_json::Value>,
    /// Provider settings (type, workers).
    #[serde(default)]
    pub provider: Option<serde_json::Value>,
}

/// Hibernation settings.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Hibernation {
    /// Whether the shoot should be hibernated.
    #[serde(default)]
    pub enabled: Option<bool>,
}

/// Kubernetes settings.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct ShootKubernetes {
    /// Kubernetes version, e.g. `1.33.2`.
    #[serde(default)]
    pub version: String,
}

/// Shoot status fields.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct ShootStatus {
    /// The shoot's last operation.
    #[serde(default)]
    pub last_operation: Option<LastOperation>,
    /// Whether the shoot is hibernated.
    #[serde(default)]
    pub is_hibernated: Option<bool>,
    /// Cluster identity.
    #[serde(default)]
    pub cluster_identity: Option<String>,
    /// Technical ID (`shoot--project--name`).
    #[serde(default, rename = "technicalID")]
    pub technical_id: Option<String>,
}

impl Shoot {
    /// The shoot's last operation is `Failed` (`IsFailed`).
    pub fn is_failed(&self) -> bool {
        self.last_operation()
            .is_some_and(|op| op.state == LastOperationState::Failed)
    }

    /// `spec.hibernation.enabled == true`.
    pub fn is_hibernation_enabled(&self) -> bool {
        self.spec
            .hibernation
            .as_ref()
            .and_then(|h| h.enabled)
            .unwrap_or(false)
    }

    /// Hibernation is enabled and the shoot reports it is hibernated.
    pub fn is_hibernated(&self) -> bool {
        self.is_hibernation_enabled() && self.status_is_hibernated()
    }

    /// Hibernation is enabled but not yet reached, or disabled but not yet left.
    pub fn is_hibernating_or_waking_up(&self) -> bool {
        self.is_hibernation_enabled() != self.status_is_hibernated()
    }

    /// The shoot has no last operation yet or is still being created (`IsCreationInProcess`).
    pub fn is_creation_in_process(&self) -> bool {
        self.last_operation()
            .is_none_or(|op| op.type_ == LastOperationType::Create)
    }

    /// The annotation `confirmation.gardener.cloud/force-deletion` parses as Go's `ParseBool` true.
    pub fn needs_force_deletion(&self) -> bool {
        self.metadata
            .annotations
            .as_ref()
            .and_then(|a| a.get(FORCE_DELETION_ANNOTATION))
            .is_some_and(|v| matches!(v.as_str(), "1" | "t" | "T" | "TRUE" | "true" | "True"))
    }

    /// The Kubernetes version, if set.
    pub fn kubernetes_version(&self) -> Option<&str> {
        self.spec.kubernetes.as_ref().map(|k| k.version.as_str())
    }

    fn last_operation(&self) -> Option<&LastOperation> {
        self.status.as_ref().and_then(|s| s.last_operation.as_ref())
    }

    fn status_is_hibernated(&self) -> bool {
        self.status
            .as_ref()
            .and_then(|s| s.is_hibernated)
            .unwrap_or(false)
    }
}
