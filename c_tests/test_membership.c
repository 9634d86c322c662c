/* Membership changes (issue 4): configuration entries read through
 * get_node_id (node id as an int at data[0..4]), taking effect when appended
 * and undone when popped, one voting change at a time,
 * node_has_sufficient_logs, notify_membership_event, removing followers and
 * the leader itself, messages from removed nodes. Section numbers refer to
 * Ongaro's thesis (2014), chapter 4 (single-server changes). */
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

static raft_entry_t *cfg_entry(raft_term_t term, int type, raft_node_id_t id)
{
    raft_entry_t *e = raft_entry_new(sizeof(int));
    e->term = term;
    e->type = (short)type;
    e->id = 1000 + id;
    memcpy(e->data, &id, sizeof(int));
    return e;
}

static int send_ae(cluster_t *c, raft_node_id_t to, raft_term_t term, raft_index_t prev_idx, raft_term_t prev_term,
                   raft_entry_t *e, raft_appendentries_resp_t *resp)
{
    raft_server_t *r = cl_raft(c, to);
    raft_appendentries_req_t ae;
    raft_entry_t *ents[1] = {e};
    memset(&ae, 0, sizeof(ae));
    memset(resp, 0, sizeof(*resp));
    ae.leader_id = 1;
    ae.msg_id = 1;
    ae.term = term;
    ae.prev_log_idx = prev_idx;
    ae.prev_log_term = prev_term;
    ae.n_entries = e ? 1 : 0;
    ae.entries = ents;
    return raft_recv_appendentries(r, raft_get_node(r, 1), &ae, resp);
}

struct sufficient { raft_node_id_t l, id; };
static int cond_sufficient(cluster_t *c, void *arg)
{
    struct sufficient *s = arg;
    return cl_srv(c, s->l)->sufficient_calls > 0 && cl_srv(c, s->l)->sufficient_node == s->id;
}

/* Add `id` as a non-voting node and run until the leader reports it has
 * caught up. */
static void add_nonvoting(cluster_t *c, raft_node_id_t l, raft_node_id_t id)
{
    struct sufficient s = {l, id};
    if (!c->s[id].exists)
        cl_add_server(c, id);
    cl_srv(c, l)->sufficient_calls = 0;
    ASSERT_EQ(0, cl_submit_cfg(c, l, RAFT_LOGTYPE_ADD_NONVOTING_NODE, id, NULL));
    ASSERT(cl_run_until(c, cond_sufficient, &s, 5000));
    ASSERT(cl_converge(c, 5000));
}

static void promote(cluster_t *c, raft_node_id_t l, raft_node_id_t id)
{
    ASSERT_EQ(0, cl_submit_cfg(c, l, RAFT_LOGTYPE_ADD_NODE, id, NULL));
    ASSERT(cl_converge(c, 5000));
}

TEST(entry_type_predicates_classify_configuration_changes)
{
    int types[5] = {RAFT_LOGTYPE_NORMAL, RAFT_LOGTYPE_ADD_NONVOTING_NODE, RAFT_LOGTYPE_ADD_NODE,
                    RAFT_LOGTYPE_REMOVE_NODE, RAFT_LOGTYPE_NO_OP};
    int cfg[5] = {0, 1, 1, 1, 0};
    int voting[5] = {0, 0, 1, 1, 0};
    for (int i = 0; i < 5; i++) {
        raft_entry_t *e = cfg_entry(1, types[i], 4);
        ASSERT_EQ(cfg[i], raft_entry_is_cfg_change(e) != 0);
        ASSERT_EQ(voting[i], raft_entry_is_voting_cfg_change(e) != 0);
        raft_entry_release(e);
    }
}

/* §4.2.1: a new server joins as non-voting, catches up, then is promoted. */
TEST(node_is_added_as_non_voting_then_promoted_to_voting)
{
    cluster_t *c = cl_new(3, 1);
    raft_node_id_t l = elect(c);
    raft_server_t *r = cl_raft(c, l);
    raft_node_t *n4;
    raft_entry_resp_t resp;
    cl_server_t *s = cl_srv(c, l);
    int adds = s->membership_add;
    cl_add_server(c, 4);
    c->hold_delivery = 1;
    ASSERT_EQ(0, cl_submit_cfg(c, l, RAFT_LOGTYPE_ADD_NONVOTING_NODE, 4, &resp));
    /* takes effect when appended, before it commits */
    n4 = raft_get_node(r, 4);
    ASSERT(n4 != NULL);
    ASSERT_EQ(0, raft_node_is_voting(n4));
    ASSERT_EQ(1, raft_node_is_active(n4));
    ASSERT_EQ(0, raft_node_is_addition_committed(n4));
    ASSERT_EQ(4, raft_get_num_nodes(r));
    ASSERT_EQ(3, raft_get_num_voting_nodes(r));
    ASSERT_EQ(adds + 1, s->membership_add);
    ASSERT_EQ(4, s->last_membership_node);
    c->hold_delivery = 0;
    ASSERT(cl_converge(c, 5000));
    ASSERT_EQ(1, raft_node_is_addition_committed(raft_get_node(r, 4)));
    cl_run(c, 1000);
    ASSERT_EQ(1, s->sufficient_calls);
    ASSERT_EQ(4, s->sufficient_node);
    ASSERT_EQ(raft_get_current_idx(r), raft_get_current_idx(cl_raft(c, 4)));
    /* promote */
    c->hold_delivery = 1;
    ASSERT_EQ(0, cl_submit_cfg(c, l, RAFT_LOGTYPE_ADD_NODE, 4, &resp));
    n4 = raft_get_node(r, 4);
    ASSERT_EQ(1, raft_node_is_voting(n4));
    ASSERT_EQ(0, raft_node_is_voting_committed(n4));
    ASSERT_EQ(4, raft_get_num_voting_nodes(r));
    ASSERT_EQ(1, raft_voting_change_is_in_progress(r));
    c->hold_delivery = 0;
    ASSERT(cl_converge(c, 5000));
    ASSERT_EQ(1, raft_node_is_voting_committed(raft_get_node(r, 4)));
    ASSERT_EQ(0, raft_voting_change_is_in_progress(r));
    for (int i = 1; i <= 4; i++)
        ASSERT_EQ(4, raft_get_num_voting_nodes(cl_raft(c, i)));
    cl_run(c, 2000);
    ASSERT_EQ(1, s->sufficient_calls);
    ASSERT_EQ(0, cl_violations(c));
    cl_free(c);
}

/* The leader counts the new voter in majorities as soon as the entry is
 * appended (§4.1): with 4 voters, 3 are needed. */
TEST(new_voter_counts_in_majorities_once_appended)
{
    cluster_t *c = cl_new(3, 2);
    raft_node_id_t l = elect(c), f1, f2;
    raft_entry_resp_t resp;
    add_nonvoting(c, l, 4);
    promote(c, l, 4);
    f1 = l % 3 + 1;
    f2 = f1 % 3 + 1;
    /* leader + node 4 only: 2 of 4 is not a majority */
    cl_link(c, l, f1, 0);
    cl_link(c, l, f2, 0);
    ASSERT_EQ(0, cl_submit(c, l, 9, &resp));
    cl_run(c, 300);
    ASSERT(raft_get_commit_idx(cl_raft(c, l)) < resp.idx);
    cl_link(c, l, f1, 1);
    cl_run(c, 300);
    ASSERT(raft_get_commit_idx(cl_raft(c, l)) >= resp.idx);
    cl_free(c);
}

TEST(only_one_voting_change_may_be_in_progress)
{
    cluster_t *c = cl_new(3, 3);
    raft_node_id_t l = elect(c);
    raft_server_t *r = cl_raft(c, l);
    add_nonvoting(c, l, 4);
    add_nonvoting(c, l, 5);
    ASSERT_EQ(0, raft_voting_change_is_in_progress(r));
    c->hold_delivery = 1;
    ASSERT_EQ(0, cl_submit_cfg(c, l, RAFT_LOGTYPE_ADD_NODE, 4, NULL));
    ASSERT_EQ(1, raft_voting_change_is_in_progress(r));
    ASSERT_EQ(RAFT_ERR_ONE_VOTING_CHANGE_ONLY, cl_submit_cfg(c, l, RAFT_LOGTYPE_ADD_NODE, 5, NULL));
    ASSERT_EQ(RAFT_ERR_ONE_VOTING_CHANGE_ONLY, cl_submit_cfg(c, l, RAFT_LOGTYPE_REMOVE_NODE, 5, NULL));
    ASSERT_EQ(0, raft_node_is_voting(raft_get_node(r, 5)));
    /* normal entries are still accepted */
    ASSERT_EQ(0, cl_submit(c, l, 1, NULL));
    c->hold_delivery = 0;
    ASSERT(cl_converge(c, 5000));
    ASSERT_EQ(0, raft_voting_change_is_in_progress(r));
    ASSERT_EQ(0, cl_submit_cfg(c, l, RAFT_LOGTYPE_ADD_NODE, 5, NULL));
    ASSERT(cl_converge(c, 5000));
    ASSERT_EQ(5, raft_get_num_voting_nodes(r));
    cl_free(c);
}

/* §4.1: a configuration entry takes effect when appended, and is undone if
 * the entry is removed from the log (here, by a conflicting leader). */
TEST(added_node_disappears_when_its_entry_is_popped)
{
    cluster_t *c = cl_new(3, 4);
    raft_server_t *r = cl_raft(c, 2);
    raft_appendentries_resp_t resp;
    raft_entry_t *add = cfg_entry(1, RAFT_LOGTYPE_ADD_NONVOTING_NODE, 4);
    raft_entry_t *other = cfg_entry(2, RAFT_LOGTYPE_NORMAL, 0);
    ASSERT_EQ(0, send_ae(c, 2, 1, 0, 0, add, &resp));
    ASSERT_EQ(1, resp.success);
    ASSERT(raft_get_node(r, 4) != NULL);
    ASSERT_EQ(0, raft_node_is_voting(raft_get_node(r, 4)));
    send_ae(c, 2, 2, 0, 0, other, &resp);
    ASSERT_EQ(1, resp.success);
    ASSERT(raft_get_node(r, 4) == NULL);
    ASSERT_EQ(3, raft_get_num_nodes(r));
    raft_entry_release(add);
    raft_entry_release(other);
    cl_free(c);
}

TEST(removed_node_comes_back_when_the_removal_is_popped)
{
    cluster_t *c = cl_new(3, 5);
    raft_server_t *r = cl_raft(c, 2);
    raft_appendentries_resp_t resp;
    raft_entry_t *rm = cfg_entry(1, RAFT_LOGTYPE_REMOVE_NODE, 3);
    raft_entry_t *other = cfg_entry(2, RAFT_LOGTYPE_NORMAL, 0);
    send_ae(c, 2, 1, 0, 0, rm, &resp);
    ASSERT_EQ(1, resp.success);
    /* removal takes effect as inactivity; the node leaves only when applied */
    ASSERT(raft_get_node(r, 3) != NULL);
    ASSERT_EQ(0, raft_node_is_active(raft_get_node(r, 3)));
    ASSERT_EQ(2, raft_get_num_voting_nodes(r));
    send_ae(c, 2, 2, 0, 0, other, &resp);
    ASSERT(raft_get_node(r, 3) != NULL);
    ASSERT_EQ(1, raft_node_is_active(raft_get_node(r, 3)));
    ASSERT_EQ(1, raft_node_is_voting(raft_get_node(r, 3)));
    ASSERT_EQ(3, raft_get_num_voting_nodes(r));
    raft_entry_release(rm);
    raft_entry_release(other);
    cl_free(c);
}

TEST(promotion_is_undone_when_its_entry_is_popped)
{
    cluster_t *c = cl_new(3, 6);
    raft_server_t *r = cl_raft(c, 2);
    raft_appendentries_resp_t resp;
    raft_entry_t *add = cfg_entry(1, RAFT_LOGTYPE_ADD_NONVOTING_NODE, 4);
    raft_entry_t *pro = cfg_entry(1, RAFT_LOGTYPE_ADD_NODE, 4);
    raft_entry_t *other = cfg_entry(2, RAFT_LOGTYPE_NORMAL, 0);
    send_ae(c, 2, 1, 0, 0, add, &resp);
    send_ae(c, 2, 1, 1, 1, pro, &resp);
    ASSERT_EQ(1, resp.success);
    ASSERT_EQ(1, raft_node_is_voting(raft_get_node(r, 4)));
    send_ae(c, 2, 2, 1, 1, other, &resp);
    ASSERT_EQ(1, resp.success);
    ASSERT(raft_get_node(r, 4) != NULL);
    ASSERT_EQ(0, raft_node_is_voting(raft_get_node(r, 4)));
    raft_entry_release(add);
    raft_entry_release(pro);
    raft_entry_release(other);
    cl_free(c);
}

/* Replay: raft_append_entry applies a configuration entry, raft_pop_entry
 * undoes it. */
TEST(append_entry_and_pop_entry_apply_and_undo_configuration_changes)
{
    cluster_t *c = cl_new(3, 7);
    raft_server_t *r = cl_raft(c, 2);
    raft_entry_t *add = cfg_entry(1, RAFT_LOGTYPE_ADD_NONVOTING_NODE, 5);
    ASSERT_EQ(0, raft_append_entry(r, add));
    ASSERT(raft_get_node(r, 5) != NULL);
    ASSERT_EQ(0, raft_pop_entry(r));
    ASSERT(raft_get_node(r, 5) == NULL);
    raft_entry_release(add);
    cl_free(c);
}

TEST(handle_append_cfg_change_applies_a_change_directly)
{
    cluster_t *c = cl_new(3, 8);
    raft_server_t *r = cl_raft(c, 2);
    raft_entry_t *add = cfg_entry(1, RAFT_LOGTYPE_ADD_NONVOTING_NODE, 7);
    raft_entry_t *pro = cfg_entry(1, RAFT_LOGTYPE_ADD_NODE, 7);
    raft_entry_t *rm = cfg_entry(1, RAFT_LOGTYPE_REMOVE_NODE, 7);
    raft_handle_append_cfg_change(r, add, 1);
    ASSERT(raft_get_node(r, 7) != NULL);
    ASSERT_EQ(0, raft_node_is_voting(raft_get_node(r, 7)));
    raft_handle_append_cfg_change(r, pro, 2);
    ASSERT_EQ(1, raft_node_is_voting(raft_get_node(r, 7)));
    raft_handle_append_cfg_change(r, rm, 3);
    ASSERT(raft_get_node(r, 7) != NULL);
    ASSERT_EQ(0, raft_node_is_active(raft_get_node(r, 7)));
    raft_entry_release(add);
    raft_entry_release(pro);
    raft_entry_release(rm);
    cl_free(c);
}

/* §4.2.2: a removed follower leaves every configuration, the others go on
 * with a majority of the new configuration, and the removed server cannot
 * disrupt them. */
TEST(removed_follower_leaves_and_cannot_disrupt_the_cluster)
{
    cluster_t *c = cl_new(3, 9);
    raft_node_id_t l = elect(c), f = l % 3 + 1, keep = f % 3 + 1;
    raft_term_t t;
    int removes_before = cl_srv(c, l)->membership_remove;
    if (keep == l)
        keep = keep % 3 + 1;
    ASSERT_EQ(0, cl_submit_cfg(c, l, RAFT_LOGTYPE_REMOVE_NODE, f, NULL));
    /* inactive at once, out of the list once applied */
    ASSERT(raft_get_node(cl_raft(c, l), f) != NULL);
    ASSERT_EQ(0, raft_node_is_active(raft_get_node(cl_raft(c, l), f)));
    ASSERT_EQ(removes_before, cl_srv(c, l)->membership_remove);
    ASSERT(cl_converge(c, 5000));
    ASSERT(raft_get_node(cl_raft(c, l), f) == NULL);
    ASSERT_EQ(removes_before + 1, cl_srv(c, l)->membership_remove);
    ASSERT(raft_get_node(cl_raft(c, keep), f) == NULL);
    ASSERT(cl_srv(c, keep)->membership_remove >= 1);
    ASSERT_EQ(2, raft_get_num_voting_nodes(cl_raft(c, l)));
    t = raft_get_current_term(cl_raft(c, l));
    /* the removed server no longer hears a leader; whatever it does, the
     * others ignore it */
    cl_run(c, 10000);
    ASSERT_EQ(l, cl_leader(c));
    ASSERT_EQ(t, raft_get_current_term(cl_raft(c, l)));
    ASSERT_EQ(t, raft_get_current_term(cl_raft(c, keep)));
    ASSERT(cl_replicate(c, 5, 2000));
    ASSERT_EQ(0, cl_violations(c));
    cl_free(c);
}

/* The contract: responses from removed nodes are ignored and return 0;
 * requests from them change nothing. */
TEST(messages_from_removed_nodes_are_ignored)
{
    cluster_t *c = cl_new(3, 10);
    raft_node_id_t l = elect(c), f = l % 3 + 1;
    raft_server_t *r = cl_raft(c, l);
    raft_term_t t;
    raft_index_t commit;
    raft_appendentries_resp_t aer;
    raft_requestvote_resp_t rvr;
    raft_snapshot_resp_t snr;
    raft_requestvote_req_t rv;
    raft_requestvote_resp_t out;
    /* the application's handle for f, kept past the removal (only its value
     * is compared; it is not read) */
    raft_node_t *gone = raft_get_node(r, f);
    ASSERT_EQ(0, cl_submit_cfg(c, l, RAFT_LOGTYPE_REMOVE_NODE, f, NULL));
    ASSERT(cl_converge(c, 5000));
    t = raft_get_current_term(r);
    commit = raft_get_commit_idx(r);
    ASSERT(raft_get_node(r, f) == NULL);

    memset(&aer, 0, sizeof(aer));
    aer.msg_id = 1000000;
    aer.term = t;
    aer.success = 1;
    aer.current_idx = raft_get_current_idx(r) + 100;
    ASSERT_EQ(0, raft_recv_appendentries_response(r, gone, &aer));
    memset(&rvr, 0, sizeof(rvr));
    rvr.term = t + 3;
    rvr.request_term = t + 3;
    ASSERT_EQ(0, raft_recv_requestvote_response(r, gone, &rvr));
    memset(&snr, 0, sizeof(snr));
    snr.term = t;
    snr.success = 1;
    snr.last_chunk = 1;
    ASSERT_EQ(0, raft_recv_snapshot_response(r, gone, &snr));
    /* a NULL node is an error, and changes nothing either */
    ASSERT_EQ(-1, raft_recv_appendentries_response(r, NULL, &aer));
    ASSERT_EQ(-1, raft_recv_requestvote_response(r, NULL, &rvr));
    ASSERT_EQ(-1, raft_recv_snapshot_response(r, NULL, &snr));
    ASSERT(raft_is_leader(r));
    ASSERT_EQ(t, raft_get_current_term(r));
    ASSERT_EQ(commit, raft_get_commit_idx(r));

    memset(&rv, 0, sizeof(rv));
    rv.term = t + 1;
    rv.candidate_id = f;
    rv.last_log_idx = raft_get_current_idx(r) + 10;
    rv.last_log_term = t;
    memset(&out, 0, sizeof(out));
    raft_recv_requestvote(r, raft_get_node(r, f), &rv, &out);
    ASSERT_EQ(0, out.vote_granted);
    ASSERT(raft_is_leader(r));
    ASSERT_EQ(t, raft_get_current_term(r));
    ASSERT(cl_replicate(c, 1, 2000));
    cl_free(c);
}

/* §4.2.2: the leader can remove itself: it steps down once the change is
 * committed and the rest elect a leader among themselves. */
TEST(leader_removes_itself_and_the_rest_elect_a_new_leader)
{
    cluster_t *c = cl_new(3, 11);
    raft_node_id_t l = elect(c), nl = 0;
    raft_entry_resp_t resp;
    ASSERT_EQ(0, cl_submit_cfg(c, l, RAFT_LOGTYPE_REMOVE_NODE, l, &resp));
    for (int t = 0; t < 10000 && !nl; t += 10) {
        cl_step(c);
        if (cl_leader(c) && cl_leader(c) != l)
            nl = cl_leader(c);
    }
    ASSERT(nl != 0);
    ASSERT(!raft_is_leader(cl_raft(c, l)));
    ASSERT(raft_get_node(cl_raft(c, nl), l) == NULL);
    ASSERT_EQ(2, raft_get_num_voting_nodes(cl_raft(c, nl)));
    /* the removal itself was committed, on the new leader too */
    ASSERT(raft_get_commit_idx(cl_raft(c, nl)) >= resp.idx);
    ASSERT(cl_replicate(c, 77, 3000));
    cl_run(c, 5000);
    ASSERT_EQ(nl, cl_leader(c));
    ASSERT_EQ(0, cl_violations(c));
    cl_free(c);
}

/* Grow 3 -> 5, one server at a time, then lose two of the original three:
 * the five-voter cluster still has a majority. */
TEST(cluster_grows_from_three_to_five_voters)
{
    cluster_t *c = cl_new(3, 12);
    raft_node_id_t l = elect(c), nl;
    for (int i = 0; i < 50; i++)
        ASSERT_EQ(0, cl_submit(c, l, i, NULL));
    ASSERT(cl_converge(c, 5000));
    add_nonvoting(c, l, 4);
    promote(c, l, 4);
    add_nonvoting(c, l, 5);
    promote(c, l, 5);
    for (int i = 1; i <= 5; i++) {
        ASSERT_EQ(5, raft_get_num_voting_nodes(cl_raft(c, i)));
        ASSERT_EQ(5, raft_get_num_nodes(cl_raft(c, i)));
    }
    ASSERT(cl_same_applied(c, 1, 4));
    ASSERT(cl_same_applied(c, 1, 5));
    /* crash two of the first three (the leader among them, if it is) */
    cl_crash(c, l);
    cl_crash(c, l % 3 + 1);
    nl = cl_elect(c, 20000);
    ASSERT(nl != 0);
    ASSERT(cl_replicate(c, 99, 3000));
    ASSERT_EQ(0, cl_violations(c));
    cl_free(c);
}

/* node_has_sufficient_logs fires once per node, even as the node keeps
 * receiving entries. */
TEST(sufficient_logs_callback_fires_once_per_non_voting_node)
{
    cluster_t *c = cl_new(3, 13);
    raft_node_id_t l = elect(c);
    add_nonvoting(c, l, 4);
    for (int i = 0; i < 100; i++)
        ASSERT_EQ(0, cl_submit(c, l, i, NULL));
    ASSERT(cl_converge(c, 5000));
    cl_run(c, 2000);
    ASSERT_EQ(1, cl_srv(c, l)->sufficient_calls);
    ASSERT_EQ(1, raft_node_has_sufficient_logs(raft_get_node(cl_raft(c, l), 4)));
    cl_free(c);
}

/* A new non-voting node that is far behind only gets reported once it has
 * caught up. */
TEST(sufficient_logs_is_not_reported_before_the_node_catches_up)
{
    cluster_t *c = cl_new(3, 14);
    raft_node_id_t l = elect(c);
    for (int i = 0; i < 200; i++)
        ASSERT_EQ(0, cl_submit(c, l, i, NULL));
    ASSERT(cl_converge(c, 5000));
    cl_add_server(c, 4);
    cl_isolate(c, 4);
    ASSERT_EQ(0, cl_submit_cfg(c, l, RAFT_LOGTYPE_ADD_NONVOTING_NODE, 4, NULL));
    cl_run(c, 2000);
    ASSERT_EQ(0, cl_srv(c, l)->sufficient_calls);
    cl_heal(c);
    ASSERT(cl_converge(c, 5000));
    cl_run(c, 500);
    ASSERT_EQ(1, cl_srv(c, l)->sufficient_calls);
    ASSERT(cl_same_applied(c, l, 4));
    cl_free(c);
}

/* ---- the built-in log (raft_new): configuration changes take effect when
 * applied too, wherever they sit among ordinary entries. */

static int builtin_applied;
static int builtin_apply(raft_server_t *r, void *ud, raft_entry_t *e, raft_index_t idx)
{
    (void)r; (void)ud; (void)e; (void)idx;
    builtin_applied++;
    return 0;
}
static raft_node_id_t builtin_node_id(raft_server_t *r, void *ud, raft_entry_t *e, raft_index_t idx)
{
    (void)r; (void)ud; (void)idx;
    raft_node_id_t id = RAFT_NODE_ID_NONE;
    if (e && e->data_len >= sizeof(int))
        memcpy(&id, e->data, sizeof(int));
    return id;
}

/* Follower 2 of leader 1 (term 1) on the built-in log. */
static raft_server_t *builtin_follower(void)
{
    raft_server_t *r = raft_new();
    raft_cbs_t cbs;
    memset(&cbs, 0, sizeof(cbs));
    cbs.applylog = builtin_apply;
    cbs.get_node_id = builtin_node_id;
    raft_set_callbacks(r, &cbs, NULL);
    raft_add_node(r, NULL, 1, 0);
    raft_add_node(r, NULL, 2, 1);
    builtin_applied = 0;
    return r;
}

/* Appends n entries after prev (term 1) with the leader's commit index. */
static void builtin_ae(raft_server_t *r, raft_index_t prev, raft_entry_t **ents, int n, raft_index_t commit)
{
    raft_appendentries_req_t ae;
    raft_appendentries_resp_t resp;
    memset(&ae, 0, sizeof(ae));
    ae.leader_id = 1;
    ae.msg_id = 1;
    ae.term = 1;
    ae.prev_log_idx = prev;
    ae.prev_log_term = prev ? 1 : 0;
    ae.n_entries = n;
    ae.entries = ents;
    ae.leader_commit = commit;
    ASSERT_EQ(0, raft_recv_appendentries(r, raft_get_node(r, 1), &ae, &resp));
    ASSERT_EQ(1, resp.success);
}

static raft_entry_t *normal_entry(void)
{
    raft_entry_t *e = raft_entry_new(8);
    e->term = 1;
    return e;
}

TEST(builtin_log_applies_configuration_changes_among_ordinary_entries)
{
    raft_server_t *r = builtin_follower();
    raft_entry_t *ents[100];
    ents[0] = normal_entry();
    ents[1] = cfg_entry(1, RAFT_LOGTYPE_ADD_NONVOTING_NODE, 5);
    ents[2] = normal_entry();
    ents[3] = normal_entry();
    builtin_ae(r, 0, ents, 4, 1);
    raft_periodic(r);
    ASSERT_EQ(1, raft_get_last_applied_idx(r));
    raft_node_t *n5 = raft_get_node(r, 5);
    ASSERT(n5 != NULL);
    ASSERT_EQ(0, raft_node_is_addition_committed(n5));
    builtin_ae(r, 4, NULL, 0, 4);
    raft_periodic(r);
    ASSERT_EQ(4, raft_get_last_applied_idx(r));
    ASSERT_EQ(1, raft_node_is_addition_committed(raft_get_node(r, 5)));
    for (int i = 0; i < 4; i++)
        raft_entry_release(ents[i]);

    /* A long stretch of ordinary entries, then a promotion behind them. */
    for (int i = 0; i < 99; i++)
        ents[i] = normal_entry();
    ents[99] = cfg_entry(1, RAFT_LOGTYPE_ADD_NODE, 5);
    builtin_ae(r, 4, ents, 100, 104);
    ASSERT_EQ(1, raft_node_is_voting(raft_get_node(r, 5)));
    raft_periodic(r);
    ASSERT_EQ(104, raft_get_last_applied_idx(r));
    ASSERT_EQ(104, builtin_applied);
    ASSERT_EQ(1, raft_node_is_voting_committed(raft_get_node(r, 5)));
    for (int i = 0; i < 100; i++)
        raft_entry_release(ents[i]);
    raft_destroy(r);
}

TEST_MAIN()
