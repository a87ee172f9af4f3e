//! The propagation stream (what AOF and replicas receive) of the HyperLogLog commands has Redis
//! 7.0's forms: PFADD and PFMERGE propagate as they are when they change something, PFCOUNT of
//! one key propagates when it wrote a fresh cached cardinality into the value (it is a string
//! modified in place), PFDEBUG TODENSE/GETREG when they converted a sparse value, and reads or
//! no-op writes propagate nothing.
//!
//! Every case runs on ferrodis with a `RecordingSink` attached to the engine and, when Debian's
//! redis-server is installed, on Redis too, read as a replica through `SYNC`: the same
//! expectations must hold for both, which keeps them honest.
//!
//! The keyspace events are checked the same way (ferrodis through an engine event listener,
//! Redis through a `PSUBSCRIBE __keyevent@0__:*` client): PFADD and PFMERGE both emit `pfadd`.

use ferrodis_tests::propagation::{
    assert_ferrodis_events, assert_ferrodis_propagates, assert_redis_events,
    assert_redis_propagates, Case, EventCase, Options,
};

const CASES: &[Case] = &[
    Case {
        name:
            "PFADD as it is, also creating an empty HLL; PFADD changing nothing propagates nothing",
        commands: &[
            &["PFADD", "h", "a", "b", "c"],
            &["PFADD", "h", "a", "b", "c"],
            &["PFADD", "h2"],
            &["PFADD", "h2"],
            &["SET", "s", "plain"],
            &["PFADD", "s", "x"],
        ],
        expect: &[
            &["PFADD", "h", "a", "b", "c"],
            &["PFADD", "h2"],
            &["SET", "s", "plain"],
        ],
    },
    Case {
        name: "PFCOUNT of one key propagates when it refreshes the cache; a valid cache and \
               multi-key PFCOUNT propagate nothing",
        commands: &[
            &["PFADD", "{k}h", "a"],
            &["PFCOUNT", "{k}h"],
            &["PFCOUNT", "{k}h"],
            &["PFCOUNT", "{k}h", "{k}nokey"],
            &["PFCOUNT", "{k}nokey"],
        ],
        expect: &[&["PFADD", "{k}h", "a"], &["PFCOUNT", "{k}h"]],
    },
    Case {
        name: "PFMERGE as it is, onto a missing or existing destination; errors propagate nothing",
        commands: &[
            &["PFADD", "{k}a", "x"],
            &["PFMERGE", "{k}d", "{k}a"],
            &["PFMERGE", "{k}d", "{k}a", "{k}missing"],
            &["SET", "{k}s", "foo"],
            &["PFMERGE", "{k}d", "{k}s"],
        ],
        expect: &[
            &["PFADD", "{k}a", "x"],
            &["PFMERGE", "{k}d", "{k}a"],
            &["PFMERGE", "{k}d", "{k}a", "{k}missing"],
            &["SET", "{k}s", "foo"],
        ],
    },
    Case {
        name: "PFDEBUG TODENSE and GETREG propagate when they convert; ENCODING and DECODE never",
        commands: &[
            &["PFADD", "h", "a"],
            &["PFDEBUG", "DECODE", "h"],
            &["PFDEBUG", "TODENSE", "h"],
            &["PFDEBUG", "TODENSE", "h"],
            &["PFDEBUG", "ENCODING", "h"],
            &["PFDEBUG", "GETREG", "h"],
            &["PFADD", "h2", "b"],
            &["PFDEBUG", "GETREG", "h2"],
        ],
        expect: &[
            &["PFADD", "h", "a"],
            &["PFDEBUG", "TODENSE", "h"],
            &["PFADD", "h2", "b"],
            &["PFDEBUG", "GETREG", "h2"],
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

const EVENT_CASES: &[EventCase] = &[EventCase {
    name: "PFADD and PFMERGE emit pfadd; no-ops and PFCOUNT nothing",
    commands: &[
        &["PFADD", "{k}h", "a"],
        &["PFADD", "{k}h", "a"],
        &["PFADD", "{k}h2"],
        &["PFMERGE", "{k}h3", "{k}h", "{k}h2"],
        &["PFCOUNT", "{k}h3"],
        &["PFCOUNT", "{k}h", "{k}h2"],
        &["PFDEBUG", "TODENSE", "{k}h"],
    ],
    expect: &[["pfadd", "{k}h"], ["pfadd", "{k}h2"], ["pfadd", "{k}h3"]],
}];

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
