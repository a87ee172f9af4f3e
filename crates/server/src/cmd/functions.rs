//! FUNCTION and FCALL / FCALL_RO (the Lua side is ferrodis_scripting::functions). Every
//! subcommand that touches the libraries is a Lua job (cmd/scripting.rs), as scripts are.

use crate::cmd::scripting::{self, check_flags, run_atomic, run_job};
use crate::dispatch::Client;
use crate::state::Shared;
use bytes::Bytes;
use ferrodis_commands::{errors, Reply};
use ferrodis_scripting::shebang::flags as sflags;
use std::sync::atomic::Ordering;

pub fn command(sh: &Shared, c: &mut Client, top: &str, argv: &[Bytes], wait_here: bool) -> Reply {
    match top {
        "fcall" | "fcall_ro" => fcall(sh, c, argv, top == "fcall_ro", wait_here),
        _ => function(sh, c, argv, wait_here),
    }
}

fn fcall(sh: &Shared, c: &mut Client, argv: &[Bytes], ro: bool, wait_here: bool) -> Reply {
    let argv = argv.to_vec();
    let db = c.db;
    run_job(sh, c, wait_here, move |sh, ex| {
        let name = String::from_utf8_lossy(&argv[1]).into_owned();
        let Some(fi) = ex.functions.function(&name) else {
            return Reply::err_static("ERR Function not found");
        };
        let flags = fi.flags;
        let numkeys = match std::str::from_utf8(&argv[2])
            .ok()
            .and_then(|s| s.parse::<i64>().ok())
        {
            None => return Reply::err_static("ERR Bad number of keys provided"),
            Some(n) if n > argv.len() as i64 - 3 => {
                return Reply::err_static("ERR Number of keys can't be greater than number of args")
            }
            Some(n) if n < 0 => return Reply::err_static("ERR Number of keys can't be negative"),
            Some(n) => n as usize,
        };
        if let Err(e) = check_flags(sh, flags, ro) {
            return e;
        }
        let readonly = ro || flags & sflags::NO_WRITES != 0;
        let keys = &argv[3..3 + numkeys];
        let args = &argv[3 + numkeys..];
        let functions = &ex.functions;
        run_atomic(
            sh,
            &mut ex.client,
            false,
            &name,
            &argv,
            db,
            readonly,
            flags,
            |host| functions.call(&name, keys, args, host),
        )
    })
}

fn function(sh: &Shared, c: &mut Client, argv: &[Bytes], wait_here: bool) -> Reply {
    let sub = String::from_utf8_lossy(&argv[1]).to_ascii_lowercase();
    let resp = c.resp;
    // FUNCTION LOAD and RESTORE are deny-oom commands.
    if matches!(sub.as_str(), "load" | "restore") && scripting::oom_state(sh) {
        return Reply::err_static(scripting::OOM);
    }
    match sub.as_str() {
        "load" => {
            let mut replace = false;
            let mut pos = 2;
            while pos + 1 < argv.len() {
                if argv[pos].eq_ignore_ascii_case(b"replace") {
                    replace = true;
                } else {
                    return Reply::error(format!(
                        "ERR Unknown option given: {}",
                        String::from_utf8_lossy(&argv[pos])
                    ));
                }
                pos += 1;
            }
            let Some(code) = argv.get(pos).cloned() else {
                return Reply::err_static("ERR Function code is missing");
            };
            run_job(sh, c, wait_here, move |sh, ex| {
                match ex.functions.load(&code, replace) {
                    Ok(name) => {
                        propagate(sh, argv_of(&["FUNCTION", "LOAD"], replace, &code));
                        dirty(sh);
                        Reply::Bulk(Bytes::from(name))
                    }
                    Err(e) => Reply::error(format!("ERR {e}")),
                }
            })
        }
        "delete" => {
            if argv.len() != 3 {
                return errors::wrong_arity("function|delete");
            }
            let name = String::from_utf8_lossy(&argv[2]).into_owned();
            let a = argv.to_vec();
            run_job(sh, c, wait_here, move |sh, ex| {
                if ex.functions.delete(&name) {
                    propagate(sh, a);
                    dirty(sh);
                    Reply::Ok
                } else {
                    Reply::err_static("ERR Library not found")
                }
            })
        }
        "flush" => {
            if argv.len() > 3 {
                return Reply::err_static("ERR unknown subcommand or wrong number of arguments for 'flush'. Try FUNCTION HELP.");
            }
            if argv.len() == 3
                && !argv[2].eq_ignore_ascii_case(b"async")
                && !argv[2].eq_ignore_ascii_case(b"sync")
            {
                return Reply::err_static("ERR FUNCTION FLUSH only supports SYNC|ASYNC option");
            }
            let a = argv.to_vec();
            run_job(sh, c, wait_here, move |sh, ex| match ex.functions.flush() {
                Ok(()) => {
                    propagate(sh, a);
                    dirty(sh);
                    Reply::Ok
                }
                Err(e) => Reply::error(format!("ERR {e}")),
            })
        }
        "list" => {
            let mut withcode = false;
            let mut pattern: Option<Bytes> = None;
            let mut i = 2;
            while i < argv.len() {
                if argv[i].eq_ignore_ascii_case(b"withcode") && !withcode {
                    withcode = true;
                } else if argv[i].eq_ignore_ascii_case(b"libraryname") && pattern.is_none() {
                    let Some(p) = argv.get(i + 1) else {
                        return Reply::err_static("ERR library name argument was not given");
                    };
                    pattern = Some(p.clone());
                    i += 1;
                } else {
                    return Reply::error(format!(
                        "ERR Unknown argument {}",
                        String::from_utf8_lossy(&argv[i])
                    ));
                }
                i += 1;
            }
            run_job(sh, c, wait_here, move |_, ex| {
                let mut out = Vec::new();
                for lib in ex.functions.libraries() {
                    if let Some(p) = &pattern {
                        if !ferrodis_ds::glob::string_match(p, lib.name.as_bytes(), false) {
                            continue;
                        }
                    }
                    let funcs = lib
                        .functions
                        .values()
                        .map(|f| {
                            Reply::Map(vec![
                                (
                                    Reply::bulk_static("name"),
                                    Reply::Bulk(Bytes::from(f.name.clone())),
                                ),
                                (
                                    Reply::bulk_static("description"),
                                    f.desc.clone().map(Reply::Bulk).unwrap_or(Reply::Null),
                                ),
                                (Reply::bulk_static("flags"), flag_set(f.flags)),
                            ])
                        })
                        .collect();
                    let mut m = vec![
                        (
                            Reply::bulk_static("library_name"),
                            Reply::Bulk(Bytes::from(lib.name.clone())),
                        ),
                        (Reply::bulk_static("engine"), Reply::bulk_static("LUA")),
                        (Reply::bulk_static("functions"), Reply::Array(funcs)),
                    ];
                    if withcode {
                        m.push((
                            Reply::bulk_static("library_code"),
                            Reply::Bulk(lib.code.clone()),
                        ));
                    }
                    out.push(Reply::Map(m));
                }
                Reply::Array(out)
            })
        }
        "dump" => run_job(sh, c, wait_here, |_, ex| {
            Reply::Bulk(Bytes::from(ex.functions.dump()))
        }),
        "restore" => {
            if argv.len() > 4 {
                return Reply::err_static("ERR unknown subcommand or wrong number of arguments for 'restore'. Try FUNCTION HELP.");
            }
            let policy = match argv.get(3) {
                None => "append".to_string(),
                Some(p) => {
                    let p = String::from_utf8_lossy(p).to_ascii_lowercase();
                    if !matches!(p.as_str(), "append" | "replace" | "flush") {
                        return Reply::err_static("ERR Wrong restore policy given, value should be either FLUSH, APPEND or REPLACE.");
                    }
                    p
                }
            };
            let payload = argv[2].clone();
            let a = argv.to_vec();
            run_job(sh, c, wait_here, move |sh, ex| {
                match ex.functions.restore(&payload, &policy) {
                    Ok(()) => {
                        propagate(sh, a);
                        dirty(sh);
                        Reply::Ok
                    }
                    Err(e) => Reply::error(format!("ERR {e}")),
                }
            })
        }
        "stats" => {
            // Answered here, not as a Lua job: it must work while a function runs.
            let st = &sh.scripting.status;
            let running = if st.running.load(Ordering::Acquire) && !st.eval.load(Ordering::Relaxed)
            {
                let (name, argv) = st.name.lock().clone();
                Reply::Map(vec![
                    (Reply::bulk_static("name"), Reply::Bulk(Bytes::from(name))),
                    (
                        Reply::bulk_static("command"),
                        Reply::Array(argv.into_iter().map(Reply::Bulk).collect()),
                    ),
                    (
                        Reply::bulk_static("duration_ms"),
                        Reply::Int(st.elapsed_ms()),
                    ),
                ])
            } else {
                Reply::Null
            };
            let (libs, funcs) = (
                sh.scripting.libraries.load(Ordering::Relaxed),
                sh.scripting.functions.load(Ordering::Relaxed),
            );
            let _ = resp;
            Reply::Map(vec![
                (Reply::bulk_static("running_script"), running),
                (
                    Reply::bulk_static("engines"),
                    Reply::Map(vec![(
                        Reply::bulk_static("LUA"),
                        Reply::Map(vec![
                            (Reply::bulk_static("libraries_count"), Reply::Int(libs)),
                            (Reply::bulk_static("functions_count"), Reply::Int(funcs)),
                        ]),
                    )]),
                ),
            ])
        }
        "kill" => scripting::kill(sh, false),
        "help" => Reply::Array(
            [
                "FUNCTION <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
                "LOAD [REPLACE] <FUNCTION CODE>",
                "DELETE <LIBRARY NAME>",
                "LIST [LIBRARYNAME PATTERN] [WITHCODE]",
                "FLUSH [ASYNC|SYNC]",
                "DUMP",
                "RESTORE <PAYLOAD> [FLUSH|APPEND|REPLACE]",
                "STATS",
                "KILL",
                "HELP",
            ]
            .iter()
            .map(|s| Reply::Status(Bytes::from_static(s.as_bytes())))
            .collect(),
        ),
        _ => errors::unknown_subcommand(&argv[1], "function"),
    }
}

fn flag_set(flags: u32) -> Reply {
    Reply::Set(
        sflags::NAMES
            .iter()
            .filter(|(_, b)| flags & b != 0)
            .map(|(n, _)| Reply::Status(Bytes::from_static(n.as_bytes())))
            .collect(),
    )
}

fn argv_of(head: &[&'static str], replace: bool, code: &Bytes) -> Vec<Bytes> {
    let mut v: Vec<Bytes> = head
        .iter()
        .map(|s| Bytes::from_static(s.as_bytes()))
        .collect();
    if replace {
        v.push(Bytes::from_static(b"REPLACE"));
    }
    v.push(code.clone());
    v
}

/// FUNCTION LOAD/DELETE/FLUSH/RESTORE replicate as themselves.
fn propagate(sh: &Shared, argv: Vec<Bytes>) {
    if sh.engine.propagation.is_active() {
        sh.engine
            .propagation
            .feed(&[ferrodis_commands::engine::Propagated { db: 0, argv }]);
    }
}

fn dirty(sh: &Shared) {
    ferrodis_commands::engine::Stats::add(&sh.engine.stats.dirty, 1);
}
