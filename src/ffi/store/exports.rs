//! The `raft_store_*` functions of `raft_store.h`.

use super::*;
use crate::ffi::heap::try_box;

// ------------------------------------------------------------------ exports

/// Fills `opts` with the defaults. No-op for NULL.
#[no_mangle]
pub unsafe extern "C" fn raft_store_options_init(opts: *mut raft_store_options) {
    if !opts.is_null() {
        // SAFETY: the caller passes writable room for the options.
        crate::ffi::guard((), || unsafe { opts.write(default_options()) })
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

/// Parses "ops,fault,skip,ppm,seed" (allocating nothing).
pub(super) fn parse_faults(spec: &str) -> Option<Plan> {
    let mut v = [0u64; 5];
    let mut parts = spec.split(',');
    for x in v.iter_mut() {
        *x = parts.next()?.trim().parse().ok()?;
    }
    if parts.next().is_some() {
        return None;
    }
    let [ops, fault, skip, ppm, seed] = v;
    Some(Plan { ops: ops as u32, fault: fault_of(fault as c_int)?, skip, ppm: ppm as u32, seed })
}

/// The fault plan of the environment variable RAFT_STORE_FAULTS: None when
/// it is not set, Some(None) when it does not parse. Read in place (std's
/// `env::var` copies the value with an allocation it cannot fail).
fn env_faults() -> Option<Option<Plan>> {
    // SAFETY: getenv with a NUL-terminated name; the value it returns is
    // read before this function returns, and the library never calls
    // setenv (a program changing the environment from another thread
    // meanwhile is outside what getenv allows anyway).
    let v = unsafe { libc::getenv(c"RAFT_STORE_FAULTS".as_ptr()) };
    if v.is_null() {
        return None;
    }
    // SAFETY: getenv returned a NUL-terminated string.
    let v = unsafe { CStr::from_ptr(v) };
    Some(v.to_str().ok().and_then(parse_faults))
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
    crate::ffi::guard(RAFT_STORE_ERR_OTHER, || {
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
        let plan = match env_faults() {
            None => None,
            Some(Some(plan)) => Some(plan),
            Some(None) => return invalid("RAFT_STORE_FAULTS is not 'ops,fault,skip,ppm,seed'"),
        };
        // Every allocation from here on is fallible (RAFT_ERR_NOMEM, with
        // *out NULL and nothing kept); the store's handle is obtained
        // before the directory is opened, so that nothing can fail after
        // recovery changed it.
        let sink = match o.log_cb {
            None => None,
            Some(cb) => {
                let s = CSink { cb, arg: o.log_arg };
                match try_box(move |l: Level, m: &str| s.emit(l, m)) {
                    Some(b) => Some(b as crate::store::diag::Sink),
                    None => return err_code(&Error::nomem()),
                }
            }
        };
        let Some(mut handle) = try_box(std::mem::MaybeUninit::<raft_store>::uninit()) else {
            return err_code(&Error::nomem());
        };
        let store = match Store::open(Path::new(dir), options, Diag::new(sink, level)) {
            Ok(s) => s,
            Err(e) => return err_code(&e),
        };
        if plan.is_some() {
            store.faults().set_plan(plan);
        }
        handle.write(raft_store {
            state: RefCell::new(State {
                store,
                cache: Cache::new(o.cache_size),
                ahead: Vec::new(),
                ahead_first: 0,
                read_nomem: false,
            }),
            server: Cell::new(ptr::null_mut()),
            restored: Cell::new(false),
            restore_step: Cell::new(RestoreStep::None),
        });
        // SAFETY: the block was initialised just above; MaybeUninit<T> has
        // T's layout, so the box is a Box<raft_store>.
        let st = Box::into_raw(handle) as *mut raft_store;
        // SAFETY: out is writable (checked above).
        unsafe { out.write(st) };
        0
    })
}

/// Makes a new server whose log is the store. NULL for a NULL store, a
/// store already bound, or a failed allocation.
#[no_mangle]
pub unsafe extern "C" fn raft_store_new_server(st: *mut raft_store) -> *mut raft_server_t {
    crate::ffi::guard(ptr::null_mut(), || {
        // SAFETY: NULL or a live store (the header's contract).
        let Some(s) = (unsafe { store_ref(st) }) else { return ptr::null_mut() };
        if !s.server.get().is_null() {
            set_last_error("the store is already bound to a server");
            return ptr::null_mut();
        }
        // SAFETY: a valid vtable and the store as its init argument.
        unsafe { crate::ffi::server::raft_new_with_log(&STORE_LOG_IMPL, st as *mut c_void) }
    })
}

/// Restores `r` from the store: snapshot position, log (and the
/// configuration it carries), term and vote. See raft_store.h.
///
/// Out of memory: RAFT_ERR_NOMEM, and the call may be made again (with the
/// same snapshot position). The store's part (a compaction or reset to the
/// snapshot) is done again harmlessly; of the server's steps, those done
/// are remembered and skipped (`raft_restore_snapshot` refuses a second
/// call; `raft_restore_log` may be repeated).
#[no_mangle]
pub unsafe extern "C" fn raft_store_restore(
    st: *mut raft_store,
    r: *mut raft_server_t,
    snap_term: raft_term_t,
    snap_idx: raft_index_t,
) -> c_int {
    crate::ffi::guard(RAFT_STORE_ERR_OTHER, || {
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
        let step = s.restore_step.get();
        let mut old_cache = None;
        let pos = with_state_or(st, Err(RAFT_STORE_ERR_INVALID), |state| {
            let store = &mut state.store;
            let (sidx, sterm) = store.snapshot();
            let want = if snap_idx == 0 && snap_term == 0 { (sidx, sterm) } else { (snap_idx as u64, snap_term) };
            // (checked before the store changes)
            if let RestoreStep::Snapshot(i, t) | RestoreStep::Log(i, t) = step {
                if (i, t) != want {
                    return Err(invalid(
                        "restore resumed with another snapshot position than the call that ran out of memory",
                    ));
                }
            }
            if snap_idx == 0 && snap_term == 0 {
                return Ok((sidx, sterm));
            }
            let (idx, term) = (snap_idx as u64, snap_term);
            if idx < sidx {
                return Err(invalid(&try_format(format_args!(
                    "snapshot at {idx} is older than the stored log, which starts after {sidx}"
                ))));
            }
            // (both leave the store as it was when memory runs out, and
            // find nothing to do when called again after they succeeded)
            let r = if store.term_at(idx) == Some(term) {
                if idx + 1 > store.first_idx() {
                    store.poll(idx + 1)
                } else {
                    Ok(())
                }
            } else {
                if idx <= store.current_idx() {
                    let msg = try_format(format_args!(
                        "the log's entry {idx} does not match the snapshot's term {term}: log emptied"
                    ));
                    store.report(Level::Warn, if msg.is_empty() { "the log does not match the snapshot: log emptied" } else { &msg });
                }
                store.try_reset(idx + 1, term)
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
        if step == RestoreStep::None {
            if idx > 0 {
                // SAFETY: `r` is the caller's server (non-NULL, bound to this
                // store), live by this function's contract.
                let r = unsafe { crate::ffi::server::raft_restore_snapshot(r, term, idx as raft_index_t) };
                if r != 0 {
                    return r;
                }
            }
            s.restore_step.set(RestoreStep::Snapshot(idx, term));
        }
        if !matches!(step, RestoreStep::Log(..)) {
            with_state_or(st, (), |state| state.read_nomem = false);
            // SAFETY: as above.
            let rc = unsafe { crate::ffi::server::raft_restore_log(r) };
            // (a read that found no memory for an entry is a NULL from the
            // log's get, which raft_restore_log takes for a missing entry)
            if rc == -1 && with_state_or(st, false, |state| std::mem::take(&mut state.read_nomem)) {
                return err_code(&Error::nomem());
            }
            if rc != 0 {
                return rc;
            }
            s.restore_step.set(RestoreStep::Log(idx, term));
        }
        let meta = with_state_or(st, None, |state| Some((state.store.term(), state.store.vote())));
        let Some((term, vote)) = meta else { return RAFT_STORE_ERR_INVALID };
        if term > 0 || vote != -1 {
            // SAFETY: as above.
            let rc = unsafe { crate::ffi::server::raft_restore_metadata(r, term, vote) };
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
    close_with(st, |s| s.final_sync())
}

/// TEST ONLY: cuts unsynced bytes off the files, then closes without a
/// final sync (a simulated power failure).
#[no_mangle]
pub unsafe extern "C" fn raft_store_crash(st: *mut raft_store) -> c_int {
    close_with(st, |s| s.crash_files())
}

/// Runs `f` (the final sync, or the simulated power failure) and frees the
/// store, which allocates nothing. When `f` ran out of memory
/// (RAFT_ERR_NOMEM), the store is kept, open and usable: close it again
/// once memory is back. Any other result frees it.
fn close_with(st: *mut raft_store, f: impl FnOnce(&mut Store) -> crate::store::Result<()>) -> c_int {
    crate::ffi::guard(RAFT_STORE_ERR_OTHER, || {
        // SAFETY: NULL or a live store.
        let Some(s) = (unsafe { store_ref(st) }) else { return 0 };
        if !s.server.get().is_null() {
            return invalid("a server is still bound to the store (raft_destroy it first)");
        }
        let Ok(mut state) = s.state.try_borrow_mut() else {
            return invalid("store called re-entrantly");
        };
        let r = f(&mut state.store);
        drop(state);
        if let Err(e) = &r {
            if e.kind == Kind::NoMem {
                return err_code(e);
            }
        }
        // SAFETY: st came from Box::into_raw in raft_store_open; no server
        // and no call uses it any more (checked above).
        let b = unsafe { Box::from_raw(st) };
        let State { store, cache, ahead, .. } = b.state.into_inner();
        drop((cache, ahead));
        drop(store);
        rc(r)
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
    crate::ffi::guard(RAFT_STORE_ERR_OTHER, || match bound_store(r) {
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
        _ => return crate::ffi::properties::raft_get_error_str(err),
    };
    text.as_ptr() as *const c_char
}

/// The last failure's message on this thread ("" if none).
#[no_mangle]
pub extern "C" fn raft_store_last_error() -> *const c_char {
    crate::ffi::guard(c"".as_ptr(), || {
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

