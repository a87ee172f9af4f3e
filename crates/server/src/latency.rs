//! The latency monitor: per-event samples above `latency-monitor-threshold`
//! (LATENCY LATEST / HISTORY / RESET / GRAPH / DOCTOR).

use std::collections::BTreeMap;

/// Redis keeps 160 samples per event.
const HISTORY_LEN: usize = 160;

#[derive(Debug, Clone, Copy)]
pub struct Sample {
    pub time: i64,
    pub latency_ms: u64,
}

#[derive(Debug, Default, Clone)]
pub struct EventHistory {
    pub samples: Vec<Sample>,
    pub max: u64,
}

#[derive(Debug, Default)]
pub struct LatencyMonitor {
    pub events: BTreeMap<String, EventHistory>,
}

impl LatencyMonitor {
    /// Add a sample; samples in the same second are merged keeping the max.
    pub fn add(&mut self, event: &str, latency_ms: u64, now_secs: i64) {
        let h = self.events.entry(event.to_string()).or_default();
        if latency_ms > h.max {
            h.max = latency_ms;
        }
        if let Some(last) = h.samples.last_mut() {
            if last.time == now_secs {
                if latency_ms > last.latency_ms {
                    last.latency_ms = latency_ms;
                }
                return;
            }
        }
        h.samples.push(Sample {
            time: now_secs,
            latency_ms,
        });
        if h.samples.len() > HISTORY_LEN {
            h.samples.remove(0);
        }
    }

    pub fn reset(&mut self, events: &[String]) -> usize {
        if events.is_empty() {
            let n = self.events.len();
            self.events.clear();
            return n;
        }
        events
            .iter()
            .filter(|e| self.events.remove(e.as_str()).is_some())
            .count()
    }
}

/// Per-command latency distribution (LATENCY HISTOGRAM, INFO latencystats), with the
/// bucketing of the HdrHistogram Redis 7.0 uses: values in nanoseconds from 1 ns to 1 s,
/// two significant digits (256 sub-buckets, the upper 128 of each power-of-two bucket
/// holding the next range), so percentiles and bucket labels come out as Redis's.
/// The counts are allocated on a command's first call.
#[derive(Default)]
pub struct CmdHistogram {
    counts: std::sync::OnceLock<Box<[std::sync::atomic::AtomicU64]>>,
}

const SUB_HALF_MAG: u32 = 7;
const SUB_HALF: u64 = 1 << SUB_HALF_MAG;
const SUB_MASK: u64 = (SUB_HALF << 1) - 1;
const HIST_MIN_NS: u64 = 1;
const HIST_MAX_NS: u64 = 1_000_000_000;
/// Buckets needed to cover HIST_MAX_NS: 256 << 22 > 1e9.
const BUCKETS: usize = 23;
const COUNTS_LEN: usize = (BUCKETS + 1) << SUB_HALF_MAG;

fn bucket_of(v: u64) -> u32 {
    (64 - (v | SUB_MASK).leading_zeros()) - (SUB_HALF_MAG + 1)
}

fn index_of(v: u64) -> usize {
    let b = bucket_of(v);
    let sub = v >> b;
    (((b as u64 + 1) << SUB_HALF_MAG) + sub - SUB_HALF) as usize
}

/// The lowest value counted at `idx`.
fn value_at(idx: usize) -> u64 {
    let mut b = (idx >> SUB_HALF_MAG) as i64 - 1;
    let mut sub = (idx as u64 & (SUB_HALF - 1)) + SUB_HALF;
    if b < 0 {
        sub -= SUB_HALF;
        b = 0;
    }
    sub << b
}

/// The highest value that counts as equal to `v`.
fn highest_equivalent(v: u64) -> u64 {
    let b = bucket_of(v);
    let sub = v >> b;
    let range = 1u64 << (b + u32::from(sub >= SUB_HALF << 1));
    (sub << b) + range - 1
}

impl CmdHistogram {
    /// Count one call that took `ns` nanoseconds (clamped to 1 ns .. 1 s as Redis does).
    pub fn record(&self, ns: u64) {
        let counts = self.counts.get_or_init(|| {
            (0..COUNTS_LEN)
                .map(|_| std::sync::atomic::AtomicU64::new(0))
                .collect()
        });
        let i = index_of(ns.clamp(HIST_MIN_NS, HIST_MAX_NS));
        if let Some(c) = counts.get(i) {
            c.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        }
    }

    pub fn reset(&self) {
        if let Some(counts) = self.counts.get() {
            for c in counts.iter() {
                c.store(0, std::sync::atomic::Ordering::Relaxed);
            }
        }
    }

    fn snapshot(&self) -> Option<Vec<u64>> {
        let counts = self.counts.get()?;
        let v: Vec<u64> = counts
            .iter()
            .map(|c| c.load(std::sync::atomic::Ordering::Relaxed))
            .collect();
        v.iter().any(|&c| c > 0).then_some(v)
    }

    /// Calls recorded since the last reset; `None` if there were none (no histogram shown).
    pub fn total(&self) -> Option<u64> {
        self.snapshot().map(|v| v.iter().sum())
    }

    /// Latencies in microseconds at the given percentiles (INFO latencystats).
    pub fn percentiles_us(&self, pcts: &[f64]) -> Option<Vec<f64>> {
        let v = self.snapshot()?;
        let total: u64 = v.iter().sum();
        Some(
            pcts.iter()
                .map(|&p| {
                    let p = p.clamp(0.0, 100.0);
                    let want = (((p / 100.0) * total as f64) + 0.5) as u64;
                    let want = want.max(1);
                    let mut seen = 0;
                    let mut at = 0;
                    for (i, &c) in v.iter().enumerate() {
                        seen += c;
                        if seen >= want {
                            at = highest_equivalent(value_at(i));
                            break;
                        }
                    }
                    at as f64 / 1000.0
                })
                .collect(),
        )
    }

    /// LATENCY HISTOGRAM's cumulative distribution: (bucket in µs, calls at or below it),
    /// for power-of-two buckets from 1024 ns, omitting buckets that add nothing.
    pub fn cdf_us(&self) -> Vec<(u64, u64)> {
        let Some(v) = self.snapshot() else {
            return Vec::new();
        };
        let total: u64 = v.iter().sum();
        let mut out = Vec::new();
        let mut level: u64 = 1024;
        let mut idx = 0;
        let mut cum = 0;
        let mut prev = 0;
        while cum < total && level <= HIST_MAX_NS << 1 {
            while idx < v.len() && value_at(idx) <= level {
                cum += v[idx];
                idx += 1;
            }
            if cum > prev {
                out.push((highest_equivalent(level) / 1000, cum));
            }
            prev = cum;
            level <<= 1;
        }
        out
    }
}

impl std::fmt::Debug for CmdHistogram {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CmdHistogram")
            .field("calls", &self.total())
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn buckets_match_hdr_histogram() {
        // Exact below 256, then two significant digits.
        assert_eq!(value_at(index_of(200)), 200);
        assert_eq!(value_at(index_of(1025)), 1024);
        assert_eq!(highest_equivalent(1024), 1031);
        assert_eq!(highest_equivalent(65536), 66047);
        // Indexes stay inside the table up to the 1 s maximum.
        assert!(index_of(HIST_MAX_NS) < COUNTS_LEN);
    }

    #[test]
    fn cdf_and_percentiles() {
        let h = CmdHistogram::default();
        assert_eq!(h.total(), None);
        assert!(h.cdf_us().is_empty());
        h.record(3_000); // 3 µs
        h.record(3_100);
        h.record(50_000_000); // 50 ms
        assert_eq!(h.total(), Some(3));
        let cdf = h.cdf_us();
        assert_eq!(cdf.first(), Some(&(4, 2)));
        assert_eq!(cdf.last().map(|b| b.1), Some(3));
        let p = h.percentiles_us(&[50.0, 100.0]).unwrap_or_default();
        assert!((3.0..3.2).contains(&p[0]), "{p:?}");
        assert!(p[1] >= 50_000.0, "{p:?}");
        h.reset();
        assert_eq!(h.total(), None);
    }
}
