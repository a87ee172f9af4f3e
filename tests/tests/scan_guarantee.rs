//! Property test of Redis's SCAN guarantee on our tables: an element present for the whole
//! iteration is returned at least once, while other elements are added and removed between
//! calls (so tables grow, shrink and, in Redis's terms, rehash). Checked for SCAN over the
//! keyspace and for HSCAN / SSCAN / ZSCAN over `hashtable` / `skiplist` encoded values, on the
//! in-process server.
//!
//! Each case keeps `stable` elements for the whole scan and, after every call, adds `grow`
//! fresh elements and removes `shrink` of the transient ones; now and then it removes nearly
//! all transient elements at once so the table shrinks mid-scan.

use ferrodis_resp::Frame;
use ferrodis_tests::{InProcess, RespConn};
use proptest::prelude::*;
use proptest::test_runner::{Config, RngAlgorithm, TestRng, TestRunner};
use std::collections::HashSet;

#[derive(Clone, Copy, Debug, PartialEq)]
enum Kind {
    Keys,
    Hash,
    Set,
    ZSet,
}

#[derive(Clone, Debug)]
struct Case {
    stable: usize,
    transient: usize,
    count: usize,
    grow: usize,
    shrink: usize,
    purge_every: usize,
    churn_seed: u64,
}

fn case() -> impl Strategy<Value = Case> {
    (
        20usize..400,
        0usize..400,
        1usize..20,
        0usize..120,
        0usize..60,
        2usize..12,
        any::<u64>(),
    )
        .prop_map(
            |(stable, transient, count, grow, shrink, purge_every, churn_seed)| Case {
                stable,
                transient,
                count,
                grow,
                shrink,
                purge_every,
                churn_seed,
            },
        )
}

fn cmd(c: &mut RespConn, args: &[Vec<u8>]) -> Frame {
    let a: Vec<&[u8]> = args.iter().map(Vec::as_slice).collect();
    c.cmd(&a).expect("reply")
}

fn ok(f: &Frame) {
    assert!(!matches!(f, Frame::Error(_)), "error reply {f:?}");
}

/// Adds elements `names` to the structure under test (one command).
fn add(c: &mut RespConn, kind: Kind, names: &[String]) {
    if names.is_empty() {
        return;
    }
    let mut a: Vec<Vec<u8>> = match kind {
        Kind::Keys => vec![b"MSET".to_vec()],
        Kind::Hash => vec![b"HSET".to_vec(), b"obj".to_vec()],
        Kind::Set => vec![b"SADD".to_vec(), b"obj".to_vec()],
        Kind::ZSet => vec![b"ZADD".to_vec(), b"obj".to_vec()],
    };
    for (i, n) in names.iter().enumerate() {
        match kind {
            Kind::Keys | Kind::Hash => {
                a.push(n.clone().into_bytes());
                a.push(b"v".to_vec());
            }
            Kind::Set => a.push(n.clone().into_bytes()),
            Kind::ZSet => {
                a.push(i.to_string().into_bytes());
                a.push(n.clone().into_bytes());
            }
        }
    }
    ok(&cmd(c, &a));
}

fn remove(c: &mut RespConn, kind: Kind, names: &[String]) {
    if names.is_empty() {
        return;
    }
    let mut a: Vec<Vec<u8>> = match kind {
        Kind::Keys => vec![b"DEL".to_vec()],
        Kind::Hash => vec![b"HDEL".to_vec(), b"obj".to_vec()],
        Kind::Set => vec![b"SREM".to_vec(), b"obj".to_vec()],
        Kind::ZSet => vec![b"ZREM".to_vec(), b"obj".to_vec()],
    };
    a.extend(names.iter().map(|n| n.clone().into_bytes()));
    ok(&cmd(c, &a));
}

/// One scan call: (next cursor, element names returned).
fn scan_step(c: &mut RespConn, kind: Kind, cursor: &[u8], count: usize) -> (Vec<u8>, Vec<String>) {
    let count = count.to_string().into_bytes();
    let a: Vec<Vec<u8>> = match kind {
        Kind::Keys => vec![b"SCAN".to_vec(), cursor.to_vec(), b"COUNT".to_vec(), count],
        Kind::Hash | Kind::Set | Kind::ZSet => {
            let name: &[u8] = match kind {
                Kind::Hash => b"HSCAN",
                Kind::Set => b"SSCAN",
                _ => b"ZSCAN",
            };
            vec![
                name.to_vec(),
                b"obj".to_vec(),
                cursor.to_vec(),
                b"COUNT".to_vec(),
                count,
            ]
        }
    };
    let reply = cmd(c, &a);
    let Frame::Array(parts) = reply else {
        panic!("scan reply {reply:?}")
    };
    let [Frame::Bulk(next), Frame::Array(items)] = &parts[..] else {
        panic!("scan reply {parts:?}")
    };
    let step = if matches!(kind, Kind::Hash | Kind::ZSet) {
        2
    } else {
        1
    };
    let names = items
        .chunks(step)
        .map(|ch| match &ch[0] {
            Frame::Bulk(b) => String::from_utf8_lossy(b).into_owned(),
            other => panic!("element {other:?}"),
        })
        .collect();
    (next.to_vec(), names)
}

fn encoding(c: &mut RespConn, key: &str) -> String {
    match cmd(
        c,
        &[
            b"OBJECT".to_vec(),
            b"ENCODING".to_vec(),
            key.as_bytes().to_vec(),
        ],
    ) {
        Frame::Bulk(b) => String::from_utf8_lossy(&b).into_owned(),
        other => panic!("OBJECT ENCODING {other:?}"),
    }
}

fn check_case(c: &mut RespConn, kind: Kind, case: &Case) -> Result<(), String> {
    // xorshift64*: which transient elements go is part of the case.
    let mut state = case.churn_seed | 1;
    let mut next_rand = move || {
        state ^= state >> 12;
        state ^= state << 25;
        state ^= state >> 27;
        state.wrapping_mul(0x2545_f491_4f6c_dd1d)
    };
    ok(&cmd(c, &[b"FLUSHALL".to_vec()]));
    let stable: Vec<String> = (0..case.stable).map(|i| format!("s:{i}")).collect();
    add(c, kind, &stable);
    let mut live: Vec<String> = (0..case.transient).map(|i| format!("t:{i}")).collect();
    add(c, kind, &live);
    let mut next_id = case.transient;
    if kind != Kind::Keys {
        let enc = encoding(c, "obj");
        if enc != "hashtable" && enc != "skiplist" {
            return Err(format!("{kind:?} has encoding {enc}"));
        }
    }
    let mut seen: HashSet<String> = HashSet::new();
    let mut cursor = b"0".to_vec();
    let mut rounds = 0usize;
    loop {
        let (next, names) = scan_step(c, kind, &cursor, case.count);
        seen.extend(names);
        rounds += 1;
        if next == b"0" {
            break;
        }
        if rounds > 200_000 {
            return Err("scan does not terminate".into());
        }
        cursor = next;
        // Churn: new elements, removal of some transient ones, now and then a purge.
        let fresh: Vec<String> = (next_id..next_id + case.grow)
            .map(|i| format!("t:{i}"))
            .collect();
        next_id += case.grow;
        add(c, kind, &fresh);
        live.extend(fresh);
        let mut gone = Vec::new();
        let purge = rounds.is_multiple_of(case.purge_every);
        let n = if purge {
            live.len().saturating_sub(3)
        } else {
            case.shrink.min(live.len())
        };
        for _ in 0..n {
            let i = (next_rand() % live.len() as u64) as usize;
            gone.push(live.swap_remove(i));
        }
        remove(c, kind, &gone);
    }
    let missing: Vec<&String> = stable.iter().filter(|s| !seen.contains(*s)).collect();
    if missing.is_empty() {
        Ok(())
    } else {
        Err(format!(
            "{kind:?}: {} of {} stable elements never returned (first: {:?}) after {rounds} calls",
            missing.len(),
            stable.len(),
            missing.first()
        ))
    }
}

fn run_kind(kind: Kind, cases: u32) {
    // Small encodings return everything in one call; force the table encodings at once.
    let server = InProcess::start_with(&[
        ("hash-max-listpack-entries", "0"),
        ("zset-max-listpack-entries", "0"),
        ("set-max-intset-entries", "0"),
    ])
    .expect("start ferrodis");
    let seed = std::env::var("FERRODIS_SCAN_SEED")
        .ok()
        .and_then(|s| s.parse::<u64>().ok())
        .unwrap_or(0x5ca7_6a4a);
    let mut seed_bytes = [0u8; 32];
    seed_bytes[..8].copy_from_slice(&seed.to_le_bytes());
    seed_bytes[8] = kind as u8;
    let mut runner = TestRunner::new_with_rng(
        Config {
            cases,
            failure_persistence: None,
            max_shrink_iters: 200,
            ..Config::default()
        },
        TestRng::from_seed(RngAlgorithm::ChaCha, &seed_bytes),
    );
    let result = runner.run(&case(), |case| {
        let mut conn = server
            .connect()
            .map_err(|e| TestCaseError::fail(e.to_string()))?;
        check_case(&mut conn, kind, &case).map_err(TestCaseError::fail)
    });
    if let Err(e) = result {
        panic!("seed {seed}: {e}");
    }
}

use proptest::test_runner::TestCaseError;

#[test]
fn scan_returns_every_stable_key() {
    run_kind(Kind::Keys, 16);
}

#[test]
fn hscan_returns_every_stable_field() {
    run_kind(Kind::Hash, 16);
}

#[test]
fn sscan_returns_every_stable_member() {
    run_kind(Kind::Set, 16);
}

#[test]
fn zscan_returns_every_stable_member() {
    run_kind(Kind::ZSet, 16);
}
