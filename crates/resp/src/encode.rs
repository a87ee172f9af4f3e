//! Reply encoding: RESP2/RESP3 written straight into a [`BytesMut`].
//!
//! Hot path: every reply the server sends goes through these functions, so
//! integers and lengths are formatted with `itoa` into a stack buffer and each
//! function reserves its whole output once. No `format!`, no intermediate
//! `String`s (doubles are formatted into a stack buffer too).
//!
//! Functions taking `proto: u8` emit RESP3 when `proto >= 3` and RESP2
//! otherwise, downgrading RESP3-only types the way Redis 7.0 does (maps become
//! flat arrays, doubles become bulk strings, booleans become integers...).
//!
//! Callers are responsible for not putting `\r`/`\n` inside simple strings;
//! [`write_error`] sanitizes because error text often embeds user input.

use std::fmt::Write as _;

use bytes::{BufMut, BytesMut};

use crate::frame::Frame;

const CRLF: &[u8] = b"\r\n";

#[inline]
fn is_resp3(proto: u8) -> bool {
    proto >= 3
}

/// `<prefix><n>\r\n` for any integer `itoa` can format.
#[inline]
fn write_prefixed<I: itoa::Integer>(out: &mut BytesMut, prefix: u8, n: I) {
    let mut buf = itoa::Buffer::new();
    let digits = buf.format(n).as_bytes();
    out.reserve(digits.len() + 3);
    out.put_u8(prefix);
    out.extend_from_slice(digits);
    out.extend_from_slice(CRLF);
}

/// `<prefix><payload>\r\n`.
#[inline]
fn write_line(out: &mut BytesMut, prefix: u8, payload: &[u8]) {
    out.reserve(payload.len() + 3);
    out.put_u8(prefix);
    out.extend_from_slice(payload);
    out.extend_from_slice(CRLF);
}

/// Simple string: `+<s>\r\n`. `s` must not contain `\r` or `\n`.
pub fn write_simple(out: &mut BytesMut, s: &[u8]) {
    write_line(out, b'+', s);
}

/// Error: `-<line>\r\n`, where `line` is the whole error line without the
/// leading `-` (e.g. `ERR syntax error`, `WRONGTYPE ...`). Any `\r` or `\n`
/// inside is replaced by a space, as Redis does, so that user-controlled text
/// embedded in an error can never break the protocol.
pub fn write_error(out: &mut BytesMut, line: &[u8]) {
    out.reserve(line.len() + 3);
    out.put_u8(b'-');
    let mut rest = line;
    while let Some(pos) = rest.iter().position(|&b| b == b'\r' || b == b'\n') {
        out.extend_from_slice(&rest[..pos]);
        out.put_u8(b' ');
        rest = &rest[pos + 1..];
    }
    out.extend_from_slice(rest);
    out.extend_from_slice(CRLF);
}

/// Integer: `:<n>\r\n`.
pub fn write_integer(out: &mut BytesMut, n: i64) {
    write_prefixed(out, b':', n);
}

/// Bulk string: `$<len>\r\n<data>\r\n`.
pub fn write_bulk(out: &mut BytesMut, data: &[u8]) {
    let mut buf = itoa::Buffer::new();
    let digits = buf.format(data.len()).as_bytes();
    out.reserve(digits.len() + data.len() + 5);
    out.put_u8(b'$');
    out.extend_from_slice(digits);
    out.extend_from_slice(CRLF);
    out.extend_from_slice(data);
    out.extend_from_slice(CRLF);
}

/// Null (Redis's `addReplyNull`): RESP2 null bulk `$-1\r\n`, RESP3 `_\r\n`.
pub fn write_null(out: &mut BytesMut, proto: u8) {
    out.extend_from_slice(if is_resp3(proto) {
        b"_\r\n"
    } else {
        b"$-1\r\n"
    });
}

/// Null array (Redis's `addReplyNullArray`): RESP2 `*-1\r\n`, RESP3 `_\r\n`.
pub fn write_null_array(out: &mut BytesMut, proto: u8) {
    out.extend_from_slice(if is_resp3(proto) {
        b"_\r\n"
    } else {
        b"*-1\r\n"
    });
}

/// Array header: `*<len>\r\n`.
pub fn write_array_len(out: &mut BytesMut, len: usize) {
    write_prefixed(out, b'*', len);
}

/// Map header of `len` key/value pairs: RESP3 `%<len>`, RESP2 `*<2*len>`.
pub fn write_map_len(out: &mut BytesMut, len: usize, proto: u8) {
    if is_resp3(proto) {
        write_prefixed(out, b'%', len);
    } else {
        // u128 so that even an absurd `len` cannot overflow the doubling.
        write_prefixed(out, b'*', len as u128 * 2);
    }
}

/// Set header: RESP3 `~<len>`, RESP2 `*<len>`.
pub fn write_set_len(out: &mut BytesMut, len: usize, proto: u8) {
    write_prefixed(out, if is_resp3(proto) { b'~' } else { b'*' }, len);
}

/// Push header (pub/sub messages, invalidations): RESP3 `><len>`, RESP2 `*<len>`.
pub fn write_push_len(out: &mut BytesMut, len: usize, proto: u8) {
    write_prefixed(out, if is_resp3(proto) { b'>' } else { b'*' }, len);
}

/// Attribute header `|<len>\r\n` (RESP3 only; callers skip attributes for RESP2).
pub fn write_attribute_len(out: &mut BytesMut, len: usize) {
    write_prefixed(out, b'|', len);
}

/// Double, exactly as Redis 7.0's `addReplyDouble`: RESP2 a bulk string of
/// C's `%.17g` (`inf`/`-inf` for infinities), RESP3 `,<%.17g>\r\n`.
/// NaN prints as glibc does (`nan`, or `-nan` when the sign bit is set).
pub fn write_double(out: &mut BytesMut, d: f64, proto: u8) {
    let mut buf = G17Buf::new();
    let text = buf.format(d);
    if is_resp3(proto) {
        write_line(out, b',', text);
    } else {
        write_bulk(out, text);
    }
}

/// Boolean: RESP3 `#t`/`#f`, RESP2 `:1`/`:0`.
pub fn write_bool(out: &mut BytesMut, b: bool, proto: u8) {
    let s: &[u8] = match (is_resp3(proto), b) {
        (true, true) => b"#t\r\n",
        (true, false) => b"#f\r\n",
        (false, true) => b":1\r\n",
        (false, false) => b":0\r\n",
    };
    out.extend_from_slice(s);
}

/// Verbatim string: RESP3 `=<len+4>\r\n<fmt>:<data>\r\n`, RESP2 a plain bulk
/// string of `data`. Like Redis, only the first three bytes of `fmt` are used
/// and a shorter `fmt` is padded with spaces.
pub fn write_verbatim(out: &mut BytesMut, fmt: &[u8], data: &[u8], proto: u8) {
    if !is_resp3(proto) {
        write_bulk(out, data);
        return;
    }
    let mut ext = [b' '; 3];
    for (slot, &b) in ext.iter_mut().zip(fmt.iter()) {
        *slot = b;
    }
    let mut buf = itoa::Buffer::new();
    let digits = buf.format(data.len() as u128 + 4).as_bytes();
    out.reserve(digits.len() + data.len() + 9);
    out.put_u8(b'=');
    out.extend_from_slice(digits);
    out.extend_from_slice(CRLF);
    out.extend_from_slice(&ext);
    out.put_u8(b':');
    out.extend_from_slice(data);
    out.extend_from_slice(CRLF);
}

/// Big number: RESP3 `(<digits>\r\n`, RESP2 a bulk string.
pub fn write_big_number(out: &mut BytesMut, digits: &[u8], proto: u8) {
    if is_resp3(proto) {
        write_line(out, b'(', digits);
    } else {
        write_bulk(out, digits);
    }
}

/// Encode a whole [`Frame`] as-is (RESP3 types keep their RESP3 form).
///
/// Recurses once per nesting level; frames produced by
/// [`decode_frame`](crate::decode_frame) are at most
/// [`MAX_DEPTH`](crate::frame::MAX_DEPTH) deep.
pub fn encode_frame(frame: &Frame, out: &mut BytesMut) {
    match frame {
        Frame::Simple(s) => write_simple(out, s),
        Frame::Error(e) => write_error(out, e),
        Frame::Integer(n) => write_integer(out, *n),
        Frame::Bulk(b) => write_bulk(out, b),
        Frame::NullBulk => write_null(out, 2),
        Frame::NullArray => write_null_array(out, 2),
        Frame::Null => write_null(out, 3),
        Frame::Array(items) => {
            write_array_len(out, items.len());
            items.iter().for_each(|f| encode_frame(f, out));
        }
        Frame::Boolean(b) => write_bool(out, *b, 3),
        Frame::Double(d) => write_double(out, *d, 3),
        Frame::BigNumber(n) => write_big_number(out, n, 3),
        Frame::Verbatim { format, data } => write_verbatim(out, format, data, 3),
        Frame::Map(pairs) => {
            write_map_len(out, pairs.len(), 3);
            encode_pairs(pairs, out);
        }
        Frame::Set(items) => {
            write_set_len(out, items.len(), 3);
            items.iter().for_each(|f| encode_frame(f, out));
        }
        Frame::Attribute { attrs, data } => {
            write_attribute_len(out, attrs.len());
            encode_pairs(attrs, out);
            encode_frame(data, out);
        }
        Frame::Push(items) => {
            write_push_len(out, items.len(), 3);
            items.iter().for_each(|f| encode_frame(f, out));
        }
    }
}

fn encode_pairs(pairs: &[(Frame, Frame)], out: &mut BytesMut) {
    for (k, v) in pairs {
        encode_frame(k, out);
        encode_frame(v, out);
    }
}

/// C's `printf("%.17g", d)` exactly as glibc prints it: 17 significant
/// digits, trailing zeros removed, exponent form when the decimal exponent is
/// below -4 or at least 17 (`1e+20`, `1.0000000000000001e-05`), `inf`,
/// `-inf`, `nan` (`-nan` when the sign bit is set), `-0` for negative zero.
pub fn fmt_g17(d: f64) -> String {
    let mut buf = G17Buf::new();
    String::from_utf8_lossy(buf.format(d)).into_owned()
}

/// Stack buffer for `%.17g`. The longest output is
/// `-1.2345678901234567e-308` (24 bytes); the scratch area holds Rust's
/// `{:.16e}` rendering (at most 23 bytes for a non-negative value).
struct G17Buf {
    out: [u8; 32],
    scratch: [u8; 32],
    scratch_len: usize,
}

impl std::fmt::Write for G17Buf {
    fn write_str(&mut self, s: &str) -> std::fmt::Result {
        let end = self.scratch_len + s.len();
        let dst = self
            .scratch
            .get_mut(self.scratch_len..end)
            .ok_or(std::fmt::Error)?;
        dst.copy_from_slice(s.as_bytes());
        self.scratch_len = end;
        Ok(())
    }
}

impl G17Buf {
    fn new() -> Self {
        G17Buf {
            out: [0; 32],
            scratch: [0; 32],
            scratch_len: 0,
        }
    }

    fn format(&mut self, d: f64) -> &[u8] {
        let neg = d.is_sign_negative();
        if d.is_nan() {
            return if neg { b"-nan" } else { b"nan" };
        }
        if d.is_infinite() {
            return if neg { b"-inf" } else { b"inf" };
        }
        // Rust's `{:.16e}` is exact (correctly rounded, ties to even like
        // glibc), so it yields the 17 significant digits and the decimal
        // exponent that `%.17g` is defined in terms of; only the layout
        // rules of `%g` remain to be applied.
        self.scratch_len = 0;
        if write!(self, "{:.16e}", d.abs()).is_err() {
            // Cannot happen (the scratch area fits every finite f64); an
            // empty reply is still better than a panic.
            return b"";
        }
        let sci = &self.scratch[..self.scratch_len];
        // Layout is `D.DDDDDDDDDDDDDDDDe<exp>`.
        let mut digits = [b'0'; 17];
        let Some(e_pos) = sci.iter().position(|&b| b == b'e') else {
            return b"";
        };
        let mantissa = &sci[..e_pos];
        let mut n = 0;
        for &b in mantissa.iter().filter(|b| b.is_ascii_digit()) {
            if n < digits.len() {
                digits[n] = b;
                n += 1;
            }
        }
        let exp: i32 = std::str::from_utf8(&sci[e_pos + 1..])
            .ok()
            .and_then(|s| s.parse().ok())
            .unwrap_or(0);

        // Significant digits left after dropping trailing zeros (at least 1).
        let mut sig = digits.len();
        while sig > 1 && digits[sig - 1] == b'0' {
            sig -= 1;
        }

        let mut w = Writer {
            buf: &mut self.out,
            len: 0,
        };
        if neg {
            w.push(b'-');
        }
        if (-4..17).contains(&exp) {
            if exp >= 0 {
                let int_len = exp as usize + 1; // <= 17
                w.extend(&digits[..int_len]);
                if sig > int_len {
                    w.push(b'.');
                    w.extend(&digits[int_len..sig]);
                }
            } else {
                w.extend(b"0.");
                for _ in 0..(-exp - 1) {
                    w.push(b'0');
                }
                w.extend(&digits[..sig]);
            }
        } else {
            w.push(digits[0]);
            if sig > 1 {
                w.push(b'.');
                w.extend(&digits[1..sig]);
            }
            w.push(b'e');
            w.push(if exp < 0 { b'-' } else { b'+' });
            let abs = exp.unsigned_abs();
            if abs < 10 {
                w.push(b'0');
            }
            let mut ibuf = itoa::Buffer::new();
            w.extend(ibuf.format(abs).as_bytes());
        }
        let len = w.len;
        &self.out[..len]
    }
}

/// Bounds-checked append into a fixed buffer (silently truncates, which the
/// sizes above rule out).
struct Writer<'a> {
    buf: &'a mut [u8; 32],
    len: usize,
}

impl Writer<'_> {
    fn push(&mut self, b: u8) {
        if let Some(slot) = self.buf.get_mut(self.len) {
            *slot = b;
            self.len += 1;
        }
    }
    fn extend(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.push(b);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn enc(f: impl FnOnce(&mut BytesMut)) -> Vec<u8> {
        let mut out = BytesMut::new();
        f(&mut out);
        out.to_vec()
    }

    #[test]
    fn scalars() {
        assert_eq!(enc(|o| write_simple(o, b"OK")), b"+OK\r\n");
        assert_eq!(enc(|o| write_integer(o, -42)), b":-42\r\n");
        assert_eq!(
            enc(|o| write_integer(o, i64::MIN)),
            b":-9223372036854775808\r\n"
        );
        assert_eq!(enc(|o| write_bulk(o, b"")), b"$0\r\n\r\n");
        assert_eq!(enc(|o| write_bulk(o, b"hello")), b"$5\r\nhello\r\n");
        assert_eq!(enc(|o| write_null(o, 2)), b"$-1\r\n");
        assert_eq!(enc(|o| write_null(o, 3)), b"_\r\n");
        assert_eq!(enc(|o| write_null_array(o, 2)), b"*-1\r\n");
        assert_eq!(enc(|o| write_null_array(o, 3)), b"_\r\n");
        assert_eq!(enc(|o| write_bool(o, true, 2)), b":1\r\n");
        assert_eq!(enc(|o| write_bool(o, false, 2)), b":0\r\n");
        assert_eq!(enc(|o| write_bool(o, true, 3)), b"#t\r\n");
        assert_eq!(enc(|o| write_bool(o, false, 3)), b"#f\r\n");
        assert_eq!(enc(|o| write_big_number(o, b"123", 3)), b"(123\r\n");
        assert_eq!(enc(|o| write_big_number(o, b"123", 2)), b"$3\r\n123\r\n");
    }

    #[test]
    fn errors_are_sanitized() {
        assert_eq!(
            enc(|o| write_error(o, b"ERR syntax error")),
            b"-ERR syntax error\r\n"
        );
        assert_eq!(
            enc(|o| write_error(o, b"ERR a\r\nb\nc\r")),
            b"-ERR a  b c \r\n"
        );
    }

    #[test]
    fn aggregate_headers() {
        assert_eq!(enc(|o| write_array_len(o, 3)), b"*3\r\n");
        assert_eq!(enc(|o| write_map_len(o, 2, 2)), b"*4\r\n");
        assert_eq!(enc(|o| write_map_len(o, 2, 3)), b"%2\r\n");
        assert_eq!(enc(|o| write_set_len(o, 2, 2)), b"*2\r\n");
        assert_eq!(enc(|o| write_set_len(o, 2, 3)), b"~2\r\n");
        assert_eq!(enc(|o| write_push_len(o, 3, 2)), b"*3\r\n");
        assert_eq!(enc(|o| write_push_len(o, 3, 3)), b">3\r\n");
        assert_eq!(enc(|o| write_attribute_len(o, 1)), b"|1\r\n");
    }

    #[test]
    fn doubles_like_add_reply_double() {
        assert_eq!(enc(|o| write_double(o, 1.5, 2)), b"$3\r\n1.5\r\n");
        assert_eq!(enc(|o| write_double(o, 1.5, 3)), b",1.5\r\n");
        assert_eq!(
            enc(|o| write_double(o, 0.1, 2)),
            b"$19\r\n0.10000000000000001\r\n"
        );
        assert_eq!(enc(|o| write_double(o, f64::INFINITY, 2)), b"$3\r\ninf\r\n");
        assert_eq!(
            enc(|o| write_double(o, f64::NEG_INFINITY, 2)),
            b"$4\r\n-inf\r\n"
        );
        assert_eq!(enc(|o| write_double(o, f64::INFINITY, 3)), b",inf\r\n");
        assert_eq!(enc(|o| write_double(o, f64::NEG_INFINITY, 3)), b",-inf\r\n");
        assert_eq!(enc(|o| write_double(o, f64::NAN, 3)), b",nan\r\n");
        assert_eq!(enc(|o| write_double(o, -f64::NAN, 3)), b",-nan\r\n");
    }

    #[test]
    fn g17_examples() {
        assert_eq!(fmt_g17(1.5), "1.5");
        assert_eq!(fmt_g17(0.1), "0.10000000000000001");
        assert_eq!(fmt_g17(1e20), "1e+20");
        assert_eq!(fmt_g17(1e-5), "1.0000000000000001e-05");
        assert_eq!(fmt_g17(0.0), "0");
        assert_eq!(fmt_g17(-0.0), "-0");
        assert_eq!(fmt_g17(100.0), "100");
        assert_eq!(fmt_g17(1e16), "10000000000000000");
        assert_eq!(fmt_g17(1e17), "1e+17");
        assert_eq!(fmt_g17(0.0001), "0.0001");
        assert_eq!(fmt_g17(f64::MAX), "1.7976931348623157e+308");
        assert_eq!(fmt_g17(5e-324), "4.9406564584124654e-324");
        assert_eq!(fmt_g17(1.0 + 2f64.powi(-17)), "1.0000076293945312");
    }

    #[test]
    fn verbatim() {
        assert_eq!(
            enc(|o| write_verbatim(o, b"txt", b"hi", 3)),
            b"=6\r\ntxt:hi\r\n"
        );
        assert_eq!(
            enc(|o| write_verbatim(o, b"md", b"hi", 3)),
            b"=6\r\nmd :hi\r\n"
        );
        assert_eq!(
            enc(|o| write_verbatim(o, b"markdown", b"", 3)),
            b"=4\r\nmar:\r\n"
        );
        assert_eq!(
            enc(|o| write_verbatim(o, b"txt", b"hi", 2)),
            b"$2\r\nhi\r\n"
        );
    }
}
