//! FUNCTION libraries (see crate docs).
