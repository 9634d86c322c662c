//! What can go wrong in the store, as one error type that says where.

use std::io;
use std::path::{Path, PathBuf};

/// The class of a failure, which the C layer maps to its error codes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// EIO and anything the disk reports as an I/O failure.
    Io,
    /// ENOSPC / EDQUOT.
    NoSpace,
    /// EROFS / EACCES / EPERM.
    ReadOnly,
    /// Data on disk that does not verify.
    Corrupt,
    /// A bad argument or a call out of order.
    Invalid,
    /// The store refuses writes after a failed sync.
    Failed,
    /// Another holder of the directory lock.
    Locked,
    /// Any other system error.
    Other,
    /// Out of memory (the message is empty: making one would need memory).
    NoMem,
}

/// A store failure with a message naming the file and offset involved.
#[derive(Debug, Clone, thiserror::Error)]
#[error("{msg}")]
pub struct Error {
    pub kind: Kind,
    pub msg: String,
}

pub type Result<T> = std::result::Result<T, Error>;

impl Error {
    pub fn new(kind: Kind, msg: impl Into<String>) -> Error {
        Error { kind, msg: msg.into() }
    }

    pub fn corrupt(file: &Path, offset: u64, why: impl std::fmt::Display) -> Error {
        Error::new(Kind::Corrupt, try_format(format_args!("{}: offset {}: {}", file.display(), offset, why)))
    }

    /// Out of memory; allocates nothing.
    pub fn nomem() -> Error {
        Error { kind: Kind::NoMem, msg: String::new() }
    }

    pub fn invalid(why: impl Into<String>) -> Error {
        Error::new(Kind::Invalid, why)
    }

    /// An I/O error of operation `op` on `path`, classified by its errno.
    pub fn io(op: &str, path: &Path, err: &io::Error) -> Error {
        Error::new(kind_of(err), try_format(format_args!("{} {}: {}", op, path.display(), err)))
    }
}

/// `format!` that never aborts: the text is measured first and its memory
/// obtained fallibly; without that memory, an empty string (which
/// allocates nothing). Messages are small, but they are made on failure
/// paths, where memory may be what is short.
pub fn try_format(args: std::fmt::Arguments<'_>) -> String {
    use std::fmt::Write;
    struct Count(usize);
    impl Write for Count {
        fn write_str(&mut self, s: &str) -> std::fmt::Result {
            self.0 += s.len();
            Ok(())
        }
    }
    // Writes into room already there, never growing.
    struct Fill<'a>(&'a mut String);
    impl Write for Fill<'_> {
        fn write_str(&mut self, s: &str) -> std::fmt::Result {
            if self.0.capacity() - self.0.len() < s.len() {
                return Err(std::fmt::Error);
            }
            self.0.push_str(s);
            Ok(())
        }
    }
    let mut n = Count(0);
    if n.write_fmt(args).is_err() {
        return String::new();
    }
    let mut out = String::new();
    if out.try_reserve_exact(n.0).is_err() || Fill(&mut out).write_fmt(args).is_err() {
        return String::new();
    }
    out
}

/// Classifies a system error.
pub fn kind_of(err: &io::Error) -> Kind {
    match err.raw_os_error() {
        Some(libc::EIO) => Kind::Io,
        Some(libc::ENOSPC) | Some(libc::EDQUOT) | Some(libc::EFBIG) => Kind::NoSpace,
        Some(libc::EROFS) | Some(libc::EACCES) | Some(libc::EPERM) => Kind::ReadOnly,
        Some(libc::EWOULDBLOCK) => Kind::Locked,
        // (ENOMEM from the kernel included: a failed sync is not retried.)
        Some(_) => Kind::Other,
        // std's own allocation failing inside a file operation (reading a
        // whole file, say): nothing was done, as with our own NoMem.
        None if err.kind() == io::ErrorKind::OutOfMemory => Kind::NoMem,
        _ if err.kind() == io::ErrorKind::WriteZero || err.kind() == io::ErrorKind::UnexpectedEof => Kind::Io,
        _ => Kind::Other,
    }
}

/// Helper to attach a path to an `io::Result`.
pub trait Context<T> {
    fn at(self, op: &str, path: &Path) -> Result<T>;
}

impl<T> Context<T> for io::Result<T> {
    fn at(self, op: &str, path: &Path) -> Result<T> {
        self.map_err(|e| Error::io(op, path, &e))
    }
}

/// Owned path helper for messages.
pub fn join(dir: &Path, name: &str) -> PathBuf {
    dir.join(name)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn system_errors_are_classified_by_errno() {
        assert_eq!(kind_of(&io::Error::from_raw_os_error(libc::EIO)), Kind::Io);
        assert_eq!(kind_of(&io::Error::from_raw_os_error(libc::ENOSPC)), Kind::NoSpace);
        assert_eq!(kind_of(&io::Error::from_raw_os_error(libc::EROFS)), Kind::ReadOnly);
        assert_eq!(kind_of(&io::Error::from_raw_os_error(libc::EINVAL)), Kind::Other);
        assert_eq!(kind_of(&io::Error::from_raw_os_error(libc::ENOMEM)), Kind::Other);
        assert_eq!(kind_of(&io::Error::from(io::ErrorKind::OutOfMemory)), Kind::NoMem);
    }

    #[test]
    fn messages_are_formatted_without_growing() {
        let s = try_format(format_args!("{} and {:05}", "a", 42));
        assert_eq!(s, "a and 00042");
        assert_eq!(s.capacity(), s.len());
        assert_eq!(try_format(format_args!("")), "");
    }

    #[test]
    fn a_corruption_message_names_file_and_offset() {
        let e = Error::corrupt(Path::new("/d/seg"), 42, "bad checksum");
        assert_eq!(e.to_string(), "/d/seg: offset 42: bad checksum");
        assert_eq!(e.kind, Kind::Corrupt);
    }
}
