//! The leader takes a client's entry: checks, appends, and (auto flush)
//! makes it durable and sends it at once.

use super::*;
use crate::core::server::trace;
use crate::core::{EntryHandle, Host, Index, Log, RaftError, Result, Role, Server, Term, NODE_ID_NONE};

impl<H: Host> Server<H> {
    /// `raft_recv_entry` for callers that need only the answer.
    pub fn recv_entry(&self, entry: &H::Entry) -> Result<EntryResponse> {
        self.propose(entry).map(|p| p.resp)
    }

    /// `raft_recv_entry`: the leader appends a client's entry in its term.
    pub fn propose(&self, entry: &H::Entry) -> Result<Proposal> {
        let entry_type = entry.entry_type();
        // The term the entry is appended in (nothing runs before it is set
        // on the entry), read now: the append's callbacks (`log_offer`, a
        // configuration change's `notify_membership_event`) may re-enter
        // and move the server to a newer term, which the answer must not
        // name (an entry of that term at the same index would pass for it).
        let term = self.current_term.get();
        let idx = if crate::core::is_cfg_change(entry_type) {
            self.append_cfg_change(entry, term)?
        } else {
            self.check_may_propose()?;
            if !crate::core::is_client_type(entry_type) {
                // The no-op is the leader's own; negative types mean nothing.
                return Err(RaftError::Misuse);
            }
            self.check_room()?;
            entry.set_term(term);
            self.log().append(entry)?
        };
        self.entry_accepted(entry, term, idx)
    }

    /// `propose`'s checks and append for a configuration change, kept out
    /// of the common path, in `term`; the index it was appended at.
    #[cold]
    #[inline(never)]
    fn append_cfg_change(&self, entry: &H::Entry, term: Term) -> Result<Index> {
        let voting = crate::core::is_voting_cfg_change(entry.entry_type());
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
        // `get_node_id` may have re-entered and ended this leadership: an
        // entry appended now would be one of a term this server does not
        // lead.
        if self.current_term.get() != term {
            return Err(RaftError::NotLeader);
        }
        self.check_may_propose()?;
        entry.set_term(term);
        self.append_to_log(entry)
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
    fn entry_accepted(&self, entry: &H::Entry, term: Term, idx: Index) -> Result<Proposal> {
        let resp = EntryResponse { id: entry.id(), term, idx };
        let synced = if self.config.get().auto_flush { self.flush_appended(idx) } else { Ok(()) };
        Ok(Proposal { resp, synced })
    }

    /// Auto flush after an append: sync (which may commit), send, apply.
    /// Only the sync's failure is returned (see `entry_accepted`).
    #[inline(never)]
    fn flush_appended(&self, idx: Index) -> Result<()> {
        self.log().sync()?;
        self.note_persisted(idx);
        self.next_sync_index.set(idx);
        self.replicate_to_all();
        if let Err(e) = self.exec_operations() {
            trace!(self, NODE_ID_NONE, "entry {} accepted; applying failed ({:?})", idx, e);
        }
        Ok(())
    }
}
