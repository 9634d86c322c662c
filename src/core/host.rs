//! The [`Host`] trait: everything the protocol needs from its environment.

use std::rc::Rc;

use super::*;

/// Everything the protocol needs from its environment. An operation that
/// can fail returns a [`Result`]: the core stops, or goes on, as the
/// protocol says, and passes the error back to its caller unchanged.
pub trait Host {
    type Entry: EntryHandle;
    type Log: Log<Self::Entry>;
    /// What the host needs to answer a read request later.
    type ReadCallback: Copy;
    /// The application's value for each node (`Node::data`); a node the
    /// core creates from a configuration entry starts with the default.
    type NodeData: Copy + Default;
    /// The host's handle to a snapshot chunk's bytes ([`Chunk`]).
    type ChunkData: Copy + Default;

    fn log(&self) -> &Self::Log;

    /// Hands a message to the network. A failure is a lost message (the
    /// protocol retries), also reported to the caller where it asked for
    /// the send itself.
    fn send_requestvote(&self, to: &Rc<Node<Self::NodeData>>, msg: &RequestVote) -> Result<()>;
    fn send_appendentries(&self, to: &Rc<Node<Self::NodeData>>, msg: &AppendEntries<'_, Self::Entry>) -> Result<()>;
    fn send_snapshot(&self, to: &Rc<Node<Self::NodeData>>, msg: &SnapshotRequest<Self::ChunkData>) -> Result<()>;
    fn send_timeoutnow(&self, to: &Rc<Node<Self::NodeData>>) -> Result<()>;
    /// Fills `chunk` with the snapshot's bytes from `offset` for `to`.
    fn get_snapshot_chunk(
        &self,
        to: &Rc<Node<Self::NodeData>>,
        offset: u64,
        chunk: &mut Chunk<Self::ChunkData>,
    ) -> Result<ChunkReply>;
    fn store_snapshot_chunk(&self, snapshot_index: Index, offset: u64, chunk: &Chunk<Self::ChunkData>) -> Result<()>;
    fn clear_snapshot(&self) -> Result<()>;
    fn load_snapshot(&self, term: Term, index: Index) -> Result<()>;
    fn applylog(&self, entry: &Self::Entry, idx: Index) -> Result<()>;
    /// `applylog` with what it needs fetched once, for a run of entries;
    /// good until the server's `host_changed`.
    fn applier(&self) -> impl Fn(&Self::Entry, Index) -> Result<()> + '_ {
        move |entry, idx| self.applylog(entry, idx)
    }
    /// Makes the term and vote durable; they are used only once it has.
    fn persist_metadata(&self, term: Term, vote: NodeId) -> Result<()>;
    /// `None` when the host cannot tell which node a config entry names.
    fn get_node_id(&self, entry: &Self::Entry, idx: Index) -> Option<NodeId>;
    /// Tells the host that a non-voting `node` has caught up. True when
    /// the host took note: the node is then not reported again.
    fn node_has_sufficient_logs(&self, node: &Rc<Node<Self::NodeData>>) -> bool;
    fn notify_membership_event(
        &self,
        node: &Rc<Node<Self::NodeData>>,
        entry: Option<&Self::Entry>,
        event: MembershipEvent,
    );
    fn notify_state_event(&self, role: Role);
    fn notify_transfer_event(&self, result: TransferResult);
    /// True when a `log` callback exists (formatting is skipped otherwise).
    fn has_logger(&self) -> bool;
    fn log_message(&self, node: NodeId, message: &str);
    /// True when the host wants no appendentries sent to `node` now.
    fn backpressure(&self, node: &Rc<Node<Self::NodeData>>) -> bool;
    /// Whether the host chooses the entries to send (`get_entries_to_send`).
    fn gives_entries_to_send(&self) -> bool;
    /// `None` when there is no such callback: the core reads the log itself.
    fn get_entries_to_send(&self, node: &Rc<Node<Self::NodeData>>, idx: Index, max: usize, out: &mut Vec<Self::Entry>)
        -> Option<usize>;
    /// Monotonic time in microseconds.
    fn now_us(&self) -> i64;
    /// A random number for the election timeout.
    fn random(&self) -> u32;
    /// Answers a read request.
    fn read_done(&self, cb: Self::ReadCallback, can_read: bool);
    /// Makes a new entry of `entry_type` with no data (the leader's no-op).
    fn new_entry(&self, entry_type: i32) -> Option<Self::Entry>;
    /// Obtains a block of `bytes` fallibly, then runs `make`, whose one
    /// allocation (of at most `bytes`) gets that block: `Rc::new` made
    /// fallible (see [`alloc::try_rc`]). False, with `make` not run, when
    /// the memory is not there. The default just runs `make`.
    fn reserved(&self, bytes: usize, make: &mut dyn FnMut()) -> bool {
        let _ = bytes;
        make();
        true
    }
}
