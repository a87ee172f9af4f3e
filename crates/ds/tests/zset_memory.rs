//! Bytes per element of a 1M-member sorted set (skiplist encoding), counted through the global
//! allocator. Ignored by default (slow in debug builds); run with
//! `cargo test -p ferrodis-ds --release --test zset_memory -- --ignored --nocapture`.
//!
//! Reference: Redis 7.0.15 (jemalloc) grows `used_memory` by 109,818,344 bytes (≈110 bytes per
//! member) for the same 1M `ZADD z N member:N` loaded with `redis-cli --pipe`.

mod common;

use ferrodis_ds::zset::{AddFlags, ZSet, ZSetLimits};

const REDIS_BYTES_PER_MEMBER: f64 = 109.8;

#[test]
#[ignore]
fn bytes_per_member_1m() {
    let n = 1_000_000u32;
    let limits = ZSetLimits::default();
    let before = common::live_bytes();
    let mut z = Box::new(ZSet::new());
    for i in 0..n {
        let m = format!("member:{i}");
        z.add(m.as_bytes(), f64::from(i), AddFlags::default(), limits)
            .unwrap();
    }
    let used = common::live_bytes() - before;
    let per = used as f64 / f64::from(n);
    println!(
        "zset 1M ascending: {used} bytes, {per:.1} bytes/member ({:.2}x Redis 7.0's {REDIS_BYTES_PER_MEMBER})",
        per / REDIS_BYTES_PER_MEMBER
    );
    assert_eq!(z.len(), n as usize);
    assert_eq!(z.encoding(), "skiplist");
    assert!(per < 0.9 * REDIS_BYTES_PER_MEMBER);

    // Random insertion order leaves B+tree leaves partly full; measure that too.
    drop(z);
    let before = common::live_bytes();
    let mut z = Box::new(ZSet::new());
    let mut x = 1u64;
    for _ in 0..n {
        x = x
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        let i = (x >> 33) % u64::from(n);
        let m = format!("member:{i}");
        z.add(m.as_bytes(), i as f64, AddFlags::default(), limits)
            .unwrap();
    }
    let used = common::live_bytes() - before;
    let per = used as f64 / z.len() as f64;
    println!(
        "zset random order: {} members, {per:.1} bytes/member",
        z.len()
    );
    assert!(per < 0.9 * REDIS_BYTES_PER_MEMBER);
}

/// Rough per-operation cost at 1M members (prints only; compare release builds).
#[test]
#[ignore]
fn op_costs_1m() {
    use std::time::Instant;
    let n = 1_000_000u64;
    let limits = ZSetLimits::default();
    let mut z = ZSet::new();
    let mut x = 7u64;
    let mut next = move || {
        x = x
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        x >> 33
    };
    let keys: Vec<String> = (0..n).map(|_| format!("member:{}", next() % n)).collect();
    let t = Instant::now();
    for (i, k) in keys.iter().enumerate() {
        z.add(k.as_bytes(), i as f64, AddFlags::default(), limits)
            .unwrap();
    }
    let add = t.elapsed().as_nanos() as f64 / n as f64;
    let t = Instant::now();
    let mut found = 0;
    for k in &keys {
        found += usize::from(z.score(k.as_bytes()).is_some());
    }
    let score = t.elapsed().as_nanos() as f64 / n as f64;
    let t = Instant::now();
    for k in &keys {
        found += z.rank(k.as_bytes(), false).unwrap_or(0) & 1;
    }
    let rank = t.elapsed().as_nanos() as f64 / n as f64;
    let t = Instant::now();
    let mut popped = 0;
    while !z.is_empty() {
        popped += z.pop(false, 1).len();
    }
    let pop = t.elapsed().as_nanos() as f64 / popped as f64;
    println!(
        "ns/op at 1M: add {add:.0}, score {score:.0}, rank {rank:.0}, popmin {pop:.0} ({found})"
    );
}
