//! Leader election with pre-vote (thesis §3.4, §9.6).
//!
//! A follower whose timer fires becomes a pre-candidate and asks whether it
//! could win in `term + 1` without changing any state. Only when a majority
//! says yes does it become a candidate: the new term and its own vote are
//! persisted before any requestvote is sent.

use std::rc::Rc;

use super::quorum::votes_is_majority;
use super::server::trace;
use super::{
    Vote,
    entry_type, EntryHandle, Host, Log, Node, RaftError, RequestVote, RequestVoteResponse, Result, Role, Server, Term,
    NODE_ID_NONE,
};

impl<H: Host> Server<H> {
    /// True when this server may start an election: it is a voter that is
    /// part of a configuration with other voters.
    pub(crate) fn may_campaign(&self) -> bool {
        self.my_node().is_some_and(|me| me.is_counted_voter()) && self.num_voting_nodes() > 1
    }

    /// `raft_election_start`: pre-vote first unless `skip_prevote`.
    pub fn election_start(&self, skip_prevote: bool) -> Result<()> {
        trace!(
            self,
            NODE_ID_NONE,
            "election starting: timeout {} elapsed {} term {} last idx {}",
            self.election_timeout_rand.get(),
            self.timeout_elapsed.get(),
            self.current_term.get(),
            self.current_idx()
        );
        if skip_prevote {
            self.campaign()
        } else {
            self.become_precandidate()
        }
    }

    /// Becomes a candidate and, if its own vote is already a majority,
    /// leader.
    fn campaign(&self) -> Result<()> {
        self.become_candidate()?;
        if self.role.get() == Role::Candidate && self.has_majority_of_votes() {
            self.become_leader()?;
        }
        Ok(())
    }

    fn reset_votes(&self) {
        self.for_each_node(|node| node.vote_for_me(false));
        if let Some(me) = self.my_node() {
            me.vote_for_me(true);
        }
    }

    /// Votes for this server among the current voters.
    pub fn nvotes_for_me(&self) -> usize {
        self.nodes.borrow().iter().filter(|n| n.is_counted_voter() && n.has_vote_for_me()).count()
    }

    /// `raft_get_nvotes_for_me` as the original library reports it: other
    /// voting nodes (active or not) that granted their vote, plus one for
    /// this server if it is a voting node.
    pub fn nvotes_for_me_reported(&self) -> usize {
        let others =
            self.nodes.borrow().iter().filter(|n| !self.is_me(n) && n.is_voting() && n.has_vote_for_me()).count();
        others + self.my_node().is_some_and(|me| me.is_voting()) as usize
    }

    fn has_majority_of_votes(&self) -> bool {
        votes_is_majority(self.num_voting_nodes(), self.nvotes_for_me())
    }

    pub fn become_precandidate(&self) -> Result<()> {
        // Pre-votes ask for the next term, which must exist.
        self.check_next_term()?;
        let term = self.current_term.get();
        self.reset_votes();
        self.leader_id.set(NODE_ID_NONE);
        self.randomize_election_timeout();
        self.timeout_elapsed.set(0);
        self.set_role(Role::PreCandidate);
        if !self.campaigning(Role::PreCandidate, term) {
            return Ok(());
        }
        // A sole voter's own vote would be a majority; as in the original it
        // stays a pre-candidate here (`periodic` makes it leader).
        self.request_votes(true);
        Ok(())
    }

    /// Starts a real election in `term + 1`. Term and vote are persisted in
    /// one call before anything is sent; a failure leaves the server as it was.
    pub fn become_candidate(&self) -> Result<()> {
        self.check_next_term()?;
        let before = self.current_term.get();
        let term = before + 1;
        let me = self.my_id();
        self.host.persist_metadata(term, me)?;
        if self.current_term.get() != before {
            // `persist_metadata` re-entered and a call moved the term (a
            // newer leader, a vote given in `term`): that stands, and this
            // campaign does not start (its vote could be a second one).
            return Ok(());
        }
        self.current_term.set(term);
        self.voted_for.set(me);
        self.reset_votes();
        self.leader_id.set(NODE_ID_NONE);
        self.randomize_election_timeout();
        self.timeout_elapsed.set(0);
        self.set_role(Role::Candidate);
        if !self.campaigning(Role::Candidate, term) {
            return Ok(());
        }
        self.request_votes(false);
        Ok(())
    }

    /// Whether the campaign just started (as `role`, in `term`) still
    /// stands after the role's callback (`notify_state_event`), which may
    /// re-enter and end it (a newer leader heard of: asking for votes then
    /// would disrupt it, and the leader it follows must not be forgotten).
    fn campaigning(&self, role: Role, term: Term) -> bool {
        self.role.get() == role && self.current_term.get() == term
    }

    /// Refuses (`Misuse`) to start an election past `TERM_MAX`: the term
    /// would not fit (or would wrap).
    fn check_next_term(&self) -> Result<()> {
        if self.current_term.get() >= super::TERM_MAX {
            trace!(self, NODE_ID_NONE, "term {} is the last one: no election", self.current_term.get());
            return Err(RaftError::Misuse);
        }
        Ok(())
    }

    fn request_votes(&self, prevote: bool) {
        let campaign = (self.role.get(), self.current_term.get());
        self.for_each_node(|node| {
            // A send callback may re-enter and end the campaign (a newer
            // term, or already won): the rest would ask for votes it no
            // longer wants.
            if (self.role.get(), self.current_term.get()) != campaign {
                return;
            }
            if !self.is_me(node) && node.is_counted_voter() {
                // A request that fails to go out is a lost message.
                let _ = self.send_vote_request(node, prevote);
            }
        });
    }

    fn vote_request(&self, prevote: bool) -> RequestVote {
        RequestVote {
            prevote,
            term: self.current_term.get() + prevote as i64,
            candidate_id: self.my_id(),
            last_log_idx: self.current_idx(),
            last_log_term: self.last_log_term(),
        }
    }

    fn send_vote_request(&self, node: &Rc<Node<H::NodeData>>, prevote: bool) -> Result<()> {
        let msg = self.vote_request(prevote);
        self.host.send_requestvote(node, &msg)
    }

    /// `raft_send_requestvote`: one (real) vote request to `node`.
    pub fn send_requestvote(&self, node: &Rc<Node<H::NodeData>>) -> Result<()> {
        if self.is_me(node) {
            return Ok(());
        }
        let prevote = self.role.get() == Role::PreCandidate;
        self.send_vote_request(node, prevote)
    }

    /// Becomes leader: progress is reset for every node, and a no-op entry
    /// of the new term is appended so that earlier entries can commit
    /// (thesis §3.6.2, §6.4).
    ///
    /// Out of memory (the no-op, or the room to append it), it fails with
    /// `NoMem` before anything changes: the server stays a candidate and
    /// campaigns again at its next election timeout.
    pub fn become_leader(&self) -> Result<()> {
        let noop = self.host.new_entry(entry_type::NO_OP).ok_or(RaftError::NoMem)?;
        self.log().reserve(1)?;
        // This leadership's state first, the role last: the role's callback
        // (`notify_state_event`) may re-enter, and a proposal or a read made
        // there must find this leadership's progress and count (a match
        // index kept from an earlier leadership says nothing of the node's
        // log now) and its first index (a read waits for an entry of this
        // term to commit: until then the commit index may lag what the last
        // leader committed).
        let next = self.current_idx() + 1;
        self.term_start_idx.set(next);
        let now = self.now_ms.get();
        self.for_each_node(|node| node.progress().reset_for_leader(next, now));
        // A count of the voters holding an index belongs to one leadership.
        self.recount_commit_votes();
        // The leader counts itself as holding only what is durable: with auto
        // flush off, entries appended before the last raft_flush may not be
        // (they are reported again by raft_get_index_to_sync).
        if let Some(me) = self.my_node() {
            me.progress().set_match_idx(self.persisted_idx.get());
        }
        self.next_sync_index.set(self.persisted_idx.get());
        self.quorum_ack_ms.set(i64::MIN / 2);
        let term = self.current_term.get();
        self.set_role(Role::Leader);
        if self.role.get() != Role::Leader || self.current_term.get() != term {
            // The callback ended this leadership (a newer term): nothing is
            // appended or sent in its name (a no-op of the term now followed
            // would be an entry that term's leader never made).
            return Ok(());
        }
        self.timeout_elapsed.set(0);
        noop.set_term(self.current_term.get());
        self.append_to_log(&noop)?;
        self.term_start_idx.set(self.current_idx());
        // The whole log is made durable now, auto flush or not (as the
        // original library does): the leader counts it all as its own
        // match, and a sole voter commits its no-op at once.
        self.log().sync()?;
        self.note_log_persisted();
        self.next_sync_index.set(self.current_idx());
        self.send_appendentries_all()?;
        self.update_commit();
        Ok(())
    }

    /// Whether to grant a (pre-)vote, leaving state untouched.
    /// This server leads, or heard from a leader within an election timeout.
    fn has_live_leader(&self) -> bool {
        self.role.get() == Role::Leader
            || (self.leader_id.get() != NODE_ID_NONE && self.timeout_elapsed.get() < self.config.get().election_timeout)
    }

    /// Thesis §4.1: votes are granted on term and log alone, whatever this
    /// server's own (possibly stale) configuration says about itself or the
    /// candidate; the candidate counts only the voters of its configuration.
    fn should_grant_vote(&self, req: &RequestVote) -> bool {
        if req.term < self.current_term.get() {
            return false;
        }
        if req.prevote {
            // Thesis §9.6: a server that hears from a live leader does not
            // help anyone replace it.
            let leader = self.leader_id.get();
            if leader != NODE_ID_NONE
                && leader != req.candidate_id
                && self.timeout_elapsed.get() < self.config.get().election_timeout
            {
                return false;
            }
        } else if req.term == self.current_term.get() {
            let voted = self.voted_for.get();
            if voted != NODE_ID_NONE && voted != req.candidate_id {
                return false;
            }
            if self.role.get() == Role::Leader {
                return false;
            }
        }
        // Thesis §3.6.1: only a candidate whose log is at least as
        // up-to-date as ours gets the vote.
        let my_last_term = self.last_log_term();
        req.last_log_term > my_last_term
            || (req.last_log_term == my_last_term && req.last_log_idx >= self.current_idx())
    }

    /// `raft_recv_requestvote`.
    /// Refused (`Misuse`, nothing changed): a term or index out of range, a
    /// last log term above the request's term, a negative candidate id.
    pub fn recv_requestvote(
        &self,
        _node: Option<&Rc<Node<H::NodeData>>>,
        req: &RequestVote,
    ) -> Result<RequestVoteResponse> {
        if !super::valid_term(req.term)
            || !super::valid_index(req.last_log_idx)
            || !super::valid_term(req.last_log_term)
            || req.last_log_term > req.term
            || req.candidate_id < 0
        {
            return Err(RaftError::Misuse);
        }
        let mut resp = RequestVoteResponse {
            prevote: req.prevote,
            request_term: req.term,
            term: self.current_term.get(),
            vote_granted: Vote::NotGranted,
        };
        if self.node(req.candidate_id).is_none() && self.has_live_leader() {
            // Thesis §4.2.3: a server outside our configuration (removed, most
            // likely) cannot disrupt a leader we know to be alive. Without
            // one, the request is handled on term and log alone (§4.1): the
            // voter's configuration may simply be stale.
            trace!(self, req.candidate_id, "vote request from unknown node {} ignored", req.candidate_id);
            return Ok(resp);
        }
        if !req.prevote && req.term > self.current_term.get() {
            self.set_current_term(req.term)?;
            if self.role.get() != Role::Follower {
                self.become_follower();
            }
            self.leader_id.set(NODE_ID_NONE);
        }
        if self.should_grant_vote(req) {
            if !req.prevote {
                // One vote per term: a vote already given goes to the same
                // candidate again, or `should_grant_vote` refused.
                debug_assert!(
                    self.voted_for.get() == NODE_ID_NONE || self.voted_for.get() == req.candidate_id,
                    "second vote in term {}",
                    self.current_term.get()
                );
                if !self.record_vote(req.candidate_id)? {
                    // A callback moved on meanwhile (see `record_vote`).
                    resp.term = self.current_term.get();
                    return Ok(resp);
                }
                self.leader_id.set(NODE_ID_NONE);
                self.timeout_elapsed.set(0);
            }
            resp.vote_granted = Vote::Granted;
        }
        trace!(
            self,
            req.candidate_id,
            "{} request from {} term {}: {:?}",
            if req.prevote { "pre-vote" } else { "vote" },
            req.candidate_id,
            req.term,
            resp.vote_granted
        );
        resp.term = self.current_term.get();
        Ok(resp)
    }

    /// `raft_recv_requestvote_response`.
    /// Refused (`Misuse`, nothing changed): a term out of range.
    pub fn recv_requestvote_response(
        &self,
        node: Option<&Rc<Node<H::NodeData>>>,
        resp: &RequestVoteResponse,
    ) -> Result<()> {
        if !super::valid_term(resp.term) || !super::valid_term(resp.request_term) {
            return Err(RaftError::Misuse);
        }
        let Some(node) = node else { return Ok(()) };
        if resp.term > self.current_term.get() {
            return self.step_down(resp.term);
        }
        let expected = if resp.prevote {
            self.role.get() == Role::PreCandidate && resp.request_term == self.current_term.get() + 1
        } else {
            self.role.get() == Role::Candidate && resp.request_term == self.current_term.get()
        };
        if !expected || resp.vote_granted != Vote::Granted || !self.owns_node(node) {
            return Ok(());
        }
        node.vote_for_me(true);
        if self.has_majority_of_votes() {
            if resp.prevote {
                self.campaign()?;
            } else {
                self.become_leader()?;
            }
        }
        Ok(())
    }

    /// Adopts a newer term seen in an answer and follows no one yet.
    pub(crate) fn step_down(&self, term: Term) -> Result<()> {
        self.set_current_term(term)?;
        self.become_follower();
        self.leader_id.set(NODE_ID_NONE);
        Ok(())
    }

    /// `raft_vote`: records a vote for `node` (restoring state).
    pub fn vote(&self, node: Option<&Rc<Node<H::NodeData>>>) -> Result<()> {
        self.vote_for(node.map_or(NODE_ID_NONE, |n| n.id()))
    }

    /// `raft_timeout_now`: campaign at once, skipping pre-vote, as the
    /// target of a leadership transfer. A server that may not campaign
    /// (non-voting, or alone) does nothing.
    pub fn timeout_now(&self) -> Result<()> {
        if !self.may_campaign() {
            return if self.is_single_voter() { self.periodic_ms(0) } else { Err(RaftError::Misuse) };
        }
        self.election_start(true)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::server::tests::server_with_nodes;

    #[test]
    fn an_expired_follower_asks_for_pre_votes_without_changing_its_term() {
        let s = server_with_nodes(&[1, 2, 3], 1);
        s.periodic_ms(2000).unwrap();
        assert_eq!(s.role(), Role::PreCandidate);
        assert_eq!(s.current_term(), 0);
        let votes = s.host.sent_votes.borrow();
        assert_eq!(votes.len(), 2);
        assert!(votes.iter().all(|(_, v)| v.prevote && v.term == 1));
    }

    #[test]
    fn a_pre_vote_majority_starts_a_real_election_persisted_first() {
        let s = server_with_nodes(&[1, 2, 3], 1);
        s.become_precandidate().unwrap();
        let n2 = s.node(2).unwrap();
        let grant = RequestVoteResponse { prevote: true, request_term: 1, term: 0, vote_granted: Vote::Granted };
        s.recv_requestvote_response(Some(&n2), &grant).unwrap();
        assert_eq!(s.role(), Role::Candidate);
        assert_eq!(s.current_term(), 1);
        assert_eq!(*s.host.persisted.borrow(), vec![(1, 1)]);
    }

    #[test]
    fn a_failed_persist_keeps_the_candidate_from_asking_for_votes() {
        let s = server_with_nodes(&[1, 2, 3], 1);
        s.host.fail_persist.set(true);
        assert!(s.become_candidate().is_err());
        assert_eq!(s.current_term(), 0);
        assert!(s.host.sent_votes.borrow().is_empty());
    }

    #[test]
    fn a_vote_is_refused_to_a_candidate_with_a_staler_log() {
        // Thesis §3.6.1.
        let s = server_with_nodes(&[1, 2], 1);
        s.append_entry(&crate::core::log::tests::TestEntry::new(2, 1, 0)).unwrap();
        s.restore_metadata(2, NODE_ID_NONE).unwrap();
        let req = RequestVote { prevote: false, term: 3, candidate_id: 2, last_log_idx: 5, last_log_term: 1 };
        let _ = &req;
        let resp = s.recv_requestvote(None, &req).unwrap();
        assert_eq!(resp.vote_granted, Vote::NotGranted);
        assert_eq!(resp.term, 3);
    }

    #[test]
    fn one_vote_per_term() {
        let s = server_with_nodes(&[1, 2, 3], 1);
        let req = |c| RequestVote { prevote: false, term: 1, candidate_id: c, last_log_idx: 0, last_log_term: 0 };
        assert_eq!(s.recv_requestvote(None, &req(2)).unwrap().vote_granted, Vote::Granted);
        assert_eq!(s.recv_requestvote(None, &req(3)).unwrap().vote_granted, Vote::NotGranted);
        assert_eq!(s.recv_requestvote(None, &req(2)).unwrap().vote_granted, Vote::Granted);
    }

    #[test]
    fn a_non_voting_node_never_campaigns() {
        let s = server_with_nodes(&[2, 3], 0);
        s.add_non_voting_node((), 1, true).unwrap();
        s.periodic_ms(5000).unwrap();
        assert_eq!(s.role(), Role::Follower);
        assert!(s.host.sent_votes.borrow().is_empty());
    }

    #[test]
    fn a_voter_with_a_stale_configuration_still_votes_when_no_leader_is_alive() {
        // Regression (simulator, FINDINGS 5): refusing unknown candidates and
        // voting only as a voter of one's own latest configuration deadlocked
        // elections after membership changes (thesis §4.1).
        let s = server_with_nodes(&[1, 2], 1);
        let req = RequestVote { prevote: false, term: 1, candidate_id: 9, last_log_idx: 0, last_log_term: 0 };
        assert_eq!(s.recv_requestvote(None, &req).unwrap().vote_granted, Vote::Granted);
    }

    #[test]
    fn no_election_starts_past_the_last_term() {
        let s = server_with_nodes(&[1, 2, 3], 1);
        s.restore_metadata(crate::core::TERM_MAX, NODE_ID_NONE).unwrap();
        assert_eq!(s.become_candidate(), Err(RaftError::Misuse));
        assert_eq!(s.become_precandidate(), Err(RaftError::Misuse));
        assert_eq!((s.current_term(), s.role()), (crate::core::TERM_MAX, Role::Follower));
        assert!(s.host.persisted.borrow().is_empty());
        assert!(s.host.sent_votes.borrow().is_empty());
    }

    #[test]
    fn an_unknown_candidate_cannot_disrupt_a_live_leader() {
        // Thesis §4.2.3: a removed server's requests are ignored.
        let s = server_with_nodes(&[1, 2, 3], 1);
        s.become_candidate().unwrap();
        s.become_leader().unwrap();
        let req = RequestVote { prevote: false, term: 7, candidate_id: 9, last_log_idx: 50, last_log_term: 5 };
        let resp = s.recv_requestvote(None, &req).unwrap();
        assert_eq!(resp.vote_granted, Vote::NotGranted);
        assert_eq!((s.role(), s.current_term()), (Role::Leader, 1));
    }
}
