//! The `raft_log_impl_t` through which a bound server uses its store.

use super::*;

// ------------------------------------------------------------------ the log vtable

unsafe extern "C" fn log_init(raft: *mut c_void, arg: *mut c_void) -> *mut c_void {
    crate::ffi::guard(ptr::null_mut(), || {
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
        s.restore_step.set(RestoreStep::None);
        arg
    })
}

unsafe extern "C" fn log_free(log: *mut c_void) {
    let st = log as *mut raft_store;
    crate::ffi::guard((), || {
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
        return match s.store.read(idx, entry_from)? {
            None => Ok(None),
            Some(Some(e)) => Ok(Some(e)),
            // (there, but no memory for its copy)
            Some(None) => Err(Error::nomem()),
        };
    }
    let mut complete = true;
    let n = s.store.read_range(idx, READ_AHEAD, |_, rec| match entry_from(rec) {
        Some(e) if complete => ahead.push(e),
        _ => complete = false,
    })?;
    if n > 0 && ahead.is_empty() {
        return Err(Error::nomem());
    }
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
                s.read_nomem |= e.kind == Kind::NoMem;
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
pub(super) static STORE_LOG_IMPL: raft_log_impl_t = raft_log_impl {
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

