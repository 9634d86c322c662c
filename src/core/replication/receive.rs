//! The follower's side: checks an appendentries message, truncates a
//! conflicting suffix, appends, syncs and answers.

use crate::core::server::trace;
use crate::core::{valid_index, valid_term, INDEX_MAX};
use crate::core::{
    AppendEntries, AppendEntriesResponse, EntryHandle, Host, Index, Log, NodeId, RaftError, Result, Role, Server, Term,
    NODE_ID_NONE,
};

impl<H: Host> Server<H> {
    /// `raft_recv_appendentries`: the follower's side of replication.
    /// The sender is the message's `leader_id`: which node handle the
    /// message came through does not matter.
    pub fn recv_appendentries(&self, req: &AppendEntries<'_, H::Entry>) -> Result<AppendEntriesResponse> {
        check_appendentries(req)?;
        let mut resp =
            AppendEntriesResponse { msg_id: req.msg_id, term: self.current_term.get(), success: false, current_idx: 0 };
        if self.follower_appending.get() {
            return Ok(self.refuse_nested_message(resp));
        }
        if req.term < self.current_term.get() {
            trace!(self, req.leader_id, "stale appendentries: term {} < {}", req.term, self.current_term.get());
            resp.current_idx = self.current_idx();
            return Ok(resp);
        }
        if !self.follow(req.term, req.leader_id)? {
            // A callback moved on to a newer term: the message is stale now.
            resp.term = self.current_term.get();
            resp.current_idx = self.current_idx();
            return Ok(resp);
        }
        resp.term = self.current_term.get();
        // From here to the answer the log changes in steps, with callbacks
        // between them (`log_pop`, `log_offer`, a configuration change's
        // `notify_membership_event`, a user log's own calls): a message
        // handled from one of them would change the log under this one's
        // steps (the rest of this leader's entries landing after another
        // leader's). Such a message is refused, as if lost.
        let appending = NestedRefused::mark(&self.follower_appending);

        let prev = req.prev_log_idx;
        if prev > self.snapshot_last_idx.get() {
            // Past the snapshot (so past 0): the log's own.
            match self.log().term_at(prev) {
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
            if let Err(e) = result {
                // What was appended is durable before the failure is told.
                if appended > 0 && self.log().sync().is_ok() {
                    self.note_log_persisted();
                }
                return Err(e);
            }
        }
        let last_new = prev + req.entries.len() as Index;
        // The log now ends at or after `last_new`; where exactly is asked
        // only when it matters.
        debug_assert!(self.current_idx() >= last_new);
        if last_new > self.persisted_idx.get() {
            // The entries just appended (a truncation lowered the persisted
            // index below them), or ones we already had that may be our own
            // unsynced ones from a leadership with auto flush off: durable
            // before acknowledged.
            self.log().sync()?;
            self.note_log_persisted();
        }

        resp.success = true;
        resp.current_idx = last_new;
        if req.leader_commit > self.commit_idx.get() {
            let commit = req.leader_commit.min(last_new);
            if commit > self.commit_idx.get() {
                self.advance_commit(commit);
            }
        }
        resp.term = self.current_term.get();
        drop(appending);
        self.exec_operations()?;
        Ok(resp)
    }

    /// The answer to an appendentries (or snapshot) message handled while
    /// another is changing the log: not taken, as if lost (the leader
    /// sends it again); this server's term and last index, nothing changed.
    #[cold]
    #[inline(never)]
    pub(crate) fn refuse_nested_message(&self, mut resp: AppendEntriesResponse) -> AppendEntriesResponse {
        trace!(self, NODE_ID_NONE, "message {} refused: an appendentries is changing the log", resp.msg_id);
        resp.term = self.current_term.get();
        resp.current_idx = self.current_idx();
        resp
    }

    /// Appends a leader's new entries in runs; each configuration change
    /// between them is appended on its own and takes effect at once. How
    /// many were appended, and the failure that stopped it, if any.
    fn append_from_leader(&self, entries: &[H::Entry]) -> (usize, Result<()>) {
        let (run, result) = self.log().append_until_cfg_change(entries);
        if result.is_err() || run == entries.len() {
            return (run, result);
        }
        self.append_from_cfg_change(entries, run)
    }

    /// `append_from_leader` from the configuration change at `appended`
    /// on.
    #[inline(never)]
    fn append_from_cfg_change(&self, entries: &[H::Entry], mut appended: usize) -> (usize, Result<()>) {
        loop {
            if let Err(e) = self.append_to_log(&entries[appended]) {
                return (appended, Err(e));
            }
            appended += 1;
            if appended == entries.len() {
                return (appended, Ok(()));
            }
            let (run, result) = self.log().append_until_cfg_change(&entries[appended..]);
            appended += run;
            if result.is_err() || appended == entries.len() {
                return (appended, result);
            }
        }
    }

    /// Accepts `leader_id` as leader of `term` (not older than ours): adopts
    /// the term, steps down from candidacy, resets the election timer and
    /// settles a leadership transfer in progress. `Ok(false)` when a
    /// callback on the way (`persist_metadata`, `notify_state_event`,
    /// `clear_snapshot`) re-entered and moved this server to a newer term:
    /// the message is then stale, and nothing of it may be taken.
    #[inline(always)]
    pub(crate) fn follow(&self, term: Term, leader_id: NodeId) -> Result<bool> {
        let newer = term > self.current_term.get();
        if newer {
            self.set_current_term(term)?;
            if self.current_term.get() != term {
                return Ok(false);
            }
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
        if self.current_term.get() != term {
            return Ok(false);
        }
        self.leader_id.set(leader_id);
        self.timeout_elapsed.set(0);
        if self.transfer_target.get() != NODE_ID_NONE {
            self.reset_transfer_leader(false);
        }
        Ok(true)
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
    let mut last = req.prev_log_term;
    for entry in req.entries {
        let term = entry.term();
        if term < last || term > req.term {
            return Err(RaftError::Misuse);
        }
        last = term;
    }
    Ok(())
}

/// Marks a flag for as long as it lives (`follower_appending`).
pub(crate) struct NestedRefused<'a>(&'a std::cell::Cell<bool>);

impl<'a> NestedRefused<'a> {
    pub(crate) fn mark(flag: &'a std::cell::Cell<bool>) -> Self {
        flag.set(true);
        NestedRefused(flag)
    }
}

impl Drop for NestedRefused<'_> {
    fn drop(&mut self) {
        self.0.set(false);
    }
}
