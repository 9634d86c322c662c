/* A message of one entry (every message, with batches of one) hands the
 * send callback an entry the library holds for the call: whatever the
 * callback does to the log meanwhile (removes the entry, appends enough to
 * move the log's storage), the entry stays intact until the callback
 * returns (valgrind in `make test-asan` checks the reads). */
#include "raft.h"
#include "raft_compat.h"
#include "support/pair.h"
#include "test.h"

static struct {
    int remove_in_send, append_in_send;
    int sends, checked, nested_rc;
} s;

static void check_entries(raft_appendentries_req_t *m)
{
    for (raft_index_t i = 0; i < m->n_entries; i++) {
        ASSERT_EQ(4, m->entries[i]->data_len);
        ASSERT_EQ(0, memcmp(m->entries[i]->data, "data", 4));
        s.checked++;
    }
}

static int cb_send_ae(raft_server_t *r, void *ud, raft_node_t *n, raft_appendentries_req_t *m)
{
    (void)ud; (void)n;
    s.sends++;
    if (m->n_entries != 1)
        return 0;
    if (s.remove_in_send) {
        s.remove_in_send = 0;
        s.nested_rc = raft_log_delete(raft_get_log(r), m->prev_log_idx + 1);
        check_entries(m);
    }
    if (s.append_in_send) {
        s.append_in_send = 0;
        /* Enough appends to make the log's array grow (and move). */
        for (int i = 0; i < 200 && s.nested_rc == 0; i++)
            s.nested_rc = propose_text(r, "more");
        check_entries(m);
    }
    return 0;
}

/* Leader of {1, 2} in term 1, auto flush off (entries go out on
 * raft_flush), its no-op acknowledged by node 2. */
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

TEST(send_single_entry_removed_by_the_send_callback_stays_intact)
{
    raft_server_t *r = pair_leader();
    ASSERT_EQ(0, propose_text(r, "data"));
    ASSERT_EQ(2, raft_get_current_idx(r));
    s.remove_in_send = 1;
    ASSERT_EQ(0, raft_flush(r, raft_get_index_to_sync(r)));
    ASSERT_EQ(0, s.nested_rc);
    ASSERT_EQ(1, s.checked);
    ASSERT_EQ(1, raft_get_current_idx(r));
    /* The server goes on: new entries are taken and sent. */
    ASSERT_EQ(0, propose_text(r, "data"));
    ASSERT_EQ(0, raft_flush(r, raft_get_index_to_sync(r)));
    ASSERT_EQ(2, raft_get_current_idx(r));
    raft_destroy(r);
}

TEST(send_single_entry_survives_appends_from_the_send_callback)
{
    raft_server_t *r = pair_leader();
    ASSERT_EQ(0, propose_text(r, "data"));
    s.append_in_send = 1;
    ASSERT_EQ(0, raft_flush(r, raft_get_index_to_sync(r)));
    ASSERT_EQ(0, s.nested_rc);
    ASSERT_EQ(1, s.checked);
    ASSERT_EQ(202, raft_get_current_idx(r));
    raft_destroy(r);
}

TEST_MAIN()
