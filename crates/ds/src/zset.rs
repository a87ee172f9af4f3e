//! Sorted sets with Redis 7.0 semantics: the value behind ZADD, ZRANGE, ZPOPMIN...
//!
//! Two encodings, named as OBJECT ENCODING reports them:
//! - `listpack` ([`pack`]): small sets packed in one `Vec<u8>`, sorted by `(score, member)`.
//! - `skiplist` ([`tree`]): a counted B+tree over a member slab plus a hash index, giving O(1)
//!   score lookup and O(log n) insert/delete/rank/range start (a better ordered structure than
//!   Redis's skiplist, with about half its memory).
//!
//! A set starts as listpack and converts to skiplist when an insert would exceed
//! `zset-max-listpack-entries` or brings a member longer than `zset-max-listpack-value`; it never
//! converts back except through [`ZSet::convert_to_listpack_if_fits`], which the rebuild paths
//! (ZRANGESTORE, ZUNIONSTORE...) call. Thresholds are passed in ([`ZSetLimits`]), never read from
//! globals.
//!
//! Scores are `f64`, never NaN, ordered with `-0.0 == 0.0` and ties broken bytewise by member.
//! As in Redis, the skiplist encoding keeps a `-0` score (ZSCORE replies `-0`) while the listpack
//! encoding stores it as the integer 0 (ZSCORE replies `0`); both checked against redis-server. Range arguments are parsed by [`ScoreRange::parse`] and
//! [`LexRange::parse`] with Redis's exact acceptance rules.
//!
//! Must not depend on other ferrodis crates, on I/O, or on the keyspace.

mod pack;
mod tree;

#[cfg(test)]
mod tests;

use std::collections::HashSet;

use thiserror::Error;

use crate::num::string2d;
use pack::Pack;
use tree::Large;

/// OBJECT ENCODING name of the small encoding.
pub const ENCODING_LISTPACK: &str = "listpack";
/// OBJECT ENCODING name of the large encoding.
pub const ENCODING_SKIPLIST: &str = "skiplist";

/// Largest packed size before converting, as Redis's `lpSafeToAdd` (1 GiB).
const PACK_SAFETY_LIMIT: usize = 1 << 30;

/// Errors with Redis's message text (without the `ERR ` prefix).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Error)]
pub enum ZSetError {
    /// ZADD INCR / ZINCRBY produced NaN (e.g. `+inf` plus `-inf`), or the score was NaN.
    #[error("resulting score is not a number (NaN)")]
    NanScore,
    /// A score range bound did not parse.
    #[error("min or max is not a float")]
    InvalidScoreRange,
    /// A lex range bound did not parse.
    #[error("min or max not valid string range item")]
    InvalidLexRange,
}

/// The `zset-max-listpack-*` thresholds in force.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ZSetLimits {
    /// `zset-max-listpack-entries` (Redis default 128).
    pub max_listpack_entries: usize,
    /// `zset-max-listpack-value` (Redis default 64).
    pub max_listpack_value: usize,
}

impl Default for ZSetLimits {
    fn default() -> Self {
        ZSetLimits {
            max_listpack_entries: 128,
            max_listpack_value: 64,
        }
    }
}

/// ZADD's options (CH is a reply matter: count `Added` plus `Updated`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct AddFlags {
    pub nx: bool,
    pub xx: bool,
    pub gt: bool,
    pub lt: bool,
    /// The given score is an increment (ZADD INCR, ZINCRBY).
    pub incr: bool,
}

/// What [`ZSet::add`] did.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum AddOutcome {
    /// New member with this score.
    Added(f64),
    /// Existing member whose score changed to this.
    Updated(f64),
    /// Existing member, score equal to the current one (`-0` vs `0` counts as equal: the
    /// stored score is left as it was).
    Unchanged(f64),
    /// Nothing done because of NX, XX, GT or LT (ZADD INCR replies nil).
    Skipped,
}

impl AddOutcome {
    /// The member's score after the call (None when skipped).
    pub fn score(&self) -> Option<f64> {
        match *self {
            AddOutcome::Added(s) | AddOutcome::Updated(s) | AddOutcome::Unchanged(s) => Some(s),
            AddOutcome::Skipped => None,
        }
    }

    /// Whether it counts for ZADD CH.
    pub fn changed(&self) -> bool {
        matches!(self, AddOutcome::Added(_) | AddOutcome::Updated(_))
    }
}

/// A score interval as ZRANGEBYSCORE takes it (`(` makes a bound exclusive).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ScoreRange {
    pub min: f64,
    pub max: f64,
    pub min_exclusive: bool,
    pub max_exclusive: bool,
}

/// Redis's `strtod` use in `zslParseRange`: the argument is read as a C string (stops at a NUL
/// byte), leading C whitespace is skipped, overflow gives ±inf and underflow 0 (errno is not
/// checked), an empty string is 0, and only NaN and trailing bytes are rejected.
fn parse_range_double(s: &[u8]) -> Option<f64> {
    let s = s.iter().position(|&b| b == 0).map_or(s, |n| &s[..n]);
    if s.is_empty() {
        return Some(0.0);
    }
    let t = match s
        .iter()
        .position(|b| !matches!(b, b' ' | b'\t' | b'\n' | b'\x0b' | b'\x0c' | b'\r'))
    {
        Some(i) => &s[i..],
        None => return None,
    };
    // Rust's decimal parser rounds like glibc's strtod and saturates the same way; it also takes
    // inf/infinity/nan case-insensitively. Hex floats are left to string2d (the C library).
    let v = match std::str::from_utf8(t)
        .ok()
        .and_then(|x| x.parse::<f64>().ok())
    {
        Some(v) => v,
        None => string2d(t)?,
    };
    if v.is_nan() {
        None
    } else {
        Some(v)
    }
}

impl ScoreRange {
    /// Parses ZRANGEBYSCORE-style bounds: `1.5`, `(1.5`, `-inf`, `+inf`, `(inf`...
    pub fn parse(min: &[u8], max: &[u8]) -> Result<ScoreRange, ZSetError> {
        fn bound(b: &[u8]) -> Result<(f64, bool), ZSetError> {
            let (rest, ex) = match b.first() {
                Some(b'(') => (&b[1..], true),
                _ => (b, false),
            };
            parse_range_double(rest)
                .map(|v| (v, ex))
                .ok_or(ZSetError::InvalidScoreRange)
        }
        let (min, min_exclusive) = bound(min)?;
        let (max, max_exclusive) = bound(max)?;
        Ok(ScoreRange {
            min,
            max,
            min_exclusive,
            max_exclusive,
        })
    }

    /// Inclusive range `min..=max`.
    pub fn inclusive(min: f64, max: f64) -> ScoreRange {
        ScoreRange {
            min,
            max,
            min_exclusive: false,
            max_exclusive: false,
        }
    }

    /// Whether no score can be in the range (Redis's `zslIsInRange` precheck).
    pub fn is_empty(&self) -> bool {
        self.min > self.max || (self.min == self.max && (self.min_exclusive || self.max_exclusive))
    }

    /// Whether `score` is in the range.
    pub fn contains(&self, score: f64) -> bool {
        let lo = if self.min_exclusive {
            score > self.min
        } else {
            score >= self.min
        };
        let hi = if self.max_exclusive {
            score < self.max
        } else {
            score <= self.max
        };
        lo && hi
    }
}

/// One end of a lex range.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LexBound {
    /// `-`: below every string.
    NegInf,
    /// `+`: above every string.
    PosInf,
    /// `[member`.
    Inclusive(Vec<u8>),
    /// `(member`.
    Exclusive(Vec<u8>),
}

impl LexBound {
    /// Parses `-`, `+`, `[x` or `(x` (Redis's `zslParseLexRangeItem`; as there, `-`/`+` may be
    /// followed by a NUL byte, which ends the C string).
    pub fn parse(b: &[u8]) -> Result<LexBound, ZSetError> {
        let alone = !matches!(b.get(1), Some(&c) if c != 0);
        match b.first() {
            Some(b'+') if alone => Ok(LexBound::PosInf),
            Some(b'-') if alone => Ok(LexBound::NegInf),
            Some(b'(') => Ok(LexBound::Exclusive(b[1..].to_vec())),
            Some(b'[') => Ok(LexBound::Inclusive(b[1..].to_vec())),
            _ => Err(ZSetError::InvalidLexRange),
        }
    }
}

/// A ZRANGEBYLEX interval.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LexRange {
    pub min: LexBound,
    pub max: LexBound,
}

impl LexRange {
    pub fn parse(min: &[u8], max: &[u8]) -> Result<LexRange, ZSetError> {
        Ok(LexRange {
            min: LexBound::parse(min)?,
            max: LexBound::parse(max)?,
        })
    }

    /// Whether `m` is at or above the lower bound.
    fn above_min(&self, m: &[u8]) -> bool {
        match &self.min {
            LexBound::NegInf => true,
            LexBound::PosInf => false,
            LexBound::Inclusive(x) => m >= x.as_slice(),
            LexBound::Exclusive(x) => m > x.as_slice(),
        }
    }

    /// Whether `m` is at or below the upper bound.
    fn below_max(&self, m: &[u8]) -> bool {
        match &self.max {
            LexBound::NegInf => false,
            LexBound::PosInf => true,
            LexBound::Inclusive(x) => m <= x.as_slice(),
            LexBound::Exclusive(x) => m < x.as_slice(),
        }
    }

    /// Whether `m` is in the range.
    pub fn contains(&self, m: &[u8]) -> bool {
        self.above_min(m) && self.below_max(m)
    }
}

enum Repr {
    Pack(Pack),
    // Boxed so that a small set costs only the listpack's 32 bytes.
    Large(Box<Large>),
}

/// A sorted set. See the module docs.
pub struct ZSet {
    repr: Repr,
}

/// Iterator over `(member, score)` pairs of a range, in the requested direction.
pub struct ZRange<'a> {
    inner: RangeInner<'a>,
}

enum RangeInner<'a> {
    Vec(std::vec::IntoIter<(&'a [u8], f64)>),
    Tree(tree::Iter<'a>),
}

impl<'a> Iterator for ZRange<'a> {
    type Item = (&'a [u8], f64);

    fn next(&mut self) -> Option<Self::Item> {
        match &mut self.inner {
            RangeInner::Vec(v) => v.next(),
            RangeInner::Tree(t) => t.next(),
        }
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        let n = match &self.inner {
            RangeInner::Vec(v) => v.len(),
            RangeInner::Tree(t) => t.remaining(),
        };
        (n, Some(n))
    }
}

impl ExactSizeIterator for ZRange<'_> {}

/// Redis's rank normalisation (ZRANGE, ZREMRANGEBYRANK): negative indexes count from the end;
/// returns the inclusive-exclusive span or None when empty.
fn normalize_ranks(start: i64, end: i64, len: usize) -> Option<(usize, usize)> {
    let llen = i64::try_from(len).unwrap_or(i64::MAX);
    let mut start = start;
    let mut end = end;
    if start < 0 {
        start = start.saturating_add(llen);
    }
    if end < 0 {
        end = end.saturating_add(llen);
    }
    if start < 0 {
        start = 0;
    }
    if start > end || start >= llen {
        return None;
    }
    if end >= llen {
        end = llen - 1;
    }
    Some((start as usize, end as usize + 1))
}

impl Default for ZSet {
    fn default() -> Self {
        ZSet::new()
    }
}

impl ZSet {
    /// An empty listpack-encoded set.
    pub fn new() -> ZSet {
        ZSet {
            repr: Repr::Pack(Pack::default()),
        }
    }

    /// An empty set encoded as ZADD creates it for a first member of `first_member_len` bytes:
    /// skiplist when `zset-max-listpack-entries` is 0 or the member is longer than
    /// `zset-max-listpack-value`, else listpack.
    pub fn for_first_member(first_member_len: usize, limits: ZSetLimits) -> ZSet {
        if limits.max_listpack_entries == 0 || first_member_len > limits.max_listpack_value {
            ZSet {
                repr: Repr::Large(Box::new(Large::new())),
            }
        } else {
            ZSet::new()
        }
    }

    /// An empty set encoded for a build of about `size_hint` members whose longest is
    /// `max_member_len` bytes (Redis's `zsetTypeCreate`, used by the STORE commands).
    pub fn with_size_hint(size_hint: usize, max_member_len: usize, limits: ZSetLimits) -> ZSet {
        if size_hint <= limits.max_listpack_entries && max_member_len <= limits.max_listpack_value {
            ZSet::new()
        } else {
            ZSet {
                repr: Repr::Large(Box::new(Large::new())),
            }
        }
    }

    /// `listpack` or `skiplist`.
    pub fn encoding(&self) -> &'static str {
        match self.repr {
            Repr::Pack(_) => ENCODING_LISTPACK,
            Repr::Large(_) => ENCODING_SKIPLIST,
        }
    }

    pub fn len(&self) -> usize {
        match &self.repr {
            Repr::Pack(p) => p.len(),
            Repr::Large(l) => l.len(),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Converts to skiplist (no-op when already there).
    pub fn convert_to_skiplist(&mut self) {
        if let Repr::Pack(p) = &self.repr {
            let mut large = Large::new();
            for e in p.iter() {
                large.insert_new(e.member, e.score);
            }
            self.repr = Repr::Large(Box::new(large));
        }
    }

    /// Redis's `zsetConvertToListpackIfNeeded`: back to listpack when the set now fits.
    pub fn convert_to_listpack_if_fits(&mut self, limits: ZSetLimits) {
        let Repr::Large(l) = &self.repr else { return };
        if l.len() > limits.max_listpack_entries {
            return;
        }
        let mut longest = 0;
        let mut total = 0usize;
        for (m, _) in l.iter(0, l.len(), false) {
            longest = longest.max(m.len());
            total = total.saturating_add(m.len());
        }
        if longest > limits.max_listpack_value || total > PACK_SAFETY_LIMIT {
            return;
        }
        let mut p = Pack::default();
        for (m, s) in l.iter(0, l.len(), false) {
            p.push_sorted(m, s);
        }
        self.repr = Repr::Pack(p);
    }

    /// The member's score.
    pub fn score(&self, member: &[u8]) -> Option<f64> {
        match &self.repr {
            Repr::Pack(p) => p.score(member),
            Repr::Large(l) => l.score(member),
        }
    }

    /// ZADD / ZINCRBY for one member, with Redis's `zsetAdd` rules. Converts to skiplist first
    /// when a new member would exceed the limits.
    pub fn add(
        &mut self,
        member: &[u8],
        score: f64,
        flags: AddFlags,
        limits: ZSetLimits,
    ) -> Result<AddOutcome, ZSetError> {
        if score.is_nan() {
            return Err(ZSetError::NanScore);
        }
        match self.score(member) {
            Some(cur) => {
                if flags.nx {
                    return Ok(AddOutcome::Skipped);
                }
                let new = if flags.incr { score + cur } else { score };
                if new.is_nan() {
                    return Err(ZSetError::NanScore);
                }
                if (flags.lt && new >= cur) || (flags.gt && new <= cur) {
                    return Ok(AddOutcome::Skipped);
                }
                if new == cur {
                    return Ok(AddOutcome::Unchanged(new));
                }
                match &mut self.repr {
                    Repr::Pack(p) => {
                        p.remove(member);
                        p.insert(member, new);
                    }
                    Repr::Large(l) => {
                        l.update_score(member, new);
                    }
                }
                Ok(AddOutcome::Updated(new))
            }
            None => {
                if flags.xx {
                    return Ok(AddOutcome::Skipped);
                }
                if let Repr::Pack(p) = &self.repr {
                    if p.len() + 1 > limits.max_listpack_entries
                        || member.len() > limits.max_listpack_value
                        || p.bytes().saturating_add(member.len()) > PACK_SAFETY_LIMIT
                    {
                        self.convert_to_skiplist();
                    }
                }
                match &mut self.repr {
                    Repr::Pack(p) => p.insert(member, score),
                    Repr::Large(l) => l.insert_new(member, score),
                }
                Ok(AddOutcome::Added(score))
            }
        }
    }

    /// ZREM for one member; returns its score if it was there.
    pub fn remove(&mut self, member: &[u8]) -> Option<f64> {
        match &mut self.repr {
            Repr::Pack(p) => p.remove(member),
            Repr::Large(l) => l.remove(member),
        }
    }

    /// ZRANK (or ZREVRANK when `reverse`): 0-based.
    pub fn rank(&self, member: &[u8], reverse: bool) -> Option<usize> {
        let r = match &self.repr {
            Repr::Pack(p) => p.iter().position(|e| e.member == member)?,
            Repr::Large(l) => l.rank(member)?,
        };
        Some(if reverse { self.len() - 1 - r } else { r })
    }

    /// The entry at ascending rank `rank`.
    pub fn get_by_rank(&self, rank: usize) -> Option<(&[u8], f64)> {
        match &self.repr {
            Repr::Pack(p) => p.get(rank),
            Repr::Large(l) => l.get(rank),
        }
    }

    /// Number of entries satisfying a predicate that holds on a prefix of the order.
    fn partition(&self, p: &dyn Fn(f64, &[u8]) -> bool) -> usize {
        match &self.repr {
            Repr::Pack(pk) => pk.partition(p),
            Repr::Large(l) => l.partition(p),
        }
    }

    /// Ascending ranks `lo..hi` iterated forwards or backwards.
    fn iter_ranks(&self, lo: usize, hi: usize, reverse: bool) -> ZRange<'_> {
        let hi = hi.min(self.len());
        if lo >= hi {
            return ZRange {
                inner: RangeInner::Vec(Vec::new().into_iter()),
            };
        }
        match &self.repr {
            Repr::Pack(p) => {
                let mut v: Vec<(&[u8], f64)> = p
                    .iter()
                    .skip(lo)
                    .take(hi - lo)
                    .map(|e| (e.member, e.score))
                    .collect();
                if reverse {
                    v.reverse();
                }
                ZRange {
                    inner: RangeInner::Vec(v.into_iter()),
                }
            }
            Repr::Large(l) => {
                let start = if reverse { hi - 1 } else { lo };
                ZRange {
                    inner: RangeInner::Tree(l.iter(start, hi - lo, reverse)),
                }
            }
        }
    }

    /// All entries in ascending order.
    pub fn iter(&self) -> ZRange<'_> {
        self.iter_ranks(0, self.len(), false)
    }

    /// ZRANGE by index (`reverse`: ZREVRANGE, indexes counted from the highest score).
    pub fn range_by_rank(&self, start: i64, end: i64, reverse: bool) -> ZRange<'_> {
        let len = self.len();
        match normalize_ranks(start, end, len) {
            None => self.iter_ranks(0, 0, false),
            Some((a, b)) if reverse => self.iter_ranks(len - b, len - a, true),
            Some((a, b)) => self.iter_ranks(a, b, false),
        }
    }

    /// Ascending rank span of a score range.
    fn score_span(&self, r: &ScoreRange) -> (usize, usize) {
        if r.is_empty() {
            return (0, 0);
        }
        let (min, max) = (r.min, r.max);
        let lo = if r.min_exclusive {
            self.partition(&|s, _| s <= min)
        } else {
            self.partition(&|s, _| s < min)
        };
        let hi = if r.max_exclusive {
            self.partition(&|s, _| s < max)
        } else {
            self.partition(&|s, _| s <= max)
        };
        (lo, hi.max(lo))
    }

    /// Ascending rank span of a lex range (meaningful when all scores are equal, as in Redis).
    fn lex_span(&self, r: &LexRange) -> (usize, usize) {
        let lo = self.partition(&|_, m| !r.above_min(m));
        let hi = self.partition(&|_, m| r.below_max(m));
        (lo, hi.max(lo))
    }

    /// Applies LIMIT (Redis: negative offset = empty, negative count = no limit) to a span.
    fn limited(
        &self,
        (lo, hi): (usize, usize),
        reverse: bool,
        offset: i64,
        count: i64,
    ) -> ZRange<'_> {
        if offset < 0 {
            return self.iter_ranks(0, 0, false);
        }
        let avail = hi - lo;
        let skip = usize::try_from(offset).unwrap_or(usize::MAX).min(avail);
        let mut n = avail - skip;
        if count >= 0 {
            n = n.min(usize::try_from(count).unwrap_or(usize::MAX));
        }
        if reverse {
            self.iter_ranks(hi - skip - n, hi - skip, true)
        } else {
            self.iter_ranks(lo + skip, lo + skip + n, false)
        }
    }

    /// ZRANGEBYSCORE / ZREVRANGEBYSCORE (`range.min <= range.max` in both directions; reverse
    /// walks from max down). `offset`/`count` as LIMIT; pass `0, -1` for none.
    pub fn range_by_score(
        &self,
        range: &ScoreRange,
        reverse: bool,
        offset: i64,
        count: i64,
    ) -> ZRange<'_> {
        self.limited(self.score_span(range), reverse, offset, count)
    }

    /// ZRANGEBYLEX / ZREVRANGEBYLEX, same conventions as [`ZSet::range_by_score`].
    pub fn range_by_lex(
        &self,
        range: &LexRange,
        reverse: bool,
        offset: i64,
        count: i64,
    ) -> ZRange<'_> {
        self.limited(self.lex_span(range), reverse, offset, count)
    }

    /// ZCOUNT.
    pub fn count_in_score_range(&self, range: &ScoreRange) -> usize {
        let (lo, hi) = self.score_span(range);
        hi - lo
    }

    /// ZLEXCOUNT.
    pub fn count_in_lex_range(&self, range: &LexRange) -> usize {
        let (lo, hi) = self.lex_span(range);
        hi - lo
    }

    /// Removes ascending ranks `lo..hi`, returning the removed entries in ascending order.
    fn remove_ranks(&mut self, lo: usize, hi: usize) -> Vec<(Vec<u8>, f64)> {
        let hi = hi.min(self.len());
        if lo >= hi {
            return Vec::new();
        }
        match &mut self.repr {
            Repr::Pack(p) => {
                let out = p.remove_ranks(lo, hi);
                p.shrink();
                out
            }
            Repr::Large(l) => {
                let mut out = Vec::with_capacity(hi - lo);
                for _ in lo..hi {
                    if let Some((m, s)) = l.remove_rank(lo) {
                        out.push((m.into_vec(), s));
                    }
                }
                out
            }
        }
    }

    /// ZREMRANGEBYRANK; returns how many were removed.
    pub fn remove_range_by_rank(&mut self, start: i64, end: i64) -> usize {
        match normalize_ranks(start, end, self.len()) {
            Some((a, b)) => self.remove_ranks(a, b).len(),
            None => 0,
        }
    }

    /// ZREMRANGEBYSCORE; returns how many were removed.
    pub fn remove_range_by_score(&mut self, range: &ScoreRange) -> usize {
        let (lo, hi) = self.score_span(range);
        self.remove_ranks(lo, hi).len()
    }

    /// ZREMRANGEBYLEX; returns how many were removed.
    pub fn remove_range_by_lex(&mut self, range: &LexRange) -> usize {
        let (lo, hi) = self.lex_span(range);
        self.remove_ranks(lo, hi).len()
    }

    /// ZPOPMIN (`max == false`, ascending) or ZPOPMAX (`max == true`, highest first) of up to
    /// `count` entries.
    pub fn pop(&mut self, max: bool, count: usize) -> Vec<(Vec<u8>, f64)> {
        let len = self.len();
        let n = count.min(len);
        if max {
            let mut v = self.remove_ranks(len - n, len);
            v.reverse();
            v
        } else {
            self.remove_ranks(0, n)
        }
    }

    /// One uniformly random entry (`rng` returns uniform u64s).
    pub fn random_member(&self, rng: &mut dyn FnMut() -> u64) -> Option<(&[u8], f64)> {
        let len = self.len() as u64;
        if len == 0 {
            return None;
        }
        self.get_by_rank((rng() % len) as usize)
    }

    /// ZRANDMEMBER with a negative count: `count` independent picks (repeats possible).
    pub fn random_with_replacement(
        &self,
        count: usize,
        rng: &mut dyn FnMut() -> u64,
    ) -> Vec<(&[u8], f64)> {
        let len = self.len();
        if len == 0 {
            return Vec::new();
        }
        match &self.repr {
            Repr::Pack(p) => {
                let all: Vec<(&[u8], f64)> = p.iter().map(|e| (e.member, e.score)).collect();
                (0..count)
                    .filter_map(|_| all.get((rng() % len as u64) as usize).copied())
                    .collect()
            }
            Repr::Large(l) => (0..count)
                .filter_map(|_| l.get((rng() % len as u64) as usize))
                .collect(),
        }
    }

    /// ZRANDMEMBER with a positive count: `min(count, len)` distinct entries. The whole set
    /// (ascending) when `count >= len`, else in random order.
    pub fn random_distinct(&self, count: usize, rng: &mut dyn FnMut() -> u64) -> Vec<(&[u8], f64)> {
        let len = self.len();
        if count >= len {
            return self.iter().collect();
        }
        // Floyd's sampling: `count` distinct ranks in O(count) picks.
        let mut chosen: HashSet<usize> = HashSet::with_capacity(count);
        let mut order = Vec::with_capacity(count);
        for j in len - count..len {
            let t = (rng() % (j as u64 + 1)) as usize;
            let pick = if chosen.contains(&t) { j } else { t };
            chosen.insert(pick);
            order.push(pick);
        }
        match &self.repr {
            Repr::Pack(p) => {
                let all: Vec<(&[u8], f64)> = p.iter().map(|e| (e.member, e.score)).collect();
                order.iter().filter_map(|&r| all.get(r).copied()).collect()
            }
            Repr::Large(l) => order.iter().filter_map(|&r| l.get(r)).collect(),
        }
    }

    /// ZSCAN step: entries after `cursor` and the next cursor (0 = done). A listpack set is
    /// returned whole in one call, as Redis does; a skiplist set is walked in slab order, so
    /// members present for the whole scan are returned at least once.
    pub fn scan(&self, cursor: u64, count: usize) -> (u64, Vec<(&[u8], f64)>) {
        match &self.repr {
            Repr::Pack(p) => (0, p.iter().map(|e| (e.member, e.score)).collect()),
            Repr::Large(l) => l.scan(cursor, count),
        }
    }

    /// Heap bytes held (for MEMORY USAGE; approximate for the hash index).
    pub fn allocated_bytes(&self) -> usize {
        match &self.repr {
            Repr::Pack(p) => p.allocated_bytes(),
            Repr::Large(l) => l.allocated_bytes(),
        }
    }
}

/// Sorted sets compare by their (member, score) sequence, whatever their encoding. Scores are
/// never NaN, so `==` on them is an equivalence.
impl PartialEq for ZSet {
    fn eq(&self, other: &Self) -> bool {
        self.len() == other.len() && self.iter().eq(other.iter())
    }
}

impl Eq for ZSet {}

impl Clone for ZSet {
    /// A deep copy (COPY, RESTORE paths); a skiplist copy is rebuilt in order, so its leaves
    /// come out full.
    fn clone(&self) -> ZSet {
        match &self.repr {
            Repr::Pack(p) => ZSet {
                repr: Repr::Pack(p.clone()),
            },
            Repr::Large(l) => {
                let mut copy = Large::new();
                for (m, s) in l.iter(0, l.len(), false) {
                    copy.insert_new(m, s);
                }
                ZSet {
                    repr: Repr::Large(Box::new(copy)),
                }
            }
        }
    }
}

impl std::fmt::Debug for ZSet {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ZSet")
            .field("encoding", &self.encoding())
            .field("len", &self.len())
            .finish()
    }
}
