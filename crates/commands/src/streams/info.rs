//! XINFO STREAM [FULL [COUNT n]], XINFO GROUPS, XINFO CONSUMERS.

use super::groups::sub_syntax;
use super::{entries_reply, entry_reply, id_reply, tri};
use crate::args::{eq_ic, i64_or_err};
use crate::coll;
use crate::ctx::Ctx;
use crate::errors;
use crate::reply::Reply;
use bytes::Bytes;
use ferrodis_ds::stream::{Group, Stream, StreamId, INVALID_ENTRIES_READ};

fn kv(k: &'static str, v: Reply) -> (Reply, Reply) {
    (Reply::bulk_static(k), v)
}

fn entries_read_reply(g: &Group) -> Reply {
    if g.entries_read != INVALID_ENTRIES_READ {
        Reply::Int(g.entries_read)
    } else {
        Reply::Null
    }
}

fn lag_reply(s: &Stream, g: &Group) -> Reply {
    s.group_lag(g).map_or(Reply::Null, Reply::Int)
}

pub(super) fn xinfo(ctx: &mut Ctx<'_, '_>, argv: &[Bytes]) -> Reply {
    if eq_ic(&argv[1], "help") {
        if argv.len() != 2 {
            return sub_syntax(argv, "XINFO");
        }
        return crate::keys::help_reply(&[
            "XINFO <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
            "CONSUMERS <key> <groupname>",
            "    Show consumers of <groupname>.",
            "GROUPS <key>",
            "    Show the stream consumer groups.",
            "STREAM <key> [FULL [COUNT <count>]",
            "    Show information about the stream.",
            "HELP",
            "    Print this help.",
        ]);
    }
    if argv.len() < 3 {
        return sub_syntax(argv, "XINFO");
    }
    let opt = &argv[1];
    let key = &argv[2];
    let now = ctx.now_ms;
    let Some(s) = tri!(coll::read::<Stream>(ctx, key)) else {
        return Reply::err_static(errors::NO_SUCH_KEY);
    };
    if eq_ic(opt, "consumers") && argv.len() == 4 {
        let Some(g) = s.groups.get(&argv[3][..]) else {
            return errors::error_bytes(
                format!(
                    "NOGROUP No such consumer group '{}' for key name '{}'",
                    String::from_utf8_lossy(errors::c_str(&argv[3])),
                    String::from_utf8_lossy(errors::c_str(key))
                )
                .into_bytes(),
            );
        };
        Reply::Array(
            g.consumers
                .iter()
                .map(|(n, c)| {
                    Reply::Map(vec![
                        kv("name", Reply::bulk_from_slice(n)),
                        kv("pending", Reply::Int(c.pel.len() as i64)),
                        kv("idle", Reply::Int((now - c.seen_time).max(0))),
                    ])
                })
                .collect(),
        )
    } else if eq_ic(opt, "groups") && argv.len() == 3 {
        Reply::Array(
            s.groups
                .iter()
                .map(|(n, g)| {
                    Reply::Map(vec![
                        kv("name", Reply::bulk_from_slice(n)),
                        kv("consumers", Reply::Int(g.consumers.len() as i64)),
                        kv("pending", Reply::Int(g.pel.len() as i64)),
                        kv("last-delivered-id", id_reply(g.last_id)),
                        kv("entries-read", entries_read_reply(g)),
                        kv("lag", lag_reply(s, g)),
                    ])
                })
                .collect(),
        )
    } else if eq_ic(opt, "stream") {
        stream_info(s, argv)
    } else {
        sub_syntax(argv, "XINFO")
    }
}

fn stream_info(s: &Stream, argv: &[Bytes]) -> Reply {
    let opts = &argv[3..];
    let mut full = true;
    let mut count: i64 = 10;
    if opts.is_empty() {
        full = false;
    } else {
        if opts.len() != 1 && opts.len() != 3 {
            return sub_syntax(argv, "XINFO");
        }
        if !eq_ic(&opts[0], "full") {
            return sub_syntax(argv, "XINFO");
        }
        if opts.len() == 3 {
            if !eq_ic(&opts[1], "count") {
                return sub_syntax(argv, "XINFO");
            }
            count = tri!(i64_or_err(&opts[2]));
            if count < 0 {
                count = 10;
            }
        }
    }
    let nodes = s.node_count() as i64;
    let mut m = vec![
        kv("length", Reply::Int(s.len() as i64)),
        kv("radix-tree-keys", Reply::Int(nodes)),
        // Redis counts its radix tree's internal nodes; ours is a B-tree, so this is an
        // estimate of the same order.
        kv("radix-tree-nodes", Reply::Int(nodes + 1)),
        kv("last-generated-id", id_reply(s.last_id)),
        kv("max-deleted-entry-id", id_reply(s.max_deleted_entry_id)),
        kv("entries-added", Reply::Int(s.entries_added as i64)),
        kv("recorded-first-entry-id", id_reply(s.first_id)),
    ];
    let cap = |n: usize| -> usize {
        if count == 0 {
            n
        } else {
            n.min(count as usize)
        }
    };
    if !full {
        m.push(kv("groups", Reply::Int(s.groups.len() as i64)));
        let first = s.range(StreamId::MIN, StreamId::MAX, false, 1);
        m.push(kv(
            "first-entry",
            first.first().map_or(Reply::Null, entry_reply),
        ));
        let last = s.range(StreamId::MIN, StreamId::MAX, true, 1);
        m.push(kv(
            "last-entry",
            last.first().map_or(Reply::Null, entry_reply),
        ));
        return Reply::Map(m);
    }
    m.push(kv(
        "entries",
        entries_reply(&s.range(StreamId::MIN, StreamId::MAX, false, count as usize)),
    ));
    let groups: Vec<Reply> = s
        .groups
        .iter()
        .map(|(n, g)| {
            let pel: Vec<Reply> = g
                .pel
                .iter()
                .take(cap(g.pel.len()))
                .map(|(id, nack)| {
                    Reply::Array(vec![
                        id_reply(*id),
                        Reply::bulk_from_slice(&nack.consumer),
                        Reply::Int(nack.delivery_time),
                        Reply::Int(nack.delivery_count as i64),
                    ])
                })
                .collect();
            let consumers: Vec<Reply> = g
                .consumers
                .iter()
                .map(|(cn, c)| {
                    let cpel: Vec<Reply> = c
                        .pel
                        .iter()
                        .take(cap(c.pel.len()))
                        .map(|id| {
                            let (t, dc) = g
                                .pel
                                .get(id)
                                .map_or((0, 0), |x| (x.delivery_time, x.delivery_count));
                            Reply::Array(vec![id_reply(*id), Reply::Int(t), Reply::Int(dc as i64)])
                        })
                        .collect();
                    Reply::Map(vec![
                        kv("name", Reply::bulk_from_slice(cn)),
                        kv("seen-time", Reply::Int(c.seen_time)),
                        kv("pel-count", Reply::Int(c.pel.len() as i64)),
                        kv("pending", Reply::Array(cpel)),
                    ])
                })
                .collect();
            Reply::Map(vec![
                kv("name", Reply::bulk_from_slice(n)),
                kv("last-delivered-id", id_reply(g.last_id)),
                kv("entries-read", entries_read_reply(g)),
                kv("lag", lag_reply(s, g)),
                kv("pel-count", Reply::Int(g.pel.len() as i64)),
                kv("pending", Reply::Array(pel)),
                kv("consumers", Reply::Array(consumers)),
            ])
        })
        .collect();
    m.push(kv("groups", Reply::Array(groups)));
    Reply::Map(m)
}
