//! Running cargo from xtask: building the server and running the workspace's tests.
//!
//! `cargo xtask test` builds and tests with the `ci` profile (release optimisation, no LTO, no
//! debug info; Cargo.toml) so that `cargo test` reuses the dependencies the server build just
//! compiled; `compat` and `bench` build the `release` binary a user runs.

use std::env;
use std::process::Command;

use crate::error::Result;
use crate::paths;
use crate::proc;

fn cargo() -> Command {
    let program = env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let mut cmd = Command::new(program);
    cmd.current_dir(paths::root());
    cmd
}

/// The profile CI builds and tests with.
pub const CI_PROFILE: &str = "ci";

/// `cargo build --profile PROFILE -p redis-server`.
pub fn build_server(profile: &str) -> Result<()> {
    proc::run_checked(cargo().args(["build", "--profile", profile, "-p", "redis-server"]))
}

/// Passed and failed counts summed over cargo test's `test result:` lines.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct TestCounts {
    pub passed: usize,
    pub failed: usize,
}

/// Sums `test result: ok. 12 passed; 0 failed; ...` lines.
pub fn parse_test_counts(output: &str) -> TestCounts {
    let mut counts = TestCounts::default();
    for line in output.lines() {
        let Some(rest) = line.trim().strip_prefix("test result: ") else {
            continue;
        };
        for part in rest.split(';') {
            let words: Vec<&str> = part.split_whitespace().collect();
            // "ok. 12 passed" / "FAILED. 3 passed" / "1 failed"
            if let [.., number, label] = words[..] {
                let Ok(n) = number.parse::<usize>() else {
                    continue;
                };
                match label {
                    "passed" => counts.passed += n,
                    "failed" => counts.failed += n,
                    _ => {}
                }
            }
        }
    }
    counts
}

/// `cargo test --workspace --profile ci`; returns whether it succeeded and the counts it printed.
pub fn test_workspace() -> Result<(bool, TestCounts)> {
    let (status, output) =
        proc::run_tee(cargo().args(["test", "--workspace", "--profile", CI_PROFILE]))?;
    Ok((status.success(), parse_test_counts(&output)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sums_every_test_result_line() {
        let out = "\
running 3 tests
test result: ok. 3 passed; 0 failed; 0 ignored; 0 measured; 0 filtered out; finished in 0.00s
test result: FAILED. 10 passed; 2 failed; 1 ignored; 0 measured; 0 filtered out
   Doc-tests resp
test result: ok. 0 passed; 0 failed; 0 ignored; 0 measured; 0 filtered out
";
        assert_eq!(
            parse_test_counts(out),
            TestCounts {
                passed: 13,
                failed: 2
            }
        );
        assert_eq!(parse_test_counts("nothing here"), TestCounts::default());
    }
}
