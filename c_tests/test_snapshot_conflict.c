/* A snapshot whose last entry contradicts a committed entry (same index,
 * another term) cannot come from a legitimate leader: it is refused with
 * RAFT_ERR_SHUTDOWN and nothing is stored or loaded. Found by the fuzz
 * target: the server loaded it and kept a commit index past its log's end. */
#include <string.h>
#include "raft.h"
#include "raft_compat.h"
#include "test.h"

static struct {
    int stored, loaded, cleared;
} h;

static int cb_persist(raft_server_t *r, void *ud, raft_term_t term, raft_node_id_t vote)
{
    (void)r; (void)ud; (void)term; (void)vote;
    return 0;
}

static int cb_apply(raft_server_t *r, void *ud, raft_entry_t *e, raft_index_t idx)
{
    (void)r; (void)ud; (void)e; (void)idx;
    return 0;
}

static int cb_send_ae(raft_server_t *r, void *ud, raft_node_t *n, raft_appendentries_req_t *m)
{
    (void)r; (void)ud; (void)n; (void)m;
    return 0;
}

static int cb_store_chunk(raft_server_t *r, void *ud, raft_index_t idx, raft_size_t off, raft_snapshot_chunk_t *c)
{
    (void)r; (void)ud; (void)idx; (void)off; (void)c;
    h.stored++;
    return 0;
}

static int cb_load(raft_server_t *r, void *ud, raft_term_t term, raft_index_t idx)
{
    (void)ud;
    h.loaded++;
    if (raft_begin_load_snapshot(r, term, idx) != 0)
        return -1;
    raft_end_load_snapshot(r);
    return 0;
}

static int cb_clear(raft_server_t *r, void *ud)
{
    (void)r; (void)ud;
    h.cleared++;
    return 0;
}

static raft_cbs_t cbs = {
    .applylog = cb_apply,
    .persist_metadata = cb_persist,
    .send_appendentries = cb_send_ae,
    .store_snapshot_chunk = cb_store_chunk,
    .load_snapshot = cb_load,
    .clear_snapshot = cb_clear,
};

/* Node 2 of {1, 2, 3}, following node 1 in term 2 with entries 1..4 of
 * term 2, the first `commit` of them committed. */
static raft_server_t *follower_with_log(raft_index_t commit)
{
    memset(&h, 0, sizeof(h));
    raft_server_t *r = raft_new();
    raft_set_callbacks(r, &cbs, NULL);
    raft_add_node(r, NULL, 1, 0);
    raft_add_node(r, NULL, 2, 1);
    raft_add_node(r, NULL, 3, 0);
    raft_entry_t *es[4];
    for (int i = 0; i < 4; i++) {
        es[i] = raft_entry_new(0);
        es[i]->term = 2;
        es[i]->id = i + 1;
    }
    raft_appendentries_req_t ae = {
        .term = 2, .leader_id = 1, .msg_id = 1, .prev_log_idx = 0, .prev_log_term = 0,
        .leader_commit = commit, .n_entries = 4, .entries = es,
    };
    raft_appendentries_resp_t aer;
    ASSERT_EQ(0, raft_recv_appendentries(r, raft_get_node(r, 1), &ae, &aer));
    ASSERT_EQ(1, aer.success);
    for (int i = 0; i < 4; i++)
        raft_entry_release(es[i]);
    ASSERT_EQ(4, raft_get_current_idx(r));
    ASSERT_EQ(commit, raft_get_commit_idx(r));
    return r;
}

static raft_snapshot_req_t snapshot(raft_term_t term, raft_index_t idx, raft_term_t idx_term)
{
    raft_snapshot_req_t req = {
        .term = term, .leader_id = 3, .msg_id = 1, .snapshot_index = idx, .snapshot_term = idx_term,
        .chunk = { .offset = 0, .data = "x", .len = 1, .last_chunk = 1 },
    };
    return req;
}

TEST(snapshot_contradicting_a_committed_entry_is_refused)
{
    raft_server_t *r = follower_with_log(4);
    raft_snapshot_req_t req = snapshot(3, 3, 3);
    raft_snapshot_resp_t resp;
    ASSERT_EQ(RAFT_ERR_SHUTDOWN, raft_recv_snapshot(r, raft_get_node(r, 3), &req, &resp));
    ASSERT_EQ(0, h.stored);
    ASSERT_EQ(0, h.loaded);
    ASSERT_EQ(0, raft_get_snapshot_last_idx(r));
    ASSERT_EQ(4, raft_get_current_idx(r));
    ASSERT_EQ(4, raft_get_commit_idx(r));
    ASSERT(raft_get_commit_idx(r) <= raft_get_current_idx(r));
    raft_destroy(r);
}

TEST(snapshot_contradicting_an_uncommitted_entry_is_loaded)
{
    raft_server_t *r = follower_with_log(2);
    raft_snapshot_req_t req = snapshot(3, 3, 3);
    raft_snapshot_resp_t resp;
    ASSERT_EQ(0, raft_recv_snapshot(r, raft_get_node(r, 3), &req, &resp));
    ASSERT_EQ(1, resp.success);
    ASSERT_EQ(1, h.loaded);
    ASSERT_EQ(3, raft_get_snapshot_last_idx(r));
    ASSERT_EQ(3, raft_get_snapshot_last_term(r));
    ASSERT(raft_get_commit_idx(r) <= raft_get_current_idx(r));
    raft_destroy(r);
}

TEST(snapshot_agreeing_with_committed_entries_is_loaded)
{
    raft_server_t *r = follower_with_log(4);
    raft_snapshot_req_t req = snapshot(3, 4, 2);
    raft_snapshot_resp_t resp;
    ASSERT_EQ(0, raft_recv_snapshot(r, raft_get_node(r, 3), &req, &resp));
    ASSERT_EQ(1, resp.success);
    ASSERT_EQ(1, h.loaded);
    ASSERT_EQ(4, raft_get_snapshot_last_idx(r));
    ASSERT_EQ(4, raft_get_current_idx(r));
    ASSERT_EQ(4, raft_get_commit_idx(r));
    raft_destroy(r);
}

TEST(begin_load_snapshot_contradicting_a_committed_entry_is_refused)
{
    raft_server_t *r = follower_with_log(4);
    ASSERT_EQ(RAFT_ERR_MISUSE, raft_begin_load_snapshot(r, 3, 4));
    ASSERT_EQ(0, raft_get_snapshot_last_idx(r));
    ASSERT_EQ(4, raft_get_current_idx(r));
    ASSERT_EQ(4, raft_get_commit_idx(r));
    raft_destroy(r);
}

/* A leader's own match index counts what is durable; after a snapshot load
 * resets its log below that, entries appended later are not durable until
 * synced, and must not count as the leader's match. */
TEST(snapshot_load_forgets_durability_past_the_new_log_end)
{
    memset(&h, 0, sizeof(h));
    raft_server_t *r = raft_new();
    raft_set_callbacks(r, &cbs, NULL);
    raft_add_node(r, NULL, 1, 1);
    raft_add_node(r, NULL, 2, 0);
    raft_add_node(r, NULL, 3, 0);
    raft_config(r, 1, RAFT_CONFIG_AUTO_FLUSH, 0);
    ASSERT_EQ(0, raft_become_candidate(r));
    ASSERT_EQ(0, raft_become_leader(r));
    for (int i = 0; i < 4; i++) {
        raft_entry_t *e = raft_entry_new(0);
        raft_entry_resp_t er;
        ASSERT_EQ(0, raft_recv_entry(r, e, &er));
        raft_entry_release(e);
    }
    ASSERT_EQ(5, raft_get_current_idx(r));
    ASSERT_EQ(0, raft_flush(r, raft_get_index_to_sync(r)));
    raft_node_t *me = raft_get_my_node(r);
    ASSERT_EQ(5, raft_node_get_match_idx(me));
    ASSERT_EQ(0, raft_get_commit_idx(r));
    /* Entry 3 has term 1; a snapshot at 3 of term 9 resets the log to end at 3. */
    ASSERT_EQ(0, raft_begin_load_snapshot(r, 9, 3));
    ASSERT_EQ(0, raft_end_load_snapshot(r));
    ASSERT_EQ(3, raft_get_current_idx(r));
    ASSERT(raft_node_get_match_idx(me) <= 3);
    raft_entry_t *e = raft_entry_new(0);
    raft_entry_resp_t er;
    ASSERT_EQ(0, raft_recv_entry(r, e, &er));
    raft_entry_release(e);
    ASSERT_EQ(4, raft_get_current_idx(r));
    /* Entry 4 is not synced: the leader's match stays at 3. */
    ASSERT_EQ(3, raft_node_get_match_idx(me));
    ASSERT_EQ(0, raft_flush(r, raft_get_index_to_sync(r)));
    ASSERT_EQ(4, raft_node_get_match_idx(me));
    raft_destroy(r);
}

TEST_MAIN()
