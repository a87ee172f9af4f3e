//! Differential test of the set commands: random sequences of SADD, SREM, SCARD, SISMEMBER,
//! SMISMEMBER, SMEMBERS, SRANDMEMBER, SPOP, SMOVE, SINTER, SINTERCARD, SINTERSTORE, SUNION,
//! SUNIONSTORE, SDIFF and SDIFFSTORE (errors included: wrong types, bad counts, bad numkeys and
//! LIMIT, wrong arity, syntax) run against ferrodis (in-process) and Debian's redis-server
//! 7.0.15; replies must match, RESP frame for frame, save the normalisations below.
//!
//! Each case starts with `CONFIG SET set-max-intset-entries` at 3, 8 or 512 so that `intset` to
//! `hashtable` conversions by size happen, then 10-40 commands over a pool of five keys (two
//! sharing a hash tag, one used for strings), members mixing canonical integers, non-canonical
//! ones (`007`, `+1`, `-0`), text and long strings, and `HELLO 2/3` switches so RESP3 shapes
//! (sets, nulls) are compared too. The state dump gives TYPE, OBJECT ENCODING, SCARD and the
//! sorted members of every pool key.
//!
//! # Normalisations
//! - Unordered replies (SMEMBERS, SINTER, SUNION, SDIFF) are sorted: their order is hash-table
//!   order.
//! - SRANDMEMBER and SPOP are random. Their replies are checked against the set as it was just
//!   before (read from redis-server): every member must belong to it, positive counts must give
//!   distinct members, and the reply kind (bulk, array, RESP3 set) and length must match Redis.
//!   A reply that covers the whole set is compared as a sorted list.
//! - After an SPOP the two servers hold different members. ferrodis is then brought to Redis's
//!   state (SADD what only it kept... see [`resync_after_spop`]); when SPOP rebuilt the remaining
//!   members as a new set (Redis's third strategy) the encoding each server chose is first
//!   checked against the rule (`intset` iff every member is a canonical integer and they fit).
//!
//! Seed: printed at start; `FERRODIS_DIFF_SEED=<u64>` replays, `FERRODIS_DIFF_CASES=<n>` sets
//! the case count (default 300). `FERRODIS_DIFF_SKIP` hides known differences (see `diff`).

use ferrodis_resp::Frame;
use ferrodis_tests::diff::{self, b, execute, io, sort_frames, Check, Cmd, Servers};
use ferrodis_tests::{simple, RespConn};
use proptest::prelude::*;
use proptest::strategy::{BoxedStrategy, Union};

const KEYS: &[&str] = &["s1", "s2", "{t}s3", "{t}s4", "str"];

/// SPOP with a count leaving at most a fifth of it behind rebuilds the rest (Redis's
/// SPOP_MOVE_STRATEGY_MUL).
const SPOP_MOVE_STRATEGY_MUL: u64 = 5;

// ---- strategies ------------------------------------------------------------------------------

fn key() -> impl Strategy<Value = Vec<u8>> {
    prop::sample::select(KEYS).prop_map(b)
}

fn keys(max: usize) -> impl Strategy<Value = Vec<Vec<u8>>> {
    prop::collection::vec(key(), 1..max)
}

fn member() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        6 => (0i64..14).prop_map(|n| n.to_string().into_bytes()),
        2 => prop::sample::select(&[
            "-1", "-3", "100", "65536", "4294967296", "9223372036854775807",
            "-9223372036854775808",
        ][..]).prop_map(b),
        1 => prop::sample::select(&[
            "007", "+1", " 1", "1.0", "-0", "9223372036854775808", "0x1",
        ][..]).prop_map(b),
        3 => prop::sample::select(&["a", "b", "c", "hello", "", "x y"][..]).prop_map(b),
        1 => "[a-c]{20,40}".prop_map(String::into_bytes),
    ]
}

fn members(max: usize) -> impl Strategy<Value = Vec<Vec<u8>>> {
    prop::collection::vec(member(), 1..max)
}

/// Counts for SPOP / SRANDMEMBER / LIMIT. No large negative count: Redis would stream a reply
/// of that many members.
fn count_arg() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        6 => (-12i64..16).prop_map(|n| n.to_string().into_bytes()),
        1 => prop::sample::select(&[
            "abc", "", "1.5", " 2", "9223372036854775807", "-9223372036854775808",
            "18446744073709551616", "100",
        ][..]).prop_map(b),
    ]
}

fn with(name: &str, args: Vec<Vec<u8>>) -> Vec<Vec<u8>> {
    let mut v = vec![b(name)];
    v.extend(args);
    v
}

fn exact(name: &'static str) -> impl Fn(Vec<Vec<u8>>) -> Cmd + Clone {
    move |args| Cmd::new(Check::Exact, with(name, args))
}

fn sorted(name: &'static str) -> impl Fn(Vec<Vec<u8>>) -> Cmd + Clone {
    move |args| Cmd::new(Check::Sorted, with(name, args))
}

fn command() -> BoxedStrategy<Cmd> {
    use Check::*;
    let arms: Vec<(u32, BoxedStrategy<Cmd>)> = vec![
        (
            8,
            (key(), members(6))
                .prop_map(|(k, m)| exact("SADD")([vec![k], m].concat()))
                .boxed(),
        ),
        (
            // A batch of integers, to cross set-max-intset-entries.
            1,
            (key(), 0i64..6, 4i64..24)
                .prop_map(|(k, from, n)| {
                    let m = (from..from + n).map(|i| i.to_string().into_bytes());
                    exact("SADD")(std::iter::once(k).chain(m).collect())
                })
                .boxed(),
        ),
        (
            4,
            (key(), members(4))
                .prop_map(|(k, m)| exact("SREM")([vec![k], m].concat()))
                .boxed(),
        ),
        (1, key().prop_map(|k| exact("SCARD")(vec![k])).boxed()),
        (
            1,
            (key(), member())
                .prop_map(|(k, m)| exact("SISMEMBER")(vec![k, m]))
                .boxed(),
        ),
        (
            1,
            (key(), members(4))
                .prop_map(|(k, m)| exact("SMISMEMBER")([vec![k], m].concat()))
                .boxed(),
        ),
        (2, key().prop_map(|k| sorted("SMEMBERS")(vec![k])).boxed()),
        (
            4,
            (
                key(),
                prop::option::of(count_arg()),
                prop::option::weighted(0.1, Just(b("extra"))),
            )
                .prop_map(|(k, c, x)| {
                    let args = [Some(k), c, x].into_iter().flatten().collect();
                    exact("SRANDMEMBER")(args)
                })
                .boxed(),
        ),
        (
            4,
            (
                key(),
                prop::option::of(count_arg()),
                prop::option::weighted(0.1, Just(b("extra"))),
            )
                .prop_map(|(k, c, x)| {
                    let args = [Some(k), c, x].into_iter().flatten().collect();
                    exact("SPOP")(args)
                })
                .boxed(),
        ),
        (
            3,
            (key(), key(), member())
                .prop_map(|(s, d, m)| exact("SMOVE")(vec![s, d, m]))
                .boxed(),
        ),
        (2, keys(4).prop_map(sorted("SINTER")).boxed()),
        (2, keys(4).prop_map(sorted("SUNION")).boxed()),
        (2, keys(5).prop_map(sorted("SDIFF")).boxed()),
        (
            2,
            (key(), keys(4))
                .prop_map(|(d, k)| exact("SINTERSTORE")([vec![d], k].concat()))
                .boxed(),
        ),
        (
            2,
            (key(), keys(4))
                .prop_map(|(d, k)| exact("SUNIONSTORE")([vec![d], k].concat()))
                .boxed(),
        ),
        (
            2,
            (key(), keys(5))
                .prop_map(|(d, k)| exact("SDIFFSTORE")([vec![d], k].concat()))
                .boxed(),
        ),
        (
            3,
            (
                keys(4),
                prop_oneof![
                    6 => Just(None),
                    1 => prop::sample::select(&["0", "-1", "abc", "9", ""][..]).prop_map(Some),
                ],
                prop::option::of(count_arg()),
                prop::option::weighted(0.1, prop::sample::select(&["LIMIT", "limit", "BAD"][..])),
            )
                .prop_map(|(k, numkeys, limit, tail)| {
                    let n = numkeys.map_or_else(|| k.len().to_string(), str::to_string);
                    let mut args = vec![n.into_bytes()];
                    args.extend(k);
                    if let Some(l) = limit {
                        args.extend([b("LIMIT"), l]);
                    }
                    if let Some(t) = tail {
                        args.push(b(t));
                    }
                    exact("SINTERCARD")(args)
                })
                .boxed(),
        ),
        (
            1,
            (key(), prop::sample::select(&["x", "12"][..]))
                .prop_map(|(k, v)| exact("SET")(vec![k, b(v)]))
                .boxed(),
        ),
        (1, key().prop_map(|k| exact("DEL")(vec![k])).boxed()),
        (
            1,
            key()
                .prop_map(|k| exact("OBJECT")(vec![b("ENCODING"), k]))
                .boxed(),
        ),
        (
            1,
            prop::sample::select(&["2", "3"][..])
                .prop_map(|p| Cmd::new(Hello, with("HELLO", vec![b(p)])))
                .boxed(),
        ),
        (
            // Wrong arity.
            1,
            prop::sample::select(
                &[
                    "SADD s1",
                    "SREM s1",
                    "SCARD",
                    "SCARD s1 x",
                    "SISMEMBER s1",
                    "SMISMEMBER s1",
                    "SMOVE s1 s2",
                    "SINTERCARD",
                    "SINTERSTORE s1",
                    "SPOP",
                    "SRANDMEMBER",
                    "SDIFF",
                    "SMEMBERS s1 s2",
                    "SUNIONSTORE s1",
                ][..],
            )
            .prop_map(|line| Cmd::new(Check::Exact, line.split(' ').map(b).collect()))
            .boxed(),
        ),
    ];
    Union::new_weighted(arms).boxed()
}

fn sequence() -> impl Strategy<Value = Vec<Cmd>> {
    (
        prop::sample::select(&["3", "8", "512"][..]),
        prop::collection::vec(command(), 10..40),
    )
        .prop_map(|(max, mut cmds)| {
            let config = [b("CONFIG"), b("SET"), b("set-max-intset-entries"), b(max)];
            cmds.insert(0, Cmd::new(Check::Exact, config.to_vec()));
            cmds
        })
}

fn state_dump() -> Vec<Cmd> {
    let mut out = Vec::new();
    for k in KEYS {
        out.push(Cmd::new(Check::Exact, vec![b("TYPE"), b(k)]));
        out.push(Cmd::new(
            Check::Exact,
            vec![b("OBJECT"), b("ENCODING"), b(k)],
        ));
        out.push(Cmd::new(Check::Exact, vec![b("SCARD"), b(k)]));
        out.push(Cmd::new(Check::Sorted, vec![b("SMEMBERS"), b(k)]));
    }
    out
}

// ---- the runner ------------------------------------------------------------------------------

/// The connections of one case: the two compared ones (which may switch to RESP3), plus RESP2
/// side connections: `oracle` reads redis-server's state, `fix` resyncs ferrodis after SPOP.
struct Conns {
    ours: RespConn,
    real: RespConn,
    oracle: RespConn,
    fix: RespConn,
}

/// A frame with its order-free parts sorted (arrays, RESP3 sets, map pairs).
fn unordered(f: Frame) -> Frame {
    match f {
        Frame::Array(mut v) => {
            sort_frames(&mut v);
            Frame::Array(v)
        }
        Frame::Set(mut v) => {
            sort_frames(&mut v);
            Frame::Set(v)
        }
        Frame::Map(mut v) => {
            v.sort_by(|x, y| format!("{x:?}").cmp(&format!("{y:?}")));
            Frame::Map(v)
        }
        other => other,
    }
}

fn bulks(items: &[Frame]) -> Option<Vec<Vec<u8>>> {
    items
        .iter()
        .map(|f| match f {
            Frame::Bulk(b) => Some(b.to_vec()),
            _ => None,
        })
        .collect()
}

/// The members of `key` on redis-server (empty when missing or not a set).
fn truth(c: &mut Conns, key: &[u8]) -> Result<Vec<Vec<u8>>, String> {
    match io("oracle", c.oracle.cmd(&[b"SMEMBERS", key]))? {
        Frame::Array(items) => bulks(&items).ok_or_else(|| "SMEMBERS: non-bulk member".into()),
        _ => Ok(Vec::new()),
    }
}

fn encoding(conn: &mut RespConn, key: &[u8]) -> Result<Frame, String> {
    io("OBJECT ENCODING", conn.cmd(&[b"OBJECT", b"ENCODING", key]))
}

fn max_intset(c: &mut Conns) -> Result<usize, String> {
    match io(
        "oracle",
        c.oracle
            .cmd(&[b"CONFIG", b"GET", b"set-max-intset-entries"]),
    )? {
        Frame::Array(v) => match v.get(1) {
            Some(Frame::Bulk(n)) => std::str::from_utf8(n)
                .ok()
                .and_then(|n| n.parse().ok())
                .ok_or_else(|| "bad set-max-intset-entries".into()),
            _ => Err("CONFIG GET set-max-intset-entries".into()),
        },
        f => Err(format!("CONFIG GET replied {f:?}")),
    }
}

/// Redis's rule for a set built from scratch: `intset` iff every member is a canonical 64-bit
/// integer and they are at most `set-max-intset-entries`.
fn fresh_encoding(members: &[Vec<u8>], max: usize) -> Frame {
    let canonical = |m: &Vec<u8>| {
        std::str::from_utf8(m)
            .ok()
            .and_then(|s| s.parse::<i64>().ok())
            .is_some_and(|i| i.to_string().as_bytes() == &m[..])
    };
    let enc = if members.len() <= max && members.iter().all(canonical) {
        "intset"
    } else {
        "hashtable"
    };
    Frame::Bulk(enc.as_bytes().to_vec().into())
}

/// What a random reply says, in a form both servers must agree on (see the module docs).
fn canon(f: &Frame, truth: &[Vec<u8>], count: Option<i64>) -> Frame {
    let (kind, items) = match f {
        Frame::Bulk(m) => {
            return if truth.iter().any(|t| t[..] == m[..]) {
                simple("one member of the set")
            } else {
                simple(&format!("not a member: {m:?}"))
            };
        }
        Frame::Array(v) => ("array", v),
        Frame::Set(v) => ("set", v),
        other => return other.clone(),
    };
    let Some(mut got) = bulks(items) else {
        return simple(&format!("{kind} with non-bulk items: {items:?}"));
    };
    if let Some(bad) = got.iter().find(|m| !truth.contains(m)) {
        return simple(&format!("{kind} with a non-member: {bad:?}"));
    }
    let len = got.len() as i64;
    got.sort();
    let distinct = got.windows(2).all(|w| w[0] != w[1]);
    match count {
        Some(n) if n > 0 && !distinct => simple(&format!("{kind} with repeated members")),
        Some(n) if n > 0 && n as u64 >= truth.len() as u64 => Frame::Array(
            std::iter::once(simple(kind))
                .chain(got.into_iter().map(|m| Frame::Bulk(m.into())))
                .collect(),
        ),
        _ => Frame::Array(vec![simple(kind), Frame::Integer(len)]),
    }
}

fn popped(f: &Frame) -> Vec<Vec<u8>> {
    match f {
        Frame::Bulk(m) => vec![m.to_vec()],
        Frame::Array(v) | Frame::Set(v) => bulks(v).unwrap_or_default(),
        _ => Vec::new(),
    }
}

fn minus(a: &[Vec<u8>], b: &[Vec<u8>]) -> Vec<Vec<u8>> {
    a.iter().filter(|m| !b.contains(m)).cloned().collect()
}

fn send(conn: &mut RespConn, name: &str, key: &[u8], args: &[Vec<u8>]) -> Result<(), String> {
    let mut argv: Vec<&[u8]> = vec![name.as_bytes(), key];
    argv.extend(args.iter().map(Vec::as_slice));
    match io("fix", conn.cmd(&argv))? {
        Frame::Error(e) => Err(format!("{name}: {e:?}")),
        _ => Ok(()),
    }
}

/// After SPOP removed `ours` members on ferrodis and `real` ones on redis-server (from a set
/// that held `truth`), make ferrodis hold what redis-server holds.
fn resync_after_spop(
    c: &mut Conns,
    key: &[u8],
    truth: &[Vec<u8>],
    count: Option<i64>,
    (ours, real): (Vec<Vec<u8>>, Vec<Vec<u8>>),
) -> Result<(), String> {
    let size = truth.len() as u64;
    if ours.is_empty() || real.is_empty() || real.len() as u64 >= size {
        return Ok(()); // nothing popped, or the whole set (both keys are gone)
    }
    let rebuilt = count.is_some_and(|n| {
        let n = n as u64;
        n < size && (size - n) * SPOP_MOVE_STRATEGY_MUL <= n
    });
    if rebuilt {
        let max = max_intset(c)?;
        let want_ours = fresh_encoding(&minus(truth, &ours), max);
        let want_real = fresh_encoding(&minus(truth, &real), max);
        let got_ours = encoding(&mut c.fix, key)?;
        let got_real = encoding(&mut c.oracle, key)?;
        if got_real != want_real {
            return Err(format!(
                "test bug: redis-server's set after SPOP is {got_real:?}, expected {want_real:?}"
            ));
        }
        if got_ours != want_ours {
            return Err(format!(
                "ferrodis's set after SPOP (new-set strategy) is {got_ours:?}, expected {want_ours:?}"
            ));
        }
        // A rebuilt set on Redis: the same rebuild on ours.
        send(&mut c.fix, "DEL", key, &[])?;
        send(&mut c.fix, "SADD", key, &minus(truth, &real))?;
        return Ok(());
    }
    // Same encoding on both (members were only removed): add back first so the key never
    // empties.
    let add = minus(&ours, &real);
    let rem = minus(&real, &ours);
    if !add.is_empty() {
        send(&mut c.fix, "SADD", key, &add)?;
    }
    if !rem.is_empty() {
        send(&mut c.fix, "SREM", key, &rem)?;
    }
    Ok(())
}

/// Run one command on both servers; the frames returned are compared.
fn run_one(c: &mut Conns, cmd: &Cmd) -> Result<(Frame, Frame), String> {
    let plain = Cmd::new(
        if cmd.check == Check::Sorted {
            Check::Exact
        } else {
            cmd.check
        },
        cmd.argv.clone(),
    );
    let name = cmd.argv[0].to_ascii_uppercase();
    let random = matches!(&name[..], b"SPOP" | b"SRANDMEMBER") && cmd.argv.len() >= 2;
    if !random {
        let r = execute(&mut c.real, &plain).map_err(|e| format!("redis-server: {e}"))?;
        let o = execute(&mut c.ours, &plain).map_err(|e| format!("ferrodis: {e}"))?;
        return Ok(if cmd.check == Check::Sorted {
            (unordered(o), unordered(r))
        } else {
            (o, r)
        });
    }
    let key = cmd.argv[1].clone();
    let before = truth(c, &key)?;
    let r = execute(&mut c.real, &plain).map_err(|e| format!("redis-server: {e}"))?;
    let o = execute(&mut c.ours, &plain).map_err(|e| format!("ferrodis: {e}"))?;
    let count = cmd
        .argv
        .get(2)
        .and_then(|a| std::str::from_utf8(a).ok())
        .and_then(|a| a.parse::<i64>().ok());
    let (co, cr) = (canon(&o, &before, count), canon(&r, &before, count));
    if name == b"SPOP" && co == cr {
        resync_after_spop(c, &key, &before, count, (popped(&o), popped(&r)))?;
    }
    Ok((co, cr))
}

fn run_case(s: &Servers, seq: &[Cmd], dump: &[Cmd]) -> Result<(), String> {
    diff::flushall_both(s)?;
    let mut c = Conns {
        ours: io("connect", s.ours.connect())?,
        real: io("connect", s.real.connect())?,
        oracle: io("connect", s.real.connect())?,
        fix: io("connect", s.ours.connect())?,
    };
    diff::run_steps(seq, dump, |cmd| run_one(&mut c, cmd))
}

/// As `diff::run_random`, with this file's runner.
fn run_random(name: &str, ci_seed: u64, default_cases: u32) {
    let Some(servers) = diff::start_servers() else {
        return;
    };
    let dump = state_dump();
    diff::run_random_with(
        name,
        &servers,
        sequence(),
        ci_seed,
        default_cases,
        |s, seq| run_case(s, seq, &dump),
    );
}

#[test]
fn random_set_sequences_match_redis() {
    run_random("diff_sets", 0x5e75_0001, 300);
}

/// A fixed sequence through this file's runner (fresh servers, then the state dump).
fn regression(seq: &[&[&str]]) {
    let cmds: Vec<Cmd> = seq
        .iter()
        .map(|argv| {
            let check = match argv[0] {
                "SMEMBERS" | "SINTER" | "SUNION" | "SDIFF" => Check::Sorted,
                "HELLO" => Check::Hello,
                _ => Check::Exact,
            };
            Cmd::new(check, argv.iter().map(|a| b(a)).collect())
        })
        .collect();
    diff::regression_with(&cmds, |s, seq| run_case(s, seq, &state_dump()));
}

#[test]
fn spop_new_set_strategy_recomputes_the_encoding() {
    // A `hashtable` of integers (past the limit) whose few remaining members fit an intset.
    let mut add: Vec<String> = vec!["SADD".into(), "s1".into()];
    add.extend((0..20).map(|i| i.to_string()));
    let add: Vec<&str> = add.iter().map(String::as_str).collect();
    regression(&[
        &["CONFIG", "SET", "set-max-intset-entries", "8"],
        &add,
        &["OBJECT", "ENCODING", "s1"],
        &["SPOP", "s1", "18"],
        &["OBJECT", "ENCODING", "s1"],
    ]);
}

#[test]
fn sdiffstore_second_algorithm_keeps_a_hashtable() {
    // SDIFF's second algorithm adds the whole first set before removing: the result of a
    // `hashtable` first set stays `hashtable` even when only integers remain.
    regression(&[
        &["CONFIG", "SET", "set-max-intset-entries", "512"],
        &["SADD", "s1", "1", "2", "3", "4", "5", "a"],
        &["SADD", "s2", "a"],
        &["SADD", "{t}s3", "b"],
        &["SDIFFSTORE", "{t}s4", "s1", "s2", "{t}s3"],
        &["OBJECT", "ENCODING", "{t}s4"],
        &["SDIFFSTORE", "{t}s4", "s1", "s2"],
        &["OBJECT", "ENCODING", "{t}s4"],
    ]);
}

#[test]
fn resp3_shapes_and_errors() {
    regression(&[
        &["HELLO", "3"],
        &["SMEMBERS", "s1"],
        &["SPOP", "s1", "3"],
        &["SPOP", "s1"],
        &["SRANDMEMBER", "s1", "3"],
        &["SINTER", "s1", "s2"],
        &["SADD", "s1", "1", "2", "x"],
        &["SPOP", "s1", "0"],
        &["SPOP", "s1", "-1"],
        &["SPOP", "s1", "abc"],
        &["SRANDMEMBER", "s1", "-9223372036854775808"],
        &["SRANDMEMBER", "s1", "abc"],
        &["SINTERCARD", "0", "s1"],
        &["SINTERCARD", "3", "s1"],
        &["SINTERCARD", "1", "s1", "LIMIT", "-1"],
        &["SINTERCARD", "1", "s1", "LIMIT"],
        &["SET", "str", "v"],
        &["SINTER", "s1", "missing", "str"],
        &["SMOVE", "missing", "str", "x"],
        &["SMOVE", "s1", "str", "x"],
        &["SPOP", "s1", "10"],
    ]);
}
