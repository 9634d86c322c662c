//! One Raft server: its state, its clock, role changes and the entry points
//! that do not belong to a single concern.

use std::cell::{Cell, RefCell};
use std::collections::VecDeque;
use std::rc::Rc;

use super::reads::PendingRead;
use super::{EntryHandle, Host, Index, Log, MsgId, Node, NodeId, RaftError, Result, Role, Term, NODE_ID_NONE};

/// Emits a library log line, formatting it only when logging is enabled and
/// the host has a logger.
macro_rules! trace {
    ($server:expr, $node:expr, $($arg:tt)*) => {
        if $server.logging() {
            $server.emit_log($node, &format!($($arg)*));
        }
    };
}
pub(crate) use trace;

/// The options of `raft_config`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Config {
    /// Milliseconds without a leader before an election; randomised in
    /// `[election_timeout, 2 * election_timeout)`.
    pub election_timeout: i64,
    /// Heartbeat interval in milliseconds.
    pub request_timeout: i64,
    pub auto_flush: bool,
    pub log_enabled: bool,
    pub nonblocking_apply: bool,
    pub disable_apply: bool,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            election_timeout: 1000,
            request_timeout: 200,
            // The seed library's real default, which its users rely on.
            auto_flush: true,
            log_enabled: false,
            nonblocking_apply: false,
            disable_apply: false,
        }
    }
}

/// Entries at most in one appendentries message built from the log.
pub(crate) const MAX_ENTRIES_PER_MESSAGE: usize = 4096;

/// Entries at most taken from the log in one access when applying.
pub(crate) const APPLY_RUN: usize = 64;

/// Applying first reads the clock (for its time budget) after this many
/// entries; `ApplyClock` lengthens the stride while entries are cheap.
pub(crate) const APPLY_CLOCK_STRIDE: usize = 8;

pub struct Server<H: Host> {
    pub(crate) host: H,

    // Persistent state (stored through persist_metadata).
    pub(crate) current_term: Cell<Term>,
    pub(crate) voted_for: Cell<NodeId>,

    pub(crate) role: Cell<Role>,
    pub(crate) leader_id: Cell<NodeId>,
    pub(crate) commit_idx: Cell<Index>,
    /// Written through `move_last_applied` (which tells a running apply
    /// loop) or, by the apply loop itself, `advance_applied`.
    last_applied_idx: Cell<Index>,
    /// An index and its entry's term, settled where cheap (see
    /// `last_applied_term`): the apply loop moves only the index per entry.
    known_applied_term: Cell<(Index, Term)>,
    /// Set whenever something a running apply loop relies on changes under
    /// it: the last applied index moved by other code, applying allowed or
    /// not, the host's callbacks. The loop clears it before its first
    /// callback and tests it after each one instead of re-checking each of
    /// them (one loop at a time: see `exclusive_apply`).
    apply_disturbed: Cell<bool>,
    /// An apply loop is running (see `exclusive_apply`).
    applying: Cell<bool>,

    // Time, in milliseconds of this server's own clock.
    pub(crate) now_ms: Cell<i64>,
    last_timestamp_us: Cell<i64>,
    pub(crate) timeout_elapsed: Cell<i64>,
    pub(crate) election_timeout_rand: Cell<i64>,
    pub(crate) config: Cell<Config>,

    pub(crate) nodes: RefCell<Vec<Rc<Node>>>,
    pub(crate) me: RefCell<Option<Rc<Node>>>,
    /// Index of the newest voting configuration change, -1 if none pending.
    pub(crate) voting_cfg_change_log_idx: Cell<Index>,

    pub(crate) msg_id: Cell<MsgId>,
    /// Highest index known durable in this server's own log: what a sync
    /// covered, or what the application reported through `raft_flush`.
    pub(crate) persisted_idx: Cell<Index>,
    /// Highest index reported by `raft_get_index_to_sync`.
    pub(crate) next_sync_index: Cell<Index>,
    /// Index of this leader's first entry of its term (its no-op).
    pub(crate) term_start_idx: Cell<Index>,
    /// Reusable buffer for entries being sent, so sending allocates nothing.
    pub(crate) send_buffer: RefCell<Vec<H::Entry>>,
    /// Reusable buffer for entries being applied.
    pub(crate) apply_buffer: RefCell<Vec<H::Entry>>,
    /// Reusable buffers for quorum counts (match indexes, msg_ids).
    pub(crate) quorum_scratch: RefCell<Vec<Index>>,
    pub(crate) msg_id_scratch: RefCell<Vec<MsgId>>,
    /// The highest msg_id a majority had answered at the last count
    /// (`refresh_read_quorum`): what waiting reads are checked against.
    pub(crate) read_quorum: Cell<MsgId>,

    /// Written only through `set_snapshot_in_progress`, which tells a
    /// running apply loop (`disturb_apply`).
    snapshot_in_progress: Cell<bool>,
    pub(crate) snapshot_last_idx: Cell<Index>,
    pub(crate) snapshot_last_term: Cell<Term>,
    pub(crate) next_snapshot_last_idx: Cell<Index>,
    pub(crate) next_snapshot_last_term: Cell<Term>,
    /// Snapshot being received from the leader (0: none) and the next offset.
    pub(crate) incoming_snapshot_idx: Cell<Index>,
    pub(crate) incoming_snapshot_offset: Cell<u64>,

    pub(crate) reads: RefCell<VecDeque<PendingRead<H::ReadCallback>>>,
    /// First msg_id of the heartbeat round serving reads; 0 when none.
    pub(crate) read_round_msg_id: Cell<MsgId>,

    pub(crate) transfer_target: Cell<NodeId>,
    pub(crate) transfer_timeout_ms: Cell<i64>,
    pub(crate) transfer_elapsed_ms: Cell<i64>,
    pub(crate) timeoutnow_sent: Cell<bool>,

    /// A majority's acknowledgement reported by `raft_update_quorum_meta`.
    pub(crate) quorum_ack_msg_id: Cell<MsgId>,
    pub(crate) quorum_ack_ms: Cell<i64>,
}

impl<H: Host> Server<H> {
    pub fn new(host: H) -> Self {
        let server = Server {
            host,
            current_term: Cell::new(0),
            voted_for: Cell::new(NODE_ID_NONE),
            role: Cell::new(Role::Follower),
            leader_id: Cell::new(NODE_ID_NONE),
            commit_idx: Cell::new(0),
            last_applied_idx: Cell::new(0),
            known_applied_term: Cell::new((0, 0)),
            apply_disturbed: Cell::new(false),
            applying: Cell::new(false),
            now_ms: Cell::new(0),
            last_timestamp_us: Cell::new(0),
            timeout_elapsed: Cell::new(0),
            election_timeout_rand: Cell::new(Config::default().election_timeout),
            config: Cell::new(Config::default()),
            nodes: RefCell::new(Vec::new()),
            me: RefCell::new(None),
            voting_cfg_change_log_idx: Cell::new(-1),
            msg_id: Cell::new(0),
            persisted_idx: Cell::new(0),
            next_sync_index: Cell::new(0),
            term_start_idx: Cell::new(0),
            send_buffer: RefCell::new(Vec::new()),
            apply_buffer: RefCell::new(Vec::new()),
            quorum_scratch: RefCell::new(Vec::new()),
            msg_id_scratch: RefCell::new(Vec::new()),
            read_quorum: Cell::new(0),
            snapshot_in_progress: Cell::new(false),
            snapshot_last_idx: Cell::new(0),
            snapshot_last_term: Cell::new(0),
            next_snapshot_last_idx: Cell::new(0),
            next_snapshot_last_term: Cell::new(0),
            incoming_snapshot_idx: Cell::new(0),
            incoming_snapshot_offset: Cell::new(0),
            reads: RefCell::new(VecDeque::new()),
            read_round_msg_id: Cell::new(0),
            transfer_target: Cell::new(NODE_ID_NONE),
            transfer_timeout_ms: Cell::new(0),
            transfer_elapsed_ms: Cell::new(0),
            timeoutnow_sent: Cell::new(false),
            quorum_ack_msg_id: Cell::new(0),
            quorum_ack_ms: Cell::new(i64::MIN / 2),
        };
        server.randomize_election_timeout();
        server
    }

    pub fn host(&self) -> &H {
        &self.host
    }

    /// The host, for finishing its set-up before the server is shared.
    pub fn host_mut(&mut self) -> &mut H {
        &mut self.host
    }

    pub(crate) fn log(&self) -> &H::Log {
        self.host.log()
    }

    // ----- logging -----

    pub(crate) fn logging(&self) -> bool {
        self.config.get().log_enabled && self.host.has_logger()
    }

    pub(crate) fn emit_log(&self, node: NodeId, message: &str) {
        self.host.log_message(node, message);
    }

    // ----- configuration -----

    pub fn config(&self) -> Config {
        self.config.get()
    }

    /// Changes the configuration; a new election timeout is re-randomised.
    pub fn set_config(&self, config: Config) {
        let old = self.config.replace(config);
        // Applying may have been turned on or off.
        self.disturb_apply();
        if old.election_timeout != config.election_timeout {
            self.randomize_election_timeout();
        }
    }

    pub fn snapshot_in_progress(&self) -> bool {
        self.snapshot_in_progress.get()
    }

    pub(crate) fn set_snapshot_in_progress(&self, in_progress: bool) {
        self.snapshot_in_progress.set(in_progress);
        self.disturb_apply();
    }

    /// Tells a running apply loop to look again before its next entry.
    fn disturb_apply(&self) {
        self.apply_disturbed.set(true);
    }

    /// Starts watching for `disturb_apply`: what the apply loop relies on
    /// has just been checked.
    #[inline(always)]
    pub(crate) fn watch_apply(&self) {
        self.apply_disturbed.set(false);
    }

    /// Whether `disturb_apply` ran since `watch_apply`.
    #[inline(always)]
    pub(crate) fn apply_disturbed(&self) -> bool {
        self.apply_disturbed.get()
    }

    /// To be called after the host's callbacks change (`raft_set_callbacks`):
    /// an apply loop running in a callback picks up the new ones.
    pub fn host_changed(&self) {
        self.disturb_apply();
    }

    /// Runs `apply` unless this server is applying already (a callback of
    /// its apply loop asked to apply: `raft_periodic`, `raft_apply_all` or
    /// `raft_apply_entry` from `applylog`); then `busy` is returned and the
    /// running loop goes on, so that no entry reaches `applylog` twice or
    /// out of order.
    pub(crate) fn exclusive_apply<R>(&self, busy: R, apply: impl FnOnce() -> R) -> R {
        struct Applying<'a>(&'a Cell<bool>);
        impl Drop for Applying<'_> {
            fn drop(&mut self) {
                self.0.set(false);
            }
        }
        if self.applying.replace(true) {
            return busy;
        }
        let _applying = Applying(&self.applying);
        apply()
    }

    /// Sets the last applied entry from outside the apply loop (a snapshot,
    /// a restore, the application itself).
    pub(crate) fn move_last_applied(&self, idx: Index, term: Term) {
        self.last_applied_idx.set(idx);
        self.known_applied_term.set((idx, term));
        self.disturb_apply();
    }

    /// The apply loop's step: `idx`, the entry after the last applied one,
    /// has been applied. Its term is settled later (`settle_applied_term`)
    /// or looked up when asked for.
    #[inline(always)]
    pub(crate) fn advance_applied(&self, idx: Index) {
        self.last_applied_idx.set(idx);
    }

    /// Records `term` as the term of applied entry `idx`.
    #[inline(always)]
    pub(crate) fn settle_applied_term(&self, idx: Index, term: Term) {
        self.known_applied_term.set((idx, term));
    }

    /// Whether committed entries may be applied now: not while applying is
    /// disabled, nor during a snapshot unless applying is non-blocking.
    pub fn is_apply_allowed(&self) -> bool {
        let config = self.config.get();
        !config.disable_apply && (!self.snapshot_in_progress.get() || config.nonblocking_apply)
    }

    pub fn randomize_election_timeout(&self) {
        let base = self.config.get().election_timeout.max(1);
        let jitter = (self.host.random() as i64) % base;
        self.election_timeout_rand.set(base + jitter);
    }

    pub fn election_timeout_rand(&self) -> i64 {
        self.election_timeout_rand.get()
    }

    // ----- time -----

    /// Takes the host clock as the reference point for the next periodic.
    pub fn reset_clock(&self) {
        self.last_timestamp_us.set(self.host.now_us());
    }

    /// Milliseconds elapsed on the host clock since the last call; the
    /// sub-millisecond remainder is carried to the next call.
    fn elapsed_ms_from_clock(&self) -> i64 {
        let now = self.host.now_us();
        let last = self.last_timestamp_us.get();
        if now <= last {
            return 0;
        }
        let ms = (now - last) / 1000;
        self.last_timestamp_us.set(last + ms * 1000);
        ms
    }

    /// `raft_periodic`: advance by the time the clock says has passed.
    pub fn periodic(&self) -> Result<()> {
        let ms = self.elapsed_ms_from_clock();
        self.periodic_ms(ms)
    }

    /// `raft_periodic_internal`: advance by `ms` (negative: read the clock).
    pub fn periodic_ms(&self, ms: i64) -> Result<()> {
        if ms < 0 {
            return self.periodic();
        }
        // Saturating: an absurd elapsed time must not wrap the clock.
        self.now_ms.set(self.now_ms.get().saturating_add(ms));
        self.timeout_elapsed.set(self.timeout_elapsed.get().saturating_add(ms));

        self.tick_transfer(ms);

        if self.is_single_voter() && self.role.get() != Role::Leader {
            self.become_candidate()?;
            self.become_leader()?;
        }

        if self.role.get() == Role::Leader {
            if !self.reads.borrow().is_empty() {
                self.refresh_read_quorum();
            }
            if !self.has_quorum_contact() {
                trace!(self, NODE_ID_NONE, "no majority heard within two election timeouts: stepping down");
                self.become_follower();
            } else if self.timeout_elapsed.get() >= self.config.get().request_timeout {
                self.send_appendentries_all()?;
            }
        } else if self.timeout_elapsed.get() >= self.election_timeout_rand.get()
            && !self.snapshot_in_progress()
            && self.may_campaign()
        {
            self.election_start(false)?;
        }

        self.exec_operations()
    }

    /// Applies committed entries and answers ready reads. Called after every
    /// message, so the common "nothing to do" is decided inline.
    #[inline(always)]
    pub fn exec_operations(&self) -> Result<()> {
        let nothing_to_apply = self.last_applied_idx() >= self.commit_idx.get();
        if nothing_to_apply && !self.reads_to_serve() {
            return Ok(());
        }
        self.exec_operations_now()
    }

    #[inline(never)]
    fn exec_operations_now(&self) -> Result<()> {
        self.apply_committed()?;
        self.serve_reads();
        Ok(())
    }

    /// Check-quorum: a leader hears from a majority of voters within two
    /// election timeouts, or it is not a leader that anyone follows.
    fn has_quorum_contact(&self) -> bool {
        let voters = self.num_voting_nodes();
        if voters <= 1 {
            return true;
        }
        let window = 2 * self.config.get().election_timeout;
        let now = self.now_ms.get();
        if now.saturating_sub(self.quorum_ack_ms.get()) < window {
            return true;
        }
        let acks = self
            .nodes
            .borrow()
            .iter()
            .filter(|n| n.is_counted_voter() && (self.is_me(n) || now.saturating_sub(n.last_ack_ms()) < window))
            .count();
        super::election::votes_is_majority(voters, acks)
    }

    /// `raft_update_quorum_meta`: a majority acknowledged message `id` now.
    pub fn update_quorum_meta(&self, id: MsgId) {
        self.quorum_ack_msg_id.set(self.quorum_ack_msg_id.get().max(id));
        self.read_quorum.set(self.read_quorum.get().max(id));
        self.quorum_ack_ms.set(self.now_ms.get());
    }

    pub fn timeout_elapsed(&self) -> i64 {
        self.timeout_elapsed.get()
    }

    // ----- roles -----

    pub fn role(&self) -> Role {
        self.role.get()
    }

    pub(crate) fn set_role(&self, role: Role) {
        let old = self.role.replace(role);
        if role == Role::Leader {
            self.leader_id.set(self.my_id());
        } else if old == Role::Leader {
            if self.leader_id.get() == self.my_id() {
                self.leader_id.set(NODE_ID_NONE);
            }
            self.fail_pending_reads();
        }
        if old != role {
            trace!(self, NODE_ID_NONE, "{} -> {} (term {})", old.name(), role.name(), self.current_term.get());
            self.host.notify_state_event(role);
        }
    }

    /// Becomes a follower; the term is unchanged.
    pub fn become_follower(&self) {
        self.set_role(Role::Follower);
        self.randomize_election_timeout();
        self.timeout_elapsed.set(0);
    }

    /// `raft_set_state`: the raw role change, for restoring and testing.
    pub fn set_state(&self, role: Role) {
        self.set_role(role);
    }

    pub fn is_leader(&self) -> bool {
        self.role.get() == Role::Leader
    }

    pub fn leader_id(&self) -> NodeId {
        self.leader_id.get()
    }

    pub fn leader_node(&self) -> Option<Rc<Node>> {
        self.node(self.leader_id.get())
    }

    // ----- terms and votes -----

    pub fn current_term(&self) -> Term {
        self.current_term.get()
    }

    pub fn voted_for(&self) -> NodeId {
        self.voted_for.get()
    }

    /// Moves to a later term, forgetting the vote; persisted first.
    /// An earlier or equal term is a no-op.
    pub fn set_current_term(&self, term: Term) -> Result<()> {
        if term <= self.current_term.get() {
            return Ok(());
        }
        if term > super::TERM_MAX {
            return Err(RaftError::Misuse);
        }
        super::check(self.host.persist_metadata(term, NODE_ID_NONE))?;
        self.current_term.set(term);
        self.voted_for.set(NODE_ID_NONE);
        Ok(())
    }

    /// Records a vote in the current term; persisted first.
    pub fn vote_for(&self, id: NodeId) -> Result<()> {
        super::check(self.host.persist_metadata(self.current_term.get(), id))?;
        self.voted_for.set(id);
        Ok(())
    }

    /// Restores term and vote read back from disk; nothing is persisted.
    pub fn restore_metadata(&self, term: Term, vote: NodeId) -> Result<()> {
        if !super::valid_term(term) || vote < NODE_ID_NONE {
            return Err(RaftError::Failed);
        }
        self.current_term.set(term);
        self.voted_for.set(vote);
        Ok(())
    }

    // ----- indexes -----

    pub fn commit_idx(&self) -> Index {
        self.commit_idx.get()
    }

    /// Sets the commit index (used when restoring); it never moves past the
    /// log's end nor below zero.
    pub fn set_commit_idx(&self, idx: Index) {
        if idx >= 0 && idx <= self.current_idx() {
            self.commit_idx.set(idx);
        }
    }

    pub fn last_applied_idx(&self) -> Index {
        self.last_applied_idx.get()
    }

    /// The term of the last applied entry. The apply loop settles it after
    /// each stride of entries; asked for in between (from `applylog`), it is
    /// the log's term at the last applied index. If the log no longer has
    /// that entry, the last term known for an applied entry.
    pub fn last_applied_term(&self) -> Term {
        let idx = self.last_applied_idx.get();
        let (known_idx, known_term) = self.known_applied_term.get();
        if idx == known_idx {
            return known_term;
        }
        self.term_at(idx).unwrap_or(known_term)
    }

    pub fn set_last_applied_idx(&self, idx: Index) {
        if super::valid_index(idx) {
            let term = self.term_at(idx).unwrap_or_else(|| self.last_applied_term());
            self.move_last_applied(idx, term);
        }
    }

    pub fn current_idx(&self) -> Index {
        self.log().current_idx()
    }

    pub fn log_count(&self) -> Index {
        self.log().count()
    }

    pub fn first_entry_idx(&self) -> Index {
        self.log().first_idx()
    }

    /// The term at `idx`, including the snapshot's last entry and index 0.
    #[inline]
    pub fn term_at(&self, idx: Index) -> Option<Term> {
        if idx == 0 {
            return Some(0);
        }
        if idx == self.snapshot_last_idx.get() {
            return Some(self.snapshot_last_term.get());
        }
        self.log().term_at(idx)
    }

    pub fn last_log_term(&self) -> Term {
        self.term_at(self.current_idx()).unwrap_or(0)
    }

    pub fn entry_at(&self, idx: Index) -> Option<H::Entry> {
        if idx <= 0 {
            return None;
        }
        self.log().get(idx)
    }

    pub fn entries_from(&self, idx: Index, out: &mut Vec<H::Entry>) -> usize {
        if idx <= 0 {
            return 0;
        }
        let n = (self.current_idx() - idx + 1).max(0) as usize;
        self.log().get_batch(idx, n, out)
    }

    pub fn last_applied_entry(&self) -> Option<H::Entry> {
        self.entry_at(self.last_applied_idx())
    }

    pub fn msg_id(&self) -> MsgId {
        self.msg_id.get()
    }

    /// A follower heard message `msg_id` from `from` (the sender's node,
    /// looked up after the message, which may have added it).
    pub fn note_msg_seen(&self, from: NodeId, msg_id: MsgId) {
        if let Some(node) = self.node(from) {
            node.update_max_seen_msg_id(msg_id);
        }
    }

    pub(crate) fn next_msg_id(&self) -> MsgId {
        let id = self.msg_id.get() + 1;
        self.msg_id.set(id);
        id
    }

    // ----- restoring persisted state -----

    /// `raft_append_entry`: appends an entry as read back from disk (or as a
    /// test would), applying any configuration change it carries.
    pub fn append_entry(&self, entry: &H::Entry) -> Result<()> {
        if !super::valid_term(entry.term()) || self.current_idx() >= super::INDEX_MAX {
            return Err(RaftError::Misuse);
        }
        self.append_to_log(entry)?;
        // Restored from disk, so durable.
        self.note_log_persisted();
        Ok(())
    }

    /// `raft_restore_log`: on restart, after `restore_snapshot`, once the log
    /// holds the entries it loaded from disk itself. Every configuration
    /// entry after the snapshot takes effect in order, as if just appended
    /// (the newest voting change is the pending one), without appending
    /// anything; the entries count as durable. `Misuse` once entries past
    /// the snapshot have been applied (the server has started); `Failed`
    /// when the log lacks an entry inside its own range.
    pub fn restore_log(&self) -> Result<()> {
        let snapshot_idx = self.snapshot_last_idx.get();
        if snapshot_idx != self.last_applied_idx() {
            return Err(RaftError::Misuse);
        }
        self.replay_cfg_changes(snapshot_idx + 1)?;
        self.note_log_persisted();
        Ok(())
    }

    /// Lets every configuration entry in the log from `from` on take effect,
    /// in order, as appending it would have; the newest voting change is the
    /// pending one. `Failed` when the log lacks an entry inside its range.
    pub(crate) fn replay_cfg_changes(&self, from: Index) -> Result<()> {
        let mut idx = from.max(self.first_entry_idx());
        // The end is read again each turn: a callback (get_node_id, the
        // membership notification) may change the log.
        while idx <= self.current_idx() {
            let entry = self.log().get(idx).ok_or(RaftError::Failed)?;
            let entry_type = entry.entry_type();
            if super::is_cfg_change(entry_type) {
                if super::is_voting_cfg_change(entry_type) {
                    self.voting_cfg_change_log_idx.set(idx);
                }
                self.handle_append_cfg_change(&entry, idx);
            }
            idx += 1;
        }
        Ok(())
    }

    /// `raft_pop_entry`: removes the newest entry unless it is committed.
    pub fn pop_entry(&self) -> Result<()> {
        let idx = self.current_idx();
        if idx <= self.commit_idx.get() || idx < self.first_entry_idx() {
            return Err(RaftError::Failed);
        }
        self.delete_entries_from(idx)
    }

    /// Appends one entry to the log and lets a configuration change take
    /// effect at once (thesis §4.1: a server uses the newest configuration
    /// in its log, committed or not).
    #[inline(always)]
    pub(crate) fn append_to_log(&self, entry: &H::Entry) -> Result<Index> {
        self.check_room()?;
        let idx = self.log().append_indexed(entry)?;
        let entry_type = entry.entry_type();
        if super::is_cfg_change(entry_type) {
            if super::is_voting_cfg_change(entry_type) {
                self.voting_cfg_change_log_idx.set(idx);
            }
            self.handle_append_cfg_change(entry, idx);
        }
        Ok(idx)
    }

    /// Refuses (`Misuse`) an append past `INDEX_MAX`.
    #[inline(always)]
    pub(crate) fn check_room(&self) -> Result<()> {
        if self.current_idx() >= super::INDEX_MAX {
            return Err(RaftError::Misuse);
        }
        Ok(())
    }

    /// Removes `idx` and everything after it, undoing configuration changes
    /// newest first. Committed entries are never removed.
    pub fn delete_entries_from(&self, idx: Index) -> Result<()> {
        if idx <= self.commit_idx.get() {
            return Err(RaftError::Shutdown);
        }
        if idx <= self.voting_cfg_change_log_idx.get() {
            self.voting_cfg_change_log_idx.set(-1);
        }
        let mut removed = Vec::new();
        self.log().pop(idx, &mut |entry, at| {
            if super::is_cfg_change(entry.entry_type()) {
                removed.push((entry.clone(), at));
            }
        })?;
        for (entry, at) in removed {
            self.handle_remove_cfg_change(&entry, at);
        }
        let end = self.current_idx();
        if self.next_sync_index.get() > end {
            self.next_sync_index.set(end);
        }
        if self.persisted_idx.get() > end {
            self.persisted_idx.set(end);
        }
        if let Some(me) = self.my_node() {
            if me.match_idx() > end {
                me.set_match_idx(end);
            }
        }
        Ok(())
    }

    /// Records that this server's log is durable up to `idx`; a leader
    /// counts itself as holding exactly what is durable.
    pub(crate) fn note_persisted(&self, idx: Index) {
        self.note_persisted_within_log(idx.min(self.current_idx()));
    }

    /// The whole log is durable.
    pub(crate) fn note_log_persisted(&self) {
        self.note_persisted_within_log(self.current_idx());
    }

    /// `note_persisted` for an index known not to be past the log's end.
    fn note_persisted_within_log(&self, idx: Index) {
        if idx > self.persisted_idx.get() {
            self.persisted_idx.set(idx);
        }
        if self.role.get() == Role::Leader {
            if let Some(me) = self.me.borrow().as_ref() {
                if self.persisted_idx.get() > me.match_idx() {
                    me.set_match_idx(self.persisted_idx.get());
                }
            }
        }
    }

    /// Forgets every entry and all volatile state (`raft_clear`).
    pub fn clear(&self) {
        self.current_term.set(0);
        self.voted_for.set(NODE_ID_NONE);
        self.timeout_elapsed.set(0);
        self.randomize_election_timeout();
        self.voting_cfg_change_log_idx.set(-1);
        self.set_role(Role::Follower);
        self.leader_id.set(NODE_ID_NONE);
        self.commit_idx.set(0);
        self.move_last_applied(0, 0);
        self.next_sync_index.set(0);
        self.persisted_idx.set(0);
        self.snapshot_last_idx.set(0);
        self.snapshot_last_term.set(0);
        self.set_snapshot_in_progress(false);
        self.log().reset(1, 0);
    }
}

#[cfg(test)]
pub(crate) mod tests {
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
        fn log(&self) -> &Self::Log {
            &self.log
        }
        fn send_requestvote(&self, to: &Rc<Node>, msg: &RequestVote) -> i32 {
            self.sent_votes.borrow_mut().push((to.id(), *msg));
            0
        }
        fn send_appendentries(&self, to: &Rc<Node>, msg: &AppendEntries<'_, TestEntry>) -> i32 {
            self.sent_appends.borrow_mut().push((to.id(), msg.msg_id, msg.prev_log_idx, msg.entries.len()));
            0
        }
        fn send_snapshot(&self, _: &Rc<Node>, _: &SnapshotRequest) -> i32 {
            0
        }
        fn send_timeoutnow(&self, _: &Rc<Node>) -> i32 {
            0
        }
        fn get_snapshot_chunk(&self, _: &Rc<Node>, _: u64, _: &mut Chunk) -> Option<i32> {
            None
        }
        fn store_snapshot_chunk(&self, _: Index, _: u64, _: &Chunk) -> i32 {
            0
        }
        fn clear_snapshot(&self) -> i32 {
            0
        }
        fn load_snapshot(&self, _: Term, _: Index) -> i32 {
            0
        }
        fn applylog(&self, _: &TestEntry, idx: Index) -> i32 {
            self.applied.borrow_mut().push(idx);
            0
        }
        fn persist_metadata(&self, term: Term, vote: NodeId) -> i32 {
            if self.fail_persist.get() {
                return -1;
            }
            self.persisted.borrow_mut().push((term, vote));
            0
        }
        fn get_node_id(&self, e: &TestEntry, _: Index) -> Option<NodeId> {
            Some(e.id())
        }
        fn node_has_sufficient_logs(&self, _: &Rc<Node>) -> Option<i32> {
            None
        }
        fn notify_membership_event(&self, _: &Rc<Node>, _: Option<&TestEntry>, _: MembershipEvent) {}
        fn notify_state_event(&self, role: Role) {
            self.states.borrow_mut().push(role);
        }
        fn notify_transfer_event(&self, _: TransferResult) {}
        fn has_logger(&self) -> bool {
            false
        }
        fn log_message(&self, _: NodeId, _: &str) {}
        fn backpressure(&self, _: &Rc<Node>) -> bool {
            false
        }
        fn gives_entries_to_send(&self) -> bool {
            false
        }
        fn get_entries_to_send(&self, _: &Rc<Node>, _: Index, _: usize, _: &mut Vec<TestEntry>) -> Option<usize> {
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
            s.add_node(std::ptr::null_mut(), id, id == me).unwrap();
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
}
