//! Parsing the Tcl harness's output: `[ok]: name (N ms)`, `[err]: name in tests/...tcl`,
//! `[exception]: ...`, `[ignore]: name: reason`, `[skip]: name`, `[TIMEOUT]: ...` and
//! `[n/m done]: unit`, with or without colour escapes.

use std::collections::BTreeSet;

/// What one run of one unit printed.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct UnitOutput {
    pub ok: Vec<String>,
    pub err: Vec<String>,
    pub exceptions: Vec<String>,
    pub ignored: Vec<String>,
    pub skipped: Vec<String>,
    /// The harness gave up waiting for progress (its own `--timeout`).
    pub harness_timeout: bool,
    /// The harness reported the unit as done.
    pub done: bool,
}

impl UnitOutput {
    /// Test names that passed: reported `[ok]` and never `[err]` (names are not unique within a
    /// unit, so one failing instance makes the name fail).
    pub fn passed(&self) -> BTreeSet<String> {
        let failed: BTreeSet<&String> = self.err.iter().collect();
        self.ok
            .iter()
            .filter(|name| !failed.contains(name))
            .cloned()
            .collect()
    }
}

/// Removes ANSI colour sequences (`ESC [ ... m`), which the harness emits when TERM is xterm.
pub fn strip_ansi(line: &str) -> String {
    let mut out = String::with_capacity(line.len());
    let mut chars = line.chars().peekable();
    while let Some(c) = chars.next() {
        if c == '\u{1b}' && chars.peek() == Some(&'[') {
            chars.next();
            for c in chars.by_ref() {
                if c.is_ascii_alphabetic() {
                    break;
                }
            }
        } else {
            out.push(c);
        }
    }
    out
}

/// `name (12 ms)` -> `name`.
fn strip_elapsed(rest: &str) -> &str {
    if let Some(open) = rest.rfind(" (") {
        let tail = &rest[open + 2..];
        if let Some(number) = tail.strip_suffix(" ms)") {
            if !number.is_empty() && number.chars().all(|c| c.is_ascii_digit()) {
                return &rest[..open];
            }
        }
    }
    rest
}

/// `name in tests/unit/x.tcl` -> `name`.
fn strip_location(rest: &str) -> &str {
    if let Some(at) = rest.rfind(" in ") {
        let file = &rest[at + 4..];
        if file.ends_with(".tcl") && !file.contains(' ') {
            return &rest[..at];
        }
    }
    rest
}

/// Parses the whole output of one harness run.
pub fn parse(text: &str) -> UnitOutput {
    let mut out = UnitOutput::default();
    for raw in text.lines() {
        let line = strip_ansi(raw);
        let line = line.trim_end();
        if let Some(rest) = line.strip_prefix("[ok]: ") {
            out.ok.push(strip_elapsed(rest).to_string());
        } else if let Some(rest) = line.strip_prefix("[err]: ") {
            out.err.push(strip_location(rest).to_string());
        } else if let Some(rest) = line.strip_prefix("[exception]: ") {
            out.exceptions.push(rest.to_string());
        } else if let Some(rest) = line.strip_prefix("[ignore]: ") {
            out.ignored.push(rest.to_string());
        } else if let Some(rest) = line.strip_prefix("[skip]: ") {
            out.skipped.push(rest.to_string());
        } else if line.starts_with("[TIMEOUT]:") {
            out.harness_timeout = true;
        } else if line.starts_with('[') && line.contains(" done]: ") {
            out.done = true;
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    const SAMPLE: &str = "\
[ready]: 1234
Testing unit/type/incr
\u{1b}[0;32;49m[ok\u{1b}[0m]: INCR against non existing key (1 ms)
[ok]: INCRBYFLOAT fails against key with spaces (left) (0 ms)
[err]: INCR fails against key with spaces (both) in tests/unit/type/incr.tcl
Expected 'x' to equal 'y'
[ok]: INCR fails against key with spaces (both) (2 ms)
[ignore]: DEBUG RELOAD: Not supported on external server
[skip]: SRANDMEMBER with a dict containing long chain
[exception]: Executing test client: I/O error reading reply.
[1/1 done]: unit/type/incr (0 seconds)
*** [err]: INCR fails against key with spaces (both) in tests/unit/type/incr.tcl
";

    #[test]
    fn parses_every_status() {
        let out = parse(SAMPLE);
        assert_eq!(
            out.ok,
            vec![
                "INCR against non existing key",
                "INCRBYFLOAT fails against key with spaces (left)",
                "INCR fails against key with spaces (both)",
            ]
        );
        assert_eq!(out.err, vec!["INCR fails against key with spaces (both)"]);
        assert_eq!(out.exceptions.len(), 1);
        assert_eq!(out.ignored.len(), 1);
        assert_eq!(
            out.skipped,
            vec!["SRANDMEMBER with a dict containing long chain"]
        );
        assert!(out.done);
        assert!(!out.harness_timeout);
    }

    #[test]
    fn a_name_that_failed_once_is_not_passed() {
        let passed = parse(SAMPLE).passed();
        assert!(passed.contains("INCR against non existing key"));
        assert!(!passed.contains("INCR fails against key with spaces (both)"));
        assert_eq!(passed.len(), 2);
    }

    #[test]
    fn keeps_parentheses_that_are_part_of_the_name() {
        assert_eq!(strip_elapsed("ZADD (x) works (3 ms)"), "ZADD (x) works");
        assert_eq!(strip_elapsed("ZADD (x) works"), "ZADD (x) works");
        assert_eq!(
            strip_location("SET in MULTI in tests/unit/multi.tcl"),
            "SET in MULTI"
        );
        assert_eq!(strip_location("SET in MULTI"), "SET in MULTI");
    }

    #[test]
    fn detects_the_harness_timeout() {
        let out = parse("[TIMEOUT]: clients state report follows.\n");
        assert!(out.harness_timeout);
        assert!(!out.done);
    }
}
