//! The propagation stream (what AOF and replicas receive) has Redis 7.0's forms:
//! relative expiries become absolute, GET options are dropped, failed or no-op
//! commands propagate nothing, lazily expired keys propagate a DEL.
//!
//! Every case runs on ferrodis with a `RecordingSink` attached to the engine,
//! and, when Debian's redis-server is installed, on Redis too, read as a replica
//! through `SYNC`: the same expectations must hold for both, which keeps the
//! expectations honest.
//!
//! Pattern language of the cases:
//! - in commands, `@ms+N` is the current Unix time in ms plus N, `@s+N` in seconds;
//!   the pseudo-command `SLEEP n` sleeps n ms instead of being sent;
//! - in expectations, `@ms+N` matches an integer within [`TOLERANCE_MS`] of
//!   (time the case started + N); a leading `@dbN` element sets the expected DB
//!   (0 otherwise).

use bytes::Bytes;
use ferrodis_commands::engine::RecordingSink;
use ferrodis_resp::Frame;
use ferrodis_tests::{InProcess, RealRedis, RespConn};
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

const TOLERANCE_MS: i64 = 3000;

struct Case {
    name: &'static str,
    commands: &'static [&'static [&'static str]],
    expect: &'static [&'static [&'static str]],
}

const CASES: &[Case] = &[
    Case {
        name: "SET EX becomes SET PXAT",
        commands: &[&["SET", "k", "v", "EX", "10"]],
        expect: &[&["SET", "k", "v", "PXAT", "@ms+10000"]],
    },
    Case {
        name: "SET PX / EXAT / PXAT, SETEX, PSETEX become SET PXAT",
        commands: &[
            &["SET", "a", "v", "PX", "5000"],
            &["SET", "b", "v", "EXAT", "@s+100"],
            &["SET", "c", "v", "PXAT", "@ms+20000"],
            &["SETEX", "d", "30", "v"],
            &["PSETEX", "e", "40000", "v"],
        ],
        expect: &[
            &["SET", "a", "v", "PXAT", "@ms+5000"],
            &["SET", "b", "v", "PXAT", "@ms+100000"],
            &["SET", "c", "v", "PXAT", "@ms+20000"],
            &["SET", "d", "v", "PXAT", "@ms+30000"],
            &["SET", "e", "v", "PXAT", "@ms+40000"],
        ],
    },
    Case {
        name: "SET with GET propagates without GET",
        commands: &[
            &["SET", "k", "v"],
            &["SET", "k", "w", "GET"],
            &["SET", "k", "x", "GET", "EX", "100"],
            &["SET", "k", "y", "KEEPTTL", "get"],
        ],
        expect: &[
            &["SET", "k", "v"],
            &["SET", "k", "w"],
            &["SET", "k", "x", "PXAT", "@ms+100000"],
            &["SET", "k", "y", "KEEPTTL"],
        ],
    },
    Case {
        name: "EXPIRE family becomes PEXPIREAT, options kept",
        commands: &[
            &["SET", "k", "v"],
            &["EXPIRE", "k", "100"],
            &["PEXPIRE", "k", "200000", "GT"],
            &["EXPIREAT", "k", "@s+300", "XX"],
            &["PEXPIREAT", "k", "@ms+400000"],
            &["EXPIRE", "k", "10", "GT"],
            &["EXPIRE", "missing", "10"],
        ],
        expect: &[
            &["SET", "k", "v"],
            &["PEXPIREAT", "k", "@ms+100000"],
            &["PEXPIREAT", "k", "@ms+200000", "GT"],
            &["PEXPIREAT", "k", "@ms+300000", "XX"],
            &["PEXPIREAT", "k", "@ms+400000"],
        ],
    },
    Case {
        name: "EXPIRE in the past becomes DEL",
        commands: &[
            &["SET", "a", "v"],
            &["EXPIRE", "a", "-1"],
            &["SET", "b", "v"],
            &["EXPIREAT", "b", "1"],
            &["SET", "c", "v"],
            &["PEXPIRE", "c", "0"],
        ],
        expect: &[
            &["SET", "a", "v"],
            &["DEL", "a"],
            &["SET", "b", "v"],
            &["DEL", "b"],
            &["SET", "c", "v"],
            &["DEL", "c"],
        ],
    },
    Case {
        name: "GETEX: EX becomes PEXPIREAT, PERSIST stays, past EXAT becomes DEL",
        commands: &[
            &["SET", "k", "v"],
            &["GETEX", "k"],
            &["GETEX", "k", "PERSIST"],
            &["GETEX", "k", "EX", "100"],
            &["GETEX", "k", "PERSIST"],
            &["GETEX", "k", "PX", "5000"],
            &["GETEX", "k", "EXAT", "1"],
            &["GETEX", "k", "EX", "100"],
        ],
        expect: &[
            &["SET", "k", "v"],
            &["PEXPIREAT", "k", "@ms+100000"],
            &["PERSIST", "k"],
            &["PEXPIREAT", "k", "@ms+5000"],
            &["DEL", "k"],
        ],
    },
    Case {
        name: "MULTI/EXEC with several writes is one MULTI ... EXEC unit",
        commands: &[
            &["MULTI"],
            &["SET", "a", "1"],
            &["INCR", "a"],
            &["GET", "a"],
            &["RPUSH", "l", "x", "y"],
            &["EXEC"],
        ],
        expect: &[
            &["MULTI"],
            &["SET", "a", "1"],
            &["INCR", "a"],
            &["RPUSH", "l", "x", "y"],
            &["EXEC"],
        ],
    },
    Case {
        name: "MULTI/EXEC with one write, reads only, or discarded",
        commands: &[
            &["MULTI"],
            &["SET", "a", "1"],
            &["GET", "a"],
            &["EXEC"],
            &["MULTI"],
            &["GET", "a"],
            &["EXEC"],
            &["MULTI"],
            &["SET", "b", "2"],
            &["DISCARD"],
        ],
        expect: &[&["SET", "a", "1"]],
    },
    Case {
        name: "blocking pops inside MULTI do not block and propagate as pops",
        commands: &[
            &["RPUSH", "q", "a"],
            &["MULTI"],
            &["BLPOP", "q", "0"],
            &["BLPOP", "q", "0"],
            &["EXEC"],
        ],
        expect: &[&["RPUSH", "q", "a"], &["LPOP", "q"]],
    },
    Case {
        name: "INCRBYFLOAT becomes SET KEEPTTL",
        commands: &[
            &["INCRBYFLOAT", "f", "1.5"],
            &["SET", "g", "10", "EX", "100"],
            &["INCRBYFLOAT", "g", "0.1"],
            &["INCRBYFLOAT", "g", "5.0e3"],
        ],
        expect: &[
            &["SET", "f", "1.5", "KEEPTTL"],
            &["SET", "g", "10", "PXAT", "@ms+100000"],
            &["SET", "g", "10.1", "KEEPTTL"],
            &["SET", "g", "5010.10000000000000009", "KEEPTTL"],
        ],
    },
    Case {
        name: "GETSET becomes SET, GETDEL becomes DEL",
        commands: &[&["GETSET", "k", "v"], &["GETDEL", "k"], &["GETDEL", "k"]],
        expect: &[&["SET", "k", "v"], &["DEL", "k"]],
    },
    Case {
        name: "MSET, MSETNX, INCR, APPEND, SETRANGE, DEL, RENAME, COPY, MOVE as they are",
        commands: &[
            &["MSET", "a", "1", "b", "2"],
            &["MSETNX", "c", "3", "d", "4"],
            &["MSETNX", "c", "x", "e", "5"],
            &["INCR", "a"],
            &["INCRBY", "a", "10"],
            &["APPEND", "b", "xy"],
            &["SETRANGE", "b", "5", "z"],
            &["DEL", "c", "nokey"],
            &["DEL", "nokey"],
            &["RENAME", "d", "dd"],
            &["COPY", "dd", "ddd"],
            &["MOVE", "ddd", "2"],
            &["UNLINK", "dd"],
        ],
        expect: &[
            &["MSET", "a", "1", "b", "2"],
            &["MSETNX", "c", "3", "d", "4"],
            &["INCR", "a"],
            &["INCRBY", "a", "10"],
            &["APPEND", "b", "xy"],
            &["SETRANGE", "b", "5", "z"],
            &["DEL", "c", "nokey"],
            &["RENAME", "d", "dd"],
            &["COPY", "dd", "ddd"],
            &["MOVE", "ddd", "2"],
            &["UNLINK", "dd"],
        ],
    },
    Case {
        name: "failed and no-op commands propagate nothing",
        commands: &[
            &["SET", "k", "v"],
            &["INCR", "k"],
            &["SET", "k", "v", "NX", "XX"],
            &["SET", "k", "v", "EX", "0"],
            &["EXPIRE", "k", "abc"],
            &["SETNX", "k", "z"],
            &["SET", "k", "z", "NX"],
            &["SET", "nokey", "z", "XX"],
            &["PERSIST", "k"],
            &["GET", "k"],
            &["TOUCH", "k"],
            &["INCRBYFLOAT", "k", "1"],
            &["RENAME", "nokey", "x"],
            &["EXPIRE", "k", "100", "XX"],
        ],
        expect: &[&["SET", "k", "v"]],
    },
    Case {
        name: "a lazily expired key read by GET propagates DEL",
        commands: &[
            &["SET", "k", "v", "PX", "1"],
            &["SLEEP", "30"],
            &["GET", "k"],
            &["GET", "k"],
        ],
        expect: &[&["SET", "k", "v", "PXAT", "@ms+1"], &["DEL", "k"]],
    },
    Case {
        name: "a write to a lazily expired key: the DEL and the write in MULTI/EXEC",
        commands: &[
            &["SET", "k", "v", "PX", "1"],
            &["SLEEP", "30"],
            &["SET", "k", "w"],
        ],
        expect: &[
            &["SET", "k", "v", "PXAT", "@ms+1"],
            &["MULTI"],
            &["DEL", "k"],
            &["SET", "k", "w"],
            &["EXEC"],
        ],
    },
    Case {
        name: "the DB of each command",
        commands: &[
            &["SET", "k", "0"],
            &["SELECT", "3"],
            &["SET", "k", "3"],
            &["SWAPDB", "3", "4"],
            &["SELECT", "4"],
            &["INCR", "k"],
        ],
        expect: &[
            &["SET", "k", "0"],
            &["@db3", "SET", "k", "3"],
            &["@db3", "SWAPDB", "3", "4"],
            &["@db4", "INCR", "k"],
        ],
    },
];

fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}

/// Replace `@ms+N` / `@s+N` in a command argument.
fn expand(arg: &str, start_ms: i64) -> String {
    if let Some(n) = arg.strip_prefix("@ms+") {
        (start_ms + n.parse::<i64>().unwrap_or(0)).to_string()
    } else if let Some(n) = arg.strip_prefix("@s+") {
        (start_ms / 1000 + n.parse::<i64>().unwrap_or(0)).to_string()
    } else {
        arg.to_string()
    }
}

/// Run the commands of a case on `conn`; returns the replies, for messages.
fn run_commands(conn: &mut RespConn, case: &Case, start_ms: i64) -> Vec<String> {
    let mut replies = Vec::new();
    for cmd in case.commands {
        if cmd[0] == "SLEEP" {
            let ms = cmd.get(1).and_then(|m| m.parse().ok()).unwrap_or(0);
            std::thread::sleep(Duration::from_millis(ms));
            continue;
        }
        let args: Vec<String> = cmd.iter().map(|a| expand(a, start_ms)).collect();
        let argv: Vec<&[u8]> = args.iter().map(|a| a.as_bytes()).collect();
        match conn.cmd(&argv) {
            Ok(f) => replies.push(format!("{} -> {f:?}", args.join(" "))),
            Err(e) => panic!("[{}] {}: {e}", case.name, args.join(" ")),
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
fn matches(case: &Case, got: &Stream, start_ms: i64) -> Result<(), String> {
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
    for (i, ((db, argv), want)) in got.iter().zip(case.expect.iter()).enumerate() {
        let (want_db, want_args) = match want.first().and_then(|w| w.strip_prefix("@db")) {
            Some(n) => (n.parse::<usize>().unwrap_or(usize::MAX), &want[1..]),
            None => (0, &want[..]),
        };
        if *db != want_db {
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
    // Lazy expiry is what the expiry cases observe; keep the cron away.
    let r = admin.cmd(&[b"DEBUG", b"SET-ACTIVE-EXPIRE", b"0"]);
    assert_eq!(r.ok(), Some(Frame::Simple(Bytes::from_static(b"OK"))));
    let mut failures = Vec::new();
    for case in CASES {
        sink.log.lock().clear();
        let start = now_ms();
        let mut conn = server.connect().expect("connect");
        let replies = run_commands(&mut conn, case, start);
        let got: Stream = sink
            .log
            .lock()
            .iter()
            .map(|p| (p.db, p.argv.clone()))
            .collect();
        if let Err(why) = matches(case, &got, start) {
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

/// The same cases on Debian's redis-server, read as a replica: proves the
/// expectations above are Redis 7.0's.
#[test]
fn expectations_hold_on_real_redis() {
    let real = match RealRedis::start(&["--repl-diskless-sync", "no"]) {
        Ok(Some(r)) => r,
        Ok(None) => return,
        Err(e) => panic!("start redis-server: {e}"),
    };
    let mut admin = real.connect().expect("connect");
    let r = admin.cmd(&[b"DEBUG", b"SET-ACTIVE-EXPIRE", b"0"]);
    assert_eq!(r.ok(), Some(Frame::Simple(Bytes::from_static(b"OK"))));
    let mut replica = real.connect().expect("connect");
    replica.send(&[b"SYNC"]).expect("SYNC");
    replica.read_sync_payload().expect("snapshot");
    let mut db = 0usize;
    let mut failures = Vec::new();
    for case in CASES {
        let start = now_ms();
        let mut conn = real.connect().expect("connect");
        let replies = run_commands(&mut conn, case, start);
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
        if let Err(why) = matches(case, &got, start) {
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
