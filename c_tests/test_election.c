/* Elections: pre-vote, vote, the up-to-date-log rule, single-voter clusters,
 * the leader's no-op, metadata persistence, stepping down, timeouts.
 * Section numbers refer to Ongaro's thesis (2014). */
#ifndef _DEFAULT_SOURCE
#define _DEFAULT_SOURCE 1
#endif
#include <time.h>

#include "raft.h"
#include "raft_compat.h"
#include "support/cluster.h"
#include "test.h"

static int drop_votes(cluster_t *c, cl_msg_t *m, void *arg)
{
    (void)c;
    (void)arg;
    return m->type == CL_MSG_RV && !m->u.rv.prevote;
}

/* Tick only `id` (others frozen, messages held) until it leaves the follower
 * state; returns the elapsed ms or -1. */
static int tick_until_campaign(cluster_t *c, raft_node_id_t id, int step_ms, int max_ms)
{
    raft_server_t *r = cl_raft(c, id);
    for (int t = step_ms; t <= max_ms; t += step_ms) {
        cl_periodic_one(c, id, step_ms);
        if (!raft_is_follower(r))
            return t;
    }
    return -1;
}

static raft_entry_t *mk_entry(raft_term_t term, int type, int val)
{
    raft_entry_t *e = raft_entry_new(sizeof(int));
    e->term = term;
    e->type = (short)type;
    e->id = val;
    memcpy(e->data, &val, sizeof(int));
    return e;
}

/* §9.6: a follower whose timer fires first becomes a pre-candidate without
 * changing its term; only when a majority would vote does it become a
 * candidate (term + 1), and then a leader. */
TEST(follower_becomes_precandidate_then_candidate_then_leader)
{
    cluster_t *c = cl_new(3, 1);
    raft_server_t *r1 = cl_raft(c, 1);
    cl_server_t *s1 = cl_srv(c, 1);

    ASSERT(raft_is_follower(r1));
    ASSERT_EQ(0, raft_get_current_term(r1));
    ASSERT(tick_until_campaign(c, 1, 10, 2100) > 0);
    ASSERT(raft_is_precandidate(r1));
    ASSERT_EQ(RAFT_STATE_PRECANDIDATE, raft_get_state(r1));
    ASSERT_EQ(0, raft_get_current_term(r1));
    ASSERT_EQ(2, s1->sent_prevote);
    ASSERT_EQ(0, s1->sent_vote);
    ASSERT_EQ(2, cl_queue_count(c, CL_MSG_RV, 1, 0));
    ASSERT_EQ(1, s1->state_events[RAFT_STATE_PRECANDIDATE]);
    ASSERT_EQ(0, s1->state_events[RAFT_STATE_CANDIDATE]);

    /* deliver the pre-votes and their answers, one by one */
    while (cl_queue_count(c, CL_MSG_RV, 1, 0) > 0)
        cl_deliver_at(c, cl_queue_find(c, CL_MSG_RV, 1, 0, 0));
    /* the voters did not change term for a pre-vote */
    ASSERT_EQ(0, raft_get_current_term(cl_raft(c, 2)));
    ASSERT_EQ(RAFT_NODE_ID_NONE, raft_get_voted_for(cl_raft(c, 2)));
    cl_deliver_at(c, cl_queue_find(c, CL_MSG_RV_RESP, 0, 1, 0));
    ASSERT(raft_is_candidate(r1) || raft_is_leader(r1));
    ASSERT_EQ(1, raft_get_current_term(r1));
    ASSERT_EQ(1, raft_get_voted_for(r1));
    ASSERT_EQ(1, s1->state_events[RAFT_STATE_CANDIDATE]);
    ASSERT(s1->sent_vote >= 1);

    cl_deliver_all(c);
    ASSERT(raft_is_leader(r1));
    ASSERT_EQ(1, raft_get_current_term(r1));
    ASSERT_EQ(1, s1->state_events[RAFT_STATE_LEADER]);
    ASSERT_EQ(RAFT_STATE_LEADER, s1->last_state_event);
    ASSERT_EQ(1, raft_get_leader_id(cl_raft(c, 2)));
    ASSERT_EQ(1, raft_get_leader_id(cl_raft(c, 3)));
    ASSERT_EQ(1, raft_get_current_term(cl_raft(c, 2)));
    ASSERT_EQ(0, cl_violations(c));
    cl_free(c);
}

/* §9.6: an isolated server keeps pre-voting but never increments its term,
 * so it cannot disrupt the cluster when it comes back. */
TEST(isolated_precandidate_never_increments_its_term)
{
    cluster_t *c = cl_new(3, 2);
    raft_node_id_t l = cl_elect(c, 10000);
    raft_node_id_t f;
    raft_term_t term;
    ASSERT(l != 0);
    f = l == 3 ? 2 : 3;
    term = raft_get_current_term(cl_raft(c, l));
    cl_isolate(c, f);
    cl_run(c, 10000);
    ASSERT_EQ(term, raft_get_current_term(cl_raft(c, f)));
    ASSERT_EQ(0, cl_srv(c, f)->sent_vote);
    ASSERT(cl_srv(c, f)->sent_prevote > 0);
    ASSERT(!raft_is_leader(cl_raft(c, f)));

    /* healed: the leader keeps its term and leadership (§9.6), and the
     * pre-candidate steps down on the leader's appendentries of equal term */
    cl_heal(c);
    cl_run(c, 600);
    ASSERT(raft_is_leader(cl_raft(c, l)));
    ASSERT_EQ(term, raft_get_current_term(cl_raft(c, l)));
    ASSERT(raft_is_follower(cl_raft(c, f)));
    ASSERT_EQ(l, raft_get_leader_id(cl_raft(c, f)));
    ASSERT_EQ(0, cl_violations(c));
    cl_free(c);
}

/* §3.4: election timeouts are chosen at random from [t, 2t): each server's
 * timeout, measured from a fresh start, lies in the range, and they are not
 * all the same. */
TEST(election_timeout_is_randomised_between_t_and_2t)
{
    int seen[12], distinct = 0;
    for (int i = 0; i < 12; i++) {
        cl_opts_t o;
        cluster_t *c;
        cl_default_opts(&o);
        o.election_timeout = 500;
        c = cl_new_opts(3, (unsigned)i + 1, &o);
        seen[i] = tick_until_campaign(c, (raft_node_id_t)(i % 3 + 1), 1, 1100);
        /* +1: the library may start counting at its first raft_periodic */
        ASSERT(seen[i] >= 500);
        ASSERT(seen[i] <= 1001);
        cl_free(c);
    }
    for (int i = 0; i < 12; i++) {
        int dup = 0;
        for (int j = 0; j < i; j++)
            dup |= seen[j] == seen[i];
        distinct += !dup;
    }
    ASSERT(distinct > 3);
}

TEST(default_election_timeout_is_1000ms_and_request_timeout_200ms)
{
    cluster_t *c;
    raft_server_t *r = raft_new();
    int et = 0, rt = 0;
    ASSERT_EQ(0, raft_config(r, 0, RAFT_CONFIG_ELECTION_TIMEOUT, &et));
    ASSERT_EQ(0, raft_config(r, 0, RAFT_CONFIG_REQUEST_TIMEOUT, &rt));
    ASSERT_EQ(1000, et);
    ASSERT_EQ(200, rt);
    raft_destroy(r);
    c = cl_new(3, 77);
    {
        int t = tick_until_campaign(c, 2, 10, 2100);
        ASSERT(t >= 1000);
        ASSERT(t <= 2010);
    }
    cl_free(c);
}

TEST(raft_get_timeout_elapsed_counts_time_since_the_last_reset)
{
    cluster_t *c = cl_new(3, 4);
    c->drop_all = 1;
    for (int i = 0; i < 30; i++)
        cl_periodic_one(c, 2, 10);
    ASSERT(raft_get_timeout_elapsed(cl_raft(c, 2)) >= 250);
    ASSERT(raft_get_timeout_elapsed(cl_raft(c, 2)) <= 350);
    cl_free(c);
}

/* raft_periodic_internal(me, ms) advances time by ms, without reading the
 * timestamp callback (whose clock does not move here). */
TEST(raft_periodic_internal_advances_time_explicitly)
{
    cluster_t *c = cl_new(3, 5);
    raft_server_t *r = cl_raft(c, 1);
    c->drop_all = 1;
    for (int i = 0; i < 99 && raft_is_follower(r); i++)
        ASSERT_EQ(0, raft_periodic_internal(r, 10));
    ASSERT(raft_is_follower(r)); /* 990 ms: not yet */
    for (int i = 0; i < 110 && raft_is_follower(r); i++)
        ASSERT_EQ(0, raft_periodic_internal(r, 10));
    ASSERT(raft_is_precandidate(r));
    cl_free(c);
}

static int st_persist(raft_server_t *r, void *ud, raft_term_t t, raft_node_id_t v)
{
    (void)r; (void)ud; (void)t; (void)v;
    return 0;
}
static int st_send_rv(raft_server_t *r, void *ud, raft_node_t *n, raft_requestvote_req_t *m)
{
    (void)r; (void)n; (void)m;
    ++*(int *)ud;
    return 0;
}

/* Without a timestamp callback raft_periodic reads the monotonic clock. */
TEST(raft_periodic_without_timestamp_callback_uses_the_monotonic_clock)
{
    raft_server_t *r = raft_new();
    raft_cbs_t cbs;
    int sent = 0;
    struct timespec ts = {0, 5 * 1000 * 1000};
    memset(&cbs, 0, sizeof(cbs));
    cbs.persist_metadata = st_persist;
    cbs.send_requestvote = st_send_rv;
    raft_set_callbacks(r, &cbs, &sent);
    raft_add_node(r, NULL, 1, 1);
    raft_add_node(r, NULL, 2, 0);
    raft_add_node(r, NULL, 3, 0);
    ASSERT_EQ(0, raft_config(r, 1, RAFT_CONFIG_ELECTION_TIMEOUT, 50));
    /* 300 ms of wall-clock time at most */
    for (int i = 0; i < 60 && raft_is_follower(r); i++) {
        nanosleep(&ts, NULL);
        raft_periodic(r);
    }
    ASSERT(!raft_is_follower(r));
    ASSERT_EQ(2, sent);
    raft_destroy(r);
}

/* A single voting node is a majority on its own: raft_periodic makes it
 * leader at once (interpretation: no election timeout needs to pass), with
 * the no-op of its new term committed. */
TEST(single_voter_elects_itself_on_raft_periodic)
{
    cluster_t *c = cl_new(1, 6);
    raft_server_t *r = cl_raft(c, 1);
    cl_server_t *s = cl_srv(c, 1);
    ASSERT_EQ(0, cl_periodic_one(c, 1, 1));
    ASSERT(raft_is_leader(r));
    ASSERT_EQ(1, raft_get_current_term(r));
    ASSERT_EQ(1, s->disk.term); /* the vote need not be recorded (sole voter) */
    ASSERT_EQ(1, s->state_events[RAFT_STATE_LEADER]);
    ASSERT_EQ(0, s->sent[CL_MSG_RV]);
    ASSERT_EQ(1, raft_get_current_idx(r));
    cl_periodic_one(c, 1, 1);
    ASSERT_EQ(1, raft_get_commit_idx(r));
    ASSERT_EQ(1, raft_get_last_applied_idx(r));
    ASSERT_EQ(0, cl_violations(c));
    cl_free(c);
}

TEST(single_voter_commits_its_own_entries_at_once)
{
    cluster_t *c = cl_new(1, 7);
    raft_server_t *r = cl_raft(c, 1);
    raft_entry_resp_t resp;
    cl_periodic_one(c, 1, 1);
    ASSERT(raft_is_leader(r));
    ASSERT_EQ(0, cl_submit(c, 1, 42, &resp));
    ASSERT_EQ(2, resp.idx);
    cl_periodic_one(c, 1, 1);
    ASSERT_EQ(2, raft_get_commit_idx(r));
    ASSERT(raft_msg_entry_response_committed(r, &resp) == 1);
    ASSERT_EQ(2, cl_srv(c, 1)->applied_upto);
    ASSERT_EQ(42, cl_srv(c, 1)->applied[1].val);
    cl_free(c);
}

/* §3.6.2 / §6.4: a new leader appends a no-op entry of its term, which
 * commits the entries of earlier terms. */
TEST(new_leader_appends_a_no_op_entry_of_its_term)
{
    cluster_t *c = cl_new(3, 8);
    raft_node_id_t l = cl_elect(c, 10000);
    raft_server_t *r;
    raft_entry_t *e;
    ASSERT(l != 0);
    r = cl_raft(c, l);
    ASSERT_EQ(1, raft_get_current_idx(r));
    e = raft_get_entry_from_idx(r, 1);
    ASSERT(e != NULL);
    ASSERT_EQ(RAFT_LOGTYPE_NO_OP, e->type);
    ASSERT_EQ(raft_get_current_term(r), e->term);
    raft_entry_release(e);
    ASSERT(cl_converge(c, 2000));
    for (int i = 1; i <= 3; i++) {
        ASSERT_EQ(1, raft_get_commit_idx(cl_raft(c, i)));
        ASSERT_EQ(RAFT_LOGTYPE_NO_OP, cl_srv(c, i)->applied[0].type);
    }
    cl_free(c);
}

/* §3.8: term and vote reach stable storage before the requestvote that
 * depends on them is sent, and before a vote is granted. The cluster checks
 * it in every send callback and response. */
TEST(term_and_vote_are_persisted_before_votes_are_requested_or_granted)
{
    cluster_t *c = cl_new(5, 9);
    raft_node_id_t l = cl_elect(c, 10000);
    int granted = 0;
    ASSERT(l != 0);
    ASSERT_EQ(0, cl_violations(c));
    ASSERT_EQ(raft_get_current_term(cl_raft(c, l)), cl_srv(c, l)->disk.term);
    ASSERT_EQ(l, cl_srv(c, l)->disk.vote);
    for (int i = 1; i <= 5; i++) {
        ASSERT_EQ(raft_get_current_term(cl_raft(c, i)), cl_srv(c, i)->disk.term);
        ASSERT_EQ(raft_get_voted_for(cl_raft(c, i)), cl_srv(c, i)->disk.vote);
        granted += cl_srv(c, i)->disk.vote == l;
    }
    ASSERT(granted >= 3);
    cl_free(c);
}

TEST(persist_metadata_failure_is_returned_by_raft_periodic_of_a_single_voter)
{
    cluster_t *c = cl_new(1, 10);
    cl_srv(c, 1)->fail_persist = 1;
    ASSERT(cl_periodic_one(c, 1, 1) != 0);
    ASSERT(!raft_is_leader(cl_raft(c, 1)));
    cl_free(c);
}

/* A candidate that cannot persist its new term must not ask for votes, and
 * the failure reaches the caller of the call that made it campaign. */
TEST(persist_metadata_failure_stops_the_candidate_before_it_sends_requestvote)
{
    cluster_t *c = cl_new(3, 11);
    cl_server_t *s = cl_srv(c, 1);
    s->fail_persist = 1;
    c->hold_delivery = 1;
    ASSERT(tick_until_campaign(c, 1, 10, 2100) > 0);
    /* pre-vote needs no persisted state: its answers arrive now */
    cl_deliver_all(c);
    for (int i = 0; i < 5; i++) {
        cl_periodic_one(c, 1, 10);
        cl_deliver_all(c);
    }
    ASSERT_EQ(0, s->sent_vote);
    ASSERT(!raft_is_leader(cl_raft(c, 1)));
    ASSERT(s->recv_errors + s->periodic_errors > 0);
    ASSERT(s->disk.persists > 0);
    ASSERT_EQ(0, cl_violations(c));
    cl_free(c);
}

TEST(voter_that_cannot_persist_its_vote_does_not_grant_it)
{
    cluster_t *c = cl_new(3, 12);
    cl_srv(c, 2)->fail_persist = 1;
    cl_srv(c, 3)->fail_persist = 1;
    c->hold_delivery = 1;
    ASSERT(tick_until_campaign(c, 1, 10, 2100) > 0);
    cl_deliver_all(c);
    cl_deliver_all(c);
    ASSERT(!raft_is_leader(cl_raft(c, 1)));
    ASSERT(cl_srv(c, 2)->recv_errors > 0);
    ASSERT_EQ(0, cl_violations(c));
    cl_free(c);
}

/* Make node id a candidate of term 1 whose vote requests are lost. */
static void make_candidate(cluster_t *c, raft_node_id_t id)
{
    c->filter = drop_votes;
    ASSERT(tick_until_campaign(c, id, 10, 2100) > 0);
    cl_deliver_all(c);
    c->filter = NULL;
    ASSERT(raft_is_candidate(cl_raft(c, id)));
    ASSERT_EQ(1, raft_get_current_term(cl_raft(c, id)));
}

static void heartbeat(raft_appendentries_req_t *ae, raft_node_id_t leader, raft_term_t term)
{
    memset(ae, 0, sizeof(*ae));
    ae->leader_id = leader;
    ae->term = term;
    ae->msg_id = 1;
}

/* §3.4: a candidate that hears from a leader of its own term steps down. */
TEST(candidate_steps_down_on_appendentries_of_equal_term)
{
    cluster_t *c = cl_new(3, 13);
    raft_server_t *r3 = cl_raft(c, 3);
    raft_appendentries_req_t ae;
    raft_appendentries_resp_t resp;
    make_candidate(c, 3);
    heartbeat(&ae, 1, 1);
    memset(&resp, 0, sizeof(resp));
    ASSERT_EQ(0, raft_recv_appendentries(r3, raft_get_node(r3, 1), &ae, &resp));
    ASSERT(raft_is_follower(r3));
    ASSERT_EQ(1, raft_get_current_term(r3));
    ASSERT_EQ(1, raft_get_leader_id(r3));
    ASSERT_EQ(1, resp.term);
    ASSERT_EQ(1, resp.success);
    ASSERT_EQ(RAFT_STATE_FOLLOWER, cl_srv(c, 3)->last_state_event);
    cl_free(c);
}

TEST(candidate_steps_down_on_appendentries_of_higher_term)
{
    cluster_t *c = cl_new(3, 14);
    raft_server_t *r3 = cl_raft(c, 3);
    raft_appendentries_req_t ae;
    raft_appendentries_resp_t resp;
    make_candidate(c, 3);
    heartbeat(&ae, 2, 4);
    memset(&resp, 0, sizeof(resp));
    raft_recv_appendentries(r3, raft_get_node(r3, 2), &ae, &resp);
    ASSERT(raft_is_follower(r3));
    ASSERT_EQ(4, raft_get_current_term(r3));
    ASSERT_EQ(4, cl_srv(c, 3)->disk.term);
    ASSERT_EQ(2, raft_get_leader_id(r3));
    ASSERT_EQ(4, resp.term);
    cl_free(c);
}

TEST(candidate_ignores_appendentries_of_lower_term)
{
    cluster_t *c = cl_new(3, 15);
    raft_server_t *r3 = cl_raft(c, 3);
    raft_appendentries_req_t ae;
    raft_appendentries_resp_t resp;
    make_candidate(c, 3);
    heartbeat(&ae, 1, 0);
    memset(&resp, 0, sizeof(resp));
    raft_recv_appendentries(r3, raft_get_node(r3, 1), &ae, &resp);
    ASSERT(raft_is_candidate(r3));
    ASSERT_EQ(0, resp.success);
    ASSERT_EQ(1, resp.term);
    cl_free(c);
}

/* The seed library's pitfall: a pre-candidate must step down on an
 * appendentries of its (unchanged) term. */
TEST(precandidate_steps_down_on_appendentries_of_equal_term)
{
    cluster_t *c = cl_new(3, 16);
    raft_server_t *r3 = cl_raft(c, 3);
    raft_appendentries_req_t ae;
    raft_appendentries_resp_t resp;
    raft_restore_metadata(r3, 2, RAFT_NODE_ID_NONE);
    c->drop_all = 1;
    ASSERT(tick_until_campaign(c, 3, 10, 2100) > 0);
    ASSERT(raft_is_precandidate(r3));
    ASSERT_EQ(2, raft_get_current_term(r3));
    heartbeat(&ae, 1, 2);
    memset(&resp, 0, sizeof(resp));
    ASSERT_EQ(0, raft_recv_appendentries(r3, raft_get_node(r3, 1), &ae, &resp));
    ASSERT(raft_is_follower(r3));
    ASSERT_EQ(1, raft_get_leader_id(r3));
    ASSERT_EQ(1, resp.success);
    ASSERT_EQ(2, raft_get_current_term(r3));
    cl_free(c);
}

TEST(precandidate_steps_down_on_appendentries_of_higher_term)
{
    cluster_t *c = cl_new(3, 17);
    raft_server_t *r3 = cl_raft(c, 3);
    raft_appendentries_req_t ae;
    raft_appendentries_resp_t resp;
    c->drop_all = 1;
    ASSERT(tick_until_campaign(c, 3, 10, 2100) > 0);
    ASSERT(raft_is_precandidate(r3));
    heartbeat(&ae, 2, 3);
    memset(&resp, 0, sizeof(resp));
    raft_recv_appendentries(r3, raft_get_node(r3, 2), &ae, &resp);
    ASSERT(raft_is_follower(r3));
    ASSERT_EQ(3, raft_get_current_term(r3));
    ASSERT_EQ(2, raft_get_leader_id(r3));
    cl_free(c);
}

/* Log of node 2: idx 1 term 1, idx 2 term 1, idx 3 term 2; current term 2;
 * no leader known. */
static cluster_t *voter_with_log(void)
{
    cluster_t *c = cl_new(3, 18);
    raft_server_t *r = cl_raft(c, 2);
    raft_entry_t *e;
    e = mk_entry(1, RAFT_LOGTYPE_NORMAL, 1);
    ASSERT_EQ(0, raft_append_entry(r, e));
    raft_entry_release(e);
    e = mk_entry(1, RAFT_LOGTYPE_NORMAL, 2);
    ASSERT_EQ(0, raft_append_entry(r, e));
    raft_entry_release(e);
    e = mk_entry(2, RAFT_LOGTYPE_NORMAL, 3);
    ASSERT_EQ(0, raft_append_entry(r, e));
    raft_entry_release(e);
    ASSERT_EQ(0, raft_restore_metadata(r, 2, RAFT_NODE_ID_NONE));
    cl_srv(c, 2)->disk.term = 2;
    ASSERT_EQ(3, raft_get_current_idx(r));
    ASSERT_EQ(2, raft_get_last_log_term(r));
    return c;
}

static int ask_vote(cluster_t *c, int prevote, raft_term_t term, raft_node_id_t cand, raft_index_t lidx,
                    raft_term_t lterm, raft_requestvote_resp_t *resp)
{
    raft_server_t *r = cl_raft(c, 2);
    raft_requestvote_req_t rv;
    memset(&rv, 0, sizeof(rv));
    memset(resp, 0, sizeof(*resp));
    rv.prevote = prevote;
    rv.term = term;
    rv.candidate_id = cand;
    rv.last_log_idx = lidx;
    rv.last_log_term = lterm;
    raft_recv_requestvote(r, raft_get_node(r, cand), &rv, resp);
    return resp->vote_granted;
}

/* §3.6.1: vote only for a candidate whose log is at least as up to date:
 * a later last term wins; with equal last terms, the longer log wins. */
TEST(voter_rejects_candidate_whose_last_log_term_is_older)
{
    cluster_t *c = voter_with_log();
    raft_requestvote_resp_t resp;
    ASSERT_EQ(0, ask_vote(c, 0, 3, 3, 5, 1, &resp));
    ASSERT_EQ(3, resp.term);
    ASSERT_EQ(3, raft_get_current_term(cl_raft(c, 2)));
    ASSERT(raft_get_voted_for(cl_raft(c, 2)) != 3);
    cl_free(c);
}

TEST(voter_rejects_candidate_with_shorter_log_of_same_last_term)
{
    cluster_t *c = voter_with_log();
    raft_requestvote_resp_t resp;
    ASSERT_EQ(0, ask_vote(c, 0, 3, 3, 2, 2, &resp));
    cl_free(c);
}

TEST(voter_grants_candidate_with_later_last_term_even_if_shorter)
{
    cluster_t *c = voter_with_log();
    raft_requestvote_resp_t resp;
    ASSERT_EQ(1, ask_vote(c, 0, 3, 3, 1, 3, &resp));
    ASSERT_EQ(3, resp.term);
    ASSERT_EQ(3, raft_get_voted_for(cl_raft(c, 2)));
    ASSERT_EQ(3, cl_srv(c, 2)->disk.vote);
    ASSERT_EQ(3, cl_srv(c, 2)->disk.term);
    cl_free(c);
}

TEST(voter_grants_candidate_with_equal_log)
{
    cluster_t *c = voter_with_log();
    raft_requestvote_resp_t resp;
    ASSERT_EQ(1, ask_vote(c, 0, 3, 1, 3, 2, &resp));
    cl_free(c);
}

/* §3.4: at most one vote per term, on a first-come basis. */
TEST(voter_grants_at_most_one_vote_per_term)
{
    cluster_t *c = voter_with_log();
    raft_requestvote_resp_t resp;
    ASSERT_EQ(1, ask_vote(c, 0, 3, 3, 3, 2, &resp));
    ASSERT_EQ(0, ask_vote(c, 0, 3, 1, 9, 2, &resp));
    /* the same candidate asking again (a retry) may be granted again */
    ASSERT_EQ(1, ask_vote(c, 0, 3, 3, 3, 2, &resp));
    /* a new term frees the vote */
    ASSERT_EQ(1, ask_vote(c, 0, 4, 1, 3, 2, &resp));
    cl_free(c);
}

TEST(voter_rejects_requestvote_of_a_stale_term)
{
    cluster_t *c = voter_with_log();
    raft_requestvote_resp_t resp;
    ASSERT_EQ(0, ask_vote(c, 0, 1, 3, 9, 9, &resp));
    ASSERT_EQ(2, resp.term);
    ASSERT_EQ(2, raft_get_current_term(cl_raft(c, 2)));
    cl_free(c);
}

/* §9.6: a pre-vote changes neither the voter's term nor its vote, and follows
 * the up-to-date-log rule too. */
TEST(prevote_changes_neither_term_nor_vote)
{
    cluster_t *c = voter_with_log();
    raft_requestvote_resp_t resp;
    int persists = cl_srv(c, 2)->disk.persists;
    ASSERT_EQ(1, ask_vote(c, 1, 3, 3, 3, 2, &resp));
    ASSERT_EQ(1, resp.prevote);
    ASSERT_EQ(2, raft_get_current_term(cl_raft(c, 2)));
    ASSERT_EQ(RAFT_NODE_ID_NONE, raft_get_voted_for(cl_raft(c, 2)));
    ASSERT_EQ(persists, cl_srv(c, 2)->disk.persists);
    ASSERT_EQ(0, ask_vote(c, 1, 3, 3, 5, 1, &resp));
    ASSERT_EQ(2, raft_get_current_term(cl_raft(c, 2)));
    cl_free(c);
}

/* A stale-log server can never win: the others have its entries' successors
 * and refuse (§3.6.1), so the leader is one of the up-to-date servers. */
TEST(server_with_stale_log_cannot_become_leader)
{
    cluster_t *c = cl_new(3, 19);
    raft_node_id_t l = cl_elect(c, 10000), stale, nl;
    ASSERT(l != 0);
    stale = l % 3 + 1;
    cl_isolate(c, stale);
    for (int i = 0; i < 5; i++)
        ASSERT_EQ(0, cl_submit(c, l, i, NULL));
    cl_run(c, 500);
    /* the leader dies; only the stale server and an up-to-date one remain */
    cl_crash(c, l);
    cl_heal(c);
    nl = cl_elect(c, 20000);
    ASSERT(nl != 0);
    ASSERT(nl != stale);
    ASSERT(cl_converge(c, 5000));
    ASSERT_EQ(0, cl_violations(c));
    cl_free(c);
}

/* Non-voting nodes never start an election. */
TEST(non_voting_node_never_campaigns)
{
    cluster_t *c = cl_new(3, 20);
    cl_server_t *s = cl_add_server(c, 4);
    c->drop_all = 1;
    for (int i = 0; i < 1000; i++)
        cl_periodic_one(c, 4, 10);
    ASSERT(raft_is_follower(s->r));
    ASSERT_EQ(0, s->sent[CL_MSG_RV]);
    ASSERT_EQ(0, raft_get_current_term(s->r));
    ASSERT_EQ(0, s->state_events[RAFT_STATE_PRECANDIDATE]);
    cl_free(c);
}

/* A non-voting node stays out of elections even when the leader it follows
 * is gone. */
TEST(non_voting_node_in_a_running_cluster_never_campaigns)
{
    cluster_t *c = cl_new(3, 21);
    cl_server_t *s = cl_add_server(c, 4);
    raft_node_id_t l = cl_elect(c, 10000);
    ASSERT(l != 0);
    ASSERT(raft_add_non_voting_node(cl_raft(c, l), NULL, 4, 0) != NULL);
    cl_crash(c, l);
    cl_run(c, 10000);
    ASSERT_EQ(0, s->sent[CL_MSG_RV]);
    ASSERT(!raft_is_leader(s->r));
    cl_free(c);
}

/* Two live voters out of three elect a leader after the leader crashes. */
TEST(majority_elects_a_new_leader_after_the_leader_crashes)
{
    cluster_t *c = cl_new(3, 22);
    raft_node_id_t l = cl_elect(c, 10000), nl;
    raft_term_t t;
    ASSERT(l != 0);
    t = raft_get_current_term(cl_raft(c, l));
    cl_crash(c, l);
    nl = cl_elect(c, 20000);
    ASSERT(nl != 0);
    ASSERT(nl != l);
    ASSERT(raft_get_current_term(cl_raft(c, nl)) > t);
    ASSERT_EQ(0, cl_violations(c));
    cl_free(c);
}

TEST(minority_never_elects_a_leader)
{
    cluster_t *c = cl_new(5, 23);
    raft_node_id_t side[2] = {1, 2};
    cl_partition(c, side, 2);
    cl_run(c, 8000);
    ASSERT(!raft_is_leader(cl_raft(c, 1)));
    ASSERT(!raft_is_leader(cl_raft(c, 2)));
    ASSERT(cl_leader(c) >= 3);
    ASSERT_EQ(0, cl_violations(c));
    cl_free(c);
}

/* §3.3: a leader that learns of a higher term (here, from a leader of a
 * later term) becomes a follower of that term. */
TEST(leader_steps_down_when_it_sees_a_higher_term)
{
    cluster_t *c = cl_new(3, 24);
    raft_node_id_t l = cl_elect(c, 10000), other;
    raft_server_t *r;
    raft_appendentries_req_t ae;
    raft_appendentries_resp_t resp;
    ASSERT(l != 0);
    r = cl_raft(c, l);
    other = l % 3 + 1;
    heartbeat(&ae, other, raft_get_current_term(r) + 5);
    ae.prev_log_idx = raft_get_current_idx(r);
    ae.prev_log_term = raft_get_last_log_term(r);
    memset(&resp, 0, sizeof(resp));
    raft_recv_appendentries(r, raft_get_node(r, other), &ae, &resp);
    ASSERT(!raft_is_leader(r));
    ASSERT(raft_is_follower(r));
    ASSERT_EQ(ae.term, raft_get_current_term(r));
    ASSERT_EQ(ae.term, cl_srv(c, l)->disk.term);
    ASSERT_EQ(other, raft_get_leader_id(r));
    ASSERT_EQ(RAFT_STATE_FOLLOWER, cl_srv(c, l)->last_state_event);
    cl_free(c);
}

/* Compatibility entry points used by existing harnesses. */
TEST(compat_raft_become_candidate_increments_term_and_votes_for_itself)
{
    cluster_t *c = cl_new(3, 25);
    raft_server_t *r = cl_raft(c, 1);
    c->hold_delivery = 1;
    ASSERT_EQ(0, raft_become_candidate(r));
    ASSERT(raft_is_candidate(r));
    ASSERT_EQ(1, raft_get_current_term(r));
    ASSERT_EQ(1, raft_get_voted_for(r));
    ASSERT_EQ(1, cl_srv(c, 1)->disk.term);
    ASSERT_EQ(1, cl_srv(c, 1)->disk.vote);
    ASSERT_EQ(1, raft_get_nvotes_for_me(r));
    ASSERT_EQ(2, cl_srv(c, 1)->sent_vote);
    cl_deliver_all(c);
    ASSERT(raft_is_leader(r));
    ASSERT_EQ(0, cl_violations(c));
    cl_free(c);
}

TEST(compat_raft_become_leader_appends_a_no_op_and_sends_appendentries)
{
    cluster_t *c = cl_new(3, 26);
    raft_server_t *r = cl_raft(c, 2);
    c->hold_delivery = 1;
    ASSERT_EQ(0, raft_become_candidate(r));
    ASSERT_EQ(0, raft_become_leader(r));
    ASSERT(raft_is_leader(r));
    ASSERT_EQ(2, raft_get_leader_id(r));
    ASSERT_EQ(1, raft_get_current_idx(r));
    ASSERT(cl_queue_count(c, CL_MSG_AE, 2, 1) >= 1);
    ASSERT(cl_queue_count(c, CL_MSG_AE, 2, 3) >= 1);
    cl_free(c);
}

TEST(compat_raft_election_start_with_and_without_prevote)
{
    cluster_t *c = cl_new(3, 27);
    c->hold_delivery = 1;
    ASSERT_EQ(0, raft_election_start(cl_raft(c, 1), 0));
    ASSERT(raft_is_precandidate(cl_raft(c, 1)));
    ASSERT_EQ(0, raft_get_current_term(cl_raft(c, 1)));
    ASSERT_EQ(0, raft_election_start(cl_raft(c, 2), 1));
    ASSERT(raft_is_candidate(cl_raft(c, 2)));
    ASSERT_EQ(1, raft_get_current_term(cl_raft(c, 2)));
    ASSERT_EQ(0, raft_become_precandidate(cl_raft(c, 3)));
    ASSERT(raft_is_precandidate(cl_raft(c, 3)));
    cl_free(c);
}

TEST(compat_raft_votes_is_majority)
{
    ASSERT_EQ(1, raft_votes_is_majority(1, 1));
    ASSERT_EQ(0, raft_votes_is_majority(3, 1));
    ASSERT_EQ(1, raft_votes_is_majority(3, 2));
    ASSERT_EQ(0, raft_votes_is_majority(4, 2));
    ASSERT_EQ(1, raft_votes_is_majority(4, 3));
    ASSERT_EQ(1, raft_votes_is_majority(5, 3));
}

/* Many seeds: elections always converge to a single leader per term. */
TEST(elections_are_safe_and_live_across_seeds)
{
    for (unsigned seed = 100; seed < 120; seed++) {
        cluster_t *c = cl_new(5, seed);
        raft_node_id_t l = cl_elect(c, 20000);
        ASSERT(l != 0);
        cl_crash(c, l);
        ASSERT(cl_elect(c, 20000) != 0);
        ASSERT_EQ(1, cl_count_leaders(c));
        ASSERT_EQ(0, cl_violations(c));
        cl_free(c);
    }
}

TEST_MAIN()
