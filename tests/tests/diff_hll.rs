//! Differential test of the HyperLogLog commands: random sequences of PFADD, PFCOUNT, PFMERGE and
//! PFDEBUG (GETREG/DECODE/ENCODING/TODENSE and an unknown subcommand), with wrong types (a plain
//! string, an integer string, a list), corruptions written with SETRANGE/APPEND, and SET of
//! arbitrary short strings, run against ferrodis (in-process) and Debian's redis-server 7.0.15.
//! Replies must match RESP frame for frame, and the state dump compares the exact bytes of every
//! key (GET), so the sparse opcode editing, promotion to dense and the cached cardinality are
//! checked byte for byte.
//!
//! Each case starts with `CONFIG SET hll-sparse-max-bytes` at 40, 300 or 3000 so that sparse to
//! dense promotion happens within a few commands.
//!
//! A second test goes the other way: HyperLogLogs produced by redis-server (sparse and dense,
//! some corrupted) are SET into ferrodis and then counted, added to, merged and debugged on both
//! servers.
//!
//! PFSELFTEST is not run here (ten million additions in a debug build); the Tcl suite runs it.
//!
//! Seed: printed at start; `FERRODIS_DIFF_SEED=<u64>` replays, `FERRODIS_DIFF_CASES=<n>` sets
//! the case count (default 150). `FERRODIS_DIFF_SKIP` hides known differences (see `diff`).

use ferrodis_resp::Frame;
use ferrodis_tests::diff::{self, b, Check, Cmd};
use ferrodis_tests::RespConn;
use proptest::prelude::*;
use proptest::strategy::BoxedStrategy;

const KEYS: &[&str] = &["h1", "h2", "{t}h3", "{t}h4", "str", "int", "list"];

fn key() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        8 => prop::sample::select(&KEYS[..4]).prop_map(b),
        1 => prop::sample::select(&KEYS[4..]).prop_map(b),
    ]
}

fn keys(max: usize) -> impl Strategy<Value = Vec<Vec<u8>>> {
    prop::collection::vec(key(), 1..max)
}

fn element() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        4 => (0u32..300).prop_map(|n| n.to_string().into_bytes()),
        2 => prop::sample::select(&["a", "b", "c", "", "hello world", "\u{e9}t\u{e9}"][..])
            .prop_map(b),
        1 => prop::collection::vec(any::<u8>(), 0..24),
    ]
}

fn with(name: &str, args: Vec<Vec<u8>>) -> Cmd {
    let mut v = vec![b(name)];
    v.extend(args);
    Cmd::new(Check::Exact, v)
}

fn command() -> BoxedStrategy<Cmd> {
    prop_oneof![
        10 => (key(), prop::collection::vec(element(), 0..8))
            .prop_map(|(k, e)| with("PFADD", [vec![k], e].concat())),
        // A batch of distinct elements: reaches the sparse limit and the dense form.
        3 => (key(), 0u32..100_000, 20u32..400).prop_map(|(k, from, n)| {
            let e = (from..from + n).map(|i| format!("e{i}").into_bytes());
            with("PFADD", std::iter::once(k).chain(e).collect())
        }),
        6 => keys(4).prop_map(|k| with("PFCOUNT", k)),
        4 => keys(4).prop_map(|k| with("PFMERGE", k)),
        1 => Just(with("PFMERGE", vec![])),
        3 => (
            prop::sample::select(&["ENCODING", "DECODE", "TODENSE", "GETREG", "encoding", "nope"][..]),
            key(),
        )
            .prop_map(|(s, k)| with("PFDEBUG", vec![b(s), k])),
        // Corruption: overwrite a few bytes, or extend the value.
        2 => (key(), 0u32..40, prop::collection::vec(any::<u8>(), 1..3))
            .prop_map(|(k, off, bytes)| with("SETRANGE", vec![k, off.to_string().into_bytes(), bytes])),
        1 => (key(), prop::sample::select(&["x", "@", "\u{80}", "\u{40}\u{0}"][..]))
            .prop_map(|(k, s)| with("APPEND", vec![k, b(s)])),
        1 => (key(), prop::collection::vec(any::<u8>(), 0..20))
            .prop_map(|(k, v)| with("SET", vec![k, v])),
        1 => Just(with("DEL", vec![b("h1"), b("{t}h3")])),
    ]
    .boxed()
}

fn setup() -> Vec<Cmd> {
    vec![
        with("SET", vec![b("str"), b("not an hll")]),
        with("SET", vec![b("int"), b("12345")]),
        with("RPUSH", vec![b("list"), b("a")]),
    ]
}

fn sequence() -> impl Strategy<Value = Vec<Cmd>> {
    (
        prop::sample::select(&["40", "300", "3000"][..]),
        prop::collection::vec(command(), 10..40),
    )
        .prop_map(|(max, cmds)| {
            let mut out = vec![with(
                "CONFIG",
                vec![b("SET"), b("hll-sparse-max-bytes"), b(max)],
            )];
            out.extend(setup());
            out.extend(cmds);
            out
        })
}

/// TYPE, OBJECT ENCODING and the exact bytes of every key, then PFCOUNT (which may write the
/// cache) and the bytes again.
fn state_dump() -> Vec<Cmd> {
    let mut out = Vec::new();
    for k in KEYS {
        for c in ["TYPE", "GET", "PFCOUNT", "GET", "OBJECT"] {
            let mut argv = vec![b(c)];
            if c == "OBJECT" {
                argv.push(b("ENCODING"));
            }
            argv.push(b(k));
            out.push(Cmd::new(Check::Exact, argv));
        }
    }
    out
}

#[test]
fn random_hll_sequences_match_redis() {
    diff::run_random("diff_hll", sequence(), &state_dump(), 0x4811_0001, 150);
}

#[test]
fn fixed_sequences_match_redis() {
    let seq: &[(Check, &[&[u8]])] = &[
        (Check::Exact, &[b"PFADD", b"h1"]),
        (Check::Exact, &[b"GET", b"h1"]),
        (Check::Exact, &[b"PFCOUNT", b"h1"]),
        (Check::Exact, &[b"GET", b"h1"]),
        (Check::Exact, &[b"PFADD", b"h1", b"a", b"b", b"c"]),
        (Check::Exact, &[b"PFADD", b"h1", b"a", b"b", b"c"]),
        (Check::Exact, &[b"PFDEBUG", b"DECODE", b"h1"]),
        (Check::Exact, &[b"PFCOUNT", b"h1", b"nokey"]),
        (Check::Exact, &[b"PFMERGE", b"h2", b"h1"]),
        (Check::Exact, &[b"PFDEBUG", b"TODENSE", b"h1"]),
        (Check::Exact, &[b"PFDEBUG", b"TODENSE", b"h1"]),
        (Check::Exact, &[b"PFDEBUG", b"DECODE", b"h1"]),
        (Check::Exact, &[b"PFMERGE", b"h3", b"h1", b"h2"]),
        (Check::Exact, &[b"PFDEBUG", b"ENCODING", b"h3"]),
        (Check::Exact, &[b"PFDEBUG", b"GETREG", b"h2"]),
        (Check::Exact, &[b"PFDEBUG", b"GETREG", b"nokey"]),
        (Check::Exact, &[b"PFDEBUG", b"bogus", b"h2"]),
        (Check::Exact, &[b"SET", b"s", b"HYLL"]),
        (Check::Exact, &[b"PFADD", b"s", b"x"]),
        (Check::Exact, &[b"SET", b"n", b"1234567890123456"]),
        (Check::Exact, &[b"PFCOUNT", b"n"]),
        (Check::Exact, &[b"RPUSH", b"l", b"x"]),
        (Check::Exact, &[b"PFCOUNT", b"l"]),
        (Check::Exact, &[b"PFMERGE", b"l", b"h1"]),
        (Check::Exact, &[b"PFADD", b"h1", b"d"]),
        (Check::Exact, &[b"APPEND", b"h1", b"x"]),
        (Check::Exact, &[b"PFCOUNT", b"h1"]),
        (Check::Exact, &[b"PFADD", b"h2", b"d"]),
        (Check::Exact, &[b"APPEND", b"h2", b"x"]),
        (Check::Exact, &[b"PFCOUNT", b"h2"]),
        (Check::Exact, &[b"PFCOUNT", b"h2", b"h3"]),
        (Check::Exact, &[b"PFMERGE", b"h4", b"h2"]),
        (Check::Exact, &[b"PFDEBUG", b"DECODE", b"h2"]),
        (Check::Exact, &[b"PFDEBUG", b"GETREG", b"h2"]),
    ];
    let dump = ["h1", "h2", "h3", "h4", "s", "n"]
        .iter()
        .flat_map(|k| [diff::cmd_of(Check::Exact, &["GET", k])])
        .collect::<Vec<_>>();
    diff::regression(seq, &dump);
}

// ---- Redis-produced values into ferrodis ------------------------------------------------------

struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
}

fn run(conn: &mut RespConn, argv: &[&[u8]]) -> Frame {
    conn.cmd(argv).expect("command")
}

/// Both servers, same command, same reply.
fn both(ours: &mut RespConn, real: &mut RespConn, argv: &[&[u8]], log: &mut String) -> Frame {
    let r = run(real, argv);
    let o = run(ours, argv);
    let text = format!(
        "{:?}",
        Cmd::new(Check::Exact, argv.iter().map(|a| a.to_vec()).collect())
    );
    assert_eq!(o, r, "{log}{text}: ferrodis differs from redis-server");
    log.push_str(&format!("  {text}\n"));
    r
}

#[test]
fn redis_produced_hlls_work_in_ferrodis() {
    let Some(servers) = diff::start_servers() else {
        return;
    };
    let mut ours = servers.ours.connect().expect("connect ours");
    let mut real = servers.real.connect().expect("connect real");
    let seed = diff::env_u64("FERRODIS_DIFF_SEED").unwrap_or(0x4811_0002);
    let mut rng = Rng(seed | 1);
    for round in 0..60 {
        let mut log = format!("seed {seed} round {round}:\n");
        run(&mut ours, &[b"FLUSHALL"]);
        run(&mut real, &[b"FLUSHALL"]);
        // Build a HLL on Redis only: sparse for few elements, dense for many.
        let n = [0, 3, 50, 400, 1500, 5000][round % 6] + rng.next() % 50;
        let elements: Vec<Vec<u8>> = (0..n)
            .map(|_| format!("r{}", rng.next() % 100_000).into_bytes())
            .collect();
        for chunk in elements.chunks(500) {
            let mut argv: Vec<&[u8]> = vec![b"PFADD", b"src"];
            argv.extend(chunk.iter().map(Vec::as_slice));
            run(&mut real, &argv);
        }
        if elements.is_empty() {
            run(&mut real, &[b"PFADD", b"src"]);
        }
        if round % 4 == 1 {
            // A cached cardinality.
            run(&mut real, &[b"PFCOUNT", b"src"]);
        }
        let Frame::Bulk(mut bytes) = run(&mut real, &[b"GET", b"src"]) else {
            panic!("GET src on redis-server");
        };
        if round % 3 == 2 && bytes.len() > 16 {
            // Corrupt one byte past the header.
            let mut v = bytes.to_vec();
            let pos = 16 + (rng.next() as usize) % (v.len() - 16);
            v[pos] = rng.next() as u8;
            bytes = v.into();
        }
        both(&mut ours, &mut real, &[b"SET", b"h", &bytes], &mut log);
        both(
            &mut ours,
            &mut real,
            &[b"OBJECT", b"ENCODING", b"h"],
            &mut log,
        );
        both(&mut ours, &mut real, &[b"PFCOUNT", b"h"], &mut log);
        both(
            &mut ours,
            &mut real,
            &[b"OBJECT", b"ENCODING", b"h"],
            &mut log,
        );
        both(&mut ours, &mut real, &[b"GET", b"h"], &mut log);
        both(
            &mut ours,
            &mut real,
            &[b"PFCOUNT", b"h", b"missing"],
            &mut log,
        );
        both(
            &mut ours,
            &mut real,
            &[b"PFADD", b"h", b"x", b"y", b"z"],
            &mut log,
        );
        both(
            &mut ours,
            &mut real,
            &[b"PFDEBUG", b"DECODE", b"h"],
            &mut log,
        );
        both(&mut ours, &mut real, &[b"GET", b"h"], &mut log);
        both(
            &mut ours,
            &mut real,
            &[b"PFADD", b"g", b"x", b"q"],
            &mut log,
        );
        both(&mut ours, &mut real, &[b"PFMERGE", b"g", b"h"], &mut log);
        both(&mut ours, &mut real, &[b"GET", b"g"], &mut log);
        both(&mut ours, &mut real, &[b"PFMERGE", b"m", b"h"], &mut log);
        both(&mut ours, &mut real, &[b"GET", b"m"], &mut log);
        both(
            &mut ours,
            &mut real,
            &[b"PFDEBUG", b"TODENSE", b"h"],
            &mut log,
        );
        both(&mut ours, &mut real, &[b"GET", b"h"], &mut log);
        both(&mut ours, &mut real, &[b"PFCOUNT", b"h"], &mut log);
        both(&mut ours, &mut real, &[b"GET", b"h"], &mut log);
    }
}

/// Corruptions at the end of a sparse value: an XZERO cut in half (its second byte reads as
/// zero) and trailing opcodes past the 16384th register, then writes and reads over them.
#[test]
fn corrupted_tails_match_redis() {
    let mut seq: Vec<(Check, &[&[u8]])> = Vec::new();
    let adds: &[&[u8]] = &[b"PFADD", b"h", b"a", b"b", b"c", b"d", b"e", b"f", b"g"];
    for tail in [
        &b"@"[..],
        b"\x7f",
        b"\x00",
        b"\x80",
        b"\x40\x00",
        b"\xff\x01",
    ] {
        seq.push((Check::Exact, &[b"DEL", b"h"]));
        seq.push((Check::Exact, &[b"PFADD", b"h", b"x"]));
        seq.push((Check::Exact, &[b"PFDEBUG", b"DECODE", b"h"]));
        let append: &[&[u8]] = Box::leak(vec![&b"APPEND"[..], b"h", tail].into_boxed_slice());
        seq.push((Check::Exact, append));
        seq.push((Check::Exact, &[b"PFDEBUG", b"DECODE", b"h"]));
        seq.push((Check::Exact, adds));
        seq.push((Check::Exact, &[b"GET", b"h"]));
        seq.push((Check::Exact, &[b"PFCOUNT", b"h"]));
        seq.push((Check::Exact, &[b"PFCOUNT", b"h", b"h"]));
        seq.push((Check::Exact, &[b"PFMERGE", b"h2", b"h"]));
        seq.push((Check::Exact, &[b"PFDEBUG", b"TODENSE", b"h"]));
        seq.push((Check::Exact, &[b"GET", b"h"]));
    }
    diff::regression(&seq, &[diff::cmd_of(Check::Exact, &["GET", "h2"])]);
}
