/* Replication, commit and apply: raft_recv_entry, raft_recv_appendentries,
 * raft_recv_appendentries_response, heartbeats, pipelining, backpressure,
 * get_entries_to_send, commit rules, applylog, check-quorum.
 * Section numbers refer to Ongaro's thesis (2014). */
#include "raft.h"
#include "support/cluster.h"
#include "test.h"

static raft_entry_t *mk_entry(raft_term_t term, int val)
{
    raft_entry_t *e = raft_entry_new(sizeof(int));
    e->term = term;
    e->type = RAFT_LOGTYPE_NORMAL;
    e->id = val;
    memcpy(e->data, &val, sizeof(int));
    return e;
}

/* Deliver every queued message of `type` (including ones that appear while
 * doing so), leaving the others queued. */
static void deliver_type(cluster_t *c, int type)
{
    int i;
    while ((i = cl_queue_find(c, type, 0, 0, 0)) >= 0)
        cl_deliver_at(c, i);
}

static void deliver_elections(cluster_t *c)
{
    while (cl_queue_find(c, CL_MSG_RV, 0, 0, 0) >= 0 || cl_queue_find(c, CL_MSG_RV_RESP, 0, 0, 0) >= 0) {
        deliver_type(c, CL_MSG_RV);
        deliver_type(c, CL_MSG_RV_RESP);
    }
}

static raft_node_id_t elect(cluster_t *c)
{
    raft_node_id_t l = cl_elect(c, 20000);
    ASSERT(l != 0);
    ASSERT(cl_converge(c, 5000));
    return l;
}

/* An appendentries from leader 1 of `term` to a fresh follower. */
static int send_ae(cluster_t *c, raft_node_id_t to, raft_term_t term, raft_index_t prev_idx, raft_term_t prev_term,
                   raft_index_t commit, raft_entry_t **ents, int n, raft_appendentries_resp_t *resp)
{
    raft_server_t *r = cl_raft(c, to);
    raft_appendentries_req_t ae;
    int rc;
    memset(&ae, 0, sizeof(ae));
    memset(resp, 0, sizeof(*resp));
    ae.leader_id = 1;
    ae.msg_id = 7;
    ae.term = term;
    ae.prev_log_idx = prev_idx;
    ae.prev_log_term = prev_term;
    ae.leader_commit = commit;
    ae.n_entries = n;
    ae.entries = ents;
    rc = raft_recv_appendentries(r, raft_get_node(r, 1), &ae, resp);
    return rc;
}

static void release_all(raft_entry_t **e, int n)
{
    for (int i = 0; i < n; i++)
        raft_entry_release(e[i]);
}

static raft_term_t term_at(raft_server_t *r, raft_index_t idx)
{
    raft_entry_t *e = raft_get_entry_from_idx(r, idx);
    raft_term_t t;
    if (!e)
        return -1;
    t = e->term;
    raft_entry_release(e);
    return t;
}

/* ---- raft_recv_entry ---------------------------------------------------- */

TEST(recv_entry_on_leader_returns_id_term_and_index)
{
    cluster_t *c = cl_new(3, 1);
    raft_node_id_t l = elect(c);
    raft_server_t *r = cl_raft(c, l);
    raft_entry_resp_t resp;
    raft_entry_t *e = cl_entry(c, RAFT_LOGTYPE_NORMAL, 5);
    raft_index_t before = raft_get_current_idx(r);
    c->hold_delivery = 1;
    ASSERT_EQ(0, raft_recv_entry(r, e, &resp));
    ASSERT_EQ(e->id, resp.id);
    ASSERT_EQ(raft_get_current_term(r), resp.term);
    ASSERT_EQ(before + 1, resp.idx);
    ASSERT_EQ(before + 1, raft_get_current_idx(r));
    raft_entry_release(e);
    ASSERT_EQ(0, raft_msg_entry_response_committed(r, &resp));
    cl_deliver_all(c);
    ASSERT_EQ(resp.idx, raft_get_commit_idx(r));
    ASSERT_EQ(1, raft_msg_entry_response_committed(r, &resp));
    cl_free(c);
}

TEST(recv_entry_on_follower_returns_not_leader)
{
    cluster_t *c = cl_new(3, 2);
    raft_node_id_t l = elect(c), f = l % 3 + 1;
    raft_index_t idx = raft_get_current_idx(cl_raft(c, f));
    ASSERT_EQ(RAFT_ERR_NOT_LEADER, cl_submit(c, f, 1, NULL));
    ASSERT_EQ(idx, raft_get_current_idx(cl_raft(c, f)));
    cl_free(c);
}

/* An entry response whose index was overwritten by a later leader is never
 * reported as committed (interpretation: any value but 1). */
TEST(entry_response_of_an_overwritten_entry_is_not_committed)
{
    cluster_t *c = cl_new(3, 3);
    raft_node_id_t l = elect(c), nl;
    raft_entry_resp_t resp;
    cl_isolate(c, l);
    ASSERT_EQ(0, cl_submit(c, l, 99, &resp));
    cl_run(c, 300);
    nl = cl_elect(c, 20000);
    ASSERT(nl != 0 && nl != l);
    for (int i = 0; i < 3; i++)
        ASSERT_EQ(0, cl_submit(c, nl, i, NULL));
    cl_heal(c);
    ASSERT(cl_converge(c, 10000));
    ASSERT(raft_msg_entry_response_committed(cl_raft(c, l), &resp) != 1);
    ASSERT(raft_msg_entry_response_committed(cl_raft(c, nl), &resp) != 1);
    ASSERT_EQ(0, cl_violations(c));
    cl_free(c);
}

/* ---- raft_recv_appendentries (follower side) ---------------------------- */

/* §3.5: a follower appends when the entry before the new ones matches. */
TEST(follower_appends_entries_when_previous_entry_matches)
{
    cluster_t *c = cl_new(3, 4);
    raft_server_t *r = cl_raft(c, 2);
    raft_appendentries_resp_t resp;
    raft_entry_t *e[2] = {mk_entry(1, 10), mk_entry(1, 11)};
    raft_entry_t *e3[1] = {mk_entry(1, 12)};
    ASSERT_EQ(0, send_ae(c, 2, 1, 0, 0, 0, e, 2, &resp));
    ASSERT_EQ(1, resp.success);
    ASSERT_EQ(1, resp.term);
    ASSERT_EQ(2, resp.current_idx);
    ASSERT_EQ(7, resp.msg_id);
    ASSERT_EQ(2, raft_get_current_idx(r));
    ASSERT_EQ(1, raft_get_leader_id(r));
    ASSERT(cl_srv(c, 2)->log->syncs >= 1);
    ASSERT_EQ(0, send_ae(c, 2, 1, 2, 1, 2, e3, 1, &resp));
    ASSERT_EQ(1, resp.success);
    ASSERT_EQ(3, resp.current_idx);
    ASSERT_EQ(3, raft_get_current_idx(r));
    ASSERT_EQ(2, raft_get_commit_idx(r));
    release_all(e, 2);
    release_all(e3, 1);
    cl_periodic_one(c, 2, 1);
    ASSERT_EQ(2, raft_get_last_applied_idx(r));
    ASSERT_EQ(2, cl_srv(c, 2)->applied_upto);
    cl_free(c);
}

TEST(follower_commit_index_is_capped_by_its_last_new_entry)
{
    cluster_t *c = cl_new(3, 5);
    raft_appendentries_resp_t resp;
    raft_entry_t *e[2] = {mk_entry(1, 10), mk_entry(1, 11)};
    ASSERT_EQ(0, send_ae(c, 2, 1, 0, 0, 50, e, 2, &resp));
    ASSERT_EQ(1, resp.success);
    ASSERT_EQ(2, raft_get_commit_idx(cl_raft(c, 2)));
    release_all(e, 2);
    cl_free(c);
}

TEST(follower_rejects_appendentries_whose_previous_entry_is_missing)
{
    cluster_t *c = cl_new(3, 6);
    raft_appendentries_resp_t resp;
    raft_entry_t *e[2] = {mk_entry(1, 10), mk_entry(1, 11)};
    raft_entry_t *late[1] = {mk_entry(1, 20)};
    send_ae(c, 2, 1, 0, 0, 0, e, 2, &resp);
    send_ae(c, 2, 1, 5, 1, 0, late, 1, &resp);
    ASSERT_EQ(0, resp.success);
    ASSERT_EQ(1, resp.term);
    /* the header: on failure current_idx is the follower's current index,
     * which lets the leader skip back at once */
    ASSERT_EQ(2, resp.current_idx);
    ASSERT_EQ(2, raft_get_current_idx(cl_raft(c, 2)));
    release_all(e, 2);
    release_all(late, 1);
    cl_free(c);
}

TEST(follower_rejects_appendentries_whose_previous_term_differs)
{
    cluster_t *c = cl_new(3, 7);
    raft_appendentries_resp_t resp;
    raft_entry_t *e[2] = {mk_entry(1, 10), mk_entry(1, 11)};
    raft_entry_t *x[1] = {mk_entry(3, 20)};
    send_ae(c, 2, 1, 0, 0, 0, e, 2, &resp);
    send_ae(c, 2, 3, 2, 2, 0, x, 1, &resp);
    ASSERT_EQ(0, resp.success);
    ASSERT_EQ(3, resp.term);
    ASSERT(resp.current_idx <= 2);
    ASSERT(raft_get_current_idx(cl_raft(c, 2)) <= 2);
    /* nothing of the rejected message was appended */
    ASSERT(term_at(cl_raft(c, 2), 3) == -1);
    release_all(e, 2);
    release_all(x, 1);
    cl_free(c);
}

TEST(follower_rejects_appendentries_of_a_stale_term)
{
    cluster_t *c = cl_new(3, 8);
    raft_appendentries_resp_t resp;
    raft_entry_t *e[1] = {mk_entry(1, 10)};
    raft_restore_metadata(cl_raft(c, 2), 4, RAFT_NODE_ID_NONE);
    send_ae(c, 2, 3, 0, 0, 0, e, 1, &resp);
    ASSERT_EQ(0, resp.success);
    ASSERT_EQ(4, resp.term);
    ASSERT_EQ(0, raft_get_current_idx(cl_raft(c, 2)));
    ASSERT_EQ(RAFT_NODE_ID_NONE, raft_get_leader_id(cl_raft(c, 2)));
    release_all(e, 1);
    cl_free(c);
}

/* §3.5: a conflicting suffix is removed (through the log's pop) and replaced
 * by the leader's entries. */
TEST(follower_truncates_a_conflicting_suffix_through_the_log_pop)
{
    cluster_t *c = cl_new(3, 9);
    raft_server_t *r = cl_raft(c, 2);
    raft_appendentries_resp_t resp;
    raft_entry_t *e[3] = {mk_entry(1, 10), mk_entry(1, 11), mk_entry(1, 12)};
    raft_entry_t *x[1] = {mk_entry(2, 21)};
    send_ae(c, 2, 1, 0, 0, 0, e, 3, &resp);
    ASSERT_EQ(3, raft_get_current_idx(r));
    ASSERT_EQ(0, send_ae(c, 2, 2, 1, 1, 0, x, 1, &resp));
    ASSERT_EQ(1, resp.success);
    ASSERT_EQ(2, resp.current_idx);
    ASSERT_EQ(2, raft_get_current_idx(r));
    ASSERT_EQ(1, term_at(r, 1));
    ASSERT_EQ(2, term_at(r, 2));
    ASSERT(cl_srv(c, 2)->log->pops >= 2);
    release_all(e, 3);
    release_all(x, 1);
    cl_free(c);
}

/* §3.5: entries already present and matching are kept, even when the
 * message carries fewer of them (it may be an old, delayed message). */
TEST(follower_keeps_matching_entries_beyond_a_shorter_message)
{
    cluster_t *c = cl_new(3, 10);
    raft_server_t *r = cl_raft(c, 2);
    raft_appendentries_resp_t resp;
    raft_entry_t *e[3] = {mk_entry(1, 10), mk_entry(1, 11), mk_entry(1, 12)};
    send_ae(c, 2, 1, 0, 0, 0, e, 3, &resp);
    ASSERT_EQ(0, send_ae(c, 2, 1, 0, 0, 0, e, 1, &resp));
    ASSERT_EQ(1, resp.success);
    ASSERT_EQ(3, raft_get_current_idx(r));
    ASSERT_EQ(0, cl_srv(c, 2)->log->pops);
    release_all(e, 3);
    cl_free(c);
}

/* A committed entry is never removed: a conflict with one is reported as
 * RAFT_ERR_SHUTDOWN (the contract's rule). */
TEST(follower_never_truncates_below_its_commit_index)
{
    cluster_t *c = cl_new(3, 11);
    raft_server_t *r = cl_raft(c, 2);
    raft_appendentries_resp_t resp;
    raft_entry_t *e[3] = {mk_entry(1, 10), mk_entry(1, 11), mk_entry(1, 12)};
    raft_entry_t *x[1] = {mk_entry(2, 21)};
    send_ae(c, 2, 1, 0, 0, 3, e, 3, &resp);
    ASSERT_EQ(3, raft_get_commit_idx(r));
    ASSERT_EQ(RAFT_ERR_SHUTDOWN, send_ae(c, 2, 2, 1, 1, 3, x, 1, &resp));
    ASSERT(resp.success != 1);
    ASSERT_EQ(3, raft_get_current_idx(r));
    ASSERT_EQ(1, term_at(r, 2));
    ASSERT_EQ(0, cl_srv(c, 2)->log->pops);
    release_all(e, 3);
    release_all(x, 1);
    cl_free(c);
}

/* ---- leader side: responses, pipelining, back-off ------------------------ */

/* With auto flush each raft_recv_entry sends at once; the leader does not
 * wait for responses before sending the next entries (pipelining), and each
 * message gets a larger msg_id. */
TEST(leader_pipelines_appendentries_with_increasing_msg_ids)
{
    cluster_t *c = cl_new(3, 12);
    raft_node_id_t l = elect(c), f = l % 3 + 1;
    raft_index_t last_prev = -1;
    raft_msg_id_t last_id = 0;
    int with_entries = 0;
    c->hold_delivery = 1;
    for (int i = 0; i < 3; i++)
        ASSERT_EQ(0, cl_submit(c, l, i, NULL));
    for (int i = 0; i < c->net.qlen; i++) {
        cl_msg_t *m = c->net.q[i];
        if (m->type != CL_MSG_AE || m->from != l || m->to != f)
            continue;
        ASSERT(m->u.ae.msg_id > last_id);
        last_id = m->u.ae.msg_id;
        if (m->u.ae.n_entries > 0) {
            ASSERT(m->u.ae.prev_log_idx > last_prev);
            last_prev = m->u.ae.prev_log_idx;
            with_entries++;
        }
    }
    ASSERT(with_entries >= 2);
    cl_deliver_all(c);
    /* Followers learn the new commit index from the next heartbeat, so the
     * network must deliver again. */
    c->hold_delivery = 0;
    ASSERT(cl_converge(c, 2000));
    cl_free(c);
}

/* msg_id makes stale, duplicate and reordered responses harmless: the match
 * index never goes back and the commit index is right. */
TEST(stale_duplicate_and_reordered_appendentries_responses_are_harmless)
{
    cluster_t *c = cl_new(3, 13);
    raft_node_id_t l = elect(c), f = l % 3 + 1;
    raft_server_t *r = cl_raft(c, l);
    raft_node_t *fn = raft_get_node(r, f);
    raft_appendentries_resp_t resps[16], stale;
    int n = 0;
    raft_index_t top;
    c->hold_delivery = 1;
    for (int i = 0; i < 4; i++)
        ASSERT_EQ(0, cl_submit(c, l, i, NULL));
    top = raft_get_current_idx(r);
    deliver_type(c, CL_MSG_AE);
    /* collect f's responses, then deliver them newest first */
    for (int i = 0; i < c->net.qlen && n < 16; i++)
        if (c->net.q[i]->type == CL_MSG_AE_RESP && c->net.q[i]->from == f)
            resps[n++] = c->net.q[i]->u.aer;
    ASSERT(n >= 2);
    while (cl_queue_find(c, CL_MSG_AE_RESP, f, 0, 0) >= 0)
        cl_drop_at(c, cl_queue_find(c, CL_MSG_AE_RESP, f, 0, 0));
    for (int i = n - 1; i >= 0; i--)
        raft_recv_appendentries_response(r, fn, &resps[i]);
    ASSERT_EQ(top, raft_node_get_match_idx(fn));
    ASSERT_EQ(top, raft_get_commit_idx(r));
    /* duplicates */
    for (int i = 0; i < n; i++)
        raft_recv_appendentries_response(r, fn, &resps[i]);
    ASSERT_EQ(top, raft_node_get_match_idx(fn));
    ASSERT(raft_node_get_next_idx(fn) > top);
    /* a stale rejection from long ago must not send next_idx backwards */
    stale = resps[0];
    stale.success = 0;
    stale.current_idx = 0;
    raft_recv_appendentries_response(r, fn, &stale);
    ASSERT_EQ(top, raft_node_get_match_idx(fn));
    ASSERT(raft_node_get_next_idx(fn) > top);
    ASSERT_EQ(top, raft_get_commit_idx(r));
    c->hold_delivery = 0;
    cl_deliver_all(c);
    ASSERT(cl_converge(c, 2000));
    ASSERT_EQ(0, cl_violations(c));
    cl_free(c);
}

/* Reordering and duplication on the wire, at random, under load. */
static int reorder_filter(cluster_t *c, cl_msg_t *m, void *arg)
{
    (void)arg;
    (void)m;
    /* push some messages back by swapping the head with a random later one */
    if (c->net.qlen > 1 && cl_rand(c) % 4 == 0) {
        int j = (int)(cl_rand(c) % (unsigned)c->net.qlen);
        cl_msg_t *t = c->net.q[0];
        c->net.q[0] = c->net.q[j];
        c->net.q[j] = t;
    }
    return 0;
}

TEST(replication_survives_reordered_messages)
{
    cluster_t *c = cl_new(5, 14);
    raft_node_id_t l = elect(c);
    c->filter = reorder_filter;
    for (int i = 0; i < 200; i++) {
        ASSERT_EQ(0, cl_submit(c, l, i, NULL));
        if (i % 10 == 0)
            cl_step(c);
    }
    ASSERT(cl_converge(c, 10000));
    ASSERT_EQ(l, cl_leader(c));
    for (int i = 2; i <= 5; i++)
        ASSERT(cl_same_applied(c, 1, i));
    ASSERT_EQ(0, cl_violations(c));
    cl_free(c);
}

/* On a rejection the leader moves next_idx straight to the follower's
 * current_idx + 1 instead of stepping back one entry at a time. */
TEST(leader_backs_off_to_the_followers_current_idx_at_once)
{
    cluster_t *c = cl_new(3, 15);
    raft_node_id_t l = elect(c), f = l % 3 + 1;
    raft_index_t fidx;
    int i;
    cl_isolate(c, f);
    for (int k = 0; k < 100; k++)
        ASSERT_EQ(0, cl_submit(c, l, k, NULL));
    cl_run(c, 500);
    fidx = raft_get_current_idx(cl_raft(c, f));
    ASSERT(raft_get_commit_idx(cl_raft(c, l)) > fidx + 50);
    cl_heal(c);
    c->hold_delivery = 1;
    /* the next heartbeat reaches f, which rejects it */
    for (i = 0; i < 100 && cl_queue_find(c, CL_MSG_AE, l, f, 0) < 0; i++)
        cl_tick(c, 10);
    ASSERT((i = cl_queue_find(c, CL_MSG_AE, l, f, 0)) >= 0);
    if (c->net.q[i]->u.ae.prev_log_idx <= fidx) {
        /* the leader never advanced next_idx past f: no back-off needed */
        c->hold_delivery = 0;
        ASSERT(cl_converge(c, 5000));
        cl_free(c);
        return;
    }
    cl_deliver_at(c, i);
    ASSERT((i = cl_queue_find(c, CL_MSG_AE_RESP, f, l, 0)) >= 0);
    ASSERT_EQ(0, c->net.q[i]->u.aer.success);
    ASSERT_EQ(fidx, c->net.q[i]->u.aer.current_idx);
    /* drop other traffic to f so the next message is the answer to this */
    while (cl_queue_find(c, CL_MSG_AE, l, f, 0) >= 0)
        cl_drop_at(c, cl_queue_find(c, CL_MSG_AE, l, f, 0));
    cl_deliver_at(c, cl_queue_find(c, CL_MSG_AE_RESP, f, l, 0));
    for (i = 0; i < 100 && cl_queue_find(c, CL_MSG_AE, l, f, 0) < 0; i++)
        cl_tick(c, 10);
    ASSERT((i = cl_queue_find(c, CL_MSG_AE, l, f, 0)) >= 0);
    ASSERT(c->net.q[i]->u.ae.prev_log_idx <= fidx);
    ASSERT(c->net.q[i]->u.ae.prev_log_idx >= fidx - 1);
    c->hold_delivery = 0;
    ASSERT(cl_converge(c, 5000));
    cl_free(c);
}

/* ---- heartbeats ---------------------------------------------------------- */

TEST(leader_sends_heartbeats_every_request_timeout)
{
    cluster_t *c = cl_new(3, 16);
    raft_node_id_t l = elect(c);
    cl_server_t *s = cl_srv(c, l);
    raft_term_t t = raft_get_current_term(s->r);
    int before = s->sent_heartbeats;
    cl_run(c, 2000);
    /* 2000 ms / 200 ms = 10 rounds to 2 followers */
    ASSERT(s->sent_heartbeats - before >= 16);
    ASSERT(s->sent_heartbeats - before <= 24);
    /* and nobody times out while they flow */
    cl_run(c, 10000);
    ASSERT_EQ(l, cl_leader(c));
    ASSERT_EQ(t, raft_get_current_term(s->r));
    cl_free(c);
}

TEST(heartbeat_interval_follows_the_configured_request_timeout)
{
    cl_opts_t o;
    cluster_t *c;
    raft_node_id_t l;
    int before;
    cl_default_opts(&o);
    o.request_timeout = 50;
    c = cl_new_opts(3, 17, &o);
    l = elect(c);
    before = cl_srv(c, l)->sent_heartbeats;
    cl_run(c, 1000);
    /* 20 rounds to 2 followers */
    ASSERT(cl_srv(c, l)->sent_heartbeats - before >= 34);
    ASSERT(cl_srv(c, l)->sent_heartbeats - before <= 46);
    cl_free(c);
}

/* ---- backpressure and get_entries_to_send -------------------------------- */

TEST(backpressure_callback_holds_appendentries_until_it_allows_them)
{
    cl_opts_t o;
    cluster_t *c;
    raft_node_id_t l, f;
    raft_index_t fidx;
    cl_default_opts(&o);
    o.use_backpressure = 1;
    c = cl_new_opts(3, 18, &o);
    l = elect(c);
    f = l % 3 + 1;
    fidx = raft_get_current_idx(cl_raft(c, f));
    cl_srv(c, l)->backpressure = 1;
    for (int i = 0; i < 10; i++)
        ASSERT_EQ(0, cl_submit(c, l, i, NULL));
    cl_run(c, 100);
    ASSERT(cl_srv(c, l)->backpressure_calls > 0);
    ASSERT_EQ(fidx, raft_get_current_idx(cl_raft(c, f)));
    ASSERT(raft_get_commit_idx(cl_raft(c, l)) < raft_get_current_idx(cl_raft(c, l)));
    cl_srv(c, l)->backpressure = 0;
    ASSERT(cl_converge(c, 2000));
    cl_free(c);
}

static raft_index_t max_entries_seen;
static int count_entries(cluster_t *c, cl_msg_t *m, void *arg)
{
    (void)c;
    (void)arg;
    if (m->type == CL_MSG_AE && m->u.ae.n_entries > max_entries_seen)
        max_entries_seen = m->u.ae.n_entries;
    return 0;
}

TEST(get_entries_to_send_bounds_the_entries_per_message)
{
    cl_opts_t o;
    cluster_t *c;
    raft_node_id_t l, f;
    cl_default_opts(&o);
    o.use_entries_cb = 1;
    c = cl_new_opts(3, 19, &o);
    l = elect(c);
    f = l % 3 + 1;
    cl_srv(c, l)->max_entries_per_msg = 2;
    cl_isolate(c, f);
    for (int i = 0; i < 20; i++)
        ASSERT_EQ(0, cl_submit(c, l, i, NULL));
    cl_run(c, 200);
    cl_heal(c);
    max_entries_seen = 0;
    c->filter = count_entries;
    ASSERT(cl_converge(c, 5000));
    ASSERT(cl_srv(c, l)->entries_cb_calls > 0);
    ASSERT_EQ(2, max_entries_seen);
    ASSERT(cl_same_applied(c, l, f));
    cl_free(c);
}

/* ---- commit -------------------------------------------------------------- */

/* §3.6: an entry commits once a majority of the voters store it. */
TEST(entry_commits_only_with_a_majority_of_voters)
{
    cluster_t *c = cl_new(5, 20);
    raft_node_id_t l = elect(c), side[2], third = 0;
    raft_entry_resp_t resp;
    side[0] = l;
    side[1] = l % 5 + 1;
    for (int i = 1; i <= 5 && !third; i++)
        if (i != side[0] && i != side[1])
            third = i;
    cl_partition(c, side, 2);
    ASSERT_EQ(0, cl_submit(c, l, 1, &resp));
    cl_run(c, 300);
    ASSERT(raft_get_commit_idx(cl_raft(c, l)) < resp.idx);
    ASSERT_EQ(0, raft_msg_entry_response_committed(cl_raft(c, l), &resp));
    /* a third voter is enough (well within an election timeout, so the
     * other side does not elect anyone meanwhile) */
    cl_link(c, l, third, 1);
    cl_run(c, 300);
    ASSERT(raft_get_commit_idx(cl_raft(c, l)) >= resp.idx);
    cl_free(c);
}

TEST(non_voting_nodes_do_not_count_towards_commit)
{
    cluster_t *c = cl_new(3, 21);
    raft_node_id_t l = elect(c), others[2];
    raft_entry_resp_t resp;
    int k = 0;
    cl_add_server(c, 4);
    cl_add_server(c, 5);
    ASSERT(raft_add_non_voting_node(cl_raft(c, l), NULL, 4, 0) != NULL);
    ASSERT(raft_add_non_voting_node(cl_raft(c, l), NULL, 5, 0) != NULL);
    for (int i = 1; i <= 3; i++)
        if (i != l)
            others[k++] = i;
    cl_link(c, l, others[0], 0);
    cl_link(c, l, others[1], 0);
    ASSERT_EQ(0, cl_submit(c, l, 1, &resp));
    cl_run(c, 500);
    /* the two non-voters have the entry, the voters do not */
    ASSERT(raft_get_current_idx(cl_raft(c, 4)) >= resp.idx);
    ASSERT(raft_get_commit_idx(cl_raft(c, l)) < resp.idx);
    cl_free(c);
}

/* Deliver only the election traffic, so the new leader's appendentries stay
 * queued. */
static raft_node_id_t elect_holding_ae(cluster_t *c, raft_node_id_t id)
{
    c->hold_delivery = 1;
    for (int t = 0; t < 2100 && raft_is_follower(cl_raft(c, id)); t += 10)
        cl_periodic_one(c, id, 10);
    deliver_elections(c);
    return raft_is_leader(cl_raft(c, id)) ? id : 0;
}

/* §3.6.2 (Figure 3.7): a leader never commits an entry of an earlier term
 * by counting replicas; it commits it only through an entry of its own. */
TEST(leader_commits_only_entries_of_its_current_term_by_counting_replicas)
{
    cluster_t *c = cl_new(3, 22);
    raft_server_t *r1 = cl_raft(c, 1);
    raft_appendentries_resp_t resp;
    int i;
    for (int n = 1; n <= 3; n++) {
        raft_entry_t *e = mk_entry(1, 100);
        ASSERT_EQ(0, raft_append_entry(cl_raft(c, n), e));
        raft_entry_release(e);
        ASSERT_EQ(0, raft_restore_metadata(cl_raft(c, n), 1, RAFT_NODE_ID_NONE));
        cl_srv(c, n)->disk.term = 1;
    }
    ASSERT_EQ(1, elect_holding_ae(c, 1));
    ASSERT_EQ(2, raft_get_current_term(r1));
    ASSERT_EQ(2, raft_get_current_idx(r1)); /* idx 1 (term 1), the no-op (term 2) */
    ASSERT((i = cl_queue_find(c, CL_MSG_AE, 1, 2, 0)) >= 0);
    /* node 2 acknowledges index 1 only: a majority stores it, but it is of
     * term 1 */
    memset(&resp, 0, sizeof(resp));
    resp.msg_id = c->net.q[i]->u.ae.msg_id;
    resp.term = 2;
    resp.success = 1;
    resp.current_idx = 1;
    raft_recv_appendentries_response(r1, raft_get_node(r1, 2), &resp);
    ASSERT_EQ(0, raft_get_commit_idx(r1));
    /* the real messages bring the no-op of term 2 to a majority */
    c->hold_delivery = 0;
    cl_deliver_all(c);
    ASSERT_EQ(2, raft_get_commit_idx(r1));
    cl_free(c);
}

/* ---- apply ---------------------------------------------------------------- */

TEST(applylog_is_called_once_per_entry_in_index_order_on_every_server)
{
    cluster_t *c = cl_new(3, 23);
    raft_node_id_t l = elect(c);
    for (int i = 0; i < 300; i++) {
        ASSERT_EQ(0, cl_submit(c, l, 1000 + i, NULL));
        if (i % 7 == 0)
            cl_step(c);
    }
    ASSERT(cl_converge(c, 5000));
    for (int n = 1; n <= 3; n++) {
        cl_server_t *s = cl_srv(c, n);
        int vals = 0;
        ASSERT_EQ(raft_get_commit_idx(cl_raft(c, l)), s->n_applied);
        for (raft_index_t k = 0; k < s->n_applied; k++) {
            ASSERT_EQ(k + 1, s->applied[k].idx);
            if (s->applied[k].type == RAFT_LOGTYPE_NORMAL)
                ASSERT_EQ(1000 + vals++, s->applied[k].val);
        }
        ASSERT_EQ(300, vals);
        ASSERT_EQ(s->n_applied, s->apply_calls);
    }
    ASSERT_EQ(0, cl_violations(c));
    cl_free(c);
}

TEST(applylog_shutdown_error_is_returned_to_the_caller)
{
    cluster_t *c = cl_new(1, 24);
    raft_server_t *r = cl_raft(c, 1);
    raft_entry_resp_t resp;
    int rc1, rc2 = 0;
    cl_periodic_one(c, 1, 1);
    cl_periodic_one(c, 1, 1);
    ASSERT(raft_is_leader(r));
    resp.idx = raft_get_current_idx(r) + 1; /* resp may be left unset on error */
    cl_srv(c, 1)->apply_fail_idx = raft_get_current_idx(r) + 1;
    cl_srv(c, 1)->apply_fail_rc = RAFT_ERR_SHUTDOWN;
    rc1 = cl_submit(c, 1, 7, &resp);
    if (rc1 != RAFT_ERR_SHUTDOWN)
        rc2 = cl_periodic_one(c, 1, 1);
    ASSERT(rc1 == RAFT_ERR_SHUTDOWN || rc2 == RAFT_ERR_SHUTDOWN);
    ASSERT_EQ(resp.idx - 1, raft_get_last_applied_idx(r));
    cl_free(c);
}

TEST(applylog_shutdown_error_on_a_follower_is_returned)
{
    cluster_t *c = cl_new(3, 25);
    raft_node_id_t l = elect(c), f = l % 3 + 1;
    cl_server_t *s = cl_srv(c, f);
    s->apply_fail_idx = raft_get_current_idx(cl_raft(c, l)) + 1;
    s->apply_fail_rc = RAFT_ERR_SHUTDOWN;
    ASSERT_EQ(0, cl_submit(c, l, 7, NULL));
    cl_run(c, 300);
    ASSERT((s->periodic_errors && s->last_periodic_error == RAFT_ERR_SHUTDOWN) ||
           (s->recv_errors && s->last_recv_error == RAFT_ERR_SHUTDOWN));
    ASSERT_EQ(s->apply_fail_idx - 1, raft_get_last_applied_idx(s->r));
    cl_free(c);
}

TEST(disable_apply_config_commits_without_calling_applylog)
{
    cluster_t *c = cl_new(3, 26);
    raft_node_id_t l = elect(c);
    int calls[4];
    for (int n = 1; n <= 3; n++) {
        int v = -1;
        ASSERT_EQ(0, raft_config(cl_raft(c, n), 1, RAFT_CONFIG_DISABLE_APPLY, 1));
        ASSERT_EQ(0, raft_config(cl_raft(c, n), 0, RAFT_CONFIG_DISABLE_APPLY, &v));
        ASSERT_EQ(1, v);
        calls[n] = cl_srv(c, n)->apply_calls;
    }
    for (int i = 0; i < 5; i++)
        ASSERT_EQ(0, cl_submit(c, l, i, NULL));
    cl_run(c, 500);
    ASSERT_EQ(raft_get_current_idx(cl_raft(c, l)), raft_get_commit_idx(cl_raft(c, l)));
    for (int n = 1; n <= 3; n++)
        ASSERT_EQ(calls[n], cl_srv(c, n)->apply_calls);
    cl_free(c);
}

/* Applying returns early after half a request timeout; raft_pending_operations
 * says more is ready, and later calls finish the work. The applylog callback
 * here takes 10 ms of (fake) time per entry. */
TEST(applying_is_throttled_to_half_a_request_timeout_per_call)
{
    cluster_t *c = cl_new(1, 27);
    raft_server_t *r = cl_raft(c, 1);
    raft_index_t after_first, a0;
    int calls = 0;
    cl_periodic_one(c, 1, 1);
    cl_periodic_one(c, 1, 1);
    ASSERT(raft_is_leader(r));
    ASSERT_EQ(0, raft_config(r, 1, RAFT_CONFIG_DISABLE_APPLY, 1));
    for (int i = 0; i < 100; i++)
        ASSERT_EQ(0, cl_submit(c, 1, i, NULL));
    cl_periodic_one(c, 1, 1);
    ASSERT_EQ(101, raft_get_commit_idx(r));
    a0 = raft_get_last_applied_idx(r);
    ASSERT(a0 <= 1);
    ASSERT_EQ(0, raft_config(r, 1, RAFT_CONFIG_DISABLE_APPLY, 0));
    cl_srv(c, 1)->apply_cost_us = 10000;
    cl_periodic_one(c, 1, 1);
    after_first = raft_get_last_applied_idx(r);
    ASSERT(after_first > a0);
    ASSERT(after_first <= a0 + 25); /* ~10 entries in 100 ms */
    ASSERT(raft_pending_operations(r) != 0);
    while (raft_get_last_applied_idx(r) < 101 && calls++ < 100)
        cl_periodic_one(c, 1, 1);
    ASSERT_EQ(101, raft_get_last_applied_idx(r));
    ASSERT_EQ(0, raft_pending_operations(r));
    ASSERT_EQ(0, cl_violations(c));
    cl_free(c);
}

/* ---- check-quorum --------------------------------------------------------- */

TEST(leader_steps_down_without_majority_acks_for_two_election_timeouts)
{
    cluster_t *c = cl_new(3, 28);
    raft_node_id_t l = elect(c);
    int t;
    cl_isolate(c, l);
    for (t = 0; t < 4200 && raft_is_leader(cl_raft(c, l)); t += 10)
        cl_step(c);
    ASSERT(!raft_is_leader(cl_raft(c, l)));
    ASSERT(t >= 900); /* not before it could have missed anything */
    cl_free(c);
}

TEST(leader_keeps_leading_while_a_majority_answers)
{
    cluster_t *c = cl_new(5, 29);
    raft_node_id_t l = elect(c);
    raft_term_t t = raft_get_current_term(cl_raft(c, l));
    /* two of four followers gone: leader + 2 is still a majority */
    cl_isolate(c, l % 5 + 1);
    cl_isolate(c, (l + 1) % 5 + 1);
    cl_run(c, 10000);
    ASSERT(raft_is_leader(cl_raft(c, l)));
    ASSERT_EQ(t, raft_get_current_term(cl_raft(c, l)));
    cl_free(c);
}

TEST(leader_of_a_minority_partition_steps_down_and_majority_elects_another)
{
    cluster_t *c = cl_new(5, 30);
    raft_node_id_t l = elect(c), side[2], nl;
    side[0] = l;
    side[1] = l % 5 + 1;
    cl_partition(c, side, 2);
    cl_run(c, 6000);
    ASSERT(!raft_is_leader(cl_raft(c, l)));
    nl = cl_leader(c);
    ASSERT(nl != 0 && nl != l && nl != side[1]);
    ASSERT_EQ(0, cl_violations(c));
    cl_free(c);
}

TEST_MAIN()
