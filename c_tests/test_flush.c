/* Flush: RAFT_CONFIG_AUTO_FLUSH on (the default) and off,
 * raft_get_index_to_sync, raft_flush, the log's sync(). */
#include "raft.h"
#include "support/cluster.h"
#include "test.h"

static raft_node_id_t elect(cluster_t *c)
{
    raft_node_id_t l = cl_elect(c, 20000);
    ASSERT(l != 0);
    ASSERT(cl_converge(c, 5000));
    return l;
}

static int ae_with_entries(cluster_t *c, raft_node_id_t from)
{
    int n = 0;
    for (int i = 0; i < c->net.qlen; i++)
        if (c->net.q[i]->type == CL_MSG_AE && c->net.q[i]->from == from && c->net.q[i]->u.ae.n_entries > 0)
            n++;
    return n;
}

/* The contract: auto flush defaults to on (the seed library's real default). */
TEST(auto_flush_is_on_by_default)
{
    raft_server_t *r = raft_new();
    int v = -1;
    ASSERT_EQ(0, raft_config(r, 0, RAFT_CONFIG_AUTO_FLUSH, &v));
    ASSERT_EQ(1, v);
    ASSERT_EQ(0, raft_config(r, 1, RAFT_CONFIG_AUTO_FLUSH, 0));
    ASSERT_EQ(0, raft_config(r, 0, RAFT_CONFIG_AUTO_FLUSH, &v));
    ASSERT_EQ(0, v);
    raft_destroy(r);
}

/* With auto flush, every raft_recv_entry syncs the log and sends at once. */
TEST(auto_flush_syncs_and_sends_on_every_recv_entry)
{
    cluster_t *c = cl_new(3, 1);
    raft_node_id_t l = elect(c);
    cl_log_t *log = cl_srv(c, l)->log;
    c->hold_delivery = 1;
    for (int i = 1; i <= 3; i++) {
        int syncs = log->syncs;
        int before = ae_with_entries(c, l);
        ASSERT_EQ(0, cl_submit(c, l, i, NULL));
        ASSERT(log->syncs > syncs);
        ASSERT_EQ(before + 2, ae_with_entries(c, l));
    }
    cl_deliver_all(c);
    ASSERT_EQ(raft_get_current_idx(cl_raft(c, l)), raft_get_commit_idx(cl_raft(c, l)));
    cl_free(c);
}

TEST(follower_syncs_its_log_when_it_receives_entries)
{
    cluster_t *c = cl_new(3, 2);
    raft_node_id_t l = elect(c), f = l % 3 + 1;
    int syncs = cl_srv(c, f)->log->syncs;
    ASSERT_EQ(0, cl_submit(c, l, 1, NULL));
    cl_deliver_all(c);
    ASSERT(cl_srv(c, f)->log->syncs > syncs);
    ASSERT_EQ(0, raft_get_index_to_sync(cl_raft(c, f)));
    cl_free(c);
}

/* With auto flush off the leader appends without syncing or sending; the
 * application learns what to sync from raft_get_index_to_sync, each index
 * once. */
TEST(index_to_sync_reports_each_new_index_once)
{
    cluster_t *c = cl_new(3, 3);
    raft_node_id_t l = elect(c);
    raft_server_t *r = cl_raft(c, l);
    cl_log_t *log = cl_srv(c, l)->log;
    raft_index_t base = raft_get_current_idx(r);
    int syncs;
    ASSERT_EQ(0, raft_config(r, 1, RAFT_CONFIG_AUTO_FLUSH, 0));
    c->hold_delivery = 1;
    syncs = log->syncs;
    ASSERT_EQ(0, cl_submit(c, l, 1, NULL));
    ASSERT_EQ(0, cl_submit(c, l, 2, NULL));
    ASSERT_EQ(syncs, log->syncs);
    ASSERT_EQ(0, ae_with_entries(c, l));
    ASSERT_EQ(base + 2, raft_get_index_to_sync(r));
    ASSERT_EQ(0, raft_get_index_to_sync(r));
    ASSERT_EQ(0, cl_submit(c, l, 3, NULL));
    ASSERT_EQ(base + 3, raft_get_index_to_sync(r));
    ASSERT_EQ(0, raft_get_index_to_sync(r));
    cl_free(c);
}

/* raft_flush(me, idx) sends the entries, and once followers answer the
 * entries commit and apply. */
TEST(raft_flush_sends_commits_and_applies)
{
    cluster_t *c = cl_new(3, 4);
    raft_node_id_t l = elect(c);
    raft_server_t *r = cl_raft(c, l);
    raft_index_t idx;
    ASSERT_EQ(0, raft_config(r, 1, RAFT_CONFIG_AUTO_FLUSH, 0));
    c->hold_delivery = 1;
    for (int i = 0; i < 5; i++)
        ASSERT_EQ(0, cl_submit(c, l, i, NULL));
    idx = raft_get_index_to_sync(r);
    ASSERT_EQ(raft_get_current_idx(r), idx);
    ASSERT_EQ(0, raft_flush(r, idx));
    ASSERT(ae_with_entries(c, l) >= 2);
    /* batching: one message per follower carries all five */
    for (int i = 0; i < c->net.qlen; i++)
        if (c->net.q[i]->type == CL_MSG_AE && c->net.q[i]->u.ae.n_entries > 0)
            ASSERT_EQ(5, c->net.q[i]->u.ae.n_entries);
    cl_deliver_all(c);
    ASSERT_EQ(idx, raft_get_commit_idx(r));
    ASSERT_EQ(0, raft_flush(r, 0));
    ASSERT_EQ(idx, raft_get_last_applied_idx(r));
    ASSERT_EQ(idx, cl_srv(c, l)->applied_upto);
    cl_free(c);
}

/* A single voter is the whole majority: nothing commits before the
 * application says the entries are on disk. */
TEST(single_voter_commits_only_what_raft_flush_reports_synced)
{
    cluster_t *c = cl_new(1, 5);
    raft_server_t *r = cl_raft(c, 1);
    raft_index_t base;
    cl_periodic_one(c, 1, 1);
    cl_periodic_one(c, 1, 1);
    ASSERT(raft_is_leader(r));
    base = raft_get_commit_idx(r);
    ASSERT_EQ(raft_get_current_idx(r), base);
    ASSERT_EQ(0, raft_config(r, 1, RAFT_CONFIG_AUTO_FLUSH, 0));
    for (int i = 0; i < 3; i++)
        ASSERT_EQ(0, cl_submit(c, 1, i, NULL));
    cl_periodic_one(c, 1, 1);
    ASSERT_EQ(base, raft_get_commit_idx(r));
    ASSERT_EQ(base + 3, raft_get_index_to_sync(r));
    /* two of three synced so far */
    ASSERT_EQ(0, raft_flush(r, base + 2));
    ASSERT_EQ(base + 2, raft_get_commit_idx(r));
    ASSERT_EQ(base + 2, raft_get_last_applied_idx(r));
    ASSERT_EQ(0, raft_flush(r, base + 3));
    ASSERT_EQ(base + 3, raft_get_commit_idx(r));
    ASSERT_EQ(base + 3, raft_get_last_applied_idx(r));
    ASSERT_EQ(base + 3, cl_srv(c, 1)->applied_upto);
    cl_free(c);
}

TEST(raft_flush_with_zero_only_sends_and_applies)
{
    cluster_t *c = cl_new(1, 6);
    raft_server_t *r = cl_raft(c, 1);
    raft_index_t base;
    cl_periodic_one(c, 1, 1);
    cl_periodic_one(c, 1, 1);
    base = raft_get_commit_idx(r);
    ASSERT_EQ(0, raft_config(r, 1, RAFT_CONFIG_AUTO_FLUSH, 0));
    ASSERT_EQ(0, cl_submit(c, 1, 1, NULL));
    ASSERT_EQ(0, raft_flush(r, 0));
    ASSERT_EQ(base, raft_get_commit_idx(r));
    cl_free(c);
}

/* A loop like the header's example: batches of entries, one sync and one
 * flush per batch; everything converges and messages are batched. */
TEST(application_loop_with_auto_flush_off_converges_with_batched_messages)
{
    cluster_t *c = cl_new(3, 7);
    raft_node_id_t l = elect(c);
    raft_server_t *r = cl_raft(c, l);
    int sent_before = cl_srv(c, l)->sent[CL_MSG_AE];
    ASSERT_EQ(0, raft_config(r, 1, RAFT_CONFIG_AUTO_FLUSH, 0));
    for (int b = 0; b < 50; b++) {
        raft_index_t idx;
        for (int i = 0; i < 10; i++)
            ASSERT_EQ(0, cl_submit(c, l, b * 10 + i, NULL));
        idx = raft_get_index_to_sync(r);
        ASSERT_EQ(raft_get_current_idx(r), idx);
        ASSERT_EQ(0, raft_flush(r, idx));
        cl_step(c);
    }
    for (int i = 0; i < 20; i++) {
        raft_flush(r, 0);
        cl_step(c);
    }
    ASSERT(cl_converge(c, 5000));
    ASSERT(cl_srv(c, l)->sent[CL_MSG_AE] - sent_before < 300);
    ASSERT(cl_same_applied(c, 1, 2));
    ASSERT(cl_same_applied(c, 1, 3));
    ASSERT_EQ(0, cl_violations(c));
    cl_free(c);
}

TEST(turning_auto_flush_back_on_syncs_again)
{
    cluster_t *c = cl_new(3, 8);
    raft_node_id_t l = elect(c);
    raft_server_t *r = cl_raft(c, l);
    int syncs;
    ASSERT_EQ(0, raft_config(r, 1, RAFT_CONFIG_AUTO_FLUSH, 0));
    ASSERT_EQ(0, cl_submit(c, l, 1, NULL));
    raft_flush(r, raft_get_index_to_sync(r));
    ASSERT_EQ(0, raft_config(r, 1, RAFT_CONFIG_AUTO_FLUSH, 1));
    syncs = cl_srv(c, l)->log->syncs;
    ASSERT_EQ(0, cl_submit(c, l, 2, NULL));
    ASSERT(cl_srv(c, l)->log->syncs > syncs);
    ASSERT(cl_converge(c, 2000));
    cl_free(c);
}

/* ---- the built-in log with auto flush off: raft_recv_entry's common case
 * (no callback to run) and its other cases must agree. */

static struct {
    int applied;
    raft_index_t order[600];
    int propose_left; /* entries applylog still proposes */
    int nested_rc;
} lone;

static int lone_apply(raft_server_t *r, void *ud, raft_entry_t *e, raft_index_t idx)
{
    (void)ud; (void)e;
    if (lone.applied < 600)
        lone.order[lone.applied] = idx;
    lone.applied++;
    if (lone.propose_left > 0) {
        lone.propose_left--;
        raft_entry_t *n = raft_entry_new(4);
        raft_entry_resp_t resp;
        lone.nested_rc |= raft_recv_entry(r, n, &resp);
        lone.nested_rc |= resp.idx == raft_get_current_idx(r) ? 0 : -100;
        raft_entry_release(n);
    }
    return 0;
}

TEST(builtin_log_recv_entry_without_auto_flush_appends_answers_and_applies_in_order)
{
    raft_server_t *r = raft_new();
    raft_cbs_t cbs;
    memset(&cbs, 0, sizeof(cbs));
    cbs.applylog = lone_apply;
    raft_set_callbacks(r, &cbs, NULL);
    raft_add_node(r, NULL, 1, 1);
    ASSERT_EQ(0, raft_config(r, 1, RAFT_CONFIG_AUTO_FLUSH, 0));
    memset(&lone, 0, sizeof(lone));

    raft_entry_t *e = raft_entry_new(4);
    raft_entry_resp_t resp;
    ASSERT_EQ(RAFT_ERR_NOT_LEADER, raft_recv_entry(r, e, &resp));
    ASSERT_EQ(1, e->refs);
    ASSERT_EQ(0, raft_get_current_idx(r));

    ASSERT_EQ(0, raft_become_leader(r));
    raft_term_t term = raft_get_current_term(r);
    raft_index_t start = raft_get_current_idx(r); /* the leader's no-op, if any */
    /* Enough entries that the log grows several times on the way. */
    for (int i = 1; i <= 300; i++) {
        e->id = 7000 + i;
        memset(&resp, 0, sizeof(resp));
        ASSERT_EQ(0, raft_recv_entry(r, e, &resp));
        ASSERT_EQ(start + i, resp.idx);
        ASSERT_EQ(term, resp.term);
        ASSERT_EQ(7000 + i, resp.id);
        ASSERT_EQ(term, e->term);
        ASSERT_EQ(1 + i, e->refs);
    }
    ASSERT_EQ(start + 300, raft_get_current_idx(r));
    ASSERT_EQ(0, raft_recv_entry(r, e, NULL)); /* resp may be NULL */
    raft_entry_release(e);

    /* Proposals made from applylog land after the rest, each once. */
    lone.propose_left = 5;
    ASSERT_EQ(0, raft_flush(r, raft_get_index_to_sync(r)));
    while (raft_get_last_applied_idx(r) < raft_get_current_idx(r)) {
        raft_index_t before = raft_get_last_applied_idx(r);
        ASSERT_EQ(0, raft_flush(r, raft_get_index_to_sync(r)));
        ASSERT(raft_get_last_applied_idx(r) > before);
    }
    ASSERT_EQ(0, lone.nested_rc);
    ASSERT_EQ(start + 306, raft_get_current_idx(r));
    ASSERT_EQ(start + 306, lone.applied);
    for (int i = 0; i < lone.applied; i++)
        ASSERT_EQ(i + 1, lone.order[i]);
    raft_destroy(r);
}

TEST_MAIN()
