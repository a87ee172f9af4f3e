//! Our server over real sockets: protocol handling, connection lifecycle, limits.
//!
//! Scenarios that do not need the embedding API run twice through [`on_both`]:
//! first against Debian's redis-server (which proves the expectations in the
//! test are Redis's behaviour, not our guess), then against ferrodis in-process.

use bytes::Bytes;
use ferrodis_resp::Frame;
use ferrodis_tests::{
    bulk, error, raise_fd_limit, simple, InProcess, OurProcess, RealRedis, RespConn, TestError,
};
use std::io::Write;
use std::net::SocketAddr;
use std::time::{Duration, Instant};

type TestResult = Result<(), TestError>;

const CLOSE_WAIT: Duration = Duration::from_secs(3);

/// Run `scenario` against real Redis (when installed) and then against ours,
/// each started with `options` (config name, value). The label says which one
/// failed.
fn on_both(options: &[(&str, &str)], scenario: impl Fn(SocketAddr) -> TestResult) {
    let mut args: Vec<String> = Vec::new();
    for (k, v) in options {
        args.push(format!("--{k}"));
        args.push((*v).to_string());
    }
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    match RealRedis::start(&args) {
        Ok(Some(real)) => {
            eprintln!("=== scenario against the real redis-server");
            if let Err(e) = scenario(real.addr()) {
                panic!("scenario fails against the real redis-server (test bug): {e}");
            }
        }
        Ok(None) => {}
        Err(e) => panic!("could not start redis-server: {e}"),
    }
    let ours = match InProcess::start_with(options) {
        Ok(s) => s,
        Err(e) => panic!("could not start ferrodis: {e}"),
    };
    eprintln!("=== scenario against ferrodis");
    if let Err(e) = scenario(ours.addr()) {
        panic!("ferrodis: {e}");
    }
}

fn int(n: i64) -> Frame {
    Frame::Integer(n)
}

/// Number of lines in CLIENT LIST, i.e. connected clients.
fn client_count(c: &mut RespConn) -> Result<usize, TestError> {
    match c.cmd(&[b"CLIENT", b"LIST"])? {
        Frame::Bulk(b) | Frame::Verbatim { data: b, .. } => {
            Ok(b.split(|&ch| ch == b'\n').filter(|l| !l.is_empty()).count())
        }
        other => panic!("CLIENT LIST replied {other:?}"),
    }
}

/// Wait until the server reports exactly `n` clients (closing is asynchronous).
fn wait_clients(c: &mut RespConn, n: usize) -> TestResult {
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        let now = client_count(c)?;
        if now == n {
            return Ok(());
        }
        assert!(
            Instant::now() < deadline,
            "server still reports {now} clients, expected {n}"
        );
        std::thread::sleep(Duration::from_millis(10));
    }
}

#[test]
fn basics_ping_echo_set_get() {
    on_both(&[], |addr| {
        let mut c = RespConn::connect(addr)?;
        assert_eq!(c.cmd(&[b"PING"])?, simple("PONG"));
        assert_eq!(c.cmd(&[b"PING", b"hi there"])?, bulk("hi there"));
        assert_eq!(c.cmd(&[b"ECHO", b"\x00\xffbin"])?, bulk(b"\x00\xffbin"));
        assert_eq!(c.cmd(&[b"SET", b"k", b"v"])?, simple("OK"));
        assert_eq!(c.cmd(&[b"GET", b"k"])?, bulk("v"));
        assert_eq!(c.cmd(&[b"GET", b"missing"])?, Frame::NullBulk);
        let big = vec![b'x'; 1 << 20];
        assert_eq!(c.cmd(&[b"SET", b"big", &big])?, simple("OK"));
        assert_eq!(c.cmd(&[b"GET", b"big"])?, Frame::Bulk(Bytes::from(big)));
        assert_eq!(
            c.cmd(&[b"NOSUCHCMD", b"a"])?,
            error("ERR unknown command 'NOSUCHCMD', with args beginning with: 'a' ")
        );
        assert_eq!(
            c.cmd(&[b"GET"])?,
            error("ERR wrong number of arguments for 'get' command")
        );
        Ok(())
    });
}

#[test]
fn inline_commands() {
    on_both(&[], |addr| {
        let mut c = RespConn::connect(addr)?;
        c.send_raw(b"PING\r\n")?;
        assert_eq!(c.read_frame()?, simple("PONG"));
        // Quotes, escapes in double quotes, single quotes; a bare \n also ends a line.
        c.send_raw(b"set a \"b c\\x41\"\r\nget a\nset 'q' 'it''s'\r\n")?;
        assert_eq!(c.read_frame()?, simple("OK"));
        assert_eq!(c.read_frame()?, bulk("b cA"));
        // 'it''s' is not valid: a closing quote must be followed by a space.
        assert_eq!(
            c.read_frame()?,
            error("ERR Protocol error: unbalanced quotes in request")
        );
        assert!(c.closed_within(CLOSE_WAIT)?, "connection must be closed");
        // Empty lines are skipped; inline and multibulk can be mixed in one write.
        let mut c = RespConn::connect(addr)?;
        let mut bytes = b"\r\n\r\nECHO x\r\n".to_vec();
        bytes.extend_from_slice(&ferrodis_tests::encode_command(&[b"ECHO", b"y"]));
        bytes.extend_from_slice(b"ECHO z\r\n");
        c.send_raw(&bytes)?;
        assert_eq!(c.read_frames(3)?, vec![bulk("x"), bulk("y"), bulk("z")]);
        Ok(())
    });
}

#[test]
fn pipeline_100k_commands_in_one_write() {
    on_both(&[], |addr| {
        const N: usize = 100_000;
        let mut c = RespConn::connect(addr)?;
        let mut bytes = Vec::with_capacity(N * 30);
        for i in 0..N {
            // Alternate the two request syntaxes; INCR makes reply order observable.
            if i % 2 == 0 {
                bytes.extend_from_slice(b"INCR pipelined\r\n");
            } else {
                bytes.extend_from_slice(b"*2\r\n$4\r\nINCR\r\n$9\r\npipelined\r\n");
            }
        }
        // Write from another thread so that a server that stops reading while
        // its replies are unread cannot deadlock the test.
        let mut writer = c.stream().try_clone()?;
        let w = std::thread::spawn(move || writer.write_all(&bytes));
        for i in 1..=N {
            let f = c.read_frame()?;
            assert_eq!(f, int(i as i64), "reply {i} of the pipeline");
        }
        w.join().expect("writer thread")?;
        assert_eq!(c.cmd(&[b"GET", b"pipelined"])?, bulk(N.to_string()));
        Ok(())
    });
}

#[test]
fn resp3_via_hello() {
    on_both(&[], |addr| {
        let mut c = RespConn::connect(addr)?;
        let Frame::Map(fields) = c.cmd(&[b"HELLO", b"3"])? else {
            panic!("HELLO 3 must reply with a map");
        };
        let get = |name: &str| {
            fields
                .iter()
                .find(|(k, _)| *k == bulk(name))
                .map(|(_, v)| v.clone())
        };
        assert_eq!(get("server"), Some(bulk("redis")));
        assert_eq!(get("version"), Some(bulk("7.0.15")));
        assert_eq!(get("proto"), Some(int(3)));
        assert_eq!(get("mode"), Some(bulk("standalone")));
        assert_eq!(get("role"), Some(bulk("master")));
        assert_eq!(get("modules"), Some(Frame::Array(vec![])));
        assert!(matches!(get("id"), Some(Frame::Integer(_))));
        assert_eq!(c.cmd(&[b"GET", b"nokey"])?, Frame::Null);
        assert_eq!(c.cmd(&[b"SET", b"k", b"v"])?, simple("OK"));
        assert_eq!(c.cmd(&[b"GET", b"k"])?, bulk("v"));
        assert_eq!(
            c.cmd(&[b"HELLO", b"4"])?,
            error("NOPROTO unsupported protocol version")
        );
        // Back to RESP2: a flat array and $-1.
        assert!(matches!(c.cmd(&[b"HELLO", b"2"])?, Frame::Array(a) if a.len() == 14));
        assert_eq!(c.cmd(&[b"GET", b"nokey"])?, Frame::NullBulk);
        Ok(())
    });
}

#[test]
fn auth_and_requirepass() {
    on_both(&[("requirepass", "secret")], |addr| {
        let mut c = RespConn::connect(addr)?;
        assert_eq!(
            c.cmd(&[b"GET", b"k"])?,
            error("NOAUTH Authentication required.")
        );
        assert_eq!(
            c.cmd(&[b"HELLO", b"3"])?,
            error(
                "NOAUTH HELLO must be called with the client already authenticated, otherwise \
                 the HELLO AUTH <user> <pass> option can be used to authenticate the client and \
                 select the RESP protocol version at the same time"
            )
        );
        assert_eq!(
            c.cmd(&[b"AUTH", b"wrong"])?,
            error("WRONGPASS invalid username-password pair or user is disabled.")
        );
        assert_eq!(
            c.cmd(&[b"AUTH", b"default", b"wrong"])?,
            error("WRONGPASS invalid username-password pair or user is disabled.")
        );
        assert_eq!(c.cmd(&[b"AUTH", b"secret"])?, simple("OK"));
        assert_eq!(c.cmd(&[b"SET", b"k", b"v"])?, simple("OK"));

        let mut h = RespConn::connect(addr)?;
        assert_eq!(
            h.cmd(&[b"HELLO", b"3", b"AUTH", b"default", b"nope"])?,
            error("WRONGPASS invalid username-password pair or user is disabled.")
        );
        let reply = h.cmd(&[b"HELLO", b"3", b"AUTH", b"default", b"secret"])?;
        assert!(
            matches!(reply, Frame::Map(_)),
            "HELLO AUTH replied {reply:?}"
        );
        assert_eq!(h.cmd(&[b"GET", b"k"])?, bulk("v"));
        assert_eq!(h.cmd(&[b"GET", b"nokey"])?, Frame::Null);
        Ok(())
    });
}

#[test]
fn unauthenticated_request_limits_close_the_connection() {
    on_both(&[("requirepass", "secret")], |addr| {
        // More than 10 arguments before AUTH.
        let mut c = RespConn::connect(addr)?;
        c.send_raw(b"*100\r\n")?;
        assert_eq!(
            c.read_frame()?,
            error("ERR Protocol error: unauthenticated multibulk length")
        );
        assert!(c.closed_within(CLOSE_WAIT)?);
        // A bulk larger than 16 KiB before AUTH.
        let mut c = RespConn::connect(addr)?;
        c.send_raw(b"*2\r\n$3\r\nSET\r\n$20000\r\n")?;
        assert_eq!(
            c.read_frame()?,
            error("ERR Protocol error: unauthenticated bulk length")
        );
        assert!(c.closed_within(CLOSE_WAIT)?);
        // Up to 10 arguments is fine (and gets NOAUTH).
        let mut c = RespConn::connect(addr)?;
        let args: Vec<&[u8]> = vec![b"MSET"; 10];
        assert_eq!(c.cmd(&args)?, error("NOAUTH Authentication required."));
        // Once authenticated the limits are gone.
        assert_eq!(c.cmd(&[b"AUTH", b"secret"])?, simple("OK"));
        let mut args: Vec<&[u8]> = vec![b"MSET"];
        args.extend(std::iter::repeat_n([b"k".as_slice(), b"v".as_slice()], 50).flatten());
        assert_eq!(c.cmd(&args)?, simple("OK"));
        Ok(())
    });
}

#[test]
fn oversized_bulk_length_closes_only_that_client() {
    on_both(&[], |addr| {
        let mut good = RespConn::connect(addr)?;
        assert_eq!(good.cmd(&[b"SET", b"k", b"v"])?, simple("OK"));
        let mut bad = RespConn::connect(addr)?;
        bad.send_raw(b"*2\r\n$3\r\nGET\r\n$1073741824\r\n")?;
        assert_eq!(
            bad.read_frame()?,
            error("ERR Protocol error: invalid bulk length")
        );
        assert!(bad.closed_within(CLOSE_WAIT)?);
        assert_eq!(good.cmd(&[b"GET", b"k"])?, bulk("v"));
        // An invalid multibulk count is the same kind of error.
        let mut bad = RespConn::connect(addr)?;
        bad.send_raw(b"*abc\r\n")?;
        assert_eq!(
            bad.read_frame()?,
            error("ERR Protocol error: invalid multibulk length")
        );
        assert!(bad.closed_within(CLOSE_WAIT)?);
        // Garbage where a bulk header is expected.
        let mut bad = RespConn::connect(addr)?;
        bad.send_raw(b"*1\r\n+PING\r\n")?;
        assert_eq!(
            bad.read_frame()?,
            error("ERR Protocol error: expected '$', got '+'")
        );
        assert!(bad.closed_within(CLOSE_WAIT)?);
        assert_eq!(good.cmd(&[b"PING"])?, simple("PONG"));
        Ok(())
    });
}

#[test]
fn client_disconnecting_mid_request_leaves_no_trace() {
    on_both(&[], |addr| {
        let mut watcher = RespConn::connect(addr)?;
        // An unterminated multibulk header, then disconnect.
        let mut c = RespConn::connect(addr)?;
        c.send_raw(b"*3\r\n$3\r\nSET\r\n")?;
        drop(c);
        // A whole header and part of the value, then disconnect.
        let mut c = RespConn::connect(addr)?;
        c.send_raw(b"*3\r\n$3\r\nSET\r\n$4\r\nhalf\r\n$100000\r\nabc")?;
        std::thread::sleep(Duration::from_millis(50));
        drop(c);
        // Half-close after a partial inline command.
        let mut c = RespConn::connect(addr)?;
        c.send_raw(b"SET half x")?;
        c.stream().shutdown(std::net::Shutdown::Write)?;
        assert!(c.closed_within(CLOSE_WAIT)?);
        wait_clients(&mut watcher, 1)?;
        assert_eq!(watcher.cmd(&[b"EXISTS", b"half"])?, int(0));
        assert_eq!(watcher.cmd(&[b"DBSIZE"])?, int(0));
        Ok(())
    });
}

#[test]
fn client_kill_and_quit() {
    on_both(&[], |addr| {
        let mut killer = RespConn::connect(addr)?;
        let mut victim = RespConn::connect(addr)?;
        let Frame::Integer(id) = victim.cmd(&[b"CLIENT", b"ID"])? else {
            panic!("CLIENT ID must be an integer");
        };
        let id = id.to_string();
        assert_eq!(
            killer.cmd(&[b"CLIENT", b"KILL", b"ID", id.as_bytes()])?,
            int(1)
        );
        assert!(victim.closed_within(CLOSE_WAIT)?, "victim must be closed");
        assert_eq!(
            killer.cmd(&[b"CLIENT", b"KILL", b"ID", id.as_bytes()])?,
            int(0)
        );
        // The old form, by address.
        let mut victim2 = RespConn::connect(addr)?;
        // A round trip so the server has surely registered the connection.
        assert_eq!(victim2.cmd(&[b"PING"])?, simple("PONG"));
        let local = victim2.stream().local_addr()?.to_string();
        assert_eq!(
            killer.cmd(&[b"CLIENT", b"KILL", local.as_bytes()])?,
            simple("OK")
        );
        assert!(victim2.closed_within(CLOSE_WAIT)?);
        assert_eq!(
            killer.cmd(&[b"CLIENT", b"KILL", local.as_bytes()])?,
            error("ERR No such client")
        );
        assert_eq!(killer.cmd(&[b"PING"])?, simple("PONG"));
        // QUIT: +OK, then the server closes; commands after it in the same write are not run.
        let mut q = RespConn::connect(addr)?;
        q.send_raw(b"QUIT\r\nSET afterquit 1\r\n")?;
        assert_eq!(q.read_frame()?, simple("OK"));
        assert!(q.closed_within(CLOSE_WAIT)?);
        assert_eq!(killer.cmd(&[b"EXISTS", b"afterquit"])?, int(0));
        Ok(())
    });
}

#[test]
fn select_and_swapdb() {
    on_both(&[], |addr| {
        let mut c = RespConn::connect(addr)?;
        assert_eq!(c.cmd(&[b"SET", b"k", b"zero"])?, simple("OK"));
        assert_eq!(c.cmd(&[b"SELECT", b"1"])?, simple("OK"));
        assert_eq!(c.cmd(&[b"GET", b"k"])?, Frame::NullBulk);
        assert_eq!(c.cmd(&[b"SET", b"k", b"one"])?, simple("OK"));
        assert_eq!(c.cmd(&[b"SET", b"only1", b"x"])?, simple("OK"));
        let mut other = RespConn::connect(addr)?;
        assert_eq!(other.cmd(&[b"GET", b"k"])?, bulk("zero"));
        assert_eq!(c.cmd(&[b"SWAPDB", b"0", b"1"])?, simple("OK"));
        // Clients keep their DB index; the data moved under them.
        assert_eq!(c.cmd(&[b"GET", b"k"])?, bulk("zero"));
        assert_eq!(other.cmd(&[b"GET", b"k"])?, bulk("one"));
        assert_eq!(other.cmd(&[b"DBSIZE"])?, int(2));
        assert_eq!(c.cmd(&[b"DBSIZE"])?, int(1));
        assert_eq!(
            c.cmd(&[b"SELECT", b"16"])?,
            error("ERR DB index is out of range")
        );
        assert_eq!(
            c.cmd(&[b"SELECT", b"abc"])?,
            error("ERR value is not an integer or out of range")
        );
        assert_eq!(
            c.cmd(&[b"SWAPDB", b"0", b"16"])?,
            error("ERR DB index is out of range")
        );
        assert_eq!(
            c.cmd(&[b"SWAPDB", b"x", b"1"])?,
            error("ERR invalid first DB index")
        );
        assert_eq!(
            c.cmd(&[b"SWAPDB", b"1", b"y"])?,
            error("ERR invalid second DB index")
        );
        assert_eq!(c.cmd(&[b"SWAPDB", b"3", b"3"])?, simple("OK"));
        assert_eq!(c.cmd(&[b"MOVE", b"k", b"0"])?, int(0));
        assert_eq!(c.cmd(&[b"MOVE", b"k", b"5"])?, int(1));
        assert_eq!(c.cmd(&[b"SELECT", b"5"])?, simple("OK"));
        assert_eq!(c.cmd(&[b"GET", b"k"])?, bulk("zero"));
        Ok(())
    });
}

#[test]
fn maxclients_rejects_the_extra_connection() {
    on_both(&[("maxclients", "5")], |addr| {
        let mut first = RespConn::connect(addr)?;
        // The readiness probe of the launcher may still be registered.
        wait_clients(&mut first, 1)?;
        let mut conns = vec![first];
        for _ in 0..4 {
            let mut c = RespConn::connect(addr)?;
            assert_eq!(c.cmd(&[b"PING"])?, simple("PONG"));
            conns.push(c);
        }
        let mut sixth = RespConn::connect(addr)?;
        assert_eq!(
            sixth.read_frame()?,
            error("ERR max number of clients reached")
        );
        assert!(sixth.closed_within(CLOSE_WAIT)?);
        // Freeing a slot lets a new client in.
        drop(conns.pop());
        wait_clients(&mut conns[0], 4)?;
        let mut again = RespConn::connect(addr)?;
        assert_eq!(again.cmd(&[b"PING"])?, simple("PONG"));
        Ok(())
    });
}

#[test]
fn ten_thousand_concurrent_clients() {
    const N: usize = 10_000;
    let started = Instant::now();
    // In-process, both ends of every connection count against this process's
    // RLIMIT_NOFILE. When the hard limit cannot be raised that far (containers
    // without CAP_SYS_RESOURCE), serve from our binary as a child process,
    // which raises its own limit for maxclients.
    let limit = raise_fd_limit(2 * N as u64 + 1000);
    let in_process;
    let child;
    let addr = if limit >= 2 * N as u64 + 200 {
        in_process = InProcess::start_with(&[("maxclients", "10100")]).expect("start ferrodis");
        in_process.addr()
    } else {
        assert!(
            limit >= N as u64 + 200,
            "RLIMIT_NOFILE is {limit}: not even the client side fits"
        );
        child = match OurProcess::start(&["--maxclients", "10100"]) {
            Ok(Some(c)) => c,
            Ok(None) => panic!(
                "RLIMIT_NOFILE is {limit}, too low for 2x{N} sockets in-process, and the \
                 redis-server binary is not built (cargo build -p redis-server)"
            ),
            Err(e) => panic!("start our redis-server binary: {e}"),
        };
        eprintln!("fd limit {limit}: serving from the binary in a child process");
        child.addr()
    };
    let mut conns = Vec::with_capacity(N);
    for i in 0..N {
        match RespConn::connect(addr) {
            Ok(c) => conns.push(c),
            Err(e) => panic!("connection {i}: {e}"),
        }
    }
    // Every client sends PING before any reads, so all are open at once.
    for (i, c) in conns.iter_mut().enumerate() {
        if let Err(e) = c.send(&[b"PING"]) {
            panic!("send on connection {i}: {e}");
        }
    }
    for (i, c) in conns.iter_mut().enumerate() {
        match c.read_frame() {
            Ok(f) => assert_eq!(f, simple("PONG"), "connection {i}"),
            Err(e) => panic!("read on connection {i}: {e}"),
        }
    }
    let mut probe = RespConn::connect(addr).expect("probe");
    assert_eq!(client_count(&mut probe).expect("CLIENT LIST"), N + 1);
    drop(conns);
    wait_clients(&mut probe, 1).expect("clients freed");
    eprintln!("10k clients: {:?}", started.elapsed());
    assert!(started.elapsed() < Duration::from_secs(60));
}

#[test]
fn shutdown_via_embedding_api() {
    let mut server = InProcess::start().expect("start ferrodis");
    let addr = server.addr();
    let mut c = server.connect().expect("connect");
    assert_eq!(c.cmd(&[b"SET", b"k", b"v"]).expect("SET"), simple("OK"));
    // In-process execution sees the same data.
    let running = server.server().expect("running");
    assert_eq!(
        running.execute(&[b"GET", b"k"]),
        ferrodis_commands::Reply::Bulk(Bytes::from_static(b"v"))
    );
    server.shutdown();
    assert!(
        c.closed_within(CLOSE_WAIT).expect("read"),
        "clients are disconnected"
    );
    assert!(
        RespConn::connect(addr).is_err(),
        "the listener must be closed after shutdown"
    );
}

#[test]
fn shutdown_command_wakes_the_embedder() {
    let mut server = InProcess::start().expect("start ferrodis");
    let mut c = server.connect().expect("connect");
    assert_eq!(c.cmd(&[b"SET", b"k", b"v"]).expect("SET"), simple("OK"));
    c.send(&[b"SHUTDOWN", b"NOSAVE"]).expect("send");
    // Redis sends no reply to a successful SHUTDOWN: the connection just closes.
    let woke = {
        let running = server.server().expect("running");
        server.runtime().block_on(async {
            tokio::time::timeout(Duration::from_secs(5), running.wait_for_shutdown())
                .await
                .is_ok()
        })
    };
    assert!(woke, "wait_for_shutdown must resolve after SHUTDOWN");
    server.shutdown();
    assert!(c.closed_within(CLOSE_WAIT).expect("read"));
}

/// The binary serves connections on single-threaded runtimes (io-threads): commands that block
/// their thread (DEBUG SLEEP) must work there too, with one thread and with several.
#[test]
fn binary_connection_threads_survive_blocking_debug_sleep() {
    for threads in ["1", "3"] {
        let child =
            match OurProcess::start(&["--io-threads", threads, "--enable-debug-command", "yes"]) {
                Ok(Some(c)) => c,
                Ok(None) => return, // binary not built next to the tests
                Err(e) => panic!("start redis-server: {e}"),
            };
        let mut c = child.connect().expect("connect");
        assert_eq!(c.cmd_str("DEBUG SLEEP 0.01").ok(), Some(simple("OK")));
        assert_eq!(c.cmd_str("PING").ok(), Some(simple("PONG")));
        let mut other = child.connect().expect("connect");
        assert_eq!(other.cmd_str("SET k v").ok(), Some(simple("OK")));
        assert_eq!(c.cmd_str("GET k").ok(), Some(bulk("v")));
    }
}

/// `client-output-buffer-limit normal`: a reply that would leave more than the hard limit
/// pending closes the client without any of it; others keep being served.
#[test]
fn normal_client_over_its_output_limit_is_closed_without_a_reply() {
    on_both(&[], |addr| {
        let mut c = RespConn::connect(addr)?;
        let limit = |v: &str| -> Vec<Vec<u8>> {
            ["CONFIG", "SET", "client-output-buffer-limit", v]
                .iter()
                .map(|a| a.as_bytes().to_vec())
                .collect()
        };
        let set = |c: &mut RespConn, v: &str| -> TestResult {
            let args = limit(v);
            let args: Vec<&[u8]> = args.iter().map(Vec::as_slice).collect();
            assert_eq!(c.cmd(&args)?, simple("OK"));
            Ok(())
        };
        set(&mut c, "normal 100000 0 0")?;
        let item = "x".repeat(1000);
        for _ in 0..150 {
            c.cmd(&[b"RPUSH", b"biglist", item.as_bytes()])?;
        }
        let mut big = RespConn::connect(addr)?;
        big.send(&[b"LRANGE", b"biglist", b"0", b"-1"])?;
        assert!(
            big.closed_within(CLOSE_WAIT)?,
            "the client over its output limit was not closed"
        );
        // A reply under the limit is still served.
        assert_eq!(c.cmd_str("LLEN biglist")?, Frame::Integer(150));
        set(&mut c, "normal 0 0 0")?;
        Ok(())
    });
}
