/* Leadership transfer (issue 5; §3.10 of Ongaro's thesis, 2014):
 * raft_transfer_leader to a target or to RAFT_NODE_ID_NONE, timeoutnow
 * through send_timeoutnow once the target has caught up, the target
 * campaigning at once without pre-vote (raft_timeout_now), proposals refused
 * meanwhile, notify_transfer_event, raft_get_transfer_leader, errors. */
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

static int cond_leader_is(cluster_t *c, void *arg)
{
    return cl_leader(c) == *(raft_node_id_t *)arg;
}

TEST(transfer_to_a_caught_up_voter_makes_it_leader)
{
    cluster_t *c = cl_new(3, 1);
    raft_node_id_t l = elect(c), t = l % 3 + 1;
    raft_server_t *r = cl_raft(c, l);
    raft_term_t term = raft_get_current_term(r);
    ASSERT_EQ(RAFT_NODE_ID_NONE, raft_get_transfer_leader(r));
    ASSERT_EQ(0, raft_transfer_leader(r, t, 0));
    ASSERT_EQ(t, raft_get_transfer_leader(r));
    ASSERT(cl_run_until(c, cond_leader_is, &t, 2000));
    ASSERT_EQ(1, cl_srv(c, l)->sent[CL_MSG_TIMEOUTNOW]);
    ASSERT(raft_get_current_term(cl_raft(c, t)) > term);
    ASSERT(!raft_is_leader(r));
    ASSERT_EQ(t, raft_get_leader_id(r));
    ASSERT_EQ(1, cl_srv(c, l)->transfer_events[RAFT_LEADER_TRANSFER_EXPECTED_LEADER]);
    ASSERT_EQ(0, cl_srv(c, l)->transfer_events[RAFT_LEADER_TRANSFER_TIMEOUT]);
    ASSERT_EQ(RAFT_NODE_ID_NONE, raft_get_transfer_leader(r));
    ASSERT(cl_replicate(c, 1, 2000));
    ASSERT_EQ(0, cl_violations(c));
    cl_free(c);
}

/* The target of a timeoutnow campaigns at once, as a candidate of the next
 * term, without a pre-vote round. */
TEST(target_campaigns_at_once_skipping_prevote)
{
    cluster_t *c = cl_new(3, 2);
    raft_node_id_t l = elect(c), t = l % 3 + 1;
    cl_server_t *st = cl_srv(c, t);
    raft_term_t term = raft_get_current_term(cl_raft(c, l));
    int prevotes = st->sent_prevote, i;
    c->hold_delivery = 1;
    ASSERT_EQ(0, raft_transfer_leader(cl_raft(c, l), t, 0));
    for (i = 0; i < 50 && cl_queue_find(c, CL_MSG_TIMEOUTNOW, l, t, 0) < 0; i++) {
        int j;
        while ((j = cl_queue_find(c, 0, 0, 0, 0)) >= 0 && cl_queue_find(c, CL_MSG_TIMEOUTNOW, 0, 0, 0) < 0)
            cl_deliver_at(c, j);
        if (cl_queue_find(c, CL_MSG_TIMEOUTNOW, l, t, 0) < 0)
            cl_tick(c, 10);
    }
    ASSERT((i = cl_queue_find(c, CL_MSG_TIMEOUTNOW, l, t, 0)) >= 0);
    cl_deliver_at(c, i);
    ASSERT(raft_is_candidate(st->r));
    ASSERT_EQ(term + 1, raft_get_current_term(st->r));
    ASSERT_EQ(prevotes, st->sent_prevote);
    ASSERT_EQ(term + 1, st->disk.term);
    ASSERT_EQ(t, st->disk.vote);
    c->hold_delivery = 0;
    cl_deliver_all(c);
    ASSERT(raft_is_leader(st->r));
    ASSERT_EQ(0, cl_violations(c));
    cl_free(c);
}

TEST(raft_timeout_now_starts_an_election_without_prevote)
{
    cluster_t *c = cl_new(3, 3);
    raft_server_t *r = cl_raft(c, 2);
    c->hold_delivery = 1;
    ASSERT_EQ(0, raft_timeout_now(r));
    ASSERT(raft_is_candidate(r));
    ASSERT_EQ(1, raft_get_current_term(r));
    ASSERT_EQ(0, cl_srv(c, 2)->sent_prevote);
    ASSERT_EQ(2, cl_srv(c, 2)->sent_vote);
    c->hold_delivery = 0;
    cl_deliver_all(c);
    ASSERT(raft_is_leader(r));
    cl_free(c);
}

TEST(proposals_during_a_transfer_get_leader_transfer_in_progress)
{
    cluster_t *c = cl_new(3, 4);
    raft_node_id_t l = elect(c), t = l % 3 + 1;
    c->hold_delivery = 1;
    ASSERT_EQ(0, raft_transfer_leader(cl_raft(c, l), t, 0));
    ASSERT_EQ(RAFT_ERR_LEADER_TRANSFER_IN_PROGRESS, cl_submit(c, l, 1, NULL));
    cl_free(c);
}

TEST(transfer_waits_until_the_target_has_caught_up)
{
    cluster_t *c = cl_new(3, 5);
    raft_node_id_t l = elect(c), t = l % 3 + 1;
    raft_index_t idx;
    cl_isolate(c, t);
    for (int i = 0; i < 20; i++)
        ASSERT_EQ(0, cl_submit(c, l, i, NULL));
    cl_run(c, 300);
    idx = raft_get_current_idx(cl_raft(c, l));
    ASSERT(raft_get_current_idx(cl_raft(c, t)) < idx);
    ASSERT_EQ(0, raft_transfer_leader(cl_raft(c, l), t, 5000));
    cl_run(c, 300);
    ASSERT_EQ(0, cl_srv(c, l)->sent[CL_MSG_TIMEOUTNOW]);
    cl_heal(c);
    ASSERT(cl_run_until(c, cond_leader_is, &t, 3000));
    ASSERT_EQ(1, cl_srv(c, l)->sent[CL_MSG_TIMEOUTNOW]);
    ASSERT(raft_get_current_idx(cl_raft(c, t)) > idx);
    ASSERT_EQ(1, cl_srv(c, l)->transfer_events[RAFT_LEADER_TRANSFER_EXPECTED_LEADER]);
    ASSERT_EQ(0, cl_violations(c));
    cl_free(c);
}

/* RAFT_NODE_ID_NONE picks the most up-to-date voter. */
TEST(transfer_to_none_picks_the_most_up_to_date_voter)
{
    cluster_t *c = cl_new(3, 6);
    raft_node_id_t l = elect(c), behind = l % 3 + 1, ahead = behind % 3 + 1;
    if (ahead == l)
        ahead = ahead % 3 + 1;
    cl_isolate(c, behind);
    for (int i = 0; i < 10; i++)
        ASSERT_EQ(0, cl_submit(c, l, i, NULL));
    cl_run(c, 300);
    cl_heal(c);
    c->hold_delivery = 1; /* behind stays behind for now */
    ASSERT_EQ(0, raft_transfer_leader(cl_raft(c, l), RAFT_NODE_ID_NONE, 0));
    ASSERT_EQ(ahead, raft_get_transfer_leader(cl_raft(c, l)));
    c->hold_delivery = 0;
    ASSERT(cl_run_until(c, cond_leader_is, &ahead, 3000));
    cl_free(c);
}

TEST(transfer_errors_for_unknown_non_voting_and_busy_cases)
{
    cluster_t *c = cl_new(3, 7);
    raft_node_id_t l = elect(c), t = l % 3 + 1, f2 = t % 3 + 1;
    raft_server_t *r = cl_raft(c, l);
    cl_add_server(c, 4);
    ASSERT_EQ(0, cl_submit_cfg(c, l, RAFT_LOGTYPE_ADD_NONVOTING_NODE, 4, NULL));
    ASSERT(cl_converge(c, 5000));
    ASSERT(raft_transfer_leader(r, 42, 0) != 0);
    ASSERT(raft_transfer_leader(r, 4, 0) != 0);
    ASSERT_EQ(RAFT_NODE_ID_NONE, raft_get_transfer_leader(r));
    ASSERT_EQ(RAFT_ERR_NOT_LEADER, raft_transfer_leader(cl_raft(c, t), f2 == l ? 4 : f2, 0));
    c->hold_delivery = 1;
    ASSERT_EQ(0, raft_transfer_leader(r, t, 0));
    ASSERT_EQ(RAFT_ERR_LEADER_TRANSFER_IN_PROGRESS, raft_transfer_leader(r, f2 == l ? t : f2, 0));
    ASSERT_EQ(t, raft_get_transfer_leader(r));
    cl_free(c);
}

/* A transfer to an unreachable node times out: TIMEOUT is reported, the
 * leader stays leader and takes proposals again. */
TEST(transfer_to_a_partitioned_node_times_out)
{
    cluster_t *c = cl_new(3, 8);
    raft_node_id_t l = elect(c), t = l % 3 + 1;
    raft_server_t *r = cl_raft(c, l);
    cl_isolate(c, t);
    ASSERT_EQ(0, raft_transfer_leader(r, t, 500));
    cl_run(c, 400);
    ASSERT_EQ(t, raft_get_transfer_leader(r));
    ASSERT_EQ(0, cl_srv(c, l)->transfer_events[RAFT_LEADER_TRANSFER_TIMEOUT]);
    cl_run(c, 300);
    ASSERT_EQ(1, cl_srv(c, l)->transfer_events[RAFT_LEADER_TRANSFER_TIMEOUT]);
    ASSERT_EQ(RAFT_LEADER_TRANSFER_TIMEOUT, cl_srv(c, l)->last_transfer_event);
    ASSERT_EQ(RAFT_NODE_ID_NONE, raft_get_transfer_leader(r));
    ASSERT(raft_is_leader(r));
    ASSERT_EQ(0, cl_submit(c, l, 1, NULL));
    cl_free(c);
}

/* timeout 0 means the election timeout (1000 ms by default). */
TEST(transfer_with_timeout_0_uses_the_election_timeout)
{
    cluster_t *c = cl_new(3, 9);
    raft_node_id_t l = elect(c), t = l % 3 + 1;
    raft_server_t *r = cl_raft(c, l);
    cl_isolate(c, t);
    ASSERT_EQ(0, raft_transfer_leader(r, t, 0));
    cl_run(c, 800);
    ASSERT_EQ(t, raft_get_transfer_leader(r));
    cl_run(c, 400);
    ASSERT_EQ(RAFT_NODE_ID_NONE, raft_get_transfer_leader(r));
    ASSERT_EQ(1, cl_srv(c, l)->transfer_events[RAFT_LEADER_TRANSFER_TIMEOUT]);
    cl_free(c);
}

/* If some other server takes over during the transfer, the result is
 * UNEXPECTED_LEADER. */
TEST(transfer_reports_an_unexpected_leader)
{
    cluster_t *c = cl_new(3, 10);
    raft_node_id_t l = elect(c), t = l % 3 + 1, u = t % 3 + 1;
    raft_server_t *r = cl_raft(c, l);
    raft_appendentries_req_t ae;
    raft_appendentries_resp_t resp;
    if (u == l)
        u = u % 3 + 1;
    cl_isolate(c, t);
    ASSERT_EQ(0, raft_transfer_leader(r, t, 5000));
    memset(&ae, 0, sizeof(ae));
    ae.term = raft_get_current_term(r) + 1;
    ae.leader_id = u;
    ae.msg_id = 1;
    ae.prev_log_idx = raft_get_current_idx(r);
    ae.prev_log_term = raft_get_last_log_term(r);
    memset(&resp, 0, sizeof(resp));
    raft_recv_appendentries(r, raft_get_node(r, u), &ae, &resp);
    ASSERT(!raft_is_leader(r));
    cl_periodic_one(c, l, 0);
    ASSERT_EQ(1, cl_srv(c, l)->transfer_events[RAFT_LEADER_TRANSFER_UNEXPECTED_LEADER]);
    ASSERT_EQ(0, cl_srv(c, l)->transfer_events[RAFT_LEADER_TRANSFER_EXPECTED_LEADER]);
    ASSERT_EQ(RAFT_NODE_ID_NONE, raft_get_transfer_leader(r));
    cl_free(c);
}

/* Transfers back and forth keep the log safe. */
TEST(repeated_transfers_keep_the_cluster_consistent)
{
    cluster_t *c = cl_new(5, 11);
    raft_node_id_t l = elect(c);
    for (int k = 0; k < 8; k++) {
        raft_node_id_t t = l % 5 + 1;
        for (int i = 0; i < 10; i++)
            ASSERT_EQ(0, cl_submit(c, l, k * 100 + i, NULL));
        ASSERT_EQ(0, raft_transfer_leader(cl_raft(c, l), t, 0));
        ASSERT(cl_run_until(c, cond_leader_is, &t, 3000));
        l = t;
    }
    ASSERT(cl_converge(c, 5000));
    for (int i = 2; i <= 5; i++)
        ASSERT(cl_same_applied(c, 1, i));
    ASSERT_EQ(0, cl_violations(c));
    cl_free(c);
}

TEST_MAIN()
