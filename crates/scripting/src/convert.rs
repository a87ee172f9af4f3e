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
use mlua::{Lua, Table, Value};

/// The error table `{err = msg}` (msg carries its code: "ERR ...").
pub fn error_table(lua: &Lua, msg: &[u8]) -> mlua::Result<Table> {
    let t = lua.create_table_with_capacity(0, 1)?;
    t.raw_set("err", lua.create_string(msg)?)?;
    Ok(t)
}

/// Converts a command's reply for a script client speaking `resp`.
pub fn reply_to_lua(lua: &Lua, reply: Reply, resp: u8) -> mlua::Result<Value> {
    Ok(match reply {
        Reply::Ok => {
            let t = lua.create_table_with_capacity(0, 1)?;
            t.raw_set("ok", "OK")?;
            Value::Table(t)
        }
        Reply::Status(s) => {
            let t = lua.create_table_with_capacity(0, 1)?;
            t.raw_set("ok", lua.create_string(&s)?)?;
            Value::Table(t)
        }
        Reply::Error(e) => Value::Table(error_table(lua, &e)?),
        Reply::Int(i) => Value::Number(i as f64),
        Reply::Bulk(b) => Value::String(lua.create_string(&b)?),
        Reply::ShortBulk { len, data } => Value::String(lua.create_string(&data[..len as usize])?),
        Reply::Null | Reply::NullArray if resp == 2 => Value::Boolean(false),
        Reply::Null | Reply::NullArray => Value::Nil,
        Reply::Array(items) => {
            let t = lua.create_table_with_capacity(items.len(), 0)?;
            for (i, r) in items.into_iter().enumerate() {
                t.raw_set(i + 1, reply_to_lua(lua, r, resp)?)?;
            }
            Value::Table(t)
        }
        Reply::NoReply | Reply::Block(_) | Reply::Blocked(_) => Value::Boolean(false),
        // The remaining shapes differ between protocols: go through the wire form, exactly as
        // the client would see it.
        other => {
            let mut buf = BytesMut::new();
            other.encode(resp, &mut buf);
            match ferrodis_resp::frame::decode_frame(&buf) {
                Ok(Some((frame, _))) => frame_to_lua(lua, frame)?,
                _ => Value::Boolean(false),
            }
        }
    })
}

fn frame_to_lua(lua: &Lua, f: Frame) -> mlua::Result<Value> {
    Ok(match f {
        Frame::Simple(s) => {
            let t = lua.create_table_with_capacity(0, 1)?;
            t.raw_set("ok", lua.create_string(&s)?)?;
            Value::Table(t)
        }
        Frame::Error(e) => Value::Table(error_table(lua, &e)?),
        Frame::Integer(i) => Value::Number(i as f64),
        Frame::Bulk(b) => Value::String(lua.create_string(&b)?),
        Frame::NullBulk | Frame::NullArray => Value::Boolean(false),
        Frame::Null => Value::Nil,
        Frame::Array(v) => {
            let t = lua.create_table_with_capacity(v.len(), 0)?;
            for (i, x) in v.into_iter().enumerate() {
                t.raw_set(i + 1, frame_to_lua(lua, x)?)?;
            }
            Value::Table(t)
        }
        Frame::Boolean(b) => Value::Boolean(b),
        Frame::Double(d) => {
            let t = lua.create_table_with_capacity(0, 1)?;
            t.raw_set("double", d)?;
            Value::Table(t)
        }
        Frame::BigNumber(n) => {
            let t = lua.create_table_with_capacity(0, 1)?;
            t.raw_set("big_number", lua.create_string(&n)?)?;
            Value::Table(t)
        }
        Frame::Verbatim { format, data } => {
            let inner = lua.create_table_with_capacity(0, 2)?;
            inner.raw_set("format", lua.create_string(format)?)?;
            inner.raw_set("string", lua.create_string(&data)?)?;
            let t = lua.create_table_with_capacity(0, 1)?;
            t.raw_set("verbatim_string", inner)?;
            Value::Table(t)
        }
        Frame::Map(m) => {
            let inner = lua.create_table_with_capacity(0, m.len())?;
            for (k, v) in m {
                inner.raw_set(frame_to_lua(lua, k)?, frame_to_lua(lua, v)?)?;
            }
            let t = lua.create_table_with_capacity(0, 1)?;
            t.raw_set("map", inner)?;
            Value::Table(t)
        }
        Frame::Set(items) => {
            let inner = lua.create_table_with_capacity(0, items.len())?;
            for k in items {
                inner.raw_set(frame_to_lua(lua, k)?, true)?;
            }
            let t = lua.create_table_with_capacity(0, 1)?;
            t.raw_set("set", inner)?;
            Value::Table(t)
        }
        // Attributes are not shown to scripts (as in Redis): only the reply they describe.
        Frame::Attribute { data, .. } => frame_to_lua(lua, *data)?,
        #[allow(unreachable_patterns)]
        _ => Value::Nil,
    })
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

/// C's `%.17g`.
pub fn fmt_g17(d: f64) -> String {
    if d.is_nan() {
        return if d.is_sign_negative() { "-nan" } else { "nan" }.into();
    }
    if d.is_infinite() {
        return if d > 0.0 { "inf" } else { "-inf" }.into();
    }
    if d == 0.0 {
        return if d.is_sign_negative() { "-0" } else { "0" }.into();
    }
    let exp = d.abs().log10().floor() as i32;
    // %e form with 17 significant digits, to learn the real exponent after rounding.
    let e_form = format!("{:.16e}", d);
    let (mant, e) = e_form.split_once('e').unwrap_or((&e_form, "0"));
    let e: i32 = e.parse().unwrap_or(exp);
    if !(-4..17).contains(&e) {
        let mant = trim_zeros(mant);
        let sign = if e < 0 { '-' } else { '+' };
        format!("{}e{}{:02}", mant, sign, e.abs())
    } else {
        let decimals = (16 - e).max(0) as usize;
        trim_zeros(&format!("{:.*}", decimals, d)).to_string()
    }
}

fn trim_zeros(s: &str) -> &str {
    if s.contains('.') {
        s.trim_end_matches('0').trim_end_matches('.')
    } else {
        s
    }
}

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
