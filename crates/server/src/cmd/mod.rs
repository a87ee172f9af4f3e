//! Server-level commands: connection (PING, HELLO, AUTH, SELECT, ...), CLIENT,
//! CONFIG, INFO, DEBUG, SLOWLOG, LATENCY, MONITOR, SHUTDOWN, COMMAND.
//! They need the client or server state, so they live here and not in
//! ferrodis-commands; data commands are routed to that crate's executor.

mod client;
mod config;
mod conn;
mod debug;
pub mod functions;
pub mod info;
mod memory;
mod misc;
pub mod multi;
pub mod pubsub;
pub mod scripting;

use crate::dispatch::Client;
use crate::state::Shared;
use bytes::Bytes;
use ferrodis_commands::meta::CommandMeta;
use ferrodis_commands::{errors, registry, Reply};

/// Server commands implemented here (top-level names).
pub const SERVER_COMMANDS: &[&str] = &[
    "ping",
    "echo",
    "quit",
    "select",
    "hello",
    "auth",
    "reset",
    "client",
    "command",
    "info",
    "config",
    "time",
    "lolwut",
    "debug",
    "slowlog",
    "latency",
    "monitor",
    "shutdown",
    "multi",
    "exec",
    "discard",
    "watch",
    "unwatch",
    "memory",
    "save",
    "bgsave",
    "lastsave",
    "sync",
    "psync",
    "replconf",
    "replicaof",
    "slaveof",
    "role",
    // Scripting (cmd/scripting.rs, cmd/functions.rs).
    "eval",
    "evalsha",
    "eval_ro",
    "evalsha_ro",
    "script",
    "function",
    "fcall",
    "fcall_ro",
];

/// Pub/Sub commands (cmd/pubsub.rs).
pub const PUBSUB_COMMANDS: &[&str] = &[
    "subscribe",
    "unsubscribe",
    "psubscribe",
    "punsubscribe",
    "ssubscribe",
    "sunsubscribe",
    "publish",
    "spublish",
    "pubsub",
];

pub use config::is_local as is_local_addr;

/// Is the command (top-level name of `m`) implemented by this server?
pub fn implemented(m: &CommandMeta) -> bool {
    let top = match m.name.find('|') {
        Some(i) => &m.name[..i],
        None => m.name,
    };
    registry::find(top).is_some()
        || SERVER_COMMANDS.contains(&top)
        || PUBSUB_COMMANDS.contains(&top)
}

pub fn server_command(sh: &Shared, c: &mut Client, top: &str, argv: &[Bytes]) -> Reply {
    match top {
        "ping" => conn::ping(c, argv),
        "echo" => Reply::Bulk(argv[1].clone()),
        "quit" => conn::quit(c),
        "select" => conn::select(sh, c, argv),
        "hello" => conn::hello(sh, c, argv),
        "auth" => conn::auth(sh, c, argv),
        "reset" => conn::reset(sh, c),
        "client" => client::client(sh, c, argv),
        "command" => ferrodis_commands::introspect::command_cmd(argv, &implemented),
        "info" => info::info_cmd(sh, c, argv),
        "config" => config::config(sh, c, argv),
        "time" => misc::time(),
        "lolwut" => misc::lolwut(argv),
        "debug" => debug::debug(sh, c, argv),
        "slowlog" => misc::slowlog(sh, argv),
        "latency" => misc::latency(sh, argv),
        "monitor" => misc::monitor(sh, c),
        "shutdown" => misc::shutdown(sh, c, argv),
        // Called directly by EXEC: the script runs while this thread waits for it.
        "eval" | "evalsha" | "eval_ro" | "evalsha_ro" | "script" | "function" | "fcall"
        | "fcall_ro" => scripting::command(sh, c, top, argv, true),
        "memory" => memory::memory(sh, c, argv),
        "multi" => multi::multi(c),
        "exec" => multi::exec_cmd(sh, c),
        "discard" => multi::discard(sh, c),
        "watch" => multi::watch(sh, c, argv),
        "unwatch" => multi::unwatch(sh, c),
        "save" => misc::save(sh),
        "bgsave" => misc::bgsave(sh, argv),
        "lastsave" => Reply::Int(sh.lastsave.load(std::sync::atomic::Ordering::Relaxed)),
        "sync" | "psync" => misc::sync(c, top == "psync"),
        "replconf" => misc::replconf(c, argv),
        "replicaof" | "slaveof" => match sh.self_ref.get().and_then(|w| w.upgrade()) {
            Some(arc) => crate::replica::replicaof(&arc, argv),
            None => Reply::err_static("ERR the server is stopping"),
        },
        "role" => misc::role(sh),
        "subscribe" => pubsub::subscribe(sh, c, crate::pubsub::Kind::Channel, argv),
        "psubscribe" => pubsub::subscribe(sh, c, crate::pubsub::Kind::Pattern, argv),
        "ssubscribe" => pubsub::subscribe(sh, c, crate::pubsub::Kind::Shard, argv),
        "unsubscribe" => pubsub::unsubscribe(sh, c, crate::pubsub::Kind::Channel, argv),
        "punsubscribe" => pubsub::unsubscribe(sh, c, crate::pubsub::Kind::Pattern, argv),
        "sunsubscribe" => pubsub::unsubscribe(sh, c, crate::pubsub::Kind::Shard, argv),
        "publish" | "spublish" => {
            // Replicas publish it to their own subscribers (Redis propagates PUBLISH).
            ferrodis_commands::exec::feed_transaction(
                &sh.engine,
                vec![ferrodis_commands::engine::Propagated {
                    db: c.db,
                    argv: argv.to_vec(),
                }],
            );
            pubsub::publish(sh, argv, top == "spublish")
        }
        "pubsub" => pubsub::pubsub(sh, argv),
        _ => errors::unknown_command(argv),
    }
}
