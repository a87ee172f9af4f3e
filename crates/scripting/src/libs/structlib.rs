//! `struct`: binary pack/unpack/size in the format language of Roberto Ierusalimschy's
//! struct library as Redis ships it (`<` `>` `=` `!` endianness/alignment, `x` padding,
//! `b B h H i I l L T` integers with optional sizes, `f d` floats, `s` zero-terminated and
//! `c` fixed-size strings). Written here in Rust.

use mlua::{Lua, MultiValue, Table, Value};

fn err<T>(msg: String) -> mlua::Result<T> {
    Err(mlua::Error::RuntimeError(msg))
}

enum Item {
    Pad,
    Int { size: usize, signed: bool },
    Float,
    Double,
    ZString,
    Chars(usize),
}

/// Parses the format into items, with the little-endian flag in force for each.
fn parse(fmt: &[u8]) -> mlua::Result<Vec<(Item, bool, usize)>> {
    let mut out = Vec::new();
    let mut little = cfg!(target_endian = "little");
    let mut align = 1usize;
    let mut i = 0;
    let num = |i: &mut usize| -> Option<usize> {
        let start = *i;
        while *i < fmt.len() && fmt[*i].is_ascii_digit() {
            *i += 1;
        }
        std::str::from_utf8(&fmt[start..*i]).ok()?.parse().ok()
    };
    while i < fmt.len() {
        let c = fmt[i];
        i += 1;
        let item = match c {
            b' ' => continue,
            b'<' => {
                little = true;
                continue;
            }
            b'>' => {
                little = false;
                continue;
            }
            b'=' => {
                little = cfg!(target_endian = "little");
                continue;
            }
            b'!' => {
                align = num(&mut i).unwrap_or(8).max(1);
                continue;
            }
            b'x' => Item::Pad,
            b'b' => Item::Int {
                size: 1,
                signed: true,
            },
            b'B' => Item::Int {
                size: 1,
                signed: false,
            },
            b'h' => Item::Int {
                size: 2,
                signed: true,
            },
            b'H' => Item::Int {
                size: 2,
                signed: false,
            },
            b'l' => Item::Int {
                size: 8,
                signed: true,
            },
            b'L' | b'T' => Item::Int {
                size: 8,
                signed: false,
            },
            b'i' | b'I' => {
                let size = num(&mut i).unwrap_or(4);
                if !(1..=8).contains(&size) {
                    return err(format!("integral size {size} is larger than limit of 8"));
                }
                Item::Int {
                    size,
                    signed: c == b'i',
                }
            }
            b'f' => Item::Float,
            b'd' => Item::Double,
            b's' => Item::ZString,
            b'c' => Item::Chars(num(&mut i).unwrap_or(1)),
            other => return err(format!("invalid format option '{}'", other as char)),
        };
        out.push((item, little, align));
    }
    Ok(out)
}

fn size_of(item: &Item) -> usize {
    match item {
        Item::Pad => 1,
        Item::Int { size, .. } => *size,
        Item::Float => 4,
        Item::Double => 8,
        Item::ZString => 0,
        Item::Chars(n) => *n,
    }
}

fn pad_to(len: usize, item: &Item, align: usize) -> usize {
    let s = size_of(item).min(align);
    if s <= 1 || !matches!(item, Item::Int { .. } | Item::Float | Item::Double) {
        return 0;
    }
    (s - len % s) % s
}

fn to_num(v: Option<&Value>, pos: usize) -> mlua::Result<f64> {
    match v {
        Some(Value::Integer(i)) => Ok(*i as f64),
        Some(Value::Number(n)) => Ok(*n),
        Some(Value::String(s)) => s
            .to_str()
            .ok()
            .and_then(|s| s.trim().parse().ok())
            .map_or_else(
                || err(format!("bad argument #{pos} to 'pack' (number expected)")),
                Ok,
            ),
        _ => err(format!(
            "bad argument #{pos} to 'pack' (number expected, got no value)"
        )),
    }
}

pub fn create(lua: &Lua) -> mlua::Result<Table> {
    let t = lua.create_table()?;
    t.raw_set(
        "pack",
        lua.create_function(|lua, args: MultiValue| {
            let fmt = match args.front() {
                Some(Value::String(s)) => s.as_bytes().to_vec(),
                _ => return err("bad argument #1 to 'pack' (string expected)".into()),
            };
            let mut out: Vec<u8> = Vec::new();
            let mut arg = 1;
            for (item, little, align) in parse(&fmt)? {
                out.resize(out.len() + pad_to(out.len(), &item, align), 0);
                match item {
                    Item::Pad => out.push(0),
                    Item::Int { size, .. } => {
                        let v = to_num(args.get(arg), arg + 1)? as i64 as u64;
                        arg += 1;
                        let bytes = v.to_le_bytes();
                        let mut b = bytes[..size].to_vec();
                        if !little {
                            b.reverse();
                        }
                        out.extend_from_slice(&b);
                    }
                    Item::Float | Item::Double => {
                        let v = to_num(args.get(arg), arg + 1)?;
                        arg += 1;
                        let mut b = if matches!(item, Item::Float) {
                            (v as f32).to_le_bytes().to_vec()
                        } else {
                            v.to_le_bytes().to_vec()
                        };
                        if !little {
                            b.reverse();
                        }
                        out.extend_from_slice(&b);
                    }
                    Item::ZString | Item::Chars(_) => {
                        let s = match args.get(arg) {
                            Some(Value::String(s)) => s.as_bytes().to_vec(),
                            Some(Value::Integer(i)) => i.to_string().into_bytes(),
                            Some(Value::Number(n)) => crate::convert::fmt_g17(*n).into_bytes(),
                            _ => {
                                return err(format!(
                                    "bad argument #{} to 'pack' (string expected)",
                                    arg + 1
                                ))
                            }
                        };
                        arg += 1;
                        match item {
                            Item::ZString => {
                                out.extend_from_slice(&s);
                                out.push(0);
                            }
                            Item::Chars(0) => out.extend_from_slice(&s),
                            Item::Chars(n) => {
                                if s.len() < n {
                                    return err(format!(
                                        "bad argument #{arg} to 'pack' (string too short)"
                                    ));
                                }
                                out.extend_from_slice(&s[..n]);
                            }
                            _ => {}
                        }
                    }
                }
            }
            lua.create_string(out)
        })?,
    )?;
    t.raw_set(
        "unpack",
        lua.create_function(
            |lua, (fmt, data, init): (mlua::String, mlua::String, Option<i64>)| {
                let data = data.as_bytes();
                let mut pos = usize::try_from(init.unwrap_or(1) - 1).unwrap_or(0);
                let mut out = Vec::new();
                let mut last: Option<f64> = None;
                for (item, little, align) in parse(&fmt.as_bytes())? {
                    pos += pad_to(pos, &item, align);
                    let need = |n: usize| -> mlua::Result<&[u8]> {
                        match data.get(pos..pos + n) {
                            Some(s) => Ok(s),
                            None => {
                                err("bad argument #2 to 'unpack' (data string too short)".into())
                            }
                        }
                    };
                    match item {
                        Item::Pad => pos += 1,
                        Item::Int { size, signed } => {
                            let mut b = need(size)?.to_vec();
                            if !little {
                                b.reverse();
                            }
                            let mut v = 0u64;
                            for (k, byte) in b.iter().enumerate() {
                                v |= (*byte as u64) << (8 * k);
                            }
                            let n = if signed && size < 8 && v & (1 << (8 * size - 1)) != 0 {
                                (v | (!0u64 << (8 * size))) as i64 as f64
                            } else if signed {
                                v as i64 as f64
                            } else {
                                v as f64
                            };
                            pos += size;
                            last = Some(n);
                            out.push(Value::Number(n));
                        }
                        Item::Float | Item::Double => {
                            let size = size_of(&item);
                            let mut b = need(size)?.to_vec();
                            if !little {
                                b.reverse();
                            }
                            let n = if size == 4 {
                                f32::from_le_bytes(b[..4].try_into().unwrap_or([0; 4])) as f64
                            } else {
                                f64::from_le_bytes(b[..8].try_into().unwrap_or([0; 8]))
                            };
                            pos += size;
                            out.push(Value::Number(n));
                        }
                        Item::ZString => {
                            let rest = data.get(pos..).unwrap_or(&[]);
                            let Some(end) = rest.iter().position(|&b| b == 0) else {
                                return err("unfinished string in data".into());
                            };
                            out.push(Value::String(lua.create_string(&rest[..end])?));
                            pos += end + 1;
                        }
                        Item::Chars(n) => {
                            let n = if n == 0 {
                                match last.take() {
                                    Some(l) if l >= 0.0 => l as usize,
                                    _ => return err("format 'c0' needs a previous size".into()),
                                }
                            } else {
                                n
                            };
                            let s = need(n)?;
                            out.push(Value::String(lua.create_string(s)?));
                            pos += n;
                        }
                    }
                }
                out.push(Value::Number((pos + 1) as f64));
                Ok(MultiValue::from_iter(out))
            },
        )?,
    )?;
    t.raw_set(
        "size",
        lua.create_function(|_, fmt: mlua::String| {
            let mut len = 0usize;
            for (item, _, align) in parse(&fmt.as_bytes())? {
                if matches!(item, Item::ZString) || matches!(item, Item::Chars(0)) {
                    return err("options 'c0' - 's' have undefined sizes".into());
                }
                len += pad_to(len, &item, align) + size_of(&item);
            }
            Ok(len as f64)
        })?,
    )?;
    Ok(t)
}
