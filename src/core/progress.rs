//! The leader's progress record for one follower (etcd's
//! `tracker/progress.go`, raft-rs's `tracker/progress.rs`): where to send
//! from, what the follower is known to hold, which messages it answered,
//! and the snapshot being sent to it.
//!
//! Every field is a `Cell`: nodes are shared (`Rc`), and the C API lets a
//! callback read and write a node's indexes while the server is working.
//!
//! Invariants of the leader's record of another node, wherever the core
//! (not the application) has just moved it (checked by
//! `Progress::debug_check` in debug builds):
//! - `0 <= match_idx < next_idx`: the follower holds everything up to its
//!   match index, and the next message starts after it;
//! - `match_idx <= ` the leader's last log index: nothing is acknowledged
//!   that the leader has not got;
//! - `next_idx <= ` the leader's last log index + 1.

use std::cell::Cell;

use super::{Index, MsgId, INDEX_MAX};

#[derive(Debug)]
pub struct Progress {
    next_idx: Cell<Index>,
    match_idx: Cell<Index>,
    /// msg_id of the last appendentries sent to this node.
    next_msg_id: Cell<MsgId>,
    /// msg_id of the newest successful appendentries response.
    match_msg_id: Cell<MsgId>,
    /// The highest of this leader's msg_ids the node has answered in the
    /// current term (reads).
    acked_msg_id: Cell<MsgId>,
    /// Time (ms on the server's clock) of the node's last answer (check-quorum).
    last_ack_ms: Cell<i64>,
    snapshot_offset: Cell<u64>,
    /// Index of the snapshot being sent to this node, 0 if none.
    snapshot_idx: Cell<Index>,
    /// Offset of the final chunk once every chunk has gone out.
    snapshot_final_offset: Cell<Option<u64>>,
    /// Rejections for messages older than this are stale (sent before the
    /// last back-off), so pipelined rejections trigger one resend, not many.
    resync_msg_id: Cell<MsgId>,
}

impl Default for Progress {
    fn default() -> Self {
        Progress {
            next_idx: Cell::new(1),
            match_idx: Cell::new(0),
            next_msg_id: Cell::new(0),
            match_msg_id: Cell::new(0),
            acked_msg_id: Cell::new(0),
            last_ack_ms: Cell::new(0),
            snapshot_offset: Cell::new(0),
            snapshot_idx: Cell::new(0),
            snapshot_final_offset: Cell::new(None),
            resync_msg_id: Cell::new(0),
        }
    }
}

impl Progress {
    pub fn next_idx(&self) -> Index {
        self.next_idx.get()
    }
    /// Next index stays in `1..=INDEX_MAX + 1` (C may set anything).
    pub fn set_next_idx(&self, idx: Index) {
        self.next_idx.set(idx.clamp(1, INDEX_MAX + 1))
    }
    pub fn match_idx(&self) -> Index {
        self.match_idx.get()
    }
    /// Match index stays in `0..=INDEX_MAX` (C may set anything).
    pub fn set_match_idx(&self, idx: Index) {
        self.match_idx.set(idx.clamp(0, INDEX_MAX))
    }
    pub fn next_msg_id(&self) -> MsgId {
        self.next_msg_id.get()
    }
    pub fn set_next_msg_id(&self, id: MsgId) {
        self.next_msg_id.set(id)
    }
    pub fn match_msg_id(&self) -> MsgId {
        self.match_msg_id.get()
    }
    pub fn set_match_msg_id(&self, id: MsgId) {
        self.match_msg_id.set(id)
    }
    pub(crate) fn acked_msg_id(&self) -> MsgId {
        self.acked_msg_id.get()
    }
    /// Raises the highest of this leader's msg_ids the node answered.
    pub(crate) fn note_acked_msg_id(&self, id: MsgId) {
        if id > self.acked_msg_id.get() {
            self.acked_msg_id.set(id)
        }
    }
    pub(crate) fn last_ack_ms(&self) -> i64 {
        self.last_ack_ms.get()
    }
    pub(crate) fn set_last_ack_ms(&self, ms: i64) {
        self.last_ack_ms.set(ms)
    }
    pub fn snapshot_offset(&self) -> u64 {
        self.snapshot_offset.get()
    }
    pub fn set_snapshot_offset(&self, offset: u64) {
        self.snapshot_offset.set(offset)
    }
    pub(crate) fn snapshot_idx(&self) -> Index {
        self.snapshot_idx.get()
    }
    pub(crate) fn set_snapshot_idx(&self, idx: Index) {
        self.snapshot_idx.set(idx)
    }
    pub(crate) fn snapshot_final_offset(&self) -> Option<u64> {
        self.snapshot_final_offset.get()
    }
    pub(crate) fn set_snapshot_final_offset(&self, offset: Option<u64>) {
        self.snapshot_final_offset.set(offset)
    }
    pub(crate) fn resync_msg_id(&self) -> MsgId {
        self.resync_msg_id.get()
    }
    pub(crate) fn set_resync_msg_id(&self, id: MsgId) {
        self.resync_msg_id.set(id)
    }

    /// A new leadership: send from `next` (the leader's last index + 1),
    /// nothing known to be held, no snapshot under way, heard from `now`.
    pub(crate) fn reset_for_leader(&self, next: Index, now: i64) {
        self.set_next_idx(next);
        self.set_match_idx(0);
        self.set_snapshot_idx(0);
        self.set_snapshot_final_offset(None);
        self.set_last_ack_ms(now);
    }

    /// Checks the invariants of the module doc against `last_idx`, the
    /// leader's last log index (debug builds only). Called where the core
    /// has just moved the record; the application may set either index on
    /// its own (`raft_node_set_next_idx`), so not on every write.
    #[inline(always)]
    pub(crate) fn debug_check(&self, last_idx: Index) {
        debug_assert!(
            0 <= self.match_idx() && self.match_idx() < self.next_idx(),
            "progress: match {} next {}",
            self.match_idx(),
            self.next_idx()
        );
        debug_assert!(self.match_idx() <= last_idx, "progress: match {} > last index {}", self.match_idx(), last_idx);
        debug_assert!(
            self.next_idx() <= last_idx + 1,
            "progress: next {} > last index {} + 1",
            self.next_idx(),
            last_idx
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_new_record_expects_index_one_and_holds_nothing() {
        let p = Progress::default();
        assert_eq!((p.next_idx(), p.match_idx()), (1, 0));
        p.debug_check(0);
    }

    #[test]
    fn indexes_stay_in_range_whatever_is_set() {
        let p = Progress::default();
        p.set_next_idx(-5);
        assert_eq!(p.next_idx(), 1);
        p.set_next_idx(Index::MAX);
        assert_eq!(p.next_idx(), INDEX_MAX + 1);
        p.set_match_idx(-1);
        assert_eq!(p.match_idx(), 0);
        p.set_match_idx(Index::MAX);
        assert_eq!(p.match_idx(), INDEX_MAX);
    }

    #[test]
    fn acked_msg_id_only_rises() {
        let p = Progress::default();
        p.note_acked_msg_id(7);
        p.note_acked_msg_id(3);
        assert_eq!(p.acked_msg_id(), 7);
    }

    #[test]
    #[cfg(debug_assertions)]
    #[should_panic(expected = "progress: match")]
    fn a_match_at_or_above_next_is_caught_in_debug_builds() {
        let p = Progress::default();
        p.set_next_idx(3);
        p.set_match_idx(3);
        p.debug_check(5);
    }

    #[test]
    #[cfg(debug_assertions)]
    #[should_panic(expected = "> last index")]
    fn a_match_beyond_the_log_is_caught_in_debug_builds() {
        let p = Progress::default();
        p.set_next_idx(9);
        p.set_match_idx(8);
        p.debug_check(5);
    }
}
