//! The resourceVersions a controller wrote itself, so that their watch events start no reconcile.

use std::collections::{HashMap, VecDeque};
use std::sync::Mutex;

/// resourceVersions this controller wrote itself, per object. Their watch events carry no change
/// from anyone else, so they never start a reconcile (controller-runtime would rerun and find
/// nothing to do).
#[derive(Debug, Default)]
pub struct OwnWrites(Mutex<HashMap<String, VecDeque<String>>>);

impl OwnWrites {
    /// How many recent writes are remembered per object.
    const PER_OBJECT: usize = 16;

    /// Remembers that we wrote `rv` of `key`.
    pub fn record(&self, key: &str, rv: String) {
        let mut map = self.0.lock().unwrap_or_else(|p| p.into_inner());
        let list = map.entry(key.to_string()).or_default();
        list.push_back(rv);
        while list.len() > Self::PER_OBJECT {
            list.pop_front();
        }
    }

    /// Whether `rv` of `key` was our write (forgetting it).
    pub fn take(&self, key: &str, rv: &str) -> bool {
        let mut map = self.0.lock().unwrap_or_else(|p| p.into_inner());
        let Some(list) = map.get_mut(key) else {
            return false;
        };
        let Some(pos) = list.iter().position(|r| r == rv) else {
            return false;
        };
        // Older entries can no longer show up as events.
        list.drain(..=pos);
        if list.is_empty() {
            map.remove(key);
        }
        true
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
    fn a_write_is_taken_once_with_everything_older() {
        let own = OwnWrites::default();
        own.record("ns/a", "1".into());
        own.record("ns/a", "2".into());
        assert!(own.take("ns/a", "2"));
        assert!(!own.take("ns/a", "1"), "older writes can no longer arrive");
        assert!(!own.take("ns/a", "2"));
        own.record("ns/b", "3".into());
        own.forget("ns/b");
        assert!(!own.take("ns/b", "3"));
    }
}
