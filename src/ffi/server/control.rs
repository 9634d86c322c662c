//! Driving a server by hand: terms and votes, the commit index, the log,
//! configuration entries, reads, leadership transfer and flushing.

use std::ffi::{c_int, c_long, c_void};

use super::*;
use crate::core::{self, RaftError};
use crate::ffi::entry::EntryPtr;
use crate::ffi::host::ReadRequest;
use crate::ffi::types::*;

/// Votes for a node in the current term: persisted through
/// `persist_metadata` first. For tests and restoring; elections vote on their
/// own.
/// @param me the server
/// @param node one of this server's nodes; NULL (or a node that is not this
/// server's) records no vote
/// @return 0; the `persist_metadata` code on failure (nothing changed);
/// RAFT_ERR_MISUSE for a NULL server.
#[no_mangle]
pub extern "C" fn raft_vote(me: *mut raft_server_t, node: *mut raft_node_t) -> c_int {
    server_rc(me, |s| s.vote(node_of(s, node).as_ref()))
}

/// Votes for a node id in the current term: persisted through
/// `persist_metadata` first. An id not (yet) in the configuration is
/// accepted: a restarting program restores its vote before the entries that
/// add the nodes.
/// @param me the server
/// @param nodeid the node id, or RAFT_NODE_ID_NONE
/// @return 0; the `persist_metadata` code on failure (nothing changed);
/// RAFT_ERR_INVALID_NODEID, with nothing persisted, for a negative id other
/// than RAFT_NODE_ID_NONE (the original library accepted it);
/// RAFT_ERR_MISUSE for NULL.
#[no_mangle]
pub extern "C" fn raft_vote_for_nodeid(me: *mut raft_server_t, nodeid: raft_node_id_t) -> c_int {
    if nodeid < RAFT_NODE_ID_NONE {
        return RaftError::InvalidNodeId.code();
    }
    server_rc(me, |s| s.vote_for(nodeid))
}

/// Moves to a later term with no vote: persisted through `persist_metadata`
/// first. The role is unchanged. An earlier or equal term does nothing. For
/// tests and tools; a restarting program uses `raft_restore_metadata`, which
/// does not persist.
/// @param me the server
/// @param term the new term
/// @return 0; the `persist_metadata` code on failure (nothing changed);
/// RAFT_ERR_MISUSE for NULL and for a term above RAFT_TERM_MAX.
#[no_mangle]
pub extern "C" fn raft_set_current_term(me: *mut raft_server_t, term: raft_term_t) -> c_int {
    server_rc(me, |s| s.set_current_term(term))
}

/// Sets the commit index. For tests and tools (a restarting program need not
/// restore it: the leader tells). Values below 0 or past the log's end are
/// ignored.
/// @param me the server; NULL is ignored
/// @param commit_idx the new commit index
#[no_mangle]
pub extern "C" fn raft_set_commit_idx(me: *mut raft_server_t, commit_idx: raft_index_t) {
    with_server(me, (), |s| s.set_commit_idx(commit_idx))
}

/// Appends an entry to the log as it is (its term is kept), with no message
/// sent: how a restarting program replays the entries it persisted, oldest
/// first, after `raft_restore_snapshot`. A configuration change takes effect
/// (`get_node_id` names the node; `notify_membership_event` reports it). The
/// built-in log's `log_offer` observer is called for each entry, as for any
/// append. The entries count as durable.
/// @param me the server
/// @param ety the entry; the caller keeps its reference, the log takes its
/// own
/// @return 0; the log's append error (for example a refusing `log_offer`);
/// RAFT_ERR_MISUSE for a NULL server or entry, for an entry whose term is
/// outside `0..=RAFT_TERM_MAX`, and for a log that has reached
/// RAFT_INDEX_MAX.
#[no_mangle]
pub unsafe extern "C" fn raft_append_entry(me: *mut raft_server_t, ety: *mut raft_entry_t) -> c_int {
    // SAFETY: the caller holds a reference on ety for the call.
    let Some(entry) = (unsafe { EntryPtr::hold(ety) }) else { return RaftError::Misuse.code() };
    server_rc(me, |s| s.append_entry(&entry))
}

/// Removes the newest entry of the log (through the log's `pop`), undoing a
/// configuration change it carried.
/// @param me the server
/// @return 0; -1 when the newest entry is committed or the log is empty;
/// a `pop` error; RAFT_ERR_MISUSE for NULL.
#[no_mangle]
pub extern "C" fn raft_pop_entry(me: *mut raft_server_t) -> c_int {
    server_rc(me, |s| s.pop_entry())
}

/// Tells what became of an entry proposed with `raft_recv_entry`.
/// @param me the server
/// @param r the answer `raft_recv_entry` filled in
/// @return 1 when the entry is committed; 0 when not yet, when the log no
/// longer holds that index (compacted), for NULL and for a NULL answer; -1
/// when another leader's entry has replaced it (the proposal is lost: retry).
#[no_mangle]
pub unsafe extern "C" fn raft_msg_entry_response_committed(
    me: *mut raft_server_t,
    r: *const raft_entry_resp_t,
) -> c_int {
    // SAFETY: r is NULL or readable.
    let Some(r) = (unsafe { r.as_ref() }) else { return 0 };
    let resp = core::replication::EntryResponse { id: r.id, term: r.term, idx: r.idx };
    with_server(me, 0, |s| s.entry_response_committed(&resp))
}

/// Lets a configuration entry take effect as if it had just been appended at
/// `idx` (the node it names, as `get_node_id` tells, is added, promoted or
/// deactivated). The library does this itself for every entry it appends;
/// for tools that build the node list by hand.
/// @param me the server; NULL is ignored
/// @param ety the entry; ignored unless it is a configuration change
/// @param idx the index the entry has (or would have) in the log
#[no_mangle]
pub unsafe extern "C" fn raft_handle_append_cfg_change(
    me: *mut raft_server_t,
    ety: *mut raft_entry_t,
    idx: raft_index_t,
) {
    // SAFETY: the caller holds a reference on ety for the call.
    let Some(entry) = (unsafe { EntryPtr::hold(ety) }) else { return };
    with_server(me, (), |s| s.handle_append_cfg_change(&entry, idx))
}

/// Queues a linearizable read on the leader. `cb(cb_arg, 1)` is called once
/// it is safe to serve the read from the local state machine: a majority of
/// the voters (a voter whose removal is appended but not yet applied still
/// counts) has acknowledged this leader through messages sent after the
/// request, and everything committed at the time of the request has been
/// applied. If leadership is lost first, `cb(cb_arg, 0)` is called (retry on
/// the new leader). The callback runs from a later call on this server
/// (`raft_recv_appendentries_response`, `raft_periodic`, `raft_flush`, ...);
/// on a single voter that has applied everything, before this function
/// returns.
///
/// Latency against traffic: with RAFT_CONFIG_AUTO_FLUSH on, a heartbeat
/// round is sent at once (unless one is in flight, which the read then
/// waits for and joins the next), so a read costs about one round trip and,
/// under a steady read load, one extra message to every node per round.
/// With it off, nothing is sent here: the next `raft_flush` confirms the
/// read, through the appendentries it sends for writes anyway, and sends a
/// heartbeat only to the nodes it sends nothing to (at most one such round
/// in flight; every read waiting joins it). A read then waits for the next
/// flush (or the next periodic heartbeat, if the application does not
/// flush) plus one round trip, and under a mixed load costs no extra
/// message.
/// @param me the server
/// @param cb the callback; must not be NULL
/// @param cb_arg passed to `cb` as is
/// @return 0; RAFT_ERR_NOT_LEADER on a server that is not the leader (`cb`
/// is not called; checked before a NULL callback); RAFT_ERR_MISUSE for a
/// NULL server or callback.
#[no_mangle]
pub extern "C" fn raft_recv_read_request(
    me: *mut raft_server_t,
    cb: raft_read_request_callback_f,
    cb_arg: *mut c_void,
) -> c_int {
    if cb.is_none() {
        // As the original: a non-leader says so first.
        return with_server(me, RaftError::Misuse.code(), |s| {
            if s.is_leader() {
                RaftError::Misuse.code()
            } else {
                RaftError::NotLeader.code()
            }
        });
    }
    server_rc(me, |s| s.recv_read_request(ReadRequest { cb, arg: cb_arg }))
}

/// Starts handing leadership to another voter: the leader sends it what it
/// lacks, then `send_timeoutnow` so that it campaigns at once. The outcome
/// is reported through `notify_transfer_event`: the expected leader won,
/// another one did, or `timeout` ran out. Meanwhile `raft_recv_entry` fails
/// with RAFT_ERR_LEADER_TRANSFER_IN_PROGRESS.
/// @param me the server
/// @param node_id the target, or RAFT_NODE_ID_NONE for the voter with the
/// most entries
/// @param timeout milliseconds before the transfer is abandoned; 0 or less
/// means one election timeout
/// @return 0; RAFT_ERR_NOT_LEADER; RAFT_ERR_LEADER_TRANSFER_IN_PROGRESS;
/// RAFT_ERR_INVALID_NODEID for an unknown id, a non-voting or removed node,
/// this server's own id, or no voter to pick; RAFT_ERR_MISUSE for NULL.
#[no_mangle]
pub extern "C" fn raft_transfer_leader(me: *mut raft_server_t, node_id: raft_node_id_t, timeout: c_long) -> c_int {
    server_rc(me, |s| s.transfer_leader(node_id, timeout))
}

/// The target of the leadership transfer in progress.
/// @param me the server
/// @return its id; RAFT_NODE_ID_NONE when no transfer is in progress, and for
/// NULL.
#[no_mangle]
pub extern "C" fn raft_get_transfer_leader(me: *mut raft_server_t) -> raft_node_id_t {
    with_server(me, RAFT_NODE_ID_NONE, |s| s.transfer_target())
}

/// Starts a real election at once, skipping pre-vote: call it when a
/// `timeoutnow` message arrives (sent by a leader through `send_timeoutnow`).
/// @param me the server
/// @return 0; RAFT_ERR_MISUSE on a server that may not campaign (not a
/// voter) and for NULL; the `persist_metadata` code when the new term could
/// not be persisted.
#[no_mangle]
pub extern "C" fn raft_timeout_now(me: *mut raft_server_t) -> c_int {
    server_rc(me, |s| s.timeout_now())
}

/// With auto flush off (RAFT_CONFIG_AUTO_FLUSH 0), on the leader: reports
/// that the log is durable up to `sync_index`. The leader then counts itself
/// as holding the entries up to there, commits what a majority holds, sends
/// new entries to the followers, applies and answers ready reads. Call it
/// after each sync of the index `raft_get_index_to_sync` returned, and
/// whenever new entries were appended even without a sync (pass 0) so that
/// they are sent. On other servers it only applies what is committed.
/// @param me the server
/// @param sync_index the highest index now durable; 0 for no news
/// @return 0; RAFT_ERR_SHUTDOWN when `applylog` asked for it;
/// RAFT_ERR_MISUSE for NULL.
#[no_mangle]
pub extern "C" fn raft_flush(me: *mut raft_server_t, sync_index: raft_index_t) -> c_int {
    server_rc(me, |s| s.flush(sync_index))
}

/// With auto flush off, on the leader: the newest index that needs making
/// durable. Each index is reported once: sync the log up to it (the entries
/// are already in the log), then call `raft_flush(me, index)`.
/// @param me the server
/// @return the index; 0 when there is nothing new, when auto flush is on, on
/// servers that are not the leader, and for NULL.
#[no_mangle]
pub extern "C" fn raft_get_index_to_sync(me: *mut raft_server_t) -> raft_index_t {
    with_server(me, 0, |s| s.index_to_sync())
}

/// Whether work is waiting that a call left for later: committed entries to
/// apply (applying stops after about half a request timeout per call, to keep
/// the server responsive) or read requests ready to answer. An event loop
/// that sees non-zero should call `raft_periodic` (or `raft_flush`) again
/// without waiting for its usual period.
/// @param me the server
/// @return non-zero when work is pending; 0 otherwise and for NULL.
#[no_mangle]
pub extern "C" fn raft_pending_operations(me: *mut raft_server_t) -> c_int {
    with_server(me, 0, |s| s.pending_operations() as c_int)
}
