//! The client registry: one [`ClientHandle`] per connection, shared between the
//! connection's task (which owns the socket) and commands that inspect or act
//! on other clients (CLIENT LIST/KILL/UNBLOCK, INFO clients).

use bytes::Bytes;
use ferrodis_commands::meta::CommandMeta;
use parking_lot::Mutex;
use std::collections::BTreeMap;
use std::sync::atomic::{
    AtomicBool, AtomicI64, AtomicU32, AtomicU64, AtomicU8, AtomicUsize, Ordering,
};
use std::sync::Arc;
use tokio::sync::Notify;

pub mod flags {
    pub const MONITOR: u32 = 1 << 0;
    pub const PUBSUB: u32 = 1 << 1;
    pub const MULTI: u32 = 1 << 2;
    pub const BLOCKED: u32 = 1 << 3;
    pub const UNIX_SOCKET: u32 = 1 << 4;
    pub const NO_EVICT: u32 = 1 << 5;
    pub const CLOSE_AFTER_REPLY: u32 = 1 << 6;
    pub const REPLICA: u32 = 1 << 7;
    pub const MASTER: u32 = 1 << 8;
    pub const DIRTY_CAS: u32 = 1 << 9;
    pub const READONLY: u32 = 1 << 10;
    /// CLIENT TRACKING on, in BCAST mode, with a redirection target that went away.
    pub const TRACKING: u32 = 1 << 11;
    pub const TRACKING_BCAST: u32 = 1 << 12;
    pub const TRACKING_BROKEN_REDIR: u32 = 1 << 13;
    /// The pseudo-client scripts run their commands as (MONITOR shows it as `lua`).
    pub const SCRIPT: u32 = 1 << 14;
}

/// What other tasks may see or change of a connection.
#[derive(Debug)]
pub struct ClientHandle {
    pub id: u64,
    pub addr: String,
    pub laddr: String,
    pub fd: i32,
    pub created_ms: i64,
    pub last_interaction_ms: AtomicI64,
    pub name: Mutex<Option<Bytes>>,
    pub lib_name: Mutex<Option<Bytes>>,
    pub lib_ver: Mutex<Option<Bytes>>,
    pub db: AtomicUsize,
    pub resp: AtomicU8,
    pub flags: AtomicU32,
    /// The last command run (a `&'static CommandMeta`), for CLIENT LIST `cmd=`.
    last_cmd: std::sync::atomic::AtomicPtr<CommandMeta>,
    pub qbuf: AtomicUsize,
    pub qbuf_free: AtomicUsize,
    pub argv_mem: AtomicUsize,
    pub obuf: AtomicUsize,
    /// Output-buffer bytes queued for this client (Pub/Sub messages), CLIENT LIST `omem`.
    pub omem: AtomicUsize,
    /// CLIENT TRACKING redirection (CLIENT LIST `redir=`): -1 when tracking is off.
    pub redir: AtomicI64,
    pub multi_count: AtomicI64,
    pub sub: AtomicUsize,
    pub psub: AtomicUsize,
    pub ssub: AtomicUsize,
    pub user: Mutex<String>,
    /// Set by CLIENT KILL (or shutdown); the connection task closes at once.
    pub killed: AtomicBool,
    pub kill_notify: Notify,
    /// Set by the cron for an idle client with a large empty query buffer; the connection
    /// task (woken through `kill_notify`) frees the buffer.
    pub shrink_requested: AtomicBool,
    pub total_bytes_in: AtomicU64,
    /// The waiter of the blocking command this client is blocked in (CLIENT UNBLOCK ends it).
    pub blocked: Mutex<Option<Arc<ferrodis_commands::blocking::Waiter>>>,
}

impl ClientHandle {
    pub fn new(
        id: u64,
        addr: String,
        laddr: String,
        fd: i32,
        unix: bool,
        now_ms: i64,
    ) -> ClientHandle {
        ClientHandle {
            id,
            addr,
            laddr,
            fd,
            created_ms: now_ms,
            last_interaction_ms: AtomicI64::new(now_ms),
            name: Mutex::new(None),
            lib_name: Mutex::new(None),
            lib_ver: Mutex::new(None),
            blocked: Mutex::new(None),
            db: AtomicUsize::new(0),
            resp: AtomicU8::new(2),
            flags: AtomicU32::new(if unix { flags::UNIX_SOCKET } else { 0 }),
            last_cmd: std::sync::atomic::AtomicPtr::new(std::ptr::null_mut()),
            qbuf: AtomicUsize::new(0),
            qbuf_free: AtomicUsize::new(0),
            argv_mem: AtomicUsize::new(0),
            obuf: AtomicUsize::new(0),
            omem: AtomicUsize::new(0),
            redir: AtomicI64::new(-1),
            multi_count: AtomicI64::new(-1),
            sub: AtomicUsize::new(0),
            psub: AtomicUsize::new(0),
            ssub: AtomicUsize::new(0),
            user: Mutex::new("default".to_string()),
            killed: AtomicBool::new(false),
            kill_notify: Notify::new(),
            shrink_requested: AtomicBool::new(false),
            total_bytes_in: AtomicU64::new(0),
        }
    }

    pub fn has_flag(&self, f: u32) -> bool {
        self.flags.load(Ordering::Relaxed) & f != 0
    }
    pub fn set_flag(&self, f: u32, on: bool) {
        if on {
            self.flags.fetch_or(f, Ordering::Relaxed);
        } else {
            self.flags.fetch_and(!f, Ordering::Relaxed);
        }
    }

    pub fn set_last_cmd(&self, m: &'static CommandMeta) {
        self.last_cmd.store(
            m as *const CommandMeta as *mut CommandMeta,
            Ordering::Relaxed,
        );
    }

    pub fn last_cmd_name(&self) -> &'static str {
        let p = self.last_cmd.load(Ordering::Relaxed);
        // SAFETY: the pointer is null or was made from a `&'static CommandMeta`.
        match unsafe { p.as_ref() } {
            Some(m) => m.name,
            None => "NULL",
        }
    }

    /// Ask the connection task to free its idle query buffer.
    pub fn request_shrink(&self) {
        self.shrink_requested.store(true, Ordering::Relaxed);
        self.kill_notify.notify_one();
    }

    /// The peer's address without its port (`addr` is `ip:port`).
    pub fn ip(&self) -> &str {
        self.addr
            .rsplit_once(':')
            .map_or(self.addr.as_str(), |(h, _)| h)
    }

    pub fn kill(&self) {
        self.killed.store(true, Ordering::SeqCst);
        self.kill_notify.notify_one();
    }

    /// Redis's client type name for CLIENT LIST TYPE / KILL TYPE.
    pub fn type_name(&self) -> &'static str {
        let f = self.flags.load(Ordering::Relaxed);
        if f & flags::MASTER != 0 {
            "master"
        } else if f & flags::REPLICA != 0 && f & flags::MONITOR == 0 {
            "replica"
        } else if f & flags::PUBSUB != 0 {
            "pubsub"
        } else {
            "normal"
        }
    }

    /// One line of CLIENT LIST / CLIENT INFO, fields as in Redis 7.0.
    pub fn info_line(&self, now_ms: i64) -> String {
        let f = self.flags.load(Ordering::Relaxed);
        let mut fl = String::new();
        if f & flags::REPLICA != 0 {
            fl.push(if f & flags::MONITOR != 0 { 'O' } else { 'S' });
        } else if f & flags::MONITOR != 0 {
            fl.push('O');
        }
        if f & flags::MASTER != 0 {
            fl.push('M');
        }
        if f & flags::PUBSUB != 0 {
            fl.push('P');
        }
        if f & flags::MULTI != 0 {
            fl.push('x');
        }
        if f & flags::BLOCKED != 0 {
            fl.push('b');
        }
        if f & flags::TRACKING != 0 {
            fl.push('t');
        }
        if f & flags::TRACKING_BROKEN_REDIR != 0 {
            fl.push('R');
        }
        if f & flags::TRACKING_BCAST != 0 {
            fl.push('B');
        }
        if f & flags::DIRTY_CAS != 0 {
            fl.push('d');
        }
        if f & flags::CLOSE_AFTER_REPLY != 0 {
            fl.push('c');
        }
        if f & flags::UNIX_SOCKET != 0 {
            fl.push('U');
        }
        if f & flags::READONLY != 0 {
            fl.push('r');
        }
        if f & flags::NO_EVICT != 0 {
            fl.push('e');
        }
        if fl.is_empty() {
            fl.push('N');
        }
        let name = self
            .name
            .lock()
            .as_ref()
            .map(|n| String::from_utf8_lossy(n).into_owned())
            .unwrap_or_default();
        let qbuf = self.qbuf.load(Ordering::Relaxed);
        let qfree = self.qbuf_free.load(Ordering::Relaxed);
        let argv_mem = self.argv_mem.load(Ordering::Relaxed);
        let obuf = self.obuf.load(Ordering::Relaxed);
        let omem = self.omem.load(Ordering::Relaxed);
        let tot =
            qbuf + qfree + argv_mem + obuf + omem + 1024 + std::mem::size_of::<ClientHandle>();
        format!(
            "id={} addr={} laddr={} fd={} name={} age={} idle={} flags={} db={} sub={} psub={} ssub={} multi={} qbuf={} qbuf-free={} argv-mem={} multi-mem=0 rbs=1024 rbp=0 obl={} oll={} omem={} tot-mem={} events=r cmd={} user={} redir={} resp={}",
            self.id,
            self.addr,
            self.laddr,
            self.fd,
            name,
            (now_ms - self.created_ms).max(0) / 1000,
            (now_ms - self.last_interaction_ms.load(Ordering::Relaxed)).max(0) / 1000,
            fl,
            self.db.load(Ordering::Relaxed),
            self.sub.load(Ordering::Relaxed),
            self.psub.load(Ordering::Relaxed),
            self.ssub.load(Ordering::Relaxed),
            self.multi_count.load(Ordering::Relaxed),
            qbuf,
            qfree,
            argv_mem,
            obuf,
            usize::from(omem > 0),
            omem,
            tot,
            self.last_cmd_name(),
            self.user.lock(),
            self.redir.load(Ordering::Relaxed),
            self.resp.load(Ordering::Relaxed),
        )
    }
}

/// All connected clients, ordered by id (CLIENT LIST order).
#[derive(Default)]
pub struct ClientRegistry {
    map: Mutex<BTreeMap<u64, Arc<ClientHandle>>>,
    next_id: AtomicU64,
}

impl ClientRegistry {
    pub fn next_id(&self) -> u64 {
        self.next_id.fetch_add(1, Ordering::Relaxed) + 1
    }
    pub fn add(&self, c: Arc<ClientHandle>) {
        self.map.lock().insert(c.id, c);
    }
    pub fn remove(&self, id: u64) {
        self.map.lock().remove(&id);
    }
    pub fn len(&self) -> usize {
        self.map.lock().len()
    }
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
    pub fn get(&self, id: u64) -> Option<Arc<ClientHandle>> {
        self.map.lock().get(&id).cloned()
    }
    pub fn snapshot(&self) -> Vec<Arc<ClientHandle>> {
        self.map.lock().values().cloned().collect()
    }
}
