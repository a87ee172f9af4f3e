//! The data commands' handlers, bound to the metadata table by name.
//!
//! Metadata (arity, flags, key specs) lives in the generated table (`meta`);
//! this module only says which function runs a command and how it locks.

use crate::ctx::Ctx;
use crate::reply::Reply;
use crate::{keys, strings};
use bytes::Bytes;
use std::collections::HashMap;
use std::sync::OnceLock;

pub type DataFn = fn(&mut Ctx<'_, '_>, &[Bytes]) -> Reply;

/// How the executor locks shards before calling a handler.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Locking {
    /// Lock the shards of the keys named by the command's key specs.
    Keys,
    /// Lock every shard (whole-keyspace commands).
    All,
    /// The handler locks shards itself, one at a time (SCAN).
    Manual,
}

#[derive(Clone, Copy)]
pub struct DataCommand {
    pub name: &'static str,
    pub run: DataFn,
    pub locking: Locking,
}

pub const fn k(name: &'static str, run: DataFn) -> DataCommand {
    DataCommand {
        name,
        run,
        locking: Locking::Keys,
    }
}
pub const fn all(name: &'static str, run: DataFn) -> DataCommand {
    DataCommand {
        name,
        run,
        locking: Locking::All,
    }
}
pub const fn manual(name: &'static str, run: DataFn) -> DataCommand {
    DataCommand {
        name,
        run,
        locking: Locking::Manual,
    }
}

/// Every data command this crate implements. Names are the metadata table's
/// (lowercase; subcommands as `object|encoding` are routed by their container).
pub static DATA_COMMANDS: &[DataCommand] = &[
    // strings
    k("get", strings::get),
    k("set", strings::set),
    k("setnx", strings::setnx),
    k("setex", strings::setex),
    k("psetex", strings::psetex),
    k("getex", strings::getex),
    k("getdel", strings::getdel),
    k("getset", strings::getset),
    k("mget", strings::mget),
    k("mset", strings::mset),
    k("msetnx", strings::msetnx),
    k("append", strings::append),
    k("strlen", strings::strlen),
    k("getrange", strings::getrange),
    k("substr", strings::getrange),
    k("setrange", strings::setrange),
    k("incr", strings::incr),
    k("decr", strings::decr),
    k("incrby", strings::incrby),
    k("decrby", strings::decrby),
    k("incrbyfloat", strings::incrbyfloat),
    k("lcs", strings::lcs),
    // keys
    k("del", keys::del),
    k("unlink", keys::unlink),
    k("exists", keys::exists),
    k("touch", keys::touch),
    k("type", keys::type_cmd),
    k("dump", keys::dump),
    k("restore", crate::restore::restore),
    k("rename", keys::rename),
    k("renamenx", keys::renamenx),
    k("move", keys::move_cmd),
    k("copy", keys::copy),
    all("keys", keys::keys),
    all("dbsize", keys::dbsize),
    all("randomkey", keys::randomkey),
    all("flushdb", keys::flushdb),
    all("flushall", keys::flushall),
    all("swapdb", keys::swapdb),
    manual("scan", keys::scan),
    k("expire", keys::expire),
    k("pexpire", keys::pexpire),
    k("expireat", keys::expireat),
    k("pexpireat", keys::pexpireat),
    k("ttl", keys::ttl),
    k("pttl", keys::pttl),
    k("expiretime", keys::expiretime),
    k("pexpiretime", keys::pexpiretime),
    k("persist", keys::persist),
    k("object", keys::object),
];

/// The per-family tables merged with [`DATA_COMMANDS`].
fn families() -> [&'static [DataCommand]; 11] {
    [
        DATA_COMMANDS,
        crate::lists::COMMANDS,
        crate::hashes::COMMANDS,
        crate::sets::COMMANDS,
        crate::zsets::COMMANDS,
        crate::sort::COMMANDS,
        crate::scan::COMMANDS,
        crate::bitops::COMMANDS,
        crate::hll::COMMANDS,
        crate::geo::COMMANDS,
        crate::streams::COMMANDS,
    ]
}

/// Every data command of every family.
pub fn all_commands() -> impl Iterator<Item = &'static DataCommand> {
    families().into_iter().flatten()
}

/// Find the handler of a data command by its (lowercase) table name.
/// Hot path: one hash lookup per command.
pub fn find(name: &str) -> Option<&'static DataCommand> {
    static INDEX: OnceLock<HashMap<&'static str, &'static DataCommand, ahash::RandomState>> =
        OnceLock::new();
    INDEX
        .get_or_init(|| all_commands().map(|c| (c.name, c)).collect())
        .get(name)
        .copied()
}
