//! Child processes: echoing and running commands, process groups that can be killed as a whole
//! (a Tcl harness and the servers it spawned), deadlines, and SIGINT/SIGTERM handling.
//!
//! Long-lived children (servers, the Tcl harness) get a process group of their own so that a
//! timeout or an interrupt kills everything they started; SIGINT/SIGTERM only set a flag that the
//! polling loops check, so no child outlives xtask.

use std::fmt::Write as _;
use std::io::{BufRead, BufReader};
use std::os::unix::process::CommandExt;
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread;
use std::time::{Duration, Instant};

use crate::error::{Error, Result};

static INTERRUPTED: AtomicBool = AtomicBool::new(false);

extern "C" fn on_signal(_signal: libc::c_int) {
    // Only an atomic store: the one thing that is async-signal-safe and all we need.
    INTERRUPTED.store(true, Ordering::SeqCst);
}

/// Makes SIGINT and SIGTERM set a flag instead of killing xtask, so that the process groups we
/// started are killed on the way out.
pub fn install_signal_handlers() {
    let handler = on_signal as extern "C" fn(libc::c_int) as libc::sighandler_t;
    // SAFETY: the handler only stores to an atomic, which is async-signal-safe.
    unsafe {
        libc::signal(libc::SIGINT, handler);
        libc::signal(libc::SIGTERM, handler);
    }
}

/// Whether SIGINT/SIGTERM arrived.
pub fn interrupted() -> bool {
    INTERRUPTED.load(Ordering::SeqCst)
}

/// Returns `Err(Interrupted)` once a signal arrived.
pub fn check_interrupt() -> Result<()> {
    if interrupted() {
        Err(Error::Interrupted)
    } else {
        Ok(())
    }
}

/// Sleeps, waking early (with an error) on interrupt.
pub fn sleep(duration: Duration) -> Result<()> {
    let deadline = Instant::now() + duration;
    loop {
        check_interrupt()?;
        let now = Instant::now();
        if now >= deadline {
            return Ok(());
        }
        thread::sleep((deadline - now).min(Duration::from_millis(50)));
    }
}

/// A shell-like rendering of a command, for logs and reports.
pub fn render(cmd: &Command) -> String {
    let mut out = String::new();
    out.push_str(&quote(&cmd.get_program().to_string_lossy()));
    for arg in cmd.get_args() {
        out.push(' ');
        out.push_str(&quote(&arg.to_string_lossy()));
    }
    out
}

/// Quotes one word for display the way a POSIX shell would need it.
pub fn quote(word: &str) -> String {
    let plain = !word.is_empty()
        && word
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_./=:,+@%".contains(c));
    if plain {
        word.to_string()
    } else {
        let mut out = String::from("'");
        for c in word.chars() {
            if c == '\'' {
                out.push_str("'\\''");
            } else {
                out.push(c);
            }
        }
        out.push('\'');
        out
    }
}

/// Describes an exit status in words ("exit 1", "killed by signal 9").
pub fn describe(status: &ExitStatus) -> String {
    use std::os::unix::process::ExitStatusExt;
    match (status.code(), status.signal()) {
        (Some(code), _) => format!("exit {code}"),
        (None, Some(sig)) => format!("killed by signal {sig}"),
        _ => "unknown status".to_string(),
    }
}

/// Prints a command, runs it with inherited stdio and returns its status.
pub fn run_echo(cmd: &mut Command) -> Result<ExitStatus> {
    let shown = render(cmd);
    println!("$ {shown}");
    let status = cmd
        .status()
        .map_err(|e| Error::io(format!("running `{shown}`"), e))?;
    check_interrupt()?;
    Ok(status)
}

/// Like [`run_echo`] but a failure is an error.
pub fn run_checked(cmd: &mut Command) -> Result<()> {
    let shown = render(cmd);
    let status = run_echo(cmd)?;
    if status.success() {
        Ok(())
    } else {
        Err(Error::Command {
            command: shown,
            status: describe(&status),
        })
    }
}

/// Prints a command, runs it, echoes its stdout line by line and also returns it.
pub fn run_tee(cmd: &mut Command) -> Result<(ExitStatus, String)> {
    let shown = render(cmd);
    println!("$ {shown}");
    let mut child = cmd
        .stdout(Stdio::piped())
        .spawn()
        .map_err(|e| Error::io(format!("running `{shown}`"), e))?;
    let mut captured = String::new();
    if let Some(stdout) = child.stdout.take() {
        let mut reader = BufReader::new(stdout);
        let mut line = Vec::new();
        loop {
            line.clear();
            match reader.read_until(b'\n', &mut line) {
                Ok(0) => break,
                Ok(_) => {
                    let text = String::from_utf8_lossy(&line);
                    print!("{text}");
                    captured.push_str(&text);
                }
                Err(e) => {
                    let _ = child.kill();
                    let _ = child.wait();
                    return Err(Error::io(format!("reading output of `{shown}`"), e));
                }
            }
        }
    }
    let status = child
        .wait()
        .map_err(|e| Error::io(format!("waiting for `{shown}`"), e))?;
    check_interrupt()?;
    Ok((status, captured))
}

/// Runs a command quietly and returns its stdout; a failure is an error carrying its stderr.
pub fn output(cmd: &mut Command) -> Result<String> {
    let shown = render(cmd);
    let out = cmd
        .stdin(Stdio::null())
        .output()
        .map_err(|e| Error::io(format!("running `{shown}`"), e))?;
    check_interrupt()?;
    if !out.status.success() {
        let mut status = describe(&out.status);
        let stderr = String::from_utf8_lossy(&out.stderr);
        if !stderr.trim().is_empty() {
            let _ = write!(status, ": {}", stderr.trim());
        }
        return Err(Error::Command {
            command: shown,
            status,
        });
    }
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}

/// A child running as the leader of its own process group. Dropping it kills the whole group.
pub struct Group {
    child: Child,
    label: String,
    status: Option<ExitStatus>,
}

/// How waiting with a deadline ended.
pub enum Waited {
    Exited(ExitStatus),
    TimedOut,
}

impl Group {
    /// Starts `cmd` in a new process group.
    pub fn spawn(cmd: &mut Command, label: &str) -> Result<Group> {
        cmd.process_group(0);
        let child = cmd
            .spawn()
            .map_err(|e| Error::io(format!("starting {label} (`{}`)", render(cmd)), e))?;
        Ok(Group {
            child,
            label: label.to_string(),
            status: None,
        })
    }

    /// The leader's pid (also the group id).
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// The leader's exit status if it has exited.
    pub fn try_wait(&mut self) -> Result<Option<ExitStatus>> {
        if self.status.is_none() {
            self.status = self
                .child
                .try_wait()
                .map_err(|e| Error::io(format!("waiting for {}", self.label), e))?;
        }
        Ok(self.status)
    }

    /// Waits for the leader until `deadline`. On timeout or interrupt the group is killed; after
    /// a normal exit, whatever the leader left behind in its group is killed too.
    pub fn wait_until(&mut self, deadline: Instant) -> Result<Waited> {
        loop {
            if let Some(status) = self.try_wait()? {
                self.signal(libc::SIGKILL);
                return Ok(Waited::Exited(status));
            }
            if interrupted() {
                self.kill();
                return Err(Error::Interrupted);
            }
            if Instant::now() >= deadline {
                self.kill();
                return Ok(Waited::TimedOut);
            }
            thread::sleep(Duration::from_millis(50));
        }
    }

    /// Sends a signal to every process of the group.
    pub fn signal(&self, signal: libc::c_int) {
        let Ok(pgid) = libc::pid_t::try_from(self.child.id()) else {
            return;
        };
        // SAFETY: kill(2) with a negative pid signals a process group; no memory is involved.
        // The group id stays reserved while any member lives, so this cannot hit a stranger.
        unsafe {
            libc::kill(-pgid, signal);
        }
    }

    /// Kills the whole group and reaps the leader.
    pub fn kill(&mut self) {
        self.signal(libc::SIGKILL);
        if self.status.is_none() {
            if let Ok(status) = self.child.wait() {
                self.status = Some(status);
            }
        }
    }
}

impl Drop for Group {
    fn drop(&mut self) {
        self.kill();
    }
}
