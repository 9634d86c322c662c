//! Snapshots: taking them and compacting the log (thesis §5.1), sending
//! them in chunks to followers that need compacted entries, and receiving
//! and loading them.
//!
//! Sending: the leader asks the host for chunks from the node's offset and
//! sends one message per chunk until the host says `RAFT_ERR_DONE` (pause)
//! or the last chunk is out. The follower answers with the offset it
//! expects next, so a lost chunk is resent from there. The last chunk is
//! stored and loaded in one step; a failed load answers "start again from
//! offset 0", so the leader retries rather than stalls.

use std::rc::Rc;

use super::server::trace;
use super::{
    Chunk, ChunkReply, Host, Index, Log, Node, RaftError, Result, Role, Server, SnapshotRequest, SnapshotResponse, Term,
    NODE_ID_NONE,
};

impl<H: Host> Server<H> {
    /// `raft_begin_snapshot`: applies everything committed, then fixes the
    /// snapshot point at the last applied entry. Fails with -1 when there is
    /// nothing new to snapshot (`num_snapshottable_logs` is 0).
    pub fn begin_snapshot(&self) -> Result<()> {
        if self.snapshot_in_progress() {
            return Err(RaftError::SnapshotInProgress);
        }
        if self.num_snapshottable_logs() == 0 {
            return Err(RaftError::Failed);
        }
        self.apply_all()?;
        let idx = self.last_applied_idx();
        if idx <= self.snapshot_last_idx.get() {
            return Err(RaftError::Failed);
        }
        let term = self.term_at(idx).ok_or(RaftError::Failed)?;
        self.next_snapshot_last_idx.set(idx);
        self.next_snapshot_last_term.set(term);
        self.set_snapshot_in_progress(true);
        trace!(self, NODE_ID_NONE, "snapshot begins at {} (term {})", idx, term);
        Ok(())
    }

    /// `raft_end_snapshot`: compacts the log up to the snapshot point.
    /// Fails (-1) when a newer snapshot was loaded from the leader while this
    /// one was being taken: the log already starts past it, and the snapshot
    /// just taken is obsolete.
    pub fn end_snapshot(&self) -> Result<()> {
        if !self.snapshot_in_progress() {
            return Err(RaftError::Failed);
        }
        let idx = self.next_snapshot_last_idx.get();
        if idx <= self.snapshot_last_idx.get() {
            self.set_snapshot_in_progress(false);
            return Err(RaftError::Failed);
        }
        self.log().poll(idx + 1)?;
        self.snapshot_last_idx.set(idx);
        self.snapshot_last_term.set(self.next_snapshot_last_term.get());
        self.set_snapshot_in_progress(false);
        trace!(self, NODE_ID_NONE, "snapshot ends at {}; log starts at {}", idx, self.first_entry_idx());
        Ok(())
    }

    /// `raft_cancel_snapshot`: the snapshot point is forgotten; the log and
    /// the previous snapshot are untouched.
    pub fn cancel_snapshot(&self) -> Result<()> {
        if !self.snapshot_in_progress() {
            return Err(RaftError::Failed);
        }
        self.set_snapshot_in_progress(false);
        Ok(())
    }

    pub fn snapshot_last_idx(&self) -> Index {
        self.snapshot_last_idx.get()
    }

    pub fn snapshot_last_term(&self) -> Term {
        self.snapshot_last_term.get()
    }

    /// `raft_set_snapshot_metadata`.
    pub fn set_snapshot_metadata(&self, term: Term, idx: Index) {
        if super::valid_term(term) && super::valid_index(idx) {
            self.snapshot_last_term.set(term);
            self.snapshot_last_idx.set(idx);
        }
    }

    /// Committed entries still in the log, which a snapshot could remove;
    /// 0 while the log holds one entry or none, as in the original library.
    pub fn num_snapshottable_logs(&self) -> Index {
        if self.log().count() <= 1 {
            return 0;
        }
        let first = self.first_entry_idx();
        (self.commit_idx.get().min(self.current_idx()) - first + 1).max(0)
    }

    /// `raft_restore_snapshot`: on restart, before the log and metadata.
    /// Refused (`Misuse`) for a negative term or index and once the server
    /// has started. As in the original library, the current term becomes
    /// the snapshot's (not persisted: `restore_metadata` sets the real one).
    pub fn restore_snapshot(&self, term: Term, idx: Index) -> Result<()> {
        if idx < 0
            || term < 0
            || self.current_term.get() != 0
            || self.commit_idx.get() != 0
            || self.snapshot_last_idx.get() != 0
            || self.last_applied_idx() != 0
            || self.role.get() != Role::Follower
        {
            return Err(RaftError::Misuse);
        }
        if !super::valid_index(idx) || !super::valid_term(term) {
            return Err(RaftError::Failed);
        }
        self.current_term.set(term);
        self.snapshot_last_idx.set(idx);
        self.snapshot_last_term.set(term);
        self.commit_idx.set(idx);
        self.move_last_applied(idx, term);
        if self.log().count() == 0 && self.log().first_idx() != idx + 1 {
            self.log().reset(idx + 1, term);
        }
        self.commit_membership();
        Ok(())
    }

    /// `raft_begin_load_snapshot`: replaces the log and the configuration
    /// with a received snapshot. The host then re-adds the nodes the
    /// snapshot names and calls `end_load_snapshot`.
    pub fn begin_load_snapshot(&self, term: Term, idx: Index) -> Result<()> {
        if idx <= 0
            || term <= 0
            || !super::valid_index(idx)
            || !super::valid_term(term)
            || idx < self.last_applied_idx()
            || self.snapshot_conflicts_with_committed(idx, term)
        {
            // Loading it would move the state machine back, or rewrite a
            // committed entry.
            return Err(RaftError::Misuse);
        }
        if idx <= self.snapshot_last_idx.get() {
            return Err(RaftError::SnapshotAlreadyLoaded);
        }
        // Before any change: nodes to replace those about to be removed, so
        // that adding them back (the application's next step) cannot fail
        // for want of memory.
        self.reserve_spare_nodes(self.num_nodes())?;
        if idx <= self.current_idx() && self.term_at(idx) == Some(term) {
            // Thesis §5.3: the log already holds the snapshot's last entry, so
            // the entries after it are consistent with it and stay.
            self.log().poll(idx + 1)?;
        } else {
            self.log().reset(idx + 1, term);
            self.forget_durability_past_log_end();
        }
        self.snapshot_last_idx.set(idx);
        self.snapshot_last_term.set(term);
        if idx > self.commit_idx.get() {
            self.commit_idx.set(idx);
        }
        self.move_last_applied(idx, term);
        self.voting_cfg_change_log_idx.set(-1);
        self.note_log_persisted();
        self.remove_all_other_nodes();
        trace!(self, NODE_ID_NONE, "loading snapshot {} (term {})", idx, term);
        Ok(())
    }

    /// `raft_end_load_snapshot`: the configuration from the snapshot is
    /// committed; configuration entries the log kept after the snapshot
    /// take effect again on top of it.
    pub fn end_load_snapshot(&self) -> Result<()> {
        self.commit_membership();
        self.replay_cfg_changes(self.snapshot_last_idx.get() + 1)
    }

    /// Sends snapshot chunks to `node` until the host pauses or the last
    /// chunk is out. A node already past the snapshot gets none.
    pub(crate) fn send_snapshot(&self, node: &Rc<Node<H::NodeData>>) -> Result<()> {
        let progress = node.progress();
        let snapshot_idx = self.snapshot_last_idx.get();
        if snapshot_idx == 0 || (progress.match_idx() >= snapshot_idx && progress.next_idx() > progress.match_idx()) {
            // The node's log covers the snapshot. Only an application that
            // set the node's next index at or below its match index (to
            // force a snapshot, as RedisRaft's RAFT.DEBUG SENDSNAPSHOT does)
            // gets one anyway.
            return Ok(());
        }
        if progress.snapshot_idx() != snapshot_idx {
            // A first attempt, or the leader took a newer snapshot meanwhile.
            // Answers name no snapshot, so answers to anything sent before
            // this transfer are stale.
            progress.set_snapshot_idx(snapshot_idx);
            progress.set_snapshot_offset(0);
            progress.set_snapshot_final_offset(None);
            progress.set_resync_msg_id(self.msg_id.get() + 1);
        }
        if let Some(final_offset) = progress.snapshot_final_offset() {
            // Every chunk is out but unanswered: resend the last one as a
            // probe; the follower's answer says where to go on.
            return self.send_snapshot_chunk(node, final_offset).map(|_| ());
        }
        loop {
            match self.send_snapshot_chunk(node, progress.snapshot_offset())? {
                Some(chunk) if chunk.last_chunk => {
                    progress.set_snapshot_final_offset(Some(chunk.offset));
                    return Ok(());
                }
                Some(chunk) if chunk.len > 0 => match chunk.offset.checked_add(chunk.len) {
                    Some(next) => progress.set_snapshot_offset(next),
                    // The host's chunk ends past 2^64: nothing sensible follows.
                    None => return Ok(()),
                },
                // Paused by the host, or a chunk that would not advance.
                _ => return Ok(()),
            }
        }
    }

    /// One chunk at `offset`; `None` when the host pauses or cannot send.
    /// The callbacks (`get_snapshot_chunk`, and `send_snapshot` for the
    /// chunk before) may re-enter and end this leadership: nothing then goes
    /// out in its name.
    fn send_snapshot_chunk(&self, node: &Rc<Node<H::NodeData>>, offset: u64) -> Result<Option<Chunk<H::ChunkData>>> {
        let term = self.current_term.get();
        let still_leading = || self.role.get() == Role::Leader && self.current_term.get() == term;
        if !still_leading() {
            return Err(RaftError::NotLeader);
        }
        let mut chunk = Chunk { offset, ..Chunk::default() };
        match self.host.get_snapshot_chunk(node, offset, &mut chunk)? {
            ChunkReply::Ready => {}
            ChunkReply::Paused | ChunkReply::Unavailable => return Ok(None),
        }
        if !still_leading() {
            return Err(RaftError::NotLeader);
        }
        chunk.offset = offset;
        let msg = SnapshotRequest {
            term,
            leader_id: self.my_id(),
            msg_id: self.next_msg_id(),
            snapshot_index: self.snapshot_last_idx.get(),
            snapshot_term: self.snapshot_last_term.get(),
            chunk,
        };
        node.progress().set_next_msg_id(msg.msg_id);
        if self.host.send_snapshot(node, &msg).is_err() {
            return Ok(None);
        }
        Ok(Some(chunk))
    }

    /// `raft_recv_snapshot`: the follower's side.
    /// Refused (`Misuse`, nothing changed): a term or index out of range, a
    /// snapshot of a later term than the message, a chunk whose end does
    /// not fit in 64 bits.
    /// True when the snapshot's last entry, `index` of `term`, contradicts
    /// a committed entry this server holds.
    fn snapshot_conflicts_with_committed(&self, index: Index, term: Term) -> bool {
        index <= self.commit_idx.get() && self.term_at(index).is_some_and(|t| t != term)
    }

    pub fn recv_snapshot(
        &self,
        _node: Option<&Rc<Node<H::NodeData>>>,
        req: &SnapshotRequest<H::ChunkData>,
    ) -> Result<SnapshotResponse> {
        if !super::valid_term(req.term)
            || !super::valid_index(req.snapshot_index)
            || !super::valid_term(req.snapshot_term)
            || req.snapshot_term > req.term
            || req.chunk.offset.checked_add(req.chunk.len).is_none()
        {
            return Err(RaftError::Misuse);
        }
        let mut resp = SnapshotResponse {
            msg_id: req.msg_id,
            term: self.current_term.get(),
            offset: 0,
            success: false,
            last_chunk: req.chunk.last_chunk,
        };
        if req.term < self.current_term.get() || self.follower_appending.get() {
            // (The latter: handled from a callback of an appendentries that
            // is changing the log; refused, as if lost.)
            return Ok(resp);
        }
        let following = self.follow(req.term, req.leader_id)?;
        resp.term = self.current_term.get();
        if !following {
            // A callback moved on to a newer term: the chunk is stale now.
            return Ok(resp);
        }

        if req.snapshot_index <= self.snapshot_last_idx.get() {
            // We have this snapshot (or a newer one): the leader may stop.
            // Any newer one is loaded, even if the log holds its entries
            // (the application may force one; loading keeps the entries
            // after it, so nothing acknowledged is lost).
            resp.success = true;
            resp.last_chunk = true;
            resp.offset = req.chunk.offset + req.chunk.len;
            return Ok(resp);
        }
        if self.snapshot_conflicts_with_committed(req.snapshot_index, req.snapshot_term) {
            // No leader can send this (it holds every committed entry):
            // refused like an appendentries that rewrites a committed entry.
            trace!(self, req.leader_id, "snapshot {} of term {} conflicts with a committed entry", req.snapshot_index, req.snapshot_term);
            return Err(RaftError::Shutdown);
        }
        if req.snapshot_index != self.incoming_snapshot_idx.get() {
            self.drop_incoming_snapshot();
            self.incoming_snapshot_idx.set(req.snapshot_index);
        }
        let expected = self.incoming_snapshot_offset.get();
        if req.chunk.offset != expected {
            resp.offset = expected;
            return Ok(resp);
        }
        self.host.store_snapshot_chunk(req.snapshot_index, req.chunk.offset, &req.chunk)?;
        let next = expected + req.chunk.len;
        self.incoming_snapshot_offset.set(next);
        resp.offset = next;
        if req.chunk.last_chunk {
            self.incoming_snapshot_idx.set(0);
            self.incoming_snapshot_offset.set(0);
            let loaded = self.host.load_snapshot(req.snapshot_term, req.snapshot_index);
            if loaded.is_err() || self.snapshot_last_idx.get() < req.snapshot_index {
                trace!(self, req.leader_id, "loading snapshot {} failed ({:?})", req.snapshot_index, loaded);
                let _ = self.host.clear_snapshot();
                resp.offset = 0;
                return Ok(resp);
            }
        }
        resp.success = true;
        Ok(resp)
    }

    /// Forgets a partly received snapshot, telling the host to delete it.
    pub(crate) fn drop_incoming_snapshot(&self) {
        if self.incoming_snapshot_idx.get() != 0 || self.incoming_snapshot_offset.get() != 0 {
            self.incoming_snapshot_idx.set(0);
            self.incoming_snapshot_offset.set(0);
            let _ = self.host.clear_snapshot();
        }
    }

    /// `raft_recv_snapshot_response`: the leader's side.
    pub fn recv_snapshot_response(&self, node: Option<&Rc<Node<H::NodeData>>>, resp: &SnapshotResponse) -> Result<()> {
        let Some(node) = self.answer_from(node, resp.term, resp.msg_id)? else { return Ok(()) };
        let progress = node.progress();
        if resp.msg_id < progress.resync_msg_id() {
            return self.exec_operations();
        }
        if !resp.success {
            // Resume where the follower says, at most once per resend.
            progress.set_snapshot_offset(resp.offset);
            progress.set_snapshot_final_offset(None);
            progress.set_resync_msg_id(self.msg_id.get() + 1);
            self.send_snapshot(node)?;
        } else if resp.last_chunk {
            let idx = if progress.snapshot_idx() != 0 { progress.snapshot_idx() } else { self.snapshot_last_idx.get() };
            if idx > progress.match_idx() {
                progress.set_match_idx(idx.min(self.current_idx()));
                // Counted afresh at the next answer or sync.
                self.recount_commit_votes();
            }
            if progress.next_idx() <= progress.match_idx() {
                progress.set_next_idx(progress.match_idx() + 1);
            }
            progress.set_snapshot_idx(0);
            progress.set_snapshot_offset(0);
            progress.set_snapshot_final_offset(None);
            progress.set_resync_msg_id(self.msg_id.get() + 1);
            self.debug_check_progress(node);
            self.update_commit();
            self.replicate_to(node);
            if progress.next_idx() > self.current_idx() {
                // Confirm the match with an (empty) appendentries.
                let _ = self.send_appendentries(node);
            }
        } else if progress.snapshot_final_offset().is_none() {
            // The host paused us earlier: go on from where we stopped.
            self.send_snapshot(node)?;
        }
        self.exec_operations()
    }
}

#[cfg(test)]
mod tests {
    use crate::core::log::tests::TestEntry;
    use crate::core::server::tests::server_with_nodes;
    use crate::core::*;

    #[test]
    fn loading_a_snapshot_the_log_already_ends_in_keeps_the_entries_after_it() {
        // Regression (simulator, FINDINGS 2); thesis §5.3.
        let s = server_with_nodes(&[1, 2, 3], 2);
        for _ in 0..5 {
            s.append_entry(&TestEntry::new(1, 0, 0)).unwrap();
        }
        s.set_commit_idx(2);
        s.begin_load_snapshot(1, 3).unwrap();
        s.end_load_snapshot().unwrap();
        assert_eq!((s.snapshot_last_idx(), s.first_entry_idx(), s.current_idx()), (3, 4, 5));
    }

    #[test]
    fn ending_a_snapshot_overtaken_by_a_loaded_one_fails_and_keeps_the_newer() {
        // Regression (simulator, FINDINGS 3).
        let s = server_with_nodes(&[1, 2, 3], 2);
        for _ in 0..3 {
            s.append_entry(&TestEntry::new(1, 0, 0)).unwrap();
        }
        s.set_commit_idx(2);
        s.apply_all().unwrap();
        s.begin_snapshot().unwrap();
        s.begin_load_snapshot(2, 6).unwrap();
        s.end_load_snapshot().unwrap();
        assert!(s.end_snapshot().is_err());
        assert!(!s.snapshot_in_progress());
        assert_eq!(s.snapshot_last_idx(), 6);
    }

    #[test]
    fn an_answer_from_before_a_snapshot_transfer_does_not_complete_it() {
        // Regression (simulator, FINDINGS 4): a late "last chunk" answer for
        // an older snapshot was credited to the newer one being sent.
        let s = server_with_nodes(&[1, 2, 3], 1);
        s.become_candidate().unwrap();
        s.become_leader().unwrap();
        for _ in 0..4 {
            s.recv_entry(&TestEntry::new(0, 0, 0)).unwrap();
        }
        s.set_commit_idx(5);
        s.apply_all().unwrap();
        s.begin_snapshot().unwrap();
        s.end_snapshot().unwrap();
        let node = s.node(2).unwrap();
        let old_msg_id = s.msg_id();
        node.progress().set_next_idx(1);
        s.send_appendentries(&node).unwrap();
        let late = SnapshotResponse { msg_id: old_msg_id, term: 1, offset: 0, success: true, last_chunk: true };
        s.recv_snapshot_response(Some(&node), &late).unwrap();
        assert_eq!(node.progress().match_idx(), 0);
    }
}
