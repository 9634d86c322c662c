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
//! aside for release after a call are released at once instead. Open,
//! bind, restore and close still allocate infallibly (see the header).

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
}

struct State {
    store: Store,
    cache: Cache<EntryPtr>,
    /// Entries read ahead of a `get` that missed the cache, for the next
    /// ones (a restart's `raft_restore_log` and a catching-up follower read
    /// the log in order): `ahead[k]` is entry `ahead_first + k`.
    ahead: Vec<EntryPtr>,
    ahead_first: u64,
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

// ------------------------------------------------------------------ errors

thread_local! {
    /// The last failure's message; `None` for none, or when there was no
    /// memory to copy it (then a static text stands in).
    static LAST_ERROR: RefCell<Option<CString>> = const { RefCell::new(None) };
    /// Whether the last failure was for want of memory.
    static LAST_NOMEM: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
}

/// `msg` as a C string (NULs as spaces), or `None` without the memory.
fn c_copy(msg: &str) -> Option<CString> {
    let mut bytes: Vec<u8> = Vec::new();
    bytes.try_reserve_exact(msg.len() + 1).ok()?;
    bytes.extend(msg.bytes().map(|b| if b == 0 { b' ' } else { b }));
    // (no NUL inside; with room for the terminator, no allocation)
    CString::new(bytes).ok()
}

/// Records `msg` for `raft_store_last_error`, copied only if the memory is
/// there (else the last error reads "out of memory"): never aborts.
fn set_last_error(msg: &str) {
    let c = c_copy(msg);
    LAST_NOMEM.with(|n| n.set(c.is_none()));
    let old = LAST_ERROR.with(|l| l.replace(c));
    drop(old);
}

/// Records that memory ran out, allocating nothing.
fn set_last_nomem() {
    LAST_NOMEM.with(|n| n.set(true));
    let old = LAST_ERROR.with(|l| l.replace(None));
    drop(old);
}

fn kind_code(kind: Kind) -> c_int {
    match kind {
        Kind::Io => RAFT_STORE_ERR_IO,
        Kind::NoSpace => RAFT_STORE_ERR_NOSPACE,
        Kind::ReadOnly => RAFT_STORE_ERR_READONLY,
        Kind::Corrupt => RAFT_STORE_ERR_CORRUPT,
        Kind::Invalid => RAFT_STORE_ERR_INVALID,
        Kind::Failed => RAFT_STORE_ERR_FAILED,
        Kind::Locked => RAFT_STORE_ERR_LOCKED,
        Kind::Other => RAFT_STORE_ERR_OTHER,
        Kind::NoMem => super::types::raft_error_e::RAFT_ERR_NOMEM as c_int,
    }
}

/// Records the error's message for `raft_store_last_error` and returns its code.
fn err_code(e: &Error) -> c_int {
    if e.kind == Kind::NoMem {
        set_last_nomem();
    } else {
        set_last_error(&e.msg);
    }
    kind_code(e.kind)
}

fn rc(r: crate::store::Result<()>) -> c_int {
    match r {
        Ok(()) => 0,
        Err(e) => err_code(&e),
    }
}

fn invalid(msg: &str) -> c_int {
    set_last_error(msg);
    RAFT_STORE_ERR_INVALID
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

// ------------------------------------------------------------------ the log vtable

unsafe extern "C" fn log_init(raft: *mut c_void, arg: *mut c_void) -> *mut c_void {
    super::guard(ptr::null_mut(), || {
        let st = arg as *mut raft_store;
        // SAFETY: arg is the store raft_store_new_server passed.
        let Some(s) = (unsafe { store_ref(st) }) else { return ptr::null_mut() };
        if !s.server.get().is_null() {
            return ptr::null_mut();
        }
        if !bind(raft as *mut raft_server_t, st) {
            set_last_nomem();
            return ptr::null_mut();
        }
        s.server.set(raft as *mut raft_server_t);
        arg
    })
}

unsafe extern "C" fn log_free(log: *mut c_void) {
    let st = log as *mut raft_store;
    super::guard((), || {
        // SAFETY: the handle log_init returned: a live store.
        let Some(s) = (unsafe { store_ref(st) }) else { return };
        s.server.set(ptr::null_mut());
        unbind(st);
        // The cached entries are released after the borrow ends (a
        // free_func may run).
        let cached = s.state.try_borrow_mut().map(|mut state| {
            let budget = state.cache.budget();
            (std::mem::replace(&mut state.cache, Cache::new(budget)), state.drop_ahead(0))
        });
        drop(cached);
    })
}

unsafe extern "C" fn log_reset(log: *mut c_void, first_idx: raft_index_t, term: raft_term_t) {
    let removed = with_state_or(log as *mut raft_store, None, |s| {
        if let Err(e) = s.store.reset(first_idx.max(1) as u64, term) {
            err_code(&e);
        }
        let budget = s.cache.budget();
        Some((std::mem::replace(&mut s.cache, Cache::new(budget)), s.drop_ahead(0)))
    });
    drop(removed);
}

unsafe extern "C" fn log_append(log: *mut c_void, entry: *mut raft_entry_t) -> c_int {
    if entry.is_null() {
        return invalid("append of a NULL entry");
    }
    state_rc(log as *mut raft_store, |s| {
        // SAFETY: the server passes a live entry for the duration of the call.
        let fields = unsafe { entry_fields(entry) };
        match s.store.append(&fields) {
            Ok(idx) => {
                // SAFETY: the entry is live; the cache takes its own reference.
                if let Some(held) = unsafe { EntryPtr::hold(entry) } {
                    s.cache.push(idx, held, entry_size(fields.data.len()));
                }
                0
            }
            Err(e) => err_code(&e),
        }
    })
}

unsafe extern "C" fn log_poll(log: *mut c_void, first_idx: raft_index_t) -> c_int {
    let mut evicted = None;
    let r = state_rc(log as *mut raft_store, |s| {
        let r = rc(s.store.poll(first_idx.max(0) as u64));
        // The evicted entries are released after the borrow ends.
        let mut old = s.cache.drop_before(s.store.first_idx());
        append_or_release(&mut old, s.drop_ahead(0));
        evicted = Some(old);
        r
    });
    drop(evicted);
    r
}

unsafe extern "C" fn log_pop(
    log: *mut c_void,
    from_idx: raft_index_t,
    cb: raft_entry_notify_f,
    cb_arg: *mut c_void,
) -> c_int {
    let st = log as *mut raft_store;
    let mut removed: Vec<(u64, EntryPtr)> = Vec::new();
    let mut uncached = Vec::new();
    let r = state_rc(st, |s| {
        let from = from_idx.max(0) as u64;
        let last = s.store.current_idx();
        if cb.is_some() && from <= last && from >= s.store.first_idx() {
            // The removed entries are read before they go, to be shown to cb
            // (the room for them first: without it nothing is removed).
            if removed.try_reserve_exact((last - from + 1) as usize).is_err() {
                return err_code(&Error::nomem());
            }
            for idx in from..=last {
                match get_entry(s, idx) {
                    Ok(Some(e)) => removed.push((idx, e)),
                    Ok(None) => break,
                    Err(e) => return err_code(&e),
                }
            }
        }
        let r = rc(s.store.pop(from));
        if r == 0 {
            uncached = s.cache.truncate(from);
            append_or_release(&mut uncached, s.drop_ahead(from));
        }
        r
    });
    if r == 0 {
        if let Some(cb) = cb {
            for (idx, e) in removed.iter().rev() {
                // SAFETY: the server's notify callback with its own argument and
                // a live entry we hold for the call.
                unsafe { cb(cb_arg, e.as_ptr(), *idx as raft_index_t) };
            }
        }
    }
    drop(uncached);
    r
}

/// Entry `idx` held: from the cache, the read-ahead, else read from the
/// store together with the entries after it.
fn get_entry(s: &mut State, idx: u64) -> crate::store::Result<Option<EntryPtr>> {
    if let Some(e) = s.cache.get(idx) {
        return Ok(Some(e));
    }
    if let Some(e) = idx.checked_sub(s.ahead_first).and_then(|k| s.ahead.get(k as usize)) {
        return Ok(Some(e.clone()));
    }
    let mut ahead = Vec::new();
    if ahead.try_reserve_exact(READ_AHEAD).is_err() {
        // No room for the read-ahead: this entry alone.
        return Ok(s.store.read(idx, entry_from)?.flatten());
    }
    let mut complete = true;
    s.store.read_range(idx, READ_AHEAD, |_, rec| match entry_from(rec) {
        Some(e) if complete => ahead.push(e),
        _ => complete = false,
    })?;
    let first = ahead.first().cloned();
    // The old read-ahead is replaced (released here: entries this layer
    // made, with no free_func of the program's).
    s.ahead = ahead;
    s.ahead_first = idx;
    Ok(first)
}

unsafe extern "C" fn log_get(log: *mut c_void, idx: raft_index_t) -> *mut raft_entry_t {
    with_state_or(log as *mut raft_store, ptr::null_mut(), |s| {
        if idx < 1 {
            return ptr::null_mut();
        }
        match get_entry(s, idx as u64) {
            Ok(Some(e)) => e.into_raw(),
            Ok(None) => ptr::null_mut(),
            Err(e) => {
                err_code(&e);
                s.store_report(&e);
                ptr::null_mut()
            }
        }
    })
}

unsafe extern "C" fn log_get_batch(
    log: *mut c_void,
    idx: raft_index_t,
    entries_n: raft_index_t,
    entries: *mut *mut raft_entry_t,
) -> raft_index_t {
    if entries.is_null() || entries_n <= 0 || idx < 1 {
        return 0;
    }
    with_state_or(log as *mut raft_store, -1, |s| {
        let max = entries_n as usize;
        let mut n = 0usize;
        let put = |e: EntryPtr, n: &mut usize| {
            // SAFETY: the caller's array has entries_n slots; *n < entries_n.
            unsafe { entries.add(*n).write(e.into_raw()) };
            *n += 1;
        };
        while n < max {
            let i = idx as u64 + n as u64;
            if let Some(e) = s.cache.get(i) {
                put(e, &mut n);
                continue;
            }
            // Not cached: read a run from disk (up to the cached part or the
            // segment's end) in one read.
            let mut failed = false;
            let got = s.store.read_range(i, max - n, |_, rec| match entry_from(rec) {
                Some(e) if !failed => put(e, &mut n),
                _ => failed = true,
            });
            match got {
                Ok(0) => break,
                Ok(_) if failed => break,
                Ok(_) => {}
                Err(e) => {
                    err_code(&e);
                    s.store_report(&e);
                    break;
                }
            }
        }
        n as raft_index_t
    })
}

unsafe extern "C" fn log_first_idx(log: *mut c_void) -> raft_index_t {
    with_state_or(log as *mut raft_store, 0, |s| s.store.first_idx() as raft_index_t)
}

unsafe extern "C" fn log_current_idx(log: *mut c_void) -> raft_index_t {
    with_state_or(log as *mut raft_store, 0, |s| s.store.current_idx() as raft_index_t)
}

unsafe extern "C" fn log_count(log: *mut c_void) -> raft_index_t {
    with_state_or(log as *mut raft_store, 0, |s| s.store.count() as raft_index_t)
}

unsafe extern "C" fn log_sync(log: *mut c_void) -> c_int {
    state_rc(log as *mut raft_store, |s| rc(s.store.sync()))
}

/// The store as a `raft_log_impl_t`.
static STORE_LOG_IMPL: raft_log_impl_t = raft_log_impl {
    init: Some(log_init),
    free: Some(log_free),
    reset: Some(log_reset),
    append: Some(log_append),
    poll: Some(log_poll),
    pop: Some(log_pop),
    get: Some(log_get),
    get_batch: Some(log_get_batch),
    first_idx: Some(log_first_idx),
    current_idx: Some(log_current_idx),
    count: Some(log_count),
    sync: Some(log_sync),
};

impl State {
    /// Reports a read failure (the log callbacks that return entries have
    /// no error code) through the diagnostics.
    fn store_report(&self, e: &Error) {
        if e.kind == Kind::NoMem {
            self.store.report(Level::Error, "read failed: out of memory");
        } else {
            self.store.report(Level::Error, &try_format(format_args!("read failed: {}", e.msg)));
        }
    }
}

// ------------------------------------------------------------------ exports

/// Fills `opts` with the defaults. No-op for NULL.
#[no_mangle]
pub unsafe extern "C" fn raft_store_options_init(opts: *mut raft_store_options) {
    if !opts.is_null() {
        // SAFETY: the caller passes writable room for the options.
        super::guard((), || unsafe { opts.write(default_options()) })
    }
}

/// Sends store diagnostics to a C callback.
struct CSink {
    cb: unsafe extern "C" fn(arg: *mut c_void, level: c_int, msg: *const c_char),
    arg: *mut c_void,
}

// SAFETY: the sink is called only from store calls the program makes on its
// own thread (the background sync thread reports through the store, not
// through diagnostics); the program owns `arg` and chose to hand it over.
unsafe impl Send for CSink {}
// SAFETY: as above.
unsafe impl Sync for CSink {}

impl CSink {
    fn emit(&self, level: Level, msg: &str) {
        // (copied only if the memory is there: a line is dropped rather
        // than the process aborted)
        let Some(c) = c_copy(msg) else { return };
        // SAFETY: the program's callback with its own argument and a string
        // valid for the call.
        unsafe { (self.cb)(self.arg, level as c_int, c.as_ptr()) }
    }
}

fn parse_faults(spec: &str) -> Option<Plan> {
    let v: Vec<u64> = spec.split(',').map(|x| x.trim().parse().ok()).collect::<Option<Vec<_>>>()?;
    let [ops, fault, skip, ppm, seed] = v[..] else { return None };
    Some(Plan { ops: ops as u32, fault: fault_of(fault as c_int)?, skip, ppm: ppm as u32, seed })
}

fn fault_of(f: c_int) -> Option<Fault> {
    Some(match f {
        1 => Fault::Errno(libc::EIO),
        2 => Fault::Errno(libc::ENOSPC),
        3 => Fault::Errno(libc::EROFS),
        4 => Fault::Short,
        _ => return None,
    })
}

/// Opens (and with RAFT_STORE_CREATE creates) the store in `dir` and
/// recovers it; see raft_store.h. RAFT_STORE_ERR_INVALID for a NULL `dir`
/// or `out` or a bad option; else the recovery's or the system's error.
#[no_mangle]
pub unsafe extern "C" fn raft_store_open(
    dir: *const c_char,
    opts: *const raft_store_options,
    out: *mut *mut raft_store,
) -> c_int {
    super::guard(RAFT_STORE_ERR_OTHER, || {
        if out.is_null() {
            return invalid("NULL out pointer");
        }
        // SAFETY: out is writable (checked non-NULL; the caller's contract).
        unsafe { out.write(ptr::null_mut()) };
        if dir.is_null() {
            return invalid("NULL directory");
        }
        // SAFETY: a NUL-terminated string (the caller's contract).
        let dir = unsafe { CStr::from_ptr(dir) };
        let Ok(dir) = dir.to_str() else { return invalid("directory name is not UTF-8") };
        // SAFETY: opts is NULL or readable options.
        let o = unsafe { opts.as_ref() }.copied().unwrap_or_else(default_options);
        let fsync = match o.fsync_policy {
            0 => Fsync::Data,
            1 => Fsync::Full,
            2 => Fsync::None,
            _ => return invalid("unknown fsync policy"),
        };
        if o.flags & !(RAFT_STORE_CREATE | RAFT_STORE_REPAIR) != 0 {
            return invalid("unknown flags");
        }
        let options = Options {
            segment_size: o.segment_size as u64,
            fsync,
            create: o.flags & RAFT_STORE_CREATE != 0,
            repair: o.flags & RAFT_STORE_REPAIR != 0,
        };
        let level = match o.log_level {
            i if i <= 1 => Level::Error,
            2 => Level::Warn,
            3 => Level::Info,
            4 => Level::Debug,
            _ => Level::Trace,
        };
        let sink = o.log_cb.map(|cb| {
            let s = CSink { cb, arg: o.log_arg };
            Box::new(move |l: Level, m: &str| s.emit(l, m)) as crate::store::diag::Sink
        });
        let store = match Store::open(Path::new(dir), options, Diag::new(sink, level)) {
            Ok(s) => s,
            Err(e) => return err_code(&e),
        };
        if let Ok(spec) = std::env::var("RAFT_STORE_FAULTS") {
            match parse_faults(&spec) {
                Some(plan) => store.faults().set_plan(Some(plan)),
                None => return invalid("RAFT_STORE_FAULTS is not 'ops,fault,skip,ppm,seed'"),
            }
        }
        let st = Box::new(raft_store {
            state: RefCell::new(State { store, cache: Cache::new(o.cache_size), ahead: Vec::new(), ahead_first: 0 }),
            server: Cell::new(ptr::null_mut()),
            restored: Cell::new(false),
        });
        // SAFETY: out is writable (checked above).
        unsafe { out.write(Box::into_raw(st)) };
        0
    })
}

/// Makes a new server whose log is the store. NULL for a NULL store, a
/// store already bound, or a failed allocation.
#[no_mangle]
pub unsafe extern "C" fn raft_store_new_server(st: *mut raft_store) -> *mut raft_server_t {
    super::guard(ptr::null_mut(), || {
        // SAFETY: NULL or a live store (the header's contract).
        let Some(s) = (unsafe { store_ref(st) }) else { return ptr::null_mut() };
        if !s.server.get().is_null() {
            set_last_error("the store is already bound to a server");
            return ptr::null_mut();
        }
        // SAFETY: a valid vtable and the store as its init argument.
        unsafe { super::server::raft_new_with_log(&STORE_LOG_IMPL, st as *mut c_void) }
    })
}

/// Restores `r` from the store: snapshot position, log (and the
/// configuration it carries), term and vote. See raft_store.h.
#[no_mangle]
pub unsafe extern "C" fn raft_store_restore(
    st: *mut raft_store,
    r: *mut raft_server_t,
    snap_term: raft_term_t,
    snap_idx: raft_index_t,
) -> c_int {
    super::guard(RAFT_STORE_ERR_OTHER, || {
        // SAFETY: NULL or a live store.
        let Some(s) = (unsafe { store_ref(st) }) else { return invalid("NULL store") };
        if r.is_null() || s.server.get() != r {
            return invalid("the server is not bound to this store");
        }
        if s.restored.get() {
            return invalid("the server was already restored");
        }
        if snap_idx < 0 || snap_term < 0 {
            return invalid("negative snapshot position");
        }
        let mut old_cache = None;
        let pos = with_state_or(st, Err(RAFT_STORE_ERR_INVALID), |state| {
            let store = &mut state.store;
            let (sidx, sterm) = store.snapshot();
            if snap_idx == 0 && snap_term == 0 {
                return Ok((sidx, sterm));
            }
            let (idx, term) = (snap_idx as u64, snap_term);
            if idx < sidx {
                return Err(invalid(&format!(
                    "snapshot at {idx} is older than the stored log, which starts after {sidx}"
                )));
            }
            let r = if store.term_at(idx) == Some(term) {
                if idx + 1 > store.first_idx() {
                    store.poll(idx + 1)
                } else {
                    Ok(())
                }
            } else {
                if idx <= store.current_idx() {
                    store.report(
                        Level::Warn,
                        &format!("the log's entry {idx} does not match the snapshot's term {term}: log emptied"),
                    );
                }
                store.reset(idx + 1, term)
            };
            let budget = state.cache.budget();
            old_cache = Some((std::mem::replace(&mut state.cache, Cache::new(budget)), state.drop_ahead(0)));
            r.map(|()| (idx, term)).map_err(|e| err_code(&e))
        });
        drop(old_cache);
        let (idx, term) = match pos {
            Ok(p) => p,
            Err(code) => return code,
        };
        if idx > 0 {
            // SAFETY: `r` is the caller's server (non-NULL, bound to this store),
            // live by this function's contract.
            let r = unsafe { super::server::raft_restore_snapshot(r, term, idx as raft_index_t) };
            if r != 0 {
                return r;
            }
        }
        // SAFETY: as above.
        let rc = unsafe { super::server::raft_restore_log(r) };
        if rc != 0 {
            return rc;
        }
        let meta = with_state_or(st, None, |state| Some((state.store.term(), state.store.vote())));
        let Some((term, vote)) = meta else { return RAFT_STORE_ERR_INVALID };
        if term > 0 || vote != -1 {
            // SAFETY: as above.
            let rc = unsafe { super::server::raft_restore_metadata(r, term, vote) };
            if rc != 0 {
                return rc;
            }
        }
        s.restored.set(true);
        0
    })
}

/// Closes the store (final write and sync). RAFT_STORE_ERR_INVALID while a
/// server is bound. NULL: 0.
#[no_mangle]
pub unsafe extern "C" fn raft_store_close(st: *mut raft_store) -> c_int {
    close_with(st, |s| s.close())
}

/// TEST ONLY: cuts unsynced bytes off the files, then closes without a
/// final sync (a simulated power failure).
#[no_mangle]
pub unsafe extern "C" fn raft_store_crash(st: *mut raft_store) -> c_int {
    close_with(st, |s| s.crash())
}

fn close_with(st: *mut raft_store, f: impl FnOnce(Store) -> crate::store::Result<()>) -> c_int {
    super::guard(RAFT_STORE_ERR_OTHER, || {
        // SAFETY: NULL or a live store.
        let Some(s) = (unsafe { store_ref(st) }) else { return 0 };
        if !s.server.get().is_null() {
            return invalid("a server is still bound to the store (raft_destroy it first)");
        }
        if s.state.try_borrow_mut().is_err() {
            return invalid("store called re-entrantly");
        }
        // SAFETY: st came from Box::into_raw in raft_store_open; no server
        // and no call uses it any more (checked above).
        let b = unsafe { Box::from_raw(st) };
        let State { store, cache, ahead, .. } = b.state.into_inner();
        drop((cache, ahead));
        rc(f(store))
    })
}

/// Durably records term and vote. See raft_store.h.
#[no_mangle]
pub unsafe extern "C" fn raft_store_persist_metadata(
    st: *mut raft_store,
    term: raft_term_t,
    vote: raft_node_id_t,
) -> c_int {
    state_rc(st, |s| rc(s.store.set_metadata(term, vote)))
}

/// A persist_metadata callback that finds the store bound to `r`.
#[no_mangle]
pub unsafe extern "C" fn raft_store_persist_metadata_cb(
    r: *mut raft_server_t,
    _user_data: *mut c_void,
    term: raft_term_t,
    vote: raft_node_id_t,
) -> c_int {
    super::guard(RAFT_STORE_ERR_OTHER, || match bound_store(r) {
        // SAFETY: a registered store is live (it unregisters when its
        // server goes, and cannot close while bound).
        Some(st) => unsafe { raft_store_persist_metadata(st, term, vote) },
        None => invalid("the server is not bound to a store"),
    })
}

/// Term and vote as last persisted.
#[no_mangle]
pub unsafe extern "C" fn raft_store_get_metadata(
    st: *mut raft_store,
    term: *mut raft_term_t,
    vote: *mut raft_node_id_t,
) -> c_int {
    if term.is_null() || vote.is_null() {
        return invalid("NULL argument");
    }
    state_rc(st, |s| {
        // SAFETY: both checked non-NULL; writable per the contract.
        unsafe {
            term.write(s.store.term());
            vote.write(s.store.vote());
        }
        0
    })
}

/// The store's `raft_log_impl_t`, for a program that wraps it in a log of
/// its own (its functions take the store as their `log` handle).
#[no_mangle]
pub extern "C" fn raft_store_log_impl() -> *const raft_log_impl_t {
    &STORE_LOG_IMPL
}

/// Index and term of the entry before the log's first.
#[no_mangle]
pub unsafe extern "C" fn raft_store_get_snapshot(
    st: *mut raft_store,
    term: *mut raft_term_t,
    idx: *mut raft_index_t,
) -> c_int {
    if term.is_null() || idx.is_null() {
        return invalid("NULL argument");
    }
    state_rc(st, |s| {
        let (i, t) = s.store.snapshot();
        // SAFETY: both checked non-NULL; writable per the contract.
        unsafe {
            term.write(t);
            idx.write(i as raft_index_t);
        }
        0
    })
}

/// First index of the stored log (0 for NULL).
#[no_mangle]
pub unsafe extern "C" fn raft_store_first_idx(st: *mut raft_store) -> raft_index_t {
    with_state_or(st, 0, |s| s.store.first_idx() as raft_index_t)
}

/// Last index of the stored log (0 for NULL).
#[no_mangle]
pub unsafe extern "C" fn raft_store_current_idx(st: *mut raft_store) -> raft_index_t {
    with_state_or(st, 0, |s| s.store.current_idx() as raft_index_t)
}

/// Blocking sync of everything appended.
#[no_mangle]
pub unsafe extern "C" fn raft_store_sync(st: *mut raft_store) -> c_int {
    state_rc(st, |s| rc(s.store.sync()))
}

/// Index up to which the log is durable (0 for NULL).
#[no_mangle]
pub unsafe extern "C" fn raft_store_synced_idx(st: *mut raft_store) -> raft_index_t {
    with_state_or(st, 0, |s| s.store.synced_idx() as raft_index_t)
}

/// Starts a background sync.
#[no_mangle]
pub unsafe extern "C" fn raft_store_sync_start(st: *mut raft_store) -> c_int {
    state_rc(st, |s| rc(s.store.sync_start()))
}

/// The completion fd (-1 for NULL).
#[no_mangle]
pub unsafe extern "C" fn raft_store_sync_fd(st: *mut raft_store) -> c_int {
    with_state_or(st, -1, |s| s.store.sync_fd())
}

/// Collects finished background syncs.
#[no_mangle]
pub unsafe extern "C" fn raft_store_sync_poll(st: *mut raft_store, synced_idx: *mut raft_index_t) -> c_int {
    state_rc(st, |s| match s.store.sync_poll() {
        Ok(Some(idx)) => {
            if !synced_idx.is_null() {
                // SAFETY: checked non-NULL; writable per the contract.
                unsafe { synced_idx.write(idx as raft_index_t) };
            }
            0
        }
        Ok(None) => RAFT_STORE_ERR_AGAIN,
        Err(e) => err_code(&e),
    })
}

/// Waits for the background syncs asked for, then collects them.
#[no_mangle]
pub unsafe extern "C" fn raft_store_sync_wait(st: *mut raft_store, synced_idx: *mut raft_index_t) -> c_int {
    state_rc(st, |s| match s.store.sync_wait() {
        Ok(idx) => {
            if !synced_idx.is_null() {
                // SAFETY: checked non-NULL; writable per the contract.
                unsafe { synced_idx.write(idx as raft_index_t) };
            }
            0
        }
        Err(e) => err_code(&e),
    })
}

/// fdatasync/fsync calls made on files so far (directory syncs not
/// counted); 0 for NULL.
#[no_mangle]
pub unsafe extern "C" fn raft_store_fsync_count(st: *mut raft_store) -> c_ulong {
    with_state_or(st, 0, |s| s.store.stats().syncs as c_ulong)
}

/// A static description of an error code.
#[no_mangle]
pub extern "C" fn raft_store_strerror(err: c_int) -> *const c_char {
    let text: &'static [u8] = match err {
        0 => b"success\0",
        RAFT_STORE_ERR_IO => b"I/O error\0",
        RAFT_STORE_ERR_NOSPACE => b"no space left on device\0",
        RAFT_STORE_ERR_READONLY => b"read-only file system or permission denied\0",
        RAFT_STORE_ERR_CORRUPT => b"corrupt store\0",
        RAFT_STORE_ERR_INVALID => b"invalid argument or call\0",
        RAFT_STORE_ERR_FAILED => b"store failed after a sync error; reopen it\0",
        RAFT_STORE_ERR_AGAIN => b"no background sync finished\0",
        RAFT_STORE_ERR_LOCKED => b"store directory locked by another user\0",
        RAFT_STORE_ERR_OTHER => b"system error\0",
        _ => return super::properties::raft_get_error_str(err),
    };
    text.as_ptr() as *const c_char
}

/// The last failure's message on this thread ("" if none).
#[no_mangle]
pub extern "C" fn raft_store_last_error() -> *const c_char {
    super::guard(c"".as_ptr(), || {
        LAST_ERROR.with(|l| match l.borrow().as_ref() {
            Some(c) => c.as_ptr(),
            None if LAST_NOMEM.with(|n| n.get()) => c"out of memory".as_ptr(),
            None => c"".as_ptr(),
        })
    })
}

/// TEST ONLY: injects faults into the store's file operations.
#[no_mangle]
pub unsafe extern "C" fn raft_store_inject_fault(
    st: *mut raft_store,
    ops: c_int,
    fault: c_int,
    skip: c_ulong,
    ppm: c_uint,
    seed: c_ulong,
) -> c_int {
    state_rc(st, |s| {
        if ops == 0 {
            s.store.faults().set_plan(None);
            return 0;
        }
        let Some(fault) = fault_of(fault) else { return invalid("unknown fault") };
        s.store.faults().set_plan(Some(Plan { ops: ops as u32, fault, skip, ppm, seed }));
        0
    })
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
