//! ferrodis-server: networking, clients, configuration, server commands, and
//! the public embedding API.
//!
//! # Layout
//! - [`Server`] / [`ServerBuilder`] / [`RunningServer`]: start a server (port 0
//!   works), get its address, run commands in-process, shut it down.
//! - [`run_main`]: what the `redis-server` binary does with argv.
//! - `config`: redis.conf + argv parsing, CONFIG GET/SET/REWRITE.
//! - `net`: listeners; `conn`: one task per connection (batch execution);
//!   `dispatch`: processCommand's checks and statistics; `cmd`: server commands.
//! - `state`: shared server state; `client`: client registry; `cron`: active
//!   expiry and rehashing; `logging`: Redis's log format; `alloc`: used_memory.
//!
//! Data commands live in `ferrodis-commands`; this crate composes them with
//! tokio. Nothing below this crate depends on it.

pub mod alloc;
pub mod client;
pub mod cmd;
pub mod config;
pub mod conn;
pub mod cron;
pub mod dispatch;
pub mod iopool;
pub mod latency;
pub mod logging;
pub mod net;
pub mod persist;
pub mod pubsub;
pub mod replica;
pub mod replication;
pub mod slowlog;
pub mod state;
pub mod tracking;

use bytes::Bytes;
use client::ClientHandle;
use config::Config;
use dispatch::{dispatch, Client};
use ferrodis_commands::{Engine, Reply};
use state::Shared;
use std::net::SocketAddr;
use std::sync::Arc;
use tokio::task::JoinHandle;

/// The Redis version we are compatible with, reported by INFO and HELLO.
pub const REDIS_VERSION: &str = "7.0.15";

/// Entry point of the embedding API.
pub struct Server;

impl Server {
    pub fn builder() -> ServerBuilder {
        ServerBuilder {
            config: Config::new(),
            listener: None,
            cron: true,
            io_threads: 0,
        }
    }
}

pub struct ServerBuilder {
    config: Config,
    listener: Option<std::net::TcpListener>,
    cron: bool,
    io_threads: usize,
}

impl ServerBuilder {
    /// Use this configuration (defaults otherwise).
    pub fn config(mut self, c: Config) -> Self {
        self.config = c;
        self
    }

    /// Set one option before start, as a config file line would (e.g. `("port", "0")`;
    /// immutable options such as `enable-debug-command` included).
    pub fn set(mut self, name: &str, value: &str) -> Result<Self, String> {
        self.config.set_startup(name.as_bytes(), value.as_bytes())?;
        Ok(self)
    }

    /// Serve on an already-bound listener instead of the configured binds.
    pub fn listener(mut self, l: std::net::TcpListener) -> Self {
        self.listener = Some(l);
        self
    }

    /// Serve TCP connections on `n` dedicated single-threaded runtimes (see [`iopool`])
    /// instead of the runtime `start` is called on. 0 (the default) keeps them on it.
    pub fn io_threads(mut self, n: usize) -> Self {
        self.io_threads = n;
        self
    }

    /// Disable the background cron (active expiry, rehash), for deterministic tests.
    pub fn without_cron(mut self) -> Self {
        self.cron = false;
        self
    }

    /// Bind and start serving on the current tokio runtime.
    pub async fn start(self) -> std::io::Result<RunningServer> {
        let port = self.config.port();
        let binds = self.config.bind();
        let backlog = self.config.tcp_backlog();
        let unixsocket = self.config.unixsocket();
        let unixperm = self.config.unixsocketperm();
        if let Err(e) = config::oom::apply(&self.config) {
            tracing::warn!("{}", e);
        }
        let sh = Arc::new(Shared::new(self.config)?);
        let _ = sh.self_ref.set(Arc::downgrade(&sh));
        tracking::Tracking::attach(&sh);
        if self.io_threads > 0 {
            let _ = sh.io_pool.set(iopool::IoPool::start(self.io_threads)?);
        }
        // The dataset of `dir`/`dbfilename`, before any client can connect. A file that cannot
        // be read stops the start, as in Redis: serving (and later saving) without it would
        // lose that data.
        if let Err(e) = persist::load(&sh) {
            tracing::warn!("Fatal error loading the DB: {e}. Exiting.");
            return Err(std::io::Error::new(
                std::io::ErrorKind::InvalidData,
                format!("loading the RDB file: {e}"),
            ));
        }
        let mut addrs = Vec::new();
        let mut tasks = Vec::new();
        let mut listeners = Vec::new();
        if let Some(l) = self.listener {
            listeners.push(l);
        } else if port != 0 || unixsocket.is_none() {
            for (addr, optional) in net::bind_addrs(&binds, port) {
                match net::bind_tcp(addr, backlog.max(1)) {
                    Ok(l) => listeners.push(l),
                    Err(e) if optional => {
                        tracing::warn!(
                            "Warning: Could not create server TCP listening socket {}: {}",
                            addr,
                            e
                        )
                    }
                    Err(e) => {
                        tracing::warn!(
                            "Warning: Could not create server TCP listening socket {}: {}",
                            addr,
                            e
                        );
                        return Err(e);
                    }
                }
            }
        }
        let mut actual_port = port;
        for l in listeners {
            l.set_nonblocking(true)?;
            let l = tokio::net::TcpListener::from_std(l)?;
            let a = l.local_addr()?;
            actual_port = a.port();
            addrs.push(a);
            sh.tcp_listener_fds
                .lock()
                .push(std::os::fd::AsRawFd::as_raw_fd(&l));
            sh.tcp_listeners
                .lock()
                .push(tokio::spawn(net::accept_tcp(sh.clone(), l)));
        }
        sh.tcp_port
            .store(actual_port as usize, std::sync::atomic::Ordering::Relaxed);
        if let Some(path) = unixsocket {
            let _ = std::fs::remove_file(&path);
            let l = tokio::net::UnixListener::bind(&path)?;
            if unixperm != 0 {
                use std::os::unix::fs::PermissionsExt;
                let _ = std::fs::set_permissions(&path, std::fs::Permissions::from_mode(unixperm));
            }
            tasks.push(tokio::spawn(net::accept_unix(sh.clone(), l, path)));
        }
        if self.cron {
            tasks.push(tokio::spawn(cron::run(sh.clone())));
        }
        Ok(RunningServer { sh, addrs, tasks })
    }
}

/// A started server.
pub struct RunningServer {
    sh: Arc<Shared>,
    addrs: Vec<SocketAddr>,
    tasks: Vec<JoinHandle<()>>,
}

impl RunningServer {
    /// The first bound TCP address.
    pub fn local_addr(&self) -> Option<SocketAddr> {
        self.addrs.first().copied()
    }

    pub fn addrs(&self) -> &[SocketAddr] {
        &self.addrs
    }

    pub fn shared(&self) -> &Arc<Shared> {
        &self.sh
    }

    pub fn engine(&self) -> &Engine {
        &self.sh.engine
    }

    /// An in-process client: runs commands without a socket.
    pub fn client(&self) -> LocalClient {
        let id = self.sh.clients.next_id();
        let handle = Arc::new(ClientHandle::new(
            id,
            "in-process:0".into(),
            "in-process:0".into(),
            -1,
            false,
            ferrodis_commands::engine::wall_ms(),
        ));
        let mut c = Client::new(handle, true);
        c.internal = true;
        LocalClient {
            sh: self.sh.clone(),
            client: c,
        }
    }

    /// Run one command in-process (database 0, RESP2) and return its reply.
    pub fn execute(&self, argv: &[&[u8]]) -> Reply {
        self.client().execute(argv)
    }

    /// Resolves when a SHUTDOWN command (or [`RunningServer::request_shutdown`]) asks to stop.
    pub async fn wait_for_shutdown(&self) {
        loop {
            let n = self.sh.shutdown.notified();
            if self
                .sh
                .shutting_down
                .load(std::sync::atomic::Ordering::SeqCst)
            {
                return;
            }
            n.await;
        }
    }

    pub fn request_shutdown(&self) {
        self.sh.request_shutdown();
    }

    /// Stop accepting, disconnect clients, stop background tasks.
    pub async fn shutdown(self) {
        self.sh.request_shutdown();
        self.sh.tcp_listener_fds.lock().clear();
        for t in self.sh.tcp_listeners.lock().drain(..) {
            t.abort();
        }
        for t in &self.tasks {
            t.abort();
        }
        for c in self.sh.clients.snapshot() {
            c.kill();
        }
        // SHUTDOWN NOSAVE while a script runs forever: the script holds every shard lock, so
        // tasks and connection threads waiting for one would never finish; do not wait for them.
        if self.sh.scripting.running() {
            return;
        }
        for t in self.tasks {
            let _ = t.await;
        }
        if let Some(pool) = self.sh.io_pool.get() {
            pool.shutdown();
        }
    }
}

/// A client that runs commands in-process, with its own selected DB and protocol.
pub struct LocalClient {
    sh: Arc<Shared>,
    client: Client,
}

impl LocalClient {
    pub fn execute(&mut self, argv: &[&[u8]]) -> Reply {
        if argv.is_empty() {
            return Reply::err_static("ERR empty command");
        }
        let v: Vec<Bytes> = argv.iter().map(|a| Bytes::copy_from_slice(a)).collect();
        match dispatch(&self.sh, &mut self.client, v) {
            Reply::Blocked(w) => self.wait_blocked(w.0).normalized(),
            reply => reply.normalized(),
        }
    }

    /// A blocking command blocks the calling thread, as it would block a connection: until
    /// served, timed out or CLIENT UNBLOCKed. Do not call from an async task.
    fn wait_blocked(&mut self, w: Arc<ferrodis_commands::blocking::Waiter>) -> Reply {
        struct ThreadWaker(std::thread::Thread);
        impl std::task::Wake for ThreadWaker {
            fn wake(self: Arc<Self>) {
                self.0.unpark();
            }
        }
        let handle = self.client.handle.clone();
        *handle.blocked.lock() = Some(w.clone());
        handle.set_flag(client::flags::BLOCKED, true);
        let waker = std::task::Waker::from(Arc::new(ThreadWaker(std::thread::current())));
        let mut cx = std::task::Context::from_waker(&waker);
        let reply = loop {
            if let std::task::Poll::Ready(r) = w.poll_reply(&mut cx) {
                break r;
            }
            if w.deadline_ms > 0 {
                let left = w.deadline_ms - self.sh.engine.now_ms();
                if left <= 0 {
                    w.finish_timeout();
                    continue;
                }
                std::thread::park_timeout(std::time::Duration::from_millis(left as u64));
            } else {
                std::thread::park();
            }
        };
        ferrodis_commands::blocking::unregister(&self.sh.engine, &w);
        handle.set_flag(client::flags::BLOCKED, false);
        *handle.blocked.lock() = None;
        reply
    }
}

/// What `redis-server` does: parse argv, daemonize, log, serve until shutdown.
/// Returns the process exit code.
pub fn run_main(args: Vec<String>) -> i32 {
    let rest: Vec<String> = args.iter().skip(1).cloned().collect();
    if let Some(first) = rest.first() {
        match first.as_str() {
            "-v" | "--version" => {
                println!(
                    "Redis server v={} sha=00000000:0 malloc=jemalloc-5.3.0 bits=64 build=ferrodis",
                    REDIS_VERSION
                );
                return 0;
            }
            "-h" | "--help" => {
                println!("Usage: ./redis-server [/path/to/redis.conf] [options] [-]\n       ./redis-server - (read config from stdin)\n       ./redis-server -v or --version\n       ./redis-server -h or --help\n\nExamples:\n       ./redis-server (run the server with default conf)\n       ./redis-server /etc/redis/6379.conf\n       ./redis-server --port 7777\n       ./redis-server /etc/myredis.conf --loglevel verbose -\n       ./redis-server /etc/myredis.conf --loglevel verbose\n");
                return 0;
            }
            _ => {}
        }
    }
    let config = match Config::from_args(&rest) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("{}", e);
            return 1;
        }
    };
    if config.daemonize() {
        daemonize();
    }
    raise_fd_limit(config.maxclients() as u64 + 32);
    disable_thp();
    if let Err(e) = logging::init(config.loglevel_name(), &config.logfile()) {
        eprintln!("Can't open the log file: {}", e);
        return 1;
    }
    let dir = config.dir();
    if !dir.is_empty() {
        if let Err(e) = std::env::set_current_dir(&dir) {
            tracing::warn!("Can't chdir to '{}': {}", dir, e);
            return 1;
        }
    }
    tracing::info!("oO0OoO0OoO0Oo Redis is starting oO0OoO0OoO0Oo");
    tracing::info!(
        "Redis version={}, bits=64, commit=00000000, modified=0, pid={}, just started",
        REDIS_VERSION,
        std::process::id()
    );
    if config.config_file().is_some() {
        tracing::info!("Configuration loaded");
    } else {
        tracing::warn!("Warning: no config file specified, using the default config. In order to specify a config file use redis-server /path/to/redis.conf");
    }
    let pidfile = config.pidfile();
    let pidfile = if pidfile.is_empty() && config.daemonize() {
        "/var/run/redis.pid".to_string()
    } else {
        pidfile
    };
    if !pidfile.is_empty() {
        let _ = std::fs::write(&pidfile, format!("{}\n", std::process::id()));
    }
    let unixsocket = config.unixsocket();
    let unixsocket_for_cleanup = unixsocket.clone();
    // TCP connections run on `io-threads` single-threaded runtimes (iopool; Redis's default
    // of 1 gives its one event loop); this runtime only accepts, runs the cron and serves
    // Unix-socket clients.
    let io_threads = config.io_threads();
    let rt = match tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .thread_name("ferrodis")
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            tracing::warn!("Can't start the runtime: {}", e);
            return 1;
        }
    };
    let show_logo = config.get_bool("always-show-logo").unwrap_or(false);
    let code = rt.block_on(async move {
        let port = config.port();
        let server = match Server::builder()
            .config(config)
            .io_threads(io_threads)
            .start()
            .await
        {
            Ok(s) => s,
            // The RDB file could not be loaded: already logged ("Fatal error loading the DB").
            Err(e) if e.kind() == std::io::ErrorKind::InvalidData => return 1,
            Err(e) => {
                tracing::warn!("Failed listening on port {} (tcp), aborting: {}", port, e);
                return 1;
            }
        };
        let bound = server.local_addr().map(|a| a.port()).unwrap_or(port);
        // A process of its own: SHUTDOWN NOSAVE during a busy script may exit at once.
        server
            .sh
            .scripting
            .exit_on_busy_shutdown
            .store(true, std::sync::atomic::Ordering::Relaxed);
        if show_logo {
            // Our own banner (Redis's ASCII art is its own work); tools such as
            // the Redis test harness look for its "PID: <pid>" line.
            tracing::info!("ferrodis {} (Redis-compatible), 64 bit", REDIS_VERSION);
            tracing::info!("Mode: standalone, Port: {}", bound);
            tracing::info!("PID: {}", std::process::id());
        }
        tracing::info!("Running mode=standalone, port={}.", bound);
        tracing::info!("Server initialized");
        tracing::info!("Ready to accept connections tcp");
        if unixsocket.is_some() {
            tracing::info!("Ready to accept connections unix");
        }
        let mut term =
            match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
                Ok(s) => s,
                Err(e) => {
                    tracing::warn!("Can't install SIGTERM handler: {}", e);
                    return 1;
                }
            };
        // A signal schedules the shutdown; the cron carries it out unless SHUTDOWN ABORT
        // cancels it first (Redis's shutdown_asap).
        loop {
            tokio::select! {
                _ = term.recv() => tracing::warn!("Received SIGTERM scheduling shutdown..."),
                _ = tokio::signal::ctrl_c() => tracing::warn!("Received SIGINT scheduling shutdown..."),
                _ = server.wait_for_shutdown() => break,
            }
            server.shared().shutdown_asap.store(true, std::sync::atomic::Ordering::SeqCst);
        }
        server.shutdown().await;
        0
    });
    if let Some(p) = unixsocket_for_cleanup {
        let _ = std::fs::remove_file(p);
    }
    if !pidfile.is_empty() {
        let _ = std::fs::remove_file(&pidfile);
    }
    tracing::warn!("Redis is now ready to exit, bye bye...");
    rt.shutdown_timeout(std::time::Duration::from_millis(200));
    code
}

/// Detach from the terminal (`daemonize yes`): fork, setsid, stdio to /dev/null.
fn daemonize() {
    // SAFETY: called before any thread is started; the parent exits at once.
    unsafe {
        let pid = libc::fork();
        if pid < 0 {
            return;
        }
        if pid > 0 {
            libc::_exit(0);
        }
        libc::setsid();
        let fd = libc::open(c"/dev/null".as_ptr(), libc::O_RDWR, 0);
        if fd >= 0 {
            libc::dup2(fd, 0);
            libc::dup2(fd, 1);
            libc::dup2(fd, 2);
            if fd > 2 {
                libc::close(fd);
            }
        }
    }
}

/// Raise RLIMIT_NOFILE so `maxclients` connections fit (Redis's adjustOpenFilesLimit).
fn raise_fd_limit(want: u64) {
    // SAFETY: getrlimit/setrlimit write/read the struct we own.
    unsafe {
        let mut rl: libc::rlimit = std::mem::zeroed();
        if libc::getrlimit(libc::RLIMIT_NOFILE, &mut rl) != 0 {
            return;
        }
        if rl.rlim_cur >= want as libc::rlim_t {
            return;
        }
        let target = if rl.rlim_max != libc::RLIM_INFINITY && rl.rlim_max < want as libc::rlim_t {
            rl.rlim_max
        } else {
            want as libc::rlim_t
        };
        rl.rlim_cur = target;
        if libc::setrlimit(libc::RLIMIT_NOFILE, &rl) != 0 {
            tracing::warn!("You requested maxclients of {} requiring at least {} max file descriptors, but the limit could not be raised.", want.saturating_sub(32), want);
        }
    }
}

/// Transparent huge pages make a page fault copy 2 MB and stall the key table's
/// incremental resize for tens of ms (measured in docs/KEYTABLE.md); Redis's
/// `disable-thp yes` turns them off for the process, and so do we.
fn disable_thp() {
    // SAFETY: prctl with PR_SET_THP_DISABLE takes plain integer arguments.
    let r = unsafe { libc::prctl(libc::PR_SET_THP_DISABLE, 1, 0, 0, 0) };
    if r != 0 {
        tracing::debug!("Could not disable transparent huge pages");
    }
}
