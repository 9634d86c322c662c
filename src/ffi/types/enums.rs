//! Error codes, membership events, roles, transfer results, configuration
//! keys and entry types.
#![allow(non_camel_case_types)]

use super::*;

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
    /// uncommitted, or, on a leader with other voters, before it committed an
    /// entry of its term.
    RAFT_ERR_ONE_VOTING_CHANGE_ONLY = -3,
    /// The server must stop: `applylog` asked for it, a leader contradicted a
    /// committed entry, or the server is poisoned (an internal panic was caught;
    /// every later call returns this code).
    RAFT_ERR_SHUTDOWN = -4,
    /// An allocation failed. Kept for compatibility; callbacks may return it.
    RAFT_ERR_NOMEM = -5,
    /// A snapshot is already being taken (`raft_begin_snapshot`), or a voting
    /// configuration change was proposed while applying is paused (a snapshot
    /// being taken without RAFT_CONFIG_NONBLOCKING_APPLY, or
    /// RAFT_CONFIG_DISABLE_APPLY set).
    RAFT_ERR_SNAPSHOT_IN_PROGRESS = -6,
    /// The snapshot offered to `raft_begin_load_snapshot` is not newer than
    /// the one this server has (its index is at or below
    /// `raft_get_snapshot_last_idx`).
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
    /// Configuration change: removes the node `get_node_id` names, in two
    /// steps. Once the entry is appended the node is inactive (it is sent no
    /// messages and counts in no election or commit majority; reads still
    /// count it) but stays in the node list, so `applylog` for this entry
    /// still finds it; once that `applylog` has returned, the node leaves the
    /// list (`notify_membership_event`). Popping the entry first makes the
    /// node active again.
    RAFT_LOGTYPE_REMOVE_NODE,
    /// Appended by every new leader at the start of its term, so that entries of
    /// earlier terms can commit. Carries no data; `applylog` sees it too.
    RAFT_LOGTYPE_NO_OP,
    /// Application-defined types may use values from here up (any value the
    /// library does not interpret is treated as application data).
    RAFT_LOGTYPE_NUM = 100,
}
