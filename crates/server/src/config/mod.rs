//! Server configuration: `redis.conf` + `redis-server` argv parsing, CONFIG GET / SET / REWRITE.
//!
//! Behaviour follows Redis 7.0.15's `config.c` option for option: the same names and aliases,
//! defaults, bounds, accepted syntaxes (memory units, percentages, octal, yes/no, enum names),
//! the same fatal startup messages and CONFIG SET error strings, the same rewrite rules.
//!
//! Layout:
//! - `table`   — the option table (one line per option) and the typed [`Values`] storage.
//! - `special` — options with bespoke syntax (`save`, `bind`, `client-output-buffer-limit`...).
//! - `load`    — config text / file / argv loading and [`StartupError`].
//! - `rewrite` — CONFIG REWRITE.
//! - `parse`   — byte-level parsers matching Redis/libc helpers (`sdssplitargs`, `memtoull`...).
//! - `glob`    — Redis glob matching for CONFIG GET and `include` wildcards.
//!
//! This module only stores and validates values. Side effects of a change (rebinding the
//! port, resizing the backlog, changing the working directory for `dir`...) belong to the
//! caller, which receives the list of changed options from [`Config::set`]. It depends on
//! nothing but std and `thiserror`; in particular not on networking or the keyspace.
//!
//! Deliberate differences from Redis: `dir` is stored as a canonical absolute path and the
//! process working directory is never changed (relative `include` and `logfile` paths are
//! resolved against it instead, which is what Redis's `chdir` amounts to); option values are
//! stored as UTF-8 (invalid bytes are replaced); the extra option `shards` exists.

mod glob;
mod load;
pub mod oom;
pub(crate) mod parse;
mod rewrite;
mod special;
mod table;
#[cfg(test)]
mod tests;

use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

pub use load::{Directive, ErrorLine, Origin, StartupError};
pub use table::{ObufLimit, SaveParam, Values};

use table::{Def, Kind, NumType, DEFS};

/// Bit flags of `notify-keyspace-events` (Redis's NOTIFY_* values): the engine's
/// classes, plus the `A` alias used by the parser.
pub mod notify {
    pub use ferrodis_commands::engine::notify::*;
    /// `A`: alias for "g$lshzxetd".
    pub const ALL: u32 =
        GENERIC | STRING | LIST | SET | HASH | ZSET | EXPIRED | EVICTED | STREAM | MODULE;
}

/// Parses a `notify-keyspace-events` class string (`"KEA"`, `"Ex"`...); `None` on an unknown
/// character.
pub fn keyspace_events_from_str(s: &[u8]) -> Option<u32> {
    let mut flags = 0;
    for &c in s {
        if c == 0 {
            break; // C string semantics
        }
        flags |= match c {
            b'A' => notify::ALL,
            b'g' => notify::GENERIC,
            b'$' => notify::STRING,
            b'l' => notify::LIST,
            b's' => notify::SET,
            b'h' => notify::HASH,
            b'z' => notify::ZSET,
            b'x' => notify::EXPIRED,
            b'e' => notify::EVICTED,
            b'K' => notify::KEYSPACE,
            b'E' => notify::KEYEVENT,
            b't' => notify::STREAM,
            b'm' => notify::KEY_MISS,
            b'd' => notify::MODULE,
            b'n' => notify::NEW,
            _ => return None,
        };
    }
    Some(flags)
}

/// Canonical string of keyspace event flags, as CONFIG GET prints it (`"AKE"`, `"xE"`...).
pub fn keyspace_events_to_string(flags: u32) -> String {
    let mut s = String::new();
    if flags & notify::ALL == notify::ALL {
        s.push('A');
    } else {
        for (bit, c) in [
            (notify::GENERIC, 'g'),
            (notify::STRING, '$'),
            (notify::LIST, 'l'),
            (notify::SET, 's'),
            (notify::HASH, 'h'),
            (notify::ZSET, 'z'),
            (notify::EXPIRED, 'x'),
            (notify::EVICTED, 'e'),
            (notify::STREAM, 't'),
            (notify::MODULE, 'd'),
            (notify::NEW, 'n'),
        ] {
            if flags & bit != 0 {
                s.push(c);
            }
        }
    }
    for (bit, c) in [
        (notify::KEYSPACE, 'K'),
        (notify::KEYEVENT, 'E'),
        (notify::KEY_MISS, 'm'),
    ] {
        if flags & bit != 0 {
            s.push(c);
        }
    }
    s
}

/// `loglevel`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum LogLevel {
    Debug,
    Verbose,
    Notice,
    Warning,
}

/// `maxmemory-policy`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MaxmemoryPolicy {
    VolatileLru,
    VolatileLfu,
    VolatileRandom,
    VolatileTtl,
    AllkeysLru,
    AllkeysLfu,
    AllkeysRandom,
    NoEviction,
}

impl MaxmemoryPolicy {
    /// The policy's config name, as INFO reports it.
    pub fn name(self) -> &'static str {
        match self {
            MaxmemoryPolicy::VolatileLru => "volatile-lru",
            MaxmemoryPolicy::VolatileLfu => "volatile-lfu",
            MaxmemoryPolicy::VolatileRandom => "volatile-random",
            MaxmemoryPolicy::VolatileTtl => "volatile-ttl",
            MaxmemoryPolicy::AllkeysLru => "allkeys-lru",
            MaxmemoryPolicy::AllkeysLfu => "allkeys-lfu",
            MaxmemoryPolicy::AllkeysRandom => "allkeys-random",
            MaxmemoryPolicy::NoEviction => "noeviction",
        }
    }
}

/// `enable-protected-configs`, `enable-debug-command`, `enable-module-command`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ProtectedAction {
    No = 0,
    Yes = 1,
    /// Allowed for connections from the loopback interface or a unix socket.
    Local = 2,
}

impl ProtectedAction {
    /// Redis `allowProtectedAction`.
    pub fn allows(self, client_is_local: bool) -> bool {
        match self {
            ProtectedAction::No => false,
            ProtectedAction::Yes => true,
            ProtectedAction::Local => client_is_local,
        }
    }

    fn from_code(c: i32) -> ProtectedAction {
        match c {
            1 => ProtectedAction::Yes,
            2 => ProtectedAction::Local,
            _ => ProtectedAction::No,
        }
    }
}

/// `appendfsync`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AppendFsync {
    Always,
    Everysec,
    No,
}

/// Client classes of `client-output-buffer-limit`, in storage order.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ClientClass {
    Normal = 0,
    Replica = 1,
    Pubsub = 2,
}

/// Where a CONFIG SET comes from; decides protected and loading-time restrictions.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct SetContext {
    /// The client is connected over loopback or a unix socket (for `enable-protected-configs local`).
    pub client_is_local: bool,
    /// A dataset is being loaded (DENY_LOADING options are refused with -LOADING).
    pub loading: bool,
}

/// A failure reported by the caller's apply step in [`Config::set_and_apply`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ApplyError {
    /// The option whose side effect failed (named in the error reply).
    pub option: &'static str,
    /// Redis's message, e.g. "Unable to listen on this port. Check server logs.".
    pub message: String,
}

/// One name under which an option is registered (primary names and aliases are separate
/// entries, as in Redis's config dictionary).
pub(crate) struct Entry {
    pub name: &'static str,
    pub def: &'static Def,
}

struct Registry {
    entries: Vec<Entry>,
    by_name: HashMap<String, usize>,
}

fn registry() -> &'static Registry {
    static REG: OnceLock<Registry> = OnceLock::new();
    REG.get_or_init(|| {
        let mut entries = Vec::new();
        for def in DEFS {
            entries.push(Entry {
                name: def.name,
                def,
            });
            if let Some(alias) = def.alias {
                entries.push(Entry { name: alias, def });
            }
        }
        let by_name = entries
            .iter()
            .enumerate()
            .map(|(i, e)| (e.name.to_string(), i))
            .collect();
        Registry { entries, by_name }
    })
}

pub(crate) fn entries() -> &'static [Entry] {
    &registry().entries
}

/// Case-insensitive lookup of an option name or alias; returns its entry index.
pub(crate) fn lookup(name: &[u8]) -> Option<usize> {
    let lower = String::from_utf8_lossy(name).to_ascii_lowercase();
    registry().by_name.get(&lower).copied()
}

/// True for options whose CONFIG SET value must be redacted from logs, slowlog and MONITOR
/// (`requirepass`, `masterauth`, `masteruser`).
pub fn is_sensitive_option(name: &[u8]) -> bool {
    lookup(name).is_some_and(|i| entries()[i].def.flags & table::SENSITIVE != 0)
}

/// True when `name` (or alias) is a known option.
pub fn is_known_option(name: &[u8]) -> bool {
    lookup(name).is_some()
}

/// The whole server configuration, stored typed.
#[derive(Clone, Debug)]
pub struct Config {
    values: Values,
    config_file: Option<PathBuf>,
    users: Vec<Directive>,
    rename_commands: Vec<Directive>,
    loadmodules: Vec<Directive>,
    module_configs: Vec<(String, String)>,
    /// Redis resets the default `save` points only the first time a config file sets `save`
    /// (later lines append); this remembers that it happened.
    save_loaded: bool,
    /// True while a config file is being parsed (cleared when an included file finishes, as
    /// in Redis, which affects how later `save` lines combine).
    reading_config_file: bool,
}

impl Default for Config {
    fn default() -> Self {
        Config::new()
    }
}

impl Config {
    /// All defaults; `dir` is the process's current working directory.
    pub fn new() -> Config {
        let cwd = std::env::current_dir()
            .ok()
            .and_then(|p| std::fs::canonicalize(p).ok())
            .map(|p| p.to_string_lossy().into_owned())
            .unwrap_or_default();
        Config {
            values: Values::with_defaults(cwd),
            config_file: None,
            users: Vec::new(),
            rename_commands: Vec::new(),
            loadmodules: Vec::new(),
            module_configs: Vec::new(),
            save_loaded: false,
            reading_config_file: false,
        }
    }

    /// The typed values of every option.
    pub fn values(&self) -> &Values {
        &self.values
    }

    /// Absolute path of the config file given on the command line, if any (CONFIG REWRITE's
    /// target).
    pub fn config_file(&self) -> Option<&Path> {
        self.config_file.as_deref()
    }

    /// Sets the file CONFIG REWRITE should write (normally set by [`Config::from_args`]).
    pub fn set_config_file(&mut self, path: Option<PathBuf>) {
        self.config_file = path;
    }

    // ---------------------------------------------------------------- CONFIG GET

    /// CONFIG GET with one glob pattern.
    pub fn get(&self, pattern: &[u8]) -> Vec<(String, String)> {
        self.get_many(&[pattern])
    }

    /// CONFIG GET with several patterns (Redis 7.0 accepts many). Exact names (no `*?[`)
    /// match hidden options too and are echoed as typed; patterns match names and aliases
    /// case-insensitively and skip hidden options. Each name appears once.
    pub fn get_many(&self, patterns: &[&[u8]]) -> Vec<(String, String)> {
        let mut seen: HashSet<String> = HashSet::new();
        let mut out = Vec::new();
        for &pat in patterns {
            let is_glob = pat.iter().any(|c| matches!(c, b'[' | b'*' | b'?'));
            if !is_glob {
                let typed = parse::lossy(pat);
                if seen.contains(&typed.to_ascii_lowercase()) {
                    continue;
                }
                if let Some(i) = lookup(pat) {
                    seen.insert(typed.to_ascii_lowercase());
                    out.push((typed, self.get_def(entries()[i].def)));
                }
                continue;
            }
            for e in entries() {
                if e.def.flags & table::HIDDEN != 0 || seen.contains(e.name) {
                    continue;
                }
                if glob::string_match(pat, e.name.as_bytes(), true) {
                    seen.insert(e.name.to_string());
                    out.push((e.name.to_string(), self.get_def(e.def)));
                }
            }
        }
        out
    }

    /// The CONFIG GET value of one option (name or alias, case-insensitive).
    pub fn get_one(&self, name: &str) -> Option<String> {
        lookup(name.as_bytes()).map(|i| self.get_def(entries()[i].def))
    }

    /// A numeric option's value (enums give their Redis code, bools 0/1).
    pub fn get_int(&self, name: &str) -> Option<i64> {
        let def = entries()[lookup(name.as_bytes())?].def;
        match &def.kind {
            Kind::Num { get, .. } => Some(get(&self.values)),
            Kind::Enum { get, .. } => Some(i64::from(get(&self.values))),
            Kind::Bool { get, .. } => Some(i64::from(get(&self.values))),
            _ => None,
        }
    }

    /// A yes/no option's value.
    pub fn get_bool(&self, name: &str) -> Option<bool> {
        match &entries()[lookup(name.as_bytes())?].def.kind {
            Kind::Bool { get, .. } => Some(get(&self.values)),
            _ => None,
        }
    }

    pub(crate) fn get_def(&self, def: &Def) -> String {
        let v = &self.values;
        match &def.kind {
            Kind::Bool { get, .. } => if get(v) { "yes" } else { "no" }.to_string(),
            Kind::Str { get, .. } => get(v).unwrap_or("").to_string(),
            Kind::Enum { names, get, .. } => {
                enum_name(names, get(v), def.flags & table::MULTI_ARG != 0)
            }
            Kind::Num { nflags, get, .. } => {
                let x = get(v);
                if nflags & table::PERCENT != 0 && x < 0 {
                    format!("{}%", x.unsigned_abs())
                } else if nflags & table::MEMORY != 0 {
                    // Printed as unsigned: maxmemory may hold values above i64::MAX.
                    (x as u64).to_string()
                } else if nflags & table::OCTAL != 0 {
                    format!("{x:o}")
                } else {
                    x.to_string()
                }
            }
            Kind::Special(sp) => self.get_special(*sp),
        }
    }

    // ---------------------------------------------------------------- CONFIG SET

    /// One option set before the server starts (the embedding API's builder), as a config
    /// file line would: immutable and protected options are allowed.
    pub fn set_startup(&mut self, name: &[u8], value: &[u8]) -> Result<(), String> {
        let Some(idx) = lookup(name) else {
            return Err(format!(
                "ERR Unknown option or number of arguments for CONFIG SET - '{}'",
                parse::lossy(name)
            ));
        };
        let entry = &entries()[idx];
        let args: Vec<Vec<u8>> = if entry.def.flags & table::MULTI_ARG != 0 {
            parse::split_on_space(value)
        } else {
            vec![value.to_vec()]
        };
        let backup = self.values.clone();
        match self.set_def(entry.def, &args) {
            Ok(_) => Ok(()),
            Err(why) => {
                self.values = backup;
                Err(set_failed(entry.name, &why))
            }
        }
    }

    /// CONFIG SET from a non-local client outside loading. See [`Config::set_with`].
    pub fn set(&mut self, pairs: &[(&[u8], &[u8])]) -> Result<Vec<&'static str>, String> {
        self.set_with(pairs, SetContext::default())
    }

    /// CONFIG SET of one or more `(name, value)` pairs, atomically: either every value is
    /// stored or none is (previous values restored). Returns the primary names of options
    /// whose value changed, for the caller to apply side effects. Errors are Redis's reply
    /// strings without the leading '-'.
    pub fn set_with(
        &mut self,
        pairs: &[(&[u8], &[u8])],
        ctx: SetContext,
    ) -> Result<Vec<&'static str>, String> {
        let mut chosen: Vec<usize> = Vec::with_capacity(pairs.len());
        let mut first_error: Option<String> = None;
        let protected_ok = self.enable_protected_configs().allows(ctx.client_is_local);
        for &(name, value) in pairs {
            let Some(idx) = lookup(name) else {
                first_error.get_or_insert_with(|| {
                    format!(
                        "ERR Unknown option or number of arguments for CONFIG SET - '{}'",
                        parse::lossy(name)
                    )
                });
                continue;
            };
            if first_error.is_some() {
                continue;
            }
            let def = entries()[idx].def;
            // ferrodis's own immutable `shards` accepts its current value as a no-op, so
            // tools that write back every `CONFIG GET *` pair keep working (Redis has no
            // immutable option outside the lists such tools already skip).
            let same_value_ok = def.name == "shards" && self.get_def(def).as_bytes() == value;
            let refuse = if def.flags & table::IMMUTABLE != 0 && !same_value_ok {
                Some("can't set immutable config")
            } else if def.flags & table::PROTECTED != 0 && !protected_ok {
                Some("can't set protected config")
            } else {
                None
            };
            if let Some(why) = refuse {
                first_error = Some(set_failed(&parse::lossy(name), why));
                continue;
            }
            if ctx.loading && def.flags & table::DENY_LOADING != 0 {
                first_error = Some("LOADING Redis is loading the dataset in memory".to_string());
                continue;
            }
            // Duplicates are detected per registered name: an option and its alias in one
            // command are both applied, in order, exactly like Redis 7.0.
            if chosen.contains(&idx) {
                first_error = Some(set_failed(&parse::lossy(name), "duplicate parameter"));
                continue;
            }
            chosen.push(idx);
        }
        if let Some(err) = first_error {
            return Err(err);
        }

        let backup = self.values.clone();
        let mut changed: Vec<&'static str> = Vec::new();
        for (&idx, &(_, value)) in chosen.iter().zip(pairs) {
            let entry = &entries()[idx];
            if entry.def.flags & table::IMMUTABLE != 0 {
                continue;
            }
            let args: Vec<Vec<u8>> = if entry.def.flags & table::MULTI_ARG != 0 {
                parse::split_on_space(value)
            } else {
                vec![value.to_vec()]
            };
            match self.set_def(entry.def, &args) {
                Ok(true) => {
                    if !changed.contains(&entry.def.name) {
                        changed.push(entry.def.name);
                    }
                }
                Ok(false) => {}
                Err(why) => {
                    self.values = backup;
                    return Err(set_failed(entry.name, &why));
                }
            }
        }
        // Redis's apply step for `hz` clamps out-of-range values rather than refusing them.
        if changed.contains(&"hz") {
            self.values.hz = self.values.hz.clamp(1, 500);
        }
        Ok(changed)
    }

    /// CONFIG SET followed by the caller's side effects. If `apply` fails, the previous values
    /// are restored, `apply` is called once more with them (its result ignored, as Redis only
    /// logs it) and Redis's error naming the failing option is returned.
    pub fn set_and_apply<F>(
        &mut self,
        pairs: &[(&[u8], &[u8])],
        ctx: SetContext,
        mut apply: F,
    ) -> Result<Vec<&'static str>, String>
    where
        F: FnMut(&Config, &[&'static str]) -> Result<(), ApplyError>,
    {
        let backup = self.values.clone();
        let changed = self.set_with(pairs, ctx)?;
        if let Err(e) = apply(self, &changed) {
            self.values = backup;
            let _ = apply(self, &changed);
            return Err(set_failed(e.option, &e.message));
        }
        Ok(changed)
    }

    /// Sets one option from already-split arguments. Returns whether the value changed.
    pub(crate) fn set_def(&mut self, def: &Def, args: &[Vec<u8>]) -> Result<bool, String> {
        let volatile = def.flags & table::VOLATILE != 0;
        let first: &[u8] = args.first().map_or(&[][..], Vec::as_slice);
        match &def.kind {
            Kind::Bool {
                valid, get, set, ..
            } => {
                let yn = parse::yes_no(first).ok_or("argument must be 'yes' or 'no'")?;
                if let Some(valid) = valid {
                    valid(yn)?;
                }
                if get(&self.values) != yn {
                    set(&mut self.values, yn);
                    return Ok(true);
                }
                Ok(volatile)
            }
            Kind::Str {
                empty_is_null,
                valid,
                get,
                set,
                ..
            } => {
                let s = parse::lossy(first);
                if let Some(valid) = valid {
                    valid(&s, &self.values)?;
                }
                let new = if *empty_is_null && s.is_empty() {
                    None
                } else {
                    Some(s)
                };
                if get(&self.values) != new.as_deref() {
                    set(&mut self.values, new);
                    return Ok(true);
                }
                Ok(volatile)
            }
            Kind::Enum {
                names,
                valid,
                get,
                set,
                ..
            } => {
                let bitflags = def.flags & table::MULTI_ARG != 0;
                let val = enum_value(names, args, bitflags).ok_or_else(|| enum_error(names))?;
                if let Some(valid) = valid {
                    valid(val)?;
                }
                if get(&self.values) != val {
                    set(&mut self.values, val);
                    return Ok(true);
                }
                Ok(volatile)
            }
            Kind::Num {
                ty,
                min,
                max,
                nflags,
                get,
                set,
                ..
            } => {
                let val = parse_numeric(*nflags, first)?;
                check_bounds(*ty, *nflags, *min, *max, val)?;
                if get(&self.values) != val {
                    set(&mut self.values, val);
                    return Ok(true);
                }
                Ok(volatile)
            }
            Kind::Special(sp) => self.set_special(*sp, args),
        }
    }

    // ---------------------------------------------------------------- typed accessors
    //
    // String-valued accessors return owned copies: the config normally lives behind a lock
    // and callers keep values past the guard. Numeric ones return the natural Rust type.

    pub fn port(&self) -> u16 {
        // Bounded to 0..=65535 by the table.
        u16::try_from(self.values.port).unwrap_or(0)
    }
    pub fn tls_port(&self) -> u16 {
        u16::try_from(self.values.tls_port).unwrap_or(0)
    }
    /// `bind` addresses (possibly empty).
    pub fn bind(&self) -> Vec<String> {
        self.values.bind.clone()
    }
    /// True when `bind` is Redis's default `* -::*`. (Redis 7.0's protected mode does not look
    /// at `bind`, only at `protected-mode` and whether the default user has a password.)
    pub fn bind_is_default(&self) -> bool {
        self.values
            .bind
            .iter()
            .map(String::as_str)
            .eq(table::DEFAULT_BIND.iter().copied())
    }
    pub fn bind_source_addr(&self) -> Option<String> {
        self.values.bind_source_addr.clone()
    }
    pub fn unixsocket(&self) -> Option<String> {
        self.values.unixsocket.clone()
    }
    /// Permission bits for the unix socket (0 = leave the umask's default).
    pub fn unixsocketperm(&self) -> u32 {
        self.values.unixsocketperm
    }
    pub fn protected_mode(&self) -> bool {
        self.values.protected_mode
    }
    pub fn requirepass(&self) -> Option<String> {
        self.values.requirepass.clone()
    }
    pub fn masterauth(&self) -> Option<String> {
        self.values.masterauth.clone()
    }
    pub fn masteruser(&self) -> Option<String> {
        self.values.masteruser.clone()
    }
    pub fn databases(&self) -> usize {
        usize::try_from(self.values.databases).unwrap_or(1)
    }
    /// Client idle timeout in seconds (0 = never).
    pub fn timeout(&self) -> u32 {
        u32::try_from(self.values.timeout).unwrap_or(0)
    }
    pub fn tcp_keepalive(&self) -> u32 {
        u32::try_from(self.values.tcp_keepalive).unwrap_or(0)
    }
    pub fn tcp_backlog(&self) -> u32 {
        u32::try_from(self.values.tcp_backlog).unwrap_or(0)
    }
    pub fn maxclients(&self) -> u32 {
        self.values.maxclients
    }
    /// Absolute, canonical `dir`. Redis runs with it as its working directory; this module
    /// never changes the process's working directory itself.
    pub fn dir(&self) -> String {
        self.values.dir.clone()
    }
    /// `logfile`; empty means standard output.
    pub fn logfile(&self) -> String {
        self.values.logfile.clone().unwrap_or_default()
    }
    pub fn loglevel(&self) -> LogLevel {
        match self.values.loglevel {
            0 => LogLevel::Debug,
            1 => LogLevel::Verbose,
            3 => LogLevel::Warning,
            _ => LogLevel::Notice,
        }
    }
    /// The name CONFIG GET prints for `loglevel`.
    pub fn loglevel_name(&self) -> &'static str {
        name_of(table::LOGLEVEL, self.values.loglevel)
    }
    /// `pidfile`; empty when unset.
    pub fn pidfile(&self) -> String {
        self.values.pidfile.clone().unwrap_or_default()
    }
    pub fn daemonize(&self) -> bool {
        self.values.daemonize
    }
    pub fn client_query_buffer_limit(&self) -> u64 {
        self.values.client_query_buffer_limit
    }
    pub fn proto_max_bulk_len(&self) -> u64 {
        u64::try_from(self.values.proto_max_bulk_len).unwrap_or(0)
    }
    /// Keyspace shards per database (ferrodis only).
    pub fn shards(&self) -> usize {
        usize::try_from(self.values.shards).unwrap_or(1)
    }
    /// Effective `hz` (clamped to 1..=500 as Redis does).
    pub fn hz(&self) -> u32 {
        u32::try_from(self.values.hz.clamp(1, 500)).unwrap_or(10)
    }
    /// Connection threads (Redis's `io-threads`, 1..=128).
    pub fn io_threads(&self) -> usize {
        usize::try_from(self.values.io_threads.clamp(1, 128)).unwrap_or(1)
    }
    pub fn dynamic_hz(&self) -> bool {
        self.values.dynamic_hz
    }
    pub fn active_expire_effort(&self) -> u32 {
        u32::try_from(self.values.active_expire_effort).unwrap_or(1)
    }
    /// Microseconds; negative disables the slowlog, 0 logs everything.
    pub fn slowlog_log_slower_than(&self) -> i64 {
        self.values.slowlog_log_slower_than
    }
    pub fn slowlog_max_len(&self) -> u64 {
        self.values.slowlog_max_len
    }
    /// Milliseconds; 0 disables the latency monitor.
    pub fn latency_monitor_threshold(&self) -> i64 {
        self.values.latency_monitor_threshold
    }
    /// Bytes; 0 = no limit.
    pub fn maxmemory(&self) -> u64 {
        self.values.maxmemory
    }
    pub fn maxmemory_policy(&self) -> MaxmemoryPolicy {
        match self.values.maxmemory_policy {
            0 => MaxmemoryPolicy::VolatileLru,
            1 => MaxmemoryPolicy::VolatileLfu,
            2 => MaxmemoryPolicy::VolatileRandom,
            3 => MaxmemoryPolicy::VolatileTtl,
            4 => MaxmemoryPolicy::AllkeysLru,
            5 => MaxmemoryPolicy::AllkeysLfu,
            6 => MaxmemoryPolicy::AllkeysRandom,
            _ => MaxmemoryPolicy::NoEviction,
        }
    }
    /// The policy's name, as INFO and CONFIG GET print it.
    pub fn maxmemory_policy_name(&self) -> &'static str {
        self.maxmemory_policy().name()
    }
    pub fn maxmemory_samples(&self) -> u32 {
        u32::try_from(self.values.maxmemory_samples).unwrap_or(5)
    }
    /// `maxmemory-clients` in bytes, resolving a percentage against `maxmemory`.
    pub fn maxmemory_clients_bytes(&self) -> u64 {
        let v = self.values.maxmemory_clients;
        if v < 0 {
            self.values.maxmemory / 100 * v.unsigned_abs()
        } else {
            v.unsigned_abs()
        }
    }
    pub fn lazyfree_lazy_eviction(&self) -> bool {
        self.values.lazyfree_lazy_eviction
    }
    pub fn lazyfree_lazy_expire(&self) -> bool {
        self.values.lazyfree_lazy_expire
    }
    pub fn lazyfree_lazy_server_del(&self) -> bool {
        self.values.lazyfree_lazy_server_del
    }
    pub fn lazyfree_lazy_user_del(&self) -> bool {
        self.values.lazyfree_lazy_user_del
    }
    pub fn lazyfree_lazy_user_flush(&self) -> bool {
        self.values.lazyfree_lazy_user_flush
    }
    pub fn enable_debug_command(&self) -> ProtectedAction {
        ProtectedAction::from_code(self.values.enable_debug_command)
    }
    pub fn enable_protected_configs(&self) -> ProtectedAction {
        ProtectedAction::from_code(self.values.enable_protected_configs)
    }
    pub fn enable_module_command(&self) -> ProtectedAction {
        ProtectedAction::from_code(self.values.enable_module_command)
    }
    /// NOTIFY_* flags (see [`notify`]).
    pub fn notify_keyspace_events(&self) -> u32 {
        self.values.notify_keyspace_events
    }
    pub fn hash_max_listpack_entries(&self) -> u64 {
        self.values.hash_max_listpack_entries
    }
    pub fn hash_max_listpack_value(&self) -> u64 {
        self.values.hash_max_listpack_value
    }
    pub fn set_max_intset_entries(&self) -> u64 {
        self.values.set_max_intset_entries
    }
    pub fn zset_max_listpack_entries(&self) -> u64 {
        self.values.zset_max_listpack_entries
    }
    pub fn zset_max_listpack_value(&self) -> u64 {
        self.values.zset_max_listpack_value
    }
    /// Positive: max entries per quicklist node; -1..-5: max node size 4kb..64kb.
    pub fn list_max_listpack_size(&self) -> i32 {
        self.values.list_max_listpack_size
    }
    pub fn list_compress_depth(&self) -> i32 {
        self.values.list_compress_depth
    }
    pub fn stream_node_max_bytes(&self) -> u64 {
        self.values.stream_node_max_bytes
    }
    pub fn stream_node_max_entries(&self) -> i64 {
        self.values.stream_node_max_entries
    }
    pub fn hll_sparse_max_bytes(&self) -> u64 {
        self.values.hll_sparse_max_bytes
    }
    pub fn client_output_buffer_limit(&self, class: ClientClass) -> ObufLimit {
        self.values.client_output_buffer_limit[class as usize]
    }
    /// Milliseconds before a busy script/function makes the server reply -BUSY.
    pub fn busy_reply_threshold(&self) -> i64 {
        self.values.busy_reply_threshold
    }
    /// `save` points; empty when snapshots are disabled.
    pub fn save_params(&self) -> Vec<SaveParam> {
        self.values.save.clone()
    }
    pub fn appendonly(&self) -> bool {
        self.values.appendonly
    }
    pub fn appendfsync(&self) -> AppendFsync {
        match self.values.appendfsync {
            1 => AppendFsync::Always,
            0 => AppendFsync::No,
            _ => AppendFsync::Everysec,
        }
    }
    pub fn dbfilename(&self) -> String {
        self.values.dbfilename.clone().unwrap_or_default()
    }
    pub fn appendfilename(&self) -> String {
        self.values.appendfilename.clone().unwrap_or_default()
    }
    pub fn appenddirname(&self) -> String {
        self.values.appenddirname.clone().unwrap_or_default()
    }
    /// `replicaof <host> <port>`; `None` for a master.
    pub fn replicaof(&self) -> Option<(String, u16)> {
        self.values.replicaof.clone()
    }
    pub fn cluster_enabled(&self) -> bool {
        self.values.cluster_enabled
    }
    pub fn cluster_config_file(&self) -> String {
        self.values.cluster_config_file.clone().unwrap_or_default()
    }
    pub fn cluster_node_timeout(&self) -> i64 {
        self.values.cluster_node_timeout
    }
    pub fn repl_backlog_size(&self) -> i64 {
        self.values.repl_backlog_size
    }
    pub fn latency_tracking_info_percentiles(&self) -> Vec<f64> {
        self.values.latency_tracking_info_percentiles.clone()
    }
    pub fn aclfile(&self) -> String {
        self.values.aclfile.clone().unwrap_or_default()
    }

    /// `user` directives from the config files, in order (for the ACL layer to apply; use
    /// [`Directive::error`] to fail startup with Redis's message).
    pub fn user_directives(&self) -> &[Directive] {
        &self.users
    }
    /// `rename-command <old> <new>` directives, in order.
    pub fn rename_command_directives(&self) -> &[Directive] {
        &self.rename_commands
    }
    /// `loadmodule <path> [args]` directives, in order.
    pub fn loadmodule_directives(&self) -> &[Directive] {
        &self.loadmodules
    }
    /// `module.option value` lines, last value per name wins.
    pub fn module_configs(&self) -> &[(String, String)] {
        &self.module_configs
    }
}

/// The name registered for `code` in an enum table.
fn name_of(names: &'static [(&'static str, i32)], code: i32) -> &'static str {
    names
        .iter()
        .find(|&&(_, v)| v == code)
        .map_or("unknown", |&(n, _)| n)
}

/// "ERR CONFIG SET failed (possibly related to argument 'x') - why".
fn set_failed(name: &str, why: &str) -> String {
    format!("ERR CONFIG SET failed (possibly related to argument '{name}') - {why}")
}

/// Redis `configEnumGetValue`: one name, or for bit-flag enums several names OR-ed together.
fn enum_value(names: &[(&str, i32)], args: &[Vec<u8>], bitflags: bool) -> Option<i32> {
    if args.is_empty() || (!bitflags && args.len() != 1) {
        return None;
    }
    let mut val = 0;
    for arg in args {
        let mut matched = false;
        for &(n, v) in names {
            if arg.eq_ignore_ascii_case(n.as_bytes()) {
                val |= v;
                matched = true;
            }
        }
        if !matched {
            return None;
        }
    }
    Some(val)
}

/// Redis `configEnumGetName`: exact match first; bit-flag enums list their set flags in table
/// order; "unknown" when nothing fits.
pub(crate) fn enum_name(names: &[(&str, i32)], val: i32, bitflags: bool) -> String {
    let mut out: Vec<&str> = Vec::new();
    let mut unmatched = val;
    for &(n, v) in names {
        if v == val {
            return n.to_string();
        }
        if bitflags && v != 0 && v == (unmatched & v) {
            out.push(n);
            unmatched &= !v;
        }
    }
    if out.is_empty() || unmatched != 0 {
        "unknown".to_string()
    } else {
        out.join(" ")
    }
}

fn enum_error(names: &[(&str, i32)]) -> String {
    let list: Vec<&str> = names.iter().map(|&(n, _)| n).collect();
    let mut msg = format!(
        "argument(s) must be one of the following: {}",
        list.join(", ")
    );
    // Redis builds this message in a 256-byte buffer.
    msg.truncate(255);
    msg
}

/// Redis `numericParseString`.
fn parse_numeric(nflags: u32, arg: &[u8]) -> Result<i64, String> {
    if nflags & table::MEMORY != 0 {
        if let Some(v) = parse::memtoull(arg) {
            // Stored in a `long long` as Redis does: values above i64::MAX wrap negative and
            // are then rejected by signed bound checks.
            return Ok(v as i64);
        }
    }
    if nflags & table::PERCENT != 0 && arg.len() > 1 && arg.last() == Some(&b'%') {
        if let Some(v) = parse::string2ll(&arg[..arg.len() - 1]) {
            if v >= 0 {
                return Ok(-v);
            }
        }
    }
    if nflags & table::OCTAL != 0 {
        let r = parse::c_strtoll(arg, 8);
        if r.complete && !r.overflow {
            return Ok(r.value);
        }
    }
    if nflags == 0 {
        if let Some(v) = parse::string2ll(arg) {
            return Ok(v);
        }
    }
    Err(
        if nflags & table::MEMORY != 0 && nflags & table::PERCENT != 0 {
            "argument must be a memory or percent value"
        } else if nflags & table::MEMORY != 0 {
            "argument must be a memory value"
        } else if nflags & table::OCTAL != 0 {
            "argument couldn't be parsed as an octal number"
        } else {
            "argument couldn't be parsed into an integer"
        }
        .to_string(),
    )
}

/// Redis `numericBoundaryCheck`.
fn check_bounds(ty: NumType, nflags: u32, min: i64, max: i64, val: i64) -> Result<(), String> {
    if ty.unsigned_bounds() {
        let (u, lo, hi) = (val as u64, min as u64, max as u64);
        if u > hi || u < lo {
            return Err(if nflags & table::OCTAL != 0 {
                format!("argument must be between {lo:o} and {hi:o} inclusive")
            } else {
                format!("argument must be between {lo} and {hi} inclusive")
            });
        }
    } else if nflags & table::PERCENT != 0 && val < 0 {
        if val < min {
            return Err(format!(
                "percentage argument must be less or equal to {}",
                min.unsigned_abs()
            ));
        }
    } else if val > max || val < min {
        return Err(format!(
            "argument must be between {min} and {max} inclusive"
        ));
    }
    Ok(())
}
