//! Bytes per entry of a 1M-entry stream, counted through the global allocator, and how close
//! `Stream::heap_bytes` (what MEMORY USAGE reports) stays to it. Ignored by default (slow in
//! debug builds); run with
//! `cargo test -p ferrodis-ds --release --test stream_memory -- --ignored --nocapture`.
//!
//! Reference: Redis 7.0.15 (jemalloc) grows `used_memory` by 18,515,872 bytes (≈18.5 bytes
//! per entry) for the same 1M `XADD bigstream * sensor <i%1000> reading <i%97>.<i%10>`
//! loaded with `redis-cli --pipe` (xtask's `fill_stream`).

mod common;

use ferrodis_ds::stream::{NodeLimits, Stream, StreamId};

const REDIS_BYTES_PER_ENTRY: f64 = 18.5;

#[test]
#[ignore]
fn bytes_per_entry_1m() {
    let n = 1_000_000u64;
    let before = common::live_bytes();
    let mut s = Box::new(Stream::new());
    for i in 0..n {
        let sensor = (i % 1000).to_string();
        let reading = format!("{}.{}", i % 97, i % 10);
        // `*` IDs of a pipelined fill: a few hundred entries per millisecond.
        let id = s.next_auto_id(1_700_000_000_000 + i / 300).unwrap();
        s.append(
            id,
            &[
                (b"sensor", sensor.as_bytes()),
                (b"reading", reading.as_bytes()),
            ],
            NodeLimits::default(),
        )
        .unwrap();
    }
    let used = (common::live_bytes() - before) as usize;
    let per = used as f64 / n as f64;
    let reported = s.heap_bytes();
    println!(
        "stream 1M entries: {used} bytes, {per:.1} bytes/entry ({:.2}x Redis 7.0's \
         {REDIS_BYTES_PER_ENTRY}); heap_bytes {reported} ({:+.1}%), {} nodes",
        per / REDIS_BYTES_PER_ENTRY,
        (reported as f64 / used as f64 - 1.0) * 100.0,
        s.node_count()
    );
    assert_eq!(s.len(), n);
    assert_eq!(s.node_count(), 10_000);
    let e = s.get(StreamId::new(1_700_000_000_000, 7)).unwrap();
    let fields: Vec<_> = e.fields().collect();
    assert_eq!(
        fields,
        vec![(&b"sensor"[..], &b"7"[..]), (&b"reading"[..], &b"7.7"[..])]
    );
    assert!(per < 0.8 * REDIS_BYTES_PER_ENTRY);
    // MEMORY USAGE and maxmemory accounting lean on heap_bytes: within 10% of the truth.
    assert!(reported.abs_diff(used) * 10 < used);
}
