//! ferrodis-ds: values and their encodings, with no I/O and no keyspace.
//!
//! # Layout
//! - [`compact`]: `CompactBytes`, 16-byte strings, inline up to 15 bytes.
//! - [`value`]: `Value`, the 16-byte per-key value (strings: int/embstr/raw).
//! - [`num`]: Redis-exact number parsing and formatting (string2ll, strtod rules,
//!   `%.17g`, long double INCRBYFLOAT through a small C shim).
//! - [`glob`]: Redis's glob matching (KEYS, SCAN MATCH, CONFIG GET...).
//! - [`lcs`]: the LCS command's algorithm.
//! - Collections (issue #3; not yet wired to commands): [`list`] (quicklist),
//!   [`hash`] (listpack/hashtable), [`set`] (intset/hashtable), [`zset`]
//!   (listpack/skiplist semantics on a B+tree with subtree counts).
//!
//! Must not depend on the keyspace, commands or server crates, nor on tokio.
pub mod bits;
pub mod compact;
pub mod geo;
pub mod glob;
pub mod hash;
pub mod hll;
pub mod lcs;
pub mod list;
pub mod num;
pub mod set;
pub mod stream;
#[cfg(test)]
mod testutil;
pub mod value;
pub mod zset;
