//! Unit, edge-case and model tests for the quicklist.

use super::*;
use proptest::prelude::*;
use std::collections::VecDeque;

const PT: usize = DEFAULT_PACKED_THRESHOLD;

fn list_of(fill: i32, depth: u32, items: &[&str]) -> QuickList {
    QuickList::from_elems(fill, depth, PT, items.iter().map(|s| s.as_bytes()))
}

fn strs(v: Vec<Vec<u8>>) -> Vec<String> {
    v.into_iter()
        .map(|b| String::from_utf8_lossy(&b).into_owned())
        .collect()
}

#[test]
fn push_pop_both_ends() {
    let mut l = QuickList::default();
    l.push_back(b"a", PT);
    l.push_back(b"1", PT);
    l.push_front(b"-5000", PT);
    assert_eq!(l.len(), 3);
    assert_eq!(l.encoding(), "quicklist");
    assert_eq!(strs(l.to_vec()), ["-5000", "a", "1"]);
    assert_eq!(l.pop_back().as_deref(), Some(&b"1"[..]));
    assert_eq!(l.pop_front().as_deref(), Some(&b"-5000"[..]));
    assert_eq!(l.pop_front().as_deref(), Some(&b"a"[..]));
    assert_eq!(l.pop_front(), None);
    assert!(l.is_empty());
    assert_eq!(l.node_count(), 0);
}

#[test]
fn lrange_index_rules() {
    let l = list_of(2, 0, &["a", "b", "c", "d", "e"]);
    assert_eq!(strs(l.range(0, -1)), ["a", "b", "c", "d", "e"]);
    assert_eq!(strs(l.range(-2, -1)), ["d", "e"]);
    assert_eq!(strs(l.range(-100, 1)), ["a", "b"]);
    assert_eq!(strs(l.range(3, 100)), ["d", "e"]);
    assert!(l.range(4, 2).is_empty());
    assert!(l.range(5, 10).is_empty());
    assert!(l.range(-1, -2).is_empty());
    assert!(l.range(i64::MIN, i64::MIN).is_empty());
    assert_eq!(strs(l.range(i64::MIN, i64::MAX)).len(), 5);
}

#[test]
fn lindex_lset() {
    let mut l = list_of(3, 1, &["a", "b", "c", "d", "e", "f", "g"]);
    assert_eq!(l.get(0).as_deref(), Some(&b"a"[..]));
    assert_eq!(l.get(-1).as_deref(), Some(&b"g"[..]));
    assert_eq!(l.get(-7).as_deref(), Some(&b"a"[..]));
    assert_eq!(l.get(7), None);
    assert_eq!(l.get(-8), None);
    assert_eq!(l.get(i64::MIN), None);
    l.set(3, b"12345", PT).unwrap();
    l.set(-1, &[b'z'; 300], PT).unwrap();
    assert_eq!(l.set(7, b"x", PT), Err(ListError::IndexOutOfRange));
    assert_eq!(l.get(3).as_deref(), Some(&b"12345"[..]));
    assert_eq!(l.get(6), Some(vec![b'z'; 300]));
    l.check_integrity().unwrap();
}

#[test]
fn linsert_and_lrem() {
    let mut l = list_of(2, 0, &["a", "b", "a", "c", "a"]);
    assert!(l.insert_pivot(Where::Before, b"c", b"x", PT));
    assert!(l.insert_pivot(Where::After, b"a", b"y", PT));
    assert!(!l.insert_pivot(Where::After, b"nope", b"y", PT));
    assert_eq!(strs(l.to_vec()), ["a", "y", "b", "a", "x", "c", "a"]);
    assert_eq!(l.remove(b"a", -2), 2);
    assert_eq!(strs(l.to_vec()), ["a", "y", "b", "x", "c"]);
    assert_eq!(l.remove(b"zz", 0), 0);
    l.push_back(b"y", PT);
    assert_eq!(l.remove(b"y", 1), 1);
    assert_eq!(strs(l.to_vec()), ["a", "b", "x", "c", "y"]);
    assert_eq!(l.remove(b"y", 0), 1);
    l.check_integrity().unwrap();
}

#[test]
fn lrem_integers_compare_textually() {
    let mut l = list_of(-2, 0, &["1", "01", "1", "-0", "0"]);
    assert_eq!(l.remove(b"1", 0), 2);
    assert_eq!(strs(l.to_vec()), ["01", "-0", "0"]);
    assert_eq!(l.remove(b"0", 0), 1);
    assert_eq!(strs(l.to_vec()), ["01", "-0"]);
}

#[test]
fn ltrim_rules() {
    let mut l = list_of(2, 1, &["a", "b", "c", "d", "e", "f"]);
    l.trim(1, -2);
    assert_eq!(strs(l.to_vec()), ["b", "c", "d", "e"]);
    l.trim(-100, 100);
    assert_eq!(l.len(), 4);
    l.trim(2, 1);
    assert!(l.is_empty());
    let mut l = list_of(2, 1, &["a", "b"]);
    l.trim(5, 10);
    assert!(l.is_empty());
    l.check_integrity().unwrap();
}

#[test]
fn lpos_like_redis_docs() {
    // LPOS mylist c RANK/COUNT/MAXLEN examples from the Redis documentation.
    let l = list_of(-2, 0, &["a", "b", "c", "1", "2", "3", "c", "c"]);
    assert_eq!(l.positions(b"c", 1, 1, 0).unwrap(), [2]);
    assert_eq!(l.positions(b"c", 2, 1, 0).unwrap(), [6]);
    assert_eq!(l.positions(b"c", -1, 1, 0).unwrap(), [7]);
    assert_eq!(l.positions(b"c", 1, 2, 0).unwrap(), [2, 6]);
    assert_eq!(l.positions(b"c", -1, 2, 0).unwrap(), [7, 6]);
    assert_eq!(l.positions(b"c", 1, 0, 0).unwrap(), [2, 6, 7]);
    assert_eq!(l.positions(b"c", -2, 0, 0).unwrap(), [6, 2]);
    assert_eq!(l.positions(b"c", 1, 0, 2).unwrap(), Vec::<usize>::new());
    assert_eq!(l.positions(b"c", 1, 0, 3).unwrap(), [2]);
    assert_eq!(l.positions(b"c", -1, 0, 2).unwrap(), [7, 6]);
    assert_eq!(l.positions(b"c", 10, 0, 0).unwrap(), Vec::<usize>::new());
    assert_eq!(
        l.positions(b"c", i64::MIN, 0, 0).unwrap(),
        Vec::<usize>::new()
    );
    assert_eq!(l.positions(b"c", 0, 0, 0), Err(ListError::ZeroRank));
    assert_eq!(l.positions(b"3", 1, 1, 0).unwrap(), [5]);
}

#[test]
fn fill_rules_match_redis() {
    // Positive fill: at most that many entries per node.
    let items: Vec<String> = (0..10).map(|i| i.to_string()).collect();
    let l = QuickList::from_elems(3, 0, PT, items.iter().map(|s| s.as_bytes()));
    assert_eq!(l.node_count(), 4);
    // fill 0 behaves as 1 entry per node, like Redis.
    let l = QuickList::from_elems(0, 0, PT, items.iter().map(|s| s.as_bytes()));
    assert_eq!(l.node_count(), 10);
    // Size fill -1 (4 KiB): 100-byte strings take 103 bytes each (2 header, 1 backlen); a
    // node takes one more while 7 + 103 * k + 100 + 8 <= 4096, so k = 38 still admits one: 39.
    let big = [b'q'; 100];
    let l = QuickList::from_elems(-1, 0, PT, std::iter::repeat_n(&big[..], 100));
    assert_eq!(l.node_count(), 3);
    assert_eq!(l.nodes[0].count, 39);
    // Positive fill is still bounded by 8 KiB.
    let big = [b'q'; 1000];
    let l = QuickList::from_elems(100, 0, PT, std::iter::repeat_n(&big[..], 20));
    assert!(l.nodes.iter().all(|n| n.sz() <= SIZE_SAFETY_LIMIT));
    assert_eq!(l.nodes[0].count, 8);
}

#[test]
fn plain_nodes_above_threshold() {
    let mut l = QuickList::new(-2, 1);
    for s in ["aaaa", "b", "cccccc", "dd"] {
        l.push_back(s.as_bytes(), 3);
    }
    assert_eq!(l.plain_node_count(), 2);
    assert!(l.insert_pivot(Where::After, b"b", b"eeeee", 3));
    assert_eq!(l.plain_node_count(), 3);
    l.set(1, b"xxxxxxxx", 3).unwrap(); // packed "b" -> plain
    l.set(0, b"y", 3).unwrap(); // plain -> packed
    assert_eq!(strs(l.to_vec()), ["y", "xxxxxxxx", "eeeee", "cccccc", "dd"]);
    assert_eq!(l.pop_back().as_deref(), Some(&b"dd"[..]));
    assert_eq!(l.pop_back().as_deref(), Some(&b"cccccc"[..]));
    l.check_integrity().unwrap();
}

#[test]
fn interior_nodes_are_compressed() {
    let mut l = QuickList::new(-1, 1);
    let v = vec![b'a'; 500];
    for _ in 0..100 {
        l.push_back(&v, PT);
    }
    let n = l.node_count();
    assert!(n >= 10);
    assert_eq!(l.compressed_node_count(), n - 2);
    l.check_integrity().unwrap();
    assert_eq!(l.get(50), Some(v.clone()));
    assert_eq!(l.range(0, -1).len(), 100);
    // Mutations in the middle keep the invariant.
    l.insert_at(40, b"mid", PT);
    l.set(60, b"other", PT).unwrap();
    assert_eq!(l.remove(b"mid", 0), 1);
    l.check_integrity().unwrap();
    assert_eq!(l.compressed_node_count(), l.node_count() - 2);
    // "mid" (index 40) is gone, so "other" moved from 60 to 59.
    assert_eq!(l.get(59).as_deref(), Some(&b"other"[..]));
    // Depth 0 never compresses.
    let l = QuickList::from_elems(-1, 0, PT, std::iter::repeat_n(&v[..], 100));
    assert_eq!(l.compressed_node_count(), 0);
}

#[test]
fn reverse_iteration() {
    let l = list_of(2, 1, &["a", "1", "b", "2", "c"]);
    let mut it = l.iter_rev();
    let mut got = Vec::new();
    while let Some(e) = it.next_entry() {
        got.push(e.to_vec());
    }
    assert_eq!(strs(got), ["c", "2", "b", "1", "a"]);
    let mut it = l.iter_from(2, End::Tail);
    let mut got = Vec::new();
    while let Some(e) = it.next_entry() {
        got.push(e.to_vec());
    }
    assert_eq!(strs(got), ["b", "1", "a"]);
}

#[test]
fn moves() {
    let mut a = list_of(-2, 0, &["a", "b", "c"]);
    let mut b = QuickList::default();
    assert_eq!(
        a.move_to(End::Tail, &mut b, End::Head, PT).as_deref(),
        Some(&b"c"[..])
    );
    assert_eq!(
        a.rotate(End::Tail, End::Head, PT).as_deref(),
        Some(&b"b"[..])
    );
    assert_eq!(strs(a.to_vec()), ["b", "a"]);
    assert_eq!(strs(b.to_vec()), ["c"]);
    let mut e = QuickList::default();
    assert_eq!(e.rotate(End::Head, End::Tail, PT), None);
}

// ------------------------------------------------------------------ model test

#[derive(Debug, Clone)]
enum Op {
    Push(bool, Vec<u8>),
    Pop(bool, usize),
    Index(i64),
    Set(i64, Vec<u8>),
    Insert(bool, Vec<u8>, Vec<u8>),
    InsertAt(usize, Vec<u8>),
    Rem(i64, Vec<u8>),
    Trim(i64, i64),
    Range(i64, i64),
    Pos(Vec<u8>, i64, usize, usize),
    DelRange(usize, usize),
    Rotate(bool, bool),
    Compact,
}

fn elem() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        4 => prop::sample::select(vec![
            "a", "b", "c", "0", "1", "-1", "127", "128", "-4096", "70000", "-0", "007",
            "9223372036854775807", "-9223372036854775808", "",
        ])
        .prop_map(|s| s.as_bytes().to_vec()),
        2 => any::<i64>().prop_map(|i| i.to_string().into_bytes()),
        1 => (0usize..300, prop::sample::select(vec![b'x', b'y'])).prop_map(|(n, c)| vec![c; n]),
        1 => prop::collection::vec(any::<u8>(), 0..80),
    ]
}

fn idx() -> impl Strategy<Value = i64> {
    prop_oneof![-30i64..30, Just(i64::MIN), Just(i64::MAX)]
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        6 => (any::<bool>(), elem()).prop_map(|(h, v)| Op::Push(h, v)),
        2 => (any::<bool>(), 0usize..4).prop_map(|(h, n)| Op::Pop(h, n)),
        1 => idx().prop_map(Op::Index),
        1 => (idx(), elem()).prop_map(|(i, v)| Op::Set(i, v)),
        1 => (any::<bool>(), elem(), elem()).prop_map(|(b, p, v)| Op::Insert(b, p, v)),
        1 => (0usize..40, elem()).prop_map(|(i, v)| Op::InsertAt(i, v)),
        1 => (-3i64..4, elem()).prop_map(|(c, v)| Op::Rem(c, v)),
        1 => (idx(), idx()).prop_map(|(a, b)| Op::Trim(a, b)),
        1 => (idx(), idx()).prop_map(|(a, b)| Op::Range(a, b)),
        1 => (elem(), prop_oneof![-3i64..0, 1i64..4], 0usize..4, 0usize..10)
            .prop_map(|(v, r, c, m)| Op::Pos(v, r, c, m)),
        1 => (0usize..30, 0usize..10).prop_map(|(s, c)| Op::DelRange(s, c)),
        1 => (any::<bool>(), any::<bool>()).prop_map(|(a, b)| Op::Rotate(a, b)),
        1 => Just(Op::Compact),
    ]
}

fn end(h: bool) -> End {
    if h {
        End::Head
    } else {
        End::Tail
    }
}

fn model_range(m: &VecDeque<Vec<u8>>, a: i64, b: i64) -> Vec<Vec<u8>> {
    match normalize_range(a, b, m.len()) {
        Some((s, e)) => m.range(s..=e).cloned().collect(),
        None => Vec::new(),
    }
}

fn model_index(m: &VecDeque<Vec<u8>>, i: i64) -> Option<usize> {
    let len = m.len() as i128;
    let i = i as i128;
    let i = if i < 0 { i + len } else { i };
    (0..len).contains(&i).then_some(i as usize)
}

fn model_pos(
    m: &VecDeque<Vec<u8>>,
    v: &[u8],
    rank: i64,
    count: usize,
    maxlen: usize,
) -> Vec<usize> {
    let order: Vec<usize> = if rank > 0 {
        (0..m.len()).collect()
    } else {
        (0..m.len()).rev().collect()
    };
    let limit = if maxlen == 0 { usize::MAX } else { maxlen };
    let skip = rank.unsigned_abs() as usize - 1;
    let hits = order
        .into_iter()
        .take(limit)
        .filter(|&i| m[i] == v)
        .skip(skip);
    if count == 0 {
        hits.collect()
    } else {
        hits.take(count).collect()
    }
}

fn run(fill: i32, depth: u32, pt: usize, ops: Vec<Op>) -> Result<(), TestCaseError> {
    let mut l = QuickList::new(fill, depth);
    let mut m: VecDeque<Vec<u8>> = VecDeque::new();
    for op in ops {
        match op {
            Op::Push(h, v) => {
                l.push(end(h), &v, pt);
                if h {
                    m.push_front(v)
                } else {
                    m.push_back(v)
                }
            }
            Op::Pop(h, n) => {
                let got = l.pop_many(end(h), n);
                let want: Vec<Vec<u8>> = (0..n)
                    .map_while(|_| if h { m.pop_front() } else { m.pop_back() })
                    .collect();
                prop_assert_eq!(got, want);
            }
            Op::Index(i) => {
                prop_assert_eq!(l.get(i), model_index(&m, i).map(|i| m[i].clone()));
            }
            Op::Set(i, v) => {
                let r = l.set(i, &v, pt);
                match model_index(&m, i) {
                    Some(i) => {
                        prop_assert!(r.is_ok());
                        m[i] = v;
                    }
                    None => prop_assert_eq!(r, Err(ListError::IndexOutOfRange)),
                }
            }
            Op::Insert(before, pivot, v) => {
                let w = if before { Where::Before } else { Where::After };
                let found = l.insert_pivot(w, &pivot, &v, pt);
                let p = m.iter().position(|x| *x == pivot);
                prop_assert_eq!(found, p.is_some());
                if let Some(p) = p {
                    m.insert(if before { p } else { p + 1 }, v);
                }
            }
            Op::InsertAt(i, v) => {
                let i = i.min(m.len());
                l.insert_at(i, &v, pt);
                m.insert(i, v);
            }
            Op::Rem(c, v) => {
                let got = l.remove(&v, c);
                let mut want = 0;
                let limit = if c == 0 {
                    usize::MAX
                } else {
                    c.unsigned_abs() as usize
                };
                if c >= 0 {
                    let mut i = 0;
                    while i < m.len() && want < limit {
                        if m[i] == v {
                            m.remove(i);
                            want += 1;
                        } else {
                            i += 1;
                        }
                    }
                } else {
                    let mut i = m.len();
                    while i > 0 && want < limit {
                        i -= 1;
                        if m[i] == v {
                            m.remove(i);
                            want += 1;
                        }
                    }
                }
                prop_assert_eq!(got, want);
            }
            Op::Trim(a, b) => {
                l.trim(a, b);
                m = model_range(&m, a, b).into();
            }
            Op::Range(a, b) => prop_assert_eq!(l.range(a, b), model_range(&m, a, b)),
            Op::Pos(v, r, c, ml) => {
                prop_assert_eq!(
                    l.positions(&v, r, c, ml).unwrap(),
                    model_pos(&m, &v, r, c, ml)
                );
            }
            Op::DelRange(s, c) => {
                l.delete_range(s, c);
                if s < m.len() {
                    let e = (s + c).min(m.len());
                    m.drain(s..e);
                }
            }
            Op::Rotate(a, b) => {
                let got = l.rotate(end(a), end(b), pt);
                let want = if a { m.pop_front() } else { m.pop_back() };
                if let Some(v) = &want {
                    if b {
                        m.push_front(v.clone())
                    } else {
                        m.push_back(v.clone())
                    }
                }
                prop_assert_eq!(got, want);
            }
            Op::Compact => l.compact(),
        }
        prop_assert_eq!(l.len(), m.len());
        if let Err(e) = l.check_integrity() {
            return Err(TestCaseError::fail(e));
        }
    }
    prop_assert_eq!(l.to_vec(), Vec::from(m.clone()));
    let mut back = Vec::new();
    let mut it = l.iter_rev();
    while let Some(e) = it.next_entry() {
        back.push(e.to_vec());
    }
    back.reverse();
    prop_assert_eq!(back, Vec::from(m));
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(300))]
    #[test]
    fn model_matches_vecdeque(
        fill in prop_oneof![-5i32..0, 0i32..6, Just(128)],
        depth in 0u32..4,
        pt in prop_oneof![Just(PT), 1usize..40, 60usize..300],
        ops in prop::collection::vec(op(), 1..120),
    ) {
        run(fill, depth, pt, ops)?;
    }
}

// ------------------------------------------------------------------ memory

/// Bytes per element for 1M "element:N" (default fill -2, depth 0), compared with a real
/// redis-server's used_memory when one is installed. Run with
/// `cargo test -p ferrodis-ds --release list::tests::memory_1m -- --ignored --nocapture`.
#[test]
#[ignore]
fn memory_1m() {
    const N: usize = 1_000_000;
    let mut l = QuickList::default();
    for i in 0..N {
        l.push_back(format!("element:{i}").as_bytes(), PT);
    }
    let ours = l.allocated_bytes();
    println!(
        "ferrodis quicklist: {} nodes, {} bytes, {:.2} bytes/element",
        l.node_count(),
        ours,
        ours as f64 / N as f64
    );
    match redis_used_memory_delta(N) {
        Some(r) => println!(
            "redis-server used_memory delta: {r} bytes, {:.2} bytes/element; ratio ours/redis {:.3}",
            r as f64 / N as f64,
            ours as f64 / r as f64
        ),
        None => println!("redis-server/redis-cli not available: no comparison"),
    }
}

/// Loads the same list into a throwaway redis-server (unix socket only) through
/// `redis-cli --pipe` and returns the used_memory growth.
fn redis_used_memory_delta(n: usize) -> Option<i64> {
    use std::io::Write;
    use std::process::{Command, Stdio};
    let dir = std::env::temp_dir().join(format!("ferrodis-list-mem-{}", std::process::id()));
    std::fs::create_dir_all(&dir).ok()?;
    let sock = dir.join("redis.sock");
    let sock_s = sock.to_str()?.to_string();
    let mut server = Command::new("redis-server")
        .args([
            "--port",
            "0",
            "--unixsocket",
            &sock_s,
            "--save",
            "",
            "--appendonly",
            "no",
        ])
        .arg("--dir")
        .arg(&dir)
        .stdout(Stdio::null())
        .spawn()
        .ok()?;
    let cli = |args: &[&str]| -> Option<String> {
        let out = Command::new("redis-cli")
            .args(["-s", &sock_s])
            .args(args)
            .output()
            .ok()?;
        Some(String::from_utf8_lossy(&out.stdout).into_owned())
    };
    let mut ready = false;
    for _ in 0..100 {
        if cli(&["PING"]).is_some_and(|s| s.contains("PONG")) {
            ready = true;
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    let used = |cli: &dyn Fn(&[&str]) -> Option<String>| -> Option<i64> {
        let info = cli(&["INFO", "memory"])?;
        info.lines()
            .find_map(|l| l.strip_prefix("used_memory:"))
            .and_then(|v| v.trim().parse().ok())
    };
    let result = (|| {
        if !ready {
            return None;
        }
        let before = used(&cli)?;
        let mut proto = Vec::new();
        for i in 0..n {
            let v = format!("element:{i}");
            write!(
                proto,
                "*3\r\n$5\r\nRPUSH\r\n$4\r\nlist\r\n${}\r\n{}\r\n",
                v.len(),
                v
            )
            .ok()?;
        }
        let mut pipe = Command::new("redis-cli")
            .args(["-s", &sock_s, "--pipe"])
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .spawn()
            .ok()?;
        pipe.stdin.take()?.write_all(&proto).ok()?;
        pipe.wait().ok()?;
        let after = used(&cli)?;
        Some(after - before)
    })();
    let _ = cli(&["SHUTDOWN", "NOSAVE"]);
    let _ = server.wait();
    let _ = std::fs::remove_dir_all(&dir);
    result
}
