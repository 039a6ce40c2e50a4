//! The Extension actuator: three ManagedResources (Flux, the source and Kustomization, the Secrets
//! and `shoot-info`), the `Once`/`Continuous` sync modes, and non-destructive delete and migrate.

use crate::api::{FluxConfig, SyncMode};
use crate::garden::{Garden, Plan};
use crate::manifests::{ManifestSource, Selection, select};
use crate::shoot_objects::{self, invalid};
use async_trait::async_trait;
use extension_framework::config::decode_provider_config;
use extension_framework::healthcheck::{Verdict, build_condition};
use extension_framework::managed_resources as mr;
use extension_framework::registry::Registry;
use extension_framework::{Actuator, Context, Error};
use gardener_api::core::Shoot;
use gardener_api::extensions::{ConditionStatus, Extension};
use gardener_api::resources::ManagedResource;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;
use kube::ResourceExt;
use kube::api::{Api, Patch, PatchParams};
use serde_json::{Value, json};
use std::time::Duration;

/// Flux itself.
pub const INSTALL_MR: &str = "extension-shoot-flux-install";
/// The source and the Kustomization.
pub const SOURCE_MR: &str = "extension-shoot-flux-source";
/// The synced Secrets and `shoot-info`.
pub const CONFIG_MR: &str = "extension-shoot-flux-config";
/// The `origin` label of the ManagedResources.
pub const ORIGIN: &str = "shoot-flux";
/// The Extension condition marking a finished bootstrap (`Once` mode).
pub const BOOTSTRAPPED: &str = "FluxBootstrapped";
/// Its reason.
pub const BOOTSTRAP_REASON: &str = "BootstrapSuccessful";
/// How long a bootstrap waits for gardener-resource-manager to apply Flux and the source (as
/// upstream waits for the source to become ready).
pub const BOOTSTRAP_TIMEOUT: Duration = Duration::from_secs(300);
const IGNORE_ANNOTATION: &str = "resources.gardener.cloud/ignore";

/// Installs Flux into shoots.
pub struct FluxActuator {
    manifests: ManifestSource,
    garden_identity: String,
    garden: Option<Garden>,
}

fn bootstrapped(ext: &Extension) -> bool {
    ext.status
        .as_ref()
        .and_then(|s| s.default_status.conditions.as_ref())
        .is_some_and(|c| {
            c.iter()
                .any(|c| c.type_ == BOOTSTRAPPED && c.status == ConditionStatus::True)
        })
}

fn registry(objects: &[Value]) -> Result<Registry, Error> {
    let mut registry = Registry::new();
    for object in objects {
        registry.add_json(object)?;
    }
    Ok(registry)
}

impl FluxActuator {
    /// An actuator taking Flux's manifests from `manifests` and naming the garden `garden_identity`
    /// in `shoot-info`.
    pub fn new(manifests: ManifestSource, garden_identity: &str) -> Self {
        Self {
            manifests,
            garden_identity: garden_identity.into(),
            garden: None,
        }
    }

    /// Enables the garden ConfigMap workflow for Extensions without a providerConfig.
    pub fn with_garden(mut self, garden: Garden) -> Self {
        self.garden = Some(garden);
        self
    }

    /// The config and the extra shoot Secrets: the providerConfig, else the garden's
    /// `flux-config` when the extension has garden access, else Flux alone.
    async fn plan(&self, ctx: &Context, ext: &Extension, shoot: &Shoot) -> Result<Plan, Error> {
        if let Some(config) =
            decode_provider_config::<FluxConfig>(ext.spec.default_spec.provider_config.as_ref())?
        {
            return Ok(Plan {
                config,
                secrets: Vec::new(),
            });
        }
        if let Some(garden) = &self.garden
            && let Some(plan) = garden.plan(&ctx.client, shoot).await?
        {
            return Ok(plan);
        }
        Ok(Plan {
            config: defaulted(),
            secrets: Vec::new(),
        })
    }

    async fn deploy(
        ctx: &Context,
        namespace: &str,
        name: &str,
        objects: &[Value],
    ) -> Result<(), Error> {
        mr::create_for_shoot(
            &ctx.client,
            namespace,
            name,
            ORIGIN,
            false,
            registry(objects)?.serialized(),
        )
        .await
    }

    async fn install(
        &self,
        ctx: &Context,
        namespace: &str,
        config: &FluxConfig,
    ) -> Result<(), Error> {
        let flux = config.installation();
        let version = flux.version.clone().unwrap_or_default();
        let release = self
            .manifests
            .release(&version)
            .await
            .map_err(|e| Error::context("error installing Flux", e))?;
        let selection = Selection {
            components: config.components(),
            registry: flux.registry.clone().unwrap_or_default(),
            namespace: config.namespace(),
        };
        Self::deploy(ctx, namespace, INSTALL_MR, &select(&release, &selection)).await?;
        let sources = shoot_objects::source_objects(config);
        if sources.is_empty() {
            ctx.managed_resources()
                .delete(namespace, SOURCE_MR)
                .await
                .map(drop)
        } else {
            Self::deploy(ctx, namespace, SOURCE_MR, &sources).await
        }
    }

    /// `Once`: when Flux and the source are applied and healthy, record the bootstrap and leave
    /// those ManagedResources to the shoot's owners (GRM ignores them from then on).
    async fn finish_bootstrap(
        &self,
        ctx: &Context,
        namespace: &str,
        ext: &Extension,
        with_source: bool,
    ) -> Result<(), Error> {
        let wanted: &[&str] = if with_source {
            &[INSTALL_MR, SOURCE_MR]
        } else {
            &[INSTALL_MR]
        };
        for name in wanted {
            ctx.managed_resources()
                .wait_until_healthy(namespace, name, BOOTSTRAP_TIMEOUT)
                .await
                .map_err(|e| {
                    Error::context("error waiting for Flux installation to get ready", e)
                })?;
        }
        let mrs: Api<ManagedResource> = Api::namespaced(ctx.client.clone(), namespace);
        for name in wanted {
            let patch = json!({"metadata": {"annotations": {IGNORE_ANNOTATION: "true"}}});
            mrs.patch(name, &PatchParams::default(), &Patch::Merge(patch))
                .await?;
        }
        set_bootstrapped(ctx, ext).await
    }

    async fn remove_all(ctx: &Context, ext: &Extension) -> Result<(), Error> {
        // Non-destructive: Flux and everything it deployed stay in the shoot.
        let namespace = ext.namespace().unwrap_or_default();
        for name in [CONFIG_MR, SOURCE_MR, INSTALL_MR] {
            mr::delete_keeping_objects(&ctx.client, &namespace, name).await?;
        }
        Ok(())
    }
}

async fn set_bootstrapped(ctx: &Context, ext: &Extension) -> Result<(), Error> {
    let mut conditions = ext
        .status
        .as_ref()
        .and_then(|s| s.default_status.conditions.clone())
        .unwrap_or_default();
    let previous = conditions.iter().position(|c| c.type_ == BOOTSTRAPPED);
    let verdict = Verdict {
        status: ConditionStatus::True,
        reason: BOOTSTRAP_REASON.into(),
        message: "Flux has been successfully bootstrapped on the Shoot cluster.".into(),
        codes: Vec::new(),
    };
    let now = Time(k8s_openapi::jiff::Timestamp::now());
    let condition = build_condition(BOOTSTRAPPED, previous.map(|i| &conditions[i]), verdict, now);
    match previous {
        Some(i) => conditions[i] = condition,
        None => conditions.push(condition),
    }
    // Locked by resourceVersion, as upstream: a concurrent status change wins and we retry.
    let patch = json!({"metadata": {"resourceVersion": ext.resource_version()}, "status": {"conditions": conditions}});
    let api: Api<Extension> =
        Api::namespaced(ctx.client.clone(), &ext.namespace().unwrap_or_default());
    api.patch_status(
        &ext.name_any(),
        &PatchParams::default(),
        &Patch::Merge(patch),
    )
    .await
    .map_err(|e| Error::context("could not record the Flux bootstrap", e))?;
    Ok(())
}

#[async_trait]
impl Actuator<Extension> for FluxActuator {
    async fn reconcile(&self, ctx: &Context, ext: &Extension) -> Result<(), Error> {
        let Some(shoot) = ctx.cluster.as_ref().and_then(|c| c.shoot.clone()) else {
            return Err(Error::msg(
                "shoot-flux needs the shoot of a Cluster (an Extension in a shoot namespace)",
            ));
        };
        if shoot.is_hibernation_enabled() {
            tracing::info!("Shoot is hibernated, nothing to do");
            return Ok(());
        }
        let Plan { config, secrets } = self.plan(ctx, ext, &shoot).await?;
        let errors = shoot_objects::validate_references(&config, &shoot);
        if !errors.is_empty() {
            return Err(invalid(errors));
        }
        let namespace = ext.namespace().unwrap_or_default();
        self.sync_config(ctx, &namespace, &shoot, &config, secrets)
            .await?;
        let once = config.sync_mode() == SyncMode::ONCE;
        if once && bootstrapped(ext) {
            return Ok(());
        }
        self.install(ctx, &namespace, &config).await?;
        if once {
            self.finish_bootstrap(ctx, &namespace, ext, config.source.is_some())
                .await?;
        }
        Ok(())
    }

    async fn delete(&self, ctx: &Context, ext: &Extension) -> Result<(), Error> {
        Self::remove_all(ctx, ext).await
    }

    async fn migrate(&self, ctx: &Context, ext: &Extension) -> Result<(), Error> {
        Self::remove_all(ctx, ext).await
    }
}

impl FluxActuator {
    async fn sync_config(
        &self,
        ctx: &Context,
        namespace: &str,
        shoot: &Shoot,
        config: &FluxConfig,
        extra_secrets: Vec<Value>,
    ) -> Result<(), Error> {
        let mut objects = shoot_objects::secrets(&ctx.client, namespace, shoot, config).await?;
        objects.extend(extra_secrets);
        objects.push(shoot_objects::shoot_info(
            shoot,
            &config.namespace(),
            &self.garden_identity,
        ));
        Self::deploy(ctx, namespace, CONFIG_MR, &objects).await
    }
}

/// The configuration without a providerConfig: Flux only, defaulted.
fn defaulted() -> FluxConfig {
    use extension_framework::config::VersionedConfig;
    let mut config = FluxConfig::default();
    config.set_defaults();
    config
}
