//! List commands (LPUSH ... BLMPOP): the `quicklist` type.

use crate::registry::DataCommand;

/// This module's commands, merged into the registry.
pub static COMMANDS: &[DataCommand] = &[];
