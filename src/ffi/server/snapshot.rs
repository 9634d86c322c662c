//! Taking, restoring and loading snapshots; restoring the log on restart.

use std::ffi::c_int;

use super::*;
use crate::ffi::types::*;

/// Starts taking a snapshot: applies everything committed, then fixes the
/// snapshot point at the last applied entry. Write the state machine as of
/// that entry (`raft_get_last_applied_idx`, `raft_get_last_applied_term`)
/// and the configuration (the nodes, voting or not), then call
/// `raft_end_snapshot`, or `raft_cancel_snapshot` on failure. Meanwhile
/// committed entries are not applied unless RAFT_CONFIG_NONBLOCKING_APPLY is
/// on, and elections do not start on this server.
/// @param me the server
/// @return 0; -1 when there is nothing to snapshot
/// (`raft_get_num_snapshottable_logs` is 0, as while the log holds at most
/// one entry) or nothing was applied since the last snapshot;
/// RAFT_ERR_SNAPSHOT_IN_PROGRESS when one is being taken; an `applylog`
/// error; RAFT_ERR_MISUSE for NULL.
#[no_mangle]
pub extern "C" fn raft_begin_snapshot(me: *mut raft_server_t) -> c_int {
    server_rc(me, |s| s.begin_snapshot())
}

/// Completes the snapshot begun with `raft_begin_snapshot`: the log is
/// compacted up to the snapshot point (oldest entries first, through the
/// log's `poll`), and the snapshot becomes the one sent to followers that
/// need compacted entries. Call it once the snapshot is durable.
/// @param me the server
/// @return 0; -1 when no snapshot is in progress, or when a newer snapshot
/// was loaded from the leader meanwhile (the one taken is obsolete);
/// a `poll` error; RAFT_ERR_MISUSE for NULL.
#[no_mangle]
pub extern "C" fn raft_end_snapshot(me: *mut raft_server_t) -> c_int {
    server_rc(me, |s| s.end_snapshot())
}

/// Abandons the snapshot begun with `raft_begin_snapshot`; the log and the
/// previous snapshot are untouched.
/// @param me the server
/// @return 0; -1 when no snapshot is in progress; RAFT_ERR_MISUSE for NULL.
#[no_mangle]
pub extern "C" fn raft_cancel_snapshot(me: *mut raft_server_t) -> c_int {
    server_rc(me, |s| s.cancel_snapshot())
}

/// Restart: tells a fresh server that its state machine was loaded from a
/// snapshot ending at `last_included_index`. Commit and applied indexes move
/// there, and the log continues after it. The current term becomes the
/// snapshot's term until `raft_restore_metadata` sets the persisted one, as
/// in the original library. Restart order: this (after adding the nodes the
/// snapshot records), then the log (`raft_restore_log` for a log that loaded
/// its entries itself), then `raft_restore_metadata`.
/// @param me the server
/// @param last_included_term term of the snapshot's last entry
/// @param last_included_index index of the snapshot's last entry
/// @return 0; RAFT_ERR_MISUSE for a negative term or index, once the server
/// has started (a term, a commit index, a snapshot or applied entries), and
/// for NULL; -1 for a term or index above RAFT_TERM_MAX / RAFT_INDEX_MAX.
#[no_mangle]
pub extern "C" fn raft_restore_snapshot(
    me: *mut raft_server_t,
    last_included_term: raft_term_t,
    last_included_index: raft_index_t,
) -> c_int {
    server_rc(me, |s| s.restore_snapshot(last_included_term, last_included_index))
}

/// Rebuilds the configuration on restart from the entries a log
/// implementation loaded itself (`raft_new_with_log` with a log that already
/// holds entries): every configuration entry after the snapshot takes effect
/// in order, as appending it would (nodes added, made voting or inactive;
/// the newest voting change is the pending one), without calling the log's
/// `append` nor its observers. Restart order: `raft_restore_snapshot` (if
/// there is a snapshot), then this, then `raft_restore_metadata`.
/// @return 0 on success; RAFT_ERR_MISUSE for a NULL server or once entries
/// past the snapshot have been applied; -1 when the log has no entry at an
/// index between its first and its current index.
#[no_mangle]
pub extern "C" fn raft_restore_log(me: *mut raft_server_t) -> c_int {
    server_rc(me, |s| s.restore_log())
}

/// Starts loading a snapshot received from the leader; call it from the
/// `load_snapshot` callback (a snapshot not loaded by the time that callback
/// returns counts as a failed load). Any snapshot newer than this server's
/// own is loaded, even one its log already covers. The log is emptied (or,
/// when it holds the snapshot's last entry, only compacted up to it, the
/// entries after it staying), the applied index moves to the snapshot (and
/// the commit index too, if it was behind), and every node but this
/// server's own is removed. Then load the state machine, re-add the
/// snapshot's nodes (`raft_add_node`, `raft_add_non_voting_node`) and call
/// `raft_end_load_snapshot`.
/// @param me the server
/// @param last_included_term term of the snapshot's last entry (positive)
/// @param last_included_index index of the snapshot's last entry (positive)
/// @return 0; RAFT_ERR_SNAPSHOT_ALREADY_LOADED for a snapshot not newer than
/// this server's own (its index at or below `raft_get_snapshot_last_idx`);
/// RAFT_ERR_MISUSE for a snapshot behind the last applied index (loading it
/// would move the state machine back), for values that are not positive or
/// above RAFT_TERM_MAX / RAFT_INDEX_MAX, and for NULL.
#[no_mangle]
pub extern "C" fn raft_begin_load_snapshot(
    me: *mut raft_server_t,
    last_included_term: raft_term_t,
    last_included_index: raft_index_t,
) -> c_int {
    server_rc(me, |s| s.begin_load_snapshot(last_included_term, last_included_index))
}

/// Completes loading a snapshot: every node's membership is marked committed
/// (the snapshot carries a committed configuration), then the configuration
/// entries the log kept after the snapshot take effect again on top of it.
/// @param me the server
/// @return 0; -1 when the log has no entry at an index between the
/// snapshot's and its current index; RAFT_ERR_MISUSE for NULL.
#[no_mangle]
pub extern "C" fn raft_end_load_snapshot(me: *mut raft_server_t) -> c_int {
    server_rc(me, |s| s.end_load_snapshot())
}

/// Sets the current snapshot's last index and term, nothing else (the log is
/// not touched). For tools and tests; a restarting program uses
/// `raft_restore_snapshot`.
/// @param me the server; NULL is ignored
/// @param term the term (ignored outside `0..=RAFT_TERM_MAX`)
/// @param idx the index (ignored outside `0..=RAFT_INDEX_MAX`)
#[no_mangle]
pub extern "C" fn raft_set_snapshot_metadata(me: *mut raft_server_t, term: raft_term_t, idx: raft_index_t) {
    with_server(me, (), |s| s.set_snapshot_metadata(term, idx))
}
