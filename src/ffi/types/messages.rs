//! Entries, the answer to a proposal, snapshot chunks and the four
//! messages with their responses.
#![allow(non_camel_case_types)]

use std::ffi::{c_char, c_int, c_short, c_uint, c_ushort, c_void};

use super::*;

/// An entry of the log (`raft_entry_t`), one heap block with its data.
/// Declared by hand in the header, where `data` is a flexible array member.
#[repr(C)]
pub struct raft_entry {
    pub term: raft_term_t,
    pub id: raft_entry_id_t,
    pub type_: c_short,
    pub refs: c_ushort,
    pub user_data: *mut c_void,
    pub free_func: Option<unsafe extern "C" fn(entry: *mut raft_entry)>,
    pub data_len: c_uint,
    pub data: [c_char; 0],
}
pub type raft_entry_t = raft_entry;
/// A client's entry (`raft_entry_req_t`), the same type as `raft_entry_t`.
pub type raft_entry_req_t = raft_entry_t;

/// What `raft_recv_entry` reports about a proposed entry; pass it to
/// `raft_msg_entry_response_committed` later.
#[repr(C)]
#[derive(Clone, Copy, Default)]
pub struct raft_entry_resp_t {
    /// the entry's `id`, as the caller set it
    pub id: raft_entry_id_t,
    /// the term the entry was appended in
    pub term: raft_term_t,
    /// the index the entry got in the log
    pub idx: raft_index_t,
}

/// One piece of a snapshot in transit.
#[repr(C)]
#[derive(Clone, Copy)]
pub struct raft_snapshot_chunk_t {
    /// byte offset of this piece within the snapshot
    pub offset: raft_size_t,
    /// the bytes: filled in by `get_snapshot_chunk` on the leader (the library
    /// only passes the pointer on, it never reads it), received by the follower's
    /// transport
    pub data: *mut c_void,
    /// number of bytes at `data`
    pub len: raft_size_t,
    /// 1 if this piece ends the snapshot
    pub last_chunk: c_int,
}

/// Vote request, sent through `send_requestvote` and handled by
/// `raft_recv_requestvote`.
#[repr(C)]
#[derive(Clone, Copy, Default)]
pub struct raft_requestvote_req_t {
    /// 1 for a pre-vote (would you vote for me?), 0 for a real vote
    pub prevote: c_int,
    /// the term the candidate campaigns in (for a pre-vote: its term + 1)
    pub term: raft_term_t,
    /// the candidate's node id
    pub candidate_id: raft_node_id_t,
    /// index of the candidate's newest entry
    pub last_log_idx: raft_index_t,
    /// term of the candidate's newest entry
    pub last_log_term: raft_term_t,
}

/// Answer to a vote request, filled in by `raft_recv_requestvote` and
/// handled by `raft_recv_requestvote_response`.
#[repr(C)]
#[derive(Clone, Copy, Default)]
pub struct raft_requestvote_resp_t {
    /// copied from the request
    pub prevote: c_int,
    /// the request's term, so the candidate can match the answer to its election
    pub request_term: raft_term_t,
    /// the voter's current term
    pub term: raft_term_t,
    /// 1 if the vote is granted, 0 if not
    pub vote_granted: c_int,
}

/// Snapshot chunk message, sent through `send_snapshot` and handled by
/// `raft_recv_snapshot`.
#[repr(C)]
#[derive(Clone, Copy)]
pub struct raft_snapshot_req_t {
    /// the leader's term
    pub term: raft_term_t,
    /// the leader's node id
    pub leader_id: raft_node_id_t,
    /// the message's id, echoed in the answer
    pub msg_id: raft_msg_id_t,
    /// index of the snapshot's last entry
    pub snapshot_index: raft_index_t,
    /// term of the snapshot's last entry
    pub snapshot_term: raft_term_t,
    /// the piece carried by this message
    pub chunk: raft_snapshot_chunk_t,
}

/// Answer to a snapshot chunk, filled in by `raft_recv_snapshot` and handled
/// by `raft_recv_snapshot_response`.
#[repr(C)]
#[derive(Clone, Copy, Default)]
pub struct raft_snapshot_resp_t {
    /// the request's `msg_id`
    pub msg_id: raft_msg_id_t,
    /// the follower's current term
    pub term: raft_term_t,
    /// the offset the follower expects next (0 after a failed load: start over)
    pub offset: raft_size_t,
    /// 1 if the chunk was stored (and, for the last one, the snapshot loaded)
    pub success: c_int,
    /// 1 if the follower is done with this snapshot (it answered the last chunk,
    /// or it already has this snapshot or a newer one)
    pub last_chunk: c_int,
}

/// Appendentries message: entries to append, or none (a heartbeat). Sent
/// through `send_appendentries`, handled by `raft_recv_appendentries`.
#[repr(C)]
#[derive(Clone, Copy)]
pub struct raft_appendentries_req_t {
    /// the leader's node id (the follower takes the sender from here)
    pub leader_id: raft_node_id_t,
    /// the message's id, increasing per leader, echoed in the answer
    pub msg_id: raft_msg_id_t,
    /// the leader's term
    pub term: raft_term_t,
    /// index of the entry just before `entries` (the follower must hold it)
    pub prev_log_idx: raft_index_t,
    /// term of the entry at `prev_log_idx`
    pub prev_log_term: raft_term_t,
    /// the leader's commit index
    pub leader_commit: raft_index_t,
    /// number of entries in `entries` (0 for a heartbeat)
    pub n_entries: raft_index_t,
    /// the entries, oldest first (NULL when there are none). When sending, they
    /// are lent for the callback: hold (`raft_entry_hold`) those kept longer.
    /// When receiving, they stay the caller's.
    pub entries: *mut *mut raft_entry_req_t,
}

/// Answer to an appendentries message, filled in by
/// `raft_recv_appendentries` and handled by
/// `raft_recv_appendentries_response`.
#[repr(C)]
#[derive(Clone, Copy, Default)]
pub struct raft_appendentries_resp_t {
    /// the request's `msg_id`
    pub msg_id: raft_msg_id_t,
    /// the follower's current term
    pub term: raft_term_t,
    /// 1 if the follower's log matched at `prev_log_idx` and now holds the
    /// entries (durably)
    pub success: c_int,
    /// on success, the index of the last entry the message covered; on failure,
    /// the follower's newest index, from which the leader resumes
    pub current_idx: raft_index_t,
}
