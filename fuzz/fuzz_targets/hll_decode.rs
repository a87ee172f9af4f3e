//! Fuzzes the HyperLogLog decoder and editor with arbitrary values (a client can SETRANGE any
//! bytes into a HLL): for input accepted by `is_valid`, counting, merging, decoding, sparse to
//! dense conversion and register updates never panic nor read or write out of bounds, and a
//! sparse value that counts successfully converts to a dense one with the same estimate.
//! The first two bytes choose the register updates applied; the rest is the value, with the
//! "HYLL" header forced half of the time so that most inputs get past the magic check.
#![no_main]

use ferrodis_ds::hll;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if data.len() < 3 {
        return;
    }
    let (ctl, rest) = data.split_at(2);
    let mut value = rest.to_vec();
    if ctl[0] & 1 == 1 && value.len() >= 5 {
        value[..4].copy_from_slice(b"HYLL");
        value[4] &= 1;
    }
    if !hll::is_valid(&value) {
        return;
    }
    let counted = hll::count(&value);
    let _ = hll::cached_card(&value);
    let _ = hll::decode_sparse(&value);
    let mut max = Box::new([0u8; hll::REGISTERS]);
    let merged = hll::merge_into(&mut max, &value);

    let mut dense = value.clone();
    if let Ok(converted) = hll::sparse_to_dense(&mut dense) {
        assert_eq!(dense.len(), hll::DENSE_SIZE);
        assert!(hll::is_valid(&dense));
        if converted {
            // A sparse value that converts is one whose registers are all covered.
            assert_eq!(hll::count(&dense), counted);
            assert!(merged.is_ok());
        }
        let _ = hll::dense_registers(&dense);
    }

    let mut edited = value.clone();
    let limit = u64::from(ctl[1]) * 16;
    for (i, &c) in ctl.iter().chain(rest.iter().take(8)).enumerate() {
        let index = (usize::from(c) * 131 + i * 977) % hll::REGISTERS;
        let count = c % 52;
        if hll::set_register(&mut edited, index, count.max(1), limit).is_err() {
            break;
        }
    }
    let _ = hll::count(&edited);
    let mut dest = value;
    let _ = hll::store_registers(&mut dest, &max, ctl[1] & 1 == 1, limit);
});
