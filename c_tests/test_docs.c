/* Statements of the API documentation (include/raft.h, docs/guide.md) that
 * programs rely on, checked against the library: the order and arguments
 * of the built-in log's observers, what a server without callbacks does,
 * pre-votes against a live leader, applylog failures, the hold count's
 * saturation, index_to_sync. */
#include "raft.h"
#include "raft_compat.h"
#include "test.h"

/* ------------------------------------------------------------------ */

static struct {
    int n;
    raft_index_t idx[16];
    void *raft[16];
    void *udata[16];
} pops, offers;

static int on_pop(raft_server_t *r, void *ud, raft_entry_t *e, raft_index_t idx)
{
    (void)e;
    if (pops.n < 16) {
        pops.idx[pops.n] = idx;
        pops.raft[pops.n] = r;
        pops.udata[pops.n] = ud;
    }
    pops.n++;
    return 0;
}

static int on_offer(raft_server_t *r, void *ud, raft_entry_t *e, raft_index_t idx)
{
    (void)e;
    if (offers.n < 16) {
        offers.idx[offers.n] = idx;
        offers.raft[offers.n] = r;
        offers.udata[offers.n] = ud;
    }
    offers.n++;
    return 0;
}

static raft_entry_t *entry_of_term(raft_term_t term)
{
    raft_entry_t *e = raft_entry_new(1);
    e->term = term;
    e->type = RAFT_LOGTYPE_NORMAL;
    return e;
}

static int udata_marker;

/* guide, "Restarting" and raft_log_cbs_t: log_offer fires for entries a
 * restarting program replays with raft_append_entry, with the index each
 * gets, the server and the server's user data. */
TEST(log_offer_fires_for_replayed_entries_with_the_servers_user_data)
{
    raft_server_t *r = raft_new();
    raft_cbs_t cbs = {0};
    raft_log_cbs_t lcbs = {0};
    raft_set_callbacks(r, &cbs, &udata_marker);
    lcbs.log_offer = on_offer;
    raft_log_set_callbacks(raft_get_log(r), &lcbs, r);
    raft_add_node(r, NULL, 1, 1);
    raft_add_node(r, NULL, 2, 0);
    offers.n = 0;
    for (int i = 0; i < 3; i++) {
        raft_entry_t *e = entry_of_term(1);
        ASSERT_EQ(0, raft_append_entry(r, e));
        raft_entry_release(e);
    }
    ASSERT_EQ(3, offers.n);
    for (int i = 0; i < 3; i++) {
        ASSERT_EQ(i + 1, offers.idx[i]);
        ASSERT_PTR_EQ(r, offers.raft[i]);
        ASSERT_PTR_EQ(&udata_marker, offers.udata[i]);
    }
    raft_destroy(r);
}

/* raft_log_cbs_t: observers registered with another `raft` argument than
 * the owning server get that argument and NULL user data. */
TEST(log_observers_registered_with_another_argument_get_null_user_data)
{
    raft_server_t *r = raft_new();
    raft_cbs_t cbs = {0};
    raft_log_cbs_t lcbs = {0};
    int other;
    raft_set_callbacks(r, &cbs, &udata_marker);
    lcbs.log_offer = on_offer;
    raft_log_set_callbacks(raft_get_log(r), &lcbs, &other);
    raft_add_node(r, NULL, 1, 1);
    raft_add_node(r, NULL, 2, 0);
    offers.n = 0;
    raft_entry_t *e = entry_of_term(1);
    ASSERT_EQ(0, raft_append_entry(r, e));
    raft_entry_release(e);
    ASSERT_EQ(1, offers.n);
    ASSERT_PTR_EQ(&other, offers.raft[0]);
    ASSERT_PTR_EQ(NULL, offers.udata[0]);
    raft_destroy(r);
}

/* raft_log_cbs_t.log_pop and the guide: entries removed from the end of
 * the log are reported newest first, also when a leader's message
 * truncates a conflicting suffix. */
TEST(log_pop_reports_a_truncated_suffix_newest_first)
{
    raft_server_t *r = raft_new();
    raft_cbs_t cbs = {0};
    raft_log_cbs_t lcbs = {0};
    raft_set_callbacks(r, &cbs, &udata_marker);
    lcbs.log_pop = on_pop;
    raft_log_set_callbacks(raft_get_log(r), &lcbs, r);
    raft_add_node(r, NULL, 1, 1);
    raft_add_node(r, NULL, 2, 0);
    raft_add_node(r, NULL, 3, 0);
    for (int i = 0; i < 4; i++) { /* entries 1..4 of term 1 */
        raft_entry_t *e = entry_of_term(1);
        ASSERT_EQ(0, raft_append_entry(r, e));
        raft_entry_release(e);
    }
    ASSERT_EQ(0, raft_restore_metadata(r, 1, RAFT_NODE_ID_NONE));

    /* A leader of term 2 says entry 2 has term 2: 2..4 go, newest first. */
    raft_entry_t *e = entry_of_term(2);
    raft_entry_t *entries[1] = {e};
    raft_appendentries_req_t ae = {0};
    raft_appendentries_resp_t resp;
    ae.leader_id = 2;
    ae.msg_id = 1;
    ae.term = 2;
    ae.prev_log_idx = 1;
    ae.prev_log_term = 1;
    ae.leader_commit = 0;
    ae.n_entries = 1;
    ae.entries = entries;
    pops.n = 0;
    ASSERT_EQ(0, raft_recv_appendentries(r, raft_get_node(r, 2), &ae, &resp));
    ASSERT_EQ(1, resp.success);
    ASSERT_EQ(3, pops.n);
    ASSERT_EQ(4, pops.idx[0]);
    ASSERT_EQ(3, pops.idx[1]);
    ASSERT_EQ(2, pops.idx[2]);
    ASSERT_PTR_EQ(&udata_marker, pops.udata[0]);
    ASSERT_EQ(2, raft_get_current_idx(r));
    raft_entry_release(e);
    raft_destroy(r);
}

/* raft_cbs_t: every member may be NULL. A sole voter without any callback
 * becomes leader, takes entries and counts them applied. */
TEST(a_server_without_callbacks_runs_as_a_sole_voter)
{
    raft_server_t *r = raft_new();
    raft_entry_resp_t resp;
    raft_set_callbacks(r, NULL, NULL);
    ASSERT(raft_add_node(r, NULL, 1, 1) != NULL);
    ASSERT_EQ(0, raft_periodic(r));
    ASSERT(raft_is_leader(r));
    raft_entry_t *e = entry_of_term(0);
    ASSERT_EQ(0, raft_recv_entry(r, e, &resp));
    raft_entry_release(e);
    ASSERT_EQ(0, raft_periodic(r));
    ASSERT_EQ(resp.idx, raft_get_commit_idx(r));
    ASSERT_EQ(resp.idx, raft_get_last_applied_idx(r));
    ASSERT_EQ(1, raft_msg_entry_response_committed(r, &resp));
    raft_destroy(r);
}

static int fail_once_calls;
static int applylog_fails_once(raft_server_t *r, void *ud, raft_entry_t *e, raft_index_t idx)
{
    (void)r; (void)ud; (void)e; (void)idx;
    return fail_once_calls++ == 0 ? -42 : 0;
}

/* raft_cbs_t.applylog: a non-zero code stops applying, is returned by the
 * call that was applying, and the entry is handed over again. */
TEST(applylog_failure_is_returned_and_the_entry_offered_again)
{
    raft_server_t *r = raft_new();
    raft_cbs_t cbs = {0};
    raft_entry_resp_t resp;
    cbs.applylog = applylog_fails_once;
    raft_set_callbacks(r, &cbs, NULL);
    raft_add_node(r, NULL, 1, 1);
    fail_once_calls = 0;
    ASSERT_EQ(-42, raft_periodic(r)); /* leader; its no-op fails to apply */
    ASSERT(raft_is_leader(r));
    ASSERT_EQ(1, raft_get_commit_idx(r));
    ASSERT_EQ(0, raft_get_last_applied_idx(r));
    ASSERT(raft_pending_operations(r));
    ASSERT_EQ(0, raft_periodic(r));
    ASSERT_EQ(1, raft_get_last_applied_idx(r));
    ASSERT_EQ(2, fail_once_calls);
    ASSERT(!raft_pending_operations(r));
    ASSERT_EQ(0, raft_config(r, 1, RAFT_CONFIG_AUTO_FLUSH, 0));
    raft_entry_t *e = entry_of_term(0);
    ASSERT_EQ(0, raft_recv_entry(r, e, &resp));
    raft_entry_release(e);
    /* auto flush off: nothing commits until raft_flush reports it synced */
    ASSERT_EQ(0, raft_periodic(r));
    ASSERT_EQ(1, raft_get_commit_idx(r));
    ASSERT_EQ(resp.idx, raft_get_index_to_sync(r));
    ASSERT_EQ(0, raft_get_index_to_sync(r)); /* each index reported once */
    ASSERT_EQ(0, raft_flush(r, resp.idx));
    ASSERT_EQ(resp.idx, raft_get_last_applied_idx(r));
    raft_destroy(r);
}

/* raft_get_index_to_sync: 0 with auto flush on (the default). */
TEST(index_to_sync_is_0_with_auto_flush_on)
{
    raft_server_t *r = raft_new();
    raft_entry_resp_t resp;
    raft_set_callbacks(r, NULL, NULL);
    raft_add_node(r, NULL, 1, 1);
    ASSERT_EQ(0, raft_periodic(r));
    raft_entry_t *e = entry_of_term(0);
    ASSERT_EQ(0, raft_recv_entry(r, e, &resp));
    raft_entry_release(e);
    ASSERT_EQ(0, raft_get_index_to_sync(r));
    ASSERT_EQ(resp.idx, raft_get_commit_idx(r)); /* synced and committed at once */
    raft_destroy(r);
}

/* raft_recv_requestvote: a pre-vote is refused while a leader was heard
 * from within an election timeout; a real vote of a later term is not. */
TEST(prevote_is_refused_while_a_leader_is_live_but_a_real_vote_is_not)
{
    raft_server_t *r = raft_new();
    raft_requestvote_req_t rv = {0};
    raft_requestvote_resp_t resp;
    raft_appendentries_req_t hb = {0};
    raft_appendentries_resp_t hb_resp;
    raft_set_callbacks(r, NULL, NULL);
    raft_add_node(r, NULL, 1, 1);
    raft_add_node(r, NULL, 2, 0);
    raft_add_node(r, NULL, 3, 0);
    hb.leader_id = 2;
    hb.term = 1;
    hb.msg_id = 1;
    ASSERT_EQ(0, raft_recv_appendentries(r, raft_get_node(r, 2), &hb, &hb_resp));
    ASSERT_EQ(2, raft_get_leader_id(r));

    rv.prevote = 1;
    rv.term = 2;
    rv.candidate_id = 3;
    ASSERT_EQ(0, raft_recv_requestvote(r, raft_get_node(r, 3), &rv, &resp));
    ASSERT_EQ(0, resp.vote_granted);
    rv.prevote = 0;
    ASSERT_EQ(0, raft_recv_requestvote(r, raft_get_node(r, 3), &rv, &resp));
    ASSERT_EQ(1, resp.vote_granted);
    ASSERT_EQ(3, raft_get_voted_for(r));
    ASSERT_EQ(2, raft_get_current_term(r));
    raft_destroy(r);
}

/* raft_entry_hold: the count saturates; a saturated entry is never freed
 * (rather than freed while still in use). */
static int freed;
static void count_free(raft_entry_t *e)
{
    freed++;
    raft_free(e);
}

TEST(entry_reference_count_saturates_instead_of_wrapping)
{
    raft_entry_t *e = raft_entry_new(0);
    e->free_func = count_free;
    e->refs = 65535;
    raft_entry_hold(e);
    ASSERT_EQ(65535, e->refs);
    raft_entry_release(e);
    ASSERT_EQ(65535, e->refs);
    ASSERT_EQ(0, freed);
    e->refs = 1;
    raft_entry_release(e);
    ASSERT_EQ(1, freed);
}

/* raft_get_error_str names 0, -1 and every raft_error_e value. */
TEST(error_strings_name_every_code)
{
    ASSERT_STR_EQ("success", raft_get_error_str(0));
    ASSERT_STR_EQ("failed", raft_get_error_str(-1));
    for (int code = RAFT_ERR_MISUSE; code <= RAFT_ERR_NOT_LEADER; code++)
        ASSERT(strcmp(raft_get_error_str(code), "unknown error") != 0);
    ASSERT_STR_EQ("unknown error", raft_get_error_str(-1000));
}

TEST_MAIN()
