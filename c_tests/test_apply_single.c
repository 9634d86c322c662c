/* Applying when exactly one committed entry waits (every commit, with batches
 * of one): the entry is applied on its own, outside the run loop. What a
 * callback does meanwhile must be respected as in the run loop: an answer
 * delivered from applylog that commits more gets those applied by the same
 * call, in order and once each; a failure stops applying; turning applying
 * off stops after the entry. */
#include "raft.h"
#include "support/pair.h"
#include "test.h"

static struct {
    raft_index_t order[16];
    int applied;
    int fail_at;                        /* applylog fails for this index */
    int disable_at;                     /* applylog turns applying off here */
    int answer_at;                      /* applylog delivers `answer` here */
    raft_appendentries_resp_t answer;
    int nested_rc;
    raft_msg_id_t last_msg_id;
} s;

static int cb_apply(raft_server_t *r, void *ud, raft_entry_t *e, raft_index_t idx)
{
    (void)ud;
    ASSERT(e != NULL);
    ASSERT_EQ(idx - 1, raft_get_last_applied_idx(r));
    if (idx == s.fail_at)
        return RAFT_ERR_SHUTDOWN;
    if (s.applied < 16)
        s.order[s.applied] = idx;
    s.applied++;
    if (idx == s.disable_at)
        s.nested_rc = raft_config(r, 1, RAFT_CONFIG_DISABLE_APPLY, 1);
    if (idx == s.answer_at)
        s.nested_rc = raft_recv_appendentries_response(r, raft_get_node(r, 2), &s.answer);
    return 0;
}

static int cb_send_ae(raft_server_t *r, void *ud, raft_node_t *n, raft_appendentries_req_t *m)
{
    (void)r; (void)ud; (void)n;
    s.last_msg_id = m->msg_id;
    return 0;
}

static raft_cbs_t callbacks(void)
{
    raft_cbs_t cbs;
    memset(&cbs, 0, sizeof(cbs));
    cbs.applylog = cb_apply;
    cbs.send_appendentries = cb_send_ae;
    return cbs;
}

/* Leader of {1, 2} in term 1 (its no-op is entry 1), with `n` more entries,
 * node 2 having acknowledged the no-op. */
static raft_server_t *leader_with(int n)
{
    memset(&s, 0, sizeof(s));
    raft_cbs_t cbs = callbacks();
    raft_server_t *r = pair_leader_new(&cbs, NULL);
    ASSERT(r != NULL);
    for (int i = 0; i < n; i++)
        ASSERT_EQ(0, propose_text(r, "x"));
    return r;
}

static raft_appendentries_resp_t ack(raft_index_t idx)
{
    raft_appendentries_resp_t resp;
    memset(&resp, 0, sizeof(resp));
    resp.msg_id = s.last_msg_id;
    resp.term = 1;
    resp.success = 1;
    resp.current_idx = idx;
    return resp;
}

TEST(apply_single_entry_then_what_a_callback_committed_meanwhile)
{
    raft_server_t *r = leader_with(3);
    ASSERT_EQ(4, raft_get_current_idx(r));
    /* Entry 1 commits alone; while it is applied, node 2's answer for
     * everything arrives: entries 2..4 commit and the same call applies them. */
    s.answer_at = 1;
    s.answer = ack(4);
    raft_appendentries_resp_t first = ack(1);
    ASSERT_EQ(0, raft_recv_appendentries_response(r, raft_get_node(r, 2), &first));
    ASSERT_EQ(0, s.nested_rc);
    ASSERT_EQ(4, raft_get_commit_idx(r));
    ASSERT_EQ(4, raft_get_last_applied_idx(r));
    ASSERT_EQ(4, s.applied);
    for (int i = 0; i < 4; i++)
        ASSERT_EQ(i + 1, s.order[i]);
    raft_destroy(r);
}

TEST(apply_single_entry_failure_is_returned_and_the_entry_stays_unapplied)
{
    raft_server_t *r = leader_with(1);
    s.fail_at = 1;
    raft_appendentries_resp_t first = ack(1);
    ASSERT_EQ(RAFT_ERR_SHUTDOWN, raft_recv_appendentries_response(r, raft_get_node(r, 2), &first));
    ASSERT_EQ(1, raft_get_commit_idx(r));
    ASSERT_EQ(0, raft_get_last_applied_idx(r));
    s.fail_at = 0;
    ASSERT_EQ(0, raft_apply_all(r));
    ASSERT_EQ(1, raft_get_last_applied_idx(r));
    raft_destroy(r);
}

TEST(apply_single_entry_turning_applying_off_stops_after_it)
{
    raft_server_t *r = leader_with(3);
    s.disable_at = 1;
    s.answer_at = 1;
    s.answer = ack(4);
    raft_appendentries_resp_t first = ack(1);
    ASSERT_EQ(0, raft_recv_appendentries_response(r, raft_get_node(r, 2), &first));
    ASSERT_EQ(4, raft_get_commit_idx(r));
    ASSERT_EQ(1, raft_get_last_applied_idx(r));
    ASSERT_EQ(1, s.applied);
    ASSERT_EQ(0, raft_config(r, 1, RAFT_CONFIG_DISABLE_APPLY, 0));
    ASSERT_EQ(0, raft_apply_all(r));
    ASSERT_EQ(4, raft_get_last_applied_idx(r));
    raft_destroy(r);
}

/* A follower gets its entries one message at a time, each committing the
 * one before: each is applied once, in order. */
TEST(apply_single_entry_on_a_follower_one_message_at_a_time)
{
    memset(&s, 0, sizeof(s));
    raft_cbs_t cbs = callbacks();
    raft_server_t *r = pair_follower_new(&cbs, NULL);
    ASSERT(r != NULL);
    for (int i = 1; i <= 8; i++) {
        raft_entry_t *e = raft_entry_new(1);
        e->term = 1;
        raft_appendentries_req_t req;
        memset(&req, 0, sizeof(req));
        req.term = 1;
        req.leader_id = 2;
        req.msg_id = i;
        req.prev_log_idx = i - 1;
        req.prev_log_term = i > 1 ? 1 : 0;
        req.leader_commit = i - 1;
        req.n_entries = 1;
        req.entries = &e;
        raft_appendentries_resp_t resp;
        ASSERT_EQ(0, raft_recv_appendentries(r, raft_get_node(r, 2), &req, &resp));
        ASSERT(resp.success);
        raft_entry_release(e);
        ASSERT_EQ(i - 1, raft_get_last_applied_idx(r));
    }
    ASSERT_EQ(7, s.applied);
    for (int i = 0; i < 7; i++)
        ASSERT_EQ(i + 1, s.order[i]);
    raft_destroy(r);
}

TEST_MAIN()
