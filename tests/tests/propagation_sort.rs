//! The propagation stream and keyspace events of SORT / SORT_RO and of the generic key commands
//! on collections have Redis 7.0's forms: SORT ... STORE propagates as it is when it stored a
//! list or deleted the destination, and nothing otherwise (no STORE, SORT_RO, an empty result
//! over a missing destination, an error); it emits `sortstore`, or `del` when an empty result
//! deletes the destination. COPY, RENAME and MOVE of collections propagate as they are.
//!
//! Every case runs on ferrodis with a `RecordingSink` (and an event listener) attached to the
//! engine and, when Debian's redis-server is installed, on Redis too, read as a replica through
//! `SYNC` (events through a `PSUBSCRIBE __keyevent@0__:*` client): the same expectations must
//! hold for both, which keeps them honest.

use ferrodis_tests::propagation::{
    assert_ferrodis_events, assert_ferrodis_propagates, assert_redis_events,
    assert_redis_propagates, Case, EventCase, Options,
};

const CASES: &[Case] = &[
    Case {
        name: "SORT STORE as it is; reads, SORT_RO, no-op and failed stores propagate nothing",
        commands: &[
            &["SADD", "s", "3", "1", "2"],
            &["SORT", "s"],
            &["SORT_RO", "s", "BY", "nosort"],
            &["SORT", "s", "STORE", "d"],
            &["SORT", "s", "LIMIT", "5", "5", "STORE", "d"],
            &["SORT", "s", "LIMIT", "5", "5", "STORE", "d"],
            &["SORT", "missing", "STORE", "d"],
            &["SORT", "s", "BY", "nosort", "STORE", "d"],
            &["SADD", "x", "a"],
            &["SORT", "x", "STORE", "d"],
            &["SORT_RO", "s", "STORE", "d"],
            &["ZADD", "z", "1", "a", "2", "b"],
            &[
                "SORT", "z", "BY", "nosort", "DESC", "GET", "#", "GET", "w_*", "STORE", "d",
            ],
        ],
        expect: &[
            &["SADD", "s", "3", "1", "2"],
            &["SORT", "s", "STORE", "d"],
            &["SORT", "s", "LIMIT", "5", "5", "STORE", "d"],
            &["SORT", "s", "BY", "nosort", "STORE", "d"],
            &["SADD", "x", "a"],
            &["ZADD", "z", "1", "a", "2", "b"],
            &[
                "SORT", "z", "BY", "nosort", "DESC", "GET", "#", "GET", "w_*", "STORE", "d",
            ],
        ],
    },
    Case {
        name: "COPY, RENAME, MOVE of collections as they are",
        commands: &[
            &["SADD", "s", "a", "b"],
            &["HSET", "h", "f", "v"],
            &["ZADD", "z", "1", "m"],
            &["COPY", "s", "s2"],
            &["COPY", "s", "s2"],
            &["COPY", "h", "h2", "DB", "1"],
            &["RENAME", "z", "z2"],
            &["MOVE", "s2", "2"],
        ],
        expect: &[
            &["SADD", "s", "a", "b"],
            &["HSET", "h", "f", "v"],
            &["ZADD", "z", "1", "m"],
            &["COPY", "s", "s2"],
            &["COPY", "h", "h2", "DB", "1"],
            &["RENAME", "z", "z2"],
            &["MOVE", "s2", "2"],
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
        name: "SORT STORE: sortstore, or del for an empty result",
        commands: &[
            &["SADD", "s", "3", "1", "2"],
            &["SORT", "s", "STORE", "d"],
            &["SORT", "s", "ALPHA", "LIMIT", "1", "1", "STORE", "d"],
            &["SORT", "s", "LIMIT", "9", "1", "STORE", "d"],
            &["SORT", "s", "LIMIT", "9", "1", "STORE", "d"],
            &["SORT", "s"],
            &["SET", "str", "x"],
            &["SORT", "s", "STORE", "str"],
            &["SADD", "bad", "a"],
            &["SORT", "bad", "STORE", "str"],
        ],
        expect: &[
            ["sadd", "s"],
            ["sortstore", "d"],
            ["sortstore", "d"],
            ["del", "d"],
            ["set", "str"],
            ["sortstore", "str"],
            ["sadd", "bad"],
        ],
    },
    EventCase {
        name: "COPY and RENAME of collections",
        commands: &[
            &["ZADD", "z", "1", "a"],
            &["COPY", "z", "z2"],
            &["RENAME", "z2", "z3"],
            &["HSET", "h", "f", "v"],
            &["COPY", "h", "z3", "REPLACE"],
        ],
        expect: &[
            ["zadd", "z"],
            ["copy_to", "z2"],
            ["rename_from", "z2"],
            ["rename_to", "z3"],
            ["hset", "h"],
            ["copy_to", "z3"],
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
