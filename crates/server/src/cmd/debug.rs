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
            "PAUSE-CRON <0|1>",
            "    Stop (1) or resume (0) the background cron work.",
            "CONFIG-REWRITE-FORCE-ALL",
            "    CONFIG REWRITE, writing every option including those at their default.",
            "DIGEST",
            "    A hex digest of the whole dataset.",
            "DIGEST-VALUE <key> [<key> ...]",
            "    A hex digest of the value of each key.",
            "LISTPACK <key>",
            "    Check that the value at <key> is listpack encoded.",
            "LOG <message>",
            "    Write <message> to the log.",
            "OBJECT <key>",
            "    Internal details of the value at <key>.",
            "POPULATE <count> [<prefix>] [<size>]",
            "    Create <count> string keys <prefix>:<n> (default prefix 'key').",
            "PROTOCOL <type>",
            "    Reply with a sample value of a RESP type.",
            "QUICKLIST <key> [<0|1>]",
            "    Check that the value at <key> is quicklist encoded.",
            "QUICKLIST-PACKED-THRESHOLD <size>",
            "    Elements larger than <size> get a node of their own in new list writes.",
            "SET-ACTIVE-EXPIRE <0|1>",
            "    Turn the background expiry cycle off (0) or on (1).",
            "SET-DISABLE-DENY-SCRIPTS <0|1>",
            "    Let scripts call commands that are normally not allowed from scripts (1).",
            "SLEEP <seconds>",
            "    Block this command for <seconds> (fractions allowed).",
            "STRINGMATCH-LEN <pattern> <string>",
            "    Glob-match <string> against <pattern>.",
            "HELP",
            "    Show this list.",
        ]),
        "sleep" if argv.len() == 3 => {
            // Redis reads the time with strtod and no check: junk is 0, negative is no sleep.
            let secs = strtod_prefix(&argv[2]);
            let secs = if secs.is_finite() && secs > 0.0 {
                secs
            } else {
                0.0
            };
            let d = std::time::Duration::from_secs_f64(secs.min(1e6));
            // Redis blocks its event loop; we block this connection's thread. On a
            // multi-thread runtime other tasks move off it first; block_in_place would panic
            // on a single-threaded one (connection threads, embedding programs).
            let multi_thread = tokio::runtime::Handle::try_current()
                .is_ok_and(|h| h.runtime_flavor() == tokio::runtime::RuntimeFlavor::MultiThread);
            if multi_thread {
                tokio::task::block_in_place(|| std::thread::sleep(d));
            } else {
                std::thread::sleep(d);
            }
            Reply::Ok
        }
        "reload" => {
            let (mut save, mut flush, mut merge) = (true, true, false);
            for opt in &argv[2..] {
                if opt.eq_ignore_ascii_case(b"merge") {
                    merge = true;
                } else if opt.eq_ignore_ascii_case(b"noflush") {
                    flush = false;
                } else if opt.eq_ignore_ascii_case(b"nosave") {
                    save = false;
                } else {
                    return Reply::err_static(
                        "ERR DEBUG RELOAD only supports the MERGE, NOFLUSH and NOSAVE options.",
                    );
                }
            }
            match crate::persist::debug_reload(sh, save, flush, merge) {
                Ok(()) => Reply::Ok,
                Err(e) => Reply::err_static(e),
            }
        }
        "set-disable-deny-scripts" if argv.len() == 3 => {
            let on = parse_i64(&argv[2]).unwrap_or(0) != 0;
            sh.scripting
                .deny_scripts_disabled
                .store(on, Ordering::Relaxed);
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
        "pause-cron" if argv.len() == 3 => {
            // Redis reads it with atoi: anything but a non-zero number resumes.
            let on = strtod_prefix(&argv[2]) as i64 != 0;
            sh.cron_paused.store(on, Ordering::Relaxed);
            Reply::Ok
        }
        "config-rewrite-force-all" if argv.len() == 2 => {
            let cfg = sh.config.read();
            let res = match cfg.config_file() {
                Some(path) => cfg.rewrite_force_all(path),
                None => Err(std::io::Error::from_raw_os_error(libc::ENOENT)),
            };
            match res {
                Ok(()) => Reply::Ok,
                Err(e) => Reply::error(format!(
                    "ERR CONFIG-REWRITE-FORCE-ALL failed: {}",
                    crate::config::parse::strerror(&e)
                )),
            }
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
        "digest" if argv.len() == 2 => Reply::Status(Bytes::from(digest_all(sh))),
        "digest-value" => Reply::Array(
            argv[2..]
                .iter()
                .map(|k| Reply::Status(Bytes::from(digest_value(sh, c.db, k))))
                .collect(),
        ),
        "quicklist-packed-threshold" if argv.len() == 3 => {
            match crate::config::parse::memtoull(&argv[2]) {
                Some(sz) if sz <= (1u64 << 32) - (1 << 20) => {
                    // 0 restores the default (1 GiB).
                    let sz = if sz == 0 { 1u64 << 30 } else { sz };
                    sh.engine
                        .settings
                        .list_packed_threshold
                        .store(sz, Ordering::Relaxed);
                    Reply::Ok
                }
                _ => Reply::err_static(
                    "ERR argument must be a memory value bigger than 1 and smaller than 4gb",
                ),
            }
        }
        "listpack" if argv.len() == 3 => encoding_probe(
            sh,
            c,
            &argv[2],
            "listpack",
            "ERR Not a listpack encoded object.",
            "Listpack structure printed on stdout",
        ),
        "quicklist" if argv.len() == 3 || argv.len() == 4 => encoding_probe(
            sh,
            c,
            &argv[2],
            "quicklist",
            "ERR Not a quicklist encoded object.",
            "Quicklist structure printed on stdout",
        ),
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
        // Expired keys are shown too: DEBUG OBJECT neither expires nor touches (Redis's
        // objectCommandLookup).
        let found = ctx
            .locks
            .shard_for_key(&sh.engine.ks, key)
            .and_then(|s| s.dbs.get(ctx.db))
            .and_then(|db| db.lookup_raw(key));
        match found {
            None => Reply::err_static(errors::NO_SUCH_KEY),
            Some(e) => {
                let addr = e as *const _ as usize;
                let enc = e.value().encoding_name();
                let ser = serialized_len(e.value());
                let idle = ferrodis_keyspace::object_idletime(e.clock(), now);
                // Lists add their quicklist shape, as Redis does (sizes are our nodes' bytes).
                let extra = match e.value() {
                    Value::List(l) => {
                        let nodes = l.node_count();
                        format!(
                            " ql_nodes:{} ql_avg_node:{:.2} ql_listpack_max:{} ql_compressed:{} ql_uncompressed_size:{}",
                            nodes,
                            l.len() as f64 / nodes.max(1) as f64,
                            l.fill(),
                            u8::from(l.compress_depth() != 0),
                            l.allocated_bytes()
                        )
                    }
                    _ => String::new(),
                };
                Reply::Status(Bytes::from(format!(
                    "Value at:0x{:x} refcount:{} encoding:{} serializedlength:{} lru:{} lru_seconds_idle:{}{}",
                    addr,
                    if kv::is_shared_int(e.value()) { i32::MAX } else { 1 },
                    enc,
                    ser,
                    ferrodis_keyspace::lru_clock(now),
                    idle,
                    extra
                )))
            }
        }
    })
}

/// An estimate of the value's RDB payload size (Redis computes rdbSavedObjectLen; nothing
/// depends on the exact figure).
fn serialized_len(v: &Value) -> usize {
    match v {
        Value::Int(_) | Value::Str(_) | Value::Raw(_) => v.str_len() + 1,
        Value::List(l) => l.allocated_bytes(),
        Value::Hash(h) => h.iter().map(|(f, v)| f.len() + v.len() + 2).sum::<usize>() + 1,
        Value::Set(s) => s.iter().map(|m| m.len() + 1).sum::<usize>() + 1,
        Value::ZSet(z) => z.iter().map(|(m, _)| m.len() + 9).sum::<usize>() + 1,
        Value::Stream(st) => st.heap_bytes(),
    }
}

/// DEBUG LISTPACK / QUICKLIST: Redis prints the structure on its stdout; we check the key
/// and its encoding the same way and give the same replies.
fn encoding_probe(
    sh: &Shared,
    c: &Client,
    key: &[u8],
    encoding: &str,
    wrong: &'static str,
    done: &'static str,
) -> Reply {
    with_key(sh, c, key, |ctx| match kv::lookup_notouch(ctx, key) {
        None => Reply::err_static(errors::NO_SUCH_KEY),
        Some(e) if e.value().encoding_name() == encoding => Reply::status(done),
        Some(_) => Reply::err_static(wrong),
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

// ---- DEBUG DIGEST / DIGEST-VALUE ----------------------------------------------------
//
// Redis's algorithm (debug.c), so digests can be compared with a real Redis holding the same
// data: SHA-1 based, with `xor` to combine unordered parts (keys, set members, hash and sorted
// set entries) and `mix` (digest = SHA1(digest ^ SHA1(data))) where order matters (list
// elements, the parts of one entry).

/// Redis's type codes (OBJ_STRING ...), mixed into each value's digest.
fn type_code(v: &Value) -> u32 {
    match v {
        Value::Int(_) | Value::Str(_) | Value::Raw(_) => 0,
        Value::List(_) => 1,
        Value::Set(_) => 2,
        Value::ZSet(_) => 3,
        Value::Hash(_) => 4,
        Value::Stream(_) => 6,
    }
}

fn xor_digest(digest: &mut [u8; 20], data: &[u8]) {
    let h = sha1::digest(data);
    for (d, x) in digest.iter_mut().zip(h.iter()) {
        *d ^= x;
    }
}

fn mix_digest(digest: &mut [u8; 20], data: &[u8]) {
    xor_digest(digest, data);
    *digest = sha1::digest(&digest[..]);
}

/// Mixes `v` (and whether its key has a TTL) into `digest`, as Redis's xorObjectDigest.
fn object_digest(digest: &mut [u8; 20], v: &Value, has_expire: bool) {
    mix_digest(digest, &type_code(v).to_be_bytes());
    let mut ib = itoa::Buffer::new();
    match v {
        Value::Int(_) | Value::Str(_) | Value::Raw(_) => {
            if let Some(s) = v.as_str() {
                s.with_bytes(|b| mix_digest(digest, b));
            }
        }
        Value::List(l) => {
            let mut it = l.iter();
            while let Some(e) = it.next_entry() {
                match e {
                    ferrodis_ds::list::Entry::Int(i) => mix_digest(digest, ib.format(i).as_bytes()),
                    ferrodis_ds::list::Entry::Bytes(b) => mix_digest(digest, b),
                }
            }
        }
        Value::Set(s) => {
            for m in s.iter() {
                m.with_bytes(|b| xor_digest(digest, b));
            }
        }
        Value::ZSet(z) => {
            for (m, score) in z.iter() {
                let mut ele = [0u8; 20];
                mix_digest(&mut ele, m);
                mix_digest(&mut ele, ferrodis_ds::num::fmt_g17(score).as_bytes());
                xor_digest(digest, &ele);
            }
        }
        Value::Hash(h) => {
            for (f, val) in h.iter() {
                let mut ele = [0u8; 20];
                mix_digest(&mut ele, f);
                mix_digest(&mut ele, val);
                xor_digest(digest, &ele);
            }
        }
        Value::Stream(st) => {
            use ferrodis_ds::stream::StreamId;
            for e in st.range(StreamId::MIN, StreamId::MAX, false, 0) {
                mix_digest(digest, format!("{}.{}", e.id.ms, e.id.seq).as_bytes());
                for (f, val) in e.fields() {
                    mix_digest(digest, f);
                    mix_digest(digest, val);
                }
            }
        }
    }
    if has_expire {
        xor_digest(digest, b"!!expire!!");
    }
}

/// DEBUG DIGEST: every database, keys and values, expired-but-present keys included (40 zero
/// digits for an empty dataset). Every shard is locked so the digest is of one moment.
fn digest_all(sh: &Shared) -> String {
    let guards = sh.engine.ks.lock_all();
    let mut fin = [0u8; 20];
    for dbi in 0..sh.engine.settings.databases {
        let dbs: Vec<_> = guards.iter().filter_map(|g| g.dbs.get(dbi)).collect();
        if dbs.iter().all(|d| d.is_empty()) {
            continue;
        }
        mix_digest(&mut fin, &(dbi as u32).to_be_bytes());
        for d in dbs {
            for e in d.iter() {
                let mut kd = [0u8; 20];
                mix_digest(&mut kd, e.key().as_slice());
                object_digest(&mut kd, e.value(), e.has_expire());
                xor_digest(&mut fin, &kd);
            }
        }
    }
    hex(&fin)
}

/// DEBUG DIGEST-VALUE for one key (logically expired keys included, as Redis).
fn digest_value(sh: &Shared, db: usize, key: &[u8]) -> String {
    let g = sh.engine.ks.lock(sh.engine.ks.shard_of(key));
    let mut digest = [0u8; 20];
    if let Some(e) = g.dbs.get(db).and_then(|d| d.lookup(key, i64::MIN)) {
        object_digest(&mut digest, e.value(), e.has_expire());
    }
    hex(&digest)
}

fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{:02x}", x)).collect()
}

/// SHA-1 (FIPS 180-4), for the digests above.
mod sha1 {
    fn compress(h: &mut [u32; 5], block: &[u8]) {
        let mut w = [0u32; 80];
        for (i, c) in block.chunks_exact(4).enumerate() {
            w[i] = u32::from_be_bytes([c[0], c[1], c[2], c[3]]);
        }
        for i in 16..80 {
            w[i] = (w[i - 3] ^ w[i - 8] ^ w[i - 14] ^ w[i - 16]).rotate_left(1);
        }
        let [mut a, mut b, mut c, mut d, mut e] = *h;
        for (i, wi) in w.iter().enumerate() {
            let (f, k) = match i / 20 {
                0 => ((b & c) | (!b & d), 0x5a82_7999),
                1 => (b ^ c ^ d, 0x6ed9_eba1),
                2 => ((b & c) | (b & d) | (c & d), 0x8f1b_bcdc),
                _ => (b ^ c ^ d, 0xca62_c1d6),
            };
            let t = a
                .rotate_left(5)
                .wrapping_add(f)
                .wrapping_add(e)
                .wrapping_add(k)
                .wrapping_add(*wi);
            e = d;
            d = c;
            c = b.rotate_left(30);
            b = a;
            a = t;
        }
        for (x, y) in h.iter_mut().zip([a, b, c, d, e]) {
            *x = x.wrapping_add(y);
        }
    }

    pub fn digest(data: &[u8]) -> [u8; 20] {
        let mut h: [u32; 5] = [
            0x6745_2301,
            0xefcd_ab89,
            0x98ba_dcfe,
            0x1032_5476,
            0xc3d2_e1f0,
        ];
        let mut blocks = data.chunks_exact(64);
        for b in &mut blocks {
            compress(&mut h, b);
        }
        let rest = blocks.remainder();
        let mut tail = [0u8; 128];
        tail[..rest.len()].copy_from_slice(rest);
        tail[rest.len()] = 0x80;
        let n = if rest.len() < 56 { 64 } else { 128 };
        let bits = (data.len() as u64).wrapping_mul(8);
        tail[n - 8..n].copy_from_slice(&bits.to_be_bytes());
        for b in tail[..n].chunks_exact(64) {
            compress(&mut h, b);
        }
        let mut out = [0u8; 20];
        for (o, x) in out.chunks_exact_mut(4).zip(h) {
            o.copy_from_slice(&x.to_be_bytes());
        }
        out
    }

    #[cfg(test)]
    mod tests {
        fn hex(b: &[u8]) -> String {
            b.iter().map(|x| format!("{:02x}", x)).collect()
        }

        #[test]
        fn known_vectors() {
            assert_eq!(
                hex(&super::digest(b"")),
                "da39a3ee5e6b4b0d3255bfef95601890afd80709"
            );
            assert_eq!(
                hex(&super::digest(b"abc")),
                "a9993e364706816aba3e25717850c26c9cd0d89d"
            );
            let long = b"abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq";
            assert_eq!(
                hex(&super::digest(long)),
                "84983e441c3bd26ebaae4aa1f95129e5e54670f1"
            );
            let million = vec![b'a'; 1_000_000];
            assert_eq!(
                hex(&super::digest(&million)),
                "34aa973cd4c4daa4f61eeb2bdbad27316534016f"
            );
        }
    }
}

/// C's strtod without an end pointer: the value of the longest numeric prefix, 0 if none.
fn strtod_prefix(s: &[u8]) -> f64 {
    let text = String::from_utf8_lossy(s);
    let t = text.trim_start();
    (1..=t.len())
        .rev()
        .filter(|&i| t.is_char_boundary(i))
        .find_map(|i| t[..i].parse::<f64>().ok())
        .unwrap_or(0.0)
}
