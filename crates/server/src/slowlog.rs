//! SLOWLOG: the most recent commands slower than `slowlog-log-slower-than`.

use bytes::Bytes;
use std::collections::VecDeque;

/// Redis keeps at most this many arguments of a logged command...
const MAX_ARGC: usize = 32;
/// ...and this many bytes of each.
const MAX_STRING: usize = 128;

#[derive(Debug, Clone)]
pub struct SlowEntry {
    pub id: u64,
    pub time: i64,
    pub duration_us: u64,
    pub argv: Vec<Bytes>,
    pub peer: String,
    pub name: Bytes,
}

#[derive(Debug, Default)]
pub struct SlowLog {
    entries: VecDeque<SlowEntry>,
    next_id: u64,
}

impl SlowLog {
    pub fn push(
        &mut self,
        argv: &[Bytes],
        duration_us: u64,
        peer: String,
        name: Bytes,
        max_len: usize,
    ) {
        let mut args = Vec::with_capacity(argv.len().min(MAX_ARGC));
        let argc = argv.len().min(MAX_ARGC);
        for (j, a) in argv.iter().take(argc).enumerate() {
            if argc != argv.len() && j == argc - 1 {
                args.push(Bytes::from(format!(
                    "... ({} more arguments)",
                    argv.len() - argc + 1
                )));
            } else if a.len() > MAX_STRING {
                let mut v = a[..MAX_STRING].to_vec();
                v.extend_from_slice(
                    format!("... ({} more bytes)", a.len() - MAX_STRING).as_bytes(),
                );
                args.push(Bytes::from(v));
            } else {
                args.push(a.clone());
            }
        }
        let e = SlowEntry {
            id: self.next_id,
            time: ferrodis_commands::engine::wall_ms() / 1000,
            duration_us,
            argv: args,
            peer,
            name,
        };
        self.next_id += 1;
        self.entries.push_front(e);
        self.trim(max_len);
    }

    pub fn trim(&mut self, max_len: usize) {
        while self.entries.len() > max_len {
            self.entries.pop_back();
        }
    }

    pub fn reset(&mut self) {
        self.entries.clear();
    }

    pub fn len(&self) -> usize {
        self.entries.len()
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    pub fn iter(&self) -> impl Iterator<Item = &SlowEntry> {
        self.entries.iter()
    }
}
