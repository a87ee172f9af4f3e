//! ZPOPMIN, ZPOPMAX, BZPOPMIN, BZPOPMAX, ZMPOP, BZMPOP and ZRANDMEMBER.
//!
//! Propagation follows Redis 7.0: ZPOPMIN/ZPOPMAX as they are; BZPOPMIN/BZPOPMAX served as
//! `ZPOPMIN key`; ZMPOP and BZMPOP as `ZPOPMIN key <popped count>` (ZPOPMAX for MAX).
//! A blocking command served later is re-run with its argv narrowed to the ready key (see
//! [`crate::blocking`]), so the serving path is this same code.

use super::{done, ranged_long, score_reply};
use crate::args::eq_ic;
use crate::blocking::{self, BlockRequest, WaitFor};
use crate::coll;
use crate::ctx::Ctx;
use crate::engine::notify;
use crate::errors;
use crate::kv;
use crate::reply::Reply;
use bytes::Bytes;
use ferrodis_ds::zset::ZSet;
use rand::Rng;

/// How a pop's reply is shaped (Redis's genericZpopCommand flags).
#[derive(Clone, Copy)]
struct Shape {
    /// The key name comes first (BZPOP*, Z*MPOP).
    emit_key: bool,
    /// `[member, score]` pairs instead of a flat list.
    nested: bool,
    /// Nothing to pop replies a null array (Z*MPOP) instead of an empty one.
    nil_when_empty: bool,
}

/// The key popped from and how many entries it had before the pop.
struct Popped {
    key: Bytes,
    len_before: usize,
}

/// Pops up to `count` entries (`None`: a plain single pop) from the first existing key of
/// `keys`. WRONGTYPE stops the search at that key, as in Redis.
fn generic_pop(
    ctx: &mut Ctx<'_, '_>,
    keys: &[Bytes],
    max: bool,
    count: Option<u64>,
    shape: Shape,
) -> Result<(Reply, Option<Popped>), Reply> {
    let want = usize::try_from(count.unwrap_or(1)).unwrap_or(usize::MAX);
    let mut found = None;
    for key in keys {
        if let Some(zs) = coll::write::<ZSet>(ctx, key)? {
            if count == Some(0) {
                return Ok((Reply::Array(Vec::new()), None));
            }
            let len_before = zs.len();
            let entries = zs.pop(max, want);
            found = Some((key, len_before, entries, zs.is_empty()));
            break;
        }
    }
    let Some((key, len_before, entries, emptied)) = found else {
        let empty = if shape.nil_when_empty {
            Reply::NullArray
        } else {
            Reply::Array(Vec::new())
        };
        return Ok((empty, None));
    };
    ctx.dirty += entries.len() as u64;
    ctx.notify(notify::ZSET, if max { "zpopmax" } else { "zpopmin" }, key);
    ctx.signal_modified(key);
    if emptied {
        kv::delete(ctx, key);
        ctx.notify(notify::GENERIC, "del", key);
    }

    let resp = ctx.resp;
    let mut items = Vec::with_capacity(entries.len() * 2 + 1);
    if shape.nested {
        for (m, s) in &entries {
            items.push(Reply::Array(vec![
                Reply::bulk_from_slice(m),
                score_reply(resp, *s),
            ]));
        }
    } else {
        if shape.emit_key {
            items.push(Reply::Bulk(key.clone()));
        }
        for (m, s) in &entries {
            items.push(Reply::bulk_from_slice(m));
            items.push(score_reply(resp, *s));
        }
    }
    let reply = if shape.nested && shape.emit_key {
        Reply::Array(vec![Reply::Bulk(key.clone()), Reply::Array(items)])
    } else {
        Reply::Array(items)
    };
    Ok((
        reply,
        Some(Popped {
            key: key.clone(),
            len_before,
        }),
    ))
}

/// `ZPOPMIN key count` / `ZPOPMAX key count`: the propagated form of the multi-key pops.
fn rewrite_as_pop(ctx: &mut Ctx<'_, '_>, max: bool, popped: &Popped, count: Option<u64>) {
    let name: &'static [u8] = if max { b"ZPOPMAX" } else { b"ZPOPMIN" };
    let mut argv = vec![Bytes::from_static(name), popped.key.clone()];
    if let Some(c) = count {
        let n = c.min(popped.len_before as u64);
        argv.push(Bytes::from(n.to_string()));
    }
    ctx.rewrite(argv);
}

pub fn zpopmin(ctx: &mut Ctx<'_, '_>, argv: &[Bytes]) -> Reply {
    done(zpop(ctx, argv, false))
}

pub fn zpopmax(ctx: &mut Ctx<'_, '_>, argv: &[Bytes]) -> Reply {
    done(zpop(ctx, argv, true))
}

fn zpop(ctx: &mut Ctx<'_, '_>, argv: &[Bytes], max: bool) -> Result<Reply, Reply> {
    if argv.len() > 3 {
        return Err(errors::syntax());
    }
    let count = match argv.get(2) {
        Some(a) => Some(ranged_long(
            a,
            0,
            i64::MAX,
            "ERR value is out of range, must be positive",
        )? as u64),
        None => None,
    };
    let shape = Shape {
        emit_key: false,
        // RESP3 nests the pairs only when a count was given.
        nested: ctx.resp > 2 && count.is_some(),
        nil_when_empty: false,
    };
    Ok(generic_pop(ctx, &argv[1..2], max, count, shape)?.0)
}

pub fn bzpopmin(ctx: &mut Ctx<'_, '_>, argv: &[Bytes]) -> Reply {
    done(bzpop(ctx, argv, false))
}

pub fn bzpopmax(ctx: &mut Ctx<'_, '_>, argv: &[Bytes]) -> Reply {
    done(bzpop(ctx, argv, true))
}

/// BZPOPMIN/BZPOPMAX `key [key ...] timeout`.
fn bzpop(ctx: &mut Ctx<'_, '_>, argv: &[Bytes], max: bool) -> Result<Reply, Reply> {
    let last = argv.len() - 1;
    let deadline = blocking::parse_timeout(ctx, &argv[last])?;
    let keys = &argv[1..last];
    let shape = Shape {
        emit_key: true,
        nested: false,
        nil_when_empty: false,
    };
    blocking_pop(ctx, keys, max, None, shape, deadline)
}

/// Serves the first non-empty key at once, or blocks on all of `keys`.
fn blocking_pop(
    ctx: &mut Ctx<'_, '_>,
    keys: &[Bytes],
    max: bool,
    count: Option<u64>,
    shape: Shape,
    deadline_ms: i64,
) -> Result<Reply, Reply> {
    let (reply, popped) = generic_pop(ctx, keys, max, count, shape)?;
    if let Some(p) = popped {
        rewrite_as_pop(ctx, max, &p, count);
        return Ok(reply);
    }
    Ok(blocking::block(
        ctx,
        BlockRequest {
            keys: keys.to_vec(),
            deadline_ms,
            wait_for: WaitFor::ZSet,
            timeout_reply: Reply::NullArray,
        },
    ))
}

pub fn zmpop(ctx: &mut Ctx<'_, '_>, argv: &[Bytes]) -> Reply {
    done(zmpop_generic(ctx, argv, 1, false))
}

pub fn bzmpop(ctx: &mut Ctx<'_, '_>, argv: &[Bytes]) -> Reply {
    done(zmpop_generic(ctx, argv, 2, true))
}

/// `[B]ZMPOP [timeout] numkeys key [key ...] MIN|MAX [COUNT count]`.
fn zmpop_generic(
    ctx: &mut Ctx<'_, '_>,
    argv: &[Bytes],
    numkeys_idx: usize,
    block: bool,
) -> Result<Reply, Reply> {
    let numkeys = ranged_long(
        &argv[numkeys_idx],
        1,
        i64::MAX,
        "ERR numkeys should be greater than 0",
    )? as u64;
    let where_idx = match usize::try_from(numkeys)
        .ok()
        .and_then(|n| n.checked_add(numkeys_idx + 1))
    {
        Some(i) if i < argv.len() => i,
        _ => return Err(errors::syntax()),
    };
    let max = if eq_ic(&argv[where_idx], "min") {
        false
    } else if eq_ic(&argv[where_idx], "max") {
        true
    } else {
        return Err(errors::syntax());
    };
    let mut count = None;
    let mut j = where_idx + 1;
    while j < argv.len() {
        let more = argv.len() - 1 - j;
        if count.is_none() && eq_ic(&argv[j], "count") && more > 0 {
            j += 1;
            count = Some(
                ranged_long(&argv[j], 1, i64::MAX, "ERR count should be greater than 0")? as u64,
            );
        } else {
            return Err(errors::syntax());
        }
        j += 1;
    }
    let count = Some(count.unwrap_or(1));
    let keys = &argv[numkeys_idx + 1..where_idx];
    let shape = Shape {
        emit_key: true,
        nested: true,
        nil_when_empty: true,
    };
    if block {
        let deadline = blocking::parse_timeout(ctx, &argv[1])?;
        return blocking_pop(ctx, keys, max, count, shape, deadline);
    }
    let (reply, popped) = generic_pop(ctx, keys, max, count, shape)?;
    if let Some(p) = popped {
        rewrite_as_pop(ctx, max, &p, count);
    }
    Ok(reply)
}

/// ZRANDMEMBER counts past this would build a reply of tens of gigabytes; Redis streams such
/// a reply until the client is dropped, we refuse it.
const RANDMEMBER_MAX: u64 = 1 << 26;

pub fn zrandmember(ctx: &mut Ctx<'_, '_>, argv: &[Bytes]) -> Reply {
    done(zrandmember_generic(ctx, argv))
}

fn zrandmember_generic(ctx: &mut Ctx<'_, '_>, argv: &[Bytes]) -> Result<Reply, Reply> {
    let mut rng = rand::thread_rng();
    let mut next = || rng.gen::<u64>();
    let Some(count_arg) = argv.get(2) else {
        return Ok(match coll::read::<ZSet>(ctx, &argv[1])? {
            None => Reply::Null,
            Some(zs) => match zs.random_member(&mut next) {
                Some((m, _)) => Reply::bulk_from_slice(m),
                None => Reply::Null,
            },
        });
    };
    let l = match crate::args::parse_i64(count_arg) {
        None => return Err(errors::not_integer()),
        Some(i64::MIN) => {
            return Err(Reply::err_static(
                "ERR value is out of range, value must between -9223372036854775807 and 9223372036854775807",
            ))
        }
        Some(v) => v,
    };
    let withscores = match argv.len() {
        3 => false,
        4 if eq_ic(&argv[3], "withscores") => true,
        _ => return Err(errors::syntax()),
    };
    if withscores && !(-(i64::MAX / 2)..=i64::MAX / 2).contains(&l) {
        return Err(Reply::err_static("ERR value is out of range"));
    }
    let resp = ctx.resp;
    let Some(zs) = coll::read::<ZSet>(ctx, &argv[1])? else {
        return Ok(Reply::Array(Vec::new()));
    };
    let count = l.unsigned_abs();
    if count == 0 || zs.is_empty() {
        return Ok(Reply::Array(Vec::new()));
    }
    let picked = if l < 0 || count == 1 {
        if count > RANDMEMBER_MAX {
            return Err(Reply::err_static("ERR value is out of range"));
        }
        zs.random_with_replacement(count as usize, &mut next)
    } else {
        zs.random_distinct(usize::try_from(count).unwrap_or(usize::MAX), &mut next)
    };
    Ok(super::pairs_reply(resp, picked.into_iter(), withscores))
}
