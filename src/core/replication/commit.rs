//! The leader's side of answers: progress, back off after a rejection,
//! the commit index from a majority, and the leader's own flush.

use std::rc::Rc;

use super::*;
use crate::core::quorum::{majority_of, majority_value};
use crate::core::node::outside_edits;
use crate::core::server::CommitVotes;
use crate::core::server::trace;
use crate::core::{valid_index, valid_term};
use crate::core::{EntryState, AppendEntriesResponse, Host, Index, MsgId, Node, RaftError, Result, Role, Server, Term};

impl<H: Host> Server<H> {
    /// `raft_recv_appendentries_response`: the leader's side.
    pub fn recv_appendentries_response(
        &self,
        node: Option<&Rc<Node<H::NodeData>>>,
        resp: &AppendEntriesResponse,
    ) -> Result<()> {
        if !valid_index(resp.current_idx) {
            return Err(RaftError::Misuse);
        }
        let Some(node) = self.answer_from(node, resp.term, resp.msg_id)? else { return Ok(()) };

        let progress = node.progress();
        if !resp.success {
            if resp.msg_id >= progress.resync_msg_id() && resp.msg_id >= progress.match_msg_id() {
                self.back_off(node, resp.current_idx);
            }
        } else {
            if resp.msg_id > progress.match_msg_id() {
                progress.set_match_msg_id(resp.msg_id);
            }
            let (old_match, matched) = (progress.match_idx(), resp.current_idx.min(self.current_idx()));
            if matched > old_match {
                progress.set_match_idx(matched);
            }
            if progress.next_idx() <= progress.match_idx() {
                progress.set_next_idx(progress.match_idx() + 1);
            }
            if progress.snapshot_idx() != 0 && progress.match_idx() >= progress.snapshot_idx() {
                // The node's log now covers the snapshot being sent: stop.
                progress.set_snapshot_idx(0);
                progress.set_snapshot_final_offset(None);
            }
            self.debug_check_progress(node);
            self.check_sufficient_logs(node);
            self.maybe_send_timeoutnow(node);
            if progress.match_idx() > old_match {
                self.match_raised(node, old_match);
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
    #[inline(always)]
    pub(crate) fn answer_from<'a>(
        &self,
        node: Option<&'a Rc<Node<H::NodeData>>>,
        term: Term,
        msg_id: MsgId,
    ) -> Result<Option<&'a Rc<Node<H::NodeData>>>> {
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
        if msg_id <= self.msg_id.get() {
            self.note_read_ack(node, msg_id);
            node.progress().set_last_ack_ms(self.now_ms.get());
        }
        // Else no message this server has sent (since it started) has that
        // id: the answer is to one of its previous run's, which the network
        // kept through a restart (a rejection of an older term's message,
        // answered with the node's term, this one). It may predate
        // everything this run did, so it acknowledges nothing (counted for
        // a read that arrived after it was written, it would serve that
        // read with no majority heard since); it is handled otherwise as
        // any answer (what it says of the node's log stands).
        Ok(Some(node))
    }

    /// Checks the progress record of `node` (debug builds only). The
    /// leader's own record is left out: its match index follows what is
    /// durable here, not answers, and may sit above a log that a loaded
    /// snapshot replaced.
    #[inline(always)]
    pub(crate) fn debug_check_progress(&self, node: &Rc<Node<H::NodeData>>) {
        if cfg!(debug_assertions) && !self.is_me(node) {
            node.progress().debug_check(self.current_idx());
        }
    }

    /// After a rejection: resume from just after the follower's last entry,
    /// never at or below what it is known to hold.
    fn back_off(&self, node: &Rc<Node<H::NodeData>>, follower_idx: Index) {
        let progress = node.progress();
        if follower_idx < progress.match_idx() {
            // The node holds less than it once acknowledged (it lost unsynced
            // entries, or an answer was credited wrongly): start over from
            // what it says it has rather than stall above it for ever.
            trace!(
                self,
                node.id(),
                "node {} is back at {} below its match {}",
                node.id(),
                follower_idx,
                progress.match_idx()
            );
            progress.set_match_idx(follower_idx.max(0));
            // The count of voters holding the next index may include it.
            self.recount_commit_votes();
        }
        let old_next = progress.next_idx();
        let mut next = (follower_idx + 1).min(self.current_idx() + 1);
        if next >= old_next {
            next = old_next - 1;
        }
        next = next.max(progress.match_idx() + 1);
        trace!(self, node.id(), "node {} rejected: next {} -> {}", node.id(), old_next, next);
        progress.set_next_idx(next);
        progress.set_resync_msg_id(self.msg_id.get() + 1);
        self.debug_check_progress(node);
        let _ = self.send_appendentries(node);
    }

    /// `node`'s match index rose from `old` (an answer, or this leader's
    /// own sync). The commit index can move only once a majority
    /// of voters holds the next index that may commit (`commit_candidate`),
    /// and the leader keeps count of those (`CommitVotes`): a rise that
    /// crosses it adds one, and only when that makes a majority is the
    /// commit index worked out again (`update_commit`, a pass over the
    /// voters). So an answer costs O(1), and a pass is paid per commit, not
    /// per answer.
    pub(crate) fn match_raised(&self, node: &Node<H::NodeData>, old: Index) {
        let candidate = self.commit_candidate();
        let mut count = self.commit_votes.get();
        if count.at != candidate {
            // Counted for another index, or the voters changed.
            return self.update_commit();
        }
        if old >= candidate || node.progress().match_idx() < candidate || !node.is_counted_voter() {
            return;
        }
        count.votes += 1;
        self.commit_votes.set(count);
        if count.votes >= count.need {
            self.commit_last_entry_or_count(candidate);
        }
    }

    /// A majority holds `candidate`, the count says. The count only says
    /// when to look: it can be too high (a follower's match index lowered,
    /// a node edited from C, an entry deleted and its index reused), so
    /// nothing commits on it alone. When `candidate` is the log's last entry
    /// (a commit per entry: batches of one) and of this leader's term (as
    /// `update_commit` requires), one pass over the voters checks that a
    /// majority holds it and counts those holding the next index (none,
    /// unless the log shrank under a match index): nothing beyond it can
    /// commit. That pass instead of `update_commit` (which looks for the
    /// highest index a majority holds) saves about 100 library instructions
    /// per entry with batches of one (3n-64b-b1 and 3n-read-b1 of
    /// `make bench`, with the count kept across ticks,
    /// `recount_after_outside_edits`).
    fn commit_last_entry_or_count(&self, candidate: Index) {
        // The term first: a user log's `get` (and the release of what it
        // returns) may re-enter, so what it could change is checked after.
        let term = self.term_at(candidate);
        let last_entry = term == Some(self.current_term.get())
            && candidate == self.current_idx()
            && candidate > self.commit_idx.get()
            && self.role.get() == Role::Leader;
        if !last_entry {
            return self.update_commit();
        }
        let (voters, holders, beyond) = self.voters_holding(candidate);
        let need = majority_of(voters);
        if holders < need {
            return self.update_commit();
        }
        self.advance_commit(candidate);
        self.commit_votes.set(CommitVotes { at: candidate + 1, votes: beyond, need });
    }

    /// The counted voters, how many hold `idx`, and how many hold more.
    fn voters_holding(&self, idx: Index) -> (usize, usize, usize) {
        let nodes = self.nodes.borrow();
        nodes.iter().filter(|n| n.is_counted_voter()).fold((0, 0, 0), |(voters, holders, beyond), n| {
            let m = n.progress().match_idx();
            (voters + 1, holders + usize::from(m >= idx), beyond + usize::from(m > idx))
        })
    }

    /// The lowest index whose storage on a majority would move the commit
    /// index: past it, and of this leader's term (its first entry or later).
    fn commit_candidate(&self) -> Index {
        (self.commit_idx.get() + 1).max(self.term_start_idx.get())
    }

    /// Commits the highest index stored on a majority of voters, if it is
    /// of the current term (thesis §3.6.2: older entries commit only
    /// indirectly), then counts the voters holding the next candidate for
    /// `match_raised`.
    pub(crate) fn update_commit(&self) {
        if self.role.get() != Role::Leader {
            return;
        }
        let commit = self.commit_idx.get();
        let nodes = self.nodes.borrow();
        let matches = nodes.iter().filter(|n| n.is_counted_voter()).map(|n| n.progress().match_idx());
        let found = majority_value(matches, commit, &mut self.quorum_scratch.borrow_mut());
        // No borrow across the log: a user log's `get` (and the release of
        // what it returns) may re-enter and change the node list; what it
        // could change is checked after.
        drop(nodes);
        if let Some(majority_idx) = found {
            if self.term_at(majority_idx) == Some(self.current_term.get())
                && majority_idx > self.commit_idx.get()
                && self.role.get() == Role::Leader
            {
                self.advance_commit(majority_idx);
            }
        }
        let at = self.commit_candidate();
        let (voters, votes, _) = self.voters_holding(at);
        self.commit_votes.set(CommitVotes { at, votes, need: majority_of(voters) });
    }

    /// Makes the next answer count the voters again (`match_raised`): the
    /// voters changed.
    pub(crate) fn recount_commit_votes(&self) {
        self.commit_votes.set(CommitVotes::default());
    }

    /// On the leader's `raft_periodic`: voting flags, active flags and match
    /// indexes can also be set from outside the protocol (the C setters
    /// `raft_node_set_voting`, `raft_node_set_active`,
    /// `raft_node_set_match_idx`), behind the count's back, and a count
    /// left too low would hold the commit index for ever: after such a
    /// change the next answer counts the voters afresh. Counting afresh on
    /// every tick instead cost a pass over the voters per entry at one
    /// write per tick (about 140 library instructions per entry under
    /// 3n-read-b1 of `make bench`), and would keep
    /// `commit_last_entry_or_count` from ever applying there.
    pub(crate) fn recount_after_outside_edits(&self) {
        let edits = outside_edits();
        if self.outside_edits_seen.replace(edits) != edits {
            self.recount_commit_votes();
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
            self.replicate_and_confirm_reads();
        }
        self.exec_operations()
    }

    /// `raft_msg_entry_response_committed`: whether the accepted entry
    /// `resp` describes has committed, may still, or was overwritten by
    /// another leader's.
    pub fn entry_response_committed(&self, resp: &EntryResponse) -> EntryState {
        match self.term_at(resp.idx) {
            None => EntryState::Pending,
            Some(term) if term != resp.term => EntryState::Overwritten,
            Some(_) if resp.idx <= self.commit_idx.get() => EntryState::Committed,
            Some(_) => EntryState::Pending,
        }
    }
}
