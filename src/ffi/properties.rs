//! The `raft_get_*` / `raft_is_*` accessors. Each returns a neutral value
//! (0, NULL, RAFT_NODE_ID_NONE) for a NULL server.

use std::ffi::{c_char, c_int, c_void};
use std::ptr;

use super::entry::EntryPtr;
use super::server::{node_ptr, with_server};
use super::types::*;
use crate::core::Role;

/// This server's node id, or RAFT_NODE_ID_NONE if it has no node of its own.
#[no_mangle]
pub extern "C" fn raft_get_nodeid(me: *mut raft_server_t) -> raft_node_id_t {
    with_server(me, RAFT_NODE_ID_NONE, |s| s.my_id())
}

#[no_mangle]
pub extern "C" fn raft_get_my_node(me: *mut raft_server_t) -> *mut raft_node_t {
    with_server(me, ptr::null_mut(), |s| node_ptr(s.my_node()))
}

#[no_mangle]
pub extern "C" fn raft_get_num_nodes(me: *mut raft_server_t) -> c_int {
    with_server(me, 0, |s| s.num_nodes() as c_int)
}

/// Voting nodes that are part of the configuration.
#[no_mangle]
pub extern "C" fn raft_get_num_voting_nodes(me: *mut raft_server_t) -> c_int {
    with_server(me, 0, |s| s.num_voting_nodes() as c_int)
}

/// Entries held in the log (compacted ones excluded).
#[no_mangle]
pub extern "C" fn raft_get_log_count(me: *mut raft_server_t) -> raft_index_t {
    with_server(me, 0, |s| s.log_count())
}

#[no_mangle]
pub extern "C" fn raft_get_current_term(me: *mut raft_server_t) -> raft_term_t {
    with_server(me, 0, |s| s.current_term())
}

/// Index of the newest entry (the snapshot's last index if the log is empty).
#[no_mangle]
pub extern "C" fn raft_get_current_idx(me: *mut raft_server_t) -> raft_index_t {
    with_server(me, 0, |s| s.current_idx())
}

#[no_mangle]
pub extern "C" fn raft_get_commit_idx(me: *mut raft_server_t) -> raft_index_t {
    with_server(me, 0, |s| s.commit_idx())
}

fn role_is(me: *mut raft_server_t, role: Role) -> c_int {
    with_server(me, 0, |s| (s.role() == role) as c_int)
}

#[no_mangle]
pub extern "C" fn raft_is_follower(me: *mut raft_server_t) -> c_int {
    role_is(me, Role::Follower)
}

#[no_mangle]
pub extern "C" fn raft_is_leader(me: *mut raft_server_t) -> c_int {
    role_is(me, Role::Leader)
}

#[no_mangle]
pub extern "C" fn raft_is_precandidate(me: *mut raft_server_t) -> c_int {
    role_is(me, Role::PreCandidate)
}

#[no_mangle]
pub extern "C" fn raft_is_candidate(me: *mut raft_server_t) -> c_int {
    role_is(me, Role::Candidate)
}

/// Milliseconds since the election timer (or, on a leader, the heartbeat
/// timer) was last reset.
#[no_mangle]
pub extern "C" fn raft_get_timeout_elapsed(me: *mut raft_server_t) -> raft_time_t {
    with_server(me, 0, |s| s.timeout_elapsed())
}

#[no_mangle]
pub extern "C" fn raft_get_last_applied_idx(me: *mut raft_server_t) -> raft_index_t {
    with_server(me, 0, |s| s.last_applied_idx())
}

/// Term of the last applied entry (0 before any). An addition of later
/// releases of the seed library.
#[no_mangle]
pub extern "C" fn raft_get_last_applied_term(me: *mut raft_server_t) -> raft_term_t {
    with_server(me, 0, |s| s.last_applied_term())
}

/// The entry at `idx`, with a reference the caller must release; NULL if
/// the log does not hold it.
#[no_mangle]
pub extern "C" fn raft_get_entry_from_idx(me: *mut raft_server_t, idx: raft_index_t) -> *mut raft_entry_t {
    with_server(me, ptr::null_mut(), |s| s.entry_at(idx).map_or(ptr::null_mut(), EntryPtr::into_raw))
}

/// The entries from `idx` to the end, in an array from `raft_malloc`; the
/// caller releases the entries (`raft_entry_release_list`) and frees the
/// array with `raft_free`. NULL (and `*n_etys` = 0) when there are none;
/// NULL when `n_etys` is NULL.
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
    let n = with_server(me, 0, |s| s.entries_from(idx, &mut out));
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

/// The node with this id, or NULL.
#[no_mangle]
pub extern "C" fn raft_get_node(me: *mut raft_server_t, id: raft_node_id_t) -> *mut raft_node_t {
    with_server(me, ptr::null_mut(), |s| node_ptr(s.node(id)))
}

/// The node at position `idx` of the node list (0-based), or NULL.
#[no_mangle]
pub extern "C" fn raft_get_node_from_idx(me: *mut raft_server_t, idx: raft_index_t) -> *mut raft_node_t {
    if idx < 0 {
        return ptr::null_mut();
    }
    with_server(me, ptr::null_mut(), |s| node_ptr(s.node_at(idx as usize)))
}

/// Votes for this server, counted as the original library counts them: the
/// other voting nodes that granted their vote in this election, plus one if
/// this server is a voting node (whether or not it has campaigned). The
/// election itself counts only voters of the configuration (active ones).
#[no_mangle]
pub extern "C" fn raft_get_nvotes_for_me(me: *mut raft_server_t) -> c_int {
    with_server(me, 0, |s| s.nvotes_for_me_reported() as c_int)
}

#[no_mangle]
pub extern "C" fn raft_get_voted_for(me: *mut raft_server_t) -> raft_node_id_t {
    with_server(me, RAFT_NODE_ID_NONE, |s| s.voted_for())
}

#[no_mangle]
pub extern "C" fn raft_get_leader_id(me: *mut raft_server_t) -> raft_node_id_t {
    with_server(me, RAFT_NODE_ID_NONE, |s| s.leader_id())
}

/// The leader's node, or NULL if unknown or not in the configuration.
#[no_mangle]
pub extern "C" fn raft_get_leader_node(me: *mut raft_server_t) -> *mut raft_node_t {
    with_server(me, ptr::null_mut(), |s| node_ptr(s.leader_node()))
}

/// The user data given to `raft_set_callbacks`.
#[no_mangle]
pub extern "C" fn raft_get_udata(me: *mut raft_server_t) -> *mut c_void {
    super::server::user_data_of(me)
}

/// The role as a `raft_state_e` value (0 for a NULL server).
#[no_mangle]
pub extern "C" fn raft_get_state(me: *mut raft_server_t) -> c_int {
    with_server(me, 0, |s| s.role() as c_int)
}

/// "follower", "pre-candidate", "candidate" or "leader" ("unknown" for a
/// NULL server). A static string.
#[no_mangle]
pub extern "C" fn raft_get_state_str(me: *mut raft_server_t) -> *const c_char {
    let name: &'static [u8] = with_server(me, b"unknown\0", |s| match s.role() {
        Role::Follower => b"follower\0",
        Role::PreCandidate => b"pre-candidate\0",
        Role::Candidate => b"candidate\0",
        Role::Leader => b"leader\0",
    });
    name.as_ptr() as *const c_char
}

/// Term of the newest entry (the snapshot's term if the log is empty).
#[no_mangle]
pub extern "C" fn raft_get_last_log_term(me: *mut raft_server_t) -> raft_term_t {
    with_server(me, 0, |s| s.last_log_term())
}

#[no_mangle]
pub extern "C" fn raft_snapshot_is_in_progress(me: *mut raft_server_t) -> c_int {
    with_server(me, 0, |s| s.snapshot_in_progress() as c_int)
}

/// 1 when committed entries may be applied now: not disabled, and no
/// snapshot in progress unless RAFT_CONFIG_NONBLOCKING_APPLY is set.
#[no_mangle]
pub extern "C" fn raft_is_apply_allowed(me: *mut raft_server_t) -> c_int {
    with_server(me, 0, |s| s.is_apply_allowed() as c_int)
}

/// The last applied entry, with a reference the caller must release.
#[no_mangle]
pub extern "C" fn raft_get_last_applied_entry(me: *mut raft_server_t) -> *mut raft_entry_t {
    with_server(me, ptr::null_mut(), |s| s.last_applied_entry().map_or(ptr::null_mut(), EntryPtr::into_raw))
}

/// Index of the first entry the log holds (snapshot's last index + 1).
#[no_mangle]
pub extern "C" fn raft_get_first_entry_idx(me: *mut raft_server_t) -> raft_index_t {
    with_server(me, 0, |s| s.first_entry_idx())
}

#[no_mangle]
pub extern "C" fn raft_get_snapshot_last_idx(me: *mut raft_server_t) -> raft_index_t {
    with_server(me, 0, |s| s.snapshot_last_idx())
}

#[no_mangle]
pub extern "C" fn raft_get_snapshot_last_term(me: *mut raft_server_t) -> raft_term_t {
    with_server(me, 0, |s| s.snapshot_last_term())
}

/// Committed entries still in the log, which a snapshot would compact.
#[no_mangle]
pub extern "C" fn raft_get_num_snapshottable_logs(me: *mut raft_server_t) -> raft_index_t {
    with_server(me, 0, |s| s.num_snapshottable_logs())
}

/// 1 while a voting configuration change is appended but not committed.
#[no_mangle]
pub extern "C" fn raft_voting_change_is_in_progress(me: *mut raft_server_t) -> c_int {
    with_server(me, 0, |s| s.voting_change_in_progress() as c_int)
}

/// The log handle: a `raft_log_t *` for the built-in log (usable with the
/// compat `raft_log_*` functions), else the handle the custom log's `init`
/// returned.
#[no_mangle]
pub extern "C" fn raft_get_log(me: *mut raft_server_t) -> *mut c_void {
    with_server(me, ptr::null_mut(), |s| s.host().log.handle())
}

/// A static description of an error code.
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
