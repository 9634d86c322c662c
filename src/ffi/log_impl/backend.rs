//! [`LogBackend`], the core's view of whichever log a server uses: the
//! built-in one or the application's `raft_log_impl_t`; entries lent to the
//! core without a hold each.

use std::cell::RefCell;
use std::ffi::c_void;
use std::mem::ManuallyDrop;
use std::panic::{catch_unwind, resume_unwind, AssertUnwindSafe};
use std::ptr;

use super::*;
use crate::core::{self, EntryHandle, Index, Log, MemoryLog, RaftError, Term};
use crate::ffi::entry::EntryPtr;
use crate::ffi::types::*;

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

    /// `with_entries` for all but a run of one from the built-in log
    /// (which `with_one_held` serves inline): a run of the built-in log
    /// lent, or another log's entries held.
    fn with_run<R>(
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
        mem.with_run(idx, |run| {
            // Fewer when out of memory ("up to max"; none at worst).
            let n = core::alloc::reserve_up_to(&mut lent, run.len().min(max));
            lent.extend(run[..n].iter().map(EntryPtr::as_ptr));
        });
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
}

impl Log<EntryPtr> for LogBackend {
    #[inline(always)]
    fn append(&self, entry: &EntryPtr) -> core::Result<Index> {
        match self {
            LogBackend::Builtin(log) => log.append(entry),
            LogBackend::Custom { vtable, handle } => match vtable.append {
                Some(f) => {
                    // SAFETY: the application's append, called with its own
                    // handle and a live entry, which it holds if it keeps it.
                    crate::ffi::check(unsafe { f(*handle, entry.as_ptr()) })?;
                    Ok(self.current_idx())
                }
                None => Err(RaftError::Failed),
            },
        }
    }

    /// Inline, with the built-in log's push inline too and the per-entry
    /// path out of line: a follower appends through this on every message,
    /// and the call (with its result returned through memory) cost about 30
    /// library instructions of the ~340 a one-entry appendentries took
    /// (3n-64b-b1 2582 -> 2518 Ir/e, 9n 8656 -> 8443).
    #[inline(always)]
    fn append_until_cfg_change(&self, entries: &[EntryPtr]) -> (usize, core::Result<()>) {
        match self {
            // Without an offer observer there is nothing to ask per entry.
            LogBackend::Builtin(log) if log.cbs.get().log_offer.is_none() => log.mem.append_until_cfg_change(entries),
            _ => append_each(self, entries),
        }
    }

    fn poll(&self, first_idx: Index) -> core::Result<()> {
        match self {
            LogBackend::Builtin(log) => log.poll(first_idx),
            LogBackend::Custom { vtable, handle } => match vtable.poll {
                // SAFETY: the application's poll with its own handle.
                Some(f) => crate::ffi::check(unsafe { f(*handle, first_idx) }),
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
                crate::ffi::check(rc)
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
                            // Out of memory: fewer (the entry is released).
                            Some(e) => {
                                if core::alloc::push(out, e).is_err() {
                                    break;
                                }
                            }
                            None => break,
                        }
                        n += 1;
                    }
                    return n;
                };
                fill_from_c(out, max, |slots, max| {
                    // SAFETY: the application fills at most max slots of the
                    // array with held entries.
                    unsafe { f(*handle, idx, max as raft_index_t, slots) }
                })
            }
        }
    }

    #[inline(always)]
    fn with_entries<R>(
        &self,
        idx: Index,
        max: usize,
        scratch: &RefCell<Vec<EntryPtr>>,
        f: impl FnOnce(&[EntryPtr]) -> R,
    ) -> R {
        match self {
            LogBackend::Builtin(log) if max == 1 => with_one_held(log.memory(), idx, f),
            _ => self.with_run(idx, max, scratch, f),
        }
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
                Some(f) => crate::ffi::check(unsafe { f(*handle) }),
                None => Ok(()),
            },
        }
    }

    fn reserve(&self, n: usize) -> core::Result<()> {
        match self {
            LogBackend::Builtin(log) => log.memory().reserve(n),
            LogBackend::Custom { .. } => Ok(()),
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

/// `append_until_cfg_change` one entry at a time, for the logs that are
/// asked (or told) about each one.
#[inline(never)]
fn append_each(log: &LogBackend, entries: &[EntryPtr]) -> (usize, core::Result<()>) {
    core::append_each_until_cfg_change(log, entries)
}

/// Lets C fill up to `max` entry pointers into spare room of `out`, then
/// keeps the non-NULL prefix it reported; anything after a NULL is released.
/// `fill` gets the array and its length, which is less than `max` when out
/// of memory (and then C is not asked at all if there is no room).
pub(crate) fn fill_from_c(
    out: &mut Vec<EntryPtr>,
    max: usize,
    fill: impl FnOnce(*mut *mut raft_entry_t, usize) -> raft_index_t,
) -> usize {
    // Fewer slots when out of memory: "up to max".
    let max = core::alloc::reserve_up_to(out, max);
    if max == 0 {
        return 0;
    }
    let len = out.len();
    let slots = out.spare_capacity_mut().as_mut_ptr() as *mut *mut raft_entry_t;
    // SAFETY: spare capacity holds at least max slots; zeroing them makes
    // every slot a valid (NULL) pointer before C writes into it.
    unsafe { ptr::write_bytes(slots, 0, max) };
    let reported = fill(slots, max).clamp(0, max as raft_index_t) as usize;
    let mut kept = 0;
    // SAFETY: slots [0, max) are initialised pointers (zeroed, then written).
    let raw = unsafe { std::slice::from_raw_parts(slots, max) };
    while kept < reported && !raw[kept].is_null() {
        kept += 1;
    }
    for &p in &raw[kept..reported] {
        // SAFETY: entries C reported past a NULL are held references we drop.
        unsafe { crate::ffi::entry::raft_entry_release(p) };
    }
    // SAFETY: the first `kept` slots are non-null held entries, which is what
    // an EntryPtr is.
    unsafe { out.set_len(len + kept) };
    kept
}

/// `with_entries` for a run of one (with batches of one, every message
/// sends one entry): the entry is held for `f` rather than lent, so neither
/// the lent array (and its copy) nor the pin is set up for it. It buys 3-4%
/// of the library's instructions per entry at batches of 1 (3n 3169 ->
/// 3065, 9n 10444 -> 9987, 51n 61572 -> 58818) and, in paired runs, 4-13%
/// of the CPU time at 3 nodes and 6% at 51.
fn with_one_held<R>(mem: &MemoryLog<EntryPtr>, idx: Index, f: impl FnOnce(&[EntryPtr]) -> R) -> R {
    match mem.get(idx) {
        Some(held) => f(std::slice::from_ref(&held)),
        None => f(&[]),
    }
}
