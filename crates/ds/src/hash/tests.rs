//! Model tests of `Hash` against a `HashMap` plus an insertion-order list (the listpack order).

use super::*;
use proptest::prelude::*;
use std::collections::{HashMap, HashSet};

use crate::testutil::xorshift;

#[derive(Clone, Debug)]
enum Op {
    Set(u8, Vec<u8>),
    SetNx(u8, Vec<u8>),
    Del(u8),
    IncrBy(u8, i64),
    IncrByFloat(u8, String),
}

fn field(i: u8) -> Vec<u8> {
    // A few long field names so the value limit is crossed by fields too.
    if i % 17 == 16 {
        format!("long-field-name-{i}").into_bytes()
    } else {
        format!("f{i}").into_bytes()
    }
}

fn op() -> impl Strategy<Value = Op> {
    let value = prop_oneof![
        4 => proptest::collection::vec(any::<u8>(), 0..6),
        1 => proptest::collection::vec(any::<u8>(), 7..20),
        2 => (-1000i64..1000).prop_map(|i| i.to_string().into_bytes()),
    ];
    prop_oneof![
        4 => (0u8..34, value.clone()).prop_map(|(f, v)| Op::Set(f, v)),
        1 => (0u8..34, value).prop_map(|(f, v)| Op::SetNx(f, v)),
        3 => (0u8..34).prop_map(Op::Del),
        1 => (0u8..34, any::<i64>()).prop_map(|(f, i)| Op::IncrBy(f, i)),
        1 => (0u8..34, prop_oneof![Just("1.5".to_string()), Just("-3".to_string()), Just("inf".to_string()), Just("x".to_string())])
            .prop_map(|(f, s)| Op::IncrByFloat(f, s)),
    ]
}

/// Applies `op` to the model; returns whether the write would have gone through the value-length
/// check (for the expected encoding).
fn check_step(
    h: &mut Hash,
    model: &mut HashMap<Vec<u8>, Vec<u8>>,
    order: &mut Vec<Vec<u8>>,
    converted: &mut bool,
    op: &Op,
    limits: HashLimits,
) {
    let mut wrote =
        |f: &[u8], v: &[u8], model: &mut HashMap<Vec<u8>, Vec<u8>>, order: &mut Vec<Vec<u8>>| {
            if f.len() > limits.max_listpack_value || v.len() > limits.max_listpack_value {
                *converted = true;
            }
            if model.insert(f.to_vec(), v.to_vec()).is_none() {
                order.push(f.to_vec());
            }
            if model.len() > limits.max_listpack_entries {
                *converted = true;
            }
        };
    match op {
        Op::Set(i, v) => {
            let f = field(*i);
            let new = !model.contains_key(&f);
            assert_eq!(h.set(&f, v, limits), new);
            wrote(&f, v, model, order);
        }
        Op::SetNx(i, v) => {
            let f = field(*i);
            let new = !model.contains_key(&f);
            assert_eq!(h.set_nx(&f, v, limits), new);
            if new {
                wrote(&f, v, model, order);
            }
        }
        Op::Del(i) => {
            let f = field(*i);
            assert_eq!(h.remove(&f), model.remove(&f).is_some());
            order.retain(|x| *x != f);
        }
        Op::IncrBy(i, n) => {
            let f = field(*i);
            let cur = match model.get(&f) {
                None => Some(0),
                Some(v) => crate::num::string2ll(v),
            };
            let expect = match cur {
                None => Err(HashError::NotInteger),
                Some(c) => c.checked_add(*n).ok_or(HashError::Overflow),
            };
            assert_eq!(h.incr_by(&f, *n, limits), expect);
            if let Ok(v) = expect {
                wrote(&f, v.to_string().as_bytes(), model, order);
            }
        }
        Op::IncrByFloat(i, s) => {
            let f = field(*i);
            let r = h.incr_by_float(&f, s.as_bytes(), limits);
            let expect =
                match crate::num::hincr_by_float(model.get(&f).map(|v| &v[..]), s.as_bytes()) {
                    Ok(t) => Ok(t),
                    Err(FloatIncrError::InvalidCurrent) => Err(HashError::NotFloat),
                    Err(e) => Err(HashError::Float(e)),
                };
            assert_eq!(r, expect);
            if let Ok(t) = expect {
                wrote(&f, &t, model, order);
            }
        }
    }
}

fn assert_same(h: &Hash, model: &HashMap<Vec<u8>, Vec<u8>>, order: &[Vec<u8>], converted: bool) {
    assert_eq!(h.len(), model.len());
    assert_eq!(h.is_empty(), model.is_empty());
    assert_eq!(
        h.encoding(),
        if converted { "hashtable" } else { "listpack" }
    );
    for (f, v) in model {
        assert_eq!(h.get(f), Some(&v[..]));
        assert!(h.contains(f));
        assert_eq!(h.strlen(f), v.len());
    }
    let pairs: HashMap<Vec<u8>, Vec<u8>> =
        h.iter().map(|(f, v)| (f.to_vec(), v.to_vec())).collect();
    assert_eq!(&pairs, model);
    assert_eq!(h.iter().len(), model.len());
    if !converted {
        let keys: Vec<Vec<u8>> = h.keys().map(<[u8]>::to_vec).collect();
        assert_eq!(keys, order, "listpack keeps insertion order");
    }
    assert!(h.get(b"absent").is_none());
    assert_eq!(h.strlen(b"absent"), 0);
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn hash_matches_model(ops in proptest::collection::vec(op(), 1..120), entries in 0usize..8, value in 0usize..12) {
        let limits = HashLimits { max_listpack_entries: entries, max_listpack_value: value };
        let mut h = Hash::new();
        let mut model = HashMap::new();
        let mut order = Vec::new();
        let mut converted = false;
        for op in &ops {
            check_step(&mut h, &mut model, &mut order, &mut converted, op, limits);
            assert_same(&h, &model, &order, converted);
        }
    }

    #[test]
    fn random_fields_semantics(n in 0usize..300, count in -400i64..400, seed in any::<u64>()) {
        let mut h = Hash::new();
        for i in 0..n {
            h.set(format!("f{i}").as_bytes(), format!("v{i}").as_bytes(), HashLimits::default());
        }
        let mut rng = xorshift(seed);
        let got = h.random_pairs(count, &mut rng);
        if count >= 0 {
            prop_assert_eq!(got.len(), (count as usize).min(n));
            let distinct: HashSet<&[u8]> = got.iter().map(|(f, _)| *f).collect();
            prop_assert_eq!(distinct.len(), got.len());
        } else {
            prop_assert_eq!(got.len(), if n == 0 { 0 } else { count.unsigned_abs() as usize });
        }
        for (f, v) in &got {
            prop_assert_eq!(h.get(f), Some(*v));
        }
        prop_assert_eq!(h.random_pair(&mut rng).is_some(), n > 0);
    }

    /// Redis's SCAN guarantee: a field present from the first call to the last is returned at
    /// least once, whatever is added or removed (and however the table resizes) in between.
    #[test]
    fn scan_guarantee_under_mutation(
        stable in 0usize..200,
        churn in proptest::collection::vec((any::<bool>(), 0u16..2000), 0..300),
        count in 1usize..20,
        seed in any::<u64>(),
    ) {
        let limits = HashLimits { max_listpack_entries: 0, max_listpack_value: 64 };
        let mut h = Hash::new();
        for i in 0..stable {
            h.set(format!("s{i}").as_bytes(), b"v", limits);
        }
        let mut rng = xorshift(seed);
        let mut seen = HashSet::new();
        let mut cursor = 0u64;
        let mut churn = churn.into_iter();
        let mut calls = 0;
        loop {
            cursor = h.scan(cursor, count, |f, _| { seen.insert(f.to_vec()); });
            calls += 1;
            if cursor == 0 { break; }
            // Mutate between calls: add or remove churn fields (growing and shrinking the table).
            for _ in 0..(rng() % 8) {
                if let Some((add, k)) = churn.next() {
                    let f = format!("c{k}");
                    if add { h.set(f.as_bytes(), b"x", limits); } else { h.remove(f.as_bytes()); }
                }
            }
            prop_assert!(calls < 100_000);
        }
        for i in 0..stable {
            prop_assert!(seen.contains(format!("s{i}").as_bytes()), "s{} missed", i);
        }
    }
}

#[test]
fn conversion_thresholds_like_redis() {
    let limits = HashLimits::default();
    let mut h = Hash::new();
    for i in 0..128 {
        h.set(format!("f{i}").as_bytes(), b"v", limits);
    }
    assert_eq!(h.encoding(), "listpack");
    h.set(b"f0", &[b'x'; 64], limits);
    assert_eq!(h.encoding(), "listpack", "64 bytes is still small");
    h.set(b"f128", b"v", limits);
    assert_eq!(h.encoding(), "hashtable", "129 entries");
    // Never converts back.
    for i in 0..129 {
        h.remove(format!("f{i}").as_bytes());
    }
    assert!(h.is_empty());
    assert_eq!(h.encoding(), "hashtable");

    let mut h = Hash::new();
    h.set(b"a", b"1", limits);
    h.set(b"b", &[b'x'; 65], limits);
    assert_eq!(h.encoding(), "hashtable", "value longer than 64");
    let mut h = Hash::new();
    h.set(&[b'k'; 65], b"1", limits);
    assert_eq!(h.encoding(), "hashtable", "field longer than 64");

    // HSETNX on an existing field changes nothing, not even the encoding.
    let mut h = Hash::new();
    h.set(b"a", b"1", limits);
    assert!(!h.set_nx(b"a", &[b'x'; 100], limits));
    assert_eq!(h.encoding(), "listpack");
    assert_eq!(h.get(b"a"), Some(&b"1"[..]));

    // A zero entry limit converts on the first write.
    let mut h = Hash::new();
    h.set(
        b"a",
        b"1",
        HashLimits {
            max_listpack_entries: 0,
            max_listpack_value: 64,
        },
    );
    assert_eq!(h.encoding(), "hashtable");
}

#[test]
fn incr_edge_cases() {
    let l = HashLimits::default();
    let mut h = Hash::new();
    assert_eq!(h.incr_by(b"n", 5, l), Ok(5));
    assert_eq!(h.incr_by(b"n", -10, l), Ok(-5));
    assert_eq!(h.get(b"n"), Some(&b"-5"[..]));
    h.set(b"big", i64::MAX.to_string().as_bytes(), l);
    assert_eq!(h.incr_by(b"big", 1, l), Err(HashError::Overflow));
    h.set(b"small", i64::MIN.to_string().as_bytes(), l);
    assert_eq!(h.incr_by(b"small", -1, l), Err(HashError::Overflow));
    assert_eq!(h.incr_by(b"small", 0, l), Ok(i64::MIN));
    for bad in [&b" 1"[..], b"01", b"+1", b"1.0", b"", b"-0"] {
        h.set(b"s", bad, l);
        assert_eq!(h.incr_by(b"s", 1, l), Err(HashError::NotInteger), "{bad:?}");
    }
    assert_eq!(h.incr_by_float(b"fl", b"10.5", l), Ok(b"10.5".to_vec()));
    assert_eq!(h.incr_by_float(b"fl", b"0.1", l), Ok(b"10.6".to_vec()));
    assert_eq!(h.incr_by_float(b"n", b"5.0e3", l), Ok(b"4995".to_vec()));
    assert_eq!(
        h.incr_by_float(b"fl", b"+inf", l),
        Err(HashError::Float(FloatIncrError::IncrementNotFinite))
    );
    h.set(b"s", b"abc", l);
    assert_eq!(h.incr_by_float(b"s", b"1", l), Err(HashError::NotFloat));
    assert_eq!(HashError::NotFloat.to_string(), "hash value is not a float");
    assert_eq!(
        HashError::NotInteger.to_string(),
        "hash value is not an integer"
    );
    assert_eq!(
        HashError::Overflow.to_string(),
        "increment or decrement would overflow"
    );
}

#[test]
fn listpack_scan_returns_all_with_cursor_zero() {
    let mut h = Hash::new();
    for i in 0..10 {
        h.set(format!("f{i}").as_bytes(), b"v", HashLimits::default());
    }
    let mut n = 0;
    assert_eq!(h.scan(12345, 1, |_, _| n += 1), 0);
    assert_eq!(n, 10);
}

#[test]
fn hashtable_scan_respects_count_roughly() {
    let mut h = Hash::new();
    for i in 0..10_000 {
        h.set(format!("f{i}").as_bytes(), b"v", HashLimits::default());
    }
    let mut n = 0;
    let c = h.scan(0, 10, |_, _| n += 1);
    assert_ne!(c, 0);
    assert!((10..40).contains(&n), "{n}");
}

#[test]
fn random_distinct_is_uniform_enough() {
    // 5 fields, pick 2: each field should be chosen about 2/5 of the time.
    for limits in [
        HashLimits::default(),
        HashLimits {
            max_listpack_entries: 0,
            max_listpack_value: 64,
        },
    ] {
        let mut h = Hash::new();
        for i in 0..5 {
            h.set(format!("f{i}").as_bytes(), b"v", limits);
        }
        let mut rng = xorshift(42);
        let mut hits: HashMap<Vec<u8>, usize> = HashMap::new();
        for _ in 0..10_000 {
            for (f, _) in h.random_distinct(2, &mut rng) {
                *hits.entry(f.to_vec()).or_default() += 1;
            }
        }
        for (f, n) in &hits {
            assert!((3_600..4_400).contains(n), "{f:?}: {n}");
        }
        assert_eq!(hits.len(), 5);
    }
}

#[test]
fn update_converts_when_the_entry_limit_was_lowered() {
    let big = HashLimits::default();
    let mut h = Hash::new();
    for i in 0..10u32 {
        h.set(format!("f{i}").as_bytes(), b"v", big);
    }
    assert_eq!(h.encoding(), "listpack");
    let small = HashLimits {
        max_listpack_entries: 5,
        ..big
    };
    // An update adds nothing, but Redis checks the length after every set.
    assert!(!h.set(b"f3", b"new", small));
    assert_eq!(h.encoding(), "hashtable");
    assert_eq!(h.get(b"f3"), Some(&b"new"[..]));
    assert_eq!(h.len(), 10);
}
