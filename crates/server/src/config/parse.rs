//! Byte-level parsers and formatters whose exact behaviour the config format depends on.
//!
//! Redis builds its config parsing on a handful of C helpers (`sdssplitargs`, `memtoull`,
//! `string2ll`, libc `strtoll`, `sdscatrepr`). Their edge cases are visible to users (which
//! strings are accepted, how values are quoted on CONFIG REWRITE), so they are reproduced here
//! precisely rather than approximated with Rust's `str::parse`. Tokenizing (`sdssplitargs`)
//! is shared with the inline-command parser: `ferrodis_resp::request::split_args`.

use std::io;

/// C `isspace` in the "C" locale.
fn is_c_space(c: u8) -> bool {
    matches!(c, b' ' | b'\t' | b'\n' | 0x0b | 0x0c | b'\r')
}

/// `sdssplitargs`: config lines and command-line option strings are tokenized exactly like
/// inline commands.
pub(crate) use ferrodis_resp::request::split_args;

/// `sdssplitlen(value, " ")`: CONFIG SET splits multi-argument values on single spaces, keeping
/// empty pieces (so `"3600 1  300 100"` has five pieces); an empty value has no pieces.
pub(crate) fn split_on_space(v: &[u8]) -> Vec<Vec<u8>> {
    if v.is_empty() {
        return Vec::new();
    }
    v.split(|&b| b == b' ').map(<[u8]>::to_vec).collect()
}

/// Redis `string2ll`: strict decimal, no blanks, no '+', no leading zeros, at most 20 bytes.
pub(crate) fn string2ll(s: &[u8]) -> Option<i64> {
    if s.is_empty() || s.len() >= 21 {
        return None;
    }
    if s == b"0" {
        return Some(0);
    }
    let (neg, digits) = match s.split_first() {
        Some((b'-', rest)) => (true, rest),
        _ => (false, s),
    };
    let first = *digits.first()?;
    if !(b'1'..=b'9').contains(&first) {
        return None;
    }
    let mut v: u64 = 0;
    for &d in digits {
        if !d.is_ascii_digit() {
            return None;
        }
        v = v.checked_mul(10)?.checked_add(u64::from(d - b'0'))?;
    }
    if neg {
        if v > (i64::MAX as u64) + 1 {
            return None;
        }
        Some((v as i64).wrapping_neg())
    } else {
        i64::try_from(v).ok()
    }
}

/// Result of a libc-style `strtoll`.
pub(crate) struct StrToLl {
    pub value: i64,
    /// True when the whole input was consumed (`*endptr == '\0'`).
    pub complete: bool,
    /// True when the value saturated (`errno == ERANGE`).
    pub overflow: bool,
}

/// glibc `strtoll(s, &end, base)` for bases up to 10: leading blanks and a sign are accepted,
/// no digits means value 0 with `end` at the start (so only an empty input is "complete"),
/// overflow saturates.
pub(crate) fn c_strtoll(s: &[u8], base: u32) -> StrToLl {
    let mut i = 0;
    while i < s.len() && is_c_space(s[i]) {
        i += 1;
    }
    let mut neg = false;
    if let Some(&c) = s.get(i) {
        if c == b'+' || c == b'-' {
            neg = c == b'-';
            i += 1;
        }
    }
    let start = i;
    let mut acc: u64 = 0;
    let mut overflow = false;
    while let Some(&c) = s.get(i) {
        let d = match (c as char).to_digit(base) {
            Some(d) => u64::from(d),
            None => break,
        };
        match acc
            .checked_mul(u64::from(base))
            .and_then(|a| a.checked_add(d))
        {
            Some(a) => acc = a,
            None => overflow = true,
        }
        i += 1;
    }
    if i == start {
        // No digits: the end pointer is the very beginning of the input.
        return StrToLl {
            value: 0,
            complete: s.is_empty(),
            overflow: false,
        };
    }
    let limit = if neg {
        (i64::MAX as u64) + 1
    } else {
        i64::MAX as u64
    };
    if acc > limit {
        overflow = true;
    }
    let value = if overflow {
        if neg {
            i64::MIN
        } else {
            i64::MAX
        }
    } else if neg {
        (acc as i64).wrapping_neg()
    } else {
        acc as i64
    };
    StrToLl {
        value,
        complete: i == s.len(),
        overflow,
    }
}

/// Redis `memtoull`: digits followed by an optional case-insensitive unit
/// (b, k=1000, kb=1024, m, mb, g, gb). Overflow saturates then wraps, as in Redis.
pub(crate) fn memtoull(s: &[u8]) -> Option<u64> {
    if s.first() == Some(&b'-') {
        return None;
    }
    let split = s
        .iter()
        .position(|c| !c.is_ascii_digit())
        .unwrap_or(s.len());
    let (digits, unit) = s.split_at(split);
    let unit = unit.to_ascii_lowercase();
    let mul: u64 = match unit.as_slice() {
        b"" | b"b" => 1,
        b"k" => 1000,
        b"kb" => 1024,
        b"m" => 1000 * 1000,
        b"mb" => 1024 * 1024,
        b"g" => 1000 * 1000 * 1000,
        b"gb" => 1024 * 1024 * 1024,
        _ => return None,
    };
    if digits.len() >= 128 {
        return None;
    }
    // strtoull on a digits-only buffer: empty parses as 0, overflow saturates.
    let mut val: u64 = 0;
    for &d in digits {
        val = val
            .checked_mul(10)
            .and_then(|v| v.checked_add(u64::from(d - b'0')))
            .unwrap_or(u64::MAX);
    }
    Some(val.wrapping_mul(mul))
}

/// Redis `yesnotoi`.
pub(crate) fn yes_no(s: &[u8]) -> Option<bool> {
    if s.eq_ignore_ascii_case(b"yes") {
        Some(true)
    } else if s.eq_ignore_ascii_case(b"no") {
        Some(false)
    } else {
        None
    }
}

/// Redis `string2d`: a full-string `strtod` that rejects leading blanks, NaN and overflow.
pub(crate) fn string2d(s: &[u8]) -> Option<f64> {
    let text = std::str::from_utf8(s).ok()?;
    if text.is_empty() || text.as_bytes().first().is_some_and(|&c| is_c_space(c)) {
        return None;
    }
    let v: f64 = text.parse().ok()?;
    if v.is_nan() {
        return None;
    }
    if v.is_infinite() && !text.to_ascii_lowercase().contains("inf") {
        // strtod reports ERANGE for overflow; Redis rejects it.
        return None;
    }
    Some(v)
}

/// `printf("%f")` followed by Redis `trimDoubleString` (drop trailing zeros and a bare dot).
pub(crate) fn format_double_trimmed(v: f64) -> String {
    let mut s = format!("{v:.6}");
    if s.contains('.') {
        while s.ends_with('0') {
            s.pop();
        }
        if s.ends_with('.') {
            s.pop();
        }
    }
    s
}

/// Redis `sdscatrepr`: a double-quoted, escaped rendering used by CONFIG REWRITE.
pub(crate) fn repr(s: &[u8]) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for &c in s {
        match c {
            b'\\' => out.push_str("\\\\"),
            b'"' => out.push_str("\\\""),
            b'\n' => out.push_str("\\n"),
            b'\r' => out.push_str("\\r"),
            b'\t' => out.push_str("\\t"),
            0x07 => out.push_str("\\a"),
            0x08 => out.push_str("\\b"),
            0x20..=0x7e => out.push(c as char),
            _ => out.push_str(&format!("\\x{c:02x}")),
        }
    }
    out.push('"');
    out
}

/// Redis `rewriteConfigFormatMemory`: the largest exact unit among gb/mb/kb.
pub(crate) fn format_memory(bytes: i64) -> String {
    const GB: i64 = 1024 * 1024 * 1024;
    const MB: i64 = 1024 * 1024;
    const KB: i64 = 1024;
    if bytes != 0 && bytes % GB == 0 {
        format!("{}gb", bytes / GB)
    } else if bytes != 0 && bytes % MB == 0 {
        format!("{}mb", bytes / MB)
    } else if bytes != 0 && bytes % KB == 0 {
        format!("{}kb", bytes / KB)
    } else {
        bytes.to_string()
    }
}

/// The C `strerror` text of an I/O error, without Rust's " (os error N)" suffix.
pub(crate) fn strerror(e: &io::Error) -> String {
    match e.raw_os_error() {
        Some(code) => {
            let full = io::Error::from_raw_os_error(code).to_string();
            match full.rfind(" (os error ") {
                Some(pos) => full[..pos].to_string(),
                None => full,
            }
        }
        None => e.to_string(),
    }
}

/// Lossy conversion of an argument for storage in a `String` config value.
pub(crate) fn lossy(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}
