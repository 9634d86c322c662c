//! Applying everything committed and changing role by hand.

use std::ffi::c_int;

use super::*;
use crate::ffi::types::*;

/// Applies every committed entry now, without the time limit that
/// `raft_periodic` keeps to. From inside `applylog` (or another callback of a
/// running apply) it does nothing and returns 0: the running apply goes on,
/// so no entry is applied twice.
/// @param me the server
/// @return 0; RAFT_ERR_SHUTDOWN (or another code) when `applylog` returned
/// it; RAFT_ERR_MISUSE for NULL.
#[no_mangle]
pub unsafe extern "C" fn raft_apply_all(me: *mut raft_server_t) -> c_int {
    server_rc(me, |s| s.apply_all())
}

/// Makes the server leader at once, in its current term, without an election
/// (it appends a RAFT_LOGTYPE_NO_OP entry, syncs its whole log with the log's
/// `sync` whatever RAFT_CONFIG_AUTO_FLUSH says, and sends appendentries; a
/// sole voter thereby commits at once). Unsafe in a real cluster with other
/// voters: for tests, tools and bootstrapping a new cluster (see the guide).
/// Out of memory (the no-op entry): RAFT_ERR_NOMEM, and nothing changes.
/// `notify_state_event` reports the new role before the no-op is appended,
/// with the leadership already set up (a proposal or read request made
/// there counts as this leadership's); should it end the leadership (a
/// message of a newer term), nothing is appended or sent and 0 is returned.
/// @param me the server
/// @return 0; a log or sync error; RAFT_ERR_MISUSE for NULL.
#[no_mangle]
pub unsafe extern "C" fn raft_become_leader(me: *mut raft_server_t) -> c_int {
    server_rc(me, |s| s.become_leader())
}

/// Makes the server follower in its current term and restarts its election
/// timer. Pending read requests of a leader are answered with `can_read` 0.
/// @param me the server; NULL is ignored
#[no_mangle]
pub unsafe extern "C" fn raft_become_follower(me: *mut raft_server_t) {
    with_server(me, (), |s| s.become_follower())
}
