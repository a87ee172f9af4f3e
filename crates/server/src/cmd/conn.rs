//! Connection commands: PING, QUIT, SELECT, HELLO, AUTH, RESET.

use crate::dispatch::{After, Client, ReplyMode};
use crate::state::Shared;
use bytes::Bytes;
use ferrodis_commands::args::{eq_ic, parse_i64};
use ferrodis_commands::{errors, Reply};
use std::sync::atomic::Ordering;

pub fn ping(c: &mut Client, argv: &[Bytes]) -> Reply {
    // A RESP2 subscriber gets PING's reply in the shape of a Pub/Sub message.
    if c.resp == 2 && c.handle.has_flag(crate::client::flags::PUBSUB) && argv.len() <= 2 {
        let arg = argv.get(1).cloned().unwrap_or_default();
        return Reply::Array(vec![Reply::bulk_static("pong"), Reply::Bulk(arg)]);
    }
    match argv.len() {
        1 => Reply::status("PONG"),
        2 => Reply::Bulk(argv[1].clone()),
        _ => errors::wrong_arity("ping"),
    }
}

pub fn quit(c: &mut Client) -> Reply {
    c.after = After::Close;
    Reply::Ok
}

pub fn select(sh: &Shared, c: &mut Client, argv: &[Bytes]) -> Reply {
    let id = match errors::int_arg(&argv[1]) {
        Ok(v) => v,
        Err(e) => return e,
    };
    if id < 0 || id as usize >= sh.engine.settings.databases {
        return Reply::err_static(errors::DB_RANGE);
    }
    c.select(id as usize);
    Reply::Ok
}

/// Check a username/password pair against `requirepass` (the default user).
fn check_credentials(sh: &Shared, user: &[u8], pass: &[u8]) -> bool {
    if user != b"default" {
        return false;
    }
    match &*sh.limits.requirepass.read() {
        None => true,
        Some(p) => constant_time_eq(p, pass),
    }
}

fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

const WRONGPASS: &str = "WRONGPASS invalid username-password pair or user is disabled.";

pub fn auth(sh: &Shared, c: &mut Client, argv: &[Bytes]) -> Reply {
    if argv.len() > 3 {
        return errors::syntax();
    }
    let (user, pass): (&[u8], &[u8]) = if argv.len() == 2 {
        if sh.limits.requirepass.read().is_none() {
            return Reply::err_static("ERR AUTH <password> called without any password configured for the default user. Are you sure your configuration is correct?");
        }
        (b"default", &argv[1])
    } else {
        (&argv[1], &argv[2])
    };
    if check_credentials(sh, user, pass) {
        c.authenticated = true;
        Reply::Ok
    } else {
        Reply::err_static(WRONGPASS)
    }
}

pub fn hello(sh: &Shared, c: &mut Client, argv: &[Bytes]) -> Reply {
    let mut ver = 0i64;
    let mut j = 1;
    if argv.len() >= 2 {
        ver = match parse_i64(&argv[1]) {
            Some(v) => v,
            None => {
                return Reply::err_static("ERR Protocol version is not an integer or out of range")
            }
        };
        j = 2;
        if !(2..=3).contains(&ver) {
            return Reply::err_static("NOPROTO unsupported protocol version");
        }
    }
    let mut setname = None;
    while j < argv.len() {
        let more = argv.len() - 1 - j;
        if eq_ic(&argv[j], "auth") && more >= 2 {
            if !check_credentials(sh, &argv[j + 1], &argv[j + 2]) {
                return Reply::err_static(WRONGPASS);
            }
            c.authenticated = true;
            j += 3;
        } else if eq_ic(&argv[j], "setname") && more >= 1 {
            if let Err(e) = super::client::valid_name(&argv[j + 1]) {
                return e;
            }
            setname = Some(argv[j + 1].clone());
            j += 2;
        } else {
            return errors::error_with("ERR Syntax error in HELLO option '", &argv[j], "'");
        }
    }
    if !c.authenticated && sh.limits.requirepass.read().is_some() {
        return Reply::err_static("NOAUTH HELLO must be called with the client already authenticated, otherwise the HELLO AUTH <user> <pass> option can be used to authenticate the client and select the RESP protocol version at the same time");
    }
    if let Some(n) = setname {
        *c.handle.name.lock() = if n.is_empty() { None } else { Some(n) };
    }
    if ver != 0 {
        c.resp = ver as u8;
        c.handle.resp.store(ver as u8, Ordering::Relaxed);
        if ver == 3 && !c.internal {
            // RESP3 connections may receive pushes (tracking invalidations redirected here).
            let handle = c.handle.clone();
            sh.pubsub.ensure_queue(&mut c.pubsub, &handle);
        }
    }
    Reply::Map(vec![
        (Reply::bulk_static("server"), Reply::bulk_static("redis")),
        (
            Reply::bulk_static("version"),
            Reply::bulk_static(crate::REDIS_VERSION),
        ),
        (Reply::bulk_static("proto"), Reply::Int(c.resp as i64)),
        (Reply::bulk_static("id"), Reply::Int(c.handle.id as i64)),
        (Reply::bulk_static("mode"), Reply::bulk_static("standalone")),
        (Reply::bulk_static("role"), Reply::bulk_static("master")),
        (Reply::bulk_static("modules"), Reply::Array(vec![])),
    ])
}

pub fn reset(sh: &Shared, c: &mut Client) -> Reply {
    super::multi::end_transaction(sh, c);
    c.select(0);
    c.resp = 2;
    c.handle.resp.store(2, Ordering::Relaxed);
    c.reply_mode = ReplyMode::On;
    *c.handle.name.lock() = None;
    c.handle.set_flag(crate::client::flags::NO_EVICT, false);
    if c.handle.has_flag(crate::client::flags::MONITOR) {
        c.handle.set_flag(crate::client::flags::MONITOR, false);
        sh.monitors.lock().retain(|(id, _)| *id != c.handle.id);
    }
    let handle = c.handle.clone();
    sh.pubsub.unsubscribe_all(&mut c.pubsub, &handle);
    sh.tracking.disable(sh, &handle);
    if sh.limits.requirepass.read().is_some() {
        c.authenticated = false;
    }
    Reply::status("RESET")
}
