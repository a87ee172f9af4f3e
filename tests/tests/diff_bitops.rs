//! Differential test of the bitmap commands: random sequences of SETBIT, GETBIT, BITCOUNT
//! (BYTE/BIT ranges), BITPOS (with and without start/end, BYTE/BIT), BITOP AND/OR/XOR/NOT,
//! BITFIELD and BITFIELD_RO (GET/SET/INCRBY, signed and unsigned widths, `#N` offsets,
//! OVERFLOW WRAP/SAT/FAIL), mixed with SET/APPEND/INCR (int, embstr and raw sources), EXPIRE
//! (BITOP drops the destination's TTL) and DEL, run against ferrodis (in-process) and Debian's
//! redis-server 7.0.15. Replies must match frame for frame.
//!
//! Errors are generated on purpose: wrong types (a list key in the pool), bad and out-of-range
//! offsets (including past proto-max-bulk-len, never a valid huge write), bad bit values, bad
//! units, bad bitfield types (`u64`, `i0`, `i65`), bad OVERFLOW types, BITOP NOT with two
//! sources, BITFIELD_RO with writes, missing arguments. `HELLO 2/3` switches compare the RESP3
//! null of OVERFLOW FAIL too. The state dump gives TYPE, OBJECT ENCODING, the value and the TTL
//! of every pool key. A fixed sequence also compares, command by command, the dirty increments
//! (`rdb_changes_since_last_save`) and keyspace hits/misses of both servers.
//!
//! Seed: printed at start; `FERRODIS_DIFF_SEED=<u64>` replays, `FERRODIS_DIFF_CASES=<n>` sets
//! the case count (default 200).

use ferrodis_tests::diff::{self, b, Check, Cmd};
use proptest::prelude::*;
use proptest::strategy::{BoxedStrategy, Union};

const KEYS: &[&str] = &["b1", "b2", "{t}b3", "{t}b4", "lst"];

fn key() -> impl Strategy<Value = Vec<u8>> {
    prop::sample::select(KEYS).prop_map(b)
}

fn with(name: &str, args: Vec<Vec<u8>>) -> Cmd {
    let mut v = vec![b(name)];
    v.extend(args);
    Cmd::new(Check::Exact, v)
}

fn num(n: i64) -> Vec<u8> {
    n.to_string().into_bytes()
}

/// String values for SET: short text, canonical integers (int encoding), binary, long.
fn value() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        3 => prop::collection::vec(any::<u8>(), 0..12),
        2 => (-1000i64..100_000).prop_map(num),
        1 => prop::sample::select(&["", "foobar", "\u{ff}\u{f0}", "-9223372036854775808"][..])
            .prop_map(b),
        1 => prop::collection::vec(prop::sample::select(&[0u8, 0xff, 0x55, 0x80, 1][..]), 20..80),
    ]
}

/// Bit offsets for SETBIT/GETBIT: mostly small, some invalid or past the 512MB limit.
fn bit_offset() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        10 => (0i64..300).prop_map(num),
        1 => prop::sample::select(&[
            "-1", "abc", "", "4294967296", "9223372036854775807", "#3", " 1", "1.0",
            "99999999999999999999",
        ][..]).prop_map(b),
    ]
}

/// Range indexes for BITCOUNT/BITPOS.
fn index() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        6 => (-20i64..20).prop_map(num),
        3 => (-400i64..400).prop_map(num),
        1 => prop::sample::select(&[
            "x", "9223372036854775807", "-9223372036854775808", "1.5",
        ][..]).prop_map(b),
    ]
}

fn unit() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        4 => prop::sample::select(&["BIT", "BYTE", "bit", "byte"][..]).prop_map(b),
        1 => prop::sample::select(&["BITS", ""][..]).prop_map(b),
    ]
}

fn field_type() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        8 => (any::<bool>(), 1u32..64).prop_map(|(s, n)| {
            format!("{}{}", if s { 'i' } else { 'u' }, n).into_bytes()
        }),
        2 => prop::sample::select(&["i64", "u63", "i1", "u1", "i8", "u8"][..]).prop_map(b),
        1 => prop::sample::select(&["u64", "i0", "i65", "x8", "I8", "u", "", "i-1", "u+8"][..])
            .prop_map(b),
    ]
}

fn field_offset() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        8 => (0i64..160).prop_map(num),
        3 => (0i64..12).prop_map(|n| format!("#{n}").into_bytes()),
        1 => prop::sample::select(&[
            "-1", "#-1", "#", "abc", "4294967296", "#99999999999", "#1152921504606846976",
        ][..]).prop_map(b),
    ]
}

/// GET-only offsets may be huge (reads are zero-padded, no allocation).
fn get_offset() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        6 => field_offset(),
        1 => prop::sample::select(&["4000000000", "4294967000", "#60000000"][..]).prop_map(b),
    ]
}

fn field_value() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        6 => (-300i64..300).prop_map(num),
        3 => any::<i64>().prop_map(num),
        2 => prop::sample::select(&[
            "9223372036854775807", "-9223372036854775808", "127", "128", "-128", "-129",
            "255", "256", "4611686018427387904", "-4611686018427387905",
        ][..]).prop_map(b),
        1 => prop::sample::select(&["x", "", "1.0", "18446744073709551615"][..]).prop_map(b),
    ]
}

/// One BITFIELD subcommand (a few are malformed).
fn subcommand(write: bool) -> BoxedStrategy<Vec<Vec<u8>>> {
    let get = (field_type(), get_offset())
        .prop_map(|(t, o)| vec![b("GET"), t, o])
        .boxed();
    if !write {
        return get;
    }
    Union::new_weighted(vec![
        (3, get),
        (
            4,
            (field_type(), field_offset(), field_value())
                .prop_map(|(t, o, v)| vec![b("SET"), t, o, v])
                .boxed(),
        ),
        (
            4,
            (field_type(), field_offset(), field_value())
                .prop_map(|(t, o, v)| vec![b("INCRBY"), t, o, v])
                .boxed(),
        ),
        (
            3,
            prop::sample::select(&["WRAP", "SAT", "FAIL", "fail", "sat", "bogus"][..])
                .prop_map(|t| vec![b("OVERFLOW"), b(t)])
                .boxed(),
        ),
        (
            1,
            prop::sample::select(&["GET", "SET", "INCRBY", "OVERFLOW", "FOO"][..])
                .prop_map(|s| vec![b(s)])
                .boxed(),
        ),
    ])
    .boxed()
}

fn command() -> BoxedStrategy<Cmd> {
    let arms: Vec<(u32, BoxedStrategy<Cmd>)> = vec![
        (
            3,
            (key(), value())
                .prop_map(|(k, v)| with("SET", vec![k, v]))
                .boxed(),
        ),
        (
            1,
            (key(), value())
                .prop_map(|(k, v)| with("APPEND", vec![k, v]))
                .boxed(),
        ),
        (1, key().prop_map(|k| with("INCR", vec![k])).boxed()),
        (1, key().prop_map(|k| with("DEL", vec![k])).boxed()),
        (
            1,
            key()
                .prop_map(|k| with("EXPIRE", vec![k, b("1000")]))
                .boxed(),
        ),
        (
            1,
            Just(with("RPUSH", vec![b("lst"), b("x")])).boxed(),
        ),
        (
            6,
            (
                key(),
                bit_offset(),
                prop_oneof![8 => prop::sample::select(&["0", "1"][..]).prop_map(b),
                            1 => prop::sample::select(&["2", "-1", "x", ""][..]).prop_map(b)],
            )
                .prop_map(|(k, o, v)| with("SETBIT", vec![k, o, v]))
                .boxed(),
        ),
        (
            3,
            (key(), bit_offset())
                .prop_map(|(k, o)| with("GETBIT", vec![k, o]))
                .boxed(),
        ),
        (
            5,
            (
                key(),
                prop::option::of((index(), index(), prop::option::of(unit()))),
                prop::option::weighted(0.05, Just(b("extra"))),
            )
                .prop_map(|(k, r, x)| {
                    let mut a = vec![k];
                    if let Some((s, e, u)) = r {
                        a.push(s);
                        a.push(e);
                        a.extend(u);
                    }
                    a.extend(x);
                    with("BITCOUNT", a)
                })
                .boxed(),
        ),
        (
            1,
            (key(), index())
                .prop_map(|(k, s)| with("BITCOUNT", vec![k, s]))
                .boxed(),
        ),
        (
            6,
            (
                key(),
                prop_oneof![8 => prop::sample::select(&["0", "1"][..]).prop_map(b),
                            1 => prop::sample::select(&["2", "-1", "x"][..]).prop_map(b)],
                0usize..5,
                index(),
                index(),
                unit(),
            )
                .prop_map(|(k, bit, n, s, e, u)| {
                    // n: how many of start, end, unit are given (4 = one extra argument).
                    let mut a = vec![k, bit];
                    let opt = [s, e, u, b("extra")];
                    a.extend(opt.into_iter().take(n));
                    with("BITPOS", a)
                })
                .boxed(),
        ),
        (
            5,
            (
                prop_oneof![6 => prop::sample::select(&["AND", "OR", "XOR", "NOT", "and", "Not"][..])
                                .prop_map(b),
                            1 => prop::sample::select(&["NAND", ""][..]).prop_map(b)],
                key(),
                prop::collection::vec(key(), 1..5),
            )
                .prop_map(|(op, d, srcs)| {
                    // NOT mostly gets its single source; sometimes more, for the error.
                    let srcs = if op.eq_ignore_ascii_case(b"not") && srcs.len() > 2 {
                        srcs[..1].to_vec()
                    } else {
                        srcs
                    };
                    let mut a = vec![op, d];
                    a.extend(srcs);
                    with("BITOP", a)
                })
                .boxed(),
        ),
        (
            7,
            (key(), prop::collection::vec(subcommand(true), 0..5))
                .prop_map(|(k, subs)| {
                    let mut a = vec![k];
                    a.extend(subs.into_iter().flatten());
                    with("BITFIELD", a)
                })
                .boxed(),
        ),
        (
            2,
            (
                key(),
                prop::collection::vec(subcommand(false), 0..4),
                prop::option::weighted(0.2, subcommand(true)),
            )
                .prop_map(|(k, subs, w)| {
                    let mut a = vec![k];
                    a.extend(subs.into_iter().flatten());
                    a.extend(w.into_iter().flatten());
                    with("BITFIELD_RO", a)
                })
                .boxed(),
        ),
        (
            1,
            prop::sample::select(&["2", "3"][..])
                .prop_map(|p| Cmd::new(Check::Hello, vec![b("HELLO"), b(p)]))
                .boxed(),
        ),
    ];
    Union::new_weighted(arms).boxed()
}

fn sequence() -> impl Strategy<Value = Vec<Cmd>> {
    prop::collection::vec(command(), 8..36)
}

fn state_dump() -> Vec<Cmd> {
    let mut out = Vec::new();
    for k in KEYS {
        for args in [
            vec![b("TYPE"), b(k)],
            vec![b("OBJECT"), b("ENCODING"), b(k)],
            vec![b("GET"), b(k)],
            vec![b("TTL"), b(k)],
        ] {
            out.push(Cmd::new(Check::Exact, args));
        }
    }
    out
}

#[test]
fn random_bitops_sequences_match_redis() {
    diff::run_random("diff_bitops", sequence(), &state_dump(), 0xb170_0001, 200);
}

#[test]
fn bitfield_edge_cases() {
    use Check::Exact;
    let seq: &[(Check, &[&[u8]])] = &[
        (
            Exact,
            &[
                b"BITFIELD",
                b"k",
                b"SET",
                b"i8",
                b"0",
                b"-9223372036854775808",
            ],
        ),
        (
            Exact,
            &[
                b"BITFIELD",
                b"k",
                b"OVERFLOW",
                b"SAT",
                b"SET",
                b"i8",
                b"0",
                b"-9223372036854775808",
            ],
        ),
        (
            Exact,
            &[
                b"BITFIELD",
                b"k",
                b"OVERFLOW",
                b"SAT",
                b"SET",
                b"u8",
                b"0",
                b"-1",
            ],
        ),
        (
            Exact,
            &[
                b"BITFIELD",
                b"k",
                b"OVERFLOW",
                b"SAT",
                b"INCRBY",
                b"i64",
                b"0",
                b"9223372036854775807",
            ],
        ),
        (
            Exact,
            &[
                b"BITFIELD",
                b"k",
                b"INCRBY",
                b"i64",
                b"0",
                b"9223372036854775807",
            ],
        ),
        (
            Exact,
            &[
                b"BITFIELD",
                b"k",
                b"OVERFLOW",
                b"FAIL",
                b"INCRBY",
                b"u63",
                b"3",
                b"-1",
            ],
        ),
        (
            Exact,
            &[
                b"BITFIELD",
                b"new",
                b"OVERFLOW",
                b"FAIL",
                b"SET",
                b"u2",
                b"100",
                b"9",
            ],
        ),
        (Exact, &[b"EXISTS", b"new"]),
        (Exact, &[b"STRLEN", b"new"]),
        (
            Exact,
            &[
                b"BITFIELD",
                b"k",
                b"GET",
                b"i64",
                b"#1",
                b"GET",
                b"u63",
                b"#1",
            ],
        ),
        (Exact, &[b"SET", b"n", b"12345"]),
        (Exact, &[b"BITFIELD_RO", b"n", b"GET", b"u8", b"0"]),
        (Exact, &[b"OBJECT", b"ENCODING", b"n"]),
        (
            Exact,
            &[
                b"BITFIELD",
                b"n",
                b"OVERFLOW",
                b"FAIL",
                b"INCRBY",
                b"u1",
                b"0",
                b"5",
            ],
        ),
        (Exact, &[b"OBJECT", b"ENCODING", b"n"]),
        (Exact, &[b"SETBIT", b"e", b"7", b"0"]),
        (Exact, &[b"GET", b"e"]),
        (Exact, &[b"SET", b"z", b""]),
        (Exact, &[b"BITPOS", b"z", b"0"]),
        (Exact, &[b"BITPOS", b"z", b"1"]),
        (Exact, &[b"BITCOUNT", b"z", b"0", b"-1", b"BIT"]),
    ];
    diff::regression(seq, &state_dump());
}

/// One `field:value` integer of an INFO section.
fn info_int(conn: &mut ferrodis_tests::RespConn, section: &[u8], field: &str) -> i64 {
    let frame = conn.cmd(&[b"INFO", section]).expect("INFO");
    let text = match frame {
        ferrodis_resp::Frame::Bulk(b) => b,
        other => panic!("INFO replied {other:?}"),
    };
    let text = String::from_utf8_lossy(&text).into_owned();
    text.lines()
        .find_map(|l| l.strip_prefix(&format!("{field}:")))
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or_else(|| panic!("no {field} in INFO"))
}

/// Dirty counts (what decides persistence and propagation) and keyspace hits/misses after
/// every command: ferrodis's increments must equal redis-server's, command by command.
#[test]
fn dirty_and_keyspace_stats_match_redis() {
    let Some(servers) = diff::start_servers() else {
        return;
    };
    let seq: &[&[&str]] = &[
        &["SETBIT", "k", "7", "1"],
        &["SETBIT", "k", "7", "1"],
        &["SETBIT", "k", "7", "0"],
        &["SETBIT", "k", "100", "0"],
        &["SETBIT", "k", "-1", "0"],
        &["GETBIT", "k", "7"],
        &["GETBIT", "missing", "7"],
        &["BITCOUNT", "k"],
        &["BITCOUNT", "missing", "0", "1"],
        &["BITPOS", "k", "1"],
        &["BITPOS", "missing", "0"],
        &["BITPOS", "k", "2"],
        &["BITOP", "OR", "d", "k", "missing"],
        &["BITOP", "OR", "d", "missing"],
        &["BITOP", "OR", "d", "missing"],
        &["BITOP", "NOT", "d", "k", "k"],
        &[
            "BITFIELD", "f", "SET", "u8", "0", "1", "SET", "u8", "8", "1", "GET", "u8", "0",
        ],
        &[
            "BITFIELD", "f", "SET", "u8", "0", "1", "INCRBY", "u8", "8", "1",
        ],
        &["BITFIELD", "f", "INCRBY", "u8", "8", "0"],
        &[
            "BITFIELD", "f", "OVERFLOW", "FAIL", "INCRBY", "u8", "8", "1000",
        ],
        &["BITFIELD", "g", "OVERFLOW", "FAIL", "SET", "u2", "0", "9"],
        &["BITFIELD", "f", "GET", "u8", "0"],
        &["BITFIELD", "missing", "GET", "u8", "0"],
        &["BITFIELD_RO", "f", "GET", "u8", "0"],
        &["BITFIELD_RO", "f", "SET", "u8", "0", "3"],
        &["BITFIELD", "f", "SET", "u8", "0", "x"],
        &[
            "BITFIELD", "f", "SET", "u8", "200", "0", "SET", "u8", "300", "0",
        ],
    ];
    let mut conns = [
        servers.ours.connect().expect("connect ours"),
        servers.real.connect().expect("connect real"),
    ];
    for c in conns.iter_mut() {
        c.cmd(&[b"FLUSHALL"]).expect("FLUSHALL");
        c.cmd(&[b"CONFIG", b"RESETSTAT"]).expect("RESETSTAT");
    }
    let read = |c: &mut ferrodis_tests::RespConn| {
        [
            info_int(c, b"persistence", "rdb_changes_since_last_save"),
            info_int(c, b"stats", "keyspace_hits"),
            info_int(c, b"stats", "keyspace_misses"),
        ]
    };
    let mut before = [read(&mut conns[0]), read(&mut conns[1])];
    for argv in seq {
        let mut deltas = Vec::new();
        let mut replies = Vec::new();
        for (i, c) in conns.iter_mut().enumerate() {
            let args: Vec<&[u8]> = argv.iter().map(|a| a.as_bytes()).collect();
            replies.push(c.cmd(&args).expect("command"));
            let now = read(c);
            deltas.push([
                now[0] - before[i][0],
                now[1] - before[i][1],
                now[2] - before[i][2],
            ]);
            before[i] = now;
        }
        assert_eq!(
            replies[0], replies[1],
            "{argv:?}: replies differ (ferrodis, redis)"
        );
        assert_eq!(
            deltas[0], deltas[1],
            "{argv:?}: [dirty, hits, misses] increments differ (ferrodis, redis)"
        );
    }
}
