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
//! Pattern language of expectations (arguments after the command name):
//! - `@in:a|b|c` matches any one of the listed values;
//! - `@uniq:a|b|c` matches one of the listed values not matched by another `@uniq` argument of
//!   the same case (the members SPOP removed: each once, in any order).

use bytes::Bytes;
use ferrodis_commands::engine::RecordingSink;
use ferrodis_resp::Frame;
use ferrodis_tests::{InProcess, RealRedis, RespConn};
use std::sync::Arc;

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
