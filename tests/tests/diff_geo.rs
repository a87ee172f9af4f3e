//! Differential test of the geo commands: random sequences of GEOADD, GEOPOS, GEODIST, GEOHASH,
//! GEOSEARCH, GEOSEARCHSTORE, GEORADIUS, GEORADIUSBYMEMBER and the `_RO` forms run on ferrodis
//! (in-process) and on Debian's redis-server 7.0.15; replies must match RESP frame for frame
//! (distances, coordinates, hashes, orders), then a state dump (TYPE, OBJECT ENCODING and
//! ZRANGE WITHSCORES of every pool key, so STORE results and GEOADD scores are compared exactly).
//!
//! Keys: `ga`, `gb` (geo sets), `gz` (a sorted set also written with arbitrary ZADD scores, so
//! decoding of scores GEOADD never produces is compared too), `str` (WRONGTYPE paths).
//! Points cluster around a few centres (including the date line and the latitude limits) so
//! searches find several members; some points repeat a position exactly, so equal distances
//! exercise the sort's tie order (a stable full sort, or Redis's partial quicksort with COUNT).
//! Nothing here is random on Redis's side, so every reply is compared exactly.
//!
//! `FERRODIS_DIFF_SEED` replays a seed, `FERRODIS_DIFF_CASES` sets the number of cases
//! (default 150).

use ferrodis_tests::diff::{self, b, Check, Cmd};
use proptest::prelude::*;
use proptest::strategy::{BoxedStrategy, Union};

const POOL: &[&str] = &["ga", "gb", "gz", "str"];

fn with(name: &str, args: Vec<Vec<u8>>) -> Vec<Vec<u8>> {
    let mut v = vec![b(name)];
    v.extend(args);
    v
}

fn exact(argv: Vec<Vec<u8>>) -> Vec<Cmd> {
    vec![Cmd::new(Check::Exact, argv)]
}

fn gkey() -> impl Strategy<Value = Vec<u8>> {
    prop::sample::select(&["ga", "gb", "gz"][..]).prop_map(b)
}

fn any_key() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        8 => prop::sample::select(&["ga", "ga", "gb", "gb", "gz"][..]).prop_map(b),
        1 => prop::sample::select(&["str", "nokey"][..]).prop_map(b),
    ]
}

fn member() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        10 => prop::sample::select(&["a", "b", "c", "d", "e", "f", "g", "h", "1", "2"][..])
            .prop_map(b),
        1 => prop::sample::select(&["", "x y", "nope", "\u{e9}"][..]).prop_map(b),
        1 => Just(vec![b'm'; 70]),
    ]
}

/// Members for lookups: mostly ones the seeded sets hold.
fn known_member() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        6 => prop::sample::select(&["a", "b", "c", "d", "e"][..]).prop_map(b),
        1 => member(),
    ]
}

const CENTRES: &[(f64, f64)] = &[
    (13.361389, 38.115556),
    (15.087269, 37.502669),
    (-73.9454966, 40.747533),
    (179.99, 0.5),
    (-179.99, -0.5),
    (2.35, 85.0),
    (-120.0, -84.99),
    (0.0, 0.0),
];

/// A valid position near one of the centres (clamped to the index's limits).
fn position() -> impl Strategy<Value = (f64, f64)> {
    (
        prop::sample::select(CENTRES),
        prop::sample::select(&[0.0, 0.0001, 0.01, 0.3, 2.0, 30.0][..]),
        -1.0f64..1.0,
        -1.0f64..1.0,
    )
        .prop_map(|((x, y), spread, dx, dy)| {
            let x = (x + dx * spread).clamp(-180.0, 180.0);
            let y = (y + dy * spread).clamp(-85.05112878, 85.05112878);
            (x, y)
        })
}

fn fmt_coord(v: f64, digits: usize) -> Vec<u8> {
    format!("{v:.digits$}").into_bytes()
}

/// `lon lat` arguments: mostly valid, sometimes exactly a centre (equal positions), sometimes
/// out of range or not numbers.
fn lon_lat() -> impl Strategy<Value = [Vec<u8>; 2]> {
    prop_oneof![
        20 => (position(), prop::sample::select(&[2usize, 4, 6, 9][..]))
            .prop_map(|((x, y), d)| [fmt_coord(x, d), fmt_coord(y, d)]),
        3 => prop::sample::select(CENTRES).prop_map(|(x, y)| [fmt_coord(x, 6), fmt_coord(y, 6)]),
        1 => prop::sample::select(&[
            ("180", "85.05112878"), ("-180", "-85.05112878"), ("180.0001", "0"),
            ("0", "85.06"), ("0", "-90"), ("abc", "1"), ("1", ""), ("inf", "0"),
            ("nan", "0"), ("-181", "100"), ("1e2", "1e1"), (" 1", "2"),
        ][..]).prop_map(|(x, y)| [b(x), b(y)]),
    ]
}

fn unit() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        20 => prop::sample::select(&["m", "km", "ft", "mi", "KM", "Mi"][..]).prop_map(b),
        1 => prop::sample::select(&["meters", "", "k"][..]).prop_map(b),
    ]
}

/// A radius (or box side) in some unit.
fn distance() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        20 => prop::sample::select(&[
            "0", "1", "10", "100", "500", "1000", "5000", "50000", "200", "2000.5",
            "300000", "5000000", "20000000", "1e8",
        ][..]).prop_map(b),
        1 => prop::sample::select(&["-1", "abc", "", "inf", "-0", "nan"][..]).prop_map(b),
    ]
}

fn count() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        16 => (1i64..6).prop_map(|n| n.to_string().into_bytes()),
        1 => prop::sample::select(&["0", "-1", "abc", "100", "9223372036854775807"][..])
            .prop_map(b),
    ]
}

fn geoadd_cmd() -> BoxedStrategy<Vec<Cmd>> {
    (
        prop_oneof![6 => gkey(), 1 => Just(b("str"))],
        prop::collection::vec(
            prop::sample::select(&["NX", "XX", "CH", "ch", "GT", "INCR"][..]).prop_map(b),
            0..2,
        ),
        prop::collection::vec((lon_lat(), member()), 1..9),
        0u8..12,
    )
        .prop_map(|(k, opts, items, junk)| {
            let mut v = vec![k];
            // GT/INCR are not GEOADD options: keep them rare.
            v.extend(
                opts.into_iter()
                    .filter(|o| junk == 0 || (o != b"GT" && o != b"INCR")),
            );
            for ([x, y], m) in items {
                v.extend([x, y, m]);
            }
            if junk == 1 {
                v.pop();
            }
            exact(with("GEOADD", v))
        })
        .boxed()
}

/// The optional words of every search form, shuffled by the caller.
fn search_options(store: bool) -> impl Strategy<Value = Vec<Vec<Vec<u8>>>> {
    (
        prop::sample::select(&[0u8, 0, 1, 2][..]),
        prop::option::of(count()),
        prop::sample::select(&[0u8, 0, 0, 1][..]),
        prop::bool::weighted(if store { 0.05 } else { 0.4 }),
        prop::bool::weighted(if store { 0.05 } else { 0.4 }),
        prop::bool::weighted(if store { 0.05 } else { 0.3 }),
    )
        .prop_map(|(sort, count, any, wd, wc, wh)| {
            let mut opts: Vec<Vec<Vec<u8>>> = Vec::new();
            match sort {
                1 => opts.push(vec![b("ASC")]),
                2 => opts.push(vec![b("desc")]),
                _ => {}
            }
            if let Some(c) = count {
                let mut o = vec![b("COUNT"), c];
                if any == 1 {
                    o.push(b("ANY"));
                }
                opts.push(o);
            } else if any == 1 {
                opts.push(vec![b("ANY")]);
            }
            if wd {
                opts.push(vec![b("WITHDIST")]);
            }
            if wc {
                opts.push(vec![b("WITHCOORD")]);
            }
            if wh {
                opts.push(vec![b("WITHHASH")]);
            }
            opts
        })
}

fn geosearch_cmd(store: bool) -> BoxedStrategy<Vec<Cmd>> {
    let from = prop_oneof![
        12 => known_member().prop_map(|m| vec![b("FROMMEMBER"), m]),
        12 => lon_lat().prop_map(|[x, y]| vec![b("FROMLONLAT"), x, y]),
        1 => Just(vec![]),
        1 => (member(), lon_lat()).prop_map(|(m, [x, y])| vec![b("FROMLONLAT"), x, y, b("frommember"), m]),
    ];
    let by = prop_oneof![
        12 => (distance(), unit()).prop_map(|(r, u)| vec![b("BYRADIUS"), r, u]),
        12 => (distance(), distance(), unit()).prop_map(|(w, h, u)| vec![b("BYBOX"), w, h, u]),
        1 => Just(vec![]),
        1 => (distance(), unit()).prop_map(|(r, u)| vec![b("byradius"), r, u, b("BYBOX"), b("1"), b("1"), b("m")]),
    ];
    (
        any_key(),
        gkey(),
        from,
        by,
        search_options(store),
        prop::bool::ANY,
        prop::sample::select(&[0u8, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 2][..]),
    )
        .prop_map(move |(src, dst, from, by, mut opts, shuffle, extra)| {
            opts.insert(0, from);
            opts.insert(1, by);
            if store && extra == 1 {
                opts.push(vec![b("STOREDIST")]);
            }
            if extra == 2 {
                opts.push(vec![b(if store { "STORE" } else { "STOREDIST" })]);
            }
            if shuffle {
                opts.reverse();
            }
            let mut v = Vec::new();
            if store {
                v.push(dst);
            }
            v.push(src);
            v.extend(opts.into_iter().flatten());
            exact(with(if store { "GEOSEARCHSTORE" } else { "GEOSEARCH" }, v))
        })
        .boxed()
}

fn georadius_cmd() -> BoxedStrategy<Vec<Cmd>> {
    (
        prop::sample::select(
            &[
                "GEORADIUS",
                "GEORADIUS_RO",
                "GEORADIUSBYMEMBER",
                "GEORADIUSBYMEMBER_RO",
            ][..],
        ),
        any_key(),
        lon_lat(),
        known_member(),
        distance(),
        unit(),
        search_options(false),
        prop::sample::select(&[0u8, 0, 0, 0, 0, 1, 2][..]),
        gkey(),
        prop::bool::ANY,
    )
        .prop_map(
            |(name, k, [x, y], m, r, u, mut opts, store, dst, shuffle)| {
                if store > 0 && (!name.ends_with("_RO") || shuffle) {
                    // STORE refuses WITH* options: drop them most of the time.
                    if shuffle {
                        opts.retain(|o| !o[0].starts_with(b"WITH"));
                    }
                    opts.push(vec![b(if store == 1 { "STORE" } else { "STOREDIST" }), dst]);
                }
                if shuffle {
                    opts.reverse();
                }
                let mut v = vec![k];
                if name.contains("MEMBER") {
                    v.push(m);
                } else {
                    v.extend([x, y]);
                }
                v.extend([r, u]);
                v.extend(opts.into_iter().flatten());
                exact(with(name, v))
            },
        )
        .boxed()
}

fn command() -> BoxedStrategy<Vec<Cmd>> {
    let arms: Vec<(u32, BoxedStrategy<Vec<Cmd>>)> = vec![
        (14, geoadd_cmd()),
        (
            3,
            (any_key(), prop::collection::vec(member(), 1..4))
                .prop_map(|(k, ms)| {
                    let mut v = vec![k];
                    v.extend(ms);
                    exact(with("GEOPOS", v))
                })
                .boxed(),
        ),
        (
            3,
            (any_key(), prop::collection::vec(member(), 1..4))
                .prop_map(|(k, ms)| {
                    let mut v = vec![k];
                    v.extend(ms);
                    exact(with("GEOHASH", v))
                })
                .boxed(),
        ),
        (
            3,
            (any_key(), member(), member(), prop::option::of(unit()), 0u8..10)
                .prop_map(|(k, a, z, u, extra)| {
                    let mut v = vec![k, a, z];
                    v.extend(u);
                    if extra == 0 {
                        v.push(b("km"));
                    }
                    exact(with("GEODIST", v))
                })
                .boxed(),
        ),
        (8, geosearch_cmd(false)),
        (4, geosearch_cmd(true)),
        (6, georadius_cmd()),
        (
            2,
            (
                prop::collection::vec(
                    (
                        prop_oneof![
                            3 => (0u64..(1u64 << 52)).prop_map(|s| s.to_string().into_bytes()),
                            1 => prop::sample::select(&["-1", "1.5", "4503599627370496", "1e17", "-inf", "inf"][..]).prop_map(b),
                        ],
                        member(),
                    ),
                    1..3,
                ),
            )
                .prop_map(|(items,)| {
                    let mut v = vec![b("gz")];
                    for (s, m) in items {
                        v.extend([s, m]);
                    }
                    exact(with("ZADD", v))
                })
                .boxed(),
        ),
        (
            1,
            (gkey(), member())
                .prop_map(|(k, m)| exact(with("ZREM", vec![k, m])))
                .boxed(),
        ),
        (1, Just(exact(with("SET", vec![b("str"), b("v")]))).boxed()),
        (1, gkey().prop_map(|k| exact(with("DEL", vec![k]))).boxed()),
        (
            1,
            prop::sample::select(&["2", "3"][..])
                .prop_map(|p| vec![Cmd::new(Check::Hello, with("HELLO", vec![b(p)]))])
                .boxed(),
        ),
        (
            1,
            prop::sample::select(&["0", "1", "3", "128"][..])
                .prop_map(|n| {
                    exact(with(
                        "CONFIG",
                        vec![b("SET"), b("zset-max-listpack-entries"), b(n)],
                    ))
                })
                .boxed(),
        ),
        // Free-form: any geo command with loose arguments (arity, syntax, number errors).
        (
            1,
            (
                prop::sample::select(
                    &[
                        "GEOADD",
                        "GEOPOS",
                        "GEODIST",
                        "GEOHASH",
                        "GEOSEARCH",
                        "GEOSEARCHSTORE",
                        "GEORADIUS",
                        "GEORADIUS_RO",
                        "GEORADIUSBYMEMBER",
                        "GEORADIUSBYMEMBER_RO",
                        "geosearch",
                    ][..],
                ),
                prop::collection::vec(
                    prop_oneof![
                        gkey(),
                        member(),
                        distance(),
                        unit(),
                        prop::sample::select(
                            &[
                                "FROMMEMBER", "FROMLONLAT", "BYRADIUS", "BYBOX", "COUNT", "ANY",
                                "ASC", "DESC", "WITHDIST", "WITHCOORD", "WITHHASH", "STORE",
                                "STOREDIST", "13.36", "38.11", "bogus",
                            ][..]
                        )
                        .prop_map(b),
                    ],
                    0..8,
                ),
            )
                .prop_map(|(name, args)| exact(with(name, args)))
                .boxed(),
        ),
    ];
    Union::new_weighted(arms).boxed()
}

/// A GEOADD of valid points to `key` (the sequence's starting data, so searches find members).
fn seed(key: &'static str) -> impl Strategy<Value = Cmd> {
    prop::collection::vec(
        (
            prop_oneof![
                4 => (position(), prop::sample::select(&[2usize, 4, 6, 9][..]))
                    .prop_map(|((x, y), d)| [fmt_coord(x, d), fmt_coord(y, d)]),
                1 => prop::sample::select(CENTRES)
                    .prop_map(|(x, y)| [fmt_coord(x, 6), fmt_coord(y, 6)]),
            ],
            member(),
        ),
        5..25,
    )
    .prop_map(move |items| {
        let mut v = vec![b(key)];
        for ([x, y], m) in items {
            v.extend([x, y, m]);
        }
        Cmd::new(Check::Exact, with("GEOADD", v))
    })
}

fn sequence() -> impl Strategy<Value = Vec<Cmd>> {
    // Every sequence starts from the default encoding limits and some data.
    (
        seed("ga"),
        seed("gb"),
        prop::collection::vec(command(), 1..30),
    )
        .prop_map(|(a, g, cmds)| {
            let mut out = vec![
                Cmd::new(
                    Check::Exact,
                    with(
                        "CONFIG",
                        vec![b("SET"), b("zset-max-listpack-entries"), b("128")],
                    ),
                ),
                Cmd::new(Check::Hello, with("HELLO", vec![b("2")])),
                a,
                g,
            ];
            out.extend(cmds.into_iter().flatten());
            out
        })
}

/// The state dump appended to every sequence.
fn state_dump() -> Vec<Cmd> {
    let mut out = vec![Cmd::new(Check::Hello, vec![b("HELLO"), b("2")])];
    for k in POOL {
        for argv in [
            vec![b("TYPE"), b(k)],
            vec![b("OBJECT"), b("ENCODING"), b(k)],
            vec![b("ZRANGE"), b(k), b("0"), b("-1"), b("WITHSCORES")],
        ] {
            out.push(Cmd::new(Check::Exact, argv));
        }
    }
    out
}

#[test]
fn geo_commands_match_redis() {
    diff::run_random("diff_geo", sequence(), &state_dump(), 0x6E0_5EA_2C4, 150);
}

/// Fixed cases from Redis's documentation and suite, plus ties and the partial sort.
#[test]
fn geo_examples_match_redis() {
    let seq: &[(Check, &[&[u8]])] = &[
        (
            Check::Exact,
            &[
                b"GEOADD",
                b"ga",
                b"13.361389",
                b"38.115556",
                b"Palermo",
                b"15.087269",
                b"37.502669",
                b"Catania",
            ],
        ),
        (Check::Exact, &[b"GEODIST", b"ga", b"Palermo", b"Catania"]),
        (
            Check::Exact,
            &[b"GEODIST", b"ga", b"Palermo", b"Catania", b"km"],
        ),
        (
            Check::Exact,
            &[b"GEOHASH", b"ga", b"Palermo", b"Catania", b"x"],
        ),
        (
            Check::Exact,
            &[b"GEOPOS", b"ga", b"Palermo", b"x", b"Catania"],
        ),
        (
            Check::Exact,
            &[
                b"GEORADIUS",
                b"ga",
                b"15",
                b"37",
                b"200",
                b"km",
                b"WITHDIST",
                b"WITHCOORD",
                b"WITHHASH",
            ],
        ),
        (
            Check::Exact,
            &[
                b"GEOADD", b"ga", b"1", b"1", b"t1", b"1", b"1", b"t2", b"1", b"1", b"t3", b"1",
                b"1", b"t4", b"1", b"1", b"t5", b"1", b"1", b"t6", b"1", b"1", b"t7", b"1", b"1",
                b"t8",
            ],
        ),
        (
            Check::Exact,
            &[
                b"GEOSEARCH",
                b"ga",
                b"FROMLONLAT",
                b"1",
                b"1",
                b"BYRADIUS",
                b"10",
                b"km",
                b"COUNT",
                b"3",
            ],
        ),
        (
            Check::Exact,
            &[
                b"GEOSEARCH",
                b"ga",
                b"FROMLONLAT",
                b"1",
                b"1",
                b"BYRADIUS",
                b"10",
                b"km",
                b"COUNT",
                b"7",
                b"DESC",
            ],
        ),
        (
            Check::Exact,
            &[
                b"GEOSEARCH",
                b"ga",
                b"FROMLONLAT",
                b"1",
                b"1",
                b"BYRADIUS",
                b"10",
                b"km",
                b"ASC",
            ],
        ),
        (
            Check::Exact,
            &[
                b"GEOSEARCHSTORE",
                b"gb",
                b"ga",
                b"FROMMEMBER",
                b"Palermo",
                b"BYBOX",
                b"400",
                b"400",
                b"km",
                b"STOREDIST",
            ],
        ),
        (
            Check::Exact,
            &[
                b"GEORADIUSBYMEMBER",
                b"ga",
                b"Palermo",
                b"200",
                b"km",
                b"STORE",
                b"gz",
            ],
        ),
        (Check::Hello, &[b"HELLO", b"3"]),
        (Check::Exact, &[b"GEOPOS", b"ga", b"Palermo"]),
        (
            Check::Exact,
            &[
                b"GEOSEARCH",
                b"ga",
                b"FROMMEMBER",
                b"Catania",
                b"BYRADIUS",
                b"300",
                b"km",
                b"WITHCOORD",
                b"WITHDIST",
            ],
        ),
    ];
    diff::regression(seq, &state_dump());
}

/// Many points at a handful of positions, so COUNT runs Redis's partial quicksort (median of
/// nine above 40 elements) over long runs of equal distances: the tie order must be Redis's.
#[test]
fn partial_sort_ties_match_redis() {
    let mut add: Vec<Vec<u8>> = vec![b("GEOADD"), b("t")];
    for i in 0..90 {
        let (x, y) = [(1.0, 1.0), (1.001, 1.0), (1.0, 1.002), (0.999, 0.999)][i % 4];
        add.extend([
            format!("{x}").into_bytes(),
            format!("{y}").into_bytes(),
            format!("m{i}").into_bytes(),
        ]);
    }
    let mut seq = vec![Cmd::new(Check::Exact, add)];
    for (count, order) in [
        ("1", "ASC"),
        ("3", "ASC"),
        ("7", "DESC"),
        ("41", "ASC"),
        ("60", "DESC"),
        ("89", "ASC"),
    ] {
        seq.push(Cmd::new(
            Check::Exact,
            [
                "GEOSEARCH",
                "t",
                "FROMLONLAT",
                "1",
                "1",
                "BYRADIUS",
                "10",
                "km",
                "COUNT",
                count,
                order,
                "WITHDIST",
            ]
            .iter()
            .map(|w| b(w))
            .collect(),
        ));
        seq.push(Cmd::new(
            Check::Exact,
            [
                "GEORADIUS",
                "t",
                "1.0005",
                "1",
                "10",
                "km",
                "COUNT",
                count,
                order,
            ]
            .iter()
            .map(|w| b(w))
            .collect(),
        ));
    }
    let seq: Vec<(Check, Vec<&[u8]>)> = seq
        .iter()
        .map(|c| (c.check, c.argv.iter().map(Vec::as_slice).collect()))
        .collect();
    let seq: Vec<(Check, &[&[u8]])> = seq.iter().map(|(c, a)| (*c, a.as_slice())).collect();
    diff::regression(&seq, &state_dump());
}
