//! `Dict`: the chained hash table behind every database (keys and expires).
//!
//! Hot path: every key lookup goes through [`Dict::get`] / [`Dict::get_mut`].
//!
//! The algorithms are Redis's `dict.c` ones, re-derived here because they give the properties the
//! key table needs (see docs/KEYTABLE.md for the reasoning and the measurements):
//! - **Incremental rehash.** Two tables; growing or shrinking allocates the second one and entries
//!   move one bucket per write operation (and in bulk from a background task through
//!   [`Dict::rehash_for`]), so no single operation pays for a resize. Bucket arrays are allocated
//!   zeroed (`vec![None; n]` becomes `calloc`), so even a 16M-bucket table costs no memset.
//! - **Reverse-binary SCAN cursor** covering both tables while rehashing: an entry present for the
//!   whole iteration is returned at least once, across any growth or shrink.
//! - **Cheap random sampling**: a random bucket then a random chain element
//!   ([`Dict::random_entry`]), or a run of consecutive buckets ([`Dict::sample`]).
//! - **Snapshot parity**: one bit per entry tells a snapshot walker visited from unvisited
//!   entries without any per-snapshot allocation ([`Dict::begin_snapshot`]).
//!
//! Nodes store only `next` and the entry, no cached hash: the hash is recomputed with the dict's
//! own randomly seeded `ahash` state when an entry moves, which keeps `Node<db::Entry>` at 48 bytes.
//!
//! Reads through `&self` do not advance rehashing (they cannot mutate); writes do, and the server's
//! cron calls `rehash_for` like Redis's `incrementallyRehash`, so read-only workloads finish too.
//!
//! Must not depend on anything above `ferrodis-ds` (no I/O, no commands).

use std::time::{Duration, Instant};

use ahash::RandomState;
use rand::Rng;

use crate::error::{KeyspaceError, Result};

/// What a [`Dict`] stores: anything that exposes its key, plus the snapshot parity bit.
///
/// The key must not change while the entry is in a dict (it decides the bucket); changing it
/// through `get_mut` is a logic error (lookups may then miss the entry, nothing unsafe happens).
pub trait DictEntry {
    /// The key the entry is found by.
    fn key(&self) -> &[u8];

    /// The snapshot parity bit. Entry types that are never snapshotted (the expires dict) can keep
    /// the default, which makes every entry permanently "visited" as long as no snapshot begins.
    fn snapshot_parity(&self) -> bool {
        false
    }

    /// Stores the snapshot parity bit (no-op by default, see [`DictEntry::snapshot_parity`]).
    fn set_snapshot_parity(&mut self, _parity: bool) {}
}

/// Initial table size (Redis's `DICT_HT_INITIAL_SIZE`).
const INITIAL_SIZE: usize = 4;
/// Load factor that forces growth even when resizing is disallowed (`dict_force_resize_ratio`).
const FORCE_RESIZE_RATIO: usize = 5;
/// Shrink when fewer than this percentage of buckets would be used (`HASHTABLE_MIN_FILL`).
const MIN_FILL_PERCENT: usize = 10;
/// Empty buckets a single rehash step may skip, per bucket it moves.
const EMPTY_VISITS_PER_STEP: usize = 10;

type Link<E> = Option<Box<Node<E>>>;

struct Node<E> {
    next: Link<E>,
    entry: E,
}

struct Table<E> {
    /// Length is 0 or a power of two.
    buckets: Vec<Link<E>>,
    used: usize,
}

impl<E> Table<E> {
    fn empty() -> Self {
        Table {
            buckets: Vec::new(),
            used: 0,
        }
    }

    /// A table of `n` empty buckets, allocated with `alloc_zeroed` (calloc). For large arrays
    /// the allocator hands out fresh zero pages from the OS without writing them, so allocating a
    /// 16M-bucket table is O(1) and its pages are faulted in gradually as rehashing fills them.
    /// Filling a `Vec` with `None` instead would write every byte up front (tens of ms at 128 MB).
    fn with_size(n: usize) -> Self {
        if n == 0 {
            return Self::empty();
        }
        let layout = match std::alloc::Layout::array::<Link<E>>(n) {
            Ok(l) => l,
            Err(_) => std::alloc::handle_alloc_error(std::alloc::Layout::new::<Link<E>>()),
        };
        // SAFETY: `layout` has non-zero size (n > 0, and a link is pointer-sized).
        let ptr = unsafe { std::alloc::alloc_zeroed(layout) }.cast::<Link<E>>();
        if ptr.is_null() {
            std::alloc::handle_alloc_error(layout);
        }
        // SAFETY: `ptr` was allocated by the global allocator with the layout of `[Link<E>; n]`,
        // which is what `Vec<Link<E>>` with capacity `n` deallocates with; all `n` elements are
        // initialised because an all-zero `Option<Box<_>>` is `None` (guaranteed by the
        // null-pointer optimisation documented in `std::option`).
        let buckets = unsafe { Vec::from_raw_parts(ptr, n, n) };
        Table { buckets, used: 0 }
    }

    fn size(&self) -> usize {
        self.buckets.len()
    }

    /// Bucket mask; only meaningful when `size() > 0`.
    fn mask(&self) -> usize {
        self.buckets.len().wrapping_sub(1)
    }
}

impl<E> Default for Table<E> {
    fn default() -> Self {
        Self::empty()
    }
}

impl<E> Drop for Table<E> {
    fn drop(&mut self) {
        // Unlink chains iteratively: the default recursive drop could overflow the stack on a
        // pathologically long chain.
        for bucket in self.buckets.iter_mut() {
            let mut cur = bucket.take();
            while let Some(mut node) = cur {
                cur = node.next.take();
            }
        }
    }
}

/// A chained hash table with incremental rehashing. See the module docs.
pub struct Dict<E> {
    ht: [Table<E>; 2],
    /// Next bucket of `ht[0]` to move to `ht[1]`; `None` when not rehashing.
    rehash_idx: Option<usize>,
    hasher: RandomState,
    resize_allowed: bool,
    /// Entries whose parity equals this are "visited" (see `begin_snapshot`).
    parity: bool,
    /// Number of entries whose parity differs from `parity`.
    unvisited: usize,
    /// Large emptied bucket array waiting to be freed off the hot path (see `take_retired`).
    retired: Option<RetiredTable<E>>,
}

/// Bucket arrays of at least this many buckets (512 KB) are retired rather than freed inline.
const RETIRE_MIN_BUCKETS: usize = 1 << 16;

/// An emptied bucket array of a finished resize; dropping it frees the memory. See
/// [`Dict::take_retired`].
pub struct RetiredTable<E>(Vec<Link<E>>);

impl<E> RetiredTable<E> {
    /// Bytes that dropping this frees.
    pub fn bytes(&self) -> usize {
        self.0.capacity() * std::mem::size_of::<Link<E>>()
    }
}

impl<E: DictEntry> Default for Dict<E> {
    fn default() -> Self {
        Self::new()
    }
}

#[inline]
fn hash_key(hasher: &RandomState, key: &[u8]) -> u64 {
    hasher.hash_one(key)
}

fn find_in<'a, E: DictEntry>(mut cur: Option<&'a Node<E>>, key: &[u8]) -> Option<&'a E> {
    while let Some(node) = cur {
        if node.entry.key() == key {
            return Some(&node.entry);
        }
        cur = node.next.as_deref();
    }
    None
}

fn find_in_mut<'a, E: DictEntry>(
    mut cur: Option<&'a mut Node<E>>,
    key: &[u8],
) -> Option<&'a mut E> {
    while let Some(node) = cur {
        if node.entry.key() == key {
            return Some(&mut node.entry);
        }
        cur = node.next.as_deref_mut();
    }
    None
}

/// Removes the node holding `key` from the chain starting at `link`.
fn unlink<E: DictEntry>(link: &mut Link<E>, key: &[u8]) -> Option<Box<Node<E>>> {
    let mut cur = link;
    while cur.as_ref().is_some_and(|n| n.entry.key() != key) {
        cur = &mut cur.as_mut()?.next;
    }
    let mut node = cur.take()?;
    *cur = node.next.take();
    Some(node)
}

/// Which buckets one SCAN call visits: computed from the table sizes only, so the same cursor
/// walk serves `scan` (shared) and `snapshot_scan` (mutable).
#[derive(Clone, Copy)]
struct ScanPlan {
    /// Index of the smaller table (the only one when not rehashing).
    small: usize,
    small_mask: u64,
    /// The larger table and its mask while rehashing.
    large: Option<(usize, u64)>,
}

impl ScanPlan {
    /// Visits the buckets for `cursor` and returns the next cursor (0 = done), following Redis's
    /// `dictScan`: the cursor's bits are incremented from the most significant end, so buckets
    /// that split or merge when the table size changes are never skipped.
    fn run(self, cursor: u64, mut visit: impl FnMut(usize, usize)) -> u64 {
        let mut v = cursor;
        let m0 = self.small_mask;
        visit(self.small, (v & m0) as usize);
        match self.large {
            None => {
                v |= !m0;
                v = v.reverse_bits().wrapping_add(1).reverse_bits();
            }
            Some((large, m1)) => loop {
                // Every bucket of the larger table that is an expansion of the small bucket.
                visit(large, (v & m1) as usize);
                v |= !m1;
                v = v.reverse_bits().wrapping_add(1).reverse_bits();
                if v & (m0 ^ m1) == 0 {
                    break;
                }
            },
        }
        v
    }
}

impl<E: DictEntry> Dict<E> {
    /// An empty dict with a fresh random hash seed.
    pub fn new() -> Self {
        Self::with_hasher(RandomState::new())
    }

    /// An empty dict with the given hash state (tests use fixed seeds for reproducibility).
    pub fn with_hasher(hasher: RandomState) -> Self {
        Dict {
            ht: [Table::empty(), Table::empty()],
            rehash_idx: None,
            hasher,
            resize_allowed: true,
            parity: false,
            unvisited: 0,
            retired: None,
        }
    }

    /// Number of entries.
    #[inline]
    pub fn len(&self) -> usize {
        self.ht[0].used + self.ht[1].used
    }

    /// True when the dict holds no entries.
    #[inline]
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Total buckets of both tables (Redis's `dictSlots`).
    pub fn bucket_count(&self) -> usize {
        self.ht[0].size() + self.ht[1].size()
    }

    /// True while entries are being moved from the old table to the new one.
    pub fn is_rehashing(&self) -> bool {
        self.rehash_idx.is_some()
    }

    /// Allows or disallows starting a resize (Redis disallows it while a fork child runs). Growth
    /// is still forced at a load factor of 5, so chains stay short.
    pub fn set_resize_allowed(&mut self, allowed: bool) {
        self.resize_allowed = allowed;
    }

    /// Heap bytes used by the table structure: bucket arrays plus one node per entry (entries'
    /// own heap data is not included).
    pub fn mem_usage(&self) -> usize {
        self.bucket_count() * std::mem::size_of::<Link<E>>()
            + self.len() * std::mem::size_of::<Node<E>>()
    }

    /// Size of one node (link + entry), for memory accounting and layout tests.
    pub const fn node_size() -> usize {
        std::mem::size_of::<Node<E>>()
    }

    #[inline]
    fn hash(&self, key: &[u8]) -> u64 {
        hash_key(&self.hasher, key)
    }

    /// The entry for `key`. Does not advance rehashing.
    pub fn get(&self, key: &[u8]) -> Option<&E> {
        if self.is_empty() {
            return None;
        }
        let h = self.hash(key) as usize;
        let tables = if self.is_rehashing() { 2 } else { 1 };
        for t in &self.ht[..tables] {
            if let Some(link) = t.buckets.get(h & t.mask()) {
                if let Some(e) = find_in(link.as_deref(), key) {
                    return Some(e);
                }
            }
        }
        None
    }

    /// True if `key` is present.
    pub fn contains_key(&self, key: &[u8]) -> bool {
        self.get(key).is_some()
    }

    /// The entry for `key`, mutably (do not change its key). Advances rehashing by one step.
    pub fn get_mut(&mut self, key: &[u8]) -> Option<&mut E> {
        self.rehash_step();
        if self.is_empty() {
            return None;
        }
        let h = self.hash(key) as usize;
        let rehashing = self.is_rehashing();
        let [t0, t1] = &mut self.ht;
        let m0 = t0.mask();
        if let Some(e) = t0
            .buckets
            .get_mut(h & m0)
            .and_then(|l| find_in_mut(l.as_deref_mut(), key))
        {
            return Some(e);
        }
        if !rehashing {
            return None;
        }
        let m1 = t1.mask();
        t1.buckets
            .get_mut(h & m1)
            .and_then(|l| find_in_mut(l.as_deref_mut(), key))
    }

    /// Inserts `entry`, replacing (and returning) an entry with the same key. The new entry is
    /// born "visited" for the current snapshot. Advances rehashing by one step.
    pub fn insert(&mut self, mut entry: E) -> Option<E> {
        entry.set_snapshot_parity(self.parity);
        let parity = self.parity;
        if let Some(slot) = self.get_mut(entry.key()) {
            let old = std::mem::replace(slot, entry);
            if old.snapshot_parity() != parity {
                self.unvisited -= 1;
            }
            return Some(old);
        }
        self.expand_if_needed();
        let h = self.hash(entry.key()) as usize;
        // New entries go to the new table while rehashing, so the old one only drains.
        let t = &mut self.ht[usize::from(self.rehash_idx.is_some())];
        let mask = t.mask();
        let Some(bucket) = t.buckets.get_mut(h & mask) else {
            // Unreachable: `expand_if_needed` guarantees a non-empty table.
            debug_assert!(false, "insert into an empty table");
            return None;
        };
        let next = bucket.take();
        *bucket = Some(Box::new(Node { next, entry }));
        t.used += 1;
        None
    }

    /// Removes and returns the entry for `key`. Advances rehashing by one step, and starts a shrink
    /// when the table falls below 10% full.
    pub fn remove(&mut self, key: &[u8]) -> Option<E> {
        self.rehash_step();
        if self.is_empty() {
            return None;
        }
        let h = self.hash(key) as usize;
        let tables = if self.is_rehashing() { 2 } else { 1 };
        for t in &mut self.ht[..tables] {
            let mask = t.mask();
            if let Some(node) = t.buckets.get_mut(h & mask).and_then(|l| unlink(l, key)) {
                t.used -= 1;
                if node.entry.snapshot_parity() != self.parity {
                    self.unvisited -= 1;
                }
                self.shrink_if_needed();
                return Some(node.entry);
            }
        }
        None
    }

    /// Drops every entry and frees the tables. O(n): for a huge dict, `std::mem::take` it and drop
    /// the result elsewhere instead (lazy free).
    pub fn clear(&mut self) {
        self.ht = [Table::empty(), Table::empty()];
        self.rehash_idx = None;
        self.unvisited = 0;
    }

    /// Keeps only the entries for which `keep` returns true (it may mutate them, not their keys).
    /// Removed entries are returned in a vector so the caller can propagate or account for them.
    pub fn retain(&mut self, mut keep: impl FnMut(&mut E) -> bool) -> Vec<E> {
        let mut removed = Vec::new();
        let parity = self.parity;
        for t in self.ht.iter_mut() {
            for bucket in t.buckets.iter_mut() {
                let mut cur: &mut Link<E> = bucket;
                while let Some(node) = cur.as_mut() {
                    if keep(&mut node.entry) {
                        if let Some(n) = cur {
                            cur = &mut n.next;
                        }
                    } else if let Some(mut n) = cur.take() {
                        *cur = n.next.take();
                        t.used -= 1;
                        if n.entry.snapshot_parity() != parity {
                            self.unvisited -= 1;
                        }
                        removed.push(n.entry);
                    }
                }
            }
        }
        self.shrink_if_needed();
        removed
    }

    /// Removes every entry, returning them as an owning iterator; the dict is empty afterwards.
    pub fn drain(&mut self) -> Drain<E> {
        let tables = std::mem::take(&mut self.ht);
        self.rehash_idx = None;
        self.unvisited = 0;
        Drain {
            tables,
            table: 0,
            bucket: 0,
        }
    }

    /// Iterates over all entries (each exactly once; order unspecified).
    pub fn iter(&self) -> Iter<'_, E> {
        Iter {
            tables: [&self.ht[0].buckets, &self.ht[1].buckets],
            table: 0,
            bucket: 0,
            node: None,
            remaining: self.len(),
        }
    }

    // ---- resizing -------------------------------------------------------------------------

    fn expand_if_needed(&mut self) {
        if self.is_rehashing() {
            return;
        }
        let size = self.ht[0].size();
        if size == 0 {
            self.ht[0] = Table::with_size(INITIAL_SIZE);
            return;
        }
        let used = self.ht[0].used;
        if used >= size && (self.resize_allowed || used / size > FORCE_RESIZE_RATIO) {
            self.start_resize(used + 1);
        }
    }

    /// Starts a shrink if the table is under 10% full and no rehash is running. Removals check
    /// this themselves, but a removal that happens during a rehash cannot start another one, so
    /// the cron calls this too (Redis's `tryResizeHashTables`). Returns true if a resize started.
    pub fn resize_if_needed(&mut self) -> bool {
        self.shrink_if_needed();
        self.is_rehashing()
    }

    fn shrink_if_needed(&mut self) {
        if self.is_rehashing() || !self.resize_allowed {
            return;
        }
        let size = self.ht[0].size();
        let used = self.ht[0].used;
        if size > INITIAL_SIZE && used * 100 / size < MIN_FILL_PERCENT {
            self.start_resize(used);
        }
    }

    /// Begins moving to a table of the smallest power of two >= `min_size` (at least 4).
    fn start_resize(&mut self, min_size: usize) {
        let new_size = min_size.max(INITIAL_SIZE).next_power_of_two();
        if new_size == self.ht[0].size() {
            return;
        }
        if self.ht[0].used == 0 {
            self.ht[0] = Table::with_size(new_size);
            return;
        }
        self.ht[1] = Table::with_size(new_size);
        self.rehash_idx = Some(0);
    }

    /// Parks an emptied bucket array for [`Dict::take_retired`]. Unmapping a large array costs
    /// ~0.25 ms per MB of touched pages (16 ms for the 64 MB array of an 8M-bucket table), far
    /// over the per-operation budget, so large arrays are not freed under the shard lock.
    fn retire(&mut self, buckets: Vec<Link<E>>) {
        if buckets.len() >= RETIRE_MIN_BUCKETS {
            // A previous array nobody collected is freed now: that only stalls callers that never
            // collect.
            self.retired = Some(RetiredTable(buckets));
        }
    }

    /// Takes the emptied bucket array of the last completed resize, if it was large enough to be
    /// worth freeing off the hot path. The caller drops it after releasing the shard lock,
    /// ideally on a background thread (it is `Send` when `E` is).
    pub fn take_retired(&mut self) -> Option<RetiredTable<E>> {
        self.retired.take()
    }

    #[inline]
    fn rehash_step(&mut self) {
        if self.rehash_idx.is_some() {
            self.rehash_steps(1);
        }
    }

    /// Moves up to `n` non-empty buckets to the new table (visiting at most `10 * n` empty ones).
    /// Returns true if rehashing is still in progress afterwards.
    pub fn rehash_steps(&mut self, n: usize) -> bool {
        let Some(mut idx) = self.rehash_idx else {
            return false;
        };
        let mut empty_visits = n.saturating_mul(EMPTY_VISITS_PER_STEP);
        let [t0, t1] = &mut self.ht;
        let m1 = t1.mask();
        for _ in 0..n {
            if t0.used == 0 {
                break;
            }
            // Entries remain, so a non-empty bucket exists at or after `idx`.
            while t0.buckets.get(idx).is_some_and(|b| b.is_none()) {
                idx += 1;
                empty_visits -= 1;
                if empty_visits == 0 {
                    self.rehash_idx = Some(idx);
                    return true;
                }
            }
            let Some(bucket) = t0.buckets.get_mut(idx) else {
                break;
            };
            let mut chain = bucket.take();
            while let Some(mut node) = chain {
                chain = node.next.take();
                let h = hash_key(&self.hasher, node.entry.key()) as usize;
                if let Some(dst) = t1.buckets.get_mut(h & m1) {
                    node.next = dst.take();
                    *dst = Some(node);
                    t0.used -= 1;
                    t1.used += 1;
                }
            }
            idx += 1;
        }
        if t0.used == 0 {
            let new = std::mem::take(t1);
            let mut old = std::mem::replace(t0, new);
            self.rehash_idx = None;
            self.retire(std::mem::take(&mut old.buckets));
            return false;
        }
        self.rehash_idx = Some(idx);
        true
    }

    /// Rehashes in batches of 100 steps until done or `budget` has elapsed (Redis's
    /// `dictRehashMilliseconds`). Returns the number of steps performed.
    pub fn rehash_for(&mut self, budget: Duration) -> usize {
        let start = Instant::now();
        let mut steps = 0;
        while self.rehash_steps(100) {
            steps += 100;
            if start.elapsed() >= budget {
                break;
            }
        }
        steps
    }

    // ---- scanning and sampling ------------------------------------------------------------

    fn scan_plan(&self) -> Option<ScanPlan> {
        if self.is_empty() || self.ht[0].size() == 0 {
            return None;
        }
        if !self.is_rehashing() {
            return Some(ScanPlan {
                small: 0,
                small_mask: self.ht[0].mask() as u64,
                large: None,
            });
        }
        let (small, large) = if self.ht[0].size() <= self.ht[1].size() {
            (0, 1)
        } else {
            (1, 0)
        };
        Some(ScanPlan {
            small,
            small_mask: self.ht[small].mask() as u64,
            large: Some((large, self.ht[large].mask() as u64)),
        })
    }

    /// One SCAN step: calls `f` for every entry of the buckets designated by `cursor` and returns
    /// the next cursor (0 when the iteration is complete). Start with cursor 0. Every entry present
    /// for the whole iteration is reported at least once, even if the dict grows, shrinks or
    /// rehashes between calls; entries may be reported more than once.
    pub fn scan(&self, cursor: u64, mut f: impl FnMut(&E)) -> u64 {
        let Some(plan) = self.scan_plan() else {
            return 0;
        };
        plan.run(cursor, |t, b| {
            let mut cur = self.ht[t].buckets.get(b).and_then(|l| l.as_deref());
            while let Some(node) = cur {
                f(&node.entry);
                cur = node.next.as_deref();
            }
        })
    }

    /// A uniformly random bucket, then a uniformly random entry of its chain (Redis's
    /// `dictGetRandomKey`): O(1) expected while the load factor is above ~10%.
    pub fn random_entry<R: Rng + ?Sized>(&self, rng: &mut R) -> Option<&E> {
        if self.is_empty() {
            return None;
        }
        let head = loop {
            let link = match self.rehash_idx {
                Some(ri) => {
                    // Buckets of ht[0] below the rehash index are empty: skip them.
                    let s0 = self.ht[0].size();
                    let total = s0 + self.ht[1].size();
                    let i = rng.gen_range(ri.min(total - 1)..total);
                    if i >= s0 {
                        self.ht[1].buckets.get(i - s0)
                    } else {
                        self.ht[0].buckets.get(i)
                    }
                }
                None => {
                    let i = rng.gen::<usize>() & self.ht[0].mask();
                    self.ht[0].buckets.get(i)
                }
            };
            if let Some(Some(node)) = link {
                break &**node;
            }
        };
        let mut chain_len = 0;
        let mut cur = Some(head);
        while let Some(n) = cur {
            chain_len += 1;
            cur = n.next.as_deref();
        }
        let mut pick = rng.gen_range(0..chain_len);
        let mut node = head;
        while pick > 0 {
            node = node.next.as_deref()?;
            pick -= 1;
        }
        Some(&node.entry)
    }

    /// Up to `count` entries from a run of consecutive buckets starting at a random one (Redis's
    /// `dictGetSomeKeys`): cheap, not uniform, may return fewer than `count`. Unlike Redis it
    /// never returns duplicates. Meant for small counts (eviction and expiry samples).
    pub fn sample<R: Rng + ?Sized>(&self, count: usize, rng: &mut R) -> Vec<&E> {
        let count = count.min(self.len());
        let mut out = Vec::with_capacity(count);
        if count == 0 {
            return out;
        }
        let tables = if self.is_rehashing() { 2 } else { 1 };
        let rehash_idx = self.rehash_idx.unwrap_or(0);
        let max_mask = if tables == 2 {
            self.ht[0].mask().max(self.ht[1].mask())
        } else {
            self.ht[0].mask()
        };
        let mut max_steps = count * 10;
        let mut i = rng.gen::<usize>() & max_mask;
        let mut empty_run = 0;
        while out.len() < count && max_steps > 0 {
            max_steps -= 1;
            for j in 0..tables {
                if tables == 2 && j == 0 && i < rehash_idx {
                    // Already moved out of ht[0]. If ht[1] is also too small for `i`, no table has
                    // buckets between here and the rehash index: jump there.
                    if i >= self.ht[1].size() {
                        i = rehash_idx;
                    } else {
                        continue;
                    }
                }
                let Some(link) = self.ht[j].buckets.get(i) else {
                    continue;
                };
                match link.as_deref() {
                    None => {
                        empty_run += 1;
                        if empty_run >= 5 && empty_run > count {
                            i = rng.gen::<usize>() & max_mask;
                            empty_run = 0;
                        }
                    }
                    Some(mut node) => {
                        empty_run = 0;
                        loop {
                            // The walk can wrap around a small table or jump back after an empty
                            // run; skip entries already taken (O(count^2), meant for small counts).
                            if !out.iter().any(|p| std::ptr::eq(*p, &node.entry)) {
                                out.push(&node.entry);
                            }
                            if out.len() == count {
                                return out;
                            }
                            match node.next.as_deref() {
                                Some(n) => node = n,
                                None => break,
                            }
                        }
                    }
                }
            }
            i = (i + 1) & max_mask;
        }
        out
    }

    /// Visits whole buckets at a linear `cursor` (masked per table, both tables while rehashing)
    /// until at least `want` entries were seen or `max_buckets` buckets were checked, exactly like
    /// the sampling loop of Redis's `activeExpireCycle`. Returns the cursor to continue from.
    pub fn sample_buckets(
        &self,
        mut cursor: u64,
        want: usize,
        max_buckets: usize,
        mut f: impl FnMut(&E),
    ) -> u64 {
        if self.is_empty() {
            return cursor;
        }
        let tables = if self.is_rehashing() { 2 } else { 1 };
        let mut seen = 0;
        let mut checked = 0;
        while seen < want && checked < max_buckets {
            for t in &self.ht[..tables] {
                checked += 1;
                let idx = (cursor as usize) & t.mask();
                let mut cur = t.buckets.get(idx).and_then(|l| l.as_deref());
                while let Some(node) = cur {
                    f(&node.entry);
                    seen += 1;
                    cur = node.next.as_deref();
                }
            }
            cursor = cursor.wrapping_add(1);
        }
        cursor
    }

    // ---- snapshots ------------------------------------------------------------------------

    /// Starts a snapshot: flips the dict's parity so every existing entry becomes unvisited;
    /// entries inserted from now on are born visited. Fails if the previous snapshot left entries
    /// unvisited (finish it with [`Dict::snapshot_scan`] first).
    pub fn begin_snapshot(&mut self) -> Result<()> {
        if self.unvisited != 0 {
            return Err(KeyspaceError::SnapshotInProgress {
                unvisited: self.unvisited,
            });
        }
        self.parity = !self.parity;
        self.unvisited = self.len();
        Ok(())
    }

    /// True if the current snapshot has not yet serialized `entry` (an entry of this dict).
    #[inline]
    pub fn is_unvisited(&self, entry: &E) -> bool {
        entry.snapshot_parity() != self.parity
    }

    /// Number of entries the current snapshot has not visited yet (0 when no snapshot runs).
    pub fn unvisited_count(&self) -> usize {
        self.unvisited
    }

    /// Marks the entry for `key` visited (after its pre-image was serialized). Returns true if it
    /// was unvisited.
    pub fn mark_visited(&mut self, key: &[u8]) -> bool {
        let parity = self.parity;
        let changed = match self.get_mut(key) {
            Some(e) if e.snapshot_parity() != parity => {
                e.set_snapshot_parity(parity);
                true
            }
            _ => false,
        };
        if changed {
            self.unvisited -= 1;
        }
        changed
    }

    /// A SCAN step for the snapshot walker: calls `f` for each *unvisited* entry in the cursor's
    /// buckets and marks it visited, so entries SCAN reports twice are serialized once. Returns the
    /// next cursor (0 when a full pass is complete, after which `unvisited_count() == 0`).
    pub fn snapshot_scan(&mut self, cursor: u64, mut f: impl FnMut(&E)) -> u64 {
        let Some(plan) = self.scan_plan() else {
            return 0;
        };
        let parity = self.parity;
        let mut marked = 0;
        let ht = &mut self.ht;
        let next = plan.run(cursor, |t, b| {
            let mut cur = ht[t].buckets.get_mut(b).and_then(|l| l.as_deref_mut());
            while let Some(node) = cur {
                if node.entry.snapshot_parity() != parity {
                    f(&node.entry);
                    node.entry.set_snapshot_parity(parity);
                    marked += 1;
                }
                cur = node.next.as_deref_mut();
            }
        });
        self.unvisited -= marked;
        next
    }
}

/// Iterator over a dict's entries; see [`Dict::iter`].
pub struct Iter<'a, E> {
    tables: [&'a [Link<E>]; 2],
    table: usize,
    bucket: usize,
    node: Option<&'a Node<E>>,
    remaining: usize,
}

impl<'a, E> Iterator for Iter<'a, E> {
    type Item = &'a E;

    fn next(&mut self) -> Option<&'a E> {
        loop {
            if let Some(n) = self.node {
                self.node = n.next.as_deref();
                self.remaining = self.remaining.saturating_sub(1);
                return Some(&n.entry);
            }
            let t = self.tables.get(self.table)?;
            match t.get(self.bucket) {
                Some(link) => {
                    self.node = link.as_deref();
                    self.bucket += 1;
                }
                None => {
                    self.table += 1;
                    self.bucket = 0;
                }
            }
        }
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        (self.remaining, Some(self.remaining))
    }
}

/// Owning iterator over the entries removed by [`Dict::drain`].
pub struct Drain<E> {
    tables: [Table<E>; 2],
    table: usize,
    bucket: usize,
}

impl<E> Iterator for Drain<E> {
    type Item = E;

    fn next(&mut self) -> Option<E> {
        loop {
            let t = self.tables.get_mut(self.table)?;
            match t.buckets.get_mut(self.bucket) {
                Some(link) => {
                    if let Some(mut node) = link.take() {
                        *link = node.next.take();
                        t.used -= 1;
                        return Some(node.entry);
                    }
                    self.bucket += 1;
                }
                None => {
                    self.table += 1;
                    self.bucket = 0;
                }
            }
        }
    }
}

#[cfg(test)]
mod tests;
