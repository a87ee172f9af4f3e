//! EVAL, EVALSHA, EVAL_RO, EVALSHA_RO, SCRIPT, FUNCTION, FCALL, FCALL_RO: the server side of
//! scripting (the Lua side is ferrodis-scripting).
//!
//! # Where scripts run
//! A script runs on the thread of the connection that sent it, as in Redis's single event
//! loop: no hand-off to another thread, no wake-ups. It runs on a stack of its own (a
//! coroutine, [`run_pending`]) so that a script that goes past `busy-reply-threshold` can be
//! suspended every few thousand Lua instructions: the connection's runtime then serves its
//! other connections, which get BUSY (or run SCRIPT KILL, FUNCTION KILL, SHUTDOWN NOSAVE —
//! the allow-busy commands), and resumes the script. Before the threshold a script keeps its
//! thread, exactly as Redis keeps its event loop.
//!
//! A script is atomic: it holds the write side of [`Scripting::gate`] and then every shard
//! lock. Connections take the read side (try-lock only, never blocking) around each command;
//! when it is taken by a script they wait asynchronously until the script ends, or get BUSY
//! once it has run longer than `busy-reply-threshold`.
//!
//! The Lua states ([`Exec`]) sit behind [`Scripting::exec`]'s mutex and are only touched by
//! whoever holds it; every job that touches them (scripts, SCRIPT LOAD, FUNCTION LOAD...) runs
//! under the gate's write side, so a suspended script never leaves another job waiting on the
//! mutex of the thread it would have to run on.

use crate::dispatch::{self, Client};
use crate::state::Shared;
use bytes::Bytes;
use ferrodis_commands::ctx::Locks;
use ferrodis_commands::engine::Propagated;
use ferrodis_commands::meta::{cmd_flags, CommandMeta};
use ferrodis_commands::registry::Locking;
use ferrodis_commands::{errors, exec, Reply};
use ferrodis_scripting::eval::Scripts;
use ferrodis_scripting::shebang::flags as sflags;
use ferrodis_scripting::{Host, Watchdog};
use parking_lot::{Mutex, RwLock};
use std::cell::{Cell, RefCell};
use std::rc::Rc;
use std::sync::atomic::{AtomicBool, AtomicI64, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::Instant;
use tokio::sync::Notify;

/// The state of the script in progress, shared by the script's thread and the connections.
#[derive(Default)]
pub struct Status {
    pub running: AtomicBool,
    /// Running for longer than busy-reply-threshold: other clients get BUSY.
    pub busy: AtomicBool,
    /// The running script is an EVAL script (not a function).
    pub eval: AtomicBool,
    /// The running script called a write command (SCRIPT KILL refuses).
    pub wrote: AtomicBool,
    /// SCRIPT KILL / FUNCTION KILL asked the script to stop.
    pub kill: AtomicBool,
    /// The last run was stopped by a kill.
    pub killed: AtomicBool,
    /// Start of the run (ms since the status's epoch), and the threshold in force.
    pub start_ms: AtomicI64,
    pub threshold_ms: AtomicI64,
    /// Name of the running function or script SHA, and the command that runs it (FUNCTION STATS).
    pub name: Mutex<(String, Vec<Bytes>)>,
    /// Woken when a run ends or becomes busy.
    pub changed: Notify,
    epoch: OnceLock<Instant>,
}

impl Status {
    /// How long the running script has run, in milliseconds.
    pub fn elapsed_ms(&self) -> i64 {
        self.now_ms() - self.start_ms.load(Ordering::Relaxed)
    }

    fn now_ms(&self) -> i64 {
        self.epoch.get_or_init(Instant::now).elapsed().as_millis() as i64
    }
}

/// Work that needs the Lua states, run by the connection that asked for it ([`run_pending`]).
pub type Job = Box<dyn FnOnce(&Arc<Shared>, &mut Exec) -> Reply + Send + Sync>;

/// Scripting state of the server.
#[derive(Default)]
pub struct Scripting {
    /// The Lua states, created on first use.
    exec: Mutex<ExecCell>,
    /// Write side: held by a Lua job (a whole script). Read side: try-locked by a
    /// connection around each command it runs.
    pub gate: RwLock<()>,
    pub status: Arc<Status>,
    /// Script cache size and count, mirrored for INFO (the cache lives in the Lua states).
    pub scripts_count: AtomicI64,
    pub scripts_bytes: AtomicI64,
    pub lua_memory: AtomicI64,
    pub functions_memory: AtomicI64,
    /// Bytes held by the function libraries (their code and names).
    pub functions_bytes: AtomicI64,
    /// Set by the `redis-server` binary (not by embedders): SHUTDOWN NOSAVE during a busy
    /// script exits the process at once, as Redis does, instead of a graceful stop that the
    /// script (holding every shard lock) could never let finish.
    pub exit_on_busy_shutdown: AtomicBool,
    /// DEBUG SET-DISABLE-DENY-SCRIPTS: scripts may call commands flagged noscript.
    pub deny_scripts_disabled: AtomicBool,
    /// FUNCTION STATS counts, mirrored likewise.
    pub libraries: AtomicI64,
    pub functions: AtomicI64,
    /// Cached scripts and functions declared `no-writes`, mirrored for CLIENT PAUSE WRITE
    /// (which lets them run: Redis judges a script by its flags).
    pub no_writes: parking_lot::Mutex<NoWrites>,
}

/// See [`Scripting::no_writes`].
#[derive(Default)]
pub struct NoWrites {
    pub shas: std::collections::HashSet<String>,
    pub functions: std::collections::HashSet<String>,
    seen: (i64, i64, i64),
}

/// Does an EVAL/EVALSHA/FCALL write, judged as Redis does by the script's flags (a script with
/// no shebang, or an unknown one, counts as writing)?
pub fn script_may_write(sh: &Shared, top: &str, argv: &[Bytes]) -> bool {
    let lower = |b: &Bytes| String::from_utf8_lossy(b).to_ascii_lowercase();
    match top {
        "eval" => match argv.get(1) {
            Some(body) if body.starts_with(b"#!") => ferrodis_scripting::shebang::eval_flags(body)
                .map_or(true, |(f, _)| {
                    f & ferrodis_scripting::shebang::flags::NO_WRITES == 0
                }),
            _ => true,
        },
        "evalsha" => argv
            .get(1)
            .is_none_or(|sha| !sh.scripting.no_writes.lock().shas.contains(&lower(sha))),
        "fcall" => argv
            .get(1)
            .is_none_or(|f| !sh.scripting.no_writes.lock().functions.contains(&lower(f))),
        _ => true,
    }
}

impl Scripting {
    pub fn running(&self) -> bool {
        self.status.running.load(Ordering::Acquire)
    }
}

/// Lua states and libraries.
pub struct Exec {
    pub scripts: Scripts,
    pub functions: ferrodis_scripting::functions::Functions,
    /// The client scripts run their commands as (one for the server's life, as Redis's).
    pub client: Option<Client>,
}

/// [`Exec`] behind [`Scripting::exec`].
#[derive(Default)]
struct ExecCell(Option<Exec>);

// SAFETY: mlua marks a Lua state !Send because its handles share reference counts without
// atomics. Every handle of these states (the states, their functions and tables, the Rc'd
// watchdog and API state their closures capture) lives inside the `Exec` and is only reached
// through the mutex that owns it, by one thread at a time; none is kept outside a job. So the
// whole graph moving between threads with the lock is never touched by two at once.
unsafe impl Send for ExecCell {}

struct Dog(Arc<Status>);

impl Watchdog for Dog {
    fn check(&self) -> bool {
        let st = &self.0;
        if !st.busy.load(Ordering::Relaxed) {
            let thr = st.threshold_ms.load(Ordering::Relaxed);
            if thr > 0 && st.now_ms() - st.start_ms.load(Ordering::Relaxed) >= thr {
                st.busy.store(true, Ordering::Release);
                tracing::warn!(
                    "Slow script detected: still in execution after {} milliseconds. You can try killing the script using the {} command.",
                    st.now_ms() - st.start_ms.load(Ordering::Relaxed),
                    if st.eval.load(Ordering::Relaxed) { "SCRIPT KILL" } else { "FUNCTION KILL" }
                );
                st.changed.notify_waiters();
            }
        }
        if st.busy.load(Ordering::Relaxed) {
            // Let this thread's other connections get BUSY or send SCRIPT KILL.
            suspend_if_possible();
        }
        if st.kill.load(Ordering::Relaxed) {
            st.killed.store(true, Ordering::Relaxed);
            return true;
        }
        false
    }
    fn killed(&self) -> bool {
        self.0.killed.load(Ordering::Relaxed)
    }
}

fn new_exec(status: &Arc<Status>) -> Result<Exec, String> {
    let dog: Rc<dyn Watchdog> = Rc::new(Dog(status.clone()));
    let scripts =
        Scripts::new(dog.clone()).map_err(|e| format!("Failed creating the Lua VM: {e}"))?;
    let functions = ferrodis_scripting::functions::Functions::new(dog)
        .map_err(|e| format!("Failed creating the functions Lua VM: {e}"))?;
    Ok(Exec {
        scripts,
        functions,
        client: None,
    })
}

/// Runs `f` with the Lua states (created on first use). The caller holds the gate (either
/// side) or no lock at all, never a shard lock.
fn with_exec<T>(
    sh: &Shared,
    f: impl FnOnce(&Arc<Shared>, &mut Exec) -> T,
) -> Result<T, &'static str> {
    let Some(arc) = sh.self_ref.get().and_then(std::sync::Weak::upgrade) else {
        return Err(NOT_AVAILABLE);
    };
    let mut cell = sh.scripting.exec.lock();
    if cell.0.is_none() {
        match new_exec(&sh.scripting.status) {
            Ok(ex) => cell.0 = Some(ex),
            Err(e) => {
                tracing::warn!("{e}");
                return Err(NOT_AVAILABLE);
            }
        }
    }
    let Some(ex) = cell.0.as_mut() else {
        return Err(NOT_AVAILABLE);
    };
    // A panic inside mlua (it panics on some internal limits) must not take scripting down:
    // the job's client gets an error, locks are released by unwinding, and the Lua states
    // are rebuilt with the libraries loaded again.
    match std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| f(&arc, ex))) {
        Ok(v) => Ok(v),
        Err(_) => {
            tracing::warn!("Scripting engine failure: the Lua states were reset");
            let st = &sh.scripting.status;
            st.running.store(false, Ordering::Release);
            st.busy.store(false, Ordering::Release);
            st.changed.notify_waiters();
            let libraries: Vec<(String, Bytes)> = ex
                .functions
                .libraries()
                .map(|l| (l.name.clone(), l.code.clone()))
                .collect();
            cell.0 = match new_exec(st) {
                Ok(mut fresh) => {
                    // Libraries are data: load them again into the new state.
                    for (name, code) in libraries {
                        if let Err(e) = fresh.functions.load(&code, true) {
                            tracing::warn!("Library {name} could not be reloaded: {e}");
                        }
                    }
                    Some(fresh)
                }
                Err(e) => {
                    tracing::warn!("{e}");
                    None
                }
            };
            Err(ENGINE_FAILED)
        }
    }
}

const ENGINE_FAILED: &str = "ERR scripting engine failure";

/// Copies the Lua states' counters where INFO and FUNCTION STATS read them; done before a
/// job's reply is sent, so a client sees its own change.
fn mirror(sh: &Shared, ex: &Exec) {
    let s = &sh.scripting;
    s.scripts_count
        .store(ex.scripts.len() as i64, Ordering::Relaxed);
    s.scripts_bytes
        .store(ex.scripts.bodies_bytes() as i64, Ordering::Relaxed);
    s.lua_memory
        .store(ex.scripts.vm_memory() as i64, Ordering::Relaxed);
    s.functions_memory
        .store(ex.functions.vm_memory() as i64, Ordering::Relaxed);
    s.libraries
        .store(ex.functions.libraries().count() as i64, Ordering::Relaxed);
    s.functions
        .store(ex.functions.functions_count() as i64, Ordering::Relaxed);
    let lib_bytes: usize = ex
        .functions
        .libraries()
        .map(|l| l.code.len() + l.name.len() + l.functions.keys().map(String::len).sum::<usize>())
        .sum();
    s.functions_bytes.store(lib_bytes as i64, Ordering::Relaxed);
    let seen = (
        ex.scripts.len() as i64,
        ex.functions.functions_count() as i64,
        ex.functions.vm_memory() as i64,
    );
    let mut nw = s.no_writes.lock();
    if nw.seen != seen {
        // A sha always names the same body, so for scripts only additions matter.
        let shas: Vec<String> = ex.scripts.no_writes_shas().map(str::to_string).collect();
        nw.shas.extend(shas);
        nw.functions = ex.functions.no_writes_functions().into_iter().collect();
        nw.seen = seen;
    }
}

/// Runs `f` with the Lua states. `wait_here`: now, on this stack (EXEC, the in-process
/// client, which hold the gate's read side); otherwise it becomes `c.pending_script`, which
/// the connection runs with [`run_pending`] once it has left the gate.
fn lua_job(
    sh: &Shared,
    c: &mut Client,
    wait_here: bool,
    f: impl FnOnce(&Arc<Shared>, &mut Exec) -> Reply + Send + Sync + 'static,
) -> Reply {
    let job = move |sh: &Arc<Shared>, ex: &mut Exec| {
        let r = f(sh, ex);
        mirror(sh, ex);
        r
    };
    if wait_here {
        return with_exec(sh, job).unwrap_or_else(Reply::err_static);
    }
    c.pending_script = Some(Box::new(job));
    Reply::NoReply
}

const NOT_AVAILABLE: &str = "ERR scripting is not available";

/// Runs `f` with the Lua states and returns its result (persistence: the function
/// libraries). The caller must hold no shard lock. `Err` is the error reply text when the
/// Lua states could not be created.
pub fn with_lua<T: Send + 'static>(
    sh: &Shared,
    f: impl FnOnce(&Arc<Shared>, &mut Exec) -> T + Send + 'static,
) -> Result<T, &'static str> {
    with_exec(sh, f)
}

/// Why a script's coroutine gave its thread back.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Wait {
    /// The gate is taken (by a command of another thread, or a script starting there).
    Gate,
    /// The gate is ours; on a multi-threaded runtime the rest runs in `block_in_place`.
    Acquired,
    /// The script is past busy-reply-threshold: let the thread serve its other clients.
    Busy,
}

type Co = corosensei::Coroutine<bool, Wait, Reply, corosensei::stack::DefaultStack>;

/// A script's stack: 8 MiB reserved, pages committed as the script uses them (the Lua C
/// recursion limit keeps real use far below).
const STACK_SIZE: usize = 8 << 20;

thread_local! {
    /// Stacks of finished coroutines, for the next script of this thread.
    static STACKS: RefCell<Vec<corosensei::stack::DefaultStack>> = const { RefCell::new(Vec::new()) };
    /// The yielder of the script this thread is running, while it may be suspended.
    static YIELDER: Cell<*const corosensei::Yielder<bool, Wait>> = const { Cell::new(std::ptr::null()) };
}

/// Gives the thread back while the running script is busy (called by the watchdog hook).
fn suspend_if_possible() {
    let y = YIELDER.with(|c| c.replace(std::ptr::null()));
    if y.is_null() {
        return;
    }
    // SAFETY: set by the coroutine body of this thread from its own yielder, which lives as
    // long as the body runs; it is cleared before the body returns and while suspended.
    unsafe { (*y).suspend(Wait::Busy) };
    YIELDER.with(|c| c.set(y));
}

/// The coroutine of one job.
struct Fiber(Option<Co>);

// SAFETY: a Fiber is only suspended mid-script (holding guards and Lua frames) on a
// current-thread runtime, whose tasks are only ever polled by the thread that runs it, so it
// is resumed on the thread it was suspended on. On a multi-threaded runtime it is suspended
// only while waiting for the gate, when its stack holds nothing tied to a thread.
unsafe impl Send for Fiber {}

impl Drop for Fiber {
    fn drop(&mut self) {
        if let Some(co) = self.0.as_mut() {
            if co.started() && !co.done() {
                // Only when a runtime is torn down with a script suspended (a connection task
                // is never cancelled mid-script): unwinding its frames on another stack could
                // run Lua cleanup at the wrong moment, so they are abandoned.
                // SAFETY: nothing on the coroutine's stack is used again.
                unsafe { co.force_reset() };
            }
        }
    }
}

/// Runs a script job of this connection: takes the gate's write side (waiting for it, or
/// answering BUSY if a busy script has it), then the job on a coroutine of this thread.
pub async fn run_pending(sh: &Arc<Shared>, job: Job) -> Reply {
    let single = tokio::runtime::Handle::try_current()
        .is_ok_and(|h| h.runtime_flavor() == tokio::runtime::RuntimeFlavor::CurrentThread);
    let stack = match STACKS.with(|s| s.borrow_mut().pop()) {
        Some(s) => s,
        None => match corosensei::stack::DefaultStack::new(STACK_SIZE) {
            Ok(s) => s,
            Err(_) => return Reply::err_static(NOT_AVAILABLE),
        },
    };
    let sh2 = sh.clone();
    let co: Co = corosensei::Coroutine::with_stack(stack, move |y, may_suspend: bool| {
        let st = &sh2.scripting.status;
        let gate = loop {
            if let Some(g) = sh2.scripting.gate.try_write() {
                break g;
            }
            if st.running.load(Ordering::Acquire) && st.busy.load(Ordering::Acquire) {
                return Reply::err_static(if st.eval.load(Ordering::Relaxed) {
                    BUSY_EVAL
                } else {
                    BUSY_FUNCTION
                });
            }
            y.suspend(Wait::Gate);
        };
        let may_suspend = may_suspend || {
            y.suspend(Wait::Acquired);
            false
        };
        if may_suspend {
            YIELDER.with(|c| c.set(y as *const _));
        }
        let r = with_exec(&sh2, job).unwrap_or_else(Reply::err_static);
        YIELDER.with(|c| c.set(std::ptr::null()));
        drop(gate);
        // After the gate is free, so that waiters find it free.
        st.changed.notify_waiters();
        r
    });
    let mut fiber = Fiber(Some(co));
    let mut acquired = false;
    let mut spins = 0u32;
    loop {
        let Some(co) = fiber.0.as_mut() else {
            return Reply::err_static(NOT_AVAILABLE);
        };
        let step = if acquired && !single {
            tokio::task::block_in_place(|| co.resume(false))
        } else {
            co.resume(single)
        };
        match step {
            corosensei::CoroutineResult::Return(r) => {
                if let Some(co) = fiber.0.take() {
                    let stack = co.into_stack();
                    STACKS.with(|s| s.borrow_mut().push(stack));
                }
                return r;
            }
            corosensei::CoroutineResult::Yield(Wait::Acquired) => acquired = true,
            corosensei::CoroutineResult::Yield(Wait::Busy) => tokio::task::yield_now().await,
            corosensei::CoroutineResult::Yield(Wait::Gate) => {
                // Another thread's command holds the read side for a moment, or a script
                // started there: wait for it to end (or go busy).
                spins += 1;
                if spins < 16 {
                    tokio::task::yield_now().await;
                } else {
                    let st = &sh.scripting.status;
                    let notified = st.changed.notified();
                    tokio::select! {
                        _ = notified => {}
                        _ = tokio::time::sleep(std::time::Duration::from_millis(1)) => {}
                    }
                }
            }
        }
    }
}

/// Is `top` one of the commands run as Lua jobs?
pub fn is_script_command(top: &str) -> bool {
    matches!(
        top,
        "eval"
            | "evalsha"
            | "eval_ro"
            | "evalsha_ro"
            | "script"
            | "function"
            | "fcall"
            | "fcall_ro"
    )
}

/// Entry from the command dispatcher. `wait_here` as in [`lua_job`].
pub fn command(sh: &Shared, c: &mut Client, top: &str, argv: &[Bytes], wait_here: bool) -> Reply {
    // Scripts and functions show in MONITOR before the commands they run (they are
    // skip-monitor for the dispatcher, which would log them after).
    if matches!(
        top,
        "eval" | "evalsha" | "eval_ro" | "evalsha_ro" | "fcall" | "fcall_ro"
    ) && sh.has_monitors.load(Ordering::Relaxed)
    {
        dispatch::feed_monitors(sh, c, argv);
    }
    match top {
        "eval" | "evalsha" | "eval_ro" | "evalsha_ro" => {
            let evalsha = top.starts_with("evalsha");
            let ro = top.ends_with("_ro");
            // Checked here: it needs no Lua and is the first error Redis reports.
            let numkeys = match parse_numkeys(argv) {
                Ok(n) => n,
                Err(e) => return e,
            };
            let argv = argv.to_vec();
            let db = c.db;
            lua_job(sh, c, wait_here, move |sh, ex| {
                eval(sh, ex, &argv, numkeys, evalsha, ro, db)
            })
        }
        "script" => script(sh, c, argv, wait_here),
        "function" | "fcall" | "fcall_ro" => {
            crate::cmd::functions::command(sh, c, top, argv, wait_here)
        }
        _ => errors::unknown_command(argv),
    }
}

/// A Lua job of [`crate::cmd::functions`], as [`lua_job`].
pub fn run_job(
    sh: &Shared,
    c: &mut Client,
    wait_here: bool,
    f: impl FnOnce(&Arc<Shared>, &mut Exec) -> Reply + Send + Sync + 'static,
) -> Reply {
    lua_job(sh, c, wait_here, f)
}

pub fn parse_numkeys(argv: &[Bytes]) -> Result<usize, Reply> {
    let n = std::str::from_utf8(&argv[2])
        .ok()
        .and_then(|s| s.parse::<i64>().ok())
        .ok_or_else(|| Reply::err_static("ERR value is not an integer or out of range"))?;
    if n > argv.len() as i64 - 3 {
        return Err(Reply::err_static(
            "ERR Number of keys can't be greater than number of args",
        ));
    }
    if n < 0 {
        return Err(Reply::err_static("ERR Number of keys can't be negative"));
    }
    Ok(n as usize)
}

#[allow(clippy::too_many_arguments)] // one EVAL's whole request
fn eval(
    sh: &Arc<Shared>,
    ex: &mut Exec,
    argv: &[Bytes],
    numkeys: usize,
    evalsha: bool,
    ro: bool,
    db: usize,
) -> Reply {
    let created;
    let (sha, flags) = if evalsha {
        match ex.scripts.find(&argv[1]) {
            Some((sha, script)) => (sha, script.flags),
            None => return Reply::err_static("NOSCRIPT No matching script. Please use EVAL."),
        }
    } else {
        created = match ex.scripts.create(&argv[1]) {
            Ok(s) => s,
            Err(e) => return e,
        };
        let flags = ex.scripts.get(&created).map(|s| s.flags).unwrap_or(0);
        (created.as_str(), flags)
    };
    if let Err(e) = check_flags(sh, flags, ro) {
        return e;
    }
    let readonly = ro || flags & sflags::NO_WRITES != 0;
    let keys = &argv[3..3 + numkeys];
    let args = &argv[3 + numkeys..];
    let scripts = &ex.scripts;
    run_atomic(
        sh,
        &mut ex.client,
        true,
        sha,
        argv,
        db,
        readonly,
        flags,
        |host| scripts.run(sha, keys, args, host),
    )
}

pub const OOM: &str = "OOM command not allowed when used memory > 'maxmemory'.";
/// redis.set_repl's bit for replicas (REPL_AOF is 1).
const REPL_REPLICA: u8 = 2;
pub const NOREPLICAS: &str = "NOREPLICAS Not enough good replicas to write.";

/// Used memory is over `maxmemory` and nothing can be evicted (Redis's pre_command_oom_state
/// with the noeviction policy; ferrodis does not evict yet, so only that policy is judged).
pub fn oom_state(sh: &Shared) -> bool {
    let c = sh.config.read();
    let max = c.maxmemory();
    max > 0 && c.maxmemory_policy_name() == "noeviction" && crate::alloc::used_memory() > max
}

/// Redis's scriptPrepareForRun checks (and, for scripts that declared flags, the deny-oom
/// check processCommand makes with the flags they declared).
pub fn check_flags(sh: &Shared, flags: u32, ro: bool) -> Result<(), Reply> {
    let stale = crate::replica::refuses_stale(sh);
    if flags & sflags::EVAL_COMPAT != 0 {
        return if stale {
            Err(Reply::err_static(crate::replica::MASTERDOWN))
        } else {
            Ok(())
        };
    }
    let writes = flags & sflags::NO_WRITES == 0;
    if flags & (sflags::ALLOW_OOM | sflags::NO_WRITES) == 0 && oom_state(sh) {
        return Err(Reply::err_static(OOM));
    }
    if writes && !sh.replica.is_replica() && sh.limits.min_replicas_gate.load(Ordering::Relaxed) {
        return Err(Reply::err_static(NOREPLICAS));
    }
    // A script that may write is a write command for a read-only replica.
    if writes && crate::replica::read_only(sh) {
        return Err(Reply::err_static(crate::replica::READONLY));
    }
    if stale && flags & sflags::ALLOW_STALE == 0 {
        return Err(Reply::err_static("MASTERDOWN Link with MASTER is down, replica-serve-stale-data is set to 'no' and 'allow-stale' flag is not set on the script."));
    }
    if writes && ro {
        return Err(Reply::err_static(
            "ERR Can not execute a script with write flag using *_ro command.",
        ));
    }
    Ok(())
}

/// Runs one script or function atomically: the gate, every shard lock, the host serving its
/// calls, then the transaction's propagation and the blocked clients it made ready.
#[allow(clippy::too_many_arguments)] // one run's whole context
pub fn run_atomic(
    sh: &Arc<Shared>,
    client: &mut Option<Client>,
    is_eval: bool,
    name: &str,
    argv: &[Bytes],
    db: usize,
    readonly: bool,
    flags: u32,
    f: impl FnOnce(&mut dyn Host) -> Reply,
) -> Reply {
    let st = &sh.scripting.status;
    st.busy.store(false, Ordering::Relaxed);
    st.kill.store(false, Ordering::Relaxed);
    st.killed.store(false, Ordering::Relaxed);
    st.wrote.store(false, Ordering::Relaxed);
    st.eval.store(is_eval, Ordering::Relaxed);
    {
        // Refilled in place: no allocation once the buffers have grown.
        let mut named = st.name.lock();
        named.0.clear();
        named.0.push_str(name);
        named.1.clear();
        named.1.extend_from_slice(argv);
    }
    st.threshold_ms
        .store(sh.config.read().busy_reply_threshold(), Ordering::Relaxed);
    st.start_ms.store(st.now_ms(), Ordering::Relaxed);
    st.running.store(true, Ordering::Release);
    let engine = &sh.engine;
    let oom = flags & sflags::ALLOW_OOM == 0 && oom_state(sh);
    // EVAL and FCALL alike: numkeys (checked by the caller) then the keys.
    let numkeys = std::str::from_utf8(argv.get(2).map_or(&b""[..], |a| &a[..]))
        .ok()
        .and_then(|n| n.parse::<usize>().ok())
        .unwrap_or(0);
    let keys = argv.get(3..3 + numkeys).unwrap_or_default();
    let mut host = ScriptHost {
        sh,
        keys,
        locks: Some(Locks::all(engine)),
        props: Vec::new(),
        ready: Vec::new(),
        db,
        readonly,
        oom,
        wrote: false,
        final_counted: false,
        repl: 3,
        client: client.take(),
        now_ms: engine.now_ms(),
    };
    let reply = f(&mut host);
    {
        let _held = host.locks.get_or_insert_with(|| Locks::all(engine));
        exec::feed_transaction(engine, std::mem::take(&mut host.props));
    }
    let ready = std::mem::take(&mut host.ready);
    *client = host.client.take();
    if host.final_counted {
        if let Reply::Error(e) = &reply {
            uncount_error(sh, e);
        }
    }
    drop(host);
    if !ready.is_empty() {
        ferrodis_commands::blocking::serve_ready(engine, ready);
    }
    st.running.store(false, Ordering::Release);
    st.busy.store(false, Ordering::Release);
    st.changed.notify_waiters();
    reply
}

/// Takes back one count of an error reply, so the connection's count of the script's reply
/// nets to the one made when the command inside the script failed.
fn uncount_error(sh: &Shared, e: &[u8]) {
    sh.stats.total_error_replies.add(u64::MAX);
    let code: String = String::from_utf8_lossy(e)
        .split(' ')
        .next()
        .unwrap_or_default()
        .to_string();
    let mut m = sh.errorstats.lock();
    if let Some(n) = m.get_mut(&code) {
        *n = n.saturating_sub(1);
        if *n == 0 {
            m.remove(&code);
        }
    }
}

/// Serves `redis.call` for one run, under the run's locks.
struct ScriptHost<'e> {
    sh: &'e Arc<Shared>,
    /// The keys the script declared (EVAL's and FCALL's numkeys arguments).
    keys: &'e [Bytes],
    /// The clock of every command the script runs: time stands still during a script, as in
    /// Redis (a key does not expire half-way through it).
    now_ms: i64,
    locks: Option<Locks<'e>>,
    props: Vec<Propagated>,
    ready: Vec<(usize, Bytes)>,
    db: usize,
    readonly: bool,
    /// Out of memory when the run started and the script did not declare allow-oom: deny-oom
    /// commands fail until the script has written.
    oom: bool,
    /// The script ran a write command.
    wrote: bool,
    /// The final reply is an error already counted when the command failed.
    final_counted: bool,
    /// redis.set_repl flags: 0 = propagate nothing.
    repl: u8,
    /// The script's own client, for server commands (created on first use).
    client: Option<Client>,
}

impl ScriptHost<'_> {
    /// A command refused before running (Redis's rejected_calls).
    fn reject(&self, m: &ferrodis_commands::meta::CommandMeta, e: &'static str) -> Reply {
        if let Some(st) = self.sh.cmdstats.get(m.name) {
            st.rejected_calls.fetch_add(1, Ordering::Relaxed);
        }
        Reply::err_static(e)
    }
}

impl Host for ScriptHost<'_> {
    fn call(&mut self, argv: Vec<Bytes>, resp: u8) -> Reply {
        let reply = self.call_inner(argv, resp);
        // Errors of commands run by scripts count in the error statistics when they happen,
        // as in Redis (the script's own error reply then does not count them again).
        if let Reply::Error(e) = &reply {
            self.sh.record_error(e);
        }
        reply
    }

    fn error_already_counted(&mut self) {
        self.final_counted = true;
    }

    fn log(&mut self, level: i64, msg: &[u8]) {
        log_line(level, msg)
    }

    fn set_repl(&mut self, flags: u8) {
        self.repl = flags;
    }
}

fn log_line(level: i64, msg: &[u8]) {
    let msg = String::from_utf8_lossy(msg);
    match level {
        0 | 1 => tracing::debug!("{msg}"),
        2 => tracing::info!("{msg}"),
        _ => tracing::warn!("{msg}"),
    }
}

impl ScriptHost<'_> {
    fn call_inner(&mut self, argv: Vec<Bytes>, resp: u8) -> Reply {
        let sh = self.sh;
        // Resolved through the script client's cache of recent commands (as a connection's).
        let c = self.client.get_or_insert_with(|| script_client(sh));
        let Some((m, data, stat)) = c.command_of(sh, &argv) else {
            return Reply::err_static("ERR Unknown Redis command called from script");
        };
        let a = m.arity;
        if (a > 0 && argv.len() != a as usize) || (a < 0 && argv.len() < (-a) as usize) {
            return Reply::err_static("ERR Wrong number of args calling Redis command from script");
        }
        if m.flags & cmd_flags::NOSCRIPT != 0
            && !sh.scripting.deny_scripts_disabled.load(Ordering::Relaxed)
        {
            return self.reject(m, "ERR This Redis command is not allowed from script");
        }
        if self.readonly && m.flags & (cmd_flags::WRITE | cmd_flags::MAY_REPLICATE) != 0 {
            return self.reject(
                m,
                "ERR Write commands are not allowed from read-only scripts.",
            );
        }
        if self.oom && !self.wrote && m.flags & cmd_flags::DENYOOM != 0 {
            return self.reject(m, OOM);
        }
        // Once the script has written it cannot be failed on the server's state.
        if m.flags & cmd_flags::WRITE != 0 && !self.wrote {
            if crate::replica::read_only(sh) {
                return self.reject(m, crate::replica::READONLY);
            }
            if !sh.replica.is_replica() && sh.limits.min_replicas_gate.load(Ordering::Relaxed) {
                return self.reject(m, NOREPLICAS);
            }
        }
        if m.flags & cmd_flags::STALE == 0 && crate::replica::refuses_stale(sh) {
            return self.reject(m, "ERR Can not execute the command on a stale replica");
        }
        if m.flags & cmd_flags::WRITE != 0 {
            self.wrote = true;
            sh.scripting.status.wrote.store(true, Ordering::Relaxed);
        }
        let top = dispatch::top_name(m);
        if (top == "xread" || top == "xreadgroup") && has_block_option(&argv) {
            return Reply::error(format!(
                "ERR {} command is not allowed with BLOCK option from scripts",
                String::from_utf8_lossy(&argv[0])
            ));
        }
        let engine = &sh.engine;
        let start = Instant::now();
        let reply = match data {
            Some(dc) if dc.locking != Locking::Manual => {
                let locks = self.locks.get_or_insert_with(|| Locks::all(engine));
                let mut props = Vec::new();
                let done = exec::run_queued(
                    engine,
                    dc,
                    locks,
                    &argv,
                    self.db,
                    resp,
                    self.now_ms,
                    &mut props,
                    true,
                );
                // The propagation stream's only consumer is replication (no AOF yet): what
                // redis.set_repl keeps from replicas is not propagated.
                if self.repl & REPL_REPLICA != 0 {
                    self.props.extend(props);
                }
                self.ready.extend(done.ready);
                done.reply
            }
            Some(dc) => {
                // SCAN locks shard by shard itself (as in EXEC).
                self.locks = None;
                let container = ferrodis_commands::meta::lookup(top.as_bytes()).unwrap_or(m);
                let r =
                    exec::execute(engine, container, dc, &argv, self.db, resp, self.now_ms).reply;
                self.locks = Some(Locks::all(engine));
                r
            }
            None if top == "select" => {
                let c = self.client.get_or_insert_with(|| script_client(sh));
                c.select(self.db);
                let r = crate::cmd::server_command(sh, c, top, &argv);
                self.db = c.db;
                r
            }
            None => {
                // Server commands may take shard locks themselves: run them with the
                // script's locks released, as EXEC does.
                self.locks = None;
                let db = self.db;
                let c = self.client.get_or_insert_with(|| script_client(sh));
                c.select(db);
                c.resp = resp;
                let r = crate::cmd::server_command(sh, c, top, &argv);
                self.locks = Some(Locks::all(engine));
                r
            }
        };
        if m.flags & cmd_flags::READONLY != 0 && sh.tracking.is_active() {
            // Client-side caching: the caller may now cache the keys the script declared.
            let caller = crate::tracking::current();
            if caller != 0 {
                sh.tracking.script_read(sh, caller, self.keys);
            }
        }
        let c = self.client.get_or_insert_with(|| script_client(sh));
        dispatch::record_inner_call(sh, c, m, stat, &argv, start.elapsed(), &reply);
        reply
    }
}

/// XREAD / XREADGROUP with a BLOCK option (options end at STREAMS).
fn has_block_option(argv: &[Bytes]) -> bool {
    argv[1..]
        .iter()
        .take_while(|a| !a.eq_ignore_ascii_case(b"streams"))
        .any(|a| a.eq_ignore_ascii_case(b"block"))
}

fn script_client(sh: &Shared) -> Client {
    Client::internal(sh, crate::client::flags::SCRIPT)
}

fn script(sh: &Shared, c: &mut Client, argv: &[Bytes], wait_here: bool) -> Reply {
    let sub = String::from_utf8_lossy(&argv[1]).to_ascii_lowercase();
    match sub.as_str() {
        "load" => {
            let body = argv[2].clone();
            lua_job(sh, c, wait_here, move |_, ex| match ex.scripts.create(&body) {
                Ok(sha) => Reply::Bulk(Bytes::from(sha)),
                Err(e) => e,
            })
        }
        "exists" => {
            let shas = argv[2..].to_vec();
            lua_job(sh, c, wait_here, move |_, ex| {
                Reply::Array(
                    shas.iter()
                        .map(|s| Reply::Int(ex.scripts.exists(s) as i64))
                        .collect(),
                )
            })
        }
        "flush" => {
            if argv.len() > 3 {
                return Reply::err_static("ERR unknown subcommand or wrong number of arguments for 'flush'. Try SCRIPT HELP.");
            }
            if argv.len() == 3
                && !argv[2].eq_ignore_ascii_case(b"async")
                && !argv[2].eq_ignore_ascii_case(b"sync")
            {
                return Reply::err_static("ERR SCRIPT FLUSH only support SYNC|ASYNC option");
            }
            lua_job(sh, c, wait_here, move |_, ex| match ex.scripts.flush() {
                Ok(()) => Reply::Ok,
                Err(e) => Reply::error(format!("ERR {e}")),
            })
        }
        "kill" => kill(sh, true),
        "debug" => Reply::err_static("ERR SCRIPT DEBUG is not supported"),
        "help" => Reply::Array(
            [
                "SCRIPT <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
                "DEBUG (YES|SYNC|NO)",
                "    Set the debug mode for subsequent scripts executed.",
                "EXISTS <sha1> [<sha1> ...]",
                "    Return information about the existence of the scripts in the script cache.",
                "FLUSH [ASYNC|SYNC]",
                "    Flush the Lua scripts cache. Very dangerous on replicas.",
                "    When called without the optional mode argument, the behavior is determined by the",
                "    lazyfree-lazy-user-flush configuration directive. Valid modes are:",
                "    * ASYNC: Asynchronously flush the scripts cache.",
                "    * SYNC: Synchronously flush the scripts cache.",
                "KILL",
                "    Kill the currently executing Lua script.",
                "LOAD <script>",
                "    Load a script into the scripts cache without executing it.",
                "HELP",
                "    Prints this help.",
            ]
            .iter()
            .map(|s| Reply::Status(Bytes::from_static(s.as_bytes())))
            .collect(),
        ),
        _ => errors::unknown_subcommand(&argv[1], "script"),
    }
}

/// SCRIPT KILL (`is_eval`) and FUNCTION KILL: on another thread than the script's, or on its
/// thread while the busy script is suspended; the script stops at its next hook.
pub fn kill(sh: &Shared, is_eval: bool) -> Reply {
    let st = &sh.scripting.status;
    if !st.running.load(Ordering::Acquire) {
        return Reply::err_static("NOTBUSY No scripts in execution right now.");
    }
    if st.wrote.load(Ordering::Relaxed) {
        return Reply::err_static("UNKILLABLE Sorry the script already executed write commands against the dataset. You can either wait the script termination or kill the server in a hard way using the SHUTDOWN NOSAVE command.");
    }
    let running_eval = st.eval.load(Ordering::Relaxed);
    if is_eval && !running_eval {
        return Reply::err_static(BUSY_FUNCTION);
    }
    if !is_eval && running_eval {
        return Reply::err_static(BUSY_EVAL);
    }
    st.kill.store(true, Ordering::Relaxed);
    Reply::Ok
}

pub const BUSY_EVAL: &str =
    "BUSY Redis is busy running a script. You can only call SCRIPT KILL or SHUTDOWN NOSAVE.";
pub const BUSY_FUNCTION: &str =
    "BUSY Redis is busy running a script. You can only call FUNCTION KILL or SHUTDOWN NOSAVE.";

/// What a connection does with a command while the gate is taken.
pub enum Gate<'a> {
    /// Run it holding the read side of the gate.
    Held(parking_lot::RwLockReadGuard<'a, ()>),
    /// Run it without the gate (allow-busy commands during a busy script).
    Free,
    /// Refuse it with this error (BUSY), as [`dispatch::reject`] does.
    Reject(&'static CommandMeta, &'static str),
}

/// Waits (asynchronously) until `argv` may run: a script in progress ends, or becomes busy
/// (then BUSY, unless the command is allowed during busy scripts).
pub async fn enter<'a>(sh: &'a Shared, argv: &[Bytes]) -> Gate<'a> {
    loop {
        if let Some(g) = sh.scripting.gate.try_read() {
            return Gate::Held(g);
        }
        let st = &sh.scripting.status;
        let notified = st.changed.notified();
        tokio::pin!(notified);
        notified.as_mut().enable();
        if let Some(g) = sh.scripting.gate.try_read() {
            return Gate::Held(g);
        }
        if st.running.load(Ordering::Acquire) && st.busy.load(Ordering::Acquire) {
            // An unknown command gets its own error from dispatch.
            let Ok(m) = dispatch::resolve(argv) else {
                return Gate::Free;
            };
            if m.flags & cmd_flags::ALLOW_BUSY == 0 {
                let e = if st.eval.load(Ordering::Relaxed) {
                    BUSY_EVAL
                } else {
                    BUSY_FUNCTION
                };
                return Gate::Reject(m, e);
            }
            if m.name == "shutdown" {
                if !argv[1..].iter().any(|a| a.eq_ignore_ascii_case(b"nosave")) {
                    return Gate::Reject(m, "UNKILLABLE Errors trying to SHUTDOWN. Check logs.");
                }
                if sh.scripting.exit_on_busy_shutdown.load(Ordering::Relaxed) {
                    // Refuse new connections before anything else (Redis closes its
                    // listening sockets first): exiting takes a moment, and a client
                    // connecting meanwhile would be accepted, then dropped.
                    crate::net::abort_listeners(sh);
                    tracing::warn!("User requested shutdown...");
                    tracing::warn!("Redis is now ready to exit, bye bye...");
                    std::process::exit(0);
                }
            }
            return Gate::Free;
        }
        // A short wait for a script to get the gate, or to end or go busy.
        tokio::select! {
            _ = &mut notified => {}
            _ = tokio::time::sleep(std::time::Duration::from_millis(5)) => {}
        }
    }
}

/// INFO memory's script and function figures (Redis's evalMemory, functionsMemory and the
/// caches of getMemoryOverheadData).
pub struct MemoryInfo {
    pub vm_eval: i64,
    pub scripts_eval: i64,
    pub cached_scripts: i64,
    pub functions: i64,
    pub libraries: i64,
    pub vm_functions: i64,
    pub functions_caches: i64,
}

pub fn memory_info(sh: &Shared) -> MemoryInfo {
    let s = &sh.scripting;
    let get = |a: &AtomicI64| a.load(Ordering::Relaxed);
    MemoryInfo {
        vm_eval: get(&s.lua_memory),
        scripts_eval: get(&s.scripts_bytes),
        cached_scripts: get(&s.scripts_count),
        functions: get(&s.functions),
        libraries: get(&s.libraries),
        vm_functions: get(&s.functions_memory),
        functions_caches: get(&s.functions_bytes),
    }
}
