//! `IntSet`: Redis's intset — a sorted array of distinct integers stored at the narrowest of
//! 16, 32 or 64 bits that holds every element. Adding a value that does not fit the current width
//! upgrades the whole array (never downgraded afterwards, as in Redis, so the width is part of
//! the observable state: it is what an RDB intset blob records).
//!
//! Typed vectors instead of a raw byte buffer: same bytes per element, safe binary search.
//! Growth is exact (Redis reallocs its intset on every add), so the array costs its bytes only.

use std::cmp::Ordering;

/// The sorted integers, at their current width.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum IntSet {
    W16(Vec<i16>),
    W32(Vec<i32>),
    W64(Vec<i64>),
}

impl Default for IntSet {
    fn default() -> Self {
        IntSet::W16(Vec::new())
    }
}

/// Bytes per element a value needs (Redis's `_intsetValueEncoding`).
pub(crate) fn width_for(v: i64) -> u8 {
    if i16::try_from(v).is_ok() {
        2
    } else if i32::try_from(v).is_ok() {
        4
    } else {
        8
    }
}

fn add_to<T: Ord + Copy>(v: &mut Vec<T>, x: T) -> bool {
    match v.binary_search(&x) {
        Ok(_) => false,
        Err(pos) => {
            v.reserve_exact(1);
            v.insert(pos, x);
            true
        }
    }
}

fn remove_from<T: Ord + Copy>(v: &mut Vec<T>, x: T) -> bool {
    match v.binary_search(&x) {
        Ok(pos) => {
            v.remove(pos);
            if v.capacity() - v.len() > 8 {
                v.shrink_to_fit();
            }
            true
        }
        Err(_) => false,
    }
}

impl IntSet {
    pub(crate) fn len(&self) -> usize {
        match self {
            IntSet::W16(v) => v.len(),
            IntSet::W32(v) => v.len(),
            IntSet::W64(v) => v.len(),
        }
    }

    /// Current width in bytes per element: 2, 4 or 8.
    pub(crate) fn width(&self) -> u8 {
        match self {
            IntSet::W16(_) => 2,
            IntSet::W32(_) => 4,
            IntSet::W64(_) => 8,
        }
    }

    pub(crate) fn heap_bytes(&self) -> usize {
        match self {
            IntSet::W16(v) => v.capacity() * 2,
            IntSet::W32(v) => v.capacity() * 4,
            IntSet::W64(v) => v.capacity() * 8,
        }
    }

    /// The element at sorted position `i`.
    pub(crate) fn get(&self, i: usize) -> Option<i64> {
        match self {
            IntSet::W16(v) => v.get(i).map(|&x| i64::from(x)),
            IntSet::W32(v) => v.get(i).map(|&x| i64::from(x)),
            IntSet::W64(v) => v.get(i).copied(),
        }
    }

    pub(crate) fn contains(&self, x: i64) -> bool {
        match self {
            IntSet::W16(v) => i16::try_from(x).is_ok_and(|x| v.binary_search(&x).is_ok()),
            IntSet::W32(v) => i32::try_from(x).is_ok_and(|x| v.binary_search(&x).is_ok()),
            IntSet::W64(v) => v.binary_search(&x).is_ok(),
        }
    }

    /// Widens every element to `width` bytes (Redis's `intsetUpgradeAndAdd`, minus the add).
    fn upgrade(&mut self, width: u8) {
        let cur = std::mem::take(self);
        *self = match (cur, width) {
            (IntSet::W16(v), 4) => IntSet::W32(v.into_iter().map(i32::from).collect()),
            (IntSet::W16(v), 8) => IntSet::W64(v.into_iter().map(i64::from).collect()),
            (IntSet::W32(v), 8) => IntSet::W64(v.into_iter().map(i64::from).collect()),
            (same, _) => same,
        };
    }

    /// Adds `x`; true if it was absent.
    pub(crate) fn add(&mut self, x: i64) -> bool {
        if width_for(x) > self.width() {
            // A value wider than the array is larger or smaller than every element: never a
            // duplicate (Redis appends or prepends it without searching).
            self.upgrade(width_for(x));
        }
        match self {
            IntSet::W16(v) => i16::try_from(x).is_ok_and(|x| add_to(v, x)),
            IntSet::W32(v) => i32::try_from(x).is_ok_and(|x| add_to(v, x)),
            IntSet::W64(v) => add_to(v, x),
        }
    }

    /// Removes `x`; true if it was present. The width never shrinks.
    pub(crate) fn remove(&mut self, x: i64) -> bool {
        match self {
            IntSet::W16(v) => i16::try_from(x).is_ok_and(|x| remove_from(v, x)),
            IntSet::W32(v) => i32::try_from(x).is_ok_and(|x| remove_from(v, x)),
            IntSet::W64(v) => remove_from(v, x),
        }
    }

    /// Removes the elements at the sorted positions `idx` (ascending, distinct) and returns them.
    pub(crate) fn remove_positions(&mut self, idx: &[usize]) -> Vec<i64> {
        let out: Vec<i64> = idx.iter().filter_map(|&i| self.get(i)).collect();
        fn retain_not<T>(v: &mut Vec<T>, idx: &[usize]) {
            let mut k = 0usize;
            let mut i = 0usize;
            v.retain(|_| {
                let drop = idx.get(k) == Some(&i);
                if drop {
                    k += 1;
                }
                i += 1;
                !drop
            });
            v.shrink_to_fit();
        }
        match self {
            IntSet::W16(v) => retain_not(v, idx),
            IntSet::W32(v) => retain_not(v, idx),
            IntSet::W64(v) => retain_not(v, idx),
        }
        out
    }

    /// Iterates in ascending order.
    pub(crate) fn iter(&self) -> Iter<'_> {
        Iter { set: self, pos: 0 }
    }

    /// Redis's serialized intset (RDB `RDB_TYPE_SET_INTSET` payload): width as u32 LE, count as
    /// u32 LE, then the elements little-endian at that width.
    pub(crate) fn to_blob(&self) -> Vec<u8> {
        let w = usize::from(self.width());
        let mut out = Vec::with_capacity(8 + w * self.len());
        out.extend_from_slice(&(w as u32).to_le_bytes());
        out.extend_from_slice(&(self.len() as u32).to_le_bytes());
        match self {
            IntSet::W16(v) => v
                .iter()
                .for_each(|x| out.extend_from_slice(&x.to_le_bytes())),
            IntSet::W32(v) => v
                .iter()
                .for_each(|x| out.extend_from_slice(&x.to_le_bytes())),
            IntSet::W64(v) => v
                .iter()
                .for_each(|x| out.extend_from_slice(&x.to_le_bytes())),
        }
        out
    }

    /// Parses a serialized intset, validating it as Redis's `intsetValidateIntegrity` does (known
    /// width, exact size, strictly ascending elements). `None` if invalid.
    pub(crate) fn from_blob(blob: &[u8]) -> Option<IntSet> {
        let w = u32::from_le_bytes(blob.get(0..4)?.try_into().ok()?) as usize;
        let n = u32::from_le_bytes(blob.get(4..8)?.try_into().ok()?) as usize;
        let body = blob.get(8..)?;
        if !matches!(w, 2 | 4 | 8) || body.len() != n.checked_mul(w)? {
            return None;
        }
        let set = match w {
            2 => IntSet::W16(
                body.chunks_exact(2)
                    .map(|c| i16::from_le_bytes([c[0], c[1]]))
                    .collect(),
            ),
            4 => IntSet::W32(
                body.chunks_exact(4)
                    .map(|c| i32::from_le_bytes([c[0], c[1], c[2], c[3]]))
                    .collect(),
            ),
            _ => IntSet::W64(
                body.chunks_exact(8)
                    .map(|c| i64::from_le_bytes([c[0], c[1], c[2], c[3], c[4], c[5], c[6], c[7]]))
                    .collect(),
            ),
        };
        let mut prev: Option<i64> = None;
        for x in set.iter() {
            if prev.is_some_and(|p| p.cmp(&x) != Ordering::Less) {
                return None;
            }
            prev = Some(x);
        }
        Some(set)
    }
}

/// Ascending iterator over an [`IntSet`].
#[derive(Clone)]
pub(crate) struct Iter<'a> {
    set: &'a IntSet,
    pos: usize,
}

impl Iterator for Iter<'_> {
    type Item = i64;

    #[inline]
    fn next(&mut self) -> Option<i64> {
        let x = self.set.get(self.pos)?;
        self.pos += 1;
        Some(x)
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        let n = self.set.len().saturating_sub(self.pos);
        (n, Some(n))
    }
}

impl ExactSizeIterator for Iter<'_> {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn upgrades_like_redis() {
        let mut s = IntSet::default();
        assert!(s.add(5));
        assert!(!s.add(5));
        assert_eq!(s.width(), 2);
        assert!(s.add(-40000));
        assert_eq!(s.width(), 4);
        assert!(s.add(i64::MAX));
        assert_eq!(s.width(), 8);
        assert_eq!(s.iter().collect::<Vec<_>>(), vec![-40000, 5, i64::MAX]);
        // Never downgraded.
        assert!(s.remove(i64::MAX));
        assert!(s.remove(-40000));
        assert_eq!(s.width(), 8);
        assert!(s.contains(5));
        assert!(!s.contains(6));
        assert!(!s.remove(6));
    }

    #[test]
    fn blob_round_trip_and_validation() {
        let mut s = IntSet::default();
        for x in [3, 1, 2, 70000] {
            s.add(x);
        }
        let b = s.to_blob();
        assert_eq!(&b[..8], &[4, 0, 0, 0, 4, 0, 0, 0]);
        assert_eq!(IntSet::from_blob(&b), Some(s));
        assert_eq!(IntSet::from_blob(&b[..b.len() - 1]), None);
        // Not ascending.
        let bad = [2u8, 0, 0, 0, 2, 0, 0, 0, 5, 0, 4, 0];
        assert_eq!(IntSet::from_blob(&bad), None);
        let bad_width = [3u8, 0, 0, 0, 0, 0, 0, 0];
        assert_eq!(IntSet::from_blob(&bad_width), None);
    }

    #[test]
    fn remove_positions_removes_exactly_those() {
        let mut s = IntSet::default();
        for x in 0..10 {
            s.add(x);
        }
        assert_eq!(s.remove_positions(&[0, 4, 9]), vec![0, 4, 9]);
        assert_eq!(s.iter().collect::<Vec<_>>(), vec![1, 2, 3, 5, 6, 7, 8]);
    }
}
