//! Geo commands (GEOADD ... GEOSEARCHSTORE, GEORADIUS*) over sorted sets with 52-bit geohash scores.
//!
//! Members live in an ordinary sorted set whose scores are Redis's interleaved geohashes
//! ([`ferrodis_ds::geo`]), so ZSCORE of a geo member is Redis's exactly.
//! - GEOADD is ZADD with computed scores, as in Redis (geo.c hands a rewritten argument vector
//!   to zaddCommand): ZADD's replies, its `zadd` event, and ZADD propagated.
//! - GEOPOS / GEODIST / GEOHASH decode scores back to the cell centre.
//! - [`search`]: GEOSEARCH, GEOSEARCHSTORE, GEORADIUS[BYMEMBER][_RO] with Redis's cell scan,
//!   exact filtering and sort (including its partial quicksort for COUNT, whose tie order
//!   replies depend on).

mod search;

use crate::args::{eq_ic, f64_or_err};
use crate::coll;
use crate::ctx::Ctx;
use crate::errors;
use crate::reply::Reply;
use bytes::Bytes;
use ferrodis_ds::geo;
use ferrodis_ds::num::{LdStrMode, LongDouble};
use ferrodis_ds::zset::ZSet;

use crate::registry::{k, DataCommand};

/// This module's commands, merged into the registry.
pub static COMMANDS: &[DataCommand] = &[
    k("geoadd", geoadd),
    k("geopos", geopos),
    k("geodist", geodist),
    k("geohash", geohash),
    k("geosearch", search::geosearch),
    k("geosearchstore", search::geosearchstore),
    k("georadius", search::georadius),
    k("georadius_ro", search::georadius_ro),
    k("georadiusbymember", search::georadiusbymember),
    k("georadiusbymember_ro", search::georadiusbymember_ro),
];

fn done(r: Result<Reply, Reply>) -> Reply {
    r.unwrap_or_else(|e| e)
}

/// Parses `lon lat` (Redis's extractLongLatOrReply): floats, then the index's limits.
fn lon_lat(lon: &[u8], lat: &[u8]) -> Result<[f64; 2], Reply> {
    let x = f64_or_err(lon)?;
    let y = f64_or_err(lat)?;
    if !(geo::LONG_MIN..=geo::LONG_MAX).contains(&x) || !(geo::LAT_MIN..=geo::LAT_MAX).contains(&y)
    {
        return Err(Reply::error(format!(
            "ERR invalid longitude,latitude pair {x:.6},{y:.6}"
        )));
    }
    Ok([x, y])
}

/// A unit's metres (Redis's extractUnitOrReply).
fn unit(arg: &[u8]) -> Result<f64, Reply> {
    if eq_ic(arg, "m") {
        Ok(1.0)
    } else if eq_ic(arg, "km") {
        Ok(1000.0)
    } else if eq_ic(arg, "ft") {
        Ok(0.3048)
    } else if eq_ic(arg, "mi") {
        Ok(1609.34)
    } else {
        Err(Reply::err_static(
            "ERR unsupported unit provided. please use M, KM, FT, MI",
        ))
    }
}

/// A coordinate as addReplyHumanLongDouble sends it: `%.17Lf` trimmed, a bulk string in RESP2
/// and a double frame carrying those same digits in RESP3.
fn human_coord(resp: u8, v: f64) -> Reply {
    let s = LongDouble::from_f64(v).format(LdStrMode::Human);
    if resp == 2 {
        Reply::bulk_from_slice(&s)
    } else {
        let mut out = Vec::with_capacity(s.len() + 3);
        out.push(b',');
        out.extend_from_slice(&s);
        out.extend_from_slice(b"\r\n");
        Reply::Raw(Bytes::from(out))
    }
}

fn coords_reply(resp: u8, xy: [f64; 2]) -> Reply {
    Reply::Array(vec![human_coord(resp, xy[0]), human_coord(resp, xy[1])])
}

/// The sorted set at `key` without touching stats (after a counted lookup).
fn zset_ref<'c>(ctx: &'c mut Ctx<'_, '_>, key: &[u8]) -> Option<&'c ZSet> {
    crate::kv::lookup_notouch(ctx, key).and_then(|e| <ZSet as coll::Collection>::of_ref(e.value()))
}

/// GEOADD key [NX|XX] [CH] lon lat member ...: validated, turned into ZADD and run as ZADD.
pub fn geoadd(ctx: &mut Ctx<'_, '_>, argv: &[Bytes]) -> Reply {
    let (mut xx, mut nx) = (false, false);
    let mut idx = 2;
    while let Some(opt) = argv.get(idx) {
        if eq_ic(opt, "nx") {
            nx = true;
        } else if eq_ic(opt, "xx") {
            xx = true;
        } else if !eq_ic(opt, "ch") {
            break;
        }
        idx += 1;
    }
    if !(argv.len() - idx).is_multiple_of(3) || (xx && nx) {
        return errors::syntax();
    }
    let triples = &argv[idx..];
    let mut zargv: Vec<Bytes> = Vec::with_capacity(idx + triples.len() / 3 * 2);
    zargv.push(Bytes::from_static(b"zadd"));
    zargv.extend_from_slice(&argv[1..idx]);
    for t in triples.chunks_exact(3) {
        let xy = match lon_lat(&t[0], &t[1]) {
            Ok(xy) => xy,
            Err(e) => return e,
        };
        // Validated coordinates always encode.
        let score = geo::score_of(xy[0], xy[1]).unwrap_or(0);
        let mut buf = itoa::Buffer::new();
        zargv.push(Bytes::copy_from_slice(buf.format(score).as_bytes()));
        zargv.push(t[2].clone());
    }
    static ZADD: std::sync::OnceLock<Option<crate::registry::DataFn>> = std::sync::OnceLock::new();
    let zadd = ZADD.get_or_init(|| {
        crate::zsets::COMMANDS
            .iter()
            .find(|c| c.name == "zadd")
            .map(|c| c.run)
    });
    let Some(zadd) = zadd else {
        return Reply::err_static("ERR internal error: zadd missing");
    };
    let reply = zadd(ctx, &zargv);
    ctx.rewrite(zargv);
    reply
}

/// GEOPOS key member ...
pub fn geopos(ctx: &mut Ctx<'_, '_>, argv: &[Bytes]) -> Reply {
    let resp = ctx.resp;
    let zs = match coll::read::<ZSet>(ctx, &argv[1]) {
        Ok(z) => z,
        Err(e) => return e,
    };
    let out = argv[2..]
        .iter()
        .map(|m| {
            match zs
                .as_ref()
                .and_then(|z| z.score(m))
                .and_then(geo::decode_score)
            {
                Some(xy) => coords_reply(resp, xy),
                None => Reply::NullArray,
            }
        })
        .collect();
    Reply::Array(out)
}

/// GEODIST key member1 member2 [unit]
pub fn geodist(ctx: &mut Ctx<'_, '_>, argv: &[Bytes]) -> Reply {
    done((|| {
        let to_meter = match argv.len() {
            5 => unit(&argv[4])?,
            n if n > 5 => return Err(errors::syntax()),
            _ => 1.0,
        };
        let Some(zs) = coll::read::<ZSet>(ctx, &argv[1])? else {
            return Ok(Reply::Null);
        };
        let (Some(s1), Some(s2)) = (zs.score(&argv[2]), zs.score(&argv[3])) else {
            return Ok(Reply::Null);
        };
        let (Some(a), Some(b)) = (geo::decode_score(s1), geo::decode_score(s2)) else {
            return Ok(Reply::Null);
        };
        let d = geo::distance(a[0], a[1], b[0], b[1]) / to_meter;
        Ok(Reply::bulk_from_slice(geo::fmt_distance(d).as_bytes()))
    })())
}

/// GEOHASH key member ...
pub fn geohash(ctx: &mut Ctx<'_, '_>, argv: &[Bytes]) -> Reply {
    let zs = match coll::read::<ZSet>(ctx, &argv[1]) {
        Ok(z) => z,
        Err(e) => return e,
    };
    let out = argv[2..]
        .iter()
        .map(|m| {
            match zs
                .as_ref()
                .and_then(|z| z.score(m))
                .and_then(geo::decode_score)
            {
                Some(xy) => Reply::bulk_from_slice(&geo::geohash_string(xy[0], xy[1])),
                None => Reply::Null,
            }
        })
        .collect();
    Reply::Array(out)
}
