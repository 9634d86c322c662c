use crate::core::log::tests::TestEntry;
use crate::core::server::tests::server_with_nodes;
use crate::core::*;

fn leader_of(ids: &[NodeId]) -> Server<crate::core::server::tests::ScriptHost> {
    let s = server_with_nodes(ids, 1);
    s.become_candidate().unwrap();
    s.become_leader().unwrap();
    s
}

fn ack(s: &Server<crate::core::server::tests::ScriptHost>, id: NodeId, msg_id: u64, idx: Index) {
    let node = s.node(id).unwrap();
    let resp = AppendEntriesResponse { msg_id, term: s.current_term(), success: true, current_idx: idx };
    s.recv_appendentries_response(Some(&node), &resp).unwrap();
}

#[test]
fn an_entry_commits_once_a_majority_stores_it() {
    let s = leader_of(&[1, 2, 3]);
    let r = s.recv_entry(&TestEntry::new(0, 7, 0)).unwrap();
    assert_eq!((r.idx, r.term, r.id), (2, 1, 7));
    assert_eq!(s.commit_idx(), 0);
    ack(&s, 2, 10, 2);
    assert_eq!(s.commit_idx(), 2);
    assert_eq!(*s.host.applied.borrow(), vec![1, 2]);
}

#[test]
fn entries_of_an_earlier_term_do_not_commit_by_counting() {
    // Thesis §3.6.2, figure 3.7.
    let s = server_with_nodes(&[1, 2, 3], 1);
    s.append_entry(&TestEntry::new(1, 1, 0)).unwrap();
    s.restore_metadata(1, NODE_ID_NONE).unwrap();
    s.become_candidate().unwrap();
    s.role.set(Role::Leader);
    s.my_node().unwrap().progress().set_match_idx(1);
    for id in [2, 3] {
        s.node(id).unwrap().progress().set_next_idx(2);
    }
    ack(&s, 2, 1, 1);
    assert_eq!(s.commit_idx(), 0);
}

#[test]
fn a_stale_rejection_after_a_success_is_ignored() {
    let s = leader_of(&[1, 2, 3]);
    for _ in 0..3 {
        s.recv_entry(&TestEntry::new(0, 1, 0)).unwrap();
    }
    ack(&s, 2, 20, 4);
    let node = s.node(2).unwrap();
    let stale = AppendEntriesResponse { msg_id: 5, term: 1, success: false, current_idx: 0 };
    s.recv_appendentries_response(Some(&node), &stale).unwrap();
    assert_eq!(node.progress().match_idx(), 4);
    assert_eq!(node.progress().next_idx(), 5);
}

#[test]
fn a_rejection_backs_off_to_the_followers_last_index_in_one_step() {
    let s = leader_of(&[1, 2, 3]);
    for _ in 0..10 {
        s.recv_entry(&TestEntry::new(0, 1, 0)).unwrap();
    }
    let node = s.node(2).unwrap();
    let msg_id = s.msg_id();
    let reject = AppendEntriesResponse { msg_id, term: 1, success: false, current_idx: 3 };
    s.host.sent_appends.borrow_mut().clear();
    s.recv_appendentries_response(Some(&node), &reject).unwrap();
    let sent = s.host.sent_appends.borrow();
    assert_eq!(sent[0].0, 2);
    assert_eq!(sent[0].2, 3, "resent from prev index 3");
}

#[test]
fn a_follower_truncates_a_conflicting_suffix_but_keeps_matching_entries() {
    let s = server_with_nodes(&[1, 2], 2);
    for t in [1, 1, 1] {
        s.append_entry(&TestEntry::new(t, 0, 0)).unwrap();
    }
    let new = [TestEntry::new(1, 0, 0), TestEntry::new(2, 0, 0)];
    let req = AppendEntries {
        term: 2,
        leader_id: 1,
        msg_id: 1,
        prev_log_idx: 1,
        prev_log_term: 1,
        leader_commit: 0,
        entries: &new,
    };
    let resp = s.recv_appendentries(&req).unwrap();
    assert!(resp.success);
    assert_eq!(resp.current_idx, 3);
    assert_eq!(s.current_idx(), 3);
    assert_eq!(s.term_at(3), Some(2));
}

#[test]
fn a_follower_refuses_to_truncate_committed_entries() {
    let s = server_with_nodes(&[1, 2], 2);
    s.append_entry(&TestEntry::new(1, 0, 0)).unwrap();
    s.append_entry(&TestEntry::new(1, 0, 0)).unwrap();
    s.set_commit_idx(2);
    let new = [TestEntry::new(2, 0, 0)];
    let req = AppendEntries {
        term: 2,
        leader_id: 1,
        msg_id: 1,
        prev_log_idx: 1,
        prev_log_term: 1,
        leader_commit: 0,
        entries: &new,
    };
    assert_eq!(s.recv_appendentries(&req).unwrap_err(), RaftError::Shutdown);
}

#[test]
fn a_follower_commits_no_further_than_what_it_has_verified() {
    let s = server_with_nodes(&[1, 2], 2);
    let new = [TestEntry::new(1, 0, 0)];
    let req = AppendEntries {
        term: 1,
        leader_id: 1,
        msg_id: 1,
        prev_log_idx: 0,
        prev_log_term: 0,
        leader_commit: 9,
        entries: &new,
    };
    s.recv_appendentries(&req).unwrap();
    assert_eq!(s.commit_idx(), 1);
}

#[test]
fn a_leader_steps_down_on_appendentries_of_a_higher_term() {
    // Regression (simulator, FINDINGS 1): the term was compared after
    // adopting it, so the old leader refused and stayed leader.
    let s = leader_of(&[1, 2, 3]);
    let req = AppendEntries {
        term: 5,
        leader_id: 2,
        msg_id: 1,
        prev_log_idx: 0,
        prev_log_term: 0,
        leader_commit: 0,
        entries: &[],
    };
    s.recv_appendentries(&req).unwrap();
    assert_eq!(s.role(), Role::Follower);
    assert_eq!((s.current_term(), s.leader_id()), (5, 2));
}

#[test]
fn a_follower_that_lost_acknowledged_entries_is_resent_them() {
    // Regression (simulator, FINDINGS 4): back-off never went below the
    // match index, so such a follower stalled for good.
    let s = leader_of(&[1, 2, 3]);
    for _ in 0..5 {
        s.recv_entry(&TestEntry::new(0, 1, 0)).unwrap();
    }
    ack(&s, 2, s.msg_id(), 6);
    let node = s.node(2).unwrap();
    let reject = AppendEntriesResponse { msg_id: s.msg_id() + 1, term: 1, success: false, current_idx: 3 };
    s.msg_id.set(s.msg_id() + 1);
    s.recv_appendentries_response(Some(&node), &reject).unwrap();
    assert_eq!(node.progress().match_idx(), 3);
    assert_eq!(node.progress().next_idx(), 7, "everything from 4 was resent at once");
}

#[test]
fn no_voting_change_before_the_leader_commits_an_entry_of_its_term() {
    // Regression (simulator, FINDINGS 6): the thesis §4.1 erratum.
    let s = leader_of(&[1, 2, 3]);
    let add = TestEntry::new(0, 4, entry_type::ADD_NODE);
    assert_eq!(s.recv_entry(&add).unwrap_err(), RaftError::OneVotingChangeOnly);
    ack(&s, 2, s.msg_id(), 1);
    assert_eq!(s.commit_idx(), 1);
    assert!(s.recv_entry(&add).is_ok());
}

#[test]
fn a_leader_with_no_other_voter_makes_a_voting_change_at_once() {
    // Bootstrap: a non-voting self made leader adds itself as a voter.
    let s = Server::new(crate::core::server::tests::ScriptHost::default());
    s.add_non_voting_node((), 1, true).unwrap();
    let mut c = s.config();
    c.auto_flush = false; // nothing commits until flushed
    s.set_config(c);
    s.set_current_term(1).unwrap();
    s.become_leader().unwrap();
    assert!(s.recv_entry(&TestEntry::new(0, 1, entry_type::ADD_NODE)).is_ok());
    assert_eq!(s.num_voting_nodes(), 1);
    // One voting change at a time still holds, even for a sole voter.
    let add = TestEntry::new(0, 2, entry_type::ADD_NODE);
    assert_eq!(s.recv_entry(&add).unwrap_err(), RaftError::OneVotingChangeOnly);
    s.flush(2).unwrap();
    assert_eq!(s.commit_idx(), 2);
    assert!(s.recv_entry(&add).is_ok());
}

#[test]
fn a_voting_change_during_a_blocking_snapshot_is_refused_before_leadership_is_checked() {
    let s = server_with_nodes(&[1, 2, 3], 1);
    s.append_entry(&TestEntry::new(0, 0, 0)).unwrap();
    s.append_entry(&TestEntry::new(0, 0, 0)).unwrap();
    s.set_commit_idx(2);
    s.begin_snapshot().unwrap();
    let add = TestEntry::new(0, 4, entry_type::ADD_NODE);
    assert_eq!(s.recv_entry(&add).unwrap_err(), RaftError::SnapshotInProgress);
    let non_voting = TestEntry::new(0, 4, entry_type::ADD_NONVOTING_NODE);
    assert_eq!(s.recv_entry(&non_voting).unwrap_err(), RaftError::NotLeader);
}

#[test]
fn with_auto_flush_off_a_new_leader_syncs_its_log_before_counting_it() {
    // Regression (simulator, FINDINGS 7): a new leader counted entries
    // never synced as its own match. As the original library does, it
    // now syncs the whole log on becoming leader, so what it counts is
    // durable.
    let s = server_with_nodes(&[1, 2, 3], 1);
    let mut c = s.config();
    c.auto_flush = false;
    s.set_config(c);
    s.become_candidate().unwrap();
    s.become_leader().unwrap();
    s.recv_entry(&TestEntry::new(0, 1, 0)).unwrap();
    s.become_follower();
    s.become_candidate().unwrap();
    s.become_leader().unwrap();
    assert_eq!(s.my_node().unwrap().progress().match_idx(), 3);
    assert_eq!(s.index_to_sync(), 0, "nothing is left to sync");
}

#[test]
fn appendentries_no_correct_leader_sends_are_refused_before_anything_changes() {
    let s = server_with_nodes(&[1, 2], 2);
    let msg = |term, prev_term, entries: &[TestEntry]| {
        let req = AppendEntries {
            term,
            leader_id: 1,
            msg_id: 1,
            prev_log_idx: 0,
            prev_log_term: prev_term,
            leader_commit: 0,
            entries,
        };
        s.recv_appendentries(&req).map(|r| r.success)
    };
    let falling = [TestEntry::new(2, 0, 0), TestEntry::new(1, 0, 0)];
    assert_eq!(msg(3, 0, &falling), Err(RaftError::Misuse));
    assert_eq!(msg(1, 0, &[TestEntry::new(2, 0, 0)]), Err(RaftError::Misuse), "above the sender's term");
    assert_eq!(msg(1, 0, &[TestEntry::new(-1, 0, 0)]), Err(RaftError::Misuse), "negative");
    assert_eq!(msg(1, 2, &[]), Err(RaftError::Misuse), "previous entry of a later term");
    assert_eq!(msg(TERM_MAX + 1, 0, &[]), Err(RaftError::Misuse));
    assert_eq!((s.current_term(), s.current_idx(), s.leader_id()), (0, 0, NODE_ID_NONE));
    assert_eq!(msg(TERM_MAX, 0, &[TestEntry::new(1, 0, 0), TestEntry::new(TERM_MAX, 0, 0)]), Ok(true));
    assert_eq!(s.current_idx(), 2);
}

#[test]
fn a_leader_refuses_client_no_ops_and_negative_types() {
    let s = leader_of(&[1, 2, 3]);
    for ty in [entry_type::NO_OP, -1, i16::MIN as i32] {
        assert_eq!(s.recv_entry(&TestEntry::new(0, 1, ty)).unwrap_err(), RaftError::Misuse);
    }
    assert_eq!(s.current_idx(), 1);
    assert_eq!(s.recv_entry(&TestEntry::new(0, 1, 100)).unwrap().idx, 2);
}

/// The commit index a full count gives: the highest index a majority of
/// counted voters holds, if it is of the current term and above `commit`.
fn commit_by_counting(s: &Server<crate::core::server::tests::ScriptHost>, commit: Index) -> Index {
    let mut matches: Vec<Index> =
        s.nodes.borrow().iter().filter(|n| n.is_counted_voter()).map(|n| n.progress().match_idx()).collect();
    if matches.is_empty() {
        return commit;
    }
    matches.sort_unstable_by(|a, b| b.cmp(a));
    let majority = matches[matches.len() / 2];
    if majority > commit && s.term_at(majority) == Some(s.current_term()) {
        majority
    } else {
        commit
    }
}

#[test]
fn the_counted_commit_index_is_the_one_a_full_count_gives() {
    let mut seed = 0x9e37_79b9_7f4a_7c15u64;
    let mut rand = move |n: u64| {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        seed % n
    };
    for size in [1, 2, 3, 4, 5, 7, 9] {
        let ids: Vec<NodeId> = (1..=size).collect();
        let s = leader_of(&ids);
        let mut msg_id = 100;
        for step in 0..3000 {
            let before = s.commit_idx();
            match rand(10) {
                0..=2 => {
                    s.recv_entry(&TestEntry::new(0, 1, 0)).unwrap();
                }
                3 if size > 1 => {
                    // A follower's voting flag set from C: counted afresh
                    // from the next tick on, and the commit index moves at
                    // the next answer or sync (as before counting).
                    let node = s.node(2 + rand(size as u64 - 1) as NodeId).unwrap();
                    node.set_voting(!node.is_voting());
                    s.periodic_ms(1).unwrap();
                    continue;
                }
                _ => {
                    // An answer that raises a follower's match index (or,
                    // where none can rise, a new entry).
                    let id = 2 + rand(size.max(2) as u64 - 1) as NodeId;
                    match s.node(id).filter(|n| n.progress().match_idx() < s.current_idx()) {
                        Some(node) => {
                            let from = node.progress().match_idx();
                            let idx = from + 1 + rand((s.current_idx() - from) as u64) as Index;
                            msg_id += 1;
                            ack(&s, id, msg_id, idx);
                        }
                        None => {
                            s.recv_entry(&TestEntry::new(0, 1, 0)).unwrap();
                        }
                    }
                }
            }
            assert_eq!(s.commit_idx(), commit_by_counting(&s, before), "{size} nodes, step {step}");
        }
        assert!(size == 1 || s.commit_idx() > 100, "{size} nodes: commits happened");
    }
}

#[test]
fn a_new_leader_commits_once_a_majority_holds_its_first_entry_whatever_came_before() {
    let s = server_with_nodes(&[1, 2, 3], 1);
    for _ in 0..3 {
        s.append_entry(&TestEntry::new(1, 1, 0)).unwrap();
    }
    s.restore_metadata(1, NODE_ID_NONE).unwrap();
    s.become_candidate().unwrap();
    s.become_leader().unwrap();
    assert_eq!((s.current_term(), s.current_idx()), (2, 4));
    // The earlier term's entries reach a majority: nothing commits (§3.6.2).
    ack(&s, 2, 10, 2);
    ack(&s, 2, 11, 3);
    assert_eq!(s.commit_idx(), 0);
    // The same follower then stores the no-op: everything commits.
    ack(&s, 2, 12, 4);
    assert_eq!(s.commit_idx(), 4);
}
