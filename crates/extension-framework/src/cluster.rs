//! The namespace's `Cluster` (`GetCluster`), read from the [`SeedCache`], and the failed-shoot
//! predicate built on it.

use crate::actuator::ClusterContext;
use crate::cache::{CacheError, SeedCache};
use crate::kind::ClusterPolicy;
use gardener_api::constants::{ROLE_LABEL, ROLE_SHOOT};
use gardener_api::extensions::ClusterDecodeError;

/// Prefix of shoot namespaces (`v1beta1constants.TechnicalIDPrefix`); Go's `IsShootNamespace`.
pub const SHOOT_NAMESPACE_PREFIX: &str = "shoot--";

/// Why the namespace's Cluster could not be looked up.
#[derive(Debug, thiserror::Error)]
pub enum ClusterLookupError {
    /// The Namespace could not be read (Extension only: it decides whether a Cluster is needed).
    #[error("could not read namespace {namespace}: {source}")]
    Namespace {
        /// The namespace.
        namespace: String,
        /// What the cache said.
        source: CacheError,
    },
    /// The Cluster is missing or unreadable.
    #[error("could not get cluster for namespace {namespace}: {source}")]
    Cluster {
        /// The namespace (= Cluster name).
        namespace: String,
        /// What the cache said.
        source: CacheError,
    },
    /// The Cluster's shoot does not decode.
    #[error("could not get cluster for namespace {namespace}: {source}")]
    Decode {
        /// The namespace.
        namespace: String,
        /// The decode error.
        source: ClusterDecodeError,
    },
}

/// Reads the namespace's Cluster according to the kind's policy.
///
/// # Errors
/// [`ClusterLookupError`] names the namespace and keeps the typed cause.
pub async fn lookup_cluster(
    cache: &SeedCache,
    namespace: &str,
    policy: ClusterPolicy,
) -> Result<Option<ClusterContext>, ClusterLookupError> {
    if policy == ClusterPolicy::IfShootNamespace {
        let labels = cache.namespace_labels(namespace).await.map_err(|source| {
            ClusterLookupError::Namespace {
                namespace: namespace.into(),
                source,
            }
        })?;
        if labels.get(ROLE_LABEL).map(String::as_str) != Some(ROLE_SHOOT) {
            return Ok(None);
        }
    }
    let cluster = cache
        .cluster(namespace)
        .await
        .map_err(|source| ClusterLookupError::Cluster {
            namespace: namespace.into(),
            source,
        })?;
    ClusterContext::new(cluster)
        .map(Some)
        .map_err(|source| ClusterLookupError::Decode {
            namespace: namespace.into(),
            source,
        })
}

/// `ShootNotFailedPredicate`: objects outside shoot namespaces pass; in a shoot namespace the event
/// passes unless the Cluster says the shoot failed. An unreadable Cluster drops the event, logged at
/// error level with the namespace and the cause (as Go's "Could not check if shoot is failed").
pub async fn shoot_not_failed(cache: &SeedCache, namespace: &str) -> bool {
    if !namespace.starts_with(SHOOT_NAMESPACE_PREFIX) {
        return true;
    }
    match lookup_cluster(cache, namespace, ClusterPolicy::Required).await {
        Ok(cluster) => !cluster.is_some_and(|c| c.is_failed()),
        Err(e) => {
            tracing::error!(namespace, error = %crate::watch::error_chain(&e), "Could not check if shoot is failed");
            false
        }
    }
}
