//! Measurements of the key table quoted in docs/KEYTABLE.md. Ignored by default (they take
//! seconds and want release mode):
//!
//! ```text
//! cargo test --release -p ferrodis-keyspace --test measure -- --ignored --nocapture --test-threads 1
//! ```
//!
//! A counting global allocator records requested bytes and the bytes jemalloc would hand out for
//! them (its size classes), so "bytes per key" does not depend on the system allocator.

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicUsize, Ordering::Relaxed};
use std::time::{Duration, Instant};

use ferrodis_ds::value::Value;
use ferrodis_keyspace::db::Db;
use ferrodis_keyspace::dict::{Dict, DictEntry};
use rand::rngs::StdRng;
use rand::SeedableRng;

struct Counting;

static REQUESTED: AtomicUsize = AtomicUsize::new(0);
static JEMALLOC: AtomicUsize = AtomicUsize::new(0);

/// jemalloc 5 size class for a small request (16-byte quantum, 4 classes per doubling), which is
/// what Redis's `used_memory` counts; large requests are page-rounded.
fn jemalloc_class(size: usize) -> usize {
    if size <= 8 {
        return 8;
    }
    if size <= 128 {
        return size.div_ceil(16) * 16;
    }
    if size > 14 * 1024 {
        return size.div_ceil(4096) * 4096;
    }
    let pow = usize::BITS - (size - 1).leading_zeros(); // 2^pow >= size
    let step = 1usize << (pow - 3);
    size.div_ceil(step) * step
}

// SAFETY: delegates every call to the system allocator unchanged; only counts.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, l: Layout) -> *mut u8 {
        REQUESTED.fetch_add(l.size(), Relaxed);
        JEMALLOC.fetch_add(jemalloc_class(l.size()), Relaxed);
        // SAFETY: same contract as ours.
        unsafe { System.alloc(l) }
    }
    unsafe fn alloc_zeroed(&self, l: Layout) -> *mut u8 {
        REQUESTED.fetch_add(l.size(), Relaxed);
        JEMALLOC.fetch_add(jemalloc_class(l.size()), Relaxed);
        // SAFETY: same contract as ours.
        unsafe { System.alloc_zeroed(l) }
    }
    unsafe fn dealloc(&self, p: *mut u8, l: Layout) {
        REQUESTED.fetch_sub(l.size(), Relaxed);
        JEMALLOC.fetch_sub(jemalloc_class(l.size()), Relaxed);
        // SAFETY: same contract as ours.
        unsafe { System.dealloc(p, l) }
    }
    unsafe fn realloc(&self, p: *mut u8, l: Layout, new: usize) -> *mut u8 {
        REQUESTED.fetch_add(new, Relaxed);
        REQUESTED.fetch_sub(l.size(), Relaxed);
        JEMALLOC.fetch_add(jemalloc_class(new), Relaxed);
        JEMALLOC.fetch_sub(jemalloc_class(l.size()), Relaxed);
        // SAFETY: same contract as ours.
        unsafe { System.realloc(p, l, new) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

fn rss_bytes() -> usize {
    std::fs::read_to_string("/proc/self/statm")
        .ok()
        .and_then(|s| {
            s.split_whitespace()
                .nth(1)
                .and_then(|x| x.parse::<usize>().ok())
        })
        .map_or(0, |pages| pages * 4096)
}

fn populate(db: &mut Db, n: u64) {
    for i in 0..n {
        let k = format!("key:{i}");
        let v = format!("value:{i}");
        db.set(k.as_bytes(), Value::from_bytes(v.as_bytes()), false, 0);
    }
}

#[test]
#[ignore]
fn bytes_per_key_like_debug_populate() {
    let n = 1_000_000u64;
    let (r0, j0, rss0) = (REQUESTED.load(Relaxed), JEMALLOC.load(Relaxed), rss_bytes());
    let mut db = Db::new();
    populate(&mut db, n);
    db.rehash_for(Duration::from_secs(10));
    // The cron frees emptied bucket arrays off the hot path; do it here before counting.
    drop(db.take_retired());
    let (r1, j1, rss1) = (REQUESTED.load(Relaxed), JEMALLOC.load(Relaxed), rss_bytes());
    let per = |a: usize, b: usize| (b - a) as f64 / n as f64;
    println!(
        "MEASURE bytes/key (1M x key:N -> value:N): requested {:.1}, jemalloc classes {:.1}, \
         glibc RSS {:.1}; Db::mem_usage {:.1}",
        per(r0, r1),
        per(j0, j1),
        per(rss0, rss1),
        db.mem_usage() as f64 / n as f64
    );
    assert!(
        per(j0, j1) < 64.0,
        "must beat Redis's ~88 bytes/key clearly"
    );
    // With TTLs on every key: one 32-byte expires node plus its bucket.
    for i in 0..n {
        db.set_expire(format!("key:{i}").as_bytes(), 1 << 50);
    }
    db.rehash_for(Duration::from_secs(10));
    drop(db.take_retired());
    let j2 = JEMALLOC.load(Relaxed);
    println!(
        "MEASURE bytes/key with a TTL on every key: jemalloc classes {:.1}",
        per(j0, j2)
    );
}

struct E(Vec<u8>);
impl DictEntry for E {
    fn key(&self) -> &[u8] {
        &self.0
    }
}

/// CPU time consumed by this thread, in ns (page faults included, time preempted excluded).
fn thread_cpu_ns() -> u64 {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: `ts` is a valid, writable timespec.
    unsafe { libc::clock_gettime(libc::CLOCK_THREAD_CPUTIME_ID, &mut ts) };
    ts.tv_sec as u64 * 1_000_000_000 + ts.tv_nsec as u64
}

fn involuntary_switches() -> i64 {
    // SAFETY: an all-zero rusage is a valid out-parameter.
    let mut ru: libc::rusage = unsafe { std::mem::zeroed() };
    // SAFETY: `ru` is valid and writable.
    unsafe { libc::getrusage(libc::RUSAGE_THREAD, &mut ru) };
    ru.ru_nivcsw
}

#[test]
#[ignore]
fn insert_latency_10m() {
    // Redis's `disable-thp yes` (the default): with transparent huge pages, first touches of
    // fresh memory can fault in (and compact for) 2 MB pages, which costs milliseconds of CPU
    // inside an unlucky insert. Set FERRODIS_KEEP_THP=1 to measure with THP left as the system
    // configures it.
    if std::env::var_os("FERRODIS_KEEP_THP").is_none() {
        // SAFETY: PR_SET_THP_DISABLE takes plain integer arguments.
        let rc = unsafe { libc::prctl(libc::PR_SET_THP_DISABLE, 1, 0, 0, 0) };
        println!("MEASURE THP disabled for this process (prctl rc {rc})");
    }
    let n = 10_000_000u64;
    let mut db = Db::new();
    let mut lat = Vec::with_capacity(n as usize);
    let mut cpu_lat = Vec::with_capacity(n as usize);
    let mut worst = (Duration::ZERO, 0u64);
    let ctx0 = involuntary_switches();
    let start = Instant::now();
    for i in 0..n {
        let k = format!("key:{i}");
        let v = Value::from_bytes(format!("value:{i}").as_bytes());
        let c = thread_cpu_ns();
        let t = Instant::now();
        db.set(k.as_bytes(), v, false, 0);
        let d = t.elapsed();
        cpu_lat.push(thread_cpu_ns().saturating_sub(c) as u32);
        if i % 1024 == 0 {
            // What the cron does: hand retired bucket arrays to a background thread.
            let r = db.take_retired();
            if !r.is_empty() {
                std::thread::spawn(move || drop(r));
            }
        }
        if d > worst.0 {
            worst = (d, i);
        }
        lat.push(d.as_nanos() as u32);
    }
    let total = start.elapsed();
    lat.sort_unstable();
    let pct = |p: f64| lat[((lat.len() as f64 * p) as usize).min(lat.len() - 1)];
    let over = |ns: u32| lat.iter().rev().take_while(|&&x| x > ns).count();
    cpu_lat.sort_unstable();
    let ctx = involuntary_switches() - ctx0;
    let cpu_over = |ns: u32| cpu_lat.iter().rev().take_while(|&&x| x > ns).count();
    println!(
        "MEASURE 10M inserts, thread CPU time per insert (excludes preemption): p99.99 {}ns, \
         max {}ns; >100us: {}, >1ms: {}; involuntary context switches during the run: {}",
        cpu_lat[cpu_lat.len() * 9999 / 10000],
        cpu_lat[cpu_lat.len() - 1],
        cpu_over(100_000),
        cpu_over(1_000_000),
        ctx
    );
    println!(
        "MEASURE 10M inserts, wall time: total {:.2}s, p50 {}ns p99 {}ns p99.9 {}ns p99.99 {}ns max {:?} (at insert #{}); \
         >100us: {}, >500us: {}, >1ms: {}",
        total.as_secs_f64(),
        pct(0.5),
        pct(0.99),
        pct(0.999),
        pct(0.9999),
        worst.0,
        worst.1,
        over(100_000),
        over(500_000),
        over(1_000_000)
    );
    assert_eq!(db.len(), n as usize);
    // The table-level operations themselves: growing to 16M buckets is a calloc, freeing the old
    // 8M-bucket array happens at the end of a rehash.
    let t = Instant::now();
    let mut d: Dict<E> = Dict::new();
    for i in 0..(1u64 << 23) {
        d.insert(E(i.to_le_bytes().to_vec()));
    }
    d.rehash_for(Duration::from_secs(10));
    assert_eq!(d.bucket_count(), 1 << 23);
    let grow_at = Instant::now();
    d.insert(E(u64::MAX.to_le_bytes().to_vec()));
    let grow = grow_at.elapsed();
    let mut max_step = Duration::ZERO;
    while d.is_rehashing() {
        let s = Instant::now();
        d.rehash_steps(1);
        max_step = max_step.max(s.elapsed());
    }
    let r = d.take_retired();
    let s = Instant::now();
    let freed = r.as_ref().map_or(0, |r| r.bytes());
    drop(r);
    let free_cost = s.elapsed();
    assert_eq!(d.bucket_count(), 1 << 24);
    println!(
        "MEASURE 8M->16M buckets: insert that starts the resize {:?}, slowest single rehash step \
         {:?}; freeing the retired {} MB array (off the hot path) {:?}; setup {:.1}s",
        grow,
        max_step,
        freed >> 20,
        free_cost,
        t.elapsed().as_secs_f64()
    );
    assert!(grow < Duration::from_millis(1));
}

#[test]
#[ignore]
fn random_sampling_cost() {
    let n = 1_000_000u64;
    let mut db = Db::new();
    populate(&mut db, n);
    db.rehash_for(Duration::from_secs(10));
    let mut d: Dict<E> = Dict::new();
    for i in 0..n {
        d.insert(E(format!("key:{i}").into_bytes()));
    }
    d.rehash_for(Duration::from_secs(10));
    let mut rng = StdRng::seed_from_u64(7);
    let reps = 1_000_000;
    let time = |d: &Dict<E>, rng: &mut StdRng, what: &str| {
        let t = Instant::now();
        let mut found = 0usize;
        for _ in 0..reps {
            found += usize::from(d.random_entry(rng).is_some());
        }
        let re = t.elapsed().as_nanos() as f64 / reps as f64;
        let t = Instant::now();
        for _ in 0..reps / 10 {
            found += d.sample(16, rng).len();
        }
        let sa = t.elapsed().as_nanos() as f64 / (reps / 10) as f64;
        println!(
            "MEASURE sampling ({what}, {} keys, {} buckets): random_entry {re:.0} ns, \
             sample(16) {sa:.0} ns ({found} found)",
            d.len(),
            d.bucket_count()
        );
    };
    time(&d, &mut rng, "load factor ~0.95");
    // Sparse worst case: delete down to just above the shrink threshold (10% of buckets).
    let keep = d.bucket_count() / 10 + 1;
    for i in keep as u64..n {
        d.remove(format!("key:{i}").as_bytes());
    }
    d.rehash_for(Duration::from_secs(10));
    time(&d, &mut rng, "load factor ~0.1");
}
