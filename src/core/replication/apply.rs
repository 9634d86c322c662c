//! Applying committed entries to the state machine in order, within a
//! time budget.

use crate::core::server::{APPLY_CLOCK_STRIDE, APPLY_RUN};
use crate::core::{EntryHandle, Host, Index, Log, Result, Server};

impl<H: Host> Server<H> {
    /// Applies committed entries in order, returning early once half a
    /// request timeout has passed (`pending_operations` then says so).
    pub(crate) fn apply_committed(&self) -> Result<()> {
        if !self.is_apply_allowed() || self.last_applied_idx() >= self.commit_idx.get() {
            return Ok(());
        }
        self.exclusive_apply(Ok(()), || self.apply_committed_now())
    }

    fn apply_committed_now(&self) -> Result<()> {
        if self.commit_idx.get() == self.last_applied_idx() + 1 && self.apply_only_entry()? {
            return Ok(());
        }
        let deadline = self.host.now_us().saturating_add(self.config.get().request_timeout * 1000 / 2);
        loop {
            let first = self.last_applied_idx() + 1;
            let commit = self.commit_idx.get();
            if first > commit {
                return Ok(());
            }
            // Entries come from the log a run at a time (one log access for
            // many, lent rather than held where the log can).
            let want = ((commit - first + 1) as usize).min(APPLY_RUN);
            if !self.log().with_entries(first, want, &self.apply_buffer, |run| self.apply_run(first, run, deadline))? {
                return Ok(());
            }
        }
    }

    /// Applies the one committed entry left to apply, on its own: no run is
    /// set up and the clock is not read (with batches of one, every commit
    /// applies one entry: 9% fewer library instructions per entry at 3 and
    /// 9 nodes, batches of 1). Whether applying is over for this call: it
    /// is not if a callback committed more meanwhile.
    /// (`apply_committed` has checked that applying is allowed, and
    /// nothing ran since.)
    fn apply_only_entry(&self) -> Result<bool> {
        let idx = self.last_applied_idx() + 1;
        let Some(entry) = self.log().get(idx) else { return Ok(true) };
        self.apply_entry(&entry, idx)?;
        Ok(self.last_applied_idx() >= self.commit_idx.get())
    }

    /// Applies `run`, the entries from `first` on. `Ok(false)` when applying
    /// must stop for now: nothing to apply, out of time (the clock is read
    /// every `APPLY_CLOCK_STRIDE` entries), or a callback blocked applying
    /// (a snapshot began) or applied on its own. After a configuration
    /// change, whose callbacks may change anything, the run ends and the
    /// next one starts from the top.
    fn apply_run(&self, first: Index, run: &[H::Entry], deadline: i64) -> Result<bool> {
        if run.is_empty() || self.last_applied_idx() != first - 1 || !self.is_apply_allowed() {
            return Ok(false);
        }
        self.watch_apply();
        let applylog = self.host.applier();
        let mut idx = first;
        for stride in run.chunks(APPLY_CLOCK_STRIDE) {
            for entry in stride {
                applylog(entry, idx)?;
                if self.apply_disturbed() || crate::core::is_cfg_change(entry.entry_type()) {
                    return Ok(self.count_if_in_place(entry, idx) && self.host.now_us() < deadline);
                }
                self.count_applied(idx, entry.term());
                idx += 1;
            }
            if idx <= self.commit_idx.get() && self.host.now_us() >= deadline {
                return Ok(false);
            }
        }
        Ok(true)
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
        self.host.applylog(entry, idx)?;
        // The entry is still alive: held or lent.
        Ok(self.count_if_in_place(entry, idx))
    }

    /// After `applylog` for `entry` at `idx` ran callbacks that may have
    /// moved things: counts the entry as applied unless the last applied
    /// index moved meanwhile, then runs what a configuration change does
    /// when applied. Whether it was counted and nothing moved after.
    fn count_if_in_place(&self, entry: &H::Entry, idx: Index) -> bool {
        if self.last_applied_idx() != idx - 1 {
            return false;
        }
        self.count_applied(idx, entry.term());
        if crate::core::is_cfg_change(entry.entry_type()) {
            return self.cfg_change_applied(entry, idx);
        }
        true
    }

    /// The rare part of `count_if_in_place`. A voting change's marker needs
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
}
