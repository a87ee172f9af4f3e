//! Set commands (SADD ... SINTERCARD; SSCAN lives with the SCAN family): `intset`/`hashtable`.
//!
//! The encodings and their conversions belong to [`ferrodis_ds::set::Set`]; handlers follow
//! Redis 7.0's `t_set.c` for the order of checks, replies (RESP3 sets where Redis sends them),
//! keyspace events, dirty counts and propagation (SPOP becomes SREM, or DEL when the whole set
//! goes).
//!
//! Multi-key commands (SINTER, SUNION, SDIFF and their STORE forms, SINTERCARD) read several
//! sets at once. Each lookup borrows the whole context, so their sets are moved out of their
//! keys for the computation and moved back before anything is written ([`with_sources`]); the
//! command holds every key's shard lock throughout, so no one else can see the gap.

use crate::args::eq_ic;
use crate::coll::{self, Collection};
use crate::ctx::Ctx;
use crate::engine::notify;
use crate::errors;
use crate::hashes::{random_count, reply_too_large, write_or_create, MAX_RANDOM_REPLY};
use crate::kv;
use crate::registry::{k, DataCommand};
use crate::reply::Reply;
use bytes::Bytes;
use ferrodis_ds::num;
use ferrodis_ds::set::{self as dset, Set};
use ferrodis_ds::value::StrRef;
use rand::RngCore;

/// This module's commands, merged into the registry.
pub static COMMANDS: &[DataCommand] = &[
    k("sadd", sadd),
    k("srem", srem),
    k("scard", scard),
    k("sismember", sismember),
    k("smismember", smismember),
    k("smembers", smembers),
    k("srandmember", srandmember),
    k("spop", spop),
    k("smove", smove),
    k("sinter", sinter),
    k("sintercard", sintercard),
    k("sinterstore", sinterstore),
    k("sunion", sunion),
    k("sunionstore", sunionstore),
    k("sdiff", sdiff),
    k("sdiffstore", sdiffstore),
];

/// Redis's SPOP_MOVE_STRATEGY_MUL: SPOP with a count that leaves at most a fifth of the count
/// behind rebuilds the remaining members as a new set (whose encoding is chosen afresh).
const SPOP_MOVE_STRATEGY_MUL: u64 = 5;

/// The random source handed to the data structures (SPOP, SRANDMEMBER, HRANDFIELD).
pub(crate) fn rng() -> impl FnMut() -> u64 {
    let mut r = rand::thread_rng();
    move || r.next_u64()
}

macro_rules! tri {
    ($e:expr) => {
        match $e {
            Ok(v) => v,
            Err(r) => return r,
        }
    };
}

fn member_reply(m: StrRef<'_>) -> Reply {
    match m {
        StrRef::Bytes(b) => Reply::bulk_from_slice(b),
        StrRef::Int(i) => Reply::bulk_from_slice(itoa::Buffer::new().format(i).as_bytes()),
    }
}

fn member_bytes(m: StrRef<'_>) -> Bytes {
    match m {
        StrRef::Bytes(b) => Bytes::copy_from_slice(b),
        StrRef::Int(i) => Bytes::copy_from_slice(itoa::Buffer::new().format(i).as_bytes()),
    }
}

fn max_intset(ctx: &Ctx<'_, '_>) -> usize {
    ctx.engine.settings.set_max_intset_entries()
}

fn sadd(ctx: &mut Ctx<'_, '_>, argv: &[Bytes]) -> Reply {
    let key = &argv[1];
    let max = max_intset(ctx);
    let added = tri!(write_or_create(ctx, key, |s: &mut Set| {
        let mut added = 0u64;
        for m in &argv[2..] {
            if s.add(m, max) {
                added += 1;
            }
        }
        added
    }));
    if added > 0 {
        ctx.signal_modified(key);
        ctx.notify(notify::SET, "sadd", key);
    }
    ctx.dirty += added;
    Reply::Int(added as i64)
}

fn srem(ctx: &mut Ctx<'_, '_>, argv: &[Bytes]) -> Reply {
    let key = &argv[1];
    let Some(s) = tri!(coll::write::<Set>(ctx, key)) else {
        return Reply::Int(0);
    };
    let mut deleted = 0u64;
    for m in &argv[2..] {
        if s.remove(m) {
            deleted += 1;
            if s.is_empty() {
                break;
            }
        }
    }
    if deleted > 0 {
        ctx.signal_modified(key);
        ctx.notify(notify::SET, "srem", key);
        coll::delete_if_empty::<Set>(ctx, key);
        ctx.dirty += deleted;
    }
    Reply::Int(deleted as i64)
}

fn scard(ctx: &mut Ctx<'_, '_>, argv: &[Bytes]) -> Reply {
    let s = tri!(coll::read::<Set>(ctx, &argv[1]));
    Reply::Int(s.map_or(0, |s| s.len() as i64))
}

fn sismember(ctx: &mut Ctx<'_, '_>, argv: &[Bytes]) -> Reply {
    let s = tri!(coll::read::<Set>(ctx, &argv[1]));
    Reply::Int(s.is_some_and(|s| s.contains(&argv[2])) as i64)
}

fn smismember(ctx: &mut Ctx<'_, '_>, argv: &[Bytes]) -> Reply {
    let s = tri!(coll::read::<Set>(ctx, &argv[1]));
    Reply::Array(
        argv[2..]
            .iter()
            .map(|m| Reply::Int(s.as_ref().is_some_and(|s| s.contains(m)) as i64))
            .collect(),
    )
}

/// SMEMBERS (Redis 7.0 serves it with SINTER of one key): a RESP3 set.
fn smembers(ctx: &mut Ctx<'_, '_>, argv: &[Bytes]) -> Reply {
    let s = tri!(coll::read::<Set>(ctx, &argv[1]));
    Reply::Set(s.map_or_else(Vec::new, |s| s.iter().map(member_reply).collect()))
}

fn srandmember(ctx: &mut Ctx<'_, '_>, argv: &[Bytes]) -> Reply {
    if argv.len() > 3 {
        return errors::syntax();
    }
    let mut rng = rng();
    if argv.len() == 2 {
        let s = tri!(coll::read::<Set>(ctx, &argv[1]));
        return match s.and_then(|s| s.random_member(&mut rng)) {
            Some(m) => member_reply(m),
            None => Reply::Null,
        };
    }
    let count = tri!(random_count(&argv[2]));
    let Some(s) = tri!(coll::read::<Set>(ctx, &argv[1])) else {
        return Reply::Array(Vec::new());
    };
    if count == 0 || s.is_empty() {
        return Reply::Array(Vec::new());
    }
    let mut out = Vec::new();
    if count < 0 || count == 1 {
        // With repetitions (count 1 is served the same way by Redis).
        let n = count.unsigned_abs();
        if n > MAX_RANDOM_REPLY {
            return reply_too_large();
        }
        out.reserve(n as usize);
        s.for_each_random(n as usize, &mut rng, |m| out.push(member_reply(m)));
    } else {
        let n = usize::try_from(count).unwrap_or(usize::MAX);
        out = s
            .random_distinct(n, &mut rng)
            .into_iter()
            .map(member_reply)
            .collect();
    }
    Reply::Array(out)
}

fn spop(ctx: &mut Ctx<'_, '_>, argv: &[Bytes]) -> Reply {
    match argv.len() {
        2 => spop_one(ctx, &argv[1]),
        3 => spop_count(ctx, &argv[1], &argv[2]),
        _ => errors::syntax(),
    }
}

fn spop_one(ctx: &mut Ctx<'_, '_>, key: &Bytes) -> Reply {
    let Some(s) = tri!(coll::write::<Set>(ctx, key)) else {
        return Reply::Null;
    };
    let mut rng = rng();
    let Some(m) = s.pop(&mut rng) else {
        return Reply::Null;
    };
    let member = member_bytes(m.as_str_ref());
    ctx.notify(notify::SET, "spop", key);
    ctx.rewrite(vec![
        Bytes::from_static(b"SREM"),
        key.clone(),
        member.clone(),
    ]);
    coll::delete_if_empty::<Set>(ctx, key);
    ctx.signal_modified(key);
    ctx.dirty += 1;
    Reply::Bulk(member)
}

fn spop_count(ctx: &mut Ctx<'_, '_>, key: &Bytes, count_arg: &[u8]) -> Reply {
    let count = match num::string2ll(count_arg) {
        Some(n) if n >= 0 => n as u64,
        _ => return Reply::err_static("ERR value is out of range, must be positive"),
    };
    let max = max_intset(ctx);
    let db = ctx.db;
    let Some(s) = tri!(coll::write::<Set>(ctx, key)) else {
        return Reply::Set(Vec::new());
    };
    if count == 0 {
        return Reply::Set(Vec::new());
    }
    let size = s.len() as u64;
    let mut rng = rng();
    if count >= size {
        // The whole set goes: reply with it, delete the key, propagate DEL.
        let all = s.pop_many(size as usize, &mut rng);
        ctx.notify(notify::SET, "spop", key);
        ctx.dirty += size;
        coll::delete_if_empty::<Set>(ctx, key);
        ctx.rewrite(vec![Bytes::from_static(b"DEL"), key.clone()]);
        ctx.signal_modified(key);
        return Reply::Set(all.iter().map(|m| member_reply(m.as_str_ref())).collect());
    }
    let popped = s.pop_many(count as usize, &mut rng);
    let remaining = size - count;
    if remaining * SPOP_MOVE_STRATEGY_MUL <= count {
        // Redis builds the members that stay into a new set here: its encoding is chosen
        // afresh (a `hashtable` of integers may become an `intset` again).
        let mut fresh = Set::new();
        for m in s.iter() {
            fresh.add_ref(m, max);
        }
        *s = fresh;
    }
    ctx.notify(notify::SET, "spop", key);
    ctx.dirty += count;
    let mut out = Vec::with_capacity(popped.len());
    for m in &popped {
        let b = member_bytes(m.as_str_ref());
        out.push(Reply::Bulk(b.clone()));
        ctx.also_propagate(db, vec![Bytes::from_static(b"SREM"), key.clone(), b]);
    }
    ctx.suppress_propagation();
    ctx.signal_modified(key);
    Reply::Set(out)
}

/// Whether a looked-up value is a set: `None` when the key is missing.
fn set_state(ctx: &mut Ctx<'_, '_>, key: &[u8]) -> Option<bool> {
    kv::lookup(ctx, key).map(|e| Set::of_ref(e.value()).is_some())
}

fn smove(ctx: &mut Ctx<'_, '_>, argv: &[Bytes]) -> Reply {
    let (src, dst, member) = (&argv[1], &argv[2], &argv[3]);
    let src_state = set_state(ctx, src);
    let dst_state = set_state(ctx, dst);
    match (src_state, dst_state) {
        (None, _) => return Reply::Int(0),
        (Some(false), _) | (_, Some(false)) => return errors::wrongtype(),
        _ => {}
    }
    if src == dst {
        let s = tri!(coll::write::<Set>(ctx, src));
        return Reply::Int(s.is_some_and(|s| s.contains(member)) as i64);
    }
    let removed = match tri!(coll::write::<Set>(ctx, src)) {
        Some(s) => s.remove(member),
        None => false,
    };
    if !removed {
        return Reply::Int(0);
    }
    ctx.notify(notify::SET, "srem", src);
    coll::delete_if_empty::<Set>(ctx, src);
    let max = max_intset(ctx);
    let added = tri!(write_or_create(ctx, dst, |d: &mut Set| d.add(member, max)));
    ctx.signal_modified(src);
    ctx.dirty += 1;
    if added {
        ctx.dirty += 1;
        ctx.signal_modified(dst);
        ctx.notify(notify::SET, "sadd", dst);
    }
    Reply::Int(1)
}

// ---- multi-key operations -----------------------------------------------------------------

/// The sets named by a multi-key command, moved out of their keys (see the module docs).
struct Sources {
    /// Each distinct existing key once, with its set.
    taken: Vec<(Bytes, Set)>,
    /// Per key argument: its index in `taken`, `None` for a missing key.
    slots: Vec<Option<usize>>,
}

impl Sources {
    /// Per key argument, its set (`None` when missing).
    fn sets(&self) -> Vec<Option<&Set>> {
        self.slots
            .iter()
            .map(|s| s.map(|i| &self.taken[i].1))
            .collect()
    }
}

/// Looks every key up for reading, in order (hits and misses counted per argument, as Redis's
/// `lookupKeyRead` per key), stops at the first WRONGTYPE, and runs `f` over the sets. The sets
/// are back in their keys when this returns, so `f` computes and the caller writes.
fn with_sources<R>(
    ctx: &mut Ctx<'_, '_>,
    keys: &[Bytes],
    f: impl FnOnce(&[Option<&Set>], &[Option<usize>]) -> R,
) -> Result<R, Reply> {
    let mut src = Sources {
        taken: Vec::new(),
        slots: Vec::with_capacity(keys.len()),
    };
    for key in keys {
        match coll::read::<Set>(ctx, key) {
            Err(e) => {
                restore(ctx, src);
                return Err(e);
            }
            Ok(None) => src.slots.push(None),
            Ok(Some(s)) => {
                // Sets in the keyspace are never empty, so an empty one is the placeholder
                // of a key an earlier argument already moved out: only then search.
                let earlier = match s.is_empty() {
                    true => src.taken.iter().position(|(k, _)| k == key),
                    false => None,
                };
                match earlier {
                    Some(i) => src.slots.push(Some(i)),
                    None => {
                        let set = std::mem::take(s);
                        src.taken.push((key.clone(), set));
                        src.slots.push(Some(src.taken.len() - 1));
                    }
                }
            }
        }
    }
    let r = f(&src.sets(), &src.slots);
    restore(ctx, src);
    Ok(r)
}

fn restore(ctx: &mut Ctx<'_, '_>, src: Sources) {
    for (key, set) in src.taken {
        // Found live moments ago under the same locks and clock: still there.
        if let Some(slot) = kv::lookup_notouch(ctx, &key).and_then(|e| Set::of(e.value_mut())) {
            *slot = set;
        }
    }
}

fn all_present<'a>(sets: &[Option<&'a Set>]) -> Option<Vec<&'a Set>> {
    sets.iter().copied().collect()
}

/// SINTER: the members in every set (empty if any key is missing).
fn inter_set(sets: &[Option<&Set>], max: usize) -> Set {
    let mut out = Set::new();
    if let Some(sets) = all_present(sets) {
        dset::for_each_inter(&sets, |m| {
            out.add_ref(m, max);
        });
    }
    out
}

fn inter_reply(sets: &[Option<&Set>]) -> Reply {
    let mut out = Vec::new();
    if let Some(sets) = all_present(sets) {
        dset::for_each_inter(&sets, |m| out.push(member_reply(m)));
    }
    Reply::Set(out)
}

/// SUNION: every member of any set.
fn union_set(sets: &[Option<&Set>], max: usize) -> Set {
    let present: Vec<&Set> = sets.iter().flatten().copied().collect();
    dset::union(&present, max)
}

/// SDIFF with Redis's choice between its two algorithms, which matters for the encoding of the
/// result: the second one adds the whole first set before removing, so a first set that needs
/// a `hashtable` gives a `hashtable` result even when what remains would fit an `intset`.
fn diff_set(sets: &[Option<&Set>], slots: &[Option<usize>], max: usize) -> Set {
    let Some(first) = sets.first().copied().flatten() else {
        return Set::new();
    };
    // A later key naming the first set again empties the result.
    if slots[1..].iter().any(|s| *s == slots[0]) {
        return Set::new();
    }
    let present: Vec<&Set> = sets[1..].iter().flatten().copied().collect();
    let algo_one = (first.len() as u64 * (present.len() as u64 + 1)) / 2;
    let algo_two = first.len() as u64 + present.iter().map(|s| s.len() as u64).sum::<u64>();
    if algo_one <= algo_two {
        return dset::diff(first, &present, max);
    }
    let mut out = Set::new();
    for m in first.iter() {
        out.add_ref(m, max);
    }
    for s in present {
        if out.is_empty() {
            break;
        }
        for m in s.iter() {
            out.remove_ref(m);
        }
    }
    out
}

fn set_reply(s: &Set) -> Reply {
    Reply::Set(s.iter().map(member_reply).collect())
}

fn sinter(ctx: &mut Ctx<'_, '_>, argv: &[Bytes]) -> Reply {
    tri!(with_sources(ctx, &argv[1..], |sets, _| inter_reply(sets)))
}

fn sunion(ctx: &mut Ctx<'_, '_>, argv: &[Bytes]) -> Reply {
    let max = max_intset(ctx);
    tri!(with_sources(ctx, &argv[1..], |sets, _| set_reply(
        &union_set(sets, max)
    )))
}

fn sdiff(ctx: &mut Ctx<'_, '_>, argv: &[Bytes]) -> Reply {
    let max = max_intset(ctx);
    tri!(with_sources(ctx, &argv[1..], |sets, slots| set_reply(
        &diff_set(sets, slots, max)
    )))
}

/// SINTERCARD numkeys key [key ...] [LIMIT limit].
fn sintercard(ctx: &mut Ctx<'_, '_>, argv: &[Bytes]) -> Reply {
    let numkeys = match num::string2ll(&argv[1]) {
        Some(n) if n >= 1 => n as u64,
        _ => return Reply::err_static("ERR numkeys should be greater than 0"),
    };
    if numkeys > (argv.len() - 2) as u64 {
        return Reply::err_static("ERR Number of keys can't be greater than number of args");
    }
    let keys_end = 2 + numkeys as usize;
    let mut limit = 0usize;
    let mut j = keys_end;
    while j < argv.len() {
        if eq_ic(&argv[j], "limit") && j + 1 < argv.len() {
            j += 1;
            limit = match num::string2ll(&argv[j]) {
                Some(n) if n >= 0 => usize::try_from(n).unwrap_or(usize::MAX),
                _ => return Reply::err_static("ERR LIMIT can't be negative"),
            };
        } else {
            return errors::syntax();
        }
        j += 1;
    }
    tri!(with_sources(ctx, &argv[2..keys_end], |sets, _| {
        match all_present(sets) {
            Some(sets) => Reply::Int(dset::inter_card(&sets, limit) as i64),
            None => Reply::Int(0),
        }
    }))
}

/// The STORE half of SINTERSTORE / SUNIONSTORE / SDIFFSTORE: a non-empty result replaces the
/// destination; an empty one deletes it.
fn store_result(ctx: &mut Ctx<'_, '_>, dst: &[u8], result: Set, event: &str) -> Reply {
    let n = result.len() as i64;
    if n > 0 {
        coll::store(ctx, dst, result);
        ctx.notify(notify::SET, event, dst);
        ctx.dirty += 1;
    } else if kv::delete(ctx, dst) {
        ctx.dirty += 1;
        ctx.signal_modified(dst);
        ctx.notify(notify::GENERIC, "del", dst);
    }
    Reply::Int(n)
}

fn sinterstore(ctx: &mut Ctx<'_, '_>, argv: &[Bytes]) -> Reply {
    let max = max_intset(ctx);
    let result = tri!(with_sources(ctx, &argv[2..], |sets, _| inter_set(
        sets, max
    )));
    store_result(ctx, &argv[1], result, "sinterstore")
}

fn sunionstore(ctx: &mut Ctx<'_, '_>, argv: &[Bytes]) -> Reply {
    let max = max_intset(ctx);
    let result = tri!(with_sources(ctx, &argv[2..], |sets, _| union_set(
        sets, max
    )));
    store_result(ctx, &argv[1], result, "sunionstore")
}

fn sdiffstore(ctx: &mut Ctx<'_, '_>, argv: &[Bytes]) -> Reply {
    let max = max_intset(ctx);
    let result = tri!(with_sources(ctx, &argv[2..], |sets, slots| diff_set(
        sets, slots, max
    )));
    store_result(ctx, &argv[1], result, "sdiffstore")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn set_of(members: &[&str]) -> Set {
        let mut s = Set::new();
        for m in members {
            s.add(m.as_bytes(), 512);
        }
        s
    }

    fn sorted_members(s: &Set) -> Vec<Vec<u8>> {
        let mut v: Vec<Vec<u8>> = s.iter().map(|m| m.to_vec()).collect();
        v.sort();
        v
    }

    #[test]
    fn sdiff_picks_redis_algorithm_and_its_encoding() {
        let first = set_of(&["1", "2", "3", "4", "5", "a"]);
        let (a, b) = (set_of(&["a"]), set_of(&["b"]));
        // Three sets: 6*3/2 = 9 > 6+1+1 = 8, the second algorithm: the whole first set went
        // into the result (a hashtable) before "a" was removed.
        let two = diff_set(
            &[Some(&first), Some(&a), Some(&b)],
            &[Some(0), Some(1), Some(2)],
            512,
        );
        assert_eq!(two.encoding(), "hashtable");
        // Two sets: 6 <= 7, the first algorithm builds only what remains: an intset.
        let one = diff_set(&[Some(&first), Some(&a)], &[Some(0), Some(1)], 512);
        assert_eq!(one.encoding(), "intset");
        assert_eq!(sorted_members(&one), sorted_members(&two));
        assert_eq!(sorted_members(&one).len(), 5);
    }

    #[test]
    fn sdiff_of_a_set_with_itself_or_a_missing_first_is_empty() {
        let s = set_of(&["x", "y"]);
        assert!(diff_set(&[Some(&s), None, Some(&s)], &[Some(0), None, Some(0)], 512).is_empty());
        assert!(diff_set(&[None, Some(&s)], &[None, Some(0)], 512).is_empty());
        // A missing later key removes nothing.
        assert_eq!(diff_set(&[Some(&s), None], &[Some(0), None], 512).len(), 2);
    }

    #[test]
    fn sinter_with_a_missing_key_is_empty_and_results_start_as_intsets() {
        let a = set_of(&["1", "2", "x"]);
        let b = set_of(&["2", "x", "3"]);
        assert!(inter_set(&[Some(&a), None], 512).is_empty());
        let i = inter_set(&[Some(&a), Some(&b)], 512);
        assert_eq!(sorted_members(&i), vec![b"2".to_vec(), b"x".to_vec()]);
        let only_ints = inter_set(&[Some(&a), Some(&set_of(&["2", "3"]))], 512);
        assert_eq!(only_ints.encoding(), "intset");
        assert_eq!(union_set(&[Some(&a), None, Some(&b)], 512).len(), 4);
    }

    #[test]
    fn random_counts_follow_redis_range() {
        assert_eq!(random_count(b"-9223372036854775807"), Ok(-i64::MAX));
        assert!(random_count(b"-9223372036854775808").is_err());
        assert_eq!(random_count(b"abc"), Err(errors::not_integer()));
    }
}
