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
fn try_join(dir: &Path, name: &str) -> Result<PathBuf> {
    let mut p = PathBuf::new();
    p.try_reserve_exact(dir.as_os_str().len() + name.len() + 2).map_err(|_| Error::nomem())?;
    p.push(dir);
    p.push(name);
    Ok(p)
}

/// A copy of `p`, or `NoMem`.
fn try_path(p: &Path) -> Result<PathBuf> {
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
        self.failed = Some(e.clone());
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

    // ------------------------------------------------------------ append

    /// Appends an entry at index `current_idx() + 1` (in memory until the
    /// next sync writes it). Fails only when a new segment has to be
    /// started and that fails; the entry is then not appended.
    pub fn append(&mut self, e: &EntryRef<'_>) -> Result<u64> {
        self.check_usable()?;
        if record::PAYLOAD_HEADER + e.data.len() > record::MAX_PAYLOAD {
            return Err(Error::invalid(try_format(format_args!(
                "entry of {} bytes is larger than the 1 GiB limit",
                e.data.len()
            ))));
        }
        let idx = self.last + 1;
        let size = record::record_size(e.data.len()) as u64;
        // The segment size is a target: a full segment is closed only once
        // it is durable (so closing it costs no sync); until then appends
        // go on into it.
        let need_new = match self.segs.last() {
            Some(s) if s.is_open() => {
                if s.offsets.is_empty() || s.len + size <= self.opts.segment_size {
                    false
                } else if s.len + size > HARD_LIMIT {
                    true
                } else {
                    self.open_durable() || self.await_requested_sync()
                }
            }
            _ => true,
        };
        // Memory first, so that a failure leaves the store as it was (on
        // a buffer with room each check is one compare).
        if !reserve(&mut self.pending, size as usize) || !self.terms.reserve_one() {
            return Err(Error::nomem());
        }
        if need_new {
            self.roll(idx)?;
        }
        let seg = self.segs.last_mut().expect("roll leaves an open segment");
        if !reserve(&mut seg.offsets, 1) {
            // (a roll just made leaves an empty open segment: a state the
            // next append uses as it is)
            return Err(Error::nomem());
        }
        let offset = seg.len;
        record::encode(&mut self.pending, idx, e);
        seg.offsets.push(offset as u32);
        seg.len += size;
        self.terms.push(idx, e.term);
        self.last = idx;
        Ok(idx)
    }

    /// Closes the open segment (renamed; written and synced first only if
    /// it is not yet durable, which happens only past `HARD_LIMIT`) and
    /// starts a new one whose first entry will be `idx`. Neither name is
    /// synced here: the next sync of the new segment syncs the directory
    /// after its fdatasync. Each step updates the state only once it
    /// succeeded, so a failure leaves a store that can retry.
    fn roll(&mut self, idx: u64) -> Result<()> {
        let mut closed = None;
        if let Some(seg) = self.segs.last() {
            if seg.is_open() {
                if seg.offsets.is_empty() {
                    // An empty open segment (after a pop) for the wrong index.
                    let path = self.seg_path(&seg.name)?;
                    self.disk.remove(&path).at("remove", &path)?;
                    self.segs.pop();
                } else {
                    self.write_pending()?;
                    let (file, path, last) = {
                        let s = self.segs.last().expect("checked");
                        (s.file.clone(), self.seg_path(&s.name)?, s.last())
                    };
                    if self.durable < last || self.dirty {
                        if let Err(e) = self.sync_file(&file, &path) {
                            return Err(self.fail(e));
                        }
                        self.dirty = false;
                        self.durable = self.durable.max(last);
                    }
                    let s = self.segs.last().expect("checked");
                    let name = Name::Closed { first: s.first, last };
                    let to = self.seg_path(&name)?;
                    self.disk.rename(&path, &to).at("rename", &path)?;
                    self.segs.last_mut().expect("checked").name = name;
                    self.dir_pending = true;
                    closed = Some(name);
                }
            }
        }
        let name = Name::Open { first: idx };
        let path = self.seg_path(&name)?;
        // Room for the new segment's entry before its file exists.
        if !reserve(&mut self.segs, 1) {
            return Err(Error::nomem());
        }
        let file = match self.disk.create(&path) {
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
                // Left by a removal that failed earlier; it holds nothing live.
                self.disk.remove(&path).at("remove", &path)?;
                self.disk.create(&path).at("create", &path)?
            }
            r => r.at("create", &path)?,
        };
        self.dir_pending = true;
        // The header is made durable by the first sync of the segment's
        // records (a segment whose header never reached the disk holds no
        // synced record, and recovery removes it); that sync also syncs the
        // directory (`dir_pending`) before it reports any record in it.
        let created =
            disk::write_all_at(&*self.disk, &file, &segment::header(self.meta.epoch, idx), 0).at("write", &path);
        self.stats.writes += 1;
        if let Err(e) = created {
            let _ = self.disk.remove(&path);
            if e.kind == Kind::Io {
                return Err(self.fail(e));
            }
            return Err(e);
        }
        let h = segment::HEADER as u64;
        let Ok(file) = try_arc(file) else {
            let _ = self.disk.remove(&path);
            return Err(Error::nomem());
        };
        self.segs.push(Segment { name, first: idx, offsets: Vec::new(), len: h, written: h, file });
        self.roll = Some(Roll { closed, created: idx });
        Ok(())
    }

    /// Writes the pending bytes to the open segment with one write call. On
    /// failure the file is cut back to what it held and the bytes stay
    /// pending, so a later sync retries them.
    pub(crate) fn write_pending(&mut self) -> Result<()> {
        self.drain_writes();
        if self.pending.is_empty() {
            return Ok(());
        }
        let seg = self.segs.last().expect("pending bytes belong to the open segment");
        let (file, written, name) = (seg.file.clone(), seg.written, seg.name);
        self.stats.writes += 1;
        if let Err(e) = disk::write_all_at(&*self.disk, &file, &self.pending, written) {
            // (the path, for the messages, only on failure: the write
            // itself allocates nothing)
            let path = self.msg_path(&name);
            let err = Error::io("write", &path, &e);
            if let Err(t) = self.disk.truncate(&file, written) {
                return Err(self.fail(Error::io("truncate after a failed write", &path, &t)));
            }
            return Err(err);
        }
        self.segs.last_mut().expect("checked").written += self.pending.len() as u64;
        self.pending.clear();
        Ok(())
    }

    /// Takes in what the sync thread wrote: written buffers leave
    /// `inflight` (one is kept for reuse); after a failed write the
    /// unwritten ones go back in front of `pending` (the file was cut back
    /// to where they start) and the error waits for the next background
    /// sync call to report it.
    fn collect_writes(&mut self) {
        if self.inflight.is_empty() {
            return;
        }
        let (done, failure) = self.syncer.collect_writes();
        while self.inflight.front().is_some_and(|(seq, _)| *seq <= done) {
            let (_, buf) = self.inflight.pop_front().expect("checked");
            self.inflight_bytes -= buf.len() as u64;
            self.segs.last_mut().expect("bytes in flight belong to the open segment").written += buf.len() as u64;
            if let Ok(mut v) = Arc::try_unwrap(buf) {
                if v.capacity() > self.spare.capacity() {
                    v.clear();
                    self.spare = v;
                }
            }
        }
        if let Some(f) = failure {
            let mut bytes = Vec::new();
            if bytes.try_reserve_exact(self.inflight_bytes as usize + self.pending.len()).is_err() {
                // The unwritten bytes cannot be put back together: the
                // store refuses writes (what was synced stays; reopening
                // recovers the rest of the files).
                self.inflight.clear();
                self.inflight_bytes = 0;
                self.pending.clear();
                self.requested = self.durable;
                let e = self.fail(Error::nomem());
                self.write_error = Some(e);
                return;
            }
            for (_, b) in self.inflight.drain(..) {
                bytes.extend_from_slice(&b);
            }
            bytes.extend_from_slice(&self.pending);
            self.pending = bytes;
            self.inflight_bytes = 0;
            // The sync asked for was dropped with the write (and with it a
            // directory sync it may have carried).
            self.requested = self.durable;
            self.dir_pending |= self.roll.is_some();
            self.write_error = Some(if f.fatal { self.fail(f.error) } else { f.error });
        }
    }

    /// Waits until the sync thread has written every buffer handed to it
    /// (or one failed: its bytes are then pending again).
    fn drain_writes(&mut self) {
        if !self.inflight.is_empty() {
            self.syncer.wait_writes();
            self.collect_writes();
        }
    }

    /// Hands the pending bytes to the sync thread to write after those in
    /// flight; `pending` continues with an empty (reused) buffer.
    /// `NoMem`, with nothing handed over, when the memory for the handover
    /// is not there.
    fn hand_over(&mut self) -> Result<()> {
        if self.pending.is_empty() {
            return Ok(());
        }
        let seg = self.segs.last().expect("pending bytes belong to the open segment");
        let (file, offset) = (seg.file.clone(), seg.written + self.inflight_bytes);
        let path = self.seg_path(&seg.name)?;
        if (self.inflight.len() == self.inflight.capacity() && self.inflight.try_reserve(1).is_err())
            || !self.syncer.reserve_write()
        {
            return Err(Error::nomem());
        }
        let buf = match try_arc(std::mem::take(&mut self.pending)) {
            Ok(buf) => buf,
            Err(bytes) => {
                self.pending = bytes;
                return Err(Error::nomem());
            }
        };
        self.pending = std::mem::take(&mut self.spare);
        self.write_seq += 1;
        self.inflight_bytes += buf.len() as u64;
        self.inflight.push_back((self.write_seq, buf.clone()));
        self.stats.writes += 1;
        self.syncer.write(file, path, offset, buf, self.write_seq);
        Ok(())
    }

    /// Copies bytes of the open segment from `from` on that are not known
    /// written (`from >= written`) into `out`: from the buffers in flight,
    /// then from `pending`.
    fn copy_unwritten(&self, written: u64, from: u64, out: &mut [u8]) {
        let (mut at, mut pos, mut done) = (written, from, 0);
        let parts = self.inflight.iter().map(|(_, b)| b.as_slice()).chain(std::iter::once(self.pending.as_slice()));
        for part in parts {
            let end = at + part.len() as u64;
            if pos < end && done < out.len() {
                let k = (pos - at) as usize;
                let n = (part.len() - k).min(out.len() - done);
                out[done..done + n].copy_from_slice(&part[k..k + n]);
                done += n;
                pos += n as u64;
            }
            at = end;
        }
    }

    // ------------------------------------------------------------ sync

    /// Writes what was appended and makes everything durable.
    pub fn sync(&mut self) -> Result<()> {
        self.check_usable()?;
        self.write_pending()?;
        if self.durable >= self.last && !self.dirty {
            return Ok(());
        }
        if let Some(seg) = self.segs.last() {
            let (file, name) = (seg.file.clone(), seg.name);
            if self.opts.fsync != Fsync::None {
                self.stats.syncs += 1;
                if let Err(e) = self.disk.sync(&file, self.full()) {
                    // (the path only for the message, on failure)
                    let e = Error::io("fdatasync", &self.msg_path(&name), &e);
                    return Err(self.fail(e));
                }
            }
        }
        // A roll whose directory sync a background sync may still be
        // running counts as pending too.
        if self.dir_pending || self.roll.is_some() {
            if let Err(e) = self.sync_dir() {
                return Err(self.fail(e));
            }
        }
        self.dirty = false;
        self.durable = self.last;
        Ok(())
    }

    /// Writes what was appended and has the background thread sync it.
    /// The write is done here when the thread is busy with an earlier
    /// fdatasync (a failed write is then reported at once, and the bytes
    /// stay pending), else by the thread before its fdatasync (a failure is
    /// reported by `sync_poll` or the next call, and the bytes are pending
    /// again). Reports a background write that failed since the last call.
    pub fn sync_start(&mut self) -> Result<()> {
        self.check_usable()?;
        self.collect_writes();
        if let Some(e) = self.write_error.take() {
            return Err(e);
        }
        if self.opts.fsync == Fsync::None {
            self.write_pending()?;
        }
        if (self.durable >= self.last && !self.dirty) || self.opts.fsync == Fsync::None {
            self.durable = self.last;
            self.syncer.complete_now(self.last);
            return Ok(());
        }
        if self.last <= self.requested && !self.dirty {
            // A background sync asked for already covers everything: its
            // completion will be reported; a second fdatasync buys nothing.
            return Ok(());
        }
        if self.inflight.is_empty() && self.syncer.syncing() {
            // The thread is busy with an fdatasync (the disk is the
            // bottleneck): writing here overlaps it, and the next one starts
            // as soon as it ends.
            self.write_pending()?;
        } else {
            // The thread is idle (the event loop is the bottleneck): it does
            // both the write and the fdatasync.
            self.hand_over()?;
        }
        let seg = self.segs.last().expect("unsynced entries are in the open segment");
        // (memory for the paths first: without it nothing is requested, and
        // the bytes handed over are written by the next request)
        let path = self.seg_path(&seg.name)?;
        let dir = match self.dir_pending && self.opts.fsync != Fsync::None {
            true => Some((self.dir_file.clone(), try_path(&self.dir)?)),
            false => None,
        };
        self.syncer.request(seg.file.clone(), path, self.last, dir);
        self.requested = self.last;
        self.dirty = false;
        self.dir_pending = false;
        Ok(())
    }

    /// Collects finished background syncs: Ok(Some(durable index)), Ok(None)
    /// when none finished since the last call; Err for a failed fdatasync
    /// (the store then refuses writes) or a failed background write (its
    /// bytes are pending again, for the next `sync_start` to retry).
    pub fn sync_poll(&mut self) -> Result<Option<u64>> {
        self.collect_writes();
        let done = match self.syncer.poll() {
            None => None,
            Some(Ok(idx)) => {
                self.durable = self.durable.max(idx.min(self.last));
                if self.roll.is_some_and(|r| self.durable >= r.created) {
                    // That sync also synced the directory.
                    self.roll = None;
                }
                Some(self.durable)
            }
            Some(Err(e)) => return Err(self.fail(e)),
        };
        match self.write_error.take() {
            Some(e) => Err(e),
            None => Ok(done),
        }
    }

    /// Waits for the background syncs asked for, then polls.
    pub fn sync_wait(&mut self) -> Result<u64> {
        self.syncer.wait();
        self.sync_poll().map(|o| o.unwrap_or(self.durable))
    }

    pub fn sync_fd(&self) -> i32 {
        self.syncer.fd()
    }

    // ------------------------------------------------------------ read

    fn segment_of(&self, idx: u64) -> Option<&Segment> {
        if idx < self.first || idx > self.last {
            return None;
        }
        let k = self.segs.partition_point(|s| s.first <= idx);
        self.segs.get(k.checked_sub(1)?)
    }

    /// Reads entry `idx` and hands it to `f` (None outside the log).
    pub fn read<R>(&self, idx: u64, f: impl FnOnce(EntryRef<'_>) -> R) -> Result<Option<R>> {
        let mut out = None;
        let mut f = Some(f);
        self.read_range(idx, 1, |_, e| {
            if let Some(f) = f.take() {
                out = Some(f(e));
            }
        })?;
        Ok(out)
    }

    /// Reads up to `max` entries from `idx` on (stopping at a segment's
    /// end) with one read call, handing each to `f`; returns how many.
    pub fn read_range(&self, idx: u64, max: usize, mut f: impl FnMut(u64, EntryRef<'_>)) -> Result<usize> {
        let Some(seg) = self.segment_of(idx) else { return Ok(0) };
        let n = (max as u64).min(seg.last().min(self.last) + 1 - idx);
        if n == 0 {
            return Ok(0);
        }
        let (start, _) = seg.range(idx);
        let (_, end) = seg.range(idx + n - 1);
        let path = || self.msg_path(&seg.name);
        let owned;
        let pending_from = seg.written + if seg.is_open() { self.inflight_bytes } else { 0 };
        let bytes: &[u8] = if seg.is_open() && start >= pending_from {
            &self.pending[(start - pending_from) as usize..(end - pending_from) as usize]
        } else {
            let mut buf = Vec::new();
            if buf.try_reserve_exact((end - start) as usize).is_err() {
                return Err(Error::nomem());
            }
            buf.resize((end - start) as usize, 0u8);
            let on_disk = (seg.written.min(end).saturating_sub(start)) as usize;
            seg.file.read_exact_at(&mut buf[..on_disk], start).at("read", &path())?;
            if on_disk < buf.len() {
                self.copy_unwritten(seg.written, start + on_disk as u64, &mut buf[on_disk..]);
            }
            owned = buf;
            &owned
        };
        let mut at = 0;
        for i in idx..idx + n {
            let d = record::decode(&bytes[at..]).map_err(|bad| Error::corrupt(&path(), start + at as u64, bad))?;
            if d.index != i {
                return Err(Error::corrupt(
                    &path(),
                    start + at as u64,
                    try_format(format_args!("record for index {} where {} belongs", d.index, i)),
                ));
            }
            f(i, d.entry);
            at += d.size;
        }
        Ok(n as usize)
    }

    /// Entry `idx` as an owned value.
    pub fn get(&self, idx: u64) -> Result<Option<Entry>> {
        self.read(idx, |e| Entry { term: e.term, id: e.id, etype: e.etype, data: e.data.to_vec() })
    }

    // ------------------------------------------------------------ pop

    /// Removes entries `from` and later. A failure part-way leaves the
    /// files in a state recovery accepts, but the store then refuses
    /// writes (its view of the files is no longer certain).
    pub fn pop(&mut self, from: u64) -> Result<()> {
        self.check_usable()?;
        if from > self.last {
            return Ok(());
        }
        if from < self.first {
            return Err(Error::invalid(try_format(format_args!(
                "pop from {} below the log's first index {}",
                from, self.first
            ))));
        }
        self.drain_writes();
        self.syncer.cap(from);
        self.durable = self.durable.min(from - 1);
        self.requested = self.requested.min(from - 1);
        self.pop_files(from).map_err(|e| self.fail(e))?;
        self.terms.truncate(from);
        self.last = from - 1;
        Ok(())
    }

    fn pop_files(&mut self, from: u64) -> Result<()> {
        // Whole segments, newest first, so that a crash leaves a prefix.
        let mut removed = false;
        while self.segs.last().is_some_and(|s| s.first >= from) {
            let s = self.segs.last().expect("checked");
            if s.is_open() {
                self.pending.clear();
            }
            let path = self.seg_path(&s.name)?;
            self.disk.remove(&path).at("remove", &path)?;
            self.segs.pop();
            removed = true;
        }
        if removed {
            self.sync_dir()?;
        }
        let Some(seg) = self.segs.last() else { return Ok(()) };
        if seg.last() < from {
            return Ok(());
        }
        if !seg.is_open() {
            // Reopen a closed segment: renamed first, so that its name never
            // claims entries it no longer holds.
            let name = Name::Open { first: seg.first };
            let (path, to) = (self.seg_path(&seg.name)?, self.seg_path(&name)?);
            self.disk.rename(&path, &to).at("rename", &path)?;
            self.segs.last_mut().expect("checked").name = name;
            self.sync_dir()?;
        }
        let seg = self.segs.last().expect("checked");
        let (cut, _) = seg.range(from);
        let (file, written, name) = (seg.file.clone(), seg.written, seg.name);
        if cut >= written {
            self.pending.truncate((cut - written) as usize);
        } else {
            self.pending.clear();
            self.disk.truncate(&file, cut).at("truncate", &self.msg_path(&name))?;
            self.dirty = true;
        }
        let seg = self.segs.last_mut().expect("checked");
        seg.offsets.truncate((from - seg.first) as usize);
        seg.len = cut;
        seg.written = seg.written.min(cut);
        Ok(())
    }

    // ------------------------------------------------------------ poll / reset

    /// Compacts: entries before `first` are dropped. The new start is
    /// recorded in the metadata first; then the segments wholly before it
    /// are deleted (a crash in between leaves files the next open removes).
    pub fn poll(&mut self, first: u64) -> Result<()> {
        self.check_usable()?;
        if first <= self.first {
            return Ok(());
        }
        if first > self.last + 1 {
            return Err(Error::invalid(try_format(format_args!("poll to {} past the log's end {}", first, self.last))));
        }
        let start_term = self.term_at(first - 1).expect("within the log");
        let m = Meta { start: first, start_term, ..self.meta };
        self.write_meta(m)?;
        self.first = first;
        self.terms.drop_before(first);
        let mut removed = false;
        while self.segs.len() > 1 && self.segs[0].last() < first {
            // (without memory for the path, as if the removal failed)
            let Ok(path) = self.seg_path(&self.segs[0].name) else { break };
            if let Err(e) = self.disk.remove(&path) {
                self.diag.warn(&try_format(format_args!(
                    "compaction could not remove {}: {} (removed on the next open)",
                    path.display(),
                    e
                )));
                break;
            }
            self.segs.remove(0);
            removed = true;
        }
        if removed {
            if let Err(e) = self.sync_dir() {
                self.diag.warn(&try_format(format_args!("compaction: {} (the next open removes what remains)", e.msg)));
            }
        }
        Ok(())
    }

    /// Empties the log; the next entry appended gets index `first`, and
    /// `term` is recorded as the term of `first - 1`. The metadata's epoch
    /// moves on first, which makes every existing segment stale.
    pub fn reset(&mut self, first: u64, term: i64) -> Result<()> {
        self.check_usable()?;
        let first = first.max(1);
        let m = Meta { epoch: self.meta.epoch + 1, start: first, start_term: term, ..self.meta };
        // The server goes on as if the log were reset: a store that could
        // not reset must refuse from here on.
        if let Err(e) = self.write_meta(m) {
            return Err(self.fail(e));
        }
        self.drain_writes();
        self.write_error = None; // its bytes were in the segments removed below
        self.syncer.cap(0);
        self.pending.clear();
        for s in std::mem::take(&mut self.segs) {
            // (without memory for the path, left to the next open)
            let Ok(path) = self.seg_path(&s.name) else { continue };
            if let Err(e) = self.disk.remove(&path) {
                self.diag.warn(&try_format(format_args!(
                    "reset could not remove {}: {} (removed on the next open)",
                    path.display(),
                    e
                )));
            }
        }
        if let Err(e) = self.sync_dir() {
            self.diag.warn(&try_format(format_args!("reset: {} (the next open removes stale segments)", e.msg)));
        }
        self.terms.clear();
        self.first = first;
        self.last = first - 1;
        self.durable = self.last;
        self.requested = self.last;
        self.dirty = false;
        self.roll = None;
        Ok(())
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
                    std::fs::remove_file(&path).at("remove", &path)?;
                }
            }
            if let Some(closed) = r.closed {
                if self.segs.iter().any(|s| s.name == closed) {
                    let (from, to) = (self.seg_path(&closed)?, self.seg_path(&Name::Open { first: closed.first() })?);
                    std::fs::rename(&from, &to).at("rename", &from)?;
                }
            }
        }
        Ok(())
    }
}
