//! Watch-backed stores of Namespaces and Clusters, shared by every controller of a process.
//!
//! Go's controller-runtime reads these through informer caches; reading them per reconcile costs
//! two GETs each time, and a Cluster carries the whole Shoot, CloudProfile and Seed (often 50 KiB).
//! The stores hold Namespace *metadata* only (labels are all the framework reads) and each Cluster
//! once, its embedded objects as JSON text ([`gardener_api::blob::Blob`], about a tenth of parsed
//! JSON) with `managedFields` pruned. The shoot view is decoded on lookup; it is small and cheap
//! to decode, so nothing is held twice.

use crate::watch;
use futures::StreamExt;
use gardener_api::extensions::Cluster;
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
    namespaces: Store<PartialObjectMeta<Namespace>>,
    clusters: Store<Cluster>,
}

impl SeedCache {
    /// Starts the two watches; they run until `stop` turns true.
    ///
    /// # Guarantees
    /// Lookups wait for the first complete list of their resource (up to 30 s), so a reconcile
    /// right after start-up never mistakes an unsynced cache for a missing object.
    pub fn start(client: Client, stop: signal::Receiver<bool>) -> Self {
        let (namespaces, ns_writer) = reflector::store();
        let (clusters, cluster_writer) = reflector::store();
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
        spawn_reflector(ns_stream, ns_writer, stop.clone());
        let cluster_stream =
            watch::objects::<Cluster>(client, watcher::Config::default(), "cache".into())
                .filter_map(|event| futures::future::ready(event.ok()))
                .map(|mut event| {
                    strip_embedded_managed_fields(&mut event);
                    event
                });
        spawn_reflector(cluster_stream, cluster_writer, stop);
        Self {
            namespaces,
            clusters,
        }
    }

    /// A cache filled with fixed objects and never updated (for tests of code that reads it).
    pub fn from_objects(
        namespaces: impl IntoIterator<Item = Namespace>,
        clusters: impl IntoIterator<Item = Cluster>,
    ) -> Self {
        use kube::core::PartialObjectMetaExt;
        let (ns_store, mut ns_writer) = reflector::store::<PartialObjectMeta<Namespace>>();
        let (cluster_store, mut cluster_writer) = reflector::store::<Cluster>();
        ns_writer.apply_watcher_event(&watcher::Event::Init);
        for ns in namespaces {
            let meta = ns.metadata.into_request_partial::<Namespace>();
            ns_writer.apply_watcher_event(&watcher::Event::InitApply(meta));
        }
        ns_writer.apply_watcher_event(&watcher::Event::InitDone);
        cluster_writer.apply_watcher_event(&watcher::Event::Init);
        for cluster in clusters {
            cluster_writer.apply_watcher_event(&watcher::Event::InitApply(cluster));
        }
        cluster_writer.apply_watcher_event(&watcher::Event::InitDone);
        // Stores stay readable after their writers are gone.
        Self {
            namespaces: ns_store,
            clusters: cluster_store,
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
        ready(&self.namespaces) && ready(&self.clusters)
    }

    /// Waits until both stores have completed their first list.
    pub async fn wait_until_synced(&self) {
        let _ = self.namespaces.wait_until_ready().await;
        let _ = self.clusters.wait_until_ready().await;
    }
}

fn ready<K: Resource<DynamicType = ()> + Clone>(store: &Store<K>) -> bool {
    futures::FutureExt::now_or_never(store.wait_until_ready()).is_some_and(|r| r.is_ok())
}

async fn get<K>(store: &Store<K>, key: &ObjectRef<K>) -> Result<Arc<K>, CacheError>
where
    K: Resource<DynamicType = ()> + Clone + 'static,
{
    let resource = watch::resource_name::<K>();
    let synced = tokio::time::timeout(SYNC_WAIT, store.wait_until_ready()).await;
    if !matches!(synced, Ok(Ok(()))) {
        return Err(CacheError::NotSynced {
            resource,
            waited: SYNC_WAIT,
        });
    }
    store.get(key).ok_or(CacheError::NotFound {
        resource,
        name: key.name.clone(),
    })
}

fn spawn_reflector<K>(
    stream: impl futures::Stream<Item = watcher::Event<K>> + Send + 'static,
    mut writer: reflector::store::Writer<K>,
    mut stop: signal::Receiver<bool>,
) where
    K: Resource<DynamicType = ()> + Clone + Send + Sync + 'static,
{
    tokio::spawn(async move {
        let mut stream = std::pin::pin!(stream);
        loop {
            tokio::select! {
                event = stream.next() => match event {
                    Some(event) => writer.apply_watcher_event(&event),
                    None => return,
                },
                _ = stop.wait_for(|s| *s) => return,
            }
        }
    });
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
