//! One stream node: a packed buffer of entries that share the node's "master" field names.
//!
//! Layout of [`Node::buf`]:
//! - header: the field count, then each field name (varint length + bytes), taken from the
//!   first entry appended to the node;
//! - entries, each: a flag byte ([`DELETED`], [`SAME_FIELDS`], [`NEXT_SEQ`]); unless
//!   `NEXT_SEQ`, the ID as two varints relative to the previous entry of the node (the
//!   millisecond delta, then the sequence: a delta when the millisecond is the same, absolute
//!   otherwise); then with `SAME_FIELDS` only the values (varint length + bytes, one per master
//!   name), otherwise the field count and length-prefixed field/value pairs.
//!
//! The previous entry of the first one is taken to be the master ID with its sequence minus
//! one, so the first entry is always `NEXT_SEQ`, and a burst of `*` IDs within one millisecond
//! costs no ID bytes at all. Entries can only be decoded front to back; nodes are small
//! (`stream-node-max-entries`), so reverse iteration decodes a node's slots first.
//!
//! The tail node grows in steps of a quarter of its size rather than doubling, and a node is
//! shrunk to its length when the stream starts a new one, so sealed nodes carry no slack.

use super::StreamId;

/// The entry is deleted (XDEL, trimming inside a node).
const DELETED: u8 = 1;
/// Only values follow: the names are the node's master names.
const SAME_FIELDS: u8 = 2;
/// The ID is the previous entry's with the sequence plus one; no ID bytes follow.
const NEXT_SEQ: u8 = 4;

fn put_varint(out: &mut Vec<u8>, mut v: u64) {
    while v >= 0x80 {
        out.push((v as u8) | 0x80);
        v >>= 7;
    }
    out.push(v as u8);
}

fn get_varint(buf: &[u8], pos: &mut usize) -> u64 {
    let mut v = 0u64;
    let mut shift = 0u32;
    while let Some(&b) = buf.get(*pos) {
        *pos += 1;
        if shift < 64 {
            v |= u64::from(b & 0x7f) << shift;
        }
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

/// A length-prefixed string at `pos` (empty when the buffer is short).
fn get_str<'a>(buf: &'a [u8], pos: &mut usize) -> &'a [u8] {
    let l = get_varint(buf, pos) as usize;
    let start = *pos;
    *pos = start.saturating_add(l);
    buf.get(start..*pos).unwrap_or(&[])
}

fn skip_str(buf: &[u8], pos: &mut usize) {
    let l = get_varint(buf, pos) as usize;
    *pos = pos.saturating_add(l);
}

fn str_len(s: &[u8]) -> usize {
    varint_len(s.len() as u64) + s.len()
}

/// The entry's field and value bytes: what Redis weighs against `stream-node-max-bytes`
/// before appending to a node (our nodes being denser, a byte limit fits more entries).
pub(super) fn data_len(fields: &[(&[u8], &[u8])]) -> usize {
    fields.iter().map(|(f, v)| f.len() + v.len()).sum()
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub(super) struct Node {
    buf: Vec<u8>,
    /// Entries in the node, deleted ones included.
    pub count: u32,
    /// Live entries.
    pub live: u32,
    /// ID of the last entry appended (deleted or not): the base of the next entry's ID.
    pub last: StreamId,
}

/// One decoded entry position inside a node.
#[derive(Clone, Copy, Debug)]
pub(super) struct Slot {
    /// Offset of the flag byte.
    pub at: usize,
    pub id: StreamId,
    pub deleted: bool,
    /// End of the header when the entry uses the master names, 0 when its names are inline.
    names: usize,
    /// Offset of the first value (shared names) or of the field count (inline names).
    body: usize,
    /// Offset just past the entry.
    end: usize,
}

/// Decoding state walking a node's entries front to back; holds no borrow so that a caller
/// can mark entries deleted between steps.
pub(super) struct Cursor {
    pos: usize,
    prev: StreamId,
    /// Number of master names.
    names: u64,
    /// End of the header.
    head: usize,
}

impl Cursor {
    pub fn next(&mut self, buf: &[u8]) -> Option<Slot> {
        let at = self.pos;
        let flag = *buf.get(at)?;
        let mut pos = at + 1;
        let id = if flag & NEXT_SEQ != 0 {
            StreamId::new(self.prev.ms, self.prev.seq.wrapping_add(1))
        } else {
            let dms = get_varint(buf, &mut pos);
            let seq = get_varint(buf, &mut pos);
            if dms == 0 {
                StreamId::new(self.prev.ms, self.prev.seq.wrapping_add(seq))
            } else {
                StreamId::new(self.prev.ms.wrapping_add(dms), seq)
            }
        };
        let body = pos;
        let names = if flag & SAME_FIELDS != 0 {
            for _ in 0..self.names {
                skip_str(buf, &mut pos);
            }
            self.head
        } else {
            let n = get_varint(buf, &mut pos);
            for _ in 0..n.saturating_mul(2) {
                if pos >= buf.len() {
                    break;
                }
                skip_str(buf, &mut pos);
            }
            0
        };
        let end = pos.min(buf.len());
        self.pos = end;
        self.prev = id;
        Some(Slot {
            at,
            id,
            deleted: flag & DELETED != 0,
            names,
            body,
            end,
        })
    }
}

/// Iterator over a node's slots.
pub(super) struct Slots<'a> {
    buf: &'a [u8],
    cur: Cursor,
}

impl Iterator for Slots<'_> {
    type Item = Slot;
    fn next(&mut self) -> Option<Slot> {
        self.cur.next(self.buf)
    }
}

impl Node {
    /// A node whose master names and first entry are `fields`, with ID `id` (the master ID).
    pub fn new(id: StreamId, fields: &[(&[u8], &[u8])]) -> Node {
        let head =
            varint_len(fields.len() as u64) + fields.iter().map(|(f, _)| str_len(f)).sum::<usize>();
        let entry = 1 + fields.iter().map(|(_, v)| str_len(v)).sum::<usize>();
        let mut buf = Vec::with_capacity(head + entry);
        put_varint(&mut buf, fields.len() as u64);
        for (f, _) in fields {
            put_varint(&mut buf, f.len() as u64);
            buf.extend_from_slice(f);
        }
        let mut node = Node {
            buf,
            count: 0,
            live: 0,
            last: StreamId::new(id.ms, id.seq.wrapping_sub(1)),
        };
        node.push(id, fields);
        node
    }

    /// Bytes used (what the node size limit counts).
    pub fn len(&self) -> usize {
        self.buf.len()
    }

    /// Bytes allocated.
    pub fn capacity(&self) -> usize {
        self.buf.capacity()
    }

    /// Drops the growth slack: the node will take no more entries.
    pub fn seal(&mut self) {
        self.buf.shrink_to_fit();
    }

    fn same_as_master(&self, fields: &[(&[u8], &[u8])]) -> bool {
        let mut pos = 0;
        if get_varint(&self.buf, &mut pos) != fields.len() as u64 {
            return false;
        }
        fields
            .iter()
            .all(|(f, _)| get_str(&self.buf, &mut pos) == *f)
    }

    /// Appends an entry; `id` must be greater than [`Node::last`].
    pub fn push(&mut self, id: StreamId, fields: &[(&[u8], &[u8])]) {
        let same = self.same_as_master(fields);
        let next_seq = id.ms == self.last.ms && id.seq == self.last.seq.wrapping_add(1);
        let dms = id.ms.wrapping_sub(self.last.ms);
        let seq = if dms == 0 {
            id.seq.wrapping_sub(self.last.seq)
        } else {
            id.seq
        };
        let mut need = 1;
        if !next_seq {
            need += varint_len(dms) + varint_len(seq);
        }
        if same {
            need += fields.iter().map(|(_, v)| str_len(v)).sum::<usize>();
        } else {
            need += varint_len(fields.len() as u64)
                + fields
                    .iter()
                    .map(|(f, v)| str_len(f) + str_len(v))
                    .sum::<usize>();
        }
        if self.buf.capacity() - self.buf.len() < need {
            self.buf.reserve_exact(need.max(self.buf.len() / 4));
        }
        let buf = &mut self.buf;
        let mut flag = 0;
        if same {
            flag |= SAME_FIELDS;
        }
        if next_seq {
            flag |= NEXT_SEQ;
        }
        buf.push(flag);
        if !next_seq {
            put_varint(buf, dms);
            put_varint(buf, seq);
        }
        if !same {
            put_varint(buf, fields.len() as u64);
        }
        for (f, v) in fields {
            if !same {
                put_varint(buf, f.len() as u64);
                buf.extend_from_slice(f);
            }
            put_varint(buf, v.len() as u64);
            buf.extend_from_slice(v);
        }
        self.count += 1;
        self.live += 1;
        self.last = id;
    }

    /// A cursor at the first entry; `master` is the node's key.
    pub fn cursor(&self, master: StreamId) -> Cursor {
        let buf = &self.buf;
        let mut pos = 0;
        let names = get_varint(buf, &mut pos);
        for _ in 0..names {
            skip_str(buf, &mut pos);
        }
        Cursor {
            pos,
            prev: StreamId::new(master.ms, master.seq.wrapping_sub(1)),
            names,
            head: pos,
        }
    }

    pub fn slots(&self, master: StreamId) -> Slots<'_> {
        Slots {
            buf: &self.buf,
            cur: self.cursor(master),
        }
    }

    pub fn buf(&self) -> &[u8] {
        &self.buf
    }

    /// Marks the entry at `slot` deleted (the caller keeps `live` and the stream's counters).
    pub fn mark_deleted(&mut self, slot: &Slot) {
        if let Some(b) = self.buf.get_mut(slot.at) {
            *b |= DELETED;
        }
    }

    pub fn entry(&self, slot: &Slot) -> EntryRef<'_> {
        EntryRef {
            id: slot.id,
            names: (slot.names > 0).then(|| self.buf.get(..slot.names).unwrap_or(&[])),
            data: self.buf.get(slot.body..slot.end).unwrap_or(&[]),
        }
    }
}

/// A borrowed entry: its ID and its packed fields.
#[derive(Clone, Copy, Debug)]
pub struct EntryRef<'a> {
    pub id: StreamId,
    /// The node's header (count and names) when the entry uses the master names.
    names: Option<&'a [u8]>,
    /// The values (shared names), or the count and the field/value pairs.
    data: &'a [u8],
}

impl<'a> EntryRef<'a> {
    /// Number of field/value pairs.
    pub fn num_fields(&self) -> usize {
        let mut pos = 0;
        get_varint(self.names.unwrap_or(self.data), &mut pos) as usize
    }

    /// The field/value pairs in order.
    pub fn fields(&self) -> Fields<'a> {
        let mut npos = 0;
        let mut dpos = 0;
        let left = match self.names {
            Some(names) => get_varint(names, &mut npos),
            None => get_varint(self.data, &mut dpos),
        };
        Fields {
            names: self.names,
            npos,
            data: self.data,
            dpos,
            left: left as usize,
        }
    }
}

/// Iterator over an entry's field/value pairs.
#[derive(Clone, Debug)]
pub struct Fields<'a> {
    names: Option<&'a [u8]>,
    npos: usize,
    data: &'a [u8],
    dpos: usize,
    left: usize,
}

impl<'a> Iterator for Fields<'a> {
    type Item = (&'a [u8], &'a [u8]);

    fn next(&mut self) -> Option<Self::Item> {
        if self.left == 0 {
            return None;
        }
        self.left -= 1;
        let f = match self.names {
            Some(names) => get_str(names, &mut self.npos),
            None => get_str(self.data, &mut self.dpos),
        };
        let v = get_str(self.data, &mut self.dpos);
        Some((f, v))
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        (self.left, Some(self.left))
    }

    fn count(self) -> usize {
        self.left
    }
}

impl ExactSizeIterator for Fields<'_> {}
