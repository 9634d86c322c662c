/* Reads (issue 5): raft_recv_read_request(me, cb, arg). On a leader the
 * callback gets can_read = 1 only after a majority acknowledged a message
 * sent after the request and the applied index reached the commit index of
 * the request time (§6.4 of Ongaro's thesis, 2014); reads share rounds; a
 * non-leader returns RAFT_ERR_NOT_LEADER; a leader that steps down answers
 * pending reads with can_read = 0. */
#include "raft.h"
#include "support/cluster.h"
#include "test.h"

typedef struct {
    int calls, ones, zeros, last;
} rd_t;

static void read_cb(void *arg, int can_read)
{
    rd_t *r = arg;
    r->calls++;
    r->last = can_read;
    if (can_read)
        r->ones++;
    else
        r->zeros++;
}

static raft_node_id_t elect(cluster_t *c)
{
    raft_node_id_t l = cl_elect(c, 20000);
    ASSERT(l != 0);
    ASSERT(cl_converge(c, 5000));
    return l;
}

TEST(read_request_on_a_follower_returns_not_leader)
{
    cluster_t *c = cl_new(3, 1);
    raft_node_id_t l = elect(c), f = l % 3 + 1;
    rd_t rd = {0, 0, 0, 0};
    ASSERT_EQ(RAFT_ERR_NOT_LEADER, raft_recv_read_request(cl_raft(c, f), read_cb, &rd));
    cl_run(c, 500);
    ASSERT_EQ(0, rd.calls);
    cl_free(c);
}

TEST(read_on_the_leader_is_answered_after_a_majority_acknowledges)
{
    cluster_t *c = cl_new(3, 2);
    raft_node_id_t l = elect(c);
    raft_server_t *r = cl_raft(c, l);
    rd_t rd = {0, 0, 0, 0};
    c->hold_delivery = 1;
    ASSERT_EQ(0, raft_recv_read_request(r, read_cb, &rd));
    ASSERT_EQ(0, rd.calls);
    /* time passes but nothing is delivered: no answer */
    for (int i = 0; i < 30; i++)
        cl_tick(c, 10);
    ASSERT_EQ(0, rd.calls);
    c->hold_delivery = 0;
    cl_run(c, 300);
    ASSERT_EQ(1, rd.calls);
    ASSERT_EQ(1, rd.last);
    cl_free(c);
}

/* Acknowledgements of messages sent before the request do not count: they
 * do not prove that no newer leader existed when the read arrived. */
TEST(acks_of_messages_sent_before_the_request_do_not_count)
{
    cluster_t *c = cl_new(3, 3);
    raft_node_id_t l = elect(c);
    raft_server_t *r = cl_raft(c, l);
    rd_t rd = {0, 0, 0, 0};
    int old, i;
    c->hold_delivery = 1;
    for (i = 0; i < 50 && cl_queue_count(c, CL_MSG_AE, l, 0) < 2; i++)
        cl_tick(c, 10);
    ASSERT(cl_queue_count(c, CL_MSG_AE, l, 0) >= 2);
    old = c->net.qlen;
    ASSERT_EQ(0, raft_recv_read_request(r, read_cb, &rd));
    /* deliver only the old appendentries and their answers */
    for (i = 0; i < old; i++)
        cl_deliver_one(c);
    while ((i = cl_queue_find(c, CL_MSG_AE_RESP, 0, l, 0)) >= 0)
        cl_deliver_at(c, i);
    cl_periodic_one(c, l, 0);
    ASSERT_EQ(0, rd.ones);
    c->hold_delivery = 0;
    cl_run(c, 500);
    ASSERT_EQ(1, rd.ones);
    ASSERT_EQ(1, rd.calls);
    cl_free(c);
}

TEST(many_reads_share_one_heartbeat_round)
{
    cluster_t *c = cl_new(3, 4);
    raft_node_id_t l = elect(c);
    raft_server_t *r = cl_raft(c, l);
    rd_t rd[20];
    int sent;
    memset(rd, 0, sizeof(rd));
    cl_run(c, 50);
    sent = cl_srv(c, l)->sent[CL_MSG_AE];
    for (int i = 0; i < 20; i++)
        ASSERT_EQ(0, raft_recv_read_request(r, read_cb, &rd[i]));
    cl_run(c, 100); /* less than a request timeout */
    for (int i = 0; i < 20; i++) {
        ASSERT_EQ(1, rd[i].calls);
        ASSERT_EQ(1, rd[i].last);
    }
    /* one round to each of 2 followers, maybe a second; not one per read */
    ASSERT(cl_srv(c, l)->sent[CL_MSG_AE] - sent <= 4);
    cl_free(c);
}

/* The read waits until the state machine has applied everything committed
 * when the request arrived. */
TEST(read_waits_for_the_applied_index_to_reach_the_commit_index_of_request_time)
{
    cluster_t *c = cl_new(3, 5);
    raft_node_id_t l = elect(c);
    raft_server_t *r = cl_raft(c, l);
    rd_t rd = {0, 0, 0, 0};
    /* a snapshot needs two entries in the log, as in the original */
    ASSERT_EQ(0, cl_submit(c, l, 99, NULL));
    ASSERT(cl_converge(c, 5000));
    ASSERT_EQ(0, raft_begin_snapshot(r)); /* blocks applying */
    for (int i = 0; i < 3; i++)
        ASSERT_EQ(0, cl_submit(c, l, i, NULL));
    cl_run(c, 300);
    ASSERT(raft_get_commit_idx(r) > raft_get_last_applied_idx(r));
    ASSERT_EQ(0, raft_recv_read_request(r, read_cb, &rd));
    cl_run(c, 600);
    ASSERT_EQ(0, rd.ones);
    ASSERT_EQ(0, raft_end_snapshot(r));
    cl_run(c, 300);
    ASSERT_EQ(raft_get_commit_idx(r), raft_get_last_applied_idx(r));
    ASSERT_EQ(1, rd.ones);
    cl_free(c);
}

TEST(leader_that_steps_down_answers_pending_reads_with_can_read_0)
{
    cluster_t *c = cl_new(3, 6);
    raft_node_id_t l = elect(c), other = l % 3 + 1;
    raft_server_t *r = cl_raft(c, l);
    rd_t rd[3];
    raft_appendentries_req_t ae;
    raft_appendentries_resp_t resp;
    memset(rd, 0, sizeof(rd));
    c->hold_delivery = 1;
    for (int i = 0; i < 3; i++)
        ASSERT_EQ(0, raft_recv_read_request(r, read_cb, &rd[i]));
    memset(&ae, 0, sizeof(ae));
    ae.term = raft_get_current_term(r) + 1;
    ae.leader_id = other;
    ae.msg_id = 1;
    ae.prev_log_idx = raft_get_current_idx(r);
    ae.prev_log_term = raft_get_last_log_term(r);
    memset(&resp, 0, sizeof(resp));
    raft_recv_appendentries(r, raft_get_node(r, other), &ae, &resp);
    ASSERT(!raft_is_leader(r));
    cl_periodic_one(c, l, 0);
    for (int i = 0; i < 3; i++) {
        ASSERT_EQ(1, rd[i].calls);
        ASSERT_EQ(0, rd[i].last);
    }
    cl_drop_queue(c);
    c->hold_delivery = 0;
    cl_run(c, 1000);
    for (int i = 0; i < 3; i++)
        ASSERT_EQ(1, rd[i].calls);
    cl_free(c);
}

/* The seed library's pitfall: in a cluster of 4 voters, 2 are not a
 * majority; a read needs acknowledgements from 3 (the leader included). */
TEST(even_sized_cluster_needs_a_strict_majority_for_reads)
{
    cluster_t *c = cl_new(4, 7);
    raft_node_id_t l = elect(c), a = l % 4 + 1, b = a % 4 + 1, d = b % 4 + 1;
    rd_t rd = {0, 0, 0, 0};
    cl_link(c, l, b, 0);
    cl_link(c, l, d, 0);
    ASSERT_EQ(0, raft_recv_read_request(cl_raft(c, l), read_cb, &rd));
    cl_run(c, 600);
    ASSERT_EQ(0, rd.ones);
    cl_link(c, l, b, 1);
    cl_run(c, 400);
    ASSERT_EQ(1, rd.ones);
    (void)a;
    cl_free(c);
}

/* A single voter is its own majority: the read is answered at once
 * (interpretation: within the call or the next raft_periodic). */
TEST(single_voter_answers_reads_at_once)
{
    cluster_t *c = cl_new(1, 8);
    raft_server_t *r = cl_raft(c, 1);
    rd_t rd = {0, 0, 0, 0};
    cl_periodic_one(c, 1, 1);
    cl_periodic_one(c, 1, 1);
    ASSERT(raft_is_leader(r));
    ASSERT_EQ(0, raft_recv_read_request(r, read_cb, &rd));
    if (rd.calls == 0)
        cl_periodic_one(c, 1, 1);
    ASSERT_EQ(1, rd.calls);
    ASSERT_EQ(1, rd.last);
    cl_free(c);
}

/* An old leader cut off from the majority must never say can_read = 1 once
 * the majority may have moved on. */
TEST(partitioned_old_leader_never_reports_can_read_1)
{
    cluster_t *c = cl_new(5, 9);
    raft_node_id_t l = elect(c), side[2];
    rd_t rd[100];
    int n = 0, ones = 0;
    memset(rd, 0, sizeof(rd));
    side[0] = l;
    side[1] = l % 5 + 1;
    cl_partition(c, side, 2);
    for (int t = 0; t < 6000; t += 10) {
        if (raft_is_leader(cl_raft(c, l)) && n < 100 && t % 50 == 0)
            raft_recv_read_request(cl_raft(c, l), read_cb, &rd[n++]);
        cl_step(c);
    }
    ASSERT(n > 0);
    ASSERT(!raft_is_leader(cl_raft(c, l)));
    for (int i = 0; i < n; i++) {
        ones += rd[i].ones;
        ASSERT_EQ(1, rd[i].calls);
    }
    ASSERT_EQ(0, ones);
    ASSERT(cl_leader(c) != 0 && cl_leader(c) != l);
    cl_free(c);
}

/* Reads keep working across leader changes on the new leader. */
TEST(new_leader_serves_reads)
{
    cluster_t *c = cl_new(3, 10);
    raft_node_id_t l = elect(c), nl;
    rd_t rd = {0, 0, 0, 0};
    cl_crash(c, l);
    nl = cl_elect(c, 20000);
    ASSERT(nl != 0);
    ASSERT(cl_replicate(c, 1, 2000));
    ASSERT_EQ(0, raft_recv_read_request(cl_raft(c, nl), read_cb, &rd));
    cl_run(c, 500);
    ASSERT_EQ(1, rd.ones);
    cl_free(c);
}

TEST_MAIN()
