//! The wire format: a versioned, length-prefixed binary encoding of every
//! Raft message (entries and snapshot chunks included), so that programs
//! sending messages between processes need not invent their own.
//! `docs/wire-format.md` describes the bytes; `src/ffi/wire.rs` exports it to
//! C as `raft_wire_*` (`include/raft_wire.h`).
//!
//! Every integer is big-endian. A frame is
//!
//! ```text
//! u32 length   bytes that follow this field (12 + body)
//! u8  version  WIRE_VERSION
//! u8  type     MsgType
//! u16 flags    0 (reserved)
//! i32 from     sender's node id
//! i32 to       receiver's node id
//! body         per type, see the encode/decode functions
//! ```
//!
//! Decoding borrows from the input: entry data and snapshot chunks are
//! slices of the frame, so the caller decides when (and whether) to copy.
//! Decoding never panics and never allocates more than the input justifies:
//! a count is checked against the bytes left before anything is reserved.
#![deny(unsafe_code)]

use thiserror::Error;

/// The version this code writes and the only one it reads.
pub const WIRE_VERSION: u8 = 1;
/// Bytes of the frame header, the length field included.
pub const HEADER_LEN: usize = 16;
/// Largest frame (length field included) a decoder accepts by default.
pub const MAX_FRAME: usize = 64 << 20;
/// Bytes of an entry's fixed part (term, id, type, data length).
pub const ENTRY_FIXED_LEN: usize = 18;

/// Why a frame could not be encoded or decoded.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Error)]
pub enum WireError {
    /// The input ends before the frame does; `need` is the whole frame's
    /// size when the header was readable, else the header's.
    #[error("truncated frame: {need} bytes needed")]
    Truncated { need: usize },
    /// The output buffer is too small; `need` bytes are required.
    #[error("buffer too small: {need} bytes needed")]
    ShortBuffer { need: usize },
    /// The frame was written by another version of the format.
    #[error("unsupported wire version {0}")]
    Version(u8),
    /// The frame's length is above the limit.
    #[error("frame of {0} bytes is over the limit")]
    TooLarge(usize),
    /// The bytes do not form a valid frame (unknown type, bad length,
    /// a flag that is not 0 or 1, a negative term or index, trailing bytes).
    #[error("malformed frame: {0}")]
    Malformed(&'static str),
}

/// Message types; the values are the frame's type byte.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u8)]
pub enum MsgType {
    RequestVote = 1,
    RequestVoteResponse = 2,
    AppendEntries = 3,
    AppendEntriesResponse = 4,
    Snapshot = 5,
    SnapshotResponse = 6,
    TimeoutNow = 7,
}

impl TryFrom<u8> for MsgType {
    type Error = WireError;
    fn try_from(v: u8) -> Result<Self, WireError> {
        Ok(match v {
            1 => MsgType::RequestVote,
            2 => MsgType::RequestVoteResponse,
            3 => MsgType::AppendEntries,
            4 => MsgType::AppendEntriesResponse,
            5 => MsgType::Snapshot,
            6 => MsgType::SnapshotResponse,
            7 => MsgType::TimeoutNow,
            _ => return Err(WireError::Malformed("unknown message type")),
        })
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct RequestVote {
    pub prevote: bool,
    pub term: i64,
    pub candidate_id: i32,
    pub last_log_idx: i64,
    pub last_log_term: i64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct RequestVoteResponse {
    pub prevote: bool,
    pub request_term: i64,
    pub term: i64,
    pub vote_granted: bool,
}

/// One log entry, its data borrowed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Entry<'a> {
    pub term: i64,
    pub id: i32,
    pub entry_type: i16,
    pub data: &'a [u8],
}

#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct AppendEntries<'a> {
    pub leader_id: i32,
    pub msg_id: u64,
    pub term: i64,
    pub prev_log_idx: i64,
    pub prev_log_term: i64,
    pub leader_commit: i64,
    pub entries: Vec<Entry<'a>>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct AppendEntriesResponse {
    pub msg_id: u64,
    pub term: i64,
    pub success: bool,
    pub current_idx: i64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Snapshot<'a> {
    pub term: i64,
    pub leader_id: i32,
    pub msg_id: u64,
    pub snapshot_index: i64,
    pub snapshot_term: i64,
    pub offset: u64,
    pub last_chunk: bool,
    pub data: &'a [u8],
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct SnapshotResponse {
    pub msg_id: u64,
    pub term: i64,
    pub offset: u64,
    pub success: bool,
    pub last_chunk: bool,
}

/// A message's body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Body<'a> {
    RequestVote(RequestVote),
    RequestVoteResponse(RequestVoteResponse),
    AppendEntries(AppendEntries<'a>),
    AppendEntriesResponse(AppendEntriesResponse),
    Snapshot(Snapshot<'a>),
    SnapshotResponse(SnapshotResponse),
    TimeoutNow,
}

impl Body<'_> {
    pub fn msg_type(&self) -> MsgType {
        match self {
            Body::RequestVote(_) => MsgType::RequestVote,
            Body::RequestVoteResponse(_) => MsgType::RequestVoteResponse,
            Body::AppendEntries(_) => MsgType::AppendEntries,
            Body::AppendEntriesResponse(_) => MsgType::AppendEntriesResponse,
            Body::Snapshot(_) => MsgType::Snapshot,
            Body::SnapshotResponse(_) => MsgType::SnapshotResponse,
            Body::TimeoutNow => MsgType::TimeoutNow,
        }
    }

    /// Bytes of the body alone.
    pub fn body_len(&self) -> usize {
        match self {
            Body::RequestVote(_) => 29,
            Body::RequestVoteResponse(_) => 18,
            Body::AppendEntries(ae) => {
                48 + ae.entries.iter().map(|e| ENTRY_FIXED_LEN + e.data.len()).sum::<usize>()
            }
            Body::AppendEntriesResponse(_) => 25,
            Body::Snapshot(s) => 49 + s.data.len(),
            Body::SnapshotResponse(_) => 26,
            Body::TimeoutNow => 0,
        }
    }
}

/// A whole frame: who sent it, to whom, and what.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Frame<'a> {
    pub from: i32,
    pub to: i32,
    pub body: Body<'a>,
}

impl Frame<'_> {
    /// Bytes of the encoded frame, header included.
    pub fn encoded_len(&self) -> usize {
        HEADER_LEN + self.body.body_len()
    }
}

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
            let mut entries = Vec::with_capacity(n);
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

#[cfg(test)]
mod tests {
    use super::*;

    fn samples() -> Vec<Frame<'static>> {
        let bodies = vec![
            Body::RequestVote(RequestVote {
                prevote: true,
                term: 7,
                candidate_id: 3,
                last_log_idx: 1 << 40,
                last_log_term: 6,
            }),
            Body::RequestVoteResponse(RequestVoteResponse {
                prevote: false,
                request_term: 7,
                term: 8,
                vote_granted: true,
            }),
            Body::AppendEntries(AppendEntries {
                leader_id: 1,
                msg_id: u64::MAX,
                term: 5,
                prev_log_idx: 10,
                prev_log_term: 4,
                leader_commit: 9,
                entries: vec![
                    Entry { term: 5, id: -2, entry_type: 0, data: b"SET a 1" },
                    Entry { term: 5, id: 77, entry_type: 2, data: b"" },
                    Entry { term: 5, id: 78, entry_type: 104, data: &[0, 255, 1] },
                ],
            }),
            Body::AppendEntries(AppendEntries { leader_id: 2, term: 1, ..Default::default() }),
            Body::AppendEntriesResponse(AppendEntriesResponse {
                msg_id: 99,
                term: 5,
                success: true,
                current_idx: 13,
            }),
            Body::Snapshot(Snapshot {
                term: 5,
                leader_id: 1,
                msg_id: 4,
                snapshot_index: 100,
                snapshot_term: 4,
                offset: 4096,
                last_chunk: true,
                data: b"chunk bytes",
            }),
            Body::SnapshotResponse(SnapshotResponse {
                msg_id: 4,
                term: 5,
                offset: 4107,
                success: true,
                last_chunk: true,
            }),
            Body::TimeoutNow,
        ];
        bodies.into_iter().enumerate().map(|(i, body)| Frame { from: i as i32, to: -1, body }).collect()
    }

    fn enc(f: &Frame<'_>) -> Vec<u8> {
        let mut buf = vec![0u8; f.encoded_len()];
        assert_eq!(encode(f, &mut buf), Ok(buf.len()));
        buf
    }

    #[test]
    fn every_message_type_survives_a_round_trip() {
        for f in samples() {
            let bytes = enc(&f);
            let (back, used) = decode(&bytes, MAX_FRAME).expect("decodes");
            assert_eq!(used, bytes.len());
            assert_eq!(back, f);
        }
    }

    #[test]
    fn frames_back_to_back_decode_one_at_a_time() {
        let frames = samples();
        let stream: Vec<u8> = frames.iter().flat_map(enc).collect();
        let mut pos = 0;
        for f in &frames {
            let (back, used) = decode(&stream[pos..], MAX_FRAME).unwrap();
            assert_eq!(&back, f);
            pos += used;
        }
        assert_eq!(pos, stream.len());
    }

    #[test]
    fn every_truncation_is_reported_as_truncated_with_the_size_needed() {
        for f in samples() {
            let bytes = enc(&f);
            for cut in 0..bytes.len() {
                match decode(&bytes[..cut], MAX_FRAME) {
                    Err(WireError::Truncated { need }) => {
                        let want = if cut < HEADER_LEN { HEADER_LEN } else { bytes.len() };
                        assert!(need == want || (cut >= 4 && need == HEADER_LEN), "cut {cut}: need {need}");
                        assert!(need > cut);
                    }
                    other => panic!("cut {cut} of {:?}: {other:?}", f.body.msg_type()),
                }
            }
        }
    }

    #[test]
    fn a_short_output_buffer_is_refused_without_writing() {
        for f in samples() {
            let need = f.encoded_len();
            let mut buf = vec![0xAAu8; need - 1];
            assert_eq!(encode(&f, &mut buf), Err(WireError::ShortBuffer { need }));
            assert!(buf.iter().all(|&b| b == 0xAA));
        }
    }

    #[test]
    fn another_version_is_refused() {
        let mut bytes = enc(&samples()[0]);
        bytes[4] = 2;
        assert_eq!(decode(&bytes, MAX_FRAME), Err(WireError::Version(2)));
        bytes[4] = 0;
        assert_eq!(decode(&bytes, MAX_FRAME), Err(WireError::Version(0)));
    }

    #[test]
    fn unknown_types_and_reserved_flags_are_malformed() {
        let mut bytes = enc(&samples()[0]);
        bytes[5] = 0;
        assert!(matches!(decode(&bytes, MAX_FRAME), Err(WireError::Malformed(_))));
        bytes[5] = 8;
        assert!(matches!(decode(&bytes, MAX_FRAME), Err(WireError::Malformed(_))));
        let mut bytes = enc(&samples()[0]);
        bytes[7] = 1;
        assert!(matches!(decode(&bytes, MAX_FRAME), Err(WireError::Malformed(_))));
    }

    #[test]
    fn a_length_below_the_header_is_malformed_and_one_above_the_limit_too_large() {
        let mut bytes = enc(&samples()[7]);
        bytes[..4].copy_from_slice(&11u32.to_be_bytes());
        assert!(matches!(decode(&bytes, MAX_FRAME), Err(WireError::Malformed(_))));
        bytes[..4].copy_from_slice(&u32::MAX.to_be_bytes());
        assert_eq!(decode(&bytes, MAX_FRAME), Err(WireError::TooLarge(u32::MAX as usize + 4)));
        let big = enc(&samples()[2]);
        assert_eq!(decode(&big, 20), Err(WireError::TooLarge(big.len())));
    }

    #[test]
    fn a_length_that_disagrees_with_the_body_is_malformed() {
        for f in samples() {
            let bytes = enc(&f);
            // One byte longer: trailing garbage inside the frame.
            let mut longer = bytes.clone();
            longer.push(0);
            let l = (longer.len() - 4) as u32;
            longer[..4].copy_from_slice(&l.to_be_bytes());
            assert!(matches!(decode(&longer, MAX_FRAME), Err(WireError::Malformed(_))), "{:?}", f.body.msg_type());
            // One byte shorter: the body's fields run past the frame.
            if bytes.len() > HEADER_LEN {
                let mut shorter = bytes.clone();
                shorter.pop();
                let l = (shorter.len() - 4) as u32;
                shorter[..4].copy_from_slice(&l.to_be_bytes());
                assert!(matches!(decode(&shorter, MAX_FRAME), Err(WireError::Malformed(_))));
            }
        }
    }

    #[test]
    fn an_entry_count_larger_than_the_frame_is_malformed_before_any_allocation() {
        let mut bytes = enc(&samples()[2]);
        // n_entries sits after the header and 44 bytes of fixed fields.
        bytes[HEADER_LEN + 44..HEADER_LEN + 48].copy_from_slice(&u32::MAX.to_be_bytes());
        assert!(matches!(decode(&bytes, MAX_FRAME), Err(WireError::Malformed(_))));
    }

    #[test]
    fn an_entry_data_length_past_the_end_is_malformed() {
        let mut bytes = enc(&samples()[2]);
        let first_len = HEADER_LEN + 48 + 14;
        bytes[first_len..first_len + 4].copy_from_slice(&1_000_000u32.to_be_bytes());
        assert!(matches!(decode(&bytes, MAX_FRAME), Err(WireError::Malformed(_))));
    }

    #[test]
    fn flags_other_than_zero_or_one_and_negative_terms_are_malformed() {
        let mut bytes = enc(&samples()[0]);
        bytes[HEADER_LEN] = 2;
        assert!(matches!(decode(&bytes, MAX_FRAME), Err(WireError::Malformed(_))));
        let mut bytes = enc(&samples()[0]);
        bytes[HEADER_LEN + 1] = 0x80;
        assert!(matches!(decode(&bytes, MAX_FRAME), Err(WireError::Malformed(_))));
    }

    #[test]
    fn any_single_byte_change_decodes_or_fails_cleanly() {
        for f in samples() {
            let bytes = enc(&f);
            for i in 0..bytes.len() {
                for v in [0u8, 1, 0x7f, 0x80, 0xff] {
                    let mut b = bytes.clone();
                    b[i] = v;
                    if let Ok((g, used)) = decode(&b, MAX_FRAME) {
                        // Whatever decodes re-encodes to the same bytes.
                        assert_eq!(enc(&g), b[..used].to_vec());
                    }
                }
            }
        }
    }
}
