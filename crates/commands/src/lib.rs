//! ferrodis-commands: the command table and the data commands.
//!
//! # Layout
//! - [`meta`]: Redis 7.0's command metadata (arity, flags, key specs, ACL
//!   categories, docs) as generated data; `lookup` is on the hot path.
//! - [`introspect`]: the COMMAND command over that table.
//! - [`registry`]: which handler runs each data command and how it locks.
//! - [`exec`]: lock → run → propagate → unlock.
//! - [`engine`]: the keyspace plus settings, stats, the propagation stream.
//! - [`ctx`]: per-command context and shard locks.
//! - [`kv`]: expiry-aware key access used by every handler.
//! - [`coll`]: typed access to collection values (WRONGTYPE, create, delete when empty).
//! - [`blocking`]: blocking commands' requests, timeouts and the serving of blocked clients.
//! - [`strings`], [`keys`], [`lists`], [`hashes`], [`sets`], [`zsets`], [`sort`]: the
//!   handlers, one family per file; each collection module exports its `COMMANDS`;
//!   [`bitops`], [`hll`], [`geo`], [`streams`] likewise.
//! - [`reply`], [`errors`], [`args`]: typed replies, Redis's error lines, argument parsing.
//!
//! This crate knows nothing of sockets, tokio or clients: handlers take a
//! [`ctx::Ctx`] and arguments and return a [`Reply`]; the server encodes it.

pub mod args;
pub mod bitops;
pub mod blocking;
pub mod coll;
pub mod ctx;
pub mod engine;
pub mod errors;
pub mod exec;
pub mod geo;
pub mod hashes;
pub mod hll;
pub mod introspect;
pub mod keys;
pub mod kv;
pub mod lazyfree;
pub mod lists;
pub mod meta;
pub mod registry;
pub mod reply;
pub mod restore;
pub mod scan;
pub mod sets;
pub mod sort;
pub mod streams;
pub mod strings;
mod table;
pub mod watch;
pub mod zsets;

pub use engine::Engine;
pub use reply::Reply;
