/* A server becoming leader tells the application (`notify_state_event`),
 * which may re-enter: propose at once, or hear of a newer term.
 *
 * Proposing: what the leader then counts
 * must be this leadership's: a follower's match index kept from an earlier
 * leadership of the same server says nothing of the log that follower has
 * now, and an entry must not commit on it.
 *
 * Node 1 of {1, 2, 3} leads term 1 with auto flush off; node 2 acknowledges
 * entries 2 and 3 (match index 3), which node 1 has not yet flushed, so
 * nothing past the no-op commits. Node 3 then leads term 2 and replaces
 * entries 2 and 3 on node 1 with its own entry 2. Node 1 leads term 3 (auto
 * flush on again) and proposes from its `notify_state_event`: its entry 3
 * of term 3 is held by node 1 alone, whatever node 2's old match index says
 * (node 2 holds term 1's entry 3, not this one). */
#include "raft.h"
#include "raft_compat.h"
#include "support/pair.h"
#include "test.h"

static struct {
    int step_down_on_leader;
    int step_down_rc;
    int sends;
    int propose_on_leader;
    int propose_rc;
    raft_index_t commit_after_propose;
    raft_msg_id_t last_msg_to_2;
} s;

/* Node 2's empty appendentries of term `term`, after entry `prev`. */
static int heartbeat_from_2(raft_server_t *r, raft_term_t term, raft_index_t prev, raft_term_t prev_term)
{
    raft_appendentries_req_t req = {
        .leader_id = 2, .msg_id = 1, .term = term, .prev_log_idx = prev, .prev_log_term = prev_term,
        .leader_commit = 0, .n_entries = 0, .entries = NULL,
    };
    raft_appendentries_resp_t resp;
    return raft_recv_appendentries(r, raft_get_node(r, 2), &req, &resp);
}

static void cb_state(raft_server_t *r, void *ud, raft_state_e state)
{
    (void)ud;
    if (state == RAFT_STATE_LEADER && s.step_down_on_leader) {
        s.step_down_on_leader = 0;
        s.step_down_rc = heartbeat_from_2(r, raft_get_current_term(r) + 1, raft_get_current_idx(r),
                                          raft_get_last_log_term(r));
    }
    if (state == RAFT_STATE_LEADER && s.propose_on_leader) {
        s.propose_on_leader = 0;
        s.propose_rc = propose_text(r, "y");
        s.commit_after_propose = raft_get_commit_idx(r);
    }
}

static int cb_send_ae(raft_server_t *r, void *ud, raft_node_t *n, raft_appendentries_req_t *m)
{
    (void)r; (void)ud;
    s.sends++;
    if (raft_node_get_id(n) == 2)
        s.last_msg_to_2 = m->msg_id;
    return 0;
}

static void answer_from_2(raft_server_t *r, raft_index_t current_idx)
{
    raft_appendentries_resp_t resp = {
        .msg_id = s.last_msg_to_2, .term = raft_get_current_term(r), .success = 1, .current_idx = current_idx,
    };
    ASSERT_EQ(0, raft_recv_appendentries_response(r, raft_get_node(r, 2), &resp));
}

TEST(review_a_proposal_from_notify_state_event_does_not_count_an_old_leaderships_match)
{
    memset(&s, 0, sizeof(s));
    raft_cbs_t cbs;
    memset(&cbs, 0, sizeof(cbs));
    cbs.send_appendentries = cb_send_ae;
    cbs.notify_state_event = cb_state;
    raft_server_t *r = trio_follower_new(&cbs, NULL);
    ASSERT(r != NULL);

    /* Term 1: the no-op (entry 1) commits with node 2. */
    ASSERT_EQ(0, raft_set_current_term(r, 1));
    ASSERT_EQ(0, raft_become_leader(r));
    answer_from_2(r, 1);
    ASSERT_EQ(1, raft_get_commit_idx(r));
    /* Entries 2 and 3, sent but not flushed here; node 2 holds them. */
    ASSERT_EQ(0, raft_config(r, 1, RAFT_CONFIG_AUTO_FLUSH, 0));
    ASSERT_EQ(0, propose_text(r, "a"));
    ASSERT_EQ(0, propose_text(r, "b"));
    ASSERT_EQ(0, raft_flush(r, 0));
    answer_from_2(r, 3);
    ASSERT_EQ(3, raft_node_get_match_idx(raft_get_node(r, 2)));
    ASSERT_EQ(1, raft_get_commit_idx(r));

    /* Term 2: node 3 leads and replaces entries 2 and 3 with its entry 2. */
    raft_entry_t *e = raft_entry_new(1);
    ASSERT(e != NULL);
    e->term = 2;
    e->type = RAFT_LOGTYPE_NORMAL;
    raft_entry_t *entries[1] = { e };
    raft_appendentries_req_t req = {
        .leader_id = 3, .msg_id = 1, .term = 2, .prev_log_idx = 1, .prev_log_term = 1,
        .leader_commit = 1, .n_entries = 1, .entries = entries,
    };
    raft_appendentries_resp_t resp;
    ASSERT_EQ(0, raft_recv_appendentries(r, raft_get_node(r, 3), &req, &resp));
    raft_entry_release(e);
    ASSERT(resp.success);
    ASSERT(raft_is_follower(r));
    ASSERT_EQ(2, raft_get_current_idx(r));

    /* Term 3: node 1 leads again and proposes as it is told. */
    ASSERT_EQ(0, raft_config(r, 1, RAFT_CONFIG_AUTO_FLUSH, 1));
    ASSERT_EQ(0, raft_set_current_term(r, 3));
    s.propose_on_leader = 1;
    ASSERT_EQ(0, raft_become_leader(r));
    ASSERT_EQ(0, s.propose_rc);
    ASSERT_EQ(4, raft_get_current_idx(r));     /* the proposal at 3, the no-op at 4 */
    /* Held by node 1 alone: nothing past entry 1 is committed. */
    ASSERT_EQ(1, s.commit_after_propose);
    ASSERT_EQ(1, raft_get_commit_idx(r));
    /* Node 2 takes this leadership's entries: now they commit. */
    ASSERT_EQ(0, raft_send_appendentries(r, raft_get_node(r, 2)));
    answer_from_2(r, 4);
    ASSERT_EQ(4, raft_get_commit_idx(r));
    raft_destroy(r);
}

/* Hearing of a newer term: the server follows node 2 in term 2 before
 * its own leadership of term 1 has appended anything. It must not go on to
 * append a no-op of the term it now follows (an entry node 2, the leader
 * of that term, never made: two different entries could then carry the
 * same index and term) nor send anything. */
TEST(review_a_leadership_ended_by_notify_state_event_appends_and_sends_nothing)
{
    memset(&s, 0, sizeof(s));
    raft_cbs_t cbs;
    memset(&cbs, 0, sizeof(cbs));
    cbs.send_appendentries = cb_send_ae;
    cbs.notify_state_event = cb_state;
    raft_server_t *r = pair_follower_new(&cbs, NULL);
    ASSERT(r != NULL);
    ASSERT_EQ(0, raft_set_current_term(r, 1));
    s.step_down_on_leader = 1;
    raft_become_leader(r);
    ASSERT_EQ(0, s.step_down_rc);
    ASSERT(raft_is_follower(r));
    ASSERT_EQ(2, raft_get_current_term(r));
    ASSERT_EQ(2, raft_get_leader_id(r));
    ASSERT_EQ(0, raft_get_current_idx(r));
    ASSERT_EQ(0, s.sends);
    /* Node 2's first entry goes in as index 1. */
    raft_entry_t *e = raft_entry_new(1);
    ASSERT(e != NULL);
    e->term = 2;
    e->type = RAFT_LOGTYPE_NORMAL;
    raft_entry_t *entries[1] = { e };
    raft_appendentries_req_t req = {
        .leader_id = 2, .msg_id = 2, .term = 2, .prev_log_idx = 0, .prev_log_term = 0,
        .leader_commit = 0, .n_entries = 1, .entries = entries,
    };
    raft_appendentries_resp_t resp;
    ASSERT_EQ(0, raft_recv_appendentries(r, raft_get_node(r, 2), &req, &resp));
    raft_entry_release(e);
    ASSERT(resp.success);
    ASSERT_EQ(1, raft_get_current_idx(r));
    raft_entry_t *held = raft_get_entry_from_idx(r, 1);
    ASSERT(held != NULL);
    ASSERT_EQ(RAFT_LOGTYPE_NORMAL, held->type);
    raft_entry_release(held);
    raft_destroy(r);
}

TEST_MAIN()
