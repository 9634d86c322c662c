//! `raft_node_*`: accessors on a node handle. A NULL node gives 0 / NULL /
//! RAFT_NODE_ID_NONE and setters ignore it.

use std::ffi::{c_int, c_void};

use super::types::*;
use crate::core::Node;

/// A node's user data (`raft_node_get_udata`): the application's pointer,
/// which the core keeps as the node's value and never reads.
#[derive(Clone, Copy, Debug)]
pub struct UserData(pub *mut c_void);

impl Default for UserData {
    /// Nodes a configuration entry creates start with NULL.
    fn default() -> Self {
        UserData(std::ptr::null_mut())
    }
}

/// A node as the C layer holds it: `raft_node_t` points to one.
pub type CNode = Node<UserData>;

/// # Safety
/// `node` must be NULL or a live node handle.
pub(crate) unsafe fn node_ref<'a>(node: *mut raft_node_t) -> Option<&'a CNode> {
    // SAFETY: the caller guarantees a live node (the C contract); nodes are
    // only ever shared, and every field is a Cell.
    unsafe { (node as *const CNode).as_ref() }
}

pub(crate) fn read<T>(node: *mut raft_node_t, none: T, f: impl FnOnce(&CNode) -> T) -> T {
    // SAFETY: node handles from C are live (the C contract).
    unsafe { node_ref(node) }.map_or(none, f)
}

pub(crate) fn write(node: *mut raft_node_t, f: impl FnOnce(&CNode)) {
    // SAFETY: node handles from C are live (the C contract).
    if let Some(n) = unsafe { node_ref(node) } {
        f(n)
    }
}

/// The id of a node.
/// @param me a node handle of a server (valid until the node is removed) or NULL
/// @return the node's id; RAFT_NODE_ID_NONE for NULL.
#[no_mangle]
pub unsafe extern "C" fn raft_node_get_id(me: *mut raft_node_t) -> raft_node_id_t {
    read(me, RAFT_NODE_ID_NONE, CNode::id)
}

/// The index of the next entry the leader will send to this node. Meaningful
/// on the leader only; other servers keep the value of their last leadership.
/// @param node a node handle or NULL
/// @return the next index (at least 1); 0 for NULL.
#[no_mangle]
pub unsafe extern "C" fn raft_node_get_next_idx(node: *mut raft_node_t) -> raft_index_t {
    read(node, 0, |n| n.progress().next_idx())
}

/// The highest index the leader knows this node stores (acknowledged by the
/// node, or, for the leader's own node, durable in its own log). Meaningful on
/// the leader only; reset to 0 when a server becomes leader.
/// @param me a node handle or NULL
/// @return the match index; 0 for NULL.
#[no_mangle]
pub unsafe extern "C" fn raft_node_get_match_idx(me: *mut raft_node_t) -> raft_index_t {
    read(me, 0, |n| n.progress().match_idx())
}

/// The user data attached to the node.
/// @param me a node handle or NULL
/// @return what `raft_add_node`, `raft_add_non_voting_node` or
/// `raft_node_set_udata` stored (NULL for nodes created by a configuration
/// entry until the application sets it); NULL for NULL.
#[no_mangle]
pub unsafe extern "C" fn raft_node_get_udata(me: *mut raft_node_t) -> *mut c_void {
    read(me, std::ptr::null_mut(), |n| n.data().0)
}

/// Attaches user data to the node, typically the application's connection to
/// that peer. The library never reads it. Call it from
/// `notify_membership_event` to equip nodes that configuration entries create.
/// @param me a node handle; NULL is ignored
/// @param user_data any pointer, owned by the application
#[no_mangle]
pub unsafe extern "C" fn raft_node_set_udata(me: *mut raft_node_t, user_data: *mut c_void) {
    write(me, |n| n.set_data(UserData(user_data)))
}

/// Sets the index of the next entry the leader sends to this node. Values
/// below 1 are raised to 1. For tests and tools: the library maintains it
/// itself.
/// @param me a node handle; NULL is ignored
/// @param idx the next index
#[no_mangle]
pub unsafe extern "C" fn raft_node_set_next_idx(me: *mut raft_node_t, idx: raft_index_t) {
    write(me, |n| n.progress().set_next_idx(idx))
}

/// Makes the node a voter (non-zero) or not (0) in this server's view only,
/// without a configuration entry. For restoring state and tests; a cluster
/// changes its voters with RAFT_LOGTYPE_ADD_NODE / RAFT_LOGTYPE_REMOVE_NODE
/// entries.
/// @param node a node handle; NULL is ignored
/// @param voting 0 or non-zero
#[no_mangle]
pub unsafe extern "C" fn raft_node_set_voting(node: *mut raft_node_t, voting: c_int) {
    write(node, |n| n.set_voting(voting != 0))
}

/// Whether the node votes (and counts in majorities while it is active).
/// @param me a node handle or NULL
/// @return 1 for a voting node, 0 otherwise and for NULL.
#[no_mangle]
pub unsafe extern "C" fn raft_node_is_voting(me: *mut raft_node_t) -> c_int {
    read(me, 0, |n| n.is_voting() as c_int)
}

/// Whether this non-voting node has been reported as caught up: set when the
/// `node_has_sufficient_logs` callback returned 0 for it, and for every voter
/// whose addition committed.
/// @param me a node handle or NULL
/// @return 1 or 0; 0 for NULL.
#[no_mangle]
pub unsafe extern "C" fn raft_node_has_sufficient_logs(me: *mut raft_node_t) -> c_int {
    read(me, 0, |n| n.has_sufficient_logs() as c_int)
}

/// Whether the node is part of the configuration: 0 from the moment a
/// RAFT_LOGTYPE_REMOVE_NODE entry naming it is appended (it is then sent no
/// messages and counts in no election or commit majority) until that entry
/// is popped, which makes it active again, or applied, which takes it out of
/// the node list (its handle is then no longer valid).
/// @param me a node handle or NULL
/// @return 1 or 0; 0 for NULL.
#[no_mangle]
pub unsafe extern "C" fn raft_node_is_active(me: *mut raft_node_t) -> c_int {
    read(me, 0, |n| n.is_active() as c_int)
}

/// Sets the active flag in this server's view only (see
/// `raft_node_is_active`). For restoring state and tests.
/// @param me a node handle; NULL is ignored
/// @param active 0 or non-zero
#[no_mangle]
pub unsafe extern "C" fn raft_node_set_active(me: *mut raft_node_t, active: c_int) {
    write(me, |n| n.set_active(active != 0))
}

/// Whether the node's voting status is committed: set when the
/// RAFT_LOGTYPE_ADD_NODE entry that made it a voter is applied, cleared when
/// its removal is applied, and set for every voter when a snapshot is loaded
/// or restored.
/// @param me a node handle or NULL
/// @return 1 or 0; 0 for NULL.
#[no_mangle]
pub unsafe extern "C" fn raft_node_is_voting_committed(me: *mut raft_node_t) -> c_int {
    read(me, 0, |n| n.is_voting_committed() as c_int)
}

/// Whether the entry that added the node has been applied (always true after a
/// snapshot is loaded or restored).
/// @param me a node handle or NULL
/// @return 1 or 0; 0 for NULL.
#[no_mangle]
pub unsafe extern "C" fn raft_node_is_addition_committed(me: *mut raft_node_t) -> c_int {
    read(me, 0, |n| n.is_addition_committed() as c_int)
}

/// Sets the "voting committed" flag (see `raft_node_is_voting_committed`).
/// For restoring state and tests.
/// @param me a node handle; NULL is ignored
/// @param voting 0 or non-zero
#[no_mangle]
pub unsafe extern "C" fn raft_node_set_voting_committed(me: *mut raft_node_t, voting: c_int) {
    write(me, |n| n.set_voting_committed(voting != 0))
}

/// Sets the "addition committed" flag (see `raft_node_is_addition_committed`).
/// For restoring state and tests: a program that adds nodes by hand at start
/// (not through log entries) may mark them committed.
/// @param me a node handle; NULL is ignored
/// @param committed 0 or non-zero
#[no_mangle]
pub unsafe extern "C" fn raft_node_set_addition_committed(me: *mut raft_node_t, committed: c_int) {
    write(me, |n| n.set_addition_committed(committed != 0))
}
