//! `Table`: the compact hash table behind the `hashtable` encoding of hashes and sets.
//!
//! Layout, chosen for bytes per element (Redis's dict costs a 24-byte `dictEntry`, one or two
//! sds allocations and an 8-byte bucket pointer per element):
//! - `slots`: a dense `Vec` of entries, each followed by a 32-bit `next` link of its bucket chain.
//!   A set slot is 20 bytes (`CompactBytes` + link), a hash slot 36 bytes; strings of up to 15
//!   bytes live inside the `CompactBytes`, so small members cost no allocation at all.
//! - `buckets`: a power-of-two array of 32-bit heads (slot index + 1, 0 = empty), at a load
//!   factor of at most 1, like Redis's dict (4 to 8 bytes per element).
//!
//! Deleting moves the last slot into the hole (`swap_remove`), so slots stay dense: iteration is a
//! linear walk and a uniformly random element is one index away (fairer than Redis's
//! random bucket + random chain position).
//!
//! SCAN uses Redis's reverse-binary cursor over the bucket array: an element is always in the
//! bucket its hash selects, whatever slot it occupies, so an element present for the whole scan is
//! returned at least once across any number of resizes between calls (proved by a property test).
//!
//! Resizing rebuilds the bucket array in one pass (re-hashing every key; about 10 ns per element).
//! Unlike Redis's dict this is not incremental: growing a 1M-element collection pauses that one
//! command for a few milliseconds.
//!
//! Hashing: our own seeded multiply-fold hash (no dependency); the seed comes from std's
//! `RandomState`, so it differs per table and per process, which is what defeats hash flooding.
//!
//! Must not depend on anything outside `std` and this crate.

use std::collections::hash_map::RandomState;
use std::hash::BuildHasher;

/// What a [`Table`] stores: anything that exposes its key.
pub(crate) trait Keyed {
    fn key(&self) -> &[u8];
}

impl Keyed for crate::compact::CompactBytes {
    #[inline]
    fn key(&self) -> &[u8] {
        self.as_slice()
    }
}

/// Largest number of elements a table holds (links are 32-bit, 0 meaning "none"). Reaching it
/// needs tens of gigabytes, far beyond any machine this runs on.
pub(crate) const MAX_LEN: usize = (u32::MAX - 1) as usize;

/// Smallest bucket array (Redis's `DICT_HT_INITIAL_SIZE`).
const MIN_BUCKETS: usize = 4;

/// Shrink the bucket array when fewer than 1 in this many buckets would be used (Redis's
/// `HASHTABLE_MIN_FILL` of 10%).
const MIN_FILL_DIV: usize = 10;

#[derive(Clone)]
pub(crate) struct Slot<E> {
    pub(crate) entry: E,
    /// Next slot of the same bucket, as index + 1; 0 ends the chain.
    next: u32,
}

/// A chained hash table with dense slots. See the module docs.
#[derive(Clone)]
pub(crate) struct Table<E> {
    slots: Vec<Slot<E>>,
    /// Chain heads as slot index + 1; 0 = empty. Length 0 or a power of two.
    buckets: Box<[u32]>,
    seed: u64,
}

const K0: u64 = 0xa076_1d64_78bd_642f;
const K1: u64 = 0xe703_7ed1_a0b4_28db;
const K2: u64 = 0x8ebc_6af0_9c88_c6e3;

#[inline]
fn fold_mul(a: u64, b: u64) -> u64 {
    let r = u128::from(a) * u128::from(b);
    (r as u64) ^ ((r >> 64) as u64)
}

#[inline]
fn read_u64(b: &[u8]) -> u64 {
    let mut w = [0u8; 8];
    let n = b.len().min(8);
    w[..n].copy_from_slice(&b[..n]);
    u64::from_le_bytes(w)
}

/// Seeded hash of a byte string (wyhash-style multiply-fold; every output bit depends on every
/// input bit, so masking the low bits for the bucket index is fine).
#[inline]
pub(crate) fn hash_bytes(seed: u64, bytes: &[u8]) -> u64 {
    let mut h = seed ^ fold_mul(bytes.len() as u64 ^ K0, K1);
    let mut rest = bytes;
    while rest.len() > 16 {
        let (chunk, tail) = rest.split_at(16);
        h = fold_mul(read_u64(chunk) ^ K1 ^ h, read_u64(&chunk[8..]) ^ K2 ^ seed);
        rest = tail;
    }
    if rest.len() > 8 {
        h = fold_mul(read_u64(rest) ^ K1 ^ h, read_u64(&rest[8..]) ^ K2 ^ seed);
    } else {
        h = fold_mul(read_u64(rest) ^ K1 ^ h, K2 ^ seed);
    }
    fold_mul(h ^ K0, K1 ^ seed)
}

fn new_seed() -> u64 {
    RandomState::new().hash_one(0x5eed_u64)
}

/// A uniform integer in `0..n` (n > 0) from a 64-bit random word (Lemire's multiply-shift; the
/// bias is below 2^-32 for any n this crate sees).
#[inline]
pub(crate) fn below(rng: &mut impl FnMut() -> u64, n: usize) -> usize {
    ((u128::from(rng()) * n as u128) >> 64) as usize
}

/// `k` distinct indices of `0..n` (k <= n), uniformly chosen (Robert Floyd's algorithm: O(k)).
/// Returned in ascending order.
pub(crate) fn sample_distinct(n: usize, k: usize, rng: &mut impl FnMut() -> u64) -> Vec<usize> {
    let k = k.min(n);
    if k == n {
        return (0..n).collect();
    }
    let mut chosen = std::collections::HashSet::with_capacity(k);
    for j in (n - k)..n {
        let t = below(rng, j + 1);
        if !chosen.insert(t) {
            chosen.insert(j);
        }
    }
    let mut out: Vec<usize> = chosen.into_iter().collect();
    out.sort_unstable();
    out
}

/// Fisher-Yates shuffle.
pub(crate) fn shuffle<T>(v: &mut [T], rng: &mut impl FnMut() -> u64) {
    for i in (1..v.len()).rev() {
        let j = below(rng, i + 1);
        v.swap(i, j);
    }
}

/// Decimal text of `v` in `buf` (no allocation).
pub(crate) fn fmt_i64(v: i64, buf: &mut [u8; 20]) -> &[u8] {
    let mut n = v.unsigned_abs();
    let mut i = buf.len();
    loop {
        i -= 1;
        buf[i] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            break;
        }
    }
    if v < 0 {
        i -= 1;
        buf[i] = b'-';
    }
    &buf[i..]
}

/// One step of Redis's reverse-binary cursor: the next cursor after visiting `cursor & mask`.
#[inline]
pub(crate) fn next_cursor(cursor: u64, mask: u64) -> u64 {
    let v = (cursor | !mask).reverse_bits().wrapping_add(1);
    v.reverse_bits()
}

impl<E: Keyed> Table<E> {
    pub(crate) fn new() -> Self {
        Table {
            slots: Vec::new(),
            buckets: Box::default(),
            seed: new_seed(),
        }
    }

    /// An empty table with room for `n` elements without resizing.
    pub(crate) fn with_capacity(n: usize) -> Self {
        let mut t = Self::new();
        t.slots.reserve_exact(n);
        if n > 0 {
            t.rebuild(n.next_power_of_two().max(MIN_BUCKETS));
        }
        t
    }

    #[inline]
    pub(crate) fn len(&self) -> usize {
        self.slots.len()
    }

    #[inline]
    fn hash(&self, key: &[u8]) -> u64 {
        hash_bytes(self.seed, key)
    }

    #[inline]
    fn bucket_of(&self, key: &[u8]) -> usize {
        (self.hash(key) as usize) & (self.buckets.len().wrapping_sub(1))
    }

    /// Slot index of `key`.
    pub(crate) fn find(&self, key: &[u8]) -> Option<usize> {
        if self.buckets.is_empty() {
            return None;
        }
        let mut link = self.buckets.get(self.bucket_of(key)).copied().unwrap_or(0);
        while link != 0 {
            let slot = self.slots.get(link as usize - 1)?;
            if slot.entry.key() == key {
                return Some(link as usize - 1);
            }
            link = slot.next;
        }
        None
    }

    #[inline]
    pub(crate) fn get(&self, idx: usize) -> Option<&E> {
        self.slots.get(idx).map(|s| &s.entry)
    }

    /// Mutable access to an entry. Changing its key is a logic error (lookups would miss it).
    #[inline]
    pub(crate) fn get_mut(&mut self, idx: usize) -> Option<&mut E> {
        self.slots.get_mut(idx).map(|s| &mut s.entry)
    }

    pub(crate) fn lookup(&self, key: &[u8]) -> Option<&E> {
        self.find(key).and_then(|i| self.get(i))
    }

    /// Adds an entry whose key is known to be absent (the caller looked it up first). Returns its
    /// slot index.
    pub(crate) fn insert_new(&mut self, entry: E) -> usize {
        debug_assert!(self.find(entry.key()).is_none());
        debug_assert!(self.slots.len() < MAX_LEN);
        if self.slots.len() >= self.buckets.len() {
            // Load factor 1, as Redis's dict: grow to the next power of two above the new size.
            self.rebuild((self.slots.len() + 1).next_power_of_two().max(MIN_BUCKETS));
        }
        let b = self.bucket_of(entry.key());
        let idx = self.slots.len();
        let head = self.buckets.get(b).copied().unwrap_or(0);
        self.slots.push(Slot { entry, next: head });
        if let Some(h) = self.buckets.get_mut(b) {
            *h = idx as u32 + 1;
        }
        idx
    }

    /// Replaces the link that points at slot `idx` (in the chain of bucket `b`) by `to`.
    fn relink(&mut self, b: usize, idx: usize, to: u32) {
        let target = idx as u32 + 1;
        let Some(head) = self.buckets.get_mut(b) else {
            return;
        };
        if *head == target {
            *head = to;
            return;
        }
        let mut link = *head;
        while link != 0 {
            let Some(slot) = self.slots.get_mut(link as usize - 1) else {
                return;
            };
            if slot.next == target {
                slot.next = to;
                return;
            }
            link = slot.next;
        }
        debug_assert!(false, "slot {idx} not found in its bucket chain");
    }

    /// Removes the entry in slot `idx` and returns it. The last slot moves into its place.
    pub(crate) fn remove_at(&mut self, idx: usize) -> Option<E> {
        let next = self.slots.get(idx)?.next;
        let b = self.bucket_of(self.slots.get(idx)?.entry.key());
        self.relink(b, idx, next);
        let last = self.slots.len() - 1;
        if idx != last {
            // The last slot moves to `idx`: repoint the link that referenced it.
            let lb = self.bucket_of(self.slots.get(last)?.entry.key());
            self.relink(lb, last, idx as u32 + 1);
        }
        let removed = self.slots.swap_remove(idx).entry;
        self.maybe_shrink();
        Some(removed)
    }

    pub(crate) fn remove(&mut self, key: &[u8]) -> Option<E> {
        let idx = self.find(key)?;
        self.remove_at(idx)
    }

    fn maybe_shrink(&mut self) {
        let n = self.slots.len();
        if self.buckets.len() > MIN_BUCKETS && n * MIN_FILL_DIV < self.buckets.len() {
            self.rebuild(n.next_power_of_two().max(MIN_BUCKETS));
        }
        if self.slots.capacity() > 64 && n < self.slots.capacity() / 4 {
            self.slots.shrink_to(n * 2);
        }
    }

    /// Rebuilds every chain into a bucket array of `size` (a power of two) buckets.
    fn rebuild(&mut self, size: usize) {
        // `vec![0; n]` allocates zeroed memory (calloc): no up-front write of a large array.
        let mut buckets = vec![0u32; size].into_boxed_slice();
        let mask = size - 1;
        for (i, slot) in self.slots.iter_mut().enumerate() {
            let b = (hash_bytes(self.seed, slot.entry.key()) as usize) & mask;
            if let Some(h) = buckets.get_mut(b) {
                slot.next = *h;
                *h = i as u32 + 1;
            }
        }
        self.buckets = buckets;
    }

    /// Consumes the table, yielding its entries.
    pub(crate) fn into_entries(self) -> impl Iterator<Item = E> {
        self.slots.into_iter().map(|s| s.entry)
    }

    /// Slots in order (for iterators that must be named types).
    pub(crate) fn slots(&self) -> std::slice::Iter<'_, Slot<E>> {
        self.slots.iter()
    }

    /// Entries in slot order.
    pub(crate) fn iter(&self) -> impl ExactSizeIterator<Item = &E> + Clone {
        self.slots.iter().map(|s| &s.entry)
    }

    /// Visits the buckets from `cursor` on, calling `f` for each element, until at least `count`
    /// elements were emitted, `10 * count` buckets were visited (Redis's `maxiterations`), or the
    /// scan completed. Returns the next cursor; 0 means the scan is complete.
    pub(crate) fn scan<'a>(
        &'a self,
        mut cursor: u64,
        count: usize,
        mut f: impl FnMut(&'a E),
    ) -> u64 {
        if self.buckets.is_empty() {
            return 0;
        }
        let mask = (self.buckets.len() - 1) as u64;
        let count = count.max(1);
        let mut budget = count.saturating_mul(10);
        let mut emitted = 0usize;
        loop {
            let mut link = self
                .buckets
                .get((cursor & mask) as usize)
                .copied()
                .unwrap_or(0);
            while link != 0 {
                let Some(slot) = self.slots.get(link as usize - 1) else {
                    break;
                };
                f(&slot.entry);
                emitted += 1;
                link = slot.next;
            }
            cursor = next_cursor(cursor, mask);
            budget -= 1;
            if cursor == 0 || budget == 0 || emitted >= count {
                return cursor;
            }
        }
    }

    /// Bytes allocated by the table itself (not by the entries' own heap parts).
    pub(crate) fn table_bytes(&self) -> usize {
        self.slots.capacity() * std::mem::size_of::<Slot<E>>()
            + self.buckets.len() * std::mem::size_of::<u32>()
    }

    pub(crate) fn reserve(&mut self, additional: usize) {
        self.slots.reserve(additional);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::compact::CompactBytes;

    #[test]
    fn insert_find_remove_keeps_chains_consistent() {
        let mut t: Table<CompactBytes> = Table::new();
        for i in 0..2000u32 {
            let k = format!("k{i}");
            assert!(t.find(k.as_bytes()).is_none());
            t.insert_new(CompactBytes::new(k.as_bytes()));
        }
        assert_eq!(t.len(), 2000);
        for i in (0..2000u32).step_by(3) {
            assert!(t.remove(format!("k{i}").as_bytes()).is_some());
        }
        for i in 0..2000u32 {
            let present = t.find(format!("k{i}").as_bytes()).is_some();
            assert_eq!(present, i % 3 != 0, "k{i}");
        }
        // Shrinks back as it empties.
        for i in 0..2000u32 {
            t.remove(format!("k{i}").as_bytes());
        }
        assert_eq!(t.len(), 0);
        assert!(t.buckets.len() <= MIN_BUCKETS);
    }

    #[test]
    fn slot_sizes() {
        assert_eq!(std::mem::size_of::<Slot<CompactBytes>>(), 20);
        assert_eq!(
            std::mem::size_of::<Slot<(CompactBytes, CompactBytes)>>(),
            36
        );
    }

    #[test]
    fn cursor_walks_every_bucket_once() {
        for bits in 0..8 {
            let mask = (1u64 << bits) - 1;
            let mut seen = std::collections::HashSet::new();
            let mut c = 0u64;
            loop {
                assert!(seen.insert(c & mask));
                c = next_cursor(c, mask);
                if c == 0 {
                    break;
                }
            }
            assert_eq!(seen.len() as u64, mask + 1);
        }
    }

    #[test]
    fn sample_distinct_is_distinct_and_in_range() {
        let mut x = 0x1234_5678_9abc_def0u64;
        let mut rng = move || {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x
        };
        for (n, k) in [(10, 3), (10, 10), (10, 9), (1000, 999), (5, 0)] {
            let s = sample_distinct(n, k, &mut rng);
            assert_eq!(s.len(), k);
            assert!(s.windows(2).all(|w| w[0] < w[1]));
            assert!(s.iter().all(|&i| i < n));
        }
    }
}
