//! What the store needs from the system that std only does with
//! allocations it cannot fail: starting the sync thread, listing the
//! store's directory, and passing long paths to the system. With the C layer every Rust allocation goes to the
//! program's heap hooks, which may return NULL; std's `thread::spawn`
//! (the thread's name, its handle, the boxed closure, the result packet)
//! and `fs::read_dir` (a copy of the path, one string per entry) would then
//! abort the process. These do the same through libc, with their one block
//! of ours obtained fallibly: out of memory is an `io::ErrorKind::OutOfMemory`
//! error, which the store reports as `Kind::NoMem`.
//!
//! A plain Rust build (no C layer, no hooks) uses std for both.

use std::ffi::c_void;
use std::io;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::Path;
use std::ptr;

use crate::ffi::heap::try_box;

/// Stack of the threads `spawn` starts (the sync thread only writes and
/// syncs files; std gives its threads 2 MiB).
const STACK: usize = 1 << 20;

fn nomem() -> io::Error {
    // (an error of a kind only: allocates nothing)
    io::Error::from(io::ErrorKind::OutOfMemory)
}

/// A thread started by [`spawn`]; dropping it waits for the thread to end.
pub(crate) struct Thread {
    tid: libc::pthread_t,
}

impl Drop for Thread {
    fn drop(&mut self) {
        // SAFETY: tid is a thread pthread_create started and nobody joined
        // or detached yet (this handle is its only owner, dropped once).
        unsafe { libc::pthread_join(self.tid, ptr::null_mut()) };
    }
}

/// The thread's entry point: runs the closure `spawn` handed over. A panic
/// ends the thread, never the process (it does not cross `extern "C"`).
extern "C" fn start<F: FnOnce() + Send + 'static>(arg: *mut c_void) -> *mut c_void {
    // SAFETY: arg is the Box<F> that spawn leaked for this thread alone,
    // taken back here exactly once.
    let f = unsafe { Box::from_raw(arg as *mut F) };
    let _ = catch_unwind(AssertUnwindSafe(f));
    ptr::null_mut()
}

/// Starts a thread named `name` running `f`. The closure's block is the one
/// allocation, obtained from the heap hooks fallibly (`OutOfMemory`
/// without it); pthread_create's own failure (EAGAIN: too many threads or
/// no memory for a stack, which the system maps, not the hooks) comes back
/// as that system error. `f` is dropped unrun on failure.
pub(crate) fn spawn<F: FnOnce() + Send + 'static>(name: &std::ffi::CStr, f: F) -> io::Result<Thread> {
    let Some(boxed) = try_box(f) else { return Err(nomem()) };
    let arg = Box::into_raw(boxed) as *mut c_void;
    // SAFETY: attr and tid are written by the calls that initialise them
    // before they are read; `start::<F>` takes back `arg` (a Box<F>) once,
    // and when pthread_create fails no thread exists to do so, so it is
    // taken back here; attr is destroyed once, after its last use.
    unsafe {
        let mut attr: libc::pthread_attr_t = std::mem::zeroed();
        if libc::pthread_attr_init(&mut attr) != 0 {
            drop(Box::from_raw(arg as *mut F));
            return Err(io::Error::from_raw_os_error(libc::ENOMEM));
        }
        libc::pthread_attr_setstacksize(&mut attr, STACK.max(libc::PTHREAD_STACK_MIN));
        let mut tid: libc::pthread_t = 0;
        let rc = libc::pthread_create(&mut tid, &attr, start::<F>, arg);
        libc::pthread_attr_destroy(&mut attr);
        if rc != 0 {
            drop(Box::from_raw(arg as *mut F));
            return Err(io::Error::from_raw_os_error(rc));
        }
        // (a name shows in ps and gdb; failing to set it changes nothing)
        libc::pthread_setname_np(tid, name.as_ptr());
        Ok(Thread { tid })
    }
}

/// std copies a path it passes to the system into a stack buffer when the
/// path is shorter than this, else into a heap block it cannot do without
/// (an aborting allocation).
pub(crate) const STD_STACK_PATH: usize = 384;

/// `p` as a NUL-terminated C string in a block obtained fallibly.
fn c_path(p: &Path) -> io::Result<Vec<u8>> {
    use std::os::unix::ffi::OsStrExt;
    let bytes = p.as_os_str().as_bytes();
    if bytes.contains(&0) {
        return Err(io::Error::from_raw_os_error(libc::EINVAL));
    }
    let mut c = Vec::new();
    if c.try_reserve_exact(bytes.len() + 1).is_err() {
        return Err(nomem());
    }
    c.extend_from_slice(bytes);
    c.push(0);
    Ok(c)
}

/// Runs `f`, a std file call that passes `path` (and no other path) to the
/// system. For a long path, the heap block std copies it into is obtained
/// from the hooks first (`OutOfMemory` without it, `f` not run) and is
/// what that copy gets (`heap::with_reserved`); a short one needs none.
pub(crate) fn on_path<R>(path: &Path, f: impl FnOnce() -> io::Result<R>) -> io::Result<R> {
    let n = path.as_os_str().len();
    if n < STD_STACK_PATH {
        return f();
    }
    crate::ffi::heap::with_reserved(n + 1, f).unwrap_or_else(|| Err(nomem()))
}

/// `std::fs::rename`, which copies two paths: for long ones, through libc
/// with copies made fallibly.
pub(crate) fn rename(from: &Path, to: &Path) -> io::Result<()> {
    if from.as_os_str().len() < STD_STACK_PATH && to.as_os_str().len() < STD_STACK_PATH {
        return std::fs::rename(from, to);
    }
    let (a, b) = (c_path(from)?, c_path(to)?);
    // SAFETY: both are NUL-terminated strings that live across the call.
    if unsafe { libc::rename(a.as_ptr() as *const libc::c_char, b.as_ptr() as *const libc::c_char) } != 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(())
}

/// Calls `f` with the name of every entry of directory `dir` but "." and
/// "..", in the order the system gives them; stops early when `f` returns
/// false. The only block of ours is the path's C copy, obtained fallibly
/// (`OutOfMemory` without it); the directory stream is the C library's.
pub(crate) fn list_dir(dir: &Path, mut f: impl FnMut(&[u8]) -> bool) -> io::Result<()> {
    let c = c_path(dir)?;
    // SAFETY: c is NUL-terminated with no NUL inside; the stream opendir
    // returns is read while open and closed once; each name readdir returns
    // is a NUL-terminated string valid until the next readdir, and is
    // copied out of (as a slice passed to f) before that.
    unsafe {
        let d = libc::opendir(c.as_ptr() as *const libc::c_char);
        if d.is_null() {
            return Err(io::Error::last_os_error());
        }
        let result = loop {
            *libc::__errno_location() = 0;
            let ent = libc::readdir(d);
            if ent.is_null() {
                let errno = *libc::__errno_location();
                break if errno == 0 { Ok(()) } else { Err(io::Error::from_raw_os_error(errno)) };
            }
            let name = std::ffi::CStr::from_ptr((*ent).d_name.as_ptr()).to_bytes();
            if name == b"." || name == b".." {
                continue;
            }
            if !f(name) {
                break Ok(());
            }
        };
        libc::closedir(d);
        result
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicBool, Ordering};
    use std::sync::Arc;

    #[test]
    fn a_spawned_thread_runs_and_is_joined_on_drop() {
        let ran = Arc::new(AtomicBool::new(false));
        let r = ran.clone();
        let t = spawn(c"raft-test", move || r.store(true, Ordering::SeqCst)).unwrap();
        drop(t);
        assert!(ran.load(Ordering::SeqCst));
    }

    #[test]
    fn a_panic_ends_only_its_thread() {
        drop(spawn(c"raft-test", || panic!("in the thread")).unwrap());
    }

    #[test]
    fn a_listing_names_every_entry_once() {
        let d = std::env::temp_dir().join(format!("raft-sys-list-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&d);
        std::fs::create_dir(&d).unwrap();
        for n in ["a", "bb", "ccc"] {
            std::fs::write(d.join(n), b"x").unwrap();
        }
        let mut got = Vec::new();
        list_dir(&d, |n| {
            got.push(String::from_utf8(n.to_vec()).unwrap());
            true
        })
        .unwrap();
        got.sort();
        assert_eq!(got, ["a", "bb", "ccc"]);
        let mut seen = 0;
        list_dir(&d, |_| {
            seen += 1;
            false
        })
        .unwrap();
        assert_eq!(seen, 1, "stops when told");
        assert_eq!(list_dir(&d.join("missing"), |_| true).unwrap_err().raw_os_error(), Some(libc::ENOENT));
        std::fs::remove_dir_all(&d).unwrap();
    }
}
