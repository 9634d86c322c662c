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

use std::fs::{self, File, OpenOptions};
use std::path::Path;
use std::sync::Arc;

use super::diag::Diag;
use super::disk::{self, Disk, FaultyDisk, RealDisk};
use super::error::{Context, Error, Kind, Result};
use super::log::{Segment, Stats, Store};
use super::meta::{self, Meta};
use super::segment::{self, BadHeader, Name};
use super::syncer::Syncer;
use super::terms::TermRuns;
use super::{Fsync, Options, MAX_SEGMENT, MIN_SEGMENT};

/// A segment file found on disk, read and checked.
struct Found {
    name: Name,
    file: File,
    scan: segment::Scan,
    size: u64,
}

pub fn open(dir: &Path, opts: Options, diag: Diag) -> Result<Store> {
    if !(MIN_SEGMENT..=MAX_SEGMENT).contains(&opts.segment_size) {
        return Err(Error::invalid(format!(
            "segment size {} outside {}..={}",
            opts.segment_size, MIN_SEGMENT, MAX_SEGMENT
        )));
    }
    if opts.create {
        fs::create_dir_all(dir).at("create directory", dir)?;
    }
    let dir_file = File::open(dir).at("open directory", dir)?;
    let lock_path = dir.join("LOCK");
    let lock = OpenOptions::new()
        .create(true)
        .truncate(false)
        .read(true)
        .write(true)
        .open(&lock_path)
        .at("open", &lock_path)?;
    match lock.try_lock() {
        Ok(()) => {}
        Err(fs::TryLockError::WouldBlock) => {
            return Err(Error::new(Kind::Locked, format!("{}: the store is open elsewhere", lock_path.display())))
        }
        Err(fs::TryLockError::Error(e)) => return Err(Error::io("lock", &lock_path, &e)),
    }
    let faults = Arc::new(FaultyDisk::new(RealDisk));
    let disk: Arc<dyn Disk> = faults.clone();

    // Metadata.
    let read_meta = |name: &str| -> Result<Option<Vec<u8>>> {
        let p = dir.join(name);
        match fs::read(&p) {
            Ok(b) => Ok(Some(b)),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(Error::io("read", &p, &e)),
        }
    };
    let raw = [read_meta(meta::FILES[0])?, read_meta(meta::FILES[1])?];
    let chosen = meta::choose(raw[0].as_deref(), raw[1].as_deref());

    // Segment files.
    let mut names = Vec::new();
    for ent in fs::read_dir(dir).at("list", dir)? {
        let ent = ent.at("list", dir)?;
        if let Some(n) = ent.file_name().to_str().and_then(Name::parse) {
            names.push(n);
        }
    }
    names.sort_by_key(|n| (n.first(), matches!(n, Name::Open { .. })));

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
                format!("{}: no valid metadata file (meta1, meta2) beside {} segment(s)", dir.display(), names.len()),
            ))
        }
    };
    let mut meta_files = Vec::new();
    for (k, name) in meta::FILES.iter().enumerate() {
        let p = dir.join(name);
        let f = OpenOptions::new().create(true).truncate(false).read(true).write(true).open(&p).at("open", &p)?;
        if sync_dir_needed && k == 0 {
            disk::write_all_at(&*disk, &f, &meta.encode(), 0).at("write", &p)?;
            if opts.fsync != Fsync::None {
                disk.sync(&f, false).at("fdatasync", &p)?;
                st.syncs += 1;
            }
        }
        meta_files.push(f);
    }
    if sync_dir_needed && opts.fsync != Fsync::None {
        disk.sync_dir(&dir_file).at("fsync directory", dir)?;
        st.dir_syncs += 1;
    }
    let meta_files: [File; 2] = meta_files.try_into().map_err(|_| Error::invalid("two metadata files"))?;

    // Read and check each segment.
    let mut found: Vec<Found> = Vec::new();
    for name in names {
        let path = dir.join(name.file_name());
        let buf = fs::read(&path).at("read", &path)?;
        let header = segment::parse_header(&buf);
        let open = matches!(name, Name::Open { .. });
        let (epoch, first) = match header {
            Ok(h) => h,
            Err(BadHeader::Missing) if open => {
                diag.info(&format!("removing {}: created but never written", path.display()));
                disk.remove(&path).at("remove", &path)?;
                continue;
            }
            Err(BadHeader::Invalid) if open && buf.len() <= segment::HEADER => {
                diag.info(&format!("removing {}: header torn at creation", path.display()));
                disk.remove(&path).at("remove", &path)?;
                continue;
            }
            Err(_) => return Err(Error::corrupt(&path, 0, "segment header does not verify")),
        };
        if epoch != meta.epoch {
            diag.info(&format!("removing {}: stale segment of epoch {} (an interrupted reset)", path.display(), epoch));
            disk.remove(&path).at("remove", &path)?;
            continue;
        }
        if first != name.first() {
            return Err(Error::corrupt(
                &path,
                16,
                format!("header says first index {} but the name says {}", first, name.first()),
            ));
        }
        if let Name::Closed { last, .. } = name {
            if last < meta.start {
                diag.info(&format!(
                    "removing {}: wholly before the log's start {} (an interrupted compaction)",
                    path.display(),
                    meta.start
                ));
                disk.remove(&path).at("remove", &path)?;
                continue;
            }
        }
        let scan = segment::scan(&buf, first);
        let file = OpenOptions::new().read(true).write(true).open(&path).at("open", &path)?;
        found.push(Found { name, file, scan, size: buf.len() as u64 });
    }

    // An open segment with no records that is not the last one, or that
    // begins before a segment that follows it: drop it.
    let mut i = 0;
    while i < found.len() {
        let f = &found[i];
        let is_last = i + 1 == found.len();
        if matches!(f.name, Name::Open { .. }) && f.scan.offsets.is_empty() && f.scan.stop.is_none() && !is_last {
            let path = dir.join(f.name.file_name());
            diag.info(&format!("removing {}: empty open segment before others", path.display()));
            disk.remove(&path).at("remove", &path)?;
            found.remove(i);
            continue;
        }
        i += 1;
    }

    // Check contents and continuity; cut the torn tail of the last segment.
    let n = found.len();
    let mut segs: Vec<Segment> = Vec::with_capacity(n);
    let mut terms = TermRuns::default();
    let mut prev_last: Option<u64> = None;
    for (i, mut f) in found.into_iter().enumerate() {
        let path = dir.join(f.name.file_name());
        let is_last = i + 1 == n;
        let first = f.name.first();
        let count = f.scan.offsets.len() as u64;
        match (f.name, &f.scan.stop) {
            (Name::Closed { last, .. }, stop) => {
                if let Some((off, bad)) = stop {
                    return Err(Error::corrupt(&path, *off, bad));
                }
                if first + count - 1 != last || count == 0 {
                    return Err(Error::corrupt(
                        &path,
                        f.scan.valid_len,
                        format!("closed segment holds {} records, its name says {}", count, last + 1 - first),
                    ));
                }
            }
            (Name::Open { .. }, None) => {}
            (Name::Open { .. }, Some((off, bad))) => {
                let damage = f.scan.valid_after_stop || f.scan.misplaced.is_some();
                if !is_last {
                    return Err(Error::corrupt(
                        &path,
                        *off,
                        format!("{bad} in an open segment that other segments follow"),
                    ));
                }
                if damage && !opts.repair {
                    return Err(Error::corrupt(
                        &path,
                        *off,
                        format!(
                            "{bad}, with valid records after it (not a torn tail; open with the repair flag to cut it)"
                        ),
                    ));
                }
                let cut = f.scan.valid_len;
                let what = if damage { "corrupt record (repair)" } else { "torn tail" };
                diag.warn(&format!(
                    "{}: {} at offset {} ({}): {} bytes cut off after record {}",
                    path.display(),
                    what,
                    off,
                    bad,
                    f.size - cut,
                    first + count - 1
                ));
                if damage {
                    // Valid records are being cut: keep the bytes aside.
                    let q = dir.join(format!("quarantine-{}-{}", f.name.file_name(), cut));
                    let qf = disk.create(&q).at("create", &q)?;
                    let bytes = fs::read(&path).at("read", &path)?;
                    disk::write_all_at(&*disk, &qf, &bytes[cut as usize..], 0).at("write", &q)?;
                    disk.sync(&qf, false).at("fdatasync", &q)?;
                    diag.warn(&format!(
                        "{}: the {} bytes cut are quarantined in {}",
                        path.display(),
                        f.size - cut,
                        q.display()
                    ));
                }
                disk.truncate(&f.file, cut).at("truncate", &path)?;
                f.size = cut;
            }
        }
        if first + count <= meta.start && prev_last.is_none() {
            // Every record is before the log's start: compacted entries a
            // crash cut short (a snapshot covered entries that were never
            // synced here), or an interrupted compaction. The log is empty
            // from `start` on; the next append starts a new segment.
            diag.info(&format!("removing {}: its records end before the log's start {}", path.display(), meta.start));
            disk.remove(&path).at("remove", &path)?;
            continue;
        }
        if count > 0 || matches!(f.name, Name::Closed { .. }) {
            if let Some(pl) = prev_last {
                if first <= pl {
                    return Err(Error::corrupt(
                        &path,
                        0,
                        format!("overlaps the previous segment (which ends at {pl})"),
                    ));
                }
                if first > pl + 1 {
                    return Err(Error::corrupt(
                        &path,
                        0,
                        format!("gap: entries {}..{} are missing", pl + 1, first - 1),
                    ));
                }
            }
        } else if let Some(pl) = prev_last {
            if first != pl + 1 {
                return Err(Error::corrupt(
                    &path,
                    0,
                    format!("empty open segment for {first} after a segment ending at {pl}"),
                ));
            }
        }
        // A closed name for an open segment that others follow.
        if matches!(f.name, Name::Open { .. }) && !is_last {
            let closed = Name::Closed { first, last: first + count - 1 };
            let to = dir.join(closed.file_name());
            diag.info(&format!("closing {} (an interrupted close)", path.display()));
            disk.rename(&path, &to).at("rename", &path)?;
            f.name = closed;
        }
        if count == 0 && first > meta.start && prev_last.is_none() {
            // Nothing before; entries start..first-1 would be missing.
            return Err(Error::corrupt(
                &path,
                0,
                format!("log starts at {} but the first segment at {}", meta.start, first),
            ));
        }
        for (k, t) in f.scan.terms.iter().enumerate() {
            let idx = first + k as u64;
            if idx >= meta.start {
                terms.push(idx, *t);
            }
        }
        prev_last = Some(first + count - 1);
        segs.push(Segment {
            name: f.name,
            first,
            offsets: std::mem::take(&mut f.scan.offsets),
            len: f.size,
            written: f.size,
            file: Arc::new(f.file),
        });
    }
    let last = match prev_last {
        Some(pl) if pl + 1 < meta.start => {
            return Err(Error::new(
                Kind::Corrupt,
                format!("{}: log ends at {} but starts at {} (entries are missing)", dir.display(), pl, meta.start),
            ))
        }
        Some(pl) => pl,
        None => meta.start - 1,
    };
    if let Some(s) = segs.first() {
        if s.first > meta.start {
            return Err(Error::corrupt(
                &dir.join(s.name.file_name()),
                0,
                format!("log starts at {} but the first segment at {}", meta.start, s.first),
            ));
        }
    }
    // What survived a process crash may not be synced: sync it now, so
    // that everything the store reports is durable.
    if opts.fsync != Fsync::None {
        if let Some(s) = segs.last() {
            let path = dir.join(s.name.file_name());
            disk.sync(&s.file, opts.fsync == Fsync::Full).at("fdatasync", &path)?;
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
    let syncer = Syncer::new(disk.clone(), opts.fsync == Fsync::Full).at("start sync thread", dir)?;
    let store = Store {
        dir: dir.to_path_buf(),
        dir_file: Arc::new(dir_file),
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
