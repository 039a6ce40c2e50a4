//! An actuator wrapper that records every call and catches concurrent reconciles of one object.

use async_trait::async_trait;
use extension_framework::{Actuator, Context, Error, ExtensionKind};
use kube::ResourceExt;
use std::collections::{BTreeMap, BTreeSet};
use std::sync::{Arc, Mutex};

/// What the guard saw for one object.
#[derive(Clone, Debug, Default)]
pub struct Record {
    /// Calls that returned an error.
    pub failed: usize,
    /// Successful calls per value of the [`ROUND_ANNOTATION`] on the object they were given.
    pub rounds: BTreeMap<String, usize>,
}

#[derive(Default)]
struct State {
    running: BTreeSet<String>,
    overlaps: Vec<String>,
    records: BTreeMap<String, Record>,
}

/// The shared view of a [`Guarded`] actuator's calls.
#[derive(Clone, Default)]
pub struct Guard(Arc<Mutex<State>>);

/// The annotation the scenarios stamp each round of reconcile requests with.
pub const ROUND_ANNOTATION: &str = "reliability.gardener-rs.dev/round";

impl Guard {
    fn state(&self) -> std::sync::MutexGuard<'_, State> {
        self.0.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Objects (`namespace/name`) that were reconciled twice at the same time, once per overlap.
    pub fn overlaps(&self) -> Vec<String> {
        self.state().overlaps.clone()
    }

    /// Every object's record.
    pub fn records(&self) -> BTreeMap<String, Record> {
        self.state().records.clone()
    }

    fn enter(&self, key: &str) {
        let mut state = self.state();
        if !state.running.insert(key.to_string()) {
            state.overlaps.push(key.to_string());
        }
    }

    fn leave<K: ExtensionKind>(&self, key: &str, object: &K, ok: bool) {
        let mut state = self.state();
        state.running.remove(key);
        let record = state.records.entry(key.to_string()).or_default();
        if ok {
            let round = object.annotations().get(ROUND_ANNOTATION);
            *record
                .rounds
                .entry(round.cloned().unwrap_or_default())
                .or_default() += 1;
        } else {
            record.failed += 1;
        }
    }
}

/// Wraps an actuator: every call is recorded in the [`Guard`], and a call that starts while
/// another call for the same object is running counts as an overlap.
pub struct Guarded<A> {
    inner: A,
    guard: Guard,
}

impl<A> Guarded<A> {
    /// `inner`, recorded in `guard`.
    pub fn new(inner: A, guard: Guard) -> Self {
        Self { inner, guard }
    }

    async fn call<K: ExtensionKind, T>(
        &self,
        object: &K,
        call: impl std::future::Future<Output = Result<T, Error>>,
    ) -> Result<T, Error> {
        let key = format!(
            "{}/{}",
            object.namespace().unwrap_or_default(),
            object.name_any()
        );
        self.guard.enter(&key);
        let result = call.await;
        self.guard.leave(&key, object, result.is_ok());
        result
    }
}

#[async_trait]
impl<K: ExtensionKind, A: Actuator<K>> Actuator<K> for Guarded<A> {
    async fn reconcile(&self, ctx: &Context, object: &K) -> Result<K::Output, Error> {
        self.call(object, self.inner.reconcile(ctx, object)).await
    }

    async fn delete(&self, ctx: &Context, object: &K) -> Result<(), Error> {
        self.call(object, self.inner.delete(ctx, object)).await
    }

    async fn force_delete(&self, ctx: &Context, object: &K) -> Result<(), Error> {
        self.call(object, self.inner.force_delete(ctx, object))
            .await
    }

    async fn restore(&self, ctx: &Context, object: &K) -> Result<K::Output, Error> {
        self.call(object, self.inner.restore(ctx, object)).await
    }

    async fn migrate(&self, ctx: &Context, object: &K) -> Result<(), Error> {
        self.call(object, self.inner.migrate(ctx, object)).await
    }
}
