//! ferrodis-keyspace: databases and the sharded key table.
//!
//! The keyspace is split into shards, each behind its own `parking_lot` mutex; a shard holds one
//! [`Db`] per configured database. A key's shard is its Redis Cluster slot modulo the shard count,
//! so all keys of one slot share a shard and same-slot multi-key commands lock one shard. With one
//! shard the semantics are exactly Redis's single-threaded ones.
//!
//! Modules:
//! - [`dict`]: the incrementally rehashed chained hash table (SCAN cursors, sampling, snapshot
//!   parity bits);
//! - [`db`]: one database: entries (key, value, clock/flags), the expires dict, lazy and active
//!   expiry;
//! - [`slot`]: CRC16 cluster slots and hash tags;
//! - [`blocked`]: the clients blocked on each key (BLPOP and friends), per shard;
//! - [`clock`]: the 24-bit object clock and OBJECT IDLETIME;
//! - [`error`]: the crate's error type.
//!
//! The design and its measurements are in docs/KEYTABLE.md.
//!
//! Must not depend on sockets, tokio, or the command layer; values come from `ferrodis-ds`.

pub mod blocked;
pub mod clock;
pub mod db;
pub mod dict;
pub mod error;
pub mod slot;

use parking_lot::{Mutex, MutexGuard};

pub use clock::{idle_ms, lru_clock, object_idletime};
pub use db::{Db, Entry, ExpireCycleParams, ExpireStats, Lookup, RandomKey, RetiredTables};
pub use dict::{Dict, DictEntry, RetiredTable};
pub use error::{KeyspaceError, Result};
pub use slot::slot_of;

/// The databases of one shard. Protected by the shard's mutex in [`Keyspace`]; every command
/// touching a key of this shard holds it for the duration of the command.
pub struct Shard {
    /// One database per configured database number (index = `SELECT` number).
    pub dbs: Vec<Db>,
    /// Clients blocked on keys of this shard.
    pub blocked: blocked::BlockedKeys,
}

impl Shard {
    fn new(databases: usize) -> Self {
        Shard {
            dbs: (0..databases).map(|_| Db::new()).collect(),
            blocked: blocked::BlockedKeys::default(),
        }
    }

    /// The database `index`, if it exists.
    pub fn db(&mut self, index: usize) -> Option<&mut Db> {
        self.dbs.get_mut(index)
    }
}

/// All databases, split into independently locked shards.
pub struct Keyspace {
    shards: Box<[Mutex<Shard>]>,
    nshards: usize,
    databases: usize,
}

impl Keyspace {
    /// A keyspace of `databases` databases split into `nshards` shards.
    pub fn new(databases: usize, nshards: usize) -> Result<Self> {
        if nshards == 0 {
            return Err(KeyspaceError::NoShards);
        }
        if databases == 0 {
            return Err(KeyspaceError::NoDatabases);
        }
        let shards = (0..nshards)
            .map(|_| Mutex::new(Shard::new(databases)))
            .collect();
        Ok(Keyspace {
            shards,
            nshards,
            databases,
        })
    }

    /// Number of shards.
    pub fn nshards(&self) -> usize {
        self.nshards
    }

    /// Number of databases.
    pub fn databases(&self) -> usize {
        self.databases
    }

    /// The cluster slot of `key`.
    pub fn slot_of(key: &[u8]) -> u16 {
        slot::slot_of(key)
    }

    /// The shard holding `key`: its slot modulo the shard count.
    pub fn shard_of(&self, key: &[u8]) -> usize {
        usize::from(slot::slot_of(key)) % self.nshards
    }

    /// Locks shard `idx`.
    ///
    /// # Panics
    /// If `idx >= nshards()` (indexes come from [`Keyspace::shard_of`], never from clients).
    pub fn lock(&self, idx: usize) -> MutexGuard<'_, Shard> {
        self.shards[idx].lock()
    }

    /// Locks shard `idx` if it is free (never waits, so it may be called out of lock order).
    pub fn try_lock(&self, idx: usize) -> Option<MutexGuard<'_, Shard>> {
        self.shards.get(idx)?.try_lock()
    }

    /// Locks every shard in ascending order (the global lock order, which prevents deadlocks
    /// between multi-shard commands). Guard `i` is shard `i`.
    pub fn lock_all(&self) -> Vec<MutexGuard<'_, Shard>> {
        self.shards.iter().map(|s| s.lock()).collect()
    }

    /// Sorts and deduplicates `idxs`, then locks those shards in ascending order. Guard `i`
    /// belongs to shard `idxs[i]` (after the call).
    ///
    /// # Panics
    /// If an index is `>= nshards()`.
    pub fn lock_many(&self, idxs: &mut Vec<usize>) -> Vec<MutexGuard<'_, Shard>> {
        idxs.sort_unstable();
        idxs.dedup();
        idxs.iter().map(|&i| self.shards[i].lock()).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ferrodis_ds::value::Value;

    #[test]
    fn construction_errors() {
        assert_eq!(Keyspace::new(16, 0).err(), Some(KeyspaceError::NoShards));
        assert_eq!(Keyspace::new(0, 4).err(), Some(KeyspaceError::NoDatabases));
    }

    #[test]
    fn same_slot_same_shard_and_lock_order() {
        let ks = Keyspace::new(16, 7).unwrap();
        assert_eq!(ks.shard_of(b"{user}:a"), ks.shard_of(b"{user}:b"));
        assert_eq!(ks.shard_of(b"foo"), 12182 % 7);
        let mut idxs = vec![5, 1, 5, 3, 1];
        let guards = ks.lock_many(&mut idxs);
        assert_eq!(idxs, vec![1, 3, 5]);
        assert_eq!(guards.len(), 3);
        drop(guards);
        let mut all = ks.lock_all();
        assert_eq!(all.len(), 7);
        assert_eq!(all[0].dbs.len(), 16);
        all[2].dbs[3].set(b"k", Value::from_int(1), false, 0);
        drop(all);
        assert_eq!(ks.lock(2).dbs[3].len(), 1);
        assert!(ks.lock(2).db(16).is_none());
    }

    #[test]
    fn shards_lock_independently() {
        let ks = Keyspace::new(1, 2).unwrap();
        let g0 = ks.lock(0);
        // Shard 1 is still available while shard 0 is held.
        assert!(ks.shards[1].try_lock().is_some());
        assert!(ks.shards[0].try_lock().is_none());
        drop(g0);
    }
}
