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
    /// SYNC (false) or PSYNC (true): the connection now serves a replica (replication.rs).
    Replica(bool),
}

/// A command a connection resolved recently: pipelines repeat the same few commands
/// (MULTI, SET..., EXEC), so the name lookups are skipped when argv[0] matches (hot path).
pub struct CmdCache {
    name: Bytes,
    cmd: Resolved,
}

/// What a command name resolves to.
#[derive(Clone, Copy)]
pub struct Resolved {
    meta: &'static CommandMeta,
    container: &'static CommandMeta,
    data: Option<&'static registry::DataCommand>,
    /// Index of its INFO commandstats entry.
    stat: Option<usize>,
}

/// How many resolved commands a connection keeps ([`Client::cache`]).
const CACHED_COMMANDS: usize = 4;

/// Connection-local client state, owned by the connection task.
pub struct Client {
    /// The last [`CACHED_COMMANDS`] commands resolved, replaced round robin.
    cache: [Option<CmdCache>; CACHED_COMMANDS],
    cache_next: usize,
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
    /// The (redacted) argv and run time of the command this client is blocked in: the slow
    /// log records it when it is unblocked, as Redis's updateStatsOnUnblock.
    pub blocked_cmd: Option<(Vec<Bytes>, u64)>,
    /// SUBSCRIBE/PSUBSCRIBE/SSUBSCRIBE state and the Pub/Sub message queue.
    pub pubsub: crate::pubsub::ClientPubSub,
    /// A script job the connection runs once it has left the command's gate (see
    /// cmd/scripting.rs, [`crate::cmd::scripting::run_pending`]).
    pub pending_script: Option<crate::cmd::scripting::Job>,
    /// REPLCONF listening-port of a replica (shown by INFO replication).
    pub repl_listening_port: u16,
}

impl Client {
    pub fn new(handle: Arc<ClientHandle>, authenticated: bool) -> Client {
        Client {
            cache: Default::default(),
            cache_next: 0,
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
            blocked_cmd: None,
            pubsub: Default::default(),
            pending_script: None,
            repl_listening_port: 0,
        }
    }

    /// A client of the server itself (scripts, the link to a master): no socket, already
    /// authenticated, marked with `flag`.
    pub fn internal(sh: &Shared, flag: u32) -> Client {
        let handle = Arc::new(ClientHandle::new(
            sh.clients.next_id(),
            String::new(),
            String::new(),
            -1,
            false,
            ferrodis_commands::engine::wall_ms(),
        ));
        handle.set_flag(flag, true);
        let mut c = Client::new(handle, true);
        c.internal = true;
        c
    }

    /// The cached resolution of command name `name`.
    fn cached(&self, name: &[u8]) -> Option<Resolved> {
        self.cache
            .iter()
            .flatten()
            .find(|cc| cc.name.len() == name.len() && cc.name.eq_ignore_ascii_case(name))
            .map(|cc| cc.cmd)
    }

    /// Resolves `argv`'s command (cached if it has no subcommands).
    fn resolve_and_cache(&mut self, sh: &Shared, argv: &[Bytes]) -> Result<Resolved, Reply> {
        let m = resolve(argv)?;
        let top = top_name(m);
        let container = if std::ptr::eq(top, m.name) {
            m
        } else {
            meta::lookup(top.as_bytes()).unwrap_or(m)
        };
        let cmd = Resolved {
            meta: m,
            container,
            data: registry::find(top),
            stat: sh.cmdstats.index_of(m.name),
        };
        // Containers resolve by their subcommand: never cached.
        if m.subcommands.is_empty() && std::ptr::eq(container, m) {
            self.cache[self.cache_next] = Some(CmdCache {
                // A copy: a slice would pin the whole read buffer.
                name: Bytes::copy_from_slice(&argv[0]),
                cmd,
            });
            self.cache_next = (self.cache_next + 1) % CACHED_COMMANDS;
        }
        Ok(cmd)
    }

    /// `argv`'s command as dispatch resolves it (through the cache): its table entry, data
    /// command and commandstats index. EXEC runs its queue with it.
    pub fn command_of(
        &mut self,
        sh: &Shared,
        argv: &[Bytes],
    ) -> Option<(
        &'static CommandMeta,
        Option<&'static registry::DataCommand>,
        Option<usize>,
    )> {
        let cc = match self.cached(argv.first()?) {
            Some(cc) => cc,
            None => self.resolve_and_cache(sh, argv).ok()?,
        };
        Some((cc.meta, cc.data, cc.stat))
    }

    pub fn select(&mut self, db: usize) {
        self.db = db;
        self.handle.db.store(db, Ordering::Relaxed);
    }
}

/// `rename-command` directives: names taken away and names given. Empty (the usual case)
/// costs one check per command.
#[derive(Default, Debug)]
pub struct Renames {
    /// Lowercase name as typed -> the command's own name, or `None` if renamed away.
    map: std::collections::HashMap<Vec<u8>, Option<&'static str>>,
}

impl Renames {
    pub fn from_config(cfg: &crate::config::Config) -> Renames {
        let mut map: std::collections::HashMap<Vec<u8>, Option<&'static str>> = Default::default();
        for d in cfg.rename_command_directives() {
            let (Some(old), Some(new)) = (d.args.first(), d.args.get(1)) else {
                continue;
            };
            let old = old.to_ascii_lowercase().into_bytes();
            // The command behind `old`: one renamed earlier, or a table name.
            let target = match map.get(&old) {
                Some(t) => *t,
                None => meta::lookup(&old).map(|m| m.name),
            };
            map.insert(old, None);
            if !new.is_empty() {
                map.insert(new.to_ascii_lowercase().into_bytes(), target);
            }
        }
        Renames { map }
    }

    pub fn is_empty(&self) -> bool {
        self.map.is_empty()
    }

    /// argv with its command name translated, or the unknown-command error for a name that
    /// was renamed away.
    fn apply(&self, mut argv: Vec<Bytes>) -> Result<Vec<Bytes>, Reply> {
        match self.map.get(&argv[0].to_ascii_lowercase()) {
            None => Ok(argv),
            Some(None) => Err(errors::unknown_command(&argv)),
            Some(Some(name)) => {
                argv[0] = Bytes::from_static(name.as_bytes());
                Ok(argv)
            }
        }
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

/// Past `maxmemory` (noeviction): commands that may grow memory are refused, and so is
/// anything queued in MULTI except EXEC/DISCARD/QUIT/RESET; an EXEC with such a command
/// queued aborts the transaction (Redis's processCommand OOM check).
fn reject_on_oom(sh: &Shared, c: &mut Client, m: &'static CommandMeta) -> Option<Reply> {
    let maxmem = sh.limits.oom_maxmemory.load(Ordering::Relaxed);
    if maxmem == 0 {
        return None;
    }
    let name = top_name(m);
    let refuse = this_or_queued(c, m, |m| m.flags & cmd_flags::DENYOOM != 0)
        || (c.multi.is_some() && !matches!(name, "exec" | "discard" | "quit" | "reset"));
    if !refuse || crate::alloc::used_memory() <= maxmem {
        return None;
    }
    Some(reject(
        sh,
        c,
        m,
        "OOM command not allowed when used memory > 'maxmemory'.",
    ))
}

/// Does `pred` hold for the command, or — for EXEC — for one of the commands it queued?
/// (How processCommand judges EXEC by its transaction: deny-oom, write, stale.)
fn this_or_queued(c: &Client, m: &CommandMeta, pred: impl Fn(&CommandMeta) -> bool) -> bool {
    pred(m)
        || (top_name(m) == "exec"
            && c.multi.as_ref().is_some_and(|st| {
                st.queued
                    .iter()
                    .any(|q| resolve(q).map(&pred).unwrap_or(false))
            }))
}

/// A write command, or an EXEC with one queued (Redis's is_write_command).
fn writes(c: &Client, m: &CommandMeta) -> bool {
    this_or_queued(c, m, |m| m.flags & cmd_flags::WRITE != 0)
}

/// A command that does not allow stale data, or an EXEC with one queued (Redis's
/// CMD_STALE check for a replica whose link is down; EXEC itself allows it).
fn refused_when_stale(c: &Client, m: &CommandMeta) -> bool {
    this_or_queued(c, m, |m| m.flags & cmd_flags::STALE == 0)
}

/// A command refused before it runs (Redis's rejectCommand): counted as rejected; inside
/// MULTI it fails the transaction, and a refused EXEC ends it at once with EXECABORT quoting
/// the reason.
pub fn reject(sh: &Shared, c: &mut Client, m: &CommandMeta, err: &'static str) -> Reply {
    bump_rejected(sh, m);
    if top_name(m) == "exec" && c.multi.is_some() {
        cmd::multi::end_transaction(sh, c);
        return Reply::error(format!("EXECABORT Transaction discarded because of: {err}"));
    }
    flag_transaction(c);
    Reply::err_static(err)
}

/// `enable-debug-command` (DEBUG is the only protected command served: no MODULE).
fn protected_allowed(sh: &Shared, c: &Client) -> bool {
    let mode = sh.limits.enable_debug_command.load(Ordering::Relaxed);
    let action = match mode {
        1 => crate::config::ProtectedAction::Yes,
        2 => crate::config::ProtectedAction::Local,
        _ => crate::config::ProtectedAction::No,
    };
    action.allows(c.internal || crate::cmd::is_local_addr(&c.handle.addr))
}

/// Would `argv` get past lookup, arity and authentication? Only such commands are held by
/// CLIENT PAUSE (Redis checks the pause late in processCommand): a command that fails
/// earlier gets its error at once.
pub fn pausable(sh: &Shared, c: &Client, argv: &[Bytes]) -> bool {
    let Ok(m) = resolve(argv) else {
        return false;
    };
    arity_ok(m, argv.len())
        && (c.authenticated
            || m.flags & cmd_flags::NO_AUTH != 0
            || sh.limits.requirepass.read().is_none())
}

/// Does CLIENT PAUSE WRITE hold this command? Writes and may-replicate commands, and an EXEC
/// whose queue holds one.
pub fn may_replicate(sh: &Shared, c: &Client, argv: &[Bytes]) -> bool {
    let writes = |m: &CommandMeta| m.flags & (cmd_flags::WRITE | cmd_flags::MAY_REPLICATE) != 0;
    let Ok(m) = resolve(argv) else {
        return false;
    };
    if matches!(m.name, "eval" | "evalsha" | "fcall") {
        return crate::cmd::scripting::script_may_write(sh, m.name, argv);
    }
    if writes(m) {
        return true;
    }
    m.name == "exec"
        && c.multi.as_ref().is_some_and(|st| {
            st.queued.iter().any(|q| match resolve(q) {
                Ok(qm) if matches!(qm.name, "eval" | "evalsha" | "fcall") => {
                    crate::cmd::scripting::script_may_write(sh, qm.name, q)
                }
                Ok(qm) => writes(qm),
                Err(_) => false,
            })
        })
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
    let argv = if sh.renames.is_empty() {
        argv
    } else {
        match sh.renames.apply(argv) {
            Ok(a) => a,
            Err(e) => {
                flag_transaction(c);
                return e;
            }
        }
    };
    let cc = match c.cached(&argv[0]) {
        Some(cc) => cc,
        None => match c.resolve_and_cache(sh, &argv) {
            Ok(cc) => cc,
            Err(e) => {
                if let Some(top) = meta::lookup(&argv[0]) {
                    bump_rejected(sh, top);
                }
                flag_transaction(c);
                return e;
            }
        },
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
    if m.flags & cmd_flags::PROTECTED != 0 && !protected_allowed(sh, c) {
        bump_rejected(sh, m);
        flag_transaction(c);
        return Reply::err_static(
            "ERR DEBUG command not allowed. If the enable-debug-command option is set to \"local\", you can run it from a local connection, otherwise you need to set this option in the configuration file, and then restart the server.",
        );
    }
    if let Some(reply) = reject_on_oom(sh, c, m) {
        return reply;
    }
    // The tracking table is brought under tracking-table-max-keys before every command, as
    // Redis's processCommand does (its invalidations go out before this command's reply).
    if sh.tracking.is_active() {
        sh.tracking.enforce_max_keys(sh);
    }
    if sh.limits.min_replicas_gate.load(Ordering::Relaxed)
        && !sh.replica.is_replica()
        && writes(c, m)
    {
        return reject(sh, c, m, "NOREPLICAS Not enough good replicas to write.");
    }
    if sh.replica.is_replica() && !c.handle.has_flag(flags::MASTER) {
        if crate::replica::read_only(sh) && writes(c, m) {
            return reject(sh, c, m, crate::replica::READONLY);
        }
        if crate::replica::refuses_stale(sh) && refused_when_stale(c, m) {
            return reject(sh, c, m, crate::replica::MASTERDOWN);
        }
    }
    if let Some(e) = cmd::pubsub::refused_in_subscribed_mode(c, m.name) {
        bump_rejected(sh, m);
        flag_transaction(c);
        return e;
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
            let reply = exec::execute(&sh.engine, cc.container, dc, &argv, c.db, c.resp, now).reply;
            if dc.name == "flushall" && !reply.is_error() {
                crate::persist::after_flushall(sh);
            }
            reply
        }
        // Scripts become a job the connection runs after leaving the gate (`c.pending_script`).
        None if cmd::scripting::is_script_command(top_name(m)) => {
            let wait_here = c.internal;
            cmd::scripting::command(sh, c, top_name(m), &argv, wait_here)
        }
        None => cmd::server_command(sh, c, top_name(m), &argv),
    };
    // A script job has not run yet: its tracking waits for it (run_pending's caller).
    if c.handle.has_flag(flags::TRACKING) && c.pending_script.is_none() {
        sh.tracking
            .after_command(sh, c.handle.id, m, &argv, c.multi.is_some());
    }
    let elapsed = start.elapsed();
    if let Some(st) = cc.stat.and_then(|i| sh.cmdstats.at(i)) {
        count_call(sh, st, elapsed, &reply);
    }
    after_call(sh, c, m, &argv, elapsed, &reply);
    reply
}

/// Redis's call() tail for one executed command: the command count, slow log, latency
/// monitor, MONITOR feed. Commands run by EXEC pass here one by one, before EXEC itself.
fn after_call(
    sh: &Shared,
    c: &mut Client,
    m: &CommandMeta,
    argv: &[Bytes],
    elapsed: std::time::Duration,
    reply: &Reply,
) {
    sh.stats
        .total_commands_processed
        .fetch_add(1, Ordering::Relaxed);
    let us = elapsed.as_micros() as u64;
    let log = m.flags & cmd_flags::SKIP_SLOWLOG == 0;
    if matches!(reply, Reply::Blocked(_)) {
        // Slow log and latency histogram get it when it is unblocked (on_unblocked).
        c.blocked_cmd = Some((if log { redacted(m, argv) } else { Vec::new() }, us));
    } else if log {
        let thr = sh.limits.slowlog_log_slower_than.load(Ordering::Relaxed);
        if thr >= 0 && us >= thr as u64 {
            slowlog_push(sh, c, redacted(m, argv), us);
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
        feed_monitors(sh, c, &redacted(m, argv));
    }
}

fn slowlog_push(sh: &Shared, c: &Client, argv: Vec<Bytes>, us: u64) {
    let name = c.handle.name.lock().clone().unwrap_or_default();
    let max = sh.limits.slowlog_max_len.load(Ordering::Relaxed);
    sh.slowlog
        .lock()
        .push(&argv, us, c.handle.addr.clone(), name, max);
}

/// A blocked command ended (served, timed out or unblocked): an error it ends with counts as
/// a failed call, and the slow log gets it now (Redis's updateStatsOnUnblock).
pub fn on_unblocked(sh: &Shared, c: &mut Client, reply: &Reply) {
    let st = sh.cmdstats.get(c.handle.last_cmd_name());
    if reply.is_error() {
        if let Some(st) = st {
            st.failed_calls.fetch_add(1, Ordering::Relaxed);
        }
    }
    if let Some((argv, us)) = c.blocked_cmd.take() {
        if let Some(st) = st {
            if sh.limits.latency_tracking.load(Ordering::Relaxed) {
                st.histogram.record(us.saturating_mul(1000));
            }
        }
        let thr = sh.limits.slowlog_log_slower_than.load(Ordering::Relaxed);
        if !argv.is_empty() && thr >= 0 && us >= thr as u64 {
            slowlog_push(sh, c, argv, us);
        }
    }
}

fn count_call(
    sh: &Shared,
    st: &crate::state::CmdStat,
    elapsed: std::time::Duration,
    reply: &Reply,
) {
    st.calls.fetch_add(1, Ordering::Relaxed);
    st.usec
        .fetch_add(elapsed.as_micros() as u64, Ordering::Relaxed);
    if reply.is_error() {
        st.failed_calls.fetch_add(1, Ordering::Relaxed);
    }
    // A blocked command's latency is recorded when it is unblocked (on_unblocked).
    if sh.limits.latency_tracking.load(Ordering::Relaxed) && !matches!(reply, Reply::Blocked(_)) {
        st.histogram.record(elapsed.as_nanos() as u64);
    }
}

/// Records one command run by EXEC or by a script (its commandstats index as
/// [`Client::command_of`] gives it): stats, slow log, latency monitor and MONITOR. Its error
/// reply is counted in errorstats by the caller: EXEC counts every one, a script only the
/// ones its own reply does not repeat.
pub fn record_inner_call(
    sh: &Shared,
    c: &mut Client,
    m: &CommandMeta,
    stat: Option<usize>,
    argv: &[Bytes],
    elapsed: std::time::Duration,
    reply: &Reply,
) {
    if let Some(st) = stat.and_then(|i| sh.cmdstats.at(i)) {
        count_call(sh, st, elapsed, reply);
    }
    after_call(sh, c, m, argv, elapsed, reply);
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
        "config|set" => {
            // Values of sensitive options (masterauth, requirepass...).
            let mut j = 2;
            while j + 1 < v.len() {
                if crate::config::is_sensitive_option(&v[j]) {
                    v[j + 1] = red.clone();
                }
                j += 2;
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

/// Sends `argv` as one MONITOR line to every monitor.
pub fn feed_monitors(sh: &Shared, c: &Client, argv: &[Bytes]) {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default();
    let mut line = Vec::with_capacity(64);
    line.extend_from_slice(format!("+{}.{:06} ", now.as_secs(), now.subsec_micros()).as_bytes());
    if c.handle.has_flag(flags::SCRIPT) {
        line.extend_from_slice(format!("[{} lua] ", c.db).as_bytes());
    } else if c.handle.has_flag(flags::UNIX_SOCKET) {
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::{Config, Origin, StartupError};

    fn load(text: &str) -> Result<Config, StartupError> {
        let mut c = Config::new();
        c.load_str(text, Origin::Text).map(|()| c)
    }

    fn argv(words: &[&str]) -> Vec<Bytes> {
        words.iter().map(|w| Bytes::from(w.to_string())).collect()
    }

    #[test]
    fn renamed_commands_answer_to_their_new_name_only() {
        let cfg = load("rename-command flushdb badger\nrename-command CONFIG \"\"\n")
            .unwrap_or_else(|e| panic!("{e}"));
        let r = Renames::from_config(&cfg);
        assert!(!r.is_empty());
        assert_eq!(r.apply(argv(&["BADGER"])).ok(), Some(argv(&["flushdb"])));
        assert_eq!(
            r.apply(argv(&["flushdb"])).err(),
            Some(errors::unknown_command(&argv(&["flushdb"])))
        );
        assert!(r.apply(argv(&["config", "get", "x"])).is_err());
        assert_eq!(r.apply(argv(&["get", "k"])).ok(), Some(argv(&["get", "k"])));
    }

    #[test]
    fn rename_command_errors_are_redis_startup_errors() {
        let e = load("rename-command nosuch x\n")
            .err()
            .map(|e| e.to_string());
        assert!(e.is_some_and(|e| e.contains("No such command in rename-command")));
        let e = load("rename-command get set\n")
            .err()
            .map(|e| e.to_string());
        assert!(e.is_some_and(|e| e.contains("Target command name already exists")));
        assert!(Renames::from_config(&Config::new()).is_empty());
    }
}
