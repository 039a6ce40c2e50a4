//! Watch-backed stores of Namespaces and Clusters (and, for extensions that create them, their
//! own ManagedResources), shared by every controller of a process.
//!
//! Go's controller-runtime reads these through informer caches; reading them per reconcile costs
//! two GETs each time, and a Cluster carries the whole Shoot, CloudProfile and Seed (often 50 KiB).
//! The stores hold Namespace *metadata* only (labels are all the framework reads) and each Cluster
//! once, its embedded objects as JSON text ([`gardener_api::blob::Blob`], about a tenth of parsed
//! JSON) with `managedFields` pruned. The shoot view is decoded on lookup; it is small and cheap
//! to decode, so nothing is held twice. ManagedResources are watched only by their `origin` label,
//! from the first read on (as controller-runtime starts an informer at a type's first read), so
//! that an extension without objects holds no such watch.

use crate::watch;
use futures::StreamExt;
use gardener_api::constants::MR_ORIGIN_LABEL;
use gardener_api::extensions::Cluster;
use gardener_api::resources::ManagedResource;
use k8s_openapi::api::core::v1::Namespace;
use kube::api::PartialObjectMeta;
use kube::runtime::reflector::{self, ObjectRef, Store};
use kube::runtime::{WatchStreamExt, watcher};
use kube::{Client, Resource};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::watch as signal;

/// Why the cache could not answer.
#[derive(Debug, thiserror::Error)]
pub enum CacheError {
    /// The object is not in the cache (Go's cached client answers NotFound).
    #[error("{resource} {name:?} not found")]
    NotFound {
        /// `namespaces` or `clusters.extensions.gardener.cloud`.
        resource: String,
        /// The object's name.
        name: String,
    },
    /// The first list has not completed within the wait.
    #[error("{resource} cache not synced after {waited:?}")]
    NotSynced {
        /// Which cache.
        resource: String,
        /// How long the lookup waited.
        waited: Duration,
    },
}

/// How long a lookup waits for a cache's first list before giving up (the reconcile then retries).
const SYNC_WAIT: Duration = Duration::from_secs(30);

/// Namespaces and Clusters of the seed, kept current by two watches.
///
/// Cloning is cheap; all clones share the stores.
#[derive(Clone)]
pub struct SeedCache {
    namespaces: Synced<PartialObjectMeta<Namespace>>,
    clusters: Synced<Cluster>,
    managed_resources: Option<Arc<LazyWatch<ManagedResource>>>,
}

/// A watch started by the first read that needs it.
struct LazyWatch<K: Resource<DynamicType = ()> + Clone + 'static> {
    client: Client,
    config: watcher::Config,
    stop: signal::Receiver<bool>,
    synced: tokio::sync::OnceCell<Synced<K>>,
}

/// How long the first read of a lazily started watch waits for its first list; after that it
/// reads the API server (and later reads find the watch ready).
const LAZY_SYNC_WAIT: Duration = Duration::from_secs(5);

/// A store and whether its first list is complete.
///
/// kube's `Store::wait_until_ready` wakes only the task that polled it last (one oneshot
/// receiver behind a lock), so concurrent lookups lost their wake-up and sat out the whole wait;
/// a watch channel wakes every waiter.
#[derive(Clone)]
struct Synced<K: Resource<DynamicType = ()> + Clone + 'static> {
    store: Store<K>,
    ready: signal::Receiver<bool>,
}

impl<K: Resource<DynamicType = ()> + Clone + 'static> Synced<K> {
    fn is_ready(&self) -> bool {
        *self.ready.borrow()
    }

    async fn wait_until_ready(&self) {
        let mut ready = self.ready.clone();
        // An error means the reflector is gone; lookups then answer from what it left.
        let _ = ready.wait_for(|r| *r).await;
    }

    /// A store filled from `objects` once, and ready.
    fn filled(objects: impl IntoIterator<Item = K>) -> Self {
        let (store, mut writer) = reflector::store::<K>();
        writer.apply_watcher_event(&watcher::Event::Init);
        for object in objects {
            writer.apply_watcher_event(&watcher::Event::InitApply(object));
        }
        writer.apply_watcher_event(&watcher::Event::InitDone);
        // Stores stay readable after their writers are gone.
        Self {
            store,
            ready: signal::channel(true).1,
        }
    }
}

impl SeedCache {
    /// Starts the two watches; they run until `stop` turns true.
    ///
    /// # Guarantees
    /// Lookups wait for the first complete list of their resource (up to 30 s), so a reconcile
    /// right after start-up never mistakes an unsynced cache for a missing object.
    pub fn start(client: Client, stop: signal::Receiver<bool>) -> Self {
        let ns_stream = watcher::watcher(
            kube::Api::<PartialObjectMeta<Namespace>>::all(client.clone()),
            watcher::Config::default(),
        )
        .default_backoff()
        .filter_map(|e| {
            futures::future::ready(match e {
                Ok(e) => Some(e),
                Err(error) => {
                    tracing::error!(
                        controller = "cache",
                        kind = "Namespace",
                        resource = "namespaces",
                        error = %watch::error_chain(&error),
                        "Watch failed, retrying"
                    );
                    None
                }
            })
        });
        let cluster_stream =
            watch::objects::<Cluster>(client, watcher::Config::default(), "cache".into())
                .filter_map(|event| futures::future::ready(event.ok()));
        Self::from_streams(ns_stream, cluster_stream, stop)
    }

    /// A cache fed by the given event streams (what [`SeedCache::start`] does with its watches;
    /// benchmarks feed it synthetic events). The streams run until `stop` turns true.
    pub fn from_streams(
        namespaces: impl futures::Stream<Item = watcher::Event<PartialObjectMeta<Namespace>>>
        + Send
        + 'static,
        clusters: impl futures::Stream<Item = watcher::Event<Cluster>> + Send + 'static,
        stop: signal::Receiver<bool>,
    ) -> Self {
        let clusters = clusters.map(|mut event| {
            strip_embedded_managed_fields(&mut event);
            event
        });
        Self {
            namespaces: spawn_reflector(namespaces, stop.clone()),
            clusters: spawn_reflector(clusters, stop),
            managed_resources: None,
        }
    }

    /// Also caches the ManagedResources labelled `origin=<origin>`: those the extension creates
    /// with [`create_for_shoot`](crate::managed_resources::create_for_shoot) and that origin.
    /// Their watch starts at the first [`SeedCache::managed_resource`] and runs until `stop`.
    pub fn with_managed_resources(
        mut self,
        client: Client,
        origin: &str,
        stop: signal::Receiver<bool>,
    ) -> Self {
        self.managed_resources = Some(Arc::new(LazyWatch {
            client,
            config: watcher::Config::default().labels(&format!("{MR_ORIGIN_LABEL}={origin}")),
            stop,
            synced: tokio::sync::OnceCell::new(),
        }));
        self
    }

    /// The ManagedResource `namespace/name` as the cache holds it, as Go's cached client reads it.
    ///
    /// # Guarantees
    /// The first call starts the watch and waits up to 5 s for its first list; later calls do not
    /// wait for a watch that has not listed yet.
    ///
    /// # Errors
    /// `None` when the cache does not hold it: no ManagedResources are cached, the watch has not
    /// listed yet, or the object is another origin's, newer than the watch's last event, or
    /// missing. Read the API server then.
    pub async fn managed_resource(
        &self,
        namespace: &str,
        name: &str,
    ) -> Option<Arc<ManagedResource>> {
        let lazy = self.managed_resources.as_ref()?;
        let mut started = false;
        let synced = lazy
            .synced
            .get_or_init(|| {
                started = true;
                async {
                    let stream = watch::objects::<ManagedResource>(
                        lazy.client.clone(),
                        lazy.config.clone(),
                        "cache".into(),
                    )
                    .filter_map(|event| futures::future::ready(event.ok()))
                    // Reference annotations and labels are written from patch answers, never read
                    // from the cache.
                    .map(|mut event| {
                        if let watcher::Event::Apply(mr) | watcher::Event::InitApply(mr) =
                            &mut event
                        {
                            mr.metadata.annotations = None;
                            mr.metadata.labels = None;
                        }
                        event
                    });
                    spawn_reflector(stream, lazy.stop.clone())
                }
            })
            .await;
        // Only the read that starts the watch waits for it: while a watch cannot list (a chart
        // without `list`/`watch`), every other read goes straight to the API server.
        if started {
            tokio::time::timeout(LAZY_SYNC_WAIT, synced.wait_until_ready())
                .await
                .ok()?;
        } else if !synced.is_ready() {
            return None;
        }
        synced.store.get(&ObjectRef::new(name).within(namespace))
    }

    /// A cache filled with fixed objects and never updated (for tests of code that reads it).
    pub fn from_objects(
        namespaces: impl IntoIterator<Item = Namespace>,
        clusters: impl IntoIterator<Item = Cluster>,
    ) -> Self {
        use kube::core::PartialObjectMetaExt;
        Self {
            namespaces: Synced::filled(
                namespaces
                    .into_iter()
                    .map(|ns| ns.metadata.into_request_partial::<Namespace>()),
            ),
            clusters: Synced::filled(clusters),
            managed_resources: None,
        }
    }

    /// The labels of a Namespace.
    ///
    /// # Errors
    /// [`CacheError::NotFound`] if there is no such Namespace, [`CacheError::NotSynced`] if the
    /// first list did not complete in time.
    pub async fn namespace_labels(
        &self,
        name: &str,
    ) -> Result<std::collections::BTreeMap<String, String>, CacheError> {
        let ns = get(&self.namespaces, &ObjectRef::new(name)).await?;
        Ok(ns.metadata.labels.clone().unwrap_or_default())
    }

    /// The Cluster named `name` (= the shoot namespace).
    ///
    /// # Errors
    /// As [`SeedCache::namespace_labels`].
    pub async fn cluster(&self, name: &str) -> Result<Arc<Cluster>, CacheError> {
        get(&self.clusters, &ObjectRef::new(name)).await
    }

    /// Whether both stores have completed their first list.
    pub fn is_synced(&self) -> bool {
        self.namespaces.is_ready() && self.clusters.is_ready()
    }

    /// Waits until both stores have completed their first list.
    pub async fn wait_until_synced(&self) {
        self.namespaces.wait_until_ready().await;
        self.clusters.wait_until_ready().await;
    }
}

async fn get<K>(synced: &Synced<K>, key: &ObjectRef<K>) -> Result<Arc<K>, CacheError>
where
    K: Resource<DynamicType = ()> + Clone + 'static,
{
    let resource = watch::resource_name::<K>();
    if tokio::time::timeout(SYNC_WAIT, synced.wait_until_ready())
        .await
        .is_err()
    {
        return Err(CacheError::NotSynced {
            resource,
            waited: SYNC_WAIT,
        });
    }
    synced.store.get(key).ok_or(CacheError::NotFound {
        resource,
        name: key.name.clone(),
    })
}

/// Applies the stream's events to a new store until `stop`; the store turns ready after the
/// first complete list.
fn spawn_reflector<K>(
    stream: impl futures::Stream<Item = watcher::Event<K>> + Send + 'static,
    mut stop: signal::Receiver<bool>,
) -> Synced<K>
where
    K: Resource<DynamicType = ()> + Clone + Send + Sync + 'static,
{
    let (store, mut writer) = reflector::store();
    let (ready_tx, ready) = signal::channel(false);
    tokio::spawn(async move {
        let mut stream = std::pin::pin!(stream);
        loop {
            tokio::select! {
                event = stream.next() => match event {
                    Some(event) => {
                        writer.apply_watcher_event(&event);
                        if matches!(event, watcher::Event::InitDone) {
                            ready_tx.send_replace(true);
                        }
                    }
                    None => return,
                },
                _ = stop.wait_for(|s| *s) => return,
            }
        }
    });
    Synced { store, ready }
}

/// gardenlet strips `managedFields` before embedding objects; a hand-written Cluster may not.
fn strip_embedded_managed_fields(event: &mut watcher::Event<Cluster>) {
    if let watcher::Event::Apply(c) | watcher::Event::InitApply(c) = event {
        let blobs = [
            Some(&mut c.spec.shoot),
            Some(&mut c.spec.cloud_profile),
            c.spec.seed.as_mut(),
        ];
        // Most blobs have none: only those are parsed and written back.
        for blob in blobs
            .into_iter()
            .flatten()
            .filter(|b| b.get().contains("\"managedFields\""))
        {
            let mut value = blob.to_value();
            if let Some(meta) = value.get_mut("metadata").and_then(|m| m.as_object_mut()) {
                meta.remove("managedFields");
            }
            *blob = gardener_api::blob::Blob::from_value(&value);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use gardener_api::extensions::ClusterSpec;
    use serde_json::json;

    /// Regression: with kube's `Store::wait_until_ready`, only the last of several waiting
    /// lookups was woken by the first list; the others (and all of them after a readiness probe
    /// polled in between) waited out `SYNC_WAIT`.
    #[tokio::test]
    async fn every_waiting_lookup_wakes_when_the_first_list_completes() {
        let (events, stream) = futures::channel::mpsc::unbounded();
        let (_stop_tx, stop) = signal::channel(false);
        let synced = spawn_reflector(stream, stop);
        let lookups: Vec<_> = (0..8)
            .map(|_| {
                let synced = synced.clone();
                tokio::spawn(async move { get(&synced, &ObjectRef::new("shoot--a--b")).await })
            })
            .collect();
        tokio::task::yield_now().await;
        assert!(!synced.is_ready(), "a probe between the waits and the list");
        for event in [
            watcher::Event::Init,
            watcher::Event::InitApply(Cluster::new("shoot--a--b", ClusterSpec::default())),
            watcher::Event::InitDone,
        ] {
            events.unbounded_send(event).unwrap();
        }
        let all = futures::future::join_all(lookups);
        let found = tokio::time::timeout(Duration::from_secs(5), all)
            .await
            .expect("every lookup wakes long before SYNC_WAIT");
        assert!(found.into_iter().all(|r| r.unwrap().is_ok()));
        assert!(synced.is_ready());
    }

    #[tokio::test]
    async fn fixed_caches_answer_and_name_what_is_missing() {
        let mut ns = Namespace::default();
        ns.metadata.name = Some("shoot--a--b".into());
        ns.metadata.labels = Some([("gardener.cloud/role".into(), "shoot".into())].into());
        let cluster = Cluster::new("shoot--a--b", ClusterSpec::default());
        let cache = SeedCache::from_objects([ns], [cluster]);
        assert!(cache.is_synced());
        assert_eq!(
            cache.namespace_labels("shoot--a--b").await.unwrap()["gardener.cloud/role"],
            "shoot"
        );
        assert!(cache.cluster("shoot--a--b").await.is_ok());
        assert_eq!(
            cache.cluster("nope").await.unwrap_err().to_string(),
            r#"clusters.extensions.gardener.cloud "nope" not found"#
        );
    }

    #[test]
    fn embedded_managed_fields_are_dropped() {
        let mut cluster = Cluster::new("c", ClusterSpec::default());
        cluster.spec.shoot =
            json!({"metadata": {"name": "s", "managedFields": [{"manager": "x"}]}}).into();
        let mut event = watcher::Event::Apply(cluster);
        strip_embedded_managed_fields(&mut event);
        let watcher::Event::Apply(c) = event else {
            unreachable!()
        };
        assert_eq!(c.spec.shoot.to_value(), json!({"metadata": {"name": "s"}}));
    }
}
