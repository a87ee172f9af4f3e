//! `cargo xtask test`: everything CI runs, in order, saying what it does:
//! (a) prerequisites (Debian packages, the Tcl suite), (b) the server build (`ci` profile:
//! release optimisation without LTO), (c) `cargo test --workspace --profile ci`, (d) the compatibility ratchet: every unit named in
//! `tests/compat/ratchet*.txt` runs against our binary and every listed test must pass.
//! It ends with one `N passed, M failed` line.

use std::path::PathBuf;

use crate::cargo::{self, TestCounts};
use crate::compat::{self, Runner, UnitRun};
use crate::error::{Error, Result};
use crate::paths;
use crate::ratchet::{self, Mode, Ratchet};
use crate::suite;

/// Options of `cargo xtask test`.
pub struct TestArgs {
    pub server: Option<PathBuf>,
    pub no_cargo: bool,
}

pub const USAGE: &str = "\
cargo xtask test [--server PATH] [--no-cargo]
    What CI runs: installs prerequisites, builds the server (cargo profile `ci`: release
    optimisation without LTO), runs cargo test --workspace --profile ci, then the Tcl units named in tests/compat/ratchet.txt (external mode) and
    ratchet-full.txt (full mode); fails if any listed test does not pass.
    --server PATH   run the ratchet against this binary (the build still runs unless --no-cargo)
    --no-cargo      skip the cargo build and cargo test steps";

pub fn parse_args(args: &[String]) -> Result<TestArgs> {
    let mut out = TestArgs {
        server: None,
        no_cargo: false,
    };
    let mut it = args.iter();
    while let Some(arg) = it.next() {
        match arg.as_str() {
            "--server" => {
                let value = it
                    .next()
                    .ok_or_else(|| Error::Usage("--server needs a path".into()))?;
                out.server = Some(PathBuf::from(value));
            }
            "--no-cargo" => out.no_cargo = true,
            other => return Err(Error::Usage(format!("unknown test option {other}"))),
        }
    }
    Ok(out)
}

/// Units the ratchet step runs at once.
const RATCHET_JOBS: usize = 2;

fn step(title: &str) {
    println!("\n==> {title}");
}

/// Runs the CI sequence. Returns whether everything passed.
pub fn run(args: TestArgs) -> Result<bool> {
    let mut counts = TestCounts::default();
    let mut all_ok = true;

    step("(a) prerequisites: Debian's redis-server, redis-tools, tcl; the Redis 7.0.15 suite");
    suite::ensure_prerequisites()?;
    let suite_dir = suite::ensure_suite()?;
    let ratchets = [
        (
            Mode::External,
            Ratchet::load(&ratchet::path(Mode::External))?,
        ),
        (Mode::Full, Ratchet::load(&ratchet::path(Mode::Full))?),
    ];

    let choice = paths::choose_server(args.server.clone(), cargo::CI_PROFILE);
    let mut server_built = true;
    if args.no_cargo {
        step("(b) build: skipped (--no-cargo)");
        step("(c) cargo test: skipped (--no-cargo)");
    } else {
        step("(b) cargo build --profile ci -p redis-server");
        if let Err(e) = cargo::build_server(cargo::CI_PROFILE) {
            println!("build failed: {e}");
            server_built = !choice.built_here;
            all_ok = false;
            counts.failed += 1;
        }
        step("(c) cargo test --workspace --profile ci");
        let (ok, test_counts) = cargo::test_workspace()?;
        counts.passed += test_counts.passed;
        counts.failed += test_counts.failed;
        if !ok {
            all_ok = false;
            if test_counts.failed == 0 {
                // A compile error fails the step without a `test result:` line.
                counts.failed += 1;
            }
        }
    }

    step("(d) compatibility ratchet (Tcl suite against our server)");
    let mut pairs: Vec<(String, Mode)> = Vec::new();
    for (mode, ratchet) in &ratchets {
        println!(
            "{}: {} test(s) in {} unit(s)",
            paths::display_rel(&ratchet::path(*mode)),
            ratchet.entries.len(),
            ratchet.units().len()
        );
        pairs.extend(ratchet.units().into_iter().map(|u| (u, *mode)));
    }
    let listed: usize = ratchets.iter().map(|(_, r)| r.entries.len()).sum();
    if pairs.is_empty() {
        println!("the ratchet is empty: no Tcl unit to run");
    } else if !server_built {
        println!("no server binary: the {listed} ratchet test(s) count as failed");
        counts.failed += listed;
        all_ok = false;
    } else {
        println!("server under test: {}", choice.path.display());
        let runner = Runner::new(
            suite_dir,
            choice.path.clone(),
            paths::target_dir().join("compat-ci"),
        )?;
        // Two units at a time (the machine CI runs on has 2 cores); then one retry per unit with
        // regressions, alone: timing-sensitive tests on a shared machine fail now and then, a
        // real regression fails twice.
        let mut runs = runner.run_all(&pairs, RATCHET_JOBS)?;
        let mut retry: Vec<(String, Mode)> = Vec::new();
        for (mode, ratchet) in &ratchets {
            let refs: Vec<&UnitRun> = runs.iter().collect();
            let check = compat::check_ratchet(ratchet, &refs, *mode);
            for (unit, _) in &check.regressions {
                if !retry.contains(&(unit.clone(), *mode)) {
                    retry.push((unit.clone(), *mode));
                }
            }
        }
        if !retry.is_empty() {
            println!(
                "retrying {} unit(s) with failing ratchet tests",
                retry.len()
            );
            runs.extend(runner.run_all(&retry, 1)?);
        }
        for run in &runs {
            compat::print_details(run);
        }
        compat::print_table(&runs);
        let mut diagnosed: Vec<(String, Mode)> = Vec::new();
        for (mode, ratchet) in &ratchets {
            let refs: Vec<&UnitRun> = runs.iter().collect();
            let check = compat::check_ratchet(ratchet, &refs, *mode);
            for (unit, _) in &check.regressions {
                if !diagnosed.contains(&(unit.clone(), *mode)) {
                    diagnosed.push((unit.clone(), *mode));
                }
            }
        }
        // The last run of each failing unit (the retry when there was one), explained.
        for (unit, mode) in &diagnosed {
            if let Some(run) = runs
                .iter()
                .rev()
                .find(|r| &r.unit == unit && r.mode == *mode)
            {
                compat::print_diagnosis(run);
            }
        }
        for (mode, ratchet) in &ratchets {
            let refs: Vec<&UnitRun> = runs.iter().collect();
            let check = compat::check_ratchet(ratchet, &refs, *mode);
            compat::report_ratchet(&check);
            counts.passed += check.held;
            counts.failed += check.regressions.len();
            // A listed unit that produced no run at all cannot have passed its tests.
            counts.failed += check
                .listed
                .saturating_sub(check.held + check.regressions.len());
            if !check.regressions.is_empty() {
                all_ok = false;
            }
        }
    }

    println!();
    println!("{} passed, {} failed", counts.passed, counts.failed);
    Ok(all_ok && counts.failed == 0)
}
