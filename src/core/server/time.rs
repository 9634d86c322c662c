//! Time: the clock, the periodic tick (election and heartbeat timeouts,
//! check-quorum, transfer timeout) and the operations it runs.

use super::*;
use crate::core::quorum::majority_value;
use crate::core::{Host, MsgId, Result, Role, NODE_ID_NONE};

impl<H: Host> Server<H> {
    /// Takes the host clock as the reference point for the next periodic.
    pub fn reset_clock(&self) {
        self.last_timestamp_us.set(self.host.now_us());
    }

    /// Milliseconds elapsed on the host clock since the last call; the
    /// sub-millisecond remainder is carried to the next call.
    fn elapsed_ms_from_clock(&self) -> i64 {
        let now = self.host.now_us();
        let last = self.last_timestamp_us.get();
        if now <= last {
            return 0;
        }
        let ms = (now - last) / 1000;
        self.last_timestamp_us.set(last + ms * 1000);
        ms
    }

    /// `raft_periodic`: advance by the time the clock says has passed.
    pub fn periodic(&self) -> Result<()> {
        let ms = self.elapsed_ms_from_clock();
        self.tick(ms)
    }

    /// `raft_periodic_internal`: advance by `ms` (negative: read the clock).
    pub fn periodic_ms(&self, ms: i64) -> Result<()> {
        let ms = if ms < 0 { self.elapsed_ms_from_clock() } else { ms };
        self.tick(ms)
    }

    /// The periodic work, `ms` (not negative) having passed. Inlined into
    /// each caller (`raft_periodic` runs several times per tick of a
    /// cluster): saves the call and a second frame.
    #[inline(always)]
    fn tick(&self, ms: i64) -> Result<()> {
        // Saturating: an absurd elapsed time must not wrap the clock.
        self.now_ms.set(self.now_ms.get().saturating_add(ms));
        self.timeout_elapsed.set(self.timeout_elapsed.get().saturating_add(ms));

        self.tick_transfer(ms);

        if self.role.get() != Role::Leader && self.is_single_voter() {
            self.become_candidate()?;
            // (Not if `persist_metadata` re-entered and the campaign gave way.)
            if self.role.get() == Role::Candidate {
                self.become_leader()?;
            }
        }

        if self.role.get() == Role::Leader {
            self.recount_reads_on_tick();
            self.recount_after_outside_edits();
            if !self.has_quorum_contact() {
                trace!(self, NODE_ID_NONE, "no majority heard within two election timeouts: stepping down");
                self.become_follower();
            } else if self.timeout_elapsed.get() >= self.config.get().request_timeout {
                self.send_appendentries_all()?;
            }
        } else if self.timeout_elapsed.get() >= self.election_timeout_rand.get()
            && !self.snapshot_in_progress()
            && self.may_campaign()
        {
            self.election_start(false)?;
        }

        self.exec_operations()
    }

    /// Applies committed entries and answers ready reads. Called after every
    /// message, so the common "nothing to do" is decided inline.
    #[inline(always)]
    pub fn exec_operations(&self) -> Result<()> {
        let nothing_to_apply = self.last_applied_idx() >= self.commit_idx.get();
        if nothing_to_apply && !self.reads_to_serve() {
            return Ok(());
        }
        self.exec_operations_now()
    }

    #[inline(never)]
    fn exec_operations_now(&self) -> Result<()> {
        self.apply_committed()?;
        self.serve_reads();
        Ok(())
    }

    /// Check-quorum: a leader hears from a majority of voters within two
    /// election timeouts, or it is not a leader that anyone follows.
    ///
    /// `quorum_ack_ms` is a time by which a majority had been heard (set by
    /// `raft_update_quorum_meta`, and here): while it is within the window
    /// the answer is yes at once. Past it, the voters' last answers are
    /// looked at, and the latest time a majority had been heard by is
    /// kept, so the next pass comes when that falls out of the window
    /// rather than on every tick (a pass over the voters per tick, about 80
    /// library instructions at 3 nodes). A voter added meanwhile is
    /// counted from the next pass, at most one window later.
    fn has_quorum_contact(&self) -> bool {
        let window = 2 * self.config.get().election_timeout;
        let now = self.now_ms.get();
        now.saturating_sub(self.quorum_ack_ms.get()) < window || self.count_quorum_contact(window, now)
    }

    /// `has_quorum_contact` past the time a majority was last known to
    /// have been heard by: a pass over the voters. Out of line, as it runs
    /// about once per election timeout, not per tick.
    #[cold]
    #[inline(never)]
    fn count_quorum_contact(&self, window: i64, now: i64) -> bool {
        if self.num_voting_nodes() <= 1 {
            return true;
        }
        let nodes = self.nodes.borrow();
        // This leader has heard itself now.
        let heard = nodes
            .iter()
            .filter(|n| n.is_counted_voter())
            .map(|n| if self.is_me(n) { now } else { n.progress().last_ack_ms() });
        let floor = now.saturating_sub(window);
        match majority_value(heard, floor, &mut self.quorum_scratch.borrow_mut()) {
            Some(at) => {
                self.quorum_ack_ms.set(at.min(now));
                true
            }
            None => false,
        }
    }

    /// `raft_update_quorum_meta`: a majority acknowledged message `id` now.
    pub fn update_quorum_meta(&self, id: MsgId) {
        self.quorum_ack_msg_id.set(self.quorum_ack_msg_id.get().max(id));
        self.read_quorum.set(self.read_quorum.get().max(id));
        self.quorum_ack_ms.set(self.now_ms.get());
    }

    pub fn timeout_elapsed(&self) -> i64 {
        self.timeout_elapsed.get()
    }
}
