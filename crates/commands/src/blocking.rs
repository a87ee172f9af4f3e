//! Blocking commands (BLPOP, BRPOP, BLMOVE, BRPOPLPUSH, BLMPOP, BZPOPMIN, BZPOPMAX, BZMPOP):
//! the request a handler returns when it must wait, timeout parsing, and (see `serve`) the
//! waiter registry that serves blocked clients after the write that made their key ready.
//!
//! A handler that finds nothing to pop calls [`block`]: inside MULTI/EXEC or a script (where
//! Redis never blocks) that gives the command's timeout reply at once; otherwise a
//! [`Reply::Block`] that the executor turns into a registered waiter.

use crate::ctx::{Ctx, Locks};
use crate::engine::Engine;
use crate::reply::Reply;
use bytes::Bytes;
use ferrodis_keyspace::blocked as keyspace_blocked;
use parking_lot::Mutex;
use smallvec::SmallVec;
use std::collections::VecDeque;
use std::sync::Arc;
use std::task::{Context, Poll, Waker};

/// The value type a blocked client waits for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WaitFor {
    List,
    ZSet,
    /// XREAD/XREADGROUP: new entries (served by re-running the read; "nothing yet" keeps
    /// the client waiting).
    Stream,
}

/// What a blocking handler asks for when it has to wait.
#[derive(Debug, Clone, PartialEq)]
pub struct BlockRequest {
    /// Keys waited on, in the command's order (duplicates allowed; the registry dedups).
    pub keys: Vec<Bytes>,
    /// Absolute deadline in ms (Unix time), 0 = wait forever.
    pub deadline_ms: i64,
    pub wait_for: WaitFor,
    /// The reply when the timeout passes (null array for pops, null bulk for BLMOVE).
    pub timeout_reply: Reply,
}

/// A handler found nothing to serve: block (or reply `timeout_reply` at once where Redis
/// does not block: inside MULTI/EXEC, scripts, or while serving another blocked client).
pub fn block(ctx: &Ctx<'_, '_>, req: BlockRequest) -> Reply {
    if ctx.no_block {
        return req.timeout_reply;
    }
    Reply::Block(Box::new(req))
}

/// Redis's getTimeoutFromObjectOrReply for second-based timeouts with decimals: returns the
/// absolute deadline in ms, 0 for "forever".
pub fn parse_timeout(ctx: &Ctx<'_, '_>, arg: &[u8]) -> Result<i64, Reply> {
    // Computed in long double as Redis does: `-0.001` is a hair above -1 ms there and rounds
    // up to 0 (wait forever), where a double would give -1.
    let ms = ferrodis_ds::num::seconds_to_ms_ceil(arg)
        .ok_or_else(|| Reply::err_static("ERR timeout is not a float or out of range"))?;
    if ms < 0 {
        return Err(Reply::err_static("ERR timeout is negative"));
    }
    if ms == 0 {
        return Ok(0);
    }
    Ok(ctx.now_ms.saturating_add(ms))
}

// ------------------------------------------------------------------ waiters

/// Where a blocked client is in its life.
enum Phase {
    /// Queued on its keys.
    Waiting,
    /// A writer is running the client's command for it right now.
    Serving,
    /// Finished: the reply to send (taken once by the connection).
    Done(Option<Reply>),
}

struct WaitState {
    phase: Phase,
    waker: Option<Waker>,
}

/// A client blocked on keys. Shared by the client's connection (which waits for
/// [`Waiter::poll_reply`]), the shards' registries (which queue it on each key), and a writer
/// that serves it.
pub struct Waiter {
    /// The database the command ran in.
    pub db: usize,
    /// The blocking command as the client sent it.
    pub argv: Vec<Bytes>,
    /// Distinct keys waited on, in the command's order.
    pub keys: Vec<Bytes>,
    pub resp: u8,
    pub wait_for: WaitFor,
    /// Absolute deadline (Unix ms), 0 = none.
    pub deadline_ms: i64,
    timeout_reply: Reply,
    state: Mutex<WaitState>,
}

impl std::fmt::Debug for Waiter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Waiter")
            .field("db", &self.db)
            .field("keys", &self.keys)
            .field("deadline_ms", &self.deadline_ms)
            .finish()
    }
}

/// A registered waiter as a reply value: the executor returns it as [`Reply::Blocked`] and the
/// connection waits on it. Compared by identity.
#[derive(Clone, Debug)]
pub struct WaiterRef(pub Arc<Waiter>);

impl PartialEq for WaiterRef {
    fn eq(&self, other: &Self) -> bool {
        Arc::ptr_eq(&self.0, &other.0)
    }
}

impl Waiter {
    fn new(db: usize, argv: &[Bytes], resp: u8, req: BlockRequest) -> Waiter {
        let mut keys: Vec<Bytes> = Vec::with_capacity(req.keys.len());
        for k in req.keys {
            if !keys.contains(&k) {
                keys.push(k);
            }
        }
        Waiter {
            db,
            argv: argv.to_vec(),
            keys,
            resp,
            wait_for: req.wait_for,
            deadline_ms: req.deadline_ms,
            timeout_reply: req.timeout_reply,
            state: Mutex::new(WaitState {
                phase: Phase::Waiting,
                waker: None,
            }),
        }
    }

    /// Still queued (not served, timed out, unblocked or abandoned).
    pub fn is_waiting(&self) -> bool {
        matches!(self.state.lock().phase, Phase::Waiting)
    }

    /// Ends the wait with `reply` if the client is still waiting (timeout, CLIENT UNBLOCK,
    /// disconnection). False when a writer got there first.
    pub fn finish(&self, reply: Reply) -> bool {
        let mut st = self.state.lock();
        if !matches!(st.phase, Phase::Waiting) {
            return false;
        }
        st.phase = Phase::Done(Some(reply));
        if let Some(w) = st.waker.take() {
            w.wake();
        }
        true
    }

    /// Ends the wait with the command's timeout reply (null array or null bulk).
    pub fn finish_timeout(&self) -> bool {
        self.finish(self.timeout_reply.clone())
    }

    /// The reply once the wait is over; registers `cx`'s waker otherwise.
    pub fn poll_reply(&self, cx: &mut Context<'_>) -> Poll<Reply> {
        let mut st = self.state.lock();
        if let Phase::Done(r) = &mut st.phase {
            return Poll::Ready(r.take().unwrap_or(Reply::NoReply));
        }
        st.waker = Some(cx.waker().clone());
        Poll::Pending
    }

    fn claim(&self) -> bool {
        let mut st = self.state.lock();
        if matches!(st.phase, Phase::Waiting) {
            st.phase = Phase::Serving;
            return true;
        }
        false
    }

    /// A claimed waiter could not be served after all: back to waiting (and wake the
    /// connection, whose timeout may have passed meanwhile).
    fn unclaim(&self) {
        let mut st = self.state.lock();
        st.phase = Phase::Waiting;
        if let Some(w) = st.waker.take() {
            w.wake();
        }
    }

    fn complete(&self, reply: Reply) {
        let mut st = self.state.lock();
        st.phase = Phase::Done(Some(reply));
        if let Some(w) = st.waker.take() {
            w.wake();
        }
    }
}

fn as_waiter(w: &keyspace_blocked::Waiter) -> Option<&Waiter> {
    w.downcast_ref::<Waiter>()
}

fn same_waiter(w: &keyspace_blocked::Waiter, target: &Arc<Waiter>) -> bool {
    as_waiter(w).is_some_and(|x| std::ptr::eq(x, Arc::as_ptr(target)))
}

/// Queues a new waiter on each of its keys. The caller holds the shards of every key (the
/// command's own locks), so no write can slip between the handler's "nothing to pop" and the
/// registration.
pub(crate) fn register(ctx: &mut Ctx<'_, '_>, argv: &[Bytes], req: BlockRequest) -> Reply {
    let stream_argv;
    let argv = if req.wait_for == WaitFor::Stream {
        stream_argv = crate::streams::block_argv(ctx, argv);
        &stream_argv[..]
    } else {
        argv
    };
    let waiter = Arc::new(Waiter::new(ctx.db, argv, ctx.resp, req));
    let any: keyspace_blocked::Waiter = waiter.clone();
    for key in &waiter.keys {
        match ctx.locks.shard_for_key(&ctx.engine.ks, key) {
            Some(shard) => shard.blocked.push(waiter.db, key, any.clone()),
            None => {
                // A key outside the command's locks: the key specs are wrong. Undo and fail
                // rather than block on a key nobody would signal.
                unregister(ctx.engine, &waiter);
                return Reply::err_static("ERR internal error: blocking key not locked");
            }
        }
    }
    Reply::Blocked(WaiterRef(waiter))
}

/// Removes a finished waiter from every key queue it is still on (the connection calls this
/// once its wait is over, whatever ended it).
pub fn unregister(engine: &Engine, waiter: &Arc<Waiter>) {
    for key in &waiter.keys {
        let mut shard = engine.ks.lock(engine.ks.shard_of(key));
        shard
            .blocked
            .remove_where(waiter.db, key, |w| same_waiter(w, waiter));
    }
}

/// The client of a waiter went away: end the wait (unless a writer already served it) and
/// leave every queue.
pub fn finish_abandoned(engine: &Engine, waiter: &Arc<Waiter>) {
    waiter.finish(Reply::NoReply);
    unregister(engine, waiter);
}

/// Called by the write path when a key is created: queues it for serving if someone waits on
/// it (Redis's signalKeyAsReady from dbAdd).
pub(crate) fn signal_if_waited(ctx: &mut Ctx<'_, '_>, db: usize, key: &[u8]) {
    let waited = ctx
        .locks
        .shard_for_key(&ctx.engine.ks, key)
        .is_some_and(|s| s.blocked.has(db, key));
    if waited && !ctx.ready.iter().any(|(d, k)| *d == db && k == key) {
        ctx.ready.push((db, Bytes::copy_from_slice(key)));
    }
}

/// After SWAPDB: every key of databases `a` and `b` that someone waits on is signalled (Redis's
/// scanDatabaseForReadyKeys for keys holding data, scanDatabaseForDeletedStreams for streams
/// gone). The caller holds every shard.
pub fn signal_swapped_dbs(ctx: &mut Ctx<'_, '_>, a: usize, b: usize) {
    let mut found = Vec::new();
    for shard in ctx.locks.iter_mut() {
        for db in [a, b] {
            if shard.dbs.get(db).is_none() {
                continue;
            }
            // Keys that no longer exist are signalled too: XREADGROUP waiters on a stream
            // that went away are unblocked with an error (Redis's
            // scanDatabaseForDeletedStreams); list and zset waiters ignore a missing key.
            for key in shard.blocked.keys_of(db) {
                found.push((db, Bytes::copy_from_slice(key)));
            }
        }
    }
    for r in found {
        if !ctx.ready.contains(&r) {
            ctx.ready.push(r);
        }
    }
}

/// After FLUSHDB/FLUSHALL (`db` = None: every database): every waited key is signalled so
/// that XREADGROUP waiters on the streams that were flushed get their error. The caller holds
/// every shard.
pub fn signal_flushed(ctx: &mut Ctx<'_, '_>, db: Option<usize>) {
    let mut found = Vec::new();
    for shard in ctx.locks.iter_mut() {
        let dbs = match db {
            Some(d) => d..d + 1,
            None => 0..shard.dbs.len(),
        };
        for d in dbs {
            for key in shard.blocked.keys_of(d) {
                found.push((d, Bytes::copy_from_slice(key)));
            }
        }
    }
    for r in found {
        if !ctx.ready.contains(&r) {
            ctx.ready.push(r);
        }
    }
}

/// The argv that serves `w` from `key` alone (Redis 7.0 serves a blocked client from the key
/// that became ready, not from the first non-empty key of its list).
fn serving_argv(w: &Waiter, key: &Bytes) -> Vec<Bytes> {
    let name = w.argv.first().map(|n| n.to_ascii_lowercase());
    match name.as_deref() {
        Some(b"blmpop") | Some(b"bzmpop") => {
            // cmd timeout numkeys key... rest
            let numkeys = w
                .argv
                .get(2)
                .and_then(|n| crate::args::parse_i64(n))
                .and_then(|n| usize::try_from(n).ok())
                .unwrap_or(0);
            let mut v = vec![
                w.argv[0].clone(),
                w.argv[1].clone(),
                Bytes::from_static(b"1"),
                key.clone(),
            ];
            v.extend(w.argv.iter().skip(3 + numkeys).cloned());
            v
        }
        Some(b"blmove") | Some(b"brpoplpush") => w.argv.clone(),
        Some(b"xread") | Some(b"xreadgroup") => crate::streams::serve_argv(&w.argv, key),
        _ => vec![
            w.argv[0].clone(),
            key.clone(),
            w.argv.last().cloned().unwrap_or_default(),
        ],
    }
}

/// Shards a served command needs besides the ready key's: BLMOVE/BRPOPLPUSH's destination.
fn destination(w: &Waiter) -> Option<&Bytes> {
    let name = w.argv.first()?.to_ascii_lowercase();
    match &name[..] {
        b"blmove" | b"brpoplpush" => w.argv.get(2),
        _ => None,
    }
}

fn value_matches(v: &ferrodis_ds::value::Value, wait_for: WaitFor) -> bool {
    use ferrodis_ds::value::Value;
    match (v, wait_for) {
        (Value::List(l), WaitFor::List) => !l.is_empty(),
        (Value::ZSet(z), WaitFor::ZSet) => !z.is_empty(),
        (Value::Stream(_), WaitFor::Stream) => true,
        _ => false,
    }
}

/// Serves the clients blocked on keys that writes made ready, in Redis's order: keys in the
/// order they became ready, each key's waiters first-blocked first, as long as the key holds
/// data of the type they wait for. Runs right after the writing command released its locks,
/// taking the ready key's shard (and a BLMOVE destination's) for each client served; a served
/// command's own writes (BLMOVE's push) can make more keys ready, which join the queue.
pub fn serve_ready(engine: &Engine, ready: Vec<(usize, Bytes)>) {
    let mut queue: VecDeque<(usize, Bytes)> = ready.into();
    // Bounded: each round serves one client or finishes one key.
    while let Some((db, key)) = queue.pop_front() {
        // Stream readers the key could not serve this round (nothing newer than their ID).
        let mut skipped: Vec<*const Waiter> = Vec::new();
        loop {
            let key_shard = engine.ks.shard_of(&key);
            let now = engine.now_ms();
            // A key that expired before its waiters could be served is deleted now, its DEL
            // propagated (Redis looks it up for writing when serving).
            let expired = {
                let shard = engine.ks.lock(key_shard);
                shard.dbs.get(db).is_some_and(|d| d.is_expired(&key, now))
            };
            if expired {
                crate::exec::with_shard(engine, key_shard, db, 2, now, |ctx| {
                    let _ = crate::kv::lookup_in(ctx, db, &key);
                });
            }
            // Peek at the first waiter this key can serve now.
            let candidate = {
                let mut shard = engine.ks.lock(key_shard);
                let Some(dbref) = shard.dbs.get(db) else {
                    break;
                };
                let entry = dbref.lookup(&key, now);
                if entry.is_none_or(|e| !matches!(e.value(), ferrodis_ds::value::Value::Stream(_)))
                {
                    // A stream deleted or overwritten: its XREADGROUP waiters get an error
                    // (their group is gone with it).
                    for w in shard.blocked.waiters(db, &key) {
                        if let Some(x) = as_waiter(w) {
                            if x.wait_for == WaitFor::Stream
                                && x.argv
                                    .first()
                                    .is_some_and(|n| n.eq_ignore_ascii_case(b"xreadgroup"))
                            {
                                x.finish(Reply::err_static(
                                    "UNBLOCKED the stream key no longer exists",
                                ));
                            }
                        }
                    }
                }
                let Some(entry) = entry else {
                    break;
                };
                let value_ok = |wf| value_matches(entry.value(), wf);
                let found = shard
                    .blocked
                    .waiters(db, &key)
                    .filter_map(|w| {
                        let waiter = w.clone().downcast::<Waiter>().ok()?;
                        (waiter.is_waiting()
                            && value_ok(waiter.wait_for)
                            && !skipped.contains(&Arc::as_ptr(&waiter)))
                        .then_some(waiter)
                    })
                    .next();
                // Drop queue entries of clients that are no longer waiting.
                shard
                    .blocked
                    .remove_where(db, &key, |w| as_waiter(w).is_none_or(|x| !x.is_waiting()));
                found
            };
            let Some(waiter) = candidate else {
                break;
            };
            let argv = serving_argv(&waiter, &key);
            let mut shards: SmallVec<[usize; 4]> = smallvec::smallvec![key_shard];
            if let Some(dst) = destination(&waiter) {
                shards.push(engine.ks.shard_of(dst));
            }
            let mut locks = Locks::lock(engine, &mut shards);
            if !waiter.claim() {
                continue;
            }
            let still_ready = locks
                .shard_mut(key_shard)
                .and_then(|s| s.dbs.get(db))
                .and_then(|d| d.lookup(&key, now))
                .is_some_and(|e| value_matches(e.value(), waiter.wait_for));
            if !still_ready {
                waiter.unclaim();
                break;
            }
            let Some(cmd) = std::str::from_utf8(&argv[0])
                .ok()
                .map(str::to_ascii_lowercase)
                .and_then(|n| crate::registry::find(&n))
            else {
                waiter.complete(crate::errors::unknown_command(&argv));
                continue;
            };
            let mut ctx = Ctx::new_at(engine, &mut locks, waiter.db, waiter.resp, now);
            ctx.no_block = true;
            crate::exec::preserve_for_snapshot(&mut ctx, &argv);
            let reply = (cmd.run)(&mut ctx, &argv);
            if waiter.wait_for == WaitFor::Stream
                && matches!(reply, Reply::NullArray | Reply::Block(_))
            {
                // Nothing newer than what it waits for: it keeps waiting.
                drop(ctx);
                waiter.unclaim();
                skipped.push(Arc::as_ptr(&waiter));
                continue;
            }
            let (_, more) = crate::exec::settle(&mut ctx, &argv, None);
            if let Some(shard) = locks.shard_mut(key_shard) {
                shard
                    .blocked
                    .remove_where(db, &key, |w| same_waiter(w, &waiter));
            }
            drop(locks);
            waiter.complete(match reply {
                // Serving never blocks (no_block); a handler that still asks is answered
                // with its timeout reply rather than left hanging.
                Reply::Block(req) => req.timeout_reply,
                other => other,
            });
            for r in more {
                if !queue.contains(&r) {
                    queue.push_back(r);
                }
            }
        }
    }
}
