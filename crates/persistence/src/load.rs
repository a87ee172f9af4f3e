//! Reading RDB files and DUMP payloads (Redis 7.0, RDB versions up to 10) into ferrodis values.
//!
//! Every encoding Redis 7.0 itself can load is read: plain strings (integer and LZF encodings),
//! lists (linked, ziplist, quicklist with ziplist nodes, quicklist 2 with listpack/plain nodes),
//! sets (plain, intset), sorted sets (string and binary scores, ziplist, listpack), hashes (plain,
//! ziplist, listpack), streams (listpacks v1 and v2). Values are rebuilt through the ds types,
//! so encodings follow the thresholds passed in [`Limits`] as after any write.
//!
//! The input is untrusted (a file, a RESTORE argument): every length is checked against what is
//! left, nothing panics, and a malformed input is an [`Error`].

use std::io::Read;

use crc::Digest;
use ferrodis_ds::hash::{Hash, HashLimits};
use ferrodis_ds::list::QuickList;
use ferrodis_ds::set::Set;
use ferrodis_ds::stream::{Consumer, Group, Nack, NodeLimits, Stream, StreamId};
use ferrodis_ds::value::Value;
use ferrodis_ds::zset::{AddFlags, ZSet, ZSetLimits};
use thiserror::Error;

use crate::rdb::{self, CRC64};

#[derive(Debug, Error)]
pub enum Error {
    #[error("I/O error reading the RDB: {0}")]
    Io(#[from] std::io::Error),
    #[error("unexpected end of the RDB data")]
    Truncated,
    #[error("bad RDB data: {0}")]
    Bad(&'static str),
    #[error("wrong signature trying to load DB from file")]
    Signature,
    #[error("can't handle RDB format version {0}")]
    Version(u32),
    #[error("unknown RDB encoding type {0}")]
    UnknownType(u8),
    #[error("Wrong RDB checksum expected: ({expected:x}) but got ({got:x}): RDB CRC error")]
    Checksum { expected: u64, got: u64 },
    #[error("the RDB holds module data, which this server cannot load")]
    Module,
}

pub type Result<T> = std::result::Result<T, Error>;

/// Encoding thresholds in force while loading.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    pub hash: HashLimits,
    pub zset: ZSetLimits,
    pub set_max_intset_entries: usize,
    pub list_fill: i32,
    pub list_compress: u32,
    pub list_packed_threshold: usize,
    pub stream: NodeLimits,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            hash: HashLimits::default(),
            zset: ZSetLimits {
                max_listpack_entries: 128,
                max_listpack_value: 64,
            },
            set_max_intset_entries: 512,
            list_fill: -2,
            list_compress: 0,
            list_packed_threshold: 1 << 30,
            stream: NodeLimits {
                max_bytes: 4096,
                max_entries: 100,
            },
        }
    }
}

/// What a file held besides its keys.
#[derive(Debug, Default, Clone)]
pub struct Loaded {
    pub keys: u64,
    pub aux: Vec<(Vec<u8>, Vec<u8>)>,
    /// Function library sources (RDB `FUNCTION2` opcodes), for the scripting engine.
    pub functions: Vec<Vec<u8>>,
}

/// One key read from a file.
pub struct LoadedKey {
    pub db: usize,
    pub key: Vec<u8>,
    pub value: Value,
    pub expire_ms: Option<i64>,
    /// LRU idle seconds or LFU frequency, when the file carried them.
    pub idle_s: Option<u64>,
    pub freq: Option<u8>,
}

/// A reader that counts and checksums what it reads.
struct Input<R: Read> {
    r: R,
    crc: Digest<'static, u64>,
}

impl<R: Read> Input<R> {
    fn bytes(&mut self, n: usize) -> Result<Vec<u8>> {
        // Read in bounded steps so a forged huge length cannot allocate ahead of the data.
        let mut out = Vec::with_capacity(n.min(1 << 20));
        let mut left = n;
        let mut buf = [0u8; 8192];
        while left > 0 {
            let step = left.min(buf.len());
            let chunk = buf.get_mut(..step).ok_or(Error::Truncated)?;
            self.r.read_exact(chunk).map_err(eof)?;
            self.crc.update(chunk);
            out.extend_from_slice(chunk);
            left -= step;
        }
        Ok(out)
    }

    fn array<const N: usize>(&mut self) -> Result<[u8; N]> {
        let mut b = [0u8; N];
        self.r.read_exact(&mut b).map_err(eof)?;
        self.crc.update(&b);
        Ok(b)
    }

    fn u8(&mut self) -> Result<u8> {
        Ok(self.array::<1>()?[0])
    }

    /// A length, or `Err(encoded type)` for the special string encodings.
    fn len_or_enc(&mut self) -> Result<std::result::Result<u64, u8>> {
        let first = self.u8()?;
        Ok(match first >> 6 {
            0 => Ok(u64::from(first & 0x3F)),
            1 => Ok((u64::from(first & 0x3F) << 8) | u64::from(self.u8()?)),
            2 => match first {
                0x80 => Ok(u64::from(u32::from_be_bytes(self.array()?))),
                0x81 => Ok(u64::from_be_bytes(self.array()?)),
                _ => return Err(Error::Bad("unknown length encoding")),
            },
            _ => Err(first & 0x3F),
        })
    }

    fn len(&mut self) -> Result<u64> {
        self.len_or_enc()?
            .map_err(|_| Error::Bad("encoded value where a length was expected"))
    }

    fn usize_len(&mut self) -> Result<usize> {
        usize::try_from(self.len()?).map_err(|_| Error::Bad("length too large"))
    }

    fn string(&mut self) -> Result<Vec<u8>> {
        match self.len_or_enc()? {
            Ok(n) => {
                let n = usize::try_from(n).map_err(|_| Error::Bad("string too long"))?;
                self.bytes(n)
            }
            Err(0) => Ok((self.array::<1>()?[0] as i8).to_string().into_bytes()),
            Err(1) => Ok(i16::from_le_bytes(self.array()?).to_string().into_bytes()),
            Err(2) => Ok(i32::from_le_bytes(self.array()?).to_string().into_bytes()),
            Err(3) => {
                let clen = self.usize_len()?;
                let len = self.usize_len()?;
                let data = self.bytes(clen)?;
                if len == 0 {
                    return Err(Error::Bad("empty LZF string"));
                }
                let out = lzf_decompress(&data, len)?;
                Ok(out)
            }
            Err(_) => Err(Error::Bad("unknown string encoding")),
        }
    }

    /// A score saved as text (RDB_TYPE_ZSET): a length byte, or 253/254/255 for nan/inf/-inf.
    fn text_double(&mut self) -> Result<f64> {
        match self.u8()? {
            253 => Ok(f64::NAN),
            254 => Ok(f64::INFINITY),
            255 => Ok(f64::NEG_INFINITY),
            n => {
                let b = self.bytes(usize::from(n))?;
                std::str::from_utf8(&b)
                    .ok()
                    .and_then(|s| s.trim().parse::<f64>().ok())
                    .ok_or(Error::Bad("bad text score"))
            }
        }
    }

    fn binary_double(&mut self) -> Result<f64> {
        Ok(f64::from_le_bytes(self.array()?))
    }

    fn millis(&mut self) -> Result<i64> {
        Ok(i64::from_le_bytes(self.array()?))
    }
}

fn eof(e: std::io::Error) -> Error {
    if e.kind() == std::io::ErrorKind::UnexpectedEof {
        Error::Truncated
    } else {
        Error::Io(e)
    }
}

fn lzf_decompress(data: &[u8], len: usize) -> Result<Vec<u8>> {
    match lzf::decompress(data, len) {
        Ok(out) if out.len() == len => Ok(out),
        _ => Err(Error::Bad("LZF data does not decompress")),
    }
}

/// Reads a whole RDB file, calling `on_key` for every key.
pub fn load_rdb<R: Read>(
    r: R,
    limits: &Limits,
    mut on_key: impl FnMut(LoadedKey) -> Result<()>,
) -> Result<Loaded> {
    let mut inp = Input {
        r,
        crc: CRC64.digest(),
    };
    let magic: [u8; 9] = inp.array()?;
    if &magic[..5] != b"REDIS" {
        return Err(Error::Signature);
    }
    let version: u32 = std::str::from_utf8(&magic[5..])
        .ok()
        .and_then(|s| s.parse().ok())
        .ok_or(Error::Signature)?;
    if !(1..=rdb::RDB_VERSION).contains(&version) {
        return Err(Error::Version(version));
    }
    let mut out = Loaded::default();
    let mut db = 0usize;
    let mut expire: Option<i64> = None;
    let mut idle: Option<u64> = None;
    let mut freq: Option<u8> = None;
    loop {
        let t = inp.u8()?;
        match t {
            rdb::OPCODE_EXPIRETIME_MS => expire = Some(inp.millis()?),
            253 => expire = Some(i64::from(i32::from_le_bytes(inp.array()?)) * 1000),
            rdb::OPCODE_FREQ => freq = Some(inp.u8()?),
            rdb::OPCODE_IDLE => idle = Some(inp.len()?),
            rdb::OPCODE_SELECTDB => db = inp.usize_len()?,
            rdb::OPCODE_RESIZEDB => {
                inp.len()?;
                inp.len()?;
            }
            rdb::OPCODE_AUX => {
                let k = inp.string()?;
                let v = inp.string()?;
                out.aux.push((k, v));
            }
            247 => return Err(Error::Module),
            rdb::OPCODE_FUNCTION2 => out.functions.push(inp.string()?),
            246 => return Err(Error::Bad("pre-release function format")),
            rdb::OPCODE_EOF => {
                let expected = inp.crc.clone().finalize();
                let mut b = [0u8; 8];
                if version >= 5 {
                    inp.r.read_exact(&mut b).map_err(eof)?;
                    let got = u64::from_le_bytes(b);
                    // A zero checksum means the writer had rdbchecksum off.
                    if got != 0 && got != expected {
                        return Err(Error::Checksum { expected, got });
                    }
                }
                return Ok(out);
            }
            ty => {
                let key = inp.string()?;
                let value = read_value(&mut inp, ty, limits)?;
                out.keys += 1;
                on_key(LoadedKey {
                    db,
                    key,
                    value,
                    expire_ms: expire.take(),
                    idle_s: idle.take(),
                    freq: freq.take(),
                })?;
            }
        }
    }
}

/// Decodes a DUMP payload (type, body, 2-byte version, CRC-64), as RESTORE does. `Err(None)`
/// when the footer is wrong (RESTORE's "payload version or checksum are wrong"), `Err(Some)`
/// when the body is malformed ("Bad data format").
pub fn load_dump(payload: &[u8], limits: &Limits) -> std::result::Result<Value, Option<Error>> {
    if payload.len() < 10 {
        return Err(None);
    }
    let (body, footer) = payload.split_at(payload.len() - 10);
    let version = u16::from_le_bytes([footer[0], footer[1]]);
    if u32::from(version) > rdb::RDB_VERSION {
        return Err(None);
    }
    let mut crc_bytes = [0u8; 8];
    crc_bytes.copy_from_slice(&footer[2..]);
    let crc = u64::from_le_bytes(crc_bytes);
    if crc != 0 && CRC64.checksum(&payload[..payload.len() - 8]) != crc {
        return Err(None);
    }
    let mut inp = Input {
        r: body,
        crc: CRC64.digest(),
    };
    let ty = inp.u8().map_err(Some)?;
    let v = read_value(&mut inp, ty, limits).map_err(Some)?;
    if !inp.r.is_empty() {
        return Err(Some(Error::Bad("trailing bytes after the value")));
    }
    Ok(v)
}

fn read_value<R: Read>(inp: &mut Input<R>, ty: u8, lim: &Limits) -> Result<Value> {
    Ok(match ty {
        rdb::TYPE_STRING => Value::from_bytes(&inp.string()?),
        1 => {
            let n = inp.len()?;
            let mut l = new_list(lim);
            for _ in 0..n {
                l.push_back(&inp.string()?, lim.list_packed_threshold);
            }
            non_empty_list(l)?
        }
        rdb::TYPE_SET => {
            let n = inp.len()?;
            let mut s = Set::new();
            for _ in 0..n {
                s.add(&inp.string()?, lim.set_max_intset_entries);
            }
            if s.is_empty() {
                return Err(Error::Bad("empty set"));
            }
            Value::Set(Box::new(s))
        }
        3 | rdb::TYPE_ZSET_2 => {
            let n = inp.len()?;
            let mut z = ZSet::new();
            for _ in 0..n {
                let m = inp.string()?;
                let score = if ty == 3 {
                    inp.text_double()?
                } else {
                    inp.binary_double()?
                };
                zadd(&mut z, &m, score, lim)?;
            }
            non_empty_zset(z)?
        }
        rdb::TYPE_HASH => {
            let n = inp.len()?;
            let mut h = Hash::new();
            for _ in 0..n {
                let f = inp.string()?;
                let v = inp.string()?;
                h.set(&f, &v, lim.hash);
            }
            non_empty_hash(h)?
        }
        9 => return Err(Error::Bad("zipmap hashes (Redis < 2.6) are not supported")),
        10 => {
            let blob = inp.string()?;
            let mut l = new_list(lim);
            for e in ziplist_entries(&blob)? {
                l.push_back(&e, lim.list_packed_threshold);
            }
            non_empty_list(l)?
        }
        rdb::TYPE_SET_INTSET => {
            let blob = inp.string()?;
            let mut s = Set::from_intset_blob(&blob).ok_or(Error::Bad("bad intset"))?;
            if s.is_empty() {
                return Err(Error::Bad("empty intset"));
            }
            if s.len() > lim.set_max_intset_entries {
                s.convert_to_table(0);
            }
            Value::Set(Box::new(s))
        }
        12 | 17 => {
            let items = packed_pairs(&inp.string()?, ty == 12)?;
            let mut z = ZSet::new();
            for pair in items.chunks_exact(2) {
                let score = ferrodis_ds::num::string2d(&pair[1]).ok_or(Error::Bad("bad score"))?;
                zadd(&mut z, &pair[0], score, lim)?;
            }
            non_empty_zset(z)?
        }
        13 | 16 => {
            let items = packed_pairs(&inp.string()?, ty == 13)?;
            let mut h = Hash::new();
            for pair in items.chunks_exact(2) {
                if !h.set(&pair[0], &pair[1], lim.hash) {
                    return Err(Error::Bad("duplicate hash field"));
                }
            }
            non_empty_hash(h)?
        }
        14 | rdb::TYPE_LIST_QUICKLIST_2 => {
            let nodes = inp.len()?;
            let mut l = new_list(lim);
            for _ in 0..nodes {
                let container = if ty == 14 { 2 } else { inp.len()? };
                let blob = inp.string()?;
                match container {
                    1 => l.push_back(&blob, lim.list_packed_threshold),
                    2 => {
                        let items = if ty == 14 {
                            ziplist_entries(&blob)?
                        } else {
                            listpack_entries(&blob)?
                        };
                        for e in items {
                            l.push_back(&e, lim.list_packed_threshold);
                        }
                    }
                    _ => return Err(Error::Bad("unknown quicklist container")),
                }
            }
            non_empty_list(l)?
        }
        15 | rdb::TYPE_STREAM_LISTPACKS_2 => {
            read_stream(inp, ty == rdb::TYPE_STREAM_LISTPACKS_2, lim)?
        }
        6 | 7 => return Err(Error::Module),
        other => return Err(Error::UnknownType(other)),
    })
}

/// The elements of a ziplist or listpack holding pairs (hash fields and values, sorted set
/// members and scores).
fn packed_pairs(blob: &[u8], ziplist: bool) -> Result<Vec<Vec<u8>>> {
    let items = if ziplist {
        ziplist_entries(blob)?
    } else {
        listpack_entries(blob)?
    };
    if items.len() % 2 != 0 {
        return Err(Error::Bad(
            "odd number of elements in a packed hash or sorted set",
        ));
    }
    Ok(items)
}

fn new_list(lim: &Limits) -> QuickList {
    QuickList::new(lim.list_fill, lim.list_compress)
}

fn non_empty_list(l: QuickList) -> Result<Value> {
    if l.is_empty() {
        return Err(Error::Bad("empty list"));
    }
    Ok(Value::List(Box::new(l)))
}

fn non_empty_hash(h: Hash) -> Result<Value> {
    if h.is_empty() {
        return Err(Error::Bad("empty hash"));
    }
    Ok(Value::Hash(Box::new(h)))
}

fn non_empty_zset(z: ZSet) -> Result<Value> {
    if z.is_empty() {
        return Err(Error::Bad("empty sorted set"));
    }
    Ok(Value::ZSet(Box::new(z)))
}

fn zadd(z: &mut ZSet, m: &[u8], score: f64, lim: &Limits) -> Result<()> {
    if score.is_nan() {
        return Err(Error::Bad("NaN score"));
    }
    match z.add(m, score, AddFlags::default(), lim.zset) {
        Ok(ferrodis_ds::zset::AddOutcome::Added(_)) => Ok(()),
        _ => Err(Error::Bad("duplicate sorted set member")),
    }
}

fn read_stream<R: Read>(inp: &mut Input<R>, v2: bool, lim: &Limits) -> Result<Value> {
    let mut s = Stream::new();
    let nodes = inp.len()?;
    for _ in 0..nodes {
        let key = inp.string()?;
        let master = stream_id_from_raw(&key)?;
        let lp = inp.string()?;
        for (id, fields) in stream_node_entries(master, &lp)? {
            let pairs: Vec<(&[u8], &[u8])> = fields.iter().map(|(f, v)| (&f[..], &v[..])).collect();
            s.append(id, &pairs, lim.stream)
                .map_err(|_| Error::Bad("stream entries out of order"))?;
        }
    }
    let length = inp.len()?;
    if length != s.len() {
        return Err(Error::Bad("stream length does not match its entries"));
    }
    s.last_id = StreamId::new(inp.len()?, inp.len()?);
    if v2 {
        s.first_id = StreamId::new(inp.len()?, inp.len()?);
        s.max_deleted_entry_id = StreamId::new(inp.len()?, inp.len()?);
        s.entries_added = inp.len()?;
    } else {
        s.entries_added = s.len();
        s.first_id = s
            .range(StreamId::MIN, StreamId::MAX, false, 1)
            .first()
            .map(|e| e.id)
            .unwrap_or_default();
    }
    let groups = inp.len()?;
    for _ in 0..groups {
        let name = inp.string()?;
        let last_id = StreamId::new(inp.len()?, inp.len()?);
        let entries_read = if v2 {
            // Redis writes its "invalid" marker (-1) as an unsigned length.
            let n = inp.len()?;
            i64::try_from(n).unwrap_or(ferrodis_ds::stream::INVALID_ENTRIES_READ)
        } else {
            // Files before 7.0 have no read counter: Redis estimates it from the stream.
            s.estimate_distance(last_id)
        };
        let mut g = Group {
            last_id,
            entries_read,
            ..Group::default()
        };
        let pel = inp.len()?;
        for _ in 0..pel {
            let id = stream_id_from_raw(&inp.array::<16>()?)?;
            let delivery_time = inp.millis()?;
            let delivery_count = inp.len()?;
            g.pel.insert(
                id,
                Nack {
                    delivery_time,
                    delivery_count,
                    consumer: Vec::new(),
                },
            );
        }
        let consumers = inp.len()?;
        for _ in 0..consumers {
            let cname = inp.string()?;
            let seen_time = inp.millis()?;
            let mut c = Consumer {
                seen_time,
                ..Consumer::default()
            };
            let n = inp.len()?;
            for _ in 0..n {
                let id = stream_id_from_raw(&inp.array::<16>()?)?;
                let nack = g
                    .pel
                    .get_mut(&id)
                    .ok_or(Error::Bad("consumer PEL entry missing from the group PEL"))?;
                if !nack.consumer.is_empty() {
                    return Err(Error::Bad("PEL entry owned by two consumers"));
                }
                nack.consumer = cname.clone();
                c.pel.insert(id);
            }
            g.consumers.insert(cname, c);
        }
        if g.pel.values().any(|n| n.consumer.is_empty()) {
            return Err(Error::Bad("group PEL entry without a consumer"));
        }
        if s.groups.insert(name, g).is_some() {
            return Err(Error::Bad("duplicate consumer group"));
        }
    }
    Ok(Value::Stream(Box::new(s)))
}

fn stream_id_from_raw(b: &[u8]) -> Result<StreamId> {
    if b.len() != 16 {
        return Err(Error::Bad("stream ID is not 16 bytes"));
    }
    let mut ms = [0u8; 8];
    let mut seq = [0u8; 8];
    ms.copy_from_slice(&b[..8]);
    seq.copy_from_slice(&b[8..]);
    Ok(StreamId::new(
        u64::from_be_bytes(ms),
        u64::from_be_bytes(seq),
    ))
}

type Fields = Vec<(Vec<u8>, Vec<u8>)>;

/// The live entries of one stream node (t_stream.c's layout: master entry, then entries with
/// flags, ID deltas, optional field names, values and lp-count).
fn stream_node_entries(master: StreamId, lp: &[u8]) -> Result<Vec<(StreamId, Fields)>> {
    let items = listpack_entries(lp)?;
    let mut it = items.iter();
    let int = |it: &mut std::slice::Iter<'_, Vec<u8>>| -> Result<i64> {
        let b = it.next().ok_or(Error::Bad("stream node ends early"))?;
        ferrodis_ds::num::string2ll(b).ok_or(Error::Bad("stream node integer expected"))
    };
    let count = int(&mut it)?;
    let deleted = int(&mut it)?;
    let nfields = usize::try_from(int(&mut it)?).map_err(|_| Error::Bad("negative count"))?;
    let mut master_fields = Vec::with_capacity(nfields.min(1024));
    for _ in 0..nfields {
        master_fields.push(
            it.next()
                .ok_or(Error::Bad("stream node ends early"))?
                .clone(),
        );
    }
    if int(&mut it)? != 0 {
        return Err(Error::Bad("stream master entry not terminated"));
    }
    let total = count
        .checked_add(deleted)
        .ok_or(Error::Bad("stream node counts overflow"))?;
    let mut out = Vec::new();
    for _ in 0..total {
        let flags = int(&mut it)?;
        let ms = u64::try_from(int(&mut it)?).map_err(|_| Error::Bad("negative ID delta"))?;
        let seq = int(&mut it)? as u64;
        let id = StreamId::new(
            master
                .ms
                .checked_add(ms)
                .ok_or(Error::Bad("stream ID overflow"))?,
            master.seq.wrapping_add(seq),
        );
        let same = flags & 2 != 0;
        let n = if same {
            master_fields.len()
        } else {
            usize::try_from(int(&mut it)?).map_err(|_| Error::Bad("negative count"))?
        };
        let mut fields = Vec::with_capacity(n.min(1024));
        for i in 0..n {
            let f = if same {
                master_fields.get(i).cloned().ok_or(Error::Bad("field"))?
            } else {
                it.next()
                    .ok_or(Error::Bad("stream node ends early"))?
                    .clone()
            };
            let v = it
                .next()
                .ok_or(Error::Bad("stream node ends early"))?
                .clone();
            fields.push((f, v));
        }
        int(&mut it)?; // lp-count
        if flags & 1 == 0 {
            out.push((id, fields));
        }
    }
    if usize::try_from(count).ok() != Some(out.len()) {
        return Err(Error::Bad("stream node live count mismatch"));
    }
    Ok(out)
}

/// The elements of a listpack, integers in their decimal form.
pub fn listpack_entries(lp: &[u8]) -> Result<Vec<Vec<u8>>> {
    let total = lp
        .get(..4)
        .map(|b| u32::from_le_bytes([b[0], b[1], b[2], b[3]]) as usize)
        .ok_or(Error::Bad("listpack header"))?;
    if total != lp.len() || total < 7 || lp.last() != Some(&0xFF) {
        return Err(Error::Bad("listpack size"));
    }
    let mut out = Vec::new();
    let mut p = 6;
    let end = lp.len() - 1;
    let get = |a: usize, b: usize| lp.get(a..b).ok_or(Error::Bad("listpack entry overflows"));
    while p < end {
        let b0 = lp[p];
        let (value, enc_len): (Vec<u8>, usize) = if b0 & 0x80 == 0 {
            (u64::from(b0 & 0x7F).to_string().into_bytes(), 1)
        } else if b0 & 0xC0 == 0x80 {
            let n = usize::from(b0 & 0x3F);
            (get(p + 1, p + 1 + n)?.to_vec(), 1 + n)
        } else if b0 & 0xE0 == 0xC0 {
            let b1 = *get(p + 1, p + 2)?.first().ok_or(Error::Bad("listpack"))?;
            let u = (u16::from(b0 & 0x1F) << 8) | u16::from(b1);
            let v = if u >= 1 << 12 {
                i64::from(u) - (1 << 13)
            } else {
                i64::from(u)
            };
            (v.to_string().into_bytes(), 2)
        } else if b0 & 0xF0 == 0xE0 {
            let b1 = *get(p + 1, p + 2)?.first().ok_or(Error::Bad("listpack"))?;
            let n = (usize::from(b0 & 0x0F) << 8) | usize::from(b1);
            (get(p + 2, p + 2 + n)?.to_vec(), 2 + n)
        } else {
            match b0 {
                0xF0 => {
                    let l = get(p + 1, p + 5)?;
                    let n = u32::from_le_bytes([l[0], l[1], l[2], l[3]]) as usize;
                    (get(p + 5, p + 5 + n)?.to_vec(), 5 + n)
                }
                0xF1 => {
                    let d = get(p + 1, p + 3)?;
                    (i16::from_le_bytes([d[0], d[1]]).to_string().into_bytes(), 3)
                }
                0xF2 => {
                    let d = get(p + 1, p + 4)?;
                    let v = i32::from_le_bytes([0, d[0], d[1], d[2]]) >> 8;
                    (v.to_string().into_bytes(), 4)
                }
                0xF3 => {
                    let d = get(p + 1, p + 5)?;
                    (
                        i32::from_le_bytes([d[0], d[1], d[2], d[3]])
                            .to_string()
                            .into_bytes(),
                        5,
                    )
                }
                0xF4 => {
                    let d = get(p + 1, p + 9)?;
                    let mut a = [0u8; 8];
                    a.copy_from_slice(d);
                    (i64::from_le_bytes(a).to_string().into_bytes(), 9)
                }
                _ => return Err(Error::Bad("unknown listpack encoding")),
            }
        };
        let backlen = crate::listpack::backlen_size(enc_len as u64);
        p = p
            .checked_add(enc_len + backlen)
            .ok_or(Error::Bad("listpack entry overflows"))?;
        if p > end {
            return Err(Error::Bad("listpack entry overflows"));
        }
        out.push(value);
    }
    let count = usize::from(u16::from_le_bytes([lp[4], lp[5]]));
    if count != usize::from(u16::MAX) && count != out.len() {
        return Err(Error::Bad("listpack count"));
    }
    Ok(out)
}

/// The elements of a ziplist (RDB files of Redis < 7.0), integers in their decimal form.
pub fn ziplist_entries(zl: &[u8]) -> Result<Vec<Vec<u8>>> {
    let get = |a: usize, b: usize| zl.get(a..b).ok_or(Error::Bad("ziplist entry overflows"));
    let h = get(0, 10)?;
    let total = u32::from_le_bytes([h[0], h[1], h[2], h[3]]) as usize;
    if total != zl.len() || zl.last() != Some(&0xFF) {
        return Err(Error::Bad("ziplist size"));
    }
    let end = zl.len() - 1;
    let mut p = 10;
    let mut out = Vec::new();
    while p < end {
        // prevlen: 1 byte, or 0xFE + 4 bytes.
        p += if zl[p] == 0xFE { 5 } else { 1 };
        let b0 = *get(p, p + 1)?.first().ok_or(Error::Bad("ziplist"))?;
        let (value, used): (Vec<u8>, usize) = match b0 >> 6 {
            0 => {
                let n = usize::from(b0 & 0x3F);
                (get(p + 1, p + 1 + n)?.to_vec(), 1 + n)
            }
            1 => {
                let b1 = *get(p + 1, p + 2)?.first().ok_or(Error::Bad("ziplist"))?;
                let n = (usize::from(b0 & 0x3F) << 8) | usize::from(b1);
                (get(p + 2, p + 2 + n)?.to_vec(), 2 + n)
            }
            2 => {
                let l = get(p + 1, p + 5)?;
                let n = u32::from_be_bytes([l[0], l[1], l[2], l[3]]) as usize;
                (get(p + 5, p + 5 + n)?.to_vec(), 5 + n)
            }
            _ => {
                let int = |n: usize| get(p + 1, p + 1 + n);
                let v: i64 = match b0 {
                    0xC0 => {
                        let d = int(2)?;
                        i64::from(i16::from_le_bytes([d[0], d[1]]))
                    }
                    0xD0 => {
                        let d = int(4)?;
                        i64::from(i32::from_le_bytes([d[0], d[1], d[2], d[3]]))
                    }
                    0xE0 => {
                        let d = int(8)?;
                        let mut a = [0u8; 8];
                        a.copy_from_slice(d);
                        i64::from_le_bytes(a)
                    }
                    0xF0 => {
                        let d = int(3)?;
                        i64::from(i32::from_le_bytes([0, d[0], d[1], d[2]]) >> 8)
                    }
                    0xFE => {
                        let d = int(1)?;
                        i64::from(d[0] as i8)
                    }
                    0xF1..=0xFD => i64::from(b0 & 0x0F) - 1,
                    _ => return Err(Error::Bad("unknown ziplist encoding")),
                };
                let used = match b0 {
                    0xC0 => 3,
                    0xD0 => 5,
                    0xE0 => 9,
                    0xF0 => 4,
                    0xFE => 2,
                    _ => 1,
                };
                (v.to_string().into_bytes(), used)
            }
        };
        p = p
            .checked_add(used)
            .ok_or(Error::Bad("ziplist entry overflows"))?;
        if p > end {
            return Err(Error::Bad("ziplist entry overflows"));
        }
        out.push(value);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::listpack::ListpackWriter;
    use crate::rdb::{dump_payload, RdbWriter};
    use proptest::prelude::*;

    /// A value's content in a form independent of encoding and iteration order.
    fn canon(v: &Value) -> Vec<Vec<u8>> {
        let mut out: Vec<Vec<u8>> = match v {
            Value::Int(_) | Value::Str(_) | Value::Raw(_) => {
                let mut b = Vec::new();
                if let Some(s) = v.as_str() {
                    s.with_bytes(|x| b.extend_from_slice(x));
                }
                return vec![b];
            }
            Value::List(l) => return l.to_vec(),
            Value::Set(s) => s.iter().map(|m| m.to_vec()).collect(),
            Value::Hash(h) => h.iter().map(|(f, v)| [f, b"=", v].concat()).collect(),
            Value::ZSet(z) => {
                return z
                    .iter()
                    .map(|(m, s)| [m, b"@", s.to_bits().to_string().as_bytes()].concat())
                    .collect()
            }
            Value::Stream(s) => {
                let mut out: Vec<Vec<u8>> = s
                    .range(StreamId::MIN, StreamId::MAX, false, 0)
                    .iter()
                    .map(|e| {
                        let mut b = format!("{}-{}", e.id.ms, e.id.seq).into_bytes();
                        for (f, v) in e.fields() {
                            b.extend_from_slice(&[f, b"=", v, b";"].concat());
                        }
                        b
                    })
                    .collect();
                out.push(format!("{:?}", s.groups).into_bytes());
                out.push(
                    format!(
                        "{:?} {:?} {:?} {}",
                        s.last_id, s.first_id, s.max_deleted_entry_id, s.entries_added
                    )
                    .into_bytes(),
                );
                return out;
            }
        };
        out.sort();
        out
    }

    fn roundtrip(v: &Value) -> Value {
        load_dump(&dump_payload(v), &Limits::default()).expect("loads back")
    }

    fn sample_values() -> Vec<Value> {
        let lim = Limits::default();
        let mut out = vec![
            Value::from_bytes(b"12345"),
            Value::from_bytes(b"-9223372036854775808"),
            Value::from_bytes(b"hello"),
            Value::from_bytes(&[7u8; 300]),
        ];
        let mut l = QuickList::new(-2, 0);
        for i in 0..1000 {
            l.push_back(format!("e{i}").as_bytes(), 1 << 30);
            l.push_back(i.to_string().as_bytes(), 1 << 30);
        }
        l.push_back(&[b'x'; 20_000], 1 << 30);
        out.push(Value::List(Box::new(l)));
        for n in [5usize, 600] {
            let mut s = Set::new();
            let mut t = Set::new();
            let mut h = Hash::new();
            let mut z = ZSet::new();
            for i in 0..n {
                s.add(i.to_string().as_bytes(), 512);
                t.add(format!("m{i}").as_bytes(), 512);
                h.set(
                    format!("f{i}").as_bytes(),
                    i.to_string().as_bytes(),
                    lim.hash,
                );
                zadd(&mut z, format!("z{i}").as_bytes(), i as f64 / 3.0, &lim).unwrap();
            }
            zadd(&mut z, b"inf", f64::INFINITY, &lim).unwrap();
            zadd(&mut z, b"-inf", f64::NEG_INFINITY, &lim).unwrap();
            out.extend([
                Value::Set(Box::new(s)),
                Value::Set(Box::new(t)),
                Value::Hash(Box::new(h)),
                Value::ZSet(Box::new(z)),
            ]);
        }
        let mut st = Stream::new();
        for i in 1..500u64 {
            let v = i.to_string();
            let fields: Vec<(&[u8], &[u8])> = if i % 7 == 0 {
                vec![(b"other", v.as_bytes())]
            } else {
                vec![(b"f", v.as_bytes()), (b"g", b"x")]
            };
            st.append(StreamId::new(i / 3, i), &fields, lim.stream)
                .unwrap();
        }
        st.delete(StreamId::new(3, 10));
        st.entries_added = 499;
        st.first_id = StreamId::new(0, 1);
        let mut g = Group {
            last_id: StreamId::new(10, 30),
            entries_read: 29,
            ..Group::default()
        };
        for seq in [1u64, 2, 4] {
            let id = StreamId::new(seq / 3, seq);
            g.pel.insert(
                id,
                Nack {
                    delivery_time: 1_700_000_000_000 + seq as i64,
                    delivery_count: seq,
                    consumer: b"alice".to_vec(),
                },
            );
            g.consumers
                .entry(b"alice".to_vec())
                .or_default()
                .pel
                .insert(id);
        }
        g.consumers.insert(b"idle".to_vec(), Consumer::default());
        st.groups.insert(b"g1".to_vec(), g);
        st.groups.insert(
            b"g2".to_vec(),
            Group {
                entries_read: ferrodis_ds::stream::INVALID_ENTRIES_READ,
                ..Group::default()
            },
        );
        out.push(Value::Stream(Box::new(st)));
        out
    }

    #[test]
    fn every_type_roundtrips_through_dump() {
        for v in sample_values() {
            let back = roundtrip(&v);
            assert_eq!(canon(&back), canon(&v), "{}", v.type_name());
            assert_eq!(back.type_name(), v.type_name());
        }
    }

    #[test]
    fn encodings_follow_the_limits_on_load() {
        for v in sample_values() {
            let back = roundtrip(&v);
            if let (Value::Hash(a), Value::Hash(b)) = (&v, &back) {
                assert_eq!(a.encoding(), b.encoding());
            }
            if let (Value::ZSet(a), Value::ZSet(b)) = (&v, &back) {
                assert_eq!(a.encoding(), b.encoding());
            }
            if let (Value::Set(a), Value::Set(b)) = (&v, &back) {
                assert_eq!(a.encoding(), b.encoding());
            }
        }
    }

    #[test]
    fn whole_file_roundtrip_with_expiry_and_databases() {
        let mut w = RdbWriter::new(Vec::new()).unwrap();
        w.aux("redis-ver", b"7.0.15").unwrap();
        w.select_db(0, 2, 1).unwrap();
        w.key(b"a", &Value::from_bytes(b"1"), Some(1_900_000_000_000))
            .unwrap();
        w.key(b"b", &Value::from_bytes(b"two"), None).unwrap();
        w.select_db(5, 1, 0).unwrap();
        w.key(b"c", &Value::from_bytes(b"three"), None).unwrap();
        let file = w.finish().unwrap();
        let mut keys = Vec::new();
        let loaded = load_rdb(&file[..], &Limits::default(), |k| {
            keys.push((k.db, k.key, canon(&k.value), k.expire_ms));
            Ok(())
        })
        .unwrap();
        assert_eq!(loaded.keys, 3);
        assert_eq!(
            loaded.aux,
            vec![(b"redis-ver".to_vec(), b"7.0.15".to_vec())]
        );
        assert_eq!(
            keys,
            vec![
                (
                    0,
                    b"a".to_vec(),
                    vec![b"1".to_vec()],
                    Some(1_900_000_000_000)
                ),
                (0, b"b".to_vec(), vec![b"two".to_vec()], None),
                (5, b"c".to_vec(), vec![b"three".to_vec()], None),
            ]
        );
        // A flipped byte is caught by the checksum.
        let mut bad = file.clone();
        bad[12] ^= 1;
        assert!(load_rdb(&bad[..], &Limits::default(), |_| Ok(())).is_err());
        // A truncated file is an error, not a panic.
        assert!(matches!(
            load_rdb(&file[..file.len() - 9], &Limits::default(), |_| Ok(())),
            Err(Error::Truncated)
        ));
    }

    #[test]
    fn dump_footer_is_checked() {
        let mut p = dump_payload(&Value::from_bytes(b"hello"));
        let n = p.len();
        p[n - 1] ^= 0xFF;
        assert!(matches!(load_dump(&p, &Limits::default()), Err(None)));
        assert!(matches!(load_dump(b"short", &Limits::default()), Err(None)));
    }

    /// `a`, `1`, `-1` as a ziplist lays them out (ziplist.c: 10-byte header, prevlen and
    /// encoding per entry, 0xFF).
    #[test]
    fn reads_ziplists() {
        let zl: Vec<u8> = vec![
            19, 0, 0, 0, // zlbytes
            15, 0, 0, 0, // zltail
            3, 0, // zllen
            0, 0x01, b'a', // prevlen 0, 6-bit string "a"
            3, 0xF2, // prevlen 3, 4-bit immediate 1
            2, 0xFE, 0xFF, // prevlen 2, int8 -1
            0xFF,
        ];
        assert_eq!(
            ziplist_entries(&zl).unwrap(),
            vec![b"a".to_vec(), b"1".to_vec(), b"-1".to_vec()]
        );
    }

    proptest! {
        #[test]
        fn listpack_roundtrip(items in prop::collection::vec(
            prop_oneof![
                any::<i64>().prop_map(|i| i.to_string().into_bytes()),
                prop::collection::vec(any::<u8>(), 0..300),
            ], 0..60)) {
            let mut w = ListpackWriter::new();
            for it in &items {
                w.push_bytes(it);
            }
            prop_assert_eq!(listpack_entries(&w.finish()).unwrap(), items);
        }

        #[test]
        fn garbage_never_panics(data in prop::collection::vec(any::<u8>(), 0..400)) {
            let _ = load_dump(&data, &Limits::default());
            let _ = load_rdb(&data[..], &Limits::default(), |_| Ok(()));
            let _ = listpack_entries(&data);
            let _ = ziplist_entries(&data);
        }

        #[test]
        fn mutated_payloads_never_panic(idx in 0usize..10_000, byte in any::<u8>(), which in 0usize..32) {
            let values = sample_values();
            let v = &values[which % values.len()];
            let mut p = dump_payload(v);
            let n = p.len();
            let i = idx % n;
            p[i] = byte;
            // Fix the CRC so the body parser sees the corruption.
            let body_end = n - 8;
            let crc = crate::rdb::CRC64.checksum(&p[..body_end]);
            p[body_end..].copy_from_slice(&crc.to_le_bytes());
            let _ = load_dump(&p, &Limits::default());
        }
    }
}
