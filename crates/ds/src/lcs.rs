//! Longest common subsequence, as computed by Redis 7.0's LCS command
//! (`lcsCommand` in `t_string.c`).
//!
//! Redis fills the classic (|a|+1)×(|b|+1) dynamic-programming table of
//! `u32` lengths, then walks back from the bottom-right corner, preferring to
//! step in `a` only when that keeps a strictly longer LCS. That walk decides
//! *which* LCS is returned and the order of the IDX match ranges (from the end
//! of the strings towards the start), so it is reproduced step for step.
//!
//! Memory: the table costs `(|a|+1)·(|b|+1)·4` bytes. Callers pass a cap —
//! Redis uses `proto-max-bulk-len` (512 MB by default) — and get
//! [`LcsError::TableTooLarge`] above it, or [`LcsError::AllocationFailed`] if
//! the allocator refuses; strings of `u32::MAX - 1` bytes or more are refused
//! outright, as in Redis.
//!
//! Depends only on `std` and `thiserror`.

/// One run of consecutive matching bytes, reported as inclusive ranges.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LcsMatch {
    /// `(start, end)` in `a`, inclusive.
    pub a: (usize, usize),
    /// `(start, end)` in `b`, inclusive.
    pub b: (usize, usize),
    /// Length of the run (`end - start + 1`), what WITHMATCHLEN prints.
    pub len: usize,
}

/// Everything the LCS command can reply with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LcsResult {
    /// The common subsequence itself (the default reply).
    pub string: Vec<u8>,
    /// Its length (LEN, and the `len` field of IDX).
    pub len: usize,
    /// Match ranges in Redis's order (last one first), already filtered by
    /// the minimum match length (the `matches` field of IDX).
    pub matches: Vec<LcsMatch>,
}

/// Why the LCS was not computed. Display gives Redis's message.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum LcsError {
    /// One input is `u32::MAX - 1` bytes or longer.
    #[error("String too long for LCS")]
    StringTooLong,
    /// The table would need `needed` bytes, more than `limit`.
    #[error("Insufficient memory, transient memory for LCS exceeds proto-max-bulk-len")]
    TableTooLarge { needed: u64, limit: u64 },
    /// The table size overflows, or the allocation was refused.
    #[error("Insufficient memory, failed allocating transient memory for LCS")]
    AllocationFailed,
}

/// Computes the LCS of `a` and `b` like Redis's LCS command.
///
/// `min_match_len` filters the reported ranges (MINMATCHLEN; 0 keeps all,
/// negative values must be clamped to 0 by the caller as Redis does).
/// `max_table_bytes` is the cap on the DP table (`proto-max-bulk-len`).
pub fn lcs(
    a: &[u8],
    b: &[u8],
    min_match_len: u64,
    max_table_bytes: u64,
) -> Result<LcsResult, LcsError> {
    const LIMIT: usize = u32::MAX as usize - 1;
    if a.len() >= LIMIT || b.len() >= LIMIT {
        return Err(LcsError::StringTooLong);
    }
    let (alen, blen) = (a.len(), b.len());
    let width = blen + 1;
    let cells = (alen as u64 + 1)
        .checked_mul(blen as u64 + 1)
        .ok_or(LcsError::AllocationFailed)?;
    let needed = cells.checked_mul(4).ok_or(LcsError::AllocationFailed)?;
    if needed > max_table_bytes {
        return Err(LcsError::TableTooLarge {
            needed,
            limit: max_table_bytes,
        });
    }
    let cells = usize::try_from(cells).map_err(|_| LcsError::AllocationFailed)?;
    let mut table: Vec<u32> = Vec::new();
    table
        .try_reserve_exact(cells)
        .map_err(|_| LcsError::AllocationFailed)?;
    table.resize(cells, 0);

    // table[i * width + j] = LCS length of a[..i] and b[..j]. Row 0 and
    // column 0 stay 0.
    for i in 1..=alen {
        let (prev, cur) = table.split_at_mut(i * width);
        let prev = &prev[(i - 1) * width..];
        let cur = &mut cur[..width];
        let ac = a[i - 1];
        for j in 1..=blen {
            cur[j] = if ac == b[j - 1] {
                prev[j - 1] + 1
            } else {
                prev[j].max(cur[j - 1])
            };
        }
    }
    let cell = |i: usize, j: usize| table[i * width + j];

    let total = cell(alen, blen) as usize;
    let mut string = vec![0u8; total];
    let mut matches = Vec::new();
    let mut idx = total;
    // `arange_start == alen` means "no range open", as in Redis.
    let (mut arange_start, mut arange_end) = (alen, 0usize);
    let (mut brange_start, mut brange_end) = (0usize, 0usize);
    let (mut i, mut j) = (alen, blen);
    while i > 0 && j > 0 {
        let mut emit = false;
        if a[i - 1] == b[j - 1] {
            idx -= 1;
            string[idx] = a[i - 1];
            if arange_start == alen {
                arange_start = i - 1;
                arange_end = i - 1;
                brange_start = j - 1;
                brange_end = j - 1;
            } else if arange_start == i && brange_start == j {
                // Contiguous with the open range: extend it backwards.
                arange_start -= 1;
                brange_start -= 1;
            } else {
                emit = true;
            }
            if arange_start == 0 || brange_start == 0 {
                emit = true;
            }
            i -= 1;
            j -= 1;
        } else {
            if cell(i - 1, j) > cell(i, j - 1) {
                i -= 1;
            } else {
                j -= 1;
            }
            if arange_start != alen {
                emit = true;
            }
        }
        if emit {
            let len = arange_end.wrapping_sub(arange_start).wrapping_add(1);
            if min_match_len == 0 || len as u64 >= min_match_len {
                matches.push(LcsMatch {
                    a: (arange_start, arange_end),
                    b: (brange_start, brange_end),
                    len,
                });
            }
            arange_start = alen;
        }
    }
    Ok(LcsResult {
        string,
        len: total,
        matches,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const CAP: u64 = 512 * 1024 * 1024;

    const RNA1: &str = "CACCTTCCCAGGTAACAAACCAACCAACTTTCGATCTCTTGTAGATCTGTTCTCTAAACGAACTTTAAAATCTGTGTGGCTGTCACTCGGCTGCATGCTTAGTGCACTCACGCAGTATAATTAATAACTAATTACTGTCGTTGACAGGACACGAGTAACTCGTCTATCTTCTGCAGGCTGCTTACGGTTTCGTCCGTGTTGCAGCCGATCATCAGCACATCTAGGTTTCGTCCGGGTGTG";
    const RNA2: &str = "ATTAAAGGTTTATACCTTCCCAGGTAACAAACCAACCAACTTTCGATCTCTTGTAGATCTGTTCTCTAAACGAACTTTAAAATCTGTGTGGCTGTCACTCGGCTGCATGCTTAGTGCACTCACGCAGTATAATTAATAACTAATTACTGTCGTTGACAGGACACGAGTAACTCGTCTATCTTCTGCAGGCTGCTTACGGTTTCGTCCGTGTTGCAGCCGATCATCAGCACATCTAGGTTT";
    const RNALCS: &str = "ACCTTCCCAGGTAACAAACCAACCAACTTTCGATCTCTTGTAGATCTGTTCTCTAAACGAACTTTAAAATCTGTGTGGCTGTCACTCGGCTGCATGCTTAGTGCACTCACGCAGTATAATTAATAACTAATTACTGTCGTTGACAGGACACGAGTAACTCGTCTATCTTCTGCAGGCTGCTTACGGTTTCGTCCGTGTTGCAGCCGATCATCAGCACATCTAGGTTT";

    fn mk(a: (usize, usize), b: (usize, usize), len: usize) -> LcsMatch {
        LcsMatch { a, b, len }
    }

    /// Cases from Redis's tests/unit/type/string.tcl.
    #[test]
    fn string_tcl_lcs() -> Result<(), LcsError> {
        let r = lcs(RNA1.as_bytes(), RNA2.as_bytes(), 0, CAP)?;
        assert_eq!(r.string, RNALCS.as_bytes());
        assert_eq!(r.len, RNALCS.len());
        assert_eq!(
            r.matches,
            [
                mk((238, 238), (239, 239), 1),
                mk((236, 236), (238, 238), 1),
                mk((229, 230), (236, 237), 2),
                mk((224, 224), (235, 235), 1),
                mk((1, 222), (13, 234), 222),
            ]
        );
        let r = lcs(RNA1.as_bytes(), RNA2.as_bytes(), 5, CAP)?;
        assert_eq!(r.matches, [mk((1, 222), (13, 234), 222)]);
        Ok(())
    }

    #[test]
    fn small_cases() -> Result<(), LcsError> {
        // The example from the LCS command documentation.
        let r = lcs(b"ohmytext", b"mynewtext", 0, CAP)?;
        assert_eq!(r.string, b"mytext");
        assert_eq!(r.matches, [mk((4, 7), (5, 8), 4), mk((2, 3), (0, 1), 2)]);
        let r = lcs(b"ohmytext", b"mynewtext", 4, CAP)?;
        assert_eq!(r.matches, [mk((4, 7), (5, 8), 4)]);

        let r = lcs(b"", b"abc", 0, CAP)?;
        assert_eq!((r.string.len(), r.len, r.matches.len()), (0, 0, 0));
        let r = lcs(b"abc", b"xyz", 0, CAP)?;
        assert_eq!((r.len, r.matches.len()), (0, 0));
        let r = lcs(b"abc", b"abc", 0, CAP)?;
        assert_eq!(r.matches, [mk((0, 2), (0, 2), 3)]);
        // Tie-breaking: on equal lengths Redis steps back in `b` first.
        let r = lcs(b"ab", b"ba", 0, CAP)?;
        assert_eq!(r.string, b"b");
        assert_eq!(r.matches, [mk((1, 1), (0, 0), 1)]);
        Ok(())
    }

    #[test]
    fn refuses_large_tables() {
        let a = vec![b'a'; 1000];
        let b = vec![b'b'; 1000];
        // 1001 * 1001 * 4 = 4_008_004 bytes.
        assert_eq!(
            lcs(&a, &b, 0, 4_008_003),
            Err(LcsError::TableTooLarge {
                needed: 4_008_004,
                limit: 4_008_003
            })
        );
        assert!(lcs(&a, &b, 0, 4_008_004).is_ok());
        assert_eq!(
            LcsError::TableTooLarge {
                needed: 1,
                limit: 0
            }
            .to_string(),
            "Insufficient memory, transient memory for LCS exceeds proto-max-bulk-len"
        );
        assert_eq!(
            LcsError::AllocationFailed.to_string(),
            "Insufficient memory, failed allocating transient memory for LCS"
        );
        assert_eq!(
            LcsError::StringTooLong.to_string(),
            "String too long for LCS"
        );
    }

    /// Plain LCS length, as a model.
    fn model_len(a: &[u8], b: &[u8]) -> usize {
        let mut prev = vec![0usize; b.len() + 1];
        for &x in a {
            let mut cur = vec![0usize; b.len() + 1];
            for (j, &y) in b.iter().enumerate() {
                cur[j + 1] = if x == y {
                    prev[j] + 1
                } else {
                    prev[j + 1].max(cur[j])
                };
            }
            prev = cur;
        }
        prev[b.len()]
    }

    fn is_subsequence(sub: &[u8], s: &[u8]) -> bool {
        let mut it = s.iter();
        sub.iter().all(|c| it.any(|x| x == c))
    }

    proptest! {
        #[test]
        fn lcs_properties(a in proptest::collection::vec(0u8..4, 0..40),
                          b in proptest::collection::vec(0u8..4, 0..40)) {
            let r = lcs(&a, &b, 0, CAP).map_err(|e| TestCaseError::fail(e.to_string()))?;
            prop_assert_eq!(r.len, model_len(&a, &b));
            prop_assert_eq!(r.string.len(), r.len);
            prop_assert!(is_subsequence(&r.string, &a));
            prop_assert!(is_subsequence(&r.string, &b));
            // Ranges are real matches, disjoint, in descending order, and
            // together spell the LCS (read from last to first).
            let mut spelled = Vec::new();
            for m in r.matches.iter().rev() {
                prop_assert_eq!(m.len, m.a.1 - m.a.0 + 1);
                prop_assert_eq!(&a[m.a.0..=m.a.1], &b[m.b.0..=m.b.1]);
                spelled.extend_from_slice(&a[m.a.0..=m.a.1]);
            }
            prop_assert_eq!(spelled, r.string.clone());
            for w in r.matches.windows(2) {
                prop_assert!(w[0].a.0 > w[1].a.1 && w[0].b.0 > w[1].b.1);
            }
        }
    }

    #[test]
    #[ignore = "needs a real redis-server binary"]
    fn differential_against_redis_lcs() {
        use crate::glob::tests::{Client, RedisServer, Reply, Rng};
        let server = RedisServer::start();
        let mut c = Client::connect(server.port);
        let mut rng = Rng(0x1234_5678_9abc_def1);
        for round in 0..2000 {
            let alphabet = 2 + rng.below(4);
            let gen = |rng: &mut Rng| -> Vec<u8> {
                let n = rng.below(30) as usize;
                (0..n).map(|_| b'a' + rng.below(alphabet) as u8).collect()
            };
            let (a, b) = (gen(&mut rng), gen(&mut rng));
            let min = rng.below(4);
            c.cmd(&[b"SET", b"a", &a]);
            c.cmd(&[b"SET", b"b", &b]);
            let ours = lcs(&a, &b, min, CAP).expect("small");
            let s = c.cmd(&[b"LCS", b"a", b"b"]);
            assert_eq!(s, Reply::Bulk(Some(ours.string.clone())), "round {round}");
            let min_s = min.to_string();
            let idx = c.cmd(&[
                b"LCS",
                b"a",
                b"b",
                b"IDX",
                b"WITHMATCHLEN",
                b"MINMATCHLEN",
                min_s.as_bytes(),
            ]);
            let int = |v: usize| Reply::Int(v as i64);
            let want = Reply::Array(vec![
                Reply::Bulk(Some(b"matches".to_vec())),
                Reply::Array(
                    ours.matches
                        .iter()
                        .map(|m| {
                            Reply::Array(vec![
                                Reply::Array(vec![int(m.a.0), int(m.a.1)]),
                                Reply::Array(vec![int(m.b.0), int(m.b.1)]),
                                int(m.len),
                            ])
                        })
                        .collect(),
                ),
                Reply::Bulk(Some(b"len".to_vec())),
                int(ours.len),
            ]);
            assert_eq!(
                idx,
                want,
                "round {round}: {:?} {:?}",
                String::from_utf8_lossy(&a),
                String::from_utf8_lossy(&b)
            );
        }
    }
}
