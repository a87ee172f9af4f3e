//! Typed replies. Handlers return a [`Reply`]; the connection encodes it for the
//! client's protocol (RESP2 or RESP3) with [`Reply::encode`].

use bytes::{Bytes, BytesMut};
use ferrodis_resp::encode as enc;

/// A reply to one command, independent of the protocol version.
#[derive(Debug, Clone, PartialEq)]
pub enum Reply {
    /// `+OK`.
    Ok,
    /// A status line such as `+PONG`.
    Status(Bytes),
    /// An error line, without the leading `-` (e.g. `ERR syntax error`).
    Error(Bytes),
    Int(i64),
    Bulk(Bytes),
    /// Null bulk string (`$-1` in RESP2, `_` in RESP3).
    Null,
    /// Null array (`*-1` in RESP2, `_` in RESP3).
    NullArray,
    Array(Vec<Reply>),
    /// A map (RESP3 `%`), flattened into an array in RESP2.
    Map(Vec<(Reply, Reply)>),
    /// A set (RESP3 `~`), an array in RESP2.
    Set(Vec<Reply>),
    /// A double (RESP3 `,`), a bulk string formatted as `%.17g` in RESP2.
    Double(f64),
    /// A boolean (RESP3 `#`), the integer 1 or 0 in RESP2.
    Bool(bool),
    /// Verbatim string (RESP3 `=`) with its three-letter format; bulk in RESP2.
    Verbatim(&'static str, Bytes),
    /// Big number (RESP3 `(`), bulk in RESP2.
    BigNumber(Bytes),
    /// Out-of-band push (RESP3 `>`), an array in RESP2.
    Push(Vec<Reply>),
    /// Bytes already encoded in RESP; written as they are.
    Raw(Bytes),
    /// A short bulk string stored inline (no allocation): the hot GET path.
    ShortBulk {
        len: u8,
        data: [u8; SHORT_BULK_CAP],
    },
    /// Nothing is written now (a blocked client, CLIENT REPLY OFF, QUIT handled elsewhere).
    NoReply,
    /// A blocking command found nothing to serve and asks to wait (see [`crate::blocking`]).
    /// The executor turns it into a registered waiter; it is never encoded.
    Block(Box<crate::blocking::BlockRequest>),
    /// The client is now blocked; the connection waits on the waiter for the real reply.
    /// Never encoded.
    Blocked(crate::blocking::WaiterRef),
}

/// Longest bulk reply kept inline in [`Reply::ShortBulk`]; sized so the variant
/// is no larger than the `Bytes` one.
pub const SHORT_BULK_CAP: usize = 30;

impl Reply {
    /// A bulk reply that avoids allocating when the payload is short.
    pub fn bulk_from_slice(b: &[u8]) -> Reply {
        if b.len() <= SHORT_BULK_CAP {
            let mut data = [0u8; SHORT_BULK_CAP];
            data[..b.len()].copy_from_slice(b);
            Reply::ShortBulk {
                len: b.len() as u8,
                data,
            }
        } else {
            Reply::Bulk(Bytes::copy_from_slice(b))
        }
    }

    /// The same reply with inline variants turned into their plain forms, for
    /// callers that compare replies (the embedding API, tests).
    pub fn normalized(self) -> Reply {
        match self {
            Reply::ShortBulk { len, data } => {
                Reply::Bulk(Bytes::copy_from_slice(&data[..len as usize]))
            }
            Reply::Array(v) => Reply::Array(v.into_iter().map(Reply::normalized).collect()),
            Reply::Set(v) => Reply::Set(v.into_iter().map(Reply::normalized).collect()),
            Reply::Push(v) => Reply::Push(v.into_iter().map(Reply::normalized).collect()),
            Reply::Map(v) => Reply::Map(
                v.into_iter()
                    .map(|(k, v)| (k.normalized(), v.normalized()))
                    .collect(),
            ),
            // Pre-encoded replies (LRANGE writes its array straight into RESP) come back as
            // the typed reply they encode.
            Reply::Raw(b) => match ferrodis_resp::frame::decode_frame(&b) {
                Ok(Some((frame, used))) if used == b.len() => Reply::from_frame(frame),
                _ => Reply::Raw(b),
            },
            other => other,
        }
    }

    /// The typed reply a decoded RESP frame stands for.
    pub fn from_frame(f: ferrodis_resp::Frame) -> Reply {
        use ferrodis_resp::Frame;
        match f {
            Frame::Simple(s) if &s[..] == b"OK" => Reply::Ok,
            Frame::Simple(s) => Reply::Status(s),
            Frame::Error(e) => Reply::Error(e),
            Frame::Integer(i) => Reply::Int(i),
            Frame::Bulk(b) => Reply::Bulk(b),
            Frame::NullBulk | Frame::Null => Reply::Null,
            Frame::NullArray => Reply::NullArray,
            Frame::Array(v) => Reply::Array(v.into_iter().map(Reply::from_frame).collect()),
            Frame::Boolean(b) => Reply::Bool(b),
            Frame::Double(d) => Reply::Double(d),
            Frame::BigNumber(n) => Reply::BigNumber(n),
            Frame::Verbatim { format, data } => {
                let fmt = if &format == b"mkd" { "mkd" } else { "txt" };
                Reply::Verbatim(fmt, data)
            }
            Frame::Map(m) => Reply::Map(
                m.into_iter()
                    .map(|(k, v)| (Reply::from_frame(k), Reply::from_frame(v)))
                    .collect(),
            ),
            Frame::Set(v) => Reply::Set(v.into_iter().map(Reply::from_frame).collect()),
            Frame::Push(v) => Reply::Push(v.into_iter().map(Reply::from_frame).collect()),
            Frame::Attribute { data, .. } => Reply::from_frame(*data),
        }
    }

    pub fn ok() -> Reply {
        Reply::Ok
    }
    pub fn status(s: &'static str) -> Reply {
        Reply::Status(Bytes::from_static(s.as_bytes()))
    }
    /// An error reply from a full error line (`"ERR ..."`, `"WRONGTYPE ..."`).
    pub fn error(s: impl Into<String>) -> Reply {
        Reply::Error(Bytes::from(s.into()))
    }
    pub fn err_static(s: &'static str) -> Reply {
        Reply::Error(Bytes::from_static(s.as_bytes()))
    }
    pub fn bulk(b: impl AsRef<[u8]>) -> Reply {
        Reply::Bulk(Bytes::copy_from_slice(b.as_ref()))
    }
    pub fn bulk_static(s: &'static str) -> Reply {
        Reply::Bulk(Bytes::from_static(s.as_bytes()))
    }
    pub fn is_error(&self) -> bool {
        matches!(self, Reply::Error(_))
    }

    /// Encode into `out` for protocol version `proto` (2 or 3).
    pub fn encode(&self, proto: u8, out: &mut BytesMut) {
        match self {
            Reply::Ok => out.extend_from_slice(b"+OK\r\n"),
            Reply::Status(s) => enc::write_simple(out, s),
            Reply::Error(e) => enc::write_error(out, e),
            Reply::Int(i) => enc::write_integer(out, *i),
            Reply::Bulk(b) => enc::write_bulk(out, b),
            Reply::Null => enc::write_null(out, proto),
            Reply::NullArray => enc::write_null_array(out, proto),
            Reply::Array(items) => {
                enc::write_array_len(out, items.len());
                for r in items {
                    r.encode(proto, out);
                }
            }
            Reply::Map(pairs) => {
                enc::write_map_len(out, pairs.len(), proto);
                for (k, v) in pairs {
                    k.encode(proto, out);
                    v.encode(proto, out);
                }
            }
            Reply::Set(items) => {
                enc::write_set_len(out, items.len(), proto);
                for r in items {
                    r.encode(proto, out);
                }
            }
            Reply::Push(items) => {
                enc::write_push_len(out, items.len(), proto);
                for r in items {
                    r.encode(proto, out);
                }
            }
            Reply::Double(d) => enc::write_double(out, *d, proto),
            Reply::Bool(b) => enc::write_bool(out, *b, proto),
            Reply::Verbatim(fmt, s) => enc::write_verbatim(out, fmt.as_bytes(), s, proto),
            Reply::BigNumber(n) => enc::write_big_number(out, n, proto),
            Reply::Raw(b) => out.extend_from_slice(b),
            Reply::ShortBulk { len, data } => enc::write_bulk(out, &data[..*len as usize]),
            Reply::NoReply | Reply::Block(_) | Reply::Blocked(_) => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn raw_replies_normalize_to_what_they_encode() {
        let raw = Reply::Raw(Bytes::from_static(b"*2\r\n$1\r\na\r\n:3\r\n"));
        assert_eq!(
            raw.normalized(),
            Reply::Array(vec![Reply::Bulk(Bytes::from_static(b"a")), Reply::Int(3)])
        );
        // Not one whole frame: left as it is.
        let partial = Reply::Raw(Bytes::from_static(b"*2\r\n$1\r\na\r\n"));
        assert_eq!(partial.clone().normalized(), partial);
    }
}
