//! Redis Cluster key slots: CRC16 (XMODEM) of the key's hash tag, modulo 16384.
//!
//! The shard of a key is derived from its slot, so every key of one slot lives in one shard and
//! same-slot multi-key commands lock a single shard.

/// Number of Redis Cluster slots.
pub const SLOTS: u16 = 16384;

/// CRC16-CCITT/XMODEM (polynomial 0x1021, initial value 0, no reflection) lookup table, built at
/// compile time.
const CRC16_TABLE: [u16; 256] = {
    let mut table = [0u16; 256];
    let mut i = 0;
    while i < 256 {
        let mut crc = (i as u16) << 8;
        let mut bit = 0;
        while bit < 8 {
            crc = if crc & 0x8000 != 0 {
                (crc << 1) ^ 0x1021
            } else {
                crc << 1
            };
            bit += 1;
        }
        table[i] = crc;
        i += 1;
    }
    table
};

/// Slicing-by-8 tables: `SLICED[k][x]` is the CRC contribution of byte `x`
/// followed by `k` zero bytes. Eight independent lookups per 8 input bytes
/// instead of a serial chain of eight: the slot hash is computed for every
/// keyed command (hot path), so its latency matters.
const SLICED: [[u16; 256]; 8] = {
    let mut t = [[0u16; 256]; 8];
    t[0] = CRC16_TABLE;
    let mut k = 1;
    while k < 8 {
        let mut x = 0;
        while x < 256 {
            let prev = t[k - 1][x];
            t[k][x] = (prev << 8) ^ CRC16_TABLE[(prev >> 8) as usize];
            x += 1;
        }
        k += 1;
    }
    t
};

/// CRC16-XMODEM of `data`, the checksum Redis Cluster uses for key slots.
pub fn crc16(data: &[u8]) -> u16 {
    let mut crc = 0u16;
    let mut chunks = data.chunks_exact(8);
    for c in &mut chunks {
        crc = SLICED[7][usize::from((crc >> 8) as u8 ^ c[0])]
            ^ SLICED[6][usize::from(crc as u8 ^ c[1])]
            ^ SLICED[5][usize::from(c[2])]
            ^ SLICED[4][usize::from(c[3])]
            ^ SLICED[3][usize::from(c[4])]
            ^ SLICED[2][usize::from(c[5])]
            ^ SLICED[1][usize::from(c[6])]
            ^ SLICED[0][usize::from(c[7])];
    }
    chunks.remainder().iter().fold(crc, |crc, &b| {
        (crc << 8) ^ CRC16_TABLE[usize::from((crc >> 8) as u8 ^ b)]
    })
}

/// The part of `key` that is hashed: the bytes between the first `{` and the first `}` after it,
/// if that is non-empty; otherwise the whole key.
pub fn hash_tag(key: &[u8]) -> &[u8] {
    let Some(open) = key.iter().position(|&c| c == b'{') else {
        return key;
    };
    let rest = key.get(open + 1..).unwrap_or_default();
    match rest.iter().position(|&c| c == b'}') {
        Some(0) | None => key,
        Some(close) => rest.get(..close).unwrap_or(key),
    }
}

/// The cluster slot of `key` (0..16384).
pub fn slot_of(key: &[u8]) -> u16 {
    crc16(hash_tag(key)) & (SLOTS - 1)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The byte-at-a-time definition the sliced version must equal.
    fn crc16_bytewise(data: &[u8]) -> u16 {
        data.iter().fold(0u16, |crc, &b| {
            (crc << 8) ^ CRC16_TABLE[usize::from((crc >> 8) as u8 ^ b)]
        })
    }

    #[test]
    fn sliced_crc_equals_bytewise() {
        let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
        for len in 0..200 {
            let data: Vec<u8> = (0..len)
                .map(|_| {
                    x ^= x << 13;
                    x ^= x >> 7;
                    x ^= x << 17;
                    x as u8
                })
                .collect();
            assert_eq!(crc16(&data), crc16_bytewise(&data), "len {len}");
        }
    }

    #[test]
    fn crc16_check_vector() {
        assert_eq!(crc16(b"123456789"), 0x31C3);
        assert_eq!(crc16(b""), 0);
    }

    #[test]
    fn hash_tags_follow_cluster_rules() {
        assert_eq!(hash_tag(b"{user1000}.following"), b"user1000");
        assert_eq!(hash_tag(b"foo{}{bar}"), b"foo{}{bar}");
        assert_eq!(hash_tag(b"foo{{bar}}zap"), b"{bar");
        assert_eq!(hash_tag(b"foo{bar}{zap}"), b"bar");
        assert_eq!(hash_tag(b"foo{bar"), b"foo{bar");
        assert_eq!(hash_tag(b"nobraces"), b"nobraces");
    }

    #[test]
    fn slots_match_redis() {
        // Values from real `CLUSTER KEYSLOT` output.
        assert_eq!(slot_of(b"foo"), 12182);
        assert_eq!(slot_of(b"bar"), 5061);
        assert_eq!(
            slot_of(b"{user1000}.following"),
            slot_of(b"{user1000}.followers")
        );
        assert_eq!(slot_of(b"somekey"), 11058);
        assert_eq!(slot_of(b""), 0);
    }
}
