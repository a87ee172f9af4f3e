//! Finding the key arguments of a command line, with Redis 7.0's semantics
//! (db.c `getKeysFromCommandWithSpecs`): the key specs are used when they are
//! reliable; when a spec is incomplete, unknown or does not fit the arguments,
//! or the flags vary with the arguments (SET, BITFIELD), the command's
//! dedicated get-keys function decides instead.
//!
//! Hot path: dispatch calls [`get_keys`] for every command to choose the
//! shards to lock. It does not allocate for up to four keys.

use smallvec::SmallVec;

use super::{cmd_flags, key_flags, lookup_argv, BeginSearch, CommandMeta, FindKeys, GetKeysProc};

/// One key argument: its index in argv and its `key_flags::*` access flags
/// (0 when Redis's get-keys function does not report flags).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct KeyRef {
    pub pos: usize,
    pub flags: u32,
}

pub type KeyRefs = SmallVec<[KeyRef; 4]>;
pub type KeyPositions = SmallVec<[usize; 4]>;

/// Why keys could not be extracted. The messages are Redis's COMMAND GETKEYS
/// errors, without the `ERR ` prefix.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum KeysError {
    #[error("Invalid command specified")]
    InvalidCommand,
    #[error("Invalid number of arguments specified for command")]
    InvalidArity,
    #[error("The command has no key arguments")]
    NoKeyArguments,
    /// No keys were found although the command requires some (bad numkeys...).
    #[error("Invalid arguments specified for command")]
    InvalidArguments,
}

/// The keys of `argv` (argv[0] is the command name; for a subcommand argv[1]
/// is its name) for the command `meta`. Never fails: malformed arguments give
/// fewer or no keys, and the command itself then reports the error.
pub fn get_keys<A: AsRef<[u8]>>(meta: &CommandMeta, argv: &[A]) -> KeyRefs {
    let mut out = KeyRefs::new();
    let has_real_spec = meta
        .key_specs
        .iter()
        .any(|s| s.flags & key_flags::NOT_KEY == 0);
    let has_variable_flags = meta
        .key_specs
        .iter()
        .any(|s| s.flags & key_flags::VARIABLE_FLAGS != 0);
    if has_real_spec && !has_variable_flags && keys_from_specs(meta, argv, &mut out) {
        return out;
    }
    out.clear();
    keys_from_proc(meta.getkeys, argv, &mut out);
    out
}

/// Key positions for dispatch: checks the arity first (the caller usually has
/// already), then returns the argv indices of the keys, possibly none.
pub fn key_positions<A: AsRef<[u8]>>(
    meta: &CommandMeta,
    argv: &[A],
) -> Result<KeyPositions, KeysError> {
    if !meta.arity_ok(argv.len()) {
        return Err(KeysError::InvalidArity);
    }
    Ok(get_keys(meta, argv).iter().map(|k| k.pos).collect())
}

/// COMMAND GETKEYS / GETKEYSANDFLAGS: `line` is the full command line to
/// inspect (what follows `COMMAND GETKEYS`). Positions are indices into `line`.
pub fn command_getkeys<A: AsRef<[u8]>>(line: &[A]) -> Result<KeyRefs, KeysError> {
    let meta = lookup_argv(line).ok_or(KeysError::InvalidCommand)?;
    if !meta.has_keys() {
        return Err(KeysError::NoKeyArguments);
    }
    if !meta.arity_ok(line.len()) {
        return Err(KeysError::InvalidArity);
    }
    let keys = get_keys(meta, line);
    if keys.is_empty() && !meta.has_flag(cmd_flags::NO_MANDATORY_KEYS) {
        return Err(KeysError::InvalidArguments);
    }
    Ok(keys)
}

/// Redis `getKeysUsingKeySpecs` with default search flags: NOT_KEY specs are
/// skipped; false means a spec was unusable (the caller falls back).
fn keys_from_specs<A: AsRef<[u8]>>(meta: &CommandMeta, argv: &[A], out: &mut KeyRefs) -> bool {
    // i64 throughout: the spec arithmetic may go negative, and argv lengths fit.
    let argc = argv.len() as i64;
    let arg = |i: i64| -> Option<&[u8]> {
        usize::try_from(i)
            .ok()
            .and_then(|i| argv.get(i))
            .map(|a| a.as_ref())
    };
    for spec in meta.key_specs {
        if spec.flags & key_flags::NOT_KEY != 0 {
            continue;
        }
        let mut first: i64 = match spec.begin_search {
            BeginSearch::Index { pos } => i64::from(pos),
            BeginSearch::Keyword { keyword, startfrom } => {
                let startfrom = i64::from(startfrom);
                let (start, end) = if startfrom > 0 {
                    (startfrom, argc - 1)
                } else {
                    (argc + startfrom, 1)
                };
                // The end index itself is never examined: a keyword in the last
                // (or, backwards, the first) slot could not be followed by a key.
                let mut found = 0;
                let mut i = start;
                while i != end {
                    if i >= argc || i < 1 {
                        break;
                    }
                    if arg(i).is_some_and(|a| a.eq_ignore_ascii_case(keyword.as_bytes())) {
                        found = i + 1;
                        break;
                    }
                    i = if start <= end { i + 1 } else { i - 1 };
                }
                if found == 0 {
                    continue; // keyword absent: this spec has no keys here
                }
                found
            }
            BeginSearch::Unknown => return false,
        };
        let (last, step) = match spec.find_keys {
            FindKeys::Range {
                lastkey,
                keystep,
                limit,
            } => {
                let lastkey = i64::from(lastkey);
                let last = if lastkey >= 0 {
                    first + lastkey
                } else if limit == 0 {
                    argc + lastkey
                } else {
                    // Only lastkey == -1 is meaningful with a limit (Redis asserts it).
                    first + ((argc - first) / i64::from(limit) + lastkey)
                };
                (last, i64::from(keystep))
            }
            FindKeys::Keynum {
                keynumidx,
                firstkey,
                keystep,
            } => {
                let keynumidx = i64::from(keynumidx);
                if keynumidx >= argc {
                    return false;
                }
                let Some(numkeys) = arg(first + keynumidx).and_then(parse_strict_i64) else {
                    return false;
                };
                if numkeys < 0 {
                    return false;
                }
                first += i64::from(firstkey);
                (first.saturating_add(numkeys) - 1, i64::from(keystep))
            }
            FindKeys::Unknown => return false,
        };
        if last >= argc || last < first || first >= argc {
            return false;
        }
        if step <= 0 {
            return false; // not in Redis's table; guards the loop below
        }
        let mut i = first;
        while i <= last {
            // Out-of-range positions can only come from variadic commands with
            // too few arguments; they are skipped and the command reports it.
            if let Ok(pos) = usize::try_from(i) {
                if i < argc {
                    out.push(super::KeyRef {
                        pos,
                        flags: spec.flags,
                    });
                }
            }
            i += step;
        }
        if spec.flags & key_flags::INCOMPLETE != 0 {
            return false;
        }
    }
    true
}

/// The dedicated get-keys functions of db.c.
fn keys_from_proc<A: AsRef<[u8]>>(proc_: GetKeysProc, argv: &[A], out: &mut KeyRefs) {
    let argc = argv.len();
    let is = |i: usize, word: &str| {
        argv.get(i)
            .is_some_and(|a| a.as_ref().eq_ignore_ascii_case(word.as_bytes()))
    };
    let mut push = |pos: usize, flags: u32| {
        if pos < argc {
            out.push(KeyRef { pos, flags });
        }
    };
    match proc_ {
        GetKeysProc::None => {}
        GetKeysProc::Generic {
            store,
            numkeys,
            first,
            step,
        } => {
            let Some(count) = argv.get(usize::from(numkeys)) else {
                return;
            };
            let num = atoi(count.as_ref());
            let room = (argc as i64 - i64::from(first)) / i64::from(step.max(1));
            // Keep no keys when the command will reject its arguments anyway.
            if num < 1 || num > room {
                return;
            }
            for i in 0..num as usize {
                push(usize::from(first) + i * usize::from(step), 0);
            }
            if store != 0 {
                push(usize::from(store), 0);
            }
        }
        GetKeysProc::SortRo => push(1, key_flags::RO | key_flags::ACCESS),
        GetKeysProc::Sort => {
            push(1, key_flags::RO | key_flags::ACCESS);
            // Options are skipped with their arguments so that e.g. `GET store`
            // is not taken for STORE; the last STORE wins, as in SORT itself.
            let mut store = None;
            let mut i = 2;
            while i < argc {
                if is(i, "limit") {
                    i += 2;
                } else if is(i, "store") && i + 1 < argc {
                    store = Some(i + 1);
                } else if is(i, "get") || is(i, "by") {
                    i += 1;
                }
                i += 1;
            }
            if let Some(pos) = store {
                push(pos, key_flags::OW | key_flags::UPDATE);
            }
        }
        GetKeysProc::Migrate => {
            // MIGRATE host port key|"" db timeout [COPY] [REPLACE] [AUTH pw]
            // [AUTH2 user pw] [KEYS key...]
            let (mut first, mut num) = (3, 1);
            let mut i = 6;
            while i < argc {
                if is(i, "keys") {
                    if argv.get(3).is_some_and(|a| !a.as_ref().is_empty()) {
                        num = 0; // both a key and KEYS: a syntax error MIGRATE reports
                    } else {
                        first = i + 1;
                        num = argc - first;
                    }
                    break;
                }
                if is(i, "auth") {
                    i += 1;
                } else if is(i, "auth2") {
                    i += 2;
                }
                i += 1;
            }
            let flags = key_flags::RW | key_flags::ACCESS | key_flags::DELETE;
            for pos in first..first + num {
                push(pos, flags);
            }
        }
        GetKeysProc::Georadius => {
            let mut stored = None;
            let mut i = 5;
            while i < argc {
                if (is(i, "store") || is(i, "storedist")) && i + 1 < argc {
                    stored = Some(i + 1); // a later STORE/STOREDIST overrides
                    i += 1;
                }
                i += 1;
            }
            push(1, 0);
            if let Some(pos) = stored {
                push(pos, 0);
            }
        }
        GetKeysProc::Xread => {
            // "STREAMS" may also be a group, consumer or key name, so options
            // are skipped with their arguments until the real STREAMS.
            let mut streams = None;
            let mut i = 1;
            while i < argc {
                if is(i, "block") || is(i, "count") {
                    i += 1;
                } else if is(i, "group") {
                    i += 2;
                } else if is(i, "noack") {
                } else if is(i, "streams") {
                    streams = Some(i);
                    break;
                } else {
                    break;
                }
                i += 1;
            }
            let Some(streams) = streams else { return };
            let rest = argc - streams - 1;
            if rest == 0 || rest & 1 == 1 {
                return;
            }
            for pos in streams + 1..streams + 1 + rest / 2 {
                push(pos, 0);
            }
        }
        GetKeysProc::Set => {
            let with_get = (3..argc).any(|i| is(i, "get"));
            let flags = if with_get {
                key_flags::RW | key_flags::ACCESS | key_flags::UPDATE
            } else {
                key_flags::OW | key_flags::UPDATE
            };
            push(1, flags);
        }
        GetKeysProc::Bitfield => {
            let mut readonly = true;
            let mut i = 2;
            while i < argc {
                let remaining = argc - i - 1;
                if is(i, "get") && remaining >= 2 {
                    i += 2;
                } else if (is(i, "set") || is(i, "incrby")) && remaining >= 3 {
                    readonly = false;
                    break;
                } else if is(i, "overflow") && remaining >= 1 {
                    i += 1;
                } else {
                    readonly = false; // a syntax error: assume a write, to be safe
                    break;
                }
                i += 1;
            }
            let flags = if readonly {
                key_flags::RO | key_flags::ACCESS
            } else {
                key_flags::RW | key_flags::ACCESS | key_flags::UPDATE
            };
            push(1, flags);
        }
    }
}

/// C `atoi` as Redis's genericGetKeys uses it: leading blanks, an optional
/// sign, then digits up to the first non-digit; no digits gives 0. Saturates
/// instead of overflowing.
fn atoi(s: &[u8]) -> i64 {
    let mut it = s
        .iter()
        .copied()
        .skip_while(|b| matches!(b, b' ' | b'\t' | b'\n' | b'\x0b' | b'\x0c' | b'\r'))
        .peekable();
    let negative = match it.peek() {
        Some(b'-') => {
            it.next();
            true
        }
        Some(b'+') => {
            it.next();
            false
        }
        _ => false,
    };
    let mut n: i64 = 0;
    for b in it.take_while(u8::is_ascii_digit) {
        n = n.saturating_mul(10).saturating_add(i64::from(b - b'0'));
    }
    if negative {
        -n
    } else {
        n
    }
}

/// Redis `string2ll`: an optional `-`, then `0` alone or digits without a
/// leading zero; nothing else, no overflow.
fn parse_strict_i64(s: &[u8]) -> Option<i64> {
    let (negative, digits) = match s.split_first() {
        Some((b'-', rest)) => (true, rest),
        _ => (false, s),
    };
    match digits {
        [] => return None,
        [b'0'] if !negative => return Some(0),
        [b'1'..=b'9', ..] => {}
        _ => return None,
    }
    let mut n: i64 = 0;
    for &b in digits {
        if !b.is_ascii_digit() {
            return None;
        }
        let d = i64::from(b - b'0');
        n = if negative {
            n.checked_mul(10)?.checked_sub(d)?
        } else {
            n.checked_mul(10)?.checked_add(d)?
        };
    }
    Some(n)
}

#[cfg(test)]
mod tests {
    use super::super::lookup;
    use super::*;

    fn positions(line: &str) -> Vec<usize> {
        let argv: Vec<&str> = line.split(' ').collect();
        let meta = super::super::lookup_argv(&argv).expect("known command");
        get_keys(meta, &argv).iter().map(|k| k.pos).collect()
    }

    #[test]
    fn spec_driven_keys() {
        assert_eq!(positions("mset a 1 b 2"), [1, 3]);
        assert_eq!(positions("del a b c"), [1, 2, 3]);
        assert_eq!(positions("blpop a b 0"), [1, 2]);
        assert_eq!(positions("xgroup create s g $"), [2]);
        assert_eq!(positions("ping"), Vec::<usize>::new());
    }

    #[test]
    fn too_few_arguments_never_panic() {
        // Without an arity check first, every command with 0..3 junk arguments.
        for meta in super::super::all_with_subcommands() {
            for n in 0..4 {
                let mut argv: Vec<Vec<u8>> = meta
                    .name
                    .split('|')
                    .map(|p| p.as_bytes().to_vec())
                    .collect();
                argv.extend((0..n).map(|i| format!("{i}").into_bytes()));
                for k in get_keys(meta, &argv) {
                    assert!(k.pos < argv.len(), "{} {:?}", meta.name, k);
                }
            }
        }
    }

    #[test]
    fn key_positions_checks_arity() {
        let get = lookup(b"get").expect("get");
        assert_eq!(key_positions(get, &["get"]), Err(KeysError::InvalidArity));
        assert_eq!(
            key_positions(get, &["get", "k"]).map(|v| v.to_vec()),
            Ok(vec![1])
        );
    }

    #[test]
    fn number_parsing_matches_c() {
        assert_eq!(atoi(b" 12abc"), 12);
        assert_eq!(atoi(b"-3"), -3);
        assert_eq!(atoi(b"x"), 0);
        assert_eq!(atoi(b"99999999999999999999999"), i64::MAX);
        assert_eq!(parse_strict_i64(b"0"), Some(0));
        assert_eq!(parse_strict_i64(b"-12"), Some(-12));
        assert_eq!(parse_strict_i64(b"012"), None);
        assert_eq!(parse_strict_i64(b"-0"), None);
        assert_eq!(parse_strict_i64(b"+1"), None);
        assert_eq!(parse_strict_i64(b" 1"), None);
        assert_eq!(parse_strict_i64(b""), None);
        assert_eq!(parse_strict_i64(b"9223372036854775808"), None);
        assert_eq!(parse_strict_i64(b"-9223372036854775808"), Some(i64::MIN));
    }
}
