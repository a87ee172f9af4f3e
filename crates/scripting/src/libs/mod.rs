//! The libraries Redis provides to scripts, written in Rust: `cjson`, `cmsgpack`, `bit`,
//! `struct`.

pub mod bit;
pub mod cjson;
pub mod cmsgpack;
pub mod structlib;

use mlua::{Lua, Table};

/// A table name → library table, for the prelude to install as globals.
pub fn create_all(lua: &Lua) -> mlua::Result<Table> {
    let t = lua.create_table()?;
    t.raw_set("bit", bit::create(lua)?)?;
    t.raw_set("cjson", cjson::create(lua)?)?;
    t.raw_set("cmsgpack", cmsgpack::create(lua)?)?;
    t.raw_set("struct", structlib::create(lua)?)?;
    Ok(t)
}
