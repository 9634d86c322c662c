//! `raft_wire_*` (include/raft_wire.h, written by hand): the C face of the
//! wire format in `crate::wire`. This file converts between the C message
//! structs and the codec's safe types; the format itself is decided there.

use std::ffi::{c_char, c_int, c_void};
use std::ptr::{self, addr_of, addr_of_mut};

use super::entry::{entry_new, raft_entry_release};
use super::heap;
use super::types::*;
use crate::wire::{self, Body, WireError};

pub const RAFT_WIRE_ERR_TRUNCATED: c_int = -200;
pub const RAFT_WIRE_ERR_SHORT_BUFFER: c_int = -201;
pub const RAFT_WIRE_ERR_VERSION: c_int = -202;
pub const RAFT_WIRE_ERR_TOO_LARGE: c_int = -203;
pub const RAFT_WIRE_ERR_MALFORMED: c_int = -204;
pub const RAFT_WIRE_ERR_NOMEM: c_int = -205;
pub const RAFT_WIRE_ERR_INVALID: c_int = -206;

/// The message of a frame; which member is live is told by `type`.
#[repr(C)]
#[derive(Clone, Copy)]
pub union raft_wire_body_u {
    pub requestvote: raft_requestvote_req_t,
    pub requestvote_resp: raft_requestvote_resp_t,
    pub appendentries: raft_appendentries_req_t,
    pub appendentries_resp: raft_appendentries_resp_t,
    pub snapshot: raft_snapshot_req_t,
    pub snapshot_resp: raft_snapshot_resp_t,
}

/// One frame as C sees it (`raft_wire_msg_t`).
#[repr(C)]
#[derive(Clone, Copy)]
pub struct raft_wire_msg_t {
    pub type_: c_int,
    pub from: raft_node_id_t,
    pub to: raft_node_id_t,
    pub u: raft_wire_body_u,
}

const _: () = {
    use std::mem::{offset_of, size_of};
    assert!(size_of::<raft_wire_body_u>() == 72);
    assert!(offset_of!(raft_wire_msg_t, u) == 16);
    assert!(size_of::<raft_wire_msg_t>() == 88);
};

fn err_code(e: WireError) -> c_int {
    match e {
        WireError::Truncated { .. } => RAFT_WIRE_ERR_TRUNCATED,
        WireError::ShortBuffer { .. } => RAFT_WIRE_ERR_SHORT_BUFFER,
        WireError::Version(_) => RAFT_WIRE_ERR_VERSION,
        WireError::TooLarge(_) => RAFT_WIRE_ERR_TOO_LARGE,
        WireError::Malformed(_) => RAFT_WIRE_ERR_MALFORMED,
    }
}

fn max_frame(limit: usize) -> usize {
    if limit == 0 {
        wire::MAX_FRAME
    } else {
        limit
    }
}

/// Views a C byte range; an empty slice for length 0 (the pointer may then
/// be NULL).
///
/// # Safety
/// Unless `len` is 0, `p` must point to `len` readable bytes alive for `'a`.
unsafe fn bytes<'a>(p: *const c_void, len: usize) -> Option<&'a [u8]> {
    if len == 0 {
        return Some(&[]);
    }
    if p.is_null() {
        return None;
    }
    // SAFETY: the caller guarantees len readable bytes at p.
    Some(unsafe { std::slice::from_raw_parts(p as *const u8, len) })
}

/// Builds the codec's view of a C message, borrowing entry data and chunks.
/// `None` when the message is invalid (unknown type, NULL entries, a
/// negative count, a chunk longer than 4 GiB).
///
/// # Safety
/// `m` must be valid as the header of `raft_wire_msg_t` describes it: the
/// union member named by `type` initialised, its entries and chunk readable.
// raft_msg_id_t is unsigned long: u64 on LP64 targets, u32 elsewhere.
#[allow(clippy::useless_conversion)]
unsafe fn frame_of<'a>(m: &'a raft_wire_msg_t) -> Option<wire::Frame<'a>> {
    let t = u8::try_from(m.type_).ok().and_then(|t| wire::MsgType::try_from(t).ok())?;
    // SAFETY (for every union read below): the caller guarantees that the
    // member named by `type` is the initialised one, and `t` was derived
    // from `type`.
    let body = match t {
        wire::MsgType::RequestVote => {
            // SAFETY: `type` names `requestvote` as the initialised member (above).
            let r = unsafe { m.u.requestvote };
            Body::RequestVote(wire::RequestVote {
                prevote: r.prevote != 0,
                term: r.term,
                candidate_id: r.candidate_id,
                last_log_idx: r.last_log_idx,
                last_log_term: r.last_log_term,
            })
        }
        wire::MsgType::RequestVoteResponse => {
            // SAFETY: `type` names `requestvote_resp` as the initialised member (above).
            let r = unsafe { m.u.requestvote_resp };
            Body::RequestVoteResponse(wire::RequestVoteResponse {
                prevote: r.prevote != 0,
                request_term: r.request_term,
                term: r.term,
                vote_granted: r.vote_granted != 0,
            })
        }
        wire::MsgType::AppendEntries => {
            // SAFETY: `type` names `appendentries` as the initialised member (above).
            let r = unsafe { m.u.appendentries };
            let n = usize::try_from(r.n_entries).ok()?;
            if n > 0 && r.entries.is_null() {
                return None;
            }
            let mut entries = Vec::with_capacity(n);
            for i in 0..n {
                // SAFETY: the caller guarantees n readable entry pointers.
                let e = unsafe { *r.entries.add(i) };
                if e.is_null() {
                    return None;
                }
                // SAFETY: e is a live entry (caller's guarantee); its data is
                // reached through the raw pointer, data_len bytes long.
                let entry = unsafe {
                    let len = addr_of!((*e).data_len).read() as usize;
                    wire::Entry {
                        term: addr_of!((*e).term).read(),
                        id: addr_of!((*e).id).read(),
                        entry_type: addr_of!((*e).type_).read(),
                        data: std::slice::from_raw_parts(addr_of!((*e).data) as *const u8, len),
                    }
                };
                entries.push(entry);
            }
            Body::AppendEntries(wire::AppendEntries {
                leader_id: r.leader_id,
                msg_id: u64::from(r.msg_id),
                term: r.term,
                prev_log_idx: r.prev_log_idx,
                prev_log_term: r.prev_log_term,
                leader_commit: r.leader_commit,
                entries,
            })
        }
        wire::MsgType::AppendEntriesResponse => {
            // SAFETY: `type` names `appendentries_resp` as the initialised member (above).
            let r = unsafe { m.u.appendentries_resp };
            Body::AppendEntriesResponse(wire::AppendEntriesResponse {
                msg_id: u64::from(r.msg_id),
                term: r.term,
                success: r.success != 0,
                current_idx: r.current_idx,
            })
        }
        wire::MsgType::Snapshot => {
            // SAFETY: `type` names `snapshot` as the initialised member (above).
            let r = unsafe { m.u.snapshot };
            let len = usize::try_from(r.chunk.len).ok().filter(|&l| l <= u32::MAX as usize)?;
            // SAFETY: the caller guarantees chunk.len readable bytes.
            let data = unsafe { bytes(r.chunk.data, len) }?;
            Body::Snapshot(wire::Snapshot {
                term: r.term,
                leader_id: r.leader_id,
                msg_id: u64::from(r.msg_id),
                snapshot_index: r.snapshot_index,
                snapshot_term: r.snapshot_term,
                offset: r.chunk.offset,
                last_chunk: r.chunk.last_chunk != 0,
                data,
            })
        }
        wire::MsgType::SnapshotResponse => {
            // SAFETY: `type` names `snapshot_resp` as the initialised member (above).
            let r = unsafe { m.u.snapshot_resp };
            Body::SnapshotResponse(wire::SnapshotResponse {
                msg_id: u64::from(r.msg_id),
                term: r.term,
                offset: r.offset,
                success: r.success != 0,
                last_chunk: r.last_chunk != 0,
            })
        }
        wire::MsgType::TimeoutNow => Body::TimeoutNow,
    };
    Some(wire::Frame { from: m.from, to: m.to, body })
}

/// Bytes that `raft_wire_encode` will write for `msg`, header included;
/// 0 when `msg` is NULL or invalid (see `raft_wire_encode`).
#[no_mangle]
pub unsafe extern "C" fn raft_wire_encoded_size(msg: *const raft_wire_msg_t) -> usize {
    super::guard(0, || {
        // SAFETY: NULL is checked; otherwise the caller passes a valid message.
        let Some(m) = (unsafe { msg.as_ref() }) else { return 0 };
        // SAFETY: as documented on the function.
        match unsafe { frame_of(m) } {
            Some(f) => f.encoded_len(),
            None => 0,
        }
    })
}

/// Encodes `msg` as one frame at the front of `buf` (`cap` bytes). On
/// success returns 0 and stores the frame's size in `*written`. Errors:
/// RAFT_WIRE_ERR_INVALID (NULL msg or written, NULL buf with cap > 0,
/// unknown type, NULL entry array or entry, negative n_entries, chunk with
/// NULL data or over 4 GiB), RAFT_WIRE_ERR_SHORT_BUFFER (nothing written;
/// `*written` holds the size needed), RAFT_WIRE_ERR_TOO_LARGE.
#[no_mangle]
pub unsafe extern "C" fn raft_wire_encode(
    msg: *const raft_wire_msg_t,
    buf: *mut c_void,
    cap: usize,
    written: *mut usize,
) -> c_int {
    super::guard(RAFT_WIRE_ERR_INVALID, || {
        if written.is_null() || (buf.is_null() && cap > 0) {
            return RAFT_WIRE_ERR_INVALID;
        }
        // SAFETY: NULL is checked; otherwise the caller passes a valid message.
        let Some(m) = (unsafe { msg.as_ref() }) else { return RAFT_WIRE_ERR_INVALID };
        // SAFETY: as documented on the function.
        let Some(frame) = (unsafe { frame_of(m) }) else { return RAFT_WIRE_ERR_INVALID };
        let out: &mut [u8] = if cap == 0 {
            &mut []
        } else {
            // SAFETY: the caller guarantees cap writable bytes at buf, which
            // do not overlap the message's data.
            unsafe { std::slice::from_raw_parts_mut(buf as *mut u8, cap) }
        };
        let (rc, n) = match wire::encode(&frame, out) {
            Ok(n) => (0, n),
            Err(WireError::ShortBuffer { need }) => (RAFT_WIRE_ERR_SHORT_BUFFER, need),
            Err(e) => (err_code(e), 0),
        };
        // SAFETY: written was checked non-NULL.
        unsafe { written.write(n) };
        rc
    })
}

/// Reads the header at the front of `buf` (`len` bytes). Returns 0 and the
/// whole frame's size in `*frame_len` (which may exceed `len`: read more);
/// RAFT_WIRE_ERR_TRUNCATED with `*frame_len` = 16 when the header is not all
/// there; RAFT_WIRE_ERR_VERSION, _TOO_LARGE (over `max_frame`, 0 = the
/// default RAFT_WIRE_MAX_FRAME), _MALFORMED, or _INVALID for NULL pointers.
#[no_mangle]
pub unsafe extern "C" fn raft_wire_peek(
    buf: *const c_void,
    len: usize,
    max_frame_len: usize,
    frame_len: *mut usize,
) -> c_int {
    super::guard(RAFT_WIRE_ERR_INVALID, || {
        if frame_len.is_null() {
            return RAFT_WIRE_ERR_INVALID;
        }
        // SAFETY: the caller guarantees len readable bytes at buf.
        let Some(input) = (unsafe { bytes(buf, len) }) else { return RAFT_WIRE_ERR_INVALID };
        let (rc, n) = match wire::peek(input, max_frame(max_frame_len)) {
            Ok(h) => (0, h.frame_len),
            Err(WireError::Truncated { need }) => (RAFT_WIRE_ERR_TRUNCATED, need),
            Err(e) => (err_code(e), 0),
        };
        // SAFETY: frame_len was checked non-NULL.
        unsafe { frame_len.write(n) };
        rc
    })
}

/// Copies decoded entries into new `raft_entry_t`s in an array from the
/// heap hooks. NULL (everything made so far released) when out of memory.
fn make_entries(entries: &[wire::Entry<'_>]) -> Option<*mut *mut raft_entry_t> {
    if entries.is_empty() {
        return Some(ptr::null_mut());
    }
    let arr = heap::malloc_bytes(entries.len() * std::mem::size_of::<*mut raft_entry_t>()) as *mut *mut raft_entry_t;
    if arr.is_null() {
        return None;
    }
    for (i, e) in entries.iter().enumerate() {
        let p = entry_new(e.data.len() as u32);
        if p.is_null() {
            // SAFETY: the first i slots hold entries made above, each with
            // one reference that is ours; arr came from the hooks.
            unsafe {
                for j in 0..i {
                    raft_entry_release(*arr.add(j));
                }
                heap::free_bytes(arr as *mut c_void);
            }
            return None;
        }
        // SAFETY: p is a fresh entry with data_len = e.data.len() bytes of
        // data; arr has room for entries.len() pointers.
        unsafe {
            addr_of_mut!((*p).term).write(e.term);
            addr_of_mut!((*p).id).write(e.id);
            addr_of_mut!((*p).type_).write(e.entry_type);
            ptr::copy_nonoverlapping(e.data.as_ptr(), addr_of_mut!((*p).data) as *mut u8, e.data.len());
            arr.add(i).write(p);
        }
    }
    Some(arr)
}

/// Decodes the frame at the front of `buf` (`len` bytes; more may follow)
/// into `*msg` and stores the bytes it took in `*consumed`. Returns 0, or
/// RAFT_WIRE_ERR_TRUNCATED (`*consumed` = bytes needed for the frame, or 16
/// while the header is incomplete), _VERSION, _TOO_LARGE, _MALFORMED,
/// _NOMEM, _INVALID (NULL pointers). On error `*msg` holds no resources.
///
/// An appendentries gets `entries`: an array (from `raft_malloc`) of new
/// entries made with `raft_entry_new`, one reference each, owned by `*msg`
/// and released by `raft_wire_msg_release`. A snapshot's `chunk.data`
/// points into `buf`, valid as long as `buf` is.
#[no_mangle]
pub unsafe extern "C" fn raft_wire_decode(
    buf: *const c_void,
    len: usize,
    max_frame_len: usize,
    msg: *mut raft_wire_msg_t,
    consumed: *mut usize,
) -> c_int {
    super::guard(RAFT_WIRE_ERR_INVALID, || {
        if msg.is_null() || consumed.is_null() {
            return RAFT_WIRE_ERR_INVALID;
        }
        // SAFETY: the caller guarantees len readable bytes at buf.
        let Some(input) = (unsafe { bytes(buf, len) }) else { return RAFT_WIRE_ERR_INVALID };
        let (frame, used) = match wire::decode(input, max_frame(max_frame_len)) {
            Ok(v) => v,
            Err(e) => {
                let need = if let WireError::Truncated { need } = e { need } else { 0 };
                // SAFETY: consumed was checked non-NULL.
                unsafe { consumed.write(need) };
                return err_code(e);
            }
        };
        let type_ = frame.body.msg_type() as c_int;
        let u = match frame.body {
            Body::RequestVote(r) => raft_wire_body_u {
                requestvote: raft_requestvote_req_t {
                    prevote: r.prevote as c_int,
                    term: r.term,
                    candidate_id: r.candidate_id,
                    last_log_idx: r.last_log_idx,
                    last_log_term: r.last_log_term,
                },
            },
            Body::RequestVoteResponse(r) => raft_wire_body_u {
                requestvote_resp: raft_requestvote_resp_t {
                    prevote: r.prevote as c_int,
                    request_term: r.request_term,
                    term: r.term,
                    vote_granted: r.vote_granted as c_int,
                },
            },
            Body::AppendEntries(r) => {
                let Some(entries) = make_entries(&r.entries) else { return RAFT_WIRE_ERR_NOMEM };
                raft_wire_body_u {
                    appendentries: raft_appendentries_req_t {
                        leader_id: r.leader_id,
                        msg_id: r.msg_id as raft_msg_id_t,
                        term: r.term,
                        prev_log_idx: r.prev_log_idx,
                        prev_log_term: r.prev_log_term,
                        leader_commit: r.leader_commit,
                        n_entries: r.entries.len() as raft_index_t,
                        entries,
                    },
                }
            }
            Body::AppendEntriesResponse(r) => raft_wire_body_u {
                appendentries_resp: raft_appendentries_resp_t {
                    msg_id: r.msg_id as raft_msg_id_t,
                    term: r.term,
                    success: r.success as c_int,
                    current_idx: r.current_idx,
                },
            },
            Body::Snapshot(r) => raft_wire_body_u {
                snapshot: raft_snapshot_req_t {
                    term: r.term,
                    leader_id: r.leader_id,
                    msg_id: r.msg_id as raft_msg_id_t,
                    snapshot_index: r.snapshot_index,
                    snapshot_term: r.snapshot_term,
                    chunk: raft_snapshot_chunk_t {
                        offset: r.offset,
                        data: r.data.as_ptr() as *mut c_void,
                        len: r.data.len() as raft_size_t,
                        last_chunk: r.last_chunk as c_int,
                    },
                },
            },
            Body::SnapshotResponse(r) => raft_wire_body_u {
                snapshot_resp: raft_snapshot_resp_t {
                    msg_id: r.msg_id as raft_msg_id_t,
                    term: r.term,
                    offset: r.offset,
                    success: r.success as c_int,
                    last_chunk: r.last_chunk as c_int,
                },
            },
            Body::TimeoutNow => raft_wire_body_u { appendentries_resp: raft_appendentries_resp_t::default() },
        };
        let out = raft_wire_msg_t {
            type_,
            from: frame.from,
            to: frame.to,
            u,
        };
        // SAFETY: msg and consumed were checked non-NULL.
        unsafe {
            msg.write(out);
            consumed.write(used);
        }
        0
    })
}

/// Releases what `raft_wire_decode` gave `*msg`: for an appendentries, one
/// reference on every entry and the array (then `entries` is NULL and
/// `n_entries` 0); nothing for other types. NULL is a no-op; calling it
/// twice is harmless. Call it after `raft_recv_appendentries`, which takes
/// its own references on the entries it keeps.
#[no_mangle]
pub unsafe extern "C" fn raft_wire_msg_release(msg: *mut raft_wire_msg_t) {
    super::guard((), || {
        // SAFETY: NULL is checked; otherwise the caller passes a message
        // filled by raft_wire_decode (or one it owns in the same shape).
        let Some(m) = (unsafe { msg.as_mut() }) else { return };
        if m.type_ != wire::MsgType::AppendEntries as c_int {
            return;
        }
        // SAFETY: type says the appendentries member is the live one.
        let ae = unsafe { &mut m.u.appendentries };
        if ae.entries.is_null() {
            ae.n_entries = 0;
            return;
        }
        // SAFETY: entries is an array from the hooks of n_entries entries,
        // each holding one reference that the message owns.
        unsafe {
            for i in 0..usize::try_from(ae.n_entries).unwrap_or(0) {
                let e = *ae.entries.add(i);
                if !e.is_null() {
                    raft_entry_release(e);
                }
            }
            heap::free_bytes(ae.entries as *mut c_void);
        }
        ae.entries = ptr::null_mut();
        ae.n_entries = 0;
    })
}

/// A static, NUL-terminated description of a `RAFT_WIRE_ERR_*` code (or
/// "success" for 0, "unknown error" otherwise).
#[no_mangle]
pub extern "C" fn raft_wire_strerror(err: c_int) -> *const c_char {
    super::guard(c"unknown error".as_ptr(), || strerror(err))
}

fn strerror(err: c_int) -> *const c_char {
    let s: &'static [u8] = match err {
        0 => b"success\0",
        RAFT_WIRE_ERR_TRUNCATED => b"truncated frame: more bytes needed\0",
        RAFT_WIRE_ERR_SHORT_BUFFER => b"output buffer too small\0",
        RAFT_WIRE_ERR_VERSION => b"unsupported wire format version\0",
        RAFT_WIRE_ERR_TOO_LARGE => b"frame larger than the limit\0",
        RAFT_WIRE_ERR_MALFORMED => b"malformed frame\0",
        RAFT_WIRE_ERR_NOMEM => b"out of memory\0",
        RAFT_WIRE_ERR_INVALID => b"invalid argument\0",
        _ => b"unknown error\0",
    };
    s.as_ptr() as *const c_char
}

/// The wire format version this library writes and reads.
#[no_mangle]
pub extern "C" fn raft_wire_version() -> c_int {
    super::guard(wire::WIRE_VERSION as c_int, || wire::WIRE_VERSION as c_int)
}
