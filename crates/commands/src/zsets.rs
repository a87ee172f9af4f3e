//! Sorted-set commands (ZADD ... BZMPOP): `listpack`/`skiplist` values ([`ZSet`]).
//!
//! - [`write`]: ZADD, ZINCRBY, ZREM, ZREMRANGEBYRANK/SCORE/LEX.
//! - [`range`]: the ZRANGE family (and ZRANGESTORE), ZCOUNT, ZLEXCOUNT, ZCARD, ZSCORE,
//!   ZMSCORE, ZRANK, ZREVRANK.
//! - [`pop`]: ZPOPMIN/ZPOPMAX, ZMPOP and their blocking forms, ZRANDMEMBER.
//! - [`setops`]: ZUNION, ZINTER, ZDIFF, their STORE forms and ZINTERCARD (sets are accepted as
//!   inputs with score 1).
//!
//! ZSCAN lives with the SCAN family. Error strings, reply shapes (RESP2 flat pairs, RESP3
//! nested `[member, double]` pairs), keyspace events and propagated forms are Redis 7.0's
//! (t_zset.c); scores are replied through [`Reply::Double`], which formats them as Redis's
//! `%.17g` (integral scores in RESP2 take a shortcut with the same bytes, see `score_reply`).

mod pop;
mod range;
mod setops;
mod write;

use crate::registry::{k, DataCommand};
use crate::reply::Reply;
use ferrodis_ds::zset::{ZSet, ZSetError};

/// This module's commands, merged into the registry.
pub static COMMANDS: &[DataCommand] = &[
    k("zadd", write::zadd),
    k("zincrby", write::zincrby),
    k("zrem", write::zrem),
    k("zremrangebyrank", write::zremrangebyrank),
    k("zremrangebyscore", write::zremrangebyscore),
    k("zremrangebylex", write::zremrangebylex),
    k("zcard", range::zcard),
    k("zscore", range::zscore),
    k("zmscore", range::zmscore),
    k("zrank", range::zrank),
    k("zrevrank", range::zrevrank),
    k("zcount", range::zcount),
    k("zlexcount", range::zlexcount),
    k("zrange", range::zrange),
    k("zrangestore", range::zrangestore),
    k("zrevrange", range::zrevrange),
    k("zrangebyscore", range::zrangebyscore),
    k("zrevrangebyscore", range::zrevrangebyscore),
    k("zrangebylex", range::zrangebylex),
    k("zrevrangebylex", range::zrevrangebylex),
    k("zpopmin", pop::zpopmin),
    k("zpopmax", pop::zpopmax),
    k("bzpopmin", pop::bzpopmin),
    k("bzpopmax", pop::bzpopmax),
    k("zmpop", pop::zmpop),
    k("bzmpop", pop::bzmpop),
    k("zrandmember", pop::zrandmember),
    k("zunion", setops::zunion),
    k("zinter", setops::zinter),
    k("zdiff", setops::zdiff),
    k("zunionstore", setops::zunionstore),
    k("zinterstore", setops::zinterstore),
    k("zdiffstore", setops::zdiffstore),
    k("zintercard", setops::zintercard),
];

/// Handlers are written as `Result<Reply, Reply>` (errors short-circuit with `?`).
fn done(r: Result<Reply, Reply>) -> Reply {
    r.unwrap_or_else(|e| e)
}

const SCORE_RANGE_ERR: &str = "ERR min or max is not a float";
const LEX_RANGE_ERR: &str = "ERR min or max not valid string range item";
const NAN_ERR: &str = "ERR resulting score is not a number (NaN)";

/// A [`ZSetError`] as Redis's error line.
fn zset_error(e: ZSetError) -> Reply {
    Reply::err_static(match e {
        ZSetError::NanScore => NAN_ERR,
        ZSetError::InvalidScoreRange => SCORE_RANGE_ERR,
        ZSetError::InvalidLexRange => LEX_RANGE_ERR,
    })
}

/// Redis's getPositiveLongFromObjectOrReply / getRangeLongFromObjectOrReply: an integer in
/// `min..=max`, else `msg` (for a non-integer too, as Redis passes the message down).
fn ranged_long(arg: &[u8], min: i64, max: i64, msg: &'static str) -> Result<i64, Reply> {
    match crate::args::parse_i64(arg) {
        Some(v) if (min..=max).contains(&v) => Ok(v),
        _ => Err(Reply::err_static(msg)),
    }
}

/// A score as Redis's addReplyDouble sends it. Integral scores in RESP2 skip the `%.17g`
/// formatter: for them it prints exactly the integer's digits (hot in ZRANGE WITHSCORES).
#[inline]
fn score_reply(resp: u8, s: f64) -> Reply {
    if resp == 2 && s.fract() == 0.0 && s.abs() < 1e15 && !(s == 0.0 && s.is_sign_negative()) {
        let mut buf = itoa::Buffer::new();
        return Reply::bulk_from_slice(buf.format(s as i64).as_bytes());
    }
    Reply::Double(s)
}

/// Collects `(member, score)` pairs into a reply: members only, or with scores as one flat
/// array in RESP2 and `[member, score]` pairs in RESP3 (Redis's ZRANGE WITHSCORES shape).
fn pairs_reply<'a>(
    resp: u8,
    items: impl Iterator<Item = (&'a [u8], f64)>,
    withscores: bool,
) -> Reply {
    let (lo, _) = items.size_hint();
    if !withscores {
        return Reply::Array(items.map(|(m, _)| Reply::bulk_from_slice(m)).collect());
    }
    if resp > 2 {
        let mut out = Vec::with_capacity(lo);
        for (m, s) in items {
            out.push(Reply::Array(vec![
                Reply::bulk_from_slice(m),
                score_reply(resp, s),
            ]));
        }
        Reply::Array(out)
    } else {
        let mut out = Vec::with_capacity(lo * 2);
        for (m, s) in items {
            out.push(Reply::bulk_from_slice(m));
            out.push(score_reply(resp, s));
        }
        Reply::Array(out)
    }
}

/// Stores `value` at `dst` when it is non-empty (reply: its size, event `event`), else deletes
/// `dst` (reply 0, `del` when it existed): the end of ZRANGESTORE and Z*STORE.
fn store_result(ctx: &mut crate::ctx::Ctx<'_, '_>, dst: &[u8], value: ZSet, event: &str) -> Reply {
    use crate::engine::notify;
    let n = value.len();
    if n > 0 {
        crate::coll::store(ctx, dst, value);
        ctx.notify(notify::ZSET, event, dst);
        ctx.dirty += 1;
        Reply::Int(n as i64)
    } else {
        if crate::kv::delete(ctx, dst) {
            ctx.notify(notify::GENERIC, "del", dst);
            ctx.dirty += 1;
        }
        Reply::Int(0)
    }
}

/// A new sorted set holding `items` (distinct members), encoded as Redis ends up encoding a
/// STORE result: listpack when it fits `zset-max-listpack-*`, else skiplist.
fn build_zset(items: &[(&[u8], f64)], limits: ferrodis_ds::zset::ZSetLimits) -> ZSet {
    let longest = items.iter().map(|(m, _)| m.len()).max().unwrap_or(0);
    let mut out = ZSet::with_size_hint(items.len(), longest, limits);
    for &(m, s) in items {
        // Members are distinct and scores never NaN: adding cannot fail.
        let _ = out.add(m, s, ferrodis_ds::zset::AddFlags::default(), limits);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use ferrodis_ds::num::fmt_g17;

    fn bytes(r: &Reply) -> Vec<u8> {
        match r.clone().normalized() {
            Reply::Bulk(b) => b.to_vec(),
            other => panic!("not a bulk: {other:?}"),
        }
    }

    /// The RESP2 integer shortcut must print what `%.17g` prints.
    #[test]
    fn integral_score_shortcut_matches_g17() {
        let mut vals = vec![0.0, 1.0, -1.0, 10.0, 1e14, -1e14, 999_999_999_999_999.0];
        let mut x: u64 = 0x9E37_79B9_7F4A_7C15;
        for _ in 0..10_000 {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            let v = (x % 2_000_000_000_000_000) as f64 - 1e15;
            vals.push(v.trunc());
        }
        for v in vals {
            let r = score_reply(2, v);
            if let Reply::Double(d) = r {
                assert!(d.abs() >= 1e15, "{v} not shortcut");
                continue;
            }
            assert_eq!(bytes(&r), fmt_g17(v).into_bytes(), "{v}");
        }
        assert_eq!(score_reply(2, -0.0), Reply::Double(-0.0));
        assert_eq!(score_reply(2, 1.5), Reply::Double(1.5));
        assert_eq!(score_reply(3, 2.0), Reply::Double(2.0));
        assert_eq!(score_reply(2, f64::INFINITY), Reply::Double(f64::INFINITY));
    }
}
