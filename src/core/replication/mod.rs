//! Log replication, commit and apply (thesis §3.5, §3.6, §10.2.1).
//!
//! The leader pipelines appendentries: after a message is handed to the
//! host, the node's next index moves past its entries without waiting for
//! the answer. Responses carry the request's msg_id, so stale, duplicated and
//! reordered ones are recognised. A rejection carries the follower's last
//! index, so the leader backs off in one step rather than one entry at a time.

mod apply;
mod commit;
mod propose;
mod receive;
mod send;

#[cfg(test)]
mod tests;
#[cfg(test)]
mod commit_tests;

use super::{EntryId, Index, Result, Term};

/// What `raft_recv_entry` reports about an accepted entry.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct EntryResponse {
    pub id: EntryId,
    pub term: Term,
    pub idx: Index,
}

/// An entry the leader appended, and what making it durable at once (auto
/// flush) gave. The entry is in the log either way: a failed sync is the
/// disk's failure, reported so the program learns of it, not a refusal of
/// the entry (which may still commit on the followers' copies).
#[derive(Debug, PartialEq, Eq)]
pub struct Proposal {
    pub resp: EntryResponse,
    pub synced: Result<()>,
}
