//! The C types of `raft.h`, laid out exactly as the contract header.
//!
//! cbindgen generates `include/raft.h` from these files. `raft_entry_t` (its
//! flexible array member) and the opaque handle typedefs are written by hand
//! in `cbindgen.toml`; the scalar typedefs come from `raft_types.h`. By
//! concern: error codes, roles and entry types (`enums`); entries and
//! messages (`messages`); the application's callbacks (`callbacks`); the
//! log implementation table and the built-in log's observers (`log`).
#![allow(non_camel_case_types)]

mod callbacks;
mod enums;
mod log;
mod messages;

pub use callbacks::*;
pub use enums::*;
pub use log::*;
pub use messages::*;

use std::ffi::{c_int, c_long, c_longlong, c_ulong, c_ulonglong};

pub type raft_entry_id_t = c_int;
pub type raft_term_t = c_long;
pub type raft_index_t = c_long;
pub type raft_size_t = c_ulonglong;
pub type raft_node_id_t = c_int;
pub type raft_msg_id_t = c_ulong;
pub type raft_time_t = c_longlong;

/// The opaque server handle (`raft_server_t`).
pub struct raft_server {
    _private: [u8; 0],
}
pub type raft_server_t = raft_server;

/// The opaque node handle (`raft_node_t`).
pub struct raft_node {
    _private: [u8; 0],
}
pub type raft_node_t = raft_node;

/// The built-in log's handle (`raft_log_t`), declared in `raft_compat.h`.
pub type raft_log_t = super::log_impl::raft_log;

// The contract's layout (x86_64 and other LP64 targets), checked at compile
// time; `abi-check` holds the generated header to the same facts.
const _: () = {
    use std::mem::{align_of, offset_of, size_of};
    assert!(size_of::<raft_entry_t>() == 40 && align_of::<raft_entry_t>() == 8);
    assert!(offset_of!(raft_entry_t, id) == 8);
    assert!(offset_of!(raft_entry_t, type_) == 12);
    assert!(offset_of!(raft_entry_t, refs) == 14);
    assert!(offset_of!(raft_entry_t, user_data) == 16);
    assert!(offset_of!(raft_entry_t, free_func) == 24);
    assert!(offset_of!(raft_entry_t, data_len) == 32);
    assert!(offset_of!(raft_entry_t, data) == 36);
    assert!(size_of::<raft_entry_resp_t>() == 24);
    assert!(size_of::<raft_snapshot_chunk_t>() == 32);
    assert!(size_of::<raft_requestvote_req_t>() == 40);
    assert!(size_of::<raft_requestvote_resp_t>() == 32);
    assert!(size_of::<raft_snapshot_req_t>() == 72);
    assert!(offset_of!(raft_snapshot_req_t, chunk) == 40);
    assert!(size_of::<raft_snapshot_resp_t>() == 32);
    assert!(size_of::<raft_appendentries_req_t>() == 64);
    assert!(offset_of!(raft_appendentries_req_t, entries) == 56);
    assert!(size_of::<raft_appendentries_resp_t>() == 32);
    assert!(size_of::<raft_cbs_t>() == 19 * 8);
    assert!(size_of::<raft_log_impl_t>() == 12 * 8);
    assert!(size_of::<raft_log_cbs_t>() == 4 * 8);
    assert!(size_of::<raft_membership_e>() == 4 && size_of::<raft_state_e>() == 4);
};
