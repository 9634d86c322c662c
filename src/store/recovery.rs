//! Opening a store directory: lock it, read the metadata, check every
//! segment, cut a torn tail off the last one, remove what an interrupted
//! operation left behind, and build the in-memory index.
//!
//! What is repaired (and reported at WARN or INFO):
//! - a torn or zero-filled tail of the last segment, if it is open (bytes
//!   written but not synced when the process or machine stopped);
//! - an open segment with no valid header (created, never used);
//! - segments of an older epoch (an interrupted reset) and segments wholly
//!   before the log's start (an interrupted compaction);
//! - an open segment followed by another (an interrupted close), which
//!   is renamed to its closed name;
//! - with the repair option, a corrupt record in the last segment that valid
//!   records follow: everything from it on is moved to a
//!   `quarantine-<segment>-<offset>` file and cut off.
//!
//! What is an error (`Kind::Corrupt`, naming file and offset): a bad record
//! in a closed segment or before the last valid record of the open one, a
//! closed segment whose records do not match its name, gaps or overlaps
//! between segments, metadata that does not verify while segments exist.
//! Every check is made before anything is repaired, so such an error leaves
//! the directory as it was.
//!
//! Out of memory: every allocation is fallible (`Kind::NoMem`), and all of
//! them happen before the first repair (only diagnostics are formatted
//! later, and dropped without memory). A `NoMem` open thus changed nothing
//! but, in a new directory, the creation of the directory, `LOCK` and
//! empty metadata files, which the next open takes as a new store again.
//! A repair that fails with an I/O error part-way leaves what a crash there
//! would: the next open finds the rest to do.

use std::fs::{self, File, OpenOptions};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use super::diag::{Diag, Level};
use super::disk::{self, on_path, Disk, FaultyDisk, RealDisk};
use super::error::{try_format, Context, Error, Kind, Result};
use super::log::{reserve, try_arc, try_join, try_path, Segment, Stats, Store};
use super::meta::{self, Meta};
use super::record::Bad;
use super::segment::{self, BadHeader, Name};
use super::syncer::Syncer;
use super::terms::TermRuns;
use super::{Fsync, Options, MAX_SEGMENT, MIN_SEGMENT};

/// A segment file found on disk, read and checked.
struct Found {
    name: Name,
    path: PathBuf,
    file: Arc<File>,
    scan: segment::Scan,
    size: u64,
}

/// Why a file is removed before the segments are checked.
#[derive(Clone, Copy)]
enum Why {
    Unwritten,
    TornHeader,
    Epoch(u64),
    Compacted(u64),
    EmptyBeforeOthers,
}

/// The tail of the last segment to cut off.
struct Cut {
    /// Where the records stopped verifying, and why.
    off: u64,
    bad: Bad,
    /// Valid records follow (a repair, not a torn tail): the bytes cut are
    /// kept in the file at this path.
    quarantine: Option<(PathBuf, Vec<u8>)>,
}

/// What recovery does with a segment it kept after the first checks.
struct Planned {
    found: Found,
    cut: Option<Cut>,
    /// Every record is before the log's start: the file goes.
    remove: bool,
    /// An open segment others follow: renamed to this closed name.
    close_to: Option<(Name, PathBuf)>,
}

/// The path of segment `name` in `dir`, or `NoMem`.
fn seg_path(dir: &Path, name: &Name) -> Result<PathBuf> {
    let mut buf = [0u8; segment::NAME_MAX];
    try_join(dir, name.write_name(&mut buf))
}

/// Sends a diagnostic line if the memory for it is there.
fn note(diag: &Diag, level: Level, args: std::fmt::Arguments<'_>) {
    let msg = try_format(args);
    if !msg.is_empty() {
        diag.emit(level, &msg);
    }
}

/// Number of term changes in `terms` (the runs they add at most).
fn runs(terms: &[i64]) -> usize {
    terms.iter().enumerate().filter(|(k, t)| *k == 0 || terms[k - 1] != **t).count()
}

/// The names of the segment files in `dir`, in no order. With the C layer
/// the listing allocates nothing but the names' vector (fallibly); std's
/// `read_dir` would abort when the heap hooks fail.
#[cfg(feature = "capi")]
fn segment_names(dir: &Path) -> Result<Vec<Name>> {
    let mut names = Vec::new();
    let mut short = false;
    crate::ffi::store::sys::list_dir(dir, |raw| {
        let Some(n) = std::str::from_utf8(raw).ok().and_then(Name::parse) else { return true };
        if !reserve(&mut names, 1) {
            short = true;
            return false;
        }
        names.push(n);
        true
    })
    .at("list", dir)?;
    if short {
        return Err(Error::nomem());
    }
    Ok(names)
}

/// Without the C layer: std's listing (Rust's allocator aborts anyway).
#[cfg(not(feature = "capi"))]
fn segment_names(dir: &Path) -> Result<Vec<Name>> {
    let mut names = Vec::new();
    for ent in fs::read_dir(dir).at("list", dir)? {
        let ent = ent.at("list", dir)?;
        if let Some(n) = ent.file_name().to_str().and_then(Name::parse) {
            names.push(n);
        }
    }
    Ok(names)
}

/// `fs::create_dir_all`, each step through `on_path` (std's passes every
/// ancestor it creates to the system with an aborting copy when long).
fn create_dir_all(p: &Path) -> std::io::Result<()> {
    use std::io::ErrorKind;
    // `e` unless `p` is a directory (out of memory for finding out is
    // reported as such).
    let unless_dir = |e: std::io::Error| match on_path(p, || fs::metadata(p)) {
        Ok(m) if m.is_dir() => Ok(()),
        Err(m) if m.kind() == ErrorKind::OutOfMemory => Err(m),
        _ => Err(e),
    };
    if p.as_os_str().is_empty() {
        return Ok(());
    }
    match on_path(p, || fs::create_dir(p)) {
        Ok(()) => return Ok(()),
        Err(e) if e.kind() == ErrorKind::NotFound => {}
        Err(e) if e.kind() == ErrorKind::OutOfMemory => return Err(e),
        Err(e) => return unless_dir(e),
    }
    match p.parent() {
        Some(parent) => create_dir_all(parent)?,
        None => return Err(std::io::Error::from_raw_os_error(libc::ENOENT)),
    }
    match on_path(p, || fs::create_dir(p)) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == ErrorKind::OutOfMemory => Err(e),
        Err(e) => unless_dir(e),
    }
}

pub fn open(dir: &Path, opts: Options, diag: Diag) -> Result<Store> {
    if !(MIN_SEGMENT..=MAX_SEGMENT).contains(&opts.segment_size) {
        return Err(Error::invalid(try_format(format_args!(
            "segment size {} outside {}..={}",
            opts.segment_size, MIN_SEGMENT, MAX_SEGMENT
        ))));
    }
    if opts.create {
        create_dir_all(dir).at("create directory", dir)?;
    }
    let dir_file = on_path(dir, || File::open(dir)).at("open directory", dir)?;
    let lock_path = try_join(dir, "LOCK")?;
    let lock = on_path(&lock_path, || {
        OpenOptions::new().create(true).truncate(false).read(true).write(true).open(&lock_path)
    })
    .at("open", &lock_path)?;
    match lock.try_lock() {
        Ok(()) => {}
        Err(fs::TryLockError::WouldBlock) => {
            return Err(Error::new(
                Kind::Locked,
                try_format(format_args!("{}: the store is open elsewhere", lock_path.display())),
            ))
        }
        Err(fs::TryLockError::Error(e)) => return Err(Error::io("lock", &lock_path, &e)),
    }
    drop(lock_path);
    let faults = try_arc(FaultyDisk::new(RealDisk)).map_err(|_| Error::nomem())?;
    let disk: Arc<dyn Disk> = faults.clone();
    // The store's own memory first (what it keeps of the directory, the
    // sync thread): nothing is repaired until all of it is there.
    let store_dir = try_path(dir)?;
    let dir_file = try_arc(dir_file).map_err(|_| Error::nomem())?;
    let syncer = Syncer::new(disk.clone(), opts.fsync == Fsync::Full).at("start sync thread", dir)?;

    // Metadata.
    let meta_paths = [try_join(dir, meta::FILES[0])?, try_join(dir, meta::FILES[1])?];
    let read_meta = |p: &Path| -> Result<Option<Vec<u8>>> {
        // (std reads the whole file with fallible allocations: out of
        // memory is an error of kind OutOfMemory, our NoMem)
        match on_path(p, || fs::read(p)) {
            Ok(b) => Ok(Some(b)),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(Error::io("read", p, &e)),
        }
    };
    let raw = [read_meta(&meta_paths[0])?, read_meta(&meta_paths[1])?];
    let chosen = meta::choose(raw[0].as_deref(), raw[1].as_deref());
    drop(raw);

    // Segment files (an unstable sort: names are unique, and it needs no
    // buffer).
    let mut names = segment_names(dir)?;
    names.sort_unstable_by_key(|n| (n.first(), matches!(n, Name::Open { .. })));

    let mut st = Stats::default();
    let sync_dir_needed;
    let meta = match chosen {
        Some(m) => {
            sync_dir_needed = false;
            m
        }
        None if names.is_empty() => {
            // A new store (or one whose creation never completed).
            sync_dir_needed = true;
            Meta { version: 1, ..Meta::initial() }
        }
        None => {
            return Err(Error::new(
                Kind::Corrupt,
                try_format(format_args!(
                    "{}: no valid metadata file (meta1, meta2) beside {} segment(s)",
                    dir.display(),
                    names.len()
                )),
            ))
        }
    };
    let mut meta_files = Vec::new();
    if !reserve(&mut meta_files, 2) {
        return Err(Error::nomem());
    }
    for p in &meta_paths {
        // (an empty file created here is no valid metadata: harmless)
        let f = on_path(p, || OpenOptions::new().create(true).truncate(false).read(true).write(true).open(p))
            .at("open", p)?;
        meta_files.push(f);
    }
    let meta_files: [File; 2] = meta_files.try_into().map_err(|_| Error::invalid("two metadata files"))?;

    // Read and check each segment; the files to remove before the others
    // are looked at are listed (the changes come after every check).
    let mut stale: Vec<(PathBuf, Why)> = Vec::new();
    let mut found: Vec<Found> = Vec::new();
    if stale.try_reserve_exact(names.len()).is_err() || found.try_reserve_exact(names.len()).is_err() {
        return Err(Error::nomem());
    }
    for name in names {
        let path = seg_path(dir, &name)?;
        let buf = on_path(&path, || fs::read(&path)).at("read", &path)?;
        let header = segment::parse_header(&buf);
        let open = matches!(name, Name::Open { .. });
        let (epoch, first) = match header {
            Ok(h) => h,
            Err(BadHeader::Missing) if open => {
                stale.push((path, Why::Unwritten));
                continue;
            }
            Err(BadHeader::Invalid) if open && buf.len() <= segment::HEADER => {
                stale.push((path, Why::TornHeader));
                continue;
            }
            Err(_) => return Err(Error::corrupt(&path, 0, "segment header does not verify")),
        };
        if epoch != meta.epoch {
            stale.push((path, Why::Epoch(epoch)));
            continue;
        }
        if first != name.first() {
            return Err(Error::corrupt(
                &path,
                16,
                format_args!("header says first index {} but the name says {}", first, name.first()),
            ));
        }
        if let Name::Closed { last, .. } = name {
            if last < meta.start {
                stale.push((path, Why::Compacted(meta.start)));
                continue;
            }
        }
        let scan = segment::scan(&buf, first).ok_or_else(Error::nomem)?;
        let file = on_path(&path, || OpenOptions::new().read(true).write(true).open(&path)).at("open", &path)?;
        let file = try_arc(file).map_err(|_| Error::nomem())?;
        found.push(Found { name, path, file, scan, size: buf.len() as u64 });
    }

    // An open segment with no records that is not the last one, or that
    // begins before a segment that follows it: drop it.
    let mut i = 0;
    while i < found.len() {
        let f = &found[i];
        let is_last = i + 1 == found.len();
        if matches!(f.name, Name::Open { .. }) && f.scan.offsets.is_empty() && f.scan.stop.is_none() && !is_last {
            let f = found.remove(i);
            stale.push((f.path, Why::EmptyBeforeOthers));
            continue;
        }
        i += 1;
    }

    // Check contents and continuity; plan the cut of the torn tail of the
    // last segment and the other repairs.
    let n = found.len();
    let mut plans: Vec<Planned> = Vec::new();
    if plans.try_reserve_exact(n).is_err() {
        return Err(Error::nomem());
    }
    let mut term_runs = 0;
    let mut prev_last: Option<u64> = None;
    for (i, f) in found.into_iter().enumerate() {
        let path = &f.path;
        let is_last = i + 1 == n;
        let first = f.name.first();
        let count = f.scan.offsets.len() as u64;
        let mut cut = None;
        match (f.name, &f.scan.stop) {
            (Name::Closed { last, .. }, stop) => {
                if let Some((off, bad)) = stop {
                    return Err(Error::corrupt(path, *off, bad));
                }
                if first + count - 1 != last || count == 0 {
                    return Err(Error::corrupt(
                        path,
                        f.scan.valid_len,
                        format_args!("closed segment holds {} records, its name says {}", count, last + 1 - first),
                    ));
                }
            }
            (Name::Open { .. }, None) => {}
            (Name::Open { .. }, Some((off, bad))) => {
                let damage = f.scan.valid_after_stop || f.scan.misplaced.is_some();
                if !is_last {
                    return Err(Error::corrupt(
                        path,
                        *off,
                        format_args!("{bad} in an open segment that other segments follow"),
                    ));
                }
                if damage && !opts.repair {
                    return Err(Error::corrupt(
                        path,
                        *off,
                        format_args!(
                            "{bad}, with valid records after it (not a torn tail; open with the repair flag to cut it)"
                        ),
                    ));
                }
                let quarantine = if damage {
                    // Valid records are being cut: their bytes are kept
                    // aside (read again now: the scan kept no copy).
                    let mut fname = [0u8; segment::NAME_MAX];
                    let qname = try_format(format_args!(
                        "quarantine-{}-{}",
                        f.name.write_name(&mut fname),
                        f.scan.valid_len
                    ));
                    if qname.is_empty() {
                        return Err(Error::nomem());
                    }
                    let q = try_join(dir, &qname)?;
                    let bytes = on_path(path, || fs::read(path)).at("read", path)?;
                    let tail = &bytes[(f.scan.valid_len as usize).min(bytes.len())..];
                    let mut keep = Vec::new();
                    if keep.try_reserve_exact(tail.len()).is_err() {
                        return Err(Error::nomem());
                    }
                    keep.extend_from_slice(tail);
                    Some((q, keep))
                } else {
                    None
                };
                cut = Some(Cut { off: *off, bad: *bad, quarantine });
            }
        }
        if first + count <= meta.start && prev_last.is_none() {
            // Every record is before the log's start: compacted entries a
            // crash cut short (a snapshot covered entries that were never
            // synced here), or an interrupted compaction. The log is empty
            // from `start` on; the next append starts a new segment.
            plans.push(Planned { found: f, cut, remove: true, close_to: None });
            continue;
        }
        if count > 0 || matches!(f.name, Name::Closed { .. }) {
            if let Some(pl) = prev_last {
                if first <= pl {
                    return Err(Error::corrupt(
                        path,
                        0,
                        format_args!("overlaps the previous segment (which ends at {pl})"),
                    ));
                }
                if first > pl + 1 {
                    return Err(Error::corrupt(
                        path,
                        0,
                        format_args!("gap: entries {}..{} are missing", pl + 1, first - 1),
                    ));
                }
            }
        } else if let Some(pl) = prev_last {
            if first != pl + 1 {
                return Err(Error::corrupt(
                    path,
                    0,
                    format_args!("empty open segment for {first} after a segment ending at {pl}"),
                ));
            }
        }
        // A closed name for an open segment that others follow.
        let close_to = if matches!(f.name, Name::Open { .. }) && !is_last {
            let closed = Name::Closed { first, last: first + count - 1 };
            Some((closed, seg_path(dir, &closed)?))
        } else {
            None
        };
        if count == 0 && first > meta.start && prev_last.is_none() {
            // Nothing before; entries start..first-1 would be missing.
            return Err(Error::corrupt(
                path,
                0,
                format_args!("log starts at {} but the first segment at {}", meta.start, first),
            ));
        }
        term_runs += runs(&f.scan.terms);
        prev_last = Some(first + count - 1);
        plans.push(Planned { found: f, cut, remove: false, close_to });
    }
    let last = match prev_last {
        Some(pl) if pl + 1 < meta.start => {
            return Err(Error::new(
                Kind::Corrupt,
                try_format(format_args!(
                    "{}: log ends at {} but starts at {} (entries are missing)",
                    dir.display(),
                    pl,
                    meta.start
                )),
            ))
        }
        Some(pl) => pl,
        None => meta.start - 1,
    };
    if let Some(p) = plans.iter().find(|p| !p.remove) {
        let first = p.found.name.first();
        if first > meta.start {
            return Err(Error::corrupt(
                &p.found.path,
                0,
                format_args!("log starts at {} but the first segment at {}", meta.start, first),
            ));
        }
    }
    let mut segs: Vec<Segment> = Vec::new();
    let mut terms = TermRuns::default();
    if segs.try_reserve_exact(plans.iter().filter(|p| !p.remove).count()).is_err() || !terms.reserve(term_runs) {
        return Err(Error::nomem());
    }

    // Every check passed and the memory is there: repair. From here on
    // nothing allocates but the diagnostics (dropped without memory).
    if sync_dir_needed {
        let p = &meta_paths[0];
        disk::write_all_at(&*disk, &meta_files[0], &meta.encode(), 0).at("write", p)?;
        if opts.fsync != Fsync::None {
            disk.sync(&meta_files[0], false).at("fdatasync", p)?;
            st.syncs += 1;
            disk.sync_dir(&dir_file).at("fsync directory", dir)?;
            st.dir_syncs += 1;
        }
    }
    for (path, why) in &stale {
        let p = path.display();
        match *why {
            Why::Unwritten => note(&diag, Level::Info, format_args!("removing {p}: created but never written")),
            Why::TornHeader => note(&diag, Level::Info, format_args!("removing {p}: header torn at creation")),
            Why::Epoch(e) => note(
                &diag,
                Level::Info,
                format_args!("removing {p}: stale segment of epoch {e} (an interrupted reset)"),
            ),
            Why::Compacted(start) => note(
                &diag,
                Level::Info,
                format_args!("removing {p}: wholly before the log's start {start} (an interrupted compaction)"),
            ),
            Why::EmptyBeforeOthers => {
                note(&diag, Level::Info, format_args!("removing {p}: empty open segment before others"))
            }
        }
        disk.remove(path).at("remove", path)?;
    }
    for Planned { mut found, cut, remove, close_to } in plans {
        let f = &mut found;
        let path = &f.path;
        let first = f.name.first();
        let count = f.scan.offsets.len() as u64;
        if let Some(Cut { off, bad, quarantine }) = cut {
            let at = f.scan.valid_len;
            let what = if quarantine.is_some() { "corrupt record (repair)" } else { "torn tail" };
            note(
                &diag,
                Level::Warn,
                format_args!(
                    "{}: {} at offset {} ({}): {} bytes cut off after record {}",
                    path.display(),
                    what,
                    off,
                    bad,
                    f.size - at,
                    first + count - 1
                ),
            );
            if let Some((q, bytes)) = quarantine {
                let qf = match disk.create(&q) {
                    Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
                        // Left by a recovery that stopped before its cut: the
                        // same bytes, written again.
                        disk.remove(&q).at("remove", &q)?;
                        disk.create(&q).at("create", &q)?
                    }
                    r => r.at("create", &q)?,
                };
                disk::write_all_at(&*disk, &qf, &bytes, 0).at("write", &q)?;
                disk.sync(&qf, false).at("fdatasync", &q)?;
                note(
                    &diag,
                    Level::Warn,
                    format_args!(
                        "{}: the {} bytes cut are quarantined in {}",
                        path.display(),
                        f.size - at,
                        q.display()
                    ),
                );
            }
            disk.truncate(&f.file, at).at("truncate", path)?;
            f.size = at;
        }
        if remove {
            note(
                &diag,
                Level::Info,
                format_args!("removing {}: its records end before the log's start {}", path.display(), meta.start),
            );
            disk.remove(path).at("remove", path)?;
            continue;
        }
        if let Some((closed, to)) = close_to {
            note(&diag, Level::Info, format_args!("closing {} (an interrupted close)", path.display()));
            disk.rename(path, &to).at("rename", path)?;
            f.name = closed;
        }
        for (k, t) in f.scan.terms.iter().enumerate() {
            let idx = first + k as u64;
            if idx >= meta.start {
                terms.push(idx, *t);
            }
        }
        segs.push(Segment {
            name: f.name,
            first,
            offsets: std::mem::take(&mut f.scan.offsets),
            len: f.size,
            written: f.size,
            file: f.file.clone(),
        });
    }
    // What survived a process crash may not be synced: sync it now, so
    // that everything the store reports is durable.
    if opts.fsync != Fsync::None {
        if let Some(s) = segs.last() {
            // (the path only for the message, and only on failure)
            if let Err(e) = disk.sync(&s.file, opts.fsync == Fsync::Full) {
                return Err(Error::io("fdatasync", &seg_path(dir, &s.name).unwrap_or_default(), &e));
            }
            st.syncs += 1;
        }
        // Always (a new store's was synced above): the last roll's names (a
        // closed segment's rename, the open segment's creation) may not be
        // durable yet after a process crash, and the segments found now
        // count as durable.
        if !sync_dir_needed {
            disk.sync_dir(&dir_file).at("fsync directory", dir)?;
            st.dir_syncs += 1;
        }
    }
    let store = Store {
        dir: store_dir,
        dir_file,
        _lock: lock,
        faults,
        disk,
        opts,
        diag,
        meta,
        meta_files,
        segs,
        terms,
        first: meta.start,
        last,
        pending: Vec::new(),
        inflight: Default::default(),
        inflight_bytes: 0,
        write_seq: 0,
        spare: Vec::new(),
        write_error: None,
        durable: last,
        dirty: false,
        dir_pending: false,
        roll: None,
        requested: last,
        failed: None,
        syncer,
        stats: st,
    };
    Ok(store)
}
