//! The application's callbacks (`raft_cbs_t`) and the other function
//! types the library calls.
#![allow(non_camel_case_types)]

use std::ffi::{c_char, c_int, c_void};

use super::*;

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
/// starts, the leader or the term changed (a new leader's transfer starts
/// again at offset 0), or loading failed. The return value is ignored.
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
/// a node added (by `raft_add_node`, `raft_add_non_voting_node`, or a
/// configuration entry when it is appended) or removed (by
/// `raft_remove_node`, once a RAFT_LOGTYPE_REMOVE_NODE entry naming it has
/// been applied, when the entry that added it is popped, or when a snapshot
/// is loaded). Use it to attach a connection to new nodes
/// (`raft_node_set_udata`) and close those of removed ones.
/// @param raft the server
/// @param user_data the user data of `raft_set_callbacks`
/// @param node the node; for a removal, valid during the call only
/// @param entry for an addition, the configuration entry that caused it, or
/// NULL when the application called `raft_add_node` /
/// `raft_add_non_voting_node` itself; always NULL for a removal
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
    /// safety in a real cluster. Should it re-enter (a message handled from
    /// inside it) and a call there move the term or vote, that stands: the
    /// term never moves back, the vote being persisted is not recorded, a
    /// campaign being started does not start, and the message being handled
    /// is answered as one of an older term.
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
