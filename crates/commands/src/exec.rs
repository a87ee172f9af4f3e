//! The executor: lock what a command needs, run its handler, propagate its
//! effects while the locks are still held, release. Used by connections,
//! MULTI/EXEC, scripts and (later) AOF loading and replication.

use crate::ctx::{Ctx, Locks};
use crate::engine::{Engine, Stats};
use crate::meta::{self, CommandMeta};
use crate::registry::{DataCommand, Locking};
use crate::reply::Reply;
use bytes::Bytes;
use smallvec::SmallVec;

/// Outcome of one executed data command.
pub struct Executed {
    pub reply: Reply,
    /// Number of changes made (Redis's dirty delta).
    pub dirty: u64,
    /// Keys this command made ready for blocked clients, to serve once its locks are released
    /// ([`crate::blocking::serve_ready`]); [`execute`] does it, other callers of
    /// [`run_locked`] (MULTI/EXEC, scripts) do it after their last command.
    pub ready: Vec<(usize, Bytes)>,
}

/// The shard indices a command must lock, or `None` for "all shards" (when the
/// keys can't be determined, the handler will produce the command's own error
/// under a full lock, which is always safe).
pub fn shards_for(
    engine: &Engine,
    meta: &CommandMeta,
    argv: &[Bytes],
) -> Option<SmallVec<[usize; 4]>> {
    let m = if !meta.subcommands.is_empty() {
        match argv.get(1).and_then(|s| meta.subcommand(s)) {
            Some(sub) => sub,
            None => return Some(SmallVec::new()),
        }
    } else {
        meta
    };
    let mut out = SmallVec::new();
    // Fast path: for commands whose keys don't move, Redis's legacy
    // (first, last, step) range names every key. Hot: one per command.
    if m.flags & meta::cmd_flags::MOVABLE_KEYS == 0 {
        let (first, last, step) = m.legacy_range;
        if first <= 0 || step <= 0 {
            return Some(out);
        }
        let argc = argv.len() as i32;
        let last = if last < 0 { argc + last } else { last };
        let mut i = first;
        while i <= last && i < argc {
            out.push(engine.ks.shard_of(&argv[i as usize]));
            i += step;
        }
        return Some(out);
    }
    let pos = meta::key_positions(m, argv).ok()?;
    for p in pos {
        if let Some(k) = argv.get(p) {
            out.push(engine.ks.shard_of(k));
        }
    }
    Some(out)
}

/// Run a data command by itself: take its locks, execute, propagate, unlock.
pub fn execute(
    engine: &Engine,
    meta: &CommandMeta,
    cmd: &DataCommand,
    argv: &[Bytes],
    db: usize,
    resp: u8,
    now_ms: i64,
) -> Executed {
    let arbitrary_keys = meta.flags & meta::cmd_flags::TOUCHES_ARBITRARY_KEYS != 0;
    let mut locks = match cmd.locking {
        Locking::All => Locks::all(engine),
        Locking::Manual => Locks::none(),
        Locking::Keys => match shards_for(engine, meta, argv) {
            Some(mut s) => Locks::lock(engine, &mut s),
            None => Locks::all(engine),
        },
    };
    let mut done = run_locked(
        engine,
        cmd,
        &mut locks,
        argv,
        db,
        resp,
        now_ms,
        arbitrary_keys,
    );
    drop(locks);
    if !done.ready.is_empty() {
        crate::blocking::serve_ready(engine, std::mem::take(&mut done.ready));
    }
    done
}

/// While a snapshot (BGSAVE) is being written, a command that may write first keeps the
/// pre-images of the keys it names (key specs, in every database of their shard: MOVE and COPY
/// reach other databases) — so the snapshot stays the dataset of the moment it began. FLUSHDB
/// keeps its whole database; FLUSHALL makes the snapshot give up, as Redis kills its child.
/// Called under the command's locks, before its handler.
pub fn preserve_for_snapshot(ctx: &mut Ctx<'_, '_>, argv: &[Bytes]) {
    use std::sync::atomic::Ordering;
    let engine = ctx.engine;
    if !engine.snapshot_active.load(Ordering::Acquire) {
        return;
    }
    let Some(top) = argv.first().and_then(|n| meta::lookup(n)) else {
        return;
    };
    let m = if top.subcommands.is_empty() {
        top
    } else {
        match argv.get(1).and_then(|s| top.subcommand(s)) {
            Some(sub) => sub,
            None => return,
        }
    };
    if m.flags & (meta::cmd_flags::WRITE | meta::cmd_flags::MAY_REPLICATE) == 0 {
        return;
    }
    match m.name {
        "flushall" => {
            engine.snapshot_abort.store(true, Ordering::Release);
            return;
        }
        "flushdb" => {
            let db = ctx.db;
            for shard in ctx.locks.iter_mut() {
                if let Some(d) = shard.dbs.get_mut(db) {
                    d.preserve_all();
                }
            }
            return;
        }
        _ => {}
    }
    let Ok(positions) = meta::key_positions(m, argv) else {
        return;
    };
    for p in positions {
        let Some(key) = argv.get(p) else { continue };
        if let Some(shard) = ctx.locks.shard_for_key(&engine.ks, key) {
            for d in shard.dbs.iter_mut() {
                d.preserve(key);
            }
        }
    }
}

/// Run a data command under locks the caller already holds (MULTI/EXEC, scripts).
#[allow(clippy::too_many_arguments)] // the command's whole execution context, passed explicitly
pub fn run_locked<'e>(
    engine: &'e Engine,
    cmd: &DataCommand,
    locks: &mut Locks<'e>,
    argv: &[Bytes],
    db: usize,
    resp: u8,
    now_ms: i64,
    arbitrary_keys: bool,
) -> Executed {
    let mut ctx = Ctx::new_at(engine, locks, db, resp, now_ms);
    ctx.no_multi = arbitrary_keys;
    preserve_for_snapshot(&mut ctx, argv);
    let mut reply = (cmd.run)(&mut ctx, argv);
    if let Reply::Block(req) = reply {
        reply = crate::blocking::register(&mut ctx, argv, *req);
    }
    let (dirty, ready) = settle(&mut ctx, argv, None);
    Executed {
        reply,
        dirty,
        ready,
    }
}

/// After a handler ran: its propagated form goes to the stream (or into `collect`, for a
/// transaction fed as one unit), its changes to the dirty counter; returns the changes and the
/// keys it made ready for blocked clients. The one end-of-command path of every executor.
pub(crate) fn settle(
    ctx: &mut Ctx<'_, '_>,
    argv: &[Bytes],
    collect: Option<&mut Vec<crate::engine::Propagated>>,
) -> (u64, Vec<(usize, Bytes)>) {
    let engine = ctx.engine;
    let dirty = ctx.dirty;
    let ready = std::mem::take(&mut ctx.ready);
    if engine.propagation.is_active() {
        let prop = ctx.take_propagation(argv);
        match collect {
            Some(out) => out.extend(prop),
            None => engine.propagation.feed(&prop),
        }
    }
    if dirty > 0 {
        Stats::add(&engine.stats.dirty, dirty);
    }
    (dirty, ready)
}

/// Run one queued command of a MULTI/EXEC under the transaction's locks: blocking commands do
/// not block (Redis's CLIENT_DENY_BLOCKING), and the command's propagated form is appended to
/// `props` instead of being fed, so the whole transaction is fed once, wrapped, by
/// [`feed_transaction`]. Scripts run their calls this way too (`from_script`).
#[allow(clippy::too_many_arguments)] // the command's whole execution context, passed explicitly
pub fn run_queued<'e>(
    engine: &'e Engine,
    cmd: &DataCommand,
    locks: &mut Locks<'e>,
    argv: &[Bytes],
    db: usize,
    resp: u8,
    now_ms: i64,
    props: &mut Vec<crate::engine::Propagated>,
    from_script: bool,
) -> Executed {
    let mut ctx = Ctx::new_at(engine, locks, db, resp, now_ms);
    ctx.no_block = true;
    ctx.no_multi = true;
    ctx.from_script = from_script;
    preserve_for_snapshot(&mut ctx, argv);
    let reply = match (cmd.run)(&mut ctx, argv) {
        // Cannot happen with no_block; never leave a caller with a request to block.
        Reply::Block(req) => req.timeout_reply,
        other => other,
    };
    let (dirty, ready) = settle(&mut ctx, argv, Some(props));
    Executed {
        reply,
        dirty,
        ready,
    }
}

/// Feeds a transaction's writes as one unit: wrapped in MULTI/EXEC when there is more than one
/// (Redis's propagatePendingCommands). Call with the transaction's locks still held.
pub fn feed_transaction(engine: &Engine, mut props: Vec<crate::engine::Propagated>) {
    if props.is_empty() || !engine.propagation.is_active() {
        return;
    }
    if props.len() > 1 {
        let first = props[0].db;
        let last = props[props.len() - 1].db;
        props.insert(
            0,
            crate::engine::Propagated {
                db: first,
                argv: vec![Bytes::from_static(b"MULTI")],
            },
        );
        props.push(crate::engine::Propagated {
            db: last,
            argv: vec![Bytes::from_static(b"EXEC")],
        });
    }
    engine.propagation.feed(&props);
}

/// Run `f` holding only shard `shard` (SCAN, DEBUG, the active expire cycle),
/// then feed what it propagated before the lock is released, so expired-key
/// DELs stay ordered with other writes to those keys. Never wrapped in MULTI.
pub fn with_shard<R>(
    engine: &Engine,
    shard: usize,
    db: usize,
    resp: u8,
    now_ms: i64,
    f: impl FnOnce(&mut Ctx<'_, '_>) -> R,
) -> R {
    let mut locks = Locks::lock(engine, &mut smallvec::smallvec![shard]);
    let mut ctx = Ctx::new_at(engine, &mut locks, db, resp, now_ms);
    ctx.no_multi = true;
    let r = f(&mut ctx);
    let prop = ctx.take_propagation(&[]);
    engine.propagation.feed(&prop);
    r
}
