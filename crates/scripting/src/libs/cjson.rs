//! `cjson`: JSON encode/decode with lua-cjson's behaviour as Redis ships it (numbers with 14
//! significant digits, `cjson.null`, sparse-array and depth checks, its configuration
//! functions). Written here in Rust.

use mlua::{LightUserData, Lua, MultiValue, Table, Value};
use std::cell::Cell;
use std::rc::Rc;

struct Config {
    encode_max_depth: Cell<i64>,
    decode_max_depth: Cell<i64>,
    encode_invalid_numbers: Cell<bool>,
    decode_invalid_numbers: Cell<bool>,
    precision: Cell<i64>,
    sparse_convert: Cell<bool>,
    sparse_ratio: Cell<i64>,
    sparse_safe: Cell<i64>,
}

fn null() -> Value {
    Value::LightUserData(LightUserData(std::ptr::null_mut()))
}

fn err<T>(msg: impl Into<String>) -> mlua::Result<T> {
    Err(mlua::Error::RuntimeError(msg.into()))
}

/// C's `%.<prec>g`.
pub fn fmt_g(d: f64, prec: usize) -> String {
    if d.is_nan() {
        return if d.is_sign_negative() { "-nan" } else { "nan" }.into();
    }
    if d.is_infinite() {
        return if d > 0.0 { "inf" } else { "-inf" }.into();
    }
    if d == 0.0 {
        return if d.is_sign_negative() { "-0" } else { "0" }.into();
    }
    let prec = prec.max(1);
    let e_form = format!("{:.*e}", prec - 1, d);
    let (mant, e) = e_form.split_once('e').unwrap_or((&e_form, "0"));
    let e: i32 = e.parse().unwrap_or(0);
    let trim = |s: &str| -> String {
        if s.contains('.') {
            s.trim_end_matches('0').trim_end_matches('.').to_string()
        } else {
            s.to_string()
        }
    };
    if e < -4 || e >= prec as i32 {
        format!(
            "{}e{}{:02}",
            trim(mant),
            if e < 0 { '-' } else { '+' },
            e.abs()
        )
    } else {
        let decimals = (prec as i32 - 1 - e).max(0) as usize;
        trim(&format!("{:.*}", decimals, d))
    }
}

fn encode_string(out: &mut Vec<u8>, s: &[u8]) {
    out.push(b'"');
    for &c in s {
        match c {
            b'"' => out.extend_from_slice(b"\\\""),
            b'\\' => out.extend_from_slice(b"\\\\"),
            b'/' => out.extend_from_slice(b"\\/"),
            b'\n' => out.extend_from_slice(b"\\n"),
            b'\r' => out.extend_from_slice(b"\\r"),
            b'\t' => out.extend_from_slice(b"\\t"),
            8 => out.extend_from_slice(b"\\b"),
            12 => out.extend_from_slice(b"\\f"),
            0..=31 | 127 => out.extend_from_slice(format!("\\u{:04x}", c).as_bytes()),
            _ => out.push(c),
        }
    }
    out.push(b'"');
}

fn encode_number(cfg: &Config, out: &mut Vec<u8>, n: f64) -> mlua::Result<()> {
    if !n.is_finite() && !cfg.encode_invalid_numbers.get() {
        return err("Cannot serialise number: must not be NaN or Inf");
    }
    out.extend_from_slice(fmt_g(n, cfg.precision.get() as usize).as_bytes());
    Ok(())
}

/// lua-cjson's lua_array_length: Some(n) for arrays, None for objects.
fn array_length(cfg: &Config, t: &Table) -> mlua::Result<Option<usize>> {
    let (mut max, mut items) = (0f64, 0usize);
    for pair in t.clone().pairs::<Value, Value>() {
        let (k, _) = pair?;
        let n = match k {
            Value::Integer(i) => i as f64,
            Value::Number(n) => n,
            _ => return Ok(None),
        };
        if n < 1.0 || n.floor() != n {
            return Ok(None);
        }
        max = max.max(n);
        items += 1;
    }
    let ratio = cfg.sparse_ratio.get();
    if ratio > 0 && max > (items as f64) * ratio as f64 && max > cfg.sparse_safe.get() as f64 {
        if !cfg.sparse_convert.get() {
            return err("Cannot serialise table: excessively sparse array");
        }
        return Ok(None);
    }
    Ok(Some(max as usize))
}

fn encode_value(cfg: &Config, out: &mut Vec<u8>, v: &Value, depth: i64) -> mlua::Result<()> {
    match v {
        Value::Nil => out.extend_from_slice(b"null"),
        Value::LightUserData(p) if p.0.is_null() => out.extend_from_slice(b"null"),
        Value::Boolean(b) => out.extend_from_slice(if *b { b"true" } else { b"false" }),
        Value::Integer(i) => encode_number(cfg, out, *i as f64)?,
        Value::Number(n) => encode_number(cfg, out, *n)?,
        Value::String(s) => encode_string(out, &s.as_bytes()),
        Value::Table(t) => {
            let depth = depth + 1;
            if depth > cfg.encode_max_depth.get() {
                return err(format!("Cannot serialise, excessive nesting ({depth})"));
            }
            if t.raw_len() == 0 && t.clone().pairs::<Value, Value>().next().is_none() {
                out.extend_from_slice(b"{}");
                return Ok(());
            }
            match array_length(cfg, t)? {
                Some(n) => {
                    out.push(b'[');
                    for i in 1..=n {
                        if i > 1 {
                            out.push(b',');
                        }
                        let item: Value = t.raw_get(i)?;
                        encode_value(cfg, out, &item, depth)?;
                    }
                    out.push(b']');
                }
                None => {
                    out.push(b'{');
                    let mut first = true;
                    for pair in t.clone().pairs::<Value, Value>() {
                        let (k, val) = pair?;
                        if !first {
                            out.push(b',');
                        }
                        first = false;
                        match &k {
                            Value::String(s) => encode_string(out, &s.as_bytes()),
                            Value::Integer(i) => {
                                out.push(b'"');
                                encode_number(cfg, out, *i as f64)?;
                                out.push(b'"');
                            }
                            Value::Number(n) => {
                                out.push(b'"');
                                encode_number(cfg, out, *n)?;
                                out.push(b'"');
                            }
                            _ => {
                                return err(
                                    "Cannot serialise table: table key must be a number or string",
                                )
                            }
                        }
                        out.push(b':');
                        encode_value(cfg, out, &val, depth)?;
                    }
                    out.push(b'}');
                }
            }
        }
        other => {
            return err(format!(
                "Cannot serialise {}: type not supported",
                other.type_name()
            ))
        }
    }
    Ok(())
}

struct Parser<'a> {
    s: &'a [u8],
    pos: usize,
    cfg: &'a Config,
}

impl Parser<'_> {
    fn ws(&mut self) {
        while self.pos < self.s.len() && matches!(self.s[self.pos], b' ' | b'\t' | b'\n' | b'\r') {
            self.pos += 1;
        }
    }
    fn fail<T>(&self, what: &str) -> mlua::Result<T> {
        err(format!(
            "Expected {what} but found invalid token at character {}",
            self.pos + 1
        ))
    }
    fn value(&mut self, lua: &Lua, depth: i64) -> mlua::Result<Value> {
        self.ws();
        let Some(&c) = self.s.get(self.pos) else {
            return self.fail("value");
        };
        match c {
            b'{' | b'[' => {
                let depth = depth + 1;
                if depth > self.cfg.decode_max_depth.get() {
                    return err(format!(
                        "Found too many nested data structures ({depth}) at character {}",
                        self.pos + 1
                    ));
                }
                self.pos += 1;
                let t = lua.create_table()?;
                if c == b'[' {
                    self.ws();
                    if self.s.get(self.pos) == Some(&b']') {
                        self.pos += 1;
                        return Ok(Value::Table(t));
                    }
                    let mut i = 1;
                    loop {
                        let v = self.value(lua, depth)?;
                        t.raw_set(i, v)?;
                        i += 1;
                        self.ws();
                        match self.s.get(self.pos) {
                            Some(b',') => self.pos += 1,
                            Some(b']') => {
                                self.pos += 1;
                                return Ok(Value::Table(t));
                            }
                            _ => return self.fail("comma or array end"),
                        }
                    }
                }
                self.ws();
                if self.s.get(self.pos) == Some(&b'}') {
                    self.pos += 1;
                    return Ok(Value::Table(t));
                }
                loop {
                    self.ws();
                    if self.s.get(self.pos) != Some(&b'"') {
                        return self.fail("object key string");
                    }
                    let k = self.string()?;
                    self.ws();
                    if self.s.get(self.pos) != Some(&b':') {
                        return self.fail("colon");
                    }
                    self.pos += 1;
                    let v = self.value(lua, depth)?;
                    t.raw_set(lua.create_string(&k)?, v)?;
                    self.ws();
                    match self.s.get(self.pos) {
                        Some(b',') => self.pos += 1,
                        Some(b'}') => {
                            self.pos += 1;
                            return Ok(Value::Table(t));
                        }
                        _ => return self.fail("comma or object end"),
                    }
                }
            }
            b'"' => Ok(Value::String(lua.create_string(self.string()?)?)),
            b't' if self.s[self.pos..].starts_with(b"true") => {
                self.pos += 4;
                Ok(Value::Boolean(true))
            }
            b'f' if self.s[self.pos..].starts_with(b"false") => {
                self.pos += 5;
                Ok(Value::Boolean(false))
            }
            b'n' if self.s[self.pos..].starts_with(b"null") => {
                self.pos += 4;
                Ok(null())
            }
            b'-' | b'0'..=b'9' | b'i' | b'I' | b'n' | b'N' => {
                let start = self.pos;
                while self.pos < self.s.len()
                    && matches!(self.s[self.pos], b'-' | b'+' | b'.' | b'e' | b'E' | b'x' | b'X' | b'0'..=b'9' | b'a'..=b'f' | b'A'..=b'F' | b'i' | b'n' | b'I' | b'N' | b't' | b'y')
                {
                    self.pos += 1;
                }
                let txt = std::str::from_utf8(&self.s[start..self.pos]).unwrap_or("");
                let lower = txt.to_ascii_lowercase();
                let n = match lower.as_str() {
                    "inf" | "infinity" if self.cfg.decode_invalid_numbers.get() => f64::INFINITY,
                    "-inf" | "-infinity" if self.cfg.decode_invalid_numbers.get() => {
                        f64::NEG_INFINITY
                    }
                    "nan" | "-nan" if self.cfg.decode_invalid_numbers.get() => f64::NAN,
                    _ => match txt.parse::<f64>() {
                        Ok(n) if !lower.contains("inf") && !lower.contains("nan") => n,
                        _ => {
                            self.pos = start;
                            return self.fail("value");
                        }
                    },
                };
                Ok(Value::Number(n))
            }
            _ => self.fail("value"),
        }
    }
    fn string(&mut self) -> mlua::Result<Vec<u8>> {
        self.pos += 1;
        let mut out = Vec::new();
        loop {
            let Some(&c) = self.s.get(self.pos) else {
                return err(format!(
                    "Expected string end but found end of input at character {}",
                    self.pos + 1
                ));
            };
            self.pos += 1;
            match c {
                b'"' => return Ok(out),
                b'\\' => {
                    let Some(&e) = self.s.get(self.pos) else {
                        return self.fail("escape");
                    };
                    self.pos += 1;
                    match e {
                        b'"' | b'\\' | b'/' => out.push(e),
                        b'b' => out.push(8),
                        b'f' => out.push(12),
                        b'n' => out.push(b'\n'),
                        b'r' => out.push(b'\r'),
                        b't' => out.push(b'\t'),
                        b'u' => {
                            let mut cp = self.hex4()?;
                            if (0xd800..0xdc00).contains(&cp)
                                && self.s.get(self.pos) == Some(&b'\\')
                                && self.s.get(self.pos + 1) == Some(&b'u')
                            {
                                self.pos += 2;
                                let lo = self.hex4()?;
                                cp = 0x10000
                                    + ((cp - 0xd800) << 10)
                                    + (lo.wrapping_sub(0xdc00) & 0x3ff);
                            }
                            let ch = char::from_u32(cp).unwrap_or('\u{fffd}');
                            let mut b = [0u8; 4];
                            out.extend_from_slice(ch.encode_utf8(&mut b).as_bytes());
                        }
                        _ => return self.fail("valid escape"),
                    }
                }
                _ => out.push(c),
            }
        }
    }
    fn hex4(&mut self) -> mlua::Result<u32> {
        let h = self
            .s
            .get(self.pos..self.pos + 4)
            .and_then(|h| std::str::from_utf8(h).ok())
            .and_then(|h| u32::from_str_radix(h, 16).ok());
        match h {
            Some(v) => {
                self.pos += 4;
                Ok(v)
            }
            None => self.fail("unicode escape"),
        }
    }
}

pub fn create(lua: &Lua) -> mlua::Result<Table> {
    let cfg = Rc::new(Config {
        encode_max_depth: Cell::new(1000),
        decode_max_depth: Cell::new(1000),
        encode_invalid_numbers: Cell::new(false),
        decode_invalid_numbers: Cell::new(true),
        precision: Cell::new(14),
        sparse_convert: Cell::new(false),
        sparse_ratio: Cell::new(2),
        sparse_safe: Cell::new(10),
    });
    let t = lua.create_table()?;
    let c = cfg.clone();
    t.raw_set(
        "encode",
        lua.create_function(move |lua, args: MultiValue| {
            if args.len() != 1 {
                return err("bad argument #1 to 'encode' (expected 1 argument)");
            }
            let mut out = Vec::new();
            encode_value(&c, &mut out, args.front().unwrap_or(&Value::Nil), 0)?;
            lua.create_string(out)
        })?,
    )?;
    let c = cfg.clone();
    t.raw_set(
        "decode",
        lua.create_function(move |lua, s: mlua::String| {
            let bytes = s.as_bytes();
            let mut p = Parser {
                s: &bytes,
                pos: 0,
                cfg: &c,
            };
            let v = p.value(lua, 0)?;
            p.ws();
            if p.pos != bytes.len() {
                return p.fail("the end");
            }
            Ok(v)
        })?,
    )?;
    t.raw_set("null", null())?;
    macro_rules! int_opt {
        ($name:literal, $field:ident) => {{
            let c = cfg.clone();
            t.raw_set(
                $name,
                lua.create_function(move |_, v: Option<i64>| {
                    if let Some(v) = v {
                        c.$field.set(v);
                    }
                    Ok(c.$field.get())
                })?,
            )?;
        }};
    }
    int_opt!("encode_max_depth", encode_max_depth);
    int_opt!("decode_max_depth", decode_max_depth);
    int_opt!("encode_number_precision", precision);
    let c = cfg.clone();
    t.raw_set(
        "encode_invalid_numbers",
        lua.create_function(move |_, v: Value| {
            match v {
                Value::Boolean(b) => c.encode_invalid_numbers.set(b),
                Value::String(s) if &s.as_bytes()[..] == b"on" => {
                    c.encode_invalid_numbers.set(true)
                }
                Value::String(s) if &s.as_bytes()[..] == b"off" => {
                    c.encode_invalid_numbers.set(false)
                }
                _ => {}
            }
            Ok(c.encode_invalid_numbers.get())
        })?,
    )?;
    let c = cfg.clone();
    t.raw_set(
        "decode_invalid_numbers",
        lua.create_function(move |_, v: Value| {
            if let Value::Boolean(b) = v {
                c.decode_invalid_numbers.set(b);
            }
            Ok(c.decode_invalid_numbers.get())
        })?,
    )?;
    let c = cfg;
    t.raw_set(
        "encode_sparse_array",
        lua.create_function(
            move |_, (conv, ratio, safe): (Option<bool>, Option<i64>, Option<i64>)| {
                if let Some(v) = conv {
                    c.sparse_convert.set(v);
                }
                if let Some(v) = ratio {
                    c.sparse_ratio.set(v);
                }
                if let Some(v) = safe {
                    c.sparse_safe.set(v);
                }
                Ok((
                    c.sparse_convert.get(),
                    c.sparse_ratio.get(),
                    c.sparse_safe.get(),
                ))
            },
        )?,
    )?;
    t.raw_set(
        "encode_keep_buffer",
        lua.create_function(|_, v: Option<bool>| Ok(v.unwrap_or(true)))?,
    )?;
    t.raw_set("_NAME", "cjson")?;
    t.raw_set("_VERSION", "2.1.0")?;
    Ok(t)
}
