//! `bit`: LuaBitOp's API (tobit, tohex, bnot, band, bor, bxor, lshift, rshift, arshift, rol,
//! ror, bswap) on 32-bit integers; results are signed 32-bit numbers as in LuaBitOp.

use mlua::{Lua, MultiValue, Table, Value};

/// LuaBitOp's number → int32 conversion: wraps modulo 2^32 (the low word of n + 2^52 + 2^51).
pub fn tobit(n: f64) -> i32 {
    let v = n + 6_755_399_441_055_744.0;
    v.to_bits() as u32 as i32
}

fn num(v: &Value, pos: usize, name: &str) -> mlua::Result<i32> {
    match v {
        Value::Integer(i) => Ok(tobit(*i as f64)),
        Value::Number(n) => Ok(tobit(*n)),
        Value::String(s) => s
            .to_str()
            .ok()
            .and_then(|s| s.trim().parse::<f64>().ok())
            .map(tobit)
            .ok_or_else(|| bad_arg(pos, name, v)),
        _ => Err(bad_arg(pos, name, v)),
    }
}

fn bad_arg(pos: usize, name: &str, v: &Value) -> mlua::Error {
    mlua::Error::RuntimeError(format!(
        "bad argument #{pos} to '{name}' (number expected, got {})",
        v.type_name()
    ))
}

fn arg(args: &MultiValue, i: usize, name: &str) -> mlua::Result<i32> {
    num(args.get(i).unwrap_or(&Value::Nil), i + 1, name)
}

type Unary = fn(i32) -> i32;
type Binary = fn(i32, i32) -> i32;
type Shift = fn(i32, u32) -> i32;

pub fn create(lua: &Lua) -> mlua::Result<Table> {
    let t = lua.create_table()?;
    let unary: [(&str, Unary); 3] = [
        ("tobit", |x| x),
        ("bnot", |x| !x),
        ("bswap", |x| x.swap_bytes()),
    ];
    for (name, f) in unary {
        t.raw_set(
            name,
            lua.create_function(move |_, args: MultiValue| Ok(f(arg(&args, 0, name)?) as f64))?,
        )?;
    }
    let fold: [(&str, Binary); 3] = [
        ("band", |a, b| a & b),
        ("bor", |a, b| a | b),
        ("bxor", |a, b| a ^ b),
    ];
    for (name, f) in fold {
        t.raw_set(
            name,
            lua.create_function(move |_, args: MultiValue| {
                let mut acc = arg(&args, 0, name)?;
                for i in 1..args.len() {
                    acc = f(acc, arg(&args, i, name)?);
                }
                Ok(acc as f64)
            })?,
        )?;
    }
    let shifts: [(&str, Shift); 5] = [
        ("lshift", |x, n| ((x as u32) << n) as i32),
        ("rshift", |x, n| ((x as u32) >> n) as i32),
        ("arshift", |x, n| x >> n),
        ("rol", |x, n| (x as u32).rotate_left(n) as i32),
        ("ror", |x, n| (x as u32).rotate_right(n) as i32),
    ];
    for (name, f) in shifts {
        t.raw_set(
            name,
            lua.create_function(move |_, args: MultiValue| {
                let x = arg(&args, 0, name)?;
                let n = (arg(&args, 1, name)? as u32) & 31;
                Ok(f(x, n) as f64)
            })?,
        )?;
    }
    t.raw_set(
        "tohex",
        lua.create_function(|_, args: MultiValue| {
            let x = arg(&args, 0, "tohex")? as u32;
            let n = match args.get(1) {
                None | Some(Value::Nil) => 8,
                Some(_) => arg(&args, 1, "tohex")?,
            };
            let upper = n < 0;
            let digits = (n.unsigned_abs().min(8)) as usize;
            let masked = if digits >= 8 {
                x as u64
            } else {
                (x as u64) & ((1u64 << (4 * digits)) - 1)
            };
            Ok(if upper {
                format!("{:0w$X}", masked, w = digits)
            } else {
                format!("{:0w$x}", masked, w = digits)
            })
        })?,
    )?;
    Ok(t)
}

#[cfg(test)]
mod tests {
    use super::tobit;

    #[test]
    fn tobit_wraps() {
        assert_eq!(tobit(0xffff_ffff_u32 as f64), -1);
        assert_eq!(tobit(4294967296.0), 0);
        assert_eq!(tobit(-1.0), -1);
        assert_eq!(tobit(1.0), 1);
    }
}
