//! `Db`: one database of one shard — the key dict plus the expires dict, with lazy and active
//! expiry.
//!
//! Hot path: `lookup`/`lookup_mut`/`set` run for every keyed command.
//!
//! Layout: an [`Entry`] is key (16) + value (16) + a 32-bit `meta` word, padded to 40 bytes, so a
//! dict node (next pointer + entry) is 48 bytes — one jemalloc size class, checked by a test.
//! Expiry times live in a second dict (like Redis's `db->expires`), consulted only when the
//! entry's `has_expire` bit is set, so keys without a TTL pay nothing for the feature.
//!
//! Snapshot contract (for the snapshot walker to come): before a write modifies or deletes an
//! entry for which [`Db::is_unvisited`] is true, the caller serializes the entry (key, value and
//! expire time) as its pre-image and calls [`Db::mark_visited`]. Deletions through `remove`,
//! expiry and `flush` must be preceded by the same check. See docs/KEYTABLE.md.
//!
//! Must not depend on I/O or on the command layer.

use std::time::{Duration, Instant};

use ferrodis_ds::compact::CompactBytes;
use ferrodis_ds::value::Value;
use rand::Rng;

use crate::clock::LRU_CLOCK_MAX;
use crate::dict::{Dict, DictEntry, RetiredTable};
use crate::error::Result;

const CLOCK_MASK: u32 = LRU_CLOCK_MAX;
const HAS_EXPIRE: u32 = 1 << 24;
const SNAPSHOT_PARITY: u32 = 1 << 25;

/// One key of a database.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    key: CompactBytes,
    value: Value,
    /// Bits 0..24: object clock (LRU seconds or LFU data); bit 24: has an expire in the expires
    /// dict; bit 25: snapshot parity. Bits 26..32 are free for later flags.
    meta: u32,
}

impl Entry {
    fn new(key: CompactBytes, value: Value, clock: u32) -> Self {
        Entry {
            key,
            value,
            meta: clock & CLOCK_MASK,
        }
    }

    /// The key.
    pub fn key(&self) -> &CompactBytes {
        &self.key
    }

    /// The value.
    pub fn value(&self) -> &Value {
        &self.value
    }

    /// The value, mutably (for in-place updates such as APPEND or INCR).
    pub fn value_mut(&mut self) -> &mut Value {
        &mut self.value
    }

    /// Replaces the value, returning the old one.
    pub fn set_value(&mut self, value: Value) -> Value {
        std::mem::replace(&mut self.value, value)
    }

    /// Splits the entry into key and value.
    pub fn into_parts(self) -> (CompactBytes, Value) {
        (self.key, self.value)
    }

    /// The 24-bit object clock (LRU seconds, or LFU data when the eviction policy is LFU).
    pub fn clock(&self) -> u32 {
        self.meta & CLOCK_MASK
    }

    /// Sets the 24-bit object clock (higher bits of `clock` are ignored).
    pub fn set_clock(&mut self, clock: u32) {
        self.meta = (self.meta & !CLOCK_MASK) | (clock & CLOCK_MASK);
    }

    /// True if the key has a time to live (an entry in the expires dict).
    pub fn has_expire(&self) -> bool {
        self.meta & HAS_EXPIRE != 0
    }

    fn set_has_expire(&mut self, on: bool) {
        if on {
            self.meta |= HAS_EXPIRE;
        } else {
            self.meta &= !HAS_EXPIRE;
        }
    }

    /// Estimated heap bytes of the key and value (not the node itself).
    pub fn heap_size(&self) -> usize {
        self.key.heap_size() + self.value.mem_usage()
    }
}

impl DictEntry for Entry {
    fn key(&self) -> &[u8] {
        self.key.as_slice()
    }

    fn snapshot_parity(&self) -> bool {
        self.meta & SNAPSHOT_PARITY != 0
    }

    fn set_snapshot_parity(&mut self, parity: bool) {
        if parity {
            self.meta |= SNAPSHOT_PARITY;
        } else {
            self.meta &= !SNAPSHOT_PARITY;
        }
    }
}

/// An entry of the expires dict: absolute expiry time in Unix milliseconds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExpireEntry {
    /// The key (a copy of the main entry's key; free when it is 15 bytes or shorter).
    pub key: CompactBytes,
    /// Absolute expiry time, Unix milliseconds.
    pub when_ms: i64,
}

impl DictEntry for ExpireEntry {
    fn key(&self) -> &[u8] {
        self.key.as_slice()
    }
}

/// Result of [`Db::lookup_mut`].
#[derive(Debug)]
pub enum Lookup<'a> {
    /// The key exists and is not expired.
    Found(&'a mut Entry),
    /// The key was logically expired; it has been deleted (the caller propagates a DEL and sends
    /// the `expired` notification).
    Expired,
    /// No such key.
    Missing,
}

/// Tuning of [`Db::active_expire_cycle`], mirroring Redis's `active-expire-effort`.
#[derive(Debug, Clone, Copy)]
pub struct ExpireCycleParams {
    /// `active-expire-effort`, 1..=10 (values outside are clamped).
    pub effort: u32,
    /// Time budget of this call.
    pub time_limit: Duration,
}

impl ExpireCycleParams {
    fn effort0(&self) -> usize {
        self.effort.clamp(1, 10) as usize - 1
    }

    /// Keys sampled per loop: 20, plus 5 per effort step above 1.
    pub fn keys_per_loop(&self) -> usize {
        20 + 20 / 4 * self.effort0()
    }

    /// Percentage of expired keys among the sampled ones above which the loop repeats.
    pub fn acceptable_stale(&self) -> usize {
        10 - self.effort0()
    }
}

/// What an active expire cycle did.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct ExpireStats {
    /// Keys with a TTL examined.
    pub sampled: usize,
    /// Keys deleted because they were expired.
    pub expired: usize,
    /// The deleted keys, for DEL propagation and `expired` keyspace notifications.
    pub expired_keys: Vec<CompactBytes>,
    /// True if the cycle stopped because the time budget ran out.
    pub time_limit_hit: bool,
}

/// Result of [`Db::random_key`].
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct RandomKey {
    /// The key found, if any.
    pub key: Option<CompactBytes>,
    /// Expired keys met (and deleted when deletion was requested) on the way.
    pub expired: Vec<CompactBytes>,
}

/// Emptied bucket arrays of a database, to be dropped off the hot path (see
/// [`Db::take_retired`]). Dropping it frees them.
pub struct RetiredTables {
    /// From the key dict.
    pub main: Option<RetiredTable<Entry>>,
    /// From the expires dict.
    pub expires: Option<RetiredTable<ExpireEntry>>,
}

impl RetiredTables {
    /// True if there is nothing to free.
    pub fn is_empty(&self) -> bool {
        self.main.is_none() && self.expires.is_none()
    }

    /// Bytes that dropping this frees.
    pub fn bytes(&self) -> usize {
        self.main.as_ref().map_or(0, RetiredTable::bytes)
            + self.expires.as_ref().map_or(0, RetiredTable::bytes)
    }
}

/// One database of one shard.
#[derive(Default)]
pub struct Db {
    main: Dict<Entry>,
    expires: Dict<ExpireEntry>,
    /// Linear bucket cursor of the active expire cycle (Redis's `db->expires_cursor`).
    expires_cursor: u64,
    /// Running average of the TTL of sampled keys, ms (INFO keyspace `avg_ttl`).
    avg_ttl: i64,
    /// While a snapshot of this database runs: the database index it is written under (kept
    /// with the object, so SWAPDB during a snapshot still writes each dataset under its index
    /// of the snapshot's start).
    snap_db: Option<usize>,
    /// Entries that existed when the snapshot began and were about to change before the walker
    /// reached them, as they were then ([`Db::preserve`]).
    pre_images: Vec<PreImage>,
}

/// A key as it was when the running snapshot began.
#[derive(Debug, Clone)]
pub struct PreImage {
    pub key: Vec<u8>,
    pub value: Value,
    pub expire_ms: Option<i64>,
}

impl Db {
    /// An empty database.
    pub fn new() -> Self {
        Self::default()
    }

    /// Number of keys (including logically expired ones not yet deleted, like `DBSIZE`).
    pub fn len(&self) -> usize {
        self.main.len()
    }

    /// True when the database has no keys.
    pub fn is_empty(&self) -> bool {
        self.main.is_empty()
    }

    /// Number of keys with a TTL.
    pub fn expires_len(&self) -> usize {
        self.expires.len()
    }

    /// The `avg_ttl` of INFO keyspace, in milliseconds (an estimate from active expiry samples).
    pub fn avg_ttl(&self) -> i64 {
        self.avg_ttl
    }

    fn expired_at(&self, entry: &Entry, now_ms: i64) -> bool {
        entry.has_expire()
            && self
                .expires
                .get(&entry.key)
                .is_some_and(|e| now_ms > e.when_ms)
    }

    /// True if `key` exists but its TTL has passed at `now_ms`.
    pub fn is_expired(&self, key: &[u8], now_ms: i64) -> bool {
        self.main
            .get(key)
            .is_some_and(|e| self.expired_at(e, now_ms))
    }

    /// The entry for `key` even if it is logically expired (Redis's objectCommandLookup, used by
    /// DEBUG OBJECT): nothing is deleted or touched.
    pub fn lookup_raw(&self, key: &[u8]) -> Option<&Entry> {
        self.main.get(key)
    }

    /// The live entry for `key`: logically expired keys read as absent, but are not deleted
    /// (the read-only path, e.g. on replicas).
    pub fn lookup(&self, key: &[u8], now_ms: i64) -> Option<&Entry> {
        let e = self.main.get(key)?;
        if self.expired_at(e, now_ms) {
            None
        } else {
            Some(e)
        }
    }

    /// The live entry for `key`, mutably; an expired key is deleted and reported as `Expired`.
    /// Does not touch the object clock (the caller decides, as with Redis's `LOOKUP_NOTOUCH`).
    pub fn lookup_mut(&mut self, key: &[u8], now_ms: i64) -> Lookup<'_> {
        match self.main.get(key) {
            None => return Lookup::Missing,
            Some(e) if self.expired_at(e, now_ms) => {
                self.remove(key);
                return Lookup::Expired;
            }
            Some(_) => {}
        }
        match self.main.get_mut(key) {
            Some(e) => Lookup::Found(e),
            None => Lookup::Missing,
        }
    }

    /// Sets `key` to `value`, creating it if needed, and returns the previous value. Unless
    /// `keep_ttl`, an existing TTL is removed (SET semantics). `clock` becomes the entry's object
    /// clock (`lru_clock(now)` in LRU mode; in LFU mode pass the old entry's clock to keep its
    /// counter, as Redis's `dbOverwrite` does).
    pub fn set(&mut self, key: &[u8], value: Value, keep_ttl: bool, clock: u32) -> Option<Value> {
        if let Some(e) = self.main.get_mut(key) {
            let old = e.set_value(value);
            e.set_clock(clock);
            if !keep_ttl && e.has_expire() {
                e.set_has_expire(false);
                self.expires.remove(key);
            }
            return Some(old);
        }
        self.main
            .insert(Entry::new(CompactBytes::new(key), value, clock));
        None
    }

    /// Sets the absolute expiry time of an existing key. Returns false if the key does not exist.
    pub fn set_expire(&mut self, key: &[u8], when_ms: i64) -> bool {
        let Some(e) = self.main.get_mut(key) else {
            return false;
        };
        e.set_has_expire(true);
        let key = e.key.clone();
        self.expires.insert(ExpireEntry { key, when_ms });
        true
    }

    /// The absolute expiry time of `key`, if it exists and has one.
    pub fn get_expire(&self, key: &[u8]) -> Option<i64> {
        let e = self.main.get(key)?;
        if !e.has_expire() {
            return None;
        }
        self.expires.get(key).map(|x| x.when_ms)
    }

    /// Removes the TTL of `key`. Returns true if it had one.
    pub fn persist(&mut self, key: &[u8]) -> bool {
        match self.main.get_mut(key) {
            Some(e) if e.has_expire() => {
                e.set_has_expire(false);
                self.expires.remove(key);
                true
            }
            _ => false,
        }
    }

    /// Deletes `key` (and its TTL), returning its entry.
    pub fn remove(&mut self, key: &[u8]) -> Option<Entry> {
        let e = self.main.remove(key)?;
        if e.has_expire() {
            self.expires.remove(key);
        }
        Some(e)
    }

    /// One SCAN step over the keys (see [`Dict::scan`]); expired keys are included, the caller
    /// filters them with [`Db::is_expired`] as Redis's SCAN does.
    pub fn scan(&self, cursor: u64, f: impl FnMut(&Entry)) -> u64 {
        self.main.scan(cursor, f)
    }

    /// Iterates over all entries (used by KEYS, whole-db operations and tests).
    pub fn iter(&self) -> crate::dict::Iter<'_, Entry> {
        self.main.iter()
    }

    /// A random live key (RANDOMKEY). With `delete_expired` (masters) expired keys met on the
    /// way are deleted and returned in `expired`; without it (replicas) they are skipped, and
    /// when every key has a TTL the search gives up after 100 tries and returns the last key seen
    /// (Redis's `dbRandomKey`).
    pub fn random_key<R: Rng + ?Sized>(
        &mut self,
        now_ms: i64,
        rng: &mut R,
        delete_expired: bool,
    ) -> RandomKey {
        let mut out = RandomKey::default();
        let all_volatile = self.main.len() == self.expires.len();
        let mut tries = 100;
        loop {
            let Some(e) = self.main.random_entry(rng) else {
                return out;
            };
            let key = e.key.clone();
            if !self.expired_at(e, now_ms) {
                out.key = Some(key);
                return out;
            }
            if delete_expired {
                self.remove(&key);
                out.expired.push(key);
                continue;
            }
            tries -= 1;
            if all_volatile && tries == 0 {
                out.key = Some(key);
                return out;
            }
        }
    }

    /// Redis's `activeExpireCycle` for this database: repeatedly samples `keys_per_loop` keys
    /// with a TTL (walking the expires dict's buckets with a persistent cursor), deletes the
    /// expired ones, and repeats while more than `acceptable_stale`% of a sample had expired,
    /// checking the time budget every 16 loops. Returns the deleted keys for propagation.
    pub fn active_expire_cycle(&mut self, now_ms: i64, params: &ExpireCycleParams) -> ExpireStats {
        let start = Instant::now();
        let keys_per_loop = params.keys_per_loop();
        let stale = params.acceptable_stale();
        let mut stats = ExpireStats::default();
        let mut iteration: u64 = 0;
        let mut to_delete = Vec::new();
        loop {
            iteration += 1;
            let num = self.expires.len();
            if num == 0 {
                self.avg_ttl = 0;
                break;
            }
            // Sampling a table under 1% full is mostly walking empty buckets: wait for it to
            // shrink.
            let slots = self.expires.bucket_count();
            if slots > 4 && num * 100 / slots < 1 {
                break;
            }
            let num = num.min(keys_per_loop);
            let (mut sampled, mut ttl_sum, mut ttl_samples) = (0usize, 0i64, 0i64);
            self.expires_cursor =
                self.expires
                    .sample_buckets(self.expires_cursor, num, num * 20, |x| {
                        sampled += 1;
                        let ttl = x.when_ms.saturating_sub(now_ms);
                        if now_ms > x.when_ms {
                            to_delete.push(x.key.clone());
                        } else if ttl > 0 {
                            ttl_sum = ttl_sum.saturating_add(ttl);
                            ttl_samples += 1;
                        }
                    });
            // On a small table the linear cursor wraps and meets the same key twice; Redis has
            // deleted it by then, so count each key once.
            let mut expired = 0;
            for key in to_delete.drain(..) {
                if self.remove(&key).is_some() {
                    expired += 1;
                    stats.expired_keys.push(key);
                } else {
                    sampled -= 1;
                }
            }
            stats.sampled += sampled;
            stats.expired += expired;
            if ttl_samples > 0 {
                let avg = ttl_sum / ttl_samples;
                if self.avg_ttl == 0 {
                    self.avg_ttl = avg;
                }
                self.avg_ttl = (self.avg_ttl / 50) * 49 + avg / 50;
            }
            if iteration & 0xf == 0 && start.elapsed() > params.time_limit {
                stats.time_limit_hit = true;
                break;
            }
            let repeat = sampled == 0 || expired * 100 / sampled > stale;
            if !repeat {
                break;
            }
        }
        stats
    }

    /// Deletes every key. O(n); for a lazy flush, `std::mem::take` the `Db` and drop it elsewhere.
    pub fn flush(&mut self) {
        self.main.clear();
        self.expires.clear();
        self.expires_cursor = 0;
        self.avg_ttl = 0;
    }

    /// Cron housekeeping of both dicts: starts a shrink where a table is under 10% full (Redis's
    /// `tryResizeHashTables`), then advances incremental rehashing for up to `budget` (Redis's
    /// `incrementallyRehash`). Returns true if rehashing work remains.
    pub fn rehash_for(&mut self, budget: Duration) -> bool {
        let start = Instant::now();
        self.main.resize_if_needed();
        self.expires.resize_if_needed();
        self.main.rehash_for(budget);
        self.expires
            .rehash_for(budget.saturating_sub(start.elapsed()));
        self.main.is_rehashing() || self.expires.is_rehashing()
    }

    /// Takes the large bucket arrays emptied by finished resizes of both dicts, for the caller
    /// to drop after releasing the shard lock (see [`Dict::take_retired`]).
    pub fn take_retired(&mut self) -> RetiredTables {
        RetiredTables {
            main: self.main.take_retired(),
            expires: self.expires.take_retired(),
        }
    }

    /// Heap bytes of the table structures, keys and values (for INFO memory / MEMORY STATS).
    pub fn mem_usage(&self) -> usize {
        let data: usize = self.main.iter().map(Entry::heap_size).sum();
        let expire_keys: usize = self.expires.iter().map(|e| e.key.heap_size()).sum();
        self.main.mem_usage() + self.expires.mem_usage() + data + expire_keys
    }

    // ---- snapshot plumbing ----------------------------------------------------------------

    /// Starts a snapshot of this database (see [`Dict::begin_snapshot`]), written under index
    /// `db`.
    pub fn begin_snapshot(&mut self, db: usize) -> Result<()> {
        self.main.begin_snapshot()?;
        self.snap_db = Some(db);
        Ok(())
    }

    /// The index this database is snapshotted under, while a snapshot of it runs.
    pub fn snapshot_db(&self) -> Option<usize> {
        self.snap_db
    }

    /// Ends the snapshot (the walker visited everything, or gave up and visited the rest
    /// without writing). Pre-images not taken are dropped.
    pub fn end_snapshot(&mut self) {
        self.snap_db = None;
        self.pre_images = Vec::new();
    }

    /// Before `key` is modified or deleted: if the running snapshot has not written it yet, its
    /// current state is kept as a pre-image for the snapshot and it counts as visited. Cheap
    /// when no snapshot runs.
    pub fn preserve(&mut self, key: &[u8]) {
        if self.snap_db.is_none() || self.main.unvisited_count() == 0 {
            return;
        }
        let Some(e) = self.main.get(key) else {
            return;
        };
        if !self.main.is_unvisited(e) {
            return;
        }
        let expire_ms = if e.has_expire() {
            self.expires.get(key).map(|x| x.when_ms)
        } else {
            None
        };
        let pre = PreImage {
            key: key.to_vec(),
            value: e.value().clone(),
            expire_ms,
        };
        self.pre_images.push(pre);
        self.main.mark_visited(key);
    }

    /// Before the whole database is emptied: every entry not yet written becomes a pre-image.
    pub fn preserve_all(&mut self) {
        if self.snap_db.is_none() {
            return;
        }
        let mut pre = Vec::new();
        let mut cursor = 0;
        loop {
            cursor = self.snapshot_scan(cursor, |e, expire_ms| {
                pre.push(PreImage {
                    key: e.key().as_slice().to_vec(),
                    value: e.value().clone(),
                    expire_ms,
                })
            });
            if cursor == 0 {
                break;
            }
        }
        self.pre_images.append(&mut pre);
    }

    /// The pre-images kept since the last call.
    pub fn take_pre_images(&mut self) -> Vec<PreImage> {
        std::mem::take(&mut self.pre_images)
    }

    /// True if the running snapshot has not serialized `entry` yet.
    pub fn is_unvisited(&self, entry: &Entry) -> bool {
        self.main.is_unvisited(entry)
    }

    /// Marks `key` visited after its pre-image was serialized. Returns true if it was unvisited.
    pub fn mark_visited(&mut self, key: &[u8]) -> bool {
        self.main.mark_visited(key)
    }

    /// Entries not yet visited by the running snapshot.
    pub fn unvisited_count(&self) -> usize {
        self.main.unvisited_count()
    }

    /// The snapshot walker's step: `f` receives each unvisited entry with its expiry time and the
    /// entry is marked visited. Returns the next cursor (0 when the pass is complete).
    pub fn snapshot_scan(&mut self, cursor: u64, mut f: impl FnMut(&Entry, Option<i64>)) -> u64 {
        let expires = &self.expires;
        self.main.snapshot_scan(cursor, |e| {
            let when = if e.has_expire() {
                expires.get(&e.key).map(|x| x.when_ms)
            } else {
                None
            };
            f(e, when)
        })
    }
}

#[cfg(test)]
mod tests;
