//! Indexes and the log as the rest of the core sees it; message ids.

use super::*;
use crate::core::{Host, Index, Log, MsgId, NodeId, RaftError, Result, Term};

impl<H: Host> Server<H> {
    pub fn commit_idx(&self) -> Index {
        self.commit_idx.get()
    }

    /// Sets the commit index (used when restoring); it never moves past the
    /// log's end nor below zero.
    pub fn set_commit_idx(&self, idx: Index) {
        if idx >= 0 && idx <= self.current_idx() {
            self.commit_idx.set(idx);
        }
    }

    /// Moves the commit index forward to `idx`: a majority stores it (on
    /// the leader), or the leader says so (on a follower). The commit index
    /// never moves back nor past the log's end (checked in debug builds).
    #[inline(always)]
    pub(crate) fn advance_commit(&self, idx: Index) {
        debug_assert!(idx > self.commit_idx.get(), "commit index moves back: {} -> {}", self.commit_idx.get(), idx);
        debug_assert!(idx <= self.current_idx(), "commit index {} past the log's end {}", idx, self.current_idx());
        self.commit_idx.set(idx);
    }

    pub fn last_applied_idx(&self) -> Index {
        self.last_applied_idx.get()
    }

    /// The term of the last applied entry.
    pub fn last_applied_term(&self) -> Term {
        self.last_applied_term.get()
    }

    pub fn set_last_applied_idx(&self, idx: Index) {
        if crate::core::valid_index(idx) {
            let term = self.term_at(idx).unwrap_or_else(|| self.last_applied_term());
            self.move_last_applied(idx, term);
        }
    }

    pub fn current_idx(&self) -> Index {
        self.log().current_idx()
    }

    pub fn log_count(&self) -> Index {
        self.log().count()
    }

    pub fn first_entry_idx(&self) -> Index {
        self.log().first_idx()
    }

    /// The term at `idx`, including the snapshot's last entry and index 0.
    #[inline]
    pub fn term_at(&self, idx: Index) -> Option<Term> {
        if idx == 0 {
            return Some(0);
        }
        if idx == self.snapshot_last_idx.get() {
            return Some(self.snapshot_last_term.get());
        }
        self.log().term_at(idx)
    }

    pub fn last_log_term(&self) -> Term {
        self.term_at(self.current_idx()).unwrap_or(0)
    }

    pub fn entry_at(&self, idx: Index) -> Option<H::Entry> {
        if idx <= 0 {
            return None;
        }
        self.log().get(idx)
    }

    /// Asked of the log in batches of at most `MAX_ENTRIES_PER_MESSAGE`, so
    /// that a log claiming more entries than it has costs no huge
    /// reservation; `NoMem` (with `out` left empty) when they do not fit in
    /// memory.
    pub fn entries_from(&self, idx: Index, out: &mut Vec<H::Entry>) -> Result<usize> {
        if idx <= 0 {
            return Ok(0);
        }
        let mut left = (self.current_idx() - idx + 1).max(0) as u64;
        let mut next = idx;
        while left > 0 {
            let want = left.min(MAX_ENTRIES_PER_MESSAGE as u64) as usize;
            if crate::core::alloc::reserve(out, want).is_err() {
                out.clear();
                return Err(RaftError::NoMem);
            }
            let got = self.log().get_batch(next, want, out);
            if got == 0 {
                break;
            }
            left -= got as u64;
            next += got as Index;
        }
        Ok(out.len())
    }

    pub fn last_applied_entry(&self) -> Option<H::Entry> {
        self.entry_at(self.last_applied_idx())
    }

    pub fn msg_id(&self) -> MsgId {
        self.msg_id.get()
    }

    /// A follower heard message `msg_id` from `from` (the sender's node,
    /// looked up after the message, which may have added it). Where the
    /// sender was found last time is tried first: messages come from one
    /// leader, so in a big cluster this saves a scan of the node list per
    /// message (with `node_at_address` on the leader's side, 16% of the
    /// library's instructions per entry at 51 nodes, batches of 1).
    pub fn note_msg_seen(&self, from: NodeId, msg_id: MsgId) {
        let nodes = self.nodes.borrow();
        let hint = self.seen_node_hint.get();
        let found = match nodes.get(hint) {
            Some(node) if node.id() == from => Some(hint),
            _ => nodes.iter().position(|n| n.id() == from),
        };
        if let Some(at) = found {
            self.seen_node_hint.set(at);
            nodes[at].update_max_seen_msg_id(msg_id);
        }
    }

    pub(crate) fn next_msg_id(&self) -> MsgId {
        let id = self.msg_id.get() + 1;
        self.msg_id.set(id);
        id
    }
}
