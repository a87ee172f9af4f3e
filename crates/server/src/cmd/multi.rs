//! MULTI, EXEC, DISCARD, WATCH, UNWATCH (Redis's multi.c). Queueing happens in `dispatch`;
//! EXEC runs the queue holding every shard, so the transaction is atomic across shards, and
//! feeds its writes to the propagation stream as one MULTI ... EXEC unit.

use crate::client::flags;
use crate::dispatch::{self, Client};
use crate::state::Shared;
use bytes::Bytes;
use ferrodis_commands::ctx::Locks;
use ferrodis_commands::registry::Locking;
use ferrodis_commands::watch::WatchedKey;
use ferrodis_commands::{exec, Reply};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

/// A transaction being queued.
#[derive(Default)]
pub struct MultiState {
    pub queued: Vec<Vec<Bytes>>,
    /// A command was rejected while queueing: EXEC answers EXECABORT (CLIENT_DIRTY_EXEC).
    pub dirty_exec: bool,
}

pub fn multi(c: &mut Client) -> Reply {
    if c.multi.is_some() {
        return Reply::err_static("ERR MULTI calls can not be nested");
    }
    c.multi = Some(MultiState::default());
    c.handle.set_flag(flags::MULTI, true);
    c.handle.multi_count.store(0, Ordering::Relaxed);
    Reply::Ok
}

pub fn discard(sh: &Shared, c: &mut Client) -> Reply {
    if c.multi.is_none() {
        return Reply::err_static("ERR DISCARD without MULTI");
    }
    end_transaction(sh, c);
    Reply::Ok
}

/// Leaves MULTI state and drops every watch (Redis's discardTransaction).
pub fn end_transaction(sh: &Shared, c: &mut Client) {
    c.multi = None;
    c.handle.set_flag(flags::MULTI, false);
    c.handle.multi_count.store(-1, Ordering::Relaxed);
    unwatch_all(sh, c);
}

/// Drops every watch of the client (UNWATCH, EXEC, DISCARD, RESET, disconnect).
pub fn unwatch_all(sh: &Shared, c: &mut Client) {
    sh.engine.watches.remove(&c.watched);
    c.watched.clear();
    c.watcher.dirty.store(false, Ordering::Relaxed);
}

pub fn watch(sh: &Shared, c: &mut Client, argv: &[Bytes]) -> Reply {
    if c.multi.is_some() {
        return Reply::err_static("ERR WATCH inside MULTI is not allowed");
    }
    let now = sh.engine.now_ms();
    for key in &argv[1..] {
        if c.watched.iter().any(|w| w.db == c.db && w.key == key) {
            continue;
        }
        // A key already logically expired is "stale": its deletion is no change.
        let stale = {
            let shard = sh.engine.ks.lock(sh.engine.ks.shard_of(key));
            shard
                .dbs
                .get(c.db)
                .is_some_and(|db| db.is_expired(key, now))
        };
        let w = Arc::new(WatchedKey {
            db: c.db,
            key: key.clone(),
            stale: AtomicBool::new(stale),
            watcher: c.watcher.clone(),
        });
        sh.engine.watches.add(w.clone());
        c.watched.push(w);
    }
    Reply::Ok
}

pub fn unwatch(sh: &Shared, c: &mut Client) -> Reply {
    unwatch_all(sh, c);
    Reply::Ok
}

/// A watched key that was live when watched but has expired since fails EXEC (Redis's
/// isWatchedKeyExpired). Every shard is locked by the caller.
fn watched_key_expired(c: &Client, locks: &mut Locks<'_>, sh: &Shared, now: i64) -> bool {
    c.watched.iter().any(|w| {
        !w.stale.load(Ordering::Relaxed)
            && locks
                .shard_mut(sh.engine.ks.shard_of(&w.key))
                .and_then(|s| s.dbs.get(w.db))
                .is_some_and(|db| db.is_expired(&w.key, now))
    })
}

pub fn exec_cmd(sh: &Shared, c: &mut Client) -> Reply {
    let Some(state) = c.multi.take() else {
        return Reply::err_static("ERR EXEC without MULTI");
    };
    if state.dirty_exec {
        end_transaction(sh, c);
        return Reply::err_static("EXECABORT Transaction discarded because of previous errors.");
    }
    let engine = &sh.engine;
    let mut locks = Some(Locks::all(engine));
    let now = engine.now_ms();
    let cas_failed = c.watcher.dirty.load(Ordering::Relaxed)
        || locks
            .as_mut()
            .is_some_and(|l| watched_key_expired(c, l, sh, now));
    // Unwatch before running anything: our own writes must not fail us.
    end_transaction(sh, c);
    if cas_failed {
        return Reply::NullArray;
    }
    let mut replies = Vec::with_capacity(state.queued.len());
    let mut props = Vec::new();
    let mut ready = Vec::new();
    // One clock for the whole transaction, as Redis's call() fixes it for EXEC's commands;
    // each command's duration ends where the next one's starts (one clock read each).
    let mut start = std::time::Instant::now();
    for argv in state.queued {
        let Some((m, data, stat)) = c.command_of(sh, &argv) else {
            // Validated when queued; the table does not change at run time.
            replies.push(ferrodis_commands::errors::unknown_command(&argv));
            continue;
        };
        let top = dispatch::top_name(m);
        let reply = match data {
            Some(dc) if dc.locking != Locking::Manual => {
                let l = locks.get_or_insert_with(|| Locks::all(engine));
                let done =
                    exec::run_queued(engine, dc, l, &argv, c.db, c.resp, now, &mut props, false);
                ready.extend(done.ready);
                done.reply
            }
            Some(dc) => {
                // SCAN locks shard by shard itself: run it outside the transaction's locks.
                locks = None;
                let container = ferrodis_commands::meta::lookup(top.as_bytes()).unwrap_or(m);
                exec::execute(engine, container, dc, &argv, c.db, c.resp, now).reply
            }
            None if matches!(top, "publish" | "spublish") => {
                // Propagated to replicas with the transaction's other writes.
                props.push(ferrodis_commands::engine::Propagated {
                    db: c.db,
                    argv: argv.clone(),
                });
                crate::cmd::pubsub::publish(sh, &argv, top == "spublish")
            }
            None => {
                // Server commands (SELECT, PING, CONFIG, INFO...) may take shard locks
                // themselves: they run with the transaction's locks released.
                locks = None;
                match crate::cmd::server_command(sh, c, top, &argv) {
                    // (P|S)SUBSCRIBE queue their confirmations; in EXEC they are its reply.
                    Reply::NoReply => crate::cmd::pubsub::take_queued(c),
                    r => r,
                }
            }
        };
        let end = std::time::Instant::now();
        // EXEC's reply is an array: errors inside it count here (Redis counts every one).
        if let Reply::Error(e) = &reply {
            sh.record_error(e);
        }
        dispatch::record_inner_call(sh, c, m, stat, &argv, end - start, &reply);
        start = end;
        if c.handle.has_flag(flags::TRACKING) {
            sh.tracking.after_command(sh, c.handle.id, m, &argv, true);
        }
        replies.push(reply);
    }
    {
        let _held = locks.get_or_insert_with(|| Locks::all(engine));
        exec::feed_transaction(engine, props);
    }
    drop(locks);
    if !ready.is_empty() {
        ferrodis_commands::blocking::serve_ready(engine, ready);
    }
    Reply::Array(replies)
}
