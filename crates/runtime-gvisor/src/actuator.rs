//! The ContainerRuntime actuator: two ManagedResources per shoot, one of them per worker pool.

use crate::config::{self, GVisorConfiguration};
use crate::installer;
use crate::manifests::{self, Installation};
use async_trait::async_trait;
use extension_framework::image_vector::ImageVector;
use extension_framework::managed_resources as mr;
use extension_framework::{Actuator, Context, Error};
use gardener_api::extensions::{ContainerRuntime, ErrorCode};
use kube::ResourceExt;
use kube::api::{Api, ListParams};
use std::sync::Arc;
use std::time::Duration;

/// The ManagedResource with the ServiceAccount and the RuntimeClass.
pub const BASE_MR: &str = "extension-runtime-gvisor";
/// The `origin` label of both ManagedResources.
pub const ORIGIN: &str = "extension-runtime-gvisor";
/// The data key of the ManagedResource Secrets.
pub const DATA_KEY: &str = "config.yaml";
/// The image vector entry of the installation image.
pub const INSTALLATION_IMAGE: &str = "runtime-gvisor-installation";
/// How long delete waits for a ManagedResource to disappear.
pub const DELETE_TIMEOUT: Duration = Duration::from_secs(120);

/// `extension-runtime-gvisor-installation-<pool>`.
pub fn installation_mr(pool: &str) -> String {
    format!("extension-runtime-gvisor-installation-{pool}")
}

/// Installs gVisor for the pools of the ContainerRuntimes of type `gvisor`.
pub struct GVisorActuator {
    images: ImageVector,
    version: String,
    test_repository: String,
}

impl GVisorActuator {
    /// An actuator taking images from `images`, tagged with `version` by default;
    /// `test_repository` (`--gvisor-installation-test-repository`) enables `testImageTag`.
    pub fn new(images: ImageVector, version: &str, test_repository: &str) -> Self {
        Self {
            images,
            version: version.into(),
            test_repository: test_repository.into(),
        }
    }

    /// `<test repository>:<testImageTag>` when both are set, else the image vector's image.
    ///
    /// # Errors
    /// The image vector has no installation image.
    pub fn image(&self, config: Option<&GVisorConfiguration>) -> Result<String, Error> {
        let tag = config
            .and_then(|c| c.test_image_tag.as_deref())
            .unwrap_or_default();
        if !self.test_repository.is_empty() && !tag.is_empty() {
            return Ok(format!("{}:{tag}", self.test_repository));
        }
        Ok(self
            .images
            .find(INSTALLATION_IMAGE, &self.version)?
            .to_string())
    }

    fn installation(&self, cr: &ContainerRuntime) -> Result<Installation, Error> {
        let config = config::decode(cr.spec.default_spec.provider_config.as_ref())?;
        let flags = config::runsc_flags(config.as_ref());
        let script = installer::script(&cr.spec.binary_path, &flags)
            .map_err(|e| Error::new(e).with_codes([ErrorCode::ConfigurationProblem]))?;
        Ok(Installation {
            pool: cr.spec.worker_pool.name.clone(),
            pool_selector: cr
                .spec
                .worker_pool
                .selector
                .match_labels
                .clone()
                .unwrap_or_default(),
            image: self.image(config.as_ref())?,
            script,
        })
    }

    async fn remove(ctx: &Context, namespace: &str, name: &str, wait: bool) -> Result<(), Error> {
        let mrs = ctx.managed_resources();
        let gone = mrs.delete(namespace, name).await?;
        if wait && !gone {
            mrs.wait_until_deleted(namespace, name, DELETE_TIMEOUT)
                .await?;
        }
        Ok(())
    }

    /// Whether another gvisor ContainerRuntime of the namespace still needs the base objects.
    /// Read from the controller's watch, as Go's cached `List`; listed only without one.
    async fn still_required(ctx: &Context, cr: &ContainerRuntime) -> Result<bool, Error> {
        let namespace = cr.namespace().unwrap_or_default();
        let others = match ctx.cached::<ContainerRuntime>(&namespace) {
            Some(cached) => cached,
            None => {
                let api: Api<ContainerRuntime> = Api::namespaced(ctx.client.clone(), &namespace);
                let listed = api.list(&ListParams::default()).await?;
                listed.items.into_iter().map(Arc::new).collect()
            }
        };
        Ok(others.iter().any(|other| {
            other.name_any() != cr.name_any()
                && other.spec.default_spec.type_ == crate::TYPE
                && other.metadata.deletion_timestamp.is_none()
        }))
    }

    async fn delete_all(
        &self,
        ctx: &Context,
        cr: &ContainerRuntime,
        wait: bool,
    ) -> Result<(), Error> {
        let namespace = cr.namespace().unwrap_or_default();
        Self::remove(
            ctx,
            &namespace,
            &installation_mr(&cr.spec.worker_pool.name),
            wait,
        )
        .await?;
        if Self::still_required(ctx, cr).await? {
            tracing::info!("gVisor is still required in the cluster, keeping its base objects");
            return Ok(());
        }
        Self::remove(ctx, &namespace, BASE_MR, wait).await
    }
}

#[async_trait]
impl Actuator<ContainerRuntime> for GVisorActuator {
    async fn reconcile(&self, ctx: &Context, cr: &ContainerRuntime) -> Result<(), Error> {
        let namespace = cr.namespace().unwrap_or_default();
        let installation = self.installation(cr)?;
        let base = manifests::base()?;
        mr::create_for_shoot(
            &ctx.client,
            &namespace,
            BASE_MR,
            ORIGIN,
            false,
            base.serialized_as(DATA_KEY),
        )
        .await?;
        let objects = installation.objects()?;
        mr::create_for_shoot(
            &ctx.client,
            &namespace,
            &installation_mr(&installation.pool),
            ORIGIN,
            false,
            objects.serialized_as(DATA_KEY),
        )
        .await
    }

    async fn delete(&self, ctx: &Context, cr: &ContainerRuntime) -> Result<(), Error> {
        self.delete_all(ctx, cr, true).await
    }

    async fn force_delete(&self, ctx: &Context, cr: &ContainerRuntime) -> Result<(), Error> {
        self.delete_all(ctx, cr, false).await
    }

    async fn migrate(&self, ctx: &Context, cr: &ContainerRuntime) -> Result<(), Error> {
        // The objects stay in the shoot: the destination seed takes the ManagedResources over.
        let namespace = cr.namespace().unwrap_or_default();
        for name in [
            installation_mr(&cr.spec.worker_pool.name),
            BASE_MR.to_string(),
        ] {
            if !mr::delete_keeping_objects(&ctx.client, &namespace, &name).await? {
                let mrs = ctx.managed_resources();
                mrs.wait_until_deleted(&namespace, &name, DELETE_TIMEOUT)
                    .await?;
            }
        }
        Ok(())
    }
}
