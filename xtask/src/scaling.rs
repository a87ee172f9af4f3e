//! The complexity check of `cargo xtask bench`: for a few commands whose cost depends on a
//! collection's size (ZADD and ZRANK on a big sorted set, LINDEX in the middle of a long list,
//! SINTER of a small set with a big one), the collection is filled to N, 2N and 4N elements on a
//! fresh instance of each server and the command's throughput measured at each size. The cost
//! growth per doubling, cost(2N)/cost(N), must stay within what the documented complexity allows
//! (about 1 for O(log N) and O(1)-in-the-big-set, 2 for O(N)) — and never grow faster than
//! Redis's own on the same machine. The report says "ok" or "WORSE" per command.

use std::fmt::Write as _;
use std::path::Path;
use std::process::Command;

use crate::bench::{parse_csv, SERVER_ARGS};
use crate::error::{Error, Result};
use crate::proc;
use crate::resp;
use crate::server::Server;

/// One size-dependent command.
pub struct Case {
    pub name: &'static str,
    /// Documented complexity, for the report.
    pub complexity: &'static str,
    /// Largest allowed cost growth per doubling of N by the complexity (with noise margin).
    pub allowed_growth: f64,
    /// Fills the collection to `n` elements.
    fill: fn(&mut resp::Conn, u64) -> Result<()>,
    /// redis-benchmark command line for size `n` and its `-r`.
    command: fn(u64) -> (Vec<String>, u64),
}

/// Base size; the check runs at N, 2N and 4N.
pub const BASE: u64 = 250_000;
const SIZES: [u64; 3] = [BASE, 2 * BASE, 4 * BASE];
const REQUESTS: u64 = 100_000;

fn member(i: u64) -> String {
    // redis-benchmark writes `__rand_int__` as 12 zero-padded digits.
    format!("m:{i:012}")
}

fn fill_zset(conn: &mut resp::Conn, n: u64) -> Result<()> {
    conn.pipeline((0..n.div_ceil(100)).map(|c| {
        let mut args = vec!["ZADD".to_string(), "zs".to_string()];
        for i in c * 100..((c + 1) * 100).min(n) {
            args.push(i.to_string());
            args.push(member(i));
        }
        args
    }))
}

fn fill_list(conn: &mut resp::Conn, n: u64) -> Result<()> {
    conn.pipeline((0..n.div_ceil(100)).map(|c| {
        let mut args = vec!["RPUSH".to_string(), "list".to_string()];
        args.extend((c * 100..((c + 1) * 100).min(n)).map(member));
        args
    }))
}

fn fill_sets(conn: &mut resp::Conn, n: u64) -> Result<()> {
    conn.pipeline((0..n.div_ceil(100)).map(|c| {
        let mut args = vec!["SADD".to_string(), "big".to_string()];
        args.extend((c * 100..((c + 1) * 100).min(n)).map(member));
        args
    }))?;
    // Ten members spread over the big set, so every lookup hits.
    let mut args = vec!["SADD".to_string(), "small".to_string()];
    args.extend((0..10).map(|i| member(i * (n / 10))));
    conn.pipeline(std::iter::once(args))
}

fn strings(v: &[&str]) -> Vec<String> {
    v.iter().map(|s| s.to_string()).collect()
}

pub const CASES: &[Case] = &[
    Case {
        name: "ZADD (new members into a big sorted set)",
        complexity: "O(log N)",
        allowed_growth: 1.3,
        fill: fill_zset,
        command: |n| {
            (
                strings(&["ZADD", "zs", "__rand_int__", "new:__rand_int__"]),
                n * 10,
            )
        },
    },
    Case {
        name: "ZRANK (random member)",
        complexity: "O(log N)",
        allowed_growth: 1.3,
        fill: fill_zset,
        command: |n| (strings(&["ZRANK", "zs", "m:__rand_int__"]), n),
    },
    Case {
        name: "LINDEX (middle of the list)",
        complexity: "O(N)",
        allowed_growth: 2.3,
        fill: fill_list,
        command: |n| {
            (
                vec![
                    "LINDEX".to_string(),
                    "list".to_string(),
                    (n / 2).to_string(),
                ],
                0,
            )
        },
    },
    Case {
        name: "SINTER (10-member set with a big one)",
        complexity: "O(N*M), N = smallest set",
        allowed_growth: 1.3,
        fill: fill_sets,
        command: |_| (strings(&["SINTER", "small", "big"]), 0),
    },
];

/// Throughput of each case at each size, per server (`[ours, redis]`).
pub struct Measured {
    pub rps: Vec<[[Option<f64>; 3]; 2]>,
}

fn rps_at(benchmark: &Path, server: &Server, case: &Case, n: u64) -> Result<Option<f64>> {
    let (command, random) = (case.command)(n);
    let mut cmd = Command::new(benchmark);
    cmd.args(["-h", "127.0.0.1", "-p"])
        .arg(server.port.to_string())
        .args(["-c", "50", "-n"])
        .arg(REQUESTS.to_string())
        .args(["-q", "--csv"]);
    if random > 0 {
        cmd.arg("-r").arg(random.to_string());
    }
    cmd.args(&command);
    let out = proc::output(&mut cmd)?;
    Ok(parse_csv(&out).map(|(rps, _)| rps))
}

/// Runs every case on fresh servers of each kind (`binaries` = [ours, redis]).
pub fn measure(benchmark: &Path, binaries: [&Path; 2], work: &Path) -> Result<Measured> {
    let mut rps = Vec::new();
    for (ci, case) in CASES.iter().enumerate() {
        println!("scaling: {} at N = {SIZES:?}", case.name);
        let mut per_server = [[None; 3]; 2];
        for (si, size) in SIZES.iter().enumerate() {
            // Alternate servers per size, each filled from empty, so drift hits both alike.
            for (bi, binary) in binaries.iter().enumerate() {
                let label = if bi == 0 { "ours" } else { "redis" };
                let dir = work.join(format!("scaling-{label}-{ci}-{size}"));
                let server = Server::start(
                    binary,
                    &dir,
                    SERVER_ARGS,
                    &work.join(format!("scaling-{label}-{ci}-{size}.log")),
                )?;
                let mut conn = server.connect()?;
                (case.fill)(&mut conn, *size).map_err(|e| {
                    Error::Failed(format!("{label}: filling for {}: {e}", case.name))
                })?;
                drop(conn);
                per_server[bi][si] = rps_at(benchmark, &server, case, *size)?;
                server.stop()?;
            }
        }
        rps.push(per_server);
    }
    Ok(Measured { rps })
}

/// Cost growth per doubling: the geometric mean of rps(N)/rps(2N) and rps(2N)/rps(4N).
pub fn growth(rps: &[Option<f64>; 3]) -> Option<f64> {
    let [a, b, c] = *rps;
    let (a, b, c) = (a?, b?, c?);
    if a <= 0.0 || b <= 0.0 || c <= 0.0 {
        return None;
    }
    Some(((a / b) * (b / c)).sqrt())
}

/// Within the complexity's bound, or no worse than Redis's own growth (with 15% slack).
pub fn verdict(case: &Case, ours: Option<f64>, redis: Option<f64>) -> &'static str {
    match ours {
        None => "n/a",
        Some(g) if g <= case.allowed_growth => "ok",
        Some(g) if redis.is_some_and(|r| g <= r * 1.15) => "ok (as Redis)",
        Some(_) => "WORSE",
    }
}

pub fn render(m: &Measured) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "\n## Cost growth with size (fresh instance per size; N = {BASE}, 2N, 4N; -c 50, {REQUESTS} requests)\n"
    );
    out.push_str(
        "| command | complexity | ours rps N / 2N / 4N | Redis rps N / 2N / 4N | ours growth per doubling | Redis growth | verdict |\n",
    );
    out.push_str("|---|---|---:|---:|---:|---:|---|\n");
    let f = |v: Option<f64>| v.map_or("–".to_string(), |x| format!("{x:.0}"));
    for (case, rps) in CASES.iter().zip(&m.rps) {
        let go = growth(&rps[0]);
        let gr = growth(&rps[1]);
        let _ = writeln!(
            out,
            "| {} | {} | {} / {} / {} | {} / {} / {} | {} | {} | {} |",
            case.name,
            case.complexity,
            f(rps[0][0]),
            f(rps[0][1]),
            f(rps[0][2]),
            f(rps[1][0]),
            f(rps[1][1]),
            f(rps[1][2]),
            go.map_or("–".to_string(), |g| format!("{g:.2}")),
            gr.map_or("–".to_string(), |g| format!("{g:.2}")),
            verdict(case, go, gr),
        );
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn growth_per_doubling() {
        assert_eq!(growth(&[Some(400.0), Some(200.0), Some(100.0)]), Some(2.0));
        assert_eq!(growth(&[Some(100.0), Some(100.0), Some(100.0)]), Some(1.0));
        assert_eq!(growth(&[Some(100.0), None, Some(100.0)]), None);
    }

    #[test]
    fn verdicts() {
        let log = &CASES[0];
        assert_eq!(verdict(log, Some(1.1), Some(1.0)), "ok");
        assert_eq!(verdict(log, Some(1.6), Some(1.5)), "ok (as Redis)");
        assert_eq!(verdict(log, Some(2.0), Some(1.0)), "WORSE");
        assert_eq!(verdict(log, None, Some(1.0)), "n/a");
    }
}
