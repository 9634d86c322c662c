//! The durable store at the C boundary (`include/raft_store.h`): the
//! `raft_store_*` exports, the `raft_log_impl_t` through which a server
//! uses the store, and the conversion between `raft_entry_t` and the
//! store's records. The store itself is safe Rust in `crate::store`.
//!
//! The header is written by hand (like `raft_compat.h`); these functions
//! are excluded from the generated `raft.h`.
//!
//! Re-entry: every call borrows the store's state for its duration only;
//! a call made while another is in progress on the same store (from a
//! callback it runs) gets `RAFT_STORE_ERR_INVALID`, never a second borrow.
//!
//! Out of memory: the store's `Kind::NoMem` becomes `RAFT_ERR_NOMEM`, for
//! the exports and through the log callbacks alike, and the last error
//! reads "out of memory" (recorded without allocating). Appends, syncs,
//! reads, pop, poll and metadata allocate only fallibly; the cache and the
//! read-ahead are skipped when their memory is not there, and entries set
//! aside for release after a call are released at once instead. Binding
//! a server returns NULL without memory. Open allocates its handle and
//! recovers fallibly (the sync thread and the directory listing go through
//! `sys`); restore remembers how far it got, so a call made again after
//! `RAFT_ERR_NOMEM` completes it; close allocates nothing (see the header).
//!
//! By concern: the error codes and the last error (`errors`), the log
//! table a bound server uses (`vtable`), and the exports (`exports`); this
//! file has the shared state, its access rules and the server registry.

mod errors;
mod exports;
pub(crate) mod sys;
mod vtable;

pub use exports::*;
use errors::*;
use vtable::*;

use std::cell::{Cell, RefCell};
use std::ffi::{c_char, c_int, c_uint, c_ulong, c_void, CStr, CString};
use std::path::Path;
use std::ptr::{self, addr_of, addr_of_mut};
use std::sync::Mutex;

use super::entry::{entry_new, EntryPtr};
use super::types::*;
use crate::store::cache::Cache;
use crate::store::diag::{Diag, Level};
use crate::store::disk::{Fault, Plan};
use crate::store::error::try_format;
use crate::store::{EntryRef, Error, Fsync, Kind, Options, Store};

pub(crate) const RAFT_STORE_ERR_IO: c_int = -100;
pub(crate) const RAFT_STORE_ERR_NOSPACE: c_int = -101;
pub(crate) const RAFT_STORE_ERR_READONLY: c_int = -102;
pub(crate) const RAFT_STORE_ERR_CORRUPT: c_int = -103;
pub(crate) const RAFT_STORE_ERR_INVALID: c_int = -104;
pub(crate) const RAFT_STORE_ERR_FAILED: c_int = -105;
pub(crate) const RAFT_STORE_ERR_AGAIN: c_int = -106;
pub(crate) const RAFT_STORE_ERR_LOCKED: c_int = -107;
pub(crate) const RAFT_STORE_ERR_OTHER: c_int = -108;

const RAFT_STORE_CREATE: c_int = 1;
const RAFT_STORE_REPAIR: c_int = 2;

/// Diagnostics sink of `raft_store_options_t`.
pub type raft_store_log_f = Option<unsafe extern "C" fn(arg: *mut c_void, level: c_int, msg: *const c_char)>;

/// `raft_store_options_t`, laid out as the header declares it.
#[repr(C)]
#[derive(Clone, Copy)]
pub struct raft_store_options {
    pub segment_size: usize,
    pub cache_size: usize,
    pub fsync_policy: c_int,
    pub flags: c_int,
    pub log_cb: raft_store_log_f,
    pub log_arg: *mut c_void,
    pub log_level: c_int,
    pub reserved: [*mut c_void; 5],
}

const _: () = {
    assert!(std::mem::size_of::<raft_store_options>() == 88);
    assert!(std::mem::offset_of!(raft_store_options, fsync_policy) == 16);
    assert!(std::mem::offset_of!(raft_store_options, log_cb) == 24);
    assert!(std::mem::offset_of!(raft_store_options, log_level) == 40);
    assert!(std::mem::offset_of!(raft_store_options, reserved) == 48);
};

fn default_options() -> raft_store_options {
    raft_store_options {
        segment_size: 8 << 20,
        cache_size: 8 << 20,
        fsync_policy: 0,
        flags: RAFT_STORE_CREATE,
        log_cb: None,
        log_arg: ptr::null_mut(),
        log_level: Level::Info as c_int,
        reserved: [ptr::null_mut(); 5],
    }
}

/// An open store (`raft_store_t`).
pub struct raft_store {
    state: RefCell<State>,
    /// The server bound to the store (NULL: none).
    server: Cell<*mut raft_server_t>,
    restored: Cell<bool>,
    /// How far a `raft_store_restore` that failed for want of memory got,
    /// so that calling it again goes on from there.
    restore_step: Cell<RestoreStep>,
}

/// The steps of `raft_store_restore` done on the bound server, with the
/// snapshot position (index, term) they were done for.
#[derive(Clone, Copy, PartialEq, Eq)]
enum RestoreStep {
    None,
    /// `raft_restore_snapshot` (or nothing, for position 0).
    Snapshot(u64, i64),
    /// And `raft_restore_log`.
    Log(u64, i64),
}

struct State {
    store: Store,
    cache: Cache<EntryPtr>,
    /// Entries read ahead of a `get` that missed the cache, for the next
    /// ones (a restart's `raft_restore_log` and a catching-up follower read
    /// the log in order): `ahead[k]` is entry `ahead_first + k`.
    ahead: Vec<EntryPtr>,
    ahead_first: u64,
    /// A `get` returned NULL for want of memory since this was cleared
    /// (`raft_restore_log` reports such a NULL as a missing entry).
    read_nomem: bool,
}

/// Entries read at once after a cache miss.
const READ_AHEAD: usize = 64;

impl State {
    /// Forgets read-ahead entries from `from` on (all for 0); returns them
    /// to be released by the caller after the borrow ends.
    /// Without memory for that list they are released at once (entries
    /// this layer made, with no free function of the program's).
    fn drop_ahead(&mut self, from: u64) -> Vec<EntryPtr> {
        let keep = from.saturating_sub(self.ahead_first).min(self.ahead.len() as u64) as usize;
        let mut out = Vec::new();
        if out.try_reserve_exact(self.ahead.len() - keep).is_ok() {
            out.extend(self.ahead.drain(keep..));
        } else {
            self.ahead.truncate(keep);
        }
        out
    }
}

/// Moves `more` to the end of `to` (to be released later), or releases
/// them now when `to` cannot grow.
fn append_or_release(to: &mut Vec<EntryPtr>, more: Vec<EntryPtr>) {
    if to.try_reserve(more.len()).is_ok() {
        to.extend(more);
    }
}

// ------------------------------------------------------------------ access

/// # Safety
/// `st` must be NULL or a store from `raft_store_open` not yet closed.
unsafe fn store_ref<'a>(st: *mut raft_store) -> Option<&'a raft_store> {
    // SAFETY: the caller's guarantee; only shared references are made.
    unsafe { st.as_ref() }
}

/// `with_state_or` for functions returning a code.
fn state_rc(st: *mut raft_store, f: impl FnOnce(&mut State) -> c_int) -> c_int {
    with_state_or(st, RAFT_STORE_ERR_INVALID, f)
}

/// Runs `f` on the store's state under the panic boundary; `fallback` for
/// NULL, a re-entrant call or a panic.
fn with_state_or<R>(st: *mut raft_store, fallback: R, f: impl FnOnce(&mut State) -> R) -> R {
    super::guard(None, || {
        // SAFETY: a non-NULL handle is a live store (the header's contract).
        let Some(s) = (unsafe { store_ref(st) }) else {
            set_last_error("NULL store");
            return None;
        };
        let Ok(mut state) = s.state.try_borrow_mut() else {
            set_last_error("store called re-entrantly (from a callback of a call on the same store)");
            return None;
        };
        Some(f(&mut state))
    })
    .unwrap_or(fallback)
}

// ------------------------------------------------------------------ entries

/// The fields of a C entry, borrowed.
///
/// # Safety
/// `e` must be a live entry that outlives `'a`.
unsafe fn entry_fields<'a>(e: *mut raft_entry_t) -> EntryRef<'a> {
    // SAFETY: the caller guarantees a live entry; its data is data_len bytes
    // after the header (one block), read through the raw pointer.
    unsafe {
        let len = addr_of!((*e).data_len).read() as usize;
        EntryRef {
            term: addr_of!((*e).term).read(),
            id: addr_of!((*e).id).read(),
            etype: addr_of!((*e).type_).read(),
            data: std::slice::from_raw_parts(addr_of!((*e).data) as *const u8, len),
        }
    }
}

/// A new C entry (one reference) holding a copy of `e`; None when the
/// allocator fails.
fn entry_from(e: EntryRef<'_>) -> Option<EntryPtr> {
    let len = c_uint::try_from(e.data.len()).ok()?;
    let p = entry_new(len);
    // SAFETY: p is NULL or a fresh entry with room for len data bytes, on
    // which we hold the one reference; it is written before anyone sees it.
    unsafe {
        if p.is_null() {
            return None;
        }
        addr_of_mut!((*p).term).write(e.term);
        addr_of_mut!((*p).id).write(e.id);
        addr_of_mut!((*p).type_).write(e.etype);
        ptr::copy_nonoverlapping(e.data.as_ptr(), addr_of_mut!((*p).data) as *mut u8, e.data.len());
        EntryPtr::from_held(p)
    }
}

fn entry_size(data_len: usize) -> usize {
    std::mem::size_of::<raft_entry_t>() + data_len
}

// ------------------------------------------------------------------ registry

/// Which store each bound server uses (server address, store address), so
/// that `raft_store_persist_metadata_cb` can find it without trusting
/// `raft_get_log` to return a store.
static BOUND: Mutex<Vec<(usize, usize)>> = Mutex::new(Vec::new());

fn bound_store(r: *mut raft_server_t) -> Option<*mut raft_store> {
    let b = BOUND.lock().unwrap_or_else(|p| p.into_inner());
    b.iter().find(|(s, _)| *s == r as usize).map(|(_, st)| *st as *mut raft_store)
}

/// Records the pair; false without the memory for it.
fn bind(r: *mut raft_server_t, st: *mut raft_store) -> bool {
    let mut b = BOUND.lock().unwrap_or_else(|p| p.into_inner());
    if b.try_reserve(1).is_err() {
        return false;
    }
    b.push((r as usize, st as usize));
    true
}

/// Forgets the store's pair. The registry's buffer goes when the last pair
/// does, so that a program that closed every store holds no block of ours.
fn unbind(st: *mut raft_store) {
    let mut b = BOUND.lock().unwrap_or_else(|p| p.into_inner());
    b.retain(|(_, s)| *s != st as usize);
    if b.is_empty() {
        *b = Vec::new();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_fault_spec_parses_from_five_numbers() {
        let p = parse_faults("3,2,10,5000,7").unwrap();
        assert_eq!((p.ops, p.fault, p.skip, p.ppm, p.seed), (3, Fault::Errno(libc::ENOSPC), 10, 5000, 7));
        assert!(parse_faults("1,9,0,0,0").is_none());
        assert!(parse_faults("1,2").is_none());
    }

    #[test]
    fn every_store_code_has_a_description() {
        for c in -108..=-100 {
            // SAFETY: a static NUL-terminated string.
            let s = unsafe { CStr::from_ptr(raft_store_strerror(c)) };
            assert!(!s.to_bytes().is_empty(), "{c}");
        }
    }
}
