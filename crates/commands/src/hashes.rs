//! Hash commands (HSET ... HRANDFIELD, HSCAN): `listpack`/`hashtable`.

use crate::registry::DataCommand;

/// This module's commands, merged into the registry.
pub static COMMANDS: &[DataCommand] = &[];
