//! `Listpack`: the small encoding of a hash — field/value pairs packed in one byte buffer, in
//! insertion order, like Redis's listpack (whose name `OBJECT ENCODING` reports).
//!
//! Format (ours, not Redis's byte format): a 4-byte little-endian pair count, then for each pair
//! the field and the value, each as a LEB128 length followed by its bytes. Redis's listpack also
//! stores a back-length per entry for reverse traversal; hashes never walk backwards, so we drop
//! it. An empty hash owns no buffer at all.
//!
//! The buffer grows exactly (like Redis's `lpInsert` realloc), so a small hash costs its bytes and
//! nothing more. Every operation is a linear walk, fine for the at most
//! `hash-max-listpack-entries` (128 by default) pairs this encoding holds.

/// Bytes of the pair-count header.
const HEADER: usize = 4;

/// A packed sequence of field/value pairs. See the module docs.
#[derive(Clone, Default, PartialEq, Eq)]
pub(crate) struct Listpack {
    buf: Vec<u8>,
}

/// Where one pair sits in the buffer.
#[derive(Clone, Copy, Debug)]
pub(crate) struct PairPos {
    /// Offset of the field's length prefix (start of the pair).
    pub start: usize,
    /// Offset of the value's length prefix.
    pub value_start: usize,
    /// Offset just past the value (start of the next pair).
    pub end: usize,
}

fn varint_len(mut n: usize) -> usize {
    let mut len = 1;
    while n >= 0x80 {
        n >>= 7;
        len += 1;
    }
    len
}

fn push_varint(out: &mut Vec<u8>, mut n: usize) {
    while n >= 0x80 {
        out.push((n as u8 & 0x7f) | 0x80);
        n >>= 7;
    }
    out.push(n as u8);
}

/// Decodes a LEB128 length at `pos`: (value, bytes used). `None` on a truncated buffer (cannot
/// happen for buffers built by this module).
#[inline]
fn read_varint(buf: &[u8], pos: usize) -> Option<(usize, usize)> {
    let mut n = 0usize;
    let mut shift = 0u32;
    let mut i = pos;
    loop {
        let b = *buf.get(i)?;
        i += 1;
        n |= ((b & 0x7f) as usize) << shift;
        if b & 0x80 == 0 {
            return Some((n, i - pos));
        }
        shift += 7;
        if shift > 63 {
            return None;
        }
    }
}

/// Reads one length-prefixed string at `pos`: (bytes, offset after it).
#[inline]
fn read_str(buf: &[u8], pos: usize) -> Option<(&[u8], usize)> {
    let (len, used) = read_varint(buf, pos)?;
    let start = pos + used;
    let end = start.checked_add(len)?;
    Some((buf.get(start..end)?, end))
}

/// Iterator over the pairs of a [`Listpack`].
#[derive(Clone)]
pub(crate) struct Iter<'a> {
    buf: &'a [u8],
    pos: usize,
    remaining: usize,
}

impl<'a> Iterator for Iter<'a> {
    type Item = (&'a [u8], &'a [u8]);

    #[inline]
    fn next(&mut self) -> Option<Self::Item> {
        if self.remaining == 0 {
            return None;
        }
        let (f, p) = read_str(self.buf, self.pos)?;
        let (v, p) = read_str(self.buf, p)?;
        self.pos = p;
        self.remaining -= 1;
        Some((f, v))
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        (self.remaining, Some(self.remaining))
    }
}

impl ExactSizeIterator for Iter<'_> {}

impl Listpack {
    /// Number of pairs.
    #[inline]
    pub(crate) fn len(&self) -> usize {
        match self.buf.get(..HEADER) {
            Some(h) => u32::from_le_bytes([h[0], h[1], h[2], h[3]]) as usize,
            None => 0,
        }
    }

    fn set_len(&mut self, n: usize) {
        if let Some(h) = self.buf.get_mut(..HEADER) {
            h.copy_from_slice(&(n as u32).to_le_bytes());
        }
    }

    /// Total size of the packed buffer.
    pub(crate) fn bytes(&self) -> usize {
        self.buf.len()
    }

    /// Heap bytes owned.
    pub(crate) fn heap_bytes(&self) -> usize {
        self.buf.capacity()
    }

    pub(crate) fn iter(&self) -> Iter<'_> {
        Iter {
            buf: &self.buf,
            pos: HEADER,
            remaining: self.len(),
        }
    }

    /// Position of every pair, in order (for random access by index).
    pub(crate) fn positions(&self) -> Vec<PairPos> {
        let mut out = Vec::with_capacity(self.len());
        let mut pos = HEADER;
        for _ in 0..self.len() {
            let Some((_, vs)) = read_str(&self.buf, pos) else {
                break;
            };
            let Some((_, end)) = read_str(&self.buf, vs) else {
                break;
            };
            out.push(PairPos {
                start: pos,
                value_start: vs,
                end,
            });
            pos = end;
        }
        out
    }

    /// The pair at `p` (from [`Listpack::positions`]).
    pub(crate) fn pair_at(&self, p: PairPos) -> Option<(&[u8], &[u8])> {
        let (f, _) = read_str(&self.buf, p.start)?;
        let (v, _) = read_str(&self.buf, p.value_start)?;
        Some((f, v))
    }

    /// Finds `field`.
    pub(crate) fn find(&self, field: &[u8]) -> Option<PairPos> {
        let mut pos = HEADER;
        for _ in 0..self.len() {
            let (f, vs) = read_str(&self.buf, pos)?;
            let (_, end) = read_str(&self.buf, vs)?;
            if f == field {
                return Some(PairPos {
                    start: pos,
                    value_start: vs,
                    end,
                });
            }
            pos = end;
        }
        None
    }

    pub(crate) fn get(&self, field: &[u8]) -> Option<&[u8]> {
        let p = self.find(field)?;
        read_str(&self.buf, p.value_start).map(|(v, _)| v)
    }

    /// Appends a pair whose field is known to be absent.
    pub(crate) fn push(&mut self, field: &[u8], value: &[u8]) {
        let add = varint_len(field.len()) + field.len() + varint_len(value.len()) + value.len();
        if self.buf.is_empty() {
            self.buf.reserve_exact(HEADER + add);
            self.buf.extend_from_slice(&[0; HEADER]);
        } else {
            self.buf.reserve_exact(add);
        }
        push_varint(&mut self.buf, field.len());
        self.buf.extend_from_slice(field);
        push_varint(&mut self.buf, value.len());
        self.buf.extend_from_slice(value);
        let n = self.len() + 1;
        self.set_len(n);
    }

    /// Replaces the value of the pair at `p`, in place (order kept).
    pub(crate) fn replace_value(&mut self, p: PairPos, value: &[u8]) {
        let mut enc = Vec::with_capacity(varint_len(value.len()) + value.len());
        push_varint(&mut enc, value.len());
        enc.extend_from_slice(value);
        let old = p.end - p.value_start;
        if enc.len() > old {
            self.buf.reserve_exact(enc.len() - old);
        }
        self.buf.splice(p.value_start..p.end, enc);
        self.shrink_if_loose();
    }

    /// Removes the pair at `p`.
    pub(crate) fn remove(&mut self, p: PairPos) {
        self.buf.drain(p.start..p.end);
        let n = self.len().saturating_sub(1);
        if n == 0 {
            self.buf = Vec::new();
        } else {
            self.set_len(n);
            self.shrink_if_loose();
        }
    }

    /// Gives back slack after a shrinking edit (Redis reallocs its listpack to the exact size).
    fn shrink_if_loose(&mut self) {
        if self.buf.capacity() - self.buf.len() > 64 {
            self.buf.shrink_to_fit();
        }
    }
}

impl std::fmt::Debug for Listpack {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_map().entries(self.iter()).finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn push_find_replace_remove_keep_order() {
        let mut lp = Listpack::default();
        assert_eq!(lp.len(), 0);
        assert_eq!(lp.heap_bytes(), 0);
        let long = vec![b'x'; 300];
        lp.push(b"a", b"1");
        lp.push(b"b", &long);
        lp.push(b"c", b"");
        assert_eq!(lp.len(), 3);
        assert_eq!(lp.get(b"b"), Some(&long[..]));
        assert_eq!(lp.get(b"c"), Some(&b""[..]));
        assert_eq!(lp.get(b"d"), None);
        let p = lp.find(b"b").unwrap();
        lp.replace_value(p, b"short");
        let p = lp.find(b"a").unwrap();
        lp.replace_value(p, &long);
        let all: Vec<_> = lp.iter().collect();
        assert_eq!(
            all,
            vec![(&b"a"[..], &long[..]), (b"b", b"short"), (b"c", b"")]
        );
        let p = lp.find(b"a").unwrap();
        lp.remove(p);
        let keys: Vec<_> = lp.iter().map(|(f, _)| f).collect();
        assert_eq!(keys, vec![&b"b"[..], b"c"]);
        for f in [&b"b"[..], b"c"] {
            let p = lp.find(f).unwrap();
            lp.remove(p);
        }
        assert_eq!(lp.len(), 0);
        assert_eq!(lp.heap_bytes(), 0);
    }

    #[test]
    fn varint_round_trip() {
        for n in [0usize, 1, 127, 128, 300, 16383, 16384, 1 << 40] {
            let mut v = Vec::new();
            push_varint(&mut v, n);
            assert_eq!(v.len(), varint_len(n));
            assert_eq!(read_varint(&v, 0), Some((n, v.len())));
        }
    }
}
