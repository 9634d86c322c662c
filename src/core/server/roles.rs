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

    pub fn leader_node(&self) -> Option<Rc<Node<H::NodeData>>> {
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
        self.host.persist_metadata(term, NODE_ID_NONE)?;
        // `persist_metadata` may re-enter: a call that moved the term to
        // `term` or past it meanwhile (and persisted that) stands, vote
        // included. The term never moves back.
        if self.current_term.get() >= term {
            return Ok(());
        }
        // The term only grows (restoring from disk aside), within range.
        debug_assert!(term > self.current_term.get() && crate::core::valid_term(term));
        self.current_term.set(term);
        self.voted_for.set(NODE_ID_NONE);
        Ok(())
    }

    /// Records a vote in the current term; persisted first.
    pub fn vote_for(&self, id: NodeId) -> Result<()> {
        self.record_vote(id).map(|_| ())
    }

    /// `vote_for`, and whether the vote was recorded: `persist_metadata`
    /// may re-enter, and a call that moved the term or voted meanwhile
    /// stands (the vote asked for is not recorded: it was for a term gone,
    /// or would be a second one).
    pub(crate) fn record_vote(&self, id: NodeId) -> Result<bool> {
        debug_assert!(id >= NODE_ID_NONE, "vote for node id {id}");
        let (term, voted) = (self.current_term.get(), self.voted_for.get());
        self.host.persist_metadata(term, id)?;
        if self.current_term.get() != term || self.voted_for.get() != voted {
            return Ok(false);
        }
        self.voted_for.set(id);
        Ok(true)
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
