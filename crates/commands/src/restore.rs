//! RESTORE, and the glue between RDB loading ([`ferrodis_persistence::load`]) and the keyspace:
//! the encoding limits in force, and storing a loaded key.

use crate::ctx::Ctx;
use crate::engine::{notify, Engine, Settings};
use crate::reply::Reply;
use crate::{errors, kv};
use bytes::Bytes;
use ferrodis_ds::value::Value;
use ferrodis_persistence::load::{self, Limits};
use std::sync::atomic::Ordering;

/// The encoding thresholds loaded values are built with (those of the running config).
pub fn load_limits(s: &Settings) -> Limits {
    let to_usize = |v: u64| usize::try_from(v).unwrap_or(usize::MAX);
    let fill = s
        .list_max_listpack_size
        .load(Ordering::Relaxed)
        .clamp(-5, i64::from(ferrodis_ds::list::FILL_MAX)) as i32;
    Limits {
        hash: s.hash_limits(),
        zset: s.zset_limits(),
        set_max_intset_entries: s.set_max_intset_entries(),
        list_fill: fill,
        list_compress: s.list_compress_depth.load(Ordering::Relaxed),
        list_packed_threshold: s.list_packed_threshold(),
        stream: ferrodis_ds::stream::NodeLimits {
            max_bytes: to_usize(s.stream_node_max_bytes.load(Ordering::Relaxed)),
            max_entries: usize::try_from(s.stream_node_max_entries.load(Ordering::Relaxed))
                .unwrap_or(usize::MAX),
        },
    }
}

/// The object clock of a key loaded from an RDB file with its IDLE / FREQ hints, or a new
/// object's clock.
pub fn loaded_clock(engine: &Engine, now_ms: i64, idle_s: Option<u64>, freq: Option<u8>) -> u32 {
    object_clock(engine, now_ms, idle_s, freq.map(i64::from))
        .unwrap_or_else(|| kv::new_clock(engine, now_ms))
}

/// The object clock for IDLETIME / FREQ (Redis's objectSetLRUOrLFU): FREQ counts under an LFU
/// policy, IDLETIME under an LRU one; `None` when neither applies.
fn object_clock(
    engine: &Engine,
    now_ms: i64,
    idle_s: Option<u64>,
    freq: Option<i64>,
) -> Option<u32> {
    if engine.settings.lfu_policy.load(Ordering::Relaxed) {
        let f = u32::try_from(freq?).ok()?.min(255);
        Some(kv::lfu_clock(f, now_ms))
    } else {
        let idle_ms = i64::try_from(idle_s?).ok()?.saturating_mul(1000);
        Some(ferrodis_keyspace::lru_clock(now_ms.saturating_sub(idle_ms)))
    }
}

/// RESTORE key ttl serialized-value [REPLACE] [ABSTTL] [IDLETIME seconds] [FREQ frequency]
pub fn restore(ctx: &mut Ctx<'_, '_>, argv: &[Bytes]) -> Reply {
    let (mut replace, mut absttl) = (false, false);
    let mut idle: Option<i64> = None;
    let mut freq: Option<i64> = None;
    let mut j = 4;
    while j < argv.len() {
        let more = argv.len() - j - 1;
        let a = &argv[j];
        if a.eq_ignore_ascii_case(b"replace") {
            replace = true;
        } else if a.eq_ignore_ascii_case(b"absttl") {
            absttl = true;
        } else if a.eq_ignore_ascii_case(b"idletime") && more >= 1 && freq.is_none() {
            let Some(v) = ferrodis_ds::num::string2ll(&argv[j + 1]) else {
                return errors::not_integer();
            };
            if v < 0 {
                return Reply::err_static("ERR Invalid IDLETIME value, must be >= 0");
            }
            idle = Some(v);
            j += 1;
        } else if a.eq_ignore_ascii_case(b"freq") && more >= 1 && idle.is_none() {
            let Some(v) = ferrodis_ds::num::string2ll(&argv[j + 1]) else {
                return errors::not_integer();
            };
            if !(0..=255).contains(&v) {
                return Reply::err_static("ERR Invalid FREQ value, must be >= 0 and <= 255");
            }
            freq = Some(v);
            j += 1;
        } else {
            return errors::syntax();
        }
        j += 1;
    }
    let key = &argv[1];
    if !replace && kv::lookup(ctx, key).is_some() {
        return Reply::err_static("BUSYKEY Target key name already exists.");
    }
    let Some(mut ttl) = ferrodis_ds::num::string2ll(&argv[2]) else {
        return errors::not_integer();
    };
    if ttl < 0 {
        return Reply::err_static("ERR Invalid TTL value, must be >= 0");
    }
    let value: Value = match load::load_dump(&argv[3], &load_limits(&ctx.engine.settings)) {
        Ok(v) => v,
        Err(None) => return Reply::err_static("ERR DUMP payload version or checksum are wrong"),
        Err(Some(_)) => return Reply::err_static("ERR Bad data format"),
    };
    let deleted = replace && kv::delete(ctx, key);
    if ttl != 0 && !absttl {
        ttl = ttl.saturating_add(ctx.now_ms);
    }
    if ttl != 0 && ttl <= ctx.now_ms {
        if deleted {
            ctx.rewrite(vec![Bytes::from_static(b"DEL"), key.clone()]);
            ctx.notify(notify::GENERIC, "del", key);
            ctx.dirty += 1;
        }
        return Reply::Ok;
    }
    kv::add_key(ctx, key, value);
    if ttl != 0 {
        kv::set_expire(ctx, key, ttl);
        if !absttl {
            // Propagated with the absolute time, as Redis does.
            let mut v = argv.to_vec();
            v[2] = Bytes::from(ttl.to_string());
            v.push(Bytes::from_static(b"ABSTTL"));
            ctx.rewrite(v);
        }
    }
    if let Some(clock) = object_clock(
        ctx.engine,
        ctx.now_ms,
        idle.and_then(|i| u64::try_from(i).ok()),
        freq,
    ) {
        if let Some(e) = kv::lookup_notouch(ctx, key) {
            e.set_clock(clock);
        }
    }
    ctx.notify(notify::GENERIC, "restore", key);
    ctx.dirty += 1;
    Reply::Ok
}
