//! The Raft protocol as safe Rust.
//!
//! The core knows nothing of C. It reaches the outside world only through the
//! [`Host`] trait (messages, persistence, the state machine, the clock) and the
//! [`Log`] trait (entry storage), and handles entries only through
//! [`EntryHandle`], a reference-counted handle whose clone is a "hold" and
//! whose drop is a "release".
//!
//! Every entry point takes `&Server`: state lives in `Cell`s and `RefCell`s,
//! and no borrow is held while a host callback runs, so a callback may call
//! back into the same server (see DESIGN.md, "Re-entrancy").
//!
//! # Where things live
//!
//! One rule of the protocol, one module:
//!
//! | module | rule |
//! |---|---|
//! | `server/mod.rs` | the server's state (every field, what it means) |
//! | `server/config.rs` | the configuration; when applying may run (snapshots, disabled apply) |
//! | `server/time.rs` | the clock: election timeout, heartbeats, check-quorum, transfer timeout |
//! | `server/roles.rs` | role changes; the current term and the vote, persisted before use |
//! | `server/indexes.rs` | commit, applied and log indexes as the rest of the core sees them; msg_ids |
//! | `server/restore.rs` | restart (restoring the log and metadata), truncation, durability marks |
//! | [`election`] | pre-vote, requestvote, granting a vote, becoming leader (thesis §3.4, §9.6) |
//! | [`quorum`] | what a majority is; the value a majority has reached |
//! | [`progress`] | the leader's record of each follower (next and match index, answers, snapshot sent) and its invariants |
//! | `replication/propose.rs` | the leader taking a client's entry |
//! | `replication/send.rs` | the leader sending appendentries (pipelined) |
//! | `replication/receive.rs` | the follower's log-matching check, truncation and append |
//! | `replication/commit.rs` | the leader's side of answers: progress, back-off, commit (§3.6.2); `entry_response_committed` |
//! | `replication/apply.rs` | applying committed entries in order, within a time budget |
//! | `membership.rs` | the node list and single-server configuration changes (§4.1) |
//! | `snapshot.rs` | taking, sending, receiving and loading snapshots (§5.1) |
//! | `transfer.rs` | leadership transfer and timeoutnow (§3.10) |
//! | `reads.rs` | linearizable reads without a log entry (ReadIndex, §6.4) |
//! | `node.rs` | a member of the cluster as one server sees it: identity, membership flags, vote, the host's value |
//! | `log.rs` | the built-in in-memory log ([`MemoryLog`]) |
//! | `types.rs` | the vocabulary: ids, terms and indexes and their ranges, entry types, [`Role`], events, [`RaftError`] |
//! | `messages.rs` | the messages and answers: requestvote, appendentries, snapshots, [`Vote`], [`EntryState`], [`ChunkReply`] |
//! | `entries.rs` | entries and their storage: the [`EntryHandle`] and [`Log`] traits, lending a log's entries |
//! | `host.rs` | the [`Host`] trait: what the protocol needs from its environment |
//!
//! Invariants stated in these modules are checked with `debug_assert!`
//! (run by `cargo test --no-default-features --lib`, a debug build): the
//! commit index only advances and stays within the log, entries apply in
//! order and only once committed, the term only grows, one vote per term,
//! and the progress record's `match < next <= last index + 1`.
//!
//! The C side (`src/ffi`, the `capi` feature) maps onto this: `server/` the
//! lifecycle and entry points, `host.rs` the callbacks as a [`Host`],
//! `log_impl/` the built-in log as `raft_log_t`, its observers, the
//! `raft_log_impl_t` vtable and compat exports, `node.rs` the node
//! accessors and user data, `mod.rs` the error codes and the rule for
//! `unsafe` exports.
#![deny(unsafe_code)]

pub mod alloc;
pub mod election;
mod log;
mod membership;
mod node;
pub mod progress;
pub mod quorum;
mod reads;
pub mod replication;
mod server;
mod snapshot;
mod transfer;

pub use self::log::MemoryLog;
pub use self::node::{note_outside_edit, Node};
pub use self::server::{Config, Server};

mod entries;
mod host;
mod messages;
mod types;

pub use self::entries::*;
pub use self::host::*;
pub use self::messages::*;
pub use self::types::*;
