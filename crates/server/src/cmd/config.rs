//! CONFIG GET/SET/RESETSTAT/REWRITE/HELP.

use crate::dispatch::Client;
use crate::state::Shared;
use bytes::Bytes;
use ferrodis_commands::keys::help_reply;
use ferrodis_commands::{errors, Reply};
use std::sync::atomic::Ordering;

/// Loopback or unix-socket clients count as local (`enable-protected-configs local`).
pub fn is_local(addr: &str) -> bool {
    addr.starts_with("127.")
        || addr.starts_with("::1:")
        || addr.starts_with('/')
        || addr.starts_with("in-process")
}

pub fn config(sh: &Shared, c: &mut Client, argv: &[Bytes]) -> Reply {
    let sub = String::from_utf8_lossy(&argv[1]).to_ascii_lowercase();
    match sub.as_str() {
        "get" => {
            let cfg = sh.config.read();
            let pats: Vec<&[u8]> = argv[2..].iter().map(|a| a.as_ref()).collect();
            Reply::Map(
                cfg.get_many(&pats)
                    .into_iter()
                    .map(|(k, v)| (Reply::Bulk(Bytes::from(k)), Reply::Bulk(Bytes::from(v))))
                    .collect(),
            )
        }
        "set" => {
            if !argv.len().is_multiple_of(2) {
                return errors::wrong_arity("config|set");
            }
            let pairs: Vec<(&[u8], &[u8])> = argv[2..]
                .chunks(2)
                .map(|p| (p[0].as_ref(), p[1].as_ref()))
                .collect();
            let local = is_local(&c.handle.addr);
            let ctx = crate::config::SetContext {
                client_is_local: local,
                loading: false,
            };
            let res = sh
                .config
                .write()
                .set_and_apply(&pairs, ctx, |cfg, changed| {
                    if changed.contains(&"port") || changed.contains(&"bind") {
                        crate::net::rebind(sh, &cfg.bind(), cfg.port(), cfg.tcp_backlog())
                            .map_err(|message| {
                                // Redis names the failure by what changed: the port, or the
                                // addresses.
                                if changed.contains(&"port") {
                                    crate::config::ApplyError {
                                        option: "port",
                                        message,
                                    }
                                } else {
                                    crate::config::ApplyError {
                                        option: "bind",
                                        message: "Failed to bind to specified addresses.".into(),
                                    }
                                }
                            })?;
                    }
                    if changed.contains(&"oom-score-adj")
                        || changed.contains(&"oom-score-adj-values")
                    {
                        crate::config::oom::apply(cfg).map_err(|message| {
                            crate::config::ApplyError {
                                option: if changed.contains(&"oom-score-adj") {
                                    "oom-score-adj"
                                } else {
                                    "oom-score-adj-values"
                                },
                                message,
                            }
                        })?;
                    }
                    Ok(())
                });
            match res {
                Ok(changed) => {
                    if changed.contains(&"dir") {
                        let dir = sh.config.read().dir();
                        if let Err(e) = std::env::set_current_dir(&dir) {
                            tracing::warn!("Can't chdir to '{}': {}", dir, e);
                        }
                    }
                    sh.apply_config_to_engine();
                    Reply::Ok
                }
                Err(e) => Reply::error(e),
            }
        }
        "resetstat" => {
            reset_stats(sh);
            Reply::Ok
        }
        "rewrite" => {
            let cfg = sh.config.read();
            let Some(path) = cfg.config_file().map(|p| p.to_path_buf()) else {
                return Reply::err_static("ERR The server is running without a config file");
            };
            match cfg.rewrite(&path) {
                Ok(()) => {
                    tracing::info!("CONFIG REWRITE executed with success.");
                    Reply::Ok
                }
                Err(e) => {
                    tracing::warn!("CONFIG REWRITE failed: {}", e);
                    Reply::error(format!("ERR Rewriting config file: {}", e))
                }
            }
        }
        "help" => help_reply(&[
            "CONFIG <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
            "GET <pattern>",
            "    Options whose names match the glob <pattern>, with their values.",
            "SET <directive> <value>",
            "    Change <directive> to <value> (several pairs are applied all or none).",
            "RESETSTAT",
            "    Zero the counters shown by INFO.",
            "REWRITE",
            "    Write the running configuration back to the config file.",
            "HELP",
            "    Show this list.",
        ]),
        _ => errors::unknown_subcommand(&argv[1], "config"),
    }
}

/// CONFIG RESETSTAT: zero the counters INFO reports.
pub fn reset_stats(sh: &Shared) {
    let s = &sh.stats;
    for c in [
        &s.total_connections_received,
        &s.total_commands_processed,
        &s.rejected_connections,
        &s.net_input_bytes,
        &s.net_output_bytes,
        &s.total_error_replies,
        &s.unexpected_error_replies,
        &s.client_query_buffer_limit_disconnections,
        &s.client_output_buffer_limit_disconnections,
        &s.total_reads_processed,
        &s.total_writes_processed,
    ] {
        c.store(0, Ordering::Relaxed);
    }
    let e = &sh.engine.stats;
    for c in [
        &e.keyspace_hits,
        &e.keyspace_misses,
        &e.expired_keys,
        &e.expired_stale_perc,
        &e.expired_time_cap_reached_count,
        &e.expire_cycle_cpu_milliseconds,
        &e.evicted_keys,
    ] {
        c.store(0, Ordering::Relaxed);
    }
    for st in sh.cmdstats.values() {
        st.calls.store(0, Ordering::Relaxed);
        st.usec.store(0, Ordering::Relaxed);
        st.rejected_calls.store(0, Ordering::Relaxed);
        st.failed_calls.store(0, Ordering::Relaxed);
        st.histogram.reset();
    }
    sh.errorstats.lock().clear();
    sh.engine.lazyfree.reset_stats();
    sh.stat_peak_memory.store(0, Ordering::Relaxed);
}
