/* The leader moves a node's next index past the entries of a message only
 * when the send callback took the message: a refused send (non-zero
 * return) leaves it where it was, so the entries go out again later, and a
 * message without entries never moves it. */
#include "raft.h"
#include "raft_compat.h"
#include "support/pair.h"
#include "test.h"

static struct {
    int refuse;
    int sends, entries_sent;
} s;

static int cb_send_ae(raft_server_t *r, void *ud, raft_node_t *n, raft_appendentries_req_t *m)
{
    (void)r; (void)ud; (void)n;
    s.sends++;
    if (s.refuse)
        return -1;
    s.entries_sent += (int)m->n_entries;
    return 0;
}

/* Leader of {1, 2} in term 1, auto flush off, its no-op sent. */
static raft_server_t *pair_leader(void)
{
    memset(&s, 0, sizeof(s));
    raft_cbs_t cbs;
    memset(&cbs, 0, sizeof(cbs));
    cbs.send_appendentries = cb_send_ae;
    raft_server_t *r = pair_leader_manual_flush_new(&cbs, NULL);
    ASSERT(r != NULL);
    return r;
}

TEST(send_refused_by_the_callback_keeps_next_idx)
{
    raft_server_t *r = pair_leader();
    raft_node_t *peer = raft_get_node(r, 2);
    ASSERT(peer != NULL);
    raft_index_t before = raft_node_get_next_idx(peer);
    ASSERT_EQ(raft_get_current_idx(r) + 1, before);

    ASSERT_EQ(0, propose_text(r, "data"));
    s.refuse = 1;
    s.sends = 0;
    ASSERT_EQ(0, raft_flush(r, raft_get_index_to_sync(r)));
    ASSERT(s.sends >= 1);
    ASSERT_EQ(before, raft_node_get_next_idx(peer));

    /* Taken this time: next_idx moves past the one entry. */
    s.refuse = 0;
    s.entries_sent = 0;
    ASSERT_EQ(0, raft_send_appendentries(r, peer));
    ASSERT_EQ(1, s.entries_sent);
    ASSERT_EQ(before + 1, raft_node_get_next_idx(peer));
    raft_destroy(r);
}

TEST(send_of_several_entries_moves_next_idx_past_all_of_them)
{
    raft_server_t *r = pair_leader();
    raft_node_t *peer = raft_get_node(r, 2);
    ASSERT(peer != NULL);
    raft_index_t before = raft_node_get_next_idx(peer);
    for (int i = 0; i < 3; i++)
        ASSERT_EQ(0, propose_text(r, "data"));
    s.entries_sent = 0;
    ASSERT_EQ(0, raft_send_appendentries(r, peer));
    ASSERT_EQ(3, s.entries_sent);
    ASSERT_EQ(before + 3, raft_node_get_next_idx(peer));
    raft_destroy(r);
}

TEST(heartbeat_without_entries_keeps_next_idx)
{
    raft_server_t *r = pair_leader();
    raft_node_t *peer = raft_get_node(r, 2);
    ASSERT(peer != NULL);
    raft_index_t before = raft_node_get_next_idx(peer);
    s.sends = 0;
    s.entries_sent = 0;
    ASSERT_EQ(0, raft_send_appendentries(r, peer));
    ASSERT_EQ(1, s.sends);
    ASSERT_EQ(0, s.entries_sent);
    ASSERT_EQ(before, raft_node_get_next_idx(peer));
    raft_destroy(r);
}

TEST_MAIN()
