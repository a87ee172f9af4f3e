//! FUNCTION and FCALL / FCALL_RO (the Lua side is ferrodis_scripting::functions).

use crate::dispatch::Client;
use crate::state::Shared;
use bytes::Bytes;
use ferrodis_commands::{errors, Reply};

pub fn command(
    _sh: &Shared,
    _c: &mut Client,
    _top: &str,
    argv: &[Bytes],
    _wait_here: bool,
) -> Reply {
    errors::unknown_command(argv)
}
