//! `oom-score-adj` / `oom-score-adj-values`: the process's Linux OOM score (Redis's
//! setOOMScoreAdj). The score belongs to the process, so the value found before ferrodis first
//! changed it is kept process-wide, to be restored when the option is turned off.

use super::Config;
use parking_lot::Mutex;

const PROC_FILE: &str = "/proc/self/oom_score_adj";
const MSG: &str = "Failed to set current oom_score_adj. Check server logs.";

/// The score found before ferrodis first adjusted it; `None` while not adjusting.
static BASE: Mutex<Option<i32>> = Mutex::new(None);

/// Applies the configured score for this server's process class (master, or replica while
/// `replicaof` is set). Errors are Redis's CONFIG SET message.
pub fn apply(cfg: &Config) -> Result<(), String> {
    let v = cfg.values();
    let class = usize::from(v.replicaof.is_some());
    let mut base = BASE.lock();
    let val = if v.oom_score_adj != 0 {
        let b = match *base {
            Some(b) => b,
            None => {
                let text = std::fs::read_to_string(PROC_FILE).map_err(|e| {
                    tracing::warn!("Unable to read oom_score_adj: {}", e);
                    MSG.to_string()
                })?;
                let b = text.trim().parse::<i32>().unwrap_or(0);
                *base = Some(b);
                b
            }
        };
        let mut val = v.oom_score_adj_values.get(class).copied().unwrap_or(0);
        // 1 = yes/relative, 2 = absolute.
        if v.oom_score_adj == 1 {
            val = val.saturating_add(b);
        }
        val.clamp(-1000, 1000)
    } else {
        match base.take() {
            Some(b) => b,
            None => return Ok(()),
        }
    };
    std::fs::write(PROC_FILE, format!("{val}\n")).map_err(|e| {
        tracing::warn!("Unable to write oom_score_adj: {}", e);
        MSG.to_string()
    })
}
