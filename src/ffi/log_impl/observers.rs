//! The built-in log's legacy observers (`raft_log_cbs_t`): every append,
//! poll, pop and clear goes past them.

use std::ffi::{c_int, c_void};
use std::ptr;

use super::*;
use crate::core::{self, Index, Log, RaftError, Term};
use crate::ffi::entry::EntryPtr;
use crate::ffi::types::*;

impl raft_log {
    /// Calls one observer with no borrow of the log held.
    fn observe(&self, cb: raft_logentry_event_f, entry: &EntryPtr, idx: Index) -> c_int {
        let Some(cb) = cb else { return 0 };
        let raft = self.raft.get();
        let user_data = if raft.is_null() {
            ptr::null_mut()
        } else if raft == self.owner.get() as *mut c_void {
            crate::ffi::server::user_data_of(self.owner.get())
        } else {
            // A standalone log bound to a server (`raft_log_set_callbacks`):
            // that server's user data, as in the original library, if the
            // pointer is a live server.
            crate::ffi::server::live_user_data(raft)
        };
        // SAFETY: an application callback, called with the arguments its
        // typedef documents; the entry is held for the duration.
        self.busy(|| unsafe { cb(raft as *mut raft_server_t, user_data, entry.as_ptr(), idx) })
    }

    /// Appends `entry` once the `log_offer` observer, if any, agrees; its
    /// index.
    #[inline(always)]
    pub(crate) fn append(&self, entry: &EntryPtr) -> core::Result<Index> {
        self.offer(entry)?;
        self.mem.append(entry)
    }

    /// Asks the `log_offer` observer, if any, about appending `entry`.
    #[inline(always)]
    fn offer(&self, entry: &EntryPtr) -> core::Result<()> {
        if let Some(offer) = self.cbs.get().log_offer {
            let idx = self.mem.current_idx() + 1;
            crate::ffi::check(self.observe(Some(offer), entry, idx))?;
        }
        Ok(())
    }

    /// Removes entries before `first_idx`, oldest first, each after its
    /// `log_poll` observer agrees; all at once when there is no observer.
    pub(crate) fn poll(&self, first_idx: Index) -> core::Result<()> {
        if self.cbs.get().log_poll.is_none() {
            return self.mem.poll_upto(first_idx);
        }
        while self.mem.first_idx() < first_idx {
            let Some(entry) = self.mem.peek_head() else { break };
            let idx = self.mem.first_idx();
            crate::ffi::check(self.observe(self.cbs.get().log_poll, &entry, idx))?;
            self.mem.poll_upto(idx + 1)?;
        }
        Ok(())
    }

    /// Removes `from_idx` and later entries, newest first, each after its
    /// `log_pop` observer agrees; `removed` hears of each.
    /// An index of 0 or below is refused and removes nothing.
    pub(crate) fn pop(&self, from_idx: Index, removed: &mut dyn FnMut(&EntryPtr, Index)) -> core::Result<()> {
        if from_idx <= 0 {
            return Err(RaftError::Failed);
        }
        while self.mem.current_idx() >= from_idx.max(self.mem.first_idx()) {
            let Some(entry) = self.mem.peek_tail() else { break };
            let idx = self.mem.current_idx();
            crate::ffi::check(self.observe(self.cbs.get().log_pop, &entry, idx))?;
            self.mem.pop_with(idx, &mut |_, _| {})?;
            removed(&entry, idx);
        }
        Ok(())
    }

    /// Tells the `log_clear` observer of every entry (nothing is removed).
    pub(crate) fn notify_clear(&self) {
        if self.cbs.get().log_clear.is_none() {
            return;
        }
        let mut idx = self.mem.first_idx();
        while let Some(entry) = self.mem.get(idx) {
            self.observe(self.cbs.get().log_clear, &entry, idx);
            idx += 1;
        }
    }

    /// Drops every entry (observed by `log_clear`) and moves the base.
    pub(crate) fn reset(&self, first_idx: Index, term: Term) {
        self.notify_clear();
        self.mem.reset(first_idx, term);
    }
}
