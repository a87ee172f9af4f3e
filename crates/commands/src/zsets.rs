//! Sorted-set commands (ZADD ... BZMPOP, ZSCAN): `listpack`/`skiplist`.

use crate::registry::DataCommand;

/// This module's commands, merged into the registry.
pub static COMMANDS: &[DataCommand] = &[];
