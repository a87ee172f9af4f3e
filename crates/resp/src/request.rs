//! Server-side request parsing, rule for rule as Redis 7.0's
//! `processInlineBuffer` / `processMultibulkBuffer` (src/networking.c).
//!
//! Hot path: every command goes through [`RequestParser::parse`]. A multibulk
//! request costs one allocation (its `Vec`); arguments are zero-copy
//! [`Bytes`] split off the connection's read buffer. A partially received
//! request keeps its progress in the parser, so a huge bulk argument arriving
//! in many reads is checked in O(1) per read instead of being re-parsed.
//!
//! Quirks kept on purpose because Redis has them (clients and the Tcl suite
//! depend on the resulting errors):
//! - lines are searched like C's `strchr` on the query buffer, so a NUL byte
//!   before the line end hides it: the request then waits for more input until
//!   the 64 KiB line limit turns it into a "too big" error;
//! - the two bytes after a length line's `\r` and after a bulk payload are
//!   skipped without checking that they are `\r\n`;
//! - inline requests end at `\n`; a `\r` just before it is dropped.

use bytes::{Buf, Bytes, BytesMut};

/// Longest line without a terminator before the request is refused
/// (Redis's `PROTO_INLINE_MAX_SIZE`).
pub const PROTO_INLINE_MAX_SIZE: usize = 64 * 1024;
/// Bulk arguments at least this large get room reserved for their whole
/// payload up front (Redis's `PROTO_MBULK_BIG_ARG`).
pub const PROTO_MBULK_BIG_ARG: usize = 32 * 1024;
/// Default `proto-max-bulk-len`.
pub const DEFAULT_PROTO_MAX_BULK_LEN: u64 = 512 * 1024 * 1024;
/// Largest multibulk count an unauthenticated client may send.
const UNAUTH_MAX_MULTIBULK: i64 = 10;
/// Largest bulk length an unauthenticated client may send.
const UNAUTH_MAX_BULK: i64 = 16384;
/// Largest multibulk count at all (Redis compares with `INT_MAX`).
const MAX_MULTIBULK: i64 = i32::MAX as i64;
/// Redis preallocates argv for at most this many arguments, whatever the
/// client claims, and grows it as arguments actually arrive.
const ARGV_PREALLOC: usize = 1024;
/// Most we reserve on a client's word for one big argument. Redis reserves
/// whatever the length line says, but a master link has no bulk limit and a
/// claimed length near `i64::MAX` must not turn into a failed (aborting)
/// allocation; past this the buffer just grows as data arrives.
const MAX_RESERVE_HINT: usize = DEFAULT_PROTO_MAX_BULK_LEN as usize + 2;

/// Per-connection limits, read on every call so they may change between
/// commands (e.g. after AUTH or CONFIG SET).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// `proto-max-bulk-len` (default 512 MB). A master link passes `u64::MAX`
    /// since Redis does not apply this limit to its master.
    pub proto_max_bulk_len: u64,
    /// False while the connection still has to AUTH (Redis's
    /// `authRequired()`), which caps multibulk counts at 10 and bulks at 16 KiB.
    pub authenticated: bool,
}

impl Default for Limits {
    /// Redis's defaults: 512 MB bulks, no password required.
    fn default() -> Self {
        Limits {
            proto_max_bulk_len: DEFAULT_PROTO_MAX_BULK_LEN,
            authenticated: true,
        }
    }
}

/// A malformed request. Redis replies with [`ProtocolError::redis_message`]
/// and closes the connection; the parser must not be used again afterwards.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum ProtocolError {
    #[error("Protocol error: invalid multibulk length")]
    InvalidMultibulkLength,
    #[error("Protocol error: invalid bulk length")]
    InvalidBulkLength,
    #[error("Protocol error: expected '$', got {got:?}")]
    ExpectedDollar { got: u8 },
    #[error("Protocol error: unbalanced quotes in request")]
    UnbalancedQuotes,
    #[error("Protocol error: too big inline request")]
    TooBigInlineRequest,
    #[error("Protocol error: too big mbulk count string")]
    TooBigMultibulkCount,
    #[error("Protocol error: too big bulk count string")]
    TooBigBulkCount,
    #[error("Protocol error: unauthenticated multibulk length")]
    UnauthenticatedMultibulkLength,
    #[error("Protocol error: unauthenticated bulk length")]
    UnauthenticatedBulkLength,
}

impl ProtocolError {
    /// Redis's exact error line, without the leading `-`, e.g.
    /// `ERR Protocol error: invalid bulk length`. For
    /// [`ProtocolError::ExpectedDollar`] with a byte that is not ASCII the
    /// byte is shown lossily; use [`ProtocolError::redis_message_bytes`] to
    /// send exactly what Redis sends.
    pub fn redis_message(&self) -> String {
        String::from_utf8_lossy(&self.redis_message_bytes()).into_owned()
    }

    /// Redis's exact error line as bytes (Redis prints the offending byte
    /// raw, with `\r`/`\n` turned into spaces).
    pub fn redis_message_bytes(&self) -> Vec<u8> {
        let tail: &[u8] = match self {
            ProtocolError::InvalidMultibulkLength => b"invalid multibulk length",
            ProtocolError::InvalidBulkLength => b"invalid bulk length",
            ProtocolError::ExpectedDollar { got } => {
                let got = match *got {
                    b'\r' | b'\n' => b' ',
                    b => b,
                };
                let mut m = b"ERR Protocol error: expected '$', got '".to_vec();
                m.push(got);
                m.push(b'\'');
                return m;
            }
            ProtocolError::UnbalancedQuotes => b"unbalanced quotes in request",
            ProtocolError::TooBigInlineRequest => b"too big inline request",
            ProtocolError::TooBigMultibulkCount => b"too big mbulk count string",
            ProtocolError::TooBigBulkCount => b"too big bulk count string",
            ProtocolError::UnauthenticatedMultibulkLength => b"unauthenticated multibulk length",
            ProtocolError::UnauthenticatedBulkLength => b"unauthenticated bulk length",
        };
        let mut m = b"ERR Protocol error: ".to_vec();
        m.extend_from_slice(tail);
        m
    }

    /// The short reason Redis writes to its log for this error
    /// (`Protocol error (<reason>) from client: ...`).
    pub fn log_reason(&self) -> &'static str {
        match self {
            ProtocolError::InvalidMultibulkLength => "invalid mbulk count",
            ProtocolError::InvalidBulkLength => "invalid bulk length",
            ProtocolError::ExpectedDollar { .. } => "expected $ but got something else",
            ProtocolError::UnbalancedQuotes => "unbalanced quotes in inline request",
            ProtocolError::TooBigInlineRequest => "too big inline request",
            ProtocolError::TooBigMultibulkCount => "too big mbulk count string",
            ProtocolError::TooBigBulkCount => "too big bulk count string",
            ProtocolError::UnauthenticatedMultibulkLength => "unauth mbulk count",
            ProtocolError::UnauthenticatedBulkLength => "unauth bulk length",
        }
    }
}

/// A multibulk request whose header has been read.
#[derive(Debug)]
struct Multibulk {
    /// Arguments still to read.
    remaining: usize,
    /// Length of the bulk being read, once its `$<len>` line has been seen.
    bulk_len: Option<usize>,
    args: Vec<Bytes>,
}

/// Incremental parser of client requests (multibulk and inline).
#[derive(Debug, Default)]
pub struct RequestParser {
    pending: Option<Multibulk>,
}

enum Header {
    NeedMore,
    /// `*0`, `*-1` or any count <= 0: Redis skips it.
    Empty,
    Start(usize),
}

impl RequestParser {
    pub fn new() -> Self {
        RequestParser { pending: None }
    }

    /// True while a multibulk request has been partly read (its bytes have
    /// already been removed from the buffer).
    pub fn in_progress(&self) -> bool {
        self.pending.is_some()
    }

    /// Parse the next complete command from the front of `buf`, removing its
    /// bytes. `Ok(None)` means more input is needed; bytes of a partially read
    /// multibulk request may already have been consumed into the parser.
    ///
    /// Requests with no arguments — an empty or all-blank inline line, `*0`,
    /// `*-1` — are skipped, as Redis does, so a returned `Vec` is never empty.
    ///
    /// After an error the connection must be closed (Redis replies with
    /// [`ProtocolError::redis_message`] first); the parser is reset.
    pub fn parse(
        &mut self,
        buf: &mut BytesMut,
        limits: &Limits,
    ) -> Result<Option<Vec<Bytes>>, ProtocolError> {
        let result = self.parse_inner(buf, limits);
        if result.is_err() {
            self.pending = None;
        }
        result
    }

    fn parse_inner(
        &mut self,
        buf: &mut BytesMut,
        limits: &Limits,
    ) -> Result<Option<Vec<Bytes>>, ProtocolError> {
        loop {
            if let Some(mb) = self.pending.as_mut() {
                if !read_bulks(mb, buf, limits)? {
                    return Ok(None);
                }
                return Ok(self.pending.take().map(|mb| mb.args));
            }
            let Some(&first) = buf.first() else {
                return Ok(None);
            };
            if first == b'*' {
                match read_multibulk_header(buf, limits)? {
                    Header::NeedMore => return Ok(None),
                    Header::Empty => continue,
                    Header::Start(n) => {
                        self.pending = Some(Multibulk {
                            remaining: n,
                            bulk_len: None,
                            args: Vec::with_capacity(n.min(ARGV_PREALLOC)),
                        });
                    }
                }
            } else {
                match read_inline(buf)? {
                    None => return Ok(None),
                    Some(args) if args.is_empty() => continue,
                    Some(args) => return Ok(Some(args)),
                }
            }
        }
    }
}

/// Position of the first `target` byte, searching like C's `strchr` on a
/// NUL-terminated buffer: a NUL byte first means "not found".
#[inline]
fn find_c(buf: &[u8], target: u8) -> Option<usize> {
    let pos = buf.iter().position(|&b| b == target || b == 0)?;
    (buf[pos] == target).then_some(pos)
}

/// Redis's `string2ll`: optional `-`, no `+`, no leading zeros, no blanks,
/// must fit an i64.
#[inline]
fn string2ll(s: &[u8]) -> Option<i64> {
    let (neg, digits) = match s {
        [b'0'] => return Some(0),
        [b'-', rest @ ..] => (true, rest),
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
    if neg {
        // -(i64::MIN) is one past i64::MAX.
        if v > i64::MAX as u64 + 1 {
            None
        } else {
            Some((v as i64).wrapping_neg())
        }
    } else {
        i64::try_from(v).ok()
    }
}

/// The `*<count>\r\n` line (`buf[0]` is `*`).
fn read_multibulk_header(buf: &mut BytesMut, limits: &Limits) -> Result<Header, ProtocolError> {
    let Some(cr) = find_c(buf, b'\r') else {
        if buf.len() > PROTO_INLINE_MAX_SIZE {
            return Err(ProtocolError::TooBigMultibulkCount);
        }
        return Ok(Header::NeedMore);
    };
    // The byte after `\r` must have arrived too (it is not checked).
    if cr + 2 > buf.len() {
        return Ok(Header::NeedMore);
    }
    let count = match string2ll(&buf[1..cr]) {
        Some(n) if n <= MAX_MULTIBULK => n,
        _ => return Err(ProtocolError::InvalidMultibulkLength),
    };
    if count > UNAUTH_MAX_MULTIBULK && !limits.authenticated {
        return Err(ProtocolError::UnauthenticatedMultibulkLength);
    }
    buf.advance(cr + 2);
    // `count` is at most i32::MAX here, so it fits a usize on every target
    // Rust supports with 32-bit or wider pointers.
    match usize::try_from(count) {
        Ok(n) if n > 0 => Ok(Header::Start(n)),
        _ => Ok(Header::Empty),
    }
}

/// Read as many `$<len>\r\n<payload>\r\n` arguments as `buf` holds; true when
/// the request is complete.
fn read_bulks(
    mb: &mut Multibulk,
    buf: &mut BytesMut,
    limits: &Limits,
) -> Result<bool, ProtocolError> {
    while mb.remaining > 0 {
        let len = match mb.bulk_len {
            Some(len) => len,
            None => {
                let Some(cr) = find_c(buf, b'\r') else {
                    if buf.len() > PROTO_INLINE_MAX_SIZE {
                        return Err(ProtocolError::TooBigBulkCount);
                    }
                    return Ok(false);
                };
                if cr + 2 > buf.len() {
                    return Ok(false);
                }
                if buf[0] != b'$' {
                    return Err(ProtocolError::ExpectedDollar { got: buf[0] });
                }
                let len = match string2ll(&buf[1..cr]) {
                    Some(n) if n >= 0 && n as u64 <= limits.proto_max_bulk_len => n,
                    _ => return Err(ProtocolError::InvalidBulkLength),
                };
                if len > UNAUTH_MAX_BULK && !limits.authenticated {
                    return Err(ProtocolError::UnauthenticatedBulkLength);
                }
                let len = usize::try_from(len).map_err(|_| ProtocolError::InvalidBulkLength)?;
                buf.advance(cr + 2);
                let needed = len.checked_add(2).ok_or(ProtocolError::InvalidBulkLength)?;
                if len >= PROTO_MBULK_BIG_ARG && buf.len() < needed {
                    // Like Redis's sdsMakeRoomForNonGreedy: make the whole
                    // payload land in one buffer so it can be split off
                    // without copying, instead of growing by doubling.
                    buf.reserve(needed.min(MAX_RESERVE_HINT).saturating_sub(buf.len()));
                }
                mb.bulk_len = Some(len);
                len
            }
        };
        if buf.len() < len.saturating_add(2) {
            return Ok(false);
        }
        let arg = buf.split_to(len).freeze();
        buf.advance(2);
        mb.args.push(arg);
        mb.bulk_len = None;
        mb.remaining -= 1;
    }
    Ok(true)
}

/// One inline request line; `Some(empty)` for a blank line.
fn read_inline(buf: &mut BytesMut) -> Result<Option<Vec<Bytes>>, ProtocolError> {
    let Some(nl) = find_c(buf, b'\n') else {
        if buf.len() > PROTO_INLINE_MAX_SIZE {
            return Err(ProtocolError::TooBigInlineRequest);
        }
        return Ok(None);
    };
    let line_len = if nl > 0 && buf[nl - 1] == b'\r' {
        nl - 1
    } else {
        nl
    };
    let args = split_args(&buf[..line_len]).ok_or(ProtocolError::UnbalancedQuotes)?;
    buf.advance(nl + 1);
    Ok(Some(args.into_iter().map(Bytes::from).collect()))
}

/// C's `isspace` in the "C" locale.
#[inline]
fn is_c_space(b: u8) -> bool {
    matches!(b, b' ' | b'\t' | b'\n' | 0x0b | 0x0c | b'\r')
}

#[inline]
fn hex_val(b: u8) -> Option<u8> {
    match b {
        b'0'..=b'9' => Some(b - b'0'),
        b'a'..=b'f' => Some(b - b'a' + 10),
        b'A'..=b'F' => Some(b - b'A' + 10),
        _ => None,
    }
}

/// Split a line into arguments with Redis's `sdssplitargs` rules (inline
/// requests, redis.conf lines, redis-cli input):
///
/// - arguments are separated by blanks (`isspace`);
/// - `"double quotes"` understand `\n \r \t \b \a`, `\xHH` and `\<any>`;
/// - `'single quotes'` understand only `\'`;
/// - a quote may open in the middle of an argument (`a"b c"` is `ab c`), but a
///   closing quote must be followed by a blank or the end of the line;
/// - a NUL byte ends the line, as it would in C.
///
/// Returns `None` for unbalanced quotes or text right after a closing quote.
pub fn split_args(line: &[u8]) -> Option<Vec<Vec<u8>>> {
    let end = line.iter().position(|&b| b == 0).unwrap_or(line.len());
    let line = &line[..end];
    // Reads past the end see the C string terminator.
    let at = |i: usize| -> u8 { line.get(i).copied().unwrap_or(0) };
    let mut args = Vec::new();
    let mut p = 0;
    loop {
        while at(p) != 0 && is_c_space(at(p)) {
            p += 1;
        }
        if at(p) == 0 {
            return Some(args);
        }
        let mut cur = Vec::new();
        let mut in_dq = false;
        let mut in_sq = false;
        loop {
            let c = at(p);
            if in_dq {
                if c == b'\\' && at(p + 1) == b'x' {
                    if let (Some(hi), Some(lo)) = (hex_val(at(p + 2)), hex_val(at(p + 3))) {
                        cur.push(hi * 16 + lo);
                        p += 4;
                        continue;
                    }
                }
                if c == b'\\' && at(p + 1) != 0 {
                    p += 1;
                    cur.push(match at(p) {
                        b'n' => b'\n',
                        b'r' => b'\r',
                        b't' => b'\t',
                        b'b' => 0x08,
                        b'a' => 0x07,
                        other => other,
                    });
                } else if c == b'"' {
                    if at(p + 1) != 0 && !is_c_space(at(p + 1)) {
                        return None;
                    }
                    p += 1;
                    break;
                } else if c == 0 {
                    return None;
                } else {
                    cur.push(c);
                }
            } else if in_sq {
                if c == b'\\' && at(p + 1) == b'\'' {
                    p += 1;
                    cur.push(b'\'');
                } else if c == b'\'' {
                    if at(p + 1) != 0 && !is_c_space(at(p + 1)) {
                        return None;
                    }
                    p += 1;
                    break;
                } else if c == 0 {
                    return None;
                } else {
                    cur.push(c);
                }
            } else {
                match c {
                    b' ' | b'\n' | b'\r' | b'\t' => {
                        p += 1;
                        break;
                    }
                    0 => break,
                    b'"' => in_dq = true,
                    b'\'' => in_sq = true,
                    _ => cur.push(c),
                }
            }
            p += 1;
        }
        args.push(cur);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn string2ll_matches_redis() {
        assert_eq!(string2ll(b"0"), Some(0));
        assert_eq!(string2ll(b"-1"), Some(-1));
        assert_eq!(string2ll(b"9223372036854775807"), Some(i64::MAX));
        assert_eq!(string2ll(b"-9223372036854775808"), Some(i64::MIN));
        for bad in [
            &b""[..],
            b"-",
            b"+1",
            b"01",
            b"-0",
            b" 1",
            b"1 ",
            b"9223372036854775808",
            b"1a",
        ] {
            assert_eq!(string2ll(bad), None, "{:?}", String::from_utf8_lossy(bad));
        }
    }

    #[test]
    fn find_c_stops_at_nul() {
        assert_eq!(find_c(b"ab\rc", b'\r'), Some(2));
        assert_eq!(find_c(b"a\0\r", b'\r'), None);
        assert_eq!(find_c(b"abc", b'\r'), None);
    }
}
