/* `persist_metadata` runs before the term or vote it persists takes effect,
 * and may re-enter: an application that pumps its network from inside it
 * delivers a message of a newer term there. When the call returns, what
 * the callback did stands: the term never moves back, a vote is not
 * recorded for a term it was not asked in, a campaign is not started in a
 * term another call has taken over, and a message of the older term is
 * answered as stale (nothing of it appended: it could replace entries this
 * server has just acknowledged to the newer leader).
 *
 * Node 1 of {1, 2, 3} follows in term 1 and holds entry 1 (term 1). */
#include "raft.h"
#include "raft_compat.h"
#include "test.h"
#include "support/pair.h"

enum nested { NONE, AE_OF_TERM_3, AE_OF_TERM_3_WITH_ENTRY, VOTE_FOR_3_IN_3, VOTE_FOR_2_IN_2, SET_TERM_5 };

static struct {
    raft_server_t *r;
    int persists;
    int act_on;             /* the persist_metadata call (1, 2, ...) that re-enters */
    enum nested nested;
    int nested_rc;
    raft_appendentries_resp_t nested_ae;
    raft_requestvote_resp_t nested_vote;
    int vote_requests;
} s;

static raft_entry_t *entry_of_term(raft_term_t term, char c)
{
    raft_entry_t *e = raft_entry_new(1);
    ASSERT(e != NULL);
    e->term = term;
    e->type = RAFT_LOGTYPE_NORMAL;
    e->data[0] = c;
    return e;
}

static int ae(raft_node_id_t from, raft_term_t term, raft_entry_t *e, raft_appendentries_resp_t *resp)
{
    raft_entry_t *entries[1] = { e };
    raft_appendentries_req_t req = {
        .leader_id = from, .msg_id = 7, .term = term, .prev_log_idx = 1, .prev_log_term = 1,
        .leader_commit = 1, .n_entries = e ? 1 : 0, .entries = e ? entries : NULL,
    };
    return raft_recv_appendentries(s.r, raft_get_node(s.r, from), &req, resp);
}

static int request_vote(raft_node_id_t from, raft_term_t term, raft_requestvote_resp_t *resp)
{
    raft_requestvote_req_t req = {
        .prevote = 0, .term = term, .candidate_id = from, .last_log_idx = 1, .last_log_term = 1,
    };
    return raft_recv_requestvote(s.r, raft_get_node(s.r, from), &req, resp);
}

static int cb_persist(raft_server_t *r, void *ud, raft_term_t term, raft_node_id_t vote)
{
    (void)r; (void)ud; (void)term; (void)vote;
    if (++s.persists != s.act_on)
        return 0;
    switch (s.nested) {
    case AE_OF_TERM_3:
        s.nested_rc = ae(3, 3, NULL, &s.nested_ae);
        break;
    case AE_OF_TERM_3_WITH_ENTRY: {
        raft_entry_t *x = entry_of_term(3, 'x');
        s.nested_rc = ae(3, 3, x, &s.nested_ae);
        raft_entry_release(x);
        break;
    }
    case VOTE_FOR_3_IN_3:
        s.nested_rc = request_vote(3, 3, &s.nested_vote);
        break;
    case VOTE_FOR_2_IN_2:
        s.nested_rc = request_vote(2, 2, &s.nested_vote);
        break;
    case SET_TERM_5:
        s.nested_rc = raft_set_current_term(s.r, 5);
        break;
    case NONE:
        break;
    }
    return 0;
}

static int cb_send_rv(raft_server_t *r, void *ud, raft_node_t *n, raft_requestvote_req_t *m)
{
    (void)r; (void)ud; (void)n; (void)m;
    s.vote_requests++;
    return 0;
}

static raft_server_t *follower(void)
{
    memset(&s, 0, sizeof(s));
    raft_cbs_t cbs;
    memset(&cbs, 0, sizeof(cbs));
    cbs.persist_metadata = cb_persist;
    cbs.send_requestvote = cb_send_rv;
    raft_server_t *r = trio_follower_new(&cbs, NULL);
    ASSERT(r != NULL);
    s.r = r;
    raft_entry_t *e = entry_of_term(1, 'a');
    raft_entry_t *entries[1] = { e };
    raft_appendentries_req_t req = {
        .leader_id = 2, .msg_id = 1, .term = 1, .prev_log_idx = 0, .prev_log_term = 0,
        .leader_commit = 1, .n_entries = 1, .entries = entries,
    };
    raft_appendentries_resp_t resp;
    ASSERT_EQ(0, raft_recv_appendentries(r, raft_get_node(r, 2), &req, &resp));
    raft_entry_release(e);
    ASSERT(resp.success);
    ASSERT_EQ(1, raft_get_current_term(r));
    ASSERT_EQ(1, raft_get_commit_idx(r));
    s.persists = 0;
    return r;
}

/* Adopting term 2 (node 2's message), the persist call hears of term 3. */
TEST(review_the_term_never_moves_back_after_persist_metadata_reentered)
{
    raft_server_t *r = follower();
    s.act_on = 1;
    s.nested = AE_OF_TERM_3;
    raft_appendentries_resp_t resp;
    ASSERT_EQ(0, ae(2, 2, NULL, &resp));
    ASSERT_EQ(0, s.nested_rc);
    ASSERT(s.nested_ae.success);
    ASSERT_EQ(3, raft_get_current_term(r));
    ASSERT_EQ(3, raft_get_leader_id(r));
    /* Node 2's message is of an older term now: answered as stale. */
    ASSERT_EQ(0, resp.success);
    ASSERT_EQ(3, resp.term);
    raft_destroy(r);
}

/* Node 3, leader of term 3, has entry 2 (term 3) acknowledged; node 2's
 * older message with its own entry 2 must not replace it. */
TEST(review_an_older_leaders_entries_do_not_replace_what_a_newer_one_got_acknowledged)
{
    raft_server_t *r = follower();
    s.act_on = 1;
    s.nested = AE_OF_TERM_3_WITH_ENTRY;
    raft_entry_t *y = entry_of_term(2, 'y');
    raft_appendentries_resp_t resp;
    ASSERT_EQ(0, ae(2, 2, y, &resp));
    raft_entry_release(y);
    ASSERT_EQ(0, s.nested_rc);
    ASSERT(s.nested_ae.success);
    ASSERT_EQ(2, s.nested_ae.current_idx);
    ASSERT_EQ(3, raft_get_current_term(r));
    ASSERT_EQ(2, raft_get_current_idx(r));
    raft_entry_t *held = raft_get_entry_from_idx(r, 2);
    ASSERT(held != NULL);
    ASSERT_EQ(3, held->term);
    ASSERT_EQ('x', held->data[0]);
    raft_entry_release(held);
    ASSERT_EQ(0, resp.success);
    ASSERT_EQ(3, resp.term);
    raft_destroy(r);
}

/* Granting node 2 its vote in term 2 (the second persist call: the first
 * adopts the term), the persist call hears node 3 ask for term 3 and votes
 * for it. Node 2 must not be recorded as this server's vote in term 3. */
TEST(review_a_vote_is_not_recorded_in_a_term_it_was_not_given_in)
{
    raft_server_t *r = follower();
    s.act_on = 2;
    s.nested = VOTE_FOR_3_IN_3;
    raft_requestvote_resp_t resp;
    ASSERT_EQ(0, request_vote(2, 2, &resp));
    ASSERT_EQ(0, s.nested_rc);
    ASSERT_EQ(1, s.nested_vote.vote_granted);
    ASSERT_EQ(3, raft_get_current_term(r));
    ASSERT_EQ(3, raft_get_voted_for(r));
    ASSERT_EQ(3, resp.term);
    /* One vote in term 3: node 2 asking in term 3 is refused. */
    raft_requestvote_resp_t again;
    ASSERT_EQ(0, request_vote(2, 3, &again));
    ASSERT_EQ(0, again.vote_granted);
    raft_destroy(r);
}

/* Starting a campaign for term 2 (persisting term 2 and its own vote), the
 * persist call hears node 2 ask for term 2 and votes for it. The campaign
 * must not go on: this server would hold two votes in term 2. */
TEST(review_a_campaign_taken_over_in_persist_metadata_does_not_go_on)
{
    raft_server_t *r = follower();
    s.act_on = 1;
    s.nested = VOTE_FOR_2_IN_2;
    raft_become_candidate(r);
    ASSERT_EQ(0, s.nested_rc);
    ASSERT_EQ(1, s.nested_vote.vote_granted);
    ASSERT_EQ(2, raft_get_current_term(r));
    ASSERT_EQ(2, raft_get_voted_for(r));
    ASSERT(raft_is_follower(r));
    ASSERT_EQ(0, s.vote_requests);
    raft_destroy(r);
}

/* A sole voter's tick makes it candidate, then leader. If its campaign
 * gave way (a term set from inside persist_metadata), it does not lead a
 * term it has not voted itself in; the next tick campaigns for the next. */
TEST(review_a_sole_voter_whose_campaign_gave_way_does_not_lead_that_term)
{
    memset(&s, 0, sizeof(s));
    raft_cbs_t cbs;
    memset(&cbs, 0, sizeof(cbs));
    cbs.persist_metadata = cb_persist;
    raft_server_t *r = raft_new();
    ASSERT(r != NULL);
    s.r = r;
    raft_set_callbacks(r, &cbs, NULL);
    ASSERT(raft_add_node(r, NULL, 1, 1) != NULL);
    s.act_on = 1;
    s.nested = SET_TERM_5;
    ASSERT_EQ(0, raft_periodic_internal(r, 1));
    ASSERT_EQ(0, s.nested_rc);
    ASSERT_EQ(5, raft_get_current_term(r));
    ASSERT(!raft_is_leader(r));
    ASSERT_EQ(0, raft_periodic_internal(r, 1));
    ASSERT(raft_is_leader(r));
    ASSERT_EQ(6, raft_get_current_term(r));
    ASSERT_EQ(1, raft_get_voted_for(r));
    raft_destroy(r);
}

TEST_MAIN()
