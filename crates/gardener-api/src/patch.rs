//! JSON merge patches for status writes.
//!
//! Typed structs skip `None` fields, which in a merge patch means "leave unchanged". Clearing a
//! field (e.g. `lastError` after a successful operation) needs an explicit `null`. Go computes its
//! patches as a diff between the object before and after the change ([`merge_diff`]); these helpers
//! build exactly those bodies.

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

/// The JSON merge patch (RFC 7386) that turns `old` into `new`, computed as Go's
/// `client.MergeFrom` does: changed object members recurse, removed members become `null`, every
/// other changed value (arrays included) is replaced whole, and equal members are left out.
///
/// Returns `{}` when nothing changed. Sending an explicit `null` for a vanished field is what makes
/// a stale `lastError.codes` or `inPlaceUpdates.osUpdate.args` disappear.
pub fn merge_diff(old: &Value, new: &Value) -> Value {
    match (old, new) {
        (Value::Object(old), Value::Object(new)) => {
            let mut patch = Map::new();
            for (key, old_value) in old {
                match new.get(key) {
                    None => {
                        patch.insert(key.clone(), Value::Null);
                    }
                    Some(new_value) if new_value != old_value => {
                        let value = match (old_value, new_value) {
                            (Value::Object(_), Value::Object(_)) => {
                                merge_diff(old_value, new_value)
                            }
                            _ => new_value.clone(),
                        };
                        patch.insert(key.clone(), value);
                    }
                    Some(_) => {}
                }
            }
            for (key, new_value) in new {
                if !old.contains_key(key) {
                    patch.insert(key.clone(), new_value.clone());
                }
            }
            Value::Object(patch)
        }
        (_, new) => new.clone(),
    }
}

/// `{"status": <diff>}` between the current status (`None`: the object has none yet) and the
/// desired one, or `None` when they are equal (Go still sends `{}`; skipping saves a write).
pub fn status_patch(current: Option<&Value>, desired: &Value) -> Option<Value> {
    let empty = Value::Object(Map::new());
    let current = current.filter(|v| !v.is_null()).unwrap_or(&empty);
    let diff = merge_diff(current, desired);
    match &diff {
        Value::Object(m) if m.is_empty() => None,
        _ => Some(json!({ "status": diff })),
    }
}

/// The status merge patch of Gardener's `StatusUpdater` (`Processing`, `Error`, `Success`): sets
/// `lastOperation`, changes `lastError` as asked and sets `observedGeneration` if given, as a diff
/// against `current` (the object's whole `.status`).
pub fn last_operation_patch(
    current: Option<&Value>,
    last_operation: &LastOperation,
    last_error: LastErrorPatch<'_>,
    observed_generation: Option<i64>,
) -> Value {
    let mut desired = match current {
        Some(Value::Object(m)) => m.clone(),
        _ => Map::new(),
    };
    desired.insert("lastOperation".into(), json!(last_operation));
    match last_error {
        LastErrorPatch::Keep => {}
        LastErrorPatch::Clear => {
            desired.remove("lastError");
        }
        LastErrorPatch::Set(e) => {
            desired.insert("lastError".into(), json!(e));
        }
    }
    if let Some(generation) = observed_generation {
        desired.insert("observedGeneration".into(), json!(generation));
    }
    // The new lastOperation always differs (its time at least), so there is always a patch.
    status_patch(current, &Value::Object(desired)).unwrap_or_else(|| json!({ "status": {} }))
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn diff_sets_changes_and_nulls_removals() {
        let old = json!({"a": 1, "b": {"c": [1, 2], "d": "x"}, "e": true});
        let new = json!({"a": 1, "b": {"c": [1]}, "f": null});
        assert_eq!(
            merge_diff(&old, &new),
            json!({"b": {"c": [1], "d": null}, "e": null, "f": null})
        );
        assert_eq!(merge_diff(&old, &old), json!({}));
        assert_eq!(status_patch(Some(&old), &old), None);
        assert_eq!(
            status_patch(None, &json!({"a": 1})),
            Some(json!({"status": {"a": 1}}))
        );
    }

    fn op(state: &str) -> LastOperation {
        serde_json::from_value(
            json!({"description": "d", "lastUpdateTime": "2026-11-23T10:00:00Z",
            "progress": 50, "state": state, "type": "Reconcile"}),
        )
        .unwrap()
    }

    fn error(codes: Option<Vec<&str>>) -> LastError {
        LastError {
            description: "Boom".into(),
            task_id: None,
            codes: codes.map(|c| c.into_iter().map(Into::into).collect()),
            last_update_time: None,
        }
    }

    /// Every `StatusUpdater` transition of `lastError` and `observedGeneration`: set, changed, removed.
    #[test]
    fn status_field_transitions_send_go_diffs() {
        let old_op = json!(op("Processing"));
        let with = |codes: Option<Vec<&str>>| json!({"lastOperation": old_op, "lastError": error(codes), "observedGeneration": 1});
        let (plain, unauthorized) = (error(None), error(Some(vec!["ERR_INFRA_UNAUTHORIZED"])));
        let cases: Vec<(&str, Value, LastErrorPatch, Option<i64>, Value)> = vec![
            (
                "error set",
                json!({"lastOperation": old_op}),
                LastErrorPatch::Set(&plain),
                Some(1),
                json!({"lastError": {"description": "Boom"}, "observedGeneration": 1}),
            ),
            (
                "codes removed",
                with(Some(vec!["ERR_CONFIGURATION_PROBLEM"])),
                LastErrorPatch::Set(&plain),
                Some(1),
                json!({"lastError": {"codes": null}}),
            ),
            (
                "codes changed",
                with(Some(vec!["ERR_CONFIGURATION_PROBLEM"])),
                LastErrorPatch::Set(&unauthorized),
                Some(2),
                json!({"lastError": {"codes": ["ERR_INFRA_UNAUTHORIZED"]}, "observedGeneration": 2}),
            ),
            (
                "error kept while processing",
                with(Some(vec!["ERR_CONFIGURATION_PROBLEM"])),
                LastErrorPatch::Keep,
                None,
                json!({}),
            ),
            (
                "error cleared",
                with(None),
                LastErrorPatch::Clear,
                Some(1),
                json!({"lastError": null}),
            ),
        ];
        for (name, current, change, generation, want) in cases {
            let new_op = op("Error");
            let patch = last_operation_patch(Some(&current), &new_op, change, generation);
            let mut status = patch["status"].as_object().unwrap().clone();
            assert_eq!(
                status.remove("lastOperation"),
                Some(json!({"state": "Error"})),
                "{name}"
            );
            assert_eq!(Value::Object(status), want, "{name}");
        }
    }
}
