//! Extensions beyond the original header (additions only; nothing of the
//! original's layout changes): the limits on terms and indexes.

use super::types::*;
use crate::core;

/// The largest term libraft accepts or reaches: 2^62 - 1. A term above it
/// (or below 0) in a message, on restore or in `raft_set_current_term` is
/// refused with an error, and an election that would need a larger term is
/// refused (RAFT_ERR_MISUSE), so terms never wrap.
pub const RAFT_TERM_MAX: raft_term_t = 4611686018427387903;

/// The largest log index libraft accepts: 2^62 - 1. An index above it (or
/// below 0) in a message, a snapshot or a restore is refused with an error.
pub const RAFT_INDEX_MAX: raft_index_t = 4611686018427387903;

// Written out for cbindgen; the core's limits are the ones enforced.
const _: () = assert!(RAFT_TERM_MAX == core::TERM_MAX && RAFT_INDEX_MAX == core::INDEX_MAX);
