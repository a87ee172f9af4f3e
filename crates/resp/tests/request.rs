//! The request parser against Redis 7.0's networking.c rules: error strings,
//! limits, inline quoting (tests/unit/protocol.tcl and sdssplitargs), and
//! incremental parsing.

use bytes::{Bytes, BytesMut};
use ferrodis_resp::request::{Limits, ProtocolError, RequestParser, PROTO_INLINE_MAX_SIZE};
use ferrodis_resp::split_args;

type Parsed = Result<Vec<Vec<Vec<u8>>>, ProtocolError>;

/// Feed `input` in one go; return every command parsed before input ran out
/// or the first error.
fn parse_all_with(input: &[u8], limits: &Limits) -> (Vec<Vec<Vec<u8>>>, Option<ProtocolError>) {
    let mut p = RequestParser::new();
    let mut buf = BytesMut::from(input);
    let mut cmds = Vec::new();
    loop {
        match p.parse(&mut buf, limits) {
            Ok(Some(args)) => cmds.push(args.iter().map(|a| a.to_vec()).collect()),
            Ok(None) => return (cmds, None),
            Err(e) => return (cmds, Some(e)),
        }
    }
}

fn parse_all(input: &[u8]) -> (Vec<Vec<Vec<u8>>>, Option<ProtocolError>) {
    parse_all_with(input, &Limits::default())
}

fn first_error(input: &[u8], limits: &Limits) -> String {
    match parse_all_with(input, limits).1 {
        Some(e) => e.redis_message(),
        None => panic!("no error for {:?}", String::from_utf8_lossy(input)),
    }
}

fn cmd(args: &[&str]) -> Vec<Vec<u8>> {
    args.iter().map(|a| a.as_bytes().to_vec()).collect()
}

fn ok_cmds(input: &[u8]) -> Parsed {
    match parse_all(input) {
        (cmds, None) => Ok(cmds),
        (_, Some(e)) => Err(e),
    }
}

#[test]
fn multibulk_basic() {
    assert_eq!(
        ok_cmds(b"*3\r\n$3\r\nSET\r\n$3\r\nkey\r\n$5\r\nvalue\r\n*1\r\n$4\r\nPING\r\n"),
        Ok(vec![cmd(&["SET", "key", "value"]), cmd(&["PING"])])
    );
    // Binary-safe payloads, empty arguments.
    assert_eq!(
        ok_cmds(b"*2\r\n$0\r\n\r\n$4\r\na\r\n\0\r\n"),
        Ok(vec![vec![b"".to_vec(), b"a\r\n\0".to_vec()]])
    );
}

#[test]
fn empty_requests_are_skipped() {
    // protocol.tcl "Handle an empty query" and "Negative multibulk length".
    assert_eq!(
        ok_cmds(b"\r\n*1\r\n$4\r\nPING\r\n"),
        Ok(vec![cmd(&["PING"])])
    );
    assert_eq!(ok_cmds(b"*-10\r\nPING\r\n"), Ok(vec![cmd(&["PING"])]));
    assert_eq!(
        ok_cmds(b"*0\r\n*-1\r\n \t \n\nPING\n"),
        Ok(vec![cmd(&["PING"])])
    );
}

#[test]
fn protocol_tcl_errors() {
    let l = Limits::default();
    let cases: &[(&[u8], &str)] = &[
        (
            b"*3000000000\r\n",
            "ERR Protocol error: invalid multibulk length",
        ),
        (
            b"*3\r\n$3\r\nSET\r\n$1\r\nx\r\nfooz\r\n",
            "ERR Protocol error: expected '$', got 'f'",
        ),
        (
            b"*3\r\n$3\r\nSET\r\n$1\r\nx\r\n$-10\r\n",
            "ERR Protocol error: invalid bulk length",
        ),
        (
            b"*3\r\n$3\r\nSET\r\n$1\r\nx\r\n$2000000000\r\n",
            "ERR Protocol error: invalid bulk length",
        ),
        (
            b"*3\r\n$3\r\nSET\r\n$1\r\nx\r\n$blabla\r\n",
            "ERR Protocol error: invalid bulk length",
        ),
        (
            b"*1\r\nfoo\r\n",
            "ERR Protocol error: expected '$', got 'f'",
        ),
        (
            b"set \"\"\"test-key\"\"\" test-value\r\nping\r\n",
            "ERR Protocol error: unbalanced quotes in request",
        ),
    ];
    for (input, want) in cases {
        assert_eq!(
            first_error(input, &l),
            *want,
            "{:?}",
            String::from_utf8_lossy(input)
        );
    }
}

#[test]
fn length_syntax_is_string2ll() {
    let l = Limits::default();
    for bad in [
        &b"*\r\n"[..],
        b"*+1\r\n",
        b"*01\r\n",
        b"*1 \r\n",
        b"*-0\r\n",
        b"*2147483648\r\n",
    ] {
        assert_eq!(
            first_error(bad, &l),
            "ERR Protocol error: invalid multibulk length",
            "{:?}",
            String::from_utf8_lossy(bad)
        );
    }
    // INT_MAX itself is accepted (and waits for its arguments).
    assert_eq!(parse_all(b"*2147483647\r\n"), (vec![], None));
    for bad in [&b"$\r\n"[..], b"$+1\r\n", b"$01\r\n", b"$-1\r\n"] {
        let mut input = b"*1\r\n".to_vec();
        input.extend_from_slice(bad);
        assert_eq!(
            first_error(&input, &l),
            "ERR Protocol error: invalid bulk length"
        );
    }
}

#[test]
fn proto_max_bulk_len() {
    let l = Limits {
        proto_max_bulk_len: 10,
        authenticated: true,
    };
    assert_eq!(
        parse_all_with(b"*1\r\n$10\r\n0123456789\r\n", &l).0,
        vec![cmd(&["0123456789"])]
    );
    assert_eq!(
        first_error(b"*1\r\n$11\r\n", &l),
        "ERR Protocol error: invalid bulk length"
    );
    let master = Limits {
        proto_max_bulk_len: u64::MAX,
        authenticated: true,
    };
    assert_eq!(
        parse_all_with(b"*1\r\n$9223372036854775807\r\n", &master),
        (vec![], None)
    );
}

#[test]
fn unauthenticated_limits() {
    let l = Limits {
        authenticated: false,
        ..Limits::default()
    };
    // tests/unit/auth.tcl: "*100" and a 100000-byte bulk.
    assert_eq!(
        first_error(b"*100\r\n", &l),
        "ERR Protocol error: unauthenticated multibulk length"
    );
    assert_eq!(
        first_error(b"*1\r\n$100000000\r\n", &l),
        "ERR Protocol error: unauthenticated bulk length"
    );
    // The limits are inclusive and come after the validity checks.
    assert_eq!(parse_all_with(b"*10\r\n", &l), (vec![], None));
    assert_eq!(parse_all_with(b"*1\r\n$16384\r\n", &l), (vec![], None));
    assert_eq!(
        first_error(b"*1\r\n$16385\r\n", &l),
        "ERR Protocol error: unauthenticated bulk length"
    );
    assert_eq!(
        first_error(b"*3000000000\r\n", &l),
        "ERR Protocol error: invalid multibulk length"
    );
    assert_eq!(
        first_error(b"*1\r\n$-5\r\n", &l),
        "ERR Protocol error: invalid bulk length"
    );
    // Empty and negative counts are fine before AUTH.
    assert_eq!(
        parse_all_with(b"*-100\r\nPING\r\n", &l).0,
        vec![cmd(&["PING"])]
    );
}

#[test]
fn too_big_lines() {
    let l = Limits::default();
    let mut inline = vec![b'a'; PROTO_INLINE_MAX_SIZE];
    assert_eq!(
        parse_all(&inline),
        (vec![], None),
        "exactly the limit still waits"
    );
    inline.push(b'a');
    assert_eq!(
        first_error(&inline, &l),
        "ERR Protocol error: too big inline request"
    );

    let mut mbulk = b"*".to_vec();
    mbulk.resize(PROTO_INLINE_MAX_SIZE + 1, b'1');
    assert_eq!(
        first_error(&mbulk, &l),
        "ERR Protocol error: too big mbulk count string"
    );

    let mut bulk = b"*1\r\n$".to_vec();
    bulk.resize(PROTO_INLINE_MAX_SIZE + 5, b'1');
    assert_eq!(
        first_error(&bulk, &l),
        "ERR Protocol error: too big bulk count string"
    );

    // A long inline line is accepted when its newline is already there.
    let mut long = vec![b'x'; PROTO_INLINE_MAX_SIZE * 2];
    long.push(b'\n');
    assert_eq!(
        ok_cmds(&long).map(|c| c[0][0].len()),
        Ok(PROTO_INLINE_MAX_SIZE * 2)
    );
}

#[test]
fn nul_bytes_hide_line_ends_like_strchr() {
    // protocol.tcl "Protocol desync regression test": "\x00", "*\x00", "$\x00"
    // followed by data without a newline end in a "too big" error.
    let l = Limits::default();
    for (prefix, want) in [
        (&b"\x00"[..], "ERR Protocol error: too big inline request"),
        (b"*\x00", "ERR Protocol error: too big mbulk count string"),
        (b"$\x00", "ERR Protocol error: too big inline request"),
    ] {
        let mut input = prefix.to_vec();
        // Line ends after the NUL are not seen.
        input.extend_from_slice(b"\r\n");
        assert_eq!(parse_all(&input), (vec![], None));
        input.resize(PROTO_INLINE_MAX_SIZE + 10, b'A');
        assert_eq!(first_error(&input, &l), want);
    }
}

#[test]
fn expected_dollar_byte_is_sanitized() {
    let l = Limits::default();
    assert_eq!(
        first_error(b"*1\r\n\r\n", &l),
        "ERR Protocol error: expected '$', got ' '"
    );
    assert_eq!(
        first_error(b"*1\r\n\n\r\n", &l),
        "ERR Protocol error: expected '$', got ' '"
    );
    let e = parse_all(b"*1\r\n\xff\r\n").1.expect("error");
    assert_eq!(e, ProtocolError::ExpectedDollar { got: 0xff });
    assert_eq!(
        e.redis_message_bytes(),
        b"ERR Protocol error: expected '$', got '\xff'".to_vec()
    );
}

#[test]
fn crlf_after_lengths_and_payloads_is_not_checked() {
    // Redis skips two bytes blindly; so do we.
    assert_eq!(ok_cmds(b"*1\rX$3\rYfooZZ"), Ok(vec![cmd(&["foo"])]));
}

#[test]
fn inline_quoting() {
    let cases: &[(&[u8], Option<&[&str]>)] = &[
        (b"set a b", Some(&["set", "a", "b"])),
        (b"  set   a\tb  ", Some(&["set", "a", "b"])),
        (b"set \"a b\" 'c d'", Some(&["set", "a b", "c d"])),
        (
            b"\"\\x41\\x4a\\x4A\\n\\r\\t\\b\\a\\\\\\\"\\q\"",
            Some(&["AJJ\n\r\t\u{8}\u{7}\\\"q"]),
        ),
        (b"\"\\x4\" \"\\xZZ\"", Some(&["x4", "xZZ"])),
        (b"'it\\'s' 'a\\nb'", Some(&["it's", "a\\nb"])),
        (b"a\"b c\"d", None),
        (b"a\"b c\" d", Some(&["ab c", "d"])),
        (b"\"\" ''", Some(&["", ""])),
        (b"\"a\"b", None),
        (b"'a'b", None),
        (b"\"abc", None),
        (b"'abc", None),
        (b"\"abc\\\"", None),
        (b"\"a\"\x0bb", Some(&["a", "b"])),
        (b"a\x0bb", Some(&["a\x0bb"])),
        (b"a\rb", Some(&["a", "b"])),
        (b"", Some(&[])),
        (b" \t ", Some(&[])),
        (b"a b\0c d", Some(&["a", "b"])),
    ];
    for (line, want) in cases {
        let want: Option<Vec<Vec<u8>>> = want.map(cmd);
        assert_eq!(
            split_args(line),
            want,
            "{:?}",
            String::from_utf8_lossy(line)
        );
    }
}

#[test]
fn inline_line_endings() {
    assert_eq!(
        ok_cmds(b"set a b\nget a\r\n\"x y\"\r\n"),
        Ok(vec![
            cmd(&["set", "a", "b"]),
            cmd(&["get", "a"]),
            cmd(&["x y"])
        ])
    );
    // Only the `\r` right before `\n` is dropped; one elsewhere separates args.
    assert_eq!(ok_cmds(b"a\rb\r\r\n"), Ok(vec![cmd(&["a", "b"])]));
    // Incomplete inline waits.
    assert_eq!(parse_all(b"set a"), (vec![], None));
}

#[test]
fn partial_state_survives_between_calls() {
    let l = Limits::default();
    let mut p = RequestParser::new();
    let mut buf = BytesMut::from(&b"*2\r\n$3\r\nGET\r\n$5\r\nhel"[..]);
    assert_eq!(p.parse(&mut buf, &l), Ok(None));
    assert!(p.in_progress());
    // The complete argument was consumed already; the partial one was not.
    assert_eq!(&buf[..], b"hel");
    buf.extend_from_slice(b"lo\r\n*1");
    assert_eq!(
        p.parse(&mut buf, &l),
        Ok(Some(vec![
            Bytes::from_static(b"GET"),
            Bytes::from_static(b"hello")
        ]))
    );
    assert!(!p.in_progress());
    assert_eq!(&buf[..], b"*1");
}

#[test]
fn big_argument_reserves_its_payload() {
    let l = Limits::default();
    let mut p = RequestParser::new();
    let mut buf = BytesMut::from(&b"*1\r\n$1000000\r\nxx"[..]);
    assert_eq!(p.parse(&mut buf, &l), Ok(None));
    assert!(buf.capacity() >= 1_000_002);
    let ptr = buf.as_ptr();
    buf.extend_from_slice(&vec![b'x'; 999_998]);
    buf.extend_from_slice(b"\r\n");
    assert_eq!(
        buf.as_ptr(),
        ptr,
        "no reallocation while the payload arrives"
    );
    let args = p.parse(&mut buf, &l).unwrap().unwrap();
    assert_eq!(args[0].len(), 1_000_000);
    assert_eq!(
        args[0].as_ptr(),
        ptr,
        "argument is a zero-copy view of the read buffer"
    );
}

#[test]
fn messages_for_every_variant() {
    let all = [
        (
            ProtocolError::InvalidMultibulkLength,
            "ERR Protocol error: invalid multibulk length",
        ),
        (
            ProtocolError::InvalidBulkLength,
            "ERR Protocol error: invalid bulk length",
        ),
        (
            ProtocolError::ExpectedDollar { got: b'x' },
            "ERR Protocol error: expected '$', got 'x'",
        ),
        (
            ProtocolError::UnbalancedQuotes,
            "ERR Protocol error: unbalanced quotes in request",
        ),
        (
            ProtocolError::TooBigInlineRequest,
            "ERR Protocol error: too big inline request",
        ),
        (
            ProtocolError::TooBigMultibulkCount,
            "ERR Protocol error: too big mbulk count string",
        ),
        (
            ProtocolError::TooBigBulkCount,
            "ERR Protocol error: too big bulk count string",
        ),
        (
            ProtocolError::UnauthenticatedMultibulkLength,
            "ERR Protocol error: unauthenticated multibulk length",
        ),
        (
            ProtocolError::UnauthenticatedBulkLength,
            "ERR Protocol error: unauthenticated bulk length",
        ),
    ];
    for (e, want) in all {
        assert_eq!(e.redis_message(), want);
        assert_eq!(e.redis_message_bytes(), want.as_bytes());
    }
}
