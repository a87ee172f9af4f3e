//! The propagation stream of the list commands has Redis 7.0's forms: pushes, pops, LSET,
//! LINSERT, LREM, LTRIM, LMOVE and RPOPLPUSH as they are (when they changed something),
//! LMPOP as `LPOP|RPOP key n` with n the number popped, and blocking commands served at once
//! as their non-blocking forms (BLPOP -> LPOP key, BLMPOP -> LPOP key n, BLMOVE -> LMOVE,
//! BRPOPLPUSH -> RPOPLPUSH). No-op writes propagate nothing.
//!
//! Every case runs on ferrodis with a `RecordingSink` attached to the engine and, when
//! Debian's redis-server is installed, on Redis read as a replica through `SYNC`: the same
//! expectations must hold for both, which keeps them honest.
//!
//! The same cases also compare keyspace events: ours recorded by an engine listener, Redis's
//! read through `PSUBSCRIBE __keyevent@0__:*`; names, keys and order must be identical.

use bytes::Bytes;
use ferrodis_commands::engine::{EventListener, RecordingSink};
use ferrodis_resp::Frame;
use ferrodis_tests::{ChildServer, InProcess, RealRedis, RespConn};
use std::sync::Arc;
use std::sync::Mutex;

struct Case {
    name: &'static str,
    commands: &'static [&'static [&'static str]],
    expect: &'static [&'static [&'static str]],
}

const CASES: &[Case] = &[
    Case {
        name: "pushes as they are; PUSHX on a missing key propagates nothing",
        commands: &[
            &["LPUSHX", "l", "a"],
            &["RPUSH", "l", "a", "b"],
            &["LPUSH", "l", "c"],
            &["RPUSHX", "l", "d", "e"],
            &["LPUSHX", "l", "f"],
            &["SET", "s", "v"],
            &["LPUSH", "s", "x"],
        ],
        expect: &[
            &["RPUSH", "l", "a", "b"],
            &["LPUSH", "l", "c"],
            &["RPUSHX", "l", "d", "e"],
            &["LPUSHX", "l", "f"],
            &["SET", "s", "v"],
        ],
    },
    Case {
        name: "pops as they are, with COUNT kept even past the length; no-op pops nothing",
        commands: &[
            &["LPOP", "l"],
            &["RPUSH", "l", "a", "b", "c", "d"],
            &["LPOP", "l"],
            &["RPOP", "l", "1"],
            &["LPOP", "l", "0"],
            &["LPOP", "l", "10"],
            &["RPOP", "l", "3"],
        ],
        expect: &[
            &["RPUSH", "l", "a", "b", "c", "d"],
            &["LPOP", "l"],
            &["RPOP", "l", "1"],
            &["LPOP", "l", "10"],
        ],
    },
    Case {
        name: "LSET, LINSERT, LREM, LTRIM when they change something",
        commands: &[
            &["RPUSH", "l", "a", "b", "a", "c"],
            &["LSET", "l", "0", "z"],
            &["LSET", "l", "9", "z"],
            &["LINSERT", "l", "BEFORE", "b", "y"],
            &["LINSERT", "l", "AFTER", "nosuch", "y"],
            &["LREM", "l", "0", "nosuch"],
            &["LREM", "l", "-1", "a"],
            &["LTRIM", "l", "0", "-1"],
            &["LTRIM", "l", "1", "2"],
            &["LTRIM", "l", "5", "1"],
            &["LTRIM", "l", "0", "1"],
        ],
        expect: &[
            &["RPUSH", "l", "a", "b", "a", "c"],
            &["LSET", "l", "0", "z"],
            &["LINSERT", "l", "BEFORE", "b", "y"],
            &["LREM", "l", "-1", "a"],
            &["LTRIM", "l", "1", "2"],
            &["LTRIM", "l", "5", "1"],
        ],
    },
    Case {
        name: "LMOVE and RPOPLPUSH as they are, rotation included; failed moves nothing",
        commands: &[
            &["RPUSH", "a", "1", "2", "3"],
            &["LMOVE", "a", "b", "LEFT", "right"],
            &["LMOVE", "a", "a", "RIGHT", "LEFT"],
            &["RPOPLPUSH", "a", "{a}c"],
            &["RPOPLPUSH", "nosuch", "a"],
            &["SET", "s", "v"],
            &["LMOVE", "a", "s", "LEFT", "LEFT"],
        ],
        expect: &[
            &["RPUSH", "a", "1", "2", "3"],
            &["LMOVE", "a", "b", "LEFT", "right"],
            &["LMOVE", "a", "a", "RIGHT", "LEFT"],
            &["RPOPLPUSH", "a", "{a}c"],
            &["SET", "s", "v"],
        ],
    },
    Case {
        name: "LMPOP becomes LPOP/RPOP key n with n the number popped",
        commands: &[
            &["LMPOP", "2", "x", "y", "LEFT"],
            &["RPUSH", "y", "1", "2", "3"],
            &["LMPOP", "2", "x", "y", "LEFT"],
            &["LMPOP", "2", "x", "y", "RIGHT", "COUNT", "10"],
        ],
        expect: &[
            &["RPUSH", "y", "1", "2", "3"],
            &["LPOP", "y", "1"],
            &["RPOP", "y", "2"],
        ],
    },
    Case {
        name: "blocking commands served at once propagate their non-blocking forms",
        commands: &[
            &["RPUSH", "a", "1", "2", "3", "4", "5", "6"],
            &["BLPOP", "nosuch", "a", "0"],
            &["BRPOP", "a", "1"],
            &["BLMPOP", "0", "2", "nosuch", "a", "RIGHT", "COUNT", "2"],
            &["BLMOVE", "a", "b", "left", "RIGHT", "0"],
            &["BRPOPLPUSH", "b", "a", "0"],
        ],
        expect: &[
            &["RPUSH", "a", "1", "2", "3", "4", "5", "6"],
            &["LPOP", "a"],
            &["RPOP", "a"],
            &["RPOP", "a", "2"],
            &["LMOVE", "a", "b", "left", "RIGHT"],
            &["RPOPLPUSH", "b", "a"],
        ],
    },
];

type Stream = Vec<Vec<Bytes>>;

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

fn show(stream: &Stream) -> String {
    stream
        .iter()
        .map(|argv| {
            let words: Vec<String> = argv
                .iter()
                .map(|a| String::from_utf8_lossy(a).into_owned())
                .collect();
            format!("    {}\n", words.join(" "))
        })
        .collect()
}

/// Command names compare case-insensitively, arguments exactly.
fn matches(case: &Case, got: &Stream) -> Result<(), String> {
    let same = got.len() == case.expect.len()
        && got.iter().zip(case.expect.iter()).all(|(argv, want)| {
            argv.len() == want.len()
                && argv.iter().zip(want.iter()).enumerate().all(|(j, (g, w))| {
                    if j == 0 {
                        g.eq_ignore_ascii_case(w.as_bytes())
                    } else {
                        &g[..] == w.as_bytes()
                    }
                })
        });
    if same {
        return Ok(());
    }
    Err(format!(
        "expected:\n{}  got:\n{}",
        case.expect
            .iter()
            .map(|e| format!("    {}\n", e.join(" ")))
            .collect::<String>(),
        show(got)
    ))
}

#[test]
fn ferrodis_propagates_redis_list_forms() {
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
        let got: Stream = sink.log.lock().iter().map(|p| p.argv.clone()).collect();
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

/// The same cases on Debian's redis-server, read as a replica.
#[test]
fn list_expectations_hold_on_real_redis() {
    let real = match RealRedis::start(&["--repl-diskless-sync", "no"]) {
        Ok(Some(r)) => r,
        Ok(None) => return,
        Err(e) => panic!("start redis-server: {e}"),
    };
    let mut admin = real.connect().expect("connect");
    let mut replica = real.connect().expect("connect");
    replica.send(&[b"SYNC"]).expect("SYNC");
    replica.read_sync_payload().expect("snapshot");
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
                Some(b"PING") | Some(b"SELECT") => {}
                Some(b"FLUSHALL") => break,
                _ => got.push(argv),
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

/// Records `(event, key)` pairs of db 0.
#[derive(Default)]
struct Events(Mutex<Vec<(String, Vec<u8>)>>);

impl EventListener for Events {
    fn keyspace_event(&self, _class: u32, event: &str, key: &[u8], db: usize) {
        if db == 0 {
            self.0
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .push((event.to_string(), key.to_vec()));
        }
    }
}

fn words<'a>(w: &[&'a str]) -> Vec<&'a [u8]> {
    w.iter().map(|s| s.as_bytes()).collect()
}

const END_KEY: &str = "__end_of_case__";

/// Every case's events on Redis (through PSUBSCRIBE), up to the `set` of [`END_KEY`].
fn redis_events(real: &ChildServer) -> Vec<Vec<(String, Vec<u8>)>> {
    let mut conn = real.connect().expect("connect");
    let r = conn.cmd(&words(&["CONFIG", "SET", "notify-keyspace-events", "KEA"]));
    assert!(matches!(r, Ok(Frame::Simple(_))), "{r:?}");
    let mut sub = real.connect().expect("connect");
    sub.send(&words(&["PSUBSCRIBE", "__keyevent@0__:*"]))
        .expect("PSUBSCRIBE");
    sub.read_frame().expect("subscribed");
    let mut all = Vec::new();
    for case in CASES {
        run_commands(&mut conn, case);
        let r = conn.cmd(&words(&["SET", END_KEY, "1"]));
        assert!(matches!(r, Ok(Frame::Simple(_))));
        let mut got = Vec::new();
        loop {
            let Ok(Frame::Array(items)) = sub.read_frame() else {
                panic!("unexpected frame on the subscription");
            };
            let [_, _, Frame::Bulk(channel), Frame::Bulk(key)] = &items[..] else {
                panic!("unexpected pmessage {items:?}");
            };
            let event = String::from_utf8_lossy(&channel["__keyevent@0__:".len()..]).into_owned();
            if event == "set" && &key[..] == END_KEY.as_bytes() {
                break;
            }
            got.push((event, key.to_vec()));
        }
        assert!(matches!(conn.cmd(&[b"FLUSHALL"]), Ok(Frame::Simple(_))));
        all.push(got);
    }
    all
}

#[test]
fn keyspace_events_match_redis() {
    let real = match RealRedis::start(&[]) {
        Ok(Some(r)) => r,
        Ok(None) => return,
        Err(e) => panic!("start redis-server: {e}"),
    };
    let expected = redis_events(&real);
    let server = InProcess::start().expect("start ferrodis");
    let running = server.server().expect("running");
    let events = Arc::new(Events::default());
    running.engine().set_event_listener(events.clone());
    let mut conn = server.connect().expect("connect");
    let r = conn.cmd(&words(&["CONFIG", "SET", "notify-keyspace-events", "KEA"]));
    assert!(matches!(r, Ok(Frame::Simple(_))), "{r:?}");
    let show = |evs: &[(String, Vec<u8>)]| -> String {
        evs.iter()
            .map(|(e, k)| format!("    {e} {}\n", String::from_utf8_lossy(k)))
            .collect()
    };
    let mut failures = Vec::new();
    for (case, want) in CASES.iter().zip(expected.iter()) {
        events.0.lock().unwrap_or_else(|e| e.into_inner()).clear();
        run_commands(&mut conn, case);
        let got = std::mem::take(&mut *events.0.lock().unwrap_or_else(|e| e.into_inner()));
        if &got != want {
            failures.push(format!(
                "[{}]\n  redis:\n{}  ferrodis:\n{}",
                case.name,
                show(want),
                show(&got)
            ));
        }
        assert!(matches!(conn.cmd(&[b"FLUSHALL"]), Ok(Frame::Simple(_))));
    }
    assert!(
        failures.is_empty(),
        "keyspace events differ:\n{}",
        failures.join("\n")
    );
}
