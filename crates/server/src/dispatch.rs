//! Command dispatch: Redis's processCommand order (lookup, arity, auth, ...),
//! then the handler, then statistics, slow log, latency and MONITOR.
//! Hot path: every command passes here once.

use crate::client::{flags, ClientHandle};
use crate::cmd;
use crate::state::Shared;
use bytes::Bytes;
use ferrodis_commands::errors;
use ferrodis_commands::exec;
use ferrodis_commands::meta::{self, cmd_flags, CommandMeta};
use ferrodis_commands::registry;
use ferrodis_commands::Reply;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Instant;

/// CLIENT REPLY state.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReplyMode {
    On,
    Off,
    /// Skip the reply of the next command only.
    Skip,
    /// Set while executing the command after CLIENT REPLY SKIP.
    SkipThis,
}

/// What the connection must do after a command, besides writing its reply.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum After {
    Continue,
    /// Write the reply, then close (QUIT, protocol errors).
    Close,
    /// SHUTDOWN succeeded: stop the server.
    Shutdown,
    /// Became a MONITOR client.
    Monitor,
}

/// The last command a connection resolved: pipelines repeat the same command,
/// so the name lookups are skipped when argv[0] matches (hot path).
#[derive(Clone)]
pub struct CmdCache {
    name: Bytes,
    meta: &'static CommandMeta,
    container: &'static CommandMeta,
    data: Option<&'static registry::DataCommand>,
    stat: Option<usize>,
}

/// Connection-local client state, owned by the connection task.
pub struct Client {
    pub cache: Option<CmdCache>,
    pub handle: Arc<ClientHandle>,
    pub db: usize,
    pub resp: u8,
    pub authenticated: bool,
    pub reply_mode: ReplyMode,
    pub after: After,
    /// Is this the in-process client of the embedding API?
    pub internal: bool,
    /// Set between MULTI and EXEC/DISCARD.
    pub multi: Option<crate::cmd::multi::MultiState>,
    /// WATCH state: the dirty flag writers set, and this client's watched keys.
    pub watcher: Arc<ferrodis_commands::watch::Watcher>,
    pub watched: Vec<Arc<ferrodis_commands::watch::WatchedKey>>,
    /// The reply of a script the executor is running for this client (see cmd/scripting.rs).
    pub pending_script: Option<tokio::sync::oneshot::Receiver<Reply>>,
}

impl Client {
    pub fn new(handle: Arc<ClientHandle>, authenticated: bool) -> Client {
        Client {
            cache: None,
            handle,
            db: 0,
            resp: 2,
            authenticated,
            reply_mode: ReplyMode::On,
            after: After::Continue,
            internal: false,
            multi: None,
            watcher: Arc::default(),
            watched: Vec::new(),
            pending_script: None,
        }
    }

    pub fn select(&mut self, db: usize) {
        self.db = db;
        self.handle.db.store(db, Ordering::Relaxed);
    }
}

/// Resolve argv to its command metadata (the subcommand for containers), or
/// the error Redis gives for an unknown command/subcommand.
pub fn resolve(argv: &[Bytes]) -> Result<&'static CommandMeta, Reply> {
    let name = &argv[0];
    let Some(m) = meta::lookup(name) else {
        return Err(errors::unknown_command(argv));
    };
    if m.subcommands.is_empty() || argv.len() < 2 {
        return Ok(m);
    }
    match m.subcommand(&argv[1]) {
        Some(s) => Ok(s),
        // CLIENT SETINFO is Redis 7.2's, but current client libraries send it on
        // connect; it runs under the CLIENT container's metadata.
        None if m.name == "client" && argv[1].eq_ignore_ascii_case(b"setinfo") => Ok(m),
        None => Err(errors::unknown_subcommand(&argv[1], m.name)),
    }
}

#[inline]
fn arity_ok(m: &CommandMeta, argc: usize) -> bool {
    let a = m.arity;
    if a > 0 {
        argc == a as usize
    } else {
        argc >= (-a) as usize
    }
}

/// The top-level (container) name of a command: "client" for "client|list".
pub fn top_name(m: &CommandMeta) -> &'static str {
    match m.name.find('|') {
        Some(i) => &m.name[..i],
        None => m.name,
    }
}

/// Execute one command for `c`. Never panics on client input.
pub fn dispatch(sh: &Shared, c: &mut Client, argv: Vec<Bytes>) -> Reply {
    let cached = match &c.cache {
        Some(cc) if cc.name.eq_ignore_ascii_case(&argv[0]) => Some(cc.clone()),
        _ => None,
    };
    let cc = match cached {
        Some(cc) => cc,
        None => {
            let m = match resolve(&argv) {
                Ok(m) => m,
                Err(e) => {
                    if let Some(top) = meta::lookup(&argv[0]) {
                        bump_rejected(sh, top);
                    }
                    flag_transaction(c);
                    return e;
                }
            };
            let top = top_name(m);
            let container = if std::ptr::eq(top, m.name) {
                m
            } else {
                meta::lookup(top.as_bytes()).unwrap_or(m)
            };
            let cc = CmdCache {
                // A copy: a slice would pin the whole read buffer.
                name: Bytes::copy_from_slice(&argv[0]),
                meta: m,
                container,
                data: registry::find(top),
                stat: sh.cmdstats.index_of(m.name),
            };
            // Containers resolve by their subcommand: never cached.
            if m.subcommands.is_empty() && std::ptr::eq(container, m) {
                c.cache = Some(cc.clone());
            }
            cc
        }
    };
    let m = cc.meta;
    if !arity_ok(m, argv.len()) {
        bump_rejected(sh, m);
        flag_transaction(c);
        return errors::wrong_arity(m.name);
    }
    if !c.authenticated
        && m.flags & cmd_flags::NO_AUTH == 0
        && sh.limits.requirepass.read().is_some()
    {
        bump_rejected(sh, m);
        flag_transaction(c);
        return Reply::err_static("NOAUTH Authentication required.");
    }
    if let Some(state) = c.multi.as_mut() {
        if !matches!(
            top_name(m),
            "exec" | "discard" | "multi" | "watch" | "quit" | "reset"
        ) {
            if m.flags & cmd_flags::NO_MULTI != 0 {
                state.dirty_exec = true;
                bump_rejected(sh, m);
                return Reply::err_static("ERR Command not allowed inside a transaction");
            }
            state.queued.push(argv);
            c.handle
                .multi_count
                .store(state.queued.len() as i64, Ordering::Relaxed);
            return Reply::status("QUEUED");
        }
    }
    c.handle.set_last_cmd(m);
    let start = Instant::now();
    let reply = match cc.data {
        Some(dc) => {
            let now = sh.engine.now_ms_at(start);
            exec::execute(&sh.engine, cc.container, dc, &argv, c.db, c.resp, now).reply
        }
        // Scripts run on the script executor; the connection awaits `c.pending_script`.
        None if cmd::scripting::is_script_command(top_name(m)) => {
            let wait_here = c.internal;
            cmd::scripting::command(sh, c, top_name(m), &argv, wait_here)
        }
        None => cmd::server_command(sh, c, top_name(m), &argv),
    };
    let elapsed = start.elapsed();
    let us = elapsed.as_micros() as u64;
    if let Some(st) = cc.stat.and_then(|i| sh.cmdstats.at(i)) {
        count_call(st, us, &reply);
    }
    sh.stats
        .total_commands_processed
        .fetch_add(1, Ordering::Relaxed);
    if m.flags & cmd_flags::SKIP_SLOWLOG == 0 {
        let thr = sh.limits.slowlog_log_slower_than.load(Ordering::Relaxed);
        if thr >= 0 && us >= thr as u64 {
            let name = c.handle.name.lock().clone().unwrap_or_default();
            let max = sh.limits.slowlog_max_len.load(Ordering::Relaxed);
            sh.slowlog
                .lock()
                .push(&redacted(m, &argv), us, c.handle.addr.clone(), name, max);
        }
    }
    let lat_thr = sh.limits.latency_monitor_threshold.load(Ordering::Relaxed);
    let ms = elapsed.as_millis() as u64;
    if lat_thr > 0 && ms >= lat_thr {
        let ev = if m.flags & cmd_flags::FAST != 0 {
            "fast-command"
        } else {
            "command"
        };
        sh.latency
            .lock()
            .add(ev, ms, ferrodis_commands::engine::wall_ms() / 1000);
    }
    if sh.has_monitors.load(Ordering::Relaxed)
        && m.flags & (cmd_flags::SKIP_MONITOR | cmd_flags::ADMIN) == 0
    {
        feed_monitors(sh, c, &redacted(m, &argv));
    }
    reply
}

fn count_call(st: &crate::state::CmdStat, us: u64, reply: &Reply) {
    st.calls.fetch_add(1, Ordering::Relaxed);
    st.usec.fetch_add(us, Ordering::Relaxed);
    if reply.is_error() {
        st.failed_calls.fetch_add(1, Ordering::Relaxed);
    }
}

/// Statistics of a command run by EXEC (commandstats and the processed-commands count).
pub fn record_call(sh: &Shared, m: &CommandMeta, elapsed: std::time::Duration, reply: &Reply) {
    if let Some(st) = sh.cmdstats.get(m.name) {
        count_call(st, elapsed.as_micros() as u64, reply);
    }
    sh.stats
        .total_commands_processed
        .fetch_add(1, Ordering::Relaxed);
}

/// A command was rejected while a transaction is queued: EXEC will abort (flagTransaction).
fn flag_transaction(c: &mut Client) {
    if let Some(state) = c.multi.as_mut() {
        state.dirty_exec = true;
    }
}

fn bump_rejected(sh: &Shared, m: &CommandMeta) {
    if let Some(st) = sh.cmdstats.get(m.name) {
        st.rejected_calls.fetch_add(1, Ordering::Relaxed);
    }
}

/// Arguments hidden from SLOWLOG and MONITOR (passwords).
fn redacted(m: &CommandMeta, argv: &[Bytes]) -> Vec<Bytes> {
    let mut v = argv.to_vec();
    let red = Bytes::from_static(b"(redacted)");
    match m.name {
        "auth" => {
            for a in v.iter_mut().skip(1) {
                *a = red.clone();
            }
        }
        "hello" => {
            let mut j = 2;
            while j < v.len() {
                if v[j].eq_ignore_ascii_case(b"auth") && j + 2 < v.len() {
                    v[j + 1] = red.clone();
                    v[j + 2] = red.clone();
                    j += 3;
                } else {
                    j += 1;
                }
            }
        }
        "migrate" => {
            let mut j = 6;
            while j < v.len() {
                if v[j].eq_ignore_ascii_case(b"auth") && j + 1 < v.len() {
                    v[j + 1] = red.clone();
                    j += 2;
                } else if v[j].eq_ignore_ascii_case(b"auth2") && j + 2 < v.len() {
                    v[j + 1] = red.clone();
                    v[j + 2] = red.clone();
                    j += 3;
                } else {
                    j += 1;
                }
            }
        }
        _ => {}
    }
    v
}

/// Redis's sdscatrepr: a quoted, escaped rendering of a byte string.
pub fn repr(out: &mut Vec<u8>, s: &[u8]) {
    out.push(b'"');
    for &ch in s {
        match ch {
            b'\\' => out.extend_from_slice(b"\\\\"),
            b'"' => out.extend_from_slice(b"\\\""),
            b'\n' => out.extend_from_slice(b"\\n"),
            b'\r' => out.extend_from_slice(b"\\r"),
            b'\t' => out.extend_from_slice(b"\\t"),
            7 => out.extend_from_slice(b"\\a"),
            8 => out.extend_from_slice(b"\\b"),
            0x20..=0x7e => out.push(ch),
            _ => out.extend_from_slice(format!("\\x{:02x}", ch).as_bytes()),
        }
    }
    out.push(b'"');
}

fn feed_monitors(sh: &Shared, c: &Client, argv: &[Bytes]) {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default();
    let mut line = Vec::with_capacity(64);
    line.extend_from_slice(format!("+{}.{:06} ", now.as_secs(), now.subsec_micros()).as_bytes());
    if c.handle.has_flag(flags::UNIX_SOCKET) {
        let path = sh.config.read().unixsocket().unwrap_or_default();
        line.extend_from_slice(format!("[{} unix:{}] ", c.db, path).as_bytes());
    } else {
        line.extend_from_slice(format!("[{} {}] ", c.db, c.handle.addr).as_bytes());
    }
    for (j, a) in argv.iter().enumerate() {
        repr(&mut line, a);
        if j + 1 != argv.len() {
            line.push(b' ');
        }
    }
    line.extend_from_slice(b"\r\n");
    let msg = Bytes::from(line);
    let mut mons = sh.monitors.lock();
    mons.retain(|(_, tx)| tx.send(msg.clone()).is_ok());
    if mons.is_empty() {
        sh.has_monitors.store(false, Ordering::Relaxed);
    }
}
