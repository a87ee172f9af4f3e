//! The propagation stream (what AOF and replicas receive) and the keyspace events of the geo
//! commands have Redis 7.0's forms: GEOADD propagates as the ZADD it runs (scores computed,
//! options kept) with the `zadd` event, and nothing when it changes nothing or fails;
//! GEOSEARCHSTORE and GEORADIUS[BYMEMBER] with STORE/STOREDIST propagate as they are
//! (`geosearchstore` / `georadiusstore` events), also when they only delete their destination
//! (`del`); reads propagate nothing.
//!
//! Every case runs on ferrodis, with a `RecordingSink` on the engine's propagation stream and
//! an event listener on its keyspace events, and, when Debian's redis-server is installed, on
//! Redis too: its stream is read as a replica through `SYNC` and its events through a
//! `PSUBSCRIBE __keyevent@0__:*` client. The same expectations must hold for both.

use ferrodis_tests::propagation::{
    assert_ferrodis_stream_events, assert_redis_stream_events, StreamEventCase as Case,
};

const CASES: &[Case] = &[
    Case {
        name: "GEOADD as ZADD with scores; no-ops and errors nothing",
        commands: &[
            &[
                "GEOADD",
                "g",
                "13.361389",
                "38.115556",
                "Palermo",
                "15.087269",
                "37.502669",
                "Catania",
            ],
            &["GEOADD", "g", "13.361389", "38.115556", "Palermo"],
            &[
                "GEOADD",
                "g",
                "CH",
                "NX",
                "13.361389",
                "38.115556",
                "Palermo",
                "15",
                "37",
                "x",
            ],
            &["GEOADD", "g", "200", "100", "y"],
            &["GEOADD", "g", "XX", "1", "1", "newm"],
            &["GEOADD", "g", "NX", "XX", "1", "1", "newm"],
            &["GEOPOS", "g", "x"],
            &["GEODIST", "g", "x", "Palermo"],
            &["GEOHASH", "g", "x"],
        ],
        expect: &[
            &[
                "ZADD",
                "g",
                "3479099956230698",
                "Palermo",
                "3479447370796909",
                "Catania",
            ],
            &[
                "ZADD",
                "g",
                "CH",
                "NX",
                "3479099956230698",
                "Palermo",
                "3476504601741708",
                "x",
            ],
        ],
        events: &["zadd g", "zadd g"],
    },
    Case {
        name: "STORE forms as they are, also when they only delete; reads nothing",
        commands: &[
            &[
                "GEOADD",
                "g",
                "13.361389",
                "38.115556",
                "Palermo",
                "15.087269",
                "37.502669",
                "Catania",
            ],
            &[
                "GEOSEARCHSTORE",
                "d",
                "g",
                "FROMMEMBER",
                "Palermo",
                "BYRADIUS",
                "200",
                "km",
            ],
            &["GEORADIUS", "g", "15", "37", "200", "km", "STOREDIST", "d2"],
            &["GEORADIUSBYMEMBER", "g", "Palermo", "1", "m", "STORE", "d3"],
            &[
                "GEOSEARCHSTORE",
                "d",
                "g",
                "FROMLONLAT",
                "0",
                "0",
                "BYRADIUS",
                "1",
                "km",
                "STOREDIST",
            ],
            &[
                "GEOSEARCHSTORE",
                "d",
                "g",
                "FROMLONLAT",
                "0",
                "0",
                "BYRADIUS",
                "1",
                "km",
            ],
            &[
                "GEOSEARCH",
                "g",
                "FROMMEMBER",
                "Palermo",
                "BYRADIUS",
                "1",
                "km",
            ],
            &["GEORADIUS_RO", "g", "15", "37", "200", "km"],
            &["GEORADIUS", "nokey", "0", "0", "1", "km", "STORE", "d2"],
            &["GEORADIUSBYMEMBER", "nokey", "x", "1", "km", "STORE", "d2"],
        ],
        expect: &[
            &[
                "ZADD",
                "g",
                "3479099956230698",
                "Palermo",
                "3479447370796909",
                "Catania",
            ],
            &[
                "GEOSEARCHSTORE",
                "d",
                "g",
                "FROMMEMBER",
                "Palermo",
                "BYRADIUS",
                "200",
                "km",
            ],
            &["GEORADIUS", "g", "15", "37", "200", "km", "STOREDIST", "d2"],
            &["GEORADIUSBYMEMBER", "g", "Palermo", "1", "m", "STORE", "d3"],
            &[
                "GEOSEARCHSTORE",
                "d",
                "g",
                "FROMLONLAT",
                "0",
                "0",
                "BYRADIUS",
                "1",
                "km",
                "STOREDIST",
            ],
            &["GEORADIUS", "nokey", "0", "0", "1", "km", "STORE", "d2"],
        ],
        events: &[
            "zadd g",
            "geosearchstore d",
            "georadiusstore d2",
            "georadiusstore d3",
            "del d",
            "del d2",
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
