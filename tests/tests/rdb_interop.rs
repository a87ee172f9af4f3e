//! RDB files written by ferrodis (SAVE, SHUTDOWN SAVE) are valid Redis 7.0 files: Debian's
//! `redis-check-rdb` accepts them, and Debian's redis-server loads them into the same dataset
//! (same DEBUG DIGEST, same stream group state, same TTLs and encodings).

use ferrodis_resp::Frame;
use ferrodis_tests::{bulk, cmd, ok, InProcess, RealRedis, RespConn};
use std::path::{Path, PathBuf};

fn temp_dir(name: &str) -> PathBuf {
    ferrodis_tests::temp_dir("rdb", name)
}

/// Every type and encoding, expiries, several databases, a stream with groups and PELs.
fn populate(c: &mut RespConn) {
    for (k, v) in [
        ("s:int", "12345"),
        ("s:big", "12345678901234"),
        ("s:neg", "-7"),
        ("s:zero", "0"),
        ("s:lead", "007"),
        ("s:str", "hello"),
        ("s:empty", ""),
    ] {
        ok(c, &["SET", k, v]);
    }
    let raw = "r".repeat(100);
    ok(c, &["SET", "s:raw", &raw]);
    ok(c, &["APPEND", "s:appended", "abc"]);
    ok(c, &["SET", "s:ttl", "v", "PX", "100000000"]);
    ok(
        c,
        &["RPUSH", "l:small", "a", "1", "-1", "", "4096", "-70000"],
    );
    let big_elem = "x".repeat(5000);
    for i in 0..700 {
        let v = if i % 3 == 0 {
            i.to_string()
        } else {
            format!("elem-{i}")
        };
        ok(c, &["RPUSH", "l:big", &v]);
    }
    ok(c, &["RPUSH", "l:big", &big_elem]);
    ok(
        c,
        &[
            "SADD",
            "set:int",
            "1",
            "2",
            "3",
            "-5",
            "70000",
            "5000000000",
        ],
    );
    ok(c, &["SADD", "set:str", "a", "b", "c", "10"]);
    for i in 0..600 {
        ok(c, &["SADD", "set:big", &i.to_string()]);
    }
    ok(
        c,
        &[
            "ZADD", "z:small", "1", "a", "2.5", "b", "-inf", "c", "inf", "d", "-0", "e",
        ],
    );
    for i in 0..200 {
        ok(
            c,
            &["ZADD", "z:big", &format!("{}.25", i % 17), &format!("m{i}")],
        );
    }
    ok(c, &["HSET", "h:small", "f", "v", "n", "12", "e", ""]);
    for i in 0..600 {
        ok(c, &["HSET", "h:big", &format!("field{i}"), &i.to_string()]);
    }
    ok(c, &["XADD", "st", "1-1", "f", "v"]);
    ok(c, &["XADD", "st", "1-2", "f", "w", "g", "x"]);
    for i in 3..300 {
        let id = format!("{}-{}", 1 + i / 7, i);
        if i % 5 == 0 {
            ok(c, &["XADD", "st", &id, "other", &i.to_string()]);
        } else {
            ok(c, &["XADD", "st", &id, "f", &i.to_string()]);
        }
    }
    ok(c, &["XDEL", "st", "1-2", "5-37"]);
    ok(c, &["XGROUP", "CREATE", "st", "g1", "0"]);
    ok(
        c,
        &[
            "XREADGROUP",
            "GROUP",
            "g1",
            "alice",
            "COUNT",
            "5",
            "STREAMS",
            "st",
            ">",
        ],
    );
    ok(
        c,
        &[
            "XREADGROUP",
            "GROUP",
            "g1",
            "bob",
            "COUNT",
            "3",
            "STREAMS",
            "st",
            ">",
        ],
    );
    ok(c, &["XGROUP", "CREATECONSUMER", "st", "g1", "carol"]);
    ok(c, &["XACK", "st", "g1", "1-1"]);
    ok(c, &["XGROUP", "CREATE", "st", "g2", "$"]);
    ok(c, &["XADD", "st:empty", "MAXLEN", "0", "7-7", "f", "v"]);
    ok(c, &["SELECT", "3"]);
    ok(c, &["SET", "db3", "three"]);
    ok(c, &["SELECT", "0"]);
}

const COMPARED: &[&[&str]] = &[
    &["DBSIZE"],
    &["XINFO", "GROUPS", "st"],
    &["XPENDING", "st", "g1"],
    &["XLEN", "st"],
    &["XRANGE", "st", "-", "+", "COUNT", "20"],
    &["XINFO", "STREAM", "st:empty"],
    &["LRANGE", "l:small", "0", "-1"],
    &["ZRANGE", "z:small", "0", "-1", "WITHSCORES"],
    &["SMEMBERS", "set:int"],
    &["GET", "s:big"],
    &["GET", "s:lead"],
    &["OBJECT", "ENCODING", "set:int"],
    &["OBJECT", "ENCODING", "set:big"],
    &["OBJECT", "ENCODING", "h:small"],
    &["OBJECT", "ENCODING", "h:big"],
    &["OBJECT", "ENCODING", "z:small"],
    &["OBJECT", "ENCODING", "z:big"],
    &["OBJECT", "ENCODING", "l:big"],
    &["OBJECT", "ENCODING", "s:int"],
];

/// `(id, idle ms)` of an extended XPENDING reply.
fn pending_idle(f: &Frame) -> Vec<(String, i64)> {
    let Frame::Array(items) = f else {
        panic!("XPENDING: {f:?}")
    };
    items
        .iter()
        .map(|e| match e {
            Frame::Array(v) => match (v.first(), v.get(2)) {
                (Some(Frame::Bulk(id)), Some(Frame::Integer(idle))) => {
                    (String::from_utf8_lossy(id).to_string(), *idle)
                }
                _ => panic!("XPENDING entry: {e:?}"),
            },
            _ => panic!("XPENDING entry: {e:?}"),
        })
        .collect()
}

fn digest(c: &mut RespConn) -> Frame {
    // Redis answers DEBUG while it is still loading its file: wait until it is done.
    for _ in 0..3000 {
        match cmd(c, &["INFO", "persistence"]) {
            Frame::Bulk(b) if !String::from_utf8_lossy(&b).contains("loading:1") => break,
            _ => std::thread::sleep(std::time::Duration::from_millis(10)),
        }
    }
    cmd(c, &["DEBUG", "DIGEST"])
}

fn check_rdb(file: &Path) {
    if ferrodis_tests::which("redis-check-rdb").is_none() {
        ferrodis_tests::loud_banner("redis-check-rdb not installed: RDB file not checked");
        return;
    }
    let out = std::process::Command::new("redis-check-rdb")
        .arg(file)
        .output()
        .expect("run redis-check-rdb");
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success() && text.contains("RDB looks OK"),
        "redis-check-rdb refused our file:\n{text}"
    );
}

#[test]
fn saved_file_loads_into_real_redis() {
    let dir = temp_dir("save");
    let dir_s = dir.to_string_lossy().to_string();
    let ours = InProcess::start_with_args(&["--dir", &dir_s], &[]).expect("start ours");
    let mut c = ours.connect().expect("connect");
    populate(&mut c);
    let want_digest = digest(&mut c);
    let want: Vec<Frame> = COMPARED.iter().map(|a| cmd(&mut c, a)).collect();
    let pel_args = &["XPENDING", "st", "g1", "-", "+", "100", "alice"];
    let ours_pel = pending_idle(&cmd(&mut c, pel_args));
    assert_eq!(cmd(&mut c, &["SAVE"]), Frame::Simple("OK".into()));
    let info = cmd(&mut c, &["INFO", "persistence"]);
    let Frame::Bulk(info) = info else {
        panic!("INFO: {info:?}")
    };
    let info = String::from_utf8_lossy(&info).to_string();
    assert!(info.contains("rdb_changes_since_last_save:0\r\n"), "{info}");
    assert!(info.contains("rdb_saves:1\r\n"), "{info}");
    let file = dir.join("dump.rdb");
    assert!(file.is_file(), "SAVE wrote no {}", file.display());
    check_rdb(&file);

    let Some(real) = RealRedis::start(&["--dir", &dir_s, "--dbfilename", "dump.rdb"])
        .expect("start redis-server")
    else {
        return;
    };
    let mut r = real.connect().expect("connect to redis-server");
    assert_eq!(digest(&mut r), want_digest, "datasets differ after loading");
    for (args, want) in COMPARED.iter().zip(&want) {
        assert_eq!(&cmd(&mut r, args), want, "{args:?}");
    }
    // Delivery times survive: Redis's idle times are ours plus the time since we read them.
    let real_pel = pending_idle(&cmd(&mut r, pel_args));
    assert_eq!(real_pel.len(), ours_pel.len());
    for ((id_r, idle_r), (id_o, idle_o)) in real_pel.iter().zip(&ours_pel) {
        assert_eq!(id_r, id_o);
        assert!(
            *idle_r >= *idle_o && *idle_r < idle_o + 60_000,
            "{id_r}: idle {idle_r} vs ours {idle_o}"
        );
    }
    let ttl = cmd(&mut r, &["PTTL", "s:ttl"]);
    assert!(
        matches!(ttl, Frame::Integer(ms) if ms > 99_000_000),
        "{ttl:?}"
    );
    assert_eq!(cmd(&mut r, &["SELECT", "3"]), Frame::Simple("OK".into()));
    assert_eq!(cmd(&mut r, &["GET", "db3"]), bulk("three"));
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn shutdown_save_writes_the_file_and_nosave_does_not() {
    let dir = temp_dir("shutdown");
    let dir_s = dir.to_string_lossy().to_string();
    let ours = InProcess::start_with_args(&["--dir", &dir_s], &[]).expect("start ours");
    let mut c = ours.connect().expect("connect");
    ok(&mut c, &["SET", "k", "v"]);
    assert_eq!(
        cmd(&mut c, &["SHUTDOWN", "SAVE", "NOSAVE"]),
        Frame::Error("ERR syntax error".into())
    );
    // SHUTDOWN NOSAVE must not write anything.
    let mut c2 = ours.connect().expect("connect");
    let _ = c2.send(&[b"SHUTDOWN", b"NOSAVE"]);
    let _ = c2.read_frame_or_eof();
    assert!(!dir.join("dump.rdb").exists());
    drop(ours);

    let ours = InProcess::start_with_args(&["--dir", &dir_s], &[]).expect("start ours again");
    let mut c = ours.connect().expect("connect");
    ok(&mut c, &["SET", "k", "v2"]);
    let _ = c.send(&[b"SHUTDOWN", b"SAVE"]);
    let _ = c.read_frame_or_eof();
    let file = dir.join("dump.rdb");
    assert!(file.is_file());
    check_rdb(&file);
    std::fs::remove_file(&file).expect("remove");

    // With save points configured a plain SHUTDOWN saves too, and the next start loads it.
    let ours = InProcess::start_with_args(&["--dir", &dir_s], &[("save", "900 1")])
        .expect("start ours with save points");
    let mut c = ours.connect().expect("connect");
    ok(&mut c, &["SET", "k", "v3"]);
    let _ = c.send(&[b"SHUTDOWN"]);
    let _ = c.read_frame_or_eof();
    drop(ours);
    assert!(
        file.is_file(),
        "plain SHUTDOWN with save points wrote nothing"
    );
    let ours = InProcess::start_with_args(&["--dir", &dir_s], &[]).expect("start ours");
    let mut c = ours.connect().expect("connect");
    assert_eq!(cmd(&mut c, &["GET", "k"]), bulk("v3"));
    let _ = std::fs::remove_dir_all(&dir);
}

/// DUMP payloads are byte-identical to Redis's for the same values (a fixed-content subset:
/// no stream times, no encodings whose layout Redis derives from insertion history).
#[test]
fn dump_payloads_match_redis() {
    let ours = InProcess::start().expect("start ours");
    let Some(real) = RealRedis::start(&[]).expect("start redis-server") else {
        return;
    };
    let mut c = ours.connect().expect("connect");
    let mut r = real.connect().expect("connect");
    let setup: &[&[&str]] = &[
        &["SET", "int", "12345"],
        &["SET", "big", "12345678901234"],
        &["SET", "str", "hello world"],
        &["RPUSH", "list", "a", "1", "-1", "", "4096", "-70000", "x"],
        &["SADD", "intset", "1", "2", "3", "-5", "70000"],
        &["XADD", "stream", "1-1", "f", "v"],
        &["XADD", "stream", "1-2", "f", "w", "g", "x"],
        &["XADD", "stream", "2-0", "f", "z"],
    ];
    for args in setup {
        ok(&mut c, args);
        ok(&mut r, args);
    }
    for key in ["int", "big", "str", "list", "intset", "stream", "missing"] {
        assert_eq!(
            cmd(&mut c, &["DUMP", key]),
            cmd(&mut r, &["DUMP", key]),
            "DUMP {key}"
        );
    }
}

/// A file written by Debian's redis-server (listpack hashes and sorted sets, intsets, quicklists,
/// streams with groups) loads into ours at startup with the same dataset.
#[test]
fn real_redis_file_loads_into_ours() {
    let dir = temp_dir("fromredis");
    let dir_s = dir.to_string_lossy().to_string();
    let Some(real) = RealRedis::start(&["--dir", &dir_s, "--dbfilename", "dump.rdb"])
        .expect("start redis-server")
    else {
        return;
    };
    let mut r = real.connect().expect("connect to redis-server");
    populate(&mut r);
    let want_digest = digest(&mut r);
    let want: Vec<Frame> = COMPARED.iter().map(|a| cmd(&mut r, a)).collect();
    assert_eq!(cmd(&mut r, &["SAVE"]), Frame::Simple("OK".into()));
    drop(r);
    drop(real);

    let ours = InProcess::start_with_args(&["--dir", &dir_s], &[]).expect("start ours");
    let mut c = ours.connect().expect("connect");
    assert_eq!(digest(&mut c), want_digest, "datasets differ after loading");
    for (args, want) in COMPARED.iter().zip(&want) {
        assert_eq!(&cmd(&mut c, args), want, "{args:?}");
    }
    let Frame::Bulk(info) = cmd(&mut c, &["INFO", "persistence"]) else {
        panic!("INFO")
    };
    let info = String::from_utf8_lossy(&info).to_string();
    let keys = match cmd(&mut c, &["DBSIZE"]) {
        Frame::Integer(n) => n + 1, // and db3's key
        other => panic!("DBSIZE {other:?}"),
    };
    assert!(
        info.contains(&format!("rdb_last_load_keys_loaded:{keys}\r\n")),
        "{info}"
    );
    let _ = std::fs::remove_dir_all(&dir);
}

/// A file that is not an RDB stops the start (serving, then saving, without it would lose it).
#[test]
fn unreadable_file_stops_the_start() {
    let dir = temp_dir("bad");
    std::fs::write(dir.join("dump.rdb"), b"REDIS0010\xfe\x00garbage").expect("write");
    let dir_s = dir.to_string_lossy().to_string();
    assert!(InProcess::start_with_args(&["--dir", &dir_s], &[]).is_err());
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn debug_reload_keeps_the_dataset() {
    let dir = temp_dir("reload");
    let dir_s = dir.to_string_lossy().to_string();
    let ours = InProcess::start_with_args(&["--dir", &dir_s], &[]).expect("start ours");
    let mut c = ours.connect().expect("connect");
    populate(&mut c);
    let before = digest(&mut c);
    let want: Vec<Frame> = COMPARED.iter().map(|a| cmd(&mut c, a)).collect();
    assert_eq!(
        cmd(&mut c, &["DEBUG", "RELOAD"]),
        Frame::Simple("OK".into())
    );
    assert_eq!(digest(&mut c), before);
    for (args, want) in COMPARED.iter().zip(&want) {
        assert_eq!(&cmd(&mut c, args), want, "{args:?}");
    }
    // NOSAVE reloads the file as it was: a key set since is gone.
    ok(&mut c, &["SET", "after", "1"]);
    assert_eq!(
        cmd(&mut c, &["DEBUG", "RELOAD", "NOSAVE"]),
        Frame::Simple("OK".into())
    );
    assert_eq!(cmd(&mut c, &["EXISTS", "after"]), Frame::Integer(0));
    assert_eq!(digest(&mut c), before);
    assert_eq!(
        cmd(&mut c, &["DEBUG", "RELOAD", "BOGUS"]),
        Frame::Error(
            "ERR DEBUG RELOAD only supports the MERGE, NOFLUSH and NOSAVE options.".into()
        )
    );
    let _ = std::fs::remove_dir_all(&dir);
}

/// RESTORE takes Redis's DUMP payloads (and Redis takes ours), with Redis's errors.
#[test]
fn restore_across_servers_and_errors() {
    let ours = InProcess::start().expect("start ours");
    let Some(real) = RealRedis::start(&[]).expect("start redis-server") else {
        return;
    };
    let mut c = ours.connect().expect("connect");
    let mut r = real.connect().expect("connect");
    populate(&mut r);
    populate(&mut c);
    let keys = [
        "s:int", "s:big", "s:raw", "l:small", "l:big", "set:int", "set:big", "z:small", "z:big",
        "h:small", "h:big", "st", "st:empty",
    ];
    fn copy_over(from: &mut RespConn, to: &mut RespConn, key: &str) {
        let Frame::Bulk(payload) = cmd(from, &["DUMP", key]) else {
            panic!("DUMP {key}")
        };
        let want = cmd(from, &["DEBUG", "DIGEST-VALUE", key]);
        let a: Vec<&[u8]> = vec![b"RESTORE", b"copy", b"0", &payload, b"REPLACE"];
        assert_eq!(
            to.cmd(&a).expect("restore"),
            Frame::Simple("OK".into()),
            "{key}"
        );
        assert_eq!(cmd(to, &["DEBUG", "DIGEST-VALUE", "copy"]), want, "{key}");
    }
    for key in keys {
        copy_over(&mut r, &mut c, key);
        copy_over(&mut c, &mut r, key);
    }
    let Frame::Bulk(payload) = cmd(&mut c, &["DUMP", "s:str"]) else {
        panic!("DUMP")
    };
    let mut bad_crc = payload.to_vec();
    let last = bad_crc.len() - 1;
    bad_crc[last] ^= 1;
    for server in [&mut c, &mut r] {
        let run = |s: &mut RespConn, args: &[&[u8]]| s.cmd(args).expect("cmd");
        assert_eq!(
            run(server, &[b"RESTORE", b"s:str", b"0", &payload]),
            Frame::Error("BUSYKEY Target key name already exists.".into())
        );
        assert_eq!(
            run(server, &[b"RESTORE", b"n", b"-1", &payload]),
            Frame::Error("ERR Invalid TTL value, must be >= 0".into())
        );
        assert_eq!(
            run(server, &[b"RESTORE", b"n", b"0", &bad_crc]),
            Frame::Error("ERR DUMP payload version or checksum are wrong".into())
        );
        assert_eq!(
            run(
                server,
                &[b"RESTORE", b"n", b"0", &payload, b"IDLETIME", b"-1"]
            ),
            Frame::Error("ERR Invalid IDLETIME value, must be >= 0".into())
        );
        assert_eq!(
            run(
                server,
                &[
                    b"RESTORE",
                    b"n",
                    b"0",
                    &payload,
                    b"FREQ",
                    b"1",
                    b"IDLETIME",
                    b"1"
                ]
            ),
            Frame::Error("ERR syntax error".into())
        );
        assert_eq!(
            run(server, &[b"RESTORE", b"n", b"100000", &payload]),
            Frame::Simple("OK".into())
        );
        let ttl = run(server, &[b"PTTL", b"n"]);
        assert!(matches!(ttl, Frame::Integer(ms) if ms > 90_000), "{ttl:?}");
        assert_eq!(
            run(server, &[b"RESTORE", b"old", b"1", &payload, b"ABSTTL"]),
            Frame::Simple("OK".into())
        );
        assert_eq!(run(server, &[b"EXISTS", b"old"]), Frame::Integer(0));
    }
}

/// FLUSHALL saves the empty dataset when save points are configured (and only then), so
/// `rdb_changes_since_last_save` drops to 0 — Redis 7.0's behaviour.
#[test]
fn flushall_saves_with_save_points() {
    let dir = temp_dir("flushall");
    let dir_s = dir.to_string_lossy().to_string();
    let ours = InProcess::start_with_args(&["--dir", &dir_s], &[]).expect("start ours");
    let mut c = ours.connect().expect("connect");
    let changes = |c: &mut RespConn| -> String {
        let Frame::Bulk(info) = cmd(c, &["INFO", "persistence"]) else {
            panic!("INFO")
        };
        String::from_utf8_lossy(&info)
            .lines()
            .find_map(|l| {
                l.strip_prefix("rdb_changes_since_last_save:")
                    .map(str::to_string)
            })
            .expect("field")
    };
    ok(&mut c, &["SET", "k", "v"]);
    ok(&mut c, &["FLUSHALL"]);
    assert_ne!(changes(&mut c), "0");
    assert!(!dir.join("dump.rdb").exists());
    ok(
        &mut c,
        &["CONFIG", "SET", "save", "3600 1 300 100 60 10000"],
    );
    ok(&mut c, &["SET", "k", "v"]);
    ok(&mut c, &["FLUSHALL"]);
    assert_eq!(changes(&mut c), "0");
    assert!(dir.join("dump.rdb").is_file());
    let _ = std::fs::remove_dir_all(&dir);
}

const LIBRARY: &str =
    "#!lua name=mylib\nredis.register_function('myfunc', function(keys, args) return args[1] end)";

/// Function libraries travel in RDB files both ways and survive DEBUG RELOAD.
#[test]
fn function_libraries_in_rdb_files() {
    let dir = temp_dir("functions");
    let dir_s = dir.to_string_lossy().to_string();
    let ours = InProcess::start_with_args(&["--dir", &dir_s], &[]).expect("start ours");
    let mut c = ours.connect().expect("connect");
    assert_eq!(cmd(&mut c, &["FUNCTION", "LOAD", LIBRARY]), bulk("mylib"));
    ok(&mut c, &["SET", "k", "v"]);
    assert_eq!(
        cmd(&mut c, &["DEBUG", "RELOAD"]),
        Frame::Simple("OK".into())
    );
    assert_eq!(
        cmd(&mut c, &["FCALL", "myfunc", "0", "hello"]),
        bulk("hello")
    );
    let want = cmd(&mut c, &["FUNCTION", "LIST", "WITHCODE"]);
    assert_eq!(cmd(&mut c, &["SAVE"]), Frame::Simple("OK".into()));
    drop(c);
    drop(ours);
    let Some(real) = RealRedis::start(&["--dir", &dir_s, "--dbfilename", "dump.rdb"])
        .expect("start redis-server")
    else {
        return;
    };
    let mut r = real.connect().expect("connect");
    assert_eq!(cmd(&mut r, &["FUNCTION", "LIST", "WITHCODE"]), want);
    assert_eq!(
        cmd(&mut r, &["FCALL", "myfunc", "0", "again"]),
        bulk("again")
    );
    assert_eq!(cmd(&mut r, &["SAVE"]), Frame::Simple("OK".into()));
    drop(r);
    drop(real);
    let ours = InProcess::start_with_args(&["--dir", &dir_s], &[]).expect("start ours again");
    let mut c = ours.connect().expect("connect");
    assert_eq!(cmd(&mut c, &["FUNCTION", "LIST", "WITHCODE"]), want);
    assert_eq!(cmd(&mut c, &["GET", "k"]), bulk("v"));
    let _ = std::fs::remove_dir_all(&dir);
}

fn wait_bgsave(c: &mut RespConn) -> String {
    for _ in 0..3000 {
        let Frame::Bulk(info) = cmd(c, &["INFO", "persistence"]) else {
            panic!("INFO")
        };
        let info = String::from_utf8_lossy(&info).to_string();
        if info.contains("rdb_bgsave_in_progress:0\r\n") {
            return info;
        }
        std::thread::sleep(std::time::Duration::from_millis(10));
    }
    panic!("BGSAVE did not finish");
}

/// BGSAVE writes the dataset of the moment it was called, while writes of every kind keep
/// running (overwrites, deletes, new keys, collection changes, MOVE, SWAPDB, FLUSHDB): the file
/// loads into Debian's redis-server with the DEBUG DIGEST taken just before BGSAVE.
#[test]
fn bgsave_is_a_point_in_time_snapshot() {
    let dir = temp_dir("bgsave");
    let dir_s = dir.to_string_lossy().to_string();
    let ours = InProcess::start_with_args(&["--dir", &dir_s], &[]).expect("start ours");
    let mut c = ours.connect().expect("connect");
    ok(&mut c, &["DEBUG", "POPULATE", "200000"]);
    populate(&mut c);
    ok(&mut c, &["SELECT", "2"]);
    ok(&mut c, &["DEBUG", "POPULATE", "20000", "two"]);
    ok(&mut c, &["SELECT", "0"]);
    let before = digest(&mut c);
    assert_eq!(
        cmd(&mut c, &["BGSAVE"]),
        Frame::Simple("Background saving started".into())
    );
    // Writes while the walker runs (it may or may not have reached these keys).
    for i in (0..200000).step_by(97) {
        let k = format!("key:{i}");
        match i % 4 {
            0 => ok(&mut c, &["SET", &k, "changed"]),
            1 => ok(&mut c, &["DEL", &k]),
            2 => ok(&mut c, &["APPEND", &k, "-more"]),
            _ => ok(&mut c, &["MOVE", &k, "5"]),
        }
        ok(&mut c, &["SET", &format!("new:{i}"), "x"]);
    }
    ok(&mut c, &["RPUSH", "l:big", "tail"]);
    ok(&mut c, &["HSET", "h:big", "field1", "new"]);
    ok(&mut c, &["ZADD", "z:big", "1000", "m1"]);
    ok(&mut c, &["XADD", "st", "999-1", "f", "late"]);
    ok(&mut c, &["XACK", "st", "g1", "1-3"]);
    ok(&mut c, &["SWAPDB", "0", "3"]);
    ok(&mut c, &["SELECT", "2"]);
    ok(&mut c, &["FLUSHDB"]);
    ok(&mut c, &["SELECT", "0"]);
    let info = wait_bgsave(&mut c);
    assert!(info.contains("rdb_last_bgsave_status:ok\r\n"), "{info}");
    check_rdb(&dir.join("dump.rdb"));
    let Some(real) = RealRedis::start(&["--dir", &dir_s, "--dbfilename", "dump.rdb"])
        .expect("start redis-server")
    else {
        return;
    };
    let mut r = real.connect().expect("connect");
    assert_eq!(
        digest(&mut r),
        before,
        "the file is not the dataset of the BGSAVE"
    );
    // And the live dataset did change meanwhile.
    assert_ne!(digest(&mut c), before);
    let _ = std::fs::remove_dir_all(&dir);
}

/// FLUSHALL during a BGSAVE makes it fail (as Redis kills the saving child); the next one works.
#[test]
fn flushall_aborts_a_bgsave() {
    let dir = temp_dir("bgsave-abort");
    let dir_s = dir.to_string_lossy().to_string();
    let ours = InProcess::start_with_args(&["--dir", &dir_s], &[]).expect("start ours");
    let mut c = ours.connect().expect("connect");
    ok(&mut c, &["DEBUG", "POPULATE", "300000"]);
    ok(&mut c, &["BGSAVE"]);
    ok(&mut c, &["FLUSHALL"]);
    let info = wait_bgsave(&mut c);
    // The walk may have finished before FLUSHALL reached it; either way the server is sane.
    let aborted = info.contains("rdb_last_bgsave_status:err\r\n");
    assert!(
        aborted != dir.join("dump.rdb").exists() || !aborted,
        "{info}"
    );
    ok(&mut c, &["SET", "k", "v"]);
    ok(&mut c, &["BGSAVE"]);
    let info = wait_bgsave(&mut c);
    assert!(info.contains("rdb_last_bgsave_status:ok\r\n"), "{info}");
    assert!(dir.join("dump.rdb").is_file());
    let _ = std::fs::remove_dir_all(&dir);
}
