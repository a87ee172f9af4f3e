//! One task per connection: read, decode every complete command in the buffer,
//! execute them as a batch, write all replies with one write.
//! Hot path: decode → dispatch → encode.

use crate::client::{flags, ClientHandle};
use crate::cmd::scripting::Gate;
use crate::dispatch::{dispatch, After, Client, ReplyMode};
use crate::state::Shared;
use bytes::{Bytes, BytesMut};
use ferrodis_commands::blocking::{self, Waiter};
use ferrodis_commands::meta::cmd_flags;
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

    'conn: loop {
        if handle.killed.load(Ordering::Relaxed) {
            break;
        }
        let timeout = sh.limits.timeout_secs.load(Ordering::Relaxed);
        let idle_limit = if timeout > 0 && !handle.has_flag(flags::MONITOR) {
            Some(std::time::Duration::from_secs(timeout))
        } else {
            None
        };
        rbuf.reserve(16 * 1024);
        let n = tokio::select! {
            // Fixed order: no per-poll random branch choice on the hot path.
            biased;
            r = rd.read_buf(&mut rbuf) => match r {
                Ok(0) | Err(_) => break 'conn,
                Ok(n) => n,
            },
            _ = handle.kill_notify.notified() => break 'conn,
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
                    if sh.pause_mode.load(Ordering::Relaxed) != 0 {
                        wait_if_paused(&sh, &argv).await;
                    }
                    handle.qbuf.store(rbuf.len(), Ordering::Relaxed);
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
                            Gate::Reply(r) => r,
                        }
                    };
                    if let Some(rx) = client.pending_script.take() {
                        reply = rx
                            .await
                            .unwrap_or_else(|_| Reply::err_static("ERR script executor stopped"));
                        // Counted as a call when dispatched; its error counts as failed now.
                        if reply.is_error() {
                            if let Some(st) = sh.cmdstats.get(handle.last_cmd_name()) {
                                st.failed_calls.fetch_add(1, Ordering::Relaxed);
                            }
                        }
                    }
                    if let Reply::Blocked(w) = reply {
                        // Replies of the commands before it go out now; the rest of the
                        // pipeline waits in `rbuf` until the client is served.
                        if flush(&sh, &mut wr, &mut out).await.is_err() {
                            blocking::finish_abandoned(&sh.engine, &w.0);
                            break 'conn;
                        }
                        match wait_blocked(&sh, &handle, &mut rd, &mut rbuf, w.0).await {
                            Some(r) => {
                                // The call was counted when it blocked; an error it ends
                                // with counts as a failed call (Redis's updateStatsOnUnblock).
                                if r.is_error() {
                                    if let Some(st) = sh.cmdstats.get(handle.last_cmd_name()) {
                                        st.failed_calls.fetch_add(1, Ordering::Relaxed);
                                    }
                                }
                                reply = r
                            }
                            None => break 'conn,
                        }
                    }
                    emit(&sh, &mut client, &reply, &mut out);
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
                    if out.len() >= FLUSH_THRESHOLD && flush(&sh, &mut wr, &mut out).await.is_err()
                    {
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
        handle.qbuf.store(rbuf.len(), Ordering::Relaxed);
        handle
            .qbuf_free
            .store(rbuf.capacity() - rbuf.len(), Ordering::Relaxed);
        if !out.is_empty() && flush(&sh, &mut wr, &mut out).await.is_err() {
            break;
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
            _ = handle.kill_notify.notified() => break None,
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
async fn wait_if_paused(sh: &Shared, argv: &[Bytes]) {
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
        if p.mode == 1 {
            let writes = crate::dispatch::resolve(argv)
                .map(|m| m.flags & (cmd_flags::WRITE | cmd_flags::MAY_REPLICATE) != 0)
                .unwrap_or(false);
            if !writes {
                return;
            }
        }
        let wait = std::time::Duration::from_millis((p.until_ms - now) as u64);
        tokio::select! {
            _ = tokio::time::sleep(wait) => {}
            _ = sh.pause_changed.notified() => {}
        }
    }
}
