//! A bounded cache of the newest entries, as the program's own entry
//! objects (the C layer keeps held `raft_entry_t`s), so that the reads a
//! server makes most (the entries it just appended, which it sends to
//! followers and applies) need no disk read and no copy.
//!
//! Invariant: `items` holds consecutive indexes `first .. first + len`, and
//! `bytes` is the sum of their sizes; after an insert, `bytes <= budget`
//! or only one item is left.

use std::collections::VecDeque;

pub struct Cache<T> {
    items: VecDeque<(T, usize)>,
    first: u64,
    bytes: usize,
    budget: usize,
}

impl<T: Clone> Cache<T> {
    pub fn new(budget: usize) -> Self {
        Cache { items: VecDeque::new(), first: 1, bytes: 0, budget }
    }

    /// Adds the entry at `idx` (which must follow the newest, else the
    /// cache restarts at it) and evicts the oldest beyond the budget.
    pub fn push(&mut self, idx: u64, item: T, size: usize) {
        if self.budget == 0 {
            return;
        }
        // (items evicted here are dropped at once: the C layer's pushes come
        // from the server's append, which holds its own reference.)
        if self.items.is_empty() || idx != self.first + self.items.len() as u64 {
            self.clear();
            self.first = idx;
        }
        // Caching is an optimisation: without memory for one more item the
        // entry is simply not cached (the next push sees the gap and
        // restarts the cache).
        if self.items.len() == self.items.capacity() && self.items.try_reserve(1).is_err() {
            return;
        }
        self.items.push_back((item, size));
        self.bytes += size;
        while self.bytes > self.budget && self.items.len() > 1 {
            let (_, s) = self.items.pop_front().expect("len > 1");
            self.bytes -= s;
            self.first += 1;
        }
    }

    pub fn get(&self, idx: u64) -> Option<T> {
        let k = idx.checked_sub(self.first)?;
        self.items.get(usize::try_from(k).ok()?).map(|(t, _)| t.clone())
    }

    /// Forgets entries `from` and later; returns them (for the caller to
    /// drop when it suits it).
    /// (Without memory for that list they are dropped here.)
    pub fn truncate(&mut self, from: u64) -> Vec<T> {
        let n = (self.first + self.items.len() as u64).saturating_sub(from).min(self.items.len() as u64);
        let mut out = Vec::new();
        let keep = out.try_reserve_exact(n as usize).is_ok();
        while !self.items.is_empty() && self.first + self.items.len() as u64 > from {
            let (t, s) = self.items.pop_back().expect("non-empty");
            self.bytes -= s;
            if keep {
                out.push(t);
            }
        }
        out
    }

    /// Forgets entries before `first`; returns them.
    pub fn drop_before(&mut self, first: u64) -> Vec<T> {
        let n = first.saturating_sub(self.first).min(self.items.len() as u64);
        let mut out = Vec::new();
        let keep = out.try_reserve_exact(n as usize).is_ok();
        while !self.items.is_empty() && self.first < first {
            let (t, s) = self.items.pop_front().expect("non-empty");
            self.bytes -= s;
            self.first += 1;
            if keep {
                out.push(t);
            }
        }
        out
    }

    pub fn budget(&self) -> usize {
        self.budget
    }

    pub fn clear(&mut self) {
        self.items.clear();
        self.bytes = 0;
    }

    pub fn bytes(&self) -> usize {
        self.bytes
    }

    pub fn len(&self) -> usize {
        self.items.len()
    }

    pub fn is_empty(&self) -> bool {
        self.items.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_oldest_entries_leave_once_the_budget_is_exceeded() {
        let mut c = Cache::new(100);
        for i in 1..=10 {
            c.push(i, i, 30);
        }
        assert_eq!(c.len(), 3);
        assert!(c.bytes() <= 100);
        assert_eq!(c.get(7), None);
        assert_eq!(c.get(8), Some(8));
        assert_eq!(c.get(10), Some(10));
        assert_eq!(c.get(11), None);
    }

    #[test]
    fn one_entry_larger_than_the_budget_stays_alone() {
        let mut c = Cache::new(10);
        c.push(1, 'a', 5);
        c.push(2, 'b', 50);
        assert_eq!((c.len(), c.get(2)), (1, Some('b')));
    }

    #[test]
    fn truncation_and_prefix_removal_keep_the_accounting() {
        let mut c = Cache::new(1000);
        for i in 1..=5 {
            c.push(i, i, 10);
        }
        c.truncate(4);
        assert_eq!((c.len(), c.bytes(), c.get(4)), (3, 30, None));
        c.push(4, 40, 10);
        assert_eq!(c.get(4), Some(40));
        c.drop_before(3);
        assert_eq!((c.len(), c.get(2), c.get(3)), (2, None, Some(3)));
    }

    #[test]
    fn a_gap_restarts_the_cache() {
        let mut c = Cache::new(1000);
        c.push(1, 1, 1);
        c.push(5, 5, 1);
        assert_eq!((c.get(1), c.get(5), c.len()), (None, Some(5), 1));
    }

    #[test]
    fn a_zero_budget_keeps_nothing() {
        let mut c = Cache::new(0);
        c.push(1, 1, 1);
        assert!(c.is_empty());
    }
}
