//! Built-in checks: a ManagedResource, and a Deployment or DaemonSet in the shoot.
//!
//! Extensions deliver shoot objects through ManagedResources and hold no shoot credentials, so the
//! workload checks read what gardener-resource-manager reports: the object must be listed in the
//! ManagedResource's `status.resources`, and GRM's `ResourcesHealthy`/`ResourcesProgressing`
//! conditions must not name it. GRM checks Deployments and DaemonSets as upstream's
//! `general/deployment.go` and `general/daemonset.go` do (replicas updated, available, no
//! unavailable pods), and names the object as `Kind "namespace/name"` in its messages.

use super::{CheckContext, CheckResult, HealthCheck};
use crate::Error;
use crate::managed_resources::{is_configuration_problem, unhealthy_reason};
use async_trait::async_trait;
use gardener_api::extensions::{ConditionStatus, ErrorCode};
use gardener_api::resources::{ManagedResource, RESOURCES_HEALTHY, RESOURCES_PROGRESSING};
use std::time::Duration;

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

async fn read(
    ctx: &CheckContext,
    name: &str,
) -> Result<Result<ManagedResource, CheckResult>, Error> {
    let read = ctx.managed_resources.get(&ctx.namespace, name).await?;
    Ok(read.ok_or_else(|| {
        CheckResult::unhealthy(format!(
            "Managed Resource {name:?} in namespace {:?} not found",
            ctx.namespace
        ))
    }))
}

fn unhealthy_with_codes(detail: String) -> CheckResult {
    let mut result = CheckResult::unhealthy(detail.clone());
    if is_configuration_problem(&detail) {
        result.codes.push(ErrorCode::ConfigurationProblem);
    }
    result
}

#[async_trait]
impl HealthCheck for ManagedResourceCheck {
    async fn check(&self, ctx: &CheckContext) -> Result<CheckResult, Error> {
        let mr = match read(ctx, &self.name).await? {
            Ok(mr) => mr,
            Err(missing) => return Ok(missing),
        };
        Ok(match unhealthy_reason(&mr) {
            None => CheckResult::healthy(),
            Some(reason) => unhealthy_with_codes(reason),
        })
    }
}

/// A workload in the shoot, checked through the ManagedResource that delivers it.
pub struct WorkloadCheck {
    managed_resource: String,
    kind: &'static str,
    namespace: String,
    name: String,
    progressing_threshold: Option<Duration>,
}

impl WorkloadCheck {
    /// The Deployment `namespace/name` in the shoot, delivered by `managed_resource`.
    pub fn deployment(managed_resource: &str, namespace: &str, name: &str) -> Self {
        Self::new("Deployment", managed_resource, namespace, name)
    }

    /// The DaemonSet `namespace/name` in the shoot, delivered by `managed_resource`.
    pub fn daemon_set(managed_resource: &str, namespace: &str, name: &str) -> Self {
        Self::new("DaemonSet", managed_resource, namespace, name)
    }

    fn new(kind: &'static str, managed_resource: &str, namespace: &str, name: &str) -> Self {
        Self {
            managed_resource: managed_resource.into(),
            kind,
            namespace: namespace.into(),
            name: name.into(),
            progressing_threshold: None,
        }
    }

    /// A rollout may be `Progressing` this long before the condition turns `False` (default: a
    /// rollout is `False` at once, as upstream's workload checks report no progress).
    pub fn progressing_threshold(mut self, threshold: Duration) -> Self {
        self.progressing_threshold = Some(threshold);
        self
    }

    fn reference(&self) -> String {
        format!("{}/{}", self.namespace, self.name)
    }

    fn listed(&self, mr: &ManagedResource) -> bool {
        mr.status
            .as_ref()
            .and_then(|s| s.resources.as_ref())
            .is_some_and(|resources| {
                resources.iter().any(|r| {
                    r.kind.as_deref() == Some(self.kind)
                        && r.name.as_deref() == Some(self.name.as_str())
                        && r.namespace.as_deref().unwrap_or_default() == self.namespace
                })
            })
    }

    /// What GRM's condition of `type_` says about this object, if it names it and is not healthy.
    fn named_in(&self, mr: &ManagedResource, type_: &str, bad: ConditionStatus) -> Option<String> {
        let quoted = format!("{:?}", self.reference());
        mr.condition(type_)
            .filter(|c| c.status == bad && c.message.contains(&quoted))
            .map(|c| c.message.clone())
    }
}

#[async_trait]
impl HealthCheck for WorkloadCheck {
    async fn check(&self, ctx: &CheckContext) -> Result<CheckResult, Error> {
        let mr = match read(ctx, &self.managed_resource).await? {
            Ok(mr) => mr,
            Err(missing) => return Ok(missing),
        };
        if !self.listed(&mr) {
            return Ok(CheckResult::unhealthy(format!(
                "{} {:?} is not (yet) applied by managed resource {:?}",
                self.kind,
                self.reference(),
                self.managed_resource
            )));
        }
        if let Some(message) = self.named_in(&mr, RESOURCES_HEALTHY, ConditionStatus::False) {
            return Ok(unhealthy_with_codes(message));
        }
        if let Some(message) = self.named_in(&mr, RESOURCES_PROGRESSING, ConditionStatus::True) {
            return Ok(CheckResult {
                status: ConditionStatus::Progressing,
                detail: message,
                codes: Vec::new(),
                progressing_threshold: self.progressing_threshold,
            });
        }
        Ok(CheckResult::healthy())
    }
}
