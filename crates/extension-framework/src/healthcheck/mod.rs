//! Health checks: conditions such as `SystemComponentsHealthy` on extension objects, refreshed every
//! sync period (gardener-contract §6.2). gardenlet copies them into the Shoot's conditions.
//!
//! * From check results to a condition, with upstream's exact messages: [`aggregate`],
//!   [`build_condition`].
//! * The built-in checks: [`ManagedResourceCheck`], and [`WorkloadCheck`] for Deployments and
//!   DaemonSets in the shoot, read through the ManagedResource that delivers them.
//!
//! ```
//! use extension_framework::healthcheck::{HealthCheckRegistration, ManagedResourceCheck, WorkloadCheck};
//! use gardener_api::extensions::ContainerRuntime;
//! use std::{sync::Arc, time::Duration};
//!
//! // gvisor's checks: its ManagedResource, and the installer DaemonSet it delivers to the shoot.
//! let checks = HealthCheckRegistration::<ContainerRuntime>::new("gvisor", Duration::from_secs(30))
//!     .condition("SystemComponentsHealthy", vec![
//!         Arc::new(ManagedResourceCheck::new("extension-runtime-gvisor")),
//!         Arc::new(
//!             WorkloadCheck::daemon_set("extension-runtime-gvisor-installation-worker", "kube-system", "gvisor-installation")
//!                 .progressing_threshold(Duration::from_secs(300)),
//!         ),
//!     ]);
//! let manager = extension_framework::Manager::new("gardener-extension-runtime-gvisor").with(checks);
//! assert!(manager.controller_names().contains(&"healthcheck-containerruntime".to_string()));
//! ```
//! * This module: the [`HealthCheck`] trait and the controller ([`HealthCheckRegistration`]).

mod checks;
mod condition;

pub use checks::{ManagedResourceCheck, WorkloadCheck};
pub use condition::{
    REASON_CHECK_ERROR, REASON_PROGRESSING, REASON_SUCCESSFUL, REASON_UNSUCCESSFUL, Verdict,
    aggregate, build_condition, unsuccessful_details,
};

use crate::Error;
use crate::actuator::ClusterContext;
use crate::cache::SeedCache;
use crate::cluster::lookup_cluster;
use crate::kind::{ClusterPolicy, ExtensionKind};
use crate::metrics::ControllerMetrics;
use crate::operation::operation_annotation;
use crate::runtime::{RunEnv, Runnable, SharedWatches};
use crate::shared_watch::Follower;
use async_trait::async_trait;
use futures::StreamExt;
use gardener_api::constants::OPERATION_MIGRATE;
use gardener_api::extensions::{
    Condition, ConditionStatus, ErrorCode, ExtensionClass, LastOperationType,
};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;
use kube::api::{Api, PostParams};
use kube::runtime::controller::{Action, Controller};
use kube::runtime::{WatchStreamExt, predicates, reflector, watcher};
use kube::{Client, ResourceExt};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::watch;

/// The result of one check.
#[derive(Clone, Debug, PartialEq)]
pub struct CheckResult {
    /// `True`, `False` or `Progressing`.
    pub status: ConditionStatus,
    /// What is wrong (empty when healthy).
    pub detail: String,
    /// Error codes for the condition.
    pub codes: Vec<ErrorCode>,
    /// For `Progressing`: how long progressing may last before it counts as `False`.
    pub progressing_threshold: Option<Duration>,
}

impl CheckResult {
    /// Healthy.
    pub fn healthy() -> Self {
        Self {
            status: ConditionStatus::True,
            detail: String::new(),
            codes: Vec::new(),
            progressing_threshold: None,
        }
    }

    /// Unhealthy with a detail.
    pub fn unhealthy(detail: impl Into<String>) -> Self {
        Self {
            status: ConditionStatus::False,
            detail: detail.into(),
            ..Self::healthy()
        }
    }
}

/// What a check gets.
pub struct CheckContext {
    /// Seed client.
    pub client: Client,
    /// Namespace of the extension object.
    pub namespace: String,
    /// The Cluster, for shoot-class objects.
    pub cluster: Option<ClusterContext>,
    /// The checked extension object as read (e.g. for a check that depends on its spec).
    pub object: serde_json::Value,
    /// ManagedResource reads, through the process's cache where it holds them.
    pub managed_resources: crate::managed_resources::ManagedResources,
}

/// One health check contributing to a condition.
#[async_trait]
pub trait HealthCheck: Send + Sync + 'static {
    /// Runs the check; an error means "could not execute", not "unhealthy".
    async fn check(&self, ctx: &CheckContext) -> Result<CheckResult, Error>;
}

/// A health-check controller for objects of kind `K` and one type.
pub struct HealthCheckRegistration<K: ExtensionKind> {
    name: String,
    type_: String,
    sync_period: Duration,
    conditions: Vec<(String, Vec<Arc<dyn HealthCheck>>)>,
    remove: Vec<String>,
    /// The kind's shared watch, followed when a lifecycle controller leads it.
    watch: Option<Follower<K>>,
}

impl<K: ExtensionKind> HealthCheckRegistration<K> {
    /// Health checks for objects of `type_`, every `sync_period` (typically 30 s).
    pub fn new(type_: &str, sync_period: Duration) -> Self {
        Self {
            name: format!("healthcheck-{}", K::CONTROLLER_NAME),
            type_: type_.into(),
            sync_period,
            conditions: Vec::new(),
            remove: Vec::new(),
            watch: None,
        }
    }

    /// Adds checks for a condition type.
    pub fn condition(mut self, type_: &str, checks: Vec<Arc<dyn HealthCheck>>) -> Self {
        self.conditions.push((type_.into(), checks));
        self
    }

    /// Condition types to drop from the object (no longer reported).
    pub fn remove_conditions(mut self, types: &[&str]) -> Self {
        self.remove = types.iter().map(|t| t.to_string()).collect();
        self
    }
}

struct HealthShared<K: ExtensionKind> {
    registration: HealthCheckRegistration<K>,
    client: Client,
    cache: SeedCache,
    metrics: ControllerMetrics,
}

/// One health reconcile; returns the next action.
async fn check_object<K: ExtensionKind>(
    object: Arc<K>,
    shared: Arc<HealthShared<K>>,
) -> Result<Action, Error> {
    let reg = &shared.registration;
    let api: Api<K> = Api::namespaced(
        shared.client.clone(),
        &object.namespace().unwrap_or_default(),
    );
    // The watch's copy, as Go's cached read: no request per object and period. The status update
    // below carries its resourceVersion, so a copy that lags is a conflict and a retry, never an
    // overwrite.
    let object = K::clone(&object);
    let migrating = operation_annotation(object.meta()) == Some(OPERATION_MIGRATE)
        || object
            .default_status()
            .and_then(|s| s.last_operation.as_ref())
            .is_some_and(|l| l.type_ == LastOperationType::Migrate);
    if object.meta().deletion_timestamp.is_some() || migrating {
        return Ok(Action::await_change());
    }
    let namespace = object.namespace().unwrap_or_default();
    let previous: Vec<Condition> = object
        .default_status()
        .and_then(|s| s.conditions.clone())
        .unwrap_or_default()
        .into_iter()
        .filter(|c| !reg.remove.contains(&c.type_))
        .collect();
    let shoot_class = object.default_spec().class_or_default() == ExtensionClass::Shoot;
    let cluster = if shoot_class {
        lookup_cluster(&shared.cache, &namespace, ClusterPolicy::Required)
            .await
            .map_err(Error::new)?
    } else {
        None
    };
    let now = k8s_openapi::jiff::Timestamp::now();
    let find = |t: &str| previous.iter().find(|c| c.type_ == t);
    let hibernated = cluster
        .as_ref()
        .is_some_and(ClusterContext::is_hibernation_enabled);
    let mut conditions: Vec<Condition> = previous
        .iter()
        .filter(|c| !reg.conditions.iter().any(|(t, _)| *t == c.type_))
        .cloned()
        .collect();
    let ctx = CheckContext {
        client: shared.client.clone(),
        namespace,
        cluster,
        object: serde_json::to_value(&object)?,
        managed_resources: crate::managed_resources::ManagedResources::new(
            shared.client.clone(),
            Some(shared.cache.clone()),
        ),
    };
    for (type_, checks) in &reg.conditions {
        let verdict = if hibernated {
            Verdict::hibernated()
        } else {
            let runs = checks.iter().map(|c| async {
                match tokio::time::timeout(reg.sync_period, c.check(&ctx)).await {
                    Ok(Ok(r)) => Ok(r),
                    Ok(Err(e)) => Err(e.to_string()),
                    Err(_) => Err("health check timed out".to_string()),
                }
            });
            let results = futures::future::join_all(runs).await;
            aggregate(&results, find(type_), now)
        };
        conditions.push(build_condition(type_, find(type_), verdict, Time(now)));
    }
    // A full status update (optimistic locking), as upstream's Status().Update().
    let mut value = serde_json::to_value(&object)?;
    value["status"]["conditions"] = serde_json::to_value(&conditions)?;
    let updated: K = serde_json::from_value(value)?;
    if object.default_status().and_then(|s| s.conditions.as_ref()) != Some(&conditions) {
        api.replace_status(&object.name_any(), &PostParams::default(), &updated)
            .await?;
    }
    Ok(if hibernated {
        Action::await_change()
    } else {
        Action::requeue(reg.sync_period)
    })
}

/// A watch of the kind for the health checks alone (no lifecycle controller of the kind runs).
fn own_watch<K: ExtensionKind>(
    env: &RunEnv,
    name: &str,
    keep: impl Fn(&K) -> bool + Send + 'static,
) -> Controller<K> {
    let (reader, writer) = reflector::store::<K>();
    let (synced, synced_rx) = watch::channel(false);
    env.readiness.track(synced_rx);
    let stream = crate::watch::objects::<K>(
        env.client.clone(),
        watcher::Config::default(),
        name.to_string(),
    )
    .reflect(writer)
    .map(move |e| {
        if matches!(e, Ok(watcher::Event::InitDone)) {
            let _ = synced.send(true);
        }
        e
    })
    .touched_objects()
    .predicate_filter(predicates::generation, Default::default())
    .filter(move |o: &Result<K, _>| futures::future::ready(o.as_ref().map_or(true, &keep)));
    Controller::for_stream(stream, reader)
}

#[async_trait]
impl<K: ExtensionKind> Runnable for HealthCheckRegistration<K> {
    fn name(&self) -> &str {
        &self.name
    }

    /// Upstream binaries have one `--healthcheck-max-concurrent-reconciles` for their health checks.
    fn flag_prefix(&self) -> &str {
        "healthcheck"
    }

    fn register(&mut self, watches: &SharedWatches) {
        self.watch = Some(watches.follow::<K>());
    }

    async fn run(mut self: Box<Self>, env: RunEnv, mut stop: watch::Receiver<bool>) {
        let metrics = env.metrics.controller(&self.name, env.concurrency);
        let type_ = self.type_.clone();
        let classes = env.options.classes();
        let keep = move |o: &K| {
            o.default_spec().type_ == type_
                && classes.contains(&o.default_spec().class_or_default())
        };
        let controller = match self.watch.take() {
            // The lifecycle controller's watch and store (it tracks their readiness).
            Some(follower) if env.watches.is_led::<K>() => {
                let reader = follower.reader.clone();
                Controller::for_shared_stream(follower.changed_generations(keep), reader)
            }
            _ => own_watch(&env, &self.name, keep),
        };
        let shared = Arc::new(HealthShared {
            registration: *self,
            client: env.client.clone(),
            cache: env.cache.clone(),
            metrics,
        });
        let concurrency = u16::try_from(env.concurrency).unwrap_or(u16::MAX);
        controller
            .with_config(kube::runtime::controller::Config::default().concurrency(concurrency))
            .graceful_shutdown_on(async move {
                let _ = stop.wait_for(|s| *s).await;
            })
            .run(
                |o, s: Arc<HealthShared<K>>| async move {
                    let key = kube::runtime::reflector::ObjectRef::from_obj(o.as_ref()).to_string();
                    let result = s.metrics.measure(&key, check_object(o, s.clone())).await;
                    match &result {
                        Ok(_) => s.metrics.success.inc(),
                        Err(_) => s.metrics.count_error(),
                    }
                    result
                },
                |o, e: &Error, s: Arc<HealthShared<K>>| {
                    tracing::error!(
                        controller = %s.registration.name,
                        kind = K::KIND,
                        name = %o.name_any(),
                        namespace = %o.namespace().unwrap_or_default(),
                        error = %crate::watch::error_chain(e),
                        "Health check failed"
                    );
                    Action::requeue(s.registration.sync_period)
                },
                shared,
            )
            .for_each(|_| futures::future::ready(()))
            .await;
    }
}
