//! The messages of the protocol: appendentries, snapshots and votes, and a
//! client's entry.

use crate::ffi::ErrorCode;
use std::ffi::c_int;
use std::mem::ManuallyDrop;

use super::*;
use crate::core::{self, Vote, AppendEntries, RaftError, RequestVote, RequestVoteResponse};
use crate::ffi::entry::EntryPtr;
use crate::ffi::host::chunk_from_c;
use crate::ffi::types::*;

/// Handles an appendentries message from a leader and fills in the answer to
/// send back (with `raft_recv_appendentries_response` on the leader). A
/// message of an older term is answered with failure. Otherwise this server
/// follows the sender (adopting its term, persisted through
/// `persist_metadata`), checks that its log matches at `prev_log_idx`, drops
/// a conflicting suffix (popped newest first, see the log's `pop`), appends
/// the new entries (each configuration change takes effect), and makes its
/// log durable with the log's `sync` before answering success. Followers do
/// so whatever RAFT_CONFIG_AUTO_FLUSH says (that option concerns the
/// leader). Then it commits up to `leader_commit` and applies.
/// Out of memory: RAFT_ERR_NOMEM, with `resp` saying not successful; entries
/// appended before the failure stay (they are the leader's), and the
/// leader's next message brings the rest.
/// Re-entry: a message handled from a callback this call runs while it
/// changes the log (`log_pop`, `log_offer`, `notify_membership_event`, a user
/// log's own functions) is refused as if lost (its `resp` not successful,
/// with this server's term and last index; nothing of it taken), and so is
/// a snapshot chunk (`raft_recv_snapshot`); one handled from
/// `persist_metadata` or `notify_state_event` while this call adopts the
/// sender's term is taken, and should it move this server to a newer term,
/// this message is answered as one of an older term.
/// @param me the server
/// @param node the sender's node, or NULL: not used (the sender is
/// `req->leader_id`), so messages from nodes this server does not know yet
/// are accepted
/// @param req the message; its entries stay the caller's (the log takes its
/// own references to those it keeps), so release them after the call
/// @param resp filled in on return 0, and on most errors; on an error it
/// says not successful and gives this server's term and last log index as
/// they are when the call returns (entries appended before the error
/// included), as the original library's did
/// @return 0 (whether the answer is success or failure); RAFT_ERR_SHUTDOWN
/// when the leader contradicts a committed entry (a safety violation: stop
/// this server); -1 for an appendentries of this server's own term while it
/// is leader; the callback's code when `persist_metadata`, a log append or
/// `sync` failed; RAFT_ERR_MISUSE for a NULL server, message or answer, a
/// negative `n_entries`, or a NULL entry array or element, and, with nothing
/// changed (`resp` says not successful), for a message no correct leader
/// sends (the original library accepted these): a term, index or commit
/// index outside `0..=RAFT_TERM_MAX` / `0..=RAFT_INDEX_MAX`, a
/// `prev_log_term` above `term`, entries whose terms are negative, fall
/// (below `prev_log_term` or an earlier entry's) or exceed `term`, or
/// entries past RAFT_INDEX_MAX.
#[no_mangle]
pub unsafe extern "C" fn raft_recv_appendentries(
    me: *mut raft_server_t,
    node: *mut raft_node_t,
    req: *mut raft_appendentries_req_t,
    resp: *mut raft_appendentries_resp_t,
) -> c_int {
    // SAFETY: req and resp are NULL or valid for the call (the C contract).
    let (Some(req), Some(resp)) = (unsafe { req.as_ref() }, unsafe { resp.as_mut() }) else {
        return RaftError::Misuse.code();
    };
    if req.n_entries < 0 {
        return RaftError::Misuse.code();
    }
    // SAFETY: the message's array holds n_entries live entries for the call.
    let Some(entries) = (unsafe { EntryPtr::borrow_array(req.entries, req.n_entries as usize) }) else {
        return RaftError::Misuse.code();
    };
    server_rc(me, |s| {
        // An error fills in the term and last index as they are when it
        // returns (below); these stand should the call not return.
        *resp = raft_appendentries_resp_t { msg_id: req.msg_id, term: s.current_term(), success: 0, current_idx: 0 };
        let msg = AppendEntries {
            term: req.term,
            leader_id: req.leader_id,
            msg_id: req.msg_id,
            prev_log_idx: req.prev_log_idx,
            prev_log_term: req.prev_log_term,
            leader_commit: req.leader_commit,
            entries,
        };
        // The sender is the message's leader_id; `node` is not needed.
        let _ = node;
        let r = s.recv_appendentries(&msg);
        s.note_msg_seen(req.leader_id, req.msg_id);
        match r {
            Ok(r) => {
                *resp = raft_appendentries_resp_t {
                    msg_id: r.msg_id as raft_msg_id_t,
                    term: r.term,
                    success: r.success as c_int,
                    current_idx: r.current_idx,
                };
                Ok(())
            }
            Err(e) => {
                resp.term = s.current_term();
                resp.current_idx = s.current_idx();
                Err(e)
            }
        }
    })
}

/// Handles a follower's answer to an appendentries message, on the leader:
/// updates what the follower holds, commits what a majority holds, sends it
/// what it still lacks, notices caught-up non-voting nodes
/// (`node_has_sufficient_logs`) and a transfer target ready for
/// `send_timeoutnow`, and applies. Answers are matched to requests by
/// `msg_id`, so stale, duplicate and reordered answers are harmless; one
/// naming a `msg_id` this server has not sent yet (an answer to its run
/// before a restart, which numbered its messages from 1 too) does not count
/// as an acknowledgement of this leadership (reads, check-quorum). An
/// answer of a later term makes the leader step down.
/// @param me the server
/// @param node the node that answered; NULL is an error (-1), as in the
/// original library; an answer from a node that is not (or no longer) in
/// this server's configuration is ignored (0)
/// @param resp the answer
/// @return 0; -1 for a NULL node; RAFT_ERR_NOT_LEADER on a server that is
/// not the leader (the answer is ignored); the `persist_metadata` code when
/// stepping down to a later term could not persist; RAFT_ERR_SHUTDOWN when
/// `applylog` asked for it; RAFT_ERR_MISUSE for a NULL server or answer,
/// and (nothing changed) for a term or `current_idx` out of range.
#[no_mangle]
pub unsafe extern "C" fn raft_recv_appendentries_response(
    me: *mut raft_server_t,
    node: *mut raft_node_t,
    resp: *mut raft_appendentries_resp_t,
) -> c_int {
    // SAFETY: resp is NULL or valid for the call.
    let Some(resp) = (unsafe { resp.as_ref() }) else { return RaftError::Misuse.code() };
    if node.is_null() && !me.is_null() {
        return -1;
    }
    let resp = core::AppendEntriesResponse {
        msg_id: resp.msg_id,
        term: resp.term,
        success: resp.success != 0,
        current_idx: resp.current_idx,
    };
    server_rc(me, |s| s.recv_appendentries_response(node_of(s, node).as_ref(), &resp))
}

/// Handles one chunk of a snapshot the leader sends (because this server
/// lacks entries the leader has compacted) and fills in the answer. Chunks
/// must arrive in order: a chunk at another offset than expected is answered
/// with the expected offset, so the leader resends from there. Each chunk
/// goes to `store_snapshot_chunk`; after the last one, `load_snapshot` is
/// called, which must load the snapshot with `raft_begin_load_snapshot` /
/// `raft_end_load_snapshot`. When that fails the answer tells the leader to
/// start again from offset 0 (and `clear_snapshot` is called). A snapshot
/// not newer than this server's own (`raft_get_snapshot_last_idx`) is
/// acknowledged as complete without storing anything; any newer one is
/// received and loaded, even when the log already holds its entries
/// (loading then keeps the entries after it). A partly received snapshot is
/// dropped (`clear_snapshot`) when a chunk of another snapshot arrives, and
/// when a message from another leader or of a later term arrives (the new
/// leader's transfer starts at offset 0).
/// A last chunk whose loading fails for want of memory (RAFT_ERR_NOMEM from
/// `load_snapshot`, or from `raft_begin_load_snapshot` inside it) is
/// answered as a failed load: `resp` not successful, offset 0, and the
/// leader sends the snapshot again.
/// @param me the server
/// @param node the sender's node or NULL (not needed)
/// @param req the message; `req->chunk.data` is only read by
/// `store_snapshot_chunk`
/// @param resp filled in with the offset this server expects next
/// @return 0 (whether the chunk was accepted or not);
/// the code `store_snapshot_chunk` returned when it failed; the
/// `persist_metadata` code when adopting the leader's term failed;
/// RAFT_ERR_MISUSE for a NULL server, message or answer, and, with nothing
/// changed, for a term or index out of range, a `snapshot_term` above the
/// message's `term`, or a chunk whose `offset + len` does not fit in 64
/// bits (the original accepted these); RAFT_ERR_SHUTDOWN, with nothing
/// stored or loaded, when the snapshot's last entry contradicts an entry
/// this server has committed (same index, another term: no leader can send
/// that, so the server stops as it does for such an appendentries; the
/// original loaded it and left its commit index past its log's end).
#[no_mangle]
pub unsafe extern "C" fn raft_recv_snapshot(
    me: *mut raft_server_t,
    node: *mut raft_node_t,
    req: *mut raft_snapshot_req_t,
    resp: *mut raft_snapshot_resp_t,
) -> c_int {
    // SAFETY: req and resp are NULL or valid for the call.
    let (Some(req), Some(resp)) = (unsafe { req.as_ref() }, unsafe { resp.as_mut() }) else {
        return RaftError::Misuse.code();
    };
    server_rc(me, |s| {
        *resp = raft_snapshot_resp_t {
            msg_id: req.msg_id,
            term: s.current_term(),
            offset: 0,
            success: 0,
            last_chunk: req.chunk.last_chunk,
        };
        let msg = core::SnapshotRequest {
            term: req.term,
            leader_id: req.leader_id,
            msg_id: req.msg_id,
            snapshot_index: req.snapshot_index,
            snapshot_term: req.snapshot_term,
            chunk: chunk_from_c(&req.chunk),
        };
        let r = s.recv_snapshot(node_of(s, node).as_ref(), &msg);
        s.note_msg_seen(req.leader_id, req.msg_id);
        let r = r?;
        *resp = raft_snapshot_resp_t {
            msg_id: r.msg_id as raft_msg_id_t,
            term: r.term,
            offset: r.offset,
            success: r.success as c_int,
            last_chunk: r.last_chunk as c_int,
        };
        Ok(())
    })
}

/// Handles a follower's answer to a snapshot chunk, on the leader: sends the
/// next chunks (or resends from the offset the follower asks for); once the
/// last chunk is acknowledged, continues with appendentries after the
/// snapshot.
/// @param me the server
/// @param node the node that answered; NULL is an error (-1); answers from
/// nodes that are not (or no longer) in the configuration are ignored (0)
/// @param resp the answer
/// @return 0; -1 for a NULL node; RAFT_ERR_NOT_LEADER on a server that is
/// not the leader; an error of `get_snapshot_chunk` other than RAFT_ERR_DONE;
/// RAFT_ERR_MISUSE for a NULL server or answer, and (nothing changed) for a
/// term out of range.
#[no_mangle]
pub unsafe extern "C" fn raft_recv_snapshot_response(
    me: *mut raft_server_t,
    node: *mut raft_node_t,
    resp: *mut raft_snapshot_resp_t,
) -> c_int {
    // SAFETY: resp is NULL or valid for the call.
    let Some(r) = (unsafe { resp.as_ref() }) else { return RaftError::Misuse.code() };
    if node.is_null() && !me.is_null() {
        return -1;
    }
    let resp = core::SnapshotResponse {
        msg_id: r.msg_id,
        term: r.term,
        offset: r.offset,
        success: r.success != 0,
        last_chunk: r.last_chunk != 0,
    };
    server_rc(me, |s| s.recv_snapshot_response(node_of(s, node).as_ref(), &resp))
}

/// Handles a vote request (pre-vote or real) and fills in the answer. A real
/// request of a later term makes this server adopt the term (persisted) and
/// become follower. The vote is granted when the candidate's log is at least
/// as up to date as this one and (for a real vote) this server has not voted
/// for another node in the term; a real vote is persisted through
/// `persist_metadata` before the answer is returned. A pre-vote is refused
/// while this server has heard from another leader within an election
/// timeout (so a server cut off for a while cannot disrupt a working leader);
/// real votes, which follow a pre-vote majority or a leadership transfer,
/// are not held back that way. A request from a node outside this server's
/// configuration is not granted while a leader is known.
/// @param me the server
/// @param node the candidate's node or NULL (not needed: the candidate is
/// `req->candidate_id`)
/// @param req the request
/// @param resp filled in (`vote_granted` 1 or 0)
/// @return 0; the `persist_metadata` code when the term or vote could not be
/// persisted (do not send the answer then); RAFT_ERR_MISUSE for a NULL
/// server, request or answer, and, with nothing changed (no vote), for a
/// term or index out of range, a `last_log_term` above `term`, or a negative
/// `candidate_id`.
#[no_mangle]
pub unsafe extern "C" fn raft_recv_requestvote(
    me: *mut raft_server_t,
    node: *mut raft_node_t,
    req: *mut raft_requestvote_req_t,
    resp: *mut raft_requestvote_resp_t,
) -> c_int {
    // SAFETY: req and resp are NULL or valid for the call.
    let (Some(req), Some(resp)) = (unsafe { req.as_ref() }, unsafe { resp.as_mut() }) else {
        return RaftError::Misuse.code();
    };
    server_rc(me, |s| {
        *resp = raft_requestvote_resp_t {
            prevote: req.prevote,
            request_term: req.term,
            term: s.current_term(),
            vote_granted: 0,
        };
        let msg = RequestVote {
            prevote: req.prevote != 0,
            term: req.term,
            candidate_id: req.candidate_id,
            last_log_idx: req.last_log_idx,
            last_log_term: req.last_log_term,
        };
        let r = s.recv_requestvote(node_of(s, node).as_ref(), &msg)?;
        *resp = raft_requestvote_resp_t {
            prevote: r.prevote as c_int,
            request_term: r.request_term,
            term: r.term,
            vote_granted: vote_to_c(r.vote_granted),
        };
        Ok(())
    })
}

/// Handles the answer to a vote request. A granted pre-vote majority starts a
/// real election (term + 1, persisted, vote requests sent); a granted real
/// majority makes this server leader (it appends a RAFT_LOGTYPE_NO_OP entry,
/// syncs its whole log with the log's `sync`, and sends appendentries). An
/// answer of a later term makes the server adopt it and become follower.
/// Answers that do not match the current election are ignored.
/// Out of memory while becoming leader (its no-op entry): RAFT_ERR_NOMEM,
/// and the server stays a candidate.
/// @param me the server
/// @param node the voter's node; NULL is an error (-1), as in the original
/// library; an unknown node is ignored
/// @param req the answer
/// @return 0; -1 for a NULL node; the `persist_metadata` code (or
/// RAFT_ERR_SHUTDOWN) when a new term or vote could not be persisted; a log
/// or sync error while becoming leader; RAFT_ERR_MISUSE for a NULL server or
/// answer, (nothing changed) for a term out of range, and when the election
/// it would start needs a term past RAFT_TERM_MAX.
#[no_mangle]
pub unsafe extern "C" fn raft_recv_requestvote_response(
    me: *mut raft_server_t,
    node: *mut raft_node_t,
    req: *mut raft_requestvote_resp_t,
) -> c_int {
    // SAFETY: req is NULL or valid for the call.
    let Some(r) = (unsafe { req.as_ref() }) else { return RaftError::Misuse.code() };
    if node.is_null() && !me.is_null() {
        return -1;
    }
    let resp = RequestVoteResponse {
        prevote: r.prevote != 0,
        request_term: r.request_term,
        term: r.term,
        vote_granted: vote_from_c(r.vote_granted),
    };
    server_rc(me, |s| s.recv_requestvote_response(node_of(s, node).as_ref(), &resp))
}

/// Proposes an entry on the leader: sets its term to the current term,
/// appends it to the log, and fills in `resp` with its id, term and index
/// (test later with `raft_msg_entry_response_committed`, or wait for
/// `applylog` at that index). With auto flush on (the default), the log is
/// synced (`sync`), the entry sent to the followers and, if that already
/// makes a majority, committed and applied before the call returns. With
/// auto flush off the entry is only appended; the application makes it
/// durable and calls `raft_flush` (see there). A configuration change entry
/// (RAFT_LOGTYPE_ADD_NONVOTING_NODE, RAFT_LOGTYPE_ADD_NODE,
/// RAFT_LOGTYPE_REMOVE_NODE, naming its node as `get_node_id` tells) takes
/// effect when appended. Once the entry is appended `resp` is filled, even
/// if what auto flush does next fails. A failed `applylog` does not fail the
/// call: it is retried, and its error returned, by the next `raft_periodic`
/// (or `raft_apply_all`). (The original library returned that error for an
/// entry it had appended, and left `resp` unfilled; a client retrying on
/// error wrote it twice.) A failed `sync` is returned, with `resp` filled:
/// the disk failed, yet the entry is in the log and may still commit on the
/// followers' copies; it counts as stored on this leader only once a later
/// sync covers it.
/// Out of memory: RAFT_ERR_NOMEM, and the entry is not appended (nor, for a
/// configuration change, in effect); the client may retry.
/// @param me the server
/// @param req the entry (from `raft_entry_new` or built by the caller as one
/// block); the caller keeps its reference and releases it after the call,
/// the log takes its own
/// @param resp filled in on success; may be NULL
/// `resp->term` is the term the entry was appended in, even when a callback
/// run by the append (`log_offer`, `notify_membership_event`) moved the
/// server to a newer term meanwhile.
/// @return 0; RAFT_ERR_NOT_LEADER on a server that is not the leader (send the
/// client to `raft_get_leader_id`), also when the configuration change's
/// `get_node_id` ended the leadership (nothing is then appended);
/// RAFT_ERR_LEADER_TRANSFER_IN_PROGRESS
/// during a leadership transfer; RAFT_ERR_ONE_VOTING_CHANGE_ONLY for a voting
/// change (RAFT_LOGTYPE_ADD_NODE, RAFT_LOGTYPE_REMOVE_NODE) while another is
/// uncommitted, or, on a leader with other voters, before it has committed an
/// entry of its term (a leader that is the only voter, or has none, as when
/// a cluster is bootstrapped, may make a voting change at once);
/// RAFT_ERR_SNAPSHOT_IN_PROGRESS for a voting change while applying is
/// paused (a snapshot being taken without RAFT_CONFIG_NONBLOCKING_APPLY, or
/// RAFT_CONFIG_DISABLE_APPLY set); the two voting-change refusals are checked
/// before leadership, so a follower may return them too; the code of a log
/// append that failed (for example a `log_offer` observer refusing), with
/// nothing appended; the code of a failed `sync` (auto flush), with the
/// entry appended and `resp` filled; RAFT_ERR_MISUSE for a NULL server or
/// entry, for an entry of type RAFT_LOGTYPE_NO_OP (the leader's own) or of a
/// negative type, and once the log has reached RAFT_INDEX_MAX;
/// RAFT_ERR_INVALID_NODEID for a configuration change whose `get_node_id`
/// names a negative id (the original library accepted these three).
#[no_mangle]
pub unsafe extern "C" fn raft_recv_entry(
    me: *mut raft_server_t,
    req: *mut raft_entry_req_t,
    resp: *mut raft_entry_resp_t,
) -> c_int {
    // SAFETY: the caller holds a reference on req for the whole call, so a
    // borrowed handle (never released: ManuallyDrop) stays valid; the log
    // takes its own reference when it keeps the entry.
    let Some(entry) = (unsafe { EntryPtr::from_held(req) }).map(ManuallyDrop::new) else {
        return RaftError::Misuse.code();
    };
    server_rc(me, |s| {
        let proposal = s.propose(&entry)?;
        // SAFETY: resp is NULL or the caller's out-struct.
        unsafe { answer_entry(resp, proposal.resp) };
        proposal.synced
    })
}

/// Fills `resp`, if not NULL.
///
/// # Safety
/// `resp` is NULL or points to a writable `raft_entry_resp_t`.
#[inline(always)]
unsafe fn answer_entry(resp: *mut raft_entry_resp_t, r: core::replication::EntryResponse) {
    // SAFETY: the caller's guarantee.
    if let Some(resp) = unsafe { resp.as_mut() } {
        *resp = raft_entry_resp_t { id: r.id, term: r.term, idx: r.idx };
    }
}

/// `raft_requestvote_resp_t::vote_granted`: 1 granted, 0 not, -1 unknown
/// node (`RAFT_REQUESTVOTE_ERR_*`).
fn vote_to_c(vote: Vote) -> c_int {
    match vote {
        Vote::Granted => 1,
        Vote::NotGranted => 0,
        Vote::UnknownNode => -1,
    }
}

/// A C `vote_granted`: 1 granted, -1 unknown node, anything else not granted.
fn vote_from_c(vote: c_int) -> Vote {
    match vote {
        1 => Vote::Granted,
        -1 => Vote::UnknownNode,
        _ => Vote::NotGranted,
    }
}
