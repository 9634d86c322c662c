//! libraft: the Raft consensus algorithm with a C ABI.
//!
//! [`core`] is the protocol in safe Rust; `ffi` (the `capi` feature, on by
//! default) is the C boundary that `include/raft.h` describes; [`store`] is
//! the durable log and metadata store that `include/raft_store.h` exposes.
//! Built without default features, the crate is a plain Rust library: no
//! C exports and no global allocator.

pub mod core;
#[cfg(feature = "capi")]
pub mod ffi;
pub mod store;
pub mod wire;
