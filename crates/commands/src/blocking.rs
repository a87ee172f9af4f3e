//! Blocking commands (BLPOP, BRPOP, BLMOVE, BRPOPLPUSH, BLMPOP, BZPOPMIN, BZPOPMAX, BZMPOP):
//! the request a handler returns when it must wait, timeout parsing, and (see `serve`) the
//! waiter registry that serves blocked clients after the write that made their key ready.
//!
//! A handler that finds nothing to pop calls [`block`]: inside MULTI/EXEC or a script (where
//! Redis never blocks) that gives the command's timeout reply at once; otherwise a
//! [`Reply::Block`] that the executor turns into a registered waiter.

use crate::ctx::Ctx;
use crate::reply::Reply;
use bytes::Bytes;

/// The value type a blocked client waits for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WaitFor {
    List,
    ZSet,
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
    let secs = ferrodis_ds::num::string2d(arg)
        .filter(|d| !d.is_nan())
        .ok_or_else(|| Reply::err_static("ERR timeout is not a float or out of range"))?;
    // Redis: ceil(seconds * 1000) converted to a long long; on x86-64 an out-of-range
    // conversion (inf, huge values) yields LLONG_MIN, hence "negative".
    let ms = (secs * 1000.0).ceil();
    if !(ms.is_finite() && ms < 9.223_372_036_854_775e18) || ms < 0.0 {
        return Err(Reply::err_static("ERR timeout is negative"));
    }
    let ms = ms as i64;
    if ms == 0 {
        return Ok(0);
    }
    Ok(ctx.now_ms.saturating_add(ms))
}
