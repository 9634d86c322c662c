//! Error codes and the calling thread's last error message.

use super::*;

// ------------------------------------------------------------------ errors

thread_local! {
    /// The last failure's message; `None` for none, or when there was no
    /// memory to copy it (then a static text stands in).
    pub(super) static LAST_ERROR: RefCell<Option<CString>> = const { RefCell::new(None) };
    /// Whether the last failure was for want of memory.
    pub(super) static LAST_NOMEM: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
}

/// `msg` as a C string (NULs as spaces), or `None` without the memory.
pub(super) fn c_copy(msg: &str) -> Option<CString> {
    let mut bytes: Vec<u8> = Vec::new();
    bytes.try_reserve_exact(msg.len() + 1).ok()?;
    bytes.extend(msg.bytes().map(|b| if b == 0 { b' ' } else { b }));
    // (no NUL inside; with room for the terminator, no allocation)
    CString::new(bytes).ok()
}

/// Records `msg` for `raft_store_last_error`, copied only if the memory is
/// there (else the last error reads "out of memory"): never aborts.
pub(super) fn set_last_error(msg: &str) {
    let c = c_copy(msg);
    LAST_NOMEM.with(|n| n.set(c.is_none()));
    let old = LAST_ERROR.with(|l| l.replace(c));
    drop(old);
}

/// Records that memory ran out, allocating nothing.
pub(super) fn set_last_nomem() {
    LAST_NOMEM.with(|n| n.set(true));
    let old = LAST_ERROR.with(|l| l.replace(None));
    drop(old);
}

pub(super) fn kind_code(kind: Kind) -> c_int {
    match kind {
        Kind::Io => RAFT_STORE_ERR_IO,
        Kind::NoSpace => RAFT_STORE_ERR_NOSPACE,
        Kind::ReadOnly => RAFT_STORE_ERR_READONLY,
        Kind::Corrupt => RAFT_STORE_ERR_CORRUPT,
        Kind::Invalid => RAFT_STORE_ERR_INVALID,
        Kind::Failed => RAFT_STORE_ERR_FAILED,
        Kind::Locked => RAFT_STORE_ERR_LOCKED,
        Kind::Other => RAFT_STORE_ERR_OTHER,
        Kind::NoMem => crate::ffi::types::raft_error_e::RAFT_ERR_NOMEM as c_int,
    }
}

/// Records the error's message for `raft_store_last_error` and returns its code.
pub(super) fn err_code(e: &Error) -> c_int {
    if e.kind == Kind::NoMem {
        set_last_nomem();
    } else {
        set_last_error(&e.msg);
    }
    kind_code(e.kind)
}

pub(super) fn rc(r: crate::store::Result<()>) -> c_int {
    match r {
        Ok(()) => 0,
        Err(e) => err_code(&e),
    }
}

pub(super) fn invalid(msg: &str) -> c_int {
    set_last_error(msg);
    RAFT_STORE_ERR_INVALID
}

