//! The propagation stream (what AOF and replicas receive) and the keyspace events of the geo
//! commands have Redis 7.0's forms: GEOADD propagates as the ZADD it runs (scores computed,
//! options kept) with the `zadd` event, and nothing when it changes nothing or fails;
//! GEOSEARCHSTORE and GEORADIUS[BYMEMBER] with STORE/STOREDIST propagate as they are
//! (`geosearchstore` / `georadiusstore` events), also when they only delete their destination
//! (`del`); reads propagate nothing.
//!
//! Every case runs on ferrodis, with a `RecordingSink` on the engine's propagation stream and
//! an event listener on its keyspace events, and, when Debian's redis-server is installed, on
//! Redis too: its stream is read as a replica through `SYNC` and its events through a
//! `PSUBSCRIBE __keyevent@0__:*` client. The same expectations must hold for both.

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
        name: "GEOADD as ZADD with scores; no-ops and errors nothing",
        commands: &[
            &[
                "GEOADD",
                "g",
                "13.361389",
                "38.115556",
                "Palermo",
                "15.087269",
                "37.502669",
                "Catania",
            ],
            &["GEOADD", "g", "13.361389", "38.115556", "Palermo"],
            &[
                "GEOADD",
                "g",
                "CH",
                "NX",
                "13.361389",
                "38.115556",
                "Palermo",
                "15",
                "37",
                "x",
            ],
            &["GEOADD", "g", "200", "100", "y"],
            &["GEOADD", "g", "XX", "1", "1", "newm"],
            &["GEOADD", "g", "NX", "XX", "1", "1", "newm"],
            &["GEOPOS", "g", "x"],
            &["GEODIST", "g", "x", "Palermo"],
            &["GEOHASH", "g", "x"],
        ],
        expect: &[
            &[
                "ZADD",
                "g",
                "3479099956230698",
                "Palermo",
                "3479447370796909",
                "Catania",
            ],
            &[
                "ZADD",
                "g",
                "CH",
                "NX",
                "3479099956230698",
                "Palermo",
                "3476504601741708",
                "x",
            ],
        ],
        events: &["zadd g", "zadd g"],
    },
    Case {
        name: "STORE forms as they are, also when they only delete; reads nothing",
        commands: &[
            &[
                "GEOADD",
                "g",
                "13.361389",
                "38.115556",
                "Palermo",
                "15.087269",
                "37.502669",
                "Catania",
            ],
            &[
                "GEOSEARCHSTORE",
                "d",
                "g",
                "FROMMEMBER",
                "Palermo",
                "BYRADIUS",
                "200",
                "km",
            ],
            &["GEORADIUS", "g", "15", "37", "200", "km", "STOREDIST", "d2"],
            &["GEORADIUSBYMEMBER", "g", "Palermo", "1", "m", "STORE", "d3"],
            &[
                "GEOSEARCHSTORE",
                "d",
                "g",
                "FROMLONLAT",
                "0",
                "0",
                "BYRADIUS",
                "1",
                "km",
                "STOREDIST",
            ],
            &[
                "GEOSEARCHSTORE",
                "d",
                "g",
                "FROMLONLAT",
                "0",
                "0",
                "BYRADIUS",
                "1",
                "km",
            ],
            &[
                "GEOSEARCH",
                "g",
                "FROMMEMBER",
                "Palermo",
                "BYRADIUS",
                "1",
                "km",
            ],
            &["GEORADIUS_RO", "g", "15", "37", "200", "km"],
            &["GEORADIUS", "nokey", "0", "0", "1", "km", "STORE", "d2"],
            &["GEORADIUSBYMEMBER", "nokey", "x", "1", "km", "STORE", "d2"],
        ],
        expect: &[
            &[
                "ZADD",
                "g",
                "3479099956230698",
                "Palermo",
                "3479447370796909",
                "Catania",
            ],
            &[
                "GEOSEARCHSTORE",
                "d",
                "g",
                "FROMMEMBER",
                "Palermo",
                "BYRADIUS",
                "200",
                "km",
            ],
            &["GEORADIUS", "g", "15", "37", "200", "km", "STOREDIST", "d2"],
            &["GEORADIUSBYMEMBER", "g", "Palermo", "1", "m", "STORE", "d3"],
            &[
                "GEOSEARCHSTORE",
                "d",
                "g",
                "FROMLONLAT",
                "0",
                "0",
                "BYRADIUS",
                "1",
                "km",
                "STOREDIST",
            ],
            &["GEORADIUS", "nokey", "0", "0", "1", "km", "STORE", "d2"],
        ],
        events: &[
            "zadd g",
            "geosearchstore d",
            "georadiusstore d2",
            "georadiusstore d3",
            "del d",
            "del d2",
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
