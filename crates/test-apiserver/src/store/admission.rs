//! What the server does to an object before storing it: built-in defaults, Secret `stringData`,
//! schema and CEL validation, and CRD establishment.

use super::*;

impl Store {
    /// Server-side defaults of built-in kinds that controllers read back.
    pub(super) fn default_builtin(&self, rt: &ResourceType, body: &mut Value) {
        if rt.custom {
            return;
        }
        match (rt.group.as_str(), rt.plural.as_str()) {
            ("", "namespaces") => {
                if body.pointer("/status/phase").is_none() {
                    body["status"] = json!({ "phase": "Active" });
                }
                if body.pointer("/spec/finalizers").is_none() {
                    body["spec"] = json!({ "finalizers": ["kubernetes"] });
                }
            }
            ("", "secrets") if body.get("type").is_none() => body["type"] = json!("Opaque"),
            _ => {}
        }
        Self::merge_string_data(rt, body);
    }

    /// Secrets: `stringData` is write-only and merged into `data` (base64) on every write.
    pub(super) fn merge_string_data(rt: &ResourceType, body: &mut Value) {
        if rt.custom || rt.plural != "secrets" || !rt.group.is_empty() {
            return;
        }
        let Some(Value::Object(strings)) =
            body.as_object_mut().and_then(|o| o.remove("stringData"))
        else {
            return;
        };
        if !body.get("data").is_some_and(Value::is_object) {
            body["data"] = json!({});
        }
        let data = body["data"].as_object_mut().expect("data is an object");
        for (key, value) in strings {
            let text = value.as_str().unwrap_or_default().to_string();
            data.insert(
                key,
                json!(base64::engine::general_purpose::STANDARD.encode(text)),
            );
        }
    }

    pub(super) fn validate(
        &self,
        rt: &ResourceType,
        name: &str,
        body: &mut Value,
        old: Option<&Value>,
    ) -> ApiResult<()> {
        let mut causes = Vec::new();
        if let Some(schema) = &rt.schema {
            causes = schema::validate_and_prune(schema, body);
            crate::cel::check_rules(schema, body, old, &mut causes);
        }
        if rt.plural == "secrets" && rt.group.is_empty() {
            for (key, value) in body
                .get("data")
                .and_then(Value::as_object)
                .into_iter()
                .flatten()
            {
                let decodes = value
                    .as_str()
                    .is_some_and(|s| base64::engine::general_purpose::STANDARD.decode(s).is_ok());
                if !decodes {
                    causes.push((
                        format!("data[{key}]"),
                        "Invalid value: illegal base64 data".into(),
                    ));
                }
            }
        }
        if causes.is_empty() {
            Ok(())
        } else {
            Err(ApiError::invalid(target(rt, name), &rt.kind, causes))
        }
    }

    /// Sets the CRD's `Established`/`NamesAccepted` conditions and registers its resources.
    pub(super) fn establish_crd(&mut self, rt: &ResourceType, crd: Value) -> ApiResult<Value> {
        self.registry.register_crd(&crd)?;
        let mut established = crd.clone();
        let now = now();
        let condition = |type_: &str, reason: &str, message: &str| json!({ "type": type_, "status": "True", "lastTransitionTime": now, "reason": reason, "message": message });
        let stored: Vec<Value> = crd
            .pointer("/spec/versions")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .filter(|v| v.get("storage").and_then(Value::as_bool) == Some(true))
            .filter_map(|v| v.get("name").cloned())
            .collect();
        established["status"] = json!({
            "conditions": [
                condition("NamesAccepted", "NoConflicts", "no conflicts found"),
                condition("Established", "InitialNamesAccepted", "the initial names have been accepted"),
            ],
            "acceptedNames": crd.pointer("/spec/names").cloned().unwrap_or_default(),
            "storedVersions": stored,
        });
        let name = str_at(&crd, "/metadata/name")
            .unwrap_or_default()
            .to_string();
        let out = self.commit(
            &rt.group_resource(),
            "",
            &name,
            EventType::Modified,
            Some(crd),
            established,
        );
        Ok(Self::with_type_meta(rt, out))
    }
}
