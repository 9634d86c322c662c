//! Write-behind: once `WRITE_BEHIND` bytes are pending and the sync thread
//! is idle, `append` hands them to it to write while appends go on; a
//! blocking sync then writes only the rest. Entries stay readable, the
//! sync is still one fdatasync, a failed write-behind comes back through
//! the next blocking sync with its bytes pending again, and nothing a sync
//! returned for is lost.

use std::fs;
use std::path::Path;

use super::diag::Diag;
use super::disk::{op, Fault, Plan};
use super::log::WRITE_BEHIND;
use super::*;

use super::tests::TempDir;

fn open(dir: &Path) -> Store {
    Store::open(dir, Options { segment_size: 64 << 20, ..Options::default() }, Diag::none()).unwrap()
}

fn data(i: u64) -> Vec<u8> {
    format!("wb-{i}-").repeat((i % 13 + 20) as usize).into_bytes()
}

fn append_one(s: &mut Store) -> u64 {
    let i = s.current_idx() + 1;
    let d = data(i);
    assert_eq!(s.append(&EntryRef { term: 2, id: i as i32, etype: 1, data: &d }).unwrap(), i);
    i
}

/// Appends until more than `bytes` of records were appended.
fn append_bytes(s: &mut Store, bytes: usize) -> u64 {
    let mut n = 0;
    let mut last = s.current_idx();
    while n <= bytes {
        last = append_one(s);
        n += record::record_size(data(last).len());
    }
    last
}

fn check(s: &Store, from: u64, to: u64) {
    let mut next = from;
    while next <= to {
        let n = s
            .read_range(next, (to + 1 - next) as usize, |i, e| {
                assert_eq!(e.data, &data(i)[..], "entry {i}");
                assert_eq!((e.id, e.term, e.etype), (i as i32, 2, 1));
            })
            .unwrap();
        assert!(n > 0, "entry {next} missing");
        next += n as u64;
    }
}

/// Waits until the thread has written what was handed to it (or failed).
fn settle(s: &mut Store) {
    s.syncer.wait_writes();
}

#[test]
fn appends_past_the_threshold_are_written_behind_and_one_sync_makes_them_durable() {
    let t = TempDir::new("behind");
    let mut s = open(&t.0);
    append_one(&mut s);
    s.sync().unwrap();
    let (w0, f0) = (s.stats().writes, s.stats().syncs);
    let last = append_bytes(&mut s, WRITE_BEHIND);
    assert!(s.stats().writes > w0, "a write was handed to the idle thread");
    assert!(s.pending_bytes() < WRITE_BEHIND, "pending: {}", s.pending_bytes());
    check(&s, 1, last); // from the file, the buffers in flight and pending
    settle(&mut s);
    let path = t.0.join(segment::Name::Open { first: 1 }.file_name());
    assert!(fs::metadata(&path).unwrap().len() > WRITE_BEHIND as u64, "written before any sync");
    assert_eq!(s.synced_idx(), 1, "written, not durable");
    let last = append_bytes(&mut s, 3 * WRITE_BEHIND);
    s.sync().unwrap();
    assert_eq!(s.synced_idx(), last);
    assert_eq!(s.stats().syncs - f0, 1, "one fdatasync for the sync");
    assert_eq!(s.pending_bytes(), 0);
    assert!(s.inflight.is_empty(), "the sync waited for the writes behind");
    s.crash().unwrap(); // keeps exactly what was synced
    let s = open(&t.0);
    assert_eq!(s.current_idx(), last);
    check(&s, 1, last);
}

#[test]
fn entries_written_behind_then_unsynced_are_cut_by_a_crash_and_synced_ones_kept() {
    let t = TempDir::new("behindcrash");
    let mut s = open(&t.0);
    let synced = append_bytes(&mut s, 2 * WRITE_BEHIND);
    s.sync().unwrap();
    let last = append_bytes(&mut s, 2 * WRITE_BEHIND);
    settle(&mut s);
    check(&s, 1, last);
    s.crash().unwrap();
    let s = open(&t.0);
    assert_eq!(s.current_idx(), synced);
    check(&s, 1, synced);
}

#[test]
fn a_failed_write_behind_comes_back_through_the_blocking_sync_and_a_retry_succeeds() {
    for fault in [Fault::Errno(libc::EIO), Fault::Errno(libc::ENOSPC), Fault::Short] {
        let t = TempDir::new("behindfault");
        let mut s = open(&t.0);
        let synced = append_bytes(&mut s, 1000);
        s.sync().unwrap();
        let path = t.0.join(segment::Name::Open { first: 1 }.file_name());
        let size = fs::metadata(&path).unwrap().len();
        s.faults().set_plan(Some(Plan { ops: op::WRITE, fault, skip: 0, ppm: 0, seed: 1 }));
        let last = append_bytes(&mut s, WRITE_BEHIND);
        settle(&mut s);
        assert!(s.faults().injected() > 0, "{fault:?}: the write behind met the fault");
        let e = s.sync().unwrap_err();
        let want = if fault == Fault::Errno(libc::ENOSPC) { Kind::NoSpace } else { Kind::Io };
        assert_eq!(e.kind, want, "{fault:?}: {}", e.msg);
        assert!(s.failed.is_none(), "{fault:?}: the store stays usable");
        assert_eq!(s.synced_idx(), synced);
        assert!(s.pending_bytes() >= WRITE_BEHIND, "{fault:?}: the bytes are pending again");
        assert_eq!(fs::metadata(&path).unwrap().len(), size, "{fault:?}: the file is cut back");
        check(&s, 1, last);
        // (a short write's plan fails the next write too)
        s.faults().set_plan(None);
        let last = append_bytes(&mut s, 100);
        s.sync().unwrap();
        assert_eq!(s.synced_idx(), last);
        s.crash().unwrap();
        let s = open(&t.0);
        assert_eq!(s.current_idx(), last, "{fault:?}");
        check(&s, 1, last);
    }
}

#[test]
fn no_write_behind_while_a_background_sync_runs_or_a_failure_waits() {
    let t = TempDir::new("behindbusy");
    let mut s = open(&t.0);
    append_one(&mut s);
    s.sync().unwrap();
    // A failed background write not yet reported: appends keep the bytes.
    s.faults().set_plan(Some(Plan { ops: op::WRITE, fault: Fault::Errno(libc::EIO), skip: 0, ppm: 0, seed: 1 }));
    append_bytes(&mut s, WRITE_BEHIND);
    settle(&mut s);
    s.faults().set_plan(None);
    let before = s.stats().writes;
    let last = append_bytes(&mut s, 2 * WRITE_BEHIND);
    assert_eq!(s.stats().writes, before, "nothing handed over with a failure to report");
    assert!(s.sync().is_err(), "the failure is reported");
    s.sync().unwrap();
    assert_eq!(s.synced_idx(), last);
    check(&s, 1, last);
}
