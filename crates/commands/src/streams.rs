//! Stream commands (XADD ... XAUTOCLAIM) and consumer groups.
//!
//! Handlers follow Redis 7.0's t_stream.c for the order of their checks, their error strings,
//! their RESP2/RESP3 replies, keyspace events, dirty counts and propagated forms:
//! - XADD with a generated (or partial `ms-*`) ID propagates the ID it generated, and `~`
//!   trimming propagates as `=` with the resulting length (MAXLEN) or first ID (MINID);
//! - XREADGROUP is never propagated itself: its effects go out as XCLAIM ... FORCE JUSTID
//!   LASTID, XGROUP SETID ... ENTRIESREAD (NOACK) and XGROUP CREATECONSUMER (NOACK);
//! - XCLAIM/XAUTOCLAIM propagate one XCLAIM per claimed entry (plus XGROUP SETID for LASTID).
//!
//! Streams are never deleted when they become empty (Redis keeps them).
//!
//! Blocking XREAD/XREADGROUP: a client that finds nothing blocks with its argv rewritten so
//! that every `$` is the stream's last ID at block time (Redis remembers the resolved IDs the
//! same way); XADD signals waiters; serving re-runs the whole command, and a re-run that still
//! finds nothing leaves the client waiting.

mod groups;
mod info;

use crate::args::{eq_ic, i64_or_err};
use crate::blocking::{self, BlockRequest, WaitFor};
use crate::coll;
use crate::ctx::Ctx;
use crate::engine::notify;
use crate::errors;
use crate::registry::{k, DataCommand};
use crate::reply::Reply;
use bytes::Bytes;
use ferrodis_ds::stream::{EntryRef, NodeLimits, Stream, StreamId, Trim};

/// This module's commands, merged into the registry.
pub static COMMANDS: &[DataCommand] = &[
    k("xadd", xadd),
    k("xlen", xlen),
    k("xrange", xrange),
    k("xrevrange", xrevrange),
    k("xdel", xdel),
    k("xtrim", xtrim),
    k("xsetid", xsetid),
    k("xread", xread),
    k("xreadgroup", xread),
    k("xgroup", groups::xgroup),
    k("xack", groups::xack),
    k("xpending", groups::xpending),
    k("xclaim", groups::xclaim),
    k("xautoclaim", groups::xautoclaim),
    k("xinfo", info::xinfo),
];

/// `?` for handlers: an `Err(reply)` is the command's reply.
macro_rules! tri {
    ($e:expr) => {
        match $e {
            Ok(v) => v,
            Err(r) => return r,
        }
    };
}
pub(crate) use tri;

pub(crate) const INVALID_ID: &str = "ERR Invalid stream ID specified as stream command argument";

fn invalid_id() -> Reply {
    Reply::err_static(INVALID_ID)
}

/// Node limits from `stream-node-max-bytes` / `stream-node-max-entries`.
fn limits(ctx: &Ctx<'_, '_>) -> NodeLimits {
    use std::sync::atomic::Ordering::Relaxed;
    let st = &ctx.engine.settings;
    NodeLimits {
        max_bytes: usize::try_from(st.stream_node_max_bytes.load(Relaxed)).unwrap_or(usize::MAX),
        max_entries: usize::try_from(st.stream_node_max_entries.load(Relaxed))
            .unwrap_or(usize::MAX),
    }
}

// ------------------------------------------------------------------ ID parsing

/// Redis's string2ull: strict decimal first, then `strtoull` rules (leading spaces, a sign,
/// leading zeros accepted; a `-` negates modulo 2^64).
fn string2ull(b: &[u8]) -> Option<u64> {
    if let Some(v) = ferrodis_ds::num::string2ll(b) {
        return u64::try_from(v).ok();
    }
    let mut i = 0;
    while i < b.len() && matches!(b[i], b' ' | b'\t' | b'\n' | 0x0b | 0x0c | b'\r') {
        i += 1;
    }
    let mut neg = false;
    if i < b.len() && (b[i] == b'+' || b[i] == b'-') {
        neg = b[i] == b'-';
        i += 1;
    }
    let digits = &b[i..];
    if digits.is_empty() || !digits.iter().all(u8::is_ascii_digit) {
        return None;
    }
    let mut v: u64 = 0;
    for d in digits {
        v = v.checked_mul(10)?.checked_add(u64::from(d - b'0'))?;
    }
    Some(if neg { v.wrapping_neg() } else { v })
}

/// Redis's streamGenericParseIDOrReply. Returns the ID and whether the sequence was given
/// (false only for `ms-*` when `allow_star_seq`).
fn parse_id_generic(
    arg: &[u8],
    missing_seq: u64,
    strict: bool,
    allow_star_seq: bool,
) -> Result<(StreamId, bool), Reply> {
    if arg.len() > 127 {
        return Err(invalid_id());
    }
    // Redis works on a C string: an embedded NUL ends it.
    let arg = errors::c_str(arg);
    if arg == b"-" {
        if strict {
            return Err(invalid_id());
        }
        return Ok((StreamId::MIN, true));
    }
    if arg == b"+" {
        if strict {
            return Err(invalid_id());
        }
        return Ok((StreamId::MAX, true));
    }
    let (ms_part, seq_part) = match arg.iter().position(|&c| c == b'-') {
        Some(i) => (&arg[..i], Some(&arg[i + 1..])),
        None => (arg, None),
    };
    let ms = string2ull(ms_part).ok_or_else(invalid_id)?;
    match seq_part {
        Some(b"*") if allow_star_seq => Ok((StreamId::new(ms, 0), false)),
        Some(s) => Ok((
            StreamId::new(ms, string2ull(s).ok_or_else(invalid_id)?),
            true,
        )),
        None => Ok((StreamId::new(ms, missing_seq), true)),
    }
}

/// A strict ID (no `-`/`+`), missing sequence 0.
pub(crate) fn parse_strict_id(arg: &[u8]) -> Result<StreamId, Reply> {
    parse_id_generic(arg, 0, true, false).map(|(id, _)| id)
}

/// An ID where `-` and `+` are allowed.
pub(crate) fn parse_id(arg: &[u8], missing_seq: u64) -> Result<StreamId, Reply> {
    parse_id_generic(arg, missing_seq, false, false).map(|(id, _)| id)
}

/// A range bound: `(` makes it exclusive (and strict).
pub(crate) fn parse_interval_id(arg: &[u8], missing_seq: u64) -> Result<(StreamId, bool), Reply> {
    if arg.len() > 1 && arg[0] == b'(' {
        parse_id_generic(&arg[1..], missing_seq, true, false).map(|(id, _)| (id, true))
    } else {
        parse_id(arg, missing_seq).map(|id| (id, false))
    }
}

// ------------------------------------------------------------------ replies

pub(crate) fn id_reply(id: StreamId) -> Reply {
    let mut buf = itoa::Buffer::new();
    let mut out = [0u8; 41];
    let ms = buf.format(id.ms).as_bytes();
    let mut n = ms.len();
    out[..n].copy_from_slice(ms);
    out[n] = b'-';
    n += 1;
    let seq = buf.format(id.seq).as_bytes();
    out[n..n + seq.len()].copy_from_slice(seq);
    n += seq.len();
    Reply::bulk_from_slice(&out[..n])
}

pub(crate) fn id_bytes(id: StreamId) -> Bytes {
    Bytes::from(id.to_bytes())
}

pub(crate) fn entry_reply(e: &EntryRef<'_>) -> Reply {
    let mut fields = Vec::with_capacity(e.num_fields() * 2);
    for (f, v) in e.fields() {
        fields.push(Reply::bulk_from_slice(f));
        fields.push(Reply::bulk_from_slice(v));
    }
    Reply::Array(vec![id_reply(e.id), Reply::Array(fields)])
}

pub(crate) fn entries_reply(es: &[EntryRef<'_>]) -> Reply {
    Reply::Array(es.iter().map(entry_reply).collect())
}

/// The stream at `key` for a write: WRONGTYPE for another type.
pub(crate) fn write_stream<'c>(
    ctx: &'c mut Ctx<'_, '_>,
    key: &[u8],
) -> Result<Option<&'c mut Stream>, Reply> {
    coll::write::<Stream>(ctx, key)
}

/// Signals clients blocked on `key` that it has new data (XADD, XGROUP CREATE ... MKSTREAM
/// style writes that waiters may care about).
pub(crate) fn signal_ready(ctx: &mut Ctx<'_, '_>, key: &[u8]) {
    let db = ctx.db;
    blocking::signal_if_waited(ctx, db, key);
}

// ------------------------------------------------------------------ XADD / XTRIM

#[derive(Default)]
struct AddTrimArgs {
    trim: Option<Trim>,
    approx: bool,
    /// Index of the MAXLEN/MINID threshold argument.
    trim_arg_idx: usize,
    limit: i64,
    nomkstream: bool,
    id: Option<(StreamId, bool)>,
    /// Index of the ID argument (XADD).
    idpos: usize,
}

fn parse_add_trim(ctx: &Ctx<'_, '_>, argv: &[Bytes], xadd: bool) -> Result<AddTrimArgs, Reply> {
    let _ = ctx;
    let mut a = AddTrimArgs::default();
    let mut limit_given = false;
    let argc = argv.len();
    let mut i = 2;
    while i < argc {
        let moreargs = argc - 1 - i;
        let opt = &argv[i][..];
        if xadd && opt == b"*" {
            break;
        } else if (eq_ic(opt, "maxlen") || eq_ic(opt, "minid")) && moreargs > 0 {
            let maxlen = eq_ic(opt, "maxlen");
            if a.trim.is_some() {
                return Err(Reply::err_static(
                    "ERR syntax error, MAXLEN and MINID options at the same time are not compatible",
                ));
            }
            a.approx = false;
            let next = &argv[i + 1][..];
            if moreargs >= 2 && next == b"~" {
                a.approx = true;
                i += 1;
            } else if moreargs >= 2 && next == b"=" {
                i += 1;
            }
            if maxlen {
                let n = i64_or_err(&argv[i + 1])?;
                if n < 0 {
                    return Err(Reply::err_static("ERR The MAXLEN argument must be >= 0."));
                }
                a.trim = Some(Trim::MaxLen(n as u64));
            } else {
                a.trim = Some(Trim::MinId(parse_strict_id(&argv[i + 1])?));
            }
            i += 1;
            a.trim_arg_idx = i;
        } else if eq_ic(opt, "limit") && moreargs > 0 {
            let n = i64_or_err(&argv[i + 1])?;
            if n < 0 {
                return Err(Reply::err_static("ERR The LIMIT argument must be >= 0."));
            }
            a.limit = n;
            limit_given = true;
            i += 1;
        } else if xadd && eq_ic(opt, "nomkstream") {
            a.nomkstream = true;
        } else if xadd {
            a.id = Some(parse_id_generic(opt, 0, true, true)?);
            break;
        } else {
            return Err(errors::syntax());
        }
        i += 1;
    }
    a.idpos = i;
    if a.limit != 0 && a.trim.is_none() {
        return Err(Reply::err_static(
            "ERR syntax error, LIMIT cannot be used without specifying a trimming strategy",
        ));
    }
    if !xadd && a.trim.is_none() {
        return Err(Reply::err_static(
            "ERR syntax error, XTRIM must be called with a trimming strategy",
        ));
    }
    if limit_given {
        if !a.approx {
            return Err(Reply::err_static(
                "ERR syntax error, LIMIT cannot be used without the special ~ option",
            ));
        }
    } else if a.approx {
        let per_node = limits(ctx).max_entries as i64;
        a.limit = per_node.saturating_mul(100);
        if a.limit <= 0 {
            a.limit = 10000;
        }
        if a.limit > 1_000_000 {
            a.limit = 1_000_000;
        }
    } else {
        a.limit = 0;
    }
    Ok(a)
}

/// The propagated form of `~` trimming: `=` and the resulting length or first ID.
fn rewrite_trim(out: &mut [Bytes], s: &Stream, a: &AddTrimArgs) {
    out[a.trim_arg_idx - 1] = Bytes::from_static(b"=");
    out[a.trim_arg_idx] = match a.trim {
        Some(Trim::MaxLen(_)) => Bytes::from(s.len().to_string()),
        _ => id_bytes(s.first_id),
    };
}

/// Largest total size of one entry's fields and values (Redis's `STREAM_LISTPACK_MAX_SIZE`).
const STREAM_ENTRY_MAX_BYTES: usize = 1 << 30;

fn xadd(ctx: &mut Ctx<'_, '_>, argv: &[Bytes]) -> Reply {
    let a = tri!(parse_add_trim(ctx, argv, true));
    let field_pos = a.idpos + 1;
    let nfields = argv.len().saturating_sub(field_pos);
    if argv.len() < field_pos || nfields < 2 || !nfields.is_multiple_of(2) {
        return errors::wrong_arity("xadd");
    }
    if let Some((id, true)) = a.id {
        if id.is_zero() {
            return Reply::err_static("ERR The ID specified in XADD must be greater than 0-0");
        }
    }
    let key = &argv[1];
    let exists = tri!(coll::check_type::<Stream>(ctx, key));
    if !exists {
        if a.nomkstream {
            return Reply::Null;
        }
        coll::get_or_create::<Stream>(ctx, key, |_| Stream::new()).ok();
    }
    let lim = limits(ctx);
    let now = u64::try_from(ctx.now_ms).unwrap_or(0);
    let mut rewritten: Option<Vec<Bytes>> = None;
    let (id, trimmed) = {
        let Some(s) = tri!(write_stream(ctx, key)) else {
            return Reply::err_static("ERR internal error: stream vanished");
        };
        if s.last_id == StreamId::MAX {
            return Reply::err_static(
                "ERR The stream has exhausted the last possible ID, unable to add more items",
            );
        }
        let too_small = || {
            Reply::err_static(
                "ERR The ID specified in XADD is equal or smaller than the target stream top item",
            )
        };
        let id = match a.id {
            None => match s.next_auto_id(now) {
                Some(id) => id,
                None => return too_small(),
            },
            Some((id, true)) => id,
            Some((id, false)) => {
                if id.ms == s.last_id.ms {
                    if s.last_id.seq == u64::MAX {
                        return too_small();
                    }
                    StreamId::new(id.ms, s.last_id.seq + 1)
                } else {
                    id
                }
            }
        };
        if id <= s.last_id {
            return too_small();
        }
        // Redis's STREAM_LISTPACK_MAX_SIZE: an entry whose fields and values add up to more
        // than 1GiB is refused (checked after the ID, as Redis does).
        let total: usize = argv[field_pos..].iter().map(|a| a.len()).sum();
        if total > STREAM_ENTRY_MAX_BYTES {
            return Reply::err_static("ERR Elements are too large to be stored");
        }
        let fields: Vec<(&[u8], &[u8])> = argv[field_pos..]
            .chunks_exact(2)
            .map(|p| (&p[0][..], &p[1][..]))
            .collect();
        if s.append(id, &fields, lim).is_err() {
            return too_small();
        }
        let mut trimmed = 0;
        if let Some(t) = a.trim {
            trimmed = s.trim(t, a.approx, a.limit as u64);
            if a.approx {
                let mut v = argv.to_vec();
                rewrite_trim(&mut v, s, &a);
                rewritten = Some(v);
            }
        }
        (id, trimmed)
    };
    ctx.signal_modified(key);
    ctx.notify(notify::STREAM, "xadd", key);
    ctx.dirty += 1;
    if a.trim.is_some() && trimmed > 0 {
        ctx.notify(notify::STREAM, "xtrim", key);
    }
    if !matches!(a.id, Some((_, true))) {
        let v = rewritten.get_or_insert_with(|| argv.to_vec());
        v[a.idpos] = id_bytes(id);
    }
    if let Some(v) = rewritten {
        ctx.rewrite(v);
    }
    signal_ready(ctx, key);
    id_reply(id)
}

fn xtrim(ctx: &mut Ctx<'_, '_>, argv: &[Bytes]) -> Reply {
    let a = tri!(parse_add_trim(ctx, argv, false));
    let key = &argv[1];
    let mut rewritten = None;
    let deleted = {
        let Some(s) = tri!(write_stream(ctx, key)) else {
            return Reply::Int(0);
        };
        let Some(t) = a.trim else {
            return Reply::Int(0);
        };
        let d = s.trim(t, a.approx, a.limit as u64);
        if d > 0 && a.approx {
            let mut v = argv.to_vec();
            rewrite_trim(&mut v, s, &a);
            rewritten = Some(v);
        }
        d
    };
    if deleted > 0 {
        ctx.notify(notify::STREAM, "xtrim", key);
        if let Some(v) = rewritten {
            ctx.rewrite(v);
        }
        ctx.signal_modified(key);
        ctx.dirty += deleted;
    }
    Reply::Int(deleted as i64)
}

// ------------------------------------------------------------------ reads

fn xlen(ctx: &mut Ctx<'_, '_>, argv: &[Bytes]) -> Reply {
    match tri!(coll::read::<Stream>(ctx, &argv[1])) {
        None => Reply::Int(0),
        Some(s) => Reply::Int(s.len() as i64),
    }
}

fn xrange(ctx: &mut Ctx<'_, '_>, argv: &[Bytes]) -> Reply {
    range_generic(ctx, argv, false)
}

fn xrevrange(ctx: &mut Ctx<'_, '_>, argv: &[Bytes]) -> Reply {
    range_generic(ctx, argv, true)
}

fn range_generic(ctx: &mut Ctx<'_, '_>, argv: &[Bytes], rev: bool) -> Reply {
    let (start_arg, end_arg) = if rev {
        (&argv[3], &argv[2])
    } else {
        (&argv[2], &argv[3])
    };
    let (mut start, start_ex) = tri!(parse_interval_id(start_arg, 0));
    if start_ex {
        match start.incr() {
            Some(s) => start = s,
            None => return Reply::err_static("ERR invalid start ID for the interval"),
        }
    }
    let (mut end, end_ex) = tri!(parse_interval_id(end_arg, u64::MAX));
    if end_ex {
        match end.decr() {
            Some(e) => end = e,
            None => return Reply::err_static("ERR invalid end ID for the interval"),
        }
    }
    let mut count: i64 = -1;
    let mut j = 4;
    while j < argv.len() {
        if eq_ic(&argv[j], "count") && j + 1 < argv.len() {
            count = tri!(i64_or_err(&argv[j + 1])).max(0);
            j += 2;
        } else {
            return errors::syntax();
        }
    }
    let Some(s) = tri!(coll::read::<Stream>(ctx, &argv[1])) else {
        return Reply::Array(vec![]);
    };
    if count == 0 {
        return Reply::NullArray;
    }
    let count = if count < 0 { 0 } else { count as usize };
    entries_reply(&s.range(start, end, rev, count))
}

fn xdel(ctx: &mut Ctx<'_, '_>, argv: &[Bytes]) -> Reply {
    let key = &argv[1];
    let deleted = {
        let Some(s) = tri!(write_stream(ctx, key)) else {
            return Reply::Int(0);
        };
        let mut ids = Vec::with_capacity(argv.len() - 2);
        for a in &argv[2..] {
            ids.push(tri!(parse_strict_id(a)));
        }
        ids.iter().filter(|id| s.delete(**id)).count()
    };
    if deleted > 0 {
        ctx.signal_modified(key);
        ctx.notify(notify::STREAM, "xdel", key);
        ctx.dirty += deleted as u64;
    }
    Reply::Int(deleted as i64)
}

fn xsetid(ctx: &mut Ctx<'_, '_>, argv: &[Bytes]) -> Reply {
    let id = tri!(parse_strict_id(&argv[2]));
    let mut entries_added: i64 = -1;
    let mut max_xdel = StreamId::MIN;
    let mut i = 3;
    while i < argv.len() {
        let more = argv.len() - 1 - i;
        if eq_ic(&argv[i], "entriesadded") && more > 0 {
            entries_added = tri!(i64_or_err(&argv[i + 1]));
            if entries_added < 0 {
                return Reply::err_static("ERR entries_added must be positive");
            }
            i += 2;
        } else if eq_ic(&argv[i], "maxdeletedid") && more > 0 {
            max_xdel = tri!(parse_strict_id(&argv[i + 1]));
            if id < max_xdel {
                return Reply::err_static(
                    "ERR The ID specified in XSETID is smaller than the provided max_deleted_entry_id",
                );
            }
            i += 2;
        } else {
            return errors::syntax();
        }
    }
    let key = &argv[1];
    {
        let Some(s) = tri!(write_stream(ctx, key)) else {
            return Reply::err_static(errors::NO_SUCH_KEY);
        };
        if !s.is_empty() {
            if id < s.last_valid_id() {
                return Reply::err_static(
                    "ERR The ID specified in XSETID is smaller than the target stream top item",
                );
            }
            if entries_added != -1 && s.len() > entries_added as u64 {
                return Reply::err_static(
                    "ERR The entries_added specified in XSETID is smaller than the target stream length",
                );
            }
        }
        s.last_id = id;
        if entries_added != -1 {
            s.entries_added = entries_added as u64;
        }
        if !max_xdel.is_zero() {
            s.max_deleted_entry_id = max_xdel;
        }
    }
    ctx.dirty += 1;
    ctx.notify(notify::STREAM, "xsetid", key);
    ctx.signal_modified(key);
    Reply::Ok
}

// ------------------------------------------------------------------ XREAD / XREADGROUP

/// Default COUNT of a blocked XREAD served later (Redis's XREAD_BLOCKED_DEFAULT_COUNT).
const XREAD_BLOCKED_DEFAULT_COUNT: usize = 1000;

fn xread(ctx: &mut Ctx<'_, '_>, argv: &[Bytes]) -> Reply {
    let xreadgroup = argv[0].len() == 10;
    let mut timeout: Option<i64> = None;
    let mut count: i64 = 0;
    let mut streams_arg = 0;
    let mut streams_count = 0;
    let mut noack = false;
    let mut group: Option<(&Bytes, &Bytes)> = None;
    let mut i = 1;
    while i < argv.len() {
        let more = argv.len() - i - 1;
        let o = &argv[i][..];
        if eq_ic(o, "block") && more > 0 {
            i += 1;
            timeout = Some(tri!(parse_ms_timeout(ctx, &argv[i])));
        } else if eq_ic(o, "count") && more > 0 {
            i += 1;
            count = tri!(i64_or_err(&argv[i])).max(0);
        } else if eq_ic(o, "streams") && more > 0 {
            streams_arg = i + 1;
            let n = argv.len() - streams_arg;
            if !n.is_multiple_of(2) {
                return Reply::err_static(
                    "ERR Unbalanced XREAD list of streams: for each stream key an ID or '$' must be specified.",
                );
            }
            streams_count = n / 2;
            break;
        } else if eq_ic(o, "group") && more >= 2 {
            if !xreadgroup {
                return Reply::err_static(
                    "ERR The GROUP option is only supported by XREADGROUP. You called XREAD instead.",
                );
            }
            group = Some((&argv[i + 1], &argv[i + 2]));
            i += 2;
        } else if eq_ic(o, "noack") {
            if !xreadgroup {
                return Reply::err_static(
                    "ERR The NOACK option is only supported by XREADGROUP. You called XREAD instead.",
                );
            }
            noack = true;
        } else {
            return errors::syntax();
        }
        i += 1;
    }
    if streams_arg == 0 {
        return errors::syntax();
    }
    if xreadgroup && group.is_none() {
        return Reply::err_static("ERR Missing GROUP option for XREADGROUP");
    }
    let keys = &argv[streams_arg..streams_arg + streams_count];
    let id_args = &argv[streams_arg + streams_count..];
    // Resolve IDs (`>` is MAX).
    let mut ids: Vec<StreamId> = Vec::with_capacity(streams_count);
    for (key, arg) in keys.iter().zip(id_args) {
        let no_block = ctx.no_block && !ctx.no_multi;
        let s = tri!(coll::read::<Stream>(ctx, key));
        if let Some((gname, _)) = group {
            if s.as_ref()
                .is_none_or(|s| !s.groups.contains_key(&gname[..]))
            {
                if no_block {
                    // Serving a blocked client whose group went away (XGROUP DESTROY).
                    return Reply::err_static(
                        "NOGROUP the consumer group this client was blocked on no longer exists",
                    );
                }
                return errors::error_with(
                    "NOGROUP No such key '",
                    key,
                    &format!(
                        "' or consumer group '{}' in XREADGROUP with GROUP option",
                        String::from_utf8_lossy(errors::c_str(gname))
                    ),
                );
            }
        }
        if &arg[..] == b"$" {
            if xreadgroup {
                return Reply::err_static(
                    "ERR The $ ID is meaningless in the context of XREADGROUP: you want to read the history of this consumer by specifying a proper ID, or use the > ID to get new messages. The $ ID would just return an empty result set.",
                );
            }
            ids.push(s.as_ref().map_or(StreamId::MIN, |s| s.last_id));
            continue;
        }
        if &arg[..] == b">" {
            if !xreadgroup {
                return Reply::err_static(
                    "ERR The > ID can be specified only when calling XREADGROUP using the GROUP <group> <consumer> option.",
                );
            }
            ids.push(StreamId::MAX);
            continue;
        }
        ids.push(tri!(parse_strict_id(arg)));
    }
    let mut out: Vec<(Reply, Reply)> = Vec::new();
    let count_u = count as usize;
    for (idx, key) in keys.iter().enumerate() {
        let reply = if let Some((gname, cname)) = group {
            groups::read_group(ctx, key, gname, cname, ids[idx], count_u, noack)
        } else {
            let Some(s) = tri!(coll::read::<Stream>(ctx, key)) else {
                continue;
            };
            let gt = ids[idx];
            if s.is_empty() || s.last_valid_id() <= gt {
                None
            } else {
                let start = gt.incr().unwrap_or(StreamId::MAX);
                Some(entries_reply(&s.range(
                    start,
                    StreamId::MAX,
                    false,
                    count_u,
                )))
            }
        };
        if let Some(r) = reply {
            out.push((Reply::bulk_from_slice(key), r));
        }
    }
    if xreadgroup {
        ctx.suppress_propagation();
    }
    if !out.is_empty() {
        return if ctx.resp >= 3 {
            Reply::Map(out)
        } else {
            Reply::Array(
                out.into_iter()
                    .map(|(k, v)| Reply::Array(vec![k, v]))
                    .collect(),
            )
        };
    }
    let Some(deadline) = timeout else {
        return Reply::NullArray;
    };
    blocking::block(
        ctx,
        BlockRequest {
            keys: keys.to_vec(),
            deadline_ms: deadline,
            wait_for: WaitFor::Stream,
            timeout_reply: Reply::NullArray,
        },
    )
}

/// Position of the first key after STREAMS (the command was parsed successfully before).
fn streams_pos(argv: &[Bytes]) -> Option<usize> {
    let mut i = 1;
    while i < argv.len() {
        let o = &argv[i][..];
        if eq_ic(o, "streams") {
            return Some(i + 1);
        } else if eq_ic(o, "group") {
            i += 3;
        } else if eq_ic(o, "block") || eq_ic(o, "count") {
            i += 2;
        } else {
            i += 1;
        }
    }
    None
}

/// The argv a blocked XREAD/XREADGROUP is registered with (called by the blocking registry
/// under the command's locks): every `$` replaced by the stream's last ID now, and a COUNT
/// (Redis's default for blocked reads) when none was given.
pub(crate) fn block_argv(ctx: &mut Ctx<'_, '_>, argv: &[Bytes]) -> Vec<Bytes> {
    let Some(sp) = streams_pos(argv) else {
        return argv.to_vec();
    };
    let n = (argv.len() - sp) / 2;
    let has_count = argv[1..sp].iter().any(|a| eq_ic(a, "count"));
    let mut out = Vec::with_capacity(argv.len() + 2);
    out.push(argv[0].clone());
    if !has_count {
        out.push(Bytes::from_static(b"COUNT"));
        out.push(Bytes::from(XREAD_BLOCKED_DEFAULT_COUNT.to_string()));
    }
    out.extend(argv[1..sp + n].iter().cloned());
    for i in 0..n {
        let arg = &argv[sp + n + i];
        if &arg[..] == b"$" {
            let last = match crate::kv::lookup_notouch(ctx, &argv[sp + i]) {
                Some(e) => match e.value() {
                    ferrodis_ds::value::Value::Stream(s) => s.last_id,
                    _ => StreamId::MIN,
                },
                None => StreamId::MIN,
            };
            out.push(id_bytes(last));
        } else {
            out.push(arg.clone());
        }
    }
    out
}

/// The argv that serves a blocked XREAD/XREADGROUP from `key` alone (Redis replies with the
/// ready stream only), without BLOCK.
pub(crate) fn serve_argv(argv: &[Bytes], key: &[u8]) -> Vec<Bytes> {
    let Some(sp) = streams_pos(argv) else {
        return argv.to_vec();
    };
    let n = (argv.len() - sp) / 2;
    let mut out = Vec::with_capacity(sp + 2);
    let mut i = 0;
    while i < sp {
        if i > 0 && eq_ic(&argv[i], "block") {
            i += 2;
            continue;
        }
        out.push(argv[i].clone());
        i += 1;
    }
    let idx = (0..n).find(|&j| &argv[sp + j][..] == key).unwrap_or(0);
    out.push(argv[sp + idx].clone());
    out.push(argv[sp + n + idx].clone());
    out
}

/// XREAD's BLOCK argument: milliseconds (Redis's getTimeoutFromObjectOrReply in ms units).
fn parse_ms_timeout(ctx: &Ctx<'_, '_>, arg: &[u8]) -> Result<i64, Reply> {
    let v = crate::args::parse_i64(arg)
        .ok_or_else(|| Reply::err_static("ERR timeout is not an integer or out of range"))?;
    if v < 0 {
        return Err(Reply::err_static("ERR timeout is negative"));
    }
    if v == 0 {
        return Ok(0);
    }
    Ok(ctx.now_ms.wrapping_add(v))
}
