//! libraft: the Raft consensus algorithm with a C ABI.
//!
//! [`core`] is the protocol in safe Rust; [`ffi`] is the C boundary that
//! `include/raft.h` describes.

pub mod core;
pub mod ffi;
pub mod wire;
