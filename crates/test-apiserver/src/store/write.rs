//! Writes: create, update, patch (merge, JSON, strategic, apply) and the checks every write makes.

use super::*;

impl Store {
    pub(super) fn check_namespace(
        &self,
        rt: &ResourceType,
        ns: &str,
        creating: bool,
    ) -> ApiResult<()> {
        if !rt.namespaced {
            return Ok(());
        }
        let namespaces = GroupResource {
            group: String::new(),
            plural: "namespaces".into(),
        };
        let namespace = self
            .objects
            .get(&namespaces)
            .and_then(|b| b.get(&(String::new(), ns.to_string())));
        match namespace {
            None => Err(ApiError::not_found(Target {
                group: "",
                plural: "namespaces",
                kind: "Namespace",
                name: ns,
            })),
            Some(n) if creating && n.pointer("/metadata/deletionTimestamp").is_some() => {
                Err(ApiError::forbidden(format!(
                    "{} is forbidden: unable to create new content in namespace {ns} because it is being terminated",
                    rt.plural
                )))
            }
            Some(_) => Ok(()),
        }
    }

    /// POST.
    pub fn create(
        &mut self,
        rt: &ResourceType,
        ns: &str,
        mut body: Value,
        opts: &WriteOptions,
    ) -> ApiResult<Value> {
        if !body.is_object() {
            return Err(ApiError::bad_request(
                "the body of the request must be a JSON object",
            ));
        }
        self.check_type_meta(rt, &body)?;
        let meta = meta_mut(&mut body);
        let body_ns = meta
            .get("namespace")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_string();
        if rt.namespaced {
            if !body_ns.is_empty() && body_ns != ns {
                return Err(ApiError::bad_request(
                    "the namespace of the provided object does not match the namespace sent on the request",
                ));
            }
            meta.insert("namespace".into(), json!(ns));
        } else {
            meta.remove("namespace");
        }
        let mut name = meta
            .get("name")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_string();
        if name.is_empty() {
            let prefix = meta
                .get("generateName")
                .and_then(Value::as_str)
                .unwrap_or_default();
            if prefix.is_empty() {
                return Err(ApiError::invalid(
                    target(rt, ""),
                    &rt.kind,
                    vec![(
                        "metadata.name".into(),
                        "Required value: name or generateName is required".into(),
                    )],
                ));
            }
            name = format!("{prefix}{}", random_suffix());
            meta.insert("name".into(), json!(name));
        }
        if let Some(msg) = name_error(&name, rt.is_namespace()) {
            return Err(ApiError::invalid(
                target(rt, &name),
                &rt.kind,
                vec![("metadata.name".into(), msg)],
            ));
        }
        self.check_namespace(rt, ns, true)?;
        if self
            .bucket(rt)
            .is_some_and(|b| b.contains_key(&(ns.to_string(), name.clone())))
        {
            return Err(ApiError::already_exists(target(rt, &name)));
        }
        let now = now();
        let meta = meta_mut(&mut body);
        meta.insert("uid".into(), json!(uuid::Uuid::new_v4().to_string()));
        meta.insert("creationTimestamp".into(), json!(now));
        for server_owned in [
            "resourceVersion",
            "deletionTimestamp",
            "deletionGracePeriodSeconds",
            "managedFields",
            "selfLink",
        ] {
            meta.remove(server_owned);
        }
        if rt.has_generation {
            meta.insert("generation".into(), json!(1));
        } else {
            meta.remove("generation");
        }
        if rt.status_subresource && rt.custom {
            body.as_object_mut().expect("object").remove("status");
        }
        self.default_builtin(rt, &mut body);
        self.validate(rt, &name, &mut body, None)?;
        let writer = Writer {
            manager: &opts.manager,
            subresource: "",
            api_version: &rt.api_version(),
            time: &now,
        };
        patch::record_update(None, &mut body, &writer);
        if opts.dry_run {
            return Ok(body);
        }
        let created = self.commit(
            &rt.group_resource(),
            ns,
            &name,
            EventType::Added,
            None,
            body,
        );
        if rt.is_crd() {
            return self.establish_crd(rt, created);
        }
        Ok(Self::with_type_meta(rt, created))
    }

    pub(super) fn check_type_meta(&self, rt: &ResourceType, body: &Value) -> ApiResult<()> {
        let kind = str_at(body, "/kind").unwrap_or_default();
        let api_version = str_at(body, "/apiVersion").unwrap_or_default();
        if (!kind.is_empty() && kind != rt.kind)
            || (!api_version.is_empty() && api_version != rt.api_version())
        {
            return Err(ApiError::bad_request(format!(
                "the API version in the data ({api_version}) does not match the expected API version ({}) or kind ({kind}) does not match {}",
                rt.api_version(),
                rt.kind
            )));
        }
        Ok(())
    }

    /// PUT of the object or its status.
    pub fn update(
        &mut self,
        rt: &ResourceType,
        ns: &str,
        name: &str,
        body: Value,
        opts: &WriteOptions,
    ) -> ApiResult<Value> {
        if !body.is_object() {
            return Err(ApiError::bad_request(
                "the body of the request must be a JSON object",
            ));
        }
        self.check_type_meta(rt, &body)?;
        check_url_name(&body, name)?;
        let body_ns = str_at(&body, "/metadata/namespace").unwrap_or_default();
        if rt.namespaced && !body_ns.is_empty() && body_ns != ns {
            return Err(ApiError::bad_request(
                "the namespace of the provided object does not match the namespace sent on the request",
            ));
        }
        let old = self.get(rt, ns, name)?;
        self.write(rt, ns, name, old, body, opts)
    }

    /// PATCH of the object or its status.
    pub fn patch(
        &mut self,
        rt: &ResourceType,
        ns: &str,
        name: &str,
        body: PatchBody,
        opts: &WriteOptions,
    ) -> ApiResult<Value> {
        let existing = self.get(rt, ns, name);
        if let PatchBody::Apply { config, force } = body {
            return self.apply(rt, ns, name, existing.ok(), config, force, opts);
        }
        let old = existing?;
        let mut new = old.clone();
        match body {
            PatchBody::Merge(p) => patch::merge_patch(&mut new, &p)?,
            PatchBody::Strategic(p) if !rt.custom => patch::merge_patch(&mut new, &p)?,
            PatchBody::Strategic(_) => {
                return Err(ApiError::unsupported_media_type(
                    "application/strategic-merge-patch+json",
                ));
            }
            PatchBody::Json(p) => patch::json_patch(&mut new, &p)?,
            PatchBody::Apply { .. } => unreachable!("handled above"),
        }
        // A patch carries a precondition only if it sets resourceVersion itself.
        if str_at(&new, "/metadata/resourceVersion") == str_at(&old, "/metadata/resourceVersion") {
            meta_mut(&mut new).remove("resourceVersion");
        }
        self.write(rt, ns, name, old, new, opts)
    }

    #[allow(clippy::too_many_arguments)]
    pub(super) fn apply(
        &mut self,
        rt: &ResourceType,
        ns: &str,
        name: &str,
        existing: Option<Value>,
        mut config: Value,
        force: bool,
        opts: &WriteOptions,
    ) -> ApiResult<Value> {
        if opts.manager.is_empty() {
            return Err(ApiError::bad_request(
                "PatchOptions.meta.k8s.io \"\" is invalid: fieldManager: Required value: is required for apply patch",
            ));
        }
        if str_at(&config, "/apiVersion").is_none() || str_at(&config, "/kind").is_none() {
            return Err(ApiError::bad_request(
                "invalid object type: apply patches need apiVersion and kind",
            ));
        }
        self.check_type_meta(rt, &config)?;
        check_url_name(&config, name)?;
        meta_mut(&mut config).insert("name".into(), json!(name));
        if rt.namespaced {
            meta_mut(&mut config).insert("namespace".into(), json!(ns));
        }
        let now = now();
        let writer = Writer {
            manager: &opts.manager,
            subresource: &opts.subresource,
            api_version: &rt.api_version(),
            time: &now,
        };
        let (applied, conflicts) = patch::apply(existing.as_ref(), &config, &writer, force)?;
        if !conflicts.is_empty() {
            return Err(ApiError::apply_conflict(target(rt, name), &conflicts));
        }
        match existing {
            None => {
                // Apply creates; managedFields already name the applier.
                let managed = applied.pointer("/metadata/managedFields").cloned();
                let mut created = self.create(
                    rt,
                    ns,
                    applied,
                    &WriteOptions {
                        dry_run: true,
                        ..opts.clone()
                    },
                )?;
                if let Some(m) = managed {
                    meta_mut(&mut created).insert("managedFields".into(), m);
                }
                if opts.dry_run {
                    return Ok(created);
                }
                let out = self.commit(
                    &rt.group_resource(),
                    ns,
                    name,
                    EventType::Added,
                    None,
                    created,
                );
                if rt.is_crd() {
                    return self.establish_crd(rt, out);
                }
                Ok(Self::with_type_meta(rt, out))
            }
            Some(old) => {
                let mut new = applied;
                meta_mut(&mut new).remove("resourceVersion");
                self.write_prepared(rt, ns, name, old, new, opts, false)
            }
        }
    }

    /// Common update path for PUT and non-apply PATCH.
    pub(super) fn write(
        &mut self,
        rt: &ResourceType,
        ns: &str,
        name: &str,
        old: Value,
        new: Value,
        opts: &WriteOptions,
    ) -> ApiResult<Value> {
        self.write_prepared(rt, ns, name, old, new, opts, true)
    }

    #[allow(clippy::too_many_arguments)]
    pub(super) fn write_prepared(
        &mut self,
        rt: &ResourceType,
        ns: &str,
        name: &str,
        old: Value,
        mut new: Value,
        opts: &WriteOptions,
        record_manager: bool,
    ) -> ApiResult<Value> {
        let requested_rv = str_at(&new, "/metadata/resourceVersion")
            .unwrap_or_default()
            .to_string();
        if !requested_rv.is_empty()
            && Some(requested_rv.as_str()) != str_at(&old, "/metadata/resourceVersion")
        {
            return Err(ApiError::conflict(target(rt, name)));
        }
        let is_status = opts.subresource == "status";
        if is_status {
            // The status endpoint changes only .status (and managedFields); everything else stays.
            let status = new.get("status").cloned();
            let managed = new.pointer("/metadata/managedFields").cloned();
            new = old.clone();
            match status {
                Some(s) => new["status"] = s,
                None => {
                    new.as_object_mut().expect("object").remove("status");
                }
            }
            if let Some(m) = managed {
                meta_mut(&mut new).insert("managedFields".into(), m);
            }
        } else if rt.status_subresource {
            match old.get("status") {
                Some(s) => new["status"] = s.clone(),
                None => {
                    new.as_object_mut().expect("object").remove("status");
                }
            }
        }
        // Server-owned metadata cannot be changed by clients.
        for key in [
            "name",
            "namespace",
            "uid",
            "creationTimestamp",
            "deletionTimestamp",
            "deletionGracePeriodSeconds",
            "generation",
        ] {
            match old.pointer(&format!("/metadata/{key}")) {
                Some(v) => {
                    meta_mut(&mut new).insert(key.into(), v.clone());
                }
                None => {
                    meta_mut(&mut new).remove(key);
                }
            }
        }
        meta_mut(&mut new).insert(
            "resourceVersion".into(),
            old["metadata"]["resourceVersion"].clone(),
        );
        Self::merge_string_data(rt, &mut new);
        self.validate(rt, name, &mut new, Some(&old))?;
        let deleting = old.pointer("/metadata/deletionTimestamp").is_some();
        if deleting {
            let before = finalizers(&old);
            let added: Vec<String> = finalizers(&new)
                .into_iter()
                .filter(|f| !before.contains(f))
                .collect();
            if !added.is_empty() {
                return Err(ApiError::invalid(
                    target(rt, name),
                    &rt.kind,
                    vec![(
                        "metadata.finalizers".into(),
                        format!(
                            "Forbidden: no new finalizers can be added if the object is being deleted, found new finalizers {added:?}"
                        ),
                    )],
                ));
            }
        }
        if rt.has_generation && spec_part(&old) != spec_part(&new) {
            let generation = old
                .pointer("/metadata/generation")
                .and_then(Value::as_i64)
                .unwrap_or(0);
            meta_mut(&mut new).insert("generation".into(), json!(generation + 1));
        }
        let now = now();
        if record_manager {
            let writer = Writer {
                manager: &opts.manager,
                subresource: &opts.subresource,
                api_version: &rt.api_version(),
                time: &now,
            };
            patch::record_update(Some(&old), &mut new, &writer);
        }
        new = Self::with_type_meta(rt, new);
        // A write that changes nothing is a no-op: same resourceVersion, no event.
        if without_managed_fields(&new) == without_managed_fields(&old) {
            return Ok(old);
        }
        if opts.dry_run {
            return Ok(new);
        }
        if rt.is_crd() {
            self.registry.register_crd(&new)?;
        }
        if deleting && finalizers(&new).is_empty() {
            let gone = self.remove(rt, ns, name, old, new);
            return Ok(gone);
        }
        let out = self.commit(
            &rt.group_resource(),
            ns,
            name,
            EventType::Modified,
            Some(old),
            new,
        );
        Ok(Self::with_type_meta(rt, out))
    }
}

/// DNS-1123 subdomain (or label when `label` is set) as names must be.
pub(super) fn name_error(name: &str, label: bool) -> Option<String> {
    let max = if label { 63 } else { 253 };
    let ok_chars = name
        .chars()
        .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || (!label && c == '.'));
    let ok_ends = name
        .chars()
        .next()
        .is_some_and(|c| c.is_ascii_alphanumeric())
        && name
            .chars()
            .last()
            .is_some_and(|c| c.is_ascii_alphanumeric());
    if name.is_empty() || name.len() > max || !ok_chars || !ok_ends {
        Some(format!(
            "Invalid value: \"{name}\": a lowercase RFC 1123 {} must consist of lower case alphanumeric characters, '-'{}, and must start and end with an alphanumeric character",
            if label { "label" } else { "subdomain" },
            if label { "" } else { " or '.'" }
        ))
    } else {
        None
    }
}

/// A body that names an object must name the one in the URL.
pub(super) fn check_url_name(body: &Value, name: &str) -> ApiResult<()> {
    match str_at(body, "/metadata/name") {
        Some(n) if !n.is_empty() && n != name => Err(ApiError::bad_request(
            "the name of the object does not match the name on the URL",
        )),
        _ => Ok(()),
    }
}

pub(super) fn random_suffix() -> String {
    use rand::Rng;
    const ALPHABET: &[u8] = b"bcdfghjklmnpqrstvwxz2456789";
    let mut rng = rand::rng();
    (0..5)
        .map(|_| ALPHABET[rng.random_range(0..ALPHABET.len())] as char)
        .collect()
}
