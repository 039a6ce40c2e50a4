//! The trait an extension implements, and what each call receives.

use crate::{Error, ExtensionKind};
use async_trait::async_trait;
use gardener_api::core::Shoot;
use gardener_api::extensions::Cluster;
use kube::Client;
use std::sync::Arc;

/// The `Cluster` of the object's namespace, decoded.
#[derive(Clone, Debug)]
pub struct ClusterContext {
    /// The object as cached (all blobs kept, shared with the cache: no copy per reconcile).
    pub cluster: Arc<Cluster>,
    /// The decoded shoot view, if the Cluster carries one.
    pub shoot: Option<Shoot>,
}

impl ClusterContext {
    /// Decodes a Cluster; a shoot that does not decode is an error (as `GetCluster`).
    ///
    /// # Errors
    /// The shoot blob is not a Shoot (a field of the wrong JSON type; unknown and missing fields
    /// are fine, as in Go).
    pub fn new(
        cluster: Arc<Cluster>,
    ) -> Result<Self, gardener_api::extensions::ClusterDecodeError> {
        let shoot = cluster.shoot()?;
        Ok(Self { cluster, shoot })
    }

    /// The shoot's last operation is `Failed`.
    pub fn is_failed(&self) -> bool {
        self.shoot.as_ref().is_some_and(Shoot::is_failed)
    }

    /// The shoot asks for force deletion.
    pub fn needs_force_deletion(&self) -> bool {
        self.shoot.as_ref().is_some_and(Shoot::needs_force_deletion)
    }

    /// Hibernation is enabled for the shoot.
    pub fn is_hibernation_enabled(&self) -> bool {
        self.shoot
            .as_ref()
            .is_some_and(Shoot::is_hibernation_enabled)
    }
}

/// What every actuator call gets besides the object.
#[derive(Clone)]
pub struct Context {
    /// Client for the seed (the cluster the extension objects live in).
    pub client: Client,
    /// The namespace's Cluster: always for ContainerRuntime and OperatingSystemConfig, for Extension
    /// only in shoot namespaces.
    pub cluster: Option<ClusterContext>,
    /// Span carrying the object's name and namespace; actuator logs inside it are correlated.
    pub span: tracing::Span,
}

/// The operations gardenlet asks an extension to perform on objects of kind `K`.
///
/// The framework calls exactly one method per reconcile, after removing the `reconcile` annotation,
/// adding the finalizer and recording `Processing`; it records `Succeeded` or `Error` afterwards.
#[async_trait]
pub trait Actuator<K: ExtensionKind>: Send + Sync + 'static {
    /// Create or update whatever the object describes.
    async fn reconcile(&self, ctx: &Context, object: &K) -> Result<K::Output, Error>;

    /// Clean up; must wait until managed resources are gone.
    async fn delete(&self, ctx: &Context, object: &K) -> Result<(), Error>;

    /// Clean up without waiting for anything external (the shoot is force-deleted). Defaults to
    /// [`Actuator::delete`].
    async fn force_delete(&self, ctx: &Context, object: &K) -> Result<(), Error> {
        self.delete(ctx, object).await
    }

    /// Recreate after control-plane migration; `status.state` holds what migrate saved. Defaults to
    /// [`Actuator::reconcile`].
    async fn restore(&self, ctx: &Context, object: &K) -> Result<K::Output, Error> {
        self.reconcile(ctx, object).await
    }

    /// Hand over to another seed: save state in `status.state`, remove seed-side objects but keep
    /// everything in the shoot (e.g. ManagedResources with `keepObjects`).
    async fn migrate(&self, ctx: &Context, object: &K) -> Result<(), Error>;
}
