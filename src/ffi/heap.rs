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

/// Heap hook: the allocator behind every block the library allocates
/// (entries from `raft_entry_new`, arrays it returns, and its own internal
/// memory). libc's `malloc` by default. Set it with `raft_set_heap_functions`.
#[no_mangle]
pub static mut raft_malloc: unsafe extern "C" fn(size: usize) -> *mut c_void = default_malloc;
/// Heap hook: zeroing allocator, libc's `calloc` by default.
#[no_mangle]
pub static mut raft_calloc: unsafe extern "C" fn(nmemb: usize, size: usize) -> *mut c_void = default_calloc;
/// Heap hook: reallocator, libc's `realloc` by default.
#[no_mangle]
pub static mut raft_realloc: unsafe extern "C" fn(ptr: *mut c_void, size: usize) -> *mut c_void = default_realloc;
/// Heap hook: frees what the other three hooks returned, libc's `free` by
/// default. Entries without a `free_func` and the arrays the library returns
/// to the application go back through it.
#[no_mangle]
pub static mut raft_free: unsafe extern "C" fn(ptr: *mut c_void) = default_free;

/// Replaces the heap hooks (`raft_malloc`, `raft_calloc`, `raft_realloc`,
/// `raft_free`). The four must work together: whatever one returns, the
/// `free` given here must accept. Call it once, from one thread, before any
/// server or entry exists: memory allocated with the old hooks would
/// otherwise be freed with the new ones.
///
/// The allocators may fail (return NULL) at any time: the library never
/// aborts for it. The call that needed the memory fails with
/// `RAFT_ERR_NOMEM` (NULL from functions returning a pointer, the wire
/// codec's `RAFT_WIRE_ERR_NOMEM`), leaves the server consistent and leaks
/// nothing; calls succeed again once memory is back.
/// @param _malloc allocator; NULL keeps the current one
/// @param _calloc zeroing allocator; NULL keeps the current one
/// @param _realloc reallocator; NULL keeps the current one
/// @param _free deallocator; NULL keeps the current one
#[no_mangle]
pub unsafe extern "C" fn raft_set_heap_functions(
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

/// Allocates `size` uninitialised bytes through the hooks.
pub(crate) fn malloc_bytes(size: usize) -> *mut c_void {
    // SAFETY: reading the hook is a copy of a function pointer that always
    // holds a valid allocator; calling it with any size is allowed.
    unsafe { raft_malloc(size) }
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

thread_local! {
    /// A block obtained fallibly by [`with_reserved`], handed to the next
    /// allocation of this thread that fits it, and its size.
    static RESERVED: std::cell::Cell<(*mut u8, usize)> = const { std::cell::Cell::new((std::ptr::null_mut(), 0)) };
}

/// Makes an allocation that Rust would do infallibly (`Rc::new`,
/// `Box::new`) fallible: obtains `size` bytes from the hooks first, then runs
/// `f`, whose first allocation of at most `size` bytes (and ordinary
/// alignment) gets that block instead of asking the hooks. `None`, with `f`
/// not run, when the block could not be had. `f` must make that one
/// allocation only; a block it does not use is freed.
pub(crate) fn with_reserved<R>(size: usize, f: impl FnOnce() -> R) -> Option<R> {
    struct Restore((*mut u8, usize));
    impl Drop for Restore {
        fn drop(&mut self) {
            let (unused, _) = RESERVED.with(|r| r.replace(self.0));
            // SAFETY: the block came from raft_malloc and nobody took it.
            unsafe { free_bytes(unused as *mut c_void) };
        }
    }
    let block = malloc_bytes(size.max(1)) as *mut u8;
    if block.is_null() {
        return None;
    }
    let _restore = Restore(RESERVED.with(|r| r.replace((block, size))));
    Some(f())
}

/// The reserved block, if there is one that fits `layout`.
#[inline(always)]
fn take_reserved(layout: std::alloc::Layout) -> Option<*mut u8> {
    RESERVED.with(|r| {
        let (block, size) = r.get();
        if block.is_null() || layout.size() > size || layout.align() > HOOK_ALIGN {
            return None;
        }
        r.set((std::ptr::null_mut(), 0));
        Some(block)
    })
}

/// `Box::new(value)`, or `None` when the memory is not there.
pub(crate) fn try_box<T>(value: T) -> Option<Box<T>> {
    with_reserved(std::mem::size_of::<T>(), || Box::new(value))
}

/// Routes every Rust allocation of the library (node lists, log arrays,
/// queues) through the heap hooks, so that an application's allocator sees
/// all the memory the library uses, not only entries.
///
/// The hooks give malloc's alignment (16 bytes on the platforms we build
/// for); a larger alignment is met by over-allocating and keeping the
/// original pointer just before the aligned block.
pub struct HookAllocator;

const HOOK_ALIGN: usize = 16;

// SAFETY: every block comes from the hooks and goes back to them: blocks of
// ordinary alignment directly, over-aligned ones through the header that
// records the hooks' own pointer.
unsafe impl std::alloc::GlobalAlloc for HookAllocator {
    unsafe fn alloc(&self, layout: std::alloc::Layout) -> *mut u8 {
        if let Some(block) = take_reserved(layout) {
            return block;
        }
        // SAFETY: reading a hook copies a valid function pointer.
        unsafe {
            if layout.align() <= HOOK_ALIGN {
                return raft_malloc(layout.size()) as *mut u8;
            }
            over_aligned(layout, false)
        }
    }

    unsafe fn alloc_zeroed(&self, layout: std::alloc::Layout) -> *mut u8 {
        if let Some(block) = take_reserved(layout) {
            // SAFETY: the block has room for layout.size() bytes.
            unsafe { std::ptr::write_bytes(block, 0, layout.size()) };
            return block;
        }
        // SAFETY: as alloc.
        unsafe {
            if layout.align() <= HOOK_ALIGN {
                return raft_calloc(1, layout.size()) as *mut u8;
            }
            over_aligned(layout, true)
        }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: std::alloc::Layout) {
        // SAFETY: ptr came from alloc/alloc_zeroed/realloc with this layout.
        unsafe {
            if layout.align() <= HOOK_ALIGN {
                raft_free(ptr as *mut c_void);
            } else {
                raft_free(*(ptr as *mut *mut c_void).sub(1));
            }
        }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: std::alloc::Layout, new_size: usize) -> *mut u8 {
        // SAFETY: ptr came from this allocator with `layout`.
        unsafe {
            if layout.align() <= HOOK_ALIGN {
                return raft_realloc(ptr as *mut c_void, new_size) as *mut u8;
            }
            let new_layout = std::alloc::Layout::from_size_align_unchecked(new_size, layout.align());
            let new = over_aligned(new_layout, false);
            if !new.is_null() {
                std::ptr::copy_nonoverlapping(ptr, new, layout.size().min(new_size));
                self.dealloc(ptr, layout);
            }
            new
        }
    }
}

/// # Safety
/// `layout.align()` is a power of two larger than `HOOK_ALIGN`.
unsafe fn over_aligned(layout: std::alloc::Layout, zeroed: bool) -> *mut u8 {
    let Some(total) = layout.size().checked_add(layout.align() + std::mem::size_of::<usize>()) else {
        return std::ptr::null_mut();
    };
    // SAFETY: the hooks are valid allocators; the header slot lies inside the
    // block, before the aligned pointer, which leaves room for `size` bytes.
    unsafe {
        let raw = if zeroed { raft_calloc(1, total) } else { raft_malloc(total) } as *mut u8;
        if raw.is_null() {
            return raw;
        }
        let start = raw as usize + std::mem::size_of::<usize>();
        let aligned = (start + layout.align() - 1) & !(layout.align() - 1);
        let p = aligned as *mut u8;
        *(p as *mut *mut c_void).sub(1) = raw as *mut c_void;
        p
    }
}

#[global_allocator]
static GLOBAL: HookAllocator = HookAllocator;
