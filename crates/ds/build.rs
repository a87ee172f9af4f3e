//! Compiles the small C shim that gives `num.rs` the platform's C `long double`
//! (Redis does INCRBYFLOAT arithmetic and formatting in it; Rust has no such type).

fn main() {
    println!("cargo:rerun-if-changed=csrc/longdouble.c");
    cc::Build::new()
        .file("csrc/longdouble.c")
        .warnings(true)
        .extra_warnings(true)
        .compile("ferrodis_longdouble");
}
