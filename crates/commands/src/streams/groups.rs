//! Consumer groups: XGROUP, XREADGROUP's serving part, XACK, XPENDING, XCLAIM, XAUTOCLAIM.

use super::{
    entry_reply, id_bytes, id_reply, parse_id, parse_interval_id, parse_strict_id, tri,
    write_stream,
};
use crate::args::{eq_ic, parse_i64};
use crate::coll;
use crate::ctx::Ctx;
use crate::engine::notify;
use crate::errors;
use crate::reply::Reply;
use bytes::Bytes;
use ferrodis_ds::stream::{Group, Nack, Stream, StreamId, INVALID_ENTRIES_READ};

fn lossy(b: &[u8]) -> String {
    String::from_utf8_lossy(errors::c_str(b)).into_owned()
}

fn nogroup_key_group(key: &[u8], group: &[u8]) -> Reply {
    errors::error_bytes(
        format!(
            "NOGROUP No such key '{}' or consumer group '{}'",
            lossy(key),
            lossy(group)
        )
        .into_bytes(),
    )
}

pub(super) fn sub_syntax(argv: &[Bytes], cmd: &str) -> Reply {
    let sub = errors::c_str(&argv[1]);
    let sub = &sub[..sub.len().min(128)];
    errors::error_bytes(
        format!(
            "ERR unknown subcommand or wrong number of arguments for '{}'. Try {} HELP.",
            String::from_utf8_lossy(sub),
            cmd
        )
        .into_bytes(),
    )
}

/// The XCLAIM a replica runs to reproduce one PEL change (Redis's streamPropagateXCLAIM).
fn xclaim_argv(key: &[u8], group: &[u8], g: &Group, id: StreamId, nack: &Nack) -> Vec<Bytes> {
    vec![
        Bytes::from_static(b"XCLAIM"),
        Bytes::copy_from_slice(key),
        Bytes::copy_from_slice(group),
        Bytes::copy_from_slice(&nack.consumer),
        Bytes::from_static(b"0"),
        id_bytes(id),
        Bytes::from_static(b"TIME"),
        Bytes::from(nack.delivery_time.to_string()),
        Bytes::from_static(b"RETRYCOUNT"),
        Bytes::from(nack.delivery_count.to_string()),
        Bytes::from_static(b"FORCE"),
        Bytes::from_static(b"JUSTID"),
        Bytes::from_static(b"LASTID"),
        id_bytes(g.last_id),
    ]
}

fn setid_argv(key: &[u8], group: &[u8], g: &Group) -> Vec<Bytes> {
    vec![
        Bytes::from_static(b"XGROUP"),
        Bytes::from_static(b"SETID"),
        Bytes::copy_from_slice(key),
        Bytes::copy_from_slice(group),
        id_bytes(g.last_id),
        Bytes::from_static(b"ENTRIESREAD"),
        Bytes::from(g.entries_read.to_string()),
    ]
}

/// Looks up (refreshing its seen time) or creates a consumer; true when created.
fn touch_consumer(g: &mut Group, name: &[u8], now: i64) -> bool {
    match g.consumers.get_mut(name) {
        Some(c) => {
            c.seen_time = now;
            false
        }
        None => {
            g.consumers.insert(
                name.to_vec(),
                ferrodis_ds::stream::Consumer {
                    seen_time: now,
                    pel: Default::default(),
                },
            );
            true
        }
    }
}

/// Records a created consumer: dirty and the `xgroup-createconsumer` event.
fn consumer_created(ctx: &mut Ctx<'_, '_>, key: &[u8]) {
    ctx.dirty += 1;
    ctx.notify(notify::STREAM, "xgroup-createconsumer", key);
}

/// Removes the pending entry `id` from the group and its consumer.
fn remove_nack(g: &mut Group, id: StreamId) -> Option<Nack> {
    let nack = g.pel.remove(&id)?;
    if let Some(c) = g.consumers.get_mut(&nack.consumer) {
        c.pel.remove(&id);
    }
    Some(nack)
}

/// XREADGROUP for one stream: the entries reply, or `None` when nothing can be served now
/// (only for `>`). The caller checked that the key and the group exist.
#[allow(clippy::too_many_arguments)]
pub(super) fn read_group(
    ctx: &mut Ctx<'_, '_>,
    key: &Bytes,
    gname: &[u8],
    cname: &[u8],
    id: StreamId,
    count: usize,
    noack: bool,
) -> Option<Reply> {
    let now = ctx.now_ms;
    let db = ctx.db;
    let mut also: Vec<Vec<Bytes>> = Vec::new();
    let created;
    let reply = {
        let s = coll::read::<Stream>(ctx, key).ok()??;
        let mut g = s.groups.remove(gname)?;
        let history = id != StreamId::MAX;
        let gt = if history {
            id
        } else if !s.is_empty() && s.last_valid_id() > g.last_id {
            g.last_id
        } else {
            s.groups.insert(gname.to_vec(), g);
            return None;
        };
        let start = gt.incr().unwrap_or(StreamId::MAX);
        created = touch_consumer(&mut g, cname, now);
        if created && noack {
            also.push(vec![
                Bytes::from_static(b"XGROUP"),
                Bytes::from_static(b"CREATECONSUMER"),
                key.clone(),
                Bytes::copy_from_slice(gname),
                Bytes::copy_from_slice(cname),
            ]);
        }
        let mut items = Vec::new();
        if history {
            let ids: Vec<StreamId> = g
                .consumers
                .get(cname)
                .map(|c| {
                    c.pel
                        .range(start..)
                        .take(if count == 0 { usize::MAX } else { count })
                        .copied()
                        .collect()
                })
                .unwrap_or_default();
            for pid in ids {
                match s.get(pid) {
                    Some(e) => {
                        items.push(entry_reply(&e));
                        if let Some(n) = g.pel.get_mut(&pid) {
                            n.delivery_time = now;
                            n.delivery_count += 1;
                        }
                    }
                    None => items.push(Reply::Array(vec![id_reply(pid), Reply::NullArray])),
                }
            }
        } else {
            let entries = s.range(start, StreamId::MAX, false, count);
            let mut propagate_last_id = false;
            for e in &entries {
                if e.id > g.last_id {
                    if g.entries_read != INVALID_ENTRIES_READ
                        && !s.range_has_tombstones(Some(e.id), None)
                    {
                        g.entries_read += 1;
                    } else if s.entries_added > 0 {
                        g.entries_read = s.estimate_distance(e.id);
                    }
                    g.last_id = e.id;
                    if noack {
                        propagate_last_id = true;
                    }
                }
                items.push(entry_reply(e));
                if !noack {
                    if let Some(old) = g.pel.get(&e.id).map(|n| n.consumer.clone()) {
                        if let Some(c) = g.consumers.get_mut(&old) {
                            c.pel.remove(&e.id);
                        }
                    }
                    let nack = Nack {
                        delivery_time: now,
                        delivery_count: 1,
                        consumer: cname.to_vec(),
                    };
                    also.push(xclaim_argv(key, gname, &g, e.id, &nack));
                    g.pel.insert(e.id, nack);
                    if let Some(c) = g.consumers.get_mut(cname) {
                        c.pel.insert(e.id);
                    }
                }
            }
            if propagate_last_id {
                also.push(setid_argv(key, gname, &g));
            }
        }
        s.groups.insert(gname.to_vec(), g);
        Reply::Array(items)
    };
    if created {
        consumer_created(ctx, key);
    }
    for a in also {
        ctx.also_propagate(db, a);
    }
    ctx.dirty += 1;
    Some(reply)
}

// ------------------------------------------------------------------ XGROUP

pub(super) fn xgroup(ctx: &mut Ctx<'_, '_>, argv: &[Bytes]) -> Reply {
    let opt = &argv[1];
    let mut mkstream = false;
    let mut entries_read = INVALID_ENTRIES_READ;
    let mut exists = false;
    if argv.len() >= 4 {
        let create = eq_ic(opt, "create");
        let setid = eq_ic(opt, "setid");
        let mut i = 5;
        while i < argv.len() {
            if create && eq_ic(&argv[i], "mkstream") {
                mkstream = true;
                i += 1;
            } else if (create || setid) && eq_ic(&argv[i], "entriesread") && i + 1 < argv.len() {
                entries_read = tri!(crate::args::i64_or_err(&argv[i + 1]));
                if entries_read < 0 && entries_read != INVALID_ENTRIES_READ {
                    return Reply::err_static("ERR value for ENTRIESREAD must be positive or -1");
                }
                i += 2;
            } else {
                return sub_syntax(argv, "XGROUP");
            }
        }
        exists = tri!(coll::check_type::<Stream>(ctx, &argv[2]));
        // lookupKeyWrite semantics (expire on access).
        if exists {
            let _ = write_stream(ctx, &argv[2]);
        }
    }
    let key = argv.get(2).cloned().unwrap_or_default();
    let gname = argv.get(3).cloned().unwrap_or_default();
    let mut has_group = false;
    if argv.len() >= 4 && !mkstream {
        if !exists {
            return Reply::err_static(
                "ERR The XGROUP subcommand requires the key to exist. Note that for CREATE you may want to use the MKSTREAM option to create an empty stream automatically.",
            );
        }
        has_group =
            tri!(write_stream(ctx, &key)).is_some_and(|s| s.groups.contains_key(&gname[..]));
        if !has_group
            && (eq_ic(opt, "setid") || eq_ic(opt, "createconsumer") || eq_ic(opt, "delconsumer"))
        {
            return errors::error_bytes(
                format!(
                    "NOGROUP No such consumer group '{}' for key name '{}'",
                    lossy(&gname),
                    lossy(&key)
                )
                .into_bytes(),
            );
        }
    }
    let argc = argv.len();
    if argc == 2 && eq_ic(opt, "help") {
        return crate::keys::help_reply(&[
            "XGROUP <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
            "CREATE <key> <groupname> <id|$> [option]",
            "    Create a new consumer group. Options are:",
            "    * MKSTREAM",
            "      Create the empty stream if it does not exist.",
            "    * ENTRIESREAD entries_read",
            "      Set the group's entries_read counter (internal use).",
            "CREATECONSUMER <key> <groupname> <consumer>",
            "    Create a new consumer in the specified group.",
            "DELCONSUMER <key> <groupname> <consumer>",
            "    Remove the specified consumer.",
            "DESTROY <key> <groupname>",
            "    Remove the specified group.",
            "SETID <key> <groupname> <id|$> [ENTRIESREAD entries_read]",
            "    Set the current group ID and entries_read counter.",
            "HELP",
            "    Print this help.",
        ]);
    }
    let now = ctx.now_ms;
    if eq_ic(opt, "create") && (5..=8).contains(&argc) {
        let id = if &argv[4][..] == b"$" {
            match tri!(write_stream(ctx, &key)) {
                Some(s) => s.last_id,
                None => StreamId::MIN,
            }
        } else {
            tri!(parse_strict_id(&argv[4]))
        };
        if !exists {
            coll::get_or_create::<Stream>(ctx, &key, |_| Stream::new()).ok();
        }
        let made = match tri!(write_stream(ctx, &key)) {
            Some(s) if !s.groups.contains_key(&gname[..]) => {
                s.groups.insert(
                    gname.to_vec(),
                    Group {
                        last_id: id,
                        entries_read,
                        ..Group::default()
                    },
                );
                true
            }
            _ => false,
        };
        if made {
            ctx.dirty += 1;
            ctx.notify(notify::STREAM, "xgroup-create", &key);
            Reply::Ok
        } else {
            Reply::err_static("BUSYGROUP Consumer Group name already exists")
        }
    } else if eq_ic(opt, "setid") && (argc == 5 || argc == 7) {
        {
            let Some(s) = tri!(write_stream(ctx, &key)) else {
                return Reply::err_static("ERR no such key");
            };
            let id = if &argv[4][..] == b"$" {
                s.last_id
            } else {
                tri!(parse_id(&argv[4], 0))
            };
            let Some(g) = s.groups.get_mut(&gname[..]) else {
                return Reply::Int(0);
            };
            g.last_id = id;
            g.entries_read = entries_read;
        }
        ctx.dirty += 1;
        ctx.notify(notify::STREAM, "xgroup-setid", &key);
        Reply::Ok
    } else if eq_ic(opt, "destroy") && argc == 4 {
        if !has_group {
            return Reply::Int(0);
        }
        if let Some(s) = tri!(write_stream(ctx, &key)) {
            s.groups.remove(&gname[..]);
        }
        ctx.dirty += 1;
        ctx.notify(notify::STREAM, "xgroup-destroy", &key);
        super::signal_ready(ctx, &key);
        Reply::Int(1)
    } else if eq_ic(opt, "createconsumer") && argc == 5 {
        let created = match tri!(write_stream(ctx, &key)) {
            Some(s) => match s.groups.get_mut(&gname[..]) {
                Some(g) if !g.consumers.contains_key(&argv[4][..]) => {
                    touch_consumer(g, &argv[4], now);
                    true
                }
                _ => false,
            },
            None => false,
        };
        if created {
            consumer_created(ctx, &key);
        }
        Reply::Int(i64::from(created))
    } else if eq_ic(opt, "delconsumer") && argc == 5 {
        let pending = match tri!(write_stream(ctx, &key)) {
            Some(s) => match s.groups.get_mut(&gname[..]) {
                Some(g) => match g.consumers.remove(&argv[4][..]) {
                    Some(c) => {
                        for id in &c.pel {
                            g.pel.remove(id);
                        }
                        Some(c.pel.len())
                    }
                    None => None,
                },
                None => None,
            },
            None => None,
        };
        if let Some(n) = pending {
            ctx.dirty += 1;
            ctx.notify(notify::STREAM, "xgroup-delconsumer", &key);
            Reply::Int(n as i64)
        } else {
            Reply::Int(0)
        }
    } else {
        sub_syntax(argv, "XGROUP")
    }
}

// ------------------------------------------------------------------ XACK / XPENDING

pub(super) fn xack(ctx: &mut Ctx<'_, '_>, argv: &[Bytes]) -> Reply {
    let acked = {
        let Some(s) = tri!(coll::read::<Stream>(ctx, &argv[1])) else {
            return Reply::Int(0);
        };
        let Some(g) = s.groups.get_mut(&argv[2][..]) else {
            return Reply::Int(0);
        };
        let mut ids = Vec::with_capacity(argv.len() - 3);
        for a in &argv[3..] {
            ids.push(tri!(parse_strict_id(a)));
        }
        ids.iter()
            .filter(|id| remove_nack(g, **id).is_some())
            .count()
    };
    ctx.dirty += acked as u64;
    Reply::Int(acked as i64)
}

pub(super) fn xpending(ctx: &mut Ctx<'_, '_>, argv: &[Bytes]) -> Reply {
    let argc = argv.len();
    let justinfo = argc == 3;
    if argc != 3 && !(6..=9).contains(&argc) {
        return errors::syntax();
    }
    let mut start = StreamId::MIN;
    let mut end = StreamId::MAX;
    let mut count: i64 = 0;
    let mut minidle: i64 = 0;
    let mut consumer: Option<&Bytes> = None;
    if argc >= 6 {
        let mut sidx = 3;
        if eq_ic(&argv[3], "idle") {
            minidle = tri!(crate::args::i64_or_err(&argv[4]));
            if argc < 8 {
                return errors::syntax();
            }
            sidx += 2;
        }
        count = tri!(crate::args::i64_or_err(&argv[sidx + 2])).max(0);
        let (s0, sx) = tri!(parse_interval_id(&argv[sidx], 0));
        start = s0;
        if sx {
            match start.incr() {
                Some(x) => start = x,
                None => return Reply::err_static("ERR invalid start ID for the interval"),
            }
        }
        let (e0, ex) = tri!(parse_interval_id(&argv[sidx + 1], u64::MAX));
        end = e0;
        if ex {
            match end.decr() {
                Some(x) => end = x,
                None => return Reply::err_static("ERR invalid end ID for the interval"),
            }
        }
        consumer = argv.get(sidx + 3);
    }
    let now = ctx.now_ms;
    let s = match coll::read::<Stream>(ctx, &argv[1]) {
        Err(e) => return e,
        Ok(s) => s,
    };
    let Some(g) = s.and_then(|s| s.groups.get(&argv[2][..])) else {
        return nogroup_key_group(&argv[1], &argv[2]);
    };
    if justinfo {
        if g.pel.is_empty() {
            return Reply::Array(vec![
                Reply::Int(0),
                Reply::Null,
                Reply::Null,
                Reply::NullArray,
            ]);
        }
        let first = g.pel.keys().next().copied().unwrap_or_default();
        let last = g.pel.keys().next_back().copied().unwrap_or_default();
        let consumers: Vec<Reply> = g
            .consumers
            .iter()
            .filter(|(_, c)| !c.pel.is_empty())
            .map(|(n, c)| {
                Reply::Array(vec![
                    Reply::bulk_from_slice(n),
                    Reply::bulk(c.pel.len().to_string()),
                ])
            })
            .collect();
        return Reply::Array(vec![
            Reply::Int(g.pel.len() as i64),
            id_reply(first),
            id_reply(last),
            Reply::Array(consumers),
        ]);
    }
    let ids: Box<dyn Iterator<Item = StreamId> + '_> = match consumer {
        Some(cn) => match g.consumers.get(&cn[..]) {
            None => return Reply::Array(vec![]),
            Some(c) => Box::new(c.pel.range(start..).copied()),
        },
        None => Box::new(g.pel.range(start..).map(|(k, _)| *k)),
    };
    let mut out = Vec::new();
    if start > end {
        return Reply::Array(out);
    }
    for id in ids {
        if count == 0 || id > end {
            break;
        }
        let Some(n) = g.pel.get(&id) else { continue };
        if minidle != 0 && now - n.delivery_time < minidle {
            continue;
        }
        count -= 1;
        out.push(Reply::Array(vec![
            id_reply(id),
            Reply::bulk_from_slice(&n.consumer),
            Reply::Int((now - n.delivery_time).max(0)),
            Reply::Int(n.delivery_count as i64),
        ]));
    }
    Reply::Array(out)
}

// ------------------------------------------------------------------ XCLAIM / XAUTOCLAIM

/// getLongLongFromObjectOrReply with a custom message.
fn ll_or(b: &[u8], msg: &'static str) -> Result<i64, Reply> {
    parse_i64(b).ok_or_else(|| Reply::err_static(msg))
}

/// Moves (or gives) the pending entry `id` to consumer `name`.
fn assign(g: &mut Group, id: StreamId, name: &[u8]) {
    let Some(n) = g.pel.get_mut(&id) else { return };
    if n.consumer != name {
        let old = std::mem::replace(&mut n.consumer, name.to_vec());
        if let Some(c) = g.consumers.get_mut(&old) {
            c.pel.remove(&id);
        }
    }
    if let Some(c) = g.consumers.get_mut(name) {
        c.pel.insert(id);
    }
}

pub(super) fn xclaim(ctx: &mut Ctx<'_, '_>, argv: &[Bytes]) -> Reply {
    let key = &argv[1];
    let gname = &argv[2];
    let name = &argv[3];
    let db = ctx.db;
    let now = ctx.now_ms;
    let mut also: Vec<Vec<Bytes>> = Vec::new();
    let mut dirty = 0u64;
    let mut created = false;
    let reply = {
        let s = tri!(coll::read::<Stream>(ctx, key));
        let Some(s) = s.filter(|s| s.groups.contains_key(&gname[..])) else {
            return nogroup_key_group(key, gname);
        };
        let minidle = tri!(ll_or(
            &argv[4],
            "ERR Invalid min-idle-time argument for XCLAIM"
        ))
        .max(0);
        let mut ids = Vec::new();
        let mut j = 5;
        while j < argv.len() {
            match parse_strict_id(&argv[j]) {
                Ok(id) => ids.push(id),
                Err(_) => break,
            }
            j += 1;
        }
        let mut force = false;
        let mut justid = false;
        let mut deliverytime: i64 = -1;
        let mut retrycount: i64 = -1;
        let mut last_id = StreamId::MIN;
        while j < argv.len() {
            let more = argv.len() - 1 - j;
            let opt = &argv[j];
            if eq_ic(opt, "force") {
                force = true;
            } else if eq_ic(opt, "justid") {
                justid = true;
            } else if eq_ic(opt, "idle") && more > 0 {
                j += 1;
                let v = tri!(ll_or(
                    &argv[j],
                    "ERR Invalid IDLE option argument for XCLAIM"
                ));
                deliverytime = now.wrapping_sub(v);
            } else if eq_ic(opt, "time") && more > 0 {
                j += 1;
                deliverytime = tri!(ll_or(
                    &argv[j],
                    "ERR Invalid TIME option argument for XCLAIM"
                ));
            } else if eq_ic(opt, "retrycount") && more > 0 {
                j += 1;
                retrycount = tri!(ll_or(
                    &argv[j],
                    "ERR Invalid RETRYCOUNT option argument for XCLAIM"
                ));
            } else if eq_ic(opt, "lastid") && more > 0 {
                j += 1;
                last_id = tri!(parse_strict_id(&argv[j]));
            } else {
                return errors::error_with("ERR Unrecognized XCLAIM option '", opt, "'");
            }
            j += 1;
        }
        let Some(mut g) = s.groups.remove(&gname[..]) else {
            return nogroup_key_group(key, gname);
        };
        let mut propagate_last_id = false;
        if last_id > g.last_id {
            g.last_id = last_id;
            propagate_last_id = true;
        }
        if deliverytime == -1 || deliverytime < 0 || deliverytime > now {
            deliverytime = now;
        }
        let mut have_consumer = false;
        let mut out = Vec::new();
        for id in ids.iter().copied() {
            let exists = s.get(id).is_some();
            if !exists {
                if let Some(n) = g.pel.get(&id).cloned() {
                    also.push(xclaim_argv(key, gname, &g, id, &n));
                    propagate_last_id = false;
                    dirty += 1;
                    remove_nack(&mut g, id);
                }
                continue;
            }
            let mut fresh = false;
            if force && !g.pel.contains_key(&id) {
                g.pel.insert(
                    id,
                    Nack {
                        delivery_time: now,
                        delivery_count: 0,
                        consumer: Vec::new(),
                    },
                );
                fresh = true;
            }
            let Some(n) = g.pel.get(&id) else { continue };
            if !fresh && minidle > 0 && now - n.delivery_time < minidle {
                continue;
            }
            if !have_consumer {
                created |= touch_consumer(&mut g, name, now);
                have_consumer = true;
            }
            assign(&mut g, id, name);
            if let Some(n) = g.pel.get_mut(&id) {
                n.delivery_time = deliverytime;
                if retrycount >= 0 {
                    n.delivery_count = retrycount as u64;
                } else if !justid {
                    n.delivery_count += 1;
                }
            }
            if justid {
                out.push(id_reply(id));
            } else if let Some(e) = s.get(id) {
                out.push(entry_reply(&e));
            }
            if let Some(n) = g.pel.get(&id) {
                also.push(xclaim_argv(key, gname, &g, id, n));
            }
            propagate_last_id = false;
            dirty += 1;
        }
        if propagate_last_id {
            also.push(setid_argv(key, gname, &g));
            dirty += 1;
        }
        s.groups.insert(gname.to_vec(), g);
        Reply::Array(out)
    };
    if created {
        consumer_created(ctx, key);
    }
    for a in also {
        ctx.also_propagate(db, a);
    }
    ctx.dirty += dirty;
    ctx.suppress_propagation();
    reply
}

pub(super) fn xautoclaim(ctx: &mut Ctx<'_, '_>, argv: &[Bytes]) -> Reply {
    let key = &argv[1];
    let gname = &argv[2];
    let name = &argv[3];
    let db = ctx.db;
    let now = ctx.now_ms;
    let minidle = tri!(ll_or(
        &argv[4],
        "ERR Invalid min-idle-time argument for XAUTOCLAIM"
    ))
    .max(0);
    let (mut start, sx) = tri!(parse_interval_id(&argv[5], 0));
    if sx {
        match start.incr() {
            Some(x) => start = x,
            None => return Reply::err_static("ERR invalid start ID for the interval"),
        }
    }
    let mut count: i64 = 100;
    let mut justid = false;
    let mut j = 6;
    while j < argv.len() {
        let more = argv.len() - 1 - j;
        if eq_ic(&argv[j], "count") && more > 0 {
            let max = i64::MAX / 16;
            count = match parse_i64(&argv[j + 1]) {
                Some(v) if (1..=max).contains(&v) => v,
                _ => return Reply::err_static("ERR COUNT must be > 0"),
            };
            j += 1;
        } else if eq_ic(&argv[j], "justid") {
            justid = true;
        } else {
            return errors::syntax();
        }
        j += 1;
    }
    let mut also: Vec<Vec<Bytes>> = Vec::new();
    let mut dirty = 0u64;
    let mut created = false;
    let reply = {
        let s = tri!(coll::read::<Stream>(ctx, key));
        let Some(s) = s.filter(|s| s.groups.contains_key(&gname[..])) else {
            return nogroup_key_group(key, gname);
        };
        let Some(mut g) = s.groups.remove(&gname[..]) else {
            return nogroup_key_group(key, gname);
        };
        let mut attempts = count.saturating_mul(10);
        let pending: Vec<StreamId> = g.pel.range(start..).map(|(k, _)| *k).collect();
        let mut pos = 0;
        let mut out = Vec::new();
        let mut deleted = Vec::new();
        let mut have_consumer = false;
        while attempts > 0 && count > 0 && pos < pending.len() {
            attempts -= 1;
            let id = pending[pos];
            pos += 1;
            if s.get(id).is_none() {
                if let Some(n) = g.pel.get(&id).cloned() {
                    also.push(xclaim_argv(key, gname, &g, id, &n));
                }
                dirty += 1;
                remove_nack(&mut g, id);
                deleted.push(id_reply(id));
                count -= 1;
                continue;
            }
            let Some(n) = g.pel.get(&id) else { continue };
            if minidle > 0 && now - n.delivery_time < minidle {
                continue;
            }
            if !have_consumer {
                created |= touch_consumer(&mut g, name, now);
                have_consumer = true;
            }
            assign(&mut g, id, name);
            if let Some(n) = g.pel.get_mut(&id) {
                n.delivery_time = now;
                if !justid {
                    n.delivery_count += 1;
                }
            }
            if justid {
                out.push(id_reply(id));
            } else if let Some(e) = s.get(id) {
                out.push(entry_reply(&e));
            }
            count -= 1;
            if let Some(n) = g.pel.get(&id) {
                also.push(xclaim_argv(key, gname, &g, id, n));
            }
            dirty += 1;
        }
        // The cursor: the next pending entry after the last one examined.
        let next = pending.get(pos).copied().unwrap_or(StreamId::MIN);
        s.groups.insert(gname.to_vec(), g);
        Reply::Array(vec![
            id_reply(next),
            Reply::Array(out),
            Reply::Array(deleted),
        ])
    };
    if created {
        consumer_created(ctx, key);
    }
    for a in also {
        ctx.also_propagate(db, a);
    }
    ctx.dirty += dirty;
    ctx.suppress_propagation();
    reply
}
