//! Loading configuration text: `redis.conf` files (with `include`), stdin, and the
//! `redis-server` command line, with Redis's fatal startup messages.

use std::io::Read;
use std::path::{Path, PathBuf};

use super::parse::{self, lossy, split_args};
use super::table::MULTI_ARG;
use super::{entries, glob, lookup, Config};

/// What the text passed to [`Config::load_str`] comes from (informational: Redis's messages do
/// not name the source, but logs may).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Origin<'a> {
    /// A config file (or an `include`d one).
    File(&'a Path),
    /// Configuration read from standard input (`redis-server -`).
    Stdin,
    /// The concatenation built from command-line options.
    CommandLine,
    /// Any other text (tests, embedding).
    Text,
}

/// The offending line of a config error: 1-based number within the text being parsed, and
/// the line with surrounding blanks trimmed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ErrorLine {
    pub number: usize,
    pub text: String,
}

/// Why the server cannot start. `Display` is exactly what Redis prints on stderr before
/// exiting with status 1 (without the final newline).
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum StartupError {
    /// A directive was rejected, or a post-load sanity check failed (`line` is `None` then).
    #[error("{}", fatal_banner(.line.as_ref(), .reason))]
    Config {
        line: Option<ErrorLine>,
        reason: String,
    },
    /// The config file (or an included one) could not be read. Redis logs this through its
    /// logger with its usual prefix; the message text is the same.
    #[error("Fatal error, can't open config file '{path}': {reason}")]
    OpenFile { path: String, reason: String },
}

fn fatal_banner(line: Option<&ErrorLine>, reason: &str) -> String {
    let mut s = String::from("\n*** FATAL CONFIG FILE ERROR (Redis 7.0.15) ***\n");
    if let Some(l) = line {
        s.push_str(&format!(
            "Reading the configuration file, at line {}\n>>> '{}'\n",
            l.number, l.text
        ));
    }
    s.push_str(reason);
    s
}

/// A directive the config layer stores for another layer to apply (`user`, `rename-command`,
/// `loadmodule`), with its position so that layer can fail startup with Redis's message.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Directive {
    /// Arguments after the directive name.
    pub args: Vec<String>,
    pub line: ErrorLine,
}

impl Directive {
    /// The fatal error Redis would print for this line, e.g.
    /// `d.error("No such command in rename-command")`.
    pub fn error(&self, reason: impl Into<String>) -> StartupError {
        StartupError::Config {
            line: Some(self.line.clone()),
            reason: reason.into(),
        }
    }
}

/// Directives that existed in older Redis versions and are silently accepted (with exactly one
/// argument).
const DEPRECATED: [&str; 3] = [
    "list-max-ziplist-entries",
    "list-max-ziplist-value",
    "lua-replicate-commands",
];

fn trim(mut s: &[u8]) -> &[u8] {
    const BLANKS: &[u8] = b" \t\r\n";
    while let Some((first, rest)) = s.split_first() {
        if !BLANKS.contains(first) {
            break;
        }
        s = rest;
    }
    while let Some((last, rest)) = s.split_last() {
        if !BLANKS.contains(last) {
            break;
        }
        s = rest;
    }
    s
}

/// Redis `getAbsolutePath`: joins a relative path to the cwd, folding leading `../`.
fn absolute_path(name: &str) -> String {
    let rel = name.trim_matches([' ', '\r', '\n', '\t']);
    if rel.starts_with('/') {
        return rel.to_string();
    }
    let mut base = std::env::current_dir()
        .map(|p| p.to_string_lossy().into_owned())
        .unwrap_or_default();
    if !base.ends_with('/') {
        base.push('/');
    }
    let mut rel = rel;
    while let Some(rest) = rel.strip_prefix("../") {
        rel = rest;
        if base.len() > 1 {
            let trimmed = &base[..base.len() - 1];
            let cut = trimmed.rfind('/').map_or(1, |i| i + 1);
            base.truncate(cut);
        }
    }
    base + rel
}

/// Reads a config file, or every file matching it when it contains wildcards (no match is
/// not an error, so an empty `conf.d/*` can be included).
fn read_source(path: &Path, shown_as: &str) -> Result<Vec<u8>, StartupError> {
    let text = path.to_string_lossy();
    let files: Vec<PathBuf> = if text.contains(['*', '?', '[']) {
        glob::expand_paths(path)
    } else {
        vec![path.to_path_buf()]
    };
    let mut out = Vec::new();
    for file in files {
        let data = std::fs::read(&file).map_err(|e| StartupError::OpenFile {
            path: if text.contains(['*', '?', '[']) {
                file.to_string_lossy().into_owned()
            } else {
                shown_as.to_string()
            },
            reason: parse::strerror(&e),
        })?;
        out.extend_from_slice(&data);
    }
    Ok(out)
}

impl Config {
    /// Builds the configuration from `redis-server`'s arguments (without argv[0]), exactly as
    /// Redis's `main()` does: an optional config file first (any first argument not starting
    /// with '-'), `-` as first or last argument to also read stdin, then `--name value...`
    /// options appended after the file's content. A bare `--name` takes the following
    /// arguments as values even if they start with `--`, except `--save` which then means
    /// `--save ""`. A positional argument is appended to the preceding option's line.
    ///
    /// `--help`/`--version`/`--test-memory`/`--check-system` are the binary's business and
    /// must be handled before calling this.
    pub fn from_args(args: &[String]) -> Result<Config, StartupError> {
        let stdin = std::io::stdin();
        let mut lock = stdin.lock();
        Config::from_args_with_stdin(args, &mut lock)
    }

    /// [`Config::from_args`] reading `-` from the given reader instead of standard input.
    pub fn from_args_with_stdin(
        args: &[String],
        stdin: &mut dyn Read,
    ) -> Result<Config, StartupError> {
        let mut cfg = Config::new();
        if args.is_empty() {
            return Ok(cfg);
        }
        let mut j = 0;
        if !args[0].starts_with('-') {
            cfg.config_file = Some(PathBuf::from(absolute_path(&args[0])));
            j = 1;
        }
        let mut from_stdin = false;
        let mut options = String::new();
        let mut handled_last = true;
        let last = args.len() - 1;
        while j < args.len() {
            let a = args[j].as_str();
            if a == "-" && (j == 0 || j == last) {
                from_stdin = true;
            } else if handled_last && a.starts_with("--") {
                if !options.is_empty() {
                    options.push('\n');
                }
                options.push_str(&a[2..]);
                options.push(' ');
                let name_only = split_args(a.as_bytes()).is_some_and(|v| v.len() == 1);
                if name_only {
                    // Only a name: the next arguments are its values, whatever they look like.
                    handled_last = false;
                    let next_is_option = j != last && args[j + 1].starts_with("--");
                    if a.eq_ignore_ascii_case("--save") && (next_is_option || j == last) {
                        // `--save` with nothing after it means `--save ""` (pre-7.0.1 behaviour).
                        options.push_str("\"\"");
                        handled_last = true;
                    } else if a.eq_ignore_ascii_case("--sentinel") && next_is_option {
                        handled_last = true;
                    }
                } else {
                    // "--port 6380" given as one argument carries its own value.
                    handled_last = true;
                }
            } else {
                options.push_str(&parse::repr(a.as_bytes()));
                options.push(' ');
                handled_last = true;
            }
            j += 1;
        }

        let mut text = Vec::new();
        if let Some(file) = cfg.config_file.clone() {
            let shown = file.to_string_lossy().into_owned();
            text = read_source(&file, &shown)?;
        }
        if from_stdin {
            stdin
                .read_to_end(&mut text)
                .map_err(|e| StartupError::Config {
                    line: None,
                    reason: format!("Can't read config from stdin: {}", parse::strerror(&e)),
                })?;
        }
        text.push(b'\n');
        text.extend_from_slice(options.as_bytes());
        match cfg.config_file.clone() {
            Some(p) => cfg.load_bytes(&text, Origin::File(&p))?,
            None => cfg.load_bytes(&text, Origin::CommandLine)?,
        }
        Ok(cfg)
    }

    /// Parses configuration text on top of the current values (Redis
    /// `loadServerConfigFromString`): one directive per line, `#` comments, blank lines,
    /// quoting as in `redis-cli`, `include <path>` (relative to `dir`, wildcards allowed).
    /// The first error aborts with Redis's fatal message; values set by earlier lines stay.
    pub fn load_str(&mut self, text: &str, origin: Origin<'_>) -> Result<(), StartupError> {
        self.load_bytes(text.as_bytes(), origin)
    }

    /// Loads a config file as `include` would.
    pub fn load_file(&mut self, path: &Path) -> Result<(), StartupError> {
        let data = read_source(path, &path.to_string_lossy())?;
        self.load_bytes(&data, Origin::File(path))
    }

    /// [`Config::load_str`] for raw bytes (config files need not be UTF-8).
    pub fn load_bytes(&mut self, text: &[u8], origin: Origin<'_>) -> Result<(), StartupError> {
        self.reading_config_file = true;
        let result = self.load_lines(text);
        // Like Redis, finishing any file (even an included one) ends "file reading" mode.
        self.reading_config_file = false;
        if let Err(e) = &result {
            tracing::debug!(?origin, error = %e, "configuration rejected");
        }
        result?;

        if let Some(logfile) = self.values.logfile.as_deref().filter(|l| !l.is_empty()) {
            // Fail at startup rather than later when the first line is logged.
            let path = Path::new(&self.values.dir).join(logfile);
            if let Err(e) = std::fs::OpenOptions::new()
                .append(true)
                .create(true)
                .open(&path)
            {
                return Err(StartupError::Config {
                    line: None,
                    reason: format!("Can't open the log file: {}", parse::strerror(&e)),
                });
            }
        }
        if self.values.cluster_enabled && self.values.replicaof.is_some() {
            return Err(StartupError::Config {
                line: None,
                reason: "replicaof directive not allowed in cluster mode".into(),
            });
        }
        // Out-of-range hz is accepted and clamped, for backward compatibility.
        self.values.hz = self.values.hz.clamp(1, 500);
        Ok(())
    }

    fn load_lines(&mut self, text: &[u8]) -> Result<(), StartupError> {
        for (i, raw) in text.split(|&b| b == b'\n').enumerate() {
            let line = trim(raw);
            if line.is_empty() || line[0] == b'#' {
                continue;
            }
            let at = |reason: &str| StartupError::Config {
                line: Some(ErrorLine {
                    number: i + 1,
                    text: lossy(line),
                }),
                reason: reason.to_string(),
            };
            let argv =
                split_args(line).ok_or_else(|| at("Unbalanced quotes in configuration line"))?;
            let Some(first) = argv.first() else { continue };
            let name = first.to_ascii_lowercase();
            let argc = argv.len();

            if let Some(idx) = lookup(&name) {
                let def = entries()[idx].def;
                let multi = def.flags & MULTI_ARG != 0;
                if !multi && argc != 2 {
                    return Err(at("wrong number of arguments"));
                }
                let result = if multi && argc == 2 && !argv[1].is_empty() {
                    // `--save "900 1 300 10"`: a single argument is split again.
                    let split = split_args(&argv[1]).unwrap_or_default();
                    self.set_def(def, &split)
                } else {
                    self.set_def(def, &argv[1..])
                };
                result.map_err(|e| at(&e))?;
                continue;
            }
            if argc == 2 && DEPRECATED.iter().any(|d| name.as_slice() == d.as_bytes()) {
                continue;
            }
            let directive = || Directive {
                args: argv[1..].iter().map(|a| lossy(a)).collect(),
                line: ErrorLine {
                    number: i + 1,
                    text: lossy(line),
                },
            };
            match name.as_slice() {
                b"include" if argc == 2 => {
                    let shown = lossy(&argv[1]);
                    // Redis opens includes relative to its working directory, i.e. `dir`.
                    let path = Path::new(&self.values.dir).join(&shown);
                    let data = read_source(&path, &shown)?;
                    self.load_bytes(&data, Origin::File(&path))?;
                }
                b"rename-command" if argc == 3 => {
                    // Checked against the names as renamed so far, like Redis's command dict.
                    let known = |n: &[u8]| {
                        let lower = n.to_ascii_lowercase();
                        let renamed_to = self.rename_commands.iter().any(|d| {
                            d.args.get(1).map(|a| a.to_ascii_lowercase().into_bytes())
                                == Some(lower.clone())
                        });
                        let renamed_away = self.rename_commands.iter().any(|d| {
                            d.args.first().map(|a| a.to_ascii_lowercase().into_bytes())
                                == Some(lower.clone())
                        });
                        renamed_to
                            || (!renamed_away && ferrodis_commands::meta::lookup(&lower).is_some())
                    };
                    if !known(&argv[1]) {
                        return Err(at("No such command in rename-command"));
                    }
                    if !argv[2].is_empty() && known(&argv[2]) {
                        return Err(at("Target command name already exists"));
                    }
                    self.rename_commands.push(directive())
                }
                b"user" if argc >= 2 => self.users.push(directive()),
                b"loadmodule" if argc >= 2 => self.loadmodules.push(directive()),
                _ if name.contains(&b'.') => {
                    if argc < 2 {
                        return Err(at("Module config specified without value"));
                    }
                    let key = lossy(&name);
                    let value = argv[1..]
                        .iter()
                        .map(|a| lossy(a))
                        .collect::<Vec<_>>()
                        .join(" ");
                    match self.module_configs.iter_mut().find(|(k, _)| *k == key) {
                        Some(slot) => slot.1 = value,
                        None => self.module_configs.push((key, value)),
                    }
                }
                b"sentinel" => {
                    // A bare `sentinel` line only selects sentinel mode, handled by the binary.
                    if argc != 1 {
                        return Err(at("sentinel directive while not in sentinel mode"));
                    }
                }
                _ => return Err(at("Bad directive or wrong number of arguments")),
            }
        }
        Ok(())
    }
}
