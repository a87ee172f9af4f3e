//! `Hash`: Redis 7.0's hash value, with its two `OBJECT ENCODING`s.
//!
//! - `listpack` ([`listpack`]): field/value pairs packed in one byte buffer in insertion order,
//!   for small hashes;
//! - `hashtable` ([`table`]): a chained table with dense 36-byte slots (two inline-capable
//!   [`CompactBytes`] + a 32-bit link) and 32-bit bucket heads, for large ones.
//!
//! A hash starts as `listpack` and converts, once and for good (Redis never converts back), when
//! it would hold more than `hash-max-listpack-entries` pairs or when a field or value longer than
//! `hash-max-listpack-value` is written — the checks of Redis's `hashTypeSet`. The thresholds are
//! passed in by the caller ([`HashLimits`]), never read from globals.
//!
//! Randomness (HRANDFIELD) is injected as a `FnMut() -> u64` so tests are reproducible.
//!
//! Must not depend on the keyspace, on commands or on I/O.

pub(crate) mod listpack;
pub(crate) mod table;

use crate::compact::CompactBytes;
use crate::num::{self, FloatIncrError};
use listpack::Listpack;
use table::{Keyed, Table};

/// Redis's `LISTPACK_MAX_SAFETY_SIZE`: a listpack never grows past 1 GiB; a write that would take
/// it there converts the hash to a table first (`lpSafeToAdd`).
const LISTPACK_MAX_SAFETY_SIZE: usize = 1 << 30;

/// The conversion thresholds of hashes (Redis's `hash-max-listpack-entries` and
/// `hash-max-listpack-value`), passed in by the caller.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct HashLimits {
    /// Most pairs a `listpack` hash holds.
    pub max_listpack_entries: usize,
    /// Longest field or value a `listpack` hash holds.
    pub max_listpack_value: usize,
}

impl Default for HashLimits {
    /// Redis 7.0's defaults: 128 entries, 64 bytes.
    fn default() -> Self {
        HashLimits {
            max_listpack_entries: 128,
            max_listpack_value: 64,
        }
    }
}

/// Why HINCRBY / HINCRBYFLOAT failed. `Display` gives Redis's error text (without `ERR `).
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum HashError {
    /// HINCRBY: the stored value is not a strict 64-bit integer.
    #[error("hash value is not an integer")]
    NotInteger,
    /// HINCRBY: the sum does not fit in 64 bits.
    #[error("increment or decrement would overflow")]
    Overflow,
    /// HINCRBYFLOAT: the stored value does not parse as a float.
    #[error("hash value is not a float")]
    NotFloat,
    /// HINCRBYFLOAT: the increment is invalid or infinite, or the sum is not finite.
    #[error("{0}")]
    Float(FloatIncrError),
}

/// One field/value pair of the `hashtable` encoding.
#[derive(Clone, Debug)]
struct Pair {
    field: CompactBytes,
    value: CompactBytes,
}

impl Keyed for Pair {
    #[inline]
    fn key(&self) -> &[u8] {
        self.field.as_slice()
    }
}

#[derive(Clone)]
enum Repr {
    Listpack(Listpack),
    Table(Box<Table<Pair>>),
}

/// A Redis hash. See the module docs.
#[derive(Clone)]
pub struct Hash {
    repr: Repr,
}

impl Default for Hash {
    fn default() -> Self {
        Self::new()
    }
}

impl std::fmt::Debug for Hash {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_map()
            .entries(
                self.iter()
                    .map(|(k, v)| (String::from_utf8_lossy(k), String::from_utf8_lossy(v))),
            )
            .finish()
    }
}

impl PartialEq for Hash {
    /// Same pairs, whatever the encoding and order.
    fn eq(&self, other: &Self) -> bool {
        self.len() == other.len() && self.iter().all(|(f, v)| other.get(f) == Some(v))
    }
}

impl Eq for Hash {}

/// Iterator over the pairs of a [`Hash`] (listpack: insertion order; hashtable: slot order).
#[derive(Clone)]
pub struct Iter<'a>(IterRepr<'a>);

#[derive(Clone)]
enum IterRepr<'a> {
    Listpack(listpack::Iter<'a>),
    Table(std::slice::Iter<'a, table::Slot<Pair>>),
}

impl<'a> Iterator for Iter<'a> {
    type Item = (&'a [u8], &'a [u8]);

    #[inline]
    fn next(&mut self) -> Option<Self::Item> {
        match &mut self.0 {
            IterRepr::Listpack(it) => it.next(),
            IterRepr::Table(it) => it
                .next()
                .map(|s| (s.entry.field.as_slice(), s.entry.value.as_slice())),
        }
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        match &self.0 {
            IterRepr::Listpack(it) => it.size_hint(),
            IterRepr::Table(it) => it.size_hint(),
        }
    }
}

impl ExactSizeIterator for Iter<'_> {}

impl Hash {
    /// An empty hash in the `listpack` encoding (allocates nothing).
    pub fn new() -> Self {
        Hash {
            repr: Repr::Listpack(Listpack::default()),
        }
    }

    /// An empty hash already in the `hashtable` encoding, sized for `n` pairs (RDB loading,
    /// DEBUG, or a caller that knows the result will be large).
    pub fn with_table_capacity(n: usize) -> Self {
        Hash {
            repr: Repr::Table(Box::new(Table::with_capacity(n))),
        }
    }

    /// `OBJECT ENCODING`: `"listpack"` or `"hashtable"`.
    pub fn encoding(&self) -> &'static str {
        match self.repr {
            Repr::Listpack(_) => "listpack",
            Repr::Table(_) => "hashtable",
        }
    }

    /// True in the `listpack` encoding.
    pub fn is_listpack(&self) -> bool {
        matches!(self.repr, Repr::Listpack(_))
    }

    /// HLEN.
    pub fn len(&self) -> usize {
        match &self.repr {
            Repr::Listpack(lp) => lp.len(),
            Repr::Table(t) => t.len(),
        }
    }

    /// True when the hash has no field (its key must then be deleted by the caller).
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// HGET (and HMGET per field).
    pub fn get(&self, field: &[u8]) -> Option<&[u8]> {
        match &self.repr {
            Repr::Listpack(lp) => lp.get(field),
            Repr::Table(t) => t.lookup(field).map(|p| p.value.as_slice()),
        }
    }

    /// HEXISTS.
    pub fn contains(&self, field: &[u8]) -> bool {
        match &self.repr {
            Repr::Listpack(lp) => lp.find(field).is_some(),
            Repr::Table(t) => t.find(field).is_some(),
        }
    }

    /// HSTRLEN: length of the value, 0 for a missing field.
    pub fn strlen(&self, field: &[u8]) -> usize {
        self.get(field).map_or(0, <[u8]>::len)
    }

    /// Converts to the `hashtable` encoding (no-op if already there). Never goes back.
    pub fn convert_to_table(&mut self) {
        if let Repr::Listpack(lp) = &self.repr {
            let mut t = Table::with_capacity(lp.len());
            for (f, v) in lp.iter() {
                t.insert_new(Pair {
                    field: CompactBytes::new(f),
                    value: CompactBytes::new(v),
                });
            }
            self.repr = Repr::Table(Box::new(t));
        }
    }

    /// HSET / HMSET of one pair: returns true if the field is new (HSET counts those).
    ///
    /// Converts to `hashtable` first when `field` or `value` is longer than
    /// `limits.max_listpack_value` (or the listpack would pass 1 GiB), and after adding or
    /// updating when the hash holds more than `limits.max_listpack_entries` pairs — as Redis's
    /// `hashTypeSet`.
    pub fn set(&mut self, field: &[u8], value: &[u8], limits: HashLimits) -> bool {
        if let Repr::Listpack(lp) = &self.repr {
            if field.len() > limits.max_listpack_value
                || value.len() > limits.max_listpack_value
                || lp.bytes().saturating_add(field.len() + value.len()) > LISTPACK_MAX_SAFETY_SIZE
            {
                self.convert_to_table();
            }
        }
        match &mut self.repr {
            Repr::Listpack(lp) => {
                let added = match lp.find(field) {
                    Some(p) => {
                        lp.replace_value(p, value);
                        false
                    }
                    None => {
                        lp.push(field, value);
                        true
                    }
                };
                // Checked after an update too (the limit may have been lowered by CONFIG SET).
                if lp.len() > limits.max_listpack_entries {
                    self.convert_to_table();
                }
                added
            }
            Repr::Table(t) => match t.find(field) {
                Some(i) => {
                    if let Some(p) = t.get_mut(i) {
                        p.value = CompactBytes::new(value);
                    }
                    false
                }
                None => {
                    t.insert_new(Pair {
                        field: CompactBytes::new(field),
                        value: CompactBytes::new(value),
                    });
                    true
                }
            },
        }
    }

    /// HSETNX: sets only a missing field; true if it was set. An existing field leaves the hash
    /// (and its encoding) untouched, as in Redis.
    pub fn set_nx(&mut self, field: &[u8], value: &[u8], limits: HashLimits) -> bool {
        if self.contains(field) {
            return false;
        }
        self.set(field, value, limits)
    }

    /// HDEL of one field: true if it existed. The encoding never changes back.
    pub fn remove(&mut self, field: &[u8]) -> bool {
        match &mut self.repr {
            Repr::Listpack(lp) => match lp.find(field) {
                Some(p) => {
                    lp.remove(p);
                    true
                }
                None => false,
            },
            Repr::Table(t) => t.remove(field).is_some(),
        }
    }

    /// HINCRBY: adds `incr` to the field's integer value (a missing field counts as 0) and returns
    /// the new value. Nothing changes on error.
    pub fn incr_by(
        &mut self,
        field: &[u8],
        incr: i64,
        limits: HashLimits,
    ) -> Result<i64, HashError> {
        let current = match self.get(field) {
            Some(v) => num::string2ll(v).ok_or(HashError::NotInteger)?,
            None => 0,
        };
        let new = current.checked_add(incr).ok_or(HashError::Overflow)?;
        let mut buf = [0u8; 20];
        let text = table::fmt_i64(new, &mut buf);
        self.set(field, text, limits);
        Ok(new)
    }

    /// HINCRBYFLOAT: adds the float `incr` (unparsed argument) to the field's value with Redis's
    /// long-double arithmetic ([`num::hincr_by_float`]) and returns the stored text, which is also
    /// what Redis propagates (`HSET key field <text>`). Nothing changes on error.
    pub fn incr_by_float(
        &mut self,
        field: &[u8],
        incr: &[u8],
        limits: HashLimits,
    ) -> Result<Vec<u8>, HashError> {
        let text = match num::hincr_by_float(self.get(field), incr) {
            Ok(t) => t,
            Err(FloatIncrError::InvalidCurrent) => return Err(HashError::NotFloat),
            Err(e) => return Err(HashError::Float(e)),
        };
        self.set(field, &text, limits);
        Ok(text)
    }

    /// HGETALL / HKEYS / HVALS: every pair (listpack: insertion order).
    pub fn iter(&self) -> Iter<'_> {
        Iter(match &self.repr {
            Repr::Listpack(lp) => IterRepr::Listpack(lp.iter()),
            Repr::Table(t) => IterRepr::Table(t.slots()),
        })
    }

    /// Field names in iteration order (HKEYS).
    pub fn keys(&self) -> impl ExactSizeIterator<Item = &[u8]> {
        self.iter().map(|(f, _)| f)
    }

    /// Values in iteration order (HVALS).
    pub fn values(&self) -> impl ExactSizeIterator<Item = &[u8]> {
        self.iter().map(|(_, v)| v)
    }

    /// HRANDFIELD without count: one uniformly random pair, `None` when empty.
    pub fn random_pair(&self, rng: &mut impl FnMut() -> u64) -> Option<(&[u8], &[u8])> {
        let n = self.len();
        if n == 0 {
            return None;
        }
        let i = table::below(rng, n);
        match &self.repr {
            Repr::Listpack(lp) => lp.iter().nth(i),
            Repr::Table(t) => t.get(i).map(|p| (p.field.as_slice(), p.value.as_slice())),
        }
    }

    /// HRANDFIELD with a negative count: calls `f` `count` times with a uniformly random pair
    /// (repetitions allowed). Streams instead of collecting because `count` comes from the client
    /// and may be huge. Calls nothing on an empty hash.
    pub fn for_each_random<'a>(
        &'a self,
        count: usize,
        rng: &mut impl FnMut() -> u64,
        mut f: impl FnMut(&'a [u8], &'a [u8]),
    ) {
        let n = self.len();
        if n == 0 {
            return;
        }
        match &self.repr {
            Repr::Listpack(lp) => {
                let pos = lp.positions();
                for _ in 0..count {
                    if let Some((k, v)) = pos.get(table::below(rng, n)).and_then(|&p| lp.pair_at(p))
                    {
                        f(k, v);
                    }
                }
            }
            Repr::Table(t) => {
                for _ in 0..count {
                    if let Some(p) = t.get(table::below(rng, n)) {
                        f(&p.field, &p.value);
                    }
                }
            }
        }
    }

    /// HRANDFIELD with a non-negative count: `min(count, len)` distinct pairs. When `count >=
    /// len` the whole hash in iteration order (as Redis); otherwise a uniform sample, in listpack
    /// order for `listpack` (as Redis's `lpRandomPairsUnique`) and in random order for
    /// `hashtable`.
    pub fn random_distinct(
        &self,
        count: usize,
        rng: &mut impl FnMut() -> u64,
    ) -> Vec<(&[u8], &[u8])> {
        let n = self.len();
        if count >= n {
            return self.iter().collect();
        }
        let idx = table::sample_distinct(n, count, rng);
        match &self.repr {
            Repr::Listpack(lp) => {
                let pos = lp.positions();
                idx.iter()
                    .filter_map(|&i| pos.get(i).and_then(|&p| lp.pair_at(p)))
                    .collect()
            }
            Repr::Table(t) => {
                let mut out: Vec<_> = idx
                    .iter()
                    .filter_map(|&i| t.get(i).map(|p| (p.field.as_slice(), p.value.as_slice())))
                    .collect();
                table::shuffle(&mut out, rng);
                out
            }
        }
    }

    /// HRANDFIELD with a count, Redis's semantics in one call: `count >= 0` gives distinct pairs
    /// ([`Hash::random_distinct`]), `count < 0` gives `|count|` pairs with repetitions
    /// ([`Hash::for_each_random`]). The caller bounds `|count|` (Redis accepts up to `LONG_MAX`
    /// and streams; prefer `for_each_random` for large negative counts).
    pub fn random_pairs(&self, count: i64, rng: &mut impl FnMut() -> u64) -> Vec<(&[u8], &[u8])> {
        if count >= 0 {
            return self.random_distinct(usize::try_from(count).unwrap_or(usize::MAX), rng);
        }
        let want = usize::try_from(count.unsigned_abs()).unwrap_or(usize::MAX);
        let mut out = Vec::with_capacity(want.min(1 << 20));
        self.for_each_random(want, rng, |f, v| out.push((f, v)));
        out
    }

    /// HSCAN: one call. `listpack` returns every pair with cursor 0 (as Redis, whatever `count`);
    /// `hashtable` walks buckets from `cursor` with Redis's reverse-binary cursor until about
    /// `count` pairs were emitted, and returns the next cursor (0 = done). MATCH is the caller's
    /// filter on what `f` receives. Every pair present for the whole scan is emitted at least once.
    pub fn scan<'a>(
        &'a self,
        cursor: u64,
        count: usize,
        mut f: impl FnMut(&'a [u8], &'a [u8]),
    ) -> u64 {
        match &self.repr {
            Repr::Listpack(lp) => {
                for (k, v) in lp.iter() {
                    f(k, v);
                }
                0
            }
            Repr::Table(t) => t.scan(cursor, count, |p| f(&p.field, &p.value)),
        }
    }

    /// Heap bytes owned by this hash (not counting the `Hash` itself), for MEMORY USAGE.
    pub fn heap_bytes(&self) -> usize {
        match &self.repr {
            Repr::Listpack(lp) => lp.heap_bytes(),
            Repr::Table(t) => {
                std::mem::size_of::<Table<Pair>>()
                    + t.table_bytes()
                    + t.iter()
                        .map(|p| p.field.heap_size() + p.value.heap_size())
                        .sum::<usize>()
            }
        }
    }

    /// Reserves room for `additional` more pairs in the `hashtable` encoding (no-op for
    /// `listpack`, which grows exactly).
    pub fn reserve(&mut self, additional: usize) {
        if let Repr::Table(t) = &mut self.repr {
            t.reserve(additional);
        }
    }
}

#[cfg(test)]
mod tests;
