//! Redis's exact number parsing and formatting (Redis 7.0 `util.c`, `object.c`).
//!
//! Clients see these rules directly: which strings INCR, ZADD, INCRBYFLOAT...
//! accept, and the exact bytes of every float they get back. So they are
//! reproduced exactly, quirks included:
//! - [`string2ll`]: strict decimal `i64` (no spaces, no `+`, no leading zeros,
//!   no `-0`, at most 20 bytes).
//! - [`string2ull`]: `string2ll`, else C `strtoull` (which *does* accept spaces,
//!   `+`, and wraps `-5`), as Redis does for stream IDs.
//! - [`string2d`]: C `strtod` (decimal, `inf`/`infinity`, hex floats), rejecting
//!   leading whitespace, trailing bytes, NaN, and overflow/underflow to ±inf/0.
//! - [`d2string`] (listpack score encoding) and [`fmt_g17`] (`%.17g`, the reply
//!   format of `addReplyDouble`).
//! - [`LongDouble`], [`string2ld`], [`ld2string`], [`incr_by_float`],
//!   [`hincr_by_float`]: INCRBYFLOAT/HINCRBYFLOAT are computed in the C
//!   `long double` of the platform (80-bit extended on x86_64). Rust has no
//!   such type, so these call a tiny C shim (`csrc/longdouble.c`, built by
//!   `build.rs`) to get bit-identical results.
//!
//! Error values carry Redis's message text without the `ERR ` prefix.
//! No I/O and no dependency on other ferrodis crates.

use std::fmt;

/// Redis's `LONG_STR_SIZE`: strings this long or longer are never integers.
pub const LONG_STR_SIZE: usize = 21;

/// Redis's `MAX_LONG_DOUBLE_CHARS`: the longest accepted/produced long double text.
pub const MAX_LONG_DOUBLE_CHARS: usize = 5 * 1024;

// ---------------------------------------------------------------- integers

/// Redis `string2ll`: the string must be exactly the canonical decimal form
/// of an `i64` (so formatting the result gives back the same bytes).
pub fn string2ll(s: &[u8]) -> Option<i64> {
    if s.is_empty() || s.len() >= LONG_STR_SIZE {
        return None;
    }
    if s == b"0" {
        return Some(0);
    }
    let (negative, digits) = match s.split_first() {
        Some((b'-', rest)) => (true, rest),
        _ => (false, s),
    };
    match digits.first() {
        Some(b'1'..=b'9') => {}
        _ => return None,
    }
    let mut v: u64 = 0;
    for &c in digits {
        if !c.is_ascii_digit() {
            return None;
        }
        v = v.checked_mul(10)?.checked_add(u64::from(c - b'0'))?;
    }
    if negative {
        // |i64::MIN| = i64::MAX + 1 is the largest magnitude allowed.
        if v > i64::MAX as u64 + 1 {
            return None;
        }
        Some((v as i64).wrapping_neg())
    } else {
        i64::try_from(v).ok()
    }
}

/// Redis `string2l`. `long` is 64-bit on every platform Redis 7 supports
/// (LP64), so this is [`string2ll`].
pub fn string2l(s: &[u8]) -> Option<i64> {
    string2ll(s)
}

/// Redis `string2ull`: [`string2ll`] for non-negative values, else C
/// `strtoull(s, &end, 10)` over the C string (up to the first NUL byte), which
/// accepts leading whitespace, a sign (`-5` wraps to `2^64 - 5`) and leading
/// zeros, and rejects overflow, an empty string or trailing bytes.
pub fn string2ull(s: &[u8]) -> Option<u64> {
    // The C function takes a NUL-terminated string.
    let s = match s.iter().position(|&b| b == 0) {
        Some(n) => &s[..n],
        None => s,
    };
    if let Some(v) = string2ll(s) {
        return u64::try_from(v).ok();
    }
    let mut i = 0;
    while i < s.len() && is_c_space(s[i]) {
        i += 1;
    }
    let negative = match s.get(i) {
        Some(b'-') => {
            i += 1;
            true
        }
        Some(b'+') => {
            i += 1;
            false
        }
        _ => false,
    };
    let digits = &s[i..];
    if digits.is_empty() || !digits.iter().all(u8::is_ascii_digit) {
        return None;
    }
    let mut v: u64 = 0;
    for &c in digits {
        v = v.checked_mul(10)?.checked_add(u64::from(c - b'0'))?;
    }
    Some(if negative { v.wrapping_neg() } else { v })
}

/// C `isspace` in the "C" locale.
fn is_c_space(b: u8) -> bool {
    matches!(b, b' ' | b'\t' | b'\n' | 0x0b | 0x0c | b'\r')
}

// ------------------------------------------------------------------ doubles

/// Redis `string2d` (also `getDoubleFromObject` for string values): C
/// `strtod` semantics, strict. Accepts `1`, `-1.5`, `+.5e3`, `inf`, `-Infinity`,
/// `0x1p-3`; rejects `""`, `" 1"`, `"1 "`, `nan`, `1e400` (overflow) and
/// `1e-400` (underflow to zero; subnormal results are accepted).
pub fn string2d(s: &[u8]) -> Option<f64> {
    if s.is_empty() || is_c_space(s[0]) {
        return None;
    }
    match decimal_syntax(s) {
        Some(nonzero_digit) => {
            // Fast path. Both Rust and glibc round correctly, so the values agree;
            // what glibc reports as ERANGE is reproduced from the result.
            let text = std::str::from_utf8(s).ok()?;
            let v: f64 = text.parse().ok()?;
            if v.is_infinite() || (v == 0.0 && nonzero_digit) {
                None
            } else {
                Some(v)
            }
        }
        // inf/infinity, hex floats and everything odd: ask the C library.
        None => c_string2d(s),
    }
}

/// If `s` is `[+-]digits[.digits][(e|E)[+-]digits]` (at least one mantissa
/// digit), returns whether any mantissa digit is non-zero.
fn decimal_syntax(s: &[u8]) -> Option<bool> {
    let mut i = 0;
    if matches!(s.first(), Some(b'+' | b'-')) {
        i += 1;
    }
    let mut ndigits = 0;
    let mut nonzero = false;
    let mut seen_point = false;
    while let Some(&c) = s.get(i) {
        match c {
            b'0'..=b'9' => {
                ndigits += 1;
                nonzero |= c != b'0';
            }
            b'.' if !seen_point => seen_point = true,
            _ => break,
        }
        i += 1;
    }
    if ndigits == 0 {
        return None;
    }
    if matches!(s.get(i), Some(b'e' | b'E')) {
        i += 1;
        if matches!(s.get(i), Some(b'+' | b'-')) {
            i += 1;
        }
        let start = i;
        while s.get(i).is_some_and(u8::is_ascii_digit) {
            i += 1;
        }
        if i == start {
            return None;
        }
    }
    (i == s.len()).then_some(nonzero)
}

/// Runs `f` on a NUL-terminated copy of `s` (C parsers need the terminator).
fn with_c_string<R>(s: &[u8], f: impl FnOnce(*const std::ffi::c_char) -> R) -> R {
    let mut small = [0u8; 128];
    if s.len() < small.len() {
        small[..s.len()].copy_from_slice(s);
        f(small.as_ptr().cast())
    } else {
        let mut v = Vec::with_capacity(s.len() + 1);
        v.extend_from_slice(s);
        v.push(0);
        f(v.as_ptr().cast())
    }
}

fn c_string2d(s: &[u8]) -> Option<f64> {
    let mut out = 0f64;
    // SAFETY: the buffer is NUL-terminated and holds `s.len()` bytes before
    // the terminator; `out` is a valid f64 slot.
    let ok = with_c_string(s, |p| unsafe { ffi::fd_string2d(p, s.len(), &mut out) });
    (ok == 1).then_some(out)
}

/// Redis `double2ll`: `Some` when `d` is integral and within ±2^62 (where the
/// conversion is exact), as used by [`d2string`].
pub fn double2ll(d: f64) -> Option<i64> {
    // (double)(LLONG_MAX/2) rounds to 2^62.
    const LIMIT: f64 = 4_611_686_018_427_387_904.0;
    if !(-LIMIT..=LIMIT).contains(&d) {
        return None;
    }
    let ll = d as i64;
    (ll as f64 == d).then_some(ll)
}

/// Redis `d2string` (how sorted-set scores are written into listpacks):
/// `nan`, `inf`, `-inf`, `0`, `-0`, integers within ±2^62 without a decimal
/// point, anything else as `%.17g`.
pub fn d2string(v: f64) -> String {
    if v.is_nan() {
        "nan".to_string()
    } else if v.is_infinite() {
        if v < 0.0 { "-inf" } else { "inf" }.to_string()
    } else if v == 0.0 {
        if v.is_sign_negative() { "-0" } else { "0" }.to_string()
    } else if let Some(ll) = double2ll(v) {
        ll.to_string()
    } else {
        fmt_g17(v)
    }
}

/// C `printf("%.17g", v)` (glibc output): the double format of Redis replies
/// (`addReplyDouble`; RESP2 bulk and RESP3 `,` alike). Infinities print as
/// `inf`/`-inf`, NaN as `nan`/`-nan`.
pub fn fmt_g17(v: f64) -> String {
    const P: i32 = 17;
    let neg = v.is_sign_negative();
    let sign = if neg { "-" } else { "" };
    if v.is_nan() {
        return format!("{sign}nan");
    }
    if v.is_infinite() {
        return format!("{sign}inf");
    }
    if v == 0.0 {
        return format!("{sign}0");
    }
    // Exactly rounded (ties to even, as glibc) 17 significant digits.
    let e_form = format!("{:.16e}", v.abs());
    let Some((mantissa, exp)) = e_form.split_once('e') else {
        return e_form; // unreachable: `{:e}` always has an exponent
    };
    let exp: i32 = exp.parse().unwrap_or(0);
    let digits: Vec<u8> = mantissa.bytes().filter(u8::is_ascii_digit).collect();
    let trim = |d: &[u8]| -> String {
        let end = d.iter().rposition(|&c| c != b'0').map_or(0, |i| i + 1);
        String::from_utf8_lossy(&d[..end]).into_owned()
    };
    if !(-4..P).contains(&exp) {
        let frac = trim(digits.get(1..).unwrap_or_default());
        let first = char::from(digits.first().copied().unwrap_or(b'0'));
        let dot = if frac.is_empty() { "" } else { "." };
        let esign = if exp < 0 { '-' } else { '+' };
        format!("{sign}{first}{dot}{frac}e{esign}{:02}", exp.unsigned_abs())
    } else if exp >= 0 {
        let split = (exp as usize + 1).min(digits.len());
        let int = String::from_utf8_lossy(&digits[..split]);
        let frac = trim(&digits[split..]);
        let dot = if frac.is_empty() { "" } else { "." };
        format!("{sign}{int}{dot}{frac}")
    } else {
        let zeros = "0".repeat((-exp - 1) as usize);
        format!("{sign}0.{zeros}{}", trim(&digits))
    }
}

// ------------------------------------------------------------- long double

/// A C `long double`, opaque: only the operations Redis performs on it are
/// offered. Stored as the raw bytes of the C value.
#[derive(Clone, Copy)]
#[repr(C, align(16))]
pub struct LongDouble {
    bytes: [u8; 16],
}

/// Redis's blocking timeout in milliseconds from a seconds argument (getTimeoutFromObjectOrReply
/// with UNIT_SECONDS): string2ld, then `ceill(v * 1000)` in long double, converted as x86-64
/// does (out of range gives `i64::MIN`). `None` when the argument is not a float.
pub fn seconds_to_ms_ceil(s: &[u8]) -> Option<i64> {
    let v = string2ld(s)?;
    // SAFETY: `v` is a 16-byte, 16-aligned slot holding a long double.
    Some(unsafe { ffi::fd_ld_seconds_to_ms_ceil(v.as_ptr()) })
}

/// The three formats of Redis's `ld2string`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LdStrMode {
    /// `%.17Lg` (LD_STR_AUTO).
    Auto,
    /// `%.17Lf` with trailing zeros trimmed and `-0` printed as `0`
    /// (LD_STR_HUMAN): INCRBYFLOAT results, GEOPOS coordinates.
    Human,
    /// `%La` (LD_STR_HEX).
    Hex,
}

impl LongDouble {
    const ZEROED: LongDouble = LongDouble { bytes: [0; 16] };

    /// The value of an `i64`, exactly (the mantissa has 64 bits on x86_64).
    pub fn from_i64(v: i64) -> LongDouble {
        let mut out = Self::ZEROED;
        // SAFETY: `out` is a 16-byte, 16-aligned slot, as the shim requires.
        unsafe { ffi::fd_ld_from_i64(v, out.as_mut_ptr()) };
        out
    }

    /// The value of an `f64`, exactly.
    pub fn from_f64(v: f64) -> LongDouble {
        let mut out = Self::ZEROED;
        // SAFETY: as in `from_i64`.
        unsafe { ffi::fd_ld_from_f64(v, out.as_mut_ptr()) };
        out
    }

    /// Rounded to the nearest `f64`.
    pub fn to_f64(&self) -> f64 {
        // SAFETY: `self` holds a value written by the shim.
        unsafe { ffi::fd_ld_to_f64(self.as_ptr()) }
    }

    /// `self + other` in C `long double` arithmetic.
    pub fn add(&self, other: &LongDouble) -> LongDouble {
        let mut out = Self::ZEROED;
        // SAFETY: all three point to 16-byte, 16-aligned slots; inputs hold
        // values written by the shim.
        unsafe { ffi::fd_ld_add(self.as_ptr(), other.as_ptr(), out.as_mut_ptr()) };
        out
    }

    /// Neither NaN nor infinite.
    pub fn is_finite(&self) -> bool {
        // SAFETY: `self` holds a value written by the shim.
        unsafe { ffi::fd_ld_is_finite(self.as_ptr()) == 1 }
    }

    /// Redis `ld2string` in the given mode.
    pub fn format(&self, mode: LdStrMode) -> Vec<u8> {
        ld2string(self, mode)
    }

    fn as_ptr(&self) -> *const std::ffi::c_void {
        self.bytes.as_ptr().cast()
    }

    fn as_mut_ptr(&mut self) -> *mut std::ffi::c_void {
        self.bytes.as_mut_ptr().cast()
    }
}

impl PartialEq for LongDouble {
    /// Numeric equality (NaN != NaN, 0 == -0), not byte equality.
    fn eq(&self, other: &LongDouble) -> bool {
        // SAFETY: both hold values written by the shim.
        unsafe { ffi::fd_ld_cmp(self.as_ptr(), other.as_ptr()) == 0 }
    }
}

impl fmt::Debug for LongDouble {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "LongDouble({})",
            String::from_utf8_lossy(&self.format(LdStrMode::Auto))
        )
    }
}

/// Redis `string2ld` (`getLongDoubleFromObject` for string values): C
/// `strtold`, strict like [`string2d`]; also rejects inputs of
/// [`MAX_LONG_DOUBLE_CHARS`] bytes or more. `inf`/`-inf` are accepted.
pub fn string2ld(s: &[u8]) -> Option<LongDouble> {
    if s.is_empty() || s.len() >= MAX_LONG_DOUBLE_CHARS {
        return None;
    }
    let mut out = LongDouble::ZEROED;
    // SAFETY: the buffer is NUL-terminated after `s.len()` bytes; `out` is a
    // 16-byte, 16-aligned slot.
    let ok = with_c_string(s, |p| unsafe {
        ffi::fd_string2ld(p, s.len(), out.as_mut_ptr())
    });
    (ok == 1).then_some(out)
}

/// Redis `ld2string`. Infinities print as `inf`/`-inf` in every mode.
pub fn ld2string(v: &LongDouble, mode: LdStrMode) -> Vec<u8> {
    let mode = match mode {
        LdStrMode::Auto => 0,
        LdStrMode::Human => 1,
        LdStrMode::Hex => 2,
    };
    // `%.17Lf` of the largest long double is ~4950 bytes; Redis's buffer is
    // MAX_LONG_DOUBLE_CHARS, and so is ours.
    let mut buf = [0u8; MAX_LONG_DOUBLE_CHARS];
    // SAFETY: `v` holds a shim-written value; `buf` has the capacity passed.
    let n = unsafe { ffi::fd_ld2string(v.as_ptr(), mode, buf.as_mut_ptr().cast(), buf.len()) };
    buf.get(..n).unwrap_or_default().to_vec()
}

/// Why an INCRBYFLOAT / HINCRBYFLOAT failed. Display gives Redis's message.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum FloatIncrError {
    /// The stored value does not parse. INCRBYFLOAT replies with this text;
    /// HINCRBYFLOAT replies `hash value is not a float` instead.
    #[error("value is not a valid float")]
    InvalidCurrent,
    /// The increment argument does not parse.
    #[error("value is not a valid float")]
    InvalidIncrement,
    /// HINCRBYFLOAT only: the increment itself is infinite.
    #[error("value is NaN or Infinity")]
    IncrementNotFinite,
    /// The sum is infinite or NaN.
    #[error("increment would produce NaN or Infinity")]
    NanOrInfinity,
}

/// INCRBYFLOAT: parses `current` (pass `b"0"` for a missing key, or the
/// decimal text of an integer-encoded value) and `incr` with [`string2ld`],
/// adds them as C `long double` and formats the sum like Redis
/// (`ld2string(LD_STR_HUMAN)`). The result is also what gets propagated
/// (`SET key <result> KEEPTTL`).
pub fn incr_by_float(current: &[u8], incr: &[u8]) -> Result<Vec<u8>, FloatIncrError> {
    let cur = string2ld(current).ok_or(FloatIncrError::InvalidCurrent)?;
    let inc = string2ld(incr).ok_or(FloatIncrError::InvalidIncrement)?;
    add_and_format(&cur, &inc)
}

/// HINCRBYFLOAT: like [`incr_by_float`] with Redis's order of checks: the
/// increment is parsed and must be finite before the field value is looked
/// at; `current` is `None` for a missing field. A handler that must report
/// WRONGTYPE between those steps can call [`string2ld`] and
/// [`LongDouble::is_finite`] itself first.
pub fn hincr_by_float(current: Option<&[u8]>, incr: &[u8]) -> Result<Vec<u8>, FloatIncrError> {
    let inc = string2ld(incr).ok_or(FloatIncrError::InvalidIncrement)?;
    if !inc.is_finite() {
        return Err(FloatIncrError::IncrementNotFinite);
    }
    let cur = match current {
        Some(c) => string2ld(c).ok_or(FloatIncrError::InvalidCurrent)?,
        None => LongDouble::from_i64(0),
    };
    add_and_format(&cur, &inc)
}

fn add_and_format(cur: &LongDouble, inc: &LongDouble) -> Result<Vec<u8>, FloatIncrError> {
    let sum = cur.add(inc);
    if !sum.is_finite() {
        return Err(FloatIncrError::NanOrInfinity);
    }
    Ok(ld2string(&sum, LdStrMode::Human))
}

mod ffi {
    use std::ffi::{c_char, c_int, c_void};

    extern "C" {
        pub fn fd_string2ld(buf: *const c_char, len: usize, out: *mut c_void) -> c_int;
        pub fn fd_string2d(buf: *const c_char, len: usize, out: *mut f64) -> c_int;
        pub fn fd_ld_from_i64(v: i64, out: *mut c_void);
        pub fn fd_ld_from_f64(v: f64, out: *mut c_void);
        pub fn fd_ld_to_f64(a: *const c_void) -> f64;
        pub fn fd_ld_add(a: *const c_void, b: *const c_void, out: *mut c_void);
        pub fn fd_ld_is_finite(a: *const c_void) -> c_int;
        pub fn fd_ld_cmp(a: *const c_void, b: *const c_void) -> c_int;
        pub fn fd_ld_seconds_to_ms_ceil(a: *const c_void) -> i64;
        pub fn fd_ld2string(a: *const c_void, mode: c_int, buf: *mut c_char, cap: usize) -> usize;
        #[cfg(test)]
        pub fn fd_fmt_g17(v: f64, buf: *mut c_char, cap: usize) -> usize;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn string2ll_accepts_canonical_only() {
        assert_eq!(string2ll(b"0"), Some(0));
        assert_eq!(string2ll(b"1"), Some(1));
        assert_eq!(string2ll(b"-1"), Some(-1));
        assert_eq!(string2ll(b"9223372036854775807"), Some(i64::MAX));
        assert_eq!(string2ll(b"-9223372036854775808"), Some(i64::MIN));
        for bad in [
            &b""[..],
            b"-",
            b"-0",
            b"00",
            b"01",
            b"+1",
            b" 1",
            b"1 ",
            b"1a",
            b"9223372036854775808",
            b"-9223372036854775809",
            b"18446744073709551616",
            b"99999999999999999999",
            b"1.0",
            b"1e3",
            b"0x10",
            b"1\x00",
        ] {
            assert_eq!(string2ll(bad), None, "{:?}", String::from_utf8_lossy(bad));
        }
        // 21 bytes is rejected by length even though the value would fit.
        assert_eq!(string2ll(b"-00000000000000000001"), None);
        assert_eq!(string2l(b"-42"), Some(-42));
    }

    #[test]
    fn string2ull_falls_back_to_strtoull() {
        assert_eq!(string2ull(b"0"), Some(0));
        assert_eq!(string2ull(b"18446744073709551615"), Some(u64::MAX));
        assert_eq!(string2ull(b"18446744073709551616"), None);
        assert_eq!(string2ull(b"-1"), None, "string2ll path rejects negatives");
        assert_eq!(string2ull(b" 5"), Some(5));
        assert_eq!(string2ull(b"+5"), Some(5));
        assert_eq!(string2ull(b"007"), Some(7));
        assert_eq!(string2ull(b"-0"), Some(0));
        assert_eq!(string2ull(b" -5"), Some(5u64.wrapping_neg()));
        assert_eq!(string2ull(b"12\x00junk"), Some(12));
        for bad in [&b""[..], b" ", b"+", b"-", b"5 ", b"1.5", b"abc", b"\x001"] {
            assert_eq!(string2ull(bad), None, "{:?}", String::from_utf8_lossy(bad));
        }
    }

    #[test]
    fn string2d_cases() {
        let ok: &[(&[u8], f64)] = &[
            (b"0", 0.0),
            (b"1", 1.0),
            (b"-1.5", -1.5),
            (b"+.5", 0.5),
            (b"5.", 5.0),
            (b"1e5", 1e5),
            (b"1E+5", 1e5),
            (b"2.5e-3", 2.5e-3),
            (b"inf", f64::INFINITY),
            (b"+inf", f64::INFINITY),
            (b"-inf", f64::NEG_INFINITY),
            (b"-Infinity", f64::NEG_INFINITY),
            (b"0x10", 16.0),
            (b"0x1p-2", 0.25),
            (b"-0X1.8P1", -3.0),
            (b"0e999999", 0.0),
            (b"4.9e-324", 4.9e-324),
            (b"1.7976931348623157e308", f64::MAX),
        ];
        for (s, want) in ok {
            assert_eq!(string2d(s), Some(*want), "{:?}", String::from_utf8_lossy(s));
        }
        assert!(string2d(b"-0").is_some_and(|v| v == 0.0 && v.is_sign_negative()));
        for bad in [
            &b""[..],
            b" 1",
            b"\t1",
            b"1 ",
            b"1a",
            b"nan",
            b"NaN",
            b"-nan",
            b"nan(123)",
            b"1e400",
            b"-1e400",
            b"1e-400",
            b"2e-324",
            b".",
            b"e5",
            b"1e",
            b"1e+",
            b"0x",
            b"infin",
            b"1\x002",
            b"- 1",
            b"++1",
            b"1..2",
        ] {
            assert_eq!(string2d(bad), None, "{:?}", String::from_utf8_lossy(bad));
        }
    }

    proptest! {
        /// The Rust fast path agrees with glibc strtod (via the shim).
        #[test]
        fn string2d_fast_path_matches_strtod(
            sign in prop_oneof![Just(""), Just("-"), Just("+")],
            int in "[0-9]{0,25}",
            frac in proptest::option::of("[0-9]{0,25}"),
            exp in proptest::option::of(-400i32..400),
        ) {
            let mut s = format!("{sign}{int}");
            if let Some(f) = frac { s.push('.'); s.push_str(&f); }
            if let Some(e) = exp { s.push_str(&format!("e{e}")); }
            let rust = string2d(s.as_bytes());
            let c = c_string2d(s.as_bytes());
            prop_assert_eq!(rust.map(f64::to_bits), c.map(f64::to_bits), "{}", s);
        }

        #[test]
        fn fmt_g17_matches_printf(bits in any::<u64>()) {
            let v = f64::from_bits(bits);
            prop_assert_eq!(fmt_g17(v), c_g17(v));
        }

        #[test]
        fn fmt_g17_matches_printf_on_short_decimals(m in -100_000i64..100_000, e in -25i32..25) {
            let v: f64 = format!("{m}e{e}").parse().unwrap_or(0.0);
            prop_assert_eq!(fmt_g17(v), c_g17(v));
        }

        #[test]
        fn string2ll_roundtrips(v in any::<i64>()) {
            prop_assert_eq!(string2ll(v.to_string().as_bytes()), Some(v));
        }
    }

    fn c_g17(v: f64) -> String {
        let mut buf = [0u8; 64];
        // SAFETY: buffer capacity passed along.
        let n = unsafe { ffi::fd_fmt_g17(v, buf.as_mut_ptr().cast(), buf.len()) };
        String::from_utf8_lossy(&buf[..n]).into_owned()
    }

    #[test]
    fn fmt_g17_cases() {
        for (v, want) in [
            (1.0, "1"),
            (0.1, "0.10000000000000001"),
            (1.5, "1.5"),
            (-2.25, "-2.25"),
            (1e16, "10000000000000000"),
            (1e17, "1e+17"),
            (1.25e17, "1.25e+17"),
            (0.0001, "0.0001"),
            (0.00001, "1.0000000000000001e-05"),
            (3.0e-300, "3.0000000000000002e-300"),
            (f64::MAX, "1.7976931348623157e+308"),
            (f64::INFINITY, "inf"),
            (f64::NEG_INFINITY, "-inf"),
            (0.0, "0"),
            (-0.0, "-0"),
            // A tie at the 17th digit: glibc rounds half to even.
            // 1 + 2^-17 = 1.00000762939453125 exactly.
            (1.0 + 2f64.powi(-17), "1.0000076293945312"),
        ] {
            assert_eq!(fmt_g17(v), want, "{v:e}");
            assert_eq!(c_g17(v), want, "oracle for {v:e}");
        }
    }

    #[test]
    fn d2string_cases() {
        assert_eq!(d2string(f64::NAN), "nan");
        assert_eq!(d2string(f64::INFINITY), "inf");
        assert_eq!(d2string(f64::NEG_INFINITY), "-inf");
        assert_eq!(d2string(0.0), "0");
        assert_eq!(d2string(-0.0), "-0");
        assert_eq!(d2string(3.0), "3");
        assert_eq!(d2string(-12345.0), "-12345");
        assert_eq!(d2string(1.5), "1.5");
        assert_eq!(d2string(0.1), "0.10000000000000001");
        // 2^62 is still printed as an integer; 2^63 goes through %.17g.
        assert_eq!(d2string(4_611_686_018_427_387_904.0), "4611686018427387904");
        assert_eq!(
            d2string(-4_611_686_018_427_387_904.0),
            "-4611686018427387904"
        );
        assert_eq!(
            d2string(9_223_372_036_854_775_808.0),
            "9.2233720368547758e+18"
        );
        assert_eq!(d2string(1e17 * 3.0), "300000000000000000");
        assert_eq!(double2ll(2.5), None);
        assert_eq!(double2ll(-7.0), Some(-7));
    }

    #[test]
    fn blocking_timeouts_round_like_redis() {
        assert_eq!(seconds_to_ms_ceil(b"0"), Some(0));
        assert_eq!(seconds_to_ms_ceil(b"0.1"), Some(100));
        assert_eq!(seconds_to_ms_ceil(b"1.0001"), Some(1001));
        // Long double: -0.001 * 1000 is just above -1, ceil gives -0.
        assert_eq!(seconds_to_ms_ceil(b"-0.001"), Some(0));
        assert_eq!(seconds_to_ms_ceil(b"-1"), Some(-1000));
        assert_eq!(seconds_to_ms_ceil(b"inf"), Some(i64::MIN));
        assert_eq!(seconds_to_ms_ceil(b"1e30"), Some(i64::MIN));
        assert_eq!(seconds_to_ms_ceil(b"abc"), None);
        assert_eq!(seconds_to_ms_ceil(b"nan"), None);
    }

    #[test]
    fn string2ld_rules() {
        assert!(string2ld(b"1.5").is_some());
        assert!(string2ld(b"inf").is_some_and(|v| !v.is_finite()));
        for bad in [
            &b""[..],
            b" 1",
            b"1 ",
            b" 11 ",
            b"nan",
            b"1\x002",
            b"1e99999",
            b"1e-99999",
            b"abc",
        ] {
            assert!(
                string2ld(bad).is_none(),
                "{:?}",
                String::from_utf8_lossy(bad)
            );
        }
        // Too long, even if it is a valid number.
        let long = format!("1.{}", "0".repeat(MAX_LONG_DOUBLE_CHARS));
        assert!(string2ld(long.as_bytes()).is_none());
        let fits = format!("1.{}", "0".repeat(MAX_LONG_DOUBLE_CHARS - 3));
        assert_eq!(string2ld(fits.as_bytes()), Some(LongDouble::from_i64(1)));
        // 1e4000 is in long double range (not double's).
        assert!(string2ld(b"1e4000").is_some_and(|v| v.is_finite()));
    }

    #[test]
    fn ld2string_modes() {
        let v = |s: &[u8]| string2ld(s).unwrap_or(LongDouble::from_i64(-999));
        assert_eq!(ld2string(&v(b"1.5"), LdStrMode::Human), b"1.5");
        assert_eq!(ld2string(&v(b"10"), LdStrMode::Human), b"10");
        assert_eq!(ld2string(&v(b"-0"), LdStrMode::Human), b"0");
        assert_eq!(ld2string(&v(b"0.1"), LdStrMode::Human), b"0.1");
        assert_eq!(ld2string(&v(b"1e-20"), LdStrMode::Human), b"0");
        assert_eq!(ld2string(&v(b"-1e-20"), LdStrMode::Human), b"0");
        assert_eq!(ld2string(&v(b"inf"), LdStrMode::Human), b"inf");
        assert_eq!(ld2string(&v(b"-inf"), LdStrMode::Auto), b"-inf");
        assert_eq!(ld2string(&v(b"0.1"), LdStrMode::Auto), b"0.1");
        assert_eq!(ld2string(&v(b"1.5"), LdStrMode::Hex), b"0xcp-3");
        assert_eq!(ld2string(&v(b"1e30"), LdStrMode::Auto), b"1e+30");
        // 1e30 is not exact in 64 mantissa bits, and %.17Lf shows it (so does Redis).
        assert_eq!(
            ld2string(&v(b"1e30"), LdStrMode::Human),
            b"1000000000000000000024696061952"
        );
        let huge = ld2string(&v(b"1e4900"), LdStrMode::Human);
        assert_eq!(huge.len(), 4901);
        assert!(huge.starts_with(b"1000000000"));
    }

    #[test]
    fn long_double_ops() {
        let a = LongDouble::from_i64(i64::MAX);
        assert_eq!(
            ld2string(&a, LdStrMode::Human),
            i64::MAX.to_string().as_bytes()
        );
        assert_eq!(LongDouble::from_f64(0.5).to_f64(), 0.5);
        assert_eq!(
            LongDouble::from_f64(0.5)
                .add(&LongDouble::from_f64(0.25))
                .to_f64(),
            0.75
        );
        assert_ne!(LongDouble::from_i64(1), LongDouble::from_i64(2));
        assert!(format!("{:?}", LongDouble::from_i64(3)).contains('3'));
    }

    /// Cases from Redis's tests/unit/type/incr.tcl.
    #[test]
    fn incr_tcl_cases() {
        let s = |r: Result<Vec<u8>, FloatIncrError>| {
            r.map(|v| String::from_utf8_lossy(&v).into_owned())
        };
        assert_eq!(s(incr_by_float(b"0", b"1")), Ok("1".into()));
        assert_eq!(s(incr_by_float(b"1", b"0.25")), Ok("1.25".into()));
        assert_eq!(s(incr_by_float(b"1.5", b"1.5")), Ok("3".into()));
        assert_eq!(
            s(incr_by_float(b"17179869184", b"1.5")),
            Ok("17179869185.5".into())
        );
        assert_eq!(
            s(incr_by_float(b"17179869184", b"17179869184")),
            Ok("34359738368".into())
        );
        for bad in [&b"    11"[..], b"11    ", b" 11 "] {
            assert_eq!(
                incr_by_float(bad, b"1.0"),
                Err(FloatIncrError::InvalidCurrent)
            );
        }
        assert_eq!(
            incr_by_float(b"0", b"+inf"),
            Err(FloatIncrError::NanOrInfinity)
        );
        assert_eq!(s(incr_by_float(b"1", b"-1.1")), Ok("-0.1".into()));
        // "string to double with null terminator": SETRANGE foo 2 2 on "1".
        assert_eq!(
            incr_by_float(b"1\x002", b"1"),
            Err(FloatIncrError::InvalidCurrent)
        );
        // "No negative zero".
        let plus = fmt_g17(1.0 / 41.0);
        let minus = fmt_g17(-1.0 / 41.0);
        let step = incr_by_float(b"0", plus.as_bytes());
        let Ok(step) = step else { panic!("{step:?}") };
        assert_eq!(s(incr_by_float(&step, minus.as_bytes())), Ok("0".into()));
        // Errors.
        assert_eq!(
            incr_by_float(b"abc", b"1"),
            Err(FloatIncrError::InvalidCurrent)
        );
        assert_eq!(
            incr_by_float(b"1", b"abc"),
            Err(FloatIncrError::InvalidIncrement)
        );
        assert_eq!(
            incr_by_float(b"1", b"nan"),
            Err(FloatIncrError::InvalidIncrement)
        );
        assert_eq!(
            incr_by_float(b"inf", b"-inf"),
            Err(FloatIncrError::NanOrInfinity)
        );
        assert_eq!(
            FloatIncrError::NanOrInfinity.to_string(),
            "increment would produce NaN or Infinity"
        );
        assert_eq!(
            FloatIncrError::InvalidIncrement.to_string(),
            "value is not a valid float"
        );
    }

    #[test]
    fn hincr_by_float_order_of_checks() {
        assert_eq!(hincr_by_float(None, b"1.5"), Ok(b"1.5".to_vec()));
        assert_eq!(hincr_by_float(Some(b"10"), b"-0.5"), Ok(b"9.5".to_vec()));
        assert_eq!(
            hincr_by_float(Some(b"abc"), b"x"),
            Err(FloatIncrError::InvalidIncrement)
        );
        assert_eq!(
            hincr_by_float(Some(b"abc"), b"inf"),
            Err(FloatIncrError::IncrementNotFinite)
        );
        assert_eq!(
            hincr_by_float(Some(b"abc"), b"1"),
            Err(FloatIncrError::InvalidCurrent)
        );
        assert_eq!(
            hincr_by_float(Some(b"inf"), b"1"),
            Err(FloatIncrError::NanOrInfinity)
        );
        assert_eq!(
            FloatIncrError::IncrementNotFinite.to_string(),
            "value is NaN or Infinity"
        );
    }

    // ------------- differential tests against a real redis-server -------------

    use crate::glob::tests::{Client, RedisServer, Reply, Rng};

    fn random_float_text(rng: &mut Rng) -> String {
        let sign = ["", "-"][rng.below(2) as usize];
        match rng.below(6) {
            0 => format!("{sign}{}", rng.below(1_000_000)),
            1 => format!("{sign}{}.{}", rng.below(1000), rng.below(1_000_000_000)),
            2 => format!("{sign}{}e{}", rng.below(100_000), rng.below(60) as i64 - 30),
            3 => fmt_g17(f64::from_bits(rng.next()) % 1e30),
            4 => format!("{sign}0.{:017}", rng.below(100_000_000_000_000_000)),
            _ => format!(
                "{sign}{}.{}e{}",
                rng.below(10),
                rng.next(),
                rng.below(5000) as i64 - 2500
            ),
        }
    }

    #[test]
    #[ignore = "needs a real redis-server binary"]
    fn differential_against_redis_incrbyfloat() {
        let server = RedisServer::start();
        let mut c = Client::connect(server.port);
        let seed = std::env::var("NUM_SEED")
            .ok()
            .and_then(|s| s.parse().ok())
            .unwrap_or(0x2545_f491_4f6c_dd1du64);
        eprintln!("NUM_SEED={seed}");
        let mut rng = Rng(seed);
        let mut fixed: Vec<(String, String)> = [
            ("1", "0.1"),
            ("0.1", "0.2"),
            ("10.5", "-10.5"),
            ("3.0e3", "1.0e3"),
            ("5.0e3", "2.0e2"),
            ("1e4000", "1"),
            ("1e4931", "1e4931"),
            ("0x1p3", "1"),
            ("inf", "1"),
            ("1", "-inf"),
            (" 1", "1"),
            ("1", " 1"),
            ("1", "1 "),
            ("", "1"),
            ("1", ""),
            ("+1", "+.5"),
            ("1e-4950", "0"),
            ("9223372036854775807", "1"),
            ("-0", "-0"),
            ("1", "nan"),
            ("infinity", "-1"),
        ]
        .iter()
        .map(|(a, b)| (a.to_string(), b.to_string()))
        .collect();
        for _ in 0..3000 {
            fixed.push((random_float_text(&mut rng), random_float_text(&mut rng)));
        }
        for (cur, inc) in &fixed {
            c.cmd(&[b"SET", b"k", cur.as_bytes()]);
            let redis = match c.cmd(&[b"INCRBYFLOAT", b"k", inc.as_bytes()]) {
                Reply::Bulk(Some(b)) => Ok(b),
                Reply::Error(e) => Err(e),
                other => panic!("{other:?}"),
            };
            let ours =
                incr_by_float(cur.as_bytes(), inc.as_bytes()).map_err(|e| format!("ERR {e}"));
            assert_eq!(ours, redis, "INCRBYFLOAT {cur:?} + {inc:?}");

            // HINCRBYFLOAT has its own order of checks and messages.
            c.cmd(&[b"DEL", b"h"]);
            c.cmd(&[b"HSET", b"h", b"f", cur.as_bytes()]);
            let redis = match c.cmd(&[b"HINCRBYFLOAT", b"h", b"f", inc.as_bytes()]) {
                Reply::Bulk(Some(b)) => Ok(b),
                Reply::Error(e) => Err(e),
                other => panic!("{other:?}"),
            };
            let ours = hincr_by_float(Some(cur.as_bytes()), inc.as_bytes()).map_err(|e| match e {
                FloatIncrError::InvalidCurrent => "ERR hash value is not a float".to_string(),
                e => format!("ERR {e}"),
            });
            assert_eq!(ours, redis, "HINCRBYFLOAT {cur:?} + {inc:?}");

            // string2d through ZADD, and the reply format through ZSCORE.
            c.cmd(&[b"DEL", b"z"]);
            let redis = c.cmd(&[b"ZADD", b"z", cur.as_bytes(), b"m"]);
            let ours = string2d(cur.as_bytes());
            match (ours, redis) {
                (Some(v), Reply::Int(1)) => {
                    // A listpack zset stores integral scores as integers
                    // (double2ll), which turns -0 into 0.
                    let v = double2ll(v).map_or(v, |ll| ll as f64);
                    let score = c.cmd(&[b"ZSCORE", b"z", b"m"]);
                    assert_eq!(
                        score,
                        Reply::Bulk(Some(fmt_g17(v).into_bytes())),
                        "ZSCORE {cur:?}"
                    );
                }
                (None, Reply::Error(e)) => assert_eq!(e, "ERR value is not a valid float"),
                (ours, redis) => panic!("ZADD {cur:?}: ours {ours:?}, redis {redis:?}"),
            }
        }
        eprintln!("checked {} pairs against redis-server", fixed.len());
    }
}
