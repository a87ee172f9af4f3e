//! RESP2/RESP3 frames and their incremental decoder.
//!
//! [`decode_frame`] is for the client side of a connection (tests, clients,
//! a replica reading its master's replies); the server reads requests with
//! [`crate::request::RequestParser`] instead.
//!
//! The decoder uses nom's streaming parsers for each element header and leaf
//! and keeps aggregates on an explicit stack rather than recursing, so deeply
//! nested input cannot exhaust the thread's stack. Nesting is capped at
//! [`MAX_DEPTH`] anyway, because a decoded frame is dropped recursively.
//!
//! Decoding is two passes: a scan that only validates and measures (no
//! allocation besides the depth stack), then a build over input known to be
//! complete. A frame that arrives in many small reads is thus re-scanned, not
//! rebuilt, on every attempt.

use bytes::Bytes;
use nom::bytes::streaming::{tag, take, take_till};
use nom::error::{ErrorKind, ParseError};
use nom::number::streaming::u8 as byte;
use nom::IResult;

/// Maximum nesting of aggregates accepted by [`decode_frame`].
pub const MAX_DEPTH: usize = 1000;

/// One RESP value, any protocol version.
#[derive(Debug, Clone, PartialEq)]
pub enum Frame {
    /// `+OK`
    Simple(Bytes),
    /// `-ERR ...` (the line without the `-`). RESP3 blob errors (`!`) decode
    /// to this variant too.
    Error(Bytes),
    /// `:42`
    Integer(i64),
    /// `$5\r\nhello`
    Bulk(Bytes),
    /// RESP2 `$-1`
    NullBulk,
    /// RESP2 `*-1`
    NullArray,
    /// RESP3 `_`
    Null,
    /// `*N`
    Array(Vec<Frame>),
    /// RESP3 `#t` / `#f`
    Boolean(bool),
    /// RESP3 `,1.5`
    Double(f64),
    /// RESP3 `(12345678901234567890`
    BigNumber(Bytes),
    /// RESP3 `=N\r\ntxt:data`
    Verbatim { format: [u8; 3], data: Bytes },
    /// RESP3 `%N`
    Map(Vec<(Frame, Frame)>),
    /// RESP3 `~N`
    Set(Vec<Frame>),
    /// RESP3 `|N` followed by the frame the attributes describe.
    Attribute {
        attrs: Vec<(Frame, Frame)>,
        data: Box<Frame>,
    },
    /// RESP3 `>N`
    Push(Vec<Frame>),
}

/// Malformed input for [`decode_frame`]. Incomplete input is not an error.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FrameError {
    #[error("unknown RESP type byte 0x{0:02x}")]
    InvalidType(u8),
    #[error("expected CRLF")]
    ExpectedCrlf,
    #[error("invalid integer")]
    InvalidInteger,
    #[error("invalid length")]
    InvalidLength,
    #[error("invalid double")]
    InvalidDouble,
    #[error("invalid boolean")]
    InvalidBoolean,
    #[error("invalid verbatim string")]
    InvalidVerbatim,
    #[error("aggregates nested deeper than {limit}")]
    TooDeep { limit: usize },
    #[error("streamed RESP3 strings and aggregates are not supported")]
    Streamed,
}

impl<'a> ParseError<&'a [u8]> for FrameError {
    // The only nom combinator that can fail (rather than ask for more input)
    // here is the CRLF tag.
    fn from_error_kind(_input: &'a [u8], _kind: ErrorKind) -> Self {
        FrameError::ExpectedCrlf
    }
    fn append(_input: &'a [u8], _kind: ErrorKind, other: Self) -> Self {
        other
    }
}

type PResult<'a, T> = IResult<&'a [u8], T, FrameError>;

fn fail<T>(e: FrameError) -> Result<T, nom::Err<FrameError>> {
    Err(nom::Err::Failure(e))
}

#[derive(Debug, Clone, Copy)]
enum AggKind {
    Array,
    Map,
    Set,
    Push,
    Attribute,
}

/// One element header, with leaves already sliced out of the input.
enum Item<'a> {
    Simple(&'a [u8]),
    Error(&'a [u8]),
    Integer(i64),
    Bulk(&'a [u8]),
    NullBulk,
    NullArray,
    Null,
    Boolean(bool),
    Double(f64),
    BigNumber(&'a [u8]),
    Verbatim([u8; 3], &'a [u8]),
    /// An aggregate and how many child frames follow it (a map of N pairs
    /// has 2N children, an attribute 2N + 1: the pairs and its data).
    Aggregate(AggKind, usize),
}

fn crlf(i: &[u8]) -> PResult<'_, ()> {
    match tag::<_, _, FrameError>(&b"\r\n"[..])(i) {
        Ok((rest, _)) => Ok((rest, ())),
        Err(nom::Err::Incomplete(n)) => Err(nom::Err::Incomplete(n)),
        Err(_) => fail(FrameError::ExpectedCrlf),
    }
}

/// A line up to CRLF; a bare `\r` or `\n` inside is malformed.
fn line(i: &[u8]) -> PResult<'_, &[u8]> {
    let (i, text) = take_till(|b| b == b'\r' || b == b'\n')(i)?;
    let (i, ()) = crlf(i)?;
    Ok((i, text))
}

fn parse_i64(text: &[u8]) -> Option<i64> {
    std::str::from_utf8(text).ok()?.parse().ok()
}

/// A length line: `-1` means null, other negatives are malformed.
fn length(i: &[u8]) -> PResult<'_, Option<usize>> {
    let (i, text) = line(i)?;
    if text == b"?" {
        return fail(FrameError::Streamed);
    }
    match parse_i64(text) {
        Some(-1) => Ok((i, None)),
        Some(n) => match usize::try_from(n) {
            Ok(n) => Ok((i, Some(n))),
            Err(_) => fail(FrameError::InvalidLength),
        },
        None => fail(FrameError::InvalidLength),
    }
}

/// `<len>\r\n<data>\r\n` after the type byte.
fn blob(i: &[u8]) -> PResult<'_, Option<&[u8]>> {
    let (i, len) = length(i)?;
    let Some(len) = len else {
        return Ok((i, None));
    };
    // Ask for the whole payload at once so an incomplete huge bulk costs
    // nothing to re-check.
    if i.len() < len.saturating_add(2) {
        return Err(nom::Err::Incomplete(nom::Needed::Unknown));
    }
    let (i, data) = take(len)(i)?;
    let (i, ()) = crlf(i)?;
    Ok((i, Some(data)))
}

fn aggregate(i: &[u8], kind: AggKind) -> PResult<'_, Item<'_>> {
    let (i, len) = length(i)?;
    let Some(len) = len else {
        return match kind {
            AggKind::Array => Ok((i, Item::NullArray)),
            _ => fail(FrameError::InvalidLength),
        };
    };
    let children = match kind {
        AggKind::Map => len.checked_mul(2),
        AggKind::Attribute => len.checked_mul(2).and_then(|n| n.checked_add(1)),
        _ => Some(len),
    };
    let Some(children) = children else {
        return fail(FrameError::InvalidLength);
    };
    Ok((i, Item::Aggregate(kind, children)))
}

fn item(i: &[u8]) -> PResult<'_, Item<'_>> {
    let (i, ty) = byte(i)?;
    match ty {
        b'+' => line(i).map(|(i, s)| (i, Item::Simple(s))),
        b'-' => line(i).map(|(i, s)| (i, Item::Error(s))),
        b':' => {
            let (i, text) = line(i)?;
            match parse_i64(text) {
                Some(n) => Ok((i, Item::Integer(n))),
                None => fail(FrameError::InvalidInteger),
            }
        }
        b'$' => blob(i).map(|(i, b)| (i, b.map_or(Item::NullBulk, Item::Bulk))),
        b'!' => match blob(i)? {
            (i, Some(b)) => Ok((i, Item::Error(b))),
            (_, None) => fail(FrameError::InvalidLength),
        },
        b'=' => match blob(i)? {
            (i, Some(b)) => match b {
                [f0, f1, f2, b':', data @ ..] => Ok((i, Item::Verbatim([*f0, *f1, *f2], data))),
                _ => fail(FrameError::InvalidVerbatim),
            },
            (_, None) => fail(FrameError::InvalidVerbatim),
        },
        b'(' => line(i).map(|(i, s)| (i, Item::BigNumber(s))),
        b'_' => crlf(i).map(|(i, ())| (i, Item::Null)),
        b'#' => {
            let (i, text) = line(i)?;
            match text {
                b"t" => Ok((i, Item::Boolean(true))),
                b"f" => Ok((i, Item::Boolean(false))),
                _ => fail(FrameError::InvalidBoolean),
            }
        }
        b',' => {
            let (i, text) = line(i)?;
            match std::str::from_utf8(text).ok().and_then(|s| s.parse().ok()) {
                Some(d) => Ok((i, Item::Double(d))),
                None => fail(FrameError::InvalidDouble),
            }
        }
        b'*' => aggregate(i, AggKind::Array),
        b'%' => aggregate(i, AggKind::Map),
        b'~' => aggregate(i, AggKind::Set),
        b'>' => aggregate(i, AggKind::Push),
        b'|' => aggregate(i, AggKind::Attribute),
        b';' => fail(FrameError::Streamed),
        other => fail(FrameError::InvalidType(other)),
    }
}

/// Decode one frame from the front of `buf`.
///
/// Returns `Ok(None)` when `buf` holds only a prefix of a frame (call again
/// with more input), `Ok(Some((frame, consumed)))` when a whole frame was
/// read, and an error for input that can never become a valid frame.
/// Leaves are copied out of `buf`.
pub fn decode_frame(buf: &[u8]) -> Result<Option<(Frame, usize)>, FrameError> {
    let Some(len) = scan(buf)? else {
        return Ok(None);
    };
    let frame = build(&buf[..len])?;
    Ok(Some((frame, len)))
}

fn next_item(i: &[u8]) -> Result<Option<(&[u8], Item<'_>)>, FrameError> {
    match item(i) {
        Ok(ok) => Ok(Some(ok)),
        Err(nom::Err::Incomplete(_)) => Ok(None),
        Err(nom::Err::Error(e) | nom::Err::Failure(e)) => Err(e),
    }
}

/// Validate one frame and return its length, without building it.
fn scan(buf: &[u8]) -> Result<Option<usize>, FrameError> {
    // Children still expected by each open aggregate.
    let mut open: Vec<usize> = Vec::new();
    let mut rest = buf;
    loop {
        let Some((r, it)) = next_item(rest)? else {
            return Ok(None);
        };
        rest = r;
        if let Item::Aggregate(_, n) = it {
            if n > 0 {
                if open.len() >= MAX_DEPTH {
                    return Err(FrameError::TooDeep { limit: MAX_DEPTH });
                }
                // Every child takes at least three bytes (`_\r\n`): bail out
                // early on a large aggregate that cannot be complete yet.
                if rest.len() / 3 < n {
                    return Ok(None);
                }
                open.push(n);
                continue;
            }
        }
        // One value finished: close every aggregate it completes.
        loop {
            match open.last_mut() {
                None => return Ok(Some(buf.len() - rest.len())),
                Some(left) => {
                    *left -= 1;
                    if *left > 0 {
                        break;
                    }
                    open.pop();
                }
            }
        }
    }
}

struct Open {
    kind: AggKind,
    left: usize,
    items: Vec<Frame>,
}

fn close(kind: AggKind, items: Vec<Frame>) -> Frame {
    fn pairs(it: &mut impl Iterator<Item = Frame>, n: usize) -> Vec<(Frame, Frame)> {
        let mut out = Vec::with_capacity(n);
        while let (Some(k), Some(v)) = (it.next(), it.next()) {
            out.push((k, v));
        }
        out
    }
    match kind {
        AggKind::Array => Frame::Array(items),
        AggKind::Set => Frame::Set(items),
        AggKind::Push => Frame::Push(items),
        AggKind::Map => {
            let n = items.len() / 2;
            Frame::Map(pairs(&mut items.into_iter(), n))
        }
        AggKind::Attribute => {
            let n = items.len() / 2;
            let mut it = items.into_iter();
            let attrs = pairs(&mut it.by_ref().take(n * 2), n);
            let data = it.next().unwrap_or(Frame::Null);
            Frame::Attribute {
                attrs,
                data: Box::new(data),
            }
        }
    }
}

/// Build the frame `scan` measured; `buf` is exactly one complete frame.
fn build(buf: &[u8]) -> Result<Frame, FrameError> {
    let mut open: Vec<Open> = Vec::new();
    let mut rest = buf;
    loop {
        // `scan` accepted this input, so running out here would be a bug in
        // one of the two passes; report it rather than panic.
        let Some((r, it)) = next_item(rest)? else {
            return Err(FrameError::InvalidLength);
        };
        rest = r;
        let mut value = match it {
            Item::Simple(s) => Frame::Simple(Bytes::copy_from_slice(s)),
            Item::Error(s) => Frame::Error(Bytes::copy_from_slice(s)),
            Item::Integer(n) => Frame::Integer(n),
            Item::Bulk(b) => Frame::Bulk(Bytes::copy_from_slice(b)),
            Item::NullBulk => Frame::NullBulk,
            Item::NullArray => Frame::NullArray,
            Item::Null => Frame::Null,
            Item::Boolean(b) => Frame::Boolean(b),
            Item::Double(d) => Frame::Double(d),
            Item::BigNumber(b) => Frame::BigNumber(Bytes::copy_from_slice(b)),
            Item::Verbatim(format, data) => Frame::Verbatim {
                format,
                data: Bytes::copy_from_slice(data),
            },
            Item::Aggregate(kind, 0) => close(kind, Vec::new()),
            Item::Aggregate(kind, n) => {
                open.push(Open {
                    kind,
                    left: n,
                    // Never trust a claimed count beyond what the input holds.
                    items: Vec::with_capacity(n.min(rest.len() / 3)),
                });
                continue;
            }
        };
        loop {
            match open.last_mut() {
                None => return Ok(value),
                Some(top) => {
                    top.items.push(value);
                    top.left -= 1;
                    if top.left > 0 {
                        break;
                    }
                    match open.pop() {
                        Some(done) => value = close(done.kind, done.items),
                        None => return Err(FrameError::InvalidLength),
                    }
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dec(s: &[u8]) -> Result<Option<(Frame, usize)>, FrameError> {
        decode_frame(s)
    }

    fn b(s: &str) -> Bytes {
        Bytes::copy_from_slice(s.as_bytes())
    }

    #[test]
    fn leaves() {
        assert_eq!(dec(b"+OK\r\n"), Ok(Some((Frame::Simple(b("OK")), 5))));
        assert_eq!(dec(b"-ERR x\r\n"), Ok(Some((Frame::Error(b("ERR x")), 8))));
        assert_eq!(dec(b":-7\r\n"), Ok(Some((Frame::Integer(-7), 5))));
        assert_eq!(dec(b"$3\r\nfoo\r\n"), Ok(Some((Frame::Bulk(b("foo")), 9))));
        assert_eq!(dec(b"$-1\r\n"), Ok(Some((Frame::NullBulk, 5))));
        assert_eq!(dec(b"*-1\r\n"), Ok(Some((Frame::NullArray, 5))));
        assert_eq!(dec(b"_\r\n"), Ok(Some((Frame::Null, 3))));
        assert_eq!(dec(b"#t\r\n"), Ok(Some((Frame::Boolean(true), 4))));
        assert_eq!(
            dec(b",-inf\r\n"),
            Ok(Some((Frame::Double(f64::NEG_INFINITY), 7)))
        );
        assert_eq!(dec(b"(123\r\n"), Ok(Some((Frame::BigNumber(b("123")), 6))));
        assert_eq!(dec(b"!3\r\nERR\r\n"), Ok(Some((Frame::Error(b("ERR")), 9))));
        assert_eq!(
            dec(b"=6\r\ntxt:hi\r\n"),
            Ok(Some((
                Frame::Verbatim {
                    format: *b"txt",
                    data: b("hi")
                },
                12
            )))
        );
    }

    #[test]
    fn aggregates() {
        let (f, n) = dec(b"|1\r\n+a\r\n:1\r\n%1\r\n+k\r\n~1\r\n#f\r\nrest")
            .unwrap()
            .unwrap();
        assert_eq!(n, 28);
        assert_eq!(
            f,
            Frame::Attribute {
                attrs: vec![(Frame::Simple(b("a")), Frame::Integer(1))],
                data: Box::new(Frame::Map(vec![(
                    Frame::Simple(b("k")),
                    Frame::Set(vec![Frame::Boolean(false)])
                )]))
            }
        );
        assert_eq!(dec(b"*0\r\n"), Ok(Some((Frame::Array(vec![]), 4))));
        assert_eq!(dec(b">0\r\n"), Ok(Some((Frame::Push(vec![]), 4))));
    }

    #[test]
    fn incomplete() {
        for s in [
            &b""[..],
            b"+OK",
            b"+OK\r",
            b"$3\r\nfo",
            b"$3\r\nfoo\r",
            b"*2\r\n:1\r\n",
            b"*2000000000\r\n",
        ] {
            assert_eq!(dec(s), Ok(None), "{:?}", String::from_utf8_lossy(s));
        }
    }

    #[test]
    fn malformed() {
        assert_eq!(dec(b"x\r\n"), Err(FrameError::InvalidType(b'x')));
        assert_eq!(dec(b"+O\nK\r\n"), Err(FrameError::ExpectedCrlf));
        assert_eq!(dec(b"$3\r\nfooXY"), Err(FrameError::ExpectedCrlf));
        assert_eq!(dec(b"$-2\r\n"), Err(FrameError::InvalidLength));
        assert_eq!(dec(b"%-1\r\n"), Err(FrameError::InvalidLength));
        assert_eq!(dec(b":1x\r\n"), Err(FrameError::InvalidInteger));
        assert_eq!(dec(b"#x\r\n"), Err(FrameError::InvalidBoolean));
        assert_eq!(dec(b",abc\r\n"), Err(FrameError::InvalidDouble));
        assert_eq!(dec(b"=2\r\nab\r\n"), Err(FrameError::InvalidVerbatim));
        assert_eq!(dec(b"$?\r\n"), Err(FrameError::Streamed));
    }

    #[test]
    fn depth_is_capped_without_recursion() {
        let deep = b"*1\r\n".repeat(MAX_DEPTH + 1);
        assert_eq!(dec(&deep), Err(FrameError::TooDeep { limit: MAX_DEPTH }));
        let huge = b"*1\r\n".repeat(1_000_000);
        assert_eq!(dec(&huge), Err(FrameError::TooDeep { limit: MAX_DEPTH }));

        let mut ok = b"*1\r\n".repeat(MAX_DEPTH);
        ok.extend_from_slice(b":1\r\n");
        let (mut f, n) = dec(&ok).unwrap().unwrap();
        assert_eq!(n, ok.len());
        let mut depth = 0;
        while let Frame::Array(mut v) = f {
            depth += 1;
            f = v.pop().unwrap();
        }
        assert_eq!(depth, MAX_DEPTH);
        assert_eq!(f, Frame::Integer(1));
    }
}
