//! The propagation stream (what AOF and replicas receive) and the keyspace events of the
//! sorted-set commands have Redis 7.0's forms: writes propagate as they are unless they are
//! no-ops or errors; BZPOPMIN/BZPOPMAX served at once become `ZPOPMIN/ZPOPMAX key`; ZMPOP and
//! BZMPOP become `ZPOPMIN/ZPOPMAX key <count popped>`; the STORE commands propagate as they
//! are, also when they only delete their destination; reads (ZRANDMEMBER included) nothing.
//!
//! Every case runs on ferrodis, with a `RecordingSink` on the engine's propagation stream and
//! an event listener on its keyspace events, and, when Debian's redis-server is installed, on
//! Redis too: its stream is read as a replica through `SYNC` and its events through a
//! `PSUBSCRIBE __keyevent@0__:*` client. The same expectations must hold for both, which keeps
//! them honest.

use ferrodis_tests::propagation::{
    assert_ferrodis_stream_events, assert_redis_stream_events, StreamEventCase as Case,
};

const CASES: &[Case] = &[
    Case {
        name: "ZADD, ZINCRBY, ZREM, ZREMRANGEBY* as they are; no-ops and errors nothing",
        commands: &[
            &["ZADD", "z", "1", "a", "2", "b", "3", "c"],
            &["ZADD", "z", "1", "a"],
            &["ZADD", "z", "NX", "5", "a"],
            &["ZADD", "z", "XX", "5", "new"],
            &["ZADD", "z", "GT", "0", "a"],
            &["ZADD", "z", "CH", "1", "a", "9", "b"],
            &["ZINCRBY", "z", "1", "a"],
            &["ZADD", "z", "INCR", "1", "a"],
            &["ZADD", "z", "INCR", "-inf", "a"],
            &["ZINCRBY", "z", "+inf", "a"],
            &["ZADD", "z", "nan", "a"],
            &["ZREM", "z", "nope"],
            &["ZREM", "z", "c", "nope"],
            &["ZREMRANGEBYSCORE", "z", "100", "200"],
            &["ZREMRANGEBYRANK", "z", "0", "0"],
            &["ZADD", "l", "0", "x", "0", "y"],
            &["ZREMRANGEBYLEX", "l", "[x", "[y"],
            &["ZREM", "z", "b"],
            &["ZREM", "z", "b"],
        ],
        expect: &[
            &["ZADD", "z", "1", "a", "2", "b", "3", "c"],
            &["ZADD", "z", "CH", "1", "a", "9", "b"],
            &["ZINCRBY", "z", "1", "a"],
            &["ZADD", "z", "INCR", "1", "a"],
            &["ZADD", "z", "INCR", "-inf", "a"],
            &["ZREM", "z", "c", "nope"],
            &["ZREMRANGEBYRANK", "z", "0", "0"],
            &["ZADD", "l", "0", "x", "0", "y"],
            &["ZREMRANGEBYLEX", "l", "[x", "[y"],
            &["ZREM", "z", "b"],
        ],
        events: &[
            "zadd z",
            "zadd z",
            "zincr z",
            "zincr z",
            "zincr z",
            "zrem z",
            "zremrangebyrank z",
            "zadd l",
            "zremrangebylex l",
            "del l",
            "zrem z",
            "del z",
        ],
    },
    Case {
        name: "ZPOPMIN/ZPOPMAX as they are; BZPOPMIN/BZPOPMAX served at once become ZPOP*",
        commands: &[
            &[
                "ZADD", "z", "1", "a", "2", "b", "3", "c", "4", "d", "5", "e",
            ],
            &["ZPOPMIN", "z"],
            &["ZPOPMAX", "z", "2"],
            &["ZPOPMIN", "z", "0"],
            &["ZPOPMIN", "missing"],
            &["BZPOPMIN", "missing", "z", "0"],
            &["BZPOPMAX", "z", "0"],
        ],
        expect: &[
            &[
                "ZADD", "z", "1", "a", "2", "b", "3", "c", "4", "d", "5", "e",
            ],
            &["ZPOPMIN", "z"],
            &["ZPOPMAX", "z", "2"],
            &["ZPOPMIN", "z"],
            &["ZPOPMAX", "z"],
        ],
        events: &[
            "zadd z",
            "zpopmin z",
            "zpopmax z",
            "zpopmin z",
            "zpopmax z",
            "del z",
        ],
    },
    Case {
        name: "ZMPOP and BZMPOP become ZPOPMIN/ZPOPMAX key <count popped>",
        commands: &[
            &["ZADD", "z", "1", "a", "2", "b", "3", "c"],
            &["ZMPOP", "2", "missing", "z", "MIN", "COUNT", "2"],
            &["ZMPOP", "1", "z", "MAX", "COUNT", "10"],
            &["ZMPOP", "1", "z", "MIN"],
            &["ZADD", "y", "1", "a", "2", "b"],
            &["BZMPOP", "0", "2", "missing", "y", "MAX"],
            &["BZMPOP", "0", "1", "y", "MIN", "COUNT", "5"],
        ],
        expect: &[
            &["ZADD", "z", "1", "a", "2", "b", "3", "c"],
            &["ZPOPMIN", "z", "2"],
            &["ZPOPMAX", "z", "1"],
            &["ZADD", "y", "1", "a", "2", "b"],
            &["ZPOPMAX", "y", "1"],
            &["ZPOPMIN", "y", "1"],
        ],
        events: &[
            "zadd z",
            "zpopmin z",
            "zpopmax z",
            "del z",
            "zadd y",
            "zpopmax y",
            "zpopmin y",
            "del y",
        ],
    },
    Case {
        name: "Z*STORE and ZRANGESTORE as they are, also when they only delete; reads nothing",
        commands: &[
            &["ZADD", "{k}a", "1", "x", "2", "y"],
            &["ZADD", "{k}b", "3", "y", "4", "z"],
            &["ZUNIONSTORE", "{k}d", "2", "{k}a", "{k}b"],
            &[
                "ZINTERSTORE",
                "{k}d",
                "2",
                "{k}a",
                "{k}b",
                "WEIGHTS",
                "1",
                "2",
            ],
            &["ZDIFFSTORE", "{k}d", "2", "{k}a", "{k}b"],
            &["ZRANGESTORE", "{k}e", "{k}a", "0", "0"],
            &["ZINTERSTORE", "{k}d", "2", "{k}a", "{k}missing"],
            &["ZINTERSTORE", "{k}d", "2", "{k}a", "{k}missing"],
            &["ZRANGESTORE", "{k}e", "{k}a", "5", "10"],
            &["ZRANGESTORE", "{k}e", "{k}a", "5", "10"],
            &["ZUNION", "2", "{k}a", "{k}b"],
            &["ZINTERCARD", "2", "{k}a", "{k}b"],
            &["ZRANDMEMBER", "{k}a", "-3"],
            &["ZRANGE", "{k}a", "0", "-1"],
            &["ZSCORE", "{k}a", "x"],
        ],
        expect: &[
            &["ZADD", "{k}a", "1", "x", "2", "y"],
            &["ZADD", "{k}b", "3", "y", "4", "z"],
            &["ZUNIONSTORE", "{k}d", "2", "{k}a", "{k}b"],
            &[
                "ZINTERSTORE",
                "{k}d",
                "2",
                "{k}a",
                "{k}b",
                "WEIGHTS",
                "1",
                "2",
            ],
            &["ZDIFFSTORE", "{k}d", "2", "{k}a", "{k}b"],
            &["ZRANGESTORE", "{k}e", "{k}a", "0", "0"],
            &["ZINTERSTORE", "{k}d", "2", "{k}a", "{k}missing"],
            &["ZRANGESTORE", "{k}e", "{k}a", "5", "10"],
        ],
        events: &[
            "zadd {k}a",
            "zadd {k}b",
            "zunionstore {k}d",
            "zinterstore {k}d",
            "zdiffstore {k}d",
            "zrangestore {k}e",
            "del {k}d",
            "del {k}e",
        ],
    },
    Case {
        name: "multi-key commands across shards",
        commands: &[
            &["ZADD", "a", "1", "x"],
            &["ZADD", "b", "2", "x", "3", "y"],
            &["ZUNIONSTORE", "c", "2", "a", "b", "AGGREGATE", "MAX"],
            &["ZMPOP", "3", "n1", "n2", "c", "MAX"],
            &["BZPOPMIN", "n1", "n2", "b", "1"],
        ],
        expect: &[
            &["ZADD", "a", "1", "x"],
            &["ZADD", "b", "2", "x", "3", "y"],
            &["ZUNIONSTORE", "c", "2", "a", "b", "AGGREGATE", "MAX"],
            &["ZPOPMAX", "c", "1"],
            &["ZPOPMIN", "b"],
        ],
        events: &[
            "zadd a",
            "zadd b",
            "zunionstore c",
            "zpopmax c",
            "zpopmin b",
        ],
    },
];

#[test]
fn ferrodis_propagates_redis_forms() {
    assert_ferrodis_stream_events(CASES);
}

/// The same cases on Debian's redis-server, read as a replica and a keyevent subscriber:
/// proves the expectations above are Redis 7.0's.
#[test]
fn expectations_hold_on_real_redis() {
    assert_redis_stream_events(CASES);
}
