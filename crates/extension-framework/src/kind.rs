//! What differs between the extension kinds, expressed as data on the kind (gardener-contract §4.8).

use crate::operation::Operation;
use crate::osc::OscOutput;
pub use crate::output::OutputError;
use async_trait::async_trait;
use gardener_api::constants::{
    FINALIZER_CONTAINER_RUNTIME, FINALIZER_OPERATING_SYSTEM_CONFIG, FINALIZER_PREFIX,
};
use gardener_api::extensions::{
    ContainerRuntime, Extension, ExtensionObject, OperatingSystemConfig,
};
use k8s_openapi::NamespaceResourceScope;
use kube::{Client, Resource};
use serde::Serialize;
use serde::de::DeserializeOwned;
use std::fmt::Debug;

/// When the reconciler needs the namespace's `Cluster`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ClusterPolicy {
    /// Only in shoot namespaces (`gardener.cloud/role=shoot`); elsewhere the cluster is absent.
    IfShootNamespace,
    /// Always; a missing Cluster is an error.
    Required,
}

/// The status descriptions of one operation: while running, on error, on success.
#[derive(Clone, Copy, Debug)]
pub struct Phrases {
    /// `Processing` description.
    pub processing: &'static str,
    /// Prefix of the `Error` description (`"<prefix>: <error>"`).
    pub error: &'static str,
    /// `Succeeded` description.
    pub success: &'static str,
}

/// Status descriptions per operation, verbatim from the Go library.
#[derive(Clone, Copy, Debug)]
pub struct Descriptions {
    /// Create and Reconcile.
    pub reconcile: Phrases,
    /// Delete (and force delete).
    pub delete: Phrases,
    /// Restore.
    pub restore: Phrases,
    /// Migrate.
    pub migrate: Phrases,
}

impl Descriptions {
    /// The phrases of an operation type.
    pub fn of(&self, op: Operation) -> &Phrases {
        match op {
            Operation::Create | Operation::Reconcile => &self.reconcile,
            Operation::Delete => &self.delete,
            Operation::Restore => &self.restore,
            Operation::Migrate => &self.migrate,
        }
    }
}

/// An extension kind the generic reconciler handles: `Extension`, `ContainerRuntime` or
/// `OperatingSystemConfig`.
#[async_trait]
pub trait ExtensionKind:
    ExtensionObject
    + Resource<Scope = NamespaceResourceScope, DynamicType = ()>
    + Clone
    + Debug
    + DeserializeOwned
    + Serialize
    + Send
    + Sync
    + 'static
{
    /// Kind name used in descriptions and logs.
    const KIND: &'static str;
    /// Default controller name (the `controller` metric label).
    const CONTROLLER_NAME: &'static str;
    /// When a Cluster is looked up.
    const CLUSTER_POLICY: ClusterPolicy;
    /// Whether migrate is a no-op for objects without the finalizer (OSC).
    const MIGRATE_NEEDS_FINALIZER: bool;
    /// Whether a successful reconcile requeues after the configured resync (Extension).
    const RESYNC_AFTER_RECONCILE: bool;
    /// What Reconcile and Restore return (`()` except for OSC).
    type Output: Send + 'static;

    /// The finalizer, given the extension's finalizer suffix.
    fn finalizer(suffix: &str) -> String;

    /// Status descriptions.
    fn descriptions() -> &'static Descriptions;

    /// Writes the actuator's output after a successful Reconcile/Restore (OSC: result Secret +
    /// status). Returns the object as written, if it was.
    async fn write_output(
        _client: &Client,
        _object: &Self,
        _output: Self::Output,
    ) -> Result<Option<Self>, OutputError> {
        Ok(None)
    }
}

macro_rules! phrases {
    ($p:literal, $e:literal, $s:literal) => {
        Phrases {
            processing: $p,
            error: $e,
            success: $s,
        }
    };
}

static EXTENSION: Descriptions = Descriptions {
    reconcile: phrases!(
        "Reconciling the Extension",
        "Error reconciling Extension",
        "Successfully reconciled Extension"
    ),
    delete: phrases!(
        "Deleting the Extension",
        "Error deleting the Extension",
        "Successfully deleted the Extension"
    ),
    restore: phrases!(
        "Restoring Extension resource",
        "Unable to restore Extension resource",
        "Successfully restored Extension resource"
    ),
    migrate: phrases!(
        "Migrate Extension resource.",
        "Error migrating Extension resource",
        "Successfully migrated Extension resource"
    ),
};

static CONTAINER_RUNTIME: Descriptions = Descriptions {
    reconcile: phrases!(
        "Reconciling the ContainerRuntime",
        "Error reconciling ContainerRuntime",
        "Successfully reconciled ContainerRuntime"
    ),
    delete: phrases!(
        "Deleting the ContainerRuntime",
        "Error deleting ContainerRuntime",
        "Successfully deleted ContainerRuntime"
    ),
    restore: phrases!(
        "Restoring the ContainerRuntime",
        "Error restoring ContainerRuntime",
        "Successfully restored ContainerRuntime"
    ),
    migrate: phrases!(
        "Migrating the ContainerRuntime",
        "Error migrating ContainerRuntime",
        "Successfully migrated ContainerRuntime"
    ),
};

static OPERATING_SYSTEM_CONFIG: Descriptions = Descriptions {
    reconcile: phrases!(
        "Reconciling the OperatingSystemConfig",
        "Error reconciling OperatingSystemConfig",
        "Successfully reconciled OperatingSystemConfig"
    ),
    delete: phrases!(
        "Deleting the OperatingSystemConfig",
        "Error deleting OperatingSystemConfig",
        "Successfully deleted OperatingSystemConfig"
    ),
    restore: phrases!(
        "Restoring the OperatingSystemConfig",
        "Error restoring OperatingSystemConfig",
        "Successfully restored OperatingSystemConfig"
    ),
    migrate: phrases!(
        "Migrating the OperatingSystemConfig",
        "Error migrating OperatingSystemConfig",
        "Successfully migrated OperatingSystemConfig"
    ),
};

#[async_trait]
impl ExtensionKind for Extension {
    const KIND: &'static str = "Extension";
    const CONTROLLER_NAME: &'static str = "extension";
    const CLUSTER_POLICY: ClusterPolicy = ClusterPolicy::IfShootNamespace;
    const MIGRATE_NEEDS_FINALIZER: bool = false;
    const RESYNC_AFTER_RECONCILE: bool = true;
    type Output = ();

    fn finalizer(suffix: &str) -> String {
        format!("{FINALIZER_PREFIX}{suffix}")
    }

    fn descriptions() -> &'static Descriptions {
        &EXTENSION
    }
}

#[async_trait]
impl ExtensionKind for ContainerRuntime {
    const KIND: &'static str = "ContainerRuntime";
    const CONTROLLER_NAME: &'static str = "containerruntime";
    const CLUSTER_POLICY: ClusterPolicy = ClusterPolicy::Required;
    const MIGRATE_NEEDS_FINALIZER: bool = false;
    const RESYNC_AFTER_RECONCILE: bool = false;
    type Output = ();

    fn finalizer(_suffix: &str) -> String {
        FINALIZER_CONTAINER_RUNTIME.to_string()
    }

    fn descriptions() -> &'static Descriptions {
        &CONTAINER_RUNTIME
    }
}

#[async_trait]
impl ExtensionKind for OperatingSystemConfig {
    const KIND: &'static str = "OperatingSystemConfig";
    const CONTROLLER_NAME: &'static str = "operatingsystemconfig";
    const CLUSTER_POLICY: ClusterPolicy = ClusterPolicy::Required;
    const MIGRATE_NEEDS_FINALIZER: bool = true;
    const RESYNC_AFTER_RECONCILE: bool = false;
    type Output = OscOutput;

    fn finalizer(_suffix: &str) -> String {
        FINALIZER_OPERATING_SYSTEM_CONFIG.to_string()
    }

    fn descriptions() -> &'static Descriptions {
        &OPERATING_SYSTEM_CONFIG
    }

    async fn write_output(
        client: &Client,
        object: &Self,
        output: OscOutput,
    ) -> Result<Option<Self>, OutputError> {
        crate::osc::write_output(client, object, output).await
    }
}
