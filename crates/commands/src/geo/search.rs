//! GEOSEARCH, GEOSEARCHSTORE, GEORADIUS, GEORADIUSBYMEMBER and their `_RO` forms (Redis's
//! georadiusGeneric): option parsing with Redis's error precedence, the nine-cell scan of the
//! sorted set by score range, exact distance filtering, sorting, and the reply or STORE.

use super::{coords_reply, done, lon_lat, unit, zset_ref};
use crate::args::{eq_ic, i64_or_err};
use crate::coll;
use crate::ctx::Ctx;
use crate::engine::notify;
use crate::kv;
use crate::reply::Reply;
use bytes::Bytes;
use ferrodis_ds::geo::{self, Shape, ShapeKind};
use ferrodis_ds::zset::{AddFlags, ScoreRange, ZSet};
use std::cmp::Ordering;

#[derive(Clone, Copy, PartialEq, Eq)]
enum Kind {
    /// GEORADIUS[_RO]: centre given as coordinates.
    Coords,
    /// GEORADIUSBYMEMBER[_RO]: centre given as a member.
    Member,
    /// GEOSEARCH / GEOSEARCHSTORE.
    Search,
}

#[derive(Clone, Copy)]
struct Flags {
    kind: Kind,
    /// `_RO` forms: no STORE/STOREDIST.
    nostore: bool,
    /// GEOSEARCHSTORE.
    searchstore: bool,
}

pub fn georadius(ctx: &mut Ctx<'_, '_>, argv: &[Bytes]) -> Reply {
    done(generic(
        ctx,
        argv,
        1,
        Flags {
            kind: Kind::Coords,
            nostore: false,
            searchstore: false,
        },
    ))
}

pub fn georadius_ro(ctx: &mut Ctx<'_, '_>, argv: &[Bytes]) -> Reply {
    done(generic(
        ctx,
        argv,
        1,
        Flags {
            kind: Kind::Coords,
            nostore: true,
            searchstore: false,
        },
    ))
}

pub fn georadiusbymember(ctx: &mut Ctx<'_, '_>, argv: &[Bytes]) -> Reply {
    done(generic(
        ctx,
        argv,
        1,
        Flags {
            kind: Kind::Member,
            nostore: false,
            searchstore: false,
        },
    ))
}

pub fn georadiusbymember_ro(ctx: &mut Ctx<'_, '_>, argv: &[Bytes]) -> Reply {
    done(generic(
        ctx,
        argv,
        1,
        Flags {
            kind: Kind::Member,
            nostore: true,
            searchstore: false,
        },
    ))
}

pub fn geosearch(ctx: &mut Ctx<'_, '_>, argv: &[Bytes]) -> Reply {
    done(generic(
        ctx,
        argv,
        1,
        Flags {
            kind: Kind::Search,
            nostore: false,
            searchstore: false,
        },
    ))
}

pub fn geosearchstore(ctx: &mut Ctx<'_, '_>, argv: &[Bytes]) -> Reply {
    done(generic(
        ctx,
        argv,
        2,
        Flags {
            kind: Kind::Search,
            nostore: false,
            searchstore: true,
        },
    ))
}

/// `radius unit` (Redis's extractDistanceOrReply): `(radius, metres per unit)`.
fn distance_arg(r: &[u8], u: &[u8]) -> Result<(f64, f64), Reply> {
    let d = ferrodis_ds::num::string2d(r)
        .ok_or_else(|| Reply::err_static("ERR need numeric radius"))?;
    if d < 0.0 {
        return Err(Reply::err_static("ERR radius cannot be negative"));
    }
    Ok((d, unit(u)?))
}

/// `width height unit` (Redis's extractBoxOrReply): `(width, height, metres per unit)`.
fn box_arg(w: &[u8], h: &[u8], u: &[u8]) -> Result<(f64, f64, f64), Reply> {
    let w =
        ferrodis_ds::num::string2d(w).ok_or_else(|| Reply::err_static("ERR need numeric width"))?;
    let h = ferrodis_ds::num::string2d(h)
        .ok_or_else(|| Reply::err_static("ERR need numeric height"))?;
    if h < 0.0 || w < 0.0 {
        return Err(Reply::err_static("ERR height or width cannot be negative"));
    }
    Ok((w, h, unit(u)?))
}

/// The centre of a search from a member's score.
fn member_center(ctx: &mut Ctx<'_, '_>, key: &[u8], member: &[u8]) -> Result<[f64; 2], Reply> {
    zset_ref(ctx, key)
        .and_then(|z| z.score(member))
        .and_then(geo::decode_score)
        .ok_or_else(|| Reply::err_static("ERR could not decode requested zset member"))
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Sort {
    None,
    Asc,
    Desc,
}

/// A point found by a search.
struct Point {
    lon: f64,
    lat: f64,
    dist: f64,
    score: f64,
    member: Vec<u8>,
}

fn generic(
    ctx: &mut Ctx<'_, '_>,
    argv: &[Bytes],
    src: usize,
    flags: Flags,
) -> Result<Reply, Reply> {
    let key = &argv[src];
    let exists = coll::read::<ZSet>(ctx, key)?.is_some();

    let mut store: Option<&Bytes> = None;
    let mut storedist = false;
    // Centre, radius/box and conversion; the kind is settled by the arguments below.
    let mut center = [0.0f64; 2];
    let mut kind = ShapeKind::Radius(0.0);
    let mut conversion = 0.0;
    let base = match flags.kind {
        Kind::Coords => {
            center = lon_lat(&argv[2], &argv[3])?;
            let (r, c) = distance_arg(&argv[4], &argv[5])?;
            kind = ShapeKind::Radius(r);
            conversion = c;
            6
        }
        Kind::Member if !exists => 5,
        Kind::Member => {
            center = member_center(ctx, key, &argv[2])?;
            let (r, c) = distance_arg(&argv[3], &argv[4])?;
            kind = ShapeKind::Radius(r);
            conversion = c;
            5
        }
        Kind::Search => {
            if flags.searchstore {
                store = Some(&argv[1]);
                3
            } else {
                2
            }
        }
    };
    let search = flags.kind == Kind::Search;

    let (mut withdist, mut withhash, mut withcoord) = (false, false, false);
    let (mut frommember, mut fromloc, mut byradius, mut bybox) = (false, false, false, false);
    let mut sort = Sort::None;
    let mut any = false;
    let mut count: i64 = 0;
    let remaining = argv.len().saturating_sub(base);
    let mut i = 0;
    while i < remaining {
        let arg = &argv[base + i];
        let next = |n: usize| &argv[base + i + n];
        if eq_ic(arg, "withdist") {
            withdist = true;
        } else if eq_ic(arg, "withhash") {
            withhash = true;
        } else if eq_ic(arg, "withcoord") {
            withcoord = true;
        } else if eq_ic(arg, "any") {
            any = true;
        } else if eq_ic(arg, "asc") {
            sort = Sort::Asc;
        } else if eq_ic(arg, "desc") {
            sort = Sort::Desc;
        } else if eq_ic(arg, "count") && i + 1 < remaining {
            count = i64_or_err(next(1))?;
            if count <= 0 {
                return Err(Reply::err_static("ERR COUNT must be > 0"));
            }
            i += 1;
        } else if (eq_ic(arg, "store") || eq_ic(arg, "storedist"))
            && i + 1 < remaining
            && !flags.nostore
            && !search
        {
            store = Some(next(1));
            storedist = eq_ic(arg, "storedist");
            i += 1;
        } else if eq_ic(arg, "storedist") && search && flags.searchstore {
            storedist = true;
        } else if eq_ic(arg, "frommember") && i + 1 < remaining && search && !fromloc {
            if exists {
                center = member_center(ctx, key, next(1))?;
            }
            frommember = true;
            i += 1;
        } else if eq_ic(arg, "fromlonlat") && i + 2 < remaining && search && !frommember {
            center = lon_lat(next(1), next(2))?;
            fromloc = true;
            i += 2;
        } else if eq_ic(arg, "byradius") && i + 2 < remaining && search && !bybox {
            let (r, c) = distance_arg(next(1), next(2))?;
            kind = ShapeKind::Radius(r);
            conversion = c;
            byradius = true;
            i += 2;
        } else if eq_ic(arg, "bybox") && i + 3 < remaining && search && !byradius {
            let (w, h, c) = box_arg(next(1), next(2), next(3))?;
            kind = ShapeKind::Box {
                width: w,
                height: h,
            };
            conversion = c;
            bybox = true;
            i += 3;
        } else {
            return Err(crate::errors::syntax());
        }
        i += 1;
    }

    if store.is_some() && (withdist || withhash || withcoord) {
        return Err(Reply::err_static(if flags.searchstore {
            "ERR GEOSEARCHSTORE is not compatible with WITHDIST, WITHHASH and WITHCOORD options"
        } else {
            "ERR STORE option in GEORADIUS is not compatible with WITHDIST, WITHHASH and WITHCOORD options"
        }));
    }
    if search && !(frommember || fromloc) {
        return Err(crate::errors::error_with(
            "ERR exactly one of FROMMEMBER or FROMLONLAT can be specified for ",
            &argv[0],
            "",
        ));
    }
    if search && !(byradius || bybox) {
        return Err(crate::errors::error_with(
            "ERR exactly one of BYRADIUS and BYBOX can be specified for ",
            &argv[0],
            "",
        ));
    }
    if any && count == 0 {
        return Err(Reply::err_static(
            "ERR the ANY argument requires COUNT argument",
        ));
    }

    if !exists {
        return Ok(match store {
            Some(dst) => {
                if kv::delete(ctx, dst) {
                    ctx.signal_modified(dst);
                    ctx.notify(notify::GENERIC, "del", dst);
                    ctx.dirty += 1;
                }
                Reply::Int(0)
            }
            None => Reply::Array(Vec::new()),
        });
    }

    if count != 0 && sort == Sort::None && !any {
        sort = Sort::Asc;
    }
    let shape = Shape {
        lon: center[0],
        lat: center[1],
        kind,
        conversion,
    };
    let limit = if any { count as usize } else { 0 };
    let mut points = match zset_ref(ctx, key) {
        Some(zs) => collect(zs, &shape, limit),
        None => Vec::new(),
    };

    if points.is_empty() && store.is_none() {
        return Ok(Reply::Array(Vec::new()));
    }
    let total = points.len();
    let returned = if count == 0 || (total as i64) < count {
        total
    } else {
        count as usize
    };
    if sort != Sort::None {
        let desc = sort == Sort::Desc;
        let cmp = |a: &Point, b: &Point| {
            let o = cmp_dist(a.dist, b.dist);
            if desc {
                o.reverse()
            } else {
                o
            }
        };
        if returned == total {
            // glibc's qsort is a merge sort: stable, as `sort_by` is.
            points.sort_by(cmp);
        } else {
            partial_qsort(&mut points, &cmp, returned - 1);
        }
    }
    points.truncate(returned);
    for p in &mut points {
        p.dist /= conversion;
    }

    let Some(dst) = store else {
        let resp = ctx.resp;
        let opts = usize::from(withdist) + usize::from(withhash) + usize::from(withcoord);
        let out = points
            .into_iter()
            .map(|p| {
                if opts == 0 {
                    return Reply::Bulk(Bytes::from(p.member));
                }
                let mut item = Vec::with_capacity(opts + 1);
                item.push(Reply::Bulk(Bytes::from(p.member)));
                if withdist {
                    item.push(Reply::bulk_from_slice(geo::fmt_distance(p.dist).as_bytes()));
                }
                if withhash {
                    item.push(Reply::Int(p.score as i64));
                }
                if withcoord {
                    item.push(coords_reply(resp, [p.lon, p.lat]));
                }
                Reply::Array(item)
            })
            .collect();
        return Ok(Reply::Array(out));
    };

    let n = points.len();
    if n > 0 {
        let limits = ctx.engine.settings.zset_limits();
        let longest = points.iter().map(|p| p.member.len()).max().unwrap_or(0);
        let mut zs = ZSet::with_size_hint(n, longest, limits);
        for p in &points {
            let score = if storedist { p.dist } else { p.score };
            // Distances and hashes are never NaN: adding cannot fail.
            let _ = zs.add(&p.member, score, AddFlags::default(), limits);
        }
        coll::store(ctx, dst, zs);
        ctx.notify(
            notify::ZSET,
            if search {
                "geosearchstore"
            } else {
                "georadiusstore"
            },
            dst,
        );
        ctx.dirty += n as u64;
    } else if kv::delete(ctx, dst) {
        ctx.signal_modified(dst);
        ctx.notify(notify::GENERIC, "del", dst);
        ctx.dirty += 1;
    }
    Ok(Reply::Int(n as i64))
}

/// Redis's comparator: by distance only.
fn cmp_dist(a: f64, b: f64) -> Ordering {
    if a > b {
        Ordering::Greater
    } else if a == b {
        Ordering::Equal
    } else {
        Ordering::Less
    }
}

/// Scans the centre cell and its neighbours (Redis's membersOfAllNeighbors). `limit` > 0 stops
/// once that many points were found (ANY).
fn collect(zs: &ZSet, shape: &Shape, limit: usize) -> Vec<Point> {
    let areas = geo::areas_by_shape(shape);
    let cells = areas.scan_order();
    let mut out: Vec<Point> = Vec::new();
    let full = |out: &Vec<Point>| limit > 0 && out.len() >= limit;
    let mut last = 0usize;
    for (i, cell) in cells.iter().enumerate() {
        if cell.is_zero() {
            continue;
        }
        // With huge radii neighbours can repeat the cell scanned just before (Redis compares
        // with the previous scanned neighbour only, never with the centre).
        if last != 0 && *cell == cells[last] {
            continue;
        }
        if full(&out) {
            break;
        }
        let (min, max) = geo::score_range_of(*cell);
        let range = ScoreRange {
            min: min as f64,
            max: max as f64,
            min_exclusive: false,
            max_exclusive: true,
        };
        for (member, score) in zs.range_by_score(&range, false, 0, -1) {
            if let Some(xy) = geo::decode_score(score) {
                if let Some(dist) = geo::within_shape(shape, xy[0], xy[1]) {
                    out.push(Point {
                        lon: xy[0],
                        lat: xy[1],
                        dist,
                        score,
                        member: member.to_vec(),
                    });
                }
            }
            if full(&out) {
                break;
            }
        }
        last = i;
    }
    out
}

/// Redis's pqsort (a BSD quicksort that only recurses into partitions overlapping the wanted
/// rank range `0..=right`): the first `right + 1` elements end up sorted, and ties come out in
/// the order this exact algorithm leaves them.
fn partial_qsort<T>(v: &mut [T], cmp: &impl Fn(&T, &T) -> Ordering, right: usize) {
    pq(v, 0, v.len(), cmp, 0, right);
}

/// Median of three by index, as BSD's med3.
fn med3<T>(v: &[T], a: usize, b: usize, c: usize, cmp: &impl Fn(&T, &T) -> Ordering) -> usize {
    let lt = |x: usize, y: usize| cmp(&v[x], &v[y]) == Ordering::Less;
    let gt = |x: usize, y: usize| cmp(&v[x], &v[y]) == Ordering::Greater;
    if lt(a, b) {
        if lt(b, c) {
            b
        } else if lt(a, c) {
            c
        } else {
            a
        }
    } else if gt(b, c) {
        b
    } else if lt(a, c) {
        a
    } else {
        c
    }
}

/// Swaps the `n` elements starting at `a` with the `n` starting at `b`, pairwise.
fn vecswap<T>(v: &mut [T], a: usize, b: usize, n: usize) {
    for k in 0..n {
        v.swap(a + k, b + k);
    }
}

/// Sorts `v[start..start + n]` as pqsort does; `lo..=hi` are the element ranks wanted.
fn pq<T>(
    v: &mut [T],
    mut start: usize,
    mut n: usize,
    cmp: &impl Fn(&T, &T) -> Ordering,
    lo: usize,
    hi: usize,
) {
    loop {
        let a = start;
        if n < 7 {
            for m in a + 1..a + n {
                let mut l = m;
                while l > a && cmp(&v[l - 1], &v[l]) == Ordering::Greater {
                    v.swap(l, l - 1);
                    l -= 1;
                }
            }
            return;
        }
        let mut pm = a + n / 2;
        if n > 7 {
            let mut pl = a;
            let mut pn = a + n - 1;
            if n > 40 {
                let d = n / 8;
                pl = med3(v, pl, pl + d, pl + 2 * d, cmp);
                pm = med3(v, pm - d, pm, pm + d, cmp);
                pn = med3(v, pn - 2 * d, pn - d, pn, cmp);
            }
            pm = med3(v, pl, pm, pn, cmp);
        }
        v.swap(a, pm);
        // Indices may step one below `a` (pc, pd) only when the loop ends; keep them signed.
        let (mut pa, mut pb) = (a as isize + 1, a as isize + 1);
        let (mut pc, mut pd) = ((a + n - 1) as isize, (a + n - 1) as isize);
        loop {
            while pb <= pc {
                let r = cmp(&v[pb as usize], &v[a]);
                if r == Ordering::Greater {
                    break;
                }
                if r == Ordering::Equal {
                    v.swap(pa as usize, pb as usize);
                    pa += 1;
                }
                pb += 1;
            }
            while pb <= pc {
                let r = cmp(&v[pc as usize], &v[a]);
                if r == Ordering::Less {
                    break;
                }
                if r == Ordering::Equal {
                    v.swap(pc as usize, pd as usize);
                    pd -= 1;
                }
                pc -= 1;
            }
            if pb > pc {
                break;
            }
            v.swap(pb as usize, pc as usize);
            pb += 1;
            pc -= 1;
        }
        let pn = (a + n) as isize;
        let r = (pa - a as isize).min(pb - pa);
        vecswap(v, a, (pb - r) as usize, r as usize);
        let r = (pd - pc).min(pn - pd - 1);
        vecswap(v, pb as usize, (pn - r) as usize, r as usize);

        // Ranks lo..=hi overlap the sub-array s..s+k unless both lie before or both after it.
        let overlaps = |s: usize, k: usize| !((lo < s && hi < s) || (lo >= s + k && hi >= s + k));
        let left = (pb - pa) as usize;
        if left > 1 && overlaps(a, left) {
            pq(v, a, left, cmp, lo, hi);
        }
        let right = (pd - pc) as usize;
        if right > 1 {
            start = pn as usize - right;
            n = right;
            if overlaps(start, n) {
                continue;
            }
        }
        return;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn partial_qsort_sorts_the_prefix() {
        let mut x: u64 = 0x2545_F491_4F6C_DD1D;
        for len in [1usize, 2, 6, 7, 8, 20, 41, 100, 500] {
            for want in [1usize, 2, 5, 30] {
                if want > len {
                    continue;
                }
                let mut v: Vec<(u64, usize)> = (0..len)
                    .map(|i| {
                        x ^= x << 13;
                        x ^= x >> 7;
                        x ^= x << 17;
                        (x % 10, i)
                    })
                    .collect();
                let mut sorted = v.clone();
                sorted.sort_by_key(|p| p.0);
                partial_qsort(
                    &mut v,
                    &|a: &(u64, usize), b: &(u64, usize)| a.0.cmp(&b.0),
                    want - 1,
                );
                let got: Vec<u64> = v[..want].iter().map(|p| p.0).collect();
                let exp: Vec<u64> = sorted[..want].iter().map(|p| p.0).collect();
                assert_eq!(got, exp, "len {len} want {want}");
                let mut all: Vec<usize> = v.iter().map(|p| p.1).collect();
                all.sort_unstable();
                assert_eq!(all, (0..len).collect::<Vec<_>>());
            }
        }
    }
}
