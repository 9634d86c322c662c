//! Logs: the built-in in-memory log (as `raft_log_t`, as the exported
//! `raft_log_internal_impl` vtable and through the compat `raft_log_*`
//! functions), and [`LogBackend`], the core's view of whichever log a
//! server uses, built-in or the application's `raft_log_impl_t`.

mod backend;
mod compat;
mod observers;
mod vtable;

pub use self::backend::*;
pub use self::compat::*;
pub use self::vtable::*;

use std::cell::{Cell, RefCell};
use std::ffi::c_void;
use std::ptr;

use super::entry::EntryPtr;
use super::types::*;
use crate::core::MemoryLog;

/// The built-in log (`raft_log_t`): in-memory entries plus the legacy
/// `raft_log_cbs_t` observers.
pub struct raft_log {
    mem: MemoryLog<EntryPtr>,
    cbs: Cell<raft_log_cbs_t>,
    /// The `raft` argument for the observers.
    raft: Cell<*mut c_void>,
    /// The server that owns this log, whose user data the observers get.
    owner: Cell<*mut raft_server_t>,
    /// Reused array of lent entry pointers (see `LogBackend::with_entries`).
    lent: RefCell<Vec<*mut raft_entry_t>>,
    /// Calls in progress on this log through the compat `raft_log_*`
    /// functions or its vtable, and observers running: the log (and the
    /// server owning it) is in the middle of a change and may not be freed
    /// until they return (an observer or a `free_func` they run may try).
    busy: Cell<u32>,
    /// `raft_log_free` is refused: this is a server's own log (`raft_new`,
    /// freed only with the server), or it is being freed already.
    pub(crate) free_refused: Cell<bool>,
}

impl raft_log {
    /// `None` when out of memory.
    pub(crate) fn new(capacity: usize) -> Option<Box<raft_log>> {
        crate::ffi::heap::try_box(raft_log {
            mem: MemoryLog::try_with_capacity(capacity)?,
            cbs: Cell::new(raft_log_cbs_t::default()),
            raft: Cell::new(ptr::null_mut()),
            owner: Cell::new(ptr::null_mut()),
            lent: RefCell::new(Vec::new()),
            busy: Cell::new(0),
            free_refused: Cell::new(false),
        })
    }

    /// True while a call on this log or one of its observers runs (see
    /// `busy`).
    pub(crate) fn is_busy(&self) -> bool {
        self.busy.get() > 0
    }

    /// Runs `f` with the log marked busy.
    fn busy<R>(&self, f: impl FnOnce() -> R) -> R {
        struct Busy<'a>(&'a Cell<u32>);
        impl Drop for Busy<'_> {
            fn drop(&mut self) {
                self.0.set(self.0.get() - 1);
            }
        }
        self.busy.set(self.busy.get() + 1);
        let _busy = Busy(&self.busy);
        f()
    }

    /// Releases every entry the log holds, with no borrow of it held, so a
    /// `free_func` may call back in (the owner is being destroyed).
    pub(crate) fn release_entries(&self) {
        loop {
            let all = self.mem.take_all_now();
            if all.is_empty() {
                return;
            }
            drop(all);
        }
    }

    pub(crate) fn set_owner(&self, server: *mut raft_server_t) {
        self.owner.set(server);
        self.raft.set(server as *mut c_void);
    }

    /// Tells the observers the log is going away, then forgets them and the
    /// server (called while the owning server is still whole).
    pub(crate) fn detach(&self) {
        self.notify_clear();
        self.cbs.set(raft_log_cbs_t::default());
        self.owner.set(ptr::null_mut());
        self.raft.set(ptr::null_mut());
    }

    pub(crate) fn memory(&self) -> &MemoryLog<EntryPtr> {
        &self.mem
    }
}

impl Drop for raft_log {
    fn drop(&mut self) {
        self.notify_clear();
        // Each entry's drop gives back the log's reference.
        drop(self.mem.take_all());
    }
}
