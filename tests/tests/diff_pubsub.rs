//! Keyspace notifications as a subscriber sees them, ferrodis against Debian's redis-server
//! 7.0.15: the same command groups run on both with `notify-keyspace-events KEAnm`, and the
//! `__keyspace@*` / `__keyevent@*` messages a pattern subscriber receives must be identical,
//! in order (event names, classes, `new`, `keymiss`, lazy `expired`, per-db channels).
//! Skipped (with a notice) when redis-server is not installed.

use ferrodis_resp::Frame;
use ferrodis_tests::diff::{self, Check, Servers};
use ferrodis_tests::RespConn;

/// Groups of commands; each group starts from an empty keyspace.
const GROUPS: &[&[&str]] = &[
    &[
        "SET a 1",
        "SET a 2",
        "GET nokey",
        "SETNX b 1",
        "SETNX b 2",
        "SET c 1 EX 100",
        "SET c 1 KEEPTTL",
        "GETSET a 5",
        "GETDEL a",
        "GETEX b EX 100",
        "GETEX b PERSIST",
        "MSET x 1 y 2",
        "MSETNX x 1 z 2",
        "APPEND ap x",
        "SETRANGE sr 5 x",
        "INCR i",
        "INCRBYFLOAT f 1.5",
        "PSETEX p 100 v",
        "STRLEN nokey",
    ],
    &[
        "SET k v",
        "EXPIRE k 100",
        "PEXPIREAT k 99999999999999",
        "PERSIST k",
        "EXPIRE k 0",
        "SET k3 v",
        "PEXPIREAT k3 1",
        "SET k4 v",
        "EXPIRE k4 100 NX",
        "EXPIRE k4 100 XX",
        "TTL nokey",
        "EXISTS nokey",
        "TYPE nokey",
        "OBJECT ENCODING nokey",
        "TOUCH k4 nokey",
    ],
    &[
        "SET s v",
        "RENAME s t",
        "SET u v",
        "RENAMENX t u",
        "RENAMENX t w",
        "MOVE w 1",
        "SET m v",
        "COPY m m2",
        "COPY m m2 REPLACE",
        "COPY m m3 DB 2",
        "DEL m m2 nokey",
        "UNLINK m3",
    ],
    &[
        "LPUSH l a b c",
        "RPUSHX nol e",
        "LINSERT l BEFORE a z",
        "LSET l 0 q",
        "LREM l 1 q",
        "LTRIM l 0 1",
        "LPOP l",
        "RPOP l",
        "LPOP l",
        "RPUSH l2 a b",
        "LMOVE l2 l3 LEFT RIGHT",
        "RPOPLPUSH l2 l3",
        "LMPOP 1 l3 LEFT COUNT 5",
        "LRANGE nolist 0 1",
    ],
    &[
        "HSET h a 1 b 2",
        "HSETNX h c 1",
        "HDEL h a",
        "HINCRBY h n 1",
        "HINCRBYFLOAT h f 1.5",
        "HDEL h b c n f",
        "HGET nohash a",
        "SADD s a b c",
        "SREM s a",
        "SMOVE s s2 b",
        "SADD s3 a b",
        "SINTERSTORE d s3 s3",
        "SDIFFSTORE d3 s3 s3",
        "SISMEMBER noset a",
    ],
    &[
        "ZADD z 1 a 2 b",
        "ZADD z INCR 5 a",
        "ZINCRBY z 1 b",
        "ZREM z a",
        "ZADD z 1 x 2 y 3 w",
        "ZREMRANGEBYRANK z 0 0",
        "ZREMRANGEBYSCORE z 0 2",
        "ZREMRANGEBYLEX z - +",
        "ZADD z2 1 a 2 b",
        "ZPOPMIN z2",
        "ZPOPMAX z2",
        "ZADD z3 1 a",
        "ZUNIONSTORE zd 1 z3",
        "ZRANGESTORE zd4 z3 0 -1",
        "ZRANGESTORE zd5 nozset 0 -1",
        "ZSCORE nozset a",
    ],
    &[
        "GEOADD g 13.361389 38.115556 Palermo 15.087269 37.502669 Catania",
        "GEOSEARCHSTORE gd g FROMLONLAT 15 37 BYRADIUS 200 km",
        "GEORADIUS g 15 37 200 km STOREDIST gd3",
        "GEOSEARCHSTORE gd4 g FROMLONLAT 0 0 BYRADIUS 1 km",
        "PFADD hl a b",
        "PFADD hl a",
        "PFMERGE hl2 hl",
        "PFCOUNT nohll",
        "SETBIT bb 5 1",
        "BITOP AND bd bb bb",
        "BITOP OR bd2 nob nob",
        "BITFIELD bf SET u8 0 255",
        "GETBIT nob 0",
    ],
    &[
        "XADD st 1-1 a 1",
        "XADD st MAXLEN 1 2-1 a 2",
        "XTRIM st MAXLEN 0",
        "XADD st2 1-1 a 1",
        "XDEL st2 1-1",
        "XGROUP CREATE st2 g $",
        "XGROUP CREATECONSUMER st2 g c",
        "XGROUP DELCONSUMER st2 g c",
        "XGROUP SETID st2 g 0",
        "XGROUP DESTROY st2 g",
        "XLEN nostream",
        "RPUSH srt 3 1 2",
        "SORT srt BY w_* GET o_* STORE sd",
        "SORT nol STORE sd2",
    ],
    &[
        // Active expiry is off (diff::prepare): these expire lazily, on access.
        "SET e1 v PX 1",
        "DEBUG SLEEP 0.01",
        "GET e1",
        "SET e2 v PX 1",
        "DEBUG SLEEP 0.01",
        "SET e2 w",
        "RPUSH e4 a",
        "PEXPIRE e4 1",
        "DEBUG SLEEP 0.01",
        "LPUSH e4 b",
        "SELECT 3",
        "SET in3 v",
        "DEL in3",
        "SELECT 0",
        "FLUSHALL",
    ],
];

/// A pattern subscriber to every keyspace and keyevent channel, plus a command connection.
fn attach(addr: std::net::SocketAddr) -> (RespConn, RespConn) {
    let mut c = RespConn::connect(addr).expect("connect");
    c.cmd(&[b"CONFIG", b"SET", b"notify-keyspace-events", b"KEAnm"])
        .expect("config set");
    let mut sub = RespConn::connect(addr).expect("connect");
    sub.cmd(&[b"PSUBSCRIBE", b"__key*"]).expect("psubscribe");
    (c, sub)
}

/// Run one group, then publish a marker and collect every event up to it.
fn events(c: &mut RespConn, sub: &mut RespConn, group: &[&str]) -> Vec<String> {
    for line in group {
        let cmd = diff::cmd_of(Check::Exact, &line.split(' ').collect::<Vec<_>>());
        diff::execute(c, &cmd).unwrap_or_else(|e| panic!("{line}: {e}"));
    }
    c.cmd(&[b"PUBLISH", b"__key_end", b"x"]).expect("publish");
    let mut out = Vec::new();
    loop {
        let f = sub.read_frame().expect("event");
        let Frame::Array(v) = f else {
            panic!("not a pmessage: {f:?}")
        };
        let text = |f: &Frame| match f {
            Frame::Bulk(b) => String::from_utf8_lossy(b).into_owned(),
            other => format!("{other:?}"),
        };
        let (chan, payload) = (text(&v[2]), text(&v[3]));
        if chan == "__key_end" {
            return out;
        }
        out.push(format!("{chan} {payload}"));
    }
}

#[test]
fn keyspace_events_match_redis() {
    let Some(Servers { ours, real }) = diff::start_servers() else {
        ferrodis_tests::loud_banner("diff_pubsub: redis-server not installed, skipped");
        return;
    };
    let (mut oc, mut osub) = attach(ours.addr());
    let (mut rc, mut rsub) = attach(real.addr());
    let mut failures = Vec::new();
    let mut seen = 0;
    for group in GROUPS {
        oc.cmd(&[b"FLUSHALL"]).expect("flushall");
        rc.cmd(&[b"FLUSHALL"]).expect("flushall");
        let want = events(&mut rc, &mut rsub, group);
        let got = events(&mut oc, &mut osub, group);
        seen += want.len();
        if got != want {
            failures.push(format!(
                "{group:?}\n  redis:    {want:?}\n  ferrodis: {got:?}"
            ));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
    // Every group produces events: the comparison is not between two empty streams.
    assert!(seen > 200, "only {seen} events from redis-server");
}
