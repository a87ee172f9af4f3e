//! `redis.call` and `redis.pcall` as plain Lua C functions.
//!
//! They are the one part of the Lua API every script uses, usually several times per run.
//! Through mlua's callback machinery each call turned every argument and the reply into
//! registry references and back; here the arguments are read off the Lua stack and the reply
//! is pushed onto it directly (see `convert::push_reply`).
//!
//! Errors: `redis.call` raises Redis's error table (`{err = ...}`, with
//! `ignore_error_stats_update` when a command failed and was already counted), `redis.pcall`
//! returns it. The table is built before `lua_error` jumps back into Lua, and the jump starts
//! from a frame that owns nothing ([`redis_call`]), so no Rust value is skipped.

use crate::convert::{fmt_g17, push_field_table, push_reply};
use crate::vm::{unlimited, Active};
use crate::Reply;
use bytes::Bytes;
use mlua::{ffi, Function, Lua, WeakLua};
use std::ffi::c_int;
use std::rc::Rc;

/// What the two functions reach through their first upvalue. Owned by the `Vm`, which
/// outlives every run of its state's scripts.
pub(crate) struct CallCtx {
    pub(crate) active: Rc<Active>,
    pub(crate) lua: WeakLua,
}

const NO_ARGS: &[u8] = b"ERR Please specify at least one argument for this redis lib call";
const BAD_ARG: &[u8] = b"ERR Lua redis lib command arguments must be strings or integers";
const NOT_IN_SCRIPT: &[u8] = b"ERR redis.call/pcall can only be called inside a script invocation";

/// Creates `redis.call` (`raising`) or `redis.pcall` bound to `ctx`.
pub(crate) fn create(lua: &Lua, ctx: &CallCtx, raising: bool) -> mlua::Result<Function> {
    let ctx_ptr: *const CallCtx = ctx;
    // SAFETY: pushes two values and a closure over them inside mlua's protected call.
    unsafe {
        lua.exec_raw::<Function>((), |state| {
            ffi::lua_pushlightuserdata(state, ctx_ptr.cast_mut().cast());
            ffi::lua_pushboolean(state, c_int::from(raising));
            ffi::lua_pushcclosure(state, redis_call, 2);
        })
    }
}

/// The C function. Holds nothing that needs dropping: when [`call`] leaves an error to
/// raise, `lua_error` long-jumps out of this frame only.
unsafe extern "C-unwind" fn redis_call(state: *mut ffi::lua_State) -> c_int {
    let n = call_guarded(state);
    if n < 0 {
        ffi::lua_error(state)
    } else {
        n
    }
}

/// [`call`] with a panic kept for the run's end (it must not unwind through Lua's C frames):
/// the script sees an error, and [`crate::vm::Vm`] resumes the panic once the run returns.
unsafe fn call_guarded(state: *mut ffi::lua_State) -> c_int {
    // SAFETY: upvalue 1 is the `CallCtx` pointer set by `create`; the Vm owning it is alive
    // while any of its scripts runs.
    let ctx = &*(ffi::lua_touserdata(state, ffi::lua_upvalueindex(1)) as *const CallCtx);
    let raising = ffi::lua_toboolean(state, ffi::lua_upvalueindex(2)) != 0;
    match std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| call(state, ctx, raising))) {
        Ok(n) => n,
        Err(payload) => {
            ctx.active.keep_panic(payload);
            ffi::lua_pushstring(state, c"ERR scripting engine failure".as_ptr());
            -1
        }
    }
}

/// One `redis.call`/`redis.pcall`: 1 when the result is pushed, -1 when the pushed error
/// must be raised.
unsafe fn call(state: *mut ffi::lua_State, ctx: &CallCtx, raising: bool) -> c_int {
    let argc = ffi::lua_gettop(state);
    if argc == 0 {
        return fail(state, ctx, raising, NO_ARGS, false);
    }
    let mut argv = Vec::with_capacity(argc as usize);
    for i in 1..=argc {
        match arg(state, i) {
            Some(b) => argv.push(b),
            None => return fail(state, ctx, raising, BAD_ARG, false),
        }
    }
    let resp = ctx.active.resp.get();
    let Some(reply) = ctx.active.with_host(|h| h.call(argv, resp)) else {
        return fail(state, ctx, raising, NOT_IN_SCRIPT, false);
    };
    if let Reply::Error(e) = &reply {
        // Counted when the command failed: the final reply must not count it again.
        return fail(state, ctx, raising, e, true);
    }
    lifted(ctx, || push_reply(state, reply, resp));
    1
}

/// One argument: a string as it is, a number as `%.17g` (as Redis 7.0 formats it: Lua's own
/// conversion would lose precision). Anything else is refused.
unsafe fn arg(state: *mut ffi::lua_State, i: c_int) -> Option<Bytes> {
    match ffi::lua_type(state, i) {
        ffi::LUA_TSTRING => {
            let mut len = 0usize;
            let p = ffi::lua_tolstring(state, i, &mut len);
            if p.is_null() {
                return None;
            }
            // SAFETY: Lua keeps the string alive while it is on the stack.
            Some(Bytes::copy_from_slice(std::slice::from_raw_parts(
                p.cast::<u8>(),
                len,
            )))
        }
        ffi::LUA_TNUMBER => Some(Bytes::from(fmt_g17(ffi::lua_tonumber(state, i)))),
        _ => None,
    }
}

/// Pushes the error table for `msg`; 1 for pcall (returned), -1 for call (raised).
unsafe fn fail(
    state: *mut ffi::lua_State,
    ctx: &CallCtx,
    raising: bool,
    msg: &[u8],
    counted: bool,
) -> c_int {
    lifted(ctx, || {
        push_field_table(state, b"err", msg);
        if counted {
            ffi::lua_pushstring(state, c"ignore_error_stats_update".as_ptr());
            ffi::lua_pushboolean(state, 1);
            ffi::lua_rawset(state, -3);
        }
    });
    if raising {
        -1
    } else {
        1
    }
}

/// Runs `f` (building values for the script) with the memory limit lifted, so that an
/// allocation cannot fail half-way and jump over Rust frames.
fn lifted(ctx: &CallCtx, f: impl FnOnce()) {
    match ctx.lua.try_upgrade() {
        Some(lua) => unlimited(&lua, f),
        None => f(),
    }
}
