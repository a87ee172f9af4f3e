//! stub
use mlua::{Lua, Table};
pub fn create(lua: &Lua) -> mlua::Result<Table> {
    lua.create_table()
}
