//! Redis 7.0 list: a quicklist of packed nodes.
//!
//! `OBJECT ENCODING` is always `quicklist`. The list is a `VecDeque` of nodes; each node is
//! either *packed* (a listpack-like run of entries, see [`codec`]) bounded by
//! `list-max-listpack-size`, or *plain* (one element stored as is, for elements of at least
//! `DEBUG QUICKLIST-PACKED-THRESHOLD` bytes). Nodes deeper than `list-compress-depth` from
//! either end are LZF-compressed when that saves at least 8 bytes, as in Redis.
//!
//! Thresholds are passed in by the caller: `fill` and `compress_depth` when the list is
//! created (Redis fixes them per list at creation too), `packed_threshold` on every write that
//! adds an element (Redis reads its global at insert time).
//!
//! Node boundaries follow Redis's rules byte for byte (entry sizes equal listpack's, and a
//! node's size is counted with listpack's 7 header/trailer bytes), so memory per node and the
//! split points are the same as Redis's; only the node header is smaller.
//!
//! Reads (`get`, `range`, `positions`, iterators) take `&self` and decompress a compressed
//! node into a scratch buffer; writes decompress in place and recompress afterwards.
//!
//! This module depends on nothing but `num` (integer parsing) and the `lzf` crate.

mod codec;
#[cfg(test)]
mod tests;

use std::borrow::Cow;
use std::collections::VecDeque;

use codec::Enc;
pub use codec::Entry;

/// Default of `DEBUG QUICKLIST-PACKED-THRESHOLD` (1 GiB).
pub const DEFAULT_PACKED_THRESHOLD: usize = 1 << 30;
/// Default `list-max-listpack-size`.
pub const DEFAULT_FILL: i32 = -2;
/// Largest positive fill Redis keeps (its node count field is 16-bit).
pub const FILL_MAX: i32 = (1 << 15) - 1;

/// Byte limits for fill -1..-5.
const SIZE_LEVELS: [usize; 5] = [4096, 8192, 16384, 32768, 65536];
/// Count-limited nodes still stop growing past this many bytes.
const SIZE_SAFETY_LIMIT: usize = 8192;
/// Redis over-estimates an entry's encoding overhead by this much when deciding to insert.
const SIZE_ESTIMATE_OVERHEAD: usize = 8;
/// A listpack's header (6) and terminator (1): counted in node sizes so splits match Redis.
const LISTPACK_OVERHEAD: usize = 7;
/// Nodes smaller than this are not worth compressing.
const MIN_COMPRESS_BYTES: usize = 48;
/// Compression must save at least this much to be kept.
const MIN_COMPRESS_IMPROVE: usize = 8;

/// One end of a list.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum End {
    /// The left end (index 0): LPUSH, LPOP, LEFT.
    Head,
    /// The right end (index -1): RPUSH, RPOP, RIGHT.
    Tail,
}

/// LINSERT's BEFORE | AFTER.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Where {
    /// Insert before the pivot.
    Before,
    /// Insert after the pivot.
    After,
}

/// Errors of list operations.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ListError {
    /// LSET on an index outside the list.
    #[error("index out of range")]
    IndexOutOfRange,
    /// LPOS with RANK 0.
    #[error("RANK can't be zero")]
    ZeroRank,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Comp {
    /// Uncompressed, changed (or never tried) since the last compression attempt.
    Raw,
    /// Uncompressed because the last attempt did not pay off; retried after a change.
    Incompressible,
    /// `buf` holds LZF data of `raw_len` bytes.
    Lzf,
}

#[derive(Debug, Clone)]
struct Node {
    buf: Vec<u8>,
    count: u32,
    raw_len: u32,
    plain: bool,
    comp: Comp,
}

impl Node {
    fn packed(v: &[u8]) -> Node {
        let e = Enc::of(v);
        let mut buf = Vec::with_capacity(e.encoded_len());
        e.push_to(&mut buf);
        Node {
            buf,
            count: 1,
            raw_len: 0,
            plain: false,
            comp: Comp::Raw,
        }
    }

    fn for_elem(v: &[u8], packed_threshold: usize) -> Node {
        if v.len() >= packed_threshold {
            Node {
                buf: v.to_vec(),
                count: 1,
                raw_len: 0,
                plain: true,
                comp: Comp::Raw,
            }
        } else {
            Node::packed(v)
        }
    }

    fn raw_size(&self) -> usize {
        if self.comp == Comp::Lzf {
            self.raw_len as usize
        } else {
            self.buf.len()
        }
    }

    /// Size as Redis counts it for fill decisions.
    fn sz(&self) -> usize {
        if self.plain {
            self.raw_size()
        } else {
            self.raw_size() + LISTPACK_OVERHEAD
        }
    }

    /// The uncompressed bytes, decompressing into a new buffer if needed.
    fn raw(&self) -> Cow<'_, [u8]> {
        if self.comp == Comp::Lzf {
            Cow::Owned(lzf_decompress(&self.buf, self.raw_len as usize))
        } else {
            Cow::Borrowed(&self.buf)
        }
    }

    fn decompress(&mut self) {
        if self.comp == Comp::Lzf {
            self.buf = lzf_decompress(&self.buf, self.raw_len as usize);
            self.raw_len = 0;
            // It compressed before and will be recompressed when it is interior again.
            self.comp = Comp::Raw;
        }
    }

    fn compress(&mut self) {
        if self.comp != Comp::Raw {
            return;
        }
        let sz = self.sz();
        self.comp = Comp::Incompressible;
        if sz < MIN_COMPRESS_BYTES || u32::try_from(self.buf.len()).is_err() {
            return;
        }
        if let Ok(c) = lzf::compress(&self.buf) {
            if c.len() + MIN_COMPRESS_IMPROVE < sz {
                self.raw_len = self.buf.len() as u32;
                self.buf = c;
                self.buf.shrink_to_fit();
                self.comp = Comp::Lzf;
            }
        }
    }

    /// Marks the node changed; it must already be raw.
    fn touched(&mut self) {
        debug_assert!(self.comp != Comp::Lzf);
        self.comp = Comp::Raw;
    }

    /// Makes room for `extra` more bytes, growing by a quarter at a time (capped at the
    /// node's byte limit) so a full node wastes little, unlike Vec's doubling.
    fn reserve(&mut self, extra: usize, limit: usize) {
        let len = self.buf.len();
        if self.buf.capacity() - len >= extra {
            return;
        }
        let want = len + extra;
        let target = (want + want / 4).max(32).min(limit.max(want));
        self.buf.reserve_exact(target - len);
    }

    /// Gives back spare capacity once the node is no longer growing.
    fn shrink(&mut self) {
        if self.buf.capacity() > self.buf.len() + self.buf.len() / 8 + 16 {
            self.buf.shrink_to_fit();
        }
    }
}

fn lzf_decompress(data: &[u8], len: usize) -> Vec<u8> {
    match lzf::decompress(data, len) {
        Ok(v) => v,
        // The data was produced by lzf::compress in this module from exactly `len` bytes.
        Err(e) => panic!("quicklist node holds corrupt LZF data: {e:?}"),
    }
}

/// A Redis list.
#[derive(Debug, Clone)]
pub struct QuickList {
    nodes: VecDeque<Node>,
    len: usize,
    fill: i16,
    depth: u16,
}

/// Lists compare by their elements, whatever their node layout.
impl PartialEq for QuickList {
    fn eq(&self, other: &Self) -> bool {
        self.len() == other.len() && self.to_vec() == other.to_vec()
    }
}

impl Eq for QuickList {}

impl Default for QuickList {
    fn default() -> Self {
        QuickList::new(DEFAULT_FILL, 0)
    }
}

/// Redis's LRANGE/LTRIM normalisation of `start..=stop` against `len`; `None` when empty.
pub fn normalize_range(start: i64, stop: i64, len: usize) -> Option<(usize, usize)> {
    let len = len as i64;
    let mut start = if start < 0 { start + len } else { start };
    let mut stop = if stop < 0 { stop + len } else { stop };
    if start < 0 {
        start = 0;
    }
    if start > stop || start >= len {
        return None;
    }
    if stop >= len {
        stop = len - 1;
    }
    Some((start as usize, stop as usize))
}

impl QuickList {
    /// An empty list with `list-max-listpack-size` = `fill` (clamped to -5..=32767 as Redis
    /// does) and `list-compress-depth` = `compress_depth` (clamped to 65535).
    pub fn new(fill: i32, compress_depth: u32) -> Self {
        QuickList {
            nodes: VecDeque::new(),
            len: 0,
            fill: fill.clamp(-5, FILL_MAX) as i16,
            depth: compress_depth.min(u32::from(u16::MAX)) as u16,
        }
    }

    /// Always `"quicklist"` (OBJECT ENCODING in Redis 7.0).
    pub fn encoding(&self) -> &'static str {
        "quicklist"
    }

    /// Number of elements (LLEN).
    pub fn len(&self) -> usize {
        self.len
    }

    /// True when the list has no element (the key must then be deleted).
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// The fill this list was created with.
    pub fn fill(&self) -> i32 {
        i32::from(self.fill)
    }

    /// The compress depth this list was created with.
    pub fn compress_depth(&self) -> u32 {
        u32::from(self.depth)
    }

    /// Number of nodes.
    pub fn node_count(&self) -> usize {
        self.nodes.len()
    }

    /// Number of nodes currently stored LZF-compressed.
    pub fn compressed_node_count(&self) -> usize {
        self.nodes.iter().filter(|n| n.comp == Comp::Lzf).count()
    }

    /// Number of plain (single large element) nodes.
    pub fn plain_node_count(&self) -> usize {
        self.nodes.iter().filter(|n| n.plain).count()
    }

    /// Heap bytes owned by the list plus its own size (for MEMORY USAGE).
    pub fn allocated_bytes(&self) -> usize {
        std::mem::size_of::<Self>()
            + self.nodes.capacity() * std::mem::size_of::<Node>()
            + self.nodes.iter().map(|n| n.buf.capacity()).sum::<usize>()
    }

    // ------------------------------------------------------------ fill rules

    /// Byte limit of a packed node for capacity planning.
    fn byte_limit(&self) -> usize {
        if self.fill < 0 {
            SIZE_LEVELS[(-(self.fill as i32) - 1) as usize] - LISTPACK_OVERHEAD
        } else {
            SIZE_SAFETY_LIMIT - LISTPACK_OVERHEAD
        }
    }

    fn fits(&self, sz: usize, count: usize) -> bool {
        if self.fill < 0 {
            let level = (-(self.fill as i32) - 1) as usize;
            if SIZE_LEVELS.get(level).is_some_and(|&l| sz <= l) {
                return true;
            }
        }
        if sz > SIZE_SAFETY_LIMIT {
            return false;
        }
        count <= self.fill.max(0) as usize
    }

    fn allow_insert(&self, node: &Node, elem_len: usize, pt: usize) -> bool {
        if node.plain || elem_len >= pt {
            return false;
        }
        self.fits(
            node.sz() + elem_len + SIZE_ESTIMATE_OVERHEAD,
            node.count as usize + 1,
        )
    }

    fn allow_merge(&self, a: &Node, b: &Node) -> bool {
        if a.plain || b.plain {
            return false;
        }
        // One listpack header/trailer goes away when two listpacks merge (Redis subtracts 11).
        let sz = (a.sz() + b.sz()).saturating_sub(11);
        self.fits(sz, (a.count + b.count) as usize)
    }

    // ------------------------------------------------------------ compression

    /// Restores the invariant "the `depth` nodes at each end are raw, nodes between are
    /// compressed when that pays", looking only at the nodes an operation can have moved
    /// across the boundary (the ones at `depth` from each end) and those it changed.
    fn recompress(&mut self, touched: &[usize]) {
        let d = self.depth as usize;
        if d == 0 {
            return;
        }
        let n = self.nodes.len();
        for i in 0..d.min(n) {
            self.nodes[i].decompress();
            self.nodes[n - 1 - i].decompress();
        }
        if n <= 2 * d {
            return;
        }
        self.nodes[d].compress();
        self.nodes[n - 1 - d].compress();
        for &t in touched {
            if t >= d && t < n - d {
                self.nodes[t].compress();
            }
        }
    }

    /// Full pass for operations that changed nodes all over the list (LREM).
    fn recompress_all(&mut self) {
        let d = self.depth as usize;
        if d == 0 {
            return;
        }
        let n = self.nodes.len();
        for (i, node) in self.nodes.iter_mut().enumerate() {
            if i < d || i + d >= n {
                node.decompress();
            } else {
                node.compress();
            }
        }
    }

    // ------------------------------------------------------------ positions

    /// Node index and position inside it of element `idx` (< len), walking node counts
    /// from the nearer end.
    fn locate(&self, idx: usize) -> (usize, usize) {
        debug_assert!(idx < self.len);
        if idx < self.len / 2 {
            let mut acc = 0;
            for (ni, n) in self.nodes.iter().enumerate() {
                let c = n.count as usize;
                if idx < acc + c {
                    return (ni, idx - acc);
                }
                acc += c;
            }
        } else {
            let mut acc = self.len;
            for (ni, n) in self.nodes.iter().enumerate().rev() {
                let c = n.count as usize;
                acc -= c;
                if idx >= acc {
                    return (ni, idx - acc);
                }
            }
        }
        unreachable!("node counts add up to len")
    }

    /// Converts a Redis index (negative counts from the tail) into an offset.
    pub fn normalize_index(&self, idx: i64) -> Option<usize> {
        let i = if idx < 0 {
            idx.checked_add(self.len as i64)?
        } else {
            idx
        };
        if i < 0 || i as usize >= self.len {
            None
        } else {
            Some(i as usize)
        }
    }

    // ------------------------------------------------------------ push / insert

    /// LPUSH / RPUSH of one element.
    pub fn push(&mut self, end: End, v: &[u8], packed_threshold: usize) {
        let edge = match end {
            End::Head => 0,
            End::Tail => self.nodes.len().wrapping_sub(1),
        };
        let fits = self
            .nodes
            .get(edge)
            .is_some_and(|n| self.allow_insert(n, v.len(), packed_threshold));
        let touched;
        if fits {
            let limit = self.byte_limit();
            let node = &mut self.nodes[edge];
            node.decompress();
            let e = Enc::of(v);
            node.reserve(e.encoded_len(), limit);
            match end {
                End::Head => e.insert_into(&mut node.buf, 0),
                End::Tail => e.push_to(&mut node.buf),
            }
            node.count += 1;
            node.touched();
            touched = edge;
        } else {
            // The old edge node stops growing: give back its spare capacity.
            if let Some(n) = self.nodes.get_mut(edge) {
                n.shrink();
            }
            let node = Node::for_elem(v, packed_threshold);
            match end {
                End::Head => {
                    self.nodes.push_front(node);
                    touched = 0;
                }
                End::Tail => {
                    self.nodes.push_back(node);
                    touched = self.nodes.len() - 1;
                }
            }
        }
        self.len += 1;
        self.recompress(&[touched]);
    }

    /// LPUSH.
    pub fn push_front(&mut self, v: &[u8], packed_threshold: usize) {
        self.push(End::Head, v, packed_threshold);
    }

    /// RPUSH.
    pub fn push_back(&mut self, v: &[u8], packed_threshold: usize) {
        self.push(End::Tail, v, packed_threshold);
    }

    /// Inserts `v` so that it ends up at offset `index` (0..=len).
    pub fn insert_at(&mut self, index: usize, v: &[u8], packed_threshold: usize) {
        if index == 0 {
            return self.push(End::Head, v, packed_threshold);
        }
        if index >= self.len {
            return self.push(End::Tail, v, packed_threshold);
        }
        let pt = packed_threshold;
        let (ni, pos) = self.locate(index);
        let limit = self.byte_limit();
        if self.allow_insert(&self.nodes[ni], v.len(), pt) {
            self.insert_in_node(ni, pos, v, limit);
            self.len += 1;
            self.recompress(&[ni]);
            return;
        }
        if pos == 0 {
            // Between nodes ni-1 and ni: append to the previous node when it has room.
            if self.allow_insert(&self.nodes[ni - 1], v.len(), pt) {
                let count = self.nodes[ni - 1].count as usize;
                self.insert_in_node(ni - 1, count, v, limit);
                self.len += 1;
                self.recompress(&[ni - 1]);
            } else {
                self.nodes.insert(ni, Node::for_elem(v, pt));
                self.len += 1;
                self.recompress(&[ni]);
            }
            return;
        }
        // Inside a full packed node: split it at `pos`, then place the element at the end of
        // the left half, the start of the right half, or in a node of its own.
        let right = self.split_node(ni, pos);
        self.nodes.insert(ni + 1, right);
        if self.allow_insert(&self.nodes[ni], v.len(), pt) {
            let count = self.nodes[ni].count as usize;
            self.insert_in_node(ni, count, v, limit);
        } else if self.allow_insert(&self.nodes[ni + 1], v.len(), pt) {
            self.insert_in_node(ni + 1, 0, v, limit);
        } else {
            self.nodes.insert(ni + 1, Node::for_elem(v, pt));
        }
        self.len += 1;
        self.recompress(&[ni, ni + 1, ni + 2]);
    }

    fn insert_in_node(&mut self, ni: usize, pos: usize, v: &[u8], limit: usize) {
        let node = &mut self.nodes[ni];
        node.decompress();
        let off = codec::seek(&node.buf, node.count as usize, pos);
        let e = Enc::of(v);
        node.reserve(e.encoded_len(), limit);
        e.insert_into(&mut node.buf, off);
        node.count += 1;
        node.touched();
    }

    /// Cuts packed node `ni` before entry `pos`; returns the right half (not yet inserted).
    fn split_node(&mut self, ni: usize, pos: usize) -> Node {
        let node = &mut self.nodes[ni];
        node.decompress();
        let off = codec::seek(&node.buf, node.count as usize, pos);
        let right = Node {
            buf: node.buf[off..].to_vec(),
            count: node.count - pos as u32,
            raw_len: 0,
            plain: false,
            comp: Comp::Raw,
        };
        node.buf.truncate(off);
        node.shrink();
        node.count = pos as u32;
        node.touched();
        right
    }

    /// LINSERT: inserts `v` before or after the first element equal to `pivot`.
    /// Returns false (and changes nothing) when the pivot is not in the list.
    pub fn insert_pivot(
        &mut self,
        where_: Where,
        pivot: &[u8],
        v: &[u8],
        packed_threshold: usize,
    ) -> bool {
        let mut it = self.iter();
        let mut idx = 0;
        let mut found = None;
        while let Some(e) = it.next_entry() {
            if e.eq_bytes(pivot) {
                found = Some(idx);
                break;
            }
            idx += 1;
        }
        match found {
            Some(i) => {
                let at = if where_ == Where::Before { i } else { i + 1 };
                self.insert_at(at, v, packed_threshold);
                true
            }
            None => false,
        }
    }

    // ------------------------------------------------------------ pop / delete

    /// LPOP / RPOP of one element.
    pub fn pop(&mut self, end: End) -> Option<Vec<u8>> {
        let ni = match end {
            End::Head => 0,
            End::Tail => self.nodes.len().checked_sub(1)?,
        };
        let node = self.nodes.get_mut(ni)?;
        node.decompress();
        let out;
        if node.plain || node.count == 1 {
            let node = match end {
                End::Head => self.nodes.pop_front(),
                End::Tail => self.nodes.pop_back(),
            }?;
            out = if node.plain {
                node.buf
            } else {
                codec::decode(&node.buf, 0).0.to_vec()
            };
        } else {
            match end {
                End::Head => {
                    let (e, next) = codec::decode(&node.buf, 0);
                    out = e.to_vec();
                    node.buf.drain(..next);
                }
                End::Tail => {
                    let start = codec::prev(&node.buf, node.buf.len());
                    out = codec::decode(&node.buf, start).0.to_vec();
                    node.buf.truncate(start);
                }
            }
            node.count -= 1;
            node.touched();
        }
        self.len -= 1;
        self.recompress(&[]);
        Some(out)
    }

    /// LPOP.
    pub fn pop_front(&mut self) -> Option<Vec<u8>> {
        self.pop(End::Head)
    }

    /// RPOP.
    pub fn pop_back(&mut self) -> Option<Vec<u8>> {
        self.pop(End::Tail)
    }

    /// LPOP/RPOP with COUNT: up to `count` elements in pop order.
    pub fn pop_many(&mut self, end: End, count: usize) -> Vec<Vec<u8>> {
        let n = count.min(self.len);
        let mut out = Vec::with_capacity(n);
        for _ in 0..n {
            match self.pop(end) {
                Some(v) => out.push(v),
                None => break,
            }
        }
        out
    }

    /// Removes `count` elements starting at offset `start` (clamped to the list).
    pub fn delete_range(&mut self, start: usize, count: usize) {
        if start >= self.len || count == 0 {
            return;
        }
        let count = count.min(self.len - start);
        let (first, pos) = self.locate(start);
        let mut left = count;
        let mut ni = first;
        if pos > 0 {
            let node = &mut self.nodes[ni];
            node.decompress();
            let c = node.count as usize;
            let k = left.min(c - pos);
            let from = codec::seek(&node.buf, c, pos);
            let to = codec::seek(&node.buf, c, pos + k);
            node.buf.drain(from..to);
            node.count -= k as u32;
            node.touched();
            node.shrink();
            left -= k;
            ni += 1;
        }
        // Whole nodes.
        let mut end = ni;
        while end < self.nodes.len() && left >= self.nodes[end].count as usize {
            left -= self.nodes[end].count as usize;
            end += 1;
        }
        self.nodes.drain(ni..end);
        if left > 0 {
            let node = &mut self.nodes[ni];
            node.decompress();
            let c = node.count as usize;
            let to = codec::seek(&node.buf, c, left);
            node.buf.drain(..to);
            node.count -= left as u32;
            node.touched();
            node.shrink();
        }
        self.len -= count;
        self.recompress(&[first, first + 1]);
    }

    /// LTRIM: keeps `start..=stop` (Redis index rules); may leave the list empty.
    pub fn trim(&mut self, start: i64, stop: i64) {
        match normalize_range(start, stop, self.len) {
            None => self.delete_range(0, self.len),
            Some((s, e)) => {
                let rtrim = self.len - e - 1;
                self.delete_range(e + 1, rtrim);
                self.delete_range(0, s);
            }
        }
    }

    /// LREM: removes up to |count| elements equal to `v` (all when 0), from the head when
    /// `count` >= 0 and from the tail when negative. Returns how many were removed.
    pub fn remove(&mut self, v: &[u8], count: i64) -> usize {
        let forward = count >= 0;
        let mut limit = if count == 0 {
            usize::MAX
        } else {
            count.unsigned_abs() as usize
        };
        let mut removed = 0;
        let mut ni = if forward {
            0
        } else {
            self.nodes.len().wrapping_sub(1)
        };
        while limit > 0 && ni < self.nodes.len() {
            let n = self.remove_in_node(ni, v, forward, limit);
            removed += n;
            limit -= n;
            let gone = self.nodes[ni].count == 0;
            if gone {
                self.nodes.remove(ni);
            }
            if forward {
                if !gone {
                    ni += 1;
                }
            } else {
                // Walking down: indices below ni are unaffected by a removal at ni.
                ni = ni.wrapping_sub(1);
            }
        }
        self.len -= removed;
        if removed > 0 {
            self.recompress_all();
        }
        removed
    }

    fn remove_in_node(&mut self, ni: usize, v: &[u8], forward: bool, limit: usize) -> usize {
        let node = &self.nodes[ni];
        if node.plain {
            let raw = node.raw();
            if raw.as_ref() == v {
                self.nodes[ni].count = 0;
                return 1;
            }
            return 0;
        }
        // Find matching entries' byte ranges first, without touching a node with no match.
        let raw = node.raw();
        let mut spans = Vec::new();
        let mut off = 0;
        while off < raw.len() {
            let (e, next) = codec::decode(&raw, off);
            if e.eq_bytes(v) {
                spans.push((off, next));
            }
            off = next;
        }
        drop(raw);
        if spans.is_empty() {
            return 0;
        }
        if spans.len() > limit {
            if forward {
                spans.truncate(limit);
            } else {
                spans.drain(..spans.len() - limit);
            }
        }
        let node = &mut self.nodes[ni];
        node.decompress();
        let mut out = Vec::with_capacity(node.buf.len());
        let mut last = 0;
        for &(a, b) in &spans {
            out.extend_from_slice(&node.buf[last..a]);
            last = b;
        }
        out.extend_from_slice(&node.buf[last..]);
        node.buf = out;
        node.count -= spans.len() as u32;
        node.touched();
        spans.len()
    }

    // ------------------------------------------------------------ read

    /// LINDEX: calls `f` with the element at Redis index `idx`.
    pub fn get_with<R>(&self, idx: i64, f: impl FnOnce(Entry<'_>) -> R) -> Option<R> {
        let i = self.normalize_index(idx)?;
        let (ni, pos) = self.locate(i);
        let node = &self.nodes[ni];
        let raw = node.raw();
        if node.plain {
            return Some(f(Entry::Bytes(&raw)));
        }
        let off = codec::seek(&raw, node.count as usize, pos);
        Some(f(codec::decode(&raw, off).0))
    }

    /// LINDEX: the element at Redis index `idx`.
    pub fn get(&self, idx: i64) -> Option<Vec<u8>> {
        self.get_with(idx, |e| e.to_vec())
    }

    /// LSET: replaces the element at Redis index `idx`.
    pub fn set(&mut self, idx: i64, v: &[u8], packed_threshold: usize) -> Result<(), ListError> {
        let i = self
            .normalize_index(idx)
            .ok_or(ListError::IndexOutOfRange)?;
        let (ni, pos) = self.locate(i);
        let large = v.len() >= packed_threshold;
        let node = &mut self.nodes[ni];
        node.decompress();
        if node.plain {
            *node = Node::for_elem(v, packed_threshold);
        } else if !large {
            // In place, as Redis's lpReplace: the node may exceed its fill by this element.
            let off = codec::seek(&node.buf, node.count as usize, pos);
            let end = codec::skip(&node.buf, off);
            let e = Enc::of(v);
            let n = e.encoded_len();
            if n != end - off {
                let old = node.buf.len();
                let new_len = old - (end - off) + n;
                if new_len > old {
                    node.buf.resize(new_len, 0);
                    node.buf.copy_within(end..old, off + n);
                } else {
                    node.buf.copy_within(end..old, off + n);
                    node.buf.truncate(new_len);
                }
            }
            e.write(&mut node.buf[off..off + n]);
            node.touched();
        } else {
            // A large element in a packed node moves to a plain node of its own.
            self.delete_range(i, 1);
            self.insert_at(i, v, packed_threshold);
            return Ok(());
        }
        self.recompress(&[ni]);
        Ok(())
    }

    /// LRANGE: calls `f` for each element of `start..=stop` (Redis index rules) in order.
    pub fn range_with(&self, start: i64, stop: i64, mut f: impl FnMut(Entry<'_>)) {
        let Some((s, e)) = normalize_range(start, stop, self.len) else {
            return;
        };
        let mut it = self.iter_from(s, End::Head);
        for _ in s..=e {
            match it.next_entry() {
                Some(x) => f(x),
                None => break,
            }
        }
    }

    /// LRANGE into owned byte strings.
    pub fn range(&self, start: i64, stop: i64) -> Vec<Vec<u8>> {
        let mut out = Vec::new();
        self.range_with(start, stop, |e| out.push(e.to_vec()));
        out
    }

    /// All elements, head to tail.
    pub fn to_vec(&self) -> Vec<Vec<u8>> {
        self.range(0, -1)
    }

    /// LPOS: offsets (from the head) of matches of `v`. `rank` > 0 scans from the head and
    /// skips the first `rank - 1` matches, < 0 scans from the tail; `count` 0 = all matches
    /// (without COUNT pass 1 and reply the first or nil); `maxlen` 0 = no limit on how many
    /// elements are compared.
    pub fn positions(
        &self,
        v: &[u8],
        rank: i64,
        count: usize,
        maxlen: usize,
    ) -> Result<Vec<usize>, ListError> {
        if rank == 0 {
            return Err(ListError::ZeroRank);
        }
        let (dir, start) = if rank > 0 {
            (End::Head, 0)
        } else {
            (End::Tail, self.len.wrapping_sub(1))
        };
        let rank = rank.unsigned_abs();
        let mut out = Vec::new();
        if self.len == 0 {
            return Ok(out);
        }
        let mut it = self.iter_from(start, dir);
        let mut index = 0usize;
        let mut matches = 0u64;
        while maxlen == 0 || index < maxlen {
            let Some(e) = it.next_entry() else { break };
            if e.eq_bytes(v) {
                matches += 1;
                if matches >= rank {
                    out.push(if dir == End::Head {
                        index
                    } else {
                        self.len - index - 1
                    });
                    if count != 0 && out.len() >= count {
                        break;
                    }
                }
            }
            index += 1;
        }
        Ok(out)
    }

    /// Iterator from the head.
    pub fn iter(&self) -> Iter<'_> {
        Iter::new(self, End::Head)
    }

    /// Iterator from the tail towards the head.
    pub fn iter_rev(&self) -> Iter<'_> {
        Iter::new(self, End::Tail)
    }

    /// Iterator starting at offset `index` (< len; else empty), walking towards the tail
    /// (`End::Head` direction, i.e. head→tail) or towards the head (`End::Tail`).
    pub fn iter_from(&self, index: usize, dir: End) -> Iter<'_> {
        let mut it = Iter::new(self, dir);
        if index >= self.len {
            it.done = true;
            return it;
        }
        let (ni, pos) = self.locate(index);
        it.load(ni);
        let count = self.nodes[ni].count as usize;
        match dir {
            End::Head => {
                it.left = count - pos;
                if !self.nodes[ni].plain {
                    it.off = codec::seek(it.buf(), count, pos);
                }
            }
            End::Tail => {
                it.left = pos + 1;
                if !self.nodes[ni].plain {
                    it.off = codec::seek(it.buf(), count, pos + 1);
                }
            }
        }
        it
    }

    // ------------------------------------------------------------ moves

    /// LMOVE between two different lists: pops at `from` of `self`, pushes at `to` of `dst`,
    /// returns the moved element (None when `self` is empty).
    pub fn move_to(
        &mut self,
        from: End,
        dst: &mut QuickList,
        to: End,
        packed_threshold: usize,
    ) -> Option<Vec<u8>> {
        let v = self.pop(from)?;
        dst.push(to, &v, packed_threshold);
        Some(v)
    }

    /// LMOVE with source = destination (RPOPLPUSH on one key rotates the list).
    pub fn rotate(&mut self, from: End, to: End, packed_threshold: usize) -> Option<Vec<u8>> {
        let v = self.pop(from)?;
        self.push(to, &v, packed_threshold);
        Some(v)
    }

    /// Builds a list from elements (RDB load, SORT STORE, tests).
    pub fn from_elems<'a>(
        fill: i32,
        compress_depth: u32,
        packed_threshold: usize,
        elems: impl IntoIterator<Item = &'a [u8]>,
    ) -> Self {
        let mut l = QuickList::new(fill, compress_depth);
        for e in elems {
            l.push(End::Tail, e, packed_threshold);
        }
        l
    }

    /// Merges adjacent small nodes where the fill allows (e.g. after LREM/LTRIM left many
    /// half-empty nodes). Optional housekeeping; O(nodes).
    pub fn compact(&mut self) {
        let mut i = 0;
        while i + 1 < self.nodes.len() {
            if self.allow_merge(&self.nodes[i], &self.nodes[i + 1]) {
                let mut b = self.nodes.remove(i + 1).unwrap_or_else(|| unreachable!());
                b.decompress();
                let a = &mut self.nodes[i];
                a.decompress();
                a.buf.extend_from_slice(&b.buf);
                a.count += b.count;
                a.touched();
                a.shrink();
            } else {
                i += 1;
            }
        }
        self.recompress_all();
    }

    /// Checks internal invariants; for tests and DEBUG.
    pub fn check_integrity(&self) -> Result<(), String> {
        let mut total = 0usize;
        let d = self.depth as usize;
        let n = self.nodes.len();
        for (i, node) in self.nodes.iter().enumerate() {
            if node.count == 0 {
                return Err(format!("node {i} is empty"));
            }
            if node.plain && node.count != 1 {
                return Err(format!("plain node {i} has {} entries", node.count));
            }
            if node.comp == Comp::Lzf && (i < d || i + d >= n) {
                return Err(format!("edge node {i} is compressed"));
            }
            if !node.plain {
                let raw = node.raw();
                let mut off = 0;
                let mut c = 0;
                while off < raw.len() {
                    off = codec::skip(&raw, off);
                    c += 1;
                }
                if off != raw.len() || c != node.count {
                    return Err(format!(
                        "node {i}: {c} entries decoded, {} counted",
                        node.count
                    ));
                }
            }
            total += node.count as usize;
        }
        if total != self.len {
            return Err(format!("nodes hold {total}, len is {}", self.len));
        }
        Ok(())
    }
}

/// A cursor over a list's elements. Not a std `Iterator` because entries borrow the cursor
/// (a compressed node is decompressed into the cursor's scratch buffer):
/// `while let Some(e) = it.next_entry() { ... }`.
pub struct Iter<'a> {
    list: &'a QuickList,
    dir: End,
    node: usize,
    /// Entries left in the current node in the walking direction.
    left: usize,
    /// Forward: offset of the next entry; backward: offset just past it.
    off: usize,
    scratch: Option<Vec<u8>>,
    done: bool,
}

impl<'a> Iter<'a> {
    fn new(list: &'a QuickList, dir: End) -> Self {
        let mut it = Iter {
            list,
            dir,
            node: 0,
            left: 0,
            off: 0,
            scratch: None,
            done: list.nodes.is_empty(),
        };
        if !it.done {
            let first = match dir {
                End::Head => 0,
                End::Tail => list.nodes.len() - 1,
            };
            it.load(first);
        }
        it
    }

    fn load(&mut self, ni: usize) {
        let node = &self.list.nodes[ni];
        self.node = ni;
        self.left = node.count as usize;
        self.scratch = match node.raw() {
            Cow::Owned(v) => Some(v),
            Cow::Borrowed(_) => None,
        };
        self.off = match self.dir {
            End::Head => 0,
            End::Tail => node.raw_size(),
        };
    }

    fn buf(&self) -> &[u8] {
        match &self.scratch {
            Some(s) => s,
            None => &self.list.nodes[self.node].buf,
        }
    }

    /// The next element, or None at the end.
    pub fn next_entry(&mut self) -> Option<Entry<'_>> {
        if self.done {
            return None;
        }
        while self.left == 0 {
            let next = match self.dir {
                End::Head => self.node + 1,
                End::Tail => self.node.wrapping_sub(1),
            };
            if next >= self.list.nodes.len() {
                self.done = true;
                return None;
            }
            self.load(next);
        }
        self.left -= 1;
        let Iter {
            list,
            dir,
            node,
            off,
            scratch,
            ..
        } = self;
        let n = &list.nodes[*node];
        let buf: &[u8] = match scratch {
            Some(s) => s,
            None => &n.buf,
        };
        if n.plain {
            return Some(Entry::Bytes(buf));
        }
        match dir {
            End::Head => {
                let (e, next) = codec::decode(buf, *off);
                *off = next;
                Some(e)
            }
            End::Tail => {
                let start = codec::prev(buf, *off);
                *off = start;
                Some(codec::decode(buf, start).0)
            }
        }
    }
}
