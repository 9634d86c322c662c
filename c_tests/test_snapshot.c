/* Snapshots (issue 4): raft_begin/end/cancel_snapshot, compaction, the
 * snapshot index and term, NONBLOCKING_APPLY, chunked transfer to a lagging
 * follower (get_snapshot_chunk, store_snapshot_chunk, load_snapshot,
 * clear_snapshot), backpressure with RAFT_ERR_DONE, retry after a failed
 * load, no snapshot for a follower whose log covers it. §5 of Ongaro's
 * thesis (2014). The snapshot image holds the applied entries and the
 * membership, so a follower that loads it has the same state machine. */
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

static void load(cluster_t *c, raft_node_id_t l, int n)
{
    for (int i = 0; i < n; i++)
        ASSERT_EQ(0, cl_submit(c, l, i, NULL));
    ASSERT(cl_converge(c, 5000));
}

static cluster_t *small_chunks(unsigned seed, raft_size_t chunk)
{
    cl_opts_t o;
    cl_default_opts(&o);
    o.chunk_size = chunk;
    return cl_new_opts(3, seed, &o);
}

/* Leader l with f cut off, n entries committed without f, then a snapshot. */
static void leave_behind(cluster_t *c, raft_node_id_t l, raft_node_id_t f, int n)
{
    cl_isolate(c, f);
    for (int i = 0; i < n; i++)
        ASSERT_EQ(0, cl_submit(c, l, 500 + i, NULL));
    cl_run(c, 300);
    ASSERT_EQ(raft_get_current_idx(cl_raft(c, l)), raft_get_commit_idx(cl_raft(c, l)));
    ASSERT_EQ(0, cl_snapshot(c, l));
    ASSERT(raft_get_snapshot_last_idx(cl_raft(c, l)) > raft_get_current_idx(cl_raft(c, f)));
}

TEST(begin_and_end_snapshot_compact_the_log_up_to_the_applied_index)
{
    cluster_t *c = cl_new(3, 1);
    raft_node_id_t l = elect(c);
    raft_server_t *r = cl_raft(c, l);
    raft_index_t applied, cur;
    raft_term_t term;
    load(c, l, 50);
    applied = raft_get_last_applied_idx(r);
    cur = raft_get_current_idx(r);
    term = raft_get_current_term(r);
    ASSERT_EQ(0, raft_get_snapshot_last_idx(r));
    ASSERT_EQ(1, raft_get_first_entry_idx(r));
    ASSERT_EQ(applied, raft_get_num_snapshottable_logs(r));
    ASSERT_EQ(0, raft_snapshot_is_in_progress(r));
    ASSERT_EQ(1, raft_is_apply_allowed(r));
    ASSERT_EQ(0, raft_begin_snapshot(r));
    ASSERT_EQ(1, raft_snapshot_is_in_progress(r));
    ASSERT_EQ(0, raft_is_apply_allowed(r));
    ASSERT_EQ(0, raft_end_snapshot(r));
    ASSERT_EQ(0, raft_snapshot_is_in_progress(r));
    ASSERT_EQ(1, raft_is_apply_allowed(r));
    ASSERT_EQ(applied, raft_get_snapshot_last_idx(r));
    ASSERT_EQ(term, raft_get_snapshot_last_term(r));
    ASSERT_EQ(applied + 1, raft_get_first_entry_idx(r));
    ASSERT_EQ(cur, raft_get_current_idx(r));
    ASSERT_EQ(cur - applied, raft_get_log_count(r));
    ASSERT_EQ(0, raft_get_num_snapshottable_logs(r));
    ASSERT(cl_srv(c, l)->log->polls > 0);
    ASSERT_EQ(applied, cl_srv(c, l)->log->base);
    ASSERT(raft_get_entry_from_idx(r, applied) == NULL);
    /* and the cluster goes on */
    load(c, l, 10);
    ASSERT_EQ(10, raft_get_num_snapshottable_logs(r));
    cl_free(c);
}

TEST(cancel_snapshot_leaves_the_log_untouched)
{
    cluster_t *c = cl_new(3, 2);
    raft_node_id_t l = elect(c);
    raft_server_t *r = cl_raft(c, l);
    raft_index_t count;
    load(c, l, 20);
    count = raft_get_log_count(r);
    ASSERT_EQ(0, raft_begin_snapshot(r));
    ASSERT_EQ(0, raft_cancel_snapshot(r));
    ASSERT_EQ(0, raft_snapshot_is_in_progress(r));
    ASSERT_EQ(count, raft_get_log_count(r));
    ASSERT_EQ(0, raft_get_snapshot_last_idx(r));
    ASSERT_EQ(1, raft_get_first_entry_idx(r));
    ASSERT_EQ(0, cl_srv(c, l)->log->polls);
    load(c, l, 5);
    cl_free(c);
}

TEST(snapshot_calls_out_of_order_are_refused)
{
    cluster_t *c = cl_new(3, 3);
    raft_node_id_t l = elect(c);
    raft_server_t *r = cl_raft(c, l);
    load(c, l, 5);
    ASSERT(raft_end_snapshot(r) != 0);
    ASSERT_EQ(0, raft_begin_snapshot(r));
    ASSERT(raft_begin_snapshot(r) != 0);
    ASSERT_EQ(0, raft_end_snapshot(r));
    cl_free(c);
}

/* Without NONBLOCKING_APPLY nothing is applied while a snapshot is taken;
 * the entries apply after it ends. */
TEST(entries_wait_for_the_snapshot_without_nonblocking_apply)
{
    cluster_t *c = cl_new(3, 4);
    raft_node_id_t l = elect(c), f = l % 3 + 1;
    raft_server_t *rf = cl_raft(c, f);
    raft_index_t applied;
    load(c, l, 10);
    applied = raft_get_last_applied_idx(rf);
    ASSERT_EQ(0, raft_begin_snapshot(rf));
    for (int i = 0; i < 5; i++)
        ASSERT_EQ(0, cl_submit(c, l, i, NULL));
    cl_run(c, 500);
    ASSERT(raft_get_commit_idx(rf) >= applied + 5);
    ASSERT_EQ(applied, raft_get_last_applied_idx(rf));
    ASSERT_EQ(applied, cl_srv(c, f)->applied_upto);
    ASSERT_EQ(0, raft_end_snapshot(rf));
    ASSERT_EQ(applied, raft_get_snapshot_last_idx(rf));
    cl_run(c, 300);
    ASSERT_EQ(raft_get_commit_idx(rf), raft_get_last_applied_idx(rf));
    cl_free(c);
}

TEST(nonblocking_apply_keeps_applying_during_a_snapshot)
{
    cluster_t *c = cl_new(3, 5);
    raft_node_id_t l = elect(c), f = l % 3 + 1;
    raft_server_t *rf = cl_raft(c, f);
    raft_index_t applied;
    int v = 0;
    load(c, l, 10);
    ASSERT_EQ(0, raft_config(rf, 1, RAFT_CONFIG_NONBLOCKING_APPLY, 1));
    ASSERT_EQ(0, raft_config(rf, 0, RAFT_CONFIG_NONBLOCKING_APPLY, &v));
    ASSERT_EQ(1, v);
    applied = raft_get_last_applied_idx(rf);
    ASSERT_EQ(0, raft_begin_snapshot(rf));
    ASSERT_EQ(1, raft_is_apply_allowed(rf));
    for (int i = 0; i < 5; i++)
        ASSERT_EQ(0, cl_submit(c, l, i, NULL));
    cl_run(c, 500);
    ASSERT_EQ(applied + 5, raft_get_last_applied_idx(rf));
    ASSERT_EQ(0, raft_end_snapshot(rf));
    /* the snapshot covers what was applied when it began */
    ASSERT_EQ(applied, raft_get_snapshot_last_idx(rf));
    ASSERT_EQ(applied + 1, raft_get_first_entry_idx(rf));
    cl_free(c);
}

/* §5.3: a follower that is behind the leader's compacted log gets the
 * snapshot in chunks, one send_snapshot per chunk, stores them, and loads
 * the image as one step after the last chunk; then log replication resumes. */
TEST(lagging_follower_catches_up_through_a_chunked_snapshot)
{
    cluster_t *c = small_chunks(6, 64);
    raft_node_id_t l = elect(c), f = l % 3 + 1;
    cl_server_t *sl, *sf;
    raft_index_t sidx;
    int chunks;
    sl = cl_srv(c, l);
    sf = cl_srv(c, f);
    leave_behind(c, l, f, 100);
    sidx = sl->disk.snap_idx;
    chunks = (int)((sl->disk.snap_len + 63) / 64);
    ASSERT(chunks > 10);
    cl_heal(c);
    load(c, l, 10);
    ASSERT_EQ(sidx, raft_get_snapshot_last_idx(sf->r));
    ASSERT_EQ(sidx, sf->disk.snap_idx);
    ASSERT_EQ(1, sf->load_calls);
    ASSERT(sf->store_calls >= chunks);
    ASSERT(sl->sent[CL_MSG_SNAP] >= chunks);
    ASSERT(cl_same_applied(c, l, f));
    ASSERT_EQ(raft_get_current_idx(sl->r), raft_get_current_idx(sf->r));
    ASSERT_EQ(0, cl_violations(c));
    cl_free(c);
}

/* The same over a lossy network: chunks and answers get lost, the transfer
 * resumes by offset and completes. */
TEST(partitioned_follower_gets_a_snapshot_in_many_small_chunks_despite_drops)
{
    cluster_t *c = small_chunks(7, 16);
    raft_node_id_t l = elect(c), f = l % 3 + 1;
    cl_server_t *sf = cl_srv(c, f);
    leave_behind(c, l, f, 150);
    cl_heal(c);
    c->drop_per_mille = 200;
    cl_run(c, 5000);
    c->drop_per_mille = 0;
    load(c, l, 5);
    ASSERT(sf->load_calls >= 1);
    ASSERT(sf->disk.snap_idx >= cl_srv(c, l)->disk.snap_idx);
    ASSERT(cl_same_applied(c, l, f));
    ASSERT_EQ(0, cl_violations(c));
    cl_free(c);
}

/* get_snapshot_chunk returning RAFT_ERR_DONE pauses the transfer: no
 * snapshot message is sent until it hands out chunks again. */
TEST(done_from_get_snapshot_chunk_pauses_the_transfer)
{
    cluster_t *c = small_chunks(8, 64);
    raft_node_id_t l = elect(c), f = l % 3 + 1;
    cl_server_t *sl = cl_srv(c, l);
    leave_behind(c, l, f, 100);
    sl->chunk_done = 1000000;
    cl_heal(c);
    cl_run(c, 2000);
    ASSERT(sl->chunk_calls > 0);
    ASSERT_EQ(0, sl->sent[CL_MSG_SNAP]);
    ASSERT_EQ(0, cl_srv(c, f)->store_calls);
    sl->chunk_done = 0;
    load(c, l, 5);
    ASSERT(sl->sent[CL_MSG_SNAP] > 0);
    ASSERT(cl_same_applied(c, l, f));
    cl_free(c);
}

/* The seed library's pitfall: a failed load_snapshot after the last chunk
 * must make the leader try again, not stall replication to the follower. */
TEST(failed_load_snapshot_makes_the_leader_retry)
{
    cluster_t *c = small_chunks(9, 256);
    raft_node_id_t l = elect(c), f = l % 3 + 1;
    cl_server_t *sf = cl_srv(c, f);
    leave_behind(c, l, f, 100);
    sf->fail_load = 1;
    cl_heal(c);
    load(c, l, 5);
    ASSERT_EQ(2, sf->load_calls);
    ASSERT_EQ(cl_srv(c, l)->disk.snap_idx, sf->disk.snap_idx);
    ASSERT(cl_same_applied(c, l, f));
    ASSERT_EQ(0, cl_violations(c));
    cl_free(c);
}

TEST(repeatedly_failing_load_snapshot_is_retried_until_it_works)
{
    cluster_t *c = small_chunks(10, 256);
    raft_node_id_t l = elect(c), f = l % 3 + 1;
    cl_server_t *sf = cl_srv(c, f);
    leave_behind(c, l, f, 60);
    sf->fail_load = 4;
    cl_heal(c);
    cl_run(c, 10000);
    load(c, l, 1);
    ASSERT_EQ(5, sf->load_calls);
    ASSERT(cl_same_applied(c, l, f));
    cl_free(c);
}

/* The seed library's pitfall: no snapshot for a follower whose log already
 * reaches the snapshot index; plain appendentries do. */
TEST(no_snapshot_is_sent_to_a_follower_whose_log_covers_it)
{
    cluster_t *c = cl_new(3, 11);
    raft_node_id_t l = elect(c), f = l % 3 + 1;
    load(c, l, 30);
    cl_isolate(c, f);
    ASSERT_EQ(0, cl_snapshot(c, l));
    ASSERT_EQ(raft_get_current_idx(cl_raft(c, f)), raft_get_snapshot_last_idx(cl_raft(c, l)));
    for (int i = 0; i < 5; i++)
        ASSERT_EQ(0, cl_submit(c, l, i, NULL));
    cl_run(c, 300);
    cl_heal(c);
    load(c, l, 5);
    ASSERT_EQ(0, cl_srv(c, l)->sent[CL_MSG_SNAP]);
    ASSERT_EQ(0, cl_srv(c, f)->load_calls);
    ASSERT(cl_same_applied(c, l, f));
    cl_free(c);
}

TEST(no_snapshot_is_sent_to_up_to_date_followers)
{
    cluster_t *c = cl_new(5, 12);
    raft_node_id_t l = elect(c);
    for (int round = 0; round < 5; round++) {
        load(c, l, 20);
        ASSERT_EQ(0, cl_snapshot(c, l));
    }
    load(c, l, 20);
    ASSERT_EQ(0, cl_srv(c, l)->sent[CL_MSG_SNAP]);
    cl_free(c);
}

/* While a follower receives a snapshot the leader takes a newer one: the
 * transfer restarts with the new one, the follower clears the partial one
 * (clear_snapshot) and ends with the newer snapshot. */
TEST(newer_snapshot_mid_transfer_restarts_it_and_clears_the_partial_one)
{
    cluster_t *c = small_chunks(13, 32);
    raft_node_id_t l = elect(c), f = l % 3 + 1;
    cl_server_t *sl = cl_srv(c, l), *sf = cl_srv(c, f);
    raft_index_t first;
    int i;
    leave_behind(c, l, f, 100);
    first = sl->disk.snap_idx;
    cl_heal(c);
    c->hold_delivery = 1;
    /* The leader may first probe f with appendentries (its next index for f
     * can be optimistic after pipelining): let those round trips through
     * until the first chunk is queued. */
    for (i = 0; i < 100 && cl_queue_find(c, CL_MSG_SNAP, l, f, 0) < 0; i++) {
        int j;
        cl_tick(c, 10);
        while ((j = cl_queue_find(c, CL_MSG_AE, l, f, 0)) >= 0 ||
               (j = cl_queue_find(c, CL_MSG_AE_RESP, f, l, 0)) >= 0)
            cl_deliver_at(c, j);
    }
    /* a few chunks get through */
    for (int k = 0; k < 3; k++) {
        int j = cl_queue_find(c, CL_MSG_SNAP, l, f, 0);
        if (j < 0)
            break;
        cl_deliver_at(c, j);
        while ((j = cl_queue_find(c, CL_MSG_SNAP_RESP, f, l, 0)) >= 0)
            cl_deliver_at(c, j);
    }
    ASSERT(sf->store_calls > 0);
    ASSERT_EQ(0, sf->load_calls);
    /* f is cut off again; the leader moves on and takes a newer snapshot */
    cl_drop_queue(c);
    c->hold_delivery = 0;
    cl_isolate(c, f);
    for (int k = 0; k < 50; k++)
        ASSERT_EQ(0, cl_submit(c, l, k, NULL));
    cl_run(c, 300);
    ASSERT_EQ(0, cl_snapshot(c, l));
    ASSERT(sl->disk.snap_idx > first);
    cl_heal(c);
    load(c, l, 5);
    ASSERT(sf->clear_calls >= 1);
    ASSERT_EQ(sl->disk.snap_idx, sf->disk.snap_idx);
    ASSERT(cl_same_applied(c, l, f));
    ASSERT_EQ(0, cl_violations(c));
    cl_free(c);
}

/* A follower that restarts with an old log after the leader compacted past
 * it is brought back by a snapshot too. */
TEST(restarted_follower_far_behind_is_brought_back_by_a_snapshot)
{
    cluster_t *c = small_chunks(14, 128);
    raft_node_id_t l = elect(c), f = l % 3 + 1;
    load(c, l, 10);
    cl_crash(c, f);
    for (int i = 0; i < 80; i++)
        ASSERT_EQ(0, cl_submit(c, l, i, NULL));
    cl_run(c, 300);
    ASSERT_EQ(0, cl_snapshot(c, l));
    ASSERT_EQ(0, cl_restart(c, f, 0));
    load(c, l, 5);
    ASSERT_EQ(1, cl_srv(c, f)->load_calls);
    ASSERT(cl_same_applied(c, l, f));
    ASSERT_EQ(0, cl_violations(c));
    cl_free(c);
}

/* The membership travels in the snapshot: a follower that loads it keeps
 * the right voters and can take part in elections. */
TEST(follower_that_loaded_a_snapshot_can_be_elected_later)
{
    cluster_t *c = small_chunks(15, 256);
    raft_node_id_t l = elect(c), f = l % 3 + 1, nl;
    leave_behind(c, l, f, 100);
    cl_heal(c);
    load(c, l, 5);
    ASSERT_EQ(3, raft_get_num_voting_nodes(cl_raft(c, f)));
    cl_crash(c, l);
    nl = cl_elect(c, 20000);
    ASSERT(nl != 0);
    ASSERT(cl_replicate(c, 1, 3000));
    ASSERT_EQ(0, cl_violations(c));
    cl_free(c);
}

/* raft_begin_load_snapshot refuses the snapshot a server already has. */
TEST(begin_load_snapshot_refuses_an_already_loaded_snapshot)
{
    cluster_t *c = cl_new(3, 16);
    raft_node_id_t l = elect(c), f = l % 3 + 1;
    raft_server_t *rf = cl_raft(c, f);
    raft_index_t idx;
    load(c, l, 10);
    ASSERT_EQ(0, cl_snapshot(c, f));
    idx = raft_get_current_idx(rf);
    ASSERT(raft_begin_load_snapshot(rf, raft_get_snapshot_last_term(rf), raft_get_snapshot_last_idx(rf)) != 0);
    ASSERT_EQ(idx, raft_get_current_idx(rf));
    ASSERT_EQ(3, raft_get_num_nodes(rf));
    cl_free(c);
}

TEST_MAIN()
