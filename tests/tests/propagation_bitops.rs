//! The propagation stream and keyspace events of the bitmap commands have Redis 7.0's forms:
//! SETBIT propagates as it is when it created the key, grew it or flipped the bit, and nothing
//! otherwise; BITOP as it is when it stored a result or deleted the destination (an empty
//! result over a missing destination propagates nothing); BITFIELD as it is when some write
//! changed a field or the string grew, nothing for GET-only or no-op calls (even when OVERFLOW
//! FAIL created the key without writing); BITFIELD_RO and the reads never. Events: `setbit`
//! (once per BITFIELD call), BITOP's `set` or `del`.
//!
//! Every case runs on ferrodis with a `RecordingSink` (and an event listener) attached to the
//! engine and, when Debian's redis-server is installed, on Redis too, read as a replica through
//! `SYNC` (events through a `PSUBSCRIBE __keyevent@0__:*` client): the same expectations must
//! hold for both, which keeps them honest.

use bytes::Bytes;
use ferrodis_commands::engine::{EventListener, RecordingSink};
use ferrodis_resp::Frame;
use ferrodis_tests::{InProcess, RealRedis, RespConn};
use std::sync::{Arc, Mutex};

struct Case {
    name: &'static str,
    commands: &'static [&'static [&'static str]],
    expect: &'static [&'static [&'static str]],
}

const CASES: &[Case] = &[
    Case {
        name: "SETBIT as it is when something changed; reads and errors propagate nothing",
        commands: &[
            &["SETBIT", "k", "3", "1"],
            &["SETBIT", "k", "3", "1"],
            &["SETBIT", "k", "3", "0"],
            &["SETBIT", "k", "20", "0"],
            &["SETBIT", "k", "20", "0"],
            &["GETBIT", "k", "3"],
            &["SETBIT", "k", "-1", "1"],
            &["SETBIT", "k", "1", "2"],
            &["BITCOUNT", "k"],
            &["BITPOS", "k", "1", "0", "-1", "BIT"],
            &["SET", "s", "abc"],
            &["SETBIT", "s", "1", "1"],
            &["SETBIT", "s", "1", "1"],
        ],
        expect: &[
            &["SETBIT", "k", "3", "1"],
            &["SETBIT", "k", "3", "0"],
            &["SETBIT", "k", "20", "0"],
            &["SET", "s", "abc"],
        ],
    },
    Case {
        name: "BITOP as it is when it stored or deleted",
        commands: &[
            &["SET", "a", "abc"],
            &["BITOP", "AND", "d", "a", "b"],
            &["BITOP", "NOT", "d", "a"],
            &["BITOP", "OR", "d", "m1", "m2"],
            &["BITOP", "OR", "d", "m1"],
            &["RPUSH", "l", "x"],
            &["BITOP", "AND", "d", "a", "l"],
            &["BITOP", "NOT", "d", "a", "b"],
            &["BITOP", "NAND", "d", "a"],
        ],
        expect: &[
            &["SET", "a", "abc"],
            &["BITOP", "AND", "d", "a", "b"],
            &["BITOP", "NOT", "d", "a"],
            &["BITOP", "OR", "d", "m1", "m2"],
            &["RPUSH", "l", "x"],
        ],
    },
    Case {
        name: "BITFIELD as it is when a write changed something; GETs and no-ops nothing",
        commands: &[
            &["BITFIELD", "f", "GET", "u8", "0"],
            &["BITFIELD", "f", "SET", "u8", "0", "5"],
            &["BITFIELD", "f", "SET", "u8", "0", "5", "GET", "u8", "0"],
            &["BITFIELD", "f", "INCRBY", "u8", "0", "0"],
            &[
                "BITFIELD", "f", "INCRBY", "u8", "0", "1", "INCRBY", "i4", "#3", "2",
            ],
            &[
                "BITFIELD", "f", "OVERFLOW", "FAIL", "INCRBY", "u8", "0", "300",
            ],
            &["BITFIELD", "g", "OVERFLOW", "FAIL", "SET", "u2", "0", "9"],
            &["BITFIELD", "f", "SET", "u8", "64", "0"],
            &["BITFIELD_RO", "f", "GET", "u8", "0"],
            &["BITFIELD_RO", "f", "SET", "u8", "0", "1"],
            &["BITFIELD", "f", "SET", "u64", "0", "1"],
        ],
        expect: &[
            &["BITFIELD", "f", "SET", "u8", "0", "5"],
            &[
                "BITFIELD", "f", "INCRBY", "u8", "0", "1", "INCRBY", "i4", "#3", "2",
            ],
            &["BITFIELD", "f", "SET", "u8", "64", "0"],
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

/// Compare a stream with a case's expectations; `Err` explains the difference.
fn matches(case: &Case, got: &Stream) -> Result<(), String> {
    let fail = |why: String| {
        Err(format!(
            "{why}\n  expected:\n{}  got:\n{}",
            case.expect
                .iter()
                .map(|e| format!("    {}\n", e.join(" ")))
                .collect::<String>(),
            show(got)
        ))
    };
    if got.len() != case.expect.len() {
        return fail(format!(
            "{} commands propagated, expected {}",
            got.len(),
            case.expect.len()
        ));
    }
    let mut used: Vec<Vec<u8>> = Vec::new();
    for (i, ((db, argv), want)) in got.iter().zip(case.expect.iter()).enumerate() {
        if *db != 0 {
            return fail(format!("command {i}: db {db}, expected db 0"));
        }
        if argv.len() != want.len() {
            return fail(format!("command {i}: wrong argument count"));
        }
        for (j, (got_arg, want_arg)) in argv.iter().zip(want.iter()).enumerate() {
            let ok = if let Some(list) = want_arg.strip_prefix("@in:") {
                list.split('|').any(|v| v.as_bytes() == &got_arg[..])
            } else if let Some(list) = want_arg.strip_prefix("@uniq:") {
                let fresh = !used.iter().any(|u| u[..] == got_arg[..]);
                used.push(got_arg.to_vec());
                fresh && list.split('|').any(|v| v.as_bytes() == &got_arg[..])
            } else if j == 0 {
                got_arg.eq_ignore_ascii_case(want_arg.as_bytes())
            } else {
                &got_arg[..] == want_arg.as_bytes()
            };
            if !ok {
                return fail(format!("command {i} argument {j} differs"));
            }
        }
    }
    Ok(())
}

#[test]
fn ferrodis_propagates_redis_forms() {
    let server = InProcess::start().expect("start ferrodis");
    let running = server.server().expect("running");
    let sink = Arc::new(RecordingSink::default());
    running.engine().propagation.attach(sink.clone());
    let mut admin = server.connect().expect("connect");
    let mut failures = Vec::new();
    for case in CASES {
        sink.log.lock().clear();
        let mut conn = server.connect().expect("connect");
        let replies = run_commands(&mut conn, case);
        let got: Stream = sink
            .log
            .lock()
            .iter()
            .map(|p| (p.db, p.argv.clone()))
            .collect();
        if let Err(why) = matches(case, &got) {
            failures.push(format!(
                "[{}] {why}  replies:\n    {}",
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

/// The same cases on Debian's redis-server, read as a replica: proves the expectations above
/// are Redis 7.0's.
#[test]
fn expectations_hold_on_real_redis() {
    let real = match RealRedis::start(&["--repl-diskless-sync", "no"]) {
        Ok(Some(r)) => r,
        Ok(None) => return,
        Err(e) => panic!("start redis-server: {e}"),
    };
    let mut admin = real.connect().expect("connect");
    let mut replica = real.connect().expect("connect");
    replica.send(&[b"SYNC"]).expect("SYNC");
    replica.read_sync_payload().expect("snapshot");
    let mut db = 0usize;
    let mut failures = Vec::new();
    for case in CASES {
        let mut conn = real.connect().expect("connect");
        let replies = run_commands(&mut conn, case);
        assert!(matches!(admin.cmd(&[b"FLUSHALL"]), Ok(Frame::Simple(_))));
        // Everything up to our FLUSHALL belongs to this case.
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
                _ => got.push((db, argv)),
            }
        }
        if let Err(why) = matches(case, &got) {
            failures.push(format!(
                "[{}] {why}  replies:\n    {}",
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

// ---- keyspace events ------------------------------------------------------------------------

struct EventCase {
    name: &'static str,
    commands: &'static [&'static [&'static str]],
    /// `[event, key]` in order.
    expect: &'static [[&'static str; 2]],
}

const EVENT_CASES: &[EventCase] = &[
    EventCase {
        name: "SETBIT and BITFIELD: setbit when something changed",
        commands: &[
            &["SETBIT", "k", "3", "1"],
            &["SETBIT", "k", "3", "1"],
            &["SETBIT", "k", "30", "0"],
            &[
                "BITFIELD", "k", "SET", "u8", "0", "1", "SET", "u8", "8", "2",
            ],
            &["BITFIELD", "k", "SET", "u8", "0", "1"],
            &["BITFIELD", "k", "GET", "u8", "0"],
            &["BITFIELD", "n", "OVERFLOW", "FAIL", "SET", "u2", "0", "9"],
        ],
        expect: &[["setbit", "k"], ["setbit", "k"], ["setbit", "k"]],
    },
    EventCase {
        name: "BITOP: set, or del for an empty result",
        commands: &[
            &["SET", "a", "x"],
            &["EXPIRE", "a", "100"],
            &["BITOP", "XOR", "d", "a", "a"],
            &["BITOP", "AND", "d", "m"],
            &["BITOP", "AND", "d", "m"],
        ],
        expect: &[["set", "a"], ["expire", "a"], ["set", "d"], ["del", "d"]],
    },
    EventCase {
        name: "BITOP with an empty result deletes an expired destination as a plain del",
        commands: &[
            &["DEBUG", "SET-ACTIVE-EXPIRE", "0"],
            &["SET", "d", "x", "PX", "1"],
            &["DEBUG", "SLEEP", "0.02"],
            &["BITOP", "AND", "d", "missing"],
            &["EXISTS", "d"],
            &["DEBUG", "SET-ACTIVE-EXPIRE", "1"],
        ],
        expect: &[["set", "d"], ["expire", "d"], ["del", "d"]],
    },
    EventCase {
        name: "BITOP storing over an expired destination expires it first",
        commands: &[
            &["DEBUG", "SET-ACTIVE-EXPIRE", "0"],
            &["SET", "a", "x"],
            &["SET", "d", "x", "PX", "1"],
            &["DEBUG", "SLEEP", "0.02"],
            &["BITOP", "OR", "d", "a"],
            &["DEBUG", "SET-ACTIVE-EXPIRE", "1"],
        ],
        expect: &[
            ["set", "a"],
            ["set", "d"],
            ["expire", "d"],
            ["expired", "d"],
            ["set", "d"],
        ],
    },
];

#[derive(Default)]
struct Events(Mutex<Vec<(String, Vec<u8>)>>);

impl EventListener for Events {
    fn keyspace_event(&self, _class: u32, event: &str, key: &[u8], _db: usize) {
        if let Ok(mut v) = self.0.lock() {
            v.push((event.to_string(), key.to_vec()));
        }
    }
}

fn run_event_commands(conn: &mut RespConn, case: &EventCase) -> Vec<String> {
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

fn events_match(case: &EventCase, got: &[(String, Vec<u8>)], replies: &[String]) -> Option<String> {
    let same = got.len() == case.expect.len()
        && got
            .iter()
            .zip(case.expect)
            .all(|((e, k), [we, wk])| e == we && &k[..] == wk.as_bytes());
    (!same).then(|| {
        let got: Vec<String> = got
            .iter()
            .map(|(e, k)| format!("{e} {}", String::from_utf8_lossy(k)))
            .collect();
        let want: Vec<String> = case
            .expect
            .iter()
            .map(|[e, k]| format!("{e} {k}"))
            .collect();
        format!(
            "[{}]\n  expected: {want:?}\n  got:      {got:?}\n  replies:\n    {}",
            case.name,
            replies.join("\n    ")
        )
    })
}

#[test]
fn ferrodis_emits_redis_keyspace_events() {
    let server = InProcess::start().expect("start ferrodis");
    let running = server.server().expect("running");
    let events = Arc::new(Events::default());
    running.engine().set_event_listener(events.clone());
    let mut admin = server.connect().expect("connect");
    let r = admin.cmd(&[b"CONFIG", b"SET", b"notify-keyspace-events", b"EA"]);
    assert!(
        matches!(r, Ok(Frame::Simple(_))),
        "CONFIG SET notify-keyspace-events: {r:?}"
    );
    let mut failures = Vec::new();
    for case in EVENT_CASES {
        assert!(matches!(admin.cmd(&[b"FLUSHALL"]), Ok(Frame::Simple(_))));
        if let Ok(mut v) = events.0.lock() {
            v.clear();
        }
        let mut conn = server.connect().expect("connect");
        let replies = run_event_commands(&mut conn, case);
        let got = events.0.lock().map(|v| v.clone()).unwrap_or_default();
        failures.extend(events_match(case, &got, &replies));
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

/// The same cases on Debian's redis-server through a keyevent subscriber: proves the
/// expectations above are Redis 7.0's.
#[test]
fn event_expectations_hold_on_real_redis() {
    let real = match RealRedis::start(&["--notify-keyspace-events", "EA"]) {
        Ok(Some(r)) => r,
        Ok(None) => return,
        Err(e) => panic!("start redis-server: {e}"),
    };
    let mut admin = real.connect().expect("connect");
    let mut sub = real.connect().expect("connect");
    sub.send(&[b"PSUBSCRIBE", b"__keyevent@0__:*"])
        .expect("PSUBSCRIBE");
    sub.read_frame().expect("psubscribe reply");
    sub.send(&[b"SUBSCRIBE", b"end-of-case"])
        .expect("SUBSCRIBE");
    sub.read_frame().expect("subscribe reply");
    let mut failures = Vec::new();
    for case in EVENT_CASES {
        assert!(matches!(admin.cmd(&[b"FLUSHALL"]), Ok(Frame::Simple(_))));
        let mut conn = real.connect().expect("connect");
        let replies = run_event_commands(&mut conn, case);
        assert!(matches!(
            admin.cmd(&[b"PUBLISH", b"end-of-case", b"x"]),
            Ok(Frame::Integer(1))
        ));
        let mut got = Vec::new();
        loop {
            let Ok(Frame::Array(items)) = sub.read_frame() else {
                panic!("bad frame from the subscriber");
            };
            match &items[..] {
                [Frame::Bulk(kind), Frame::Bulk(_), Frame::Bulk(channel), Frame::Bulk(key)]
                    if &kind[..] == b"pmessage" =>
                {
                    let event = channel.strip_prefix(b"__keyevent@0__:").unwrap_or(channel);
                    if event != b"flushall" {
                        got.push((String::from_utf8_lossy(event).into_owned(), key.to_vec()));
                    }
                }
                [Frame::Bulk(kind), ..] if &kind[..] == b"message" => break,
                other => panic!("unexpected message {other:?}"),
            }
        }
        failures.extend(events_match(case, &got, &replies));
    }
    assert!(
        failures.is_empty(),
        "real Redis disagrees (test bug):\n{}",
        failures.join("\n")
    );
}
