//! `cargo xtask compat`: runs units of the Redis 7.0.15 Tcl suite against our server, in
//! external mode (one fresh server of ours per unit, `--host/--port`) and/or full mode (our
//! binary as the suite's `src/redis-server`), each unit in a private copy of the suite, under a
//! wall-clock limit that kills the harness's whole process group.
//!
//! Results go to `tests/compat/results.tsv` (latest per unit and mode) and from there to the
//! generated docs/COMPATIBILITY.md; `--update-ratchet` grows `tests/compat/ratchet*.txt`.

use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::fs::{self, File};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use crate::cargo;
use crate::compat_docs::{self, ResultRow};
use crate::error::{Error, Result};
use crate::paths;
use crate::proc::{self, Group, Waited};
use crate::ratchet::{self, Mode, Ratchet};
use crate::server::{self, Server};
use crate::suite;
use crate::tcl::{self, UnitOutput};

/// Flags our server gets in external mode (plus `--port` and `--dir`), as the suite expects.
pub const EXTERNAL_SERVER_ARGS: &[&str] = &[
    "--enable-debug-command",
    "yes",
    "--save",
    "",
    "--enable-protected-configs",
    "yes",
    "--enable-module-command",
    "yes",
];

/// Tests skipped in external mode: they fail even against real Redis there.
const EXTERNAL_SKIPS: &[&str] = &[
    // Asks the server for its pid and inspects the process.
    "SRANDMEMBER with a dict containing long chain",
];

/// Tests skipped in both modes because they wait forever for a feature not built yet (each is
/// listed in tests/compat/deferred.md): without the skip the harness stalls for minutes and
/// the tests after them in the unit never run.
const STALLING_SKIPS: &[&str] = &[
    // unit/pubsub: waits for a maxmemory eviction event.
    "/evicted events",
];

/// Longest path the harness appends to the suite copy for a server's Unix socket:
/// `/tests/tmp/server.<pid>.<n>/socket` with a 7-digit pid and a 4-digit counter.
const SOCKET_SUFFIX_MAX: usize = "/tests/tmp/server.1234567.1234/socket".len();

/// Wall-clock limit of a unit, in seconds, when it is not listed in [`SLOW_UNITS`].
const DEFAULT_UNIT_TIMEOUT: u64 = 600;

/// Units that legitimately run long on a 2-core machine with `--clients 1`: seconds allowed.
const SLOW_UNITS: &[(&str, u64)] = &[
    ("unit/type/list", 1200),
    ("unit/type/zset", 1200),
    ("unit/type/set", 900),
    ("unit/type/hash", 900),
    ("unit/type/stream", 900),
    ("unit/scripting", 1200),
    ("unit/maxmemory", 1200),
    ("unit/memefficiency", 900),
    ("unit/obuf-limits", 900),
    ("unit/client-eviction", 900),
    ("integration/replication", 2400),
    ("integration/replication-psync", 1800),
    ("integration/replication-4", 900),
    ("integration/psync2", 1200),
    ("integration/aof", 900),
    ("integration/corrupt-dump-fuzzer", 900),
];

/// The harness's own `--timeout`: how long it waits without any progress from its test client
/// before reporting `[TIMEOUT]` (its default is 20 minutes; a hung reply should not cost that).
const HARNESS_STALL_TIMEOUT: u64 = 300;

/// Ports per parallel job for full-mode servers (the harness also probes `port + 10000`).
const PORTS_PER_JOB: u16 = 250;

/// Wall-clock limit of `unit` in `mode`.
pub fn unit_timeout(unit: &str, mode: Mode) -> Duration {
    let base = SLOW_UNITS
        .iter()
        .find(|(name, _)| *name == unit)
        .map(|(_, secs)| *secs)
        .unwrap_or(DEFAULT_UNIT_TIMEOUT);
    // Full mode starts and restarts servers itself and runs more tests.
    let secs = match mode {
        Mode::External => base,
        Mode::Full => base + base / 2,
    };
    Duration::from_secs(secs)
}

/// How one unit run ended, worst first.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// Our server could not be started (external mode).
    NoStart(String),
    /// Our wall-clock limit expired; the harness's process group was killed.
    Timeout,
    /// The server died during the run (external), or left a crash report or panic (full).
    Crash(String),
    /// The harness stopped waiting for progress (`[TIMEOUT]`).
    Stalled,
    /// A test client died on an exception (`[exception]`), ending the unit early.
    Exception,
    /// The harness exited without finishing the unit.
    Incomplete(String),
    /// The unit finished with failing tests.
    Failures,
    /// The unit finished and every test that ran passed.
    Passed,
}

impl Outcome {
    /// One word (plus detail) for tables.
    pub fn label(&self) -> String {
        match self {
            Outcome::NoStart(_) => "no-start".into(),
            Outcome::Timeout => "timeout".into(),
            Outcome::Crash(_) => "crash".into(),
            Outcome::Stalled => "stalled".into(),
            Outcome::Exception => "exception".into(),
            Outcome::Incomplete(_) => "incomplete".into(),
            Outcome::Failures => "failures".into(),
            Outcome::Passed => "ok".into(),
        }
    }
}

/// The result of running one unit in one mode.
#[derive(Debug, Clone)]
pub struct UnitRun {
    pub unit: String,
    pub mode: Mode,
    pub output: UnitOutput,
    pub outcome: Outcome,
    pub seconds: f64,
    /// Where the logs were kept.
    pub work: PathBuf,
}

impl UnitRun {
    pub fn row(&self) -> ResultRow {
        ResultRow {
            unit: self.unit.clone(),
            mode: self.mode,
            ok: self.output.ok.len(),
            err: self.output.err.len(),
            exception: self.output.exceptions.len(),
            ignored: self.output.ignored.len(),
            skipped: self.output.skipped.len(),
            status: self.outcome.label(),
            seconds: self.seconds,
        }
    }
}

/// First port of a range of `4 * PORTS_PER_JOB` ports for this process's harness runs: from
/// 20000 up, below the kernel's ephemeral range (where outgoing connections and port-0 listeners
/// land and would collide with the harness's fixed ports), starting at a slot chosen by process
/// id so concurrent runs spread out, and skipping ranges whose control ports are taken (and
/// `avoid`, a range that just clashed).
fn pick_port_base(avoid: Option<u16>) -> u16 {
    const FIRST: u32 = 20000;
    let span = 4 * u32::from(PORTS_PER_JOB);
    let ephemeral_low = fs::read_to_string("/proc/sys/net/ipv4/ip_local_port_range")
        .ok()
        .and_then(|t| t.split_whitespace().next()?.parse::<u32>().ok())
        .unwrap_or(32768);
    let top = if ephemeral_low > FIRST + span {
        ephemeral_low
    } else {
        65000
    };
    let slots = ((top - FIRST) / span).max(1);
    let start = std::process::id() % slots;
    let base_of = |slot: u32| u16::try_from(FIRST + slot * span).unwrap_or(20000);
    for i in 0..slots {
        let base = base_of((start + i) % slots);
        if Some(base) == avoid {
            continue;
        }
        let free = (0..4u16).all(|job| {
            std::net::TcpListener::bind(("127.0.0.1", base + job * PORTS_PER_JOB)).is_ok()
        });
        if free {
            return base;
        }
    }
    base_of(start)
}

/// Runs units against one server binary; shareable between worker threads.
pub struct Runner {
    pub suite: PathBuf,
    pub server: PathBuf,
    pub work_root: PathBuf,
    /// First port of this process's range (see [`Runner::baseport`]); moved when the harness
    /// finds a port of it taken.
    port_base: std::sync::atomic::AtomicU16,
    pub timeout: Option<Duration>,
}

impl Runner {
    /// A runner whose work directories live under `work_root` (wiped first).
    pub fn new(suite: PathBuf, server: PathBuf, work_root: PathBuf) -> Result<Runner> {
        if !paths::is_executable(&server) {
            return Err(Error::Failed(format!(
                "server binary {} does not exist or is not executable",
                server.display()
            )));
        }
        if work_root.exists() {
            fs::remove_dir_all(&work_root)
                .map_err(|e| Error::io_path("removing", &work_root, e))?;
        }
        fs::create_dir_all(&work_root).map_err(|e| Error::io_path("creating", &work_root, e))?;
        Ok(Runner {
            suite,
            server,
            work_root,
            port_base: std::sync::atomic::AtomicU16::new(pick_port_base(None)),
            timeout: None,
        })
    }

    fn baseport(&self, job: usize) -> u16 {
        let job = u16::try_from(job % 4).unwrap_or(0);
        // + 32: the harness puts its own control port just below the base.
        self.port_base.load(std::sync::atomic::Ordering::Relaxed) + job * PORTS_PER_JOB + 32
    }

    /// Runs one unit in one mode as parallel job number `job`. When the harness could not bind
    /// its ports (another process took one), the unit runs again on a fresh port range.
    pub fn run_unit(&self, unit: &str, mode: Mode, job: usize) -> Result<UnitRun> {
        let mut attempt = 0;
        loop {
            let run = self.run_unit_once(unit, mode, job)?;
            let port_clash = matches!(run.outcome, Outcome::Incomplete(_))
                && fs::read_to_string(run.work.join("runtest.log"))
                    .is_ok_and(|t| t.contains("couldn't open socket: address already in use"));
            if !port_clash || attempt >= 2 {
                return Ok(run);
            }
            attempt += 1;
            let old = self.port_base.load(std::sync::atomic::Ordering::Relaxed);
            let new = pick_port_base(Some(old));
            println!(
                "{unit} ({}): the harness found a port of {old}.. taken; again on {new}..",
                mode.name()
            );
            self.port_base
                .store(new, std::sync::atomic::Ordering::Relaxed);
        }
    }

    fn run_unit_once(&self, unit: &str, mode: Mode, job: usize) -> Result<UnitRun> {
        let started = Instant::now();
        let slug = format!("{}-{}", mode.name(), unit.replace('/', "_"));
        let work = self.work_root.join(slug);
        // The harness gives each server a Unix socket inside the copy's tests/tmp
        // (`.../tests/tmp/server.<pid>.<n>/socket`), and socket paths are limited to 107
        // bytes: a deep checkout would fail every server start in full mode, so then the copy
        // goes under the temp directory instead.
        let mut copy = work.join("suite");
        if copy.as_os_str().len() + SOCKET_SUFFIX_MAX > 107 {
            copy = std::env::temp_dir().join(format!("fdc{}-{job}", std::process::id()));
        }
        fs::create_dir_all(&work).map_err(|e| Error::io_path("creating", &work, e))?;
        suite::prepare_copy(&self.suite, &copy, &self.server)?;
        let timeout = self.timeout.unwrap_or_else(|| unit_timeout(unit, mode));
        let stall = timeout.as_secs().clamp(30, HARNESS_STALL_TIMEOUT);
        let baseport = self.baseport(job);

        let mut args: Vec<String> = vec![
            "--single".into(),
            unit.into(),
            "--durable".into(),
            "--clients".into(),
            "1".into(),
            "--timeout".into(),
            stall.to_string(),
            "--dont-clean".into(),
            "--baseport".into(),
            baseport.to_string(),
            "--portcount".into(),
            (PORTS_PER_JOB - 50).to_string(),
        ];
        for skip in STALLING_SKIPS {
            args.extend(["--skiptest".into(), (*skip).into()]);
        }
        let mut server = None;
        if mode == Mode::External {
            let started_server = Server::start(
                &self.server,
                &work.join("server-data"),
                EXTERNAL_SERVER_ARGS,
                &work.join("server.log"),
            );
            match started_server {
                Ok(s) => {
                    args.extend(["--host".into(), "127.0.0.1".into()]);
                    args.extend(["--port".into(), s.port.to_string()]);
                    for skip in EXTERNAL_SKIPS {
                        args.extend(["--skiptest".into(), (*skip).into()]);
                    }
                    server = Some(s);
                }
                Err(Error::Interrupted) => return Err(Error::Interrupted),
                Err(e) => {
                    return Ok(UnitRun {
                        unit: unit.into(),
                        mode,
                        output: UnitOutput::default(),
                        outcome: Outcome::NoStart(e.to_string()),
                        seconds: started.elapsed().as_secs_f64(),
                        work,
                    })
                }
            }
        }

        let log_path = work.join("runtest.log");
        let log = File::create(&log_path).map_err(|e| Error::io_path("creating", &log_path, e))?;
        let log_err = log
            .try_clone()
            .map_err(|e| Error::io_path("opening", &log_path, e))?;
        let mut cmd = Command::new(copy.join("runtest"));
        cmd.args(&args)
            .current_dir(&copy)
            // No colour escapes in the log.
            .env("TERM", "dumb")
            .stdin(Stdio::null())
            .stdout(log)
            .stderr(log_err);
        let mut commands = proc::render(&cmd) + "\n";
        if let Some(s) = &server {
            commands = format!("{}\n{commands}", s.command);
        }
        fs::write(work.join("command.txt"), commands)
            .map_err(|e| Error::io_path("writing", &work.join("command.txt"), e))?;
        let mut harness = Group::spawn(&mut cmd, "runtest")?;
        let waited = harness.wait_until(started + timeout)?;

        let mut crash = None;
        if let Some(mut s) = server {
            if let Some(status) = s.exited()? {
                crash = Some(format!(
                    "server {} during the run; log tail:\n{}",
                    proc::describe(&status),
                    server::log_tail(&s.log, 15)
                ));
            }
            if matches!(waited, Waited::TimedOut) {
                // It may be the reason for the timeout: no point asking it politely.
                s.kill();
            } else {
                s.stop()?;
            }
        }
        let text = fs::read(&log_path)
            .map(|b| String::from_utf8_lossy(&b).into_owned())
            .unwrap_or_default();
        let output = tcl::parse(&text);
        if mode == Mode::Full && crash.is_none() {
            crash = find_crash_report(&copy.join("tests/tmp")).or_else(|| {
                text.lines()
                    .find(|l| l.contains("Logged crash report"))
                    .map(|l| l.trim().to_string())
            });
        }
        let outcome = match (&waited, crash) {
            (Waited::TimedOut, _) => Outcome::Timeout,
            (_, Some(detail)) => Outcome::Crash(detail),
            (Waited::Exited(status), None) => {
                if output.harness_timeout {
                    Outcome::Stalled
                } else if !output.exceptions.is_empty() {
                    Outcome::Exception
                } else if !output.done {
                    Outcome::Incomplete(format!(
                        "runtest {} without finishing the unit",
                        proc::describe(status)
                    ))
                } else if !output.err.is_empty() || !status.success() {
                    Outcome::Failures
                } else {
                    Outcome::Passed
                }
            }
        };
        // Keep the logs (tests/tmp) but not the 10 MB copy of the suite and binaries.
        let _ = fs::remove_dir_all(work.join("tmp"));
        if fs::rename(copy.join("tests/tmp"), work.join("tmp")).is_err() {
            // Another file system (a tmpfs /tmp): copy instead.
            let _ = suite::copy_tree(&copy.join("tests/tmp"), &work.join("tmp"));
        }
        let _ = fs::remove_dir_all(&copy);
        Ok(UnitRun {
            unit: unit.into(),
            mode,
            output,
            outcome,
            seconds: started.elapsed().as_secs_f64(),
            work,
        })
    }

    /// Runs every (unit, mode) pair with up to `jobs` in parallel, printing a line per result.
    pub fn run_all(&self, pairs: &[(String, Mode)], jobs: usize) -> Result<Vec<UnitRun>> {
        let queue: Mutex<VecDeque<(usize, &(String, Mode))>> =
            Mutex::new(pairs.iter().enumerate().collect());
        let results: Mutex<Vec<(usize, UnitRun)>> = Mutex::new(Vec::new());
        let first_error: Mutex<Option<Error>> = Mutex::new(None);
        let total = pairs.len();
        let jobs = jobs.clamp(1, 4).min(total.max(1));
        std::thread::scope(|scope| {
            for job in 0..jobs {
                let (queue, results, first_error) = (&queue, &results, &first_error);
                scope.spawn(move || loop {
                    let next = queue.lock().ok().and_then(|mut q| q.pop_front());
                    let Some((index, (unit, mode))) = next else {
                        return;
                    };
                    if first_error.lock().map(|e| e.is_some()).unwrap_or(true) {
                        return;
                    }
                    match self.run_unit(unit, *mode, job) {
                        Ok(run) => {
                            println!("[{}/{}] {}", index + 1, total, summary_line(&run));
                            if let Ok(mut r) = results.lock() {
                                r.push((index, run));
                            }
                        }
                        Err(e) => {
                            if let Ok(mut slot) = first_error.lock() {
                                slot.get_or_insert(e);
                            }
                            return;
                        }
                    }
                });
            }
        });
        if let Some(e) = first_error.into_inner().ok().flatten() {
            return Err(e);
        }
        let mut results = results.into_inner().unwrap_or_default();
        results.sort_by_key(|(index, _)| *index);
        Ok(results.into_iter().map(|(_, run)| run).collect())
    }
}

/// Evidence of a crashed server in full mode: a Rust panic in a server's log. (Redis-style crash
/// reports are not evidence by themselves: some tests crash the server on purpose; the harness
/// prints "Logged crash report" when one comes with a failing test.)
fn find_crash_report(tmp: &Path) -> Option<String> {
    const MARKERS: &[&str] = &["panicked at"];
    let mut stack = vec![tmp.to_path_buf()];
    while let Some(dir) = stack.pop() {
        let Ok(entries) = fs::read_dir(&dir) else {
            continue;
        };
        for entry in entries.flatten() {
            let path = entry.path();
            if path.is_dir() {
                stack.push(path);
                continue;
            }
            let name = entry.file_name();
            if name != "stdout" && name != "stderr" {
                continue;
            }
            let Ok(bytes) = fs::read(&path) else {
                continue;
            };
            let text = String::from_utf8_lossy(&bytes);
            for line in text.lines() {
                if MARKERS.iter().any(|m| line.contains(m)) {
                    return Some(format!("{}: {}", path.display(), line.trim()));
                }
            }
        }
    }
    None
}

/// One line per unit run for the console.
pub fn summary_line(run: &UnitRun) -> String {
    let o = &run.output;
    format!(
        "{:<34} {:<8} {:>4} ok {:>4} err {:>2} exc {:>4} ign  {:>7.1}s  {}",
        run.unit,
        run.mode.name(),
        o.ok.len(),
        o.err.len(),
        o.exceptions.len(),
        o.ignored.len(),
        run.seconds,
        run.outcome.label()
    )
}

/// Prints failures and unusual outcomes of a run in detail.
pub fn print_details(run: &UnitRun) {
    let interesting = !matches!(run.outcome, Outcome::Passed);
    if !interesting {
        return;
    }
    println!(
        "--- {} ({}): {}  [logs: {}]",
        run.unit,
        run.mode.name(),
        run.outcome.label(),
        paths::display_rel(&run.work)
    );
    match &run.outcome {
        Outcome::NoStart(d) | Outcome::Crash(d) | Outcome::Incomplete(d) => println!("    {d}"),
        _ => {}
    }
    for e in run.output.exceptions.iter().take(3) {
        println!("    [exception] {e}");
    }
    const SHOWN: usize = 15;
    for name in run.output.err.iter().take(SHOWN) {
        println!("    [err] {name}");
    }
    if run.output.err.len() > SHOWN {
        println!("    ... and {} more", run.output.err.len() - SHOWN);
    }
}

/// Ratchet bookkeeping over a set of runs of one mode.
pub struct RatchetCheck {
    pub mode: Mode,
    pub listed: usize,
    pub held: usize,
    pub regressions: Vec<(String, String)>,
}

/// Compares runs against the ratchet of their mode. Units not run are not judged.
pub fn check_ratchet(ratchet: &Ratchet, runs: &[&UnitRun], mode: Mode) -> RatchetCheck {
    let mut check = RatchetCheck {
        mode,
        listed: 0,
        held: 0,
        regressions: Vec::new(),
    };
    let counts = ratchet.counts();
    // A unit run twice (a retry) holds a test if either run passed it.
    let mut passed: BTreeMap<&str, BTreeSet<String>> = BTreeMap::new();
    for run in runs.iter().filter(|r| r.mode == mode) {
        passed
            .entry(run.unit.as_str())
            .or_default()
            .extend(run.output.passed());
    }
    for (unit, passes) in &passed {
        check.listed += counts.get(*unit).copied().unwrap_or(0);
        check.held += ratchet.held(unit, passes);
        for name in ratchet.regressions(unit, passes) {
            check.regressions.push((unit.to_string(), name));
        }
    }
    check
}

/// Options of `cargo xtask compat`.
pub struct CompatArgs {
    pub modes: Vec<Mode>,
    pub units: Vec<String>,
    pub update_ratchet: bool,
    pub server: Option<PathBuf>,
    pub timeout: Option<Duration>,
    pub jobs: usize,
    pub docs_only: bool,
}

pub const USAGE: &str = "\
cargo xtask compat [--external] [--full] [--update-ratchet] [--server PATH] [--jobs N]
                   [--timeout SECS] [--docs] [UNIT...]
    Runs units of the Redis 7.0.15 Tcl suite (all units if none are named) against our server:
    --external / --full   only that mode (default: both)
    --update-ratchet      add every passing test to tests/compat/ratchet.txt (external) and
                          ratchet-full.txt (full); the ratchet only grows
    --server PATH         binary under test (default: target/release/redis-server, built first;
                          or $FERRODIS_SERVER)
    --jobs N              units run in parallel (1..4, default 1: timing tests are sensitive)
    --timeout SECS        wall-clock limit per unit instead of the built-in table
    --docs                only regenerate docs/COMPATIBILITY.md from tests/compat/results.tsv
    Writes tests/compat/results.tsv and docs/COMPATIBILITY.md; logs stay in target/compat/.
    Exits non-zero when a test listed in a ratchet file no longer passes.";

pub fn parse_args(args: &[String]) -> Result<CompatArgs> {
    let mut out = CompatArgs {
        modes: Vec::new(),
        units: Vec::new(),
        update_ratchet: false,
        server: None,
        timeout: None,
        jobs: 1,
        docs_only: false,
    };
    let mut it = args.iter();
    while let Some(arg) = it.next() {
        let mut value = |name: &str| {
            it.next()
                .cloned()
                .ok_or_else(|| Error::Usage(format!("{name} needs a value")))
        };
        match arg.as_str() {
            "--external" => out.modes.push(Mode::External),
            "--full" => out.modes.push(Mode::Full),
            "--update-ratchet" => out.update_ratchet = true,
            "--docs" => out.docs_only = true,
            "--server" => out.server = Some(PathBuf::from(value("--server")?)),
            "--timeout" => {
                let secs: u64 = value("--timeout")?
                    .parse()
                    .map_err(|_| Error::Usage("--timeout wants seconds".into()))?;
                out.timeout = Some(Duration::from_secs(secs));
            }
            "--jobs" | "-j" => {
                out.jobs = value("--jobs")?
                    .parse()
                    .map_err(|_| Error::Usage("--jobs wants a number".into()))?;
            }
            flag if flag.starts_with('-') => {
                return Err(Error::Usage(format!("unknown compat option {flag}")))
            }
            unit => out.units.push(unit.trim_end_matches(".tcl").to_string()),
        }
    }
    if out.modes.is_empty() {
        out.modes = vec![Mode::External, Mode::Full];
    }
    out.modes.sort();
    out.modes.dedup();
    Ok(out)
}

/// Resolves the server under test, building ours if it is the default.
pub fn prepare_server(flag: Option<PathBuf>) -> Result<PathBuf> {
    let choice = paths::choose_server(flag, "release");
    if choice.built_here {
        cargo::build_server("release")?;
    }
    println!("server under test: {}", choice.path.display());
    Ok(choice.path)
}

/// `cargo xtask compat`. Returns whether the ratchet held.
pub fn run(args: CompatArgs) -> Result<bool> {
    if args.docs_only {
        compat_docs::write_docs()?;
        return Ok(true);
    }
    suite::ensure_prerequisites()?;
    let suite_dir = suite::ensure_suite()?;
    let known = suite::list_units(&suite_dir)?;
    let units = if args.units.is_empty() {
        known.clone()
    } else {
        for unit in &args.units {
            if !known.contains(unit) {
                return Err(Error::Usage(format!(
                    "unknown unit {unit}; the suite has e.g. {}",
                    known.iter().take(5).cloned().collect::<Vec<_>>().join(", ")
                )));
            }
        }
        args.units.clone()
    };
    let server = prepare_server(args.server.clone())?;
    let mut runner = Runner::new(suite_dir, server, paths::target_dir().join("compat"))?;
    runner.timeout = args.timeout;

    let pairs: Vec<(String, Mode)> = units
        .iter()
        .flat_map(|u| args.modes.iter().map(move |m| (u.clone(), *m)))
        .collect();
    let started = Instant::now();
    println!(
        "running {} unit(s) in {} mode(s), logs under {}",
        units.len(),
        args.modes.len(),
        paths::display_rel(&runner.work_root)
    );
    let runs = runner.run_all(&pairs, args.jobs)?;
    println!();
    for run in &runs {
        print_details(run);
    }
    print_table(&runs);

    let mut held = true;
    for mode in &args.modes {
        let file = ratchet::path(*mode);
        let mut ratchet = Ratchet::load(&file)?;
        let refs: Vec<&UnitRun> = runs.iter().collect();
        let check = check_ratchet(&ratchet, &refs, *mode);
        report_ratchet(&check);
        held &= check.regressions.is_empty();
        if args.update_ratchet {
            let mut added = 0;
            for run in runs.iter().filter(|r| r.mode == *mode) {
                added += ratchet.add(&run.unit, &run.output.passed());
            }
            ratchet.save(&file)?;
            println!(
                "ratchet {}: {added} test(s) added, {} listed",
                paths::display_rel(&file),
                ratchet.entries.len()
            );
        }
    }
    let rows: Vec<ResultRow> = runs.iter().map(UnitRun::row).collect();
    compat_docs::record(&rows)?;
    compat_docs::write_docs()?;
    println!("compat took {:.1}s", started.elapsed().as_secs_f64());
    Ok(held)
}

/// Prints the per-unit table and totals.
pub fn print_table(runs: &[UnitRun]) {
    println!(
        "{:<34} {:<8} {:>7} {:>7} {:>7} {:>7}  {:>8}  status",
        "unit", "mode", "ok", "err", "exc", "ignored", "seconds"
    );
    let mut totals: BTreeMap<Mode, [usize; 4]> = BTreeMap::new();
    for run in runs {
        let o = &run.output;
        println!(
            "{:<34} {:<8} {:>7} {:>7} {:>7} {:>7}  {:>8.1}  {}",
            run.unit,
            run.mode.name(),
            o.ok.len(),
            o.err.len(),
            o.exceptions.len(),
            o.ignored.len(),
            run.seconds,
            run.outcome.label()
        );
        let t = totals.entry(run.mode).or_default();
        t[0] += o.ok.len();
        t[1] += o.err.len();
        t[2] += o.exceptions.len();
        t[3] += o.ignored.len();
    }
    for (mode, t) in totals {
        println!(
            "{:<34} {:<8} {:>7} {:>7} {:>7} {:>7}",
            "TOTAL",
            mode.name(),
            t[0],
            t[1],
            t[2],
            t[3]
        );
    }
}

/// Prints what a ratchet check found: at most a few regressions per unit (a unit that failed
/// as a whole would otherwise bury everything else in CI's output tail).
pub fn report_ratchet(check: &RatchetCheck) {
    println!(
        "ratchet ({}): {} of {} listed test(s) in the units run still pass",
        check.mode.name(),
        check.held,
        check.listed
    );
    const SHOWN_PER_UNIT: usize = 5;
    let mut by_unit: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
    for (unit, name) in &check.regressions {
        by_unit.entry(unit).or_default().push(name);
    }
    for (unit, names) in by_unit {
        for name in names.iter().take(SHOWN_PER_UNIT) {
            println!("    REGRESSION {unit}: {name}");
        }
        if names.len() > SHOWN_PER_UNIT {
            println!(
                "    REGRESSION {unit}: ... and {} more",
                names.len() - SHOWN_PER_UNIT
            );
        }
    }
}

/// For a unit run with regressions: why it went wrong, from its own logs (outcome, the tail of
/// the harness output and of our server's log), so a CI log's tail explains a red build.
pub fn print_diagnosis(run: &UnitRun) {
    println!(
        "--- diagnosis {} ({}): {} after {:.1}s, {} ok / {} err / {} exceptions",
        run.unit,
        run.mode.name(),
        run.outcome.label(),
        run.seconds,
        run.output.ok.len(),
        run.output.err.len(),
        run.output.exceptions.len()
    );
    if let Outcome::NoStart(d) | Outcome::Crash(d) | Outcome::Incomplete(d) = &run.outcome {
        for line in d.lines().take(20) {
            println!("    {line}");
        }
    }
    for (what, file, lines) in [("harness", "runtest.log", 25), ("server", "server.log", 10)] {
        let path = run.work.join(file);
        if let Ok(text) = fs::read(&path) {
            let text = String::from_utf8_lossy(&text);
            let all: Vec<&str> = text.lines().collect();
            println!("    {what} log {} (last {lines} lines):", path.display());
            for line in &all[all.len().saturating_sub(lines)..] {
                println!("      | {line}");
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run_with(unit: &str, mode: Mode, ok: &[&str], err: &[&str]) -> UnitRun {
        UnitRun {
            unit: unit.into(),
            mode,
            output: UnitOutput {
                ok: ok.iter().map(|s| s.to_string()).collect(),
                err: err.iter().map(|s| s.to_string()).collect(),
                done: true,
                ..UnitOutput::default()
            },
            outcome: Outcome::Passed,
            seconds: 1.0,
            work: PathBuf::new(),
        }
    }

    #[test]
    fn parses_modes_and_units() {
        let args: Vec<String> = ["--full", "unit/type/incr.tcl", "-j", "2"]
            .iter()
            .map(|s| s.to_string())
            .collect();
        let parsed = parse_args(&args).ok();
        assert!(parsed.is_some());
        if let Some(p) = parsed {
            assert_eq!(p.modes, vec![Mode::Full]);
            assert_eq!(p.units, vec!["unit/type/incr"]);
            assert_eq!(p.jobs, 2);
        }
        let both = parse_args(&[]).ok().map(|p| p.modes);
        assert_eq!(both, Some(vec![Mode::External, Mode::Full]));
        assert!(parse_args(&["--bogus".to_string()]).is_err());
    }

    #[test]
    fn ratchet_check_merges_retries_and_ignores_other_modes() {
        let mut ratchet = Ratchet::default();
        let listed: BTreeSet<String> = ["a", "b", "c"].iter().map(|s| s.to_string()).collect();
        ratchet.add("unit/x", &listed);
        let first = run_with("unit/x", Mode::External, &["a"], &["b"]);
        let retry = run_with("unit/x", Mode::External, &["b"], &[]);
        let full = run_with("unit/x", Mode::Full, &["a", "b", "c"], &[]);
        let check = check_ratchet(&ratchet, &[&first, &retry, &full], Mode::External);
        assert_eq!(check.listed, 3);
        assert_eq!(check.held, 2);
        assert_eq!(
            check.regressions,
            vec![("unit/x".to_string(), "c".to_string())]
        );
    }

    #[test]
    fn slow_units_get_more_time_and_full_mode_more_still() {
        assert_eq!(
            unit_timeout("unit/type/incr", Mode::External),
            Duration::from_secs(DEFAULT_UNIT_TIMEOUT)
        );
        assert!(
            unit_timeout("unit/type/list", Mode::External)
                > unit_timeout("unit/type/incr", Mode::External)
        );
        assert!(
            unit_timeout("unit/type/list", Mode::Full)
                > unit_timeout("unit/type/list", Mode::External)
        );
    }

    #[test]
    fn finds_a_panic_in_server_logs() {
        let dir = std::env::temp_dir().join(format!("xtask-crash-{}", std::process::id()));
        let _ = fs::remove_dir_all(&dir);
        assert!(fs::create_dir_all(dir.join("server.1")).is_ok());
        assert!(fs::write(dir.join("server.1/stdout"), "ready\n").is_ok());
        assert_eq!(find_crash_report(&dir), None);
        assert!(fs::write(
            dir.join("server.1/stderr"),
            "thread 'main' panicked at src/x.rs:1:1\n"
        )
        .is_ok());
        assert!(find_crash_report(&dir).is_some_and(|d| d.contains("panicked at")));
        let _ = fs::remove_dir_all(&dir);
    }
}
