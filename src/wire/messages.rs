//! The frame and its message bodies, their sizes, and the codec's errors.

use thiserror::Error;

/// The version this code writes and the only one it reads.
pub const WIRE_VERSION: u8 = 1;
/// Bytes of the frame header, the length field included.
pub const HEADER_LEN: usize = 16;
/// Largest frame (length field included) a decoder accepts by default.
pub const MAX_FRAME: usize = 64 << 20;
/// Bytes of an entry's fixed part (term, id, type, data length).
pub const ENTRY_FIXED_LEN: usize = 18;

/// Why a frame could not be encoded or decoded.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Error)]
pub enum WireError {
    /// The input ends before the frame does; `need` is the whole frame's
    /// size when the header was readable, else the header's.
    #[error("truncated frame: {need} bytes needed")]
    Truncated { need: usize },
    /// The output buffer is too small; `need` bytes are required.
    #[error("buffer too small: {need} bytes needed")]
    ShortBuffer { need: usize },
    /// The frame was written by another version of the format.
    #[error("unsupported wire version {0}")]
    Version(u8),
    /// The frame's length is above the limit.
    #[error("frame of {0} bytes is over the limit")]
    TooLarge(usize),
    /// The bytes do not form a valid frame (unknown type, bad length,
    /// a flag that is not 0 or 1, a negative term or index, trailing bytes).
    #[error("malformed frame: {0}")]
    Malformed(&'static str),
    /// The decoded message's list of entries could not be allocated.
    #[error("out of memory")]
    NoMem,
}

/// Message types; the values are the frame's type byte.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u8)]
pub enum MsgType {
    RequestVote = 1,
    RequestVoteResponse = 2,
    AppendEntries = 3,
    AppendEntriesResponse = 4,
    Snapshot = 5,
    SnapshotResponse = 6,
    TimeoutNow = 7,
}

impl TryFrom<u8> for MsgType {
    type Error = WireError;
    fn try_from(v: u8) -> Result<Self, WireError> {
        Ok(match v {
            1 => MsgType::RequestVote,
            2 => MsgType::RequestVoteResponse,
            3 => MsgType::AppendEntries,
            4 => MsgType::AppendEntriesResponse,
            5 => MsgType::Snapshot,
            6 => MsgType::SnapshotResponse,
            7 => MsgType::TimeoutNow,
            _ => return Err(WireError::Malformed("unknown message type")),
        })
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct RequestVote {
    pub prevote: bool,
    pub term: i64,
    pub candidate_id: i32,
    pub last_log_idx: i64,
    pub last_log_term: i64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct RequestVoteResponse {
    pub prevote: bool,
    pub request_term: i64,
    pub term: i64,
    pub vote_granted: bool,
}

/// One log entry, its data borrowed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Entry<'a> {
    pub term: i64,
    pub id: i32,
    pub entry_type: i16,
    pub data: &'a [u8],
}

#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct AppendEntries<'a> {
    pub leader_id: i32,
    pub msg_id: u64,
    pub term: i64,
    pub prev_log_idx: i64,
    pub prev_log_term: i64,
    pub leader_commit: i64,
    pub entries: Vec<Entry<'a>>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct AppendEntriesResponse {
    pub msg_id: u64,
    pub term: i64,
    pub success: bool,
    pub current_idx: i64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Snapshot<'a> {
    pub term: i64,
    pub leader_id: i32,
    pub msg_id: u64,
    pub snapshot_index: i64,
    pub snapshot_term: i64,
    pub offset: u64,
    pub last_chunk: bool,
    pub data: &'a [u8],
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct SnapshotResponse {
    pub msg_id: u64,
    pub term: i64,
    pub offset: u64,
    pub success: bool,
    pub last_chunk: bool,
}

/// A message's body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Body<'a> {
    RequestVote(RequestVote),
    RequestVoteResponse(RequestVoteResponse),
    AppendEntries(AppendEntries<'a>),
    AppendEntriesResponse(AppendEntriesResponse),
    Snapshot(Snapshot<'a>),
    SnapshotResponse(SnapshotResponse),
    TimeoutNow,
}

impl Body<'_> {
    pub fn msg_type(&self) -> MsgType {
        match self {
            Body::RequestVote(_) => MsgType::RequestVote,
            Body::RequestVoteResponse(_) => MsgType::RequestVoteResponse,
            Body::AppendEntries(_) => MsgType::AppendEntries,
            Body::AppendEntriesResponse(_) => MsgType::AppendEntriesResponse,
            Body::Snapshot(_) => MsgType::Snapshot,
            Body::SnapshotResponse(_) => MsgType::SnapshotResponse,
            Body::TimeoutNow => MsgType::TimeoutNow,
        }
    }

    /// Bytes of the body alone.
    pub fn body_len(&self) -> usize {
        match self {
            Body::RequestVote(_) => 29,
            Body::RequestVoteResponse(_) => 18,
            Body::AppendEntries(ae) => {
                48 + ae.entries.iter().map(|e| ENTRY_FIXED_LEN + e.data.len()).sum::<usize>()
            }
            Body::AppendEntriesResponse(_) => 25,
            Body::Snapshot(s) => 49 + s.data.len(),
            Body::SnapshotResponse(_) => 26,
            Body::TimeoutNow => 0,
        }
    }
}

/// A whole frame: who sent it, to whom, and what.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Frame<'a> {
    pub from: i32,
    pub to: i32,
    pub body: Body<'a>,
}

impl Frame<'_> {
    /// Bytes of the encoded frame, header included.
    pub fn encoded_len(&self) -> usize {
        HEADER_LEN + self.body.body_len()
    }
}

