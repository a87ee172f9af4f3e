//! The propagation stream (what AOF and replicas receive) and the keyspace events of the
//! stream commands have Redis 7.0's forms (t_stream.c): XADD with a generated or partial ID
//! propagates the ID it generated, `~` trimming propagates as `=` with the resulting length or
//! first ID; XREADGROUP propagates XCLAIM ... FORCE JUSTID LASTID per delivered entry (and
//! XGROUP SETID / CREATECONSUMER with NOACK), never itself; XCLAIM/XAUTOCLAIM propagate XCLAIMs;
//! reads nothing.
//!
//! Every case runs on ferrodis (a `RecordingSink` on the propagation stream, an event listener
//! on the keyspace events) and, when Debian's redis-server is installed, on Redis too (read as
//! a replica through `SYNC`, events through `PSUBSCRIBE __keyevent@0__:*`). An expected
//! argument `?` matches anything (delivery times, which both servers take from their clock).

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
        name: "XADD explicit and partial IDs, errors and NOMKSTREAM on a missing key",
        commands: &[
            &["XADD", "s", "1-1", "f", "v"],
            &["XADD", "s", "1-*", "f", "v"],
            &["XADD", "s", "1", "f", "v"],
            &["XADD", "s", "0-0", "f", "v"],
            &["XADD", "t", "NOMKSTREAM", "5-5", "f", "v"],
            &["XLEN", "s"],
            &["XRANGE", "s", "-", "+"],
        ],
        expect: &[
            &["XADD", "s", "1-1", "f", "v"],
            &["XADD", "s", "1-2", "f", "v"],
        ],
        events: &["xadd s", "xadd s"],
    },
    Case {
        name: "approximate trimming propagates as exact; XTRIM, XDEL, XSETID",
        commands: &[
            &["XADD", "s", "1-1", "f", "v"],
            &["XADD", "s", "2-1", "f", "v"],
            &["XADD", "s", "3-1", "f", "v"],
            &["XADD", "s", "MAXLEN", "~", "1", "4-1", "f", "v"],
            &["XADD", "s", "MAXLEN", "2", "5-1", "f", "v"],
            &["XTRIM", "s", "MINID", "~", "9"],
            &["XTRIM", "s", "MAXLEN", "=", "1"],
            &["XTRIM", "s", "MAXLEN", "5"],
            &["XDEL", "s", "5-1", "7-7"],
            &["XDEL", "s", "5-1"],
            &["XSETID", "s", "9-9"],
        ],
        expect: &[
            &["XADD", "s", "1-1", "f", "v"],
            &["XADD", "s", "2-1", "f", "v"],
            &["XADD", "s", "3-1", "f", "v"],
            &["XADD", "s", "MAXLEN", "=", "4", "4-1", "f", "v"],
            &["XADD", "s", "MAXLEN", "2", "5-1", "f", "v"],
            &[
                "XTRIM",
                "s",
                "MINID",
                "=",
                "18446744073709551615-18446744073709551615",
            ],
            &["XSETID", "s", "9-9"],
        ],
        events: &[
            "xadd s", "xadd s", "xadd s", "xadd s", "xadd s", "xtrim s", "xtrim s", "xsetid s",
        ],
    },
    Case {
        name: "consumer groups: XGROUP as it is, XREADGROUP as XCLAIMs, XACK",
        commands: &[
            &["XADD", "s", "1-1", "f", "v"],
            &["XADD", "s", "2-1", "f", "v"],
            &["XGROUP", "CREATE", "s", "g", "0"],
            &["XGROUP", "CREATE", "s", "g", "0"],
            &["XGROUP", "CREATECONSUMER", "s", "g", "bob"],
            &["XREADGROUP", "GROUP", "g", "alice", "STREAMS", "s", ">"],
            &["XREADGROUP", "GROUP", "g", "alice", "STREAMS", "s", ">"],
            &["XACK", "s", "g", "1-1", "9-9"],
            &["XGROUP", "SETID", "s", "g", "0", "ENTRIESREAD", "0"],
            &[
                "XREADGROUP",
                "GROUP",
                "g",
                "carol",
                "NOACK",
                "COUNT",
                "1",
                "STREAMS",
                "s",
                ">",
            ],
            &["XGROUP", "DELCONSUMER", "s", "g", "bob"],
            &["XGROUP", "DESTROY", "s", "g"],
            &["XGROUP", "CREATE", "n", "g", "$", "MKSTREAM"],
        ],
        expect: &[
            &["XADD", "s", "1-1", "f", "v"],
            &["XADD", "s", "2-1", "f", "v"],
            &["XGROUP", "CREATE", "s", "g", "0"],
            &["XGROUP", "CREATECONSUMER", "s", "g", "bob"],
            &["MULTI"],
            &[
                "XCLAIM",
                "s",
                "g",
                "alice",
                "0",
                "1-1",
                "TIME",
                "?",
                "RETRYCOUNT",
                "1",
                "FORCE",
                "JUSTID",
                "LASTID",
                "1-1",
            ],
            &[
                "XCLAIM",
                "s",
                "g",
                "alice",
                "0",
                "2-1",
                "TIME",
                "?",
                "RETRYCOUNT",
                "1",
                "FORCE",
                "JUSTID",
                "LASTID",
                "2-1",
            ],
            &["EXEC"],
            &["XACK", "s", "g", "1-1", "9-9"],
            &["XGROUP", "SETID", "s", "g", "0", "ENTRIESREAD", "0"],
            &["MULTI"],
            &["XGROUP", "CREATECONSUMER", "s", "g", "carol"],
            &["XGROUP", "SETID", "s", "g", "1-1", "ENTRIESREAD", "1"],
            &["EXEC"],
            &["XGROUP", "DELCONSUMER", "s", "g", "bob"],
            &["XGROUP", "DESTROY", "s", "g"],
            &["XGROUP", "CREATE", "n", "g", "$", "MKSTREAM"],
        ],
        events: &[
            "xadd s",
            "xadd s",
            "xgroup-create s",
            "xgroup-createconsumer s",
            "xgroup-createconsumer s",
            "xgroup-setid s",
            "xgroup-createconsumer s",
            "xgroup-delconsumer s",
            "xgroup-destroy s",
            "xgroup-create n",
        ],
    },
    Case {
        name: "XCLAIM and XAUTOCLAIM propagate XCLAIMs; LASTID alone as XGROUP SETID",
        commands: &[
            &["XADD", "s", "1-1", "f", "v"],
            &["XADD", "s", "2-1", "f", "v"],
            &["XGROUP", "CREATE", "s", "g", "0"],
            &[
                "XREADGROUP",
                "GROUP",
                "g",
                "alice",
                "COUNT",
                "1",
                "STREAMS",
                "s",
                ">",
            ],
            &[
                "XCLAIM",
                "s",
                "g",
                "bob",
                "0",
                "1-1",
                "JUSTID",
                "RETRYCOUNT",
                "7",
            ],
            &["XCLAIM", "s", "g", "bob", "0", "5-5", "LASTID", "3-0"],
            &["XAUTOCLAIM", "s", "g", "carol", "0", "0", "JUSTID"],
        ],
        expect: &[
            &["XADD", "s", "1-1", "f", "v"],
            &["XADD", "s", "2-1", "f", "v"],
            &["XGROUP", "CREATE", "s", "g", "0"],
            &[
                "XCLAIM",
                "s",
                "g",
                "alice",
                "0",
                "1-1",
                "TIME",
                "?",
                "RETRYCOUNT",
                "1",
                "FORCE",
                "JUSTID",
                "LASTID",
                "1-1",
            ],
            &[
                "XCLAIM",
                "s",
                "g",
                "bob",
                "0",
                "1-1",
                "TIME",
                "?",
                "RETRYCOUNT",
                "7",
                "FORCE",
                "JUSTID",
                "LASTID",
                "1-1",
            ],
            &["XGROUP", "SETID", "s", "g", "3-0", "ENTRIESREAD", "1"],
            &[
                "XCLAIM",
                "s",
                "g",
                "carol",
                "0",
                "1-1",
                "TIME",
                "?",
                "RETRYCOUNT",
                "7",
                "FORCE",
                "JUSTID",
                "LASTID",
                "3-0",
            ],
        ],
        events: &[
            "xadd s",
            "xadd s",
            "xgroup-create s",
            "xgroup-createconsumer s",
            "xgroup-createconsumer s",
            "xgroup-createconsumer s",
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
                    *w == "?" || &g[..] == w.as_bytes()
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
