//! The propagation stream (what AOF and replicas receive) and the keyspace events of the
//! sorted-set commands have Redis 7.0's forms: writes propagate as they are unless they are
//! no-ops or errors; BZPOPMIN/BZPOPMAX served at once become `ZPOPMIN/ZPOPMAX key`; ZMPOP and
//! BZMPOP become `ZPOPMIN/ZPOPMAX key <count popped>`; the STORE commands propagate as they
//! are, also when they only delete their destination; reads (ZRANDMEMBER included) nothing.
//!
//! Every case runs on ferrodis, with a `RecordingSink` on the engine's propagation stream and
//! an event listener on its keyspace events, and, when Debian's redis-server is installed, on
//! Redis too: its stream is read as a replica through `SYNC` and its events through a
//! `PSUBSCRIBE __keyevent@0__:*` client. The same expectations must hold for both, which keeps
//! them honest.

use bytes::Bytes;
use ferrodis_commands::engine::{EventListener, RecordingSink};
use ferrodis_resp::Frame;
use ferrodis_tests::{InProcess, RealRedis, RespConn};
use std::sync::{Arc, Mutex};

struct Case {
    name: &'static str,
    commands: &'static [&'static [&'static str]],
    /// The propagated commands, in order.
    expect: &'static [&'static [&'static str]],
    /// The keyspace events as `event key`, in order.
    events: &'static [&'static str],
}

const CASES: &[Case] = &[
    Case {
        name: "ZADD, ZINCRBY, ZREM, ZREMRANGEBY* as they are; no-ops and errors nothing",
        commands: &[
            &["ZADD", "z", "1", "a", "2", "b", "3", "c"],
            &["ZADD", "z", "1", "a"],
            &["ZADD", "z", "NX", "5", "a"],
            &["ZADD", "z", "XX", "5", "new"],
            &["ZADD", "z", "GT", "0", "a"],
            &["ZADD", "z", "CH", "1", "a", "9", "b"],
            &["ZINCRBY", "z", "1", "a"],
            &["ZADD", "z", "INCR", "1", "a"],
            &["ZADD", "z", "INCR", "-inf", "a"],
            &["ZINCRBY", "z", "+inf", "a"],
            &["ZADD", "z", "nan", "a"],
            &["ZREM", "z", "nope"],
            &["ZREM", "z", "c", "nope"],
            &["ZREMRANGEBYSCORE", "z", "100", "200"],
            &["ZREMRANGEBYRANK", "z", "0", "0"],
            &["ZADD", "l", "0", "x", "0", "y"],
            &["ZREMRANGEBYLEX", "l", "[x", "[y"],
            &["ZREM", "z", "b"],
            &["ZREM", "z", "b"],
        ],
        expect: &[
            &["ZADD", "z", "1", "a", "2", "b", "3", "c"],
            &["ZADD", "z", "CH", "1", "a", "9", "b"],
            &["ZINCRBY", "z", "1", "a"],
            &["ZADD", "z", "INCR", "1", "a"],
            &["ZADD", "z", "INCR", "-inf", "a"],
            &["ZREM", "z", "c", "nope"],
            &["ZREMRANGEBYRANK", "z", "0", "0"],
            &["ZADD", "l", "0", "x", "0", "y"],
            &["ZREMRANGEBYLEX", "l", "[x", "[y"],
            &["ZREM", "z", "b"],
        ],
        events: &[
            "zadd z",
            "zadd z",
            "zincr z",
            "zincr z",
            "zincr z",
            "zrem z",
            "zremrangebyrank z",
            "zadd l",
            "zremrangebylex l",
            "del l",
            "zrem z",
            "del z",
        ],
    },
    Case {
        name: "ZPOPMIN/ZPOPMAX as they are; BZPOPMIN/BZPOPMAX served at once become ZPOP*",
        commands: &[
            &[
                "ZADD", "z", "1", "a", "2", "b", "3", "c", "4", "d", "5", "e",
            ],
            &["ZPOPMIN", "z"],
            &["ZPOPMAX", "z", "2"],
            &["ZPOPMIN", "z", "0"],
            &["ZPOPMIN", "missing"],
            &["BZPOPMIN", "missing", "z", "0"],
            &["BZPOPMAX", "z", "0"],
        ],
        expect: &[
            &[
                "ZADD", "z", "1", "a", "2", "b", "3", "c", "4", "d", "5", "e",
            ],
            &["ZPOPMIN", "z"],
            &["ZPOPMAX", "z", "2"],
            &["ZPOPMIN", "z"],
            &["ZPOPMAX", "z"],
        ],
        events: &[
            "zadd z",
            "zpopmin z",
            "zpopmax z",
            "zpopmin z",
            "zpopmax z",
            "del z",
        ],
    },
    Case {
        name: "ZMPOP and BZMPOP become ZPOPMIN/ZPOPMAX key <count popped>",
        commands: &[
            &["ZADD", "z", "1", "a", "2", "b", "3", "c"],
            &["ZMPOP", "2", "missing", "z", "MIN", "COUNT", "2"],
            &["ZMPOP", "1", "z", "MAX", "COUNT", "10"],
            &["ZMPOP", "1", "z", "MIN"],
            &["ZADD", "y", "1", "a", "2", "b"],
            &["BZMPOP", "0", "2", "missing", "y", "MAX"],
            &["BZMPOP", "0", "1", "y", "MIN", "COUNT", "5"],
        ],
        expect: &[
            &["ZADD", "z", "1", "a", "2", "b", "3", "c"],
            &["ZPOPMIN", "z", "2"],
            &["ZPOPMAX", "z", "1"],
            &["ZADD", "y", "1", "a", "2", "b"],
            &["ZPOPMAX", "y", "1"],
            &["ZPOPMIN", "y", "1"],
        ],
        events: &[
            "zadd z",
            "zpopmin z",
            "zpopmax z",
            "del z",
            "zadd y",
            "zpopmax y",
            "zpopmin y",
            "del y",
        ],
    },
    Case {
        name: "Z*STORE and ZRANGESTORE as they are, also when they only delete; reads nothing",
        commands: &[
            &["ZADD", "{k}a", "1", "x", "2", "y"],
            &["ZADD", "{k}b", "3", "y", "4", "z"],
            &["ZUNIONSTORE", "{k}d", "2", "{k}a", "{k}b"],
            &[
                "ZINTERSTORE",
                "{k}d",
                "2",
                "{k}a",
                "{k}b",
                "WEIGHTS",
                "1",
                "2",
            ],
            &["ZDIFFSTORE", "{k}d", "2", "{k}a", "{k}b"],
            &["ZRANGESTORE", "{k}e", "{k}a", "0", "0"],
            &["ZINTERSTORE", "{k}d", "2", "{k}a", "{k}missing"],
            &["ZINTERSTORE", "{k}d", "2", "{k}a", "{k}missing"],
            &["ZRANGESTORE", "{k}e", "{k}a", "5", "10"],
            &["ZRANGESTORE", "{k}e", "{k}a", "5", "10"],
            &["ZUNION", "2", "{k}a", "{k}b"],
            &["ZINTERCARD", "2", "{k}a", "{k}b"],
            &["ZRANDMEMBER", "{k}a", "-3"],
            &["ZRANGE", "{k}a", "0", "-1"],
            &["ZSCORE", "{k}a", "x"],
        ],
        expect: &[
            &["ZADD", "{k}a", "1", "x", "2", "y"],
            &["ZADD", "{k}b", "3", "y", "4", "z"],
            &["ZUNIONSTORE", "{k}d", "2", "{k}a", "{k}b"],
            &[
                "ZINTERSTORE",
                "{k}d",
                "2",
                "{k}a",
                "{k}b",
                "WEIGHTS",
                "1",
                "2",
            ],
            &["ZDIFFSTORE", "{k}d", "2", "{k}a", "{k}b"],
            &["ZRANGESTORE", "{k}e", "{k}a", "0", "0"],
            &["ZINTERSTORE", "{k}d", "2", "{k}a", "{k}missing"],
            &["ZRANGESTORE", "{k}e", "{k}a", "5", "10"],
        ],
        events: &[
            "zadd {k}a",
            "zadd {k}b",
            "zunionstore {k}d",
            "zinterstore {k}d",
            "zdiffstore {k}d",
            "zrangestore {k}e",
            "del {k}d",
            "del {k}e",
        ],
    },
    Case {
        name: "multi-key commands across shards",
        commands: &[
            &["ZADD", "a", "1", "x"],
            &["ZADD", "b", "2", "x", "3", "y"],
            &["ZUNIONSTORE", "c", "2", "a", "b", "AGGREGATE", "MAX"],
            &["ZMPOP", "3", "n1", "n2", "c", "MAX"],
            &["BZPOPMIN", "n1", "n2", "b", "1"],
        ],
        expect: &[
            &["ZADD", "a", "1", "x"],
            &["ZADD", "b", "2", "x", "3", "y"],
            &["ZUNIONSTORE", "c", "2", "a", "b", "AGGREGATE", "MAX"],
            &["ZPOPMAX", "c", "1"],
            &["ZPOPMIN", "b"],
        ],
        events: &[
            "zadd a",
            "zadd b",
            "zunionstore c",
            "zpopmax c",
            "zpopmin b",
        ],
    },
];

/// Run the commands of a case on `conn`; returns the replies, for messages.
fn run_commands(conn: &mut RespConn, case: &Case) -> Vec<String> {
    let mut replies = Vec::new();
    for cmd in case.commands {
        let argv: Vec<&[u8]> = cmd.iter().map(|a| a.as_bytes()).collect();
        match conn.cmd(&argv) {
            Ok(f) => replies.push(format!("{} -> {f:?}", cmd.join(" "))),
            Err(e) => panic!("[{}] {}: {e}", case.name, cmd.join(" ")),
        }
    }
    replies
}

type Stream = Vec<(usize, Vec<Bytes>)>;

fn show(stream: &Stream) -> String {
    stream
        .iter()
        .map(|(db, argv)| {
            let words: Vec<String> = argv
                .iter()
                .map(|a| String::from_utf8_lossy(a).into_owned())
                .collect();
            format!("    db{db}: {}\n", words.join(" "))
        })
        .collect()
}

/// Compare a stream and events with a case's expectations; `Err` explains the difference.
fn check(case: &Case, got: &Stream, events: &[String]) -> Result<(), String> {
    let fail = |why: String| {
        Err(format!(
            "{why}\n  expected:\n{}  got:\n{}  expected events: {:?}\n  got events:      {:?}",
            case.expect
                .iter()
                .map(|e| format!("    {}\n", e.join(" ")))
                .collect::<String>(),
            show(got),
            case.events,
            events,
        ))
    };
    if got.len() != case.expect.len() {
        return fail(format!(
            "{} commands propagated, expected {}",
            got.len(),
            case.expect.len()
        ));
    }
    for (i, ((db, argv), want)) in got.iter().zip(case.expect.iter()).enumerate() {
        if *db != 0 {
            return fail(format!("command {i}: db {db}, expected db 0"));
        }
        let same = argv.len() == want.len()
            && argv.iter().zip(want.iter()).enumerate().all(|(j, (g, w))| {
                if j == 0 {
                    g.eq_ignore_ascii_case(w.as_bytes())
                } else {
                    &g[..] == w.as_bytes()
                }
            });
        if !same {
            return fail(format!("command {i} differs"));
        }
    }
    if events != case.events {
        return fail("keyspace events differ".into());
    }
    Ok(())
}

/// Records ferrodis's keyspace events as `event key`.
#[derive(Default)]
struct Events(Mutex<Vec<String>>);

impl EventListener for Events {
    fn keyspace_event(&self, _class: u32, event: &str, key: &[u8], _db: usize) {
        if let Ok(mut v) = self.0.lock() {
            v.push(format!("{event} {}", String::from_utf8_lossy(key)));
        }
    }
}

fn enable_events(conn: &mut RespConn) {
    let r = conn.cmd(&[b"CONFIG", b"SET", b"notify-keyspace-events", b"KEA"]);
    assert!(matches!(r, Ok(Frame::Simple(_))), "CONFIG SET: {r:?}");
}

#[test]
fn ferrodis_propagates_redis_forms() {
    let server = InProcess::start().expect("start ferrodis");
    let running = server.server().expect("running");
    let sink = Arc::new(RecordingSink::default());
    running.engine().propagation.attach(sink.clone());
    let events = Arc::new(Events::default());
    running.engine().set_event_listener(events.clone());
    let mut admin = server.connect().expect("connect");
    enable_events(&mut admin);
    let mut failures = Vec::new();
    for case in CASES {
        sink.log.lock().clear();
        events.0.lock().expect("events").clear();
        let mut conn = server.connect().expect("connect");
        let replies = run_commands(&mut conn, case);
        let got: Stream = sink
            .log
            .lock()
            .iter()
            .map(|p| (p.db, p.argv.clone()))
            .collect();
        let seen = events.0.lock().expect("events").clone();
        if let Err(why) = check(case, &got, &seen) {
            failures.push(format!(
                "[{}] {why}\n  replies:\n    {}",
                case.name,
                replies.join("\n    ")
            ));
        }
        assert!(matches!(admin.cmd(&[b"FLUSHALL"]), Ok(Frame::Simple(_))));
    }
    assert!(
        failures.is_empty(),
        "{} of {} cases differ:\n{}",
        failures.len(),
        CASES.len(),
        failures.join("\n")
    );
}

/// Reads keyevent messages until the marker key's `set`.
fn read_events(sub: &mut RespConn) -> Vec<String> {
    let mut out = Vec::new();
    loop {
        let frame = sub.read_frame().expect("pubsub message");
        let Frame::Array(items) = frame else {
            panic!("unexpected pubsub frame {frame:?}");
        };
        let [_, _, Frame::Bulk(channel), Frame::Bulk(key)] = &items[..] else {
            continue;
        };
        let event = channel
            .splitn(2, |&c| c == b':')
            .nth(1)
            .map(|e| String::from_utf8_lossy(e).into_owned())
            .unwrap_or_default();
        let key = String::from_utf8_lossy(key).into_owned();
        if event == "set" && key == "__end__" {
            return out;
        }
        out.push(format!("{event} {key}"));
    }
}

/// The same cases on Debian's redis-server, read as a replica and a keyevent subscriber:
/// proves the expectations above are Redis 7.0's.
#[test]
fn expectations_hold_on_real_redis() {
    let real = match RealRedis::start(&["--repl-diskless-sync", "no"]) {
        Ok(Some(r)) => r,
        Ok(None) => return,
        Err(e) => panic!("start redis-server: {e}"),
    };
    let mut admin = real.connect().expect("connect");
    enable_events(&mut admin);
    let mut sub = real.connect().expect("connect");
    let r = sub.cmd(&[b"PSUBSCRIBE", b"__keyevent@0__:*"]);
    assert!(matches!(r, Ok(Frame::Array(_))), "PSUBSCRIBE: {r:?}");
    let mut replica = real.connect().expect("connect");
    replica.send(&[b"SYNC"]).expect("SYNC");
    replica.read_sync_payload().expect("snapshot");
    let mut db = 0usize;
    let mut failures = Vec::new();
    for case in CASES {
        let mut conn = real.connect().expect("connect");
        let replies = run_commands(&mut conn, case);
        // A marker event closes the case's events; FLUSHALL closes its stream.
        assert!(matches!(
            admin.cmd(&[b"SET", b"__end__", b"x"]),
            Ok(Frame::Simple(_))
        ));
        let seen = read_events(&mut sub);
        assert!(matches!(admin.cmd(&[b"FLUSHALL"]), Ok(Frame::Simple(_))));
        let mut got: Stream = Vec::new();
        loop {
            let frame = replica.read_frame().expect("replication stream");
            let Frame::Array(items) = frame else {
                panic!("unexpected frame in the replication stream: {frame:?}");
            };
            let argv: Vec<Bytes> = items
                .into_iter()
                .map(|f| match f {
                    Frame::Bulk(b) => b,
                    other => panic!("non-bulk argument {other:?}"),
                })
                .collect();
            let name = argv.first().map(|a| a.to_ascii_uppercase());
            match name.as_deref() {
                Some(b"PING") => {}
                Some(b"SELECT") => {
                    db = argv
                        .get(1)
                        .and_then(|d| std::str::from_utf8(d).ok())
                        .and_then(|d| d.parse().ok())
                        .unwrap_or(usize::MAX);
                }
                Some(b"FLUSHALL") => break,
                Some(b"SET") if argv.get(1).is_some_and(|k| &k[..] == b"__end__") => {}
                _ => got.push((db, argv)),
            }
        }
        if let Err(why) = check(case, &got, &seen) {
            failures.push(format!(
                "[{}] {why}\n  replies:\n    {}",
                case.name,
                replies.join("\n    ")
            ));
        }
    }
    assert!(
        failures.is_empty(),
        "real Redis disagrees with {} cases (test bug):\n{}",
        failures.len(),
        failures.join("\n")
    );
}
