//! ferrodis-ds
pub mod compact;
pub mod glob;
pub mod lcs;
pub mod num;
pub mod value;
