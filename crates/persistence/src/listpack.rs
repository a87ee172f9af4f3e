//! Listpacks as Redis 7.0 lays them out (listpack.c): a 6-byte header (total bytes as u32 LE,
//! element count as u16 LE, 65535 meaning "count it"), the entries, and an end byte 0xFF. Each
//! entry is an encoding byte with its data, followed by a "backlen" giving the entry's size so
//! the list can be walked backwards.
//!
//! RDB files carry quicklist nodes and stream nodes as listpack blobs, so the bytes must be
//! exactly what Redis's validator accepts. Strings that read as integers (Redis's
//! `lpStringToInt64`: the strict `string2ll` rules) are stored as integers, as `lpAppend` does.

use ferrodis_ds::num::string2ll;

const HEADER_SIZE: usize = 6;
const EOF_BYTE: u8 = 0xFF;
/// The element count saturates here (the header field is 16 bits).
const COUNT_UNKNOWN: usize = u16::MAX as usize;

/// Builds one listpack.
#[derive(Debug, Clone)]
pub struct ListpackWriter {
    buf: Vec<u8>,
    count: usize,
}

impl Default for ListpackWriter {
    fn default() -> Self {
        Self::new()
    }
}

impl ListpackWriter {
    pub fn new() -> Self {
        ListpackWriter {
            buf: vec![0; HEADER_SIZE],
            count: 0,
        }
    }

    /// Elements appended so far.
    pub fn len(&self) -> usize {
        self.count
    }

    pub fn is_empty(&self) -> bool {
        self.count == 0
    }

    /// Bytes the finished listpack will take.
    pub fn bytes(&self) -> usize {
        self.buf.len() + 1
    }

    /// Appends a string, stored as an integer when it reads as one.
    pub fn push_bytes(&mut self, s: &[u8]) {
        if s.len() <= 20 {
            if let Some(v) = string2ll(s) {
                self.push_int(v);
                return;
            }
        }
        let start = self.buf.len();
        let len = s.len();
        if len < 64 {
            self.buf.push(0x80 | len as u8);
        } else if len < 4096 {
            self.buf.push(0xE0 | (len >> 8) as u8);
            self.buf.push((len & 0xFF) as u8);
        } else {
            self.buf.push(0xF0);
            self.buf.extend_from_slice(&(len as u32).to_le_bytes());
        }
        self.buf.extend_from_slice(s);
        self.finish_entry(start);
    }

    /// Appends an integer in the smallest encoding that holds it.
    pub fn push_int(&mut self, v: i64) {
        let start = self.buf.len();
        if (0..=127).contains(&v) {
            self.buf.push(v as u8);
        } else if (-4096..=4095).contains(&v) {
            // 13-bit two's complement: 110xxxxx yyyyyyyy.
            let u = (v as u64 & 0x1FFF) as u16;
            self.buf.push(0xC0 | (u >> 8) as u8);
            self.buf.push((u & 0xFF) as u8);
        } else if (-32768..=32767).contains(&v) {
            self.buf.push(0xF1);
            self.buf.extend_from_slice(&(v as i16).to_le_bytes());
        } else if (-8_388_608..=8_388_607).contains(&v) {
            self.buf.push(0xF2);
            self.buf.extend_from_slice(&(v as i32).to_le_bytes()[..3]);
        } else if (i32::MIN as i64..=i32::MAX as i64).contains(&v) {
            self.buf.push(0xF3);
            self.buf.extend_from_slice(&(v as i32).to_le_bytes());
        } else {
            self.buf.push(0xF4);
            self.buf.extend_from_slice(&v.to_le_bytes());
        }
        self.finish_entry(start);
    }

    fn finish_entry(&mut self, start: usize) {
        let l = (self.buf.len() - start) as u64;
        encode_backlen(&mut self.buf, l);
        self.count += 1;
    }

    /// The finished listpack.
    pub fn finish(mut self) -> Vec<u8> {
        self.buf.push(EOF_BYTE);
        let total = self.buf.len() as u32;
        self.buf[0..4].copy_from_slice(&total.to_le_bytes());
        let count = if self.count < COUNT_UNKNOWN {
            self.count as u16
        } else {
            u16::MAX
        };
        self.buf[4..6].copy_from_slice(&count.to_le_bytes());
        self.buf
    }
}

/// Bytes of the backlen of an entry of `l` bytes.
pub(crate) fn backlen_size(l: u64) -> usize {
    match l {
        0..=127 => 1,
        128..=16382 => 2,
        16383..=2_097_150 => 3,
        2_097_151..=268_435_454 => 4,
        _ => 5,
    }
}

/// The backlen of an entry of `l` bytes: 7 bits per byte, most significant first, every byte
/// but the first with its high bit set (so that it can be read from its last byte backwards).
fn encode_backlen(out: &mut Vec<u8>, l: u64) {
    let n = backlen_size(l);
    for i in (0..n).rev() {
        let chunk = ((l >> (7 * i)) & 127) as u8;
        out.push(if i == n - 1 { chunk } else { chunk | 128 });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn small_listpack_bytes() {
        // The listpack inside Redis 7.0.15's DUMP of `RPUSH l a 1 -1`.
        let mut w = ListpackWriter::new();
        w.push_bytes(b"a");
        w.push_bytes(b"1");
        w.push_bytes(b"-1");
        let lp = w.finish();
        assert_eq!(
            lp,
            vec![
                15, 0, 0, 0, 3, 0, // header: 15 bytes, 3 elements
                0x81, b'a', 2, // 6-bit string "a", backlen 2
                1, 1, // 7-bit uint 1, backlen 1
                0xDF, 0xFF, 2, // 13-bit int -1, backlen 2
                0xFF
            ]
        );
    }

    #[test]
    fn integer_encodings() {
        for (v, enc_len) in [
            (127i64, 1usize),
            (128, 2),
            (-4096, 2),
            (4095, 2),
            (4096, 3),
            (-32768, 3),
            (40000, 4),
            (-8_388_608, 4),
            (8_388_608, 5),
            (i32::MIN as i64, 5),
            (i64::MAX, 9),
        ] {
            let mut w = ListpackWriter::new();
            w.push_int(v);
            let lp = w.finish();
            // header + entry + backlen(1 byte) + eof
            assert_eq!(lp.len(), HEADER_SIZE + enc_len + 1 + 1, "value {v}");
        }
    }

    #[test]
    fn strings_that_are_not_canonical_integers_stay_strings() {
        for s in [&b"01"[..], b"+1", b"-0", b" 1", b"99999999999999999999"] {
            let mut w = ListpackWriter::new();
            w.push_bytes(s);
            let lp = w.finish();
            assert_eq!(lp[HEADER_SIZE], 0x80 | s.len() as u8, "{s:?}");
        }
    }

    #[test]
    fn long_strings_and_backlens() {
        let s = vec![b'x'; 5000];
        let mut w = ListpackWriter::new();
        w.push_bytes(&s);
        let lp = w.finish();
        // 32-bit string: 0xF0 + 4 length bytes + data, entry 5005 bytes -> 2-byte backlen.
        assert_eq!(lp[HEADER_SIZE], 0xF0);
        assert_eq!(lp.len(), HEADER_SIZE + 5005 + 2 + 1);
        let bl = &lp[HEADER_SIZE + 5005..HEADER_SIZE + 5007];
        assert_eq!(bl, &[(5005u64 >> 7) as u8, (5005 & 127) as u8 | 128]);
        let mut out = Vec::new();
        encode_backlen(&mut out, 16383);
        assert_eq!(out.len(), 3);
    }

    #[test]
    fn count_saturates() {
        let mut w = ListpackWriter::new();
        for _ in 0..70_000 {
            w.push_int(1);
        }
        let lp = w.finish();
        assert_eq!(&lp[4..6], &[0xFF, 0xFF]);
    }
}
