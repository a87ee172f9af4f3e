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
        if sh.cron_paused.load(Ordering::Relaxed) {
            continue;
        }
        if sh.shutdown_asap.swap(false, Ordering::SeqCst) {
            // A signal saves as a plain SHUTDOWN does (with save points); if that fails the
            // server keeps running, as Redis does.
            if crate::persist::shutdown_save(&sh, false, false) {
                tracing::warn!("User requested shutdown...");
                sh.request_shutdown();
                return;
            }
            tracing::warn!("SIGTERM received but errors trying to shut down the server, check the logs for more information");
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
        let paused = pause_in_effect(&sh);
        if !paused
            && sh
                .engine
                .settings
                .active_expire_enabled
                .load(Ordering::Relaxed)
        {
            active_expire(&sh, hz);
        }
        rehash(&sh);
        if sh.cron_loops.load(Ordering::Relaxed).is_multiple_of(hz) {
            shrink_idle_query_buffers(&sh);
        }
        if sh.tracking.is_active() {
            sh.tracking.cron(&sh);
        }
        crate::persist::cron_save_points(&sh);
        // Replicas get a PING every repl-ping-replica-period seconds (not while paused:
        // it would move the offset of a paused master).
        let period = sh.limits.repl_ping_period.load(Ordering::Relaxed);
        if !paused
            && sh
                .cron_loops
                .load(Ordering::Relaxed)
                .is_multiple_of(hz * period)
        {
            sh.repl.ping();
        }
    }
}

/// Is a CLIENT PAUSE in effect? Ends one whose time is up (nobody else may look at it
/// before: paused clients wake at its deadline, but an idle server has none).
fn pause_in_effect(sh: &Shared) -> bool {
    if sh.pause_mode.load(Ordering::Relaxed) == 0 {
        sh.engine
            .settings
            .expires_paused
            .store(false, Ordering::Relaxed);
        return false;
    }
    let mut p = sh.pause.lock();
    if p.mode != 0 && p.until_ms <= ferrodis_commands::engine::wall_ms() {
        *p = Default::default();
        sh.pause_mode.store(0, Ordering::Relaxed);
        sh.engine
            .settings
            .expires_paused
            .store(false, Ordering::Relaxed);
        drop(p);
        sh.pause_changed.notify_waiters();
        return false;
    }
    p.mode != 0
}

/// Clients idle for over 2 seconds with more than 4 KiB of unused query buffer give it back
/// (Redis's clientsCronResizeQueryBuffer). Blocked clients keep theirs until unblocked.
fn shrink_idle_query_buffers(sh: &Shared) {
    let now = sh.engine.coarse_ms();
    for c in sh.clients.snapshot() {
        let idle_ms = now - c.last_interaction_ms.load(Ordering::Relaxed);
        if idle_ms > 2000
            && c.qbuf.load(Ordering::Relaxed) == 0
            && c.qbuf_free.load(Ordering::Relaxed) > 4 * 1024
            && !c.has_flag(crate::client::flags::BLOCKED)
        {
            c.request_shrink();
        }
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
    'cycle: for shard in 0..engine.ks.nshards() {
        for db in 0..dbs {
            if start.elapsed() >= budget {
                Stats::add(&engine.stats.expired_time_cap_reached_count, 1);
                break 'cycle;
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
    let threshold = sh.limits.latency_monitor_threshold.load(Ordering::Relaxed);
    if threshold > 0 && ms >= threshold {
        sh.latency.lock().add(
            "expire-cycle",
            ms,
            ferrodis_commands::engine::wall_ms() / 1000,
        );
    }
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
