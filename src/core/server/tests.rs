//! A scripted host for unit tests of the core.
use super::*;
use crate::core::log::tests::TestEntry;
use crate::core::*;
use std::cell::RefCell;

#[derive(Default)]
pub struct ScriptHost {
    pub log: MemoryLog<TestEntry>,
    pub sent_votes: RefCell<Vec<(NodeId, RequestVote)>>,
    pub sent_appends: RefCell<Vec<(NodeId, MsgId, Index, usize)>>,
    pub persisted: RefCell<Vec<(Term, NodeId)>>,
    pub fail_persist: Cell<bool>,
    pub applied: RefCell<Vec<Index>>,
    pub states: RefCell<Vec<Role>>,
    pub now: Cell<i64>,
}

impl Host for ScriptHost {
    type Entry = TestEntry;
    type Log = MemoryLog<TestEntry>;
    type ReadCallback = u32;
    type NodeData = ();
    type ChunkData = ();
    fn log(&self) -> &Self::Log {
        &self.log
    }
    fn send_requestvote(&self, to: &Rc<Node<()>>, msg: &RequestVote) -> Result<()> {
        self.sent_votes.borrow_mut().push((to.id(), *msg));
        Ok(())
    }
    fn send_appendentries(&self, to: &Rc<Node<()>>, msg: &AppendEntries<'_, TestEntry>) -> Result<()> {
        self.sent_appends.borrow_mut().push((to.id(), msg.msg_id, msg.prev_log_idx, msg.entries.len()));
        Ok(())
    }
    fn send_snapshot(&self, _: &Rc<Node<()>>, _: &SnapshotRequest<()>) -> Result<()> {
        Ok(())
    }
    fn send_timeoutnow(&self, _: &Rc<Node<()>>) -> Result<()> {
        Ok(())
    }
    fn get_snapshot_chunk(&self, _: &Rc<Node<()>>, _: u64, _: &mut Chunk<()>) -> Result<ChunkReply> {
        Ok(ChunkReply::Unavailable)
    }
    fn store_snapshot_chunk(&self, _: Index, _: u64, _: &Chunk<()>) -> Result<()> {
        Ok(())
    }
    fn clear_snapshot(&self) -> Result<()> {
        Ok(())
    }
    fn load_snapshot(&self, _: Term, _: Index) -> Result<()> {
        Ok(())
    }
    fn applylog(&self, _: &TestEntry, idx: Index) -> Result<()> {
        self.applied.borrow_mut().push(idx);
        Ok(())
    }
    fn persist_metadata(&self, term: Term, vote: NodeId) -> Result<()> {
        if self.fail_persist.get() {
            return Err(RaftError::Failed);
        }
        self.persisted.borrow_mut().push((term, vote));
        Ok(())
    }
    fn get_node_id(&self, e: &TestEntry, _: Index) -> Option<NodeId> {
        Some(e.id())
    }
    fn node_has_sufficient_logs(&self, _: &Rc<Node<()>>) -> bool {
        false
    }
    fn notify_membership_event(&self, _: &Rc<Node<()>>, _: Option<&TestEntry>, _: MembershipEvent) {}
    fn notify_state_event(&self, role: Role) {
        self.states.borrow_mut().push(role);
    }
    fn notify_transfer_event(&self, _: TransferResult) {}
    fn has_logger(&self) -> bool {
        false
    }
    fn log_message(&self, _: NodeId, _: &str) {}
    fn backpressure(&self, _: &Rc<Node<()>>) -> bool {
        false
    }
    fn gives_entries_to_send(&self) -> bool {
        false
    }
    fn get_entries_to_send(&self, _: &Rc<Node<()>>, _: Index, _: usize, _: &mut Vec<TestEntry>) -> Option<usize> {
        None
    }
    fn now_us(&self) -> i64 {
        self.now.get()
    }
    fn random(&self) -> u32 {
        0
    }
    fn read_done(&self, _: u32, _: bool) {}
    fn new_entry(&self, ty: i32) -> Option<TestEntry> {
        Some(TestEntry::new(0, 0, ty))
    }
}

pub fn server_with_nodes(ids: &[NodeId], me: NodeId) -> Server<ScriptHost> {
    let s = Server::new(ScriptHost::default());
    for &id in ids {
        s.add_node((), id, id == me).unwrap();
    }
    s
}

#[test]
fn a_new_server_is_a_follower_in_term_zero_with_no_vote() {
    let s = Server::new(ScriptHost::default());
    assert_eq!(s.role(), Role::Follower);
    assert_eq!((s.current_term(), s.voted_for(), s.commit_idx()), (0, NODE_ID_NONE, 0));
    assert_eq!(s.config().election_timeout, 1000);
    assert_eq!(s.config().request_timeout, 200);
}

#[test]
fn a_new_term_is_persisted_before_it_is_adopted() {
    let s = Server::new(ScriptHost::default());
    s.host.fail_persist.set(true);
    assert!(s.set_current_term(3).is_err());
    assert_eq!(s.current_term(), 0);
    s.host.fail_persist.set(false);
    s.set_current_term(3).unwrap();
    assert_eq!(*s.host.persisted.borrow(), vec![(3, NODE_ID_NONE)]);
}

#[test]
fn the_election_timeout_is_randomised_within_one_to_two_timeouts() {
    let s = Server::new(ScriptHost::default());
    let t = s.election_timeout_rand();
    assert!((1000..2000).contains(&t));
}

#[test]
fn a_single_voter_elects_itself_on_periodic() {
    let s = server_with_nodes(&[1], 1);
    s.periodic_ms(0).unwrap();
    assert!(s.is_leader());
    assert_eq!(s.current_term(), 1);
    // The leader's no-op commits at once with a single voter.
    assert_eq!(s.commit_idx(), 1);
    assert_eq!(*s.host.applied.borrow(), vec![1]);
}

#[test]
fn restoring_the_log_lets_its_configuration_entries_take_effect_without_appending() {
    let s = server_with_nodes(&[1], 1);
    s.host.log.append(&TestEntry::new(1, 2, entry_type::ADD_NONVOTING_NODE)).unwrap();
    s.host.log.append(&TestEntry::new(1, 2, entry_type::ADD_NODE)).unwrap();
    s.host.log.append(&TestEntry::new(1, 0, entry_type::NORMAL)).unwrap();
    assert_eq!(s.num_nodes(), 1);
    s.restore_log().unwrap();
    assert_eq!((s.num_nodes(), s.num_voting_nodes(), s.current_idx()), (2, 2, 3));
    assert_eq!(s.voting_cfg_change_log_idx.get(), 2);
    assert!(s.voting_change_in_progress());
}

#[test]
fn committed_entries_are_never_popped() {
    let s = Server::new(ScriptHost::default());
    s.append_entry(&TestEntry::new(1, 1, 0)).unwrap();
    s.set_commit_idx(1);
    assert!(s.pop_entry().is_err());
    assert_eq!(s.current_idx(), 1);
}

#[test]
#[cfg(debug_assertions)]
#[should_panic(expected = "commit index moves back")]
fn a_commit_index_moving_back_is_caught_in_debug_builds() {
    let s = Server::new(ScriptHost::default());
    s.append_entry(&TestEntry::new(1, 1, 0)).unwrap();
    s.append_entry(&TestEntry::new(1, 2, 0)).unwrap();
    s.advance_commit(2);
    s.advance_commit(1);
}

#[test]
#[cfg(debug_assertions)]
#[should_panic(expected = "past the log's end")]
fn a_commit_index_past_the_log_is_caught_in_debug_builds() {
    let s = Server::new(ScriptHost::default());
    s.append_entry(&TestEntry::new(1, 1, 0)).unwrap();
    s.advance_commit(2);
}

#[test]
#[cfg(debug_assertions)]
#[should_panic(expected = "past the commit index")]
fn applying_an_uncommitted_entry_is_caught_in_debug_builds() {
    let s = Server::new(ScriptHost::default());
    s.append_entry(&TestEntry::new(1, 1, 0)).unwrap();
    s.count_applied(1, 1);
}

#[test]
fn the_commit_index_advances_and_entries_apply_in_order() {
    let s = Server::new(ScriptHost::default());
    for id in 1..=3 {
        s.append_entry(&TestEntry::new(1, id, 0)).unwrap();
    }
    s.advance_commit(2);
    s.apply_all().unwrap();
    assert_eq!(*s.host.applied.borrow(), vec![1, 2]);
    s.advance_commit(3);
    s.apply_all().unwrap();
    assert_eq!((s.commit_idx(), s.last_applied_idx()), (3, 3));
}

/// Check-quorum keeps the time by which a majority had been heard and looks
/// at the voters again only once it leaves the window: the leader steps
/// down exactly when the majority's last answer is two election timeouts
/// old, as when every tick looked.
#[test]
fn check_quorum_steps_down_when_the_majority_heard_last_leaves_the_window() {
    let s = server_with_nodes(&[1, 2, 3], 1);
    s.become_candidate().unwrap();
    s.become_leader().unwrap();
    let window = 2 * s.config.get().election_timeout;
    let start = s.now_ms.get();
    // Node 2 answers 300 ms in; node 3 never does.
    s.periodic_ms(300).unwrap();
    s.node(2).unwrap().progress().set_last_ack_ms(s.now_ms.get());
    // Node 2 answered at start and at start + 300: leader until start +
    // 300 + window, tick after tick.
    while s.now_ms.get() + 10 < start + 300 + window {
        s.periodic_ms(10).unwrap();
        assert!(s.is_leader(), "at {}", s.now_ms.get());
    }
    let left = start + 300 + window - s.now_ms.get();
    s.periodic_ms(left - 1).unwrap();
    assert!(s.is_leader());
    s.periodic_ms(1).unwrap();
    assert!(!s.is_leader());
}
