//! The C types of `raft.h`, laid out exactly as the contract header.
//!
//! cbindgen generates `include/raft.h` from this file. `raft_entry_t` (its
//! flexible array member) and the opaque handle typedefs are written by hand
//! in `cbindgen.toml`; the scalar typedefs come from `raft_types.h`.
#![allow(non_camel_case_types)]

use std::ffi::{c_char, c_int, c_long, c_longlong, c_short, c_uint, c_ulong, c_ulonglong, c_ushort, c_void};

pub type raft_entry_id_t = c_int;
pub type raft_term_t = c_long;
pub type raft_index_t = c_long;
pub type raft_size_t = c_ulonglong;
pub type raft_node_id_t = c_int;
pub type raft_msg_id_t = c_ulong;
pub type raft_time_t = c_longlong;

/// The opaque server handle (`raft_server_t`).
pub struct raft_server {
    _private: [u8; 0],
}
pub type raft_server_t = raft_server;

/// The opaque node handle (`raft_node_t`).
pub struct raft_node {
    _private: [u8; 0],
}
pub type raft_node_t = raft_node;

/// The built-in log's handle (`raft_log_t`), declared in `raft_compat.h`.
pub type raft_log_t = super::log_impl::raft_log;

/// Error codes. Functions return 0 on success and a negative value on
/// failure: one of these, -1 for a generic failure, or a non-zero code that a
/// callback returned (passed through unchanged). `raft_get_error_str` gives a
/// short text for each.
#[repr(C)]
pub enum raft_error_e {
    /// The call needs the leader (proposals, reads, transfers, answers to the
    /// leader's messages) and this server is not it.
    RAFT_ERR_NOT_LEADER = -2,
    /// A voting configuration change was proposed while another one is
    /// uncommitted, or before the new leader committed an entry of its term.
    RAFT_ERR_ONE_VOTING_CHANGE_ONLY = -3,
    /// The server must stop: `applylog` asked for it, a leader contradicted a
    /// committed entry, or the server is poisoned (an internal panic was caught;
    /// every later call returns this code).
    RAFT_ERR_SHUTDOWN = -4,
    /// An allocation failed. Kept for compatibility; callbacks may return it.
    RAFT_ERR_NOMEM = -5,
    /// A snapshot is already being taken.
    RAFT_ERR_SNAPSHOT_IN_PROGRESS = -6,
    /// The snapshot offered to `raft_begin_load_snapshot` is the one loaded.
    RAFT_ERR_SNAPSHOT_ALREADY_LOADED = -7,
    /// No suitable node has this id (leadership transfer).
    RAFT_ERR_INVALID_NODEID = -8,
    /// A leadership transfer is in progress; proposals wait until it ends.
    RAFT_ERR_LEADER_TRANSFER_IN_PROGRESS = -9,
    /// Returned by `get_snapshot_chunk` to pause sending a snapshot (the
    /// transfer resumes on the follower's next answer or heartbeat).
    RAFT_ERR_DONE = -10,
    /// A message of an older term. Not returned by this library (messages of
    /// older terms are answered, not refused); kept for compatibility.
    RAFT_ERR_STALE_TERM = -11,
    /// Unknown configuration option.
    RAFT_ERR_NOTFOUND = -12,
    /// Bad arguments (a NULL server or message, a negative count, ...) or a call
    /// at the wrong time (restoring a snapshot on a server that has started).
    RAFT_ERR_MISUSE = -13,
}

/// What `notify_membership_event` reports.
#[repr(C)]
#[derive(Clone, Copy)]
pub enum raft_membership_e {
    /// A node was added to this server's node list.
    RAFT_MEMBERSHIP_ADD,
    /// A node is being removed from this server's node list (its handle is valid
    /// during the callback only).
    RAFT_MEMBERSHIP_REMOVE,
}

/// The role of a server (`raft_get_state`, `notify_state_event`).
#[repr(C)]
#[derive(Clone, Copy)]
pub enum raft_state_e {
    /// Follows a leader, or waits for one.
    RAFT_STATE_FOLLOWER = 1,
    /// Asks whether a majority would vote for it (pre-vote), without changing
    /// its term.
    RAFT_STATE_PRECANDIDATE,
    /// Campaigns for votes in a new term.
    RAFT_STATE_CANDIDATE,
    /// Leads the cluster in its term.
    RAFT_STATE_LEADER,
}

/// Outcome of a leadership transfer (`notify_transfer_event`).
#[repr(C)]
#[derive(Clone, Copy)]
pub enum raft_leader_transfer_e {
    /// No new leader within the transfer's timeout; the transfer is abandoned.
    RAFT_LEADER_TRANSFER_TIMEOUT,
    /// Another node than the target became leader.
    RAFT_LEADER_TRANSFER_UNEXPECTED_LEADER,
    /// The target became leader.
    RAFT_LEADER_TRANSFER_EXPECTED_LEADER,
}

/// Options of `raft_config` (and `raft_config_set_value` /
/// `raft_config_get_value`); see `raft_config` for types and defaults.
#[repr(C)]
pub enum raft_config_e {
    /// Milliseconds without hearing from a leader before a follower starts an
    /// election; each server waits a random time between this and twice this.
    /// Default 1000.
    RAFT_CONFIG_ELECTION_TIMEOUT = 1,
    /// Milliseconds between a leader's heartbeats; half of it bounds the time one
    /// call spends applying entries. Default 200.
    RAFT_CONFIG_REQUEST_TIMEOUT,
    /// 1 (default): every `raft_recv_entry` syncs the leader's log and sends at
    /// once. 0: the application batches (`raft_get_index_to_sync`, `raft_flush`).
    RAFT_CONFIG_AUTO_FLUSH,
    /// 1: debug messages go to the `log` callback. Default 0 (nothing is even
    /// formatted).
    RAFT_CONFIG_LOG_ENABLED,
    /// 1: committed entries are applied while a snapshot is being taken (the
    /// application's snapshot must not be disturbed by them). Default 0.
    RAFT_CONFIG_NONBLOCKING_APPLY,
    /// 1: no entry is applied until it is set back to 0. Default 0.
    RAFT_CONFIG_DISABLE_APPLY,
}

/// The node id meaning "no node" (no vote, no leader known).
pub const RAFT_NODE_ID_NONE: raft_node_id_t = -1;

/// Entry types (`raft_entry_t.type`). The library interprets the
/// configuration changes and RAFT_LOGTYPE_NO_OP; every other value is
/// application data, handed to `applylog` like RAFT_LOGTYPE_NORMAL.
#[repr(C)]
pub enum raft_logtype_e {
    /// Application data for the state machine.
    RAFT_LOGTYPE_NORMAL,
    /// Configuration change: adds the node that `get_node_id` names as a
    /// non-voting member. It receives the log (to catch up) but does not vote.
    RAFT_LOGTYPE_ADD_NONVOTING_NODE,
    /// Configuration change: adds the node `get_node_id` names as a voter, or
    /// makes that non-voting node a voter.
    RAFT_LOGTYPE_ADD_NODE,
    /// Configuration change: removes the node `get_node_id` names.
    RAFT_LOGTYPE_REMOVE_NODE,
    /// Appended by every new leader at the start of its term, so that entries of
    /// earlier terms can commit. Carries no data; `applylog` sees it too.
    RAFT_LOGTYPE_NO_OP,
    /// Application-defined types may use values from here up (any value the
    /// library does not interpret is treated as application data).
    RAFT_LOGTYPE_NUM = 100,
}

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
    /// or its log already covers the snapshot)
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

/// Sends a vote request to a node (`send_requestvote`). Serialise `msg` and
/// send it to `node` (identify the peer with `raft_node_get_id` or the
/// node's user data); the answer is fed back with
/// `raft_recv_requestvote_response`. `msg` is valid during the call only.
/// @param raft the server
/// @param user_data the user data of `raft_set_callbacks`
/// @param node the destination
/// @param msg the request
/// @return 0 if the message was sent or queued; non-zero if not (a lost
/// message: the election goes on without it).
pub type raft_send_requestvote_f = Option<
    unsafe extern "C" fn(
        raft: *mut raft_server_t,
        user_data: *mut c_void,
        node: *mut raft_node_t,
        msg: *mut raft_requestvote_req_t,
    ) -> c_int,
>;
/// Sends an appendentries message to a node (`send_appendentries`): entries
/// to replicate, or none (a heartbeat). `msg`, its `entries` array and the
/// entries are valid during the call only: copy them out, or
/// `raft_entry_hold` each entry kept past the return (and release it after
/// delivery). The answer is fed back with `raft_recv_appendentries_response`.
/// @param raft the server
/// @param user_data the user data of `raft_set_callbacks`
/// @param node the destination
/// @param msg the message
/// @return 0 if sent or queued; non-zero if not: the entries are then not
/// counted as in flight and go out again later (heartbeats retry).
pub type raft_send_appendentries_f = Option<
    unsafe extern "C" fn(
        raft: *mut raft_server_t,
        user_data: *mut c_void,
        node: *mut raft_node_t,
        msg: *mut raft_appendentries_req_t,
    ) -> c_int,
>;
/// Sends one snapshot chunk to a node (`send_snapshot`); the answer is fed
/// back with `raft_recv_snapshot_response`. `msg` and `msg->chunk.data` are
/// valid during the call only.
/// @param raft the server
/// @param user_data the user data of `raft_set_callbacks`
/// @param node the destination
/// @param msg the message
/// @return 0 if sent or queued; non-zero if not (sending pauses; it resumes
/// on a later heartbeat or answer).
pub type raft_send_snapshot_f = Option<
    unsafe extern "C" fn(
        raft: *mut raft_server_t,
        user_data: *mut c_void,
        node: *mut raft_node_t,
        msg: *mut raft_snapshot_req_t,
    ) -> c_int,
>;
/// Loads the snapshot just received in full (`load_snapshot`), on a follower.
/// Call `raft_begin_load_snapshot(raft, snapshot_term, snapshot_index)`,
/// load the state machine from the received file, re-add the snapshot's
/// nodes, call `raft_end_load_snapshot`, and make the snapshot the one a
/// restart loads.
/// @param raft the server
/// @param user_data the user data of `raft_set_callbacks`
/// @param snapshot_term term of the snapshot's last entry
/// @param snapshot_index index of the snapshot's last entry
/// @return 0 when loaded; non-zero on failure: the leader is told to start
/// the transfer again (and `clear_snapshot` is called).
pub type raft_load_snapshot_f = Option<
    unsafe extern "C" fn(
        raft: *mut raft_server_t,
        user_data: *mut c_void,
        snapshot_term: raft_term_t,
        snapshot_index: raft_index_t,
    ) -> c_int,
>;
/// Provides a piece of the current snapshot for a node (`get_snapshot_chunk`),
/// on the leader. Fill in `chunk->data`, `chunk->len` and `chunk->last_chunk`
/// for the bytes from `offset`; the data must stay valid until the
/// `send_snapshot` call that follows has returned.
/// @param raft the server
/// @param user_data the user data of `raft_set_callbacks`
/// @param node the follower the chunk is for
/// @param offset byte offset of the piece wanted
/// @param chunk to fill in (`offset` is set by the library)
/// @return 0 with the chunk filled in; RAFT_ERR_DONE to pause (for example
/// too much in flight to that node); any other code is an error returned to
/// the caller.
pub type raft_get_snapshot_chunk_f = Option<
    unsafe extern "C" fn(
        raft: *mut raft_server_t,
        user_data: *mut c_void,
        node: *mut raft_node_t,
        offset: raft_size_t,
        chunk: *mut raft_snapshot_chunk_t,
    ) -> c_int,
>;
/// Stores a received snapshot piece (`store_snapshot_chunk`), on a follower,
/// typically by writing it at `offset` of a temporary file. Pieces arrive in
/// order; a piece at offset 0 starts a new snapshot.
/// @param raft the server
/// @param user_data the user data of `raft_set_callbacks`
/// @param snapshot_index index of the snapshot's last entry (identifies the
/// snapshot)
/// @param offset byte offset of the piece
/// @param chunk the piece (its data as the transport delivered it)
/// @return 0 when stored; non-zero fails `raft_recv_snapshot` with that code.
pub type raft_store_snapshot_chunk_f = Option<
    unsafe extern "C" fn(
        raft: *mut raft_server_t,
        user_data: *mut c_void,
        snapshot_index: raft_index_t,
        offset: raft_size_t,
        chunk: *mut raft_snapshot_chunk_t,
    ) -> c_int,
>;
/// Discards a partly received snapshot (`clear_snapshot`): another snapshot
/// starts, or loading failed. The return value is ignored.
/// @param raft the server
/// @param user_data the user data of `raft_set_callbacks`
pub type raft_clear_snapshot_f =
    Option<unsafe extern "C" fn(raft: *mut raft_server_t, user_data: *mut c_void) -> c_int>;
/// Reports, on the leader, that a non-voting node holds the whole log
/// (`node_has_sufficient_logs`): time to propose a RAFT_LOGTYPE_ADD_NODE
/// entry making it a voter. Asked when the node catches up and no voting
/// change is in progress.
/// @param raft the server
/// @param user_data the user data of `raft_set_callbacks`
/// @param node the caught-up node
/// @return 0 to mark the node as having sufficient logs (it is not asked
/// about again); non-zero to be asked again on its next answer.
pub type raft_node_has_sufficient_logs_f =
    Option<unsafe extern "C" fn(raft: *mut raft_server_t, user_data: *mut c_void, node: *mut raft_node_t) -> c_int>;
/// Receives a debug message (`log`), only while RAFT_CONFIG_LOG_ENABLED is
/// set.
/// @param raft the server
/// @param node_id the node the message is about, or RAFT_NODE_ID_NONE
/// @param user_data the user data of `raft_set_callbacks`
/// @param buf the message, NUL-terminated, without a newline; valid during
/// the call only
pub type raft_log_f = Option<
    unsafe extern "C" fn(raft: *mut raft_server_t, node_id: raft_node_id_t, user_data: *mut c_void, buf: *const c_char),
>;
/// Persists the term and vote (`persist_metadata`). Write both durably,
/// atomically, before returning: the library sends nothing that depends on
/// them until this returns 0. On restart, `raft_restore_metadata` gives them
/// back.
/// @param raft the server
/// @param user_data the user data of `raft_set_callbacks`
/// @param term the current term
/// @param vote the node voted for in that term, or RAFT_NODE_ID_NONE
/// @return 0 when durable; non-zero fails the operation that needed it
/// (nothing changes) and the code is returned to its caller.
pub type raft_persist_metadata_f = Option<
    unsafe extern "C" fn(
        raft: *mut raft_server_t,
        user_data: *mut c_void,
        term: raft_term_t,
        vote: raft_node_id_t,
    ) -> c_int,
>;
/// Callback about one entry: `applylog` of `raft_cbs_t`, and the log
/// observers of `raft_log_cbs_t`.
/// @param raft the server
/// @param user_data the user data of `raft_set_callbacks` (see
/// `raft_log_cbs_t` for the observers)
/// @param entry the entry, valid during the call (hold it to keep it)
/// @param entry_idx its index in the log
/// @return 0 to go on; see each use for non-zero.
pub type raft_logentry_event_f = Option<
    unsafe extern "C" fn(
        raft: *mut raft_server_t,
        user_data: *mut c_void,
        entry: *mut raft_entry_t,
        entry_idx: raft_index_t,
    ) -> c_int,
>;
/// Tells which node a configuration change entry names (`get_node_id`). The
/// entry's data is the application's (for example the id and address it put
/// there when proposing the change). Called when such an entry is appended,
/// popped or applied.
/// @param raft the server
/// @param user_data the user data of `raft_set_callbacks`
/// @param entry a RAFT_LOGTYPE_ADD_NONVOTING_NODE, RAFT_LOGTYPE_ADD_NODE or
/// RAFT_LOGTYPE_REMOVE_NODE entry
/// @param entry_idx its index
/// @return the node id.
pub type raft_get_node_id_f = Option<
    unsafe extern "C" fn(
        raft: *mut raft_server_t,
        user_data: *mut c_void,
        entry: *mut raft_entry_t,
        entry_idx: raft_index_t,
    ) -> raft_node_id_t,
>;
/// Reports a change of this server's node list (`notify_membership_event`):
/// a node added (by `raft_add_node`, `raft_add_non_voting_node` or a
/// configuration entry) or removed. Use it to attach a connection to new
/// nodes (`raft_node_set_udata`) and close those of removed ones.
/// @param raft the server
/// @param user_data the user data of `raft_set_callbacks`
/// @param node the node; for a removal, valid during the call only
/// @param entry the configuration entry that caused it, or NULL when the
/// application called `raft_add_node` / `raft_remove_node` itself
/// @param type_ RAFT_MEMBERSHIP_ADD or RAFT_MEMBERSHIP_REMOVE
pub type raft_membership_event_f = Option<
    unsafe extern "C" fn(
        raft: *mut raft_server_t,
        user_data: *mut c_void,
        node: *mut raft_node_t,
        entry: *mut raft_entry_t,
        type_: raft_membership_e,
    ),
>;
/// Reports a role change (`notify_state_event`).
/// @param raft the server
/// @param user_data the user data of `raft_set_callbacks`
/// @param state the new role
pub type raft_state_event_f =
    Option<unsafe extern "C" fn(raft: *mut raft_server_t, user_data: *mut c_void, state: raft_state_e)>;
/// Reports how a leadership transfer ended (`notify_transfer_event`).
/// @param raft the server
/// @param user_data the user data of `raft_set_callbacks`
/// @param result the outcome
pub type raft_transfer_event_f =
    Option<unsafe extern "C" fn(raft: *mut raft_server_t, user_data: *mut c_void, result: raft_leader_transfer_e)>;
/// Sends a "timeout now" message to a node (`send_timeoutnow`), the last step
/// of a leadership transfer: the receiver calls `raft_timeout_now`.
/// @param raft the server
/// @param user_data the user data of `raft_set_callbacks`
/// @param node the transfer's target
/// @return 0 if sent; non-zero if not (it is sent again on the target's
/// next answer).
pub type raft_send_timeoutnow_f =
    Option<unsafe extern "C" fn(raft: *mut raft_server_t, user_data: *mut c_void, node: *mut raft_node_t) -> c_int>;
/// Asks whether to hold back messages to a node (`backpressure`), before
/// each appendentries (heartbeats included) the leader would send it.
/// @param raft the server
/// @param user_data the user data of `raft_set_callbacks`
/// @param node the destination
/// @return non-zero to send nothing to that node now (sending resumes at a
/// later heartbeat or answer); 0 to send.
pub type raft_backpressure_f =
    Option<unsafe extern "C" fn(raft: *mut raft_server_t, user_data: *mut c_void, node: *mut raft_node_t) -> c_int>;
/// Chooses the entries of an appendentries message (`get_entries_to_send`),
/// for example to bound a message's size in bytes.
/// @param raft the server
/// @param user_data the user data of `raft_set_callbacks`
/// @param node the destination
/// @param idx index of the first entry to send
/// @param entries_n the most entries the message may carry
/// @param entries array of `entries_n` slots: fill the first ones with the
/// entries from `idx` on, each with a reference for the library (for example
/// from `raft_get_entry_from_idx`); the library releases them
/// @return the number of entries filled in (0 to send none now); anything
/// after a NULL slot is released and not sent.
pub type raft_get_entries_to_send_f = Option<
    unsafe extern "C" fn(
        raft: *mut raft_server_t,
        user_data: *mut c_void,
        node: *mut raft_node_t,
        idx: raft_index_t,
        entries_n: raft_index_t,
        entries: *mut *mut raft_entry_t,
    ) -> raft_index_t,
>;
/// Reads the clock (`timestamp`).
/// @param raft the server
/// @param user_data the user data of `raft_set_callbacks`
/// @return monotonic time in microseconds (any origin; it must not go back).
pub type raft_timestamp_f =
    Option<unsafe extern "C" fn(raft: *mut raft_server_t, user_data: *mut c_void) -> raft_time_t>;

/// The application's callbacks, given to `raft_set_callbacks` (which copies
/// the table). Callbacks run on the thread that called into the library and
/// may call any `raft_*` function on the same server except `raft_destroy`.
/// A working cluster needs at least `send_requestvote`, `send_appendentries`
/// and `persist_metadata`, and `applylog` to see the committed entries;
/// membership changes need `get_node_id`; snapshots need `send_snapshot` and
/// `get_snapshot_chunk` on the leader and `store_snapshot_chunk` and
/// `load_snapshot` on followers; leadership transfer needs `send_timeoutnow`.
///
/// No callback is required (as in the original library, whose users' test
/// suites set few or none); each missing one has a fixed meaning, never a
/// jump to NULL:
/// - `send_requestvote`, `send_appendentries`, `send_snapshot`,
///   `send_timeoutnow`: the message is not sent (as if lost), so only a
///   single-voter cluster makes progress without them.
/// - `persist_metadata`: term and vote are kept in memory only. A server
///   that restarts from disk needs it, or it may vote twice in one term.
/// - `applylog`: committed entries count as applied, with no state machine.
/// - `get_node_id`: configuration change entries name no node and change
///   nothing.
/// - `get_snapshot_chunk`: snapshots are not sent; a follower that needs
///   compacted entries waits. `store_snapshot_chunk`, `clear_snapshot`:
///   chunks are accepted and not kept. `load_snapshot`: a received snapshot
///   cannot be loaded (the leader is told to start it over).
/// - `node_has_sufficient_logs`, `notify_membership_event`,
///   `notify_state_event`, `notify_transfer_event`, `log`, `backpressure`:
///   nothing is asked or told; `get_entries_to_send`: entries are read from
///   the log; `timestamp`: the monotonic clock is read.
#[repr(C)]
#[derive(Clone, Copy, Default)]
pub struct raft_cbs_t {
    /// Sends a vote request. Needed with more than one voter; without it vote
    /// requests are dropped (and no election can succeed).
    pub send_requestvote: raft_send_requestvote_f,
    /// Sends an appendentries message. Needed with more than one node; without
    /// it messages are dropped.
    pub send_appendentries: raft_send_appendentries_f,
    /// Sends a snapshot chunk (leader). Without it (or without
    /// `get_snapshot_chunk`) no snapshot is sent, and a follower that needs
    /// compacted entries stays behind.
    pub send_snapshot: raft_send_snapshot_f,
    /// Loads a fully received snapshot (follower). Without it every received
    /// snapshot fails to load and the leader keeps starting over.
    pub load_snapshot: raft_load_snapshot_f,
    /// Provides snapshot pieces (leader); see `send_snapshot`.
    pub get_snapshot_chunk: raft_get_snapshot_chunk_f,
    /// Stores a received snapshot piece (follower). Without it pieces are
    /// accepted and discarded.
    pub store_snapshot_chunk: raft_store_snapshot_chunk_f,
    /// Discards a partly received snapshot (follower). Optional.
    pub clear_snapshot: raft_clear_snapshot_f,
    /// Applies a committed entry to the state machine, in log order, once each
    /// (RAFT_LOGTYPE_NO_OP and configuration entries included: check `type`).
    /// Return 0; any other code stops applying (the entry is not counted as
    /// applied and will be handed over again) and is returned by the call that
    /// was applying; return RAFT_ERR_SHUTDOWN to ask the program to stop.
    /// Without it entries are counted as applied and dropped.
    pub applylog: raft_logentry_event_f,
    /// Persists term and vote before they are used. Without it nothing is
    /// persisted, and a restarted server may vote twice in a term: required for
    /// safety in a real cluster.
    pub persist_metadata: raft_persist_metadata_f,
    /// Names the node of a configuration entry. Without it configuration entries
    /// change nothing.
    pub get_node_id: raft_get_node_id_f,
    /// Reports a caught-up non-voting node (leader). Optional.
    pub node_has_sufficient_logs: raft_node_has_sufficient_logs_f,
    /// Reports nodes added to and removed from the node list. Optional.
    pub notify_membership_event: raft_membership_event_f,
    /// Reports role changes. Optional.
    pub notify_state_event: raft_state_event_f,
    /// Reports the end of a leadership transfer. Optional.
    pub notify_transfer_event: raft_transfer_event_f,
    /// Receives debug messages while RAFT_CONFIG_LOG_ENABLED is set. Optional.
    pub log: raft_log_f,
    /// Sends "timeout now" to a transfer's target. Without it a leadership
    /// transfer can only time out.
    pub send_timeoutnow: raft_send_timeoutnow_f,
    /// Holds back messages to a busy node. Optional: without it the leader sends
    /// whenever it has something to send.
    pub backpressure: raft_backpressure_f,
    /// Chooses the entries of each appendentries message. Optional: without it
    /// the leader sends up to a fixed number of entries from its log.
    pub get_entries_to_send: raft_get_entries_to_send_f,
    /// Reads a monotonic clock in microseconds. Optional: without it the library
    /// reads the system's monotonic clock. Simulations supply their own.
    pub timestamp: raft_timestamp_f,
}

/// Called by a log's `pop` for each entry it removes, newest first, while the
/// entry is still alive; the library undoes configuration changes this way.
/// @param arg the `cb_arg` that `pop` received
/// @param entry the removed entry
/// @param entry_idx its index
pub type raft_entry_notify_f =
    Option<unsafe extern "C" fn(arg: *mut c_void, entry: *mut raft_entry_t, entry_idx: raft_index_t)>;

/// Answer to `raft_recv_read_request`.
/// @param arg the `cb_arg` given with the request
/// @param can_read 1: the read may be served from the local state machine
/// now; 0: leadership was lost, retry on the new leader
pub type raft_read_request_callback_f = Option<unsafe extern "C" fn(arg: *mut c_void, can_read: c_int)>;

/// A log implementation for `raft_new_with_log`: the server stores its
/// entries through these functions (the built-in one is
/// `raft_log_internal_impl`). `log` is the handle `init` returned. Indexes
/// start at 1; after compaction or a snapshot, the log holds the entries
/// from `first_idx` to `current_idx`. Entries are reference counted: take a
/// reference (`raft_entry_hold`) on each entry kept and release it when it is
/// removed; entries returned by `get` and `get_batch` carry a reference for
/// the caller. Members that may be NULL are noted; for the others a NULL
/// member makes the operation fail with -1.
#[repr(C)]
#[derive(Clone, Copy)]
pub struct raft_log_impl {
    /// Creates the log (required). Called once by `raft_new_with_log` with the
    /// server and its `log_arg`; returns the handle, or NULL to fail. Entries
    /// the log already holds (a restart) are the server's log from then on;
    /// configuration entries among them are not replayed (add the nodes of the
    /// configuration by hand, or replay the entries into an empty log with
    /// `raft_append_entry`).
    pub init: Option<unsafe extern "C" fn(raft: *mut c_void, arg: *mut c_void) -> *mut c_void>,
    /// Frees the log and releases its entries; called by `raft_destroy`. May be
    /// NULL.
    pub free: Option<unsafe extern "C" fn(log: *mut c_void)>,
    /// Drops every entry: the next append gets index `first_idx`, and `term` is
    /// the term of the entry before it (a snapshot's last entry). May be NULL
    /// only for a log that is never reset (`raft_clear` and loading a snapshot
    /// reset it).
    pub reset: Option<unsafe extern "C" fn(log: *mut c_void, first_idx: raft_index_t, term: raft_term_t)>,
    /// Appends one entry at index `current_idx + 1` and takes a reference on it.
    /// Returns 0, or a non-zero code that fails the operation appending (the
    /// code is returned to the caller).
    pub append: Option<unsafe extern "C" fn(log: *mut c_void, entry: *mut raft_entry_t) -> c_int>,
    /// Removes every entry before `first_idx`, oldest first (compaction after a
    /// snapshot) and releases them. Returns 0 or an error code.
    pub poll: Option<unsafe extern "C" fn(log: *mut c_void, first_idx: raft_index_t) -> c_int>,
    /// Removes the entry at `from_idx` and every later one, newest first. For
    /// each removed entry, call `cb(cb_arg, entry, idx)` before releasing it.
    /// Returns 0 or an error code.
    pub pop: Option<
        unsafe extern "C" fn(
            log: *mut c_void,
            from_idx: raft_index_t,
            cb: raft_entry_notify_f,
            cb_arg: *mut c_void,
        ) -> c_int,
    >,
    /// Returns the entry at `idx` with a reference for the caller, or NULL if
    /// the log does not hold it.
    pub get: Option<unsafe extern "C" fn(log: *mut c_void, idx: raft_index_t) -> *mut raft_entry_t>,
    /// Fills `entries` with up to `entries_n` consecutive entries from `idx`,
    /// each with a reference for the caller, and returns how many. May be NULL:
    /// `get` is then called for each entry.
    pub get_batch: Option<
        unsafe extern "C" fn(
            log: *mut c_void,
            idx: raft_index_t,
            entries_n: raft_index_t,
            entries: *mut *mut raft_entry_t,
        ) -> raft_index_t,
    >,
    /// Index of the oldest entry held (the index the next append gets when the
    /// log is empty). May be NULL (then 1).
    pub first_idx: Option<unsafe extern "C" fn(log: *mut c_void) -> raft_index_t>,
    /// Index of the newest entry (`first_idx - 1` when empty). May be NULL
    /// (then 0).
    pub current_idx: Option<unsafe extern "C" fn(log: *mut c_void) -> raft_index_t>,
    /// Number of entries held. May be NULL (then 0).
    pub count: Option<unsafe extern "C" fn(log: *mut c_void) -> raft_index_t>,
    /// Makes every appended entry durable before returning 0 (non-zero fails the
    /// call that needed it). Called by a leader with auto flush on and by a
    /// follower before it acknowledges entries. May be NULL for a log whose
    /// appends are durable at once.
    pub sync: Option<unsafe extern "C" fn(log: *mut c_void) -> c_int>,
}
/// A log implementation (see `struct raft_log_impl`).
pub type raft_log_impl_t = raft_log_impl;

/// Observers of the built-in log (`raft_log_set_callbacks` in
/// raft_compat.h). Each gets the `raft` pointer given to
/// `raft_log_set_callbacks` and, when that is the server owning the log, the
/// server's callback user data (NULL otherwise), the entry and its index.
/// Every member may be NULL.
#[repr(C)]
#[derive(Clone, Copy, Default)]
pub struct raft_log_cbs_t {
    /// Called before an entry is appended, with the index it will get: for
    /// proposals on the leader (and its no-op entries), for entries received from
    /// the leader, and for entries a restarting program replays with
    /// `raft_append_entry`. Non-zero refuses the append, and the code is returned
    /// by the call appending.
    pub log_offer: raft_logentry_event_f,
    /// Called before the oldest entry is removed by compaction, oldest first.
    /// Non-zero stops the compaction, and the code is returned.
    pub log_poll: raft_logentry_event_f,
    /// Called before an entry is removed from the end of the log (a conflicting
    /// suffix, `raft_pop_entry`), newest first. Non-zero stops the removal, and
    /// the code is returned.
    pub log_pop: raft_logentry_event_f,
    /// Called for each entry, oldest first, when the log is emptied at once
    /// (`raft_clear`, loading a snapshot, destroying the server). The return
    /// value is ignored.
    pub log_clear: raft_logentry_event_f,
}

// The contract's layout (x86_64 and other LP64 targets), checked at compile
// time; `abi-check` holds the generated header to the same facts.
const _: () = {
    use std::mem::{align_of, offset_of, size_of};
    assert!(size_of::<raft_entry_t>() == 40 && align_of::<raft_entry_t>() == 8);
    assert!(offset_of!(raft_entry_t, id) == 8);
    assert!(offset_of!(raft_entry_t, type_) == 12);
    assert!(offset_of!(raft_entry_t, refs) == 14);
    assert!(offset_of!(raft_entry_t, user_data) == 16);
    assert!(offset_of!(raft_entry_t, free_func) == 24);
    assert!(offset_of!(raft_entry_t, data_len) == 32);
    assert!(offset_of!(raft_entry_t, data) == 36);
    assert!(size_of::<raft_entry_resp_t>() == 24);
    assert!(size_of::<raft_snapshot_chunk_t>() == 32);
    assert!(size_of::<raft_requestvote_req_t>() == 40);
    assert!(size_of::<raft_requestvote_resp_t>() == 32);
    assert!(size_of::<raft_snapshot_req_t>() == 72);
    assert!(offset_of!(raft_snapshot_req_t, chunk) == 40);
    assert!(size_of::<raft_snapshot_resp_t>() == 32);
    assert!(size_of::<raft_appendentries_req_t>() == 64);
    assert!(offset_of!(raft_appendentries_req_t, entries) == 56);
    assert!(size_of::<raft_appendentries_resp_t>() == 32);
    assert!(size_of::<raft_cbs_t>() == 19 * 8);
    assert!(size_of::<raft_log_impl_t>() == 12 * 8);
    assert!(size_of::<raft_log_cbs_t>() == 4 * 8);
    assert!(size_of::<raft_membership_e>() == 4 && size_of::<raft_state_e>() == 4);
};
