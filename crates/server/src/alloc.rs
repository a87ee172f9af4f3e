//! Allocation accounting for `used_memory`: a global-allocator wrapper that
//! counts live bytes. The `redis-server` binary installs it around jemalloc;
//! an embedding program may install it around its own allocator. Without it,
//! INFO falls back to the process RSS.

use std::alloc::{GlobalAlloc, Layout};
use std::sync::atomic::{AtomicBool, AtomicIsize, Ordering};

static ALLOCATED: AtomicIsize = AtomicIsize::new(0);
static INSTALLED: AtomicBool = AtomicBool::new(false);

/// Counts bytes handed out by the inner allocator.
pub struct CountingAlloc<A>(pub A);

// SAFETY: every method forwards to the inner allocator with the caller's
// layout unchanged; the counter is only bookkeeping.
unsafe impl<A: GlobalAlloc> GlobalAlloc for CountingAlloc<A> {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        let p = self.0.alloc(layout);
        if !p.is_null() {
            ALLOCATED.fetch_add(layout.size() as isize, Ordering::Relaxed);
        }
        p
    }
    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        let p = self.0.alloc_zeroed(layout);
        if !p.is_null() {
            ALLOCATED.fetch_add(layout.size() as isize, Ordering::Relaxed);
        }
        p
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        self.0.dealloc(ptr, layout);
        ALLOCATED.fetch_sub(layout.size() as isize, Ordering::Relaxed);
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        let p = self.0.realloc(ptr, layout, new_size);
        if !p.is_null() {
            ALLOCATED.fetch_add(
                new_size as isize - layout.size() as isize,
                Ordering::Relaxed,
            );
        }
        p
    }
}

/// Mark the counting allocator as installed (called by the binary's main).
pub fn mark_installed() {
    INSTALLED.store(true, Ordering::Relaxed);
}

/// Live bytes allocated, when the counting allocator is installed.
pub fn allocated() -> Option<usize> {
    if INSTALLED.load(Ordering::Relaxed) {
        Some(ALLOCATED.load(Ordering::Relaxed).max(0) as usize)
    } else {
        None
    }
}

/// Resident set size of this process in bytes (Linux /proc; 0 elsewhere).
pub fn rss_bytes() -> u64 {
    let Ok(s) = std::fs::read_to_string("/proc/self/statm") else {
        return 0;
    };
    let pages: u64 = s
        .split_whitespace()
        .nth(1)
        .and_then(|p| p.parse().ok())
        .unwrap_or(0);
    // SAFETY: sysconf has no memory-safety preconditions.
    let page = unsafe { libc::sysconf(libc::_SC_PAGESIZE) };
    pages * page.max(4096) as u64
}

/// `used_memory`: counted bytes, or RSS when no counter is installed.
pub fn used_memory() -> u64 {
    allocated().map(|a| a as u64).unwrap_or_else(rss_bytes)
}
