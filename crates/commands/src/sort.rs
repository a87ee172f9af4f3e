//! SORT and SORT_RO over lists, sets and sorted sets.

use crate::registry::DataCommand;

/// This module's commands, merged into the registry.
pub static COMMANDS: &[DataCommand] = &[];
