//! Segment files: names, the 32-byte header, and scanning a file's records.
//!
//! An open segment (the one being appended to) is named
//! `open-<first index>`; a closed one `<first index>-<last index>`, both
//! with 20-digit zero-padded decimal numbers so that names sort by index.
//! Header (little-endian):
//!
//! ```text
//! 0  [u8; 8] magic "RAFTSEG1"
//! 8  u32     format version (1)
//! 12 u32     CRC32C of the 32 header bytes with this field zero
//! 16 u64     epoch (the metadata's epoch when the segment was created)
//! 24 u64     index of the segment's first record
//! ```

use super::record::{self, Bad};

pub(crate) const MAGIC: &[u8; 8] = b"RAFTSEG1";
pub(crate) const VERSION: u32 = 1;
pub(crate) const HEADER: usize = 32;

/// The longest segment file name.
pub(crate) const NAME_MAX: usize = 41;

/// A segment's identity as its name gives it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Name {
    Closed { first: u64, last: u64 },
    Open { first: u64 },
}

impl Name {
    pub fn first(&self) -> u64 {
        match *self {
            Name::Closed { first, .. } | Name::Open { first } => first,
        }
    }

    pub fn file_name(&self) -> String {
        match *self {
            Name::Closed { first, last } => format!("{first:020}-{last:020}"),
            Name::Open { first } => format!("open-{first:020}"),
        }
    }

    /// The file name written into `buf`, allocating nothing.
    pub fn write_name<'b>(&self, buf: &'b mut [u8; NAME_MAX]) -> &'b str {
        fn digits(out: &mut [u8], mut n: u64) {
            for b in out.iter_mut().rev() {
                *b = b'0' + (n % 10) as u8;
                n /= 10;
            }
        }
        let len = match *self {
            Name::Closed { first, last } => {
                digits(&mut buf[..20], first);
                buf[20] = b'-';
                digits(&mut buf[21..41], last);
                41
            }
            Name::Open { first } => {
                buf[..5].copy_from_slice(b"open-");
                digits(&mut buf[5..25], first);
                25
            }
        };
        std::str::from_utf8(&buf[..len]).unwrap_or("")
    }

    /// Parses a file name; None for anything that is not a segment.
    pub fn parse(name: &str) -> Option<Name> {
        let num = |s: &str| -> Option<u64> {
            if s.len() == 20 && s.bytes().all(|b| b.is_ascii_digit()) {
                s.parse().ok()
            } else {
                None
            }
        };
        if let Some(rest) = name.strip_prefix("open-") {
            return Some(Name::Open { first: num(rest)? });
        }
        let (a, b) = name.split_once('-')?;
        let (first, last) = (num(a)?, num(b)?);
        (first <= last).then_some(Name::Closed { first, last })
    }
}

/// Encodes a header.
pub fn header(epoch: u64, first: u64) -> [u8; HEADER] {
    let mut h = [0u8; HEADER];
    h[0..8].copy_from_slice(MAGIC);
    h[8..12].copy_from_slice(&VERSION.to_le_bytes());
    h[16..24].copy_from_slice(&epoch.to_le_bytes());
    h[24..32].copy_from_slice(&first.to_le_bytes());
    let crc = crc32c::crc32c(&h);
    h[12..16].copy_from_slice(&crc.to_le_bytes());
    h
}

/// Why a header does not verify.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BadHeader {
    /// Shorter than a header or all zeros: a segment created but never
    /// written (its creation was not synced).
    Missing,
    Invalid,
}

/// Decodes a header: (epoch, first index).
pub fn parse_header(buf: &[u8]) -> Result<(u64, u64), BadHeader> {
    if buf.len() < HEADER || buf[..HEADER].iter().all(|b| *b == 0) {
        return Err(BadHeader::Missing);
    }
    let mut h = [0u8; HEADER];
    h.copy_from_slice(&buf[..HEADER]);
    let crc = u32::from_le_bytes(h[12..16].try_into().expect("4 bytes"));
    h[12..16].fill(0);
    if &h[0..8] != MAGIC || u32::from_le_bytes(h[8..12].try_into().expect("4")) != VERSION || crc32c::crc32c(&h) != crc
    {
        return Err(BadHeader::Invalid);
    }
    Ok((
        u64::from_le_bytes(h[16..24].try_into().expect("8 bytes")),
        u64::from_le_bytes(h[24..32].try_into().expect("8 bytes")),
    ))
}

/// What scanning a segment's records found.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Scan {
    /// Offset of each valid record, in order.
    pub offsets: Vec<u32>,
    /// Term of each valid record.
    pub terms: Vec<i64>,
    /// End of the last valid record.
    pub valid_len: u64,
    /// Where the records stopped verifying, and why (None: the file ends
    /// right after a valid record).
    pub stop: Option<(u64, Bad)>,
    /// Whether a record that verifies (at the expected index) sits after
    /// the stop point: the damage is then not a torn tail but corruption
    /// in the middle.
    pub valid_after_stop: bool,
    /// A record whose index is not the next one (offset, found index).
    pub misplaced: Option<(u64, u64)>,
}

/// Scans records from the header on; `first` is the index the first record
/// must have. Records must have consecutive indexes. None when the memory
/// for the offsets and terms is not there (nothing is kept then).
pub fn scan(buf: &[u8], first: u64) -> Option<Scan> {
    let mut s = Scan { valid_len: HEADER.min(buf.len()) as u64, ..Scan::default() };
    let mut at = HEADER;
    let mut next = first;
    while at < buf.len() {
        match record::decode(&buf[at..]) {
            Ok(d) => {
                if d.index != next {
                    s.misplaced = Some((at as u64, d.index));
                    s.stop = Some((at as u64, Bad::BadChecksum));
                    return Some(s);
                }
                if !super::log::reserve(&mut s.offsets, 1) || !super::log::reserve(&mut s.terms, 1) {
                    return None;
                }
                s.offsets.push(at as u32);
                s.terms.push(d.entry.term);
                at += d.size;
                next += 1;
                s.valid_len = at as u64;
            }
            Err(bad) => {
                s.stop = Some((at as u64, bad));
                s.valid_after_stop = bad != Bad::Zero || !buf[at..].iter().all(|b| *b == 0);
                if s.valid_after_stop {
                    s.valid_after_stop = find_valid_after(buf, at + 1, next);
                }
                return Some(s);
            }
        }
    }
    Some(s)
}

/// Whether a record for an index at or after `index` verifies anywhere
/// from `from` on (a record boundary after damage cannot be known, so
/// every offset is tried; a false match needs a 32-bit checksum collision
/// and a plausible index).
fn find_valid_after(buf: &[u8], from: usize, index: u64) -> bool {
    (from..buf.len().saturating_sub(record::RECORD_HEADER + record::PAYLOAD_HEADER) + 1)
        .any(|at| matches!(record::decode(&buf[at..]), Ok(d) if d.index >= index && d.index < index + (1 << 32)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::record::{encode, EntryRef};

    #[test]
    fn names_written_without_allocating_match_the_formatted_ones() {
        for n in [
            Name::Open { first: 1 },
            Name::Open { first: u64::MAX },
            Name::Closed { first: 7, last: 123456789 },
            Name::Closed { first: 0, last: u64::MAX },
        ] {
            let mut buf = [0u8; NAME_MAX];
            assert_eq!(n.write_name(&mut buf), n.file_name());
            assert_eq!(Name::parse(n.write_name(&mut buf)), Some(n));
        }
    }

    fn seg(first: u64, n: u64) -> Vec<u8> {
        let mut v = header(1, first).to_vec();
        for i in first..first + n {
            encode(&mut v, i, &EntryRef { term: 1 + (i as i64 / 3), id: i as i32, etype: 0, data: &[i as u8; 10] });
        }
        v
    }

    #[test]
    fn names_round_trip_and_sort_by_index() {
        for n in [Name::Open { first: 5 }, Name::Closed { first: 1, last: 4 }] {
            assert_eq!(Name::parse(&n.file_name()), Some(n));
        }
        assert!(Name::Closed { first: 9, last: 10 }.file_name() < Name::Closed { first: 10, last: 12 }.file_name());
        assert_eq!(Name::parse("open-12"), None);
        assert_eq!(Name::parse("meta1"), None);
        assert_eq!(Name::parse("00000000000000000005-00000000000000000004"), None, "last before first");
    }

    #[test]
    fn a_header_round_trips_and_rejects_damage() {
        let h = header(3, 77);
        assert_eq!(parse_header(&h), Ok((3, 77)));
        let mut bad = h;
        bad[20] ^= 1;
        assert_eq!(parse_header(&bad), Err(BadHeader::Invalid));
        assert_eq!(parse_header(&[0u8; 32]), Err(BadHeader::Missing));
        assert_eq!(parse_header(&h[..10]), Err(BadHeader::Missing));
    }

    #[test]
    fn a_clean_segment_scans_whole() {
        let v = seg(10, 5);
        let s = scan(&v, 10).unwrap();
        assert_eq!(s.offsets.len(), 5);
        assert_eq!(s.valid_len, v.len() as u64);
        assert_eq!(s.stop, None);
        assert_eq!(s.terms[0], 4);
    }

    #[test]
    fn a_torn_last_record_stops_the_scan_without_valid_records_after() {
        let v = seg(1, 5);
        let s = scan(&v[..v.len() - 3], 1).unwrap();
        assert_eq!(s.offsets.len(), 4);
        assert_eq!(s.stop.map(|x| x.1), Some(Bad::Truncated));
        assert!(!s.valid_after_stop);
    }

    #[test]
    fn a_zero_filled_tail_is_a_zero_stop() {
        let mut v = seg(1, 3);
        let n = v.len();
        v.extend([0u8; 4096]);
        let s = scan(&v, 1).unwrap();
        assert_eq!(s.offsets.len(), 3);
        assert_eq!(s.valid_len, n as u64);
        assert_eq!(s.stop.map(|x| x.1), Some(Bad::Zero));
        assert!(!s.valid_after_stop);
    }

    #[test]
    fn a_bad_record_in_the_middle_has_valid_records_after_it() {
        let mut v = seg(1, 5);
        let s0 = scan(&v, 1).unwrap();
        v[s0.offsets[2] as usize + 12] ^= 0xff;
        let s = scan(&v, 1).unwrap();
        assert_eq!(s.offsets.len(), 2);
        assert_eq!(s.stop.map(|x| x.1), Some(Bad::BadChecksum));
        assert!(s.valid_after_stop);
    }

    #[test]
    fn a_bad_checksum_in_the_last_record_has_nothing_valid_after() {
        let mut v = seg(1, 5);
        let n = v.len();
        v[n - 1] ^= 1;
        let s = scan(&v, 1).unwrap();
        assert_eq!(s.offsets.len(), 4);
        assert!(!s.valid_after_stop);
    }

    #[test]
    fn a_record_with_an_unexpected_index_is_misplaced() {
        let v = seg(1, 3);
        let s = scan(&v, 2).unwrap();
        assert_eq!(s.misplaced, Some((HEADER as u64, 1)));
        assert!(s.offsets.is_empty());
    }
}
