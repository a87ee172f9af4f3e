//! Entry encoding inside a packed quicklist node.
//!
//! A packed node is a plain concatenation of entries, each
//! `header | payload | backlen`. The header and payload sizes follow Redis 7.0's listpack
//! (so node sizes, and therefore `list-max-listpack-size` splits, match Redis byte for byte),
//! but the node has no listpack header or terminator: the node struct keeps the count.
//!
//! Header byte:
//! - `0xxxxxxx`            unsigned integer 0..=127, no payload
//! - `10LLLLLL`            string, length 0..=63
//! - `110xxxxx xxxxxxxx`   13-bit signed integer
//! - `1110LLLL LLLLLLLL`   string, length 0..=4095
//! - `0xF0` + u32 LE len   string, any longer length
//! - `0xF1`/`F2`/`F3`/`F4` signed integer in 2/3/4/8 little-endian bytes
//!
//! `backlen` is the length of `header | payload`, written so it can be read from its last byte
//! backwards: 7 bits per byte, low bits last, the high bit set on every byte but the first
//! one written. It makes walking a node from its end O(1) per entry.
//!
//! Everything here works on buffers this module wrote itself; offsets come from a walk that
//! started at 0 or at the buffer end, so slicing cannot go out of bounds unless the node is
//! corrupt, which would be a bug in this crate.

use crate::num::string2ll;

/// One element read from a list: either the packed integer or the stored bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Entry<'a> {
    /// An element that was the canonical decimal form of an `i64`.
    Int(i64),
    /// Any other element.
    Bytes(&'a [u8]),
}

impl Entry<'_> {
    /// The element's bytes, as the client wrote them.
    pub fn to_vec(&self) -> Vec<u8> {
        let mut v = Vec::new();
        self.append_to(&mut v);
        v
    }

    /// Appends the element's bytes to `out` (no allocation for integers beyond `out`'s).
    pub fn append_to(&self, out: &mut Vec<u8>) {
        match *self {
            Entry::Int(i) => {
                let mut b = IntBuf::new();
                out.extend_from_slice(b.format(i));
            }
            Entry::Bytes(b) => out.extend_from_slice(b),
        }
    }

    /// Length of the element's bytes.
    pub fn len(&self) -> usize {
        match *self {
            Entry::Int(i) => IntBuf::new().format(i).len(),
            Entry::Bytes(b) => b.len(),
        }
    }

    /// True for the empty string.
    pub fn is_empty(&self) -> bool {
        matches!(self, Entry::Bytes(b) if b.is_empty())
    }

    /// Byte-wise equality with `other`, without formatting integers when `other` cannot be one.
    pub fn eq_bytes(&self, other: &[u8]) -> bool {
        match *self {
            Entry::Bytes(b) => b == other,
            // Integers were only packed when canonical, so the textual forms are equal
            // exactly when `other` parses to the same value.
            Entry::Int(i) => string2ll(other) == Some(i),
        }
    }
}

/// Stack buffer to format an `i64` in decimal.
pub(crate) struct IntBuf([u8; 20]);

impl IntBuf {
    pub(crate) fn new() -> Self {
        IntBuf([0; 20])
    }

    pub(crate) fn format(&mut self, v: i64) -> &[u8] {
        let mut pos = self.0.len();
        let neg = v < 0;
        let mut u = v.unsigned_abs();
        loop {
            pos -= 1;
            self.0[pos] = b'0' + (u % 10) as u8;
            u /= 10;
            if u == 0 {
                break;
            }
        }
        if neg {
            pos -= 1;
            self.0[pos] = b'-';
        }
        &self.0[pos..]
    }
}

/// What an element will be stored as.
#[derive(Clone, Copy)]
pub(crate) enum Enc<'a> {
    Int(i64),
    Str(&'a [u8]),
}

impl<'a> Enc<'a> {
    pub(crate) fn of(v: &'a [u8]) -> Self {
        match string2ll(v) {
            Some(i) => Enc::Int(i),
            None => Enc::Str(v),
        }
    }

    /// Length of header + payload.
    fn body_len(&self) -> usize {
        match *self {
            Enc::Int(i) => {
                if (0..=127).contains(&i) {
                    1
                } else if (-4096..=4095).contains(&i) {
                    2
                } else if i16::try_from(i).is_ok() {
                    3
                } else if (-(1 << 23)..(1 << 23)).contains(&i) {
                    4
                } else if i32::try_from(i).is_ok() {
                    5
                } else {
                    9
                }
            }
            Enc::Str(s) => {
                if s.len() < 64 {
                    1 + s.len()
                } else if s.len() < 4096 {
                    2 + s.len()
                } else {
                    5 + s.len()
                }
            }
        }
    }

    /// Full encoded length, backlen included.
    pub(crate) fn encoded_len(&self) -> usize {
        let b = self.body_len();
        b + backlen_size(b)
    }

    /// Writes the encoded entry into `out`, which must be exactly `encoded_len()` long.
    pub(crate) fn write(&self, out: &mut [u8]) {
        let body = self.body_len();
        match *self {
            Enc::Int(i) => {
                let le = i.to_le_bytes();
                match body {
                    1 => out[0] = i as u8,
                    2 => {
                        let u = (i as u16) & 0x1FFF;
                        out[0] = 0xC0 | (u >> 8) as u8;
                        out[1] = u as u8;
                    }
                    3 => {
                        out[0] = 0xF1;
                        out[1..3].copy_from_slice(&le[..2]);
                    }
                    4 => {
                        out[0] = 0xF2;
                        out[1..4].copy_from_slice(&le[..3]);
                    }
                    5 => {
                        out[0] = 0xF3;
                        out[1..5].copy_from_slice(&le[..4]);
                    }
                    _ => {
                        out[0] = 0xF4;
                        out[1..9].copy_from_slice(&le);
                    }
                }
            }
            Enc::Str(s) => {
                let n = s.len();
                let hdr = if n < 64 {
                    out[0] = 0x80 | n as u8;
                    1
                } else if n < 4096 {
                    out[0] = 0xE0 | (n >> 8) as u8;
                    out[1] = n as u8;
                    2
                } else {
                    out[0] = 0xF0;
                    // Packed strings are below the packed threshold, itself capped under 4 GiB.
                    out[1..5].copy_from_slice(&(n as u32).to_le_bytes());
                    5
                };
                out[hdr..hdr + n].copy_from_slice(s);
            }
        }
        write_backlen(body, &mut out[body..]);
    }

    /// Appends the encoded entry to `buf`.
    pub(crate) fn push_to(&self, buf: &mut Vec<u8>) {
        let start = buf.len();
        buf.resize(start + self.encoded_len(), 0);
        self.write(&mut buf[start..]);
    }

    /// Inserts the encoded entry into `buf` at byte offset `at`.
    pub(crate) fn insert_into(&self, buf: &mut Vec<u8>, at: usize) {
        let n = self.encoded_len();
        let old = buf.len();
        buf.resize(old + n, 0);
        buf.copy_within(at..old, at + n);
        self.write(&mut buf[at..at + n]);
    }
}

fn backlen_size(body: usize) -> usize {
    match body {
        0..=127 => 1,
        128..=16383 => 2,
        16384..=2_097_151 => 3,
        2_097_152..=268_435_455 => 4,
        _ => 5,
    }
}

fn write_backlen(body: usize, out: &mut [u8]) {
    let n = backlen_size(body);
    for i in 0..n {
        let more = if i + 1 < n { 0x80 } else { 0 };
        out[n - 1 - i] = ((body >> (7 * i)) & 0x7F) as u8 | more;
    }
}

/// Reads the entry starting at `off`; returns it and the offset of the next entry.
pub(crate) fn decode(buf: &[u8], off: usize) -> (Entry<'_>, usize) {
    let h = buf[off];
    let (entry, body) = if h < 0x80 {
        (Entry::Int(i64::from(h)), 1)
    } else if h < 0xC0 {
        let n = usize::from(h & 0x3F);
        (Entry::Bytes(&buf[off + 1..off + 1 + n]), 1 + n)
    } else if h < 0xE0 {
        let u = (u16::from(h & 0x1F) << 8) | u16::from(buf[off + 1]);
        // Sign-extend the 13-bit value.
        let v = i64::from(((u << 3) as i16) >> 3);
        (Entry::Int(v), 2)
    } else if h < 0xF0 {
        let n = (usize::from(h & 0x0F) << 8) | usize::from(buf[off + 1]);
        (Entry::Bytes(&buf[off + 2..off + 2 + n]), 2 + n)
    } else {
        let int_bytes = match h {
            0xF1 => 2,
            0xF2 => 3,
            0xF3 => 4,
            0xF4 => 8,
            _ => 0,
        };
        if int_bytes == 0 {
            let mut l = [0u8; 4];
            l.copy_from_slice(&buf[off + 1..off + 5]);
            let n = u32::from_le_bytes(l) as usize;
            (Entry::Bytes(&buf[off + 5..off + 5 + n]), 5 + n)
        } else {
            let src = &buf[off + 1..off + 1 + int_bytes];
            // Sign-extend from the top byte.
            let fill = if src[int_bytes - 1] & 0x80 != 0 {
                0xFF
            } else {
                0
            };
            let mut le = [fill; 8];
            le[..int_bytes].copy_from_slice(src);
            (Entry::Int(i64::from_le_bytes(le)), 1 + int_bytes)
        }
    };
    (entry, off + body + backlen_size(body))
}

/// Offset of the entry that ends at `end` (the start of the entry before `end`).
pub(crate) fn prev(buf: &[u8], end: usize) -> usize {
    let mut body = 0usize;
    let mut pos = end;
    let mut shift = 0;
    loop {
        pos -= 1;
        let b = buf[pos];
        body |= usize::from(b & 0x7F) << shift;
        shift += 7;
        if b & 0x80 == 0 {
            break;
        }
    }
    pos - body
}

/// Offset of the next entry after the one at `off`, without building the entry.
pub(crate) fn skip(buf: &[u8], off: usize) -> usize {
    decode(buf, off).1
}

/// Byte offset of entry `i` in a node of `count` entries, walking from the nearer end.
pub(crate) fn seek(buf: &[u8], count: usize, i: usize) -> usize {
    if i <= count / 2 {
        let mut off = 0;
        for _ in 0..i {
            off = skip(buf, off);
        }
        off
    } else {
        let mut off = buf.len();
        for _ in i..count {
            off = prev(buf, off);
        }
        off
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn roundtrip(v: &[u8]) {
        let e = Enc::of(v);
        let mut buf = vec![0xAA];
        e.push_to(&mut buf);
        let (got, next) = decode(&buf, 1);
        assert_eq!(next, buf.len());
        assert_eq!(got.to_vec(), v);
        assert!(got.eq_bytes(v));
        assert_eq!(got.len(), v.len());
        assert_eq!(prev(&buf, buf.len()), 1);
    }

    #[test]
    fn integers_roundtrip_at_every_width() {
        for v in [
            0i64,
            1,
            127,
            128,
            -1,
            -4096,
            4095,
            4096,
            -4097,
            32767,
            -32768,
            32768,
            (1 << 23) - 1,
            -(1 << 23),
            1 << 23,
            i32::MAX as i64,
            i32::MIN as i64,
            i32::MAX as i64 + 1,
            i64::MAX,
            i64::MIN,
        ] {
            roundtrip(v.to_string().as_bytes());
            assert!(matches!(Enc::of(v.to_string().as_bytes()), Enc::Int(_)));
        }
    }

    #[test]
    fn non_canonical_numbers_stay_strings() {
        for s in ["-0", "007", "+5", " 1", "1 ", "9223372036854775808", ""] {
            assert!(matches!(Enc::of(s.as_bytes()), Enc::Str(_)), "{s}");
            roundtrip(s.as_bytes());
        }
    }

    #[test]
    fn strings_roundtrip_at_every_width() {
        for n in [0, 1, 63, 64, 127, 128, 4095, 4096, 16384, 70000] {
            roundtrip(&vec![b'x'; n]);
        }
    }

    #[test]
    fn sizes_match_listpack() {
        // "element:123456": 1 header + 14 bytes + 1 backlen, as in a listpack.
        assert_eq!(Enc::of(b"element:123456").encoded_len(), 16);
        assert_eq!(Enc::of(b"5").encoded_len(), 2);
        assert_eq!(Enc::of(b"1000").encoded_len(), 3);
        assert_eq!(Enc::of(&[b'a'; 200]).encoded_len(), 200 + 2 + 2);
    }
}
