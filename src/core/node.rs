//! A member of the cluster as one server sees it: its identity, its
//! membership flags and its vote; the leader's record of its replication
//! is its [`Progress`].
//!
//! Nodes are shared (`Rc`) and every field is a `Cell`, because the C API
//! hands out stable node pointers that callbacks may read and write while
//! the server is working.

use std::cell::Cell;
use std::sync::atomic::{AtomicU64, Ordering};

use super::progress::Progress;
use super::{MsgId, NodeId};

/// How many times, in this process, a node's voting or active flag was set
/// or a match index was set from outside the protocol: a leader's count of
/// the voters holding an index (`CommitVotes`) taken before that is taken
/// again (`recount_after_outside_edits`), so that a count left too low
/// does not hold the commit index back. The flags' setters count
/// themselves (the protocol's own changes count the voters afresh anyway,
/// and are rare); a match index set from C is counted by its setter
/// (`raft_node_set_match_idx`), the protocol's own being counted as it
/// rises (`match_raised`) and counted afresh where it falls (`back_off`).
static OUTSIDE_EDITS: AtomicU64 = AtomicU64::new(0);

pub fn note_outside_edit() {
    OUTSIDE_EDITS.fetch_add(1, Ordering::Relaxed);
}

pub(crate) fn outside_edits() -> u64 {
    OUTSIDE_EDITS.load(Ordering::Relaxed)
}

/// `D` is the application's value for the node, chosen by the host
/// ([`Host::NodeData`](super::Host::NodeData)); the core only keeps it.
#[derive(Debug)]
pub struct Node<D: Copy> {
    id: NodeId,
    data: Cell<D>,
    voting: Cell<bool>,
    active: Cell<bool>,
    voted_for_me: Cell<bool>,
    has_sufficient_logs: Cell<bool>,
    voting_committed: Cell<bool>,
    addition_committed: Cell<bool>,
    /// Set when an ADD_NODE entry created this node, so popping it removes
    /// the node rather than leaving a stray non-voter.
    created_by_add_node: Cell<bool>,
    /// On a follower: the highest msg_id heard from this node (its leader),
    /// as the original library keeps it (`raft_node_get_max_seen_msg_id`).
    max_seen_msg_id: Cell<MsgId>,
    /// On a leader: what it knows of this node's log and messages.
    progress: Progress,
}

impl<D: Copy> Node<D> {
    pub fn new(data: D, id: NodeId) -> Node<D> {
        Node {
            id,
            data: Cell::new(data),
            voting: Cell::new(true),
            active: Cell::new(true),
            voted_for_me: Cell::new(false),
            has_sufficient_logs: Cell::new(false),
            voting_committed: Cell::new(false),
            addition_committed: Cell::new(false),
            created_by_add_node: Cell::new(false),
            max_seen_msg_id: Cell::new(0),
            progress: Progress::default(),
        }
    }

    pub fn id(&self) -> NodeId {
        self.id
    }
    /// The application's value for this node.
    pub fn data(&self) -> D {
        self.data.get()
    }
    pub fn set_data(&self, data: D) {
        self.data.set(data)
    }
    /// The leader's progress record for this node.
    #[inline(always)]
    pub fn progress(&self) -> &Progress {
        &self.progress
    }
    pub fn is_voting(&self) -> bool {
        self.voting.get()
    }
    pub fn set_voting(&self, voting: bool) {
        self.voting.set(voting);
        note_outside_edit();
    }
    pub fn is_active(&self) -> bool {
        self.active.get()
    }
    pub fn set_active(&self, active: bool) {
        self.active.set(active);
        note_outside_edit();
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
        let n = Node::new((), 3);
        assert_eq!(n.id(), 3);
        assert!(n.is_voting() && n.is_active());
        assert_eq!((n.progress().next_idx(), n.progress().match_idx()), (1, 0));
        assert!(!n.is_voting_committed() && !n.is_addition_committed());
    }

    #[test]
    fn max_seen_msg_id_only_rises() {
        let n = Node::new((), 1);
        n.update_max_seen_msg_id(7);
        n.update_max_seen_msg_id(3);
        assert_eq!(n.max_seen_msg_id(), 7);
    }
}
