//! Removing entries: from the end (`pop`), from the front (`poll`), or
//! all of them (`reset`), in an order a crash at any point leaves
//! recoverable.

use super::*;

impl Store {
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
        self.reset_with(first, term, true)
    }

    /// As `reset`, for a caller that can report running out of memory and
    /// call again (a restore): then `NoMem`, with the store unchanged and
    /// still usable (`write_meta` allocates only before it writes).
    pub fn try_reset(&mut self, first: u64, term: i64) -> Result<()> {
        self.reset_with(first, term, false)
    }

    fn reset_with(&mut self, first: u64, term: i64, fail_on_nomem: bool) -> Result<()> {
        self.check_usable()?;
        let first = first.max(1);
        let m = Meta { epoch: self.meta.epoch + 1, start: first, start_term: term, ..self.meta };
        // The server goes on as if the log were reset: a store that could
        // not reset must refuse from here on.
        if let Err(e) = self.write_meta(m) {
            if e.kind == Kind::NoMem && !fail_on_nomem {
                return Err(e);
            }
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
}
