/* Behaviour programs written against the original library rely on
 * (RedisRaft above all): bootstrapping a cluster from a non-voting leader,
 * removal in two steps, snapshots newer than the follower's own, voting
 * changes during a snapshot, and the return values the original documents. */
#include "raft.h"
#include "raft_compat.h"
#include "support/cluster.h"
#include "test.h"

/* ---------------------------------------------------------------- a lone
 * server on the built-in log, driven by hand */

static struct lone {
    int applied, persists, adds, removes;
    raft_index_t last_applied_idx;
    raft_node_t *removed_node_seen; /* what applylog found for a REMOVE_NODE */
    int removed_lookups;
    void *log_cb_udata;
    int sent_rv;
    int stores, loads, clears, load_rc;
    raft_size_t last_store_offset;
} lone;

static raft_node_id_t lone_node_id(raft_server_t *r, void *ud, raft_entry_t *e, raft_index_t idx)
{
    (void)r, (void)ud, (void)idx;
    raft_node_id_t id;
    memcpy(&id, e->data, sizeof(id));
    return id;
}

static int lone_apply(raft_server_t *r, void *ud, raft_entry_t *e, raft_index_t idx)
{
    (void)ud;
    lone.applied++;
    lone.last_applied_idx = idx;
    if (e->type == RAFT_LOGTYPE_REMOVE_NODE) {
        raft_node_id_t id;
        memcpy(&id, e->data, sizeof(id));
        lone.removed_lookups++;
        lone.removed_node_seen = raft_get_node(r, id);
    }
    return 0;
}

static int lone_persist(raft_server_t *r, void *ud, raft_term_t term, raft_node_id_t vote)
{
    (void)r, (void)ud, (void)term, (void)vote;
    lone.persists++;
    return 0;
}

static int lone_send_ae(raft_server_t *r, void *ud, raft_node_t *n, raft_appendentries_req_t *m)
{
    (void)r, (void)ud, (void)n, (void)m;
    return 0;
}

static int lone_send_rv(raft_server_t *r, void *ud, raft_node_t *n, raft_requestvote_req_t *m)
{
    (void)r, (void)ud, (void)n, (void)m;
    lone.sent_rv++;
    return 0;
}

static void lone_membership(raft_server_t *r, void *ud, raft_node_t *n, raft_entry_t *e, raft_membership_e t)
{
    (void)r, (void)ud, (void)n, (void)e;
    if (t == RAFT_MEMBERSHIP_ADD)
        lone.adds++;
    else
        lone.removes++;
}

static int lone_store(raft_server_t *r, void *ud, raft_index_t idx, raft_size_t offset, raft_snapshot_chunk_t *c)
{
    (void)r, (void)ud, (void)idx, (void)c;
    lone.stores++;
    lone.last_store_offset = offset;
    return 0;
}

static int lone_clear(raft_server_t *r, void *ud)
{
    (void)r, (void)ud;
    lone.clears++;
    return 0;
}

/* Loads a snapshot whose configuration is voters 1, 2, 3. */
static int lone_load(raft_server_t *r, void *ud, raft_term_t term, raft_index_t idx)
{
    (void)ud;
    lone.loads++;
    lone.load_rc = raft_begin_load_snapshot(r, term, idx);
    if (lone.load_rc != 0)
        return -1;
    for (raft_node_id_t id = 1; id <= 3; id++)
        if (!raft_get_node(r, id))
            raft_add_node(r, NULL, id, 0);
    return raft_end_load_snapshot(r);
}

static raft_server_t *lone_new(void)
{
    raft_cbs_t cbs;
    memset(&cbs, 0, sizeof(cbs));
    memset(&lone, 0, sizeof(lone));
    cbs.get_node_id = lone_node_id;
    cbs.applylog = lone_apply;
    cbs.persist_metadata = lone_persist;
    cbs.send_appendentries = lone_send_ae;
    cbs.send_requestvote = lone_send_rv;
    cbs.notify_membership_event = lone_membership;
    cbs.store_snapshot_chunk = lone_store;
    cbs.clear_snapshot = lone_clear;
    cbs.load_snapshot = lone_load;
    raft_server_t *r = raft_new();
    ASSERT(r != NULL);
    raft_set_callbacks(r, &cbs, &lone);
    return r;
}

static raft_entry_t *cfg(int type, raft_node_id_t id)
{
    raft_entry_t *e = raft_entry_new(sizeof(id));
    e->type = (short)type;
    memcpy(e->data, &id, sizeof(id));
    return e;
}

static int submit_cfg(raft_server_t *r, int type, raft_node_id_t id)
{
    raft_entry_resp_t resp;
    raft_entry_t *e = cfg(type, id);
    int rc = raft_recv_entry(r, e, &resp);
    raft_entry_release(e);
    return rc;
}

/* RedisRaft's RAFT.CLUSTER INIT. */
static raft_server_t *bootstrap(raft_node_id_t self)
{
    raft_server_t *r = lone_new();
    ASSERT(raft_add_non_voting_node(r, NULL, self, 1) != NULL);
    ASSERT_EQ(0, raft_set_current_term(r, 1));
    ASSERT_EQ(0, raft_become_leader(r));
    ASSERT_EQ(0, submit_cfg(r, RAFT_LOGTYPE_ADD_NODE, self));
    return r;
}

TEST(non_voting_leader_bootstraps_by_adding_itself_as_a_voter)
{
    raft_server_t *r = bootstrap(1);
    ASSERT(raft_is_leader(r));
    ASSERT_EQ(1, raft_get_num_nodes(r));
    ASSERT_EQ(1, raft_get_num_voting_nodes(r));
    ASSERT(raft_node_is_voting(raft_get_my_node(r)));
    /* auto flush: the sole voter commits and applies both entries at once */
    ASSERT_EQ(2, raft_get_current_idx(r));
    ASSERT_EQ(2, raft_get_commit_idx(r));
    ASSERT_EQ(2, lone.applied);
    ASSERT_EQ(0, raft_voting_change_is_in_progress(r));
    /* and it grows: the next voter joins as its first change allows */
    ASSERT_EQ(0, submit_cfg(r, RAFT_LOGTYPE_ADD_NONVOTING_NODE, 2));
    ASSERT_EQ(0, submit_cfg(r, RAFT_LOGTYPE_ADD_NODE, 2));
    ASSERT_EQ(2, raft_get_num_voting_nodes(r));
    /* now there is another voter: the change waits for its commit */
    ASSERT_EQ(RAFT_ERR_ONE_VOTING_CHANGE_ONLY, submit_cfg(r, RAFT_LOGTYPE_ADD_NODE, 3));
    raft_destroy(r);
}

TEST(sole_voting_leader_with_auto_flush_off_commits_its_noop_and_changes_membership)
{
    raft_server_t *r = lone_new();
    ASSERT(raft_add_node(r, NULL, 1, 1) != NULL);
    ASSERT_EQ(0, raft_config(r, 1, RAFT_CONFIG_AUTO_FLUSH, 0));
    ASSERT_EQ(0, raft_set_current_term(r, 1));
    ASSERT_EQ(0, raft_become_leader(r));
    /* as the original: becoming leader syncs the log, so a sole voter
     * commits its no-op at once, auto flush or not */
    ASSERT_EQ(1, raft_get_commit_idx(r));
    ASSERT_EQ(0, submit_cfg(r, RAFT_LOGTYPE_ADD_NONVOTING_NODE, 2));
    ASSERT_EQ(0, submit_cfg(r, RAFT_LOGTYPE_ADD_NODE, 2));
    ASSERT_EQ(2, raft_get_num_voting_nodes(r));
    raft_destroy(r);
}

/* A leader with other voters keeps the rule (thesis §4.1 erratum). */
TEST(leader_with_other_voters_commits_in_its_term_before_a_voting_change)
{
    raft_server_t *r = lone_new();
    ASSERT(raft_add_node(r, NULL, 1, 1) != NULL);
    ASSERT(raft_add_node(r, NULL, 2, 0) != NULL);
    ASSERT_EQ(0, raft_set_current_term(r, 1));
    ASSERT_EQ(0, raft_become_leader(r));
    ASSERT_EQ(RAFT_ERR_ONE_VOTING_CHANGE_ONLY, submit_cfg(r, RAFT_LOGTYPE_ADD_NODE, 3));
    /* a non-voting addition is not a voting change */
    ASSERT_EQ(0, submit_cfg(r, RAFT_LOGTYPE_ADD_NONVOTING_NODE, 3));
    raft_destroy(r);
}

/* The original refuses a voting change while a snapshot is being taken
 * (unless applying is non-blocking), since the application may be writing
 * the membership into the snapshot; and it says so before "not leader". */
TEST(voting_change_during_a_blocking_snapshot_is_refused)
{
    raft_server_t *r = bootstrap(1);
    ASSERT_EQ(0, raft_begin_snapshot(r));
    ASSERT_EQ(RAFT_ERR_SNAPSHOT_IN_PROGRESS, submit_cfg(r, RAFT_LOGTYPE_ADD_NODE, 2));
    ASSERT_EQ(RAFT_ERR_SNAPSHOT_IN_PROGRESS, submit_cfg(r, RAFT_LOGTYPE_REMOVE_NODE, 1));
    ASSERT_EQ(0, submit_cfg(r, RAFT_LOGTYPE_ADD_NONVOTING_NODE, 2));
    raft_become_follower(r);
    ASSERT_EQ(RAFT_ERR_SNAPSHOT_IN_PROGRESS, submit_cfg(r, RAFT_LOGTYPE_ADD_NODE, 2));
    ASSERT_EQ(RAFT_ERR_NOT_LEADER, submit_cfg(r, RAFT_LOGTYPE_ADD_NONVOTING_NODE, 3));
    ASSERT_EQ(0, raft_end_snapshot(r));
    ASSERT_EQ(RAFT_ERR_NOT_LEADER, submit_cfg(r, RAFT_LOGTYPE_ADD_NODE, 2));
    raft_destroy(r);
}

TEST(voting_change_during_a_nonblocking_snapshot_is_accepted)
{
    raft_server_t *r = bootstrap(1);
    ASSERT_EQ(0, raft_config(r, 1, RAFT_CONFIG_NONBLOCKING_APPLY, 1));
    ASSERT_EQ(0, raft_begin_snapshot(r));
    ASSERT_EQ(0, submit_cfg(r, RAFT_LOGTYPE_ADD_NONVOTING_NODE, 2));
    ASSERT_EQ(0, submit_cfg(r, RAFT_LOGTYPE_ADD_NODE, 2));
    ASSERT_EQ(0, raft_end_snapshot(r));
    raft_destroy(r);
}

/* ---------------------------------------------------------------- removal
 * in two steps */

TEST(removed_node_stays_listed_until_applylog_has_seen_it)
{
    raft_server_t *r = bootstrap(1);
    ASSERT_EQ(0, submit_cfg(r, RAFT_LOGTYPE_ADD_NONVOTING_NODE, 2));
    ASSERT_EQ(0, raft_config(r, 1, RAFT_CONFIG_AUTO_FLUSH, 0));
    raft_node_t *two = raft_get_node(r, 2);
    ASSERT(two != NULL);
    ASSERT_EQ(0, submit_cfg(r, RAFT_LOGTYPE_REMOVE_NODE, 2));
    /* appended, not committed: inactive but still a node */
    ASSERT_EQ(2, raft_get_num_nodes(r));
    ASSERT_PTR_EQ(two, raft_get_node(r, 2));
    ASSERT_EQ(0, raft_node_is_active(two));
    ASSERT_EQ(1, raft_voting_change_is_in_progress(r));
    ASSERT_EQ(0, lone.removes);
    ASSERT_EQ(0, raft_flush(r, raft_get_index_to_sync(r)));
    /* applylog found it; then it left the list with a notification */
    ASSERT_EQ(1, lone.removed_lookups);
    ASSERT_PTR_EQ(two, lone.removed_node_seen);
    ASSERT(raft_get_node(r, 2) == NULL);
    ASSERT_EQ(1, raft_get_num_nodes(r));
    ASSERT_EQ(1, lone.removes);
    raft_destroy(r);
}

/* A server that has appended its own removal neither campaigns nor counts
 * itself, even if it never hears that the removal committed. */
TEST(server_that_appended_its_own_removal_starts_no_election)
{
    raft_server_t *r = lone_new();
    ASSERT(raft_add_node(r, NULL, 1, 1) != NULL);
    ASSERT(raft_add_node(r, NULL, 2, 0) != NULL);
    ASSERT(raft_add_node(r, NULL, 3, 0) != NULL);
    raft_entry_t *rm = cfg(RAFT_LOGTYPE_REMOVE_NODE, 1);
    rm->term = 1;
    raft_entry_t *ents[1] = {rm};
    raft_appendentries_req_t ae;
    raft_appendentries_resp_t resp;
    memset(&ae, 0, sizeof(ae));
    ae.term = 1;
    ae.leader_id = 2;
    ae.msg_id = 1;
    ae.n_entries = 1;
    ae.entries = ents;
    ASSERT_EQ(0, raft_recv_appendentries(r, raft_get_node(r, 2), &ae, &resp));
    ASSERT_EQ(1, resp.success);
    raft_entry_release(rm);
    ASSERT_EQ(3, raft_get_num_nodes(r));
    ASSERT_EQ(0, raft_node_is_active(raft_get_my_node(r)));
    ASSERT_EQ(2, raft_get_num_voting_nodes(r));
    lone.sent_rv = 0;
    for (int i = 0; i < 10; i++)
        ASSERT_EQ(0, raft_periodic_internal(r, 1000));
    ASSERT(raft_is_follower(r));
    ASSERT_EQ(0, lone.sent_rv);
    ASSERT_EQ(1, raft_get_current_term(r));
    raft_destroy(r);
}

/* ---------------------------------------------------------------- snapshots
 * received by a follower */

static raft_server_t *follower_of_three(void)
{
    raft_server_t *r = lone_new();
    ASSERT(raft_add_node(r, NULL, 1, 1) != NULL);
    ASSERT(raft_add_node(r, NULL, 2, 0) != NULL);
    ASSERT(raft_add_node(r, NULL, 3, 0) != NULL);
    return r;
}

static void recv_ae(raft_server_t *r, raft_node_id_t leader, raft_term_t term, raft_index_t prev, int n,
                    raft_index_t commit)
{
    raft_entry_t *ents[8];
    raft_appendentries_req_t ae;
    raft_appendentries_resp_t resp;
    for (int i = 0; i < n; i++) {
        ents[i] = raft_entry_new(sizeof(int));
        ents[i]->term = term;
    }
    memset(&ae, 0, sizeof(ae));
    ae.term = term;
    ae.leader_id = leader;
    ae.msg_id = 1;
    ae.prev_log_idx = prev;
    ae.prev_log_term = prev ? term : 0;
    ae.leader_commit = commit;
    ae.n_entries = n;
    ae.entries = ents;
    ASSERT_EQ(0, raft_recv_appendentries(r, raft_get_node(r, leader), &ae, &resp));
    ASSERT_EQ(1, resp.success);
    raft_entry_release_list(ents, (size_t)n);
}

static raft_snapshot_resp_t recv_snap(raft_server_t *r, raft_node_id_t leader, raft_term_t term, raft_index_t idx,
                                      raft_size_t offset, int last)
{
    static char data[4];
    raft_snapshot_req_t req;
    raft_snapshot_resp_t resp;
    memset(&req, 0, sizeof(req));
    memset(&resp, 0, sizeof(resp));
    req.term = term;
    req.leader_id = leader;
    req.msg_id = 7;
    req.snapshot_index = idx;
    req.snapshot_term = 1;
    req.chunk.offset = offset;
    req.chunk.data = data;
    req.chunk.len = sizeof(data);
    req.chunk.last_chunk = last;
    ASSERT_EQ(0, raft_recv_snapshot(r, raft_get_node(r, leader), &req, &resp));
    return resp;
}

/* RedisRaft forces snapshots on up-to-date followers (RAFT.DEBUG
 * SENDSNAPSHOT): a snapshot newer than the follower's own is loaded even
 * though the follower's log, and its commit index, already cover it. */
TEST(follower_loads_a_newer_snapshot_its_log_already_covers)
{
    raft_server_t *r = follower_of_three();
    recv_ae(r, 2, 1, 0, 4, 3);
    ASSERT_EQ(3, raft_get_commit_idx(r));
    ASSERT_EQ(3, raft_get_last_applied_idx(r));
    raft_snapshot_resp_t resp = recv_snap(r, 2, 1, 3, 0, 1);
    ASSERT_EQ(1, resp.success);
    ASSERT_EQ(1, lone.stores);
    ASSERT_EQ(1, lone.loads);
    ASSERT_EQ(0, lone.load_rc);
    ASSERT_EQ(3, raft_get_snapshot_last_idx(r));
    /* the entry after the snapshot stays */
    ASSERT_EQ(4, raft_get_current_idx(r));
    ASSERT_EQ(3, raft_get_commit_idx(r));
    ASSERT_EQ(3, raft_get_num_voting_nodes(r));
    /* the same snapshot, or an older one, is not loaded again */
    resp = recv_snap(r, 2, 1, 3, 0, 1);
    ASSERT_EQ(1, resp.success);
    ASSERT_EQ(1, resp.last_chunk);
    resp = recv_snap(r, 2, 1, 2, 0, 1);
    ASSERT_EQ(1, resp.success);
    ASSERT_EQ(1, resp.last_chunk);
    ASSERT_EQ(1, lone.stores);
    ASSERT_EQ(1, lone.loads);
    raft_destroy(r);
}

/* A snapshot older than what the state machine applied cannot be loaded
 * (it would move the state machine back). */
TEST(begin_load_snapshot_refuses_a_snapshot_behind_the_applied_index)
{
    raft_server_t *r = follower_of_three();
    recv_ae(r, 2, 1, 0, 4, 4);
    ASSERT_EQ(4, raft_get_last_applied_idx(r));
    ASSERT_EQ(RAFT_ERR_MISUSE, raft_begin_load_snapshot(r, 1, 3));
    ASSERT_EQ(0, raft_begin_load_snapshot(r, 1, 4));
    ASSERT_EQ(0, raft_end_load_snapshot(r));
    ASSERT_EQ(RAFT_ERR_SNAPSHOT_ALREADY_LOADED, raft_begin_load_snapshot(r, 1, 4));
    raft_destroy(r);
}

TEST(partly_received_snapshot_is_dropped_when_the_leader_changes)
{
    raft_server_t *r = follower_of_three();
    raft_snapshot_resp_t resp = recv_snap(r, 2, 1, 5, 0, 0);
    ASSERT_EQ(1, resp.success);
    ASSERT_EQ(4, resp.offset);
    ASSERT_EQ(1, lone.stores);
    /* leader 3, next term, same snapshot index, asks to go on at offset 4 */
    resp = recv_snap(r, 3, 2, 5, 4, 0);
    ASSERT_EQ(1, lone.clears);
    ASSERT_EQ(0, resp.success);
    ASSERT_EQ(0, resp.offset); /* start again */
    ASSERT_EQ(1, lone.stores);
    resp = recv_snap(r, 3, 2, 5, 0, 0);
    ASSERT_EQ(1, resp.success);
    ASSERT_EQ(2, lone.stores);
    ASSERT_EQ(0, lone.last_store_offset);
    raft_destroy(r);
}

TEST(partly_received_snapshot_is_dropped_when_the_term_changes)
{
    raft_server_t *r = follower_of_three();
    raft_snapshot_resp_t resp = recv_snap(r, 2, 1, 5, 0, 0);
    ASSERT_EQ(1, resp.success);
    /* the same leader, re-elected in a later term */
    resp = recv_snap(r, 2, 3, 5, 4, 0);
    ASSERT_EQ(1, lone.clears);
    ASSERT_EQ(0, resp.success);
    ASSERT_EQ(0, resp.offset);
    raft_destroy(r);
}

/* The leader of a different term also reaches the follower through
 * appendentries first: the partial snapshot goes then. */
TEST(partly_received_snapshot_is_dropped_on_appendentries_from_a_new_leader)
{
    raft_server_t *r = follower_of_three();
    raft_snapshot_resp_t resp = recv_snap(r, 2, 1, 5, 0, 0);
    ASSERT_EQ(1, resp.success);
    recv_ae(r, 3, 2, 0, 0, 0);
    ASSERT_EQ(1, lone.clears);
    resp = recv_snap(r, 3, 2, 5, 4, 0);
    ASSERT_EQ(0, resp.success);
    ASSERT_EQ(0, resp.offset);
    ASSERT_EQ(1, lone.clears);
    raft_destroy(r);
}

/* An application forces a snapshot on an up-to-date follower by setting its
 * next index at or below the snapshot (RedisRaft's RAFT.DEBUG
 * SENDSNAPSHOT); the follower loads it. */
TEST(leader_sends_a_forced_snapshot_to_an_up_to_date_follower)
{
    cluster_t *c = cl_new(3, 43);
    raft_node_id_t l = cl_elect(c, 20000), f;
    ASSERT(l != 0);
    for (int i = 0; i < 10; i++)
        ASSERT_EQ(0, cl_submit(c, l, i, NULL));
    ASSERT(cl_converge(c, 5000));
    f = l % 3 + 1;
    ASSERT_EQ(0, cl_snapshot(c, l));
    raft_index_t si = raft_get_snapshot_last_idx(cl_raft(c, l));
    ASSERT(si > 0);
    ASSERT(raft_node_get_match_idx(cl_node(c, l, f)) >= si);
    int loads = cl_srv(c, f)->load_calls;
    raft_node_set_next_idx(cl_node(c, l, f), si);
    cl_run(c, 2000);
    ASSERT_EQ(loads + 1, cl_srv(c, f)->load_calls);
    ASSERT_EQ(si, raft_get_snapshot_last_idx(cl_raft(c, f)));
    ASSERT(cl_replicate(c, 99, 2000));
    ASSERT(cl_same_applied(c, l, f));
    ASSERT_EQ(0, cl_violations(c));
    cl_free(c);
}

/* ---------------------------------------------------------------- return
 * values */

static raft_entry_t *normal(raft_term_t term)
{
    raft_entry_t *e = raft_entry_new(0);
    e->term = term;
    return e;
}

TEST(deleting_from_index_zero_or_below_is_an_error_and_keeps_the_log)
{
    raft_log_t *l = raft_log_new();
    for (int i = 0; i < 3; i++) {
        raft_entry_t *e = normal(1);
        ASSERT_EQ(0, raft_log_append_entry(l, e));
        raft_entry_release(e);
    }
    ASSERT_EQ(-1, raft_log_delete(l, 0));
    ASSERT_EQ(-1, raft_log_delete(l, -5));
    ASSERT_EQ(3, raft_log_count(l));
    ASSERT_EQ(0, raft_log_delete(l, 3));
    ASSERT_EQ(2, raft_log_count(l));
    raft_log_free(l);

    /* the built-in log's pop, through its implementation table */
    raft_server_t *r = lone_new();
    for (int i = 0; i < 3; i++) {
        raft_entry_t *e = normal(0);
        ASSERT_EQ(0, raft_append_entry(r, e));
        raft_entry_release(e);
    }
    void *log = raft_get_log(r);
    ASSERT_EQ(-1, raft_log_internal_impl.pop(log, 0, NULL, NULL));
    ASSERT_EQ(-1, raft_log_internal_impl.pop(log, -1, NULL, NULL));
    ASSERT_EQ(3, raft_get_current_idx(r));
    ASSERT_EQ(3, raft_get_log_count(r));
    raft_destroy(r);
}

TEST(responses_from_a_null_node_are_an_error)
{
    raft_server_t *r = bootstrap(1);
    raft_appendentries_resp_t aer;
    raft_snapshot_resp_t sr;
    raft_requestvote_resp_t rvr;
    memset(&aer, 0, sizeof(aer));
    memset(&sr, 0, sizeof(sr));
    memset(&rvr, 0, sizeof(rvr));
    aer.term = sr.term = rvr.term = 1;
    ASSERT_EQ(-1, raft_recv_appendentries_response(r, NULL, &aer));
    ASSERT_EQ(-1, raft_recv_snapshot_response(r, NULL, &sr));
    ASSERT_EQ(-1, raft_recv_requestvote_response(r, NULL, &rvr));
    ASSERT(raft_is_leader(r));
    raft_destroy(r);
}

TEST(restore_snapshot_refuses_negative_values_and_leaves_the_snapshot_term)
{
    raft_server_t *r = lone_new();
    ASSERT(raft_add_node(r, NULL, 1, 1) != NULL);
    ASSERT_EQ(RAFT_ERR_MISUSE, raft_restore_snapshot(r, -1, 5));
    ASSERT_EQ(RAFT_ERR_MISUSE, raft_restore_snapshot(r, 1, -5));
    ASSERT_EQ(0, raft_get_snapshot_last_idx(r));
    ASSERT_EQ(0, raft_restore_snapshot(r, 3, 10));
    ASSERT_EQ(3, raft_get_current_term(r));
    ASSERT_EQ(10, raft_get_commit_idx(r));
    ASSERT_EQ(10, raft_get_last_applied_idx(r));
    ASSERT_EQ(0, lone.persists);
    /* once restored, a second restore is misuse */
    ASSERT_EQ(RAFT_ERR_MISUSE, raft_restore_snapshot(r, 3, 10));
    ASSERT_EQ(0, raft_restore_metadata(r, 4, 1));
    ASSERT_EQ(4, raft_get_current_term(r));
    raft_destroy(r);
}

TEST(nvotes_for_me_counts_as_the_original)
{
    raft_server_t *r = lone_new();
    ASSERT(raft_add_node(r, NULL, 1, 1) != NULL);
    ASSERT(raft_add_node(r, NULL, 2, 0) != NULL);
    ASSERT(raft_add_node(r, NULL, 3, 0) != NULL);
    /* a voting server counts itself, campaign or not */
    ASSERT_EQ(1, raft_get_nvotes_for_me(r));
    ASSERT_EQ(0, raft_become_candidate(r));
    ASSERT_EQ(1, raft_get_nvotes_for_me(r));
    raft_requestvote_resp_t rvr;
    memset(&rvr, 0, sizeof(rvr));
    rvr.term = raft_get_current_term(r);
    rvr.request_term = rvr.term;
    rvr.vote_granted = 1;
    ASSERT_EQ(0, raft_recv_requestvote_response(r, raft_get_node(r, 2), &rvr));
    ASSERT(raft_is_leader(r));
    ASSERT_EQ(2, raft_get_nvotes_for_me(r));
    raft_destroy(r);

    r = lone_new();
    ASSERT(raft_add_non_voting_node(r, NULL, 1, 1) != NULL);
    ASSERT(raft_add_node(r, NULL, 2, 0) != NULL);
    ASSERT_EQ(0, raft_get_nvotes_for_me(r));
    raft_destroy(r);
}

TEST(follower_tracks_the_highest_msg_id_seen_from_its_leader)
{
    raft_server_t *r = follower_of_three();
    raft_node_t *two = raft_get_node(r, 2);
    raft_appendentries_req_t ae;
    raft_appendentries_resp_t resp;
    memset(&ae, 0, sizeof(ae));
    ae.term = 1;
    ae.leader_id = 2;
    ae.msg_id = 5;
    ASSERT_EQ(0, raft_recv_appendentries(r, two, &ae, &resp));
    ASSERT_EQ(5, raft_node_get_max_seen_msg_id(two));
    ae.msg_id = 3; /* a late one does not lower it */
    ASSERT_EQ(0, raft_recv_appendentries(r, two, &ae, &resp));
    ASSERT_EQ(5, raft_node_get_max_seen_msg_id(two));
    recv_snap(r, 2, 1, 9, 0, 0); /* msg_id 7 */
    ASSERT_EQ(7, raft_node_get_max_seen_msg_id(two));
    raft_destroy(r);
}

static void *offer_udata;
static int offers;

static int count_offer(raft_server_t *r, void *ud, raft_entry_t *e, raft_index_t idx)
{
    (void)r, (void)e, (void)idx;
    offers++;
    offer_udata = ud;
    return 0;
}

TEST(standalone_log_bound_to_a_server_passes_that_servers_user_data)
{
    static int marker, not_a_server;
    raft_server_t *r = lone_new();
    raft_cbs_t cbs;
    memset(&cbs, 0, sizeof(cbs));
    raft_set_callbacks(r, &cbs, &marker);
    raft_log_t *l = raft_log_new();
    raft_log_cbs_t lcbs;
    memset(&lcbs, 0, sizeof(lcbs));
    lcbs.log_offer = count_offer;
    raft_log_set_callbacks(l, &lcbs, r);
    raft_entry_t *e = normal(1);
    ASSERT_EQ(0, raft_log_append_entry(l, e));
    ASSERT_EQ(1, offers);
    ASSERT_PTR_EQ(&marker, offer_udata);
    /* a pointer that is no server is never read: the observer gets NULL */
    raft_log_set_callbacks(l, &lcbs, &not_a_server);
    ASSERT_EQ(0, raft_log_append_entry(l, e));
    ASSERT_EQ(2, offers);
    ASSERT_PTR_EQ(NULL, offer_udata);
    /* nor is a destroyed server */
    raft_log_set_callbacks(l, &lcbs, r);
    raft_destroy(r);
    ASSERT_EQ(0, raft_log_append_entry(l, e));
    ASSERT_PTR_EQ(NULL, offer_udata);
    raft_entry_release(e);
    raft_log_free(l);
}

static int read_answers, read_ok;

static void read_cb(void *arg, int can_read)
{
    (void)arg;
    read_answers++;
    read_ok = can_read;
}

/* Regression (simulator): message ids a leader hears in other servers'
 * messages are not acknowledgements of its own (they count in another
 * server's sequence), so they never confirm a read. */
TEST(msg_ids_seen_from_other_servers_do_not_confirm_a_leaders_read)
{
    raft_server_t *r = follower_of_three();
    ASSERT_EQ(0, raft_become_candidate(r));
    raft_requestvote_resp_t rvr;
    memset(&rvr, 0, sizeof(rvr));
    rvr.term = rvr.request_term = raft_get_current_term(r);
    rvr.vote_granted = 1;
    ASSERT_EQ(0, raft_recv_requestvote_response(r, raft_get_node(r, 2), &rvr));
    ASSERT(raft_is_leader(r));
    raft_appendentries_resp_t aer;
    memset(&aer, 0, sizeof(aer));
    aer.term = raft_get_current_term(r);
    aer.msg_id = raft_get_msg_id(r);
    aer.success = 1;
    aer.current_idx = raft_get_current_idx(r);
    ASSERT_EQ(0, raft_recv_appendentries_response(r, raft_get_node(r, 2), &aer));
    ASSERT_EQ(raft_get_current_idx(r), raft_get_commit_idx(r)); /* the no-op */
    ASSERT_EQ(raft_get_commit_idx(r), raft_get_last_applied_idx(r));
    read_answers = 0;
    ASSERT_EQ(0, raft_recv_read_request(r, read_cb, NULL));
    raft_appendentries_req_t ae;
    raft_appendentries_resp_t resp;
    memset(&ae, 0, sizeof(ae));
    ae.term = 0; /* stale: a deposed leader's message */
    ae.msg_id = 1000000;
    for (raft_node_id_t id = 2; id <= 3; id++) {
        ae.leader_id = id;
        ASSERT_EQ(0, raft_recv_appendentries(r, raft_get_node(r, id), &ae, &resp));
    }
    ASSERT_EQ(0, raft_periodic_internal(r, 1));
    ASSERT_EQ(0, read_answers);
    ASSERT(raft_is_leader(r));
    /* a real answer to the leader's own heartbeat confirms it */
    aer.term = raft_get_current_term(r);
    aer.msg_id = raft_get_msg_id(r);
    aer.success = 1;
    aer.current_idx = raft_get_current_idx(r);
    ASSERT_EQ(0, raft_recv_appendentries_response(r, raft_get_node(r, 2), &aer));
    ASSERT_EQ(0, raft_periodic_internal(r, 1));
    ASSERT_EQ(1, read_answers);
    ASSERT_EQ(1, read_ok);
    raft_destroy(r);
}

TEST(read_request_without_callback_on_a_follower_is_not_leader)
{
    raft_server_t *r = follower_of_three();
    ASSERT_EQ(RAFT_ERR_NOT_LEADER, raft_recv_read_request(r, NULL, NULL));
    raft_destroy(r);
    r = bootstrap(1);
    ASSERT_EQ(RAFT_ERR_MISUSE, raft_recv_read_request(r, NULL, NULL));
    raft_destroy(r);
}

static int ae_msgs, ae_entries;

static int count_ae(raft_server_t *r, void *ud, raft_node_t *n, raft_appendentries_req_t *m)
{
    (void)r, (void)ud, (void)n;
    ae_msgs++;
    ae_entries += (int)m->n_entries;
    return 0;
}

static raft_index_t ten_at_most(raft_server_t *r, void *ud, raft_node_t *n, raft_index_t idx, raft_index_t max,
                                raft_entry_t **out)
{
    (void)ud, (void)n;
    raft_index_t got = 0;
    raft_entry_t **batch = raft_get_entries_from_idx(r, idx, &got);
    raft_index_t k = got < max ? got : max;
    if (k > 10)
        k = 10;
    for (raft_index_t i = 0; i < got; i++) {
        if (i < k)
            out[i] = batch[i];
        else
            raft_entry_release(batch[i]);
    }
    raft_free(batch);
    return k;
}

/* As the original: raft_send_appendentries_all sends each node everything
 * it lacks, in as many messages as the host's limit takes. */
TEST(send_appendentries_all_sends_every_missing_entry)
{
    raft_server_t *r = lone_new();
    raft_cbs_t cbs;
    memset(&cbs, 0, sizeof(cbs));
    cbs.send_appendentries = count_ae;
    cbs.get_entries_to_send = ten_at_most;
    cbs.persist_metadata = lone_persist;
    raft_set_callbacks(r, &cbs, NULL);
    ASSERT(raft_add_node(r, NULL, 1, 1) != NULL);
    ASSERT(raft_add_node(r, NULL, 2, 0) != NULL);
    ASSERT_EQ(0, raft_set_current_term(r, 1));
    for (int i = 0; i < 200; i++) {
        raft_entry_t *e = normal(1);
        ASSERT_EQ(0, raft_append_entry(r, e));
        raft_entry_release(e);
    }
    ASSERT_EQ(0, raft_become_leader(r)); /* entry 201, the no-op */
    raft_node_set_next_idx(raft_get_node(r, 2), 1);
    ae_msgs = ae_entries = 0;
    ASSERT_EQ(0, raft_send_appendentries_all(r));
    ASSERT_EQ(201, ae_entries);
    ASSERT_EQ(21, ae_msgs);
    raft_destroy(r);
}

/* As the original: a snapshot needs at least two entries in the log. */
TEST(snapshot_of_a_single_entry_log_is_refused)
{
    raft_server_t *r = lone_new();
    ASSERT(raft_add_node(r, NULL, 1, 1) != NULL);
    raft_entry_t *e = normal(0);
    ASSERT_EQ(0, raft_append_entry(r, e));
    raft_set_commit_idx(r, 1);
    ASSERT_EQ(0, raft_get_num_snapshottable_logs(r));
    ASSERT_EQ(-1, raft_begin_snapshot(r));
    ASSERT_EQ(0, raft_append_entry(r, e));
    raft_entry_release(e);
    ASSERT_EQ(1, raft_get_num_snapshottable_logs(r));
    ASSERT_EQ(0, raft_begin_snapshot(r));
    ASSERT_EQ(0, raft_end_snapshot(r));
    ASSERT_EQ(1, raft_get_snapshot_last_idx(r));
    raft_destroy(r);
}

/* As the original: starting an election with pre-vote changes no term,
 * even for a sole voter (raft_periodic makes it leader). */
TEST(election_start_with_prevote_keeps_the_term_of_a_sole_voter)
{
    raft_server_t *r = lone_new();
    ASSERT(raft_add_node(r, NULL, 1, 1) != NULL);
    ASSERT_EQ(0, raft_set_current_term(r, 1));
    ASSERT_EQ(0, raft_election_start(r, 0));
    ASSERT_EQ(1, raft_get_current_term(r));
    ASSERT(raft_is_precandidate(r));
    ASSERT_EQ(0, raft_periodic_internal(r, 1));
    ASSERT(raft_is_leader(r));
    ASSERT_EQ(2, raft_get_current_term(r));
    raft_destroy(r);
}

/* As the original: an answer recorded by hand (raft_node_set_match_msgid)
 * acknowledges the leader's messages for reads. */
TEST(match_msgid_set_by_hand_acknowledges_a_read)
{
    raft_server_t *r = lone_new();
    ASSERT(raft_add_node(r, NULL, 1, 1) != NULL);
    ASSERT(raft_add_node(r, NULL, 2, 0) != NULL);
    ASSERT(raft_add_node(r, NULL, 3, 0) != NULL);
    ASSERT_EQ(0, raft_set_current_term(r, 1));
    ASSERT_EQ(0, raft_become_leader(r));
    raft_entry_t *e = normal(1);
    ASSERT_EQ(0, raft_append_entry(r, e));
    raft_entry_release(e);
    raft_set_commit_idx(r, 2);
    read_answers = 0;
    ASSERT_EQ(0, raft_recv_read_request(r, read_cb, NULL));
    ASSERT_EQ(0, raft_periodic_internal(r, 10));
    ASSERT_EQ(0, read_answers);
    raft_node_set_match_msgid(raft_get_node(r, 2), raft_get_msg_id(r));
    ASSERT_EQ(0, raft_periodic_internal(r, 10));
    ASSERT_EQ(1, read_answers);
    ASSERT_EQ(1, read_ok);
    raft_destroy(r);
}

static void ack(raft_server_t *r, raft_node_id_t from, raft_index_t idx)
{
    raft_appendentries_resp_t aer;
    memset(&aer, 0, sizeof(aer));
    aer.term = raft_get_current_term(r);
    aer.msg_id = raft_get_msg_id(r);
    aer.success = 1;
    aer.current_idx = idx;
    ASSERT_EQ(0, raft_recv_appendentries_response(r, raft_get_node(r, from), &aer));
}

/* As the original: a voter whose removal is appended but not applied still
 * counts in a read's majority (the original's simulator checks reads that
 * way); it is the stricter of the two configurations' majorities. */
TEST(read_majority_counts_a_voter_whose_removal_is_not_applied)
{
    raft_server_t *r = lone_new();
    for (raft_node_id_t id = 1; id <= 4; id++)
        ASSERT(raft_add_node(r, NULL, id, id == 1) != NULL);
    ASSERT_EQ(0, raft_set_current_term(r, 1));
    ASSERT_EQ(0, raft_become_leader(r));
    ack(r, 2, 1);
    ack(r, 3, 1);
    ASSERT_EQ(1, raft_get_commit_idx(r));
    ASSERT_EQ(0, submit_cfg(r, RAFT_LOGTYPE_REMOVE_NODE, 4));
    ASSERT_EQ(0, raft_node_is_active(raft_get_node(r, 4)));
    read_answers = 0;
    ASSERT_EQ(0, raft_recv_read_request(r, read_cb, NULL));
    ack(r, 2, 1); /* the leader and node 2: a majority of 3, not of 4 */
    ASSERT_EQ(0, raft_periodic_internal(r, 1));
    ASSERT_EQ(0, read_answers);
    ack(r, 3, 1);
    ASSERT_EQ(0, raft_periodic_internal(r, 1));
    ASSERT_EQ(1, read_answers);
    ASSERT_EQ(1, read_ok);
    raft_destroy(r);
}

TEST_MAIN()
