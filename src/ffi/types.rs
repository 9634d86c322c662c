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

/// Error codes returned by the library.
#[repr(C)]
pub enum raft_error_e {
    RAFT_ERR_NOT_LEADER = -2,
    RAFT_ERR_ONE_VOTING_CHANGE_ONLY = -3,
    RAFT_ERR_SHUTDOWN = -4,
    RAFT_ERR_NOMEM = -5,
    RAFT_ERR_SNAPSHOT_IN_PROGRESS = -6,
    RAFT_ERR_SNAPSHOT_ALREADY_LOADED = -7,
    RAFT_ERR_INVALID_NODEID = -8,
    RAFT_ERR_LEADER_TRANSFER_IN_PROGRESS = -9,
    RAFT_ERR_DONE = -10,
    RAFT_ERR_STALE_TERM = -11,
    RAFT_ERR_NOTFOUND = -12,
    RAFT_ERR_MISUSE = -13,
}

#[repr(C)]
#[derive(Clone, Copy)]
pub enum raft_membership_e {
    RAFT_MEMBERSHIP_ADD,
    RAFT_MEMBERSHIP_REMOVE,
}

#[repr(C)]
#[derive(Clone, Copy)]
pub enum raft_state_e {
    RAFT_STATE_FOLLOWER = 1,
    RAFT_STATE_PRECANDIDATE,
    RAFT_STATE_CANDIDATE,
    RAFT_STATE_LEADER,
}

#[repr(C)]
#[derive(Clone, Copy)]
pub enum raft_leader_transfer_e {
    RAFT_LEADER_TRANSFER_TIMEOUT,
    RAFT_LEADER_TRANSFER_UNEXPECTED_LEADER,
    RAFT_LEADER_TRANSFER_EXPECTED_LEADER,
}

/// Options of `raft_config`.
#[repr(C)]
pub enum raft_config_e {
    RAFT_CONFIG_ELECTION_TIMEOUT = 1,
    RAFT_CONFIG_REQUEST_TIMEOUT,
    RAFT_CONFIG_AUTO_FLUSH,
    RAFT_CONFIG_LOG_ENABLED,
    RAFT_CONFIG_NONBLOCKING_APPLY,
    RAFT_CONFIG_DISABLE_APPLY,
}

/// The node id meaning "no node".
pub const RAFT_NODE_ID_NONE: raft_node_id_t = -1;

#[repr(C)]
pub enum raft_logtype_e {
    /// Regular log type. This is for application data intended for the FSM.
    RAFT_LOGTYPE_NORMAL,
    /// Membership change. Non-voting nodes can't cast votes. Nodes in this
    /// non-voting state are used to catch up with the cluster, when trying to
    /// join the cluster.
    RAFT_LOGTYPE_ADD_NONVOTING_NODE,
    /// Membership change. Add a voting node.
    RAFT_LOGTYPE_ADD_NODE,
    /// Membership change. Remove a node.
    RAFT_LOGTYPE_REMOVE_NODE,
    /// A no-op entry appended automatically when a leader begins a new term,
    /// in order to determine the current commit index.
    RAFT_LOGTYPE_NO_OP,
    /// Users can piggyback the entry mechanism by specifying log types that
    /// are higher than RAFT_LOGTYPE_NUM.
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

/// What `raft_recv_entry` reports: the entry's id, term and index.
#[repr(C)]
#[derive(Clone, Copy, Default)]
pub struct raft_entry_resp_t {
    /// the entry's unique ID
    pub id: raft_entry_id_t,
    /// the entry's term
    pub term: raft_term_t,
    /// the entry's index
    pub idx: raft_index_t,
}

#[repr(C)]
#[derive(Clone, Copy)]
pub struct raft_snapshot_chunk_t {
    /// chunk offset
    pub offset: raft_size_t,
    /// Chunk data pointer
    pub data: *mut c_void,
    /// Chunk len
    pub len: raft_size_t,
    /// 1 if this is the last chunk
    pub last_chunk: c_int,
}

/// Vote request message.
#[repr(C)]
#[derive(Clone, Copy, Default)]
pub struct raft_requestvote_req_t {
    /// 1 if this is a prevote message, 0 otherwise
    pub prevote: c_int,
    /// currentTerm, to force other leader/candidate to step down
    pub term: raft_term_t,
    /// candidate requesting vote
    pub candidate_id: raft_node_id_t,
    /// index of candidate's last log entry
    pub last_log_idx: raft_index_t,
    /// term of candidate's last log entry
    pub last_log_term: raft_term_t,
}

/// Vote request response message.
#[repr(C)]
#[derive(Clone, Copy, Default)]
pub struct raft_requestvote_resp_t {
    /// 1 if this is a prevote message, 0 otherwise
    pub prevote: c_int,
    /// term of received requestvote msg
    pub request_term: raft_term_t,
    /// currentTerm, for candidate to update itself
    pub term: raft_term_t,
    /// true means candidate received vote (-1: the voter does not know the candidate)
    pub vote_granted: c_int,
}

#[repr(C)]
#[derive(Clone, Copy)]
pub struct raft_snapshot_req_t {
    /// currentTerm, for follower to update itself
    pub term: raft_term_t,
    /// used to identify the sender node
    pub leader_id: raft_node_id_t,
    /// id, to make it possible to associate responses with requests
    pub msg_id: raft_msg_id_t,
    /// last included index of the snapshot
    pub snapshot_index: raft_index_t,
    /// last included term of the snapshot
    pub snapshot_term: raft_term_t,
    /// snapshot chunk
    pub chunk: raft_snapshot_chunk_t,
}

#[repr(C)]
#[derive(Clone, Copy, Default)]
pub struct raft_snapshot_resp_t {
    /// the msg_id this response refers to
    pub msg_id: raft_msg_id_t,
    /// currentTerm, to force other leader to step down
    pub term: raft_term_t,
    /// the offset the follower expects next (what it has acknowledged)
    pub offset: raft_size_t,
    /// 1 if request is accepted
    pub success: c_int,
    /// 1 if this is a response to the final chunk
    pub last_chunk: c_int,
}

/// Appendentries message; without entries it is a heartbeat.
#[repr(C)]
#[derive(Clone, Copy)]
pub struct raft_appendentries_req_t {
    /// used to identify the sender node
    pub leader_id: raft_node_id_t,
    /// id, to make it possible to associate responses with requests
    pub msg_id: raft_msg_id_t,
    /// currentTerm, to force other leader/candidate to step down
    pub term: raft_term_t,
    /// the index of the log just before the newest entry for the node who
    /// receives this message
    pub prev_log_idx: raft_index_t,
    /// the term of the log just before the newest entry for the node who
    /// receives this message
    pub prev_log_term: raft_term_t,
    /// the index of the entry that has been appended to the majority of the
    /// cluster. Entries up to this index will be applied to the FSM
    pub leader_commit: raft_index_t,
    /// number of entries within this message
    pub n_entries: raft_index_t,
    /// array of pointers to entries within this message
    pub entries: *mut *mut raft_entry_req_t,
}

/// Appendentries response message.
#[repr(C)]
#[derive(Clone, Copy, Default)]
pub struct raft_appendentries_resp_t {
    /// the msg_id this response refers to
    pub msg_id: raft_msg_id_t,
    /// currentTerm, to force other leader/candidate to step down
    pub term: raft_term_t,
    /// true if follower contained entry matching prevLogidx and prevLogTerm
    pub success: c_int,
    /// If success, the highest log index the follower now shares with the
    /// leader; otherwise its current (last) index
    pub current_idx: raft_index_t,
}

pub type raft_send_requestvote_f = Option<
    unsafe extern "C" fn(
        raft: *mut raft_server_t,
        user_data: *mut c_void,
        node: *mut raft_node_t,
        msg: *mut raft_requestvote_req_t,
    ) -> c_int,
>;
pub type raft_send_appendentries_f = Option<
    unsafe extern "C" fn(
        raft: *mut raft_server_t,
        user_data: *mut c_void,
        node: *mut raft_node_t,
        msg: *mut raft_appendentries_req_t,
    ) -> c_int,
>;
pub type raft_send_snapshot_f = Option<
    unsafe extern "C" fn(
        raft: *mut raft_server_t,
        user_data: *mut c_void,
        node: *mut raft_node_t,
        msg: *mut raft_snapshot_req_t,
    ) -> c_int,
>;
pub type raft_load_snapshot_f = Option<
    unsafe extern "C" fn(
        raft: *mut raft_server_t,
        user_data: *mut c_void,
        snapshot_term: raft_term_t,
        snapshot_index: raft_index_t,
    ) -> c_int,
>;
pub type raft_get_snapshot_chunk_f = Option<
    unsafe extern "C" fn(
        raft: *mut raft_server_t,
        user_data: *mut c_void,
        node: *mut raft_node_t,
        offset: raft_size_t,
        chunk: *mut raft_snapshot_chunk_t,
    ) -> c_int,
>;
pub type raft_store_snapshot_chunk_f = Option<
    unsafe extern "C" fn(
        raft: *mut raft_server_t,
        user_data: *mut c_void,
        snapshot_index: raft_index_t,
        offset: raft_size_t,
        chunk: *mut raft_snapshot_chunk_t,
    ) -> c_int,
>;
pub type raft_clear_snapshot_f =
    Option<unsafe extern "C" fn(raft: *mut raft_server_t, user_data: *mut c_void) -> c_int>;
pub type raft_node_has_sufficient_logs_f =
    Option<unsafe extern "C" fn(raft: *mut raft_server_t, user_data: *mut c_void, node: *mut raft_node_t) -> c_int>;
pub type raft_log_f = Option<
    unsafe extern "C" fn(raft: *mut raft_server_t, node_id: raft_node_id_t, user_data: *mut c_void, buf: *const c_char),
>;
pub type raft_persist_metadata_f = Option<
    unsafe extern "C" fn(
        raft: *mut raft_server_t,
        user_data: *mut c_void,
        term: raft_term_t,
        vote: raft_node_id_t,
    ) -> c_int,
>;
pub type raft_logentry_event_f = Option<
    unsafe extern "C" fn(
        raft: *mut raft_server_t,
        user_data: *mut c_void,
        entry: *mut raft_entry_t,
        entry_idx: raft_index_t,
    ) -> c_int,
>;
pub type raft_get_node_id_f = Option<
    unsafe extern "C" fn(
        raft: *mut raft_server_t,
        user_data: *mut c_void,
        entry: *mut raft_entry_t,
        entry_idx: raft_index_t,
    ) -> raft_node_id_t,
>;
pub type raft_membership_event_f = Option<
    unsafe extern "C" fn(
        raft: *mut raft_server_t,
        user_data: *mut c_void,
        node: *mut raft_node_t,
        entry: *mut raft_entry_t,
        type_: raft_membership_e,
    ),
>;
pub type raft_state_event_f =
    Option<unsafe extern "C" fn(raft: *mut raft_server_t, user_data: *mut c_void, state: raft_state_e)>;
pub type raft_transfer_event_f =
    Option<unsafe extern "C" fn(raft: *mut raft_server_t, user_data: *mut c_void, result: raft_leader_transfer_e)>;
pub type raft_send_timeoutnow_f =
    Option<unsafe extern "C" fn(raft: *mut raft_server_t, user_data: *mut c_void, node: *mut raft_node_t) -> c_int>;
pub type raft_backpressure_f =
    Option<unsafe extern "C" fn(raft: *mut raft_server_t, user_data: *mut c_void, node: *mut raft_node_t) -> c_int>;
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
pub type raft_timestamp_f =
    Option<unsafe extern "C" fn(raft: *mut raft_server_t, user_data: *mut c_void) -> raft_time_t>;

/// The application's callbacks; copied by `raft_set_callbacks`.
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
    /// Callback for sending request vote messages
    pub send_requestvote: raft_send_requestvote_f,
    /// Callback for sending appendentries messages
    pub send_appendentries: raft_send_appendentries_f,
    /// Callback for sending snapshot messages
    pub send_snapshot: raft_send_snapshot_f,
    /// Callback for loading snapshot. This will be called when we complete
    /// receiving snapshot from the leader
    pub load_snapshot: raft_load_snapshot_f,
    /// Callback to get a chunk of the snapshot file
    pub get_snapshot_chunk: raft_get_snapshot_chunk_f,
    /// Callback to store a chunk of the snapshot
    pub store_snapshot_chunk: raft_store_snapshot_chunk_f,
    /// Callback to dismiss temporary file which is used for incoming
    /// snapshot chunks
    pub clear_snapshot: raft_clear_snapshot_f,
    /// Callback for finite state machine application.
    /// Return 0 on success, RAFT_ERR_SHUTDOWN if you want the server to shutdown.
    pub applylog: raft_logentry_event_f,
    /// Callback for persisting term and vote data. It MUST flush the term and
    /// vote changes to disk atomically.
    pub persist_metadata: raft_persist_metadata_f,
    /// Callback for determining which node this configuration log entry
    /// affects. This call only applies to configuration change log entries.
    pub get_node_id: raft_get_node_id_f,
    /// Callback for detecting when a non-voting node has sufficient logs.
    pub node_has_sufficient_logs: raft_node_has_sufficient_logs_f,
    /// Callback for being notified of membership changes (optional).
    pub notify_membership_event: raft_membership_event_f,
    /// Callback for being notified of state changes (optional).
    pub notify_state_event: raft_state_event_f,
    /// Callback for being notified of transfer leadership events (optional)
    pub notify_transfer_event: raft_transfer_event_f,
    /// Callback for catching debugging log messages (optional)
    pub log: raft_log_f,
    /// Callback for sending TimeoutNow RPC messages to nodes
    pub send_timeoutnow: raft_send_timeoutnow_f,
    /// Callback for deciding whether to send raft_appendentries_req to a node.
    pub backpressure: raft_backpressure_f,
    /// Callback for preparing entries to send in a raft_appendentries_req
    pub get_entries_to_send: raft_get_entries_to_send_f,
    /// Callback to retrieve monotonic timestamp in microseconds
    pub timestamp: raft_timestamp_f,
}

/// Called for each entry a log's `pop` removes.
pub type raft_entry_notify_f =
    Option<unsafe extern "C" fn(arg: *mut c_void, entry: *mut raft_entry_t, entry_idx: raft_index_t)>;

/// Answers a read request: non-zero `can_read` means the read may be served.
pub type raft_read_request_callback_f = Option<unsafe extern "C" fn(arg: *mut c_void, can_read: c_int)>;

/// A pluggable log implementation. See the seed header's documentation of
/// each member; `sync` may be NULL when appends are durable at once.
#[repr(C)]
#[derive(Clone, Copy)]
pub struct raft_log_impl {
    pub init: Option<unsafe extern "C" fn(raft: *mut c_void, arg: *mut c_void) -> *mut c_void>,
    pub free: Option<unsafe extern "C" fn(log: *mut c_void)>,
    pub reset: Option<unsafe extern "C" fn(log: *mut c_void, first_idx: raft_index_t, term: raft_term_t)>,
    pub append: Option<unsafe extern "C" fn(log: *mut c_void, entry: *mut raft_entry_t) -> c_int>,
    pub poll: Option<unsafe extern "C" fn(log: *mut c_void, first_idx: raft_index_t) -> c_int>,
    pub pop: Option<
        unsafe extern "C" fn(
            log: *mut c_void,
            from_idx: raft_index_t,
            cb: raft_entry_notify_f,
            cb_arg: *mut c_void,
        ) -> c_int,
    >,
    pub get: Option<unsafe extern "C" fn(log: *mut c_void, idx: raft_index_t) -> *mut raft_entry_t>,
    pub get_batch: Option<
        unsafe extern "C" fn(
            log: *mut c_void,
            idx: raft_index_t,
            entries_n: raft_index_t,
            entries: *mut *mut raft_entry_t,
        ) -> raft_index_t,
    >,
    pub first_idx: Option<unsafe extern "C" fn(log: *mut c_void) -> raft_index_t>,
    pub current_idx: Option<unsafe extern "C" fn(log: *mut c_void) -> raft_index_t>,
    pub count: Option<unsafe extern "C" fn(log: *mut c_void) -> raft_index_t>,
    pub sync: Option<unsafe extern "C" fn(log: *mut c_void) -> c_int>,
}
pub type raft_log_impl_t = raft_log_impl;

/// Callbacks of the built-in in-memory log, for observing its changes.
#[repr(C)]
#[derive(Clone, Copy, Default)]
pub struct raft_log_cbs_t {
    /// Called before an entry is appended; non-zero refuses the append.
    pub log_offer: raft_logentry_event_f,
    /// Called before the oldest entry is removed (compaction).
    pub log_poll: raft_logentry_event_f,
    /// Called before the newest entry is removed.
    pub log_pop: raft_logentry_event_f,
    /// Called for every entry when the log is cleared.
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
