/* A candidate's vote requests go out one callback at a time; a callback
 * that re-enters and ends the campaign (here: node 2's message of a newer
 * term makes the server a follower) stops the rest: a follower asking for
 * votes would draw them away from the real candidates. */
#include "raft.h"
#include "raft_compat.h"
#include "support/pair.h"
#include "test.h"

static struct {
    int requests, step_down, nested_rc;
} s;

static int cb_send_rv(raft_server_t *r, void *ud, raft_node_t *n, raft_requestvote_req_t *m)
{
    (void)ud; (void)n; (void)m;
    s.requests++;
    if (s.step_down) {
        s.step_down = 0;
        raft_appendentries_req_t req;
        memset(&req, 0, sizeof(req));
        req.term = raft_get_current_term(r) + 1;
        req.leader_id = 2;
        req.msg_id = 1;
        raft_appendentries_resp_t resp;
        s.nested_rc = raft_recv_appendentries(r, raft_get_node(r, 2), &req, &resp);
    }
    return 0;
}

static raft_server_t *three_node_follower(void)
{
    memset(&s, 0, sizeof(s));
    raft_cbs_t cbs;
    memset(&cbs, 0, sizeof(cbs));
    cbs.send_requestvote = cb_send_rv;
    raft_server_t *r = pair_follower_new(&cbs, NULL);
    ASSERT(r != NULL);
    ASSERT(raft_add_node(r, NULL, 3, 0) != NULL);
    return r;
}

TEST(vote_requests_stop_when_a_callback_ends_the_campaign)
{
    raft_server_t *r = three_node_follower();
    s.step_down = 1;
    ASSERT_EQ(0, raft_become_candidate(r));
    ASSERT_EQ(0, s.nested_rc);
    ASSERT(raft_is_follower(r));
    ASSERT_EQ(2, raft_get_current_term(r));
    ASSERT_EQ(1, s.requests);
    raft_destroy(r);
}

TEST(vote_requests_go_to_every_voter_otherwise)
{
    raft_server_t *r = three_node_follower();
    ASSERT_EQ(0, raft_become_candidate(r));
    ASSERT(raft_is_candidate(r));
    ASSERT_EQ(2, s.requests);
    raft_destroy(r);
}

TEST_MAIN()
