//! The blocked-key registry of one shard: for each `(db, key)` the clients blocked on it
//! (BLPOP, BZPOPMIN, ...), in the order they blocked. It lives in the shard so that a write to a
//! key and the check "is anyone waiting on it?" happen under the same lock.
//!
//! Waiters are opaque here (`Arc<dyn Any>`): what a waiter is and how it is served belongs to
//! the command layer. The same waiter may be queued on several keys (of several shards); it
//! leaves each queue when it is served there or when its owner unregisters it.

use std::any::Any;
use std::collections::{HashMap, VecDeque};
use std::sync::Arc;

/// An opaque blocked client, shared with the connection that waits on it.
pub type Waiter = Arc<dyn Any + Send + Sync>;

/// One database's keys with waiters, each with its FIFO.
type KeyQueues = HashMap<Box<[u8]>, VecDeque<Waiter>, ahash::RandomState>;

/// Per-database maps from key to its FIFO of waiters.
#[derive(Default)]
pub struct BlockedKeys {
    per_db: HashMap<usize, KeyQueues>,
    /// Number of (key, waiter) registrations, so the write path's check is one load.
    registrations: usize,
}

impl BlockedKeys {
    /// True when nobody waits on any key of this shard (the write path's fast exit).
    pub fn is_empty(&self) -> bool {
        self.registrations == 0
    }

    /// Whether someone waits on `key` in `db`.
    pub fn has(&self, db: usize, key: &[u8]) -> bool {
        !self.is_empty() && self.per_db.get(&db).is_some_and(|m| m.contains_key(key))
    }

    /// Queues `w` on `key` (after everyone already waiting there).
    pub fn push(&mut self, db: usize, key: &[u8], w: Waiter) {
        self.per_db
            .entry(db)
            .or_default()
            .entry(key.into())
            .or_default()
            .push_back(w);
        self.registrations += 1;
    }

    /// The waiters of `key`, oldest first.
    pub fn waiters(&self, db: usize, key: &[u8]) -> impl Iterator<Item = &Waiter> {
        self.per_db
            .get(&db)
            .and_then(|m| m.get(key))
            .into_iter()
            .flatten()
    }

    /// Removes the waiters of `key` for which `drop_it` is true; returns how many went.
    pub fn remove_where(
        &mut self,
        db: usize,
        key: &[u8],
        mut drop_it: impl FnMut(&Waiter) -> bool,
    ) -> usize {
        let Some(m) = self.per_db.get_mut(&db) else {
            return 0;
        };
        let Some(q) = m.get_mut(key) else {
            return 0;
        };
        let before = q.len();
        q.retain(|w| !drop_it(w));
        let removed = before - q.len();
        if q.is_empty() {
            m.remove(key);
            if m.is_empty() {
                self.per_db.remove(&db);
            }
        }
        self.registrations -= removed;
        removed
    }

    /// Number of distinct keys with waiters (INFO's `blocked keys` figures).
    pub fn key_count(&self) -> usize {
        self.per_db.values().map(HashMap::len).sum()
    }

    /// The keys of database `db` that someone waits on (SWAPDB re-checks them: clients stay
    /// blocked on the database number they named, whose contents just changed).
    pub fn keys_of(&self, db: usize) -> impl Iterator<Item = &[u8]> {
        self.per_db
            .get(&db)
            .into_iter()
            .flat_map(|m| m.keys().map(|k| &**k))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn w(n: u32) -> Waiter {
        Arc::new(n)
    }

    fn ids(b: &BlockedKeys, db: usize, key: &[u8]) -> Vec<u32> {
        b.waiters(db, key)
            .filter_map(|w| w.downcast_ref::<u32>().copied())
            .collect()
    }

    #[test]
    fn fifo_per_key_and_removal() {
        let mut b = BlockedKeys::default();
        assert!(b.is_empty());
        b.push(0, b"k", w(1));
        b.push(0, b"k", w(2));
        b.push(1, b"k", w(3));
        assert!(b.has(0, b"k") && b.has(1, b"k") && !b.has(2, b"k") && !b.has(0, b"x"));
        assert_eq!(ids(&b, 0, b"k"), vec![1, 2]);
        assert_eq!(b.key_count(), 2);
        assert_eq!(
            b.remove_where(0, b"k", |x| x.downcast_ref::<u32>() == Some(&1)),
            1
        );
        assert_eq!(ids(&b, 0, b"k"), vec![2]);
        assert_eq!(b.remove_where(0, b"k", |_| true), 1);
        assert!(!b.has(0, b"k"));
        assert!(!b.is_empty());
        assert_eq!(b.remove_where(1, b"k", |_| true), 1);
        assert!(b.is_empty());
        assert_eq!(b.remove_where(1, b"k", |_| true), 0);
    }

    #[test]
    fn keys_of_a_db() {
        let mut b = BlockedKeys::default();
        b.push(0, b"k", w(1));
        b.push(0, b"j", w(1));
        b.push(5, b"x", w(2));
        let mut keys: Vec<&[u8]> = b.keys_of(0).collect();
        keys.sort();
        assert_eq!(keys, vec![&b"j"[..], &b"k"[..]]);
        assert_eq!(b.keys_of(3).count(), 0);
    }
}
