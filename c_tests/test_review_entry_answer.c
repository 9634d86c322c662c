/* raft_recv_entry's answer names the term the entry was appended in, and
 * raft_msg_entry_response_committed judges the entry by it. A callback run
 * while the entry is appended (here the built-in log's `log_offer`) may
 * re-enter and move the server to a newer term: the answer must still name
 * the entry's own term, or an entry of that newer term later written at
 * the same index (by its leader, replacing this one) passes for it, and
 * the client is told its entry committed when it was overwritten.
 * A configuration change asks `get_node_id` before it is appended; should
 * that end the leadership, the change is refused (not appended, in a term
 * this server does not lead). */
#include "raft.h"
#include "raft_compat.h"
#include "support/pair.h"
#include "test.h"

static struct {
    int step_down_in_offer, step_down_in_get_node_id;
    int nested_rc;
} s;

/* Node 2 leads term 2 (its heartbeat, after entry 1 of term 1). */
static void step_down(raft_server_t *r)
{
    raft_appendentries_req_t req = {
        .leader_id = 2, .msg_id = 1, .term = 2, .prev_log_idx = 1, .prev_log_term = 1,
        .leader_commit = 0, .n_entries = 0, .entries = NULL,
    };
    raft_appendentries_resp_t resp;
    s.nested_rc = raft_recv_appendentries(r, raft_get_node(r, 2), &req, &resp);
}

static int offer(raft_server_t *r, void *ud, raft_entry_t *e, raft_index_t idx)
{
    (void)ud; (void)e; (void)idx;
    if (s.step_down_in_offer) {
        s.step_down_in_offer = 0;
        step_down(r);
    }
    return 0;
}

static raft_node_id_t get_node_id(raft_server_t *r, void *ud, raft_entry_t *e, raft_index_t idx)
{
    (void)ud; (void)e; (void)idx;
    if (s.step_down_in_get_node_id) {
        s.step_down_in_get_node_id = 0;
        step_down(r);
    }
    return 3;
}

TEST(review_an_entry_answer_names_the_term_the_entry_was_appended_in)
{
    memset(&s, 0, sizeof(s));
    raft_server_t *r = pair_leader_new(NULL, NULL);
    ASSERT(r != NULL);
    raft_log_cbs_t lcbs;
    memset(&lcbs, 0, sizeof(lcbs));
    lcbs.log_offer = offer;
    raft_log_set_callbacks(raft_get_log(r), &lcbs, r);

    s.step_down_in_offer = 1;
    raft_entry_t *e = raft_entry_new(1);
    ASSERT(e != NULL);
    raft_entry_resp_t mine;
    raft_recv_entry(r, e, &mine);
    raft_entry_release(e);
    ASSERT_EQ(0, s.nested_rc);
    ASSERT(raft_is_follower(r));
    ASSERT_EQ(2, raft_get_current_term(r));
    ASSERT_EQ(2, raft_get_current_idx(r));
    raft_entry_t *held = raft_get_entry_from_idx(r, 2);
    ASSERT(held != NULL);
    raft_term_t appended_in = held->term;
    raft_entry_release(held);
    ASSERT_EQ(appended_in, mine.term);
    ASSERT_EQ(2, mine.idx);

    /* Node 2's entry 2 of term 2 replaces it, and commits. */
    raft_entry_t *theirs = raft_entry_new(1);
    ASSERT(theirs != NULL);
    theirs->term = 2;
    raft_entry_t *entries[1] = { theirs };
    raft_appendentries_req_t req = {
        .leader_id = 2, .msg_id = 2, .term = 2, .prev_log_idx = 1, .prev_log_term = 1,
        .leader_commit = 2, .n_entries = 1, .entries = entries,
    };
    raft_appendentries_resp_t resp;
    ASSERT_EQ(0, raft_recv_appendentries(r, raft_get_node(r, 2), &req, &resp));
    raft_entry_release(theirs);
    ASSERT(resp.success);
    ASSERT_EQ(2, raft_get_commit_idx(r));
    /* Not this client's entry: overwritten (0 would be pending, 1
     * committed). */
    ASSERT_EQ(-1, raft_msg_entry_response_committed(r, &mine));
    raft_destroy(r);
}

TEST(review_a_configuration_change_whose_get_node_id_ended_the_leadership_is_refused)
{
    memset(&s, 0, sizeof(s));
    raft_cbs_t cbs;
    memset(&cbs, 0, sizeof(cbs));
    cbs.get_node_id = get_node_id;
    raft_server_t *r = pair_leader_new(&cbs, NULL);
    ASSERT(r != NULL);
    s.step_down_in_get_node_id = 1;
    raft_entry_t *e = raft_entry_new(0);
    ASSERT(e != NULL);
    e->type = RAFT_LOGTYPE_ADD_NONVOTING_NODE;
    raft_entry_resp_t resp;
    ASSERT_EQ(RAFT_ERR_NOT_LEADER, raft_recv_entry(r, e, &resp));
    raft_entry_release(e);
    ASSERT_EQ(0, s.nested_rc);
    ASSERT(raft_is_follower(r));
    ASSERT_EQ(2, raft_get_current_term(r));
    ASSERT_EQ(1, raft_get_current_idx(r));
    ASSERT(raft_get_node(r, 3) == NULL);
    raft_destroy(r);
}

TEST_MAIN()
