//! Patch application: JSON merge patch (RFC 7386), JSON patch (RFC 6902) and server-side apply with
//! field ownership recorded in `metadata.managedFields`.

use crate::error::{ApiError, ApiResult};
use serde_json::{Map, Value, json};
use std::collections::BTreeSet;

/// Applies an RFC 6902 JSON patch. Like Kubernetes, a `test` of `null` passes when the path is missing
/// (kube-runtime's `finalizer()` relies on this).
pub fn json_patch(doc: &mut Value, body: &Value) -> ApiResult<()> {
    let ops: Vec<json_patch::PatchOperation> = serde_json::from_value(body.clone())
        .map_err(|e| ApiError::bad_request(format!("invalid JSON patch: {e}")))?;
    let mut working = doc.clone();
    for op in &ops {
        if let json_patch::PatchOperation::Test(test) = op
            && test.value.is_null()
            && working.pointer(test.path.as_str()).is_none()
        {
            continue;
        }
        json_patch::patch(&mut working, std::slice::from_ref(op)).map_err(|e| ApiError {
            code: 422,
            reason: "Invalid",
            message: format!("the server rejected our request due to an error in our request: {e}"),
            details: None,
        })?;
    }
    *doc = working;
    Ok(())
}

/// Applies an RFC 7386 merge patch.
pub fn merge_patch(doc: &mut Value, body: &Value) -> ApiResult<()> {
    if !body.is_object() {
        return Err(ApiError::bad_request(
            "merge patch body must be a JSON object",
        ));
    }
    json_patch::merge(doc, body);
    Ok(())
}

/// A field path such as `["spec", "type"]`. Lists are owned as a whole.
pub type FieldPath = Vec<String>;

/// Metadata fields owned by the server, never by a field manager.
const SERVER_METADATA: &[&str] = &[
    "name",
    "namespace",
    "uid",
    "resourceVersion",
    "generation",
    "creationTimestamp",
    "deletionTimestamp",
    "deletionGracePeriodSeconds",
    "managedFields",
    "selfLink",
    "generateName",
];

/// The leaf field paths set in an object (excluding apiVersion, kind and server-owned metadata).
pub fn leaves(object: &Value) -> BTreeSet<FieldPath> {
    fn walk(value: &Value, path: &mut FieldPath, out: &mut BTreeSet<FieldPath>) {
        match value {
            Value::Object(map) if !map.is_empty() => {
                for (k, v) in map {
                    if path.is_empty() && (k == "apiVersion" || k == "kind") {
                        continue;
                    }
                    if path.len() == 1
                        && path[0] == "metadata"
                        && SERVER_METADATA.contains(&k.as_str())
                    {
                        continue;
                    }
                    path.push(k.clone());
                    walk(v, path, out);
                    path.pop();
                }
            }
            _ if !path.is_empty() => {
                out.insert(path.clone());
            }
            _ => {}
        }
    }
    let mut out = BTreeSet::new();
    walk(object, &mut Vec::new(), &mut out);
    out
}

fn value_at<'a>(object: &'a Value, path: &FieldPath) -> Option<&'a Value> {
    path.iter().try_fold(object, |v, k| v.get(k))
}

fn remove_at(object: &mut Value, path: &FieldPath) {
    let Some((last, parents)) = path.split_last() else {
        return;
    };
    let mut cur = object;
    for k in parents {
        match cur.get_mut(k) {
            Some(next) => cur = next,
            None => return,
        }
    }
    if let Some(map) = cur.as_object_mut() {
        map.remove(last);
    }
}

/// Renders a field set in the `FieldsV1` format (`{"f:spec": {"f:type": {}}}`).
pub fn to_fields_v1(set: &BTreeSet<FieldPath>) -> Value {
    let mut root = Map::new();
    for path in set {
        let mut cur = &mut root;
        for k in path {
            cur = cur
                .entry(format!("f:{k}"))
                .or_insert_with(|| json!({}))
                .as_object_mut()
                .expect("fieldsV1 nodes are objects");
        }
    }
    Value::Object(root)
}

/// Parses a `FieldsV1` value back into leaf paths (keys other than `f:` are treated as leaves of their parent).
pub fn from_fields_v1(value: &Value) -> BTreeSet<FieldPath> {
    fn walk(value: &Value, path: &mut FieldPath, out: &mut BTreeSet<FieldPath>) {
        let children: Vec<(&String, &Value)> = value
            .as_object()
            .map(|m| m.iter().filter(|(k, _)| k.starts_with("f:")).collect())
            .unwrap_or_default();
        if children.is_empty() {
            if !path.is_empty() {
                out.insert(path.clone());
            }
            return;
        }
        for (k, v) in children {
            path.push(k[2..].to_string());
            walk(v, path, out);
            path.pop();
        }
    }
    let mut out = BTreeSet::new();
    walk(value, &mut Vec::new(), &mut out);
    out
}

/// One `managedFields` entry.
#[derive(Clone, Debug, PartialEq)]
pub struct ManagedEntry {
    /// Field manager name.
    pub manager: String,
    /// `Apply` or `Update`.
    pub operation: String,
    /// `""` or `status`.
    pub subresource: String,
    /// API version of the write.
    pub api_version: String,
    /// Time of the write.
    pub time: String,
    /// Owned leaf fields.
    pub fields: BTreeSet<FieldPath>,
}

/// Reads `metadata.managedFields`.
pub fn read_managed(object: &Value) -> Vec<ManagedEntry> {
    object
        .pointer("/metadata/managedFields")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .map(|e| {
            let s = |k: &str| {
                e.get(k)
                    .and_then(Value::as_str)
                    .unwrap_or_default()
                    .to_string()
            };
            ManagedEntry {
                manager: s("manager"),
                operation: s("operation"),
                subresource: s("subresource"),
                api_version: s("apiVersion"),
                time: s("time"),
                fields: e.get("fieldsV1").map(from_fields_v1).unwrap_or_default(),
            }
        })
        .collect()
}

/// Writes `metadata.managedFields`, dropping entries that own nothing.
pub fn write_managed(object: &mut Value, entries: &[ManagedEntry]) {
    let list: Vec<Value> = entries
        .iter()
        .filter(|e| !e.fields.is_empty())
        .map(|e| {
            let mut v = json!({
                "manager": e.manager,
                "operation": e.operation,
                "apiVersion": e.api_version,
                "time": e.time,
                "fieldsType": "FieldsV1",
                "fieldsV1": to_fields_v1(&e.fields),
            });
            if !e.subresource.is_empty() {
                v["subresource"] = json!(e.subresource);
            }
            v
        })
        .collect();
    if !object.get("metadata").is_some_and(Value::is_object) {
        if list.is_empty() {
            return;
        }
        object["metadata"] = json!({});
    }
    let meta = object["metadata"]
        .as_object_mut()
        .expect("metadata is an object");
    if list.is_empty() {
        meta.remove("managedFields");
    } else {
        meta.insert("managedFields".into(), Value::Array(list));
    }
}

fn dotted(path: &FieldPath) -> String {
    format!(".{}", path.join("."))
}

/// Who wrote, for managedFields bookkeeping.
#[derive(Clone, Debug)]
pub struct Writer<'a> {
    /// Field manager.
    pub manager: &'a str,
    /// `""` or `status`.
    pub subresource: &'a str,
    /// API version used.
    pub api_version: &'a str,
    /// Current time (RFC 3339).
    pub time: &'a str,
}

/// Server-side apply of `config` onto `current` (`None` = create). Returns the new object.
pub fn apply(
    current: Option<&Value>,
    config: &Value,
    writer: &Writer<'_>,
    force: bool,
) -> ApiResult<(Value, Vec<(String, String)>)> {
    let mut object = current.cloned().unwrap_or_else(|| json!({}));
    let mut entries = read_managed(&object);
    let applied = leaves(config);
    let mut conflicts = Vec::new();
    for entry in entries.iter_mut() {
        let is_self = entry.manager == writer.manager
            && entry.operation == "Apply"
            && entry.subresource == writer.subresource;
        if is_self {
            continue;
        }
        let clashing: Vec<FieldPath> = entry
            .fields
            .intersection(&applied)
            .filter(|p| value_at(&object, p) != value_at(config, p))
            .cloned()
            .collect();
        if force {
            for p in &clashing {
                entry.fields.remove(p);
            }
        } else {
            conflicts.extend(clashing.iter().map(|p| (entry.manager.clone(), dotted(p))));
        }
    }
    if !conflicts.is_empty() {
        return Ok((object, conflicts));
    }
    // Fields this manager applied before but no longer does are removed unless someone else owns them.
    let previous = entries
        .iter()
        .find(|e| {
            e.manager == writer.manager
                && e.operation == "Apply"
                && e.subresource == writer.subresource
        })
        .map(|e| e.fields.clone())
        .unwrap_or_default();
    for path in previous.difference(&applied) {
        let owned_elsewhere = entries.iter().any(|e| {
            !(e.manager == writer.manager
                && e.operation == "Apply"
                && e.subresource == writer.subresource)
                && e.fields.contains(path)
        });
        if !owned_elsewhere {
            remove_at(&mut object, path);
        }
    }
    deep_merge(&mut object, config);
    entries.retain(|e| {
        !(e.manager == writer.manager
            && e.operation == "Apply"
            && e.subresource == writer.subresource)
    });
    entries.push(ManagedEntry {
        manager: writer.manager.to_string(),
        operation: "Apply".into(),
        subresource: writer.subresource.to_string(),
        api_version: writer.api_version.to_string(),
        time: writer.time.to_string(),
        fields: applied,
    });
    write_managed(&mut object, &entries);
    Ok((object, Vec::new()))
}

/// Merges `config` into `target`: objects recursively, everything else replaced, `null` removes.
fn deep_merge(target: &mut Value, config: &Value) {
    match (target, config) {
        (Value::Object(t), Value::Object(c)) => {
            for (k, v) in c {
                if v.is_null() {
                    t.remove(k);
                } else if let Some(existing) =
                    t.get_mut(k).filter(|e| e.is_object() && v.is_object())
                {
                    deep_merge(existing, v);
                } else {
                    t.insert(k.clone(), v.clone());
                }
            }
        }
        (target, config) => *target = config.clone(),
    }
}

/// Records ownership of the fields a non-apply write changed: the writer takes them over.
pub fn record_update(old: Option<&Value>, new: &mut Value, writer: &Writer<'_>) {
    let mut entries = old.map(read_managed).unwrap_or_default();
    let old_leaves = old.map(leaves).unwrap_or_default();
    let new_leaves = leaves(new);
    let changed: BTreeSet<FieldPath> = new_leaves
        .iter()
        .filter(|p| old.and_then(|o| value_at(o, p)) != value_at(new, p))
        .cloned()
        .collect();
    let removed: BTreeSet<FieldPath> = old_leaves.difference(&new_leaves).cloned().collect();
    if changed.is_empty() && removed.is_empty() {
        write_managed(new, &entries);
        return;
    }
    for entry in entries.iter_mut() {
        entry
            .fields
            .retain(|p| !changed.contains(p) && !removed.contains(p));
    }
    match entries.iter_mut().find(|e| {
        e.manager == writer.manager
            && e.operation == "Update"
            && e.subresource == writer.subresource
    }) {
        Some(entry) => {
            entry.fields.extend(changed);
            entry.time = writer.time.to_string();
        }
        None => entries.push(ManagedEntry {
            manager: writer.manager.to_string(),
            operation: "Update".into(),
            subresource: writer.subresource.to_string(),
            api_version: writer.api_version.to_string(),
            time: writer.time.to_string(),
            fields: changed,
        }),
    }
    write_managed(new, &entries);
}

#[cfg(test)]
mod tests {
    use super::*;

    fn w(manager: &str) -> Writer<'_> {
        Writer {
            manager,
            subresource: "",
            api_version: "v1",
            time: "2026-01-01T00:00:00Z",
        }
    }

    #[test]
    fn json_patch_test_null_passes_on_missing_path() {
        let mut doc = json!({"metadata": {"name": "a"}});
        json_patch(
            &mut doc,
            &json!([
                {"op": "test", "path": "/metadata/finalizers", "value": null},
                {"op": "add", "path": "/metadata/finalizers", "value": ["f"]}
            ]),
        )
        .unwrap();
        assert_eq!(doc["metadata"]["finalizers"], json!(["f"]));
        let err = json_patch(
            &mut doc,
            &json!([{"op": "test", "path": "/metadata/finalizers", "value": null}]),
        )
        .unwrap_err();
        assert_eq!(err.code, 422);
    }

    #[test]
    fn apply_conflicts_and_removal() {
        let cfg_a = json!({"data": {"x": "1", "y": "2"}});
        let (obj, c) = apply(None, &cfg_a, &w("a"), false).unwrap();
        assert!(c.is_empty());
        // b applies a different x: conflict unless forced.
        let (_, c) = apply(Some(&obj), &json!({"data": {"x": "9"}}), &w("b"), false).unwrap();
        assert_eq!(c, vec![("a".to_string(), ".data.x".to_string())]);
        // b applying the same value shares ownership.
        let (obj, c) = apply(Some(&obj), &json!({"data": {"x": "1"}}), &w("b"), false).unwrap();
        assert!(c.is_empty());
        // a stops applying x (still owned by b) and y (owned by nobody else): y is removed, x kept.
        let (obj, _) = apply(Some(&obj), &json!({"data": {}}), &w("a"), false).unwrap();
        assert_eq!(obj["data"], json!({"x": "1"}));
        let a = read_managed(&obj)
            .into_iter()
            .find(|e| e.manager == "a")
            .unwrap();
        assert_eq!(
            a.fields,
            BTreeSet::from([vec!["data".to_string()]]),
            "a now owns only the empty map it applied"
        );
    }

    #[test]
    fn fields_v1_round_trips() {
        let set = leaves(
            &json!({"metadata": {"name": "n", "labels": {"a": "b"}}, "spec": {"x": [1], "y": {"z": true}}}),
        );
        assert_eq!(from_fields_v1(&to_fields_v1(&set)), set);
        assert_eq!(
            to_fields_v1(&set)["f:metadata"],
            json!({"f:labels": {"f:a": {}}})
        );
    }
}
