//! Generic key commands: DEL, EXISTS, TYPE, RENAME, MOVE, COPY, KEYS, SCAN,
//! RANDOMKEY, DBSIZE, FLUSH*, SWAPDB, the EXPIRE/TTL family, TOUCH, OBJECT.

use crate::args::{eq_ic, i64_or_err};
use crate::ctx::Ctx;
use crate::engine::notify;
use crate::errors;
use crate::kv;
use crate::reply::Reply;
use bytes::Bytes;
use ferrodis_ds::glob::string_match;

fn del_generic(ctx: &mut Ctx<'_, '_>, argv: &[Bytes]) -> Reply {
    let mut n = 0;
    for k in &argv[1..] {
        if kv::delete(ctx, k) {
            ctx.notify(notify::GENERIC, "del", k);
            ctx.dirty += 1;
            n += 1;
        }
    }
    Reply::Int(n)
}

pub fn del(ctx: &mut Ctx<'_, '_>, argv: &[Bytes]) -> Reply {
    // `lazyfree-lazy-user-del yes`: DEL frees like UNLINK.
    if ctx
        .engine
        .settings
        .lazyfree_lazy_user_del
        .load(std::sync::atomic::Ordering::Relaxed)
    {
        return unlink(ctx, argv);
    }
    del_generic(ctx, argv)
}

pub fn unlink(ctx: &mut Ctx<'_, '_>, argv: &[Bytes]) -> Reply {
    let mut n = 0;
    for k in &argv[1..] {
        if let Some(v) = kv::delete_take(ctx, k) {
            ctx.notify(notify::GENERIC, "del", k);
            ctx.dirty += 1;
            n += 1;
            // Big values are torn down by the lazyfree thread, not under the shard lock.
            ctx.engine.lazyfree.free(v);
        }
    }
    Reply::Int(n)
}

pub fn exists(ctx: &mut Ctx<'_, '_>, argv: &[Bytes]) -> Reply {
    let mut n = 0;
    for k in &argv[1..] {
        if kv::lookup_read_notouch(ctx, k).is_some() {
            n += 1;
        }
    }
    Reply::Int(n)
}

pub fn touch(ctx: &mut Ctx<'_, '_>, argv: &[Bytes]) -> Reply {
    let mut n = 0;
    let now = ctx.now_ms;
    for k in &argv[1..] {
        if let Some(e) = kv::lookup_read(ctx, k) {
            e.set_clock(ferrodis_keyspace::lru_clock(now));
            n += 1;
        }
    }
    Reply::Int(n)
}

pub fn type_cmd(ctx: &mut Ctx<'_, '_>, argv: &[Bytes]) -> Reply {
    match kv::lookup_read_notouch(ctx, &argv[1]) {
        Some(e) => Reply::status(e.value().type_name()),
        None => Reply::status("none"),
    }
}

/// DUMP: the value serialized as Redis 7.0 does (RDB encoding, version, CRC-64), so that a
/// payload from either server restores into the other.
pub fn dump(ctx: &mut Ctx<'_, '_>, argv: &[Bytes]) -> Reply {
    match kv::lookup_read(ctx, &argv[1]) {
        Some(e) => Reply::Bulk(Bytes::from(ferrodis_persistence::rdb::dump_payload(
            e.value(),
        ))),
        None => Reply::Null,
    }
}

fn rename_generic(ctx: &mut Ctx<'_, '_>, argv: &[Bytes], nx: bool) -> Reply {
    let (src, dst) = (&argv[1], &argv[2]);
    if kv::lookup(ctx, src).is_none() {
        return Reply::err_static(errors::NO_SUCH_KEY);
    }
    if src == dst {
        return if nx { Reply::Int(0) } else { Reply::Ok };
    }
    let expire = kv::get_expire(ctx, src);
    if kv::exists(ctx, dst) {
        if nx {
            return Reply::Int(0);
        }
        kv::delete(ctx, dst);
    }
    let dbi = ctx.db;
    let entry = match ctx.db_index_for(src, dbi).and_then(|db| db.remove(src)) {
        Some(e) => e,
        None => return Reply::err_static(errors::NO_SUCH_KEY),
    };
    kv::add_key(ctx, dst, entry.into_parts().1);
    if let Some(w) = expire {
        kv::set_expire(ctx, dst, w);
    }
    ctx.signal_modified(src);
    ctx.signal_modified(dst);
    ctx.notify(notify::GENERIC, "rename_from", src);
    ctx.notify(notify::GENERIC, "rename_to", dst);
    ctx.dirty += 1;
    if nx {
        Reply::Int(1)
    } else {
        Reply::Ok
    }
}

pub fn rename(ctx: &mut Ctx<'_, '_>, argv: &[Bytes]) -> Reply {
    rename_generic(ctx, argv, false)
}

pub fn renamenx(ctx: &mut Ctx<'_, '_>, argv: &[Bytes]) -> Reply {
    rename_generic(ctx, argv, true)
}

/// Parse a database index argument: integer errors as Redis's getIntFromObject,
/// then the range check.
fn db_index(ctx: &Ctx<'_, '_>, arg: &[u8]) -> Result<usize, Reply> {
    let id = errors::int_arg(arg)?;
    if id < 0 || id as usize >= ctx.engine.settings.databases {
        return Err(Reply::err_static(errors::DB_RANGE));
    }
    Ok(id as usize)
}

pub fn move_cmd(ctx: &mut Ctx<'_, '_>, argv: &[Bytes]) -> Reply {
    let key = &argv[1];
    let dst = match db_index(ctx, &argv[2]) {
        Ok(d) => d,
        Err(e) => return e,
    };
    let src = ctx.db;
    if src == dst {
        return Reply::err_static(errors::SAME_OBJECT);
    }
    if kv::lookup(ctx, key).is_none() {
        return Reply::Int(0);
    }
    let expire = kv::get_expire(ctx, key);
    if kv::lookup_in(ctx, dst, key).is_some() {
        return Reply::Int(0);
    }
    let entry = match ctx.db_index_for(key, src).and_then(|db| db.remove(key)) {
        Some(e) => e,
        None => return Reply::Int(0),
    };
    let clock = ferrodis_keyspace::lru_clock(ctx.now_ms);
    if let Some(db) = ctx.db_index_for(key, dst) {
        db.set(key, entry.into_parts().1, false, clock);
        if let Some(w) = expire {
            db.set_expire(key, w);
        }
    }
    ctx.engine.notify(notify::NEW, "new", key, dst);
    ctx.signal_modified(key);
    ctx.signal_modified_in(dst, key);
    ctx.notify(notify::GENERIC, "move_from", key);
    ctx.engine.notify(notify::GENERIC, "move_to", key, dst);
    ctx.dirty += 1;
    Reply::Int(1)
}

pub fn copy(ctx: &mut Ctx<'_, '_>, argv: &[Bytes]) -> Reply {
    let (key, newkey) = (&argv[1], &argv[2]);
    let mut replace = false;
    let mut dst = ctx.db;
    let mut j = 3;
    while j < argv.len() {
        if eq_ic(&argv[j], "replace") {
            replace = true;
        } else if eq_ic(&argv[j], "db") && j + 1 < argv.len() {
            dst = match db_index(ctx, &argv[j + 1]) {
                Ok(d) => d,
                Err(e) => return e,
            };
            j += 1;
        } else {
            return errors::syntax();
        }
        j += 1;
    }
    if dst == ctx.db && key == newkey {
        return Reply::err_static(errors::SAME_OBJECT);
    }
    let value = match kv::lookup_read(ctx, key) {
        Some(e) => e.value().clone(),
        None => return Reply::Int(0),
    };
    let expire = kv::get_expire(ctx, key);
    if kv::lookup_in(ctx, dst, newkey).is_some() {
        if !replace {
            return Reply::Int(0);
        }
        kv::delete_in(ctx, dst, newkey);
    }
    let clock = ferrodis_keyspace::lru_clock(ctx.now_ms);
    if let Some(db) = ctx.db_index_for(newkey, dst) {
        db.set(newkey, value, false, clock);
        if let Some(w) = expire {
            db.set_expire(newkey, w);
        }
    }
    ctx.engine.notify(notify::NEW, "new", newkey, dst);
    ctx.signal_modified_in(dst, newkey);
    ctx.engine.notify(notify::GENERIC, "copy_to", newkey, dst);
    ctx.dirty += 1;
    Reply::Int(1)
}

/// KEYS pattern — runs with every shard locked.
pub fn keys(ctx: &mut Ctx<'_, '_>, argv: &[Bytes]) -> Reply {
    let pat = &argv[1];
    let all = pat.as_ref() == b"*";
    let now = ctx.now_ms;
    let dbi = ctx.db;
    let mut out = Vec::new();
    for sh in ctx.locks.iter_mut() {
        let Some(db) = sh.dbs.get_mut(dbi) else {
            continue;
        };
        for e in db.iter() {
            let k = e.key().as_slice();
            if (all || string_match(pat, k, false)) && !db.is_expired(k, now) {
                out.push(Reply::Bulk(Bytes::copy_from_slice(k)));
            }
        }
    }
    Reply::Array(out)
}

pub fn dbsize(ctx: &mut Ctx<'_, '_>, _argv: &[Bytes]) -> Reply {
    let dbi = ctx.db;
    let n: usize = ctx
        .locks
        .iter_mut()
        .map(|sh| sh.dbs.get(dbi).map(|d| d.len()).unwrap_or(0))
        .sum();
    Reply::Int(n as i64)
}

pub fn randomkey(ctx: &mut Ctx<'_, '_>, _argv: &[Bytes]) -> Reply {
    let dbi = ctx.db;
    // Choose a shard weighted by its size, then a random key in it; expired
    // keys met on the way are deleted as Redis's dbRandomKey does.
    for _ in 0..100 {
        let sizes: Vec<usize> = ctx
            .locks
            .iter_mut()
            .map(|sh| sh.dbs.get(dbi).map(|d| d.len()).unwrap_or(0))
            .collect();
        let total: usize = sizes.iter().sum();
        if total == 0 {
            return Reply::Null;
        }
        let mut pick = rand::random::<usize>() % total;
        let mut shard = 0;
        for (i, s) in sizes.iter().enumerate() {
            if pick < *s {
                shard = i;
                break;
            }
            pick -= s;
        }
        let now = ctx.now_ms;
        let mut rng = rand::thread_rng();
        let Some(rk) = ctx
            .locks
            .shard_mut(shard)
            .and_then(|sh| sh.dbs.get_mut(dbi))
            .map(|db| db.random_key(now, &mut rng, true))
        else {
            continue;
        };
        for k in &rk.expired {
            ctx.expired_key(dbi, k.as_slice());
        }
        if let Some(key) = rk.key {
            return Reply::Bulk(Bytes::copy_from_slice(key.as_slice()));
        }
    }
    Reply::Null
}

pub fn flushdb(ctx: &mut Ctx<'_, '_>, argv: &[Bytes]) -> Reply {
    if let Err(e) = parse_flush_flags(argv) {
        return e;
    }
    let dbi = ctx.db;
    touch_watched_before_flush(ctx, dbi);
    let mut n = 0;
    for sh in ctx.locks.iter_mut() {
        if let Some(db) = sh.dbs.get_mut(dbi) {
            n += db.len();
            db.flush();
        }
    }
    crate::blocking::signal_flushed(ctx, Some(dbi));
    ctx.engine.keyspace_flushed();
    ctx.dirty += n as u64 + 1;
    ctx.rewrite(strip_flush_args(argv));
    Reply::Ok
}

pub fn flushall(ctx: &mut Ctx<'_, '_>, argv: &[Bytes]) -> Reply {
    if let Err(e) = parse_flush_flags(argv) {
        return e;
    }
    for dbi in 0..ctx.engine.settings.databases {
        touch_watched_before_flush(ctx, dbi);
    }
    let mut n = 0;
    for sh in ctx.locks.iter_mut() {
        for db in sh.dbs.iter_mut() {
            n += db.len();
            db.flush();
        }
    }
    crate::blocking::signal_flushed(ctx, None);
    ctx.engine.keyspace_flushed();
    ctx.dirty += n as u64 + 1;
    ctx.rewrite(strip_flush_args(argv));
    Reply::Ok
}

/// WATCHed keys of database `dbi` that exist (not counting stale ones, which are already
/// logically gone) are touched by a flush (Redis's touchAllWatchedKeysInDb). Every shard is
/// locked.
fn touch_watched_before_flush(ctx: &mut Ctx<'_, '_>, dbi: usize) {
    let now = ctx.now_ms;
    let engine = ctx.engine;
    for key in engine.watches.keys_in(dbi) {
        let live = ctx
            .locks
            .shard_for_key(&engine.ks, &key)
            .and_then(|sh| sh.dbs.get(dbi))
            .is_some_and(|db| db.lookup(&key, now).is_some());
        if live {
            engine.watches.touch(dbi, &key);
        }
    }
}

/// After SWAPDB `db` <-> `other`: a watched key of `db` is touched when it existed there
/// before (it is in `other` now) or exists there now; a missing key replaced by a logically
/// expired one becomes a stale watch instead (Redis's touchAllWatchedKeysInDb with
/// replaced_with).
fn touch_watched_after_swap(ctx: &mut Ctx<'_, '_>, db: usize, other: usize) {
    let now = ctx.now_ms;
    let engine = ctx.engine;
    for key in engine.watches.keys_in(db) {
        let Some(shard) = ctx.locks.shard_for_key(&engine.ks, &key) else {
            continue;
        };
        let live = |d: usize| {
            shard
                .dbs
                .get(d)
                .is_some_and(|x| x.lookup(&key, now).is_some())
        };
        if live(db) || live(other) {
            engine.watches.touch(db, &key);
        } else if shard.dbs.get(db).is_some_and(|x| x.is_expired(&key, now)) {
            engine.watches.set_stale(db, &key);
        }
    }
}

fn strip_flush_args(argv: &[Bytes]) -> Vec<Bytes> {
    argv.to_vec()
}

/// FLUSHDB/FLUSHALL [ASYNC|SYNC].
fn parse_flush_flags(argv: &[Bytes]) -> Result<(), Reply> {
    if argv.len() > 2 {
        return Err(errors::syntax());
    }
    if argv.len() == 2 && !(eq_ic(&argv[1], "sync") || eq_ic(&argv[1], "async")) {
        return Err(errors::syntax());
    }
    Ok(())
}

pub fn swapdb(ctx: &mut Ctx<'_, '_>, argv: &[Bytes]) -> Reply {
    let parse = |a: &[u8], which: &str| -> Result<usize, Reply> {
        match crate::args::parse_i64(a) {
            Some(v) if v >= i32::MIN as i64 && v <= i32::MAX as i64 => Ok(v),
            _ => Err(Reply::error(format!("ERR invalid {} DB index", which))),
        }
        .and_then(|v| {
            if v < 0 || v as usize >= ctx.engine.settings.databases {
                Err(Reply::err_static(errors::DB_RANGE))
            } else {
                Ok(v as usize)
            }
        })
    };
    let a = match parse(&argv[1], "first") {
        Ok(v) => v,
        Err(e) => return e,
    };
    let b = match parse(&argv[2], "second") {
        Ok(v) => v,
        Err(e) => return e,
    };
    if a != b {
        for sh in ctx.locks.iter_mut() {
            sh.dbs.swap(a, b);
        }
        crate::blocking::signal_swapped_dbs(ctx, a, b);
        touch_watched_after_swap(ctx, a, b);
        touch_watched_after_swap(ctx, b, a);
    }
    ctx.dirty += 1;
    Reply::Ok
}

// ---- expiry ----------------------------------------------------------------

const EX_NX: u32 = 1;
const EX_XX: u32 = 2;
const EX_GT: u32 = 4;
const EX_LT: u32 = 8;

fn parse_expire_flags(argv: &[Bytes]) -> Result<u32, Reply> {
    let mut f = 0;
    for a in &argv[3..] {
        if eq_ic(a, "nx") {
            f |= EX_NX;
        } else if eq_ic(a, "xx") {
            f |= EX_XX;
        } else if eq_ic(a, "gt") {
            f |= EX_GT;
        } else if eq_ic(a, "lt") {
            f |= EX_LT;
        } else {
            return Err(errors::error_with("ERR Unsupported option ", a, ""));
        }
    }
    if f & EX_NX != 0 && f & (EX_XX | EX_GT | EX_LT) != 0 {
        return Err(Reply::err_static(
            "ERR NX and XX, GT or LT options at the same time are not compatible",
        ));
    }
    if f & EX_GT != 0 && f & EX_LT != 0 {
        return Err(Reply::err_static(
            "ERR GT and LT options at the same time are not compatible",
        ));
    }
    Ok(f)
}

fn expire_generic(
    ctx: &mut Ctx<'_, '_>,
    argv: &[Bytes],
    base: i64,
    seconds: bool,
    name: &str,
    is_pexpireat: bool,
) -> Reply {
    let key = &argv[1];
    let flags = match parse_expire_flags(argv) {
        Ok(f) => f,
        Err(e) => return e,
    };
    let mut when = match i64_or_err(&argv[2]) {
        Ok(v) => v,
        Err(e) => return e,
    };
    let bad = || Reply::error(format!("ERR invalid expire time in '{}' command", name));
    if seconds {
        if !(i64::MIN / 1000..=i64::MAX / 1000).contains(&when) {
            return bad();
        }
        when *= 1000;
    }
    if when > i64::MAX - base {
        return bad();
    }
    when += base;
    if kv::lookup(ctx, key).is_none() {
        return Reply::Int(0);
    }
    if flags != 0 {
        let cur = kv::get_expire(ctx, key);
        if flags & EX_NX != 0 && cur.is_some() {
            return Reply::Int(0);
        }
        if flags & EX_XX != 0 && cur.is_none() {
            return Reply::Int(0);
        }
        if flags & EX_GT != 0 && cur.map(|c| when <= c).unwrap_or(true) {
            return Reply::Int(0);
        }
        if flags & EX_LT != 0 && cur.map(|c| when >= c).unwrap_or(false) {
            return Reply::Int(0);
        }
    }
    if when <= ctx.now_ms {
        kv::delete(ctx, key);
        ctx.dirty += 1;
        let cmd = crate::strings::del_cmd(ctx);
        ctx.rewrite(vec![cmd, key.clone()]);
        ctx.notify(notify::GENERIC, "del", key);
        return Reply::Int(1);
    }
    kv::set_expire(ctx, key, when);
    let mut v = argv.to_vec();
    if !is_pexpireat {
        v[0] = Bytes::from_static(b"PEXPIREAT");
    }
    if base != 0 || seconds {
        let mut b = itoa::Buffer::new();
        v[2] = Bytes::copy_from_slice(b.format(when).as_bytes());
    }
    ctx.rewrite(v);
    ctx.signal_modified(key);
    ctx.notify(notify::GENERIC, "expire", key);
    ctx.dirty += 1;
    Reply::Int(1)
}

pub fn expire(ctx: &mut Ctx<'_, '_>, argv: &[Bytes]) -> Reply {
    let now = ctx.now_ms;
    expire_generic(ctx, argv, now, true, "expire", false)
}
pub fn pexpire(ctx: &mut Ctx<'_, '_>, argv: &[Bytes]) -> Reply {
    let now = ctx.now_ms;
    expire_generic(ctx, argv, now, false, "pexpire", false)
}
pub fn expireat(ctx: &mut Ctx<'_, '_>, argv: &[Bytes]) -> Reply {
    expire_generic(ctx, argv, 0, true, "expireat", false)
}
pub fn pexpireat(ctx: &mut Ctx<'_, '_>, argv: &[Bytes]) -> Reply {
    expire_generic(ctx, argv, 0, false, "pexpireat", true)
}

fn ttl_generic(ctx: &mut Ctx<'_, '_>, argv: &[Bytes], ms: bool, abs: bool) -> Reply {
    let key = &argv[1];
    if kv::lookup_read_notouch(ctx, key).is_none() {
        return Reply::Int(-2);
    }
    match kv::get_expire(ctx, key) {
        None => Reply::Int(-1),
        Some(w) => {
            // i128: an expiry near i64::MAX must not overflow the rounding.
            let ttl = if abs {
                w as i128
            } else {
                w as i128 - ctx.now_ms as i128
            }
            .max(0);
            Reply::Int(if ms { ttl } else { (ttl + 500) / 1000 } as i64)
        }
    }
}

pub fn ttl(ctx: &mut Ctx<'_, '_>, argv: &[Bytes]) -> Reply {
    ttl_generic(ctx, argv, false, false)
}
pub fn pttl(ctx: &mut Ctx<'_, '_>, argv: &[Bytes]) -> Reply {
    ttl_generic(ctx, argv, true, false)
}
pub fn expiretime(ctx: &mut Ctx<'_, '_>, argv: &[Bytes]) -> Reply {
    ttl_generic(ctx, argv, false, true)
}
pub fn pexpiretime(ctx: &mut Ctx<'_, '_>, argv: &[Bytes]) -> Reply {
    ttl_generic(ctx, argv, true, true)
}

pub fn persist(ctx: &mut Ctx<'_, '_>, argv: &[Bytes]) -> Reply {
    let key = &argv[1];
    if kv::lookup(ctx, key).is_none() {
        return Reply::Int(0);
    }
    if kv::persist(ctx, key) {
        ctx.signal_modified(key);
        ctx.notify(notify::GENERIC, "persist", key);
        ctx.dirty += 1;
        Reply::Int(1)
    } else {
        Reply::Int(0)
    }
}

// ---- OBJECT ----------------------------------------------------------------

pub fn object(ctx: &mut Ctx<'_, '_>, argv: &[Bytes]) -> Reply {
    let sub = &argv[1];
    if eq_ic(sub, "help") && argv.len() == 2 {
        return help_reply(&[
            "OBJECT <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
            "ENCODING <key>",
            "    Name of the internal representation of the value at <key>.",
            "FREQ <key>",
            "    Logarithmic access-frequency counter of <key> (LFU policies only).",
            "IDLETIME <key>",
            "    Seconds since <key> was last read or written (LRU policies only).",
            "REFCOUNT <key>",
            "    Reference count of the value at <key>.",
            "HELP",
            "    Show this list.",
        ]);
    }
    if argv.len() != 3 {
        return errors::unknown_subcommand(sub, "object");
    }
    let lfu = ctx
        .engine
        .settings
        .lfu_policy
        .load(std::sync::atomic::Ordering::Relaxed);
    let now = ctx.now_ms;
    let which = if eq_ic(sub, "encoding") {
        0
    } else if eq_ic(sub, "refcount") {
        1
    } else if eq_ic(sub, "idletime") {
        2
    } else if eq_ic(sub, "freq") {
        3
    } else {
        return errors::unknown_subcommand(sub, "object");
    };
    // OBJECT must not update the access time it reports.
    let e = match kv::lookup_read_nonotify(ctx, &argv[2]) {
        Some(e) => e,
        None => return Reply::Null,
    };
    match which {
        0 => Reply::bulk_static(e.value().encoding_name()),
        1 => Reply::Int(if kv::is_shared_int(e.value()) {
            i32::MAX as i64
        } else {
            1
        }),
        2 => {
            if lfu {
                return Reply::err_static("ERR An LFU maxmemory policy is selected, idle time not tracked. Please note that when switching between policies at runtime LRU and LFU data will take some time to adjust.");
            }
            Reply::Int(ferrodis_keyspace::object_idletime(e.clock(), now) as i64)
        }
        _ => {
            if !lfu {
                return Reply::err_static("ERR An LFU maxmemory policy is not selected, access frequency not tracked. Please note that when switching between policies at runtime LRU and LFU data will take some time to adjust.");
            }
            Reply::Int(kv::lfu_decr_and_return(e.clock(), now) as i64)
        }
    }
}

/// A HELP reply: status lines, as Redis's addReplyHelp.
pub fn help_reply(lines: &[&'static str]) -> Reply {
    Reply::Array(lines.iter().map(|l| Reply::status(l)).collect())
}

// ---- SCAN ------------------------------------------------------------------

/// Options of SCAN-like commands.
pub struct ScanOpts {
    pub count: usize,
    pub pattern: Option<Bytes>,
    pub type_name: Option<Bytes>,
}

pub fn parse_scan_opts(argv: &[Bytes], start: usize, allow_type: bool) -> Result<ScanOpts, Reply> {
    let mut o = ScanOpts {
        count: 10,
        pattern: None,
        type_name: None,
    };
    let mut i = start;
    while i < argv.len() {
        let left = argv.len() - i;
        if eq_ic(&argv[i], "count") && left >= 2 {
            let c = match crate::args::parse_i64(&argv[i + 1]) {
                Some(c) => c,
                None => return Err(errors::not_integer()),
            };
            if c < 1 {
                return Err(errors::syntax());
            }
            o.count = c as usize;
            i += 2;
        } else if eq_ic(&argv[i], "match") && left >= 2 {
            let p = argv[i + 1].clone();
            o.pattern = if p.as_ref() == b"*" { None } else { Some(p) };
            i += 2;
        } else if allow_type && eq_ic(&argv[i], "type") && left >= 2 {
            o.type_name = Some(argv[i + 1].clone());
            i += 2;
        } else {
            return Err(errors::syntax());
        }
    }
    Ok(o)
}

/// Parse a SCAN cursor as Redis does with strtoul: an optional sign (a
/// negative cursor wraps around), decimal digits, nothing else; no leading space.
pub fn parse_cursor(b: &[u8]) -> Result<u64, Reply> {
    let bad = || Reply::err_static("ERR invalid cursor");
    let (neg, digits) = match b.first() {
        Some(b'-') => (true, &b[1..]),
        Some(b'+') => (false, &b[1..]),
        _ => (false, b),
    };
    if digits.is_empty() || !digits.iter().all(|c| c.is_ascii_digit()) {
        // strtoul of "" is 0 with eptr at the end: Redis accepts an empty cursor.
        return if b.is_empty() { Ok(0) } else { Err(bad()) };
    }
    let mut v: u64 = 0;
    for &c in digits {
        v = v
            .checked_mul(10)
            .and_then(|v| v.checked_add((c - b'0') as u64))
            .ok_or_else(bad)?;
    }
    Ok(if neg { v.wrapping_neg() } else { v })
}

/// SCAN cursor layout: the low bits select the shard, the rest is the shard
/// table's own reverse-binary cursor. Shards are visited in order.
fn shard_bits(n: usize) -> u32 {
    usize::BITS - (n.max(1) - 1).leading_zeros()
}

pub fn scan(ctx: &mut Ctx<'_, '_>, argv: &[Bytes]) -> Reply {
    let cursor = match parse_cursor(&argv[1]) {
        Ok(c) => c,
        Err(e) => return e,
    };
    let opts = match parse_scan_opts(argv, 2, true) {
        Ok(o) => o,
        Err(e) => return e,
    };
    let engine = ctx.engine;
    let nshards = engine.ks.nshards();
    let bits = shard_bits(nshards);
    let mut shard = (cursor & ((1u64 << bits) - 1)) as usize;
    let mut tcur = cursor >> bits;
    if shard >= nshards {
        return Reply::Array(vec![Reply::bulk_static("0"), Reply::Array(vec![])]);
    }
    let dbi = ctx.db;
    let mut keys: Vec<Bytes> = Vec::new();
    let max_iter = opts.count * 10;
    let mut iters = 0;
    // Lock one shard at a time; a SCAN call never holds more than one.
    let next_cursor;
    loop {
        let (resp, now) = (ctx.resp, ctx.now_ms);
        crate::exec::with_shard(engine, shard, dbi, resp, now, |sub| {
            let mut found: Vec<Bytes> = Vec::new();
            if let Some(db) = sub.locks.shard_mut(shard).and_then(|s| s.dbs.get_mut(dbi)) {
                loop {
                    tcur = db.scan(tcur, |e| {
                        found.push(Bytes::copy_from_slice(e.key().as_slice()))
                    });
                    iters += 1;
                    if tcur == 0 || iters >= max_iter || found.len() >= opts.count {
                        break;
                    }
                }
            }
            // Filter under the same lock so expired keys are deleted and their
            // deletion propagated in order with other writes to them.
            for k in found {
                if let Some(p) = &opts.pattern {
                    if !string_match(p, &k, false) {
                        continue;
                    }
                }
                let Some(e) = kv::lookup(sub, &k) else {
                    continue;
                };
                if let Some(t) = &opts.type_name {
                    if !t.eq_ignore_ascii_case(e.value().type_name().as_bytes()) {
                        continue;
                    }
                }
                keys.push(k);
            }
        });
        if tcur == 0 {
            shard += 1;
            if shard >= nshards {
                next_cursor = 0;
                break;
            }
        }
        if keys.len() >= opts.count || iters >= max_iter {
            next_cursor = (tcur << bits) | shard as u64;
            break;
        }
    }
    let mut b = itoa::Buffer::new();
    Reply::Array(vec![
        Reply::Bulk(Bytes::copy_from_slice(b.format(next_cursor).as_bytes())),
        Reply::Array(keys.into_iter().map(Reply::Bulk).collect()),
    ])
}
