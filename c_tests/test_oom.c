/* Allocation failure: a heap whose N-th allocation fails (or a run of them
 * from the N-th on), for every N of a scripted run.
 *
 * The heap hooks count every allocation the library makes (through
 * raft_malloc/raft_calloc/raft_realloc, which its own memory goes through as
 * well) and every live block. A sweep first runs the script with nothing
 * failing to count its allocation points P, then reruns it once for each
 * chosen N in 1..P with that allocation failing, and requires each time:
 *   - no abort (the sweep runs in one process: an abort ends the test);
 *   - every call that fails says RAFT_ERR_NOMEM (or NULL where the function
 *     has no error code), and only when an allocation did fail during it;
 *   - once allocations succeed again, the servers work: the cluster elects,
 *     commits and applies a new entry everywhere, completes the membership
 *     change, and every safety invariant of the harness holds;
 *   - after everything is destroyed, no block the library allocated is live.
 *
 * The allocation points include the application's own (the harness copies
 * the entries of each appendentries it carries with raft_entry_new, and
 * drops the message when that fails, as a lost message).
 *
 * `make test` tries every point while a run has at most OOM_SAMPLES of them
 * (default 1000), beyond that OOM_SAMPLES points spread over the run;
 * `make test-oom-long` sets OOM_ALL=1 and tries every one, each in a child
 * process. OOM_VERBOSE=1 prints each N as it runs, OOM_ONLY=N runs one
 * point, OOM_FORK=1 runs each point in a child and lists the ones that
 * fail, OOM_LEN=K fails K allocations in a row in every sweep, OOM_SEED=S
 * seeds the cluster runs with S.
 */
#include <stdint.h>

#include "raft.h"
#include "raft_compat.h"
#include "raft_wire.h"
#include "support/cluster.h"
#include "support/failing_heap.h"
#include "test.h"

/* The hook variable the arrays the library returns are freed with (a
 * compat data symbol). */
extern void (*raft_free)(void *ptr);

/* A call's result: 0, or RAFT_ERR_NOMEM while an allocation failed during
 * the call. */
#define CHECK_RC(expr)                                                      \
    do {                                                                    \
        long f0__ = fh_failed;                                              \
        int rc__ = (expr);                                                  \
        if (rc__ != 0 && !(rc__ == RAFT_ERR_NOMEM && fh_failed > f0__))     \
            FAIL_AT("%s: rc %d (allocations failed during it: %ld)", #expr, rc__, fh_failed - f0__); \
    } while (0)

/* ------------------------------------------------------------------ */
/* The sweep                                                            */
/* ------------------------------------------------------------------ */

typedef void (*script_fn)(long fail_from, long fail_len);

/* The cluster runs' seed (OOM_SEED, default 7). */
static unsigned c_seed = 7;

/* Runs the script once counting, then failing at up to 1000 points spread
 * over the run (OOM_* variables: support/failing_heap.h); returns the
 * number of allocation points. */
static long sweep(const char *name, script_fn script, long fail_len)
{
    const char *env = getenv("OOM_SEED");
    if (env)
        c_seed = (unsigned)atol(env);
    return fh_sweep(name, "OOM", script, fail_len, 1000);
}

/* ------------------------------------------------------------------ */
/* One server with the built-in log                                    */
/* ------------------------------------------------------------------ */

static raft_time_t s_now;
static raft_index_t s_applied;
static int s_reads;

static int s_applylog(raft_server_t *r, void *ud, raft_entry_t *e, raft_index_t idx)
{
    (void)r, (void)ud, (void)e;
    s_applied = idx;
    return 0;
}

static int s_persist(raft_server_t *r, void *ud, raft_term_t term, raft_node_id_t vote)
{
    (void)r, (void)ud, (void)term, (void)vote;
    return 0;
}

static raft_time_t s_timestamp(raft_server_t *r, void *ud)
{
    (void)r, (void)ud;
    return s_now;
}

static void s_log(raft_server_t *r, raft_node_id_t node, void *ud, const char *buf)
{
    (void)r, (void)node, (void)ud, (void)buf;
}

static void s_read_done(void *arg, int can_read)
{
    (void)arg;
    if (can_read)
        s_reads++;
}

/* Node 2, a non-voting follower this test plays: the newest appendentries
 * sent to it, answered by s_answer. */
static int s_ae_pending, s_ae_max;
static raft_appendentries_req_t s_ae;

static int s_send_ae(raft_server_t *r, void *ud, raft_node_t *node, raft_appendentries_req_t *msg)
{
    (void)r, (void)ud, (void)node;
    s_ae = *msg;
    s_ae.entries = NULL;
    s_ae_pending = 1;
    if (msg->n_entries > s_ae_max)
        s_ae_max = (int)msg->n_entries;
    return 0;
}

/* Node 2 answers the newest message: it has everything sent, or (reject)
 * nothing at all, which makes the leader send it everything again. */
static void s_answer(raft_server_t *r, int reject)
{
    raft_appendentries_resp_t resp;
    if (!s_ae_pending)
        return;
    s_ae_pending = 0;
    memset(&resp, 0, sizeof(resp));
    resp.msg_id = s_ae.msg_id;
    resp.term = s_ae.term;
    resp.success = !reject;
    resp.current_idx = reject ? 0 : s_ae.prev_log_idx + s_ae.n_entries;
    CHECK_RC(raft_recv_appendentries_response(r, raft_get_node(r, 2), &resp));
}

static void s_tick(raft_server_t *r, int ms)
{
    s_now += ms * 1000;
    CHECK_RC(raft_periodic(r));
    s_answer(r, 0);
}

/* A call returning NULL on failure, retried while allocations fail. */
#define RETRY_PTR(var, expr)                                                \
    do {                                                                    \
        int tries__ = 0;                                                    \
        for (;;) {                                                          \
            long f0__ = fh_failed;                                          \
            (var) = (expr);                                                 \
            if (var)                                                        \
                break;                                                      \
            if (fh_failed == f0__ || ++tries__ > 100000)                    \
                FAIL_AT("%s: NULL (allocations failed during it: %ld)", #expr, fh_failed - f0__); \
        }                                                                   \
    } while (0)

/* A call returning a code, retried while it says RAFT_ERR_NOMEM. */
#define RETRY_RC(expr)                                                      \
    do {                                                                    \
        int tries__ = 0, rc__;                                              \
        for (;;) {                                                          \
            long f0__ = fh_failed;                                          \
            rc__ = (expr);                                                  \
            if (rc__ == 0)                                                  \
                break;                                                      \
            if (rc__ != RAFT_ERR_NOMEM || fh_failed == f0__ || ++tries__ > 100000) \
                FAIL_AT("%s: rc %d (allocations failed during it: %ld)", #expr, rc__, fh_failed - f0__); \
        }                                                                   \
    } while (0)

static void single_script(long fail_from, long fail_len)
{
    raft_server_t *r;
    raft_node_t *me;
    raft_cbs_t cbs;
    raft_entry_resp_t resp;
    raft_entry_t *e;
    raft_entry_t **all;
    raft_index_t n_all = 0;
    raft_node_t *peer;

    s_now = 1000000;
    s_applied = 0;
    s_reads = 0;
    s_ae_pending = 0;
    s_ae_max = 0;
    memset(&cbs, 0, sizeof(cbs));
    cbs.applylog = s_applylog;
    cbs.persist_metadata = s_persist;
    cbs.timestamp = s_timestamp;
    cbs.log = s_log;
    cbs.send_appendentries = s_send_ae;

    fh_arm(fail_from, fail_len);
    RETRY_PTR(r, raft_new());
    raft_set_callbacks(r, &cbs, NULL);
    CHECK_RC(raft_config(r, 1, RAFT_CONFIG_LOG_ENABLED, 1));
    RETRY_PTR(me, raft_add_node(r, NULL, 1, 1));
    ASSERT(raft_get_node(r, 1) == me);
    RETRY_PTR(peer, raft_add_non_voting_node(r, NULL, 2, 0));
    for (int i = 0; i < 300 && !raft_is_leader(r); i++)
        s_tick(r, 10);
    if (!raft_is_leader(r))
        RETRY_RC(raft_become_leader(r));
    for (int i = 0; i < 40; i++) {
        RETRY_PTR(e, raft_entry_new(8));
        e->id = i + 1;
        memcpy(e->data, &i, sizeof(i));
        RETRY_RC(raft_recv_entry(r, e, &resp));
        raft_entry_release(e);
        s_answer(r, 0);
        if (i % 4 == 3)
            s_tick(r, 10);
    }
    /* node 2 lost its log: the leader sends it all again, in one message
     * (more entries than are lent from the stack) */
    s_answer(r, 0);
    RETRY_PTR(e, raft_entry_new(8));
    RETRY_RC(raft_recv_entry(r, e, &resp));
    raft_entry_release(e);
    s_answer(r, 1);
    for (int i = 0; i < 3; i++)
        s_tick(r, 10);
    RETRY_RC(raft_recv_read_request(r, s_read_done, NULL));
    for (int i = 0; i < 5; i++)
        s_tick(r, 10);
    RETRY_RC(raft_begin_snapshot(r));
    RETRY_RC(raft_end_snapshot(r));
    all = raft_get_entries_from_idx(r, raft_get_snapshot_last_idx(r) + 1, &n_all);
    if (all) {
        raft_entry_release_list(all, (size_t)n_all);
        raft_free(all);
    }
    RETRY_PTR(e, raft_entry_new(0));
    RETRY_RC(raft_recv_entry(r, e, &resp));
    raft_entry_release(e);
    s_tick(r, 10);

    /* Memory is back: the server still works. */
    fh_disarm();
    RETRY_PTR(e, raft_entry_new(4));
    ASSERT_EQ(0, raft_recv_entry(r, e, &resp));
    raft_entry_release(e);
    s_tick(r, 10);
    ASSERT(raft_is_leader(r));
    ASSERT_EQ(raft_get_current_idx(r), raft_get_commit_idx(r));
    ASSERT_EQ(raft_get_current_idx(r), s_applied);
    ASSERT_EQ(raft_get_current_idx(r), raft_get_last_applied_idx(r));
    ASSERT(s_reads >= 1);
    s_tick(r, 300); /* a heartbeat, answered */
    ASSERT_EQ(raft_get_current_idx(r), raft_node_get_match_idx(raft_get_node(r, 2)));
    if (fail_len == 0)
        ASSERT(s_ae_max > 16);
    raft_destroy(r);
    ASSERT_EQ(0, fh_live);
    ASSERT_EQ(0, fh_foreign);
}

TEST(oom_single_server_each_allocation)
{
    sweep("single server", single_script, 1);
}

TEST(oom_single_server_runs_of_failures)
{
    sweep("single server", single_script, 16);
}



/* A follower with the built-in log, fed by a leader this test plays:
 * entries, a conflicting suffix (truncation), configuration changes, a
 * snapshot, votes. Every message that fails is sent again, as a leader
 * would. */
static raft_node_id_t f_get_node_id(raft_server_t *r, void *ud, raft_entry_t *e, raft_index_t idx)
{
    int id;
    (void)r, (void)ud, (void)idx;
    if (e->data_len < sizeof(int))
        return RAFT_NODE_ID_NONE;
    memcpy(&id, e->data, sizeof(id));
    return id;
}

static int f_load_snapshot(raft_server_t *r, void *ud, raft_term_t term, raft_index_t idx)
{
    (void)ud;
    int rc = raft_begin_load_snapshot(r, term, idx);
    if (rc != 0)
        return rc;
    /* the snapshot's configuration: 1 (this server) and 2 (the leader);
     * adding them back cannot fail (begin_load_snapshot made room) */
    if (!raft_get_node(r, 1) && !raft_add_node(r, NULL, 1, 1))
        FAIL_AT("%s", "re-adding node 1 failed");
    if (!raft_get_node(r, 2) && !raft_add_node(r, NULL, 2, 0))
        FAIL_AT("%s", "re-adding node 2 failed");
    return raft_end_load_snapshot(r);
}

static int f_store_chunk(raft_server_t *r, void *ud, raft_index_t idx, raft_size_t off, raft_snapshot_chunk_t *c)
{
    (void)r, (void)ud, (void)idx, (void)off, (void)c;
    return 0;
}

static int f_clear_snapshot(raft_server_t *r, void *ud)
{
    (void)r, (void)ud;
    return 0;
}

/* An entry of `term` whose data is the int `val`. */
static raft_entry_t *f_entry(raft_term_t term, int type, int val)
{
    raft_entry_t *e;
    RETRY_PTR(e, raft_entry_new(sizeof(int)));
    e->term = term;
    e->type = (short)type;
    e->id = val;
    memcpy(e->data, &val, sizeof(val));
    return e;
}

static raft_msg_id_t f_msg_id;

/* Sends an appendentries until it is taken; the entries are released. */
static void f_append(raft_server_t *r, raft_term_t term, raft_index_t prev, raft_term_t prev_term,
                     raft_index_t commit, raft_entry_t **e, int n)
{
    raft_appendentries_req_t ae;
    raft_appendentries_resp_t resp;
    memset(&ae, 0, sizeof(ae));
    ae.leader_id = 2;
    ae.msg_id = ++f_msg_id;
    ae.term = term;
    ae.prev_log_idx = prev;
    ae.prev_log_term = prev_term;
    ae.leader_commit = commit;
    ae.n_entries = n;
    ae.entries = e;
    RETRY_RC(raft_recv_appendentries(r, raft_get_node(r, 2), &ae, &resp));
    ASSERT(resp.success);
    ASSERT_EQ(prev + n, resp.current_idx);
    for (int i = 0; i < n; i++)
        raft_entry_release(e[i]);
}

static void follower_script(long fail_from, long fail_len)
{
    raft_server_t *r;
    raft_cbs_t cbs;
    raft_entry_t *e[40];
    raft_requestvote_req_t rv;
    raft_requestvote_resp_t rvr;
    raft_snapshot_req_t sn;
    raft_snapshot_resp_t snr;
    char img[4] = "snap";
    raft_node_t *nd;
    int k;

    s_now = 1000000;
    s_applied = 0;
    f_msg_id = 0;
    memset(&cbs, 0, sizeof(cbs));
    cbs.applylog = s_applylog;
    cbs.persist_metadata = s_persist;
    cbs.timestamp = s_timestamp;
    cbs.log = s_log;
    cbs.get_node_id = f_get_node_id;
    cbs.load_snapshot = f_load_snapshot;
    cbs.store_snapshot_chunk = f_store_chunk;
    cbs.clear_snapshot = f_clear_snapshot;

    fh_arm(fail_from, fail_len);
    RETRY_PTR(r, raft_new());
    raft_set_callbacks(r, &cbs, NULL);
    CHECK_RC(raft_config(r, 1, RAFT_CONFIG_LOG_ENABLED, 1));
    RETRY_PTR(nd, raft_add_node(r, NULL, 1, 1));
    RETRY_PTR(nd, raft_add_node(r, NULL, 2, 0));

    /* 1..30 in term 1, 10 at a time, 20 committed */
    for (int b = 0; b < 3; b++) {
        for (k = 0; k < 10; k++)
            e[k] = f_entry(1, RAFT_LOGTYPE_NORMAL, b * 10 + k + 1);
        f_append(r, 1, b * 10, b ? 1 : 0, b * 10, e, 10);
    }
    f_append(r, 1, 30, 1, 20, e, 0);
    /* term 2: 21..30 replaced (truncation), a node added and removed */
    for (k = 0; k < 5; k++)
        e[k] = f_entry(2, RAFT_LOGTYPE_NORMAL, 100 + k);
    e[5] = f_entry(2, RAFT_LOGTYPE_ADD_NONVOTING_NODE, 3);
    e[6] = f_entry(2, RAFT_LOGTYPE_NORMAL, 106);
    f_append(r, 2, 20, 1, 27, e, 7);
    ASSERT(raft_get_node(r, 3) != NULL);
    e[0] = f_entry(2, RAFT_LOGTYPE_REMOVE_NODE, 3);
    f_append(r, 2, 27, 2, 28, e, 1);
    ASSERT_EQ(28, raft_get_commit_idx(r));
    /* a vote */
    memset(&rv, 0, sizeof(rv));
    rv.term = 3;
    rv.candidate_id = 2;
    rv.last_log_idx = 28;
    rv.last_log_term = 2;
    RETRY_RC(raft_recv_requestvote(r, raft_get_node(r, 2), &rv, &rvr));
    ASSERT(rvr.vote_granted == 1);
    /* a snapshot at 40, in one chunk */
    memset(&sn, 0, sizeof(sn));
    sn.term = 3;
    sn.leader_id = 2;
    sn.msg_id = ++f_msg_id;
    sn.snapshot_index = 40;
    sn.snapshot_term = 3;
    sn.chunk.data = img;
    sn.chunk.len = sizeof(img);
    sn.chunk.last_chunk = 1;
    /* a load that fails for want of memory is refused (success 0); the
     * leader sends the snapshot again */
    for (int tries = 0;; tries++) {
        long f0 = fh_failed;
        int rc = raft_recv_snapshot(r, raft_get_node(r, 2), &sn, &snr);
        if (rc == 0 && snr.success)
            break;
        if ((rc != 0 && rc != RAFT_ERR_NOMEM) || fh_failed == f0 || tries > 100000)
            FAIL_AT("raft_recv_snapshot: rc %d success %d", rc, snr.success);
        sn.msg_id = ++f_msg_id;
    }
    ASSERT_EQ(40, raft_get_snapshot_last_idx(r));
    ASSERT(raft_get_node(r, 3) == NULL);
    for (k = 0; k < 8; k++)
        e[k] = f_entry(3, RAFT_LOGTYPE_NORMAL, 200 + k);
    f_append(r, 3, 40, 3, 46, e, 8);

    /* Memory is back: the follower still works. */
    fh_disarm();
    e[0] = f_entry(3, RAFT_LOGTYPE_NORMAL, 300);
    f_append(r, 3, 48, 3, 49, e, 1);
    ASSERT_EQ(49, raft_get_current_idx(r));
    ASSERT_EQ(49, raft_get_commit_idx(r));
    ASSERT_EQ(49, raft_get_last_applied_idx(r));
    ASSERT_EQ(49, s_applied);
    ASSERT_EQ(2, raft_get_num_nodes(r));
    ASSERT_EQ(3, raft_get_current_term(r));
    raft_destroy(r);
    ASSERT_EQ(0, fh_live);
    ASSERT_EQ(0, fh_foreign);
}

TEST(oom_follower_each_allocation)
{
    sweep("follower", follower_script, 1);
}

TEST(oom_follower_runs_of_failures)
{
    sweep("follower", follower_script, 16);
}

/* raft_new alone: each allocation failing gives NULL and leaks nothing. */
TEST(oom_raft_new_returns_null)
{
    long points;
    raft_server_t *r;
    fh_install();
    fh_arm(0, 0);
    r = raft_new();
    points = fh_calls;
    fh_disarm();
    ASSERT(r != NULL);
    raft_destroy(r);
    ASSERT_EQ(0, fh_live);
    for (long n = 1; n <= points; n++) {
        fh_arm(n, 1);
        r = raft_new();
        fh_disarm();
        ASSERT(r == NULL);
        ASSERT_EQ(0, fh_live);
    }
    for (long n = 1; n <= points; n++) {
        fh_arm(n, 1);
        r = raft_new_with_log(&raft_log_internal_impl, NULL);
        fh_disarm();
        ASSERT(r == NULL);
        ASSERT_EQ(0, fh_live);
    }
    printf("  raft_new: %ld allocation points, each fails cleanly\n", points);
}

/* ------------------------------------------------------------------ */
/* Lying and failing inputs                                              */
/* ------------------------------------------------------------------ */

/* A custom log that claims 2^40 entries but holds three. */
#define LIAR_HAS 3
static raft_entry_t *liar_entries[LIAR_HAS];
static int liar_batches;

static void *liar_init(void *raft, void *arg) { (void)raft; return arg; }
static void liar_free(void *log) { (void)log; }
static void liar_reset(void *log, raft_index_t first, raft_term_t term) { (void)log, (void)first, (void)term; }
static int liar_append(void *log, raft_entry_t *e) { (void)log, (void)e; return 0; }
static int liar_poll(void *log, raft_index_t first) { (void)log, (void)first; return 0; }
static int liar_pop(void *log, raft_index_t from, raft_entry_notify_f cb, void *arg)
{
    (void)log, (void)from, (void)cb, (void)arg;
    return 0;
}
static raft_entry_t *liar_get(void *log, raft_index_t idx)
{
    (void)log;
    if (idx < 1 || idx > LIAR_HAS)
        return NULL;
    raft_entry_hold(liar_entries[idx - 1]);
    return liar_entries[idx - 1];
}
static raft_index_t liar_get_batch(void *log, raft_index_t idx, raft_index_t n, raft_entry_t **out)
{
    raft_index_t k = 0;
    liar_batches++;
    while (k < n && liar_get(log, idx + k))
        out[k] = liar_entries[idx + k - 1], k++;
    return k;
}
static raft_index_t liar_first_idx(void *log) { (void)log; return 1; }
static raft_index_t liar_current_idx(void *log) { (void)log; return (raft_index_t)1 << 40; }
static raft_index_t liar_count(void *log) { (void)log; return (raft_index_t)1 << 40; }
static int liar_sync(void *log) { (void)log; return 0; }

static const raft_log_impl_t liar_impl = {
    .init = liar_init, .free = liar_free, .reset = liar_reset, .append = liar_append,
    .poll = liar_poll, .pop = liar_pop, .get = liar_get, .get_batch = liar_get_batch,
    .first_idx = liar_first_idx, .current_idx = liar_current_idx, .count = liar_count,
    .sync = liar_sync,
};

TEST(oom_entries_from_a_log_claiming_2_to_the_40_are_fetched_in_bounded_batches)
{
    raft_server_t *r;
    raft_entry_t **all;
    raft_index_t n = -1;
    fh_install();
    for (int i = 0; i < LIAR_HAS; i++) {
        liar_entries[i] = raft_entry_new(0);
        liar_entries[i]->id = i + 1;
    }
    r = raft_new_with_log(&liar_impl, &liar_batches);
    ASSERT(r != NULL);
    ASSERT_EQ((raft_index_t)1 << 40, raft_get_current_idx(r));
    /* what the log has, asked for in bounded batches (no 8 TiB reservation) */
    all = raft_get_entries_from_idx(r, 1, &n);
    ASSERT(all != NULL);
    ASSERT_EQ(LIAR_HAS, n);
    for (int i = 0; i < LIAR_HAS; i++)
        ASSERT_EQ(i + 1, all[i]->id);
    ASSERT(liar_batches <= 2);
    raft_entry_release_list(all, (size_t)n);
    raft_free(all);
    /* past what it has: nothing */
    all = raft_get_entries_from_idx(r, 1000, &n);
    ASSERT(all == NULL);
    ASSERT_EQ(0, n);
    /* each allocation failing: NULL and nothing held */
    for (long k = 1; k <= 4; k++) {
        fh_arm(k, 1);
        all = raft_get_entries_from_idx(r, 1, &n);
        fh_disarm();
        if (all) {
            ASSERT_EQ(LIAR_HAS, n);
            raft_entry_release_list(all, (size_t)n);
            raft_free(all);
        } else {
            ASSERT_EQ(0, n);
        }
        for (int i = 0; i < LIAR_HAS; i++)
            ASSERT_EQ(1, liar_entries[i]->refs);
    }
    raft_destroy(r);
    for (int i = 0; i < LIAR_HAS; i++)
        raft_entry_release(liar_entries[i]);
    ASSERT_EQ(0, fh_live);
}

/* The functions that only allocate: NULL or an error code, nothing leaked. */
TEST(oom_constructors_return_null_or_nomem)
{
    raft_wire_msg_t m, out;
    raft_entry_t *e;
    unsigned char buf[256];
    size_t used = 0;
    fh_install();

    fh_arm(1, 1);
    ASSERT(raft_entry_new(10) == NULL);
    fh_arm(1, 1);
    ASSERT(raft_node_new(NULL, 3) == NULL);
    fh_arm(1, 1);
    ASSERT(raft_log_new() == NULL);
    fh_arm(1, 1);
    ASSERT(raft_log_alloc(100) == NULL);
    fh_arm(2, 1); /* the log's room for entries */
    ASSERT(raft_log_alloc(100) == NULL);
    fh_disarm();
    ASSERT_EQ(0, fh_live);

    /* a decoded appendentries needs its entries: each allocation failing */
    e = raft_entry_new(3);
    memcpy(e->data, "abc", 3);
    memset(&m, 0, sizeof(m));
    m.type = RAFT_WIRE_APPENDENTRIES;
    m.u.appendentries.term = 1;
    m.u.appendentries.n_entries = 1;
    m.u.appendentries.entries = &e;
    ASSERT_EQ(0, raft_wire_encode(&m, buf, sizeof(buf), &used));
    for (long k = 1; k <= 3; k++) {
        size_t consumed = 0;
        int rc;
        fh_arm(k, 1);
        rc = raft_wire_decode(buf, used, 0, &out, &consumed);
        fh_disarm();
        if (rc == 0) {
            ASSERT_EQ(1, out.u.appendentries.n_entries);
            raft_wire_msg_release(&out);
        } else {
            ASSERT_EQ(RAFT_WIRE_ERR_NOMEM, rc);
        }
    }
    raft_entry_release(e);
    ASSERT_EQ(0, fh_live);
}

/* ------------------------------------------------------------------ */
/* A 3-node cluster (logs of the harness's own raft_log_impl_t)         */
/* ------------------------------------------------------------------ */

static void check_errors(cluster_t *c)
{
    for (int i = 1; i <= c->n; i++) {
        cl_server_t *s = &c->s[i];
        if (!s->exists)
            continue;
        /* NOT_LEADER: an answer reaching a leader that has stepped down */
        if (s->recv_errors && s->last_recv_error != RAFT_ERR_NOMEM && s->last_recv_error != RAFT_ERR_NOT_LEADER)
            FAIL_AT("node %d: a raft_recv_* call failed with %d", i, s->last_recv_error);
        if (s->periodic_errors && s->last_periodic_error != RAFT_ERR_NOMEM)
            FAIL_AT("node %d: raft_periodic failed with %d", i, s->last_periodic_error);
    }
}

static int c_reads;

static void c_read_done(void *arg, int can_read)
{
    (void)arg;
    if (can_read)
        c_reads++;
}

static int is_voter(cluster_t *c, raft_node_id_t on, raft_node_id_t who)
{
    raft_node_t *n = raft_get_node(cl_raft(c, on), who);
    return n && raft_node_is_voting(n);
}

/* A follower that is not `l`. */
static raft_node_id_t follower_of(raft_node_id_t l)
{
    return l == 3 ? 2 : 3;
}

/* Submits to the leader, if there is one. */
static void submit(cluster_t *c, int val)
{
    raft_entry_resp_t resp;
    raft_node_id_t l = cl_leader(c);
    if (l)
        CHECK_RC(cl_submit(c, l, val, &resp));
}

/* Crash and restart `id` from its disk, as an application does: a restart
 * that fails (out of memory) is torn down and tried again, and one that
 * left a node out is too. 1 once restarted; 0 (the server down) when it
 * failed 8 times. */
static int crash_restart(cluster_t *c, raft_node_id_t id, int n_nodes)
{
    cl_crash(c, id);
    for (int tries = 0;; tries++) {
        long f0 = fh_failed;
        int rc = cl_restart_with_log(c, id);
        cl_server_t *s = cl_srv(c, id);
        if (rc == 0 && s->r && raft_get_num_nodes(s->r) == n_nodes)
            return 1;
        if (fh_failed == f0)
            FAIL_AT("restart of %d: rc %d, no allocation failed", id, rc);
        if (rc != 0 && rc != RAFT_ERR_NOMEM && rc != RAFT_ERR_MISUSE) /* MISUSE: no server */
            FAIL_AT("restart of %d: rc %d", id, rc);
        cl_crash(c, id);
        if (tries == 8)
            return 0;
    }
}

/* Options of the cluster runs (NULL: the harness's defaults). */
static const cl_opts_t *c_opts;

static void cluster_script(long fail_from, long fail_len)
{
    cluster_t *c;
    raft_node_id_t l, f, down = 0;
    raft_entry_resp_t resp;
    int n_nodes = 0;

    c = c_opts ? cl_new_opts(3, c_seed, c_opts) : cl_new(3, c_seed);
    for (int i = 1; i <= 3; i++) { /* formatting log messages allocates too */
        raft_config(cl_raft(c, i), 1, RAFT_CONFIG_LOG_ENABLED, 1);
        cl_srv(c, i)->max_entries_per_msg = 3; /* (with the entries callback) */
    }
    fh_arm(fail_from, fail_len);

    /* elect, replicate (a few entries per message), read */
    cl_elect(c, 5000);
    for (int i = 0; i < 24; i++) {
        submit(c, 100 + i);
        if (i % 4 == 3)
            cl_run(c, 30);
    }
    for (int i = 0; i < 3; i++)
        if ((l = cl_leader(c)) != 0)
            CHECK_RC(raft_recv_read_request(cl_raft(c, l), c_read_done, NULL));
    cl_run(c, 300);

    /* a follower falls behind a compaction and gets a snapshot */
    l = cl_elect(c, 3000);
    f = follower_of(l);
    cl_isolate(c, f);
    for (int i = 0; i < 8; i++) {
        submit(c, 200 + i);
        cl_run(c, 20);
    }
    cl_run(c, 200);
    if ((l = cl_leader(c)) != 0) {
        /* -1: nothing to compact (earlier failures held the writes back) */
        int snap_rc = raft_get_num_snapshottable_logs(cl_raft(c, l)) == 0 ? -1 : 0;
        if (snap_rc == -1)
            ASSERT_EQ(-1, cl_snapshot(c, l));
        else
            CHECK_RC(cl_snapshot(c, l));
    }
    cl_heal(c);
    cl_run(c, 1500);

    /* the leader crashes; the others elect; it comes back */
    if ((l = cl_leader(c)) != 0) {
        n_nodes = raft_get_num_nodes(cl_raft(c, l));
        down = l;
        cl_crash(c, l);
        cl_run(c, 3000);
        submit(c, 300);
        cl_run(c, 300);
        if (crash_restart(c, l, n_nodes)) /* (it is down: this only restarts it) */
            down = 0;
        cl_run(c, 1000);
    }

    /* a fourth server joins, non-voting, then as a voter */
    fh_pause();
    cl_add_server(c, 4);
    raft_config(cl_raft(c, 4), 1, RAFT_CONFIG_LOG_ENABLED, 1);
    fh_resume();
    if ((l = cl_elect(c, 3000)) != 0)
        CHECK_RC(cl_submit_cfg(c, l, RAFT_LOGTYPE_ADD_NONVOTING_NODE, 4, &resp));
    cl_run(c, 1000);
    if ((l = cl_leader(c)) != 0 && cl_is_member(c, l, 4) && !is_voter(c, l, 4))
        CHECK_RC(cl_submit_cfg(c, l, RAFT_LOGTYPE_ADD_NODE, 4, &resp));
    cl_run(c, 1000);

    /* leadership moves */
    if ((l = cl_leader(c)) != 0) {
        int rc = raft_transfer_leader(cl_raft(c, l), follower_of(l), 0);
        if (rc != 0 && rc != RAFT_ERR_NOMEM && rc != RAFT_ERR_LEADER_TRANSFER_IN_PROGRESS)
            FAIL_AT("raft_transfer_leader: rc %d", rc);
    }
    cl_run(c, 1000);
    check_errors(c);

    /* Memory is back: the cluster converges and completes the change. */
    fh_disarm();
    if (down)
        ASSERT(crash_restart(c, down, n_nodes));
    l = cl_elect(c, 10000);
    ASSERT(l != 0);
    if (!cl_is_member(c, l, 4)) {
        ASSERT_EQ(0, cl_submit_cfg(c, l, RAFT_LOGTYPE_ADD_NONVOTING_NODE, 4, &resp));
        cl_run(c, 1000);
        l = cl_elect(c, 10000);
    }
    if (!is_voter(c, l, 4)) {
        ASSERT(cl_is_member(c, l, 4));
        ASSERT_EQ(0, cl_submit_cfg(c, l, RAFT_LOGTYPE_ADD_NODE, 4, &resp));
    }
    ASSERT(cl_replicate(c, 999, 10000));
    ASSERT(cl_converge(c, 10000));
    l = cl_leader(c);
    ASSERT(l != 0);
    for (int i = 1; i <= 4; i++) {
        ASSERT(is_voter(c, l, i));
        ASSERT_EQ(raft_get_commit_idx(cl_raft(c, l)), raft_get_last_applied_idx(cl_raft(c, i)));
        ASSERT(cl_same_applied(c, l, i));
    }
    ASSERT_EQ(0, cl_violations(c));
    check_errors(c);
    if (c_opts && c_opts->use_entries_cb) {
        int calls = 0;
        for (int i = 1; i <= 4; i++)
            calls += cl_srv(c, i)->entries_cb_calls;
        ASSERT(calls > 0);
    }
    cl_free(c);
    ASSERT_EQ(0, fh_live);
    ASSERT_EQ(0, fh_foreign);
}

TEST(oom_cluster_each_allocation)
{
    sweep("3-node cluster", cluster_script, 1);
}

TEST(oom_cluster_runs_of_failures)
{
    sweep("3-node cluster", cluster_script, 16);
}

/* A long outage: a thousand allocations in a row fail (more than the run
 * has when nothing fails: a follower refusing an appendentries for want of
 * memory answers failure, and the leader resends at once, so while memory
 * lacks the two exchange messages as fast as they are delivered, each
 * exchange trying to allocate again). */
TEST(oom_cluster_long_outage)
{
    sweep("3-node cluster", cluster_script, 1000);
}

/* The application picks the entries to send (get_entries_to_send), in
 * messages of at most 3, and messages to a follower wait while it is
 * behind (backpressure). */
TEST(oom_cluster_with_entries_callback_each_allocation)
{
    cl_opts_t o;
    cl_default_opts(&o);
    o.use_entries_cb = 1;
    o.use_backpressure = 1;
    c_opts = &o;
    sweep("3-node cluster, entries callback", cluster_script, 1);
    sweep("3-node cluster, entries callback", cluster_script, 16);
}

TEST_MAIN()
