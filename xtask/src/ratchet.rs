//! The compatibility ratchet: a sorted list of `unit<TAB>test name` lines naming Tcl tests that
//! pass against our server. It only grows: `compat --update-ratchet` adds what passes, and a
//! listed test that stops passing fails both `compat` and `test`.
//!
//! `tests/compat/ratchet.txt` holds tests run in external mode (what CI runs);
//! `tests/compat/ratchet-full.txt`, when present, holds tests run in full mode.

use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::path::{Path, PathBuf};

use crate::error::{Error, Result};
use crate::paths;

/// Test mode of the harness.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Mode {
    /// `--host/--port` against a server we started.
    External,
    /// The harness starts `src/redis-server` itself.
    Full,
}

impl Mode {
    pub fn name(self) -> &'static str {
        match self {
            Mode::External => "external",
            Mode::Full => "full",
        }
    }

    pub fn parse(text: &str) -> Option<Mode> {
        match text {
            "external" => Some(Mode::External),
            "full" => Some(Mode::Full),
            _ => None,
        }
    }
}

/// The ratchet file of a mode.
pub fn path(mode: Mode) -> PathBuf {
    let dir = paths::root().join("tests/compat");
    match mode {
        Mode::External => dir.join("ratchet.txt"),
        Mode::Full => dir.join("ratchet-full.txt"),
    }
}

/// The set of (unit, test name) pairs that must pass.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Ratchet {
    pub entries: BTreeSet<(String, String)>,
}

impl Ratchet {
    /// Parses ratchet text; blank lines and `#` comments are allowed.
    pub fn parse(text: &str, origin: &str) -> Result<Ratchet> {
        let mut entries = BTreeSet::new();
        for (index, line) in text.lines().enumerate() {
            if line.trim().is_empty() || line.starts_with('#') {
                continue;
            }
            let (unit, name) = line.split_once('\t').ok_or_else(|| Error::Parse {
                path: origin.to_string(),
                line: index + 1,
                message: "expected `unit<TAB>test name`".into(),
            })?;
            entries.insert((unit.to_string(), name.to_string()));
        }
        Ok(Ratchet { entries })
    }

    /// Loads a ratchet file; a missing file is an empty ratchet.
    pub fn load(file: &Path) -> Result<Ratchet> {
        match fs::read_to_string(file) {
            Ok(text) => Ratchet::parse(&text, &paths::display_rel(file)),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Ratchet::default()),
            Err(e) => Err(Error::io_path("reading", file, e)),
        }
    }

    /// The file's text: one sorted `unit<TAB>name` line per test.
    pub fn render(&self) -> String {
        let mut out = String::new();
        for (unit, name) in &self.entries {
            out.push_str(unit);
            out.push('\t');
            out.push_str(name);
            out.push('\n');
        }
        out
    }

    pub fn save(&self, file: &Path) -> Result<()> {
        if let Some(dir) = file.parent() {
            fs::create_dir_all(dir).map_err(|e| Error::io_path("creating", dir, e))?;
        }
        fs::write(file, self.render()).map_err(|e| Error::io_path("writing", file, e))
    }

    /// Units with at least one listed test, sorted.
    pub fn units(&self) -> Vec<String> {
        let units: BTreeSet<&String> = self.entries.iter().map(|(u, _)| u).collect();
        units.into_iter().cloned().collect()
    }

    /// Number of tests listed per unit.
    pub fn counts(&self) -> BTreeMap<String, usize> {
        let mut counts = BTreeMap::new();
        for (unit, _) in &self.entries {
            *counts.entry(unit.clone()).or_insert(0) += 1;
        }
        counts
    }

    /// Listed tests of `unit` that are not in `passed`.
    pub fn regressions(&self, unit: &str, passed: &BTreeSet<String>) -> Vec<String> {
        self.entries
            .iter()
            .filter(|(u, name)| u == unit && !passed.contains(name))
            .map(|(_, name)| name.clone())
            .collect()
    }

    /// Listed tests of `unit` that are in `passed`.
    pub fn held(&self, unit: &str, passed: &BTreeSet<String>) -> usize {
        self.entries
            .iter()
            .filter(|(u, name)| u == unit && passed.contains(name))
            .count()
    }

    /// Adds every passed test of `unit`; returns how many were new. Tabs and newlines cannot
    /// appear in the file format, so names containing them are skipped.
    pub fn add(&mut self, unit: &str, passed: &BTreeSet<String>) -> usize {
        let before = self.entries.len();
        for name in passed {
            if !name.contains(['\t', '\n', '\r']) {
                self.entries.insert((unit.to_string(), name.clone()));
            }
        }
        self.entries.len() - before
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn set(names: &[&str]) -> BTreeSet<String> {
        names.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn round_trips_sorted() {
        let text = "unit/b\tz test\n# comment\n\nunit/a\tone\nunit/a\tanother one\n";
        let ratchet = Ratchet::parse(text, "t").ok().unwrap_or_default();
        assert_eq!(
            ratchet.render(),
            "unit/a\tanother one\nunit/a\tone\nunit/b\tz test\n"
        );
        assert_eq!(ratchet.units(), vec!["unit/a", "unit/b"]);
        assert_eq!(ratchet.counts().get("unit/a"), Some(&2));
    }

    #[test]
    fn rejects_a_line_without_a_tab() {
        match Ratchet::parse("unit/a one\n", "r.txt") {
            Err(Error::Parse { line, .. }) => assert_eq!(line, 1),
            other => panic!("expected a parse error, got {other:?}"),
        }
    }

    #[test]
    fn only_goes_up_and_reports_regressions() {
        let mut ratchet = Ratchet::default();
        assert_eq!(ratchet.add("unit/a", &set(&["x", "y"])), 2);
        // A later run where y fails: adding keeps y, and y is a regression.
        assert_eq!(ratchet.add("unit/a", &set(&["x", "z"])), 1);
        assert_eq!(ratchet.entries.len(), 3);
        assert_eq!(ratchet.regressions("unit/a", &set(&["x", "z"])), vec!["y"]);
        assert_eq!(ratchet.held("unit/a", &set(&["x", "z"])), 2);
        assert!(ratchet.regressions("unit/b", &set(&[])).is_empty());
    }

    #[test]
    fn skips_names_the_format_cannot_hold() {
        let mut ratchet = Ratchet::default();
        assert_eq!(ratchet.add("unit/a", &set(&["bad\tname", "good"])), 1);
    }
}
