//! libraft: the Raft consensus algorithm with a C ABI.
//!
//! [`core`] is the protocol in safe Rust; [`ffi`] is the C boundary that
//! `include/raft.h` describes; [`store`] is the durable log and metadata
//! store that `include/raft_store.h` exposes.

pub mod core;
pub mod ffi;
pub mod store;
pub mod wire;
