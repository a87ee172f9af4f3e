//! Real Redis tools against ferrodis: redis-cli (one-shot commands and `--pipe`
//! mass insertion) and redis-benchmark.
//!
//! The server is our built `redis-server` binary when it exists next to the test
//! executable (`cargo build -p redis-server`), so the binary's own startup path is
//! covered too; otherwise the server is started in-process.

use ferrodis_resp::Frame;
use ferrodis_tests::{
    encode_command, require_tool, ChildServer, InProcess, OurProcess, RealRedis, RespConn,
};
use std::io::{Read, Write};
use std::net::SocketAddr;
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

/// Keeps whichever kind of server was started alive for the test's duration.
enum Ours {
    Process(ChildServer),
    InProcess(InProcess),
}

impl Ours {
    fn start() -> Ours {
        match OurProcess::start(&[]) {
            Ok(Some(child)) => Ours::Process(child),
            Ok(None) => Ours::InProcess(InProcess::start().expect("start ferrodis in-process")),
            Err(e) => panic!("start our redis-server binary: {e}"),
        }
    }

    fn addr(&self) -> SocketAddr {
        match self {
            Ours::Process(c) => c.addr(),
            Ours::InProcess(s) => s.addr(),
        }
    }
}

/// Run a tool with `stdin` fed from a thread, killing it after `limit`.
fn run(program: &str, args: &[String], stdin: Vec<u8>, limit: Duration) -> Output {
    let mut child = Command::new(program)
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("spawn {program}: {e}"));
    let mut input = child.stdin.take().expect("stdin is piped");
    let feeder = std::thread::spawn(move || {
        // A tool that exits early closes the pipe; that shows in its output.
        let _ = input.write_all(&stdin);
    });
    let mut stdout = child.stdout.take().expect("stdout is piped");
    let mut stderr = child.stderr.take().expect("stderr is piped");
    let out_reader = std::thread::spawn(move || {
        let mut v = Vec::new();
        let _ = stdout.read_to_end(&mut v);
        v
    });
    let err_reader = std::thread::spawn(move || {
        let mut v = Vec::new();
        let _ = stderr.read_to_end(&mut v);
        v
    });
    let deadline = Instant::now() + limit;
    let status = loop {
        match child.try_wait() {
            Ok(Some(status)) => break status,
            Ok(None) if Instant::now() < deadline => std::thread::sleep(Duration::from_millis(20)),
            Ok(None) => {
                let _ = child.kill();
                let _ = child.wait();
                panic!("{program} {args:?} did not finish within {limit:?}");
            }
            Err(e) => panic!("wait for {program}: {e}"),
        }
    };
    let _ = feeder.join();
    Output {
        status,
        stdout: out_reader.join().unwrap_or_default(),
        stderr: err_reader.join().unwrap_or_default(),
    }
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

fn port_args(addr: SocketAddr) -> Vec<String> {
    vec![
        "-h".into(),
        addr.ip().to_string(),
        "-p".into(),
        addr.port().to_string(),
    ]
}

fn with_port(addr: SocketAddr, rest: &[&str]) -> Vec<String> {
    let mut v = port_args(addr);
    v.extend(rest.iter().map(|s| s.to_string()));
    v
}

#[test]
fn redis_cli_one_shot_commands() {
    if !require_tool("redis-cli") {
        return;
    }
    // First against the real server: proves the expected outputs are redis-cli's.
    if let Some(real) = RealRedis::start(&[]).expect("start redis-server") {
        one_shot_commands(real.addr());
    }
    let ours = Ours::start();
    one_shot_commands(ours.addr());
}

fn one_shot_commands(addr: SocketAddr) {
    let limit = Duration::from_secs(20);
    let out = run(
        "redis-cli",
        &with_port(addr, &["set", "a", "b"]),
        vec![],
        limit,
    );
    assert!(out.status.success(), "stderr: {}", text(&out.stderr));
    assert_eq!(text(&out.stdout), "OK\n");
    let out = run("redis-cli", &with_port(addr, &["get", "a"]), vec![], limit);
    assert_eq!(text(&out.stdout), "b\n");
    // Arguments from stdin (-x) and a missing key (nil in non-tty mode is empty).
    let out = run(
        "redis-cli",
        &with_port(addr, &["-x", "set", "fromstdin"]),
        b"hello\nworld".to_vec(),
        limit,
    );
    assert_eq!(text(&out.stdout), "OK\n", "stderr: {}", text(&out.stderr));
    let out = run(
        "redis-cli",
        &with_port(addr, &["strlen", "fromstdin"]),
        vec![],
        limit,
    );
    assert_eq!(text(&out.stdout), "11\n");
    // Errors print as "(error) ..." only on a tty; piped they are the bare
    // line followed by an empty one.
    let out = run("redis-cli", &with_port(addr, &["incr", "a"]), vec![], limit);
    assert_eq!(
        text(&out.stdout),
        "ERR value is not an integer or out of range\n\n"
    );
    // Commands from stdin, one per line (redis-cli's batch mode).
    let out = run(
        "redis-cli",
        &port_args(addr),
        b"set n 41\nincr n\nping\n".to_vec(),
        limit,
    );
    let stdout = text(&out.stdout);
    assert_eq!(stdout, "OK\n42\nPONG\n");
}

#[test]
fn redis_cli_pipe_mass_insertion() {
    if !require_tool("redis-cli") {
        return;
    }
    const N: usize = 10_000;
    let ours = Ours::start();
    let mut input = Vec::new();
    for i in 0..N {
        let k = format!("key:{i}");
        let v = format!("value:{i}");
        input.extend_from_slice(&encode_command(&[b"SET", k.as_bytes(), v.as_bytes()]));
    }
    let out = run(
        "redis-cli",
        &with_port(ours.addr(), &["--pipe"]),
        input,
        Duration::from_secs(60),
    );
    let stdout = text(&out.stdout);
    assert!(
        out.status.success(),
        "stdout: {stdout}\nstderr: {}",
        text(&out.stderr)
    );
    assert!(
        stdout.contains(&format!("errors: 0, replies: {N}")),
        "summary line missing: {stdout}"
    );
    let mut c = RespConn::connect(ours.addr()).expect("connect");
    assert_eq!(
        c.cmd(&[b"DBSIZE"]).expect("DBSIZE"),
        Frame::Integer(N as i64)
    );
    assert_eq!(
        c.cmd(&[b"GET", b"key:9999"]).expect("GET"),
        ferrodis_tests::bulk("value:9999")
    );
}

#[test]
fn redis_benchmark_set_get() {
    if !require_tool("redis-benchmark") {
        return;
    }
    let ours = Ours::start();
    let out = run(
        "redis-benchmark",
        &with_port(ours.addr(), &["-t", "set,get", "-n", "2000", "-q"]),
        vec![],
        Duration::from_secs(120),
    );
    let stdout = text(&out.stdout);
    assert!(
        out.status.success(),
        "stdout: {stdout}\nstderr: {}",
        text(&out.stderr)
    );
    // One line per test, e.g. "SET: 52631.58 requests per second, p50=0.471 msec".
    for test in ["SET", "GET"] {
        let line = stdout
            .split(['\n', '\r'])
            .find(|l| l.starts_with(&format!("{test}: ")) && l.contains("requests per second"));
        assert!(line.is_some(), "no {test} result in: {stdout}");
    }
    // The benchmark's keys were really written.
    let mut c = RespConn::connect(ours.addr()).expect("connect");
    assert_eq!(
        c.cmd(&[b"EXISTS", b"key:__rand_int__"]).expect("EXISTS"),
        Frame::Integer(1)
    );
}
