//! Extensions beyond the original header (additions only; nothing of the
//! original's layout changes): the limits on terms and indexes, and the
//! seed of a server's random numbers.

use std::ffi::{c_int, c_ulonglong};

use super::server::server_rc;
use super::types::*;
use crate::core;

/// The largest term libraft accepts or reaches: 2^62 - 1. A term above it
/// (or below 0) in a message, on restore or in `raft_set_current_term` is
/// refused with an error, and an election that would need a larger term is
/// refused (RAFT_ERR_MISUSE), so terms never wrap.
pub const RAFT_TERM_MAX: raft_term_t = 4611686018427387903;

/// The largest log index libraft accepts: 2^62 - 1. An index above it (or
/// below 0) in a message, a snapshot or a restore is refused with an error.
pub const RAFT_INDEX_MAX: raft_index_t = 4611686018427387903;

// Written out for cbindgen; the core's limits are the ones enforced.
const _: () = assert!(RAFT_TERM_MAX == core::TERM_MAX && RAFT_INDEX_MAX == core::INDEX_MAX);

/// Fixes the seed of this server's random numbers (its randomised election
/// timeouts), for repeatable runs: a simulator or test gives each server
/// its own fixed seed. The election timeout is drawn again at once. By
/// default every server is seeded from the system (random bytes from the
/// kernel, the time, the process id), so servers in different processes,
/// or created together in one, draw different timeouts. (The original
/// library drew from libc's `rand()`, which nothing seeded: every process
/// drew the same timeouts; `srand()` no longer affects libraft.)
/// RAFT_ERR_MISUSE for a NULL server.
#[no_mangle]
pub unsafe extern "C" fn raft_set_random_seed(me: *mut raft_server_t, seed: c_ulonglong) -> c_int {
    server_rc(me, |s| {
        s.host().set_random_seed(seed);
        s.randomize_election_timeout();
        Ok(())
    })
}
