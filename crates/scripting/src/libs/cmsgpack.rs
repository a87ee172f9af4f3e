//! `cmsgpack`: MessagePack pack/unpack with lua-cmsgpack's behaviour as Redis ships it
//! (integers in the smallest encoding, floats as float32 when exact, tables as arrays when
//! their keys are 1..n, nesting cut at 16 levels with nil). Written here in Rust.

use mlua::{Lua, MultiValue, Table, Value};

const MAX_NESTING: usize = 16;

fn err<T>(msg: &str) -> mlua::Result<T> {
    Err(mlua::Error::RuntimeError(msg.into()))
}

fn pack_number(out: &mut Vec<u8>, n: f64) {
    let i = n as i64;
    if n.is_finite() && i as f64 == n && n.fract() == 0.0 {
        pack_int(out, i);
    } else if (n as f32) as f64 == n || n.is_nan() {
        out.push(0xca);
        out.extend_from_slice(&(n as f32).to_be_bytes());
    } else {
        out.push(0xcb);
        out.extend_from_slice(&n.to_be_bytes());
    }
}

fn pack_int(out: &mut Vec<u8>, n: i64) {
    if n >= 0 {
        let u = n as u64;
        if u <= 127 {
            out.push(u as u8);
        } else if u <= 0xff {
            out.extend_from_slice(&[0xcc, u as u8]);
        } else if u <= 0xffff {
            out.push(0xcd);
            out.extend_from_slice(&(u as u16).to_be_bytes());
        } else if u <= 0xffff_ffff {
            out.push(0xce);
            out.extend_from_slice(&(u as u32).to_be_bytes());
        } else {
            out.push(0xcf);
            out.extend_from_slice(&u.to_be_bytes());
        }
    } else if n >= -32 {
        out.push(n as i8 as u8);
    } else if n >= -128 {
        out.extend_from_slice(&[0xd0, n as i8 as u8]);
    } else if n >= -32768 {
        out.push(0xd1);
        out.extend_from_slice(&(n as i16).to_be_bytes());
    } else if n >= i32::MIN as i64 {
        out.push(0xd2);
        out.extend_from_slice(&(n as i32).to_be_bytes());
    } else {
        out.push(0xd3);
        out.extend_from_slice(&n.to_be_bytes());
    }
}

fn pack_len(out: &mut Vec<u8>, n: usize, fix: u8, fix_max: usize, b16: u8, b32: u8) {
    if n <= fix_max {
        out.push(fix | n as u8);
    } else if n <= 0xffff {
        out.push(b16);
        out.extend_from_slice(&(n as u16).to_be_bytes());
    } else {
        out.push(b32);
        out.extend_from_slice(&(n as u32).to_be_bytes());
    }
}

/// lua-cmsgpack's table_is_an_array: every key a positive integer and no holes.
fn array_len(t: &Table) -> mlua::Result<Option<usize>> {
    let (mut count, mut max) = (0usize, 0usize);
    for pair in t.clone().pairs::<Value, Value>() {
        let (k, _) = pair?;
        let n = match k {
            Value::Integer(i) => i as f64,
            Value::Number(n) => n,
            _ => return Ok(None),
        };
        if n <= 0.0 || n.fract() != 0.0 {
            return Ok(None);
        }
        count += 1;
        max = max.max(n as usize);
    }
    Ok((count == max).then_some(max))
}

fn pack_value(out: &mut Vec<u8>, v: &Value, level: usize) -> mlua::Result<()> {
    match v {
        Value::Boolean(b) => out.push(if *b { 0xc3 } else { 0xc2 }),
        Value::Integer(i) => pack_int(out, *i),
        Value::Number(n) => pack_number(out, *n),
        Value::String(s) => {
            let b = s.as_bytes();
            if b.len() < 32 {
                out.push(0xa0 | b.len() as u8);
            } else if b.len() <= 0xff {
                out.extend_from_slice(&[0xd9, b.len() as u8]);
            } else if b.len() <= 0xffff {
                out.push(0xda);
                out.extend_from_slice(&(b.len() as u16).to_be_bytes());
            } else {
                out.push(0xdb);
                out.extend_from_slice(&(b.len() as u32).to_be_bytes());
            }
            out.extend_from_slice(&b);
        }
        Value::Table(t) if level < MAX_NESTING => match array_len(t)? {
            Some(n) => {
                pack_len(out, n, 0x90, 15, 0xdc, 0xdd);
                for i in 1..=n {
                    let item: Value = t.raw_get(i)?;
                    pack_value(out, &item, level + 1)?;
                }
            }
            None => {
                // Two passes, never holding more than one pair: references into the Lua
                // state are limited (8000), a big table must not be collected.
                let mut n = 0usize;
                t.for_each(|_: Value, _: Value| {
                    n += 1;
                    Ok(())
                })?;
                pack_len(out, n, 0x80, 15, 0xde, 0xdf);
                t.for_each(|k: Value, v: Value| {
                    pack_value(out, &k, level + 1)?;
                    pack_value(out, &v, level + 1)
                })?;
            }
        },
        _ => out.push(0xc0),
    }
    Ok(())
}

struct Reader<'a> {
    b: &'a [u8],
    pos: usize,
}

impl Reader<'_> {
    fn take(&mut self, n: usize) -> mlua::Result<&[u8]> {
        match self.b.get(self.pos..self.pos.saturating_add(n)) {
            Some(s) if self.pos.checked_add(n).is_some() => {
                self.pos += n;
                Ok(s)
            }
            _ => err("Missing bytes in input."),
        }
    }
    fn uint(&mut self, n: usize) -> mlua::Result<u64> {
        let s = self.take(n)?;
        Ok(s.iter().fold(0u64, |acc, &b| (acc << 8) | b as u64))
    }
    fn value(&mut self, lua: &Lua, depth: usize) -> mlua::Result<Value> {
        if depth > 1000 {
            return err("Bad data format in input.");
        }
        let t = self.take(1)?[0];
        Ok(match t {
            0x00..=0x7f => Value::Number(t as f64),
            0x80..=0x8f => self.map(lua, (t & 0x0f) as usize, depth)?,
            0x90..=0x9f => self.array(lua, (t & 0x0f) as usize, depth)?,
            0xa0..=0xbf => self.string(lua, (t & 0x1f) as usize)?,
            0xc0 => Value::Nil,
            0xc2 => Value::Boolean(false),
            0xc3 => Value::Boolean(true),
            0xc4 | 0xd9 => {
                let n = self.uint(1)? as usize;
                self.string(lua, n)?
            }
            0xc5 | 0xda => {
                let n = self.uint(2)? as usize;
                self.string(lua, n)?
            }
            0xc6 | 0xdb => {
                let n = self.uint(4)? as usize;
                self.string(lua, n)?
            }
            0xca => Value::Number(f32::from_bits(self.uint(4)? as u32) as f64),
            0xcb => Value::Number(f64::from_bits(self.uint(8)?)),
            0xcc => Value::Number(self.uint(1)? as f64),
            0xcd => Value::Number(self.uint(2)? as f64),
            0xce => Value::Number(self.uint(4)? as f64),
            0xcf => Value::Number(self.uint(8)? as f64),
            0xd0 => Value::Number(self.uint(1)? as u8 as i8 as f64),
            0xd1 => Value::Number(self.uint(2)? as u16 as i16 as f64),
            0xd2 => Value::Number(self.uint(4)? as u32 as i32 as f64),
            0xd3 => Value::Number(self.uint(8)? as i64 as f64),
            0xdc => {
                let n = self.uint(2)? as usize;
                self.array(lua, n, depth)?
            }
            0xdd => {
                let n = self.uint(4)? as usize;
                self.array(lua, n, depth)?
            }
            0xde => {
                let n = self.uint(2)? as usize;
                self.map(lua, n, depth)?
            }
            0xdf => {
                let n = self.uint(4)? as usize;
                self.map(lua, n, depth)?
            }
            0xe0..=0xff => Value::Number(t as i8 as f64),
            _ => return err("Bad data format in input."),
        })
    }
    fn string(&mut self, lua: &Lua, n: usize) -> mlua::Result<Value> {
        let s = self.take(n)?;
        Ok(Value::String(lua.create_string(s)?))
    }
    fn array(&mut self, lua: &Lua, n: usize, depth: usize) -> mlua::Result<Value> {
        let t = lua.create_table_with_capacity(n.min(1 << 16), 0)?;
        for i in 1..=n {
            let v = self.value(lua, depth + 1)?;
            t.raw_set(i, v)?;
        }
        Ok(Value::Table(t))
    }
    fn map(&mut self, lua: &Lua, n: usize, depth: usize) -> mlua::Result<Value> {
        let t = lua.create_table_with_capacity(0, n.min(1 << 16))?;
        for _ in 0..n {
            let k = self.value(lua, depth + 1)?;
            let v = self.value(lua, depth + 1)?;
            if !matches!(k, Value::Nil) {
                t.raw_set(k, v)?;
            }
        }
        Ok(Value::Table(t))
    }
}

/// Decodes up to `limit` objects (0 = all) from `offset`; returns them and the next offset
/// (-1 once the input is consumed).
fn unpack(lua: &Lua, s: &[u8], limit: usize, offset: usize) -> mlua::Result<(i64, Vec<Value>)> {
    let mut r = Reader { b: s, pos: offset };
    let mut out = Vec::new();
    while r.pos < s.len() && (limit == 0 || out.len() < limit) {
        out.push(r.value(lua, 0)?);
    }
    let next = if r.pos >= s.len() { -1 } else { r.pos as i64 };
    Ok((next, out))
}

pub fn create(lua: &Lua) -> mlua::Result<Table> {
    let t = lua.create_table()?;
    t.raw_set(
        "pack",
        lua.create_function(|lua, args: MultiValue| {
            if args.is_empty() {
                return err("MessagePack pack needs input.");
            }
            let mut out = Vec::new();
            for a in args.iter() {
                pack_value(&mut out, a, 0)?;
            }
            lua.create_string(out)
        })?,
    )?;
    t.raw_set(
        "unpack",
        lua.create_function(|lua, s: mlua::String| {
            let (_, vals) = unpack(lua, &s.as_bytes(), 0, 0)?;
            Ok(MultiValue::from_iter(vals))
        })?,
    )?;
    t.raw_set(
        "unpack_one",
        lua.create_function(|lua, (s, offset): (mlua::String, Option<i64>)| {
            let off = usize::try_from(offset.unwrap_or(0)).unwrap_or(0);
            let (next, vals) = unpack(lua, &s.as_bytes(), 1, off)?;
            let mut mv = vec![Value::Integer(next as _)];
            mv.extend(vals);
            Ok(MultiValue::from_iter(mv))
        })?,
    )?;
    t.raw_set(
        "unpack_limit",
        lua.create_function(
            |lua, (s, limit, offset): (mlua::String, Option<i64>, Option<i64>)| {
                let lim = usize::try_from(limit.unwrap_or(0)).unwrap_or(0);
                let off = usize::try_from(offset.unwrap_or(0)).unwrap_or(0);
                let (next, vals) = unpack(lua, &s.as_bytes(), lim, off)?;
                let mut mv = vec![Value::Integer(next as _)];
                mv.extend(vals);
                Ok(MultiValue::from_iter(mv))
            },
        )?,
    )?;
    t.raw_set("_NAME", "cmsgpack")?;
    t.raw_set("_VERSION", "lua-cmsgpack 0.4.0")?;
    Ok(t)
}
