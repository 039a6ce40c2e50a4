//! The resourceVersions a controller wrote itself (or read and acted on), so that their watch
//! events start no reconcile.

use std::collections::{HashMap, VecDeque};
use std::sync::Mutex;

/// resourceVersions this controller wrote itself, per object. Their watch events carry no change
/// from anyone else, so they never start a reconcile (controller-runtime would rerun and find
/// nothing to do).
///
/// A resourceVersion stays known after its event arrived: a re-list after a watch expired shows
/// the same version again, and it is still our own write, not someone else's change.
#[derive(Debug, Default)]
pub struct OwnWrites(Mutex<HashMap<String, VecDeque<String>>>);

impl OwnWrites {
    /// How many recent versions are remembered per object (a reconcile reads once and writes at
    /// most 5 times).
    const PER_OBJECT: usize = 8;

    /// Remembers that we wrote `rv` of `key`.
    pub fn record(&self, key: &str, rv: String) {
        let mut map = self.0.lock().unwrap_or_else(|p| p.into_inner());
        let list = map.entry(key.to_string()).or_default();
        list.push_back(rv);
        while list.len() > Self::PER_OBJECT {
            list.pop_front();
        }
    }

    /// Whether `rv` of `key` is one of our recent writes.
    pub fn is_own(&self, key: &str, rv: &str) -> bool {
        self.0
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .get(key)
            .is_some_and(|list| list.iter().any(|r| r == rv))
    }

    /// Forgets a deleted object.
    pub fn forget(&self, key: &str) {
        self.0.lock().unwrap_or_else(|p| p.into_inner()).remove(key);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn writes_stay_known_until_pushed_out_or_forgotten() {
        let own = OwnWrites::default();
        for rv in 1..=9 {
            own.record("ns/a", rv.to_string());
        }
        assert!(own.is_own("ns/a", "9"));
        assert!(
            own.is_own("ns/a", "9"),
            "a re-list shows the same version again"
        );
        assert!(!own.is_own("ns/a", "1"), "only the last 8 are kept");
        assert!(!own.is_own("ns/a", "10"));
        own.forget("ns/a");
        assert!(!own.is_own("ns/a", "9"));
    }
}
