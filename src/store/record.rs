//! One log entry on disk: a record.
//!
//! ```text
//! u32 crc        CRC32C of the 4 length bytes and the payload after it
//! u32 len        payload length in bytes (>= PAYLOAD_HEADER)
//! payload:
//!   u64 index    the entry's log index
//!   i64 term
//!   i32 id
//!   i16 type
//!   u16 zero     reserved
//!   data         len - 24 bytes
//! ```
//! All integers little-endian. The checksum covers the length, so a length
//! torn by a crash is caught like torn data; it comes first so that what it
//! covers is one contiguous run (one checksum call per record).

/// Bytes before the payload.
pub(crate) const RECORD_HEADER: usize = 8;
/// Bytes of the payload before the entry's data.
pub(crate) const PAYLOAD_HEADER: usize = 24;
/// Largest payload accepted (keeps offsets within a segment in a u32).
pub(crate) const MAX_PAYLOAD: usize = 1 << 30;

/// An entry's fields, borrowed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EntryRef<'a> {
    pub term: i64,
    pub id: i32,
    pub etype: i16,
    pub data: &'a [u8],
}

/// A decoded record: the entry and its index.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Decoded<'a> {
    pub index: u64,
    pub entry: EntryRef<'a>,
    /// Bytes the record takes on disk.
    pub size: usize,
}

/// Bytes a record for `data_len` bytes of data takes.
pub fn record_size(data_len: usize) -> usize {
    RECORD_HEADER + PAYLOAD_HEADER + data_len
}

/// Appends the record of entry `e` at `index` to `out`: the header built
/// in one array and copied once, then the data, then one checksum call
/// over the bytes just appended (no allocation once `out` has grown).
pub fn encode(out: &mut Vec<u8>, index: u64, e: &EntryRef<'_>) {
    let len = (PAYLOAD_HEADER + e.data.len()) as u32;
    let start = out.len();
    let mut h = [0u8; RECORD_HEADER + PAYLOAD_HEADER];
    h[4..8].copy_from_slice(&len.to_le_bytes());
    h[8..16].copy_from_slice(&index.to_le_bytes());
    h[16..24].copy_from_slice(&e.term.to_le_bytes());
    h[24..28].copy_from_slice(&e.id.to_le_bytes());
    h[28..30].copy_from_slice(&e.etype.to_le_bytes());
    out.reserve(h.len() + e.data.len());
    out.extend_from_slice(&h);
    out.extend_from_slice(e.data);
    let crc = crc32c::crc32c(&out[start + 4..]);
    out[start..start + 4].copy_from_slice(&crc.to_le_bytes());
}

/// Why bytes are not a record.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Bad {
    /// Fewer bytes than the header or than the length says: a torn write
    /// at the end of a file.
    Truncated,
    /// All zeros where a record should start (a preallocated or
    /// zero-filled tail).
    Zero,
    /// A length below the minimum or above the maximum.
    BadLength(u32),
    /// The checksum does not match.
    BadChecksum,
    /// The reserved field is not zero.
    BadReserved,
}

impl std::fmt::Display for Bad {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Bad::Truncated => write!(f, "record truncated"),
            Bad::Zero => write!(f, "zero-filled record"),
            Bad::BadLength(n) => write!(f, "impossible record length {n}"),
            Bad::BadChecksum => write!(f, "record checksum mismatch"),
            Bad::BadReserved => write!(f, "record reserved field not zero"),
        }
    }
}

fn u32_at(b: &[u8], at: usize) -> u32 {
    u32::from_le_bytes(b[at..at + 4].try_into().expect("4 bytes"))
}

fn u64_at(b: &[u8], at: usize) -> u64 {
    u64::from_le_bytes(b[at..at + 8].try_into().expect("8 bytes"))
}

/// Decodes the record at the start of `buf`.
pub fn decode(buf: &[u8]) -> Result<Decoded<'_>, Bad> {
    if buf.len() < RECORD_HEADER {
        return Err(if buf.iter().all(|b| *b == 0) { Bad::Zero } else { Bad::Truncated });
    }
    let crc = u32_at(buf, 0);
    let len = u32_at(buf, 4);
    if len == 0 && crc == 0 {
        return Err(Bad::Zero);
    }
    if (len as usize) < PAYLOAD_HEADER || len as usize > MAX_PAYLOAD {
        return Err(Bad::BadLength(len));
    }
    let size = RECORD_HEADER + len as usize;
    if buf.len() < size {
        return Err(Bad::Truncated);
    }
    let payload = &buf[RECORD_HEADER..size];
    if crc32c::crc32c(&buf[4..size]) != crc {
        return Err(Bad::BadChecksum);
    }
    if payload[22..24] != [0, 0] {
        return Err(Bad::BadReserved);
    }
    let index = u64_at(payload, 0);
    let term = u64_at(payload, 8) as i64;
    let id = u32_at(payload, 16) as i32;
    let etype = i16::from_le_bytes([payload[20], payload[21]]);
    Ok(Decoded { index, entry: EntryRef { term, id, etype, data: &payload[PAYLOAD_HEADER..] }, size })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn one(index: u64, term: i64, data: &[u8]) -> Vec<u8> {
        let mut v = Vec::new();
        encode(&mut v, index, &EntryRef { term, id: 7, etype: 2, data });
        v
    }

    #[test]
    fn a_record_decodes_to_what_was_encoded() {
        let v = one(42, 3, b"hello");
        assert_eq!(v.len(), record_size(5));
        let d = decode(&v).unwrap();
        assert_eq!(d.index, 42);
        assert_eq!(d.entry, EntryRef { term: 3, id: 7, etype: 2, data: b"hello" });
        assert_eq!(d.size, v.len());
    }

    #[test]
    fn records_follow_each_other_and_decode_in_turn() {
        let mut v = one(1, 1, b"a");
        v.extend(one(2, 1, b""));
        let a = decode(&v).unwrap();
        let b = decode(&v[a.size..]).unwrap();
        assert_eq!((a.index, b.index), (1, 2));
        assert_eq!(b.entry.data, b"");
    }

    #[test]
    fn a_truncated_length_or_payload_is_truncated() {
        let v = one(1, 1, b"payload");
        assert_eq!(decode(&v[..3]), Err(Bad::Truncated));
        assert_eq!(decode(&v[..v.len() - 1]), Err(Bad::Truncated));
    }

    #[test]
    fn zeros_are_recognised_as_a_zero_fill() {
        assert_eq!(decode(&[0u8; 64]), Err(Bad::Zero));
        assert_eq!(decode(&[0u8; 5]), Err(Bad::Zero));
    }

    #[test]
    fn any_flipped_bit_fails_the_checksum_or_the_length() {
        let v = one(9, 4, b"some data here");
        for i in 0..v.len() {
            for bit in 0..8 {
                let mut w = v.clone();
                w[i] ^= 1 << bit;
                assert!(decode(&w).is_err(), "flip of byte {i} bit {bit} went unnoticed");
            }
        }
    }

    #[test]
    fn an_impossible_length_is_reported() {
        let mut v = one(1, 1, b"x");
        v[4..8].copy_from_slice(&3u32.to_le_bytes());
        assert_eq!(decode(&v), Err(Bad::BadLength(3)));
    }
}
