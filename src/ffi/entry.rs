//! Entries: one block (header and data) from the heap hooks, reference
//! counted with `refs`, freed through `free_func` if set, else `raft_free`.

use std::ffi::{c_int, c_uint, c_void};
use std::ptr::{self, addr_of, addr_of_mut, NonNull};

use super::heap;
use super::types::*;
use crate::core::{self, EntryHandle};

/// A held reference to a C entry: clone is `raft_entry_hold`, drop is
/// `raft_entry_release`. `repr(transparent)`, so a slice of these is an
/// array of `raft_entry_t *` as C sees it.
#[repr(transparent)]
#[derive(Debug)]
pub struct EntryPtr(NonNull<raft_entry_t>);

impl EntryPtr {
    /// Takes ownership of one reference the caller already holds.
    ///
    /// # Safety
    /// `ptr` must be a live entry on which the caller holds a reference.
    pub unsafe fn from_held(ptr: *mut raft_entry_t) -> Option<EntryPtr> {
        NonNull::new(ptr).map(EntryPtr)
    }

    /// Takes a new reference to a live entry.
    ///
    /// # Safety
    /// `ptr` must be NULL or a live entry.
    pub unsafe fn hold(ptr: *mut raft_entry_t) -> Option<EntryPtr> {
        let e = NonNull::new(ptr)?;
        // SAFETY: the caller guarantees the entry is live.
        unsafe { entry_hold(e.as_ptr()) };
        Some(EntryPtr(e))
    }

    pub fn as_ptr(&self) -> *mut raft_entry_t {
        self.0.as_ptr()
    }

    /// Gives up ownership without releasing.
    pub fn into_raw(self) -> *mut raft_entry_t {
        let p = self.0.as_ptr();
        std::mem::forget(self);
        p
    }

    /// Views a C array of entry pointers as held handles, without taking
    /// references. `None` if the array or any element is NULL.
    ///
    /// # Safety
    /// `entries` must point to `n` readable pointers to live entries that stay
    /// alive for `'a`.
    pub unsafe fn borrow_array<'a>(entries: *mut *mut raft_entry_t, n: usize) -> Option<&'a [EntryPtr]> {
        if n == 0 {
            return Some(&[]);
        }
        if entries.is_null() {
            return None;
        }
        // SAFETY: the caller guarantees n readable elements.
        let raw = unsafe { std::slice::from_raw_parts(entries as *const *mut raft_entry_t, n) };
        if raw.iter().any(|p| p.is_null()) {
            return None;
        }
        // SAFETY: EntryPtr is a transparent non-null pointer and every element
        // was just checked to be non-null; the slice is borrowed, so nothing
        // is released when it goes away.
        Some(unsafe { std::slice::from_raw_parts(entries as *const EntryPtr, n) })
    }
}

impl Clone for EntryPtr {
    fn clone(&self) -> Self {
        // SAFETY: self holds a reference, so the entry is live.
        unsafe { entry_hold(self.0.as_ptr()) };
        EntryPtr(self.0)
    }
}

impl Drop for EntryPtr {
    fn drop(&mut self) {
        // SAFETY: self holds a reference, which it gives back here.
        unsafe { entry_release(self.0.as_ptr()) }
    }
}

impl EntryHandle for EntryPtr {
    fn term(&self) -> core::Term {
        // SAFETY: the entry is live while held; fields are read through the
        // raw pointer because C may write them at any time between calls.
        unsafe { addr_of!((*self.0.as_ptr()).term).read() }
    }
    fn set_term(&self, term: core::Term) {
        // SAFETY: as above; the entry is live while held.
        unsafe { addr_of_mut!((*self.0.as_ptr()).term).write(term) }
    }
    fn id(&self) -> core::EntryId {
        // SAFETY: the entry is live while held.
        unsafe { addr_of!((*self.0.as_ptr()).id).read() }
    }
    fn entry_type(&self) -> i32 {
        // SAFETY: the entry is live while held.
        unsafe { addr_of!((*self.0.as_ptr()).type_).read() as i32 }
    }
}

/// # Safety
/// `e` must be a live entry.
unsafe fn entry_hold(e: *mut raft_entry_t) {
    // SAFETY: the caller guarantees e is live. A count at its maximum stays
    // there: the entry leaks rather than being freed while still in use.
    unsafe {
        let refs = addr_of_mut!((*e).refs);
        refs.write(refs.read().saturating_add(1));
    }
}

/// # Safety
/// `e` must be a live entry on which the caller holds a reference.
unsafe fn entry_release(e: *mut raft_entry_t) {
    // SAFETY: the caller holds a reference, so e is live until the count
    // reaches zero, when it is freed exactly once.
    unsafe {
        let refs = addr_of_mut!((*e).refs);
        let n = refs.read();
        // One compare for the common case, a count that stays above zero.
        if n.wrapping_sub(2) < u16::MAX - 2 {
            refs.write(n - 1);
            return;
        }
        if n == 1 {
            refs.write(0);
            free_entry(e);
        }
        // 0: already released (a caller's double release); u16::MAX:
        // saturated. Either way, never free twice.
    }
}

/// # Safety
/// `e` must be a live entry whose count just reached zero.
#[cold]
unsafe fn free_entry(e: *mut raft_entry_t) {
    // SAFETY: the caller gave back the last reference; e is freed once.
    unsafe {
        match addr_of!((*e).free_func).read() {
            Some(free_func) => free_func(e),
            None => heap::free_bytes(e as *mut c_void),
        }
    }
}

/// Entry blocks from this size on come zeroed from `raft_calloc`.
const CALLOC_FROM: usize = 4096;

/// What `raft_calloc` buys for a block of a page or more: an allocator that
/// knows the memory is fresh from the kernel (glibc's calloc does) skips
/// clearing it, so the pages the program never writes are never touched
/// (3n-16k-b64: page faults per entry 4.03 -> 3.83, CPU per entry 6% less,
/// as the original library, which callocs every entry). Below a page, malloc
/// and our own clearing cost fewer instructions.
fn big_entry_new(size: usize, data_len: c_uint) -> *mut raft_entry_t {
    let e = heap::calloc_bytes(size) as *mut raft_entry_t;
    if !e.is_null() {
        // SAFETY: e is a fresh zeroed block of `size` bytes, aligned for any
        // type; only the header fields that are not zero are set.
        unsafe {
            addr_of_mut!((*e).refs).write(1);
            addr_of_mut!((*e).data_len).write(data_len);
        }
    }
    e
}

/// Allocates a zero-filled entry with room for `data_len` bytes and one
/// reference. NULL when the allocator fails.
///
/// The block comes from `raft_malloc` and is zeroed here rather than by
/// `raft_calloc`: with glibc this costs fewer instructions (measured by
/// `make bench-profile`), and it is the one allocation made for every entry.
pub(crate) fn entry_new(data_len: c_uint) -> *mut raft_entry_t {
    let size = std::mem::size_of::<raft_entry_t>() + data_len as usize;
    if size >= CALLOC_FROM {
        return big_entry_new(size, data_len);
    }
    let e = heap::malloc_bytes(size) as *mut raft_entry_t;
    if e.is_null() {
        return ptr::null_mut();
    }
    // SAFETY: e is a fresh block of `size` bytes, aligned by the allocator
    // for any type: zeroed whole (padding too, so that a block copied out
    // verbatim carries no uninitialised bytes), then the header set.
    unsafe {
        // The header's size is a constant, so its zeroing is a few stores;
        // only the data goes through memset (fewer instructions in all than
        // one memset of the whole block, measured with `make bench-profile`).
        ptr::write_bytes(e as *mut u8, 0, std::mem::size_of::<raft_entry_t>());
        ptr::write_bytes((e as *mut u8).add(std::mem::size_of::<raft_entry_t>()), 0, data_len as usize);
        addr_of_mut!((*e).refs).write(1);
        addr_of_mut!((*e).data_len).write(data_len);
    }
    e
}

/// Allocates an entry: one block from `raft_malloc` holding the header and
/// `data_len` bytes of data, all zero, with `refs` = 1 and `data_len` set.
/// Fill in `type` (RAFT_LOGTYPE_NORMAL is 0), `id` and `data` yourself; the
/// library sets `term` when it appends the entry. May be called at any time,
/// from any thread that follows the heap-hook rule (set the hooks first).
/// @param data_len bytes of data (0 for an entry without data)
/// @return the entry, owned by the caller (one reference); NULL if the
/// allocation failed.
#[no_mangle]
pub extern "C" fn raft_entry_new(data_len: c_uint) -> *mut raft_entry_t {
    super::guard(ptr::null_mut(), || entry_new(data_len))
}

/// Takes one more reference to the entry. Do it for every entry you keep past
/// the callback or call that lent it to you (for example the entries of a
/// `send_appendentries` message queued for later delivery). The count
/// saturates at 65535: such an entry is never freed rather than freed early.
/// @param ety a live entry; NULL is ignored
#[no_mangle]
pub unsafe extern "C" fn raft_entry_hold(ety: *mut raft_entry_t) {
    if !ety.is_null() {
        // SAFETY: the caller passes a live entry (the C contract).
        unsafe { entry_hold(ety) }
    }
}

/// Gives one reference back. Releasing the last one frees the entry: through
/// its `free_func` if that is set (the function then owns the block), else
/// with `raft_free`. Every reference you obtained (`raft_entry_new`,
/// `raft_entry_hold`, `raft_get_entry_from_idx`, ...) is released exactly
/// once.
/// @param ety an entry you hold a reference on; NULL is ignored, and so is an
/// entry whose count is already 0 (a double release is not a double free)
#[no_mangle]
pub unsafe extern "C" fn raft_entry_release(ety: *mut raft_entry_t) {
    if !ety.is_null() {
        // SAFETY: the caller passes an entry it holds a reference on.
        unsafe { entry_release(ety) }
    }
}

/// Releases every entry of an array, as `raft_entry_release` does for each;
/// the array itself is not freed (an array from `raft_get_entries_from_idx`
/// goes to `raft_free` afterwards).
/// @param ety_list array of `len` entry pointers; NULL does nothing
/// @param len number of elements; NULL elements are skipped
#[no_mangle]
pub unsafe extern "C" fn raft_entry_release_list(ety_list: *mut *mut raft_entry_t, len: usize) {
    if ety_list.is_null() {
        return;
    }
    for i in 0..len {
        // SAFETY: the caller passes an array of len entry pointers it holds.
        unsafe { raft_entry_release(*ety_list.add(i)) }
    }
}

fn entry_type_of(ety: *mut raft_entry_t) -> Option<i32> {
    if ety.is_null() {
        return None;
    }
    // SAFETY: a non-NULL pointer from C is a live entry (the C contract).
    Some(unsafe { addr_of!((*ety).type_).read() } as i32)
}

/// Whether the entry changes membership: type RAFT_LOGTYPE_ADD_NONVOTING_NODE,
/// RAFT_LOGTYPE_ADD_NODE or RAFT_LOGTYPE_REMOVE_NODE.
/// @param ety an entry or NULL
/// @return 1 or 0; 0 for NULL.
#[no_mangle]
pub unsafe extern "C" fn raft_entry_is_cfg_change(ety: *mut raft_entry_t) -> c_int {
    entry_type_of(ety).is_some_and(core::is_cfg_change) as c_int
}

/// Whether the entry changes the set of voters: type RAFT_LOGTYPE_ADD_NODE or
/// RAFT_LOGTYPE_REMOVE_NODE. Only one such change may be uncommitted at a time.
/// @param ety an entry or NULL
/// @return 1 or 0; 0 for NULL.
#[no_mangle]
pub unsafe extern "C" fn raft_entry_is_voting_cfg_change(ety: *mut raft_entry_t) -> c_int {
    entry_type_of(ety).is_some_and(core::is_voting_cfg_change) as c_int
}
