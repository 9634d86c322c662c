//! Closing segments at sync boundaries: a sync (blocking or background)
//! costs at most one fdatasync, also when the open segment is full; the
//! directory sync that makes a roll's names durable comes with the next
//! sync; and every state a crash can leave between a roll and that
//! directory sync recovers without losing a reported entry.

use std::fs;
use std::path::Path;

use super::diag::Diag;
use super::disk::{op, Fault, Plan};
use super::segment::Name;
use super::*;

use super::tests::TempDir;

const SEG: u64 = 4096;

fn open(dir: &Path) -> Store {
    Store::open(dir, Options { segment_size: SEG, ..Options::default() }, Diag::none()).unwrap()
}

fn data(i: u64) -> Vec<u8> {
    vec![(i % 251) as u8; 100 + (i % 13) as usize]
}

fn append_n(s: &mut Store, n: u64) {
    for _ in 0..n {
        let i = s.current_idx() + 1;
        let d = data(i);
        assert_eq!(s.append(&EntryRef { term: 1, id: i as i32, etype: 0, data: &d }).unwrap(), i);
    }
}

fn check(s: &Store, from: u64, to: u64) {
    for i in from..=to {
        let e = s.get(i).unwrap().unwrap_or_else(|| panic!("entry {i} missing"));
        assert_eq!((e.id, e.data), (i as i32, data(i)), "entry {i}");
    }
}

fn segments(dir: &Path) -> Vec<(String, u64)> {
    let mut v: Vec<(String, u64)> = fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap())
        .filter(|e| Name::parse(e.file_name().to_str().unwrap()).is_some())
        .map(|e| (e.file_name().into_string().unwrap(), e.metadata().unwrap().len()))
        .collect();
    v.sort();
    v
}

/// Bytes of the records of entries `from..=to` (as `data` makes them).
fn batch_bytes(from: u64, to: u64) -> u64 {
    (from..=to).map(|i| (record::RECORD_HEADER + record::PAYLOAD_HEADER + data(i).len()) as u64).sum()
}

#[test]
fn every_blocking_sync_is_one_fdatasync_across_segment_rolls() {
    let t = TempDir::new("blocking");
    let mut s = open(&t.0);
    let batch = 7; // about 900 bytes: a roll every 4 or 5 syncs
    for _ in 0..60 {
        append_n(&mut s, batch);
        let before = s.stats();
        s.sync().unwrap();
        let after = s.stats();
        assert_eq!(after.syncs - before.syncs, 1, "one fdatasync per sync");
        assert!(after.dir_syncs - before.dir_syncs <= 1, "at most one directory sync per sync");
    }
    let files = segments(&t.0);
    assert!(files.len() > 5, "{files:?}");
    // Only the syncs after a roll synced the directory: the creation's, and
    // one for each segment created.
    assert_eq!(s.stats().dir_syncs, 1 + files.len() as u64, "{:?}", s.stats());
    for (name, len) in &files {
        // A segment passes its target by less than one sync batch.
        assert!(*len < SEG + batch_bytes(1, batch) + 200, "{name}: {len}");
    }
    check(&s, 1, 60 * batch);
    s.close().unwrap();
    let s = open(&t.0);
    check(&s, 1, 60 * batch);
}

#[test]
fn every_background_sync_is_one_fdatasync_also_when_pipelined() {
    let t = TempDir::new("bg");
    let mut s = open(&t.0);
    let batch = 7;
    let (mut starts, mut reported) = (0u64, 0u64);
    let base = s.stats();
    for round in 0..80 {
        append_n(&mut s, batch);
        s.sync_start().unwrap();
        starts += 1;
        // The next batch is appended while this sync may run; collect
        // only now and then, so that rolls find a sync in flight.
        if round % 3 == 2 {
            if let Some(idx) = s.sync_poll().unwrap() {
                assert!(idx > reported);
                reported = idx;
            }
        }
    }
    let last = s.sync_wait().unwrap();
    assert_eq!(last, 80 * batch);
    let st = s.stats();
    assert!(st.syncs - base.syncs <= starts, "{} fdatasyncs for {} sync_start calls", st.syncs - base.syncs, starts);
    let files = segments(&t.0);
    assert!(files.len() > 5, "{files:?}");
    assert!(st.dir_syncs - base.dir_syncs >= files.len() as u64 - 1, "one directory sync per roll: {st:?}");
    for (name, len) in &files {
        assert!(*len < SEG + batch_bytes(1, batch) + 200, "{name}: {len}");
    }
    check(&s, 1, last);
    drop(s);
    let s = open(&t.0);
    check(&s, 1, 80 * batch);
}

#[test]
fn a_roll_waiting_for_a_background_sync_leaves_its_report_to_poll() {
    let t = TempDir::new("peek");
    let mut s = open(&t.0);
    append_n(&mut s, 45); // past the target
    s.sync_start().unwrap();
    append_n(&mut s, 1); // waits for that sync, then starts a segment
    assert_eq!(segments(&t.0).len(), 2);
    assert_eq!(s.sync_poll().unwrap(), Some(45), "the sync's completion is still reported");
    s.sync_start().unwrap();
    assert_eq!(s.sync_wait().unwrap(), 46);
}

#[test]
fn a_full_segment_takes_appends_until_a_sync_covers_it() {
    let t = TempDir::new("grow");
    let mut s = open(&t.0);
    append_n(&mut s, 100); // ~12 KiB, no sync: one segment
    assert_eq!(segments(&t.0).len(), 1);
    s.sync().unwrap();
    append_n(&mut s, 1);
    let files = segments(&t.0);
    assert_eq!(files.len(), 2, "{files:?}");
    assert!(!files[0].0.starts_with("open-") && files[1].0.starts_with("open-"), "{files:?}");
}

#[test]
fn a_failed_directory_sync_after_a_roll_reports_nothing_durable() {
    for background in [false, true] {
        let t = TempDir::new("dirfault");
        let mut s = open(&t.0);
        append_n(&mut s, 45);
        s.sync().unwrap();
        append_n(&mut s, 3); // rolls
        assert_eq!(segments(&t.0).len(), 2);
        s.faults().set_plan(Some(Plan { ops: op::DIRSYNC, fault: Fault::Errno(libc::EIO), skip: 0, ppm: 0, seed: 0 }));
        if background {
            s.sync_start().unwrap();
            s.syncer.wait();
            assert_eq!(s.sync_poll().unwrap_err().kind, Kind::Io);
        } else {
            assert_eq!(s.sync().unwrap_err().kind, Kind::Io);
        }
        assert_eq!(s.synced_idx(), 45, "background {background}");
        assert_eq!(s.sync().unwrap_err().kind, Kind::Failed);
        drop(s);
        let s = open(&t.0);
        assert!(s.current_idx() >= 45);
        check(&s, 1, s.current_idx());
    }
}

/// A store with a roll whose names no directory sync covered yet: entries
/// 1..=45 durable in the closed segment, 46..=48 appended (and written) in
/// the new one but not reported durable. `extra` shifts the new segment's
/// first index (its parity decides whether `crash` keeps it).
fn crash_after_roll(t: &TempDir, background: bool, extra: u64) -> u64 {
    let mut s = open(&t.0);
    append_n(&mut s, 45 + extra);
    s.sync().unwrap();
    let durable = s.current_idx();
    append_n(&mut s, 3);
    let files = segments(&t.0);
    assert_eq!(files.len(), 2, "{files:?}");
    assert!(s.roll.is_some());
    if background {
        // Written and synced by the thread, but not collected: not
        // reported durable, so the crash may lose it and the names.
        s.sync_start().unwrap();
    } else {
        s.write_pending().unwrap();
    }
    s.crash().unwrap();
    durable
}

#[test]
fn a_crash_before_the_roll_reached_the_directory_recovers_every_shape() {
    for background in [false, true] {
        for extra in [0, 1] {
            let t = TempDir::new("rollcrash");
            let durable = crash_after_roll(&t, background, extra);
            let files = segments(&t.0);
            // The closed segment got its open name back; the new one is
            // gone (even first index) or still there (odd): two open
            // segments, the second holding no synced record.
            assert!(files[0].0.starts_with("open-"), "{files:?}");
            assert_eq!(files.len(), if (durable + 1).is_multiple_of(2) { 1 } else { 2 }, "{files:?}");
            let mut s = open(&t.0);
            assert_eq!(s.current_idx(), durable, "{files:?}");
            check(&s, 1, durable);
            let after = segments(&t.0);
            assert!(!after[0].0.starts_with("open-") || after.len() == 1, "{after:?}");
            append_n(&mut s, 5);
            s.sync().unwrap();
            drop(s);
            let s = open(&t.0);
            check(&s, 1, durable + 5);
        }
    }
}

#[test]
fn a_crash_after_the_new_segment_was_synced_keeps_it() {
    let t = TempDir::new("rollsynced");
    let mut s = open(&t.0);
    append_n(&mut s, 45);
    s.sync().unwrap();
    append_n(&mut s, 3);
    s.sync_start().unwrap();
    assert_eq!(s.sync_wait().unwrap(), 48);
    assert!(s.roll.is_none(), "the background sync synced the directory");
    s.crash().unwrap();
    let s = open(&t.0);
    assert_eq!(s.current_idx(), 48);
    check(&s, 1, 48);
}

#[test]
fn open_syncs_the_directory() {
    let t = TempDir::new("opendir");
    let mut s = open(&t.0);
    append_n(&mut s, 3);
    s.sync().unwrap();
    drop(s);
    let s = open(&t.0);
    assert_eq!(s.stats().dir_syncs, 1, "the names a crashed process left may not be durable");
}
