use super::*;
use crate::dict::DictEntry;
use proptest::prelude::*;
use rand::rngs::StdRng;
use rand::SeedableRng;
use std::collections::{HashMap, HashSet};

const NOW: i64 = 1_700_000_000_000;

fn v(s: &str) -> Value {
    Value::from_bytes(s.as_bytes())
}

fn k(i: u64) -> Vec<u8> {
    format!("key:{i}").into_bytes()
}

#[test]
fn entry_and_node_layout() {
    assert_eq!(std::mem::size_of::<Entry>(), 40);
    assert_eq!(Dict::<Entry>::node_size(), 48);
    assert_eq!(Dict::<ExpireEntry>::node_size(), 32);
}

#[test]
fn meta_bits_are_independent() {
    let mut e = Entry::new(CompactBytes::from("k"), v("x"), 0x00ab_cdef);
    assert_eq!(e.clock(), 0xab_cdef);
    e.set_has_expire(true);
    e.set_snapshot_parity(true);
    assert_eq!(e.clock(), 0xab_cdef);
    e.set_clock(0xffff_ffff);
    assert_eq!(e.clock(), 0xff_ffff);
    assert!(e.has_expire() && e.snapshot_parity());
    e.set_has_expire(false);
    assert!(!e.has_expire() && e.snapshot_parity());
    e.set_snapshot_parity(false);
    assert_eq!(e.meta, 0xff_ffff);
}

#[test]
fn lazy_expiry() {
    let mut db = Db::new();
    assert_eq!(db.set(b"a", v("1"), false, 7), None);
    assert!(db.set_expire(b"a", NOW + 100));
    assert!(!db.set_expire(b"missing", NOW));
    assert_eq!(db.get_expire(b"a"), Some(NOW + 100));
    assert_eq!(db.expires_len(), 1);
    // Expired strictly after `when`, as in Redis's keyIsExpired.
    assert!(db.lookup(b"a", NOW + 100).is_some());
    assert!(db.lookup(b"a", NOW + 101).is_none());
    assert!(db.is_expired(b"a", NOW + 101));
    assert_eq!(db.len(), 1, "read-only lookup does not delete");
    assert!(matches!(db.lookup_mut(b"a", NOW + 50), Lookup::Found(_)));
    assert!(matches!(db.lookup_mut(b"a", NOW + 101), Lookup::Expired));
    assert!(matches!(db.lookup_mut(b"a", NOW + 101), Lookup::Missing));
    assert_eq!((db.len(), db.expires_len()), (0, 0));
}

#[test]
fn set_keep_ttl_persist_remove() {
    let mut db = Db::new();
    db.set(b"a", v("1"), false, 0);
    db.set_expire(b"a", NOW + 1000);
    assert_eq!(db.set(b"a", v("2"), true, 0), Some(v("1")));
    assert_eq!(db.get_expire(b"a"), Some(NOW + 1000));
    assert_eq!(db.set(b"a", v("3"), false, 0), Some(v("2")));
    assert_eq!(db.get_expire(b"a"), None);
    assert_eq!(db.expires_len(), 0);
    db.set_expire(b"a", NOW + 1000);
    assert!(db.persist(b"a"));
    assert!(!db.persist(b"a"));
    assert_eq!(db.expires_len(), 0);
    db.set_expire(b"a", NOW + 1000);
    let e = db.remove(b"a").unwrap();
    assert_eq!(e.value(), &v("3"));
    assert_eq!((db.len(), db.expires_len()), (0, 0));
    assert!(db.remove(b"a").is_none());
}

#[test]
fn lookup_mut_allows_in_place_updates() {
    let mut db = Db::new();
    db.set(b"s", v("hello"), false, 0);
    if let Lookup::Found(e) = db.lookup_mut(b"s", NOW) {
        if let Some(b) = e.value_mut().make_raw_mut() {
            b.extend_from_slice(b" world");
        }
        e.set_clock(99);
    }
    let e = db.lookup(b"s", NOW).unwrap();
    assert_eq!(e.value().encoding_name(), "raw");
    assert_eq!(
        e.value().as_str().map(|s| s.to_vec()),
        Some(b"hello world".to_vec())
    );
    assert_eq!(e.clock(), 99);
}

fn params(effort: u32, ms: u64) -> ExpireCycleParams {
    ExpireCycleParams {
        effort,
        time_limit: Duration::from_millis(ms),
    }
}

#[test]
fn expire_cycle_params_follow_effort() {
    assert_eq!(params(1, 1).keys_per_loop(), 20);
    assert_eq!(params(1, 1).acceptable_stale(), 10);
    assert_eq!(params(10, 1).keys_per_loop(), 65);
    assert_eq!(params(10, 1).acceptable_stale(), 1);
    assert_eq!(params(0, 1).keys_per_loop(), 20);
    assert_eq!(params(99, 1).keys_per_loop(), 65);
}

#[test]
fn active_expire_removes_all_when_everything_is_stale() {
    let mut db = Db::new();
    for i in 0..1000 {
        db.set(&k(i), v("x"), false, 0);
        db.set_expire(&k(i), NOW - 1);
    }
    for i in 1000..1100 {
        db.set(&k(i), v("persistent"), false, 0);
    }
    // A cycle stops early when the expires table is under 1% full (it waits for the shrink to
    // finish), so run it like the cron does: cycles with background rehashing in between.
    let mut got: Vec<Vec<u8>> = Vec::new();
    let mut cycles = 0;
    while db.expires_len() > 0 && cycles < 100 {
        let stats = db.active_expire_cycle(NOW, &params(1, 10_000));
        assert!(!stats.time_limit_hit);
        assert_eq!(stats.expired, stats.expired_keys.len());
        got.extend(stats.expired_keys.iter().map(|c| c.to_vec()));
        db.rehash_for(Duration::from_millis(1));
        cycles += 1;
    }
    assert!(cycles <= 3, "took {cycles} cycles");
    assert_eq!(got.len(), 1000);
    let got: HashSet<Vec<u8>> = got.into_iter().collect();
    assert_eq!(got, (0..1000).map(k).collect::<HashSet<_>>());
    assert_eq!((db.len(), db.expires_len()), (100, 0));
    db.active_expire_cycle(NOW, &params(1, 10_000));
    assert_eq!(db.avg_ttl(), 0);
}

#[test]
fn active_expire_stops_when_few_are_stale_and_tracks_avg_ttl() {
    let mut db = Db::new();
    for i in 0..10_000 {
        db.set(&k(i), v("x"), false, 0);
        // 1% already expired, the rest 60s in the future.
        let when = if i % 100 == 0 { NOW - 1 } else { NOW + 60_000 };
        db.set_expire(&k(i), when);
    }
    let stats = db.active_expire_cycle(NOW, &params(1, 10_000));
    assert!(stats.sampled >= 20);
    assert!(
        stats.sampled < 1000,
        "one or a few loops only: {}",
        stats.sampled
    );
    assert_eq!(stats.expired, stats.expired_keys.len());
    for key in &stats.expired_keys {
        assert!(db.lookup(key, NOW).is_none());
    }
    // First sample seeds the average (then mixes it 49/50), so it is close to 60s.
    assert!(
        (55_000..=60_000).contains(&db.avg_ttl()),
        "{}",
        db.avg_ttl()
    );
}

#[test]
fn active_expire_respects_time_budget() {
    let mut db = Db::new();
    for i in 0..200_000 {
        db.set(&k(i), v("x"), false, 0);
        db.set_expire(&k(i), NOW - 1);
    }
    let stats = db.active_expire_cycle(NOW, &params(1, 0));
    assert!(stats.time_limit_hit);
    // Stopped at the first time check (iteration 16): 16 loops of ~20 keys.
    assert!(stats.expired < 2000, "{}", stats.expired);
    assert_eq!(db.len(), 200_000 - stats.expired);
}

#[test]
fn random_key_skips_and_deletes_expired() {
    let mut rng = StdRng::seed_from_u64(1);
    let mut db = Db::new();
    assert_eq!(db.random_key(NOW, &mut rng, true), RandomKey::default());
    for i in 0..50 {
        db.set(&k(i), v("x"), false, 0);
        db.set_expire(&k(i), NOW - 1);
    }
    db.set(b"live", v("y"), false, 0);
    // Replica mode: never returns an expired key when a live one exists, deletes nothing.
    for _ in 0..50 {
        let r = db.random_key(NOW, &mut rng, false);
        assert_eq!(r.key.as_deref(), Some(&b"live"[..]));
    }
    assert_eq!(db.len(), 51);
    let r = db.random_key(NOW, &mut rng, true);
    assert_eq!(r.key.as_deref(), Some(&b"live"[..]));
    assert_eq!(db.len(), 51 - r.expired.len());
    // All volatile and all expired, replica mode: gives up after 100 tries with some key.
    db.remove(b"live");
    let left = db.len();
    if left > 0 {
        let r = db.random_key(NOW, &mut rng, false);
        assert!(r.key.is_some());
        assert_eq!(db.len(), left);
        let r = db.random_key(NOW, &mut rng, true);
        assert_eq!(r.key, None);
        assert_eq!(r.expired.len(), left);
        assert!(db.is_empty());
    }
}

#[test]
fn snapshot_scan_reports_pre_images_with_ttl() {
    let mut db = Db::new();
    for i in 0..100 {
        db.set(&k(i), Value::from_int(i as i64), false, 0);
        if i % 2 == 0 {
            db.set_expire(&k(i), NOW + i as i64);
        }
    }
    db.begin_snapshot(0).unwrap();
    db.set(b"new", v("born visited"), false, 0);
    let mut out = Vec::new();
    let mut cursor = 0;
    loop {
        cursor = db.snapshot_scan(cursor, |e, when| out.push((e.key().to_vec(), when)));
        if cursor == 0 {
            break;
        }
    }
    assert_eq!(db.unvisited_count(), 0);
    out.sort();
    let mut expected: Vec<(Vec<u8>, Option<i64>)> = (0..100)
        .map(|i| (k(i), (i % 2 == 0).then_some(NOW + i as i64)))
        .collect();
    expected.sort();
    assert_eq!(out, expected);
}

#[test]
fn flush_empties_everything() {
    let mut db = Db::new();
    for i in 0..100 {
        db.set(&k(i), v("x"), false, 0);
        db.set_expire(&k(i), NOW);
    }
    assert!(db.mem_usage() > 100 * 48);
    db.flush();
    assert_eq!((db.len(), db.expires_len()), (0, 0));
    assert!(db.lookup(&k(1), NOW).is_none());
}

#[derive(Debug, Clone)]
enum Op {
    Set(u8, u16, bool),
    Expire(u8, i16),
    Persist(u8),
    Remove(u8),
    Lookup(u8),
    LookupMut(u8),
    Tick(u8),
    Cycle,
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        4 => (any::<u8>(), any::<u16>(), any::<bool>()).prop_map(|(a, b, c)| Op::Set(a, b, c)),
        3 => (any::<u8>(), any::<i16>()).prop_map(|(a, b)| Op::Expire(a, b)),
        1 => any::<u8>().prop_map(Op::Persist),
        2 => any::<u8>().prop_map(Op::Remove),
        2 => any::<u8>().prop_map(Op::Lookup),
        2 => any::<u8>().prop_map(Op::LookupMut),
        2 => any::<u8>().prop_map(Op::Tick),
        1 => Just(Op::Cycle),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(200))]

    /// Db vs a HashMap of (value, expire) with explicit expiry semantics.
    #[test]
    fn model(ops in proptest::collection::vec(op(), 1..400)) {
        let mut db = Db::new();
        let mut m: HashMap<Vec<u8>, (Value, Option<i64>)> = HashMap::new();
        let mut now = NOW;
        let live = |m: &HashMap<Vec<u8>, (Value, Option<i64>)>, key: &[u8], now: i64| {
            m.get(key).filter(|(_, w)| match w { Some(w) => now <= *w, None => true }).map(|(v, _)| v.clone())
        };
        for op in ops {
            match op {
                Op::Set(key, val, keep) => {
                    let key = k(u64::from(key));
                    let val = Value::from_int(i64::from(val));
                    let old = db.set(&key, val.clone(), keep, 0);
                    let prev = m.get(&key).cloned();
                    prop_assert_eq!(old, prev.as_ref().map(|p| p.0.clone()));
                    let ttl = if keep { prev.and_then(|p| p.1) } else { None };
                    m.insert(key, (val, ttl));
                }
                Op::Expire(key, delta) => {
                    let key = k(u64::from(key));
                    let ok = db.set_expire(&key, now + i64::from(delta));
                    prop_assert_eq!(ok, m.contains_key(&key));
                    if let Some(e) = m.get_mut(&key) { e.1 = Some(now + i64::from(delta)); }
                }
                Op::Persist(key) => {
                    let key = k(u64::from(key));
                    let had = m.get(&key).is_some_and(|e| e.1.is_some());
                    prop_assert_eq!(db.persist(&key), had);
                    if let Some(e) = m.get_mut(&key) { e.1 = None; }
                }
                Op::Remove(key) => {
                    let key = k(u64::from(key));
                    prop_assert_eq!(db.remove(&key).map(|e| e.value().clone()),
                                    m.remove(&key).map(|e| e.0));
                }
                Op::Lookup(key) => {
                    let key = k(u64::from(key));
                    prop_assert_eq!(db.lookup(&key, now).map(|e| e.value().clone()),
                                    live(&m, &key, now));
                    prop_assert_eq!(db.get_expire(&key), m.get(&key).and_then(|e| e.1));
                }
                Op::LookupMut(key) => {
                    let key = k(u64::from(key));
                    let expect = live(&m, &key, now);
                    match db.lookup_mut(&key, now) {
                        Lookup::Found(e) => prop_assert_eq!(Some(e.value().clone()), expect),
                        Lookup::Expired => {
                            prop_assert!(expect.is_none() && m.contains_key(&key));
                            m.remove(&key);
                        }
                        Lookup::Missing => prop_assert!(!m.contains_key(&key)),
                    }
                }
                Op::Tick(d) => now += i64::from(d),
                Op::Cycle => {
                    let stats = db.active_expire_cycle(now, &params(1, 10_000));
                    for key in &stats.expired_keys {
                        let e = m.remove(key.as_slice());
                        prop_assert!(e.is_some_and(|e| e.1.is_some_and(|w| now > w)));
                    }
                }
            }
            prop_assert_eq!(db.len(), m.len());
            prop_assert_eq!(db.expires_len(), m.values().filter(|e| e.1.is_some()).count());
        }
        for (key, (val, ttl)) in &m {
            let e = db.main.get(key);
            prop_assert_eq!(e.map(|e| e.value()), Some(val));
            prop_assert_eq!(e.map(|e| e.has_expire()), Some(ttl.is_some()));
        }
    }
}
