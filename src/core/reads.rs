//! Linearizable reads without a log entry (thesis §6.4, "ReadIndex").
//!
//! A read is answered `can_read = 1` once (a) a majority of voters has
//! answered a message that the leader sent after the read arrived, proving
//! it was still leader then, and (b) the state machine has applied the
//! commit index of that moment, or this leader's first entry if that is
//! later (a new leader learns the true commit index only by committing an
//! entry of its own term). Reads queued while a heartbeat round is in flight
//! wait for the next round, which then serves all of them together.
//!
//! msg_ids grow for the life of a server, so an answer to any message sent
//! after the read has a larger id; a majority's acknowledgement is the
//! majority-th highest id each voter has answered.

use std::collections::VecDeque;

use super::quorum::majority_value;
use super::{alloc, Host, Index, MsgId, RaftError, Result, Role, Server};

#[derive(Clone, Copy, Debug)]
pub(crate) struct PendingRead<C> {
    /// Needs a majority's answer to a message with a greater msg_id.
    after_msg_id: MsgId,
    read_idx: Index,
    callback: C,
}

impl<H: Host> Server<H> {
    /// `raft_recv_read_request`.
    pub fn recv_read_request(&self, callback: H::ReadCallback) -> Result<()> {
        if self.role.get() != Role::Leader {
            return Err(RaftError::NotLeader);
        }
        let read = PendingRead {
            after_msg_id: self.msg_id.get(),
            read_idx: self.commit_idx.get().max(self.term_start_idx.get()),
            callback,
        };
        alloc::push_back(&mut self.reads.borrow_mut(), read)?;
        // With auto flush off, the next `raft_flush` confirms the read: the
        // appendentries it sends for writes do, or a heartbeat to the nodes
        // it sends nothing to (`confirm_reads_on_flush`).
        if self.config.get().auto_flush && !self.is_single_voter() && self.read_round_msg_id.get() == 0 {
            self.start_read_round();
        }
        self.exec_operations()
    }

    /// At a flush, after the writes' appendentries went out: a waiting read
    /// is confirmed by the answers to any message sent after it, so only
    /// the nodes sent nothing since the newest read get a heartbeat, and
    /// only when no such round is already in flight (reads that arrive
    /// meanwhile join the next one).
    pub(crate) fn confirm_reads_on_flush(&self) {
        if self.role.get() != Role::Leader || self.read_round_msg_id.get() != 0 || self.is_single_voter() {
            return;
        }
        let Some(newest) = self.reads.borrow().back().map(|r| r.after_msg_id) else { return };
        if newest < self.quorum_msg_id() {
            return;
        }
        let round = self.msg_id.get() + 1;
        let mut sent = false;
        self.for_each_node(|node| {
            if !self.is_me(node) && node.is_active() && node.is_voting() && node.progress().next_msg_id() <= newest {
                // A send that fails is a lost message; heartbeats retry.
                sent |= self.send_appendentries(node).is_ok();
            }
        });
        if sent {
            self.read_round_msg_id.set(round);
        }
    }

    fn start_read_round(&self) {
        self.read_round_msg_id.set(self.msg_id.get() + 1);
        let _ = self.send_appendentries_all();
    }

    /// The highest msg_id a majority of voters has answered in this term.
    /// A voter whose removal is appended but not yet applied still counts
    /// here, as in the original library: a read then needs a majority of
    /// both the old and the new configuration, which is never less safe.
    fn quorum_msg_id(&self) -> MsgId {
        let floor = self.quorum_ack_msg_id.get();
        let nodes = self.nodes.borrow();
        let ids = nodes
            .iter()
            .filter(|n| n.is_voting())
            .map(|node| if self.is_me(node) { MsgId::MAX } else { node.progress().acked_msg_id() });
        majority_value(ids, floor, &mut self.msg_id_scratch.borrow_mut()).unwrap_or(floor)
    }

    fn read_is_ready(&self, read: &PendingRead<H::ReadCallback>, quorum: MsgId) -> bool {
        read.after_msg_id < quorum && read.read_idx <= self.last_applied_idx()
    }

    pub(crate) fn has_ready_reads(&self) -> bool {
        if self.role.get() != Role::Leader {
            return false;
        }
        let Some(first) = self.reads.borrow().front().copied() else { return false };
        self.read_is_ready(&first, self.quorum_msg_id())
    }

    /// Answers every read that is ready; with auto flush on, starts another
    /// heartbeat round for reads that arrived after the last one was sent
    /// (with it off, the next flush does).
    pub(crate) fn serve_reads(&self) {
        if self.role.get() != Role::Leader || self.reads.borrow().is_empty() {
            return;
        }
        let quorum = self.quorum_msg_id();
        if self.read_round_msg_id.get() != 0 && quorum >= self.read_round_msg_id.get() {
            self.read_round_msg_id.set(0);
        }
        // One at a time, with no borrow held while the callback runs (it
        // may call back in) and nothing allocated.
        loop {
            let next = {
                let mut reads = self.reads.borrow_mut();
                match reads.front() {
                    Some(read) if self.read_is_ready(read, quorum) => reads.pop_front(),
                    _ => None,
                }
            };
            let Some(read) = next else { break };
            self.host.read_done(read.callback, true);
        }
        let waiting_for_round = self.reads.borrow().back().is_some_and(|r| r.after_msg_id >= quorum);
        if waiting_for_round
            && self.read_round_msg_id.get() == 0
            && self.role.get() == Role::Leader
            && self.config.get().auto_flush
        {
            self.start_read_round();
        }
    }

    /// Answers every pending read with `can_read = 0` (leadership lost).
    pub(crate) fn fail_pending_reads(&self) {
        self.read_round_msg_id.set(0);
        let failed: VecDeque<PendingRead<H::ReadCallback>> = std::mem::take(&mut *self.reads.borrow_mut());
        for read in failed {
            self.host.read_done(read.callback, false);
        }
    }
}
