//! Link the `cctoken` executable as non-PIE on Linux.
//!
//! A cached `cctoken get` must cost about as much as `cat` of a token file (SPEC §11: at most
//! 2×). Most of its time is process start-up, and a PIE binary of this size spends a good
//! part of that applying ~25,000 relative relocations (and faulting in the pages they
//! write). A non-PIE executable has none. Only the executables of this package are affected
//! (`rustc-link-arg-bins`); libraries and proc-macros stay position-independent.
fn main() {
    println!("cargo:rerun-if-changed=build.rs");
    let os = std::env::var("CARGO_CFG_TARGET_OS").unwrap_or_default();
    let env = std::env::var("CARGO_CFG_TARGET_ENV").unwrap_or_default();
    if os == "linux" && env == "gnu" {
        println!("cargo:rustc-link-arg-bins=-no-pie");
    }
}
