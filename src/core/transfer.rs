//! Leadership transfer (thesis §3.10).
//!
//! The leader stops taking proposals, brings the target's log up to date,
//! then sends it `timeoutnow`, on which the target campaigns at once without
//! pre-vote. The transfer ends when a leader makes itself known (expected
//! or not) or when its time runs out.

use std::rc::Rc;

use super::server::trace;
use super::{Host, Node, NodeId, RaftError, Result, Role, Server, TransferResult, NODE_ID_NONE};

impl<H: Host> Server<H> {
    /// `raft_transfer_leader`: `NODE_ID_NONE` picks the voter with the most
    /// entries; `timeout_ms <= 0` means one election timeout.
    pub fn transfer_leader(&self, target: NodeId, timeout_ms: i64) -> Result<()> {
        if self.role.get() != Role::Leader {
            return Err(RaftError::NotLeader);
        }
        if self.transfer_target.get() != NODE_ID_NONE {
            return Err(RaftError::LeaderTransferInProgress);
        }
        let node = if target == NODE_ID_NONE { self.most_up_to_date_voter() } else { self.node(target) };
        let node = node.ok_or(RaftError::InvalidNodeId)?;
        if self.is_me(&node) || !node.is_counted_voter() {
            return Err(RaftError::InvalidNodeId);
        }
        let timeout = if timeout_ms > 0 { timeout_ms } else { self.config.get().election_timeout };
        self.transfer_target.set(node.id());
        self.transfer_timeout_ms.set(timeout);
        self.transfer_elapsed_ms.set(0);
        self.timeoutnow_sent.set(false);
        trace!(self, node.id(), "transferring leadership to {} within {} ms", node.id(), timeout);
        if node.progress().match_idx() >= self.current_idx() {
            self.maybe_send_timeoutnow(&node);
        } else {
            self.replicate_to(&node);
            if node.progress().next_idx() > self.current_idx() && node.progress().match_idx() < self.current_idx() {
                // Everything is in flight already; nudge in case it was lost.
                let _ = self.send_appendentries(&node);
            }
        }
        Ok(())
    }

    fn most_up_to_date_voter(&self) -> Option<Rc<Node<H::NodeData>>> {
        let nodes = self.nodes.borrow();
        nodes
            .iter()
            .filter(|n| !self.is_me(n) && n.is_counted_voter())
            .max_by_key(|n| n.progress().match_idx())
            .cloned()
    }

    pub fn transfer_target(&self) -> NodeId {
        self.transfer_target.get()
    }

    /// Sends `timeoutnow` once the target holds the leader's whole log.
    /// Asked on every answer: the usual "no transfer to this node" is
    /// decided inline.
    #[inline(always)]
    pub(crate) fn maybe_send_timeoutnow(&self, node: &Rc<Node<H::NodeData>>) {
        if self.transfer_target.get() == node.id() {
            self.send_timeoutnow_if_ready(node);
        }
    }

    fn send_timeoutnow_if_ready(&self, node: &Rc<Node<H::NodeData>>) {
        if self.timeoutnow_sent.get()
            || self.role.get() != Role::Leader
            || node.progress().match_idx() < self.current_idx()
        {
            return;
        }
        self.timeoutnow_sent.set(true);
        if self.host.send_timeoutnow(node).is_err() {
            // Lost: try again on the next answer from the target.
            self.timeoutnow_sent.set(false);
        }
    }

    /// Advances the transfer's timer; fires the timeout when it runs out.
    pub(crate) fn tick_transfer(&self, ms: i64) {
        if self.transfer_target.get() == NODE_ID_NONE {
            return;
        }
        let elapsed = self.transfer_elapsed_ms.get().saturating_add(ms);
        self.transfer_elapsed_ms.set(elapsed);
        if elapsed >= self.transfer_timeout_ms.get() {
            self.reset_transfer_leader(true);
        }
    }

    /// `raft_reset_transfer_leader`: ends the transfer and reports how.
    pub fn reset_transfer_leader(&self, timed_out: bool) {
        let target = self.transfer_target.get();
        if target == NODE_ID_NONE {
            return;
        }
        let result = if timed_out {
            TransferResult::Timeout
        } else if self.leader_id.get() == target {
            TransferResult::ExpectedLeader
        } else {
            TransferResult::UnexpectedLeader
        };
        self.transfer_target.set(NODE_ID_NONE);
        self.transfer_elapsed_ms.set(0);
        self.timeoutnow_sent.set(false);
        self.host.notify_transfer_event(result);
    }
}
