//! Behaviour of the whole store: round trips through close and reopen,
//! every torn or corrupt shape recovery must handle, and injected faults.

use std::fs;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Mutex};

use super::diag::{Diag, Level};
use super::disk::{op, Fault, Plan};
use super::segment::{self, Name};
use super::*;

static SEQ: AtomicU32 = AtomicU32::new(0);

/// A fresh directory under the system's temporary one, removed on drop
/// (shared by the store's test modules).
pub(super) struct TempDir(pub(super) PathBuf);

impl TempDir {
    pub(super) fn new(tag: &str) -> TempDir {
        let p = std::env::temp_dir().join(format!(
            "raft-store-test-{}-{}-{}",
            std::process::id(),
            tag,
            SEQ.fetch_add(1, Ordering::Relaxed)
        ));
        let _ = fs::remove_dir_all(&p);
        TempDir(p)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = fs::remove_dir_all(&self.0);
    }
}

fn small() -> Options {
    Options { segment_size: 4096, ..Options::default() }
}

fn open(dir: &Path) -> Store {
    Store::open(dir, small(), Diag::none()).unwrap()
}

/// Opens and collects the diagnostics.
fn open_logged(dir: &Path, opts: Options) -> (Result<Store>, Vec<String>) {
    let lines = Arc::new(Mutex::new(Vec::new()));
    let l = lines.clone();
    let diag = Diag::new(Some(Box::new(move |_, m| l.lock().unwrap().push(m.to_string()))), Level::Debug);
    let r = Store::open(dir, opts, diag);
    let v = lines.lock().unwrap().clone();
    (r, v)
}

fn data(i: u64) -> Vec<u8> {
    format!("entry-{i}-").repeat((i % 7 + 1) as usize).into_bytes()
}

fn append_n(s: &mut Store, n: u64, term: i64) {
    for _ in 0..n {
        let i = s.current_idx() + 1;
        let d = data(i);
        assert_eq!(s.append(&EntryRef { term, id: i as i32, etype: 0, data: &d }).unwrap(), i);
    }
}

/// Appends `n` entries with a sync after every 10: a full segment is
/// closed at the first append after a sync, so this makes several.
fn append_synced(s: &mut Store, n: u64, term: i64) {
    for k in 0..n {
        append_n(s, 1, term);
        if k % 10 == 9 {
            s.sync().unwrap();
        }
    }
}

fn check_entries(s: &Store, from: u64, to: u64) {
    for i in from..=to {
        let e = s.get(i).unwrap().unwrap_or_else(|| panic!("entry {i} missing"));
        assert_eq!(e.data, data(i), "entry {i}");
        assert_eq!(e.id, i as i32);
    }
}

fn segment_files(dir: &Path) -> Vec<String> {
    let mut v: Vec<String> = fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .filter(|n| Name::parse(n).is_some())
        .collect();
    v.sort();
    v
}

fn last_segment(dir: &Path) -> PathBuf {
    dir.join(segment_files(dir).last().unwrap())
}

#[test]
fn entries_and_metadata_survive_close_and_reopen() {
    let t = TempDir::new("roundtrip");
    let mut s = open(&t.0);
    assert_eq!((s.first_idx(), s.current_idx(), s.term(), s.vote()), (1, 0, 0, -1));
    append_n(&mut s, 10, 1);
    append_n(&mut s, 5, 2);
    s.set_metadata(2, 3).unwrap();
    s.sync().unwrap();
    assert_eq!(s.synced_idx(), 15);
    s.close().unwrap();
    let s = open(&t.0);
    assert_eq!((s.first_idx(), s.current_idx(), s.term(), s.vote()), (1, 15, 2, 3));
    check_entries(&s, 1, 15);
    assert_eq!(s.term_at(10), Some(1));
    assert_eq!(s.term_at(11), Some(2));
}

#[test]
fn entries_not_yet_written_are_readable() {
    let t = TempDir::new("pending");
    let mut s = open(&t.0);
    append_n(&mut s, 3, 1);
    assert!(s.pending_bytes() > 0);
    check_entries(&s, 1, 3);
    s.sync().unwrap();
    append_n(&mut s, 2, 1);
    let mut seen = Vec::new();
    assert_eq!(s.read_range(2, 10, |i, e| seen.push((i, e.data.to_vec()))).unwrap(), 4, "spans disk and buffer");
    assert_eq!(seen[3], (5, data(5)));
}

#[test]
fn one_sync_is_one_write_and_one_fdatasync() {
    let t = TempDir::new("batch");
    let mut s = Store::open(&t.0, Options::default(), Diag::none()).unwrap();
    append_n(&mut s, 1, 1); // creates the open segment
    s.sync().unwrap();
    let before = s.stats();
    append_n(&mut s, 100, 1);
    s.sync().unwrap();
    let after = s.stats();
    assert_eq!(after.writes - before.writes, 1);
    assert_eq!(after.syncs - before.syncs, 1);
    assert_eq!(after.dir_syncs, before.dir_syncs);
    s.sync().unwrap();
    assert_eq!(s.stats().syncs, after.syncs, "nothing new: no fdatasync");
}

#[test]
fn segments_roll_over_and_are_read_across() {
    let t = TempDir::new("roll");
    let mut s = open(&t.0);
    for _ in 0..20 {
        append_n(&mut s, 10, 1);
        s.sync().unwrap();
    }
    let files = segment_files(&t.0);
    assert!(files.len() > 3, "{files:?}");
    assert!(files.last().unwrap().starts_with("open-"));
    assert!(files[..files.len() - 1].iter().all(|f| !f.starts_with("open-")));
    check_entries(&s, 1, 200);
    s.close().unwrap();
    let s = open(&t.0);
    check_entries(&s, 1, 200);
}

#[test]
fn pop_within_the_open_segment_and_into_a_closed_one() {
    let t = TempDir::new("pop");
    let mut s = open(&t.0);
    append_n(&mut s, 120, 1);
    s.sync().unwrap();
    s.pop(118).unwrap();
    assert_eq!(s.current_idx(), 117);
    assert_eq!(s.synced_idx(), 117);
    append_n(&mut s, 3, 2);
    s.sync().unwrap();
    assert_eq!(s.term_at(118), Some(2));
    s.pop(5).unwrap();
    assert_eq!(s.current_idx(), 4);
    assert_eq!(segment_files(&t.0).len(), 1);
    append_n(&mut s, 6, 3);
    s.sync().unwrap();
    s.close().unwrap();
    let s = open(&t.0);
    assert_eq!(s.current_idx(), 10);
    check_entries(&s, 1, 10);
    assert_eq!(s.term_at(4), Some(1));
    assert_eq!(s.term_at(5), Some(3));
}

#[test]
fn pop_of_unwritten_entries_only_trims_the_buffer() {
    let t = TempDir::new("poppending");
    let mut s = open(&t.0);
    append_n(&mut s, 4, 1);
    s.sync().unwrap();
    append_n(&mut s, 4, 1);
    s.pop(7).unwrap();
    s.sync().unwrap();
    s.close().unwrap();
    let s = open(&t.0);
    assert_eq!(s.current_idx(), 6);
    check_entries(&s, 1, 6);
}

#[test]
fn compaction_deletes_whole_segments_and_keeps_the_snapshot_position() {
    let t = TempDir::new("poll");
    let mut s = open(&t.0);
    append_synced(&mut s, 100, 1);
    append_synced(&mut s, 100, 2);
    s.sync().unwrap();
    let before = segment_files(&t.0).len();
    s.poll(150).unwrap();
    assert_eq!(s.first_idx(), 150);
    assert_eq!(s.snapshot(), (149, 2));
    assert!(segment_files(&t.0).len() < before);
    assert!(s.get(149).unwrap().is_none());
    s.close().unwrap();
    let s = open(&t.0);
    assert_eq!((s.first_idx(), s.current_idx(), s.snapshot()), (150, 200, (149, 2)));
    check_entries(&s, 150, 200);
}

#[test]
fn compaction_of_the_whole_log_lets_appends_continue() {
    let t = TempDir::new("pollall");
    let mut s = open(&t.0);
    append_n(&mut s, 5, 1);
    s.sync().unwrap();
    s.poll(6).unwrap();
    assert_eq!(s.count(), 0);
    append_n(&mut s, 2, 1);
    s.sync().unwrap();
    s.close().unwrap();
    let s = open(&t.0);
    assert_eq!((s.first_idx(), s.current_idx()), (6, 7));
    check_entries(&s, 6, 7);
}

#[test]
fn reset_empties_the_log_at_a_new_index() {
    let t = TempDir::new("reset");
    let mut s = open(&t.0);
    append_n(&mut s, 50, 1);
    s.sync().unwrap();
    s.reset(101, 7).unwrap();
    assert_eq!((s.first_idx(), s.current_idx(), s.snapshot()), (101, 100, (100, 7)));
    append_n(&mut s, 3, 8);
    s.sync().unwrap();
    s.close().unwrap();
    let s = open(&t.0);
    assert_eq!((s.first_idx(), s.current_idx()), (101, 103));
    check_entries(&s, 101, 103);
}

#[test]
fn an_interrupted_reset_leaves_stale_segments_that_open_removes() {
    let t = TempDir::new("resetstale");
    let mut s = open(&t.0);
    append_n(&mut s, 50, 1);
    s.sync().unwrap();
    let saved: Vec<(String, Vec<u8>)> =
        segment_files(&t.0).into_iter().map(|f| (f.clone(), fs::read(t.0.join(&f)).unwrap())).collect();
    s.reset(20, 3).unwrap();
    s.close().unwrap();
    for (f, b) in saved {
        fs::write(t.0.join(f), b).unwrap(); // as if the removals never happened
    }
    let (s, log) = open_logged(&t.0, small());
    let s = s.unwrap();
    assert_eq!((s.first_idx(), s.current_idx()), (20, 19));
    assert!(log.iter().any(|l| l.contains("stale segment")), "{log:?}");
    assert!(segment_files(&t.0).is_empty());
}

#[test]
fn an_interrupted_compaction_leaves_segments_that_open_removes() {
    let t = TempDir::new("pollstale");
    let mut s = open(&t.0);
    append_synced(&mut s, 200, 1);
    s.sync().unwrap();
    let saved: Vec<(String, Vec<u8>)> =
        segment_files(&t.0).into_iter().map(|f| (f.clone(), fs::read(t.0.join(&f)).unwrap())).collect();
    s.poll(150).unwrap();
    s.close().unwrap();
    for (f, b) in saved {
        fs::write(t.0.join(f), b).unwrap();
    }
    let (s, log) = open_logged(&t.0, small());
    let s = s.unwrap();
    assert_eq!((s.first_idx(), s.current_idx()), (150, 200));
    assert!(log.iter().any(|l| l.contains("interrupted compaction")), "{log:?}");
    check_entries(&s, 150, 200);
}

#[test]
fn compacting_entries_a_crash_then_loses_leaves_an_empty_log_at_the_start() {
    // A leader may apply (and snapshot, and compact) entries its peers made
    // durable before its own sync did: a power failure then cuts them here,
    // but the snapshot covers them.
    let t = TempDir::new("pollunsynced");
    let mut s = open(&t.0);
    append_n(&mut s, 5, 1);
    s.sync().unwrap();
    append_n(&mut s, 5, 2);
    s.poll(11).unwrap();
    s.crash().unwrap();
    let (s, log) = open_logged(&t.0, small());
    let mut s = s.unwrap();
    assert_eq!((s.first_idx(), s.current_idx(), s.snapshot()), (11, 10, (10, 2)));
    assert!(log.iter().any(|l| l.contains("before the log's start")), "{log:?}");
    append_n(&mut s, 3, 3);
    s.sync().unwrap();
    drop(s);
    let s = open(&t.0);
    assert_eq!((s.first_idx(), s.current_idx()), (11, 13));
    check_entries(&s, 11, 13);
}

// ---------------------------------------------------------------- torn shapes

/// A store with `n` synced entries, closed; returns the open segment's path
/// and the offset where its last record starts.
fn synced_store(t: &TempDir, n: u64) -> (PathBuf, u64) {
    let mut s = open(&t.0);
    append_n(&mut s, n, 1);
    s.sync().unwrap();
    let seg = s.segs.last().unwrap();
    let off = *seg.offsets.last().unwrap() as u64;
    s.close().unwrap();
    (last_segment(&t.0), off)
}

fn cut_file(p: &Path, len: u64) {
    fs::OpenOptions::new().write(true).open(p).unwrap().set_len(len).unwrap();
}

fn flip(p: &Path, at: u64) {
    let mut b = fs::read(p).unwrap();
    b[at as usize] ^= 0x5a;
    fs::write(p, b).unwrap();
}

fn reopen_expect_tail_cut(t: &TempDir, last: u64) {
    let (s, log) = open_logged(&t.0, small());
    let s = s.unwrap();
    assert_eq!(s.current_idx(), last);
    check_entries(&s, 1, last);
    assert!(log.iter().any(|l| l.contains("torn tail")), "{log:?}");
    drop(s);
    let (s, log) = open_logged(&t.0, small());
    assert_eq!(s.unwrap().current_idx(), last);
    assert!(!log.iter().any(|l| l.contains("torn tail")), "the cut is made once: {log:?}");
}

#[test]
fn a_truncated_length_at_the_tail_is_cut_off() {
    let t = TempDir::new("trunclen");
    let (p, off) = synced_store(&t, 10);
    cut_file(&p, off + 3);
    reopen_expect_tail_cut(&t, 9);
}

#[test]
fn a_truncated_payload_at_the_tail_is_cut_off() {
    let t = TempDir::new("truncpayload");
    let (p, off) = synced_store(&t, 10);
    cut_file(&p, off + 20);
    reopen_expect_tail_cut(&t, 9);
}

#[test]
fn a_bad_checksum_in_the_last_record_is_a_torn_tail() {
    let t = TempDir::new("badtail");
    let (p, off) = synced_store(&t, 10);
    flip(&p, off + 30);
    reopen_expect_tail_cut(&t, 9);
}

#[test]
fn a_zero_filled_tail_is_cut_off() {
    let t = TempDir::new("zero");
    let (p, _) = synced_store(&t, 10);
    let mut b = fs::read(&p).unwrap();
    b.extend([0u8; 8192]);
    fs::write(&p, b).unwrap();
    reopen_expect_tail_cut(&t, 10);
}

#[test]
fn a_bad_checksum_in_the_middle_is_an_error_naming_file_and_offset() {
    let t = TempDir::new("badmiddle");
    let mut s = open(&t.0);
    append_n(&mut s, 10, 1);
    s.sync().unwrap();
    let off = s.segs.last().unwrap().offsets[4] as u64;
    s.close().unwrap();
    let p = last_segment(&t.0);
    flip(&p, off + 30);
    let before = fs::read(&p).unwrap();
    let err = Store::open(&t.0, small(), Diag::none()).err().unwrap();
    assert_eq!(err.kind, Kind::Corrupt);
    assert!(err.msg.contains(&p.display().to_string()) && err.msg.contains(&format!("offset {off}")), "{}", err.msg);
    assert_eq!(fs::read(&p).unwrap(), before, "nothing was cut");
    // With repair, the damage and what follows are cut, and reported.
    let (s, log) = open_logged(&t.0, Options { repair: true, ..small() });
    assert_eq!(s.unwrap().current_idx(), 4);
    assert!(log.iter().any(|l| l.contains("corrupt record")), "{log:?}");
    assert!(log.iter().any(|l| l.contains("quarantined")), "{log:?}");
    let q = t.0.join(format!("quarantine-{}-{}", p.file_name().unwrap().to_str().unwrap(), off));
    assert_eq!(fs::read(q).unwrap(), before[off as usize..], "the cut bytes are kept aside");
}

#[test]
fn a_bad_record_in_a_closed_segment_is_an_error() {
    let t = TempDir::new("badclosed");
    let mut s = open(&t.0);
    append_synced(&mut s, 100, 1);
    s.sync().unwrap();
    s.close().unwrap();
    let first = t.0.join(&segment_files(&t.0)[0]);
    let len = fs::metadata(&first).unwrap().len();
    flip(&first, len - 5);
    let err = Store::open(&t.0, small(), Diag::none()).err().unwrap();
    assert_eq!(err.kind, Kind::Corrupt);
    assert!(err.msg.contains(&first.display().to_string()), "{}", err.msg);
    // A truncated closed segment too: synced data is never cut silently.
    flip(&first, len - 5);
    cut_file(&first, len - 5);
    assert_eq!(Store::open(&t.0, small(), Diag::none()).err().unwrap().kind, Kind::Corrupt);
}

#[test]
fn a_missing_segment_is_a_gap_error() {
    let t = TempDir::new("gap");
    let mut s = open(&t.0);
    append_synced(&mut s, 150, 1);
    s.sync().unwrap();
    s.close().unwrap();
    let files = segment_files(&t.0);
    assert!(files.len() >= 3);
    fs::remove_file(t.0.join(&files[1])).unwrap();
    let err = Store::open(&t.0, small(), Diag::none()).err().unwrap();
    assert_eq!(err.kind, Kind::Corrupt);
    assert!(err.msg.contains("gap"), "{}", err.msg);
    // The first segment missing: the log would not start where the metadata says.
    let t2 = TempDir::new("gapfirst");
    let mut s = open(&t2.0);
    append_synced(&mut s, 150, 1);
    s.sync().unwrap();
    s.close().unwrap();
    fs::remove_file(t2.0.join(&segment_files(&t2.0)[0])).unwrap();
    assert_eq!(Store::open(&t2.0, small(), Diag::none()).err().unwrap().kind, Kind::Corrupt);
}

#[test]
fn overlapping_segments_are_an_error() {
    let t = TempDir::new("overlap");
    let mut s = open(&t.0);
    append_synced(&mut s, 150, 1);
    s.sync().unwrap();
    s.close().unwrap();
    let files = segment_files(&t.0);
    let Name::Closed { first, last } = Name::parse(&files[0]).unwrap() else { panic!() };
    // A copy of the first segment claiming to be a later one.
    let copy = Name::Closed { first: first + 1, last: last + 1 };
    let mut b = fs::read(t.0.join(&files[0])).unwrap();
    b[..segment::HEADER].copy_from_slice(&segment::header(1, first + 1));
    fs::write(t.0.join(copy.file_name()), b).unwrap();
    let err = Store::open(&t.0, small(), Diag::none()).err().unwrap();
    assert_eq!(err.kind, Kind::Corrupt, "{}", err.msg);
}

#[test]
fn a_crash_between_the_steps_of_closing_a_segment_recovers() {
    // Step 1 done (old segment synced), rename not done, new open segment
    // created: two open segments. And: new open segment created without a
    // header (its creation was not synced).
    let t = TempDir::new("rename");
    let mut s = open(&t.0);
    append_synced(&mut s, 100, 1);
    s.sync().unwrap();
    s.close().unwrap();
    let files = segment_files(&t.0);
    let closed = files.iter().find(|f| !f.starts_with("open-")).unwrap().clone();
    let Name::Closed { first, .. } = Name::parse(&closed).unwrap() else { panic!() };
    fs::rename(t.0.join(&closed), t.0.join(Name::Open { first }.file_name())).unwrap();
    let (s, log) = open_logged(&t.0, small());
    let s = s.unwrap();
    assert_eq!(s.current_idx(), 100);
    check_entries(&s, 1, 100);
    assert!(log.iter().any(|l| l.contains("interrupted close")), "{log:?}");
    let last = s.current_idx();
    drop(s);
    assert_eq!(segment_files(&t.0).iter().filter(|f| f.starts_with("open-")).count(), 1);
    // An open segment created but never written.
    fs::write(t.0.join(Name::Open { first: last + 1 }.file_name()), b"").unwrap();
    // (the previous open segment is now followed by an empty one)
    let (s, log) = open_logged(&t.0, small());
    let mut s = s.unwrap();
    assert_eq!(s.current_idx(), 100);
    assert!(log.iter().any(|l| l.contains("never written")), "{log:?}");
    append_n(&mut s, 5, 1);
    s.sync().unwrap();
    check_entries(&s, 1, 105);
}

#[test]
fn a_torn_metadata_write_leaves_the_old_term_and_vote() {
    let t = TempDir::new("meta");
    let mut s = open(&t.0);
    s.set_metadata(3, 1).unwrap();
    s.set_metadata(4, 2).unwrap();
    let newest = t.0.join(meta::Meta::file_of(s.meta.version));
    s.close().unwrap();
    let mut b = fs::read(&newest).unwrap();
    b[20] ^= 1; // torn
    fs::write(&newest, b).unwrap();
    let s = open(&t.0);
    assert_eq!((s.term(), s.vote()), (3, 1));
}

#[test]
fn no_valid_metadata_beside_segments_is_an_error() {
    let t = TempDir::new("nometa");
    let mut s = open(&t.0);
    append_n(&mut s, 3, 1);
    s.close().unwrap();
    fs::write(t.0.join("meta1"), [0u8; 64]).unwrap();
    fs::write(t.0.join("meta2"), b"").unwrap();
    assert_eq!(Store::open(&t.0, small(), Diag::none()).err().unwrap().kind, Kind::Corrupt);
}

#[test]
fn a_second_open_of_the_same_directory_is_refused() {
    let t = TempDir::new("lock");
    let s = open(&t.0);
    assert_eq!(Store::open(&t.0, small(), Diag::none()).err().unwrap().kind, Kind::Locked);
    drop(s);
    open(&t.0);
}

#[test]
fn a_bad_segment_size_is_refused() {
    let t = TempDir::new("opts");
    let e = Store::open(&t.0, Options { segment_size: 10, ..Options::default() }, Diag::none()).err().unwrap();
    assert_eq!(e.kind, Kind::Invalid);
}

// ---------------------------------------------------------------- faults

fn plan(ops: u32, fault: Fault) -> Option<Plan> {
    Some(Plan { ops, fault, skip: 0, ppm: 0, seed: 0 })
}

#[test]
fn a_failed_write_keeps_the_entries_pending_and_a_retry_succeeds() {
    for fault in [Fault::Errno(libc::EIO), Fault::Errno(libc::ENOSPC), Fault::Errno(libc::EROFS), Fault::Short] {
        let t = TempDir::new("writefault");
        let mut s = open(&t.0);
        append_n(&mut s, 3, 1);
        s.sync().unwrap();
        append_n(&mut s, 3, 1);
        let size = fs::metadata(last_segment(&t.0)).unwrap().len();
        s.faults().set_plan(plan(op::WRITE, fault));
        let e = s.sync().unwrap_err();
        let want = match fault {
            Fault::Errno(libc::ENOSPC) => Kind::NoSpace,
            Fault::Errno(libc::EROFS) => Kind::ReadOnly,
            _ => Kind::Io,
        };
        assert_eq!(e.kind, want, "{fault:?}: {}", e.msg);
        assert_eq!(s.synced_idx(), 3);
        assert_eq!(fs::metadata(last_segment(&t.0)).unwrap().len(), size, "{fault:?}: nothing half-written stays");
        check_entries(&s, 1, 6);
        s.sync().unwrap();
        assert_eq!(s.synced_idx(), 6);
        s.close().unwrap();
        let s = open(&t.0);
        assert_eq!(s.current_idx(), 6);
        check_entries(&s, 1, 6);
    }
}

#[test]
fn a_failed_fdatasync_makes_the_store_refuse_writes_until_reopened() {
    let t = TempDir::new("syncfault");
    let mut s = open(&t.0);
    append_n(&mut s, 3, 1);
    s.sync().unwrap();
    append_n(&mut s, 3, 1);
    s.faults().set_plan(plan(op::SYNC, Fault::Errno(libc::EIO)));
    assert_eq!(s.sync().unwrap_err().kind, Kind::Io);
    assert_eq!(s.synced_idx(), 3);
    let d = data(7);
    assert_eq!(s.append(&EntryRef { term: 1, id: 7, etype: 0, data: &d }).unwrap_err().kind, Kind::Failed);
    assert_eq!(s.sync().unwrap_err().kind, Kind::Failed);
    assert_eq!(s.set_metadata(5, 1).unwrap_err().kind, Kind::Failed);
    check_entries(&s, 1, 6); // reads still work
    drop(s);
    let s = open(&t.0);
    assert!(s.current_idx() >= 3);
    check_entries(&s, 1, s.current_idx());
}

#[test]
fn a_failed_metadata_write_keeps_the_old_pair() {
    let t = TempDir::new("metafault");
    let mut s = open(&t.0);
    s.set_metadata(2, 1).unwrap();
    s.faults().set_plan(plan(op::WRITE, Fault::Short));
    assert!(s.set_metadata(3, 2).is_err());
    assert_eq!((s.term(), s.vote()), (2, 1));
    s.set_metadata(3, 2).unwrap();
    drop(s);
    let s = open(&t.0);
    assert_eq!((s.term(), s.vote()), (3, 2));
}

#[test]
fn a_failed_segment_creation_refuses_the_append_and_a_retry_succeeds() {
    let t = TempDir::new("createfault");
    let mut s = open(&t.0);
    s.faults().set_plan(plan(op::CREATE, Fault::Errno(libc::ENOSPC)));
    let d = data(1);
    assert_eq!(s.append(&EntryRef { term: 1, id: 1, etype: 0, data: &d }).unwrap_err().kind, Kind::NoSpace);
    assert_eq!(s.current_idx(), 0);
    append_n(&mut s, 2, 1);
    s.sync().unwrap();
    check_entries(&s, 1, 2);
}

#[test]
fn random_faults_never_lose_a_synced_entry() {
    let t = TempDir::new("randfault");
    let mut synced = 0;
    let mut expected_last;
    {
        let mut s = open(&t.0);
        s.faults().set_plan(Some(Plan { ops: op::ALL, fault: Fault::Errno(libc::EIO), skip: 0, ppm: 50_000, seed: 3 }));
        for round in 0..200 {
            if s.failed.is_some() {
                break;
            }
            let i = s.current_idx() + 1;
            let d = data(i);
            let _ = s.append(&EntryRef { term: 1, id: i as i32, etype: 0, data: &d });
            if round % 3 == 0 && s.sync().is_ok() {
                synced = s.current_idx();
            }
        }
        expected_last = s.current_idx();
        let _ = s.crash();
    }
    let s = open(&t.0);
    assert!(s.current_idx() >= synced, "synced {synced}, found {}", s.current_idx());
    expected_last = expected_last.min(s.current_idx());
    check_entries(&s, 1, expected_last);
}

// ---------------------------------------------------------------- crash, background sync

#[test]
fn a_simulated_power_failure_loses_only_unsynced_entries() {
    let t = TempDir::new("crash");
    let mut s = open(&t.0);
    append_n(&mut s, 150, 1);
    s.sync().unwrap();
    append_n(&mut s, 30, 1);
    s.sync_start().unwrap(); // written, maybe not synced
    s.syncer.wait();
    append_n(&mut s, 10, 1);
    let durable = s.synced_idx();
    s.crash().unwrap();
    let s = open(&t.0);
    assert!(s.current_idx() >= 150 && s.current_idx() <= 180, "{}", s.current_idx());
    assert!(s.current_idx() >= durable);
    check_entries(&s, 1, s.current_idx());
}

#[test]
fn a_background_sync_reports_its_index_through_poll() {
    let t = TempDir::new("bg");
    let mut s = open(&t.0);
    assert_eq!(s.sync_poll().unwrap(), None);
    append_n(&mut s, 10, 1);
    s.sync_start().unwrap();
    append_n(&mut s, 5, 1); // after the request: not covered
    assert_eq!(s.sync_wait().unwrap(), 10);
    assert_eq!(s.synced_idx(), 10);
    s.sync_start().unwrap();
    assert_eq!(s.sync_wait().unwrap(), 15);
    s.sync_start().unwrap(); // nothing new: completes at once
    assert_eq!(s.sync_poll().unwrap(), Some(15));
}

#[test]
fn asking_again_for_what_a_background_sync_covers_costs_no_fdatasync() {
    let t = TempDir::new("bgdup");
    let mut s = open(&t.0);
    append_n(&mut s, 10, 1);
    let base = s.stats().syncs;
    s.sync_start().unwrap();
    s.sync_start().unwrap();
    s.sync_start().unwrap();
    assert_eq!(s.sync_wait().unwrap(), 10);
    assert_eq!(s.stats().syncs - base, 1, "one fdatasync for three requests of the same entries");
    append_n(&mut s, 1, 1);
    s.sync_start().unwrap();
    assert_eq!(s.sync_wait().unwrap(), 11);
    assert_eq!(s.stats().syncs - base, 2);
}

#[test]
fn a_pop_during_a_background_sync_is_not_reported_durable() {
    let t = TempDir::new("bgpop");
    let mut s = open(&t.0);
    append_n(&mut s, 10, 1);
    s.sync_start().unwrap();
    s.pop(6).unwrap();
    let got = s.sync_wait().unwrap();
    assert!(got <= 5, "{got}");
    append_n(&mut s, 2, 2);
    s.sync_start().unwrap();
    assert_eq!(s.sync_wait().unwrap(), 7);
}

#[test]
fn a_failed_background_sync_is_reported_and_the_store_refuses_writes() {
    let t = TempDir::new("bgfault");
    let mut s = open(&t.0);
    append_n(&mut s, 3, 1);
    s.sync().unwrap();
    append_n(&mut s, 3, 1);
    s.faults().set_plan(plan(op::SYNC, Fault::Errno(libc::EIO)));
    s.sync_start().unwrap();
    s.syncer.wait();
    assert_eq!(s.sync_poll().unwrap_err().kind, Kind::Io);
    assert_eq!(s.synced_idx(), 3);
    assert_eq!(s.sync().unwrap_err().kind, Kind::Failed);
}
