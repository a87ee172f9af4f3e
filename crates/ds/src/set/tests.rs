//! Model tests of `Set` against a `HashSet`.

use super::*;
use proptest::prelude::*;
use std::collections::HashSet;

use crate::testutil::xorshift;

#[derive(Clone, Debug)]
enum Op {
    Add(Vec<u8>),
    Rem(Vec<u8>),
    Pop(u64),
    PopMany(usize, u64),
}

fn member() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        6 => (-50i64..50).prop_map(|i| i.to_string().into_bytes()),
        1 => prop_oneof![Just(i64::MAX), Just(i64::MIN), Just(70_000), Just(-3_000_000_000)]
            .prop_map(|i| i.to_string().into_bytes()),
        // Not strict integers: stay strings (and force `hashtable`).
        1 => prop_oneof![Just(b"01".to_vec()), Just(b"+1".to_vec()), Just(b"-0".to_vec()), Just(b" 1".to_vec()),
                         Just(b"9223372036854775808".to_vec()), Just(b"a".to_vec()), Just(Vec::new())],
    ]
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        6 => member().prop_map(Op::Add),
        3 => member().prop_map(Op::Rem),
        1 => any::<u64>().prop_map(Op::Pop),
        1 => (0usize..6, any::<u64>()).prop_map(|(n, s)| Op::PopMany(n, s)),
    ]
}

fn bytes(m: StrRef<'_>) -> Vec<u8> {
    m.to_vec()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn set_matches_model(ops in proptest::collection::vec(op(), 1..150), max in 0usize..40) {
        let mut s = Set::new();
        let mut model: HashSet<Vec<u8>> = HashSet::new();
        let mut converted = false;
        for op in &ops {
            match op {
                Op::Add(m) => {
                    prop_assert_eq!(s.add(m, max), model.insert(m.clone()));
                    if crate::num::string2ll(m).is_none() || model.len() > max {
                        converted = true;
                    }
                }
                Op::Rem(m) => prop_assert_eq!(s.remove(m), model.remove(m)),
                Op::Pop(seed) => {
                    let got = s.pop(&mut xorshift(*seed)).map(|m| m.to_vec());
                    match got {
                        Some(m) => prop_assert!(model.remove(&m)),
                        None => prop_assert!(model.is_empty()),
                    }
                }
                Op::PopMany(n, seed) => {
                    let got = s.pop_many(*n, &mut xorshift(*seed));
                    prop_assert_eq!(got.len(), (*n).min(model.len()));
                    for m in got {
                        prop_assert!(model.remove(&m.to_vec()));
                    }
                }
            }
            prop_assert_eq!(s.len(), model.len());
            prop_assert_eq!(s.encoding(), if converted { "hashtable" } else { "intset" });
            let members: HashSet<Vec<u8>> = s.iter().map(bytes).collect();
            prop_assert_eq!(&members, &model);
            for m in &model {
                prop_assert!(s.contains(m));
            }
            if s.is_intset() {
                let v: Vec<i64> = s.iter().map(|m| match m { StrRef::Int(i) => i, StrRef::Bytes(_) => i64::MAX }).collect();
                prop_assert!(v.windows(2).all(|w| w[0] < w[1]), "intset sorted");
            }
            for probe in [&b"01"[..], b"7", b"-0", b"zz"] {
                prop_assert_eq!(s.contains(probe), model.contains(probe));
            }
        }
    }

    #[test]
    fn random_members_semantics(n in 0usize..300, ints in any::<bool>(), count in -400i64..400, seed in any::<u64>()) {
        let mut s = Set::new();
        for i in 0..n {
            let m = if ints { i.to_string() } else { format!("m{i}") };
            s.add(m.as_bytes(), 512);
        }
        let mut rng = xorshift(seed);
        let got = s.random_members(count, &mut rng);
        if count >= 0 {
            prop_assert_eq!(got.len(), (count as usize).min(n));
            let distinct: HashSet<Vec<u8>> = got.iter().map(|m| m.to_vec()).collect();
            prop_assert_eq!(distinct.len(), got.len());
        } else {
            prop_assert_eq!(got.len(), if n == 0 { 0 } else { count.unsigned_abs() as usize });
        }
        for m in &got {
            prop_assert!(s.contains_ref(*m));
        }
        prop_assert_eq!(s.random_member(&mut rng).is_some(), n > 0);
    }

    #[test]
    fn algebra_matches_model(
        a in proptest::collection::hash_set(member(), 0..30),
        b in proptest::collection::hash_set(member(), 0..30),
        c in proptest::collection::hash_set(member(), 0..30),
        limit in 0usize..10,
    ) {
        let build = |m: &HashSet<Vec<u8>>| {
            let mut s = Set::new();
            for x in m { s.add(x, 16); }
            s
        };
        let (sa, sb, sc) = (build(&a), build(&b), build(&c));
        let inter: HashSet<Vec<u8>> = a.iter().filter(|x| b.contains(*x) && c.contains(*x)).cloned().collect();
        let mut got = HashSet::new();
        for_each_inter(&[&sa, &sb, &sc], |m| { got.insert(m.to_vec()); });
        prop_assert_eq!(&got, &inter);
        let card = inter_card(&[&sa, &sb, &sc], limit);
        prop_assert_eq!(card, if limit == 0 { inter.len() } else { inter.len().min(limit) });
        let uni: HashSet<Vec<u8>> = a.iter().chain(&b).chain(&c).cloned().collect();
        let su = union(&[&sa, &sb, &sc], 16);
        prop_assert_eq!(su.iter().map(bytes).collect::<HashSet<_>>(), uni.clone());
        let all_int = uni.iter().all(|m| crate::num::string2ll(m).is_some());
        prop_assert_eq!(su.is_intset(), all_int && uni.len() <= 16);
        let dif: HashSet<Vec<u8>> = a.iter().filter(|x| !b.contains(*x) && !c.contains(*x)).cloned().collect();
        let sd = diff(&sa, &[&sb, &sc], 16);
        prop_assert_eq!(sd.iter().map(bytes).collect::<HashSet<_>>(), dif);
    }

    /// Redis's SSCAN guarantee under mutation and resizing between calls.
    #[test]
    fn scan_guarantee_under_mutation(
        stable in 0usize..200,
        churn in proptest::collection::vec((any::<bool>(), 0u16..2000), 0..300),
        count in 1usize..20,
        seed in any::<u64>(),
    ) {
        let mut s = Set::new();
        s.add(b"not-an-int", 512);
        for i in 0..stable {
            s.add(format!("s{i}").as_bytes(), 512);
        }
        let mut rng = xorshift(seed);
        let mut seen = HashSet::new();
        let mut cursor = 0u64;
        let mut churn = churn.into_iter();
        loop {
            cursor = s.scan(cursor, count, |m| { seen.insert(m.to_vec()); });
            if cursor == 0 { break; }
            for _ in 0..(rng() % 8) {
                if let Some((add, k)) = churn.next() {
                    let m = format!("c{k}");
                    if add { s.add(m.as_bytes(), 512); } else { s.remove(m.as_bytes()); }
                }
            }
        }
        for i in 0..stable {
            prop_assert!(seen.contains(format!("s{i}").as_bytes()), "s{} missed", i);
        }
    }
}

#[test]
fn intset_conversions_like_redis() {
    let mut s = Set::new();
    for i in 0..512 {
        assert!(s.add(i.to_string().as_bytes(), 512));
    }
    assert_eq!(s.encoding(), "intset");
    assert_eq!(s.intset_width(), Some(2));
    assert!(!s.add(b"511", 512));
    assert_eq!(s.encoding(), "intset");
    assert!(s.add(b"512", 512));
    assert_eq!(s.encoding(), "hashtable", "513 members");
    assert!(s.contains(b"0") && s.contains(b"512"));
    for i in 0..513 {
        assert!(s.remove(i.to_string().as_bytes()));
    }
    assert_eq!(s.encoding(), "hashtable", "never converts back");

    let mut s = Set::new();
    s.add(b"1", 512);
    s.add(b"100000", 512);
    assert_eq!(s.intset_width(), Some(4));
    s.add(b"-9223372036854775808", 512);
    assert_eq!(s.intset_width(), Some(8));
    s.add(b"abc", 512);
    assert_eq!(s.encoding(), "hashtable");
    assert!(s.contains(b"-9223372036854775808"));
    assert!(s.contains(b"100000"));

    // Not strict integers convert.
    for m in [&b"01"[..], b"+1", b"-0", b"1 ", b"9223372036854775808", b""] {
        let mut s = Set::new();
        s.add(b"1", 512);
        s.add(m, 512);
        assert_eq!(s.encoding(), "hashtable", "{m:?}");
        assert!(s.contains(m) && s.contains(b"1"));
        assert!(!s.contains(b"2"));
    }

    // The cap applies even with a huge configured limit.
    let mut s = Set::new();
    s.add(b"1", usize::MAX);
    assert_eq!(s.encoding(), "intset");
}

#[test]
fn intset_blob_round_trip() {
    let mut s = Set::new();
    for m in [&b"5"[..], b"-2", b"40000"] {
        s.add(m, 512);
    }
    let blob = s.intset_blob().unwrap();
    let back = Set::from_intset_blob(&blob).unwrap();
    assert_eq!(back, s);
    assert_eq!(back.intset_width(), Some(4));
    assert!(Set::from_intset_blob(&blob[1..]).is_none());
}

#[test]
fn pop_all_empties_and_srandmember_negative_repeats() {
    let mut s = Set::new();
    for i in 0..3 {
        s.add(format!("m{i}").as_bytes(), 512);
    }
    let mut rng = xorshift(7);
    let got = s.random_members(-10, &mut rng);
    assert_eq!(got.len(), 10);
    let all = s.pop_many(5, &mut rng);
    assert_eq!(all.len(), 3);
    assert!(s.is_empty());
    assert!(s.pop(&mut rng).is_none());
    assert!(s.random_members(-3, &mut rng).is_empty());
    assert!(s.random_members(3, &mut rng).is_empty());
}

#[test]
fn spop_is_uniform_enough() {
    for ints in [true, false] {
        let mut hits = std::collections::HashMap::<Vec<u8>, usize>::new();
        let mut rng = xorshift(99);
        for _ in 0..10_000 {
            let mut s = Set::new();
            for i in 0..5 {
                let m = if ints { i.to_string() } else { format!("m{i}") };
                s.add(m.as_bytes(), 512);
            }
            for m in s.pop_many(2, &mut rng) {
                *hits.entry(m.to_vec()).or_default() += 1;
            }
        }
        assert_eq!(hits.len(), 5);
        for (m, n) in &hits {
            assert!((3_600..4_400).contains(n), "{m:?}: {n}");
        }
    }
}
