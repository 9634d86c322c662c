/* Restart from persisted state: raft_restore_snapshot, raft_append_entry,
 * raft_restore_metadata (before or after the entries), raft_set_commit_idx,
 * raft_pop_entry, and a log implementation that already holds entries when
 * handed to raft_new_with_log. Section numbers: Ongaro's thesis (2014). */
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

static raft_entry_t *mk_entry(raft_term_t term, int val)
{
    raft_entry_t *e = raft_entry_new(sizeof(int));
    e->term = term;
    e->type = RAFT_LOGTYPE_NORMAL;
    e->id = val;
    memcpy(e->data, &val, sizeof(int));
    return e;
}

static void check_restart(int metadata_first)
{
    cluster_t *c = cl_new(3, 1 + (unsigned)metadata_first);
    raft_node_id_t l = elect(c), f = l % 3 + 1;
    raft_term_t term;
    raft_node_id_t vote;
    raft_index_t idx;
    load(c, l, 20);
    term = raft_get_current_term(cl_raft(c, f));
    vote = raft_get_voted_for(cl_raft(c, f));
    idx = raft_get_current_idx(cl_raft(c, f));
    cl_crash(c, f);
    ASSERT_EQ(0, cl_restart(c, f, metadata_first));
    ASSERT_EQ(term, raft_get_current_term(cl_raft(c, f)));
    ASSERT_EQ(vote, raft_get_voted_for(cl_raft(c, f)));
    ASSERT_EQ(idx, raft_get_current_idx(cl_raft(c, f)));
    ASSERT_EQ(idx, raft_get_log_count(cl_raft(c, f)));
    ASSERT_EQ(raft_get_last_log_term(cl_raft(c, l)), raft_get_last_log_term(cl_raft(c, f)));
    ASSERT(raft_is_follower(cl_raft(c, f)));
    /* the commit index is learnt again from the leader; entries re-apply */
    load(c, l, 5);
    ASSERT(cl_same_applied(c, l, f));
    ASSERT_EQ(raft_get_commit_idx(cl_raft(c, l)), cl_srv(c, f)->n_applied);
    ASSERT_EQ(0, cl_violations(c));
    cl_free(c);
}

TEST(follower_restarts_from_entries_then_metadata)
{
    check_restart(0);
}

/* The contract accepts metadata before the entries too (the seed library
 * needed it before an entry of a later term). */
TEST(follower_restarts_from_metadata_then_entries)
{
    check_restart(1);
}

/* §3.8: votes survive restarts: a server that voted in a term does not vote
 * for another candidate in that term after restarting. */
TEST(restarted_server_does_not_vote_twice_in_a_term)
{
    cluster_t *c = cl_new(3, 3);
    raft_node_id_t l = elect(c), f = l % 3 + 1, other = f % 3 + 1;
    raft_requestvote_req_t rv;
    raft_requestvote_resp_t resp;
    raft_server_t *r;
    if (other == l)
        other = other % 3 + 1;
    cl_crash(c, f);
    ASSERT_EQ(0, cl_restart(c, f, 0));
    r = cl_raft(c, f);
    if (raft_get_voted_for(r) == RAFT_NODE_ID_NONE) {
        /* f did not vote in this term (the leader won without it) */
        cl_free(c);
        return;
    }
    memset(&rv, 0, sizeof(rv));
    rv.term = raft_get_current_term(r);
    rv.candidate_id = raft_get_voted_for(r) == other ? l : other;
    rv.last_log_idx = raft_get_current_idx(r) + 10;
    rv.last_log_term = raft_get_current_term(r);
    memset(&resp, 0, sizeof(resp));
    raft_recv_requestvote(r, raft_get_node(r, rv.candidate_id), &rv, &resp);
    ASSERT_EQ(0, resp.vote_granted);
    cl_free(c);
}

/* After a full-cluster crash every committed entry is still there (§3.6.3
 * leader completeness) and applies again in the same order. */
TEST(whole_cluster_restarts_and_keeps_committed_entries)
{
    cluster_t *c = cl_new(3, 4);
    raft_node_id_t l = elect(c), nl;
    raft_index_t committed;
    load(c, l, 50);
    committed = raft_get_commit_idx(cl_raft(c, l));
    for (int i = 1; i <= 3; i++)
        cl_crash(c, i);
    for (int i = 1; i <= 3; i++)
        ASSERT_EQ(0, cl_restart(c, i, i % 2));
    nl = elect(c);
    ASSERT(raft_get_commit_idx(cl_raft(c, nl)) > committed);
    for (int i = 1; i <= 3; i++)
        ASSERT(cl_srv(c, i)->applied_upto > committed);
    ASSERT(cl_same_applied(c, 1, 2));
    ASSERT(cl_same_applied(c, 1, 3));
    ASSERT_EQ(0, cl_violations(c));
    cl_free(c);
}

TEST(restart_with_a_snapshot_restores_its_index_and_term)
{
    cluster_t *c = cl_new(3, 5);
    raft_node_id_t l = elect(c), f = l % 3 + 1;
    raft_server_t *r;
    raft_index_t sidx, cur;
    raft_term_t sterm;
    load(c, l, 30);
    ASSERT_EQ(0, cl_snapshot(c, f));
    sidx = raft_get_snapshot_last_idx(cl_raft(c, f));
    sterm = raft_get_snapshot_last_term(cl_raft(c, f));
    ASSERT(sidx > 0);
    load(c, l, 5);
    cur = raft_get_current_idx(cl_raft(c, f));
    cl_crash(c, f);
    ASSERT_EQ(0, cl_restart(c, f, 0));
    r = cl_raft(c, f);
    ASSERT_EQ(sidx, raft_get_snapshot_last_idx(r));
    ASSERT_EQ(sterm, raft_get_snapshot_last_term(r));
    ASSERT_EQ(sidx + 1, raft_get_first_entry_idx(r));
    ASSERT_EQ(cur, raft_get_current_idx(r));
    ASSERT_EQ(cur - sidx, raft_get_log_count(r));
    ASSERT(raft_get_commit_idx(r) >= sidx);
    ASSERT_EQ(sidx, raft_get_last_applied_idx(r));
    load(c, l, 5);
    ASSERT(cl_same_applied(c, l, f));
    ASSERT_EQ(0, cl_violations(c));
    cl_free(c);
}

TEST(restore_snapshot_on_a_running_server_is_misuse)
{
    cluster_t *c = cl_new(3, 6);
    raft_node_id_t l = elect(c);
    load(c, l, 3);
    ASSERT_EQ(RAFT_ERR_MISUSE, raft_restore_snapshot(cl_raft(c, l), 1, 2));
    cl_free(c);
}

TEST(restore_metadata_sets_term_and_vote)
{
    cluster_t *c = cl_new(3, 7);
    raft_server_t *r = cl_raft(c, 2);
    ASSERT_EQ(0, raft_restore_metadata(r, 5, 3));
    ASSERT_EQ(5, raft_get_current_term(r));
    ASSERT_EQ(3, raft_get_voted_for(r));
    ASSERT(raft_is_follower(r));
    cl_free(c);
}

/* raft_append_entry for replay: entries of later terms than the restored
 * metadata are fine in either order. */
TEST(append_entry_replays_entries_of_several_terms)
{
    cluster_t *c = cl_new(3, 8);
    raft_server_t *r = cl_raft(c, 2);
    raft_term_t terms[5] = {1, 1, 2, 4, 4};
    for (int i = 0; i < 5; i++) {
        raft_entry_t *e = mk_entry(terms[i], i);
        ASSERT_EQ(0, raft_append_entry(r, e));
        raft_entry_release(e);
    }
    ASSERT_EQ(0, raft_restore_metadata(r, 4, 1));
    ASSERT_EQ(5, raft_get_current_idx(r));
    ASSERT_EQ(4, raft_get_last_log_term(r));
    ASSERT_EQ(5, cl_srv(c, 2)->log->n);
    ASSERT_EQ(0, raft_get_commit_idx(r));
    cl_free(c);
}

/* raft_set_commit_idx restores a known commit index; the entries then
 * apply. */
TEST(set_commit_idx_lets_replayed_entries_apply)
{
    cluster_t *c = cl_new(3, 9);
    raft_server_t *r = cl_raft(c, 2);
    for (int i = 0; i < 4; i++) {
        raft_entry_t *e = mk_entry(1, i);
        ASSERT_EQ(0, raft_append_entry(r, e));
        raft_entry_release(e);
    }
    ASSERT_EQ(0, raft_restore_metadata(r, 1, 1));
    raft_set_commit_idx(r, 3);
    ASSERT_EQ(3, raft_get_commit_idx(r));
    cl_periodic_one(c, 2, 1);
    ASSERT_EQ(3, raft_get_last_applied_idx(r));
    ASSERT_EQ(3, cl_srv(c, 2)->applied_upto);
    ASSERT_EQ(2, cl_srv(c, 2)->applied[2].val);
    cl_free(c);
}

/* raft_pop_entry removes the last entry (replay of an append-only store
 * that recorded a pop), through the log's pop. */
TEST(pop_entry_removes_the_last_entry)
{
    cluster_t *c = cl_new(3, 10);
    raft_server_t *r = cl_raft(c, 2);
    raft_entry_t *e;
    for (int i = 0; i < 3; i++) {
        e = mk_entry(1, i);
        ASSERT_EQ(0, raft_append_entry(r, e));
        raft_entry_release(e);
    }
    ASSERT_EQ(0, raft_pop_entry(r));
    ASSERT_EQ(2, raft_get_current_idx(r));
    ASSERT_EQ(2, cl_srv(c, 2)->log->n);
    ASSERT(cl_srv(c, 2)->log->pops >= 1);
    e = raft_get_entry_from_idx(r, 3);
    ASSERT(e == NULL);
    e = raft_get_entry_from_idx(r, 2);
    ASSERT(e != NULL);
    ASSERT_EQ(1, *(int *)e->data);
    raft_entry_release(e);
    cl_free(c);
}

/* raft_pop_entry cannot remove a committed entry (any correct Raft: a
 * committed entry is never removed). */
TEST(pop_entry_refuses_to_remove_a_committed_entry)
{
    cluster_t *c = cl_new(3, 11);
    raft_server_t *r = cl_raft(c, 2);
    for (int i = 0; i < 2; i++) {
        raft_entry_t *e = mk_entry(1, i);
        ASSERT_EQ(0, raft_append_entry(r, e));
        raft_entry_release(e);
    }
    raft_set_commit_idx(r, 2);
    ASSERT(raft_pop_entry(r) != 0);
    ASSERT_EQ(2, raft_get_current_idx(r));
    cl_free(c);
}

/* A user log that already holds entries when handed to raft_new_with_log:
 * the server reads them from it without any replay. */
TEST(user_log_that_already_holds_entries_is_used_as_is)
{
    cluster_t *c = cl_new(3, 12);
    raft_node_id_t l = elect(c), f = l % 3 + 1;
    raft_index_t idx;
    raft_term_t term;
    int appends_before;
    load(c, l, 25);
    idx = raft_get_current_idx(cl_raft(c, f));
    term = raft_get_current_term(cl_raft(c, f));
    cl_crash(c, f);
    appends_before = cl_srv(c, f)->crashed_log->appends;
    ASSERT_EQ(0, cl_restart_with_log(c, f));
    ASSERT_EQ(idx, raft_get_current_idx(cl_raft(c, f)));
    ASSERT_EQ(idx, raft_get_log_count(cl_raft(c, f)));
    ASSERT_EQ(term, raft_get_current_term(cl_raft(c, f)));
    ASSERT_EQ(appends_before, cl_srv(c, f)->log->appends);
    {
        raft_entry_t *e = raft_get_entry_from_idx(cl_raft(c, f), idx);
        ASSERT(e != NULL);
        ASSERT_EQ(term, e->term);
        raft_entry_release(e);
    }
    load(c, l, 5);
    ASSERT(cl_same_applied(c, l, f));
    ASSERT_EQ(0, cl_violations(c));
    cl_free(c);
}

/* The same, with a snapshot below the entries. */
TEST(user_log_with_entries_after_a_snapshot_restarts)
{
    cluster_t *c = cl_new(3, 13);
    raft_node_id_t l = elect(c), f = l % 3 + 1;
    raft_index_t idx, sidx;
    load(c, l, 25);
    ASSERT_EQ(0, cl_snapshot(c, f));
    sidx = raft_get_snapshot_last_idx(cl_raft(c, f));
    load(c, l, 10);
    idx = raft_get_current_idx(cl_raft(c, f));
    cl_crash(c, f);
    ASSERT_EQ(0, cl_restart_with_log(c, f));
    ASSERT_EQ(idx, raft_get_current_idx(cl_raft(c, f)));
    ASSERT_EQ(sidx, raft_get_snapshot_last_idx(cl_raft(c, f)));
    ASSERT_EQ(sidx + 1, raft_get_first_entry_idx(cl_raft(c, f)));
    load(c, l, 5);
    ASSERT(cl_same_applied(c, l, f));
    ASSERT_EQ(0, cl_violations(c));
    cl_free(c);
}

/* The restarted leader comes back as a follower of the same term and the
 * cluster goes on. */
TEST(restarted_leader_rejoins_as_follower)
{
    cluster_t *c = cl_new(3, 14);
    raft_node_id_t l = elect(c), nl;
    load(c, l, 10);
    cl_crash(c, l);
    nl = cl_elect(c, 20000);
    ASSERT(nl != 0 && nl != l);
    load(c, nl, 10);
    ASSERT_EQ(0, cl_restart(c, l, 0));
    ASSERT(raft_is_follower(cl_raft(c, l)));
    load(c, nl, 10);
    ASSERT_EQ(nl, cl_leader(c));
    ASSERT(cl_same_applied(c, l, nl));
    ASSERT_EQ(0, cl_violations(c));
    cl_free(c);
}

TEST_MAIN()
