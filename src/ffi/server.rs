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
use std::sync::{Mutex, MutexGuard};

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

/// For functions returning a status code: NULL gives `RAFT_ERR_MISUSE`; a
/// poisoned server or a panic gives `RAFT_ERR_SHUTDOWN`.
pub(crate) fn server_rc(me: *mut raft_server_t, f: impl FnOnce(&CoreServer) -> core::Result<()>) -> c_int {
    if me.is_null() {
        return RaftError::Misuse.code();
    }
    with_server(me, RaftError::Shutdown.code(), |s| code(f(s)))
}

/// Addresses of the servers alive now (made by `raft_new*`, not yet
/// destroyed), so that a pointer an application hands over in an untyped
/// argument (`raft_log_set_callbacks`' `raft`) is read only if it is one.
static LIVE_SERVERS: Mutex<Vec<usize>> = Mutex::new(Vec::new());

fn live_servers() -> MutexGuard<'static, Vec<usize>> {
    LIVE_SERVERS.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// Room in the list for one more server (`raft_new` fails without it).
fn reserve_server_slot() -> bool {
    live_servers().try_reserve(1).is_ok()
}

/// Gives the list's memory back if no server is left (a `raft_new` that
/// reserved room failed).
fn release_server_slot() {
    let mut live = live_servers();
    if live.is_empty() {
        *live = Vec::new();
    }
}

/// Records a new server (room was reserved first; should another thread
/// have taken it and the list cannot grow, the server is simply not found
/// by `live_user_data`: its standalone logs' observers get NULL).
fn register_server(me: *mut raft_server_t) {
    let mut live = live_servers();
    if live.try_reserve(1).is_ok() {
        live.push(me as usize);
    }
}

fn unregister_server(me: *mut raft_server_t) {
    let mut live = live_servers();
    live.retain(|&p| p != me as usize);
    if live.is_empty() {
        // No allocation outlives the last server (the heap hooks may change
        // once none is left).
        *live = Vec::new();
    }
}

/// The user data of the server at `raft` if it is a live server, else NULL.
pub(crate) fn live_user_data(raft: *mut c_void) -> *mut c_void {
    if raft.is_null() || !live_servers().contains(&(raft as usize)) {
        return ptr::null_mut();
    }
    user_data_of(raft as *mut raft_server_t)
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
    if !reserve_server_slot() {
        return ptr::null_mut();
    }
    let me = new_server_in_slot(log);
    if me.is_null() {
        release_server_slot();
    }
    me
}

fn new_server_in_slot(log: impl FnOnce(*mut raft_server_t) -> Option<LogBackend>) -> *mut raft_server_t {
    super::guard(ptr::null_mut(), || {
        // The log needs the server's address (its init gets `raft`), so the
        // server is boxed around a placeholder log first.
        // Out of memory gives NULL (the box and the placeholder are the
        // only allocations before the log's own).
        let Some(placeholder) = raft_log::new(0) else { return ptr::null_mut() };
        let Some(boxed) = super::heap::try_box(RaftServer {
            core: Server::new(CHost::new(LogBackend::Builtin(placeholder))),
            depth: Cell::new(0),
            poisoned: Cell::new(false),
            closing: Cell::new(false),
        }) else {
            return ptr::null_mut();
        };
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
        register_server(me);
        me
    })
}

/// Creates a server that keeps its log in memory (the built-in log). It has
/// no nodes and no callbacks yet: set the callbacks (`raft_set_callbacks`),
/// add the nodes (`raft_add_node`, one with `is_self`), restore persisted
/// state if any, then drive it with `raft_periodic` and the `raft_recv_*`
/// functions. Defaults: election timeout 1000 ms, request (heartbeat) timeout
/// 200 ms, auto flush on, logging off.
/// @return the server, to be freed with `raft_destroy`; NULL if allocation
/// failed.
#[no_mangle]
pub extern "C" fn raft_new() -> *mut raft_server_t {
    new_server(|_| raft_log::new(0).map(LogBackend::Builtin))
}

/// Creates a server whose log is the application's (for example a log on
/// disk). `log_impl->init(raft, log_arg)` is called once, now; its return
/// value is the handle passed to every other member of `log_impl`, and
/// `free` is called with it by `raft_destroy`. The table is copied. See
/// `raft_log_impl_t` for what each member must do. Passing
/// `&raft_log_internal_impl` is the same as `raft_new()`.
/// @param log_impl the log implementation; `init` must not be NULL
/// @param log_arg passed to `init` as is
/// @return the server; NULL if `log_impl` or its `init` is NULL, if `init`
/// returned NULL, or if allocation failed.
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
/// (`RAFT_ERR_SHUTDOWN`, NULL, 0, or nothing). Pending read requests are
/// dropped without being called back. Node handles of the server become
/// invalid. Called from inside one of this server's callbacks, or while a
/// compat `raft_log_*` call on its log is in progress (from an observer or a
/// `free_func` that call runs), it does nothing: destroy the server after
/// the outermost call has returned.
/// @param me the server; NULL is ignored
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
    unregister_server(me);
    let _ = catch_unwind(|| {
        // SAFETY: me came from Box::into_raw in raft_new; no call is in
        // progress on it and, closing being set, none can start, so this
        // is the only use of the pointer from here on.
        drop(unsafe { Box::from_raw(me as *mut RaftServer) });
    });
}

/// Forgets the server's persistent and volatile state: term 0, no vote,
/// follower, commit and applied indexes 0, no snapshot, and an empty log
/// (entries released). Nodes, callbacks and options are kept. Nothing is
/// persisted. For tests and for a server that must start over.
/// @param me the server; NULL is ignored
#[no_mangle]
pub extern "C" fn raft_clear(me: *mut raft_server_t) {
    with_server(me, (), |s| s.clear())
}

/// Installs the application's callbacks. The table is copied: it may be a
/// temporary. Every callback gets `user_data` (the log observers of
/// `raft_log_cbs_t` too, see there). A NULL member is a callback the
/// application does not provide; see `raft_cbs_t` for what each one does and
/// what happens without it. Call it once after `raft_new`, before adding
/// nodes (`notify_membership_event` then hears of them); calling it again
/// replaces the whole table. The clock of `raft_periodic` is re-read, so
/// elapsed time counts from here.
/// @param me the server; NULL is ignored
/// @param funcs the callbacks; NULL is refused and nothing changes (the
/// original library installed an empty table, which left committed entries
/// marked applied with no `applylog`)
/// @param user_data any pointer, given back to every callback and by
/// `raft_get_udata`
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

/// Restart: sets the term and vote read back from stable storage (what the
/// `persist_metadata` callback last wrote). Nothing is persisted. Call it
/// before the server runs, after `raft_restore_snapshot` (which sets the
/// term to the snapshot's). Restart order: `raft_restore_snapshot`, then the
/// log (`raft_append_entry` for each entry, or `raft_restore_log` for a log
/// that loaded its entries itself), then this. Calling it before the log is
/// restored works too.
/// @param me the server
/// @param term the persisted term, in `0..=RAFT_TERM_MAX`
/// @param vote the persisted vote, or RAFT_NODE_ID_NONE
/// @return 0; -1 for a term outside `0..=RAFT_TERM_MAX` or a vote below
/// RAFT_NODE_ID_NONE; RAFT_ERR_MISUSE for NULL.
#[no_mangle]
pub extern "C" fn raft_restore_metadata(me: *mut raft_server_t, term: raft_term_t, vote: raft_node_id_t) -> c_int {
    server_rc(me, |s| s.restore_metadata(term, vote))
}

/// Adds a voting node to this server's node list, or makes a non-voting node
/// with that id a voter. This changes this server's view only, with no log
/// entry: use it to set up the initial configuration (every server of a new
/// cluster adds the same voters; or see the guide for bootstrapping one
/// server and growing the cluster with configuration entries) and when
/// loading a snapshot, which carries the configuration. Nodes that
/// configuration entries add are created by the library (then
/// `notify_membership_event` reports them). May be called from callbacks.
/// @param me the server
/// @param user_data the node's user data (`raft_node_get_udata`); ignored when
/// an existing non-voting node is promoted
/// @param id the node's id; not negative
/// @param is_self non-zero for this server's own node (exactly one node per
/// server)
/// @return the node; NULL if a voting node with that id exists already, for
/// a negative id, for a second node with `is_self` set (the original library
/// accepted the last two), and for a NULL server.
#[no_mangle]
pub extern "C" fn raft_add_node(
    me: *mut raft_server_t,
    user_data: *mut c_void,
    id: raft_node_id_t,
    is_self: c_int,
) -> *mut raft_node_t {
    with_server(me, ptr::null_mut(), |s| node_ptr(s.add_node(user_data, id, flag(is_self))))
}

/// Adds a non-voting node: it receives the log but neither votes nor counts
/// in majorities. Like `raft_add_node`, a change of this server's view only.
/// @param me the server
/// @param udata the node's user data
/// @param id the node's id; not negative
/// @param is_self non-zero for this server's own node
/// @return the node; NULL if any node with that id exists, for a negative
/// id, for a second node with `is_self` set, and for a NULL server.
#[no_mangle]
pub extern "C" fn raft_add_non_voting_node(
    me: *mut raft_server_t,
    udata: *mut c_void,
    id: raft_node_id_t,
    is_self: c_int,
) -> *mut raft_node_t {
    with_server(me, ptr::null_mut(), |s| node_ptr(s.add_non_voting_node(udata, id, flag(is_self))))
}

/// Removes a node from this server's node list at once, with no log entry
/// (`notify_membership_event` reports RAFT_MEMBERSHIP_REMOVE first), and
/// frees it; its handle becomes invalid. If it was the leader this server
/// knew of, the leader becomes unknown. To remove a node from the cluster,
/// propose a RAFT_LOGTYPE_REMOVE_NODE entry on the leader instead (each
/// server then takes the node out of its list once it applies the entry).
/// Safe from inside callbacks: the library keeps a node it is working with
/// alive until the call ends.
/// @param me the server; NULL is ignored
/// @param node one of this server's nodes; any other pointer is ignored
#[no_mangle]
pub extern "C" fn raft_remove_node(me: *mut raft_server_t, node: *mut raft_node_t) {
    with_server(me, (), |s| {
        if let Some(node) = node_of(s, node) {
            s.remove_node(&node)
        }
    })
}

/// Advances the server's time: call it regularly from the event loop, every
/// few tens of milliseconds (well under the request timeout, 200 ms by
/// default; for example every 10 to 100 ms). Time is read from the
/// `timestamp` callback, or the monotonic clock without one, in whole
/// milliseconds (the remainder is carried over). Depending on the role and
/// the time elapsed it starts a (pre-)election when the election timeout
/// (randomised between 1x and 2x RAFT_CONFIG_ELECTION_TIMEOUT) runs out, makes
/// a sole voter leader, sends heartbeats every request timeout, steps a
/// leader down when it has not heard from a majority within two election
/// timeouts, times out a leadership transfer, applies committed entries
/// (through `applylog`, for at most about half a request timeout per call)
/// and answers read requests that are ready. When `raft_pending_operations`
/// then returns non-zero, call it again soon rather than after the usual
/// period.
/// @param me the server
/// @return 0; the code `applylog` returned when it failed (RAFT_ERR_SHUTDOWN:
/// stop the server); the `persist_metadata` callback's code when starting an
/// election could not persist; a log append or `sync` error when becoming
/// leader; RAFT_ERR_MISUSE for NULL; RAFT_ERR_SHUTDOWN for a poisoned server.
/// Messages that fail to send are not errors (they are retried).
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
/// @param me the server
/// @param node the sender's node, or NULL: not used (the sender is
/// `req->leader_id`), so messages from nodes this server does not know yet
/// are accepted
/// @param req the message; its entries stay the caller's (the log takes its
/// own references to those it keeps), so release them after the call
/// @param resp filled in on return 0, and on most errors
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
        let r = s.recv_appendentries(&msg);
        s.note_msg_seen(req.leader_id, req.msg_id);
        let r = r?;
        *resp = raft_appendentries_resp_t {
            msg_id: r.msg_id as raft_msg_id_t,
            term: r.term,
            success: r.success as c_int,
            current_idx: r.current_idx,
        };
        Ok(())
    })
}

/// Handles a follower's answer to an appendentries message, on the leader:
/// updates what the follower holds, commits what a majority holds, sends it
/// what it still lacks, notices caught-up non-voting nodes
/// (`node_has_sufficient_logs`) and a transfer target ready for
/// `send_timeoutnow`, and applies. Answers are matched to requests by
/// `msg_id`, so stale, duplicate and reordered answers are harmless. An
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
/// bits (the original accepted these).
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
            vote_granted: r.vote_granted,
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
        vote_granted: r.vote_granted,
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
/// @param me the server
/// @param req the entry (from `raft_entry_new` or built by the caller as one
/// block); the caller keeps its reference and releases it after the call,
/// the log takes its own
/// @param resp filled in on success; may be NULL
/// @return 0; RAFT_ERR_NOT_LEADER on a server that is not the leader (send the
/// client to `raft_get_leader_id`); RAFT_ERR_LEADER_TRANSFER_IN_PROGRESS
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

/// Applies every committed entry now, without the time limit that
/// `raft_periodic` keeps to. From inside `applylog` (or another callback of a
/// running apply) it does nothing and returns 0: the running apply goes on,
/// so no entry is applied twice.
/// @param me the server
/// @return 0; RAFT_ERR_SHUTDOWN (or another code) when `applylog` returned
/// it; RAFT_ERR_MISUSE for NULL.
#[no_mangle]
pub extern "C" fn raft_apply_all(me: *mut raft_server_t) -> c_int {
    server_rc(me, |s| s.apply_all())
}

/// Makes the server leader at once, in its current term, without an election
/// (it appends a RAFT_LOGTYPE_NO_OP entry, syncs its whole log with the log's
/// `sync` whatever RAFT_CONFIG_AUTO_FLUSH says, and sends appendentries; a
/// sole voter thereby commits at once). Unsafe in a real cluster with other
/// voters: for tests, tools and bootstrapping a new cluster (see the guide).
/// @param me the server
/// @return 0; a log or sync error; RAFT_ERR_MISUSE for NULL.
#[no_mangle]
pub extern "C" fn raft_become_leader(me: *mut raft_server_t) -> c_int {
    server_rc(me, |s| s.become_leader())
}

/// Makes the server follower in its current term and restarts its election
/// timer. Pending read requests of a leader are answered with `can_read` 0.
/// @param me the server; NULL is ignored
#[no_mangle]
pub extern "C" fn raft_become_follower(me: *mut raft_server_t) {
    with_server(me, (), |s| s.become_follower())
}

/// Starts taking a snapshot: applies everything committed, then fixes the
/// snapshot point at the last applied entry. Write the state machine as of
/// that entry (`raft_get_last_applied_idx`, `raft_get_last_applied_term`)
/// and the configuration (the nodes, voting or not), then call
/// `raft_end_snapshot`, or `raft_cancel_snapshot` on failure. Meanwhile
/// committed entries are not applied unless RAFT_CONFIG_NONBLOCKING_APPLY is
/// on, and elections do not start on this server.
/// @param me the server
/// @return 0; -1 when there is nothing to snapshot
/// (`raft_get_num_snapshottable_logs` is 0, as while the log holds at most
/// one entry) or nothing was applied since the last snapshot;
/// RAFT_ERR_SNAPSHOT_IN_PROGRESS when one is being taken; an `applylog`
/// error; RAFT_ERR_MISUSE for NULL.
#[no_mangle]
pub extern "C" fn raft_begin_snapshot(me: *mut raft_server_t) -> c_int {
    server_rc(me, |s| s.begin_snapshot())
}

/// Completes the snapshot begun with `raft_begin_snapshot`: the log is
/// compacted up to the snapshot point (oldest entries first, through the
/// log's `poll`), and the snapshot becomes the one sent to followers that
/// need compacted entries. Call it once the snapshot is durable.
/// @param me the server
/// @return 0; -1 when no snapshot is in progress, or when a newer snapshot
/// was loaded from the leader meanwhile (the one taken is obsolete);
/// a `poll` error; RAFT_ERR_MISUSE for NULL.
#[no_mangle]
pub extern "C" fn raft_end_snapshot(me: *mut raft_server_t) -> c_int {
    server_rc(me, |s| s.end_snapshot())
}

/// Abandons the snapshot begun with `raft_begin_snapshot`; the log and the
/// previous snapshot are untouched.
/// @param me the server
/// @return 0; -1 when no snapshot is in progress; RAFT_ERR_MISUSE for NULL.
#[no_mangle]
pub extern "C" fn raft_cancel_snapshot(me: *mut raft_server_t) -> c_int {
    server_rc(me, |s| s.cancel_snapshot())
}

/// Restart: tells a fresh server that its state machine was loaded from a
/// snapshot ending at `last_included_index`. Commit and applied indexes move
/// there, and the log continues after it. The current term becomes the
/// snapshot's term until `raft_restore_metadata` sets the persisted one, as
/// in the original library. Restart order: this (after adding the nodes the
/// snapshot records), then the log (`raft_restore_log` for a log that loaded
/// its entries itself), then `raft_restore_metadata`.
/// @param me the server
/// @param last_included_term term of the snapshot's last entry
/// @param last_included_index index of the snapshot's last entry
/// @return 0; RAFT_ERR_MISUSE for a negative term or index, once the server
/// has started (a term, a commit index, a snapshot or applied entries), and
/// for NULL; -1 for a term or index above RAFT_TERM_MAX / RAFT_INDEX_MAX.
#[no_mangle]
pub extern "C" fn raft_restore_snapshot(
    me: *mut raft_server_t,
    last_included_term: raft_term_t,
    last_included_index: raft_index_t,
) -> c_int {
    server_rc(me, |s| s.restore_snapshot(last_included_term, last_included_index))
}

/// Rebuilds the configuration on restart from the entries a log
/// implementation loaded itself (`raft_new_with_log` with a log that already
/// holds entries): every configuration entry after the snapshot takes effect
/// in order, as appending it would (nodes added, made voting or inactive;
/// the newest voting change is the pending one), without calling the log's
/// `append` nor its observers. Restart order: `raft_restore_snapshot` (if
/// there is a snapshot), then this, then `raft_restore_metadata`.
/// @return 0 on success; RAFT_ERR_MISUSE for a NULL server or once entries
/// past the snapshot have been applied; -1 when the log has no entry at an
/// index between its first and its current index.
#[no_mangle]
pub extern "C" fn raft_restore_log(me: *mut raft_server_t) -> c_int {
    server_rc(me, |s| s.restore_log())
}

/// Starts loading a snapshot received from the leader; call it from the
/// `load_snapshot` callback (a snapshot not loaded by the time that callback
/// returns counts as a failed load). Any snapshot newer than this server's
/// own is loaded, even one its log already covers. The log is emptied (or,
/// when it holds the snapshot's last entry, only compacted up to it, the
/// entries after it staying), the applied index moves to the snapshot (and
/// the commit index too, if it was behind), and every node but this
/// server's own is removed. Then load the state machine, re-add the
/// snapshot's nodes (`raft_add_node`, `raft_add_non_voting_node`) and call
/// `raft_end_load_snapshot`.
/// @param me the server
/// @param last_included_term term of the snapshot's last entry (positive)
/// @param last_included_index index of the snapshot's last entry (positive)
/// @return 0; RAFT_ERR_SNAPSHOT_ALREADY_LOADED for a snapshot not newer than
/// this server's own (its index at or below `raft_get_snapshot_last_idx`);
/// RAFT_ERR_MISUSE for a snapshot behind the last applied index (loading it
/// would move the state machine back), for values that are not positive or
/// above RAFT_TERM_MAX / RAFT_INDEX_MAX, and for NULL.
#[no_mangle]
pub extern "C" fn raft_begin_load_snapshot(
    me: *mut raft_server_t,
    last_included_term: raft_term_t,
    last_included_index: raft_index_t,
) -> c_int {
    server_rc(me, |s| s.begin_load_snapshot(last_included_term, last_included_index))
}

/// Completes loading a snapshot: every node's membership is marked committed
/// (the snapshot carries a committed configuration), then the configuration
/// entries the log kept after the snapshot take effect again on top of it.
/// @param me the server
/// @return 0; -1 when the log has no entry at an index between the
/// snapshot's and its current index; RAFT_ERR_MISUSE for NULL.
#[no_mangle]
pub extern "C" fn raft_end_load_snapshot(me: *mut raft_server_t) -> c_int {
    server_rc(me, |s| s.end_load_snapshot())
}

/// Sets the current snapshot's last index and term, nothing else (the log is
/// not touched). For tools and tests; a restarting program uses
/// `raft_restore_snapshot`.
/// @param me the server; NULL is ignored
/// @param term the term (ignored outside `0..=RAFT_TERM_MAX`)
/// @param idx the index (ignored outside `0..=RAFT_INDEX_MAX`)
#[no_mangle]
pub extern "C" fn raft_set_snapshot_metadata(me: *mut raft_server_t, term: raft_term_t, idx: raft_index_t) {
    with_server(me, (), |s| s.set_snapshot_metadata(term, idx))
}

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
