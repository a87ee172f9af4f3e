//! `Set`: Redis 7.0's set value, with its two `OBJECT ENCODING`s.
//!
//! - `intset` ([`intset`]): sorted integers packed at 16, 32 or 64 bits, upgraded exactly like
//!   Redis's intset; used while every member is a strict 64-bit integer (Redis's `string2ll`
//!   rules: no `+`, no leading zeros, no `-0`, no spaces) and there are at most
//!   `set-max-intset-entries` members;
//! - `hashtable`: the crate's dense chained table ([`crate::hash`]'s `table`) of
//!   [`CompactBytes`] members — 20 bytes per slot, members of up to 15 bytes stored inline.
//!
//! Redis 7.0 has no set listpack. A set starts as an empty `intset` and converts once and for
//! good (Redis never converts back) when a non-integer member is added or the size passes the
//! limit. The limit is passed in by the caller; like Redis it is capped at 2^30.
//!
//! Members are handed out as [`StrRef`] (bytes, or the integer whose decimal text they are) so
//! the `intset` encoding never formats integers it does not have to. Randomness is injected as a
//! `FnMut() -> u64`.
//!
//! Must not depend on the keyspace, on commands or on I/O.

mod intset;

use crate::compact::CompactBytes;
use crate::hash::table::{self, Table};
use crate::num::string2ll;
use crate::value::StrRef;
use intset::IntSet;

/// Redis caps `set-max-intset-entries` at 2^30 ("limit to 1G entries due to intset internals").
const INTSET_HARD_MAX: usize = 1 << 30;

/// An owned set member, as popped by SPOP.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SetMember {
    /// A member of an `intset`.
    Int(i64),
    /// A member of a `hashtable` set.
    Bytes(CompactBytes),
}

impl SetMember {
    /// Borrowed view.
    pub fn as_str_ref(&self) -> StrRef<'_> {
        match self {
            SetMember::Int(i) => StrRef::Int(*i),
            SetMember::Bytes(b) => StrRef::Bytes(b.as_slice()),
        }
    }

    /// The member's bytes.
    pub fn to_vec(&self) -> Vec<u8> {
        self.as_str_ref().to_vec()
    }
}

#[derive(Clone)]
enum Repr {
    Intset(IntSet),
    Table(Box<Table<CompactBytes>>),
}

/// A Redis set. See the module docs.
#[derive(Clone)]
pub struct Set {
    repr: Repr,
}

impl Default for Set {
    fn default() -> Self {
        Self::new()
    }
}

impl std::fmt::Debug for Set {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_set()
            .entries(
                self.iter()
                    .map(|m| String::from_utf8_lossy(&m.to_vec()).into_owned()),
            )
            .finish()
    }
}

impl PartialEq for Set {
    /// Same members, whatever the encodings.
    fn eq(&self, other: &Self) -> bool {
        self.len() == other.len() && self.iter().all(|m| other.contains_ref(m))
    }
}

impl Eq for Set {}

/// Iterator over the members of a [`Set`] (intset: ascending; hashtable: slot order).
#[derive(Clone)]
pub struct Iter<'a>(IterRepr<'a>);

#[derive(Clone)]
enum IterRepr<'a> {
    Intset(intset::Iter<'a>),
    Table(std::slice::Iter<'a, table::Slot<CompactBytes>>),
}

impl<'a> Iterator for Iter<'a> {
    type Item = StrRef<'a>;

    #[inline]
    fn next(&mut self) -> Option<StrRef<'a>> {
        match &mut self.0 {
            IterRepr::Intset(it) => it.next().map(StrRef::Int),
            IterRepr::Table(it) => it.next().map(|s| StrRef::Bytes(s.entry.as_slice())),
        }
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        match &self.0 {
            IterRepr::Intset(it) => it.size_hint(),
            IterRepr::Table(it) => it.size_hint(),
        }
    }
}

impl ExactSizeIterator for Iter<'_> {}

impl Set {
    /// An empty set in the `intset` encoding (allocates nothing). SINTERSTORE/SUNIONSTORE results
    /// start like this in Redis too.
    pub fn new() -> Self {
        Set {
            repr: Repr::Intset(IntSet::default()),
        }
    }

    /// An empty set already in the `hashtable` encoding, sized for `n` members.
    pub fn with_table_capacity(n: usize) -> Self {
        Set {
            repr: Repr::Table(Box::new(Table::with_capacity(n))),
        }
    }

    /// Loads Redis's serialized intset (RDB `SET_INTSET` payload); `None` if malformed. The
    /// caller converts to `hashtable` if it exceeds its limit, as Redis's loader does.
    pub fn from_intset_blob(blob: &[u8]) -> Option<Set> {
        IntSet::from_blob(blob).map(|s| Set {
            repr: Repr::Intset(s),
        })
    }

    /// Redis's serialized intset for RDB/DUMP, `None` unless the encoding is `intset`.
    pub fn intset_blob(&self) -> Option<Vec<u8>> {
        match &self.repr {
            Repr::Intset(s) => Some(s.to_blob()),
            Repr::Table(_) => None,
        }
    }

    /// Bytes per element of the `intset` encoding (2, 4 or 8), `None` for `hashtable`.
    pub fn intset_width(&self) -> Option<u8> {
        match &self.repr {
            Repr::Intset(s) => Some(s.width()),
            Repr::Table(_) => None,
        }
    }

    /// `OBJECT ENCODING`: `"intset"` or `"hashtable"`.
    pub fn encoding(&self) -> &'static str {
        match self.repr {
            Repr::Intset(_) => "intset",
            Repr::Table(_) => "hashtable",
        }
    }

    /// True in the `intset` encoding.
    pub fn is_intset(&self) -> bool {
        matches!(self.repr, Repr::Intset(_))
    }

    /// SCARD.
    pub fn len(&self) -> usize {
        match &self.repr {
            Repr::Intset(s) => s.len(),
            Repr::Table(t) => t.len(),
        }
    }

    /// True when empty (the caller deletes the key).
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Converts to `hashtable` (no-op if already there), presized for `extra` more members.
    pub fn convert_to_table(&mut self, extra: usize) {
        if let Repr::Intset(s) = &self.repr {
            let mut t = Table::with_capacity(s.len() + extra);
            let mut buf = [0u8; 20];
            for x in s.iter() {
                t.insert_new(CompactBytes::new(table::fmt_i64(x, &mut buf)));
            }
            self.repr = Repr::Table(Box::new(t));
        }
    }

    /// SADD of one member: true if it was added. `max_intset_entries` is
    /// `set-max-intset-entries`; the conversions are those of Redis's `setTypeAdd`.
    pub fn add(&mut self, member: &[u8], max_intset_entries: usize) -> bool {
        if let Repr::Intset(s) = &mut self.repr {
            match string2ll(member) {
                Some(x) => {
                    if !s.add(x) {
                        return false;
                    }
                    if s.len() > max_intset_entries.min(INTSET_HARD_MAX) {
                        self.convert_to_table(0);
                    }
                    return true;
                }
                None => self.convert_to_table(1),
            }
        }
        match &mut self.repr {
            Repr::Table(t) => {
                if t.find(member).is_some() {
                    false
                } else {
                    t.insert_new(CompactBytes::new(member));
                    true
                }
            }
            // Converted above.
            Repr::Intset(_) => false,
        }
    }

    /// [`Set::add`] of a borrowed member (SUNIONSTORE / SINTERSTORE / SMOVE feeding one set's
    /// members into another, without formatting integers into an `intset` target).
    pub fn add_ref(&mut self, member: StrRef<'_>, max_intset_entries: usize) -> bool {
        match member {
            StrRef::Bytes(b) => self.add(b, max_intset_entries),
            StrRef::Int(x) => match &mut self.repr {
                Repr::Intset(s) => {
                    if !s.add(x) {
                        return false;
                    }
                    if s.len() > max_intset_entries.min(INTSET_HARD_MAX) {
                        self.convert_to_table(0);
                    }
                    true
                }
                Repr::Table(_) => {
                    let mut buf = [0u8; 20];
                    self.add(table::fmt_i64(x, &mut buf), max_intset_entries)
                }
            },
        }
    }

    /// SREM of one member: true if it was present.
    pub fn remove(&mut self, member: &[u8]) -> bool {
        match &mut self.repr {
            Repr::Intset(s) => string2ll(member).is_some_and(|x| s.remove(x)),
            Repr::Table(t) => t.remove(member).is_some(),
        }
    }

    /// [`Set::remove`] of a borrowed member (SDIFFSTORE-style building).
    pub fn remove_ref(&mut self, member: StrRef<'_>) -> bool {
        match (member, &mut self.repr) {
            (StrRef::Int(x), Repr::Intset(s)) => s.remove(x),
            (m, _) => m.with_bytes(|b| self.remove(b)),
        }
    }

    /// SISMEMBER / SMISMEMBER.
    pub fn contains(&self, member: &[u8]) -> bool {
        match &self.repr {
            Repr::Intset(s) => string2ll(member).is_some_and(|x| s.contains(x)),
            Repr::Table(t) => t.find(member).is_some(),
        }
    }

    /// [`Set::contains`] for a member of another set (SINTER / SDIFF inner loops): an integer
    /// probing an `intset` is a binary search with no formatting.
    pub fn contains_ref(&self, member: StrRef<'_>) -> bool {
        match (member, &self.repr) {
            (StrRef::Int(x), Repr::Intset(s)) => s.contains(x),
            (StrRef::Int(x), Repr::Table(t)) => {
                let mut buf = [0u8; 20];
                t.find(table::fmt_i64(x, &mut buf)).is_some()
            }
            (StrRef::Bytes(b), _) => self.contains(b),
        }
    }

    /// SMEMBERS / SSCAN-less iteration: every member (intset ascending).
    pub fn iter(&self) -> Iter<'_> {
        Iter(match &self.repr {
            Repr::Intset(s) => IterRepr::Intset(s.iter()),
            Repr::Table(t) => IterRepr::Table(t.slots()),
        })
    }

    fn member_at(&self, i: usize) -> Option<StrRef<'_>> {
        match &self.repr {
            Repr::Intset(s) => s.get(i).map(StrRef::Int),
            Repr::Table(t) => t.get(i).map(|m| StrRef::Bytes(m.as_slice())),
        }
    }

    /// SRANDMEMBER without count: a uniformly random member, `None` when empty.
    pub fn random_member(&self, rng: &mut impl FnMut() -> u64) -> Option<StrRef<'_>> {
        match self.len() {
            0 => None,
            n => self.member_at(table::below(rng, n)),
        }
    }

    /// SRANDMEMBER with a negative count: calls `f` `count` times with a uniformly random member
    /// (repetitions allowed). Streams because `count` comes from the client.
    pub fn for_each_random<'a>(
        &'a self,
        count: usize,
        rng: &mut impl FnMut() -> u64,
        mut f: impl FnMut(StrRef<'a>),
    ) {
        let n = self.len();
        if n == 0 {
            return;
        }
        for _ in 0..count {
            if let Some(m) = self.member_at(table::below(rng, n)) {
                f(m);
            }
        }
    }

    /// SRANDMEMBER with a non-negative count: `min(count, len)` distinct members; the whole set
    /// (in iteration order) when `count >= len`, otherwise a uniform sample in random order.
    pub fn random_distinct(&self, count: usize, rng: &mut impl FnMut() -> u64) -> Vec<StrRef<'_>> {
        let n = self.len();
        if count >= n {
            return self.iter().collect();
        }
        let mut out: Vec<StrRef<'_>> = table::sample_distinct(n, count, rng)
            .into_iter()
            .filter_map(|i| self.member_at(i))
            .collect();
        table::shuffle(&mut out, rng);
        out
    }

    /// SRANDMEMBER with a count, Redis's semantics in one call: `count >= 0` distinct members,
    /// `count < 0` `|count|` members with repetitions. The caller bounds `|count|`.
    pub fn random_members(&self, count: i64, rng: &mut impl FnMut() -> u64) -> Vec<StrRef<'_>> {
        if count >= 0 {
            return self.random_distinct(usize::try_from(count).unwrap_or(usize::MAX), rng);
        }
        let want = usize::try_from(count.unsigned_abs()).unwrap_or(usize::MAX);
        let mut out = Vec::with_capacity(want.min(1 << 20));
        self.for_each_random(want, rng, |m| out.push(m));
        out
    }

    /// SPOP without count: removes and returns a uniformly random member.
    pub fn pop(&mut self, rng: &mut impl FnMut() -> u64) -> Option<SetMember> {
        let n = self.len();
        if n == 0 {
            return None;
        }
        let i = table::below(rng, n);
        match &mut self.repr {
            Repr::Intset(s) => s.remove_positions(&[i]).pop().map(SetMember::Int),
            Repr::Table(t) => t.remove_at(i).map(SetMember::Bytes),
        }
    }

    /// SPOP with a count: removes and returns `min(count, len)` distinct uniformly chosen members
    /// (all of them when `count >= len`; the caller then deletes the key, as Redis does).
    /// Cost O(count) for `hashtable`, O(len) for `intset`.
    pub fn pop_many(&mut self, count: usize, rng: &mut impl FnMut() -> u64) -> Vec<SetMember> {
        let n = self.len();
        if count >= n {
            // Everything goes; the encoding stays (Redis deletes the key at this point anyway).
            return match &mut self.repr {
                Repr::Intset(s) => std::mem::take(s).iter().map(SetMember::Int).collect(),
                Repr::Table(t) => std::mem::replace(t, Box::new(Table::new()))
                    .into_entries()
                    .map(SetMember::Bytes)
                    .collect(),
            };
        }
        let idx = table::sample_distinct(n, count, rng);
        let mut out: Vec<SetMember> = match &mut self.repr {
            Repr::Intset(s) => s
                .remove_positions(&idx)
                .into_iter()
                .map(SetMember::Int)
                .collect(),
            Repr::Table(t) => {
                // Highest index first: `remove_at` moves the last slot into the hole, and the last
                // slot is then never one still to be removed.
                idx.iter()
                    .rev()
                    .filter_map(|&i| t.remove_at(i).map(SetMember::Bytes))
                    .collect()
            }
        };
        table::shuffle(&mut out, rng);
        out
    }

    /// SSCAN: one call. `intset` returns every member with cursor 0 (as Redis); `hashtable` walks
    /// buckets from `cursor` with Redis's reverse-binary cursor until about `count` members were
    /// emitted, and returns the next cursor (0 = done). Every member present for the whole scan
    /// is emitted at least once.
    pub fn scan<'a>(&'a self, cursor: u64, count: usize, mut f: impl FnMut(StrRef<'a>)) -> u64 {
        match &self.repr {
            Repr::Intset(s) => {
                s.iter().for_each(|x| f(StrRef::Int(x)));
                0
            }
            Repr::Table(t) => t.scan(cursor, count, |m| f(StrRef::Bytes(m.as_slice()))),
        }
    }

    /// Heap bytes owned by this set (not counting the `Set` itself), for MEMORY USAGE.
    pub fn heap_bytes(&self) -> usize {
        match &self.repr {
            Repr::Intset(s) => s.heap_bytes(),
            Repr::Table(t) => {
                std::mem::size_of::<Table<CompactBytes>>()
                    + t.table_bytes()
                    + t.iter().map(CompactBytes::heap_size).sum::<usize>()
            }
        }
    }
}

/// SINTERCARD: the size of the intersection of `sets`, counting stops at `limit` (0 = no limit).
/// Any missing key is the caller's early 0. Walks the smallest set and probes the others, like
/// Redis's `sinterGenericCommand`.
pub fn inter_card(sets: &[&Set], limit: usize) -> usize {
    let mut order: Vec<&Set> = sets.to_vec();
    order.sort_by_key(|s| s.len());
    let Some((first, rest)) = order.split_first() else {
        return 0;
    };
    let mut n = 0usize;
    for m in first.iter() {
        if rest.iter().all(|s| s.contains_ref(m)) {
            n += 1;
            if limit != 0 && n >= limit {
                break;
            }
        }
    }
    n
}

/// SINTER / SINTERSTORE building block: calls `f` for each member of the intersection, in the
/// iteration order of the smallest set.
pub fn for_each_inter<'a>(sets: &[&'a Set], mut f: impl FnMut(StrRef<'a>)) {
    let mut order: Vec<&'a Set> = sets.to_vec();
    order.sort_by_key(|s| s.len());
    let Some((first, rest)) = order.split_first() else {
        return;
    };
    for m in first.iter() {
        if rest.iter().all(|s| s.contains_ref(m)) {
            f(m);
        }
    }
}

/// SUNION / SUNIONSTORE: a new set holding every member of `sets` (encoding chosen by the adds,
/// as Redis builds its destination set).
pub fn union(sets: &[&Set], max_intset_entries: usize) -> Set {
    let mut out = Set::new();
    for s in sets {
        for m in s.iter() {
            out.add_ref(m, max_intset_entries);
        }
    }
    out
}

/// SDIFF / SDIFFSTORE: members of `first` in none of `others`, as a new set.
pub fn diff(first: &Set, others: &[&Set], max_intset_entries: usize) -> Set {
    let mut out = Set::new();
    for m in first.iter() {
        if !others.iter().any(|s| s.contains_ref(m)) {
            out.add_ref(m, max_intset_entries);
        }
    }
    out
}

#[cfg(test)]
mod tests;
