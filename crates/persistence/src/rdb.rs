//! The RDB format of Redis 7.0 (RDB version 10), writing side.
//!
//! File layout: `REDIS0010`, aux fields (`0xFA key value`), then per non-empty database
//! `0xFE db` and `0xFB size expires`, then each key as `[0xFC ms-LE-u64] type key value`, and
//! finally `0xFF` and the CRC-64 (Jones polynomial, Redis's `crc64`) of everything before it,
//! little endian.
//!
//! Value encodings written (the ones Redis 7.0 itself writes or loads without conversion):
//! strings (`0`, integers as `0xC0..0xC2` when they fit 32 bits), lists as quicklist 2 (`18`,
//! listpack nodes), sets (`2`, or intset `11` when the set is an intset), sorted sets (`5`,
//! binary doubles), hashes (`4`), streams (`19`, listpack nodes with the master-entry layout of
//! t_stream.c, groups, PELs and consumers). Strings are not LZF-compressed (valid with any
//! `rdbcompression` setting on the loading side).

use std::io::{self, Write};

use crc::{Crc, Digest, CRC_64_REDIS};
use ferrodis_ds::list::Entry as ListEntry;
use ferrodis_ds::stream::{Stream, StreamId};
use ferrodis_ds::value::Value;

use crate::listpack::ListpackWriter;

pub const RDB_VERSION: u32 = 10;

pub const TYPE_STRING: u8 = 0;
pub const TYPE_SET: u8 = 2;
pub const TYPE_HASH: u8 = 4;
pub const TYPE_ZSET_2: u8 = 5;
pub const TYPE_SET_INTSET: u8 = 11;
pub const TYPE_LIST_QUICKLIST_2: u8 = 18;
pub const TYPE_STREAM_LISTPACKS_2: u8 = 19;

pub const OPCODE_FUNCTION2: u8 = 245;
pub const OPCODE_IDLE: u8 = 248;
pub const OPCODE_FREQ: u8 = 249;
pub const OPCODE_AUX: u8 = 250;
pub const OPCODE_RESIZEDB: u8 = 251;
pub const OPCODE_EXPIRETIME_MS: u8 = 252;
pub const OPCODE_SELECTDB: u8 = 254;
pub const OPCODE_EOF: u8 = 255;

/// Quicklist node containers (quicklist.h).
const CONTAINER_PLAIN: u64 = 1;
const CONTAINER_PACKED: u64 = 2;

/// Our list nodes are re-cut when written: at most this many elements or bytes per listpack
/// (Redis's default `list-max-listpack-size -2` is 8 KB).
const LIST_NODE_MAX_ELEMENTS: usize = 128;
const LIST_NODE_MAX_BYTES: usize = 8 * 1024;
/// An element this long goes in a plain node (Redis's packed threshold is 1 GB; anything near a
/// listpack's 4 GB limit must not be packed).
const LIST_PLAIN_THRESHOLD: usize = 1 << 30;
/// Stream nodes as Redis's defaults `stream-node-max-entries 100`, `-bytes 4096`.
const STREAM_NODE_MAX_ENTRIES: usize = 100;
const STREAM_NODE_MAX_BYTES: usize = 4096;

const STREAM_ITEM_FLAG_SAMEFIELDS: i64 = 1 << 1;

pub(crate) static CRC64: Crc<u64> = Crc::<u64>::new(&CRC_64_REDIS);

/// Writes an RDB stream, keeping its running CRC.
pub struct RdbWriter<W: Write> {
    out: W,
    crc: Digest<'static, u64>,
    written: u64,
}

impl<W: Write> RdbWriter<W> {
    /// Starts a file: the magic and version.
    pub fn new(out: W) -> io::Result<Self> {
        let mut w = RdbWriter {
            out,
            crc: CRC64.digest(),
            written: 0,
        };
        w.raw(format!("REDIS{RDB_VERSION:04}").as_bytes())?;
        Ok(w)
    }

    /// Bytes written so far.
    pub fn written(&self) -> u64 {
        self.written
    }

    fn raw(&mut self, b: &[u8]) -> io::Result<()> {
        self.crc.update(b);
        self.written += b.len() as u64;
        self.out.write_all(b)
    }

    fn byte(&mut self, b: u8) -> io::Result<()> {
        self.raw(&[b])
    }

    /// Redis's length encoding (rdbSaveLen).
    pub fn len(&mut self, n: u64) -> io::Result<()> {
        if n < 1 << 6 {
            self.byte(n as u8)
        } else if n < 1 << 14 {
            self.raw(&[0x40 | (n >> 8) as u8, (n & 0xFF) as u8])
        } else if n <= u32::MAX as u64 {
            self.byte(0x80)?;
            self.raw(&(n as u32).to_be_bytes())
        } else {
            self.byte(0x81)?;
            self.raw(&n.to_be_bytes())
        }
    }

    /// A string (rdbSaveRawString): short canonical integers in the integer encodings.
    pub fn string(&mut self, s: &[u8]) -> io::Result<()> {
        if s.len() <= 11 {
            if let Some(v) = ferrodis_ds::num::string2ll(s) {
                if self.int_encoded(v)? {
                    return Ok(());
                }
            }
        }
        self.len(s.len() as u64)?;
        self.raw(s)
    }

    /// An integer string: the integer encodings when it fits 32 bits, else its decimal form.
    pub fn int_string(&mut self, v: i64) -> io::Result<()> {
        if self.int_encoded(v)? {
            return Ok(());
        }
        let s = v.to_string();
        self.len(s.len() as u64)?;
        self.raw(s.as_bytes())
    }

    fn int_encoded(&mut self, v: i64) -> io::Result<bool> {
        if let Ok(x) = i8::try_from(v) {
            self.raw(&[0xC0, x as u8])?;
        } else if let Ok(x) = i16::try_from(v) {
            self.byte(0xC1)?;
            self.raw(&x.to_le_bytes())?;
        } else if let Ok(x) = i32::try_from(v) {
            self.byte(0xC2)?;
            self.raw(&x.to_le_bytes())?;
        } else {
            return Ok(false);
        }
        Ok(true)
    }

    /// An aux field (`0xFA key value`).
    pub fn aux(&mut self, key: &str, value: &[u8]) -> io::Result<()> {
        self.byte(OPCODE_AUX)?;
        self.string(key.as_bytes())?;
        self.string(value)
    }

    /// A function library's source (`FUNCTION2` opcode), written before the keys as Redis does.
    pub fn function(&mut self, code: &[u8]) -> io::Result<()> {
        self.byte(OPCODE_FUNCTION2)?;
        self.string(code)
    }

    /// Switches to database `db` (no size hints: a snapshot written in slices does not know
    /// them up front).
    pub fn select(&mut self, db: u64) -> io::Result<()> {
        self.byte(OPCODE_SELECTDB)?;
        self.len(db)
    }

    /// The output written to so far (to drain an in-memory buffer between slices).
    pub fn output_mut(&mut self) -> &mut W {
        &mut self.out
    }

    /// Starts database `db` with its size hints.
    pub fn select_db(&mut self, db: u64, size: u64, expires: u64) -> io::Result<()> {
        self.byte(OPCODE_SELECTDB)?;
        self.len(db)?;
        self.byte(OPCODE_RESIZEDB)?;
        self.len(size)?;
        self.len(expires)
    }

    /// One key: its expiry (absolute Unix ms), type, name and value.
    pub fn key(&mut self, key: &[u8], value: &Value, expire_ms: Option<i64>) -> io::Result<()> {
        if let Some(ms) = expire_ms {
            self.byte(OPCODE_EXPIRETIME_MS)?;
            self.raw(&ms.to_le_bytes())?;
        }
        self.byte(value_type(value))?;
        self.string(key)?;
        self.value(value)
    }

    /// A value without its type byte (the body of DUMP payloads and of keys).
    pub fn value(&mut self, value: &Value) -> io::Result<()> {
        match value {
            Value::Int(i) => self.int_string(*i),
            Value::Str(s) => self.string(s.as_slice()),
            Value::Raw(r) => self.string(r),
            Value::List(l) => {
                let nodes = list_nodes(l);
                self.len(nodes.len() as u64)?;
                for (container, blob) in nodes {
                    self.len(container)?;
                    self.string(&blob)?;
                }
                Ok(())
            }
            Value::Set(s) => {
                if let Some(blob) = s.intset_blob() {
                    return self.string(&blob);
                }
                self.len(s.len() as u64)?;
                for m in s.iter() {
                    m.with_bytes(|b| self.string(b))?;
                }
                Ok(())
            }
            Value::ZSet(z) => {
                self.len(z.len() as u64)?;
                // Highest score first, as Redis writes them (its loader then appends in order).
                let all: Vec<(&[u8], f64)> = z.iter().collect();
                for (m, score) in all.into_iter().rev() {
                    self.string(m)?;
                    self.raw(&score.to_le_bytes())?;
                }
                Ok(())
            }
            Value::Hash(h) => {
                self.len(h.len() as u64)?;
                for (f, v) in h.iter() {
                    self.string(f)?;
                    self.string(v)?;
                }
                Ok(())
            }
            Value::Stream(s) => self.stream(s),
        }
    }

    fn stream(&mut self, s: &Stream) -> io::Result<()> {
        let nodes = stream_nodes(s);
        self.len(nodes.len() as u64)?;
        for (master, lp) in &nodes {
            self.string(&stream_id_raw(*master))?;
            self.string(lp)?;
        }
        self.len(s.len())?;
        self.len(s.last_id.ms)?;
        self.len(s.last_id.seq)?;
        self.len(s.first_id.ms)?;
        self.len(s.first_id.seq)?;
        self.len(s.max_deleted_entry_id.ms)?;
        self.len(s.max_deleted_entry_id.seq)?;
        self.len(s.entries_added)?;
        self.len(s.groups.len() as u64)?;
        for (name, g) in &s.groups {
            self.string(name)?;
            self.len(g.last_id.ms)?;
            self.len(g.last_id.seq)?;
            // Redis stores the "invalid" marker (-1) as an unsigned length.
            self.len(g.entries_read as u64)?;
            self.len(g.pel.len() as u64)?;
            for (id, nack) in &g.pel {
                self.raw(&stream_id_raw(*id))?;
                self.raw(&nack.delivery_time.to_le_bytes())?;
                self.len(nack.delivery_count)?;
            }
            self.len(g.consumers.len() as u64)?;
            for (cname, c) in &g.consumers {
                self.string(cname)?;
                self.raw(&c.seen_time.to_le_bytes())?;
                self.len(c.pel.len() as u64)?;
                for id in &c.pel {
                    self.raw(&stream_id_raw(*id))?;
                }
            }
        }
        Ok(())
    }

    /// Ends the file: EOF opcode and checksum. Returns the writer.
    pub fn finish(mut self) -> io::Result<W> {
        self.byte(OPCODE_EOF)?;
        let crc = self.crc.finalize();
        self.out.write_all(&crc.to_le_bytes())?;
        self.out.flush()?;
        Ok(self.out)
    }
}

/// The RDB type byte of a value.
pub fn value_type(v: &Value) -> u8 {
    match v {
        Value::Int(_) | Value::Str(_) | Value::Raw(_) => TYPE_STRING,
        Value::List(_) => TYPE_LIST_QUICKLIST_2,
        Value::Set(s) if s.is_intset() => TYPE_SET_INTSET,
        Value::Set(_) => TYPE_SET,
        Value::ZSet(_) => TYPE_ZSET_2,
        Value::Hash(_) => TYPE_HASH,
        Value::Stream(_) => TYPE_STREAM_LISTPACKS_2,
    }
}

/// A stream ID as Redis keys its radix tree and PELs: ms then seq, both big endian.
pub fn stream_id_raw(id: StreamId) -> [u8; 16] {
    let mut out = [0u8; 16];
    out[..8].copy_from_slice(&id.ms.to_be_bytes());
    out[8..].copy_from_slice(&id.seq.to_be_bytes());
    out
}

/// The list cut into quicklist nodes: `(container, blob)`, a listpack for packed nodes or the
/// element itself for plain ones.
fn list_nodes(l: &ferrodis_ds::list::QuickList) -> Vec<(u64, Vec<u8>)> {
    let mut nodes = Vec::new();
    let mut lp = ListpackWriter::new();
    let mut it = l.iter();
    while let Some(e) = it.next_entry() {
        let plain = matches!(e, ListEntry::Bytes(b) if b.len() >= LIST_PLAIN_THRESHOLD);
        if plain {
            if !lp.is_empty() {
                nodes.push((CONTAINER_PACKED, std::mem::take(&mut lp).finish()));
            }
            if let ListEntry::Bytes(b) = e {
                nodes.push((CONTAINER_PLAIN, b.to_vec()));
            }
            continue;
        }
        let size = match e {
            ListEntry::Int(_) => 10,
            ListEntry::Bytes(b) => b.len() + 6,
        };
        if !lp.is_empty()
            && (lp.len() >= LIST_NODE_MAX_ELEMENTS || lp.bytes() + size > LIST_NODE_MAX_BYTES)
        {
            nodes.push((CONTAINER_PACKED, std::mem::take(&mut lp).finish()));
        }
        match e {
            ListEntry::Int(i) => lp.push_int(i),
            ListEntry::Bytes(b) => lp.push_bytes(b),
        }
    }
    if !lp.is_empty() {
        nodes.push((CONTAINER_PACKED, lp.finish()));
    }
    nodes
}

/// The stream's live entries cut into Redis stream nodes: `(master id, listpack)`. Each node's
/// master entry takes the fields of its first entry; entries with the same field names are
/// written with the SAMEFIELDS flag and their values only, as t_stream.c does.
fn stream_nodes(s: &Stream) -> Vec<(StreamId, Vec<u8>)> {
    let mut out = Vec::new();
    let entries: Vec<_> = s.range(StreamId::MIN, StreamId::MAX, false, 0);
    for chunk in chunk_stream(&entries) {
        let Some(first) = chunk.first() else { continue };
        let master = first.id;
        let master_fields: Vec<&[u8]> = first.fields().map(|(f, _)| f).collect();
        let mut lp = ListpackWriter::new();
        lp.push_int(chunk.len() as i64); // live entries
        lp.push_int(0); // deleted entries
        lp.push_int(master_fields.len() as i64);
        for f in &master_fields {
            lp.push_bytes(f);
        }
        lp.push_int(0); // master entry terminator
        for e in chunk {
            let fields: Vec<(&[u8], &[u8])> = e.fields().collect();
            let same = fields.len() == master_fields.len()
                && fields.iter().zip(&master_fields).all(|((f, _), m)| f == m);
            lp.push_int(if same { STREAM_ITEM_FLAG_SAMEFIELDS } else { 0 });
            lp.push_int((e.id.ms - master.ms) as i64);
            lp.push_int(e.id.seq.wrapping_sub(master.seq) as i64);
            if !same {
                lp.push_int(fields.len() as i64);
            }
            for (f, v) in &fields {
                if !same {
                    lp.push_bytes(f);
                }
                lp.push_bytes(v);
            }
            let mut lp_count = fields.len() as i64 + 3;
            if !same {
                lp_count += fields.len() as i64 + 1;
            }
            lp.push_int(lp_count);
        }
        out.push((master, lp.finish()));
    }
    out
}

/// Consecutive runs of entries within the node limits.
fn chunk_stream<T: StreamEntryLike>(entries: &[T]) -> Vec<&[T]> {
    let mut out = Vec::new();
    let mut start = 0;
    let mut bytes = 0;
    for (i, e) in entries.iter().enumerate() {
        let size = e.approx_bytes();
        if i > start
            && (i - start >= STREAM_NODE_MAX_ENTRIES || bytes + size >= STREAM_NODE_MAX_BYTES)
        {
            out.push(&entries[start..i]);
            start = i;
            bytes = 0;
        }
        bytes += size;
    }
    if start < entries.len() {
        out.push(&entries[start..]);
    }
    out
}

trait StreamEntryLike {
    fn approx_bytes(&self) -> usize;
}

impl StreamEntryLike for ferrodis_ds::stream::EntryRef<'_> {
    fn approx_bytes(&self) -> usize {
        self.fields()
            .map(|(f, v)| f.len() + v.len() + 4)
            .sum::<usize>()
            + 6
    }
}

/// The CRC-64 Redis puts in RDB files and DUMP payloads (Jones polynomial, reflected).
pub fn payload_crc(bytes: &[u8]) -> u64 {
    CRC64.checksum(bytes)
}

/// A DUMP payload: the value's type byte and body, the RDB version as 2 bytes LE, and the
/// CRC-64 of all that, 8 bytes LE.
pub fn dump_payload(value: &Value) -> Vec<u8> {
    let mut body = BodyWriter { buf: Vec::new() };
    body.buf.push(value_type(value));
    // Writing into a Vec cannot fail.
    let _ = body.value(value);
    let mut buf = body.buf;
    buf.extend_from_slice(&(RDB_VERSION as u16).to_le_bytes());
    let crc = CRC64.checksum(&buf);
    buf.extend_from_slice(&crc.to_le_bytes());
    buf
}

/// An [`RdbWriter`] without the file header, for DUMP bodies.
struct BodyWriter {
    buf: Vec<u8>,
}

impl BodyWriter {
    fn value(&mut self, value: &Value) -> io::Result<()> {
        let mut w = RdbWriter {
            out: &mut self.buf,
            crc: CRC64.digest(),
            written: 0,
        };
        w.value(value)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ferrodis_ds::list::QuickList;

    /// The DUMP payload Redis 7.0.15 returns for `RPUSH l a 1 -1`.
    #[test]
    fn list_dump_matches_redis() {
        let mut l = QuickList::new(-2, 0);
        for e in [&b"a"[..], b"1", b"-1"] {
            l.push_back(e, usize::MAX);
        }
        let want = b"\x12\x01\x02\x0f\x0f\x00\x00\x00\x03\x00\x81a\x02\x01\x01\xdf\xff\x02\xff\n\x00\xd7C\xdbU\xabhF\xed";
        assert_eq!(dump_payload(&Value::List(Box::new(l))), want.to_vec());
    }

    /// The DUMP payload Redis 7.0.15 returns for `XADD s 1-1 f v` then `XADD s 1-2 f w g x`.
    #[test]
    fn stream_dump_matches_redis() {
        let mut s = Stream::new();
        let lim = ferrodis_ds::stream::NodeLimits {
            max_bytes: 4096,
            max_entries: 100,
        };
        s.append(StreamId::new(1, 1), &[(b"f", b"v")], lim).unwrap();
        s.append(StreamId::new(1, 2), &[(b"f", b"w"), (b"g", b"x")], lim)
            .unwrap();
        s.first_id = StreamId::new(1, 1);
        s.entries_added = 2;
        let want = b"\x13\x01\x10\x00\x00\x00\x00\x00\x00\x00\x01\x00\x00\x00\x00\x00\x00\x00\x0133\x00\x00\x00\x13\x00\x02\x01\x00\x01\x01\x01\x81f\x02\x00\x01\x02\x01\x00\x01\x00\x01\x81v\x02\x04\x01\x00\x01\x00\x01\x01\x01\x02\x01\x81f\x02\x81w\x02\x81g\x02\x81x\x02\x08\x01\xff\x02\x01\x02\x01\x01\x00\x00\x02\x00\n\x00\x17\xff\x08\xeao\xae\x81\xa3";
        assert_eq!(dump_payload(&Value::Stream(Box::new(s))), want.to_vec());
    }

    #[test]
    fn lengths_and_integers() {
        let mut w = RdbWriter::new(Vec::new()).unwrap();
        let start = w.written();
        w.len(63).unwrap();
        w.len(64).unwrap();
        w.len(16384).unwrap();
        w.len(1 << 33).unwrap();
        w.string(b"-129").unwrap();
        w.string(b"70000").unwrap();
        w.string(b"012").unwrap();
        assert_eq!(w.written() - start, 1 + 2 + 5 + 9 + 3 + 5 + 4);
        let out = w.finish().unwrap();
        assert_eq!(&out[..9], b"REDIS0010");
        let body = &out[9..out.len() - 9];
        assert_eq!(&body[..3], &[63, 0x40, 64]);
        assert_eq!(&body[17..20], &[0xC1, 0x7F, 0xFF]); // -129 as int16 LE
        assert_eq!(out[out.len() - 9], OPCODE_EOF);
    }
}
