//! Health checks: conditions such as `SystemComponentsHealthy` on extension objects, refreshed every
//! sync period (gardener-contract §6.2). gardenlet copies them into the Shoot's conditions.

use crate::Error;
use crate::actuator::ClusterContext;
use crate::kind::ExtensionKind;
use crate::managed_resources::{is_configuration_problem, unhealthy_reason};
use crate::metrics::ControllerMetrics;
use crate::operation::operation_annotation;
use crate::reconciler::lookup_cluster;
use crate::runtime::{RunEnv, Runnable};
use async_trait::async_trait;
use futures::StreamExt;
use gardener_api::constants::OPERATION_MIGRATE;
use gardener_api::extensions::{
    Condition, ConditionStatus, ErrorCode, ExtensionClass, LastOperationType,
};
use gardener_api::resources::ManagedResource;
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
}

/// One health check contributing to a condition.
#[async_trait]
pub trait HealthCheck: Send + Sync + 'static {
    /// Runs the check; an error means "could not execute", not "unhealthy".
    async fn check(&self, ctx: &CheckContext) -> Result<CheckResult, Error>;
}

/// Checks a ManagedResource in the object's namespace (`general/managed_resource.go`).
pub struct ManagedResourceCheck {
    name: String,
}

impl ManagedResourceCheck {
    /// Checks the ManagedResource `name`.
    pub fn new(name: impl Into<String>) -> Self {
        Self { name: name.into() }
    }
}

#[async_trait]
impl HealthCheck for ManagedResourceCheck {
    async fn check(&self, ctx: &CheckContext) -> Result<CheckResult, Error> {
        let api: Api<ManagedResource> = Api::namespaced(ctx.client.clone(), &ctx.namespace);
        let Some(mr) = api.get_opt(&self.name).await? else {
            return Ok(CheckResult::unhealthy(format!(
                "Managed Resource {:?} in namespace {:?} not found",
                self.name, ctx.namespace
            )));
        };
        Ok(match unhealthy_reason(&mr) {
            None => CheckResult::healthy(),
            Some(reason) => {
                let mut result = CheckResult::unhealthy(reason.clone());
                if is_configuration_problem(&reason) {
                    result.codes.push(ErrorCode::ConfigurationProblem);
                }
                result
            }
        })
    }
}

/// Reason of a successful condition.
pub const REASON_SUCCESSFUL: &str = "HealthCheckSuccessful";
/// Reason of a failed condition.
pub const REASON_UNSUCCESSFUL: &str = "HealthCheckUnsuccessful";
/// Reason of a progressing condition.
pub const REASON_PROGRESSING: &str = "HealthCheckProgressing";
/// Reason when checks could not run.
pub const REASON_CHECK_ERROR: &str = "ConditionCheckError";

/// `"<detail>."` for one detail, `"1) a. 2) b."` for several.
pub fn format_details(details: &[String]) -> String {
    let dot = |d: &str| {
        if d.ends_with('.') {
            d.to_string()
        } else {
            format!("{d}.")
        }
    };
    match details {
        [one] => dot(one),
        many => many
            .iter()
            .enumerate()
            .map(|(i, d)| format!("{}) {}", i + 1, dot(d)))
            .collect::<Vec<_>>()
            .join(" "),
    }
}

/// The condition fields a set of check results produces (before the condition builder).
#[derive(Clone, Debug, PartialEq)]
pub struct Verdict {
    /// Status.
    pub status: ConditionStatus,
    /// Reason.
    pub reason: String,
    /// Message.
    pub message: String,
    /// Codes.
    pub codes: Vec<ErrorCode>,
}

/// Aggregates the results of one condition's checks with upstream's precedence.
pub fn aggregate(
    results: &[Result<CheckResult, String>],
    previous: Option<&Condition>,
    now: k8s_openapi::jiff::Timestamp,
) -> Verdict {
    let errors: Vec<String> = results
        .iter()
        .filter_map(|r| r.as_ref().err().cloned())
        .collect();
    let ok: Vec<&CheckResult> = results.iter().filter_map(|r| r.as_ref().ok()).collect();
    let failed: Vec<&CheckResult> = ok
        .iter()
        .copied()
        .filter(|r| r.status == ConditionStatus::False)
        .collect();
    let progressing: Vec<&CheckResult> = ok
        .iter()
        .copied()
        .filter(|r| r.status == ConditionStatus::Progressing)
        .collect();
    let codes = |rs: &[&CheckResult]| {
        rs.iter()
            .flat_map(|r| r.codes.iter().copied())
            .collect::<Vec<_>>()
    };
    if !errors.is_empty() {
        return Verdict {
            status: ConditionStatus::Unknown,
            reason: REASON_CHECK_ERROR.into(),
            message: format!(
                "failed to execute {} health check(s): {}",
                errors.len(),
                format_details(&errors)
            ),
            codes: Vec::new(),
        };
    }
    if !failed.is_empty() {
        let details: Vec<String> = failed.iter().map(|r| r.detail.clone()).collect();
        let message = if progressing.is_empty() {
            format_details(&details)
        } else {
            let progressing_details: Vec<String> =
                progressing.iter().map(|r| r.detail.clone()).collect();
            format!(
                "{} failing and {} progressing check(s): Failed check(s): {} Progressing check(s): {}",
                failed.len(),
                progressing.len(),
                format_details(&details),
                format_details(&progressing_details)
            )
        };
        return Verdict {
            status: ConditionStatus::False,
            reason: REASON_UNSUCCESSFUL.into(),
            message,
            codes: codes(&failed),
        };
    }
    if !progressing.is_empty() {
        let details: Vec<String> = progressing.iter().map(|r| r.detail.clone()).collect();
        let threshold = progressing
            .iter()
            .filter_map(|r| r.progressing_threshold)
            .min();
        let within_threshold = threshold.is_some_and(|t| match previous {
            None => true,
            Some(p) if p.status == ConditionStatus::True => true,
            Some(p) if p.status == ConditionStatus::False => false,
            Some(p) => now.duration_since(p.last_transition_time.0).unsigned_abs() <= t,
        });
        let (status, reason) = if within_threshold {
            (ConditionStatus::Progressing, REASON_PROGRESSING)
        } else {
            (ConditionStatus::False, REASON_UNSUCCESSFUL)
        };
        return Verdict {
            status,
            reason: reason.into(),
            message: format_details(&details),
            codes: codes(&progressing),
        };
    }
    Verdict {
        status: ConditionStatus::True,
        reason: REASON_SUCCESSFUL.into(),
        message: "All health checks successful".into(),
        codes: Vec::new(),
    }
}

/// Gardener's condition builder: `lastTransitionTime` moves only when the status changes,
/// `lastUpdateTime` when reason, message or codes change.
pub fn build_condition(
    type_: &str,
    previous: Option<&Condition>,
    verdict: Verdict,
    now: Time,
) -> Condition {
    let reason = if verdict.reason.is_empty() {
        "Unspecified".to_string()
    } else {
        verdict.reason
    };
    let message = if verdict.message.is_empty() {
        "No message given.".to_string()
    } else {
        verdict.message
    };
    let codes = (!verdict.codes.is_empty()).then_some(verdict.codes);
    match previous {
        None => Condition {
            type_: type_.into(),
            status: verdict.status,
            last_transition_time: now.clone(),
            last_update_time: now,
            reason,
            message,
            codes,
        },
        Some(p) => {
            let transition = if p.status != verdict.status {
                now.clone()
            } else {
                p.last_transition_time.clone()
            };
            let update = if p.status != verdict.status
                || p.reason != reason
                || p.message != message
                || p.codes != codes
            {
                now
            } else {
                p.last_update_time.clone()
            };
            Condition {
                type_: type_.into(),
                status: verdict.status,
                last_transition_time: transition,
                last_update_time: update,
                reason,
                message,
                codes,
            }
        }
    }
}

/// A health-check controller for objects of kind `K` and one type.
pub struct HealthCheckRegistration<K: ExtensionKind> {
    name: String,
    type_: String,
    sync_period: Duration,
    conditions: Vec<(String, Vec<Arc<dyn HealthCheck>>)>,
    remove: Vec<String>,
    _kind: std::marker::PhantomData<fn() -> K>,
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
            _kind: std::marker::PhantomData,
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
    let Some(object) = api.get_opt(&object.name_any()).await? else {
        return Ok(Action::requeue(reg.sync_period));
    };
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
        lookup_cluster(
            &shared.client,
            &namespace,
            crate::kind::ClusterPolicy::Required,
        )
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
    };
    for (type_, checks) in &reg.conditions {
        let verdict = if hibernated {
            Verdict {
                status: ConditionStatus::True,
                reason: REASON_SUCCESSFUL.into(),
                message: "Shoot is hibernated".into(),
                codes: Vec::new(),
            }
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

#[async_trait]
impl<K: ExtensionKind> Runnable for HealthCheckRegistration<K> {
    fn name(&self) -> &str {
        &self.name
    }

    async fn run(self: Box<Self>, env: RunEnv, mut stop: watch::Receiver<bool>) {
        let metrics = env.metrics.controller(&self.name, env.concurrency);
        let type_ = self.type_.clone();
        let classes = if env.options.extension_classes.is_empty() {
            vec![ExtensionClass::Shoot]
        } else {
            env.options.extension_classes.clone()
        };
        let api: Api<K> = Api::all(env.client.clone());
        let (reader, writer) = reflector::store::<K>();
        let (synced, synced_rx) = watch::channel(false);
        env.readiness.track(synced_rx);
        let stream = watcher(api, watcher::Config::default())
            .default_backoff()
            .modify(|o: &mut K| o.meta_mut().managed_fields = None)
            .reflect(writer)
            .map(move |e| {
                if matches!(e, Ok(watcher::Event::InitDone)) {
                    let _ = synced.send(true);
                }
                e
            })
            .touched_objects()
            .predicate_filter(predicates::generation, Default::default())
            .filter(move |o: &Result<K, _>| {
                let keep = o.as_ref().map_or(true, |o| {
                    o.default_spec().type_ == type_
                        && classes.contains(&o.default_spec().class_or_default())
                });
                futures::future::ready(keep)
            });
        let shared = Arc::new(HealthShared {
            registration: *self,
            client: env.client.clone(),
            metrics,
        });
        let concurrency = u16::try_from(env.concurrency).unwrap_or(u16::MAX);
        Controller::for_stream(stream, reader)
            .with_config(kube::runtime::controller::Config::default().concurrency(concurrency))
            .graceful_shutdown_on(async move {
                let _ = stop.wait_for(|s| *s).await;
            })
            .run(
                |o, s: Arc<HealthShared<K>>| async move {
                    let key = kube::runtime::reflector::ObjectRef::from_obj(o.as_ref()).to_string();
                    s.metrics.begin_work(&key);
                    let result = check_object(o, s.clone()).await;
                    s.metrics.end_work(&key);
                    match &result {
                        Ok(_) => s.metrics.success.inc(),
                        Err(_) => {
                            s.metrics.error.inc();
                            s.metrics.errors.inc();
                        }
                    }
                    result
                },
                |_, e: &Error, s: Arc<HealthShared<K>>| {
                    tracing::error!(error = %e, "Health check failed");
                    Action::requeue(s.registration.sync_period)
                },
                shared,
            )
            .for_each(|_| futures::future::ready(()))
            .await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn details_are_formatted_like_upstream() {
        assert_eq!(format_details(&["a".into()]), "a.");
        assert_eq!(format_details(&["a".into(), "b.".into()]), "1) a. 2) b.");
    }

    #[test]
    fn precedence_and_progressing_threshold() {
        let now = k8s_openapi::jiff::Timestamp::now();
        let progressing = CheckResult {
            status: ConditionStatus::Progressing,
            detail: "rolling".into(),
            codes: vec![],
            progressing_threshold: Some(Duration::from_secs(60)),
        };
        assert_eq!(
            aggregate(&[Ok(CheckResult::healthy()), Err("x".into())], None, now).status,
            ConditionStatus::Unknown
        );
        assert_eq!(
            aggregate(
                &[Ok(CheckResult::unhealthy("down")), Ok(progressing.clone())],
                None,
                now
            )
            .status,
            ConditionStatus::False
        );
        assert_eq!(
            aggregate(&[Ok(progressing.clone())], None, now).status,
            ConditionStatus::Progressing
        );
        let old = Condition {
            type_: "X".into(),
            status: ConditionStatus::Progressing,
            last_transition_time: Time(now - k8s_openapi::jiff::SignedDuration::from_secs(120)),
            last_update_time: Time(now),
            reason: String::new(),
            message: String::new(),
            codes: None,
        };
        assert_eq!(
            aggregate(&[Ok(progressing)], Some(&old), now).status,
            ConditionStatus::False,
            "progressing longer than the threshold"
        );
    }
}
