//! The `raft_get_*` / `raft_is_*` accessors. Each returns a neutral value
//! (0, NULL, RAFT_NODE_ID_NONE) for a NULL server.

use std::ffi::{c_char, c_int, c_void};
use std::ptr;

use super::entry::EntryPtr;
use super::server::{node_ptr, with_server};
use super::types::*;
use crate::core::Role;

/// This server's own node id (the node added with `is_self` set). Like every
/// getter on a server, it may be called at any time, also from callbacks.
/// @param me the server
/// @return the id; RAFT_NODE_ID_NONE if the server has no node of its own
/// (yet, or any more after its removal was applied), and for NULL.
#[no_mangle]
pub unsafe extern "C" fn raft_get_nodeid(me: *mut raft_server_t) -> raft_node_id_t {
    with_server(me, RAFT_NODE_ID_NONE, |s| s.my_id())
}

/// This server's own node.
/// @param me the server
/// @return the node handle, valid until the node is removed; NULL if the
/// server has no node of its own, and for NULL.
#[no_mangle]
pub unsafe extern "C" fn raft_get_my_node(me: *mut raft_server_t) -> *mut raft_node_t {
    with_server(me, ptr::null_mut(), |s| node_ptr(s.my_node()))
}

/// Number of nodes in the server's node list, itself included, active or not:
/// a node whose RAFT_LOGTYPE_REMOVE_NODE entry is appended stays in the list,
/// inactive, until that entry is applied.
/// @param me the server
/// @return the count; 0 for NULL.
#[no_mangle]
pub unsafe extern "C" fn raft_get_num_nodes(me: *mut raft_server_t) -> c_int {
    with_server(me, 0, |s| s.num_nodes() as c_int)
}

/// Number of voters that count in majorities: voting nodes that are active
/// (no RAFT_LOGTYPE_REMOVE_NODE entry for them in the log).
/// @param me the server
/// @return the count; 0 for NULL.
#[no_mangle]
pub unsafe extern "C" fn raft_get_num_voting_nodes(me: *mut raft_server_t) -> c_int {
    with_server(me, 0, |s| s.num_voting_nodes() as c_int)
}

/// Number of entries the log holds now (compacted entries excluded).
/// @param me the server
/// @return the count; 0 for NULL.
#[no_mangle]
pub unsafe extern "C" fn raft_get_log_count(me: *mut raft_server_t) -> raft_index_t {
    with_server(me, 0, |s| s.log_count())
}

/// The current term.
/// @param me the server
/// @return the term; 0 for NULL.
#[no_mangle]
pub unsafe extern "C" fn raft_get_current_term(me: *mut raft_server_t) -> raft_term_t {
    with_server(me, 0, |s| s.current_term())
}

/// Index of the newest entry of the log; the snapshot's last index when the
/// log holds no entry after it; 0 for an empty server.
/// @param me the server
/// @return the index; 0 for NULL.
#[no_mangle]
pub unsafe extern "C" fn raft_get_current_idx(me: *mut raft_server_t) -> raft_index_t {
    with_server(me, 0, |s| s.current_idx())
}

/// The commit index: entries up to it are stored by a majority and will not
/// change. Entries up to it are handed to `applylog` in order.
/// @param me the server
/// @return the index; 0 for NULL.
#[no_mangle]
pub unsafe extern "C" fn raft_get_commit_idx(me: *mut raft_server_t) -> raft_index_t {
    with_server(me, 0, |s| s.commit_idx())
}

fn role_is(me: *mut raft_server_t, role: Role) -> c_int {
    with_server(me, 0, |s| (s.role() == role) as c_int)
}

/// @param me the server
/// @return 1 if the server is a follower, else 0 (and for NULL).
#[no_mangle]
pub unsafe extern "C" fn raft_is_follower(me: *mut raft_server_t) -> c_int {
    role_is(me, Role::Follower)
}

/// @param me the server
/// @return 1 if the server is the leader, else 0 (and for NULL).
#[no_mangle]
pub unsafe extern "C" fn raft_is_leader(me: *mut raft_server_t) -> c_int {
    role_is(me, Role::Leader)
}

/// @param me the server
/// @return 1 if the server is a pre-candidate (running a pre-vote round),
/// else 0 (and for NULL).
#[no_mangle]
pub unsafe extern "C" fn raft_is_precandidate(me: *mut raft_server_t) -> c_int {
    role_is(me, Role::PreCandidate)
}

/// @param me the server
/// @return 1 if the server is a candidate (a real election in its term), else
/// 0 (and for NULL).
#[no_mangle]
pub unsafe extern "C" fn raft_is_candidate(me: *mut raft_server_t) -> c_int {
    role_is(me, Role::Candidate)
}

/// Milliseconds counted since the election timer (on a leader: the heartbeat
/// timer) was last reset, as advanced by `raft_periodic`.
/// @param me the server
/// @return the milliseconds; 0 for NULL.
#[no_mangle]
pub unsafe extern "C" fn raft_get_timeout_elapsed(me: *mut raft_server_t) -> raft_time_t {
    with_server(me, 0, |s| s.timeout_elapsed())
}

/// Index of the last entry handed to `applylog` (or covered by a loaded or
/// restored snapshot).
/// @param me the server
/// @return the index; 0 for NULL.
#[no_mangle]
pub unsafe extern "C" fn raft_get_last_applied_idx(me: *mut raft_server_t) -> raft_index_t {
    with_server(me, 0, |s| s.last_applied_idx())
}

/// Term of the last applied entry (an addition of later releases of the
/// original library).
/// @param me the server
/// @return the term; 0 before anything was applied, and for NULL.
#[no_mangle]
pub unsafe extern "C" fn raft_get_last_applied_term(me: *mut raft_server_t) -> raft_term_t {
    with_server(me, 0, |s| s.last_applied_term())
}

/// The entry at an index, held for the caller.
/// @param me the server
/// @param idx index of an entry the log holds (first entry index to current
/// index)
/// @return the entry with a reference the caller must give back with
/// `raft_entry_release`; NULL if the log does not hold `idx` (compacted, not
/// yet appended, or not positive) and for NULL.
#[no_mangle]
pub unsafe extern "C" fn raft_get_entry_from_idx(me: *mut raft_server_t, idx: raft_index_t) -> *mut raft_entry_t {
    with_server(me, ptr::null_mut(), |s| s.entry_at(idx).map_or(ptr::null_mut(), EntryPtr::into_raw))
}

/// All entries from an index to the end of the log, held for the caller.
/// @param me the server
/// @param idx index of the first entry wanted
/// @param n_etys receives the number of entries in the array (0 when none)
/// @return an array from `raft_malloc` of `*n_etys` entries, each with a
/// reference: release them (`raft_entry_release_list`) and free the array
/// with `raft_free`. NULL when there are none, when out of memory (nothing
/// is then held), and when `n_etys` is NULL. The log is asked in batches
/// (of at most 4096 entries), so a custom log whose `current_idx` claims
/// more entries than it hands out costs no matching reservation.
#[no_mangle]
pub unsafe extern "C" fn raft_get_entries_from_idx(
    me: *mut raft_server_t,
    idx: raft_index_t,
    n_etys: *mut raft_index_t,
) -> *mut *mut raft_entry_t {
    if n_etys.is_null() {
        // Without the count the caller could not release the entries.
        return ptr::null_mut();
    }
    let mut out = Vec::new();
    // Out of memory (the list or the array) gives NULL, nothing held.
    let n = with_server(me, 0, |s| s.entries_from(idx, &mut out).unwrap_or(0));
    let array = if n == 0 {
        ptr::null_mut()
    } else {
        super::heap::calloc_bytes(n * std::mem::size_of::<*mut raft_entry_t>()) as *mut *mut raft_entry_t
    };
    let written = if array.is_null() { 0 } else { n };
    for (i, e) in out.into_iter().enumerate() {
        if i < written {
            // SAFETY: the array has room for n pointers; each keeps its reference.
            unsafe { *array.add(i) = e.into_raw() };
        }
    }
    // SAFETY: n_etys is NULL or the caller's out-pointer.
    if let Some(n_out) = unsafe { n_etys.as_mut() } {
        *n_out = written as raft_index_t;
    }
    array
}

/// The node with a given id.
/// @param me the server
/// @param id a node id
/// @return the node handle, valid until the node is removed; NULL if no node
/// in the list has that id, and for NULL.
#[no_mangle]
pub unsafe extern "C" fn raft_get_node(me: *mut raft_server_t, id: raft_node_id_t) -> *mut raft_node_t {
    with_server(me, ptr::null_mut(), |s| node_ptr(s.node(id)))
}

/// The node at a position of the node list, for iterating over all nodes:
/// `for (i = 0; i < raft_get_num_nodes(r); i++) raft_get_node_from_idx(r, i)`.
/// The order is that of addition.
/// @param me the server
/// @param idx 0-based position
/// @return the node handle; NULL when out of range (negative included) and
/// for NULL.
#[no_mangle]
pub unsafe extern "C" fn raft_get_node_from_idx(me: *mut raft_server_t, idx: raft_index_t) -> *mut raft_node_t {
    if idx < 0 {
        return ptr::null_mut();
    }
    with_server(me, ptr::null_mut(), |s| node_ptr(s.node_at(idx as usize)))
}

/// Votes for this server, counted as the original library counts them: the
/// other voting nodes that granted their vote in this election, plus one if
/// this server is a voting node (whether or not it has campaigned). The
/// election itself counts only voters of the configuration (active ones).
/// @param me the server
/// @return the count; 0 for NULL.
#[no_mangle]
pub unsafe extern "C" fn raft_get_nvotes_for_me(me: *mut raft_server_t) -> c_int {
    with_server(me, 0, |s| s.nvotes_for_me_reported() as c_int)
}

/// The node this server voted for in the current term.
/// @param me the server
/// @return the node id; RAFT_NODE_ID_NONE when it has not voted, and for NULL.
#[no_mangle]
pub unsafe extern "C" fn raft_get_voted_for(me: *mut raft_server_t) -> raft_node_id_t {
    with_server(me, RAFT_NODE_ID_NONE, |s| s.voted_for())
}

/// The leader this server knows of in the current term: itself on a leader,
/// the sender of the last accepted appendentries or snapshot on a follower.
/// @param me the server
/// @return the leader's id; RAFT_NODE_ID_NONE when unknown (during elections,
/// after a newer term was seen, once the leader's node has left this
/// server's node list) and for NULL.
#[no_mangle]
pub unsafe extern "C" fn raft_get_leader_id(me: *mut raft_server_t) -> raft_node_id_t {
    with_server(me, RAFT_NODE_ID_NONE, |s| s.leader_id())
}

/// The leader's node.
/// @param me the server
/// @return the node handle; NULL if the leader is unknown or not in this
/// server's node list, and for NULL.
#[no_mangle]
pub unsafe extern "C" fn raft_get_leader_node(me: *mut raft_server_t) -> *mut raft_node_t {
    with_server(me, ptr::null_mut(), |s| node_ptr(s.leader_node()))
}

/// The user data given to `raft_set_callbacks`.
/// @param me the server
/// @return the pointer; NULL for NULL.
#[no_mangle]
pub unsafe extern "C" fn raft_get_udata(me: *mut raft_server_t) -> *mut c_void {
    super::server::user_data_of(me)
}

/// The server's role.
/// @param me the server
/// @return a `raft_state_e` value (RAFT_STATE_FOLLOWER, ...); 0 for NULL.
#[no_mangle]
pub unsafe extern "C" fn raft_get_state(me: *mut raft_server_t) -> c_int {
    with_server(me, 0, |s| s.role() as c_int)
}

/// The server's role as text, for logs.
/// @param me the server
/// @return "follower", "pre-candidate", "candidate" or "leader"; "unknown" for
/// NULL. A static string: do not free it.
#[no_mangle]
pub unsafe extern "C" fn raft_get_state_str(me: *mut raft_server_t) -> *const c_char {
    let name: &'static [u8] = with_server(me, b"unknown\0", |s| match s.role() {
        Role::Follower => b"follower\0",
        Role::PreCandidate => b"pre-candidate\0",
        Role::Candidate => b"candidate\0",
        Role::Leader => b"leader\0",
    });
    name.as_ptr() as *const c_char
}

/// Term of the newest entry of the log (the snapshot's term when the log holds
/// no entry after it).
/// @param me the server
/// @return the term; 0 for an empty server and for NULL.
#[no_mangle]
pub unsafe extern "C" fn raft_get_last_log_term(me: *mut raft_server_t) -> raft_term_t {
    with_server(me, 0, |s| s.last_log_term())
}

/// Whether a snapshot is being taken: between `raft_begin_snapshot` and
/// `raft_end_snapshot` / `raft_cancel_snapshot`.
/// @param me the server
/// @return 1 or 0; 0 for NULL.
#[no_mangle]
pub unsafe extern "C" fn raft_snapshot_is_in_progress(me: *mut raft_server_t) -> c_int {
    with_server(me, 0, |s| s.snapshot_in_progress() as c_int)
}

/// Whether committed entries may be applied now: RAFT_CONFIG_DISABLE_APPLY is
/// off, and no snapshot is being taken unless RAFT_CONFIG_NONBLOCKING_APPLY is
/// on.
/// @param me the server
/// @return 1 or 0; 0 for NULL.
#[no_mangle]
pub unsafe extern "C" fn raft_is_apply_allowed(me: *mut raft_server_t) -> c_int {
    with_server(me, 0, |s| s.is_apply_allowed() as c_int)
}

/// The last applied entry, held for the caller.
/// @param me the server
/// @return the entry with a reference to give back with `raft_entry_release`;
/// NULL if the log no longer holds it (compacted), before anything was
/// applied, and for NULL.
#[no_mangle]
pub unsafe extern "C" fn raft_get_last_applied_entry(me: *mut raft_server_t) -> *mut raft_entry_t {
    with_server(me, ptr::null_mut(), |s| s.last_applied_entry().map_or(ptr::null_mut(), EntryPtr::into_raw))
}

/// Index of the oldest entry the log holds: the snapshot's last index + 1, or
/// 1 without a snapshot. Equal to `raft_get_current_idx() + 1` when the log is
/// empty.
/// @param me the server
/// @return the index; 0 for NULL.
#[no_mangle]
pub unsafe extern "C" fn raft_get_first_entry_idx(me: *mut raft_server_t) -> raft_index_t {
    with_server(me, 0, |s| s.first_entry_idx())
}

/// Last index covered by the current snapshot (taken, loaded or restored).
/// @param me the server
/// @return the index; 0 without a snapshot and for NULL.
#[no_mangle]
pub unsafe extern "C" fn raft_get_snapshot_last_idx(me: *mut raft_server_t) -> raft_index_t {
    with_server(me, 0, |s| s.snapshot_last_idx())
}

/// Term of the last entry covered by the current snapshot.
/// @param me the server
/// @return the term; 0 without a snapshot and for NULL.
#[no_mangle]
pub unsafe extern "C" fn raft_get_snapshot_last_term(me: *mut raft_server_t) -> raft_term_t {
    with_server(me, 0, |s| s.snapshot_last_term())
}

/// Number of committed entries still in the log: what a snapshot taken now
/// could compact (after applying them); 0 while the log holds one entry or
/// none. A program can compare it with a threshold to decide when to
/// snapshot.
/// @param me the server
/// @return the count; 0 for NULL.
#[no_mangle]
pub unsafe extern "C" fn raft_get_num_snapshottable_logs(me: *mut raft_server_t) -> raft_index_t {
    with_server(me, 0, |s| s.num_snapshottable_logs())
}

/// Whether a voting configuration change (RAFT_LOGTYPE_ADD_NODE or
/// RAFT_LOGTYPE_REMOVE_NODE) is in the log but not yet committed; another one
/// is refused with RAFT_ERR_ONE_VOTING_CHANGE_ONLY meanwhile.
/// @param me the server
/// @return 1 or 0; 0 for NULL.
#[no_mangle]
pub unsafe extern "C" fn raft_voting_change_is_in_progress(me: *mut raft_server_t) -> c_int {
    with_server(me, 0, |s| s.voting_change_in_progress() as c_int)
}

/// The server's log handle.
/// @param me the server
/// @return for a server made with `raft_new` (or with
/// `raft_log_internal_impl`), the built-in log as a `raft_log_t *`, usable with
/// the `raft_log_*` functions of raft_compat.h (for example
/// `raft_log_set_callbacks` to observe it); for a server made with
/// `raft_new_with_log`, the handle its `init` returned. NULL for NULL. The
/// handle belongs to the server.
#[no_mangle]
pub unsafe extern "C" fn raft_get_log(me: *mut raft_server_t) -> *mut c_void {
    with_server(me, ptr::null_mut(), |s| s.host().log.handle())
}

/// A short description of a return code, for messages.
/// @param err 0, -1 or a `raft_error_e` value
/// @return a static string ("success", "not leader", ...; "unknown error" for
/// other values). Do not free it.
#[no_mangle]
pub extern "C" fn raft_get_error_str(err: c_int) -> *const c_char {
    let text: &'static [u8] = match err {
        0 => b"success\0",
        -1 => b"failed\0",
        -2 => b"not leader\0",
        -3 => b"one voting change only\0",
        -4 => b"shutdown\0",
        -5 => b"out of memory\0",
        -6 => b"snapshot in progress\0",
        -7 => b"snapshot already loaded\0",
        -8 => b"invalid node id\0",
        -9 => b"leader transfer in progress\0",
        -10 => b"done\0",
        -11 => b"stale term\0",
        -12 => b"not found\0",
        -13 => b"misuse\0",
        _ => b"unknown error\0",
    };
    text.as_ptr() as *const c_char
}
