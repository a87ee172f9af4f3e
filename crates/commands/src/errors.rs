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

/// `ERR unknown command 'x', with args beginning with: 'a' 'b' `
pub fn unknown_command(argv: &[bytes::Bytes]) -> Reply {
    let name = argv.first().map(|a| a.as_ref()).unwrap_or(b"");
    let mut s = String::from("ERR unknown command '");
    s.push_str(&sanitize_for_error(name, 128));
    s.push_str("', with args beginning with: ");
    for a in argv.iter().skip(1) {
        if s.len() >= 128 + 60 {
            break;
        }
        s.push('\'');
        s.push_str(&sanitize_for_error(
            a,
            128usize.saturating_sub(s.len()).max(1),
        ));
        s.push_str("' ");
    }
    Reply::error(s)
}

/// `ERR unknown subcommand 'x'. Try CONFIG HELP.`
pub fn unknown_subcommand(sub: &[u8], cmd: &str) -> Reply {
    Reply::error(format!(
        "ERR unknown subcommand '{}'. Try {} HELP.",
        sanitize_for_error(sub, 128),
        cmd.to_ascii_uppercase()
    ))
}

/// `ERR wrong number of arguments for 'get' command`
pub fn wrong_arity(fullname: &str) -> Reply {
    Reply::error(format!(
        "ERR wrong number of arguments for '{}' command",
        fullname
    ))
}

/// Error replies can't carry newlines; Redis replaces them (and truncates long
/// user-provided strings) when it echoes client input back in an error.
pub fn sanitize_for_error(b: &[u8], max: usize) -> String {
    let s = String::from_utf8_lossy(&b[..b.len().min(max)]);
    s.chars()
        .map(|c| if c == '\r' || c == '\n' { ' ' } else { c })
        .collect()
}
