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
