//! The leader's count of voters holding the next index (`CommitVotes`):
//! it never commits an index fewer than a majority holds.

use crate::core::log::tests::TestEntry;
use crate::core::server::tests::{server_with_nodes, ScriptHost};
use crate::core::*;

fn leader_of(ids: &[NodeId]) -> Server<ScriptHost> {
    let s = server_with_nodes(ids, 1);
    s.become_candidate().unwrap();
    s.become_leader().unwrap();
    s
}

/// Leader of {1..5} whose entry 2 is committed (held by it and nodes 2, 3).
fn five_with_entry_2_committed() -> Server<ScriptHost> {
    let s = leader_of(&[1, 2, 3, 4, 5]);
    s.recv_entry(&TestEntry::new(0, 7, 0)).unwrap();
    answer(&s, 2, 10, true, 2);
    answer(&s, 3, 11, true, 2);
    assert_eq!(s.commit_idx(), 2);
    s
}

fn answer(s: &Server<ScriptHost>, id: NodeId, msg_id: u64, success: bool, idx: Index) {
    let node = s.node(id).unwrap();
    let resp = AppendEntriesResponse { msg_id, term: s.current_term(), success, current_idx: idx };
    s.recv_appendentries_response(Some(&node), &resp).unwrap();
}

/// Regression (found by `make sim-long`): a follower that acknowledged
/// the last entry, then said it holds less (its match index lowered by
/// `back_off`), then acknowledged it again, was counted twice, and the
/// count committed the entry on two of five voters.
#[test]
fn a_follower_acknowledging_the_last_entry_twice_is_counted_once() {
    let s = five_with_entry_2_committed();
    s.recv_entry(&TestEntry::new(0, 8, 0)).unwrap();
    assert_eq!(s.current_idx(), 3);
    answer(&s, 2, 20, true, 3);
    // Node 2 lost entry 3 (its answer to a later message says so) ...
    answer(&s, 2, 21, false, 2);
    assert_eq!(s.node(2).unwrap().progress().match_idx(), 2);
    // ... and stores it again: the leader and node 2 hold it, 2 of 5.
    answer(&s, 2, 22, true, 3);
    assert_eq!(s.commit_idx(), 2);
    answer(&s, 3, 23, true, 3);
    assert_eq!(s.commit_idx(), 3);
}

/// A match index lowered from C (`raft_node_set_match_idx`) between two
/// answers: the count taken before does not commit on its own.
#[test]
fn a_match_index_lowered_from_outside_is_not_counted() {
    let s = five_with_entry_2_committed();
    s.recv_entry(&TestEntry::new(0, 8, 0)).unwrap();
    answer(&s, 2, 20, true, 3);
    s.node(2).unwrap().progress().set_match_idx(2);
    note_outside_edit();
    answer(&s, 3, 21, true, 3);
    // Held by the leader and node 3 only.
    assert_eq!(s.commit_idx(), 2);
    answer(&s, 4, 22, true, 3);
    assert_eq!(s.commit_idx(), 3);
}

/// A count taken in an earlier leadership is not this one's: followers
/// acknowledged entry 3 of term 1 (the leader, flushing by hand, did not
/// hold it yet), the leader stepped down, the entry went (deleted from C),
/// and the server leads term 3 with its no-op at index 3. Nobody but the
/// leader holds that no-op, so it must not commit.
#[test]
fn a_count_from_an_earlier_leadership_does_not_commit() {
    let s = five_with_entry_2_committed();
    s.set_config(Config { auto_flush: false, ..s.config() });
    s.recv_entry(&TestEntry::new(0, 8, 0)).unwrap();
    assert_eq!(s.current_idx(), 3);
    answer(&s, 2, 20, true, 3);
    answer(&s, 3, 21, true, 3);
    assert_eq!(s.commit_idx(), 2);
    s.become_follower();
    s.delete_entries_from(3).unwrap();
    assert_eq!(s.current_idx(), 2);
    s.become_candidate().unwrap();
    s.become_leader().unwrap();
    assert_eq!(s.current_idx(), 3);
    assert_eq!(s.commit_idx(), 2);
}
