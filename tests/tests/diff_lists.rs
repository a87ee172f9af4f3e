//! Differential test of the list commands: random sequences of LPUSH ... BLMPOP run against
//! ferrodis (in-process) and Debian's redis-server 7.0.15; every reply must be identical,
//! RESP frame for frame, and so must the state dump (per pool key: EXISTS, TYPE, OBJECT
//! ENCODING, LLEN and the whole list).
//!
//! Keys come from a small pool so commands interact: `a` and `b` hash to different slots (so
//! LMOVE between them spans two of our shards), `{a}c` shares `a`'s slot, and `s` is often a
//! string (WRONGTYPE paths). Elements mix small integers (packed as integers), integers at and
//! past the `i64` edges, non-canonical numbers, the empty string, long strings and binary.
//! `CONFIG SET list-max-listpack-size / list-compress-depth` is generated too, so node splits
//! and compressed nodes are exercised (lists created afterwards use the new shape).
//! `HELLO 3` / `HELLO 2` switch protocols mid-sequence (compared by reply kind and `proto`),
//! so the RESP3 null shapes of LPOP/LINDEX/LPOS/LMPOP/BLPOP are compared too.
//!
//! Blocking commands are generated only where they are served at once: each is preceded by
//! an LPUSH to its first key (when that key holds a list the command pops at once; when it
//! holds another type, both the LPUSH and the blocking command answer WRONGTYPE at once).
//! Waiting, timeouts and serving blocked clients are not covered here.
//!
//! Seed: printed at start; `FERRODIS_DIFF_SEED=<u64>` replays one, `FERRODIS_DIFF_CASES=<n>`
//! sets the case count (default 150).

use ferrodis_tests::diff::{self, b, run_random, Check, Cmd};
use proptest::prelude::*;
use proptest::strategy::{BoxedStrategy, Union};

const KEYS: &[&str] = &["a", "b", "{a}c", "s"];

fn key() -> impl Strategy<Value = Vec<u8>> {
    prop::sample::select(KEYS).prop_map(b)
}

fn elem() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        6 => prop::sample::select(&[
            "x", "y", "z", "x", "y", "0", "1", "-1", "12", "127", "128", "-4096", "4095",
            "9223372036854775807", "-9223372036854775808", "9223372036854775808",
            "007", "+1", " 1", "1.5", "",
        ][..]).prop_map(b),
        1 => "[xy]{40,80}".prop_map(String::into_bytes),
        1 => prop::collection::vec(any::<u8>(), 0..8),
    ]
}

/// Indexes, counts and ranks, with non-integers and the `i64` edges.
fn int_arg() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        8 => (-6i64..8).prop_map(|n| n.to_string().into_bytes()),
        1 => prop::sample::select(&[
            "9223372036854775807", "-9223372036854775808", "9223372036854775808",
            "-9223372036854775809", "abc", "", "1.0", "+2", " 3", "0x1",
        ][..]).prop_map(b),
    ]
}

fn side() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        8 => prop::sample::select(&["LEFT", "RIGHT", "left", "Right"][..]).prop_map(b),
        1 => prop::sample::select(&["up", "", "LEFTX"][..]).prop_map(b),
    ]
}

/// Timeouts that never wait long (blocking commands are only generated where they are
/// served at once), with a few malformed ones.
fn timeout() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        8 => prop::sample::select(&["0", "0.01", "1", "0.5"][..]).prop_map(b),
        1 => prop::sample::select(&["-1", "abc", "nan", "inf", "-2.5"][..]).prop_map(b),
    ]
}

fn with(name: &str, args: Vec<Vec<u8>>) -> Vec<Vec<u8>> {
    let mut v = vec![b(name)];
    v.extend(args);
    v
}

fn one(name: &'static str) -> impl Fn(Vec<Vec<u8>>) -> Vec<Cmd> + Clone {
    move |args| vec![Cmd::new(Check::Exact, with(name, args))]
}

/// A blocking command preceded by an LPUSH to `first_key`, so it never waits.
fn served(first_key: Vec<u8>, v: Vec<u8>, argv: Vec<Vec<u8>>) -> Vec<Cmd> {
    vec![
        Cmd::new(Check::Exact, vec![b("LPUSH"), first_key, v]),
        Cmd::new(Check::Exact, argv),
    ]
}

/// LPOS options: any order, repeats, missing values, unknown words.
fn lpos_opts() -> impl Strategy<Value = Vec<Vec<u8>>> {
    prop::collection::vec(
        prop_oneof![
            3 => (prop::sample::select(&["RANK", "rank"][..]), int_arg())
                .prop_map(|(o, n)| vec![b(o), n]),
            3 => (prop::sample::select(&["COUNT", "count"][..]), int_arg())
                .prop_map(|(o, n)| vec![b(o), n]),
            2 => (prop::sample::select(&["MAXLEN", "maxlen"][..]), int_arg())
                .prop_map(|(o, n)| vec![b(o), n]),
            1 => prop::sample::select(&["RANK", "COUNT", "MAXLEN", "FOO"][..])
                .prop_map(|o| vec![b(o)]),
        ],
        0..3,
    )
    .prop_map(|v| v.into_iter().flatten().collect())
}

/// `numkeys key... side [COUNT n]` for LMPOP/BLMPOP, sometimes malformed. Returns the
/// arguments and the first key (if any) for the "served at once" LPUSH.
fn mpop_args() -> impl Strategy<Value = (Vec<Vec<u8>>, Vec<u8>)> {
    (
        prop::collection::vec(key(), 1..4),
        prop_oneof![8 => Just(None), 1 => int_arg().prop_map(Some)],
        side(),
        prop_oneof![
            3 => Just(vec![]),
            3 => int_arg().prop_map(|n| vec![b("COUNT"), n]),
            1 => Just(vec![b("COUNT")]),
            1 => (int_arg(), int_arg()).prop_map(|(m, n)| vec![b("count"), m, b("COUNT"), n]),
            1 => Just(vec![b("LIMIT"), b("1")]),
        ],
    )
        .prop_map(|(keys, numkeys, side, tail)| {
            let first = keys[0].clone();
            let n = numkeys.unwrap_or_else(|| keys.len().to_string().into_bytes());
            let mut args = vec![n];
            args.extend(keys);
            args.push(side);
            args.extend(tail);
            (args, first)
        })
}

/// Every generated command (a group: blocking ones come with their LPUSH).
fn command() -> BoxedStrategy<Vec<Cmd>> {
    let arms: Vec<(u32, BoxedStrategy<Vec<Cmd>>)> = vec![
        (
            8,
            (
                prop::sample::select(&["LPUSH", "RPUSH"][..]),
                key(),
                prop::collection::vec(elem(), 1..6),
            )
                .prop_map(|(c, k, vs)| {
                    let mut a = vec![k];
                    a.extend(vs);
                    one(c)(a)
                })
                .boxed(),
        ),
        (
            2,
            (
                prop::sample::select(&["LPUSHX", "RPUSHX"][..]),
                key(),
                prop::collection::vec(elem(), 1..3),
            )
                .prop_map(|(c, k, vs)| {
                    let mut a = vec![k];
                    a.extend(vs);
                    one(c)(a)
                })
                .boxed(),
        ),
        (
            4,
            (
                prop::sample::select(&["LPOP", "RPOP"][..]),
                key(),
                prop_oneof![2 => Just(vec![]), 2 => int_arg().prop_map(|n| vec![n]),
                    1 => (int_arg(), int_arg()).prop_map(|(m, n)| vec![m, n])],
            )
                .prop_map(|(c, k, rest)| {
                    let mut a = vec![k];
                    a.extend(rest);
                    one(c)(a)
                })
                .boxed(),
        ),
        (2, key().prop_map(|k| one("LLEN")(vec![k])).boxed()),
        (
            3,
            (key(), int_arg(), int_arg())
                .prop_map(|(k, s, e)| one("LRANGE")(vec![k, s, e]))
                .boxed(),
        ),
        (
            2,
            (key(), int_arg())
                .prop_map(|(k, i)| one("LINDEX")(vec![k, i]))
                .boxed(),
        ),
        (
            2,
            (key(), int_arg(), elem())
                .prop_map(|(k, i, v)| one("LSET")(vec![k, i, v]))
                .boxed(),
        ),
        (
            2,
            (
                key(),
                prop_oneof![
                    4 => prop::sample::select(&["BEFORE", "AFTER", "before", "After"][..]).prop_map(b),
                    1 => Just(b("MIDDLE")),
                ],
                elem(),
                elem(),
            )
                .prop_map(|(k, w, p, v)| one("LINSERT")(vec![k, w, p, v]))
                .boxed(),
        ),
        (
            2,
            (key(), int_arg(), elem())
                .prop_map(|(k, n, v)| one("LREM")(vec![k, n, v]))
                .boxed(),
        ),
        (
            2,
            (key(), int_arg(), int_arg())
                .prop_map(|(k, s, e)| one("LTRIM")(vec![k, s, e]))
                .boxed(),
        ),
        (
            3,
            (key(), elem(), lpos_opts())
                .prop_map(|(k, v, o)| {
                    let mut a = vec![k, v];
                    a.extend(o);
                    one("LPOS")(a)
                })
                .boxed(),
        ),
        (
            3,
            (key(), key(), side(), side())
                .prop_map(|(s, d, f, t)| one("LMOVE")(vec![s, d, f, t]))
                .boxed(),
        ),
        (
            2,
            (key(), key())
                .prop_map(|(s, d)| one("RPOPLPUSH")(vec![s, d]))
                .boxed(),
        ),
        (
            3,
            mpop_args()
                .prop_map(|(args, _)| one("LMPOP")(args))
                .boxed(),
        ),
        (
            2,
            (
                prop::sample::select(&["BLPOP", "BRPOP"][..]),
                prop::collection::vec(key(), 1..4),
                elem(),
                timeout(),
            )
                .prop_map(|(c, keys, v, t)| {
                    let first = keys[0].clone();
                    let mut argv = vec![b(c)];
                    argv.extend(keys);
                    argv.push(t);
                    served(first, v, argv)
                })
                .boxed(),
        ),
        (
            2,
            (key(), key(), side(), side(), elem(), timeout())
                .prop_map(|(s, d, f, to, v, t)| {
                    served(s.clone(), v, with("BLMOVE", vec![s, d, f, to, t]))
                })
                .boxed(),
        ),
        (
            1,
            (key(), key(), elem(), timeout())
                .prop_map(|(s, d, v, t)| served(s.clone(), v, with("BRPOPLPUSH", vec![s, d, t])))
                .boxed(),
        ),
        (
            2,
            (mpop_args(), elem(), timeout())
                .prop_map(|((args, first), v, t)| {
                    let mut a = vec![t];
                    a.extend(args);
                    served(first, v, with("BLMPOP", a))
                })
                .boxed(),
        ),
        (
            2,
            (key(), elem())
                .prop_map(|(k, v)| one("SET")(vec![k, v]))
                .boxed(),
        ),
        (1, key().prop_map(|k| one("DEL")(vec![k])).boxed()),
        (
            1,
            prop_oneof![
                (
                    Just("list-max-listpack-size"),
                    prop::sample::select(&["-2", "-1", "1", "2", "3", "5", "-5"][..])
                ),
                (
                    Just("list-compress-depth"),
                    prop::sample::select(&["0", "1", "2"][..])
                ),
            ]
            .prop_map(|(name, v)| one("CONFIG")(vec![b("SET"), b(name), b(v)]))
            .boxed(),
        ),
        (
            1,
            prop::sample::select(&["2", "3"][..])
                .prop_map(|p| vec![Cmd::new(Check::Hello, vec![b("HELLO"), b(p)])])
                .boxed(),
        ),
    ];
    Union::new_weighted(arms).boxed()
}

/// The state dump appended to every sequence (in RESP2).
fn state_dump() -> Vec<Cmd> {
    let mut out = vec![Cmd::new(Check::Hello, vec![b("HELLO"), b("2")])];
    for k in KEYS {
        for c in [
            vec![b("EXISTS"), b(k)],
            vec![b("TYPE"), b(k)],
            vec![b("OBJECT"), b("ENCODING"), b(k)],
            vec![b("LLEN"), b(k)],
            vec![b("LRANGE"), b(k), b("0"), b("-1")],
            vec![b("LINDEX"), b(k), b("-1")],
            vec![b("LPOS"), b(k), b("x"), b("COUNT"), b("0")],
        ] {
            out.push(Cmd::new(Check::Exact, c));
        }
    }
    // Later sequences start from the default list shape again.
    for (name, v) in [
        ("list-max-listpack-size", "-2"),
        ("list-compress-depth", "0"),
    ] {
        out.push(Cmd::new(
            Check::Exact,
            vec![b("CONFIG"), b("SET"), b(name), b(v)],
        ));
    }
    out
}

#[test]
fn random_list_sequences_match_redis() {
    let strategy = prop::collection::vec(command(), 20..=60)
        .prop_map(|groups| groups.into_iter().flatten().collect::<Vec<Cmd>>());
    run_random("diff_lists", strategy, &state_dump(), 20_261_123, 150);
}

/// A fixed sequence on both servers, followed by the state dump.
fn regression(seq: &[(Check, &[&[u8]])]) {
    diff::regression(seq, &state_dump());
}

use Check::{Exact, Hello};

#[test]
fn lmove_across_slots_same_slot_and_rotation() {
    regression(&[
        (Exact, &[b"RPUSH", b"a", b"1", b"2", b"3"]),
        (Exact, &[b"LMOVE", b"a", b"b", b"LEFT", b"RIGHT"]),
        (Exact, &[b"LMOVE", b"a", b"{a}c", b"RIGHT", b"LEFT"]),
        (Exact, &[b"LMOVE", b"a", b"a", b"LEFT", b"RIGHT"]),
        (Exact, &[b"LMOVE", b"a", b"a", b"RIGHT", b"RIGHT"]),
        (Exact, &[b"RPOPLPUSH", b"b", b"b"]),
        (Exact, &[b"RPOPLPUSH", b"b", b"a"]),
        (Exact, &[b"RPOPLPUSH", b"nosuch", b"a"]),
        (Exact, &[b"SET", b"s", b"str"]),
        (Exact, &[b"LMOVE", b"a", b"s", b"LEFT", b"LEFT"]),
        (Exact, &[b"LMOVE", b"s", b"a", b"LEFT", b"LEFT"]),
        (Exact, &[b"BLMOVE", b"a", b"s", b"LEFT", b"LEFT", b"0"]),
        (Exact, &[b"BRPOPLPUSH", b"{a}c", b"b", b"0"]),
        (Exact, &[b"LRANGE", b"a", b"0", b"-1"]),
    ]);
}

#[test]
fn pop_shapes_in_resp2_and_resp3() {
    let cases: &[&[&str]] = &[
        &["LPOP", "nosuch"],
        &["LPOP", "nosuch", "0"],
        &["RPOP", "nosuch", "3"],
        &["RPUSH", "a", "x"],
        &["LPOP", "a", "0"],
        &["LPOP", "a", "-1"],
        &["LPOP", "a", "x"],
        &["LPOP", "a", "1", "2"],
        &["LINDEX", "nosuch", "0"],
        &["LINDEX", "a", "5"],
        &["LPOS", "nosuch", "x"],
        &["LPOS", "nosuch", "x", "COUNT", "1"],
        &["LPOS", "a", "nomatch"],
        &["LPOS", "a", "nomatch", "COUNT", "0"],
        &["LRANGE", "nosuch", "0", "-1"],
        &["LMPOP", "2", "nosuch", "b", "LEFT"],
        &["LMPOP", "2", "nosuch", "a", "RIGHT", "COUNT", "5"],
        &["RPUSH", "a", "x", "y"],
        &["BLPOP", "nosuch", "a", "0"],
        &["BLMPOP", "0", "1", "a", "LEFT", "COUNT", "9"],
        &["RPOP", "a"],
    ];
    let mut seq: Vec<Cmd> = Vec::new();
    for proto in ["2", "3"] {
        seq.push(diff::cmd_of(Hello, &["HELLO", proto]));
        seq.extend(cases.iter().map(|c| diff::cmd_of(Exact, c)));
    }
    let owned: Vec<Vec<&[u8]>> = seq
        .iter()
        .map(|c| c.argv.iter().map(Vec::as_slice).collect())
        .collect();
    let refs: Vec<(Check, &[&[u8]])> = seq
        .iter()
        .zip(owned.iter())
        .map(|(c, argv)| (c.check, argv.as_slice()))
        .collect();
    regression(&refs);
}

#[test]
fn argument_errors_and_their_order() {
    regression(&[
        (Exact, &[b"SET", b"s", b"v"]),
        (Exact, &[b"LINDEX", b"nosuch", b"abc"]),
        (Exact, &[b"LINDEX", b"s", b"abc"]),
        (Exact, &[b"LRANGE", b"s", b"abc", b"0"]),
        (Exact, &[b"LSET", b"nosuch", b"abc", b"v"]),
        (Exact, &[b"LSET", b"s", b"abc", b"v"]),
        (Exact, &[b"LINSERT", b"s", b"MIDDLE", b"p", b"v"]),
        (Exact, &[b"LINSERT", b"nosuch", b"BEFORE", b"p", b"v"]),
        (Exact, &[b"LTRIM", b"nosuch", b"a", b"0"]),
        (Exact, &[b"LTRIM", b"nosuch", b"0", b"1"]),
        (Exact, &[b"LREM", b"s", b"x", b"v"]),
        (Exact, &[b"LPOS", b"s", b"x", b"RANK", b"0"]),
        (Exact, &[b"LPOS", b"s", b"x", b"COUNT", b"-1"]),
        (Exact, &[b"LPOS", b"s", b"x", b"MAXLEN", b"x"]),
        (Exact, &[b"LPOS", b"s", b"x", b"RANK"]),
        (Exact, &[b"LPOS", b"s", b"x"]),
        (Exact, &[b"LMOVE", b"s", b"a", b"UP", b"LEFT"]),
        (Exact, &[b"LMPOP", b"0", b"a", b"LEFT"]),
        (Exact, &[b"LMPOP", b"-1", b"a", b"LEFT"]),
        (Exact, &[b"LMPOP", b"2", b"a", b"LEFT"]),
        (Exact, &[b"LMPOP", b"9223372036854775807", b"a", b"LEFT"]),
        (Exact, &[b"LMPOP", b"1", b"a", b"LEFT", b"COUNT", b"0"]),
        (
            Exact,
            &[
                b"LMPOP", b"1", b"a", b"LEFT", b"COUNT", b"1", b"COUNT", b"1",
            ],
        ),
        (Exact, &[b"LMPOP", b"1", b"s", b"LEFT"]),
        (Exact, &[b"BLMPOP", b"abc", b"0", b"a", b"LEFT"]),
        (Exact, &[b"BLMPOP", b"abc", b"1", b"a", b"LEFT"]),
        (Exact, &[b"BLPOP", b"a", b"-1"]),
        (Exact, &[b"BLPOP", b"s", b"abc"]),
        (Exact, &[b"BLPOP", b"nosuch", b"s", b"0"]),
        (Exact, &[b"BRPOP", b"s", b"0"]),
        (Exact, &[b"BLMOVE", b"s", b"a", b"LEFT", b"LEFT", b"x"]),
        (Exact, &[b"BRPOPLPUSH", b"s", b"a", b"0"]),
        (Exact, &[b"LPUSHX", b"s", b"v"]),
        (Exact, &[b"LPUSHX", b"nosuch", b"v"]),
    ]);
}

#[test]
fn lpos_rank_extremes() {
    regression(&[
        (Exact, &[b"RPUSH", b"a", b"x", b"y", b"x", b"z", b"x"]),
        (
            Exact,
            &[b"LPOS", b"a", b"x", b"RANK", b"-9223372036854775808"],
        ),
        (
            Exact,
            &[
                b"LPOS",
                b"a",
                b"x",
                b"RANK",
                b"-9223372036854775808",
                b"COUNT",
                b"1",
            ],
        ),
        (
            Exact,
            &[
                b"LPOS",
                b"a",
                b"x",
                b"RANK",
                b"-9223372036854775808",
                b"COUNT",
                b"0",
            ],
        ),
        (
            Exact,
            &[
                b"LPOS",
                b"a",
                b"x",
                b"RANK",
                b"9223372036854775807",
                b"COUNT",
                b"0",
            ],
        ),
        (
            Exact,
            &[
                b"LPOS", b"a", b"x", b"RANK", b"-2", b"COUNT", b"2", b"MAXLEN", b"3",
            ],
        ),
        (Exact, &[b"LPOS", b"a", b"x", b"RANK", b"2", b"RANK", b"-1"]),
    ]);
}

#[test]
fn compressed_and_split_nodes_keep_their_contents() {
    let long: Vec<Vec<u8>> = (0..40)
        .map(|i| format!("{i:03}-{}", "v".repeat(60)).into_bytes())
        .collect();
    let mut push: Vec<&[u8]> = vec![b"RPUSH", b"a"];
    push.extend(long.iter().map(Vec::as_slice));
    let insert: &[&[u8]] = &[b"LINSERT", b"a", b"AFTER", &long[20], b"mid"];
    let rem: &[&[u8]] = &[b"LREM", b"a", b"1", &long[10]];
    let seq: Vec<(Check, &[&[u8]])> = vec![
        (Exact, &[b"CONFIG", b"SET", b"list-compress-depth", b"1"]),
        (Exact, &[b"CONFIG", b"SET", b"list-max-listpack-size", b"3"]),
        (Exact, &push),
        (Exact, insert),
        (Exact, &[b"LSET", b"a", b"7", b"seven"]),
        (Exact, rem),
        (Exact, &[b"LTRIM", b"a", b"2", b"-3"]),
        (Exact, &[b"LPOS", b"a", b"mid"]),
        (Exact, &[b"LMOVE", b"a", b"b", b"RIGHT", b"LEFT"]),
        (Exact, &[b"LRANGE", b"a", b"10", b"20"]),
        (Exact, &[b"LPOP", b"a", b"5"]),
        (Exact, &[b"RPOP", b"a", b"5"]),
    ];
    regression(&seq);
}
