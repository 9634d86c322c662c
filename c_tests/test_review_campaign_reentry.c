/* A server starting a campaign tells the application
 * (`notify_state_event` with RAFT_STATE_PRECANDIDATE or
 * RAFT_STATE_CANDIDATE), which may re-enter and hand it a message of a newer
 * leader. The campaign is then over: no vote requests go out (they would
 * disrupt that leader), and the leader it now follows is not forgotten.
 *
 * Node 1 of {1, 2, 3} follows in term 1; node 2 leads term 2 (pre-vote) or
 * term 3 (the real campaign asks for term 2). */
#include "raft.h"
#include "raft_compat.h"
#include "test.h"
#include "support/pair.h"

static struct {
    raft_state_e nest_on;
    raft_term_t nested_term;
    int nested_rc;
    int vote_requests;
} s;

static void cb_state(raft_server_t *r, void *ud, raft_state_e state)
{
    (void)ud;
    if (s.nested_term != 0 && state == s.nest_on) {
        raft_term_t term = s.nested_term;
        s.nested_term = 0;
        raft_appendentries_req_t req = {
            .leader_id = 2, .msg_id = 1, .term = term, .prev_log_idx = 0, .prev_log_term = 0,
            .leader_commit = 0, .n_entries = 0, .entries = NULL,
        };
        raft_appendentries_resp_t resp;
        s.nested_rc = raft_recv_appendentries(r, raft_get_node(r, 2), &req, &resp);
    }
}

static int cb_send_rv(raft_server_t *r, void *ud, raft_node_t *n, raft_requestvote_req_t *m)
{
    (void)r; (void)ud; (void)n; (void)m;
    s.vote_requests++;
    return 0;
}

static raft_server_t *follower(raft_state_e nest_on, raft_term_t nested_term)
{
    memset(&s, 0, sizeof(s));
    raft_cbs_t cbs;
    memset(&cbs, 0, sizeof(cbs));
    cbs.notify_state_event = cb_state;
    cbs.send_requestvote = cb_send_rv;
    raft_server_t *r = trio_follower_new(&cbs, NULL);
    ASSERT(r != NULL);
    ASSERT_EQ(0, raft_set_current_term(r, 1));
    s.nest_on = nest_on;
    s.nested_term = nested_term;
    return r;
}

static void check_following_2_in(raft_server_t *r, raft_term_t term)
{
    ASSERT_EQ(0, s.nested_rc);
    ASSERT(raft_is_follower(r));
    ASSERT_EQ(term, raft_get_current_term(r));
    ASSERT_EQ(2, raft_get_leader_id(r));
    ASSERT_EQ(0, s.vote_requests);
}

TEST(review_a_pre_vote_ended_by_notify_state_event_asks_for_nothing)
{
    raft_server_t *r = follower(RAFT_STATE_PRECANDIDATE, 2);
    ASSERT_EQ(0, raft_become_precandidate(r));
    check_following_2_in(r, 2);
    raft_destroy(r);
}

TEST(review_a_campaign_ended_by_notify_state_event_asks_for_nothing)
{
    raft_server_t *r = follower(RAFT_STATE_CANDIDATE, 3);
    ASSERT_EQ(0, raft_become_candidate(r));
    check_following_2_in(r, 3);
    raft_destroy(r);
}

TEST_MAIN()
