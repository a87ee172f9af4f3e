//! ZADD, ZINCRBY, ZREM and ZREMRANGEBYRANK/SCORE/LEX.

use super::{done, zset_error};
use crate::args::{eq_ic, f64_or_err, i64_or_err};
use crate::coll;
use crate::ctx::Ctx;
use crate::engine::notify;
use crate::errors;
use crate::kv;
use crate::reply::Reply;
use bytes::Bytes;
use ferrodis_ds::zset::{AddFlags, AddOutcome, LexRange, ScoreRange, ZSet};
use smallvec::SmallVec;

pub fn zadd(ctx: &mut Ctx<'_, '_>, argv: &[Bytes]) -> Reply {
    done(zadd_generic(ctx, argv, false))
}

pub fn zincrby(ctx: &mut Ctx<'_, '_>, argv: &[Bytes]) -> Reply {
    done(zadd_generic(ctx, argv, true))
}

/// ZADD and ZINCRBY (Redis's zaddGenericCommand: ZINCRBY is ZADD with INCR preset, so it also
/// reads leading option words).
fn zadd_generic(ctx: &mut Ctx<'_, '_>, argv: &[Bytes], incr: bool) -> Result<Reply, Reply> {
    let key = &argv[1];
    let mut flags = AddFlags {
        incr,
        ..AddFlags::default()
    };
    let mut ch = false;
    let mut idx = 2;
    while let Some(opt) = argv.get(idx) {
        if eq_ic(opt, "nx") {
            flags.nx = true;
        } else if eq_ic(opt, "xx") {
            flags.xx = true;
        } else if eq_ic(opt, "ch") {
            ch = true;
        } else if eq_ic(opt, "incr") {
            flags.incr = true;
        } else if eq_ic(opt, "gt") {
            flags.gt = true;
        } else if eq_ic(opt, "lt") {
            flags.lt = true;
        } else {
            break;
        }
        idx += 1;
    }
    let pairs = argv.len() - idx;
    if pairs == 0 || !pairs.is_multiple_of(2) {
        return Err(errors::syntax());
    }
    let pairs = &argv[idx..];
    if flags.nx && flags.xx {
        return Err(Reply::err_static(
            "ERR XX and NX options at the same time are not compatible",
        ));
    }
    if (flags.nx && (flags.gt || flags.lt)) || (flags.gt && flags.lt) {
        return Err(Reply::err_static(
            "ERR GT, LT, and/or NX options at the same time are not compatible",
        ));
    }
    if flags.incr && pairs.len() > 2 {
        return Err(Reply::err_static(
            "ERR INCR option supports a single increment-element pair",
        ));
    }
    // Every score is checked before anything changes: the command is all or nothing.
    let mut scores: SmallVec<[f64; 8]> = SmallVec::with_capacity(pairs.len() / 2);
    for pair in pairs.chunks_exact(2) {
        scores.push(f64_or_err(&pair[0])?);
    }

    let limits = ctx.engine.settings.zset_limits();
    if coll::write::<ZSet>(ctx, key)?.is_none() {
        if flags.xx {
            return Ok(if flags.incr {
                Reply::Null
            } else {
                Reply::Int(0)
            });
        }
        let zs = ZSet::for_first_member(pairs[1].len(), limits);
        kv::add_key(ctx, key, coll::Collection::into_value(zs));
    }
    let Some(zs) = coll::write::<ZSet>(ctx, key)? else {
        return Err(Reply::err_static("ERR internal error: zset vanished"));
    };
    let (mut added, mut updated) = (0u64, 0u64);
    let mut last = None;
    for (pair, &score) in pairs.chunks_exact(2).zip(scores.iter()) {
        let outcome = match zs.add(&pair[1], score, flags, limits) {
            Ok(o) => o,
            // Only an increment on an existing member can produce NaN, so nothing was
            // changed before (INCR takes one pair).
            Err(e) => return Err(zset_error(e)),
        };
        match outcome {
            AddOutcome::Added(_) => added += 1,
            AddOutcome::Updated(_) => updated += 1,
            AddOutcome::Unchanged(_) | AddOutcome::Skipped => {}
        }
        last = outcome.score();
    }
    if added + updated > 0 {
        ctx.dirty += added + updated;
        ctx.signal_modified(key);
        ctx.notify(notify::ZSET, if flags.incr { "zincr" } else { "zadd" }, key);
    }
    Ok(if flags.incr {
        match last {
            Some(s) => super::score_reply(ctx.resp, s),
            None => Reply::Null,
        }
    } else if ch {
        Reply::Int((added + updated) as i64)
    } else {
        Reply::Int(added as i64)
    })
}

pub fn zrem(ctx: &mut Ctx<'_, '_>, argv: &[Bytes]) -> Reply {
    let key = &argv[1];
    let zs = match coll::write::<ZSet>(ctx, key) {
        Ok(Some(zs)) => zs,
        Ok(None) => return Reply::Int(0),
        Err(e) => return e,
    };
    let mut deleted = 0u64;
    let mut emptied = false;
    for m in &argv[2..] {
        if zs.remove(m).is_some() {
            deleted += 1;
            if zs.is_empty() {
                emptied = true;
                break;
            }
        }
    }
    if emptied {
        kv::delete(ctx, key);
    }
    if deleted > 0 {
        ctx.notify(notify::ZSET, "zrem", key);
        if emptied {
            ctx.notify(notify::GENERIC, "del", key);
        }
        ctx.signal_modified(key);
        ctx.dirty += deleted;
    }
    Reply::Int(deleted as i64)
}

enum RemRange {
    Rank(i64, i64),
    Score(ScoreRange),
    Lex(LexRange),
}

pub fn zremrangebyrank(ctx: &mut Ctx<'_, '_>, argv: &[Bytes]) -> Reply {
    done((|| {
        let start = i64_or_err(&argv[2])?;
        let end = i64_or_err(&argv[3])?;
        zremrange(ctx, &argv[1], RemRange::Rank(start, end), "zremrangebyrank")
    })())
}

pub fn zremrangebyscore(ctx: &mut Ctx<'_, '_>, argv: &[Bytes]) -> Reply {
    done(
        ScoreRange::parse(&argv[2], &argv[3])
            .map_err(zset_error)
            .and_then(|r| zremrange(ctx, &argv[1], RemRange::Score(r), "zremrangebyscore")),
    )
}

pub fn zremrangebylex(ctx: &mut Ctx<'_, '_>, argv: &[Bytes]) -> Reply {
    done(
        LexRange::parse(&argv[2], &argv[3])
            .map_err(zset_error)
            .and_then(|r| zremrange(ctx, &argv[1], RemRange::Lex(r), "zremrangebylex")),
    )
}

/// The ZREMRANGEBY* body once the range is parsed (Redis parses before the lookup).
fn zremrange(
    ctx: &mut Ctx<'_, '_>,
    key: &[u8],
    range: RemRange,
    event: &str,
) -> Result<Reply, Reply> {
    let Some(zs) = coll::write::<ZSet>(ctx, key)? else {
        return Ok(Reply::Int(0));
    };
    let deleted = match &range {
        RemRange::Rank(start, end) => zs.remove_range_by_rank(*start, *end),
        RemRange::Score(r) => zs.remove_range_by_score(r),
        RemRange::Lex(r) => zs.remove_range_by_lex(r),
    } as u64;
    let emptied = zs.is_empty();
    if emptied {
        kv::delete(ctx, key);
    }
    if deleted > 0 {
        ctx.signal_modified(key);
        ctx.notify(notify::ZSET, event, key);
        if emptied {
            ctx.notify(notify::GENERIC, "del", key);
        }
    }
    ctx.dirty += deleted;
    Ok(Reply::Int(deleted as i64))
}
