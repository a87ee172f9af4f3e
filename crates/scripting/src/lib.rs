//! ferrodis-scripting: Lua 5.1 (mlua, vendored) scripting — EVAL scripts and FUNCTION
//! libraries — with Redis 7.0's sandbox, API and type conversions.
//!
//! # Layout
//! - [`vm`]: one sandboxed Lua state: the `redis` API, the libraries, read-only globals,
//!   the error handler, the instruction hook that lets a long script be stopped.
//! - [`convert`]: Redis replies to Lua values and back (RESP2 and RESP3 rules).
//! - [`eval`]: the EVAL script cache (SHA1 → compiled chunk) and script runs.
//! - [`functions`]: FUNCTION libraries: loading, registry, listing, DUMP/RESTORE payloads.
//! - [`shebang`]: `#!lua flags=...` / `#!lua name=...` headers.
//! - [`libs`]: cjson, cmsgpack, bit and struct, written here in Rust.
//!
//! This crate runs Lua and nothing else: it knows no sockets, threads or locks. Commands a
//! script calls go through the [`Host`] the caller supplies for the duration of one run.

mod call;
pub mod convert;
pub mod eval;
pub mod functions;
pub mod libs;
pub mod shebang;
pub mod vm;

use bytes::Bytes;
pub use ferrodis_commands::Reply;

/// What a running script can do outside Lua; implemented by the server for one run.
pub trait Host {
    /// Run one command from `redis.call`/`redis.pcall` with the script client's protocol.
    /// Errors come back as `Reply::Error` carrying their code ("ERR ...").
    fn call(&mut self, argv: Vec<Bytes>, resp: u8) -> Reply;
    /// `redis.log(level, ...)`: level 0 debug .. 3 warning.
    fn log(&mut self, level: i64, msg: &[u8]);
    /// `redis.set_repl(flags)`: bit 1 = AOF, bit 2 = replicas.
    fn set_repl(&mut self, flags: u8);
    /// The run's final reply is an error a command already reported (and counted in the error
    /// statistics) when it failed inside the script: Redis counts it once.
    fn error_already_counted(&mut self) {}
}

/// Asked by the instruction hook every few thousand instructions of a run.
pub trait Watchdog {
    /// Returns true when the running script must stop now (SCRIPT KILL / FUNCTION KILL).
    fn check(&self) -> bool;
    /// The current (or last) run was killed.
    fn killed(&self) -> bool;
}

/// SHA1 of `data` as 40 lowercase hex digits.
pub fn sha1_hex(data: &[u8]) -> String {
    sha1_smol::Sha1::from(data).digest().to_string()
}
