use super::*;

/// A tiny deterministic generator for test data.
fn rng(seed: u64) -> impl FnMut() -> u64 {
    let mut s = seed | 1;
    move || {
        s ^= s << 13;
        s ^= s >> 7;
        s ^= s << 17;
        s
    }
}

#[test]
fn empty_hll_layout() {
    let h = new_sparse();
    assert_eq!(h.len(), HDR_SIZE + 2);
    assert_eq!(&h[..5], b"HYLL\x01");
    assert_eq!(&h[16..], &[0x7f, 0xff]);
    assert!(is_valid(&h));
    assert_eq!(count(&h), Ok(0));
    assert_eq!(cached_card(&h), Some(0));
    assert_eq!(decode_sparse(&h), "Z:16384");
}

#[test]
fn pat_len_bounds() {
    let mut next = rng(7);
    for _ in 0..10_000 {
        let e = next().to_le_bytes();
        let (i, c) = pat_len(&e[..(next() % 9) as usize]);
        assert!(i < REGISTERS);
        assert!((1..=51).contains(&c));
    }
}

/// Model test: the sparse editor, once converted, holds exactly the registers of a plain
/// byte-array model, and the estimates of the sparse, dense and raw forms agree.
#[test]
fn sparse_matches_model() {
    let mut next = rng(42);
    for round in 0..200 {
        let mut model = [0u8; REGISTERS];
        let mut sparse = new_sparse();
        let n = next() % 600;
        for _ in 0..n {
            let (i, c) = if round % 3 == 0 {
                // Clustered indexes exercise VAL splitting and merging.
                ((next() % 40) as usize, (next() % 5 + 1) as u8)
            } else {
                pat_len(&next().to_le_bytes())
            };
            let changed = set_register(&mut sparse, i, c, 3000).unwrap();
            assert_eq!(changed, c > model[i]);
            model[i] = model[i].max(c);
        }
        assert_eq!(count(&sparse), Ok(count_registers(&model)));
        let mut max = [0u8; REGISTERS];
        merge_into(&mut max, &sparse).unwrap();
        assert_eq!(max, model);
        let mut dense = sparse.clone();
        sparse_to_dense(&mut dense).unwrap();
        assert_eq!(dense.len(), DENSE_SIZE);
        assert!(is_valid(&dense));
        assert_eq!(dense_registers(&dense), model.to_vec());
        assert_eq!(count(&dense), Ok(count_registers(&model)));
        if encoding(&sparse) == SPARSE {
            assert!(sparse.len() <= 3000);
        }
    }
}

#[test]
fn small_sparse_limit_promotes() {
    let mut h = new_sparse();
    let mut next = rng(3);
    for _ in 0..100 {
        add(&mut h, &next().to_le_bytes(), 40).unwrap();
    }
    assert_eq!(encoding(&h), DENSE);
    assert_eq!(h.len(), DENSE_SIZE);
}

#[test]
fn estimate_is_close() {
    let mut h = new_sparse();
    for i in 0..20_000u32 {
        add(&mut h, format!("ele-{i}").as_bytes(), 3000).unwrap();
    }
    let c = count(&h).unwrap() as f64;
    assert!((c - 20_000.0).abs() < 20_000.0 * 0.05, "{c}");
}

#[test]
fn cache_bits() {
    let mut h = new_sparse();
    invalidate_cache(&mut h);
    assert_eq!(cached_card(&h), None);
    set_cached_card(&mut h, 1234);
    assert_eq!(cached_card(&h), Some(1234));
}

#[test]
fn validity_checks() {
    assert!(!is_valid(b"HYLL"));
    let mut h = new_sparse();
    h[4] = 2;
    assert!(!is_valid(&h));
    h[4] = DENSE;
    assert!(!is_valid(&h));
    h[0] = b'X';
    assert!(!is_valid(&h));
}

/// Arbitrary corruption never panics: every operation either works or reports Corrupt.
#[test]
fn corrupted_values_never_panic() {
    let mut next = rng(99);
    for _ in 0..3000 {
        let mut h = new_sparse();
        for _ in 0..(next() % 300) {
            add(&mut h, &next().to_le_bytes(), 3000).unwrap();
        }
        for _ in 0..(next() % 5 + 1) {
            let pos = (next() as usize) % h.len();
            h[pos] = next() as u8;
        }
        if next().is_multiple_of(4) {
            let cut = (next() as usize) % h.len();
            h.truncate(cut.max(HDR_SIZE));
        }
        exercise(&h, &mut next);
    }
}

pub(crate) fn exercise(h: &[u8], next: &mut impl FnMut() -> u64) {
    if !is_valid(h) {
        return;
    }
    let _ = count(h);
    let _ = decode_sparse(h);
    let _ = cached_card(h);
    let mut max = [0u8; REGISTERS];
    let _ = merge_into(&mut max, h);
    let mut w = h.to_vec();
    for _ in 0..4 {
        let idx = (next() as usize) % REGISTERS;
        let cnt = (next() % 51 + 1) as u8;
        let _ = set_register(&mut w, idx, cnt, 3000);
    }
    let _ = count(&w);
    let mut d = h.to_vec();
    let _ = sparse_to_dense(&mut d);
    let _ = dense_registers(&d);
    let mut s = h.to_vec();
    let _ = store_registers(&mut s, &max, next().is_multiple_of(2), 3000);
}

#[test]
fn unpacked_registers_match_bitwise_access() {
    let mut next = rng(5);
    let regs: Vec<u8> = (0..REGISTERS * BITS / 8).map(|_| next() as u8).collect();
    let mut seen = 0;
    dense_each(&regs, |i, v| {
        assert_eq!(v, dense_get(&regs, i), "register {i}");
        seen += 1;
    });
    assert_eq!(seen, REGISTERS);
}
