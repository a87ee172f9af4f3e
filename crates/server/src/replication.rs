//! The master side of replication: a replica (or anything speaking the protocol, such as the
//! Redis test suite's `attach_to_replication_stream`) sends SYNC or PSYNC and gets a full
//! resynchronization: a point-in-time snapshot (the fork-less BGSAVE, written to disk first
//! as with Redis's `repl-diskless-sync no`) as one bulk payload, then the propagation stream
//! from that very moment as RESP commands, with a SELECT whenever the database changes.
//!
//! The stream is encoded once for all replicas (Redis's replicationFeedSlaves): the
//! [`ReplStream`] sink is attached to the engine's propagation only while a replica is
//! connected, so a server without replicas pays nothing on writes. There is no backlog yet, so
//! every PSYNC is answered with FULLRESYNC.

use crate::client::{flags, ClientHandle};
use crate::state::Shared;
use bytes::{Bytes, BytesMut};
use ferrodis_commands::engine::{Propagated, PropagationSink};
use ferrodis_resp::request::{Limits, RequestParser};
use parking_lot::Mutex;
use std::collections::VecDeque;
use std::sync::atomic::{AtomicBool, AtomicI64, AtomicU64, AtomicUsize, Ordering};
use std::sync::Arc;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::sync::Notify;

/// One connected replica, as the stream and INFO see it.
pub struct Replica {
    pub handle: Arc<ClientHandle>,
    queue: Mutex<VecDeque<Bytes>>,
    /// Stream bytes queued and not yet written to the socket (its output buffer).
    queued: AtomicUsize,
    notify: Notify,
    /// Unix seconds since the output buffer went over the soft limit (0 = under it).
    soft_since: AtomicI64,
    closing: AtomicBool,
    /// Sending the snapshot (`wait_bgsave`) until the stream starts (`online`).
    online: AtomicBool,
    /// The last REPLCONF ACK offset and when it came (unix ms).
    pub ack_offset: AtomicI64,
    pub ack_ms: AtomicI64,
    pub listening_port: u16,
}

#[derive(Default)]
struct StreamState {
    /// The database the stream last selected (None: the next command selects).
    seldb: Option<usize>,
    replicas: Vec<Arc<Replica>>,
}

/// The replication stream: encodes propagated commands once and queues them to every replica.
#[derive(Default)]
pub struct ReplStream {
    state: Mutex<StreamState>,
    /// Bytes of stream produced so far (`master_repl_offset`).
    pub offset: AtomicU64,
}

impl PropagationSink for ReplStream {
    fn feed(&self, cmds: &[Propagated]) {
        let mut st = self.state.lock();
        if st.replicas.is_empty() {
            return;
        }
        let mut out = BytesMut::new();
        for c in cmds {
            if st.seldb != Some(c.db) {
                let db = c.db.to_string();
                write_command(&mut out, &[b"SELECT", db.as_bytes()]);
                st.seldb = Some(c.db);
            }
            let args: Vec<&[u8]> = c.argv.iter().map(|a| &a[..]).collect();
            write_command(&mut out, &args);
        }
        self.push(&st, out.freeze());
    }
}

impl ReplStream {
    fn push(&self, st: &StreamState, bytes: Bytes) {
        self.offset.fetch_add(bytes.len() as u64, Ordering::Relaxed);
        for r in &st.replicas {
            if r.closing.load(Ordering::Relaxed) {
                continue;
            }
            r.queue.lock().push_back(bytes.clone());
            r.queued.fetch_add(bytes.len(), Ordering::Relaxed);
            r.notify.notify_one();
        }
    }

    /// The master's periodic PING (`repl-ping-replica-period`), part of the stream and of
    /// its offset, with no SELECT.
    pub fn ping(&self) {
        let st = self.state.lock();
        if !st.replicas.is_empty() {
            self.push(&st, Bytes::from_static(b"*1\r\n$4\r\nPING\r\n"));
        }
    }

    /// Drops every replica (this server changed master: they must resynchronize).
    pub fn disconnect_all(&self) {
        for r in self.replicas() {
            r.closing.store(true, Ordering::Relaxed);
            r.handle.kill();
        }
    }

    pub fn replicas(&self) -> Vec<Arc<Replica>> {
        self.state.lock().replicas.clone()
    }

    /// Adds a replica at the snapshot's moment (called under every shard lock, so no write
    /// falls between the snapshot and the stream). Returns the stream offset of that moment.
    fn add(&self, sh: &Shared, r: Arc<Replica>) -> u64 {
        let mut st = self.state.lock();
        if st.replicas.is_empty() {
            sh.engine.propagation.attach(sh.repl_sink());
        }
        st.replicas.push(r);
        // Redis re-selects after a new replica joins (slaveseldb = -1).
        st.seldb = None;
        self.offset.load(Ordering::Relaxed)
    }

    fn remove(&self, sh: &Shared, r: &Arc<Replica>) {
        let mut st = self.state.lock();
        let before = st.replicas.len();
        st.replicas.retain(|x| !Arc::ptr_eq(x, r));
        if before > 0 && st.replicas.is_empty() {
            sh.engine.propagation.detach(&sh.repl_sink());
        }
    }
}

/// Appends `args` as a RESP array of bulk strings (a command as a client sends it).
pub fn write_command(out: &mut BytesMut, args: &[&[u8]]) {
    ferrodis_resp::encode::write_array_len(out, args.len());
    for a in args {
        ferrodis_resp::encode::write_bulk(out, a);
    }
}

/// INFO replication: `connected_slaves` and one `slaveN` line per replica.
pub fn info_lines(sh: &Shared) -> String {
    use std::fmt::Write;
    let replicas = sh.repl.replicas();
    let now_ms = ferrodis_commands::engine::wall_ms();
    let mut o = format!("connected_slaves:{}\r\n", replicas.len());
    for (i, r) in replicas.iter().enumerate() {
        let ip = r.handle.ip();
        let online = r.online.load(Ordering::Relaxed);
        let ack_ms = r.ack_ms.load(Ordering::Relaxed);
        let lag = if ack_ms > 0 {
            (now_ms - ack_ms) / 1000
        } else {
            (now_ms - r.handle.created_ms) / 1000
        };
        let _ = write!(
            o,
            "slave{i}:ip={ip},port={},state={},offset={},lag={lag}\r\n",
            r.listening_port,
            if online { "online" } else { "wait_bgsave" },
            r.ack_offset.load(Ordering::Relaxed).max(0),
        );
    }
    o
}

/// Serves SYNC / PSYNC on this connection until the replica goes away. `rbuf` holds what the
/// client sent after the command (REPLCONF ACKs of a real replica).
#[allow(clippy::too_many_arguments)] // the connection's whole state, handed over
pub async fn serve_replica<R, W>(
    sh: &Arc<Shared>,
    handle: &Arc<ClientHandle>,
    rd: &mut R,
    wr: &mut W,
    rbuf: &mut BytesMut,
    psync: bool,
    listening_port: u16,
) where
    R: AsyncRead + Unpin,
    W: AsyncWrite + Unpin,
{
    handle.set_flag(flags::REPLICA, true);
    let replica = Arc::new(Replica {
        handle: handle.clone(),
        queue: Mutex::new(VecDeque::new()),
        queued: AtomicUsize::new(0),
        notify: Notify::new(),
        soft_since: AtomicI64::new(0),
        closing: AtomicBool::new(false),
        online: AtomicBool::new(false),
        ack_offset: AtomicI64::new(-1),
        ack_ms: AtomicI64::new(0),
        listening_port,
    });
    tracing::info!(
        "Replica {} asks for synchronization",
        replica_name(handle, listening_port)
    );
    let result = full_sync(sh, &replica, wr, psync).await;
    if result.is_ok() {
        replica.online.store(true, Ordering::Relaxed);
        tracing::info!(
            "Synchronization with replica {} succeeded",
            replica_name(handle, listening_port)
        );
        stream_loop(sh, &replica, rd, wr, rbuf).await;
    }
    replica.closing.store(true, Ordering::Relaxed);
    sh.repl.remove(sh, &replica);
    tracing::info!(
        "Connection with replica {} lost.",
        replica_name(handle, listening_port)
    );
}

fn replica_name(handle: &ClientHandle, port: u16) -> String {
    format!("{}:{port}", handle.ip())
}

/// Takes the snapshot with this replica attached to the stream at its moment, then sends it.
async fn full_sync<W>(
    sh: &Arc<Shared>,
    replica: &Arc<Replica>,
    wr: &mut W,
    psync: bool,
) -> std::io::Result<()>
where
    W: AsyncWrite + Unpin,
{
    let offset = Arc::new(AtomicU64::new(0));
    let mut keepalive = tokio::time::interval(std::time::Duration::from_secs(1));
    keepalive.tick().await;
    // Wait for a BGSAVE that is already running (its moment is not ours), then start ours.
    let mut rx = loop {
        if replica.handle.killed.load(Ordering::Relaxed) {
            return Err(std::io::ErrorKind::ConnectionAborted.into());
        }
        if !sh.bgsave_in_progress.load(Ordering::Acquire) {
            let (tx, rx) = tokio::sync::oneshot::channel::<std::io::Result<std::fs::File>>();
            let r = replica.clone();
            let off = offset.clone();
            let hooks = crate::persist::SnapshotHooks {
                at_start: Box::new(move |sh: &Shared| {
                    off.store(sh.repl.add(sh, r), Ordering::Relaxed);
                }),
                at_end: Box::new(move |res| {
                    let _ = tx.send(res);
                }),
            };
            if crate::persist::bgsave_with(sh, Some(hooks)).is_ok() {
                break rx;
            }
        }
        tokio::select! {
            _ = tokio::time::sleep(std::time::Duration::from_millis(10)) => {}
            _ = keepalive.tick() => wr.write_all(b"\n").await?,
        }
    };
    // A newline a second while the snapshot is written keeps the replica from timing out.
    let file = loop {
        tokio::select! {
            r = &mut rx => match r {
                Ok(Ok(f)) => break f,
                Ok(Err(e)) => {
                    tracing::warn!("Replication snapshot failed: {e}");
                    return Err(e);
                }
                Err(_) => return Err(std::io::ErrorKind::BrokenPipe.into()),
            },
            _ = keepalive.tick() => wr.write_all(b"\n").await?,
            _ = replica.handle.kill_notify.notified() => {
                if replica.handle.killed.load(Ordering::Relaxed) {
                    return Err(std::io::ErrorKind::ConnectionAborted.into());
                }
            }
        }
    };
    if psync {
        let line = format!(
            "+FULLRESYNC {} {}\r\n",
            sh.replid.lock(),
            offset.load(Ordering::Relaxed)
        );
        wr.write_all(line.as_bytes()).await?;
    }
    let len = file.metadata()?.len();
    wr.write_all(format!("${len}\r\n").as_bytes()).await?;
    // The file was just written: its pages are cached, so these reads do not wait on disk.
    let mut file = file;
    let mut buf = vec![0u8; 1 << 16];
    loop {
        let n = std::io::Read::read(&mut file, &mut buf)?;
        if n == 0 {
            break;
        }
        wr.write_all(&buf[..n]).await?;
    }
    wr.flush().await?;
    Ok(())
}

/// Streams the queued commands and reads what the replica sends (REPLCONF ACK).
async fn stream_loop<R, W>(
    sh: &Arc<Shared>,
    replica: &Arc<Replica>,
    rd: &mut R,
    wr: &mut W,
    rbuf: &mut BytesMut,
) where
    R: AsyncRead + Unpin,
    W: AsyncWrite + Unpin,
{
    let mut parser = RequestParser::new();
    let mut out = BytesMut::new();
    loop {
        if replica.handle.killed.load(Ordering::Relaxed) || over_limits(sh, replica) {
            return;
        }
        // Commands that arrived with or after the SYNC.
        loop {
            let limits = Limits {
                proto_max_bulk_len: sh.engine.settings.max_bulk(),
                authenticated: true,
            };
            match parser.parse(rbuf, &limits) {
                Ok(Some(argv)) => on_replica_command(replica, &argv),
                Ok(None) => break,
                Err(_) => return,
            }
        }
        let pending: Vec<Bytes> = replica.queue.lock().drain(..).collect();
        if !pending.is_empty() {
            let n: usize = pending.iter().map(Bytes::len).sum();
            for b in pending {
                out.extend_from_slice(&b);
            }
            if wr.write_all(&out).await.is_err() {
                return;
            }
            out.clear();
            replica.queued.fetch_sub(n, Ordering::Relaxed);
            continue;
        }
        tokio::select! {
            _ = replica.notify.notified() => {}
            r = rd.read_buf(rbuf) => match r {
                Ok(0) | Err(_) => return,
                Ok(_) => {}
            },
            _ = replica.handle.kill_notify.notified() => {}
            // The soft output-buffer limit is timed even when nothing new arrives.
            _ = tokio::time::sleep(std::time::Duration::from_millis(500)) => {}
        }
    }
}

fn on_replica_command(replica: &Replica, argv: &[Bytes]) {
    if argv.len() >= 3
        && argv[0].eq_ignore_ascii_case(b"replconf")
        && argv[1].eq_ignore_ascii_case(b"ack")
    {
        if let Some(off) = std::str::from_utf8(&argv[2])
            .ok()
            .and_then(|s| s.parse::<i64>().ok())
        {
            replica.ack_offset.store(off, Ordering::Relaxed);
            replica
                .ack_ms
                .store(ferrodis_commands::engine::wall_ms(), Ordering::Relaxed);
        }
    }
}

/// `client-output-buffer-limit replica`: over the hard limit, or over the soft limit for
/// longer than its seconds, the replica is dropped.
fn over_limits(sh: &Shared, replica: &Replica) -> bool {
    let used = replica.queued.load(Ordering::Relaxed) as u64;
    let over = crate::pubsub::obuf_over(used, sh.pubsub.class_limits(1), &replica.soft_since);
    if over {
        sh.pubsub.obuf_closed(&replica.handle);
    }
    over
}
