//! The option table: every configuration option of Redis 7.0.15 (including the TLS options of
//! a TLS-enabled build such as Debian's) plus ferrodis's own `shards`, with its type, default,
//! bounds and flags, and the typed field of [`Values`] it is stored in.
//!
//! The table is data: one line per option, expanded by `config_options!` into both the
//! `Values` struct (one typed field per option) and the static `DEFS` descriptor list whose
//! getters/setters point at those fields. Options whose syntax does not fit a generic type
//! (`save`, `bind`, `client-output-buffer-limit`, ...) are `Kind::Special` and are handled in
//! `special.rs`.

// --- Option flags (Redis's IMMUTABLE_CONFIG etc.) ---
/// Can only be set at startup (config file / command line).
pub const IMMUTABLE: u32 = 1 << 0;
/// The value is redacted from logs and the slowlog when set with CONFIG SET.
pub const SENSITIVE: u32 = 1 << 1;
/// Included in debug dumps (informational only here).
pub const DEBUG: u32 = 1 << 2;
/// Takes several arguments (`save 3600 1 300 100`).
pub const MULTI_ARG: u32 = 1 << 3;
/// Not matched by CONFIG GET patterns, only by its exact name.
pub const HIDDEN: u32 = 1 << 4;
/// CONFIG SET refused unless `enable-protected-configs` allows it.
pub const PROTECTED: u32 = 1 << 5;
/// CONFIG SET refused while a dataset is loading.
pub const DENY_LOADING: u32 = 1 << 6;
/// A successful set always counts as a change (its apply step re-reads external state).
pub const VOLATILE: u32 = 1 << 9;
const MODIFIABLE: u32 = 0;

// --- Numeric flags ---
/// Plain integer.
const INTEGER: u32 = 0;
/// Accepts memory units (1k, 1kb, 1gb...) and prints as plain bytes.
pub const MEMORY: u32 = 1 << 0;
/// Accepts `N%`, stored as a negative number.
pub const PERCENT: u32 = 1 << 1;
/// Parsed and printed in octal.
pub const OCTAL: u32 = 1 << 2;

// Bounds, as the i64 bit patterns Redis keeps in its `long long` bounds fields.
const INT_MIN: i64 = i32::MIN as i64;
const INT_MAX: i64 = i32::MAX as i64;
const UINT_MAX: i64 = u32::MAX as i64;
const LONG_MAX: i64 = i64::MAX;
const LLONG_MAX: i64 = i64::MAX;
const SSIZE_MAX: i64 = i64::MAX;
/// ULLONG_MAX stored in a signed field: compared as unsigned for unsigned option types.
const ULLONG_MAX: i64 = -1;

/// The C type behind a numeric option; it decides signed vs unsigned bound checks.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum NumType {
    Int,
    UInt,
    ULong,
    LongLong,
    ULongLong,
    SizeT,
    SSizeT,
    TimeT,
    OffT,
}

impl NumType {
    /// Redis checks bounds as unsigned only for these types.
    pub(crate) fn unsigned_bounds(self) -> bool {
        matches!(self, NumType::UInt | NumType::ULongLong | NumType::SizeT)
    }
}

/// Options whose parsing/printing is bespoke.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Special {
    Dir,
    Save,
    ClientOutputBufferLimit,
    OomScoreAdjValues,
    NotifyKeyspaceEvents,
    Bind,
    ReplicaOf,
    LatencyTrackingInfoPercentiles,
}

pub(crate) type StrValidator = fn(&str, &Values) -> Result<(), String>;
pub(crate) type BoolValidator = fn(bool) -> Result<(), &'static str>;
pub(crate) type EnumValidator = fn(i32) -> Result<(), &'static str>;

pub(crate) enum Kind {
    Bool {
        default: bool,
        valid: Option<BoolValidator>,
        get: fn(&Values) -> bool,
        set: fn(&mut Values, bool),
    },
    Str {
        default: Option<&'static str>,
        /// Redis EMPTY_STRING_IS_NULL: an empty value means "unset".
        empty_is_null: bool,
        valid: Option<StrValidator>,
        get: fn(&Values) -> Option<&str>,
        set: fn(&mut Values, Option<String>),
    },
    Enum {
        names: &'static [(&'static str, i32)],
        default: i32,
        valid: Option<EnumValidator>,
        get: fn(&Values) -> i32,
        set: fn(&mut Values, i32),
    },
    Num {
        ty: NumType,
        min: i64,
        max: i64,
        default: i64,
        nflags: u32,
        get: fn(&Values) -> i64,
        set: fn(&mut Values, i64),
    },
    Special(Special),
}

pub(crate) struct Def {
    pub name: &'static str,
    pub alias: Option<&'static str>,
    pub flags: u32,
    pub kind: Kind,
}

// --- Enum name tables (order matters: it is the order of error messages and of bit-flag
// names) ---
pub(crate) static MAXMEMORY_POLICY: &[(&str, i32)] = &[
    ("volatile-lru", 0),
    ("volatile-lfu", 1),
    ("volatile-random", 2),
    ("volatile-ttl", 3),
    ("allkeys-lru", 4),
    ("allkeys-lfu", 5),
    ("allkeys-random", 6),
    ("noeviction", 7),
];
static SYSLOG_FACILITY: &[(&str, i32)] = &[
    ("user", 8),
    ("local0", 128),
    ("local1", 136),
    ("local2", 144),
    ("local3", 152),
    ("local4", 160),
    ("local5", 168),
    ("local6", 176),
    ("local7", 184),
];
pub(crate) static LOGLEVEL: &[(&str, i32)] =
    &[("debug", 0), ("verbose", 1), ("notice", 2), ("warning", 3)];
static SUPERVISED: &[(&str, i32)] = &[("upstart", 3), ("systemd", 2), ("auto", 1), ("no", 0)];
pub(crate) static AOF_FSYNC: &[(&str, i32)] = &[("everysec", 2), ("always", 1), ("no", 0)];
/// Bit flags: SAVE=1, NOSAVE=2, NOW=4, FORCE=8.
static SHUTDOWN_ON_SIG: &[(&str, i32)] = &[
    ("default", 0),
    ("save", 1),
    ("nosave", 2),
    ("now", 4),
    ("force", 8),
];
static REPL_DISKLESS_LOAD: &[(&str, i32)] = &[("disabled", 0), ("on-empty-db", 1), ("swapdb", 2)];
static TLS_AUTH_CLIENTS: &[(&str, i32)] = &[("no", 0), ("yes", 1), ("optional", 2)];
/// "yes" and "relative" are the same mode; the first name is the one printed.
static OOM_SCORE_ADJ: &[(&str, i32)] = &[("no", 0), ("yes", 1), ("relative", 1), ("absolute", 2)];
static ACL_PUBSUB_DEFAULT: &[(&str, i32)] = &[("allchannels", 8), ("resetchannels", 0)];
static SANITIZE_DUMP_PAYLOAD: &[(&str, i32)] = &[("no", 0), ("yes", 1), ("clients", 2)];
pub(crate) static PROTECTED_ACTION: &[(&str, i32)] = &[("no", 0), ("yes", 1), ("local", 2)];
static CLUSTER_ENDPOINT_TYPE: &[(&str, i32)] =
    &[("ip", 0), ("hostname", 1), ("unknown-endpoint", 2)];
static PROPAGATION_ERROR_BEHAVIOR: &[(&str, i32)] =
    &[("ignore", 0), ("panic", 1), ("panic-on-replicas", 2)];

/// One class of `client-output-buffer-limit`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ObufLimit {
    /// Disconnect as soon as the output buffer exceeds this many bytes (0 = no limit).
    pub hard_bytes: u64,
    /// Disconnect when the buffer stays above this many bytes...
    pub soft_bytes: u64,
    /// ...for this many seconds.
    pub soft_seconds: i64,
}

/// One `save <seconds> <changes>` point.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SaveParam {
    pub seconds: i64,
    pub changes: i32,
}

/// Redis's defaults for the three classes, in `normal, replica, pubsub` order.
pub(crate) const OBUF_DEFAULTS: [ObufLimit; 3] = [
    ObufLimit {
        hard_bytes: 0,
        soft_bytes: 0,
        soft_seconds: 0,
    },
    ObufLimit {
        hard_bytes: 256 * 1024 * 1024,
        soft_bytes: 64 * 1024 * 1024,
        soft_seconds: 60,
    },
    ObufLimit {
        hard_bytes: 32 * 1024 * 1024,
        soft_bytes: 8 * 1024 * 1024,
        soft_seconds: 60,
    },
];
pub(crate) const OOM_DEFAULTS: [i32; 3] = [0, 200, 800];
pub(crate) const DEFAULT_BIND: [&str; 2] = ["*", "-::*"];
pub(crate) const DEFAULT_SAVE: [SaveParam; 3] = [
    SaveParam {
        seconds: 3600,
        changes: 1,
    },
    SaveParam {
        seconds: 300,
        changes: 100,
    },
    SaveParam {
        seconds: 60,
        changes: 10000,
    },
];
pub(crate) const DEFAULT_PERCENTILES: [f64; 3] = [50.0, 99.0, 99.9];

// --- Validators (facts from Redis's is_valid functions; messages are Redis's) ---

fn no_active_defrag(v: bool) -> Result<(), &'static str> {
    // ferrodis has no allocator-level defragmentation, like a Redis built without
    // jemalloc's defrag hint (Debian's build answers the same).
    if v {
        Err(
            "Active defragmentation cannot be enabled: it requires a Redis server compiled \
             with a modified Jemalloc like the one shipped by default with the Redis source \
             distribution",
        )
    } else {
        Ok(())
    }
}

fn is_base_name(v: &str) -> bool {
    !v.contains('/') && !v.contains('\\')
}

fn valid_dbfilename(v: &str, _: &Values) -> Result<(), String> {
    if is_base_name(v) {
        Ok(())
    } else {
        Err("dbfilename can't be a path, just a filename".into())
    }
}

fn valid_appendfilename(v: &str, _: &Values) -> Result<(), String> {
    if v.is_empty() {
        Err("appendfilename can't be empty".into())
    } else if !is_base_name(v) {
        Err("appendfilename can't be a path, just a filename".into())
    } else {
        Ok(())
    }
}

fn valid_appenddirname(v: &str, _: &Values) -> Result<(), String> {
    if v.is_empty() {
        Err("appenddirname can't be empty".into())
    } else if !is_base_name(v) {
        Err("appenddirname can't be a path, just a dirname".into())
    } else {
        Ok(())
    }
}

fn valid_hostname(v: &str, _: &Values) -> Result<(), String> {
    if v.len() >= 256 {
        return Err("Hostnames must be less than 256 characters".into());
    }
    if v.bytes()
        .all(|c| c.is_ascii_alphanumeric() || c == b'-' || c == b'.')
    {
        Ok(())
    } else {
        Err("Hostnames may only contain alphanumeric characters, hyphens or dots".into())
    }
}

fn valid_shutdown_flags(v: i32) -> Result<(), &'static str> {
    if v & 1 != 0 && v & 2 != 0 {
        Err("shutdown options SAVE and NOSAVE can't be used simultaneously")
    } else {
        Ok(())
    }
}

/// Expands a proc-title template (`{title}`, `{listen-addr}`, ...; `{{` is a literal brace).
/// Returns `None` for an unknown variable or an unterminated one.
pub(crate) fn expand_proc_title(
    template: &str,
    title: &str,
    v: &Values,
    config_file: &str,
) -> Option<String> {
    let mut out = String::new();
    let mut rest = template;
    while !rest.is_empty() {
        let Some(open) = rest.find('{') else {
            out.push_str(rest);
            break;
        };
        out.push_str(&rest[..open]);
        let after = &rest[open + 1..];
        if after.is_empty() {
            return None;
        }
        if let Some(stripped) = after.strip_prefix('{') {
            out.push('{');
            rest = stripped;
            continue;
        }
        let close = after.find('}')?;
        let var = &after[..close];
        let value = match var {
            "title" => title.to_string(),
            "listen-addr" => {
                if v.port != 0 || v.tls_port != 0 {
                    let addr = v.bind.first().map_or("*", String::as_str);
                    format!("{}:{}", addr, if v.port != 0 { v.port } else { v.tls_port })
                } else {
                    format!("unixsocket:{}", v.unixsocket.as_deref().unwrap_or(""))
                }
            }
            "server-mode" => {
                if v.cluster_enabled {
                    "[cluster]".to_string()
                } else {
                    String::new()
                }
            }
            "config-file" => config_file.to_string(),
            "port" => v.port.to_string(),
            "tls-port" => v.tls_port.to_string(),
            "unixsocket" => v.unixsocket.clone().unwrap_or_default(),
            _ => return None,
        };
        out.push_str(&value);
        rest = &after[close + 1..];
    }
    Some(out.trim_matches(' ').to_string())
}

fn valid_proc_title(t: &str, v: &Values) -> Result<(), String> {
    match expand_proc_title(t, "", v, "-") {
        Some(s) if !s.is_empty() => Ok(()),
        _ => Err("template format is invalid or contains unknown variables".into()),
    }
}

macro_rules! config_options {
    (
        bools { $( $bf:ident : $bn:literal, $ba:expr, $bfl:expr, $bd:expr, $bv:expr; )* }
        strings { $( $sf:ident : $sn:literal, $sa:expr, $sfl:expr, $snull:expr, $sd:expr, $sv:expr; )* }
        enums { $( $ef:ident : $en:literal, $ea:expr, $efl:expr, $evals:expr, $ed:expr, $ev:expr; )* }
        nums { $( $nf:ident : $nt:ty, $nk:ident, $nn:literal, $na:expr, $nfl:expr,
                  $nmin:expr, $nmax:expr, $nd:expr, $nnf:expr; )* }
    ) => {
        /// Typed storage of every option. Field names are the option names in snake case.
        /// String options that Redis keeps as NULL when empty are `None` when unset; enum
        /// options hold Redis's numeric code (see the typed accessors on `Config`).
        #[derive(Clone, Debug, PartialEq)]
        pub struct Values {
            $( pub $bf: bool, )*
            $( pub $sf: Option<String>, )*
            $( pub $ef: i32, )*
            $( pub $nf: $nt, )*
            /// `dir`: absolute, canonical working directory for persistence files.
            pub dir: String,
            /// `save` points; empty means RDB snapshots are disabled.
            pub save: Vec<SaveParam>,
            /// `client-output-buffer-limit` in `normal, replica, pubsub` order.
            pub client_output_buffer_limit: [ObufLimit; 3],
            /// `oom-score-adj-values` for master, replica, background child.
            pub oom_score_adj_values: [i32; 3],
            /// `notify-keyspace-events` as NOTIFY_* bit flags.
            pub notify_keyspace_events: u32,
            /// `bind` addresses (possibly empty).
            pub bind: Vec<String>,
            /// `replicaof <host> <port>`; `None` for a master.
            pub replicaof: Option<(String, u16)>,
            /// `latency-tracking-info-percentiles`.
            pub latency_tracking_info_percentiles: Vec<f64>,
        }

        impl Values {
            pub(crate) fn with_defaults(dir: String) -> Values {
                Values {
                    $( $bf: $bd, )*
                    $( $sf: { let d: Option<&str> = $sd; d.map(str::to_string) }, )*
                    $( $ef: $ed, )*
                    $( $nf: ($nd) as $nt, )*
                    dir,
                    save: DEFAULT_SAVE.to_vec(),
                    client_output_buffer_limit: OBUF_DEFAULTS,
                    oom_score_adj_values: OOM_DEFAULTS,
                    notify_keyspace_events: 0,
                    bind: DEFAULT_BIND.iter().map(|s| s.to_string()).collect(),
                    replicaof: None,
                    latency_tracking_info_percentiles: DEFAULT_PERCENTILES.to_vec(),
                }
            }
        }

        pub(crate) static DEFS: &[Def] = &[
            $( Def { name: $bn, alias: $ba, flags: $bfl, kind: Kind::Bool {
                default: $bd, valid: $bv,
                get: |v: &Values| v.$bf, set: |v: &mut Values, x: bool| v.$bf = x,
            } }, )*
            $( Def { name: $sn, alias: $sa, flags: $sfl, kind: Kind::Str {
                default: $sd, empty_is_null: $snull, valid: $sv,
                get: |v: &Values| v.$sf.as_deref(), set: |v: &mut Values, x: Option<String>| v.$sf = x,
            } }, )*
            $( Def { name: $en, alias: $ea, flags: $efl, kind: Kind::Enum {
                names: $evals, default: $ed, valid: $ev,
                get: |v: &Values| v.$ef, set: |v: &mut Values, x: i32| v.$ef = x,
            } }, )*
            $( Def { name: $nn, alias: $na, flags: $nfl, kind: Kind::Num {
                ty: NumType::$nk, min: $nmin, max: $nmax, default: ($nd) as i64, nflags: $nnf,
                // Casts mirror Redis storing a validated `long long` into the C field type.
                get: |v: &Values| v.$nf as i64, set: |v: &mut Values, x: i64| v.$nf = x as $nt,
            } }, )*
            Def { name: "dir", alias: None, flags: MODIFIABLE | PROTECTED | DENY_LOADING, kind: Kind::Special(Special::Dir) },
            Def { name: "save", alias: None, flags: MODIFIABLE | MULTI_ARG, kind: Kind::Special(Special::Save) },
            Def { name: "client-output-buffer-limit", alias: None, flags: MODIFIABLE | MULTI_ARG, kind: Kind::Special(Special::ClientOutputBufferLimit) },
            Def { name: "oom-score-adj-values", alias: None, flags: MODIFIABLE | MULTI_ARG, kind: Kind::Special(Special::OomScoreAdjValues) },
            Def { name: "notify-keyspace-events", alias: None, flags: MODIFIABLE, kind: Kind::Special(Special::NotifyKeyspaceEvents) },
            Def { name: "bind", alias: None, flags: MODIFIABLE | MULTI_ARG, kind: Kind::Special(Special::Bind) },
            Def { name: "replicaof", alias: Some("slaveof"), flags: IMMUTABLE | MULTI_ARG, kind: Kind::Special(Special::ReplicaOf) },
            Def { name: "latency-tracking-info-percentiles", alias: None, flags: MODIFIABLE | MULTI_ARG, kind: Kind::Special(Special::LatencyTrackingInfoPercentiles) },
        ];
    };
}

const NULL: bool = true;
const ALLOW_EMPTY: bool = false;

config_options! {
    bools {
        rdbchecksum: "rdbchecksum", None, IMMUTABLE, true, None;
        daemonize: "daemonize", None, IMMUTABLE, false, None;
        io_threads_do_reads: "io-threads-do-reads", None, DEBUG | IMMUTABLE, false, None;
        always_show_logo: "always-show-logo", None, IMMUTABLE, false, None;
        protected_mode: "protected-mode", None, MODIFIABLE, true, None;
        rdbcompression: "rdbcompression", None, MODIFIABLE, true, None;
        rdb_del_sync_files: "rdb-del-sync-files", None, MODIFIABLE, false, None;
        activerehashing: "activerehashing", None, MODIFIABLE, true, None;
        stop_writes_on_bgsave_error: "stop-writes-on-bgsave-error", None, MODIFIABLE, true, None;
        set_proc_title: "set-proc-title", None, IMMUTABLE, true, None;
        dynamic_hz: "dynamic-hz", None, MODIFIABLE, true, None;
        lazyfree_lazy_eviction: "lazyfree-lazy-eviction", None, DEBUG, false, None;
        lazyfree_lazy_expire: "lazyfree-lazy-expire", None, DEBUG, false, None;
        lazyfree_lazy_server_del: "lazyfree-lazy-server-del", None, DEBUG, false, None;
        lazyfree_lazy_user_del: "lazyfree-lazy-user-del", None, DEBUG, false, None;
        lazyfree_lazy_user_flush: "lazyfree-lazy-user-flush", None, DEBUG, false, None;
        repl_disable_tcp_nodelay: "repl-disable-tcp-nodelay", None, MODIFIABLE, false, None;
        repl_diskless_sync: "repl-diskless-sync", None, DEBUG, true, None;
        aof_rewrite_incremental_fsync: "aof-rewrite-incremental-fsync", None, MODIFIABLE, true, None;
        no_appendfsync_on_rewrite: "no-appendfsync-on-rewrite", None, MODIFIABLE, false, None;
        cluster_require_full_coverage: "cluster-require-full-coverage", None, MODIFIABLE, true, None;
        rdb_save_incremental_fsync: "rdb-save-incremental-fsync", None, MODIFIABLE, true, None;
        aof_load_truncated: "aof-load-truncated", None, MODIFIABLE, true, None;
        aof_use_rdb_preamble: "aof-use-rdb-preamble", None, MODIFIABLE, true, None;
        aof_timestamp_enabled: "aof-timestamp-enabled", None, MODIFIABLE, false, None;
        cluster_replica_no_failover: "cluster-replica-no-failover", Some("cluster-slave-no-failover"), MODIFIABLE, false, None;
        replica_lazy_flush: "replica-lazy-flush", Some("slave-lazy-flush"), MODIFIABLE, false, None;
        replica_serve_stale_data: "replica-serve-stale-data", Some("slave-serve-stale-data"), MODIFIABLE, true, None;
        replica_read_only: "replica-read-only", Some("slave-read-only"), DEBUG, true, None;
        replica_ignore_maxmemory: "replica-ignore-maxmemory", Some("slave-ignore-maxmemory"), MODIFIABLE, true, None;
        jemalloc_bg_thread: "jemalloc-bg-thread", None, MODIFIABLE, true, None;
        activedefrag: "activedefrag", None, DEBUG, false, Some(no_active_defrag);
        syslog_enabled: "syslog-enabled", None, IMMUTABLE, false, None;
        cluster_enabled: "cluster-enabled", None, IMMUTABLE, false, None;
        appendonly: "appendonly", None, DENY_LOADING, false, None;
        cluster_allow_reads_when_down: "cluster-allow-reads-when-down", None, MODIFIABLE, false, None;
        cluster_allow_pubsubshard_when_down: "cluster-allow-pubsubshard-when-down", None, MODIFIABLE, true, None;
        crash_log_enabled: "crash-log-enabled", None, MODIFIABLE, true, None;
        crash_memcheck_enabled: "crash-memcheck-enabled", None, MODIFIABLE, true, None;
        use_exit_on_panic: "use-exit-on-panic", None, HIDDEN, false, None;
        disable_thp: "disable-thp", None, IMMUTABLE, true, None;
        cluster_allow_replica_migration: "cluster-allow-replica-migration", None, MODIFIABLE, true, None;
        replica_announced: "replica-announced", None, MODIFIABLE, true, None;
        latency_tracking: "latency-tracking", None, MODIFIABLE, true, None;
        aof_disable_auto_gc: "aof-disable-auto-gc", None, MODIFIABLE, false, None;
        replica_ignore_disk_write_errors: "replica-ignore-disk-write-errors", None, MODIFIABLE, false, None;
        tls_cluster: "tls-cluster", None, MODIFIABLE, false, None;
        tls_replication: "tls-replication", None, MODIFIABLE, false, None;
        tls_prefer_server_ciphers: "tls-prefer-server-ciphers", None, MODIFIABLE, false, None;
        tls_session_caching: "tls-session-caching", None, MODIFIABLE, true, None;
    }
    strings {
        aclfile: "aclfile", None, IMMUTABLE, ALLOW_EMPTY, Some(""), None;
        unixsocket: "unixsocket", None, IMMUTABLE, NULL, None, None;
        pidfile: "pidfile", None, IMMUTABLE, NULL, None, None;
        replica_announce_ip: "replica-announce-ip", Some("slave-announce-ip"), MODIFIABLE, NULL, None, None;
        masteruser: "masteruser", None, SENSITIVE, NULL, None, None;
        cluster_announce_ip: "cluster-announce-ip", None, MODIFIABLE, NULL, None, None;
        cluster_config_file: "cluster-config-file", None, IMMUTABLE, ALLOW_EMPTY, Some("nodes.conf"), None;
        cluster_announce_hostname: "cluster-announce-hostname", None, MODIFIABLE, NULL, None, Some(valid_hostname);
        syslog_ident: "syslog-ident", None, IMMUTABLE, ALLOW_EMPTY, Some("redis"), None;
        dbfilename: "dbfilename", None, PROTECTED, ALLOW_EMPTY, Some("dump.rdb"), Some(valid_dbfilename);
        appendfilename: "appendfilename", None, IMMUTABLE, ALLOW_EMPTY, Some("appendonly.aof"), Some(valid_appendfilename);
        appenddirname: "appenddirname", None, IMMUTABLE, ALLOW_EMPTY, Some("appendonlydir"), Some(valid_appenddirname);
        server_cpulist: "server_cpulist", None, IMMUTABLE, NULL, None, None;
        bio_cpulist: "bio_cpulist", None, IMMUTABLE, NULL, None, None;
        aof_rewrite_cpulist: "aof_rewrite_cpulist", None, IMMUTABLE, NULL, None, None;
        bgsave_cpulist: "bgsave_cpulist", None, IMMUTABLE, NULL, None, None;
        ignore_warnings: "ignore-warnings", None, MODIFIABLE, ALLOW_EMPTY, Some(""), None;
        proc_title_template: "proc-title-template", None, MODIFIABLE, ALLOW_EMPTY, Some("{title} {listen-addr} {server-mode}"), Some(valid_proc_title);
        bind_source_addr: "bind-source-addr", None, MODIFIABLE, NULL, None, None;
        logfile: "logfile", None, IMMUTABLE, ALLOW_EMPTY, Some(""), None;
        masterauth: "masterauth", None, SENSITIVE, NULL, None, None;
        requirepass: "requirepass", None, SENSITIVE, NULL, None, None;
        tls_cert_file: "tls-cert-file", None, VOLATILE, NULL, None, None;
        tls_key_file: "tls-key-file", None, VOLATILE, NULL, None, None;
        tls_key_file_pass: "tls-key-file-pass", None, MODIFIABLE, NULL, None, None;
        tls_client_cert_file: "tls-client-cert-file", None, VOLATILE, NULL, None, None;
        tls_client_key_file: "tls-client-key-file", None, VOLATILE, NULL, None, None;
        tls_client_key_file_pass: "tls-client-key-file-pass", None, MODIFIABLE, NULL, None, None;
        tls_dh_params_file: "tls-dh-params-file", None, VOLATILE, NULL, None, None;
        tls_ca_cert_file: "tls-ca-cert-file", None, VOLATILE, NULL, None, None;
        tls_ca_cert_dir: "tls-ca-cert-dir", None, VOLATILE, NULL, None, None;
        tls_protocols: "tls-protocols", None, MODIFIABLE, NULL, None, None;
        tls_ciphers: "tls-ciphers", None, MODIFIABLE, NULL, None, None;
        tls_ciphersuites: "tls-ciphersuites", None, MODIFIABLE, NULL, None, None;
    }
    enums {
        supervised: "supervised", None, IMMUTABLE, SUPERVISED, 0, None;
        syslog_facility: "syslog-facility", None, IMMUTABLE, SYSLOG_FACILITY, 128, None;
        repl_diskless_load: "repl-diskless-load", None, DEBUG | DENY_LOADING, REPL_DISKLESS_LOAD, 0, None;
        loglevel: "loglevel", None, MODIFIABLE, LOGLEVEL, 2, None;
        maxmemory_policy: "maxmemory-policy", None, MODIFIABLE, MAXMEMORY_POLICY, 7, None;
        appendfsync: "appendfsync", None, MODIFIABLE, AOF_FSYNC, 2, None;
        oom_score_adj: "oom-score-adj", None, MODIFIABLE, OOM_SCORE_ADJ, 0, None;
        acl_pubsub_default: "acl-pubsub-default", None, MODIFIABLE, ACL_PUBSUB_DEFAULT, 0, None;
        sanitize_dump_payload: "sanitize-dump-payload", None, DEBUG, SANITIZE_DUMP_PAYLOAD, 0, None;
        enable_protected_configs: "enable-protected-configs", None, IMMUTABLE, PROTECTED_ACTION, 0, None;
        enable_debug_command: "enable-debug-command", None, IMMUTABLE, PROTECTED_ACTION, 0, None;
        enable_module_command: "enable-module-command", None, IMMUTABLE, PROTECTED_ACTION, 0, None;
        cluster_preferred_endpoint_type: "cluster-preferred-endpoint-type", None, MODIFIABLE, CLUSTER_ENDPOINT_TYPE, 0, None;
        propagation_error_behavior: "propagation-error-behavior", None, MODIFIABLE, PROPAGATION_ERROR_BEHAVIOR, 0, None;
        shutdown_on_sigint: "shutdown-on-sigint", None, MULTI_ARG, SHUTDOWN_ON_SIG, 0, Some(valid_shutdown_flags);
        shutdown_on_sigterm: "shutdown-on-sigterm", None, MULTI_ARG, SHUTDOWN_ON_SIG, 0, Some(valid_shutdown_flags);
        tls_auth_clients: "tls-auth-clients", None, MODIFIABLE, TLS_AUTH_CLIENTS, 1, None;
    }
    nums {
        databases: i32, Int, "databases", None, IMMUTABLE, 1, INT_MAX, 16, INTEGER;
        port: i32, Int, "port", None, MODIFIABLE, 0, 65535, 6379, INTEGER;
        io_threads: i32, Int, "io-threads", None, DEBUG | IMMUTABLE, 1, 128, 1, INTEGER;
        auto_aof_rewrite_percentage: i32, Int, "auto-aof-rewrite-percentage", None, MODIFIABLE, 0, INT_MAX, 100, INTEGER;
        cluster_replica_validity_factor: i32, Int, "cluster-replica-validity-factor", Some("cluster-slave-validity-factor"), MODIFIABLE, 0, INT_MAX, 10, INTEGER;
        list_max_listpack_size: i32, Int, "list-max-listpack-size", Some("list-max-ziplist-size"), MODIFIABLE, INT_MIN, INT_MAX, -2, INTEGER;
        tcp_keepalive: i32, Int, "tcp-keepalive", None, MODIFIABLE, 0, INT_MAX, 300, INTEGER;
        cluster_migration_barrier: i32, Int, "cluster-migration-barrier", None, MODIFIABLE, 0, INT_MAX, 1, INTEGER;
        active_defrag_cycle_min: i32, Int, "active-defrag-cycle-min", None, MODIFIABLE, 1, 99, 1, INTEGER;
        active_defrag_cycle_max: i32, Int, "active-defrag-cycle-max", None, MODIFIABLE, 1, 99, 25, INTEGER;
        active_defrag_threshold_lower: i32, Int, "active-defrag-threshold-lower", None, MODIFIABLE, 0, 1000, 10, INTEGER;
        active_defrag_threshold_upper: i32, Int, "active-defrag-threshold-upper", None, MODIFIABLE, 0, 1000, 100, INTEGER;
        lfu_log_factor: i32, Int, "lfu-log-factor", None, MODIFIABLE, 0, INT_MAX, 10, INTEGER;
        lfu_decay_time: i32, Int, "lfu-decay-time", None, MODIFIABLE, 0, INT_MAX, 1, INTEGER;
        replica_priority: i32, Int, "replica-priority", Some("slave-priority"), MODIFIABLE, 0, INT_MAX, 100, INTEGER;
        repl_diskless_sync_delay: i32, Int, "repl-diskless-sync-delay", None, MODIFIABLE, 0, INT_MAX, 5, INTEGER;
        maxmemory_samples: i32, Int, "maxmemory-samples", None, MODIFIABLE, 1, INT_MAX, 5, INTEGER;
        maxmemory_eviction_tenacity: i32, Int, "maxmemory-eviction-tenacity", None, MODIFIABLE, 0, 100, 10, INTEGER;
        timeout: i32, Int, "timeout", None, MODIFIABLE, 0, INT_MAX, 0, INTEGER;
        replica_announce_port: i32, Int, "replica-announce-port", Some("slave-announce-port"), MODIFIABLE, 0, 65535, 0, INTEGER;
        tcp_backlog: i32, Int, "tcp-backlog", None, IMMUTABLE, 0, INT_MAX, 511, INTEGER;
        cluster_port: i32, Int, "cluster-port", None, IMMUTABLE, 0, 65535, 0, INTEGER;
        cluster_announce_bus_port: i32, Int, "cluster-announce-bus-port", None, MODIFIABLE, 0, 65535, 0, INTEGER;
        cluster_announce_port: i32, Int, "cluster-announce-port", None, MODIFIABLE, 0, 65535, 0, INTEGER;
        cluster_announce_tls_port: i32, Int, "cluster-announce-tls-port", None, MODIFIABLE, 0, 65535, 0, INTEGER;
        repl_timeout: i32, Int, "repl-timeout", None, MODIFIABLE, 1, INT_MAX, 60, INTEGER;
        repl_ping_replica_period: i32, Int, "repl-ping-replica-period", Some("repl-ping-slave-period"), MODIFIABLE, 1, INT_MAX, 10, INTEGER;
        list_compress_depth: i32, Int, "list-compress-depth", None, DEBUG, 0, INT_MAX, 0, INTEGER;
        rdb_key_save_delay: i32, Int, "rdb-key-save-delay", None, HIDDEN, INT_MIN, INT_MAX, 0, INTEGER;
        key_load_delay: i32, Int, "key-load-delay", None, HIDDEN, INT_MIN, INT_MAX, 0, INTEGER;
        active_expire_effort: i32, Int, "active-expire-effort", None, MODIFIABLE, 1, 10, 1, INTEGER;
        hz: i32, Int, "hz", None, MODIFIABLE, 0, INT_MAX, 10, INTEGER;
        min_replicas_to_write: i32, Int, "min-replicas-to-write", Some("min-slaves-to-write"), MODIFIABLE, 0, INT_MAX, 0, INTEGER;
        min_replicas_max_lag: i32, Int, "min-replicas-max-lag", Some("min-slaves-max-lag"), MODIFIABLE, 0, INT_MAX, 10, INTEGER;
        watchdog_period: i32, Int, "watchdog-period", None, HIDDEN, 0, INT_MAX, 0, INTEGER;
        shutdown_timeout: i32, Int, "shutdown-timeout", None, MODIFIABLE, 0, INT_MAX, 10, INTEGER;
        repl_diskless_sync_max_replicas: i32, Int, "repl-diskless-sync-max-replicas", None, MODIFIABLE, 0, INT_MAX, 0, INTEGER;
        tls_port: i32, Int, "tls-port", None, MODIFIABLE, 0, 65535, 0, INTEGER;
        tls_session_cache_size: i32, Int, "tls-session-cache-size", None, MODIFIABLE, 0, INT_MAX, 20480, INTEGER;
        tls_session_cache_timeout: i32, Int, "tls-session-cache-timeout", None, MODIFIABLE, 0, INT_MAX, 300, INTEGER;
        // ferrodis only: number of keyspace shards (locks) per database; 1 reproduces
        // Redis's single-threaded semantics exactly. Fixed at startup.
        shards: i32, Int, "shards", None, IMMUTABLE, 1, 1024, 16, INTEGER;

        maxclients: u32, UInt, "maxclients", None, MODIFIABLE, 1, UINT_MAX, 10000, INTEGER;
        unixsocketperm: u32, UInt, "unixsocketperm", None, IMMUTABLE, 0, 0o777, 0, OCTAL;
        socket_mark_id: u32, UInt, "socket-mark-id", None, IMMUTABLE, 0, UINT_MAX, 0, INTEGER;

        active_defrag_max_scan_fields: u64, ULong, "active-defrag-max-scan-fields", None, MODIFIABLE, 1, LONG_MAX, 1000, INTEGER;
        slowlog_max_len: u64, ULong, "slowlog-max-len", None, MODIFIABLE, 0, LONG_MAX, 128, INTEGER;
        acllog_max_len: u64, ULong, "acllog-max-len", None, MODIFIABLE, 0, LONG_MAX, 128, INTEGER;

        busy_reply_threshold: i64, LongLong, "busy-reply-threshold", Some("lua-time-limit"), MODIFIABLE, 0, LONG_MAX, 5000, INTEGER;
        cluster_node_timeout: i64, LongLong, "cluster-node-timeout", None, MODIFIABLE, 0, LLONG_MAX, 15000, INTEGER;
        slowlog_log_slower_than: i64, LongLong, "slowlog-log-slower-than", None, MODIFIABLE, -1, LLONG_MAX, 10000, INTEGER;
        latency_monitor_threshold: i64, LongLong, "latency-monitor-threshold", None, MODIFIABLE, 0, LLONG_MAX, 0, INTEGER;
        proto_max_bulk_len: i64, LongLong, "proto-max-bulk-len", None, DEBUG, 1024 * 1024, LONG_MAX, 536_870_912_i64, MEMORY;
        stream_node_max_entries: i64, LongLong, "stream-node-max-entries", None, MODIFIABLE, 0, LLONG_MAX, 100, INTEGER;
        repl_backlog_size: i64, LongLong, "repl-backlog-size", None, MODIFIABLE, 1, LLONG_MAX, 1_048_576_i64, MEMORY;

        maxmemory: u64, ULongLong, "maxmemory", None, MODIFIABLE, 0, ULLONG_MAX, 0, MEMORY;
        cluster_link_sendbuf_limit: u64, ULongLong, "cluster-link-sendbuf-limit", None, MODIFIABLE, 0, ULLONG_MAX, 0, MEMORY;

        hash_max_listpack_entries: u64, SizeT, "hash-max-listpack-entries", Some("hash-max-ziplist-entries"), MODIFIABLE, 0, LONG_MAX, 512, INTEGER;
        set_max_intset_entries: u64, SizeT, "set-max-intset-entries", None, MODIFIABLE, 0, LONG_MAX, 512, INTEGER;
        zset_max_listpack_entries: u64, SizeT, "zset-max-listpack-entries", Some("zset-max-ziplist-entries"), MODIFIABLE, 0, LONG_MAX, 128, INTEGER;
        active_defrag_ignore_bytes: u64, SizeT, "active-defrag-ignore-bytes", None, MODIFIABLE, 1, LLONG_MAX, 104_857_600_i64, MEMORY;
        hash_max_listpack_value: u64, SizeT, "hash-max-listpack-value", Some("hash-max-ziplist-value"), MODIFIABLE, 0, LONG_MAX, 64, MEMORY;
        stream_node_max_bytes: u64, SizeT, "stream-node-max-bytes", None, MODIFIABLE, 0, LONG_MAX, 4096, MEMORY;
        zset_max_listpack_value: u64, SizeT, "zset-max-listpack-value", Some("zset-max-ziplist-value"), MODIFIABLE, 0, LONG_MAX, 64, MEMORY;
        hll_sparse_max_bytes: u64, SizeT, "hll-sparse-max-bytes", None, MODIFIABLE, 0, LONG_MAX, 3000, MEMORY;
        tracking_table_max_keys: u64, SizeT, "tracking-table-max-keys", None, MODIFIABLE, 0, LONG_MAX, 1_000_000_i64, INTEGER;
        client_query_buffer_limit: u64, SizeT, "client-query-buffer-limit", None, DEBUG, 1024 * 1024, LONG_MAX, 1_073_741_824_i64, MEMORY;
        maxmemory_clients: i64, SSizeT, "maxmemory-clients", None, MODIFIABLE, -100, SSIZE_MAX, 0, MEMORY | PERCENT;

        repl_backlog_ttl: i64, TimeT, "repl-backlog-ttl", None, MODIFIABLE, 0, LONG_MAX, 3600, INTEGER;
        auto_aof_rewrite_min_size: i64, OffT, "auto-aof-rewrite-min-size", None, MODIFIABLE, 0, LLONG_MAX, 67_108_864_i64, MEMORY;
        loading_process_events_interval_bytes: i64, OffT, "loading-process-events-interval-bytes", None, HIDDEN, 1024, INT_MAX, 2_097_152_i64, INTEGER;
    }
}
