/* Bad input never crashes: NULL server, node, entry or message pointers,
 * negative indexes and counts, unknown node ids. Each gets an error code, or
 * NULL / 0 / a no-op where the function has no error path (DESIGN.md).
 *
 * Where the contract names no particular error, these tests only require a
 * non-zero (error) return for functions that have an error path, and
 * survival for the rest. */
#include <limits.h>
#include "raft.h"
#include "raft_compat.h"
#include "test.h"

/* Declared by the contract's raft.h; repeated here (a compatible
 * redeclaration) so that this file still builds while include/raft.h lacks
 * it. test_header.c checks that raft.h itself declares it. */
extern const raft_log_impl_t raft_log_internal_impl;

static int cb_persist(raft_server_t *r, void *ud, raft_term_t t, raft_node_id_t v)
{
    (void)r; (void)ud; (void)t; (void)v;
    return 0;
}
static int cb_apply(raft_server_t *r, void *ud, raft_entry_t *e, raft_index_t idx)
{
    (void)r; (void)ud; (void)e; (void)idx;
    return 0;
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
static void read_cb(void *arg, int can_read) { (void)arg; (void)can_read; }

static raft_server_t *server(void)
{
    raft_server_t *r = raft_new();
    raft_cbs_t cbs;
    memset(&cbs, 0, sizeof(cbs));
    cbs.persist_metadata = cb_persist;
    cbs.applylog = cb_apply;
    cbs.send_appendentries = cb_send_ae;
    cbs.send_requestvote = cb_send_rv;
    raft_set_callbacks(r, &cbs, NULL);
    return r;
}

static raft_server_t *leader(void)
{
    raft_server_t *r = server();
    raft_add_node(r, NULL, 1, 1);
    raft_periodic(r);
    ASSERT(raft_is_leader(r));
    return r;
}

TEST(bad_input_null_server_lifecycle_calls_are_no_ops)
{
    raft_cbs_t cbs;
    memset(&cbs, 0, sizeof(cbs));
    raft_destroy(NULL);
    raft_clear(NULL);
    raft_set_callbacks(NULL, &cbs, NULL);
    raft_become_follower(NULL);
    raft_set_commit_idx(NULL, 3);
    raft_set_snapshot_metadata(NULL, 1, 1);
    raft_remove_node(NULL, NULL);
    raft_handle_append_cfg_change(NULL, NULL, 1);
    raft_set_state(NULL, RAFT_STATE_LEADER);
    raft_set_last_applied_idx(NULL, 1);
    raft_reset_transfer_leader(NULL, 0);
    raft_randomize_election_timeout(NULL);
    raft_update_quorum_meta(NULL, 1);
}

TEST(bad_input_null_server_calls_with_an_error_path_fail)
{
    raft_entry_t *e = raft_entry_new(0);
    raft_entry_resp_t eresp;
    raft_appendentries_req_t ae;
    raft_appendentries_resp_t aer;
    raft_requestvote_req_t rv;
    raft_requestvote_resp_t rvr;
    raft_snapshot_req_t sr;
    raft_snapshot_resp_t srr;
    memset(&ae, 0, sizeof(ae));
    memset(&aer, 0, sizeof(aer));
    memset(&rv, 0, sizeof(rv));
    memset(&rvr, 0, sizeof(rvr));
    memset(&sr, 0, sizeof(sr));
    memset(&srr, 0, sizeof(srr));
    int v = 0;

    ASSERT(raft_periodic(NULL) != 0);
    ASSERT(raft_periodic_internal(NULL, 10) != 0);
    ASSERT(raft_recv_entry(NULL, e, &eresp) != 0);
    ASSERT(raft_recv_appendentries(NULL, NULL, &ae, &aer) != 0);
    ASSERT(raft_recv_appendentries_response(NULL, NULL, &aer) != 0);
    ASSERT(raft_recv_requestvote(NULL, NULL, &rv, &rvr) != 0);
    ASSERT(raft_recv_requestvote_response(NULL, NULL, &rvr) != 0);
    ASSERT(raft_recv_snapshot(NULL, NULL, &sr, &srr) != 0);
    ASSERT(raft_recv_snapshot_response(NULL, NULL, &srr) != 0);
    ASSERT(raft_recv_read_request(NULL, read_cb, NULL) != 0);
    ASSERT(raft_append_entry(NULL, e) != 0);
    ASSERT(raft_pop_entry(NULL) != 0);
    ASSERT(raft_vote(NULL, NULL) != 0);
    ASSERT(raft_vote_for_nodeid(NULL, 1) != 0);
    ASSERT(raft_set_current_term(NULL, 1) != 0);
    ASSERT(raft_restore_metadata(NULL, 1, 1) != 0);
    ASSERT(raft_apply_all(NULL) != 0);
    ASSERT(raft_become_leader(NULL) != 0);
    ASSERT(raft_begin_snapshot(NULL) != 0);
    ASSERT(raft_end_snapshot(NULL) != 0);
    ASSERT(raft_cancel_snapshot(NULL) != 0);
    ASSERT(raft_restore_snapshot(NULL, 1, 1) != 0);
    ASSERT(raft_begin_load_snapshot(NULL, 1, 1) != 0);
    ASSERT(raft_end_load_snapshot(NULL) != 0);
    ASSERT(raft_transfer_leader(NULL, 1, 0) != 0);
    ASSERT(raft_timeout_now(NULL) != 0);
    ASSERT(raft_flush(NULL, 0) != 0);
    ASSERT(raft_config(NULL, 0, RAFT_CONFIG_ELECTION_TIMEOUT, &v) != 0);
    ASSERT(raft_config(NULL, 1, RAFT_CONFIG_ELECTION_TIMEOUT, 5) != 0);
    ASSERT(raft_delete_entry_from_idx(NULL, 1) != 0);
    ASSERT(raft_send_appendentries(NULL, NULL) != 0);
    ASSERT(raft_send_appendentries_all(NULL) != 0);
    ASSERT(raft_send_requestvote(NULL, NULL) != 0);
    ASSERT(raft_become_candidate(NULL) != 0);
    ASSERT(raft_become_precandidate(NULL) != 0);
    ASSERT(raft_election_start(NULL, 0) != 0);
    ASSERT(raft_apply_entry(NULL) != 0);
    ASSERT(e->refs == 1); /* nobody took a reference */
    raft_entry_release(e);
}

TEST(bad_input_null_server_getters_return_null_or_zero)
{
    raft_index_t n = 5;
    ASSERT(raft_get_my_node(NULL) == NULL);
    ASSERT(raft_get_entry_from_idx(NULL, 1) == NULL);
    ASSERT(raft_get_entries_from_idx(NULL, 1, &n) == NULL);
    ASSERT(raft_get_node(NULL, 1) == NULL);
    ASSERT(raft_get_node_from_idx(NULL, 0) == NULL);
    ASSERT(raft_get_leader_node(NULL) == NULL);
    ASSERT(raft_get_udata(NULL) == NULL);
    ASSERT(raft_get_last_applied_entry(NULL) == NULL);
    ASSERT(raft_get_log(NULL) == NULL);
    ASSERT(raft_add_node(NULL, NULL, 1, 1) == NULL);
    ASSERT(raft_add_non_voting_node(NULL, NULL, 1, 1) == NULL);
    ASSERT_EQ(0, raft_get_num_nodes(NULL));
    ASSERT_EQ(0, raft_get_num_voting_nodes(NULL));
    ASSERT_EQ(0, raft_get_log_count(NULL));
    ASSERT_EQ(0, raft_get_current_term(NULL));
    ASSERT_EQ(0, raft_get_current_idx(NULL));
    ASSERT_EQ(0, raft_get_commit_idx(NULL));
    ASSERT_EQ(0, raft_is_follower(NULL));
    ASSERT_EQ(0, raft_is_leader(NULL));
    ASSERT_EQ(0, raft_is_precandidate(NULL));
    ASSERT_EQ(0, raft_is_candidate(NULL));
    ASSERT_EQ(0, raft_get_last_applied_idx(NULL));
    ASSERT_EQ(0, raft_get_nvotes_for_me(NULL));
    ASSERT_EQ(0, raft_msg_entry_response_committed(NULL, NULL));
    ASSERT_EQ(0, raft_snapshot_is_in_progress(NULL));
    ASSERT_EQ(0, raft_voting_change_is_in_progress(NULL));
    ASSERT_EQ(0, raft_get_index_to_sync(NULL));
    ASSERT_EQ(0, raft_pending_operations(NULL));
    ASSERT_EQ(0, raft_is_single_node_voting_cluster(NULL));
    /* No stated value for these: they only must not crash. */
    (void)raft_get_nodeid(NULL);
    (void)raft_get_timeout_elapsed(NULL);
    (void)raft_get_voted_for(NULL);
    (void)raft_get_leader_id(NULL);
    (void)raft_get_state(NULL);
    (void)raft_get_state_str(NULL);
    (void)raft_get_last_log_term(NULL);
    (void)raft_is_apply_allowed(NULL);
    (void)raft_get_first_entry_idx(NULL);
    (void)raft_get_snapshot_last_idx(NULL);
    (void)raft_get_snapshot_last_term(NULL);
    (void)raft_get_transfer_leader(NULL);
    (void)raft_get_num_snapshottable_logs(NULL);
    (void)raft_get_msg_id(NULL);
}

TEST(bad_input_null_node_accessors_are_no_ops)
{
    ASSERT(raft_node_get_udata(NULL) == NULL);
    raft_node_set_udata(NULL, NULL);
    raft_node_set_next_idx(NULL, 3);
    raft_node_set_match_idx(NULL, 3);
    raft_node_set_voting(NULL, 1);
    raft_node_set_active(NULL, 1);
    raft_node_set_voting_committed(NULL, 1);
    raft_node_set_addition_committed(NULL, 1);
    raft_node_set_has_sufficient_logs(NULL, 1);
    raft_node_vote_for_me(NULL, 1);
    raft_node_clear_flags(NULL);
    raft_node_set_next_msgid(NULL, 1);
    raft_node_set_match_msgid(NULL, 1);
    raft_node_update_max_seen_msg_id(NULL, 1);
    raft_node_set_snapshot_offset(NULL, 1);
    raft_node_free(NULL);
    ASSERT_EQ(0, raft_node_get_next_idx(NULL));
    ASSERT_EQ(0, raft_node_get_match_idx(NULL));
    ASSERT_EQ(0, raft_node_is_voting(NULL));
    ASSERT_EQ(0, raft_node_is_active(NULL));
    ASSERT_EQ(0, raft_node_is_voting_committed(NULL));
    ASSERT_EQ(0, raft_node_is_addition_committed(NULL));
    ASSERT_EQ(0, raft_node_has_sufficient_logs(NULL));
    ASSERT_EQ(0, raft_node_has_vote_for_me(NULL));
    ASSERT_EQ(0, raft_node_get_snapshot_offset(NULL));
    (void)raft_node_get_id(NULL);
    (void)raft_node_get_next_msgid(NULL);
    (void)raft_node_get_match_msgid(NULL);
    (void)raft_node_get_max_seen_msg_id(NULL);
}

TEST(bad_input_null_node_on_a_server_is_refused_or_ignored)
{
    raft_server_t *r = leader();
    raft_appendentries_resp_t aer;
    raft_requestvote_resp_t rvr;
    raft_snapshot_resp_t srr;
    memset(&aer, 0, sizeof(aer));
    memset(&rvr, 0, sizeof(rvr));
    memset(&srr, 0, sizeof(srr));
    raft_remove_node(r, NULL);
    ASSERT_EQ(1, raft_get_num_nodes(r));
    /* Responses from no node in particular cannot be attributed: they are
     * refused or ignored, and change nothing. */
    (void)raft_recv_appendentries_response(r, NULL, &aer);
    (void)raft_recv_requestvote_response(r, NULL, &rvr);
    (void)raft_recv_snapshot_response(r, NULL, &srr);
    ASSERT(raft_send_appendentries(r, NULL) != 0);
    ASSERT(raft_send_requestvote(r, NULL) != 0);
    ASSERT(raft_is_leader(r));
    raft_destroy(r);
}

TEST(bad_input_null_messages_are_refused)
{
    raft_server_t *r = server();
    raft_add_node(r, NULL, 1, 1);
    raft_node_t *n2 = raft_add_node(r, NULL, 2, 0);
    raft_appendentries_req_t ae;
    raft_appendentries_resp_t aer;
    raft_requestvote_req_t rv;
    raft_requestvote_resp_t rvr;
    raft_snapshot_req_t sr;
    raft_snapshot_resp_t srr;
    memset(&ae, 0, sizeof(ae));
    memset(&rv, 0, sizeof(rv));
    memset(&sr, 0, sizeof(sr));
    ASSERT(raft_recv_appendentries(r, n2, NULL, &aer) != 0);
    ASSERT(raft_recv_appendentries(r, n2, &ae, NULL) != 0);
    ASSERT(raft_recv_appendentries_response(r, n2, NULL) != 0);
    ASSERT(raft_recv_requestvote(r, n2, NULL, &rvr) != 0);
    ASSERT(raft_recv_requestvote(r, n2, &rv, NULL) != 0);
    ASSERT(raft_recv_requestvote_response(r, n2, NULL) != 0);
    ASSERT(raft_recv_snapshot(r, n2, NULL, &srr) != 0);
    ASSERT(raft_recv_snapshot(r, n2, &sr, NULL) != 0);
    ASSERT(raft_recv_snapshot_response(r, n2, NULL) != 0);
    ASSERT_EQ(0, raft_msg_entry_response_committed(r, NULL));
    ASSERT_EQ(0, raft_get_current_term(r));
    raft_destroy(r);
}

TEST(bad_input_null_entry_is_refused)
{
    raft_server_t *r = leader();
    raft_index_t idx = raft_get_current_idx(r);
    raft_entry_resp_t resp;
    ASSERT(raft_recv_entry(r, NULL, &resp) != 0);
    ASSERT(raft_append_entry(r, NULL) != 0);
    ASSERT_EQ(idx, raft_get_current_idx(r));
    raft_entry_hold(NULL);
    raft_entry_release(NULL);
    raft_entry_release_list(NULL, 3);
    ASSERT_EQ(0, raft_entry_is_cfg_change(NULL));
    ASSERT_EQ(0, raft_entry_is_voting_cfg_change(NULL));
    raft_handle_append_cfg_change(r, NULL, 1);
    raft_destroy(r);
}

/* A missing response slot is not worth failing a proposal over, but must not
 * crash either: either outcome is accepted. */
TEST(bad_input_recv_entry_without_a_response_slot_does_not_crash)
{
    raft_server_t *r = leader();
    raft_entry_t *e = raft_entry_new(0);
    (void)raft_recv_entry(r, e, NULL);
    raft_entry_release(e);
    raft_destroy(r);
}

TEST(bad_input_negative_and_out_of_range_indexes)
{
    raft_server_t *r = leader();
    raft_index_t n = 7;
    ASSERT(raft_get_entry_from_idx(r, -1) == NULL);
    ASSERT(raft_get_entry_from_idx(r, 0) == NULL);
    ASSERT(raft_get_entry_from_idx(r, 1000) == NULL);
    ASSERT(raft_get_entry_from_idx(r, LONG_MIN) == NULL);
    ASSERT(raft_get_entry_from_idx(r, LONG_MAX) == NULL);
    raft_entry_t **es = raft_get_entries_from_idx(r, -1, &n);
    ASSERT(es == NULL || n == 0);
    es = raft_get_entries_from_idx(r, 1000, &n);
    ASSERT(es == NULL || n == 0);
    ASSERT(raft_get_entries_from_idx(r, 1, NULL) == NULL);
    ASSERT(raft_get_node_from_idx(r, -1) == NULL);
    ASSERT(raft_get_node_from_idx(r, 1000) == NULL);
    ASSERT(raft_get_node_from_idx(r, LONG_MIN) == NULL);
    /* Deleting committed entries, or from before the log, is refused. */
    ASSERT(raft_delete_entry_from_idx(r, -1) != 0);
    ASSERT(raft_delete_entry_from_idx(r, 0) != 0);
    ASSERT(raft_delete_entry_from_idx(r, 1) != 0);
    ASSERT_EQ(1, raft_get_current_idx(r));
    raft_destroy(r);
}

TEST(bad_input_negative_time_does_not_crash)
{
    raft_server_t *r = server();
    raft_add_node(r, NULL, 1, 1);
    raft_add_node(r, NULL, 2, 0);
    (void)raft_periodic_internal(r, -5); /* documented: read the clock */
    (void)raft_periodic_internal(r, LLONG_MIN);
    ASSERT(raft_get_timeout_elapsed(r) >= 0);
    raft_destroy(r);
}

TEST(bad_input_appendentries_with_bad_entry_counts_is_refused)
{
    raft_server_t *r = server();
    raft_add_node(r, NULL, 1, 1);
    raft_node_t *n2 = raft_add_node(r, NULL, 2, 0);
    raft_appendentries_req_t ae;
    raft_appendentries_resp_t aer;
    memset(&ae, 0, sizeof(ae));
    ae.term = 1;
    ae.leader_id = 2;
    ae.n_entries = -3;
    ae.entries = NULL;
    ASSERT(raft_recv_appendentries(r, n2, &ae, &aer) != 0 || aer.success == 0);
    ASSERT_EQ(0, raft_get_current_idx(r));
    ae.n_entries = 2;
    ae.entries = NULL;
    ASSERT(raft_recv_appendentries(r, n2, &ae, &aer) != 0 || aer.success == 0);
    ASSERT_EQ(0, raft_get_current_idx(r));
    /* A NULL among the entries. */
    raft_entry_t *es[2] = { raft_entry_new(0), NULL };
    es[0]->term = 1;
    ae.entries = es;
    (void)raft_recv_appendentries(r, n2, &ae, &aer);
    ASSERT(raft_get_current_idx(r) <= 1);
    raft_entry_release(es[0]);
    raft_destroy(r);
}

TEST(bad_input_unknown_node_ids)
{
    raft_server_t *r = leader();
    ASSERT(raft_get_node(r, 99) == NULL);
    ASSERT(raft_get_node(r, -7) == NULL);
    ASSERT(raft_get_node(r, INT_MAX) == NULL);
    ASSERT(raft_transfer_leader(r, 99, 0) != 0);
    ASSERT_EQ(RAFT_NODE_ID_NONE, raft_get_transfer_leader(r));
    ASSERT(raft_is_leader(r));
    raft_destroy(r);
}

TEST(bad_input_config_refuses_bad_values_and_a_null_destination)
{
    raft_server_t *r = server();
    int v = 0;
    ASSERT(raft_config(r, 0, RAFT_CONFIG_ELECTION_TIMEOUT, (int *)NULL) != 0);
    /* The table says "Positive integer" for both timeouts. */
    ASSERT(raft_config(r, 1, RAFT_CONFIG_ELECTION_TIMEOUT, -5) != 0);
    ASSERT(raft_config(r, 1, RAFT_CONFIG_ELECTION_TIMEOUT, 0) != 0);
    ASSERT(raft_config(r, 1, RAFT_CONFIG_REQUEST_TIMEOUT, -1) != 0);
    ASSERT_EQ(0, raft_config(r, 0, RAFT_CONFIG_ELECTION_TIMEOUT, &v));
    ASSERT_EQ(1000, v);
    ASSERT_EQ(0, raft_config(r, 0, RAFT_CONFIG_REQUEST_TIMEOUT, &v));
    ASSERT_EQ(200, v);
    raft_destroy(r);
}

TEST(bad_input_set_callbacks_with_null_struct_is_ignored)
{
    raft_server_t *r = leader();
    raft_set_callbacks(r, NULL, NULL);
    raft_entry_t *e = raft_entry_new(0);
    raft_entry_resp_t resp;
    ASSERT_EQ(0, raft_recv_entry(r, e, &resp));
    raft_entry_release(e);
    raft_destroy(r);
}

TEST(bad_input_server_without_callbacks_survives_every_step)
{
    /* Required callbacks missing: an error, never a jump to NULL. */
    raft_server_t *r = raft_new();
    raft_add_node(r, NULL, 1, 1);
    raft_add_node(r, NULL, 2, 0);
    for (int i = 0; i < 30; i++)
        (void)raft_periodic_internal(r, 100);
    raft_entry_t *e = raft_entry_new(0);
    raft_entry_resp_t resp;
    (void)raft_recv_entry(r, e, &resp);
    (void)raft_become_leader(r);
    (void)raft_recv_entry(r, e, &resp);
    (void)raft_send_appendentries_all(r);
    for (int i = 0; i < 5; i++)
        (void)raft_periodic_internal(r, 300);
    raft_entry_release(e);
    raft_destroy(r);
}

TEST(bad_input_null_log_compat_calls)
{
    raft_entry_t *out = NULL;
    long n = 3;
    raft_log_free(NULL);
    raft_log_clear(NULL);
    raft_log_clear_entries(NULL);
    raft_log_empty(NULL);
    raft_log_set_callbacks(NULL, NULL, NULL);
    ASSERT_EQ(0, raft_log_count(NULL));
    ASSERT_EQ(0, raft_log_get_current_idx(NULL));
    ASSERT_EQ(0, raft_log_get_base(NULL));
    ASSERT(raft_log_get_at_idx(NULL, 1) == NULL);
    ASSERT(raft_log_get_from_idx(NULL, 1, &n) == NULL);
    ASSERT(raft_log_peektail(NULL) == NULL);
    ASSERT(raft_log_append_entry(NULL, NULL) != 0);
    ASSERT(raft_log_poll(NULL, &out) != 0);
    ASSERT(raft_log_delete(NULL, 1) != 0);
    ASSERT(raft_log_load_from_snapshot(NULL, 1, 1) != 0);

    raft_log_t *l = raft_log_new();
    ASSERT(raft_log_append_entry(l, NULL) != 0);
    ASSERT(raft_log_poll(l, &out) != 0);
    ASSERT(raft_log_poll(l, NULL) != 0);
    ASSERT(raft_log_get_at_idx(l, -1) == NULL);
    ASSERT(raft_log_get_from_idx(l, -1, &n) == NULL || n == 0);
    ASSERT(raft_log_get_from_idx(l, 1, NULL) == NULL);
    /* Nothing at or after these indexes: an error or a no-op. */
    (void)raft_log_delete(l, -1);
    (void)raft_log_delete(l, 0);
    (void)raft_log_delete(l, 5);
    ASSERT_EQ(0, raft_log_count(l));
    raft_log_free(l);
}

TEST(bad_input_log_impl_vtable_bad_indexes)
{
    raft_server_t *r = raft_new();
    void *log = raft_log_internal_impl.init(r, NULL);
    raft_entry_t *arr[4];
    ASSERT(raft_log_internal_impl.get(log, -1) == NULL);
    ASSERT(raft_log_internal_impl.get_batch(log, -1, 4, arr) <= 0);
    ASSERT(raft_log_internal_impl.get_batch(log, 1, -4, arr) <= 0);
    ASSERT(raft_log_internal_impl.append(log, NULL) != 0);
    raft_log_internal_impl.free(log);
    raft_destroy(r);
}

TEST(bad_input_read_request_without_callback_is_refused)
{
    raft_server_t *r = leader();
    ASSERT(raft_recv_read_request(r, NULL, NULL) != 0);
    raft_destroy(r);
}

TEST_MAIN()
