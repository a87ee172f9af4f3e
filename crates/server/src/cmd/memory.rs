//! MEMORY USAGE/STATS/DOCTOR/MALLOC-STATS/PURGE/HELP.

use crate::dispatch::Client;
use crate::state::Shared;
use bytes::Bytes;
use ferrodis_commands::args::{eq_ic, parse_i64};
use ferrodis_commands::keys::help_reply;
use ferrodis_commands::{errors, Reply};
use std::sync::atomic::Ordering;

/// Bytes of one key-table node (next pointer + entry) in its allocator class.
const NODE_BYTES: usize = 48;

pub fn memory(sh: &Shared, c: &mut Client, argv: &[Bytes]) -> Reply {
    let sub = String::from_utf8_lossy(&argv[1]).to_ascii_lowercase();
    match sub.as_str() {
        "help" => help_reply(&[
            "MEMORY <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
            "DOCTOR",
            "    A readable report of memory problems, if any.",
            "MALLOC-STATS",
            "    Allocator statistics.",
            "PURGE",
            "    Ask the allocator to return unused pages to the system.",
            "STATS",
            "    Breakdown of the server's memory use.",
            "USAGE <key> [SAMPLES <count>]",
            "    Bytes used by <key> and its value (nested values sampled <count> times, 0 = all).",
            "HELP",
            "    Show this list.",
        ]),
        "usage" => {
            let mut j = 3;
            while j < argv.len() {
                if eq_ic(&argv[j], "samples") && j + 1 < argv.len() {
                    match parse_i64(&argv[j + 1]) {
                        Some(n) if n >= 0 => {}
                        Some(_) => return errors::syntax(),
                        None => return errors::not_integer(),
                    }
                    j += 2;
                } else {
                    return errors::syntax();
                }
            }
            let key = &argv[2];
            let shard = sh.engine.ks.shard_of(key);
            let g = sh.engine.ks.lock(shard);
            let Some(db) = g.dbs.get(c.db) else {
                return Reply::Null;
            };
            // Like Redis, report the entry whether or not its TTL has passed.
            match db.lookup(key, i64::MIN) {
                Some(e) => Reply::Int((NODE_BYTES + e.heap_size()) as i64),
                None => Reply::Null,
            }
        }
        "stats" => stats(sh),
        "doctor" => Reply::Verbatim(
            "txt",
            Bytes::from_static(b"Hi Sam, I can't find any memory issue in your instance. I can only account for what occurs on this base.\n"),
        ),
        "malloc-stats" => Reply::Verbatim(
            "txt",
            Bytes::from(format!(
                "allocated: {}\nresident: {}\n",
                crate::alloc::used_memory(),
                crate::alloc::rss_bytes()
            )),
        ),
        "purge" => Reply::Ok,
        _ => errors::unknown_subcommand(&argv[1], "memory"),
    }
}

fn stats(sh: &Shared) -> Reply {
    let used = crate::alloc::used_memory();
    let rss = crate::alloc::rss_bytes();
    let peak = sh.stat_peak_memory.load(Ordering::Relaxed).max(used);
    let clients = sh.clients.len() as u64 * 20 * 1024;
    let mut keys = 0u64;
    let mut per_db: Vec<(usize, u64, u64)> = Vec::new();
    for dbi in 0..sh.engine.settings.databases {
        let (mut n, mut main, mut exp) = (0u64, 0u64, 0u64);
        for s in 0..sh.engine.ks.nshards() {
            let g = sh.engine.ks.lock(s);
            if let Some(d) = g.dbs.get(dbi) {
                n += d.len() as u64;
                main += (d.len() * NODE_BYTES) as u64;
                exp += (d.expires_len() * 40) as u64;
            }
        }
        if n > 0 {
            keys += n;
            per_db.push((dbi, main, exp));
        }
    }
    let overhead: u64 = clients + per_db.iter().map(|(_, a, b)| a + b).sum::<u64>();
    let dataset = used.saturating_sub(overhead);
    let mut m = vec![
        (
            Reply::bulk_static("peak.allocated"),
            Reply::Int(peak as i64),
        ),
        (
            Reply::bulk_static("total.allocated"),
            Reply::Int(used as i64),
        ),
        (Reply::bulk_static("startup.allocated"), Reply::Int(0)),
        (Reply::bulk_static("replication.backlog"), Reply::Int(0)),
        (Reply::bulk_static("clients.slaves"), Reply::Int(0)),
        (
            Reply::bulk_static("clients.normal"),
            Reply::Int(clients as i64),
        ),
        (Reply::bulk_static("cluster.links"), Reply::Int(0)),
        (Reply::bulk_static("aof.buffer"), Reply::Int(0)),
        (Reply::bulk_static("lua.caches"), Reply::Int(0)),
        (Reply::bulk_static("functions.caches"), Reply::Int(0)),
    ];
    for (dbi, main, exp) in per_db {
        m.push((
            Reply::Bulk(Bytes::from(format!("db.{}", dbi))),
            Reply::Map(vec![
                (
                    Reply::bulk_static("overhead.hashtable.main"),
                    Reply::Int(main as i64),
                ),
                (
                    Reply::bulk_static("overhead.hashtable.expires"),
                    Reply::Int(exp as i64),
                ),
                (
                    Reply::bulk_static("overhead.hashtable.slot-to-keys"),
                    Reply::Int(0),
                ),
            ]),
        ));
    }
    let pct = |a: u64, b: u64| {
        if b == 0 {
            0.0
        } else {
            a as f64 * 100.0 / b as f64
        }
    };
    m.extend([
        (
            Reply::bulk_static("overhead.total"),
            Reply::Int(overhead as i64),
        ),
        (Reply::bulk_static("keys.count"), Reply::Int(keys as i64)),
        (
            Reply::bulk_static("keys.bytes-per-key"),
            Reply::Int(used.checked_div(keys).unwrap_or(0) as i64),
        ),
        (
            Reply::bulk_static("dataset.bytes"),
            Reply::Int(dataset as i64),
        ),
        (
            Reply::bulk_static("dataset.percentage"),
            Reply::Double(pct(dataset, used)),
        ),
        (
            Reply::bulk_static("peak.percentage"),
            Reply::Double(pct(used, peak)),
        ),
        (
            Reply::bulk_static("allocator.allocated"),
            Reply::Int(used as i64),
        ),
        (
            Reply::bulk_static("allocator.active"),
            Reply::Int(rss as i64),
        ),
        (
            Reply::bulk_static("allocator.resident"),
            Reply::Int(rss as i64),
        ),
        (
            Reply::bulk_static("allocator-fragmentation.ratio"),
            Reply::Double(1.0),
        ),
        (
            Reply::bulk_static("allocator-fragmentation.bytes"),
            Reply::Int(0),
        ),
        (
            Reply::bulk_static("allocator-rss.ratio"),
            Reply::Double(1.0),
        ),
        (Reply::bulk_static("allocator-rss.bytes"), Reply::Int(0)),
        (Reply::bulk_static("rss-overhead.ratio"), Reply::Double(1.0)),
        (Reply::bulk_static("rss-overhead.bytes"), Reply::Int(0)),
        (
            Reply::bulk_static("fragmentation"),
            Reply::Double(if used > 0 {
                rss as f64 / used as f64
            } else {
                0.0
            }),
        ),
        (
            Reply::bulk_static("fragmentation.bytes"),
            Reply::Int(rss as i64 - used as i64),
        ),
    ]);
    Reply::Map(m)
}
