//! Server-assisted client-side caching (CLIENT TRACKING), Redis 7.0 semantics.
//!
//! - Default mode: a tracking client's read-only commands remember their keys in the
//!   tracking table (key → client ids); the first modification of such a key sends one
//!   invalidation to each of those clients and forgets the key.
//! - BCAST mode: clients subscribe to key prefixes; modified keys matching a prefix are
//!   collected and sent as one message per prefix after the command (or at once when the
//!   change comes from no client, e.g. active expiry).
//! - Messages go to the client itself over RESP3 (push), or to its REDIRECT target: RESP3
//!   push, or for a RESP2 target subscribed to `__redis__:invalidate` a Pub/Sub message.
//! - Invalidations for the client whose command made the change are held until that
//!   command's reply is written (Redis's tracking_pending_keys), so they never land in the
//!   middle of a reply.
//!
//! Locks: `inner` is taken while a data command holds shard locks (key modifications) and
//! takes the Pub/Sub queue locks inside it; nothing here takes a shard lock.

use crate::client::{flags, ClientHandle};
use crate::pubsub::{Item, Subscriber};
use crate::state::Shared;
use bytes::Bytes;
use ferrodis_commands::engine::KeyTracker;
use ferrodis_commands::Reply;
use parking_lot::Mutex;
use std::cell::{Cell, RefCell};
use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Weak};

type Map<K, V> = HashMap<K, V, ahash::RandomState>;

thread_local! {
    /// The client whose command runs on this thread (0 = none: cron, embedding API).
    static CURRENT: Cell<u64> = const { Cell::new(0) };
    /// Invalidations for [`CURRENT`], written after its reply (`None` = flush).
    static PENDING: RefCell<Vec<Option<Bytes>>> = const { RefCell::new(Vec::new()) };
}

/// One tracking client's settings (Redis's CLIENT_TRACKING_* flags).
struct TClient {
    handle: Arc<ClientHandle>,
    sub: Arc<Subscriber>,
    redirect: u64,
    bcast: bool,
    optin: bool,
    optout: bool,
    noloop: bool,
    /// CLIENT CACHING was given for the next command.
    caching: bool,
    broken: bool,
    /// BCAST prefixes, sorted (Redis keeps them in a radix tree).
    prefixes: BTreeSet<Bytes>,
}

impl TClient {
    /// Does a read of this client get its keys remembered (not BCAST; OPTIN only after
    /// CLIENT CACHING yes, OPTOUT unless CLIENT CACHING no)?
    fn remembers(&self) -> bool {
        let skipped = (self.optin && !self.caching) || (self.optout && self.caching);
        !self.bcast && !skipped
    }
}

#[derive(Default)]
struct Bcast {
    clients: BTreeSet<u64>,
    /// Keys changed since the last broadcast, with the client that changed them (0 = none).
    keys: BTreeMap<Bytes, u64>,
}

#[derive(Default)]
struct Inner {
    table: Map<Bytes, HashSet<u64, ahash::RandomState>>,
    items: usize,
    prefixes: BTreeMap<Bytes, Bcast>,
    clients: Map<u64, TClient>,
    /// Rounds in a row `limit` could not get under `tracking-table-max-keys`.
    limit_rounds: u32,
}

impl Inner {
    /// Remembers that client `id` may have cached `keys`.
    fn remember<'k>(&mut self, id: u64, keys: impl Iterator<Item = &'k Bytes>) {
        for k in keys {
            let inserted = match self.table.get_mut(&k[..]) {
                Some(ids) => ids.insert(id),
                // A copy: the argument may be a slice of a whole read buffer.
                None => self
                    .table
                    .entry(Bytes::copy_from_slice(k))
                    .or_default()
                    .insert(id),
            };
            if inserted {
                self.items += 1;
            }
        }
    }
}

/// Server-wide tracking state.
#[derive(Default)]
pub struct Tracking {
    inner: Mutex<Inner>,
    /// `tracking-table-max-keys`.
    pub max_keys: AtomicU64,
    active: AtomicBool,
}

/// Parsed CLIENT TRACKING options.
#[derive(Default)]
struct Options {
    redirect: u64,
    bcast: bool,
    optin: bool,
    optout: bool,
    noloop: bool,
    prefixes: Vec<Bytes>,
}

fn eq_ic(a: &[u8], b: &str) -> bool {
    a.eq_ignore_ascii_case(b.as_bytes())
}

/// Marks the client whose command is about to run on this thread.
pub fn set_current(id: u64) {
    CURRENT.with(|c| c.set(id));
}

pub fn current() -> u64 {
    CURRENT.with(|c| c.get())
}

/// Redis's prefix-overlap test: one is a prefix of the other.
fn overlap(a: &[u8], b: &[u8]) -> bool {
    let n = a.len().min(b.len());
    a[..n] == b[..n]
}

impl Tracking {
    /// Wire the tracker to the server (called once the `Shared` is in its `Arc`).
    pub fn attach(sh: &Arc<Shared>) {
        sh.engine
            .set_key_tracker(Arc::new(Tracker(Arc::downgrade(sh))));
    }

    pub fn is_active(&self) -> bool {
        self.active.load(Ordering::Relaxed)
    }

    /// Key modifications reach the tracker while any client tracks, and while the table
    /// still holds keys of clients that stopped (Redis forgets them on their next change
    /// or on a flush).
    fn set_active(&self, sh: &Shared, inner: &Inner) {
        let on = !inner.clients.is_empty() || !inner.table.is_empty();
        self.active.store(on, Ordering::Relaxed);
        sh.engine.tracking_active.store(on, Ordering::Relaxed);
    }

    /// INFO: tracking_clients, tracking_total_keys, tracking_total_items, tracking_total_prefixes.
    pub fn counts(&self) -> (usize, usize, usize, usize) {
        let g = self.inner.lock();
        (g.clients.len(), g.table.len(), g.items, g.prefixes.len())
    }

    /// CLIENT LIST `redir=`.
    pub fn redirect_of(&self, id: u64) -> i64 {
        self.inner
            .lock()
            .clients
            .get(&id)
            .map_or(-1, |t| t.redirect as i64)
    }

    /// Queue an invalidation for `t` (or its redirection target).
    fn send(sh: &Shared, t: &mut TClient, keys: Option<Vec<Bytes>>) {
        let null_resp = t.handle.resp.load(Ordering::Relaxed);
        if t.redirect != 0 {
            let alive = sh.clients.get(t.redirect);
            let Some(target) = alive else {
                t.broken = true;
                t.handle.set_flag(flags::TRACKING_BROKEN_REDIR, true);
                if null_resp >= 3 {
                    sh.pubsub
                        .push_to(&t.sub, Item::RedirBroken(t.redirect as i64));
                }
                return;
            };
            let resp = target.resp.load(Ordering::Relaxed);
            if resp < 3 && !target.has_flag(flags::PUBSUB) {
                return;
            }
            if let Some(q) = sh.pubsub.queue_of(t.redirect) {
                sh.pubsub.push_to(&q, Item::Invalidate { keys, null_resp });
            }
            return;
        }
        if null_resp >= 3 {
            sh.pubsub
                .push_to(&t.sub, Item::Invalidate { keys, null_resp });
        }
    }

    /// Redis's trackingInvalidateKey.
    fn invalidate_key(&self, sh: &Shared, g: &mut Inner, key: &[u8], bcast: bool, cur: u64) {
        if bcast && !g.prefixes.is_empty() {
            for (p, b) in g.prefixes.iter_mut() {
                if key.starts_with(p) {
                    b.keys.insert(Bytes::copy_from_slice(key), cur);
                }
            }
        }
        let Some(ids) = g.table.remove(key) else {
            return;
        };
        g.items = g.items.saturating_sub(ids.len());
        for id in ids {
            let Some(t) = g.clients.get_mut(&id) else {
                continue;
            };
            if t.bcast || (t.noloop && id == cur) {
                continue;
            }
            if id == cur {
                PENDING.with(|p| p.borrow_mut().push(Some(Bytes::copy_from_slice(key))));
            } else {
                Self::send(sh, t, Some(vec![Bytes::copy_from_slice(key)]));
            }
        }
    }

    /// Redis's trackingBroadcastInvalidationMessages.
    fn broadcast(sh: &Shared, g: &mut Inner) {
        let Inner {
            prefixes, clients, ..
        } = g;
        for b in prefixes.values_mut() {
            if b.keys.is_empty() {
                continue;
            }
            let keys = std::mem::take(&mut b.keys);
            for id in &b.clients {
                let Some(t) = clients.get_mut(id) else {
                    continue;
                };
                let list: Vec<Bytes> = keys
                    .iter()
                    .filter(|(_, by)| !(t.noloop && **by == *id))
                    .map(|(k, _)| k.clone())
                    .collect();
                if !list.is_empty() {
                    Self::send(sh, t, Some(list));
                }
            }
        }
    }

    fn key_modified(&self, sh: &Shared, key: &[u8]) {
        let cur = current();
        let mut g = self.inner.lock();
        self.invalidate_key(sh, &mut g, key, true, cur);
        if cur == 0 {
            Self::broadcast(sh, &mut g);
        }
    }

    fn flushed(&self, sh: &Shared) {
        let cur = current();
        let mut g = self.inner.lock();
        for (id, t) in g.clients.iter_mut() {
            if *id == cur {
                PENDING.with(|p| p.borrow_mut().push(None));
            } else {
                Self::send(sh, t, None);
            }
        }
        g.table.clear();
        g.items = 0;
        self.set_active(sh, &g);
    }

    /// After a command's reply was written: its held-back invalidations and the BCAST
    /// messages it caused (Redis's trackingHandlePendingKeyInvalidations and beforeSleep).
    pub fn after_reply(&self, sh: &Shared) {
        let cur = current();
        set_current(0);
        let pending: Vec<Option<Bytes>> = PENDING.with(|p| std::mem::take(&mut *p.borrow_mut()));
        let mut g = self.inner.lock();
        if let Some(t) = g.clients.get_mut(&cur) {
            for k in pending {
                Self::send(sh, t, k.map(|k| vec![k]));
            }
        }
        Self::broadcast(sh, &mut g);
    }

    /// After a tracking client's command: remember the keys it read, drop the one-shot
    /// CLIENT CACHING flag, and keep the table under `tracking-table-max-keys`.
    pub fn after_command(
        &self,
        sh: &Shared,
        id: u64,
        m: &'static ferrodis_commands::meta::CommandMeta,
        argv: &[Bytes],
        in_multi: bool,
    ) {
        use ferrodis_commands::meta::cmd_flags;
        let mut g = self.inner.lock();
        let Some(t) = g.clients.get_mut(&id) else {
            return;
        };
        let top = crate::dispatch::top_name(m);
        // Read-only scripts are judged by the commands they run (see `script_read`).
        let remember = m.flags & cmd_flags::READONLY != 0
            && m.flags & cmd_flags::PUBSUB == 0
            && !matches!(top, "eval_ro" | "evalsha_ro" | "fcall_ro")
            && t.remembers();
        if !in_multi && top != "client" {
            t.caching = false;
        }
        if remember {
            if let Ok(pos) = ferrodis_commands::meta::key_positions(m, argv) {
                g.remember(id, pos.into_iter().filter_map(|p| argv.get(p)));
            }
        }
        self.limit(sh, &mut g);
    }

    /// A script run by client `id` ran a read-only command: the keys the script declared are
    /// remembered for the client, as Redis does (it tracks the caller's command's keys, not
    /// the ones the script touched).
    pub fn script_read(&self, sh: &Shared, id: u64, keys: &[Bytes]) {
        let mut g = self.inner.lock();
        if !g.clients.get(&id).is_some_and(TClient::remembers) {
            return;
        }
        g.remember(id, keys.iter());
        self.limit(sh, &mut g);
    }

    /// After a script command of client `id` ran (its tracking bookkeeping waits for the
    /// script, which runs after the command's dispatch): CLIENT CACHING applies to one
    /// command.
    pub fn after_script(&self, id: u64) {
        if let Some(t) = self.inner.lock().clients.get_mut(&id) {
            t.caching = false;
        }
    }

    /// Redis's trackingLimitUsedSlots: invalidate keys until the table is back under
    /// `tracking-table-max-keys`, with an effort that grows while it is not.
    fn limit(&self, sh: &Shared, g: &mut Inner) {
        let max = self.max_keys.load(Ordering::Relaxed) as usize;
        if max == 0 || g.table.len() <= max {
            g.limit_rounds = 0;
            return;
        }
        let mut effort = 100 * (g.limit_rounds as usize + 1);
        while effort > 0 {
            effort -= 1;
            let Some(k) = g.table.keys().next().cloned() else {
                break;
            };
            self.invalidate_key(sh, g, &k, false, 0);
            if g.table.len() <= max {
                g.limit_rounds = 0;
                return;
            }
        }
        g.limit_rounds += 1;
    }

    /// Periodic work (Redis's serverCron): keep the table under `tracking-table-max-keys`.
    pub fn cron(&self, sh: &Shared) {
        self.enforce_max_keys(sh);
    }

    /// Keeps the table under `tracking-table-max-keys` (Redis's trackingLimitUsedSlots).
    pub fn enforce_max_keys(&self, sh: &Shared) {
        let mut g = self.inner.lock();
        self.limit(sh, &mut g);
    }

    /// Tracking off (CLIENT TRACKING OFF, RESET, disconnection).
    pub fn disable(&self, sh: &Shared, handle: &ClientHandle) {
        if !handle.has_flag(flags::TRACKING) {
            return;
        }
        let mut g = self.inner.lock();
        if let Some(t) = g.clients.remove(&handle.id) {
            for p in &t.prefixes {
                if let Some(b) = g.prefixes.get_mut(p) {
                    b.clients.remove(&handle.id);
                    if b.clients.is_empty() {
                        g.prefixes.remove(p);
                    }
                }
            }
        }
        handle.redir.store(-1, Ordering::Relaxed);
        for f in [
            flags::TRACKING,
            flags::TRACKING_BCAST,
            flags::TRACKING_BROKEN_REDIR,
        ] {
            handle.set_flag(f, false);
        }
        self.set_active(sh, &g);
    }

    /// CLIENT TRACKING ON|OFF [REDIRECT id] [PREFIX p ...] [BCAST] [OPTIN] [OPTOUT] [NOLOOP].
    pub fn tracking_cmd(
        &self,
        sh: &Shared,
        c: &mut crate::dispatch::Client,
        argv: &[Bytes],
    ) -> Reply {
        let mut o = Options::default();
        let mut j = 3;
        while j < argv.len() {
            let more = argv.len() - 1 - j;
            let a = &argv[j];
            if eq_ic(a, "redirect") && more > 0 {
                j += 1;
                if o.redirect != 0 {
                    return Reply::err_static(
                        "ERR A client can only redirect to a single other client",
                    );
                }
                let Some(id) = ferrodis_commands::args::parse_i64(&argv[j]) else {
                    return Reply::err_static("ERR value is not an integer or out of range");
                };
                if id <= 0 || sh.clients.get(id as u64).is_none() {
                    return Reply::err_static(
                        "ERR The client ID you want redirect to does not exist",
                    );
                }
                o.redirect = id as u64;
            } else if eq_ic(a, "bcast") {
                o.bcast = true;
            } else if eq_ic(a, "optin") {
                o.optin = true;
            } else if eq_ic(a, "optout") {
                o.optout = true;
            } else if eq_ic(a, "noloop") {
                o.noloop = true;
            } else if eq_ic(a, "prefix") && more > 0 {
                j += 1;
                o.prefixes.push(argv[j].clone());
            } else {
                return ferrodis_commands::errors::syntax();
            }
            j += 1;
        }
        let handle = c.handle.clone();
        if eq_ic(&argv[2], "off") {
            self.disable(sh, &handle);
            return Reply::Ok;
        }
        if !eq_ic(&argv[2], "on") {
            return ferrodis_commands::errors::syntax();
        }
        if !o.bcast && !o.prefixes.is_empty() {
            return Reply::err_static("ERR PREFIX option requires BCAST mode to be enabled");
        }
        let mut g = self.inner.lock();
        if let Some(t) = g.clients.get(&handle.id) {
            if t.bcast != o.bcast {
                return Reply::err_static("ERR You can't switch BCAST mode on/off before disabling tracking for this client, and then re-enabling it with a different mode.");
            }
        }
        if o.bcast && (o.optin || o.optout) {
            return Reply::err_static("ERR OPTIN and OPTOUT are not compatible with BCAST");
        }
        if o.optin && o.optout {
            return Reply::err_static("ERR You can't specify both OPTIN mode and OPTOUT mode");
        }
        if let Some(t) = g.clients.get(&handle.id) {
            if (o.optin && t.optout) || (o.optout && t.optin) {
                return Reply::err_static("ERR You can't switch OPTIN/OPTOUT mode before disabling tracking for this client, and then re-enabling it with a different mode.");
            }
        }
        if o.bcast {
            let existing: Vec<Bytes> = g
                .clients
                .get(&handle.id)
                .map(|t| t.prefixes.iter().cloned().collect())
                .unwrap_or_default();
            for (i, p) in o.prefixes.iter().enumerate() {
                if let Some(e) = existing.iter().find(|e| overlap(e, p)) {
                    return Reply::error(format!(
                        "ERR Prefix '{}' overlaps with an existing prefix '{}'. Prefixes for a single client must not overlap.",
                        String::from_utf8_lossy(p),
                        String::from_utf8_lossy(e)
                    ));
                }
                if let Some(q) = o.prefixes[i + 1..].iter().find(|q| overlap(p, q)) {
                    return Reply::error(format!(
                        "ERR Prefix '{}' overlaps with another provided prefix '{}'. Prefixes for a single client must not overlap.",
                        String::from_utf8_lossy(p),
                        String::from_utf8_lossy(q)
                    ));
                }
            }
        }
        let sub = sh.pubsub.ensure_queue(&mut c.pubsub, &handle);
        let id = handle.id;
        let t = g.clients.entry(id).or_insert_with(|| TClient {
            handle: handle.clone(),
            sub,
            redirect: 0,
            bcast: false,
            optin: false,
            optout: false,
            noloop: false,
            caching: false,
            broken: false,
            prefixes: BTreeSet::new(),
        });
        t.redirect = o.redirect;
        t.bcast = o.bcast;
        t.optin = o.optin;
        t.optout = o.optout;
        t.noloop = o.noloop;
        t.broken = false;
        handle.redir.store(o.redirect as i64, Ordering::Relaxed);
        let mut new_prefixes = Vec::new();
        if o.bcast {
            if o.prefixes.is_empty() {
                o.prefixes.push(Bytes::new());
            }
            for p in o.prefixes {
                if t.prefixes.insert(p.clone()) {
                    new_prefixes.push(p);
                }
            }
        }
        for p in new_prefixes {
            g.prefixes.entry(p).or_default().clients.insert(id);
        }
        handle.set_flag(flags::TRACKING, true);
        handle.set_flag(flags::TRACKING_BCAST, o.bcast);
        handle.set_flag(flags::TRACKING_BROKEN_REDIR, false);
        self.set_active(sh, &g);
        Reply::Ok
    }

    /// CLIENT CACHING YES|NO.
    pub fn caching_cmd(&self, id: u64, argv: &[Bytes]) -> Reply {
        let mut g = self.inner.lock();
        let Some(t) = g.clients.get_mut(&id) else {
            return Reply::err_static("ERR CLIENT CACHING can be called only when the client is in tracking mode with OPTIN or OPTOUT mode enabled");
        };
        if eq_ic(&argv[2], "yes") {
            if !t.optin {
                return Reply::err_static(
                    "ERR CLIENT CACHING YES is only valid when tracking is enabled in OPTIN mode.",
                );
            }
        } else if eq_ic(&argv[2], "no") {
            if !t.optout {
                return Reply::err_static(
                    "ERR CLIENT CACHING NO is only valid when tracking is enabled in OPTOUT mode.",
                );
            }
        } else {
            return ferrodis_commands::errors::syntax();
        }
        t.caching = true;
        Reply::Ok
    }

    /// CLIENT GETREDIR.
    pub fn getredir(&self, id: u64) -> Reply {
        Reply::Int(self.redirect_of(id))
    }

    /// CLIENT TRACKINGINFO.
    pub fn trackinginfo(&self, id: u64) -> Reply {
        let g = self.inner.lock();
        let mut fl = Vec::new();
        let (redirect, prefixes) = match g.clients.get(&id) {
            None => {
                fl.push(Reply::bulk_static("off"));
                (-1, Vec::new())
            }
            Some(t) => {
                fl.push(Reply::bulk_static("on"));
                if t.bcast {
                    fl.push(Reply::bulk_static("bcast"));
                }
                if t.optin {
                    fl.push(Reply::bulk_static("optin"));
                    if t.caching {
                        fl.push(Reply::bulk_static("caching-yes"));
                    }
                }
                if t.optout {
                    fl.push(Reply::bulk_static("optout"));
                    if t.caching {
                        fl.push(Reply::bulk_static("caching-no"));
                    }
                }
                if t.noloop {
                    fl.push(Reply::bulk_static("noloop"));
                }
                if t.broken {
                    fl.push(Reply::bulk_static("broken_redirect"));
                }
                (
                    t.redirect as i64,
                    t.prefixes.iter().cloned().map(Reply::Bulk).collect(),
                )
            }
        };
        Reply::Map(vec![
            (Reply::bulk_static("flags"), Reply::Set(fl)),
            (Reply::bulk_static("redirect"), Reply::Int(redirect)),
            (Reply::bulk_static("prefixes"), Reply::Array(prefixes)),
        ])
    }
}

/// The engine's hook into [`Tracking`].
struct Tracker(Weak<Shared>);

impl KeyTracker for Tracker {
    fn key_modified(&self, key: &[u8]) {
        if let Some(sh) = self.0.upgrade() {
            sh.tracking.key_modified(&sh, key);
        }
    }
    fn flushed(&self) {
        if let Some(sh) = self.0.upgrade() {
            sh.tracking.flushed(&sh);
        }
    }
}
