//! Gardener's extension contract on kube-rs.
//!
//! gardenlet writes `extensions.gardener.cloud/v1alpha1` objects into a seed and waits for the
//! responsible extension to report back in `.status`. This crate gives an extension everything
//! gardenlet expects, so that an extension author only implements an [`Actuator`]:
//!
//! * **Operation annotations**: `reconcile` is removed before the actuator runs,
//!   `migrate`/`restore` after they succeed, `wait-for-state` does nothing; the operation type
//!   follows `ComputeOperationType`, migrated objects stay inert.
//! * **Status** ([`gardener_api::patch`]): `lastOperation` Processing (1) → Succeeded (100) or
//!   Error (50), `lastError` with error codes collected from the [`Error`] chain; every status write
//!   is the JSON merge patch Go's `MergeFrom` diff sends, explicit `null`s included.
//! * **Finalizers**: added with an optimistic lock before work, own finalizer removed after delete,
//!   all finalizers removed after migrate.
//! * **Admission**: the operation-annotation predicate (or generation changes with
//!   `--ignore-operation-annotation`), class and type filters, failed-shoot skip, restart semantics.
//!   Events caused by the controller's own writes (also when a re-list shows them again) do not
//!   trigger reruns.
//! * **Reads** ([`cache`], [`cluster`]): Namespaces and Clusters come from watch-backed stores shared
//!   by all controllers; a reconcile GETs only its object. Objects are read like Go reads them
//!   ([`gardener_api::wire`]), and one that does not decode is logged and skipped, never failing a
//!   watch.
//! * **Queue**: per-object exclusivity, controller-runtime's exponential backoff, requeue-after
//!   errors, a 3-minute deadline per reconcile, panics contained as Error status.
//! * **OperatingSystemConfig output** ([`osc`]): the `osc-result-<name>` Secret and status fields.
//! * **Building blocks** for actuators: [`config`] (typed `providerConfig` and `--config`),
//!   [`registry`] and [`managed_resources`] (objects for the shoot), [`image_vector`],
//!   [`referenced`] (Secrets from the shoot's `spec.resources`), [`healthcheck`] (ManagedResource,
//!   Deployment and DaemonSet checks), [`format`](mod@format) (Go's text formats).
//! * **Process** ([`runtime`], [`options`], [`logging`], [`server`], [`metrics`], [`heartbeat`],
//!   [`leader`]): Gardener's flags, JSON logs in Gardener's shape, `/metrics` with
//!   controller-runtime's metric names, `/healthz` and `/readyz`, the heartbeat Lease, leader
//!   election, graceful shutdown on SIGTERM.
//!
//! Per-kind differences (finalizer, Cluster requirement, resync, OSC output) are data on
//! [`ExtensionKind`], implemented for `Extension`, `ContainerRuntime` and `OperatingSystemConfig`.
//!
//! # A minimal extension
//!
//! The example runs for real against the workspace's in-process API server:
//!
//! ```
//! use extension_framework::{Actuator, Context, Error, Manager};
//! use extension_framework::options::Options;
//! use gardener_api::extensions::{DefaultSpec, Extension, ExtensionSpec, LastOperationState};
//! use kube::api::{Api, PostParams};
//!
//! struct Hello;
//!
//! #[async_trait::async_trait]
//! impl Actuator<Extension> for Hello {
//!     async fn reconcile(&self, _ctx: &Context, ext: &Extension) -> Result<(), Error> {
//!         tracing::info!(name = ?ext.metadata.name, "Hello");
//!         Ok(())
//!     }
//!     async fn delete(&self, _ctx: &Context, _ext: &Extension) -> Result<(), Error> {
//!         Ok(())
//!     }
//!     async fn migrate(&self, ctx: &Context, ext: &Extension) -> Result<(), Error> {
//!         self.delete(ctx, ext).await
//!     }
//! }
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> anyhow::Result<()> {
//! // A seed: the test API server with the Gardener CRDs (in production: a real seed).
//! let seed = test_apiserver::TestApiServer::builder().start().await?;
//! for crd in gardener_api::crds::all() {
//!     seed.apply_yaml(&serde_json::to_string(&crd.crd)?, "crd")?;
//! }
//! let client = seed.client().await?;
//!
//! // In-process: no leader election, no HTTP endpoints (`Options::defaults()` is what `--help` documents).
//! let options = Options::embedded("default");
//! let running = Manager::new("gardener-extension-hello")
//!     .extension("hello", Hello)
//!     .start(options, client.clone())
//!     .await?;
//!
//! // gardenlet's side: create the Extension and wait until it succeeded.
//! let api: Api<Extension> = Api::namespaced(client, "default");
//! let ext = Extension::new("hello", ExtensionSpec { default_spec: DefaultSpec::of_type("hello") });
//! api.create(&PostParams::default(), &ext).await?;
//! let succeeded = |e: Option<&Extension>| {
//!     e.and_then(|e| e.status.as_ref()?.default_status.last_operation.as_ref())
//!         .is_some_and(|op| op.state == LastOperationState::Succeeded)
//! };
//! kube::runtime::wait::await_condition(api, "hello", succeeded).await?;
//! running.shutdown().await?;
//! # Ok(()) }
//! ```
//!
//! A real binary replaces the setup with
//! `Manager::new("gardener-extension-hello").extension("hello", Hello).run_from_args().await`.

pub mod actuator;
pub mod cache;
pub mod client;
pub mod cluster;
pub mod config;
mod controller;
pub mod dev;
pub mod error;
pub mod format;
pub mod healthcheck;
pub mod heartbeat;
pub mod image_vector;
pub mod kind;
pub mod leader;
pub mod logging;
pub mod managed_resources;
pub mod metrics;
mod operation;
pub mod options;
pub mod osc;
mod output;
mod own_writes;
mod predicate;
mod reconciler;
pub mod referenced;
pub mod registry;
pub mod runtime;
pub mod server;
mod shared_watch;
mod watch;

pub use operation::Operation;
pub use watch::error_chain;

/// Internals reachable for the framework's own integration tests (feature `test-util`): the
/// reconciler without its controller, and the admission filter. Not part of the extension API.
#[cfg(feature = "test-util")]
pub mod testing {
    pub use crate::predicate::{EventFilter, Mode, Snapshot};
    pub use crate::reconciler::{Outcome, Reconciler, ReconcilerConfig};
}

pub use actuator::{Actuator, ClusterContext, Context};
pub use error::Error;
pub use kind::ExtensionKind;
pub use runtime::{
    Manager, NoFlags, Registration, RunError, RunningExtension, run_main, run_main_with,
};
