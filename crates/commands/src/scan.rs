//! HSCAN, SSCAN and ZSCAN: cursor iteration over one collection (SCAN itself is in `keys`).
//!
//! As in Redis 7.0, the compact encodings (`listpack`, `intset`) return everything in one
//! call with cursor 0, whatever COUNT says; the `hashtable` hash and set walk their buckets
//! with Redis's reverse-binary cursor, and a `skiplist` sorted set walks its stable slab
//! positions, so every element present for the whole iteration is returned at least once.
//! MATCH filters fields (hashes) and members (sorted sets) and drops their values with them.
//!
//! Argument order of errors is Redis's: the cursor is checked first, then the key (a missing
//! key answers an empty scan without looking at the options), then its type, then options.

use crate::ctx::Ctx;
use crate::errors;
use crate::keys::{parse_cursor, parse_scan_opts, ScanOpts};
use crate::kv;
use crate::registry::{k, DataCommand};
use crate::reply::Reply;
use bytes::Bytes;
use ferrodis_ds::glob::string_match;
use ferrodis_ds::num;
use ferrodis_ds::value::{StrRef, Value};

/// This module's commands, merged into the registry.
pub static COMMANDS: &[DataCommand] = &[k("hscan", hscan), k("sscan", sscan), k("zscan", zscan)];

#[derive(Clone, Copy, PartialEq)]
enum Kind {
    Hash,
    Set,
    ZSet,
}

pub fn hscan(ctx: &mut Ctx<'_, '_>, argv: &[Bytes]) -> Reply {
    scan_collection(ctx, argv, Kind::Hash)
}

pub fn sscan(ctx: &mut Ctx<'_, '_>, argv: &[Bytes]) -> Reply {
    scan_collection(ctx, argv, Kind::Set)
}

pub fn zscan(ctx: &mut Ctx<'_, '_>, argv: &[Bytes]) -> Reply {
    scan_collection(ctx, argv, Kind::ZSet)
}

fn scan_reply(cursor: u64, items: Vec<Reply>) -> Reply {
    let mut b = itoa::Buffer::new();
    Reply::Array(vec![
        Reply::bulk_from_slice(b.format(cursor).as_bytes()),
        Reply::Array(items),
    ])
}

fn matches(opts: &ScanOpts, s: &[u8]) -> bool {
    opts.pattern
        .as_ref()
        .is_none_or(|p| string_match(p, s, false))
}

fn scan_collection(ctx: &mut Ctx<'_, '_>, argv: &[Bytes], kind: Kind) -> Reply {
    let cursor = match parse_cursor(&argv[2]) {
        Ok(c) => c,
        Err(e) => return e,
    };
    let Some(e) = kv::lookup_read(ctx, &argv[1]) else {
        return scan_reply(0, Vec::new());
    };
    let v = e.value();
    let type_ok = matches!(
        (kind, v),
        (Kind::Hash, Value::Hash(_)) | (Kind::Set, Value::Set(_)) | (Kind::ZSet, Value::ZSet(_))
    );
    if !type_ok {
        return errors::wrongtype();
    }
    let opts = match parse_scan_opts(argv, 3, false) {
        Ok(o) => o,
        Err(e) => return e,
    };
    let mut out = Vec::new();
    let next = match v {
        Value::Hash(h) => h.scan(cursor, opts.count, |f, val| {
            if matches(&opts, f) {
                out.push(Reply::bulk_from_slice(f));
                out.push(Reply::bulk_from_slice(val));
            }
        }),
        Value::Set(s) => s.scan(cursor, opts.count, |m| match m {
            StrRef::Bytes(b) => {
                if matches(&opts, b) {
                    out.push(Reply::bulk_from_slice(b));
                }
            }
            StrRef::Int(i) => {
                let mut buf = itoa::Buffer::new();
                let t = buf.format(i).as_bytes();
                if matches(&opts, t) {
                    out.push(Reply::bulk_from_slice(t));
                }
            }
        }),
        Value::ZSet(z) => {
            // A listpack holds each score as Redis's d2string text; the skiplist's scores
            // are formatted with `%.17Lg` when scanned.
            let listpack = z.encoding() == "listpack";
            let (next, entries) = z.scan(cursor, opts.count);
            for (m, score) in entries {
                if matches(&opts, m) {
                    out.push(Reply::bulk_from_slice(m));
                    let s = if listpack {
                        num::d2string(score)
                    } else {
                        num::fmt_g17(score)
                    };
                    out.push(Reply::bulk_from_slice(s.as_bytes()));
                }
            }
            next
        }
        _ => 0,
    };
    scan_reply(next, out)
}

#[cfg(test)]
mod tests {
    use crate::reply::Reply;
    use crate::sort::tests::{bulks, engine, hash, put, run, set, zset};
    use bytes::Bytes;
    use ferrodis_ds::value::Value;
    use std::collections::BTreeSet;

    fn parts(r: Reply) -> (String, Vec<Vec<u8>>) {
        let Reply::Array(v) = r else {
            panic!("not an array: {r:?}")
        };
        let [Reply::Bulk(c), Reply::Array(items)] = &v[..] else {
            panic!("bad scan reply {v:?}")
        };
        let items = items
            .iter()
            .map(|i| match i {
                Reply::Bulk(b) => b.to_vec(),
                other => panic!("not bulk {other:?}"),
            })
            .collect();
        (String::from_utf8_lossy(c).into_owned(), items)
    }

    #[test]
    fn compact_encodings_return_everything_at_once() {
        let e = engine();
        put(&e, b"h", hash(&[("a", "1"), ("b", "2")], false));
        assert_eq!(
            run(&e, &[b"hscan", b"h", b"0", b"count", b"1"]),
            Reply::Array(vec![Reply::bulk("0"), bulks(&["a", "1", "b", "2"])])
        );
        assert_eq!(
            run(&e, &[b"hscan", b"h", b"0", b"match", b"b*"]),
            Reply::Array(vec![Reply::bulk("0"), bulks(&["b", "2"])])
        );
        put(&e, b"s", set(&["3", "1", "20"]));
        assert_eq!(
            run(&e, &[b"sscan", b"s", b"0", b"match", b"*0"]),
            Reply::Array(vec![Reply::bulk("0"), bulks(&["20"])])
        );
        put(
            &e,
            b"z",
            zset(&[("a", 1.5), ("b", 1e17), ("c", 0.1)], false),
        );
        assert_eq!(
            run(&e, &[b"zscan", b"z", b"0"]),
            Reply::Array(vec![
                Reply::bulk("0"),
                bulks(&[
                    "c",
                    "0.10000000000000001",
                    "a",
                    "1.5",
                    "b",
                    "100000000000000000"
                ])
            ])
        );
    }

    #[test]
    fn skiplist_scores_use_g17() {
        let e = engine();
        put(&e, b"z", zset(&[("b", 1e17), ("c", 2.5e-5)], true));
        let (c, items) = parts(run(&e, &[b"zscan", b"z", b"0", b"count", b"100"]));
        assert_eq!(c, "0");
        let pairs: BTreeSet<(Vec<u8>, Vec<u8>)> = items
            .chunks(2)
            .map(|p| (p[0].clone(), p[1].clone()))
            .collect();
        let want: BTreeSet<(Vec<u8>, Vec<u8>)> = [("b", "1e+17"), ("c", "2.5000000000000001e-05")]
            .iter()
            .map(|(a, b)| (a.as_bytes().to_vec(), b.as_bytes().to_vec()))
            .collect();
        assert_eq!(pairs, want);
    }

    #[test]
    fn tables_iterate_to_completion() {
        let e = engine();
        let fields: Vec<(String, String)> = (0..1000)
            .map(|i| (format!("f{i}"), format!("v{i}")))
            .collect();
        let pairs: Vec<(&str, &str)> = fields
            .iter()
            .map(|(a, b)| (a.as_str(), b.as_str()))
            .collect();
        put(&e, b"h", hash(&pairs, true));
        let members: Vec<String> = (0..1000).map(|i| format!("m{i}")).collect();
        let refs: Vec<&str> = members.iter().map(String::as_str).collect();
        put(&e, b"s", set(&refs));
        let scored: Vec<(&str, f64)> = refs.iter().map(|m| (*m, 1.0)).collect();
        put(&e, b"z", zset(&scored, true));
        for (cmd, key, step) in [
            (&b"hscan"[..], &b"h"[..], 2),
            (b"sscan", b"s", 1),
            (b"zscan", b"z", 2),
        ] {
            let mut cursor = b"0".to_vec();
            let mut seen = BTreeSet::new();
            let mut calls = 0;
            loop {
                let (c, items) = parts(run(&e, &[cmd, key, &cursor, b"count", b"7"]));
                for it in items.chunks(step) {
                    seen.insert(it[0].clone());
                }
                calls += 1;
                if c == "0" {
                    break;
                }
                cursor = c.into_bytes();
            }
            assert_eq!(seen.len(), 1000, "{}", String::from_utf8_lossy(cmd));
            assert!(calls > 10, "a table is scanned in several calls");
        }
    }

    #[test]
    fn errors_in_redis_order() {
        let e = engine();
        put(&e, b"str", Value::from_bytes(b"x"));
        put(&e, b"s", set(&["a"]));
        assert_eq!(
            run(&e, &[b"sscan", b"s", b"x"]),
            Reply::err_static("ERR invalid cursor")
        );
        assert_eq!(
            run(&e, &[b"sscan", b"str", b"0", b"bad"]),
            crate::errors::wrongtype()
        );
        assert_eq!(
            run(&e, &[b"sscan", b"missing", b"0", b"bad"]),
            Reply::Array(vec![Reply::bulk("0"), Reply::Array(vec![])])
        );
        assert_eq!(
            run(&e, &[b"sscan", b"s", b"0", b"count", b"0"]),
            crate::errors::syntax()
        );
        assert_eq!(
            run(&e, &[b"sscan", b"s", b"0", b"count", b"x"]),
            crate::errors::not_integer()
        );
        assert_eq!(
            run(&e, &[b"sscan", b"s", b"0", b"type", b"set"]),
            crate::errors::syntax()
        );
        let _ = Bytes::new();
    }
}
