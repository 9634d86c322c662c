//! Decoding: the header first (`peek`), then the whole frame, borrowing
//! from the input.

use super::messages::*;

/// Reads a frame's body; every read is bounds-checked.
struct Reader<'a> {
    buf: &'a [u8],
    pos: usize,
}

const MALFORMED_SHORT: WireError = WireError::Malformed("body shorter than its fields");

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize) -> Result<&'a [u8], WireError> {
        let end = self.pos.checked_add(n).ok_or(MALFORMED_SHORT)?;
        let s = self.buf.get(self.pos..end).ok_or(MALFORMED_SHORT)?;
        self.pos = end;
        Ok(s)
    }
    fn array<const N: usize>(&mut self) -> Result<[u8; N], WireError> {
        let mut a = [0u8; N];
        a.copy_from_slice(self.take(N)?);
        Ok(a)
    }
    fn remaining(&self) -> usize {
        self.buf.len() - self.pos
    }
    fn flag(&mut self) -> Result<bool, WireError> {
        match self.array::<1>()?[0] {
            0 => Ok(false),
            1 => Ok(true),
            _ => Err(WireError::Malformed("a flag is neither 0 nor 1")),
        }
    }
    fn i16(&mut self) -> Result<i16, WireError> {
        Ok(i16::from_be_bytes(self.array()?))
    }
    fn u32(&mut self) -> Result<u32, WireError> {
        Ok(u32::from_be_bytes(self.array()?))
    }
    fn i32(&mut self) -> Result<i32, WireError> {
        Ok(i32::from_be_bytes(self.array()?))
    }
    fn u64(&mut self) -> Result<u64, WireError> {
        Ok(u64::from_be_bytes(self.array()?))
    }
    fn i64(&mut self) -> Result<i64, WireError> {
        Ok(i64::from_be_bytes(self.array()?))
    }
    /// A term or an index: never negative on the wire.
    fn nonneg(&mut self) -> Result<i64, WireError> {
        let v = self.i64()?;
        if v < 0 {
            return Err(WireError::Malformed("negative term or index"));
        }
        Ok(v)
    }
}

/// What the header says: the frame's total size and type, and its ends.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Header {
    /// Bytes of the whole frame, the length field included.
    pub frame_len: usize,
    pub msg_type: MsgType,
    pub from: i32,
    pub to: i32,
}

/// Reads and checks the header at the front of `input`. `Truncated` when
/// fewer than [`HEADER_LEN`] bytes are there; the rest of the frame need not
/// be present. `max_frame` bounds the frame's total size.
pub fn peek(input: &[u8], max_frame: usize) -> Result<Header, WireError> {
    if input.len() < 4 {
        return Err(WireError::Truncated { need: HEADER_LEN });
    }
    let mut r = Reader { buf: input, pos: 0 };
    let rest = r.u32()? as usize;
    if rest < HEADER_LEN - 4 {
        return Err(WireError::Malformed("length shorter than the header"));
    }
    let frame_len = rest + 4;
    if frame_len > max_frame {
        return Err(WireError::TooLarge(frame_len));
    }
    if input.len() < HEADER_LEN {
        return Err(WireError::Truncated { need: HEADER_LEN });
    }
    let version = r.array::<1>()?[0];
    if version != WIRE_VERSION {
        return Err(WireError::Version(version));
    }
    let msg_type = MsgType::try_from(r.array::<1>()?[0])?;
    if r.array::<2>()? != [0, 0] {
        return Err(WireError::Malformed("reserved flags are not zero"));
    }
    let from = r.i32()?;
    let to = r.i32()?;
    Ok(Header { frame_len, msg_type, from, to })
}

/// Decodes the frame at the front of `input` (which may hold more after it)
/// and returns it with the bytes it took. `Truncated` when the frame is not
/// all there yet (`need` is its size once the header is readable).
pub fn decode(input: &[u8], max_frame: usize) -> Result<(Frame<'_>, usize), WireError> {
    let h = peek(input, max_frame)?;
    if input.len() < h.frame_len {
        return Err(WireError::Truncated { need: h.frame_len });
    }
    let mut r = Reader { buf: &input[..h.frame_len], pos: HEADER_LEN };
    let body = match h.msg_type {
        MsgType::RequestVote => Body::RequestVote(RequestVote {
            prevote: r.flag()?,
            term: r.nonneg()?,
            candidate_id: r.i32()?,
            last_log_idx: r.nonneg()?,
            last_log_term: r.nonneg()?,
        }),
        MsgType::RequestVoteResponse => Body::RequestVoteResponse(RequestVoteResponse {
            prevote: r.flag()?,
            request_term: r.nonneg()?,
            term: r.nonneg()?,
            vote_granted: r.flag()?,
        }),
        MsgType::AppendEntries => {
            let leader_id = r.i32()?;
            let msg_id = r.u64()?;
            let term = r.nonneg()?;
            let prev_log_idx = r.nonneg()?;
            let prev_log_term = r.nonneg()?;
            let leader_commit = r.nonneg()?;
            let n = r.u32()? as usize;
            // Checked before reserving: every entry takes at least its
            // fixed part, so a lying count cannot make us allocate.
            if n > r.remaining() / ENTRY_FIXED_LEN {
                return Err(WireError::Malformed("more entries than the frame can hold"));
            }
            let mut entries = Vec::new();
            entries.try_reserve_exact(n).map_err(|_| WireError::NoMem)?;
            for _ in 0..n {
                let term = r.nonneg()?;
                let id = r.i32()?;
                let entry_type = r.i16()?;
                let len = r.u32()? as usize;
                let data = r.take(len).map_err(|_| WireError::Malformed("entry data past the frame's end"))?;
                entries.push(Entry { term, id, entry_type, data });
            }
            Body::AppendEntries(AppendEntries {
                leader_id,
                msg_id,
                term,
                prev_log_idx,
                prev_log_term,
                leader_commit,
                entries,
            })
        }
        MsgType::AppendEntriesResponse => Body::AppendEntriesResponse(AppendEntriesResponse {
            msg_id: r.u64()?,
            term: r.nonneg()?,
            success: r.flag()?,
            current_idx: r.nonneg()?,
        }),
        MsgType::Snapshot => {
            let term = r.nonneg()?;
            let leader_id = r.i32()?;
            let msg_id = r.u64()?;
            let snapshot_index = r.nonneg()?;
            let snapshot_term = r.nonneg()?;
            let offset = r.u64()?;
            let last_chunk = r.flag()?;
            let len = r.u32()? as usize;
            let data = r.take(len).map_err(|_| WireError::Malformed("chunk data past the frame's end"))?;
            Body::Snapshot(Snapshot {
                term,
                leader_id,
                msg_id,
                snapshot_index,
                snapshot_term,
                offset,
                last_chunk,
                data,
            })
        }
        MsgType::SnapshotResponse => Body::SnapshotResponse(SnapshotResponse {
            msg_id: r.u64()?,
            term: r.nonneg()?,
            offset: r.u64()?,
            success: r.flag()?,
            last_chunk: r.flag()?,
        }),
        MsgType::TimeoutNow => Body::TimeoutNow,
    };
    if r.remaining() != 0 {
        return Err(WireError::Malformed("bytes after the body"));
    }
    Ok((Frame { from: h.from, to: h.to, body }, h.frame_len))
}

