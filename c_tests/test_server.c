/* A server on its own: defaults, configuration, persistent state (term,
 * vote, metadata), a single-node leader, and the error strings. */
#include "raft.h"
#include "raft_compat.h"
#include "test.h"

/* A later-release addition; tested when the library exports it. */
extern const char *raft_get_error_str(int err) __attribute__((weak));

static struct {
    int persist_calls;
    raft_term_t persist_term;
    raft_node_id_t persist_vote;
    int persist_rc;
    int applied;
    raft_index_t applied_idx[64];
    raft_index_t seen_applied_idx[64];  /* last applied index, read in applylog */
    raft_term_t seen_applied_term[64];  /* last applied term, read in applylog */
    int states;
    raft_state_e last_state;
} cb;

static int cb_persist(raft_server_t *r, void *ud, raft_term_t t, raft_node_id_t v)
{
    (void)r; (void)ud;
    cb.persist_calls++;
    cb.persist_term = t;
    cb.persist_vote = v;
    return cb.persist_rc;
}
static int cb_apply(raft_server_t *r, void *ud, raft_entry_t *e, raft_index_t idx)
{
    (void)ud; (void)e;
    if (cb.applied < 64) {
        cb.applied_idx[cb.applied] = idx;
        cb.seen_applied_idx[cb.applied] = raft_get_last_applied_idx(r);
        cb.seen_applied_term[cb.applied] = raft_get_last_applied_term(r);
    }
    cb.applied++;
    return 0;
}
static void cb_state(raft_server_t *r, void *ud, raft_state_e s)
{
    (void)r; (void)ud;
    cb.states++;
    cb.last_state = s;
}
static int cb_send_ae(raft_server_t *r, void *ud, raft_node_t *n, raft_appendentries_req_t *m)
{
    (void)r; (void)ud; (void)n; (void)m;
    return 0;
}
static int cb_send_rv(raft_server_t *r, void *ud, raft_node_t *n, raft_requestvote_req_t *m)
{
    (void)r; (void)ud; (void)n; (void)m;
    return 0;
}

static int udata;

static raft_server_t *server(void)
{
    raft_server_t *r = raft_new();
    ASSERT(r != NULL);
    raft_cbs_t cbs;
    memset(&cbs, 0, sizeof(cbs));
    cbs.persist_metadata = cb_persist;
    cbs.applylog = cb_apply;
    cbs.notify_state_event = cb_state;
    cbs.send_appendentries = cb_send_ae;
    cbs.send_requestvote = cb_send_rv;
    raft_set_callbacks(r, &cbs, &udata);
    return r;
}

static int config_get(raft_server_t *r, raft_config_e c)
{
    int v = -12345;
    ASSERT_EQ(0, raft_config(r, 0, c, &v));
    return v;
}

TEST(server_new_starts_as_a_follower_in_term_zero)
{
    raft_server_t *r = raft_new();
    ASSERT(r != NULL);
    ASSERT_EQ(0, raft_get_current_term(r));
    ASSERT_EQ(RAFT_NODE_ID_NONE, raft_get_voted_for(r));
    ASSERT_EQ(RAFT_STATE_FOLLOWER, raft_get_state(r));
    ASSERT_STR_EQ("follower", raft_get_state_str(r));
    ASSERT_EQ(1, raft_is_follower(r));
    ASSERT_EQ(0, raft_is_leader(r));
    ASSERT_EQ(0, raft_is_candidate(r));
    ASSERT_EQ(0, raft_is_precandidate(r));
    ASSERT_EQ(0, raft_get_commit_idx(r));
    ASSERT_EQ(0, raft_get_current_idx(r));
    ASSERT_EQ(0, raft_get_log_count(r));
    ASSERT_EQ(0, raft_get_last_applied_idx(r));
    ASSERT_EQ(0, raft_get_last_log_term(r));
    ASSERT_EQ(RAFT_NODE_ID_NONE, raft_get_leader_id(r));
    ASSERT(raft_get_leader_node(r) == NULL);
    ASSERT_EQ(RAFT_NODE_ID_NONE, raft_get_nodeid(r));
    ASSERT(raft_get_my_node(r) == NULL);
    ASSERT_EQ(0, raft_get_num_nodes(r));
    ASSERT_EQ(0, raft_get_num_voting_nodes(r));
    ASSERT_EQ(0, raft_get_nvotes_for_me(r));
    ASSERT_EQ(0, raft_get_timeout_elapsed(r));
    ASSERT_EQ(0, raft_get_snapshot_last_idx(r));
    ASSERT_EQ(0, raft_get_snapshot_last_term(r));
    ASSERT_EQ(0, raft_snapshot_is_in_progress(r));
    ASSERT_EQ(0, raft_voting_change_is_in_progress(r));
    ASSERT_EQ(RAFT_NODE_ID_NONE, raft_get_transfer_leader(r));
    ASSERT(raft_get_last_applied_entry(r) == NULL);
    ASSERT(raft_get_udata(r) == NULL);
    raft_destroy(r);
}

/* ABI.md: auto flush defaults to on (the seed library's real default),
 * though the header's table says 0. */
TEST(server_config_defaults)
{
    raft_server_t *r = raft_new();
    ASSERT_EQ(1000, config_get(r, RAFT_CONFIG_ELECTION_TIMEOUT));
    ASSERT_EQ(200, config_get(r, RAFT_CONFIG_REQUEST_TIMEOUT));
    ASSERT_EQ(1, config_get(r, RAFT_CONFIG_AUTO_FLUSH));
    ASSERT_EQ(0, config_get(r, RAFT_CONFIG_LOG_ENABLED));
    ASSERT_EQ(0, config_get(r, RAFT_CONFIG_NONBLOCKING_APPLY));
    ASSERT_EQ(0, config_get(r, RAFT_CONFIG_DISABLE_APPLY));
    raft_destroy(r);
}

TEST(server_config_set_then_get_every_option)
{
    raft_server_t *r = raft_new();
    ASSERT_EQ(0, raft_config(r, 1, RAFT_CONFIG_ELECTION_TIMEOUT, 4000));
    ASSERT_EQ(4000, config_get(r, RAFT_CONFIG_ELECTION_TIMEOUT));
    ASSERT_EQ(0, raft_config(r, 1, RAFT_CONFIG_REQUEST_TIMEOUT, 50));
    ASSERT_EQ(50, config_get(r, RAFT_CONFIG_REQUEST_TIMEOUT));
    ASSERT_EQ(0, raft_config(r, 1, RAFT_CONFIG_AUTO_FLUSH, 0));
    ASSERT_EQ(0, config_get(r, RAFT_CONFIG_AUTO_FLUSH));
    ASSERT_EQ(0, raft_config(r, 1, RAFT_CONFIG_AUTO_FLUSH, 1));
    ASSERT_EQ(1, config_get(r, RAFT_CONFIG_AUTO_FLUSH));
    ASSERT_EQ(0, raft_config(r, 1, RAFT_CONFIG_LOG_ENABLED, 1));
    ASSERT_EQ(1, config_get(r, RAFT_CONFIG_LOG_ENABLED));
    ASSERT_EQ(0, raft_config(r, 1, RAFT_CONFIG_NONBLOCKING_APPLY, 1));
    ASSERT_EQ(1, config_get(r, RAFT_CONFIG_NONBLOCKING_APPLY));
    ASSERT_EQ(0, raft_config(r, 1, RAFT_CONFIG_DISABLE_APPLY, 1));
    ASSERT_EQ(1, config_get(r, RAFT_CONFIG_DISABLE_APPLY));
    /* Setting one option leaves the others alone. */
    ASSERT_EQ(4000, config_get(r, RAFT_CONFIG_ELECTION_TIMEOUT));
    ASSERT_EQ(50, config_get(r, RAFT_CONFIG_REQUEST_TIMEOUT));
    raft_destroy(r);
}

TEST(server_config_unknown_option_is_not_found)
{
    raft_server_t *r = raft_new();
    int v = 0;
    ASSERT_EQ(RAFT_ERR_NOTFOUND, raft_config(r, 0, (raft_config_e)999, &v));
    ASSERT_EQ(RAFT_ERR_NOTFOUND, raft_config(r, 1, (raft_config_e)999, 1));
    ASSERT_EQ(RAFT_ERR_NOTFOUND, raft_config(r, 0, (raft_config_e)0, &v));
    raft_destroy(r);
}

TEST(server_set_callbacks_copies_the_struct_and_keeps_udata)
{
    raft_server_t *r = raft_new();
    raft_cbs_t *cbs = calloc(1, sizeof(*cbs));
    cbs->persist_metadata = cb_persist;
    raft_set_callbacks(r, cbs, &udata);
    /* The caller's struct may be a temporary. */
    memset(cbs, 0xff, sizeof(*cbs));
    free(cbs);
    ASSERT_PTR_EQ(&udata, raft_get_udata(r));
    ASSERT_EQ(0, raft_set_current_term(r, 3));
    ASSERT(cb.persist_calls >= 1);
    ASSERT_EQ(3, cb.persist_term);
    raft_destroy(r);
}

TEST(server_set_current_term_persists_and_clears_the_vote)
{
    raft_server_t *r = server();
    ASSERT_EQ(0, raft_set_current_term(r, 5));
    ASSERT_EQ(5, raft_get_current_term(r));
    ASSERT_EQ(RAFT_NODE_ID_NONE, raft_get_voted_for(r));
    ASSERT(cb.persist_calls >= 1);
    ASSERT_EQ(5, cb.persist_term);
    ASSERT_EQ(RAFT_NODE_ID_NONE, cb.persist_vote);
    raft_destroy(r);
}

TEST(server_vote_for_nodeid_persists_the_vote)
{
    raft_server_t *r = server();
    raft_add_node(r, NULL, 1, 1);
    raft_add_node(r, NULL, 2, 0);
    ASSERT_EQ(0, raft_set_current_term(r, 2));
    ASSERT_EQ(0, raft_vote_for_nodeid(r, 2));
    ASSERT_EQ(2, raft_get_voted_for(r));
    ASSERT_EQ(2, cb.persist_term);
    ASSERT_EQ(2, cb.persist_vote);
    ASSERT_EQ(2, raft_get_current_term(r));
    raft_destroy(r);
}

TEST(server_vote_for_a_node_records_its_id)
{
    raft_server_t *r = server();
    raft_add_node(r, NULL, 1, 1);
    raft_node_t *n3 = raft_add_node(r, NULL, 3, 0);
    ASSERT_EQ(0, raft_vote(r, n3));
    ASSERT_EQ(3, raft_get_voted_for(r));
    ASSERT_EQ(3, cb.persist_vote);
    raft_destroy(r);
}

/* ABI.md: a persist_metadata failure is returned to the caller; the state
 * it would have persisted is not taken on. */
TEST(server_persist_metadata_failure_is_returned)
{
    raft_server_t *r = server();
    raft_add_node(r, NULL, 1, 1);
    raft_add_node(r, NULL, 2, 0);
    cb.persist_rc = RAFT_ERR_SHUTDOWN;
    ASSERT_EQ(RAFT_ERR_SHUTDOWN, raft_set_current_term(r, 4));
    ASSERT_EQ(0, raft_get_current_term(r));
    ASSERT_EQ(RAFT_ERR_SHUTDOWN, raft_vote_for_nodeid(r, 2));
    ASSERT_EQ(RAFT_NODE_ID_NONE, raft_get_voted_for(r));
    raft_destroy(r);
}

/* Restoring what was read from disk does not write it back. */
TEST(server_restore_metadata_sets_term_and_vote_without_persisting)
{
    raft_server_t *r = server();
    raft_add_node(r, NULL, 1, 1);
    raft_add_node(r, NULL, 3, 0);
    ASSERT_EQ(0, raft_restore_metadata(r, 7, 3));
    ASSERT_EQ(7, raft_get_current_term(r));
    ASSERT_EQ(3, raft_get_voted_for(r));
    ASSERT_EQ(0, cb.persist_calls);
    raft_destroy(r);
}

TEST(server_single_voting_node_becomes_leader_on_periodic)
{
    raft_server_t *r = server();
    raft_add_node(r, NULL, 1, 1);
    ASSERT_EQ(0, raft_periodic(r));
    ASSERT_EQ(1, raft_is_leader(r));
    ASSERT_EQ(RAFT_STATE_LEADER, raft_get_state(r));
    ASSERT_STR_EQ("leader", raft_get_state_str(r));
    ASSERT_EQ(1, raft_get_current_term(r));
    ASSERT_EQ(1, raft_get_leader_id(r));
    ASSERT_PTR_EQ(raft_get_my_node(r), raft_get_leader_node(r));
    ASSERT(cb.persist_calls >= 1);
    ASSERT_EQ(1, cb.persist_term);
    ASSERT_EQ(RAFT_STATE_LEADER, cb.last_state);
    /* The new leader's no-op entry, committed and applied at once. */
    ASSERT_EQ(1, raft_get_current_idx(r));
    raft_entry_t *e = raft_get_entry_from_idx(r, 1);
    ASSERT(e != NULL);
    ASSERT_EQ(RAFT_LOGTYPE_NO_OP, e->type);
    ASSERT_EQ(1, e->term);
    raft_entry_release(e);
    ASSERT_EQ(1, raft_get_commit_idx(r));
    ASSERT_EQ(1, raft_get_last_applied_idx(r));
    ASSERT_EQ(1, raft_get_last_log_term(r));
    raft_destroy(r);
}

TEST(server_leader_accepts_entries_and_commits_them_alone)
{
    raft_server_t *r = server();
    raft_add_node(r, NULL, 1, 1);
    raft_periodic(r);
    for (int i = 0; i < 3; i++) {
        raft_entry_t *e = raft_entry_new(4);
        e->id = 100 + i;
        raft_entry_resp_t resp;
        memset(&resp, 0, sizeof(resp));
        ASSERT_EQ(0, raft_recv_entry(r, e, &resp));
        ASSERT_EQ(2 + i, resp.idx);
        ASSERT_EQ(1, resp.term);
        ASSERT_EQ(100 + i, resp.id);
        ASSERT_EQ(1, e->term); /* stamped with the leader's term */
        raft_entry_release(e);
        ASSERT_EQ(1, raft_msg_entry_response_committed(r, &resp));
    }
    ASSERT_EQ(4, raft_get_current_idx(r));
    ASSERT_EQ(4, raft_get_commit_idx(r));
    ASSERT_EQ(4, raft_get_last_applied_idx(r));
    ASSERT_EQ(4, cb.applied);
    for (int i = 0; i < 4; i++)
        ASSERT_EQ(i + 1, cb.applied_idx[i]);
    raft_entry_t *last = raft_get_last_applied_entry(r);
    ASSERT(last != NULL);
    ASSERT_EQ(102, last->id);
    raft_entry_release(last); /* a fetched entry is held for the caller */
    raft_destroy(r);
}

/* The last applied term is the term of the last applied entry: read from
 * applylog (the entry in hand not yet counted) and after applying, across
 * terms, and still after the log is compacted up to it. */
TEST(server_last_applied_term_follows_the_applied_entries)
{
    raft_server_t *r = server();
    raft_add_node(r, NULL, 1, 1);
    raft_add_node(r, NULL, 2, 0);
    static const raft_term_t terms[] = {1, 1, 2, 2, 3};
    raft_entry_t *ents[5];
    for (int i = 0; i < 5; i++) {
        ents[i] = raft_entry_new(0);
        ents[i]->term = terms[i];
    }
    raft_appendentries_req_t req;
    memset(&req, 0, sizeof(req));
    req.term = 3;
    req.leader_id = 2;
    req.msg_id = 1;
    req.leader_commit = 5;
    req.n_entries = 5;
    req.entries = ents;
    raft_appendentries_resp_t resp;
    cb.applied = 0;
    ASSERT_EQ(0, raft_get_last_applied_term(r));
    ASSERT_EQ(0, raft_recv_appendentries(r, raft_get_node(r, 2), &req, &resp));
    ASSERT_EQ(1, resp.success);
    for (int i = 0; i < 5; i++)
        raft_entry_release(ents[i]);
    raft_periodic(r);
    ASSERT_EQ(5, cb.applied);
    for (int i = 0; i < 5; i++) {
        ASSERT_EQ(i + 1, cb.applied_idx[i]);
        ASSERT_EQ(i, cb.seen_applied_idx[i]);
        ASSERT_EQ(i == 0 ? 0 : terms[i - 1], cb.seen_applied_term[i]);
    }
    ASSERT_EQ(5, raft_get_last_applied_idx(r));
    ASSERT_EQ(3, raft_get_last_applied_term(r));
    ASSERT_EQ(0, raft_begin_snapshot(r));
    ASSERT_EQ(0, raft_end_snapshot(r));
    ASSERT_EQ(5, raft_get_snapshot_last_idx(r));
    ASSERT_EQ(3, raft_get_last_applied_term(r));
    raft_destroy(r);
}

TEST(server_follower_refuses_entries)
{
    raft_server_t *r = server();
    raft_add_node(r, NULL, 1, 1);
    raft_add_node(r, NULL, 2, 0);
    raft_entry_t *e = raft_entry_new(0);
    raft_entry_resp_t resp;
    ASSERT_EQ(RAFT_ERR_NOT_LEADER, raft_recv_entry(r, e, &resp));
    ASSERT_EQ(1, e->refs);
    ASSERT_EQ(0, raft_get_current_idx(r));
    raft_entry_release(e);
    raft_destroy(r);
}

TEST(server_become_follower_keeps_the_term)
{
    raft_server_t *r = server();
    raft_add_node(r, NULL, 1, 1);
    raft_periodic(r);
    ASSERT(raft_is_leader(r));
    raft_become_follower(r);
    ASSERT_EQ(1, raft_is_follower(r));
    ASSERT_EQ(1, raft_get_current_term(r));
    ASSERT_EQ(RAFT_STATE_FOLLOWER, cb.last_state);
    raft_destroy(r);
}

TEST(server_state_strings_name_each_role)
{
    raft_server_t *r = server();
    raft_add_node(r, NULL, 1, 1);
    raft_add_node(r, NULL, 2, 0);
    ASSERT_STR_EQ("follower", raft_get_state_str(r));
    ASSERT_EQ(0, raft_become_candidate(r));
    ASSERT_EQ(1, raft_is_candidate(r));
    ASSERT_STR_EQ("candidate", raft_get_state_str(r));
    ASSERT_EQ(0, raft_become_leader(r));
    ASSERT_STR_EQ("leader", raft_get_state_str(r));
    raft_become_follower(r);
    ASSERT_EQ(0, raft_become_precandidate(r));
    ASSERT_EQ(1, raft_is_precandidate(r));
    ASSERT(raft_get_state_str(r) != NULL);
    raft_destroy(r);
}

TEST(server_periodic_internal_advances_the_elapsed_time)
{
    raft_server_t *r = server();
    raft_add_node(r, NULL, 1, 1);
    raft_add_node(r, NULL, 2, 0);
    ASSERT_EQ(0, raft_periodic_internal(r, 100));
    ASSERT_EQ(100, raft_get_timeout_elapsed(r));
    ASSERT_EQ(0, raft_periodic_internal(r, 150));
    ASSERT_EQ(250, raft_get_timeout_elapsed(r));
    ASSERT(raft_is_follower(r));
    raft_destroy(r);
}

TEST(server_follower_starts_an_election_after_the_timeout)
{
    raft_server_t *r = server();
    raft_add_node(r, NULL, 1, 1);
    raft_add_node(r, NULL, 2, 0);
    /* Randomised in [timeout, 2 x timeout): 2000 ms is always enough. */
    for (int i = 0; i < 21 && raft_is_follower(r); i++)
        raft_periodic_internal(r, 100);
    ASSERT(raft_is_precandidate(r) || raft_is_candidate(r));
    /* Pre-vote: no term increment before a majority would vote. */
    if (raft_is_precandidate(r))
        ASSERT_EQ(0, raft_get_current_term(r));
    raft_destroy(r);
}

TEST(server_append_and_pop_entry_change_the_log)
{
    raft_server_t *r = server();
    for (int i = 1; i <= 3; i++) {
        raft_entry_t *e = raft_entry_new(0);
        e->term = i;
        ASSERT_EQ(0, raft_append_entry(r, e));
        raft_entry_release(e);
    }
    ASSERT_EQ(3, raft_get_current_idx(r));
    ASSERT_EQ(3, raft_get_log_count(r));
    ASSERT_EQ(3, raft_get_last_log_term(r));
    ASSERT_EQ(1, raft_get_first_entry_idx(r));
    ASSERT_EQ(0, raft_pop_entry(r));
    ASSERT_EQ(2, raft_get_current_idx(r));
    ASSERT_EQ(2, raft_get_last_log_term(r));
    raft_destroy(r);
}

TEST(server_set_commit_idx_is_reported)
{
    raft_server_t *r = server();
    for (int i = 1; i <= 3; i++) {
        raft_entry_t *e = raft_entry_new(0);
        e->term = 1;
        raft_append_entry(r, e);
        raft_entry_release(e);
    }
    raft_set_commit_idx(r, 2);
    ASSERT_EQ(2, raft_get_commit_idx(r));
    raft_destroy(r);
}

TEST(server_clear_resets_term_vote_and_log)
{
    raft_server_t *r = server();
    raft_add_node(r, NULL, 1, 1);
    raft_periodic(r);
    ASSERT(raft_is_leader(r));
    raft_clear(r);
    ASSERT_EQ(0, raft_get_current_term(r));
    ASSERT_EQ(RAFT_NODE_ID_NONE, raft_get_voted_for(r));
    ASSERT_EQ(0, raft_get_current_idx(r));
    ASSERT_EQ(0, raft_get_commit_idx(r));
    ASSERT_EQ(0, raft_get_last_applied_idx(r));
    ASSERT_EQ(1, raft_is_follower(r));
    raft_destroy(r);
}

TEST(server_votes_is_majority)
{
    ASSERT_EQ(1, raft_votes_is_majority(1, 1));
    ASSERT_EQ(0, raft_votes_is_majority(3, 1));
    ASSERT_EQ(1, raft_votes_is_majority(3, 2));
    ASSERT_EQ(0, raft_votes_is_majority(4, 2));
    ASSERT_EQ(1, raft_votes_is_majority(4, 3));
    ASSERT_EQ(1, raft_votes_is_majority(5, 3));
}

TEST(server_is_single_node_voting_cluster)
{
    raft_server_t *r = server();
    raft_add_node(r, NULL, 1, 1);
    ASSERT_EQ(1, raft_is_single_node_voting_cluster(r));
    raft_add_non_voting_node(r, NULL, 2, 0);
    ASSERT_EQ(1, raft_is_single_node_voting_cluster(r));
    raft_add_node(r, NULL, 3, 0);
    ASSERT_EQ(0, raft_is_single_node_voting_cluster(r));
    raft_destroy(r);
}

TEST(server_error_strings_name_every_error)
{
    if (!raft_get_error_str)
        return; /* not exported: nothing to test */
    static const int errs[] = {
        RAFT_ERR_NOT_LEADER, RAFT_ERR_ONE_VOTING_CHANGE_ONLY, RAFT_ERR_SHUTDOWN,
        RAFT_ERR_NOMEM, RAFT_ERR_SNAPSHOT_IN_PROGRESS,
        RAFT_ERR_SNAPSHOT_ALREADY_LOADED, RAFT_ERR_INVALID_NODEID,
        RAFT_ERR_LEADER_TRANSFER_IN_PROGRESS, RAFT_ERR_DONE,
        RAFT_ERR_STALE_TERM, RAFT_ERR_NOTFOUND, RAFT_ERR_MISUSE,
    };
    for (size_t i = 0; i < sizeof(errs) / sizeof(errs[0]); i++) {
        const char *s = raft_get_error_str(errs[i]);
        ASSERT(s != NULL);
        ASSERT(strlen(s) > 0);
        for (size_t j = 0; j < i; j++)
            ASSERT(strcmp(s, raft_get_error_str(errs[j])) != 0);
    }
    /* Unknown codes still get a string. */
    ASSERT(raft_get_error_str(-1000) != NULL);
    ASSERT(raft_get_error_str(0) != NULL);
}

TEST_MAIN()
