//! ferrodis developer tasks, run as `cargo xtask <command>` (alias in `.cargo/config.toml`):
//!
//! - `test`   — everything CI runs (`.ci/run`): prerequisites, release build, `cargo test`, and the
//!   compatibility ratchet; ends with an `N passed, M failed` line.
//! - `compat` — runs the Redis 7.0.15 Tcl suite against our server, records the results, writes
//!   docs/COMPATIBILITY.md and grows the ratchet.
//! - `bench`  — redis-benchmark against our server and Debian's redis-server in alternation;
//!   writes docs/BENCHMARKS.md.
//!
//! Modules: `testcmd`, `compat` (+ `compat_docs`, `tcl` output parsing, `ratchet`), `bench`;
//! shared plumbing in `suite` (Debian packages and the Tcl suite), `server` (one server process),
//! `proc` (process groups, deadlines, signals), `resp` (a tiny RESP client), `cargo`, `paths`.
//!
//! xtask depends only on std and libc and never on the workspace's crates: it is the judge of
//! the server, builds in seconds, and must keep working while the server crates are broken.

mod bench;
mod cargo;
mod compat;
mod compat_docs;
mod error;
mod loadgen;
mod paths;
mod proc;
mod ratchet;
mod resp;
mod scaling;
mod server;
mod suite;
mod tcl;
mod testcmd;

use std::process::ExitCode;

use error::{Error, Result};

const USAGE: &str = "\
usage: cargo xtask <command> [options]

commands:
  test      everything CI runs (see below)
  compat    run the Redis 7.0.15 Tcl suite against our server
  bench     compare throughput, latency, CPU and memory with Debian's redis-server
  help      this text

The binary under test defaults to target/release/redis-server (built first); override it with
--server PATH or $FERRODIS_SERVER, e.g. --server /usr/bin/redis-server to check the tooling
against real Redis.
";

fn dispatch(args: &[String]) -> Result<bool> {
    let Some((command, rest)) = args.split_first() else {
        println!("{USAGE}");
        return Err(Error::Usage("no command given".into()));
    };
    match command.as_str() {
        "test" => testcmd::run(testcmd::parse_args(rest)?),
        "compat" => compat::run(compat::parse_args(rest)?),
        "bench" => bench::run(bench::parse_args(rest)?),
        "help" | "--help" | "-h" => {
            println!(
                "{USAGE}\n{}\n\n{}\n\n{}",
                testcmd::USAGE,
                compat::USAGE,
                bench::USAGE
            );
            Ok(true)
        }
        other => Err(Error::Usage(format!("unknown command {other}"))),
    }
}

fn main() -> ExitCode {
    proc::install_signal_handlers();
    let args: Vec<String> = std::env::args().skip(1).collect();
    match dispatch(&args) {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => ExitCode::FAILURE,
        Err(Error::Interrupted) => {
            eprintln!("xtask: interrupted; child processes were stopped");
            ExitCode::from(130)
        }
        Err(e) => {
            eprintln!("xtask: error: {e}");
            ExitCode::FAILURE
        }
    }
}
