//! One argument parser for every command: walk the arguments with `next_*`,
//! remember the first error, report it once.

use crate::errors;
use crate::reply::Reply;
use bytes::Bytes;
use ferrodis_ds::num;

/// Parse a Redis integer argument (strict: no spaces, no `+`, no leading zeros).
pub fn parse_i64(b: &[u8]) -> Option<i64> {
    num::string2ll(b)
}

/// Integer argument or `ERR value is not an integer or out of range`.
pub fn i64_or_err(b: &[u8]) -> Result<i64, Reply> {
    parse_i64(b).ok_or_else(errors::not_integer)
}

/// Float argument or `ERR value is not a valid float`.
pub fn f64_or_err(b: &[u8]) -> Result<f64, Reply> {
    num::string2d(b).ok_or_else(errors::not_float)
}

/// Case-insensitive comparison of an argument with an ASCII keyword.
#[inline]
pub fn eq_ic(a: &[u8], kw: &str) -> bool {
    a.eq_ignore_ascii_case(kw.as_bytes())
}

/// Walks `argv` from a starting index.
pub struct Args<'a> {
    argv: &'a [Bytes],
    pos: usize,
}

impl<'a> Args<'a> {
    pub fn new(argv: &'a [Bytes], start: usize) -> Self {
        Args { argv, pos: start }
    }
    pub fn remaining(&self) -> usize {
        self.argv.len().saturating_sub(self.pos)
    }
    pub fn is_empty(&self) -> bool {
        self.remaining() == 0
    }
    pub fn peek(&self) -> Option<&'a Bytes> {
        self.argv.get(self.pos)
    }
    #[allow(clippy::should_implement_trait)] // returns borrowed args with the walker's lifetime
    pub fn next(&mut self) -> Option<&'a Bytes> {
        let a = self.argv.get(self.pos);
        if a.is_some() {
            self.pos += 1;
        }
        a
    }
    /// The next argument, or a syntax error when there is none.
    pub fn next_or_syntax(&mut self) -> Result<&'a Bytes, Reply> {
        self.next().ok_or_else(errors::syntax)
    }
    pub fn next_i64(&mut self) -> Result<i64, Reply> {
        let a = self.next_or_syntax()?;
        i64_or_err(a)
    }
    pub fn next_f64(&mut self) -> Result<f64, Reply> {
        let a = self.next_or_syntax()?;
        f64_or_err(a)
    }
    pub fn pos(&self) -> usize {
        self.pos
    }
}
