//! The differential harness shared by the `diff_*` and `differential` tests: commands with a
//! comparison rule, run on ferrodis (in-process) and Debian's redis-server 7.0.15 side by side,
//! replies compared RESP frame for frame (save the documented normalisations of [`Check`]).

use crate::{simple, ChildServer, InProcess, RealRedis, RespConn};
use ferrodis_resp::Frame;
use proptest::strategy::Strategy;
use proptest::test_runner::{Config, RngAlgorithm, TestCaseError, TestError, TestRng, TestRunner};
use std::fmt;
use std::time::{Instant, SystemTime, UNIX_EPOCH};

/// How a reply is compared.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Check {
    Exact,
    /// The reply is an array whose order does not matter.
    Sorted,
    /// An integer that may differ by this much when non-negative.
    Approx(i64),
    /// Run SCAN to completion; compare the set of keys.
    ScanAll,
    /// SCAN from a cursor neither server handed out (e.g. `-1`): which keys come
    /// back depends on each server's hash function and table layout, so only the
    /// reply's shape (or the error) is compared. Documented non-determinism.
    ScanShape,
    Hello,
}

#[derive(Clone, PartialEq)]
pub struct Cmd {
    pub argv: Vec<Vec<u8>>,
    pub check: Check,
}

impl Cmd {
    pub fn new(check: Check, parts: Vec<Vec<u8>>) -> Cmd {
        Cmd { argv: parts, check }
    }
}

/// redis-cli style quoting, so a failing sequence can be pasted into redis-cli.
pub fn quote(arg: &[u8]) -> String {
    let plain = !arg.is_empty()
        && arg
            .iter()
            .all(|&c| c.is_ascii_graphic() && c != b'"' && c != b'\'' && c != b'\\');
    if plain {
        return String::from_utf8_lossy(arg).into_owned();
    }
    let mut s = String::from("\"");
    for &c in arg {
        match c {
            b'"' => s.push_str("\\\""),
            b'\\' => s.push_str("\\\\"),
            b'\n' => s.push_str("\\n"),
            b'\r' => s.push_str("\\r"),
            b'\t' => s.push_str("\\t"),
            c if c.is_ascii_graphic() || c == b' ' => s.push(c as char),
            c => s.push_str(&format!("\\x{c:02x}")),
        }
    }
    s.push('"');
    s
}

impl fmt::Debug for Cmd {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let words: Vec<String> = self.argv.iter().map(|a| quote(a)).collect();
        write!(f, "{}", words.join(" "))
    }
}

pub fn sort_frames(items: &mut [Frame]) {
    items.sort_by(|x, y| format!("{x:?}").cmp(&format!("{y:?}")));
}

/// Run one command and return its reply in comparable form.
pub fn execute(conn: &mut RespConn, c: &Cmd) -> Result<Frame, String> {
    let argv: Vec<&[u8]> = c.argv.iter().map(Vec::as_slice).collect();
    let frame = conn.cmd(&argv).map_err(|e| format!("{e}"))?;
    Ok(match c.check {
        Check::Sorted => match frame {
            Frame::Array(mut items) => {
                sort_frames(&mut items);
                Frame::Array(items)
            }
            other => other,
        },
        Check::ScanAll => {
            let mut keys = Vec::new();
            let mut reply = frame;
            let mut rounds = 0;
            loop {
                let Frame::Array(parts) = reply else {
                    break reply;
                };
                let [Frame::Bulk(cursor), Frame::Array(batch)] = &parts[..] else {
                    return Err(format!("malformed SCAN reply {parts:?}"));
                };
                keys.extend(batch.iter().cloned());
                if &cursor[..] == b"0" {
                    sort_frames(&mut keys);
                    keys.dedup();
                    break Frame::Array(keys);
                }
                rounds += 1;
                if rounds > 10_000 {
                    return Err("SCAN does not terminate".into());
                }
                let cursor = cursor.to_vec();
                let mut next = argv.clone();
                next[1] = &cursor;
                reply = conn.cmd(&next).map_err(|e| format!("{e}"))?;
            }
        }
        Check::ScanShape => match frame {
            Frame::Array(parts) => match &parts[..] {
                [Frame::Bulk(_), Frame::Array(_)] => simple("scan reply [cursor, keys]"),
                _ => return Err(format!("malformed SCAN reply {parts:?}")),
            },
            other => other,
        },
        Check::Hello => match frame {
            Frame::Map(fields) => {
                let proto = fields
                    .iter()
                    .find(|(k, _)| matches!(k, Frame::Bulk(b) if &b[..] == b"proto"));
                simple(&format!("map proto={:?}", proto.map(|(_, v)| v)))
            }
            Frame::Array(items) => {
                let proto = items
                    .chunks(2)
                    .find(|kv| matches!(&kv[0], Frame::Bulk(b) if &b[..] == b"proto"));
                simple(&format!("array proto={:?}", proto.and_then(|kv| kv.get(1))))
            }
            other => other,
        },
        Check::Exact | Check::Approx(_) => frame,
    })
}

pub fn same(check: Check, ours: &Frame, real: &Frame) -> bool {
    match (check, ours, real) {
        (Check::Approx(tol), Frame::Integer(a), Frame::Integer(b)) if *a >= 0 && *b >= 0 => {
            (a - b).abs() <= tol
        }
        _ => ours == real,
    }
}

pub struct Servers {
    pub ours: InProcess,
    pub real: ChildServer,
}

pub fn prepare(conn: &mut RespConn) {
    let r = conn.cmd(&[b"DEBUG", b"SET-ACTIVE-EXPIRE", b"0"]);
    assert_eq!(r.ok(), Some(simple("OK")), "DEBUG SET-ACTIVE-EXPIRE 0");
}

/// Run `seq` (plus the state dump) on both servers; `Err` describes the first difference.
pub fn run_sequence(s: &Servers, seq: &[Cmd], dump: &[Cmd]) -> Result<(), String> {
    flushall_both(s)?;
    let mut ours = s.ours.connect().map_err(|e| e.to_string())?;
    let mut real = s.real.connect().map_err(|e| e.to_string())?;
    let skip = skipped_prefixes();
    let mut transcript = String::new();
    for (i, c) in seq.iter().chain(dump.iter()).enumerate() {
        if is_skipped(&skip, c) {
            continue;
        }
        let r = execute(&mut real, c).map_err(|e| format!("real redis-server: {e}"))?;
        let o = match execute(&mut ours, c) {
            Ok(o) => o,
            Err(e) => {
                return Err(format!(
                    "{transcript}command {i}: {c:?}\n  redis:    {r:?}\n  ferrodis: connection error: {e}"
                ))
            }
        };
        if !same(c.check, &o, &r) {
            let phase = if i < seq.len() { "" } else { " (state dump)" };
            return Err(format!(
                "{transcript}command {i}{phase}: {c:?}\n  redis:    {r:?}\n  ferrodis: {o:?}"
            ));
        }
        transcript.push_str(&format!("  {c:?}  ->  {r:?}\n"));
    }
    Ok(())
}

/// `FLUSHALL` on both servers; `Err` unless both reply OK.
pub fn flushall_both(s: &Servers) -> Result<(), String> {
    for server in [s.ours.addr(), s.real.addr()] {
        let mut admin = RespConn::connect(server).map_err(|e| e.to_string())?;
        let r = admin.cmd(&[b"FLUSHALL"]).map_err(|e| e.to_string())?;
        if r != simple("OK") {
            return Err(format!("FLUSHALL replied {r:?}"));
        }
    }
    Ok(())
}

/// Whether `FERRODIS_DIFF_SKIP` (as [`skipped_prefixes`] reads it) leaves `c` out: a prefix
/// of its debug form, or with a leading `~` a part of it.
pub fn is_skipped(skip: &[String], c: &Cmd) -> bool {
    let text = format!("{c:?}");
    skip.iter().any(|p| match p.strip_prefix('~') {
        Some(part) => text.contains(part),
        None => text.starts_with(p.as_str()),
    })
}

/// A client error as `side: error`.
pub fn io<T>(side: &str, r: crate::Result<T>) -> Result<T, String> {
    r.map_err(|e| format!("{side}: {e}"))
}

/// Play `seq` then `dump` (less what [`is_skipped`] leaves out) through `step`, which runs one
/// command on both servers and returns `(ours, real)` in the form both must agree on; they are
/// compared with `==`. `Err` holds the transcript up to the first difference or step error.
pub fn run_steps<F>(seq: &[Cmd], dump: &[Cmd], mut step: F) -> Result<(), String>
where
    F: FnMut(&Cmd) -> Result<(Frame, Frame), String>,
{
    let skip = skipped_prefixes();
    let mut transcript = String::new();
    for (i, cmd) in seq.iter().chain(dump.iter()).enumerate() {
        if is_skipped(&skip, cmd) {
            continue;
        }
        let phase = if i < seq.len() { "" } else { " (state dump)" };
        let (o, r) =
            step(cmd).map_err(|e| format!("{transcript}command {i}{phase}: {cmd:?}: {e}"))?;
        if o != r {
            return Err(format!(
                "{transcript}command {i}{phase}: {cmd:?}\n  redis:    {r:?}\n  ferrodis: {o:?}"
            ));
        }
        transcript.push_str(&format!("  {cmd:?}  ->  {r:?}\n"));
    }
    Ok(())
}

pub fn start_servers() -> Option<Servers> {
    let real = match RealRedis::start(&[]) {
        Ok(Some(r)) => r,
        Ok(None) => return None,
        Err(e) => panic!("start redis-server: {e}"),
    };
    let ours = InProcess::start().expect("start ferrodis");
    prepare(&mut ours.connect().expect("connect ours"));
    prepare(&mut real.connect().expect("connect real"));
    Some(Servers { ours, real })
}

/// `FERRODIS_DIFF_SKIP="SCAN -1;GETDEL;~\x"`: commands whose redis-cli rendering
/// starts with one of these prefixes (or, with `~`, contains the text) are not
/// sent to either server. For
/// exploring past a known difference while it is being fixed; never set in CI.
pub fn skipped_prefixes() -> Vec<String> {
    std::env::var("FERRODIS_DIFF_SKIP")
        .map(|v| {
            v.split(';')
                .filter(|p| !p.is_empty())
                .map(str::to_string)
                .collect()
        })
        .unwrap_or_default()
}

pub fn env_u64(name: &str) -> Option<u64> {
    std::env::var(name).ok().and_then(|v| v.parse().ok())
}

/// `b"..."` as an owned argument.
pub fn b(s: &str) -> Vec<u8> {
    s.as_bytes().to_vec()
}

/// A command from string words.
pub fn cmd_of(check: Check, words: &[&str]) -> Cmd {
    Cmd::new(check, words.iter().map(|w| b(w)).collect())
}

/// Run proptest-generated command sequences on both servers, each after FLUSHALL and followed
/// by `dump`; panics with the shrunk transcript at the first difference. CI (`CI=true`) replays
/// `ci_seed`; a local run explores a new seed each time (`FERRODIS_DIFF_SEED` replays one,
/// `FERRODIS_DIFF_CASES` sets the case count, default `default_cases`).
pub fn run_random<S>(name: &str, strategy: S, dump: &[Cmd], ci_seed: u64, default_cases: u32)
where
    S: Strategy<Value = Vec<Cmd>>,
{
    let Some(servers) = start_servers() else {
        return;
    };
    run_random_with(
        name,
        &servers,
        strategy,
        ci_seed,
        default_cases,
        |s, seq| run_sequence(s, seq, dump),
    );
}

/// [`run_random`] with a file's own runner: `run` plays one generated sequence on `servers`
/// (e.g. with its own comparison rules or setup) and describes the first difference.
pub fn run_random_with<S, F>(
    name: &str,
    servers: &Servers,
    strategy: S,
    ci_seed: u64,
    default_cases: u32,
    run: F,
) where
    S: Strategy<Value = Vec<Cmd>>,
    F: Fn(&Servers, &[Cmd]) -> Result<(), String>,
{
    let ci = std::env::var("CI").map(|v| v == "true").unwrap_or(false);
    let seed = env_u64("FERRODIS_DIFF_SEED").unwrap_or_else(|| {
        if ci {
            return ci_seed;
        }
        SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_nanos() as u64)
            .unwrap_or(1)
    });
    let cases = env_u64("FERRODIS_DIFF_CASES").map_or(default_cases, |c| c as u32);
    eprintln!("{name}: seed {seed} ({cases} cases); replay with FERRODIS_DIFF_SEED={seed}");
    let mut seed_bytes = [0u8; 32];
    for (i, chunk) in seed_bytes.chunks_mut(8).enumerate() {
        chunk.copy_from_slice(
            &seed
                .wrapping_mul(0x9E37_79B9_7F4A_7C15)
                .wrapping_add(i as u64)
                .to_le_bytes(),
        );
    }
    let config = Config {
        cases,
        max_shrink_iters: 2000,
        // The failure is reported by the panic below; no regression file in the tree.
        failure_persistence: None,
        ..Config::default()
    };
    let mut runner = TestRunner::new_with_rng(
        config,
        TestRng::from_seed(RngAlgorithm::ChaCha, &seed_bytes),
    );
    let started = Instant::now();
    let result = runner.run(&strategy, |seq| {
        run(servers, &seq).map_err(TestCaseError::fail)
    });
    eprintln!("{name}: {:?}", started.elapsed());
    match result {
        Ok(()) => {}
        // `why` holds the shrunk sequence's transcript up to the first difference.
        Err(TestError::Fail(why, _)) => panic!(
            "ferrodis differs from redis-server (seed {seed}); shrunk sequence, after FLUSHALL:\n{why}"
        ),
        Err(e) => panic!("seed {seed}: {e}"),
    }
}

/// Run a fixed sequence on both servers (fresh servers, same comparison rules, then `dump`);
/// shrunk failures of the random tests live on as named tests calling this.
pub fn regression(seq: &[(Check, &[&[u8]])], dump: &[Cmd]) {
    let cmds: Vec<Cmd> = seq
        .iter()
        .map(|(check, argv)| Cmd::new(*check, argv.iter().map(|a| a.to_vec()).collect()))
        .collect();
    regression_with(&cmds, |s, seq| run_sequence(s, seq, dump));
}

/// [`regression`] with a file's own runner (see [`run_random_with`]), on fresh servers.
pub fn regression_with<F>(cmds: &[Cmd], run: F)
where
    F: FnOnce(&Servers, &[Cmd]) -> Result<(), String>,
{
    let Some(servers) = start_servers() else {
        return;
    };
    if let Err(why) = run(&servers, cmds) {
        panic!("ferrodis differs from redis-server:\n{why}");
    }
}
