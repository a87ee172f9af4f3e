//! Bitmap commands (SETBIT, GETBIT, BITCOUNT, BITPOS, BITOP) and BITFIELD/BITFIELD_RO on string values.

use crate::registry::DataCommand;

/// This module's commands, merged into the registry.
pub static COMMANDS: &[DataCommand] = &[];
