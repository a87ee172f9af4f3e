//! Unit, edge-case and model-based tests for the sorted set.

use std::cmp::Ordering;
use std::collections::{BTreeSet, HashMap};

use proptest::prelude::*;

use super::*;

const SMALL: ZSetLimits = ZSetLimits {
    max_listpack_entries: 6,
    max_listpack_value: 8,
};

fn add(z: &mut ZSet, m: &str, s: f64) -> AddOutcome {
    z.add(m.as_bytes(), s, AddFlags::default(), ZSetLimits::default())
        .unwrap()
}

fn members(r: ZRange<'_>) -> Vec<String> {
    r.map(|(m, _)| String::from_utf8_lossy(m).into_owned())
        .collect()
}

fn both_encodings() -> Vec<ZSet> {
    let mut big = ZSet::new();
    big.convert_to_skiplist();
    vec![ZSet::new(), big]
}

#[test]
fn add_flags_follow_zsetadd() {
    for mut z in both_encodings() {
        let l = ZSetLimits::default();
        let f = |nx, xx, gt, lt, incr| AddFlags {
            nx,
            xx,
            gt,
            lt,
            incr,
        };
        assert_eq!(
            z.add(b"a", 1.0, f(false, true, false, false, false), l),
            Ok(AddOutcome::Skipped)
        );
        assert_eq!(
            z.add(b"a", 1.0, f(false, false, true, false, false), l),
            Ok(AddOutcome::Added(1.0))
        );
        assert_eq!(
            z.add(b"a", 5.0, f(true, false, false, false, false), l),
            Ok(AddOutcome::Skipped)
        );
        assert_eq!(
            z.add(b"a", 0.5, f(false, false, true, false, false), l),
            Ok(AddOutcome::Skipped)
        );
        assert_eq!(
            z.add(b"a", 1.0, f(false, false, true, false, false), l),
            Ok(AddOutcome::Skipped)
        );
        assert_eq!(
            z.add(b"a", 3.0, f(false, false, true, false, false), l),
            Ok(AddOutcome::Updated(3.0))
        );
        assert_eq!(
            z.add(b"a", 4.0, f(false, false, false, true, false), l),
            Ok(AddOutcome::Skipped)
        );
        assert_eq!(
            z.add(b"a", 2.0, f(false, true, false, true, false), l),
            Ok(AddOutcome::Updated(2.0))
        );
        assert_eq!(
            z.add(b"a", 2.0, AddFlags::default(), l),
            Ok(AddOutcome::Unchanged(2.0))
        );
        assert_eq!(
            z.add(b"a", 1.5, f(false, false, false, false, true), l),
            Ok(AddOutcome::Updated(3.5))
        );
        // INCR with GT that would lower the score is skipped (ZADD replies nil).
        assert_eq!(
            z.add(b"a", -1.0, f(false, false, true, false, true), l),
            Ok(AddOutcome::Skipped)
        );
        assert_eq!(z.score(b"a"), Some(3.5));
        assert_eq!(
            z.add(b"b", 2.0, f(false, false, false, false, true), l),
            Ok(AddOutcome::Added(2.0))
        );
        assert_eq!(
            z.add(b"i", f64::INFINITY, AddFlags::default(), l),
            Ok(AddOutcome::Added(f64::INFINITY))
        );
        assert_eq!(
            z.add(
                b"i",
                f64::NEG_INFINITY,
                f(false, false, false, false, true),
                l
            ),
            Err(ZSetError::NanScore)
        );
        assert_eq!(
            z.add(b"n", f64::NAN, AddFlags::default(), l),
            Err(ZSetError::NanScore)
        );
        assert_eq!(z.score(b"i"), Some(f64::INFINITY));
        assert_eq!(z.len(), 3);
        assert!(AddOutcome::Added(1.0).changed() && AddOutcome::Updated(1.0).changed());
        assert!(!AddOutcome::Unchanged(1.0).changed() && !AddOutcome::Skipped.changed());
        assert_eq!(
            ZSetError::NanScore.to_string(),
            "resulting score is not a number (NaN)"
        );
    }
}

#[test]
fn negative_zero_is_kept_and_equal_to_zero() {
    for mut z in both_encodings() {
        let packed = z.encoding() == "listpack";
        // ZADD replies with the computed score either way.
        assert!(matches!(add(&mut z, "a", -0.0), AddOutcome::Added(s) if s.is_sign_negative()));
        // Redis 7.0: the listpack stores "-0" as the integer 0, the skiplist keeps -0.
        assert!(z
            .score(b"a")
            .is_some_and(|s| s == 0.0 && s.is_sign_negative() != packed));
        // Same value: unchanged, the stored score stays (Redis's `score != curscore` test).
        assert_eq!(add(&mut z, "a", 0.0), AddOutcome::Unchanged(0.0));
        assert!(z
            .score(b"a")
            .is_some_and(|s| s.is_sign_negative() != packed));
        add(&mut z, "b", 0.0);
        add(&mut z, "0", 0.0);
        // -0 and 0 tie, so members order bytewise.
        assert_eq!(members(z.iter()), ["0", "a", "b"]);
        assert_eq!(z.count_in_score_range(&ScoreRange::inclusive(0.0, 0.0)), 3);
    }
}

#[test]
fn conversion_thresholds() {
    let l = ZSetLimits {
        max_listpack_entries: 3,
        max_listpack_value: 4,
    };
    let mut z = ZSet::new();
    for m in ["a", "b", "c"] {
        z.add(m.as_bytes(), 1.0, AddFlags::default(), l).unwrap();
    }
    assert_eq!(z.encoding(), "listpack");
    // Updating existing members never converts.
    z.add(b"a", 9.0, AddFlags::default(), l).unwrap();
    assert_eq!(z.encoding(), "listpack");
    z.add(b"d", 1.0, AddFlags::default(), l).unwrap();
    assert_eq!(z.encoding(), "skiplist");
    // Never back on removal.
    z.remove(b"d");
    z.remove(b"c");
    assert_eq!(z.encoding(), "skiplist");
    z.convert_to_listpack_if_fits(l);
    assert_eq!(z.encoding(), "listpack");
    assert_eq!(members(z.iter()), ["b", "a"]);

    let mut z = ZSet::new();
    z.add(b"abcd", 1.0, AddFlags::default(), l).unwrap();
    assert_eq!(z.encoding(), "listpack");
    z.add(b"abcde", 1.0, AddFlags::default(), l).unwrap();
    assert_eq!(z.encoding(), "skiplist");
    z.convert_to_listpack_if_fits(l);
    assert_eq!(z.encoding(), "skiplist");
    // XX on a missing member does not convert.
    let mut z = ZSet::new();
    let xx = AddFlags {
        xx: true,
        ..AddFlags::default()
    };
    assert_eq!(z.add(b"abcdefgh", 1.0, xx, l), Ok(AddOutcome::Skipped));
    assert_eq!(z.encoding(), "listpack");

    assert_eq!(ZSet::for_first_member(5, l).encoding(), "skiplist");
    assert_eq!(ZSet::for_first_member(4, l).encoding(), "listpack");
    let zero = ZSetLimits {
        max_listpack_entries: 0,
        max_listpack_value: 64,
    };
    assert_eq!(ZSet::for_first_member(1, zero).encoding(), "skiplist");
    assert_eq!(ZSet::with_size_hint(3, 4, l).encoding(), "listpack");
    assert_eq!(ZSet::with_size_hint(4, 4, l).encoding(), "skiplist");
}

#[test]
fn rank_ranges_normalise_like_redis() {
    for mut z in both_encodings() {
        for (i, m) in ["a", "b", "c", "d", "e"].iter().enumerate() {
            add(&mut z, m, i as f64);
        }
        assert_eq!(
            members(z.range_by_rank(0, -1, false)),
            ["a", "b", "c", "d", "e"]
        );
        assert_eq!(members(z.range_by_rank(-2, -1, false)), ["d", "e"]);
        assert_eq!(members(z.range_by_rank(-100, 1, false)), ["a", "b"]);
        assert_eq!(members(z.range_by_rank(3, 100, false)), ["d", "e"]);
        assert!(members(z.range_by_rank(5, 10, false)).is_empty());
        assert!(members(z.range_by_rank(3, 2, false)).is_empty());
        assert!(members(z.range_by_rank(-1, -2, false)).is_empty());
        assert_eq!(members(z.range_by_rank(0, 1, true)), ["e", "d"]);
        assert_eq!(members(z.range_by_rank(-2, -1, true)), ["b", "a"]);
        assert_eq!(
            members(z.range_by_rank(i64::MIN, i64::MAX, true)),
            ["e", "d", "c", "b", "a"]
        );
        assert_eq!(z.rank(b"b", false), Some(1));
        assert_eq!(z.rank(b"b", true), Some(3));
        assert_eq!(z.rank(b"zz", false), None);
        assert_eq!(z.remove_range_by_rank(-2, -1), 2);
        assert_eq!(z.remove_range_by_rank(5, 9), 0);
        assert_eq!(members(z.iter()), ["a", "b", "c"]);
    }
}

#[test]
fn score_ranges_and_limit() {
    for mut z in both_encodings() {
        add(&mut z, "ninf", f64::NEG_INFINITY);
        add(&mut z, "a", 1.0);
        add(&mut z, "b", 1.5);
        add(&mut z, "c", 2.0);
        add(&mut z, "inf", f64::INFINITY);
        let r = |a: &str, b: &str| ScoreRange::parse(a.as_bytes(), b.as_bytes()).unwrap();
        assert_eq!(
            members(z.range_by_score(&r("-inf", "+inf"), false, 0, -1)),
            ["ninf", "a", "b", "c", "inf"]
        );
        assert_eq!(
            members(z.range_by_score(&r("(1", "2"), false, 0, -1)),
            ["b", "c"]
        );
        assert_eq!(
            members(z.range_by_score(&r("1", "(2"), false, 0, -1)),
            ["a", "b"]
        );
        assert_eq!(
            members(z.range_by_score(&r("(-inf", "(inf"), false, 0, -1)),
            ["a", "b", "c"]
        );
        assert_eq!(
            members(z.range_by_score(&r("1", "2"), true, 0, -1)),
            ["c", "b", "a"]
        );
        assert_eq!(
            members(z.range_by_score(&r("-inf", "inf"), false, 1, 2)),
            ["a", "b"]
        );
        assert_eq!(
            members(z.range_by_score(&r("-inf", "inf"), true, 1, 2)),
            ["c", "b"]
        );
        assert_eq!(
            members(z.range_by_score(&r("-inf", "inf"), false, 3, -5)),
            ["c", "inf"]
        );
        assert!(members(z.range_by_score(&r("-inf", "inf"), false, -1, 2)).is_empty());
        assert!(members(z.range_by_score(&r("-inf", "inf"), false, 9, 2)).is_empty());
        assert!(members(z.range_by_score(&r("-inf", "inf"), false, 0, 0)).is_empty());
        assert!(members(z.range_by_score(&r("2", "1"), false, 0, -1)).is_empty());
        assert!(members(z.range_by_score(&r("(1", "1"), false, 0, -1)).is_empty());
        assert_eq!(z.count_in_score_range(&r("1", "2")), 3);
        assert_eq!(z.count_in_score_range(&r("(1", "(2")), 1);
        assert_eq!(z.count_in_score_range(&r("inf", "inf")), 1);
        assert_eq!(z.remove_range_by_score(&r("(1", "inf")), 3);
        assert_eq!(members(z.iter()), ["ninf", "a"]);
    }
}

#[test]
fn lex_ranges() {
    for mut z in both_encodings() {
        for m in ["a", "b", "c", "d", "e", "ee"] {
            add(&mut z, m, 0.0);
        }
        let r = |a: &str, b: &str| LexRange::parse(a.as_bytes(), b.as_bytes()).unwrap();
        assert_eq!(
            members(z.range_by_lex(&r("-", "+"), false, 0, -1)),
            ["a", "b", "c", "d", "e", "ee"]
        );
        assert_eq!(
            members(z.range_by_lex(&r("[b", "(d"), false, 0, -1)),
            ["b", "c"]
        );
        assert_eq!(
            members(z.range_by_lex(&r("(b", "[d"), false, 0, -1)),
            ["c", "d"]
        );
        assert_eq!(
            members(z.range_by_lex(&r("[e", "+"), true, 0, -1)),
            ["ee", "e"]
        );
        assert_eq!(
            members(z.range_by_lex(&r("-", "+"), true, 1, 2)),
            ["e", "d"]
        );
        assert!(members(z.range_by_lex(&r("+", "-"), false, 0, -1)).is_empty());
        assert!(members(z.range_by_lex(&r("-", "-"), false, 0, -1)).is_empty());
        assert!(members(z.range_by_lex(&r("+", "+"), false, 0, -1)).is_empty());
        assert!(members(z.range_by_lex(&r("[d", "[c"), false, 0, -1)).is_empty());
        assert_eq!(members(z.range_by_lex(&r("[", "(b"), false, 0, -1)), ["a"]);
        assert_eq!(z.count_in_lex_range(&r("(a", "[e")), 4);
        assert_eq!(z.remove_range_by_lex(&r("[c", "+")), 4);
        assert_eq!(members(z.iter()), ["a", "b"]);
    }
}

#[test]
fn range_parsers_match_redis() {
    let ok = |a: &[u8]| ScoreRange::parse(a, b"0").map(|r| (r.min, r.min_exclusive));
    assert_eq!(ok(b"1.5"), Ok((1.5, false)));
    assert_eq!(ok(b"(1.5"), Ok((1.5, true)));
    assert_eq!(ok(b"-inf"), Ok((f64::NEG_INFINITY, false)));
    assert_eq!(ok(b"+inf"), Ok((f64::INFINITY, false)));
    assert_eq!(ok(b"(+inf"), Ok((f64::INFINITY, true)));
    assert_eq!(ok(b"-Infinity"), Ok((f64::NEG_INFINITY, false)));
    // strtod quirks that zslParseRange inherits.
    assert_eq!(ok(b"  2"), Ok((2.0, false)));
    assert_eq!(ok(b"(\t2"), Ok((2.0, true)));
    assert_eq!(ok(b""), Ok((0.0, false)));
    assert_eq!(ok(b"("), Ok((0.0, true)));
    assert_eq!(ok(b"1e400"), Ok((f64::INFINITY, false)));
    assert_eq!(ok(b"-1e400"), Ok((f64::NEG_INFINITY, false)));
    assert_eq!(ok(b"1e-400"), Ok((0.0, false)));
    assert_eq!(ok(b"0x10"), Ok((16.0, false)));
    assert_eq!(ok(b"3\0junk"), Ok((3.0, false)));
    for bad in [
        &b"nan"[..],
        b"(nan",
        b"-nan",
        b"NaN",
        b"1 ",
        b"abc",
        b"1.5x",
        b"  ",
        b"((1",
        b"[1",
        b"--1",
    ] {
        assert_eq!(
            ScoreRange::parse(bad, b"1"),
            Err(ZSetError::InvalidScoreRange),
            "{:?}",
            bad
        );
        assert_eq!(
            ScoreRange::parse(b"1", bad),
            Err(ZSetError::InvalidScoreRange),
            "{:?}",
            bad
        );
    }
    assert_eq!(
        ZSetError::InvalidScoreRange.to_string(),
        "min or max is not a float"
    );

    assert_eq!(LexBound::parse(b"-"), Ok(LexBound::NegInf));
    assert_eq!(LexBound::parse(b"+"), Ok(LexBound::PosInf));
    assert_eq!(LexBound::parse(b"+\0x"), Ok(LexBound::PosInf));
    assert_eq!(
        LexBound::parse(b"[a b"),
        Ok(LexBound::Inclusive(b"a b".to_vec()))
    );
    assert_eq!(
        LexBound::parse(b"(a\0"),
        Ok(LexBound::Exclusive(b"a\0".to_vec()))
    );
    assert_eq!(LexBound::parse(b"["), Ok(LexBound::Inclusive(Vec::new())));
    for bad in [&b""[..], b"a", b"+a", b"-a", b"++", b" [a"] {
        assert_eq!(
            LexBound::parse(bad),
            Err(ZSetError::InvalidLexRange),
            "{:?}",
            bad
        );
    }
    assert_eq!(
        ZSetError::InvalidLexRange.to_string(),
        "min or max not valid string range item"
    );
}

#[test]
fn pop_and_random() {
    for mut z in both_encodings() {
        for (i, m) in ["a", "b", "c", "d", "e"].iter().enumerate() {
            add(&mut z, m, i as f64);
        }
        let mut seed = 0x9e3779b97f4a7c15u64;
        let mut rng = move || {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            seed
        };
        let picks = z.random_with_replacement(50, &mut rng);
        assert_eq!(picks.len(), 50);
        assert!(picks.iter().all(|(m, s)| z.score(m) == Some(*s)));
        let d = z.random_distinct(3, &mut rng);
        let set: HashSet<&[u8]> = d.iter().map(|(m, _)| *m).collect();
        assert_eq!((d.len(), set.len()), (3, 3));
        assert_eq!(z.random_distinct(10, &mut rng).len(), 5);
        assert!(z.random_member(&mut rng).is_some());

        let p = z.pop(false, 2);
        assert_eq!(p, vec![(b"a".to_vec(), 0.0), (b"b".to_vec(), 1.0)]);
        let p = z.pop(true, 2);
        assert_eq!(p, vec![(b"e".to_vec(), 4.0), (b"d".to_vec(), 3.0)]);
        assert_eq!(z.pop(true, 10).len(), 1);
        assert!(z.is_empty());
        assert!(z.pop(false, 1).is_empty());
        assert!(z.random_member(&mut rng).is_none());
        assert!(z.random_with_replacement(3, &mut rng).is_empty());
    }
}

#[test]
fn pack_score_encoding_roundtrips() {
    let mut z = ZSet::new();
    let scores = [
        0.0,
        -0.0,
        1.0,
        -1.0,
        1e15,
        9007199254740992.0,
        9007199254740994.0,
        -9007199254740994.0,
        0.1,
        f64::MAX,
        f64::MIN_POSITIVE,
        5e-324,
        f64::INFINITY,
        f64::NEG_INFINITY,
        -123456789.0,
    ];
    for (i, s) in scores.iter().enumerate() {
        z.add(
            format!("m{i}").as_bytes(),
            *s,
            AddFlags::default(),
            ZSetLimits {
                max_listpack_entries: 100,
                max_listpack_value: 64,
            },
        )
        .unwrap();
    }
    assert_eq!(z.encoding(), "listpack");
    for (i, s) in scores.iter().enumerate() {
        assert_eq!(
            z.score(format!("m{i}").as_bytes()).map(f64::to_bits),
            Some(if *s == 0.0 {
                0.0f64.to_bits()
            } else {
                s.to_bits()
            })
        );
    }
}

#[test]
fn scan_returns_every_stable_member() {
    let mut z = ZSet::new();
    z.convert_to_skiplist();
    let l = ZSetLimits::default();
    for i in 0..1000 {
        z.add(format!("k{i}").as_bytes(), i as f64, AddFlags::default(), l)
            .unwrap();
    }
    let mut seen = HashSet::new();
    let mut cursor = 0;
    let mut step = 0;
    loop {
        let (next, items) = z.scan(cursor, 37);
        seen.extend(items.iter().map(|(m, _)| m.to_vec()));
        // Mutate between calls: remove odd members above 500 and add new ones.
        step += 1;
        z.remove(format!("k{}", 501 + 2 * step).as_bytes());
        z.add(format!("new{step}").as_bytes(), 0.5, AddFlags::default(), l)
            .unwrap();
        if next == 0 {
            break;
        }
        cursor = next;
    }
    for i in (0..1000).filter(|i| *i <= 500 || i % 2 == 0) {
        assert!(seen.contains(format!("k{i}").as_bytes()), "k{i} missing");
    }
}

// ---- model-based tests ----

#[derive(Clone, Copy, Debug, PartialEq)]
struct Score(f64);
impl Eq for Score {}
impl PartialOrd for Score {
    fn partial_cmp(&self, o: &Self) -> Option<Ordering> {
        Some(self.cmp(o))
    }
}
impl Ord for Score {
    fn cmp(&self, o: &Self) -> Ordering {
        self.0.partial_cmp(&o.0).unwrap_or(Ordering::Equal)
    }
}

#[derive(Default)]
struct Model {
    order: BTreeSet<(Score, Vec<u8>)>,
    map: HashMap<Vec<u8>, f64>,
}

impl Model {
    fn sorted(&self) -> Vec<(Vec<u8>, f64)> {
        self.order.iter().map(|(s, m)| (m.clone(), s.0)).collect()
    }
    fn insert(&mut self, m: &[u8], s: f64) {
        if let Some(old) = self.map.insert(m.to_vec(), s) {
            self.order.remove(&(Score(old), m.to_vec()));
        }
        self.order.insert((Score(s), m.to_vec()));
    }
    fn remove(&mut self, m: &[u8]) -> Option<f64> {
        let old = self.map.remove(m)?;
        self.order.remove(&(Score(old), m.to_vec()));
        Some(old)
    }
}

#[derive(Debug, Clone)]
enum Op {
    Add(Vec<u8>, f64, AddFlags),
    Remove(Vec<u8>),
    Rank(Vec<u8>, bool),
    ByRank(i64, i64, bool),
    ByScore(ScoreRange, bool, i64, i64),
    RemRank(i64, i64),
    RemScore(ScoreRange),
    Pop(bool, usize),
    Get(usize),
}

fn score_strategy() -> impl Strategy<Value = f64> {
    prop_oneof![
        Just(f64::NEG_INFINITY),
        Just(f64::INFINITY),
        Just(-0.0),
        Just(0.0),
        Just(0.5),
        (-20i32..20).prop_map(f64::from),
        any::<f64>().prop_filter("not nan", |f| !f.is_nan()),
    ]
}

fn member_strategy() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        8 => (0u8..120).prop_map(|i| format!("m{i}").into_bytes()),
        1 => (0u8..5).prop_map(|i| format!("long-member-{i}-xxxxxxxxxxxx").into_bytes()),
        1 => Just(Vec::new()),
    ]
}

fn range_strategy() -> impl Strategy<Value = ScoreRange> {
    (
        score_strategy(),
        score_strategy(),
        any::<bool>(),
        any::<bool>(),
    )
        .prop_map(|(a, b, ea, eb)| ScoreRange {
            min: a.min(b),
            max: a.max(b),
            min_exclusive: ea,
            max_exclusive: eb,
        })
}

fn op_strategy() -> impl Strategy<Value = Op> {
    let flags = (any::<u8>()).prop_map(|b| AddFlags {
        nx: b & 1 != 0 && b & 2 == 0,
        xx: b & 2 != 0 && b & 1 == 0 && b & 32 != 0,
        gt: b & 4 != 0,
        lt: b & 8 != 0 && b & 4 == 0,
        incr: b & 16 != 0,
    });
    prop_oneof![
        10 => (member_strategy(), score_strategy(), flags).prop_map(|(m, s, f)| Op::Add(m, s, f)),
        3 => member_strategy().prop_map(Op::Remove),
        2 => (member_strategy(), any::<bool>()).prop_map(|(m, r)| Op::Rank(m, r)),
        2 => (-50i64..50, -50i64..50, any::<bool>()).prop_map(|(a, b, r)| Op::ByRank(a, b, r)),
        2 => (range_strategy(), any::<bool>(), -2i64..10, -2i64..10).prop_map(|(r, rev, o, c)| Op::ByScore(r, rev, o, c)),
        1 => (-20i64..20, -20i64..20).prop_map(|(a, b)| Op::RemRank(a, b)),
        1 => range_strategy().prop_map(Op::RemScore),
        1 => (any::<bool>(), 0usize..5).prop_map(|(m, c)| Op::Pop(m, c)),
        1 => (0usize..60).prop_map(Op::Get),
    ]
}

fn model_rank_range(len: usize, start: i64, end: i64) -> Option<(usize, usize)> {
    let l = len as i64;
    let s = if start < 0 { (start + l).max(0) } else { start };
    let e = if end < 0 { end + l } else { end };
    if s > e || s >= l {
        return None;
    }
    Some((s as usize, e.min(l - 1) as usize + 1))
}

fn check_same(z: &ZSet, model: &Model) {
    let got: Vec<(Vec<u8>, u64)> = z.iter().map(|(m, s)| (m.to_vec(), s.to_bits())).collect();
    let want: Vec<(Vec<u8>, u64)> = model
        .sorted()
        .into_iter()
        .map(|(m, s)| (m, s.to_bits()))
        .collect();
    assert_eq!(got, want);
    assert_eq!(z.len(), model.map.len());
    if let Repr::Large(l) = &z.repr {
        l.check();
    }
    let copy = z.clone();
    assert_eq!(copy.encoding(), z.encoding());
    assert!(copy
        .iter()
        .zip(z.iter())
        .all(|(a, b)| a.0 == b.0 && a.1.to_bits() == b.1.to_bits()));
    assert_eq!(copy.len(), z.len());
}

/// The score as the encoding stores it: a listpack turns -0 into 0 (as Redis's does).
fn stored(s: f64, skiplist: bool) -> f64 {
    if !skiplist && s == 0.0 {
        0.0
    } else {
        s
    }
}

fn run_ops(ops: &[Op], limits: ZSetLimits, start_large: bool) {
    let mut z = ZSet::new();
    if start_large {
        z.convert_to_skiplist();
    }
    let mut model = Model::default();
    // Set once a new member exceeded the limits: from then on the encoding is skiplist.
    let mut converted = start_large;
    for op in ops {
        match op {
            Op::Add(m, s, f) => {
                let got = z.add(m, *s, *f, limits);
                let cur = model.map.get(m).copied();
                let want = match cur {
                    Some(_) if f.nx => Ok(AddOutcome::Skipped),
                    Some(c) => {
                        let n = if f.incr { s + c } else { *s };
                        if n.is_nan() {
                            Err(ZSetError::NanScore)
                        } else if (f.lt && n >= c) || (f.gt && n <= c) {
                            Ok(AddOutcome::Skipped)
                        } else if n == c {
                            Ok(AddOutcome::Unchanged(n))
                        } else {
                            model.insert(m, stored(n, converted));
                            Ok(AddOutcome::Updated(n))
                        }
                    }
                    None if f.xx => Ok(AddOutcome::Skipped),
                    None => {
                        if model.map.len() + 1 > limits.max_listpack_entries
                            || m.len() > limits.max_listpack_value
                        {
                            converted = true;
                        }
                        model.insert(m, stored(*s, converted));
                        Ok(AddOutcome::Added(*s))
                    }
                };
                assert_eq!(
                    got.map(|o| format!("{o:?}")),
                    want.map(|o| format!("{o:?}"))
                );
                assert_eq!(
                    z.encoding(),
                    if converted { "skiplist" } else { "listpack" }
                );
            }
            Op::Remove(m) => assert_eq!(
                z.remove(m).map(f64::to_bits),
                model.remove(m).map(f64::to_bits)
            ),
            Op::Rank(m, rev) => {
                let sorted = model.sorted();
                let want = sorted.iter().position(|(x, _)| x == m).map(|p| {
                    if *rev {
                        sorted.len() - 1 - p
                    } else {
                        p
                    }
                });
                assert_eq!(z.rank(m, *rev), want);
                assert_eq!(
                    z.score(m).map(f64::to_bits),
                    model.map.get(m).map(|s| s.to_bits())
                );
            }
            Op::ByRank(a, b, rev) => {
                let mut sorted = model.sorted();
                if *rev {
                    sorted.reverse();
                }
                let want: Vec<Vec<u8>> = match model_rank_range(sorted.len(), *a, *b) {
                    Some((lo, hi)) => sorted[lo..hi].iter().map(|(m, _)| m.clone()).collect(),
                    None => Vec::new(),
                };
                let it = z.range_by_rank(*a, *b, *rev);
                assert_eq!(it.len(), want.len());
                assert_eq!(it.map(|(m, _)| m.to_vec()).collect::<Vec<_>>(), want);
            }
            Op::ByScore(r, rev, off, cnt) => {
                let mut v: Vec<Vec<u8>> = model
                    .sorted()
                    .into_iter()
                    .filter(|(_, s)| r.contains(*s))
                    .map(|(m, _)| m)
                    .collect();
                if *rev {
                    v.reverse();
                }
                let want: Vec<Vec<u8>> = if *off < 0 {
                    Vec::new()
                } else {
                    let it = v.into_iter().skip(*off as usize);
                    if *cnt < 0 {
                        it.collect()
                    } else {
                        it.take(*cnt as usize).collect()
                    }
                };
                let got: Vec<Vec<u8>> = z
                    .range_by_score(r, *rev, *off, *cnt)
                    .map(|(m, _)| m.to_vec())
                    .collect();
                assert_eq!(got, want);
                assert_eq!(
                    z.count_in_score_range(r),
                    model.map.values().filter(|s| r.contains(**s)).count()
                );
            }
            Op::RemRank(a, b) => {
                let sorted = model.sorted();
                let mut n = 0;
                if let Some((lo, hi)) = model_rank_range(sorted.len(), *a, *b) {
                    for (m, _) in &sorted[lo..hi] {
                        model.remove(m);
                        n += 1;
                    }
                }
                assert_eq!(z.remove_range_by_rank(*a, *b), n);
            }
            Op::RemScore(r) => {
                let doomed: Vec<Vec<u8>> = model
                    .map
                    .iter()
                    .filter(|(_, s)| r.contains(**s))
                    .map(|(m, _)| m.clone())
                    .collect();
                for m in &doomed {
                    model.remove(m);
                }
                assert_eq!(z.remove_range_by_score(r), doomed.len());
            }
            Op::Pop(max, c) => {
                let mut sorted = model.sorted();
                if *max {
                    sorted.reverse();
                }
                let want: Vec<(Vec<u8>, u64)> = sorted
                    .into_iter()
                    .take(*c)
                    .map(|(m, s)| (m, s.to_bits()))
                    .collect();
                for (m, _) in &want {
                    model.remove(m);
                }
                let got: Vec<(Vec<u8>, u64)> = z
                    .pop(*max, *c)
                    .into_iter()
                    .map(|(m, s)| (m, s.to_bits()))
                    .collect();
                assert_eq!(got, want);
            }
            Op::Get(r) => {
                let want = model
                    .sorted()
                    .get(*r)
                    .map(|(m, s)| (m.clone(), s.to_bits()));
                assert_eq!(
                    z.get_by_rank(*r).map(|(m, s)| (m.to_vec(), s.to_bits())),
                    want
                );
            }
        }
        check_same(&z, &model);
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(200))]

    #[test]
    fn model_small_limits(ops in proptest::collection::vec(op_strategy(), 1..200)) {
        run_ops(&ops, SMALL, false);
    }

    #[test]
    fn model_large_from_start(ops in proptest::collection::vec(op_strategy(), 1..300)) {
        run_ops(&ops, ZSetLimits::default(), true);
    }

    #[test]
    fn model_lex(
        members in proptest::collection::vec(proptest::collection::vec(b'a'..b'e', 0..4), 0..60),
        a in proptest::collection::vec(b'a'..b'e', 0..3), b in proptest::collection::vec(b'a'..b'e', 0..3),
        kinds in (0u8..4, 0u8..4), rev in any::<bool>(), off in -1i64..5, cnt in -1i64..5, large in any::<bool>(),
    ) {
        let mut z = ZSet::new();
        if large {
            z.convert_to_skiplist();
        }
        let mut set = BTreeSet::new();
        for m in &members {
            z.add(m, 0.0, AddFlags::default(), ZSetLimits::default()).unwrap();
            set.insert(m.clone());
        }
        let mk = |k: u8, v: &Vec<u8>| match k {
            0 => LexBound::NegInf,
            1 => LexBound::PosInf,
            2 => LexBound::Inclusive(v.clone()),
            _ => LexBound::Exclusive(v.clone()),
        };
        let r = LexRange { min: mk(kinds.0, &a), max: mk(kinds.1, &b) };
        let mut v: Vec<Vec<u8>> = set.iter().filter(|m| r.contains(m)).cloned().collect();
        prop_assert_eq!(z.count_in_lex_range(&r), v.len());
        if rev {
            v.reverse();
        }
        let want: Vec<Vec<u8>> = if off < 0 { Vec::new() } else {
            let it = v.into_iter().skip(off as usize);
            if cnt < 0 { it.collect() } else { it.take(cnt as usize).collect() }
        };
        let got: Vec<Vec<u8>> = z.range_by_lex(&r, rev, off, cnt).map(|(m, _)| m.to_vec()).collect();
        prop_assert_eq!(got, want);
        let n = set.iter().filter(|m| r.contains(m)).count();
        prop_assert_eq!(z.remove_range_by_lex(&r), n);
        let rest: Vec<Vec<u8>> = set.iter().filter(|m| !r.contains(m)).cloned().collect();
        prop_assert_eq!(z.iter().map(|(m, _)| m.to_vec()).collect::<Vec<_>>(), rest);
    }
}

/// Deep trees (three levels and more) against the model with periodic full checks.
#[test]
fn deep_tree_random_ops() {
    let mut z = ZSet::new();
    z.convert_to_skiplist();
    let mut model = Model::default();
    let mut seed = 12345u64;
    let mut rng = move || {
        seed = seed
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        seed >> 33
    };
    let l = ZSetLimits::default();
    for step in 0..80_000u32 {
        let m = format!("member:{}", rng() % 30_000).into_bytes();
        match rng() % 10 {
            0..=5 => {
                let s = (rng() % 1000) as f64;
                z.add(&m, s, AddFlags::default(), l).unwrap();
                model.insert(&m, s);
            }
            6..=7 => assert_eq!(z.remove(&m), model.remove(&m)),
            8 => {
                let popped = z.pop(rng() % 2 == 0, (rng() % 3) as usize);
                for (pm, ps) in popped {
                    assert_eq!(model.remove(&pm), Some(ps));
                }
            }
            _ => {
                let r = model
                    .map
                    .get(&m)
                    .map(|s| model.order.range(..(Score(*s), m.clone())).count());
                assert_eq!(z.rank(&m, false), r);
            }
        }
        if step % 10_000 == 0 {
            check_same(&z, &model);
        }
    }
    check_same(&z, &model);
    // Drain completely through rank removal, checking merges on the way.
    while !z.is_empty() {
        let n = z.len() as i64;
        z.remove_range_by_rank(n / 3, n / 3 + 500);
        if let Repr::Large(l) = &z.repr {
            l.check();
        }
    }
}

#[test]
fn ascending_and_descending_loads_fill_leaves() {
    for desc in [false, true] {
        let mut z = ZSet::new();
        z.convert_to_skiplist();
        for i in 0..100_000u32 {
            let v = if desc { 100_000 - i } else { i };
            z.add(
                format!("m{v}").as_bytes(),
                f64::from(v),
                AddFlags::default(),
                ZSetLimits::default(),
            )
            .unwrap();
        }
        if let Repr::Large(l) = &z.repr {
            l.check();
        }
        // About 12 bytes of tree per entry when leaves are full, plus slab and index.
        let per = z.allocated_bytes() as f64 / 100_000.0;
        assert!(per < 70.0, "{per} bytes per entry");
        assert_eq!(
            z.get_by_rank(0).map(|(m, _)| m.to_vec()),
            Some(if desc { b"m1".to_vec() } else { b"m0".to_vec() })
        );
    }
}

#[test]
fn small_set_header_is_compact() {
    assert!(std::mem::size_of::<ZSet>() <= 32);
}
