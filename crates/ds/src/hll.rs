//! HyperLogLog in Redis 7.0's exact byte representation, so that values interoperate byte for
//! byte with Redis (GET/SET, DUMP/RESTORE, RDB, replication).
//!
//! A HyperLogLog is a plain string:
//! - a 16-byte header: `"HYLL"`, the encoding byte (0 dense, 1 sparse), three reserved bytes, and
//!   the cached cardinality as 8 little-endian bytes whose top bit marks the cache invalid;
//! - dense: 16384 registers of 6 bits packed little-endian (12288 bytes, 12304 in all);
//! - sparse: a run-length code of opcodes `ZERO` (`00xxxxxx`, 1..64 zero registers), `XZERO`
//!   (`01xxxxxx yyyyyyyy`, 1..16384 zero registers) and `VAL` (`1vvvvvxx`, 1..4 registers of value
//!   1..32), promoted to dense when a value above 32 is needed or the string would grow past
//!   `hll-sparse-max-bytes`.
//!
//! Elements are hashed with MurmurHash64A (seed `0xadc83b19`); the low 14 bits pick the register,
//! the run of zeros above them (plus one) is the register candidate. The estimator is Ertl's
//! "new" estimator that Redis 7.0 uses (sigma/tau corrections, alpha_inf).
//!
//! Every function here accepts arbitrary bytes (a client may SETRANGE anything into a HLL): a
//! corrupt value is reported as [`Corrupt`], never read or written out of bounds. As in Debian's
//! 7.0.15 (the CVE-2025-32023 fix), any sparse opcode running past the 16384th register makes
//! the value corrupt when it is converted, counted or merged. The in-place
//! updates reproduce Redis's sparse editing step for step, because the resulting bytes are visible
//! to clients and must be identical.
//!
//! Must not depend on the keyspace or on I/O.

use std::fmt::Write as _;

/// Header size in bytes.
pub const HDR_SIZE: usize = 16;
/// Number of registers (2^14).
pub const REGISTERS: usize = 1 << P;
/// Size of a dense HyperLogLog string.
pub const DENSE_SIZE: usize = HDR_SIZE + (REGISTERS * BITS).div_ceil(8);
/// Encoding byte of the dense representation.
pub const DENSE: u8 = 0;
/// Encoding byte of the sparse representation.
pub const SPARSE: u8 = 1;
/// Redis's hash seed for HyperLogLog elements.
pub const SEED: u64 = 0xadc8_3b19;

const P: usize = 14;
const Q: usize = 64 - P;
const BITS: usize = 6;
const REG_MAX: u8 = (1 << BITS) - 1;
const VAL_MAX_VALUE: u8 = 32;
const VAL_MAX_LEN: usize = 4;
const ZERO_MAX_LEN: usize = 64;
const XZERO_MAX_LEN: usize = 16384;
const ALPHA_INF: f64 = 0.721_347_520_444_481_7;

/// The value is a HyperLogLog whose content is corrupted (Redis's INVALIDOBJ).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Corrupt;

/// MurmurHash2, 64-bit version, reading the input as little-endian words (as Redis does on
/// every architecture).
pub fn murmur64a(data: &[u8], seed: u64) -> u64 {
    const M: u64 = 0xc6a4_a793_5bd1_e995;
    const R: u32 = 47;
    // Redis passes the length as an int and multiplies it as such, widened to 64 bits.
    let mut h = seed ^ (data.len() as u64).wrapping_mul(M);
    let mut chunks = data.chunks_exact(8);
    for c in &mut chunks {
        let mut k = u64::from_le_bytes([c[0], c[1], c[2], c[3], c[4], c[5], c[6], c[7]]);
        k = k.wrapping_mul(M);
        k ^= k >> R;
        k = k.wrapping_mul(M);
        h ^= k;
        h = h.wrapping_mul(M);
    }
    let tail = chunks.remainder();
    if !tail.is_empty() {
        for (i, &b) in tail.iter().enumerate() {
            h ^= u64::from(b) << (8 * i);
        }
        h = h.wrapping_mul(M);
    }
    h ^= h >> R;
    h = h.wrapping_mul(M);
    h ^= h >> R;
    h
}

/// The register an element maps to and the length of its `0...01` pattern (1..=51).
pub fn pat_len(ele: &[u8]) -> (usize, u8) {
    let hash = murmur64a(ele, SEED);
    let index = (hash as usize) & (REGISTERS - 1);
    // The sentinel bit bounds the count at Q + 1.
    let rest = (hash >> P) | (1u64 << Q);
    (index, rest.trailing_zeros() as u8 + 1)
}

/// A new, empty HyperLogLog: sparse, all registers in XZERO opcodes, cached cardinality 0.
pub fn new_sparse() -> Vec<u8> {
    let mut v = Vec::with_capacity(HDR_SIZE + 2 * REGISTERS.div_ceil(XZERO_MAX_LEN) + 3);
    v.extend_from_slice(b"HYLL");
    v.push(SPARSE);
    v.resize(HDR_SIZE, 0);
    let mut left = REGISTERS;
    while left > 0 {
        let n = left.min(XZERO_MAX_LEN);
        push_xzero(&mut v, n);
        left -= n;
    }
    v
}

/// Is `b` acceptable as a HyperLogLog (Redis's isHLLObjectOrReply, past the type check): long
/// enough for a header, the magic, a known encoding, and a dense value of the exact size.
pub fn is_valid(b: &[u8]) -> bool {
    b.len() >= HDR_SIZE
        && &b[..4] == b"HYLL"
        && b[4] <= SPARSE
        && (b[4] != DENSE || b.len() == DENSE_SIZE)
}

/// The encoding byte (call on a value accepted by [`is_valid`]).
pub fn encoding(b: &[u8]) -> u8 {
    b.get(4).copied().unwrap_or(u8::MAX)
}

/// The cached cardinality, if the cache is valid.
pub fn cached_card(b: &[u8]) -> Option<u64> {
    let c: [u8; 8] = b.get(8..16)?.try_into().ok()?;
    if c[7] & 0x80 != 0 {
        return None;
    }
    Some(u64::from_le_bytes(c))
}

/// Stores `card` as the cached cardinality (which marks the cache valid).
pub fn set_cached_card(b: &mut [u8], card: u64) {
    if let Some(c) = b.get_mut(8..16) {
        c.copy_from_slice(&card.to_le_bytes());
    }
}

/// Marks the cached cardinality invalid.
pub fn invalidate_cache(b: &mut [u8]) {
    if let Some(c) = b.get_mut(15) {
        *c |= 0x80;
    }
}

// ---- dense registers ----

/// Register `i` of a dense register array. A byte past the end reads as zero (Redis relies on
/// the string's terminating NUL there).
fn dense_get(regs: &[u8], i: usize) -> u8 {
    let byte = i * BITS / 8;
    let fb = (i * BITS) & 7;
    let b0 = u16::from(regs.get(byte).copied().unwrap_or(0));
    let b1 = u16::from(regs.get(byte + 1).copied().unwrap_or(0));
    (((b0 >> fb) | (b1 << (8 - fb))) as u8) & REG_MAX
}

fn dense_put(regs: &mut [u8], i: usize, val: u8) {
    let byte = i * BITS / 8;
    let fb = (i * BITS) & 7;
    let v = u16::from(val);
    if let Some(b) = regs.get_mut(byte) {
        *b &= !((u16::from(REG_MAX) << fb) as u8);
        *b |= (v << fb) as u8;
    }
    if let Some(b) = regs.get_mut(byte + 1) {
        *b &= !(u16::from(REG_MAX) >> (8 - fb)) as u8;
        *b |= (v >> (8 - fb)) as u8;
    }
}

/// Calls `f` with every register value of a dense register array, in index order: three bytes
/// hold four registers, unpacked together (the hot loop of PFCOUNT and PFMERGE).
fn dense_each(regs: &[u8], mut f: impl FnMut(usize, u8)) {
    match regs.get(..REGISTERS * BITS / 8) {
        Some(full) => {
            for (c, w) in full.chunks_exact(3).enumerate() {
                let (b0, b1, b2) = (w[0], w[1], w[2]);
                let i = c * 4;
                f(i, b0 & REG_MAX);
                f(i + 1, ((b0 >> 6) | (b1 << 2)) & REG_MAX);
                f(i + 2, ((b1 >> 4) | (b2 << 4)) & REG_MAX);
                f(i + 3, b2 >> 2);
            }
        }
        None => (0..REGISTERS).for_each(|i| f(i, dense_get(regs, i))),
    }
}

/// Raises dense register `index` to `count`; true if it changed.
fn dense_set(regs: &mut [u8], index: usize, count: u8) -> bool {
    if count > dense_get(regs, index) {
        dense_put(regs, index, count);
        true
    } else {
        false
    }
}

/// The 16384 register values of a dense HyperLogLog (PFDEBUG GETREG).
pub fn dense_registers(b: &[u8]) -> Vec<u8> {
    let mut out = vec![0u8; REGISTERS];
    dense_each(b.get(HDR_SIZE..).unwrap_or(&[]), |i, v| out[i] = v);
    out
}

// ---- sparse opcodes ----

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Op {
    Zero(usize),
    XZero(usize),
    Val(u8, usize),
}

/// The opcode at `p` and its size in bytes. The second byte of an XZERO cut off at the end
/// reads as zero, as Redis reads the terminating NUL.
fn op_at(b: &[u8], p: usize) -> (Op, usize) {
    let c = b[p];
    if c & 0xc0 == 0 {
        (Op::Zero(usize::from(c & 0x3f) + 1), 1)
    } else if c & 0xc0 == 0x40 {
        let lo = b.get(p + 1).copied().unwrap_or(0);
        (
            (Op::XZero(((usize::from(c & 0x3f) << 8) | usize::from(lo)) + 1)),
            2,
        )
    } else {
        (Op::Val(((c >> 2) & 0x1f) + 1, usize::from(c & 3) + 1), 1)
    }
}

fn op_span(op: Op) -> usize {
    match op {
        Op::Zero(n) | Op::XZero(n) | Op::Val(_, n) => n,
    }
}

fn is_val(c: u8) -> bool {
    c & 0x80 != 0
}

fn val_byte(val: u8, len: usize) -> u8 {
    0x80 | ((val - 1) << 2) | ((len - 1) as u8)
}

fn push_xzero(v: &mut Vec<u8>, len: usize) {
    let l = len - 1;
    v.push(0x40 | (l >> 8) as u8);
    v.push((l & 0xff) as u8);
}

/// The (at most 5-byte) opcode sequence replacing a split opcode, built on the stack.
#[derive(Default)]
struct Seq {
    bytes: [u8; 5],
    len: usize,
}

impl Seq {
    fn push(&mut self, c: u8) {
        self.bytes[self.len] = c;
        self.len += 1;
    }

    /// A zero run as one ZERO or XZERO opcode.
    fn zero_run(&mut self, len: usize) {
        if len > ZERO_MAX_LEN {
            let l = len - 1;
            self.push(0x40 | (l >> 8) as u8);
            self.push((l & 0xff) as u8);
        } else {
            self.push((len - 1) as u8);
        }
    }
}

/// Converts a sparse HyperLogLog to dense in place (header and cached cardinality kept).
/// `Ok(false)` if it was dense already.
pub fn sparse_to_dense(b: &mut Vec<u8>) -> Result<bool, Corrupt> {
    if encoding(b) == DENSE {
        return Ok(false);
    }
    let mut dense = vec![0u8; DENSE_SIZE];
    dense[..HDR_SIZE].copy_from_slice(b.get(..HDR_SIZE).ok_or(Corrupt)?);
    dense[4] = DENSE;
    let regs = &mut dense[HDR_SIZE..];
    let mut idx = 0usize;
    let mut p = HDR_SIZE;
    while p < b.len() {
        let (op, size) = op_at(b, p);
        if idx + op_span(op) > REGISTERS {
            return Err(Corrupt);
        }
        match op {
            Op::Zero(n) | Op::XZero(n) => idx += n,
            Op::Val(v, n) => {
                for i in idx..idx + n {
                    dense_put(regs, i, v);
                }
                idx += n;
            }
        }
        p += size;
    }
    if idx != REGISTERS {
        return Err(Corrupt);
    }
    *b = dense;
    Ok(true)
}

/// Raises sparse register `index` to `count` editing the opcodes in place exactly as Redis's
/// hllSparseSet does (split, then merge of adjacent equal VALs), promoting to dense when needed.
fn sparse_set(b: &mut Vec<u8>, index: usize, count: u8, max_bytes: u64) -> Result<bool, Corrupt> {
    if count > VAL_MAX_VALUE {
        return promote(b, index, count);
    }
    // Step 1: find the opcode covering `index`.
    let end = b.len();
    let mut p = HDR_SIZE;
    let mut first = 0usize;
    let mut prev: Option<usize> = None;
    let mut cur = None;
    while p < end {
        let (op, size) = op_at(b, p);
        if index < first + op_span(op) {
            cur = Some((op, size));
            break;
        }
        prev = Some(p);
        p += size;
        first += op_span(op);
    }
    let Some((op, oldlen)) = cur else {
        return Err(Corrupt);
    };
    let span = op_span(op);
    let mut end = end;

    // Step 2: trivial in-place updates, else build the replacement sequence.
    let trivial = match op {
        Op::Val(old, _) if old >= count => return Ok(false),
        Op::Val(_, 1) | Op::Zero(1) => true,
        _ => false,
    };
    if trivial {
        b[p] = val_byte(count, 1);
    } else {
        let last = first + span - 1;
        let mut seq = Seq::default();
        match op {
            Op::Zero(_) | Op::XZero(_) => {
                if index != first {
                    seq.zero_run(index - first);
                }
                seq.push(val_byte(count, 1));
                if index != last {
                    seq.zero_run(last - index);
                }
            }
            Op::Val(cv, _) => {
                if index != first {
                    seq.push(val_byte(cv, index - first));
                }
                seq.push(val_byte(count, 1));
                if index != last {
                    seq.push(val_byte(cv, last - index));
                }
            }
        }
        // Step 3: substitute the sequence for the old opcode.
        let delta = seq.len as i64 - oldlen as i64;
        if delta > 0 && (end as u64).saturating_add(delta as u64) > max_bytes {
            return promote(b, index, count);
        }
        let tail_from = (p + oldlen).min(end);
        b.splice(p..tail_from, seq.bytes[..seq.len].iter().copied());
        // An XZERO cut off at the end loses its missing byte's worth of the new sequence.
        let new_end = (end as i64 + delta).max(p as i64) as usize;
        b.truncate(new_end);
        end = b.len();
    }

    // Step 4: merge adjacent VAL opcodes of equal value, scanning a few opcodes from `prev`.
    let mut p = prev.unwrap_or(HDR_SIZE);
    let mut scan = 5;
    while p < end && scan > 0 {
        scan -= 1;
        let c = b[p];
        if c & 0xc0 == 0x40 {
            p += 2;
            continue;
        }
        if c & 0xc0 == 0 {
            p += 1;
            continue;
        }
        if p + 1 < end && is_val(b[p + 1]) {
            let (Op::Val(v1, l1), _) = op_at(b, p) else {
                unreachable!("checked VAL above")
            };
            let (Op::Val(v2, l2), _) = op_at(b, p + 1) else {
                unreachable!("checked VAL above")
            };
            if v1 == v2 && l1 + l2 <= VAL_MAX_LEN {
                b[p + 1] = val_byte(v1, l1 + l2);
                b.remove(p);
                end -= 1;
                continue;
            }
        }
        p += 1;
    }
    invalidate_cache(b);
    Ok(true)
}

fn promote(b: &mut Vec<u8>, index: usize, count: u8) -> Result<bool, Corrupt> {
    sparse_to_dense(b)?;
    Ok(dense_set(&mut b[HDR_SIZE..], index, count))
}

/// Raises register `index` to `count` in either representation; true if it changed.
pub fn set_register(
    b: &mut Vec<u8>,
    index: usize,
    count: u8,
    sparse_max_bytes: u64,
) -> Result<bool, Corrupt> {
    match encoding(b) {
        DENSE if b.len() >= HDR_SIZE => Ok(dense_set(&mut b[HDR_SIZE..], index, count)),
        SPARSE => sparse_set(b, index, count, sparse_max_bytes),
        _ => Err(Corrupt),
    }
}

/// Adds an element (Redis's hllAdd): true if a register changed. The cached cardinality is left
/// to the caller (PFADD invalidates it once after all elements).
pub fn add(b: &mut Vec<u8>, ele: &[u8], sparse_max_bytes: u64) -> Result<bool, Corrupt> {
    let (index, count) = pat_len(ele);
    set_register(b, index, count, sparse_max_bytes)
}

/// Merges `b` into `max` (`max[i] = max(max[i], register i)`), Redis's hllMerge.
pub fn merge_into(max: &mut [u8; REGISTERS], b: &[u8]) -> Result<(), Corrupt> {
    if encoding(b) == DENSE {
        let regs = b.get(HDR_SIZE..).unwrap_or(&[]);
        if let Some(full) = regs.get(..REGISTERS * BITS / 8) {
            // Four registers per three bytes, without per-register bounds checks.
            for (w, m) in full.chunks_exact(3).zip(max.chunks_exact_mut(4)) {
                let (b0, b1, b2) = (w[0], w[1], w[2]);
                m[0] = m[0].max(b0 & REG_MAX);
                m[1] = m[1].max(((b0 >> 6) | (b1 << 2)) & REG_MAX);
                m[2] = m[2].max(((b1 >> 4) | (b2 << 4)) & REG_MAX);
                m[3] = m[3].max(b2 >> 2);
            }
        } else {
            dense_each(regs, |i, v| max[i] = max[i].max(v));
        }
        return Ok(());
    }
    let mut i = 0usize;
    let mut p = HDR_SIZE;
    while p < b.len() {
        let (op, size) = op_at(b, p);
        if i + op_span(op) > REGISTERS {
            return Err(Corrupt);
        }
        match op {
            Op::Zero(n) | Op::XZero(n) => i += n,
            Op::Val(v, n) => {
                for m in &mut max[i..i + n] {
                    if v > *m {
                        *m = v;
                    }
                }
                i += n;
            }
        }
        p += size;
    }
    if i != REGISTERS {
        return Err(Corrupt);
    }
    Ok(())
}

/// Writes the registers `max` into the HyperLogLog `b` (PFMERGE's destination step): dense when
/// `dense`, else register by register through the sparse editor, as Redis does.
pub fn store_registers(
    b: &mut Vec<u8>,
    max: &[u8; REGISTERS],
    dense: bool,
    sparse_max_bytes: u64,
) -> Result<(), Corrupt> {
    if dense {
        sparse_to_dense(b)?;
    }
    for (i, &m) in max.iter().enumerate() {
        if m != 0 {
            // A sparse destination was validated by merge_into; Redis ignores errors here too.
            let _ = set_register(b, i, m, sparse_max_bytes);
        }
    }
    invalidate_cache(b);
    Ok(())
}

// ---- cardinality ----

fn sigma(mut x: f64) -> f64 {
    if x == 1.0 {
        return f64::INFINITY;
    }
    let mut y = 1.0;
    let mut z = x;
    loop {
        x *= x;
        let prev = z;
        z += x * y;
        y += y;
        if prev == z {
            return z;
        }
    }
}

fn tau(mut x: f64) -> f64 {
    if x == 0.0 || x == 1.0 {
        return 0.0;
    }
    let mut y = 1.0;
    let mut z = 1.0 - x;
    loop {
        x = x.sqrt();
        let prev = z;
        y *= 0.5;
        let d = 1.0 - x;
        z -= d * d * y;
        if prev == z {
            return z / 3.0;
        }
    }
}

/// The estimate from a register histogram (Ertl's improved estimator, as Redis 7.0).
fn estimate(histo: &[i64; 64]) -> u64 {
    let m = REGISTERS as f64;
    let mut z = m * tau((m - histo[Q + 1] as f64) / m);
    for j in (1..=Q).rev() {
        z += histo[j] as f64;
        z *= 0.5;
    }
    z += m * sigma(histo[0] as f64 / m);
    // llroundl of a double: round half away from zero; the float-to-int cast saturates.
    (ALPHA_INF * m * m / z).round() as u64
}

/// The estimated cardinality of a HyperLogLog (ignores the cache). A sparse value whose opcodes
/// do not cover exactly 16384 registers is corrupt.
pub fn count(b: &[u8]) -> Result<u64, Corrupt> {
    let mut histo = [0i64; 64];
    match encoding(b) {
        DENSE => {
            dense_each(b.get(HDR_SIZE..).unwrap_or(&[]), |_, v| {
                histo[usize::from(v)] += 1;
            });
        }
        SPARSE => {
            let mut idx = 0i64;
            let mut p = HDR_SIZE;
            while p < b.len() {
                let (op, size) = op_at(b, p);
                match op {
                    Op::Zero(n) | Op::XZero(n) => histo[0] += n as i64,
                    Op::Val(v, n) => histo[usize::from(v)] += n as i64,
                }
                idx += op_span(op) as i64;
                p += size;
            }
            if idx != REGISTERS as i64 {
                return Err(Corrupt);
            }
        }
        _ => return Err(Corrupt),
    }
    Ok(estimate(&histo))
}

/// The estimated cardinality of plain byte registers (PFCOUNT over several keys).
pub fn count_registers(max: &[u8; REGISTERS]) -> u64 {
    let mut histo = [0i64; 64];
    for w in max.chunks_exact(8) {
        // Most words of a small union are all zero registers.
        if w.iter().all(|&r| r == 0) {
            histo[0] += 8;
        } else {
            for &r in w {
                histo[usize::from(r & 63)] += 1;
            }
        }
    }
    estimate(&histo)
}

/// PFDEBUG DECODE's text for a sparse value: `z:N`, `Z:N` and `v:VAL,LEN` separated by spaces.
pub fn decode_sparse(b: &[u8]) -> String {
    let mut out = String::new();
    let mut p = HDR_SIZE;
    while p < b.len() {
        let (op, size) = op_at(b, p);
        let _ = match op {
            Op::Zero(n) => write!(out, "z:{n} "),
            Op::XZero(n) => write!(out, "Z:{n} "),
            Op::Val(v, n) => write!(out, "v:{v},{n} "),
        };
        p += size;
    }
    while out.ends_with(' ') {
        out.pop();
    }
    out
}

// ---- self test ----

/// PFSELFTEST: register packing round-trips, and the dense and sparse representations agree
/// and stay within the expected error while adding ten million distinct elements. `seed` makes
/// the run reproducible; the error message is Redis's.
pub fn selftest(seed: u64, sparse_max_bytes: u64) -> Result<(), String> {
    let mut rng = seed | 1;
    let mut next = move || {
        // xorshift64*: plenty for test data.
        rng ^= rng >> 12;
        rng ^= rng << 25;
        rng ^= rng >> 27;
        rng.wrapping_mul(0x2545_f491_4f6c_dd1d)
    };
    let mut dense = vec![0u8; DENSE_SIZE];
    dense[..4].copy_from_slice(b"HYLL");
    let mut bytes = vec![0u8; REGISTERS];
    for _ in 0..100 {
        for (i, slot) in bytes.iter_mut().enumerate() {
            let r = (next() as u8) & REG_MAX;
            *slot = r;
            dense_put(&mut dense[HDR_SIZE..], i, r);
        }
        for (i, &want) in bytes.iter().enumerate() {
            let got = dense_get(&dense[HDR_SIZE..], i);
            if got != want {
                return Err(format!(
                    "TESTFAILED Register {i} should be {want} but is {got}"
                ));
            }
        }
    }
    dense[HDR_SIZE..].fill(0);
    let mut sparse = new_sparse();
    let relerr = 1.04 / (REGISTERS as f64).sqrt();
    let base = next();
    let mut checkpoint: u64 = 1;
    for j in 1..=10_000_000u64 {
        let ele = (j ^ base).to_le_bytes();
        let (index, cnt) = pat_len(&ele);
        dense_set(&mut dense[HDR_SIZE..], index, cnt);
        set_register(&mut sparse, index, cnt, sparse_max_bytes)
            .map_err(|_| "TESTFAILED sparse representation corrupted".to_string())?;
        if j != checkpoint {
            continue;
        }
        if j < sparse_max_bytes / 2 && encoding(&sparse) != SPARSE {
            return Err("TESTFAILED sparse encoding not used".into());
        }
        let dc = count(&dense).map_err(|_| "TESTFAILED dense count".to_string())?;
        if count(&sparse) != Ok(dc) {
            return Err("TESTFAILED dense/sparse disagree".into());
        }
        let abserr = (checkpoint as i64 - dc as i64).unsigned_abs();
        let maxerr = if j == 10 {
            1
        } else {
            (relerr * 6.0 * checkpoint as f64).ceil() as u64
        };
        if abserr > maxerr {
            return Err(format!(
                "TESTFAILED Too big error. card:{checkpoint} abserr:{abserr}"
            ));
        }
        checkpoint *= 10;
    }
    Ok(())
}

#[cfg(test)]
mod tests;
