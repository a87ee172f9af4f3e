//! Execution context of one data command: the shard locks it holds, its database,
//! its clock, and the writes it will propagate.
//!
//! Lock order: shards are always locked in ascending index order (see [`Locks`]),
//! so two commands that need overlapping shard sets cannot deadlock.

use crate::engine::{Engine, Propagated};
use bytes::Bytes;
use ferrodis_keyspace::{Db, Shard};
use parking_lot::MutexGuard;
use smallvec::SmallVec;

/// The shard guards held by one command (or a whole MULTI/EXEC or script).
pub struct Locks<'a> {
    guards: SmallVec<[(usize, MutexGuard<'a, Shard>); 2]>,
}

impl<'a> Locks<'a> {
    pub fn none() -> Locks<'a> {
        Locks {
            guards: SmallVec::new(),
        }
    }

    /// Lock the given shard indices; they are sorted and deduplicated first.
    pub fn lock(engine: &'a Engine, shards: &mut SmallVec<[usize; 4]>) -> Locks<'a> {
        shards.sort_unstable();
        shards.dedup();
        let mut guards = SmallVec::new();
        for &s in shards.iter() {
            guards.push((s, engine.ks.lock(s)));
        }
        Locks { guards }
    }

    /// Lock every shard (whole-keyspace commands, MULTI/EXEC, scripts).
    pub fn all(engine: &'a Engine) -> Locks<'a> {
        let n = engine.ks.nshards();
        // Sized once: growing from the inline two doubled it three times per call.
        let mut guards = SmallVec::with_capacity(n);
        for s in 0..n {
            guards.push((s, engine.ks.lock(s)));
        }
        Locks { guards }
    }

    /// The shard holding a key: when exactly one shard is locked it must be the
    /// key's (the executor locked the shards of every key of the command), so the
    /// slot hash is computed only when several shards are held. Hot path.
    pub fn shard_for_key(
        &mut self,
        ks: &ferrodis_keyspace::Keyspace,
        key: &[u8],
    ) -> Option<&mut Shard> {
        if self.guards.len() == 1 {
            debug_assert_eq!(
                self.guards[0].0,
                ks.shard_of(key),
                "key outside the command's locked shard: key specs and handler disagree"
            );
            return self.guards.first_mut().map(|(_, g)| &mut **g);
        }
        let idx = ks.shard_of(key);
        self.shard_mut(idx)
    }

    pub fn shard_mut(&mut self, idx: usize) -> Option<&mut Shard> {
        // Guards are few and sorted; when all are held the index is the position.
        if self.guards.get(idx).is_some_and(|(i, _)| *i == idx) {
            return self.guards.get_mut(idx).map(|(_, g)| &mut **g);
        }
        self.guards
            .iter_mut()
            .find(|(i, _)| *i == idx)
            .map(|(_, g)| &mut **g)
    }

    pub fn iter_mut(&mut self) -> impl Iterator<Item = &mut Shard> + use<'_, 'a> {
        self.guards.iter_mut().map(|(_, g)| &mut **g)
    }

    pub fn len(&self) -> usize {
        self.guards.len()
    }

    pub fn is_empty(&self) -> bool {
        self.guards.is_empty()
    }
}

/// Per-command state handed to every data handler.
pub struct Ctx<'e, 'l> {
    pub engine: &'e Engine,
    pub locks: &'l mut Locks<'e>,
    /// Selected database of the client.
    pub db: usize,
    /// The command's clock, fixed for its whole execution as in Redis.
    pub now_ms: i64,
    /// Client protocol (2 or 3), for the few handlers whose reply depends on it.
    pub resp: u8,
    /// Count of changes made (Redis's `server.dirty` delta).
    pub dirty: u64,
    /// Commands to propagate instead of (or before) the original argv.
    pub(crate) also: Vec<Propagated>,
    /// Set by a handler that propagates a rewritten form of itself.
    pub(crate) rewritten: Option<Vec<Bytes>>,
    /// The handler asked not to propagate the original argv even though dirty > 0.
    pub(crate) suppress_original: bool,
    /// Several propagated commands are not wrapped in MULTI/EXEC (commands
    /// flagged TOUCHES_ARBITRARY_KEYS such as SCAN, and background expiry).
    pub no_multi: bool,
    /// Blocking commands must not block (inside MULTI/EXEC, scripts, or while serving a
    /// blocked client): they answer their timeout reply at once.
    pub no_block: bool,
    /// Called by a script (Redis's CLIENT_SCRIPT): SORT then orders sets even without sorting.
    pub from_script: bool,
    /// Keys that became ready for blocked clients during this command: `(db, key)`.
    pub(crate) ready: Vec<(usize, Bytes)>,
}

impl<'e, 'l> Ctx<'e, 'l> {
    pub fn new(engine: &'e Engine, locks: &'l mut Locks<'e>, db: usize, resp: u8) -> Self {
        let now_ms = engine.now_ms();
        Self::new_at(engine, locks, db, resp, now_ms)
    }

    /// As [`Ctx::new`] with the command's clock already read (hot path).
    pub fn new_at(
        engine: &'e Engine,
        locks: &'l mut Locks<'e>,
        db: usize,
        resp: u8,
        now_ms: i64,
    ) -> Self {
        Ctx {
            engine,
            locks,
            db,
            now_ms,
            resp,
            dirty: 0,
            also: Vec::new(),
            rewritten: None,
            suppress_original: false,
            no_multi: false,
            no_block: false,
            from_script: false,
            ready: Vec::new(),
        }
    }

    /// Database `db` of the shard holding `key`, among this command's locks.
    ///
    /// Key positions come from the command table, so a handler only touches keys
    /// whose shard is locked. If that invariant were ever broken we return `None`
    /// and the caller replies with an error rather than touching an unlocked shard.
    pub fn db_index_for(&mut self, key: &[u8], db: usize) -> Option<&mut Db> {
        self.locks
            .shard_for_key(&self.engine.ks, key)
            .and_then(|sh| sh.dbs.get_mut(db))
    }

    /// Propagate `argv` in place of the command itself.
    pub fn rewrite(&mut self, argv: Vec<Bytes>) {
        self.rewritten = Some(argv);
    }

    /// Propagate nothing for this command itself (its effects were propagated
    /// with [`Ctx::also_propagate`]).
    pub fn suppress_propagation(&mut self) {
        self.suppress_original = true;
    }

    /// Propagate an extra command, ordered before the command's own form.
    pub fn also_propagate(&mut self, db: usize, argv: Vec<Bytes>) {
        self.also.push(Propagated { db, argv });
    }

    /// Record that a key was deleted because it expired, as Redis's
    /// deleteExpiredKeyAndPropagate: stats, the `expired` event, DEL/UNLINK propagation.
    pub fn expired_key(&mut self, db: usize, key: &[u8]) {
        crate::kv::record_expired(self.engine, &mut self.also, db, key);
    }

    pub fn notify(&self, class: u32, event: &str, key: &[u8]) {
        self.engine.notify(class, event, key, self.db);
    }

    /// A key's value changed (Redis's signalModifiedKey): WATCH (and later client-side
    /// caching) learn of it here.
    pub fn signal_modified(&mut self, key: &[u8]) {
        self.engine.key_modified(self.db, key);
    }

    /// [`Ctx::signal_modified`] for a key of another database (MOVE, COPY ... DB).
    pub fn signal_modified_in(&mut self, db: usize, key: &[u8]) {
        self.engine.key_modified(db, key);
    }

    /// The propagated form of this command once it finished: expired-key DELs
    /// and other extra commands first, then the command (or its rewrite) if it
    /// changed anything.
    pub fn take_propagation(&mut self, argv: &[Bytes]) -> Vec<Propagated> {
        let mut out = std::mem::take(&mut self.also);
        if self.dirty > 0 && !self.suppress_original {
            let argv = self.rewritten.take().unwrap_or_else(|| argv.to_vec());
            out.push(Propagated { db: self.db, argv });
        }
        // One command is atomic by itself; several (a lazily expired key's DEL
        // plus the write) are wrapped like Redis's propagatePendingCommands.
        if out.len() > 1 && !self.no_multi {
            let first_db = out[0].db;
            let last_db = out[out.len() - 1].db;
            out.insert(
                0,
                Propagated {
                    db: first_db,
                    argv: vec![Bytes::from_static(b"MULTI")],
                },
            );
            out.push(Propagated {
                db: last_db,
                argv: vec![Bytes::from_static(b"EXEC")],
            });
        }
        out
    }
}
