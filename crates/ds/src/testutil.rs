//! Helpers shared by this crate's unit tests.

/// A small deterministic generator in the `FnMut() -> u64` shape the
/// collections take for randomness.
pub(crate) fn xorshift(seed: u64) -> impl FnMut() -> u64 {
    let mut x = seed | 1;
    move || {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        x
    }
}
