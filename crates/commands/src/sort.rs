//! SORT and SORT_RO over lists, sets and sorted sets.
//!
//! Semantics follow Redis 7.0's `sortCommandGeneric`:
//! - `BY` without `*` (e.g. `nosort`) means "don't sort": lists and sorted sets keep their own
//!   order (reversed by `DESC`) and `LIMIT` is applied while reading them; a set keeps its
//!   iteration order, except with `STORE` where it is sorted `ALPHA` so the stored list is the
//!   same on every replica. A `BY` without `*` stays in force even if a later `BY` has one.
//! - Numeric sorting parses each weight as C `strtod` does (leading spaces allowed, the text
//!   ends at a NUL byte, an empty string is 0, NaN and out-of-range values are errors); equal
//!   weights are ordered by the elements' bytes, so the output is deterministic.
//! - `ALPHA` compares C strings with `strcoll` (the server runs in the C locale: byte order up
//!   to the first NUL) when replying, and full binary strings when storing; elements without a
//!   `BY` weight sort first.
//! - Sorting a sorted set converts it to the `skiplist` encoding, as Redis does.
//! - Deliberate difference: Redis checks `errno == ERANGE` after `strtod` without clearing
//!   errno, so a stale ERANGE left by an earlier command (an overflowing SCAN cursor, an
//!   out-of-range weight) can make an unrelated numeric SORT fail; we fail only on a weight
//!   that is itself out of range.
//!
//! Patterns (`BY`/`GET`) name arbitrary keys, which may live in any shard, so both commands are
//! registered with every shard locked. Redis sorts with the C library's `qsort` (glibc: a
//! stable merge sort), and with its own partial quicksort when `BY` and `LIMIT` are combined;
//! we always use a stable sort, so the only possible difference is the relative order of
//! `ALPHA` elements with equal `BY` weights under `LIMIT`.

use crate::args::{eq_ic, i64_or_err};
use crate::coll;
use crate::ctx::Ctx;
use crate::engine::notify;
use crate::errors;
use crate::kv;
use crate::registry::{all, DataCommand};
use crate::reply::Reply;
use bytes::Bytes;
use ferrodis_ds::value::Value;
use std::cmp::Ordering;

/// This module's commands, merged into the registry.
pub static COMMANDS: &[DataCommand] = &[all("sort", sort), all("sort_ro", sort_ro)];

pub fn sort(ctx: &mut Ctx<'_, '_>, argv: &[Bytes]) -> Reply {
    sort_generic(ctx, argv, false)
}

pub fn sort_ro(ctx: &mut Ctx<'_, '_>, argv: &[Bytes]) -> Reply {
    sort_generic(ctx, argv, true)
}

/// Parsed SORT options.
struct Opts {
    desc: bool,
    alpha: bool,
    limit_start: i64,
    limit_count: i64,
    store: Option<Bytes>,
    by: Option<Bytes>,
    dontsort: bool,
    gets: Vec<Bytes>,
}

fn parse_opts(argv: &[Bytes], readonly: bool) -> Result<Opts, Reply> {
    let mut o = Opts {
        desc: false,
        alpha: false,
        limit_start: 0,
        limit_count: -1,
        store: None,
        by: None,
        dontsort: false,
        gets: Vec::new(),
    };
    let mut j = 2;
    while j < argv.len() {
        let left = argv.len() - j - 1;
        let a = &argv[j];
        if eq_ic(a, "asc") {
            o.desc = false;
        } else if eq_ic(a, "desc") {
            o.desc = true;
        } else if eq_ic(a, "alpha") {
            o.alpha = true;
        } else if eq_ic(a, "limit") && left >= 2 {
            o.limit_start = i64_or_err(&argv[j + 1])?;
            o.limit_count = i64_or_err(&argv[j + 2])?;
            j += 2;
        } else if !readonly && eq_ic(a, "store") && left >= 1 {
            o.store = Some(argv[j + 1].clone());
            j += 1;
        } else if eq_ic(a, "by") && left >= 1 {
            let p = &argv[j + 1];
            if !errors::c_str(p).contains(&b'*') {
                o.dontsort = true;
            }
            o.by = Some(p.clone());
            j += 1;
        } else if eq_ic(a, "get") && left >= 1 {
            o.gets.push(argv[j + 1].clone());
            j += 1;
        } else {
            return Err(errors::syntax());
        }
        j += 1;
    }
    Ok(o)
}

/// A compiled `BY`/`GET` pattern (Redis's lookupKeyByPattern rules).
enum Pattern<'a> {
    /// `#`: the element itself.
    Element,
    /// No `*` before the first NUL byte: never names a key.
    Nothing,
    /// `prefix*suffix`, or `prefix*suffix->field` for a hash field.
    Key {
        prefix: &'a [u8],
        suffix: &'a [u8],
        field: Option<&'a [u8]>,
    },
}

fn compile(p: &[u8]) -> Pattern<'_> {
    // The C code looks at the pattern as a C string for `#`, `*` and `->`, but copies the
    // field name and the suffix with the full length.
    if p.first() == Some(&b'#') && p.get(1).is_none_or(|&c| c == 0) {
        return Pattern::Element;
    }
    let c = errors::c_str(p);
    let Some(star) = c.iter().position(|&b| b == b'*') else {
        return Pattern::Nothing;
    };
    let rest = &c[star + 1..];
    let arrow = rest
        .windows(2)
        .position(|w| w == b"->")
        .map(|i| star + 1 + i)
        .filter(|&f| p.get(f + 2).is_some_and(|&b| b != 0));
    match arrow {
        Some(f) => Pattern::Key {
            prefix: &p[..star],
            suffix: &p[star + 1..f],
            field: Some(&p[f + 2..]),
        },
        None => Pattern::Key {
            prefix: &p[..star],
            suffix: &p[star + 1..],
            field: None,
        },
    }
}

/// The value a pattern names for element `elem`: a string key's value, a hash field, the
/// element itself, or `None`. Lookups count as reads (hits/misses, lazy expiry).
fn lookup_by_pattern(ctx: &mut Ctx<'_, '_>, pat: &Pattern<'_>, elem: &Bytes) -> Option<Bytes> {
    let (prefix, suffix, field) = match pat {
        Pattern::Element => return Some(elem.clone()),
        Pattern::Nothing => return None,
        Pattern::Key {
            prefix,
            suffix,
            field,
        } => (*prefix, *suffix, *field),
    };
    let mut key = Vec::with_capacity(prefix.len() + elem.len() + suffix.len());
    key.extend_from_slice(prefix);
    key.extend_from_slice(elem);
    key.extend_from_slice(suffix);
    let e = kv::lookup_read(ctx, &key)?;
    match (field, e.value()) {
        (Some(f), Value::Hash(h)) => h.get(f).map(Bytes::copy_from_slice),
        (Some(_), _) => None,
        (None, v) => kv::string_bytes(v),
    }
}

/// A weight as SORT parses it with C `strtod`: the text ends at the first NUL, leading
/// whitespace is skipped, an empty string is 0; trailing bytes, NaN and out-of-range values
/// (overflow, or underflow glibc reports as ERANGE) are errors.
fn sort_score(b: &[u8]) -> Option<f64> {
    let s = errors::c_str(b);
    if s.is_empty() {
        return Some(0.0);
    }
    let start = s
        .iter()
        .position(|c| !matches!(c, b' ' | b'\t' | b'\n' | 0x0b | 0x0c | b'\r'))
        .unwrap_or(s.len());
    let v = ferrodis_ds::num::string2d(&s[start..])?;
    // glibc sets ERANGE for results that underflow into the subnormal range.
    if v != 0.0 && v.is_subnormal() {
        return None;
    }
    Some(v)
}

/// `strcoll` in the C locale: byte order of the C strings (up to the first NUL).
fn coll(a: &[u8], b: &[u8]) -> Ordering {
    errors::c_str(a).cmp(errors::c_str(b))
}

/// One element to sort: its bytes, its numeric weight, its `ALPHA` weight from a pattern.
struct Item {
    elem: Bytes,
    score: f64,
    by: Option<Bytes>,
}

impl Item {
    fn new(elem: Bytes) -> Item {
        Item {
            elem,
            score: 0.0,
            by: None,
        }
    }
}

/// The elements of the value to sort, with LIMIT applied directly for the "don't sort" reads
/// of lists and sorted sets. Returns the items and the (start, end) output window over them.
fn load(v: &Value, o: &Opts, len: i64, start: i64, end: i64) -> (Vec<Item>, i64, i64) {
    let mut items = Vec::new();
    match v {
        Value::List(l) if o.dontsort => {
            if end >= start {
                let n = (end - start + 1) as usize;
                let (from, dir) = if o.desc {
                    ((len - start - 1) as usize, ferrodis_ds::list::End::Tail)
                } else {
                    (start as usize, ferrodis_ds::list::End::Head)
                };
                let mut it = l.iter_from(from, dir);
                items.reserve(n);
                while items.len() < n {
                    match it.next_entry() {
                        Some(e) => items.push(Item::new(Bytes::from(e.to_vec()))),
                        None => break,
                    }
                }
            }
            return (items, 0, end - start);
        }
        Value::List(l) => {
            items.reserve(l.len());
            let mut it = l.iter();
            while let Some(e) = it.next_entry() {
                items.push(Item::new(Bytes::from(e.to_vec())));
            }
        }
        Value::Set(s) => {
            items.extend(s.iter().map(|m| Item::new(Bytes::from(m.to_vec()))));
        }
        Value::ZSet(z) if o.dontsort => {
            if end >= start {
                items.extend(
                    z.range_by_rank(start, end, o.desc)
                        .map(|(m, _)| Item::new(Bytes::copy_from_slice(m))),
                );
            }
            return (items, 0, end - start);
        }
        Value::ZSet(z) => {
            items.extend(z.iter().map(|(m, _)| Item::new(Bytes::copy_from_slice(m))));
        }
        _ => {}
    }
    (items, start, end)
}

fn sort_generic(ctx: &mut Ctx<'_, '_>, argv: &[Bytes], readonly: bool) -> Reply {
    let mut o = match parse_opts(argv, readonly) {
        Ok(o) => o,
        Err(e) => return e,
    };
    // The value to sort (a missing key sorts as an empty list), read into the items to
    // sort before any pattern lookup borrows the keyspace again.
    let from_script = ctx.from_script;
    let (mut items, start, end) = match kv::lookup_read(ctx, &argv[1]) {
        None => (Vec::new(), 0, -1),
        Some(e) => {
            let v = e.value_mut();
            match v {
                Value::List(_) | Value::Set(_) => {}
                Value::ZSet(z) => z.convert_to_skiplist(),
                _ => return errors::wrongtype(),
            }
            // A set has no order of its own: sort it when the result is stored or goes to a
            // script, so every replica stores (or the script sees) the same list.
            if o.dontsort && matches!(v, Value::Set(_)) && (o.store.is_some() || from_script) {
                o.dontsort = false;
                o.alpha = true;
                o.by = None;
            }
            let len = match &*v {
                Value::List(l) => l.len(),
                Value::Set(s) => s.len(),
                Value::ZSet(z) => z.len(),
                _ => 0,
            } as i64;
            let mut start = o.limit_start.clamp(0, len);
            let count = o.limit_count.clamp(-1, len);
            let mut end = if count < 0 {
                len - 1
            } else {
                start + count - 1
            };
            if start >= len {
                start = len - 1;
                end = len - 2;
            }
            if end >= len {
                end = len - 1;
            }
            load(v, &o, len, start, end)
        }
    };

    let mut bad_score = false;
    if !o.dontsort {
        let by = o.by.as_ref().map(|p| compile(p));
        for it in items.iter_mut() {
            let w = match &by {
                Some(p) => match lookup_by_pattern(ctx, p, &it.elem) {
                    Some(w) => w,
                    None => continue,
                },
                None => it.elem.clone(),
            };
            if o.alpha {
                if by.is_some() {
                    it.by = Some(w);
                }
            } else {
                match sort_score(&w) {
                    Some(s) => it.score = s,
                    None => bad_score = true,
                }
            }
        }
        let (alpha, has_by, store, desc) = (o.alpha, by.is_some(), o.store.is_some(), o.desc);
        let cmp = |a: &Item, b: &Item| -> Ordering {
            let c = if !alpha {
                a.score
                    .partial_cmp(&b.score)
                    .unwrap_or(Ordering::Equal)
                    .then_with(|| a.elem.cmp(&b.elem))
            } else if has_by {
                match (&a.by, &b.by) {
                    (None, None) => Ordering::Equal,
                    (None, Some(_)) => Ordering::Less,
                    (Some(_), None) => Ordering::Greater,
                    (Some(x), Some(y)) if store => x.cmp(y),
                    (Some(x), Some(y)) => coll(x, y),
                }
            } else if store {
                a.elem.cmp(&b.elem)
            } else {
                coll(&a.elem, &b.elem)
            };
            if desc {
                c.reverse()
            } else {
                c
            }
        };
        items.sort_by(cmp);
    }

    if bad_score {
        return Reply::err_static("ERR One or more scores can't be converted into double");
    }
    let window: &[Item] = if end >= start {
        &items[start as usize..=(end as usize).min(items.len().saturating_sub(1))]
    } else {
        &[]
    };
    let gets: Vec<Pattern<'_>> = o.gets.iter().map(|p| compile(p)).collect();
    match &o.store {
        None => {
            let mut out = Vec::with_capacity(window.len() * gets.len().max(1));
            for it in window {
                if gets.is_empty() {
                    out.push(Reply::Bulk(it.elem.clone()));
                }
                for g in &gets {
                    out.push(match lookup_by_pattern(ctx, g, &it.elem) {
                        Some(v) => Reply::Bulk(v),
                        None => Reply::Null,
                    });
                }
            }
            Reply::Array(out)
        }
        Some(dst) => {
            let threshold = ctx.engine.settings.list_packed_threshold();
            let mut list = coll::new_list(ctx);
            for it in window {
                if gets.is_empty() {
                    list.push_back(&it.elem, threshold);
                }
                for g in &gets {
                    let v = lookup_by_pattern(ctx, g, &it.elem).unwrap_or_default();
                    list.push_back(&v, threshold);
                }
            }
            let n = list.len();
            if n > 0 {
                coll::store(ctx, dst, list);
                ctx.notify(notify::LIST, "sortstore", dst);
                ctx.dirty += n as u64;
            } else if kv::delete(ctx, dst) {
                ctx.notify(notify::GENERIC, "del", dst);
                ctx.dirty += 1;
            }
            Reply::Int(n as i64)
        }
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::ctx::Locks;
    use crate::Engine;
    use ferrodis_ds::hash::{Hash, HashLimits};
    use ferrodis_ds::set::Set;
    use ferrodis_ds::zset::{AddFlags, ZSet, ZSetLimits};

    /// Runs one data command with every shard locked, in database 0, RESP2.
    pub(crate) fn run(engine: &Engine, argv: &[&[u8]]) -> Reply {
        let argv: Vec<Bytes> = argv.iter().map(|a| Bytes::copy_from_slice(a)).collect();
        let name = String::from_utf8_lossy(&argv[0]).to_ascii_lowercase();
        let cmd = crate::registry::find(&name).expect("registered command");
        let mut locks = Locks::all(engine);
        let mut ctx = Ctx::new(engine, &mut locks, 0, 2);
        (cmd.run)(&mut ctx, &argv).normalized()
    }

    pub(crate) fn put(engine: &Engine, key: &[u8], v: Value) {
        let mut locks = Locks::all(engine);
        let mut ctx = Ctx::new(engine, &mut locks, 0, 2);
        kv::set_key(&mut ctx, key, v, false);
    }

    pub(crate) fn engine() -> Engine {
        Engine::new(16, 4).expect("engine")
    }

    pub(crate) fn list(engine: &Engine, items: &[&str]) -> Value {
        let mut l = engine.settings.new_list();
        for i in items {
            l.push_back(i.as_bytes(), usize::MAX);
        }
        Value::List(Box::new(l))
    }

    pub(crate) fn set(items: &[&str]) -> Value {
        let mut s = Set::new();
        for i in items {
            s.add(i.as_bytes(), 512);
        }
        Value::Set(Box::new(s))
    }

    pub(crate) fn zset(items: &[(&str, f64)], skiplist: bool) -> Value {
        let mut z = ZSet::new();
        for (m, s) in items {
            z.add(m.as_bytes(), *s, AddFlags::default(), ZSetLimits::default())
                .expect("add");
        }
        if skiplist {
            z.convert_to_skiplist();
        }
        Value::ZSet(Box::new(z))
    }

    pub(crate) fn hash(pairs: &[(&str, &str)], table: bool) -> Value {
        let mut h = Hash::new();
        for (f, v) in pairs {
            h.set(f.as_bytes(), v.as_bytes(), HashLimits::default());
        }
        if table {
            h.convert_to_table();
        }
        Value::Hash(Box::new(h))
    }

    pub(crate) fn bulks(items: &[&str]) -> Reply {
        Reply::Array(items.iter().map(|s| Reply::bulk(s.as_bytes())).collect())
    }

    fn s(v: &str) -> Value {
        Value::from_bytes(v.as_bytes())
    }

    #[test]
    fn numeric_alpha_desc_limit() {
        let e = engine();
        put(&e, b"l", list(&e, &["3", "10", "2", "1.5", "-1"]));
        assert_eq!(
            run(&e, &[b"SORT", b"l"]),
            bulks(&["-1", "1.5", "2", "3", "10"])
        );
        assert_eq!(
            run(&e, &[b"sort", b"l", b"desc"]),
            bulks(&["10", "3", "2", "1.5", "-1"])
        );
        assert_eq!(
            run(&e, &[b"sort", b"l", b"alpha"]),
            bulks(&["-1", "1.5", "10", "2", "3"])
        );
        assert_eq!(
            run(&e, &[b"sort", b"l", b"limit", b"1", b"2"]),
            bulks(&["1.5", "2"])
        );
        assert_eq!(run(&e, &[b"sort", b"l", b"limit", b"10", b"2"]), bulks(&[]));
        assert_eq!(
            run(&e, &[b"sort", b"l", b"limit", b"-5", b"-1"]),
            bulks(&["-1", "1.5", "2", "3", "10"])
        );
        assert_eq!(
            run(&e, &[b"sort", b"l", b"limit", b"x", b"1"]),
            errors::not_integer()
        );
    }

    #[test]
    fn bad_scores_and_syntax() {
        let e = engine();
        put(&e, b"s", set(&["1", "2", "x"]));
        assert_eq!(
            run(&e, &[b"sort", b"s"]),
            Reply::err_static("ERR One or more scores can't be converted into double")
        );
        assert_eq!(run(&e, &[b"sort", b"s", b"foo"]), errors::syntax());
        assert_eq!(
            run(&e, &[b"sort_ro", b"s", b"store", b"d"]),
            errors::syntax()
        );
        put(&e, b"str", s("v"));
        assert_eq!(run(&e, &[b"sort", b"str"]), errors::wrongtype());
        // Options are checked before the key's type.
        assert_eq!(run(&e, &[b"sort", b"str", b"bad"]), errors::syntax());
        assert_eq!(run(&e, &[b"sort", b"missing"]), bulks(&[]));
    }

    #[test]
    fn by_and_get_patterns() {
        let e = engine();
        put(&e, b"l", list(&e, &["a", "b", "c"]));
        put(&e, b"w_a", s("3"));
        put(&e, b"w_b", s("1"));
        put(&e, b"w_c", s("2"));
        put(&e, b"h_a", hash(&[("f", "x"), ("n", "30")], false));
        put(&e, b"h_b", hash(&[("f", "y"), ("n", "10")], true));
        assert_eq!(
            run(&e, &[b"sort", b"l", b"by", b"w_*"]),
            bulks(&["b", "c", "a"])
        );
        // Missing weights count as 0 and ties go by the element.
        assert_eq!(
            run(&e, &[b"sort", b"l", b"by", b"h_*->n"]),
            bulks(&["c", "b", "a"])
        );
        assert_eq!(
            run(&e, &[b"sort", b"l", b"by", b"h_*->f", b"alpha", b"desc"]),
            bulks(&["b", "a", "c"])
        );
        assert_eq!(
            run(
                &e,
                &[b"sort", b"l", b"by", b"w_*", b"get", b"#", b"get", b"h_*->f"]
            ),
            Reply::Array(vec![
                Reply::bulk("b"),
                Reply::bulk("y"),
                Reply::bulk("c"),
                Reply::Null,
                Reply::bulk("a"),
                Reply::bulk("x"),
            ])
        );
        // A GET pattern without `*` names nothing.
        assert_eq!(
            run(&e, &[b"sort", b"l", b"alpha", b"get", b"w_a"]),
            Reply::Array(vec![Reply::Null, Reply::Null, Reply::Null])
        );
        // A pattern ending in `->` is a plain key name.
        put(&e, b"x:a->", s("100"));
        assert_eq!(
            run(&e, &[b"sort", b"l", b"by", b"nosort", b"get", b"x:*->"]),
            Reply::Array(vec![Reply::bulk("100"), Reply::Null, Reply::Null])
        );
    }

    #[test]
    fn nosort_orders() {
        let e = engine();
        put(&e, b"l", list(&e, &["5", "3", "4", "1", "2"]));
        assert_eq!(
            run(&e, &[b"sort", b"l", b"by", b"nosort"]),
            bulks(&["5", "3", "4", "1", "2"])
        );
        assert_eq!(
            run(
                &e,
                &[b"sort", b"l", b"by", b"nosort", b"desc", b"limit", b"1", b"2"]
            ),
            bulks(&["1", "4"])
        );
        let z = [("a", 1.0), ("b", 5.0), ("c", 2.0), ("d", 10.0), ("e", 3.0)];
        put(&e, b"z", zset(&z, false));
        assert_eq!(
            run(&e, &[b"sort", b"z", b"by", b"nosort", b"desc"]),
            bulks(&["d", "b", "e", "c", "a"])
        );
        assert_eq!(
            run(&e, &[b"object", b"encoding", b"z"]),
            Reply::bulk("skiplist")
        );
        assert_eq!(
            run(&e, &[b"sort", b"z", b"by", b"nosort", b"limit", b"1", b"2"]),
            bulks(&["c", "e"])
        );
        assert_eq!(
            run(
                &e,
                &[b"sort", b"z", b"by", b"nosort", b"desc", b"limit", b"0", b"2"]
            ),
            bulks(&["d", "b"])
        );
        assert_eq!(
            run(
                &e,
                &[b"sort", b"z", b"by", b"nosort", b"limit", b"5", b"10"]
            ),
            bulks(&[])
        );
        // A set sorted by a constant into STORE is sorted ALPHA.
        put(&e, b"s", set(&["b", "aa", "c", "a"]));
        assert_eq!(
            run(&e, &[b"sort", b"s", b"by", b"_", b"store", b"d"]),
            Reply::Int(4)
        );
        let stored = {
            let mut locks = Locks::all(&e);
            let mut ctx = Ctx::new(&e, &mut locks, 0, 2);
            match kv::lookup(&mut ctx, b"d").map(|en| en.value().clone()) {
                Some(Value::List(l)) => l.to_vec(),
                other => panic!("not a list: {other:?}"),
            }
        };
        assert_eq!(
            stored,
            vec![b"a".to_vec(), b"aa".to_vec(), b"b".to_vec(), b"c".to_vec()]
        );
    }

    #[test]
    fn store_replaces_and_empty_deletes() {
        let e = engine();
        put(&e, b"src", list(&e, &["2", "1"]));
        put(&e, b"dst", s("old"));
        assert_eq!(run(&e, &[b"sort", b"src", b"store", b"dst"]), Reply::Int(2));
        assert_eq!(run(&e, &[b"type", b"dst"]), Reply::status("list"));
        assert_eq!(
            run(
                &e,
                &[b"sort", b"src", b"get", b"#", b"get", b"nokey_*", b"store", b"dst"]
            ),
            Reply::Int(4)
        );
        assert_eq!(
            run(
                &e,
                &[b"sort", b"src", b"limit", b"5", b"5", b"store", b"dst"]
            ),
            Reply::Int(0)
        );
        assert_eq!(run(&e, &[b"exists", b"dst"]), Reply::Int(0));
        assert_eq!(
            run(&e, &[b"sort", b"nothing", b"store", b"dst"]),
            Reply::Int(0)
        );
    }

    #[test]
    fn pattern_compile() {
        assert!(matches!(compile(b"#"), Pattern::Element));
        assert!(matches!(compile(b"#\0x"), Pattern::Element));
        assert!(matches!(compile(b"##"), Pattern::Nothing));
        assert!(matches!(compile(b"ab\0*"), Pattern::Nothing));
        match compile(b"k_*_x->f\0g") {
            Pattern::Key {
                prefix,
                suffix,
                field,
            } => {
                assert_eq!(prefix, b"k_");
                assert_eq!(suffix, b"_x");
                assert_eq!(field, Some(&b"f\0g"[..]));
            }
            _ => panic!("key pattern"),
        }
        match compile(b"k*->") {
            Pattern::Key { suffix, field, .. } => {
                assert_eq!(suffix, b"->");
                assert_eq!(field, None);
            }
            _ => panic!("key pattern"),
        }
    }

    #[test]
    fn strtod_rules() {
        assert_eq!(sort_score(b""), Some(0.0));
        assert_eq!(sort_score(b"  1.5"), Some(1.5));
        assert_eq!(sort_score(b"2\0junk"), Some(2.0));
        assert_eq!(sort_score(b"inf"), Some(f64::INFINITY));
        assert_eq!(sort_score(b"1 "), None);
        assert_eq!(sort_score(b" "), None);
        assert_eq!(sort_score(b"nan"), None);
        assert_eq!(sort_score(b"1e400"), None);
        assert_eq!(sort_score(b"abc"), None);
    }
}
