//! `CompactBytes`: an immutable byte string in 16 bytes, used for keys and short string values.
//!
//! Hot path: every key of the key table is one of these, so its size and the cost of `as_slice`
//! matter. Strings of up to [`INLINE_CAP`] (15) bytes live inside the value itself (no allocation);
//! longer ones own exactly one heap allocation of exactly their length (no capacity word: the string
//! never grows in place — growable strings are `Value::Raw`'s business).
//!
//! Layout (checked by tests, not assumed):
//! - inline: bytes `0..15` data, byte `15` the length, typed as a 16-value enum;
//! - heap: bytes `0..8` pointer, bytes `8..14` a 48-bit length, byte `15` = the enum discriminant
//!   the compiler picks for "heap" out of the length byte's unused values.
//!
//! Because the length byte is an enum with only 16 valid values, the compiler has 239 spare bit
//! patterns ("niche") in byte 15 and uses them for the discriminant of `Repr` and of any enum that
//! wraps a `CompactBytes` (e.g. `Value`), which is why `Value` also fits in 16 bytes. No hand-made
//! tagging is involved; the only unsafe code is owning the heap buffer through a thin pointer.
//!
//! Must not depend on anything outside `std`.

use std::borrow::Borrow;
use std::cmp::Ordering;
use std::fmt;
use std::hash::{Hash, Hasher};
use std::mem::ManuallyDrop;
use std::ops::Deref;
use std::ptr::NonNull;

/// Longest string stored without a heap allocation.
pub const INLINE_CAP: usize = 15;

/// Longest string a `CompactBytes` can hold (48-bit length). Larger than any slice a 47-bit user
/// address space can produce, so `new` cannot fail in practice.
pub const MAX_LEN: usize = (1 << 48) - 1;

/// Length of an inline string. An enum (not a `u8`) so that the values 16..=255 are invalid and the
/// compiler can use them as enum discriminants (niche optimisation).
#[derive(Clone, Copy, PartialEq, Eq)]
#[repr(u8)]
enum InlineLen {
    L0 = 0,
    L1,
    L2,
    L3,
    L4,
    L5,
    L6,
    L7,
    L8,
    L9,
    L10,
    L11,
    L12,
    L13,
    L14,
    L15,
}

const LENS: [InlineLen; INLINE_CAP + 1] = [
    InlineLen::L0,
    InlineLen::L1,
    InlineLen::L2,
    InlineLen::L3,
    InlineLen::L4,
    InlineLen::L5,
    InlineLen::L6,
    InlineLen::L7,
    InlineLen::L8,
    InlineLen::L9,
    InlineLen::L10,
    InlineLen::L11,
    InlineLen::L12,
    InlineLen::L13,
    InlineLen::L14,
    InlineLen::L15,
];

/// `repr(C)` pins the length byte at offset 15, after the data.
#[derive(Clone, Copy)]
#[repr(C)]
struct Inline {
    data: [u8; INLINE_CAP],
    len: InlineLen,
}

/// `packed` makes this 14 bytes with alignment 1, so it fits in front of the niche byte (a
/// non-packed pointer + u32 + u16 struct would be padded to 16 and collide with it).
#[derive(Clone, Copy)]
#[repr(C, packed)]
struct Heap {
    /// Start of a `Box<[u8]>` of exactly `len` bytes, owned by this value.
    ptr: NonNull<u8>,
    len_lo: u32,
    len_hi: u16,
}

impl Heap {
    #[inline]
    fn len(self) -> usize {
        (self.len_lo as usize) | ((self.len_hi as usize) << 32)
    }
}

enum Repr {
    Inline(Inline),
    Heap(Heap),
}

/// An immutable byte string of 16 bytes: inline up to 15 bytes, else one exact-size allocation.
///
/// `Hash`, `Eq` and `Ord` are those of the byte slice, so a `CompactBytes` can be looked up by
/// `&[u8]` in std maps (`Borrow<[u8]>`).
pub struct CompactBytes(Repr);

// SAFETY: the heap buffer is exclusively owned by this value (like a `Box<[u8]>`) and only read
// through `&self`, so moving it to or sharing it with another thread is as safe as for `Box<[u8]>`.
unsafe impl Send for CompactBytes {}
// SAFETY: see `Send`; there is no interior mutability.
unsafe impl Sync for CompactBytes {}

impl CompactBytes {
    /// The empty string.
    pub const EMPTY: CompactBytes = CompactBytes(Repr::Inline(Inline {
        data: [0; INLINE_CAP],
        len: InlineLen::L0,
    }));

    /// Copies `bytes` (inline if it fits, else into one allocation of exactly its length).
    ///
    /// # Panics
    /// If `bytes.len() > MAX_LEN` (2^48 - 1), which no real slice reaches on 64-bit targets.
    pub fn new(bytes: &[u8]) -> Self {
        if bytes.len() <= INLINE_CAP {
            return Self::inline(bytes);
        }
        Self::from_box(Box::from(bytes))
    }

    /// Takes ownership of `v`, avoiding a copy when it is too long for inline storage (the
    /// allocation is shrunk to fit if it has spare capacity).
    pub fn from_vec(v: Vec<u8>) -> Self {
        if v.len() <= INLINE_CAP {
            return Self::inline(&v);
        }
        Self::from_box(v.into_boxed_slice())
    }

    fn inline(bytes: &[u8]) -> Self {
        let mut data = [0u8; INLINE_CAP];
        data[..bytes.len()].copy_from_slice(bytes);
        CompactBytes(Repr::Inline(Inline {
            data,
            len: LENS[bytes.len()],
        }))
    }

    fn from_box(b: Box<[u8]>) -> Self {
        let len = b.len();
        assert!(len <= MAX_LEN, "CompactBytes: length {len} exceeds 2^48-1");
        let raw: *mut [u8] = Box::into_raw(b);
        // SAFETY: `Box::into_raw` never returns null.
        let ptr = unsafe { NonNull::new_unchecked(raw.cast::<u8>()) };
        CompactBytes(Repr::Heap(Heap {
            ptr,
            len_lo: len as u32,
            len_hi: (len >> 32) as u16,
        }))
    }

    /// The bytes.
    #[inline]
    pub fn as_slice(&self) -> &[u8] {
        match &self.0 {
            Repr::Inline(i) => &i.data[..i.len as usize],
            Repr::Heap(h) => {
                let h = *h;
                // SAFETY: `ptr` came from `Box::<[u8]>::into_raw` of a box of exactly `len`
                // initialised bytes; it stays owned (never freed or written) until `drop` or
                // `into_vec`, both of which consume `self`, so it outlives this borrow.
                unsafe { std::slice::from_raw_parts(h.ptr.as_ptr(), h.len()) }
            }
        }
    }

    /// Length in bytes.
    #[inline]
    pub fn len(&self) -> usize {
        match &self.0 {
            Repr::Inline(i) => i.len as usize,
            Repr::Heap(h) => h.len(),
        }
    }

    /// True for the empty string.
    #[inline]
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// True when the bytes live inside the value (no heap allocation).
    #[inline]
    pub fn is_inline(&self) -> bool {
        matches!(self.0, Repr::Inline(_))
    }

    /// Heap bytes owned by this value (0 when inline). Does not include allocator rounding.
    #[inline]
    pub fn heap_size(&self) -> usize {
        match &self.0 {
            Repr::Inline(_) => 0,
            Repr::Heap(h) => h.len(),
        }
    }

    /// Converts into a `Vec<u8>`, reusing the heap buffer when there is one.
    pub fn into_vec(self) -> Vec<u8> {
        let this = ManuallyDrop::new(self);
        match &this.0 {
            Repr::Inline(i) => i.data[..i.len as usize].to_vec(),
            Repr::Heap(h) => {
                let h = *h;
                let raw = std::ptr::slice_from_raw_parts_mut(h.ptr.as_ptr(), h.len());
                // SAFETY: reconstructs the `Box<[u8]>` given up in `from_box`; `self` is wrapped in
                // `ManuallyDrop`, so the buffer is not freed a second time by `Drop`.
                let b: Box<[u8]> = unsafe { Box::from_raw(raw) };
                b.into_vec()
            }
        }
    }
}

impl Drop for CompactBytes {
    fn drop(&mut self) {
        if let Repr::Heap(h) = &self.0 {
            let h = *h;
            let raw = std::ptr::slice_from_raw_parts_mut(h.ptr.as_ptr(), h.len());
            // SAFETY: reconstructs the `Box<[u8]>` given up in `from_box`, exactly once: `drop`
            // runs once and `into_vec` suppresses it.
            drop(unsafe { Box::from_raw(raw) });
        }
    }
}

impl Clone for CompactBytes {
    fn clone(&self) -> Self {
        match &self.0 {
            Repr::Inline(i) => CompactBytes(Repr::Inline(*i)),
            Repr::Heap(_) => Self::new(self.as_slice()),
        }
    }
}

impl Default for CompactBytes {
    fn default() -> Self {
        Self::EMPTY
    }
}

impl Deref for CompactBytes {
    type Target = [u8];
    #[inline]
    fn deref(&self) -> &[u8] {
        self.as_slice()
    }
}

impl AsRef<[u8]> for CompactBytes {
    fn as_ref(&self) -> &[u8] {
        self.as_slice()
    }
}

impl Borrow<[u8]> for CompactBytes {
    fn borrow(&self) -> &[u8] {
        self.as_slice()
    }
}

impl PartialEq for CompactBytes {
    fn eq(&self, other: &Self) -> bool {
        self.as_slice() == other.as_slice()
    }
}

impl Eq for CompactBytes {}

impl PartialEq<[u8]> for CompactBytes {
    fn eq(&self, other: &[u8]) -> bool {
        self.as_slice() == other
    }
}

impl PartialEq<&[u8]> for CompactBytes {
    fn eq(&self, other: &&[u8]) -> bool {
        self.as_slice() == *other
    }
}

impl PartialOrd for CompactBytes {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for CompactBytes {
    fn cmp(&self, other: &Self) -> Ordering {
        self.as_slice().cmp(other.as_slice())
    }
}

impl Hash for CompactBytes {
    /// Same as hashing the `[u8]` slice, as `Borrow<[u8]>` requires.
    fn hash<H: Hasher>(&self, state: &mut H) {
        self.as_slice().hash(state)
    }
}

impl fmt::Debug for CompactBytes {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "b\"{}\"", self.as_slice().escape_ascii())
    }
}

impl From<&[u8]> for CompactBytes {
    fn from(b: &[u8]) -> Self {
        Self::new(b)
    }
}

impl From<&str> for CompactBytes {
    fn from(s: &str) -> Self {
        Self::new(s.as_bytes())
    }
}

impl From<Vec<u8>> for CompactBytes {
    fn from(v: Vec<u8>) -> Self {
        Self::from_vec(v)
    }
}

impl From<CompactBytes> for Vec<u8> {
    fn from(c: CompactBytes) -> Self {
        c.into_vec()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use std::collections::hash_map::DefaultHasher;

    fn hash_of<T: Hash + ?Sized>(t: &T) -> u64 {
        let mut h = DefaultHasher::new();
        t.hash(&mut h);
        h.finish()
    }

    #[test]
    fn sixteen_bytes() {
        assert_eq!(std::mem::size_of::<CompactBytes>(), 16);
        assert_eq!(std::mem::size_of::<Option<CompactBytes>>(), 16);
    }

    #[test]
    fn inline_boundary() {
        let a = CompactBytes::new(&[7u8; 15]);
        assert!(a.is_inline());
        assert_eq!(a.heap_size(), 0);
        let b = CompactBytes::new(&[7u8; 16]);
        assert!(!b.is_inline());
        assert_eq!(b.heap_size(), 16);
        assert_eq!(b.as_slice(), &[7u8; 16]);
        assert!(CompactBytes::EMPTY.is_empty());
        assert_eq!(CompactBytes::default().as_slice(), b"");
    }

    #[test]
    fn debug_escapes() {
        assert_eq!(
            format!("{:?}", CompactBytes::from("a\n\"")),
            "b\"a\\n\\\"\""
        );
    }

    #[test]
    fn from_vec_reuses_and_roundtrips() {
        let v: Vec<u8> = (0..100u8).collect();
        let c = CompactBytes::from_vec(v.clone());
        assert_eq!(c.len(), 100);
        assert_eq!(c.into_vec(), v);
        assert_eq!(
            CompactBytes::from_vec(b"short".to_vec()).into_vec(),
            b"short"
        );
    }

    proptest! {
        #[test]
        fn behaves_like_vec(a in proptest::collection::vec(any::<u8>(), 0..64),
                            b in proptest::collection::vec(any::<u8>(), 0..64)) {
            let ca = CompactBytes::new(&a);
            let cb = CompactBytes::from(b.clone());
            prop_assert_eq!(ca.as_slice(), &a[..]);
            prop_assert_eq!(ca.len(), a.len());
            prop_assert_eq!(ca.is_inline(), a.len() <= INLINE_CAP);
            prop_assert_eq!(ca == cb, a == b);
            prop_assert_eq!(ca.cmp(&cb), a.cmp(&b));
            prop_assert_eq!(hash_of(&ca), hash_of(&a[..]));
            let cl = ca.clone();
            drop(ca);
            prop_assert_eq!(cl.as_slice(), &a[..]);
            prop_assert_eq!(cl.into_vec(), a);
            prop_assert_eq!(Vec::from(cb), b);
        }
    }
}
