//! `Value`: what the key table stores for each key.
//!
//! Strings, lists, hashes, sets and sorted sets exist; streams are added later as a new
//! variant (the enum is deliberately not `#[non_exhaustive]`: inside the workspace we want every
//! `match` to be revisited when a type is added).
//!
//! Strings carry Redis's three `OBJECT ENCODING` names, with our own layouts behind them:
//! - `int`: [`Value::Int`], a string that parses strictly as an `i64` (Redis's `string2ll` rules:
//!   no sign `+`, no leading zeros, no `-0`, no spaces) and is at most 20 bytes long;
//! - `embstr`: [`Value::Str`] of at most [`EMBSTR_MAX`] (44) bytes, created by SET-like paths;
//! - `raw`: [`Value::Str`] longer than 44 bytes, or [`Value::Raw`], a growable buffer that every
//!   in-place modification (APPEND, SETRANGE, SETBIT...) converts the value to, whatever its length —
//!   exactly when Redis switches to `raw`.
//!
//! `Value` is 16 bytes: `CompactBytes` leaves spare bit patterns in its last byte and the compiler
//! stores `Value`'s discriminant there (checked by a test).
//!
//! Must not depend on the keyspace or on I/O.

use crate::compact::CompactBytes;
use crate::hash::Hash;
use crate::list::QuickList;
use crate::set::Set;
use crate::stream::Stream;
use crate::zset::ZSet;

/// Longest string created with the `embstr` encoding (Redis's `OBJ_ENCODING_EMBSTR_SIZE_LIMIT`).
pub const EMBSTR_MAX: usize = 44;

/// Longest string that may be encoded as `int` (Redis's `tryObjectEncoding` limit).
pub const INT_ENCODING_MAX_LEN: usize = 20;

/// The value of one key.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Value {
    /// A string in the `int` encoding.
    Int(i64),
    /// An immutable string: `embstr` up to 44 bytes, `raw` above.
    Str(CompactBytes),
    /// A string modified in place (or forced raw): always `raw`. Boxed so that `Value` stays 16
    /// bytes; the extra allocation matches Redis's `raw` (object header + separate sds buffer).
    Raw(Box<Vec<u8>>),
    /// A list (`quicklist`).
    List(Box<QuickList>),
    /// A hash (`listpack` or `hashtable`).
    Hash(Box<Hash>),
    /// A set (`intset` or `hashtable`).
    Set(Box<Set>),
    /// A sorted set (`listpack` or `skiplist`).
    ZSet(Box<ZSet>),
    /// A stream (`stream`).
    Stream(Box<Stream>),
}

/// A borrowed view of a string value: its bytes, or the integer whose decimal form they are.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum StrRef<'a> {
    /// The string's bytes.
    Bytes(&'a [u8]),
    /// An `int`-encoded string: its decimal representation is the string.
    Int(i64),
}

impl StrRef<'_> {
    /// Length of the string in bytes.
    pub fn len(&self) -> usize {
        match self {
            StrRef::Bytes(b) => b.len(),
            StrRef::Int(i) => int_len(*i),
        }
    }

    /// True for the empty string.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Appends the string form to `out`.
    pub fn write_to(&self, out: &mut Vec<u8>) {
        match self {
            StrRef::Bytes(b) => out.extend_from_slice(b),
            StrRef::Int(i) => out.extend_from_slice(format_i64(*i, &mut [0; 20])),
        }
    }

    /// Calls `f` with the string's bytes (integers are formatted on the stack).
    pub fn with_bytes<R>(&self, f: impl FnOnce(&[u8]) -> R) -> R {
        match self {
            StrRef::Bytes(b) => f(b),
            StrRef::Int(i) => f(format_i64(*i, &mut [0; 20])),
        }
    }

    /// The string as an owned vector.
    pub fn to_vec(&self) -> Vec<u8> {
        let mut v = Vec::with_capacity(self.len());
        self.write_to(&mut v);
        v
    }
}

impl Value {
    /// A string value from `SET`-like input, encoded as Redis's `tryObjectEncoding` would:
    /// `int` if it parses strictly and is at most 20 bytes, else `embstr` up to 44 bytes, else `raw`.
    pub fn from_bytes(b: &[u8]) -> Value {
        if let Some(i) = parse_int_encoding(b) {
            return Value::Int(i);
        }
        Value::Str(CompactBytes::new(b))
    }

    /// Like [`Value::from_bytes`] but takes ownership, avoiding a copy for long strings.
    pub fn from_vec(v: Vec<u8>) -> Value {
        if let Some(i) = parse_int_encoding(&v) {
            return Value::Int(i);
        }
        Value::Str(CompactBytes::from_vec(v))
    }

    /// A string forced into the `raw` encoding (as after APPEND/SETRANGE/SETBIT).
    pub fn raw_from(v: Vec<u8>) -> Value {
        Value::Raw(Box::new(v))
    }

    /// An `int`-encoded string.
    pub fn from_int(i: i64) -> Value {
        Value::Int(i)
    }

    /// The name `TYPE` reports.
    pub fn type_name(&self) -> &'static str {
        match self {
            Value::Int(_) | Value::Str(_) | Value::Raw(_) => "string",
            Value::List(_) => "list",
            Value::Hash(_) => "hash",
            Value::Set(_) => "set",
            Value::ZSet(_) => "zset",
            Value::Stream(_) => "stream",
        }
    }

    /// The name `OBJECT ENCODING` reports.
    pub fn encoding_name(&self) -> &'static str {
        match self {
            Value::Int(_) => "int",
            Value::Str(s) if s.len() <= EMBSTR_MAX => "embstr",
            Value::Str(_) | Value::Raw(_) => "raw",
            Value::List(l) => l.encoding(),
            Value::Hash(h) => h.encoding(),
            Value::Set(s) => s.encoding(),
            Value::ZSet(z) => z.encoding(),
            Value::Stream(s) => s.encoding(),
        }
    }

    /// True for the string type (any encoding).
    pub fn is_string(&self) -> bool {
        matches!(self, Value::Int(_) | Value::Str(_) | Value::Raw(_))
    }

    /// The string, or `None` if the value is not a string.
    pub fn as_str(&self) -> Option<StrRef<'_>> {
        match self {
            Value::Int(i) => Some(StrRef::Int(*i)),
            Value::Str(s) => Some(StrRef::Bytes(s.as_slice())),
            Value::Raw(v) => Some(StrRef::Bytes(v)),
            _ => None,
        }
    }

    /// The string's value as an integer, if it is a string holding a valid `i64` under Redis's
    /// strict rules (what INCR/DECR accept). Free for `int`-encoded values.
    pub fn as_int(&self) -> Option<i64> {
        match self {
            Value::Int(i) => Some(*i),
            Value::Str(s) => parse_i64_strict(s),
            Value::Raw(v) => parse_i64_strict(v),
            _ => None,
        }
    }

    /// Length of the string in bytes (`STRLEN`); 0 for non-string values.
    pub fn str_len(&self) -> usize {
        self.as_str().map_or(0, |s| s.len())
    }

    /// Converts a string to the growable `raw` encoding and returns its buffer, for in-place
    /// modification (APPEND, SETRANGE, SETBIT). `None` if the value is not a string.
    pub fn make_raw_mut(&mut self) -> Option<&mut Vec<u8>> {
        let bytes = match self {
            Value::Raw(_) => None,
            Value::Int(i) => Some(format_i64(*i, &mut [0; 20]).to_vec()),
            Value::Str(s) => Some(std::mem::take(s).into_vec()),
            _ => return None,
        };
        if let Some(bytes) = bytes {
            *self = Value::Raw(Box::new(bytes));
        }
        match self {
            Value::Raw(v) => Some(&mut **v),
            _ => None,
        }
    }

    /// Estimated heap bytes owned by the value, not counting the 16 bytes of the `Value` itself
    /// (which live in the key table's entry). Allocator rounding is not included.
    pub fn mem_usage(&self) -> usize {
        match self {
            Value::Int(_) => 0,
            Value::Str(s) => s.heap_size(),
            Value::Raw(v) => std::mem::size_of::<Vec<u8>>() + v.capacity(),
            Value::List(l) => l.allocated_bytes(),
            Value::Hash(h) => std::mem::size_of::<Hash>() + h.heap_bytes(),
            Value::Set(s) => std::mem::size_of::<Set>() + s.heap_bytes(),
            Value::ZSet(z) => std::mem::size_of::<ZSet>() + z.allocated_bytes(),
            Value::Stream(s) => s.heap_bytes(),
        }
    }
}

/// Parses `b` as Redis's `tryObjectEncoding` does for the `int` encoding.
fn parse_int_encoding(b: &[u8]) -> Option<i64> {
    if b.len() > INT_ENCODING_MAX_LEN {
        return None;
    }
    parse_i64_strict(b)
}

/// Strict decimal `i64` parser: Redis's `string2ll` (see [`crate::num::string2ll`]).
pub(crate) fn parse_i64_strict(b: &[u8]) -> Option<i64> {
    crate::num::string2ll(b)
}

/// Number of bytes of `i`'s decimal form.
fn int_len(i: i64) -> usize {
    let mut n = usize::from(i < 0);
    let mut u = i.unsigned_abs();
    loop {
        n += 1;
        u /= 10;
        if u == 0 {
            return n;
        }
    }
}

/// Formats `i` in decimal into `buf`, returning the used tail (an i64 needs at most 20 bytes).
fn format_i64(i: i64, buf: &mut [u8; 20]) -> &[u8] {
    let mut u = i.unsigned_abs();
    let mut pos = buf.len();
    loop {
        pos -= 1;
        buf[pos] = b'0' + (u % 10) as u8;
        u /= 10;
        if u == 0 {
            break;
        }
    }
    if i < 0 {
        pos -= 1;
        buf[pos] = b'-';
    }
    &buf[pos..]
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn sixteen_bytes() {
        assert_eq!(std::mem::size_of::<Value>(), 16);
        assert_eq!(std::mem::size_of::<Option<Value>>(), 16);
    }

    #[test]
    fn encodings_follow_redis_thresholds() {
        assert_eq!(Value::from_bytes(b"12345").encoding_name(), "int");
        assert_eq!(
            Value::from_bytes(b"-9223372036854775808"),
            Value::Int(i64::MIN)
        );
        assert_eq!(
            Value::from_bytes(b"9223372036854775807"),
            Value::Int(i64::MAX)
        );
        for not_int in [
            &b"-0"[..],
            b"+1",
            b"01",
            b" 1",
            b"1 ",
            b"",
            b"-",
            b"9223372036854775808",
            b"-9223372036854775809",
            b"1.0",
            b"0x1",
        ] {
            let v = Value::from_bytes(not_int);
            assert_eq!(v.encoding_name(), "embstr", "{not_int:?}");
            assert_eq!(v.as_str(), Some(StrRef::Bytes(not_int)));
        }
        assert_eq!(Value::from_bytes(&[b'a'; 44]).encoding_name(), "embstr");
        assert_eq!(Value::from_bytes(&[b'a'; 45]).encoding_name(), "raw");
        assert_eq!(Value::from_vec(vec![b'a'; 45]).encoding_name(), "raw");
        assert_eq!(Value::raw_from(b"x".to_vec()).encoding_name(), "raw");
        assert_eq!(Value::from_int(-3).type_name(), "string");
    }

    #[test]
    fn make_raw_mut_converts_every_encoding() {
        let mut v = Value::from_int(-42);
        if let Some(b) = v.make_raw_mut() {
            b.extend_from_slice(b"x");
        }
        assert_eq!(v.encoding_name(), "raw");
        assert_eq!(v.as_str().map(|s| s.to_vec()), Some(b"-42x".to_vec()));
        assert_eq!(v.as_int(), None);

        let mut v = Value::from_bytes(b"hello");
        if let Some(b) = v.make_raw_mut() {
            b.truncate(2);
        }
        assert_eq!(v, Value::raw_from(b"he".to_vec()));
        assert_eq!(v.str_len(), 2);
    }

    #[test]
    fn as_int_parses_strings_strictly() {
        assert_eq!(Value::raw_from(b"77".to_vec()).as_int(), Some(77));
        assert_eq!(Value::raw_from(b"077".to_vec()).as_int(), None);
        assert_eq!(Value::from_bytes(b"abc").as_int(), None);
    }

    #[test]
    fn mem_usage_counts_heap_only() {
        assert_eq!(Value::from_int(5).mem_usage(), 0);
        assert_eq!(Value::from_bytes(b"short").mem_usage(), 0);
        assert_eq!(Value::from_bytes(&[b'a'; 30]).mem_usage(), 30);
        let raw = Value::raw_from(Vec::with_capacity(100));
        assert_eq!(raw.mem_usage(), 24 + 100);
    }

    proptest! {
        #[test]
        fn strict_parser_matches_std_roundtrip(s in "-?[0-9]{0,21}|[+ ]?[0-9]{1,3}") {
            // A string is an int iff std parses it and formatting the result gives it back.
            let expect = s.parse::<i64>().ok().filter(|i| i.to_string() == s);
            prop_assert_eq!(parse_i64_strict(s.as_bytes()), expect);
        }

        #[test]
        fn int_formatting_matches_std(i in any::<i64>()) {
            let s = i.to_string();
            prop_assert_eq!(StrRef::Int(i).len(), s.len());
            prop_assert_eq!(StrRef::Int(i).to_vec(), s.as_bytes().to_vec());
            prop_assert_eq!(Value::from_bytes(s.as_bytes()), Value::Int(i));
        }

        #[test]
        fn from_bytes_roundtrips(b in proptest::collection::vec(any::<u8>(), 0..80)) {
            let v = Value::from_bytes(&b);
            prop_assert_eq!(v.as_str().map(|s| s.to_vec()), Some(b.clone()));
            prop_assert_eq!(v.str_len(), b.len());
            prop_assert_eq!(v.as_str().map(|s| s.with_bytes(|x| x.to_vec())), Some(b.clone()));
        }
    }
}
