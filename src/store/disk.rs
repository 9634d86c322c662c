//! The file operations the store makes that change the disk, behind one
//! trait: the seam where tests inject failures (EIO, ENOSPC, EROFS, short
//! writes). Reads go straight to `std::fs`: a failing read is reported, and
//! recovery tests corrupt files directly.

use std::fs::{File, OpenOptions};
use std::io;
use std::os::unix::fs::FileExt;
use std::path::Path;
use std::sync::Mutex;

/// File operations that change the disk.
pub trait Disk: Send + Sync {
    /// Writes some prefix of `buf` at `offset`; may be short.
    fn write_at(&self, file: &File, buf: &[u8], offset: u64) -> io::Result<usize>;
    /// fdatasync (`full`: fsync).
    fn sync(&self, file: &File, full: bool) -> io::Result<()>;
    /// fsync of a directory, so that names created, renamed or removed in
    /// it survive a crash.
    fn sync_dir(&self, dir: &File) -> io::Result<()>;
    fn truncate(&self, file: &File, len: u64) -> io::Result<()>;
    fn rename(&self, from: &Path, to: &Path) -> io::Result<()>;
    /// Creates a new file (it must not exist), open for reading and writing.
    fn create(&self, path: &Path) -> io::Result<File>;
    fn remove(&self, path: &Path) -> io::Result<()>;
}

/// Runs `f`, a std file call that passes `path` (and no other path) to the
/// system. std copies a path of 384 bytes or more to the heap, with an
/// allocation that aborts when it fails; with the C layer, that block is
/// obtained fallibly first (`OutOfMemory` without it).
#[cfg(feature = "capi")]
pub(crate) fn on_path<R>(path: &Path, f: impl FnOnce() -> io::Result<R>) -> io::Result<R> {
    crate::ffi::store::sys::on_path(path, f)
}

/// Without the C layer: Rust's allocator, which aborts anyway.
#[cfg(not(feature = "capi"))]
pub(crate) fn on_path<R>(_path: &Path, f: impl FnOnce() -> io::Result<R>) -> io::Result<R> {
    f()
}

/// `std::fs::rename`, fallible for long paths too (see `on_path`).
#[cfg(feature = "capi")]
pub(crate) fn rename_path(from: &Path, to: &Path) -> io::Result<()> {
    crate::ffi::store::sys::rename(from, to)
}

#[cfg(not(feature = "capi"))]
pub(crate) fn rename_path(from: &Path, to: &Path) -> io::Result<()> {
    std::fs::rename(from, to)
}

/// The real thing.
pub struct RealDisk;

impl Disk for RealDisk {
    fn write_at(&self, file: &File, buf: &[u8], offset: u64) -> io::Result<usize> {
        file.write_at(buf, offset)
    }
    fn sync(&self, file: &File, full: bool) -> io::Result<()> {
        if full {
            file.sync_all()
        } else {
            file.sync_data()
        }
    }
    fn sync_dir(&self, dir: &File) -> io::Result<()> {
        dir.sync_all()
    }
    fn truncate(&self, file: &File, len: u64) -> io::Result<()> {
        file.set_len(len)
    }
    fn rename(&self, from: &Path, to: &Path) -> io::Result<()> {
        rename_path(from, to)
    }
    fn create(&self, path: &Path) -> io::Result<File> {
        on_path(path, || OpenOptions::new().read(true).write(true).create_new(true).open(path))
    }
    fn remove(&self, path: &Path) -> io::Result<()> {
        on_path(path, || std::fs::remove_file(path))
    }
}

/// Operation classes a fault plan can target (a bit mask; the C header's
/// `RAFT_STORE_OP_*` have the same values).
pub mod op {
    pub(crate) const WRITE: u32 = 1;
    pub(crate) const SYNC: u32 = 2;
    pub(crate) const DIRSYNC: u32 = 4;
    pub(crate) const TRUNCATE: u32 = 8;
    pub(crate) const RENAME: u32 = 16;
    pub(crate) const CREATE: u32 = 32;
    pub(crate) const REMOVE: u32 = 64;
    #[cfg(test)]
    pub(crate) const ALL: u32 = 127;
}

/// How an injected fault fails.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fault {
    Errno(i32),
    /// A write stores half its bytes (at least one) and reports that; the
    /// next matching call fails with EIO.
    Short,
}

/// When faults fire.
#[derive(Debug, Clone, Copy)]
pub struct Plan {
    pub ops: u32,
    pub fault: Fault,
    /// Matching calls let through before the plan starts.
    pub skip: u64,
    /// 0: fail exactly one call (the first after `skip`); else the
    /// probability of failing each, in millionths.
    pub ppm: u32,
    pub seed: u64,
}

struct PlanState {
    plan: Option<Plan>,
    seen: u64,
    rng: u64,
    /// A short write happened; the next write fails with EIO.
    short_pending: bool,
    injected: u64,
}

/// Wraps a disk and fails chosen operations according to a [`Plan`].
pub struct FaultyDisk<D: Disk> {
    inner: D,
    state: Mutex<PlanState>,
}

impl<D: Disk> FaultyDisk<D> {
    pub fn new(inner: D) -> Self {
        FaultyDisk {
            inner,
            state: Mutex::new(PlanState { plan: None, seen: 0, rng: 1, short_pending: false, injected: 0 }),
        }
    }

    /// Replaces the plan (None clears it) and restarts its counters.
    pub fn set_plan(&self, plan: Option<Plan>) {
        let mut s = self.state.lock().unwrap_or_else(|p| p.into_inner());
        s.plan = plan.filter(|p| p.ops != 0);
        s.seen = 0;
        s.rng = plan.map_or(1, |p| p.seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1);
        s.short_pending = false;
    }

    /// Faults injected so far.
    pub fn injected(&self) -> u64 {
        self.state.lock().unwrap_or_else(|p| p.into_inner()).injected
    }

    /// Decides whether this call of class `class` fails, and how.
    fn decide(&self, class: u32) -> Option<Fault> {
        let mut s = self.state.lock().unwrap_or_else(|p| p.into_inner());
        if class == op::WRITE && s.short_pending {
            s.short_pending = false;
            s.injected += 1;
            return Some(Fault::Errno(libc::EIO));
        }
        let plan = s.plan?;
        if plan.ops & class == 0 {
            return None;
        }
        s.seen += 1;
        if s.seen <= plan.skip {
            return None;
        }
        let fire = if plan.ppm == 0 {
            s.plan = None;
            true
        } else {
            // xorshift64*: deterministic per seed.
            let mut x = s.rng;
            x ^= x >> 12;
            x ^= x << 25;
            x ^= x >> 27;
            s.rng = x;
            (x.wrapping_mul(0x2545_F491_4F6C_DD1D) >> 33) % 1_000_000 < plan.ppm as u64
        };
        if !fire {
            return None;
        }
        s.injected += 1;
        if plan.fault == Fault::Short {
            if class == op::WRITE {
                s.short_pending = true;
                return Some(Fault::Short);
            }
            return Some(Fault::Errno(libc::EIO));
        }
        Some(plan.fault)
    }

    fn check(&self, class: u32) -> io::Result<()> {
        match self.decide(class) {
            Some(Fault::Errno(e)) => Err(io::Error::from_raw_os_error(e)),
            _ => Ok(()),
        }
    }
}

impl<D: Disk> Disk for FaultyDisk<D> {
    fn write_at(&self, file: &File, buf: &[u8], offset: u64) -> io::Result<usize> {
        match self.decide(op::WRITE) {
            Some(Fault::Errno(e)) => Err(io::Error::from_raw_os_error(e)),
            Some(Fault::Short) if buf.len() > 1 => self.inner.write_at(file, &buf[..buf.len() / 2], offset),
            _ => self.inner.write_at(file, buf, offset),
        }
    }
    fn sync(&self, file: &File, full: bool) -> io::Result<()> {
        self.check(op::SYNC)?;
        self.inner.sync(file, full)
    }
    fn sync_dir(&self, dir: &File) -> io::Result<()> {
        self.check(op::DIRSYNC)?;
        self.inner.sync_dir(dir)
    }
    fn truncate(&self, file: &File, len: u64) -> io::Result<()> {
        self.check(op::TRUNCATE)?;
        self.inner.truncate(file, len)
    }
    fn rename(&self, from: &Path, to: &Path) -> io::Result<()> {
        self.check(op::RENAME)?;
        self.inner.rename(from, to)
    }
    fn create(&self, path: &Path) -> io::Result<File> {
        self.check(op::CREATE)?;
        self.inner.create(path)
    }
    fn remove(&self, path: &Path) -> io::Result<()> {
        self.check(op::REMOVE)?;
        self.inner.remove(path)
    }
}

/// Writes all of `buf` at `offset`, continuing after short writes.
pub fn write_all_at(disk: &dyn Disk, file: &File, mut buf: &[u8], mut offset: u64) -> io::Result<()> {
    while !buf.is_empty() {
        match disk.write_at(file, buf, offset) {
            Ok(0) => return Err(io::Error::new(io::ErrorKind::WriteZero, "write stored nothing")),
            Ok(n) => {
                buf = &buf[n..];
                offset += n as u64;
            }
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tmpfile(name: &str) -> (std::path::PathBuf, File) {
        let dir = std::env::temp_dir().join(format!("raft-disk-{}-{}", std::process::id(), name));
        let _ = std::fs::remove_file(&dir);
        let f = RealDisk.create(&dir).unwrap();
        (dir, f)
    }

    #[test]
    fn a_one_shot_plan_fails_exactly_the_call_after_skip() {
        let d = FaultyDisk::new(RealDisk);
        let (p, f) = tmpfile("oneshot");
        d.set_plan(Some(Plan { ops: op::SYNC, fault: Fault::Errno(libc::EIO), skip: 2, ppm: 0, seed: 0 }));
        assert!(d.sync(&f, false).is_ok());
        assert!(d.sync(&f, false).is_ok());
        assert_eq!(d.sync(&f, false).unwrap_err().raw_os_error(), Some(libc::EIO));
        assert!(d.sync(&f, false).is_ok());
        assert!(d.write_at(&f, b"x", 0).is_ok(), "writes are not in the plan");
        assert_eq!(d.injected(), 1);
        std::fs::remove_file(p).unwrap();
    }

    #[test]
    fn a_short_write_is_followed_by_eio_and_write_all_reports_it() {
        let d = FaultyDisk::new(RealDisk);
        let (p, f) = tmpfile("short");
        d.set_plan(Some(Plan { ops: op::WRITE, fault: Fault::Short, skip: 0, ppm: 0, seed: 0 }));
        let err = write_all_at(&d, &f, b"0123456789", 0).unwrap_err();
        assert_eq!(err.raw_os_error(), Some(libc::EIO));
        assert_eq!(std::fs::read(&p).unwrap(), b"01234", "half was stored");
        std::fs::remove_file(p).unwrap();
    }

    #[test]
    fn a_random_plan_is_deterministic_per_seed() {
        let run = |seed| {
            let d = FaultyDisk::new(RealDisk);
            let (p, f) = tmpfile(&format!("rand{seed}"));
            d.set_plan(Some(Plan { ops: op::SYNC, fault: Fault::Errno(libc::ENOSPC), skip: 0, ppm: 300_000, seed }));
            let v: Vec<bool> = (0..64).map(|_| d.sync(&f, false).is_err()).collect();
            std::fs::remove_file(p).unwrap();
            v
        };
        assert_eq!(run(7), run(7));
        assert_ne!(run(7), run(8));
        let fails = run(7).iter().filter(|x| **x).count();
        assert!(fails > 5 && fails < 40, "about 30% fail: {fails}");
    }
}
