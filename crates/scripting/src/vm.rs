//! One sandboxed Lua state, as Redis builds it (script_lua.c): base, table, string and math
//! libraries plus cjson, cmsgpack, bit and struct; no os, io, package, debug, print, dofile,
//! loadfile; binary chunks refused; the globals and every library table read-only; reading an
//! undefined global is an error. The sandbox itself is written in Lua (`prelude.lua`) over a
//! few Rust primitives.

use crate::convert::{self, error_table};
use crate::{Host, Watchdog};
use bytes::Bytes;
use mlua::{Function, HookTriggers, Lua, LuaOptions, MultiValue, StdLib, Table, Value, VmState};
use std::cell::Cell;
use std::ptr::NonNull;
use std::rc::Rc;

/// Redis's version as scripts see it.
pub const REDIS_VERSION: &str = "7.0.15";
pub const REDIS_VERSION_NUM: i64 = 0x0007_000f;

/// A script can not make its Lua state grow past this (huge `string.rep`, endless tables):
/// the allocation fails with a Lua error instead of exhausting the server's memory.
pub const MEMORY_LIMIT: usize = 1 << 30;

/// Runs `f` (our own code building or reading Lua values: KEYS/ARGV, a command's reply) with
/// the memory limit lifted. mlua wraps every allocating call in a protected call (a new C
/// closure and a pcall each) while a limit is set, which cost more than the work itself;
/// without one it calls Lua directly. The limit is for what a script allocates, and is back
/// before the script runs again.
pub(crate) fn unlimited<R>(lua: &Lua, f: impl FnOnce() -> R) -> R {
    let prev = lua.set_memory_limit(0).unwrap_or(MEMORY_LIMIT);
    let r = f();
    let _ = lua.set_memory_limit(prev);
    r
}

/// Script runs between two collector steps, and the step's size in KB (Redis's
/// LUA_GC_CYCLE_PERIOD).
const GC_PERIOD: u32 = 50;

/// Garbage (bytes) the heap may hold over its live size before the collector steps.
const GC_SLACK: usize = 16 * 1024;

/// Instructions between two looks at the watchdog.
const HOOK_EVERY: u32 = 10_000;

/// The host of the run in progress, reachable from the Rust primitives.
#[derive(Default)]
pub(crate) struct Active {
    host: Cell<Option<NonNull<dyn Host + 'static>>>,
    pub(crate) resp: Cell<u8>,
    /// The error a Rust function raised, as the table Redis raises (see `raise`).
    pending: std::cell::RefCell<Option<Vec<u8>>>,
    /// Functions registered by the FUNCTION LOAD in progress (None outside a load).
    pub(crate) loading: std::cell::RefCell<Option<Vec<Registered>>>,
    /// A panic caught in `redis.call` (it cannot unwind through Lua), resumed when the run
    /// returns to Rust.
    panic: Cell<Option<Box<dyn std::any::Any + Send>>>,
}

/// One `redis.register_function` call of a library being loaded.
pub struct Registered {
    pub name: String,
    pub desc: Option<Bytes>,
    pub flags: u32,
    pub func: Function,
}

impl Active {
    pub(crate) fn keep_panic(&self, payload: Box<dyn std::any::Any + Send>) {
        self.panic.set(Some(payload));
    }

    /// Resumes a panic [`Active::keep_panic`] kept during the run that just returned.
    fn resume_panic(&self) {
        if let Some(payload) = self.panic.take() {
            std::panic::resume_unwind(payload);
        }
    }

    pub(crate) fn with_host<R>(&self, f: impl FnOnce(&mut dyn Host) -> R) -> Option<R> {
        let p = self.host.get()?;
        // SAFETY: the pointer is set only by `Vm::with_host` for the duration of a run, from a
        // `&mut dyn Host` that outlives that call, and cleared before it returns. The host is
        // never re-entered: Lua is single-threaded and hosts do not call back into Lua.
        Some(f(unsafe { &mut *p.as_ptr() }))
    }
}

pub struct Vm {
    pub lua: Lua,
    run: Function,
    run_with: Function,
    set_load_mode: Function,
    pub(crate) active: Rc<Active>,
    /// Reached by `redis.call`/`redis.pcall` through a pointer: boxed, so it never moves.
    _call_ctx: Box<crate::call::CallCtx>,
    /// Runs since the last collector step (see [`Vm::collect_now_and_then`]).
    runs: Cell<u32>,
    /// Heap size after the last finished collection cycle.
    live: Cell<usize>,
    /// A collection cycle is in progress: step on without waiting for garbage.
    mid_cycle: Cell<bool>,
}

/// Which API a state exposes: EVAL scripts or FUNCTION libraries (which also get
/// `redis.register_function`, installed by [`crate::functions`]).
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Eval,
    Functions,
}

impl Vm {
    pub fn new(watch: Rc<dyn Watchdog>, kind: Kind) -> mlua::Result<Vm> {
        // SAFETY: the debug library is needed by the error handler; the prelude keeps a private
        // reference to it and removes it from the globals before any user code runs.
        let lua = unsafe {
            Lua::unsafe_new_with(
                StdLib::TABLE | StdLib::STRING | StdLib::MATH | StdLib::DEBUG,
                LuaOptions::new(),
            )
        };
        lua.set_memory_limit(MEMORY_LIMIT)?;
        let active = Rc::new(Active::default());
        active.resp.set(2);
        let p = lua.create_table()?;
        let call_ctx = Box::new(crate::call::CallCtx {
            active: active.clone(),
            lua: lua.weak(),
        });
        p.raw_set("call", crate::call::create(&lua, &call_ctx, true)?)?;
        p.raw_set("pcall", crate::call::create(&lua, &call_ctx, false)?)?;
        let a = active.clone();
        p.raw_set(
            "take_error",
            lua.create_function(move |lua, ()| match a.pending.borrow_mut().take() {
                Some(msg) => Ok(Value::Table(error_table(lua, &msg)?)),
                None => Ok(Value::Nil),
            })?,
        )?;
        let fns = redis_fns(&lua, active.clone())?;
        if kind == Kind::Functions {
            // Only the load-time API has it: inside a function `redis.register_function` is nil.
            let reg = crate::functions::register_function(&lua, active.clone())?;
            let api = lua.create_table()?;
            api.raw_set("register_function", reg)?;
            api.raw_set("log", fns.raw_get::<Value>("log")?)?;
            for (k, v) in redis_values(&lua)?.pairs::<Value, Value>().flatten() {
                if let Value::String(name) = &k {
                    let n = name.as_bytes();
                    if n.starts_with(b"LOG_") || n.starts_with(b"REDIS_VERSION") {
                        api.raw_set(k.clone(), v)?;
                    }
                }
            }
            p.raw_set("library_api", api)?;
        }
        p.raw_set("redis", fns)?;
        p.raw_set("redis_values", redis_values(&lua)?)?;
        p.raw_set("libs", crate::libs::create_all(&lua)?)?;
        let w = watch.clone();
        p.raw_set("killed", lua.create_function(move |_, ()| Ok(w.killed()))?)?;
        let (run, run_with, set_load_mode): (Function, Function, Function) = lua
            .load(include_str!("prelude.lua"))
            .set_name("=redis")
            .call(p)?;
        install_hook(&lua, watch);
        // What building the state left behind is garbage: a new state (SCRIPT FLUSH) reports
        // only what it holds.
        lua.gc_collect()?;
        let live = lua.used_memory();
        Ok(Vm {
            lua,
            run,
            run_with,
            set_load_mode,
            active,
            _call_ctx: call_ctx,
            runs: Cell::new(0),
            live: Cell::new(live),
            mid_cycle: Cell::new(false),
        })
    }

    /// Every [`GC_PERIOD`] runs, a collector step worth that many KB, as Redis does after
    /// EVAL: garbage of short scripts is reclaimed steadily rather than by Lua's own pacing
    /// in one long cycle. Unlike Redis, no step while the heap is within [`GC_SLACK`] of what
    /// the last finished cycle left: a step that starts a cycle marks the whole heap, and a
    /// short script leaves only a few KB of garbage per 50 runs, so every step ran a whole
    /// cycle (EVALSHA of a one-GET script: 7% of the server's CPU in the collector).
    fn collect_now_and_then(&self) {
        let n = self.runs.get() + 1;
        if n < GC_PERIOD {
            self.runs.set(n);
            return;
        }
        self.runs.set(0);
        let used = self.lua.used_memory();
        if !self.mid_cycle.get() && used < self.live.get() + GC_SLACK {
            return;
        }
        match self.lua.gc_step_kbytes(GC_PERIOD as i32) {
            Ok(true) => {
                self.mid_cycle.set(false);
                self.live.set(self.lua.used_memory());
            }
            _ => self.mid_cycle.set(true),
        }
    }

    /// Compiles a user chunk (text only) named `@user_script`.
    pub fn compile(&self, code: &[u8], name: &str) -> Result<Function, String> {
        if code.first() == Some(&0x1b) {
            return Err(format!(
                "{}: bad binary format (precompiled chunk refused)",
                name.trim_start_matches('@')
            ));
        }
        self.lua
            .load(code)
            .set_name(name)
            .set_mode(mlua::ChunkMode::Text)
            .into_function()
            .map_err(|e| lua_error_text(&e))
    }

    /// Puts back the watchdog hook (after FUNCTION LOAD's own).
    pub fn restore_hook(&self, watch: Rc<dyn Watchdog>) {
        install_hook(&self.lua, watch);
    }

    /// FUNCTION LOAD mode: the globals are only the library API.
    pub fn set_load_mode(&self, on: bool) -> mlua::Result<()> {
        self.set_load_mode.call::<()>(on)
    }

    /// Runs `f` with `host` reachable from `redis.call` and friends.
    pub fn with_host<R>(&self, host: &mut dyn Host, f: impl FnOnce(&Vm) -> R) -> R {
        // SAFETY: only the lifetime is erased; `Active::with_host` documents why the pointer is
        // never used after this call returns (it is cleared below, also on unwind via the guard).
        let ptr: NonNull<dyn Host + '_> = NonNull::from(host);
        let ptr: NonNull<dyn Host + 'static> = unsafe { std::mem::transmute(ptr) };
        struct Clear<'a>(&'a Active);
        impl Drop for Clear<'_> {
            fn drop(&mut self) {
                self.0.host.set(None);
            }
        }
        self.active.host.set(Some(ptr));
        self.active.resp.set(2);
        self.active.pending.borrow_mut().take();
        let _clear = Clear(&self.active);
        f(self)
    }

    /// Calls `f` (a script chunk) under the error handler: `Ok(value)` or `Err(error table)`.
    pub fn run(&self, f: &Function) -> Result<Value, ScriptError> {
        let r = self.run.call::<MultiValue>(f.clone());
        self.active.resume_panic();
        ran(r)
    }

    /// Calls an EVAL script chunk with KEYS and ARGV set, under the error handler. The two
    /// tables are built with Lua's C API: through mlua every element would be a registry
    /// reference made and dropped, which cost more than the rest of a short script's setup.
    pub fn run_script(
        &self,
        f: &Function,
        keys: &[Bytes],
        args: &[Bytes],
    ) -> Result<Value, ScriptError> {
        // SAFETY: the closure runs inside mlua's protected call with `run` and `f` on the
        // stack; it only pushes values and calls `run`, and owns nothing a Lua error (out of
        // memory while building the tables) could skip the drop of.
        let r = unsafe {
            self.lua
                .exec_raw::<MultiValue>((self.run.clone(), f.clone()), |state| {
                    push_array(state, keys);
                    push_array(state, args);
                    mlua::ffi::lua_call(state, 3, mlua::ffi::LUA_MULTRET);
                })
        };
        self.active.resume_panic();
        self.collect_now_and_then();
        ran(r)
    }

    /// Calls a library function `f(keys, args)` under the error handler.
    pub fn run_with(&self, f: &Function, keys: Value, args: Value) -> Result<Value, ScriptError> {
        let r = self.run_with.call::<MultiValue>((f.clone(), keys, args));
        self.active.resume_panic();
        self.collect_now_and_then();
        ran(r)
    }

    /// The protocol the script selected with `redis.setresp`.
    pub fn resp(&self) -> u8 {
        self.active.resp.get()
    }

    /// Bytes used by the Lua state.
    pub fn used_memory(&self) -> usize {
        self.lua.used_memory()
    }
}

/// Pushes a Lua array of `items` (strings) on `state`'s stack.
///
/// # Safety
/// `state` must be a Lua state inside a protected call, with room for two more values.
unsafe fn push_array(state: *mut mlua::ffi::lua_State, items: &[Bytes]) {
    use mlua::ffi;
    ffi::lua_createtable(state, i32::try_from(items.len()).unwrap_or(i32::MAX), 0);
    for (i, item) in items.iter().enumerate() {
        ffi::lua_pushlstring(state, item.as_ptr().cast(), item.len());
        ffi::lua_rawseti(state, -2, (i + 1) as ffi::lua_Integer);
    }
}

fn install_hook(lua: &Lua, watch: Rc<dyn Watchdog>) {
    lua.set_hook(
        HookTriggers::new().every_nth_instruction(HOOK_EVERY),
        move |lua, _dbg| {
            if watch.check() {
                // From now on fail at every line, so that a script catching the error with
                // pcall cannot go on (Redis does the same).
                let w = watch.clone();
                lua.set_hook(HookTriggers::EVERY_LINE, move |_, _| {
                    if w.killed() {
                        Err(mlua::Error::RuntimeError(
                            "Script killed by user with SCRIPT KILL...".into(),
                        ))
                    } else {
                        Ok(VmState::Continue)
                    }
                });
                Err(mlua::Error::RuntimeError(
                    "Script killed by user with SCRIPT KILL...".into(),
                ))
            } else {
                Ok(VmState::Continue)
            }
        },
    );
}

/// A failed run, as Redis's luaExtractErrorInformation reads it off the error value.
#[derive(Debug, Clone, Default)]
pub struct ScriptError {
    /// The error line with its code ("ERR ...").
    pub msg: Vec<u8>,
    pub source: Option<Vec<u8>>,
    pub line: Option<i64>,
    /// Raised from a command's error, already counted in the error statistics.
    pub counted: bool,
}

impl ScriptError {
    fn from_value(v: &Value) -> ScriptError {
        match v {
            Value::String(s) => {
                let mut msg = b"ERR ".to_vec();
                msg.extend_from_slice(&s.as_bytes());
                ScriptError {
                    msg,
                    ..Default::default()
                }
            }
            Value::Table(t) => {
                let text = |k: &str| match t.raw_get::<Value>(k) {
                    Ok(Value::String(s)) => Some(s.as_bytes().to_vec()),
                    Ok(Value::Integer(i)) => Some(i.to_string().into_bytes()),
                    Ok(Value::Number(n)) => Some(convert::fmt_g17(n).into_bytes()),
                    _ => None,
                };
                ScriptError {
                    counted: matches!(
                        t.raw_get::<Value>("ignore_error_stats_update"),
                        Ok(Value::Boolean(true))
                    ),
                    msg: text("err").unwrap_or_default(),
                    source: text("source"),
                    line: text("line").and_then(|l| std::str::from_utf8(&l).ok()?.parse().ok()),
                }
            }
            _ => ScriptError {
                msg: b"ERR execution failure".to_vec(),
                ..Default::default()
            },
        }
    }
}

fn ran(r: mlua::Result<MultiValue>) -> Result<Value, ScriptError> {
    match r {
        Ok(mv) => {
            let mut it = mv.into_iter();
            let ok = matches!(it.next(), Some(Value::Boolean(true)));
            let v = it.next().unwrap_or(Value::Nil);
            if ok {
                Ok(v)
            } else {
                Err(ScriptError::from_value(&v))
            }
        }
        // The handler itself failed (out of memory while handling an error...).
        Err(e) => Err(ScriptError {
            msg: format!("ERR {}", lua_error_text(&e)).into_bytes(),
            ..Default::default()
        }),
    }
}

/// The message of a Lua error without mlua's decorations.
pub fn lua_error_text(e: &mlua::Error) -> String {
    match e {
        mlua::Error::SyntaxError { message, .. } => message.clone(),
        mlua::Error::RuntimeError(m) => m.clone(),
        mlua::Error::MemoryError(m) => m.clone(),
        mlua::Error::CallbackError { cause, .. } => lua_error_text(cause),
        other => other.to_string(),
    }
}

/// Raises the error table `{err = msg}` from a Rust function: mlua raises its own error value,
/// the prelude's handlers (error handler, pcall, xpcall) swap it for this table.
pub(crate) fn raise<T>(active: &Active, msg: &[u8]) -> mlua::Result<T> {
    *active.pending.borrow_mut() = Some(msg.to_vec());
    Err(mlua::Error::RuntimeError(
        String::from_utf8_lossy(msg).into_owned(),
    ))
}

fn number_arg(v: Option<&Value>) -> Option<i64> {
    match v {
        Some(Value::Integer(i)) => Some(*i),
        Some(Value::Number(n)) => Some(*n as i64),
        _ => None,
    }
}

/// The `redis.*` functions written in Rust; errors are raised as Redis's error tables.
fn redis_fns(lua: &Lua, active: Rc<Active>) -> mlua::Result<Table> {
    let t = lua.create_table()?;
    let a = active.clone();
    t.raw_set(
        "sha1hex",
        lua.create_function(move |lua, args: MultiValue| {
            if args.len() != 1 {
                return raise(&a, b"ERR wrong number of arguments");
            }
            let data: Bytes = args
                .front()
                .and_then(convert::arg_bytes)
                .unwrap_or_default();
            Ok(Value::String(lua.create_string(crate::sha1_hex(&data))?))
        })?,
    )?;
    let a = active.clone();
    t.raw_set(
        "log",
        lua.create_function(move |_, args: MultiValue| {
            if args.len() < 2 {
                return raise(&a, b"ERR redis.log() requires two arguments or more.");
            }
            let Some(level) = number_arg(args.front()) else {
                return raise(&a, b"ERR First argument must be a number (log level).");
            };
            if !(0..=3).contains(&level) {
                return raise(&a, b"ERR Invalid debug level.");
            }
            let mut msg = Vec::new();
            for (i, v) in args.iter().skip(1).enumerate() {
                if i > 0 {
                    msg.push(b' ');
                }
                if let Some(b) = convert::arg_bytes(v) {
                    msg.extend_from_slice(&b);
                }
            }
            a.with_host(|h| h.log(level, &msg));
            Ok(Value::Nil)
        })?,
    )?;
    let a = active.clone();
    t.raw_set(
        "setresp",
        lua.create_function(move |_, args: MultiValue| {
            if a.host.get().is_none() {
                return raise(
                    &a,
                    b"ERR redis.setresp can only be called inside a script invocation",
                );
            }
            if args.len() != 1 {
                return raise(&a, b"ERR redis.setresp() requires one argument.");
            }
            let v = number_arg(args.front()).unwrap_or(0);
            if v != 2 && v != 3 {
                return raise(&a, b"ERR RESP version must be 2 or 3.");
            }
            a.resp.set(v as u8);
            Ok(Value::Nil)
        })?,
    )?;
    let a = active;
    t.raw_set(
        "set_repl",
        lua.create_function(move |_, args: MultiValue| {
            if a.host.get().is_none() {
                return raise(&a, b"ERR redis.set_repl can only be called inside a script invocation");
            }
            if args.len() != 1 {
                return raise(&a, b"ERR redis.set_repl() requires two arguments.");
            }
            let v = number_arg(args.front()).unwrap_or(-1);
            if !(0..=3).contains(&v) {
                return raise(
                    &a,
                    b"ERR Invalid replication flags. Use REPL_AOF, REPL_REPLICA, REPL_ALL or REPL_NONE.",
                );
            }
            a.with_host(|h| h.set_repl(v as u8));
            Ok(Value::Nil)
        })?,
    )?;
    Ok(t)
}

fn redis_values(lua: &Lua) -> mlua::Result<Table> {
    let t = lua.create_table()?;
    t.raw_set("REDIS_VERSION", REDIS_VERSION)?;
    t.raw_set("REDIS_VERSION_NUM", REDIS_VERSION_NUM)?;
    t.raw_set("LOG_DEBUG", 0)?;
    t.raw_set("LOG_VERBOSE", 1)?;
    t.raw_set("LOG_NOTICE", 2)?;
    t.raw_set("LOG_WARNING", 3)?;
    t.raw_set("REPL_NONE", 0)?;
    t.raw_set("REPL_AOF", 1)?;
    t.raw_set("REPL_SLAVE", 2)?;
    t.raw_set("REPL_REPLICA", 2)?;
    t.raw_set("REPL_ALL", 3)?;
    Ok(t)
}
