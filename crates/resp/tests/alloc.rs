//! The request parser's hot path allocates nothing but the argument `Vec`.
//! (Own test binary: it installs a counting global allocator.)

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicUsize, Ordering};

use bytes::BytesMut;
use ferrodis_resp::request::{Limits, RequestParser};

struct Counting;

static ALLOCS: AtomicUsize = AtomicUsize::new(0);

unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        ALLOCS.fetch_add(1, Ordering::Relaxed);
        // SAFETY: forwarded unchanged to the system allocator.
        unsafe { System.alloc(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: forwarded unchanged to the system allocator.
        unsafe { System.dealloc(ptr, layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        ALLOCS.fetch_add(1, Ordering::Relaxed);
        // SAFETY: forwarded unchanged to the system allocator.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

#[test]
fn one_allocation_per_multibulk_command() {
    const N: usize = 1000;
    let cmd = b"*3\r\n$3\r\nSET\r\n$3\r\nkey\r\n$5\r\nvalue\r\n";
    let mut buf = BytesMut::with_capacity(cmd.len() * N);
    for _ in 0..N {
        buf.extend_from_slice(cmd);
    }
    let limits = Limits::default();
    let mut parser = RequestParser::new();
    let mut parsed = Vec::with_capacity(N);

    let before = ALLOCS.load(Ordering::Relaxed);
    while let Ok(Some(args)) = parser.parse(&mut buf, &limits) {
        parsed.push(args);
    }
    let allocs = ALLOCS.load(Ordering::Relaxed) - before;

    assert_eq!(parsed.len(), N);
    assert_eq!(&parsed[N - 1][2][..], b"value");
    // One Vec per command, plus one shared-buffer header the first time the
    // BytesMut is split.
    assert!(allocs <= N + 1, "{allocs} allocations for {N} commands");
}
