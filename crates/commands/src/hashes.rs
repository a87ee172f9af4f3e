//! Hash commands (HSET ... HRANDFIELD; HSCAN lives with the SCAN family): `listpack`/`hashtable`.
//!
//! The encoding and its conversions belong to [`ferrodis_ds::hash::Hash`]; handlers pass the
//! configured thresholds and follow Redis 7.0's `t_hash.c` for the order of checks, replies,
//! keyspace events, dirty counts and propagation (HINCRBYFLOAT propagates as `HSET`).

use crate::args::eq_ic;
use crate::coll::{self, Collection};
use crate::ctx::Ctx;
use crate::engine::notify;
use crate::errors;
use crate::kv;
use crate::registry::{k, DataCommand};
use crate::reply::Reply;
use bytes::Bytes;
use ferrodis_ds::hash::{Hash, HashError};
use ferrodis_ds::num;

/// This module's commands, merged into the registry.
pub static COMMANDS: &[DataCommand] = &[
    k("hset", hset),
    k("hmset", hset),
    k("hsetnx", hsetnx),
    k("hget", hget),
    k("hmget", hmget),
    k("hdel", hdel),
    k("hlen", hlen),
    k("hstrlen", hstrlen),
    k("hexists", hexists),
    k("hkeys", hkeys),
    k("hvals", hvals),
    k("hgetall", hgetall),
    k("hincrby", hincrby),
    k("hincrbyfloat", hincrbyfloat),
    k("hrandfield", hrandfield),
];

/// Most elements a random-with-repetition reply may hold. Redis streams such replies without a
/// bound (a huge negative count exhausts its memory); we refuse past this many instead.
pub(crate) const MAX_RANDOM_REPLY: u64 = 1 << 24;

/// The error for a random-member count whose reply would pass [`MAX_RANDOM_REPLY`].
pub(crate) fn reply_too_large() -> Reply {
    Reply::err_static("ERR count is too large: the reply would not fit in memory")
}

/// Redis's `getRangeLongFromObjectOrReply(-LONG_MAX, LONG_MAX)` for HRANDFIELD/SRANDMEMBER.
pub(crate) fn random_count(arg: &[u8]) -> Result<i64, Reply> {
    match num::string2ll(arg) {
        None => Err(errors::not_integer()),
        Some(i64::MIN) => Err(Reply::err_static(
            "ERR value is out of range, value must between -9223372036854775807 and 9223372036854775807",
        )),
        Some(n) => Ok(n),
    }
}

/// Unwraps a `Result<T, Reply>` in a handler, returning the error reply.
macro_rules! tri {
    ($e:expr) => {
        match $e {
            Ok(v) => v,
            Err(r) => return r,
        }
    };
}

fn hset(ctx: &mut Ctx<'_, '_>, argv: &[Bytes]) -> Reply {
    let is_hmset = eq_ic(&argv[0], "hmset");
    if argv.len() % 2 == 1 {
        return errors::wrong_arity(if is_hmset { "hmset" } else { "hset" });
    }
    let key = &argv[1];
    let limits = ctx.engine.settings.hash_limits();
    let created = tri!(write_or_create(ctx, key, |h: &mut Hash| {
        let mut created = 0i64;
        for pair in argv[2..].chunks_exact(2) {
            if h.set(&pair[0], &pair[1], limits) {
                created += 1;
            }
        }
        created
    }));
    ctx.signal_modified(key);
    ctx.notify(notify::HASH, "hset", key);
    ctx.dirty += ((argv.len() - 2) / 2) as u64;
    if is_hmset {
        Reply::Ok
    } else {
        Reply::Int(created)
    }
}

fn hsetnx(ctx: &mut Ctx<'_, '_>, argv: &[Bytes]) -> Reply {
    let key = &argv[1];
    let limits = ctx.engine.settings.hash_limits();
    let set = tri!(write_or_create(ctx, key, |h: &mut Hash| {
        h.set_nx(&argv[2], &argv[3], limits)
    }));
    if !set {
        return Reply::Int(0);
    }
    ctx.signal_modified(key);
    ctx.notify(notify::HASH, "hset", key);
    ctx.dirty += 1;
    Reply::Int(1)
}

fn hget(ctx: &mut Ctx<'_, '_>, argv: &[Bytes]) -> Reply {
    match tri!(coll::read::<Hash>(ctx, &argv[1])) {
        None => Reply::Null,
        Some(h) => h.get(&argv[2]).map_or(Reply::Null, Reply::bulk_from_slice),
    }
}

fn hmget(ctx: &mut Ctx<'_, '_>, argv: &[Bytes]) -> Reply {
    let h = tri!(coll::read::<Hash>(ctx, &argv[1]));
    let fields = &argv[2..];
    Reply::Array(match h {
        None => vec![Reply::Null; fields.len()],
        Some(h) => fields
            .iter()
            .map(|f| h.get(f).map_or(Reply::Null, Reply::bulk_from_slice))
            .collect(),
    })
}

fn hdel(ctx: &mut Ctx<'_, '_>, argv: &[Bytes]) -> Reply {
    let key = &argv[1];
    let Some(h) = tri!(coll::write::<Hash>(ctx, key)) else {
        return Reply::Int(0);
    };
    let mut deleted = 0u64;
    for f in &argv[2..] {
        if h.remove(f) {
            deleted += 1;
            if h.is_empty() {
                break;
            }
        }
    }
    if deleted > 0 {
        ctx.signal_modified(key);
        ctx.notify(notify::HASH, "hdel", key);
        coll::delete_if_empty::<Hash>(ctx, key);
        ctx.dirty += deleted;
    }
    Reply::Int(deleted as i64)
}

fn hlen(ctx: &mut Ctx<'_, '_>, argv: &[Bytes]) -> Reply {
    let h = tri!(coll::read::<Hash>(ctx, &argv[1]));
    Reply::Int(h.map_or(0, |h| h.len() as i64))
}

fn hstrlen(ctx: &mut Ctx<'_, '_>, argv: &[Bytes]) -> Reply {
    let h = tri!(coll::read::<Hash>(ctx, &argv[1]));
    Reply::Int(h.map_or(0, |h| h.strlen(&argv[2]) as i64))
}

fn hexists(ctx: &mut Ctx<'_, '_>, argv: &[Bytes]) -> Reply {
    let h = tri!(coll::read::<Hash>(ctx, &argv[1]));
    Reply::Int(h.is_some_and(|h| h.contains(&argv[2])) as i64)
}

fn hkeys(ctx: &mut Ctx<'_, '_>, argv: &[Bytes]) -> Reply {
    let h = tri!(coll::read::<Hash>(ctx, &argv[1]));
    Reply::Array(h.map_or_else(Vec::new, |h| h.keys().map(Reply::bulk_from_slice).collect()))
}

fn hvals(ctx: &mut Ctx<'_, '_>, argv: &[Bytes]) -> Reply {
    let h = tri!(coll::read::<Hash>(ctx, &argv[1]));
    Reply::Array(h.map_or_else(Vec::new, |h| {
        h.values().map(Reply::bulk_from_slice).collect()
    }))
}

fn hgetall(ctx: &mut Ctx<'_, '_>, argv: &[Bytes]) -> Reply {
    let h = tri!(coll::read::<Hash>(ctx, &argv[1]));
    Reply::Map(h.map_or_else(Vec::new, |h| {
        h.iter()
            .map(|(f, v)| (Reply::bulk_from_slice(f), Reply::bulk_from_slice(v)))
            .collect()
    }))
}

fn hincrby(ctx: &mut Ctx<'_, '_>, argv: &[Bytes]) -> Reply {
    let key = &argv[1];
    let incr = tri!(crate::args::i64_or_err(&argv[3]));
    let limits = ctx.engine.settings.hash_limits();
    let r = write_or_create(ctx, key, |h: &mut Hash| h.incr_by(&argv[2], incr, limits));
    let new = match tri!(r) {
        Ok(n) => n,
        Err(e) => return hash_error(e),
    };
    ctx.signal_modified(key);
    ctx.notify(notify::HASH, "hincrby", key);
    ctx.dirty += 1;
    Reply::Int(new)
}

fn hincrbyfloat(ctx: &mut Ctx<'_, '_>, argv: &[Bytes]) -> Reply {
    let key = &argv[1];
    // The increment is judged before the key is looked at (errors before WRONGTYPE).
    match num::string2ld(&argv[3]) {
        None => return errors::not_float(),
        Some(x) if !x.is_finite() => {
            return Reply::err_static("ERR value is NaN or Infinity");
        }
        Some(_) => {}
    }
    let limits = ctx.engine.settings.hash_limits();
    let r = write_or_create(ctx, key, |h: &mut Hash| {
        h.incr_by_float(&argv[2], &argv[3], limits)
    });
    let text = match tri!(r) {
        Ok(t) => t,
        Err(e) => return hash_error(e),
    };
    ctx.signal_modified(key);
    ctx.notify(notify::HASH, "hincrbyfloat", key);
    ctx.dirty += 1;
    let value = Bytes::from(text);
    ctx.rewrite(vec![
        Bytes::from_static(b"HSET"),
        key.clone(),
        argv[2].clone(),
        value.clone(),
    ]);
    Reply::Bulk(value)
}

/// Runs `f` on the collection at `key` for a write (WRONGTYPE for another type), or on a new
/// empty one that is added as the key afterwards if `f` left it non-empty: one lookup for an
/// existing key (the hot path), Redis's `lookupKeyWrite` + `dbAdd` for a new one.
pub(crate) fn write_or_create<T: Collection + Default, R>(
    ctx: &mut Ctx<'_, '_>,
    key: &[u8],
    f: impl FnOnce(&mut T) -> R,
) -> Result<R, Reply> {
    if let Some(c) = coll::write::<T>(ctx, key)? {
        return Ok(f(c));
    }
    let mut c = T::default();
    let r = f(&mut c);
    if !c.is_empty() {
        kv::add_key(ctx, key, c.into_value());
    }
    Ok(r)
}

fn hash_error(e: HashError) -> Reply {
    Reply::error(format!("ERR {e}"))
}

/// HRANDFIELD key [count [WITHVALUES]].
fn hrandfield(ctx: &mut Ctx<'_, '_>, argv: &[Bytes]) -> Reply {
    if argv.len() < 3 {
        let h = tri!(coll::read::<Hash>(ctx, &argv[1]));
        let mut rng = crate::sets::rng();
        return match h.and_then(|h| h.random_pair(&mut rng)) {
            Some((f, _)) => Reply::bulk_from_slice(f),
            None => Reply::Null,
        };
    }
    let count = tri!(random_count(&argv[2]));
    let with_values = match argv.len() {
        3 => false,
        4 if eq_ic(&argv[3], "withvalues") => true,
        _ => return errors::syntax(),
    };
    if with_values && !(-(i64::MAX / 2)..=i64::MAX / 2).contains(&count) {
        return Reply::err_static("ERR value is out of range");
    }
    let resp3 = ctx.resp >= 3;
    let Some(h) = tri!(coll::read::<Hash>(ctx, &argv[1])) else {
        return Reply::Array(Vec::new());
    };
    if count == 0 || h.is_empty() {
        return Reply::Array(Vec::new());
    }
    let mut rng = crate::sets::rng();
    let mut out = Vec::new();
    let mut push = |f: &[u8], v: &[u8]| {
        if !with_values {
            out.push(Reply::bulk_from_slice(f));
        } else if resp3 {
            out.push(Reply::Array(vec![
                Reply::bulk_from_slice(f),
                Reply::bulk_from_slice(v),
            ]));
        } else {
            out.push(Reply::bulk_from_slice(f));
            out.push(Reply::bulk_from_slice(v));
        }
    };
    if count < 0 || count == 1 {
        // With repetitions (count 1 is served the same way by Redis).
        let n = count.unsigned_abs();
        if n.saturating_mul(1 + with_values as u64) > MAX_RANDOM_REPLY {
            return reply_too_large();
        }
        h.for_each_random(n as usize, &mut rng, &mut push);
    } else {
        let n = usize::try_from(count).unwrap_or(usize::MAX);
        for (f, v) in h.random_distinct(n, &mut rng) {
            push(f, v);
        }
    }
    Reply::Array(out)
}
