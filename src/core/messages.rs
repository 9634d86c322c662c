//! The protocol's messages and the answers the core gives.

use super::{Index, MsgId, NodeId, Term};

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
