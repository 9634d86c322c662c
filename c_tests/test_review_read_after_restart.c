/* A read is served once a majority has answered a message sent after it
 * arrived; messages are told apart by msg_id, which a server numbers from 1
 * again when it restarts. An answer naming an id this run has not sent yet
 * is to a message of the previous run (a follower rejecting that older
 * term's message answers with its own term, this leader's): it may have
 * been written before the read arrived, before a newer leader was elected
 * elsewhere, so it must not count as an acknowledgement.
 *
 * Node 1 of {1, 2, 3} restarts in term 5 and leads term 6; its no-op
 * commits with node 2. A read arrives. Node 3's answer to message 1000 of
 * the previous run (term 6, a rejection) must not serve it; node 2's answer
 * to the read's own heartbeat then does. */
#include "raft.h"
#include "raft_compat.h"
#include "test.h"
#include "support/pair.h"

static int reads_done = 0, can_read = -1;

static void read_cb(void *arg, int can)
{
    (void)arg;
    reads_done++;
    can_read = can;
}

static int cb_send_ae(raft_server_t *r, void *ud, raft_node_t *n, raft_appendentries_req_t *m)
{
    (void)r; (void)ud; (void)n; (void)m;
    return 0;
}

static int answer(raft_server_t *r, raft_node_id_t from, raft_msg_id_t msg_id, int success)
{
    raft_appendentries_resp_t resp = {
        .msg_id = msg_id, .term = raft_get_current_term(r), .success = success, .current_idx = 1,
    };
    return raft_recv_appendentries_response(r, raft_get_node(r, from), &resp);
}

TEST(review_an_answer_to_a_previous_runs_message_does_not_serve_a_read)
{
    raft_cbs_t cbs;
    memset(&cbs, 0, sizeof(cbs));
    cbs.send_appendentries = cb_send_ae;
    raft_server_t *r = trio_follower_new(&cbs, NULL);
    ASSERT(r != NULL);
    ASSERT_EQ(0, raft_restore_metadata(r, 5, 1));
    ASSERT_EQ(0, raft_set_current_term(r, 6));
    ASSERT_EQ(0, raft_become_leader(r));
    ASSERT_EQ(0, answer(r, 2, raft_get_msg_id(r), 1));
    ASSERT_EQ(1, raft_get_commit_idx(r));
    ASSERT_EQ(0, raft_periodic_internal(r, 1));
    ASSERT_EQ(1, raft_get_last_applied_idx(r));

    ASSERT_EQ(0, raft_recv_read_request(r, read_cb, NULL));
    ASSERT_EQ(0, reads_done);
    ASSERT(raft_get_msg_id(r) < 1000);
    ASSERT_EQ(0, answer(r, 3, 1000, 0));
    ASSERT_EQ(0, raft_periodic_internal(r, 1));
    ASSERT_EQ(0, reads_done);
    ASSERT(raft_is_leader(r));

    /* The read's own heartbeat round (sent when it arrived), answered. */
    ASSERT_EQ(0, answer(r, 2, raft_get_msg_id(r), 1));
    ASSERT_EQ(0, raft_periodic_internal(r, 1));
    ASSERT_EQ(1, reads_done);
    ASSERT_EQ(1, can_read);
    raft_destroy(r);
}

TEST_MAIN()
