//! The built-in in-memory log.
//!
//! Entries sit in one `Vec` behind a moving head, so any run of entries is
//! one contiguous slice ([`MemoryLog::with_run`] lends it without copying or
//! holding each entry) and compaction is amortised: the dead prefix is
//! dropped once it outweighs the live entries.
//!
//! Invariant: `entries[head..]` holds indexes `base + 1 ..= base + count`.
//!
//! A log can be pinned: while pinned, entries it removes (compaction,
//! truncation, reset) keep the log's reference until the last unpin, so a
//! caller that copied entry pointers out of it (to lend them to a callback
//! without taking a reference on each) can rely on them staying alive even if
//! the callback changes the log.

use std::cell::{Cell, RefCell};

use super::{alloc, is_cfg_change, EntryHandle, Index, Log, Result, Term};

pub struct MemoryLog<E> {
    entries: RefCell<Vec<E>>,
    head: Cell<usize>,
    base: Cell<Index>,
    base_term: Cell<Term>,
    pins: Cell<u32>,
    /// Entries removed while pinned, released by the last unpin.
    retired: RefCell<Vec<E>>,
    /// Reused by `poll_upto` to release compacted entries outside borrows.
    graveyard: RefCell<Vec<E>>,
}

impl<E: EntryHandle> Default for MemoryLog<E> {
    fn default() -> Self {
        Self::with_capacity(0)
    }
}

impl<E: EntryHandle> MemoryLog<E> {
    /// `with_capacity`, or `None` when the room cannot be had.
    pub fn try_with_capacity(capacity: usize) -> Option<Self> {
        let log = Self::with_capacity(0);
        log.entries.borrow_mut().try_reserve_exact(capacity).ok()?;
        Some(log)
    }

    pub fn with_capacity(capacity: usize) -> Self {
        MemoryLog {
            entries: RefCell::new(Vec::with_capacity(capacity)),
            head: Cell::new(0),
            base: Cell::new(0),
            base_term: Cell::new(0),
            pins: Cell::new(0),
            retired: RefCell::new(Vec::new()),
            graveyard: RefCell::new(Vec::new()),
        }
    }

    /// Keeps every entry the log holds now alive until the matching
    /// [`unpin`](Self::unpin), even if it is removed from the log meanwhile.
    pub fn pin(&self) {
        self.pins.set(self.pins.get() + 1);
    }

    /// Ends one [`pin`](Self::pin); the last one releases what was removed.
    pub fn unpin(&self) {
        let pins = self.pins.get().saturating_sub(1);
        self.pins.set(pins);
        if pins == 0 && !self.retired.borrow().is_empty() {
            // Released with no borrow held: releasing may run a free_func.
            drop(self.retired.take());
        }
    }

    /// Gives up the log's reference to a removed entry, now or at the last
    /// unpin. The removals that may retire reserve room first (`make_room`);
    /// should that room be gone anyway, the reference is given up now.
    fn retire(&self, entry: E) {
        if self.pins.get() > 0 {
            let _ = alloc::push(&mut self.retired.borrow_mut(), entry);
        }
    }

    /// Room to retire `n` entries, needed only while pinned.
    fn make_room(&self, n: usize) -> Result<()> {
        if self.pins.get() > 0 {
            alloc::reserve(&mut self.retired.borrow_mut(), n)?;
        }
        Ok(())
    }

    /// Index of the last compacted entry (0 when nothing was compacted).
    pub fn base(&self) -> Index {
        self.base.get()
    }

    pub fn base_term(&self) -> Term {
        self.base_term.get()
    }

    fn live_len(&self) -> usize {
        self.entries.borrow().len() - self.head.get()
    }

    /// Index of the last entry, `entries` being the log's, borrowed.
    #[inline(always)]
    fn end_idx(&self, entries: &[E]) -> Index {
        self.base.get() + (entries.len() - self.head.get()) as Index
    }

    /// Position of `idx` in `entries` (the log's, borrowed), if the log
    /// holds it. One unsigned compare: an index below the log wraps to a
    /// huge offset.
    #[inline(always)]
    fn slot_in(&self, entries: &[E], idx: Index) -> Option<usize> {
        let offset = idx.wrapping_sub(self.base.get()).wrapping_sub(1) as u64;
        let head = self.head.get();
        (offset < (entries.len() - head) as u64).then(|| head + offset as usize)
    }

    /// Borrows the entries from `idx` to the end, without taking references.
    /// The closure must not call back into this log.
    pub fn with_run<R>(&self, idx: Index, f: impl FnOnce(&[E]) -> R) -> R {
        let entries = self.entries.borrow();
        match self.slot_in(&entries, idx) {
            Some(pos) => f(&entries[pos..]),
            None => f(&[]),
        }
    }

    /// Removes entries before `first_idx`, all at once: the head moves
    /// past them and nothing is allocated (they are released when the dead
    /// prefix is dropped, or kept until the last unpin while pinned).
    pub fn poll_upto(&self, first_idx: Index) -> Result<()> {
        let dead = self.advance_head(first_idx)?;
        if let Some(mut dead) = dead {
            // Released with no borrow held (a free_func may re-enter), into
            // a buffer kept for the next time.
            dead.clear();
            let mut graveyard = self.graveyard.borrow_mut();
            if graveyard.capacity() < dead.capacity() {
                *graveyard = dead;
            }
        }
        Ok(())
    }

    /// `poll_upto` under the borrow: the dead prefix, when it is dropped
    /// from the vector, is handed back to be released.
    /// Out of memory it fails (`NoMem`) only while pinned, before any
    /// change; otherwise the prefix simply stays until the next time.
    fn advance_head(&self, first_idx: Index) -> Result<Option<Vec<E>>> {
        let mut entries = self.entries.borrow_mut();
        let head = self.head.get();
        let live = (entries.len() - head) as Index;
        let n = (first_idx - 1 - self.base.get()).clamp(0, live) as usize;
        if n == 0 {
            return Ok(None);
        }
        self.make_room(n)?;
        let new_head = head + n;
        self.base_term.set(entries[new_head - 1].term());
        self.base.set(self.base.get() + n as Index);
        if self.pins.get() > 0 {
            self.retired.borrow_mut().extend(entries[head..new_head].iter().cloned());
        }
        if new_head * 2 >= entries.len() {
            let mut dead = self.graveyard.take();
            if alloc::reserve(&mut dead, new_head).is_ok() {
                dead.extend(entries.drain(..new_head));
                self.head.set(0);
                return Ok(Some(dead));
            }
            *self.graveyard.borrow_mut() = dead;
        }
        self.head.set(new_head);
        Ok(None)
    }

    /// Removes `from_idx` and later entries one at a time, newest first,
    /// handing each to `removed` once the log no longer holds it (and with
    /// no borrow of the log held). Allocates nothing, except room to retire
    /// them while pinned (`NoMem`, nothing removed, when that fails).
    pub fn pop_with(&self, from_idx: Index, removed: &mut dyn FnMut(&E, Index)) -> Result<()> {
        let from = from_idx.max(self.base.get() + 1);
        let n = (self.current_idx() - from + 1).max(0) as usize;
        self.make_room(n)?;
        // At most the entries there were: `removed` may append meanwhile.
        for _ in 0..n {
            let popped = {
                let mut entries = self.entries.borrow_mut();
                let idx = self.end_idx(&entries);
                if idx < from || entries.len() == self.head.get() {
                    None
                } else {
                    entries.pop().map(|e| (e, idx))
                }
            };
            let Some((e, idx)) = popped else { break };
            removed(&e, idx);
            self.retire(e);
        }
        Ok(())
    }

    /// Drops every entry and starts the log after `first_idx - 1`.
    pub fn reset_with(&self, first_idx: Index, term: Term, removed: &mut dyn FnMut(&E, Index)) {
        // Nothing is released while the entries are borrowed (see poll_upto).
        // (Nothing is allocated: the log's vector is taken whole.)
        let (mut all, head) = {
            let mut entries = self.entries.borrow_mut();
            let head = self.head.replace(0);
            (std::mem::take(&mut *entries), head)
        };
        let head = head.min(all.len());
        let room = self.make_room(all.len() - head).is_ok();
        let first = self.base.get() + 1;
        self.base.set(first_idx - 1);
        self.base_term.set(term);
        if !room {
            // Pinned and out of memory: the taken vector itself keeps them
            // until the last unpin.
            for (i, e) in all[head..].iter().enumerate() {
                removed(e, first + i as Index);
            }
            self.keep_until_unpinned(all);
            return;
        }
        for (i, e) in all.drain(head..).enumerate() {
            removed(&e, first + i as Index);
            self.retire(e);
        }
        self.release(all);
    }

    /// Retires every entry of `all` without allocating (pinned, out of
    /// memory): `all` becomes the retired list if that is empty, or takes
    /// it in if it has the room; otherwise (out of memory, with retired
    /// entries already waiting) the entries are given up now.
    #[cold]
    fn keep_until_unpinned(&self, mut all: Vec<E>) {
        let mut retired = self.retired.borrow_mut();
        if all.capacity() - all.len() >= retired.len() {
            all.append(&mut retired);
        } else if !retired.is_empty() {
            drop(retired);
            self.release(all);
            return;
        }
        *retired = all;
    }

    /// Gives up the log's references to `entries` (ones it no longer
    /// lists), with no borrow of the log held, or at the last unpin.
    fn release(&self, entries: Vec<E>) {
        for e in entries {
            self.retire(e);
        }
    }

    /// Takes every entry the log holds (and any retired while pinned) out of
    /// it, for an owner being dropped that releases them its own way.
    pub fn take_all(&mut self) -> Vec<E> {
        let mut all = std::mem::take(self.entries.get_mut());
        all.drain(..self.head.replace(0));
        if alloc::reserve(&mut all, self.retired.get_mut().len()).is_ok() {
            all.append(self.retired.get_mut());
        } else {
            // Out of memory: the retired ones are released here instead.
            drop(std::mem::take(self.retired.get_mut()));
        }
        all
    }

    /// `take_all` through a shared reference: the owner releases what it
    /// gets with no borrow of the log held, so releasing may call back in.
    /// Out of memory, the retired entries may come in a second call (call
    /// it until it returns nothing).
    pub fn take_all_now(&self) -> Vec<E> {
        let mut all = std::mem::take(&mut *self.entries.borrow_mut());
        all.drain(..self.head.replace(0));
        let mut retired = self.retired.borrow_mut();
        if all.is_empty() {
            return std::mem::take(&mut *retired);
        }
        if alloc::reserve(&mut all, retired.len()).is_ok() {
            all.append(&mut retired);
        }
        all
    }

    /// The oldest entry, if any.
    pub fn peek_head(&self) -> Option<E> {
        self.get(self.base.get() + 1)
    }

    /// The newest entry, if any.
    pub fn peek_tail(&self) -> Option<E> {
        self.get(self.current_idx())
    }
}

impl<E: EntryHandle> Log<E> for MemoryLog<E> {
    #[inline(always)]
    fn append(&self, entry: &E) -> Result<Index> {
        let mut entries = self.entries.borrow_mut();
        alloc::push(&mut entries, entry.clone())?;
        Ok(self.end_idx(&entries))
    }

    /// Inline: the follower's append on every message (see the built-in
    /// log's backend).
    #[inline(always)]
    fn append_until_cfg_change(&self, entries: &[E]) -> (usize, Result<()>) {
        push_until_cfg_change(&mut self.entries.borrow_mut(), entries)
    }

    fn poll(&self, first_idx: Index) -> Result<()> {
        self.poll_upto(first_idx)
    }

    fn pop(&self, from_idx: Index, removed: &mut dyn FnMut(&E, Index)) -> Result<()> {
        self.pop_with(from_idx, removed)
    }

    fn get(&self, idx: Index) -> Option<E> {
        let entries = self.entries.borrow();
        let pos = self.slot_in(&entries, idx)?;
        entries.get(pos).cloned()
    }

    fn get_batch(&self, idx: Index, max: usize, out: &mut Vec<E>) -> usize {
        let entries = self.entries.borrow();
        let Some(pos) = self.slot_in(&entries, idx) else { return 0 };
        // Fewer when out of memory (the caller asks again for the rest).
        let room = alloc::reserve_up_to(out, max.min(entries.len() - pos));
        let end = pos + room;
        out.extend_from_slice(&entries[pos..end]);
        end - pos
    }

    fn first_idx(&self) -> Index {
        self.base.get() + 1
    }

    fn current_idx(&self) -> Index {
        self.base.get() + self.live_len() as Index
    }

    fn count(&self) -> Index {
        self.live_len() as Index
    }

    fn sync(&self) -> Result<()> {
        Ok(())
    }

    fn reserve(&self, n: usize) -> Result<()> {
        alloc::reserve(&mut self.entries.borrow_mut(), n)
    }

    fn reset(&self, first_idx: Index, term: Term) {
        self.reset_with(first_idx, term, &mut |_, _| {})
    }

    fn term_at(&self, idx: Index) -> Option<Term> {
        let entries = self.entries.borrow();
        let pos = self.slot_in(&entries, idx)?;
        entries.get(pos).map(|e| e.term())
    }
}

/// Pushes `entries` onto `log` up to the first configuration change; how
/// many it pushed, and `NoMem` (with none pushed) when the log cannot grow.
fn push_until_cfg_change<E: EntryHandle>(log: &mut Vec<E>, entries: &[E]) -> (usize, Result<()>) {
    let count = entries.iter().position(|e| is_cfg_change(e.entry_type())).unwrap_or(entries.len());
    if let Err(e) = alloc::extend_from_slice(log, &entries[..count]) {
        return (0, Err(e));
    }
    (count, Ok(()))
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use std::rc::Rc;

    /// A stand-in entry: the Rc's strong count plays the reference count.
    #[derive(Clone, Debug)]
    pub struct TestEntry(pub Rc<(Cell<i64>, i32, i32)>);

    impl TestEntry {
        pub fn new(term: i64, id: i32, ty: i32) -> Self {
            TestEntry(Rc::new((Cell::new(term), id, ty)))
        }
    }

    impl EntryHandle for TestEntry {
        fn term(&self) -> Term {
            self.0 .0.get()
        }
        fn set_term(&self, term: Term) {
            self.0 .0.set(term)
        }
        fn id(&self) -> i32 {
            self.0 .1
        }
        fn entry_type(&self) -> i32 {
            self.0 .2
        }
    }

    fn log_of(terms: &[i64]) -> MemoryLog<TestEntry> {
        let log = MemoryLog::default();
        for (i, t) in terms.iter().enumerate() {
            log.append(&TestEntry::new(*t, i as i32 + 1, 0)).unwrap();
        }
        log
    }

    #[test]
    fn an_empty_log_starts_at_index_one() {
        let log: MemoryLog<TestEntry> = MemoryLog::default();
        assert_eq!((log.first_idx(), log.current_idx(), log.count()), (1, 0, 0));
        assert!(log.get(0).is_none() && log.get(1).is_none());
    }

    #[test]
    fn appended_entries_are_found_by_index_and_held_by_the_log() {
        let log = log_of(&[1, 1, 2]);
        assert_eq!(log.current_idx(), 3);
        let e = log.get(3).unwrap();
        assert_eq!((e.term(), e.id()), (2, 3));
        assert_eq!(Rc::strong_count(&e.0), 2);
    }

    #[test]
    fn polling_compacts_the_oldest_entries_and_remembers_the_base_term() {
        let log = log_of(&[1, 2, 3, 4]);
        log.poll_upto(3).unwrap();
        assert_eq!((log.first_idx(), log.current_idx(), log.base_term()), (3, 4, 2));
        log.poll_upto(2).unwrap();
        assert_eq!((log.first_idx(), log.current_idx(), log.base_term()), (3, 4, 2));
        assert_eq!(log.get(4).unwrap().id(), 4);
        assert!(log.get(2).is_none());
        assert_eq!(log.get(3).unwrap().id(), 3);
    }

    #[test]
    fn popping_removes_the_newest_entries_newest_first() {
        let log = log_of(&[1, 1, 1, 1]);
        let mut seen = vec![];
        log.pop(3, &mut |e, i| seen.push((e.id(), i))).unwrap();
        assert_eq!(seen, vec![(4, 4), (3, 3)]);
        assert_eq!(log.current_idx(), 2);
    }

    #[test]
    fn popping_never_reaches_below_the_compacted_base() {
        let log = log_of(&[1, 1, 1]);
        log.poll(3).unwrap();
        log.pop(1, &mut |_, _| {}).unwrap();
        assert_eq!((log.first_idx(), log.current_idx()), (3, 2));
    }

    #[test]
    fn reset_drops_everything_and_moves_the_next_index() {
        let log = log_of(&[1, 1]);
        log.reset(11, 5);
        assert_eq!((log.first_idx(), log.current_idx(), log.base_term()), (11, 10, 5));
        log.append(&TestEntry::new(6, 9, 0)).unwrap();
        assert_eq!(log.get(11).unwrap().id(), 9);
    }

    #[test]
    fn a_batch_is_bounded_by_max_and_by_the_end_of_the_log() {
        let log = log_of(&[1, 1, 1, 1, 1]);
        let mut out = vec![];
        assert_eq!(log.get_batch(2, 2, &mut out), 2);
        assert_eq!(log.get_batch(4, 10, &mut out), 2);
        assert_eq!(out.iter().map(|e| e.id()).collect::<Vec<_>>(), vec![2, 3, 4, 5]);
        assert_eq!(log.get_batch(9, 10, &mut out), 0);
    }

    #[test]
    fn a_pinned_log_keeps_removed_entries_alive_until_the_last_unpin() {
        let log = log_of(&[1, 1, 1, 1]);
        let first = log.get(1).unwrap();
        let last = log.get(4).unwrap();
        log.pin();
        log.pin();
        log.poll(2).unwrap();
        log.pop(4, &mut |_, _| {}).unwrap();
        log.reset(10, 1);
        // Ours plus the log's (a compacted entry's may be counted twice:
        // its slot and the removal), kept although the log no longer has them.
        assert!(Rc::strong_count(&first.0) >= 2 && Rc::strong_count(&last.0) == 2);
        log.unpin();
        assert!(Rc::strong_count(&first.0) >= 2);
        log.unpin();
        assert_eq!((Rc::strong_count(&first.0), Rc::strong_count(&last.0)), (1, 1));
        // Unpinned, removal releases at once.
        log.append(&first).unwrap();
        log.reset(20, 1);
        assert_eq!(Rc::strong_count(&first.0), 1);
    }

    #[test]
    fn compaction_keeps_runs_contiguous_after_many_polls() {
        let log = log_of(&[1; 100]);
        for first in 2..90 {
            log.poll(first).unwrap();
            assert_eq!(log.with_run(first, |run| run.len()), (100 - first + 1) as usize);
        }
    }

    #[test]
    fn appending_stops_before_a_cfg_change() {
        use crate::core::entry_type::{ADD_NODE, NORMAL};
        let log: MemoryLog<TestEntry> = MemoryLog::default();
        let batch: Vec<_> = [NORMAL, NORMAL, ADD_NODE, NORMAL].iter().map(|t| TestEntry::new(1, 0, *t)).collect();
        assert_eq!(log.append_until_cfg_change(&batch).0, 2);
        assert_eq!(log.current_idx(), 2);
        assert_eq!(log.append(&batch[2]), Ok(3));
        assert_eq!(log.append_until_cfg_change(&batch[3..]).0, 1);
        assert_eq!(log.current_idx(), 4);
    }

    #[test]
    fn take_all_hands_over_live_and_retired_entries_once() {
        let mut log = log_of(&[1, 1, 2, 2, 3]);
        log.poll(3).unwrap(); // entries 1 and 2 leave (head moves)
        log.pin();
        log.pop(5, &mut |_, _| {}).unwrap(); // entry 5 retired while pinned
        let all = log.take_all();
        let terms: Vec<_> = all.iter().map(|e| e.term()).collect();
        assert_eq!(terms, [2, 2, 3], "entries 3 and 4, then the retired 5");
        assert!(all.iter().all(|e| Rc::strong_count(&e.0) == 1), "the log kept no reference");
        assert_eq!(log.count(), 0);
        log.unpin(); // nothing left to release
    }

    #[test]
    fn lookups_outside_the_log_find_nothing() {
        let log = log_of(&[1, 2, 3, 4, 5]);
        log.poll(3).unwrap(); // holds 3..=5
        for idx in [i64::MIN, -1, 0, 1, 2, 6, 7, i64::MAX] {
            assert_eq!(log.term_at(idx), None, "index {idx}");
            assert!(log.get(idx).is_none(), "index {idx}");
            assert_eq!(log.with_run(idx, |run| run.len()), 0, "index {idx}");
        }
        assert_eq!((3..=5).map(|i| log.term_at(i).unwrap()).collect::<Vec<_>>(), [3, 4, 5]);
        assert_eq!(log.with_run(4, |run| run.len()), 2);
    }
}
