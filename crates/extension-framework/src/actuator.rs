//! The trait an extension implements, and what each call receives.

use crate::cache::SeedCache;
use crate::managed_resources::ManagedResources;
use crate::{Error, ExtensionKind};
use async_trait::async_trait;
use futures::FutureExt;
use gardener_api::core::Shoot;
use gardener_api::extensions::Cluster;
use kube::Client;
use kube::runtime::reflector::Store;
use std::any::Any;
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
    /// The store of the controller's watch (a `Store<K>` of the controller's kind).
    watched: Option<Arc<dyn Any + Send + Sync>>,
    /// The process's cache, for ManagedResource reads.
    cache: Option<SeedCache>,
}

impl Context {
    /// A context without a watch store ([`Context::cached`] is then always `None`).
    pub fn new(client: Client, cluster: Option<ClusterContext>, span: tracing::Span) -> Self {
        Self {
            client,
            cluster,
            span,
            watched: None,
            cache: None,
        }
    }

    /// The same context, reading ManagedResources through `cache`.
    pub(crate) fn caching(mut self, cache: SeedCache) -> Self {
        self.cache = Some(cache);
        self
    }

    /// ManagedResource reads through the process's cache where it holds them (the extension's
    /// own, when its manager caches them), as Go's cached client reads them.
    pub fn managed_resources(&self) -> ManagedResources {
        ManagedResources::new(self.client.clone(), self.cache.clone())
    }

    /// The same context, with the store the controller's watch of `K` fills.
    pub(crate) fn watching<K: ExtensionKind>(mut self, store: Store<K>) -> Self {
        self.watched = Some(Arc::new(store));
        self
    }

    /// The objects of kind `K` in `namespace` as the controller's watch last saw them: what
    /// controller-runtime's cached `List` returns, without a request.
    ///
    /// # Guarantees
    /// `Some` only once the watch has listed the kind completely, so an empty list means none.
    /// Like any cache it can lag behind the API server by the latest events.
    ///
    /// # Errors
    /// `None` when `K` is not the controller's kind, outside a running controller, or before the
    /// watch's first list is complete: read the API server then.
    pub fn cached<K: ExtensionKind>(&self, namespace: &str) -> Option<Vec<Arc<K>>> {
        let store = self.watched.as_ref()?.downcast_ref::<Store<K>>()?;
        store.wait_until_ready().now_or_never()?.ok()?;
        Some(
            store
                .state()
                .into_iter()
                .filter(|o| o.meta().namespace.as_deref() == Some(namespace))
                .collect(),
        )
    }
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

#[cfg(test)]
mod tests {
    use super::*;
    use gardener_api::extensions::{ContainerRuntime, Extension};
    use kube::runtime::{reflector, watcher::Event};

    fn extension(name: &str, namespace: &str) -> Extension {
        serde_json::from_value(serde_json::json!({
            "apiVersion": "extensions.gardener.cloud/v1alpha1", "kind": "Extension",
            "metadata": {"name": name, "namespace": namespace},
            "spec": {"type": "hello"},
        }))
        .unwrap()
    }

    fn names(objects: Option<Vec<Arc<Extension>>>) -> Option<Vec<String>> {
        objects.map(|o| o.iter().map(|e| e.metadata.name.clone().unwrap()).collect())
    }

    /// The cache answers only for the controller's kind, and only once its watch has listed:
    /// before that an empty store would claim that no object exists.
    #[tokio::test]
    async fn cached_objects_come_from_a_listed_watch_of_the_kind() {
        let config = kube::Config::new("http://127.0.0.1:9".parse().unwrap());
        let client = Client::try_from(config).unwrap();
        let plain = Context::new(client, None, tracing::Span::none());
        assert!(plain.cached::<Extension>("a").is_none());

        let (store, mut writer) = reflector::store::<Extension>();
        let ctx = plain.watching(store);
        writer.apply_watcher_event(&Event::Init);
        writer.apply_watcher_event(&Event::InitApply(extension("one", "a")));
        assert!(ctx.cached::<Extension>("a").is_none(), "still listing");
        writer.apply_watcher_event(&Event::InitApply(extension("two", "b")));
        writer.apply_watcher_event(&Event::InitDone);
        assert_eq!(names(ctx.cached("a")), Some(vec!["one".to_string()]));
        assert_eq!(names(ctx.cached("c")), Some(vec![]));
        assert!(
            ctx.cached::<ContainerRuntime>("a").is_none(),
            "another kind"
        );
    }
}
