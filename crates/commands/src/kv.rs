//! Keyspace access for handlers: lookups that honour expiry (lazy deletion with
//! propagation), writes that keep WATCH/notification hooks in one place, and the
//! string-value adapters. Every handler goes through here, never to `Db` directly
//! for lookups, so an expired key is never visible to any command.

use crate::ctx::Ctx;
use crate::engine::{notify, Engine, Propagated, Stats};
use bytes::Bytes;
use ferrodis_ds::value::Value;
use ferrodis_keyspace::{Entry, Lookup};

/// The command that deletes a key on the server's behalf: `UNLINK` when the
/// matching lazyfree option is on, else `DEL` (Redis's shared.unlink/shared.del).
pub fn del_or_unlink(lazy: bool) -> Bytes {
    Bytes::from_static(if lazy { b"UNLINK" } else { b"DEL" })
}

/// A key found expired: stats, the `expired` event, and its DEL/UNLINK queued
/// for propagation (Redis's deleteExpiredKeyAndPropagate). The one place this
/// happens, for lazy lookups, SCAN, RANDOMKEY and the active cycle.
pub(crate) fn record_expired(engine: &Engine, also: &mut Vec<Propagated>, db: usize, key: &[u8]) {
    Stats::add(&engine.stats.expired_keys, 1);
    engine.notify(notify::EXPIRED, "expired", key, db);
    engine.key_modified(db, key);
    let lazy = engine
        .settings
        .lazyfree_lazy_expire
        .load(std::sync::atomic::Ordering::Relaxed);
    also.push(Propagated {
        db,
        argv: vec![del_or_unlink(lazy), Bytes::copy_from_slice(key)],
    });
}

/// Look `key` up in the current database; an expired key is deleted (and its
/// deletion propagated) and reported as missing. Updates the access clock.
pub fn lookup<'c>(ctx: &'c mut Ctx<'_, '_>, key: &[u8]) -> Option<&'c mut Entry> {
    let dbi = ctx.db;
    lookup_gen(ctx, dbi, key, true)
}

/// As [`lookup`], without touching the access clock (Redis's LOOKUP_NOTOUCH).
pub fn lookup_notouch<'c>(ctx: &'c mut Ctx<'_, '_>, key: &[u8]) -> Option<&'c mut Entry> {
    let dbi = ctx.db;
    lookup_gen(ctx, dbi, key, false)
}

/// As [`lookup`], in database `dbi`.
pub fn lookup_in<'c>(ctx: &'c mut Ctx<'_, '_>, dbi: usize, key: &[u8]) -> Option<&'c mut Entry> {
    lookup_gen(ctx, dbi, key, true)
}

fn lookup_gen<'c>(
    ctx: &'c mut Ctx<'_, '_>,
    dbi: usize,
    key: &[u8],
    touch: bool,
) -> Option<&'c mut Entry> {
    let engine = ctx.engine;
    let now = ctx.now_ms;
    let db = ctx.locks.shard_for_key(&engine.ks, key)?.dbs.get_mut(dbi)?;
    if engine
        .settings
        .expires_paused
        .load(std::sync::atomic::Ordering::Relaxed)
        && db.is_expired(key, now)
    {
        // Logically gone; deleted once the pause ends (Redis's expireIfNeeded).
        return None;
    }
    match db.lookup_mut(key, now) {
        Lookup::Found(e) => {
            if touch {
                let c = touched_clock(engine, e.clock(), now);
                e.set_clock(c);
            }
            Some(e)
        }
        Lookup::Expired => {
            record_expired(engine, &mut ctx.also, dbi, key);
            None
        }
        Lookup::Missing => None,
    }
}

/// Lookup for a read command: counts keyspace hits and misses.
pub fn lookup_read<'c>(ctx: &'c mut Ctx<'_, '_>, key: &[u8]) -> Option<&'c mut Entry> {
    lookup_counted(ctx, key, true, true)
}

/// Lookup for read commands that must not update the access clock but do
/// count keyspace hits/misses (Redis's LOOKUP_NOTOUCH: EXISTS, TYPE, TTL, OBJECT).
pub fn lookup_read_notouch<'c>(ctx: &'c mut Ctx<'_, '_>, key: &[u8]) -> Option<&'c mut Entry> {
    lookup_counted(ctx, key, false, true)
}

/// As [`lookup_read_notouch`] without the `keymiss` event (Redis's LOOKUP_NONOTIFY: OBJECT).
pub fn lookup_read_nonotify<'c>(ctx: &'c mut Ctx<'_, '_>, key: &[u8]) -> Option<&'c mut Entry> {
    lookup_counted(ctx, key, false, false)
}

/// A read lookup: hit/miss statistics and, on a miss, the `keymiss` event.
fn lookup_counted<'c>(
    ctx: &'c mut Ctx<'_, '_>,
    key: &[u8],
    touch: bool,
    notify_miss: bool,
) -> Option<&'c mut Entry> {
    let stats = &ctx.engine.stats;
    let (hits, misses) = (&stats.keyspace_hits, &stats.keyspace_misses);
    let dbi = ctx.db;
    let engine = ctx.engine;
    let r = lookup_gen(ctx, dbi, key, touch);
    Stats::add(if r.is_some() { hits } else { misses }, 1);
    if r.is_none() && notify_miss {
        engine.notify(notify::KEY_MISS, "keymiss", key, dbi);
    }
    r
}

/// Does `key` exist (not expired) in the current database?
pub fn exists(ctx: &mut Ctx<'_, '_>, key: &[u8]) -> bool {
    lookup(ctx, key).is_some()
}

/// Set `key` to `value` (Redis's setKey): replaces any value; drops the TTL unless `keep_ttl`.
pub fn set_key(ctx: &mut Ctx<'_, '_>, key: &[u8], value: Value, keep_ttl: bool) {
    let dbi = ctx.db;
    let engine = ctx.engine;
    let now = ctx.now_ms;
    let waitable = matches!(value, Value::List(_) | Value::ZSet(_));
    let mut created = false;
    let mut was_stream = false;
    if let Some(db) = ctx.db_index_for(key, dbi) {
        created = db.lookup(key, now).is_none();
        was_stream = db
            .lookup(key, now)
            .is_some_and(|e| matches!(e.value(), Value::Stream(_)));
        // An overwrite keeps the LFU counter, as Redis's dbOverwrite does.
        let clock = match db.lookup(key, now) {
            Some(e)
                if engine
                    .settings
                    .lfu_policy
                    .load(std::sync::atomic::Ordering::Relaxed) =>
            {
                e.clock()
            }
            _ => new_clock(engine, now),
        };
        db.set(key, value, keep_ttl, clock);
    }
    // Redis's dbAdd: every key creation is a `new` event, before the command's own.
    if created {
        engine.notify(notify::NEW, "new", key, dbi);
    }
    // A new list or sorted set may be what blocked clients wait for (Redis's dbAdd →
    // signalKeyAsReady; an overwrite does not signal in 7.0).
    if (created && waitable) || was_stream {
        crate::blocking::signal_if_waited(ctx, dbi, key);
    }
    ctx.signal_modified(key);
}

/// Add a key known not to exist.
pub fn add_key(ctx: &mut Ctx<'_, '_>, key: &[u8], value: Value) {
    set_key(ctx, key, value, false)
}

/// Delete `key` from database `dbi`; true when it existed (and was not expired).
pub fn delete_in(ctx: &mut Ctx<'_, '_>, dbi: usize, key: &[u8]) -> bool {
    take_in(ctx, dbi, key).is_some()
}

/// Deletes `key` from the current database like [`delete`], handing back its value (for
/// UNLINK to free in the background).
pub fn delete_take(ctx: &mut Ctx<'_, '_>, key: &[u8]) -> Option<Value> {
    let dbi = ctx.db;
    take_in(ctx, dbi, key)
}

fn take_in(ctx: &mut Ctx<'_, '_>, dbi: usize, key: &[u8]) -> Option<Value> {
    let was_stream = match lookup_in(ctx, dbi, key) {
        None => return None,
        Some(e) => matches!(e.value(), Value::Stream(_)),
    };
    let removed = ctx
        .db_index_for(key, dbi)
        .and_then(|db| db.remove(key))
        .map(|mut e| e.set_value(Value::Int(0)));
    if removed.is_some() {
        ctx.signal_modified_in(dbi, key);
        // Clients blocked in XREADGROUP on a deleted stream are unblocked with an error.
        if was_stream {
            crate::blocking::signal_if_waited(ctx, dbi, key);
        }
    }
    removed
}

pub fn delete(ctx: &mut Ctx<'_, '_>, key: &[u8]) -> bool {
    let dbi = ctx.db;
    delete_in(ctx, dbi, key)
}

/// Milliseconds timestamp of `key`'s expiry, if any (key assumed present).
pub fn get_expire(ctx: &mut Ctx<'_, '_>, key: &[u8]) -> Option<i64> {
    let dbi = ctx.db;
    ctx.db_index_for(key, dbi).and_then(|db| db.get_expire(key))
}

pub fn set_expire(ctx: &mut Ctx<'_, '_>, key: &[u8], when_ms: i64) {
    let dbi = ctx.db;
    if let Some(db) = ctx.db_index_for(key, dbi) {
        db.set_expire(key, when_ms);
    }
}

pub fn persist(ctx: &mut Ctx<'_, '_>, key: &[u8]) -> bool {
    let dbi = ctx.db;
    ctx.db_index_for(key, dbi)
        .map(|db| db.persist(key))
        .unwrap_or(false)
}

/// The bytes of a string value; `None` if the value is not a string.
pub fn string_bytes(v: &Value) -> Option<Bytes> {
    v.as_str().map(|s| Bytes::from(s.to_vec()))
}

/// Redis shares the integer objects 0..10000 (OBJECT REFCOUNT reports INT_MAX for them).
pub fn is_shared_int(v: &Value) -> bool {
    v.encoding_name() == "int" && v.as_int().is_some_and(|i| (0..10000).contains(&i))
}

// ---- LFU (Redis's 24-bit LFU field: 16 bits of minutes, 8-bit log counter) ----

const LFU_INIT_VAL: u32 = 5;

fn lfu_minutes(now_ms: i64) -> u32 {
    ((now_ms / 60_000) & 0xffff) as u32
}

/// The counter after decay for elapsed time (Redis's LFUDecrAndReturn, decay 1 per minute).
pub fn lfu_decr_and_return(clock: u32, now_ms: i64) -> u32 {
    let ldt = clock >> 8;
    let counter = clock & 0xff;
    let now = lfu_minutes(now_ms);
    let elapsed = if now >= ldt {
        now - ldt
    } else {
        65535 - ldt + now
    };
    counter.saturating_sub(elapsed)
}

/// Logarithmic increment with factor 10 (Redis's LFULogIncr with lfu-log-factor 10).
fn lfu_log_incr(counter: u32) -> u32 {
    if counter == 255 {
        return 255;
    }
    let r: f64 = rand::random();
    let base = counter.saturating_sub(LFU_INIT_VAL) as f64;
    let p = 1.0 / (base * 10.0 + 1.0);
    if r < p {
        counter + 1
    } else {
        counter
    }
}

/// An LFU object clock holding counter `freq` as of now (RESTORE ... FREQ).
pub fn lfu_clock(freq: u32, now_ms: i64) -> u32 {
    (lfu_minutes(now_ms) << 8) | freq.min(255)
}

/// The object clock after an access.
pub fn touched_clock(engine: &Engine, old: u32, now_ms: i64) -> u32 {
    if engine
        .settings
        .lfu_policy
        .load(std::sync::atomic::Ordering::Relaxed)
    {
        let c = lfu_log_incr(lfu_decr_and_return(old, now_ms));
        (lfu_minutes(now_ms) << 8) | c
    } else {
        ferrodis_keyspace::lru_clock(now_ms)
    }
}

/// The object clock of a new object.
pub fn new_clock(engine: &Engine, now_ms: i64) -> u32 {
    if engine
        .settings
        .lfu_policy
        .load(std::sync::atomic::Ordering::Relaxed)
    {
        (lfu_minutes(now_ms) << 8) | LFU_INIT_VAL
    } else {
        ferrodis_keyspace::lru_clock(now_ms)
    }
}

/// A string value as a bulk reply without intermediate allocation for short
/// values; `None` if the value is not a string.
pub fn string_reply(v: &Value) -> Option<crate::Reply> {
    match v.as_str()? {
        ferrodis_ds::value::StrRef::Bytes(b) => Some(crate::Reply::bulk_from_slice(b)),
        ferrodis_ds::value::StrRef::Int(i) => {
            let mut buf = itoa::Buffer::new();
            Some(crate::Reply::bulk_from_slice(buf.format(i).as_bytes()))
        }
    }
}

/// The string value at `key` for a read: `Ok(None)` when missing, WRONGTYPE as an error.
pub fn get_string(ctx: &mut Ctx<'_, '_>, key: &[u8]) -> Result<Option<Bytes>, crate::Reply> {
    match lookup_read(ctx, key) {
        None => Ok(None),
        Some(e) => match string_bytes(e.value()) {
            Some(b) => Ok(Some(b)),
            None => Err(crate::errors::wrongtype()),
        },
    }
}
