//! The log implementation table (`raft_log_impl_t`) and the built-in
//! log's observers (`raft_log_cbs_t`).
#![allow(non_camel_case_types)]

use std::ffi::{c_int, c_void};

use super::*;

/// A log implementation for `raft_new_with_log`: the server stores its
/// entries through these functions (the built-in one is
/// `raft_log_internal_impl`). `log` is the handle `init` returned. Indexes
/// start at 1; after compaction or a snapshot, the log holds the entries
/// from `first_idx` to `current_idx`. Entries are reference counted: take a
/// reference (`raft_entry_hold`) on each entry kept and release it when it is
/// removed; entries returned by `get` and `get_batch` carry a reference for
/// the caller. Members that may be NULL are noted; for the others a NULL
/// member makes the operation fail with -1.
#[repr(C)]
#[derive(Clone, Copy)]
pub struct raft_log_impl {
    /// Creates the log (required). Called once by `raft_new_with_log` with the
    /// server and its `log_arg`; returns the handle, or NULL to fail. Entries
    /// the log already holds (a restart) are the server's log from then on;
    /// configuration entries among them are not replayed (add the nodes of the
    /// configuration by hand, or replay the entries into an empty log with
    /// `raft_append_entry`).
    pub init: Option<unsafe extern "C" fn(raft: *mut c_void, arg: *mut c_void) -> *mut c_void>,
    /// Frees the log and releases its entries; called by `raft_destroy`. May be
    /// NULL.
    pub free: Option<unsafe extern "C" fn(log: *mut c_void)>,
    /// Drops every entry: the next append gets index `first_idx`, and `term` is
    /// the term of the entry before it (a snapshot's last entry). May be NULL
    /// only for a log that is never reset (`raft_clear` and loading a snapshot
    /// reset it).
    pub reset: Option<unsafe extern "C" fn(log: *mut c_void, first_idx: raft_index_t, term: raft_term_t)>,
    /// Appends one entry at index `current_idx + 1` and takes a reference on it.
    /// Returns 0, or a non-zero code that fails the operation appending (the
    /// code is returned to the caller).
    pub append: Option<unsafe extern "C" fn(log: *mut c_void, entry: *mut raft_entry_t) -> c_int>,
    /// Removes every entry before `first_idx`, oldest first (compaction after a
    /// snapshot) and releases them. Returns 0 or an error code.
    pub poll: Option<unsafe extern "C" fn(log: *mut c_void, first_idx: raft_index_t) -> c_int>,
    /// Removes the entry at `from_idx` and every later one, newest first. For
    /// each removed entry, call `cb(cb_arg, entry, idx)` before releasing it.
    /// Returns 0 or an error code. The library calls it with `from_idx` of 1
    /// or more (the built-in log refuses 0 or below with -1 and removes
    /// nothing).
    pub pop: Option<
        unsafe extern "C" fn(
            log: *mut c_void,
            from_idx: raft_index_t,
            cb: raft_entry_notify_f,
            cb_arg: *mut c_void,
        ) -> c_int,
    >,
    /// Returns the entry at `idx` with a reference for the caller, or NULL if
    /// the log does not hold it.
    pub get: Option<unsafe extern "C" fn(log: *mut c_void, idx: raft_index_t) -> *mut raft_entry_t>,
    /// Fills `entries` with up to `entries_n` consecutive entries from `idx`,
    /// each with a reference for the caller, and returns how many. May be NULL:
    /// `get` is then called for each entry.
    pub get_batch: Option<
        unsafe extern "C" fn(
            log: *mut c_void,
            idx: raft_index_t,
            entries_n: raft_index_t,
            entries: *mut *mut raft_entry_t,
        ) -> raft_index_t,
    >,
    /// Index of the oldest entry held (the index the next append gets when the
    /// log is empty). May be NULL (then 1).
    pub first_idx: Option<unsafe extern "C" fn(log: *mut c_void) -> raft_index_t>,
    /// Index of the newest entry (`first_idx - 1` when empty). May be NULL
    /// (then 0).
    pub current_idx: Option<unsafe extern "C" fn(log: *mut c_void) -> raft_index_t>,
    /// Number of entries held. May be NULL (then 0).
    pub count: Option<unsafe extern "C" fn(log: *mut c_void) -> raft_index_t>,
    /// Makes every appended entry durable before returning 0 (non-zero fails the
    /// call that needed it). Called by a server when it becomes leader (the
    /// whole log, auto flush on or off), by a leader with auto flush on after
    /// each proposal, and by a follower before it acknowledges entries. May
    /// be NULL for a log whose appends are durable at once.
    pub sync: Option<unsafe extern "C" fn(log: *mut c_void) -> c_int>,
}
/// A log implementation (see `struct raft_log_impl`).
pub type raft_log_impl_t = raft_log_impl;

/// Observers of the built-in log (`raft_log_set_callbacks` in
/// raft_compat.h). Each gets the `raft` pointer given to
/// `raft_log_set_callbacks` and, when that is a live server (the one owning
/// the log, or any other), that server's callback user data (NULL
/// otherwise), the entry and its index.
/// Every member may be NULL.
#[repr(C)]
#[derive(Clone, Copy, Default)]
pub struct raft_log_cbs_t {
    /// Called before an entry is appended, with the index it will get: for
    /// proposals on the leader (and its no-op entries), for entries received from
    /// the leader, and for entries a restarting program replays with
    /// `raft_append_entry`. Non-zero refuses the append, and the code is returned
    /// by the call appending.
    pub log_offer: raft_logentry_event_f,
    /// Called before the oldest entry is removed by compaction, oldest first.
    /// Non-zero stops the compaction, and the code is returned.
    pub log_poll: raft_logentry_event_f,
    /// Called before an entry is removed from the end of the log (a conflicting
    /// suffix, `raft_pop_entry`), newest first. Non-zero stops the removal, and
    /// the code is returned.
    pub log_pop: raft_logentry_event_f,
    /// Called for each entry, oldest first, when the log is emptied at once
    /// (`raft_clear`, loading a snapshot, destroying the server). The return
    /// value is ignored.
    pub log_clear: raft_logentry_event_f,
}
