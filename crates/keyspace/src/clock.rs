//! The per-object access clock (Redis's 24-bit LRU clock) and OBJECT IDLETIME.
//!
//! Each entry stores 24 bits of "last access time" in seconds, wrapping every ~194 days, exactly
//! like Redis's `robj.lru` with `LRU_CLOCK_RESOLUTION` = 1000 ms. In LFU mode the same 24 bits hold
//! Redis's LFU data (16-bit minutes + 8-bit log counter); the conversion is the caller's.

/// Largest value of the 24-bit object clock.
pub const LRU_CLOCK_MAX: u32 = (1 << 24) - 1;
/// Milliseconds per clock tick.
pub const LRU_CLOCK_RESOLUTION_MS: i64 = 1000;

/// The object clock at `now_ms` (Unix milliseconds): seconds, truncated to 24 bits.
pub fn lru_clock(now_ms: i64) -> u32 {
    ((now_ms / LRU_CLOCK_RESOLUTION_MS) as u64 & u64::from(LRU_CLOCK_MAX)) as u32
}

/// Milliseconds since an object with clock `obj_clock` was last accessed, accounting for one
/// wrap-around of the 24-bit clock (Redis's `estimateObjectIdleTime`).
pub fn idle_ms(obj_clock: u32, now_ms: i64) -> u64 {
    let now = lru_clock(now_ms);
    let obj = obj_clock & LRU_CLOCK_MAX;
    let ticks = if now >= obj {
        now - obj
    } else {
        now + (LRU_CLOCK_MAX - obj)
    };
    u64::from(ticks) * LRU_CLOCK_RESOLUTION_MS as u64
}

/// The reply of `OBJECT IDLETIME`: whole seconds idle.
pub fn object_idletime(obj_clock: u32, now_ms: i64) -> u64 {
    idle_ms(obj_clock, now_ms) / 1000
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clock_is_seconds_mod_2_24() {
        assert_eq!(lru_clock(1_500), 1);
        assert_eq!(lru_clock((1i64 << 24) * 1000 + 5_000), 5);
    }

    #[test]
    fn idle_time_handles_wrap() {
        let t0 = 1_700_000_000_000i64;
        let c = lru_clock(t0);
        assert_eq!(object_idletime(c, t0 + 10_999), 10);
        // Object touched just before the clock wraps, read just after.
        let before_wrap = LRU_CLOCK_MAX - 2;
        let now_ms = (1i64 << 24) * 1000 * 3 + 4_000; // clock == 4
        assert_eq!(object_idletime(before_wrap, now_ms), 4 + 2);
    }
}
