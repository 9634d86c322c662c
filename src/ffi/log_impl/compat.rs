//! The compat `raft_log_*` functions on a standalone built-in log.

use std::ffi::{c_int, c_void};
use std::ptr;

use super::vtable::*;
use super::*;
use crate::core::Log;
use crate::ffi::types::*;

/// The built-in in-memory log, used directly.
#[no_mangle]
pub extern "C" fn raft_log_new() -> *mut raft_log_t {
    crate::ffi::guard(ptr::null_mut(), || Box::into_raw(raft_log::new(0)))
}

/// A built-in log with room for `initial_size` entries before it grows.
#[no_mangle]
pub extern "C" fn raft_log_alloc(initial_size: raft_index_t) -> *mut raft_log_t {
    crate::ffi::guard(ptr::null_mut(), || Box::into_raw(raft_log::new(initial_size.clamp(0, 1 << 20) as usize)))
}

/// Frees a log from `raft_log_new`; its entries are released (observed by
/// `log_clear`). Does nothing for the log a server uses (`raft_get_log`;
/// it is freed by `raft_destroy`) or from inside one of this log's
/// observers (the log is in the middle of a change).
#[no_mangle]
pub unsafe extern "C" fn raft_log_free(me: *mut raft_log_t) {
    // SAFETY: same handle kind as the vtable's.
    unsafe { builtin_free(me as *mut c_void) }
}

/// Sets the observers (copied) and the `raft` argument they receive. When
/// `raft` is a live server, the observers get its user data (set with
/// `raft_set_callbacks`) as `user_data`, as in the original library;
/// otherwise NULL.
#[no_mangle]
pub unsafe extern "C" fn raft_log_set_callbacks(me: *mut raft_log_t, funcs: *mut raft_log_cbs_t, raft: *mut c_void) {
    // SAFETY: a live log from the caller; funcs is read once if non-NULL.
    let Some(log) = (unsafe { me.as_ref() }) else { return };
    // SAFETY: funcs is NULL or a readable table (the C contract), copied at once.
    let cbs = unsafe { funcs.as_ref() }.copied().unwrap_or_default();
    log.cbs.set(cbs);
    log.raft.set(raft);
}

/// Appends an entry (the log takes a reference). 0 on success.
#[no_mangle]
pub unsafe extern "C" fn raft_log_append_entry(me: *mut raft_log_t, c: *mut raft_entry_t) -> c_int {
    // SAFETY: as builtin_append.
    unsafe { builtin_append(me as *mut c_void, c) }
}

#[no_mangle]
pub unsafe extern "C" fn raft_log_count(me: *mut raft_log_t) -> raft_index_t {
    // SAFETY: as builtin_count.
    unsafe { builtin_count(me as *mut c_void) }
}

/// Deletes `idx` and everything after it (observed by `log_pop`). -1 for an
/// index of 0 or below (nothing is deleted).
#[no_mangle]
pub unsafe extern "C" fn raft_log_delete(me: *mut raft_log_t, idx: raft_index_t) -> c_int {
    // SAFETY: as builtin_pop.
    unsafe { builtin_pop(me as *mut c_void, idx, None, ptr::null_mut()) }
}

/// Removes the oldest entry (observed by `log_poll`) and stores it in
/// `*etyp`. The log's reference is released: the pointer may be read only
/// if the caller holds its own reference. -1 when the log is empty.
#[no_mangle]
pub unsafe extern "C" fn raft_log_poll(me: *mut raft_log_t, etyp: *mut *mut raft_entry_t) -> c_int {
    // SAFETY: a live log from the caller.
    let Some(log) = (unsafe { me.as_ref() }) else { return -1 };
    // Busy until `head` is released too: that may run its free_func.
    crate::ffi::guard(-1, || {
        log.busy(|| {
            let Some(head) = log.memory().peek_head() else { return -1 };
            let rc = crate::ffi::code(log.poll(log.memory().first_idx() + 1));
            if rc == 0 && !etyp.is_null() {
                // SAFETY: etyp is the caller's out-pointer.
                unsafe { *etyp = head.as_ptr() };
            }
            rc
        })
    })
}

/// The entry at `idx`, borrowed (no reference taken); NULL if absent.
#[no_mangle]
pub unsafe extern "C" fn raft_log_get_at_idx(me: *mut raft_log_t, idx: raft_index_t) -> *mut raft_entry_t {
    // SAFETY: a live log from the caller.
    let Some(log) = (unsafe { me.as_ref() }) else { return ptr::null_mut() };
    crate::ffi::guard(ptr::null_mut(), || {
        log.memory().with_run(idx, |run| run.first().map_or(ptr::null_mut(), |e| e.as_ptr()))
    })
}

/// The entries from `idx` to the end as one borrowed array (valid until the
/// log changes); `*n_etys` gets their number. NULL if none.
#[no_mangle]
pub unsafe extern "C" fn raft_log_get_from_idx(
    me: *mut raft_log_t,
    idx: raft_index_t,
    n_etys: *mut std::ffi::c_long,
) -> *mut *mut raft_entry_t {
    // SAFETY: a live log from the caller.
    let Some(log) = (unsafe { me.as_ref() }) else { return ptr::null_mut() };
    crate::ffi::guard(ptr::null_mut(), || {
        let (p, n) = log.memory().with_run(idx, |run| (run.as_ptr() as *mut *mut raft_entry_t, run.len()));
        if !n_etys.is_null() {
            // SAFETY: the caller's out-pointer.
            unsafe { *n_etys = n as std::ffi::c_long };
        }
        if n == 0 {
            ptr::null_mut()
        } else {
            p
        }
    })
}

/// The newest entry, borrowed; NULL if the log is empty.
#[no_mangle]
pub unsafe extern "C" fn raft_log_peektail(me: *mut raft_log_t) -> *mut raft_entry_t {
    // SAFETY: a live log from the caller.
    let Some(log) = (unsafe { me.as_ref() }) else { return ptr::null_mut() };
    // SAFETY: forwarded with the same log.
    unsafe { raft_log_get_at_idx(me, log.memory().current_idx()) }
}

#[no_mangle]
pub unsafe extern "C" fn raft_log_get_current_idx(me: *mut raft_log_t) -> raft_index_t {
    // SAFETY: as builtin_current_idx.
    unsafe { builtin_current_idx(me as *mut c_void) }
}

/// Index of the last compacted entry (0 when none).
#[no_mangle]
pub unsafe extern "C" fn raft_log_get_base(me: *mut raft_log_t) -> raft_index_t {
    // SAFETY: a live log from the caller.
    unsafe { me.as_ref() }.map_or(0, |l| l.memory().base())
}

/// Empties the log so that it continues after a snapshot ending at `idx`.
/// -1 for an index or term outside `0..=RAFT_INDEX_MAX` / `0..=RAFT_TERM_MAX`.
#[no_mangle]
pub unsafe extern "C" fn raft_log_load_from_snapshot(
    me: *mut raft_log_t,
    idx: raft_index_t,
    term: raft_term_t,
) -> c_int {
    // SAFETY: a live log from the caller.
    let Some(log) = (unsafe { me.as_ref() }) else { return -1 };
    if !crate::core::valid_index(idx) || !crate::core::valid_term(term) {
        return -1;
    }
    crate::ffi::guard(-1, || {
        log.busy(|| log.reset(idx + 1, term));
        0
    })
}

/// Drops every entry; the base (last compacted index) is kept.
#[no_mangle]
pub unsafe extern "C" fn raft_log_clear(me: *mut raft_log_t) {
    // SAFETY: a live log from the caller.
    if let Some(log) = unsafe { me.as_ref() } {
        crate::ffi::guard((), || log.busy(|| log.memory().reset(log.memory().base() + 1, log.memory().base_term())))
    }
}

/// Calls `log_clear` for every entry; the entries stay.
#[no_mangle]
pub unsafe extern "C" fn raft_log_clear_entries(me: *mut raft_log_t) {
    // SAFETY: a live log from the caller.
    if let Some(log) = unsafe { me.as_ref() } {
        crate::ffi::guard((), || log.busy(|| log.notify_clear()))
    }
}

/// Same as `raft_log_clear`.
#[no_mangle]
pub unsafe extern "C" fn raft_log_empty(me: *mut raft_log_t) {
    // SAFETY: forwarded.
    unsafe { raft_log_clear(me) }
}
