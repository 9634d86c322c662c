//! Server lifecycle and the protocol entry points of `raft.h`.
//!
//! A server is boxed once in `raft_new` and freed only by `raft_destroy`.
//! Every call on it runs through [`with_server`]: a NULL handle gets the
//! function's error value, a panic poisons the server (later calls get
//! `RAFT_ERR_SHUTDOWN`), and a call depth counter lets `raft_destroy`
//! refuse to free a server from inside one of its own callbacks. Teardown
//! is one-way: once `raft_destroy` has begun, every call on the server
//! (from a `log_clear` observer or an entry's `free_func` run by the
//! teardown) is refused with the function's error value.

use std::cell::Cell;
use std::ffi::{c_int, c_long, c_void};
use std::mem::ManuallyDrop;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::ptr;
use std::rc::Rc;

use super::entry::EntryPtr;
use super::host::{chunk_from_c, CHost, ReadRequest};
use super::log_impl::{raft_log, LogBackend};
use super::types::*;
use super::{code, flag};
use crate::core::{self, AppendEntries, Node, RaftError, RequestVote, RequestVoteResponse, Server};

pub type CoreServer = Server<CHost>;

pub struct RaftServer {
    pub(crate) core: CoreServer,
    depth: Cell<u32>,
    poisoned: Cell<bool>,
    /// `raft_destroy` has begun: every call is refused.
    closing: Cell<bool>,
}

/// Runs `f` on the server behind `me`. `fallback` is returned for a NULL,
/// poisoned or closing server and when `f` panics (which poisons the
/// server), also when a call nested in `f` (from a callback) panicked.
pub(crate) fn with_server<R>(me: *mut raft_server_t, fallback: R, f: impl FnOnce(&CoreServer) -> R) -> R {
    // SAFETY: a non-NULL handle is one raft_new returned and raft_destroy has
    // not freed (the C contract); only shared references are made to it.
    let Some(server) = (unsafe { (me as *const RaftServer).as_ref() }) else { return fallback };
    if server.poisoned.get() || server.closing.get() {
        return fallback;
    }
    server.depth.set(server.depth.get() + 1);
    let result = catch_unwind(AssertUnwindSafe(|| f(&server.core)));
    server.depth.set(server.depth.get() - 1);
    match result {
        // A nested call that panicked poisoned the server under us: what
        // this call did may rest on a half-done change, so it fails too.
        Ok(r) if !server.poisoned.get() => r,
        Ok(_) => fallback,
        Err(_) => {
            server.poisoned.set(true);
            fallback
        }
    }
}

/// The server behind `me` for a call that runs no callback and cannot
/// panic; `None` for a NULL or poisoned server.
fn quiet_server<'a>(me: *mut raft_server_t) -> Option<&'a CoreServer> {
    // SAFETY: as in with_server.
    let server = unsafe { (me as *const RaftServer).as_ref() }?;
    (!server.poisoned.get() && !server.closing.get()).then_some(&server.core)
}

/// For functions returning a status code: NULL gives `RAFT_ERR_MISUSE`; a
/// poisoned server or a panic gives `RAFT_ERR_SHUTDOWN`.
pub(crate) fn server_rc(me: *mut raft_server_t, f: impl FnOnce(&CoreServer) -> core::Result<()>) -> c_int {
    if me.is_null() {
        return RaftError::Misuse.code();
    }
    with_server(me, RaftError::Shutdown.code(), |s| code(f(s)))
}

/// The user data of a server's callbacks (NULL for a NULL server).
pub(crate) fn user_data_of(me: *mut raft_server_t) -> *mut c_void {
    // SAFETY: as in with_server.
    unsafe { (me as *const RaftServer).as_ref() }.map_or(ptr::null_mut(), |s| s.core.host().udata.get())
}

/// The node behind a C node pointer, if it is one of this server's nodes.
/// Only the pointer's value is compared: a dangling pointer is never read.
pub(crate) fn node_of(server: &CoreServer, node: *mut raft_node_t) -> Option<Rc<Node>> {
    if node.is_null() {
        return None;
    }
    let mut i = 0;
    while let Some(n) = server.node_at(i) {
        if Rc::as_ptr(&n) as *mut raft_node_t == node {
            return Some(n);
        }
        i += 1;
    }
    None
}

pub(crate) fn node_ptr(node: Option<Rc<Node>>) -> *mut raft_node_t {
    node.map_or(ptr::null_mut(), |n| Rc::as_ptr(&n) as *mut raft_node_t)
}

fn new_server(log: impl FnOnce(*mut raft_server_t) -> Option<LogBackend>) -> *mut raft_server_t {
    super::guard(ptr::null_mut(), || {
        // The log needs the server's address (its init gets `raft`), so the
        // server is boxed around a placeholder log first.
        let placeholder = LogBackend::Builtin(raft_log::new(0));
        let boxed = Box::new(RaftServer {
            core: Server::new(CHost::new(placeholder)),
            depth: Cell::new(0),
            poisoned: Cell::new(false),
            closing: Cell::new(false),
        });
        let raw = Box::into_raw(boxed);
        let me = raw as *mut raft_server_t;
        let Some(backend) = log(me) else {
            // SAFETY: raw came from Box::into_raw just above.
            drop(unsafe { Box::from_raw(raw) });
            return ptr::null_mut();
        };
        // SAFETY: raw is the unique pointer to the fresh server; no reference
        // to it exists yet.
        let server = unsafe { &mut *raw };
        server.core.host_mut().log = backend;
        server.core.host().server.set(me);
        if let LogBackend::Builtin(log) = &server.core.host().log {
            log.set_owner(me);
            log.free_refused.set(true);
        }
        server.core.reset_clock();
        me
    })
}

/// Creates a server that uses the built-in in-memory log.
/// Request timeout defaults to 200 ms, election timeout to 1000 ms, and auto
/// flush is on. NULL if allocation fails.
#[no_mangle]
pub extern "C" fn raft_new() -> *mut raft_server_t {
    new_server(|_| Some(LogBackend::Builtin(raft_log::new(0))))
}

/// Creates a server with the application's log implementation, calling its
/// `init(raft, log_arg)` once. The built-in `raft_log_internal_impl` may be
/// passed too. NULL if `log_impl` is NULL or `init` returns NULL.
#[no_mangle]
pub unsafe extern "C" fn raft_new_with_log(
    log_impl: *const raft_log_impl_t,
    log_arg: *mut c_void,
) -> *mut raft_server_t {
    // SAFETY: the caller passes a readable vtable or NULL.
    let Some(vtable) = (unsafe { log_impl.as_ref() }).copied() else { return ptr::null_mut() };
    if ptr::eq(log_impl, &super::log_impl::raft_log_internal_impl) {
        return raft_new();
    }
    new_server(|me| {
        let init = vtable.init?;
        // SAFETY: the application's init, called once with the server and its arg.
        let handle = unsafe { init(me as *mut c_void, log_arg) };
        if handle.is_null() {
            return None;
        }
        Some(LogBackend::Custom { vtable, handle })
    })
}

/// Frees the server, its nodes and its log (a custom log's `free` is
/// called). Teardown is one-way: the built-in log's `log_clear` observers
/// and the entries' `free_func`s run first, while the server is still
/// whole, and any `raft_*` call they make on this server (including
/// `raft_destroy` itself) is refused with that function's error value
/// (`RAFT_ERR_SHUTDOWN`, NULL, 0, or nothing). Called from inside one of
/// this server's callbacks, or while a compat `raft_log_*` call on its log
/// is in progress (from an observer or a `free_func` that call runs), it
/// does nothing: destroying a server while it is working would leave the call
/// in progress with nothing to return to; destroy it after that call.
#[no_mangle]
pub unsafe extern "C" fn raft_destroy(me: *mut raft_server_t) {
    // SAFETY: as in with_server.
    let Some(server) = (unsafe { (me as *const RaftServer).as_ref() }) else { return };
    if server.depth.get() > 0 || server.closing.get() {
        return;
    }
    if let LogBackend::Builtin(log) = &server.core.host().log {
        if log.is_busy() {
            return;
        }
    }
    server.closing.set(true);
    let _ = catch_unwind(AssertUnwindSafe(|| match &server.core.host().log {
        // The observers hear of every entry while the server is whole;
        // then the entries go, each to its free_func, still before the
        // server's memory is given back.
        LogBackend::Builtin(log) => {
            log.detach();
            log.release_entries();
        }
        LogBackend::Custom { vtable, handle } => {
            if let Some(free) = vtable.free {
                // SAFETY: the application's free with its own handle, once
                // (closing refuses a second raft_destroy).
                unsafe { free(*handle) };
            }
        }
    }));
    let _ = catch_unwind(|| {
        // SAFETY: me came from Box::into_raw in raft_new; no call is in
        // progress on it and, closing being set, none can start, so this
        // is the only use of the pointer from here on.
        drop(unsafe { Box::from_raw(me as *mut RaftServer) });
    });
}

/// Resets term, vote, role, indexes and the log (entries are released);
/// nodes and callbacks are kept.
#[no_mangle]
pub extern "C" fn raft_clear(me: *mut raft_server_t) {
    with_server(me, (), |s| s.clear())
}

/// Sets the callbacks (the table is copied) and the user data passed to
/// them. The clock is re-read, so elapsed time counts from here. A NULL
/// table is refused (nothing changes; the original library installed an
/// empty table, which left committed entries marked applied with no
/// `applylog`).
#[no_mangle]
pub unsafe extern "C" fn raft_set_callbacks(me: *mut raft_server_t, funcs: *mut raft_cbs_t, user_data: *mut c_void) {
    // SAFETY: funcs is NULL or a readable table (the C contract).
    let Some(cbs) = unsafe { funcs.as_ref() }.copied() else { return };
    with_server(me, (), |s| {
        s.host().set_callbacks(cbs, user_data);
        s.host_changed();
        s.reset_clock();
    })
}

/// Restores term and vote read back from disk (nothing is persisted).
/// Accepted before or after the log entries are restored. -1 for a term
/// outside `0..=RAFT_TERM_MAX` or a vote below RAFT_NODE_ID_NONE.
#[no_mangle]
pub extern "C" fn raft_restore_metadata(me: *mut raft_server_t, term: raft_term_t, vote: raft_node_id_t) -> c_int {
    server_rc(me, |s| s.restore_metadata(term, vote))
}

/// Adds a voting node, or makes an existing non-voting node a voter.
/// NULL if a voting node with this id exists, for a negative id, or for a
/// second node with `is_self` set (the original library accepted the last
/// two).
#[no_mangle]
pub extern "C" fn raft_add_node(
    me: *mut raft_server_t,
    user_data: *mut c_void,
    id: raft_node_id_t,
    is_self: c_int,
) -> *mut raft_node_t {
    with_server(me, ptr::null_mut(), |s| node_ptr(s.add_node(user_data, id, flag(is_self))))
}

/// Adds a non-voting node. NULL if any node with this id exists, for a
/// negative id, or for a second node with `is_self` set.
#[no_mangle]
pub extern "C" fn raft_add_non_voting_node(
    me: *mut raft_server_t,
    udata: *mut c_void,
    id: raft_node_id_t,
    is_self: c_int,
) -> *mut raft_node_t {
    with_server(me, ptr::null_mut(), |s| node_ptr(s.add_non_voting_node(udata, id, flag(is_self))))
}

/// Removes and frees a node (notified as RAFT_MEMBERSHIP_REMOVE first). A
/// node pointer that is not one of this server's is ignored. Removing a node
/// from inside a callback is safe: the library keeps its own reference to a
/// node it is working with until the call ends.
#[no_mangle]
pub extern "C" fn raft_remove_node(me: *mut raft_server_t, node: *mut raft_node_t) {
    with_server(me, (), |s| {
        if let Some(node) = node_of(s, node) {
            s.remove_node(&node)
        }
    })
}

/// Advances time by what the `timestamp` callback (else the monotonic
/// clock) says has passed: elections, heartbeats, check-quorum, transfer
/// timeouts, applying and reads.
#[no_mangle]
pub extern "C" fn raft_periodic(me: *mut raft_server_t) -> c_int {
    server_rc(me, |s| s.periodic())
}

/// `raft_periodic` with an explicit elapsed time; a negative time reads the
/// clock.
#[no_mangle]
pub extern "C" fn raft_periodic_internal(me: *mut raft_server_t, milliseconds: raft_time_t) -> c_int {
    server_rc(me, |s| s.periodic_ms(milliseconds))
}

/// Receives an appendentries message and fills `resp`. The caller keeps its
/// references to the entries (the log takes its own). A message from an
/// unknown node (`node` NULL) is accepted: `leader_id` names the sender.
/// RAFT_ERR_SHUTDOWN when the leader contradicts a committed entry.
/// RAFT_ERR_MISUSE, with nothing changed (`resp` says not successful), for
/// a message no correct leader sends (the original library accepted
/// these): a term, index or commit index outside `0..=RAFT_TERM_MAX` /
/// `0..=RAFT_INDEX_MAX`, a `prev_log_term` above `term`, entries whose
/// terms are negative, fall (below `prev_log_term` or an earlier entry's)
/// or exceed `term`, or entries past RAFT_INDEX_MAX.
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
        *resp = raft_appendentries_resp_t {
            msg_id: req.msg_id,
            term: s.current_term(),
            success: 0,
            current_idx: s.current_idx(),
        };
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
        let r = s.recv_appendentries(&msg)?;
        *resp = raft_appendentries_resp_t {
            msg_id: r.msg_id as raft_msg_id_t,
            term: r.term,
            success: r.success as c_int,
            current_idx: r.current_idx,
        };
        Ok(())
    })
}

/// Receives the answer to an appendentries message. Answers from nodes
/// that are not (or no longer) in the configuration are ignored (0).
/// RAFT_ERR_NOT_LEADER on a server that is not the leader; RAFT_ERR_MISUSE
/// (nothing changed) for a term or `current_idx` out of range.
#[no_mangle]
pub unsafe extern "C" fn raft_recv_appendentries_response(
    me: *mut raft_server_t,
    node: *mut raft_node_t,
    resp: *mut raft_appendentries_resp_t,
) -> c_int {
    // SAFETY: resp is NULL or valid for the call.
    let Some(resp) = (unsafe { resp.as_ref() }) else { return RaftError::Misuse.code() };
    let resp = core::AppendEntriesResponse {
        msg_id: resp.msg_id,
        term: resp.term,
        success: resp.success != 0,
        current_idx: resp.current_idx,
    };
    server_rc(me, |s| s.recv_appendentries_response(node_of(s, node).as_ref(), &resp))
}

/// Receives a snapshot chunk and fills `resp` (the offset it expects next).
/// RAFT_ERR_MISUSE, with nothing changed, for a term or index out of range,
/// a `snapshot_term` above the message's `term`, or a chunk whose
/// `offset + len` does not fit in 64 bits (the original accepted these).
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
        let r = s.recv_snapshot(node_of(s, node).as_ref(), &msg)?;
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

/// Receives the answer to a snapshot chunk. RAFT_ERR_MISUSE (nothing
/// changed) for a term out of range.
#[no_mangle]
pub unsafe extern "C" fn raft_recv_snapshot_response(
    me: *mut raft_server_t,
    node: *mut raft_node_t,
    resp: *mut raft_snapshot_resp_t,
) -> c_int {
    // SAFETY: resp is NULL or valid for the call.
    let Some(r) = (unsafe { resp.as_ref() }) else { return RaftError::Misuse.code() };
    let resp = core::SnapshotResponse {
        msg_id: r.msg_id,
        term: r.term,
        offset: r.offset,
        success: r.success != 0,
        last_chunk: r.last_chunk != 0,
    };
    server_rc(me, |s| s.recv_snapshot_response(node_of(s, node).as_ref(), &resp))
}

/// Receives a (pre-)vote request and fills `resp`. RAFT_ERR_MISUSE, with
/// nothing changed (no vote), for a term or index out of range, a
/// `last_log_term` above `term`, or a negative `candidate_id`.
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
            vote_granted: r.vote_granted,
        };
        Ok(())
    })
}

/// Receives the answer to a (pre-)vote request. RAFT_ERR_SHUTDOWN (or the
/// persist_metadata callback's code) when the new term or vote could not be
/// persisted; RAFT_ERR_MISUSE (nothing changed) for a term out of range;
/// RAFT_ERR_MISUSE too when the election it would start needs a term past
/// RAFT_TERM_MAX.
#[no_mangle]
pub unsafe extern "C" fn raft_recv_requestvote_response(
    me: *mut raft_server_t,
    node: *mut raft_node_t,
    req: *mut raft_requestvote_resp_t,
) -> c_int {
    // SAFETY: req is NULL or valid for the call.
    let Some(r) = (unsafe { req.as_ref() }) else { return RaftError::Misuse.code() };
    let resp = RequestVoteResponse {
        prevote: r.prevote != 0,
        request_term: r.request_term,
        term: r.term,
        vote_granted: r.vote_granted,
    };
    server_rc(me, |s| s.recv_requestvote_response(node_of(s, node).as_ref(), &resp))
}

/// Appends a client's entry on the leader (its term is set to the current
/// term) and replicates it. The caller keeps its own reference and releases
/// it after the call. `resp` (may be NULL) gets id, term and index.
/// Once the entry is appended the call returns 0 and fills `resp`, even if
/// what auto flush does next fails: a failed `applylog` is retried, and its
/// error returned, by the next `raft_periodic` (or `raft_apply_all`); an
/// entry whose sync failed counts as stored on this leader only once a
/// later sync covers it. (The original library returned such an error for
/// an entry it had appended, and left `resp` unfilled.)
/// RAFT_ERR_MISUSE for an entry of type RAFT_LOGTYPE_NO_OP (the leader's
/// own) or of a negative type; RAFT_ERR_INVALID_NODEID for a
/// configuration change whose `get_node_id` names a negative id (the
/// original library accepted all three); RAFT_ERR_MISUSE once the log has
/// reached RAFT_INDEX_MAX.
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
    // The common case calls nothing back, so it needs none of with_server's
    // bookkeeping for callbacks (re-entry depth, panics).
    if let Some(r) = quiet_server(me).and_then(|s| s.recv_entry_quietly(&entry)) {
        // SAFETY: resp is NULL or the caller's out-struct.
        unsafe { answer_entry(resp, r) };
        return 0;
    }
    // SAFETY: resp as the C caller passed it.
    unsafe { recv_entry_with_callbacks(me, entry, resp) }
}

/// `raft_recv_entry` when the entry may be refused or may run callbacks.
///
/// # Safety
/// `resp` is NULL or the caller's out-struct.
#[inline(never)]
unsafe fn recv_entry_with_callbacks(
    me: *mut raft_server_t,
    entry: ManuallyDrop<EntryPtr>,
    resp: *mut raft_entry_resp_t,
) -> c_int {
    server_rc(me, |s| {
        // SAFETY: the caller's guarantee on resp.
        unsafe { answer_entry(resp, s.recv_entry(&entry)?) };
        Ok(())
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

/// Applies every committed entry now, without the time limit of
/// `raft_periodic`. RAFT_ERR_SHUTDOWN when applylog asks for it. From a
/// callback of a running apply it does nothing: that apply goes on, so no
/// entry reaches applylog twice.
#[no_mangle]
pub extern "C" fn raft_apply_all(me: *mut raft_server_t) -> c_int {
    server_rc(me, |s| s.apply_all())
}

/// Becomes leader at once (dangerous: for tests and tools).
#[no_mangle]
pub extern "C" fn raft_become_leader(me: *mut raft_server_t) -> c_int {
    server_rc(me, |s| s.become_leader())
}

/// Becomes follower; the term is unchanged.
#[no_mangle]
pub extern "C" fn raft_become_follower(me: *mut raft_server_t) {
    with_server(me, (), |s| s.become_follower())
}

/// Starts a snapshot at the last applied entry (everything committed is
/// applied first). -1 when there is nothing new to snapshot,
/// RAFT_ERR_SNAPSHOT_IN_PROGRESS when one is under way.
#[no_mangle]
pub extern "C" fn raft_begin_snapshot(me: *mut raft_server_t) -> c_int {
    server_rc(me, |s| s.begin_snapshot())
}

/// Ends the snapshot: the log is compacted (polled) up to its last index.
/// -1 when no snapshot is in progress.
#[no_mangle]
pub extern "C" fn raft_end_snapshot(me: *mut raft_server_t) -> c_int {
    server_rc(me, |s| s.end_snapshot())
}

/// Abandons the snapshot in progress; the log is untouched. -1 when none.
#[no_mangle]
pub extern "C" fn raft_cancel_snapshot(me: *mut raft_server_t) -> c_int {
    server_rc(me, |s| s.cancel_snapshot())
}

/// Restores the snapshot's position on restart (before the log entries and
/// metadata). RAFT_ERR_MISUSE once the server has started; -1 for a term or
/// index outside `0..=RAFT_TERM_MAX` / `0..=RAFT_INDEX_MAX`.
#[no_mangle]
pub extern "C" fn raft_restore_snapshot(
    me: *mut raft_server_t,
    last_included_term: raft_term_t,
    last_included_index: raft_index_t,
) -> c_int {
    server_rc(me, |s| s.restore_snapshot(last_included_term, last_included_index))
}

/// Starts loading a received snapshot: the log is emptied and every node
/// but this server is removed; re-add them from the snapshot, then call
/// `raft_end_load_snapshot`. RAFT_ERR_SNAPSHOT_ALREADY_LOADED for the
/// snapshot already loaded, RAFT_ERR_MISUSE for a snapshot not past the
/// commit index or out of range (above RAFT_TERM_MAX / RAFT_INDEX_MAX).
#[no_mangle]
pub extern "C" fn raft_begin_load_snapshot(
    me: *mut raft_server_t,
    last_included_term: raft_term_t,
    last_included_index: raft_index_t,
) -> c_int {
    server_rc(me, |s| s.begin_load_snapshot(last_included_term, last_included_index))
}

/// Ends loading a snapshot: the membership it configured is committed.
#[no_mangle]
pub extern "C" fn raft_end_load_snapshot(me: *mut raft_server_t) -> c_int {
    server_rc(me, |s| s.end_load_snapshot())
}

/// Sets the snapshot's last index and term without touching the log.
/// Ignored for a term or index out of range.
#[no_mangle]
pub extern "C" fn raft_set_snapshot_metadata(me: *mut raft_server_t, term: raft_term_t, idx: raft_index_t) {
    with_server(me, (), |s| s.set_snapshot_metadata(term, idx))
}

/// Records (and persists) a vote for `node`; NULL votes for nobody.
#[no_mangle]
pub extern "C" fn raft_vote(me: *mut raft_server_t, node: *mut raft_node_t) -> c_int {
    server_rc(me, |s| s.vote(node_of(s, node).as_ref()))
}

/// Records (and persists) a vote for the node with this id
/// (RAFT_NODE_ID_NONE: nobody). RAFT_ERR_INVALID_NODEID, with nothing
/// persisted, for any other negative id (the original library accepted
/// it). An id not (yet) in the configuration is accepted: a restarting
/// program restores its vote before the entries that add the nodes.
#[no_mangle]
pub extern "C" fn raft_vote_for_nodeid(me: *mut raft_server_t, nodeid: raft_node_id_t) -> c_int {
    if nodeid < RAFT_NODE_ID_NONE {
        return RaftError::InvalidNodeId.code();
    }
    server_rc(me, |s| s.vote_for(nodeid))
}

/// Moves to a later term (persisted, vote cleared); an earlier or equal
/// term is a no-op. RAFT_ERR_MISUSE for a term above RAFT_TERM_MAX.
#[no_mangle]
pub extern "C" fn raft_set_current_term(me: *mut raft_server_t, term: raft_term_t) -> c_int {
    server_rc(me, |s| s.set_current_term(term))
}

/// Sets the commit index (restoring state); ignored outside [0, current index].
#[no_mangle]
pub extern "C" fn raft_set_commit_idx(me: *mut raft_server_t, commit_idx: raft_index_t) {
    with_server(me, (), |s| s.set_commit_idx(commit_idx))
}

/// Appends an entry to the log as it is (restoring state); a configuration
/// change takes effect. The caller keeps its reference. RAFT_ERR_MISUSE
/// for an entry whose term is outside `0..=RAFT_TERM_MAX`, or a log that
/// has reached RAFT_INDEX_MAX.
#[no_mangle]
pub unsafe extern "C" fn raft_append_entry(me: *mut raft_server_t, ety: *mut raft_entry_t) -> c_int {
    // SAFETY: the caller holds a reference on ety for the call.
    let Some(entry) = (unsafe { EntryPtr::hold(ety) }) else { return RaftError::Misuse.code() };
    server_rc(me, |s| s.append_entry(&entry))
}

/// Removes the newest entry unless it is committed (-1 then), undoing a
/// configuration change it carried.
#[no_mangle]
pub extern "C" fn raft_pop_entry(me: *mut raft_server_t) -> c_int {
    server_rc(me, |s| s.pop_entry())
}

/// 1 if the entry `r` describes is committed, 0 if not yet (or unknown),
/// -1 if another leader's entry replaced it.
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

/// Lets a configuration entry at `idx` take effect (as appending it does).
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

/// Queues a linearizable read: `cb(cb_arg, 1)` once a majority has
/// confirmed this leader after the request and the state machine has caught
/// up with the commit index of that moment; `cb(cb_arg, 0)` if leadership
/// is lost first. RAFT_ERR_NOT_LEADER on a non-leader (cb is not called).
#[no_mangle]
pub extern "C" fn raft_recv_read_request(
    me: *mut raft_server_t,
    cb: raft_read_request_callback_f,
    cb_arg: *mut c_void,
) -> c_int {
    if cb.is_none() {
        return RaftError::Misuse.code();
    }
    server_rc(me, |s| s.recv_read_request(ReadRequest { cb, arg: cb_arg }))
}

/// Starts a leadership transfer to `node_id` (RAFT_NODE_ID_NONE: the voter
/// with the most entries) within `timeout` ms (0: one election timeout).
/// RAFT_ERR_NOT_LEADER, RAFT_ERR_LEADER_TRANSFER_IN_PROGRESS, or
/// RAFT_ERR_INVALID_NODEID for an unknown, non-voting or own id.
#[no_mangle]
pub extern "C" fn raft_transfer_leader(me: *mut raft_server_t, node_id: raft_node_id_t, timeout: c_long) -> c_int {
    server_rc(me, |s| s.transfer_leader(node_id, timeout))
}

/// The target of the transfer in progress, or RAFT_NODE_ID_NONE.
#[no_mangle]
pub extern "C" fn raft_get_transfer_leader(me: *mut raft_server_t) -> raft_node_id_t {
    with_server(me, RAFT_NODE_ID_NONE, |s| s.transfer_target())
}

/// Campaigns at once, skipping pre-vote (on receiving timeoutnow).
/// RAFT_ERR_MISUSE on a server that may not campaign (non-voting).
#[no_mangle]
pub extern "C" fn raft_timeout_now(me: *mut raft_server_t) -> c_int {
    server_rc(me, |s| s.timeout_now())
}

/// With auto flush off: the leader's log is durable up to `sync_index`
/// (0: unchanged). Commits, sends new entries, applies and answers reads.
#[no_mangle]
pub extern "C" fn raft_flush(me: *mut raft_server_t, sync_index: raft_index_t) -> c_int {
    server_rc(me, |s| s.flush(sync_index))
}

/// With auto flush off, on the leader: the newest index to make durable,
/// each reported once; 0 when there is none.
#[no_mangle]
pub extern "C" fn raft_get_index_to_sync(me: *mut raft_server_t) -> raft_index_t {
    with_server(me, 0, |s| s.index_to_sync())
}

/// Non-zero when committed entries wait to be applied or reads to be
/// answered (a call returned early to keep the server responsive).
#[no_mangle]
pub extern "C" fn raft_pending_operations(me: *mut raft_server_t) -> c_int {
    with_server(me, 0, |s| s.pending_operations() as c_int)
}
