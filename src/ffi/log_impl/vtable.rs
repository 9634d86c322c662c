//! The built-in log as a `raft_log_impl_t` vtable (`raft_log_internal_impl`).

use std::ffi::{c_int, c_void};
use std::ptr;

use super::*;
use crate::core::Log;
use crate::ffi::entry::EntryPtr;
use crate::ffi::types::*;

/// # Safety
/// `log` must be NULL or a live `raft_log`.
pub(super) unsafe fn builtin<'a>(log: *mut c_void) -> Option<&'a raft_log> {
    // SAFETY: the caller passes a handle from builtin_init or raft_log_new.
    unsafe { (log as *const raft_log).as_ref() }
}

pub(super) unsafe extern "C" fn builtin_init(raft: *mut c_void, _arg: *mut c_void) -> *mut c_void {
    crate::ffi::guard(ptr::null_mut(), || {
        let Some(log) = raft_log::new(0) else { return ptr::null_mut() };
        log.set_owner(raft as *mut raft_server_t);
        Box::into_raw(log) as *mut c_void
    })
}

pub(super) unsafe extern "C" fn builtin_free(log: *mut c_void) {
    // SAFETY: a handle from builtin_init or raft_log_new, or NULL.
    let Some(l) = (unsafe { builtin(log) }) else { return };
    // A server's own log goes with the server; a log whose observer is
    // running is in the middle of a change: freeing either is refused, and
    // so is freeing it again from a callback of this teardown.
    if l.free_refused.get() || l.is_busy() {
        return;
    }
    l.free_refused.set(true);
    crate::ffi::guard((), || {
        // Observers and free functions run while the log is whole.
        l.detach();
        l.release_entries();
        // SAFETY: the handle came from Box::into_raw in builtin_init or
        // raft_log_new; nothing runs on it any more (callbacks are done).
        drop(unsafe { Box::from_raw(log as *mut raft_log) })
    })
}

pub(super) unsafe extern "C" fn builtin_reset(log: *mut c_void, first_idx: raft_index_t, term: raft_term_t) {
    // SAFETY: a handle from builtin_init.
    if let Some(log) = unsafe { builtin(log) } {
        if first_idx <= crate::core::INDEX_MAX {
            crate::ffi::guard((), || log.busy(|| log.reset(first_idx.max(1), term)))
        }
    }
}

pub(super) unsafe extern "C" fn builtin_append(log: *mut c_void, entry: *mut raft_entry_t) -> c_int {
    // SAFETY: a handle from builtin_init.
    let Some(log) = (unsafe { builtin(log) }) else { return -1 };
    crate::ffi::guard(-1, || {
        log.busy(|| {
            // SAFETY: the caller holds the entry; the hold is given back
            // inside the busy section (its release may run a free_func).
            let Some(entry) = (unsafe { EntryPtr::hold(entry) }) else { return -1 };
            crate::ffi::code(log.append(&entry).map(|_| ()))
        })
    })
}

pub(super) unsafe extern "C" fn builtin_poll(log: *mut c_void, first_idx: raft_index_t) -> c_int {
    // SAFETY: a handle from builtin_init.
    let Some(log) = (unsafe { builtin(log) }) else { return -1 };
    crate::ffi::guard(-1, || log.busy(|| crate::ffi::code(log.poll(first_idx))))
}

pub(super) unsafe extern "C" fn builtin_pop(
    log: *mut c_void,
    from_idx: raft_index_t,
    cb: raft_entry_notify_f,
    cb_arg: *mut c_void,
) -> c_int {
    // SAFETY: a handle from builtin_init.
    let Some(log) = (unsafe { builtin(log) }) else { return -1 };
    crate::ffi::guard(-1, || {
        log.busy(|| {
            crate::ffi::code(log.pop(from_idx, &mut |entry, idx| {
                if let Some(cb) = cb {
                    // SAFETY: the caller's notification callback with its argument.
                    unsafe { cb(cb_arg, entry.as_ptr(), idx) }
                }
            }))
        })
    })
}

pub(super) unsafe extern "C" fn builtin_get(log: *mut c_void, idx: raft_index_t) -> *mut raft_entry_t {
    // SAFETY: a handle from builtin_init.
    let Some(log) = (unsafe { builtin(log) }) else { return ptr::null_mut() };
    crate::ffi::guard(ptr::null_mut(), || log.memory().get(idx).map_or(ptr::null_mut(), EntryPtr::into_raw))
}

pub(super) unsafe extern "C" fn builtin_get_batch(
    log: *mut c_void,
    idx: raft_index_t,
    entries_n: raft_index_t,
    entries: *mut *mut raft_entry_t,
) -> raft_index_t {
    // SAFETY: a handle from builtin_init.
    let Some(log) = (unsafe { builtin(log) }) else { return -1 };
    if entries.is_null() || entries_n < 0 {
        return -1;
    }
    crate::ffi::guard(-1, || {
        log.memory().with_run(idx, |run| {
            let n = run.len().min(entries_n as usize);
            for (i, e) in run[..n].iter().enumerate() {
                // SAFETY: the caller's array has room for entries_n pointers.
                unsafe { *entries.add(i) = e.clone().into_raw() };
            }
            n as raft_index_t
        })
    })
}

pub(super) unsafe extern "C" fn builtin_first_idx(log: *mut c_void) -> raft_index_t {
    // SAFETY: a handle from builtin_init.
    unsafe { builtin(log) }.map_or(0, |l| l.memory().first_idx())
}

pub(super) unsafe extern "C" fn builtin_current_idx(log: *mut c_void) -> raft_index_t {
    // SAFETY: a handle from builtin_init.
    unsafe { builtin(log) }.map_or(0, |l| l.memory().current_idx())
}

pub(super) unsafe extern "C" fn builtin_count(log: *mut c_void) -> raft_index_t {
    // SAFETY: a handle from builtin_init.
    unsafe { builtin(log) }.map_or(0, |l| l.memory().count())
}

pub(super) unsafe extern "C" fn builtin_sync(_log: *mut c_void) -> c_int {
    0
}

/// The built-in in-memory log as a `raft_log_impl_t`: what `raft_new()`
/// uses. `raft_new_with_log(&raft_log_internal_impl, NULL)` is the same as
/// `raft_new()`. Its entries live in memory only: a program that must
/// survive restarts also writes them to its own storage (for example from
/// the `log_offer`, `log_pop` and `log_poll` observers, see
/// `raft_log_cbs_t`) or supplies its own `raft_log_impl_t`.
#[no_mangle]
pub static raft_log_internal_impl: raft_log_impl_t = raft_log_impl {
    init: Some(builtin_init),
    free: Some(builtin_free),
    reset: Some(builtin_reset),
    append: Some(builtin_append),
    poll: Some(builtin_poll),
    pop: Some(builtin_pop),
    get: Some(builtin_get),
    get_batch: Some(builtin_get_batch),
    first_idx: Some(builtin_first_idx),
    current_idx: Some(builtin_current_idx),
    count: Some(builtin_count),
    sync: Some(builtin_sync),
};
