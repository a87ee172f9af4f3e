//! Saving the dataset as an RDB file (SAVE, SHUTDOWN SAVE) with the
//! [`ferrodis_persistence::rdb`] writer.
//!
//! A save holds every shard lock while it writes, so the file is one moment of the dataset —
//! what Redis's SAVE does too (it blocks the server). The file is written as `temp-<pid>.rdb`
//! in `dir`, fsynced, then renamed over `dbfilename`, so a crash never leaves a torn file under
//! the real name.
//!
//! Not yet: BGSAVE (the design's fork-less snapshot, walking shards a slice at a time) and
//! loading at startup. Until the loader exists nothing saves on its own (no save points, no save
//! at SIGTERM): overwriting a `dump.rdb` that this process never loaded would destroy a dataset a
//! user may still want. See docs/DIFFERENCES.md.

use std::fs::File;
use std::io::{self, BufWriter};
use std::path::{Path, PathBuf};
use std::sync::atomic::Ordering;

use ferrodis_persistence::rdb::RdbWriter;

use crate::state::Shared;

/// What one save wrote.
#[derive(Debug, Clone, Copy)]
pub struct Saved {
    pub keys: u64,
    pub bytes: u64,
}

/// The RDB file's path: `dir`/`dbfilename`.
pub fn rdb_path(sh: &Shared) -> PathBuf {
    let c = sh.config.read();
    Path::new(&c.dir()).join(c.dbfilename())
}

/// SAVE: writes the whole dataset to `dir`/`dbfilename` and records the save.
pub fn save(sh: &Shared) -> io::Result<Saved> {
    let path = rdb_path(sh);
    let dir = path.parent().map(Path::to_path_buf).unwrap_or_default();
    let tmp = dir.join(format!("temp-{}.rdb", std::process::id()));
    let started = std::time::Instant::now();
    let result = write_rdb(sh, &tmp).and_then(|saved| {
        std::fs::rename(&tmp, &path)?;
        if let Ok(d) = File::open(&dir) {
            let _ = d.sync_all();
        }
        Ok(saved)
    });
    match &result {
        Ok(saved) => {
            sh.lastsave.store(
                ferrodis_commands::engine::wall_ms() / 1000,
                Ordering::Relaxed,
            );
            sh.rdb_saves.fetch_add(1, Ordering::Relaxed);
            tracing::info!(
                "DB saved on disk ({} keys, {} bytes, {:.3} seconds)",
                saved.keys,
                saved.bytes,
                started.elapsed().as_secs_f64()
            );
        }
        Err(e) => {
            let _ = std::fs::remove_file(&tmp);
            tracing::warn!("Failed saving the DB: {e}");
        }
    }
    result
}

/// The sources of the loaded function libraries (read from the Lua states; no shard lock
/// may be held).
fn library_codes(sh: &Shared) -> Vec<bytes::Bytes> {
    crate::cmd::scripting::with_lua(sh, |_, ex| {
        ex.functions
            .libraries()
            .map(|l| l.code.clone())
            .collect::<Vec<_>>()
    })
    .unwrap_or_default()
}

/// Loads function libraries read from an RDB file (replacing same-named ones).
/// Loads the file's function libraries; one whose name is taken fails the load unless
/// `replace` (DEBUG RELOAD MERGE; Redis's RDBFLAGS_ALLOW_DUP).
fn load_libraries(
    sh: &Shared,
    codes: Vec<Vec<u8>>,
    flush_first: bool,
    replace: bool,
) -> Result<(), String> {
    if codes.is_empty() && !flush_first {
        return Ok(());
    }
    crate::cmd::scripting::with_lua(sh, move |_, ex| {
        if flush_first {
            ex.functions.flush().map_err(|e| e.to_string())?;
        }
        for code in codes {
            ex.functions.load(&bytes::Bytes::from(code), replace)?;
        }
        Ok(())
    })
    .unwrap_or_else(|e| Err(e.to_string()))
}

/// The aux fields Redis writes and the function libraries, before any key.
fn write_header<W: io::Write>(w: &mut RdbWriter<W>, libraries: &[bytes::Bytes]) -> io::Result<()> {
    let now_s = ferrodis_commands::engine::wall_ms() / 1000;
    w.aux("redis-ver", b"7.0.15")?;
    w.aux("redis-bits", b"64")?;
    w.aux("ctime", now_s.to_string().as_bytes())?;
    w.aux(
        "used-mem",
        crate::alloc::used_memory().to_string().as_bytes(),
    )?;
    w.aux("aof-base", b"0")?;
    for code in libraries {
        w.function(code)?;
    }
    Ok(())
}

fn write_rdb(sh: &Shared, tmp: &Path) -> io::Result<Saved> {
    let libraries = library_codes(sh);
    let file = File::create(tmp)?;
    let mut w = RdbWriter::new(BufWriter::with_capacity(1 << 16, file))?;
    write_header(&mut w, &libraries)?;
    let engine = &sh.engine;
    let guards = engine.ks.lock_all();
    // Changes made from here on are not in the file.
    let dirty = engine.stats.dirty.get();
    let mut keys = 0u64;
    for db in 0..engine.settings.databases {
        let dbs: Vec<_> = guards.iter().filter_map(|g| g.dbs.get(db)).collect();
        let size: usize = dbs.iter().map(|d| d.len()).sum();
        if size == 0 {
            continue;
        }
        let expires: usize = dbs.iter().map(|d| d.expires_len()).sum();
        w.select_db(db as u64, size as u64, expires as u64)?;
        for d in &dbs {
            for e in d.iter() {
                let key = e.key().as_slice();
                let expire = if e.has_expire() {
                    d.get_expire(key)
                } else {
                    None
                };
                w.key(key, e.value(), expire)?;
                keys += 1;
            }
        }
    }
    drop(guards);
    sh.dirty_at_save.store(dirty, Ordering::Relaxed);
    let bytes = w.written() + 9;
    let out = w.finish()?;
    let file = out.into_inner().map_err(|e| e.into_error())?;
    file.sync_all()?;
    Ok(Saved { keys, bytes })
}

/// Outcome of loading an RDB file.
#[derive(Debug, Clone, Copy, Default)]
pub struct LoadStats {
    pub loaded: u64,
    pub expired: u64,
}

/// Loads `dir`/`dbfilename` into the keyspace (at startup, or DEBUG RELOAD after a flush),
/// holding every shard lock so no command sees a half-loaded dataset. Keys already expired are
/// skipped (a master drops them, as Redis does); a key present already is replaced. `Ok(None)`
/// when there is no file.
pub fn load(sh: &Shared) -> Result<Option<LoadStats>, ferrodis_persistence::load::Error> {
    let path = rdb_path(sh);
    let file = match File::open(&path) {
        Ok(f) => f,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(e.into()),
    };
    let engine = &sh.engine;
    let mut locks = ferrodis_commands::ctx::Locks::all(engine);
    let (stats, libraries) = load_locked(sh, &mut locks, file, false)?;
    drop(locks);
    load_libraries(sh, libraries, false, false).map_err(|e| {
        tracing::warn!("Failed loading a function library of the RDB file: {e}");
        ferrodis_persistence::load::Error::Bad("a function library in the file does not load")
    })?;
    Ok(Some(stats))
}

/// Replaces the whole dataset (and the function libraries) with a snapshot received from a
/// master, holding every shard lock so no command sees it half-loaded. Keys that have expired
/// are loaded too: the master decides when they go (Redis's replicas load them).
pub fn load_from_master(
    sh: &Shared,
    file: File,
) -> Result<LoadStats, ferrodis_persistence::load::Error> {
    abort_bgsave(sh);
    let engine = &sh.engine;
    let mut locks = ferrodis_commands::ctx::Locks::all(engine);
    {
        // Redis's emptyData: not a command, nothing propagated.
        let mut ctx = ferrodis_commands::ctx::Ctx::new(engine, &mut locks, 0, 2);
        ferrodis_commands::keys::flushall(&mut ctx, &[bytes::Bytes::from_static(b"FLUSHALL")]);
    }
    let (stats, libraries) = load_locked(sh, &mut locks, file, true)?;
    drop(locks);
    load_libraries(sh, libraries, true, true).map_err(|e| {
        tracing::warn!("Failed loading a function library of the master's snapshot: {e}");
        ferrodis_persistence::load::Error::Bad("a function library in the snapshot does not load")
    })?;
    Ok(stats)
}

fn load_locked(
    sh: &Shared,
    locks: &mut ferrodis_commands::ctx::Locks<'_>,
    file: File,
    keep_expired: bool,
) -> Result<(LoadStats, Vec<Vec<u8>>), ferrodis_persistence::load::Error> {
    use ferrodis_persistence::load::{load_rdb, Error};
    let engine = &sh.engine;
    let started = std::time::Instant::now();
    let limits = ferrodis_commands::restore::load_limits(&engine.settings);
    let now = engine.now_ms();
    let mut stats = LoadStats::default();
    let reader = io::BufReader::with_capacity(1 << 16, file);
    let loaded = load_rdb(reader, &limits, |k| {
        if !keep_expired && k.expire_ms.is_some_and(|t| t <= now) {
            stats.expired += 1;
            return Ok(());
        }
        let clock = ferrodis_commands::restore::loaded_clock(engine, now, k.idle_s, k.freq);
        let db = locks
            .shard_for_key(&engine.ks, &k.key)
            .and_then(|s| s.dbs.get_mut(k.db))
            .ok_or(Error::Bad("database index out of range"))?;
        db.set(&k.key, k.value, false, clock);
        if let Some(t) = k.expire_ms {
            db.set_expire(&k.key, t);
        }
        stats.loaded += 1;
        Ok(())
    })?;
    sh.rdb_last_load_keys_loaded
        .store(stats.loaded, Ordering::Relaxed);
    sh.rdb_last_load_keys_expired
        .store(stats.expired, Ordering::Relaxed);
    sh.dirty_at_save
        .store(engine.stats.dirty.get(), Ordering::Relaxed);
    tracing::info!(
        "Done loading RDB, keys loaded: {}, keys expired: {}.",
        stats.loaded,
        stats.expired
    );
    tracing::info!(
        "DB loaded from disk: {:.3} seconds",
        started.elapsed().as_secs_f64()
    );
    Ok((stats, loaded.functions))
}

/// DEBUG RELOAD [MERGE] [NOFLUSH] [NOSAVE]: save (unless NOSAVE), empty the dataset (unless
/// NOFLUSH), load the file back, all without letting another command run in between. Keys
/// already present are replaced by the file's (Redis stops the server on such a duplicate
/// without MERGE); a function library already present fails the reload without MERGE.
pub fn debug_reload(
    sh: &Shared,
    save_first: bool,
    flush: bool,
    merge: bool,
) -> Result<(), &'static str> {
    abort_bgsave(sh);
    if save_first && save(sh).is_err() {
        return Err("ERR");
    }
    let engine = &sh.engine;
    let file = File::open(rdb_path(sh)).map_err(|_| "ERR Error trying to load the RDB dump")?;
    let mut locks = ferrodis_commands::ctx::Locks::all(engine);
    if flush {
        // Redis's emptyData: not a command, nothing propagated.
        let mut ctx = ferrodis_commands::ctx::Ctx::new(engine, &mut locks, 0, 2);
        ferrodis_commands::keys::flushall(&mut ctx, &[bytes::Bytes::from_static(b"FLUSHALL")]);
    }
    let loaded = load_locked(sh, &mut locks, file, false);
    drop(locks);
    match loaded.map(|(_, libraries)| load_libraries(sh, libraries, flush, merge)) {
        Ok(Ok(())) => {
            tracing::warn!("DB reloaded by DEBUG RELOAD");
            Ok(())
        }
        Ok(Err(e)) => {
            tracing::warn!("Error loading the functions of the RDB dump: {e}");
            Err("ERR Error trying to load the RDB dump")
        }
        Err(e) => {
            tracing::warn!("Error loading the RDB dump: {e}");
            Err("ERR Error trying to load the RDB dump")
        }
    }
}

/// The final save of a shutdown: with SAVE, or when save points are configured and NOSAVE was
/// not given. False when a save was due and failed.
pub fn shutdown_save(sh: &Shared, save_flag: bool, nosave: bool) -> bool {
    // Redis kills a saving child at shutdown; the final save below replaces it.
    abort_bgsave(sh);
    let due = save_flag || (!nosave && !sh.config.read().save_params().is_empty());
    if !due {
        return true;
    }
    tracing::info!("Saving the final RDB snapshot before exiting.");
    match save(sh) {
        Ok(_) => true,
        Err(_) => {
            tracing::warn!("Error trying to save the DB, can't exit.");
            false
        }
    }
}

/// FLUSHALL with save points configured saves the now empty dataset right away (Redis 7.0's
/// flushAllDataAndResetRDB), which also resets `rdb_changes_since_last_save`.
pub fn after_flushall(sh: &Shared) {
    if !sh.config.read().save_params().is_empty() {
        let _ = save(sh);
    }
}

/// The cron's part (Redis's serverCron): a BGSAVE when a `save` point is reached — at least
/// `changes` writes and more than `seconds` since the last save — retried 5 s after a failure.
pub fn cron_save_points(sh: &Shared) {
    if sh.bgsave_in_progress.load(Ordering::Relaxed) {
        return;
    }
    let params = sh.config.read().save_params();
    if params.is_empty() {
        return;
    }
    let now_s = ferrodis_commands::engine::wall_ms() / 1000;
    let changes = changes_since_save(sh);
    let since_save = now_s - sh.lastsave.load(Ordering::Relaxed);
    let last_try_s = sh.bgsave_started_ms.load(Ordering::Relaxed) / 1000;
    let may_try = sh.rdb_last_bgsave_ok.load(Ordering::Relaxed) || now_s - last_try_s > 5;
    for p in params {
        if changes >= u64::try_from(p.changes).unwrap_or(0) && since_save > p.seconds && may_try {
            tracing::info!("{} changes in {} seconds. Saving...", p.changes, p.seconds);
            let _ = bgsave(sh);
            break;
        }
    }
}

/// Writes since the last successful save (`rdb_changes_since_last_save`).
pub fn changes_since_save(sh: &Shared) -> u64 {
    sh.engine
        .stats
        .dirty
        .get()
        .saturating_sub(sh.dirty_at_save.load(Ordering::Relaxed))
}

// ---- BGSAVE: a point-in-time snapshot without fork ------------------------------------------

/// Entries written per shard-lock hold while walking.
const SLICE_ENTRIES: usize = 512;

/// BGSAVE: starts the snapshot walker unless one runs. `Err` is the reply's error text.
pub fn bgsave(sh: &Shared) -> Result<(), &'static str> {
    bgsave_with(sh, None)
}

/// What a replication full sync needs from a BGSAVE.
pub struct SnapshotHooks {
    /// Runs under every shard lock at the snapshot's moment (the replica joins the stream).
    pub at_start: Box<dyn FnOnce(&Shared) + Send>,
    /// Gets the written file, opened before anything could replace it, or the error.
    pub at_end: Box<dyn FnOnce(io::Result<File>) + Send>,
}

/// BGSAVE, with the hooks of a replication full sync.
pub fn bgsave_with(sh: &Shared, hooks: Option<SnapshotHooks>) -> Result<(), &'static str> {
    if sh
        .bgsave_in_progress
        .compare_exchange(false, true, Ordering::AcqRel, Ordering::Acquire)
        .is_err()
    {
        return Err("ERR Background save already in progress");
    }
    let Some(arc) = sh.self_ref.get().and_then(|w| w.upgrade()) else {
        sh.bgsave_in_progress.store(false, Ordering::Release);
        return Err("ERR");
    };
    sh.bgsave_started_ms
        .store(ferrodis_commands::engine::wall_ms(), Ordering::Relaxed);
    // The moment of the snapshot is now, before BGSAVE replies (Redis forks here): every
    // database is marked unvisited under all locks, which takes no time per key.
    let (at_start, at_end) = match hooks {
        Some(h) => (Some(h.at_start), Some(h.at_end)),
        None => (None, None),
    };
    let engine = &sh.engine;
    let dirty;
    {
        let mut guards = engine.ks.lock_all();
        engine.snapshot_abort.store(false, Ordering::Release);
        for g in guards.iter_mut() {
            for (i, db) in g.dbs.iter_mut().enumerate() {
                if db.begin_snapshot(i).is_err() {
                    // Cannot happen: every walk ends by visiting what it left.
                    drop(guards);
                    sh.bgsave_in_progress.store(false, Ordering::Release);
                    return Err("ERR a previous snapshot did not finish");
                }
            }
        }
        dirty = engine.stats.dirty.get();
        engine.snapshot_active.store(true, Ordering::Release);
        if let Some(f) = at_start {
            f(sh);
        }
    }
    let spawned = std::thread::Builder::new()
        .name("ferrodis-bgsave".into())
        .spawn(move || {
            let started = std::time::Instant::now();
            let result = bgsave_run(&arc, dirty, at_end.is_some());
            let secs = started.elapsed().as_secs() as i64;
            arc.rdb_last_bgsave_time_sec.store(secs, Ordering::Relaxed);
            let (result, file) = match result {
                Ok((saved, file)) => (Ok(saved), file),
                Err(e) => (Err(e), None),
            };
            match &result {
                Ok(saved) => {
                    arc.lastsave.store(
                        ferrodis_commands::engine::wall_ms() / 1000,
                        Ordering::Relaxed,
                    );
                    arc.rdb_saves.fetch_add(1, Ordering::Relaxed);
                    arc.rdb_last_bgsave_ok.store(true, Ordering::Relaxed);
                    tracing::info!(
                        "Background saving terminated with success ({} keys, {} bytes)",
                        saved.keys,
                        saved.bytes
                    );
                }
                Err(e) => {
                    arc.rdb_last_bgsave_ok.store(false, Ordering::Relaxed);
                    tracing::warn!("Background saving error: {e}");
                }
            }
            arc.bgsave_in_progress.store(false, Ordering::Release);
            if let Some(f) = at_end {
                f(result.and_then(|_| file.ok_or_else(|| io::Error::other("no snapshot file"))));
            }
        });
    if spawned.is_err() {
        end_snapshot(sh);
        sh.bgsave_in_progress.store(false, Ordering::Release);
        return Err("ERR");
    }
    tracing::info!("Background saving started");
    Ok(())
}

/// Asks a running BGSAVE to give up and waits until it has (its snapshot state is cleared).
pub fn abort_bgsave(sh: &Shared) {
    if !sh.bgsave_in_progress.load(Ordering::Acquire) {
        return;
    }
    sh.engine.snapshot_abort.store(true, Ordering::Release);
    while sh.bgsave_in_progress.load(Ordering::Acquire) {
        std::thread::sleep(std::time::Duration::from_millis(1));
    }
}

/// The walker: marks every database as unvisited under all locks (an instant), then visits the
/// shards a slice at a time, releasing the lock between slices. Writers keep the pre-image of an
/// unvisited key before they change it (ferrodis_commands::exec::preserve_for_snapshot), and
/// keys created meanwhile are born visited, so the file is the dataset of the start.
/// Writes the snapshot; with `want_file`, also returns the file opened before it was renamed
/// into place (a later save cannot replace what the caller reads).
fn bgsave_run(sh: &Shared, dirty: u64, want_file: bool) -> io::Result<(Saved, Option<File>)> {
    let engine = &sh.engine;
    let path = rdb_path(sh);
    let dir = path.parent().map(Path::to_path_buf).unwrap_or_default();
    let tmp = dir.join(format!("temp-{}.rdb", std::process::id()));
    let mut w = RdbWriter::new(Vec::with_capacity(1 << 16))?;
    let mut file: Option<BufWriter<File>> = None;
    let walked = (|| -> io::Result<u64> {
        let libraries = library_codes(sh);
        write_header(&mut w, &libraries)?;
        let f = file.insert(BufWriter::with_capacity(1 << 16, File::create(&tmp)?));
        walk(sh, &mut w, f)
    })();
    // Always end the snapshot, also after an error or an abort.
    end_snapshot(sh);
    let result = walked.and_then(|keys| {
        if engine.snapshot_abort.swap(false, Ordering::AcqRel) {
            return Err(io::Error::other(
                "the snapshot was aborted (FLUSHALL or DEBUG RELOAD)",
            ));
        }
        let bytes = w.written() + 9;
        let out = w.finish()?;
        use std::io::Write;
        let mut file = file.ok_or_else(|| io::Error::other("no file"))?;
        file.write_all(&out)?;
        let f = file.into_inner().map_err(|e| e.into_error())?;
        f.sync_all()?;
        let reopened = if want_file {
            Some(File::open(&tmp)?)
        } else {
            None
        };
        std::fs::rename(&tmp, &path)?;
        if let Ok(d) = File::open(&dir) {
            let _ = d.sync_all();
        }
        Ok((Saved { keys, bytes }, reopened))
    });
    match &result {
        Ok(_) => sh.dirty_at_save.store(dirty, Ordering::Relaxed),
        Err(_) => {
            let _ = std::fs::remove_file(&tmp);
        }
    }
    result
}

/// Ends the snapshot: what the walk left unvisited (after an error or an abort) is visited
/// without being written, so the next snapshot can begin.
fn end_snapshot(sh: &Shared) {
    let engine = &sh.engine;
    let mut guards = engine.ks.lock_all();
    engine.snapshot_active.store(false, Ordering::Release);
    for g in guards.iter_mut() {
        for db in g.dbs.iter_mut() {
            if db.snapshot_db().is_some() {
                let mut cursor = 0;
                loop {
                    cursor = db.snapshot_scan(cursor, |_, _| {});
                    if cursor == 0 {
                        break;
                    }
                }
                db.end_snapshot();
            }
        }
    }
}

/// Writes every shard's databases slice by slice, with the pre-images kept meanwhile.
fn walk(sh: &Shared, w: &mut RdbWriter<Vec<u8>>, file: &mut BufWriter<File>) -> io::Result<u64> {
    use std::io::Write;
    let engine = &sh.engine;
    let mut keys = 0u64;
    let mut current_db: Option<usize> = None;
    let mut select = |w: &mut RdbWriter<Vec<u8>>, db: usize| -> io::Result<()> {
        if current_db != Some(db) {
            w.select(db as u64)?;
            current_db = Some(db);
        }
        Ok(())
    };
    for shard in 0..engine.ks.nshards() {
        // Databases are found by the index they are snapshotted under, not by position:
        // SWAPDB may move them between slices.
        for id in 0..engine.settings.databases {
            let mut cursor = 0u64;
            loop {
                if engine.snapshot_abort.load(Ordering::Acquire) {
                    return Ok(keys);
                }
                let mut g = engine.ks.lock(shard);
                // Pre-images of every database of this shard first.
                for db in g.dbs.iter_mut() {
                    let Some(pid) = db.snapshot_db() else {
                        continue;
                    };
                    let pre = db.take_pre_images();
                    if !pre.is_empty() {
                        select(w, pid)?;
                    }
                    for p in pre {
                        w.key(&p.key, &p.value, p.expire_ms)?;
                        keys += 1;
                    }
                }
                let Some(db) = g.dbs.iter_mut().find(|d| d.snapshot_db() == Some(id)) else {
                    break;
                };
                if db.unvisited_count() == 0 {
                    break;
                }
                select(w, id)?;
                let mut budget = 0;
                let mut wrote = 0u64;
                let mut err = Ok(());
                while budget < SLICE_ENTRIES {
                    cursor = db.snapshot_scan(cursor, |e, expire| {
                        if err.is_ok() {
                            err = w.key(e.key().as_slice(), e.value(), expire);
                        }
                        wrote += 1;
                    });
                    // Empty buckets count too, so a sparse table still yields the lock.
                    budget += 1 + wrote as usize;
                    if cursor == 0 {
                        break;
                    }
                }
                err?;
                drop(g);
                keys += wrote;
                file.write_all(w.output_mut())?;
                w.output_mut().clear();
                if cursor == 0 {
                    break;
                }
            }
        }
    }
    // Pre-images kept after their shard was walked.
    let mut guards = engine.ks.lock_all();
    for g in guards.iter_mut() {
        for db in g.dbs.iter_mut() {
            let Some(id) = db.snapshot_db() else { continue };
            let pre = db.take_pre_images();
            if !pre.is_empty() {
                select(w, id)?;
            }
            for p in pre {
                w.key(&p.key, &p.value, p.expire_ms)?;
                keys += 1;
            }
        }
    }
    drop(guards);
    file.write_all(w.output_mut())?;
    w.output_mut().clear();
    Ok(keys)
}
