//! Encoding a frame into a caller's buffer.

use super::messages::*;

/// Writes into a fixed buffer whose size was checked beforehand.
struct Writer<'b> {
    buf: &'b mut [u8],
    pos: usize,
}

impl Writer<'_> {
    fn put(&mut self, bytes: &[u8]) {
        self.buf[self.pos..self.pos + bytes.len()].copy_from_slice(bytes);
        self.pos += bytes.len();
    }
    fn u8(&mut self, v: u8) {
        self.put(&[v]);
    }
    fn flag(&mut self, v: bool) {
        self.u8(v as u8);
    }
    fn u16(&mut self, v: u16) {
        self.put(&v.to_be_bytes());
    }
    fn i16(&mut self, v: i16) {
        self.put(&v.to_be_bytes());
    }
    fn u32(&mut self, v: u32) {
        self.put(&v.to_be_bytes());
    }
    fn i32(&mut self, v: i32) {
        self.put(&v.to_be_bytes());
    }
    fn u64(&mut self, v: u64) {
        self.put(&v.to_be_bytes());
    }
    fn i64(&mut self, v: i64) {
        self.put(&v.to_be_bytes());
    }
}

/// Encodes `frame` into the front of `out` and returns the bytes written.
/// `ShortBuffer` (nothing written) when `out` is too small; `TooLarge` when
/// the frame or a piece of data cannot be described by its length field.
pub fn encode(frame: &Frame<'_>, out: &mut [u8]) -> Result<usize, WireError> {
    let len = frame.encoded_len();
    if len - 4 > u32::MAX as usize {
        return Err(WireError::TooLarge(len));
    }
    if out.len() < len {
        return Err(WireError::ShortBuffer { need: len });
    }
    if let Body::AppendEntries(ae) = &frame.body {
        if ae.entries.len() > u32::MAX as usize {
            return Err(WireError::TooLarge(len));
        }
    }
    let mut w = Writer { buf: out, pos: 0 };
    w.u32((len - 4) as u32);
    w.u8(WIRE_VERSION);
    w.u8(frame.body.msg_type() as u8);
    w.u16(0);
    w.i32(frame.from);
    w.i32(frame.to);
    match &frame.body {
        Body::RequestVote(m) => {
            w.flag(m.prevote);
            w.i64(m.term);
            w.i32(m.candidate_id);
            w.i64(m.last_log_idx);
            w.i64(m.last_log_term);
        }
        Body::RequestVoteResponse(m) => {
            w.flag(m.prevote);
            w.i64(m.request_term);
            w.i64(m.term);
            w.flag(m.vote_granted);
        }
        Body::AppendEntries(m) => {
            w.i32(m.leader_id);
            w.u64(m.msg_id);
            w.i64(m.term);
            w.i64(m.prev_log_idx);
            w.i64(m.prev_log_term);
            w.i64(m.leader_commit);
            w.u32(m.entries.len() as u32);
            for e in &m.entries {
                w.i64(e.term);
                w.i32(e.id);
                w.i16(e.entry_type);
                w.u32(e.data.len() as u32);
                w.put(e.data);
            }
        }
        Body::AppendEntriesResponse(m) => {
            w.u64(m.msg_id);
            w.i64(m.term);
            w.flag(m.success);
            w.i64(m.current_idx);
        }
        Body::Snapshot(m) => {
            w.i64(m.term);
            w.i32(m.leader_id);
            w.u64(m.msg_id);
            w.i64(m.snapshot_index);
            w.i64(m.snapshot_term);
            w.u64(m.offset);
            w.flag(m.last_chunk);
            w.u32(m.data.len() as u32);
            w.put(m.data);
        }
        Body::SnapshotResponse(m) => {
            w.u64(m.msg_id);
            w.i64(m.term);
            w.u64(m.offset);
            w.flag(m.success);
            w.flag(m.last_chunk);
        }
        Body::TimeoutNow => {}
    }
    debug_assert_eq!(w.pos, len);
    Ok(len)
}

