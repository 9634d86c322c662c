/* raft_recv_appendentries refuses, before changing anything, an entry array
 * with a NULL anywhere in it and entries whose terms fall or exceed the
 * message's term, wherever the bad entry sits (first, middle, last). */
#include "raft.h"
#include "test.h"

static int cb_persist(raft_server_t *r, void *ud, raft_term_t t, raft_node_id_t v)
{
    (void)r; (void)ud; (void)t; (void)v;
    return 0;
}

static raft_server_t *follower(void)
{
    raft_server_t *r = raft_new();
    raft_cbs_t cbs;
    memset(&cbs, 0, sizeof(cbs));
    cbs.persist_metadata = cb_persist;
    raft_set_callbacks(r, &cbs, NULL);
    raft_add_node(r, NULL, 1, 1);
    raft_add_node(r, NULL, 2, 0);
    return r;
}

/* Sends entries of the given terms (0: a NULL element) after index 0. */
static int send(raft_server_t *r, raft_term_t msg_term, const raft_term_t *terms, int n,
                raft_appendentries_resp_t *resp)
{
    raft_entry_t *ents[8];
    for (int i = 0; i < n; i++) {
        ents[i] = NULL;
        if (terms[i] > 0) {
            ents[i] = raft_entry_new(1);
            ents[i]->term = terms[i];
        }
    }
    raft_appendentries_req_t req;
    memset(&req, 0, sizeof(req));
    req.term = msg_term;
    req.leader_id = 2;
    req.msg_id = 1;
    req.n_entries = n;
    req.entries = ents;
    int rc = raft_recv_appendentries(r, raft_get_node(r, 2), &req, resp);
    for (int i = 0; i < n; i++)
        if (ents[i])
            raft_entry_release(ents[i]);
    return rc;
}

TEST(recv_checks_a_null_anywhere_in_the_array_is_refused)
{
    const raft_term_t cases[][3] = {{0, 1, 1}, {1, 0, 1}, {1, 1, 0}};
    for (int c = 0; c < 3; c++) {
        raft_server_t *r = follower();
        raft_appendentries_resp_t resp;
        ASSERT_EQ(RAFT_ERR_MISUSE, send(r, 1, cases[c], 3, &resp));
        ASSERT_EQ(0, raft_get_current_idx(r));
        ASSERT_EQ(0, raft_get_current_term(r));
        raft_destroy(r);
    }
}

TEST(recv_checks_falling_or_too_new_terms_are_refused_wherever_they_are)
{
    /* Falls first, fine, fine (two), falls in the middle, too new last,
     * falls last, too new first. */
    const raft_term_t cases[][3] = {
        {2, 1, 1}, {1, 1, 2}, {1, 1, 0 /* unused */}, {3, 2, 2}, {2, 2, 4}, {1, 2, 1}, {4, 2, 2}};
    const int n[] = {3, 3, 2, 3, 3, 3, 3};
    const raft_term_t msg_term[] = {2, 2, 1, 3, 3, 2, 3};
    const int ok[] = {0, 1, 1, 0, 0, 0, 0};
    for (int c = 0; c < 7; c++) {
        raft_server_t *r = follower();
        raft_appendentries_resp_t resp;
        int rc = send(r, msg_term[c], cases[c], n[c], &resp);
        if (ok[c]) {
            ASSERT_EQ(0, rc);
            ASSERT(resp.success);
            ASSERT_EQ(n[c], raft_get_current_idx(r));
        } else {
            ASSERT_EQ(RAFT_ERR_MISUSE, rc);
            ASSERT_EQ(0, raft_get_current_idx(r));
        }
        raft_destroy(r);
    }
}

/* One good entry, as batches of one send them, is taken. */
TEST(recv_checks_a_single_entry_is_taken)
{
    raft_server_t *r = follower();
    raft_appendentries_resp_t resp;
    const raft_term_t one[] = {1};
    ASSERT_EQ(0, send(r, 1, one, 1, &resp));
    ASSERT(resp.success);
    ASSERT_EQ(1, resp.current_idx);
    ASSERT_EQ(1, raft_get_current_idx(r));
    raft_destroy(r);
}

TEST_MAIN()
