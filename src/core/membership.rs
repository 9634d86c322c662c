//! Cluster membership: the node list, single-server configuration changes
//! carried by log entries (thesis §4.1), and their undo when popped.
//!
//! A change takes effect when its entry is appended. Removal takes two
//! steps, as in the original library: appending a REMOVE_NODE entry makes
//! the node inactive (it votes in nothing, counts in no quorum and is sent
//! nothing) but leaves it in the node list, where `applylog` for that entry
//! still finds it (RedisRaft tells it to shut down); it leaves the list,
//! with a notification, once that entry has been applied. Popping the entry
//! first makes the node active again. A leader removing itself goes on
//! leading until the change commits (thesis §4.2.2).

use std::rc::Rc;

use super::server::trace;
use super::{
    alloc, entry_type, EntryHandle, Host, Index, MembershipEvent, Node, NodeId, RaftError, Result, Role, Server,
    NODE_ID_NONE,
};

impl<H: Host> Server<H> {
    pub fn my_node(&self) -> Option<Rc<Node<H::NodeData>>> {
        self.me.borrow().clone()
    }

    pub fn my_id(&self) -> NodeId {
        self.me.borrow().as_ref().map_or(NODE_ID_NONE, |n| n.id())
    }

    pub(crate) fn is_me(&self, node: &Node<H::NodeData>) -> bool {
        self.me.borrow().as_ref().is_some_and(|me| std::ptr::eq(&**me, node))
    }

    pub fn node(&self, id: NodeId) -> Option<Rc<Node<H::NodeData>>> {
        self.nodes.borrow().iter().find(|n| n.id() == id).cloned()
    }

    /// The node at position `i` of the node list (for iterating without
    /// holding a borrow across callbacks).
    pub fn node_at(&self, i: usize) -> Option<Rc<Node<H::NodeData>>> {
        self.nodes.borrow().get(i).cloned()
    }

    /// Calls `f` on every node, in order, holding no borrow of the node list
    /// while `f` runs (it may call back into the host, which may add or
    /// remove nodes).
    pub(crate) fn for_each_node(&self, mut f: impl FnMut(&Rc<Node<H::NodeData>>)) {
        let mut i = 0;
        while let Some(node) = self.node_at(i) {
            f(&node);
            i += 1;
        }
    }

    /// The node at address `node`, if it is one of this server's nodes
    /// (pointers from C may name a node of another server or one already
    /// removed; only addresses are compared, so a stale one is never read).
    ///
    /// The node after the one found last time is looked at first: a leader
    /// hears its followers' answers in turn, mostly in the order it sent to
    /// them, so the answer's node is usually found at once rather than
    /// after half the list (at 51 nodes, batches of 1: 12% fewer library
    /// instructions per entry, 25 nodes 6%).
    pub fn node_at_address(&self, node: *const Node<H::NodeData>) -> Option<Rc<Node<H::NodeData>>> {
        let nodes = self.nodes.borrow();
        let next = self.address_hint.get().wrapping_add(1);
        let at = match nodes.get(next) {
            Some(n) if Rc::as_ptr(n) == node => next,
            _ => nodes.iter().position(|n| Rc::as_ptr(n) == node)?,
        };
        self.address_hint.set(at);
        Some(nodes[at].clone())
    }

    /// True when `node` is one of this server's nodes (pointers from C may
    /// name a node of another server or one already removed).
    pub fn owns_node(&self, node: &Node<H::NodeData>) -> bool {
        self.nodes.borrow().iter().any(|n| std::ptr::eq(&**n, node))
    }

    pub fn num_nodes(&self) -> usize {
        self.nodes.borrow().len()
    }

    /// Voting nodes that are part of the configuration.
    pub fn num_voting_nodes(&self) -> usize {
        self.nodes.borrow().iter().filter(|n| n.is_counted_voter()).count()
    }

    /// True when this server is the only voter of its configuration.
    pub fn is_single_voter(&self) -> bool {
        // Asked on every tick and flush: stops at the first other voter.
        self.me.borrow().as_ref().is_some_and(|me| me.is_counted_voter()) && !self.has_other_voters()
    }

    /// True when a voter other than this server is in the configuration.
    pub(crate) fn has_other_voters(&self) -> bool {
        self.nodes.borrow().iter().any(|n| n.is_counted_voter() && !self.is_me(n))
    }

    /// A voting change whose entry is not yet committed.
    pub fn voting_change_in_progress(&self) -> bool {
        self.voting_cfg_change_log_idx.get() > self.commit_idx.get()
    }

    /// `raft_add_node`: adds a voting node, or turns an existing non-voting
    /// node into a voter. `None` if a voting node with that id exists, for
    /// a negative id, and for a second "self" (this server has its node).
    /// (The last two were accepted by the original library.)
    pub fn add_node(&self, data: H::NodeData, id: NodeId, is_self: bool) -> Option<Rc<Node<H::NodeData>>> {
        self.add_node_internal(None, data, id, is_self)
    }

    /// `raft_add_non_voting_node`: `None` if any node with that id exists,
    /// for a negative id and for a second "self".
    pub fn add_non_voting_node(&self, data: H::NodeData, id: NodeId, is_self: bool) -> Option<Rc<Node<H::NodeData>>> {
        if self.node(id).is_some() {
            return None;
        }
        if is_self && self.me.borrow().is_some() {
            return None;
        }
        self.insert_node(None, data, id, is_self, false)
    }

    fn add_node_internal(
        &self,
        entry: Option<&H::Entry>,
        data: H::NodeData,
        id: NodeId,
        is_self: bool,
    ) -> Option<Rc<Node<H::NodeData>>> {
        if let Some(node) = self.node(id) {
            if node.is_voting() {
                return None;
            }
            if is_self && !self.is_me(&node) && self.me.borrow().is_some() {
                return None;
            }
            node.set_voting(true);
            self.recount_commit_votes();
            return Some(node);
        }
        if is_self && self.me.borrow().is_some() {
            return None;
        }
        self.insert_node(entry, data, id, is_self, true)
    }

    fn insert_node(
        &self,
        entry: Option<&H::Entry>,
        data: H::NodeData,
        id: NodeId,
        is_self: bool,
        voting: bool,
    ) -> Option<Rc<Node<H::NodeData>>> {
        if id < 0 {
            // -1 is "none"; no node has another negative id.
            return None;
        }
        // Both allocations before any change: out of memory adds nothing.
        alloc::reserve(&mut self.nodes.borrow_mut(), 1).ok()?;
        let node = self.new_node(data, id)?;
        node.set_voting(voting);
        node.progress().set_next_idx(self.current_idx() + 1);
        node.progress().set_last_ack_ms(self.now_ms.get());
        self.nodes.borrow_mut().push(node.clone());
        self.recount_commit_votes();
        if is_self {
            *self.me.borrow_mut() = Some(node.clone());
        }
        trace!(self, id, "added node {} ({})", id, if voting { "voting" } else { "non-voting" });
        self.host.notify_membership_event(&node, entry, MembershipEvent::Add);
        Some(node)
    }

    /// A fresh node: the spare one if `prepare_cfg_change` left one, else a
    /// new allocation; `None` when out of memory.
    fn new_node(&self, data: H::NodeData, id: NodeId) -> Option<Rc<Node<H::NodeData>>> {
        let spare = self.spare_nodes.borrow_mut().pop();
        if let Some(mut spare) = spare {
            // Nothing but the pool holds a spare.
            if let Some(node) = Rc::get_mut(&mut spare) {
                *node = Node::new(data, id);
                return Some(spare);
            }
        }
        alloc::try_rc(|size, make| self.host.reserved(size, make), Node::new(data, id))
    }

    /// Makes sure a configuration entry about to be appended can take
    /// effect without allocating: room for one more node in the list and a
    /// spare node. `NoMem` (before anything changed) when out of memory.
    pub(crate) fn prepare_cfg_change(&self) -> Result<()> {
        alloc::reserve(&mut self.nodes.borrow_mut(), 1)?;
        self.reserve_spare_nodes(1)
    }

    /// At least `n` spare nodes (made now if need be; `NoMem` when out of
    /// memory), so that the next `n` nodes added need no allocation.
    /// Loading a snapshot makes one for every node the list holds: the
    /// application adds them back after `begin_load_snapshot`.
    pub(crate) fn reserve_spare_nodes(&self, n: usize) -> Result<()> {
        let have = self.spare_nodes.borrow().len();
        if have >= n {
            return Ok(());
        }
        alloc::reserve(&mut self.spare_nodes.borrow_mut(), n - have)?;
        for _ in have..n {
            let node = Node::new(H::NodeData::default(), NODE_ID_NONE);
            let spare = alloc::try_rc(|size, make| self.host.reserved(size, make), node).ok_or(RaftError::NoMem)?;
            self.spare_nodes.borrow_mut().push(spare);
        }
        Ok(())
    }

    /// `raft_remove_node`: notifies, then drops the node. A node pointer that
    /// is not one of this server's nodes is ignored. The notification names
    /// no entry, whatever the cause, as in the original library.
    pub fn remove_node(&self, node: &Rc<Node<H::NodeData>>) {
        if !self.owns_node(node) {
            return;
        }
        self.host.notify_membership_event(node, None, MembershipEvent::Remove);
        self.nodes.borrow_mut().retain(|n| !Rc::ptr_eq(n, node));
        self.recount_commit_votes();
        let was_me = self.me.borrow().as_ref().is_some_and(|me| Rc::ptr_eq(me, node));
        if was_me {
            *self.me.borrow_mut() = None;
        }
        if self.leader_id.get() == node.id() {
            self.leader_id.set(NODE_ID_NONE);
        }
        trace!(self, node.id(), "removed node {}", node.id());
    }

    /// The node a configuration entry names, through the host. A negative
    /// id names no node: the entry changes nothing (a leader refuses such
    /// an entry from a client; one from another leader is kept, inert).
    fn cfg_change_node_id(&self, entry: &H::Entry, idx: Index) -> Option<NodeId> {
        self.host.get_node_id(entry, idx).filter(|&id| id >= 0)
    }

    /// Lets an appended configuration entry take effect.
    pub fn handle_append_cfg_change(&self, entry: &H::Entry, idx: Index) {
        if !super::is_cfg_change(entry.entry_type()) {
            return;
        }
        let Some(id) = self.cfg_change_node_id(entry, idx) else { return };
        self.recount_commit_votes();
        let is_self = id == self.my_id();
        let node = self.node(id);
        match entry.entry_type() {
            entry_type::ADD_NODE => match node {
                Some(node) => {
                    node.set_active(true);
                    node.set_voting(true);
                }
                None => {
                    if let Some(node) = self.insert_node(Some(entry), H::NodeData::default(), id, is_self, true) {
                        node.set_created_by_add_node(true);
                    }
                }
            },
            entry_type::ADD_NONVOTING_NODE => match node {
                Some(node) => node.set_active(true),
                None => {
                    self.insert_node(Some(entry), H::NodeData::default(), id, is_self, false);
                }
            },
            entry_type::REMOVE_NODE => {
                if let Some(node) = node {
                    node.set_active(false);
                }
            }
            _ => {}
        }
    }

    /// Undoes a configuration entry that is being popped from the log.
    pub(crate) fn handle_remove_cfg_change(&self, entry: &H::Entry, idx: Index) {
        let Some(id) = self.cfg_change_node_id(entry, idx) else { return };
        self.recount_commit_votes();
        let Some(node) = self.node(id) else { return };
        match entry.entry_type() {
            entry_type::ADD_NODE => {
                if node.created_by_add_node() {
                    self.remove_node(&node);
                } else {
                    node.set_voting(false);
                }
            }
            entry_type::ADD_NONVOTING_NODE => self.remove_node(&node),
            entry_type::REMOVE_NODE => node.set_active(true),
            _ => {}
        }
    }

    /// Marks a configuration change committed once its entry is applied.
    pub(crate) fn on_cfg_change_applied(&self, entry: &H::Entry, idx: Index) {
        let Some(id) = self.cfg_change_node_id(entry, idx) else { return };
        let Some(node) = self.node(id) else { return };
        match entry.entry_type() {
            entry_type::ADD_NODE => {
                node.set_addition_committed(true);
                node.set_voting_committed(true);
                node.set_has_sufficient_logs(true);
            }
            entry_type::ADD_NONVOTING_NODE => node.set_addition_committed(true),
            entry_type::REMOVE_NODE => {
                if node.is_active() {
                    // A later entry (still uncommitted) added it again: the
                    // original library would drop it here and then fail on
                    // that entry; keeping it is the configuration the log
                    // describes.
                    return;
                }
                node.set_voting_committed(false);
                let removing_me = self.is_me(&node);
                self.remove_node(&node);
                // Thesis §4.2.2: a leader that is not in the new configuration
                // steps down once the configuration is committed.
                if removing_me && self.role.get() == Role::Leader {
                    self.become_follower();
                }
            }
            _ => {}
        }
    }

    /// Asks the host whether a caught-up non-voting node may be promoted;
    /// the question is asked once (until the host answers non-zero).
    pub(crate) fn check_sufficient_logs(&self, node: &Rc<Node<H::NodeData>>) {
        if node.is_voting()
            || !node.is_active()
            || node.has_sufficient_logs()
            || self.voting_change_in_progress()
            || node.progress().match_idx() < self.current_idx()
        {
            return;
        }
        if self.host.node_has_sufficient_logs(node) {
            node.set_has_sufficient_logs(true);
        }
    }

    /// Marks every node's membership as committed (after loading a snapshot,
    /// which carries the configuration).
    pub(crate) fn commit_membership(&self) {
        self.for_each_node(|node| {
            node.set_voting_committed(node.is_voting());
            node.set_addition_committed(true);
            if node.is_voting() {
                node.set_has_sufficient_logs(true);
            }
        });
    }

    /// Drops every node but this server's own (loading a snapshot).
    pub(crate) fn remove_all_other_nodes(&self) {
        loop {
            let other = self.nodes.borrow().iter().find(|n| !self.is_me(n)).cloned();
            match other {
                Some(node) => self.remove_node(&node),
                None => break,
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use crate::core::log::tests::TestEntry;
    use crate::core::server::tests::server_with_nodes;
    use crate::core::*;

    #[test]
    fn adding_an_existing_voter_fails_but_promotes_a_non_voter() {
        let s = server_with_nodes(&[1, 2], 1);
        assert!(s.add_node((), 2, false).is_none());
        let n = s.add_non_voting_node((), 3, false).unwrap();
        assert!(!n.is_voting());
        assert!(s.add_node((), 3, false).is_some());
        assert!(n.is_voting());
        assert_eq!(s.num_voting_nodes(), 3);
    }

    #[test]
    fn a_config_entry_takes_effect_when_appended_and_is_undone_when_popped() {
        let s = server_with_nodes(&[1], 1);
        s.append_entry(&TestEntry::new(1, 2, entry_type::ADD_NONVOTING_NODE)).unwrap();
        assert_eq!(s.num_nodes(), 2);
        s.append_entry(&TestEntry::new(1, 2, entry_type::ADD_NODE)).unwrap();
        assert!(s.node(2).unwrap().is_voting());
        assert!(s.voting_change_in_progress());
        s.pop_entry().unwrap();
        assert!(!s.node(2).unwrap().is_voting());
        assert!(!s.voting_change_in_progress());
        s.pop_entry().unwrap();
        assert!(s.node(2).is_none());
    }

    #[test]
    fn a_removed_node_turns_inactive_when_appended_and_active_again_if_the_entry_is_popped() {
        let s = server_with_nodes(&[1, 2, 3], 1);
        s.append_entry(&TestEntry::new(1, 3, entry_type::REMOVE_NODE)).unwrap();
        assert_eq!((s.num_voting_nodes(), s.num_nodes()), (2, 3));
        let node = s.node(3).unwrap();
        assert!(!node.is_active() && node.is_voting());
        s.pop_entry().unwrap();
        assert!(node.is_voting() && node.is_active());
        assert_eq!(s.num_voting_nodes(), 3);
    }

    #[test]
    fn a_removed_node_leaves_the_list_once_its_entry_is_applied() {
        let s = server_with_nodes(&[1, 2, 3], 1);
        s.append_entry(&TestEntry::new(1, 3, entry_type::REMOVE_NODE)).unwrap();
        s.set_commit_idx(1);
        s.apply_all().unwrap();
        assert!(s.node(3).is_none());
        assert_eq!(s.num_nodes(), 2);
    }

    #[test]
    fn a_server_removing_itself_keeps_its_node_until_the_removal_is_applied() {
        let s = server_with_nodes(&[1, 2, 3], 1);
        s.append_entry(&TestEntry::new(1, 1, entry_type::REMOVE_NODE)).unwrap();
        assert_eq!(s.my_id(), 1);
        assert_eq!(s.num_voting_nodes(), 2);
        s.set_commit_idx(1);
        s.apply_all().unwrap();
        assert!(s.my_node().is_none());
        assert_eq!(s.num_nodes(), 2);
    }

    #[test]
    fn the_sender_of_a_message_is_found_wherever_it_moved_in_the_node_list() {
        let s = server_with_nodes(&[1, 2, 3], 1);
        s.note_msg_seen(3, 5);
        assert_eq!(s.node(3).unwrap().max_seen_msg_id(), 5);
        // Node 3 moves down a place; where it was found is out of range.
        s.remove_node(&s.node(2).unwrap());
        s.note_msg_seen(3, 6);
        assert_eq!(s.node(3).unwrap().max_seen_msg_id(), 6);
        // Another sender than last time; an unknown one changes nothing.
        s.note_msg_seen(1, 7);
        s.note_msg_seen(9, 8);
        assert_eq!((s.node(1).unwrap().max_seen_msg_id(), s.node(3).unwrap().max_seen_msg_id()), (7, 6));
    }

    #[test]
    fn a_node_is_found_by_address_only_while_it_is_in_the_list() {
        let s = server_with_nodes(&[1, 2], 1);
        let two = s.node(2).unwrap();
        assert!(s.node_at_address(std::rc::Rc::as_ptr(&two)).is_some_and(|n| n.id() == 2));
        s.remove_node(&two);
        assert!(s.node_at_address(std::rc::Rc::as_ptr(&two)).is_none());
        assert!(s.node_at_address(std::ptr::null()).is_none());
    }

    #[test]
    fn nodes_are_found_by_address_in_any_order_and_after_the_list_shrinks() {
        let s = server_with_nodes(&[1, 2, 3, 4, 5], 1);
        let addr = |id| std::rc::Rc::as_ptr(&s.node(id).unwrap());
        // In turn (each the one after the last found), backwards, repeated.
        for id in [2, 3, 4, 5, 1, 5, 3, 3, 2, 1, 4] {
            assert_eq!(s.node_at_address(addr(id)).map(|n| n.id()), Some(id), "node {id}");
        }
        // Found last: node 5, at the end; the list shrinks under the hint.
        assert_eq!(s.node_at_address(addr(5)).map(|n| n.id()), Some(5));
        let (four, five) = (s.node(4).unwrap(), s.node(5).unwrap());
        s.remove_node(&four);
        assert!(s.node_at_address(std::rc::Rc::as_ptr(&four)).is_none());
        assert_eq!(s.node_at_address(std::rc::Rc::as_ptr(&five)).map(|n| n.id()), Some(5));
        s.remove_node(&five);
        assert!(s.node_at_address(std::rc::Rc::as_ptr(&five)).is_none());
        for id in [1, 2, 3, 1] {
            assert_eq!(s.node_at_address(addr(id)).map(|n| n.id()), Some(id), "node {id}");
        }
    }
}
