//! Streams: an ordered log of entries keyed by `ms-seq` IDs, plus consumer groups.
//!
//! Layout: entries live in packed nodes (one `Vec<u8>` per node holding up to
//! `node_max_entries` entries or about `node_max_bytes` bytes), and the nodes sit in a
//! `BTreeMap` keyed by the ID of the first entry appended to the node (Redis's "master ID").
//! Inside a node every entry is a flag byte (live/deleted), the ID as varint deltas from the
//! master ID, the field count, then length-prefixed fields and values. Deleting marks the flag;
//! a node whose entries are all deleted is dropped. So an entry costs a few bytes of framing
//! plus its data, never one allocation per field, and approximate trimming (`~`) removes whole
//! nodes as Redis does.
//!
//! Consumer groups ([`Group`]) keep their pending entries list (PEL) in a `BTreeMap` by ID and
//! their consumers ordered by name, like Redis's radix trees.

use std::collections::{BTreeMap, BTreeSet};

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

#[derive(Clone, Debug, PartialEq, Eq, Default)]
struct Node {
    buf: Vec<u8>,
    /// Entries in the node, deleted ones included.
    count: u32,
    /// Live entries.
    live: u32,
}

const LIVE: u8 = 0;
const DELETED: u8 = 1;

fn put_varint(out: &mut Vec<u8>, mut v: u64) {
    while v >= 0x80 {
        out.push((v as u8) | 0x80);
        v >>= 7;
    }
    out.push(v as u8);
}

fn get_varint(buf: &[u8], pos: &mut usize) -> u64 {
    let mut v = 0u64;
    let mut shift = 0;
    while let Some(&b) = buf.get(*pos) {
        *pos += 1;
        v |= u64::from(b & 0x7f) << shift;
        if b & 0x80 == 0 {
            break;
        }
        shift += 7;
    }
    v
}

fn varint_len(mut v: u64) -> usize {
    let mut n = 1;
    while v >= 0x80 {
        v >>= 7;
        n += 1;
    }
    n
}

/// One decoded entry position inside a node.
#[derive(Clone, Copy, Debug)]
struct Slot {
    /// Offset of the flag byte.
    at: usize,
    id: StreamId,
    deleted: bool,
    /// Offset of the field count.
    body: usize,
    /// Offset just past the entry.
    end: usize,
}

impl Node {
    fn slots(&self, master: StreamId) -> Vec<Slot> {
        let mut out = Vec::with_capacity(self.count as usize);
        let buf = &self.buf;
        let mut pos = 0;
        while pos < buf.len() {
            let at = pos;
            let deleted = buf[pos] == DELETED;
            pos += 1;
            let dms = get_varint(buf, &mut pos);
            let seq = get_varint(buf, &mut pos);
            let body = pos;
            let n = get_varint(buf, &mut pos);
            for _ in 0..n * 2 {
                let l = get_varint(buf, &mut pos) as usize;
                pos += l;
            }
            out.push(Slot {
                at,
                id: StreamId::new(master.ms.wrapping_add(dms), seq),
                deleted,
                body,
                end: pos.min(buf.len()),
            });
        }
        out
    }
}

/// A borrowed entry: its ID and its packed fields.
#[derive(Clone, Copy, Debug)]
pub struct EntryRef<'a> {
    pub id: StreamId,
    data: &'a [u8],
}

impl<'a> EntryRef<'a> {
    /// Number of field/value pairs.
    pub fn num_fields(&self) -> usize {
        let mut pos = 0;
        get_varint(self.data, &mut pos) as usize
    }

    /// The field/value pairs in order.
    pub fn fields(&self) -> impl Iterator<Item = (&'a [u8], &'a [u8])> + use<'a> {
        let data = self.data;
        let mut pos = 0;
        let n = get_varint(data, &mut pos);
        (0..n).map(move |_| {
            let fl = get_varint(data, &mut pos) as usize;
            let f = data.get(pos..pos + fl).unwrap_or(&[]);
            pos += fl;
            let vl = get_varint(data, &mut pos) as usize;
            let v = data.get(pos..pos + vl).unwrap_or(&[]);
            pos += vl;
            (f, v)
        })
    }
}

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
        let nodes: usize = self.nodes.values().map(|n| n.buf.capacity() + 48).sum();
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
        let mut enc_len = 1 + varint_len(fields.len() as u64);
        for (f, v) in fields {
            enc_len += varint_len(f.len() as u64) + f.len() + varint_len(v.len() as u64) + v.len();
        }
        let max_bytes = if limits.max_bytes == 0 || limits.max_bytes > NODE_HARD_MAX_BYTES {
            NODE_HARD_MAX_BYTES
        } else {
            limits.max_bytes
        };
        let reuse = match self.nodes.last_key_value() {
            Some((master, node)) => {
                let full = node.buf.len() + enc_len >= max_bytes
                    || (limits.max_entries > 0 && node.count as usize >= limits.max_entries);
                (!full && id.ms >= master.ms).then_some(*master)
            }
            None => None,
        };
        let master = reuse.unwrap_or(id);
        let node = self.nodes.entry(master).or_default();
        node.buf.push(LIVE);
        put_varint(&mut node.buf, id.ms - master.ms);
        put_varint(&mut node.buf, id.seq);
        put_varint(&mut node.buf, fields.len() as u64);
        for (f, v) in fields {
            put_varint(&mut node.buf, f.len() as u64);
            node.buf.extend_from_slice(f);
            put_varint(&mut node.buf, v.len() as u64);
            node.buf.extend_from_slice(v);
        }
        node.count += 1;
        node.live += 1;
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
                for s in node.slots(*master) {
                    if s.id > end {
                        return out;
                    }
                    if s.deleted || s.id < start {
                        continue;
                    }
                    out.push(EntryRef {
                        id: s.id,
                        data: &node.buf[s.body..s.end],
                    });
                    if out.len() >= limit {
                        return out;
                    }
                }
            }
        } else {
            for (master, node) in self.nodes.range(..=end).rev() {
                let slots = node.slots(*master);
                for s in slots.iter().rev() {
                    if s.id < start {
                        return out;
                    }
                    if s.deleted || s.id > end {
                        continue;
                    }
                    out.push(EntryRef {
                        id: s.id,
                        data: &node.buf[s.body..s.end],
                    });
                    if out.len() >= limit {
                        return out;
                    }
                }
            }
        }
        out
    }

    /// The entry with this ID, if live.
    pub fn get(&self, id: StreamId) -> Option<EntryRef<'_>> {
        self.range(id, id, false, 1).into_iter().next()
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
        let Some(slot) = node
            .slots(master)
            .into_iter()
            .find(|s| s.id == id && !s.deleted)
        else {
            return false;
        };
        node.buf[slot.at] = DELETED;
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
            let Some((master, node)) = self.nodes.first_key_value() else {
                break;
            };
            let master = *master;
            let entries = u64::from(node.live);
            if limit > 0 && deleted + entries > limit {
                break;
            }
            let remove_node = match how {
                Trim::MaxLen(m) => self.length - entries >= m,
                Trim::MinId(min) => node.slots(master).last().is_some_and(|s| s.id < min),
            };
            if remove_node {
                self.nodes.remove(&master);
                self.length -= entries;
                deleted += entries;
                continue;
            }
            if approx {
                break;
            }
            let Some(node) = self.nodes.get_mut(&master) else {
                break;
            };
            for s in node.slots(master) {
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
                node.buf[s.at] = DELETED;
                node.live -= 1;
                self.length -= 1;
                deleted += 1;
            }
            if node.live == 0 {
                self.nodes.remove(&master);
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
