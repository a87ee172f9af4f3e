//! TIME, LOLWUT, SLOWLOG, LATENCY, MONITOR, SHUTDOWN.

use crate::dispatch::{After, Client};
use crate::state::Shared;
use bytes::Bytes;
use ferrodis_commands::args::{eq_ic, parse_i64};
use ferrodis_commands::keys::help_reply;
use ferrodis_commands::{errors, Reply};
use std::sync::atomic::Ordering;

pub fn time() -> Reply {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default();
    Reply::Array(vec![
        Reply::Bulk(Bytes::from(now.as_secs().to_string())),
        Reply::Bulk(Bytes::from(now.subsec_micros().to_string())),
    ])
}

/// LOLWUT [VERSION v]: a small generative drawing, then the version line.
pub fn lolwut(argv: &[Bytes]) -> Reply {
    let mut cols = 40usize;
    let mut rows = 8usize;
    let mut i = 1;
    while i < argv.len() {
        if eq_ic(&argv[i], "version") && i + 1 < argv.len() {
            if parse_i64(&argv[i + 1]).is_none() {
                return errors::not_integer();
            }
            i += 2;
        } else {
            match parse_i64(&argv[i]) {
                Some(n) if i == argv.len() - 2 || i == argv.len() - 1 => {
                    if cols == 40 {
                        cols = n.clamp(1, 1000) as usize;
                    } else {
                        rows = n.clamp(1, 1000) as usize;
                    }
                }
                _ => return errors::not_integer(),
            }
            i += 1;
        }
    }
    // A diagonal wave of braille-free ASCII: deterministic and cheap.
    let mut s = String::new();
    for r in 0..rows {
        for c in 0..cols {
            let v = (r * 7 + c * 3) % 11;
            s.push(match v {
                0 => '/',
                3 => '\\',
                5 => '_',
                _ => ' ',
            });
        }
        s.push('\n');
    }
    s.push_str("\nferrodis, a Redis-compatible server. Redis ver. ");
    s.push_str(crate::REDIS_VERSION);
    s.push('\n');
    Reply::Verbatim("txt", Bytes::from(s))
}

pub fn slowlog(sh: &Shared, argv: &[Bytes]) -> Reply {
    let sub = String::from_utf8_lossy(&argv[1]).to_ascii_lowercase();
    match sub.as_str() {
        "help" => help_reply(&[
            "SLOWLOG <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
            "GET [<count>]",
            "    The newest <count> slow log entries (10 by default, -1 for all): id, unix time, microseconds, arguments, client address, client name.",
            "LEN",
            "    Number of entries in the slow log.",
            "RESET",
            "    Empty the slow log.",
            "HELP",
            "    Show this list.",
        ]),
        "reset" => {
            sh.slowlog.lock().reset();
            Reply::Ok
        }
        "len" => Reply::Int(sh.slowlog.lock().len() as i64),
        "get" => {
            let log = sh.slowlog.lock();
            let mut count = 10usize;
            if argv.len() == 3 {
                match parse_i64(&argv[2]) {
                    Some(-1) => count = log.len(),
                    Some(n) if n >= 0 => count = n as usize,
                    _ => {
                        return Reply::err_static("ERR count should be greater than or equal to -1")
                    }
                }
            }
            let out = log
                .iter()
                .take(count)
                .map(|e| {
                    Reply::Array(vec![
                        Reply::Int(e.id as i64),
                        Reply::Int(e.time),
                        Reply::Int(e.duration_us as i64),
                        Reply::Array(e.argv.iter().cloned().map(Reply::Bulk).collect()),
                        Reply::Bulk(Bytes::from(e.peer.clone())),
                        Reply::Bulk(e.name.clone()),
                    ])
                })
                .collect();
            Reply::Array(out)
        }
        _ => errors::unknown_subcommand(&argv[1], "slowlog"),
    }
}

/// A command by its full name: "get", "client" or "client|id" (Redis's lookupCommandBySds).
fn lookup_full_name(name: &[u8]) -> Option<&'static ferrodis_commands::meta::CommandMeta> {
    let mut parts = name.splitn(2, |&b| b == b'|');
    let top = ferrodis_commands::meta::lookup(parts.next()?)?;
    match parts.next() {
        None => Some(top),
        Some(sub) => top.subcommand(sub),
    }
}

pub fn latency(sh: &Shared, argv: &[Bytes]) -> Reply {
    let sub = String::from_utf8_lossy(&argv[1]).to_ascii_lowercase();
    let lm = sh.latency.lock();
    match sub.as_str() {
        "latest" => Reply::Array(
            lm.events
                .iter()
                .filter_map(|(name, h)| {
                    h.samples.last().map(|l| {
                        Reply::Array(vec![
                            Reply::Bulk(Bytes::from(name.clone())),
                            Reply::Int(l.time),
                            Reply::Int(l.latency_ms as i64),
                            Reply::Int(h.max as i64),
                        ])
                    })
                })
                .collect(),
        ),
        "history" => {
            let ev = String::from_utf8_lossy(&argv[2]).into_owned();
            match lm.events.get(&ev) {
                None => Reply::Array(vec![]),
                Some(h) => Reply::Array(
                    h.samples
                        .iter()
                        .map(|s| {
                            Reply::Array(vec![Reply::Int(s.time), Reply::Int(s.latency_ms as i64)])
                        })
                        .collect(),
                ),
            }
        }
        "reset" => {
            drop(lm);
            let evs: Vec<String> = argv[2..]
                .iter()
                .map(|a| String::from_utf8_lossy(a).into_owned())
                .collect();
            Reply::Int(sh.latency.lock().reset(&evs) as i64)
        }
        "graph" => {
            let ev = String::from_utf8_lossy(&argv[2]).into_owned();
            match lm.events.get(&ev) {
                None => Reply::error(format!("ERR No samples available for event '{}'", ev)),
                Some(h) => {
                    let low = h.samples.iter().map(|s| s.latency_ms).min().unwrap_or(0);
                    let high = h.samples.iter().map(|s| s.latency_ms).max().unwrap_or(0);
                    let mut g = format!(
                        "{} - high {} ms, low {} ms (all time high {} ms)\n",
                        ev, high, low, h.max
                    );
                    g.push_str(&"-".repeat(80));
                    g.push('\n');
                    for s in &h.samples {
                        let bar = if high == 0 {
                            0
                        } else {
                            (s.latency_ms * 10 / high.max(1)) as usize
                        };
                        g.push_str(&format!("{:>6} ms |{}\n", s.latency_ms, "#".repeat(bar)));
                    }
                    Reply::Verbatim("txt", Bytes::from(g))
                }
            }
        }
        "doctor" => {
            let mut r = String::new();
            if lm.events.is_empty() {
                r.push_str("Dave, no latency spike was observed during the lifetime of this Redis instance, not in the slightest bit. I honestly think you ought to sleep better.\n");
            } else {
                r.push_str("Latency spikes were observed for these events:\n");
                for (n, h) in lm.events.iter() {
                    r.push_str(&format!(
                        "- {}: {} samples, worst {} ms\n",
                        n,
                        h.samples.len(),
                        h.max
                    ));
                }
            }
            Reply::Verbatim("txt", Bytes::from(r))
        }
        "histogram" => {
            drop(lm);
            // Commands named (a container brings its subcommands; unknown names are
            // skipped), or every command with samples.
            let mut names: Vec<&'static str> = Vec::new();
            if argv.len() > 2 {
                for a in &argv[2..] {
                    let Some(m) = lookup_full_name(a) else {
                        continue;
                    };
                    names.push(m.name);
                    names.extend(m.subcommands.iter().map(|s| s.name));
                }
            } else {
                names.extend(sh.cmdstats.iter().map(|(n, _)| *n));
            }
            let mut out = Vec::new();
            for n in names {
                let Some(st) = sh.cmdstats.get(n) else {
                    continue;
                };
                let Some(calls) = st.histogram.total() else {
                    continue;
                };
                let cdf = st
                    .histogram
                    .cdf_us()
                    .into_iter()
                    .map(|(us, cum)| (Reply::Int(us as i64), Reply::Int(cum as i64)))
                    .collect();
                out.push((
                    Reply::Bulk(Bytes::from_static(n.as_bytes())),
                    Reply::Map(vec![
                        (Reply::bulk_static("calls"), Reply::Int(calls as i64)),
                        (Reply::bulk_static("histogram_usec"), Reply::Map(cdf)),
                    ]),
                ));
            }
            Reply::Map(out)
        }
        "help" => help_reply(&[
            "LATENCY <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
            "DOCTOR",
            "    A readable summary of the latency spikes seen.",
            "GRAPH <event>",
            "    An ASCII chart of the samples of <event>.",
            "HISTORY <event>",
            "    Time and latency of each sample of <event>.",
            "LATEST",
            "    Newest sample of every event.",
            "RESET [<event> ...]",
            "    Drop the samples of the given events, or of all events.",
            "HISTOGRAM [COMMAND ...]",
            "    Per-command latency distributions, for the given commands or all of them.",
            "HELP",
            "    Show this list.",
        ]),
        _ => errors::unknown_subcommand(&argv[1], "latency"),
    }
}

/// SYNC / PSYNC: the connection becomes a replica once this reply (none) is written; the
/// full resynchronization is replication.rs's.
pub fn sync(c: &mut Client, psync: bool) -> Reply {
    if c.handle.has_flag(crate::client::flags::REPLICA) {
        return Reply::NoReply;
    }
    c.after = After::Replica(psync);
    Reply::NoReply
}

/// REPLCONF <option> <value> ...: what a replica tells its master before PSYNC.
pub fn replconf(c: &mut Client, argv: &[Bytes]) -> Reply {
    if argv.len().is_multiple_of(2) {
        return Reply::err_static("ERR syntax error");
    }
    for pair in argv[1..].chunks(2) {
        let (opt, val) = (&pair[0], &pair[1]);
        if opt.eq_ignore_ascii_case(b"listening-port") {
            match std::str::from_utf8(val)
                .ok()
                .and_then(|v| v.parse::<i64>().ok())
            {
                Some(p) => c.repl_listening_port = u16::try_from(p).unwrap_or(0),
                None => return Reply::err_static("ERR value is not an integer or out of range"),
            }
        } else if opt.eq_ignore_ascii_case(b"ack") || opt.eq_ignore_ascii_case(b"fack") {
            // Acknowledgements are read by the replica's stream loop; here (before SYNC) they
            // have nothing to acknowledge and get no reply, as in Redis.
            return Reply::NoReply;
        } else if opt.eq_ignore_ascii_case(b"getack") {
            return Reply::NoReply;
        } else if !(opt.eq_ignore_ascii_case(b"ip-address")
            || opt.eq_ignore_ascii_case(b"capa")
            || opt.eq_ignore_ascii_case(b"rdb-only"))
        {
            return Reply::error(format!(
                "ERR Unrecognized REPLCONF option: {}",
                String::from_utf8_lossy(opt)
            ));
        }
    }
    Reply::Ok
}

/// ROLE: `master offset [[ip port offset] ...]`, or `slave host port state offset`.
pub fn role(sh: &Shared) -> Reply {
    use std::sync::atomic::Ordering;
    if let Some((host, port)) = sh.replica.master.lock().clone() {
        let r = &sh.replica;
        let state = if r.link_up.load(Ordering::Relaxed) {
            "connected"
        } else if r.sync_in_progress.load(Ordering::Relaxed) {
            "sync"
        } else {
            "connect"
        };
        return Reply::Array(vec![
            Reply::bulk_static("slave"),
            Reply::Bulk(Bytes::from(host)),
            Reply::Int(i64::from(port)),
            Reply::bulk_static(state),
            Reply::Int(r.offset.load(Ordering::Relaxed)),
        ]);
    }
    let replicas = sh
        .repl
        .replicas()
        .iter()
        .map(|r| {
            let ip = r.handle.ip().to_string();
            Reply::Array(vec![
                Reply::Bulk(Bytes::from(ip)),
                Reply::Bulk(Bytes::from(r.listening_port.to_string())),
                Reply::Bulk(Bytes::from(
                    r.ack_offset.load(Ordering::Relaxed).max(0).to_string(),
                )),
            ])
        })
        .collect();
    Reply::Array(vec![
        Reply::bulk_static("master"),
        Reply::Int(sh.repl.offset.load(Ordering::Relaxed) as i64),
        Reply::Array(replicas),
    ])
}

pub fn monitor(_sh: &Shared, c: &mut Client) -> Reply {
    c.after = After::Monitor;
    Reply::Ok
}

pub fn shutdown(sh: &Shared, c: &mut Client, argv: &[Bytes]) -> Reply {
    let (mut nosave, mut save, mut abort, mut other) = (false, false, false, false);
    let mut force = false;
    for a in &argv[1..] {
        if eq_ic(a, "nosave") {
            nosave = true;
        } else if eq_ic(a, "save") {
            save = true;
        } else if eq_ic(a, "now") {
            other = true;
        } else if eq_ic(a, "force") {
            other = true;
            force = true;
        } else if eq_ic(a, "abort") {
            abort = true;
        } else {
            return errors::syntax();
        }
    }
    if (abort && (nosave || save || other)) || (nosave && save) {
        return errors::syntax();
    }
    if abort {
        if sh.shutdown_asap.swap(false, Ordering::SeqCst) {
            tracing::info!("Shutdown manually aborted.");
            return Reply::Ok;
        }
        return Reply::err_static("ERR No shutdown in progress.");
    }
    // SAVE, or save points configured and no NOSAVE: the final snapshot, as Redis. FORCE
    // exits even when it fails.
    if !crate::persist::shutdown_save(sh, save, nosave) && !force {
        tracing::warn!(
            "Errors trying to shut down the server. Check the logs for more information."
        );
        return Reply::err_static("ERR Errors trying to SHUTDOWN. Check logs.");
    }
    tracing::warn!("User requested shutdown...");
    sh.request_shutdown();
    c.after = After::Shutdown;
    Reply::NoReply
}

/// BGSAVE [SCHEDULE]: a point-in-time snapshot written in the background (crate::persist).
pub fn bgsave(sh: &Shared, argv: &[Bytes]) -> Reply {
    if argv.len() > 2 || (argv.len() == 2 && !eq_ic(&argv[1], "schedule")) {
        return errors::syntax();
    }
    match crate::persist::bgsave(sh) {
        Ok(()) => Reply::status("Background saving started"),
        Err(e) => Reply::err_static(e),
    }
}

/// SAVE: the dataset to `dir`/`dbfilename`, blocking as in Redis.
pub fn save(sh: &Shared) -> Reply {
    if sh
        .bgsave_in_progress
        .load(std::sync::atomic::Ordering::Acquire)
    {
        return Reply::err_static("ERR Background save already in progress");
    }
    match crate::persist::save(sh) {
        Ok(_) => Reply::Ok,
        Err(_) => Reply::err_static("ERR"),
    }
}
