//! HyperLogLog commands (PFADD, PFCOUNT, PFMERGE, PFDEBUG, PFSELFTEST) over Redis's exact HYLL
//! representation (`ferrodis_ds::hll`).
//!
//! A HyperLogLog is an ordinary string value, so GET/SET/DUMP see Redis's bytes. Every update
//! happens in place on the `raw` buffer, as Redis's dbUnshareStringValue + in-place edit does;
//! PFCOUNT on one key writes the cached cardinality back (and so counts as a change: dirty,
//! propagated), as in Redis.

use crate::args::eq_ic;
use crate::ctx::Ctx;
use crate::engine::notify;
use crate::errors;
use crate::kv;
use crate::registry::{k, DataCommand};
use crate::reply::Reply;
use bytes::Bytes;
use ferrodis_ds::hll;
use ferrodis_ds::value::Value;
use std::sync::atomic::Ordering;

/// This module's commands, merged into the registry.
pub static COMMANDS: &[DataCommand] = &[
    k("pfadd", pfadd),
    k("pfcount", pfcount),
    k("pfmerge", pfmerge),
    k("pfdebug", pfdebug),
    k("pfselftest", pfselftest),
];

const NOT_HLL: &str = "WRONGTYPE Key is not a valid HyperLogLog string value.";
const CORRUPT: &str = "INVALIDOBJ Corrupted HLL object detected";

fn not_hll() -> Reply {
    Reply::err_static(NOT_HLL)
}

fn corrupt() -> Reply {
    Reply::err_static(CORRUPT)
}

fn sparse_max(ctx: &Ctx<'_, '_>) -> u64 {
    ctx.engine
        .settings
        .hll_sparse_max_bytes
        .load(Ordering::Relaxed)
}

/// The bytes of a value that is a valid HyperLogLog (Redis's isHLLObjectOrReply): WRONGTYPE for
/// another type, the HLL-specific WRONGTYPE for a string that is not one. An `int`-encoded
/// string never is (Redis requires an sds-encoded object).
fn hll_bytes(v: &Value) -> Result<&[u8], Reply> {
    let b: &[u8] = match v {
        Value::Str(s) => s.as_slice(),
        Value::Raw(r) => r,
        Value::Int(_) => return Err(not_hll()),
        _ => return Err(errors::wrongtype()),
    };
    if hll::is_valid(b) {
        Ok(b)
    } else {
        Err(not_hll())
    }
}

/// The HLL at a looked-up entry as a mutable `raw` buffer, after validation.
fn hll_mut(v: &mut Value) -> Result<&mut Vec<u8>, Reply> {
    hll_bytes(v)?;
    v.make_raw_mut().ok_or_else(errors::wrongtype)
}

/// PFADD key [element ...]: 1 if any register changed (or the key was created).
pub fn pfadd(ctx: &mut Ctx<'_, '_>, argv: &[Bytes]) -> Reply {
    let key = &argv[1];
    let max_bytes = sparse_max(ctx);
    let mut updated = 0u64;
    let mut created = None;
    match kv::lookup(ctx, key) {
        None => {
            let mut h = hll::new_sparse();
            updated += 1;
            for ele in &argv[2..] {
                match hll::add(&mut h, ele, max_bytes) {
                    Ok(true) => updated += 1,
                    Ok(false) => {}
                    Err(_) => return corrupt(),
                }
            }
            hll::invalidate_cache(&mut h);
            created = Some(h);
        }
        Some(e) => {
            let h = match hll_mut(e.value_mut()) {
                Ok(h) => h,
                Err(r) => return r,
            };
            for ele in &argv[2..] {
                match hll::add(h, ele, max_bytes) {
                    Ok(true) => updated += 1,
                    Ok(false) => {}
                    Err(_) => return corrupt(),
                }
            }
            if updated > 0 {
                hll::invalidate_cache(h);
            }
        }
    }
    if let Some(h) = created {
        kv::add_key(ctx, key, Value::raw_from(h));
    }
    if updated > 0 {
        ctx.signal_modified(key);
        ctx.notify(notify::STRING, "pfadd", key);
        ctx.dirty += updated;
    }
    Reply::Int(i64::from(updated > 0))
}

/// PFCOUNT key [key ...]: one key answers from (and refreshes) its cached cardinality; several
/// keys estimate their union without modifying anything.
pub fn pfcount(ctx: &mut Ctx<'_, '_>, argv: &[Bytes]) -> Reply {
    if argv.len() > 2 {
        let mut max = Box::new([0u8; hll::REGISTERS]);
        for key in &argv[1..] {
            let Some(e) = kv::lookup_read(ctx, key) else {
                continue;
            };
            let b = match hll_bytes(e.value()) {
                Ok(b) => b,
                Err(r) => return r,
            };
            if hll::merge_into(&mut max, b).is_err() {
                return corrupt();
            }
        }
        return Reply::Int(hll::count_registers(&max) as i64);
    }
    let key = &argv[1];
    let Some(e) = kv::lookup_read(ctx, key) else {
        return Reply::Int(0);
    };
    let h = match hll_mut(e.value_mut()) {
        Ok(h) => h,
        Err(r) => return r,
    };
    if let Some(card) = hll::cached_card(h) {
        return Reply::Int(card as i64);
    }
    let card = match hll::count(h) {
        Ok(c) => c,
        Err(_) => return corrupt(),
    };
    hll::set_cached_card(h, card);
    ctx.signal_modified(key);
    ctx.dirty += 1;
    Reply::Int(card as i64)
}

/// PFMERGE destkey [sourcekey ...]: the register-wise maximum of all of them (the destination
/// included) stored into the destination, dense if any input was dense.
pub fn pfmerge(ctx: &mut Ctx<'_, '_>, argv: &[Bytes]) -> Reply {
    let max_bytes = sparse_max(ctx);
    let mut max = Box::new([0u8; hll::REGISTERS]);
    let mut use_dense = false;
    for key in &argv[1..] {
        let Some(e) = kv::lookup_read(ctx, key) else {
            continue;
        };
        let b = match hll_bytes(e.value()) {
            Ok(b) => b,
            Err(r) => return r,
        };
        use_dense |= hll::encoding(b) == hll::DENSE;
        if hll::merge_into(&mut max, b).is_err() {
            return corrupt();
        }
    }
    let dest = &argv[1];
    match kv::lookup(ctx, dest) {
        None => {
            let mut h = hll::new_sparse();
            if hll::store_registers(&mut h, &max, use_dense, max_bytes).is_err() {
                return corrupt();
            }
            kv::add_key(ctx, dest, Value::raw_from(h));
        }
        Some(e) => {
            // Validated as a source above, under the same locks.
            let h = match hll_mut(e.value_mut()) {
                Ok(h) => h,
                Err(r) => return r,
            };
            if hll::store_registers(h, &max, use_dense, max_bytes).is_err() {
                return corrupt();
            }
        }
    }
    ctx.signal_modified(dest);
    // Redis reports a merge as a mass add.
    ctx.notify(notify::STRING, "pfadd", dest);
    ctx.dirty += 1;
    Reply::ok()
}

/// PFDEBUG GETREG|DECODE|ENCODING|TODENSE key.
pub fn pfdebug(ctx: &mut Ctx<'_, '_>, argv: &[Bytes]) -> Reply {
    let sub = &argv[1];
    let key = &argv[2];
    let Some(e) = kv::lookup(ctx, key) else {
        return Reply::err_static("ERR The specified key does not exist");
    };
    let h = match hll_mut(e.value_mut()) {
        Ok(h) => h,
        Err(r) => return r,
    };
    if eq_ic(sub, "getreg") {
        let converted = match hll::sparse_to_dense(h) {
            Ok(c) => c,
            Err(_) => return corrupt(),
        };
        let regs = hll::dense_registers(h);
        if converted {
            ctx.dirty += 1;
        }
        Reply::Array(regs.into_iter().map(|r| Reply::Int(i64::from(r))).collect())
    } else if eq_ic(sub, "decode") {
        if hll::encoding(h) != hll::SPARSE {
            return Reply::err_static("ERR HLL encoding is not sparse");
        }
        Reply::Bulk(Bytes::from(hll::decode_sparse(h)))
    } else if eq_ic(sub, "encoding") {
        Reply::status(if hll::encoding(h) == hll::DENSE {
            "dense"
        } else {
            "sparse"
        })
    } else if eq_ic(sub, "todense") {
        match hll::sparse_to_dense(h) {
            Ok(true) => {
                ctx.dirty += 1;
                Reply::Int(1)
            }
            Ok(false) => Reply::Int(0),
            Err(_) => corrupt(),
        }
    } else {
        errors::error_with("ERR Unknown PFDEBUG subcommand '", sub, "'")
    }
}

/// PFSELFTEST: the register and estimator self test; OK or Redis's TESTFAILED error.
pub fn pfselftest(ctx: &mut Ctx<'_, '_>, _argv: &[Bytes]) -> Reply {
    match hll::selftest(rand::random(), sparse_max(ctx)) {
        Ok(()) => Reply::ok(),
        Err(msg) => Reply::error(msg),
    }
}
