//! Stream commands (XADD ... XAUTOCLAIM) and consumer groups.

use crate::registry::DataCommand;

/// This module's commands, merged into the registry.
pub static COMMANDS: &[DataCommand] = &[];
