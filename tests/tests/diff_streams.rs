//! Differential test of the stream commands: random sequences of XADD (explicit `ms-seq`, `ms`
//! and `ms-*` IDs, NOMKSTREAM, MAXLEN/MINID with `=`/`~` and LIMIT), XLEN, XRANGE, XREVRANGE
//! (exclusive bounds, COUNT), XDEL, XTRIM, XSETID, XREAD (COUNT, `$`, BLOCK with a 1 ms timeout
//! when nothing is there), XGROUP (CREATE/MKSTREAM/ENTRIESREAD, SETID, DESTROY, CREATECONSUMER,
//! DELCONSUMER), XREADGROUP (`>` and history, NOACK, COUNT), XACK, XPENDING (summary, extended
//! with a large IDLE), XCLAIM and XAUTOCLAIM (JUSTID and full), XINFO GROUPS — errors included —
//! against ferrodis (in-process) and Debian's redis-server 7.0.15, in RESP2 and RESP3.
//!
//! # Normalisations
//! - Random sequences never use `*` IDs (the generated ID is the wall clock, which differs
//!   between the servers); `*` is checked by the reply's shape in `auto_ids_by_shape`.
//! - Nothing that reports elapsed times is compared (XPENDING's per-entry idle time, XINFO
//!   CONSUMERS, XINFO STREAM FULL's times): XPENDING extended runs with an IDLE larger than any
//!   elapsed time, so both servers reply with the empty filtered list.
//! - XINFO STREAM is not compared in the random runs (`radix-tree-nodes` counts Redis's radix
//!   tree nodes, which our B-tree layout does not have).
//!
//! Seed: printed at start; `FERRODIS_DIFF_SEED=<u64>` replays, `FERRODIS_DIFF_CASES=<n>` sets
//! the case count (default 150).

use ferrodis_tests::diff::{self, b, run_random, Check, Cmd};
use proptest::prelude::*;
use proptest::strategy::{BoxedStrategy, Union};

const KEYS: &[&str] = &["s1", "s2", "{t}s3", "str"];
const GROUPS: &[&str] = &["g1", "g2"];
const CONSUMERS: &[&str] = &["alice", "bob", ""];

fn key() -> impl Strategy<Value = Vec<u8>> {
    prop::sample::select(KEYS).prop_map(b)
}

fn group() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![5 => prop::sample::select(GROUPS).prop_map(b), 1 => Just(b("nogroup"))]
}

fn consumer() -> impl Strategy<Value = Vec<u8>> {
    prop::sample::select(CONSUMERS).prop_map(b)
}

/// Explicit IDs in a small range so that adds, ranges and deletes collide.
fn id() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        6 => (0u64..40, 0u64..4).prop_map(|(m, s)| format!("{m}-{s}").into_bytes()),
        2 => (0u64..40).prop_map(|m| m.to_string().into_bytes()),
        1 => prop::sample::select(&[
            "0-0", "18446744073709551615-18446744073709551615", "18446744073709551615",
            "18446744073709551616", "-1", "abc", "1-abc", "1-", "-", "+", "01-1", " 5", "+5",
            "5-+1", "1-18446744073709551615",
        ][..]).prop_map(b),
    ]
}

fn add_id() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        8 => id(),
        2 => (0u64..40).prop_map(|m| format!("{m}-*").into_bytes()),
    ]
}

fn range_bound() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        5 => id(),
        2 => prop::sample::select(&["-", "+"][..]).prop_map(b),
        2 => id().prop_map(|i| [b"(".to_vec(), i].concat()),
        1 => prop::sample::select(&["(-", "(+", "(0-0", "(18446744073709551615-18446744073709551615"][..]).prop_map(b),
    ]
}

fn count_arg() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        5 => (0i64..6).prop_map(|n| n.to_string().into_bytes()),
        1 => prop::sample::select(&["-1", "abc", "9223372036854775808", ""][..]).prop_map(b),
    ]
}

fn value() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        4 => prop::sample::select(&["v", "1", "", "hello world", "-5", "3.14"][..]).prop_map(b),
        1 => "[a-c]{40,70}".prop_map(String::into_bytes),
    ]
}

fn fields() -> impl Strategy<Value = Vec<Vec<u8>>> {
    prop::collection::vec(
        (
            prop::sample::select(&["f", "g", "h", ""][..]).prop_map(b),
            value(),
        ),
        1..4,
    )
    .prop_map(|v| v.into_iter().flat_map(|(f, x)| [f, x]).collect())
}

/// XADD/XTRIM trimming options.
fn trim_opts() -> impl Strategy<Value = Vec<Vec<u8>>> {
    let strat = prop::sample::select(&["MAXLEN", "MINID", "maxlen"][..]).prop_map(b);
    let op = prop::sample::select(&["", "=", "~"][..]);
    let thr = prop_oneof![
        3 => (0u64..6).prop_map(|n| n.to_string().into_bytes()),
        2 => id(),
        1 => prop::sample::select(&["-1", "abc"][..]).prop_map(b),
    ];
    let limit = prop_oneof![
        3 => Just(vec![]),
        1 => (0i64..4).prop_map(|n| vec![b("LIMIT"), n.to_string().into_bytes()]),
        1 => Just(vec![b("LIMIT"), b("-1")]),
    ];
    (strat, op, thr, limit).prop_map(|(s, o, t, l)| {
        let mut v = vec![s];
        if !o.is_empty() {
            v.push(b(o));
        }
        v.push(t);
        v.extend(l);
        v
    })
}

const ODD_1: &[&[&str]] = &[
    &["1-1", "f"],
    &["1-1"],
    &["NOMKSTREAM"],
    &["MAXLEN", "1", "LIMIT"],
    &["LIMIT", "5", "1-1", "f", "v"],
    &["MAXLEN", "1", "MINID", "1", "2-2", "f", "v"],
    &["MAXLEN", "~", "1", "LIMIT", "x", "5-5", "f", "v"],
    &["MINID", "abc", "1-1", "f", "v"],
];
const ODD_2: &[&[&str]] = &[
    &["XREAD", "STREAMS", "s1"],
    &["XREAD", "COUNT", "1", "s1", "1"],
    &["XREAD", "GROUP", "g1", "c", "STREAMS", "s1", "0"],
    &["XREAD", "NOACK", "STREAMS", "s1", "0"],
    &["XREADGROUP", "STREAMS", "s1", "0"],
    &["XREAD", "BLOCK", "-1", "STREAMS", "s1", "0"],
    &["XREAD", "BLOCK", "x", "STREAMS", "s1", "0"],
    &["XREADGROUP", "GROUP", "g1", "c", "STREAMS", "s1", "$"],
];
const ODD_3: &[&[&str]] = &[
    &["XGROUP", "CREATE", "s1"],
    &["XGROUP", "FOO", "s1", "g1"],
    &["XGROUP", "CREATE", "s1", "g1", "0", "BAR"],
    &["XGROUP", "SETID", "s1", "g1", "0", "MKSTREAM"],
    &["XGROUP", "DESTROY", "s1", "g1", "x"],
];
const ODD_4: &[&[&str]] = &[
    &["XPENDING", "s1", "g1", "-"],
    &["XPENDING", "s1", "g1", "-", "+"],
    &["XPENDING", "s1", "g1", "IDLE", "x", "-", "+", "1"],
    &["XPENDING", "s1", "g1", "IDLE", "5", "-", "+"],
    &["XPENDING", "s1", "g1", "-", "+", "x"],
];
const ODD_5: &[&[&str]] = &[
    &["JUSTID"],
    &["FORCE"],
    &["RETRYCOUNT", "5"],
    &["LASTID", "30-0"],
    &["IDLE", "0"],
    &["TIME", "1"],
    &["BOGUS"],
    &["RETRYCOUNT", "x"],
];
const ODD_6: &[&[&str]] = &[
    &["XINFO", "STREAM", "s1", "FULL", "COUNT"],
    &["XINFO", "STREAM", "s1", "BAR"],
    &["XINFO", "STREAM", "nosuch"],
    &["XINFO", "FOO", "s1"],
    &["XINFO", "GROUPS", "str"],
];

fn exact(parts: Vec<Vec<u8>>) -> Cmd {
    Cmd::new(Check::Exact, parts)
}

fn cat(name: &str, rest: Vec<Vec<Vec<u8>>>) -> Cmd {
    let mut v = vec![b(name)];
    for r in rest {
        v.extend(r);
    }
    exact(v)
}

fn command() -> BoxedStrategy<Vec<Cmd>> {
    let arms: Vec<(u32, BoxedStrategy<Vec<Cmd>>)> = vec![
        // XADD: mostly well-formed, sometimes with options.
        (
            14,
            (key(), add_id(), fields())
                .prop_map(|(k, i, f)| vec![cat("XADD", vec![vec![k, i], f])])
                .boxed(),
        ),
        (
            4,
            (
                key(),
                prop::option::of(Just(b("NOMKSTREAM"))),
                prop::option::of(trim_opts()),
                add_id(),
                fields(),
            )
                .prop_map(|(k, nm, t, i, f)| {
                    vec![cat(
                        "XADD",
                        vec![
                            vec![k],
                            nm.into_iter().collect(),
                            t.unwrap_or_default(),
                            vec![i],
                            f,
                        ],
                    )]
                })
                .boxed(),
        ),
        (
            1,
            (key(), prop::sample::select(ODD_1))
                .prop_map(|(k, rest)| {
                    vec![cat(
                        "XADD",
                        vec![vec![k], rest.iter().map(|s| b(s)).collect()],
                    )]
                })
                .boxed(),
        ),
        (
            3,
            key().prop_map(|k| vec![exact(vec![b("XLEN"), k])]).boxed(),
        ),
        (
            5,
            (
                prop::sample::select(&["XRANGE", "XREVRANGE"][..]),
                key(),
                range_bound(),
                range_bound(),
                prop::option::of(count_arg()),
            )
                .prop_map(|(c, k, s, e, n)| {
                    let mut v = vec![b(c), k, s, e];
                    if let Some(n) = n {
                        v.push(b("COUNT"));
                        v.push(n);
                    }
                    vec![exact(v)]
                })
                .boxed(),
        ),
        (
            3,
            (key(), prop::collection::vec(id(), 1..4))
                .prop_map(|(k, ids)| vec![cat("XDEL", vec![vec![k], ids])])
                .boxed(),
        ),
        (
            3,
            (key(), trim_opts())
                .prop_map(|(k, t)| vec![cat("XTRIM", vec![vec![k], t])])
                .boxed(),
        ),
        (
            1,
            key()
                .prop_map(|k| vec![exact(vec![b("XTRIM"), k, b("LIMIT"), b("1")])])
                .boxed(),
        ),
        (
            2,
            (
                key(),
                id(),
                prop::option::of(count_arg()),
                prop::option::of(id()),
            )
                .prop_map(|(k, i, ea, md)| {
                    let mut v = vec![b("XSETID"), k, i];
                    if let Some(ea) = ea {
                        v.push(b("ENTRIESADDED"));
                        v.push(ea);
                    }
                    if let Some(md) = md {
                        v.push(b("MAXDELETEDID"));
                        v.push(md);
                    }
                    vec![exact(v)]
                })
                .boxed(),
        ),
        (
            4,
            (
                prop::option::of(count_arg()),
                prop::collection::vec(
                    (
                        key(),
                        prop_oneof![4 => id(), 1 => Just(b("$")), 1 => Just(b(">"))],
                    ),
                    1..3,
                ),
                any::<bool>(),
            )
                .prop_map(|(n, ks, block)| {
                    let mut v = vec![b("XREAD")];
                    if let Some(n) = n {
                        v.push(b("COUNT"));
                        v.push(n);
                    }
                    // BLOCK 1: both servers time out at once when nothing is there.
                    if block {
                        v.push(b("BLOCK"));
                        v.push(b("1"));
                    }
                    v.push(b("STREAMS"));
                    v.extend(ks.iter().map(|(k, _)| k.clone()));
                    v.extend(ks.iter().map(|(_, i)| i.clone()));
                    vec![exact(v)]
                })
                .boxed(),
        ),
        (
            1,
            prop::sample::select(ODD_2)
                .prop_map(|w| vec![exact(w.iter().map(|s| b(s)).collect())])
                .boxed(),
        ),
        // XGROUP
        (
            5,
            (
                key(),
                group(),
                prop_oneof![3 => id(), 1 => Just(b("$"))],
                any::<bool>(),
                prop::option::of(prop::sample::select(&["0", "3", "-1", "-2", "x"][..])),
            )
                .prop_map(|(k, g, i, mk, er)| {
                    let mut v = vec![b("XGROUP"), b("CREATE"), k, g, i];
                    if mk {
                        v.push(b("MKSTREAM"));
                    }
                    if let Some(er) = er {
                        v.push(b("ENTRIESREAD"));
                        v.push(b(er));
                    }
                    vec![exact(v)]
                })
                .boxed(),
        ),
        (
            2,
            (
                key(),
                group(),
                prop_oneof![3 => id(), 1 => Just(b("$"))],
                prop::option::of(prop::sample::select(&["0", "3", "-1", "x"][..])),
            )
                .prop_map(|(k, g, i, er)| {
                    let mut v = vec![b("XGROUP"), b("SETID"), k, g, i];
                    if let Some(er) = er {
                        v.push(b("ENTRIESREAD"));
                        v.push(b(er));
                    }
                    vec![exact(v)]
                })
                .boxed(),
        ),
        (
            1,
            (key(), group())
                .prop_map(|(k, g)| vec![exact(vec![b("XGROUP"), b("DESTROY"), k, g])])
                .boxed(),
        ),
        (
            2,
            (
                prop::sample::select(&["CREATECONSUMER", "DELCONSUMER"][..]),
                key(),
                group(),
                consumer(),
            )
                .prop_map(|(s, k, g, c)| vec![exact(vec![b("XGROUP"), b(s), k, g, c])])
                .boxed(),
        ),
        (
            1,
            prop::sample::select(ODD_3)
                .prop_map(|w| vec![exact(w.iter().map(|s| b(s)).collect())])
                .boxed(),
        ),
        // XREADGROUP
        (
            8,
            (
                group(),
                consumer(),
                prop::option::of(count_arg()),
                prop::bool::weighted(0.2),
                prop::collection::vec((key(), prop_oneof![4 => Just(b(">")), 2 => id()]), 1..3),
                prop::bool::weighted(0.2),
            )
                .prop_map(|(g, c, n, noack, ks, block)| {
                    let mut v = vec![b("XREADGROUP"), b("GROUP"), g, c];
                    if let Some(n) = n {
                        v.push(b("COUNT"));
                        v.push(n);
                    }
                    if noack {
                        v.push(b("NOACK"));
                    }
                    if block {
                        v.push(b("BLOCK"));
                        v.push(b("1"));
                    }
                    v.push(b("STREAMS"));
                    v.extend(ks.iter().map(|(k, _)| k.clone()));
                    v.extend(ks.iter().map(|(_, i)| i.clone()));
                    vec![exact(v)]
                })
                .boxed(),
        ),
        (
            3,
            (key(), group(), prop::collection::vec(id(), 1..4))
                .prop_map(|(k, g, ids)| vec![cat("XACK", vec![vec![k, g], ids])])
                .boxed(),
        ),
        (
            3,
            (key(), group())
                .prop_map(|(k, g)| vec![exact(vec![b("XPENDING"), k, g])])
                .boxed(),
        ),
        (
            2,
            (
                key(),
                group(),
                range_bound(),
                range_bound(),
                count_arg(),
                prop::option::of(consumer()),
            )
                .prop_map(|(k, g, s, e, n, c)| {
                    let mut v = vec![b("XPENDING"), k, g, b("IDLE"), b("100000000"), s, e, n];
                    v.extend(c);
                    vec![exact(v)]
                })
                .boxed(),
        ),
        (
            1,
            prop::sample::select(ODD_4)
                .prop_map(|w| vec![exact(w.iter().map(|s| b(s)).collect())])
                .boxed(),
        ),
        (
            4,
            (
                key(),
                group(),
                consumer(),
                prop::collection::vec(id(), 1..3),
                prop::collection::vec(prop::sample::select(ODD_5), 0..3),
            )
                .prop_map(|(k, g, c, ids, opts)| {
                    let mut v = vec![b("XCLAIM"), k, g, c, b("0")];
                    v.extend(ids);
                    for o in opts {
                        v.extend(o.iter().map(|s| b(s)));
                    }
                    vec![exact(v)]
                })
                .boxed(),
        ),
        (
            3,
            (
                key(),
                group(),
                consumer(),
                range_bound(),
                prop::option::of(prop::sample::select(&["1", "2", "100", "0", "x"][..])),
                any::<bool>(),
            )
                .prop_map(|(k, g, c, s, n, justid)| {
                    let mut v = vec![b("XAUTOCLAIM"), k, g, c, b("0"), s];
                    if let Some(n) = n {
                        v.push(b("COUNT"));
                        v.push(b(n));
                    }
                    if justid {
                        v.push(b("JUSTID"));
                    }
                    vec![exact(v)]
                })
                .boxed(),
        ),
        (
            2,
            key()
                .prop_map(|k| vec![exact(vec![b("XINFO"), b("GROUPS"), k])])
                .boxed(),
        ),
        (
            1,
            (key(), group())
                .prop_map(|(k, g)| vec![exact(vec![b("XINFO"), b("CONSUMERS"), k, g])])
                .prop_map(|mut v| {
                    // Only the error paths are deterministic: use a group that does not exist.
                    v[0].argv[3] = b("nogroup");
                    v
                })
                .boxed(),
        ),
        (
            1,
            prop::sample::select(ODD_6)
                .prop_map(|w| vec![exact(w.iter().map(|s| b(s)).collect())])
                .boxed(),
        ),
        (
            1,
            prop::sample::select(&["2", "3"][..])
                .prop_map(|p| vec![Cmd::new(Check::Hello, vec![b("HELLO"), b(p)])])
                .boxed(),
        ),
        (
            1,
            Just(vec![exact(vec![b("SET"), b("str"), b("x")])]).boxed(),
        ),
    ];
    Union::new_weighted(arms).boxed()
}

fn state_dump() -> Vec<Cmd> {
    let mut out = vec![Cmd::new(Check::Hello, vec![b("HELLO"), b("2")])];
    for k in KEYS {
        for c in [
            vec![b("TYPE"), b(k)],
            vec![b("OBJECT"), b("ENCODING"), b(k)],
            vec![b("XLEN"), b(k)],
            vec![b("XRANGE"), b(k), b("-"), b("+")],
            vec![b("XINFO"), b("GROUPS"), b(k)],
            vec![b("XPENDING"), b(k), b("g1")],
            vec![b("XPENDING"), b(k), b("g2")],
            vec![
                b("XPENDING"),
                b(k),
                b("g1"),
                b("IDLE"),
                b("100000000"),
                b("-"),
                b("+"),
                b("100"),
            ],
        ] {
            out.push(Cmd::new(Check::Exact, c));
        }
    }
    out
}

#[test]
fn random_stream_sequences_match_redis() {
    let strategy = prop::collection::vec(command(), 15..=50)
        .prop_map(|groups| groups.into_iter().flatten().collect::<Vec<Cmd>>());
    run_random("diff_streams", strategy, &state_dump(), 20_261_122, 150);
}

fn regression(seq: &[(Check, &[&[u8]])]) {
    diff::regression(seq, &state_dump());
}

use Check::Exact;

#[test]
fn trimming_nodes_and_stream_info() {
    let mut seq: Vec<Vec<Vec<u8>>> = Vec::new();
    for i in 1..=250u32 {
        seq.push(vec![
            b("XADD"),
            b("s1"),
            format!("{i}-1").into_bytes(),
            b("f"),
            b("v"),
        ]);
    }
    seq.push(vec![b("XTRIM"), b("s1"), b("MAXLEN"), b("~"), b("120")]);
    seq.push(vec![b("XLEN"), b("s1")]);
    seq.push(vec![
        b("XADD"),
        b("s1"),
        b("MAXLEN"),
        b("~"),
        b("10"),
        b("LIMIT"),
        b("50"),
        b("300-0"),
        b("f"),
        b("v"),
    ]);
    seq.push(vec![b("XLEN"), b("s1")]);
    seq.push(vec![b("XTRIM"), b("s1"), b("MINID"), b("~"), b("240")]);
    seq.push(vec![b("XLEN"), b("s1")]);
    seq.push(vec![b("XTRIM"), b("s1"), b("MINID"), b("245")]);
    seq.push(vec![b("XDEL"), b("s1"), b("245-1"), b("300-0")]);
    seq.push(vec![
        b("XINFO"),
        b("STREAM"),
        b("s1"),
        b("FULL"),
        b("COUNT"),
        b("3"),
    ]);
    let refs: Vec<Vec<&[u8]>> = seq
        .iter()
        .map(|c| c.iter().map(|a| &a[..]).collect())
        .collect();
    let cmds: Vec<(Check, &[&[u8]])> = refs.iter().map(|c| (Exact, &c[..])).collect();
    regression(&cmds);
}

#[test]
fn consumer_group_lifecycle() {
    regression(&[
        (Exact, &[b"XADD", b"s1", b"1-1", b"a", b"1"]),
        (Exact, &[b"XADD", b"s1", b"2-1", b"b", b"2"]),
        (Exact, &[b"XADD", b"s1", b"3-1", b"c", b"3"]),
        (Exact, &[b"XGROUP", b"CREATE", b"s1", b"g1", b"0"]),
        (
            Exact,
            &[
                b"XREADGROUP",
                b"GROUP",
                b"g1",
                b"alice",
                b"COUNT",
                b"2",
                b"STREAMS",
                b"s1",
                b">",
            ],
        ),
        (Exact, &[b"XINFO", b"GROUPS", b"s1"]),
        (Exact, &[b"XDEL", b"s1", b"1-1"]),
        (
            Exact,
            &[
                b"XREADGROUP",
                b"GROUP",
                b"g1",
                b"alice",
                b"STREAMS",
                b"s1",
                b"0",
            ],
        ),
        (
            Exact,
            &[
                b"XCLAIM", b"s1", b"g1", b"bob", b"0", b"1-1", b"2-1", b"JUSTID",
            ],
        ),
        (
            Exact,
            &[
                b"XAUTOCLAIM",
                b"s1",
                b"g1",
                b"alice",
                b"0",
                b"0",
                b"COUNT",
                b"1",
            ],
        ),
        (
            Exact,
            &[
                b"XREADGROUP",
                b"GROUP",
                b"g1",
                b"bob",
                b"NOACK",
                b"STREAMS",
                b"s1",
                b">",
            ],
        ),
        (Exact, &[b"XINFO", b"GROUPS", b"s1"]),
        (Exact, &[b"XACK", b"s1", b"g1", b"2-1", b"9-9"]),
        (Exact, &[b"XGROUP", b"DELCONSUMER", b"s1", b"g1", b"alice"]),
        (Exact, &[b"XGROUP", b"SETID", b"s1", b"g1", b"$"]),
        (Check::Hello, &[b"HELLO", b"3"]),
        (Exact, &[b"XINFO", b"GROUPS", b"s1"]),
        (Exact, &[b"XREAD", b"STREAMS", b"s1", b"0"]),
        (Exact, &[b"XINFO", b"STREAM", b"s1"]),
    ]);
}

/// `*` IDs: the generated ID depends on each server's clock, so only the shape is compared.
#[test]
fn auto_ids_by_shape() {
    use ferrodis_resp::Frame;
    let Some(servers) = diff::start_servers() else {
        return;
    };
    let mut ours = servers.ours.connect().expect("connect ours");
    let mut real = servers.real.connect().expect("connect real");
    for conn in [&mut ours, &mut real] {
        for argv in [
            &["XADD", "s", "*", "f", "v"][..],
            &["XADD", "s", "MAXLEN", "~", "1", "*", "f", "v"],
            &["XADD", "s", "NOMKSTREAM", "*", "f", "v"],
        ] {
            let f = diff::execute(conn, &diff::cmd_of(Exact, argv)).expect("reply");
            match f {
                Frame::Bulk(id) => {
                    let s = String::from_utf8(id.to_vec()).expect("utf8");
                    let (ms, seq) = s.split_once('-').expect("ms-seq");
                    assert!(
                        ms.parse::<u64>().is_ok() && seq.parse::<u64>().is_ok(),
                        "{s}"
                    );
                }
                other => panic!("XADD * replied {other:?}"),
            }
        }
        let f = diff::execute(conn, &diff::cmd_of(Exact, &["XLEN", "s"])).expect("reply");
        assert_eq!(f, Frame::Integer(3));
    }
}
