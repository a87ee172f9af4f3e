//! Introspection over real sockets: CLIENT LIST fields, MONITOR and SLOWLOG for commands run
//! by EXEC and for blocked commands, latency histograms (LATENCY HISTOGRAM, INFO
//! latencystats), errorstats inside EXEC, CONFIG SET of unchanged values, and CLIENT PAUSE
//! (paused clients counted as blocked, expiry held while paused).

use ferrodis_resp::Frame;
use ferrodis_tests::{bulk, simple, InProcess, RespConn};
use std::time::{Duration, Instant};

fn server() -> InProcess {
    InProcess::start().expect("start ferrodis")
}

fn run(c: &mut RespConn, line: &str) -> Frame {
    c.cmd_str(line).expect("reply")
}

fn text(f: Frame) -> String {
    match f {
        Frame::Bulk(b) => String::from_utf8_lossy(&b).into_owned(),
        Frame::Verbatim { data, .. } => String::from_utf8_lossy(&data).into_owned(),
        other => panic!("expected a bulk string, got {other:?}"),
    }
}

/// One `field:value` line of an INFO section.
fn info_field(c: &mut RespConn, section: &str, field: &str) -> Option<String> {
    let info = text(run(c, &format!("INFO {section}")));
    info.lines()
        .find_map(|l| l.strip_prefix(&format!("{field}:")).map(str::to_string))
}

/// The argument lists of SLOWLOG GET, newest first.
fn slowlog_args(c: &mut RespConn) -> Vec<Vec<String>> {
    let Frame::Array(entries) = run(c, "SLOWLOG GET -1") else {
        panic!("SLOWLOG GET reply");
    };
    entries
        .into_iter()
        .map(|e| {
            let Frame::Array(fields) = e else {
                panic!("slowlog entry");
            };
            let Some(Frame::Array(args)) = fields.get(3).cloned() else {
                panic!("slowlog arguments");
            };
            args.into_iter().map(text).collect()
        })
        .collect()
}

fn wait_for(what: &str, mut cond: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(5);
    while !cond() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(10));
    }
}

#[test]
fn client_list_reports_the_whole_query_buffer_and_every_field_in_order() {
    let s = server();
    let mut c = s.connect().unwrap();
    let line = text(run(&mut c, "CLIENT LIST"));
    // `*2\r\n$6\r\nclient\r\n$4\r\nlist\r\n` is 26 bytes, still in the buffer while it runs.
    assert!(line.contains(" qbuf=26 "), "{line}");
    let fields: Vec<&str> = line
        .split_whitespace()
        .map(|f| f.split('=').next().unwrap_or(""))
        .collect();
    assert_eq!(
        fields,
        [
            "id",
            "addr",
            "laddr",
            "fd",
            "name",
            "age",
            "idle",
            "flags",
            "db",
            "sub",
            "psub",
            "ssub",
            "multi",
            "qbuf",
            "qbuf-free",
            "argv-mem",
            "multi-mem",
            "rbs",
            "rbp",
            "obl",
            "oll",
            "omem",
            "tot-mem",
            "events",
            "cmd",
            "user",
            "redir",
            "resp"
        ]
    );
    let info = text(run(&mut c, "CLIENT INFO"));
    assert!(
        info.contains(" qbuf=26 ") && info.contains(" cmd=client|info "),
        "{info}"
    );
}

#[test]
fn monitor_shows_commands_run_by_exec_between_multi_and_exec() {
    let s = server();
    let mut mon = s.connect().unwrap();
    assert_eq!(run(&mut mon, "MONITOR"), simple("OK"));
    let mut c = s.connect().unwrap();
    run(&mut c, "MULTI");
    run(&mut c, "SET foo bar");
    run(&mut c, "EXEC");
    run(&mut c, "CONFIG SET masterauth secret");
    run(&mut c, "PING");
    let lines: Vec<String> = mon
        .read_frames(4)
        .unwrap()
        .into_iter()
        .map(|f| match f {
            Frame::Simple(b) => String::from_utf8_lossy(&b).into_owned(),
            other => panic!("monitor line {other:?}"),
        })
        .collect();
    assert!(lines[0].ends_with("\"MULTI\""), "{lines:?}");
    assert!(lines[1].ends_with("\"SET\" \"foo\" \"bar\""), "{lines:?}");
    assert!(lines[2].ends_with("\"EXEC\""), "{lines:?}");
    // CONFIG is an admin command: never shown.
    assert!(lines[3].ends_with("\"PING\""), "{lines:?}");
    // `<secs>.<usecs> [<db> <addr>] "cmd" "arg"...`
    assert!(
        lines[1].as_bytes()[0].is_ascii_digit() && lines[1].contains(" [0 127.0.0.1:"),
        "{lines:?}"
    );
}

#[test]
fn slowlog_logs_commands_inside_exec_not_exec_and_redacts_sensitive_configs() {
    let s = server();
    let mut c = s.connect().unwrap();
    run(&mut c, "CONFIG SET slowlog-log-slower-than 0");
    run(&mut c, "SLOWLOG RESET");
    run(&mut c, "MULTI");
    run(&mut c, "SET k v");
    run(&mut c, "INCR n");
    run(&mut c, "EXEC");
    run(&mut c, "CONFIG SET masterauth hunter2");
    let got = slowlog_args(&mut c);
    assert_eq!(
        got,
        vec![
            vec!["CONFIG", "SET", "masterauth", "(redacted)"],
            vec!["INCR", "n"],
            vec!["SET", "k", "v"],
            vec!["MULTI"],
            vec!["SLOWLOG", "RESET"],
        ]
    );
}

#[test]
fn a_blocked_command_is_slowlogged_when_it_is_served() {
    let s = server();
    let mut c = s.connect().unwrap();
    let mut blocked = s.connect().unwrap();
    run(&mut c, "CONFIG SET slowlog-log-slower-than 0");
    blocked.send(&[b"BLPOP", b"l", b"0"]).unwrap();
    wait_for("the blocked client", || {
        info_field(&mut c, "clients", "blocked_clients").as_deref() == Some("1")
    });
    run(&mut c, "SLOWLOG RESET");
    run(&mut c, "LPUSH l foo");
    assert_eq!(
        blocked.read_frame().unwrap(),
        Frame::Array(vec![bulk("l"), bulk("foo")])
    );
    wait_for("the BLPOP entry", || {
        slowlog_args(&mut c)
            .iter()
            .any(|a| a == &["BLPOP", "l", "0"])
    });
}

#[test]
fn latency_histograms_per_command_and_in_info() {
    let s = server();
    let mut c = s.connect().unwrap();
    run(&mut c, "CONFIG RESETSTAT");
    run(&mut c, "CLIENT ID");
    run(&mut c, "CLIENT LIST");
    run(&mut c, "SET a b");
    run(&mut c, "SET a c");
    // A container brings its subcommands; unknown names are skipped.
    let Frame::Array(h) = run(&mut c, "LATENCY HISTOGRAM client nosuch") else {
        panic!("LATENCY HISTOGRAM reply");
    };
    let names: Vec<String> = h.iter().step_by(2).cloned().map(text).collect();
    assert_eq!(names.len(), 2, "{names:?}");
    assert!(names.contains(&"client|id".to_string()) && names.contains(&"client|list".to_string()));
    let Frame::Array(h) = run(&mut c, "LATENCY HISTOGRAM set") else {
        panic!("LATENCY HISTOGRAM reply");
    };
    assert_eq!(h[0], bulk("set"));
    let Frame::Array(body) = &h[1] else {
        panic!("histogram body");
    };
    assert_eq!(body[0], bulk("calls"));
    assert_eq!(body[1], Frame::Integer(2));
    assert_eq!(body[2], bulk("histogram_usec"));
    let Frame::Array(buckets) = &body[3] else {
        panic!("buckets");
    };
    // Cumulative counts end at the number of calls.
    assert_eq!(buckets.last(), Some(&Frame::Integer(2)));

    let line = info_field(&mut c, "latencystats", "latency_percentiles_usec_set").unwrap();
    let keys: Vec<&str> = line
        .split(',')
        .map(|p| p.split('=').next().unwrap_or(""))
        .collect();
    assert_eq!(keys, ["p50", "p99", "p99.9"], "{line}");
    c.cmd(&[
        b"CONFIG",
        b"SET",
        b"latency-tracking-info-percentiles",
        b"0 50 100",
    ])
    .unwrap();
    let line = info_field(&mut c, "latencystats", "latency_percentiles_usec_set").unwrap();
    assert!(line.starts_with("p0=") && line.contains(",p100="), "{line}");

    run(&mut c, "CONFIG RESETSTAT");
    run(&mut c, "CONFIG SET latency-tracking no");
    run(&mut c, "SET a b");
    assert_eq!(
        info_field(&mut c, "latencystats", "latency_percentiles_usec_set"),
        None
    );
    assert_eq!(run(&mut c, "LATENCY HISTOGRAM set"), Frame::Array(vec![]));
}

#[test]
fn errors_inside_exec_count_in_errorstats() {
    let s = server();
    let mut c = s.connect().unwrap();
    run(&mut c, "CONFIG RESETSTAT");
    run(&mut c, "MULTI");
    run(&mut c, "SET a b");
    run(&mut c, "AUTH a");
    run(&mut c, "EXEC");
    assert_eq!(
        info_field(&mut c, "errorstats", "errorstat_ERR").as_deref(),
        Some("count=1")
    );
    assert_eq!(
        info_field(&mut c, "stats", "total_error_replies").as_deref(),
        Some("1")
    );
}

#[test]
fn config_set_of_unchanged_bind_and_shards_is_accepted() {
    let s = server();
    let mut c = s.connect().unwrap();
    let Frame::Array(kv) = run(&mut c, "CONFIG GET bind") else {
        panic!("CONFIG GET reply");
    };
    let bind = text(kv[1].clone());
    assert_eq!(
        c.cmd(&[b"CONFIG", b"SET", b"bind", bind.as_bytes()])
            .unwrap(),
        simple("OK")
    );
    let Frame::Array(kv) = run(&mut c, "CONFIG GET shards") else {
        panic!("CONFIG GET reply");
    };
    let shards = text(kv[1].clone());
    assert_eq!(
        c.cmd(&[b"CONFIG", b"SET", b"shards", shards.as_bytes()])
            .unwrap(),
        simple("OK")
    );
    let other = if shards == "1" { "2" } else { "1" };
    assert_eq!(
        c.cmd(&[b"CONFIG", b"SET", b"shards", other.as_bytes()]).unwrap(),
        Frame::Error(
            "ERR CONFIG SET failed (possibly related to argument 'shards') - can't set immutable config"
                .into()
        )
    );
    // The server still serves after the same-value rebind.
    assert_eq!(run(&mut s.connect().unwrap(), "PING"), simple("PONG"));
}

#[test]
fn client_pause_counts_paused_clients_as_blocked_and_holds_expiry() {
    let s = server();
    let mut c = s.connect().unwrap();
    let expired_before: u64 = info_field(&mut c, "stats", "expired_keys")
        .unwrap()
        .parse()
        .unwrap();
    run(&mut c, "SET k v PX 10");
    run(&mut c, "CLIENT PAUSE 60000 WRITE");
    let mut writer = s.connect().unwrap();
    writer.send(&[b"SET", b"w", b"1"]).unwrap();
    wait_for("the paused writer", || {
        info_field(&mut c, "clients", "blocked_clients").as_deref() == Some("1")
    });
    // A command that fails its arity check is answered at once.
    assert!(matches!(
        run(&mut s.connect().unwrap(), "SET x"),
        Frame::Error(_)
    ));
    std::thread::sleep(Duration::from_millis(50));
    // Logically expired, but not deleted while paused.
    assert_eq!(run(&mut c, "GET k"), Frame::NullBulk);
    assert_eq!(
        info_field(&mut c, "stats", "expired_keys").unwrap(),
        expired_before.to_string()
    );
    run(&mut c, "CLIENT UNPAUSE");
    assert_eq!(writer.read_frame().unwrap(), simple("OK"));
    assert_eq!(run(&mut c, "GET k"), Frame::NullBulk);
    assert_eq!(
        info_field(&mut c, "stats", "expired_keys").unwrap(),
        (expired_before + 1).to_string()
    );
}

#[test]
fn debug_is_refused_unless_enable_debug_command_allows_it() {
    let s = InProcess::start_with(&[("enable-debug-command", "no")]).expect("start ferrodis");
    let mut c = s.connect().unwrap();
    let Frame::Error(e) = run(&mut c, "DEBUG HELP") else {
        panic!("DEBUG allowed with enable-debug-command no");
    };
    assert!(e.starts_with(b"ERR DEBUG command not allowed."), "{e:?}");
    // Counted as a rejected call.
    let line = info_field(&mut c, "commandstats", "cmdstat_debug").unwrap_or_default();
    assert!(line.contains("rejected_calls=1"), "{line}");

    let s = InProcess::start_with(&[("enable-debug-command", "local")]).expect("start ferrodis");
    let mut c = s.connect().unwrap();
    assert_eq!(run(&mut c, "DEBUG SLEEP 0"), simple("OK"));
}

/// `qbuf=` + `qbuf-free=` of the client named `name`.
fn query_buffer_of(c: &mut RespConn, name: &str) -> usize {
    let list = text(run(c, "CLIENT LIST"));
    let line = list
        .lines()
        .find(|l| l.contains(&format!(" name={name} ")))
        .unwrap_or_else(|| panic!("no client {name} in {list}"));
    let field = |f: &str| -> usize {
        line.split_whitespace()
            .find_map(|kv| kv.strip_prefix(&format!("{f}=")))
            .and_then(|v| v.parse().ok())
            .unwrap_or_else(|| panic!("no {f} in {line}"))
    };
    field("qbuf") + field("qbuf-free")
}

#[test]
fn query_buffers_shrink_past_their_peak_and_are_freed_when_idle() {
    let s = server();
    let mut c = s.connect().unwrap();
    let mut big = s.connect().unwrap();
    run(&mut big, "CLIENT SETNAME big");
    let start = query_buffer_of(&mut c, "big");
    assert!((16 * 1024..32 * 1024).contains(&start), "{start}");
    let value = vec![b'A'; 400_000];
    assert_eq!(big.cmd(&[b"SET", b"x", &value]).unwrap(), simple("OK"));
    let grown = query_buffer_of(&mut c, "big");
    assert!(grown > 32 * 1024, "{grown}");
    // Small requests: within a few checks the buffer falls back below its grown size.
    let deadline = Instant::now() + Duration::from_secs(3);
    loop {
        run(&mut big, "SET x small");
        let now = query_buffer_of(&mut c, "big");
        if now < grown {
            assert!(now > 0);
            break;
        }
        assert!(Instant::now() < deadline, "query buffer stayed at {now}");
        std::thread::sleep(Duration::from_millis(20));
    }
    // Idle for over 2 seconds: the buffer is given back entirely.
    wait_for_idle_release(&mut c);
    // And the client still works.
    assert_eq!(run(&mut big, "GET x"), bulk("small"));
}

fn wait_for_idle_release(c: &mut RespConn) {
    let deadline = Instant::now() + Duration::from_secs(6);
    while query_buffer_of(c, "big") != 0 {
        assert!(Instant::now() < deadline, "idle query buffer not freed");
        std::thread::sleep(Duration::from_millis(100));
    }
}

#[test]
fn unlink_frees_big_values_in_the_background_and_counts_them() {
    let s = server();
    let mut c = s.connect().unwrap();
    let freed = |c: &mut RespConn| info_field(c, "memory", "lazyfreed_objects").unwrap();
    run(&mut c, "CONFIG RESETSTAT");
    let mut sadd: Vec<Vec<u8>> = vec![b"SADD".to_vec(), b"big".to_vec()];
    sadd.extend((0..1000).map(|i| format!("m{i}").into_bytes()));
    let args: Vec<&[u8]> = sadd.iter().map(Vec::as_slice).collect();
    assert_eq!(c.cmd(&args).unwrap(), Frame::Integer(1000));
    run(&mut c, "SADD small a b c");
    assert_eq!(run(&mut c, "UNLINK big small nosuch"), Frame::Integer(2));
    wait_for("the background free", || freed(&mut c) == "1");
    assert_eq!(
        info_field(&mut c, "memory", "lazyfree_pending_objects").as_deref(),
        Some("0")
    );
    // DEL frees the same way with lazyfree-lazy-user-del.
    run(&mut c, "CONFIG SET lazyfree-lazy-user-del yes");
    assert_eq!(c.cmd(&args).unwrap(), Frame::Integer(1000));
    assert_eq!(run(&mut c, "DEL big"), Frame::Integer(1));
    wait_for("the second background free", || freed(&mut c) == "2");
    run(&mut c, "CONFIG RESETSTAT");
    assert_eq!(freed(&mut c), "0");
}

#[test]
fn writes_are_refused_past_maxmemory_with_noeviction() {
    let s = server();
    let mut c = s.connect().unwrap();
    let mut admin = s.connect().unwrap();
    run(&mut c, "SET x value");
    run(&mut c, "CONFIG RESETSTAT");
    run(&mut admin, "CONFIG SET maxmemory 1");
    let oom = Frame::Error("OOM command not allowed when used memory > 'maxmemory'.".into());
    assert_eq!(run(&mut c, "SET a b"), oom);
    // Reads still work.
    assert_eq!(run(&mut c, "GET x"), bulk("value"));
    let line = info_field(&mut c, "commandstats", "cmdstat_set").unwrap();
    assert!(
        line.contains("calls=0,") && line.contains("rejected_calls=1"),
        "{line}"
    );
    // In MULTI anything queued is refused; DISCARD is not.
    run(&mut c, "MULTI");
    assert_eq!(run(&mut c, "GET x"), oom);
    assert_eq!(run(&mut c, "DISCARD"), simple("OK"));
    // An EXEC holding a write aborts; one holding only reads runs.
    run(&mut admin, "CONFIG SET maxmemory 0");
    run(&mut c, "MULTI");
    run(&mut c, "SET y 1");
    run(&mut admin, "CONFIG SET maxmemory 1");
    assert_eq!(
        run(&mut c, "EXEC"),
        Frame::Error(
            "EXECABORT Transaction discarded because of: OOM command not allowed when used memory > 'maxmemory'."
                .into()
        )
    );
    run(&mut admin, "CONFIG SET maxmemory 0");
    run(&mut c, "MULTI");
    run(&mut c, "GET x");
    run(&mut admin, "CONFIG SET maxmemory 1");
    assert_eq!(run(&mut c, "EXEC"), Frame::Array(vec![bulk("value")]));
    // Only noeviction refuses (eviction policies are not enforced yet).
    run(&mut admin, "CONFIG SET maxmemory-policy allkeys-lru");
    assert_eq!(run(&mut c, "SET a b"), simple("OK"));
    run(&mut admin, "CONFIG SET maxmemory 0");
}

#[test]
fn config_set_bind_rebinds_overlapping_addresses_and_keeps_them_on_failure() {
    let s = server();
    let mut c = s.connect().unwrap();
    // The same address again plus an optional one: the old listener must make way.
    assert_eq!(
        c.cmd(&[b"CONFIG", b"SET", b"bind", b"127.0.0.1 -::1"])
            .unwrap(),
        simple("OK")
    );
    assert_eq!(run(&mut s.connect().unwrap(), "PING"), simple("PONG"));
    assert_eq!(
        c.cmd(&[b"CONFIG", b"SET", b"bind", b"999.999.999.999"]).unwrap(),
        Frame::Error(
            "ERR CONFIG SET failed (possibly related to argument 'bind') - Failed to bind to specified addresses."
                .into()
        )
    );
    let Frame::Array(kv) = run(&mut c, "CONFIG GET bind") else {
        panic!("CONFIG GET reply");
    };
    assert_eq!(kv[1], bulk("127.0.0.1 -::1"));
    assert_eq!(run(&mut s.connect().unwrap(), "PING"), simple("PONG"));
}
