//! Differential test: random command sequences over the foundation's commands
//! run against ferrodis (in-process) and Debian's redis-server 7.0.15; every
//! reply must be identical, RESP frame for frame.
//!
//! Each proptest case opens fresh connections (DB 0, RESP2) after FLUSHALL on
//! both servers, runs 20-60 generated commands, then a state dump (per DB: KEYS,
//! and GET / PTTL / OBJECT ENCODING of every pool key). Keys come from a pool of
//! five so commands interact; values mix integers, floats, empty, long (>44
//! bytes, so `raw` encoding) and binary strings. Malformed shapes (wrong arity,
//! non-integers, overflowing numbers, bad option combinations, unknown commands)
//! are generated on purpose: error strings must match too.
//!
//! # Normalisations (everything else is compared exactly)
//! - `KEYS`: the array is sorted (order is hash-table order).
//! - `SCAN`: iterated to cursor 0 and compared as a sorted set of keys (cursor
//!   values and batch boundaries are implementation details); an error reply on
//!   the first call is compared exactly.
//! - `TTL` and `EXPIRETIME` may differ by 1 s, `PTTL` and `PEXPIRETIME` by
//!   [`PTTL_TOLERANCE_MS`]; negative replies (-1, -2) are exact. The two servers
//!   execute a command microseconds-to-milliseconds apart.
//! - `HELLO`: compared as (reply kind, `proto` field), since `id` differs.
//! - Relative expiries use TTLs of 100 s and more, so nothing expires while a
//!   sequence runs; absolute ones are in the past or far in the future relative
//!   to a base time fixed at the start. All are drawn from wide ranges so that
//!   NX/GT/LT never compare two equal expiries set at different instants. Active expiry is disabled on both
//!   (`DEBUG SET-ACTIVE-EXPIRE 0`) so `DBSIZE` sees the same not-yet-deleted
//!   keys with past expiries on both.
//! - Not generated: `RANDOMKEY` (random), `DEBUG`, `OBJECT FREQ/IDLETIME`.
//!
//! `FERRODIS_DIFF_SKIP` (see `diff::skipped_prefixes`) hides known differences
//! while exploring for others.
//!
//! Seed: printed at start; set `FERRODIS_DIFF_SEED=<u64>` to replay, and
//! `FERRODIS_DIFF_CASES=<n>` for more or fewer cases (default 400).

use ferrodis_tests::diff::{self, b, run_random, Check, Cmd};
use proptest::prelude::*;
use proptest::strategy::{BoxedStrategy, Union};
use std::sync::OnceLock;
use std::time::{SystemTime, UNIX_EPOCH};

const PTTL_TOLERANCE_MS: i64 = 50;
const KEYS: &[&str] = &["a", "b", "c", "num", "{t}x"];
const DBS: usize = 3;

/// Base time for absolute expiries, fixed once per run so both servers get the
/// same arguments.
fn base_s() -> i64 {
    static BASE: OnceLock<i64> = OnceLock::new();
    *BASE.get_or_init(|| {
        SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_secs() as i64)
            .unwrap_or(0)
    })
}

fn key() -> impl Strategy<Value = Vec<u8>> {
    prop::sample::select(KEYS).prop_map(b)
}

fn value() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        4 => prop::sample::select(&[
            "", "0", "1", "-1", "10", "42", "9999", "10000", "-123", "007", "+5", " 1", "0x10",
            "9223372036854775807", "-9223372036854775808", "9223372036854775808",
            "12345678901234567890", "3.14", "-0.5", "1e3", "1.5e300", ".5", "5.", "inf",
            "-inf", "nan", "abc", "hello world", "x",
        ][..]).prop_map(b),
        1 => "[a-c]{45,60}".prop_map(String::into_bytes),
        1 => prop::collection::vec(any::<u8>(), 0..12),
        1 => "[abc]{0,8}".prop_map(String::into_bytes),
    ]
}

/// Integers and near-integers for counts, offsets, increments. No valid
/// offset near 512 MB: SETRANGE would allocate that much on both servers.
fn int_arg() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        3 => (-20i64..20).prop_map(|n| n.to_string().into_bytes()),
        1 => prop::sample::select(&[
            "100", "-100", "abc", "1.5", "", "9223372036854775807", "-9223372036854775808",
            "9223372036854775808", "4611686018427387904", "536870912",
            "-536870912", " 3",
        ][..]).prop_map(b),
    ]
}

/// Relative expiry amounts: large enough not to elapse during a run, plus
/// zero, negative, overflowing and non-numeric values. Valid amounts are drawn
/// from a wide range so that two expiries are (almost) never equal: NX/GT/LT
/// comparisons of equal relative TTLs set a millisecond apart depend on timing.
fn rel_ttl(unit_ms: bool) -> impl Strategy<Value = Vec<u8>> {
    let scale = if unit_ms { 1000 } else { 1 };
    prop_oneof![
        3 => (100i64 * scale..400_000 * scale).prop_map(|n| n.to_string().into_bytes()),
        1 => prop::sample::select(&[
            "0", "-1", "-100", "abc", "1.5", "9223372036854775807", "9223372036854775",
            "-9223372036854775808", "",
        ][..]).prop_map(b),
    ]
}

/// Absolute expiry times: in the past, or far in the future (again from a wide range).
fn abs_time(unit_ms: bool) -> impl Strategy<Value = Vec<u8>> {
    let base = base_s();
    let scale = if unit_ms { 1000 } else { 1 };
    prop_oneof![
        1 => (-100i64..-1).prop_map(move |d| ((base + d) * scale).to_string().into_bytes()),
        3 => (100i64..400_000).prop_map(move |d| ((base + d) * scale).to_string().into_bytes()),
        1 => prop::sample::select(&["1", "0", "-1", "abc", "9223372036854775807"][..]).prop_map(b),
    ]
}

fn db_arg() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        4 => (0..DBS).prop_map(|d| d.to_string().into_bytes()),
        1 => prop::sample::select(&["16", "-1", "abc", "99999999999999999999"][..]).prop_map(b),
    ]
}

/// Tokens for SET's options, in any order and combination (many are invalid).
fn set_options() -> impl Strategy<Value = Vec<Vec<u8>>> {
    let opt = prop_oneof![
        2 => prop::sample::select(&["NX", "XX", "GET", "KEEPTTL", "nx", "get"][..])
            .prop_map(|o| vec![b(o)]),
        1 => rel_ttl(false).prop_map(|t| vec![b("EX"), t]),
        1 => rel_ttl(true).prop_map(|t| vec![b("PX"), t]),
        1 => abs_time(false).prop_map(|t| vec![b("EXAT"), t]),
        1 => abs_time(true).prop_map(|t| vec![b("PXAT"), t]),
        1 => Just(vec![b("EX")]),
        1 => Just(vec![b("BADOPT")]),
    ];
    prop::collection::vec(opt, 0..4).prop_map(|v| v.into_iter().flatten().collect())
}

fn getex_options() -> impl Strategy<Value = Vec<Vec<u8>>> {
    prop_oneof![
        1 => Just(vec![]),
        1 => rel_ttl(false).prop_map(|t| vec![b("EX"), t]),
        1 => rel_ttl(true).prop_map(|t| vec![b("PX"), t]),
        1 => abs_time(false).prop_map(|t| vec![b("EXAT"), t]),
        1 => abs_time(true).prop_map(|t| vec![b("PXAT"), t]),
        2 => Just(vec![b("PERSIST")]),
        1 => Just(vec![b("PERSIST"), b("EX"), b("100")]),
        1 => Just(vec![b("EX")]),
        1 => Just(vec![b("FOO")]),
    ]
}

fn expire_flags() -> impl Strategy<Value = Vec<Vec<u8>>> {
    prop::collection::vec(
        prop::sample::select(&["NX", "XX", "GT", "LT", "gt", "BAD"][..]).prop_map(b),
        0..3,
    )
}

fn cmd(check: Check, parts: Vec<Vec<u8>>) -> Cmd {
    Cmd::new(check, parts)
}

fn with(name: &str, args: Vec<Vec<u8>>) -> Vec<Vec<u8>> {
    let mut v = vec![b(name)];
    v.extend(args);
    v
}

/// A command compared exactly, as a mapping function for `prop_map`.
fn e(name: &'static str) -> impl Fn(Vec<Vec<u8>>) -> Cmd + Clone {
    move |args| cmd(Check::Exact, with(name, args))
}

/// Every generated command, weighted towards the ones with more behaviour.
fn command() -> BoxedStrategy<Cmd> {
    use Check::*;
    let arms: Vec<(u32, BoxedStrategy<Cmd>)> = vec![
        (
            6,
            (key(), value(), set_options())
                .prop_map(|(k, v, o)| {
                    let mut a = vec![k, v];
                    a.extend(o);
                    cmd(Exact, with("SET", a))
                })
                .boxed(),
        ),
        (
            4,
            key().prop_map(|k| cmd(Exact, with("GET", vec![k]))).boxed(),
        ),
        (
            1,
            (key(), value())
                .prop_map(|(k, v)| e("SETNX")(vec![k, v]))
                .boxed(),
        ),
        (
            1,
            (key(), rel_ttl(false), value())
                .prop_map(|(k, t, v)| e("SETEX")(vec![k, t, v]))
                .boxed(),
        ),
        (
            1,
            (key(), rel_ttl(true), value())
                .prop_map(|(k, t, v)| e("PSETEX")(vec![k, t, v]))
                .boxed(),
        ),
        (
            2,
            (key(), getex_options())
                .prop_map(|(k, o)| {
                    let mut a = vec![k];
                    a.extend(o);
                    cmd(Exact, with("GETEX", a))
                })
                .boxed(),
        ),
        (1, key().prop_map(|k| e("GETDEL")(vec![k])).boxed()),
        (
            1,
            (key(), value())
                .prop_map(|(k, v)| e("GETSET")(vec![k, v]))
                .boxed(),
        ),
        (
            1,
            prop::collection::vec(key(), 1..5)
                .prop_map(e("MGET"))
                .boxed(),
        ),
        (
            2,
            prop::collection::vec((key(), value()), 1..4)
                .prop_map(|kv| e("MSET")(kv.into_iter().flat_map(|(k, v)| [k, v]).collect()))
                .boxed(),
        ),
        (
            1,
            prop::collection::vec((key(), value()), 1..3)
                .prop_map(|kv| e("MSETNX")(kv.into_iter().flat_map(|(k, v)| [k, v]).collect()))
                .boxed(),
        ),
        (
            2,
            (key(), value())
                .prop_map(|(k, v)| e("APPEND")(vec![k, v]))
                .boxed(),
        ),
        (1, key().prop_map(|k| e("STRLEN")(vec![k])).boxed()),
        (
            2,
            (key(), int_arg(), int_arg(), prop::bool::ANY)
                .prop_map(|(k, s, t, sub)| {
                    e(if sub { "SUBSTR" } else { "GETRANGE" })(vec![k, s, t])
                })
                .boxed(),
        ),
        (
            2,
            (key(), int_arg(), value())
                .prop_map(|(k, o, v)| e("SETRANGE")(vec![k, o, v]))
                .boxed(),
        ),
        (
            2,
            (key(), prop::bool::ANY)
                .prop_map(|(k, up)| e(if up { "INCR" } else { "DECR" })(vec![k]))
                .boxed(),
        ),
        (
            2,
            (key(), int_arg(), prop::bool::ANY)
                .prop_map(|(k, n, up)| e(if up { "INCRBY" } else { "DECRBY" })(vec![k, n]))
                .boxed(),
        ),
        (
            2,
            (key(), prop_oneof![value(), int_arg()])
                .prop_map(|(k, n)| e("INCRBYFLOAT")(vec![k, n]))
                .boxed(),
        ),
        (
            2,
            (
                key(),
                key(),
                prop::collection::vec(
                    prop_oneof![
                        prop::sample::select(&["LEN", "IDX", "WITHMATCHLEN", "len", "BOGUS"][..])
                            .prop_map(|o| vec![b(o)]),
                        int_arg().prop_map(|n| vec![b("MINMATCHLEN"), n]),
                    ],
                    0..3,
                ),
            )
                .prop_map(|(a, bk, o)| {
                    let mut v = vec![a, bk];
                    v.extend(o.into_iter().flatten());
                    cmd(Exact, with("LCS", v))
                })
                .boxed(),
        ),
        (
            2,
            (prop::collection::vec(key(), 1..4), prop::bool::ANY)
                .prop_map(|(k, u)| e(if u { "UNLINK" } else { "DEL" })(k))
                .boxed(),
        ),
        (
            1,
            prop::collection::vec(key(), 1..4)
                .prop_map(e("EXISTS"))
                .boxed(),
        ),
        (1, key().prop_map(|k| e("TYPE")(vec![k])).boxed()),
        (
            2,
            (key(), key(), prop::bool::ANY)
                .prop_map(|(a, bk, nx)| e(if nx { "RENAMENX" } else { "RENAME" })(vec![a, bk]))
                .boxed(),
        ),
        (
            1,
            (key(), db_arg())
                .prop_map(|(k, d)| e("MOVE")(vec![k, d]))
                .boxed(),
        ),
        (
            2,
            (key(), key(), prop::option::of(db_arg()), prop::bool::ANY)
                .prop_map(|(a, bk, d, r)| {
                    let mut v = vec![a, bk];
                    if let Some(d) = d {
                        v.push(b("DB"));
                        v.push(d);
                    }
                    if r {
                        v.push(b("REPLACE"));
                    }
                    cmd(Exact, with("COPY", v))
                })
                .boxed(),
        ),
        (
            1,
            prop::sample::select(&["*", "a*", "?", "[ab]*", "*x", "{t}*", "n?m"][..])
                .prop_map(|p| cmd(Sorted, with("KEYS", vec![b(p)])))
                .boxed(),
        ),
        (
            1,
            (
                prop::option::of(prop::sample::select(&["*", "a*", "?", "[a-c]"][..])),
                prop::option::of(prop_oneof![
                    (1i64..20).prop_map(|n| n.to_string()),
                    Just("0".to_string()),
                    Just("x".to_string()),
                ]),
                prop::option::of(prop::sample::select(&["string", "list", "STRING"][..])),
                prop::sample::select(&["0", "0", "0", "abc", "-1"][..]),
            )
                .prop_map(|(m, c, t, cursor)| {
                    let mut v = vec![b(cursor)];
                    if let Some(m) = m {
                        v.extend([b("MATCH"), b(m)]);
                    }
                    if let Some(c) = c {
                        v.extend([b("COUNT"), c.into_bytes()]);
                    }
                    if let Some(t) = t {
                        v.extend([b("TYPE"), b(t)]);
                    }
                    let check = if cursor == "-1" { ScanShape } else { ScanAll };
                    cmd(check, with("SCAN", v))
                })
                .boxed(),
        ),
        (1, Just(cmd(Exact, vec![b("DBSIZE")])).boxed()),
        (
            1,
            prop::sample::select(&["", "ASYNC", "SYNC", "BAD"][..])
                .prop_map(|o| e("FLUSHDB")(if o.is_empty() { vec![] } else { vec![b(o)] }))
                .boxed(),
        ),
        (
            3,
            (
                key(),
                prop::sample::select(&["EXPIRE", "PEXPIRE", "expire"][..]),
                expire_flags(),
                prop::bool::ANY,
            )
                .prop_flat_map(|(k, name, flags, _)| {
                    let ms = name == "PEXPIRE";
                    rel_ttl(ms).prop_map(move |t| {
                        let mut v = vec![k.clone(), t];
                        v.extend(flags.clone());
                        cmd(Exact, with(name, v))
                    })
                })
                .boxed(),
        ),
        (
            2,
            (
                key(),
                prop::sample::select(&["EXPIREAT", "PEXPIREAT"][..]),
                expire_flags(),
            )
                .prop_flat_map(|(k, name, flags)| {
                    abs_time(name == "PEXPIREAT").prop_map(move |t| {
                        let mut v = vec![k.clone(), t];
                        v.extend(flags.clone());
                        cmd(Exact, with(name, v))
                    })
                })
                .boxed(),
        ),
        (
            3,
            (
                key(),
                prop::sample::select(&["TTL", "PTTL", "EXPIRETIME", "PEXPIRETIME"][..]),
            )
                .prop_map(|(k, name)| {
                    let tol = if name.starts_with('P') {
                        PTTL_TOLERANCE_MS
                    } else {
                        1
                    };
                    cmd(Approx(tol), with(name, vec![k]))
                })
                .boxed(),
        ),
        (1, key().prop_map(|k| e("PERSIST")(vec![k])).boxed()),
        (
            1,
            prop::collection::vec(key(), 1..4)
                .prop_map(e("TOUCH"))
                .boxed(),
        ),
        (
            2,
            key()
                .prop_map(|k| cmd(Exact, with("OBJECT", vec![b("ENCODING"), k])))
                .boxed(),
        ),
        (1, db_arg().prop_map(|d| e("SELECT")(vec![d])).boxed()),
        (
            1,
            prop::sample::select(&["2", "3", "1"][..])
                .prop_map(|p| cmd(Hello, with("HELLO", vec![b(p)])))
                .boxed(),
        ),
        // Free-form: any command name with any arguments, mostly errors. No
        // PSETEX/PEXPIRE: small integer arguments would be TTLs of a few ms,
        // which expire mid-sequence at different instants on the two servers.
        (
            4,
            (
                prop::sample::select(
                    &[
                        "GET",
                        "SET",
                        "SETNX",
                        "SETEX",
                        "GETEX",
                        "GETDEL",
                        "GETSET",
                        "MGET",
                        "MSET",
                        "MSETNX",
                        "APPEND",
                        "STRLEN",
                        "GETRANGE",
                        "SUBSTR",
                        "SETRANGE",
                        "INCR",
                        "DECR",
                        "INCRBY",
                        "DECRBY",
                        "INCRBYFLOAT",
                        "LCS",
                        "DEL",
                        "UNLINK",
                        "EXISTS",
                        "TYPE",
                        "RENAME",
                        "RENAMENX",
                        "MOVE",
                        "COPY",
                        "DBSIZE",
                        "EXPIRE",
                        "EXPIREAT",
                        "PEXPIREAT",
                        "PERSIST",
                        "TOUCH",
                        "OBJECT",
                        "SELECT",
                        "FLUSHDB",
                        "KEYS",
                        "NOSUCHCMD",
                        "get",
                        "SeT",
                    ][..],
                ),
                prop::collection::vec(prop_oneof![key(), value(), int_arg()], 0..5),
            )
                .prop_map(|(name, args)| {
                    // Reads of TTLs stay approximate even when free-form.
                    cmd(Exact, with(name, args))
                })
                .boxed(),
        ),
    ];
    Union::new_weighted(arms).boxed()
}

/// The state dump appended to every sequence.
fn state_dump() -> Vec<Cmd> {
    let mut out = Vec::new();
    for db in 0..DBS {
        out.push(Cmd::new(
            Check::Exact,
            vec![b("SELECT"), db.to_string().into_bytes()],
        ));
        out.push(Cmd::new(Check::Exact, vec![b("DBSIZE")]));
        out.push(Cmd::new(Check::Sorted, vec![b("KEYS"), b("*")]));
        for k in KEYS {
            out.push(Cmd::new(Check::Exact, vec![b("GET"), b(k)]));
            out.push(Cmd::new(
                Check::Approx(PTTL_TOLERANCE_MS),
                vec![b("PTTL"), b(k)],
            ));
            out.push(Cmd::new(
                Check::Exact,
                vec![b("OBJECT"), b("ENCODING"), b(k)],
            ));
        }
    }
    out
}

#[test]
fn random_sequences_match_redis() {
    let strategy = prop::collection::vec(command(), 20..=60);
    run_random("differential", strategy, &state_dump(), 20_261_122, 400);
}

/// A fixed sequence on both servers, followed by the state dump.
fn regression(seq: &[(Check, &[&[u8]])]) {
    diff::regression(seq, &state_dump());
}

use Check::{Approx, Exact, ScanShape};

#[test]
fn regression_scan_negative_cursor_is_parsed_unsigned() {
    // Redis parses the cursor with strtoul: "-1" is a (huge) valid cursor.
    regression(&[
        (Exact, &[b"SET", b"a", b"1"]),
        (ScanShape, &[b"SCAN", b"-1"]),
        (ScanShape, &[b"SCAN", b"-1", b"COUNT", b"5"]),
        (ScanShape, &[b"SCAN", b"+1x"]),
    ]);
}

#[test]
fn regression_incrbyfloat_result_is_not_int_encoded() {
    regression(&[
        (Exact, &[b"INCRBYFLOAT", b"f", b"1"]),
        (Exact, &[b"OBJECT", b"ENCODING", b"f"]),
        (Exact, &[b"SET", b"g", b"5"]),
        (Exact, &[b"INCRBYFLOAT", b"g", b"0x10"]),
        (Exact, &[b"OBJECT", b"ENCODING", b"g"]),
    ]);
}

#[test]
fn regression_unknown_command_quotes_args_up_to_128_bytes() {
    let a45 = [b'a'; 45];
    let b100 = [b'b'; 100];
    regression(&[
        (Exact, &[b"NOSUCHCMD", &a45, &a45]),
        (Exact, &[b"NOSUCHCMD", &a45, &a45, &a45, b"x"]),
        (Exact, &[b"NOSUCHCMD", &b100, &b100]),
    ]);
}

#[test]
fn regression_errors_echo_argument_bytes_verbatim() {
    regression(&[
        (Exact, &[b"SET", b"a", b"1"]),
        (Exact, &[b"EXPIRE", b"a", b"10", b"\x80"]),
        (Exact, &[b"OBJECT", b"\x80"]),
        (Exact, &[b"NOSUCHCMD\xff", b"\xfe"]),
        // Redis formats client bytes with %s: they end at a NUL byte.
        (Exact, &[b"EXPIRE", b"a", b"10", b"x\x00y"]),
        (Exact, &[b"NO\x00SUCH", b"a\x00b", b"c"]),
        (Exact, &[b"OBJECT", b"p\x00q"]),
    ]);
}

#[test]
fn regression_int_range_error_for_db_indexes() {
    // getIntFromObjectOrReply: a valid long long outside int range gets its own error.
    regression(&[
        (Exact, &[b"SET", b"a", b"1"]),
        (Exact, &[b"SELECT", b"9223372036854775807"]),
        (Exact, &[b"SELECT", b"-9223372036854775808"]),
        (Exact, &[b"MOVE", b"a", b"4611686018427387904"]),
        (Exact, &[b"COPY", b"a", b"b", b"DB", b"9223372036854775807"]),
        (Exact, &[b"SWAPDB", b"0", b"9223372036854775807"]),
    ]);
}

#[test]
fn regression_huge_expire_times_do_not_overflow() {
    // Used to panic ("attempt to add with overflow") and drop the connection.
    regression(&[
        (Exact, &[b"SET", b"b", b"x"]),
        (Exact, &[b"PEXPIREAT", b"b", b"9223372036854775807"]),
        (Approx(1), &[b"EXPIRETIME", b"b"]),
        (Approx(PTTL_TOLERANCE_MS), &[b"PEXPIRETIME", b"b"]),
        (Approx(1), &[b"TTL", b"b"]),
        (Approx(PTTL_TOLERANCE_MS), &[b"PTTL", b"b"]),
    ]);
}

#[test]
fn regression_lcs_looks_up_keys_before_parsing_options() {
    // Redis reads both keys first, so an expired key is deleted even when
    // the options then fail to parse; DBSIZE shows it.
    regression(&[
        (Exact, &[b"SET", b"b", b"", b"EXAT", b"1"]),
        (Exact, &[b"DBSIZE"]),
        (Exact, &[b"LCS", b"b", b"a", b"BOGUS"]),
        (Exact, &[b"DBSIZE"]),
    ]);
}
