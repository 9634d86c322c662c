//! Appending, and writing and syncing what was appended: blocking, or
//! handed to the sync thread.

use super::*;

impl Store {
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
        // Taking the background writes back may have failed the store (a
        // failed write whose bytes found no memory to go back in line):
        // they are lost, and nothing may be reported written or synced.
        self.check_usable()?;
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
    pub(super) fn collect_writes(&mut self) {
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
    pub(super) fn drain_writes(&mut self) {
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
    pub(super) fn copy_unwritten(&self, written: u64, from: u64, out: &mut [u8]) {
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
}
