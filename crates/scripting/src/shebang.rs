//! Script headers: `#!lua flags=no-writes,allow-oom` (EVAL) and `#!lua name=lib` (FUNCTION).

/// Script flags (Redis's SCRIPT_FLAG_*).
pub mod flags {
    pub const NO_WRITES: u32 = 1 << 0;
    pub const ALLOW_OOM: u32 = 1 << 1;
    pub const ALLOW_STALE: u32 = 1 << 2;
    pub const NO_CLUSTER: u32 = 1 << 3;
    /// No shebang: Redis 6 compatible EVAL semantics.
    pub const EVAL_COMPAT: u32 = 1 << 4;
    pub const ALLOW_CROSS_SLOT: u32 = 1 << 5;

    /// Names as written in shebangs and FUNCTION LIST, in Redis's order.
    pub const NAMES: [(&str, u32); 5] = [
        ("no-writes", NO_WRITES),
        ("allow-oom", ALLOW_OOM),
        ("allow-stale", ALLOW_STALE),
        ("no-cluster", NO_CLUSTER),
        ("allow-cross-slot-keys", ALLOW_CROSS_SLOT),
    ];

    pub fn by_name(name: &[u8]) -> Option<u32> {
        NAMES
            .iter()
            .find(|(n, _)| n.as_bytes() == name)
            .map(|(_, f)| *f)
    }
}

/// Parsed EVAL header: the flags and the header's length (the body is compiled from there,
/// keeping the newline so line numbers stay right).
pub fn eval_flags(body: &[u8]) -> Result<(u32, usize), String> {
    if !body.starts_with(b"#!") {
        return Ok((flags::EVAL_COMPAT, 0));
    }
    let Some(end) = body.iter().position(|&b| b == b'\n') else {
        return Err("Invalid script shebang".into());
    };
    let parts = split_words(&body[..end]);
    let Some(engine) = parts.first() else {
        return Err("Invalid engine in script shebang".into());
    };
    if engine.as_slice() != b"#!lua" {
        return Err(format!(
            "Unexpected engine in script shebang: {}",
            String::from_utf8_lossy(engine)
        ));
    }
    let mut out = 0;
    for p in &parts[1..] {
        if let Some(list) = p.strip_prefix(b"flags=") {
            for f in list.split(|&b| b == b',') {
                if f.is_empty() && list.is_empty() {
                    continue;
                }
                match flags::by_name(f) {
                    Some(bit) => out |= bit,
                    None => {
                        return Err(format!(
                            "Unexpected flag in script shebang: {}",
                            String::from_utf8_lossy(f)
                        ))
                    }
                }
            }
        } else {
            return Err(format!(
                "Unknown lua shebang option: {}",
                String::from_utf8_lossy(p)
            ));
        }
    }
    Ok((out, end))
}

/// Words of a shebang line as Redis's sdssplitargs splits them: whitespace-separated, with
/// double quotes (backslash escapes) and single quotes allowed inside a word.
pub fn split_words(line: &[u8]) -> Vec<Vec<u8>> {
    let mut out = Vec::new();
    let mut i = 0;
    while i < line.len() {
        while i < line.len() && line[i].is_ascii_whitespace() {
            i += 1;
        }
        if i >= line.len() {
            break;
        }
        let mut word = Vec::new();
        let mut quote = 0u8;
        while i < line.len() {
            let c = line[i];
            if quote == b'"' {
                if c == b'\\' && i + 1 < line.len() {
                    i += 1;
                    word.push(match line[i] {
                        b'n' => b'\n',
                        b'r' => b'\r',
                        b't' => b'\t',
                        b'b' => 8,
                        b'a' => 7,
                        other => other,
                    });
                } else if c == b'"' {
                    quote = 0;
                } else {
                    word.push(c);
                }
            } else if quote == b'\'' {
                if c == b'\'' {
                    quote = 0;
                } else {
                    word.push(c);
                }
            } else if c == b'"' || c == b'\'' {
                quote = c;
            } else if c.is_ascii_whitespace() {
                break;
            } else {
                word.push(c);
            }
            i += 1;
        }
        out.push(word);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_flags() {
        assert_eq!(eval_flags(b"return 1").unwrap(), (flags::EVAL_COMPAT, 0));
        let (f, len) = eval_flags(b"#!lua flags=no-writes,allow-oom\nreturn 1").unwrap();
        assert_eq!(f, flags::NO_WRITES | flags::ALLOW_OOM);
        assert_eq!(len, 31);
        assert_eq!(eval_flags(b"#!lua\nreturn 1").unwrap(), (0, 5));
        assert_eq!(
            eval_flags(b"#!lua flags=bad\n").unwrap_err(),
            "Unexpected flag in script shebang: bad"
        );
        assert_eq!(
            eval_flags(b"#!py\n").unwrap_err(),
            "Unexpected engine in script shebang: #!py"
        );
        assert_eq!(eval_flags(b"#!lua").unwrap_err(), "Invalid script shebang");
        assert_eq!(
            split_words(b"#!lua name=\"foo\"  x='a b'"),
            vec![b"#!lua".to_vec(), b"name=foo".to_vec(), b"x=a b".to_vec()]
        );
        assert_eq!(
            eval_flags(b"#!lua foo=bar\n").unwrap_err(),
            "Unknown lua shebang option: foo=bar"
        );
    }
}
