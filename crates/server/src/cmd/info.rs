//! INFO: Redis 7.0's sections and field names for what exists here.

use crate::dispatch::Client;
use crate::state::Shared;
use bytes::Bytes;
use ferrodis_commands::Reply;
use std::fmt::Write;
use std::sync::atomic::Ordering;

const DEFAULT: &[&str] = &[
    "server",
    "clients",
    "memory",
    "persistence",
    "stats",
    "replication",
    "cpu",
    "modules",
    "errorstats",
    "cluster",
    "keyspace",
];
const ALL_EXTRA: &[&str] = &["commandstats", "latencystats"];

pub fn info_cmd(sh: &Shared, _c: &mut Client, argv: &[Bytes]) -> Reply {
    let mut wanted: Vec<String> = Vec::new();
    let mut everything = false;
    for a in &argv[1..] {
        let s = String::from_utf8_lossy(a).to_ascii_lowercase();
        match s.as_str() {
            "all" | "everything" => everything = true,
            "default" => wanted.extend(DEFAULT.iter().map(|s| s.to_string())),
            _ => wanted.push(s),
        }
    }
    if argv.len() == 1 {
        wanted.extend(DEFAULT.iter().map(|s| s.to_string()));
    }
    if everything {
        // Redis's order: the extra sections come before errorstats... keyspace.
        for d in DEFAULT {
            if *d == "errorstats" {
                wanted.push("commandstats".to_string());
                wanted.push("errorstats".to_string());
                wanted.push("latencystats".to_string());
            } else {
                wanted.push(d.to_string());
            }
        }
    }
    Reply::Verbatim("txt", Bytes::from(render(sh, &wanted)))
}

fn human(n: u64) -> String {
    let f = n as f64;
    if n < 1024 {
        format!("{}B", n)
    } else if f < 1024.0 * 1024.0 {
        format!("{:.2}K", f / 1024.0)
    } else if f < 1024.0 * 1024.0 * 1024.0 {
        format!("{:.2}M", f / (1024.0 * 1024.0))
    } else if f < 1024.0 * 1024.0 * 1024.0 * 1024.0 {
        format!("{:.2}G", f / (1024.0 * 1024.0 * 1024.0))
    } else {
        format!("{:.2}T", f / (1024.0 * 1024.0 * 1024.0 * 1024.0))
    }
}

fn cpu_times() -> (f64, f64) {
    // SAFETY: getrusage writes into the zeroed struct we pass.
    let mut ru: libc::rusage = unsafe { std::mem::zeroed() };
    let r = unsafe { libc::getrusage(libc::RUSAGE_SELF, &mut ru) };
    if r != 0 {
        return (0.0, 0.0);
    }
    let t = |tv: libc::timeval| tv.tv_sec as f64 + tv.tv_usec as f64 / 1e6;
    (t(ru.ru_stime), t(ru.ru_utime))
}

fn total_system_memory() -> u64 {
    std::fs::read_to_string("/proc/meminfo")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("MemTotal:"))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|v| v.parse::<u64>().ok())
        })
        .map(|kb| kb * 1024)
        .unwrap_or(0)
}

pub fn render(sh: &Shared, wanted: &[String]) -> String {
    let mut out = String::new();
    let mut first = true;
    let mut done: Vec<&str> = Vec::new();
    for w in wanted {
        let w = w.as_str();
        if done.contains(&w) {
            continue;
        }
        let mut sec = String::new();
        section(sh, w, &mut sec);
        if sec.is_empty() {
            continue;
        }
        done.push(match DEFAULT.iter().chain(ALL_EXTRA).find(|s| **s == w) {
            Some(s) => s,
            None => "",
        });
        if !first {
            out.push_str("\r\n");
        }
        first = false;
        out.push_str(&sec);
    }
    out
}

fn section(sh: &Shared, name: &str, o: &mut String) {
    let cfg = sh.config.read();
    match name {
        "server" => {
            let now = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .unwrap_or_default();
            let uname = uname();
            let up = sh.uptime_secs();
            let _ = write!(
                o,
                "# Server\r\nredis_version:{}\r\nredis_git_sha1:00000000\r\nredis_git_dirty:0\r\nredis_build_id:0\r\nredis_mode:standalone\r\nos:{}\r\narch_bits:64\r\nmonotonic_clock:POSIX clock_gettime\r\nmultiplexing_api:epoll\r\natomicvar_api:c11-builtin\r\ngcc_version:0.0.0\r\nprocess_id:{}\r\nprocess_supervised:no\r\nrun_id:{}\r\ntcp_port:{}\r\nserver_time_usec:{}\r\nuptime_in_seconds:{}\r\nuptime_in_days:{}\r\nhz:{}\r\nconfigured_hz:{}\r\nlru_clock:{}\r\nexecutable:{}\r\nconfig_file:{}\r\nio_threads_active:0\r\n",
                crate::REDIS_VERSION,
                uname,
                std::process::id(),
                sh.run_id,
                sh.tcp_port.load(Ordering::Relaxed),
                now.as_micros(),
                up,
                up / 86400,
                sh.hz.load(Ordering::Relaxed),
                cfg.hz(),
                ferrodis_keyspace::lru_clock(now.as_millis() as i64),
                sh.executable,
                sh.config_file,
            );
        }
        "clients" => {
            let clients = sh.clients.snapshot();
            let blocked = clients
                .iter()
                .filter(|c| c.has_flag(crate::client::flags::BLOCKED))
                .count();
            let in_timeout_table = clients
                .iter()
                .filter(|c| c.blocked.lock().as_ref().is_some_and(|w| w.deadline_ms > 0))
                .count();
            let maxin = clients
                .iter()
                .map(|c| c.qbuf.load(Ordering::Relaxed))
                .max()
                .unwrap_or(0);
            let _ = write!(
                o,
                "# Clients\r\nconnected_clients:{}\r\ncluster_connections:0\r\nmaxclients:{}\r\nclient_recent_max_input_buffer:{}\r\nclient_recent_max_output_buffer:0\r\nblocked_clients:{}\r\ntracking_clients:{}\r\nclients_in_timeout_table:{}\r\n",
                clients.iter().filter(|c| !c.has_flag(crate::client::flags::REPLICA)).count(),
                sh.limits.maxclients.load(Ordering::Relaxed),
                maxin,
                blocked,
                sh.tracking.counts().0,
                in_timeout_table
            );
        }
        "memory" => {
            let used = crate::alloc::used_memory();
            let rss = crate::alloc::rss_bytes();
            let peak = sh
                .stat_peak_memory
                .fetch_max(used, Ordering::Relaxed)
                .max(used);
            let total = total_system_memory();
            let maxmem = cfg.maxmemory();
            let startup = 0u64;
            let overhead = (sh.clients.len() as u64) * 20 * 1024;
            let dataset = used.saturating_sub(overhead);
            let crate::cmd::scripting::MemoryInfo {
                vm_eval,
                scripts_eval,
                cached_scripts,
                functions,
                libraries,
                vm_functions,
                functions_caches,
            } = crate::cmd::scripting::memory_info(sh);
            let frag = if used > 0 {
                rss as f64 / used as f64
            } else {
                0.0
            };
            let _ = write!(
                o,
                "# Memory\r\nused_memory:{used}\r\nused_memory_human:{}\r\nused_memory_rss:{rss}\r\nused_memory_rss_human:{}\r\nused_memory_peak:{peak}\r\nused_memory_peak_human:{}\r\nused_memory_peak_perc:{:.2}%\r\nused_memory_overhead:{overhead}\r\nused_memory_startup:{startup}\r\nused_memory_dataset:{dataset}\r\nused_memory_dataset_perc:{:.2}%\r\nallocator_allocated:{used}\r\nallocator_active:{rss}\r\nallocator_resident:{rss}\r\ntotal_system_memory:{total}\r\ntotal_system_memory_human:{}\r\nused_memory_lua:{vm_eval}\r\nused_memory_vm_eval:{vm_eval}\r\nused_memory_lua_human:{}\r\nused_memory_scripts_eval:{scripts_eval}\r\nnumber_of_cached_scripts:{cached_scripts}\r\nnumber_of_functions:{functions}\r\nnumber_of_libraries:{libraries}\r\nused_memory_vm_functions:{vm_functions}\r\nused_memory_vm_total:{}\r\nused_memory_vm_total_human:{}\r\nused_memory_functions:{functions_caches}\r\nused_memory_scripts:{}\r\nused_memory_scripts_human:{}\r\nmaxmemory:{maxmem}\r\nmaxmemory_human:{}\r\nmaxmemory_policy:{}\r\nallocator_frag_ratio:1.00\r\nallocator_frag_bytes:0\r\nallocator_rss_ratio:1.00\r\nallocator_rss_bytes:0\r\nrss_overhead_ratio:1.00\r\nrss_overhead_bytes:0\r\nmem_fragmentation_ratio:{:.2}\r\nmem_fragmentation_bytes:{}\r\nmem_not_counted_for_evict:0\r\nmem_replication_backlog:0\r\nmem_total_replication_buffers:0\r\nmem_clients_slaves:0\r\nmem_clients_normal:{overhead}\r\nmem_cluster_links:0\r\nmem_aof_buffer:0\r\nmem_allocator:{}\r\nactive_defrag_running:0\r\nlazyfree_pending_objects:{}\r\nlazyfreed_objects:{}\r\n",
                human(used),
                human(rss),
                human(peak),
                if peak > 0 { used as f64 * 100.0 / peak as f64 } else { 0.0 },
                if used > 0 { dataset as f64 * 100.0 / used as f64 } else { 0.0 },
                human(total),
                human(vm_eval as u64),
                vm_eval + vm_functions,
                human((vm_eval + vm_functions) as u64),
                scripts_eval + functions_caches,
                human((scripts_eval + functions_caches) as u64),
                human(maxmem),
                cfg.maxmemory_policy_name(),
                frag,
                rss as i64 - used as i64,
                if crate::alloc::allocated().is_some() { "jemalloc-5.3.0" } else { "libc" },
                sh.engine.lazyfree.pending(),
                sh.engine.lazyfree.freed(),
            );
        }
        "persistence" => {
            let bgsave = sh.bgsave_in_progress.load(Ordering::Relaxed);
            let _ = write!(
                o,
                "# Persistence\r\nloading:0\r\nasync_loading:0\r\ncurrent_cow_peak:0\r\ncurrent_cow_size:0\r\ncurrent_cow_size_age:0\r\ncurrent_fork_perc:0.00\r\ncurrent_save_keys_processed:0\r\ncurrent_save_keys_total:0\r\nrdb_changes_since_last_save:{}\r\nrdb_bgsave_in_progress:{}\r\nrdb_last_save_time:{}\r\nrdb_last_bgsave_status:{}\r\nrdb_last_bgsave_time_sec:{}\r\nrdb_current_bgsave_time_sec:{}\r\nrdb_saves:{}\r\nrdb_last_cow_size:0\r\nrdb_last_load_keys_expired:{}\r\nrdb_last_load_keys_loaded:{}\r\naof_enabled:0\r\naof_rewrite_in_progress:0\r\naof_rewrite_scheduled:0\r\naof_last_rewrite_time_sec:-1\r\naof_current_rewrite_time_sec:-1\r\naof_last_bgrewrite_status:ok\r\naof_rewrites:0\r\naof_rewrites_consecutive_failures:0\r\naof_last_write_status:ok\r\naof_last_cow_size:0\r\nmodule_fork_in_progress:0\r\nmodule_fork_last_cow_size:0\r\n",
                crate::persist::changes_since_save(sh),
                u8::from(bgsave),
                sh.lastsave.load(Ordering::Relaxed),
                if sh.rdb_last_bgsave_ok.load(Ordering::Relaxed) {
                    "ok"
                } else {
                    "err"
                },
                sh.rdb_last_bgsave_time_sec.load(Ordering::Relaxed),
                if bgsave {
                    (ferrodis_commands::engine::wall_ms()
                        - sh.bgsave_started_ms.load(Ordering::Relaxed))
                        / 1000
                } else {
                    -1
                },
                sh.rdb_saves.load(Ordering::Relaxed),
                sh.rdb_last_load_keys_expired.load(Ordering::Relaxed),
                sh.rdb_last_load_keys_loaded.load(Ordering::Relaxed),
            );
        }
        "stats" => {
            let s = &sh.stats;
            let e = &sh.engine.stats;
            let g = |a: &ferrodis_commands::engine::Counter| a.get();
            let _ = write!(
                o,
                "# Stats\r\ntotal_connections_received:{}\r\ntotal_commands_processed:{}\r\ninstantaneous_ops_per_sec:0\r\ntotal_net_input_bytes:{}\r\ntotal_net_output_bytes:{}\r\ntotal_net_repl_input_bytes:0\r\ntotal_net_repl_output_bytes:0\r\ninstantaneous_input_kbps:0.00\r\ninstantaneous_output_kbps:0.00\r\ninstantaneous_input_repl_kbps:0.00\r\ninstantaneous_output_repl_kbps:0.00\r\nrejected_connections:{}\r\nsync_full:0\r\nsync_partial_ok:0\r\nsync_partial_err:0\r\nexpired_keys:{}\r\nexpired_stale_perc:{:.2}\r\nexpired_time_cap_reached_count:{}\r\nexpire_cycle_cpu_milliseconds:{}\r\nevicted_keys:{}\r\nevicted_clients:0\r\ntotal_eviction_exceeded_time:0\r\ncurrent_eviction_exceeded_time:0\r\nkeyspace_hits:{}\r\nkeyspace_misses:{}\r\npubsub_channels:{}\r\npubsub_patterns:{}\r\npubsubshard_channels:{}\r\nlatest_fork_usec:0\r\ntotal_forks:0\r\nmigrate_cached_sockets:0\r\nslave_expires_tracked_keys:0\r\nactive_defrag_hits:0\r\nactive_defrag_misses:0\r\nactive_defrag_key_hits:0\r\nactive_defrag_key_misses:0\r\ntotal_active_defrag_time:0\r\ncurrent_active_defrag_time:0\r\ntracking_total_keys:{}\r\ntracking_total_items:{}\r\ntracking_total_prefixes:{}\r\nunexpected_error_replies:{}\r\ntotal_error_replies:{}\r\ndump_payload_sanitizations:0\r\ntotal_reads_processed:{}\r\ntotal_writes_processed:{}\r\nio_threaded_reads_processed:0\r\nio_threaded_writes_processed:0\r\nreply_buffer_shrinks:0\r\nreply_buffer_expands:0\r\n",
                g(&s.total_connections_received),
                g(&s.total_commands_processed),
                g(&s.net_input_bytes),
                g(&s.net_output_bytes),
                g(&s.rejected_connections),
                g(&e.expired_keys),
                g(&e.expired_stale_perc) as f64 / 100.0,
                g(&e.expired_time_cap_reached_count),
                g(&e.expire_cycle_cpu_milliseconds),
                g(&e.evicted_keys),
                g(&e.keyspace_hits),
                g(&e.keyspace_misses),
                sh.pubsub.num_channels(false),
                sh.pubsub.numpat(),
                sh.pubsub.num_channels(true),
                sh.tracking.counts().1,
                sh.tracking.counts().2,
                sh.tracking.counts().3,
                g(&s.unexpected_error_replies),
                g(&s.total_error_replies),
                g(&s.total_reads_processed),
                g(&s.total_writes_processed),
            );
        }
        "replication" => {
            let _ = write!(
                o,
                "# Replication\r\n{}{}master_failover_state:no-failover\r\nmaster_replid:{}\r\nmaster_replid2:0000000000000000000000000000000000000000\r\nmaster_repl_offset:{}\r\nsecond_repl_offset:-1\r\nrepl_backlog_active:0\r\nrepl_backlog_size:1048576\r\nrepl_backlog_first_byte_offset:0\r\nrepl_backlog_histlen:0\r\n",
                match crate::replica::info_lines(sh) {
                    Some(lines) => format!("role:slave\r\n{lines}"),
                    None => "role:master\r\n".to_string(),
                },
                crate::replication::info_lines(sh),
                sh.replid.lock(),
                if sh.replica.is_replica() {
                    sh.replica.offset.load(Ordering::Relaxed).max(0) as u64
                } else {
                    sh.repl.offset.load(Ordering::Relaxed)
                },
            );
        }
        "cpu" => {
            let (sys, user) = cpu_times();
            let _ = write!(
                o,
                "# CPU\r\nused_cpu_sys:{sys:.6}\r\nused_cpu_user:{user:.6}\r\nused_cpu_sys_children:0.000000\r\nused_cpu_user_children:0.000000\r\nused_cpu_sys_main_thread:{sys:.6}\r\nused_cpu_user_main_thread:{user:.6}\r\n"
            );
        }
        "modules" => o.push_str("# Modules\r\n"),
        "errorstats" => {
            o.push_str("# Errorstats\r\n");
            let m = sh.errorstats.lock();
            let mut v: Vec<_> = m.iter().collect();
            v.sort();
            for (k, n) in v {
                let _ = write!(o, "errorstat_{}:count={}\r\n", k, n);
            }
        }
        "cluster" => o.push_str("# Cluster\r\ncluster_enabled:0\r\n"),
        "keyspace" => {
            o.push_str("# Keyspace\r\n");
            for db in 0..sh.engine.settings.databases {
                let (mut keys, mut expires, mut ttl_sum, mut ttl_n) =
                    (0usize, 0usize, 0i128, 0i128);
                for i in 0..sh.engine.ks.nshards() {
                    let g = sh.engine.ks.lock(i);
                    if let Some(d) = g.dbs.get(db) {
                        keys += d.len();
                        expires += d.expires_len();
                        let (avg, n) = (d.avg_ttl(), d.expires_len());
                        ttl_sum += avg as i128 * n as i128;
                        ttl_n += n as i128;
                    }
                }
                if keys > 0 {
                    let avg = if ttl_n > 0 { ttl_sum / ttl_n } else { 0 };
                    let _ = write!(
                        o,
                        "db{}:keys={},expires={},avg_ttl={}\r\n",
                        db, keys, expires, avg
                    );
                }
            }
        }
        "commandstats" => {
            o.push_str("# Commandstats\r\n");
            let mut v: Vec<_> = sh
                .cmdstats
                .iter()
                .filter(|(_, s)| {
                    s.calls.load(Ordering::Relaxed) > 0
                        || s.rejected_calls.load(Ordering::Relaxed) > 0
                        || s.failed_calls.load(Ordering::Relaxed) > 0
                })
                .collect();
            v.sort_by_key(|(n, _)| **n);
            for (n, s) in v {
                let calls = s.calls.load(Ordering::Relaxed);
                let usec = s.usec.load(Ordering::Relaxed);
                let _ = write!(
                    o,
                    "cmdstat_{}:calls={},usec={},usec_per_call={:.2},rejected_calls={},failed_calls={}\r\n",
                    n,
                    calls,
                    usec,
                    if calls > 0 { usec as f64 / calls as f64 } else { 0.0 },
                    s.rejected_calls.load(Ordering::Relaxed),
                    s.failed_calls.load(Ordering::Relaxed)
                );
            }
        }
        "latencystats" => {
            o.push_str("# Latencystats\r\n");
            let pcts = sh.config.read().latency_tracking_info_percentiles();
            for (n, st) in sh.cmdstats.iter() {
                let Some(vals) = st.histogram.percentiles_us(&pcts) else {
                    continue;
                };
                let _ = write!(o, "latency_percentiles_usec_{}:", n);
                for (j, (p, v)) in pcts.iter().zip(vals).enumerate() {
                    if j > 0 {
                        o.push(',');
                    }
                    let _ = write!(o, "p{}={:.3}", trim_float(*p), v);
                }
                o.push_str("\r\n");
            }
        }
        _ => {}
    }
}

/// C's "%f" with trailing zeros (and a trailing dot) removed, as Redis's trimDoubleString.
fn trim_float(f: f64) -> String {
    let s = format!("{:.6}", f);
    let s = s.trim_end_matches('0').trim_end_matches('.');
    s.to_string()
}

fn uname() -> String {
    // SAFETY: uname fills the zeroed struct; fields are NUL-terminated.
    let mut u: libc::utsname = unsafe { std::mem::zeroed() };
    if unsafe { libc::uname(&mut u) } != 0 {
        return "Linux".into();
    }
    let f = |a: &[libc::c_char]| {
        let b: Vec<u8> = a
            .iter()
            .take_while(|c| **c != 0)
            .map(|c| *c as u8)
            .collect();
        String::from_utf8_lossy(&b).into_owned()
    };
    format!("{} {} {}", f(&u.sysname), f(&u.release), f(&u.machine))
}
