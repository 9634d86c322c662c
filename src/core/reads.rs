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
use std::rc::Rc;

use super::quorum::{majority_of, majority_value};
use super::{alloc, Host, Index, MsgId, Node, RaftError, Result, Role, Server};

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
        self.recount_for_new_read(read.after_msg_id);
        // With auto flush off, the next `raft_flush` confirms the read: the
        // appendentries it sends for writes do, or a heartbeat to the nodes
        // it sends nothing to (`replicate_and_confirm_reads`).
        if self.config.get().auto_flush && !self.is_single_voter() && self.read_round_msg_id.get() == 0 {
            self.start_read_round();
        }
        self.exec_operations()
    }

    /// `raft_flush` on a leader, one pass over the nodes: each is sent what
    /// it lacks, then a waiting read is confirmed by the answers to any
    /// message sent after it, so a node sent nothing since the newest read
    /// gets a heartbeat, and only when no such round is already in flight
    /// (reads that arrive meanwhile join the next one). One pass rather
    /// than one to send and one to confirm: about 100 library
    /// instructions less per flush at 3 nodes.
    pub(crate) fn replicate_and_confirm_reads(&self) {
        let mut round = 0;
        self.for_each_node(|node| {
            if self.is_me(node) || !node.is_active() {
                return;
            }
            self.replicate_to(node);
            let Some(newest) = self.unconfirmed_read() else { return };
            if node.is_voting() && node.progress().next_msg_id() <= newest {
                let id = self.msg_id.get() + 1;
                // A send that fails is a lost message; heartbeats retry.
                if self.send_appendentries(node).is_ok() && round == 0 {
                    round = id;
                }
            }
        });
        // Checked again: a callback may have ended the leadership or
        // started a round meanwhile.
        if round != 0 && self.role.get() == Role::Leader && self.read_round_msg_id.get() == 0 {
            self.read_round_msg_id.set(round);
        }
    }

    /// The msg_id of the newest waiting read if a flush is to confirm it:
    /// a leader, no round in flight, and the last count not past it (with
    /// another voter to ask: a node is about to be asked).
    fn unconfirmed_read(&self) -> Option<MsgId> {
        if self.role.get() != Role::Leader || self.read_round_msg_id.get() != 0 {
            return None;
        }
        let newest = self.reads.borrow().back().map(|r| r.after_msg_id)?;
        (newest >= self.read_quorum()).then_some(newest)
    }

    /// A read that arrived after `after` is judged by a count taken at or
    /// after its arrival. A count is the msg_id of a message a majority
    /// answered, so one taken earlier is at most `after` and cannot serve
    /// it: only a count above it (`MsgId::MAX` of a leader that was the
    /// only voter, or a floor `raft_update_quorum_meta` set) is taken
    /// again, and a leader that votes alone counts (to `MsgId::MAX`: the
    /// read is served at once). Saves a pass over the voters per read
    /// (about 125 library instructions per read at 3 nodes).
    fn recount_for_new_read(&self, after: MsgId) {
        let votes_alone = || !self.nodes.borrow().iter().any(|n| n.is_voting() && !self.is_me(n));
        if self.read_quorum.get() > after || votes_alone() {
            self.refresh_read_quorum();
        }
    }

    /// On `raft_periodic`, for changes made outside messages (an
    /// acknowledgement or a voting flag set from C, a voter removed): counts
    /// again when the oldest read has waited since the previous tick. A
    /// read younger than that is counted on the answers to the messages
    /// sent for it, so a count here would find nothing new: at a read per
    /// tick, this skips a pass over the voters per tick (about 125 library
    /// instructions at 3 nodes).
    pub(crate) fn recount_reads_on_tick(&self) {
        let mark = self.read_tick_mark.replace(self.msg_id.get());
        let oldest = self.reads.borrow().front().map(|r| r.after_msg_id);
        if oldest.is_some_and(|after| after <= mark) {
            self.refresh_read_quorum();
        }
    }

    fn start_read_round(&self) {
        self.read_round_msg_id.set(self.msg_id.get() + 1);
        let _ = self.send_appendentries_all();
    }

    /// What a read is checked against: the highest msg_id a majority of
    /// voters had answered at the last `refresh_read_quorum` (`MsgId::MAX`
    /// when this leader is the only voter). O(1): reads wait here after
    /// every message.
    fn read_quorum(&self) -> MsgId {
        self.read_quorum.get()
    }

    /// A node answered message `id`. The count is taken again only when
    /// that can serve a read: the answer is above the last count, and to a
    /// message sent after the oldest waiting read arrived.
    pub(crate) fn note_read_ack(&self, node: &Node<H::NodeData>, id: MsgId) {
        node.progress().note_acked_msg_id(id);
        let oldest = self.reads.borrow().front().map(|r| r.after_msg_id);
        if oldest.is_some_and(|after| id > after) && id > self.read_quorum.get() {
            self.refresh_read_quorum();
        }
    }

    /// Recounts `read_quorum` from every voter's acknowledgement. Called
    /// when a read arrives and the last count is above it (so every read is
    /// judged by a count taken at or after its arrival, whatever the
    /// configuration did before: `recount_for_new_read`), on an answer that
    /// may raise it, and on `raft_periodic` while a read has waited a tick
    /// (acknowledgements and voting flags can also be set from C,
    /// `raft_node_set_match_msgid`, `raft_node_set_voting`:
    /// `recount_reads_on_tick`). A count kept
    /// from before a configuration change only serves reads that arrived
    /// before that count was taken: a majority had answered a message sent
    /// after each of them.
    ///
    /// A voter whose removal is appended but not yet applied still counts
    /// here, as in the original library: a read then needs a majority of
    /// both the old and the new configuration, which is never less safe.
    /// The count is at least the floor `raft_update_quorum_meta` reported.
    ///
    /// This leader counts as having answered everything, so the quorum is
    /// the `need`-th highest acknowledgement of the other voters, `need`
    /// being a majority less one. Between two counts usually one
    /// acknowledgement moved, so one pass, checked against the last count,
    /// settles the common cases without sorting: nobody new above it (it
    /// stands), exactly `need` above it (the least of them), or `need` is 1
    /// (the highest). Anything else takes the full selection. This buys
    /// about 150 library instructions per read round at 3 nodes against
    /// `majority_value` from the last count, then from the floor (5% of the
    /// library's instructions under 3n-read-w8 of `make bench`).
    pub(crate) fn refresh_read_quorum(&self) {
        let floor = self.quorum_ack_msg_id.get();
        let last = self.read_quorum.get().max(floor);
        let nodes = self.nodes.borrow();
        let me = self.me.borrow().as_ref().map_or(std::ptr::null(), Rc::as_ptr);
        let (mut voters, mut me_voting) = (0usize, false);
        let (mut at_last, mut above, mut least, mut most) = (0usize, 0usize, MsgId::MAX, MsgId::MIN);
        for node in nodes.iter().filter(|n| n.is_voting()) {
            voters += 1;
            if Rc::as_ptr(node) == me {
                me_voting = true;
                continue;
            }
            let acked = node.progress().acked_msg_id();
            if acked > last {
                above += 1;
                least = least.min(acked);
                most = most.max(acked);
            } else if acked == last {
                at_last += 1;
            }
        }
        let need = majority_of(voters) - usize::from(me_voting);
        let quorum = if voters == 0 {
            floor
        } else if need == 0 {
            MsgId::MAX
        } else if above == need {
            least
        } else if above > 0 && need == 1 {
            most
        } else if above < need && above + at_last >= need {
            last
        } else {
            let ids = nodes.iter().filter(|n| n.is_voting()).map(|node| {
                if Rc::as_ptr(node) == me {
                    MsgId::MAX
                } else {
                    node.progress().acked_msg_id()
                }
            });
            majority_value(ids, floor, &mut self.msg_id_scratch.borrow_mut()).unwrap_or(floor)
        };
        self.read_quorum.set(quorum);
    }

    fn read_is_ready(&self, read: &PendingRead<H::ReadCallback>, quorum: MsgId) -> bool {
        read.after_msg_id < quorum && read.read_idx <= self.last_applied_idx()
    }

    /// Whether `serve_reads` has anything to do, in O(1) (asked after every
    /// message): the oldest read has its majority (it may still wait for
    /// the state machine), the round in flight is answered, or no round
    /// is in flight with auto flush on (one is to be started).
    #[inline]
    pub(crate) fn reads_to_serve(&self) -> bool {
        if self.role.get() != Role::Leader {
            return false;
        }
        let Some(oldest) = self.reads.borrow().front().map(|r| r.after_msg_id) else { return false };
        let (quorum, round) = (self.read_quorum.get(), self.read_round_msg_id.get());
        oldest < quorum || if round == 0 { self.config.get().auto_flush } else { quorum >= round }
    }

    pub(crate) fn has_ready_reads(&self) -> bool {
        if self.role.get() != Role::Leader {
            return false;
        }
        let Some(first) = self.reads.borrow().front().copied() else { return false };
        self.read_is_ready(&first, self.read_quorum())
    }

    /// Answers every read that is ready; with auto flush on, starts another
    /// heartbeat round for reads that arrived after the last one was sent
    /// (with it off, the next flush does).
    pub(crate) fn serve_reads(&self) {
        if self.role.get() != Role::Leader || self.reads.borrow().is_empty() {
            return;
        }
        let quorum = self.read_quorum();
        if self.read_round_msg_id.get() != 0 && quorum >= self.read_round_msg_id.get() {
            self.read_round_msg_id.set(0);
        }
        // One at a time, the queue not borrowed across the callback (which
        // may queue another read or end this leadership: then the rest fail).
        loop {
            let ready = {
                let mut reads = self.reads.borrow_mut();
                match reads.front() {
                    Some(read) if self.role.get() == Role::Leader && self.read_is_ready(read, quorum) => {
                        reads.pop_front()
                    }
                    _ => None,
                }
            };
            let Some(read) = ready else { break };
            self.host.read_done(read.callback, true);
        }
        // With auto flush on, a read left waiting needs a round.
        if self.config.get().auto_flush
            && self.read_round_msg_id.get() == 0
            && self.role.get() == Role::Leader
            && self.reads.borrow().back().is_some_and(|r| r.after_msg_id >= quorum)
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

#[cfg(test)]
mod tests {
    use crate::core::server::tests::server_with_nodes;
    use crate::core::*;

    /// The read quorum by definition: sort every voter's acknowledgement
    /// (this server's counts as everything) and take the majority-th.
    fn quorum_by_sorting<H: Host>(s: &Server<H>) -> MsgId {
        let floor = s.quorum_ack_msg_id.get();
        let mut ids: Vec<MsgId> = s
            .nodes
            .borrow()
            .iter()
            .filter(|n| n.is_voting())
            .map(|n| if s.is_me(n) { MsgId::MAX } else { n.progress().acked_msg_id() })
            .collect();
        if ids.is_empty() {
            return floor;
        }
        ids.sort_unstable_by(|a, b| b.cmp(a));
        ids[ids.len() / 2].max(floor)
    }

    #[test]
    fn the_read_quorum_counted_from_the_last_one_is_the_sorted_majority() {
        let mut seed = 0x2545_f491_4f6c_dd1du64;
        let mut rand = move |n: u64| {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            seed % n
        };
        for size in 1..=9 {
            let ids: Vec<NodeId> = (1..=size).collect();
            let s = server_with_nodes(&ids, 1);
            for _ in 0..2000 {
                let node = s.node(1 + rand(size as u64) as NodeId).unwrap();
                match rand(20) {
                    // Mostly acknowledgements that rise a little.
                    0..=14 => node.progress().note_acked_msg_id(node.progress().acked_msg_id() + rand(4)),
                    15 | 16 => node.set_voting(!node.is_voting()),
                    17 => s.update_quorum_meta(rand(40)),
                    18 => {
                        if let Some(other) = s.node(1 + rand(size as u64) as NodeId) {
                            if !s.is_me(&other) {
                                other.progress().note_acked_msg_id(other.progress().acked_msg_id() + 5);
                            }
                        }
                    }
                    _ => {
                        // Several answers at once before the next count.
                        for n in s.nodes.borrow().iter() {
                            n.progress().note_acked_msg_id(n.progress().acked_msg_id() + rand(3));
                        }
                    }
                }
                s.refresh_read_quorum();
                assert_eq!(s.read_quorum(), quorum_by_sorting(&s), "{size} nodes");
            }
        }
    }

    #[test]
    fn an_acknowledgement_recorded_outside_messages_serves_a_read_within_two_ticks() {
        let s = server_with_nodes(&[1, 2, 3], 1);
        s.become_candidate().unwrap();
        s.become_leader().unwrap();
        // This leader's first entry committed and applied (reads wait for it).
        s.set_commit_idx(s.current_idx());
        s.exec_operations().unwrap();
        s.periodic_ms(1).unwrap();
        let two = s.node(2).unwrap();
        s.recv_read_request(1).unwrap();
        // As `raft_node_set_match_msgid` does: no message, no count.
        two.progress().note_acked_msg_id(s.msg_id.get());
        assert_eq!(s.reads.borrow().len(), 1);
        // Counted once the read has waited a tick (answers to the messages
        // sent for it would count sooner), and served.
        s.periodic_ms(1).unwrap();
        s.periodic_ms(1).unwrap();
        assert!(s.reads.borrow().is_empty());
    }

    #[test]
    fn a_count_taken_before_a_read_arrived_never_serves_it() {
        let s = server_with_nodes(&[1, 2, 3], 1);
        s.become_candidate().unwrap();
        s.become_leader().unwrap();
        // This leader's first entry committed and applied (reads wait for it).
        s.set_commit_idx(s.current_idx());
        s.exec_operations().unwrap();
        let two = s.node(2).unwrap();
        // A majority answered everything sent so far.
        let sent = s.msg_id.get();
        s.note_read_ack(&two, sent);
        s.refresh_read_quorum();
        assert_eq!(s.read_quorum(), sent);
        // A read now needs an answer to a later message.
        s.recv_read_request(1).unwrap();
        s.exec_operations().unwrap();
        assert_eq!(s.reads.borrow().len(), 1);
        let next = s.msg_id.get() + 1;
        s.send_appendentries(&two).unwrap();
        s.note_read_ack(&two, next);
        s.exec_operations().unwrap();
        assert!(s.reads.borrow().is_empty());
    }

    #[test]
    fn a_read_arriving_after_a_voter_joins_waits_for_that_voter() {
        let s = server_with_nodes(&[1], 1);
        s.periodic_ms(0).unwrap();
        assert!(s.is_leader());
        // The only voter: a read is served on arrival.
        s.recv_read_request(1).unwrap();
        assert!(s.reads.borrow().is_empty());
        // A voter joins (from C, with no message in between): the next read
        // is counted afresh and waits for its answer.
        let two = s.add_node((), 2, false).unwrap();
        s.recv_read_request(2).unwrap();
        s.periodic_ms(1).unwrap();
        assert_eq!(s.reads.borrow().len(), 1);
        let sent = s.msg_id.get() + 1;
        s.send_appendentries(&two).unwrap();
        assert_eq!(s.msg_id.get(), sent);
        s.note_read_ack(&two, sent);
        s.exec_operations().unwrap();
        assert!(s.reads.borrow().is_empty());
    }
}
