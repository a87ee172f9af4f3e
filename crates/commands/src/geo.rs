//! Geo commands (GEOADD ... GEOSEARCHSTORE, GEORADIUS*) over sorted sets with 52-bit geohash scores.

use crate::registry::DataCommand;

/// This module's commands, merged into the registry.
pub static COMMANDS: &[DataCommand] = &[];
