//! The durable store: a Raft log and its term/vote metadata in one
//! directory, in safe Rust on `std::fs`.
//!
//! - [`record`], one entry on disk (length, CRC32C, fields, data);
//! - [`segment`], segment files (names, header, scanning records);
//! - [`meta`], term, vote and log start in two alternating files;
//! - [`recovery`], opening a directory and repairing a torn tail;
//! - [`log`], the store itself (append, read, truncate, compact, sync);
//! - [`syncer`], the background fdatasync thread;
//! - [`cache`], the bounded cache of recent entries;
//! - [`terms`], the in-memory term index;
//! - [`disk`], the file operations, with the fault-injection seam;
//! - [`diag`], diagnostics.
//!
//! The format and the crash-safety argument are in docs/store-format.md.
#![deny(unsafe_code)]

pub mod cache;
pub mod diag;
pub mod disk;
pub mod error;
pub mod log;
pub mod meta;
pub mod record;
pub mod recovery;
pub mod segment;
pub mod syncer;
pub mod terms;

pub use error::{Error, Kind, Result};
pub use log::Store;
pub use record::EntryRef;

/// When the store syncs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fsync {
    /// fdatasync.
    Data,
    /// fsync.
    Full,
    /// Never (tests and benchmarks).
    None,
}

/// Options of [`Store::open`].
#[derive(Debug, Clone, Copy)]
pub struct Options {
    /// Bytes at which a segment is closed.
    pub segment_size: u64,
    pub fsync: Fsync,
    /// Create the directory if missing.
    pub create: bool,
    /// Cut a corrupt last segment at the damage even when valid records
    /// follow it (otherwise that is an error).
    pub repair: bool,
}

impl Default for Options {
    fn default() -> Self {
        Options { segment_size: 8 << 20, fsync: Fsync::Data, create: true, repair: false }
    }
}

/// Smallest segment size accepted.
pub(crate) const MIN_SEGMENT: u64 = 4096;
/// Largest segment size accepted (record offsets are u32).
pub(crate) const MAX_SEGMENT: u64 = 1 << 30;

#[cfg(test)]
mod tests;
#[cfg(test)]
mod tests_bgwrite;
#[cfg(test)]
mod tests_open;
#[cfg(test)]
mod tests_roll;
