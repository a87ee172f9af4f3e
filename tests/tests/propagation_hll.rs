//! The propagation stream (what AOF and replicas receive) of the HyperLogLog commands has Redis
//! 7.0's forms: PFADD and PFMERGE propagate as they are when they change something, PFCOUNT of
//! one key propagates when it wrote a fresh cached cardinality into the value (it is a string
//! modified in place), PFDEBUG TODENSE/GETREG when they converted a sparse value, and reads or
//! no-op writes propagate nothing.
//!
//! Every case runs on ferrodis with a `RecordingSink` attached to the engine and, when Debian's
//! redis-server is installed, on Redis too, read as a replica through `SYNC`: the same
//! expectations must hold for both, which keeps them honest.
//!
//! The keyspace events are checked the same way (ferrodis through an engine event listener,
//! Redis through a `PSUBSCRIBE __keyevent@0__:*` client): PFADD and PFMERGE both emit `pfadd`.

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
        name:
            "PFADD as it is, also creating an empty HLL; PFADD changing nothing propagates nothing",
        commands: &[
            &["PFADD", "h", "a", "b", "c"],
            &["PFADD", "h", "a", "b", "c"],
            &["PFADD", "h2"],
            &["PFADD", "h2"],
            &["SET", "s", "plain"],
            &["PFADD", "s", "x"],
        ],
        expect: &[
            &["PFADD", "h", "a", "b", "c"],
            &["PFADD", "h2"],
            &["SET", "s", "plain"],
        ],
    },
    Case {
        name: "PFCOUNT of one key propagates when it refreshes the cache; a valid cache and \
               multi-key PFCOUNT propagate nothing",
        commands: &[
            &["PFADD", "{k}h", "a"],
            &["PFCOUNT", "{k}h"],
            &["PFCOUNT", "{k}h"],
            &["PFCOUNT", "{k}h", "{k}nokey"],
            &["PFCOUNT", "{k}nokey"],
        ],
        expect: &[&["PFADD", "{k}h", "a"], &["PFCOUNT", "{k}h"]],
    },
    Case {
        name: "PFMERGE as it is, onto a missing or existing destination; errors propagate nothing",
        commands: &[
            &["PFADD", "{k}a", "x"],
            &["PFMERGE", "{k}d", "{k}a"],
            &["PFMERGE", "{k}d", "{k}a", "{k}missing"],
            &["SET", "{k}s", "foo"],
            &["PFMERGE", "{k}d", "{k}s"],
        ],
        expect: &[
            &["PFADD", "{k}a", "x"],
            &["PFMERGE", "{k}d", "{k}a"],
            &["PFMERGE", "{k}d", "{k}a", "{k}missing"],
            &["SET", "{k}s", "foo"],
        ],
    },
    Case {
        name: "PFDEBUG TODENSE and GETREG propagate when they convert; ENCODING and DECODE never",
        commands: &[
            &["PFADD", "h", "a"],
            &["PFDEBUG", "DECODE", "h"],
            &["PFDEBUG", "TODENSE", "h"],
            &["PFDEBUG", "TODENSE", "h"],
            &["PFDEBUG", "ENCODING", "h"],
            &["PFDEBUG", "GETREG", "h"],
            &["PFADD", "h2", "b"],
            &["PFDEBUG", "GETREG", "h2"],
        ],
        expect: &[
            &["PFADD", "h", "a"],
            &["PFDEBUG", "TODENSE", "h"],
            &["PFADD", "h2", "b"],
            &["PFDEBUG", "GETREG", "h2"],
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

const EVENT_CASES: &[EventCase] = &[EventCase {
    name: "PFADD and PFMERGE emit pfadd; no-ops and PFCOUNT nothing",
    commands: &[
        &["PFADD", "{k}h", "a"],
        &["PFADD", "{k}h", "a"],
        &["PFADD", "{k}h2"],
        &["PFMERGE", "{k}h3", "{k}h", "{k}h2"],
        &["PFCOUNT", "{k}h3"],
        &["PFCOUNT", "{k}h", "{k}h2"],
        &["PFDEBUG", "TODENSE", "{k}h"],
    ],
    expect: &[["pfadd", "{k}h"], ["pfadd", "{k}h2"], ["pfadd", "{k}h3"]],
}];

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
