//! Pub/Sub: the server-wide registry of channel, pattern and shard-channel
//! subscriptions, one bounded message queue per subscribed connection, and the
//! keyspace-notification listener that publishes `__keyspace@<db>__:` and
//! `__keyevent@<db>__:` messages.
//!
//! Delivery: PUBLISH builds one [`Msg`] (channel and payload are shared `Bytes`)
//! and queues an `Arc` of it on every receiver; each connection encodes the
//! message for its own protocol (RESP2 array or RESP3 push) when it writes. A
//! queue is bounded by `client-output-buffer-limit` (the class of the client, so
//! `pubsub` for subscribers): past the hard limit, or past the soft limit for
//! longer than its seconds, the client is killed as Redis closes it ASAP.
//!
//! Locks: the registry `RwLock` is a leaf lock with respect to shard locks
//! (keyspace events publish while a command holds its shard locks; nothing here
//! takes a shard lock). A subscriber's queue mutex is taken under the registry
//! lock, never the other way round. Subscribing pushes its confirmation while
//! holding the registry write lock, so no message of the new channel can be
//! queued ahead of its confirmation.

use crate::client::{flags, ClientHandle};
use bytes::{Bytes, BytesMut};
use ferrodis_commands::engine::{notify, EventListener};
use ferrodis_ds::glob::string_match;
use ferrodis_resp::encode as enc;
use parking_lot::{Mutex, RwLock};
use std::collections::{HashMap, HashSet, VecDeque};
use std::sync::atomic::{AtomicBool, AtomicI64, AtomicU32, AtomicU64, AtomicUsize, Ordering};
use std::sync::Arc;
use tokio::sync::Notify;

type Map<K, V> = HashMap<K, V, ahash::RandomState>;

/// Which family a channel subscription belongs to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    /// SUBSCRIBE / PUBLISH.
    Channel,
    /// PSUBSCRIBE.
    Pattern,
    /// SSUBSCRIBE / SPUBLISH.
    Shard,
}

/// One published message, shared by all its receivers.
#[derive(Debug)]
pub struct Msg {
    pub shard: bool,
    pub channel: Bytes,
    pub payload: Bytes,
}

/// An entry of a subscriber's queue.
#[derive(Debug)]
pub enum Item {
    /// `message` / `smessage`.
    Message(Arc<Msg>),
    /// `pmessage` with the pattern that matched.
    PMessage(Bytes, Arc<Msg>),
    /// A (un)subscribe confirmation: `[kind, name or null, count]`.
    Confirm {
        kind: &'static [u8],
        name: Option<Bytes>,
        count: i64,
    },
    /// Client-side caching invalidation: a RESP3 `invalidate` push, or for a RESP2
    /// redirection target a message on `__redis__:invalidate`. `None` = everything
    /// (a flush), written as the null of protocol `null_resp` (the tracking client's).
    Invalidate {
        keys: Option<Vec<Bytes>>,
        null_resp: u8,
    },
    /// `tracking-redir-broken`: the redirection target of a RESP3 client went away.
    RedirBroken(i64),
}

fn digits(n: usize) -> usize {
    let mut d = 1;
    let mut n = n / 10;
    while n > 0 {
        d += 1;
        n /= 10;
    }
    d
}

fn bulk_len(n: usize) -> usize {
    1 + digits(n) + 2 + n + 2
}

impl Item {
    /// Bytes this item takes once encoded (RESP2 sizes; RESP3 differs by a byte at most).
    fn size(&self) -> usize {
        match self {
            Item::Message(m) => {
                let kind = if m.shard { 8 } else { 7 };
                4 + bulk_len(kind) + bulk_len(m.channel.len()) + bulk_len(m.payload.len())
            }
            Item::PMessage(p, m) => {
                4 + bulk_len(8)
                    + bulk_len(p.len())
                    + bulk_len(m.channel.len())
                    + bulk_len(m.payload.len())
            }
            Item::Confirm { kind, name, .. } => {
                4 + bulk_len(kind.len()) + name.as_ref().map_or(5, |n| bulk_len(n.len())) + 23
            }
            Item::Invalidate { keys, .. } => {
                40 + keys.as_ref().map_or(5, |k| {
                    k.iter().map(|k| bulk_len(k.len())).sum::<usize>() + 12
                })
            }
            Item::RedirBroken(_) => 60,
        }
    }

    /// Encode for protocol `resp`: an array in RESP2, a push frame in RESP3.
    pub fn encode(&self, resp: u8, out: &mut BytesMut) {
        match self {
            Item::Message(m) => {
                enc::write_push_len(out, 3, resp);
                enc::write_bulk(
                    out,
                    if m.shard {
                        b"smessage".as_slice()
                    } else {
                        b"message".as_slice()
                    },
                );
                enc::write_bulk(out, &m.channel);
                enc::write_bulk(out, &m.payload);
            }
            Item::PMessage(p, m) => {
                enc::write_push_len(out, 4, resp);
                enc::write_bulk(out, b"pmessage");
                enc::write_bulk(out, p);
                enc::write_bulk(out, &m.channel);
                enc::write_bulk(out, &m.payload);
            }
            Item::Confirm { kind, name, count } => {
                enc::write_push_len(out, 3, resp);
                enc::write_bulk(out, kind);
                match name {
                    Some(n) => enc::write_bulk(out, n),
                    None => enc::write_null(out, resp),
                }
                enc::write_integer(out, *count);
            }
            Item::Invalidate { keys, null_resp } => {
                if resp >= 3 {
                    enc::write_push_len(out, 2, resp);
                    enc::write_bulk(out, b"invalidate");
                } else {
                    enc::write_array_len(out, 3);
                    enc::write_bulk(out, b"message");
                    enc::write_bulk(out, b"__redis__:invalidate");
                }
                match keys {
                    Some(keys) => {
                        enc::write_array_len(out, keys.len());
                        for k in keys {
                            enc::write_bulk(out, k);
                        }
                    }
                    None => enc::write_null(out, *null_resp),
                }
            }
            Item::RedirBroken(id) => {
                enc::write_push_len(out, 2, resp);
                enc::write_bulk(out, b"tracking-redir-broken");
                enc::write_integer(out, *id);
            }
        }
    }
}

/// The receiving end of one connection: its queue, shared with publishers.
#[derive(Debug)]
pub struct Subscriber {
    pub handle: Arc<ClientHandle>,
    queue: Mutex<VecDeque<(Item, usize)>>,
    /// Queued bytes plus bytes taken by the connection but not yet written: the
    /// client's output-buffer usage for the limits.
    bytes: AtomicUsize,
    /// Unix seconds since the soft limit has been exceeded continuously (0 = below it).
    soft_since: AtomicI64,
    /// Wakes the connection task when something was queued.
    pub notify: Notify,
    closing: AtomicBool,
}

impl Subscriber {
    fn new(handle: Arc<ClientHandle>) -> Subscriber {
        Subscriber {
            handle,
            queue: Mutex::new(VecDeque::new()),
            bytes: AtomicUsize::new(0),
            soft_since: AtomicI64::new(0),
            notify: Notify::new(),
            closing: AtomicBool::new(false),
        }
    }

    /// Move everything queued into `out`, encoded for `resp`. Returns the bytes taken,
    /// which stay counted as output-buffer usage until [`Subscriber::written`].
    pub fn drain(&self, resp: u8, out: &mut BytesMut) -> usize {
        let items: Vec<(Item, usize)> = self.queue.lock().drain(..).collect();
        let mut n = 0;
        for (it, sz) in items {
            it.encode(resp, out);
            n += sz;
        }
        n
    }

    /// `n` drained bytes reached the socket.
    pub fn written(&self, n: usize) {
        if n > 0 {
            let prev = self.bytes.fetch_sub(n, Ordering::Relaxed);
            let now = prev.saturating_sub(n);
            self.handle.omem.store(now, Ordering::Relaxed);
        }
    }

    pub fn has_pending(&self) -> bool {
        !self.queue.lock().is_empty()
    }

    /// Unix seconds when the soft limit started being exceeded (0 = not exceeded).
    pub fn soft_since(&self) -> i64 {
        self.soft_since.load(Ordering::Relaxed)
    }

    fn push(&self, item: Item) {
        let sz = item.size();
        self.queue.lock().push_back((item, sz));
        let now = self.bytes.fetch_add(sz, Ordering::Relaxed) + sz;
        self.handle.omem.store(now, Ordering::Relaxed);
        self.notify.notify_one();
    }
}

/// Redis's checkClientOutputBufferLimits for `used` bytes of a class's `(hard, soft, soft
/// seconds)`: over the hard limit, or over the soft one for longer than its seconds.
/// `soft_since` keeps the unix second it was first exceeded (0: under it).
pub fn obuf_over(used: u64, (hard, soft, secs): (u64, u64, i64), soft_since: &AtomicI64) -> bool {
    let hard_hit = hard > 0 && used >= hard;
    let mut soft_hit = false;
    if soft > 0 && used >= soft {
        let now = unix_secs();
        let since = soft_since.load(Ordering::Relaxed);
        if since == 0 {
            soft_since.store(now, Ordering::Relaxed);
        } else if now - since > secs {
            soft_hit = true;
        }
    } else {
        soft_since.store(0, Ordering::Relaxed);
    }
    hard_hit || soft_hit
}

/// One class of `client-output-buffer-limit`, readable without the config lock.
#[derive(Debug, Default)]
struct Limit {
    hard: AtomicU64,
    soft: AtomicU64,
    soft_secs: AtomicI64,
}

#[derive(Default)]
struct Registry {
    channels: Map<Bytes, Vec<Arc<Subscriber>>>,
    patterns: Map<Bytes, Vec<Arc<Subscriber>>>,
    shard: Map<Bytes, Vec<Arc<Subscriber>>>,
}

impl Registry {
    fn map(&mut self, kind: Kind) -> &mut Map<Bytes, Vec<Arc<Subscriber>>> {
        match kind {
            Kind::Channel => &mut self.channels,
            Kind::Pattern => &mut self.patterns,
            Kind::Shard => &mut self.shard,
        }
    }
    fn map_ref(&self, kind: Kind) -> &Map<Bytes, Vec<Arc<Subscriber>>> {
        match kind {
            Kind::Channel => &self.channels,
            Kind::Pattern => &self.patterns,
            Kind::Shard => &self.shard,
        }
    }
}

/// Server-wide Pub/Sub state.
#[derive(Default)]
pub struct PubSub {
    reg: RwLock<Registry>,
    /// Every connection's queue that exists, by client id (client-side caching
    /// delivers invalidations to other clients through these).
    queues: Mutex<Map<u64, Arc<Subscriber>>>,
    /// `normal, replica, pubsub` limits.
    limits: [Limit; 3],
    /// `notify-keyspace-events` flags, for the K/E channel choice.
    pub notify_flags: AtomicU32,
    /// Clients closed for overcoming their output-buffer limit.
    pub obuf_disconnections: AtomicU64,
}

/// A connection's own subscriptions (Redis's client->pubsub_* fields).
#[derive(Default, Debug)]
pub struct ClientPubSub {
    pub sub: Option<Arc<Subscriber>>,
    channels: HashSet<Bytes, ahash::RandomState>,
    /// Patterns in subscription order (Redis keeps a list).
    patterns: Vec<Bytes>,
    shard: HashSet<Bytes, ahash::RandomState>,
}

impl ClientPubSub {
    /// Channels + patterns (the count SUBSCRIBE/PSUBSCRIBE report).
    pub fn count(&self) -> usize {
        self.channels.len() + self.patterns.len()
    }
    pub fn shard_count(&self) -> usize {
        self.shard.len()
    }
    pub fn total(&self) -> usize {
        self.count() + self.shard_count()
    }
    fn has(&self, kind: Kind, name: &[u8]) -> bool {
        match kind {
            Kind::Channel => self.channels.contains(name),
            Kind::Pattern => self.patterns.iter().any(|p| p == name),
            Kind::Shard => self.shard.contains(name),
        }
    }
    fn insert(&mut self, kind: Kind, name: Bytes) {
        match kind {
            Kind::Channel => {
                self.channels.insert(name);
            }
            Kind::Pattern => self.patterns.push(name),
            Kind::Shard => {
                self.shard.insert(name);
            }
        }
    }
    fn remove(&mut self, kind: Kind, name: &[u8]) -> bool {
        match kind {
            Kind::Channel => self.channels.remove(name),
            Kind::Pattern => match self.patterns.iter().position(|p| p == name) {
                Some(i) => {
                    self.patterns.remove(i);
                    true
                }
                None => false,
            },
            Kind::Shard => self.shard.remove(name),
        }
    }
    fn names(&self, kind: Kind) -> Vec<Bytes> {
        match kind {
            Kind::Channel => self.channels.iter().cloned().collect(),
            Kind::Pattern => self.patterns.clone(),
            Kind::Shard => self.shard.iter().cloned().collect(),
        }
    }
    fn count_for(&self, kind: Kind) -> i64 {
        match kind {
            Kind::Shard => self.shard_count() as i64,
            _ => self.count() as i64,
        }
    }
}

fn sub_kind(kind: Kind) -> &'static [u8] {
    match kind {
        Kind::Channel => b"subscribe",
        Kind::Pattern => b"psubscribe",
        Kind::Shard => b"ssubscribe",
    }
}

fn unsub_kind(kind: Kind) -> &'static [u8] {
    match kind {
        Kind::Channel => b"unsubscribe",
        Kind::Pattern => b"punsubscribe",
        Kind::Shard => b"sunsubscribe",
    }
}

fn unix_secs() -> i64 {
    ferrodis_commands::engine::wall_ms() / 1000
}

impl PubSub {
    pub fn new() -> PubSub {
        PubSub::default()
    }

    /// Refresh the cached `client-output-buffer-limit` classes.
    pub fn set_limits(&self, classes: [(u64, u64, i64); 3]) {
        for (l, (hard, soft, secs)) in self.limits.iter().zip(classes) {
            l.hard.store(hard, Ordering::Relaxed);
            l.soft.store(soft, Ordering::Relaxed);
            l.soft_secs.store(secs, Ordering::Relaxed);
        }
    }

    fn subscriber(&self, c: &mut ClientPubSub, handle: &Arc<ClientHandle>) -> Arc<Subscriber> {
        if let Some(s) = &c.sub {
            return s.clone();
        }
        let s = Arc::new(Subscriber::new(handle.clone()));
        self.queues.lock().insert(handle.id, s.clone());
        c.sub = Some(s.clone());
        s
    }

    /// The connection's queue, created if needed (RESP3 clients and tracking clients
    /// get one so pushes can reach them).
    pub fn ensure_queue(
        &self,
        c: &mut ClientPubSub,
        handle: &Arc<ClientHandle>,
    ) -> Arc<Subscriber> {
        self.subscriber(c, handle)
    }

    /// The queue of client `id`, if it has one.
    pub fn queue_of(&self, id: u64) -> Option<Arc<Subscriber>> {
        self.queues.lock().get(&id).cloned()
    }

    /// Queue an item on a connection, under its output-buffer limits.
    pub fn push_to(&self, s: &Subscriber, item: Item) {
        self.deliver(s, item);
    }

    /// The connection is gone: drop its subscriptions and its queue.
    pub fn disconnect(&self, c: &mut ClientPubSub, handle: &Arc<ClientHandle>) {
        self.unsubscribe_all(c, handle);
        if c.sub.take().is_some() {
            self.queues.lock().remove(&handle.id);
        }
    }

    fn sync_counts(c: &ClientPubSub, handle: &ClientHandle) {
        handle.sub.store(c.channels.len(), Ordering::Relaxed);
        handle.psub.store(c.patterns.len(), Ordering::Relaxed);
        handle.ssub.store(c.shard.len(), Ordering::Relaxed);
        handle.set_flag(flags::PUBSUB, c.total() > 0);
    }

    /// SUBSCRIBE / PSUBSCRIBE / SSUBSCRIBE: subscribe and queue one confirmation per name.
    pub fn subscribe(
        &self,
        c: &mut ClientPubSub,
        handle: &Arc<ClientHandle>,
        kind: Kind,
        names: &[Bytes],
    ) {
        let me = self.subscriber(c, handle);
        let mut reg = self.reg.write();
        for name in names {
            if !c.has(kind, name) {
                let name = Bytes::copy_from_slice(name);
                c.insert(kind, name.clone());
                reg.map(kind).entry(name).or_default().push(me.clone());
            }
            me.push(Item::Confirm {
                kind: sub_kind(kind),
                name: Some(Bytes::copy_from_slice(name)),
                count: c.count_for(kind),
            });
        }
        drop(reg);
        Self::sync_counts(c, handle);
    }

    /// Remove the registry entry of one subscription (the client side is already updated).
    fn unregister(reg: &mut Registry, kind: Kind, name: &[u8], me: &Arc<Subscriber>) {
        let map = reg.map(kind);
        if let Some(list) = map.get_mut(name) {
            list.retain(|s| !Arc::ptr_eq(s, me));
            if list.is_empty() {
                map.remove(name);
            }
        }
    }

    /// UNSUBSCRIBE / PUNSUBSCRIBE / SUNSUBSCRIBE: `names` empty = all of that kind.
    /// With `notify`, queues Redis's confirmations (one with a null name when there
    /// was nothing to unsubscribe from).
    pub fn unsubscribe(
        &self,
        c: &mut ClientPubSub,
        handle: &Arc<ClientHandle>,
        kind: Kind,
        names: &[Bytes],
        notify: bool,
    ) {
        let me = if notify {
            Some(self.subscriber(c, handle))
        } else {
            c.sub.clone()
        };
        let all = names.is_empty();
        let list = if all { c.names(kind) } else { names.to_vec() };
        let mut reg = self.reg.write();
        let mut count = 0;
        for name in &list {
            if c.remove(kind, name) {
                count += 1;
                if let Some(me) = &me {
                    Self::unregister(&mut reg, kind, name, me);
                }
            }
            if notify {
                if let Some(me) = &me {
                    me.push(Item::Confirm {
                        kind: unsub_kind(kind),
                        name: Some(name.clone()),
                        count: c.count_for(kind),
                    });
                }
            }
        }
        if notify && all && count == 0 {
            if let Some(me) = &me {
                me.push(Item::Confirm {
                    kind: unsub_kind(kind),
                    name: None,
                    count: c.count_for(kind),
                });
            }
        }
        drop(reg);
        Self::sync_counts(c, handle);
    }

    /// Drop every subscription without confirmations (RESET, disconnection).
    pub fn unsubscribe_all(&self, c: &mut ClientPubSub, handle: &Arc<ClientHandle>) {
        if c.total() == 0 {
            return;
        }
        for kind in [Kind::Channel, Kind::Pattern, Kind::Shard] {
            self.unsubscribe(c, handle, kind, &[], false);
        }
    }

    /// PUBLISH / SPUBLISH: the number of receivers (a client matched by two
    /// patterns counts twice, as in Redis).
    pub fn publish(&self, channel: &[u8], payload: &[u8], shard: bool) -> usize {
        let reg = self.reg.read();
        let direct = reg
            .map_ref(if shard { Kind::Shard } else { Kind::Channel })
            .get(channel);
        if direct.is_none() && (shard || reg.patterns.is_empty()) {
            return 0;
        }
        let msg = Arc::new(Msg {
            shard,
            channel: Bytes::copy_from_slice(channel),
            payload: Bytes::copy_from_slice(payload),
        });
        let mut receivers = 0;
        if let Some(list) = direct {
            for s in list {
                self.deliver(s, Item::Message(msg.clone()));
                receivers += 1;
            }
        }
        if !shard {
            for (pat, list) in reg.patterns.iter() {
                if !string_match(pat, channel, false) {
                    continue;
                }
                for s in list {
                    self.deliver(s, Item::PMessage(pat.clone(), msg.clone()));
                    receivers += 1;
                }
            }
        }
        receivers
    }

    fn deliver(&self, s: &Subscriber, item: Item) {
        if s.closing.load(Ordering::Relaxed) {
            return;
        }
        s.push(item);
        self.check_limits(s);
    }

    /// `client-output-buffer-limit` of a class (0 normal, 1 replica, 2 pubsub): hard bytes,
    /// soft bytes, soft seconds.
    pub fn class_limits(&self, class: usize) -> (u64, u64, i64) {
        let l = &self.limits[class];
        (
            l.hard.load(Ordering::Relaxed),
            l.soft.load(Ordering::Relaxed),
            l.soft_secs.load(Ordering::Relaxed),
        )
    }

    /// Kill the subscriber's connection if its output buffer is over its class's
    /// limits (Redis's checkClientOutputBufferLimits). Returns true when it was closed.
    pub fn check_limits(&self, s: &Subscriber) -> bool {
        let class = match s.handle.type_name() {
            "replica" => 1,
            "pubsub" => 2,
            _ => 0,
        };
        let used = s.bytes.load(Ordering::Relaxed) as u64;
        if !obuf_over(used, self.class_limits(class), &s.soft_since) {
            return false;
        }
        if !s.closing.swap(true, Ordering::Relaxed) {
            self.obuf_closed(&s.handle);
            s.handle.kill();
        }
        true
    }

    /// Logs and counts a client closed for its output buffer
    /// (`client_output_buffer_limit_disconnections`).
    pub fn obuf_closed(&self, handle: &ClientHandle) {
        tracing::warn!(
            "Client {} scheduled to be closed ASAP for overcoming of output buffer limits.",
            handle.info_line(ferrodis_commands::engine::wall_ms())
        );
        self.obuf_disconnections.fetch_add(1, Ordering::Relaxed);
    }

    /// PUBSUB CHANNELS / SHARDCHANNELS.
    pub fn channels(&self, shard: bool, pattern: Option<&[u8]>) -> Vec<Bytes> {
        let reg = self.reg.read();
        let map = if shard { &reg.shard } else { &reg.channels };
        map.keys()
            .filter(|c| match pattern {
                Some(p) => string_match(p, c, false),
                None => true,
            })
            .cloned()
            .collect()
    }

    /// PUBSUB NUMSUB / SHARDNUMSUB for one channel.
    pub fn numsub(&self, shard: bool, channel: &[u8]) -> usize {
        let reg = self.reg.read();
        let map = if shard { &reg.shard } else { &reg.channels };
        map.get(channel).map_or(0, Vec::len)
    }

    /// Distinct patterns (PUBSUB NUMPAT, INFO pubsub_patterns).
    pub fn numpat(&self) -> usize {
        self.reg.read().patterns.len()
    }

    /// Distinct channels (INFO pubsub_channels / pubsubshard_channels).
    pub fn num_channels(&self, shard: bool) -> usize {
        let reg = self.reg.read();
        if shard {
            reg.shard.len()
        } else {
            reg.channels.len()
        }
    }
}

/// Publishes keyspace events (Redis's notifyKeyspaceEvent); installed as the
/// engine's event listener.
pub struct KeyspaceEvents(pub Arc<PubSub>);

impl EventListener for KeyspaceEvents {
    fn keyspace_event(&self, _class: u32, event: &str, key: &[u8], db: usize) {
        let ps = &self.0;
        let flags = ps.notify_flags.load(Ordering::Relaxed);
        if flags & notify::KEYSPACE != 0 {
            let mut chan = Vec::with_capacity(16 + key.len());
            chan.extend_from_slice(b"__keyspace@");
            chan.extend_from_slice(db.to_string().as_bytes());
            chan.extend_from_slice(b"__:");
            chan.extend_from_slice(key);
            ps.publish(&chan, event.as_bytes(), false);
        }
        if flags & notify::KEYEVENT != 0 {
            let mut chan = Vec::with_capacity(16 + event.len());
            chan.extend_from_slice(b"__keyevent@");
            chan.extend_from_slice(db.to_string().as_bytes());
            chan.extend_from_slice(b"__:");
            chan.extend_from_slice(event.as_bytes());
            ps.publish(&chan, key, false);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn handle(id: u64) -> Arc<ClientHandle> {
        Arc::new(ClientHandle::new(
            id,
            "127.0.0.1:1".into(),
            "127.0.0.1:2".into(),
            -1,
            false,
            0,
        ))
    }

    fn drain(c: &ClientPubSub, resp: u8) -> Vec<u8> {
        let mut out = BytesMut::new();
        if let Some(s) = &c.sub {
            let n = s.drain(resp, &mut out);
            s.written(n);
        }
        out.to_vec()
    }

    #[test]
    fn item_sizes_match_their_encoding() {
        let m = Arc::new(Msg {
            shard: false,
            channel: Bytes::from_static(b"chan"),
            payload: Bytes::from(vec![b'x'; 1234]),
        });
        for it in [
            Item::Message(m.clone()),
            Item::PMessage(Bytes::from_static(b"c*"), m),
        ] {
            let mut out = BytesMut::new();
            it.encode(2, &mut out);
            assert_eq!(out.len(), it.size());
        }
    }

    #[test]
    fn publish_counts_channel_and_each_matching_pattern() {
        let ps = PubSub::new();
        let h = handle(1);
        let mut c = ClientPubSub::default();
        ps.subscribe(&mut c, &h, Kind::Channel, &[Bytes::from_static(b"a.b")]);
        ps.subscribe(
            &mut c,
            &h,
            Kind::Pattern,
            &[Bytes::from_static(b"a.*"), Bytes::from_static(b"*")],
        );
        assert_eq!(c.count(), 3);
        assert!(h.has_flag(flags::PUBSUB));
        drain(&c, 2);
        assert_eq!(ps.publish(b"a.b", b"hi", false), 3);
        assert_eq!(ps.publish(b"a.b", b"hi", true), 0);
        assert_eq!(ps.publish(b"zz", b"hi", false), 1);
        ps.unsubscribe_all(&mut c, &h);
        assert_eq!(ps.publish(b"a.b", b"hi", false), 0);
        assert!(!h.has_flag(flags::PUBSUB));
        assert_eq!(ps.numpat(), 0);
        assert_eq!(ps.num_channels(false), 0);
    }

    #[test]
    fn unsubscribe_without_subscriptions_confirms_with_null() {
        let ps = PubSub::new();
        let h = handle(1);
        let mut c = ClientPubSub::default();
        ps.unsubscribe(&mut c, &h, Kind::Pattern, &[], true);
        assert_eq!(drain(&c, 2), b"*3\r\n$12\r\npunsubscribe\r\n$-1\r\n:0\r\n");
        ps.unsubscribe(&mut c, &h, Kind::Channel, &[], true);
        assert_eq!(drain(&c, 3), b">3\r\n$11\r\nunsubscribe\r\n_\r\n:0\r\n");
    }

    #[test]
    fn hard_limit_kills_the_subscriber() {
        let ps = PubSub::new();
        ps.set_limits([(0, 0, 0), (0, 0, 0), (1000, 0, 0)]);
        let h = handle(1);
        let mut c = ClientPubSub::default();
        ps.subscribe(&mut c, &h, Kind::Channel, &[Bytes::from_static(b"c")]);
        for _ in 0..100 {
            ps.publish(b"c", b"0123456789", false);
        }
        assert!(h.killed.load(Ordering::Relaxed));
        // Nothing more is queued once the client is closing.
        let queued = c.sub.as_ref().map_or(0, |s| s.queue.lock().len());
        assert!(queued < 40, "{queued}");
    }
}
