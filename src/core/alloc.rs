//! Fallible allocation: the few helpers every allocation of the core goes
//! through, so that running out of memory is an error
//! ([`RaftError::NoMem`]), never an abort.
//!
//! Rust's ordinary collection methods (`Vec::push`, `extend`, `format!`,
//! `Rc::new`, ...) abort the process when the allocator returns NULL. The
//! core therefore grows a collection only with `try_reserve` first (on a
//! collection that has room this is one compare), formats log messages into
//! a fixed buffer on the stack ([`LogLine`]), and makes its one kind of
//! shared object, the node, from memory the host obtained fallibly first
//! (`Host::reserved`). Where an allocation is only an optimisation, a
//! failure falls back to a path that needs none.

use std::collections::VecDeque;
use std::fmt;
use std::rc::Rc;

use super::{RaftError, Result};

/// Room for `additional` more elements, or `NoMem`.
#[inline(always)]
pub fn reserve<T>(v: &mut Vec<T>, additional: usize) -> Result<()> {
    if v.capacity() - v.len() >= additional {
        return Ok(());
    }
    grow(v, additional)
}

#[cold]
#[inline(never)]
fn grow<T>(v: &mut Vec<T>, additional: usize) -> Result<()> {
    v.try_reserve(additional).map_err(|_| RaftError::NoMem)
}

/// `v.push(value)`, or `NoMem` (and `value` dropped) when `v` cannot grow.
#[inline(always)]
pub fn push<T>(v: &mut Vec<T>, value: T) -> Result<()> {
    reserve(v, 1)?;
    v.push(value);
    Ok(())
}

/// `v.extend_from_slice(items)`, all or nothing.
#[inline(always)]
pub fn extend_from_slice<T: Clone>(v: &mut Vec<T>, items: &[T]) -> Result<()> {
    reserve(v, items.len())?;
    v.extend_from_slice(items);
    Ok(())
}

/// `q.push_back(value)`, or `NoMem` when `q` cannot grow.
pub fn push_back<T>(q: &mut VecDeque<T>, value: T) -> Result<()> {
    if q.len() == q.capacity() {
        q.try_reserve(1).map_err(|_| RaftError::NoMem)?;
    }
    q.push_back(value);
    Ok(())
}

/// The size of the block `Rc::new` allocates for a `T` (the two counts,
/// then the value), for [`super::Host::reserved`].
pub fn rc_block_size<T>() -> usize {
    let counts = std::alloc::Layout::new::<[usize; 2]>();
    match counts.extend(std::alloc::Layout::new::<T>()) {
        Ok((layout, _)) => layout.pad_to_align().size(),
        Err(_) => usize::MAX,
    }
}

/// `Rc::new(value)` through `reserve`, a host's way of obtaining the block
/// fallibly first (see [`super::Host::reserved`]); `None` when it could not.
pub fn try_rc<T>(reserve: impl FnOnce(usize, &mut dyn FnMut()) -> bool, value: T) -> Option<Rc<T>> {
    let mut value = Some(value);
    let mut made = None;
    let ok = reserve(rc_block_size::<T>(), &mut || {
        if let Some(v) = value.take() {
            made = Some(Rc::new(v));
        }
    });
    if ok {
        made
    } else {
        None
    }
}

/// The longest library log message, in bytes; longer ones are cut (at a
/// character boundary) and end with "...".
pub const LOG_LINE_MAX: usize = 511;

/// A log message formatted on the stack: no allocation, whatever its length.
/// NUL bytes in the arguments become spaces, so the text is a valid C string
/// once terminated ([`LogLine::as_bytes_with_nul`]).
pub struct LogLine {
    buf: [u8; LOG_LINE_MAX + 1],
    len: usize,
    cut: bool,
}

impl LogLine {
    pub fn new() -> Self {
        LogLine { buf: [0; LOG_LINE_MAX + 1], len: 0, cut: false }
    }

    /// Formats `args`.
    pub fn format(args: fmt::Arguments<'_>) -> Self {
        let mut line = LogLine::new();
        let _ = fmt::write(&mut line, args);
        line
    }

    pub fn as_str(&self) -> &str {
        // Only whole characters are copied in (see write_str).
        std::str::from_utf8(&self.buf[..self.len]).unwrap_or("")
    }

    /// The text followed by one NUL byte.
    pub fn as_bytes_with_nul(&mut self) -> &[u8] {
        self.buf[self.len] = 0;
        &self.buf[..=self.len]
    }

    pub fn is_cut(&self) -> bool {
        self.cut
    }
}

impl Default for LogLine {
    fn default() -> Self {
        Self::new()
    }
}

impl fmt::Write for LogLine {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        if self.cut {
            return Ok(());
        }
        const ELLIPSIS: &str = "...";
        let room = LOG_LINE_MAX - self.len;
        let mut take = s.len();
        if take > room {
            self.cut = true;
            take = room.saturating_sub(ELLIPSIS.len());
            while take > 0 && !s.is_char_boundary(take) {
                take -= 1;
            }
        }
        for (dst, &b) in self.buf[self.len..self.len + take].iter_mut().zip(s.as_bytes()) {
            *dst = if b == 0 { b' ' } else { b };
        }
        self.len += take;
        if self.cut {
            let end = (self.len + ELLIPSIS.len()).min(LOG_LINE_MAX);
            let n = end - self.len;
            self.buf[self.len..end].copy_from_slice(&ELLIPSIS.as_bytes()[..n]);
            self.len = end;
        }
        Ok(())
    }
}

/// Room in `v` for up to `wanted` more elements: `wanted` when it has or
/// can get that much, else the most a halving search finds (0 at worst).
/// For lists where fewer is still correct: a batch of entries to send goes
/// out shorter and the rest follow with the next message.
pub fn reserve_up_to<T>(v: &mut Vec<T>, wanted: usize) -> usize {
    let mut n = wanted;
    while n > 0 && v.capacity() - v.len() < n && v.try_reserve_exact(n).is_err() {
        n /= 2;
    }
    n
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::fmt::Write;

    #[test]
    fn a_log_line_keeps_short_messages_whole() {
        let mut line = LogLine::format(format_args!("node {} term {}", 3, 7));
        assert_eq!(line.as_str(), "node 3 term 7");
        assert!(!line.is_cut());
        assert_eq!(line.as_bytes_with_nul(), b"node 3 term 7\0");
    }

    #[test]
    fn a_log_line_cuts_long_messages_at_a_character_boundary() {
        let long = "é".repeat(400); // 800 bytes
        let line = LogLine::format(format_args!("x{long}"));
        assert!(line.is_cut());
        assert!(line.as_str().len() <= LOG_LINE_MAX);
        assert!(line.as_str().ends_with("..."));
        assert!(line.as_str().starts_with("xé"));
        let mut more = LogLine::new();
        for _ in 0..100 {
            write!(more, "0123456789").unwrap();
        }
        assert_eq!(more.as_str().len(), LOG_LINE_MAX);
    }

    #[test]
    fn a_log_line_turns_nul_bytes_into_spaces() {
        let mut line = LogLine::format(format_args!("a{}b", '\0'));
        assert_eq!(line.as_bytes_with_nul(), b"a b\0");
    }

    #[test]
    fn helpers_grow_or_say_no_memory() {
        let mut v: Vec<u8> = Vec::new();
        push(&mut v, 1).unwrap();
        extend_from_slice(&mut v, &[2, 3]).unwrap();
        assert_eq!(v, [1, 2, 3]);
        assert_eq!(reserve(&mut v, usize::MAX), Err(RaftError::NoMem));
        assert_eq!(v, [1, 2, 3]);
        let mut q = VecDeque::new();
        push_back(&mut q, 5).unwrap();
        assert_eq!(q.front(), Some(&5));
        let r = try_rc(|_, make| { make(); true }, 9u32).unwrap();
        assert_eq!(*r, 9);
        assert!(try_rc(|_, _| false, 9u32).is_none());
        assert!(rc_block_size::<u64>() >= 24);
        let mut w: Vec<u64> = Vec::new();
        assert_eq!(reserve_up_to(&mut w, 10), 10);
        assert!(w.capacity() >= 10);
        assert_eq!(reserve_up_to(&mut w, 4), 4); // has room: no growth
    }
}
