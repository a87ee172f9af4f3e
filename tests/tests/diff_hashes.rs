//! Differential test of the hash commands: random sequences of HSET, HMSET, HSETNX, HGET,
//! HMGET, HDEL, HLEN, HSTRLEN, HEXISTS, HKEYS, HVALS, HGETALL, HINCRBY, HINCRBYFLOAT and
//! HRANDFIELD (errors included: wrong types, odd HSET arity, non-integer and overflowing
//! increments, NaN/infinite floats, out-of-range counts, syntax) run against ferrodis
//! (in-process) and Debian's redis-server 7.0.15; replies must match, RESP frame for frame, save
//! the normalisations below.
//!
//! Each case starts with `CONFIG SET hash-max-listpack-entries` (2, 4 or 128) and
//! `hash-max-listpack-value` (4, 8 or 64) so that `listpack` to `hashtable` conversions by size
//! and by length happen, then 10-40 commands over a pool of four keys (one used for strings),
//! fields and values mixing integers, floats, text, empty and long strings, and `HELLO 2/3`
//! switches so RESP3 shapes (maps, nested HRANDFIELD pairs, nulls) are compared too. The state
//! dump gives TYPE, OBJECT ENCODING, HLEN, HMGET of every pool field and the sorted pairs of
//! every pool key.
//!
//! # Normalisations
//! - HKEYS and HVALS are sorted, HGETALL's pairs are sorted (hash-table order differs).
//! - HRANDFIELD is random. Its replies are checked against the hash as it was just before (read
//!   from redis-server): every field (and value, WITHVALUES) must belong to it, positive counts
//!   must give distinct fields, and the reply's shape (flat pairs in RESP2, nested in RESP3) and
//!   length must match Redis. A reply covering the whole hash is compared as a sorted list.
//!
//! Seed: printed at start; `FERRODIS_DIFF_SEED=<u64>` replays, `FERRODIS_DIFF_CASES=<n>` sets
//! the case count (default 300). `FERRODIS_DIFF_SKIP` hides known differences (see `diff`).

use ferrodis_resp::Frame;
use ferrodis_tests::diff::{self, b, execute, io, sort_frames, Check, Cmd, Servers};
use ferrodis_tests::{simple, RespConn};
use proptest::prelude::*;
use proptest::strategy::{BoxedStrategy, Union};

const KEYS: &[&str] = &["h1", "h2", "{t}h3", "str"];
const FIELDS: &[&str] = &[
    "f1",
    "f2",
    "f3",
    "f4",
    "f5",
    "",
    "1",
    "-5",
    "long-field-name-0123456789",
];

// ---- strategies ------------------------------------------------------------------------------

fn key() -> impl Strategy<Value = Vec<u8>> {
    prop::sample::select(KEYS).prop_map(b)
}

fn field() -> impl Strategy<Value = Vec<u8>> {
    prop::sample::select(FIELDS).prop_map(b)
}

fn fields(max: usize) -> impl Strategy<Value = Vec<Vec<u8>>> {
    prop::collection::vec(field(), 1..max)
}

fn value() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        4 => prop::sample::select(&[
            "0", "1", "-1", "10", "123", "9223372036854775807", "-9223372036854775808",
            "9223372036854775808", "007", " 1", "+5",
        ][..]).prop_map(b),
        2 => prop::sample::select(&[
            "1.5", "-0.25", "1e3", "3.0e0", "1.7976931348623157e308", "inf", "nan", ".5",
        ][..]).prop_map(b),
        3 => prop::sample::select(&["abc", "", "hello world", "x"][..]).prop_map(b),
        1 => "[a-c]{5,12}".prop_map(String::into_bytes),
        1 => "[a-c]{60,80}".prop_map(String::into_bytes),
    ]
}

fn pairs(max: usize) -> impl Strategy<Value = Vec<Vec<u8>>> {
    prop::collection::vec((field(), value()), 1..max)
        .prop_map(|v| v.into_iter().flat_map(|(f, x)| [f, x]).collect())
}

fn int_incr() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        4 => (-20i64..20).prop_map(|n| n.to_string().into_bytes()),
        1 => prop::sample::select(&[
            "9223372036854775807", "-9223372036854775808", "9223372036854775808", "abc", "1.5",
            "", " 1",
        ][..]).prop_map(b),
    ]
}

fn float_incr() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        4 => prop::sample::select(&["1", "-1", "1.5", "-0.25", "0.1", "1e3", "10", "5.0e3"][..])
            .prop_map(b),
        1 => prop::sample::select(&[
            "inf", "-inf", "nan", "abc", "", "1.7976931348623157e308", "1e309", " 1",
        ][..]).prop_map(b),
    ]
}

/// HRANDFIELD arguments after the key. No valid large negative count: Redis would stream a
/// reply of that many fields.
fn hrandfield_args() -> impl Strategy<Value = Vec<Vec<u8>>> {
    let count = prop_oneof![
        6 => (-12i64..16).prop_map(|n| n.to_string().into_bytes()),
        1 => prop::sample::select(&[
            "abc", "", "1.5", "9223372036854775807", "-9223372036854775808",
            "4611686018427387903",
        ][..]).prop_map(b),
    ];
    prop_oneof![
        2 => Just(vec![]),
        3 => count.clone().prop_map(|c| vec![c]),
        3 => count.prop_map(|c| vec![c, b("WITHVALUES")]),
        1 => prop::sample::select(ODD_HRANDFIELD).prop_map(|a| a.iter().map(|s| b(s)).collect()),
    ]
}

/// HRANDFIELD argument lists that are errors on Redis (range, syntax).
const ODD_HRANDFIELD: &[&[&str]] = &[
    &["-9223372036854770000", "WITHVALUES"],
    &["-9223372036854775808", "withvalues"],
    &["4611686018427387904", "WITHVALUES"],
    &["-4611686018427387904", "WITHVALUES"],
    &["3", "WITHSCORES"],
    &["3", "WITHVALUES", "x"],
    &["-9223372036854775808"],
];

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
    let arms: Vec<(u32, BoxedStrategy<Cmd>)> = vec![
        (
            8,
            (key(), pairs(5))
                .prop_map(|(k, p)| exact("HSET")([vec![k], p].concat()))
                .boxed(),
        ),
        (
            2,
            (key(), pairs(4))
                .prop_map(|(k, p)| exact("HMSET")([vec![k], p].concat()))
                .boxed(),
        ),
        (
            // Odd number of arguments.
            1,
            (key(), pairs(3), field(), prop::bool::ANY)
                .prop_map(|(k, p, f, m)| {
                    exact(if m { "HMSET" } else { "HSET" })([vec![k], p, vec![f]].concat())
                })
                .boxed(),
        ),
        (
            2,
            (key(), field(), value())
                .prop_map(|(k, f, v)| exact("HSETNX")(vec![k, f, v]))
                .boxed(),
        ),
        (
            2,
            (key(), field())
                .prop_map(|(k, f)| exact("HGET")(vec![k, f]))
                .boxed(),
        ),
        (
            2,
            (key(), fields(4))
                .prop_map(|(k, f)| exact("HMGET")([vec![k], f].concat()))
                .boxed(),
        ),
        (
            3,
            (key(), fields(4))
                .prop_map(|(k, f)| exact("HDEL")([vec![k], f].concat()))
                .boxed(),
        ),
        (1, key().prop_map(|k| exact("HLEN")(vec![k])).boxed()),
        (
            1,
            (key(), field())
                .prop_map(|(k, f)| exact("HSTRLEN")(vec![k, f]))
                .boxed(),
        ),
        (
            1,
            (key(), field())
                .prop_map(|(k, f)| exact("HEXISTS")(vec![k, f]))
                .boxed(),
        ),
        (1, key().prop_map(|k| sorted("HKEYS")(vec![k])).boxed()),
        (1, key().prop_map(|k| sorted("HVALS")(vec![k])).boxed()),
        (2, key().prop_map(|k| sorted("HGETALL")(vec![k])).boxed()),
        (
            3,
            (key(), field(), int_incr())
                .prop_map(|(k, f, n)| exact("HINCRBY")(vec![k, f, n]))
                .boxed(),
        ),
        (
            3,
            (key(), field(), float_incr())
                .prop_map(|(k, f, n)| exact("HINCRBYFLOAT")(vec![k, f, n]))
                .boxed(),
        ),
        (
            5,
            (key(), hrandfield_args())
                .prop_map(|(k, a)| exact("HRANDFIELD")([vec![k], a].concat()))
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
                .prop_map(|p| Cmd::new(Check::Hello, with("HELLO", vec![b(p)])))
                .boxed(),
        ),
        (
            // Wrong arity.
            1,
            prop::sample::select(
                &[
                    "HSET h1",
                    "HSETNX h1 f",
                    "HGET h1",
                    "HMGET h1",
                    "HDEL h1",
                    "HLEN",
                    "HLEN h1 x",
                    "HINCRBY h1 f",
                    "HINCRBYFLOAT h1 f 1 2",
                    "HRANDFIELD",
                    "HGETALL h1 x",
                    "HSTRLEN h1",
                    "HKEYS",
                    "HEXISTS h1",
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
        prop::sample::select(&["2", "4", "128"][..]),
        prop::sample::select(&["4", "8", "64"][..]),
        prop::collection::vec(command(), 10..40),
    )
        .prop_map(|(entries, value, mut cmds)| {
            let config = |name: &str, v: &str| {
                Cmd::new(Check::Exact, vec![b("CONFIG"), b("SET"), b(name), b(v)])
            };
            cmds.insert(0, config("hash-max-listpack-value", value));
            cmds.insert(0, config("hash-max-listpack-entries", entries));
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
        out.push(Cmd::new(Check::Exact, vec![b("HLEN"), b(k)]));
        let mut hmget = vec![b("HMGET"), b(k)];
        hmget.extend(FIELDS.iter().map(|f| b(f)));
        out.push(Cmd::new(Check::Exact, hmget));
        out.push(Cmd::new(Check::Sorted, vec![b("HGETALL"), b(k)]));
    }
    out
}

// ---- the runner ------------------------------------------------------------------------------

/// The connections of one case: the two compared ones (which may switch to RESP3) and a RESP2
/// `oracle` connection reading redis-server's state.
struct Conns {
    ours: RespConn,
    real: RespConn,
    oracle: RespConn,
}

/// A frame with its order-free parts sorted; `pairs`: a RESP2 array of field/value pairs.
fn unordered(f: Frame, pairs: bool) -> Frame {
    match f {
        Frame::Array(v) if pairs => {
            let mut chunks: Vec<Vec<Frame>> = v.chunks(2).map(<[Frame]>::to_vec).collect();
            chunks.sort_by(|x, y| format!("{x:?}").cmp(&format!("{y:?}")));
            Frame::Array(chunks.into_iter().flatten().collect())
        }
        Frame::Array(mut v) => {
            sort_frames(&mut v);
            Frame::Array(v)
        }
        Frame::Map(mut v) => {
            v.sort_by(|x, y| format!("{x:?}").cmp(&format!("{y:?}")));
            Frame::Map(v)
        }
        other => other,
    }
}

type Pair = (Vec<u8>, Vec<u8>);

/// The field/value pairs of `key` on redis-server (empty when missing or not a hash).
fn truth(c: &mut Conns, key: &[u8]) -> Result<Vec<Pair>, String> {
    match io("oracle", c.oracle.cmd(&[b"HGETALL", key]))? {
        Frame::Array(items) => items
            .chunks(2)
            .map(|p| match p {
                [Frame::Bulk(f), Frame::Bulk(v)] => Ok((f.to_vec(), v.to_vec())),
                _ => Err(format!("HGETALL: malformed pair {p:?}")),
            })
            .collect(),
        _ => Ok(Vec::new()),
    }
}

/// An HRANDFIELD reply's items as `field\0=\0value` (or the field alone), with the reply's
/// shape, or why they are malformed.
fn items_of(items: &[Frame], with_values: bool) -> Result<(&'static str, Vec<Vec<u8>>), String> {
    let join = |f: &[u8], v: &[u8]| [f, b"\0=\0", v].concat();
    if items.is_empty() {
        return Ok(("empty", Vec::new()));
    }
    if items.iter().all(|i| matches!(i, Frame::Array(_))) {
        let out = items
            .iter()
            .map(|i| match i {
                Frame::Array(p) => match &p[..] {
                    [Frame::Bulk(f), Frame::Bulk(v)] if with_values => Ok(join(f, v)),
                    _ => Err(format!("malformed nested pair {p:?}")),
                },
                _ => Err("mixed items".to_string()),
            })
            .collect::<Result<_, _>>()?;
        return Ok(("nested pairs", out));
    }
    let flat: Vec<&[u8]> = items
        .iter()
        .map(|i| match i {
            Frame::Bulk(b) => Ok(&b[..]),
            other => Err(format!("non-bulk item {other:?}")),
        })
        .collect::<Result<_, _>>()?;
    if !with_values {
        return Ok(("fields", flat.iter().map(|f| f.to_vec()).collect()));
    }
    if !flat.len().is_multiple_of(2) {
        return Err("odd number of items in a flat WITHVALUES reply".into());
    }
    Ok((
        "flat pairs",
        flat.chunks(2).map(|p| join(p[0], p[1])).collect(),
    ))
}

/// What an HRANDFIELD reply says, in a form both servers must agree on (see the module docs).
fn canon(f: &Frame, truth: &[Pair], count: Option<i64>, with_values: bool) -> Frame {
    let items = match f {
        Frame::Bulk(m) => {
            return if truth.iter().any(|(t, _)| t[..] == m[..]) {
                simple("one field of the hash")
            } else {
                simple(&format!("not a field: {m:?}"))
            };
        }
        Frame::Array(v) => v,
        other => return other.clone(),
    };
    let (shape, mut got) = match items_of(items, with_values) {
        Ok(x) => x,
        Err(why) => return simple(&why),
    };
    let valid: Vec<Vec<u8>> = truth
        .iter()
        .map(|(f, v)| {
            if with_values {
                [&f[..], b"\0=\0", &v[..]].concat()
            } else {
                f.clone()
            }
        })
        .collect();
    if let Some(bad) = got.iter().find(|m| !valid.contains(m)) {
        return simple(&format!("{shape}: not in the hash: {bad:?}"));
    }
    let len = got.len() as i64;
    got.sort();
    let distinct = got.windows(2).all(|w| w[0] != w[1]);
    match count {
        Some(n) if n > 0 && !distinct => simple(&format!("{shape}: repeated fields")),
        Some(n) if n > 0 && n as u64 >= truth.len() as u64 => Frame::Array(
            std::iter::once(simple(shape))
                .chain(got.into_iter().map(|m| Frame::Bulk(m.into())))
                .collect(),
        ),
        _ => Frame::Array(vec![simple(shape), Frame::Integer(len)]),
    }
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
    if name != b"HRANDFIELD" || cmd.argv.len() < 2 {
        let r = execute(&mut c.real, &plain).map_err(|e| format!("redis-server: {e}"))?;
        let o = execute(&mut c.ours, &plain).map_err(|e| format!("ferrodis: {e}"))?;
        return Ok(if cmd.check == Check::Sorted {
            let pairs = name == b"HGETALL";
            (unordered(o, pairs), unordered(r, pairs))
        } else {
            (o, r)
        });
    }
    let before = truth(c, &cmd.argv[1])?;
    let r = execute(&mut c.real, &plain).map_err(|e| format!("redis-server: {e}"))?;
    let o = execute(&mut c.ours, &plain).map_err(|e| format!("ferrodis: {e}"))?;
    let count = cmd
        .argv
        .get(2)
        .and_then(|a| std::str::from_utf8(a).ok())
        .and_then(|a| a.parse::<i64>().ok());
    let with_values = cmd.argv.len() == 4;
    Ok((
        canon(&o, &before, count, with_values),
        canon(&r, &before, count, with_values),
    ))
}

fn run_case(s: &Servers, seq: &[Cmd], dump: &[Cmd]) -> Result<(), String> {
    diff::flushall_both(s)?;
    let mut c = Conns {
        ours: io("connect", s.ours.connect())?,
        real: io("connect", s.real.connect())?,
        oracle: io("connect", s.real.connect())?,
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
fn random_hash_sequences_match_redis() {
    run_random("diff_hashes", 0x4a54_0001, 300);
}

/// A fixed sequence through this file's runner (fresh servers, then the state dump).
fn regression(seq: &[&[&str]]) {
    let cmds: Vec<Cmd> = seq
        .iter()
        .map(|argv| {
            let check = match argv[0] {
                "HKEYS" | "HVALS" | "HGETALL" => Check::Sorted,
                "HELLO" => Check::Hello,
                _ => Check::Exact,
            };
            Cmd::new(check, argv.iter().map(|a| b(a)).collect())
        })
        .collect();
    diff::regression_with(&cmds, |s, seq| run_case(s, seq, &state_dump()));
}

#[test]
fn resp3_shapes_and_errors() {
    regression(&[
        &["HELLO", "3"],
        &["HGETALL", "h1"],
        &["HRANDFIELD", "h1"],
        &["HRANDFIELD", "h1", "3", "WITHVALUES"],
        &["HSET", "h1", "a", "1", "b", "2", "c", "3"],
        &["HGETALL", "h1"],
        &["HRANDFIELD", "h1", "2", "WITHVALUES"],
        &["HRANDFIELD", "h1", "-5", "WITHVALUES"],
        &["HRANDFIELD", "h1", "5", "WITHVALUES"],
        &["HMGET", "h1", "a", "zz"],
        &["HGET", "h1", "zz"],
        &["HELLO", "2"],
        &["HRANDFIELD", "h1", "-5", "WITHVALUES"],
        &["HRANDFIELD", "h1", "-9223372036854770000", "WITHVALUES"],
        &["HRANDFIELD", "h1", "-9223372036854775808"],
        &["HINCRBYFLOAT", "h1", "a", "inf"],
        &["HINCRBYFLOAT", "h1", "a", "nan"],
        &["HINCRBYFLOAT", "h1", "a", "1.7976931348623157e308"],
        &["HINCRBYFLOAT", "h1", "a", "1.7976931348623157e308"],
        &["HSET", "h1", "s", "x"],
        &["HINCRBYFLOAT", "h1", "s", "1"],
        &["HINCRBY", "h1", "s", "1"],
        &["HINCRBY", "h1", "a", "9223372036854775807"],
        &["SET", "str", "v"],
        &["HINCRBYFLOAT", "str", "f", "abc"],
        &["HRANDFIELD", "str", "abc"],
        &["HMGET", "str", "f"],
        &["HSET", "h1", "f"],
        &["HMSET", "h1", "f"],
    ]);
}

#[test]
fn long_field_in_hincrby_converts_the_listpack() {
    regression(&[
        &["HSET", "h1", "a", "1"],
        &[
            "HINCRBY",
            "h1",
            "a-field-name-longer-than-sixty-four-bytes-0123456789-0123456789",
            "1",
        ],
        &["OBJECT", "ENCODING", "h1"],
        &["CONFIG", "SET", "hash-max-listpack-entries", "2"],
        &["HSET", "h2", "a", "1", "b", "2"],
        &["OBJECT", "ENCODING", "h2"],
        &["HSETNX", "h2", "a", "3"],
        &["HSETNX", "h2", "c", "3"],
        &["OBJECT", "ENCODING", "h2"],
        &["CONFIG", "SET", "hash-max-listpack-entries", "128"],
    ]);
}
