//! CLIENT subcommands.

use crate::client::{flags, ClientHandle};
use crate::dispatch::{After, Client, ReplyMode};
use crate::state::{Pause, Shared};
use bytes::Bytes;
use ferrodis_commands::args::{eq_ic, parse_i64};
use ferrodis_commands::keys::help_reply;
use ferrodis_commands::{errors, Reply};
use std::sync::atomic::Ordering;
use std::sync::Arc;

/// Client names may not contain spaces, newlines or special characters.
pub fn valid_name(n: &[u8]) -> Result<(), Reply> {
    if n.iter().any(|&b| !(b'!'..=b'~').contains(&b)) {
        return Err(Reply::err_static(
            "ERR Client names cannot contain spaces, newlines or special characters.",
        ));
    }
    Ok(())
}

fn now_ms() -> i64 {
    ferrodis_commands::engine::wall_ms()
}

fn verbatim(s: String) -> Reply {
    Reply::Verbatim("txt", Bytes::from(s))
}

fn valid_type(t: &[u8]) -> Option<&'static str> {
    let t = String::from_utf8_lossy(t).to_ascii_lowercase();
    match t.as_str() {
        "normal" => Some("normal"),
        "master" => Some("master"),
        "replica" | "slave" => Some("replica"),
        "pubsub" => Some("pubsub"),
        _ => None,
    }
}

pub fn client(sh: &Shared, c: &mut Client, argv: &[Bytes]) -> Reply {
    let sub = String::from_utf8_lossy(&argv[1]).to_ascii_lowercase();
    match sub.as_str() {
        "help" => help_reply(&[
            "CLIENT <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
            "CACHING (YES|NO)",
            "    In OPTIN/OPTOUT tracking mode, track (or not) the keys of the next command.",
            "GETREDIR",
            "    ID of the client receiving this connection's invalidations, -1 if none.",
            "GETNAME",
            "    Name of this connection, or null.",
            "ID",
            "    ID of this connection.",
            "INFO",
            "    One CLIENT LIST line describing this connection.",
            "KILL <ip:port>",
            "    Close the connection coming from <ip:port>.",
            "KILL <option> <value> [<option> <value> [...]]",
            "    Close every connection matching all filters: ID <id>, ADDR <ip:port>, LADDR <ip:port>, TYPE (NORMAL|MASTER|REPLICA|PUBSUB), USER <name>, SKIPME (YES|NO).",
            "LIST [options ...]",
            "    Describe connections, optionally only TYPE (NORMAL|MASTER|REPLICA|PUBSUB) or ID <id> [<id> ...].",
            "UNPAUSE",
            "    End a CLIENT PAUSE now.",
            "PAUSE <timeout> [WRITE|ALL]",
            "    Hold commands (all, or only writes) from every client for <timeout> milliseconds.",
            "REPLY (ON|OFF|SKIP)",
            "    Turn replies to this connection on or off, or drop the next one.",
            "SETNAME <name>",
            "    Name this connection.",
            "UNBLOCK <clientid> [TIMEOUT|ERROR]",
            "    Wake a client blocked in a blocking command.",
            "TRACKING (ON|OFF) [REDIRECT <id>] [BCAST] [PREFIX <prefix> [...]] [OPTIN] [OPTOUT] [NOLOOP]",
            "    Turn server-assisted client-side caching on or off.",
            "TRACKINGINFO",
            "    Tracking state of this connection.",
            "NO-EVICT (ON|OFF)",
            "    Exempt this connection from client eviction.",
            "HELP",
            "    Show this list.",
        ]),
        "id" => Reply::Int(c.handle.id as i64),
        "info" => verbatim(format!("{}\n", c.handle.info_line(now_ms()))),
        "list" => list(sh, argv),
        "setname" => {
            if let Err(e) = valid_name(&argv[2]) {
                return e;
            }
            *c.handle.name.lock() = if argv[2].is_empty() {
                None
            } else {
                Some(argv[2].clone())
            };
            Reply::Ok
        }
        "getname" => match c.handle.name.lock().clone() {
            Some(n) => Reply::Bulk(n),
            None => Reply::Null,
        },
        "setinfo" => {
            // CLIENT SETINFO LIB-NAME|LIB-VER value (Redis 7.2, sent by current clients).
            if argv.len() != 4 {
                return errors::wrong_arity("client|setinfo");
            }
            let v = argv[3].clone();
            if v.iter().any(|&b| !(b'!'..=b'~').contains(&b)) {
                return Reply::error(format!(
                    "ERR {} cannot contain spaces, newlines or special characters.",
                    String::from_utf8_lossy(&argv[2]).to_ascii_lowercase()
                ));
            }
            if eq_ic(&argv[2], "lib-name") {
                *c.handle.lib_name.lock() = Some(v);
            } else if eq_ic(&argv[2], "lib-ver") {
                *c.handle.lib_ver.lock() = Some(v);
            } else {
                return errors::error_with("ERR Unrecognized option '", &argv[2], "'");
            }
            Reply::Ok
        }
        "reply" => {
            if eq_ic(&argv[2], "on") {
                c.reply_mode = ReplyMode::On;
                Reply::Ok
            } else if eq_ic(&argv[2], "off") {
                c.reply_mode = ReplyMode::Off;
                Reply::NoReply
            } else if eq_ic(&argv[2], "skip") {
                if c.reply_mode != ReplyMode::Off {
                    c.reply_mode = ReplyMode::Skip;
                }
                Reply::NoReply
            } else {
                errors::syntax()
            }
        }
        "no-evict" => {
            if eq_ic(&argv[2], "on") {
                c.handle.set_flag(flags::NO_EVICT, true);
                Reply::Ok
            } else if eq_ic(&argv[2], "off") {
                c.handle.set_flag(flags::NO_EVICT, false);
                Reply::Ok
            } else {
                errors::syntax()
            }
        }
        "kill" => kill(sh, c, argv),
        "unblock" => {
            let id = match parse_i64(&argv[2]) {
                Some(v) => v,
                None => return errors::not_integer(),
            };
            if argv.len() == 4 && !(eq_ic(&argv[3], "timeout") || eq_ic(&argv[3], "error")) {
                return Reply::err_static("ERR CLIENT UNBLOCK reason should be TIMEOUT or ERROR");
            }
            // Only a client blocked in a blocking command can be unblocked: TIMEOUT (the
            // default) answers as if its timeout passed, ERROR with Redis's -UNBLOCKED error.
            let waiter = sh
                .clients
                .get(id as u64)
                .and_then(|h| h.blocked.lock().clone());
            let error = argv.len() == 4 && eq_ic(&argv[3], "error");
            let unblocked = waiter.is_some_and(|w| {
                if error {
                    w.finish(Reply::err_static(
                        "UNBLOCKED client unblocked via CLIENT UNBLOCK",
                    ))
                } else {
                    w.finish_timeout()
                }
            });
            Reply::Int(i64::from(unblocked))
        }
        "pause" => {
            let ms = match parse_i64(&argv[2]) {
                Some(v) => v,
                None => return Reply::err_static("ERR timeout is not an integer or out of range"),
            };
            if ms < 0 {
                return Reply::err_static("ERR timeout is negative");
            }
            let mut mode = 2u8;
            if argv.len() == 4 {
                if eq_ic(&argv[3], "write") {
                    mode = 1;
                } else if eq_ic(&argv[3], "all") {
                    mode = 2;
                } else {
                    return Reply::err_static("ERR CLIENT PAUSE mode must be WRITE or ALL");
                }
            }
            let now = now_ms();
            let until = now.saturating_add(ms);
            let mut p = sh.pause.lock();
            // A pause never shortens or downgrades a running one (Redis's pauseClients).
            let active = p.mode != 0 && p.until_ms > now;
            *p = Pause {
                mode: if active { mode.max(p.mode) } else { mode },
                until_ms: if active { until.max(p.until_ms) } else { until },
            };
            sh.pause_mode.store(p.mode, Ordering::Relaxed);
            sh.engine
                .settings
                .expires_paused
                .store(true, Ordering::Relaxed);
            drop(p);
            sh.pause_changed.notify_waiters();
            Reply::Ok
        }
        "unpause" => {
            *sh.pause.lock() = Pause::default();
            sh.pause_mode.store(0, Ordering::Relaxed);
            sh.engine
                .settings
                .expires_paused
                .store(false, Ordering::Relaxed);
            sh.pause_changed.notify_waiters();
            Reply::Ok
        }
        // Client-side caching (crate::tracking).
        "tracking" => sh.tracking.tracking_cmd(sh, c, argv),
        "caching" => sh.tracking.caching_cmd(c.handle.id, argv),
        "getredir" => sh.tracking.getredir(c.handle.id),
        "trackinginfo" => sh.tracking.trackinginfo(c.handle.id),
        _ => errors::unknown_subcommand(&argv[1], "client"),
    }
}

fn list(sh: &Shared, argv: &[Bytes]) -> Reply {
    let now = now_ms();
    let mut filter_type = None;
    let mut ids: Option<Vec<u64>> = None;
    if argv.len() == 4 && eq_ic(&argv[2], "type") {
        match valid_type(&argv[3]) {
            Some(t) => filter_type = Some(t),
            None => return errors::error_with("ERR Unknown client type '", &argv[3], "'"),
        }
    } else if argv.len() > 3 && eq_ic(&argv[2], "id") {
        let mut v = Vec::new();
        for a in &argv[3..] {
            match parse_i64(a) {
                Some(id) if id > 0 => v.push(id as u64),
                _ => return Reply::err_static("ERR Invalid client ID"),
            }
        }
        ids = Some(v);
    } else if argv.len() != 2 {
        return errors::syntax();
    }
    let mut out = String::new();
    let clients = sh.clients.snapshot();
    let emit = |out: &mut String, h: &Arc<ClientHandle>| {
        out.push_str(&h.info_line(now));
        out.push('\n');
    };
    match ids {
        Some(ids) => {
            for id in ids {
                if let Some(h) = sh.clients.get(id) {
                    emit(&mut out, &h);
                }
            }
        }
        None => {
            for h in clients.iter() {
                if let Some(t) = filter_type {
                    if h.type_name() != t {
                        continue;
                    }
                }
                emit(&mut out, h);
            }
        }
    }
    verbatim(out)
}

fn kill(sh: &Shared, c: &mut Client, argv: &[Bytes]) -> Reply {
    if argv.len() == 3 {
        // Old form: CLIENT KILL addr:port.
        let addr = String::from_utf8_lossy(&argv[2]).into_owned();
        for h in sh.clients.snapshot() {
            if h.addr == addr {
                if h.id == c.handle.id {
                    c.after = After::Close;
                } else {
                    h.kill();
                }
                return Reply::Ok;
            }
        }
        return Reply::err_static("ERR No such client");
    }
    let mut id = None;
    let mut typ = None;
    let mut addr = None;
    let mut laddr = None;
    let mut user = None;
    let mut skipme = true;
    let mut i = 2;
    while i < argv.len() {
        if i + 1 >= argv.len() {
            return errors::syntax();
        }
        let (k, v) = (&argv[i], &argv[i + 1]);
        if eq_ic(k, "id") {
            match parse_i64(v) {
                Some(x) if x > 0 => id = Some(x as u64),
                _ => return Reply::err_static("ERR client-id should be greater than 0"),
            }
        } else if eq_ic(k, "type") {
            match valid_type(v) {
                Some(t) => typ = Some(t),
                None => return errors::error_with("ERR Unknown client type '", v, "'"),
            }
        } else if eq_ic(k, "addr") {
            addr = Some(String::from_utf8_lossy(v).into_owned());
        } else if eq_ic(k, "laddr") {
            laddr = Some(String::from_utf8_lossy(v).into_owned());
        } else if eq_ic(k, "user") {
            if v.as_ref() != b"default" {
                return errors::error_with("ERR No such user '", v, "'");
            }
            user = Some(String::from_utf8_lossy(v).into_owned());
        } else if eq_ic(k, "skipme") {
            if eq_ic(v, "yes") {
                skipme = true;
            } else if eq_ic(v, "no") {
                skipme = false;
            } else {
                return errors::syntax();
            }
        } else {
            return errors::syntax();
        }
        i += 2;
    }
    let mut killed = 0;
    for h in sh.clients.snapshot() {
        if id.is_some_and(|x| x != h.id)
            || typ.is_some_and(|t| t != h.type_name())
            || addr.as_ref().is_some_and(|a| *a != h.addr)
            || laddr.as_ref().is_some_and(|a| *a != h.laddr)
            || user.as_ref().is_some_and(|u| *u != *h.user.lock())
        {
            continue;
        }
        if h.id == c.handle.id {
            if skipme {
                continue;
            }
            c.after = After::Close;
        } else {
            h.kill();
        }
        killed += 1;
    }
    Reply::Int(killed)
}
