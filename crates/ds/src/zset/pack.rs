//! The small sorted-set encoding (reported as `listpack`, like Redis 7.0).
//!
//! One `Vec<u8>` of entries sorted by `(score, member)`:
//! `varint(member_len) member score`, where `score` is a tag byte followed by either a zigzag
//! varint (integral scores of magnitude ≤ 2^53) or the 8 little-endian bytes of the `f64`.
//! `-0` is stored as the integer 0 and reads back as `0`, exactly like Redis's listpack (which
//! stores `"-0"` as the integer 0); the skiplist encoding keeps `-0`.
//!
//! Every operation is a linear walk, as Redis's listpack is; the caller keeps it small through
//! `zset-max-listpack-entries`/`-value`.
//!
//! The buffer is only ever written by this module, so decoding can trust it; it still uses
//! checked slicing and treats a malformed tail as the end.

use std::cmp::Ordering;

use super::tree::cmp_key;

const TAG_INT: u8 = 0;
const TAG_F64: u8 = 1;
/// Largest integral magnitude stored as an integer: every such value is exact in an `f64`.
const MAX_EXACT: f64 = 9_007_199_254_740_992.0;

#[derive(Default, Clone)]
pub(crate) struct Pack {
    buf: Vec<u8>,
    len: usize,
}

fn put_varint(out: &mut Vec<u8>, mut v: u64) {
    while v >= 0x80 {
        out.push((v as u8) | 0x80);
        v >>= 7;
    }
    out.push(v as u8);
}

fn get_varint(buf: &[u8], mut pos: usize) -> Option<(u64, usize)> {
    let mut v: u64 = 0;
    let mut shift = 0;
    loop {
        let b = *buf.get(pos)?;
        pos += 1;
        v |= u64::from(b & 0x7f) << shift;
        if b < 0x80 {
            return Some((v, pos));
        }
        shift += 7;
        if shift > 63 {
            return None;
        }
    }
}

fn encode(out: &mut Vec<u8>, member: &[u8], score: f64) {
    put_varint(out, member.len() as u64);
    out.extend_from_slice(member);
    let integral = score.fract() == 0.0 && score.abs() <= MAX_EXACT;
    if integral {
        out.push(TAG_INT);
        let i = score as i64;
        put_varint(out, ((i << 1) ^ (i >> 63)) as u64);
    } else {
        out.push(TAG_F64);
        out.extend_from_slice(&score.to_le_bytes());
    }
}

/// One decoded entry: member, score, and the byte span it occupies.
pub(crate) struct Entry<'a> {
    pub(crate) member: &'a [u8],
    pub(crate) score: f64,
    pub(crate) start: usize,
    pub(crate) end: usize,
}

fn decode(buf: &[u8], start: usize) -> Option<Entry<'_>> {
    let (mlen, pos) = get_varint(buf, start)?;
    let mend = pos.checked_add(usize::try_from(mlen).ok()?)?;
    let member = buf.get(pos..mend)?;
    let tag = *buf.get(mend)?;
    let (score, end) = if tag == TAG_INT {
        let (z, end) = get_varint(buf, mend + 1)?;
        let i = ((z >> 1) as i64) ^ -((z & 1) as i64);
        (i as f64, end)
    } else {
        let bytes: [u8; 8] = buf.get(mend + 1..mend + 9)?.try_into().ok()?;
        (f64::from_le_bytes(bytes), mend + 9)
    };
    Some(Entry {
        member,
        score,
        start,
        end,
    })
}

pub(crate) struct PackIter<'a> {
    buf: &'a [u8],
    pos: usize,
}

impl<'a> Iterator for PackIter<'a> {
    type Item = Entry<'a>;

    fn next(&mut self) -> Option<Entry<'a>> {
        if self.pos >= self.buf.len() {
            return None;
        }
        let e = decode(self.buf, self.pos)?;
        self.pos = e.end;
        Some(e)
    }
}

impl Pack {
    pub(crate) fn len(&self) -> usize {
        self.len
    }

    pub(crate) fn bytes(&self) -> usize {
        self.buf.len()
    }

    pub(crate) fn allocated_bytes(&self) -> usize {
        self.buf.capacity()
    }

    pub(crate) fn iter(&self) -> PackIter<'_> {
        PackIter {
            buf: &self.buf,
            pos: 0,
        }
    }

    pub(crate) fn find(&self, member: &[u8]) -> Option<Entry<'_>> {
        self.iter().find(|e| e.member == member)
    }

    pub(crate) fn score(&self, member: &[u8]) -> Option<f64> {
        self.find(member).map(|e| e.score)
    }

    /// Inserts a member known to be absent at its sorted place.
    pub(crate) fn insert(&mut self, member: &[u8], score: f64) {
        let at = self
            .iter()
            .find(|e| cmp_key(e.score, e.member, score, member) == Ordering::Greater)
            .map_or(self.buf.len(), |e| e.start);
        let mut enc = Vec::with_capacity(member.len() + 12);
        encode(&mut enc, member, score);
        self.buf.splice(at..at, enc);
        self.len += 1;
    }

    /// Appends an entry known to sort after every present one (conversions, bulk builds).
    pub(crate) fn push_sorted(&mut self, member: &[u8], score: f64) {
        encode(&mut self.buf, member, score);
        self.len += 1;
    }

    pub(crate) fn remove(&mut self, member: &[u8]) -> Option<f64> {
        let (start, end, score) = {
            let e = self.find(member)?;
            (e.start, e.end, e.score)
        };
        self.buf.drain(start..end);
        self.len -= 1;
        Some(score)
    }

    /// Byte offsets of each entry's start, plus the end of the buffer.
    fn offsets(&self) -> Vec<usize> {
        let mut v: Vec<usize> = self.iter().map(|e| e.start).collect();
        v.push(self.buf.len());
        v
    }

    /// Removes ranks `lo..hi` and returns the removed entries in order.
    pub(crate) fn remove_ranks(&mut self, lo: usize, hi: usize) -> Vec<(Vec<u8>, f64)> {
        let hi = hi.min(self.len);
        if lo >= hi {
            return Vec::new();
        }
        let offs = self.offsets();
        let (start, end) = (offs[lo], offs[hi]);
        let removed: Vec<(Vec<u8>, f64)> = PackIter {
            buf: &self.buf[..end],
            pos: start,
        }
        .map(|e| (e.member.to_vec(), e.score))
        .collect();
        self.buf.drain(start..end);
        self.len -= hi - lo;
        removed
    }

    pub(crate) fn partition(&self, p: &dyn Fn(f64, &[u8]) -> bool) -> usize {
        self.iter().take_while(|e| p(e.score, e.member)).count()
    }

    pub(crate) fn get(&self, rank: usize) -> Option<(&[u8], f64)> {
        self.iter().nth(rank).map(|e| (e.member, e.score))
    }

    pub(crate) fn shrink(&mut self) {
        if self.buf.capacity() > self.buf.len() + self.buf.len() / 4 + 16 {
            self.buf.shrink_to_fit();
        }
    }
}
