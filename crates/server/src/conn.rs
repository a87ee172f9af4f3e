//! One task per connection: read, decode every complete command in the buffer,
//! execute them as a batch, write all replies with one write.
//! Hot path: decode → dispatch → encode.

use crate::client::{flags, ClientHandle};
use crate::cmd::scripting::Gate;
use crate::dispatch::{dispatch, After, Client, ReplyMode};
use crate::state::Shared;
use bytes::{Bytes, BytesMut};
use ferrodis_commands::blocking::{self, Waiter};
use ferrodis_commands::Reply;
use ferrodis_resp::request::{Limits, RequestParser};
use std::sync::atomic::Ordering;
use std::sync::Arc;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::sync::mpsc;

/// Replies are flushed mid-batch once this much output has accumulated, so a
/// long pipeline doesn't hold all its replies in memory.
const FLUSH_THRESHOLD: usize = 64 * 1024;

pub async fn serve<S>(sh: Arc<Shared>, stream: S, handle: Arc<ClientHandle>)
where
    S: AsyncRead + AsyncWrite + Unpin,
{
    let (mut rd, mut wr) = tokio::io::split(stream);
    let authenticated = sh.limits.requirepass.read().is_none();
    let mut client = Client::new(handle.clone(), authenticated);
    let mut parser = RequestParser::new();
    let mut rbuf = BytesMut::with_capacity(16 * 1024);
    let mut out = BytesMut::with_capacity(16 * 1024);
    let mut monitor_rx: Option<mpsc::UnboundedReceiver<Bytes>> = None;
    // Query buffer resizing (Redis's clientsCronResizeQueryBuffer): the largest buffer seen
    // since the last check, and when that was.
    let mut qbuf_peak = 0usize;
    let mut qbuf_checked_ms = sh.engine.coarse_ms();
    // Unix seconds since this client's pending replies went over the soft limit (0: under).
    let obuf_soft_since = std::sync::atomic::AtomicI64::new(0);

    'conn: loop {
        if handle.killed.load(Ordering::Relaxed) {
            break;
        }
        let timeout = sh.limits.timeout_secs.load(Ordering::Relaxed);
        // Subscribers are never closed for idleness, as in Redis.
        let idle_limit = if timeout > 0 && !handle.has_flag(flags::MONITOR | flags::PUBSUB) {
            Some(std::time::Duration::from_secs(timeout))
        } else {
            None
        };
        let sub = client.pubsub.sub.clone();
        // While over the soft output-buffer limit, re-check it every second even if no
        // new message arrives (Redis's clientsCron does).
        let soft_check = sub
            .as_ref()
            .filter(|s| s.soft_since() != 0)
            .map(|_| std::time::Duration::from_millis(100));
        let n = tokio::select! {
            // Fixed order: no per-poll random branch choice on the hot path.
            biased;
            r = rd.read_buf(&mut rbuf) => match r {
                Ok(0) | Err(_) => break 'conn,
                Ok(n) => n,
            },
            _ = handle.kill_notify.notified() => {
                if handle.killed.load(Ordering::Relaxed) {
                    break 'conn;
                }
                // The cron found this client idle: give its empty query buffer back. The
                // next read allocates again (BytesMut grows on demand).
                if handle.shrink_requested.swap(false, Ordering::Relaxed) && rbuf.is_empty() {
                    rbuf = BytesMut::new();
                    handle.qbuf_free.store(0, Ordering::Relaxed);
                }
                continue;
            }
            m = recv_opt(&mut monitor_rx) => {
                match m {
                    Some(line) => {
                        out.extend_from_slice(&line);
                        // Drain whatever else is queued, then write once.
                        if let Some(rx) = monitor_rx.as_mut() {
                            while let Ok(l) = rx.try_recv() {
                                out.extend_from_slice(&l);
                            }
                        }
                        if flush(&sh, &mut wr, &mut out).await.is_err() {
                            break 'conn;
                        }
                    }
                    None => monitor_rx = None,
                }
                continue;
            }
            _ = notified_opt(&sub) => {
                if let Some(s) = &sub {
                    let n = s.drain(client.resp, &mut out);
                    if flush_unless_killed(&sh, &handle, s, &mut wr, &mut out).await.is_err() {
                        break 'conn;
                    }
                    s.written(n);
                    // Back under the soft limit: its clock starts over (what CLIENT LIST
                    // shows as omem and what the limit judges stay the same thing).
                    if sh.pubsub.check_limits(s) {
                        break 'conn;
                    }
                }
                continue;
            }
            _ = sleep_opt(soft_check) => {
                if let Some(s) = &sub {
                    sh.pubsub.check_limits(s);
                }
                continue;
            }
            _ = sleep_opt(idle_limit) => {
                tracing::debug!("Closing idle client");
                break 'conn;
            }
        };
        sh.stats
            .net_input_bytes
            .fetch_add(n as u64, Ordering::Relaxed);
        sh.stats
            .total_reads_processed
            .fetch_add(1, Ordering::Relaxed);
        handle
            .last_interaction_ms
            .store(sh.engine.coarse_ms(), Ordering::Relaxed);
        // CLIENT LIST `qbuf=`: Redis trims its query buffer only after running every command
        // in it, so a command sees the whole buffer it arrived in (itself included).
        handle.qbuf.store(rbuf.len(), Ordering::Relaxed);
        qbuf_peak = qbuf_peak.max(rbuf.len());

        // Commands run from this read (see the write below).
        let mut batch = 0usize;
        loop {
            let limits = Limits {
                proto_max_bulk_len: sh.engine.settings.max_bulk(),
                authenticated: client.authenticated,
            };
            match parser.parse(&mut rbuf, &limits) {
                Ok(Some(argv)) => {
                    if argv.is_empty() {
                        continue;
                    }
                    batch += 1;
                    if sh.pause_mode.load(Ordering::Relaxed) != 0
                        && crate::dispatch::pausable(&sh, &client, &argv)
                    {
                        // Counted in blocked_clients while postponed, as Redis's BLOCKED_POSTPONE.
                        handle.set_flag(flags::BLOCKED, true);
                        wait_if_paused(&sh, &client, &argv).await;
                        handle.set_flag(flags::BLOCKED, false);
                    }
                    let tracking = sh.tracking.is_active();
                    if tracking {
                        crate::tracking::set_current(handle.id);
                    }
                    // A running script holds the gate's write side (cmd/scripting.rs).
                    let mut reply = 'gate: {
                        {
                            if let Some(g) = sh.scripting.gate.try_read() {
                                let r = dispatch(&sh, &mut client, argv);
                                drop(g);
                                break 'gate r;
                            }
                        }
                        match crate::cmd::scripting::enter(&sh, &argv).await {
                            Gate::Held(g) => {
                                let r = dispatch(&sh, &mut client, argv);
                                drop(g);
                                r
                            }
                            Gate::Free => dispatch(&sh, &mut client, argv),
                            Gate::Reject(m, e) => crate::dispatch::reject(&sh, &mut client, m, e),
                        }
                    };
                    if let Some(job) = client.pending_script.take() {
                        reply = crate::cmd::scripting::run_pending(&sh, job).await;
                        if handle.has_flag(flags::TRACKING) {
                            sh.tracking.after_script(handle.id);
                        }
                        // Counted as a call when dispatched; its error counts as failed now.
                        if reply.is_error() {
                            if let Some(st) = sh.cmdstats.get(handle.last_cmd_name()) {
                                st.failed_calls.fetch_add(1, Ordering::Relaxed);
                            }
                        }
                    }
                    let mut served = false;
                    if let Reply::Blocked(w) = reply {
                        if tracking {
                            // Other connections of this thread run while we wait: hand out
                            // what this command left for itself before yielding.
                            sh.tracking.after_reply(&sh);
                        }
                        // Replies of the commands before it go out now; the rest of the
                        // pipeline waits in `rbuf` until the client is served.
                        if flush(&sh, &mut wr, &mut out).await.is_err() {
                            blocking::finish_abandoned(&sh.engine, &w.0);
                            break 'conn;
                        }
                        match wait_blocked(&sh, &handle, &mut rd, &mut rbuf, w.0).await {
                            Some(r) => {
                                crate::dispatch::on_unblocked(&sh, &mut client, &r);
                                reply = r;
                                served = true;
                            }
                            None => break 'conn,
                        }
                    }
                    // Messages queued for this client (its own (un)subscribe confirmations,
                    // messages it published to itself, keyspace events of its command)
                    // go out before the command's reply, as Redis writes them.
                    // A blocked client's reply was decided by the write that served it; what
                    // that write queued for it (a tracking invalidation) follows the reply.
                    if let Some(s) = client.pubsub.sub.as_ref().filter(|_| !served) {
                        let n = s.drain(client.resp, &mut out);
                        s.written(n);
                    }
                    emit(&sh, &mut client, &reply, &mut out);
                    // `client-output-buffer-limit normal`: replies not yet written count.
                    let (hard, soft, soft_secs) = sh.pubsub.class_limits(0);
                    let limited = (hard | soft) != 0 && handle.type_name() == "normal";
                    // Over it, the client is closed without its replies (Redis's
                    // closeClientOnOutputBufferLimitReached).
                    if limited
                        && crate::pubsub::obuf_over(
                            out.len() as u64,
                            (hard, soft, soft_secs),
                            &obuf_soft_since,
                        )
                    {
                        sh.pubsub.obuf_closed(&handle);
                        break 'conn;
                    }
                    if tracking || sh.tracking.is_active() {
                        // Invalidations this command caused for itself follow its reply.
                        sh.tracking.after_reply(&sh);
                    }
                    match client.after {
                        After::Continue => {}
                        After::Close => {
                            let _ = flush(&sh, &mut wr, &mut out).await;
                            break 'conn;
                        }
                        After::Shutdown => {
                            let _ = flush(&sh, &mut wr, &mut out).await;
                            break 'conn;
                        }
                        After::Replica(psync) => {
                            if flush(&sh, &mut wr, &mut out).await.is_err() {
                                break 'conn;
                            }
                            let port = client.repl_listening_port;
                            crate::replication::serve_replica(
                                &sh, &handle, &mut rd, &mut wr, &mut rbuf, psync, port,
                            )
                            .await;
                            break 'conn;
                        }
                        After::Monitor => {
                            client.after = After::Continue;
                            if monitor_rx.is_none() {
                                let (tx, rx) = mpsc::unbounded_channel();
                                sh.monitors.lock().push((handle.id, tx));
                                sh.has_monitors.store(true, Ordering::Relaxed);
                                handle.set_flag(flags::MONITOR, true);
                                monitor_rx = Some(rx);
                            }
                        }
                    }
                    // With an output-buffer limit for normal clients, replies are held until
                    // the batch ends (as Redis writes them), so the limit sees them all.
                    let threshold = if limited {
                        FLUSH_THRESHOLD.max(usize::try_from(hard).unwrap_or(usize::MAX))
                    } else {
                        FLUSH_THRESHOLD
                    };
                    if out.len() >= threshold && flush(&sh, &mut wr, &mut out).await.is_err() {
                        break 'conn;
                    }
                }
                Ok(None) => break,
                Err(e) => {
                    let msg = e.redis_message();
                    tracing::debug!("Protocol error ({}) from client: {}", msg, handle.addr);
                    sh.record_error(msg.as_bytes());
                    Reply::error(msg).encode(client.resp, &mut out);
                    let _ = flush(&sh, &mut wr, &mut out).await;
                    break 'conn;
                }
            }
        }
        let qlimit = sh.limits.client_query_buffer_limit.load(Ordering::Relaxed);
        if rbuf.len() as u64 > qlimit {
            tracing::warn!(
                "Closing client that reached max query buffer length: {} (qbuf initial bytes: {:?})",
                handle.info_line(ferrodis_commands::engine::wall_ms()),
                String::from_utf8_lossy(&rbuf[..rbuf.len().min(64)])
            );
            sh.stats
                .client_query_buffer_limit_disconnections
                .fetch_add(1, Ordering::Relaxed);
            break;
        }
        // A buffer past 32 KiB and over twice the recent peak shrinks (checked at most every
        // 100 ms, so alternating big and small requests don't reallocate each time).
        let now = sh.engine.coarse_ms();
        if now - qbuf_checked_ms >= 100 {
            if rbuf.is_empty() && rbuf.capacity() > 32 * 1024 && rbuf.capacity() / 2 > qbuf_peak {
                rbuf = BytesMut::new();
            }
            qbuf_peak = rbuf.len();
            qbuf_checked_ms = now;
        }
        rbuf.reserve(16 * 1024);
        handle.qbuf.store(rbuf.len(), Ordering::Relaxed);
        handle
            .qbuf_free
            .store(rbuf.capacity() - rbuf.len(), Ordering::Relaxed);
        if !out.is_empty() {
            // A pipeline's replies are written after the thread's other ready connections
            // have run their batches, as Redis writes every reply just before its event loop
            // sleeps. Writing at once woke the client for each reply: with many pipelining
            // clients a reader finished one reply, slept, and was woken again by the next
            // (the cross-CPU wake-ups cost more kernel time than the writes themselves: SET
            // -P 16 -c 50 at 1.51-1.82 us of server CPU per request, 1.26-1.46 with this,
            // Redis 1.29-1.31). A single command's reply goes at once: a PUBLISH wakes its
            // subscribers, and waiting put their writes before the publisher's reply
            // (PUBLISH to 100 subscribers, -c 50: 0.87x Redis's throughput -> 0.65x).
            if batch > 1 {
                Requeue(false).await;
            }
            if flush(&sh, &mut wr, &mut out).await.is_err() {
                break;
            }
        }
        // Give back memory after a big request or reply.
        if rbuf.is_empty() && rbuf.capacity() > 1024 * 1024 {
            rbuf = BytesMut::with_capacity(16 * 1024);
        }
        if out.capacity() > 1024 * 1024 {
            out = BytesMut::with_capacity(16 * 1024);
        }
    }
    if monitor_rx.is_some() {
        sh.monitors.lock().retain(|(id, _)| *id != handle.id);
    }
    crate::cmd::multi::unwatch_all(&sh, &mut client);
    sh.tracking.disable(&sh, &handle);
    sh.pubsub.disconnect(&mut client.pubsub, &handle);
    sh.clients.remove(handle.id);
}

/// Waits until a blocked command is served, times out, is unblocked (CLIENT UNBLOCK) or its
/// client goes away. Meanwhile the socket is still read (into `rbuf`, not executed, as Redis
/// accumulates a blocked client's query buffer) so a disconnection is noticed at once.
/// `None`: the connection must close.
async fn wait_blocked<R: AsyncRead + Unpin>(
    sh: &Shared,
    handle: &ClientHandle,
    rd: &mut R,
    rbuf: &mut BytesMut,
    w: Arc<Waiter>,
) -> Option<Reply> {
    *handle.blocked.lock() = Some(w.clone());
    handle.set_flag(flags::BLOCKED, true);
    let deadline = (w.deadline_ms > 0).then(|| {
        let left = u64::try_from(w.deadline_ms - sh.engine.now_ms()).unwrap_or(0);
        tokio::time::Instant::now() + std::time::Duration::from_millis(left)
    });
    // Set once the deadline passed; from then on every poll applies the timeout, also after a
    // writer that held the waiter let go of it without serving.
    let timed_out = std::sync::atomic::AtomicBool::new(false);
    let result = loop {
        if handle.killed.load(Ordering::Relaxed) {
            break None;
        }
        tokio::select! {
            biased;
            r = std::future::poll_fn(|cx| {
                if timed_out.load(Ordering::Relaxed) {
                    w.finish_timeout();
                }
                w.poll_reply(cx)
            }) => break Some(r),
            // Killed (checked at the top of the loop), or a query buffer shrink request,
            // which waits until the client is unblocked.
            _ = handle.kill_notify.notified() => {}
            r = rd.read_buf(rbuf) => match r {
                Ok(0) | Err(_) => break None,
                Ok(_) => rbuf.reserve(16 * 1024),
            },
            _ = sleep_until_opt(deadline), if !timed_out.load(Ordering::Relaxed) => {
                timed_out.store(true, Ordering::Relaxed);
            }
        }
    };
    if result.is_none() {
        blocking::finish_abandoned(&sh.engine, &w);
    } else {
        blocking::unregister(&sh.engine, &w);
    }
    handle.set_flag(flags::BLOCKED, false);
    *handle.blocked.lock() = None;
    result
}

async fn sleep_until_opt(t: Option<tokio::time::Instant>) {
    match t {
        Some(t) => tokio::time::sleep_until(t).await,
        None => std::future::pending().await,
    }
}

/// Encode a reply honouring CLIENT REPLY and count errors.
fn emit(sh: &Shared, c: &mut Client, reply: &Reply, out: &mut BytesMut) {
    if let Reply::Error(e) = reply {
        sh.record_error(e);
    }
    match c.reply_mode {
        ReplyMode::On => reply.encode(c.resp, out),
        ReplyMode::Off => {}
        ReplyMode::Skip => c.reply_mode = ReplyMode::SkipThis,
        ReplyMode::SkipThis => c.reply_mode = ReplyMode::On,
    }
}

async fn flush<W: AsyncWrite + Unpin>(
    sh: &Shared,
    wr: &mut W,
    out: &mut BytesMut,
) -> std::io::Result<()> {
    if out.is_empty() {
        return Ok(());
    }
    wr.write_all(out).await?;
    sh.stats
        .net_output_bytes
        .fetch_add(out.len() as u64, Ordering::Relaxed);
    sh.stats
        .total_writes_processed
        .fetch_add(1, Ordering::Relaxed);
    out.clear();
    Ok(())
}

/// [`flush`] of a subscriber's messages, abandoned when the client is killed meanwhile:
/// one over its output-buffer limit that does not read its socket would block the write
/// forever. While blocked, the soft limit is re-checked even if no message arrives
/// (Redis's clientsCron does), so a subscriber over it is closed once its time is up.
async fn flush_unless_killed<W: AsyncWrite + Unpin>(
    sh: &Shared,
    handle: &ClientHandle,
    sub: &crate::pubsub::Subscriber,
    wr: &mut W,
    out: &mut BytesMut,
) -> std::io::Result<()> {
    if handle.killed.load(Ordering::Relaxed) {
        return Err(std::io::ErrorKind::ConnectionAborted.into());
    }
    let write = flush(sh, wr, out);
    tokio::pin!(write);
    let mut tick = tokio::time::interval(std::time::Duration::from_millis(100));
    loop {
        tokio::select! {
            r = &mut write => return r,
            // The same notification also asks idle clients to shrink their query buffer:
            // only a kill ends the write.
            _ = handle.kill_notify.notified() => {
                if handle.killed.load(Ordering::Relaxed) {
                    return Err(std::io::ErrorKind::ConnectionAborted.into());
                }
            }
            _ = tick.tick() => {
                if sub.soft_since() != 0 && sh.pubsub.check_limits(sub) {
                    return Err(std::io::ErrorKind::ConnectionAborted.into());
                }
            }
        }
    }
}

async fn notified_opt(s: &Option<Arc<crate::pubsub::Subscriber>>) {
    match s {
        Some(s) => s.notify.notified().await,
        None => std::future::pending().await,
    }
}

async fn recv_opt(rx: &mut Option<mpsc::UnboundedReceiver<Bytes>>) -> Option<Bytes> {
    match rx {
        Some(r) => r.recv().await,
        None => std::future::pending().await,
    }
}

async fn sleep_opt(d: Option<std::time::Duration>) {
    match d {
        Some(d) => tokio::time::sleep(d).await,
        None => std::future::pending().await,
    }
}

/// CLIENT PAUSE: hold the command until the pause ends (WRITE pauses only
/// commands that may write).
async fn wait_if_paused(sh: &Shared, client: &Client, argv: &[Bytes]) {
    if sh.pause_mode.load(Ordering::Relaxed) == 0 {
        return;
    }
    loop {
        let p = *sh.pause.lock();
        if p.mode == 0 {
            return;
        }
        let now = ferrodis_commands::engine::wall_ms();
        if now >= p.until_ms {
            let mut g = sh.pause.lock();
            if g.until_ms <= now {
                *g = Default::default();
                sh.pause_mode.store(0, Ordering::Relaxed);
            }
            return;
        }
        if p.mode == 1 && !crate::dispatch::may_replicate(sh, client, argv) {
            return;
        }
        let wait = std::time::Duration::from_millis((p.until_ms - now) as u64);
        tokio::select! {
            _ = tokio::time::sleep(wait) => {}
            _ = sh.pause_changed.notified() => {}
        }
    }
}

/// Puts the running task back at the end of its thread's run queue once: the tasks already
/// woken (other connections with input) run before it resumes. Unlike
/// `tokio::task::yield_now`, which holds the task until the runtime has polled its I/O
/// driver again, this costs no extra `epoll_wait` when the task is alone.
struct Requeue(bool);

impl std::future::Future for Requeue {
    type Output = ();
    fn poll(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<()> {
        if self.0 {
            return std::task::Poll::Ready(());
        }
        self.0 = true;
        cx.waker().wake_by_ref();
        std::task::Poll::Pending
    }
}
