//! `cargo xtask bench`: redis-benchmark against our server and Debian's redis-server, started
//! with the same flags on distinct ports, run in alternation (ours, Redis, ours, Redis...) so that
//! the shared machine's drift hits both alike. Reports medians and ratios ours/Redis of
//! throughput, p50 latency, and server CPU seconds per million requests (from /proc/<pid>/stat),
//! then memory per element for each of [`MEMORY_CASES`] (string keys from `DEBUG POPULATE`, big
//! and small collections) on fresh instances; writes docs/BENCHMARKS.md.
//!
//! To benchmark more commands, add rows to [`TESTS`] (redis-benchmark `-t` names, or command
//! lines of our own with their setup); to add a client shape, add a row to [`WORKLOADS`].

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

use crate::error::{Error, Result};
use crate::paths;
use crate::proc;
use crate::resp;
use crate::server::Server;
use crate::suite;

/// One benchmarked command: a redis-benchmark `-t` test, or a command line of our own.
pub struct BenchTest {
    pub name: &'static str,
    /// The command line given to redis-benchmark after its options (`__rand_int__` is replaced
    /// by a random number below `random`); empty: redis-benchmark's built-in `-t name` test.
    pub command: &'static [&'static str],
    /// redis-benchmark `-r` (keyspace of `__rand_int__`), 0 for none.
    pub random: u64,
    /// Prepares the data the command reads, once per server before the first round (tests
    /// sharing a setup share its name, and it runs once).
    pub setup: Option<Setup>,
    /// Connections subscribed to `chan` during each run (PUBLISH tests).
    pub subscribers: usize,
    /// A unit of several commands run by our own load generator ([`crate::loadgen`]) instead of
    /// redis-benchmark; throughput then counts units.
    pub unit: Option<fn() -> Vec<Vec<String>>>,
}

const fn builtin(name: &'static str) -> BenchTest {
    BenchTest {
        name,
        command: &[],
        random: 0,
        setup: None,
        subscribers: 0,
        unit: None,
    }
}

const fn custom(
    name: &'static str,
    command: &'static [&'static str],
    random: u64,
    setup: Option<Setup>,
) -> BenchTest {
    BenchTest {
        name,
        command,
        random,
        setup,
        subscribers: 0,
        unit: None,
    }
}

/// PUBLISH of a 64-byte payload to `subscribers` connections subscribed to `chan`.
const fn publish(name: &'static str, subscribers: usize) -> BenchTest {
    BenchTest {
        name,
        command: &["PUBLISH", "chan", PAYLOAD_64],
        random: 0,
        setup: None,
        subscribers,
        unit: None,
    }
}

const PAYLOAD_64: &str = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";

/// A script that writes and reads one key; its SHA1 is what SCRIPT LOAD returns (checked by the
/// setup), so the command line can name it.
const SCRIPT: &str = "redis.call('SET', KEYS[1], ARGV[1]) return redis.call('GET', KEYS[1])";
const SCRIPT_SHA: &str = "2b20e84ba26251fc86a627f03be6dd614b31bac8";

fn setup_script(conn: &mut resp::Conn) -> Result<()> {
    let sha = conn.call_text(&["SCRIPT", "LOAD", SCRIPT])?;
    if sha != SCRIPT_SHA {
        return Err(Error::Failed(format!(
            "SCRIPT LOAD returned {sha}, expected {SCRIPT_SHA}"
        )));
    }
    Ok(())
}

/// MULTI, ten SETs, EXEC.
fn multi_exec_unit() -> Vec<Vec<String>> {
    let mut cmds = vec![vec!["MULTI".to_string()]];
    for i in 0..10 {
        cmds.push(vec![
            "SET".to_string(),
            format!("tx:key:{i}"),
            "value".to_string(),
        ]);
    }
    cmds.push(vec!["EXEC".to_string()]);
    cmds
}

/// Tests run in every workload, in this order (LPOP/RPOP pop what the pushes before them left,
/// SPOP what SADD added, ZPOPMIN what ZADD added, XREADGROUP reads what XADD added).
pub const TESTS: &[BenchTest] = &[
    builtin("set"),
    builtin("get"),
    builtin("incr"),
    builtin("mset"),
    builtin("lpush"),
    builtin("rpush"),
    builtin("lpop"),
    builtin("rpop"),
    builtin("sadd"),
    builtin("hset"),
    builtin("spop"),
    builtin("zadd"),
    builtin("zpopmin"),
    builtin("lrange_100"),
    builtin("lrange_600"),
    // SETBIT into 100k small bitmaps (redis-benchmark zero-pads `__rand_int__`, which an offset
    // refuses, so the randomness goes in the key); BITCOUNT over a whole 1M-bit (125 KB) one.
    custom(
        "setbit",
        &["SETBIT", "bits:__rand_int__", "1000", "1"],
        100_000,
        None,
    ),
    custom("bitcount", &["BITCOUNT", "bitmap"], 0, BITMAP),
    // One HyperLogLog (dense after the first few thousand adds).
    custom("pfadd", &["PFADD", "hll", "__rand_int__"], 1_000_000, HLL),
    custom("pfcount", &["PFCOUNT", "hll"], 0, HLL),
    // A sorted set of 100k points spread over a 1x1 degree box; new members go to its centre.
    custom(
        "geoadd",
        &["GEOADD", "geo", "13.5", "38.5", "member:__rand_int__"],
        100_000,
        GEO,
    ),
    custom(
        "geosearch",
        &[
            "GEOSEARCH",
            "geo",
            "FROMLONLAT",
            "13.3",
            "38.3",
            "BYRADIUS",
            "5",
            "km",
            "ASC",
            "COUNT",
            "10",
        ],
        0,
        GEO,
    ),
    // One stream: XADD appends, XRANGE reads 10 from the start, XREADGROUP consumes what XADD
    // added (one entry per call), XACK acknowledges random IDs of a 100k-entry pending list.
    custom(
        "xadd",
        &["XADD", "stream", "*", "field", "value"],
        0,
        STREAM,
    ),
    custom(
        "xrange",
        &["XRANGE", "stream", "-", "+", "COUNT", "10"],
        0,
        STREAM,
    ),
    custom(
        "xreadgroup",
        &[
            "XREADGROUP",
            "GROUP",
            "g",
            "c",
            "COUNT",
            "1",
            "STREAMS",
            "stream",
            ">",
        ],
        0,
        STREAM,
    ),
    custom(
        "xack",
        &["XACK", "pel", "g", "__rand_int__-0"],
        PEL_ENTRIES,
        STREAM,
    ),
    publish("publish_1", 1),
    publish("publish_100", 100),
    custom(
        "evalsha",
        &["EVALSHA", SCRIPT_SHA, "1", "key:__rand_int__", "value"],
        100_000,
        setup("script", setup_script),
    ),
    BenchTest {
        name: "multi_exec_10",
        command: &[],
        random: 0,
        setup: None,
        subscribers: 0,
        unit: Some(multi_exec_unit),
    },
];

/// A named preparation step of [`BenchTest`].
#[derive(Clone, Copy)]
pub struct Setup {
    pub name: &'static str,
    pub run: fn(&mut resp::Conn) -> Result<()>,
}

const fn setup(name: &'static str, run: fn(&mut resp::Conn) -> Result<()>) -> Option<Setup> {
    Some(Setup { name, run })
}

const BITMAP: Option<Setup> = setup("bitmap", setup_bitmap);
const HLL: Option<Setup> = setup("hll", setup_hll);
const GEO: Option<Setup> = setup("geo", setup_geo);
const STREAM: Option<Setup> = setup("stream", setup_stream);

/// The bitmap at its full 1M bits.
fn setup_bitmap(conn: &mut resp::Conn) -> Result<()> {
    conn.pipeline(std::iter::once(
        ["SETBIT", "bitmap", "999999", "1"]
            .map(String::from)
            .to_vec(),
    ))
}

/// An HLL of 10k elements (dense).
fn setup_hll(conn: &mut resp::Conn) -> Result<()> {
    conn.pipeline((0..100u64).map(|b| {
        let mut args = vec!["PFADD".to_string(), "hll".to_string()];
        args.extend((0..100u64).map(|i| format!("seed:{}", b * 100 + i)));
        args
    }))
}

/// Entries of the `pel` stream, all pending in group `g` for XACK.
const PEL_ENTRIES: u64 = 100_000;

/// 100k members on a 1000x100 grid over longitude 13..14, latitude 38..39.
fn setup_geo(conn: &mut resp::Conn) -> Result<()> {
    conn.pipeline((0..100u64).map(|row| {
        let mut args = vec!["GEOADD".to_string(), "geo".to_string()];
        for col in 0..1000u64 {
            args.push(format!("{:.6}", 13.0 + col as f64 / 1000.0));
            args.push(format!("{:.6}", 38.0 + row as f64 / 100.0));
            args.push(format!("point:{row}:{col}"));
        }
        args
    }))
}

/// 1000 entries in `stream` (for XRANGE), the group XREADGROUP reads it with (from its end), and the `pel` stream whose entries (IDs
/// `1-0`..`100000-0`) are all delivered and pending for XACK.
fn setup_stream(conn: &mut resp::Conn) -> Result<()> {
    conn.pipeline((0..1000).map(|_| {
        ["XADD", "stream", "*", "field", "value"]
            .map(String::from)
            .to_vec()
    }))?;
    conn.call_text(&["XGROUP", "CREATE", "stream", "g", "$"])?;
    conn.pipeline((1..=PEL_ENTRIES).map(|i| {
        vec![
            "XADD".to_string(),
            "pel".to_string(),
            format!("{i}-0"),
            "field".to_string(),
            "value".to_string(),
        ]
    }))?;
    conn.call_text(&["XGROUP", "CREATE", "pel", "g", "0"])?;
    conn.call(&["XREADGROUP", "GROUP", "g", "c", "STREAMS", "pel", ">"])
        .map(|_| ())
}

/// A client shape: extra redis-benchmark flags and how many requests make one run.
pub struct Workload {
    pub name: &'static str,
    pub args: &'static [&'static str],
    pub requests: u64,
}

/// Client shapes: many connections unpipelined, pipelined, and one connection (latency).
pub const WORKLOADS: &[Workload] = &[
    Workload {
        name: "50 clients",
        args: &["-c", "50"],
        requests: 200_000,
    },
    Workload {
        name: "50 clients, pipeline 16",
        args: &["-c", "50", "-P", "16"],
        requests: 1_000_000,
    },
    Workload {
        name: "1 client (latency)",
        args: &["-c", "1"],
        requests: 50_000,
    },
];

/// Flags both servers get (plus `--port` and `--dir`).
pub const SERVER_ARGS: &[&str] = &[
    "--save",
    "",
    "--appendonly",
    "no",
    "--enable-debug-command",
    "yes",
];

/// Keys created by `DEBUG POPULATE` for the memory measurement.
pub const POPULATE_KEYS: u64 = 1_000_000;

/// One memory measurement: a fresh server of each kind, filled the same way, then
/// `used_memory` and RSS growth per element.
pub struct MemoryCase {
    pub name: &'static str,
    /// What "per element" means in the report.
    pub unit: &'static str,
    pub elements: u64,
    fill: fn(&mut resp::Conn, u64) -> Result<()>,
}

fn fill_populate(conn: &mut resp::Conn, n: u64) -> Result<()> {
    conn.call_text(&["DEBUG", "POPULATE", &n.to_string()])
        .map(|_| ())
}

/// One key holding `n` fields/members, added `per_cmd` at a time by `cmd`.
fn fill_big(
    conn: &mut resp::Conn,
    n: u64,
    cmd: &str,
    key: &str,
    per_cmd: u64,
    pair: fn(u64) -> [String; 2],
    pairs: bool,
) -> Result<()> {
    let cmds = (0..n.div_ceil(per_cmd)).map(|c| {
        let mut args = vec![cmd.to_string(), key.to_string()];
        for i in c * per_cmd..((c + 1) * per_cmd).min(n) {
            let [a, b] = pair(i);
            args.push(a);
            if pairs {
                args.push(b);
            }
        }
        args
    });
    conn.pipeline(cmds)
}

fn fill_hash(conn: &mut resp::Conn, n: u64) -> Result<()> {
    fill_big(
        conn,
        n,
        "HSET",
        "bighash",
        100,
        |i| [format!("field:{i}"), format!("value:{i}")],
        true,
    )
}

fn fill_set(conn: &mut resp::Conn, n: u64) -> Result<()> {
    fill_big(
        conn,
        n,
        "SADD",
        "bigset",
        100,
        |i| [format!("member:{i}"), String::new()],
        false,
    )
}

fn fill_zset(conn: &mut resp::Conn, n: u64) -> Result<()> {
    fill_big(
        conn,
        n,
        "ZADD",
        "bigzset",
        100,
        |i| [i.to_string(), format!("member:{i}")],
        true,
    )
}

fn fill_small_hashes(conn: &mut resp::Conn, n: u64) -> Result<()> {
    conn.pipeline((0..n).map(|i| {
        let mut args = vec!["HSET".to_string(), format!("user:{i}")];
        for f in 0..10 {
            args.push(format!("f{f}"));
            args.push(format!("value-{i}-{f}"));
        }
        args
    }))
}

fn fill_stream(conn: &mut resp::Conn, n: u64) -> Result<()> {
    conn.pipeline((0..n).map(|i| {
        vec![
            "XADD".to_string(),
            "bigstream".to_string(),
            "*".to_string(),
            "sensor".to_string(),
            (i % 1000).to_string(),
            "reading".to_string(),
            format!("{}.{}", i % 97, i % 10),
        ]
    }))
}

/// The memory cases, in report order.
pub const MEMORY_CASES: &[MemoryCase] = &[
    MemoryCase {
        name: "1M string keys (DEBUG POPULATE)",
        unit: "key",
        elements: POPULATE_KEYS,
        fill: fill_populate,
    },
    MemoryCase {
        name: "1 hash of 1M fields",
        unit: "field",
        elements: 1_000_000,
        fill: fill_hash,
    },
    MemoryCase {
        name: "1 set of 1M members",
        unit: "member",
        elements: 1_000_000,
        fill: fill_set,
    },
    MemoryCase {
        name: "1 sorted set of 1M members",
        unit: "member",
        elements: 1_000_000,
        fill: fill_zset,
    },
    MemoryCase {
        name: "1 stream of 1M entries",
        unit: "entry",
        elements: 1_000_000,
        fill: fill_stream,
    },
    MemoryCase {
        name: "1M hashes of 10 fields",
        unit: "hash",
        elements: 1_000_000,
        fill: fill_small_hashes,
    },
];

const DEFAULT_ROUNDS: usize = 5;
const QUICK_ROUNDS: usize = 2;
/// `--quick` divides the request counts by this.
const QUICK_DIVISOR: u64 = 5;

/// Options of `cargo xtask bench`.
pub struct BenchArgs {
    pub rounds: usize,
    pub quick: bool,
    pub server: Option<PathBuf>,
    pub redis: Option<PathBuf>,
    pub tests: Vec<String>,
    pub memory: bool,
    /// Run the cost-growth check ([`crate::scaling`]).
    pub scaling: bool,
    /// The arguments as given, for the report.
    pub raw: Vec<String>,
}

pub const USAGE: &str = "\
cargo xtask bench [--rounds N] [--quick] [--server PATH] [--redis PATH] [--tests set,get,...]
                  [--no-memory] [--no-scaling]
    redis-benchmark against our server and Debian's redis-server in alternation; prints medians
    and ratios ours/Redis and writes docs/BENCHMARKS.md.
    --rounds N      rounds of every (workload, test) pair on each server (default 5)
    --quick         2 rounds and a fifth of the requests: a one-minute smoke run
    --server PATH   our binary (default: target/release/redis-server, built first)
    --redis PATH    the reference (default: redis-server on PATH, or $FERRODIS_REDIS_SERVER)
    --tests LIST    comma-separated test names (default: all of TESTS in bench.rs)
    --no-memory     skip the memory cases
    --no-scaling    skip the cost-growth check (commands timed at N, 2N, 4N elements)";

pub fn parse_args(args: &[String]) -> Result<BenchArgs> {
    let mut out = BenchArgs {
        rounds: 0,
        quick: false,
        server: None,
        redis: None,
        tests: TESTS.iter().map(|t| t.name.to_string()).collect(),
        memory: true,
        scaling: true,
        raw: args.to_vec(),
    };
    let mut rounds = None;
    let mut it = args.iter();
    while let Some(arg) = it.next() {
        let mut value = |name: &str| {
            it.next()
                .cloned()
                .ok_or_else(|| Error::Usage(format!("{name} needs a value")))
        };
        match arg.as_str() {
            "--rounds" => {
                let n: usize = value("--rounds")?
                    .parse()
                    .map_err(|_| Error::Usage("--rounds wants a number".into()))?;
                if n == 0 {
                    return Err(Error::Usage("--rounds must be at least 1".into()));
                }
                rounds = Some(n);
            }
            "--quick" => out.quick = true,
            "--no-memory" => out.memory = false,
            "--no-scaling" => out.scaling = false,
            "--server" => out.server = Some(PathBuf::from(value("--server")?)),
            "--redis" => out.redis = Some(PathBuf::from(value("--redis")?)),
            "--tests" => {
                out.tests = value("--tests")?
                    .split(',')
                    .map(str::trim)
                    .filter(|t| !t.is_empty())
                    .map(str::to_string)
                    .collect();
                if out.tests.is_empty() {
                    return Err(Error::Usage("--tests needs at least one test".into()));
                }
            }
            other => return Err(Error::Usage(format!("unknown bench option {other}"))),
        }
    }
    out.rounds = rounds.unwrap_or(if out.quick {
        QUICK_ROUNDS
    } else {
        DEFAULT_ROUNDS
    });
    Ok(out)
}

/// One redis-benchmark run.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Sample {
    pub rps: f64,
    pub p50_ms: f64,
    /// Server CPU seconds (user + system) per million requests.
    pub cpu_per_million: f64,
}

/// Parses redis-benchmark `--csv` output: the last data row's rps and p50 (a `-t` test that
/// needs setup, like lrange, prints the setup row first).
pub fn parse_csv(text: &str) -> Option<(f64, f64)> {
    let mut header: Option<Vec<String>> = None;
    let mut result = None;
    for line in text.lines() {
        let fields: Vec<String> = line
            .split("\",\"")
            .map(|f| f.trim_matches('"').to_string())
            .collect();
        match &header {
            None if fields.first().map(String::as_str) == Some("test") => header = Some(fields),
            Some(h) => {
                let col = |name: &str| h.iter().position(|c| c == name);
                let get =
                    |name: &str| -> Option<f64> { fields.get(col(name)?)?.parse::<f64>().ok() };
                if let (Some(rps), Some(p50)) = (get("rps"), get("p50_latency_ms")) {
                    result = Some((rps, p50));
                }
            }
            None => {}
        }
    }
    result
}

/// utime + stime of a process, in clock ticks, from /proc/<pid>/stat.
pub fn parse_stat_ticks(stat: &str) -> Option<u64> {
    // The command name (field 2) may contain spaces; fields after its closing parenthesis are
    // positional: state is field 3, utime 14, stime 15.
    let after = &stat[stat.rfind(')')? + 1..];
    let fields: Vec<&str> = after.split_whitespace().collect();
    let utime: u64 = fields.get(11)?.parse().ok()?;
    let stime: u64 = fields.get(12)?.parse().ok()?;
    Some(utime + stime)
}

fn cpu_ticks(pid: u32) -> Result<u64> {
    let path = format!("/proc/{pid}/stat");
    let text = fs::read_to_string(&path).map_err(|e| Error::io(format!("reading {path}"), e))?;
    parse_stat_ticks(&text).ok_or_else(|| Error::Failed(format!("unexpected {path}: {text}")))
}

fn clock_ticks_per_second() -> f64 {
    // SAFETY: sysconf has no preconditions.
    let ticks = unsafe { libc::sysconf(libc::_SC_CLK_TCK) };
    if ticks > 0 {
        ticks as f64
    } else {
        100.0
    }
}

/// VmRSS in bytes from /proc/<pid>/status text.
pub fn parse_vm_rss(status: &str) -> Option<u64> {
    let line = status.lines().find(|l| l.starts_with("VmRSS:"))?;
    let kb: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kb * 1024)
}

fn vm_rss(pid: u32) -> Result<u64> {
    let path = format!("/proc/{pid}/status");
    let text = fs::read_to_string(&path).map_err(|e| Error::io(format!("reading {path}"), e))?;
    parse_vm_rss(&text).ok_or_else(|| Error::Failed(format!("no VmRSS in {path}")))
}

/// The median of some values (mean of the middle two for an even count).
pub fn median(values: &[f64]) -> Option<f64> {
    let mut sorted: Vec<f64> = values.iter().copied().filter(|v| v.is_finite()).collect();
    if sorted.is_empty() {
        return None;
    }
    sorted.sort_by(|a, b| a.total_cmp(b));
    let mid = sorted.len() / 2;
    Some(if sorted.len() % 2 == 1 {
        sorted[mid]
    } else {
        (sorted[mid - 1] + sorted[mid]) / 2.0
    })
}

struct Target {
    label: &'static str,
    binary: PathBuf,
}

fn run_one(
    benchmark: &Path,
    server: &Server,
    test: &BenchTest,
    workload: &Workload,
    requests: u64,
    tick_rate: f64,
) -> Result<Sample> {
    let subscribers = if test.subscribers > 0 {
        Some(crate::loadgen::Subscribers::start(
            server.port,
            "chan",
            test.subscribers,
        )?)
    } else {
        None
    };
    let result = measure_run(benchmark, server, test, workload, requests, tick_rate);
    if let Some(s) = subscribers {
        s.stop();
    }
    result
}

/// The value after `flag` in a workload's redis-benchmark flags.
fn workload_flag(workload: &Workload, flag: &str) -> Option<usize> {
    let i = workload.args.iter().position(|a| *a == flag)?;
    workload.args.get(i + 1)?.parse().ok()
}

fn measure_run(
    benchmark: &Path,
    server: &Server,
    test: &BenchTest,
    workload: &Workload,
    requests: u64,
    tick_rate: f64,
) -> Result<Sample> {
    if let Some(unit) = test.unit {
        let clients = workload_flag(workload, "-c").unwrap_or(50);
        let pipeline = workload_flag(workload, "-P").unwrap_or(1);
        // A unit is a dozen commands: a tenth of the requests keeps runs about as long.
        let units = (requests / 10).max(100);
        let before = cpu_ticks(server.pid())?;
        let r = crate::loadgen::run_units(server.port, clients, pipeline, units, &unit())?;
        let after = cpu_ticks(server.pid())?;
        let cpu_seconds = after.saturating_sub(before) as f64 / tick_rate;
        return Ok(Sample {
            rps: r.units_per_second,
            p50_ms: r.p50_ms,
            cpu_per_million: cpu_seconds / units as f64 * 1e6,
        });
    }
    let mut cmd = Command::new(benchmark);
    cmd.args(["-h", "127.0.0.1", "-p"])
        .arg(server.port.to_string())
        .args(workload.args)
        .arg("-n")
        .arg(requests.to_string())
        .args(["-q", "--csv"]);
    if test.random > 0 {
        cmd.arg("-r").arg(test.random.to_string());
    }
    if test.command.is_empty() {
        cmd.args(["-t", test.name]);
    } else {
        cmd.args(test.command);
    }
    let before = cpu_ticks(server.pid())?;
    let out = proc::output(&mut cmd)?;
    let after = cpu_ticks(server.pid())?;
    let (rps, p50_ms) = parse_csv(&out).ok_or_else(|| {
        Error::Failed(format!(
            "could not read `{}` output: {out}",
            proc::render(&cmd)
        ))
    })?;
    let cpu_seconds = after.saturating_sub(before) as f64 / tick_rate;
    Ok(Sample {
        rps,
        p50_ms,
        cpu_per_million: cpu_seconds / requests as f64 * 1e6,
    })
}

/// Memory used by `DEBUG POPULATE` keys on a fresh server.
#[derive(Debug, Clone, Copy, Default)]
struct MemorySample {
    used_per_key: Option<f64>,
    rss_per_key: Option<f64>,
    used_after: Option<u64>,
    seconds: f64,
}

fn measure_memory(target: &Target, dir: &Path, case: &MemoryCase) -> Result<MemorySample> {
    let slug: String = case
        .name
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '-' })
        .collect();
    let server = Server::start(
        &target.binary,
        &dir.join(format!("{}-memory-{slug}", target.label)),
        SERVER_ARGS,
        &dir.join(format!("{}-memory-{slug}.log", target.label)),
    )?;
    let mut conn = server.connect()?;
    let used = |conn: &mut resp::Conn| -> Option<u64> {
        let info = conn.call_text(&["INFO", "memory"]).ok()?;
        resp::info_field(&info, "used_memory")?.parse().ok()
    };
    let used_before = used(&mut conn);
    let rss_before = vm_rss(server.pid())?;
    let started = Instant::now();
    let filled = (case.fill)(&mut conn, case.elements);
    let seconds = started.elapsed().as_secs_f64();
    let used_after = used(&mut conn);
    let rss_after = vm_rss(server.pid())?;
    drop(conn);
    server.stop()?;
    if let Err(e) = filled {
        println!("  {} {}: filling failed: {e}", target.label, case.name);
        return Ok(MemorySample::default());
    }
    let per_key = |before: u64, after: u64| (after as f64 - before as f64) / case.elements as f64;
    Ok(MemorySample {
        used_per_key: used_before
            .zip(used_after)
            .map(|(before, after)| per_key(before, after)),
        rss_per_key: Some(per_key(rss_before, rss_after)),
        used_after,
        seconds,
    })
}

fn fmt_opt(value: Option<f64>, decimals: usize) -> String {
    match value {
        Some(v) => format!("{v:.decimals$}"),
        None => "n/a".into(),
    }
}

fn ratio(ours: Option<f64>, theirs: Option<f64>) -> String {
    match (ours, theirs) {
        (Some(a), Some(b)) if b > 0.0 => format!("{:.2}", a / b),
        _ => "n/a".into(),
    }
}

fn mib(bytes: Option<u64>) -> String {
    fmt_opt(bytes.map(|b| b as f64 / (1024.0 * 1024.0)), 1)
}

/// Median figures of one (workload, test) pair for both servers.
struct Row {
    workload: &'static str,
    test: String,
    rps: [Option<f64>; 2],
    p50: [Option<f64>; 2],
    cpu: [Option<f64>; 2],
}

/// The 1-minute load average, as text.
fn load_average() -> Option<String> {
    let text = fs::read_to_string("/proc/loadavg").ok()?;
    text.split_whitespace().next().map(str::to_string)
}

fn machine_description() -> String {
    let cpus = std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(0);
    let model = fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|text| {
            text.lines()
                .find(|l| l.starts_with("model name"))
                .and_then(|l| l.split_once(':'))
                .map(|(_, v)| v.trim().to_string())
        })
        .unwrap_or_else(|| "unknown CPU".into());
    format!("{cpus} CPUs ({model})")
}

/// Days since 1970-01-01 to (year, month, day), proleptic Gregorian.
pub fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    (
        year,
        u32::try_from(month).unwrap_or(1),
        u32::try_from(day).unwrap_or(1),
    )
}

fn utc_now() -> String {
    let secs = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0);
    let secs = i64::try_from(secs).unwrap_or(0);
    let (y, m, d) = civil_from_days(secs.div_euclid(86_400));
    let rem = secs.rem_euclid(86_400);
    format!(
        "{y:04}-{m:02}-{d:02} {:02}:{:02} UTC",
        rem / 3600,
        rem % 3600 / 60
    )
}

/// `cargo xtask bench`.
pub fn run(args: BenchArgs) -> Result<bool> {
    let started = Instant::now();
    suite::ensure_prerequisites()?;
    let ours = crate::compat::prepare_server(args.server.clone())?;
    let redis = args
        .redis
        .clone()
        .or_else(|| std::env::var_os(paths::REDIS_ENV).map(PathBuf::from))
        .or_else(|| paths::which("redis-server"))
        .ok_or_else(|| Error::Failed("no reference redis-server on PATH".into()))?;
    let benchmark = suite::tool_path("redis-benchmark")?;
    for binary in [&ours, &redis] {
        if !paths::is_executable(binary) {
            return Err(Error::Failed(format!(
                "{} is not an executable",
                binary.display()
            )));
        }
    }
    let targets = [
        Target {
            label: "ours",
            binary: ours,
        },
        Target {
            label: "redis",
            binary: redis,
        },
    ];
    let work = paths::target_dir().join("bench");
    let _ = fs::remove_dir_all(&work);
    fs::create_dir_all(&work).map_err(|e| Error::io_path("creating", &work, e))?;
    let divisor = if args.quick { QUICK_DIVISOR } else { 1 };
    let tick_rate = clock_ticks_per_second();
    let tests = args
        .tests
        .iter()
        .map(|name| {
            TESTS
                .iter()
                .find(|t| t.name == name.as_str())
                .ok_or_else(|| Error::Usage(format!("unknown bench test {name}")))
        })
        .collect::<Result<Vec<&BenchTest>>>()?;

    let mut servers = Vec::new();
    for t in &targets {
        let server = Server::start(
            &t.binary,
            &work.join(t.label),
            SERVER_ARGS,
            &work.join(format!("{}.log", t.label)),
        )?;
        println!(
            "{}: {} (pid {}, port {})",
            t.label,
            t.binary.display(),
            server.pid(),
            server.port
        );
        servers.push(server);
    }
    let mut setups: Vec<Setup> = Vec::new();
    for setup in tests.iter().filter_map(|t| t.setup) {
        if !setups.iter().any(|s| s.name == setup.name) {
            setups.push(setup);
        }
    }
    for setup in &setups {
        for (t, server) in targets.iter().zip(&servers) {
            let mut conn = server.connect()?;
            (setup.run)(&mut conn)
                .map_err(|e| Error::Failed(format!("{} setup `{}`: {e}", t.label, setup.name)))?;
        }
    }

    // (workload index, test index) -> samples per server.
    let mut samples: BTreeMap<(usize, usize), [Vec<Sample>; 2]> = BTreeMap::new();
    let load_before = load_average();
    if let Some(load) = load_before.as_deref().and_then(|l| l.parse::<f64>().ok()) {
        if load > 1.0 {
            println!(
                "warning: load average {load:.2}: other work is running, expect noisy figures"
            );
        }
    }
    for round in 0..args.rounds {
        let round_started = Instant::now();
        for (wi, workload) in WORKLOADS.iter().enumerate() {
            let requests = (workload.requests / divisor).max(1000);
            for (ti, test) in tests.iter().enumerate() {
                let entry = samples.entry((wi, ti)).or_default();
                for (si, server) in servers.iter_mut().enumerate() {
                    if let Some(status) = server.exited()? {
                        return Err(Error::Failed(format!(
                            "{} server exited ({}); log: {}",
                            targets[si].label,
                            proc::describe(&status),
                            server.log.display()
                        )));
                    }
                    let sample = run_one(&benchmark, server, test, workload, requests, tick_rate)?;
                    entry[si].push(sample);
                }
            }
        }
        println!(
            "round {}/{} done in {:.1}s",
            round + 1,
            args.rounds,
            round_started.elapsed().as_secs_f64()
        );
    }
    for server in servers {
        server.stop()?;
    }

    let mut memory = Vec::new();
    let cases: &[MemoryCase] = if args.memory { MEMORY_CASES } else { &[] };
    for case in cases {
        println!("memory: {} on a fresh instance of each", case.name);
        let mut pair = Vec::new();
        for t in &targets {
            pair.push(measure_memory(t, &work, case)?);
        }
        memory.push(pair);
    }

    let scaling = if args.scaling {
        Some(crate::scaling::measure(
            &benchmark,
            [&targets[0].binary, &targets[1].binary],
            &work,
        )?)
    } else {
        None
    };

    let rows: Vec<Row> = samples
        .iter()
        .map(|((wi, ti), per_server)| {
            let med = |si: usize, f: fn(&Sample) -> f64| {
                let values: Vec<f64> = per_server[si].iter().map(f).collect();
                median(&values)
            };
            Row {
                workload: WORKLOADS.get(*wi).map(|w| w.name).unwrap_or("?"),
                test: args.tests.get(*ti).cloned().unwrap_or_default(),
                rps: [med(0, |s| s.rps), med(1, |s| s.rps)],
                p50: [med(0, |s| s.p50_ms), med(1, |s| s.p50_ms)],
                cpu: [med(0, |s| s.cpu_per_million), med(1, |s| s.cpu_per_million)],
            }
        })
        .collect();

    let mut table = render_tables(&rows, &memory);
    if let Some(m) = &scaling {
        table.push_str(&crate::scaling::render(m));
    }
    println!("\n{table}");
    let elapsed = started.elapsed().as_secs_f64();
    let command = std::iter::once("cargo xtask bench".to_string())
        .chain(args.raw.iter().map(|a| proc::quote(a)))
        .collect::<Vec<_>>()
        .join(" ");
    let mut doc = String::new();
    doc.push_str("<!-- Generated by `cargo xtask bench`; do not edit. -->\n");
    doc.push_str("# Benchmarks: ferrodis vs Redis 7.0.15\n\n");
    let _ = writeln!(doc, "Generated by `{command}` on {}.\n", utc_now());
    let _ = writeln!(
        doc,
        "- Machine: {}; both servers and redis-benchmark share it, so only the ratios mean much.",
        machine_description()
    );
    for t in &targets {
        let _ = writeln!(doc, "- {}: `{}`", t.label, t.binary.display());
    }
    let _ = writeln!(
        doc,
        "- Both started as `<binary> --port P --dir D {}`.",
        SERVER_ARGS
            .iter()
            .map(|a| proc::quote(a))
            .collect::<Vec<_>>()
            .join(" ")
    );
    let _ = writeln!(
        doc,
        "- `redis-benchmark -h 127.0.0.1 -p P <workload flags> -n N -q --csv -t TEST` (or, for tests \
         that are not redis-benchmark's, `-r R <command line>` as listed in xtask/src/bench.rs), {} round(s); \
         in each round every (workload, test) pair runs on ours then on Redis. Medians over rounds.",
        args.rounds
    );
    for w in WORKLOADS {
        let _ = writeln!(
            doc,
            "  - {}: `{} -n {}`",
            w.name,
            w.args.join(" "),
            (w.requests / divisor).max(1000)
        );
    }
    let _ = writeln!(
        doc,
        "- Server CPU: utime+stime from /proc/<pid>/stat around each run, in CPU seconds per \
         million requests (lower is better). Ratios are ours/Redis: above 1 is better for \
         throughput, below 1 is better for latency, CPU and memory."
    );
    let _ = writeln!(
        doc,
        "- Load average (1 min) at the start: {}; at the end: {}. Above ~0.5 other work shared \
         the machine and the figures are noisier.",
        load_before.as_deref().unwrap_or("n/a"),
        load_average().as_deref().unwrap_or("n/a")
    );
    let _ = writeln!(doc, "- Whole run: {elapsed:.0}s.\n");
    doc.push_str(&table);
    let path = paths::root().join("docs/BENCHMARKS.md");
    if let Some(parent) = path.parent() {
        fs::create_dir_all(parent).map_err(|e| Error::io_path("creating", parent, e))?;
    }
    fs::write(&path, doc).map_err(|e| Error::io_path("writing", &path, e))?;
    println!("wrote {} ({elapsed:.0}s)", paths::display_rel(&path));
    Ok(true)
}

fn render_tables(rows: &[Row], memory: &[Vec<MemorySample>]) -> String {
    let mut out = String::new();
    out.push_str("## Throughput, latency, CPU (medians)\n\n");
    out.push_str(
        "| workload | test | ours rps | Redis rps | rps ratio | ours p50 ms | Redis p50 ms | p50 ratio | ours CPU s/M | Redis CPU s/M | CPU ratio |\n",
    );
    out.push_str("|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n");
    for r in rows {
        let _ = writeln!(
            out,
            "| {} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {} |",
            r.workload,
            r.test,
            fmt_opt(r.rps[0], 0),
            fmt_opt(r.rps[1], 0),
            ratio(r.rps[0], r.rps[1]),
            fmt_opt(r.p50[0], 3),
            fmt_opt(r.p50[1], 3),
            ratio(r.p50[0], r.p50[1]),
            fmt_opt(r.cpu[0], 2),
            fmt_opt(r.cpu[1], 2),
            ratio(r.cpu[0], r.cpu[1]),
        );
    }
    out.push_str("\n## Memory (fresh instance of each server per case)\n\n");
    out.push_str(
        "| case | used_memory B/elem ours | Redis | ratio | RSS B/elem ours | Redis | ratio | used_memory after MiB ours | Redis | fill s ours | Redis |\n",
    );
    out.push_str("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n");
    for (case, pair) in MEMORY_CASES.iter().zip(memory) {
        let ours = pair.first().copied().unwrap_or_default();
        let theirs = pair.get(1).copied().unwrap_or_default();
        let _ = writeln!(
            out,
            "| {} (per {}) | {} | {} | {} | {} | {} | {} | {} | {} | {:.2} | {:.2} |",
            case.name,
            case.unit,
            fmt_opt(ours.used_per_key, 1),
            fmt_opt(theirs.used_per_key, 1),
            ratio(ours.used_per_key, theirs.used_per_key),
            fmt_opt(ours.rss_per_key, 1),
            fmt_opt(theirs.rss_per_key, 1),
            ratio(ours.rss_per_key, theirs.rss_per_key),
            mib(ours.used_after),
            mib(theirs.used_after),
            ours.seconds,
            theirs.seconds,
        );
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_rps_and_p50_from_csv() {
        let csv = "\"test\",\"rps\",\"avg_latency_ms\",\"min_latency_ms\",\"p50_latency_ms\",\"p95_latency_ms\",\"p99_latency_ms\",\"max_latency_ms\"\n\
                   \"MSET (10 keys)\",\"333333.34\",\"2.192\",\"0.200\",\"1.439\",\"5.583\",\"5.711\",\"5.839\"\n";
        assert_eq!(parse_csv(csv), Some((333333.34, 1.439)));
        let two = format!("{csv}\"LRANGE_100 (first 100 elements)\",\"1000.00\",\"1\",\"1\",\"0.5\",\"1\",\"1\",\"1\"\n");
        assert_eq!(parse_csv(&two), Some((1000.0, 0.5)));
        assert_eq!(parse_csv("garbage\n"), None);
    }

    #[test]
    fn reads_cpu_ticks_even_with_spaces_in_the_name() {
        let stat = "4242 (redis server) S 1 4242 4242 0 -1 4194560 100 0 0 0 37 5 0 0 20 0 5 0";
        assert_eq!(parse_stat_ticks(stat), Some(42));
        assert_eq!(parse_stat_ticks("1 (x) S 1"), None);
    }

    #[test]
    fn reads_vm_rss() {
        let status = "Name:\tredis-server\nVmPeak:\t  100 kB\nVmRSS:\t   12876 kB\n";
        assert_eq!(parse_vm_rss(status), Some(12876 * 1024));
        assert_eq!(parse_vm_rss("Name: x\n"), None);
    }

    #[test]
    fn medians() {
        assert_eq!(median(&[3.0, 1.0, 2.0]), Some(2.0));
        assert_eq!(median(&[4.0, 1.0, 3.0, 2.0]), Some(2.5));
        assert_eq!(median(&[]), None);
        assert_eq!(median(&[f64::NAN, 1.0]), Some(1.0));
    }

    #[test]
    fn dates() {
        assert_eq!(civil_from_days(0), (1970, 1, 1));
        assert_eq!(civil_from_days(19_782), (2024, 2, 29));
        assert_eq!(civil_from_days(-1), (1969, 12, 31));
    }

    #[test]
    fn options() {
        let quick = parse_args(&["--quick".to_string()]).ok().map(|a| a.rounds);
        assert_eq!(quick, Some(QUICK_ROUNDS));
        let args: Vec<String> = ["--rounds", "7", "--tests", "set,lpush"]
            .iter()
            .map(|s| s.to_string())
            .collect();
        let parsed = parse_args(&args).ok();
        assert_eq!(parsed.as_ref().map(|a| a.rounds), Some(7));
        assert_eq!(
            parsed.map(|a| a.tests),
            Some(vec!["set".to_string(), "lpush".to_string()])
        );
        assert!(parse_args(&["--rounds".to_string(), "0".to_string()]).is_err());
    }
}
