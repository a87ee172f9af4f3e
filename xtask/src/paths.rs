//! Where things are: the repository root, cargo's target directory, programs on PATH, and the
//! server binaries under test.

use std::env;
use std::path::{Path, PathBuf};

/// Environment variable naming the server binary under test (same as `--server`).
pub const SERVER_ENV: &str = "FERRODIS_SERVER";
/// Environment variable naming the reference Redis server for `bench` (same as `--redis`).
pub const REDIS_ENV: &str = "FERRODIS_REDIS_SERVER";
/// Environment variable overriding the repository root (useful when xtask is built elsewhere).
pub const ROOT_ENV: &str = "FERRODIS_ROOT";

/// The workspace root: `$FERRODIS_ROOT`, else the parent of this crate's manifest directory.
pub fn root() -> PathBuf {
    if let Some(dir) = env::var_os(ROOT_ENV) {
        return PathBuf::from(dir);
    }
    let manifest = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    manifest.parent().map(Path::to_path_buf).unwrap_or(manifest)
}

/// Cargo's target directory, honouring `CARGO_TARGET_DIR` like cargo does.
pub fn target_dir() -> PathBuf {
    match env::var_os("CARGO_TARGET_DIR") {
        Some(dir) => {
            let dir = PathBuf::from(dir);
            if dir.is_absolute() {
                dir
            } else {
                // cargo resolves a relative CARGO_TARGET_DIR against the directory it runs in;
                // `cargo xtask` does not change directory, so the current one is right.
                env::current_dir().map(|cwd| cwd.join(&dir)).unwrap_or(dir)
            }
        }
        None => root().join("target"),
    }
}

/// Where cargo puts our server binary built with `profile` ("release" for the default).
pub fn default_server(profile: &str) -> PathBuf {
    target_dir().join(profile).join("redis-server")
}

/// Which server binary to test: an explicit `--server`, else `$FERRODIS_SERVER`, else the
/// release build (which the caller must build; `built_here` says so).
pub struct ServerChoice {
    pub path: PathBuf,
    pub built_here: bool,
}

/// Resolves the server under test from the flag and the environment; without either, the
/// binary of cargo profile `profile`.
pub fn choose_server(flag: Option<PathBuf>, profile: &str) -> ServerChoice {
    if let Some(path) = flag.or_else(|| env::var_os(SERVER_ENV).map(PathBuf::from)) {
        return ServerChoice {
            path: absolute(&path),
            built_here: false,
        };
    }
    ServerChoice {
        path: default_server(profile),
        built_here: true,
    }
}

/// Finds a program on PATH.
pub fn which(name: &str) -> Option<PathBuf> {
    let path = env::var_os("PATH")?;
    env::split_paths(&path)
        .map(|dir| dir.join(name))
        .find(|candidate| is_executable(candidate))
}

/// Whether a path is an executable regular file.
pub fn is_executable(path: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt;
    path.metadata()
        .map(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
        .unwrap_or(false)
}

/// Makes a path absolute against the current directory, without touching the file system.
pub fn absolute(path: &Path) -> PathBuf {
    if path.is_absolute() {
        path.to_path_buf()
    } else {
        env::current_dir()
            .map(|cwd| cwd.join(path))
            .unwrap_or_else(|_| path.to_path_buf())
    }
}

/// A path shown relative to the repository root when it lies inside it.
pub fn display_rel(path: &Path) -> String {
    let root = root();
    match path.strip_prefix(&root) {
        Ok(rel) => rel.display().to_string(),
        Err(_) => path.display().to_string(),
    }
}
