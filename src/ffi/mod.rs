//! The C boundary: every `extern "C"` function of `raft.h` and the compat
//! list, and the only place with raw pointers and `unsafe`. The core knows
//! nothing of C: this layer turns handles into references, C codes into
//! [`RaftError`]s and back (`ErrorCode`, `check`), the C callbacks into
//! the core's `Host` (`host.rs`), and holds the C user data (`node.rs`'s
//! `UserData`, `host.rs`'s `ChunkBytes`).
//!
//! # Which exports are `unsafe`
//!
//! One rule: an export is `unsafe extern "C"` when its soundness rests on
//! the caller, that is when it dereferences, frees or calls through a
//! pointer argument (a server, node, entry, log or store handle, a
//! message, an output buffer, a callback table, a heap hook) that the
//! caller must keep valid, or NULL where the function allows it. It is a
//! plain `extern "C"` only when no argument is ever dereferenced: ids,
//! codes and sizes, and pointers it only keeps and hands back
//! (`raft_node_new`'s user data). The C declarations are the same either
//! way. The crate-private helpers that take a handle (`with_server`,
//! `node::read`, the store's `with_state_or`, ...) are called only by
//! exports, with the export's own arguments, and rest on its contract.
//!
//! # Panics
//!
//! No panic unwinds into C. Every export that reaches the core, a log, the
//! store or a callback runs under a `catch_unwind` boundary: `guard`,
//! or the server helpers in `server/mod.rs` (which also poison the server
//! after a panic), or the store's helpers. The few that do not (a node's
//! field read or write, an entry's reference count, an error string, the
//! majority arithmetic) contain no code that panics. Each export checks
//! its pointers for NULL, calls the core, and maps the result to a
//! `RAFT_ERR_*` code.
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
pub mod store;
pub mod types;
pub mod wire;

use std::ffi::c_int;
use std::panic::{catch_unwind, AssertUnwindSafe};

use crate::core::{self, RaftError};

/// Runs `f`, returning `on_panic` instead of unwinding into C.
pub(crate) fn guard<R>(on_panic: R, f: impl FnOnce() -> R) -> R {
    catch_unwind(AssertUnwindSafe(f)).unwrap_or(on_panic)
}

/// 0 for success, else the error's C code (looked up out of line: success
/// is then one test, not a jump through the table of codes).
#[inline(always)]
pub(crate) fn code(result: core::Result<()>) -> c_int {
    match result {
        Ok(()) => 0,
        Err(e) => error_code(e),
    }
}

#[cold]
#[inline(never)]
fn error_code(e: RaftError) -> c_int {
    e.code()
}

/// The C code of an error: `raft_error_e` (numbered as there), -1, or a
/// callback's own code.
pub(crate) trait ErrorCode {
    fn code(self) -> c_int;
}

impl ErrorCode for RaftError {
    fn code(self) -> c_int {
        match self {
            RaftError::Failed => -1,
            RaftError::NotLeader => -2,
            RaftError::OneVotingChangeOnly => -3,
            RaftError::Shutdown => -4,
            RaftError::NoMem => -5,
            RaftError::SnapshotInProgress => -6,
            RaftError::SnapshotAlreadyLoaded => -7,
            RaftError::InvalidNodeId => -8,
            RaftError::LeaderTransferInProgress => -9,
            RaftError::Done => -10,
            RaftError::StaleTerm => -11,
            RaftError::NotFound => -12,
            RaftError::Misuse => -13,
            RaftError::Code(c) => c,
        }
    }
}

/// The error a callback's non-zero return code means.
#[cold]
#[inline(never)]
pub(crate) fn error_from_code(code: c_int) -> RaftError {
    match code {
        -1 => RaftError::Failed,
        -2 => RaftError::NotLeader,
        -3 => RaftError::OneVotingChangeOnly,
        -4 => RaftError::Shutdown,
        -5 => RaftError::NoMem,
        -6 => RaftError::SnapshotInProgress,
        -7 => RaftError::SnapshotAlreadyLoaded,
        -8 => RaftError::InvalidNodeId,
        -9 => RaftError::LeaderTransferInProgress,
        -10 => RaftError::Done,
        -11 => RaftError::StaleTerm,
        -12 => RaftError::NotFound,
        -13 => RaftError::Misuse,
        c => RaftError::Code(c),
    }
}

/// A callback's C return code as a result: 0 is success.
#[inline(always)]
pub(crate) fn check(code: c_int) -> core::Result<()> {
    if code == 0 {
        Ok(())
    } else {
        Err(error_from_code(code))
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

    /// Declared as the original header declares them: message and callback
    /// structs and the enums are typedefs of untagged types, `raft_entry`
    /// and `raft_log_impl` keep their tags, each type name is declared once
    /// and `raft_config` lies inside the include guard.
    #[test]
    fn the_header_declares_types_as_the_original_does() {
        let h = include_str!(concat!(env!("OUT_DIR"), "/raft.h"));
        for name in [
            "raft_entry_resp_t",
            "raft_snapshot_chunk_t",
            "raft_requestvote_req_t",
            "raft_requestvote_resp_t",
            "raft_snapshot_req_t",
            "raft_snapshot_resp_t",
            "raft_appendentries_req_t",
            "raft_appendentries_resp_t",
            "raft_cbs_t",
            "raft_log_cbs_t",
        ] {
            assert!(!h.contains(&format!("struct {name}")), "{name} is tagged");
            assert_eq!(h.matches(&format!("}} {name};")).count(), 1, "{name} is declared once");
        }
        for name in ["raft_error_e", "raft_membership_e", "raft_state_e", "raft_config_e", "raft_logtype_e"] {
            assert!(!h.contains(&format!("enum {name}")), "{name} is tagged");
        }
        assert!(h.contains("typedef struct raft_entry {") && h.contains("} raft_entry_t;"));
        assert!(h.contains("typedef struct raft_log_impl {") && h.contains("} raft_log_impl_t;"));
        assert!(!h.contains("} raft_log_impl;"));
        let guard_end = h.rfind("#endif /* RAFT_H_ */").expect("include guard");
        let config = h.find("int raft_config(raft_server_t *me").expect("raft_config");
        assert!(h.find("#define RAFT_H_").expect("guard") < config && config < guard_end);
        assert!(h[guard_end..].trim() == "#endif /* RAFT_H_ */");
    }
}
