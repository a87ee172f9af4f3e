//! The propagation stream (what AOF and replicas receive) of the hash and set commands has
//! Redis 7.0's forms: HINCRBYFLOAT becomes HSET with the result, SPOP becomes SREM of the
//! popped members (one SREM per member, wrapped in MULTI/EXEC when there are several) or DEL
//! when the whole set goes, the STORE commands propagate as they are (also when they only
//! delete the destination), and reads or no-op writes propagate nothing.
//!
//! Every case runs on ferrodis with a `RecordingSink` attached to the engine and, when Debian's
//! redis-server is installed, on Redis too, read as a replica through `SYNC`: the same
//! expectations must hold for both, which keeps them honest.
//!
//! The keyspace events of the same commands are checked the same way (ferrodis through an
//! engine event listener, Redis through a `PSUBSCRIBE __keyevent@0__:*` client): names, keys
//! and order, including the `del` that follows a collection emptied by a command.
//!
//! Pattern language of expectations (arguments after the command name):
//! - `@in:a|b|c` matches any one of the listed values;
//! - `@uniq:a|b|c` matches one of the listed values not matched by another `@uniq` argument of
//!   the same case (the members SPOP removed: each once, in any order).

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

const TEN: &str = "@uniq:1|2|3|4|5|6|7|8|9|10";
const TEN_ANY: &str = "@in:1|2|3|4|5|6|7|8|9|10";
const SADD_TEN: &[&str] = &[
    "SADD", "s", "1", "2", "3", "4", "5", "6", "7", "8", "9", "10",
];
const SADD_TEN_STR: &[&str] = &[
    "SADD", "s", "a", "b", "c", "d", "e", "f", "g", "h", "i", "j",
];
const STR_TEN: &str = "@uniq:a|b|c|d|e|f|g|h|i|j";

const CASES: &[Case] = &[
    Case {
        name: "HSET, HMSET, HSETNX, HDEL, HINCRBY as they are; no-ops propagate nothing",
        commands: &[
            &["HSET", "h", "f", "v", "g", "w"],
            &["HSET", "h", "f", "v"],
            &["HMSET", "h", "x", "1"],
            &["HSETNX", "h", "f", "other"],
            &["HSETNX", "h", "n", "new"],
            &["HDEL", "h", "missing"],
            &["HDEL", "h", "f", "missing", "g"],
            &["HINCRBY", "h", "x", "5"],
            &["HINCRBY", "h", "n", "5"],
            &["HGET", "h", "x"],
            &["HGETALL", "h"],
            &["HRANDFIELD", "h", "-5", "WITHVALUES"],
            &["HDEL", "nokey", "f"],
        ],
        expect: &[
            &["HSET", "h", "f", "v", "g", "w"],
            &["HSET", "h", "f", "v"],
            &["HMSET", "h", "x", "1"],
            &["HSETNX", "h", "n", "new"],
            &["HDEL", "h", "f", "missing", "g"],
            &["HINCRBY", "h", "x", "5"],
        ],
    },
    Case {
        name: "HINCRBYFLOAT becomes HSET with the result; errors propagate nothing",
        commands: &[
            &["HINCRBYFLOAT", "h", "f", "1.5"],
            &["HINCRBYFLOAT", "h", "f", "0.25"],
            &["HINCRBYFLOAT", "h", "f", "5.0e3"],
            &["HINCRBYFLOAT", "h", "f", "inf"],
            &["HINCRBYFLOAT", "h", "f", "abc"],
            &["HSET", "h", "s", "text"],
            &["HINCRBYFLOAT", "h", "s", "1"],
            &["HINCRBYFLOAT", "h", "i", "-3"],
        ],
        expect: &[
            &["HSET", "h", "f", "1.5"],
            &["HSET", "h", "f", "1.75"],
            &["HSET", "h", "f", "5001.75"],
            &["HSET", "h", "s", "text"],
            &["HSET", "h", "i", "-3"],
        ],
    },
    Case {
        name: "SADD, SREM as they are; no-ops and reads propagate nothing",
        commands: &[
            &["SADD", "s", "a", "b"],
            &["SADD", "s", "a"],
            &["SREM", "s", "zz"],
            &["SREM", "s", "a", "zz"],
            &["SMEMBERS", "s"],
            &["SRANDMEMBER", "s", "-3"],
            &["SISMEMBER", "s", "b"],
            &["SREM", "s", "b"],
            &["SREM", "s", "b"],
        ],
        expect: &[
            &["SADD", "s", "a", "b"],
            &["SREM", "s", "a", "zz"],
            &["SREM", "s", "b"],
        ],
    },
    Case {
        name: "SPOP becomes SREM of the popped member",
        commands: &[
            &["SADD", "s", "a", "b", "c"],
            &["SPOP", "s"],
            &["SPOP", "nokey"],
        ],
        expect: &[&["SADD", "s", "a", "b", "c"], &["SREM", "s", "@in:a|b|c"]],
    },
    Case {
        name: "SPOP of the last member becomes SREM (the key goes)",
        commands: &[&["SADD", "s", "7"], &["SPOP", "s"]],
        expect: &[&["SADD", "s", "7"], &["SREM", "s", "7"]],
    },
    Case {
        name: "SPOP count 1 becomes one SREM, not wrapped",
        commands: &[SADD_TEN, &["SPOP", "s", "1"]],
        expect: &[SADD_TEN, &["SREM", "s", TEN_ANY]],
    },
    Case {
        name: "SPOP with a small count becomes SREMs in MULTI/EXEC (intset)",
        commands: &[SADD_TEN, &["SPOP", "s", "3"]],
        expect: &[
            SADD_TEN,
            &["MULTI"],
            &["SREM", "s", TEN],
            &["SREM", "s", TEN],
            &["SREM", "s", TEN],
            &["EXEC"],
        ],
    },
    Case {
        name: "SPOP with a count near the size (new-set strategy) becomes SREMs in MULTI/EXEC",
        commands: &[SADD_TEN_STR, &["SPOP", "s", "9"]],
        expect: &[
            SADD_TEN_STR,
            &["MULTI"],
            &["SREM", "s", STR_TEN],
            &["SREM", "s", STR_TEN],
            &["SREM", "s", STR_TEN],
            &["SREM", "s", STR_TEN],
            &["SREM", "s", STR_TEN],
            &["SREM", "s", STR_TEN],
            &["SREM", "s", STR_TEN],
            &["SREM", "s", STR_TEN],
            &["SREM", "s", STR_TEN],
            &["EXEC"],
        ],
    },
    Case {
        name: "SPOP with a count covering the set becomes DEL; count 0 and missing keys nothing",
        commands: &[
            &["SADD", "s", "a", "b", "c"],
            &["SPOP", "s", "0"],
            &["SPOP", "s", "3"],
            &["SPOP", "s", "3"],
            &["SADD", "t", "1", "2"],
            &["SPOP", "t", "100"],
            &["SPOP", "t", "-1"],
        ],
        expect: &[
            &["SADD", "s", "a", "b", "c"],
            &["DEL", "s"],
            &["SADD", "t", "1", "2"],
            &["DEL", "t"],
        ],
    },
    Case {
        name: "SMOVE as it is; a move that changes nothing propagates nothing",
        commands: &[
            &["SADD", "{k}a", "x", "y"],
            &["SADD", "{k}b", "y"],
            &["SMOVE", "{k}a", "{k}b", "zz"],
            &["SMOVE", "{k}a", "{k}a", "x"],
            &["SMOVE", "{k}a", "{k}b", "y"],
            &["SMOVE", "{k}a", "{k}c", "x"],
        ],
        expect: &[
            &["SADD", "{k}a", "x", "y"],
            &["SADD", "{k}b", "y"],
            &["SMOVE", "{k}a", "{k}b", "y"],
            &["SMOVE", "{k}a", "{k}c", "x"],
        ],
    },
    Case {
        name: "SINTERSTORE, SUNIONSTORE, SDIFFSTORE as they are, also when they only delete",
        commands: &[
            &["SADD", "{k}a", "1", "2", "3"],
            &["SADD", "{k}b", "2", "3", "4"],
            &["SINTERSTORE", "{k}d", "{k}a", "{k}b"],
            &["SUNIONSTORE", "{k}d", "{k}a", "{k}b"],
            &["SDIFFSTORE", "{k}d", "{k}a", "{k}b"],
            &["SINTERSTORE", "{k}d", "{k}a", "{k}missing"],
            &["SINTERSTORE", "{k}d", "{k}a", "{k}missing"],
            &["SDIFFSTORE", "{k}e", "{k}a", "{k}a"],
            &["SUNIONSTORE", "{k}e", "{k}x", "{k}y"],
            &["SINTER", "{k}a", "{k}b"],
            &["SINTERCARD", "2", "{k}a", "{k}b"],
        ],
        expect: &[
            &["SADD", "{k}a", "1", "2", "3"],
            &["SADD", "{k}b", "2", "3", "4"],
            &["SINTERSTORE", "{k}d", "{k}a", "{k}b"],
            &["SUNIONSTORE", "{k}d", "{k}a", "{k}b"],
            &["SDIFFSTORE", "{k}d", "{k}a", "{k}b"],
            &["SINTERSTORE", "{k}d", "{k}a", "{k}missing"],
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
        name: "hash writes",
        commands: &[
            &["HSET", "h", "f", "v", "g", "w"],
            &["HSET", "h", "f", "v"],
            &["HMSET", "h", "f", "v"],
            &["HSETNX", "h", "f", "x"],
            &["HSETNX", "h", "n", "1"],
            &["HINCRBY", "h", "n", "2"],
            &["HINCRBY", "h", "f", "2"],
            &["HINCRBYFLOAT", "h", "n", "1.5"],
            &["HINCRBYFLOAT", "h", "n", "inf"],
            &["HDEL", "h", "zz"],
            &["HDEL", "h", "f", "zz"],
            &["HGET", "h", "g"],
            &["HRANDFIELD", "h", "2"],
            &["HDEL", "h", "g", "n"],
            &["HINCRBYFLOAT", "h2", "x", "1"],
        ],
        expect: &[
            ["hset", "h"],
            ["hset", "h"],
            ["hset", "h"],
            ["hset", "h"],
            ["hincrby", "h"],
            ["hincrbyfloat", "h"],
            ["hdel", "h"],
            ["hdel", "h"],
            ["del", "h"],
            ["hincrbyfloat", "h2"],
        ],
    },
    EventCase {
        name: "set writes and SPOP",
        commands: &[
            &["SADD", "s", "a", "b", "c", "d", "e"],
            &["SADD", "s", "a"],
            &["SREM", "s", "zz"],
            &["SREM", "s", "a"],
            &["SPOP", "s"],
            &["SPOP", "s", "0"],
            &["SPOP", "s", "1"],
            &["SRANDMEMBER", "s", "-3"],
            &["SPOP", "s", "5"],
            &["SPOP", "s"],
            &["SADD", "t", "1"],
            &["SPOP", "t"],
            &["SADD", "u", "1", "2"],
            &["SREM", "u", "1", "2"],
        ],
        expect: &[
            ["sadd", "s"],
            ["srem", "s"],
            ["spop", "s"],
            ["spop", "s"],
            ["spop", "s"],
            ["del", "s"],
            ["sadd", "t"],
            ["spop", "t"],
            ["del", "t"],
            ["sadd", "u"],
            ["srem", "u"],
            ["del", "u"],
        ],
    },
    EventCase {
        name: "SMOVE",
        commands: &[
            &["SADD", "{k}a", "x", "y"],
            &["SADD", "{k}b", "y"],
            &["SMOVE", "{k}a", "{k}b", "zz"],
            &["SMOVE", "{k}a", "{k}a", "x"],
            &["SMOVE", "{k}a", "{k}b", "y"],
            &["SMOVE", "{k}a", "{k}c", "x"],
        ],
        expect: &[
            ["sadd", "{k}a"],
            ["sadd", "{k}b"],
            ["srem", "{k}a"],
            ["srem", "{k}a"],
            ["del", "{k}a"],
            ["sadd", "{k}c"],
        ],
    },
    EventCase {
        name: "STORE commands store, or delete the destination",
        commands: &[
            &["SADD", "{k}a", "1", "2", "3"],
            &["SADD", "{k}b", "2", "3", "4"],
            &["SINTERSTORE", "{k}d", "{k}a", "{k}b"],
            &["SUNIONSTORE", "{k}d", "{k}a", "{k}b"],
            &["SDIFFSTORE", "{k}d", "{k}a", "{k}b"],
            &["SINTERSTORE", "{k}d", "{k}a", "{k}missing"],
            &["SUNIONSTORE", "{k}e", "{k}a"],
            &["SDIFFSTORE", "{k}e", "{k}a", "{k}a"],
            &["SDIFFSTORE", "{k}e", "{k}a", "{k}a"],
            &["SINTERSTORE", "{k}f", "{k}a", "{k}b"],
            &["SINTERSTORE", "{k}f", "{k}b", "{k}a", "{k}x"],
        ],
        expect: &[
            ["sadd", "{k}a"],
            ["sadd", "{k}b"],
            ["sinterstore", "{k}d"],
            ["sunionstore", "{k}d"],
            ["sdiffstore", "{k}d"],
            ["del", "{k}d"],
            ["sunionstore", "{k}e"],
            ["del", "{k}e"],
            ["sinterstore", "{k}f"],
            ["del", "{k}f"],
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
