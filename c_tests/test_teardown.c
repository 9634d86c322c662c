/* Teardown is one-way, and callbacks that run while the library tears down
 * or compacts (log observers, entries' free functions, a custom log's free)
 * may call any raft_* function: the call is refused with its error value
 * where it cannot be honoured, never a crash, a double free or a poisoned
 * server. Run under valgrind by `make test-asan`. */
#include <stdlib.h>
#include "raft.h"
#include "raft_compat.h"
#include "test.h"

static struct {
    raft_server_t *r;
    int frees, clears, offers, custom_frees;
    int destroy_rc_seen;            /* calls that reached the server */
    int recv_rc, periodic_rc;
    raft_term_t term_seen;
    void *log_seen;
    int propose_once;
} t;

static int cb_apply(raft_server_t *r, void *ud, raft_entry_t *e, raft_index_t idx)
{
    (void)r; (void)ud; (void)e; (void)idx;
    return 0;
}

static int cb_persist(raft_server_t *r, void *ud, raft_term_t term, raft_node_id_t vote)
{
    (void)r; (void)ud; (void)term; (void)vote;
    return 0;
}

/* A single voter that has elected itself (auto flush on: entries commit
 * and apply as they are received). */
static raft_server_t *single_leader(void)
{
    raft_cbs_t cbs = { .applylog = cb_apply, .persist_metadata = cb_persist };
    raft_server_t *r = raft_new();
    ASSERT(r != NULL);
    raft_set_callbacks(r, &cbs, NULL);
    ASSERT(raft_add_node(r, NULL, 1, 1) != NULL);
    ASSERT_EQ(0, raft_periodic_internal(r, 10));
    ASSERT(raft_is_leader(r));
    return r;
}

/* Calls into the server being torn down: every one is refused. */
static void poke_dying_server(raft_server_t *r)
{
    raft_destroy(r); /* refused: teardown is under way */
    t.term_seen = raft_get_current_term(r);
    t.log_seen = raft_get_log(r);
    raft_entry_t *n = raft_entry_new(1);
    raft_entry_resp_t resp = { 0 };
    t.recv_rc = raft_recv_entry(r, n, &resp);
    raft_entry_release(n);
    t.periodic_rc = raft_periodic_internal(r, 100);
}

static void free_calling_back(raft_entry_t *e)
{
    t.frees++;
    poke_dying_server(t.r);
    free(e);
}

static int clear_calling_back(raft_server_t *r, void *ud, raft_entry_t *e, raft_index_t idx)
{
    (void)ud; (void)e; (void)idx;
    t.clears++;
    poke_dying_server(r);
    return 0;
}

static void propose(raft_server_t *r, void (*free_func)(raft_entry_t *))
{
    raft_entry_t *e = raft_entry_new(4);
    memcpy(e->data, "data", 4);
    e->free_func = free_func;
    raft_entry_resp_t resp;
    ASSERT_EQ(0, raft_recv_entry(r, e, &resp));
    raft_entry_release(e);
}

TEST(teardown_free_func_calling_raft_destroy_and_others_is_refused)
{
    memset(&t, 0, sizeof(t));
    t.r = single_leader();
    for (int i = 0; i < 5; i++)
        propose(t.r, free_calling_back);
    raft_destroy(t.r);
    ASSERT_EQ(5, t.frees);
    ASSERT_EQ(0, t.term_seen);
    ASSERT_PTR_EQ(NULL, t.log_seen);
    ASSERT_EQ(RAFT_ERR_SHUTDOWN, t.recv_rc);
    ASSERT_EQ(RAFT_ERR_SHUTDOWN, t.periodic_rc);
}

TEST(teardown_log_clear_observer_calling_raft_destroy_is_refused)
{
    memset(&t, 0, sizeof(t));
    raft_server_t *r = single_leader();
    t.r = r;
    raft_log_cbs_t lcbs = { .log_clear = clear_calling_back };
    raft_log_set_callbacks(raft_get_log(r), &lcbs, r);
    for (int i = 0; i < 3; i++)
        propose(r, NULL);
    raft_destroy(r);
    /* the leader's no-op and three entries */
    ASSERT_EQ(4, t.clears);
    ASSERT_EQ(RAFT_ERR_SHUTDOWN, t.recv_rc);
    ASSERT_PTR_EQ(NULL, t.log_seen);
}

TEST(teardown_both_observer_and_free_func_call_back)
{
    memset(&t, 0, sizeof(t));
    raft_server_t *r = single_leader();
    t.r = r;
    raft_log_cbs_t lcbs = { .log_clear = clear_calling_back };
    raft_log_set_callbacks(raft_get_log(r), &lcbs, r);
    for (int i = 0; i < 4; i++)
        propose(r, free_calling_back);
    raft_destroy(r);
    ASSERT_EQ(5, t.clears);
    ASSERT_EQ(4, t.frees);
}

static int offer_destroys(raft_server_t *r, void *ud, raft_entry_t *e, raft_index_t idx)
{
    (void)ud; (void)e; (void)idx;
    t.offers++;
    raft_destroy(r); /* refused: the log is in the middle of an append */
    raft_log_free(raft_get_log(r)); /* refused: the server's own log */
    return 0;
}

TEST(teardown_log_offer_destroying_the_server_through_the_compat_api_is_refused)
{
    memset(&t, 0, sizeof(t));
    raft_server_t *r = single_leader();
    raft_log_t *log = raft_get_log(r);
    raft_log_cbs_t lcbs = { .log_offer = offer_destroys };
    raft_log_set_callbacks(log, &lcbs, r);
    raft_entry_t *e = raft_entry_new(2);
    e->term = 1;
    ASSERT_EQ(0, raft_log_append_entry(log, e));
    raft_entry_release(e);
    ASSERT_EQ(1, t.offers);
    /* The server and its log are whole. */
    ASSERT_EQ(2, raft_get_current_idx(r));
    ASSERT_EQ(2, raft_log_get_current_idx(log));
    ASSERT_EQ(1, raft_get_current_term(r));
    raft_destroy(r);
}

TEST(teardown_raft_log_free_of_a_servers_log_is_refused)
{
    raft_server_t *r = single_leader();
    raft_log_free(raft_get_log(r));
    propose(r, NULL);
    ASSERT_EQ(2, raft_get_current_idx(r));
    raft_destroy(r);
}

static int clear_frees_its_log(raft_server_t *r, void *ud, raft_entry_t *e, raft_index_t idx)
{
    (void)ud; (void)e; (void)idx;
    t.clears++;
    raft_log_free((raft_log_t *)r); /* the log itself was given as "raft" */
    return 0;
}

TEST(teardown_standalone_log_freed_again_from_its_clear_observer_is_freed_once)
{
    memset(&t, 0, sizeof(t));
    raft_log_t *log = raft_log_new();
    raft_log_cbs_t lcbs = { .log_clear = clear_frees_its_log };
    raft_log_set_callbacks(log, &lcbs, log);
    for (int i = 0; i < 3; i++) {
        raft_entry_t *e = raft_entry_new(0);
        e->term = 1;
        e->free_func = free_calling_back;
        ASSERT_EQ(0, raft_log_append_entry(log, e));
        raft_entry_release(e);
    }
    t.r = NULL; /* free_calling_back pokes a NULL server: no-ops */
    raft_log_free(log);
    ASSERT_EQ(3, t.clears);
    ASSERT_EQ(3, t.frees);
}

/* A custom log (over the built-in vtable) whose free calls back. */
static void *custom_init(void *raft, void *arg)
{
    (void)arg;
    return raft_log_internal_impl.init(raft, NULL);
}

static void custom_free(void *log)
{
    t.custom_frees++;
    poke_dying_server(t.r);
    raft_log_internal_impl.free(log);
}

TEST(teardown_custom_log_free_calling_back_runs_once)
{
    memset(&t, 0, sizeof(t));
    raft_log_impl_t impl = raft_log_internal_impl;
    impl.init = custom_init;
    impl.free = custom_free;
    raft_server_t *r = raft_new_with_log(&impl, NULL);
    ASSERT(r != NULL);
    t.r = r;
    raft_cbs_t cbs = { .applylog = cb_apply };
    raft_set_callbacks(r, &cbs, NULL);
    raft_add_node(r, NULL, 1, 1);
    ASSERT_EQ(0, raft_periodic_internal(r, 10));
    propose(r, free_calling_back);
    raft_destroy(r);
    ASSERT_EQ(1, t.custom_frees);
    ASSERT_EQ(1, t.frees);
    ASSERT_EQ(RAFT_ERR_SHUTDOWN, t.recv_rc);
}

/* Compaction: free functions run by raft_end_snapshot call back in. */
static void free_reading_back(raft_entry_t *e)
{
    t.frees++;
    raft_server_t *r = t.r;
    raft_destroy(r); /* refused: a call is in progress */
    (void)raft_get_current_idx(r);
    (void)raft_get_log_count(r);
    raft_entry_t *g = raft_get_entry_from_idx(r, raft_get_current_idx(r));
    raft_entry_release(g);
    if (t.propose_once) {
        t.propose_once = 0;
        raft_entry_t *n = raft_entry_new(0);
        raft_entry_resp_t resp;
        t.recv_rc = raft_recv_entry(r, n, &resp);
        raft_entry_release(n);
    }
    free(e);
}

TEST(teardown_free_funcs_run_by_end_snapshot_may_call_back_without_poisoning)
{
    memset(&t, 0, sizeof(t));
    t.r = single_leader();
    t.recv_rc = 1;
    for (int i = 0; i < 12; i++)
        propose(t.r, free_reading_back);
    ASSERT_EQ(13, raft_get_last_applied_idx(t.r));
    ASSERT_EQ(0, raft_begin_snapshot(t.r));
    t.propose_once = 1;
    ASSERT_EQ(0, raft_end_snapshot(t.r));
    /* Compacted entries are released as the log drops its dead prefix. */
    ASSERT(t.frees >= 5);
    ASSERT_EQ(0, t.recv_rc);
    /* Not poisoned: the server goes on. */
    ASSERT_EQ(0, raft_periodic_internal(t.r, 10));
    ASSERT(raft_is_leader(t.r));
    ASSERT_EQ(14, raft_get_current_idx(t.r));
    propose(t.r, NULL);
    ASSERT_EQ(15, raft_get_commit_idx(t.r));
    /* A second compaction releases the rest, one entry at a time too. */
    ASSERT_EQ(0, raft_begin_snapshot(t.r));
    ASSERT_EQ(0, raft_end_snapshot(t.r));
    ASSERT_EQ(0, raft_get_log_count(t.r));
    raft_destroy(t.r);
    ASSERT_EQ(12, t.frees);
}

TEST(teardown_a_server_keeps_working_after_refused_destroys)
{
    memset(&t, 0, sizeof(t));
    t.r = single_leader();
    t.recv_rc = 1;
    propose(t.r, free_reading_back);
    /* Popping an uncommitted entry is impossible here (all commit), so
     * release through raft_clear, which empties the log in a call. */
    raft_clear(t.r);
    ASSERT_EQ(1, t.frees);
    ASSERT_EQ(0, raft_get_current_idx(t.r));
    raft_destroy(t.r);
}

/* Truncation: free functions run by raft_pop_entry, the compat
 * raft_log_delete and raft_log_clear, on a follower whose entries are not
 * committed, may call back in too. */
static raft_server_t *follower_with_entries(int n)
{
    raft_cbs_t cbs = { .applylog = cb_apply, .persist_metadata = cb_persist };
    raft_server_t *r = raft_new();
    raft_set_callbacks(r, &cbs, NULL);
    raft_add_node(r, NULL, 1, 1);
    raft_add_node(r, NULL, 2, 0);
    for (int i = 0; i < n; i++) {
        raft_entry_t *e = raft_entry_new(4);
        e->term = 1;
        e->free_func = free_reading_back;
        ASSERT_EQ(0, raft_append_entry(r, e));
        raft_entry_release(e);
    }
    return r;
}

TEST(teardown_free_funcs_run_by_truncation_may_call_back)
{
    memset(&t, 0, sizeof(t));
    t.r = follower_with_entries(6);
    ASSERT_EQ(0, raft_pop_entry(t.r));
    ASSERT_EQ(1, t.frees);
    ASSERT_EQ(0, raft_delete_entry_from_idx(t.r, 4));
    ASSERT_EQ(3, t.frees);
    ASSERT_EQ(0, raft_log_delete(raft_get_log(t.r), 3));
    ASSERT_EQ(4, t.frees);
    raft_log_clear(raft_get_log(t.r));
    ASSERT_EQ(6, t.frees);
    /* Not poisoned. */
    ASSERT_EQ(0, raft_get_current_idx(t.r));
    ASSERT_EQ(0, raft_periodic_internal(t.r, 1));
    raft_destroy(t.r);
}

TEST(teardown_free_funcs_run_by_compat_polls_may_call_back)
{
    memset(&t, 0, sizeof(t));
    t.r = follower_with_entries(10);
    raft_log_t *log = raft_get_log(t.r);
    for (int i = 0; i < 10; i++) {
        raft_entry_t *out = NULL;
        ASSERT_EQ(0, raft_log_poll(log, &out));
    }
    raft_destroy(t.r);
    ASSERT_EQ(10, t.frees);
}

TEST_MAIN()
