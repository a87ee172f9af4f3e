//! The propagation stream of the list commands has Redis 7.0's forms: pushes, pops, LSET,
//! LINSERT, LREM, LTRIM, LMOVE and RPOPLPUSH as they are (when they changed something),
//! LMPOP as `LPOP|RPOP key n` with n the number popped, and blocking commands served at once
//! as their non-blocking forms (BLPOP -> LPOP key, BLMPOP -> LPOP key n, BLMOVE -> LMOVE,
//! BRPOPLPUSH -> RPOPLPUSH). No-op writes propagate nothing.
//!
//! Every case runs on ferrodis with a `RecordingSink` attached to the engine and, when
//! Debian's redis-server is installed, on Redis read as a replica through `SYNC`: the same
//! expectations must hold for both, which keeps them honest.
//!
//! The same cases also compare keyspace events: ours recorded by an engine listener, Redis's
//! read through `PSUBSCRIBE __keyevent@0__:*`; names, keys and order must be identical.

use ferrodis_tests::propagation::{
    assert_ferrodis_propagates, assert_redis_propagates, enable_events, flushall, now_ms,
    real_redis, run_commands, Case, EventLog, KeyeventSubscriber, Options, Recorded,
};
use ferrodis_tests::ChildServer;

/// Commands compare whatever DB they were propagated in.
const OPTIONS: Options = Options {
    no_active_expire: false,
    any_db: true,
};

const CASES: &[Case] = &[
    Case {
        name: "pushes as they are; PUSHX on a missing key propagates nothing",
        commands: &[
            &["LPUSHX", "l", "a"],
            &["RPUSH", "l", "a", "b"],
            &["LPUSH", "l", "c"],
            &["RPUSHX", "l", "d", "e"],
            &["LPUSHX", "l", "f"],
            &["SET", "s", "v"],
            &["LPUSH", "s", "x"],
        ],
        expect: &[
            &["RPUSH", "l", "a", "b"],
            &["LPUSH", "l", "c"],
            &["RPUSHX", "l", "d", "e"],
            &["LPUSHX", "l", "f"],
            &["SET", "s", "v"],
        ],
    },
    Case {
        name: "pops as they are, with COUNT kept even past the length; no-op pops nothing",
        commands: &[
            &["LPOP", "l"],
            &["RPUSH", "l", "a", "b", "c", "d"],
            &["LPOP", "l"],
            &["RPOP", "l", "1"],
            &["LPOP", "l", "0"],
            &["LPOP", "l", "10"],
            &["RPOP", "l", "3"],
        ],
        expect: &[
            &["RPUSH", "l", "a", "b", "c", "d"],
            &["LPOP", "l"],
            &["RPOP", "l", "1"],
            &["LPOP", "l", "10"],
        ],
    },
    Case {
        name: "LSET, LINSERT, LREM, LTRIM when they change something",
        commands: &[
            &["RPUSH", "l", "a", "b", "a", "c"],
            &["LSET", "l", "0", "z"],
            &["LSET", "l", "9", "z"],
            &["LINSERT", "l", "BEFORE", "b", "y"],
            &["LINSERT", "l", "AFTER", "nosuch", "y"],
            &["LREM", "l", "0", "nosuch"],
            &["LREM", "l", "-1", "a"],
            &["LTRIM", "l", "0", "-1"],
            &["LTRIM", "l", "1", "2"],
            &["LTRIM", "l", "5", "1"],
            &["LTRIM", "l", "0", "1"],
        ],
        expect: &[
            &["RPUSH", "l", "a", "b", "a", "c"],
            &["LSET", "l", "0", "z"],
            &["LINSERT", "l", "BEFORE", "b", "y"],
            &["LREM", "l", "-1", "a"],
            &["LTRIM", "l", "1", "2"],
            &["LTRIM", "l", "5", "1"],
        ],
    },
    Case {
        name: "LMOVE and RPOPLPUSH as they are, rotation included; failed moves nothing",
        commands: &[
            &["RPUSH", "a", "1", "2", "3"],
            &["LMOVE", "a", "b", "LEFT", "right"],
            &["LMOVE", "a", "a", "RIGHT", "LEFT"],
            &["RPOPLPUSH", "a", "{a}c"],
            &["RPOPLPUSH", "nosuch", "a"],
            &["SET", "s", "v"],
            &["LMOVE", "a", "s", "LEFT", "LEFT"],
        ],
        expect: &[
            &["RPUSH", "a", "1", "2", "3"],
            &["LMOVE", "a", "b", "LEFT", "right"],
            &["LMOVE", "a", "a", "RIGHT", "LEFT"],
            &["RPOPLPUSH", "a", "{a}c"],
            &["SET", "s", "v"],
        ],
    },
    Case {
        name: "LMPOP becomes LPOP/RPOP key n with n the number popped",
        commands: &[
            &["LMPOP", "2", "x", "y", "LEFT"],
            &["RPUSH", "y", "1", "2", "3"],
            &["LMPOP", "2", "x", "y", "LEFT"],
            &["LMPOP", "2", "x", "y", "RIGHT", "COUNT", "10"],
        ],
        expect: &[
            &["RPUSH", "y", "1", "2", "3"],
            &["LPOP", "y", "1"],
            &["RPOP", "y", "2"],
        ],
    },
    Case {
        name: "blocking commands served at once propagate their non-blocking forms",
        commands: &[
            &["RPUSH", "a", "1", "2", "3", "4", "5", "6"],
            &["BLPOP", "nosuch", "a", "0"],
            &["BRPOP", "a", "1"],
            &["BLMPOP", "0", "2", "nosuch", "a", "RIGHT", "COUNT", "2"],
            &["BLMOVE", "a", "b", "left", "RIGHT", "0"],
            &["BRPOPLPUSH", "b", "a", "0"],
        ],
        expect: &[
            &["RPUSH", "a", "1", "2", "3", "4", "5", "6"],
            &["LPOP", "a"],
            &["RPOP", "a"],
            &["RPOP", "a", "2"],
            &["LMOVE", "a", "b", "left", "RIGHT"],
            &["RPOPLPUSH", "b", "a"],
        ],
    },
];

#[test]
fn ferrodis_propagates_redis_list_forms() {
    assert_ferrodis_propagates(CASES, OPTIONS);
}

/// The same cases on Debian's redis-server, read as a replica.
#[test]
fn list_expectations_hold_on_real_redis() {
    assert_redis_propagates(CASES, OPTIONS);
}

const END_KEY: &str = "__end_of_case__";

/// Every case's events on Redis (through PSUBSCRIBE), up to the `set` of [`END_KEY`].
fn redis_events(real: &ChildServer) -> Vec<EventLog> {
    let mut conn = real.connect().expect("connect");
    enable_events(&mut conn, "KEA");
    let mut sub = KeyeventSubscriber::subscribe(real, END_KEY);
    let mut all = Vec::new();
    for case in CASES {
        run_commands(&mut conn, case.name, case.commands, now_ms());
        all.push(sub.case_events(&mut conn));
        flushall(&mut conn);
    }
    all
}

#[test]
fn keyspace_events_match_redis() {
    let Some(real) = real_redis(&[]) else {
        return;
    };
    let expected = redis_events(&real);
    let ours = Recorded::start();
    let mut conn = ours.connect();
    enable_events(&mut conn, "KEA");
    let show = |evs: &EventLog| -> String {
        evs.iter()
            .map(|(e, k)| format!("    {e} {}\n", String::from_utf8_lossy(k)))
            .collect()
    };
    let mut failures = Vec::new();
    for (case, want) in CASES.iter().zip(expected.iter()) {
        ours.events.clear();
        run_commands(&mut conn, case.name, case.commands, now_ms());
        // Events of db 0 only, as the subscriber sees them.
        let got = ours.events.take_db(0);
        if &got != want {
            failures.push(format!(
                "[{}]\n  redis:\n{}  ferrodis:\n{}",
                case.name,
                show(want),
                show(&got)
            ));
        }
        flushall(&mut conn);
    }
    assert!(
        failures.is_empty(),
        "keyspace events differ:\n{}",
        failures.join("\n")
    );
}
