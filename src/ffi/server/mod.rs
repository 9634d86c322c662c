//! Server lifecycle and the protocol entry points of `raft.h`.
//!
//! A server is boxed once in `raft_new` and freed only by `raft_destroy`.
//! Every call on it (but `raft_destroy`, which guards itself, and
//! `raft_get_udata`, a field read) runs through [`with_server`]: a NULL
//! handle gets the function's error value, a panic poisons the server (later calls get
//! `RAFT_ERR_SHUTDOWN`), and a call depth counter lets `raft_destroy`
//! refuse to free a server from inside one of its own callbacks. Teardown
//! is one-way: once `raft_destroy` has begun, every call on the server
//! (from a `log_clear` observer or an entry's `free_func` run by the
//! teardown) is refused with the function's error value.

mod lifecycle;
mod messages;
mod roles;
mod snapshot;
mod control;

pub use self::control::*;
pub use self::lifecycle::*;
pub use self::messages::*;
pub use self::roles::*;
pub use self::snapshot::*;

use crate::ffi::ErrorCode;
use std::cell::Cell;
use std::ffi::{c_int, c_void};
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::ptr;
use std::rc::Rc;
use std::sync::{Mutex, MutexGuard};

use super::host::CHost;
use super::log_impl::{raft_log, LogBackend};
use super::types::*;
use super::code;
use super::node::CNode;
use crate::core::{self, RaftError, Server};

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
    // Both flags at once (`|`): one test on every call.
    if server.poisoned.get() | server.closing.get() {
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
pub(crate) fn node_of(server: &CoreServer, node: *mut raft_node_t) -> Option<Rc<CNode>> {
    if node.is_null() {
        return None;
    }
    server.node_at_address(node as *const CNode)
}

pub(crate) fn node_ptr(node: Option<Rc<CNode>>) -> *mut raft_node_t {
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
        // server is boxed around a placeholder log first. Out of memory
        // gives NULL (the box and the placeholder are the only allocations
        // before the log's own).
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
