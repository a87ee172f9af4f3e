//! DEBUG subcommands used by clients and the Redis test suite.

use crate::dispatch::Client;
use crate::state::Shared;
use bytes::{Bytes, BytesMut};
use ferrodis_commands::args::parse_i64;
use ferrodis_commands::ctx::Ctx;
use ferrodis_commands::keys::help_reply;
use ferrodis_commands::{errors, kv, Reply};
use ferrodis_ds::value::Value;
use std::sync::atomic::Ordering;

pub fn debug(sh: &Shared, c: &mut Client, argv: &[Bytes]) -> Reply {
    let sub = String::from_utf8_lossy(&argv[1]).to_ascii_lowercase();
    match sub.as_str() {
        "help" => help_reply(&[
            "DEBUG <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
            "CHANGE-REPL-ID",
            "    Pick new replication IDs.",
            "DIGEST",
            "    A hex digest of the whole dataset.",
            "DIGEST-VALUE <key> [<key> ...]",
            "    A hex digest of the value of each key.",
            "LOG <message>",
            "    Write <message> to the log.",
            "OBJECT <key>",
            "    Internal details of the value at <key>.",
            "POPULATE <count> [<prefix>] [<size>]",
            "    Create <count> string keys <prefix>:<n> (default prefix 'key').",
            "PROTOCOL <type>",
            "    Reply with a sample value of a RESP type.",
            "SET-ACTIVE-EXPIRE <0|1>",
            "    Turn the background expiry cycle off (0) or on (1).",
            "SLEEP <seconds>",
            "    Block this command for <seconds> (fractions allowed).",
            "STRINGMATCH-LEN <pattern> <string>",
            "    Glob-match <string> against <pattern>.",
            "HELP",
            "    Show this list.",
        ]),
        "sleep" if argv.len() == 3 => {
            let secs = match ferrodis_ds::num::string2d(&argv[2]) {
                Some(s) if s.is_finite() && s >= 0.0 => s,
                _ => return errors::not_float(),
            };
            let d = std::time::Duration::from_secs_f64(secs.min(1e6));
            tokio::task::block_in_place(|| std::thread::sleep(d));
            Reply::Ok
        }
        "set-active-expire" if argv.len() == 3 => {
            let on = parse_i64(&argv[2]).unwrap_or(1) != 0;
            sh.engine
                .settings
                .active_expire_enabled
                .store(on, Ordering::Relaxed);
            Reply::Ok
        }
        "change-repl-id" if argv.len() == 2 => {
            *sh.replid.lock() = crate::state::random_hex40();
            Reply::Ok
        }
        "log" if argv.len() == 3 => {
            tracing::warn!("DEBUG LOG: {}", String::from_utf8_lossy(&argv[2]));
            Reply::Ok
        }
        "protocol" if argv.len() == 3 => protocol(c, &argv[2]),
        "object" if argv.len() == 3 => object(sh, c, &argv[2]),
        "populate" if (3..=5).contains(&argv.len()) => populate(sh, c, argv),
        "digest" if argv.len() == 2 => Reply::Status(Bytes::from(digest_all(sh, c.db))),
        "digest-value" => {
            let mut out = Vec::new();
            for k in &argv[2..] {
                out.push(Reply::Status(Bytes::from(digest_keys(
                    sh,
                    c.db,
                    std::slice::from_ref(k),
                ))));
            }
            Reply::Array(out)
        }
        "stringmatch-len" if argv.len() >= 4 => {
            let r = ferrodis_ds::glob::string_match(&argv[2], &argv[3], false);
            Reply::Int(r as i64)
        }
        _ => errors::error_with(
            "ERR unknown subcommand or wrong number of arguments for '",
            &argv[1],
            "'. Try DEBUG HELP.",
        ),
    }
}

fn protocol(c: &Client, name: &[u8]) -> Reply {
    let n = String::from_utf8_lossy(name).to_ascii_lowercase();
    match n.as_str() {
        "string" => Reply::bulk_static("Hello World"),
        "integer" => Reply::Int(12345),
        #[allow(clippy::approx_constant)] // the sample value Redis replies with
        "double" => Reply::Double(3.141),
        "bignum" => Reply::BigNumber(Bytes::from_static(b"1234567999999999999999999999999999999")),
        "null" => Reply::Null,
        "array" => Reply::Array((0..3).map(Reply::Int).collect()),
        "set" => Reply::Set((0..3).map(Reply::Int).collect()),
        "map" => Reply::Map((0..3).map(|j| (Reply::Int(j), Reply::Bool(j == 1))).collect()),
        "attrib" => {
            let mut out = BytesMut::new();
            if c.resp >= 3 {
                ferrodis_resp::encode::write_attribute_len(&mut out, 1);
                ferrodis_resp::encode::write_bulk(&mut out, b"key-popularity");
                ferrodis_resp::encode::write_array_len(&mut out, 2);
                ferrodis_resp::encode::write_bulk(&mut out, b"key:123");
                ferrodis_resp::encode::write_integer(&mut out, 90);
            }
            ferrodis_resp::encode::write_bulk(&mut out, b"Some real reply following the attribute");
            Reply::Raw(out.freeze())
        }
        "push" => {
            if c.resp < 3 {
                return Reply::err_static("ERR RESP2 is not supported by this command");
            }
            let mut out = BytesMut::new();
            ferrodis_resp::encode::write_push_len(&mut out, 2, 3);
            ferrodis_resp::encode::write_bulk(&mut out, b"server-cpu-usage");
            ferrodis_resp::encode::write_integer(&mut out, 42);
            ferrodis_resp::encode::write_bulk(&mut out, b"Some real reply following the push reply");
            Reply::Raw(out.freeze())
        }
        "true" => Reply::Bool(true),
        "false" => Reply::Bool(false),
        "verbatim" => Reply::Verbatim("txt", Bytes::from_static(b"This is a verbatim\nstring")),
        _ => Reply::err_static("ERR Wrong protocol type name. Please use one of the following: string|integer|double|bignum|null|array|set|map|attrib|push|verbatim|true|false"),
    }
}

fn with_key<R>(sh: &Shared, c: &Client, key: &[u8], f: impl FnOnce(&mut Ctx<'_, '_>) -> R) -> R {
    let engine = &sh.engine;
    let shard = engine.ks.shard_of(key);
    ferrodis_commands::exec::with_shard(engine, shard, c.db, c.resp, engine.now_ms(), f)
}

fn object(sh: &Shared, c: &Client, key: &[u8]) -> Reply {
    with_key(sh, c, key, |ctx| {
        let now = ctx.now_ms;
        match kv::lookup(ctx, key) {
            None => Reply::err_static(errors::NO_SUCH_KEY),
            Some(e) => {
                let addr = e as *const _ as usize;
                let enc = e.value().encoding_name();
                let ser = e.value().str_len() + 1;
                let idle = ferrodis_keyspace::object_idletime(e.clock(), now);
                Reply::Status(Bytes::from(format!(
                    "Value at:0x{:x} refcount:{} encoding:{} serializedlength:{} lru:{} lru_seconds_idle:{}",
                    addr,
                    if kv::is_shared_int(e.value()) { i32::MAX } else { 1 },
                    enc,
                    ser,
                    ferrodis_keyspace::lru_clock(now),
                    idle
                )))
            }
        }
    })
}

fn populate(sh: &Shared, c: &Client, argv: &[Bytes]) -> Reply {
    let count = match parse_i64(&argv[2]) {
        Some(n) if n >= 0 => n as u64,
        _ => return Reply::err_static("ERR value is out of range, must be positive"),
    };
    let prefix: &[u8] = argv.get(3).map(|b| b.as_ref()).unwrap_or(b"key");
    let size = match argv.get(4) {
        Some(s) => match parse_i64(s) {
            Some(n) if n >= 0 => Some(n as usize),
            _ => return Reply::err_static("ERR value is out of range, must be positive"),
        },
        None => None,
    };
    let mut key = Vec::with_capacity(prefix.len() + 21);
    let mut ib = itoa::Buffer::new();
    for j in 0..count {
        key.clear();
        key.extend_from_slice(prefix);
        key.push(b':');
        key.extend_from_slice(ib.format(j).as_bytes());
        let mut val = b"value:".to_vec();
        val.extend_from_slice(ib.format(j).as_bytes());
        let value = match size {
            None => Value::from_bytes(&val),
            Some(n) => {
                let mut v = vec![0u8; n];
                let m = n.min(val.len());
                v[..m].copy_from_slice(&val[..m]);
                Value::from_bytes(&v)
            }
        };
        with_key(sh, c, &key, |ctx| {
            if !kv::exists(ctx, &key) {
                kv::add_key(ctx, &key, value);
            }
        });
    }
    Reply::Ok
}

/// An order-independent digest of keys and values (40 hex digits; all zeros
/// for an empty database, as Redis reports).
fn digest_all(sh: &Shared, db: usize) -> String {
    let mut acc = [0u8; 20];
    let mut any = false;
    for i in 0..sh.engine.ks.nshards() {
        let mut g = sh.engine.ks.lock(i);
        if let Some(d) = g.dbs.get_mut(db) {
            for e in d.iter() {
                any = true;
                let k = e.key().as_slice();
                let h = entry_digest(k, e.value(), d.get_expire(k));
                for (a, b) in acc.iter_mut().zip(h.iter()) {
                    *a ^= b;
                }
            }
        }
    }
    if !any {
        return "0".repeat(40);
    }
    hex(&acc)
}

fn digest_keys(sh: &Shared, db: usize, keys: &[Bytes]) -> String {
    let mut acc = [0u8; 20];
    for k in keys {
        let s = sh.engine.ks.shard_of(k);
        let mut g = sh.engine.ks.lock(s);
        if let Some(d) = g.dbs.get_mut(db) {
            if let ferrodis_keyspace::Lookup::Found(e) = d.lookup_mut(k, sh.engine.now_ms()) {
                let h = entry_digest(b"", e.value(), None);
                for (a, b) in acc.iter_mut().zip(h.iter()) {
                    *a ^= b;
                }
            }
        }
    }
    hex(&acc)
}

fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{:02x}", x)).collect()
}

/// 160 bits from four independent 64-bit FNV-1a style streams.
fn entry_digest(key: &[u8], v: &Value, expire: Option<i64>) -> [u8; 20] {
    let mut data = Vec::with_capacity(key.len() + 32);
    data.extend_from_slice(key);
    data.push(0);
    data.extend_from_slice(v.type_name().as_bytes());
    data.push(0);
    if let Some(b) = kv::string_bytes(v) {
        data.extend_from_slice(&b);
    }
    if let Some(e) = expire {
        data.extend_from_slice(&e.to_le_bytes());
    }
    let mut out = [0u8; 20];
    for (i, chunk) in out.chunks_mut(8).enumerate() {
        let mut h: u64 = 0xcbf29ce484222325 ^ ((i as u64 + 1).wrapping_mul(0x9e3779b97f4a7c15));
        for &b in &data {
            h ^= b as u64;
            h = h.wrapping_mul(0x100000001b3);
        }
        h ^= h >> 33;
        h = h.wrapping_mul(0xff51afd7ed558ccd);
        h ^= h >> 33;
        let bytes = h.to_le_bytes();
        chunk.copy_from_slice(&bytes[..chunk.len()]);
    }
    out
}
