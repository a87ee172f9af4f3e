//! The one error type of xtask.
//!
//! xtask is a driver of other processes, so most failures are "a file or a program did not do
//! what we needed"; each variant carries enough context to act on without a backtrace.

use std::fmt;
use std::path::Path;

/// Everything that can stop an xtask command.
#[derive(Debug)]
pub enum Error {
    /// An I/O operation failed; `context` says what we were doing.
    Io {
        context: String,
        source: std::io::Error,
    },
    /// A program we ran exited unsuccessfully.
    Command { command: String, status: String },
    /// A file had content we could not understand.
    Parse {
        path: String,
        line: usize,
        message: String,
    },
    /// A usage error on the xtask command line.
    Usage(String),
    /// Any other precondition that does not hold (missing binary, server that does not start...).
    Failed(String),
    /// SIGINT or SIGTERM arrived; children have been killed.
    Interrupted,
}

/// Result alias used across xtask.
pub type Result<T> = std::result::Result<T, Error>;

impl Error {
    /// An I/O error with a description of what was being attempted.
    pub fn io(context: impl Into<String>, source: std::io::Error) -> Self {
        Error::Io {
            context: context.into(),
            source,
        }
    }

    /// An I/O error about a path.
    pub fn io_path(what: &str, path: &Path, source: std::io::Error) -> Self {
        Error::io(format!("{what} {}", path.display()), source)
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::Io { context, source } => write!(f, "{context}: {source}"),
            Error::Command { command, status } => write!(f, "`{command}` failed ({status})"),
            Error::Parse {
                path,
                line,
                message,
            } => write!(f, "{path}:{line}: {message}"),
            Error::Usage(msg) => write!(f, "{msg} (see `cargo xtask help`)"),
            Error::Failed(msg) => f.write_str(msg),
            Error::Interrupted => f.write_str("interrupted"),
        }
    }
}

impl std::error::Error for Error {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Error::Io { source, .. } => Some(source),
            _ => None,
        }
    }
}
