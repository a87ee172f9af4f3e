//! Bytes per element of `Hash` and `Set` for the memory cases, measured with a counting
//! global allocator. `#[ignore]`d (it builds 1M-element structures); run with
//! `cargo test -p ferrodis-ds --release --test hash_set_memory -- --ignored --nocapture`.
//!
//! Two figures per case: requested bytes (what ferrodis's `used_memory` counts) and the same
//! allocations rounded up to jemalloc's size classes (what Redis's `used_memory` counts), so the
//! comparison with Redis is like for like.

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicIsize, Ordering};

use ferrodis_ds::hash::{Hash, HashLimits};
use ferrodis_ds::set::Set;

static REQUESTED: AtomicIsize = AtomicIsize::new(0);
static CLASSED: AtomicIsize = AtomicIsize::new(0);

/// jemalloc's size class for a request (small classes: 8, 16, then 4 classes per doubling; large
/// allocations are page-rounded).
fn size_class(n: usize) -> usize {
    if n <= 8 {
        return 8;
    }
    if n > 14336 {
        return n.div_ceil(4096) * 4096;
    }
    if n <= 16 {
        return 16;
    }
    // Group base 2^k with step 2^(k-2).
    let k = usize::BITS - 1 - (n - 1).leading_zeros(); // 2^k < n <= 2^(k+1)
    let step = ((1usize << k) / 4).max(16); // the 16-byte quantum below 128
    n.div_ceil(step) * step
}

struct Counting;

// SAFETY: forwards to `System` with the caller's layout; the counters are bookkeeping only.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, l: Layout) -> *mut u8 {
        REQUESTED.fetch_add(l.size() as isize, Ordering::Relaxed);
        CLASSED.fetch_add(size_class(l.size()) as isize, Ordering::Relaxed);
        System.alloc(l)
    }
    unsafe fn alloc_zeroed(&self, l: Layout) -> *mut u8 {
        REQUESTED.fetch_add(l.size() as isize, Ordering::Relaxed);
        CLASSED.fetch_add(size_class(l.size()) as isize, Ordering::Relaxed);
        System.alloc_zeroed(l)
    }
    unsafe fn dealloc(&self, p: *mut u8, l: Layout) {
        REQUESTED.fetch_sub(l.size() as isize, Ordering::Relaxed);
        CLASSED.fetch_sub(size_class(l.size()) as isize, Ordering::Relaxed);
        System.dealloc(p, l)
    }
    unsafe fn realloc(&self, p: *mut u8, l: Layout, new: usize) -> *mut u8 {
        REQUESTED.fetch_add(new as isize - l.size() as isize, Ordering::Relaxed);
        CLASSED.fetch_add(
            size_class(new) as isize - size_class(l.size()) as isize,
            Ordering::Relaxed,
        );
        System.realloc(p, l, new)
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

fn snapshot() -> (isize, isize) {
    (
        REQUESTED.load(Ordering::Relaxed),
        CLASSED.load(Ordering::Relaxed),
    )
}

fn report(name: &str, before: (isize, isize), n: usize) -> (f64, f64) {
    let after = snapshot();
    let req = (after.0 - before.0) as f64 / n as f64;
    let cls = (after.1 - before.1) as f64 / n as f64;
    println!("{name}: {req:.1} B/element requested, {cls:.1} B/element in jemalloc classes");
    (req, cls)
}

const N: usize = 1_000_000;

#[test]
#[ignore]
fn bytes_per_element() {
    let limits = HashLimits::default();

    let before = snapshot();
    let mut h = Box::new(Hash::new());
    for i in 0..N {
        h.set(
            format!("field:{i}").as_bytes(),
            format!("value:{i}").as_bytes(),
            limits,
        );
    }
    assert_eq!(h.encoding(), "hashtable");
    report("1M-field hash (field:N -> value:N)", before, N);
    drop(h);

    let before = snapshot();
    let mut s = Box::new(Set::new());
    for i in 0..N {
        s.add(format!("member:{i}").as_bytes(), 512);
    }
    assert_eq!(s.encoding(), "hashtable");
    report("1M-member set (member:N)", before, N);
    drop(s);

    let before = snapshot();
    let mut s = Box::new(Set::new());
    for i in 0..N {
        s.add(i.to_string().as_bytes(), 512);
    }
    report("1M-member set (integers, hashtable)", before, N);
    drop(s);

    let before = snapshot();
    let mut v: Vec<Box<Hash>> = Vec::with_capacity(N);
    let vec_bytes = N * std::mem::size_of::<Box<Hash>>();
    let base = snapshot();
    for i in 0..N {
        let mut h = Box::new(Hash::new());
        for j in 0..10 {
            h.set(
                format!("field{j}").as_bytes(),
                format!("value{j}:{i}").as_bytes(),
                limits,
            );
        }
        v.push(h);
    }
    assert_eq!(v.first().map(|h| h.encoding()), Some("listpack"));
    let _ = before;
    report(
        &format!("1M small hashes x 10 fields (Box<Hash> + listpack; excl. {vec_bytes} B holder)"),
        base,
        N,
    );
}

#[test]
fn size_classes() {
    assert_eq!(size_class(1), 8);
    assert_eq!(size_class(17), 32);
    assert_eq!(size_class(33), 48);
    assert_eq!(size_class(129), 160);
    assert_eq!(size_class(200), 224);
}
