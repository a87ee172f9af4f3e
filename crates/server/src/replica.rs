//! The replica side of replication: REPLICAOF / SLAVEOF, and the link to the master — connect,
//! handshake (PING, AUTH, REPLCONF), PSYNC, receive the snapshot (`$<len>` or diskless
//! `$EOF:<mark>`), load it, then apply the master's command stream as the master client,
//! acknowledging the offset every second. A lost link is retried every second.
//!
//! While a replica, writes from ordinary clients get READONLY (`replica-read-only`), and with
//! `replica-serve-stale-data no` commands that do not allow stale data get MASTERDOWN until the
//! link is up. Like Redis, a replica is fully resynchronized on each new link (there is no
//! backlog to continue from yet).

use crate::client::flags;
use crate::dispatch::{dispatch, Client};
use crate::state::Shared;
use bytes::{Buf, Bytes, BytesMut};
use ferrodis_commands::Reply;
use ferrodis_resp::request::{Limits, RequestParser};
use parking_lot::Mutex;
use std::io::Write;
use std::sync::atomic::{AtomicBool, AtomicI64, AtomicU64, Ordering};
use std::sync::Arc;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// Where this server replicates from, and the state of its link.
#[derive(Default)]
pub struct ReplicaState {
    /// `Some((host, port))` while a replica.
    pub master: Mutex<Option<(String, u16)>>,
    /// `master.is_some()`, readable by every command without a lock.
    active: AtomicBool,
    /// Bumped by every REPLICAOF: a link task whose generation is stale stops.
    generation: AtomicU64,
    pub link_up: AtomicBool,
    pub sync_in_progress: AtomicBool,
    /// Offset of the master's stream applied so far.
    pub offset: AtomicI64,
    /// Unix ms of the last byte from the master, and since when the link is down.
    pub last_io_ms: AtomicI64,
    pub down_since_ms: AtomicI64,
}

impl ReplicaState {
    #[inline]
    pub fn is_replica(&self) -> bool {
        self.active.load(Ordering::Relaxed)
    }
}

/// Is this server a replica whose link is down, serving stale data is refused, and the
/// command does not allow it? (Redis's MASTERDOWN check in processCommand.)
pub fn refuses_stale(sh: &Shared) -> bool {
    sh.replica.is_replica()
        && !sh.replica.link_up.load(Ordering::Relaxed)
        && !sh.limits.replica_serve_stale_data.load(Ordering::Relaxed)
}

/// Writes are refused from ordinary clients of a read-only replica.
pub fn read_only(sh: &Shared) -> bool {
    sh.replica.is_replica() && sh.limits.replica_read_only.load(Ordering::Relaxed)
}

pub const READONLY: &str = "READONLY You can't write against a read only replica.";
pub const MASTERDOWN: &str =
    "MASTERDOWN Link with MASTER is down and replica-serve-stale-data is set to 'no'.";

/// REPLICAOF / SLAVEOF host port | NO ONE.
pub fn replicaof(sh: &Arc<Shared>, argv: &[Bytes]) -> Reply {
    if argv[1].eq_ignore_ascii_case(b"no") && argv[2].eq_ignore_ascii_case(b"one") {
        if sh.replica.master.lock().take().is_some() {
            sh.replica.active.store(false, Ordering::Relaxed);
            sh.replica.generation.fetch_add(1, Ordering::SeqCst);
            sh.replica.link_up.store(false, Ordering::Relaxed);
            sh.replica.sync_in_progress.store(false, Ordering::Relaxed);
            // A new history starts here (Redis shifts the old id to replid2).
            *sh.replid.lock() = crate::state::random_hex40();
            tracing::info!("MASTER MODE enabled (user request from 'id=?')");
        }
        return Reply::Ok;
    }
    let port = match std::str::from_utf8(&argv[2])
        .ok()
        .and_then(|p| p.parse::<i64>().ok())
    {
        Some(p) => p,
        None => return Reply::err_static("ERR value is not an integer or out of range"),
    };
    let Ok(port) = u16::try_from(port) else {
        return Reply::err_static("ERR Invalid master port");
    };
    let host = String::from_utf8_lossy(&argv[1]).into_owned();
    {
        let mut m = sh.replica.master.lock();
        if m.as_ref()
            .is_some_and(|(h, p)| h.eq_ignore_ascii_case(&host) && *p == port)
        {
            tracing::info!("REPLICAOF would result into synchronization with the master we are already connected with. No operation performed.");
            return Reply::status("OK Already connected to specified master");
        }
        *m = Some((host.clone(), port));
        sh.replica.active.store(true, Ordering::Relaxed);
    }
    let generation = sh.replica.generation.fetch_add(1, Ordering::SeqCst) + 1;
    sh.replica.link_up.store(false, Ordering::Relaxed);
    sh.replica
        .down_since_ms
        .store(ferrodis_commands::engine::wall_ms(), Ordering::Relaxed);
    // Our own replicas start over from the new history.
    sh.repl.disconnect_all();
    tracing::info!("Connecting to MASTER {host}:{port}");
    tracing::info!("REPLICAOF {host}:{port} enabled (user request from 'id=?')");
    let task_sh = sh.clone();
    tokio::spawn(async move { link(task_sh, host, port, generation).await });
    Reply::Ok
}

fn current(sh: &Shared, generation: u64) -> bool {
    sh.replica.generation.load(Ordering::SeqCst) == generation
}

/// The link task: (re)connects until REPLICAOF changes.
async fn link(sh: Arc<Shared>, host: String, port: u16, generation: u64) {
    while current(&sh, generation) {
        match session(&sh, &host, port, generation).await {
            Ok(()) => {}
            Err(e) => {
                if current(&sh, generation) {
                    tracing::warn!("Error condition on socket for SYNC: {e}");
                }
            }
        }
        if sh.replica.link_up.swap(false, Ordering::Relaxed) {
            sh.replica
                .down_since_ms
                .store(ferrodis_commands::engine::wall_ms(), Ordering::Relaxed);
            tracing::info!("Connection with master lost.");
        }
        sh.replica.sync_in_progress.store(false, Ordering::Relaxed);
        tokio::time::sleep(std::time::Duration::from_secs(1)).await;
    }
}

type IoResult<T> = std::io::Result<T>;

fn io_err(msg: impl Into<String>) -> std::io::Error {
    std::io::Error::other(msg.into())
}

/// Reads one `\r\n`-terminated line (without it), skipping the bare `\n` keepalives a master
/// sends while it prepares the snapshot.
async fn read_line(s: &mut TcpStream, buf: &mut BytesMut) -> IoResult<String> {
    loop {
        while buf.first() == Some(&b'\n') {
            buf.advance(1);
        }
        if let Some(end) = buf.windows(2).position(|w| w == b"\r\n") {
            let line = String::from_utf8_lossy(&buf[..end]).into_owned();
            buf.advance(end + 2);
            return Ok(line);
        }
        if buf.len() > 64 * 1024 {
            return Err(io_err("protocol line too long"));
        }
        if s.read_buf(buf).await? == 0 {
            return Err(io_err("connection closed by the master"));
        }
    }
}

async fn send_command(s: &mut TcpStream, args: &[&[u8]]) -> IoResult<()> {
    let mut out = BytesMut::new();
    crate::replication::write_command(&mut out, args);
    s.write_all(&out).await
}

/// One connection to the master: handshake, full sync, then the stream until it breaks.
async fn session(sh: &Arc<Shared>, host: &str, port: u16, generation: u64) -> IoResult<()> {
    let timeout = std::time::Duration::from_secs(
        sh.config
            .read()
            .get_int("repl-timeout")
            .unwrap_or(60)
            .max(1) as u64,
    );
    let mut s = tokio::time::timeout(timeout, TcpStream::connect((host, port)))
        .await
        .map_err(|_| io_err("Timeout connecting to the MASTER..."))??;
    let _ = s.set_nodelay(true);
    tracing::info!("MASTER <-> REPLICA sync started");
    let mut buf = BytesMut::with_capacity(16 * 1024);
    send_command(&mut s, &[b"PING"]).await?;
    let pong = read_line(&mut s, &mut buf).await?;
    // -NOAUTH is fine here: AUTH follows.
    if pong.starts_with('-') && !pong.starts_with("-NOAUTH") {
        return Err(io_err(format!("Error reply to PING from master: '{pong}'")));
    }
    tracing::info!("Master replied to PING, replication can continue...");
    let (user, pass) = {
        let c = sh.config.read();
        (c.get_one("masteruser"), c.get_one("masterauth"))
    };
    if let Some(pass) = pass.filter(|p| !p.is_empty()) {
        match user.filter(|u| !u.is_empty()) {
            Some(u) => send_command(&mut s, &[b"AUTH", u.as_bytes(), pass.as_bytes()]).await?,
            None => send_command(&mut s, &[b"AUTH", pass.as_bytes()]).await?,
        }
        let r = read_line(&mut s, &mut buf).await?;
        if r.starts_with('-') {
            return Err(io_err(format!("Unable to AUTH to MASTER: {r}")));
        }
    }
    let our_port = sh.tcp_port.load(Ordering::Relaxed).to_string();
    send_command(
        &mut s,
        &[b"REPLCONF", b"listening-port", our_port.as_bytes()],
    )
    .await?;
    let _ = read_line(&mut s, &mut buf).await?;
    send_command(&mut s, &[b"REPLCONF", b"capa", b"eof", b"capa", b"psync2"]).await?;
    let _ = read_line(&mut s, &mut buf).await?;
    send_command(&mut s, &[b"PSYNC", b"?", b"-1"]).await?;
    let reply = read_line(&mut s, &mut buf).await?;
    let (replid, offset) = match reply.strip_prefix("+FULLRESYNC ") {
        Some(rest) => {
            let mut it = rest.split(' ');
            let id = it.next().unwrap_or_default().to_string();
            let off = it.next().and_then(|o| o.parse::<i64>().ok()).unwrap_or(0);
            (id, off)
        }
        None => {
            return Err(io_err(format!(
                "Unexpected reply to PSYNC from master: {reply}"
            )))
        }
    };
    tracing::info!("Full resync from master: {replid}:{offset}");
    sh.replica.sync_in_progress.store(true, Ordering::Relaxed);
    let file = receive_snapshot(sh, &mut s, &mut buf).await?;
    if !current(sh, generation) {
        return Ok(());
    }
    tracing::info!("MASTER <-> REPLICA sync: Flushing old data");
    tracing::info!("MASTER <-> REPLICA sync: Loading DB in memory");
    let loaded = crate::persist::load_from_master(sh, file);
    sh.replica.sync_in_progress.store(false, Ordering::Relaxed);
    match loaded {
        Ok(_) => {}
        Err(e) => {
            return Err(io_err(format!(
                "Failed trying to load the MASTER synchronization DB from socket: {e}"
            )))
        }
    }
    *sh.replid.lock() = replid;
    sh.replica.offset.store(offset, Ordering::Relaxed);
    sh.replica.link_up.store(true, Ordering::Relaxed);
    sh.replica
        .last_io_ms
        .store(ferrodis_commands::engine::wall_ms(), Ordering::Relaxed);
    tracing::info!("MASTER <-> REPLICA sync: Finished with success");
    apply_stream(sh, &mut s, &mut buf, generation).await
}

/// Receives the snapshot into a temporary file and returns it opened for reading.
async fn receive_snapshot(
    sh: &Shared,
    s: &mut TcpStream,
    buf: &mut BytesMut,
) -> IoResult<std::fs::File> {
    let header = read_line(s, buf).await?;
    let Some(spec) = header.strip_prefix('$') else {
        return Err(io_err(format!(
            "Bad protocol from MASTER, the first byte is not '$' (we received '{header}'), are you sure the host and port are right?"
        )));
    };
    let dir = std::path::PathBuf::from(sh.config.read().dir());
    let path = dir.join(format!(
        "temp-{}.{}.rdb",
        ferrodis_commands::engine::wall_ms() / 1000,
        std::process::id()
    ));
    let mut file = std::fs::File::create(&path)?;
    // Removed at once: the open handle keeps the data, and nothing is left behind.
    let reader = std::fs::File::open(&path)?;
    let _ = std::fs::remove_file(&path);
    if let Some(mark) = spec.strip_prefix("EOF:") {
        // Diskless: the payload ends with the 40-byte mark.
        let mark = mark.as_bytes().to_vec();
        tracing::info!(
            "MASTER <-> REPLICA sync: receiving streamed RDB from master with EOF to disk"
        );
        let mut tail: Vec<u8> = Vec::new();
        loop {
            if buf.is_empty() && s.read_buf(buf).await? == 0 {
                return Err(io_err("connection closed during the snapshot"));
            }
            tail.extend_from_slice(&buf[..]);
            buf.clear();
            if tail.len() >= mark.len() && tail[tail.len() - mark.len()..] == mark[..] {
                file.write_all(&tail[..tail.len() - mark.len()])?;
                break;
            }
            let keep = mark.len().min(tail.len());
            let cut = tail.len() - keep;
            file.write_all(&tail[..cut])?;
            tail.drain(..cut);
        }
    } else {
        let mut left: u64 = spec
            .parse()
            .map_err(|_| io_err(format!("bad snapshot length '{spec}'")))?;
        tracing::info!("MASTER <-> REPLICA sync: receiving {left} bytes from master to disk");
        while left > 0 {
            if buf.is_empty() && s.read_buf(buf).await? == 0 {
                return Err(io_err("connection closed during the snapshot"));
            }
            let n = (buf.len() as u64).min(left) as usize;
            file.write_all(&buf[..n])?;
            buf.advance(n);
            left -= n as u64;
        }
    }
    file.flush()?;
    Ok(reader)
}

/// Applies the master's commands as they come, counting the offset, and acknowledges it
/// every second (and when the master asks with REPLCONF GETACK).
async fn apply_stream(
    sh: &Arc<Shared>,
    s: &mut TcpStream,
    buf: &mut BytesMut,
    generation: u64,
) -> IoResult<()> {
    let mut client = Client::internal(sh, flags::MASTER);
    let mut parser = RequestParser::new();
    let mut ack = tokio::time::interval(std::time::Duration::from_secs(1));
    loop {
        if !current(sh, generation) {
            return Ok(());
        }
        loop {
            let before = buf.len();
            let limits = Limits {
                proto_max_bulk_len: sh.engine.settings.max_bulk(),
                authenticated: true,
            };
            let argv = match parser.parse(buf, &limits) {
                Ok(Some(argv)) => argv,
                Ok(None) => break,
                Err(e) => return Err(io_err(e.redis_message())),
            };
            let consumed = (before - buf.len()) as i64;
            if argv.is_empty() {
                sh.replica.offset.fetch_add(consumed, Ordering::Relaxed);
                continue;
            }
            if argv[0].eq_ignore_ascii_case(b"replconf")
                && argv
                    .get(1)
                    .is_some_and(|a| a.eq_ignore_ascii_case(b"getack"))
            {
                sh.replica.offset.fetch_add(consumed, Ordering::Relaxed);
                send_ack(sh, s).await?;
                continue;
            }
            let reply = dispatch(sh, &mut client, argv);
            if let Some(job) = client.pending_script.take() {
                crate::cmd::scripting::run_pending(sh, job).await;
            }
            if let Reply::Error(e) = &reply {
                tracing::warn!(
                    "== CRITICAL == This replica is sending an error to its master: '{}'",
                    String::from_utf8_lossy(e)
                );
            }
            sh.replica.offset.fetch_add(consumed, Ordering::Relaxed);
        }
        tokio::select! {
            r = s.read_buf(buf) => {
                if r? == 0 {
                    return Err(io_err("connection closed by the master"));
                }
                sh.replica.last_io_ms.store(
                    ferrodis_commands::engine::wall_ms(),
                    Ordering::Relaxed,
                );
            }
            _ = ack.tick() => send_ack(sh, s).await?,
        }
    }
}

async fn send_ack(sh: &Shared, s: &mut TcpStream) -> IoResult<()> {
    let off = sh.replica.offset.load(Ordering::Relaxed).to_string();
    send_command(s, &[b"REPLCONF", b"ACK", off.as_bytes()]).await
}

/// INFO replication of a replica (after `role:slave`).
pub fn info_lines(sh: &Shared) -> Option<String> {
    let (host, port) = sh.replica.master.lock().clone()?;
    let r = &sh.replica;
    let now = ferrodis_commands::engine::wall_ms();
    let up = r.link_up.load(Ordering::Relaxed);
    let last_io = r.last_io_ms.load(Ordering::Relaxed);
    let mut o = format!(
        "master_host:{host}\r\nmaster_port:{port}\r\nmaster_link_status:{}\r\nmaster_last_io_seconds_ago:{}\r\nmaster_sync_in_progress:{}\r\nslave_read_repl_offset:{off}\r\nslave_repl_offset:{off}\r\n",
        if up { "up" } else { "down" },
        if up && last_io > 0 { (now - last_io) / 1000 } else { -1 },
        u8::from(r.sync_in_progress.load(Ordering::Relaxed)),
        off = r.offset.load(Ordering::Relaxed),
    );
    if !up {
        let since = r.down_since_ms.load(Ordering::Relaxed);
        o.push_str(&format!(
            "master_link_down_since_seconds:{}\r\n",
            if since > 0 { (now - since) / 1000 } else { -1 }
        ));
    }
    let c = sh.config.read();
    o.push_str(&format!(
        "slave_priority:{}\r\nslave_read_only:{}\r\nreplica_announced:{}\r\n",
        c.get_int("replica-priority").unwrap_or(100),
        u8::from(c.get_bool("replica-read-only").unwrap_or(true)),
        u8::from(c.get_bool("replica-announced").unwrap_or(true)),
    ));
    Some(o)
}
