/* What raft_recv_appendentries answers when it fails: not successful, with
 * the follower's term and last log index as they are when the call returns
 * (as the original library), so entries appended before the failure count;
 * a message refused before anything changed answers the log as it was. */
#include "raft.h"
#include "support/pair.h"
#include "test.h"

static int apply_rc;    /* what applylog returns */
static int applied;

static int cb_persist(raft_server_t *r, void *ud, raft_term_t t, raft_node_id_t v)
{
    (void)r; (void)ud; (void)t; (void)v;
    return 0;
}

static int cb_apply(raft_server_t *r, void *ud, raft_entry_t *e, raft_index_t idx)
{
    (void)r; (void)ud; (void)e; (void)idx;
    applied++;
    return apply_rc;
}

static raft_server_t *follower(void)
{
    raft_cbs_t cbs;
    memset(&cbs, 0, sizeof(cbs));
    cbs.persist_metadata = cb_persist;
    cbs.applylog = cb_apply;
    raft_server_t *r = pair_follower_new(&cbs, NULL);
    ASSERT(r != NULL);
    apply_rc = 0;
    applied = 0;
    return r;
}

/* Sends `n` entries of term 1 after `prev` (of term `prev_term`). */
static int send(raft_server_t *r, raft_index_t prev, raft_term_t prev_term, int n, raft_index_t commit,
                raft_appendentries_resp_t *resp)
{
    raft_entry_t *ents[8];
    for (int i = 0; i < n; i++) {
        ents[i] = raft_entry_new(1);
        ents[i]->term = 1;
    }
    raft_appendentries_req_t req;
    memset(&req, 0, sizeof(req));
    req.term = 1;
    req.leader_id = 2;
    req.msg_id = 7;
    req.prev_log_idx = prev;
    req.prev_log_term = prev_term;
    req.leader_commit = commit;
    req.n_entries = n;
    req.entries = n > 0 ? ents : NULL;
    memset(resp, 0xff, sizeof(*resp));
    int rc = raft_recv_appendentries(r, raft_get_node(r, 2), &req, resp);
    for (int i = 0; i < n; i++)
        raft_entry_release(ents[i]);
    return rc;
}

TEST(recv_error_answer_counts_the_entries_appended_before_a_failed_apply)
{
    raft_server_t *r = follower();
    raft_appendentries_resp_t resp;
    ASSERT_EQ(0, send(r, 0, 0, 1, 0, &resp));
    ASSERT(resp.success);
    ASSERT_EQ(1, resp.current_idx);

    /* Two more entries, and the commit index covers all three: they are
     * appended, then applying fails. */
    apply_rc = RAFT_ERR_SHUTDOWN;
    int rc = send(r, 1, 1, 2, 3, &resp);
    ASSERT_NE(0, rc);
    ASSERT_EQ(1, applied);
    ASSERT_EQ(3, raft_get_current_idx(r));
    ASSERT_EQ(0, resp.success);
    ASSERT_EQ(7, resp.msg_id);
    ASSERT_EQ(1, resp.term);
    ASSERT_EQ(3, resp.current_idx);
    raft_destroy(r);
}

TEST(recv_error_answer_of_a_refused_message_gives_the_log_unchanged)
{
    raft_server_t *r = follower();
    raft_appendentries_resp_t resp;
    ASSERT_EQ(0, send(r, 0, 0, 2, 0, &resp));
    ASSERT_EQ(2, resp.current_idx);

    /* A previous entry of a later term than the message: refused. */
    ASSERT_EQ(RAFT_ERR_MISUSE, send(r, 2, 5, 1, 0, &resp));
    ASSERT_EQ(0, resp.success);
    ASSERT_EQ(7, resp.msg_id);
    ASSERT_EQ(1, resp.term);
    ASSERT_EQ(2, resp.current_idx);
    ASSERT_EQ(2, raft_get_current_idx(r));
    raft_destroy(r);
}

TEST_MAIN()
