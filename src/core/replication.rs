//! Log replication, commit and apply (thesis §3.5, §3.6, §10.2.1).
//!
//! The leader pipelines appendentries: after a message is handed to the
//! host, the node's next index moves past its entries without waiting for
//! the answer. Responses carry the request's msg_id, so stale, duplicated and
//! reordered ones are recognised. A rejection carries the follower's last
//! index, so the leader backs off in one step rather than one entry at a time.

use std::rc::Rc;

use super::election::majority_value;
use super::server::{trace, APPLY_CLOCK_STRIDE, APPLY_RUN, MAX_ENTRIES_PER_MESSAGE};
use super::{valid_index, valid_term, INDEX_MAX};
use super::{
    with_buffer, AppendEntries, AppendEntriesResponse, EntryHandle, EntryId, Host, Index, Log, MsgId, Node, NodeId,
    RaftError, Result, Role, Server, Term, NODE_ID_NONE,
};

/// What `raft_recv_entry` reports about an accepted entry.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct EntryResponse {
    pub id: EntryId,
    pub term: Term,
    pub idx: Index,
}

/// An entry the leader appended, and what making it durable at once (auto
/// flush) gave. The entry is in the log either way: a failed sync is the
/// disk's failure, reported so the program learns of it, not a refusal of
/// the entry (which may still commit on the followers' copies).
#[derive(Debug, PartialEq, Eq)]
pub struct Proposal {
    pub resp: EntryResponse,
    pub synced: Result<()>,
}

impl<H: Host> Server<H> {
    /// `raft_recv_entry` for callers that need only the answer.
    pub fn recv_entry(&self, entry: &H::Entry) -> Result<EntryResponse> {
        self.propose(entry).map(|p| p.resp)
    }

    /// `raft_recv_entry`: the leader appends a client's entry in its term.
    pub fn propose(&self, entry: &H::Entry) -> Result<Proposal> {
        let entry_type = entry.entry_type();
        if super::is_cfg_change(entry_type) {
            return self.recv_cfg_change_entry(entry);
        }
        self.check_may_propose()?;
        if !super::is_client_type(entry_type) {
            // The no-op is the leader's own; negative types mean nothing.
            return Err(RaftError::Misuse);
        }
        self.check_room()?;
        entry.set_term(self.current_term.get());
        let idx = self.log().append_ordinary(entry)?;
        self.entry_accepted(entry, idx)
    }

    /// `recv_entry` for a configuration change, kept out of the common path.
    #[cold]
    #[inline(never)]
    fn recv_cfg_change_entry(&self, entry: &H::Entry) -> Result<Proposal> {
        let voting = super::is_voting_cfg_change(entry.entry_type());
        // These two come first, before "not the leader", as in the original
        // library.
        if voting && self.voting_change_in_progress() {
            return Err(RaftError::OneVotingChangeOnly);
        }
        if voting && !self.is_apply_allowed() {
            // The application may be writing the membership into a
            // snapshot; a blocking snapshot (or disabled applying) freezes it.
            return Err(RaftError::SnapshotInProgress);
        }
        self.check_may_propose()?;
        if voting && self.commit_idx.get() < self.term_start_idx.get() && self.has_other_voters() {
            // No voting change before this leader has committed an entry of
            // its term: otherwise two leaders' single-server changes can form
            // disjoint majorities (the thesis §4.1 erratum, Ongaro on
            // raft-dev, 2015). That needs another voter: a leader that is the
            // only voter, or has none (a cluster being bootstrapped), has no
            // rival, and could never commit anything before the change.
            return Err(RaftError::OneVotingChangeOnly);
        }
        if let Some(id) = self.host.get_node_id(entry, self.current_idx() + 1) {
            if id < 0 {
                // No node can have that id (-1 is "none").
                return Err(RaftError::InvalidNodeId);
            }
        }
        entry.set_term(self.current_term.get());
        let idx = self.append_to_log(entry)?;
        self.entry_accepted(entry, idx)
    }

    /// Only a leader not handing over leadership takes proposals.
    #[inline(always)]
    fn check_may_propose(&self) -> Result<()> {
        if self.role.get() != Role::Leader {
            return Err(RaftError::NotLeader);
        }
        if self.transfer_target.get() != NODE_ID_NONE {
            return Err(RaftError::LeaderTransferInProgress);
        }
        Ok(())
    }

    /// The answer to an entry appended at `idx`; with auto flush on, the
    /// entry is also made durable and sent now. The entry is accepted once
    /// appended: a failure of applying is not reported as its refusal, or a
    /// client retrying on error would write it twice; applying is retried,
    /// and its error returned, by the next call that applies. A failed sync
    /// is reported (`Proposal::synced`) beside the answer: the program must
    /// learn that its disk failed, and the answer tells it the entry is in
    /// the log all the same. Such an entry is not counted as stored on this
    /// leader until a later sync covers it.
    #[inline(always)]
    fn entry_accepted(&self, entry: &H::Entry, idx: Index) -> Result<Proposal> {
        let resp = EntryResponse { id: entry.id(), term: self.current_term.get(), idx };
        let synced = if self.config.get().auto_flush { self.flush_appended(idx) } else { Ok(()) };
        Ok(Proposal { resp, synced })
    }

    /// Auto flush after an append: sync, send, commit, apply. Only the
    /// sync's failure is returned (see `entry_accepted`).
    #[inline(never)]
    fn flush_appended(&self, idx: Index) -> Result<()> {
        self.log().sync()?;
        self.note_persisted(idx);
        self.next_sync_index.set(idx);
        self.replicate_to_all();
        self.update_commit();
        if let Err(e) = self.exec_operations() {
            trace!(self, NODE_ID_NONE, "entry {} accepted; applying failed ({:?})", idx, e);
        }
        Ok(())
    }

    /// `raft_send_appendentries_all`: a message (heartbeat, or entries from
    /// each node's next index) to every other node in the configuration,
    /// then as many more as it takes to send every entry the node lacks
    /// (the host may limit each message, or pause with `backpressure`).
    pub fn send_appendentries_all(&self) -> Result<()> {
        self.timeout_elapsed.set(0);
        self.for_each_node(|node| {
            if !self.is_me(node) && node.is_active() {
                // A send that fails is a lost message; heartbeats retry.
                if self.send_appendentries(node).is_ok() {
                    self.replicate_to(node);
                }
            }
        });
        Ok(())
    }

    /// Sends everything new to every node, as many messages as needed.
    pub(crate) fn replicate_to_all(&self) {
        self.for_each_node(|node| {
            if !self.is_me(node) && node.is_active() {
                self.replicate_to(node);
            }
        });
    }

    /// Keeps sending while `node` lacks entries and the host accepts.
    pub(crate) fn replicate_to(&self, node: &Rc<Node>) {
        loop {
            let next = node.next_idx();
            if next > self.current_idx() || node.snapshot_idx() != 0 {
                return;
            }
            if self.send_appendentries(node).is_err() || node.next_idx() <= next {
                return;
            }
        }
    }

    /// `raft_send_appendentries`: one appendentries message to `node`, or a
    /// snapshot when the entries it needs were compacted away.
    pub fn send_appendentries(&self, node: &Rc<Node>) -> Result<()> {
        if self.role.get() != Role::Leader {
            return Err(RaftError::NotLeader);
        }
        if self.is_me(node) {
            return Ok(());
        }
        if self.host.backpressure(node) {
            return Ok(());
        }
        let current = self.current_idx();
        let next = node.next_idx().min(current + 1);
        let prev = next - 1;
        let prev_term = match self.term_at(prev) {
            Some(term) if prev >= self.snapshot_last_idx.get() => term,
            _ => return self.send_snapshot(node),
        };

        let wanted = ((current - prev).max(0) as usize).min(MAX_ENTRIES_PER_MESSAGE);
        let msg_id = self.next_msg_id();
        node.set_next_msg_id(msg_id);
        let send = |entries: &[H::Entry]| {
            let msg = AppendEntries {
                term: self.current_term.get(),
                leader_id: self.my_id(),
                msg_id,
                prev_log_idx: prev,
                prev_log_term: prev_term,
                leader_commit: self.commit_idx.get(),
                entries,
            };
            (self.host.send_appendentries(node, &msg), entries.len())
        };
        let (rc, n) = if wanted == 0 {
            send(&[])
        } else if self.host.gives_entries_to_send() {
            self.send_entries_from_host(node, next, wanted, send)
        } else {
            self.log().with_entries(next, wanted, &self.send_buffer, send)
        };
        if rc == 0 && n > 0 {
            node.set_next_idx(next + n as Index);
        }
        super::check(rc)
    }

    /// `send` with the entries the host's `get_entries_to_send` picks, held
    /// in the reused send buffer.
    #[inline(never)]
    fn send_entries_from_host<R>(
        &self,
        node: &Rc<Node>,
        next: Index,
        wanted: usize,
        send: impl FnOnce(&[H::Entry]) -> R,
    ) -> R {
        with_buffer(&self.send_buffer, |held| match self.host.get_entries_to_send(node, next, wanted, held) {
            Some(n) => send(&held[..n.min(held.len())]),
            None => self.log().with_entries(next, wanted, &self.send_buffer, send),
        })
    }

    /// `raft_recv_appendentries`: the follower's side of replication.
    /// The sender is the message's `leader_id`: which node handle the
    /// message came through does not matter.
    pub fn recv_appendentries(&self, req: &AppendEntries<'_, H::Entry>) -> Result<AppendEntriesResponse> {
        check_appendentries(req)?;
        let mut resp =
            AppendEntriesResponse { msg_id: req.msg_id, term: self.current_term.get(), success: false, current_idx: 0 };
        if req.term < self.current_term.get() {
            trace!(self, req.leader_id, "stale appendentries: term {} < {}", req.term, self.current_term.get());
            resp.current_idx = self.current_idx();
            return Ok(resp);
        }
        self.follow(req.term, req.leader_id)?;
        resp.term = self.current_term.get();

        let prev = req.prev_log_idx;
        if prev > self.snapshot_last_idx.get() {
            match self.term_at(prev) {
                None => {
                    trace!(self, req.leader_id, "missing entry {} (have {})", prev, self.current_idx());
                    resp.current_idx = self.current_idx();
                    return Ok(resp);
                }
                Some(term) if term != req.prev_log_term => {
                    if prev <= self.commit_idx.get() {
                        return Err(RaftError::Shutdown);
                    }
                    trace!(self, req.leader_id, "entry {} has term {}, leader says {}", prev, term, req.prev_log_term);
                    self.delete_entries_from(prev)?;
                    resp.current_idx = prev - 1;
                    return Ok(resp);
                }
                Some(_) => {}
            }
        }

        // Skip what we already have; truncate at the first conflict. At the
        // end of the log (the common case) every entry is new.
        let mut first_new = 0;
        if prev != self.current_idx() {
            first_new = req.entries.len();
            for (i, entry) in req.entries.iter().enumerate() {
                let idx = prev + 1 + i as Index;
                if idx <= self.snapshot_last_idx.get() {
                    continue;
                }
                match self.log().term_at(idx) {
                    Some(term) if term == entry.term() => continue,
                    Some(_) => {
                        if idx <= self.commit_idx.get() {
                            return Err(RaftError::Shutdown);
                        }
                        self.delete_entries_from(idx)?;
                    }
                    None => {}
                }
                first_new = i;
                break;
            }
        }
        let new_entries = &req.entries[first_new..];
        if !new_entries.is_empty() {
            let (appended, result) = self.append_from_leader(new_entries);
            if appended > 0 {
                let synced = self.log().sync();
                if synced.is_ok() {
                    self.note_log_persisted();
                }
                result?;
                synced?;
            } else {
                result?;
            }
        }
        let last_new = prev + req.entries.len() as Index;
        // The log now ends at or after `last_new`; where exactly is asked
        // only when it matters.
        debug_assert!(self.current_idx() >= last_new);
        if last_new > self.persisted_idx.get() {
            // Entries we already had may be our own unsynced ones from a
            // leadership with auto flush off: durable before acknowledged.
            self.log().sync()?;
            self.note_log_persisted();
        }

        resp.success = true;
        resp.current_idx = last_new;
        if req.leader_commit > self.commit_idx.get() {
            let commit = req.leader_commit.min(last_new);
            if commit > self.commit_idx.get() {
                self.commit_idx.set(commit);
            }
        }
        resp.term = self.current_term.get();
        self.exec_operations()?;
        Ok(resp)
    }

    /// Appends a leader's new entries in runs; each configuration change
    /// between them is appended on its own and takes effect at once. How
    /// many were appended, and the failure that stopped it, if any.
    fn append_from_leader(&self, entries: &[H::Entry]) -> (usize, Result<()>) {
        let mut appended = 0;
        loop {
            let (run, result) = self.log().append_until_cfg_change(&entries[appended..]);
            appended += run;
            if result.is_err() || appended == entries.len() {
                return (appended, result);
            }
            if let Err(e) = self.append_to_log(&entries[appended]) {
                return (appended, Err(e));
            }
            appended += 1;
            if appended == entries.len() {
                return (appended, Ok(()));
            }
        }
    }

    /// Accepts `leader_id` as leader of `term` (not older than ours): adopts
    /// the term, steps down from candidacy, resets the election timer and
    /// settles a leadership transfer in progress.
    pub(crate) fn follow(&self, term: Term, leader_id: NodeId) -> Result<()> {
        let newer = term > self.current_term.get();
        if newer {
            self.set_current_term(term)?;
        }
        match self.role.get() {
            Role::Follower => {}
            // Two leaders in one term cannot be; refuse rather than follow.
            Role::Leader if !newer => return Err(RaftError::Failed),
            _ => self.become_follower(),
        }
        if newer || self.leader_id.get() != leader_id {
            // A snapshot half received from another leader (or term) is not
            // this leader's: the new transfer starts from offset 0.
            self.drop_incoming_snapshot();
        }
        self.leader_id.set(leader_id);
        self.timeout_elapsed.set(0);
        if self.transfer_target.get() != NODE_ID_NONE {
            self.reset_transfer_leader(false);
        }
        Ok(())
    }

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

    /// Applies committed entries in order, returning early once half a
    /// request timeout has passed (`pending_operations` then says so).
    pub(crate) fn apply_committed(&self) -> Result<()> {
        if !self.is_apply_allowed() || self.last_applied_idx() >= self.commit_idx.get() {
            return Ok(());
        }
        self.exclusive_apply(Ok(()), || self.apply_committed_now())
    }

    #[inline(always)]
    fn apply_committed_now(&self) -> Result<()> {
        let mut clock = ApplyClock::start(self.host.now_us(), self.config.get().request_timeout * 1000 / 2);
        // Entries come from the log a run at a time (one log access for
        // many, lent rather than held where the log can).
        let result = loop {
            let first = self.last_applied_idx() + 1;
            let commit = self.commit_idx.get();
            if first > commit {
                break Ok(());
            }
            let want = ((commit - first + 1) as usize).min(APPLY_RUN);
            // Most runs hold no configuration change, and the log can say so.
            let check_types = self.log().may_hold_cfg_change(first);
            let applied = self.log().with_entries(first, want, &self.apply_buffer, |run| {
                if check_types {
                    self.apply_run::<true>(first, run, &mut clock)
                } else {
                    self.apply_run::<false>(first, run, &mut clock)
                }
            });
            match applied {
                Ok(true) => {}
                other => break other.map(|_| ()),
            }
        };
        result
    }

    /// Applies `run`, the entries from `first` on. `Ok(false)` when applying
    /// must stop for now: nothing to apply, out of time, or a callback
    /// blocked applying (a snapshot began) or applied on its own.
    ///
    /// What the loop relies on (applying allowed, the last applied index,
    /// the callbacks) changes only inside callbacks, and every such change
    /// is flagged (`disturb_apply`): so they are checked once here and then
    /// only the flag after each callback. The clock is read after each
    /// stride of entries (see `ApplyClock`). Without `CHECK_TYPES`, the run
    /// is known to hold no configuration change.
    fn apply_run<const CHECK_TYPES: bool>(
        &self,
        first: Index,
        run: &[H::Entry],
        clock: &mut ApplyClock,
    ) -> Result<bool> {
        let mut idx = first - 1;
        if run.is_empty() || self.last_applied_idx() != idx || !self.is_apply_allowed() {
            return Ok(false);
        }
        self.watch_apply();
        let applylog = self.host.applier();
        let mut rest = run;
        let deadline = clock.deadline;
        // One entry: `None` to go on, else what the run returns.
        let step = |entry: &H::Entry, idx: Index| -> Option<Result<bool>> {
            if let Err(e) = super::check(applylog(entry, idx)) {
                return Some(Err(e));
            }
            if self.apply_disturbed() {
                // Look again from the top.
                return Some(Ok(self.count_if_in_place::<CHECK_TYPES>(entry, idx) && self.host.now_us() < deadline));
            }
            if !self.applied::<CHECK_TYPES>(entry, idx) {
                return Some(Ok(false));
            }
            None
        };
        while !rest.is_empty() {
            let (stride, later) = rest.split_at(clock.stride.min(rest.len()));
            // Four entries per turn: the loop's own cost is a third of an
            // entry's here (measured with `make bench-profile`).
            let mut quads = stride.chunks_exact(4);
            for quad in &mut quads {
                for (k, entry) in quad.iter().enumerate() {
                    if let Some(stop) = step(entry, idx + 1 + k as Index) {
                        return stop;
                    }
                }
                idx += 4;
            }
            for entry in quads.remainder() {
                idx += 1;
                if let Some(stop) = step(entry, idx) {
                    return stop;
                }
            }
            if let Some(last) = stride.last() {
                self.settle_applied_term(idx, last.term());
            }
            rest = later;
            if rest.is_empty() && idx >= self.commit_idx.get() {
                // All caught up: no clock reading needed to decide.
                break;
            }
            if !clock.time_left(self.host.now_us()) {
                return Ok(false);
            }
        }
        Ok(true)
    }

    /// Counts `entry`, just handed to `applylog`, as applied. `false` if a
    /// membership callback moved the last applied index meanwhile.
    #[inline(always)]
    fn applied<const CHECK_TYPES: bool>(&self, entry: &H::Entry, idx: Index) -> bool {
        self.advance_applied(idx);
        if CHECK_TYPES && super::is_cfg_change(entry.entry_type()) {
            self.settle_applied_term(idx, entry.term());
            return self.cfg_change_applied(entry, idx);
        }
        true
    }

    /// `raft_apply_all`: applies everything committed, without a time limit.
    /// From inside a callback of a running apply, nothing (it goes on).
    pub fn apply_all(&self) -> Result<()> {
        self.exclusive_apply(Ok(()), || self.apply_all_now())
    }

    fn apply_all_now(&self) -> Result<()> {
        while self.last_applied_idx() < self.commit_idx.get() && self.is_apply_allowed() {
            if !self.apply_next()? {
                break;
            }
        }
        Ok(())
    }

    /// `raft_apply_entry`: applies the entry after the last applied one.
    /// `Ok(false)` when there is nothing to apply, or when called from a
    /// callback of a running apply (which goes on).
    pub fn apply_one(&self) -> Result<bool> {
        self.exclusive_apply(Ok(false), || self.apply_next())
    }

    fn apply_next(&self) -> Result<bool> {
        if !self.is_apply_allowed() {
            return Ok(false);
        }
        let idx = self.last_applied_idx() + 1;
        if idx > self.commit_idx.get() {
            return Ok(false);
        }
        let Some(entry) = self.log().get(idx) else { return Ok(false) };
        self.apply_entry(&entry, idx)?;
        // Applied, even if a callback moved the index on afterwards.
        Ok(true)
    }

    /// Hands the committed entry at `idx`, the one after the last applied,
    /// to the state machine. `Ok(false)` if a callback moved the last
    /// applied index meanwhile (a snapshot load, an application applying on
    /// its own): the entry is then not counted as applied here.
    fn apply_entry(&self, entry: &H::Entry, idx: Index) -> Result<bool> {
        super::check(self.host.applylog(entry, idx))?;
        // The entry is still alive: held or lent.
        Ok(self.count_if_in_place::<true>(entry, idx))
    }

    /// After `applylog` for `entry` at `idx` ran callbacks that may have
    /// moved things: counts the entry as applied (its term settled) unless
    /// the last applied index moved meanwhile. Whether it was counted.
    fn count_if_in_place<const CHECK_TYPES: bool>(&self, entry: &H::Entry, idx: Index) -> bool {
        if self.last_applied_idx() != idx - 1 {
            return false;
        }
        let counted = self.applied::<CHECK_TYPES>(entry, idx);
        if counted {
            self.settle_applied_term(idx, entry.term());
        }
        counted
    }

    /// The rare part of `applied`. A voting change's marker needs
    /// clearing only here: it is only ever set for a voting change's index,
    /// and once that index is committed the marker no longer blocks anything
    /// (`voting_change_in_progress` compares it with the commit index).
    #[cold]
    #[inline(never)]
    fn cfg_change_applied(&self, entry: &H::Entry, idx: Index) -> bool {
        if idx == self.voting_cfg_change_log_idx.get() {
            self.voting_cfg_change_log_idx.set(-1);
        }
        self.on_cfg_change_applied(entry, idx);
        // Membership callbacks ran: carry on only if nothing moved.
        self.last_applied_idx() == idx
    }

    /// `raft_pending_operations`: entries to apply or reads to answer.
    pub fn pending_operations(&self) -> bool {
        (self.is_apply_allowed() && self.last_applied_idx() < self.commit_idx.get()) || self.has_ready_reads()
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

/// Refuses (`Misuse`, before anything changes) an appendentries message no
/// correct leader sends: a term, index or commit index out of range, a
/// previous entry of a later term than the message, entries whose terms
/// fall (below the previous entry's or one another's) or exceed the
/// message's term, or more entries than indexes are left.
fn check_appendentries<E: EntryHandle>(req: &AppendEntries<'_, E>) -> Result<()> {
    if !valid_term(req.term)
        || !valid_index(req.prev_log_idx)
        || !valid_term(req.prev_log_term)
        || !valid_index(req.leader_commit)
        || req.prev_log_term > req.term
        || req.entries.len() as u64 > (INDEX_MAX - req.prev_log_idx) as u64
    {
        return Err(RaftError::Misuse);
    }
    // One pass without early exit: the common batch is well-formed.
    let (mut last, mut bad) = (req.prev_log_term, false);
    for entry in req.entries {
        let term = entry.term();
        bad |= term < last || term > req.term;
        last = term;
    }
    if bad {
        return Err(RaftError::Misuse);
    }
    Ok(())
}

/// The time budget of one apply call and how often to check it.
///
/// The clock is read after every stride of entries. A stride starts at
/// `APPLY_CLOCK_STRIDE` entries and grows `APPLY_STRIDE_GROWTH` times (up to
/// `APPLY_RUN`) while the last one took under 1/`APPLY_STRIDE_HEADROOM` of
/// the time still left: cheap entries cost few clock reads, and the next
/// stride, at that many times the last one's cost, still ends well inside
/// the budget. Entries that take real time keep the stride short.
pub(crate) struct ApplyClock {
    deadline: i64,
    last_read: i64,
    stride: usize,
}

/// See `ApplyClock`.
const APPLY_STRIDE_GROWTH: usize = 4;
const APPLY_STRIDE_HEADROOM: i64 = 64;

impl ApplyClock {
    pub(crate) fn start(now: i64, budget: i64) -> ApplyClock {
        ApplyClock { deadline: now.saturating_add(budget), last_read: now, stride: APPLY_CLOCK_STRIDE }
    }

    /// Whether the budget has time left at `now`, the time after a stride.
    fn time_left(&mut self, now: i64) -> bool {
        if now >= self.deadline {
            return false;
        }
        // Wrapping: a clock that jumps about only changes the stride.
        let spent = now.wrapping_sub(self.last_read);
        if spent.wrapping_mul(APPLY_STRIDE_HEADROOM) < self.deadline.wrapping_sub(now) && self.stride < APPLY_RUN {
            self.stride = (self.stride * APPLY_STRIDE_GROWTH).min(APPLY_RUN);
        }
        self.last_read = now;
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::log::tests::TestEntry;
    use crate::core::server::tests::server_with_nodes;
    use crate::core::*;

    fn leader_of(ids: &[NodeId]) -> Server<crate::core::server::tests::ScriptHost> {
        let s = server_with_nodes(ids, 1);
        s.become_candidate().unwrap();
        s.become_leader().unwrap();
        s
    }

    fn ack(s: &Server<crate::core::server::tests::ScriptHost>, id: NodeId, msg_id: u64, idx: Index) {
        let node = s.node(id).unwrap();
        let resp = AppendEntriesResponse { msg_id, term: s.current_term(), success: true, current_idx: idx };
        s.recv_appendentries_response(Some(&node), &resp).unwrap();
    }

    #[test]
    fn an_entry_commits_once_a_majority_stores_it() {
        let s = leader_of(&[1, 2, 3]);
        let r = s.recv_entry(&TestEntry::new(0, 7, 0)).unwrap();
        assert_eq!((r.idx, r.term, r.id), (2, 1, 7));
        assert_eq!(s.commit_idx(), 0);
        ack(&s, 2, 10, 2);
        assert_eq!(s.commit_idx(), 2);
        assert_eq!(*s.host.applied.borrow(), vec![1, 2]);
    }

    #[test]
    fn entries_of_an_earlier_term_do_not_commit_by_counting() {
        // Thesis §3.6.2, figure 3.7.
        let s = server_with_nodes(&[1, 2, 3], 1);
        s.append_entry(&TestEntry::new(1, 1, 0)).unwrap();
        s.restore_metadata(1, NODE_ID_NONE).unwrap();
        s.become_candidate().unwrap();
        s.role.set(Role::Leader);
        s.my_node().unwrap().set_match_idx(1);
        for id in [2, 3] {
            s.node(id).unwrap().set_next_idx(2);
        }
        ack(&s, 2, 1, 1);
        assert_eq!(s.commit_idx(), 0);
    }

    #[test]
    fn a_stale_rejection_after_a_success_is_ignored() {
        let s = leader_of(&[1, 2, 3]);
        for _ in 0..3 {
            s.recv_entry(&TestEntry::new(0, 1, 0)).unwrap();
        }
        ack(&s, 2, 20, 4);
        let node = s.node(2).unwrap();
        let stale = AppendEntriesResponse { msg_id: 5, term: 1, success: false, current_idx: 0 };
        s.recv_appendentries_response(Some(&node), &stale).unwrap();
        assert_eq!(node.match_idx(), 4);
        assert_eq!(node.next_idx(), 5);
    }

    #[test]
    fn a_rejection_backs_off_to_the_followers_last_index_in_one_step() {
        let s = leader_of(&[1, 2, 3]);
        for _ in 0..10 {
            s.recv_entry(&TestEntry::new(0, 1, 0)).unwrap();
        }
        let node = s.node(2).unwrap();
        let msg_id = s.msg_id();
        let reject = AppendEntriesResponse { msg_id, term: 1, success: false, current_idx: 3 };
        s.host.sent_appends.borrow_mut().clear();
        s.recv_appendentries_response(Some(&node), &reject).unwrap();
        let sent = s.host.sent_appends.borrow();
        assert_eq!(sent[0].0, 2);
        assert_eq!(sent[0].2, 3, "resent from prev index 3");
    }

    #[test]
    fn a_follower_truncates_a_conflicting_suffix_but_keeps_matching_entries() {
        let s = server_with_nodes(&[1, 2], 2);
        for t in [1, 1, 1] {
            s.append_entry(&TestEntry::new(t, 0, 0)).unwrap();
        }
        let new = [TestEntry::new(1, 0, 0), TestEntry::new(2, 0, 0)];
        let req = AppendEntries {
            term: 2,
            leader_id: 1,
            msg_id: 1,
            prev_log_idx: 1,
            prev_log_term: 1,
            leader_commit: 0,
            entries: &new,
        };
        let resp = s.recv_appendentries(&req).unwrap();
        assert!(resp.success);
        assert_eq!(resp.current_idx, 3);
        assert_eq!(s.current_idx(), 3);
        assert_eq!(s.term_at(3), Some(2));
    }

    #[test]
    fn a_follower_refuses_to_truncate_committed_entries() {
        let s = server_with_nodes(&[1, 2], 2);
        s.append_entry(&TestEntry::new(1, 0, 0)).unwrap();
        s.append_entry(&TestEntry::new(1, 0, 0)).unwrap();
        s.set_commit_idx(2);
        let new = [TestEntry::new(2, 0, 0)];
        let req = AppendEntries {
            term: 2,
            leader_id: 1,
            msg_id: 1,
            prev_log_idx: 1,
            prev_log_term: 1,
            leader_commit: 0,
            entries: &new,
        };
        assert_eq!(s.recv_appendentries(&req).unwrap_err(), RaftError::Shutdown);
    }

    #[test]
    fn a_follower_commits_no_further_than_what_it_has_verified() {
        let s = server_with_nodes(&[1, 2], 2);
        let new = [TestEntry::new(1, 0, 0)];
        let req = AppendEntries {
            term: 1,
            leader_id: 1,
            msg_id: 1,
            prev_log_idx: 0,
            prev_log_term: 0,
            leader_commit: 9,
            entries: &new,
        };
        s.recv_appendentries(&req).unwrap();
        assert_eq!(s.commit_idx(), 1);
    }

    #[test]
    fn a_leader_steps_down_on_appendentries_of_a_higher_term() {
        // Regression (simulator, FINDINGS 1): the term was compared after
        // adopting it, so the old leader refused and stayed leader.
        let s = leader_of(&[1, 2, 3]);
        let req = AppendEntries {
            term: 5,
            leader_id: 2,
            msg_id: 1,
            prev_log_idx: 0,
            prev_log_term: 0,
            leader_commit: 0,
            entries: &[],
        };
        s.recv_appendentries(&req).unwrap();
        assert_eq!(s.role(), Role::Follower);
        assert_eq!((s.current_term(), s.leader_id()), (5, 2));
    }

    #[test]
    fn a_follower_that_lost_acknowledged_entries_is_resent_them() {
        // Regression (simulator, FINDINGS 4): back-off never went below the
        // match index, so such a follower stalled for good.
        let s = leader_of(&[1, 2, 3]);
        for _ in 0..5 {
            s.recv_entry(&TestEntry::new(0, 1, 0)).unwrap();
        }
        ack(&s, 2, s.msg_id(), 6);
        let node = s.node(2).unwrap();
        let reject = AppendEntriesResponse { msg_id: s.msg_id() + 1, term: 1, success: false, current_idx: 3 };
        s.msg_id.set(s.msg_id() + 1);
        s.recv_appendentries_response(Some(&node), &reject).unwrap();
        assert_eq!(node.match_idx(), 3);
        assert_eq!(node.next_idx(), 7, "everything from 4 was resent at once");
    }

    #[test]
    fn no_voting_change_before_the_leader_commits_an_entry_of_its_term() {
        // Regression (simulator, FINDINGS 6): the thesis §4.1 erratum.
        let s = leader_of(&[1, 2, 3]);
        let add = TestEntry::new(0, 4, entry_type::ADD_NODE);
        assert_eq!(s.recv_entry(&add).unwrap_err(), RaftError::OneVotingChangeOnly);
        ack(&s, 2, s.msg_id(), 1);
        assert_eq!(s.commit_idx(), 1);
        assert!(s.recv_entry(&add).is_ok());
    }

    #[test]
    fn a_leader_with_no_other_voter_makes_a_voting_change_at_once() {
        // Bootstrap: a non-voting self made leader adds itself as a voter.
        let s = Server::new(crate::core::server::tests::ScriptHost::default());
        s.add_non_voting_node(std::ptr::null_mut(), 1, true).unwrap();
        let mut c = s.config();
        c.auto_flush = false; // nothing commits until flushed
        s.set_config(c);
        s.set_current_term(1).unwrap();
        s.become_leader().unwrap();
        assert!(s.recv_entry(&TestEntry::new(0, 1, entry_type::ADD_NODE)).is_ok());
        assert_eq!(s.num_voting_nodes(), 1);
        // One voting change at a time still holds, even for a sole voter.
        let add = TestEntry::new(0, 2, entry_type::ADD_NODE);
        assert_eq!(s.recv_entry(&add).unwrap_err(), RaftError::OneVotingChangeOnly);
        s.flush(2).unwrap();
        assert_eq!(s.commit_idx(), 2);
        assert!(s.recv_entry(&add).is_ok());
    }

    #[test]
    fn a_voting_change_during_a_blocking_snapshot_is_refused_before_leadership_is_checked() {
        let s = server_with_nodes(&[1, 2, 3], 1);
        s.append_entry(&TestEntry::new(0, 0, 0)).unwrap();
        s.append_entry(&TestEntry::new(0, 0, 0)).unwrap();
        s.set_commit_idx(2);
        s.begin_snapshot().unwrap();
        let add = TestEntry::new(0, 4, entry_type::ADD_NODE);
        assert_eq!(s.recv_entry(&add).unwrap_err(), RaftError::SnapshotInProgress);
        let non_voting = TestEntry::new(0, 4, entry_type::ADD_NONVOTING_NODE);
        assert_eq!(s.recv_entry(&non_voting).unwrap_err(), RaftError::NotLeader);
    }

    #[test]
    fn with_auto_flush_off_a_new_leader_syncs_its_log_before_counting_it() {
        // Regression (simulator, FINDINGS 7): a new leader counted entries
        // never synced as its own match. As the original library does, it
        // now syncs the whole log on becoming leader, so what it counts is
        // durable.
        let s = server_with_nodes(&[1, 2, 3], 1);
        let mut c = s.config();
        c.auto_flush = false;
        s.set_config(c);
        s.become_candidate().unwrap();
        s.become_leader().unwrap();
        s.recv_entry(&TestEntry::new(0, 1, 0)).unwrap();
        s.become_follower();
        s.become_candidate().unwrap();
        s.become_leader().unwrap();
        assert_eq!(s.my_node().unwrap().match_idx(), 3);
        assert_eq!(s.index_to_sync(), 0, "nothing is left to sync");
    }

    #[test]
    fn appendentries_no_correct_leader_sends_are_refused_before_anything_changes() {
        let s = server_with_nodes(&[1, 2], 2);
        let msg = |term, prev_term, entries: &[TestEntry]| {
            let req = AppendEntries {
                term,
                leader_id: 1,
                msg_id: 1,
                prev_log_idx: 0,
                prev_log_term: prev_term,
                leader_commit: 0,
                entries,
            };
            s.recv_appendentries(&req).map(|r| r.success)
        };
        let falling = [TestEntry::new(2, 0, 0), TestEntry::new(1, 0, 0)];
        assert_eq!(msg(3, 0, &falling), Err(RaftError::Misuse));
        assert_eq!(msg(1, 0, &[TestEntry::new(2, 0, 0)]), Err(RaftError::Misuse), "above the sender's term");
        assert_eq!(msg(1, 0, &[TestEntry::new(-1, 0, 0)]), Err(RaftError::Misuse), "negative");
        assert_eq!(msg(1, 2, &[]), Err(RaftError::Misuse), "previous entry of a later term");
        assert_eq!(msg(TERM_MAX + 1, 0, &[]), Err(RaftError::Misuse));
        assert_eq!((s.current_term(), s.current_idx(), s.leader_id()), (0, 0, NODE_ID_NONE));
        assert_eq!(msg(TERM_MAX, 0, &[TestEntry::new(1, 0, 0), TestEntry::new(TERM_MAX, 0, 0)]), Ok(true));
        assert_eq!(s.current_idx(), 2);
    }

    #[test]
    fn a_leader_refuses_client_no_ops_and_negative_types() {
        let s = leader_of(&[1, 2, 3]);
        for ty in [entry_type::NO_OP, -1, i16::MIN as i32] {
            assert_eq!(s.recv_entry(&TestEntry::new(0, 1, ty)).unwrap_err(), RaftError::Misuse);
        }
        assert_eq!(s.current_idx(), 1);
        assert_eq!(s.recv_entry(&TestEntry::new(0, 1, 100)).unwrap().idx, 2);
    }

    #[test]
    fn apply_clock_lengthens_strides_only_while_they_are_cheap() {
        let mut clock = ApplyClock::start(1_000, 100_000);
        assert_eq!(clock.stride, APPLY_CLOCK_STRIDE);
        // Strides that take no time grow, up to a whole run.
        let mut strides = vec![];
        for _ in 0..3 {
            assert!(clock.time_left(1_000));
            strides.push(clock.stride);
        }
        assert_eq!(strides, [32, 64, 64]);
        // A stride that takes a real share of the budget keeps the stride.
        let mut clock = ApplyClock::start(0, 100_000);
        assert!(clock.time_left(40_000));
        assert_eq!(clock.stride, APPLY_CLOCK_STRIDE);
        // Out of time at the deadline.
        assert!(clock.time_left(99_999));
        assert!(!clock.time_left(100_000));
    }
}
