//! Quorum arithmetic: how many voters make a majority, whether a count of
//! votes (or acknowledgements) is one, and the highest value a majority of
//! voters has reached (the commit index from match indexes, the read
//! barrier from acknowledged msg_ids). Pure functions: the callers choose
//! which nodes count (election, check-quorum, commit, reads).

/// `raft_votes_is_majority`: `nvotes` is a strict majority of `nnodes`.
pub fn votes_is_majority(nnodes: usize, nvotes: usize) -> bool {
    nnodes >= nvotes && nvotes >= majority_of(nnodes)
}

/// How many of `nnodes` voters make a majority (the one place this is
/// worked out).
pub(crate) fn majority_of(nnodes: usize) -> usize {
    nnodes / 2 + 1
}

/// The highest value that a majority of `values` (one per voter) reach, if
/// it is above `floor`: O(voters), and no allocation once `scratch` has
/// grown to the cluster's size.
///
/// One pass counts the voters, those above `floor`, and the least of
/// those. When exactly a majority is above `floor` (the usual case when it
/// moves: each answer raises one voter) that least value is the answer;
/// when more are, a selection over `scratch` finds it.
pub(crate) fn majority_value<T: Ord + Copy>(
    values: impl Iterator<Item = T> + Clone,
    floor: T,
    scratch: &mut Vec<T>,
) -> Option<T> {
    let (mut voters, mut above, mut least) = (0usize, 0usize, None::<T>);
    for v in values.clone() {
        voters += 1;
        if v > floor {
            above += 1;
            least = Some(least.map_or(v, |l| l.min(v)));
        }
    }
    let need = majority_of(voters);
    if voters == 0 || above < need {
        return None;
    }
    if above == need {
        return least;
    }
    scratch.clear();
    scratch.extend(values.filter(|&v| v > floor));
    // The need-th highest: a majority holds at least that much.
    Some(*scratch.select_nth_unstable_by(need - 1, |a, b| b.cmp(a)).1)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn majority_value_is_what_a_majority_reaches() {
        let mut scratch = Vec::new();
        let mut sorted_answer = |vals: &[i64], floor: i64| {
            let mut v = vals.to_vec();
            v.sort_unstable_by(|a, b| b.cmp(a));
            let want = if v.is_empty() { None } else { Some(v[v.len() / 2]).filter(|&m| m > floor) };
            let got = majority_value(vals.iter().copied(), floor, &mut scratch);
            assert_eq!(got, want, "{vals:?} floor {floor}");
        };
        sorted_answer(&[], 0);
        sorted_answer(&[5], 0);
        sorted_answer(&[5], 5);
        sorted_answer(&[5, 3, 1], 0);
        sorted_answer(&[5, 3, 1], 3);
        sorted_answer(&[5, 3, 1], 2);
        sorted_answer(&[4, 4, 4, 4], 3);
        sorted_answer(&[9, 1, 7, 3, 8, 2, 6, 5, 4, 10, 11], 0);
        sorted_answer(&[9, 1, 7, 3, 8, 2, 6, 5, 4, 10, 11], 5);
        sorted_answer(&[9, 1, 7, 3, 8, 2, 6, 5, 4, 10, 11], 6);
        // Every small multiset over a few values and floors.
        for n in 0..7usize {
            let mut vals = vec![0i64; n];
            for code in 0..4usize.pow(n as u32) {
                let mut c = code;
                for v in vals.iter_mut() {
                    *v = (c % 4) as i64;
                    c /= 4;
                }
                for floor in -1..4 {
                    sorted_answer(&vals, floor);
                }
            }
        }
    }

    #[test]
    fn a_majority_is_more_than_half() {
        assert!(votes_is_majority(3, 2));
        assert!(!votes_is_majority(4, 2));
        assert!(votes_is_majority(4, 3));
        assert!(!votes_is_majority(1, 2));
        assert!(votes_is_majority(1, 1));
    }

    #[test]
    fn majority_of_is_more_than_half() {
        assert_eq!(majority_of(0), 1);
        assert_eq!(majority_of(1), 1);
        assert_eq!(majority_of(2), 2);
        assert_eq!(majority_of(3), 2);
        assert_eq!(majority_of(4), 3);
        assert_eq!(majority_of(5), 3);
        for n in 1..64usize {
            assert!(2 * majority_of(n) > n && 2 * (majority_of(n) - 1) <= n, "{n}");
        }
    }
}
