//! The propagation stream and keyspace events of the bitmap commands have Redis 7.0's forms:
//! SETBIT propagates as it is when it created the key, grew it or flipped the bit, and nothing
//! otherwise; BITOP as it is when it stored a result or deleted the destination (an empty
//! result over a missing destination propagates nothing); BITFIELD as it is when some write
//! changed a field or the string grew, nothing for GET-only or no-op calls (even when OVERFLOW
//! FAIL created the key without writing); BITFIELD_RO and the reads never. Events: `setbit`
//! (once per BITFIELD call), BITOP's `set` or `del`.
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
        name: "SETBIT as it is when something changed; reads and errors propagate nothing",
        commands: &[
            &["SETBIT", "k", "3", "1"],
            &["SETBIT", "k", "3", "1"],
            &["SETBIT", "k", "3", "0"],
            &["SETBIT", "k", "20", "0"],
            &["SETBIT", "k", "20", "0"],
            &["GETBIT", "k", "3"],
            &["SETBIT", "k", "-1", "1"],
            &["SETBIT", "k", "1", "2"],
            &["BITCOUNT", "k"],
            &["BITPOS", "k", "1", "0", "-1", "BIT"],
            &["SET", "s", "abc"],
            &["SETBIT", "s", "1", "1"],
            &["SETBIT", "s", "1", "1"],
        ],
        expect: &[
            &["SETBIT", "k", "3", "1"],
            &["SETBIT", "k", "3", "0"],
            &["SETBIT", "k", "20", "0"],
            &["SET", "s", "abc"],
        ],
    },
    Case {
        name: "BITOP as it is when it stored or deleted",
        commands: &[
            &["SET", "a", "abc"],
            &["BITOP", "AND", "d", "a", "b"],
            &["BITOP", "NOT", "d", "a"],
            &["BITOP", "OR", "d", "m1", "m2"],
            &["BITOP", "OR", "d", "m1"],
            &["RPUSH", "l", "x"],
            &["BITOP", "AND", "d", "a", "l"],
            &["BITOP", "NOT", "d", "a", "b"],
            &["BITOP", "NAND", "d", "a"],
        ],
        expect: &[
            &["SET", "a", "abc"],
            &["BITOP", "AND", "d", "a", "b"],
            &["BITOP", "NOT", "d", "a"],
            &["BITOP", "OR", "d", "m1", "m2"],
            &["RPUSH", "l", "x"],
        ],
    },
    Case {
        name: "BITFIELD as it is when a write changed something; GETs and no-ops nothing",
        commands: &[
            &["BITFIELD", "f", "GET", "u8", "0"],
            &["BITFIELD", "f", "SET", "u8", "0", "5"],
            &["BITFIELD", "f", "SET", "u8", "0", "5", "GET", "u8", "0"],
            &["BITFIELD", "f", "INCRBY", "u8", "0", "0"],
            &[
                "BITFIELD", "f", "INCRBY", "u8", "0", "1", "INCRBY", "i4", "#3", "2",
            ],
            &[
                "BITFIELD", "f", "OVERFLOW", "FAIL", "INCRBY", "u8", "0", "300",
            ],
            &["BITFIELD", "g", "OVERFLOW", "FAIL", "SET", "u2", "0", "9"],
            &["BITFIELD", "f", "SET", "u8", "64", "0"],
            &["BITFIELD_RO", "f", "GET", "u8", "0"],
            &["BITFIELD_RO", "f", "SET", "u8", "0", "1"],
            &["BITFIELD", "f", "SET", "u64", "0", "1"],
        ],
        expect: &[
            &["BITFIELD", "f", "SET", "u8", "0", "5"],
            &[
                "BITFIELD", "f", "INCRBY", "u8", "0", "1", "INCRBY", "i4", "#3", "2",
            ],
            &["BITFIELD", "f", "SET", "u8", "64", "0"],
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
        name: "SETBIT and BITFIELD: setbit when something changed",
        commands: &[
            &["SETBIT", "k", "3", "1"],
            &["SETBIT", "k", "3", "1"],
            &["SETBIT", "k", "30", "0"],
            &[
                "BITFIELD", "k", "SET", "u8", "0", "1", "SET", "u8", "8", "2",
            ],
            &["BITFIELD", "k", "SET", "u8", "0", "1"],
            &["BITFIELD", "k", "GET", "u8", "0"],
            &["BITFIELD", "n", "OVERFLOW", "FAIL", "SET", "u2", "0", "9"],
        ],
        expect: &[["setbit", "k"], ["setbit", "k"], ["setbit", "k"]],
    },
    EventCase {
        name: "BITOP: set, or del for an empty result",
        commands: &[
            &["SET", "a", "x"],
            &["EXPIRE", "a", "100"],
            &["BITOP", "XOR", "d", "a", "a"],
            &["BITOP", "AND", "d", "m"],
            &["BITOP", "AND", "d", "m"],
        ],
        expect: &[["set", "a"], ["expire", "a"], ["set", "d"], ["del", "d"]],
    },
    EventCase {
        name: "BITOP with an empty result deletes an expired destination as a plain del",
        commands: &[
            &["DEBUG", "SET-ACTIVE-EXPIRE", "0"],
            &["SET", "d", "x", "PX", "1"],
            &["DEBUG", "SLEEP", "0.02"],
            &["BITOP", "AND", "d", "missing"],
            &["EXISTS", "d"],
            &["DEBUG", "SET-ACTIVE-EXPIRE", "1"],
        ],
        expect: &[["set", "d"], ["expire", "d"], ["del", "d"]],
    },
    EventCase {
        name: "BITOP storing over an expired destination expires it first",
        commands: &[
            &["DEBUG", "SET-ACTIVE-EXPIRE", "0"],
            &["SET", "a", "x"],
            &["SET", "d", "x", "PX", "1"],
            &["DEBUG", "SLEEP", "0.02"],
            &["BITOP", "OR", "d", "a"],
            &["DEBUG", "SET-ACTIVE-EXPIRE", "1"],
        ],
        expect: &[
            ["set", "a"],
            ["set", "d"],
            ["expire", "d"],
            ["expired", "d"],
            ["set", "d"],
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
