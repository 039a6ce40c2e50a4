//! Object storage with etcd-like semantics: a global resourceVersion, an event history for watches,
//! and the API server's write rules (status subresource, generation, finalizers, preconditions).

use crate::error::{ApiError, ApiResult, Target};
use crate::patch::{self, Writer};
use crate::registry::{GroupResource, Registry, ResourceType};
use crate::schema;
use crate::selectors::{FieldSelector, LabelSelector};
use base64::Engine;
use serde_json::{Value, json};
use std::collections::{BTreeMap, VecDeque};
use std::sync::Arc;
use tokio::sync::broadcast;

/// Kind of a watch event.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum EventType {
    /// Object created.
    Added,
    /// Object changed.
    Modified,
    /// Object removed.
    Deleted,
}

impl EventType {
    /// Wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Added => "ADDED",
            Self::Modified => "MODIFIED",
            Self::Deleted => "DELETED",
        }
    }
}

/// One change in the history.
#[derive(Debug)]
pub struct Change {
    /// resourceVersion of the change.
    pub rv: u64,
    /// Resource.
    pub gr: GroupResource,
    /// Namespace (empty for cluster-scoped).
    pub namespace: String,
    /// What happened.
    pub kind: EventType,
    /// The object before (for MODIFIED/DELETED).
    pub old: Option<Value>,
    /// The object after (for DELETED: the last state with the deletion's resourceVersion).
    pub object: Value,
}

/// Query filters shared by list and watch.
#[derive(Clone, Debug, Default)]
pub struct Filter {
    /// Namespace, or all namespaces.
    pub namespace: Option<String>,
    /// `labelSelector`.
    pub labels: LabelSelector,
    /// `fieldSelector`.
    pub fields: FieldSelector,
}

impl Filter {
    fn matches(&self, namespace: &str, object: &Value) -> bool {
        self.namespace.as_deref().is_none_or(|ns| ns == namespace)
            && self.labels.matches(object)
            && self.fields.matches(object)
    }

    /// How a change looks to a watcher with this filter: objects moving into or out of the selection
    /// appear as ADDED or DELETED, like on a real server.
    pub fn view(&self, change: &Change) -> Option<EventType> {
        let now = self.matches(&change.namespace, &change.object);
        let before = change
            .old
            .as_ref()
            .is_some_and(|o| self.matches(&change.namespace, o));
        match change.kind {
            EventType::Added => now.then_some(EventType::Added),
            EventType::Deleted => (now || before).then_some(EventType::Deleted),
            EventType::Modified => match (before, now) {
                (true, true) => Some(EventType::Modified),
                (true, false) => Some(EventType::Deleted),
                (false, true) => Some(EventType::Added),
                (false, false) => None,
            },
        }
    }
}

/// Who is writing, and how.
#[derive(Clone, Debug, Default)]
pub struct WriteOptions {
    /// Field manager (from `fieldManager` or the user agent).
    pub manager: String,
    /// `status` for the status subresource, else empty.
    pub subresource: String,
    /// `dryRun=All`: validate and return, store nothing.
    pub dry_run: bool,
}

/// A patch body and its type.
#[derive(Clone, Debug)]
pub enum PatchBody {
    /// `application/merge-patch+json`.
    Merge(Value),
    /// `application/json-patch+json`.
    Json(Value),
    /// `application/strategic-merge-patch+json` (built-ins only; applied as a merge patch).
    Strategic(Value),
    /// `application/apply-patch+yaml`.
    Apply {
        /// The applied configuration.
        config: Value,
        /// `force=true`.
        force: bool,
    },
}

/// Outcome of a DELETE.
#[derive(Debug)]
pub enum Deleted {
    /// Finalizers are pending; the object now carries a deletionTimestamp.
    Pending(Value),
    /// The object is gone.
    Gone(Value),
}

/// One page of a list.
#[derive(Debug)]
pub struct Page {
    /// Items.
    pub items: Vec<Value>,
    /// resourceVersion of the list.
    pub resource_version: u64,
    /// Continue token if more items exist.
    pub continue_token: Option<String>,
    /// Items after this page.
    pub remaining: Option<usize>,
}

/// The state of the server.
pub struct Store {
    /// Known resource types.
    pub registry: Registry,
    objects: BTreeMap<GroupResource, BTreeMap<(String, String), Value>>,
    rv: u64,
    history: VecDeque<Arc<Change>>,
    history_limit: usize,
    /// Events with rv below this are gone; watching from an older rv answers 410.
    oldest_watchable: u64,
    events: broadcast::Sender<Arc<Change>>,
}

/// RFC 3339 timestamp with second precision, as `metav1.Time` serializes.
pub fn now() -> String {
    k8s_openapi::jiff::Timestamp::now()
        .strftime("%Y-%m-%dT%H:%M:%SZ")
        .to_string()
}

fn target<'a>(rt: &'a ResourceType, name: &'a str) -> Target<'a> {
    Target {
        group: &rt.group,
        plural: &rt.plural,
        kind: &rt.kind,
        name,
    }
}

fn str_at<'a>(v: &'a Value, pointer: &str) -> Option<&'a str> {
    v.pointer(pointer).and_then(Value::as_str)
}

fn finalizers(v: &Value) -> Vec<String> {
    v.pointer("/metadata/finalizers")
        .and_then(Value::as_array)
        .map(|a| {
            a.iter()
                .filter_map(|f| f.as_str().map(str::to_string))
                .collect()
        })
        .unwrap_or_default()
}

fn meta_mut(v: &mut Value) -> &mut serde_json::Map<String, Value> {
    if !v.get("metadata").is_some_and(Value::is_object) {
        v["metadata"] = json!({});
    }
    v["metadata"]
        .as_object_mut()
        .expect("metadata is an object")
}

/// The object without metadata and status: what `generation` tracks.
fn spec_part(v: &Value) -> Value {
    let mut v = v.clone();
    if let Some(map) = v.as_object_mut() {
        map.remove("metadata");
        map.remove("status");
        map.remove("apiVersion");
        map.remove("kind");
    }
    v
}

fn without_managed_fields(v: &Value) -> Value {
    let mut v = v.clone();
    if let Some(meta) = v.get_mut("metadata").and_then(Value::as_object_mut) {
        meta.remove("managedFields");
    }
    v
}

/// DNS-1123 subdomain (or label when `label` is set) as names must be.
fn name_error(name: &str, label: bool) -> Option<String> {
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
fn check_url_name(body: &Value, name: &str) -> ApiResult<()> {
    match str_at(body, "/metadata/name") {
        Some(n) if !n.is_empty() && n != name => Err(ApiError::bad_request(
            "the name of the object does not match the name on the URL",
        )),
        _ => Ok(()),
    }
}

fn random_suffix() -> String {
    use rand::Rng;
    const ALPHABET: &[u8] = b"bcdfghjklmnpqrstvwxz2456789";
    let mut rng = rand::rng();
    (0..5)
        .map(|_| ALPHABET[rng.random_range(0..ALPHABET.len())] as char)
        .collect()
}

impl Store {
    /// An empty store with the built-in resources.
    pub fn new(history_limit: usize) -> Self {
        let (events, _) = broadcast::channel(4096);
        Self {
            registry: Registry::with_builtins(),
            objects: BTreeMap::new(),
            rv: 1,
            history: VecDeque::new(),
            history_limit: history_limit.max(1),
            oldest_watchable: 1,
            events,
        }
    }

    /// The current (latest) resourceVersion.
    pub fn current_rv(&self) -> u64 {
        self.rv
    }

    /// Drops the whole event history: watches from any earlier resourceVersion get 410 `Expired`.
    pub fn compact(&mut self) {
        self.history.clear();
        self.oldest_watchable = self.rv;
    }

    /// Subscribes to changes committed from now on.
    pub fn subscribe(&self) -> broadcast::Receiver<Arc<Change>> {
        self.events.subscribe()
    }

    fn with_type_meta(rt: &ResourceType, mut object: Value) -> Value {
        if let Some(map) = object.as_object_mut() {
            map.insert("apiVersion".into(), json!(rt.api_version()));
            map.insert("kind".into(), json!(rt.kind));
        }
        object
    }

    fn bucket(&self, rt: &ResourceType) -> Option<&BTreeMap<(String, String), Value>> {
        self.objects.get(&rt.group_resource())
    }

    /// GET.
    pub fn get(&self, rt: &ResourceType, ns: &str, name: &str) -> ApiResult<Value> {
        self.bucket(rt)
            .and_then(|b| b.get(&(ns.to_string(), name.to_string())))
            .map(|o| Self::with_type_meta(rt, o.clone()))
            .ok_or_else(|| ApiError::not_found(target(rt, name)))
    }

    /// LIST with selectors and `limit`/`continue` pagination.
    pub fn list(
        &self,
        rt: &ResourceType,
        filter: &Filter,
        limit: Option<usize>,
        continue_token: Option<&str>,
    ) -> ApiResult<Page> {
        let start_after = match continue_token.filter(|t| !t.is_empty()) {
            Some(token) => Some(self.decode_continue(token)?),
            None => None,
        };
        let mut matching = self
            .bucket(rt)
            .into_iter()
            .flatten()
            .filter(|((ns, _), o)| filter.matches(ns, o))
            .filter(|(key, _)| start_after.as_ref().is_none_or(|(_, after)| *key > after));
        let mut items = Vec::new();
        let mut last_key = None;
        for (key, object) in matching.by_ref() {
            if limit.is_some_and(|l| l > 0 && items.len() >= l) {
                // One more exists: this page ends at the previous key.
                let remaining = 1 + matching.count();
                let token = self.encode_continue(last_key.as_ref().expect("page is non-empty"));
                return Ok(Page {
                    items,
                    resource_version: self.rv,
                    continue_token: Some(token),
                    remaining: Some(remaining),
                });
            }
            items.push(Self::with_type_meta(rt, object.clone()));
            last_key = Some(key.clone());
        }
        Ok(Page {
            items,
            resource_version: self.rv,
            continue_token: None,
            remaining: None,
        })
    }

    fn encode_continue(&self, key: &(String, String)) -> String {
        let raw = json!({ "rv": self.rv, "ns": key.0, "name": key.1 }).to_string();
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(raw)
    }

    fn decode_continue(&self, token: &str) -> ApiResult<(u64, (String, String))> {
        let invalid = || ApiError::bad_request(format!("continue key is not valid: {token}"));
        let raw = base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(token)
            .map_err(|_| invalid())?;
        let v: Value = serde_json::from_slice(&raw).map_err(|_| invalid())?;
        let rv = v.get("rv").and_then(Value::as_u64).ok_or_else(invalid)?;
        if rv < self.oldest_watchable {
            return Err(ApiError::expired(
                "The provided continue parameter is too old to display a consistent list result. You can start a new list without the continue parameter.",
            ));
        }
        let key = (
            str_at(&v, "/ns").unwrap_or_default().to_string(),
            str_at(&v, "/name").unwrap_or_default().to_string(),
        );
        Ok((rv, key))
    }

    /// Changes after `rv` that are still in the history, or 410 if some were compacted away.
    pub fn changes_since(&self, rv: u64) -> ApiResult<Vec<Arc<Change>>> {
        if rv < self.oldest_watchable {
            return Err(ApiError::expired(format!(
                "too old resource version: {rv} ({})",
                self.oldest_watchable
            )));
        }
        Ok(self.history.iter().filter(|c| c.rv > rv).cloned().collect())
    }

    /// Current objects of a resource matching a filter (synthetic ADDED events of a watch).
    pub fn snapshot(&self, rt: &ResourceType, filter: &Filter) -> Vec<Value> {
        self.bucket(rt)
            .into_iter()
            .flatten()
            .filter(|((ns, _), o)| filter.matches(ns, o))
            .map(|(_, o)| Self::with_type_meta(rt, o.clone()))
            .collect()
    }

    fn commit(
        &mut self,
        gr: &GroupResource,
        ns: &str,
        name: &str,
        kind: EventType,
        old: Option<Value>,
        mut object: Value,
    ) -> Value {
        self.rv += 1;
        meta_mut(&mut object).insert("resourceVersion".into(), json!(self.rv.to_string()));
        let bucket = self.objects.entry(gr.clone()).or_default();
        let key = (ns.to_string(), name.to_string());
        if kind == EventType::Deleted {
            bucket.remove(&key);
        } else {
            bucket.insert(key, object.clone());
        }
        let change = Arc::new(Change {
            rv: self.rv,
            gr: gr.clone(),
            namespace: ns.to_string(),
            kind,
            old,
            object: object.clone(),
        });
        self.history.push_back(change.clone());
        while self.history.len() > self.history_limit {
            if let Some(dropped) = self.history.pop_front() {
                self.oldest_watchable = dropped.rv;
            }
        }
        // Nobody listening is fine.
        let _ = self.events.send(change);
        object
    }

    fn check_namespace(&self, rt: &ResourceType, ns: &str, creating: bool) -> ApiResult<()> {
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

    fn check_type_meta(&self, rt: &ResourceType, body: &Value) -> ApiResult<()> {
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

    /// Server-side defaults of built-in kinds that controllers read back.
    fn default_builtin(&self, rt: &ResourceType, body: &mut Value) {
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
    fn merge_string_data(rt: &ResourceType, body: &mut Value) {
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

    fn validate(
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
    fn establish_crd(&mut self, rt: &ResourceType, crd: Value) -> ApiResult<Value> {
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
    fn apply(
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
    fn write(
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
    fn write_prepared(
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

    fn remove(
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

    fn drop_crd_instances(&mut self, crd: &Value) {
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
    fn empty_namespace(&mut self, ns: &str) {
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

    fn reap_namespace(&mut self, ns: &str) {
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
