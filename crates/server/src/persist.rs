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

fn write_rdb(sh: &Shared, tmp: &Path) -> io::Result<Saved> {
    let file = File::create(tmp)?;
    let mut w = RdbWriter::new(BufWriter::with_capacity(1 << 16, file))?;
    let now_s = ferrodis_commands::engine::wall_ms() / 1000;
    w.aux("redis-ver", b"7.0.15")?;
    w.aux("redis-bits", b"64")?;
    w.aux("ctime", now_s.to_string().as_bytes())?;
    w.aux(
        "used-mem",
        crate::alloc::used_memory().to_string().as_bytes(),
    )?;
    w.aux("aof-base", b"0")?;
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

/// Writes since the last successful save (`rdb_changes_since_last_save`).
pub fn changes_since_save(sh: &Shared) -> u64 {
    sh.engine
        .stats
        .dirty
        .get()
        .saturating_sub(sh.dirty_at_save.load(Ordering::Relaxed))
}
