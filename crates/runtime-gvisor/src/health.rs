//! `SystemComponentsHealthy` for gvisor ContainerRuntimes: the base ManagedResource, the pool's
//! installation ManagedResource and the installer DaemonSet it delivers. (Upstream registers no
//! check at all.)

use crate::actuator::{BASE_MR, installation_mr};
use crate::manifests::NAMESPACE;
use async_trait::async_trait;
use extension_framework::Error;
use extension_framework::healthcheck::{
    CheckContext, CheckResult, HealthCheck, HealthCheckRegistration, ManagedResourceCheck,
    WorkloadCheck,
};
use gardener_api::extensions::{ConditionStatus, ContainerRuntime};
use std::sync::Arc;
use std::time::Duration;

/// The condition gardenlet propagates into the shoot's `SystemComponentsHealthy`.
pub const CONDITION: &str = "SystemComponentsHealthy";
/// How often health is checked.
pub const SYNC_PERIOD: Duration = Duration::from_secs(30);
/// How long an installer rollout may take before it counts as failed.
pub const ROLLOUT_THRESHOLD: Duration = Duration::from_secs(300);

/// The pool's installation: its ManagedResource, then the installer DaemonSet it delivers (a
/// rollout may progress for [`ROLLOUT_THRESHOLD`]).
pub struct InstallationCheck;

#[async_trait]
impl HealthCheck for InstallationCheck {
    async fn check(&self, ctx: &CheckContext) -> Result<CheckResult, Error> {
        let pool = ctx
            .object
            .pointer("/spec/workerPool/name")
            .and_then(|v| v.as_str())
            .unwrap_or_default();
        let mr = installation_mr(pool);
        let managed = ManagedResourceCheck::new(&mr).check(ctx).await?;
        if managed.status != ConditionStatus::True {
            return Ok(managed);
        }
        WorkloadCheck::daemon_set(&mr, NAMESPACE, &format!("containerd-gvisor-{pool}"))
            .progressing_threshold(ROLLOUT_THRESHOLD)
            .check(ctx)
            .await
    }
}

/// The health-check controller of the extension.
pub fn registration() -> HealthCheckRegistration<ContainerRuntime> {
    HealthCheckRegistration::new(crate::TYPE, SYNC_PERIOD).condition(
        CONDITION,
        vec![
            Arc::new(ManagedResourceCheck::new(BASE_MR)),
            Arc::new(InstallationCheck),
        ],
    )
}
