//! Bit algorithms on byte strings, as the bitmap commands see them: bit 0 is the most
//! significant bit of byte 0. Popcount and bit search over ranges (BITCOUNT, BITPOS),
//! BITOP's combinations, and BITFIELD's integer fields with their overflow rules.
//!
//! Hot loops work on 8-byte words (`u64::count_ones`, word-at-a-time skipping), so long
//! bitmaps are scanned at memory speed rather than bit by bit.
//!
//! No I/O, no keyspace: the commands crate parses arguments and owns the values.

/// Number of set bits in `b`.
pub fn popcount(b: &[u8]) -> u64 {
    let mut chunks = b.chunks_exact(32);
    let mut n = 0u64;
    for c in &mut chunks {
        // Four independent words per iteration keep several popcounts in flight.
        let w = |i: usize| {
            let mut a = [0u8; 8];
            a.copy_from_slice(&c[i * 8..i * 8 + 8]);
            u64::from_ne_bytes(a).count_ones() as u64
        };
        n += w(0) + w(1) + w(2) + w(3);
    }
    let rest = chunks.remainder();
    let mut words = rest.chunks_exact(8);
    for c in &mut words {
        let mut a = [0u8; 8];
        a.copy_from_slice(c);
        n += u64::from_ne_bytes(a).count_ones() as u64;
    }
    for &x in words.remainder() {
        n += x.count_ones() as u64;
    }
    n
}

/// Unit of a BITCOUNT/BITPOS range.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Unit {
    Byte,
    Bit,
}

/// Redis's index normalization for a range over `total` units: negative indexes count from
/// the end, both are clamped into the string. `None` when the range is empty.
fn normalize(mut start: i64, mut end: i64, total: i64) -> Option<(u64, u64)> {
    if start < 0 {
        start += total;
    }
    if end < 0 {
        end += total;
    }
    start = start.max(0);
    end = end.max(0);
    if end >= total {
        end = total - 1;
    }
    if start > end {
        return None;
    }
    Some((start as u64, end as u64))
}

/// Bits `[sb, eb]` (inclusive) of one byte as a mask in its own bit numbering (bit 0 = MSB).
fn byte_mask(byte: u64, sb: u64, eb: u64) -> u8 {
    let lo = if sb > byte * 8 {
        (sb - byte * 8) as u32
    } else {
        0
    };
    let hi = if eb < byte * 8 + 7 {
        (eb - byte * 8) as u32
    } else {
        7
    };
    // Bits lo..=hi counted from the most significant.
    let upto = 0xffu8 >> lo;
    let from = 0xffu8 << (7 - hi);
    upto & from
}

/// Set bits of `s` in the inclusive bit range `[sb, eb]` (both inside `s`).
fn count_bits(s: &[u8], sb: u64, eb: u64) -> u64 {
    let first = sb / 8;
    let last = eb / 8;
    if first == last {
        return (s[first as usize] & byte_mask(first, sb, eb)).count_ones() as u64;
    }
    let head = (s[first as usize] & byte_mask(first, sb, eb)).count_ones() as u64;
    let tail = (s[last as usize] & byte_mask(last, sb, eb)).count_ones() as u64;
    head + tail + popcount(&s[first as usize + 1..last as usize])
}

/// BITCOUNT: set bits of `s`, over the whole string or over `[start, end]` in `unit`s with
/// Redis's index rules (negative from the end, clamped, empty range = 0).
pub fn bitcount(s: &[u8], range: Option<(i64, i64, Unit)>) -> u64 {
    let Some((start, end, unit)) = range else {
        return popcount(s);
    };
    if start < 0 && end < 0 && start > end {
        return 0;
    }
    let len = s.len() as i64;
    match unit {
        Unit::Byte => match normalize(start, end, len) {
            Some((a, b)) => popcount(&s[a as usize..=b as usize]),
            None => 0,
        },
        Unit::Bit => match normalize(start, end, len * 8) {
            Some((a, b)) => count_bits(s, a, b),
            None => 0,
        },
    }
}

/// First bit equal to `bit` in the inclusive bit range `[sb, eb]` of `s`.
fn find_bit(s: &[u8], bit: bool, sb: u64, eb: u64) -> Option<u64> {
    let first = sb / 8;
    let last = eb / 8;
    // Looking for a 0 is looking for a 1 in the complement.
    let flip = if bit { 0u8 } else { 0xff };
    let in_byte = |i: u64| -> Option<u64> {
        let v = (s[i as usize] ^ flip) & byte_mask(i, sb, eb);
        (v != 0).then(|| i * 8 + v.leading_zeros() as u64)
    };
    if let Some(p) = in_byte(first) {
        return Some(p);
    }
    if first == last {
        return None;
    }
    // Whole bytes strictly between first and last, skipped a word at a time.
    let mut i = first + 1;
    let skip_word = if bit { 0u64 } else { u64::MAX };
    while i + 8 <= last {
        let mut a = [0u8; 8];
        a.copy_from_slice(&s[i as usize..i as usize + 8]);
        if u64::from_ne_bytes(a) != skip_word {
            break;
        }
        i += 8;
    }
    while i < last {
        let v = s[i as usize] ^ flip;
        if v != 0 {
            return Some(i * 8 + v.leading_zeros() as u64);
        }
        i += 1;
    }
    in_byte(last)
}

/// BITPOS on an existing string: the first `bit` in the range, with Redis's rules. `start`
/// and `end` are the optional range arguments (`end` given or not changes the answer for
/// clear bits: without an end the string counts as followed by zeros).
pub fn bitpos(s: &[u8], bit: bool, start: Option<i64>, end: Option<i64>, unit: Unit) -> i64 {
    let len = s.len() as i64;
    let total = match unit {
        Unit::Byte => len,
        Unit::Bit => len * 8,
    };
    let end_given = end.is_some();
    let (start, end) = match start {
        None => (0, total - 1),
        Some(st) => (st, end.unwrap_or(total - 1)),
    };
    let Some((a, b)) = normalize(start, end, total) else {
        return -1;
    };
    let (sb, eb) = match unit {
        Unit::Byte => (a * 8, b * 8 + 7),
        Unit::Bit => (a, b),
    };
    match find_bit(s, bit, sb, eb) {
        Some(p) => p as i64,
        None if bit || end_given => -1,
        None => eb as i64 + 1,
    }
}

/// GETBIT: the bit at `offset`, zero past the end.
pub fn getbit(s: &[u8], offset: u64) -> bool {
    let byte = offset / 8;
    if byte >= s.len() as u64 {
        return false;
    }
    s[byte as usize] & (0x80 >> (offset % 8)) != 0
}

/// Sets the bit at `offset` (inside `s`) to `on`; returns its previous value.
pub fn setbit(s: &mut [u8], offset: u64, on: bool) -> bool {
    let byte = (offset / 8) as usize;
    let m = 0x80u8 >> (offset % 8);
    let old = s[byte] & m != 0;
    if on {
        s[byte] |= m;
    } else {
        s[byte] &= !m;
    }
    old
}

/// A BITOP operation.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BitOp {
    And,
    Or,
    Xor,
    Not,
}

/// Folds `src` into `acc` (the running BITOP result); shorter inputs count as zero-padded,
/// so `acc` grows to the longer length.
pub fn bitop_fold(op: BitOp, acc: &mut Vec<u8>, src: &[u8]) {
    if acc.len() < src.len() {
        acc.resize(src.len(), 0);
    }
    match op {
        BitOp::And => {
            for (a, b) in acc.iter_mut().zip(src) {
                *a &= *b;
            }
            for a in &mut acc[src.len()..] {
                *a = 0;
            }
        }
        BitOp::Or => {
            for (a, b) in acc.iter_mut().zip(src) {
                *a |= *b;
            }
        }
        BitOp::Xor => {
            for (a, b) in acc.iter_mut().zip(src) {
                *a ^= *b;
            }
        }
        BitOp::Not => {
            for a in acc.iter_mut() {
                *a = !*a;
            }
        }
    }
}

/// BITOP over `srcs` (missing keys are empty strings): the result, as long as the longest.
pub fn bitop(op: BitOp, srcs: &[&[u8]]) -> Vec<u8> {
    let mut acc = srcs.first().map(|s| s.to_vec()).unwrap_or_default();
    if op == BitOp::Not {
        bitop_fold(op, &mut acc, &[]);
        return acc;
    }
    for s in srcs.iter().skip(1) {
        bitop_fold(op, &mut acc, s);
    }
    acc
}

/// BITFIELD overflow behaviour.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Overflow {
    Wrap,
    Sat,
    Fail,
}

/// Reads an unsigned field of `bits` (1..=64) bits at bit `offset`; `p` must cover it.
pub fn get_unsigned(p: &[u8], offset: u64, bits: u32) -> u64 {
    let mut v = 0u64;
    for j in 0..bits as u64 {
        let o = offset + j;
        let bit = (p[(o / 8) as usize] >> (7 - (o % 8))) & 1;
        v = (v << 1) | bit as u64;
    }
    v
}

/// Reads a signed (two's complement) field.
pub fn get_signed(p: &[u8], offset: u64, bits: u32) -> i64 {
    let u = get_unsigned(p, offset, bits);
    if bits < 64 && u & (1u64 << (bits - 1)) != 0 {
        (u | (u64::MAX << bits)) as i64
    } else {
        u as i64
    }
}

/// As [`get_unsigned`], on a string that may be shorter than the field (zero padding).
pub fn get_unsigned_padded(s: &[u8], offset: u64, bits: u32) -> u64 {
    let byte = offset / 8;
    let mut buf = [0u8; 9];
    for (i, b) in buf.iter_mut().enumerate() {
        match usize::try_from(byte + i as u64).ok().and_then(|j| s.get(j)) {
            Some(x) => *b = *x,
            None => break,
        }
    }
    get_unsigned(&buf, offset - byte * 8, bits)
}

/// As [`get_signed`], zero-padded.
pub fn get_signed_padded(s: &[u8], offset: u64, bits: u32) -> i64 {
    let u = get_unsigned_padded(s, offset, bits);
    if bits < 64 && u & (1u64 << (bits - 1)) != 0 {
        (u | (u64::MAX << bits)) as i64
    } else {
        u as i64
    }
}

/// Writes the low `bits` bits of `value` at bit `offset`; `p` must cover the field.
pub fn set_unsigned(p: &mut [u8], offset: u64, bits: u32, value: u64) {
    for j in 0..bits as u64 {
        let on = value & (1u64 << (bits as u64 - 1 - j)) != 0;
        setbit(p, offset + j, on);
    }
}

/// Writes a signed value (its two's complement low bits).
pub fn set_signed(p: &mut [u8], offset: u64, bits: u32, value: i64) {
    set_unsigned(p, offset, bits, value as u64)
}

/// Overflow check of `value + incr` in an unsigned field of `bits` (1..=63) bits, with Redis's
/// exact rules: `0` fits, `1` overflow, `-1` underflow; with the value to store instead
/// (`None` for [`Overflow::Fail`]).
pub fn check_unsigned(value: u64, incr: i64, bits: u32, ow: Overflow) -> (i32, Option<u64>) {
    let max = if bits == 64 {
        u64::MAX
    } else {
        (1u64 << bits) - 1
    };
    let maxincr = max.wrapping_sub(value) as i64;
    let minincr = 0u64.wrapping_sub(value) as i64;
    let wrap = || {
        let mask = if bits >= 64 { 0 } else { u64::MAX << bits };
        value.wrapping_add(incr as u64) & !mask
    };
    let (dir, sat) = if value > max || (incr > 0 && incr > maxincr) {
        (1, max)
    } else if incr < 0 && incr < minincr {
        (-1, 0)
    } else {
        return (0, None);
    };
    match ow {
        Overflow::Wrap => (dir, Some(wrap())),
        Overflow::Sat => (dir, Some(sat)),
        Overflow::Fail => (dir, None),
    }
}

/// Overflow check of `value + incr` in a signed field of `bits` (1..=64) bits; as
/// [`check_unsigned`]. Reproduces Redis's comparisons bit for bit (including how they treat
/// out-of-range SET values).
pub fn check_signed(value: i64, incr: i64, bits: u32, ow: Overflow) -> (i32, Option<i64>) {
    let max: i64 = if bits == 64 {
        i64::MAX
    } else {
        (1i64 << (bits - 1)) - 1
    };
    let min = -max - 1;
    let maxincr = (max as u64).wrapping_sub(value as u64) as i64;
    let minincr = min.wrapping_sub(value);
    let wrap = || {
        let mut c = (value as u64).wrapping_add(incr as u64);
        if bits < 64 {
            let msb = 1u64 << (bits - 1);
            let mask = u64::MAX << bits;
            if c & msb != 0 {
                c |= mask;
            } else {
                c &= !mask;
            }
        }
        c as i64
    };
    let (dir, sat) = if value > max
        || (bits != 64 && incr > maxincr)
        || (value >= 0 && incr > 0 && incr > maxincr)
    {
        (1, max)
    } else if value < min
        || (bits != 64 && incr < minincr)
        || (value < 0 && incr < 0 && incr < minincr)
    {
        (-1, min)
    } else {
        return (0, None);
    };
    match ow {
        Overflow::Wrap => (dir, Some(wrap())),
        Overflow::Sat => (dir, Some(sat)),
        Overflow::Fail => (dir, None),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn bit_at(s: &[u8], i: u64) -> bool {
        s[(i / 8) as usize] & (0x80 >> (i % 8)) != 0
    }

    /// Bit-by-bit model of find_bit.
    fn model_find(s: &[u8], bit: bool, sb: u64, eb: u64) -> Option<u64> {
        (sb..=eb).find(|&i| bit_at(s, i) == bit)
    }

    #[test]
    fn popcount_small() {
        assert_eq!(popcount(b""), 0);
        assert_eq!(popcount(b"\xff"), 8);
        assert_eq!(popcount(b"foobar"), 26);
        assert_eq!(popcount(&[0xffu8; 100]), 800);
    }

    #[test]
    fn bitcount_ranges() {
        let s = b"foobar";
        assert_eq!(bitcount(s, Some((1, 1, Unit::Byte))), 6);
        assert_eq!(bitcount(s, Some((5, 30, Unit::Bit))), 17);
        assert_eq!(bitcount(s, Some((-1, -2, Unit::Byte))), 0);
        assert_eq!(bitcount(b"", Some((0, -1, Unit::Byte))), 0);
    }

    #[test]
    fn bitpos_rules() {
        assert_eq!(bitpos(b"\xff\xf0\x00", false, None, None, Unit::Byte), 12);
        assert_eq!(bitpos(b"\x00\xff\xf0", true, Some(0), None, Unit::Byte), 8);
        assert_eq!(
            bitpos(b"\x00\xff\xf0", true, Some(2), Some(-1), Unit::Byte),
            16
        );
        assert_eq!(
            bitpos(b"\x00\x00\x00", true, Some(7), Some(15), Unit::Bit),
            -1
        );
        assert_eq!(bitpos(b"\xff\xff\xff", false, None, None, Unit::Byte), 24);
        assert_eq!(
            bitpos(b"\xff\xff\xff", false, Some(0), None, Unit::Byte),
            24
        );
        assert_eq!(
            bitpos(b"\xff\xff\xff", false, Some(0), Some(-1), Unit::Byte),
            -1
        );
        assert_eq!(bitpos(b"", false, None, None, Unit::Byte), -1);
    }

    #[test]
    fn bitfield_examples() {
        let mut p = [0u8; 2];
        set_unsigned(&mut p, 7, 5, 23);
        assert_eq!(p, [0b0000_0001, 0b0111_0000]);
        assert_eq!(get_unsigned(&p, 7, 5), 23);
        set_signed(&mut p, 0, 8, -1);
        assert_eq!(get_signed(&p, 0, 8), -1);
        assert_eq!(get_signed_padded(&p, 4, 64), get_signed_padded(&p, 4, 64));
        assert_eq!(get_unsigned_padded(b"", 100, 8), 0);
        assert_eq!(check_unsigned(255, 1, 8, Overflow::Wrap), (1, Some(0)));
        assert_eq!(check_unsigned(255, 1, 8, Overflow::Sat), (1, Some(255)));
        assert_eq!(check_unsigned(0, -1, 8, Overflow::Sat), (-1, Some(0)));
        assert_eq!(check_unsigned(0, -1, 8, Overflow::Wrap), (-1, Some(255)));
        assert_eq!(check_signed(127, 1, 8, Overflow::Wrap), (1, Some(-128)));
        assert_eq!(check_signed(-128, -1, 8, Overflow::Sat), (-1, Some(-128)));
        assert_eq!(
            check_signed(i64::MAX, 1, 64, Overflow::Wrap),
            (1, Some(i64::MIN))
        );
        assert_eq!(check_signed(5, 1, 8, Overflow::Fail), (0, None));
    }

    proptest! {
        #[test]
        fn find_bit_matches_model(s in proptest::collection::vec(any::<u8>(), 1..70),
                                  a in 0u64..560, b in 0u64..560, bit in any::<bool>()) {
            let n = s.len() as u64 * 8;
            let (sb, eb) = (a.min(b) % n, a.max(b) % n);
            let (sb, eb) = (sb.min(eb), sb.max(eb));
            prop_assert_eq!(find_bit(&s, bit, sb, eb), model_find(&s, bit, sb, eb));
            let model_count = (sb..=eb).filter(|&i| bit_at(&s, i)).count() as u64;
            prop_assert_eq!(count_bits(&s, sb, eb), model_count);
        }

        #[test]
        fn fields_roundtrip(v in any::<u64>(), bits in 1u32..=64, off in 0u64..40) {
            let mut p = [0u8; 14];
            set_unsigned(&mut p, off, bits, v);
            let mask = if bits == 64 { u64::MAX } else { (1u64 << bits) - 1 };
            prop_assert_eq!(get_unsigned(&p, off, bits), v & mask);
            prop_assert_eq!(get_unsigned_padded(&p[..((off + bits as u64).div_ceil(8)) as usize], off, bits), v & mask);
            let sv = get_signed(&p, off, bits);
            let shift = 64 - bits;
            prop_assert_eq!(sv, ((v << shift) as i64) >> shift);
        }

        #[test]
        fn popcount_matches_bytes(s in proptest::collection::vec(any::<u8>(), 0..200)) {
            prop_assert_eq!(popcount(&s), s.iter().map(|x| x.count_ones() as u64).sum::<u64>());
        }
    }
}
