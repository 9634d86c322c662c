/* A callback the leader calls while preparing an appendentries
 * (`backpressure`, `get_entries_to_send`) may re-enter and make the server
 * step down (here: node 2's message of a newer term). Nothing may then be
 * sent in the leader's name: a message of the new term from this server
 * would claim a leadership it never won. */
#include "raft.h"
#include "raft_compat.h"
#include "support/pair.h"
#include "test.h"

static struct {
    int step_down_in;                   /* 1: in backpressure, 2: in get_entries_to_send,
                                         * 3: in get_snapshot_chunk, 4: in send_snapshot */
    int nested_rc;
    int sends, snapshot_sends;
    raft_term_t sent_term;
    char chunk[4];
} s;

static void step_down(raft_server_t *r)
{
    raft_appendentries_req_t req;
    memset(&req, 0, sizeof(req));
    req.term = raft_get_current_term(r) + 1;
    req.leader_id = 2;
    req.msg_id = 1;
    raft_appendentries_resp_t resp;
    s.nested_rc = raft_recv_appendentries(r, raft_get_node(r, 2), &req, &resp);
}

static int cb_backpressure(raft_server_t *r, void *ud, raft_node_t *n)
{
    (void)ud; (void)n;
    if (s.step_down_in == 1) {
        s.step_down_in = 0;
        step_down(r);
    }
    return 0;
}

static raft_index_t cb_entries(raft_server_t *r, void *ud, raft_node_t *n, raft_index_t idx,
                               raft_index_t max, raft_entry_t **entries)
{
    (void)ud; (void)n; (void)max; (void)entries; (void)idx;
    if (s.step_down_in == 2) {
        s.step_down_in = 0;
        step_down(r);
    }
    return 0;
}

static int cb_send_ae(raft_server_t *r, void *ud, raft_node_t *n, raft_appendentries_req_t *m)
{
    (void)r; (void)ud; (void)n;
    s.sends++;
    s.sent_term = m->term;
    return 0;
}

static int cb_chunk(raft_server_t *r, void *ud, raft_node_t *n, raft_size_t offset,
                    raft_snapshot_chunk_t *chunk)
{
    (void)ud; (void)n;
    if (s.step_down_in == 3) {
        s.step_down_in = 0;
        step_down(r);
    }
    /* Two chunks of two bytes: the transfer goes on after the first. */
    chunk->data = s.chunk + offset;
    chunk->len = 2;
    chunk->last_chunk = offset >= 2;
    return 0;
}

static int cb_send_snapshot(raft_server_t *r, void *ud, raft_node_t *n, raft_snapshot_req_t *m)
{
    (void)ud; (void)n; (void)m;
    s.snapshot_sends++;
    s.sent_term = m->term;
    if (s.step_down_in == 4) {
        s.step_down_in = 0;
        step_down(r);
    }
    return 0;
}

static raft_server_t *leader(int entries_from_callback)
{
    memset(&s, 0, sizeof(s));
    raft_cbs_t cbs;
    memset(&cbs, 0, sizeof(cbs));
    cbs.send_appendentries = cb_send_ae;
    cbs.backpressure = cb_backpressure;
    if (entries_from_callback)
        cbs.get_entries_to_send = cb_entries;
    cbs.get_snapshot_chunk = cb_chunk;
    cbs.send_snapshot = cb_send_snapshot;
    raft_server_t *r = pair_leader_new(&cbs, NULL);
    ASSERT(r != NULL);
    ASSERT_EQ(0, propose_text(r, "x"));
    s.sends = 0;
    return r;
}

TEST(send_after_stepdown_in_backpressure_sends_nothing)
{
    raft_server_t *r = leader(0);
    s.step_down_in = 1;
    raft_send_appendentries(r, raft_get_node(r, 2));
    ASSERT_EQ(0, s.nested_rc);
    ASSERT(!raft_is_leader(r));
    ASSERT_EQ(2, raft_get_current_term(r));
    ASSERT_EQ(0, s.sends);
    raft_destroy(r);
}

TEST(send_after_stepdown_in_get_entries_to_send_sends_nothing)
{
    raft_server_t *r = leader(1);
    s.step_down_in = 2;
    raft_send_appendentries(r, raft_get_node(r, 2));
    ASSERT_EQ(0, s.nested_rc);
    ASSERT(!raft_is_leader(r));
    ASSERT_EQ(0, s.sends);
    raft_destroy(r);
}

/* The heartbeat round of raft_periodic goes through the same send. */
TEST(send_after_stepdown_in_a_heartbeat_round_sends_nothing)
{
    raft_server_t *r = leader(0);
    s.step_down_in = 1;
    raft_send_appendentries_all(r);
    ASSERT(!raft_is_leader(r));
    ASSERT_EQ(0, s.sends);
    raft_destroy(r);
}

/* A leader whose log was compacted past node 2's next entry: sending to
 * node 2 starts a snapshot transfer. */
static raft_server_t *snapshotting_leader(void)
{
    raft_server_t *r = leader(0);
    raft_appendentries_resp_t ack;
    memset(&ack, 0, sizeof(ack));
    ack.msg_id = 1000;
    ack.term = 1;
    ack.success = 1;
    ack.current_idx = raft_get_current_idx(r);
    ASSERT_EQ(0, raft_recv_appendentries_response(r, raft_get_node(r, 2), &ack));
    ASSERT_EQ(0, raft_apply_all(r));
    ASSERT_EQ(0, raft_begin_snapshot(r));
    ASSERT_EQ(0, raft_end_snapshot(r));
    ASSERT(raft_get_snapshot_last_idx(r) >= 2);
    raft_node_set_next_idx(raft_get_node(r, 2), 1);
    raft_node_set_match_idx(raft_get_node(r, 2), 0);
    s.sends = s.snapshot_sends = 0;
    return r;
}

TEST(send_after_stepdown_in_get_snapshot_chunk_sends_nothing)
{
    raft_server_t *r = snapshotting_leader();
    s.step_down_in = 3;
    raft_send_appendentries(r, raft_get_node(r, 2));
    ASSERT_EQ(0, s.nested_rc);
    ASSERT(!raft_is_leader(r));
    ASSERT_EQ(0, s.snapshot_sends);
    ASSERT_EQ(0, s.sends);
    raft_destroy(r);
}

/* Stepping down while the first chunk is sent: no second chunk follows. */
TEST(send_after_stepdown_in_send_snapshot_sends_no_more_chunks)
{
    raft_server_t *r = snapshotting_leader();
    s.step_down_in = 4;
    raft_send_appendentries(r, raft_get_node(r, 2));
    ASSERT_EQ(0, s.nested_rc);
    ASSERT(!raft_is_leader(r));
    ASSERT_EQ(1, s.snapshot_sends);
    ASSERT_EQ(1, s.sent_term);
    raft_destroy(r);
}

TEST_MAIN()
