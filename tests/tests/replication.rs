//! Replication, master side: Debian's redis-server replicates from ferrodis (PSYNC, the
//! snapshot, then the command stream) and ends up with the same dataset; a raw SYNC client gets
//! the snapshot and the stream with Redis's SELECT placement; a replica that leaves is
//! forgotten.

use ferrodis_resp::Frame;
use ferrodis_tests::{bulk, cmd, ok, InProcess, RealRedis, RespConn};
use std::path::PathBuf;
use std::time::{Duration, Instant};

fn temp_dir(name: &str) -> PathBuf {
    ferrodis_tests::temp_dir("repl", name)
}

fn info_field(c: &mut RespConn, section: &str, field: &str) -> Option<String> {
    let Frame::Bulk(b) = cmd(c, &["INFO", section]) else {
        return None;
    };
    let text = String::from_utf8_lossy(&b).into_owned();
    text.lines()
        .find_map(|l| l.strip_prefix(&format!("{field}:")).map(str::to_string))
}

fn wait_until(what: &str, mut f: impl FnMut() -> bool) {
    let start = Instant::now();
    while !f() {
        assert!(
            start.elapsed() < Duration::from_secs(20),
            "timed out waiting for {what}"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// Writes of many kinds, in several databases, with expiries, a transaction and a script.
fn writes(c: &mut RespConn, round: usize) {
    let r = round.to_string();
    ok(c, &["SET", &format!("s:{r}"), "v"]);
    ok(c, &["INCRBY", "counter", "5"]);
    ok(c, &["RPUSH", "list", "a", &r, "c"]);
    ok(c, &["LPOP", "list"]);
    ok(c, &["HSET", "hash", &format!("f{r}"), &r]);
    ok(c, &["SADD", "set", &r, "x"]);
    ok(c, &["ZADD", "zset", &r, &format!("m{r}")]);
    ok(c, &["ZINCRBY", "zset", "1.5", "m0"]);
    ok(c, &["XADD", "stream", "*", "f", &r]);
    ok(c, &["SET", &format!("ttl:{r}"), "v", "EX", "1000"]);
    ok(c, &["EXPIRE", "hash", "5000"]);
    ok(c, &["SELECT", "3"]);
    ok(c, &["SET", &format!("db3:{r}"), "x"]);
    ok(c, &["SPOP", "set"]);
    ok(c, &["SELECT", "0"]);
    ok(c, &["MULTI"]);
    ok(c, &["INCR", "counter"]);
    ok(c, &["SELECT", "5"]);
    ok(c, &["APPEND", "appended", "xy"]);
    ok(c, &["SELECT", "0"]);
    let exec = cmd(c, &["EXEC"]);
    assert!(matches!(exec, Frame::Array(_)), "EXEC -> {exec:?}");
    ok(
        c,
        &[
            "EVAL",
            "redis.call('set', KEYS[1], ARGV[1]); return redis.call('incr', KEYS[2])",
            "2",
            "script{t}",
            "scounter{t}",
            &r,
        ],
    );
    ok(c, &["SRANDMEMBER", "set"]);
    ok(c, &["DEL", &format!("s:{r}")]);
}

#[test]
fn debian_redis_replicates_from_ferrodis() {
    let dir = temp_dir("real");
    let dir_s = dir.display().to_string();
    let ours = InProcess::start_with(&[("dir", &dir_s)]).expect("start ferrodis");
    let mut c = ours.connect().expect("connect");
    writes(&mut c, 0);
    let port = ours.port().to_string();
    let Some(real) =
        RealRedis::start(&["--replicaof", "127.0.0.1", &port]).expect("start redis-server")
    else {
        return;
    };
    let mut r = real.connect().expect("connect to the replica");
    wait_until("the replica's link", || {
        info_field(&mut r, "replication", "master_link_status").as_deref() == Some("up")
    });
    assert_eq!(
        info_field(&mut c, "replication", "connected_slaves").as_deref(),
        Some("1")
    );
    for round in 1..20 {
        writes(&mut c, round);
    }
    let target = info_field(&mut c, "replication", "master_repl_offset").expect("offset");
    wait_until("the replica to catch up", || {
        info_field(&mut r, "replication", "slave_repl_offset").as_deref() == Some(&target)
    });
    let want = cmd(&mut c, &["DEBUG", "DIGEST"]);
    assert_ne!(want, bulk("0".repeat(40)));
    assert_eq!(cmd(&mut r, &["DEBUG", "DIGEST"]), want, "datasets differ");
    // The replica acknowledges what it applied.
    wait_until("the replica's ACK", || {
        info_field(&mut c, "replication", "slave0")
            .is_some_and(|l| l.contains(&format!("offset={target}")) && l.contains("online"))
    });
    drop(r);
    drop(real);
    wait_until("the replica to be forgotten", || {
        info_field(&mut c, "replication", "connected_slaves").as_deref() == Some("0")
    });
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn ferrodis_replicates_from_debian_redis() {
    let dir = temp_dir("replica");
    let dir_s = dir.display().to_string();
    let Some(real) = RealRedis::start(&[]).expect("start redis-server") else {
        return;
    };
    let mut m = real.connect().expect("connect to the master");
    writes(&mut m, 0);
    let ours = InProcess::start_with(&[("dir", &dir_s)]).expect("start ferrodis");
    let mut c = ours.connect().expect("connect");
    ok(&mut c, &["SET", "stale", "gone after the sync"]);
    let port = real.port().to_string();
    assert_eq!(
        cmd(&mut c, &["REPLICAOF", "127.0.0.1", &port]),
        Frame::Simple("OK".into())
    );
    assert_eq!(
        cmd(&mut c, &["REPLICAOF", "127.0.0.1", &port]),
        Frame::Simple("OK Already connected to specified master".into())
    );
    wait_until("our link to the master", || {
        info_field(&mut c, "replication", "master_link_status").as_deref() == Some("up")
    });
    assert_eq!(
        cmd(&mut c, &["SET", "x", "1"]),
        Frame::Error("READONLY You can't write against a read only replica.".into())
    );
    for round in 1..20 {
        writes(&mut m, round);
    }
    let target = info_field(&mut m, "replication", "master_repl_offset").expect("offset");
    wait_until("ferrodis to catch up", || {
        info_field(&mut c, "replication", "slave_repl_offset").as_deref() == Some(&target)
    });
    let want = cmd(&mut m, &["DEBUG", "DIGEST"]);
    assert_eq!(cmd(&mut c, &["DEBUG", "DIGEST"]), want, "datasets differ");
    assert_eq!(cmd(&mut c, &["EXISTS", "stale"]), Frame::Integer(0));
    // The master sees our acknowledgements.
    wait_until("the master to see our ACK", || {
        info_field(&mut m, "replication", "slave0")
            .is_some_and(|l| l.contains(&format!("offset={target}")))
    });
    match cmd(&mut c, &["ROLE"]) {
        Frame::Array(items) => {
            assert_eq!(items[0], bulk("slave"));
            assert_eq!(items[3], bulk("connected"));
        }
        other => panic!("ROLE -> {other:?}"),
    }
    assert_eq!(
        cmd(&mut c, &["REPLICAOF", "NO", "ONE"]),
        Frame::Simple("OK".into())
    );
    ok(&mut c, &["SET", "x", "1"]);
    assert_eq!(
        info_field(&mut c, "replication", "role").as_deref(),
        Some("master")
    );
    let _ = std::fs::remove_dir_all(&dir);
}

fn stream_command(c: &mut RespConn) -> Vec<String> {
    match c.read_frame().expect("stream frame") {
        Frame::Array(items) => items
            .into_iter()
            .map(|f| match f {
                Frame::Bulk(b) => String::from_utf8_lossy(&b).into_owned(),
                other => panic!("unexpected element {other:?}"),
            })
            .collect(),
        other => panic!("unexpected stream frame {other:?}"),
    }
}

#[test]
fn sync_sends_snapshot_then_stream_with_selects() {
    let dir = temp_dir("sync");
    let dir_s = dir.display().to_string();
    let ours = InProcess::start_with(&[("dir", &dir_s)]).expect("start ferrodis");
    let mut c = ours.connect().expect("connect");
    ok(&mut c, &["SET", "before", "1"]);
    let mut repl = ours.connect().expect("connect replica");
    repl.send(&[b"SYNC"]).expect("send SYNC");
    let payload = repl.read_sync_payload().expect("snapshot");
    assert!(payload.starts_with(b"REDIS0010"), "not an RDB file");
    assert!(
        payload.windows(6).any(|w| w == b"before"),
        "the snapshot lacks the key written before SYNC"
    );
    ok(&mut c, &["SET", "after", "2"]);
    ok(&mut c, &["SELECT", "2"]);
    ok(&mut c, &["INCR", "n"]);
    ok(&mut c, &["GET", "n"]);
    ok(&mut c, &["MULTI"]);
    ok(&mut c, &["INCR", "n"]);
    ok(&mut c, &["SELECT", "4"]);
    ok(&mut c, &["INCR", "n"]);
    cmd(&mut c, &["EXEC"]);
    let want: &[&[&str]] = &[
        &["SELECT", "0"],
        &["SET", "after", "2"],
        &["SELECT", "2"],
        &["INCR", "n"],
        &["MULTI"],
        &["INCR", "n"],
        &["SELECT", "4"],
        &["INCR", "n"],
        &["EXEC"],
    ];
    for w in want {
        let got = stream_command(&mut repl);
        let got_ci: Vec<String> = got.iter().map(|s| s.to_ascii_uppercase()).collect();
        let w_ci: Vec<String> = w.iter().map(|s| s.to_ascii_uppercase()).collect();
        assert_eq!(got_ci, w_ci);
    }
    assert_eq!(
        info_field(&mut c, "replication", "connected_slaves").as_deref(),
        Some("1")
    );
    drop(repl);
    wait_until("the SYNC client to be forgotten", || {
        info_field(&mut c, "replication", "connected_slaves").as_deref() == Some("0")
    });
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn replconf_answers_as_redis() {
    let ours = InProcess::start().expect("start ferrodis");
    let mut c = ours.connect().expect("connect");
    assert_eq!(
        cmd(&mut c, &["REPLCONF", "listening-port", "6380"]),
        Frame::Simple("OK".into())
    );
    assert_eq!(
        cmd(&mut c, &["REPLCONF", "capa", "eof", "capa", "psync2"]),
        Frame::Simple("OK".into())
    );
    assert_eq!(
        cmd(&mut c, &["REPLCONF", "listening-port"]),
        Frame::Error("ERR syntax error".into())
    );
    assert_eq!(
        cmd(&mut c, &["REPLCONF", "bogus", "1"]),
        Frame::Error("ERR Unrecognized REPLCONF option: bogus".into())
    );
}
