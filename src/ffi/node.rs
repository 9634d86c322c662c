//! `raft_node_*`: accessors on a node handle. A NULL node gives 0 / NULL /
//! RAFT_NODE_ID_NONE and setters ignore it.

use std::ffi::{c_int, c_void};

use super::types::*;
use crate::core::Node;

/// # Safety
/// `node` must be NULL or a live node handle.
pub(crate) unsafe fn node_ref<'a>(node: *mut raft_node_t) -> Option<&'a Node> {
    // SAFETY: the caller guarantees a live node (the C contract); nodes are
    // only ever shared, and every field is a Cell.
    unsafe { (node as *const Node).as_ref() }
}

pub(crate) fn read<T>(node: *mut raft_node_t, none: T, f: impl FnOnce(&Node) -> T) -> T {
    // SAFETY: node handles from C are live (the C contract).
    unsafe { node_ref(node) }.map_or(none, f)
}

pub(crate) fn write(node: *mut raft_node_t, f: impl FnOnce(&Node)) {
    // SAFETY: node handles from C are live (the C contract).
    if let Some(n) = unsafe { node_ref(node) } {
        f(n)
    }
}

#[no_mangle]
pub extern "C" fn raft_node_get_id(me: *mut raft_node_t) -> raft_node_id_t {
    read(me, RAFT_NODE_ID_NONE, Node::id)
}

/// The leader's next index to send to this node.
#[no_mangle]
pub extern "C" fn raft_node_get_next_idx(node: *mut raft_node_t) -> raft_index_t {
    read(node, 0, Node::next_idx)
}

/// The highest index the leader knows this node stores.
#[no_mangle]
pub extern "C" fn raft_node_get_match_idx(me: *mut raft_node_t) -> raft_index_t {
    read(me, 0, Node::match_idx)
}

#[no_mangle]
pub extern "C" fn raft_node_get_udata(me: *mut raft_node_t) -> *mut c_void {
    read(me, std::ptr::null_mut(), Node::udata)
}

#[no_mangle]
pub extern "C" fn raft_node_set_udata(me: *mut raft_node_t, user_data: *mut c_void) {
    write(me, |n| n.set_udata(user_data))
}

/// Sets the next index (at least 1), e.g. after sending a snapshot.
#[no_mangle]
pub extern "C" fn raft_node_set_next_idx(me: *mut raft_node_t, idx: raft_index_t) {
    write(me, |n| n.set_next_idx(idx))
}

#[no_mangle]
pub extern "C" fn raft_node_set_voting(node: *mut raft_node_t, voting: c_int) {
    write(node, |n| n.set_voting(voting != 0))
}

#[no_mangle]
pub extern "C" fn raft_node_is_voting(me: *mut raft_node_t) -> c_int {
    read(me, 0, |n| n.is_voting() as c_int)
}

#[no_mangle]
pub extern "C" fn raft_node_has_sufficient_logs(me: *mut raft_node_t) -> c_int {
    read(me, 0, |n| n.has_sufficient_logs() as c_int)
}

/// 0 once a REMOVE_NODE entry for this node is in the log.
#[no_mangle]
pub extern "C" fn raft_node_is_active(me: *mut raft_node_t) -> c_int {
    read(me, 0, |n| n.is_active() as c_int)
}

#[no_mangle]
pub extern "C" fn raft_node_set_active(me: *mut raft_node_t, active: c_int) {
    write(me, |n| n.set_active(active != 0))
}

#[no_mangle]
pub extern "C" fn raft_node_is_voting_committed(me: *mut raft_node_t) -> c_int {
    read(me, 0, |n| n.is_voting_committed() as c_int)
}

#[no_mangle]
pub extern "C" fn raft_node_is_addition_committed(me: *mut raft_node_t) -> c_int {
    read(me, 0, |n| n.is_addition_committed() as c_int)
}

#[no_mangle]
pub extern "C" fn raft_node_set_voting_committed(me: *mut raft_node_t, voting: c_int) {
    write(me, |n| n.set_voting_committed(voting != 0))
}

#[no_mangle]
pub extern "C" fn raft_node_set_addition_committed(me: *mut raft_node_t, committed: c_int) {
    write(me, |n| n.set_addition_committed(committed != 0))
}
