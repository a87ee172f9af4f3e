//! Time-driven work (Redis's serverCron): the active expire cycle and
//! incremental rehashing. Each task takes one shard lock at a time for a
//! bounded slice of work.

use crate::state::Shared;
use ferrodis_commands::engine::Stats;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Longest a single shard lock is held by background work.
const SLICE: Duration = Duration::from_micros(1000);

pub async fn run(sh: Arc<Shared>) {
    loop {
        let hz = sh.hz.load(Ordering::Relaxed).clamp(1, 500) as u64;
        tokio::time::sleep(Duration::from_millis(1000 / hz)).await;
        if sh.shutting_down.load(Ordering::Relaxed) {
            return;
        }
        sh.cron_loops.fetch_add(1, Ordering::Relaxed);
        sh.engine.resync_clock();
        // A script holds every shard lock (cmd/scripting.rs): skip the tick rather than
        // block this runtime until it ends.
        let Some(_script_gate) = sh.scripting.gate.try_read() else {
            continue;
        };
        let used = crate::alloc::used_memory();
        sh.stat_peak_memory.fetch_max(used, Ordering::Relaxed);
        if sh
            .engine
            .settings
            .active_expire_enabled
            .load(Ordering::Relaxed)
        {
            active_expire(&sh, hz);
        }
        rehash(&sh);
    }
}

/// Redis's slow expire cycle: up to 25% of one CPU per tick, in slices.
fn active_expire(sh: &Shared, hz: u64) {
    let effort = sh
        .engine
        .settings
        .active_expire_effort
        .load(Ordering::Relaxed)
        .clamp(1, 10) as u64;
    let budget = Duration::from_micros(1_000_000 * (25 + 2 * (effort - 1)) / hz / 100);
    let start = Instant::now();
    let engine = &sh.engine;
    let dbs = engine.settings.databases;
    for shard in 0..engine.ks.nshards() {
        for db in 0..dbs {
            if start.elapsed() >= budget {
                Stats::add(&engine.stats.expired_time_cap_reached_count, 1);
                return;
            }
            let now = engine.now_ms();
            let params = ferrodis_keyspace::ExpireCycleParams {
                effort: effort as u32,
                time_limit: SLICE,
            };
            ferrodis_commands::exec::with_shard(engine, shard, db, 2, now, |ctx| {
                let expired = match ctx.locks.shard_mut(shard).and_then(|s| s.dbs.get_mut(db)) {
                    Some(d) if d.expires_len() > 0 => d.active_expire_cycle(now, &params),
                    _ => return,
                };
                for k in &expired.expired_keys {
                    ctx.expired_key(db, k.as_slice());
                }
            });
        }
    }
    let ms = start.elapsed().as_millis() as u64;
    Stats::add(&engine.stats.expire_cycle_cpu_milliseconds, ms);
}

/// Background rehashing: a bounded slice per shard per tick. Bucket arrays
/// retired by a finished resize are freed after the shard lock is released,
/// so freeing a large array never stalls the shard.
fn rehash(sh: &Shared) {
    let engine = &sh.engine;
    let mut retired = Vec::new();
    for shard in 0..engine.ks.nshards() {
        let mut g = engine.ks.lock(shard);
        for db in g.dbs.iter_mut() {
            db.rehash_for(SLICE / 4);
            let r = db.take_retired();
            if !r.is_empty() {
                retired.push(r);
            }
        }
    }
    if !retired.is_empty() {
        // Unmapping hundreds of MB can take tens of ms: do it off the runtime.
        std::thread::spawn(move || drop(retired));
    }
}
