//! Reads by member, rank, score and lex range: ZRANGE (with BYSCORE, BYLEX, REV, LIMIT,
//! WITHSCORES), ZRANGESTORE, the legacy ZREVRANGE / Z[REV]RANGEBYSCORE / Z[REV]RANGEBYLEX,
//! ZCOUNT, ZLEXCOUNT, ZCARD, ZSCORE, ZMSCORE, ZRANK, ZREVRANK.

use super::{build_zset, done, pairs_reply, score_reply, store_result, zset_error};
use crate::args::{eq_ic, i64_or_err};
use crate::coll;
use crate::ctx::Ctx;
use crate::errors;
use crate::reply::Reply;
use bytes::Bytes;
use ferrodis_ds::zset::{LexRange, ScoreRange, ZSet};

#[derive(Clone, Copy, PartialEq, Eq)]
enum By {
    Auto,
    Rank,
    Score,
    Lex,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Dir {
    Auto,
    Forward,
    Reverse,
}

pub fn zrange(ctx: &mut Ctx<'_, '_>, argv: &[Bytes]) -> Reply {
    done(zrange_generic(ctx, argv, 1, None, By::Auto, Dir::Auto))
}

pub fn zrangestore(ctx: &mut Ctx<'_, '_>, argv: &[Bytes]) -> Reply {
    done(zrange_generic(
        ctx,
        argv,
        2,
        Some(&argv[1]),
        By::Auto,
        Dir::Auto,
    ))
}

pub fn zrevrange(ctx: &mut Ctx<'_, '_>, argv: &[Bytes]) -> Reply {
    done(zrange_generic(ctx, argv, 1, None, By::Rank, Dir::Reverse))
}

pub fn zrangebyscore(ctx: &mut Ctx<'_, '_>, argv: &[Bytes]) -> Reply {
    done(zrange_generic(ctx, argv, 1, None, By::Score, Dir::Forward))
}

pub fn zrevrangebyscore(ctx: &mut Ctx<'_, '_>, argv: &[Bytes]) -> Reply {
    done(zrange_generic(ctx, argv, 1, None, By::Score, Dir::Reverse))
}

pub fn zrangebylex(ctx: &mut Ctx<'_, '_>, argv: &[Bytes]) -> Reply {
    done(zrange_generic(ctx, argv, 1, None, By::Lex, Dir::Forward))
}

pub fn zrevrangebylex(ctx: &mut Ctx<'_, '_>, argv: &[Bytes]) -> Reply {
    done(zrange_generic(ctx, argv, 1, None, By::Lex, Dir::Reverse))
}

enum Spec {
    Rank(i64, i64),
    Score(ScoreRange),
    Lex(LexRange),
}

/// Redis's zrangeGenericCommand: `src` is the index of the source key; `dst` is set for
/// ZRANGESTORE. `by`/`dir` are fixed by the legacy commands, `Auto` for ZRANGE(STORE).
fn zrange_generic(
    ctx: &mut Ctx<'_, '_>,
    argv: &[Bytes],
    src: usize,
    dst: Option<&Bytes>,
    mut by: By,
    mut dir: Dir,
) -> Result<Reply, Reply> {
    let store = dst.is_some();
    let mut withscores = false;
    let mut offset = 0i64;
    let mut limit = -1i64;
    let mut j = src + 3;
    while j < argv.len() {
        let opt = &argv[j];
        let left = argv.len() - j - 1;
        if !store && eq_ic(opt, "withscores") {
            withscores = true;
        } else if eq_ic(opt, "limit") && left >= 2 {
            offset = i64_or_err(&argv[j + 1])?;
            limit = i64_or_err(&argv[j + 2])?;
            j += 2;
        } else if dir == Dir::Auto && eq_ic(opt, "rev") {
            dir = Dir::Reverse;
        } else if by == By::Auto && eq_ic(opt, "bylex") {
            by = By::Lex;
        } else if by == By::Auto && eq_ic(opt, "byscore") {
            by = By::Score;
        } else {
            return Err(errors::syntax());
        }
        j += 1;
    }
    let reverse = dir == Dir::Reverse;
    if by == By::Auto {
        by = By::Rank;
    }
    // LIMIT with count -1 is accepted (and ignored) by rank, as in Redis.
    if limit != -1 && by == By::Rank {
        return Err(Reply::err_static(
            "ERR syntax error, LIMIT is only supported in combination with either BYSCORE or BYLEX",
        ));
    }
    if withscores && by == By::Lex {
        return Err(Reply::err_static(
            "ERR syntax error, WITHSCORES not supported in combination with BYLEX",
        ));
    }
    let (mut lo, mut hi) = (&argv[src + 1], &argv[src + 2]);
    if reverse && by != By::Rank {
        // Reverse score and lex ranges are written max first.
        std::mem::swap(&mut lo, &mut hi);
    }
    let spec = match by {
        By::Score => Spec::Score(ScoreRange::parse(lo, hi).map_err(zset_error)?),
        By::Lex => Spec::Lex(LexRange::parse(lo, hi).map_err(zset_error)?),
        _ => Spec::Rank(i64_or_err(lo)?, i64_or_err(hi)?),
    };

    let resp = ctx.resp;
    let limits = ctx.engine.settings.zset_limits();
    let key = &argv[src];
    let Some(zs) = coll::read::<ZSet>(ctx, key)? else {
        return Ok(match dst {
            Some(dst) => store_result(ctx, dst, ZSet::new(), "zrangestore"),
            None => Reply::Array(Vec::new()),
        });
    };
    let items = match &spec {
        Spec::Rank(a, b) => zs.range_by_rank(*a, *b, reverse),
        Spec::Score(r) => zs.range_by_score(r, reverse, offset, limit),
        Spec::Lex(r) => zs.range_by_lex(r, reverse, offset, limit),
    };
    let Some(dst) = dst else {
        return Ok(pairs_reply(resp, items, withscores));
    };
    let items: Vec<(&[u8], f64)> = items.collect();
    let value = build_zset(&items, limits);
    Ok(store_result(ctx, dst, value, "zrangestore"))
}

pub fn zcard(ctx: &mut Ctx<'_, '_>, argv: &[Bytes]) -> Reply {
    match coll::read::<ZSet>(ctx, &argv[1]) {
        Ok(Some(zs)) => Reply::Int(zs.len() as i64),
        Ok(None) => Reply::Int(0),
        Err(e) => e,
    }
}

pub fn zscore(ctx: &mut Ctx<'_, '_>, argv: &[Bytes]) -> Reply {
    let resp = ctx.resp;
    match coll::read::<ZSet>(ctx, &argv[1]) {
        Ok(Some(zs)) => zs
            .score(&argv[2])
            .map_or(Reply::Null, |s| score_reply(resp, s)),
        Ok(None) => Reply::Null,
        Err(e) => e,
    }
}

pub fn zmscore(ctx: &mut Ctx<'_, '_>, argv: &[Bytes]) -> Reply {
    let resp = ctx.resp;
    match coll::read::<ZSet>(ctx, &argv[1]) {
        Ok(zs) => Reply::Array(
            argv[2..]
                .iter()
                .map(|m| {
                    zs.as_ref()
                        .and_then(|z| z.score(m))
                        .map_or(Reply::Null, |s| score_reply(resp, s))
                })
                .collect(),
        ),
        Err(e) => e,
    }
}

pub fn zrank(ctx: &mut Ctx<'_, '_>, argv: &[Bytes]) -> Reply {
    rank(ctx, argv, false)
}

pub fn zrevrank(ctx: &mut Ctx<'_, '_>, argv: &[Bytes]) -> Reply {
    rank(ctx, argv, true)
}

fn rank(ctx: &mut Ctx<'_, '_>, argv: &[Bytes], reverse: bool) -> Reply {
    match coll::read::<ZSet>(ctx, &argv[1]) {
        Ok(Some(zs)) => zs
            .rank(&argv[2], reverse)
            .map_or(Reply::Null, |r| Reply::Int(r as i64)),
        Ok(None) => Reply::Null,
        Err(e) => e,
    }
}

pub fn zcount(ctx: &mut Ctx<'_, '_>, argv: &[Bytes]) -> Reply {
    let range = match ScoreRange::parse(&argv[2], &argv[3]) {
        Ok(r) => r,
        Err(e) => return zset_error(e),
    };
    match coll::read::<ZSet>(ctx, &argv[1]) {
        Ok(Some(zs)) => Reply::Int(zs.count_in_score_range(&range) as i64),
        Ok(None) => Reply::Int(0),
        Err(e) => e,
    }
}

pub fn zlexcount(ctx: &mut Ctx<'_, '_>, argv: &[Bytes]) -> Reply {
    let range = match LexRange::parse(&argv[2], &argv[3]) {
        Ok(r) => r,
        Err(e) => return zset_error(e),
    };
    match coll::read::<ZSet>(ctx, &argv[1]) {
        Ok(Some(zs)) => Reply::Int(zs.count_in_lex_range(&range) as i64),
        Ok(None) => Reply::Int(0),
        Err(e) => e,
    }
}
