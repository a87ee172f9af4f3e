//! HyperLogLog commands (PFADD, PFCOUNT, PFMERGE, PFDEBUG, PFSELFTEST) over Redis's exact HYLL representation.

use crate::registry::DataCommand;

/// This module's commands, merged into the registry.
pub static COMMANDS: &[DataCommand] = &[];
