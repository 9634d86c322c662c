//! Roles, the current term and the vote, with their persistence.

use std::rc::Rc;

use super::*;
use crate::core::{Host, Node, NodeId, RaftError, Result, Role, Term, NODE_ID_NONE};

impl<H: Host> Server<H> {
    pub fn role(&self) -> Role {
        self.role.get()
    }

    pub(crate) fn set_role(&self, role: Role) {
        let old = self.role.replace(role);
        if role == Role::Leader {
            self.leader_id.set(self.my_id());
        } else if old == Role::Leader {
            if self.leader_id.get() == self.my_id() {
                self.leader_id.set(NODE_ID_NONE);
            }
            self.fail_pending_reads();
        }
        if old != role {
            trace!(self, NODE_ID_NONE, "{} -> {} (term {})", old.name(), role.name(), self.current_term.get());
            self.host.notify_state_event(role);
        }
    }

    /// Becomes a follower; the term is unchanged.
    pub fn become_follower(&self) {
        self.set_role(Role::Follower);
        self.randomize_election_timeout();
        self.timeout_elapsed.set(0);
    }

    /// `raft_set_state`: the raw role change, for restoring and testing.
    pub fn set_state(&self, role: Role) {
        self.set_role(role);
    }

    pub fn is_leader(&self) -> bool {
        self.role.get() == Role::Leader
    }

    pub fn leader_id(&self) -> NodeId {
        self.leader_id.get()
    }

    pub fn leader_node(&self) -> Option<Rc<Node>> {
        self.node(self.leader_id.get())
    }

    // ----- terms and votes -----

    pub fn current_term(&self) -> Term {
        self.current_term.get()
    }

    pub fn voted_for(&self) -> NodeId {
        self.voted_for.get()
    }

    /// Moves to a later term, forgetting the vote; persisted first.
    /// An earlier or equal term is a no-op.
    pub fn set_current_term(&self, term: Term) -> Result<()> {
        if term <= self.current_term.get() {
            return Ok(());
        }
        if term > crate::core::TERM_MAX {
            return Err(RaftError::Misuse);
        }
        crate::core::check(self.host.persist_metadata(term, NODE_ID_NONE))?;
        self.current_term.set(term);
        self.voted_for.set(NODE_ID_NONE);
        Ok(())
    }

    /// Records a vote in the current term; persisted first.
    pub fn vote_for(&self, id: NodeId) -> Result<()> {
        crate::core::check(self.host.persist_metadata(self.current_term.get(), id))?;
        self.voted_for.set(id);
        Ok(())
    }

    /// Restores term and vote read back from disk; nothing is persisted.
    pub fn restore_metadata(&self, term: Term, vote: NodeId) -> Result<()> {
        if !crate::core::valid_term(term) || vote < NODE_ID_NONE {
            return Err(RaftError::Failed);
        }
        self.current_term.set(term);
        self.voted_for.set(vote);
        Ok(())
    }
}
