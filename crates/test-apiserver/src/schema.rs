//! Structural-schema validation, pruning and defaulting of custom resources, as apiextensions-apiserver
//! does them with a CRD's `openAPIV3Schema`.
//!
//! Covered: `type`, `properties`, `additionalProperties`, `items`, `required`, `enum`, `nullable`,
//! `default`, min/max (length, items, value), `x-kubernetes-preserve-unknown-fields`,
//! `x-kubernetes-int-or-string` and `x-kubernetes-embedded-resource`. Not covered: `pattern`, `format`.
//! CEL rules (`x-kubernetes-validations`) are evaluated by the `cel` module.

use serde_json::{Map, Value};

/// Field errors as `(path, message)`, e.g. `("spec.type", "Required value")`.
pub type Causes = Vec<(String, String)>;

/// Prunes unknown fields, applies defaults and validates `object` against a CRD version's schema.
/// `apiVersion`, `kind` and `metadata` are handled by the server and never pruned.
pub fn validate_and_prune(schema: &Value, object: &mut Value) -> Causes {
    let mut causes = Vec::new();
    let Some(root) = object.as_object_mut() else {
        return vec![("<root>".into(), "Invalid value: must be an object".into())];
    };
    let props = schema.get("properties").and_then(Value::as_object);
    let preserve = preserves_unknown(schema);
    let keys: Vec<String> = root.keys().cloned().collect();
    for key in keys {
        if matches!(key.as_str(), "apiVersion" | "kind" | "metadata") {
            continue;
        }
        match props.and_then(|p| p.get(&key)) {
            Some(sub) => {
                let value = root.get_mut(&key).expect("key exists");
                if value.is_null() && !nullable(sub) {
                    root.remove(&key);
                    continue;
                }
                visit(sub, value, &key, &mut causes);
            }
            None if !preserve => {
                root.remove(&key);
            }
            None => {}
        }
    }
    apply_defaults(schema, root, "", &mut causes);
    check_required(schema, root, "", &mut causes);
    causes
}

fn preserves_unknown(schema: &Value) -> bool {
    schema
        .get("x-kubernetes-preserve-unknown-fields")
        .and_then(Value::as_bool)
        .unwrap_or(false)
}

fn nullable(schema: &Value) -> bool {
    schema
        .get("nullable")
        .and_then(Value::as_bool)
        .unwrap_or(false)
}

fn join(path: &str, key: &str) -> String {
    if path.is_empty() {
        key.to_string()
    } else {
        format!("{path}.{key}")
    }
}

/// The OpenAPI type name of a JSON value, as the server prints it in field errors.
pub(crate) fn type_name(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "boolean",
        Value::Number(n) if n.is_i64() || n.is_u64() => "integer",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    }
}

fn visit(schema: &Value, value: &mut Value, path: &str, causes: &mut Causes) {
    if value.is_null() {
        if !nullable(schema) {
            causes.push((
                path.into(),
                "Invalid value: \"null\": must not be null".into(),
            ));
        }
        return;
    }
    if schema
        .get("x-kubernetes-int-or-string")
        .and_then(Value::as_bool)
        == Some(true)
    {
        if !(value.is_string() || value.is_i64() || value.is_u64()) {
            causes.push((
                path.into(),
                format!(
                    "Invalid value: \"{}\": must be an integer or a string",
                    type_name(value)
                ),
            ));
        }
        return;
    }
    if let Some(expected) = schema.get("type").and_then(Value::as_str) {
        let actual = type_name(value);
        let ok = actual == expected || (expected == "number" && actual == "integer");
        if !ok {
            causes.push((path.into(), format!("Invalid value: \"{actual}\": {path} in body must be of type {expected}: \"{actual}\"")));
            return;
        }
    }
    if let Some(allowed) = schema.get("enum").and_then(Value::as_array)
        && !allowed.contains(value)
    {
        let list = allowed
            .iter()
            .map(|v| v.to_string())
            .collect::<Vec<_>>()
            .join(", ");
        causes.push((
            path.into(),
            format!("Unsupported value: {value}: supported values: {list}"),
        ));
    }
    check_bounds(schema, value, path, causes);
    match value {
        Value::Object(map) => visit_object(schema, map, path, causes),
        Value::Array(items) => {
            if let Some(item_schema) = schema.get("items") {
                for (i, item) in items.iter_mut().enumerate() {
                    visit(item_schema, item, &format!("{path}[{i}]"), causes);
                }
            }
        }
        _ => {}
    }
}

fn visit_object(schema: &Value, map: &mut Map<String, Value>, path: &str, causes: &mut Causes) {
    let embedded = schema
        .get("x-kubernetes-embedded-resource")
        .and_then(Value::as_bool)
        == Some(true);
    let props = schema.get("properties").and_then(Value::as_object);
    let additional = schema.get("additionalProperties").filter(|a| a.is_object());
    let preserve = preserves_unknown(schema);
    let keys: Vec<String> = map.keys().cloned().collect();
    for key in keys {
        if embedded && matches!(key.as_str(), "apiVersion" | "kind" | "metadata") {
            continue;
        }
        let sub = props.and_then(|p| p.get(&key)).or(additional);
        match sub {
            Some(sub) => {
                let value = map.get_mut(&key).expect("key exists");
                if value.is_null() && !nullable(sub) && props.is_some_and(|p| p.contains_key(&key))
                {
                    map.remove(&key);
                    continue;
                }
                visit(sub, value, &join(path, &key), causes);
            }
            None if !preserve => {
                map.remove(&key);
            }
            None => {}
        }
    }
    apply_defaults(schema, map, path, causes);
    check_required(schema, map, path, causes);
}

fn apply_defaults(schema: &Value, map: &mut Map<String, Value>, path: &str, causes: &mut Causes) {
    let Some(props) = schema.get("properties").and_then(Value::as_object) else {
        return;
    };
    for (key, sub) in props {
        if map.contains_key(key) {
            continue;
        }
        if let Some(default) = sub.get("default") {
            let mut value = default.clone();
            visit(sub, &mut value, &join(path, key), causes);
            map.insert(key.clone(), value);
        }
    }
}

fn check_required(schema: &Value, map: &Map<String, Value>, path: &str, causes: &mut Causes) {
    for key in schema
        .get("required")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        if let Some(key) = key.as_str()
            && !map.contains_key(key)
        {
            causes.push((join(path, key), "Required value".into()));
        }
    }
}

fn check_bounds(schema: &Value, value: &Value, path: &str, causes: &mut Causes) {
    let num = |k: &str| schema.get(k).and_then(Value::as_f64);
    let int = |k: &str| schema.get(k).and_then(Value::as_u64);
    match value {
        Value::Number(n) => {
            let n = n.as_f64().unwrap_or_default();
            if let Some(min) = num("minimum").filter(|m| n < *m) {
                causes.push((path.into(), format!("Invalid value: {n}: {path} in body should be greater than or equal to {min}")));
            }
            if let Some(max) = num("maximum").filter(|m| n > *m) {
                causes.push((
                    path.into(),
                    format!(
                        "Invalid value: {n}: {path} in body should be less than or equal to {max}"
                    ),
                ));
            }
        }
        Value::String(s) => {
            let len = s.chars().count() as u64;
            if let Some(min) = int("minLength").filter(|m| len < *m) {
                causes.push((
                    path.into(),
                    format!(
                        "Invalid value: {s:?}: {path} in body should be at least {min} chars long"
                    ),
                ));
            }
            if let Some(max) = int("maxLength").filter(|m| len > *m) {
                causes.push((
                    path.into(),
                    format!("Too long: may not be more than {max} bytes"),
                ));
            }
        }
        Value::Array(items) => {
            let len = items.len() as u64;
            if let Some(min) = int("minItems").filter(|m| len < *m) {
                causes.push((
                    path.into(),
                    format!(
                        "Invalid value: {len}: {path} in body should have at least {min} items"
                    ),
                ));
            }
            if let Some(max) = int("maxItems").filter(|m| len > *m) {
                causes.push((
                    path.into(),
                    format!("Too many: {len}: must have at most {max} items"),
                ));
            }
        }
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn schema() -> Value {
        json!({
            "type": "object",
            "properties": {
                "spec": {
                    "type": "object",
                    "required": ["type"],
                    "properties": {
                        "type": { "type": "string" },
                        "class": { "type": "string", "enum": ["seed", "shoot"], "nullable": true },
                        "replicas": { "type": "integer", "default": 1, "minimum": 0 },
                        "providerConfig": { "type": "object", "x-kubernetes-preserve-unknown-fields": true },
                        "port": { "x-kubernetes-int-or-string": true },
                    }
                }
            }
        })
    }

    #[test]
    fn prunes_unknown_fields_and_defaults() {
        let mut obj = json!({"apiVersion": "x/v1", "kind": "X", "metadata": {"name": "a"},
            "spec": {"type": "t", "unknown": 1, "providerConfig": {"keep": {"me": true}}, "class": null},
            "extra": "drop"});
        assert!(validate_and_prune(&schema(), &mut obj).is_empty());
        assert_eq!(
            obj["spec"],
            json!({"type": "t", "providerConfig": {"keep": {"me": true}}, "class": null, "replicas": 1})
        );
        assert!(obj.get("extra").is_none());
        assert_eq!(obj["metadata"]["name"], "a");
    }

    #[test]
    fn reports_type_required_and_enum_errors() {
        let mut obj = json!({"spec": {"replicas": "many", "class": "garden", "port": 1.5}});
        let causes = validate_and_prune(&schema(), &mut obj);
        let fields: Vec<&str> = causes.iter().map(|(f, _)| f.as_str()).collect();
        assert!(fields.contains(&"spec.type"), "{causes:?}");
        assert!(fields.contains(&"spec.replicas"), "{causes:?}");
        assert!(fields.contains(&"spec.class"), "{causes:?}");
        assert!(fields.contains(&"spec.port"), "{causes:?}");
    }
}
