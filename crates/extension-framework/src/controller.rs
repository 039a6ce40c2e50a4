//! Wiring of one extension controller on kube-runtime: watch, admission filter, queue with
//! controller-runtime's backoff, the 3-minute deadline, panic containment and metrics.

use crate::Error;
use crate::kind::ExtensionKind;
use crate::metrics::ControllerMetrics;
use crate::predicate::{EventFilter, Mode};
use crate::reconciler::{Outcome, Reconciler};
use crate::shared_watch::Leader;
use futures::{FutureExt, StreamExt};
use gardener_api::extensions::ExtensionClass;
use kube::ResourceExt;
use kube::runtime::controller::{Action, Config as ControllerConfig, Controller};
use kube::runtime::reflector::ObjectRef;
use kube::runtime::{WatchStreamExt, watcher};
use std::collections::HashMap;
use std::panic::AssertUnwindSafe;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::sync::watch;

/// Reconcile deadline (`DefaultReconciliationTimeout`).
pub const RECONCILE_TIMEOUT: Duration = Duration::from_secs(180);

/// controller-runtime's per-item exponential backoff: 5 ms · 2^failures, capped at 1000 s.
#[derive(Default)]
pub struct Backoff {
    failures: Mutex<HashMap<String, u32>>,
}

impl Backoff {
    /// The delay before retrying `key` after one more failure.
    pub fn next(&self, key: &str) -> Duration {
        let mut failures = self.failures.lock().unwrap_or_else(|p| p.into_inner());
        let n = failures.entry(key.to_string()).or_insert(0);
        let delay = Duration::from_millis(5).saturating_mul(2u32.saturating_pow(*n));
        *n = n.saturating_add(1);
        delay.min(Duration::from_secs(1000))
    }

    /// Forgets failures of `key` (after a success).
    pub fn reset(&self, key: &str) {
        self.failures
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .remove(key);
    }
}

/// Settings of one controller.
#[derive(Clone, Debug)]
pub struct ControllerSettings {
    /// Name (metric label).
    pub name: String,
    /// Types served (empty = any).
    pub types: Vec<String>,
    /// Classes served (empty = shoot).
    pub classes: Vec<ExtensionClass>,
    /// Generation-changed admission instead of operation annotations.
    pub ignore_operation_annotation: bool,
    /// Parallel reconciles of distinct objects.
    pub max_concurrent_reconciles: usize,
    /// Deadline of one reconcile.
    pub timeout: Duration,
}

/// Why a reconcile failed (for the error policy).
#[derive(Debug, thiserror::Error)]
pub enum ReconcileFailure {
    /// The actuator or an API call failed.
    #[error("{0}")]
    Failed(Error),
    /// The deadline passed.
    #[error("reconcile timed out after {0:?}")]
    Timeout(Duration),
    /// The framework itself panicked (actuator panics are contained earlier).
    #[error("reconciler panicked")]
    Panic,
}

struct Shared<K: ExtensionKind> {
    reconciler: Reconciler<K>,
    filter: Arc<EventFilter>,
    settings: ControllerSettings,
    metrics: ControllerMetrics,
    backoff: Backoff,
    pending: Mutex<HashMap<String, Instant>>,
}

fn key_of<K: ExtensionKind>(object: &K) -> String {
    ObjectRef::from_obj(object).to_string()
}

async fn reconcile<K: ExtensionKind>(
    object: Arc<K>,
    shared: Arc<Shared<K>>,
) -> Result<Action, ReconcileFailure> {
    let key = key_of(object.as_ref());
    let m = &shared.metrics;
    if let Some(enqueued) = shared
        .pending
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .remove(&key)
    {
        m.queue_duration.observe(enqueued.elapsed().as_secs_f64());
        m.depth.dec();
    }
    shared.filter.begin(&key);
    let run = m
        .measure(
            &key,
            AssertUnwindSafe(tokio::time::timeout(
                shared.settings.timeout,
                shared.reconciler.reconcile(object),
            ))
            .catch_unwind(),
        )
        .await;
    let changed_meanwhile = shared.filter.end(&key);
    let result = match run {
        Err(_) => {
            m.panics.inc();
            Err(ReconcileFailure::Panic)
        }
        Ok(Err(_)) => {
            m.timeouts.inc();
            Err(ReconcileFailure::Timeout(shared.settings.timeout))
        }
        Ok(Ok(Err(e))) => Err(ReconcileFailure::Failed(e)),
        Ok(Ok(Ok(outcome))) => Ok(outcome),
    };
    match result {
        Ok(outcome) => {
            shared.backoff.reset(&key);
            match outcome {
                // Someone else changed the object while we worked on it: go again.
                Outcome::Done if changed_meanwhile => {
                    m.requeue.inc();
                    Ok(Action::requeue(Duration::ZERO))
                }
                Outcome::Done => {
                    m.success.inc();
                    Ok(Action::await_change())
                }
                Outcome::RequeueAfter(d) | Outcome::RequeueAfterError(d) => {
                    m.requeue_after.inc();
                    Ok(Action::requeue(d))
                }
            }
        }
        Err(e) => {
            m.count_error();
            Err(e)
        }
    }
}

fn error_policy<K: ExtensionKind>(
    object: Arc<K>,
    error: &ReconcileFailure,
    shared: Arc<Shared<K>>,
) -> Action {
    let key = key_of(object.as_ref());
    let delay = shared.backoff.next(&key);
    shared.metrics.retries.inc();
    tracing::error!(
        controller = %shared.settings.name,
        kind = K::KIND,
        name = %object.name_any(),
        namespace = %object.namespace().unwrap_or_default(),
        error = %crate::watch::error_chain(error),
        requeue_after = ?delay,
        "Reconciler error"
    );
    Action::requeue(delay)
}

/// Runs the controller until `stop` turns true. `synced` turns true once the first list is done.
///
/// Cluster changes enqueue nothing, also with `--ignore-operation-annotation`: in Go the Cluster
/// watch's events pass the predicates as generic events, which `ShootNotFailedPredicate` rejects.
pub(crate) async fn run<K: ExtensionKind>(
    watch: Leader<K>,
    reconciler: Reconciler<K>,
    settings: ControllerSettings,
    metrics: ControllerMetrics,
    synced: watch::Sender<bool>,
    mut stop: watch::Receiver<bool>,
) {
    // The kind's watch: shared with the health checks when this controller leads it.
    let Leader {
        reader,
        writer,
        publisher,
    } = watch;
    let (client, cache) = (reconciler.client().clone(), reconciler.cache().clone());
    let mode = if settings.ignore_operation_annotation {
        Mode::GenerationChanged
    } else {
        Mode::OperationAnnotation
    };
    let filter = Arc::new(EventFilter::new(
        mode,
        settings.classes.clone(),
        settings.types.clone(),
    ));
    let mut reconciler = reconciler;
    reconciler.own_writes = Some(filter.own_writes());
    reconciler.watched = Some(reader.clone());
    let shared = Arc::new(Shared {
        reconciler,
        filter: filter.clone(),
        settings: settings.clone(),
        metrics: metrics.clone(),
        backoff: Backoff::default(),
        pending: Mutex::new(HashMap::new()),
    });
    let admitted = {
        let (filter, shared) = (filter.clone(), shared.clone());
        crate::watch::objects::<K>(client, watcher::Config::default(), settings.name.clone())
            .reflect(writer)
            .inspect(move |event| match event {
                Ok(
                    watcher::Event::Apply(o)
                    | watcher::Event::InitApply(o)
                    | watcher::Event::Delete(o),
                ) => publisher.publish(o),
                Ok(watcher::Event::InitDone) => publisher.relisted(),
                _ => {}
            })
            .filter_map(move |event| {
                let (cache, filter, shared, synced) = (
                    cache.clone(),
                    filter.clone(),
                    shared.clone(),
                    synced.clone(),
                );
                async move {
                    match event.ok()? {
                        watcher::Event::Apply(o) | watcher::Event::InitApply(o) => {
                            if !filter.admit(&cache, &o).await {
                                return None;
                            }
                            let mut pending =
                                shared.pending.lock().unwrap_or_else(|p| p.into_inner());
                            shared.metrics.adds.inc();
                            if pending.insert(key_of(&o), Instant::now()).is_none() {
                                shared.metrics.depth.inc();
                            }
                            Some(Ok::<_, watcher::Error>(o))
                        }
                        watcher::Event::Delete(o) => {
                            filter.forget(&o);
                            None
                        }
                        watcher::Event::InitDone => {
                            let _ = synced.send(true);
                            None
                        }
                        watcher::Event::Init => None,
                    }
                }
            })
    };
    let controller =
        Controller::for_stream(admitted, reader.clone())
            .with_config(ControllerConfig::default().concurrency(
                u16::try_from(settings.max_concurrent_reconciles).unwrap_or(u16::MAX),
            ));
    // The in-progress gauges grow while reconciles run; refresh them between changes.
    let ticker = {
        let (metrics, mut stop) = (metrics.clone(), stop.clone());
        tokio::spawn(async move {
            let mut every = tokio::time::interval(Duration::from_millis(500));
            loop {
                tokio::select! {
                    _ = every.tick() => metrics.refresh(),
                    _ = stop.wait_for(|s| *s) => return,
                }
            }
        })
    };
    let shutdown = async move {
        let _ = stop.wait_for(|s| *s).await;
    };
    controller
        .graceful_shutdown_on(shutdown)
        .run(reconcile::<K>, error_policy::<K>, shared)
        .for_each(|_| futures::future::ready(()))
        .await;
    ticker.abort();
}
