//! String commands: GET/SET family, counters, ranges, LCS.

use crate::args::{eq_ic, i64_or_err, Args};
use crate::ctx::Ctx;
use crate::engine::notify;
use crate::errors;
use crate::kv;
use crate::reply::Reply;
use bytes::Bytes;
use ferrodis_ds::num;
use ferrodis_ds::value::Value;

/// Redis's checkStringLength: a string may not grow past proto-max-bulk-len.
fn check_len(ctx: &Ctx<'_, '_>, size: u64, append: u64) -> Result<(), Reply> {
    let total = size.checked_add(append);
    match total {
        Some(t) if t <= ctx.engine.settings.max_bulk() => Ok(()),
        _ => Err(Reply::err_static(errors::STRING_TOO_LONG)),
    }
}

fn expire_time_error(cmd: &str) -> Reply {
    Reply::error(format!("ERR invalid expire time in '{}' command", cmd))
}

const F_NX: u32 = 1;
const F_XX: u32 = 2;
const F_GET: u32 = 4;
const F_KEEPTTL: u32 = 8;
const F_PERSIST: u32 = 16;
const F_EX: u32 = 32;
const F_PX: u32 = 64;
const F_EXAT: u32 = 128;
const F_PXAT: u32 = 256;
const ANY_EXPIRE: u32 = F_EX | F_PX | F_EXAT | F_PXAT;

#[derive(PartialEq, Clone, Copy)]
enum Kind {
    Set,
    GetEx,
}

/// Option parsing shared by SET and GETEX (Redis's parseExtendedStringArgumentsOrReply).
fn parse_ext(argv: &[Bytes], kind: Kind) -> Result<(u32, Option<Bytes>), Reply> {
    let mut flags = 0u32;
    let mut expire = None;
    let mut j = if kind == Kind::GetEx { 2 } else { 3 };
    while j < argv.len() {
        let opt = &argv[j];
        let has_next = j + 1 < argv.len();
        let set = kind == Kind::Set;
        if set && eq_ic(opt, "nx") && flags & F_XX == 0 {
            flags |= F_NX;
        } else if set && eq_ic(opt, "xx") && flags & F_NX == 0 {
            flags |= F_XX;
        } else if set && eq_ic(opt, "get") {
            flags |= F_GET;
        } else if set && eq_ic(opt, "keepttl") && flags & (F_PERSIST | ANY_EXPIRE) == 0 {
            flags |= F_KEEPTTL;
        } else if !set && eq_ic(opt, "persist") && flags & (ANY_EXPIRE | F_KEEPTTL) == 0 {
            flags |= F_PERSIST;
        } else if has_next
            && flags & (F_KEEPTTL | F_PERSIST) == 0
            && (eq_ic(opt, "ex") || eq_ic(opt, "px") || eq_ic(opt, "exat") || eq_ic(opt, "pxat"))
        {
            let f = if eq_ic(opt, "ex") {
                F_EX
            } else if eq_ic(opt, "px") {
                F_PX
            } else if eq_ic(opt, "exat") {
                F_EXAT
            } else {
                F_PXAT
            };
            if flags & ANY_EXPIRE & !f != 0 {
                return Err(errors::syntax());
            }
            flags |= f;
            expire = Some(argv[j + 1].clone());
            j += 1;
        } else {
            return Err(errors::syntax());
        }
        j += 1;
    }
    Ok((flags, expire))
}

/// Absolute expiry in ms from an EX/PX/EXAT/PXAT argument (getExpireMillisecondsOrReply).
fn expire_ms(ctx: &Ctx<'_, '_>, arg: &[u8], flags: u32, cmd: &str) -> Result<i64, Reply> {
    let mut ms = i64_or_err(arg)?;
    let seconds = flags & (F_EX | F_EXAT) != 0;
    if ms <= 0 || (seconds && ms > i64::MAX / 1000) {
        return Err(expire_time_error(cmd));
    }
    if seconds {
        ms *= 1000;
    }
    if flags & (F_EX | F_PX) != 0 {
        ms = ms.checked_add(ctx.now_ms).unwrap_or(-1);
    }
    if ms <= 0 {
        return Err(expire_time_error(cmd));
    }
    Ok(ms)
}

fn int_bytes(i: i64) -> Bytes {
    let mut b = itoa::Buffer::new();
    Bytes::copy_from_slice(b.format(i).as_bytes())
}

/// The core of SET and its variants (Redis's setGenericCommand).
#[allow(clippy::too_many_arguments)] // mirrors Redis's setGenericCommand parameters one to one
fn set_generic(
    ctx: &mut Ctx<'_, '_>,
    argv: &[Bytes],
    flags: u32,
    key: &[u8],
    val: &[u8],
    expire: Option<&[u8]>,
    ok_reply: Reply,
    abort_reply: Reply,
    cmdname: &str,
) -> Reply {
    let when = match expire {
        Some(e) => match expire_ms(ctx, e, flags, cmdname) {
            Ok(w) => Some(w),
            Err(r) => return r,
        },
        None => None,
    };
    let mut get_reply = None;
    if flags & F_GET != 0 {
        match kv::get_string(ctx, key) {
            Ok(Some(b)) => get_reply = Some(Reply::Bulk(b)),
            Ok(None) => get_reply = Some(Reply::Null),
            Err(e) => return e,
        }
    }
    // Always looked up (lookupKeyWrite): an expired key is deleted and its DEL
    // propagated before the write, as Redis does.
    let found = kv::exists(ctx, key);
    if (flags & F_NX != 0 && found) || (flags & F_XX != 0 && !found) {
        return get_reply.unwrap_or(abort_reply);
    }
    kv::set_key(ctx, key, Value::from_bytes(val), flags & F_KEEPTTL != 0);
    ctx.dirty += 1;
    ctx.notify(notify::STRING, "set", key);
    if let Some(w) = when {
        kv::set_expire(ctx, key, w);
        ctx.rewrite(vec![
            Bytes::from_static(b"SET"),
            Bytes::copy_from_slice(key),
            Bytes::copy_from_slice(val),
            Bytes::from_static(b"PXAT"),
            int_bytes(w),
        ]);
        ctx.notify(notify::GENERIC, "expire", key);
    } else if flags & F_GET != 0 {
        let mut v: Vec<Bytes> = Vec::with_capacity(argv.len());
        for (j, a) in argv.iter().enumerate() {
            if j >= 3 && eq_ic(a, "get") {
                continue;
            }
            v.push(a.clone());
        }
        ctx.rewrite(v);
    }
    get_reply.unwrap_or(ok_reply)
}

pub fn set(ctx: &mut Ctx<'_, '_>, argv: &[Bytes]) -> Reply {
    let (flags, expire) = match parse_ext(argv, Kind::Set) {
        Ok(x) => x,
        Err(e) => return e,
    };
    set_generic(
        ctx,
        argv,
        flags,
        &argv[1],
        &argv[2],
        expire.as_deref(),
        Reply::Ok,
        Reply::Null,
        "set",
    )
}

pub fn setnx(ctx: &mut Ctx<'_, '_>, argv: &[Bytes]) -> Reply {
    set_generic(
        ctx,
        argv,
        F_NX,
        &argv[1],
        &argv[2],
        None,
        Reply::Int(1),
        Reply::Int(0),
        "setnx",
    )
}

pub fn setex(ctx: &mut Ctx<'_, '_>, argv: &[Bytes]) -> Reply {
    set_generic(
        ctx,
        argv,
        F_EX,
        &argv[1],
        &argv[3],
        Some(&argv[2]),
        Reply::Ok,
        Reply::Null,
        "setex",
    )
}

pub fn psetex(ctx: &mut Ctx<'_, '_>, argv: &[Bytes]) -> Reply {
    set_generic(
        ctx,
        argv,
        F_PX,
        &argv[1],
        &argv[3],
        Some(&argv[2]),
        Reply::Ok,
        Reply::Null,
        "psetex",
    )
}

pub fn get(ctx: &mut Ctx<'_, '_>, argv: &[Bytes]) -> Reply {
    match kv::lookup_read(ctx, &argv[1]) {
        None => Reply::Null,
        Some(e) => kv::string_reply(e.value()).unwrap_or_else(errors::wrongtype),
    }
}

pub fn getex(ctx: &mut Ctx<'_, '_>, argv: &[Bytes]) -> Reply {
    let (flags, expire) = match parse_ext(argv, Kind::GetEx) {
        Ok(x) => x,
        Err(e) => return e,
    };
    let key = &argv[1];
    let val = match kv::get_string(ctx, key) {
        Ok(Some(b)) => b,
        Ok(None) => return Reply::Null,
        Err(e) => return e,
    };
    let when = match expire {
        Some(e) => match expire_ms(ctx, &e, flags, "getex") {
            Ok(w) => Some(w),
            Err(r) => return r,
        },
        None => None,
    };
    if let Some(w) = when {
        if flags & (F_EXAT | F_PXAT) != 0 && w <= ctx.now_ms {
            kv::delete(ctx, key);
            ctx.dirty += 1;
            ctx.rewrite(vec![del_cmd(ctx), key.clone()]);
            ctx.notify(notify::GENERIC, "del", key);
        } else {
            kv::set_expire(ctx, key, w);
            ctx.signal_modified(key);
            ctx.dirty += 1;
            ctx.rewrite(vec![
                Bytes::from_static(b"PEXPIREAT"),
                key.clone(),
                int_bytes(w),
            ]);
            ctx.notify(notify::GENERIC, "expire", key);
        }
    } else if flags & F_PERSIST != 0 && kv::persist(ctx, key) {
        ctx.signal_modified(key);
        ctx.dirty += 1;
        ctx.rewrite(vec![Bytes::from_static(b"PERSIST"), key.clone()]);
        ctx.notify(notify::GENERIC, "persist", key);
    }
    Reply::Bulk(val)
}

/// DEL or UNLINK, as the server deletes keys whose expiry is already in the past.
pub(crate) fn del_cmd(ctx: &Ctx<'_, '_>) -> Bytes {
    kv::del_or_unlink(
        ctx.engine
            .settings
            .lazyfree_lazy_expire
            .load(std::sync::atomic::Ordering::Relaxed),
    )
}

pub fn getdel(ctx: &mut Ctx<'_, '_>, argv: &[Bytes]) -> Reply {
    let key = &argv[1];
    match kv::get_string(ctx, key) {
        Ok(Some(b)) => {
            kv::delete(ctx, key);
            ctx.notify(notify::GENERIC, "del", key);
            ctx.dirty += 1;
            let lazy = ctx
                .engine
                .settings
                .lazyfree_lazy_user_del
                .load(std::sync::atomic::Ordering::Relaxed);
            ctx.rewrite(vec![kv::del_or_unlink(lazy), key.clone()]);
            Reply::Bulk(b)
        }
        Ok(None) => Reply::Null,
        Err(e) => e,
    }
}

pub fn getset(ctx: &mut Ctx<'_, '_>, argv: &[Bytes]) -> Reply {
    let key = &argv[1];
    let old = match kv::get_string(ctx, key) {
        Ok(Some(b)) => Reply::Bulk(b),
        Ok(None) => Reply::Null,
        Err(e) => return e,
    };
    kv::set_key(ctx, key, Value::from_bytes(&argv[2]), false);
    ctx.notify(notify::STRING, "set", key);
    ctx.dirty += 1;
    // Propagate as SET so a replica never depends on the reply.
    ctx.rewrite(vec![
        Bytes::from_static(b"SET"),
        key.clone(),
        argv[2].clone(),
    ]);
    old
}

pub fn mget(ctx: &mut Ctx<'_, '_>, argv: &[Bytes]) -> Reply {
    let mut out = Vec::with_capacity(argv.len() - 1);
    for k in &argv[1..] {
        let r = match kv::lookup_read(ctx, k) {
            Some(e) => kv::string_reply(e.value()).unwrap_or(Reply::Null),
            None => Reply::Null,
        };
        out.push(r);
    }
    Reply::Array(out)
}

fn mset_generic(ctx: &mut Ctx<'_, '_>, argv: &[Bytes], nx: bool, name: &str) -> Reply {
    if argv.len().is_multiple_of(2) {
        return errors::wrong_arity(name);
    }
    if nx {
        for j in (1..argv.len()).step_by(2) {
            if kv::exists(ctx, &argv[j]) {
                return Reply::Int(0);
            }
        }
    }
    for j in (1..argv.len()).step_by(2) {
        kv::set_key(ctx, &argv[j], Value::from_bytes(&argv[j + 1]), false);
        ctx.notify(notify::STRING, "set", &argv[j]);
    }
    ctx.dirty += (argv.len() as u64 - 1) / 2;
    if nx {
        Reply::Int(1)
    } else {
        Reply::Ok
    }
}

pub fn mset(ctx: &mut Ctx<'_, '_>, argv: &[Bytes]) -> Reply {
    mset_generic(ctx, argv, false, "mset")
}

pub fn msetnx(ctx: &mut Ctx<'_, '_>, argv: &[Bytes]) -> Reply {
    mset_generic(ctx, argv, true, "msetnx")
}

pub fn append(ctx: &mut Ctx<'_, '_>, argv: &[Bytes]) -> Reply {
    let key = &argv[1];
    let add = &argv[2];
    let cur = match kv::lookup(ctx, key) {
        None => None,
        Some(e) => match kv::string_bytes(e.value()) {
            Some(b) => Some(b),
            None => return errors::wrongtype(),
        },
    };
    let newlen = match cur {
        None => {
            kv::add_key(ctx, key, Value::from_bytes(add));
            add.len()
        }
        Some(cur) => {
            if let Err(e) = check_len(ctx, cur.len() as u64, add.len() as u64) {
                return e;
            }
            let mut v = Vec::with_capacity(cur.len() + add.len());
            v.extend_from_slice(&cur);
            v.extend_from_slice(add);
            let n = v.len();
            kv::set_key(ctx, key, Value::raw_from(v), true);
            n
        }
    };
    ctx.notify(notify::STRING, "append", key);
    ctx.dirty += 1;
    Reply::Int(newlen as i64)
}

pub fn strlen(ctx: &mut Ctx<'_, '_>, argv: &[Bytes]) -> Reply {
    match kv::get_string(ctx, &argv[1]) {
        Ok(Some(b)) => Reply::Int(b.len() as i64),
        Ok(None) => Reply::Int(0),
        Err(e) => e,
    }
}

pub fn getrange(ctx: &mut Ctx<'_, '_>, argv: &[Bytes]) -> Reply {
    let mut start = match i64_or_err(&argv[2]) {
        Ok(v) => v,
        Err(e) => return e,
    };
    let mut end = match i64_or_err(&argv[3]) {
        Ok(v) => v,
        Err(e) => return e,
    };
    let s = match kv::get_string(ctx, &argv[1]) {
        Ok(Some(b)) => b,
        Ok(None) => return Reply::Bulk(Bytes::new()),
        Err(e) => return e,
    };
    let len = s.len() as i64;
    if start < 0 && end < 0 && start > end {
        return Reply::Bulk(Bytes::new());
    }
    if start < 0 {
        start += len;
    }
    if end < 0 {
        end += len;
    }
    start = start.max(0);
    end = end.max(0);
    if end >= len {
        end = len - 1;
    }
    if start > end || len == 0 {
        return Reply::Bulk(Bytes::new());
    }
    Reply::Bulk(s.slice(start as usize..=end as usize))
}

pub fn setrange(ctx: &mut Ctx<'_, '_>, argv: &[Bytes]) -> Reply {
    let key = &argv[1];
    let value = &argv[3];
    let offset = match i64_or_err(&argv[2]) {
        Ok(v) => v,
        Err(e) => return e,
    };
    if offset < 0 {
        return Reply::err_static(errors::OFFSET_RANGE);
    }
    let cur = match kv::lookup(ctx, key) {
        None => None,
        Some(e) => match kv::string_bytes(e.value()) {
            Some(b) => Some(b),
            None => return errors::wrongtype(),
        },
    };
    let cur_len = cur.as_ref().map(|c| c.len()).unwrap_or(0);
    if value.is_empty() {
        return Reply::Int(cur_len as i64);
    }
    if let Err(e) = check_len(ctx, offset as u64, value.len() as u64) {
        return e;
    }
    let off = offset as usize;
    let need = off + value.len();
    let mut v = Vec::with_capacity(need.max(cur_len));
    if let Some(c) = &cur {
        v.extend_from_slice(c);
    }
    if v.len() < need {
        v.resize(need, 0);
    }
    v[off..need].copy_from_slice(value);
    let n = v.len();
    kv::set_key(ctx, key, Value::raw_from(v), true);
    ctx.notify(notify::STRING, "setrange", key);
    ctx.dirty += 1;
    Reply::Int(n as i64)
}

fn incr_generic(ctx: &mut Ctx<'_, '_>, key: &Bytes, by: i64) -> Reply {
    // Update in place when the key exists: one lookup, TTL and clock kept.
    let new = match kv::lookup(ctx, key) {
        Some(e) => {
            let cur = match e.value().as_int() {
                Some(i) => i,
                None => match kv::string_bytes(e.value()) {
                    None => return errors::wrongtype(),
                    Some(b) => match num::string2ll(&b) {
                        Some(i) => i,
                        None => return errors::not_integer(),
                    },
                },
            };
            let Some(new) = cur.checked_add(by) else {
                return Reply::err_static(errors::OVERFLOW);
            };
            e.set_value(Value::from_int(new));
            new
        }
        None => {
            kv::add_key(ctx, key, Value::from_int(by));
            by
        }
    };
    ctx.signal_modified(key);
    ctx.notify(notify::STRING, "incrby", key);
    ctx.dirty += 1;
    Reply::Int(new)
}

pub fn incr(ctx: &mut Ctx<'_, '_>, argv: &[Bytes]) -> Reply {
    incr_generic(ctx, &argv[1], 1)
}
pub fn decr(ctx: &mut Ctx<'_, '_>, argv: &[Bytes]) -> Reply {
    incr_generic(ctx, &argv[1], -1)
}
pub fn incrby(ctx: &mut Ctx<'_, '_>, argv: &[Bytes]) -> Reply {
    match i64_or_err(&argv[2]) {
        Ok(by) => incr_generic(ctx, &argv[1], by),
        Err(e) => e,
    }
}
pub fn decrby(ctx: &mut Ctx<'_, '_>, argv: &[Bytes]) -> Reply {
    match i64_or_err(&argv[2]) {
        Ok(by) if by == i64::MIN => Reply::err_static("ERR decrement would overflow"),
        Ok(by) => incr_generic(ctx, &argv[1], -by),
        Err(e) => e,
    }
}

pub fn incrbyfloat(ctx: &mut Ctx<'_, '_>, argv: &[Bytes]) -> Reply {
    let key = &argv[1];
    let cur = match kv::lookup(ctx, key) {
        None => Bytes::from_static(b"0"),
        Some(e) => match kv::string_bytes(e.value()) {
            Some(b) => b,
            None => return errors::wrongtype(),
        },
    };
    let out = match num::incr_by_float(&cur, &argv[2]) {
        Ok(v) => v,
        Err(e) => return Reply::error(format!("ERR {}", e)),
    };
    let b = Bytes::from(out);
    // Redis stores the result as a plain string (createStringObjectFromLongDouble),
    // never int-encoded.
    let v = if b.len() <= ferrodis_ds::value::EMBSTR_MAX {
        Value::Str(ferrodis_ds::compact::CompactBytes::new(&b))
    } else {
        Value::raw_from(b.to_vec())
    };
    kv::set_key(ctx, key, v, true);
    ctx.notify(notify::STRING, "incrbyfloat", key);
    ctx.dirty += 1;
    // Float formatting may differ across platforms: replicate the result, keeping the TTL.
    ctx.rewrite(vec![
        Bytes::from_static(b"SET"),
        key.clone(),
        b.clone(),
        Bytes::from_static(b"KEEPTTL"),
    ]);
    Reply::Bulk(b)
}

pub fn lcs(ctx: &mut Ctx<'_, '_>, argv: &[Bytes]) -> Reply {
    // Keys are read (and expired ones deleted) before options are parsed, as in Redis.
    let mut strs = Vec::with_capacity(2);
    for k in &argv[1..3] {
        match kv::lookup_read(ctx, k) {
            None => strs.push(Bytes::new()),
            Some(e) => match kv::string_bytes(e.value()) {
                Some(b) => strs.push(b),
                None => {
                    return Reply::err_static("ERR The specified keys must contain string values")
                }
            },
        }
    }
    let mut get_len = false;
    let mut get_idx = false;
    let mut with_match_len = false;
    let mut min_match_len: i64 = 0;
    let mut args = Args::new(argv, 3);
    while let Some(a) = args.next() {
        if eq_ic(a, "idx") {
            get_idx = true;
        } else if eq_ic(a, "len") {
            get_len = true;
        } else if eq_ic(a, "withmatchlen") {
            with_match_len = true;
        } else if eq_ic(a, "minmatchlen") && !args.is_empty() {
            min_match_len = match args.next_i64() {
                Ok(v) => v.max(0),
                Err(e) => return e,
            };
        } else {
            return errors::syntax();
        }
    }
    if get_idx && get_len {
        return Reply::err_static(
            "ERR If you want both the length and indexes, please just use IDX.",
        );
    }
    let cap = ctx.engine.settings.max_bulk();
    let min = if get_idx { min_match_len as u64 } else { 0 };
    let res = match ferrodis_ds::lcs::lcs(&strs[0], &strs[1], min, cap) {
        Ok(r) => r,
        Err(e) => return Reply::error(format!("ERR {}", e)),
    };
    if get_len && !get_idx {
        return Reply::Int(res.len as i64);
    }
    if !get_idx {
        return Reply::Bulk(Bytes::from(res.string));
    }
    let mut matches = Vec::new();
    for m in &res.matches {
        let mut item = vec![
            Reply::Array(vec![Reply::Int(m.a.0 as i64), Reply::Int(m.a.1 as i64)]),
            Reply::Array(vec![Reply::Int(m.b.0 as i64), Reply::Int(m.b.1 as i64)]),
        ];
        if with_match_len {
            item.push(Reply::Int(m.len as i64));
        }
        matches.push(Reply::Array(item));
    }
    Reply::Map(vec![
        (Reply::bulk_static("matches"), Reply::Array(matches)),
        (Reply::bulk_static("len"), Reply::Int(res.len as i64)),
    ])
}
