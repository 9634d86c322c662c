//! The heap hooks: every allocation the library makes for C goes through
//! these exported variables, which default to libc's allocator.
//!
//! Like the seed library's, they are plain global variables: set them with
//! `raft_set_heap_functions` before creating servers or entries, from one
//! thread, and do not change them while any entry or server allocated
//! through the old ones is alive.
#![allow(non_upper_case_globals)]

use std::ffi::c_void;


unsafe extern "C" fn default_malloc(size: usize) -> *mut c_void {
    // SAFETY: libc's malloc accepts any size.
    unsafe { libc::malloc(size) }
}
unsafe extern "C" fn default_calloc(nmemb: usize, size: usize) -> *mut c_void {
    // SAFETY: libc's calloc accepts any sizes and checks their product.
    unsafe { libc::calloc(nmemb, size) }
}
unsafe extern "C" fn default_realloc(ptr: *mut c_void, size: usize) -> *mut c_void {
    // SAFETY: the caller passes a pointer from this allocator, as realloc requires.
    unsafe { libc::realloc(ptr, size) }
}
unsafe extern "C" fn default_free(ptr: *mut c_void) {
    // SAFETY: the caller passes a pointer from this allocator, as free requires.
    unsafe { libc::free(ptr) }
}

/// Allocator used for every entry and block the library hands to C.
#[no_mangle]
pub static mut raft_malloc: unsafe extern "C" fn(size: usize) -> *mut c_void = default_malloc;
/// Zeroing allocator counterpart of `raft_malloc`.
#[no_mangle]
pub static mut raft_calloc: unsafe extern "C" fn(nmemb: usize, size: usize) -> *mut c_void = default_calloc;
/// Reallocator counterpart of `raft_malloc`.
#[no_mangle]
pub static mut raft_realloc: unsafe extern "C" fn(ptr: *mut c_void, size: usize) -> *mut c_void = default_realloc;
/// Releases what `raft_malloc`, `raft_calloc` and `raft_realloc` returned.
#[no_mangle]
pub static mut raft_free: unsafe extern "C" fn(ptr: *mut c_void) = default_free;

/// Registers custom heap management functions. A NULL function leaves that
/// hook unchanged. Call it before creating any server or entry.
#[no_mangle]
pub extern "C" fn raft_set_heap_functions(
    _malloc: Option<unsafe extern "C" fn(size: usize) -> *mut c_void>,
    _calloc: Option<unsafe extern "C" fn(nmemb: usize, size: usize) -> *mut c_void>,
    _realloc: Option<unsafe extern "C" fn(ptr: *mut c_void, size: usize) -> *mut c_void>,
    _free: Option<unsafe extern "C" fn(ptr: *mut c_void)>,
) {
    // SAFETY: the hooks are process-wide variables that the contract lets the
    // application set; the documented rule is to do so from one thread before
    // the library allocates.
    unsafe {
        if let Some(f) = _malloc {
            raft_malloc = f;
        }
        if let Some(f) = _calloc {
            raft_calloc = f;
        }
        if let Some(f) = _realloc {
            raft_realloc = f;
        }
        if let Some(f) = _free {
            raft_free = f;
        }
    }
}

/// Allocates `size` zeroed bytes through the hooks.
pub(crate) fn calloc_bytes(size: usize) -> *mut c_void {
    // SAFETY: reading the hook is a copy of a function pointer that always
    // holds a valid allocator; calling it with (1, size) is always allowed.
    unsafe { raft_calloc(1, size) }
}

/// Frees a block from the hooks.
///
/// # Safety
/// `ptr` must come from `raft_malloc`/`raft_calloc`/`raft_realloc` (or be NULL).
pub(crate) unsafe fn free_bytes(ptr: *mut c_void) {
    if !ptr.is_null() {
        // SAFETY: the caller guarantees ptr came from the hooks.
        unsafe { raft_free(ptr) }
    }
}
