//! ferrodis-resp: the Redis serialization protocol, RESP2 and RESP3.
//!
//! # Layout
//!
//! - [`frame`]: [`Frame`], one value of any RESP type, and [`decode_frame`],
//!   an incremental nom-based decoder for replies (clients, tests, a replica
//!   reading its master's replies). Nesting is capped at [`frame::MAX_DEPTH`].
//! - [`encode`]: reply writers into a `BytesMut` (`write_bulk`,
//!   `write_map_len`, `write_double`...), each downgrading RESP3 types for
//!   RESP2 clients the way Redis 7.0 does; `fmt_g17` is C's `%.17g`;
//!   `encode_frame` writes a whole [`Frame`]. **Hot path.**
//! - [`request`]: [`RequestParser`], the server's request parser (multibulk
//!   and inline), following Redis 7.0's `networking.c` rule for rule,
//!   including its error strings and limits; `split_args` is `sdssplitargs`.
//!   **Hot path.**
//!
//! # Dependencies
//!
//! Pure data transformation: no I/O, no tokio, no sockets, no knowledge of
//! commands or the keyspace. Callers own the buffers and the connection.

pub mod encode;
pub mod frame;
pub mod request;

pub use frame::{decode_frame, Frame, FrameError};
pub use request::{split_args, Limits, ProtocolError, RequestParser};
