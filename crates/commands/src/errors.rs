//! Redis's error lines, in one place. Handlers return these through [`crate::Reply`];
//! nothing else in the crate spells an error string that Redis shares across commands.

use crate::reply::Reply;

pub const WRONGTYPE: &str = "WRONGTYPE Operation against a key holding the wrong kind of value";
pub const SYNTAX: &str = "ERR syntax error";
pub const NOT_INTEGER: &str = "ERR value is not an integer or out of range";
pub const NOT_FLOAT: &str = "ERR value is not a valid float";
pub const NO_SUCH_KEY: &str = "ERR no such key";
pub const OVERFLOW: &str = "ERR increment or decrement would overflow";
pub const DB_RANGE: &str = "ERR DB index is out of range";
pub const SAME_OBJECT: &str = "ERR source and destination objects are the same";
pub const STRING_TOO_LONG: &str = "ERR string exceeds maximum allowed size (proto-max-bulk-len)";
pub const OFFSET_RANGE: &str = "ERR offset is out of range";
pub const NAN_OR_INF: &str = "ERR increment would produce NaN or Infinity";
pub const OUT_OF_RANGE: &str = "ERR index out of range";

pub fn wrongtype() -> Reply {
    Reply::err_static(WRONGTYPE)
}
pub fn syntax() -> Reply {
    Reply::err_static(SYNTAX)
}
pub fn not_integer() -> Reply {
    Reply::err_static(NOT_INTEGER)
}
pub fn not_float() -> Reply {
    Reply::err_static(NOT_FLOAT)
}

/// `ERR unknown command 'x', with args beginning with: 'a' 'b' ` — byte-exact:
/// arguments are quoted until the argument list reaches 128 bytes, each cut to
/// what is left of that budget (Redis's processCommand).
pub fn unknown_command(argv: &[bytes::Bytes]) -> Reply {
    let name = c_str(argv.first().map(|a| a.as_ref()).unwrap_or(b""));
    let mut args: Vec<u8> = Vec::new();
    for a in argv.iter().skip(1) {
        if args.len() >= 128 {
            break;
        }
        let room = 128 - args.len();
        let a = c_str(a);
        args.push(b'\'');
        args.extend_from_slice(&a[..a.len().min(room)]);
        args.extend_from_slice(b"' ");
    }
    let mut s = b"ERR unknown command '".to_vec();
    s.extend_from_slice(&name[..name.len().min(128)]);
    s.extend_from_slice(b"', with args beginning with: ");
    s.extend_from_slice(&args);
    error_bytes(s)
}

/// `ERR unknown subcommand 'x'. Try CONFIG HELP.`
pub fn unknown_subcommand(sub: &[u8], cmd: &str) -> Reply {
    let sub = c_str(sub);
    let mut s = b"ERR unknown subcommand '".to_vec();
    s.extend_from_slice(&sub[..sub.len().min(128)]);
    s.extend_from_slice(format!("'. Try {} HELP.", cmd.to_ascii_uppercase()).as_bytes());
    error_bytes(s)
}

/// Client bytes as Redis's `%s` formatting shows them: C strings end at the
/// first NUL byte.
pub fn c_str(b: &[u8]) -> &[u8] {
    match b.iter().position(|&c| c == 0) {
        Some(i) => &b[..i],
        None => b,
    }
}

/// An error line from raw bytes: client bytes are echoed as they are (Redis
/// does not re-encode them), only CR/LF are replaced so the line stays one line.
pub fn error_bytes(mut s: Vec<u8>) -> Reply {
    for b in s.iter_mut() {
        if *b == b'\r' || *b == b'\n' {
            *b = b' ';
        }
    }
    Reply::Error(bytes::Bytes::from(s))
}

/// `prefix` + client bytes + `suffix` as an error line.
pub fn error_with(prefix: &str, arg: &[u8], suffix: &str) -> Reply {
    let arg = c_str(arg);
    let mut s = Vec::with_capacity(prefix.len() + arg.len() + suffix.len());
    s.extend_from_slice(prefix.as_bytes());
    s.extend_from_slice(arg);
    s.extend_from_slice(suffix.as_bytes());
    error_bytes(s)
}

/// `ERR wrong number of arguments for 'get' command`
pub fn wrong_arity(fullname: &str) -> Reply {
    Reply::error(format!(
        "ERR wrong number of arguments for '{}' command",
        fullname
    ))
}

/// Redis's getIntFromObjectOrReply: not an integer, or outside the C int range.
pub fn int_arg(b: &[u8]) -> Result<i32, Reply> {
    match ferrodis_ds::num::string2ll(b) {
        None => Err(not_integer()),
        Some(v) if v < i32::MIN as i64 || v > i32::MAX as i64 => Err(Reply::err_static(
            "ERR value is out of range, value must between -2147483648 and 2147483647",
        )),
        Some(v) => Ok(v as i32),
    }
}
