//! The store: appends go to an in-memory buffer that a sync writes to the
//! open segment with one `write` and makes durable with one `fdatasync`
//! (a background sync hands the buffer to the sync thread, which does
//! both); reads come from the buffers or from the segment files; truncation,
//! compaction and reset change the files in an order that a crash at any
//! point leaves recoverable (see docs/store-format.md).
//!
//! Invariants:
//! - `segs` are in index order and contiguous; only the last may be open;
//!   entries `first ..= last` are in them (a segment may also hold entries
//!   before `first`, left by compaction and ignored).
//! - the open segment's bytes from `written` to `len` are those of the
//!   `inflight` buffers (handed to the sync thread, in order; `inflight_bytes`
//!   in all) followed by `pending`. Only the open segment has bytes in
//!   flight: every other change of the files first waits for them
//!   (`drain_writes`).
//! - every entry `<= durable` is on disk and synced; closed segments are
//!   entirely synced.
//! - a segment is closed only once all of it is durable (a roll happens at
//!   the first append after a sync that covered the whole open segment, so
//!   the segment may pass `segment_size` by what was appended meanwhile),
//!   and closing syncs nothing: the rename and the new segment's name
//!   become durable with the directory sync that the next sync does after
//!   its fdatasync (`dir_pending`), before it reports any record of the new
//!   segment durable.
//! - after `failed` is set, nothing is written any more.
//!
//! This file has the state, opening, queries, metadata and closing; the
//! rest is split by concern: `write` (append, write, sync), `read`, and
//! `truncate` (pop, poll, reset).

use std::collections::VecDeque;
use std::fs::File;
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use super::diag::Diag;
use super::disk::{self, Disk, FaultyDisk, RealDisk};
use super::error::{try_format, Context, Error, Kind, Result};
use super::meta::{self, Meta};
use super::record::{self, EntryRef};
use super::segment::{self, Name};
use super::syncer::Syncer;
use super::terms::TermRuns;
use super::{Fsync, Options};

mod read;
mod truncate;
mod write;

/// Room for `additional` more elements without an aborting allocation
/// (one compare when there is room).
#[inline(always)]
pub(crate) fn reserve<T>(v: &mut Vec<T>, additional: usize) -> bool {
    v.capacity() - v.len() >= additional || v.try_reserve(additional).is_ok()
}

/// `Arc::new(value)`, or the value back when its block cannot be had (the
/// block is obtained fallibly first, through the library's allocator).
#[cfg(feature = "capi")]
pub(crate) fn try_arc<T>(value: T) -> std::result::Result<Arc<T>, T> {
    let size = crate::core::alloc::rc_block_size::<T>();
    let mut value = Some(value);
    let made = crate::ffi::heap::with_reserved(size, || value.take().map(Arc::new));
    match made.flatten() {
        Some(a) => Ok(a),
        None => Err(value.take().expect("not moved when the block was not had")),
    }
}

/// Without the C API the library has no allocator of its own: Rust's
/// ordinary `Arc::new`.
#[cfg(not(feature = "capi"))]
pub(crate) fn try_arc<T>(value: T) -> std::result::Result<Arc<T>, T> {
    Ok(Arc::new(value))
}

/// `dir.join(name)`, or `NoMem`.
pub(crate) fn try_join(dir: &Path, name: &str) -> Result<PathBuf> {
    let mut p = PathBuf::new();
    p.try_reserve_exact(dir.as_os_str().len() + name.len() + 2).map_err(|_| Error::nomem())?;
    p.push(dir);
    p.push(name);
    Ok(p)
}

/// A copy of `p`, or `NoMem`.
pub(crate) fn try_path(p: &Path) -> Result<PathBuf> {
    let mut out = PathBuf::new();
    out.try_reserve_exact(p.as_os_str().len()).map_err(|_| Error::nomem())?;
    out.push(p);
    Ok(out)
}

pub(crate) struct Segment {
    pub name: Name,
    pub first: u64,
    /// Offset of each record in the file.
    pub offsets: Vec<u32>,
    /// End of the last record (including bytes not yet written).
    pub len: u64,
    /// Bytes known written to the file.
    pub written: u64,
    pub file: Arc<File>,
}

impl Segment {
    pub fn last(&self) -> u64 {
        self.first + self.offsets.len() as u64 - 1
    }

    fn is_open(&self) -> bool {
        matches!(self.name, Name::Open { .. })
    }

    /// Byte range of entry `idx` (which the segment holds).
    fn range(&self, idx: u64) -> (u64, u64) {
        let k = (idx - self.first) as usize;
        let start = self.offsets[k] as u64;
        let end = self.offsets.get(k + 1).map_or(self.len, |o| *o as u64);
        (start, end)
    }
}

/// An entry read back from the store.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    pub term: i64,
    pub id: i32,
    pub etype: i16,
    pub data: Vec<u8>,
}

/// Counters for benchmarks and tests.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Stats {
    pub writes: u64,
    pub syncs: u64,
    pub dir_syncs: u64,
}

/// The last roll whose names may not be durable yet: `closed` (if any)
/// was renamed from `open-<first>`, and `created` is the open segment it
/// started. Kept until a directory sync covers them (for `crash`).
#[derive(Debug, Clone, Copy)]
pub(crate) struct Roll {
    pub closed: Option<Name>,
    pub created: u64,
}

/// Past this many bytes a segment is closed even if that costs a sync of
/// its own (record offsets are u32); a sync batch never gets near it in
/// practice.
const HARD_LIMIT: u64 = 3 << 30;

pub struct Store {
    pub(crate) dir: PathBuf,
    pub(crate) dir_file: Arc<File>,
    pub(crate) _lock: File,
    pub(crate) faults: Arc<FaultyDisk<RealDisk>>,
    pub(crate) disk: Arc<dyn Disk>,
    pub(crate) opts: Options,
    pub(crate) diag: Diag,
    pub(crate) meta: Meta,
    pub(crate) meta_files: [File; 2],
    pub(crate) segs: Vec<Segment>,
    pub(crate) terms: TermRuns,
    pub(crate) first: u64,
    pub(crate) last: u64,
    pub(crate) pending: Vec<u8>,
    /// Buffers handed to the sync thread to write, by write seq.
    pub(crate) inflight: VecDeque<(u64, Arc<Vec<u8>>)>,
    pub(crate) inflight_bytes: u64,
    pub(crate) write_seq: u64,
    /// A written buffer kept for reuse as `pending`.
    pub(crate) spare: Vec<u8>,
    /// A background write failed (its bytes are back in `pending`): the
    /// next `sync_start`, `sync_poll` or `sync_wait` reports it.
    pub(crate) write_error: Option<Error>,
    pub(crate) durable: u64,
    /// The open segment was truncated since its last sync.
    pub(crate) dirty: bool,
    /// A segment was created or renamed since the last directory sync:
    /// the next sync of the open segment syncs the directory too.
    pub(crate) dir_pending: bool,
    /// The last roll, until a directory sync made its names durable.
    pub(crate) roll: Option<Roll>,
    /// Highest index a background sync was asked to cover (capped by pops).
    pub(crate) requested: u64,
    pub(crate) failed: Option<Error>,
    pub(crate) syncer: Syncer,
    pub(crate) stats: Stats,
}

impl Store {
    /// Opens (or creates) the store in `dir`; see [`super::recovery`].
    pub fn open(dir: &Path, opts: Options, diag: Diag) -> Result<Store> {
        super::recovery::open(dir, opts, diag)
    }

    // ------------------------------------------------------------ queries

    pub fn first_idx(&self) -> u64 {
        self.first
    }

    pub fn current_idx(&self) -> u64 {
        self.last
    }

    pub fn count(&self) -> u64 {
        self.last + 1 - self.first
    }

    /// Index up to which the log is known durable.
    pub fn synced_idx(&self) -> u64 {
        self.durable
    }

    pub fn term(&self) -> i64 {
        self.meta.term
    }

    pub fn vote(&self) -> i32 {
        self.meta.vote
    }

    /// Index and term of the entry before the first (the snapshot's).
    pub fn snapshot(&self) -> (u64, i64) {
        (self.meta.start - 1, self.meta.start_term)
    }

    pub fn term_at(&self, idx: u64) -> Option<i64> {
        if idx == self.first - 1 {
            return Some(self.meta.start_term);
        }
        if idx < self.first || idx > self.last {
            return None;
        }
        self.terms.term_at(idx)
    }

    pub fn stats(&self) -> Stats {
        let mut s = self.stats;
        s.syncs += self.syncer.count.load(std::sync::atomic::Ordering::Relaxed);
        s.dir_syncs += self.syncer.dir_count.load(std::sync::atomic::Ordering::Relaxed);
        s
    }

    /// Sends a line to the store's diagnostics.
    pub fn report(&self, level: log::Level, msg: &str) {
        self.diag.emit(level, msg)
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The fault-injection seam (tests).
    pub fn faults(&self) -> &FaultyDisk<RealDisk> {
        &self.faults
    }

    /// Bytes appended but not yet written.
    pub fn pending_bytes(&self) -> usize {
        self.pending.len()
    }

    fn check_usable(&self) -> Result<()> {
        match &self.failed {
            Some(e) => Err(Error::new(
                Kind::Failed,
                try_format(format_args!("store refuses writes after an earlier failure: {}", e.msg)),
            )),
            None => Ok(()),
        }
    }

    fn fail(&mut self, e: Error) -> Error {
        let msg = try_format(format_args!("store failed, refusing further writes: {}", e.msg));
        self.diag.emit(log::Level::Error, if msg.is_empty() { "store failed, refusing further writes" } else { &msg });
        // (a copy of the message only if the memory is there: `clone`
        // would abort without it)
        self.failed = Some(Error { kind: e.kind, msg: try_format(format_args!("{}", e.msg)) });
        e
    }

    /// The path of segment `name`, or `NoMem` (never an aborting
    /// allocation).
    fn seg_path(&self, name: &Name) -> Result<PathBuf> {
        let mut buf = [0u8; segment::NAME_MAX];
        let file = name.write_name(&mut buf);
        try_join(&self.dir, file)
    }

    /// The path of segment `name` for a message: empty when there is no
    /// memory for it.
    fn msg_path(&self, name: &Name) -> PathBuf {
        self.seg_path(name).unwrap_or_default()
    }

    fn full(&self) -> bool {
        self.opts.fsync == Fsync::Full
    }

    /// Syncs a file unless syncing is off.
    fn sync_file(&mut self, file: &File, path: &Path) -> Result<()> {
        if self.opts.fsync == Fsync::None {
            return Ok(());
        }
        self.stats.syncs += 1;
        self.disk.sync(file, self.full()).at("fdatasync", path)
    }

    pub(crate) fn sync_dir(&mut self) -> Result<()> {
        if self.opts.fsync != Fsync::None {
            self.stats.dir_syncs += 1;
            self.disk.sync_dir(&self.dir_file).at("fsync directory", &self.dir)?;
        }
        self.dir_pending = false;
        self.roll = None;
        Ok(())
    }

    /// Whether the open segment is entirely durable (nothing pending, in
    /// flight, unsynced or truncated since its sync).
    fn open_durable(&self) -> bool {
        self.segs.last().is_some_and(|s| {
            self.durable >= s.last() && !self.dirty && self.pending.is_empty() && self.inflight.is_empty()
        })
    }

    /// The open segment is past its size and a background sync asked for
    /// covers all of it: waits for that sync (without collecting its
    /// report, which `sync_poll` still delivers) so that the segment can
    /// be closed without a sync of its own. Returns whether it is durable.
    fn await_requested_sync(&mut self) -> bool {
        let Some(seg) = self.segs.last() else { return false };
        if self.requested < seg.last() || !self.pending.is_empty() || self.dirty {
            return false;
        }
        self.syncer.wait();
        self.collect_writes();
        if let Some(done) = self.syncer.peek_finished() {
            self.durable = self.durable.max(done.min(self.last));
        }
        self.open_durable()
    }

    // ------------------------------------------------------------ metadata

    /// Durably records term and vote.
    pub fn set_metadata(&mut self, term: i64, vote: i32) -> Result<()> {
        self.check_usable()?;
        if term == self.meta.term && vote == self.meta.vote {
            return Ok(());
        }
        self.write_meta(Meta { term, vote, ..self.meta })
    }

    /// Writes `m` as the next version into the older file and syncs it.
    pub(crate) fn write_meta(&mut self, mut m: Meta) -> Result<()> {
        m.version = self.meta.version + 1;
        let k = if meta::Meta::file_of(m.version) == meta::FILES[0] { 0 } else { 1 };
        let path = try_join(&self.dir, meta::FILES[k])?;
        let file = self.meta_files[k].try_clone().at("dup", &path)?;
        self.stats.writes += 1;
        disk::write_all_at(&*self.disk, &file, &m.encode(), 0).at("write", &path)?;
        if let Err(e) = self.sync_file(&file, &path) {
            return Err(self.fail(e));
        }
        self.meta = m;
        Ok(())
    }

    // ------------------------------------------------------------ close

    /// Writes and syncs what is pending (unless the store failed).
    pub fn close(mut self) -> Result<()> {
        self.final_sync()
    }

    /// What `close` does before the store is dropped: waits for the sync
    /// thread, then writes and syncs what is pending (unless the store
    /// failed). Allocates nothing on its way to success (dropping the store
    /// afterwards, which joins the sync thread, allocates nothing either),
    /// so a close needs no memory.
    pub fn final_sync(&mut self) -> Result<()> {
        self.syncer.wait();
        if self.failed.is_some() {
            return Ok(());
        }
        self.sync()
    }

    /// Simulates a power failure: cuts every segment back to its synced
    /// entries, undoes the names of a roll no directory sync covered yet
    /// (the closed segment gets its open name back; the segment it started
    /// is removed, or kept when its first index is odd, as a disk may or
    /// may not have kept it), and drops the store without syncing.
    pub fn crash(mut self) -> Result<()> {
        self.crash_files()
    }

    /// What `crash` does to the files before the store is dropped. `NoMem`
    /// (for a path) may come after some files were cut back; calling it
    /// again finishes the job (cutting again changes nothing).
    pub fn crash_files(&mut self) -> Result<()> {
        self.syncer.wait();
        self.collect_writes();
        let durable = self.durable;
        for s in &self.segs {
            if s.last() <= durable {
                continue;
            }
            let cut = if s.first > durable { segment::HEADER as u64 } else { s.range(durable + 1).0 };
            let path = self.msg_path(&s.name);
            s.file.set_len(cut.min(s.written)).at("truncate", &path)?;
        }
        if let Some(r) = self.roll.filter(|r| durable < r.created) {
            if let Some(s) = self.segs.iter().find(|s| s.first == r.created && s.is_open()) {
                if r.created.is_multiple_of(2) {
                    let path = self.seg_path(&s.name)?;
                    disk::on_path(&path, || std::fs::remove_file(&path)).at("remove", &path)?;
                }
            }
            if let Some(closed) = r.closed {
                if self.segs.iter().any(|s| s.name == closed) {
                    let (from, to) = (self.seg_path(&closed)?, self.seg_path(&Name::Open { first: closed.first() })?);
                    disk::rename_path(&from, &to).at("rename", &from)?;
                }
            }
        }
        Ok(())
    }
}
