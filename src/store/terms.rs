//! Terms of the stored entries as runs: one (first index, term) pair per
//! change of term, so the index of a long log costs a few bytes, not one
//! term per entry. Terms within a log never decrease, and runs are few.

#[derive(Debug, Default, Clone)]
pub struct TermRuns {
    /// (first index, term), first indexes strictly increasing.
    runs: Vec<(u64, i64)>,
}

impl TermRuns {
    /// Records that entry `idx` (the next after all recorded ones) has `term`.
    pub fn push(&mut self, idx: u64, term: i64) {
        if self.runs.last().is_none_or(|&(_, t)| t != term) {
            self.runs.push((idx, term));
        }
    }

    /// Room to record one more run, or `false` when the memory for it is
    /// not there (then `push` must not be called).
    pub fn reserve_one(&mut self) -> bool {
        self.runs.len() < self.runs.capacity() || self.runs.try_reserve(1).is_ok()
    }

    /// Room to record `n` more runs, or `false` when the memory for them is
    /// not there.
    pub fn reserve(&mut self, n: usize) -> bool {
        self.runs.capacity() - self.runs.len() >= n || self.runs.try_reserve(n).is_ok()
    }

    /// Forgets entries `from` and later.
    pub fn truncate(&mut self, from: u64) {
        let keep = self.runs.partition_point(|&(first, _)| first < from);
        self.runs.truncate(keep);
    }

    /// Forgets entries before `first` (the last run before it is kept,
    /// starting at `first`).
    pub fn drop_before(&mut self, first: u64) {
        let k = self.runs.partition_point(|&(f, _)| f <= first);
        if k > 1 {
            self.runs.drain(..k - 1);
        }
        if let Some(r) = self.runs.first_mut() {
            r.0 = r.0.max(first);
        }
    }

    /// Term of entry `idx`, for an index within the recorded entries.
    pub fn term_at(&self, idx: u64) -> Option<i64> {
        let k = self.runs.partition_point(|&(first, _)| first <= idx);
        (k > 0).then(|| self.runs[k - 1].1)
    }

    pub fn clear(&mut self) {
        self.runs.clear();
    }

    pub fn runs(&self) -> usize {
        self.runs.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn runs(terms: &[(u64, i64)]) -> TermRuns {
        let mut r = TermRuns::default();
        for &(i, t) in terms {
            r.push(i, t);
        }
        r
    }

    #[test]
    fn equal_terms_share_a_run() {
        let r = runs(&[(1, 1), (2, 1), (3, 2), (4, 2), (5, 2), (6, 5)]);
        assert_eq!(r.runs(), 3);
        assert_eq!([1, 2, 3, 5, 6].map(|i| r.term_at(i).unwrap()), [1, 1, 2, 2, 5]);
        assert_eq!(r.term_at(0), None);
    }

    #[test]
    fn truncation_removes_later_runs_and_lets_new_terms_follow() {
        let mut r = runs(&[(1, 1), (2, 1), (3, 2), (4, 2)]);
        r.truncate(3);
        assert_eq!(r.term_at(2), Some(1));
        r.push(3, 3);
        assert_eq!(r.term_at(3), Some(3));
        r.truncate(2);
        r.push(2, 1);
        assert_eq!(r.runs(), 1);
    }

    #[test]
    fn dropping_a_prefix_keeps_the_terms_after_it() {
        let mut r = runs(&[(1, 1), (2, 1), (3, 2), (4, 2), (5, 3)]);
        r.drop_before(4);
        assert_eq!(r.runs(), 2);
        assert_eq!(r.term_at(4), Some(2));
        assert_eq!(r.term_at(5), Some(3));
        assert_eq!(r.term_at(3), None);
    }
}
