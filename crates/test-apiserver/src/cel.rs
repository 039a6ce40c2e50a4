//! `x-kubernetes-validations`: the CEL rules of a CRD schema, evaluated with the `cel` crate.
//!
//! As apiextensions-apiserver does: each rule sees the value at its schema node as `self`; a
//! transition rule (one that mentions `oldSelf`) runs only on updates where the old object has a
//! value at the same path, and sees it as `oldSelf`. Rules are found under `properties` and
//! `additionalProperties`; list items are not correlated between old and new (real servers do so
//! for `x-kubernetes-list-type: map`), so transition rules below arrays are not evaluated. A rule
//! the crate cannot compile or evaluate is skipped (listed in the crate docs' differences).

use crate::schema::{Causes, type_name};
use serde_json::Value;

/// Evaluates every rule of `schema` against `new` (and `old` on updates).
pub fn check_rules(schema: &Value, new: &Value, old: Option<&Value>, causes: &mut Causes) {
    visit(schema, new, old, "", causes);
}

fn join(path: &str, key: &str) -> String {
    if path.is_empty() {
        key.to_string()
    } else {
        format!("{path}.{key}")
    }
}

fn visit(schema: &Value, new: &Value, old: Option<&Value>, path: &str, causes: &mut Causes) {
    if let Some(rules) = schema
        .get("x-kubernetes-validations")
        .and_then(Value::as_array)
    {
        for rule in rules {
            if let Some(message) = failed(rule, new, old) {
                let at = if path.is_empty() { "<root>" } else { path };
                causes.push((at.to_string(), message));
            }
        }
    }
    let Value::Object(map) = new else {
        if let (Value::Array(items), Some(item_schema)) = (new, schema.get("items")) {
            for (i, item) in items.iter().enumerate() {
                visit(item_schema, item, None, &format!("{path}[{i}]"), causes);
            }
        }
        return;
    };
    let properties = schema.get("properties").and_then(Value::as_object);
    let additional = schema.get("additionalProperties").filter(|a| a.is_object());
    for (key, value) in map {
        let sub = properties.and_then(|p| p.get(key)).or(additional);
        if let Some(sub) = sub {
            let old_value = old.and_then(|o| o.get(key));
            visit(sub, value, old_value, &join(path, key), causes);
        }
    }
}

/// The field error of a rule that evaluates to false (`None` when it holds or does not apply).
fn failed(rule: &Value, new: &Value, old: Option<&Value>) -> Option<String> {
    let source = rule.get("rule").and_then(Value::as_str)?;
    let program = cel::Program::compile(source).ok()?;
    let transition = program.references().has_variable("oldSelf");
    if transition && old.is_none() {
        return None;
    }
    let mut context = cel::Context::default();
    context.add_variable_from_value("self", cel::to_value(new).ok()?);
    if let Some(old) = old {
        context.add_variable_from_value("oldSelf", cel::to_value(old).ok()?);
    }
    match program.execute(&context) {
        Ok(cel::Value::Bool(false)) => {
            let message = rule
                .get("message")
                .and_then(Value::as_str)
                .map(str::to_string)
                .unwrap_or_else(|| format!("failed rule: {source}"));
            Some(format!("Invalid value: {:?}: {message}", type_name(new)))
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn schema() -> Value {
        json!({"type": "object", "properties": {"spec": {"type": "object", "properties": {
            "class": {"type": "string", "x-kubernetes-validations": [{"rule": "self == oldSelf", "message": "Value is immutable"}]},
            "size": {"type": "integer", "x-kubernetes-validations": [{"rule": "self <= 3"}]}
        }}}})
    }

    fn check(new: Value, old: Option<Value>) -> Causes {
        let mut causes = Vec::new();
        check_rules(&schema(), &new, old.as_ref(), &mut causes);
        causes
    }

    #[test]
    fn transition_rules_run_on_updates_only() {
        let a = json!({"spec": {"class": "seed"}});
        assert!(check(a.clone(), None).is_empty(), "create: no oldSelf");
        assert!(check(a.clone(), Some(a.clone())).is_empty());
        assert_eq!(
            check(json!({"spec": {"class": "shoot"}}), Some(a)),
            [(
                "spec.class".to_string(),
                r#"Invalid value: "string": Value is immutable"#.to_string()
            )]
        );
        assert!(
            check(
                json!({"spec": {"class": "shoot"}}),
                Some(json!({"spec": {}}))
            )
            .is_empty(),
            "setting a value that was unset is no transition"
        );
    }

    #[test]
    fn plain_rules_always_run_and_default_their_message() {
        assert_eq!(
            check(json!({"spec": {"size": 4}}), None),
            [(
                "spec.size".to_string(),
                r#"Invalid value: "integer": failed rule: self <= 3"#.to_string()
            )]
        );
        assert!(check(json!({"spec": {"size": 2}}), None).is_empty());
    }
}
