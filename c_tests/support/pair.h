/* The two-node setup many C tests start from: this server is node 1 of the
 * voting configuration {1, 2}, node 2 a peer the test plays by hand (it
 * calls the receive functions with node 2's answers); and the same with
 * three voters. */
#ifndef LIBRAFT_C_TESTS_PAIR_H
#define LIBRAFT_C_TESTS_PAIR_H

#include "raft.h"

/* A follower in term 0 with these callbacks (copied; NULL for none) and
 * user data; NULL if the server or a node could not be made. */
raft_server_t *pair_follower_new(const raft_cbs_t *cbs, void *udata);

/* The same with a third voter: this server is node 1 of {1, 2, 3}, nodes 2
 * and 3 peers the test plays by hand. */
raft_server_t *trio_follower_new(const raft_cbs_t *cbs, void *udata);

/* The same, then leader of term 1: its no-op is entry 1, sent to node 2
 * (with auto flush on, as raft_new leaves it) before this returns. NULL if
 * any step failed. */
raft_server_t *pair_leader_new(const raft_cbs_t *cbs, void *udata);

/* pair_leader_new, then auto flush off and the no-op flushed (sent to node
 * 2): entries proposed later go out on raft_flush. NULL if any step
 * failed. */
raft_server_t *pair_leader_manual_flush_new(const raft_cbs_t *cbs, void *udata);

/* Proposes one entry holding `text` (without its terminating NUL); the
 * raft_recv_entry code. The caller's reference is released either way. */
int propose_text(raft_server_t *r, const char *text);

#endif
