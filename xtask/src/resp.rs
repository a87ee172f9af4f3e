//! A minimal blocking RESP2 client: enough to PING a server, read `INFO`, run `DEBUG POPULATE`
//! and shut it down. It must stay independent of the workspace's own `resp` crate, because xtask
//! is the judge of that code.

use std::io::{BufRead, BufReader, Write};
use std::net::TcpStream;
use std::time::Duration;

use crate::error::{Error, Result};

/// A RESP2 reply.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Reply {
    Simple(String),
    Error(String),
    Integer(i64),
    Bulk(Option<Vec<u8>>),
    Array(Option<Vec<Reply>>),
}

impl Reply {
    /// The reply as text, for simple strings and bulk strings.
    pub fn text(&self) -> Option<String> {
        match self {
            Reply::Simple(s) => Some(s.clone()),
            Reply::Bulk(Some(b)) => Some(String::from_utf8_lossy(b).into_owned()),
            _ => None,
        }
    }
}

/// One connection to a server on 127.0.0.1.
pub struct Conn {
    reader: BufReader<TcpStream>,
}

impl Conn {
    /// Connects with the given read/write timeout.
    pub fn connect(port: u16, timeout: Duration) -> Result<Conn> {
        let addr = std::net::SocketAddr::from(([127, 0, 0, 1], port));
        let stream = TcpStream::connect_timeout(&addr, Duration::from_secs(2))
            .map_err(|e| Error::io(format!("connecting to 127.0.0.1:{port}"), e))?;
        stream
            .set_read_timeout(Some(timeout))
            .and_then(|()| stream.set_write_timeout(Some(timeout)))
            .map_err(|e| Error::io("setting socket timeouts", e))?;
        Ok(Conn {
            reader: BufReader::new(stream),
        })
    }

    /// Sends one command and reads its reply.
    pub fn call(&mut self, args: &[&str]) -> Result<Reply> {
        let mut frame = format!("*{}\r\n", args.len()).into_bytes();
        for arg in args {
            frame.extend_from_slice(format!("${}\r\n", arg.len()).as_bytes());
            frame.extend_from_slice(arg.as_bytes());
            frame.extend_from_slice(b"\r\n");
        }
        self.reader
            .get_mut()
            .write_all(&frame)
            .map_err(|e| Error::io(format!("sending {}", args.join(" ")), e))?;
        read_reply(&mut self.reader)
    }

    /// Sends many commands at once (one write per batch of up to 1,000), then reads every
    /// reply. Returns the first error reply, if any, as an error.
    pub fn pipeline(&mut self, cmds: impl IntoIterator<Item = Vec<String>>) -> Result<()> {
        const BATCH: usize = 1000;
        let mut it = cmds.into_iter().peekable();
        while it.peek().is_some() {
            let mut frame = Vec::with_capacity(64 * 1024);
            let mut sent = 0;
            for args in it.by_ref().take(BATCH) {
                frame.extend_from_slice(format!("*{}\r\n", args.len()).as_bytes());
                for arg in &args {
                    frame.extend_from_slice(format!("${}\r\n", arg.len()).as_bytes());
                    frame.extend_from_slice(arg.as_bytes());
                    frame.extend_from_slice(b"\r\n");
                }
                sent += 1;
            }
            self.reader
                .get_mut()
                .write_all(&frame)
                .map_err(|e| Error::io("sending a pipeline", e))?;
            for _ in 0..sent {
                if let Reply::Error(e) = read_reply(&mut self.reader)? {
                    return Err(Error::Failed(format!("pipelined command failed: {e}")));
                }
            }
        }
        Ok(())
    }

    /// Sends one command and expects a text reply (an error reply becomes an error).
    pub fn call_text(&mut self, args: &[&str]) -> Result<String> {
        match self.call(args)? {
            Reply::Error(e) => Err(Error::Failed(format!("{}: {e}", args.join(" ")))),
            reply => reply.text().ok_or_else(|| {
                Error::Failed(format!("{}: unexpected reply {reply:?}", args.join(" ")))
            }),
        }
    }
}

fn protocol(msg: impl Into<String>) -> Error {
    Error::Failed(format!("RESP protocol error: {}", msg.into()))
}

fn read_line(reader: &mut impl BufRead) -> Result<String> {
    let mut line = Vec::new();
    reader
        .read_until(b'\n', &mut line)
        .map_err(|e| Error::io("reading a reply", e))?;
    if !line.ends_with(b"\r\n") {
        return Err(protocol("connection closed mid-reply"));
    }
    line.truncate(line.len() - 2);
    String::from_utf8(line).map_err(|_| protocol("non-UTF-8 header line"))
}

pub fn read_reply(reader: &mut impl BufRead) -> Result<Reply> {
    let line = read_line(reader)?;
    let mut chars = line.chars();
    let kind = chars.next().ok_or_else(|| protocol("empty line"))?;
    let rest = chars.as_str();
    let number = || -> Result<i64> {
        rest.parse::<i64>()
            .map_err(|_| protocol(format!("bad length or integer {rest:?}")))
    };
    match kind {
        '+' => Ok(Reply::Simple(rest.to_string())),
        '-' => Ok(Reply::Error(rest.to_string())),
        ':' => Ok(Reply::Integer(number()?)),
        '$' => {
            let len = number()?;
            if len < 0 {
                return Ok(Reply::Bulk(None));
            }
            let len = usize::try_from(len).map_err(|_| protocol("bulk length"))?;
            let mut body = vec![0u8; len + 2];
            reader
                .read_exact(&mut body)
                .map_err(|e| Error::io("reading a bulk reply", e))?;
            body.truncate(len);
            Ok(Reply::Bulk(Some(body)))
        }
        '*' => {
            let len = number()?;
            if len < 0 {
                return Ok(Reply::Array(None));
            }
            let mut items = Vec::new();
            for _ in 0..len {
                items.push(read_reply(reader)?);
            }
            Ok(Reply::Array(Some(items)))
        }
        other => Err(protocol(format!("unknown reply type {other:?}"))),
    }
}

/// Extracts `field:value` from an `INFO` reply.
pub fn info_field(info: &str, field: &str) -> Option<String> {
    info.lines().find_map(|line| {
        let (key, value) = line.split_once(':')?;
        (key == field).then(|| value.trim().to_string())
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(bytes: &[u8]) -> Result<Reply> {
        read_reply(&mut BufReader::new(bytes))
    }

    #[test]
    fn parses_each_reply_type() {
        assert_eq!(parse(b"+PONG\r\n").ok(), Some(Reply::Simple("PONG".into())));
        assert_eq!(
            parse(b"-ERR no\r\n").ok(),
            Some(Reply::Error("ERR no".into()))
        );
        assert_eq!(parse(b":-42\r\n").ok(), Some(Reply::Integer(-42)));
        assert_eq!(
            parse(b"$5\r\na\r\nbc\r\n").ok(),
            Some(Reply::Bulk(Some(b"a\r\nbc".to_vec())))
        );
        assert_eq!(parse(b"$-1\r\n").ok(), Some(Reply::Bulk(None)));
        assert_eq!(
            parse(b"*2\r\n:1\r\n$1\r\nx\r\n").ok(),
            Some(Reply::Array(Some(vec![
                Reply::Integer(1),
                Reply::Bulk(Some(b"x".to_vec()))
            ])))
        );
    }

    #[test]
    fn rejects_truncated_and_unknown_replies() {
        assert!(parse(b"+PONG").is_err());
        assert!(parse(b"$5\r\nab").is_err());
        assert!(parse(b"?x\r\n").is_err());
        assert!(parse(b":x\r\n").is_err());
    }

    #[test]
    fn finds_info_fields() {
        let info = "# Memory\r\nused_memory:1013480\r\nused_memory_human:989.73K\r\n";
        assert_eq!(info_field(info, "used_memory").as_deref(), Some("1013480"));
        assert_eq!(info_field(info, "used_memory_rss"), None);
    }
}
