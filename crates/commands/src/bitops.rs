//! Bitmap commands (SETBIT, GETBIT, BITCOUNT, BITPOS, BITOP) and BITFIELD/BITFIELD_RO on string values.
//!
//! Handlers parse arguments in Redis's order (so the same malformed command gets the same
//! error), look the key up, and run the bit algorithms of `ferrodis_ds::bits` directly on the
//! string's bytes. Reads never copy the value; writes convert it to the growable `raw`
//! encoding in place (`Value::make_raw_mut`), as Redis unshares the string before writing.
//! A missing key reads as the empty string.

use crate::args::{eq_ic, i64_or_err, parse_i64};
use crate::ctx::Ctx;
use crate::engine::notify;
use crate::errors;
use crate::kv;
use crate::registry::{k, DataCommand};
use crate::reply::Reply;
use bytes::Bytes;
use ferrodis_ds::bits::{self, BitOp, Overflow, Unit};
use ferrodis_ds::value::Value;

/// This module's commands, merged into the registry.
pub static COMMANDS: &[DataCommand] = &[
    k("setbit", setbit),
    k("getbit", getbit),
    k("bitcount", bitcount),
    k("bitpos", bitpos),
    k("bitop", bitop),
    k("bitfield", bitfield),
    k("bitfield_ro", bitfield_ro),
];

const BIT_OFFSET_ERR: &str = "ERR bit offset is not an integer or out of range";
const BIT_VALUE_ERR: &str = "ERR bit is not an integer or out of range";
const BITPOS_BIT_ERR: &str = "ERR The bit argument must be 1 or 0.";
const BITOP_NOT_ERR: &str = "ERR BITOP NOT must be called with a single source key.";
const BITFIELD_TYPE_ERR: &str =
    "ERR Invalid bitfield type. Use something like i16 u8. Note that u64 is not supported but i64 is.";
const BITFIELD_OVERFLOW_ERR: &str = "ERR Invalid OVERFLOW type specified";
const BITFIELD_RO_ERR: &str = "ERR BITFIELD_RO only supports the GET subcommand";

/// Unwraps a `Result<T, Reply>` or returns the error reply from the handler.
macro_rules! tri {
    ($e:expr) => {
        match $e {
            Ok(v) => v,
            Err(r) => return r,
        }
    };
}

/// A bit offset argument (Redis's getBitOffsetFromArgument). With `field_bits`, the
/// BITFIELD form `#N` means `N * bits`. The offset's byte must lie below proto-max-bulk-len.
fn bit_offset(ctx: &Ctx<'_, '_>, arg: &[u8], field_bits: Option<u32>) -> Result<u64, Reply> {
    let err = || Reply::err_static(BIT_OFFSET_ERR);
    let (digits, mult) = match (arg.first(), field_bits) {
        (Some(b'#'), Some(bits)) => (&arg[1..], bits as i64),
        _ => (arg, 1),
    };
    let off = parse_i64(digits).ok_or_else(err)?.wrapping_mul(mult);
    if off < 0 || (off as u64 >> 3) >= ctx.engine.settings.max_bulk() {
        return Err(err());
    }
    Ok(off as u64)
}

/// BITCOUNT/BITPOS unit keyword.
fn unit_arg(a: &[u8]) -> Result<Unit, Reply> {
    if eq_ic(a, "bit") {
        Ok(Unit::Bit)
    } else if eq_ic(a, "byte") {
        Ok(Unit::Byte)
    } else {
        Err(errors::syntax())
    }
}

pub fn setbit(ctx: &mut Ctx<'_, '_>, argv: &[Bytes]) -> Reply {
    let key = &argv[1];
    let off = tri!(bit_offset(ctx, &argv[2], None));
    let on = match parse_i64(&argv[3]) {
        Some(0) => false,
        Some(1) => true,
        _ => return Reply::err_static(BIT_VALUE_ERR),
    };
    let need = (off / 8) as usize + 1;
    let (old, changed) = match kv::lookup(ctx, key) {
        Some(e) => {
            let Some(buf) = e.value_mut().make_raw_mut() else {
                return errors::wrongtype();
            };
            let grew = buf.len() < need;
            if grew {
                buf.resize(need, 0);
            }
            let old = bits::getbit(buf, off);
            if grew || old != on {
                bits::setbit(buf, off, on);
            }
            (old, grew || old != on)
        }
        None => {
            let mut buf = vec![0u8; need];
            bits::setbit(&mut buf, off, on);
            kv::add_key(ctx, key, Value::raw_from(buf));
            (false, true)
        }
    };
    if changed {
        ctx.signal_modified(key);
        ctx.notify(notify::STRING, "setbit", key);
        ctx.dirty += 1;
    }
    Reply::Int(old as i64)
}

pub fn getbit(ctx: &mut Ctx<'_, '_>, argv: &[Bytes]) -> Reply {
    let off = tri!(bit_offset(ctx, &argv[2], None));
    let Some(e) = kv::lookup_read(ctx, &argv[1]) else {
        return Reply::Int(0);
    };
    match e.value().as_str() {
        Some(s) => Reply::Int(s.with_bytes(|b| bits::getbit(b, off)) as i64),
        None => errors::wrongtype(),
    }
}

pub fn bitcount(ctx: &mut Ctx<'_, '_>, argv: &[Bytes]) -> Reply {
    // The key is looked up before the range is parsed: a missing key answers 0 whatever
    // follows, as in Redis.
    let Some(e) = kv::lookup_read(ctx, &argv[1]) else {
        return Reply::Int(0);
    };
    let Some(s) = e.value().as_str() else {
        return errors::wrongtype();
    };
    let range = match argv.len() {
        2 => None,
        4 | 5 => {
            let start = tri!(i64_or_err(&argv[2]));
            let end = tri!(i64_or_err(&argv[3]));
            if start < 0 && end < 0 && start > end {
                return Reply::Int(0);
            }
            let unit = match argv.get(4) {
                Some(u) => tri!(unit_arg(u)),
                None => Unit::Byte,
            };
            Some((start, end, unit))
        }
        _ => return errors::syntax(),
    };
    Reply::Int(s.with_bytes(|b| bits::bitcount(b, range)) as i64)
}

pub fn bitpos(ctx: &mut Ctx<'_, '_>, argv: &[Bytes]) -> Reply {
    let bit = match tri!(i64_or_err(&argv[2])) {
        0 => false,
        1 => true,
        _ => return Reply::err_static(BITPOS_BIT_ERR),
    };
    // A missing key is an endless run of zeros.
    let Some(e) = kv::lookup_read(ctx, &argv[1]) else {
        return Reply::Int(if bit { -1 } else { 0 });
    };
    let Some(s) = e.value().as_str() else {
        return errors::wrongtype();
    };
    let (start, end, unit) = match argv.len() {
        3 => (None, None, Unit::Byte),
        4..=6 => {
            let start = tri!(i64_or_err(&argv[3]));
            let unit = match argv.get(5) {
                Some(u) => tri!(unit_arg(u)),
                None => Unit::Byte,
            };
            let end = match argv.get(4) {
                Some(a) => Some(tri!(i64_or_err(a))),
                None => None,
            };
            (Some(start), end, unit)
        }
        _ => return errors::syntax(),
    };
    Reply::Int(s.with_bytes(|b| bits::bitpos(b, bit, start, end, unit)))
}

pub fn bitop(ctx: &mut Ctx<'_, '_>, argv: &[Bytes]) -> Reply {
    let opname = &argv[1];
    let op = if eq_ic(opname, "and") {
        BitOp::And
    } else if eq_ic(opname, "or") {
        BitOp::Or
    } else if eq_ic(opname, "xor") {
        BitOp::Xor
    } else if eq_ic(opname, "not") {
        BitOp::Not
    } else {
        return errors::syntax();
    };
    if op == BitOp::Not && argv.len() != 4 {
        return Reply::err_static(BITOP_NOT_ERR);
    }
    let dest = &argv[2];
    // Fold each source into the running result as it is read: one lookup per key, and no
    // copy of the sources beyond the result itself.
    let mut acc: Vec<u8> = Vec::new();
    for (i, src) in argv[3..].iter().enumerate() {
        let Some(e) = kv::lookup_read(ctx, src) else {
            if i == 0 {
                acc.clear();
            } else {
                bits::bitop_fold(op, &mut acc, &[]);
            }
            continue;
        };
        let Some(s) = e.value().as_str() else {
            return errors::wrongtype();
        };
        s.with_bytes(|b| {
            if i == 0 {
                acc.extend_from_slice(b);
            } else {
                bits::bitop_fold(op, &mut acc, b);
            }
        });
    }
    if op == BitOp::Not {
        bits::bitop_fold(op, &mut acc, &[]);
    }
    let len = acc.len();
    if len > 0 {
        // Redis's setKey looks the destination up for writing: an expired one is deleted (and
        // that propagated) before the store.
        kv::exists(ctx, dest);
        kv::set_key(ctx, dest, Value::raw_from(acc), false);
        ctx.notify(notify::STRING, "set", dest);
        ctx.dirty += 1;
    } else if remove_unchecked(ctx, dest) {
        ctx.notify(notify::GENERIC, "del", dest);
        ctx.dirty += 1;
    }
    Reply::Int(len as i64)
}

/// Deletes `key` without looking it up first, as Redis's dbDelete: a key whose TTL has passed
/// but that is still stored is removed as a plain deletion (`del`, BITOP propagated), not as an
/// expiry.
fn remove_unchecked(ctx: &mut Ctx<'_, '_>, key: &[u8]) -> bool {
    let dbi = ctx.db;
    let removed = ctx
        .db_index_for(key, dbi)
        .is_some_and(|db| db.remove(key).is_some());
    if removed {
        ctx.signal_modified(key);
    }
    removed
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum FieldOp {
    Get,
    Set,
    IncrBy,
}

/// One parsed BITFIELD operation.
#[derive(Clone, Copy)]
struct Field {
    op: FieldOp,
    offset: u64,
    bits: u32,
    signed: bool,
    value: i64,
    overflow: Overflow,
}

/// A BITFIELD type: `i1`..`i64` or `u1`..`u63`.
fn field_type(arg: &[u8]) -> Result<(bool, u32), Reply> {
    let err = || Reply::err_static(BITFIELD_TYPE_ERR);
    let signed = match arg.first() {
        Some(b'i') => true,
        Some(b'u') => false,
        _ => return Err(err()),
    };
    // Redis reads the width as a C string: it stops at a NUL byte.
    let digits = &arg[1..];
    let digits = match digits.iter().position(|&c| c == 0) {
        Some(p) => &digits[..p],
        None => digits,
    };
    match parse_i64(digits) {
        Some(n) if n >= 1 && n <= if signed { 64 } else { 63 } => Ok((signed, n as u32)),
        _ => Err(err()),
    }
}

/// Parses every BITFIELD operation; returns them, whether all are GETs, and the highest bit
/// a write reaches.
fn parse_fields(ctx: &Ctx<'_, '_>, argv: &[Bytes]) -> Result<(Vec<Field>, bool, u64), Reply> {
    let mut ops = Vec::new();
    let mut overflow = Overflow::Wrap;
    let mut readonly = true;
    let mut highest = 0u64;
    let mut j = 2;
    while j < argv.len() {
        let rem = argv.len() - j - 1;
        let sub = &argv[j];
        let op = if eq_ic(sub, "get") && rem >= 2 {
            FieldOp::Get
        } else if eq_ic(sub, "set") && rem >= 3 {
            FieldOp::Set
        } else if eq_ic(sub, "incrby") && rem >= 3 {
            FieldOp::IncrBy
        } else if eq_ic(sub, "overflow") && rem >= 1 {
            let t = &argv[j + 1];
            overflow = if eq_ic(t, "wrap") {
                Overflow::Wrap
            } else if eq_ic(t, "sat") {
                Overflow::Sat
            } else if eq_ic(t, "fail") {
                Overflow::Fail
            } else {
                return Err(Reply::err_static(BITFIELD_OVERFLOW_ERR));
            };
            j += 2;
            continue;
        } else {
            return Err(errors::syntax());
        };
        let (signed, bits) = field_type(&argv[j + 1])?;
        let offset = bit_offset(ctx, &argv[j + 2], Some(bits))?;
        let mut value = 0;
        if op != FieldOp::Get {
            readonly = false;
            highest = highest.max(offset + bits as u64 - 1);
            value = i64_or_err(&argv[j + 3])?;
        }
        ops.push(Field {
            op,
            offset,
            bits,
            signed,
            value,
            overflow,
        });
        j += if op == FieldOp::Get { 3 } else { 4 };
    }
    Ok((ops, readonly, highest))
}

/// A GET on a string that may be shorter than the field.
fn field_get(s: &[u8], f: &Field) -> Reply {
    if f.signed {
        Reply::Int(bits::get_signed_padded(s, f.offset, f.bits))
    } else {
        Reply::Int(bits::get_unsigned_padded(s, f.offset, f.bits) as i64)
    }
}

/// Runs the operations on a buffer already long enough for every write. `grown` says the
/// string was just created or extended: then every executed write counts as a change.
/// Returns the replies and the number of changes (Redis's dirty increment).
fn run_fields(buf: &mut [u8], ops: &[Field], grown: bool) -> (Vec<Reply>, u64) {
    let mut out = Vec::with_capacity(ops.len());
    let mut changes = 0;
    for f in ops {
        if f.op == FieldOp::Get {
            out.push(field_get(buf, f));
            continue;
        }
        let incr = f.op == FieldOp::IncrBy;
        if f.signed {
            let old = bits::get_signed(buf, f.offset, f.bits);
            let (new, ovf) = if incr {
                let (o, w) = bits::check_signed(old, f.value, f.bits, f.overflow);
                (w.unwrap_or(old.wrapping_add(f.value)), o != 0)
            } else {
                let (o, w) = bits::check_signed(f.value, 0, f.bits, f.overflow);
                (w.unwrap_or(f.value), o != 0)
            };
            if ovf && f.overflow == Overflow::Fail {
                out.push(Reply::Null);
                continue;
            }
            out.push(Reply::Int(if incr { new } else { old }));
            bits::set_signed(buf, f.offset, f.bits, new);
            if grown || old != new {
                changes += 1;
            }
        } else {
            let old = bits::get_unsigned(buf, f.offset, f.bits);
            let (new, ovf) = if incr {
                let (o, w) = bits::check_unsigned(old, f.value, f.bits, f.overflow);
                (w.unwrap_or(old.wrapping_add(f.value as u64)), o != 0)
            } else {
                let v = f.value as u64;
                let (o, w) = bits::check_unsigned(v, 0, f.bits, f.overflow);
                (w.unwrap_or(v), o != 0)
            };
            if ovf && f.overflow == Overflow::Fail {
                out.push(Reply::Null);
                continue;
            }
            out.push(Reply::Int(if incr { new } else { old } as i64));
            bits::set_unsigned(buf, f.offset, f.bits, new);
            if grown || old != new {
                changes += 1;
            }
        }
    }
    (out, changes)
}

fn bitfield_generic(ctx: &mut Ctx<'_, '_>, argv: &[Bytes], ro_command: bool) -> Reply {
    let key = &argv[1];
    let (ops, readonly, highest) = tri!(parse_fields(ctx, argv));
    if readonly {
        let Some(e) = kv::lookup_read(ctx, key) else {
            return Reply::Array(ops.iter().map(|f| field_get(&[], f)).collect());
        };
        let Some(s) = e.value().as_str() else {
            return errors::wrongtype();
        };
        return s.with_bytes(|b| Reply::Array(ops.iter().map(|f| field_get(b, f)).collect()));
    }
    if ro_command {
        return Reply::err_static(BITFIELD_RO_ERR);
    }
    let need = (highest / 8) as usize + 1;
    let (replies, changes) = match kv::lookup(ctx, key) {
        Some(e) => {
            let Some(buf) = e.value_mut().make_raw_mut() else {
                return errors::wrongtype();
            };
            let grown = buf.len() < need;
            if grown {
                buf.resize(need, 0);
            }
            run_fields(buf, &ops, grown)
        }
        None => {
            // Redis creates the key before running the operations: it exists afterwards even
            // when every write failed under OVERFLOW FAIL.
            let mut buf = vec![0u8; need];
            let r = run_fields(&mut buf, &ops, true);
            kv::add_key(ctx, key, Value::raw_from(buf));
            r
        }
    };
    if changes > 0 {
        ctx.signal_modified(key);
        ctx.notify(notify::STRING, "setbit", key);
        ctx.dirty += changes;
    }
    Reply::Array(replies)
}

pub fn bitfield(ctx: &mut Ctx<'_, '_>, argv: &[Bytes]) -> Reply {
    bitfield_generic(ctx, argv, false)
}

pub fn bitfield_ro(ctx: &mut Ctx<'_, '_>, argv: &[Bytes]) -> Reply {
    bitfield_generic(ctx, argv, true)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn field_types() {
        assert_eq!(field_type(b"i64").ok(), Some((true, 64)));
        assert_eq!(field_type(b"u63").ok(), Some((false, 63)));
        assert!(field_type(b"u64").is_err());
        assert!(field_type(b"i0").is_err());
        assert!(field_type(b"x8").is_err());
        assert!(field_type(b"").is_err());
        assert!(field_type(b"i+8").is_err());
    }
}
