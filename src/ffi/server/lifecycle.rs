//! Creating and destroying a server, its callbacks, its restored metadata,
//! its node list, and its clock (`raft_periodic`).

use std::ffi::{c_int, c_void};
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::ptr;

use super::*;
use crate::ffi::flag;
use crate::ffi::node::UserData;
use crate::ffi::log_impl::{raft_log, LogBackend};
use crate::ffi::types::*;

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
    if ptr::eq(log_impl, &crate::ffi::log_impl::raft_log_internal_impl) {
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
    if server.depth.get() > 0 || server.is_closing() {
        return;
    }
    if let LogBackend::Builtin(log) = &server.core.host().log {
        if log.is_busy() {
            return;
        }
    }
    server.refuse(CLOSING);
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
pub unsafe extern "C" fn raft_clear(me: *mut raft_server_t) {
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
pub unsafe extern "C" fn raft_restore_metadata(me: *mut raft_server_t, term: raft_term_t, vote: raft_node_id_t) -> c_int {
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
/// Out of memory: NULL, and nothing changes.
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
pub unsafe extern "C" fn raft_add_node(
    me: *mut raft_server_t,
    user_data: *mut c_void,
    id: raft_node_id_t,
    is_self: c_int,
) -> *mut raft_node_t {
    with_server(me, ptr::null_mut(), |s| node_ptr(s.add_node(UserData(user_data), id, flag(is_self))))
}

/// Adds a non-voting node: it receives the log but neither votes nor counts
/// in majorities. Like `raft_add_node`, a change of this server's view only.
/// Out of memory: NULL, and nothing changes.
/// @param me the server
/// @param udata the node's user data
/// @param id the node's id; not negative
/// @param is_self non-zero for this server's own node
/// @return the node; NULL if any node with that id exists, for a negative
/// id, for a second node with `is_self` set, and for a NULL server.
#[no_mangle]
pub unsafe extern "C" fn raft_add_non_voting_node(
    me: *mut raft_server_t,
    udata: *mut c_void,
    id: raft_node_id_t,
    is_self: c_int,
) -> *mut raft_node_t {
    with_server(me, ptr::null_mut(), |s| node_ptr(s.add_non_voting_node(UserData(udata), id, flag(is_self))))
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
pub unsafe extern "C" fn raft_remove_node(me: *mut raft_server_t, node: *mut raft_node_t) {
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
/// Out of memory where the step needs it (a sole voter becoming leader):
/// RAFT_ERR_NOMEM, with nothing left half done; the next call tries again.
/// @param me the server
/// @return 0; the code `applylog` returned when it failed (RAFT_ERR_SHUTDOWN:
/// stop the server); the `persist_metadata` callback's code when starting an
/// election could not persist; a log append or `sync` error when becoming
/// leader; RAFT_ERR_MISUSE for NULL; RAFT_ERR_SHUTDOWN for a poisoned server.
/// Messages that fail to send are not errors (they are retried).
#[no_mangle]
pub unsafe extern "C" fn raft_periodic(me: *mut raft_server_t) -> c_int {
    server_rc(me, |s| s.periodic())
}

/// `raft_periodic` with an explicit elapsed time; a negative time reads the
/// clock.
#[no_mangle]
pub unsafe extern "C" fn raft_periodic_internal(me: *mut raft_server_t, milliseconds: raft_time_t) -> c_int {
    server_rc(me, |s| s.periodic_ms(milliseconds))
}
