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
            if let Err(e) = crate::core::check(applylog(entry, idx)) {
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
        if CHECK_TYPES && crate::core::is_cfg_change(entry.entry_type()) {
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
        crate::core::check(self.host.applylog(entry, idx))?;
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
    pub(super) stride: usize,
}

/// See `ApplyClock`.
const APPLY_STRIDE_GROWTH: usize = 4;
const APPLY_STRIDE_HEADROOM: i64 = 64;

impl ApplyClock {
    pub(crate) fn start(now: i64, budget: i64) -> ApplyClock {
        ApplyClock { deadline: now.saturating_add(budget), last_read: now, stride: APPLY_CLOCK_STRIDE }
    }

    /// Whether the budget has time left at `now`, the time after a stride.
    pub(super) fn time_left(&mut self, now: i64) -> bool {
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
