//! Shared machinery of the propagation tests (`tests/tests/propagation*.rs`): run a case's
//! commands on ferrodis with a [`RecordingSink`] (and an event listener) attached to the
//! engine, and on Debian's redis-server read as a replica through `SYNC` (events through a
//! `PSUBSCRIBE __keyevent@0__:*` client), then compare both with the case's expectations.
//!
//! Pattern language of the cases:
//! - in commands, `@ms+N` is the current Unix time in ms plus N, `@s+N` in seconds; the
//!   pseudo-command `SLEEP n` sleeps n ms instead of being sent;
//! - in expectations, `@ms+N` matches an integer within [`TOLERANCE_MS`] of (time the case
//!   started + N); a leading `@dbN` element sets the expected DB (0 otherwise);
//! - `@in:a|b|c` matches any one of the listed values;
//! - `@uniq:a|b|c` matches one of the listed values not matched by another `@uniq` argument of
//!   the same case (e.g. the members SPOP removed: each once, in any order).
//!
//! Command names compare case-insensitively, other arguments exactly.

use crate::{ChildServer, InProcess, RealRedis, RespConn};
use bytes::Bytes;
use ferrodis_commands::engine::{EventListener, RecordingSink};
use ferrodis_resp::Frame;
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// How far an `@ms+N` expectation may be from the propagated time.
pub const TOLERANCE_MS: i64 = 3000;

/// Commands, and the propagation stream they must produce.
pub struct Case {
    pub name: &'static str,
    pub commands: &'static [&'static [&'static str]],
    pub expect: &'static [&'static [&'static str]],
}

/// Commands, and the keyspace events they must emit as `[event, key]` in order.
pub struct EventCase {
    pub name: &'static str,
    pub commands: &'static [&'static [&'static str]],
    /// `[event, key]` in order.
    pub expect: &'static [[&'static str; 2]],
}

/// Commands, and both the propagation stream and the keyspace events they must produce.
pub struct StreamEventCase {
    pub name: &'static str,
    pub commands: &'static [&'static [&'static str]],
    /// The propagated commands, in order.
    pub expect: &'static [&'static [&'static str]],
    /// The keyspace events as `event key`, in order.
    pub events: &'static [&'static str],
}

/// How a file's cases are run and compared.
#[derive(Clone, Copy, Default)]
pub struct Options {
    /// `DEBUG SET-ACTIVE-EXPIRE 0` first (for cases that observe lazy expiry).
    pub no_active_expire: bool,
    /// Compare commands only, whatever DB they were propagated in.
    pub any_db: bool,
}

/// Propagated commands with their DB.
pub type Stream = Vec<(usize, Vec<Bytes>)>;

/// Keyspace events as `(event, key)`.
pub type EventLog = Vec<(String, Vec<u8>)>;

pub fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}

/// Replace `@ms+N` / `@s+N` in a command argument.
pub fn expand(arg: &str, start_ms: i64) -> String {
    if let Some(n) = arg.strip_prefix("@ms+") {
        (start_ms + n.parse::<i64>().unwrap_or(0)).to_string()
    } else if let Some(n) = arg.strip_prefix("@s+") {
        (start_ms / 1000 + n.parse::<i64>().unwrap_or(0)).to_string()
    } else {
        arg.to_string()
    }
}

/// Run a case's commands on `conn` (see the pattern language); returns the replies, for
/// messages. Panics, naming the case, when a command gets no reply.
pub fn run_commands(
    conn: &mut RespConn,
    name: &str,
    commands: &[&[&str]],
    start_ms: i64,
) -> Vec<String> {
    let mut replies = Vec::new();
    for cmd in commands {
        if cmd[0] == "SLEEP" {
            let ms = cmd.get(1).and_then(|m| m.parse().ok()).unwrap_or(0);
            std::thread::sleep(Duration::from_millis(ms));
            continue;
        }
        let args: Vec<String> = cmd.iter().map(|a| expand(a, start_ms)).collect();
        let argv: Vec<&[u8]> = args.iter().map(|a| a.as_bytes()).collect();
        match conn.cmd(&argv) {
            Ok(f) => replies.push(format!("{} -> {f:?}", args.join(" "))),
            Err(e) => panic!("[{name}] {}: {e}", args.join(" ")),
        }
    }
    replies
}

pub fn show(stream: &Stream) -> String {
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

/// Compare a stream with expectations; `Err` explains the difference.
pub fn check_stream(
    expect: &[&[&str]],
    got: &Stream,
    start_ms: i64,
    opts: Options,
) -> Result<(), String> {
    let fail = |why: String| {
        Err(format!(
            "{why}\n  expected:\n{}  got:\n{}",
            expect
                .iter()
                .map(|e| format!("    {}\n", e.join(" ")))
                .collect::<String>(),
            show(got)
        ))
    };
    if got.len() != expect.len() {
        return fail(format!(
            "{} commands propagated, expected {}",
            got.len(),
            expect.len()
        ));
    }
    let mut used: Vec<Vec<u8>> = Vec::new();
    for (i, ((db, argv), want)) in got.iter().zip(expect.iter()).enumerate() {
        let (want_db, want_args) = match want.first().and_then(|w| w.strip_prefix("@db")) {
            Some(n) => (n.parse::<usize>().unwrap_or(usize::MAX), &want[1..]),
            None => (0, &want[..]),
        };
        if !opts.any_db && *db != want_db {
            return fail(format!("command {i}: db {db}, expected db {want_db}"));
        }
        if argv.len() != want_args.len() {
            return fail(format!("command {i}: wrong argument count"));
        }
        for (j, (got_arg, want_arg)) in argv.iter().zip(want_args.iter()).enumerate() {
            let ok = if let Some(n) = want_arg.strip_prefix("@ms+") {
                let target = start_ms + n.parse::<i64>().unwrap_or(0);
                std::str::from_utf8(got_arg)
                    .ok()
                    .and_then(|s| s.parse::<i64>().ok())
                    .is_some_and(|t| (t - target).abs() <= TOLERANCE_MS)
            } else if let Some(list) = want_arg.strip_prefix("@in:") {
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

/// A [`StreamEventCase`]'s stream and events; `Err` explains the difference.
pub fn check_stream_events(
    case: &StreamEventCase,
    got: &Stream,
    events: &[String],
) -> Result<(), String> {
    let with_events = |why: String| {
        format!(
            "{why}  expected events: {:?}\n  got events:      {:?}",
            case.events, events
        )
    };
    check_stream(case.expect, got, 0, Options::default()).map_err(with_events)?;
    if events != case.events {
        return Err(with_events("keyspace events differ\n".into()));
    }
    Ok(())
}

/// Records the engine's keyspace events as `(db, event, key)`.
#[derive(Default)]
pub struct Events(Mutex<Vec<(usize, String, Vec<u8>)>>);

impl EventListener for Events {
    fn keyspace_event(&self, _class: u32, event: &str, key: &[u8], db: usize) {
        self.lock().push((db, event.to_string(), key.to_vec()));
    }
}

impl Events {
    fn lock(&self) -> std::sync::MutexGuard<'_, Vec<(usize, String, Vec<u8>)>> {
        self.0.lock().unwrap_or_else(|e| e.into_inner())
    }

    pub fn clear(&self) {
        self.lock().clear();
    }

    /// The events recorded since the last clear/take (of every DB), and clear them.
    pub fn take(&self) -> EventLog {
        std::mem::take(&mut *self.lock())
            .into_iter()
            .map(|(_, e, k)| (e, k))
            .collect()
    }

    /// Like [`Events::take`], keeping the events of `db` only.
    pub fn take_db(&self, db: usize) -> EventLog {
        std::mem::take(&mut *self.lock())
            .into_iter()
            .filter(|(d, _, _)| *d == db)
            .map(|(_, e, k)| (e, k))
            .collect()
    }
}

/// `event key` lines, as [`StreamEventCase::events`] writes them.
pub fn event_lines(log: &EventLog) -> Vec<String> {
    log.iter()
        .map(|(e, k)| format!("{e} {}", String::from_utf8_lossy(k)))
        .collect()
}

/// Our server with a [`RecordingSink`] and an [`Events`] listener attached to its engine.
pub struct Recorded {
    pub server: InProcess,
    pub sink: Arc<RecordingSink>,
    pub events: Arc<Events>,
}

impl Recorded {
    pub fn start() -> Recorded {
        let server = InProcess::start().expect("start ferrodis");
        let running = server.server().expect("running");
        let sink = Arc::new(RecordingSink::default());
        running.engine().propagation.attach(sink.clone());
        let events = Arc::new(Events::default());
        running.engine().set_event_listener(events.clone());
        Recorded {
            server,
            sink,
            events,
        }
    }

    pub fn connect(&self) -> RespConn {
        self.server.connect().expect("connect")
    }

    /// The commands propagated since the last call, and clear them.
    pub fn take_stream(&self) -> Stream {
        std::mem::take(&mut *self.sink.log.lock())
            .into_iter()
            .map(|p| (p.db, p.argv))
            .collect()
    }
}

/// Debian's redis-server with the given extra options, or `None` when it is not installed
/// (and this is not CI).
pub fn real_redis(extra: &[&str]) -> Option<ChildServer> {
    match RealRedis::start(extra) {
        Ok(r) => r,
        Err(e) => panic!("start redis-server: {e}"),
    }
}

/// A connection attached to a server as a replica through `SYNC`.
pub struct Replica {
    conn: RespConn,
    db: usize,
}

impl Replica {
    pub fn attach(server: &ChildServer) -> Replica {
        let mut conn = server.connect().expect("connect");
        conn.send(&[b"SYNC"]).expect("SYNC");
        conn.read_sync_payload().expect("snapshot");
        Replica { conn, db: 0 }
    }

    /// The replication stream up to the next `FLUSHALL` (PINGs, SELECTs and `SET skip_key`
    /// left out; SELECT sets the DB of what follows).
    pub fn read_until_flushall(&mut self, skip_key: Option<&str>) -> Stream {
        let mut got: Stream = Vec::new();
        loop {
            let frame = self.conn.read_frame().expect("replication stream");
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
                    self.db = argv
                        .get(1)
                        .and_then(|d| std::str::from_utf8(d).ok())
                        .and_then(|d| d.parse().ok())
                        .unwrap_or(usize::MAX);
                }
                Some(b"FLUSHALL") => break,
                Some(b"SET")
                    if skip_key
                        .is_some_and(|s| argv.get(1).is_some_and(|k| &k[..] == s.as_bytes())) => {}
                _ => got.push((self.db, argv)),
            }
        }
        got
    }
}

pub fn flushall(conn: &mut RespConn) {
    assert!(matches!(conn.cmd(&[b"FLUSHALL"]), Ok(Frame::Simple(_))));
}

fn no_active_expire(conn: &mut RespConn) {
    let r = conn.cmd(&[b"DEBUG", b"SET-ACTIVE-EXPIRE", b"0"]);
    assert_eq!(r.ok(), Some(Frame::Simple(Bytes::from_static(b"OK"))));
}

/// `CONFIG SET notify-keyspace-events <flags>`.
pub fn enable_events(conn: &mut RespConn, flags: &str) {
    let r = conn.cmd(&[
        b"CONFIG",
        b"SET",
        b"notify-keyspace-events",
        flags.as_bytes(),
    ]);
    assert!(
        matches!(r, Ok(Frame::Simple(_))),
        "CONFIG SET notify-keyspace-events: {r:?}"
    );
}

fn failure(name: &str, why: &str, replies: &[String]) -> String {
    format!("[{name}] {why}  replies:\n    {}", replies.join("\n    "))
}

/// Every case's stream on ferrodis matches its expectations.
pub fn assert_ferrodis_propagates(cases: &[Case], opts: Options) {
    let ours = Recorded::start();
    let mut admin = ours.connect();
    if opts.no_active_expire {
        // Lazy expiry is what the expiry cases observe; keep the cron away.
        no_active_expire(&mut admin);
    }
    let mut failures = Vec::new();
    for case in cases {
        ours.take_stream();
        let start = now_ms();
        let mut conn = ours.connect();
        let replies = run_commands(&mut conn, case.name, case.commands, start);
        let got = ours.take_stream();
        if let Err(why) = check_stream(case.expect, &got, start, opts) {
            failures.push(failure(case.name, &why, &replies));
        }
        flushall(&mut admin);
    }
    assert!(
        failures.is_empty(),
        "{} of {} cases differ:\n{}",
        failures.len(),
        cases.len(),
        failures.join("\n")
    );
}

/// The same cases on Debian's redis-server, read as a replica: proves the expectations are
/// Redis 7.0's. Returns early (see [`RealRedis::start`]) when it is not installed.
pub fn assert_redis_propagates(cases: &[Case], opts: Options) {
    let Some(real) = real_redis(&["--repl-diskless-sync", "no"]) else {
        return;
    };
    let mut admin = real.connect().expect("connect");
    if opts.no_active_expire {
        no_active_expire(&mut admin);
    }
    let mut replica = Replica::attach(&real);
    let mut failures = Vec::new();
    for case in cases {
        let start = now_ms();
        let mut conn = real.connect().expect("connect");
        let replies = run_commands(&mut conn, case.name, case.commands, start);
        flushall(&mut admin);
        // Everything up to our FLUSHALL belongs to this case.
        let got = replica.read_until_flushall(None);
        if let Err(why) = check_stream(case.expect, &got, start, opts) {
            failures.push(failure(case.name, &why, &replies));
        }
    }
    assert!(
        failures.is_empty(),
        "real Redis disagrees with {} cases (test bug):\n{}",
        failures.len(),
        failures.join("\n")
    );
}

fn events_match(case: &EventCase, got: &EventLog, replies: &[String]) -> Option<String> {
    let same = got.len() == case.expect.len()
        && got
            .iter()
            .zip(case.expect)
            .all(|((e, k), [we, wk])| e == we && &k[..] == wk.as_bytes());
    (!same).then(|| {
        let got = event_lines(got);
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

/// Every case's keyspace events on ferrodis (notify-keyspace-events `EA`) match.
pub fn assert_ferrodis_events(cases: &[EventCase]) {
    let ours = Recorded::start();
    let mut admin = ours.connect();
    enable_events(&mut admin, "EA");
    let mut failures = Vec::new();
    for case in cases {
        flushall(&mut admin);
        ours.events.clear();
        let mut conn = ours.connect();
        let replies = run_commands(&mut conn, case.name, case.commands, now_ms());
        let got = ours.events.take();
        failures.extend(events_match(case, &got, &replies));
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

/// The same cases on Debian's redis-server through a keyevent subscriber: proves the
/// expectations are Redis 7.0's.
pub fn assert_redis_events(cases: &[EventCase]) {
    let Some(real) = real_redis(&["--notify-keyspace-events", "EA"]) else {
        return;
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
    for case in cases {
        flushall(&mut admin);
        let mut conn = real.connect().expect("connect");
        let replies = run_commands(&mut conn, case.name, case.commands, now_ms());
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

/// A keyevent subscriber (`PSUBSCRIBE __keyevent@0__:*`); a `SET end_key` closes a case.
pub struct KeyeventSubscriber {
    conn: RespConn,
    end_key: &'static str,
}

impl KeyeventSubscriber {
    pub fn subscribe(server: &ChildServer, end_key: &'static str) -> KeyeventSubscriber {
        let mut conn = server.connect().expect("connect");
        let r = conn.cmd(&[b"PSUBSCRIBE", b"__keyevent@0__:*"]);
        assert!(matches!(r, Ok(Frame::Array(_))), "PSUBSCRIBE: {r:?}");
        KeyeventSubscriber { conn, end_key }
    }

    /// `SET end_key` on `conn`, then the events read up to its `set`.
    pub fn case_events(&mut self, conn: &mut RespConn) -> EventLog {
        let r = conn.cmd(&[b"SET", self.end_key.as_bytes(), b"x"]);
        assert!(matches!(r, Ok(Frame::Simple(_))), "SET end key: {r:?}");
        let mut got = Vec::new();
        loop {
            let Ok(Frame::Array(items)) = self.conn.read_frame() else {
                panic!("unexpected frame on the subscription");
            };
            let [_, _, Frame::Bulk(channel), Frame::Bulk(key)] = &items[..] else {
                panic!("unexpected pmessage {items:?}");
            };
            let event = channel
                .splitn(2, |&c| c == b':')
                .nth(1)
                .map(|e| String::from_utf8_lossy(e).into_owned())
                .unwrap_or_default();
            if event == "set" && &key[..] == self.end_key.as_bytes() {
                return got;
            }
            got.push((event, key.to_vec()));
        }
    }
}

const END_KEY: &str = "__end__";

/// Every case's stream and events (notify-keyspace-events `KEA`) on ferrodis match.
pub fn assert_ferrodis_stream_events(cases: &[StreamEventCase]) {
    let ours = Recorded::start();
    let mut admin = ours.connect();
    enable_events(&mut admin, "KEA");
    let mut failures = Vec::new();
    for case in cases {
        ours.take_stream();
        ours.events.clear();
        let mut conn = ours.connect();
        let replies = run_commands(&mut conn, case.name, case.commands, now_ms());
        let got = ours.take_stream();
        let seen = event_lines(&ours.events.take());
        if let Err(why) = check_stream_events(case, &got, &seen) {
            failures.push(failure(case.name, &why, &replies));
        }
        flushall(&mut admin);
    }
    assert!(
        failures.is_empty(),
        "{} of {} cases differ:\n{}",
        failures.len(),
        cases.len(),
        failures.join("\n")
    );
}

/// The same cases on Debian's redis-server, read as a replica and a keyevent subscriber:
/// proves the expectations are Redis 7.0's.
pub fn assert_redis_stream_events(cases: &[StreamEventCase]) {
    let Some(real) = real_redis(&["--repl-diskless-sync", "no"]) else {
        return;
    };
    let mut admin = real.connect().expect("connect");
    enable_events(&mut admin, "KEA");
    let mut sub = KeyeventSubscriber::subscribe(&real, END_KEY);
    let mut replica = Replica::attach(&real);
    let mut failures = Vec::new();
    for case in cases {
        let mut conn = real.connect().expect("connect");
        let replies = run_commands(&mut conn, case.name, case.commands, now_ms());
        // A marker event closes the case's events; FLUSHALL closes its stream.
        let seen = event_lines(&sub.case_events(&mut admin));
        flushall(&mut admin);
        let got = replica.read_until_flushall(Some(END_KEY));
        if let Err(why) = check_stream_events(case, &got, &seen) {
            failures.push(failure(case.name, &why, &replies));
        }
    }
    assert!(
        failures.is_empty(),
        "real Redis disagrees with {} cases (test bug):\n{}",
        failures.len(),
        failures.join("\n")
    );
}
