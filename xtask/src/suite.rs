//! The Redis 7.0.15 Tcl suite and its prerequisites: Debian's redis-server/redis-tools/tcl
//! packages, the suite itself (from Debian's `redis` source package, cached under the target
//! directory), and fresh per-run copies of it with the binaries the harness expects in `src/`.

use std::env;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

use crate::error::{Error, Result};
use crate::paths;
use crate::proc;

/// The upstream version whose suite we run.
pub const REDIS_VERSION: &str = "7.0.15";
/// Environment variable pointing at an already extracted suite (a `redis-7.0.15` directory).
pub const SUITE_ENV: &str = "FERRODIS_REDIS_SUITE";

/// The deb822 source entry added when the machine has no deb-src for bookworm. A plain
/// `sources.list` line would conflict with the Signed-By of the existing deb822 entries.
const DEBSRC_PATH: &str = "/etc/apt/sources.list.d/debsrc.sources";
const DEBSRC_ENTRY: &str = "Types: deb-src
URIs: http://deb.debian.org/debian
Suites: bookworm bookworm-updates
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
";

/// Programs from Debian's redis-tools that the harness runs as `src/<name>`.
pub const TOOLS: [&str; 4] = [
    "redis-cli",
    "redis-benchmark",
    "redis-check-aof",
    "redis-check-rdb",
];

fn is_root() -> bool {
    // SAFETY: geteuid has no preconditions and cannot fail.
    unsafe { libc::geteuid() == 0 }
}

/// A command run as root: directly when we are root, else through sudo.
fn privileged(program: &str) -> Command {
    if is_root() {
        Command::new(program)
    } else {
        let mut cmd = Command::new("sudo");
        cmd.arg(program);
        cmd
    }
}

fn apt_get() -> Command {
    let mut cmd = privileged("apt-get");
    cmd.env("DEBIAN_FRONTEND", "noninteractive");
    cmd
}

/// The Tcl interpreter `runtest` looks for (it wants a versioned name).
fn tclsh() -> Option<PathBuf> {
    ["tclsh8.7", "tclsh8.6", "tclsh8.5"]
        .iter()
        .find_map(|name| paths::which(name))
}

/// Installs Debian's redis-server, redis-tools and tcl if any program we need is missing.
pub fn ensure_prerequisites() -> Result<()> {
    let mut missing: Vec<&str> = ["redis-server", "redis-cli", "redis-benchmark"]
        .into_iter()
        .chain(TOOLS)
        .filter(|name| paths::which(name).is_none())
        .collect();
    missing.dedup();
    if tclsh().is_none() {
        missing.push("tclsh8.x");
    }
    if missing.is_empty() {
        println!("prerequisites: redis-server, redis-tools and tcl are installed");
        return Ok(());
    }
    println!(
        "prerequisites: missing {}; installing Debian packages",
        missing.join(", ")
    );
    proc::run_checked(apt_get().arg("update"))?;
    proc::run_checked(apt_get().args(["install", "-y", "redis-server", "redis-tools", "tcl"]))?;
    // Debian's postinst may start a redis-server service on 6379; it is harmless for us (we
    // always pick free ports) so it is left to the machine's owner.
    Ok(())
}

/// A path to a Debian tool, for copying into a suite's `src/`.
pub fn tool_path(name: &str) -> Result<PathBuf> {
    paths::which(name).ok_or_else(|| {
        Error::Failed(format!(
            "{name} not found on PATH (run `cargo xtask test` once, or apt-get install redis-tools)"
        ))
    })
}

fn suite_is_complete(dir: &Path) -> bool {
    dir.join("runtest").is_file()
        && dir.join("tests/test_helper.tcl").is_file()
        && dir.join("tests/assets/default.conf").is_file()
}

/// The cache directory for the source package.
pub fn cache_dir() -> PathBuf {
    paths::target_dir().join("redis-suite")
}

/// Returns an extracted Redis 7.0.15 tree containing `runtest` and `tests/`, fetching it with
/// apt-get (deb-src) into the cache directory if needed.
pub fn ensure_suite() -> Result<PathBuf> {
    if let Some(dir) = env::var_os(SUITE_ENV) {
        let dir = paths::absolute(Path::new(&dir));
        if suite_is_complete(&dir) {
            println!("suite: {} (from ${SUITE_ENV})", dir.display());
            return Ok(dir);
        }
        return Err(Error::Failed(format!(
            "${SUITE_ENV}={} has no runtest/tests/test_helper.tcl",
            dir.display()
        )));
    }
    let cache = cache_dir();
    let dir = cache.join(format!("redis-{REDIS_VERSION}"));
    if suite_is_complete(&dir) {
        println!("suite: {}", paths::display_rel(&dir));
        return Ok(dir);
    }
    fs::create_dir_all(&cache).map_err(|e| Error::io_path("creating", &cache, e))?;
    let tarball = cache.join(format!("redis_{REDIS_VERSION}.orig.tar.gz"));
    if !tarball.is_file() {
        ensure_deb_src()?;
        proc::run_checked(apt_get().arg("update"))?;
        // apt-get source needs no privileges; it downloads into the current directory.
        proc::run_checked(
            Command::new("apt-get")
                .args(["source", "--download-only", "redis"])
                .current_dir(&cache),
        )?;
        if !tarball.is_file() {
            return Err(Error::Failed(format!(
                "apt-get source redis did not produce {} (is the candidate still {REDIS_VERSION}?)",
                tarball.display()
            )));
        }
    }
    let _ = fs::remove_dir_all(&dir);
    proc::run_checked(
        Command::new("tar")
            .arg("xzf")
            .arg(&tarball)
            .arg("-C")
            .arg(&cache),
    )?;
    if !suite_is_complete(&dir) {
        return Err(Error::Failed(format!(
            "{} did not unpack to a complete suite in {}",
            tarball.display(),
            dir.display()
        )));
    }
    println!("suite: {}", paths::display_rel(&dir));
    Ok(dir)
}

/// Whether any apt source already provides deb-src for bookworm.
fn has_deb_src() -> bool {
    let mut files = vec![PathBuf::from("/etc/apt/sources.list")];
    if let Ok(entries) = fs::read_dir("/etc/apt/sources.list.d") {
        files.extend(entries.flatten().map(|e| e.path()));
    }
    files.iter().any(|file| {
        let name = file.to_string_lossy();
        if !(name.ends_with(".list") || name.ends_with(".sources")) {
            return false;
        }
        fs::read_to_string(file)
            .map(|text| provides_bookworm_deb_src(&text))
            .unwrap_or(false)
    })
}

/// Whether apt source text (one-line `.list` or deb822 `.sources`) has an active deb-src entry
/// for bookworm.
fn provides_bookworm_deb_src(text: &str) -> bool {
    let active = |stanza: &'_ str| -> Vec<String> {
        stanza
            .lines()
            .map(str::trim)
            .filter(|l| !l.is_empty() && !l.starts_with('#'))
            .map(str::to_string)
            .collect()
    };
    // One-line format: each line stands alone.
    let one_line = active(text).iter().any(|l| {
        l.starts_with("deb-src ") && l.split_whitespace().any(|w| w.starts_with("bookworm"))
    });
    // deb822: stanzas separated by blank lines, with Types: and Suites: fields.
    let deb822 = text.split("\n\n").any(|stanza| {
        let lines = active(stanza);
        let field = |name: &str| {
            lines
                .iter()
                .find_map(|l| l.strip_prefix(name).map(str::to_string))
                .unwrap_or_default()
        };
        field("Types:").split_whitespace().any(|w| w == "deb-src")
            && field("Suites:")
                .split_whitespace()
                .any(|w| w.starts_with("bookworm"))
    });
    one_line || deb822
}

fn ensure_deb_src() -> Result<()> {
    if has_deb_src() {
        return Ok(());
    }
    println!("adding {DEBSRC_PATH} (deb-src for bookworm main)");
    if is_root() {
        fs::write(DEBSRC_PATH, DEBSRC_ENTRY)
            .map_err(|e| Error::io(format!("writing {DEBSRC_PATH}"), e))?;
        return Ok(());
    }
    let mut child = Command::new("sudo")
        .args(["tee", DEBSRC_PATH])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::null())
        .spawn()
        .map_err(|e| Error::io("running sudo tee", e))?;
    if let Some(mut stdin) = child.stdin.take() {
        use std::io::Write;
        stdin
            .write_all(DEBSRC_ENTRY.as_bytes())
            .map_err(|e| Error::io("writing to sudo tee", e))?;
    }
    let status = child.wait().map_err(|e| Error::io("running sudo tee", e))?;
    if !status.success() {
        return Err(Error::Command {
            command: format!("sudo tee {DEBSRC_PATH}"),
            status: proc::describe(&status),
        });
    }
    Ok(())
}

/// The units the suite knows, in its own order (`./runtest --list-tests`).
pub fn list_units(suite: &Path) -> Result<Vec<String>> {
    let tcl = tclsh().ok_or_else(|| Error::Failed("no tclsh8.x on PATH".into()))?;
    let out = proc::output(
        Command::new(tcl)
            .args(["tests/test_helper.tcl", "--list-tests"])
            .current_dir(suite),
    )?;
    Ok(out
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .map(str::to_string)
        .collect())
}

pub fn copy_tree(from: &Path, to: &Path) -> Result<()> {
    fs::create_dir_all(to).map_err(|e| Error::io_path("creating", to, e))?;
    let entries = fs::read_dir(from).map_err(|e| Error::io_path("reading", from, e))?;
    for entry in entries {
        let entry = entry.map_err(|e| Error::io_path("reading", from, e))?;
        let kind = entry
            .file_type()
            .map_err(|e| Error::io_path("inspecting", &entry.path(), e))?;
        let target = to.join(entry.file_name());
        if kind.is_dir() {
            copy_tree(&entry.path(), &target)?;
        } else if kind.is_file() {
            copy_file(&entry.path(), &target)?;
        }
        // Symlinks: the suite ships none that the harness needs.
    }
    Ok(())
}

fn copy_file(from: &Path, to: &Path) -> Result<()> {
    fs::copy(from, to)
        .map(|_| ())
        .map_err(|e| Error::io(format!("copying {} to {}", from.display(), to.display()), e))
}

/// Lays out a private copy of the suite in `work`: `runtest`, `tests/` and `src/` holding
/// `server` as `src/redis-server` plus Debian's tools. Two runs must never share a copy: each
/// writes `tests/tmp` and the harness reads `src/`.
pub fn prepare_copy(suite: &Path, work: &Path, server: &Path) -> Result<()> {
    if work.exists() {
        fs::remove_dir_all(work).map_err(|e| Error::io_path("removing", work, e))?;
    }
    copy_tree(&suite.join("tests"), &work.join("tests"))?;
    fs::create_dir_all(work.join("tests/tmp"))
        .map_err(|e| Error::io_path("creating", &work.join("tests/tmp"), e))?;
    copy_file(&suite.join("runtest"), &work.join("runtest"))?;
    let src = work.join("src");
    fs::create_dir_all(&src).map_err(|e| Error::io_path("creating", &src, e))?;
    // A copy, not a symlink: some tests inspect the binary (ldd) or compare argv[0].
    copy_file(server, &src.join("redis-server"))?;
    for tool in TOOLS {
        copy_file(&tool_path(tool)?, &src.join(tool))?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn recognises_deb_src_entries() {
        assert!(provides_bookworm_deb_src(DEBSRC_ENTRY));
        assert!(provides_bookworm_deb_src(
            "deb http://x/debian bookworm main\ndeb-src http://x/debian bookworm main\n"
        ));
        assert!(!provides_bookworm_deb_src(
            "Types: deb\nURIs: http://x/debian\nSuites: bookworm\nComponents: main\n"
        ));
        assert!(!provides_bookworm_deb_src(
            "# deb-src http://x/debian bookworm main\n"
        ));
        // A deb-src entry for another release does not count.
        assert!(!provides_bookworm_deb_src(
            "deb http://x/debian bookworm main\ndeb-src http://x/debian trixie main\n"
        ));
        assert!(!provides_bookworm_deb_src(
            "Types: deb-src\nSuites: trixie\n\nTypes: deb\nSuites: bookworm\n"
        ));
    }

    #[test]
    fn copies_a_tree_with_nested_files() {
        let base = env::temp_dir().join(format!("xtask-copy-{}", std::process::id()));
        let from = base.join("from");
        let to = base.join("to");
        let _ = fs::remove_dir_all(&base);
        assert!(fs::create_dir_all(from.join("a/b")).is_ok());
        assert!(fs::write(from.join("a/b/c.tcl"), "puts hi").is_ok());
        assert!(fs::write(from.join("top"), "x").is_ok());
        assert!(copy_tree(&from, &to).is_ok());
        assert_eq!(
            fs::read_to_string(to.join("a/b/c.tcl")).ok().as_deref(),
            Some("puts hi")
        );
        assert_eq!(
            fs::read_to_string(to.join("top")).ok().as_deref(),
            Some("x")
        );
        let _ = fs::remove_dir_all(&base);
    }
}
