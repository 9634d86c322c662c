//! The leader sends appendentries: one message per call, pipelined, as
//! many as it takes for a node to catch up.

use std::rc::Rc;

use crate::core::server::MAX_ENTRIES_PER_MESSAGE;
use crate::core::{with_buffer, AppendEntries, Host, Index, Log, Node, RaftError, Result, Role, Server};

impl<H: Host> Server<H> {
    /// `raft_send_appendentries_all`: a message (heartbeat, or entries from
    /// each node's next index) to every other node in the configuration,
    /// then as many more as it takes to send every entry the node lacks
    /// (the host may limit each message, or pause with `backpressure`).
    pub fn send_appendentries_all(&self) -> Result<()> {
        self.timeout_elapsed.set(0);
        self.for_each_node(|node| {
            if !self.is_me(node) && node.is_active() {
                // A send that fails is a lost message; heartbeats retry.
                if self.send_appendentries(node).is_ok() {
                    self.replicate_to(node);
                }
            }
        });
        Ok(())
    }

    /// Sends everything new to every node, as many messages as needed.
    pub(crate) fn replicate_to_all(&self) {
        self.for_each_node(|node| {
            if !self.is_me(node) && node.is_active() {
                self.replicate_to(node);
            }
        });
    }

    /// Keeps sending while `node` lacks entries and the host accepts.
    pub(crate) fn replicate_to(&self, node: &Rc<Node<H::NodeData>>) {
        loop {
            let next = node.progress().next_idx();
            if next > self.current_idx() || node.progress().snapshot_idx() != 0 {
                return;
            }
            if self.send_appendentries(node).is_err() || node.progress().next_idx() <= next {
                return;
            }
        }
    }

    /// `raft_send_appendentries`: one appendentries message to `node`, or a
    /// snapshot when the entries it needs were compacted away.
    pub fn send_appendentries(&self, node: &Rc<Node<H::NodeData>>) -> Result<()> {
        if self.role.get() != Role::Leader {
            return Err(RaftError::NotLeader);
        }
        if self.is_me(node) {
            return Ok(());
        }
        if self.host.backpressure(node) {
            return Ok(());
        }
        // The callbacks (`backpressure` above, `get_entries_to_send` below)
        // may re-enter and end this leadership: nothing then goes out in its
        // name (a message of a newer term would claim a leadership never won).
        if self.role.get() != Role::Leader {
            return Err(RaftError::NotLeader);
        }
        let term = self.current_term.get();
        let current = self.current_idx();
        let next = node.progress().next_idx().min(current + 1);
        let prev = next - 1;
        let prev_term = match self.term_at(prev) {
            Some(term) if prev >= self.snapshot_last_idx.get() => term,
            _ => return self.send_snapshot(node),
        };

        let wanted = ((current - prev).max(0) as usize).min(MAX_ENTRIES_PER_MESSAGE);
        let msg_id = self.next_msg_id();
        node.progress().set_next_msg_id(msg_id);
        // By value: the message's fields travel in the closure itself
        // rather than as pointers to this frame's locals. A message the
        // host took moves the node's next index past its entries.
        let send = move |entries: &[H::Entry]| {
            if self.role.get() != Role::Leader || self.current_term.get() != term {
                return Err(RaftError::NotLeader);
            }
            let msg = AppendEntries {
                term,
                leader_id: self.my_id(),
                msg_id,
                prev_log_idx: prev,
                prev_log_term: prev_term,
                leader_commit: self.commit_idx.get(),
                entries,
            };
            self.host.send_appendentries(node, &msg)?;
            if !entries.is_empty() {
                node.progress().set_next_idx(next + entries.len() as Index);
            }
            Ok(())
        };
        if wanted == 0 {
            send(&[])
        } else if self.host.gives_entries_to_send() {
            self.send_entries_from_host(node, next, wanted, send)
        } else {
            self.log().with_entries(next, wanted, &self.send_buffer, send)
        }
    }

    /// `send` with the entries the host's `get_entries_to_send` picks, held
    /// in the reused send buffer.
    #[inline(never)]
    fn send_entries_from_host<R>(
        &self,
        node: &Rc<Node<H::NodeData>>,
        next: Index,
        wanted: usize,
        send: impl FnOnce(&[H::Entry]) -> R,
    ) -> R {
        with_buffer(&self.send_buffer, |held| match self.host.get_entries_to_send(node, next, wanted, held) {
            Some(n) => send(&held[..n.min(held.len())]),
            None => self.log().with_entries(next, wanted, &self.send_buffer, send),
        })
    }
}
