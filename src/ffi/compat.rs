//! The compatibility symbols: functions the original C library declared in
//! private headers, which existing test suites
//! and simulators call. Declared in `include/raft_compat.h`.

use crate::ffi::ErrorCode;
use std::ffi::{c_int, c_void};
use std::ptr;
use std::rc::Rc;

use super::node::{read, write};
use super::server::{node_of, server_rc, with_server};
use super::types::*;
use super::node::{CNode, UserData};
use crate::core::{quorum, RaftError, Role};

/// Applies the entry after the last applied one: 0 if applied, -1 if there
/// is nothing to apply (or when called from a callback of a running apply,
/// which goes on by itself), else the applylog callback's error.
#[no_mangle]
pub unsafe extern "C" fn raft_apply_entry(me: *mut raft_server_t) -> c_int {
    with_server(me, -1, |s| match s.apply_one() {
        Ok(true) => 0,
        Ok(false) => -1,
        Err(e) => e.code(),
    })
}

/// Starts a real election (term + 1, persisted) without pre-vote.
#[no_mangle]
pub unsafe extern "C" fn raft_become_candidate(me: *mut raft_server_t) -> c_int {
    server_rc(me, |s| s.become_candidate())
}

/// Starts a pre-vote round.
#[no_mangle]
pub unsafe extern "C" fn raft_become_precandidate(me: *mut raft_server_t) -> c_int {
    server_rc(me, |s| s.become_precandidate())
}

/// Starts an election, with pre-vote unless `skip_precandidate`.
/// RAFT_ERR_NOMEM when out of memory (a sole voter becoming leader needs
/// its no-op entry): the server stays a candidate and campaigns again at
/// its next election timeout.
#[no_mangle]
pub unsafe extern "C" fn raft_election_start(me: *mut raft_server_t, skip_precandidate: c_int) -> c_int {
    server_rc(me, |s| s.election_start(skip_precandidate != 0))
}

/// Applies committed entries and answers ready read requests.
#[no_mangle]
pub unsafe extern "C" fn raft_exec_operations(me: *mut raft_server_t) -> c_int {
    server_rc(me, |s| s.exec_operations())
}

/// The msg_id of the last message this server sent.
#[no_mangle]
pub unsafe extern "C" fn raft_get_msg_id(me: *mut raft_server_t) -> raft_msg_id_t {
    with_server(me, 0, |s| s.msg_id() as raft_msg_id_t)
}

#[no_mangle]
pub unsafe extern "C" fn raft_node_get_max_seen_msg_id(me: *mut raft_node_t) -> raft_msg_id_t {
    read(me, 0, |n| n.max_seen_msg_id() as raft_msg_id_t)
}

#[no_mangle]
pub unsafe extern "C" fn raft_node_get_next_msgid(me: *mut raft_node_t) -> raft_msg_id_t {
    read(me, 0, |n| n.progress().next_msg_id() as raft_msg_id_t)
}

/// A node outside any server; free it with `raft_node_free`. NULL when out
/// of memory.
#[no_mangle]
pub extern "C" fn raft_node_new(udata: *mut c_void, id: raft_node_id_t) -> *mut raft_node_t {
    super::guard(ptr::null_mut(), || {
        let reserve = |size: usize, make: &mut dyn FnMut()| super::heap::with_reserved(size, make).is_some();
        crate::core::alloc::try_rc(reserve, CNode::new(UserData(udata), id))
            .map_or(ptr::null_mut(), |node| Rc::into_raw(node) as *mut raft_node_t)
    })
}

/// Frees a node from `raft_node_new` (never one a server owns).
#[no_mangle]
pub unsafe extern "C" fn raft_node_free(me: *mut raft_node_t) {
    if !me.is_null() {
        // SAFETY: the node came from Rc::into_raw in raft_node_new.
        drop(unsafe { Rc::from_raw(me as *const CNode) })
    }
}

#[no_mangle]
pub unsafe extern "C" fn raft_node_set_match_idx(node: *mut raft_node_t, idx: raft_index_t) {
    write(node, |n| {
        n.progress().set_match_idx(idx);
        crate::core::note_outside_edit();
    })
}

/// Sets the msg_id of the node's newest answer; as in the original, it
/// then counts as the node's acknowledgement of that message for reads. A
/// read it completes is answered by the next answer the leader receives, or
/// by a `raft_periodic` once the read has waited since the previous one (so
/// within two calls of `raft_periodic`).
#[no_mangle]
pub unsafe extern "C" fn raft_node_set_match_msgid(me: *mut raft_node_t, msgid: raft_msg_id_t) {
    write(me, |n| {
        n.progress().set_match_msg_id(msgid);
        n.progress().note_acked_msg_id(msgid);
    })
}

#[no_mangle]
pub unsafe extern "C" fn raft_node_set_next_msgid(me: *mut raft_node_t, msgid: raft_msg_id_t) {
    write(me, |n| n.progress().set_next_msg_id(msgid))
}

#[no_mangle]
pub unsafe extern "C" fn raft_node_get_match_msgid(me: *mut raft_node_t) -> raft_msg_id_t {
    read(me, 0, |n| n.progress().match_msg_id() as raft_msg_id_t)
}

#[no_mangle]
pub unsafe extern "C" fn raft_node_update_max_seen_msg_id(me: *mut raft_node_t, msg_id: raft_msg_id_t) {
    write(me, |n| n.update_max_seen_msg_id(msg_id))
}

#[no_mangle]
pub unsafe extern "C" fn raft_node_get_snapshot_offset(me: *mut raft_node_t) -> raft_size_t {
    read(me, 0, |n| n.progress().snapshot_offset())
}

#[no_mangle]
pub unsafe extern "C" fn raft_node_set_snapshot_offset(me: *mut raft_node_t, snapshot_offset: raft_size_t) {
    write(me, |n| n.progress().set_snapshot_offset(snapshot_offset))
}

/// Forgets the node's vote for this server and its sufficient-logs flag.
#[no_mangle]
pub unsafe extern "C" fn raft_node_clear_flags(me: *mut raft_node_t) {
    write(me, CNode::clear_flags)
}

#[no_mangle]
pub unsafe extern "C" fn raft_node_vote_for_me(me: *mut raft_node_t, vote: c_int) {
    write(me, |n| n.vote_for_me(vote != 0))
}

#[no_mangle]
pub unsafe extern "C" fn raft_node_has_vote_for_me(me: *mut raft_node_t) -> c_int {
    read(me, 0, |n| n.has_vote_for_me() as c_int)
}

#[no_mangle]
pub unsafe extern "C" fn raft_node_set_has_sufficient_logs(me: *mut raft_node_t, has_sufficient_log: c_int) {
    write(me, |n| n.set_has_sufficient_logs(has_sufficient_log != 0))
}

/// Sends the leader's transfer outcome and ends the transfer.
#[no_mangle]
pub unsafe extern "C" fn raft_reset_transfer_leader(me: *mut raft_server_t, timed_out: c_int) {
    with_server(me, (), |s| s.reset_transfer_leader(timed_out != 0))
}

/// One appendentries message to `node` (a snapshot if it needs one).
/// -1 for a node that is not this server's.
#[no_mangle]
pub unsafe extern "C" fn raft_send_appendentries(me: *mut raft_server_t, node: *mut raft_node_t) -> c_int {
    server_rc(me, |s| match node_of(s, node) {
        Some(node) => s.send_appendentries(&node),
        None => Err(RaftError::Failed),
    })
}

/// A heartbeat (or entries) to every other node.
#[no_mangle]
pub unsafe extern "C" fn raft_send_appendentries_all(me: *mut raft_server_t) -> c_int {
    server_rc(me, |s| s.send_appendentries_all())
}

/// A vote request (pre-vote when pre-candidate) to `node`.
#[no_mangle]
pub unsafe extern "C" fn raft_send_requestvote(me: *mut raft_server_t, node: *mut raft_node_t) -> c_int {
    server_rc(me, |s| match node_of(s, node) {
        Some(node) => s.send_requestvote(&node),
        None => Err(RaftError::Failed),
    })
}

#[no_mangle]
pub unsafe extern "C" fn raft_set_last_applied_idx(me: *mut raft_server_t, idx: raft_index_t) {
    with_server(me, (), |s| s.set_last_applied_idx(idx))
}

/// Sets the role directly (a `raft_state_e` value; others are ignored).
#[no_mangle]
pub unsafe extern "C" fn raft_set_state(me: *mut raft_server_t, state: c_int) {
    let role = match state {
        1 => Role::Follower,
        2 => Role::PreCandidate,
        3 => Role::Candidate,
        4 => Role::Leader,
        _ => return,
    };
    with_server(me, (), |s| s.set_state(role))
}

/// 1 if `nvotes` is a majority of `nnodes`.
#[no_mangle]
pub extern "C" fn raft_votes_is_majority(nnodes: c_int, nvotes: c_int) -> c_int {
    if nnodes < 0 || nvotes < 0 {
        return 0;
    }
    quorum::votes_is_majority(nnodes as usize, nvotes as usize) as c_int
}

/// Removes `idx` and later entries, undoing their configuration changes.
/// RAFT_ERR_SHUTDOWN if that would remove a committed entry;
/// RAFT_ERR_NOMEM when out of memory (nothing is removed).
#[no_mangle]
pub unsafe extern "C" fn raft_delete_entry_from_idx(me: *mut raft_server_t, idx: raft_index_t) -> c_int {
    server_rc(me, |s| s.delete_entries_from(idx))
}

#[no_mangle]
pub unsafe extern "C" fn raft_is_single_node_voting_cluster(me: *mut raft_server_t) -> c_int {
    with_server(me, 0, |s| s.is_single_voter() as c_int)
}

#[no_mangle]
pub unsafe extern "C" fn raft_randomize_election_timeout(me: *mut raft_server_t) {
    with_server(me, (), |s| s.randomize_election_timeout())
}

/// Records that a majority has acknowledged message `id` now (for
/// check-quorum and reads).
#[no_mangle]
pub unsafe extern "C" fn raft_update_quorum_meta(me: *mut raft_server_t, id: raft_msg_id_t) {
    with_server(me, (), |s| s.update_quorum_meta(id))
}
