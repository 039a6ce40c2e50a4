//! `mwe`: the minimal working example of a Gardener extension.
//!
//! It reconciles `Extension` objects of type `mwe` and does nothing but log. Everything Gardener
//! expects around that (finalizers, status, annotations, leader election, heartbeat, metrics) comes
//! from [`extension_framework`]; this crate is what an extension author copies to start a new one.

use async_trait::async_trait;
use extension_framework::{Actuator, Context, Error, Manager, Registration};
use gardener_api::extensions::Extension;
use std::time::Duration;

/// The extension type this controller serves (`Extension.spec.type`).
pub const TYPE: &str = "mwe";
/// Name of the extension: leases, the heartbeat holder and the logger are named after it.
pub const NAME: &str = "gardener-extension-mwe";
/// How often a successfully reconciled Extension is reconciled again.
pub const RESYNC: Duration = Duration::from_secs(60 * 60);

/// Says hello instead of doing work. A real extension creates or deletes resources here.
pub struct MweActuator;

#[async_trait]
impl Actuator<Extension> for MweActuator {
    async fn reconcile(&self, _ctx: &Context, _ext: &Extension) -> Result<(), Error> {
        tracing::info!(
            logger = "FirstLogger",
            "Hello World, I just entered the Reconcile method"
        );
        Ok(())
    }

    async fn delete(&self, _ctx: &Context, _ext: &Extension) -> Result<(), Error> {
        tracing::info!(
            logger = "FirstLogger",
            "Hello World, I just entered the Delete method"
        );
        Ok(())
    }

    // `force_delete` defaults to `delete`, `restore` to `reconcile`.

    async fn migrate(&self, ctx: &Context, ext: &Extension) -> Result<(), Error> {
        self.delete(ctx, ext).await
    }
}

/// The extension: one Extension controller for type `mwe` with a 60-minute resync.
pub fn manager() -> Manager {
    Manager::new(NAME)
        .with(
            Registration::<Extension>::new(TYPE, MweActuator)
                .name("mwe_lifecycle_controller")
                .flag_prefix("lifecycle")
                .resync(RESYNC),
        )
        // Upstream's chart passes it although mwe has no health-check controller.
        .accept_flag_prefix("healthcheck")
}
