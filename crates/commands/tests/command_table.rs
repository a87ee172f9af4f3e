//! The command table and COMMAND replies against answers captured from a real
//! redis-server 7.0.15 (`gen/capture_fixtures.py`). Fixture replies are in a
//! canonical text form with Redis's prose replaced by placeholders; `render`
//! and `normalize` here mirror the script.

use bytes::Bytes;
use ferrodis_commands::introspect::command_cmd;
use ferrodis_commands::meta::{self, CommandMeta};
use ferrodis_commands::Reply;

const INFO: &str = include_str!("fixtures/command_info.txt");
const DOCS: &str = include_str!("fixtures/command_docs.txt");
const LIST: &str = include_str!("fixtures/command_list.txt");
const GETKEYS: &str = include_str!("fixtures/getkeys.txt");

fn every(_: &CommandMeta) -> bool {
    true
}

fn json_str(s: &[u8]) -> String {
    let mut out = String::from("\"");
    for &b in s {
        match b {
            b'"' => out.push_str("\\\""),
            b'\\' => out.push_str("\\\\"),
            b'\n' => out.push_str("\\n"),
            b'\r' => out.push_str("\\r"),
            b'\t' => out.push_str("\\t"),
            0x20..=0x7e => out.push(b as char),
            _ => out.push_str(&format!("\\u{:04x}", b)),
        }
    }
    out.push('"');
    out
}

fn render(r: &Reply) -> String {
    let list = |items: &[Reply]| items.iter().map(render).collect::<Vec<_>>().join(",");
    match r {
        Reply::Bulk(b) => json_str(b),
        Reply::Status(s) => format!("+{}", String::from_utf8_lossy(s)),
        Reply::Error(e) => format!("-{}", String::from_utf8_lossy(e)),
        Reply::Int(i) => format!(":{i}"),
        Reply::Null | Reply::NullArray => "_".into(),
        Reply::Array(v) => format!("[{}]", list(v)),
        Reply::Set(v) => format!("~[{}]", list(v)),
        Reply::Map(m) => format!(
            "%{{{}}}",
            m.iter()
                .map(|(k, v)| format!("{}:{}", render(k), render(v)))
                .collect::<Vec<_>>()
                .join(",")
        ),
        other => panic!("unexpected reply in COMMAND output: {other:?}"),
    }
}

/// Replace our prose by the fixture placeholders and sort hash-ordered parts.
fn normalize(r: Reply) -> Reply {
    match r {
        Reply::Array(v) => {
            let mut items: Vec<Reply> = v.into_iter().map(normalize).collect();
            let is_info = items.len() == 10
                && matches!(items[0], Reply::Bulk(_))
                && matches!(items[1], Reply::Int(_));
            if is_info {
                if let Reply::Array(subs) = &mut items[9] {
                    subs.sort_by_key(render);
                }
            }
            Reply::Array(items)
        }
        Reply::Set(v) => Reply::Set(v.into_iter().map(normalize).collect()),
        Reply::Map(m) => Reply::Map(
            m.into_iter()
                .map(|(k, v)| {
                    let key = match &k {
                        Reply::Bulk(b) => String::from_utf8_lossy(b).into_owned(),
                        _ => String::new(),
                    };
                    let v = match key.as_str() {
                        "summary" | "notes" => Reply::bulk(format!("<{key}>")),
                        "history" => match v {
                            Reply::Set(entries) => Reply::Set(
                                entries
                                    .into_iter()
                                    .map(|e| match e {
                                        Reply::Array(mut pair) if pair.len() == 2 => {
                                            pair[1] = Reply::bulk("<text>");
                                            Reply::Array(pair)
                                        }
                                        other => other,
                                    })
                                    .collect(),
                            ),
                            other => other,
                        },
                        "subcommands" => match normalize(v) {
                            Reply::Map(mut subs) => {
                                subs.sort_by_key(|(k, _)| render(k));
                                Reply::Map(subs)
                            }
                            other => other,
                        },
                        _ => normalize(v),
                    };
                    (normalize(k), v)
                })
                .collect(),
        ),
        other => other,
    }
}

fn run(args: &[&[u8]]) -> Reply {
    let argv: Vec<Bytes> = args.iter().map(|a| Bytes::copy_from_slice(a)).collect();
    command_cmd(&argv, &every)
}

fn fixture_lines(text: &str) -> impl Iterator<Item = Vec<&str>> {
    text.lines()
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .map(|l| l.split('\t').collect())
}

#[test]
fn command_info_matches_redis_for_every_command() {
    let mut seen = 0;
    for cols in fixture_lines(INFO) {
        let (name, expected) = (cols[0], cols[1]);
        let reply = run(&[b"COMMAND", b"INFO", name.as_bytes()]);
        let Reply::Array(mut entries) = reply else {
            panic!("{name}: not an array")
        };
        assert_eq!(entries.len(), 1);
        let got = render(&normalize(entries.remove(0)));
        assert_eq!(got, expected, "COMMAND INFO {name}");
        seen += 1;
    }
    // Every command Redis has outside Sentinel mode is in our table, and no more.
    assert_eq!(seen, 240);
    let ours = meta::all().filter(|c| !c.is_sentinel_only()).count();
    assert_eq!(ours, seen);
}

#[test]
fn command_docs_matches_redis_for_every_command() {
    for cols in fixture_lines(DOCS) {
        let (name, expected) = (cols[0], cols[1]);
        let reply = run(&[b"COMMAND", b"DOCS", name.as_bytes()]);
        let Reply::Map(mut entries) = reply else {
            panic!("{name}: not a map")
        };
        assert_eq!(entries.len(), 1, "{name}");
        let (key, value) = entries.remove(0);
        assert_eq!(key, Reply::bulk(name));
        assert_eq!(render(&normalize(value)), expected, "COMMAND DOCS {name}");
    }
}

#[test]
fn command_list_matches_redis() {
    let Reply::Array(names) = run(&[b"COMMAND", b"LIST"]) else {
        panic!("not an array")
    };
    let mut ours: Vec<String> = names
        .iter()
        .map(|r| match r {
            Reply::Bulk(b) => String::from_utf8_lossy(b).into_owned(),
            other => panic!("{other:?}"),
        })
        .collect();
    ours.sort();
    let theirs: Vec<&str> = LIST.lines().collect();
    assert_eq!(ours, theirs);
    assert_eq!(run(&[b"COMMAND", b"COUNT"]), Reply::Int(240));
}

#[test]
fn getkeys_matches_redis() {
    let mut failures = Vec::new();
    for cols in fixture_lines(GETKEYS) {
        let (case, want_keys, want_flags) = (cols[0], cols[1], cols[2]);
        let args: Vec<&[u8]> = case
            .split(' ')
            .map(|a| if a == "\"\"" { &b""[..] } else { a.as_bytes() })
            .collect();
        for (sub, want) in [
            (&b"GETKEYS"[..], want_keys),
            (b"GETKEYSANDFLAGS", want_flags),
        ] {
            let mut argv: Vec<&[u8]> = vec![b"COMMAND", sub];
            argv.extend(&args);
            let got = render(&run(&argv));
            if got != want {
                failures.push(format!(
                    "COMMAND {} {case}\n  ours:  {got}\n  redis: {want}",
                    String::from_utf8_lossy(sub)
                ));
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn info_reply_shape() {
    // [name, arity, flags, first, last, step, categories, tips, key specs, subcommands]
    let Reply::Array(entries) = run(&[
        b"COMMAND",
        b"INFO",
        b"get",
        b"nosuch",
        b"config|get",
        b"get|x",
    ]) else {
        panic!("not an array")
    };
    assert_eq!(entries.len(), 4);
    let Reply::Array(get) = &entries[0] else {
        panic!("get entry")
    };
    assert_eq!(get.len(), 10);
    assert_eq!(get[0], Reply::bulk("get"));
    assert_eq!(get[1], Reply::Int(2));
    assert_eq!(
        get[2],
        Reply::Set(vec![Reply::status("readonly"), Reply::status("fast")])
    );
    assert_eq!(&get[3..6], &[Reply::Int(1), Reply::Int(1), Reply::Int(1)]);
    assert_eq!(
        get[6],
        Reply::Set(vec![
            Reply::status("@read"),
            Reply::status("@string"),
            Reply::status("@fast")
        ])
    );
    assert_eq!(get[9], Reply::Set(vec![]));
    assert_eq!(entries[1], Reply::Null);
    assert!(matches!(&entries[2], Reply::Array(v) if v[0] == Reply::bulk("config|get")));
    assert_eq!(entries[3], Reply::Null);
}

#[test]
fn sentinel_mode_commands_match_redis_sentinel() {
    // In Sentinel mode Redis keeps only commands and subcommands flagged SENTINEL.
    let sentinel = |c: &CommandMeta| c.has_flag(meta::cmd_flags::SENTINEL);
    let info = include_str!("fixtures/sentinel_command_info.txt");
    let docs = include_str!("fixtures/sentinel_command_docs.txt");
    let mut names = Vec::new();
    for cols in fixture_lines(info) {
        let cmd = meta::lookup(cols[0].as_bytes()).expect("known command");
        let got = render(&normalize(ferrodis_commands::introspect::info_reply(
            cmd, &sentinel,
        )));
        assert_eq!(got, cols[1], "sentinel COMMAND INFO {}", cols[0]);
        names.push(cols[0]);
    }
    for cols in fixture_lines(docs) {
        let cmd = meta::lookup(cols[0].as_bytes()).expect("known command");
        let got = render(&normalize(ferrodis_commands::introspect::docs_reply(
            cmd, &sentinel,
        )));
        assert_eq!(got, cols[1], "sentinel COMMAND DOCS {}", cols[0]);
    }
    let ours: Vec<&str> = meta::all()
        .filter(|c| sentinel(c))
        .map(|c| c.name)
        .collect();
    assert_eq!(ours, names);
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[test]
fn exact_bytes_match_redis_in_resp2_and_resp3() {
    let raw = include_str!("fixtures/raw_replies.txt");
    for cols in fixture_lines(raw) {
        let (proto, line, want) = (cols[0], cols[1], cols[2]);
        let proto: u8 = proto.parse().expect("proto");
        let args: Vec<&[u8]> = line.split(' ').map(str::as_bytes).collect();
        let mut out = bytes::BytesMut::new();
        run(&args).encode(proto, &mut out);
        assert_eq!(hex(&out), want, "RESP{proto} {line}");
    }
}
