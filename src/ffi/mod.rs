//! The C boundary: every `extern "C"` function of `raft.h` and the compat
//! list, and the only place with raw pointers and `unsafe`.
//!
//! Each export checks its pointers, runs under [`guard`] (or the server
//! helpers in `server.rs`, which add poisoning) so that no panic crosses
//! into C, calls the core, and maps the result to a `RAFT_ERR_*` code.
#![allow(non_camel_case_types, clippy::missing_safety_doc)]

pub mod compat;
pub mod config;
pub mod entry;
pub mod ext;
pub mod heap;
pub mod host;
pub mod log_impl;
pub mod node;
pub mod properties;
pub mod server;
pub mod types;

use std::ffi::c_int;
use std::panic::{catch_unwind, AssertUnwindSafe};

use crate::core;

/// Runs `f`, returning `on_panic` instead of unwinding into C.
pub(crate) fn guard<R>(on_panic: R, f: impl FnOnce() -> R) -> R {
    catch_unwind(AssertUnwindSafe(f)).unwrap_or(on_panic)
}

/// 0 for success, else the error's C code.
pub(crate) fn code(result: core::Result<()>) -> c_int {
    match result {
        Ok(()) => 0,
        Err(e) => e.code(),
    }
}

/// Converts a C truth value.
pub(crate) fn flag(value: c_int) -> bool {
    value != 0
}

#[cfg(test)]
mod tests {
    /// The committed header is what cbindgen makes from the current source.
    #[test]
    fn the_committed_header_is_up_to_date() {
        let fresh = include_str!(concat!(env!("OUT_DIR"), "/raft.h"));
        let committed = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/include/raft.h"))
            .expect("include/raft.h exists");
        assert!(fresh == committed, "include/raft.h is stale: run `make header` and commit the result");
    }
}
