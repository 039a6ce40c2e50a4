//! One watch per kind for the controllers of a process.
//!
//! controller-runtime's manager gives every controller of a type the same informer. Here the
//! lifecycle controller of a kind *leads*: its watch fills the kind's one store. Controllers that
//! *follow* the kind (the health checks) read that store, and get a feed of the objects the leader
//! saw, instead of listing and watching the kind a second time (a second copy of every object in
//! memory, a second list and watch on the API server).
//!
//! Every enabled controller registers before any of them runs
//! ([`Runnable::register`](crate::runtime::Runnable::register)), so a follower knows at its start
//! whether a leader feeds it; without one (the lifecycle controller disabled) it watches alone.

use crate::kind::ExtensionKind;
use futures::{Stream, StreamExt, stream};
use kube::runtime::reflector::{self, ObjectRef, Store, store::Writer};
use std::any::{Any, TypeId};
use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};
use tokio::sync::broadcast::{self, error::RecvError};

/// How far a follower may fall behind the leader's events before it re-reads the whole store
/// (after an initial list of more objects than this, for example).
const FEED_CAPACITY: usize = 256;

/// The shared watches of one process, by kind. Cloning shares them.
#[derive(Clone, Default)]
pub struct SharedWatches {
    kinds: Arc<Mutex<HashMap<TypeId, Box<dyn Any + Send>>>>,
}

struct Shared<K: ExtensionKind> {
    reader: Store<K>,
    writer: Option<Writer<K>>,
    feed: broadcast::Sender<Notice<K>>,
}

/// What the leader tells its followers: an object changed, or its watch re-listed the kind (the
/// store then holds a new list, which followers compare with what they saw).
#[derive(Clone)]
enum Notice<K: ExtensionKind> {
    Changed(ObjectRef<K>),
    Relisted,
}

impl SharedWatches {
    fn with<K: ExtensionKind, R>(&self, f: impl FnOnce(&mut Shared<K>) -> R) -> R {
        let mut kinds = self.kinds.lock().unwrap_or_else(PoisonError::into_inner);
        let entry = kinds.entry(TypeId::of::<K>()).or_insert_with(|| {
            let (reader, writer) = reflector::store::<K>();
            Box::new(Shared {
                reader,
                writer: Some(writer),
                feed: broadcast::channel(FEED_CAPACITY).0,
            })
        });
        f(entry
            .downcast_mut::<Shared<K>>()
            .expect("entries are keyed by their own type"))
    }

    /// The kind's watch for the first controller that leads it; `None` once another leads (that
    /// controller then watches alone).
    pub(crate) fn lead<K: ExtensionKind>(&self) -> Option<Leader<K>> {
        self.with(|shared: &mut Shared<K>| {
            Some(Leader {
                reader: shared.reader.clone(),
                writer: shared.writer.take()?,
                publisher: Publisher(shared.feed.clone()),
            })
        })
    }

    /// A follower of the kind. It is fed only if a controller leads the kind
    /// ([`SharedWatches::is_led`], asked once every controller has registered).
    pub(crate) fn follow<K: ExtensionKind>(&self) -> Follower<K> {
        self.with(|shared: &mut Shared<K>| Follower {
            reader: shared.reader.clone(),
            feed: shared.feed.subscribe(),
        })
    }

    /// Whether a controller leads the kind.
    pub(crate) fn is_led<K: ExtensionKind>(&self) -> bool {
        self.with(|shared: &mut Shared<K>| shared.writer.is_none())
    }
}

/// The leading controller's part: the store to reflect its watch into, and the feed to tell
/// followers about every object it applies or deletes.
pub(crate) struct Leader<K: ExtensionKind> {
    /// The kind's store.
    pub reader: Store<K>,
    /// Its writer, for the leader's `reflect`.
    pub writer: Writer<K>,
    /// The followers' feed.
    pub publisher: Publisher<K>,
}

impl<K: ExtensionKind> Leader<K> {
    /// A watch of its own for a controller that does not lead the kind: nobody follows it.
    pub fn alone() -> Self {
        let (reader, writer) = reflector::store::<K>();
        Self {
            reader,
            writer,
            publisher: Publisher(broadcast::channel(1).0),
        }
    }
}

/// Tells the followers which objects the leader's watch applied or deleted.
pub(crate) struct Publisher<K: ExtensionKind>(broadcast::Sender<Notice<K>>);

impl<K: ExtensionKind> Publisher<K> {
    /// Tells the followers that `object` changed (after the store has it).
    pub fn publish(&self, object: &K) {
        if self.0.receiver_count() > 0 {
            // An error only means every follower has gone.
            let _ = self.0.send(Notice::Changed(ObjectRef::from_obj(object)));
        }
    }

    /// Tells the followers that a (re-)list has replaced the store's contents: during a re-list
    /// the store still holds the old objects when their events pass, so the new ones are read
    /// once the list is complete.
    pub fn relisted(&self) {
        if self.0.receiver_count() > 0 {
            let _ = self.0.send(Notice::Relisted);
        }
    }
}

/// A following controller's part: the kind's store and the leader's feed.
pub(crate) struct Follower<K: ExtensionKind> {
    /// The kind's store (the leader's).
    pub reader: Store<K>,
    feed: broadcast::Receiver<Notice<K>>,
}

impl<K: ExtensionKind> Follower<K> {
    /// The objects the leader saw that `keep` accepts, each when first seen and then whenever its
    /// generation changed (the `generation` predicate, on the shared store). After a re-list, and
    /// when it falls behind, a follower re-reads the whole store; unchanged objects are dropped.
    pub fn changed_generations(
        self,
        keep: impl Fn(&K) -> bool + Send + 'static,
    ) -> impl Stream<Item = Arc<K>> + Send + 'static {
        let state = FeedState {
            feed: self.feed,
            reader: self.reader,
            seen: HashMap::new(),
            keep,
        };
        stream::unfold(state, |mut state| async move {
            loop {
                let refs = match state.feed.recv().await {
                    Ok(Notice::Changed(object)) => vec![object],
                    Ok(Notice::Relisted) | Err(RecvError::Lagged(_)) => state
                        .reader
                        .state()
                        .iter()
                        .map(|o| ObjectRef::from_obj(o.as_ref()))
                        .collect(),
                    Err(RecvError::Closed) => return None,
                };
                let changed = state.changed(refs);
                if !changed.is_empty() {
                    return Some((stream::iter(changed), state));
                }
            }
        })
        .flatten()
    }
}

struct FeedState<K: ExtensionKind, F> {
    feed: broadcast::Receiver<Notice<K>>,
    reader: Store<K>,
    /// The generation each object had when last passed on.
    seen: HashMap<ObjectRef<K>, Option<i64>>,
    keep: F,
}

impl<K: ExtensionKind, F: Fn(&K) -> bool> FeedState<K, F> {
    fn changed(&mut self, refs: Vec<ObjectRef<K>>) -> Vec<Arc<K>> {
        let mut changed = Vec::new();
        for object_ref in refs {
            let Some(object) = self.reader.get(&object_ref) else {
                // Deleted: forget it, so that the map does not grow with deleted objects.
                self.seen.remove(&object_ref);
                continue;
            };
            if !(self.keep)(&object) {
                continue;
            }
            let generation = object.meta().generation;
            if self.seen.insert(object_ref, generation) != Some(generation) {
                changed.push(object);
            }
        }
        changed
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use futures::FutureExt;
    use gardener_api::extensions::Extension;
    use kube::runtime::watcher::Event;

    fn extension(name: &str, type_: &str, generation: i64) -> Extension {
        serde_json::from_value(serde_json::json!({
            "apiVersion": "extensions.gardener.cloud/v1alpha1", "kind": "Extension",
            "metadata": {"name": name, "namespace": "shoot--a--b", "generation": generation},
            "spec": {"type": type_},
        }))
        .unwrap()
    }

    fn apply(leader: &mut Leader<Extension>, object: Extension) {
        leader
            .writer
            .apply_watcher_event(&Event::Apply(object.clone()));
        leader.publisher.publish(&object);
    }

    type Feed = std::pin::Pin<Box<dyn Stream<Item = Arc<Extension>> + Send>>;

    /// A leader of the kind, and the feed of a follower that keeps every object.
    fn following_every_object() -> (Leader<Extension>, Feed) {
        let watches = SharedWatches::default();
        let follower = watches.follow::<Extension>();
        let leader = watches.lead::<Extension>().unwrap();
        (
            leader,
            Box::pin(follower.changed_generations(|_: &Extension| true)),
        )
    }

    fn names(objects: Vec<Arc<Extension>>) -> Vec<String> {
        objects
            .iter()
            .map(|o| o.metadata.name.clone().unwrap())
            .collect()
    }

    #[test]
    fn one_leader_per_kind_and_followers_share_its_store() {
        let watches = SharedWatches::default();
        assert!(!watches.is_led::<Extension>());
        let follower = watches.follow::<Extension>();
        let mut leader = watches.lead::<Extension>().expect("the first leads");
        assert!(
            watches.lead::<Extension>().is_none(),
            "a second watches alone"
        );
        assert!(watches.is_led::<Extension>());
        apply(&mut leader, extension("a", "t", 1));
        assert_eq!(follower.reader.state().len(), 1, "one store");
    }

    #[tokio::test]
    async fn followers_get_new_objects_and_changed_generations_of_their_type() {
        let watches = SharedWatches::default();
        let follower = watches.follow::<Extension>();
        let mut leader = watches.lead::<Extension>().unwrap();
        let mut feed = Box::pin(
            follower.changed_generations(|e: &Extension| e.spec.default_spec.type_ == "t"),
        );
        let mut next = move || feed.next().now_or_never().flatten();
        apply(&mut leader, extension("a", "t", 1));
        assert_eq!(next().unwrap().metadata.generation, Some(1), "new");
        apply(&mut leader, extension("other", "u", 1));
        assert!(next().is_none(), "another type");
        apply(&mut leader, extension("a", "t", 1));
        assert!(next().is_none(), "a status change keeps the generation");
        apply(&mut leader, extension("a", "t", 2));
        assert_eq!(next().unwrap().metadata.generation, Some(2), "changed");
    }

    #[tokio::test]
    async fn a_follower_that_falls_behind_rereads_the_store() {
        let (mut leader, mut feed) = following_every_object();
        for i in 0..FEED_CAPACITY + 10 {
            apply(&mut leader, extension(&format!("e{i}"), "t", 1));
        }
        let mut got = Vec::new();
        while let Some(Some(object)) = feed.next().now_or_never() {
            got.push(object);
        }
        let mut got = names(got);
        got.sort();
        got.dedup();
        assert_eq!(
            got.len(),
            FEED_CAPACITY + 10,
            "every object, once the lag is seen"
        );
    }

    #[tokio::test]
    async fn a_relist_is_read_once_the_store_holds_it() {
        let (mut leader, mut feed) = following_every_object();
        apply(&mut leader, extension("a", "t", 1));
        assert!(feed.next().now_or_never().flatten().is_some());
        // A re-list: its objects pass while the store still holds the old list.
        leader.writer.apply_watcher_event(&Event::Init);
        let changed = extension("a", "t", 2);
        leader
            .writer
            .apply_watcher_event(&Event::InitApply(changed.clone()));
        leader.publisher.publish(&changed);
        assert!(
            feed.next().now_or_never().is_none(),
            "the store is not swapped yet"
        );
        leader.writer.apply_watcher_event(&Event::InitDone);
        leader.publisher.relisted();
        let after = feed
            .next()
            .now_or_never()
            .flatten()
            .expect("read after the list");
        assert_eq!(after.metadata.generation, Some(2));
    }

    #[tokio::test]
    async fn deleted_objects_are_forgotten() {
        let (mut leader, mut feed) = following_every_object();
        apply(&mut leader, extension("a", "t", 1));
        assert!(feed.next().now_or_never().flatten().is_some());
        let gone = extension("a", "t", 1);
        leader
            .writer
            .apply_watcher_event(&Event::Delete(gone.clone()));
        leader.publisher.publish(&gone);
        assert!(feed.next().now_or_never().is_none(), "nothing to pass on");
        // Recreated with the same generation: new again.
        apply(&mut leader, extension("a", "t", 1));
        assert!(feed.next().now_or_never().flatten().is_some());
    }
}
