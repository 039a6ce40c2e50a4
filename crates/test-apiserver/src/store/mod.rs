//! Object storage with etcd-like semantics: a global resourceVersion, an event history for watches,
//! and the API server's write rules (status subresource, generation, finalizers, preconditions).

mod admission;
mod delete;
mod read;
mod write;

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
}
