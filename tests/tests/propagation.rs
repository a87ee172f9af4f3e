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
//! - in expectations, `@ms+N` matches an integer within `TOLERANCE_MS` (ferrodis_tests::propagation) of
//!   (time the case started + N); a leading `@dbN` element sets the expected DB
//!   (0 otherwise).

use ferrodis_tests::propagation::{
    assert_ferrodis_propagates, assert_redis_propagates, Case, Options,
};

/// Lazy expiry is what the expiry cases observe; keep the cron away.
const OPTIONS: Options = Options {
    no_active_expire: true,
    any_db: false,
};

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

#[test]
fn ferrodis_propagates_redis_forms() {
    assert_ferrodis_propagates(CASES, OPTIONS);
}

/// The same cases on Debian's redis-server, read as a replica: proves the
/// expectations above are Redis 7.0's.
#[test]
fn expectations_hold_on_real_redis() {
    assert_redis_propagates(CASES, OPTIONS);
}
