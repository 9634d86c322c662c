//! The wire format: a versioned, length-prefixed binary encoding of every
//! Raft message (entries and snapshot chunks included), so that programs
//! sending messages between processes need not invent their own.
//! `docs/wire-format.md` describes the bytes; `src/ffi/wire.rs` exports it to
//! C as `raft_wire_*` (`include/raft_wire.h`).
//!
//! Every integer is big-endian. A frame is
//!
//! ```text
//! u32 length   bytes that follow this field (12 + body)
//! u8  version  WIRE_VERSION
//! u8  type     MsgType
//! u16 flags    0 (reserved)
//! i32 from     sender's node id
//! i32 to       receiver's node id
//! body         per type, see the encode/decode functions
//! ```
//!
//! Decoding borrows from the input: entry data and snapshot chunks are
//! slices of the frame, so the caller decides when (and whether) to copy.
//! Decoding never panics and never allocates more than the input justifies:
//! a count is checked against the bytes left before anything is reserved.

mod decode;
mod encode;
mod messages;
#[cfg(test)]
mod tests;

pub use decode::{decode, peek, Header};
pub use encode::encode;
pub use messages::*;
