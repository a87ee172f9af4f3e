//! ferrodis-tests: shared helpers for the workspace integration tests.
//!
//! # Layout
//! - [`RespConn`]: a small synchronous RESP client over `std::net::TcpStream`
//!   (raw writes, multibulk commands, frame reads with [`ferrodis_resp::decode_frame`],
//!   close detection). Synchronous on purpose: tests control exactly which bytes
//!   are on the wire and when, independent of the server's runtime.
//! - [`InProcess`]: our server started through the embedding API on port 0, on
//!   its own background tokio multi-thread runtime.
//! - [`RealRedis`]: Debian's `redis-server` on a free port (no persistence),
//!   killed on drop; [`require_tool`] decides what happens when it is missing.
//! - [`OurProcess`]: our `redis-server` binary as a child process, when built.
//! - [`raise_fd_limit`]: RLIMIT_NOFILE for tests with thousands of sockets.
//!
//! The tests themselves live in `tests/tests/*.rs`. This crate depends on the
//! server's public embedding API and the RESP codec only, never on internals,
//! so it exercises what a user of the crates would see.

pub mod diff;
pub mod propagation;

use bytes::Bytes;
use ferrodis_resp::{decode_frame, Frame, FrameError};
use ferrodis_server::{RunningServer, Server};
use std::io::{ErrorKind, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// How long a test waits for one reply before calling the server hung.
pub const REPLY_TIMEOUT: Duration = Duration::from_secs(20);

/// Errors of the test client and the server launchers.
#[derive(Debug, thiserror::Error)]
pub enum TestError {
    #[error("i/o: {0}")]
    Io(#[from] std::io::Error),
    #[error("malformed reply from server: {0}")]
    Frame(#[from] FrameError),
    #[error("connection closed by the server")]
    Closed,
    #[error("no reply within {0:?}")]
    Timeout(Duration),
    #[error("server failed to start: {0}")]
    Start(String),
}

pub type Result<T> = std::result::Result<T, TestError>;

/// Encode one command as a RESP multibulk request.
pub fn encode_command(args: &[&[u8]]) -> Vec<u8> {
    let mut out = Vec::with_capacity(16 + args.iter().map(|a| a.len() + 16).sum::<usize>());
    out.extend_from_slice(format!("*{}\r\n", args.len()).as_bytes());
    for a in args {
        out.extend_from_slice(format!("${}\r\n", a.len()).as_bytes());
        out.extend_from_slice(a);
        out.extend_from_slice(b"\r\n");
    }
    out
}

/// Shorthand for a simple-string frame.
pub fn simple(s: &str) -> Frame {
    Frame::Simple(Bytes::copy_from_slice(s.as_bytes()))
}

/// Shorthand for an error frame (`s` without the leading `-`).
pub fn error(s: &str) -> Frame {
    Frame::Error(Bytes::copy_from_slice(s.as_bytes()))
}

/// Shorthand for a bulk-string frame.
pub fn bulk(s: impl AsRef<[u8]>) -> Frame {
    Frame::Bulk(Bytes::copy_from_slice(s.as_ref()))
}

/// A synchronous RESP connection.
pub struct RespConn {
    stream: TcpStream,
    buf: Vec<u8>,
}

impl RespConn {
    /// Connect with [`REPLY_TIMEOUT`] as the read timeout.
    pub fn connect(addr: SocketAddr) -> Result<RespConn> {
        let stream = TcpStream::connect_timeout(&addr, Duration::from_secs(10))?;
        stream.set_nodelay(true)?;
        stream.set_read_timeout(Some(REPLY_TIMEOUT))?;
        Ok(RespConn {
            stream,
            buf: Vec::with_capacity(4096),
        })
    }

    pub fn stream(&self) -> &TcpStream {
        &self.stream
    }

    /// Write bytes exactly as given (inline commands, malformed input, pipelines).
    pub fn send_raw(&mut self, bytes: &[u8]) -> Result<()> {
        self.stream.write_all(bytes)?;
        Ok(())
    }

    /// Write one command as a multibulk request, without reading the reply.
    pub fn send(&mut self, args: &[&[u8]]) -> Result<()> {
        self.send_raw(&encode_command(args))
    }

    /// Send one command and read its reply.
    pub fn cmd(&mut self, args: &[&[u8]]) -> Result<Frame> {
        self.send(args)?;
        self.read_frame()
    }

    /// [`RespConn::cmd`] with the arguments given as one space-separated string
    /// (no quoting; for readability in tests whose arguments have no spaces).
    pub fn cmd_str(&mut self, line: &str) -> Result<Frame> {
        let args: Vec<&[u8]> = line.split_whitespace().map(str::as_bytes).collect();
        self.cmd(&args)
    }

    /// Read one reply frame; [`TestError::Closed`] if the server closed first.
    pub fn read_frame(&mut self) -> Result<Frame> {
        match self.read_frame_or_eof()? {
            Some(f) => Ok(f),
            None => Err(TestError::Closed),
        }
    }

    /// Read one reply frame, or `None` if the connection was closed cleanly
    /// (or reset) before a whole frame arrived.
    pub fn read_frame_or_eof(&mut self) -> Result<Option<Frame>> {
        let deadline = Instant::now() + REPLY_TIMEOUT;
        loop {
            if let Some((frame, used)) = decode_frame(&self.buf)? {
                self.buf.drain(..used);
                return Ok(Some(frame));
            }
            if Instant::now() > deadline {
                return Err(TestError::Timeout(REPLY_TIMEOUT));
            }
            let mut chunk = [0u8; 64 * 1024];
            match self.stream.read(&mut chunk) {
                Ok(0) => return Ok(None),
                Ok(n) => self.buf.extend_from_slice(&chunk[..n]),
                Err(e) if e.kind() == ErrorKind::Interrupted => {}
                Err(e) if e.kind() == ErrorKind::ConnectionReset => return Ok(None),
                Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {
                    return Err(TestError::Timeout(REPLY_TIMEOUT))
                }
                Err(e) => return Err(e.into()),
            }
        }
    }

    /// Fill the buffer until it holds at least `n` bytes.
    fn fill_to(&mut self, n: usize) -> Result<()> {
        while self.buf.len() < n {
            let mut chunk = [0u8; 64 * 1024];
            match self.stream.read(&mut chunk) {
                Ok(0) => return Err(TestError::Closed),
                Ok(k) => self.buf.extend_from_slice(&chunk[..k]),
                Err(e) if e.kind() == ErrorKind::Interrupted => {}
                Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {
                    return Err(TestError::Timeout(REPLY_TIMEOUT))
                }
                Err(e) => return Err(e.into()),
            }
        }
        Ok(())
    }

    /// Read the snapshot a master sends after `SYNC`: optional `\n` keepalives,
    /// then `$<len>\r\n` and `len` bytes with no trailing CRLF (so it is not a
    /// RESP frame). Returns the payload; the command stream follows.
    pub fn read_sync_payload(&mut self) -> Result<Vec<u8>> {
        let line = loop {
            self.fill_to(1)?;
            if self.buf[0] == b'\n' {
                self.buf.remove(0);
                continue;
            }
            match self.buf.windows(2).position(|w| w == b"\r\n") {
                Some(end) => {
                    let line: Vec<u8> = self.buf.drain(..end + 2).collect();
                    break line;
                }
                None => {
                    let have = self.buf.len();
                    self.fill_to(have + 1)?;
                }
            }
        };
        let text = String::from_utf8_lossy(&line);
        let len: usize = text
            .trim_end()
            .strip_prefix('$')
            .and_then(|n| n.parse().ok())
            .ok_or_else(|| TestError::Start(format!("unexpected SYNC reply {text:?}")))?;
        self.fill_to(len)?;
        Ok(self.buf.drain(..len).collect())
    }

    /// Read `n` frames (pipelined replies).
    pub fn read_frames(&mut self, n: usize) -> Result<Vec<Frame>> {
        (0..n).map(|_| self.read_frame()).collect()
    }

    /// True if the server closes the connection within `within` without
    /// sending anything more. Bytes that arrive first make this false.
    pub fn closed_within(&mut self, within: Duration) -> Result<bool> {
        if !self.buf.is_empty() {
            return Ok(false);
        }
        self.stream.set_read_timeout(Some(within))?;
        let mut chunk = [0u8; 1024];
        let r = match self.stream.read(&mut chunk) {
            Ok(0) => Ok(true),
            Ok(n) => {
                self.buf.extend_from_slice(&chunk[..n]);
                Ok(false)
            }
            Err(e) if e.kind() == ErrorKind::ConnectionReset => Ok(true),
            Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => Ok(false),
            Err(e) => Err(e.into()),
        };
        self.stream.set_read_timeout(Some(REPLY_TIMEOUT))?;
        r
    }
}

/// Our server, started in-process through the embedding API on its own runtime.
pub struct InProcess {
    // Declared before `rt` so it is dropped (after an explicit shutdown) first.
    server: Option<RunningServer>,
    rt: tokio::runtime::Runtime,
    addr: SocketAddr,
}

impl InProcess {
    /// Start with default options on 127.0.0.1, port 0.
    pub fn start() -> Result<InProcess> {
        InProcess::start_with(&[])
    }

    /// Start with options set as `CONFIG SET` would, after `bind 127.0.0.1` and `port 0`.
    pub fn start_with(options: &[(&str, &str)]) -> Result<InProcess> {
        InProcess::start_with_args(&[], options)
    }

    /// Start with startup arguments as `redis-server` takes them (`--dir /x`; protected and
    /// immutable options included), then `options` as [`InProcess::start_with`].
    pub fn start_with_args(args: &[&str], options: &[(&str, &str)]) -> Result<InProcess> {
        InProcess::start_inner(args, options, 0)
    }

    /// As [`InProcess::start_with`], with TCP connections on `io_threads` single-threaded
    /// runtimes as `redis-server` serves them (`io-threads`).
    pub fn start_pooled(io_threads: usize, options: &[(&str, &str)]) -> Result<InProcess> {
        InProcess::start_inner(&[], options, io_threads)
    }

    fn start_inner(
        args: &[&str],
        options: &[(&str, &str)],
        io_threads: usize,
    ) -> Result<InProcess> {
        let args: Vec<String> = args.iter().map(|a| a.to_string()).collect();
        let config = ferrodis_server::config::Config::from_args(&args)
            .map_err(|e| TestError::Start(format!("{e:?}")))?;
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .thread_name("ferrodis-test")
            .build()?;
        // No save points: a test's SHUTDOWN must not leave a dump.rdb behind for the next
        // server started in the same directory to load. DEBUG is refused by default, as in
        // Redis; tests use it.
        let mut builder = Server::builder()
            .config(config)
            .set("save", "")
            .and_then(|b| b.set("bind", "127.0.0.1"))
            .and_then(|b| b.set("port", "0"))
            .and_then(|b| b.set("enable-debug-command", "yes"))
            .map_err(TestError::Start)?;
        for (name, value) in options {
            builder = builder.set(name, value).map_err(TestError::Start)?;
        }
        if io_threads > 0 {
            builder = builder.io_threads(io_threads);
        }
        let server = rt.block_on(builder.start())?;
        let addr = server
            .local_addr()
            .ok_or_else(|| TestError::Start("no TCP listener".into()))?;
        Ok(InProcess {
            server: Some(server),
            rt,
            addr,
        })
    }

    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    pub fn port(&self) -> u16 {
        self.addr.port()
    }

    /// The running server; `None` only after [`InProcess::shutdown`].
    pub fn server(&self) -> Option<&RunningServer> {
        self.server.as_ref()
    }

    pub fn runtime(&self) -> &tokio::runtime::Runtime {
        &self.rt
    }

    pub fn connect(&self) -> Result<RespConn> {
        RespConn::connect(self.addr)
    }

    /// Stop the server through the embedding API (idempotent).
    pub fn shutdown(&mut self) {
        if let Some(s) = self.server.take() {
            self.rt.block_on(s.shutdown());
        }
    }
}

impl Drop for InProcess {
    fn drop(&mut self) {
        self.shutdown();
    }
}

/// Print a banner that cannot be missed in test output.
pub fn loud_banner(msg: &str) {
    let line = "!".repeat(78);
    eprintln!("\n{line}\n!!! SKIPPED: {msg}\n{line}\n");
}

/// Whether `tool` (e.g. `redis-server`) can be run. When it cannot: locally,
/// print a loud banner and return false so the test returns early; under
/// `CI=true`, panic, because a CI run must never silently skip the oracle.
pub fn require_tool(tool: &str) -> bool {
    if which(tool).is_some() {
        return true;
    }
    let msg = format!("`{tool}` is not installed; this test did not run");
    if std::env::var("CI").is_ok_and(|v| v == "true") {
        panic!("{msg} (CI=true makes a missing tool a failure)");
    }
    loud_banner(&msg);
    false
}

/// Find an executable on PATH.
pub fn which(tool: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|d| d.join(tool))
        .find(|p| p.is_file())
}

/// A port that was free a moment ago (bind port 0, read it, release it).
pub fn free_port() -> Result<u16> {
    let l = TcpListener::bind("127.0.0.1:0")?;
    Ok(l.local_addr()?.port())
}

/// A child server process, killed on drop.
pub struct ChildServer {
    child: Child,
    addr: SocketAddr,
    /// Working directory made for this server (`--dir`), removed on drop, so
    /// snapshots made for SYNC never land in the source tree.
    dir: PathBuf,
}

impl ChildServer {
    /// Spawn `program --port P args...` on a free port and wait until it answers PING.
    /// Retries on a new port if another process took the port in between.
    pub fn spawn(program: &Path, args: &[&str]) -> Result<ChildServer> {
        let mut last = String::new();
        for _ in 0..5 {
            let port = free_port()?;
            let dir = std::env::temp_dir().join(format!(
                "ferrodis-tests-{}-{}",
                std::process::id(),
                port
            ));
            std::fs::create_dir_all(&dir)?;
            let mut cmd = Command::new(program);
            cmd.arg("--port")
                .arg(port.to_string())
                .arg("--bind")
                .arg("127.0.0.1")
                .arg("--dir")
                .arg(&dir)
                .args(args)
                .stdin(Stdio::null())
                .stdout(Stdio::null())
                .stderr(Stdio::null());
            let child = cmd.spawn()?;
            let addr: SocketAddr = SocketAddr::from(([127, 0, 0, 1], port));
            let mut server = ChildServer { child, addr, dir };
            match server.wait_ready(Duration::from_secs(10)) {
                Ok(()) => return Ok(server),
                Err(e) => last = e.to_string(),
            }
            // Dropping `server` kills the child before the next attempt.
        }
        Err(TestError::Start(format!("{}: {last}", program.display())))
    }

    fn wait_ready(&mut self, within: Duration) -> Result<()> {
        let deadline = Instant::now() + within;
        loop {
            if let Some(status) = self.child.try_wait()? {
                return Err(TestError::Start(format!("exited early: {status}")));
            }
            if let Ok(mut c) = RespConn::connect(self.addr) {
                // Any reply will do: with requirepass, PING gets NOAUTH.
                if matches!(c.cmd(&[b"PING"]), Ok(Frame::Simple(_) | Frame::Error(_))) {
                    return Ok(());
                }
            }
            if Instant::now() > deadline {
                return Err(TestError::Timeout(within));
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    pub fn port(&self) -> u16 {
        self.addr.port()
    }

    pub fn connect(&self) -> Result<RespConn> {
        RespConn::connect(self.addr)
    }
}

impl Drop for ChildServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// Debian's redis-server, the oracle of the differential tests.
pub struct RealRedis;

impl RealRedis {
    /// Start `redis-server` without persistence on a free port. `Ok(None)` when
    /// it is not installed and this is not CI (see [`require_tool`]).
    pub fn start(extra: &[&str]) -> Result<Option<ChildServer>> {
        if !require_tool("redis-server") {
            return Ok(None);
        }
        let program = which("redis-server").ok_or_else(|| TestError::Start("vanished".into()))?;
        let mut args = vec![
            "--save",
            "",
            "--appendonly",
            "no",
            "--daemonize",
            "no",
            "--enable-debug-command",
            "yes",
        ];
        args.extend_from_slice(extra);
        ChildServer::spawn(&program, &args).map(Some)
    }
}

/// Our `redis-server` binary as a child process, when it has been built.
pub struct OurProcess;

impl OurProcess {
    /// The built binary next to the running test executable
    /// (`target/<profile>/deps/<test>` → `target/<profile>/redis-server`).
    pub fn binary() -> Option<PathBuf> {
        let exe = std::env::current_exe().ok()?;
        let profile_dir = exe.parent()?.parent()?;
        let bin = profile_dir.join("redis-server");
        bin.is_file().then_some(bin)
    }

    pub fn start(extra: &[&str]) -> Result<Option<ChildServer>> {
        let Some(bin) = OurProcess::binary() else {
            return Ok(None);
        };
        let mut args = vec![
            "--save",
            "",
            "--appendonly",
            "no",
            "--enable-debug-command",
            "yes",
        ];
        args.extend_from_slice(extra);
        ChildServer::spawn(&bin, &args).map(Some)
    }
}

/// Raise this process's RLIMIT_NOFILE to at least `want` (raising the hard
/// limit too when privileged). Returns the soft limit now in effect.
pub fn raise_fd_limit(want: u64) -> u64 {
    // SAFETY: getrlimit/setrlimit read and write a struct we own.
    unsafe {
        let mut rl: libc::rlimit = std::mem::zeroed();
        if libc::getrlimit(libc::RLIMIT_NOFILE, &mut rl) != 0 {
            return 0;
        }
        let want = want as libc::rlim_t;
        if rl.rlim_cur >= want {
            return rl.rlim_cur as u64;
        }
        let mut raised = rl;
        raised.rlim_cur = want;
        if raised.rlim_max < want {
            raised.rlim_max = want;
        }
        if libc::setrlimit(libc::RLIMIT_NOFILE, &raised) == 0 {
            return want as u64;
        }
        // Unprivileged: the hard limit is the ceiling.
        rl.rlim_cur = rl.rlim_max;
        if libc::setrlimit(libc::RLIMIT_NOFILE, &rl) == 0 {
            return rl.rlim_max as u64;
        }
        let mut now: libc::rlimit = std::mem::zeroed();
        libc::getrlimit(libc::RLIMIT_NOFILE, &mut now);
        now.rlim_cur as u64
    }
}

/// A fresh empty directory under the system temp dir, unique to this test process.
pub fn temp_dir(prefix: &str, name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("ferrodis-{prefix}-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).expect("temp dir");
    d
}

/// Sends one command given as words and returns its reply (panics on I/O errors).
pub fn cmd(c: &mut RespConn, args: &[&str]) -> Frame {
    let a: Vec<&[u8]> = args.iter().map(|s| s.as_bytes()).collect();
    c.cmd(&a).expect("command")
}

/// As [`cmd`], asserting the reply is not an error.
pub fn ok(c: &mut RespConn, args: &[&str]) {
    let r = cmd(c, args);
    assert!(!matches!(r, Frame::Error(_)), "{args:?} -> {r:?}");
}
