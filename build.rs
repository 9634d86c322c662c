//! Builds the C shim (the variadic `raft_config`) and generates `raft.h`
//! with cbindgen into OUT_DIR. The committed `include/raft.h` must equal it
//! (a unit test checks); `LIBRAFT_WRITE_HEADER=1` (`make header`) rewrites it.

use std::env;
use std::path::PathBuf;

fn main() {
    println!("cargo:rerun-if-changed=src/shim/config.c");
    println!("cargo:rerun-if-changed=cbindgen.toml");
    println!("cargo:rerun-if-changed=src/ffi");
    // cbindgen reads the whole crate: the store's items must stay out of raft.h.
    println!("cargo:rerun-if-changed=src/store");
    println!("cargo:rerun-if-env-changed=LIBRAFT_WRITE_HEADER");
    if env::var_os("CARGO_FEATURE_CAPI").is_none() {
        // The Rust library alone: no C shim, no header.
        return;
    }

    cc::Build::new()
        .file("src/shim/config.c")
        .flag_if_supported("-std=c99")
        .warnings(true)
        .extra_warnings(true)
        .compile("raft_shim");

    let crate_dir = PathBuf::from(env::var("CARGO_MANIFEST_DIR").expect("cargo sets CARGO_MANIFEST_DIR"));
    let out_dir = PathBuf::from(env::var("OUT_DIR").expect("cargo sets OUT_DIR"));
    let config = cbindgen::Config::from_file(crate_dir.join("cbindgen.toml")).expect("cbindgen.toml parses");
    let bindings = cbindgen::Builder::new()
        .with_crate(&crate_dir)
        .with_config(config)
        .generate()
        .expect("cbindgen generates raft.h");
    bindings.write_to_file(out_dir.join("raft.h"));
    if env::var_os("LIBRAFT_WRITE_HEADER").is_some_and(|v| v == "1") {
        bindings.write_to_file(crate_dir.join("include/raft.h"));
    }
}
