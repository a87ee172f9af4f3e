//! Server-wide shared state: the engine, configuration, client registry,
//! statistics, slow log, latency monitor, MONITOR feeds, pause and shutdown.
//! One `Arc<Shared>` is handed to every connection task and background task.

use crate::client::ClientRegistry;
use crate::config::Config;
use crate::latency::LatencyMonitor;
use crate::slowlog::SlowLog;
use bytes::Bytes;
use ferrodis_commands::engine::Counter;
use ferrodis_commands::meta;
use ferrodis_commands::Engine;
use parking_lot::{Mutex, RwLock};
use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicI64, AtomicU64, AtomicUsize, Ordering};
use std::time::Instant;
use tokio::sync::{mpsc, Notify};

/// Per-command counters for INFO commandstats. The map is built once with every
/// command of the table, so updating a counter needs no lock.
#[derive(Default, Debug)]
pub struct CmdStat {
    pub calls: Counter,
    pub usec: Counter,
    pub rejected_calls: AtomicU64,
    pub failed_calls: AtomicU64,
    /// `latency-tracking` distribution (LATENCY HISTOGRAM, INFO latencystats).
    pub histogram: crate::latency::CmdHistogram,
}

/// All commands' counters, in a dense list (so a connection can cache an index)
/// plus a name index.
pub struct CmdStats {
    list: Vec<(&'static str, CmdStat)>,
    index: HashMap<&'static str, usize, ahash::RandomState>,
}

impl CmdStats {
    fn new() -> CmdStats {
        let mut list = Vec::new();
        for m in meta::all() {
            list.push((m.name, CmdStat::default()));
            for s in m.subcommands {
                list.push((s.name, CmdStat::default()));
            }
        }
        let index = list.iter().enumerate().map(|(i, (n, _))| (*n, i)).collect();
        CmdStats { list, index }
    }
    pub fn index_of(&self, name: &str) -> Option<usize> {
        self.index.get(name).copied()
    }
    pub fn get(&self, name: &str) -> Option<&CmdStat> {
        self.index_of(name).map(|i| &self.list[i].1)
    }
    pub fn at(&self, i: usize) -> Option<&CmdStat> {
        self.list.get(i).map(|(_, s)| s)
    }
    pub fn iter(&self) -> impl Iterator<Item = (&&'static str, &CmdStat)> {
        self.list.iter().map(|(n, s)| (n, s))
    }
    pub fn values(&self) -> impl Iterator<Item = &CmdStat> {
        self.list.iter().map(|(_, s)| s)
    }
}

/// Counters for INFO stats.
#[derive(Default, Debug)]
pub struct ServerStats {
    pub total_connections_received: Counter,
    pub total_commands_processed: Counter,
    pub rejected_connections: Counter,
    pub net_input_bytes: Counter,
    pub net_output_bytes: Counter,
    pub total_error_replies: Counter,
    pub unexpected_error_replies: Counter,
    pub client_query_buffer_limit_disconnections: Counter,
    pub client_output_buffer_limit_disconnections: Counter,
    pub total_reads_processed: Counter,
    pub total_writes_processed: Counter,
    pub io_threaded_reads_processed: Counter,
}

/// Runtime copies of configuration values read on hot paths.
#[derive(Debug)]
pub struct Limits {
    pub client_query_buffer_limit: AtomicU64,
    pub maxclients: AtomicUsize,
    pub timeout_secs: AtomicU64,
    pub requirepass: RwLock<Option<Bytes>>,
    pub slowlog_log_slower_than: AtomicI64,
    pub slowlog_max_len: AtomicUsize,
    pub latency_monitor_threshold: AtomicU64,
    pub latency_tracking: AtomicBool,
    /// `maxmemory` while `maxmemory-policy` is `noeviction` (writes are then refused past it),
    /// else 0. Eviction policies are not enforced yet.
    pub oom_maxmemory: AtomicU64,
    /// `min-replicas-to-write` with `min-replicas-max-lag` both set: writes need that many
    /// good replicas, and this server (no replication yet) has none (Redis's
    /// checkGoodReplicasStatus), so they are refused with NOREPLICAS.
    pub min_replicas_gate: AtomicBool,
    /// `replica-read-only`, `replica-serve-stale-data` and `repl-ping-replica-period`,
    /// read by every command of a replica and by the cron without the config lock.
    pub replica_read_only: AtomicBool,
    pub replica_serve_stale_data: AtomicBool,
    pub repl_ping_period: AtomicU64,
    pub enable_debug_command: AtomicUsize,
    pub protected_mode: AtomicBool,
}

/// CLIENT PAUSE state.
#[derive(Debug, Default, Clone, Copy)]
pub struct Pause {
    /// 0 = none, 1 = WRITE, 2 = ALL.
    pub mode: u8,
    pub until_ms: i64,
}

pub struct Shared {
    pub engine: Engine,
    /// CLIENT PAUSE mode mirrored in an atomic so the per-command check is one load.
    pub pause_mode: std::sync::atomic::AtomicU8,
    pub config: RwLock<Config>,
    pub limits: Limits,
    pub clients: ClientRegistry,
    pub stats: ServerStats,
    pub cmdstats: CmdStats,
    /// `rename-command` directives (fixed at start).
    pub renames: crate::dispatch::Renames,
    pub errorstats: Mutex<HashMap<String, u64>>,
    pub slowlog: Mutex<SlowLog>,
    pub latency: Mutex<LatencyMonitor>,
    pub monitors: Mutex<Vec<(u64, mpsc::UnboundedSender<Bytes>)>>,
    pub has_monitors: AtomicBool,
    /// Pub/Sub registry (also the keyspace-event publisher).
    pub pubsub: std::sync::Arc<crate::pubsub::PubSub>,
    /// CLIENT TRACKING state.
    pub tracking: crate::tracking::Tracking,
    pub pause: Mutex<Pause>,
    pub pause_changed: Notify,
    pub shutdown: Notify,
    pub shutting_down: AtomicBool,
    /// A SIGTERM/SIGINT asked for a shutdown, which the cron carries out (SHUTDOWN ABORT
    /// cancels it first).
    pub shutdown_asap: AtomicBool,
    /// `DEBUG PAUSE-CRON`: the cron skips its work.
    pub cron_paused: AtomicBool,
    pub started: Instant,
    pub start_unix: i64,
    pub run_id: String,
    pub replid: Mutex<String>,
    pub tcp_port: AtomicUsize,
    pub executable: String,
    pub config_file: String,
    pub hz: AtomicUsize,
    pub cron_loops: AtomicU64,
    pub stat_peak_memory: AtomicU64,
    pub lastsave: AtomicI64,
    /// Successful saves since start (`rdb_saves`).
    pub rdb_saves: AtomicU64,
    /// The dirty counter as of the last save (`rdb_changes_since_last_save` counts from it).
    pub dirty_at_save: AtomicU64,
    /// Keys loaded / skipped as expired by the last RDB load.
    pub rdb_last_load_keys_loaded: AtomicU64,
    pub rdb_last_load_keys_expired: AtomicU64,
    /// BGSAVE state for INFO persistence.
    pub bgsave_in_progress: AtomicBool,
    pub bgsave_started_ms: AtomicI64,
    pub rdb_last_bgsave_ok: AtomicBool,
    pub rdb_last_bgsave_time_sec: AtomicI64,
    /// Running TCP accept tasks, replaced when CONFIG SET port/bind rebinds.
    pub tcp_listeners: Mutex<Vec<tokio::task::JoinHandle<()>>>,
    /// The listening sockets of those tasks (alive while their task runs): a rebind that
    /// collides with them shuts them down first, as Redis closes its old listeners.
    pub tcp_listener_fds: Mutex<Vec<std::os::fd::RawFd>>,
    /// Ourselves, so synchronous command handlers can spawn tasks that own an Arc.
    pub self_ref: std::sync::OnceLock<std::sync::Weak<Shared>>,
    /// Connection threads, when the server was built with `io_threads`.
    pub io_pool: std::sync::OnceLock<crate::iopool::IoPool>,
    /// Lua scripting: the Lua states, the gate and the running script's status.
    pub scripting: crate::cmd::scripting::Scripting,
    /// The replication stream to connected replicas (replication.rs).
    pub repl: std::sync::Arc<crate::replication::ReplStream>,
    /// REPLICAOF state and the link to our master (replica.rs).
    pub replica: crate::replica::ReplicaState,
}

impl Shared {
    pub fn new(config: Config) -> std::io::Result<Shared> {
        let databases = config.databases();
        let shards = config.shards();
        let engine = Engine::new(databases, shards.max(1))
            .map_err(|e| std::io::Error::new(std::io::ErrorKind::InvalidInput, e.to_string()))?;
        let cmdstats = CmdStats::new();
        let limits = Limits {
            client_query_buffer_limit: AtomicU64::new(config.client_query_buffer_limit()),
            maxclients: AtomicUsize::new(config.maxclients() as usize),
            timeout_secs: AtomicU64::new(config.timeout() as u64),
            requirepass: RwLock::new(config.requirepass().map(Bytes::from)),
            slowlog_log_slower_than: AtomicI64::new(config.slowlog_log_slower_than()),
            slowlog_max_len: AtomicUsize::new(config.slowlog_max_len() as usize),
            latency_monitor_threshold: AtomicU64::new(config.latency_monitor_threshold() as u64),
            latency_tracking: AtomicBool::new(config.get_bool("latency-tracking").unwrap_or(true)),
            oom_maxmemory: AtomicU64::new(oom_maxmemory(&config)),
            min_replicas_gate: AtomicBool::new(min_replicas_gate(&config)),
            replica_read_only: AtomicBool::new(
                config.get_bool("replica-read-only").unwrap_or(true),
            ),
            replica_serve_stale_data: AtomicBool::new(
                config.get_bool("replica-serve-stale-data").unwrap_or(true),
            ),
            repl_ping_period: AtomicU64::new(repl_ping_period(&config)),
            enable_debug_command: AtomicUsize::new(config.enable_debug_command() as usize),
            protected_mode: AtomicBool::new(config.protected_mode()),
        };
        let config_file = config
            .config_file()
            .map(|p| p.display().to_string())
            .unwrap_or_default();
        let hz = config.hz() as usize;
        let s = Shared {
            engine,
            pause_mode: std::sync::atomic::AtomicU8::new(0),
            limits,
            clients: ClientRegistry::default(),
            stats: ServerStats::default(),
            cmdstats,
            renames: crate::dispatch::Renames::from_config(&config),
            errorstats: Mutex::new(HashMap::new()),
            slowlog: Mutex::new(SlowLog::default()),
            latency: Mutex::new(LatencyMonitor::default()),
            monitors: Mutex::new(Vec::new()),
            has_monitors: AtomicBool::new(false),
            pubsub: std::sync::Arc::new(crate::pubsub::PubSub::new()),
            tracking: Default::default(),
            pause: Mutex::new(Pause::default()),
            pause_changed: Notify::new(),
            shutdown: Notify::new(),
            shutting_down: AtomicBool::new(false),
            shutdown_asap: AtomicBool::new(false),
            cron_paused: AtomicBool::new(false),
            started: Instant::now(),
            start_unix: ferrodis_commands::engine::wall_ms() / 1000,
            run_id: random_hex40(),
            replid: Mutex::new(random_hex40()),
            tcp_port: AtomicUsize::new(config.port() as usize),
            executable: std::env::current_exe()
                .map(|p| p.display().to_string())
                .unwrap_or_default(),
            config_file,
            hz: AtomicUsize::new(hz),
            cron_loops: AtomicU64::new(0),
            stat_peak_memory: AtomicU64::new(0),
            lastsave: AtomicI64::new(ferrodis_commands::engine::wall_ms() / 1000),
            rdb_saves: AtomicU64::new(0),
            dirty_at_save: AtomicU64::new(0),
            rdb_last_load_keys_loaded: AtomicU64::new(0),
            rdb_last_load_keys_expired: AtomicU64::new(0),
            bgsave_in_progress: AtomicBool::new(false),
            bgsave_started_ms: AtomicI64::new(0),
            rdb_last_bgsave_ok: AtomicBool::new(true),
            rdb_last_bgsave_time_sec: AtomicI64::new(-1),
            tcp_listeners: Mutex::new(Vec::new()),
            tcp_listener_fds: Mutex::new(Vec::new()),
            self_ref: std::sync::OnceLock::new(),
            io_pool: std::sync::OnceLock::new(),
            scripting: Default::default(),
            repl: Default::default(),
            replica: Default::default(),
            config: RwLock::new(config),
        };
        s.apply_config_to_engine();
        s.engine
            .set_event_listener(std::sync::Arc::new(crate::pubsub::KeyspaceEvents(
                s.pubsub.clone(),
            )));
        Ok(s)
    }

    /// Copy configuration values the engine consults into its atomics.
    pub fn apply_config_to_engine(&self) {
        let c = self.config.read();
        let st = &self.engine.settings;
        st.proto_max_bulk_len
            .store(c.proto_max_bulk_len(), Ordering::Relaxed);
        st.lazyfree_lazy_expire
            .store(c.lazyfree_lazy_expire(), Ordering::Relaxed);
        st.lazyfree_lazy_server_del
            .store(c.lazyfree_lazy_server_del(), Ordering::Relaxed);
        st.lazyfree_lazy_user_del
            .store(c.lazyfree_lazy_user_del(), Ordering::Relaxed);
        st.lazyfree_lazy_user_flush
            .store(c.lazyfree_lazy_user_flush(), Ordering::Relaxed);
        st.notify_keyspace_events
            .store(c.notify_keyspace_events(), Ordering::Relaxed);
        self.pubsub
            .notify_flags
            .store(c.notify_keyspace_events(), Ordering::Relaxed);
        self.tracking
            .max_keys
            .store(c.values().tracking_table_max_keys, Ordering::Relaxed);
        self.pubsub.set_limits(
            [
                crate::config::ClientClass::Normal,
                crate::config::ClientClass::Replica,
                crate::config::ClientClass::Pubsub,
            ]
            .map(|k| {
                let l = c.client_output_buffer_limit(k);
                (l.hard_bytes, l.soft_bytes, l.soft_seconds)
            }),
        );
        st.active_expire_effort
            .store(c.active_expire_effort(), Ordering::Relaxed);
        st.lfu_policy
            .store(c.maxmemory_policy_name().contains("lfu"), Ordering::Relaxed);
        st.list_max_listpack_size
            .store(i64::from(c.list_max_listpack_size()), Ordering::Relaxed);
        st.list_compress_depth.store(
            u32::try_from(c.list_compress_depth()).unwrap_or(0),
            Ordering::Relaxed,
        );
        st.hash_max_listpack_entries
            .store(c.hash_max_listpack_entries(), Ordering::Relaxed);
        st.hash_max_listpack_value
            .store(c.hash_max_listpack_value(), Ordering::Relaxed);
        st.set_max_intset_entries
            .store(c.set_max_intset_entries(), Ordering::Relaxed);
        st.zset_max_listpack_entries
            .store(c.zset_max_listpack_entries(), Ordering::Relaxed);
        st.zset_max_listpack_value
            .store(c.zset_max_listpack_value(), Ordering::Relaxed);
        st.hll_sparse_max_bytes
            .store(c.hll_sparse_max_bytes(), Ordering::Relaxed);
        st.stream_node_max_bytes
            .store(c.stream_node_max_bytes(), Ordering::Relaxed);
        st.stream_node_max_entries
            .store(c.stream_node_max_entries(), Ordering::Relaxed);
        let l = &self.limits;
        l.client_query_buffer_limit
            .store(c.client_query_buffer_limit(), Ordering::Relaxed);
        l.maxclients
            .store(c.maxclients() as usize, Ordering::Relaxed);
        l.timeout_secs.store(c.timeout() as u64, Ordering::Relaxed);
        *l.requirepass.write() = c.requirepass().map(Bytes::from);
        l.slowlog_log_slower_than
            .store(c.slowlog_log_slower_than(), Ordering::Relaxed);
        l.slowlog_max_len
            .store(c.slowlog_max_len() as usize, Ordering::Relaxed);
        l.latency_monitor_threshold
            .store(c.latency_monitor_threshold() as u64, Ordering::Relaxed);
        l.oom_maxmemory.store(oom_maxmemory(&c), Ordering::Relaxed);
        l.min_replicas_gate
            .store(min_replicas_gate(&c), Ordering::Relaxed);
        l.replica_read_only.store(
            c.get_bool("replica-read-only").unwrap_or(true),
            Ordering::Relaxed,
        );
        l.replica_serve_stale_data.store(
            c.get_bool("replica-serve-stale-data").unwrap_or(true),
            Ordering::Relaxed,
        );
        l.repl_ping_period
            .store(repl_ping_period(&c), Ordering::Relaxed);
        l.latency_tracking.store(
            c.get_bool("latency-tracking").unwrap_or(true),
            Ordering::Relaxed,
        );
        l.enable_debug_command
            .store(c.enable_debug_command() as usize, Ordering::Relaxed);
        l.protected_mode
            .store(c.protected_mode(), Ordering::Relaxed);
        self.hz.store(c.hz() as usize, Ordering::Relaxed);
        drop(c);
        self.slowlog
            .lock()
            .trim(self.limits.slowlog_max_len.load(Ordering::Relaxed));
    }

    /// The replication stream as the propagation sink (always the same Arc, so it can be
    /// detached again).
    pub fn repl_sink(&self) -> std::sync::Arc<dyn ferrodis_commands::engine::PropagationSink> {
        self.repl.clone()
    }

    pub fn uptime_secs(&self) -> u64 {
        self.started.elapsed().as_secs()
    }

    pub fn record_error(&self, err: &[u8]) {
        self.stats
            .total_error_replies
            .fetch_add(1, Ordering::Relaxed);
        // Error code = the first word (ERR, WRONGTYPE, ...).
        let code: Vec<u8> = err.iter().take_while(|c| **c != b' ').copied().collect();
        let code = String::from_utf8_lossy(&code).into_owned();
        let mut m = self.errorstats.lock();
        // Redis caps distinct error codes at 128 to bound memory.
        if m.len() >= 128 && !m.contains_key(&code) {
            return;
        }
        *m.entry(code).or_insert(0) += 1;
    }

    pub fn request_shutdown(&self) {
        self.shutting_down.store(true, Ordering::SeqCst);
        self.shutdown.notify_waiters();
        self.shutdown.notify_one();
    }
}

fn repl_ping_period(c: &Config) -> u64 {
    c.get_int("repl-ping-replica-period").unwrap_or(10).max(1) as u64
}

fn min_replicas_gate(c: &Config) -> bool {
    c.get_int("min-replicas-to-write").unwrap_or(0) > 0
        && c.get_int("min-replicas-max-lag").unwrap_or(0) > 0
}

fn oom_maxmemory(c: &Config) -> u64 {
    if c.maxmemory_policy_name() == "noeviction" {
        c.maxmemory()
    } else {
        0
    }
}

pub fn random_hex40() -> String {
    use rand::Rng;
    let mut rng = rand::thread_rng();
    (0..40)
        .map(|_| {
            let v: u8 = rng.gen_range(0..16);
            char::from_digit(v as u32, 16).unwrap_or('0')
        })
        .collect()
}
