//! Conversions between Redis replies and Lua values, as Redis 7.0 does them.
//!
//! Reply → Lua (what `redis.call` returns): integers → numbers, bulk → strings, status →
//! `{ok=...}`, error → `{err=...}`, nulls → `false` (RESP2) or `nil` (RESP3), arrays → tables;
//! with RESP3: map → `{map={...}}`, set → `{set={k=true}}`, double → `{double=n}`, boolean,
//! big number → `{big_number=s}`, verbatim → `{verbatim_string={format=, string=}}`.
//!
//! Lua → reply (what a script returns): numbers are truncated to integers, `false` → null,
//! `true` → 1 (RESP3: boolean), tables with `err`/`ok`/`double`/`map`/`set`/... fields map to
//! those replies, other tables are arrays up to the first nil.

use crate::Reply;
use bytes::{Bytes, BytesMut};
use ferrodis_resp::Frame;
use mlua::{ffi, Lua, Table, Value};

/// The error table `{err = msg}` (msg carries its code: "ERR ...").
pub fn error_table(lua: &Lua, msg: &[u8]) -> mlua::Result<Table> {
    let t = lua.create_table_with_capacity(0, 1)?;
    t.raw_set("err", lua.create_string(msg)?)?;
    Ok(t)
}

/// Pushes a command's reply, converted for a script client speaking `resp`, on `state`'s
/// stack (one value).
///
/// # Safety
/// `state` must be a running Lua state with room for one more value. Allocation failures
/// raise a Lua error, so the caller lifts the memory limit first (see [`crate::call`]).
pub(crate) unsafe fn push_reply(state: *mut ffi::lua_State, reply: Reply, resp: u8) {
    match reply {
        Reply::Ok => push_field_table(state, b"ok", b"OK"),
        Reply::Status(s) => push_field_table(state, b"ok", &s),
        Reply::Error(e) => push_field_table(state, b"err", &e),
        Reply::Int(i) => ffi::lua_pushnumber(state, i as f64),
        Reply::Bulk(b) => push_bytes(state, &b),
        Reply::ShortBulk { len, data } => push_bytes(state, &data[..usize::from(len)]),
        Reply::Null | Reply::NullArray if resp == 2 => ffi::lua_pushboolean(state, 0),
        Reply::Null | Reply::NullArray => ffi::lua_pushnil(state),
        Reply::Array(items) => {
            if !room(state) {
                return;
            }
            ffi::lua_createtable(state, len_hint(items.len()), 0);
            for (i, r) in items.into_iter().enumerate() {
                push_reply(state, r, resp);
                ffi::lua_rawseti(state, -2, i as ffi::lua_Integer + 1);
            }
        }
        Reply::NoReply | Reply::Block(_) | Reply::Blocked(_) => ffi::lua_pushboolean(state, 0),
        // The remaining shapes differ between protocols: go through the wire form, exactly as
        // the client would see it.
        other => {
            let mut buf = BytesMut::new();
            other.encode(resp, &mut buf);
            match ferrodis_resp::frame::decode_frame(&buf) {
                Ok(Some((frame, _))) => push_frame(state, frame),
                _ => ffi::lua_pushboolean(state, 0),
            }
        }
    }
}

/// Pushes a decoded RESP frame as Redis converts it for scripts.
///
/// # Safety
/// As [`push_reply`].
unsafe fn push_frame(state: *mut ffi::lua_State, f: Frame) {
    match f {
        Frame::Simple(s) => push_field_table(state, b"ok", &s),
        Frame::Error(e) => push_field_table(state, b"err", &e),
        Frame::Integer(i) => ffi::lua_pushnumber(state, i as f64),
        Frame::Bulk(b) => push_bytes(state, &b),
        Frame::NullBulk | Frame::NullArray => ffi::lua_pushboolean(state, 0),
        Frame::Null => ffi::lua_pushnil(state),
        Frame::Boolean(b) => ffi::lua_pushboolean(state, i32::from(b)),
        Frame::Double(d) => {
            ffi::lua_createtable(state, 0, 1);
            push_bytes(state, b"double");
            ffi::lua_pushnumber(state, d);
            ffi::lua_rawset(state, -3);
        }
        Frame::BigNumber(n) => push_field_table(state, b"big_number", &n),
        Frame::Verbatim { format, data } => {
            if !room(state) {
                return;
            }
            ffi::lua_createtable(state, 0, 1);
            push_bytes(state, b"verbatim_string");
            ffi::lua_createtable(state, 0, 2);
            push_bytes(state, b"format");
            push_bytes(state, &format);
            ffi::lua_rawset(state, -3);
            push_bytes(state, b"string");
            push_bytes(state, &data);
            ffi::lua_rawset(state, -3);
            ffi::lua_rawset(state, -3);
        }
        Frame::Array(v) => {
            if !room(state) {
                return;
            }
            ffi::lua_createtable(state, len_hint(v.len()), 0);
            for (i, x) in v.into_iter().enumerate() {
                push_frame(state, x);
                ffi::lua_rawseti(state, -2, i as ffi::lua_Integer + 1);
            }
        }
        Frame::Map(m) => {
            if !room(state) {
                return;
            }
            ffi::lua_createtable(state, 0, 1);
            push_bytes(state, b"map");
            ffi::lua_createtable(state, 0, len_hint(m.len()));
            for (k, v) in m {
                push_frame(state, k);
                push_frame(state, v);
                set_pair(state);
            }
            ffi::lua_rawset(state, -3);
        }
        Frame::Set(items) => {
            if !room(state) {
                return;
            }
            ffi::lua_createtable(state, 0, 1);
            push_bytes(state, b"set");
            ffi::lua_createtable(state, 0, len_hint(items.len()));
            for k in items {
                push_frame(state, k);
                ffi::lua_pushboolean(state, 1);
                set_pair(state);
            }
            ffi::lua_rawset(state, -3);
        }
        // Attributes are not shown to scripts (as in Redis): only the reply they describe.
        Frame::Attribute { data, .. } => push_frame(state, *data),
        #[allow(unreachable_patterns)]
        _ => ffi::lua_pushnil(state),
    }
}

/// Stores the key and value on top of the stack into the table below them; a nil key (a
/// RESP3 null as a map key or set member) is dropped, as a Lua table cannot hold it.
unsafe fn set_pair(state: *mut ffi::lua_State) {
    if ffi::lua_type(state, -2) == ffi::LUA_TNIL {
        ffi::lua_settop(state, -3);
    } else {
        ffi::lua_rawset(state, -3);
    }
}

/// Room for a nested table and its fields; when the stack cannot grow (a reply nested
/// thousands deep), a nil stands for the rest.
unsafe fn room(state: *mut ffi::lua_State) -> bool {
    if ffi::lua_checkstack(state, 4) == 0 {
        ffi::lua_pushnil(state);
        return false;
    }
    true
}

fn len_hint(n: usize) -> i32 {
    i32::try_from(n).unwrap_or(i32::MAX)
}

unsafe fn push_bytes(state: *mut ffi::lua_State, b: &[u8]) {
    ffi::lua_pushlstring(state, b.as_ptr().cast(), b.len());
}

/// Pushes the one-field table `{name = value}` (`{ok = ...}`, `{err = ...}`).
///
/// # Safety
/// As [`push_reply`].
pub(crate) unsafe fn push_field_table(state: *mut ffi::lua_State, name: &[u8], value: &[u8]) {
    ffi::lua_createtable(state, 0, 1);
    push_bytes(state, name);
    push_bytes(state, value);
    ffi::lua_rawset(state, -3);
}

/// Status and bulk-like strings in replies may not contain CR or LF.
fn no_newlines(s: &[u8]) -> Bytes {
    Bytes::from(
        s.iter()
            .map(|&b| if b == b'\r' || b == b'\n' { b' ' } else { b })
            .collect::<Vec<u8>>(),
    )
}

/// Converts a script's return value into the reply for its caller; `resp` is the script
/// client's protocol (booleans depend on it, as in Redis).
pub fn lua_to_reply(v: &Value, resp: u8) -> Reply {
    lua_to_reply_depth(v, resp, 0)
}

fn lua_to_reply_depth(v: &Value, resp: u8, depth: usize) -> Reply {
    if depth > 1000 {
        return Reply::err_static("ERR reached lua stack limit");
    }
    match v {
        Value::String(s) => Reply::Bulk(Bytes::copy_from_slice(&s.as_bytes())),
        Value::Boolean(b) => {
            if resp == 2 {
                if *b {
                    Reply::Int(1)
                } else {
                    Reply::Null
                }
            } else {
                Reply::Bool(*b)
            }
        }
        Value::Integer(i) => Reply::Int(*i),
        Value::Number(n) => Reply::Int(double_to_i64(*n)),
        Value::Table(t) => table_to_reply(t, resp, depth),
        _ => Reply::Null,
    }
}

/// C's `(long long)d` for the values where it is defined; saturating elsewhere.
fn double_to_i64(n: f64) -> i64 {
    if n.is_nan() {
        i64::MIN
    } else {
        n as i64
    }
}

fn table_to_reply(t: &Table, resp: u8, depth: usize) -> Reply {
    if let Ok(Value::String(e)) = t.raw_get::<Value>("err") {
        let msg = no_newlines(&e.as_bytes());
        return Reply::Error(msg);
    }
    if let Ok(Value::String(s)) = t.raw_get::<Value>("ok") {
        return Reply::Status(no_newlines(&s.as_bytes()));
    }
    match t.raw_get::<Value>("double") {
        Ok(Value::Number(n)) => return Reply::Double(n),
        Ok(Value::Integer(n)) => return Reply::Double(n as f64),
        _ => {}
    }
    if let Ok(Value::String(s)) = t.raw_get::<Value>("big_number") {
        return Reply::BigNumber(no_newlines(&s.as_bytes()));
    }
    if let Ok(Value::Table(vt)) = t.raw_get::<Value>("verbatim_string") {
        if let (Ok(Value::String(f)), Ok(Value::String(s))) =
            (vt.raw_get::<Value>("format"), vt.raw_get::<Value>("string"))
        {
            let fmt = if &f.as_bytes()[..] == b"mkd" {
                "mkd"
            } else {
                "txt"
            };
            return Reply::Verbatim(fmt, Bytes::copy_from_slice(&s.as_bytes()));
        }
    }
    if let Ok(Value::Table(m)) = t.raw_get::<Value>("map") {
        let mut out = Vec::new();
        for (k, v) in m.pairs::<Value, Value>().flatten() {
            out.push((
                lua_to_reply_depth(&k, resp, depth + 1),
                lua_to_reply_depth(&v, resp, depth + 1),
            ));
        }
        return Reply::Map(out);
    }
    if let Ok(Value::Table(s)) = t.raw_get::<Value>("set") {
        let mut out = Vec::new();
        for (k, _) in s.pairs::<Value, Value>().flatten() {
            out.push(lua_to_reply_depth(&k, resp, depth + 1));
        }
        return Reply::Set(out);
    }
    let mut out = Vec::new();
    let mut i = 1;
    loop {
        match t.raw_get::<Value>(i) {
            Ok(Value::Nil) | Err(_) => break,
            Ok(v) => out.push(lua_to_reply_depth(&v, resp, depth + 1)),
        }
        i += 1;
    }
    Reply::Array(out)
}

/// Arguments of `redis.call`: strings as they are, numbers as `%.17g` (Redis formats them
/// so; Lua's own conversion would lose precision). Anything else is refused.
pub fn arg_bytes(v: &Value) -> Option<Bytes> {
    match v {
        Value::String(s) => Some(Bytes::copy_from_slice(&s.as_bytes())),
        Value::Integer(i) => Some(Bytes::from(i.to_string())),
        Value::Number(n) => Some(Bytes::from(fmt_g17(*n))),
        _ => None,
    }
}

pub use ferrodis_ds::num::fmt_g17;

#[cfg(test)]
mod tests {
    use super::fmt_g17;

    #[test]
    fn g17() {
        assert_eq!(fmt_g17(1.0), "1");
        assert_eq!(fmt_g17(0.1), "0.10000000000000001");
        assert_eq!(fmt_g17(3.5), "3.5");
        assert_eq!(fmt_g17(1e20), "1e+20");
        assert_eq!(fmt_g17(123456789.0), "123456789");
        assert_eq!(fmt_g17(-2.5e-7), "-2.4999999999999999e-07");
    }
}
