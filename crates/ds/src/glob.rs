//! Glob-style pattern matching with the exact semantics of Redis 7.0's
//! `stringmatchlen()` (used by KEYS, SCAN MATCH, PSUBSCRIBE, ACL key and
//! channel patterns, CONFIG GET, ...).
//!
//! Syntax: `*` any run of bytes, `?` one byte, `[abc]` / `[^abc]` / `[a-z]`
//! classes (bounds may be given in either order), `\x` a literal `x`. Quirks
//! reproduced on purpose because clients can observe them:
//! - an unterminated `[` class still matches one byte against what it has;
//! - `[a-]` parses `a-]` as a range, so the `]` does not close the class;
//! - range bounds compare as *signed* C chars (bytes >= 0x80 sort below 0);
//! - inside a class, `\x` ignores `nocase`; case folding is ASCII only;
//! - the empty string matches only the empty pattern: `*` does **not** match
//!   `""` here. Redis callers special-case the pattern `*` before matching
//!   (KEYS and SCAN skip matching entirely for it), and so must ours.
//!
//! Complexity. Redis 7.0.15 recurses once per `*`, but stops all backtracking
//! once the text after some `*` failed at every position ("skipLongerMatches").
//! A consequence is that only the innermost `*` is ever resumed, so the same
//! results come from a loop that remembers a single backtrack point: no
//! recursion (no stack overflow on long patterns) and at worst
//! O(pattern × string) steps, like Redis.
//!
//! Depends on nothing but `core`.

/// Returns whether `string` matches the glob `pattern` (Redis `stringmatchlen`).
pub fn string_match(pattern: &[u8], string: &[u8], nocase: bool) -> bool {
    let plen = pattern.len();
    let slen = string.len();
    // Redis reads one byte past the pattern's end (the sds NUL terminator) in
    // a couple of places; `at` gives that byte as 0.
    let at = |i: usize| -> u8 { pattern.get(i).copied().unwrap_or(0) };

    let mut p = 0usize;
    let mut s = 0usize;
    // Backtrack point of the innermost `*`: (pattern index after the star,
    // string index where the rest of the pattern was last tried).
    let mut star: Option<(usize, usize)> = None;

    loop {
        let matched = 'attempt: {
            while p < plen && s < slen {
                // Both indexes are in bounds inside this loop.
                let sc = string[s];
                match pattern[p] {
                    b'*' => {
                        while at(p + 1) == b'*' {
                            p += 1;
                        }
                        if plen - p == 1 {
                            return true;
                        }
                        p += 1;
                        star = Some((p, s));
                        continue;
                    }
                    b'?' => s += 1,
                    b'[' => {
                        p += 1;
                        let negate = at(p) == b'^';
                        if negate {
                            p += 1;
                        }
                        let mut hit = false;
                        loop {
                            let rem = plen - p;
                            let pc = at(p);
                            if pc == b'\\' && rem >= 2 {
                                p += 1;
                                if at(p) == sc {
                                    hit = true;
                                }
                            } else if pc == b']' {
                                break;
                            } else if rem == 0 {
                                // Unterminated class: step back onto its last
                                // byte so the common `p += 1` below ends it.
                                p -= 1;
                                break;
                            } else if rem >= 3 && at(p + 1) == b'-' {
                                let mut lo = signed(pc);
                                let mut hi = signed(at(p + 2));
                                let mut c = signed(sc);
                                if lo > hi {
                                    std::mem::swap(&mut lo, &mut hi);
                                }
                                if nocase {
                                    lo = c_tolower(lo);
                                    hi = c_tolower(hi);
                                    c = c_tolower(c);
                                }
                                p += 2;
                                if c >= lo && c <= hi {
                                    hit = true;
                                }
                            } else if eq_byte(pc, sc, nocase) {
                                hit = true;
                            }
                            p += 1;
                        }
                        if hit == negate {
                            break 'attempt false;
                        }
                        s += 1;
                    }
                    pc => {
                        let pc = if pc == b'\\' && plen - p >= 2 {
                            p += 1;
                            at(p)
                        } else {
                            pc
                        };
                        if !eq_byte(pc, sc, nocase) {
                            break 'attempt false;
                        }
                        s += 1;
                    }
                }
                p += 1;
                if s == slen {
                    while at(p) == b'*' {
                        p += 1;
                    }
                    break;
                }
            }
            p == plen && s == slen
        };
        if matched {
            return true;
        }
        // Failed before reaching another `*`: resume the innermost one a
        // byte further on. When it runs out of string the whole match fails
        // (Redis's skipLongerMatches: outer stars would only start the rest
        // even later).
        match star {
            Some((sp, ss)) if ss + 1 < slen => {
                star = Some((sp, ss + 1));
                p = sp;
                s = ss + 1;
            }
            _ => return false,
        }
    }
}

/// A byte as x86_64's signed C `char`, widened like C's integer promotion.
fn signed(b: u8) -> i32 {
    i32::from(b as i8)
}

/// glibc `tolower` in the "C" locale (Redis never sets LC_CTYPE).
fn c_tolower(c: i32) -> i32 {
    if (i32::from(b'A')..=i32::from(b'Z')).contains(&c) {
        c + 32
    } else {
        c
    }
}

fn eq_byte(a: u8, b: u8, nocase: bool) -> bool {
    if nocase {
        a.eq_ignore_ascii_case(&b)
    } else {
        a == b
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use proptest::prelude::*;

    fn m(p: &str, s: &str) -> bool {
        string_match(p.as_bytes(), s.as_bytes(), false)
    }

    fn mi(p: &str, s: &str) -> bool {
        string_match(p.as_bytes(), s.as_bytes(), true)
    }

    #[test]
    fn keyspace_tcl_keys_with_pattern() {
        let keys = ["key_x", "key_y", "key_z", "foo_a", "foo_b", "foo_c"];
        let got: Vec<&str> = keys.iter().copied().filter(|k| m("foo*", k)).collect();
        assert_eq!(got, ["foo_a", "foo_b", "foo_c"]);
        // Long key matched by `*`-only patterns (GitHub issue #1208 test).
        assert!(m("*", "dlskeriewrioeuwqoirueioqwrueoqwrueqw"));
        assert!(m("**", "dlskeriewrioeuwqoirueioqwrueoqwrueqw"));
    }

    #[test]
    fn keyspace_tcl_long_nested_loops_regression() {
        let pat = "a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*b";
        assert!(!m(pat, &"a".repeat(40)));
        assert!(m(pat, &format!("{}b", "a".repeat(40))));
    }

    #[test]
    fn pathological_patterns_are_fast() {
        let s = "a".repeat(10_000);
        let start = std::time::Instant::now();
        assert!(!m("*a*a*a*a*a*a*a*a*b", &s));
        let long_pat = format!("{}b", "*a".repeat(5000));
        assert!(!m(&long_pat, &s));
        assert!(m(&long_pat, &format!("{s}b")));
        assert!(start.elapsed() < std::time::Duration::from_secs(5));
    }

    #[test]
    fn wildcards() {
        assert!(m("h?llo", "hello"));
        assert!(m("h?llo", "hallo"));
        assert!(!m("h?llo", "hllo"));
        assert!(m("h*llo", "hllo"));
        assert!(m("h*llo", "heeeello"));
        assert!(m("*", "x"));
        assert!(
            !m("*", ""),
            "Redis callers special-case `*` for the empty key"
        );
        assert!(m("", ""));
        assert!(!m("", "a"));
        assert!(!m("a", ""));
        assert!(m("a*", "a"));
        assert!(m("a**", "a"));
        assert!(m("*b*", "abc"));
        assert!(!m("*b*", "acd"));
        assert!(m("a*b*c", "aXbYc"));
        assert!(!m("a*b*c", "aXbYcd"));
        assert!(m("*c", "abcabc"));
        assert!(m("*abc", "ababc"));
    }

    #[test]
    fn classes() {
        assert!(m("h[ae]llo", "hello"));
        assert!(m("h[ae]llo", "hallo"));
        assert!(!m("h[ae]llo", "hillo"));
        assert!(m("h[^e]llo", "hallo"));
        assert!(!m("h[^e]llo", "hello"));
        assert!(m("h[a-b]llo", "hbllo"));
        assert!(m("h[b-a]llo", "hallo"), "reversed range");
        assert!(!m("h[a-b]llo", "hcllo"));
        assert!(m("[\\]]", "]"));
        assert!(m("[\\-]", "-"));
        assert!(m("[a\\-z]", "-"));
        assert!(!m("[a\\-z]", "b"));
        // `[]` is an empty class (never matches), not a class holding `]`.
        assert!(!m("[]]", "]"));
        assert!(!m("[]a]", "a"));
        assert!(!m("[]a]", "]a]"));
        assert!(m("[^]a", "xa"), "`[^]` matches any byte");
    }

    #[test]
    fn unterminated_and_odd_classes() {
        // Unterminated class matches one byte against what it has.
        assert!(m("[a", "a"));
        assert!(!m("[a", "b"));
        assert!(!m("[", "a"));
        assert!(m("[^", "a"));
        assert!(
            !m("a[", "a"),
            "a pattern tail left when the string ends fails"
        );
        assert!(!m("a[b", "a"));
        // `[a-]` is a range `a`..`]`, so the `]` does not close the class.
        assert!(m("[a-]", "^"));
        assert!(m("[a-]", "a"));
        assert!(!m("[a-]", "b"));
        assert!(!m("[a-]x", "ax"), "class swallowed the rest of the pattern");
        // Escape as the last byte of a class pattern.
        assert!(m("[\\", "\\"));
    }

    #[test]
    fn escapes() {
        assert!(m("\\*", "*"));
        assert!(!m("\\*", "a"));
        assert!(m("\\?", "?"));
        assert!(!m("\\?", "a"));
        assert!(m("a\\", "a\\"), "trailing backslash is literal");
        assert!(m("\\\\", "\\"));
        assert!(m("\\a", "a"));
    }

    #[test]
    fn nocase() {
        assert!(mi("HELLO", "hello"));
        assert!(mi("h[A-Z]llo", "hello"));
        assert!(!m("h[A-Z]llo", "hello"));
        assert!(mi("h[^A-Z]llo", "h1llo"));
        assert!(mi("[E]", "e"));
        assert!(!mi("[\\E]", "e"), "escaped class member ignores nocase");
        assert!(mi("\\E", "e"), "escape outside a class honours nocase");
        assert!(!mi("\u{e9}", "\u{c9}"), "ASCII-only folding");
    }

    #[test]
    fn signed_char_ranges() {
        // 'a'..0xff: 0xff is -1 as a C char, so the range is -1..='a'.
        let pat = b"[a-\xff]";
        assert!(string_match(pat, b"A", false));
        assert!(string_match(pat, b"\xff", false));
        assert!(!string_match(pat, b"b", false));
        assert!(!string_match(pat, b"\x80", false));
        assert!(string_match(b"[\x80-\xff]", b"\x90", false));
    }

    #[test]
    fn embedded_nul_bytes() {
        assert!(string_match(b"a\0*", b"a\0bc", false));
        assert!(!string_match(b"a\0", b"a", false));
        assert!(string_match(b"[\0]", b"\0", false));
    }

    /// Straightforward transcription of Redis's recursive algorithm (with
    /// the skip flag), used as a model for the iterative version.
    fn model(pattern: &[u8], string: &[u8], nocase: bool) -> bool {
        fn go(
            pat: &[u8],
            mut p: usize,
            st: &[u8],
            mut s: usize,
            nc: bool,
            skip: &mut bool,
        ) -> bool {
            let at = |i: usize| pat.get(i).copied().unwrap_or(0);
            while p < pat.len() && s < st.len() {
                match pat[p] {
                    b'*' => {
                        while at(p + 1) == b'*' {
                            p += 1;
                        }
                        if pat.len() - p == 1 {
                            return true;
                        }
                        while s < st.len() {
                            if go(pat, p + 1, st, s, nc, skip) {
                                return true;
                            }
                            if *skip {
                                return false;
                            }
                            s += 1;
                        }
                        *skip = true;
                        return false;
                    }
                    b'?' => s += 1,
                    b'[' => {
                        p += 1;
                        let not = at(p) == b'^';
                        if not {
                            p += 1;
                        }
                        let mut hit = false;
                        loop {
                            let rem = pat.len() - p;
                            if at(p) == b'\\' && rem >= 2 {
                                p += 1;
                                hit |= at(p) == st[s];
                            } else if at(p) == b']' {
                                break;
                            } else if rem == 0 {
                                p -= 1;
                                break;
                            } else if rem >= 3 && at(p + 1) == b'-' {
                                let (mut a, mut b) = (signed(at(p)), signed(at(p + 2)));
                                let mut c = signed(st[s]);
                                if a > b {
                                    std::mem::swap(&mut a, &mut b);
                                }
                                if nc {
                                    a = c_tolower(a);
                                    b = c_tolower(b);
                                    c = c_tolower(c);
                                }
                                p += 2;
                                hit |= c >= a && c <= b;
                            } else {
                                hit |= eq_byte(at(p), st[s], nc);
                            }
                            p += 1;
                        }
                        if hit == not {
                            return false;
                        }
                        s += 1;
                    }
                    c => {
                        let mut c = c;
                        if c == b'\\' && pat.len() - p >= 2 {
                            p += 1;
                            c = at(p);
                        }
                        if !eq_byte(c, st[s], nc) {
                            return false;
                        }
                        s += 1;
                    }
                }
                p += 1;
                if s == st.len() {
                    while at(p) == b'*' {
                        p += 1;
                    }
                    break;
                }
            }
            p == pat.len() && s == st.len()
        }
        let mut skip = false;
        go(pattern, 0, string, 0, nocase, &mut skip)
    }

    fn pat_strategy() -> impl Strategy<Value = Vec<u8>> {
        proptest::collection::vec(
            prop_oneof![
                Just(b'*'),
                Just(b'?'),
                Just(b'['),
                Just(b']'),
                Just(b'^'),
                Just(b'-'),
                Just(b'\\'),
                Just(b'a'),
                Just(b'b'),
                Just(b'A'),
                Just(0xe9u8),
            ],
            0..12,
        )
    }

    fn str_strategy() -> impl Strategy<Value = Vec<u8>> {
        proptest::collection::vec(
            prop_oneof![
                Just(b'a'),
                Just(b'b'),
                Just(b'A'),
                Just(b'-'),
                Just(b']'),
                Just(b'*'),
                Just(0xe9u8),
            ],
            0..10,
        )
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(10_000))]
        #[test]
        fn iterative_equals_recursive_model(p in pat_strategy(), s in str_strategy(), nc in any::<bool>()) {
            prop_assert_eq!(string_match(&p, &s, nc), model(&p, &s, nc));
        }
    }

    // -------- differential test against a real redis-server --------

    use std::io::{BufRead, BufReader, Read, Write};
    use std::net::TcpStream;
    use std::process::{Child, Command, Stdio};

    /// A throwaway `redis-server` on a free port, killed on drop.
    pub(crate) struct RedisServer {
        child: Child,
        pub(crate) port: u16,
    }

    impl RedisServer {
        pub(crate) fn start() -> RedisServer {
            let port = std::net::TcpListener::bind("127.0.0.1:0")
                .and_then(|l| l.local_addr())
                .map(|a| a.port())
                .expect("free port");
            // Owned by the guard right away so every path kills and reaps it.
            let server = Command::new("redis-server")
                .args([
                    "--port",
                    &port.to_string(),
                    "--save",
                    "",
                    "--appendonly",
                    "no",
                ])
                .stdout(Stdio::null())
                .spawn()
                .map(|child| RedisServer { child, port })
                .expect("spawn redis-server");
            for _ in 0..100 {
                if TcpStream::connect(("127.0.0.1", port)).is_ok() {
                    return server;
                }
                std::thread::sleep(std::time::Duration::from_millis(50));
            }
            panic!("redis-server did not start");
        }
    }

    impl Drop for RedisServer {
        fn drop(&mut self) {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }

    /// Minimal RESP2 client, enough for these tests.
    pub(crate) struct Client {
        r: BufReader<TcpStream>,
        w: TcpStream,
    }

    #[derive(Debug, PartialEq)]
    pub(crate) enum Reply {
        Status(String),
        Error(String),
        Int(i64),
        Bulk(Option<Vec<u8>>),
        Array(Vec<Reply>),
    }

    impl Client {
        pub(crate) fn connect(port: u16) -> Client {
            let w = TcpStream::connect(("127.0.0.1", port)).expect("connect");
            let r = BufReader::new(w.try_clone().expect("clone"));
            Client { r, w }
        }

        pub(crate) fn cmd(&mut self, args: &[&[u8]]) -> Reply {
            let mut buf = format!("*{}\r\n", args.len()).into_bytes();
            for a in args {
                buf.extend_from_slice(format!("${}\r\n", a.len()).as_bytes());
                buf.extend_from_slice(a);
                buf.extend_from_slice(b"\r\n");
            }
            self.w.write_all(&buf).expect("write");
            self.read()
        }

        fn line(&mut self) -> String {
            let mut l = String::new();
            self.r.read_line(&mut l).expect("read");
            l.trim_end_matches("\r\n").to_string()
        }

        fn read(&mut self) -> Reply {
            let l = self.line();
            let (t, rest) = l.split_at(1);
            match t {
                "+" => Reply::Status(rest.to_string()),
                "-" => Reply::Error(rest.to_string()),
                ":" => Reply::Int(rest.parse().expect("int")),
                "$" => {
                    let n: i64 = rest.parse().expect("len");
                    if n < 0 {
                        return Reply::Bulk(None);
                    }
                    let mut v = vec![0u8; n as usize + 2];
                    self.r.read_exact(&mut v).expect("bulk");
                    v.truncate(n as usize);
                    Reply::Bulk(Some(v))
                }
                "*" => {
                    let n: i64 = rest.parse().expect("count");
                    Reply::Array((0..n.max(0)).map(|_| self.read()).collect())
                }
                other => panic!("unexpected reply type {other}"),
            }
        }
    }

    /// Tiny deterministic PRNG so a failure can be replayed from its seed.
    pub(crate) struct Rng(pub(crate) u64);

    impl Rng {
        pub(crate) fn next(&mut self) -> u64 {
            self.0 ^= self.0 << 13;
            self.0 ^= self.0 >> 7;
            self.0 ^= self.0 << 17;
            self.0
        }
        pub(crate) fn below(&mut self, n: u64) -> u64 {
            self.next() % n
        }
    }

    #[test]
    #[ignore = "needs a real redis-server binary"]
    fn differential_against_redis_keys() {
        let server = RedisServer::start();
        let mut c = Client::connect(server.port);
        let seed = std::env::var("GLOB_SEED")
            .ok()
            .and_then(|s| s.parse().ok())
            .unwrap_or(0x9e37_79b9_7f4a_7c15u64);
        eprintln!("GLOB_SEED={seed}");
        let mut rng = Rng(seed);
        let pat_alphabet: &[u8] = b"*?[]^-\\aAbB\xe9\xc9\x00";
        let str_alphabet: &[u8] = b"aAbB-]^*\\\xe9\xc9\x00";
        let mut checked = 0usize;
        for _round in 0..300 {
            c.cmd(&[b"FLUSHALL"]);
            let mut keys = Vec::new();
            for _ in 0..40 {
                let len = rng.below(7) as usize;
                let k: Vec<u8> = (0..len)
                    .map(|_| str_alphabet[rng.below(str_alphabet.len() as u64) as usize])
                    .collect();
                c.cmd(&[b"SET", &k, b"1"]);
                keys.push(k);
            }
            keys.sort();
            keys.dedup();
            for _ in 0..40 {
                let len = rng.below(9) as usize;
                let pat: Vec<u8> = (0..len)
                    .map(|_| pat_alphabet[rng.below(pat_alphabet.len() as u64) as usize])
                    .collect();
                if pat == b"*" {
                    continue; // KEYS short-circuits this pattern.
                }
                let Reply::Array(items) = c.cmd(&[b"KEYS", &pat]) else {
                    panic!("KEYS reply");
                };
                let mut got: Vec<Vec<u8>> = items
                    .into_iter()
                    .map(|r| match r {
                        Reply::Bulk(Some(b)) => b,
                        other => panic!("{other:?}"),
                    })
                    .collect();
                got.sort();
                let want: Vec<Vec<u8>> = keys
                    .iter()
                    .filter(|k| string_match(&pat, k, false))
                    .cloned()
                    .collect();
                assert_eq!(got, want, "pattern {:?}", String::from_utf8_lossy(&pat));
                checked += 1;
            }
        }
        // nocase matching is observable through COMMAND LIST FILTERBY
        // PATTERN, which matches every command's full name ("config|get").
        let bulks = |r: Reply| -> Vec<Vec<u8>> {
            let Reply::Array(items) = r else {
                panic!("COMMAND LIST reply");
            };
            let mut v: Vec<Vec<u8>> = items
                .into_iter()
                .filter_map(|r| match r {
                    Reply::Bulk(Some(b)) => Some(b),
                    _ => None,
                })
                .collect();
            v.sort();
            v
        };
        let names = bulks(c.cmd(&[b"COMMAND", b"LIST"]));
        assert!(names.len() > 200);
        let ci_alphabet: &[u8] = b"*?[]^-\\cCoOnNfFgG|eEtT";
        let mut nonempty = 0;
        for _ in 0..2000 {
            let pat: Vec<u8> = if rng.below(2) == 0 {
                let len = 1 + rng.below(8) as usize;
                (0..len)
                    .map(|_| ci_alphabet[rng.below(ci_alphabet.len() as u64) as usize])
                    .collect()
            } else {
                // A real name, mutated: case flips, wildcards, classes.
                let name = &names[rng.below(names.len() as u64) as usize];
                let mut pat = Vec::new();
                for &ch in name {
                    match rng.below(10) {
                        0 => pat.push(ch.to_ascii_uppercase()),
                        1 => pat.push(b'?'),
                        2 => pat.push(b'*'),
                        3 => pat.extend_from_slice(&[
                            b'[',
                            ch.to_ascii_uppercase(),
                            b'-',
                            b'z',
                            b']',
                        ]),
                        4 => pat.extend_from_slice(&[b'[', b'^', ch, b']']),
                        _ => pat.push(ch),
                    }
                }
                pat
            };
            let got = bulks(c.cmd(&[b"COMMAND", b"LIST", b"FILTERBY", b"PATTERN", &pat]));
            let want: Vec<Vec<u8>> = names
                .iter()
                .filter(|n| string_match(&pat, n, true))
                .cloned()
                .collect();
            assert_eq!(
                got,
                want,
                "nocase pattern {:?}",
                String::from_utf8_lossy(&pat)
            );
            nonempty += usize::from(!want.is_empty());
            checked += 1;
        }
        assert!(
            nonempty > 300,
            "too few nocase patterns matched anything: {nonempty}"
        );
        eprintln!("checked {checked} patterns against redis-server");
    }
}
