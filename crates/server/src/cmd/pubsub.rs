//! Pub/Sub commands: (P|S)SUBSCRIBE, (P|S)UNSUBSCRIBE, PUBLISH, SPUBLISH, PUBSUB.
//! The registry and delivery live in `crate::pubsub`; confirmations are queued on
//! the client's own message queue (so they bypass CLIENT REPLY OFF/SKIP, as Redis's
//! CLIENT_PUSHING replies do, and keep their order with incoming messages).

use crate::dispatch::Client;
use crate::pubsub::Kind;
use crate::state::Shared;
use bytes::Bytes;
use ferrodis_commands::keys::help_reply;
use ferrodis_commands::Reply;

/// SUBSCRIBE / PSUBSCRIBE / SSUBSCRIBE.
pub fn subscribe(sh: &Shared, c: &mut Client, kind: Kind, argv: &[Bytes]) -> Reply {
    // In-process clients (the embedding API) expect one reply per command and have no
    // connection to deliver messages to: Redis's CLIENT_DENY_BLOCKING refusal.
    if c.internal {
        let name = match kind {
            Kind::Channel => "SUBSCRIBE",
            Kind::Pattern => "PSUBSCRIBE",
            Kind::Shard => "SSUBSCRIBE",
        };
        return Reply::error(format!(
            "ERR {name} isn't allowed for a DENY BLOCKING client"
        ));
    }
    let handle = c.handle.clone();
    sh.pubsub
        .subscribe(&mut c.pubsub, &handle, kind, &argv[1..]);
    // The confirmations were queued on the client's own queue, which the connection
    // writes before this (empty) reply.
    Reply::NoReply
}

/// UNSUBSCRIBE / PUNSUBSCRIBE / SUNSUBSCRIBE.
pub fn unsubscribe(sh: &Shared, c: &mut Client, kind: Kind, argv: &[Bytes]) -> Reply {
    let handle = c.handle.clone();
    sh.pubsub
        .unsubscribe(&mut c.pubsub, &handle, kind, &argv[1..], true);
    if c.internal {
        // Nobody drains an in-process client's queue: hand the confirmations back.
        return take_queued(c);
    }
    Reply::NoReply
}

/// Everything queued for the client, as one pre-encoded reply: what a (un)subscribe
/// run by EXEC contributes to EXEC's array (Redis writes the confirmations in place).
pub fn take_queued(c: &Client) -> Reply {
    let mut out = bytes::BytesMut::new();
    if let Some(s) = &c.pubsub.sub {
        let n = s.drain(c.resp, &mut out);
        s.written(n);
    }
    Reply::Raw(out.freeze())
}

/// PUBLISH / SPUBLISH.
pub fn publish(sh: &Shared, argv: &[Bytes], shard: bool) -> Reply {
    Reply::Int(sh.pubsub.publish(&argv[1], &argv[2], shard) as i64)
}

fn syntax_error(argv: &[Bytes]) -> Reply {
    let sub = ferrodis_commands::errors::c_str(&argv[1]);
    let sub = &sub[..sub.len().min(128)];
    Reply::error(format!(
        "ERR unknown subcommand or wrong number of arguments for '{}'. Try PUBSUB HELP.",
        String::from_utf8_lossy(sub)
    ))
}

/// PUBSUB CHANNELS | NUMSUB | NUMPAT | SHARDCHANNELS | SHARDNUMSUB | HELP.
pub fn pubsub(sh: &Shared, argv: &[Bytes]) -> Reply {
    let sub = argv[1].to_ascii_lowercase();
    let n = argv.len();
    match (sub.as_slice(), n) {
        (b"help", 2) => help_reply(&[
            "PUBSUB <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
            "CHANNELS [<pattern>]",
            "    Return the currently active channels matching a <pattern> (default: '*').",
            "NUMPAT",
            "    Return number of subscriptions to patterns.",
            "NUMSUB [<channel> ...]",
            "    Return the number of subscribers for the specified channels, excluding",
            "    pattern subscriptions(default: no channels).",
            "SHARDCHANNELS [<pattern>]",
            "    Return the currently active shard level channels matching a <pattern> (default: '*').",
            "SHARDNUMSUB [<shardchannel> ...]",
            "    Return the number of subscribers for the specified shard level channel(s)",
            "HELP",
            "    Prints this help.",
        ]),
        (b"channels", 2 | 3) | (b"shardchannels", 2 | 3) => {
            let shard = sub.as_slice() == b"shardchannels";
            let pat = argv.get(2).map(|p| p.as_ref());
            Reply::Array(
                sh.pubsub
                    .channels(shard, pat)
                    .into_iter()
                    .map(Reply::Bulk)
                    .collect(),
            )
        }
        (b"numsub", _) | (b"shardnumsub", _) => {
            let shard = sub.as_slice() == b"shardnumsub";
            let mut v = Vec::with_capacity((n - 2) * 2);
            for ch in &argv[2..] {
                v.push(Reply::Bulk(ch.clone()));
                v.push(Reply::Int(sh.pubsub.numsub(shard, ch) as i64));
            }
            Reply::Array(v)
        }
        (b"numpat", 2) => Reply::Int(sh.pubsub.numpat() as i64),
        _ => syntax_error(argv),
    }
}

/// Redis's processCommand refusal of other commands while a RESP2 client is subscribed.
pub fn refused_in_subscribed_mode(c: &Client, fullname: &str) -> Option<Reply> {
    if c.resp != 2 || !c.handle.has_flag(crate::client::flags::PUBSUB) {
        return None;
    }
    match fullname {
        "ping" | "subscribe" | "ssubscribe" | "unsubscribe" | "sunsubscribe" | "psubscribe"
        | "punsubscribe" | "quit" | "reset" => None,
        _ => Some(Reply::error(format!(
            "ERR Can't execute '{fullname}': only (P|S)SUBSCRIBE / (P|S)UNSUBSCRIBE / PING / QUIT / RESET are allowed in this context"
        ))),
    }
}
