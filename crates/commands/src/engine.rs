//! The engine: the sharded keyspace plus what every data command needs beside it
//! (runtime settings, statistics, the propagation stream, the keyspace-event hook).
//! It is shared by every connection, by MULTI/EXEC, scripts, AOF loading and
//! replication; it owns no sockets.

use bytes::Bytes;
use ferrodis_keyspace::Keyspace;
use parking_lot::Mutex;
use std::sync::atomic::{AtomicBool, AtomicI64, AtomicU32, AtomicU64, Ordering};
use std::sync::Arc;

/// Settings the data commands consult at run time. Atomics, so CONFIG SET on one
/// connection is seen by the others without locking.
#[derive(Debug)]
pub struct Settings {
    pub proto_max_bulk_len: AtomicU64,
    /// `lazyfree-lazy-expire`: expired keys propagate as UNLINK instead of DEL.
    pub lazyfree_lazy_expire: AtomicBool,
    pub lazyfree_lazy_server_del: AtomicBool,
    pub lazyfree_lazy_user_del: AtomicBool,
    pub lazyfree_lazy_user_flush: AtomicBool,
    /// Keyspace notification classes (Redis's NOTIFY_* bits).
    pub notify_keyspace_events: AtomicU32,
    /// `DEBUG SET-ACTIVE-EXPIRE`.
    pub active_expire_enabled: AtomicBool,
    pub active_expire_effort: AtomicU32,
    /// Set while CLIENT PAUSE is in effect: expired keys read as missing but are not deleted
    /// (no DEL is propagated), and the active expire cycle does not run.
    pub expires_paused: AtomicBool,
    /// Fixed time for tests (`DEBUG` and the embedding API); 0 = the wall clock.
    pub frozen_time_ms: AtomicI64,
    /// `maxmemory-policy` uses LFU (OBJECT FREQ allowed, OBJECT IDLETIME refused).
    pub lfu_policy: AtomicBool,
    pub databases: usize,
    /// Collection encodings: `list-max-listpack-size`, `list-compress-depth`.
    pub list_max_listpack_size: AtomicI64,
    pub list_compress_depth: AtomicU32,
    /// `DEBUG QUICKLIST-PACKED-THRESHOLD`: elements above this size get a plain node.
    pub list_packed_threshold: AtomicU64,
    pub hash_max_listpack_entries: AtomicU64,
    pub hash_max_listpack_value: AtomicU64,
    pub set_max_intset_entries: AtomicU64,
    pub zset_max_listpack_entries: AtomicU64,
    pub zset_max_listpack_value: AtomicU64,
    /// `hll-sparse-max-bytes`: a sparse HyperLogLog growing past this is promoted to dense.
    pub hll_sparse_max_bytes: AtomicU64,
    /// `stream-node-max-bytes`, `stream-node-max-entries` (0 = no limit).
    pub stream_node_max_bytes: AtomicU64,
    pub stream_node_max_entries: AtomicI64,
}

impl Settings {
    pub fn new(databases: usize) -> Settings {
        Settings {
            proto_max_bulk_len: AtomicU64::new(512 * 1024 * 1024),
            lazyfree_lazy_expire: AtomicBool::new(false),
            lazyfree_lazy_server_del: AtomicBool::new(false),
            lazyfree_lazy_user_del: AtomicBool::new(false),
            lazyfree_lazy_user_flush: AtomicBool::new(false),
            notify_keyspace_events: AtomicU32::new(0),
            active_expire_enabled: AtomicBool::new(true),
            active_expire_effort: AtomicU32::new(1),
            expires_paused: AtomicBool::new(false),
            frozen_time_ms: AtomicI64::new(0),
            lfu_policy: AtomicBool::new(false),
            databases,
            list_max_listpack_size: AtomicI64::new(-2),
            list_compress_depth: AtomicU32::new(0),
            list_packed_threshold: AtomicU64::new(
                ferrodis_ds::list::DEFAULT_PACKED_THRESHOLD as u64,
            ),
            hash_max_listpack_entries: AtomicU64::new(128),
            hash_max_listpack_value: AtomicU64::new(64),
            set_max_intset_entries: AtomicU64::new(512),
            zset_max_listpack_entries: AtomicU64::new(128),
            zset_max_listpack_value: AtomicU64::new(64),
            hll_sparse_max_bytes: AtomicU64::new(3000),
            stream_node_max_bytes: AtomicU64::new(4096),
            stream_node_max_entries: AtomicI64::new(100),
        }
    }

    /// A new empty list with the configured node fill and compression depth.
    pub fn new_list(&self) -> ferrodis_ds::list::QuickList {
        let fill = self.list_max_listpack_size.load(Ordering::Relaxed);
        let fill = fill.clamp(-5, i64::from(ferrodis_ds::list::FILL_MAX)) as i32;
        let depth = self.list_compress_depth.load(Ordering::Relaxed);
        ferrodis_ds::list::QuickList::new(fill, depth)
    }

    /// Element size above which a list element gets a plain node.
    pub fn list_packed_threshold(&self) -> usize {
        usize::try_from(self.list_packed_threshold.load(Ordering::Relaxed)).unwrap_or(usize::MAX)
    }

    pub fn hash_limits(&self) -> ferrodis_ds::hash::HashLimits {
        ferrodis_ds::hash::HashLimits {
            max_listpack_entries: load_usize(&self.hash_max_listpack_entries),
            max_listpack_value: load_usize(&self.hash_max_listpack_value),
        }
    }

    pub fn set_max_intset_entries(&self) -> usize {
        load_usize(&self.set_max_intset_entries)
    }

    pub fn zset_limits(&self) -> ferrodis_ds::zset::ZSetLimits {
        ferrodis_ds::zset::ZSetLimits {
            max_listpack_entries: load_usize(&self.zset_max_listpack_entries),
            max_listpack_value: load_usize(&self.zset_max_listpack_value),
        }
    }
    pub fn max_bulk(&self) -> u64 {
        self.proto_max_bulk_len.load(Ordering::Relaxed)
    }
}

fn load_usize(a: &AtomicU64) -> usize {
    usize::try_from(a.load(Ordering::Relaxed)).unwrap_or(usize::MAX)
}

const COUNTER_SLOTS: usize = 8;

#[derive(Debug, Default)]
#[repr(align(64))]
struct CounterSlot(AtomicU64);

/// A statistics counter that threads can bump without sharing a cache line:
/// each thread adds to its own slot, readers sum the slots. Every command
/// updates several counters, and one shared atomic per counter made two
/// worker threads ping-pong the line on every request (hot path).
#[derive(Debug, Default)]
pub struct Counter {
    slots: [CounterSlot; COUNTER_SLOTS],
}

fn counter_slot() -> usize {
    static NEXT: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
    thread_local! {
        static SLOT: usize = NEXT.fetch_add(1, Ordering::Relaxed) % COUNTER_SLOTS;
    }
    SLOT.with(|s| *s)
}

impl Counter {
    #[inline]
    pub fn add(&self, n: u64) {
        self.slots[counter_slot()].0.fetch_add(n, Ordering::Relaxed);
    }
    pub fn get(&self) -> u64 {
        self.slots
            .iter()
            .fold(0u64, |a, s| a.wrapping_add(s.0.load(Ordering::Relaxed)))
    }
    /// Set the total (CONFIG RESETSTAT uses 0).
    pub fn set(&self, v: u64) {
        for (i, s) in self.slots.iter().enumerate() {
            s.0.store(if i == 0 { v } else { 0 }, Ordering::Relaxed);
        }
    }
    /// `AtomicU64`-shaped aliases, so counters read like the atomics they replace.
    #[inline]
    pub fn fetch_add(&self, n: u64, _o: Ordering) {
        self.add(n)
    }
    pub fn load(&self, _o: Ordering) -> u64 {
        self.get()
    }
    pub fn store(&self, v: u64, _o: Ordering) {
        self.set(v)
    }
}

/// Counters reported by INFO stats.
#[derive(Debug, Default)]
pub struct Stats {
    pub keyspace_hits: Counter,
    pub keyspace_misses: Counter,
    pub expired_keys: Counter,
    pub expired_stale_perc: Counter,
    pub expired_time_cap_reached_count: Counter,
    pub expire_cycle_cpu_milliseconds: Counter,
    pub evicted_keys: Counter,
    /// Writes since the last save (`rdb_changes_since_last_save`).
    pub dirty: Counter,
}

impl Stats {
    pub fn add(c: &Counter, n: u64) {
        c.add(n);
    }
    pub fn get(c: &Counter) -> u64 {
        c.get()
    }
}

/// One command in the propagation stream.
#[derive(Debug, Clone, PartialEq)]
pub struct Propagated {
    pub db: usize,
    pub argv: Vec<Bytes>,
}

/// Consumer of the propagation stream (AOF, replication backlog, test sinks).
pub trait PropagationSink: Send + Sync {
    /// Called in execution order, while the shard locks of the command are held,
    /// so two writes to one key always reach the sink in the order they ran.
    fn feed(&self, cmds: &[Propagated]);
}

/// The single ordered stream of writes. Feeding takes one mutex so the order
/// across shards is a total order; when no sink is attached it costs one load.
#[derive(Default)]
pub struct Propagation {
    active: AtomicBool,
    sinks: Mutex<Vec<Arc<dyn PropagationSink>>>,
}

impl Propagation {
    pub fn attach(&self, sink: Arc<dyn PropagationSink>) {
        let mut s = self.sinks.lock();
        s.push(sink);
        self.active.store(true, Ordering::Release);
    }
    /// Removes one sink (the same Arc that was attached).
    pub fn detach(&self, sink: &Arc<dyn PropagationSink>) {
        let mut s = self.sinks.lock();
        let target = Arc::as_ptr(sink) as *const ();
        s.retain(|x| Arc::as_ptr(x) as *const () != target);
        self.active.store(!s.is_empty(), Ordering::Release);
    }
    pub fn detach_all(&self) {
        self.sinks.lock().clear();
        self.active.store(false, Ordering::Release);
    }
    #[inline]
    pub fn is_active(&self) -> bool {
        self.active.load(Ordering::Acquire)
    }
    pub fn feed(&self, cmds: &[Propagated]) {
        if cmds.is_empty() || !self.is_active() {
            return;
        }
        let sinks = self.sinks.lock();
        for s in sinks.iter() {
            s.feed(cmds);
        }
    }
}

/// A sink that records everything, for tests.
#[derive(Default)]
pub struct RecordingSink {
    pub log: Mutex<Vec<Propagated>>,
}

impl PropagationSink for RecordingSink {
    fn feed(&self, cmds: &[Propagated]) {
        self.log.lock().extend_from_slice(cmds);
    }
}

/// Receiver of keyspace events (pub/sub wires itself in here).
pub trait EventListener: Send + Sync {
    fn keyspace_event(&self, class: u32, event: &str, key: &[u8], db: usize);
}

/// Receiver of key modifications and flushes for client-side caching (Redis's
/// trackingInvalidateKey / trackingInvalidateKeysOnFlush). Called only while
/// [`Engine::tracking_active`] is set.
pub trait KeyTracker: Send + Sync {
    fn key_modified(&self, key: &[u8]);
    fn flushed(&self);
}

/// Keyspace notification classes, as Redis's NOTIFY_* flags.
pub mod notify {
    pub const KEYSPACE: u32 = 1 << 0;
    pub const KEYEVENT: u32 = 1 << 1;
    pub const GENERIC: u32 = 1 << 2;
    pub const STRING: u32 = 1 << 3;
    pub const LIST: u32 = 1 << 4;
    pub const SET: u32 = 1 << 5;
    pub const HASH: u32 = 1 << 6;
    pub const ZSET: u32 = 1 << 7;
    pub const EXPIRED: u32 = 1 << 8;
    pub const EVICTED: u32 = 1 << 9;
    pub const STREAM: u32 = 1 << 10;
    pub const KEY_MISS: u32 = 1 << 11;
    pub const LOADED: u32 = 1 << 12;
    pub const MODULE: u32 = 1 << 13;
    pub const NEW: u32 = 1 << 14;
}

/// Everything shared by the executors of data commands.
pub struct Engine {
    pub ks: Keyspace,
    /// Monotonic origin for [`Engine::now_ms_at`].
    origin: std::time::Instant,
    /// Wall-clock µs minus monotonic µs since `origin`; refreshed by the cron
    /// so the cached clock follows wall-clock adjustments like Redis's mstime().
    wall_offset_us: AtomicI64,
    /// Wall clock at the last cron tick, see [`Engine::coarse_ms`].
    coarse_ms: AtomicI64,
    pub settings: Settings,
    pub stats: Stats,
    pub propagation: Propagation,
    /// WATCHed keys of every client.
    pub watches: crate::watch::Watches,
    /// UNLINK's background dropper and its counters.
    pub lazyfree: crate::lazyfree::LazyFree,
    listener: Mutex<Option<Arc<dyn EventListener>>>,
    has_listener: AtomicBool,
    tracker: Mutex<Option<Arc<dyn KeyTracker>>>,
    /// Some client has CLIENT TRACKING on: key modifications go to the tracker.
    pub tracking_active: AtomicBool,
    /// A point-in-time snapshot (BGSAVE) is being written: writes keep the pre-images of the
    /// keys they change ([`crate::exec::preserve_for_snapshot`]).
    pub snapshot_active: AtomicBool,
    /// Set by FLUSHALL (and DEBUG RELOAD) to make the running snapshot give up, as Redis kills
    /// its saving child.
    pub snapshot_abort: AtomicBool,
}

impl Engine {
    pub fn new(
        databases: usize,
        shards: usize,
    ) -> Result<Engine, ferrodis_keyspace::KeyspaceError> {
        let origin = std::time::Instant::now();
        // Monotonic first, wall second: the offset may be ahead by the few ns
        // between the reads, never behind (see `now_ms_at`).
        let mono_us = origin.elapsed().as_micros() as i64;
        let offset_us = wall_us() - mono_us + CLOCK_BIAS_US;
        Ok(Engine {
            ks: Keyspace::new(databases, shards)?,
            origin,
            wall_offset_us: AtomicI64::new(offset_us),
            coarse_ms: AtomicI64::new(wall_ms()),
            settings: Settings::new(databases),
            stats: Stats::default(),
            propagation: Propagation::default(),
            watches: crate::watch::Watches::default(),
            lazyfree: crate::lazyfree::LazyFree::default(),
            listener: Mutex::new(None),
            has_listener: AtomicBool::new(false),
            tracker: Mutex::new(None),
            tracking_active: AtomicBool::new(false),
            snapshot_active: AtomicBool::new(false),
            snapshot_abort: AtomicBool::new(false),
        })
    }

    pub fn set_event_listener(&self, l: Arc<dyn EventListener>) {
        *self.listener.lock() = Some(l);
        self.has_listener.store(true, Ordering::Release);
    }

    pub fn set_key_tracker(&self, t: Arc<dyn KeyTracker>) {
        *self.tracker.lock() = Some(t);
    }

    /// A key's value changed (Redis's signalModifiedKey): WATCH and client-side caching.
    pub fn key_modified(&self, db: usize, key: &[u8]) {
        self.watches.touch(db, key);
        if self.tracking_active.load(Ordering::Relaxed) {
            let t = self.tracker.lock().clone();
            if let Some(t) = t {
                t.key_modified(key);
            }
        }
    }

    /// A database (or all) was flushed: tracking clients drop their whole cache.
    pub fn keyspace_flushed(&self) {
        if self.tracking_active.load(Ordering::Relaxed) {
            let t = self.tracker.lock().clone();
            if let Some(t) = t {
                t.flushed();
            }
        }
    }

    /// Emit a keyspace event if its class is enabled (Redis's notifyKeyspaceEvent).
    pub fn notify(&self, class: u32, event: &str, key: &[u8], db: usize) {
        let flags = self.settings.notify_keyspace_events.load(Ordering::Relaxed);
        if flags & class == 0 || !self.has_listener.load(Ordering::Acquire) {
            return;
        }
        let l = self.listener.lock().clone();
        if let Some(l) = l {
            l.keyspace_event(class, event, key, db);
        }
    }

    /// Wall-clock milliseconds at monotonic instant `t` (one clock read per
    /// command instead of two; hot path).
    pub fn now_ms_at(&self, t: std::time::Instant) -> i64 {
        let f = self.settings.frozen_time_ms.load(Ordering::Relaxed);
        if f != 0 {
            return f;
        }
        // Microseconds on both sides, floored to ms only at the end: a cached
        // clock that lags the wall clock by a truncated millisecond would make
        // `PTTL` right after `PXAT now+N` report N+1.
        let mono_us = t.saturating_duration_since(self.origin).as_micros() as i64;
        (mono_us + self.wall_offset_us.load(Ordering::Relaxed)).div_euclid(1000)
    }

    /// Re-align the cached clock with the wall clock (called by the cron).
    pub fn resync_clock(&self) {
        let mono_us = self.origin.elapsed().as_micros() as i64;
        let wall_us = wall_us();
        self.wall_offset_us
            .store(wall_us - mono_us, Ordering::Relaxed);
        self.coarse_ms.store(wall_us / 1000, Ordering::Relaxed);
    }

    /// Wall-clock milliseconds as of the last cron tick (Redis's cached
    /// `server.unixtime`): for bookkeeping such as client idle times, never
    /// for expiry decisions.
    pub fn coarse_ms(&self) -> i64 {
        self.coarse_ms.load(Ordering::Relaxed)
    }

    /// Milliseconds since the epoch, or the frozen test clock.
    pub fn now_ms(&self) -> i64 {
        let f = self.settings.frozen_time_ms.load(Ordering::Relaxed);
        if f != 0 {
            return f;
        }
        wall_ms()
    }
}

/// The cached clock runs this far ahead of the wall clock so microsecond
/// truncation can never make it read a millisecond behind a clock read taken
/// just before it.
const CLOCK_BIAS_US: i64 = 10;

pub fn wall_us() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_micros() as i64)
        .unwrap_or(0)
}

pub fn wall_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The cached clock must never run behind the wall clock read just before
    /// it (Redis's tests set PXAT from the client's clock and read PTTL back).
    #[test]
    fn cached_clock_does_not_lag_the_wall_clock() {
        let e = Engine::new(1, 1).expect("engine");
        for _ in 0..2000 {
            let before = wall_ms();
            let ours = e.now_ms_at(std::time::Instant::now());
            let after = wall_ms();
            // Never behind; at most a rounding step ahead.
            assert!(
                ours >= before && ours <= after + 1,
                "{before} <= {ours} <= {after}"
            );
        }
        e.resync_clock();
        let before = wall_ms();
        let ours = e.now_ms_at(std::time::Instant::now());
        assert!(ours >= before);
    }
}
