//! Deletion: finalizers, namespace termination, CRD removal and deletecollection.

use super::*;

impl Store {
    pub(super) fn remove(
        &mut self,
        rt: &ResourceType,
        ns: &str,
        name: &str,
        old: Value,
        last: Value,
    ) -> Value {
        let gone = self.commit(
            &rt.group_resource(),
            ns,
            name,
            EventType::Deleted,
            Some(old),
            last.clone(),
        );
        if rt.is_crd() {
            self.drop_crd_instances(&last);
        }
        // The last object of a terminating namespace lets the namespace go.
        if rt.namespaced {
            self.reap_namespace(ns);
        }
        Self::with_type_meta(rt, gone)
    }

    pub(super) fn drop_crd_instances(&mut self, crd: &Value) {
        let gr = GroupResource {
            group: str_at(crd, "/spec/group").unwrap_or_default().into(),
            plural: str_at(crd, "/spec/names/plural").unwrap_or_default().into(),
        };
        self.registry.unregister_crd(crd);
        let keys: Vec<(String, String)> = self
            .objects
            .get(&gr)
            .map(|b| b.keys().cloned().collect())
            .unwrap_or_default();
        for (ns, name) in keys {
            if let Some(obj) = self
                .objects
                .get(&gr)
                .and_then(|b| b.get(&(ns.clone(), name.clone())))
                .cloned()
            {
                self.commit(&gr, &ns, &name, EventType::Deleted, Some(obj.clone()), obj);
            }
        }
    }

    /// DELETE, with an optional resourceVersion/uid precondition.
    pub fn delete(
        &mut self,
        rt: &ResourceType,
        ns: &str,
        name: &str,
        precondition_rv: Option<&str>,
        precondition_uid: Option<&str>,
        dry_run: bool,
    ) -> ApiResult<Deleted> {
        let old = self.get(rt, ns, name)?;
        if precondition_rv.is_some_and(|rv| Some(rv) != str_at(&old, "/metadata/resourceVersion"))
            || precondition_uid.is_some_and(|uid| Some(uid) != str_at(&old, "/metadata/uid"))
        {
            return Err(ApiError::conflict(target(rt, name)));
        }
        let is_namespace = rt.is_namespace();
        if finalizers(&old).is_empty() && !is_namespace {
            if dry_run {
                return Ok(Deleted::Gone(old));
            }
            let last = old.clone();
            return Ok(Deleted::Gone(self.remove(rt, ns, name, old, last)));
        }
        if old.pointer("/metadata/deletionTimestamp").is_some() {
            return Ok(Deleted::Pending(old));
        }
        let mut new = old.clone();
        let meta = meta_mut(&mut new);
        meta.insert("deletionTimestamp".into(), json!(now()));
        meta.insert("deletionGracePeriodSeconds".into(), json!(0));
        if rt.has_generation {
            let generation = old
                .pointer("/metadata/generation")
                .and_then(Value::as_i64)
                .unwrap_or(0);
            meta.insert("generation".into(), json!(generation + 1));
        }
        if is_namespace {
            new["status"] = json!({ "phase": "Terminating" });
        }
        if dry_run {
            return Ok(Deleted::Pending(new));
        }
        let out = self.commit(
            &rt.group_resource(),
            ns,
            name,
            EventType::Modified,
            Some(old),
            new,
        );
        if is_namespace {
            self.empty_namespace(name);
            if let Ok(current) = self.get(rt, "", name) {
                return Ok(Deleted::Pending(current));
            }
            return Ok(Deleted::Gone(Self::with_type_meta(rt, out)));
        }
        Ok(Deleted::Pending(Self::with_type_meta(rt, out)))
    }

    /// Deletes every object in a terminating namespace, then the namespace once it is empty.
    pub(super) fn empty_namespace(&mut self, ns: &str) {
        let types: Vec<ResourceType> = self
            .registry
            .all()
            .filter(|rt| rt.namespaced)
            .cloned()
            .collect();
        let mut seen = std::collections::BTreeSet::new();
        for rt in types {
            if !seen.insert(rt.group_resource()) {
                continue;
            }
            let names: Vec<String> = self
                .bucket(&rt)
                .map(|b| {
                    b.keys()
                        .filter(|(n, _)| n == ns)
                        .map(|(_, name)| name.clone())
                        .collect()
                })
                .unwrap_or_default();
            for name in names {
                // Errors cannot happen for objects that exist; ignore races with finalizers.
                let _ = self.delete(&rt, ns, &name, None, None, false);
            }
        }
        self.reap_namespace(ns);
    }

    pub(super) fn reap_namespace(&mut self, ns: &str) {
        let namespaces = GroupResource {
            group: String::new(),
            plural: "namespaces".into(),
        };
        let Some(namespace) = self
            .objects
            .get(&namespaces)
            .and_then(|b| b.get(&(String::new(), ns.to_string())))
            .cloned()
        else {
            return;
        };
        if namespace.pointer("/metadata/deletionTimestamp").is_none()
            || !finalizers(&namespace).is_empty()
        {
            return;
        }
        let has_content = self
            .objects
            .iter()
            .filter(|(gr, _)| **gr != namespaces)
            .any(|(_, b)| b.keys().any(|(n, _)| n == ns));
        if !has_content {
            self.commit(
                &namespaces,
                "",
                ns,
                EventType::Deleted,
                Some(namespace.clone()),
                namespace,
            );
        }
    }

    /// DELETE on a collection: deletes every matching object.
    pub fn delete_collection(
        &mut self,
        rt: &ResourceType,
        filter: &Filter,
        dry_run: bool,
    ) -> ApiResult<Vec<Value>> {
        let keys: Vec<(String, String)> = self
            .bucket(rt)
            .into_iter()
            .flatten()
            .filter(|((ns, _), o)| filter.matches(ns, o))
            .map(|(k, _)| k.clone())
            .collect();
        let mut out = Vec::new();
        for (ns, name) in keys {
            match self.delete(rt, &ns, &name, None, None, dry_run)? {
                Deleted::Pending(o) | Deleted::Gone(o) => out.push(o),
            }
        }
        Ok(out)
    }
}
