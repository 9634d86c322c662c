//! Recovery checks everything before it repairs anything, and repairs
//! that a stopped open left half done are finished by the next one.

use std::fs;

use super::diag::Diag;
use super::tests::TempDir;
use super::*;

fn small() -> Options {
    Options { segment_size: 4096, ..Options::default() }
}

/// A store of `n` entries in several segments (a sync every 10 appends
/// lets full segments close), closed.
fn write(dir: &std::path::Path, n: u64) {
    let mut s = Store::open(dir, small(), Diag::none()).unwrap();
    for i in 1..=n {
        let d = format!("entry-{i:05}-").repeat(4).into_bytes();
        s.append(&EntryRef { term: 1, id: i as i32, etype: 0, data: &d }).unwrap();
        if i % 10 == 0 {
            s.sync().unwrap();
        }
    }
    s.close().unwrap();
}

fn names(dir: &std::path::Path) -> Vec<(String, u64)> {
    let mut v: Vec<(String, u64)> = fs::read_dir(dir)
        .unwrap()
        .map(|e| {
            let e = e.unwrap();
            (e.file_name().into_string().unwrap(), e.metadata().unwrap().len())
        })
        .collect();
    v.sort();
    v
}

fn segments(dir: &std::path::Path) -> Vec<String> {
    names(dir).into_iter().map(|(n, _)| n).filter(|n| segment::Name::parse(n).is_some()).collect()
}

/// Regression: files to remove (an unwritten segment) and a torn tail to
/// cut were repaired before a corrupt closed segment was found, so the
/// open that reported the corruption had changed the directory.
#[test]
fn a_corrupt_store_is_left_as_it_was() {
    let t = TempDir::new("open-corrupt-untouched");
    write(&t.0, 200);
    let segs = segments(&t.0);
    assert!(segs.len() >= 3, "{segs:?}");
    // A crash's leftovers: an unwritten segment and a torn tail...
    fs::write(t.0.join(segment::Name::Open { first: 999 }.file_name()), b"").unwrap();
    let open = t.0.join(segs.last().unwrap());
    let len = fs::metadata(&open).unwrap().len();
    fs::OpenOptions::new().write(true).open(&open).unwrap().set_len(len - 3).unwrap();
    // ...and damage in a closed segment.
    let closed = t.0.join(&segs[1]);
    let mut b = fs::read(&closed).unwrap();
    let k = b.len() - 10;
    b[k] ^= 0xff;
    fs::write(&closed, &b).unwrap();
    let before = names(&t.0);
    let e = Store::open(&t.0, small(), Diag::none()).err().expect("corrupt");
    assert_eq!(e.kind, Kind::Corrupt);
    assert_eq!(names(&t.0), before, "nothing repaired");
}

/// A repair that stopped after writing its quarantine file but before the
/// cut (a crash, or an error) is done again by the next open.
#[test]
fn a_quarantine_file_left_by_a_stopped_repair_is_written_again() {
    let t = TempDir::new("open-quarantine-again");
    write(&t.0, 30);
    let open = t.0.join(segments(&t.0).into_iter().find(|n| n.starts_with("open-")).unwrap());
    let mut b = fs::read(&open).unwrap();
    // Damage a record that valid ones follow: found through its data.
    let at = b.windows(11).position(|w| w == b"entry-00025").unwrap();
    b[at] ^= 1;
    fs::write(&open, &b).unwrap();
    // Where the repair cuts: the end of the last record that verifies.
    let first = segment::Name::parse(open.file_name().unwrap().to_str().unwrap()).unwrap().first();
    let scan = segment::scan(&b, first).unwrap();
    let cut = scan.valid_len;
    let q = t.0.join(format!("quarantine-{}-{}", open.file_name().unwrap().to_str().unwrap(), cut));
    fs::write(&q, b"left by a repair that stopped").unwrap();
    let s = Store::open(&t.0, Options { repair: true, ..small() }, Diag::none()).unwrap();
    assert_eq!(s.current_idx(), 24);
    assert_eq!(fs::read(&q).unwrap(), &b[cut as usize..], "the bytes cut, written again");
    s.close().unwrap();
}
