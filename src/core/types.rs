//! The vocabulary: ids, terms and indexes and their ranges, entry types,
//! roles, events and errors.

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
