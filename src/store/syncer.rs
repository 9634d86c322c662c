//! The background sync thread: it writes the buffers the program hands it
//! with `sync_start` (in order, each at its offset of the open segment) and
//! runs the fdatasync calls asked for, one at a time, coalescing requests
//! made while one runs (group commit), and reports completion by writing a
//! byte to a socket the program polls. Both the `write` and the
//! `fdatasync` of a batch thus happen off the program's event loop.
//!
//! Invariants: a reported index `n` means every record up to `n` was
//! written before the fdatasync that covered it started, and no truncation
//! below `n + 1` happened since (truncations cap requested and finished
//! indexes). Writes are done before any sync requested after them. After a
//! failed write the file is cut back to that write's offset and nothing
//! more is written, and no sync is run, until the store has collected the
//! failure (`collect_writes`): the buffers from the failed one on are
//! then unwritten, and the store holds them again.

use std::fs::File;
use std::io::{Read, Write};
use std::os::unix::io::{AsRawFd, RawFd};
use std::os::unix::net::UnixStream;
use std::path::PathBuf;
use std::sync::{Arc, Condvar, Mutex, MutexGuard};

use super::disk::{write_all_at, Disk};
use super::error::{Error, Result};
use super::log::try_arc;

/// The sync thread, joined when dropped.
#[cfg(feature = "capi")]
type Thread = crate::ffi::store::sys::Thread;
#[cfg(not(feature = "capi"))]
type Thread = std::thread::JoinHandle<()>;

#[cfg(feature = "capi")]
fn spawn(f: impl FnOnce() + Send + 'static) -> std::io::Result<Thread> {
    crate::ffi::store::sys::spawn(c"raft-store-sync", f)
}

/// Without the C layer, Rust's own allocator (which aborts when it fails
/// anyway): std's spawn.
#[cfg(not(feature = "capi"))]
fn spawn(f: impl FnOnce() + Send + 'static) -> std::io::Result<Thread> {
    std::thread::Builder::new().name("raft-store-sync".into()).spawn(f)
}

struct Job {
    file: Arc<File>,
    path: PathBuf,
    target: u64,
    /// The store's directory, to fsync after the file (a segment was
    /// created or renamed since the last directory sync): the completion
    /// is reported only after both.
    dir: Option<(Arc<File>, PathBuf)>,
}

/// A buffer to write at `offset` of `file`; `seq` numbers writes in order.
struct WriteJob {
    file: Arc<File>,
    path: PathBuf,
    offset: u64,
    buf: Arc<Vec<u8>>,
    seq: u64,
}

/// A background write that failed.
pub struct WriteFailure {
    /// The failed write's seq: it and every later one are unwritten.
    pub seq: u64,
    pub error: Error,
    /// The file could not be cut back either: its end is unknown.
    pub fatal: bool,
}

#[derive(Default)]
struct State {
    writes: std::collections::VecDeque<WriteJob>,
    /// A write is in progress.
    writing: bool,
    /// Highest `seq` written.
    written: u64,
    /// The write that failed; nothing is written or synced while it is set.
    write_failed: Option<WriteFailure>,
    wanted: Option<Job>,
    /// Target of the sync in progress (capped by truncations).
    running: Option<u64>,
    /// Highest finished target not yet collected.
    finished: Option<u64>,
    error: Option<Error>,
    stop: bool,
}

struct Shared {
    state: Mutex<State>,
    cv: Condvar,
    disk: Arc<dyn Disk>,
    full: bool,
    tx: UnixStream,
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn signal(&self) {
        // A full socket already has a byte to read: nothing is lost.
        let _ = (&self.tx).write(&[1]);
    }
}

pub struct Syncer {
    shared: Arc<Shared>,
    rx: UnixStream,
    thread: Option<Thread>,
    /// Syncs the thread ran.
    pub count: Arc<std::sync::atomic::AtomicU64>,
    /// Directory syncs the thread ran.
    pub dir_count: Arc<std::sync::atomic::AtomicU64>,
}

impl Syncer {
    /// Starts the thread. Every allocation is fallible: without the memory
    /// (the shared state's and counters' blocks, the thread's closure) the
    /// error is `io::ErrorKind::OutOfMemory` and nothing is left running.
    ///
    /// The thread is started here, at open, rather than at the first
    /// background sync: open is where a program expects to handle failure
    /// (and may retry), while a sync that first had to start a thread could
    /// fail for reasons that have nothing to do with that sync. With the C
    /// layer it is started through pthread_create (`crate::ffi::store::sys`),
    /// because std's spawn allocates infallibly and would abort when the
    /// heap hooks return NULL.
    pub fn new(disk: Arc<dyn Disk>, full: bool) -> std::io::Result<Syncer> {
        let nomem = || std::io::Error::from(std::io::ErrorKind::OutOfMemory);
        let (tx, rx) = UnixStream::pair()?;
        tx.set_nonblocking(true)?;
        rx.set_nonblocking(true)?;
        let shared = Shared { state: Mutex::new(State::default()), cv: Condvar::new(), disk, full, tx };
        let shared = try_arc(shared).map_err(|_| nomem())?;
        let count = try_arc(std::sync::atomic::AtomicU64::new(0)).map_err(|_| nomem())?;
        let dir_count = try_arc(std::sync::atomic::AtomicU64::new(0)).map_err(|_| nomem())?;
        let (sh, c, dc) = (shared.clone(), count.clone(), dir_count.clone());
        let thread = spawn(move || run(sh, c, dc))?;
        Ok(Syncer { shared, rx, thread: Some(thread), count, dir_count })
    }

    /// The descriptor that becomes readable on completion.
    pub fn fd(&self) -> RawFd {
        self.rx.as_raw_fd()
    }

    /// Room in the queue for one more `write` (only the store's thread
    /// adds to it, so the room stays); `false` when the memory is not there.
    pub fn reserve_write(&self) -> bool {
        let mut s = self.shared.lock();
        s.writes.len() < s.writes.capacity() || s.writes.try_reserve(1).is_ok()
    }

    /// Queues `buf` to be written at `offset` of `file` before any sync
    /// requested from now on; `seq` must grow from call to call. Call
    /// `reserve_write` first (else the queue may grow infallibly).
    pub fn write(&self, file: Arc<File>, path: PathBuf, offset: u64, buf: Arc<Vec<u8>>, seq: u64) {
        let mut s = self.shared.lock();
        s.writes.push_back(WriteJob { file, path, offset, buf, seq });
        self.shared.cv.notify_all();
    }

    /// The highest seq written so far, and a failed write if there is one
    /// (then every write from its seq on is unwritten: the queued ones are
    /// dropped, and writing resumes with the next one queued).
    pub fn collect_writes(&self) -> (u64, Option<WriteFailure>) {
        let mut s = self.shared.lock();
        let failure = s.write_failed.take();
        if failure.is_some() {
            s.writes.clear();
            // A sync asked for after the write failed (the store hands the
            // write over, then asks) covers the lost bytes too: it must not
            // run and report them durable. The store asks again after
            // writing them.
            s.wanted = None;
            self.shared.cv.notify_all();
        }
        (s.written, failure)
    }

    /// Waits until every queued write is done (or one failed).
    pub fn wait_writes(&self) {
        let mut s = self.shared.lock();
        while (!s.writes.is_empty() || s.writing) && s.write_failed.is_none() {
            s = self.shared.cv.wait(s).unwrap_or_else(|p| p.into_inner());
        }
    }

    /// Asks for `file` to be synced, covering entries up to `target`, and
    /// then the directory `dir` if given (a request merged into one not
    /// yet started keeps its directory sync).
    pub fn request(&self, file: Arc<File>, path: PathBuf, target: u64, dir: Option<(Arc<File>, PathBuf)>) {
        let mut s = self.shared.lock();
        let (target, dir) = match s.wanted.take() {
            Some(w) => (w.target.max(target), dir.or(w.dir)),
            None => (target, dir),
        };
        s.wanted = Some(Job { file, path, target, dir });
        self.shared.cv.notify_all();
    }

    /// The highest finished index not yet collected, left for `poll` to
    /// report; None after a failed sync.
    pub fn peek_finished(&self) -> Option<u64> {
        let s = self.shared.lock();
        if s.error.is_some() {
            return None;
        }
        s.finished
    }

    /// Reports `idx` as finished without a sync (nothing was left to sync).
    pub fn complete_now(&self, idx: u64) {
        let mut s = self.shared.lock();
        s.finished = Some(s.finished.map_or(idx, |f| f.max(idx)));
        drop(s);
        self.shared.signal();
    }

    /// Entries from `from` on were removed: no sync may report them.
    pub fn cap(&self, from: u64) {
        let limit = from.saturating_sub(1);
        let mut s = self.shared.lock();
        if let Some(r) = s.running.as_mut() {
            *r = (*r).min(limit);
        }
        if let Some(w) = s.wanted.as_mut() {
            w.target = w.target.min(limit);
        }
        if let Some(f) = s.finished.as_mut() {
            *f = (*f).min(limit);
        }
    }

    /// Collects what finished: Some(Ok(index)), Some(Err) for a failed
    /// sync, None if nothing finished since the last call.
    pub fn poll(&self) -> Option<Result<u64>> {
        let mut buf = [0u8; 64];
        while matches!((&self.rx).read(&mut buf), Ok(n) if n > 0) {}
        let mut s = self.shared.lock();
        if let Some(e) = s.error.take() {
            return Some(Err(e));
        }
        s.finished.take().map(Ok)
    }

    /// Waits until no write or sync is wanted or running (a failed write
    /// ends the wait: nothing more runs until it is collected).
    pub fn wait(&self) {
        let mut s = self.shared.lock();
        while (s.wanted.is_some() || s.running.is_some() || !s.writes.is_empty() || s.writing)
            && s.write_failed.is_none()
        {
            s = self.shared.cv.wait(s).unwrap_or_else(|p| p.into_inner());
        }
    }

    /// Whether the fd had a completion to read (reads it).
    pub fn signalled(&self) -> bool {
        matches!((&self.rx).read(&mut [0u8; 1]), Ok(n) if n > 0)
    }

    /// Whether an fdatasync is running or waiting to run.
    pub fn syncing(&self) -> bool {
        let s = self.shared.lock();
        s.running.is_some() || s.wanted.is_some()
    }

    /// Whether a write or sync is wanted or running.
    pub fn busy(&self) -> bool {
        let s = self.shared.lock();
        (s.wanted.is_some() || s.running.is_some() || !s.writes.is_empty() || s.writing) && s.write_failed.is_none()
    }
}

fn run(sh: Arc<Shared>, count: Arc<std::sync::atomic::AtomicU64>, dir_count: Arc<std::sync::atomic::AtomicU64>) {
    let mut s = sh.lock();
    loop {
        if s.stop {
            return;
        }
        if s.write_failed.is_some() {
            // Nothing runs until the store has taken the failure back.
            s = sh.cv.wait(s).unwrap_or_else(|p| p.into_inner());
            continue;
        }
        if let Some(WriteJob { file, path, offset, buf, seq }) = s.writes.pop_front() {
            s.writing = true;
            drop(s);
            let result = write_all_at(&*sh.disk, &file, &buf, offset);
            // Released before the store learns of the write, so that it can
            // reuse the buffer.
            drop(buf);
            let failure = result.err().map(|e| {
                // Cut back to what the file held, so that the retry writes
                // at the same offset and recovery never sees half of it.
                match sh.disk.truncate(&file, offset) {
                    Ok(()) => (Error::io("background write", &path, &e), false),
                    Err(t) => (Error::io("truncate after a failed background write", &path, &t), true),
                }
            });
            s = sh.lock();
            s.writing = false;
            match failure {
                None => s.written = seq,
                Some((e, fatal)) => {
                    s.write_failed = Some(WriteFailure { seq, error: e, fatal });
                    // The sync asked for covered the bytes just lost.
                    s.wanted = None;
                    sh.signal();
                }
            }
            sh.cv.notify_all();
            continue;
        }
        let Some(job) = s.wanted.take() else {
            s = sh.cv.wait(s).unwrap_or_else(|p| p.into_inner());
            continue;
        };
        s.running = Some(job.target);
        drop(s);
        let mut result = sh.disk.sync(&job.file, sh.full).map_err(|e| Error::io("background fdatasync", &job.path, &e));
        count.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        if let (Ok(()), Some((dir, path))) = (&result, &job.dir) {
            result = sh.disk.sync_dir(dir).map_err(|e| Error::io("background fsync directory", path, &e));
            dir_count.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        }
        s = sh.lock();
        let target = s.running.take().unwrap_or(0);
        match result {
            Ok(()) => s.finished = Some(s.finished.map_or(target, |f| f.max(target))),
            Err(e) => s.error = Some(e),
        }
        // Signalled before waiters wake, so a waiter finds the fd readable.
        sh.signal();
        sh.cv.notify_all();
    }
}

#[cfg(feature = "capi")]
fn join(t: Option<Thread>) {
    drop(t);
}

#[cfg(not(feature = "capi"))]
fn join(t: Option<Thread>) {
    if let Some(t) = t {
        let _ = t.join();
    }
}

impl Drop for Syncer {
    fn drop(&mut self) {
        self.shared.lock().stop = true;
        self.shared.cv.notify_all();
        // (joining allocates nothing: a close needs no memory)
        join(self.thread.take());
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::disk::{op, Fault, FaultyDisk, Plan, RealDisk};

    fn file(name: &str) -> (PathBuf, Arc<File>) {
        let p = std::env::temp_dir().join(format!("raft-syncer-{}-{}", std::process::id(), name));
        let f = std::fs::OpenOptions::new().create(true).truncate(true).read(true).write(true).open(&p).unwrap();
        (p, Arc::new(f))
    }

    #[test]
    fn a_finished_sync_makes_the_fd_readable_and_reports_its_index() {
        let s = Syncer::new(Arc::new(RealDisk), false).unwrap();
        assert!(s.poll().is_none());
        let (p, f) = file("ok");
        s.request(f, p.clone(), 7, None);
        s.wait();
        assert!(s.signalled());
        assert_eq!(s.poll().unwrap().unwrap(), 7);
        assert!(s.poll().is_none(), "collected once");
        std::fs::remove_file(p).unwrap();
    }

    #[test]
    fn a_truncation_caps_what_a_sync_reports() {
        let s = Syncer::new(Arc::new(RealDisk), false).unwrap();
        let (p, f) = file("cap");
        s.request(f, p.clone(), 10, None);
        s.cap(6);
        s.wait();
        assert_eq!(s.poll().unwrap().unwrap(), 5);
        std::fs::remove_file(p).unwrap();
    }

    /// Regression: the store hands a write over and then asks for the sync
    /// covering it; when the write failed in between, that sync ran once
    /// the failure was collected and reported the lost bytes durable.
    #[test]
    fn a_sync_asked_for_after_a_failed_write_is_dropped_with_it() {
        let d = Arc::new(FaultyDisk::new(RealDisk));
        d.set_plan(Some(Plan { ops: op::WRITE, fault: Fault::Errno(libc::EIO), skip: 0, ppm: 0, seed: 0 }));
        let s = Syncer::new(d, false).unwrap();
        let (p, f) = file("wfail");
        s.write(f.clone(), p.clone(), 0, Arc::new(vec![1u8; 16]), 1);
        s.wait_writes();
        s.request(f, p.clone(), 9, None);
        let (written, failure) = s.collect_writes();
        assert_eq!(written, 0);
        assert!(failure.is_some());
        s.wait();
        assert!(s.poll().is_none(), "nothing reported durable");
        std::fs::remove_file(p).unwrap();
    }

    #[test]
    fn a_failed_sync_is_reported_as_an_error() {
        let d = Arc::new(FaultyDisk::new(RealDisk));
        d.set_plan(Some(Plan { ops: op::SYNC, fault: Fault::Errno(libc::EIO), skip: 0, ppm: 0, seed: 0 }));
        let s = Syncer::new(d, false).unwrap();
        let (p, f) = file("err");
        s.request(f, p.clone(), 3, None);
        s.wait();
        let e = s.poll().unwrap().unwrap_err();
        assert_eq!(e.kind, crate::store::error::Kind::Io);
        std::fs::remove_file(p).unwrap();
    }
}
