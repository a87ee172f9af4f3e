//! Fuzzes the RDB loader (`ferrodis_persistence::load`), which reads files from disk and
//! RESTORE payloads from clients: any bytes must give a value or an error, never a panic, an
//! out-of-bounds read or an allocation the input does not pay for. The first byte picks the
//! entry point; for DUMP payloads the CRC is recomputed half of the time so corrupted bodies
//! reach the parser. A payload that loads must dump and load again.
#![no_main]

use ferrodis_persistence::load::{self, Limits};
use ferrodis_persistence::rdb;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Some((&ctl, rest)) = data.split_first() else {
        return;
    };
    let limits = Limits::default();
    match ctl % 4 {
        0 => {
            let _ = load::load_rdb(rest, &limits, |_| Ok(()));
        }
        1 => {
            let mut file = b"REDIS0010".to_vec();
            file.extend_from_slice(rest);
            let _ = load::load_rdb(&file[..], &limits, |_| Ok(()));
        }
        _ => {
            let mut payload = rest.to_vec();
            if ctl % 4 == 3 && payload.len() >= 10 {
                let n = payload.len();
                payload[n - 10] = 10;
                payload[n - 9] = 0;
                let crc = rdb::payload_crc(&payload[..n - 8]);
                payload[n - 8..].copy_from_slice(&crc.to_le_bytes());
            }
            if let Ok(v) = load::load_dump(&payload, &limits) {
                let again = rdb::dump_payload(&v);
                assert!(load::load_dump(&again, &limits).is_ok());
            }
        }
    }
});
