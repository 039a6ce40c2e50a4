//! The generic reconciler: operation-annotation wrapper, prologue and the four paths of
//! gardener-contract §4.2–§4.4, for any [`ExtensionKind`].

use crate::Error;
use crate::actuator::{Actuator, ClusterContext, Context};
use crate::cache::SeedCache;
use crate::cluster::lookup_cluster;
use crate::error::upper_first;
use crate::kind::{ExtensionKind, OutputError};
use crate::metrics::ControllerMetrics;
use crate::operation::{Operation, operation_annotation, operation_type, should_skip};
use crate::own_writes::OwnWrites;
use futures::FutureExt;
use gardener_api::constants::{
    OPERATION_ANNOTATION, OPERATION_RECONCILE, OPERATION_WAIT_FOR_STATE,
};
use gardener_api::extensions::{LastError, LastOperation, LastOperationState};
use gardener_api::patch::{
    LastErrorPatch, finalizers_patch, last_operation_patch, remove_annotation_patch,
};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;
use kube::api::{Api, Patch, PatchParams};
use kube::runtime::reflector::ObjectRef;
use kube::{Client, ResourceExt};
use serde_json::json;
use std::panic::AssertUnwindSafe;
use std::sync::Arc;
use std::time::Duration;
use tracing::{Instrument, info};

/// What a reconcile asks the queue to do next.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Outcome {
    /// Nothing until the next admitted event.
    Done,
    /// Run again after the delay (resync, or a requeue-after error).
    RequeueAfter(Duration),
    /// The actuator asked for a delayed retry after an error (metric result `requeue_after`).
    RequeueAfterError(Duration),
}

/// Per-controller settings of the generic reconciler.
#[derive(Clone, Debug)]
pub struct ReconcilerConfig {
    /// Controller name (logs, metrics).
    pub name: String,
    /// The finalizer this controller owns.
    pub finalizer: String,
    /// Extension only: requeue after a successful reconcile (0 disables).
    pub resync: Duration,
}

/// The reconciler of one extension kind.
pub struct Reconciler<K: ExtensionKind> {
    client: Client,
    cache: SeedCache,
    actuator: Arc<dyn Actuator<K>>,
    config: ReconcilerConfig,
    metrics: Option<ControllerMetrics>,
    /// Where our own writes are remembered so their watch events do not trigger reruns.
    pub(crate) own_writes: Option<Arc<OwnWrites>>,
    /// The controller's watch store, for [`Context::cached`].
    pub(crate) watched: Option<kube::runtime::reflector::Store<K>>,
}

impl<K: ExtensionKind> Reconciler<K> {
    /// The seed client it reconciles with.
    pub(crate) fn client(&self) -> &Client {
        &self.client
    }

    /// The process's seed cache (Namespaces, Clusters).
    pub(crate) fn cache(&self) -> &SeedCache {
        &self.cache
    }
}

fn now() -> Time {
    Time(k8s_openapi::jiff::Timestamp::now())
}

/// The object's whole `.status` as JSON: what Go's `MergeFrom` diffs against.
fn current_status<K: ExtensionKind>(object: &K) -> Option<serde_json::Value> {
    serde_json::to_value(object)
        .ok()?
        .get_mut("status")
        .map(serde_json::Value::take)
}

fn not_found(e: &kube::Error) -> bool {
    matches!(e, kube::Error::Api(s) if s.is_not_found())
}

impl<K: ExtensionKind> Reconciler<K> {
    /// A reconciler calling `actuator`.
    pub fn new(
        client: Client,
        cache: SeedCache,
        actuator: Arc<dyn Actuator<K>>,
        config: ReconcilerConfig,
        metrics: Option<ControllerMetrics>,
    ) -> Self {
        Self {
            client,
            cache,
            actuator,
            config,
            metrics,
            own_writes: None,
            watched: None,
        }
    }

    fn api(&self, object: &K) -> Api<K> {
        Api::namespaced(self.client.clone(), &object.namespace().unwrap_or_default())
    }

    /// One reconcile of the object `object` names (its current state is read from the API server).
    pub async fn reconcile(&self, object: Arc<K>) -> Result<Outcome, Error> {
        let span = tracing::info_span!(
            "reconcile",
            controller = %self.config.name,
            name = %object.name_any(),
            namespace = %object.namespace().unwrap_or_default()
        );
        self.run(object, span.clone()).instrument(span).await
    }

    async fn run(&self, object: Arc<K>, span: tracing::Span) -> Result<Outcome, Error> {
        let api = self.api(&object);
        let name = object.name_any();
        // The watch cache can lag behind our own writes of the previous run (a rerun queued while
        // reconciling would see the operation annotation it just removed), so read the current state.
        let mut object = match api.get_opt(&name).await {
            // The version read is the one this run acts on: a watch event still showing it (a
            // relist that raced our writes) is no new request, so it must not start another run.
            Ok(Some(current)) => {
                self.remember(&current);
                current
            }
            Ok(None) => return Ok(Outcome::Done),
            Err(e) => return Err(Error::context("error retrieving object from store", e)),
        };
        // Operation-annotation wrapper.
        match operation_annotation(object.meta()) {
            Some(OPERATION_WAIT_FOR_STATE) => return Ok(Outcome::Done),
            Some(OPERATION_RECONCILE) => {
                let patch = remove_annotation_patch(OPERATION_ANNOTATION);
                match self.merge(&api, &name, &patch).await {
                    Ok(o) => object = o,
                    Err(e) if not_found(&e) => return Ok(Outcome::Done),
                    Err(e) => {
                        return Err(Error::context("could not remove operation annotation", e));
                    }
                }
            }
            _ => {}
        }
        let namespace = object.namespace().unwrap_or_default();
        let cluster = lookup_cluster(&self.cache, &namespace, K::CLUSTER_POLICY)
            .await
            .map_err(Error::new)?;
        if cluster.as_ref().is_some_and(ClusterContext::is_failed) {
            info!("Skipping the reconciliation of {} of failed shoot", K::KIND);
            return Ok(Outcome::Done);
        }
        let last = object
            .default_status()
            .and_then(|s| s.last_operation.clone());
        let op = operation_type(object.meta(), last.as_ref());
        if should_skip(op, last.as_ref()) {
            return Ok(Outcome::Done);
        }
        let force = cluster
            .as_ref()
            .is_some_and(ClusterContext::needs_force_deletion);
        let mut ctx = Context::new(self.client.clone(), cluster, span).caching(self.cache.clone());
        if let Some(store) = &self.watched {
            ctx = ctx.watching(store.clone());
        }
        if op == Operation::Migrate {
            return self.migrate(&api, &ctx, object).await;
        }
        if object.meta().deletion_timestamp.is_some() {
            return self.delete(&api, &ctx, object, force).await;
        }
        if op == Operation::Restore {
            return self.restore(&api, &ctx, object).await;
        }
        self.reconcile_path(&api, &ctx, object, op).await
    }

    fn has_finalizer(&self, object: &K) -> bool {
        object.finalizers().contains(&self.config.finalizer)
    }

    async fn ensure_finalizer(&self, api: &Api<K>, object: K) -> Result<K, Error> {
        if self.has_finalizer(&object) {
            return Ok(object);
        }
        let mut finalizers = object.finalizers().to_vec();
        finalizers.push(self.config.finalizer.clone());
        let patch = finalizers_patch(&finalizers, object.resource_version().as_deref());
        self.merge(api, &object.name_any(), &patch)
            .await
            .map_err(|e| Error::context("failed to add finalizer", e))
    }

    /// Calls the actuator, turning a panic into an error (and counting it).
    async fn call<T>(
        &self,
        fut: impl std::future::Future<Output = Result<T, Error>>,
    ) -> Result<T, Error> {
        match AssertUnwindSafe(fut).catch_unwind().await {
            Ok(result) => result,
            Err(panic) => {
                if let Some(m) = &self.metrics {
                    m.panics.inc();
                }
                let message = panic
                    .downcast_ref::<&str>()
                    .map(|s| s.to_string())
                    .or_else(|| panic.downcast_ref::<String>().cloned())
                    .unwrap_or_else(|| "unknown panic".into());
                tracing::error!(panic = %message, "Observed a panic in reconciler");
                Err(Error::msg(format!("panic: {message} [recovered]")))
            }
        }
    }

    async fn patch_status(
        &self,
        api: &Api<K>,
        object: &K,
        patch: serde_json::Value,
    ) -> Result<K, Error> {
        let patched = api
            .patch_status(
                &object.name_any(),
                &PatchParams::default(),
                &Patch::Merge(&patch),
            )
            .await?;
        self.remember(&patched);
        Ok(patched)
    }

    /// A merge patch of the object whose resulting resourceVersion is remembered as our own write.
    async fn merge(
        &self,
        api: &Api<K>,
        name: &str,
        patch: &serde_json::Value,
    ) -> Result<K, kube::Error> {
        let patched = api
            .patch(name, &PatchParams::default(), &Patch::Merge(patch))
            .await?;
        self.remember(&patched);
        Ok(patched)
    }

    fn remember(&self, object: &K) {
        if let (Some(own), Some(rv)) = (&self.own_writes, object.resource_version()) {
            own.record(&ObjectRef::from_obj(object).to_string(), rv);
        }
    }

    async fn processing(&self, api: &Api<K>, object: &K, op: Operation) -> Result<K, Error> {
        let phrase = K::descriptions().of(op).processing;
        let last = LastOperation {
            description: phrase.into(),
            last_update_time: now(),
            progress: 1,
            state: LastOperationState::Processing,
            type_: op.wire(),
        };
        let patch = last_operation_patch(
            current_status(object).as_ref(),
            &last,
            LastErrorPatch::Keep,
            None,
        );
        self.patch_status(api, object, patch).await
    }

    async fn success(&self, api: &Api<K>, object: &K, op: Operation) -> Result<K, Error> {
        let phrase = K::descriptions().of(op).success;
        let last = LastOperation {
            description: phrase.into(),
            last_update_time: now(),
            progress: 100,
            state: LastOperationState::Succeeded,
            type_: op.wire(),
        };
        let patch = last_operation_patch(
            current_status(object).as_ref(),
            &last,
            LastErrorPatch::Clear,
            object.meta().generation,
        );
        self.patch_status(api, object, patch).await
    }

    /// Records the error in the status (a failing status write is only logged) and returns it.
    async fn fail(
        &self,
        api: &Api<K>,
        object: &K,
        op: Operation,
        prefix: &str,
        error: Error,
    ) -> Error {
        let cause = error.status_cause();
        let description = upper_first(&format!("{prefix}: {cause}"));
        let codes = error.codes();
        let time = now();
        let last = LastOperation {
            description: description.clone(),
            last_update_time: time.clone(),
            progress: 50,
            state: LastOperationState::Error,
            type_: op.wire(),
        };
        let last_error = LastError {
            description,
            task_id: None,
            codes: (!codes.is_empty()).then_some(codes),
            last_update_time: Some(time),
        };
        let patch = last_operation_patch(
            current_status(object).as_ref(),
            &last,
            LastErrorPatch::Set(&last_error),
            object.meta().generation,
        );
        if let Err(e) = self.patch_status(api, object, patch).await {
            tracing::error!(error = %crate::watch::error_chain(&e), "Could not update status");
        }
        tracing::error!(error = %crate::watch::error_chain(&error), "{prefix}");
        error
    }

    /// What to return after an actuator error: requeue-after errors are not errors for the queue.
    fn after_error(&self, error: Error, resync_kind: bool) -> Result<Outcome, Error> {
        match error.requeue_delay() {
            // Upstream quirk: the Extension reconciler replaces the delay by its resync.
            Some(_) if resync_kind && K::RESYNC_AFTER_RECONCILE => match self.config.resync {
                d if d.is_zero() => Ok(Outcome::Done),
                d => Ok(Outcome::RequeueAfterError(d)),
            },
            Some(delay) => Ok(Outcome::RequeueAfterError(delay)),
            None => Err(error),
        }
    }

    async fn write_output(
        &self,
        api: &Api<K>,
        object: &K,
        op: Operation,
        output: K::Output,
    ) -> Result<(), Error> {
        match K::write_output(&self.client, object, output).await {
            Ok(written) => {
                if let Some(written) = written {
                    self.remember(&written);
                }
                Ok(())
            }
            Err(OutputError {
                description,
                record_as,
                source,
            }) => Err(self
                .fail(api, object, record_as.unwrap_or(op), description, source)
                .await),
        }
    }

    async fn reconcile_path(
        &self,
        api: &Api<K>,
        ctx: &Context,
        object: K,
        op: Operation,
    ) -> Result<Outcome, Error> {
        let object = self.ensure_finalizer(api, object).await?;
        let object = self.processing(api, &object, op).await?;
        let output = match self.call(self.actuator.reconcile(ctx, &object)).await {
            Ok(output) => output,
            Err(e) => {
                let prefix = K::descriptions().of(op).error;
                let e = self.fail(api, &object, op, prefix, e).await;
                return self.after_error(e, true);
            }
        };
        self.write_output(api, &object, op, output).await?;
        self.success(api, &object, op).await?;
        Ok(match self.config.resync {
            d if K::RESYNC_AFTER_RECONCILE && !d.is_zero() => Outcome::RequeueAfter(d),
            _ => Outcome::Done,
        })
    }

    async fn delete(
        &self,
        api: &Api<K>,
        ctx: &Context,
        object: K,
        force: bool,
    ) -> Result<Outcome, Error> {
        if !self.has_finalizer(&object) {
            tracing::debug!(
                "Deleting {} causes a no-op as there is no finalizer",
                K::KIND
            );
            return Ok(Outcome::Done);
        }
        let op = Operation::Delete;
        let object = self.processing(api, &object, op).await?;
        let result = if force {
            self.call(self.actuator.force_delete(ctx, &object)).await
        } else {
            self.call(self.actuator.delete(ctx, &object)).await
        };
        if let Err(e) = result {
            let e = self
                .fail(api, &object, op, K::descriptions().delete.error, e)
                .await;
            return self.after_error(e, false);
        }
        let object = self.success(api, &object, op).await?;
        let remaining: Vec<String> = object
            .finalizers()
            .iter()
            .filter(|f| **f != self.config.finalizer)
            .cloned()
            .collect();
        let patch = finalizers_patch(&remaining, object.resource_version().as_deref());
        match self.merge(api, &object.name_any(), &patch).await {
            Ok(_) => Ok(Outcome::Done),
            Err(e) if not_found(&e) => Ok(Outcome::Done),
            Err(e) => Err(Error::context(
                format!("error removing finalizer from {}", K::KIND),
                e,
            )),
        }
    }

    async fn restore(&self, api: &Api<K>, ctx: &Context, object: K) -> Result<Outcome, Error> {
        let op = Operation::Restore;
        let object = self.ensure_finalizer(api, object).await?;
        let object = self.processing(api, &object, op).await?;
        let output = match self.call(self.actuator.restore(ctx, &object)).await {
            Ok(output) => output,
            Err(e) => {
                let e = self
                    .fail(api, &object, op, K::descriptions().restore.error, e)
                    .await;
                return self.after_error(e, false);
            }
        };
        self.write_output(api, &object, op, output).await?;
        let object = self.success(api, &object, op).await?;
        self.remove_operation_annotation(api, &object).await?;
        Ok(Outcome::Done)
    }

    async fn migrate(&self, api: &Api<K>, ctx: &Context, object: K) -> Result<Outcome, Error> {
        if K::MIGRATE_NEEDS_FINALIZER && !self.has_finalizer(&object) {
            return Ok(Outcome::Done);
        }
        let op = Operation::Migrate;
        let object = self.processing(api, &object, op).await?;
        if let Err(e) = self.call(self.actuator.migrate(ctx, &object)).await {
            let e = self
                .fail(api, &object, op, K::descriptions().migrate.error, e)
                .await;
            return self.after_error(e, false);
        }
        let object = self.success(api, &object, op).await?;
        // All finalizers go, including other controllers': the object is inert until gardenlet deletes it.
        let patch = json!({ "metadata": { "finalizers": null } });
        match self.merge(api, &object.name_any(), &patch).await {
            Ok(_) => {}
            Err(e) if not_found(&e) => return Ok(Outcome::Done),
            Err(e) => return Err(Error::context("error removing all finalizers", e)),
        }
        self.remove_operation_annotation(api, &object).await?;
        Ok(Outcome::Done)
    }

    async fn remove_operation_annotation(&self, api: &Api<K>, object: &K) -> Result<(), Error> {
        if operation_annotation(object.meta()).is_none() {
            return Ok(());
        }
        let patch = remove_annotation_patch(OPERATION_ANNOTATION);
        match self.merge(api, &object.name_any(), &patch).await {
            Ok(_) => Ok(()),
            Err(e) if not_found(&e) => Ok(()),
            Err(e) => Err(Error::context("could not remove operation annotation", e)),
        }
    }
}
