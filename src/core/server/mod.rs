//! One Raft server: its state, its clock, role changes and the entry points
//! that do not belong to a single concern.

mod config;
mod indexes;
mod restore;
mod roles;
mod time;

#[cfg(test)]
pub(crate) mod tests;

use std::cell::{Cell, RefCell};
use std::collections::VecDeque;
use std::rc::Rc;

use super::reads::PendingRead;
use super::{Host, Index, MsgId, Node, NodeId, Role, Term, NODE_ID_NONE};

/// Emits a library log line, formatting it only when logging is enabled and
/// the host has a logger.
macro_rules! trace {
    ($server:expr, $node:expr, $($arg:tt)*) => {
        if $server.logging() {
            $server.emit_log($node, format_args!($($arg)*));
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

/// Applying reads the clock (for its time budget) every this many entries.
pub(crate) const APPLY_CLOCK_STRIDE: usize = 8;

/// How many voters hold index `at` (the next that may commit), and how
/// many make a majority; `at` is -1 when not counted. The count may be
/// too high (see `commit_last_entry_or_count`), never trusted to commit.
#[derive(Clone, Copy, Debug)]
pub(crate) struct CommitVotes {
    pub at: Index,
    pub votes: usize,
    pub need: usize,
}

impl Default for CommitVotes {
    fn default() -> Self {
        CommitVotes { at: -1, votes: 0, need: usize::MAX }
    }
}

pub struct Server<H: Host> {
    pub(crate) host: H,

    // Persistent state (stored through persist_metadata).
    pub(crate) current_term: Cell<Term>,
    pub(crate) voted_for: Cell<NodeId>,

    pub(crate) role: Cell<Role>,
    pub(crate) leader_id: Cell<NodeId>,
    pub(crate) commit_idx: Cell<Index>,
    /// The last applied entry and its term, written together through
    /// `move_last_applied` (which tells a running apply loop) or, by the
    /// apply loop itself, `count_applied`.
    last_applied_idx: Cell<Index>,
    last_applied_term: Cell<Term>,
    /// Set whenever something a running apply loop relies on changes under
    /// it (see `disturb_apply`; one loop at a time: see `exclusive_apply`).
    apply_disturbed: Cell<bool>,
    /// An apply loop is running (see `exclusive_apply`).
    applying: Cell<bool>,

    // Time, in milliseconds of this server's own clock.
    pub(crate) now_ms: Cell<i64>,
    last_timestamp_us: Cell<i64>,
    pub(crate) timeout_elapsed: Cell<i64>,
    pub(crate) election_timeout_rand: Cell<i64>,
    pub(crate) config: Cell<Config>,

    pub(crate) nodes: RefCell<Vec<Rc<Node<H::NodeData>>>>,
    pub(crate) me: RefCell<Option<Rc<Node<H::NodeData>>>>,
    /// Nodes allocated ahead of need, so that adding a node needs no
    /// allocation: one made before a configuration entry is appended
    /// (`prepare_cfg_change`), and those `begin_load_snapshot` removes, for
    /// the application to add back.
    pub(crate) spare_nodes: RefCell<Vec<Rc<Node<H::NodeData>>>>,
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
    /// An appendentries is changing the log (from following its sender to
    /// its answer): a message handled meanwhile, from a callback, is
    /// refused (`recv_appendentries`).
    pub(crate) follower_appending: Cell<bool>,
    /// Reusable buffer for entries being sent, so sending allocates nothing.
    pub(crate) send_buffer: RefCell<Vec<H::Entry>>,
    /// Reusable buffer for entries being applied.
    pub(crate) apply_buffer: RefCell<Vec<H::Entry>>,
    /// Reusable buffers for quorum counts (match indexes, msg_ids).
    pub(crate) quorum_scratch: RefCell<Vec<Index>>,
    /// The leader's count of voters holding the next index that may commit
    /// (`match_raised`).
    pub(crate) commit_votes: Cell<CommitVotes>,
    /// `node::outside_edits` when `commit_votes` was last checked against it
    /// (`recount_after_outside_edits`).
    pub(crate) outside_edits_seen: Cell<u64>,
    /// Where `note_msg_seen` last found the sender in the node list.
    pub(crate) seen_node_hint: Cell<usize>,
    /// Where `node_at_address` found the last node it looked up.
    pub(crate) address_hint: Cell<usize>,
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
    /// `msg_id` at the last `raft_periodic` of this leader: reads that
    /// arrived at or before it have waited a tick (`recount_reads_on_tick`).
    pub(crate) read_tick_mark: Cell<MsgId>,

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
            last_applied_term: Cell::new(0),
            apply_disturbed: Cell::new(false),
            applying: Cell::new(false),
            now_ms: Cell::new(0),
            last_timestamp_us: Cell::new(0),
            timeout_elapsed: Cell::new(0),
            election_timeout_rand: Cell::new(Config::default().election_timeout),
            config: Cell::new(Config::default()),
            nodes: RefCell::new(Vec::new()),
            me: RefCell::new(None),
            spare_nodes: RefCell::new(Vec::new()),
            voting_cfg_change_log_idx: Cell::new(-1),
            msg_id: Cell::new(0),
            persisted_idx: Cell::new(0),
            next_sync_index: Cell::new(0),
            term_start_idx: Cell::new(0),
            follower_appending: Cell::new(false),
            send_buffer: RefCell::new(Vec::new()),
            apply_buffer: RefCell::new(Vec::new()),
            quorum_scratch: RefCell::new(Vec::new()),
            commit_votes: Cell::new(CommitVotes::default()),
            outside_edits_seen: Cell::new(0),
            seen_node_hint: Cell::new(0),
            address_hint: Cell::new(0),
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
            read_tick_mark: Cell::new(0),
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

    /// Formats on the stack (see `LogLine`): logging allocates nothing.
    #[cold]
    pub(crate) fn emit_log(&self, node: NodeId, args: std::fmt::Arguments<'_>) {
        self.host.log_message(node, super::alloc::LogLine::format(args).as_str());
    }
}
