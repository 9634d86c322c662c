//! Reading entries: from the buffers not yet written, or from the files.

use super::*;

impl Store {
    // ------------------------------------------------------------ read

    fn segment_of(&self, idx: u64) -> Option<&Segment> {
        if idx < self.first || idx > self.last {
            return None;
        }
        let k = self.segs.partition_point(|s| s.first <= idx);
        self.segs.get(k.checked_sub(1)?)
    }

    /// Reads entry `idx` and hands it to `f` (None outside the log).
    pub fn read<R>(&self, idx: u64, f: impl FnOnce(EntryRef<'_>) -> R) -> Result<Option<R>> {
        let mut out = None;
        let mut f = Some(f);
        self.read_range(idx, 1, |_, e| {
            if let Some(f) = f.take() {
                out = Some(f(e));
            }
        })?;
        Ok(out)
    }

    /// Reads up to `max` entries from `idx` on (stopping at a segment's
    /// end) with one read call, handing each to `f`; returns how many.
    pub fn read_range(&self, idx: u64, max: usize, mut f: impl FnMut(u64, EntryRef<'_>)) -> Result<usize> {
        let Some(seg) = self.segment_of(idx) else { return Ok(0) };
        let n = (max as u64).min(seg.last().min(self.last) + 1 - idx);
        if n == 0 {
            return Ok(0);
        }
        let (start, _) = seg.range(idx);
        let (_, end) = seg.range(idx + n - 1);
        let path = || self.msg_path(&seg.name);
        let owned;
        let pending_from = seg.written + if seg.is_open() { self.inflight_bytes } else { 0 };
        let bytes: &[u8] = if seg.is_open() && start >= pending_from {
            &self.pending[(start - pending_from) as usize..(end - pending_from) as usize]
        } else {
            let mut buf = Vec::new();
            if buf.try_reserve_exact((end - start) as usize).is_err() {
                return Err(Error::nomem());
            }
            buf.resize((end - start) as usize, 0u8);
            let on_disk = (seg.written.min(end).saturating_sub(start)) as usize;
            seg.file.read_exact_at(&mut buf[..on_disk], start).at("read", &path())?;
            if on_disk < buf.len() {
                self.copy_unwritten(seg.written, start + on_disk as u64, &mut buf[on_disk..]);
            }
            owned = buf;
            &owned
        };
        let mut at = 0;
        for i in idx..idx + n {
            let d = record::decode(&bytes[at..]).map_err(|bad| Error::corrupt(&path(), start + at as u64, bad))?;
            if d.index != i {
                return Err(Error::corrupt(
                    &path(),
                    start + at as u64,
                    try_format(format_args!("record for index {} where {} belongs", d.index, i)),
                ));
            }
            f(i, d.entry);
            at += d.size;
        }
        Ok(n as usize)
    }

    /// Entry `idx` as an owned value.
    pub fn get(&self, idx: u64) -> Result<Option<Entry>> {
        self.read(idx, |e| Entry { term: e.term, id: e.id, etype: e.etype, data: e.data.to_vec() })
    }
}
