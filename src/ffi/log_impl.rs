//! Logs: the built-in in-memory log (as `raft_log_t`, as the exported
//! `raft_log_internal_impl` vtable and through the compat `raft_log_*`
//! functions), and [`LogBackend`], the core's view of whichever log a
//! server uses, built-in or the application's `raft_log_impl_t`.

use std::cell::{Cell, RefCell};
use std::ffi::{c_int, c_void};
use std::mem::ManuallyDrop;
use std::panic::{catch_unwind, resume_unwind, AssertUnwindSafe};
use std::ptr;

use super::entry::EntryPtr;
use super::types::*;
use crate::core::{self, EntryHandle, Index, Log, MemoryLog, RaftError, Term};

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
    pub(crate) fn new(capacity: usize) -> Box<raft_log> {
        Box::new(raft_log {
            mem: MemoryLog::with_capacity(capacity),
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

    /// Calls one observer with no borrow of the log held.
    fn observe(&self, cb: raft_logentry_event_f, entry: &EntryPtr, idx: Index) -> c_int {
        let Some(cb) = cb else { return 0 };
        let raft = self.raft.get();
        let user_data = if raft.is_null() {
            ptr::null_mut()
        } else if raft == self.owner.get() as *mut c_void {
            super::server::user_data_of(self.owner.get())
        } else {
            // A standalone log bound to a server (`raft_log_set_callbacks`):
            // that server's user data, as in the original library, if the
            // pointer is a live server.
            super::server::live_user_data(raft)
        };
        // SAFETY: an application callback, called with the arguments its
        // typedef documents; the entry is held for the duration.
        self.busy(|| unsafe { cb(raft as *mut raft_server_t, user_data, entry.as_ptr(), idx) })
    }

    #[inline(always)]
    pub(crate) fn append(&self, entry: &EntryPtr) -> core::Result<()> {
        self.append_indexed(entry).map(|_| ())
    }

    #[inline(always)]
    pub(crate) fn append_indexed(&self, entry: &EntryPtr) -> core::Result<Index> {
        self.offer(entry)?;
        self.mem.append_indexed(entry)
    }

    /// `append_indexed` for an entry known not to change the configuration.
    #[inline(always)]
    pub(crate) fn append_ordinary(&self, entry: &EntryPtr) -> core::Result<Index> {
        self.offer(entry)?;
        self.mem.append_ordinary(entry)
    }

    /// Asks the `log_offer` observer, if any, about appending `entry`.
    #[inline(always)]
    fn offer(&self, entry: &EntryPtr) -> core::Result<()> {
        if let Some(offer) = self.cbs.get().log_offer {
            let idx = self.mem.current_idx() + 1;
            core::check(self.observe(Some(offer), entry, idx))?;
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
            core::check(self.observe(self.cbs.get().log_poll, &entry, idx))?;
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
            core::check(self.observe(self.cbs.get().log_pop, &entry, idx))?;
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

impl Drop for raft_log {
    fn drop(&mut self) {
        self.notify_clear();
        // Each entry's drop gives back the log's reference.
        drop(self.mem.take_all());
    }
}

/// Which log a server uses.
pub enum LogBackend {
    Builtin(Box<raft_log>),
    /// The application's implementation and the handle its `init` returned.
    Custom {
        vtable: raft_log_impl_t,
        handle: *mut c_void,
    },
}

/// Runs a core closure inside a C callback, keeping a panic from unwinding
/// through the C frames; the panic resumes once C has returned.
struct PopNotifier<'a> {
    removed: &'a mut dyn FnMut(&EntryPtr, Index),
    panic: Option<Box<dyn std::any::Any + Send>>,
}

unsafe extern "C" fn pop_trampoline(arg: *mut c_void, entry: *mut raft_entry_t, idx: raft_index_t) {
    // SAFETY: arg is the PopNotifier that LogBackend::pop passed along with
    // this function, alive for the duration of the pop call.
    let notifier = unsafe { &mut *(arg as *mut PopNotifier<'_>) };
    if notifier.panic.is_some() || entry.is_null() {
        return;
    }
    // SAFETY: the log passes a live entry; it keeps its own reference, so the
    // borrowed handle must not release (ManuallyDrop).
    let handle = ManuallyDrop::new(unsafe { EntryPtr::from_held(entry) }.expect("checked non-null"));
    let removed = &mut notifier.removed;
    if let Err(panic) = catch_unwind(AssertUnwindSafe(|| removed(&handle, idx))) {
        notifier.panic = Some(panic);
    }
}

impl LogBackend {
    /// The handle `raft_get_log` returns.
    pub(crate) fn handle(&self) -> *mut c_void {
        match self {
            LogBackend::Builtin(log) => &**log as *const raft_log as *mut c_void,
            LogBackend::Custom { handle, .. } => *handle,
        }
    }
}

impl Log<EntryPtr> for LogBackend {
    #[inline(always)]
    fn append(&self, entry: &EntryPtr) -> core::Result<()> {
        match self {
            LogBackend::Builtin(log) => log.append(entry),
            LogBackend::Custom { vtable, handle } => match vtable.append {
                // SAFETY: the application's append, called with its own handle
                // and a live entry, which it holds if it keeps it.
                Some(f) => core::check(unsafe { f(*handle, entry.as_ptr()) }),
                None => Err(RaftError::Failed),
            },
        }
    }

    #[inline(always)]
    fn append_ordinary(&self, entry: &EntryPtr) -> core::Result<Index> {
        match self {
            LogBackend::Builtin(log) => log.append_ordinary(entry),
            LogBackend::Custom { .. } => self.append_indexed(entry),
        }
    }

    #[inline(always)]
    fn append_indexed(&self, entry: &EntryPtr) -> core::Result<Index> {
        match self {
            LogBackend::Builtin(log) => log.append_indexed(entry),
            LogBackend::Custom { .. } => {
                self.append(entry)?;
                Ok(self.current_idx())
            }
        }
    }

    fn append_until_cfg_change(&self, entries: &[EntryPtr]) -> (usize, core::Result<()>) {
        match self {
            // Without an offer observer there is nothing to ask per entry.
            LogBackend::Builtin(log) if log.cbs.get().log_offer.is_none() => log.mem.append_until_cfg_change(entries),
            _ => core::append_each_until_cfg_change(self, entries),
        }
    }

    fn may_hold_cfg_change(&self, idx: Index) -> bool {
        match self {
            LogBackend::Builtin(log) => log.mem.may_hold_cfg_change(idx),
            LogBackend::Custom { .. } => true,
        }
    }

    fn poll(&self, first_idx: Index) -> core::Result<()> {
        match self {
            LogBackend::Builtin(log) => log.poll(first_idx),
            LogBackend::Custom { vtable, handle } => match vtable.poll {
                // SAFETY: the application's poll with its own handle.
                Some(f) => core::check(unsafe { f(*handle, first_idx) }),
                None => Err(RaftError::Failed),
            },
        }
    }

    fn pop(&self, from_idx: Index, removed: &mut dyn FnMut(&EntryPtr, Index)) -> core::Result<()> {
        match self {
            LogBackend::Builtin(log) => log.pop(from_idx, removed),
            LogBackend::Custom { vtable, handle } => {
                let Some(f) = vtable.pop else { return Err(RaftError::Failed) };
                let mut notifier = PopNotifier { removed, panic: None };
                // SAFETY: the application's pop with its own handle; the
                // trampoline and its argument outlive the call.
                let rc = unsafe {
                    f(*handle, from_idx, Some(pop_trampoline), &mut notifier as *mut PopNotifier<'_> as *mut c_void)
                };
                if let Some(panic) = notifier.panic {
                    resume_unwind(panic);
                }
                core::check(rc)
            }
        }
    }

    fn get(&self, idx: Index) -> Option<EntryPtr> {
        match self {
            LogBackend::Builtin(log) => log.memory().get(idx),
            LogBackend::Custom { vtable, handle } => {
                let f = vtable.get?;
                // SAFETY: the application's get returns a held entry or NULL.
                unsafe { EntryPtr::from_held(f(*handle, idx)) }
            }
        }
    }

    fn get_batch(&self, idx: Index, max: usize, out: &mut Vec<EntryPtr>) -> usize {
        match self {
            LogBackend::Builtin(log) => log.memory().get_batch(idx, max, out),
            LogBackend::Custom { vtable, handle } => {
                let Some(f) = vtable.get_batch else {
                    // Without a batch call, fetch one by one.
                    let mut n = 0;
                    while n < max {
                        match self.get(idx + n as Index) {
                            Some(e) => out.push(e),
                            None => break,
                        }
                        n += 1;
                    }
                    return n;
                };
                fill_from_c(out, max, |slots| {
                    // SAFETY: the application fills at most max slots of the
                    // array with held entries.
                    unsafe { f(*handle, idx, max as raft_index_t, slots) }
                })
            }
        }
    }

    fn with_entries<R>(
        &self,
        idx: Index,
        max: usize,
        scratch: &RefCell<Vec<EntryPtr>>,
        f: impl FnOnce(&[EntryPtr]) -> R,
    ) -> R {
        let LogBackend::Builtin(log) = self else {
            return core::with_held_entries(self, idx, max, scratch, f);
        };
        // The entries are lent, not held: their pointers are copied to a
        // reused array and the log is pinned, so that whatever `f` removes
        // from the log keeps the log's reference until `f` has returned. A
        // nested call (from a callback inside `f`) finds the array taken
        // and uses a fresh one.
        struct Pinned<'a>(&'a MemoryLog<EntryPtr>);
        impl Drop for Pinned<'_> {
            fn drop(&mut self) {
                self.0.unpin();
            }
        }
        let mem = log.memory();
        let mut lent = log.lent.take();
        lent.clear();
        mem.with_run(idx, |run| lent.extend(run[..run.len().min(max)].iter().map(EntryPtr::as_ptr)));
        mem.pin();
        let pinned = Pinned(mem);
        // SAFETY: `lent` holds pointers to live entries on which the log
        // holds a reference, and the pin keeps that reference until
        // `pinned` drops, after `f`. EntryPtr is a transparent non-null
        // entry pointer, so the array reads as a slice of them; it is only
        // lent to `f` (a shared slice moves nothing out), so nothing is
        // released through it.
        let entries = unsafe { std::slice::from_raw_parts(lent.as_ptr() as *const EntryPtr, lent.len()) };
        let result = f(entries);
        drop(pinned);
        core::give_back(&log.lent, lent);
        result
    }

    fn first_idx(&self) -> Index {
        match self {
            LogBackend::Builtin(log) => log.memory().first_idx(),
            // SAFETY: the application's accessor with its own handle.
            LogBackend::Custom { vtable, handle } => vtable.first_idx.map_or(1, |f| unsafe { f(*handle) }),
        }
    }

    fn current_idx(&self) -> Index {
        match self {
            LogBackend::Builtin(log) => log.memory().current_idx(),
            // SAFETY: the application's accessor with its own handle.
            LogBackend::Custom { vtable, handle } => vtable.current_idx.map_or(0, |f| unsafe { f(*handle) }),
        }
    }

    fn count(&self) -> Index {
        match self {
            LogBackend::Builtin(log) => log.memory().count(),
            // SAFETY: the application's accessor with its own handle.
            LogBackend::Custom { vtable, handle } => vtable.count.map_or(0, |f| unsafe { f(*handle) }),
        }
    }

    fn sync(&self) -> core::Result<()> {
        match self {
            LogBackend::Builtin(_) => Ok(()),
            LogBackend::Custom { vtable, handle } => match vtable.sync {
                // SAFETY: the application's sync with its own handle.
                Some(f) => core::check(unsafe { f(*handle) }),
                None => Ok(()),
            },
        }
    }

    fn reset(&self, first_idx: Index, term: Term) {
        match self {
            LogBackend::Builtin(log) => log.reset(first_idx, term),
            LogBackend::Custom { vtable, handle } => {
                if let Some(f) = vtable.reset {
                    // SAFETY: the application's reset with its own handle.
                    unsafe { f(*handle, first_idx, term) }
                }
            }
        }
    }

    fn term_at(&self, idx: Index) -> Option<Term> {
        match self {
            LogBackend::Builtin(log) => log.memory().term_at(idx),
            LogBackend::Custom { .. } => self.get(idx).map(|e| e.term()),
        }
    }
}

/// Lets C fill up to `max` entry pointers into spare room of `out`, then
/// keeps the non-NULL prefix it reported; anything after a NULL is released.
pub(crate) fn fill_from_c(
    out: &mut Vec<EntryPtr>,
    max: usize,
    fill: impl FnOnce(*mut *mut raft_entry_t) -> raft_index_t,
) -> usize {
    out.reserve(max);
    let len = out.len();
    let slots = out.spare_capacity_mut().as_mut_ptr() as *mut *mut raft_entry_t;
    // SAFETY: spare capacity holds at least max slots; zeroing them makes
    // every slot a valid (NULL) pointer before C writes into it.
    unsafe { ptr::write_bytes(slots, 0, max) };
    let reported = fill(slots).clamp(0, max as raft_index_t) as usize;
    let mut kept = 0;
    // SAFETY: slots [0, max) are initialised pointers (zeroed, then written).
    let raw = unsafe { std::slice::from_raw_parts(slots, max) };
    while kept < reported && !raw[kept].is_null() {
        kept += 1;
    }
    for &p in &raw[kept..reported] {
        // SAFETY: entries C reported past a NULL are held references we drop.
        unsafe { super::entry::raft_entry_release(p) };
    }
    // SAFETY: the first `kept` slots are non-null held entries, which is what
    // an EntryPtr is.
    unsafe { out.set_len(len + kept) };
    kept
}

// ----- the vtable of the built-in log -----

/// # Safety
/// `log` must be NULL or a live `raft_log`.
unsafe fn builtin<'a>(log: *mut c_void) -> Option<&'a raft_log> {
    // SAFETY: the caller passes a handle from builtin_init or raft_log_new.
    unsafe { (log as *const raft_log).as_ref() }
}

unsafe extern "C" fn builtin_init(raft: *mut c_void, _arg: *mut c_void) -> *mut c_void {
    super::guard(ptr::null_mut(), || {
        let log = raft_log::new(0);
        log.set_owner(raft as *mut raft_server_t);
        Box::into_raw(log) as *mut c_void
    })
}

unsafe extern "C" fn builtin_free(log: *mut c_void) {
    // SAFETY: a handle from builtin_init or raft_log_new, or NULL.
    let Some(l) = (unsafe { builtin(log) }) else { return };
    // A server's own log goes with the server; a log whose observer is
    // running is in the middle of a change: freeing either is refused, and
    // so is freeing it again from a callback of this teardown.
    if l.free_refused.get() || l.is_busy() {
        return;
    }
    l.free_refused.set(true);
    super::guard((), || {
        // Observers and free functions run while the log is whole.
        l.detach();
        l.release_entries();
        // SAFETY: the handle came from Box::into_raw in builtin_init or
        // raft_log_new; nothing runs on it any more (callbacks are done).
        drop(unsafe { Box::from_raw(log as *mut raft_log) })
    })
}

unsafe extern "C" fn builtin_reset(log: *mut c_void, first_idx: raft_index_t, term: raft_term_t) {
    // SAFETY: a handle from builtin_init.
    if let Some(log) = unsafe { builtin(log) } {
        if first_idx <= crate::core::INDEX_MAX {
            super::guard((), || log.busy(|| log.reset(first_idx.max(1), term)))
        }
    }
}

unsafe extern "C" fn builtin_append(log: *mut c_void, entry: *mut raft_entry_t) -> c_int {
    // SAFETY: a handle from builtin_init.
    let Some(log) = (unsafe { builtin(log) }) else { return -1 };
    super::guard(-1, || {
        log.busy(|| {
            // SAFETY: the caller holds the entry; the hold is given back
            // inside the busy section (its release may run a free_func).
            let Some(entry) = (unsafe { EntryPtr::hold(entry) }) else { return -1 };
            super::code(log.append(&entry))
        })
    })
}

unsafe extern "C" fn builtin_poll(log: *mut c_void, first_idx: raft_index_t) -> c_int {
    // SAFETY: a handle from builtin_init.
    let Some(log) = (unsafe { builtin(log) }) else { return -1 };
    super::guard(-1, || log.busy(|| super::code(log.poll(first_idx))))
}

unsafe extern "C" fn builtin_pop(
    log: *mut c_void,
    from_idx: raft_index_t,
    cb: raft_entry_notify_f,
    cb_arg: *mut c_void,
) -> c_int {
    // SAFETY: a handle from builtin_init.
    let Some(log) = (unsafe { builtin(log) }) else { return -1 };
    super::guard(-1, || {
        log.busy(|| {
            super::code(log.pop(from_idx, &mut |entry, idx| {
                if let Some(cb) = cb {
                    // SAFETY: the caller's notification callback with its argument.
                    unsafe { cb(cb_arg, entry.as_ptr(), idx) }
                }
            }))
        })
    })
}

unsafe extern "C" fn builtin_get(log: *mut c_void, idx: raft_index_t) -> *mut raft_entry_t {
    // SAFETY: a handle from builtin_init.
    let Some(log) = (unsafe { builtin(log) }) else { return ptr::null_mut() };
    super::guard(ptr::null_mut(), || log.memory().get(idx).map_or(ptr::null_mut(), EntryPtr::into_raw))
}

unsafe extern "C" fn builtin_get_batch(
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
    super::guard(-1, || {
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

unsafe extern "C" fn builtin_first_idx(log: *mut c_void) -> raft_index_t {
    // SAFETY: a handle from builtin_init.
    unsafe { builtin(log) }.map_or(0, |l| l.memory().first_idx())
}

unsafe extern "C" fn builtin_current_idx(log: *mut c_void) -> raft_index_t {
    // SAFETY: a handle from builtin_init.
    unsafe { builtin(log) }.map_or(0, |l| l.memory().current_idx())
}

unsafe extern "C" fn builtin_count(log: *mut c_void) -> raft_index_t {
    // SAFETY: a handle from builtin_init.
    unsafe { builtin(log) }.map_or(0, |l| l.memory().count())
}

unsafe extern "C" fn builtin_sync(_log: *mut c_void) -> c_int {
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

// ----- compat raft_log_* functions -----

/// The built-in in-memory log, used directly.
#[no_mangle]
pub extern "C" fn raft_log_new() -> *mut raft_log_t {
    super::guard(ptr::null_mut(), || Box::into_raw(raft_log::new(0)))
}

/// A built-in log with room for `initial_size` entries before it grows.
#[no_mangle]
pub extern "C" fn raft_log_alloc(initial_size: raft_index_t) -> *mut raft_log_t {
    super::guard(ptr::null_mut(), || Box::into_raw(raft_log::new(initial_size.clamp(0, 1 << 20) as usize)))
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
    super::guard(-1, || {
        log.busy(|| {
            let Some(head) = log.memory().peek_head() else { return -1 };
            let rc = super::code(log.poll(log.memory().first_idx() + 1));
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
    super::guard(ptr::null_mut(), || {
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
    super::guard(ptr::null_mut(), || {
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
    super::guard(-1, || {
        log.busy(|| log.reset(idx + 1, term));
        0
    })
}

/// Drops every entry; the base (last compacted index) is kept.
#[no_mangle]
pub unsafe extern "C" fn raft_log_clear(me: *mut raft_log_t) {
    // SAFETY: a live log from the caller.
    if let Some(log) = unsafe { me.as_ref() } {
        super::guard((), || log.busy(|| log.memory().reset(log.memory().base() + 1, log.memory().base_term())))
    }
}

/// Calls `log_clear` for every entry; the entries stay.
#[no_mangle]
pub unsafe extern "C" fn raft_log_clear_entries(me: *mut raft_log_t) {
    // SAFETY: a live log from the caller.
    if let Some(log) = unsafe { me.as_ref() } {
        super::guard((), || log.busy(|| log.notify_clear()))
    }
}

/// Same as `raft_log_clear`.
#[no_mangle]
pub unsafe extern "C" fn raft_log_empty(me: *mut raft_log_t) {
    // SAFETY: forwarded.
    unsafe { raft_log_clear(me) }
}
