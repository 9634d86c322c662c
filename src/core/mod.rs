//! The Raft protocol as safe Rust.
//!
//! The core knows nothing of C. It reaches the outside world only through the
//! [`Host`] trait (messages, persistence, the state machine, the clock) and the
//! [`Log`] trait (entry storage), and handles entries only through
//! [`EntryHandle`], a reference-counted handle whose clone is a "hold" and
//! whose drop is a "release".
//!
//! Every entry point takes `&Server`: state lives in `Cell`s and `RefCell`s,
//! and no borrow is held while a host callback runs, so a callback may call
//! back into the same server (see DESIGN.md, "Re-entrancy").
//!
//! # Where things live
//!
//! One rule of the protocol, one module:
//!
//! | module | rule |
//! |---|---|
//! | `server/mod.rs` | the server's state (every field, what it means) |
//! | `server/config.rs` | the configuration; when applying may run (snapshots, disabled apply) |
//! | `server/time.rs` | the clock: election timeout, heartbeats, check-quorum, transfer timeout |
//! | `server/roles.rs` | role changes; the current term and the vote, persisted before use |
//! | `server/indexes.rs` | commit, applied and log indexes as the rest of the core sees them; msg_ids |
//! | `server/restore.rs` | restart (restoring the log and metadata), truncation, durability marks |
//! | [`election`] | pre-vote, requestvote, granting a vote, becoming leader (thesis §3.4, §9.6) |
//! | [`quorum`] | what a majority is; the value a majority has reached |
//! | [`progress`] | the leader's record of each follower (next and match index, answers, snapshot sent) and its invariants |
//! | `replication/propose.rs` | the leader taking a client's entry |
//! | `replication/send.rs` | the leader sending appendentries (pipelined) |
//! | `replication/receive.rs` | the follower's log-matching check, truncation and append |
//! | `replication/commit.rs` | the leader's side of answers: progress, back-off, commit (§3.6.2); `entry_response_committed` |
//! | `replication/apply.rs` | applying committed entries in order, within a time budget |
//! | `membership.rs` | the node list and single-server configuration changes (§4.1) |
//! | `snapshot.rs` | taking, sending, receiving and loading snapshots (§5.1) |
//! | `transfer.rs` | leadership transfer and timeoutnow (§3.10) |
//! | `reads.rs` | linearizable reads without a log entry (ReadIndex, §6.4) |
//! | `node.rs` | a member of the cluster as one server sees it: identity, membership flags, vote, the host's value |
//! | `log.rs` | the built-in in-memory log ([`MemoryLog`]) |
//! | `mod.rs` (here) | the vocabulary: ids, terms and indexes and their ranges, messages, [`RaftError`], [`Vote`], [`EntryState`], [`ChunkReply`], and the [`Host`] and [`Log`] traits |
//!
//! Invariants stated in these modules are checked with `debug_assert!`
//! (run by `cargo test --no-default-features --lib`, a debug build): the
//! commit index only advances and stays within the log, entries apply in
//! order and only once committed, the term only grows, one vote per term,
//! and the progress record's `match < next <= last index + 1`.
//!
//! The C side (`src/ffi`, the `capi` feature) maps onto this: `server/` the
//! lifecycle and entry points, `host.rs` the callbacks as a [`Host`],
//! `log_impl/` the built-in log as `raft_log_t`, its observers, the
//! `raft_log_impl_t` vtable and compat exports, `node.rs` the node
//! accessors and user data, `mod.rs` the error codes and the rule for
//! `unsafe` exports.
#![deny(unsafe_code)]

pub mod alloc;
pub mod election;
mod log;
mod membership;
mod node;
pub mod progress;
pub mod quorum;
mod reads;
pub mod replication;
mod server;
mod snapshot;
mod transfer;

pub use self::log::MemoryLog;
pub use self::node::Node;
pub use self::server::{Config, Server};

use std::cell::RefCell;
use std::rc::Rc;

pub type Term = i64;
pub type Index = i64;
pub type NodeId = i32;
pub type MsgId = u64;
pub type EntryId = i32;

/// The id meaning "no node" (the C header's `RAFT_NODE_ID_NONE`).
pub const NODE_ID_NONE: NodeId = -1;

/// The largest term the library accepts or reaches (2^62 - 1). Terms come
/// from peers and from disk; one above this (or below 0) is refused where
/// it enters, and an election that would need a larger term is refused, so
/// no term ever wraps. Half the type's range: adding two valid terms, or a
/// valid term and one, never overflows.
pub const TERM_MAX: Term = i64::MAX / 2;

/// The largest log index the library accepts (2^62 - 1), for the same
/// reasons as [`TERM_MAX`].
pub const INDEX_MAX: Index = i64::MAX / 2;

/// A term in `0..=TERM_MAX`.
#[inline(always)]
pub fn valid_term(term: Term) -> bool {
    (0..=TERM_MAX).contains(&term)
}

/// An index in `0..=INDEX_MAX`.
#[inline(always)]
pub fn valid_index(idx: Index) -> bool {
    (0..=INDEX_MAX).contains(&idx)
}

/// True for entry types a client may propose: anything but the leader's
/// own no-op and negative (undefined) types.
#[inline(always)]
pub fn is_client_type(entry_type: i32) -> bool {
    entry_type >= 0 && entry_type != entry_type::NO_OP
}

/// Entry types the protocol interprets; anything else is application data.
pub mod entry_type {
    pub const NORMAL: i32 = 0;
    pub const ADD_NONVOTING_NODE: i32 = 1;
    pub const ADD_NODE: i32 = 2;
    pub const REMOVE_NODE: i32 = 3;
    pub const NO_OP: i32 = 4;
}

/// True for entries that change membership (voting or not).
pub fn is_cfg_change(entry_type: i32) -> bool {
    matches!(entry_type, entry_type::ADD_NONVOTING_NODE | entry_type::ADD_NODE | entry_type::REMOVE_NODE)
}

/// True for entries that change the set of voters.
pub fn is_voting_cfg_change(entry_type: i32) -> bool {
    matches!(entry_type, entry_type::ADD_NODE | entry_type::REMOVE_NODE)
}

/// Roles, numbered as the C header's `raft_state_e`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Role {
    Follower = 1,
    PreCandidate = 2,
    Candidate = 3,
    Leader = 4,
}

impl Role {
    pub fn name(self) -> &'static str {
        match self {
            Role::Follower => "follower",
            Role::PreCandidate => "pre-candidate",
            Role::Candidate => "candidate",
            Role::Leader => "leader",
        }
    }
}

/// Membership notifications, numbered as `raft_membership_e`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MembershipEvent {
    Add = 0,
    Remove = 1,
}

/// Leadership transfer outcomes, numbered as `raft_leader_transfer_e`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TransferResult {
    Timeout = 0,
    UnexpectedLeader = 1,
    ExpectedLeader = 2,
}

/// What went wrong: the library's own errors, and a host's failure that
/// names none of them ([`RaftError::Code`], the host's own value, which the
/// core passes back to the caller unchanged and never interprets). The C
/// layer maps each to its `RAFT_ERR_*` code and back.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
pub enum RaftError {
    #[error("operation failed")]
    Failed,
    #[error("not the leader")]
    NotLeader,
    #[error("only one voting configuration change may be in progress")]
    OneVotingChangeOnly,
    #[error("the server must shut down")]
    Shutdown,
    #[error("out of memory")]
    NoMem,
    #[error("a snapshot is in progress")]
    SnapshotInProgress,
    #[error("the snapshot is already loaded")]
    SnapshotAlreadyLoaded,
    #[error("invalid node id")]
    InvalidNodeId,
    #[error("a leadership transfer is in progress")]
    LeaderTransferInProgress,
    #[error("done")]
    Done,
    #[error("stale term")]
    StaleTerm,
    #[error("not found")]
    NotFound,
    #[error("misuse of the API")]
    Misuse,
    /// A host operation failed with a value of its own.
    #[error("callback failed with code {0}")]
    Code(i32),
}

pub type Result<T> = std::result::Result<T, RaftError>;

/// A reference-counted log entry owned by the host.
///
/// `clone` takes a reference (hold) and `drop` gives it back (release).
pub trait EntryHandle: Clone {
    fn term(&self) -> Term;
    fn set_term(&self, term: Term);
    fn id(&self) -> EntryId;
    fn entry_type(&self) -> i32;
}

/// Entry storage (the C header's `raft_log_impl_t`).
///
/// Indexes start at 1; an empty log whose snapshot ends at `b` has
/// `first_idx() == b + 1` and `current_idx() == b`.
pub trait Log<E: EntryHandle> {
    /// Appends one entry (the log takes its own reference); its index.
    fn append(&self, entry: &E) -> Result<Index>;
    /// Appends entries in order up to, not including, the first
    /// configuration change, stopping at the first failure; returns how
    /// many were appended and the failure, if any. A follower appends a
    /// leader's batch through this: for the built-in log, one access for
    /// the batch costs 14% fewer library instructions per entry than one
    /// `append` each at 3 nodes, batches of 64 (354 against 411), 20% at 9.
    fn append_until_cfg_change(&self, entries: &[E]) -> (usize, Result<()>) {
        append_each_until_cfg_change(self, entries)
    }
    /// Removes every entry before `first_idx` (compaction).
    fn poll(&self, first_idx: Index) -> Result<()>;
    /// Removes `from_idx` and everything after it, newest first, reporting each.
    fn pop(&self, from_idx: Index, removed: &mut dyn FnMut(&E, Index)) -> Result<()>;
    /// The entry at `idx`, held for the caller.
    fn get(&self, idx: Index) -> Option<E>;
    /// Up to `max` consecutive entries from `idx`, held, appended to `out`.
    fn get_batch(&self, idx: Index, max: usize, out: &mut Vec<E>) -> usize;
    /// Calls `f` with up to `max` consecutive entries from `idx`, which stay
    /// alive until `f` returns whatever `f` does to the log meanwhile. The
    /// default holds each one (through `get_batch`, in the buffer `scratch`
    /// lends); a log that can keep removed entries alive lends them instead.
    fn with_entries<R>(&self, idx: Index, max: usize, scratch: &RefCell<Vec<E>>, f: impl FnOnce(&[E]) -> R) -> R {
        with_held_entries(self, idx, max, scratch, f)
    }
    fn first_idx(&self) -> Index;
    fn current_idx(&self) -> Index;
    fn count(&self) -> Index;
    fn sync(&self) -> Result<()>;
    /// Room for `n` more entries, so that appending them cannot fail for
    /// want of memory (`NoMem` otherwise). A log that cannot tell says yes.
    fn reserve(&self, n: usize) -> Result<()> {
        let _ = n;
        Ok(())
    }
    /// Drops every entry; the next append gets index `first_idx`.
    fn reset(&self, first_idx: Index, term: Term);
    /// The term of the entry at `idx`, without handing out a reference.
    fn term_at(&self, idx: Index) -> Option<Term> {
        self.get(idx).map(|e| e.term())
    }
}

/// [`Log::append_until_cfg_change`] one `append` at a time (for a log whose
/// appends each have something to ask or do).
pub fn append_each_until_cfg_change<E: EntryHandle, L: Log<E> + ?Sized>(log: &L, entries: &[E]) -> (usize, Result<()>) {
    for (i, entry) in entries.iter().enumerate() {
        if is_cfg_change(entry.entry_type()) {
            return (i, Ok(()));
        }
        if let Err(e) = log.append(entry) {
            return (i, Err(e));
        }
    }
    (entries.len(), Ok(()))
}

/// [`Log::with_entries`] for a log that cannot lend: the entries are held
/// in the buffer of `scratch` for the duration of `f`, then released.
pub fn with_held_entries<E: EntryHandle, L: Log<E> + ?Sized, R>(
    log: &L,
    idx: Index,
    max: usize,
    scratch: &RefCell<Vec<E>>,
    f: impl FnOnce(&[E]) -> R,
) -> R {
    with_buffer(scratch, |held| {
        log.get_batch(idx, max, held);
        f(held)
    })
}

/// Lends the reused buffer in `slot`, emptied, to `f`, then gives it back:
/// a nested call (from a callback inside `f`) finds the slot empty and
/// works with a fresh buffer.
pub fn with_buffer<T, R>(slot: &RefCell<Vec<T>>, f: impl FnOnce(&mut Vec<T>) -> R) -> R {
    let mut buffer = slot.take();
    buffer.clear();
    let result = f(&mut buffer);
    give_back(slot, buffer);
    result
}

/// Returns a reused buffer, taken out of its slot for the duration of a call,
/// to the slot, emptied (dropping what it held), keeping whichever of the two
/// has more room: a re-entrant call may have left a buffer of its own there.
pub fn give_back<T>(slot: &RefCell<Vec<T>>, mut buffer: Vec<T>) {
    buffer.clear();
    let mut slot = slot.borrow_mut();
    if slot.capacity() < buffer.capacity() {
        *slot = buffer;
    }
}

/// A request for votes (pre-vote or real).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct RequestVote {
    pub prevote: bool,
    pub term: Term,
    pub candidate_id: NodeId,
    pub last_log_idx: Index,
    pub last_log_term: Term,
}

/// A voter's answer to a vote request.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Vote {
    Granted,
    #[default]
    NotGranted,
    /// The candidate is unknown to the voter (it may have been removed).
    /// Counted as not granted.
    UnknownNode,
}

/// The answer to a [`RequestVote`].
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct RequestVoteResponse {
    pub prevote: bool,
    pub request_term: Term,
    pub term: Term,
    pub vote_granted: Vote,
}

/// What became of an entry a leader accepted (`Server::entry_response_committed`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum EntryState {
    /// Committed at the index it was given.
    Committed,
    /// Not committed yet; it still may be.
    Pending,
    /// Another leader's entry took its index: it will never commit.
    Overwritten,
}

/// What the host answers when asked for a snapshot chunk.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ChunkReply {
    /// The chunk is filled in: send it.
    Ready,
    /// Nothing to send for now (the host paused the transfer); the next
    /// heartbeat or answer asks again.
    Paused,
    /// The host gives no chunks: snapshots cannot be sent.
    Unavailable,
}

/// An appendentries request as the core builds or receives it.
#[derive(Debug)]
pub struct AppendEntries<'a, E> {
    pub term: Term,
    pub leader_id: NodeId,
    pub msg_id: MsgId,
    pub prev_log_idx: Index,
    pub prev_log_term: Term,
    pub leader_commit: Index,
    pub entries: &'a [E],
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct AppendEntriesResponse {
    pub msg_id: MsgId,
    pub term: Term,
    pub success: bool,
    pub current_idx: Index,
}

/// A piece of a snapshot: `len` bytes at `offset`. The bytes are the
/// host's: `data` is the host's handle to them
/// ([`Host::ChunkData`]), carried through the core and never read by it.
#[derive(Clone, Copy, Debug, Default)]
pub struct Chunk<D> {
    pub offset: u64,
    pub data: D,
    pub len: u64,
    pub last_chunk: bool,
}

#[derive(Clone, Copy, Debug, Default)]
pub struct SnapshotRequest<D> {
    pub term: Term,
    pub leader_id: NodeId,
    pub msg_id: MsgId,
    pub snapshot_index: Index,
    pub snapshot_term: Term,
    pub chunk: Chunk<D>,
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct SnapshotResponse {
    pub msg_id: MsgId,
    pub term: Term,
    pub offset: u64,
    pub success: bool,
    pub last_chunk: bool,
}

/// Everything the protocol needs from its environment. An operation that
/// can fail returns a [`Result`]: the core stops, or goes on, as the
/// protocol says, and passes the error back to its caller unchanged.
pub trait Host {
    type Entry: EntryHandle;
    type Log: Log<Self::Entry>;
    /// What the host needs to answer a read request later.
    type ReadCallback: Copy;
    /// The application's value for each node (`Node::data`); a node the
    /// core creates from a configuration entry starts with the default.
    type NodeData: Copy + Default;
    /// The host's handle to a snapshot chunk's bytes ([`Chunk`]).
    type ChunkData: Copy + Default;

    fn log(&self) -> &Self::Log;

    /// Hands a message to the network. A failure is a lost message (the
    /// protocol retries), also reported to the caller where it asked for
    /// the send itself.
    fn send_requestvote(&self, to: &Rc<Node<Self::NodeData>>, msg: &RequestVote) -> Result<()>;
    fn send_appendentries(&self, to: &Rc<Node<Self::NodeData>>, msg: &AppendEntries<'_, Self::Entry>) -> Result<()>;
    fn send_snapshot(&self, to: &Rc<Node<Self::NodeData>>, msg: &SnapshotRequest<Self::ChunkData>) -> Result<()>;
    fn send_timeoutnow(&self, to: &Rc<Node<Self::NodeData>>) -> Result<()>;
    /// Fills `chunk` with the snapshot's bytes from `offset` for `to`.
    fn get_snapshot_chunk(
        &self,
        to: &Rc<Node<Self::NodeData>>,
        offset: u64,
        chunk: &mut Chunk<Self::ChunkData>,
    ) -> Result<ChunkReply>;
    fn store_snapshot_chunk(&self, snapshot_index: Index, offset: u64, chunk: &Chunk<Self::ChunkData>) -> Result<()>;
    fn clear_snapshot(&self) -> Result<()>;
    fn load_snapshot(&self, term: Term, index: Index) -> Result<()>;
    fn applylog(&self, entry: &Self::Entry, idx: Index) -> Result<()>;
    /// `applylog` with what it needs fetched once, for a run of entries;
    /// good until the server's `host_changed`.
    fn applier(&self) -> impl Fn(&Self::Entry, Index) -> Result<()> + '_ {
        move |entry, idx| self.applylog(entry, idx)
    }
    /// Makes the term and vote durable; they are used only once it has.
    fn persist_metadata(&self, term: Term, vote: NodeId) -> Result<()>;
    /// `None` when the host cannot tell which node a config entry names.
    fn get_node_id(&self, entry: &Self::Entry, idx: Index) -> Option<NodeId>;
    /// Tells the host that a non-voting `node` has caught up. True when
    /// the host took note: the node is then not reported again.
    fn node_has_sufficient_logs(&self, node: &Rc<Node<Self::NodeData>>) -> bool;
    fn notify_membership_event(
        &self,
        node: &Rc<Node<Self::NodeData>>,
        entry: Option<&Self::Entry>,
        event: MembershipEvent,
    );
    fn notify_state_event(&self, role: Role);
    fn notify_transfer_event(&self, result: TransferResult);
    /// True when a `log` callback exists (formatting is skipped otherwise).
    fn has_logger(&self) -> bool;
    fn log_message(&self, node: NodeId, message: &str);
    /// True when the host wants no appendentries sent to `node` now.
    fn backpressure(&self, node: &Rc<Node<Self::NodeData>>) -> bool;
    /// Whether the host chooses the entries to send (`get_entries_to_send`).
    fn gives_entries_to_send(&self) -> bool;
    /// `None` when there is no such callback: the core reads the log itself.
    fn get_entries_to_send(&self, node: &Rc<Node<Self::NodeData>>, idx: Index, max: usize, out: &mut Vec<Self::Entry>)
        -> Option<usize>;
    /// Monotonic time in microseconds.
    fn now_us(&self) -> i64;
    /// A random number for the election timeout.
    fn random(&self) -> u32;
    /// Answers a read request.
    fn read_done(&self, cb: Self::ReadCallback, can_read: bool);
    /// Makes a new entry of `entry_type` with no data (the leader's no-op).
    fn new_entry(&self, entry_type: i32) -> Option<Self::Entry>;
    /// Obtains a block of `bytes` fallibly, then runs `make`, whose one
    /// allocation (of at most `bytes`) gets that block: `Rc::new` made
    /// fallible (see [`alloc::try_rc`]). False, with `make` not run, when
    /// the memory is not there. The default just runs `make`.
    fn reserved(&self, bytes: usize, make: &mut dyn FnMut()) -> bool {
        let _ = bytes;
        make();
        true
    }
}
