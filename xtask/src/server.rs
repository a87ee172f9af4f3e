//! Starting and stopping one server process (ours or Debian's redis-server) on a free loopback
//! port, with its output in a log file. Used by `compat` (external mode) and `bench`.

use std::fs::{self, File};
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

use crate::error::{Error, Result};
use crate::proc::{self, Group};
use crate::resp::{Conn, Reply};

/// How long a server may take to answer PING after it was started.
const START_TIMEOUT: Duration = Duration::from_secs(15);

/// A running server. Dropping it kills it.
pub struct Server {
    group: Group,
    pub port: u16,
    pub log: PathBuf,
    pub command: String,
}

/// Asks the kernel for a port that is free right now.
pub fn free_port() -> Result<u16> {
    let listener =
        TcpListener::bind(("127.0.0.1", 0)).map_err(|e| Error::io("finding a free port", e))?;
    let addr = listener
        .local_addr()
        .map_err(|e| Error::io("finding a free port", e))?;
    Ok(addr.port())
}

impl Server {
    /// Starts `binary --port P --dir DIR <args>` and waits until it answers PING. `dir` is
    /// created; the log goes to `log`. Retries on another port if the chosen one was taken.
    pub fn start(binary: &Path, dir: &Path, args: &[&str], log: &Path) -> Result<Server> {
        fs::create_dir_all(dir).map_err(|e| Error::io_path("creating", dir, e))?;
        let mut last_error = None;
        for _attempt in 0..3 {
            let port = free_port()?;
            match Self::start_on(binary, dir, args, log, port) {
                Ok(server) => return Ok(server),
                Err(e @ Error::Interrupted) => return Err(e),
                Err(e) => {
                    let text = fs::read_to_string(log).unwrap_or_default();
                    let port_taken = text.contains("Address already in use");
                    last_error = Some(e);
                    if !port_taken {
                        break;
                    }
                }
            }
        }
        Err(last_error.unwrap_or_else(|| Error::Failed("server did not start".into())))
    }

    fn start_on(binary: &Path, dir: &Path, args: &[&str], log: &Path, port: u16) -> Result<Server> {
        let out = File::create(log).map_err(|e| Error::io_path("creating", log, e))?;
        let err = out
            .try_clone()
            .map_err(|e| Error::io_path("opening", log, e))?;
        let mut cmd = Command::new(binary);
        cmd.arg("--port")
            .arg(port.to_string())
            .arg("--dir")
            .arg(dir)
            .args(args)
            .current_dir(dir)
            .stdin(Stdio::null())
            .stdout(out)
            .stderr(err);
        let command = proc::render(&cmd);
        let mut group = Group::spawn(&mut cmd, &binary.display().to_string())?;
        let deadline = Instant::now() + START_TIMEOUT;
        loop {
            proc::check_interrupt()?;
            if let Some(status) = group.try_wait()? {
                return Err(Error::Failed(format!(
                    "`{command}` exited during startup ({}); log: {}",
                    proc::describe(&status),
                    log.display()
                )));
            }
            if let Ok(mut conn) = Conn::connect(port, Duration::from_secs(2)) {
                if let Ok(Reply::Simple(pong)) = conn.call(&["PING"]) {
                    if pong == "PONG" {
                        return Ok(Server {
                            group,
                            port,
                            log: log.to_path_buf(),
                            command,
                        });
                    }
                }
            }
            if Instant::now() >= deadline {
                return Err(Error::Failed(format!(
                    "`{command}` did not answer PING within {}s; log: {}",
                    START_TIMEOUT.as_secs(),
                    log.display()
                )));
            }
            proc::sleep(Duration::from_millis(50))?;
        }
    }

    /// The server's pid.
    pub fn pid(&self) -> u32 {
        self.group.pid()
    }

    /// `Some(status)` if the server has exited (crashed, or shut down by a test).
    pub fn exited(&mut self) -> Result<Option<ExitStatus>> {
        self.group.try_wait()
    }

    /// A connection with a generous timeout (DEBUG POPULATE of a million keys takes seconds).
    pub fn connect(&self) -> Result<Conn> {
        Conn::connect(self.port, Duration::from_secs(120))
    }

    /// Stops the server: SHUTDOWN NOSAVE, then SIGTERM, then SIGKILL, a few seconds apart.
    pub fn stop(mut self) -> Result<()> {
        if self.exited()?.is_some() {
            self.group.kill();
            return Ok(());
        }
        if let Ok(mut conn) = Conn::connect(self.port, Duration::from_secs(2)) {
            // The reply is normally the connection closing; anything else is fine too.
            let _ = conn.call(&["SHUTDOWN", "NOSAVE"]);
        }
        if self.wait_exit(Duration::from_secs(3))? {
            return Ok(());
        }
        // SIGCONT in case a test (or a hang) left it stopped.
        self.group.signal(libc::SIGTERM);
        self.group.signal(libc::SIGCONT);
        if self.wait_exit(Duration::from_secs(2))? {
            return Ok(());
        }
        self.group.kill();
        Ok(())
    }

    /// Kills the server and everything in its process group at once.
    pub fn kill(mut self) {
        self.group.kill();
    }

    fn wait_exit(&mut self, within: Duration) -> Result<bool> {
        let deadline = Instant::now() + within;
        while Instant::now() < deadline {
            if self.exited()?.is_some() {
                // Reap anything it left in its group.
                self.group.kill();
                return Ok(true);
            }
            proc::sleep(Duration::from_millis(20))?;
        }
        Ok(false)
    }
}

/// The last `lines` lines of a log file, for reports.
pub fn log_tail(path: &Path, lines: usize) -> String {
    let text = fs::read(path)
        .map(|b| String::from_utf8_lossy(&b).into_owned())
        .unwrap_or_default();
    let all: Vec<&str> = text.lines().collect();
    let start = all.len().saturating_sub(lines);
    all[start..].join("\n")
}
