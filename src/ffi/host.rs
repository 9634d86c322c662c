//! The core's [`Host`], implemented with the application's C callbacks.
//!
//! Callbacks are read one field at a time and called with no Rust borrow
//! of server state held, so they may call back into the library.

use std::cell::Cell;
use std::ffi::{c_int, c_void};
use std::ptr;
use std::rc::Rc;
use std::time::Instant;

use super::entry::{self, EntryPtr};
use super::log_impl::{fill_from_c, LogBackend};
use super::node::{CNode, UserData};
use super::types::*;
use super::{check, error_from_code};
use crate::core::{
    self, ChunkReply, RaftError,
    AppendEntries, Chunk, Host, Index, MembershipEvent, NodeId, RequestVote, Role, SnapshotRequest, Term,
    TransferResult,
};

/// A snapshot chunk's bytes as the application handed them over (the
/// chunk's `data` pointer): the core carries it, the C layer passes it on.
#[derive(Clone, Copy, Debug)]
pub struct ChunkBytes(pub *mut c_void);

impl Default for ChunkBytes {
    fn default() -> Self {
        ChunkBytes(ptr::null_mut())
    }
}

/// A snapshot chunk as the core carries it.
pub type CChunk = Chunk<ChunkBytes>;

/// A read request's callback and its argument.
#[derive(Clone, Copy)]
pub struct ReadRequest {
    pub cb: raft_read_request_callback_f,
    pub arg: *mut c_void,
}

pub struct CHost {
    /// This server as C knows it (set once the server is boxed).
    pub(crate) server: Cell<*mut raft_server_t>,
    cbs: Cell<raft_cbs_t>,
    pub(crate) udata: Cell<*mut c_void>,
    pub(crate) log: LogBackend,
    clock_origin: Instant,
    /// This server's random number generator (splitmix64): seeded per
    /// server from the system (`seed_from_system`), or fixed by
    /// `raft_set_random_seed` for repeatable runs.
    rng: Cell<u64>,
}

fn node_ptr(node: &Rc<CNode>) -> *mut raft_node_t {
    Rc::as_ptr(node) as *mut raft_node_t
}

impl CHost {
    pub(crate) fn new(log: LogBackend) -> CHost {
        CHost {
            server: Cell::new(ptr::null_mut()),
            cbs: Cell::new(raft_cbs_t::default()),
            udata: Cell::new(ptr::null_mut()),
            log,
            clock_origin: Instant::now(),
            rng: Cell::new(seed_from_system()),
        }
    }

    /// Fixes the seed of this server's random numbers.
    pub(crate) fn set_random_seed(&self, seed: u64) {
        self.rng.set(seed);
    }

    pub(crate) fn set_callbacks(&self, cbs: raft_cbs_t, udata: *mut c_void) {
        self.cbs.set(cbs);
        self.udata.set(udata);
    }

    /// The callback table, read in place.
    fn cbs(&self) -> &raft_cbs_t {
        // SAFETY: the table is only ever replaced whole by `set_callbacks`,
        // never while this reference is alive: every use copies one field out
        // before calling it, and the Cell is not shared across threads.
        unsafe { &*self.cbs.as_ptr() }
    }

    fn raft(&self) -> *mut raft_server_t {
        self.server.get()
    }
}

/// Applying without an `applylog` callback: nothing to hand over.
unsafe extern "C" fn no_applylog(
    _: *mut raft_server_t,
    _: *mut c_void,
    _: *mut raft_entry_t,
    _: raft_index_t,
) -> c_int {
    0
}

impl Host for CHost {
    type Entry = EntryPtr;
    type Log = LogBackend;
    type ReadCallback = ReadRequest;
    type NodeData = UserData;
    type ChunkData = ChunkBytes;

    fn log(&self) -> &LogBackend {
        &self.log
    }

    fn send_requestvote(&self, to: &Rc<CNode>, msg: &RequestVote) -> core::Result<()> {
        let Some(cb) = self.cbs().send_requestvote else { return Ok(()) };
        let mut c = raft_requestvote_req_t {
            prevote: msg.prevote as c_int,
            term: msg.term,
            candidate_id: msg.candidate_id,
            last_log_idx: msg.last_log_idx,
            last_log_term: msg.last_log_term,
        };
        // SAFETY: the application's callback with the arguments its typedef
        // documents; the message lives for the call.
        check(unsafe { cb(self.raft(), self.udata.get(), node_ptr(to), &mut c) })
    }

    fn send_appendentries(&self, to: &Rc<CNode>, msg: &AppendEntries<'_, EntryPtr>) -> core::Result<()> {
        let Some(cb) = self.cbs().send_appendentries else { return Ok(()) };
        let mut c = raft_appendentries_req_t {
            leader_id: msg.leader_id,
            msg_id: msg.msg_id as raft_msg_id_t,
            term: msg.term,
            prev_log_idx: msg.prev_log_idx,
            prev_log_term: msg.prev_log_term,
            leader_commit: msg.leader_commit,
            n_entries: msg.entries.len() as raft_index_t,
            // EntryPtr is a transparent entry pointer, so the slice is the
            // C array; the callback must not write through it.
            entries: if msg.entries.is_empty() {
                ptr::null_mut()
            } else {
                msg.entries.as_ptr() as *mut *mut raft_entry_t
            },
        };
        // SAFETY: as above; the entries stay held for the call.
        check(unsafe { cb(self.raft(), self.udata.get(), node_ptr(to), &mut c) })
    }

    fn send_snapshot(&self, to: &Rc<CNode>, msg: &SnapshotRequest<ChunkBytes>) -> core::Result<()> {
        let Some(cb) = self.cbs().send_snapshot else { return Err(RaftError::Failed) };
        let mut c = raft_snapshot_req_t {
            term: msg.term,
            leader_id: msg.leader_id,
            msg_id: msg.msg_id as raft_msg_id_t,
            snapshot_index: msg.snapshot_index,
            snapshot_term: msg.snapshot_term,
            chunk: chunk_to_c(&msg.chunk),
        };
        // SAFETY: the application's callback; the message lives for the call.
        check(unsafe { cb(self.raft(), self.udata.get(), node_ptr(to), &mut c) })
    }

    fn send_timeoutnow(&self, to: &Rc<CNode>) -> core::Result<()> {
        let Some(cb) = self.cbs().send_timeoutnow else { return Err(RaftError::Failed) };
        // SAFETY: the application's callback.
        check(unsafe { cb(self.raft(), self.udata.get(), node_ptr(to)) })
    }

    fn get_snapshot_chunk(&self, to: &Rc<CNode>, offset: u64, chunk: &mut CChunk) -> core::Result<ChunkReply> {
        // Without a way to send them, chunks are not asked for.
        let (Some(cb), Some(_)) = (self.cbs().get_snapshot_chunk, self.cbs().send_snapshot) else {
            return Ok(ChunkReply::Unavailable);
        };
        let mut c = chunk_to_c(chunk);
        // SAFETY: the application's callback fills the chunk it is given.
        let rc = unsafe { cb(self.raft(), self.udata.get(), node_ptr(to), offset, &mut c) };
        *chunk = chunk_from_c(&c);
        match rc {
            0 => Ok(ChunkReply::Ready),
            // RAFT_ERR_DONE: nothing to send for now.
            -10 => Ok(ChunkReply::Paused),
            rc => Err(error_from_code(rc)),
        }
    }

    fn store_snapshot_chunk(&self, snapshot_index: Index, offset: u64, chunk: &CChunk) -> core::Result<()> {
        let Some(cb) = self.cbs().store_snapshot_chunk else { return Ok(()) };
        let mut c = chunk_to_c(chunk);
        // SAFETY: the application's callback; the chunk's data pointer is the
        // one the leader's message carried.
        check(unsafe { cb(self.raft(), self.udata.get(), snapshot_index, offset, &mut c) })
    }

    fn clear_snapshot(&self) -> core::Result<()> {
        let Some(cb) = self.cbs().clear_snapshot else { return Ok(()) };
        // SAFETY: the application's callback.
        check(unsafe { cb(self.raft(), self.udata.get()) })
    }

    fn load_snapshot(&self, term: Term, index: Index) -> core::Result<()> {
        let Some(cb) = self.cbs().load_snapshot else { return Err(RaftError::Failed) };
        // SAFETY: the application's callback.
        check(unsafe { cb(self.raft(), self.udata.get(), term, index) })
    }

    fn applylog(&self, entry: &EntryPtr, idx: Index) -> core::Result<()> {
        let Some(cb) = self.cbs().applylog else { return Ok(()) };
        // SAFETY: the application's callback; the entry is held for the call.
        check(unsafe { cb(self.raft(), self.udata.get(), entry.as_ptr(), idx) })
    }

    fn applier(&self) -> impl Fn(&EntryPtr, Index) -> core::Result<()> + '_ {
        let cb = self.cbs().applylog.unwrap_or(no_applylog);
        let (raft, udata) = (self.raft(), self.udata.get());
        // SAFETY: the application's callback (or the no-op standing in for
        // a missing one); the entry is held or lent for the call.
        move |entry, idx| check(unsafe { cb(raft, udata, entry.as_ptr(), idx) })
    }

    fn persist_metadata(&self, term: Term, vote: NodeId) -> core::Result<()> {
        let Some(cb) = self.cbs().persist_metadata else { return Ok(()) };
        // SAFETY: the application's callback.
        check(unsafe { cb(self.raft(), self.udata.get(), term, vote) })
    }

    fn get_node_id(&self, entry: &EntryPtr, idx: Index) -> Option<NodeId> {
        let cb = self.cbs().get_node_id?;
        // SAFETY: the application's callback; the entry is held for the call.
        Some(unsafe { cb(self.raft(), self.udata.get(), entry.as_ptr(), idx) })
    }

    fn node_has_sufficient_logs(&self, node: &Rc<CNode>) -> bool {
        let Some(cb) = self.cbs().node_has_sufficient_logs else { return false };
        // SAFETY: the application's callback; 0 means it took note.
        (unsafe { cb(self.raft(), self.udata.get(), node_ptr(node)) }) == 0
    }

    fn notify_membership_event(&self, node: &Rc<CNode>, entry: Option<&EntryPtr>, event: MembershipEvent) {
        let Some(cb) = self.cbs().notify_membership_event else { return };
        let kind = match event {
            MembershipEvent::Add => raft_membership_e::RAFT_MEMBERSHIP_ADD,
            MembershipEvent::Remove => raft_membership_e::RAFT_MEMBERSHIP_REMOVE,
        };
        let entry = entry.map_or(ptr::null_mut(), EntryPtr::as_ptr);
        // SAFETY: the application's callback; node and entry are alive.
        unsafe { cb(self.raft(), self.udata.get(), node_ptr(node), entry, kind) }
    }

    fn notify_state_event(&self, role: Role) {
        let Some(cb) = self.cbs().notify_state_event else { return };
        let state = match role {
            Role::Follower => raft_state_e::RAFT_STATE_FOLLOWER,
            Role::PreCandidate => raft_state_e::RAFT_STATE_PRECANDIDATE,
            Role::Candidate => raft_state_e::RAFT_STATE_CANDIDATE,
            Role::Leader => raft_state_e::RAFT_STATE_LEADER,
        };
        // SAFETY: the application's callback.
        unsafe { cb(self.raft(), self.udata.get(), state) }
    }

    fn notify_transfer_event(&self, result: TransferResult) {
        let Some(cb) = self.cbs().notify_transfer_event else { return };
        let result = match result {
            TransferResult::Timeout => raft_leader_transfer_e::RAFT_LEADER_TRANSFER_TIMEOUT,
            TransferResult::UnexpectedLeader => raft_leader_transfer_e::RAFT_LEADER_TRANSFER_UNEXPECTED_LEADER,
            TransferResult::ExpectedLeader => raft_leader_transfer_e::RAFT_LEADER_TRANSFER_EXPECTED_LEADER,
        };
        // SAFETY: the application's callback.
        unsafe { cb(self.raft(), self.udata.get(), result) }
    }

    fn has_logger(&self) -> bool {
        self.cbs().log.is_some()
    }

    fn log_message(&self, node: NodeId, message: &str) {
        let Some(cb) = self.cbs().log else { return };
        // On the stack (logging allocates nothing): the core's messages are
        // at most LOG_LINE_MAX bytes; NULs, which it never writes, would
        // end the C string early, so they become spaces.
        let mut buf = [0u8; crate::core::alloc::LOG_LINE_MAX + 1];
        let n = message.len().min(crate::core::alloc::LOG_LINE_MAX);
        for (dst, &b) in buf.iter_mut().zip(&message.as_bytes()[..n]) {
            *dst = if b == 0 { b' ' } else { b };
        }
        // SAFETY: the application's callback with a NUL-terminated string
        // alive for the call.
        unsafe { cb(self.raft(), node, self.udata.get(), buf.as_ptr() as *const _) }
    }

    fn backpressure(&self, node: &Rc<CNode>) -> bool {
        let Some(cb) = self.cbs().backpressure else { return false };
        // SAFETY: the application's callback.
        unsafe { cb(self.raft(), self.udata.get(), node_ptr(node)) != 0 }
    }

    fn gives_entries_to_send(&self) -> bool {
        self.cbs().get_entries_to_send.is_some()
    }

    fn get_entries_to_send(&self, node: &Rc<CNode>, idx: Index, max: usize, out: &mut Vec<EntryPtr>) -> Option<usize> {
        let cb = self.cbs().get_entries_to_send?;
        let (raft, udata) = (self.raft(), self.udata.get());
        Some(fill_from_c(out, max, |slots, max| {
            // SAFETY: the application fills at most max slots with held
            // entries (from raft_get_entry_from_idx and friends).
            unsafe { cb(raft, udata, node_ptr(node), idx, max as raft_index_t, slots) }
        }))
    }

    fn now_us(&self) -> i64 {
        match self.cbs().timestamp {
            // SAFETY: the application's callback.
            Some(cb) => unsafe { cb(self.raft(), self.udata.get()) },
            None => self.clock_origin.elapsed().as_micros() as i64,
        }
    }

    fn random(&self) -> u32 {
        // Per server, not libc's rand(): unseeded, rand() gave every process
        // the same election timeouts, so servers started together campaigned
        // together.
        let (state, value) = splitmix64(self.rng.get());
        self.rng.set(state);
        (value >> 32) as u32
    }

    fn read_done(&self, request: ReadRequest, can_read: bool) {
        if let Some(cb) = request.cb {
            // SAFETY: the application's callback with the argument it gave.
            unsafe { cb(request.arg, can_read as c_int) }
        }
    }

    fn reserved(&self, bytes: usize, make: &mut dyn FnMut()) -> bool {
        super::heap::with_reserved(bytes, make).is_some()
    }

    fn new_entry(&self, entry_type: i32) -> Option<EntryPtr> {
        let e = entry::entry_new(0);
        // SAFETY: a fresh entry with one reference, which the handle takes.
        let handle = unsafe { EntryPtr::from_held(e) }?;
        // SAFETY: the entry is live and ours.
        unsafe { (*e).type_ = entry_type as i16 };
        Some(handle)
    }
}

/// One step of splitmix64: the next state and its output.
fn splitmix64(state: u64) -> (u64, u64) {
    let state = state.wrapping_add(0x9E37_79B9_7F4A_7C15);
    let mut z = state;
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    (state, z ^ (z >> 31))
}

/// A seed that differs between servers and between processes: the
/// kernel's random bytes where it gives them, mixed with the time, the
/// process id and a per-process counter (so servers made in the same
/// instant in one process differ too, and a system without getrandom
/// still gets distinct seeds).
fn seed_from_system() -> u64 {
    use std::sync::atomic::{AtomicU64, Ordering};
    static SERVERS: AtomicU64 = AtomicU64::new(0);
    let mut kernel = 0u64;
    // SAFETY: getrandom writes at most the 8 bytes it is given into
    // `kernel`; GRND_NONBLOCK keeps it from waiting for entropy at boot.
    let got = unsafe { libc::getrandom(&mut kernel as *mut u64 as *mut libc::c_void, 8, libc::GRND_NONBLOCK) };
    if got != 8 {
        kernel = 0;
    }
    let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_nanos() as u64);
    let count = SERVERS.fetch_add(1, Ordering::Relaxed);
    let mixed = kernel ^ nanos ^ (u64::from(std::process::id()) << 32) ^ count.wrapping_mul(0xA24B_AED4_963E_E407);
    splitmix64(mixed).1
}

fn chunk_to_c(chunk: &CChunk) -> raft_snapshot_chunk_t {
    raft_snapshot_chunk_t {
        offset: chunk.offset,
        data: chunk.data.0,
        len: chunk.len,
        last_chunk: chunk.last_chunk as c_int,
    }
}

pub(crate) fn chunk_from_c(c: &raft_snapshot_chunk_t) -> CChunk {
    Chunk { offset: c.offset, data: ChunkBytes(c.data), len: c.len, last_chunk: c.last_chunk != 0 }
}
