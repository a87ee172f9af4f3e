//! The generated command table. `data.rs` is written by
//! `crates/commands/gen/gen_table.py` (run it again after editing the `.tsv`
//! files beside it); nothing here is edited by hand. Read it through
//! [`crate::meta`].

// Generated layout is kept as the generator writes it.
#[rustfmt::skip]
mod data;

pub(crate) use data::{COMMANDS, MAX_NAME_LEN, PHF_DISP, PHF_SLOTS};
