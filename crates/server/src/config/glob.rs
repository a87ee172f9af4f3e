//! Redis-style glob matching (`stringmatchlen`) for CONFIG GET patterns, plus the file-name
//! expansion used by `include` with wildcards.
//!
//! The matcher supports `*`, `?`, `[...]` (with `^` negation, ranges and `\` escapes) and `\x`
//! escapes. It stops early once a `*` has been tried at every position, so hostile patterns
//! cannot make it exponential.

use std::path::{Path, PathBuf};

fn fold(c: u8, nocase: bool) -> u8 {
    if nocase {
        c.to_ascii_lowercase()
    } else {
        c
    }
}

/// True when `s` matches the glob `pattern`.
pub(crate) fn string_match(pattern: &[u8], s: &[u8], nocase: bool) -> bool {
    let mut skip_longer = false;
    match_impl(pattern, s, nocase, &mut skip_longer)
}

fn match_impl(mut p: &[u8], mut s: &[u8], nocase: bool, skip_longer: &mut bool) -> bool {
    while let (Some(&pc), Some(&sc)) = (p.first(), s.first()) {
        match pc {
            b'*' => {
                while p.get(1) == Some(&b'*') {
                    p = &p[1..];
                }
                if p.len() == 1 {
                    return true;
                }
                while !s.is_empty() {
                    if match_impl(&p[1..], s, nocase, skip_longer) {
                        return true;
                    }
                    if *skip_longer {
                        return false;
                    }
                    s = &s[1..];
                }
                // No match for the rest of the pattern anywhere in the rest of the string:
                // trying longer matches for earlier stars cannot help either.
                *skip_longer = true;
                return false;
            }
            b'?' => {
                s = &s[1..];
            }
            b'[' => {
                p = &p[1..];
                let not = p.first() == Some(&b'^');
                if not {
                    p = &p[1..];
                }
                let mut matched = false;
                loop {
                    match p.first() {
                        Some(b'\\') if p.len() >= 2 => {
                            p = &p[1..];
                            if p[0] == sc {
                                matched = true;
                            }
                        }
                        Some(b']') => break,
                        None => {
                            // Unterminated class: Redis steps back so the outer advance lands
                            // on the end of the pattern.
                            break;
                        }
                        Some(&start) if p.len() >= 3 && p[1] == b'-' => {
                            let mut lo = start;
                            let mut hi = p[2];
                            if lo > hi {
                                std::mem::swap(&mut lo, &mut hi);
                            }
                            let c = fold(sc, nocase);
                            if c >= fold(lo, nocase) && c <= fold(hi, nocase) {
                                matched = true;
                            }
                            p = &p[2..];
                        }
                        Some(&c) => {
                            if fold(c, nocase) == fold(sc, nocase) {
                                matched = true;
                            }
                        }
                    }
                    p = &p[1..];
                }
                if not {
                    matched = !matched;
                }
                if !matched {
                    return false;
                }
                s = &s[1..];
                if p.is_empty() {
                    // The class ran to the end of the pattern (no closing bracket).
                    return s.is_empty();
                }
            }
            _ => {
                let lit = if pc == b'\\' && p.len() >= 2 {
                    p = &p[1..];
                    p[0]
                } else {
                    pc
                };
                if fold(lit, nocase) != fold(sc, nocase) {
                    return false;
                }
                s = &s[1..];
            }
        }
        p = &p[1..];
        if s.is_empty() {
            while p.first() == Some(&b'*') {
                p = &p[1..];
            }
            break;
        }
    }
    p.is_empty() && s.is_empty()
}

fn has_wildcard(s: &str) -> bool {
    s.contains(['*', '?', '['])
}

/// Expands a file-name pattern the way glob(3) does for `include` (wildcards in any path
/// component, hidden names only matched by patterns starting with a dot, results sorted,
/// non-existent paths dropped).
pub(crate) fn expand_paths(pattern: &Path) -> Vec<PathBuf> {
    let text = pattern.to_string_lossy();
    let absolute = text.starts_with('/');
    let mut candidates: Vec<PathBuf> = vec![if absolute {
        PathBuf::from("/")
    } else {
        PathBuf::new()
    }];
    for comp in text.split('/').filter(|c| !c.is_empty()) {
        let mut next = Vec::new();
        for base in &candidates {
            if has_wildcard(comp) {
                let dir = if base.as_os_str().is_empty() {
                    Path::new(".")
                } else {
                    base.as_path()
                };
                let Ok(entries) = std::fs::read_dir(dir) else {
                    continue;
                };
                let mut names: Vec<String> = entries
                    .filter_map(Result::ok)
                    .map(|e| e.file_name().to_string_lossy().into_owned())
                    .filter(|n| !n.starts_with('.') || comp.starts_with('.'))
                    .filter(|n| string_match(comp.as_bytes(), n.as_bytes(), false))
                    .collect();
                names.sort();
                next.extend(names.into_iter().map(|n| base.join(n)));
            } else {
                next.push(base.join(comp));
            }
        }
        candidates = next;
    }
    candidates.retain(|p| p.exists());
    candidates
}
