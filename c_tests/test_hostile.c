/* Hostile input: values no correct peer or program sends are refused at
 * the boundary with an error code and no state change, and no term or
 * index ever overflows (limits RAFT_TERM_MAX and RAFT_INDEX_MAX). */
#include <limits.h>
#include <stdlib.h>
#include "raft.h"
#include "raft_compat.h"
#include "test.h"

static struct {
    int persists, applied, offers;
    raft_term_t last_term;
    raft_node_id_t last_vote;
    int negative_term_persisted;
    raft_node_id_t node_id; /* what get_node_id answers */
    int apply_rc;           /* what applylog returns */
} h;

static int cb_persist(raft_server_t *r, void *ud, raft_term_t term, raft_node_id_t vote)
{
    (void)r; (void)ud;
    h.persists++;
    h.last_term = term;
    h.last_vote = vote;
    if (term < 0)
        h.negative_term_persisted = 1;
    return 0;
}

static int cb_apply(raft_server_t *r, void *ud, raft_entry_t *e, raft_index_t idx)
{
    (void)r; (void)ud; (void)e; (void)idx;
    h.applied++;
    return h.apply_rc;
}

static raft_node_id_t cb_node_id(raft_server_t *r, void *ud, raft_entry_t *e, raft_index_t idx)
{
    (void)r; (void)ud; (void)e; (void)idx;
    return h.node_id;
}

static int cb_send_ae(raft_server_t *r, void *ud, raft_node_t *n, raft_appendentries_req_t *m)
{
    (void)r; (void)ud; (void)n;
    ASSERT(m->term >= 0 && m->prev_log_idx >= 0 && m->leader_commit >= 0);
    return 0;
}

static int cb_send_rv(raft_server_t *r, void *ud, raft_node_t *n, raft_requestvote_req_t *m)
{
    (void)r; (void)ud; (void)n;
    ASSERT(m->term >= 0 && m->term <= RAFT_TERM_MAX);
    return 0;
}

static raft_cbs_t cbs = {
    .applylog = cb_apply,
    .persist_metadata = cb_persist,
    .get_node_id = cb_node_id,
    .send_appendentries = cb_send_ae,
    .send_requestvote = cb_send_rv,
};

/* Node 2 of {1, 2, 3}: a follower. */
static raft_server_t *follower(void)
{
    memset(&h, 0, sizeof(h));
    h.node_id = 9;
    raft_server_t *r = raft_new();
    raft_set_callbacks(r, &cbs, NULL);
    raft_add_node(r, NULL, 1, 0);
    raft_add_node(r, NULL, 2, 1);
    raft_add_node(r, NULL, 3, 0);
    return r;
}

/* Node 1 of {1, 2, 3}, made leader in term 1. */
static raft_server_t *leader(void)
{
    memset(&h, 0, sizeof(h));
    h.node_id = 9;
    raft_server_t *r = raft_new();
    raft_set_callbacks(r, &cbs, NULL);
    raft_add_node(r, NULL, 1, 1);
    raft_add_node(r, NULL, 2, 0);
    raft_add_node(r, NULL, 3, 0);
    ASSERT_EQ(0, raft_become_candidate(r));
    ASSERT_EQ(0, raft_become_leader(r));
    return r;
}

/* A single voter that has elected itself (entries commit at once). */
static raft_server_t *single(void)
{
    memset(&h, 0, sizeof(h));
    h.node_id = 9;
    raft_server_t *r = raft_new();
    raft_set_callbacks(r, &cbs, NULL);
    raft_add_node(r, NULL, 1, 1);
    ASSERT_EQ(0, raft_periodic_internal(r, 10));
    ASSERT(raft_is_leader(r));
    return r;
}

static raft_entry_t *entry(raft_term_t term, int type)
{
    raft_entry_t *e = raft_entry_new(0);
    e->term = term;
    e->type = (short)type;
    return e;
}

/* An appendentries from leader 1 with `n` entries of the given terms. */
static int send_ae(raft_server_t *r, raft_term_t term, raft_index_t prev_idx, raft_term_t prev_term,
                   raft_index_t commit, const raft_term_t *terms, int n, raft_appendentries_resp_t *resp)
{
    raft_entry_t *es[8];
    for (int i = 0; i < n; i++)
        es[i] = entry(terms[i], RAFT_LOGTYPE_NORMAL);
    raft_appendentries_req_t ae = {
        .leader_id = 1, .msg_id = 1, .term = term, .prev_log_idx = prev_idx,
        .prev_log_term = prev_term, .leader_commit = commit, .n_entries = n, .entries = es,
    };
    int rc = raft_recv_appendentries(r, raft_get_node(r, 1), &ae, resp);
    for (int i = 0; i < n; i++)
        raft_entry_release(es[i]);
    return rc;
}

/* ------------------------------------------------------------ overflow */

TEST(hostile_appendentries_with_term_long_max_is_refused)
{
    raft_server_t *r = follower();
    raft_appendentries_resp_t resp;
    ASSERT_EQ(RAFT_ERR_MISUSE, send_ae(r, LONG_MAX, 0, 0, 0, NULL, 0, &resp));
    ASSERT_EQ(0, resp.success);
    ASSERT_EQ(0, raft_get_current_term(r));
    ASSERT_EQ(0, h.persists);
    ASSERT_EQ(RAFT_ERR_MISUSE, send_ae(r, RAFT_TERM_MAX + 1, 0, 0, 0, NULL, 0, &resp));
    ASSERT_EQ(RAFT_ERR_MISUSE, send_ae(r, -1, 0, 0, 0, NULL, 0, &resp));
    ASSERT_EQ(0, raft_get_current_term(r));
    raft_destroy(r);
}

TEST(hostile_no_election_past_the_last_term)
{
    raft_server_t *r = follower();
    raft_appendentries_resp_t resp;
    /* The last term is accepted... */
    ASSERT_EQ(0, send_ae(r, RAFT_TERM_MAX, 0, 0, 0, NULL, 0, &resp));
    ASSERT_EQ(1, resp.success);
    ASSERT_EQ(RAFT_TERM_MAX, raft_get_current_term(r));
    /* ...but no election can follow it: refused, never wrapped. */
    ASSERT_EQ(RAFT_ERR_MISUSE, raft_become_candidate(r));
    ASSERT_EQ(RAFT_ERR_MISUSE, raft_become_precandidate(r));
    ASSERT_EQ(RAFT_ERR_MISUSE, raft_periodic_internal(r, 5000));
    ASSERT_EQ(RAFT_TERM_MAX, raft_get_current_term(r));
    ASSERT_EQ(0, h.negative_term_persisted);
    ASSERT(!raft_is_candidate(r) && !raft_is_precandidate(r));
    ASSERT_EQ(RAFT_ERR_MISUSE, raft_set_current_term(r, LONG_MAX));
    ASSERT_EQ(RAFT_TERM_MAX, raft_get_current_term(r));
    raft_destroy(r);
}

TEST(hostile_snapshot_at_index_long_max_is_refused_everywhere)
{
    raft_server_t *r = follower();
    raft_snapshot_req_t req = {
        .term = 1, .leader_id = 1, .msg_id = 1, .snapshot_index = LONG_MAX, .snapshot_term = 1,
        .chunk = { .offset = 0, .data = "x", .len = 1, .last_chunk = 1 },
    };
    raft_snapshot_resp_t resp;
    ASSERT_EQ(RAFT_ERR_MISUSE, raft_recv_snapshot(r, raft_get_node(r, 1), &req, &resp));
    ASSERT_EQ(0, resp.success);
    ASSERT_EQ(RAFT_ERR_MISUSE, raft_begin_load_snapshot(r, 1, LONG_MAX));
    ASSERT_EQ(RAFT_ERR_MISUSE, raft_begin_load_snapshot(r, LONG_MAX, 5));
    ASSERT_EQ(-1, raft_restore_snapshot(r, 1, LONG_MAX));
    ASSERT_EQ(-1, raft_restore_snapshot(r, LONG_MAX, 1));
    ASSERT_EQ(-1, raft_log_load_from_snapshot(raft_get_log(r), LONG_MAX, 1));
    raft_set_snapshot_metadata(r, 1, LONG_MAX);
    ASSERT_EQ(0, raft_get_snapshot_last_idx(r));
    ASSERT_EQ(0, raft_get_current_idx(r));
    ASSERT_EQ(0, raft_get_commit_idx(r));
    ASSERT_EQ(1, raft_get_first_entry_idx(r));
    ASSERT_EQ(0, raft_get_current_term(r));
    /* At the limit itself the indexes stay positive. */
    ASSERT_EQ(0, raft_restore_snapshot(r, 1, RAFT_INDEX_MAX));
    ASSERT_EQ(RAFT_INDEX_MAX, raft_get_current_idx(r));
    ASSERT(raft_get_first_entry_idx(r) > 0);
    raft_entry_t *e = entry(1, RAFT_LOGTYPE_NORMAL);
    ASSERT_EQ(RAFT_ERR_MISUSE, raft_append_entry(r, e));
    raft_entry_release(e);
    ASSERT_EQ(RAFT_INDEX_MAX, raft_get_current_idx(r));
    raft_destroy(r);
}

TEST(hostile_entries_past_the_last_index_are_refused)
{
    raft_server_t *r = follower();
    raft_term_t terms[] = { 1, 1 };
    raft_appendentries_resp_t resp;
    ASSERT_EQ(RAFT_ERR_MISUSE, send_ae(r, 1, RAFT_INDEX_MAX - 1, 1, 0, terms, 2, &resp));
    ASSERT_EQ(RAFT_ERR_MISUSE, send_ae(r, 1, LONG_MAX, 1, 0, terms, 1, &resp));
    ASSERT_EQ(RAFT_ERR_MISUSE, send_ae(r, 1, 0, 0, LONG_MIN, terms, 1, &resp));
    ASSERT_EQ(0, raft_get_current_idx(r));
    ASSERT_EQ(0, raft_get_current_term(r));
    raft_destroy(r);
}

TEST(hostile_huge_elapsed_times_do_not_wrap_the_clock)
{
    raft_server_t *r = leader();
    ASSERT_EQ(0, raft_transfer_leader(r, 2, 1000));
    (void)raft_periodic_internal(r, LLONG_MAX);
    (void)raft_periodic_internal(r, LLONG_MAX);
    ASSERT(raft_get_timeout_elapsed(r) >= 0);
    ASSERT_EQ(RAFT_NODE_ID_NONE, raft_get_transfer_leader(r));
    raft_destroy(r);
}

TEST(hostile_node_indexes_set_from_c_are_clamped)
{
    raft_server_t *r = leader();
    raft_node_t *n = raft_get_node(r, 2);
    raft_node_set_next_idx(n, LONG_MAX);
    raft_node_set_match_idx(n, LONG_MAX);
    ASSERT(raft_node_get_next_idx(n) > 0);
    ASSERT(raft_node_get_match_idx(n) <= RAFT_INDEX_MAX);
    raft_appendentries_resp_t ar = { .msg_id = raft_get_msg_id(r), .term = 1, .success = 1, .current_idx = 1 };
    ASSERT_EQ(0, raft_recv_appendentries_response(r, n, &ar));
    ASSERT(raft_node_get_next_idx(n) > 0);
    ASSERT_EQ(0, raft_send_appendentries(r, n));
    raft_destroy(r);
}

/* ------------------------------------------------------------ bad entries */

TEST(hostile_entries_with_negative_terms_are_refused)
{
    raft_server_t *r = follower();
    raft_term_t terms[] = { -1 };
    raft_appendentries_resp_t resp;
    ASSERT_EQ(RAFT_ERR_MISUSE, send_ae(r, 1, 0, 0, 0, terms, 1, &resp));
    ASSERT_EQ(RAFT_ERR_MISUSE, send_ae(r, 1, 0, -1, 0, NULL, 0, &resp));
    raft_term_t min[] = { LONG_MIN };
    ASSERT_EQ(RAFT_ERR_MISUSE, send_ae(r, 1, 0, 0, 0, min, 1, &resp));
    ASSERT_EQ(0, raft_get_current_idx(r));
    ASSERT_EQ(0, raft_get_current_term(r));
    ASSERT_EQ(RAFT_NODE_ID_NONE, raft_get_leader_id(r));
    raft_entry_t *e = entry(-3, RAFT_LOGTYPE_NORMAL);
    ASSERT_EQ(RAFT_ERR_MISUSE, raft_append_entry(r, e));
    raft_entry_release(e);
    ASSERT_EQ(0, raft_get_current_idx(r));
    raft_destroy(r);
}

TEST(hostile_entry_terms_falling_inside_a_message_are_refused)
{
    raft_server_t *r = follower();
    raft_term_t falling[] = { 2, 1 };
    raft_appendentries_resp_t resp;
    ASSERT_EQ(RAFT_ERR_MISUSE, send_ae(r, 3, 0, 0, 0, falling, 2, &resp));
    raft_term_t below_prev[] = { 1 };
    /* the previous entry (of term 2) cannot precede an entry of term 1 */
    ASSERT_EQ(RAFT_ERR_MISUSE, send_ae(r, 3, 0, 2, 0, below_prev, 1, &resp));
    ASSERT_EQ(0, raft_get_current_idx(r));
    ASSERT_EQ(0, raft_get_current_term(r));
    /* Rising terms are fine. */
    raft_term_t rising[] = { 1, 1, 3 };
    ASSERT_EQ(0, send_ae(r, 3, 0, 0, 0, rising, 3, &resp));
    ASSERT_EQ(1, resp.success);
    ASSERT_EQ(3, raft_get_current_idx(r));
    raft_destroy(r);
}

TEST(hostile_entry_terms_above_the_senders_term_are_refused)
{
    raft_server_t *r = follower();
    raft_term_t above[] = { 1, 5 };
    raft_appendentries_resp_t resp;
    ASSERT_EQ(RAFT_ERR_MISUSE, send_ae(r, 2, 0, 0, 0, above, 2, &resp));
    ASSERT_EQ(RAFT_ERR_MISUSE, send_ae(r, 2, 1, 4, 0, NULL, 0, &resp));
    ASSERT_EQ(0, raft_get_current_idx(r));
    ASSERT_EQ(0, raft_get_current_term(r));
    ASSERT_EQ(0, h.persists);
    raft_destroy(r);
}

/* ------------------------------------------------------------ snapshots */

TEST(hostile_snapshot_of_a_later_term_than_its_sender_is_refused)
{
    raft_server_t *r = follower();
    raft_snapshot_req_t req = {
        .term = 2, .leader_id = 1, .msg_id = 1, .snapshot_index = 5, .snapshot_term = 3,
        .chunk = { .offset = 0, .data = "x", .len = 1, .last_chunk = 1 },
    };
    raft_snapshot_resp_t resp;
    ASSERT_EQ(RAFT_ERR_MISUSE, raft_recv_snapshot(r, raft_get_node(r, 1), &req, &resp));
    ASSERT_EQ(0, resp.success);
    ASSERT_EQ(0, raft_get_current_term(r));
    ASSERT_EQ(0, raft_get_snapshot_last_idx(r));
    raft_destroy(r);
}

TEST(hostile_chunk_whose_length_wraps_the_offset_is_refused)
{
    raft_server_t *r = follower();
    raft_snapshot_req_t req = {
        .term = 2, .leader_id = 1, .msg_id = 1, .snapshot_index = 5, .snapshot_term = 2,
        .chunk = { .offset = 0, .data = "x", .len = 1, .last_chunk = 0 },
    };
    raft_snapshot_resp_t resp;
    ASSERT_EQ(0, raft_recv_snapshot(r, raft_get_node(r, 1), &req, &resp));
    ASSERT_EQ(1, resp.success);
    ASSERT_EQ(1, (long long)resp.offset);
    req.chunk.offset = 1;
    req.chunk.len = ULLONG_MAX;
    ASSERT_EQ(RAFT_ERR_MISUSE, raft_recv_snapshot(r, raft_get_node(r, 1), &req, &resp));
    /* The transfer goes on from where it was. */
    req.chunk.len = 1;
    req.msg_id = 2;
    ASSERT_EQ(0, raft_recv_snapshot(r, raft_get_node(r, 1), &req, &resp));
    ASSERT_EQ(2, (long long)resp.offset);
    raft_destroy(r);
}

/* ------------------------------------------------------------ votes, ids */

TEST(hostile_vote_requests_out_of_range_are_refused)
{
    raft_server_t *r = follower();
    raft_requestvote_req_t rv = { .prevote = 0, .term = LONG_MAX, .candidate_id = 3,
                                  .last_log_idx = 0, .last_log_term = 0 };
    raft_requestvote_resp_t resp;
    ASSERT_EQ(RAFT_ERR_MISUSE, raft_recv_requestvote(r, raft_get_node(r, 3), &rv, &resp));
    ASSERT_EQ(0, resp.vote_granted);
    rv.term = 2;
    rv.last_log_term = 3; /* a log of a later term than the candidate's */
    ASSERT_EQ(RAFT_ERR_MISUSE, raft_recv_requestvote(r, raft_get_node(r, 3), &rv, &resp));
    rv.last_log_term = 1;
    rv.candidate_id = INT_MIN;
    ASSERT_EQ(RAFT_ERR_MISUSE, raft_recv_requestvote(r, NULL, &rv, &resp));
    rv.candidate_id = 3;
    rv.last_log_idx = -1;
    ASSERT_EQ(RAFT_ERR_MISUSE, raft_recv_requestvote(r, raft_get_node(r, 3), &rv, &resp));
    ASSERT_EQ(0, raft_get_current_term(r));
    ASSERT_EQ(RAFT_NODE_ID_NONE, raft_get_voted_for(r));
    ASSERT_EQ(0, h.persists);
    raft_destroy(r);
}

TEST(hostile_responses_out_of_range_are_refused)
{
    raft_server_t *r = leader();
    raft_appendentries_resp_t ar = { .msg_id = 1, .term = LONG_MAX, .success = 0, .current_idx = 0 };
    ASSERT_EQ(RAFT_ERR_MISUSE, raft_recv_appendentries_response(r, raft_get_node(r, 2), &ar));
    ar.term = 1;
    ar.current_idx = -5;
    ASSERT_EQ(RAFT_ERR_MISUSE, raft_recv_appendentries_response(r, raft_get_node(r, 2), &ar));
    raft_requestvote_resp_t vr = { .prevote = 0, .request_term = 1, .term = -2, .vote_granted = 1 };
    ASSERT_EQ(RAFT_ERR_MISUSE, raft_recv_requestvote_response(r, raft_get_node(r, 2), &vr));
    raft_snapshot_resp_t sr = { .msg_id = 1, .term = LONG_MAX, .offset = 0, .success = 1, .last_chunk = 1 };
    ASSERT_EQ(RAFT_ERR_MISUSE, raft_recv_snapshot_response(r, raft_get_node(r, 2), &sr));
    ASSERT(raft_is_leader(r));
    ASSERT_EQ(1, raft_get_current_term(r));
    raft_destroy(r);
}

TEST(hostile_second_self_and_negative_ids_are_refused_by_add_node)
{
    raft_server_t *r = follower();
    ASSERT_PTR_EQ(NULL, raft_add_node(r, NULL, 4, 1));
    ASSERT_PTR_EQ(NULL, raft_add_non_voting_node(r, NULL, 5, 1));
    ASSERT_PTR_EQ(NULL, raft_add_node(r, NULL, -2, 0));
    ASSERT_PTR_EQ(NULL, raft_add_node(r, NULL, INT_MIN, 0));
    ASSERT_PTR_EQ(NULL, raft_add_non_voting_node(r, NULL, -9, 0));
    ASSERT_EQ(3, raft_get_num_nodes(r));
    ASSERT_EQ(2, raft_get_nodeid(r));
    /* Promoting a non-voter that is not this server as "self": refused. */
    ASSERT(raft_add_non_voting_node(r, NULL, 6, 0) != NULL);
    ASSERT_PTR_EQ(NULL, raft_add_node(r, NULL, 6, 1));
    ASSERT_EQ(2, raft_get_nodeid(r));
    ASSERT(raft_add_node(r, NULL, 6, 0) != NULL);
    raft_destroy(r);
}

TEST(hostile_vote_for_an_impossible_id_is_not_persisted)
{
    raft_server_t *r = follower();
    ASSERT_EQ(0, raft_set_current_term(r, 1));
    int before = h.persists;
    ASSERT_EQ(RAFT_ERR_INVALID_NODEID, raft_vote_for_nodeid(r, -5));
    ASSERT_EQ(RAFT_ERR_INVALID_NODEID, raft_vote_for_nodeid(r, INT_MIN));
    ASSERT_EQ(before, h.persists);
    ASSERT_EQ(RAFT_NODE_ID_NONE, raft_get_voted_for(r));
    ASSERT_EQ(-1, raft_restore_metadata(r, 1, INT_MIN));
    ASSERT_EQ(-1, raft_restore_metadata(r, LONG_MAX, 1));
    ASSERT_EQ(1, raft_get_current_term(r));
    /* Nobody, and an id not yet known (restart order), are fine. */
    ASSERT_EQ(0, raft_vote_for_nodeid(r, RAFT_NODE_ID_NONE));
    ASSERT_EQ(0, raft_vote_for_nodeid(r, 42));
    ASSERT_EQ(42, raft_get_voted_for(r));
    raft_destroy(r);
}

TEST(hostile_config_change_naming_a_negative_id_is_refused)
{
    raft_server_t *r = single();
    raft_index_t idx = raft_get_current_idx(r);
    raft_node_id_t bad[] = { INT_MIN, -2, RAFT_NODE_ID_NONE };
    for (int i = 0; i < 3; i++) {
        h.node_id = bad[i];
        raft_entry_t *e = entry(0, RAFT_LOGTYPE_ADD_NODE);
        raft_entry_resp_t resp;
        ASSERT_EQ(RAFT_ERR_INVALID_NODEID, raft_recv_entry(r, e, &resp));
        raft_entry_release(e);
        e = entry(0, RAFT_LOGTYPE_ADD_NONVOTING_NODE);
        ASSERT_EQ(RAFT_ERR_INVALID_NODEID, raft_recv_entry(r, e, &resp));
        raft_entry_release(e);
    }
    ASSERT_EQ(idx, raft_get_current_idx(r));
    ASSERT_EQ(1, raft_get_num_nodes(r));
    /* Id 0 is a valid id (the original's test suites use it). */
    h.node_id = 0;
    raft_entry_t *e = entry(0, RAFT_LOGTYPE_ADD_NONVOTING_NODE);
    raft_entry_resp_t resp;
    ASSERT_EQ(0, raft_recv_entry(r, e, &resp));
    raft_entry_release(e);
    ASSERT(raft_get_node(r, 0) != NULL);
    raft_destroy(r);
}

TEST(hostile_config_entry_from_a_leader_naming_a_negative_id_changes_nothing)
{
    raft_server_t *r = follower();
    h.node_id = INT_MIN;
    raft_entry_t *e = entry(1, RAFT_LOGTYPE_ADD_NODE);
    raft_appendentries_req_t ae = { .leader_id = 1, .msg_id = 1, .term = 1, .prev_log_idx = 0,
                                    .prev_log_term = 0, .leader_commit = 1, .n_entries = 1,
                                    .entries = &e };
    raft_appendentries_resp_t resp;
    ASSERT_EQ(0, raft_recv_appendentries(r, raft_get_node(r, 1), &ae, &resp));
    raft_entry_release(e);
    ASSERT_EQ(1, resp.success);
    ASSERT_EQ(3, raft_get_num_nodes(r));
    ASSERT_EQ(3, raft_get_num_voting_nodes(r));
    raft_destroy(r);
}

/* ------------------------------------------------------------ client entries */

static void client_types_refused(int auto_flush)
{
    raft_server_t *r = leader();
    ASSERT_EQ(0, raft_config(r, 1, RAFT_CONFIG_AUTO_FLUSH, auto_flush));
    raft_index_t idx = raft_get_current_idx(r);
    int bad[] = { RAFT_LOGTYPE_NO_OP, -1, -32768 };
    for (int i = 0; i < 3; i++) {
        raft_entry_t *e = entry(0, bad[i]);
        raft_entry_resp_t resp = { 0 };
        ASSERT_EQ(RAFT_ERR_MISUSE, raft_recv_entry(r, e, &resp));
        raft_entry_release(e);
    }
    ASSERT_EQ(idx, raft_get_current_idx(r));
    /* The application's own types (above the no-op) are fine. */
    int good[] = { RAFT_LOGTYPE_NORMAL, RAFT_LOGTYPE_NUM, RAFT_LOGTYPE_NO_OP + 1, 32767 };
    for (int i = 0; i < 4; i++) {
        raft_entry_t *e = entry(0, good[i]);
        raft_entry_resp_t resp = { 0 };
        ASSERT_EQ(0, raft_recv_entry(r, e, &resp));
        ASSERT_EQ(idx + 1 + i, resp.idx);
        raft_entry_release(e);
    }
    raft_destroy(r);
}

TEST(hostile_client_no_op_and_negative_types_are_refused_with_auto_flush)
{
    client_types_refused(1);
}

TEST(hostile_client_no_op_and_negative_types_are_refused_without_auto_flush)
{
    client_types_refused(0);
}

TEST(hostile_set_callbacks_with_null_keeps_the_callbacks)
{
    raft_server_t *r = single();
    int applied = h.applied;
    raft_set_callbacks(r, NULL, NULL);
    raft_entry_t *e = entry(0, RAFT_LOGTYPE_NORMAL);
    raft_entry_resp_t resp;
    ASSERT_EQ(0, raft_recv_entry(r, e, &resp));
    raft_entry_release(e);
    ASSERT_EQ(resp.idx, raft_get_last_applied_idx(r));
    ASSERT_EQ(applied + 1, h.applied);
    raft_destroy(r);
}

/* ------------------------------------------------------------ accepted entries */

TEST(hostile_recv_entry_reports_an_accepted_entry_whose_apply_failed)
{
    raft_server_t *r = single(); /* auto flush on: applies at once */
    h.apply_rc = -1;
    raft_entry_t *e = entry(0, RAFT_LOGTYPE_NORMAL);
    raft_entry_resp_t resp = { 0 };
    ASSERT_EQ(0, raft_recv_entry(r, e, &resp));
    raft_entry_release(e);
    ASSERT_EQ(2, resp.idx);
    ASSERT_EQ(1, resp.term);
    ASSERT_EQ(2, raft_get_current_idx(r));
    ASSERT_EQ(2, raft_get_commit_idx(r));
    ASSERT_EQ(1, raft_msg_entry_response_committed(r, &resp));
    ASSERT_EQ(1, raft_get_last_applied_idx(r));
    /* The failure is reported by the next call that applies... */
    ASSERT_EQ(-1, raft_periodic_internal(r, 1));
    ASSERT_EQ(1, raft_get_last_applied_idx(r));
    /* ...and applying goes on once applylog succeeds. */
    h.apply_rc = 0;
    ASSERT_EQ(0, raft_periodic_internal(r, 1));
    ASSERT_EQ(2, raft_get_last_applied_idx(r));
    ASSERT_EQ(2, raft_get_current_idx(r)); /* written once */
    raft_destroy(r);
}

/* ------------------------------------------------------------ callbacks */

TEST(hostile_no_callback_is_required_and_each_missing_one_means_what_raft_h_says)
{
    /* No callbacks at all: a single voter still elects itself (term and
     * vote in memory only), takes entries and counts them applied. */
    raft_server_t *r = raft_new();
    raft_add_node(r, NULL, 1, 1);
    ASSERT_EQ(0, raft_periodic_internal(r, 10));
    ASSERT(raft_is_leader(r));
    ASSERT_EQ(1, raft_get_current_term(r));
    ASSERT_EQ(1, raft_get_voted_for(r));
    raft_entry_t *e = entry(0, RAFT_LOGTYPE_NORMAL);
    raft_entry_resp_t resp;
    ASSERT_EQ(0, raft_recv_entry(r, e, &resp));
    raft_entry_release(e);
    ASSERT_EQ(2, raft_get_last_applied_idx(r));
    /* Without get_node_id a configuration change names no node. */
    e = entry(0, RAFT_LOGTYPE_ADD_NONVOTING_NODE);
    ASSERT_EQ(0, raft_recv_entry(r, e, &resp));
    raft_entry_release(e);
    ASSERT_EQ(1, raft_get_num_nodes(r));
    raft_destroy(r);
}

static void leader_at_the_last_index(int auto_flush)
{
    memset(&h, 0, sizeof(h));
    raft_server_t *r = raft_new();
    raft_set_callbacks(r, &cbs, NULL);
    raft_add_node(r, NULL, 1, 1);
    ASSERT_EQ(0, raft_config(r, 1, RAFT_CONFIG_AUTO_FLUSH, auto_flush));
    ASSERT_EQ(0, raft_restore_snapshot(r, 1, RAFT_INDEX_MAX - 1));
    ASSERT_EQ(0, raft_periodic_internal(r, 10));
    ASSERT(raft_is_leader(r));
    ASSERT_EQ(RAFT_INDEX_MAX, raft_get_current_idx(r)); /* its no-op */
    raft_entry_t *e = entry(0, RAFT_LOGTYPE_NORMAL);
    raft_entry_resp_t resp;
    ASSERT_EQ(RAFT_ERR_MISUSE, raft_recv_entry(r, e, &resp));
    raft_entry_release(e);
    ASSERT_EQ(RAFT_INDEX_MAX, raft_get_current_idx(r));
    /* A new leadership needs a no-op past the end: refused, no wrap. */
    raft_become_follower(r);
    (void)raft_periodic_internal(r, 10);
    ASSERT_EQ(RAFT_INDEX_MAX, raft_get_current_idx(r));
    ASSERT(raft_get_commit_idx(r) <= RAFT_INDEX_MAX);
    raft_destroy(r);
}

TEST(hostile_a_leader_appends_nothing_past_the_last_index_with_auto_flush)
{
    leader_at_the_last_index(1);
}

TEST(hostile_a_leader_appends_nothing_past_the_last_index_without_auto_flush)
{
    /* Found by the fuzz target once it reached the whole value range. */
    leader_at_the_last_index(0);
}

TEST_MAIN()
