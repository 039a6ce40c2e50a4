//! JSON merge patches for status writes.
//!
//! Typed structs skip `None` fields, which in a merge patch means "leave unchanged". Clearing a
//! field (e.g. `lastError` after a successful operation) needs an explicit `null`; these helpers
//! build the patch bodies gardenlet's Go library would compute.

use crate::extensions::{LastError, LastOperation};
use serde_json::{Map, Value, json};

/// What to do with `status.lastError` in a status patch.
#[derive(Clone, Debug, PartialEq)]
pub enum LastErrorPatch<'a> {
    /// Leave it as it is (e.g. while Processing).
    Keep,
    /// Remove it (`"lastError": null`).
    Clear,
    /// Set it.
    Set(&'a LastError),
}

/// Builds `{"status": {"lastOperation": ..., "lastError": ..., "observedGeneration": ...}}`.
pub fn last_operation_patch(
    last_operation: &LastOperation,
    last_error: LastErrorPatch<'_>,
    observed_generation: Option<i64>,
) -> Value {
    let mut status = Map::new();
    status.insert("lastOperation".into(), json!(last_operation));
    match last_error {
        LastErrorPatch::Keep => {}
        LastErrorPatch::Clear => {
            status.insert("lastError".into(), Value::Null);
        }
        LastErrorPatch::Set(e) => {
            status.insert("lastError".into(), json!(e));
        }
    }
    if let Some(generation) = observed_generation {
        status.insert("observedGeneration".into(), json!(generation));
    }
    json!({ "status": status })
}

/// A merge patch removing one annotation (`{"metadata":{"annotations":{key: null}}}`).
pub fn remove_annotation_patch(key: &str) -> Value {
    json!({ "metadata": { "annotations": { key: Value::Null } } })
}

/// A merge patch setting the whole finalizer list, guarded by the object's resourceVersion so a stale
/// cache yields a 409 Conflict instead of lost finalizers.
pub fn finalizers_patch(finalizers: &[String], resource_version: Option<&str>) -> Value {
    let mut metadata = Map::new();
    metadata.insert("finalizers".into(), json!(finalizers));
    if let Some(rv) = resource_version {
        metadata.insert("resourceVersion".into(), json!(rv));
    }
    json!({ "metadata": metadata })
}
