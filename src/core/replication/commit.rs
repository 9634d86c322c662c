//! The leader's side of answers: progress, back off after a rejection,
//! the commit index from a majority, and the leader's own flush.

use std::rc::Rc;

use super::*;
use crate::core::quorum::majority_value;
use crate::core::server::trace;
use crate::core::{valid_index, valid_term};
use crate::core::{AppendEntriesResponse, Host, Index, MsgId, Node, RaftError, Result, Role, Server, Term};

impl<H: Host> Server<H> {
    /// `raft_recv_appendentries_response`: the leader's side.
    pub fn recv_appendentries_response(&self, node: Option<&Rc<Node>>, resp: &AppendEntriesResponse) -> Result<()> {
        if !valid_index(resp.current_idx) {
            return Err(RaftError::Misuse);
        }
        let Some(node) = self.answer_from(node, resp.term, resp.msg_id)? else { return Ok(()) };

        if !resp.success {
            if resp.msg_id >= node.resync_msg_id() && resp.msg_id >= node.match_msg_id() {
                self.back_off(node, resp.current_idx);
            }
        } else {
            if resp.msg_id > node.match_msg_id() {
                node.set_match_msg_id(resp.msg_id);
            }
            let matched = resp.current_idx.min(self.current_idx());
            if matched > node.match_idx() {
                node.set_match_idx(matched);
            }
            if node.next_idx() <= node.match_idx() {
                node.set_next_idx(node.match_idx() + 1);
            }
            if node.snapshot_idx() != 0 && node.match_idx() >= node.snapshot_idx() {
                // The node's log now covers the snapshot being sent: stop.
                node.set_snapshot_idx(0);
                node.set_snapshot_final_offset(None);
            }
            self.check_sufficient_logs(node);
            self.maybe_send_timeoutnow(node);
            // Only a match above the commit index can move it (a majority
            // above it includes a follower above it, which answers again).
            if node.match_idx() > self.commit_idx.get() {
                self.update_commit();
            }
            if self.role.get() == Role::Leader {
                self.replicate_to(node);
            }
        }
        self.exec_operations()
    }

    /// The checks every answer to a leader's message goes through: only a
    /// leader takes answers (`NotLeader`); answers from nodes outside the
    /// configuration (`node` is `None`: callers look the sender up in this
    /// server's list) and from older terms are ignored (`None`); a newer term
    /// makes the leader step down (`None`). An answer of the current term
    /// acknowledges this leadership (for check-quorum and reads).
    pub(crate) fn answer_from<'a>(
        &self,
        node: Option<&'a Rc<Node>>,
        term: Term,
        msg_id: MsgId,
    ) -> Result<Option<&'a Rc<Node>>> {
        if !valid_term(term) {
            return Err(RaftError::Misuse);
        }
        if self.role.get() != Role::Leader {
            return Err(RaftError::NotLeader);
        }
        // `node` comes from this server's list (the C layer looks it up
        // there), so it is not searched for again.
        let Some(node) = node else { return Ok(None) };
        debug_assert!(self.owns_node(node));
        if term > self.current_term.get() {
            self.step_down(term)?;
            return Ok(None);
        }
        if term < self.current_term.get() {
            return Ok(None);
        }
        self.note_read_ack(node, msg_id);
        node.set_last_ack_ms(self.now_ms.get());
        Ok(Some(node))
    }

    /// After a rejection: resume from just after the follower's last entry,
    /// never at or below what it is known to hold.
    fn back_off(&self, node: &Rc<Node>, follower_idx: Index) {
        if follower_idx < node.match_idx() {
            // The node holds less than it once acknowledged (it lost unsynced
            // entries, or an answer was credited wrongly): start over from
            // what it says it has rather than stall above it for ever.
            trace!(
                self,
                node.id(),
                "node {} is back at {} below its match {}",
                node.id(),
                follower_idx,
                node.match_idx()
            );
            node.set_match_idx(follower_idx.max(0));
        }
        let old_next = node.next_idx();
        let mut next = (follower_idx + 1).min(self.current_idx() + 1);
        if next >= old_next {
            next = old_next - 1;
        }
        next = next.max(node.match_idx() + 1);
        trace!(self, node.id(), "node {} rejected: next {} -> {}", node.id(), old_next, next);
        node.set_next_idx(next);
        node.set_resync_msg_id(self.msg_id.get() + 1);
        let _ = self.send_appendentries(node);
    }

    /// Commits the highest index stored on a majority of voters, if it is
    /// of the current term (thesis §3.6.2: older entries commit only
    /// indirectly).
    pub(crate) fn update_commit(&self) {
        if self.role.get() != Role::Leader {
            return;
        }
        let commit = self.commit_idx.get();
        let found = {
            let nodes = self.nodes.borrow();
            let matches = nodes.iter().filter(|n| n.is_counted_voter()).map(|n| n.match_idx());
            majority_value(matches, commit, &mut self.quorum_scratch.borrow_mut())
        };
        let Some(majority_idx) = found else { return };
        if majority_idx > commit && self.term_at(majority_idx) == Some(self.current_term.get()) {
            self.commit_idx.set(majority_idx);
        }
    }
    /// `raft_get_index_to_sync`: with auto flush off, the newest index the
    /// leader's log must make durable, reported once.
    pub fn index_to_sync(&self) -> Index {
        if self.role.get() != Role::Leader || self.config.get().auto_flush {
            return 0;
        }
        let idx = self.current_idx();
        if idx <= self.next_sync_index.get() {
            return 0;
        }
        self.next_sync_index.set(idx);
        idx
    }

    /// `raft_flush`: the leader's log is durable up to `sync_idx` (0: no
    /// news); commit what that allows, send what is new, apply and answer
    /// reads.
    pub fn flush(&self, sync_idx: Index) -> Result<()> {
        if self.role.get() == Role::Leader {
            if sync_idx > 0 {
                self.note_persisted(sync_idx);
            }
            self.replicate_to_all();
            self.confirm_reads_on_flush();
            self.update_commit();
        }
        self.exec_operations()
    }

    /// `raft_msg_entry_response_committed`: 1 committed, 0 not yet, -1 the
    /// entry was overwritten by another leader's.
    pub fn entry_response_committed(&self, resp: &EntryResponse) -> i32 {
        match self.term_at(resp.idx) {
            None => 0,
            Some(term) if term != resp.term => -1,
            Some(_) => (resp.idx <= self.commit_idx.get()) as i32,
        }
    }
}
