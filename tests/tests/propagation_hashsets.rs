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

use ferrodis_tests::propagation::{
    assert_ferrodis_events, assert_ferrodis_propagates, assert_redis_events,
    assert_redis_propagates, Case, EventCase, Options,
};

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

#[test]
fn ferrodis_propagates_redis_forms() {
    assert_ferrodis_propagates(CASES, Options::default());
}

/// The same cases on Debian's redis-server, read as a replica: proves the expectations above
/// are Redis 7.0's.
#[test]
fn expectations_hold_on_real_redis() {
    assert_redis_propagates(CASES, Options::default());
}

// ---- keyspace events ------------------------------------------------------------------------

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

#[test]
fn ferrodis_emits_redis_keyspace_events() {
    assert_ferrodis_events(EVENT_CASES);
}

/// The same cases on Debian's redis-server through a keyevent subscriber: proves the
/// expectations above are Redis 7.0's.
#[test]
fn event_expectations_hold_on_real_redis() {
    assert_redis_events(EVENT_CASES);
}
