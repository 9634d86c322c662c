//! Restoring persisted state, appending and truncating the log, what is
//! durable, and clearing everything.

use super::*;
use crate::core::{EntryHandle, Host, Index, Log, RaftError, Result, Role, NODE_ID_NONE};

impl<H: Host> Server<H> {
    /// `raft_append_entry`: appends an entry as read back from disk (or as a
    /// test would), applying any configuration change it carries.
    pub fn append_entry(&self, entry: &H::Entry) -> Result<()> {
        if !crate::core::valid_term(entry.term()) || self.current_idx() >= crate::core::INDEX_MAX {
            return Err(RaftError::Misuse);
        }
        self.append_to_log(entry)?;
        // Restored from disk, so durable.
        self.note_log_persisted();
        Ok(())
    }

    /// `raft_restore_log`: on restart, after `restore_snapshot`, once the log
    /// holds the entries it loaded from disk itself. Every configuration
    /// entry after the snapshot takes effect in order, as if just appended
    /// (the newest voting change is the pending one), without appending
    /// anything; the entries count as durable. `Misuse` once entries past
    /// the snapshot have been applied (the server has started); `Failed`
    /// when the log lacks an entry inside its own range.
    pub fn restore_log(&self) -> Result<()> {
        let snapshot_idx = self.snapshot_last_idx.get();
        if snapshot_idx != self.last_applied_idx() {
            return Err(RaftError::Misuse);
        }
        self.replay_cfg_changes(snapshot_idx + 1)?;
        self.note_log_persisted();
        Ok(())
    }

    /// Lets every configuration entry in the log from `from` on take effect,
    /// in order, as appending it would have; the newest voting change is the
    /// pending one. `Failed` when the log lacks an entry inside its range,
    /// `NoMem` when out of memory.
    pub(crate) fn replay_cfg_changes(&self, from: Index) -> Result<()> {
        let mut idx = from.max(self.first_entry_idx());
        // The end is read again each turn: a callback (get_node_id, the
        // membership notification) may change the log.
        while idx <= self.current_idx() {
            let entry = self.log().get(idx).ok_or(RaftError::Failed)?;
            let entry_type = entry.entry_type();
            if crate::core::is_cfg_change(entry_type) {
                // Out of memory stops here (`NoMem`); taking effect again
                // changes nothing, so the call may simply be repeated.
                self.prepare_cfg_change()?;
                if crate::core::is_voting_cfg_change(entry_type) {
                    self.voting_cfg_change_log_idx.set(idx);
                }
                self.handle_append_cfg_change(&entry, idx);
            }
            idx += 1;
        }
        Ok(())
    }

    /// `raft_pop_entry`: removes the newest entry unless it is committed.
    pub fn pop_entry(&self) -> Result<()> {
        let idx = self.current_idx();
        if idx <= self.commit_idx.get() || idx < self.first_entry_idx() {
            return Err(RaftError::Failed);
        }
        self.delete_entries_from(idx)
    }

    /// Appends one entry to the log and lets a configuration change take
    /// effect at once (thesis §4.1: a server uses the newest configuration
    /// in its log, committed or not).
    #[inline(always)]
    ///
    /// A configuration change needs memory to take effect (a node); it is
    /// set aside before the append, so out of memory fails (`NoMem`) with
    /// nothing appended rather than leaving a change in the log that did
    /// not take effect.
    pub(crate) fn append_to_log(&self, entry: &H::Entry) -> Result<Index> {
        self.check_room()?;
        let entry_type = entry.entry_type();
        if crate::core::is_cfg_change(entry_type) {
            self.prepare_cfg_change()?;
        }
        let idx = self.log().append(entry)?;
        if crate::core::is_cfg_change(entry_type) {
            if crate::core::is_voting_cfg_change(entry_type) {
                self.voting_cfg_change_log_idx.set(idx);
            }
            self.handle_append_cfg_change(entry, idx);
        }
        Ok(idx)
    }

    /// Refuses (`Misuse`) an append past `INDEX_MAX`.
    #[inline(always)]
    pub(crate) fn check_room(&self) -> Result<()> {
        if self.current_idx() >= crate::core::INDEX_MAX {
            return Err(RaftError::Misuse);
        }
        Ok(())
    }

    /// Removes `idx` and everything after it, undoing configuration changes
    /// newest first. Committed entries are never removed.
    ///
    /// The configuration changes popped are undone after the pop, from a
    /// list with room made first for every entry that may be one (only
    /// uncommitted entries are ever popped): out of memory, `NoMem` with
    /// nothing removed.
    pub fn delete_entries_from(&self, idx: Index) -> Result<()> {
        if idx <= self.commit_idx.get() {
            return Err(RaftError::Shutdown);
        }
        let mut removed = Vec::new();
        let n = (self.current_idx() - idx + 1).max(0) as usize;
        crate::core::alloc::reserve(&mut removed, n)?;
        if idx <= self.voting_cfg_change_log_idx.get() {
            self.voting_cfg_change_log_idx.set(-1);
        }
        self.log().pop(idx, &mut |entry, at| {
            if crate::core::is_cfg_change(entry.entry_type()) {
                // (Room was made above; a log popping more than it held
                // would find none, and that change stays in effect.)
                let _ = crate::core::alloc::push(&mut removed, (entry.clone(), at));
            }
        })?;
        for (entry, at) in removed {
            self.handle_remove_cfg_change(&entry, at);
        }
        self.forget_durability_past_log_end();
        Ok(())
    }

    /// After the log lost entries at its end (truncation, or a snapshot
    /// load that reset it): what was durable, due for sync or counted as
    /// this leader's match beyond the new end no longer exists.
    pub(crate) fn forget_durability_past_log_end(&self) {
        let end = self.current_idx();
        if self.next_sync_index.get() > end {
            self.next_sync_index.set(end);
        }
        if self.persisted_idx.get() > end {
            self.persisted_idx.set(end);
        }
        if let Some(me) = self.my_node() {
            if me.progress().match_idx() > end {
                me.progress().set_match_idx(end);
                self.recount_commit_votes();
            }
        }
    }

    /// Records that this server's log is durable up to `idx`; a leader
    /// counts itself as holding exactly what is durable.
    pub(crate) fn note_persisted(&self, idx: Index) {
        self.note_persisted_within_log(idx.min(self.current_idx()));
    }

    /// The whole log is durable.
    #[inline(always)]
    pub(crate) fn note_log_persisted(&self) {
        self.note_persisted_within_log(self.current_idx());
    }

    /// `note_persisted` for an index known not to be past the log's end.
    /// Inline, with the leader's part out of line: a follower notes what
    /// it appended on every appendentries.
    #[inline(always)]
    fn note_persisted_within_log(&self, idx: Index) {
        debug_assert!(idx <= self.current_idx(), "persisted {} past the log's end {}", idx, self.current_idx());
        if idx > self.persisted_idx.get() {
            self.persisted_idx.set(idx);
        }
        if self.role.get() == Role::Leader {
            self.leader_persisted();
        }
    }

    /// The leader counts itself as holding what is durable. Its node is
    /// not borrowed across `match_raised`, which asks the log (a user log's
    /// `get` may re-enter and remove this server's node).
    #[inline(never)]
    fn leader_persisted(&self) {
        if let Some(me) = self.my_node() {
            let old = me.progress().match_idx();
            if self.persisted_idx.get() > old {
                me.progress().set_match_idx(self.persisted_idx.get());
                self.match_raised(&me, old);
            }
        }
    }

    /// Forgets every entry and all volatile state (`raft_clear`).
    pub fn clear(&self) {
        self.current_term.set(0);
        self.voted_for.set(NODE_ID_NONE);
        self.timeout_elapsed.set(0);
        self.randomize_election_timeout();
        self.voting_cfg_change_log_idx.set(-1);
        self.set_role(Role::Follower);
        self.leader_id.set(NODE_ID_NONE);
        self.commit_idx.set(0);
        self.move_last_applied(0, 0);
        self.next_sync_index.set(0);
        self.persisted_idx.set(0);
        self.snapshot_last_idx.set(0);
        self.snapshot_last_term.set(0);
        self.set_snapshot_in_progress(false);
        self.log().reset(1, 0);
    }
}
