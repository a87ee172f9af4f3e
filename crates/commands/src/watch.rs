//! WATCH: which clients watch which keys, so that a write to a watched key makes the watcher's
//! next EXEC fail (Redis's touchWatchedKey / touchAllWatchedKeysInDb).
//!
//! One registry per engine behind a mutex; the write path's check is a single atomic load while
//! nobody watches anything (the common case). Every modification reaches [`Watches::touch`]
//! through `Ctx::signal_modified`, expired-key deletions through `kv::record_expired`, and
//! FLUSHDB/FLUSHALL/SWAPDB through [`Watches::keys_in`] + [`Watches::touch`].

use bytes::Bytes;
use parking_lot::Mutex;
use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;

/// One client's WATCH state.
#[derive(Debug, Default)]
pub struct Watcher {
    /// A watched key changed: the next EXEC answers a null array (Redis's CLIENT_DIRTY_CAS).
    pub dirty: AtomicBool,
}

/// One watched key of one client.
#[derive(Debug)]
pub struct WatchedKey {
    pub db: usize,
    pub key: Bytes,
    /// The key was already logically expired when watched: its deletion is no change
    /// (Redis's `expired` flag on watchedKey).
    pub stale: AtomicBool,
    pub watcher: Arc<Watcher>,
}

/// `(db, key)` → the registrations watching it.
type WatchMap = HashMap<(usize, Bytes), Vec<Arc<WatchedKey>>>;

#[derive(Default)]
pub struct Watches {
    /// Registrations, so [`Watches::touch`] costs one load when nothing is watched.
    count: AtomicUsize,
    map: Mutex<WatchMap>,
}

impl Watches {
    /// Registers `w` (the caller makes sure the client does not watch `(db, key)` already).
    pub fn add(&self, w: Arc<WatchedKey>) {
        self.map
            .lock()
            .entry((w.db, w.key.clone()))
            .or_default()
            .push(w);
        self.count.fetch_add(1, Ordering::Relaxed);
    }

    /// Removes the given registrations (UNWATCH, EXEC, DISCARD, disconnect).
    pub fn remove(&self, keys: &[Arc<WatchedKey>]) {
        if keys.is_empty() {
            return;
        }
        let mut map = self.map.lock();
        for w in keys {
            let slot = (w.db, w.key.clone());
            if let Some(v) = map.get_mut(&slot) {
                let before = v.len();
                v.retain(|x| !Arc::ptr_eq(x, w));
                self.count.fetch_sub(before - v.len(), Ordering::Relaxed);
                if v.is_empty() {
                    map.remove(&slot);
                }
            }
        }
    }

    /// A key changed: every client watching it (and not watching a stale copy) becomes dirty.
    pub fn touch(&self, db: usize, key: &[u8]) {
        if self.count.load(Ordering::Relaxed) == 0 {
            return;
        }
        let map = self.map.lock();
        if let Some(v) = map.get(&(db, Bytes::copy_from_slice(key))) {
            for w in v {
                mark(w);
            }
        }
    }

    /// Marks the watches of `(db, key)` stale: SWAPDB put a logically expired key there, which
    /// is no change for a watcher of a missing key (Redis sets watchedKey.expired).
    pub fn set_stale(&self, db: usize, key: &[u8]) {
        if self.count.load(Ordering::Relaxed) == 0 {
            return;
        }
        if let Some(v) = self.map.lock().get(&(db, Bytes::copy_from_slice(key))) {
            for w in v {
                w.stale.store(true, Ordering::Relaxed);
            }
        }
    }

    /// The watched keys of database `db` (FLUSHDB/FLUSHALL/SWAPDB touch those that exist).
    pub fn keys_in(&self, db: usize) -> Vec<Bytes> {
        if self.count.load(Ordering::Relaxed) == 0 {
            return Vec::new();
        }
        self.map
            .lock()
            .keys()
            .filter(|(d, _)| *d == db)
            .map(|(_, k)| k.clone())
            .collect()
    }

    /// True while anyone watches anything.
    pub fn any(&self) -> bool {
        self.count.load(Ordering::Relaxed) > 0
    }
}

/// A watched key was touched: a stale watch just learns the key is gone (no logical change);
/// a live one dirties its client.
fn mark(w: &WatchedKey) {
    if w.stale.swap(false, Ordering::Relaxed) {
        return;
    }
    w.watcher.dirty.store(true, Ordering::Relaxed);
}

#[cfg(test)]
mod tests {
    use super::*;

    fn watched(db: usize, key: &str, stale: bool, watcher: &Arc<Watcher>) -> Arc<WatchedKey> {
        Arc::new(WatchedKey {
            db,
            key: Bytes::copy_from_slice(key.as_bytes()),
            stale: AtomicBool::new(stale),
            watcher: watcher.clone(),
        })
    }

    #[test]
    fn touch_dirties_only_watchers_of_that_key_and_db() {
        let ws = Watches::default();
        let a = Arc::new(Watcher::default());
        let b = Arc::new(Watcher::default());
        let ka = watched(0, "k", false, &a);
        let kb = watched(1, "k", false, &b);
        ws.add(ka.clone());
        ws.add(kb.clone());
        ws.touch(0, b"other");
        ws.touch(0, b"k");
        assert!(a.dirty.load(Ordering::Relaxed));
        assert!(!b.dirty.load(Ordering::Relaxed));
        ws.remove(&[ka, kb]);
        assert!(!ws.any());
        ws.touch(1, b"k");
        assert!(!b.dirty.load(Ordering::Relaxed));
    }

    #[test]
    fn deleting_a_stale_watched_key_is_no_change() {
        let ws = Watches::default();
        let a = Arc::new(Watcher::default());
        ws.add(watched(0, "x", true, &a));
        ws.touch(0, b"x");
        assert!(!a.dirty.load(Ordering::Relaxed));
        // After that the key counts as absent: a new write does dirty.
        ws.touch(0, b"x");
        assert!(a.dirty.load(Ordering::Relaxed));
    }

    #[test]
    fn keys_of_a_database() {
        let ws = Watches::default();
        let a = Arc::new(Watcher::default());
        ws.add(watched(0, "x", false, &a));
        ws.add(watched(2, "y", false, &a));
        assert_eq!(ws.keys_in(0), vec![Bytes::from_static(b"x")]);
        assert!(ws.keys_in(1).is_empty());
    }
}
