//! A member of the cluster as one server sees it, and the leader's progress
//! record for it.
//!
//! Nodes are shared (`Rc`) and every field is a `Cell`, because the C API
//! hands out stable node pointers that callbacks may read and write while
//! the server is working.
//!
//! Invariant (on a leader): `0 <= match_idx < next_idx`.

use std::cell::Cell;
use std::ffi::c_void;

use super::{Index, MsgId, NodeId};

#[derive(Debug)]
pub struct Node {
    id: NodeId,
    udata: Cell<*mut c_void>,
    next_idx: Cell<Index>,
    match_idx: Cell<Index>,
    voting: Cell<bool>,
    active: Cell<bool>,
    voted_for_me: Cell<bool>,
    has_sufficient_logs: Cell<bool>,
    voting_committed: Cell<bool>,
    addition_committed: Cell<bool>,
    /// Set when an ADD_NODE entry created this node, so popping it removes
    /// the node rather than leaving a stray non-voter.
    created_by_add_node: Cell<bool>,
    /// msg_id of the last appendentries sent to this node.
    next_msg_id: Cell<MsgId>,
    /// msg_id of the newest successful appendentries response.
    match_msg_id: Cell<MsgId>,
    /// On a follower: the highest msg_id heard from this node (its leader),
    /// as the original library keeps it (`raft_node_get_max_seen_msg_id`).
    max_seen_msg_id: Cell<MsgId>,
    /// On a leader: the highest of its msg_ids this node has answered in
    /// the current term (reads). Kept apart from `max_seen_msg_id`: the two
    /// count different servers' messages.
    acked_msg_id: Cell<MsgId>,
    /// Time (ms on the server's clock) of the node's last answer (check-quorum).
    last_ack_ms: Cell<i64>,
    snapshot_offset: Cell<u64>,
    /// Index of the snapshot being sent to this node, 0 if none.
    snapshot_idx: Cell<Index>,
    /// Offset of the final chunk once every chunk has gone out.
    snapshot_final_offset: Cell<Option<u64>>,
    /// Rejections for messages older than this are stale (sent before the
    /// last back-off), so pipelined rejections trigger one resend, not many.
    resync_msg_id: Cell<MsgId>,
}

impl Node {
    pub fn new(udata: *mut c_void, id: NodeId) -> Node {
        Node {
            id,
            udata: Cell::new(udata),
            next_idx: Cell::new(1),
            match_idx: Cell::new(0),
            voting: Cell::new(true),
            active: Cell::new(true),
            voted_for_me: Cell::new(false),
            has_sufficient_logs: Cell::new(false),
            voting_committed: Cell::new(false),
            addition_committed: Cell::new(false),
            created_by_add_node: Cell::new(false),
            next_msg_id: Cell::new(0),
            match_msg_id: Cell::new(0),
            max_seen_msg_id: Cell::new(0),
            acked_msg_id: Cell::new(0),
            last_ack_ms: Cell::new(0),
            snapshot_offset: Cell::new(0),
            snapshot_idx: Cell::new(0),
            snapshot_final_offset: Cell::new(None),
            resync_msg_id: Cell::new(0),
        }
    }

    pub fn id(&self) -> NodeId {
        self.id
    }
    pub fn udata(&self) -> *mut c_void {
        self.udata.get()
    }
    pub fn set_udata(&self, udata: *mut c_void) {
        self.udata.set(udata)
    }
    pub fn next_idx(&self) -> Index {
        self.next_idx.get()
    }
    /// Next index stays in `1..=INDEX_MAX + 1` (C may set anything).
    pub fn set_next_idx(&self, idx: Index) {
        self.next_idx.set(idx.clamp(1, super::INDEX_MAX + 1))
    }
    pub fn match_idx(&self) -> Index {
        self.match_idx.get()
    }
    /// Match index stays in `0..=INDEX_MAX` (C may set anything).
    pub fn set_match_idx(&self, idx: Index) {
        self.match_idx.set(idx.clamp(0, super::INDEX_MAX))
    }
    pub fn is_voting(&self) -> bool {
        self.voting.get()
    }
    pub fn set_voting(&self, voting: bool) {
        self.voting.set(voting)
    }
    pub fn is_active(&self) -> bool {
        self.active.get()
    }
    pub fn set_active(&self, active: bool) {
        self.active.set(active)
    }
    /// A voter counted in majorities: voting and still in the configuration.
    pub fn is_counted_voter(&self) -> bool {
        self.voting.get() && self.active.get()
    }
    pub fn has_vote_for_me(&self) -> bool {
        self.voted_for_me.get()
    }
    pub fn vote_for_me(&self, vote: bool) {
        self.voted_for_me.set(vote)
    }
    pub fn has_sufficient_logs(&self) -> bool {
        self.has_sufficient_logs.get()
    }
    pub fn set_has_sufficient_logs(&self, value: bool) {
        self.has_sufficient_logs.set(value)
    }
    pub fn is_voting_committed(&self) -> bool {
        self.voting_committed.get()
    }
    pub fn set_voting_committed(&self, value: bool) {
        self.voting_committed.set(value)
    }
    pub fn is_addition_committed(&self) -> bool {
        self.addition_committed.get()
    }
    pub fn set_addition_committed(&self, value: bool) {
        self.addition_committed.set(value)
    }
    pub(crate) fn created_by_add_node(&self) -> bool {
        self.created_by_add_node.get()
    }
    pub(crate) fn set_created_by_add_node(&self, value: bool) {
        self.created_by_add_node.set(value)
    }
    pub fn next_msg_id(&self) -> MsgId {
        self.next_msg_id.get()
    }
    pub fn set_next_msg_id(&self, id: MsgId) {
        self.next_msg_id.set(id)
    }
    pub fn match_msg_id(&self) -> MsgId {
        self.match_msg_id.get()
    }
    pub fn set_match_msg_id(&self, id: MsgId) {
        self.match_msg_id.set(id)
    }
    pub fn max_seen_msg_id(&self) -> MsgId {
        self.max_seen_msg_id.get()
    }
    pub fn set_max_seen_msg_id(&self, id: MsgId) {
        self.max_seen_msg_id.set(id)
    }
    /// Raises the highest msg_id seen from this node; never lowers it.
    pub fn update_max_seen_msg_id(&self, id: MsgId) {
        if id > self.max_seen_msg_id.get() {
            self.max_seen_msg_id.set(id)
        }
    }
    pub(crate) fn acked_msg_id(&self) -> MsgId {
        self.acked_msg_id.get()
    }
    /// Raises the highest of this leader's msg_ids the node answered.
    pub(crate) fn note_acked_msg_id(&self, id: MsgId) {
        if id > self.acked_msg_id.get() {
            self.acked_msg_id.set(id)
        }
    }
    pub(crate) fn last_ack_ms(&self) -> i64 {
        self.last_ack_ms.get()
    }
    pub(crate) fn set_last_ack_ms(&self, ms: i64) {
        self.last_ack_ms.set(ms)
    }
    pub fn snapshot_offset(&self) -> u64 {
        self.snapshot_offset.get()
    }
    pub fn set_snapshot_offset(&self, offset: u64) {
        self.snapshot_offset.set(offset)
    }
    pub(crate) fn snapshot_idx(&self) -> Index {
        self.snapshot_idx.get()
    }
    pub(crate) fn set_snapshot_idx(&self, idx: Index) {
        self.snapshot_idx.set(idx)
    }

    pub(crate) fn snapshot_final_offset(&self) -> Option<u64> {
        self.snapshot_final_offset.get()
    }
    pub(crate) fn set_snapshot_final_offset(&self, offset: Option<u64>) {
        self.snapshot_final_offset.set(offset)
    }
    pub(crate) fn resync_msg_id(&self) -> MsgId {
        self.resync_msg_id.get()
    }
    pub(crate) fn set_resync_msg_id(&self, id: MsgId) {
        self.resync_msg_id.set(id)
    }

    /// Forgets the per-election and per-leadership flags (votes, progress).
    pub fn clear_flags(&self) {
        self.voted_for_me.set(false);
        self.has_sufficient_logs.set(false);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_new_node_is_an_active_voter_that_expects_index_one() {
        let n = Node::new(std::ptr::null_mut(), 3);
        assert_eq!(n.id(), 3);
        assert!(n.is_voting() && n.is_active());
        assert_eq!((n.next_idx(), n.match_idx()), (1, 0));
        assert!(!n.is_voting_committed() && !n.is_addition_committed());
    }

    #[test]
    fn next_index_never_drops_below_one() {
        let n = Node::new(std::ptr::null_mut(), 1);
        n.set_next_idx(-5);
        assert_eq!(n.next_idx(), 1);
    }

    #[test]
    fn max_seen_msg_id_only_rises() {
        let n = Node::new(std::ptr::null_mut(), 1);
        n.update_max_seen_msg_id(7);
        n.update_max_seen_msg_id(3);
        assert_eq!(n.max_seen_msg_id(), 7);
    }
}
