//! Event admission: which watch events start a reconcile (gardener-contract §4.7, §10.5).
//!
//! kube-runtime watchers deliver only the new object, but Gardener's update predicate compares the
//! old status with the new one. The filter therefore keeps a small snapshot per object (a status
//! hash and the generation) and emulates controller-runtime's Create and Update events: an object
//! seen for the first time (also after a restart) is a Create.

use crate::cache::SeedCache;
use crate::cluster::shoot_not_failed;
use crate::kind::ExtensionKind;
use crate::own_writes::OwnWrites;
use gardener_api::constants::{OPERATION_MIGRATE, OPERATION_RECONCILE, OPERATION_RESTORE};
use gardener_api::extensions::{ExtensionClass, LastOperationState};
use kube::ResourceExt;
use kube::runtime::reflector::ObjectRef;
use std::collections::HashMap;
use std::hash::{DefaultHasher, Hash, Hasher};
use std::sync::Mutex;

/// What is remembered of an object between events.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Snapshot {
    status: u64,
    generation: Option<i64>,
}

impl Snapshot {
    /// Snapshot of an object.
    pub fn of<K: ExtensionKind>(object: &K) -> Self {
        let mut hasher = DefaultHasher::new();
        // The whole status (OSC has fields beyond the default status).
        serde_json::to_value(object)
            .ok()
            .and_then(|v| v.get("status").map(|s| s.to_string()))
            .unwrap_or_default()
            .hash(&mut hasher);
        Self {
            status: hasher.finish(),
            generation: object.meta().generation,
        }
    }
}

/// How update events are admitted.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mode {
    /// Operation annotations, deletion and unfinished operations (the default).
    OperationAnnotation,
    /// Generation changes only (`--ignore-operation-annotation`).
    GenerationChanged,
}

/// Decides per event whether to reconcile.
pub struct EventFilter {
    mode: Mode,
    own_writes: std::sync::Arc<OwnWrites>,
    in_flight: Mutex<HashMap<String, Vec<String>>>,
    classes: Vec<ExtensionClass>,
    types: Vec<String>,
    snapshots: Mutex<HashMap<String, Snapshot>>,
}

fn key<K: ExtensionKind>(object: &K) -> String {
    ObjectRef::from_obj(object).to_string()
}

fn has_operation<K: ExtensionKind>(object: &K) -> bool {
    matches!(
        crate::operation::operation_annotation(object.meta()),
        Some(OPERATION_RECONCILE | OPERATION_RESTORE | OPERATION_MIGRATE)
    )
}

impl EventFilter {
    /// A filter for the given mode, classes (empty = `[shoot]`) and types (empty = any).
    pub fn new(mode: Mode, classes: Vec<ExtensionClass>, types: Vec<String>) -> Self {
        let classes = if classes.is_empty() {
            vec![ExtensionClass::Shoot]
        } else {
            classes
        };
        Self {
            mode,
            classes,
            types,
            snapshots: Mutex::new(HashMap::new()),
            own_writes: Default::default(),
            in_flight: Mutex::new(HashMap::new()),
        }
    }

    /// The record of this controller's own writes (shared with its reconciler).
    pub fn own_writes(&self) -> std::sync::Arc<OwnWrites> {
        self.own_writes.clone()
    }

    /// Class and type filters (`HasClass`, `HasType`/`HasOneOfTypes`).
    pub fn matches_class_and_type<K: ExtensionKind>(&self, object: &K) -> bool {
        let spec = object.default_spec();
        self.classes.contains(&spec.class_or_default())
            && (self.types.is_empty() || self.types.contains(&spec.type_))
    }

    /// Records the object and returns whether the event passes the mode's rule (without the
    /// failed-shoot check, which needs the API).
    ///
    /// Events caused by this controller's own writes never pass. While the object is being
    /// reconciled, the response of a write can arrive after its watch event, so passing events are
    /// held back and judged by [`EventFilter::end`] once the reconcile has recorded all its writes.
    pub fn observe<K: ExtensionKind>(&self, object: &K) -> bool {
        let now = Snapshot::of(object);
        let key = key(object);
        let old = self
            .snapshots
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .insert(key.clone(), now);
        let rv = object.resource_version().unwrap_or_default();
        if self.own_writes.is_own(&key, &rv) {
            return false;
        }
        let passes = match (self.mode, old) {
            (Mode::GenerationChanged, None) => true,
            (Mode::GenerationChanged, Some(old)) => old.generation != now.generation,
            (Mode::OperationAnnotation, _) if has_operation(object) => true,
            (Mode::OperationAnnotation, None) => {
                object.meta().deletion_timestamp.is_some()
                    || object
                        .default_status()
                        .and_then(|s| s.last_operation.as_ref())
                        .is_none_or(|op| op.state != LastOperationState::Succeeded)
            }
            (Mode::OperationAnnotation, Some(old)) => {
                object.meta().deletion_timestamp.is_some() && old.status == now.status
            }
        };
        if passes
            && let Some(deferred) = self
                .in_flight
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .get_mut(&key)
        {
            deferred.push(rv);
            return false;
        }
        passes
    }

    /// Forgets a deleted object (deletion events never trigger).
    pub fn forget<K: ExtensionKind>(&self, object: &K) {
        let key = key(object);
        self.own_writes.forget(&key);
        self.snapshots
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .remove(&key);
    }

    /// Marks `key` as being reconciled.
    pub fn begin(&self, key: &str) {
        self.in_flight
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .insert(key.to_string(), Vec::new());
    }

    /// Ends the reconcile of `key`; returns whether an event held back meanwhile came from someone
    /// else (the object must be reconciled again).
    pub fn end(&self, key: &str) -> bool {
        let deferred = self
            .in_flight
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .remove(key)
            .unwrap_or_default();
        deferred.iter().any(|rv| !self.own_writes.is_own(key, rv))
    }

    /// Whether an object passes class, type and the mode's rule, and its shoot is not failed.
    pub async fn admit<K: ExtensionKind>(&self, cache: &SeedCache, object: &K) -> bool {
        if !self.matches_class_and_type(object) {
            return false;
        }
        self.observe(object)
            && shoot_not_failed(cache, &object.namespace().unwrap_or_default()).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use gardener_api::extensions::{DefaultSpec, Extension, ExtensionSpec};

    fn ext(rv: &str, annotation: Option<&str>) -> Extension {
        let mut e = Extension::new(
            "a",
            ExtensionSpec {
                default_spec: DefaultSpec::of_type("t"),
            },
        );
        e.metadata.namespace = Some("ns".into());
        e.metadata.resource_version = Some(rv.into());
        e.metadata.annotations = annotation.map(|a| {
            [(
                gardener_api::constants::OPERATION_ANNOTATION.to_string(),
                a.to_string(),
            )]
            .into()
        });
        e
    }

    /// A re-list during a reconcile shows our own write again (its watch event was already seen):
    /// that is no change by someone else, so no second reconcile follows.
    #[test]
    fn relisted_own_writes_trigger_nothing() {
        let filter = EventFilter::new(Mode::OperationAnnotation, vec![], vec![]);
        assert!(
            filter.observe(&ext("1", Some("restore"))),
            "gardenlet's request"
        );
        let key = key(&ext("1", None));
        filter.begin(&key);
        filter.own_writes().record(&key, "2".into());
        assert!(
            !filter.observe(&ext("2", Some("restore"))),
            "watch event of our write"
        );
        assert!(
            !filter.observe(&ext("2", Some("restore"))),
            "the same version, re-listed"
        );
        assert!(!filter.end(&key), "nothing changed meanwhile");
        filter.begin(&key);
        assert!(
            !filter.observe(&ext("3", Some("reconcile"))),
            "held back while running"
        );
        assert!(
            filter.end(&key),
            "a foreign change during the reconcile reruns it"
        );
    }

    /// A relist served before our first write shows the version the run read, annotation and
    /// all: that request is being handled, so it must not queue a second run (the reconciler
    /// records the version it read, as it records its writes).
    #[test]
    fn a_relisted_version_the_run_read_is_no_new_request() {
        let filter = EventFilter::new(Mode::OperationAnnotation, vec![], vec![]);
        assert!(filter.observe(&ext("1", Some("reconcile"))));
        let key = key(&ext("1", None));
        filter.begin(&key);
        filter.own_writes().record(&key, "1".into());
        filter.own_writes().record(&key, "2".into());
        assert!(
            !filter.observe(&ext("1", Some("reconcile"))),
            "relisted as read"
        );
        assert!(!filter.end(&key), "no second run");
    }
}
