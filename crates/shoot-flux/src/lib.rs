//! `gardener-extension-shoot-flux`: Flux GitOps for Gardener shoots (Extension type `shoot-flux`).
//!
//! For every Extension of type `shoot-flux`, the extension delivers through
//! gardener-resource-manager, with no shoot credentials of its own:
//!
//! * `extension-shoot-flux-install`: Flux, from the release manifest of the configured version
//!   ([`manifests`]), cut to the selected components and moved to the configured registry and
//!   namespace;
//! * `extension-shoot-flux-source`: the GitRepository or OCIRepository and the Kustomization of the
//!   `FluxConfig` ([`api`]);
//! * `extension-shoot-flux-config`: the Secrets copied from the shoot's `spec.resources` and the
//!   `shoot-info` ConfigMap ([`shoot_objects`]).
//!
//! In sync mode `Once` (the default) the first two are handed over to the shoot's owners after the
//! bootstrap (`FluxBootstrapped=True`); the third keeps following the config. In `Continuous` mode
//! all three do. Delete and migrate keep everything in the shoot. Hibernated shoots are left alone.
//!
//! An Extension without a providerConfig follows the original design when the extension can reach
//! the garden ([`garden`]): the repository comes from the project's `flux-config` ConfigMap, and a
//! private repository's deploy key from the project's `flux-source` Secret ([`ssh`]).

pub mod actuator;
pub mod api;
pub mod garden;
pub mod manifests;
pub mod shoot_objects;
pub mod ssh;

use extension_framework::Manager;
use extension_framework::healthcheck::{HealthCheckRegistration, ManagedResourceCheck};
use gardener_api::extensions::Extension;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

/// The Extension type.
pub const TYPE: &str = "shoot-flux";
/// The extension's name: heartbeat holder and leader-election Lease `shoot-flux-leader-election`.
pub const NAME: &str = "shoot-flux";
/// The Flux manifests shipped with the crate (a trimmed stand-in for offline use: local seed, tests).
pub const BUNDLED_MANIFESTS: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/manifests");

/// The extension's own flags.
#[derive(clap::Args, Clone, Debug)]
pub struct Flags {
    /// The garden's cluster identity, written to `shoot-info` as `SHOOT_INFO_GARDEN_CLUSTER_IDENTITY`.
    #[arg(long, default_value = "garden")]
    pub garden_cluster_identity: String,
    /// Read Flux's manifests from `<dir>/<version>/install.yaml` instead of downloading them.
    #[arg(long, value_name = "DIR")]
    pub flux_manifests_dir: Option<PathBuf>,
    /// Where to download Flux's `install.yaml`; `{version}` is replaced.
    #[arg(long, default_value = manifests::DEFAULT_URL_TEMPLATE)]
    pub flux_manifests_url: String,
    /// The garden kubeconfig for the garden ConfigMap workflow (default: `$GARDEN_KUBECONFIG`, then
    /// gardenlet's Secret `garden/gardenlet-kubeconfig` in the seed, if present).
    #[arg(long, value_name = "FILE")]
    pub garden_kubeconfig: Option<PathBuf>,
    /// Turn the garden ConfigMap workflow off.
    #[arg(long)]
    pub disable_garden_workflow: bool,
    /// How long to wait for a private repository's SSH host key.
    #[arg(long, default_value_t = 10)]
    pub ssh_host_key_timeout_seconds: u64,
}

impl Default for Flags {
    fn default() -> Self {
        Self {
            garden_cluster_identity: "garden".into(),
            flux_manifests_dir: None,
            flux_manifests_url: manifests::DEFAULT_URL_TEMPLATE.into(),
            garden_kubeconfig: None,
            disable_garden_workflow: false,
            ssh_host_key_timeout_seconds: 10,
        }
    }
}

/// The extension: the Extension controller (resync 60 minutes), its health check and the heartbeat.
pub fn manager(flags: &Flags) -> Manager {
    let manifests =
        manifests::ManifestSource::new(flags.flux_manifests_dir.clone(), &flags.flux_manifests_url);
    let mut actuator = actuator::FluxActuator::new(manifests, &flags.garden_cluster_identity);
    let env = std::env::var_os(extension_framework::client::GARDEN_KUBECONFIG_ENV);
    if let Some(access) = garden_access(flags, env.map(PathBuf::from)) {
        let timeout = Duration::from_secs(flags.ssh_host_key_timeout_seconds);
        actuator = actuator.with_garden(garden::Garden::new(access, timeout));
    }
    Manager::new(NAME)
        .cache_managed_resources(actuator::ORIGIN)
        .with(
            extension_framework::Registration::<Extension>::new(TYPE, actuator)
                .resync(Duration::from_secs(60 * 60)),
        )
        .with(
            HealthCheckRegistration::<Extension>::new(TYPE, Duration::from_secs(30)).condition(
                "SystemComponentsHealthy",
                vec![
                    Arc::new(ManagedResourceCheck::new(actuator::INSTALL_MR)),
                    Arc::new(ManagedResourceCheck::new(actuator::CONFIG_MR)),
                ],
            ),
        )
}

/// How to reach the garden: the flag, then `$GARDEN_KUBECONFIG` (`env`, set by gardenlet's
/// `injectGardenKubeconfig`), then gardenlet's Secret; `None` when the workflow is disabled.
fn garden_access(flags: &Flags, env: Option<PathBuf>) -> Option<garden::GardenAccess> {
    if flags.disable_garden_workflow {
        return None;
    }
    Some(match flags.garden_kubeconfig.clone().or(env) {
        Some(path) => garden::GardenAccess::Kubeconfig(path),
        None => garden::GardenAccess::GardenletSecret,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use garden::GardenAccess;

    #[test]
    fn garden_access_prefers_the_flag_then_the_environment() {
        let mut flags = Flags::default();
        let env = Some(PathBuf::from("/env"));
        let path = |a: Option<GardenAccess>| match a {
            Some(GardenAccess::Kubeconfig(p)) => Some(p),
            _ => None,
        };
        assert!(matches!(
            garden_access(&flags, None),
            Some(GardenAccess::GardenletSecret)
        ));
        assert_eq!(path(garden_access(&flags, env.clone())), env);
        flags.garden_kubeconfig = Some("/flag".into());
        assert_eq!(
            path(garden_access(&flags, env.clone())),
            Some("/flag".into())
        );
        flags.disable_garden_workflow = true;
        assert!(garden_access(&flags, env).is_none());
    }
}
