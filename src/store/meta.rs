//! Metadata: term, vote, and where the log starts, in two files written in
//! turn (`meta1` for odd versions, `meta2` for even ones).
//!
//! An update overwrites the older file in place with the next version and
//! syncs it; a crash at any byte leaves that file torn (its checksum fails)
//! and the other one intact, so the reader gets the old or the new state,
//! never a mix. Record (64 bytes, little-endian):
//!
//! ```text
//! 0  [u8; 8] magic "RAFTMETA"
//! 8  u64     version (1, 2, ...; the higher valid one wins)
//! 16 i64     term
//! 24 i32     vote (-1: none)
//! 28 u32     zero
//! 32 u64     epoch (bumped by a reset; segments of other epochs are stale)
//! 40 u64     start: index of the log's first entry
//! 48 i64     term of the entry before `start` (the snapshot's term)
//! 56 u32     CRC32C of bytes 0..56
//! 60 u32     zero
//! ```

pub(crate) const MAGIC: &[u8; 8] = b"RAFTMETA";
pub(crate) const SIZE: usize = 64;
pub(crate) const FILES: [&str; 2] = ["meta1", "meta2"];

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Meta {
    pub version: u64,
    pub term: i64,
    pub vote: i32,
    pub epoch: u64,
    pub start: u64,
    pub start_term: i64,
}

impl Meta {
    /// The state of a new store: an empty log starting at 1.
    pub fn initial() -> Meta {
        Meta { version: 0, term: 0, vote: -1, epoch: 1, start: 1, start_term: 0 }
    }

    /// Which file version `version` goes to.
    pub fn file_of(version: u64) -> &'static str {
        FILES[((version + 1) % 2) as usize]
    }

    pub fn encode(&self) -> [u8; SIZE] {
        let mut b = [0u8; SIZE];
        b[0..8].copy_from_slice(MAGIC);
        b[8..16].copy_from_slice(&self.version.to_le_bytes());
        b[16..24].copy_from_slice(&self.term.to_le_bytes());
        b[24..28].copy_from_slice(&self.vote.to_le_bytes());
        b[32..40].copy_from_slice(&self.epoch.to_le_bytes());
        b[40..48].copy_from_slice(&self.start.to_le_bytes());
        b[48..56].copy_from_slice(&self.start_term.to_le_bytes());
        let crc = crc32c::crc32c(&b[0..56]);
        b[56..60].copy_from_slice(&crc.to_le_bytes());
        b
    }

    /// Decodes a record; None if it does not verify.
    pub fn decode(b: &[u8]) -> Option<Meta> {
        if b.len() < SIZE || &b[0..8] != MAGIC {
            return None;
        }
        let u64_at = |at: usize| u64::from_le_bytes(b[at..at + 8].try_into().expect("8 bytes"));
        let crc = u32::from_le_bytes(b[56..60].try_into().expect("4 bytes"));
        if crc32c::crc32c(&b[0..56]) != crc || b[28..32] != [0; 4] || b[60..64] != [0; 4] {
            return None;
        }
        Some(Meta {
            version: u64_at(8),
            term: u64_at(16) as i64,
            vote: i32::from_le_bytes(b[24..28].try_into().expect("4 bytes")),
            epoch: u64_at(32),
            start: u64_at(40),
            start_term: u64_at(48) as i64,
        })
    }
}

/// Picks the state from the two files' contents: the valid one with the
/// higher version. None if neither verifies.
pub fn choose(a: Option<&[u8]>, b: Option<&[u8]>) -> Option<Meta> {
    let a = a.and_then(Meta::decode);
    let b = b.and_then(Meta::decode);
    match (a, b) {
        (Some(x), Some(y)) => Some(if x.version >= y.version { x } else { y }),
        (x, y) => x.or(y),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn m(version: u64, term: i64) -> Meta {
        Meta { version, term, vote: 2, epoch: 1, start: 5, start_term: 1 }
    }

    #[test]
    fn a_record_round_trips() {
        let x = m(3, 9);
        assert_eq!(Meta::decode(&x.encode()), Some(x));
    }

    #[test]
    fn versions_alternate_between_the_two_files() {
        assert_eq!(Meta::file_of(1), "meta1");
        assert_eq!(Meta::file_of(2), "meta2");
        assert_eq!(Meta::file_of(3), "meta1");
    }

    #[test]
    fn the_higher_valid_version_wins() {
        let (a, b) = (m(3, 1).encode(), m(4, 2).encode());
        assert_eq!(choose(Some(&a), Some(&b)).unwrap().term, 2);
        assert_eq!(choose(Some(&b), Some(&a)).unwrap().term, 2);
    }

    #[test]
    fn a_write_torn_at_any_byte_leaves_the_old_or_the_new_state() {
        let old = m(3, 1).encode();
        let prev = m(2, 1).encode(); // what the file being overwritten held
        let new = m(4, 2).encode();
        for cut in 0..=SIZE {
            let mut torn = prev;
            torn[..cut].copy_from_slice(&new[..cut]);
            let got = choose(Some(&old), Some(&torn)).unwrap();
            assert!(got.term == 1 && got.version == 3 || got == m(4, 2), "cut at {cut}: {got:?}");
            // A zero-filled (or short) file is the same.
            let mut zeroed = [0u8; SIZE];
            zeroed[..cut].copy_from_slice(&new[..cut]);
            let got = choose(Some(&old), Some(&zeroed[..])).unwrap();
            assert!(got.version == 3 || got == m(4, 2), "zero cut at {cut}");
        }
    }

    #[test]
    fn neither_file_valid_is_none() {
        assert_eq!(choose(None, Some(&[0u8; 64])), None);
    }
}
