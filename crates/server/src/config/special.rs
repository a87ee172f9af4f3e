//! Options with bespoke syntax: `dir`, `save`, `client-output-buffer-limit`,
//! `oom-score-adj-values`, `notify-keyspace-events`, `bind`, `replicaof`,
//! `latency-tracking-info-percentiles`. Accepted forms and error messages follow Redis 7.0.15.

use std::path::Path;

use super::parse::{self, c_strtoll, lossy};
use super::table::{ObufLimit, SaveParam, Special};
use super::{keyspace_events_from_str, keyspace_events_to_string, Config};

/// Redis's CONFIG_BINDADDR_MAX.
const BIND_MAX: usize = 16;

impl Config {
    pub(crate) fn set_special(&mut self, sp: Special, args: &[Vec<u8>]) -> Result<bool, String> {
        match sp {
            Special::Dir => {
                let [arg] = args else {
                    return Err("wrong number of arguments".into());
                };
                self.values.dir = resolve_dir(&self.values.dir, &lossy(arg))?;
                Ok(true)
            }
            Special::Save => self.set_save(args),
            Special::ClientOutputBufferLimit => {
                self.values.client_output_buffer_limit =
                    parse_obuf_limits(args, self.values.client_output_buffer_limit)?;
                Ok(true)
            }
            Special::OomScoreAdjValues => {
                if args.len() != 3 {
                    return Err("wrong number of arguments".into());
                }
                let mut vals = [0i32; 3];
                for (slot, arg) in vals.iter_mut().zip(args) {
                    let r = c_strtoll(arg, 10);
                    if !r.complete || !(-2000..=2000).contains(&r.value) {
                        return Err("Invalid oom-score-adj-values, elements must be between -2000 and 2000.".into());
                    }
                    *slot = r.value as i32;
                }
                let changed = vals != self.values.oom_score_adj_values;
                self.values.oom_score_adj_values = vals;
                Ok(changed)
            }
            Special::NotifyKeyspaceEvents => {
                let [arg] = args else {
                    return Err("wrong number of arguments".into());
                };
                self.values.notify_keyspace_events = keyspace_events_from_str(arg)
                    .ok_or("Invalid event class character. Use 'Ag$lshzxeKEtmdn'.")?;
                Ok(true)
            }
            Special::Bind => {
                if args.len() > BIND_MAX {
                    return Err("Too many bind addresses specified.".into());
                }
                // A single empty argument means "no addresses".
                let addrs: &[Vec<u8>] = if args.len() == 1 && args[0].is_empty() {
                    &[]
                } else {
                    args
                };
                let new: Vec<String> = addrs.iter().map(|a| lossy(a)).collect();
                // Unchanged addresses need no rebind (binding them again while the old
                // listeners are open would fail).
                let changed = new != self.values.bind;
                self.values.bind = new;
                Ok(changed)
            }
            Special::ReplicaOf => {
                let [host, port] = args else {
                    return Err("wrong number of arguments".into());
                };
                self.values.replicaof = None;
                if host.eq_ignore_ascii_case(b"no") && port.eq_ignore_ascii_case(b"one") {
                    return Ok(true);
                }
                let r = c_strtoll(port, 10);
                if !r.complete || !(0..=65535).contains(&r.value) {
                    return Err("Invalid master port".into());
                }
                self.values.replicaof = Some((lossy(host), r.value as u16));
                Ok(true)
            }
            Special::LatencyTrackingInfoPercentiles => {
                let list: &[Vec<u8>] = if args.len() == 1 && args[0].is_empty() {
                    &[]
                } else {
                    args
                };
                let mut out = Vec::with_capacity(list.len());
                for arg in list {
                    let Some(p) = parse::string2d(arg) else {
                        self.values.latency_tracking_info_percentiles.clear();
                        return Err("Invalid latency-tracking-info-percentiles parameters".into());
                    };
                    if !(0.0..=100.0).contains(&p) {
                        self.values.latency_tracking_info_percentiles.clear();
                        return Err("latency-tracking-info-percentiles parameters should sit between [0.0,100.0]".into());
                    }
                    out.push(p);
                }
                self.values.latency_tracking_info_percentiles = out;
                Ok(true)
            }
        }
    }

    fn set_save(&mut self, args: &[Vec<u8>]) -> Result<bool, String> {
        let mut args = args;
        if args.len() == 1 && args[0].is_empty() {
            // `save ""` disables snapshots.
            self.values.save.clear();
            args = &[];
        }
        if args.len() % 2 == 1 {
            return Err("Invalid save parameters".into());
        }
        let mut points = Vec::with_capacity(args.len() / 2);
        for pair in args.chunks_exact(2) {
            let secs = c_strtoll(&pair[0], 10);
            let changes = c_strtoll(&pair[1], 10);
            if !secs.complete || secs.value < 1 || !changes.complete || changes.value < 0 {
                return Err("Invalid save parameters".into());
            }
            // Redis keeps `changes` in an int.
            points.push(SaveParam {
                seconds: secs.value,
                changes: changes.value as i32,
            });
        }
        if !self.reading_config_file {
            self.values.save.clear();
        } else if !self.save_loaded {
            // The first `save` line of a config file replaces the defaults; later ones append.
            self.save_loaded = true;
            self.values.save.clear();
        }
        self.values.save.extend(points);
        Ok(true)
    }

    pub(crate) fn get_special(&self, sp: Special) -> String {
        let v = &self.values;
        match sp {
            Special::Dir => v.dir.clone(),
            Special::Save => v
                .save
                .iter()
                .map(|p| format!("{} {}", p.seconds, p.changes))
                .collect::<Vec<_>>()
                .join(" "),
            Special::ClientOutputBufferLimit => ["normal", "slave", "pubsub"]
                .iter()
                .zip(v.client_output_buffer_limit.iter())
                .map(|(name, l)| {
                    format!(
                        "{name} {} {} {}",
                        l.hard_bytes, l.soft_bytes, l.soft_seconds
                    )
                })
                .collect::<Vec<_>>()
                .join(" "),
            Special::OomScoreAdjValues => v
                .oom_score_adj_values
                .iter()
                .map(i32::to_string)
                .collect::<Vec<_>>()
                .join(" "),
            Special::NotifyKeyspaceEvents => keyspace_events_to_string(v.notify_keyspace_events),
            Special::Bind => v.bind.join(" "),
            Special::ReplicaOf => match &v.replicaof {
                Some((h, p)) => format!("{h} {p}"),
                None => String::new(),
            },
            Special::LatencyTrackingInfoPercentiles => v
                .latency_tracking_info_percentiles
                .iter()
                .map(|p| parse::format_double_trimmed(*p))
                .collect::<Vec<_>>()
                .join(" "),
        }
    }
}

/// Validates `client-output-buffer-limit <class> <hard> <soft> <secs> [...]` and returns the
/// updated limits; all groups are checked before any is applied.
fn parse_obuf_limits(args: &[Vec<u8>], current: [ObufLimit; 3]) -> Result<[ObufLimit; 3], String> {
    if !args.chunks_exact(4).remainder().is_empty() {
        return Err("Wrong number of arguments in buffer limit configuration.".into());
    }
    let mut out = current;
    for group in args.chunks_exact(4) {
        let class = match group[0].to_ascii_lowercase().as_slice() {
            b"normal" => 0,
            b"slave" | b"replica" => 1,
            b"pubsub" => 2,
            _ => {
                return Err("Invalid client class specified in buffer limit configuration.".into())
            }
        };
        let hard = parse::memtoull(&group[1]);
        let soft = parse::memtoull(&group[2]);
        let secs = c_strtoll(&group[3], 10);
        // Redis holds the seconds in an int before checking the sign.
        let secs_int = secs.value as i32;
        match (hard, soft) {
            (Some(hard), Some(soft)) if secs.complete && secs_int >= 0 => {
                out[class] = ObufLimit {
                    hard_bytes: hard,
                    soft_bytes: soft,
                    soft_seconds: i64::from(secs_int),
                };
            }
            _ => {
                return Err(
                    "Error in hard, soft or soft_seconds setting in buffer limit configuration."
                        .into(),
                )
            }
        }
    }
    Ok(out)
}

/// What `chdir(path)` + `getcwd()` would give, relative to the current `dir`, without
/// changing the process's working directory.
pub(crate) fn resolve_dir(current: &str, path: &str) -> Result<String, String> {
    if path.is_empty() {
        return Err("No such file or directory".into());
    }
    let target = Path::new(current).join(path);
    let canon = std::fs::canonicalize(&target).map_err(|e| parse::strerror(&e))?;
    if !canon.is_dir() {
        return Err("Not a directory".into());
    }
    Ok(canon.to_string_lossy().into_owned())
}
