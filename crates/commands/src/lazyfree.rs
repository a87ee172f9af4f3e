//! Background freeing of large values (Redis's lazyfree): UNLINK hands a value whose freeing
//! costs more than [`LAZYFREE_THRESHOLD`] allocations to a dropper thread, so the shard lock
//! is not held while a big collection is torn down. INFO reports the counters
//! (`lazyfree_pending_objects`, `lazyfreed_objects`).

use ferrodis_ds::value::Value;
use parking_lot::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc;
use std::sync::Arc;

/// Values cheaper than this to free are dropped in place (Redis's LAZYFREE_THRESHOLD).
pub const LAZYFREE_THRESHOLD: usize = 64;

/// Roughly how many allocations freeing `v` takes (Redis's lazyfreeGetFreeEffort): compact
/// encodings are one block; a hash table, skiplist or stream costs per element or node.
pub fn free_effort(v: &Value) -> usize {
    match v {
        Value::List(l) => l.node_count(),
        Value::Hash(h) if h.encoding() == "hashtable" => h.len(),
        Value::Set(s) if s.encoding() == "hashtable" => s.len(),
        Value::ZSet(z) if z.encoding() == "skiplist" => z.len(),
        Value::Stream(s) => {
            // Every node is an allocation; every group too, with its PEL (the first
            // group's PEL size stands for all, as Redis estimates).
            let pel = s.groups.values().next().map_or(0, |g| g.pel.len());
            s.node_count() + s.groups.len() * (1 + pel)
        }
        _ => 1,
    }
}

#[derive(Default)]
struct Counters {
    pending: AtomicU64,
    freed: AtomicU64,
}

/// The dropper thread (started on first use) and its counters.
#[derive(Default)]
pub struct LazyFree {
    counters: Arc<Counters>,
    tx: Mutex<Option<mpsc::Sender<Value>>>,
}

impl LazyFree {
    /// Frees `v` in the background if that is worth it, else at once.
    pub fn free(&self, v: Value) {
        if free_effort(&v) <= LAZYFREE_THRESHOLD {
            return;
        }
        let mut tx = self.tx.lock();
        if tx.is_none() {
            let (s, r) = mpsc::channel::<Value>();
            let counters = self.counters.clone();
            let spawned = std::thread::Builder::new()
                .name("lazyfree".into())
                .spawn(move || {
                    for v in r {
                        drop(v);
                        counters.pending.fetch_sub(1, Ordering::Relaxed);
                        counters.freed.fetch_add(1, Ordering::Relaxed);
                    }
                });
            if spawned.is_err() {
                // No thread: free in place, as Redis does when it cannot queue the job.
                drop(tx);
                return;
            }
            *tx = Some(s);
        }
        self.counters.pending.fetch_add(1, Ordering::Relaxed);
        if let Some(Err(e)) = tx.as_ref().map(|s| s.send(v)) {
            self.counters.pending.fetch_sub(1, Ordering::Relaxed);
            drop(e);
        }
    }

    /// Values queued and not freed yet.
    pub fn pending(&self) -> u64 {
        self.counters.pending.load(Ordering::Relaxed)
    }

    /// Values freed in the background since the last reset.
    pub fn freed(&self) -> u64 {
        self.counters.freed.load(Ordering::Relaxed)
    }

    /// CONFIG RESETSTAT.
    pub fn reset_stats(&self) {
        self.counters.freed.store(0, Ordering::Relaxed);
    }
}

impl std::fmt::Debug for LazyFree {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LazyFree")
            .field("pending", &self.pending())
            .field("freed", &self.freed())
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn big_values_are_freed_in_the_background_and_counted() {
        let lf = LazyFree::default();
        lf.free(Value::Int(1));
        assert_eq!((lf.pending(), lf.freed()), (0, 0));
        let mut set = ferrodis_ds::set::Set::new();
        for i in 0..1000 {
            set.add(format!("m{i}").as_bytes(), 0);
        }
        let v = Value::Set(Box::new(set));
        assert!(free_effort(&v) > LAZYFREE_THRESHOLD);
        lf.free(v);
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
        while lf.freed() < 1 {
            assert!(std::time::Instant::now() < deadline);
            std::thread::sleep(std::time::Duration::from_millis(1));
        }
        assert_eq!(lf.pending(), 0);
        lf.reset_stats();
        assert_eq!(lf.freed(), 0);
    }
}
