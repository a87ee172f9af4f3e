//! Streams: an ordered log of entries keyed by `ms-seq` IDs, plus consumer groups.
//!
//! Layout: entries live in packed nodes (one `Vec<u8>` per node holding up to
//! `node_max_entries` entries or about `node_max_bytes` bytes), and the nodes sit in a
//! `BTreeMap` keyed by the ID of the first entry appended to the node (Redis's "master ID").
//! A node stores the field names of its first entry once; every later entry with the same
//! names stores only its values, and an ID that follows the previous one by one sequence
//! number costs no bytes (see [`node`] for the byte layout). Deleting marks a flag; a node
//! whose entries are all deleted is dropped. So an entry of a uniform stream costs a flag byte
//! plus its length-prefixed values, never one allocation per field, and approximate trimming
//! (`~`) removes whole nodes as Redis does.
//!
//! Consumer groups ([`Group`]) keep their pending entries list (PEL) in a `BTreeMap` by ID and
//! their consumers ordered by name, like Redis's radix trees.

mod node;

use std::collections::{BTreeMap, BTreeSet};

use node::Node;
pub use node::{EntryRef, Fields};

/// A stream entry ID.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct StreamId {
    pub ms: u64,
    pub seq: u64,
}

impl StreamId {
    pub const MIN: StreamId = StreamId { ms: 0, seq: 0 };
    pub const MAX: StreamId = StreamId {
        ms: u64::MAX,
        seq: u64::MAX,
    };

    pub fn new(ms: u64, seq: u64) -> StreamId {
        StreamId { ms, seq }
    }

    pub fn is_zero(&self) -> bool {
        self.ms == 0 && self.seq == 0
    }

    /// The next ID, `None` after the maximum.
    pub fn incr(&self) -> Option<StreamId> {
        if self.seq == u64::MAX {
            if self.ms == u64::MAX {
                return None;
            }
            Some(StreamId::new(self.ms + 1, 0))
        } else {
            Some(StreamId::new(self.ms, self.seq + 1))
        }
    }

    /// The previous ID, `None` before 0-0.
    pub fn decr(&self) -> Option<StreamId> {
        if self.seq == 0 {
            if self.ms == 0 {
                return None;
            }
            Some(StreamId::new(self.ms - 1, u64::MAX))
        } else {
            Some(StreamId::new(self.ms, self.seq - 1))
        }
    }

    /// `ms-seq`.
    pub fn to_bytes(&self) -> Vec<u8> {
        format!("{}-{}", self.ms, self.seq).into_bytes()
    }
}

impl std::fmt::Display for StreamId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}-{}", self.ms, self.seq)
    }
}

/// Default `stream-node-max-bytes` / `stream-node-max-entries`.
pub const DEFAULT_NODE_MAX_BYTES: usize = 4096;
pub const DEFAULT_NODE_MAX_ENTRIES: usize = 100;

/// Node size limits (Redis's `stream-node-max-bytes`, `stream-node-max-entries`; 0 = no limit).
#[derive(Clone, Copy, Debug)]
pub struct NodeLimits {
    pub max_bytes: usize,
    pub max_entries: usize,
}

impl Default for NodeLimits {
    fn default() -> Self {
        NodeLimits {
            max_bytes: DEFAULT_NODE_MAX_BYTES,
            max_entries: DEFAULT_NODE_MAX_ENTRIES,
        }
    }
}

/// Largest node size Redis allows whatever the configuration (1 GB).
const NODE_HARD_MAX_BYTES: usize = 1 << 30;

/// Heap bytes a node costs besides its buffer: its key and `Node` in the B-tree, whose leaves
/// fill to about half when nodes are appended in order.
const NODE_OVERHEAD: usize = 2 * std::mem::size_of::<(StreamId, Node)>();

/// A pending entry of a consumer group: delivered, not yet acknowledged.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Nack {
    /// Last delivery time (Unix ms).
    pub delivery_time: i64,
    pub delivery_count: u64,
    /// The consumer that owns it.
    pub consumer: Vec<u8>,
}

/// A consumer of a group.
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub struct Consumer {
    /// Last time it was seen (Unix ms).
    pub seen_time: i64,
    /// IDs of its pending entries (the entries themselves are in the group's PEL).
    pub pel: BTreeSet<StreamId>,
}

/// Marker for "entries read unknown" (Redis's SCG_INVALID_ENTRIES_READ).
pub const INVALID_ENTRIES_READ: i64 = -1;

/// A consumer group.
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub struct Group {
    pub last_id: StreamId,
    /// Logical read counter, or [`INVALID_ENTRIES_READ`].
    pub entries_read: i64,
    pub pel: BTreeMap<StreamId, Nack>,
    pub consumers: BTreeMap<Vec<u8>, Consumer>,
}

/// Trimming strategy for XADD/XTRIM.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Trim {
    MaxLen(u64),
    MinId(StreamId),
}

/// A stream.
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub struct Stream {
    nodes: BTreeMap<StreamId, Node>,
    length: u64,
    pub last_id: StreamId,
    pub first_id: StreamId,
    pub max_deleted_entry_id: StreamId,
    pub entries_added: u64,
    pub groups: BTreeMap<Vec<u8>, Group>,
}

/// Why an append failed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AppendError {
    /// The ID is not greater than the last one (or the sequence would overflow).
    IdTooSmall,
}

impl Stream {
    pub fn new() -> Stream {
        Stream::default()
    }

    pub fn len(&self) -> u64 {
        self.length
    }

    pub fn is_empty(&self) -> bool {
        self.length == 0
    }

    /// Number of nodes (XINFO STREAM's radix-tree-nodes / listpack counts).
    pub fn node_count(&self) -> usize {
        self.nodes.len()
    }

    pub fn encoding(&self) -> &'static str {
        "stream"
    }

    /// Approximate heap bytes.
    pub fn heap_bytes(&self) -> usize {
        let nodes: usize = self
            .nodes
            .values()
            .map(|n| n.capacity() + NODE_OVERHEAD)
            .sum();
        let groups: usize = self
            .groups
            .iter()
            .map(|(n, g)| {
                n.len()
                    + 64
                    + g.pel.values().map(|x| x.consumer.len() + 64).sum::<usize>()
                    + g.consumers
                        .iter()
                        .map(|(n, c)| n.len() + 48 + c.pel.len() * 24)
                        .sum::<usize>()
            })
            .sum();
        std::mem::size_of::<Stream>() + nodes + groups
    }

    /// The ID the next `*` append would get at time `now_ms`, or `None` when the stream has
    /// exhausted its IDs.
    pub fn next_auto_id(&self, now_ms: u64) -> Option<StreamId> {
        if self.last_id.ms < now_ms {
            Some(StreamId::new(now_ms, 0))
        } else {
            self.last_id.incr()
        }
    }

    /// Appends an entry with the given ID (which must be greater than `last_id`).
    pub fn append(
        &mut self,
        id: StreamId,
        fields: &[(&[u8], &[u8])],
        limits: NodeLimits,
    ) -> Result<(), AppendError> {
        if id <= self.last_id {
            return Err(AppendError::IdTooSmall);
        }
        let max_bytes = if limits.max_bytes == 0 || limits.max_bytes > NODE_HARD_MAX_BYTES {
            NODE_HARD_MAX_BYTES
        } else {
            limits.max_bytes
        };
        let reused = match self.nodes.last_entry() {
            Some(mut tail) => {
                let node = tail.get_mut();
                // XSETID never moves `last_id` below the entries, but a loaded file may.
                if id <= node.last {
                    return Err(AppendError::IdTooSmall);
                }
                let full = node.len() + node::data_len(fields) >= max_bytes
                    || (limits.max_entries > 0 && node.count as usize >= limits.max_entries);
                if !full {
                    node.push(id, fields);
                    true
                } else {
                    node.seal();
                    false
                }
            }
            None => false,
        };
        if !reused {
            self.nodes.insert(id, Node::new(id, fields));
        }
        if self.length == 0 {
            self.first_id = id;
        }
        self.length += 1;
        self.entries_added += 1;
        self.last_id = id;
        Ok(())
    }

    /// Entries with `start <= id <= end`, ascending (or descending with `rev`), at most
    /// `count` of them (0 = all).
    pub fn range(
        &self,
        start: StreamId,
        end: StreamId,
        rev: bool,
        count: usize,
    ) -> Vec<EntryRef<'_>> {
        let mut out = Vec::new();
        if start > end || self.length == 0 {
            return out;
        }
        let limit = if count == 0 { usize::MAX } else { count };
        if !rev {
            let first = self
                .nodes
                .range(..=start)
                .next_back()
                .map(|(k, _)| *k)
                .unwrap_or(start);
            for (master, node) in self.nodes.range(first..) {
                if *master > end {
                    break;
                }
                if node.last < start {
                    continue;
                }
                for s in node.slots(*master) {
                    if s.id > end {
                        return out;
                    }
                    if s.deleted || s.id < start {
                        continue;
                    }
                    out.push(node.entry(&s));
                    if out.len() >= limit {
                        return out;
                    }
                }
            }
        } else {
            // Entries decode front to back only: collect each node's matches, then flip them.
            for (master, node) in self.nodes.range(..=end).rev() {
                if node.last < start {
                    break;
                }
                let from = out.len();
                for s in node.slots(*master) {
                    if s.id > end {
                        break;
                    }
                    if !s.deleted && s.id >= start {
                        out.push(node.entry(&s));
                    }
                }
                out[from..].reverse();
                if out.len() >= limit {
                    out.truncate(limit);
                    break;
                }
            }
        }
        out
    }

    /// The entry with this ID, if live.
    pub fn get(&self, id: StreamId) -> Option<EntryRef<'_>> {
        let (master, node) = self.nodes.range(..=id).next_back()?;
        if node.last < id {
            return None;
        }
        node.slots(*master)
            .find(|s| s.id >= id)
            .filter(|s| s.id == id && !s.deleted)
            .map(|s| node.entry(&s))
    }

    /// The last live entry's ID (Redis's streamLastValidID), 0-0 when empty.
    pub fn last_valid_id(&self) -> StreamId {
        self.range(StreamId::MIN, StreamId::MAX, true, 1)
            .first()
            .map_or(StreamId::MIN, |e| e.id)
    }

    fn recompute_first(&mut self) {
        self.first_id = self
            .range(StreamId::MIN, StreamId::MAX, false, 1)
            .first()
            .map_or(StreamId::MIN, |e| e.id);
    }

    /// Deletes the entry `id`; true if it was there. Updates `max_deleted_entry_id` and the
    /// first ID as XDEL does.
    pub fn delete(&mut self, id: StreamId) -> bool {
        let Some((master, node)) = self.nodes.range_mut(..=id).next_back() else {
            return false;
        };
        let master = *master;
        if node.last < id {
            return false;
        }
        let Some(slot) = node
            .slots(master)
            .find(|s| s.id >= id)
            .filter(|s| s.id == id && !s.deleted)
        else {
            return false;
        };
        node.mark_deleted(&slot);
        node.live -= 1;
        if node.live == 0 {
            self.nodes.remove(&master);
        }
        self.length -= 1;
        if id > self.max_deleted_entry_id {
            self.max_deleted_entry_id = id;
        }
        if self.length == 0 {
            self.first_id = StreamId::MIN;
        } else if id == self.first_id {
            self.recompute_first();
        }
        true
    }

    /// Trims as Redis's streamTrim: whole nodes first; with `approx` stops at the first node
    /// that cannot go entirely; `limit` bounds the entries removed (0 = no bound). Returns the
    /// number of entries removed.
    pub fn trim(&mut self, how: Trim, approx: bool, limit: u64) -> u64 {
        let mut deleted = 0u64;
        loop {
            if let Trim::MaxLen(m) = how {
                if self.length <= m {
                    break;
                }
            }
            let Some(mut first) = self.nodes.first_entry() else {
                break;
            };
            let master = *first.key();
            let node = first.get_mut();
            let entries = u64::from(node.live);
            if limit > 0 && deleted + entries > limit {
                break;
            }
            let remove_node = match how {
                Trim::MaxLen(m) => self.length - entries >= m,
                Trim::MinId(min) => node.last < min,
            };
            if remove_node {
                first.remove();
                self.length -= entries;
                deleted += entries;
                continue;
            }
            if approx {
                break;
            }
            let mut cur = node.cursor(master);
            while let Some(s) = cur.next(node.buf()) {
                if s.deleted {
                    continue;
                }
                let stop = match how {
                    Trim::MaxLen(m) => self.length <= m,
                    Trim::MinId(min) => s.id >= min,
                };
                if stop {
                    break;
                }
                node.mark_deleted(&s);
                node.live -= 1;
                self.length -= 1;
                deleted += 1;
            }
            if node.live == 0 {
                first.remove();
            }
            break;
        }
        if deleted > 0 {
            // Redis reads the first ID back after a trim; an emptied stream reads as the
            // maximal ID there (unlike XDEL, which resets it to 0-0).
            if self.length == 0 {
                self.first_id = StreamId::MAX;
            } else {
                self.recompute_first();
            }
        }
        deleted
    }

    /// Redis's streamEstimateDistanceFromFirstEverEntry: the logical read counter of `id`,
    /// or [`INVALID_ENTRIES_READ`] when it cannot be known.
    pub fn estimate_distance(&self, id: StreamId) -> i64 {
        if self.entries_added == 0 {
            return 0;
        }
        if self.length == 0 && id <= self.last_id {
            return self.entries_added as i64;
        }
        if id == self.last_id {
            return self.entries_added as i64;
        }
        if id > self.last_id {
            return INVALID_ENTRIES_READ;
        }
        if self.max_deleted_entry_id.is_zero() || self.max_deleted_entry_id < self.first_id {
            if id < self.first_id {
                return (self.entries_added - self.length) as i64;
            } else if id == self.first_id {
                return (self.entries_added - self.length + 1) as i64;
            }
        }
        INVALID_ENTRIES_READ
    }

    /// Redis's streamRangeHasTombstones.
    pub fn range_has_tombstones(&self, start: Option<StreamId>, end: Option<StreamId>) -> bool {
        if self.length == 0 || self.max_deleted_entry_id.is_zero() {
            return false;
        }
        if self.first_id > self.max_deleted_entry_id {
            return false;
        }
        let s = start.unwrap_or(StreamId::MIN);
        let e = end.unwrap_or(StreamId::MAX);
        s <= self.max_deleted_entry_id && self.max_deleted_entry_id <= e
    }

    /// The group's lag (XINFO GROUPS), `None` when it cannot be computed.
    pub fn group_lag(&self, g: &Group) -> Option<i64> {
        if self.entries_added == 0 {
            return Some(0);
        }
        if g.entries_read != INVALID_ENTRIES_READ
            && !self.range_has_tombstones(Some(g.last_id), None)
        {
            return Some(self.entries_added as i64 - g.entries_read);
        }
        let er = self.estimate_distance(g.last_id);
        (er != INVALID_ENTRIES_READ).then(|| self.entries_added as i64 - er)
    }

    /// Number of live entries after `id`, up to `max` (for cheap "is there anything new").
    pub fn has_entries_after(&self, id: StreamId) -> bool {
        self.length > 0 && self.last_valid_id() > id
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn ids(s: &Stream) -> Vec<u64> {
        s.range(StreamId::MIN, StreamId::MAX, false, 0)
            .iter()
            .map(|e| e.id.ms)
            .collect()
    }

    #[test]
    fn append_range_delete() {
        let mut s = Stream::new();
        let lim = NodeLimits {
            max_bytes: 4096,
            max_entries: 3,
        };
        for i in 1..=10u64 {
            let v = i.to_string();
            s.append(StreamId::new(i, 0), &[(b"f", v.as_bytes())], lim)
                .unwrap();
        }
        assert_eq!(s.node_count(), 4);
        assert_eq!(s.len(), 10);
        assert_eq!(
            s.append(StreamId::new(10, 0), &[(b"f", b"x")], lim),
            Err(AppendError::IdTooSmall)
        );
        let r = s.range(StreamId::new(3, 0), StreamId::new(6, 0), false, 0);
        assert_eq!(
            r.iter().map(|e| e.id.ms).collect::<Vec<_>>(),
            vec![3, 4, 5, 6]
        );
        let f: Vec<_> = r[0].fields().collect();
        assert_eq!(f, vec![(&b"f"[..], &b"3"[..])]);
        let r = s.range(StreamId::new(3, 0), StreamId::new(6, 0), true, 2);
        assert_eq!(r.iter().map(|e| e.id.ms).collect::<Vec<_>>(), vec![6, 5]);
        assert!(s.delete(StreamId::new(1, 0)));
        assert!(!s.delete(StreamId::new(1, 0)));
        assert_eq!(s.first_id, StreamId::new(2, 0));
        assert_eq!(s.max_deleted_entry_id, StreamId::new(1, 0));
        assert_eq!(s.trim(Trim::MaxLen(5), true, 0), 2);
        assert_eq!(ids(&s), vec![4, 5, 6, 7, 8, 9, 10]);
        assert_eq!(s.trim(Trim::MaxLen(5), false, 0), 2);
        assert_eq!(ids(&s), vec![6, 7, 8, 9, 10]);
        assert_eq!(s.trim(Trim::MinId(StreamId::new(8, 0)), false, 0), 2);
        assert_eq!(ids(&s), vec![8, 9, 10]);
        assert_eq!(s.first_id, StreamId::new(8, 0));
    }

    type Pairs = Vec<(Vec<u8>, Vec<u8>)>;

    #[derive(Clone, Debug)]
    enum Op {
        /// Append: ID step kind and amounts, which field-name set, value sizes.
        Add(u8, u64, u64, u8, Vec<usize>),
        Del(u64),
        Trim(bool, bool, u64, u64),
        Range(u64, u64, bool, usize),
        Get(u64),
    }

    fn op() -> impl Strategy<Value = Op> {
        prop_oneof![
            6 => (0u8..4, 0u64..5, prop_oneof![0u64..300, Just(u64::MAX - 1)], 0u8..5,
                  proptest::collection::vec(prop_oneof![0usize..4, 120usize..140], 0..4))
                .prop_map(|(k, a, b, f, v)| Op::Add(k, a, b, f, v)),
            2 => any::<u64>().prop_map(Op::Del),
            1 => (any::<bool>(), any::<bool>(), any::<u64>(), 0u64..8)
                .prop_map(|(m, ap, x, l)| Op::Trim(m, ap, x, l)),
            2 => (any::<u64>(), any::<u64>(), any::<bool>(), 0usize..5)
                .prop_map(|(a, b, r, c)| Op::Range(a, b, r, c)),
            1 => any::<u64>().prop_map(Op::Get),
        ]
    }

    /// The model's ID at a random index (or one just past an existing ID).
    fn pick(model: &BTreeMap<StreamId, Pairs>, all: &[StreamId], x: u64) -> StreamId {
        if all.is_empty() || x.is_multiple_of(5) {
            return StreamId::new(x % 8, x % 3);
        }
        let id = all[(x / 5) as usize % all.len()];
        if x.is_multiple_of(7) && !model.contains_key(&id) {
            return id.incr().unwrap_or(id);
        }
        id
    }

    fn pairs(e: &EntryRef<'_>) -> Pairs {
        e.fields().map(|(f, v)| (f.to_vec(), v.to_vec())).collect()
    }

    proptest! {
        /// Entries sharing the node's field names or not, IDs in the same millisecond or
        /// not, deletes, exact and approximate trims, ranges both ways: all against a
        /// `BTreeMap` model.
        #[test]
        fn model_mixed_fields(
            ops in proptest::collection::vec(op(), 0..150),
            max_entries in 0usize..6,
            max_bytes in prop_oneof![Just(0usize), 8usize..300],
        ) {
            let names: [&[&[u8]]; 5] = [&[b"a", b"b"], &[b"a", b"b"], &[b"b", b"a"], &[b"a"], &[]];
            let lim = NodeLimits { max_bytes, max_entries };
            let mut s = Stream::new();
            let mut model: BTreeMap<StreamId, Pairs> = BTreeMap::new();
            let mut all: Vec<StreamId> = Vec::new();
            for op in ops {
                match op {
                    Op::Add(kind, a, b, f, sizes) => {
                        let last = s.last_id;
                        let id = match kind {
                            0 | 1 => last.incr(),
                            2 => last.seq.checked_add(2 + b % 1000).map(|q| StreamId::new(last.ms, q)),
                            _ => last.ms.checked_add(1 + a * 1000).map(|m| StreamId::new(m, b)),
                        };
                        let Some(id) = id else { continue };
                        let fs = names[f as usize];
                        let vals: Vec<Vec<u8>> = (0..fs.len().max(sizes.len()))
                            .map(|i| vec![b'0' + (i % 10) as u8; sizes.get(i).copied().unwrap_or(1)])
                            .collect();
                        let owned: Pairs = if f == 4 {
                            // Names of its own: per-entry field names.
                            vals.iter().enumerate().map(|(i, v)| (format!("x{i}").into_bytes(), v.clone())).collect()
                        } else {
                            fs.iter().zip(&vals).map(|(n, v)| (n.to_vec(), v.clone())).collect()
                        };
                        let refs: Vec<(&[u8], &[u8])> = owned.iter().map(|(f, v)| (&f[..], &v[..])).collect();
                        prop_assert!(s.append(id, &refs, lim).is_ok());
                        prop_assert_eq!(s.append(id, &refs, lim), Err(AppendError::IdTooSmall));
                        model.insert(id, owned);
                        all.push(id);
                    }
                    Op::Del(x) => {
                        let id = pick(&model, &all, x);
                        prop_assert_eq!(s.delete(id), model.remove(&id).is_some());
                    }
                    Op::Trim(maxlen, approx, x, limit) => {
                        let how = if maxlen {
                            Trim::MaxLen(x % 12)
                        } else {
                            Trim::MinId(pick(&model, &all, x))
                        };
                        let limit = if approx { limit } else { 0 };
                        let before = model.len() as u64;
                        let n = s.trim(how, approx, limit);
                        if limit > 0 {
                            prop_assert!(n <= limit);
                        }
                        for _ in 0..n {
                            let (id, _) = model.pop_first().unwrap();
                            if let Trim::MinId(min) = how {
                                prop_assert!(id < min);
                            }
                        }
                        match how {
                            Trim::MaxLen(m) => prop_assert!(model.len() as u64 >= m.min(before)),
                            Trim::MinId(min) if !approx => {
                                prop_assert!(model.keys().next().is_none_or(|k| *k >= min));
                            }
                            Trim::MinId(_) => {}
                        }
                        if let (Trim::MaxLen(m), false) = (how, approx) {
                            prop_assert_eq!(model.len() as u64, m.min(before));
                        }
                    }
                    Op::Range(a, b, rev, count) => {
                        let (lo, hi) = (pick(&model, &all, a), pick(&model, &all, b));
                        let got: Vec<(StreamId, Pairs)> =
                            s.range(lo, hi, rev, count).iter().map(|e| (e.id, pairs(e))).collect();
                        let limit = if count == 0 { usize::MAX } else { count };
                        let want: Vec<(StreamId, Pairs)> = if lo > hi {
                            Vec::new()
                        } else if rev {
                            model.range(lo..=hi).rev().take(limit).map(|(k, v)| (*k, v.clone())).collect()
                        } else {
                            model.range(lo..=hi).take(limit).map(|(k, v)| (*k, v.clone())).collect()
                        };
                        prop_assert_eq!(got, want);
                    }
                    Op::Get(x) => {
                        let id = pick(&model, &all, x);
                        prop_assert_eq!(s.get(id).map(|e| pairs(&e)), model.get(&id).cloned());
                    }
                }
                prop_assert_eq!(s.len(), model.len() as u64);
                let entries = s.range(StreamId::MIN, StreamId::MAX, false, 0);
                for e in &entries {
                    prop_assert_eq!(e.num_fields(), e.fields().count());
                }
                let got: Vec<(StreamId, Pairs)> = entries.iter().map(|e| (e.id, pairs(e))).collect();
                let want: Vec<(StreamId, Pairs)> = model.iter().map(|(k, v)| (*k, v.clone())).collect();
                prop_assert_eq!(got, want);
                let rev: Vec<StreamId> =
                    s.range(StreamId::MIN, StreamId::MAX, true, 0).iter().map(|e| e.id).collect();
                prop_assert_eq!(rev, model.keys().rev().copied().collect::<Vec<_>>());
                prop_assert_eq!(s.last_valid_id(), model.keys().next_back().copied().unwrap_or_default());
                if let Some(first) = model.keys().next() {
                    prop_assert_eq!(s.first_id, *first);
                }
                for n in s.nodes.values() {
                    prop_assert!(max_entries == 0 || n.count as usize <= max_entries);
                    prop_assert!(n.live > 0 && n.live <= n.count);
                }
            }
        }
    }

    proptest! {
        #[test]
        fn model(ops in proptest::collection::vec((0u8..4, 0u64..40, 0usize..3), 0..200)) {
            let mut s = Stream::new();
            let mut model: BTreeMap<u64, Vec<u8>> = BTreeMap::new();
            let lim = NodeLimits { max_bytes: 64, max_entries: 4 };
            let mut next = 1u64;
            for (op, x, n) in ops {
                match op {
                    0 | 1 => {
                        let v = vec![b'a' + (next % 26) as u8; n * 7];
                        s.append(StreamId::new(next, 0), &[(b"k", &v)], lim).unwrap();
                        model.insert(next, v);
                        next += 1;
                    }
                    2 => {
                        let id = x % next.max(1);
                        prop_assert_eq!(s.delete(StreamId::new(id, 0)), model.remove(&id).is_some());
                    }
                    _ => {
                        let m = x % 10;
                        s.trim(Trim::MaxLen(m), false, 0);
                        while model.len() as u64 > m {
                            let k = *model.keys().next().unwrap();
                            model.remove(&k);
                        }
                    }
                }
                prop_assert_eq!(s.len(), model.len() as u64);
                let got: Vec<(u64, Vec<u8>)> = s
                    .range(StreamId::MIN, StreamId::MAX, false, 0)
                    .iter()
                    .map(|e| (e.id.ms, e.fields().next().unwrap().1.to_vec()))
                    .collect();
                let want: Vec<(u64, Vec<u8>)> = model.iter().map(|(k, v)| (*k, v.clone())).collect();
                prop_assert_eq!(&got, &want);
                let rev: Vec<u64> = s.range(StreamId::MIN, StreamId::MAX, true, 0).iter().map(|e| e.id.ms).collect();
                let mut wr: Vec<u64> = model.keys().copied().collect();
                wr.reverse();
                prop_assert_eq!(rev, wr);
                if let Some(first) = model.keys().next() {
                    prop_assert_eq!(s.first_id.ms, *first);
                }
            }
        }
    }
}
