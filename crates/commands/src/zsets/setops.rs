//! ZUNION, ZINTER, ZDIFF, ZUNIONSTORE, ZINTERSTORE, ZDIFFSTORE and ZINTERCARD (Redis's
//! zunionInterDiffGenericCommand). Plain sets are accepted as inputs, every member scoring 1.
//!
//! Inputs may live in several shards (the executor holds all their locks). Each key is first
//! looked up through the normal path (expiry, hit/miss stats, WRONGTYPE), then all inputs are
//! borrowed at once straight from the locked shards to compute the result without copying them.

use super::{build_zset, done, pairs_reply};
use crate::args::{eq_ic, i64_or_err};
use crate::ctx::Ctx;
use crate::errors;
use crate::kv;
use crate::reply::Reply;
use bytes::Bytes;
use ferrodis_ds::num::string2d;
use ferrodis_ds::set::Set;
use ferrodis_ds::value::{StrRef, Value};
use ferrodis_ds::zset::ZSet;
use ferrodis_keyspace::Shard;
use smallvec::SmallVec;
use std::borrow::Cow;
use std::cmp::Ordering;
use std::collections::HashMap;

#[derive(Clone, Copy, PartialEq, Eq)]
enum Op {
    Union,
    Inter,
    Diff,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Aggregate {
    Sum,
    Min,
    Max,
}

/// Redis's zunionInterAggregate: a sum of `inf` and `-inf` counts as 0.
#[inline]
fn aggregate(target: &mut f64, val: f64, how: Aggregate) {
    match how {
        Aggregate::Sum => {
            *target += val;
            if target.is_nan() {
                *target = 0.0;
            }
        }
        Aggregate::Min => {
            if val < *target {
                *target = val;
            }
        }
        Aggregate::Max => {
            if val > *target {
                *target = val;
            }
        }
    }
}

/// One input: a sorted set, a set (scores 1), or a missing key (empty).
#[derive(Clone, Copy)]
enum Src<'a> {
    Missing,
    Z(&'a ZSet),
    S(&'a Set),
}

impl<'a> Src<'a> {
    fn len(&self) -> usize {
        match self {
            Src::Missing => 0,
            Src::Z(z) => z.len(),
            Src::S(s) => s.len(),
        }
    }

    fn score(&self, m: &[u8]) -> Option<f64> {
        match self {
            Src::Missing => None,
            Src::Z(z) => z.score(m),
            Src::S(s) => s.contains(m).then_some(1.0),
        }
    }

    /// Calls `f` with every member (borrowed when the value holds its bytes) and score.
    fn for_each(&self, mut f: impl FnMut(Cow<'a, [u8]>, f64)) {
        match self {
            Src::Missing => {}
            Src::Z(z) => z.iter().for_each(|(m, s)| f(Cow::Borrowed(m), s)),
            Src::S(s) => s.iter().for_each(|m| match m {
                StrRef::Bytes(b) => f(Cow::Borrowed(b), 1.0),
                StrRef::Int(_) => f(Cow::Owned(m.to_vec()), 1.0),
            }),
        }
    }
}

/// The live value of `key` in database `db`, from whichever locked shard holds it.
fn find<'a>(shards: &[&'a Shard], db: usize, key: &[u8], now_ms: i64) -> Src<'a> {
    for sh in shards {
        if let Some(e) = sh.dbs.get(db).and_then(|d| d.lookup(key, now_ms)) {
            return match e.value() {
                Value::ZSet(z) => Src::Z(z),
                Value::Set(s) => Src::S(s),
                _ => Src::Missing,
            };
        }
    }
    Src::Missing
}

pub fn zunion(ctx: &mut Ctx<'_, '_>, argv: &[Bytes]) -> Reply {
    done(generic(ctx, argv, None, 1, Op::Union, false, "zunion"))
}

pub fn zinter(ctx: &mut Ctx<'_, '_>, argv: &[Bytes]) -> Reply {
    done(generic(ctx, argv, None, 1, Op::Inter, false, "zinter"))
}

pub fn zdiff(ctx: &mut Ctx<'_, '_>, argv: &[Bytes]) -> Reply {
    done(generic(ctx, argv, None, 1, Op::Diff, false, "zdiff"))
}

pub fn zintercard(ctx: &mut Ctx<'_, '_>, argv: &[Bytes]) -> Reply {
    done(generic(ctx, argv, None, 1, Op::Inter, true, "zintercard"))
}

pub fn zunionstore(ctx: &mut Ctx<'_, '_>, argv: &[Bytes]) -> Reply {
    let dst = argv[1].clone();
    done(generic(
        ctx,
        argv,
        Some(&dst),
        2,
        Op::Union,
        false,
        "zunionstore",
    ))
}

pub fn zinterstore(ctx: &mut Ctx<'_, '_>, argv: &[Bytes]) -> Reply {
    let dst = argv[1].clone();
    done(generic(
        ctx,
        argv,
        Some(&dst),
        2,
        Op::Inter,
        false,
        "zinterstore",
    ))
}

pub fn zdiffstore(ctx: &mut Ctx<'_, '_>, argv: &[Bytes]) -> Reply {
    let dst = argv[1].clone();
    done(generic(
        ctx,
        argv,
        Some(&dst),
        2,
        Op::Diff,
        false,
        "zdiffstore",
    ))
}

/// What the command produces once its inputs are read.
enum Output {
    Card(u64),
    Reply(Reply),
    Store(ZSet),
}

#[allow(clippy::too_many_arguments)] // mirrors Redis's generic command's parameters
fn generic(
    ctx: &mut Ctx<'_, '_>,
    argv: &[Bytes],
    dst: Option<&Bytes>,
    numkeys_idx: usize,
    op: Op,
    card_only: bool,
    name: &str,
) -> Result<Reply, Reply> {
    let setnum = i64_or_err(&argv[numkeys_idx])?;
    if setnum < 1 {
        return Err(Reply::error(format!(
            "ERR at least 1 input key is needed for '{name}' command"
        )));
    }
    let first = numkeys_idx + 1;
    let setnum = match usize::try_from(setnum) {
        Ok(n) if n <= argv.len() - first => n,
        _ => return Err(errors::syntax()),
    };
    let keys = &argv[first..first + setnum];
    // Inputs are read (and type-checked) before the options are parsed, as in Redis.
    for key in keys {
        if let Some(e) = kv::lookup_read(ctx, key) {
            if !matches!(e.value(), Value::ZSet(_) | Value::Set(_)) {
                return Err(errors::wrongtype());
            }
        }
    }

    let mut weights: SmallVec<[f64; 4]> = SmallVec::from_elem(1.0, setnum);
    let mut how = Aggregate::Sum;
    let mut withscores = false;
    let mut limit = 0u64;
    let mut j = first + setnum;
    while j < argv.len() {
        let remaining = argv.len() - j;
        let opt = &argv[j];
        if op != Op::Diff && !card_only && remaining > setnum && eq_ic(opt, "weights") {
            for (w, arg) in weights.iter_mut().zip(&argv[j + 1..]) {
                *w = string2d(arg)
                    .ok_or_else(|| Reply::err_static("ERR weight value is not a float"))?;
            }
            j += setnum + 1;
        } else if op != Op::Diff && !card_only && remaining >= 2 && eq_ic(opt, "aggregate") {
            let a = &argv[j + 1];
            how = if eq_ic(a, "sum") {
                Aggregate::Sum
            } else if eq_ic(a, "min") {
                Aggregate::Min
            } else if eq_ic(a, "max") {
                Aggregate::Max
            } else {
                return Err(errors::syntax());
            };
            j += 2;
        } else if dst.is_none() && !card_only && eq_ic(opt, "withscores") {
            withscores = true;
            j += 1;
        } else if card_only && remaining >= 2 && eq_ic(opt, "limit") {
            limit = super::ranged_long(&argv[j + 1], 0, i64::MAX, "ERR LIMIT can't be negative")?
                as u64;
            j += 2;
        } else {
            return Err(errors::syntax());
        }
    }

    let (db, now, resp) = (ctx.db, ctx.now_ms, ctx.resp);
    let limits = ctx.engine.settings.zset_limits();
    let output = {
        let shards: SmallVec<[&Shard; 4]> = ctx.locks.iter_mut().map(|s| &*s).collect();
        let mut srcs: SmallVec<[(Src<'_>, f64); 4]> = keys
            .iter()
            .zip(weights.iter())
            .map(|(k, &w)| (find(&shards, db, k, now), w))
            .collect();
        if op != Op::Diff {
            // Smallest first (a stable sort, as glibc's qsort is here: ties keep key order,
            // which fixes the order scores are summed in).
            srcs.sort_by_key(|(s, _)| s.len());
        }
        if card_only {
            Output::Card(inter_card(&srcs, limit))
        } else {
            let mut result = match op {
                Op::Union => union(&srcs, how),
                Op::Inter => inter(&srcs, how),
                Op::Diff => diff(&srcs),
            };
            if dst.is_some() {
                let items: Vec<(&[u8], f64)> = result.iter().map(|(m, s)| (&**m, *s)).collect();
                Output::Store(build_zset(&items, limits))
            } else {
                result.sort_by(|a, b| {
                    a.1.partial_cmp(&b.1)
                        .unwrap_or(Ordering::Equal)
                        .then_with(|| a.0.cmp(&b.0))
                });
                let items = result.iter().map(|(m, s)| (&**m, *s));
                Output::Reply(pairs_reply(resp, items, withscores))
            }
        }
    };
    Ok(match (output, dst) {
        (Output::Card(n), _) => Reply::Int(n as i64),
        (Output::Reply(r), _) => r,
        (Output::Store(z), Some(dst)) => {
            let event = match op {
                Op::Union => "zunionstore",
                Op::Inter => "zinterstore",
                Op::Diff => "zdiffstore",
            };
            super::store_result(ctx, dst, z, event)
        }
        (Output::Store(_), None) => Reply::Array(Vec::new()),
    })
}

type Entries<'a> = Vec<(Cow<'a, [u8]>, f64)>;

fn union<'a>(srcs: &[(Src<'a>, f64)], how: Aggregate) -> Entries<'a> {
    let largest = srcs.iter().map(|(s, _)| s.len()).max().unwrap_or(0);
    let mut acc: HashMap<Cow<'a, [u8]>, f64, ahash::RandomState> =
        HashMap::with_capacity_and_hasher(largest, ahash::RandomState::new());
    for (src, w) in srcs {
        src.for_each(|m, s| {
            let mut score = w * s;
            if score.is_nan() {
                score = 0.0;
            }
            match acc.get_mut(&*m) {
                Some(t) => aggregate(t, score, how),
                None => {
                    acc.insert(m, score);
                }
            }
        });
    }
    acc.into_iter().collect()
}

fn inter<'a>(srcs: &[(Src<'a>, f64)], how: Aggregate) -> Entries<'a> {
    let mut out = Vec::new();
    let Some(((first, w0), rest)) = srcs.split_first() else {
        return out;
    };
    first.for_each(|m, s| {
        let mut score = w0 * s;
        if score.is_nan() {
            score = 0.0;
        }
        for (src, w) in rest {
            match src.score(&m) {
                Some(v) => aggregate(&mut score, v * w, how),
                None => return,
            }
        }
        out.push((m, score));
    });
    out
}

fn inter_card(srcs: &[(Src<'_>, f64)], limit: u64) -> u64 {
    let Some(((first, _), rest)) = srcs.split_first() else {
        return 0;
    };
    let mut n = 0u64;
    // for_each cannot stop early; the count simply stops growing at the limit.
    first.for_each(|m, _| {
        if limit != 0 && n >= limit {
            return;
        }
        if rest.iter().all(|(src, _)| src.score(&m).is_some()) {
            n += 1;
        }
    });
    n
}

fn diff<'a>(srcs: &[(Src<'a>, f64)]) -> Entries<'a> {
    let mut out = Vec::new();
    let Some(((first, _), rest)) = srcs.split_first() else {
        return out;
    };
    first.for_each(|m, s| {
        if rest.iter().all(|(src, _)| src.score(&m).is_none()) {
            out.push((m, s));
        }
    });
    out
}
