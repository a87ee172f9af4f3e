//! Persistence in Redis 7.0's formats. For now: the RDB (version 10) writer — SAVE, SHUTDOWN
//! SAVE and DUMP build on it — producing files Debian's `redis-check-rdb` accepts and a real
//! redis-server loads (checked by tests/tests/rdb_interop.rs).
//!
//! No I/O policy lives here (where files go, when saves happen): [`rdb::RdbWriter`] writes to
//! any `std::io::Write`; the server decides the rest.
//!
//! Must not depend on the keyspace, the command layer or tokio.

pub mod listpack;
pub mod load;
pub mod rdb;
