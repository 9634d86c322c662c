/* Allocation failure in the durable store (raft_store.h): a scripted store
 * session with its N-th allocation failing, for every N.
 *
 * The heap hooks count every allocation the library makes (the store's
 * memory goes through raft_malloc/raft_calloc/raft_realloc like the rest).
 * Opening the stores and binding the server happen before the failing
 * window; inside it:
 *   - a server bound to a store (auto flush on, so every proposal is
 *     appended, synced, committed and applied through the log callbacks)
 *     takes proposals, reads entries back, and compacts (begin/end
 *     snapshot, the log's poll);
 *   - a second store, driven through the log callbacks of
 *     raft_store_log_impl() directly, appends, syncs (also in the
 *     background: sync_start and sync_wait), reads one entry and batches
 *     from disk (its cache is small), truncates (pop), appends again,
 *     compacts (poll) and persists term and vote.
 * Each time it requires: no abort; every call that fails says
 * RAFT_ERR_NOMEM (NULL where the function returns an entry), and only when
 * an allocation failed during it; once memory is back a sync succeeds, and
 * after closing and reopening both stores every entry that was appended
 * (and not removed) is there with its contents, and the term and vote are
 * the last ones persisted.
 *
 * The whole run of allocation points is tried one at a time and in runs of
 * 16 and of 1000 failures in a row (STORE_OOM_SAMPLES=N tries N points
 * spread over the run instead; STORE_OOM_VERBOSE, _ONLY and _FORK as in
 * support/failing_heap.h).
 */
#include <errno.h>
#include <stdint.h>

#include "raft.h"
#include "raft_compat.h"
#include "raft_store.h"
#include "support/failing_heap.h"
#include "support/tmpdir.h"
#include "test.h"

/* rc = expr, which must give 0, or RAFT_ERR_NOMEM while an allocation
 * failed during the call. */
#define CALL(rc, expr)                                                      \
    do {                                                                    \
        long f0__ = fh_failed;                                              \
        rc = (expr);                                                        \
        if (rc != 0 && !(rc == RAFT_ERR_NOMEM && fh_failed > f0__))         \
            FAIL_AT("%s: rc %d (%s; allocations failed during it: %ld)", #expr, rc, \
                    raft_store_last_error(), fh_failed - f0__);             \
    } while (0)
#define CHECK_RC(expr)                                                      \
    do {                                                                    \
        int r__;                                                            \
        CALL(r__, expr);                                                    \
    } while (0)

/* ------------------------------------------------------------------ */
/* The session                                                          */
/* ------------------------------------------------------------------ */

#define MAXIDX 256

static char *make_dir(char *buf, size_t size)
{
    if (!tmpdir_make(buf, size, "raft-store-oom"))
        FAIL_AT("mkdtemp: %s", strerror(errno));
    return buf;
}

static raft_store_t *open_store(const char *dir, int fsync_policy)
{
    raft_store_options_t o;
    raft_store_t *st = NULL;
    raft_store_options_init(&o);
    o.segment_size = 4096; /* segments roll within the session */
    o.cache_size = 600;    /* a few entries: reads go to the files */
    o.fsync_policy = fsync_policy;
    int rc = raft_store_open(dir, &o, &st);
    if (rc != 0)
        FAIL_AT("open %s: %s: %s", dir, raft_store_strerror(rc), raft_store_last_error());
    return st;
}

static int s_applylog(raft_server_t *r, void *ud, raft_entry_t *e, raft_index_t idx)
{
    (void)r, (void)ud, (void)e, (void)idx;
    return 0;
}

static int s_send_ae(raft_server_t *r, void *ud, raft_node_t *n, raft_appendentries_req_t *m)
{
    (void)r, (void)ud, (void)n, (void)m;
    return 0;
}

static raft_server_t *bind_server(raft_store_t *st)
{
    raft_cbs_t c;
    raft_server_t *r = raft_store_new_server(st);
    ASSERT(r != NULL);
    memset(&c, 0, sizeof c);
    c.persist_metadata = raft_store_persist_metadata_cb;
    c.applylog = s_applylog;
    c.send_appendentries = s_send_ae;
    raft_set_callbacks(r, &c, NULL);
    raft_config(r, 1, RAFT_CONFIG_AUTO_FLUSH, 1);
    raft_add_node(r, NULL, 1, 1);
    ASSERT_EQ(0, raft_store_restore(st, r, 0, 0));
    return r;
}

/* An entry's contents: its value in the first 4 bytes, then `len - 4`
 * bytes of a pattern of it. */
static int entry_len(int v)
{
    return 4 + 40 + v % 50;
}

static void fill(char *p, int v)
{
    memcpy(p, &v, sizeof v);
    memset(p + 4, 'a' + v % 26, (size_t)entry_len(v) - 4);
}

static void check_data(const raft_entry_t *e, int v, raft_index_t idx)
{
    int got;
    if ((int)e->data_len != entry_len(v))
        FAIL_AT("entry %ld: %u bytes, expected %d", (long)idx, e->data_len, entry_len(v));
    memcpy(&got, e->data, sizeof got);
    if (got != v)
        FAIL_AT("entry %ld holds %d, expected %d", (long)idx, got, v);
    for (int i = 4; i < entry_len(v); i++)
        if (e->data[i] != 'a' + v % 26)
            FAIL_AT("entry %ld: byte %d damaged", (long)idx, i);
}

/* The server's log as it should be: value of each index (0 for the no-op),
 * the first index kept. */
static int a_val[MAXIDX];
static raft_index_t a_last, a_first;

/* The standalone store's log as it should be, term and vote. */
static int b_val[MAXIDX];
static raft_index_t b_last, b_first;
static raft_term_t b_term;
static raft_node_id_t b_vote;

static void a_propose(raft_server_t *r, int v)
{
    raft_entry_req_t *e;
    raft_entry_resp_t resp;
    long f0 = fh_failed;
    e = raft_entry_new((raft_size_t)entry_len(v));
    if (!e) {
        ASSERT(fh_failed > f0);
        return;
    }
    fill(e->data, v);
    memset(&resp, 0, sizeof resp);
    int rc;
    CALL(rc, raft_recv_entry(r, e, &resp));
    raft_entry_release(e);
    if (rc == 0) {
        ASSERT_EQ(a_last + 1, resp.idx);
        ASSERT(resp.idx < MAXIDX);
        a_last = resp.idx;
        a_val[a_last] = v;
    } else {
        /* refused: nothing appended */
        ASSERT_EQ(a_last, raft_get_current_idx(r));
    }
}

static void a_read(raft_server_t *r, raft_index_t idx)
{
    long f0 = fh_failed;
    raft_entry_t *e = raft_get_entry_from_idx(r, idx);
    if (!e) {
        if (fh_failed == f0)
            FAIL_AT("entry %ld missing with memory to spare", (long)idx);
        return;
    }
    if (idx > 1)
        check_data(e, a_val[idx], idx);
    raft_entry_release(e);
}

static void b_append(const raft_log_impl_t *li, raft_store_t *st, int v)
{
    long f0 = fh_failed;
    raft_entry_t *e = raft_entry_new((raft_size_t)entry_len(v));
    if (!e) {
        ASSERT(fh_failed > f0);
        return;
    }
    e->term = 1 + v / 10;
    fill(e->data, v);
    int rc;
    CALL(rc, li->append(st, e));
    raft_entry_release(e);
    if (rc == 0) {
        b_last++;
        ASSERT(b_last < MAXIDX);
        b_val[b_last] = v;
    }
    ASSERT_EQ(b_last, li->current_idx(st));
}

static void b_get(const raft_log_impl_t *li, raft_store_t *st, raft_index_t idx)
{
    long f0 = fh_failed;
    raft_entry_t *e = li->get(st, idx);
    if (!e) {
        if (fh_failed == f0)
            FAIL_AT("entry %ld missing with memory to spare", (long)idx);
        return;
    }
    check_data(e, b_val[idx], idx);
    raft_entry_release(e);
}

static void b_get_batch(const raft_log_impl_t *li, raft_store_t *st, raft_index_t idx, raft_index_t n)
{
    raft_entry_t *es[64];
    long f0 = fh_failed;
    raft_index_t got = li->get_batch(st, idx, n, es);
    ASSERT(got >= 0 && got <= n);
    if (got < n && fh_failed == f0)
        FAIL_AT("batch from %ld: %ld of %ld with memory to spare", (long)idx, (long)got, (long)n);
    for (raft_index_t i = 0; i < got; i++) {
        check_data(es[i], b_val[idx + i], idx + i);
        raft_entry_release(es[i]);
    }
}

/* The reopened stores hold what the models say. */
static void check_reopened(const char *dir_a, const char *dir_b)
{
    raft_store_t *st = open_store(dir_a, RAFT_STORE_FSYNC_NONE);
    raft_server_t *r = bind_server(st);
    ASSERT_EQ(a_last, raft_get_current_idx(r));
    ASSERT_EQ(a_first, raft_store_first_idx(st));
    for (raft_index_t i = a_first; i <= a_last; i++)
        a_read(r, i);
    raft_destroy(r);
    ASSERT_EQ(0, raft_store_close(st));

    st = open_store(dir_b, RAFT_STORE_FSYNC_DATA);
    const raft_log_impl_t *li = raft_store_log_impl();
    raft_term_t term;
    raft_node_id_t vote;
    ASSERT_EQ(b_last, li->current_idx(st));
    ASSERT_EQ(b_first, li->first_idx(st));
    for (raft_index_t i = b_first; i <= b_last; i++)
        b_get(li, st, i);
    ASSERT_EQ(0, raft_store_get_metadata(st, &term, &vote));
    ASSERT_EQ(b_term, term);
    ASSERT_EQ(b_vote, vote);
    ASSERT_EQ(0, raft_store_close(st));
}

static void store_script(long fail_from, long fail_len)
{
    char dir_a[64], dir_b[64];
    const raft_log_impl_t *li = raft_store_log_impl();
    raft_index_t idx;

    make_dir(dir_a, sizeof dir_a);
    make_dir(dir_b, sizeof dir_b);
    memset(a_val, 0, sizeof a_val);
    memset(b_val, 0, sizeof b_val);
    b_last = 0, b_first = 1, b_term = 0, b_vote = -1;

    raft_store_t *sa = open_store(dir_a, RAFT_STORE_FSYNC_NONE);
    raft_server_t *r = bind_server(sa);
    raft_periodic_internal(r, 3000);
    ASSERT(raft_is_leader(r));
    a_last = raft_get_current_idx(r); /* the leader's no-op */
    a_first = 1;
    raft_store_t *sb = open_store(dir_b, RAFT_STORE_FSYNC_DATA);

    fh_arm(fail_from, fail_len);

    /* -- the server on its store -- */
    for (int v = 1; v <= 30; v++) {
        a_propose(r, v);
        if (v % 10 == 0)
            for (raft_index_t i = 1; i <= a_last; i += 7)
                a_read(r, i);
    }
    if (raft_get_commit_idx(r) > raft_get_snapshot_last_idx(r) + 1) {
        int rc;
        CALL(rc, raft_begin_snapshot(r));
        if (rc == 0) {
            raft_index_t applied = raft_get_last_applied_idx(r);
            CALL(rc, raft_end_snapshot(r));
            if (rc == 0 && raft_store_first_idx(sa) > a_first) {
                ASSERT_EQ(applied + 1, raft_store_first_idx(sa));
                a_first = applied + 1;
            }
        }
    }
    for (int v = 31; v <= 36; v++)
        a_propose(r, v);

    /* -- the standalone store through the log callbacks -- */
    for (int v = 1; v <= 40; v++) {
        b_append(li, sb, v);
        if (v == 15)
            CHECK_RC(raft_store_sync(sb));
        if (v == 30) {
            int rc;
            CALL(rc, raft_store_sync_start(sb));
            if (rc == 0)
                CALL(rc, raft_store_sync_wait(sb, &idx));
        }
    }
    for (raft_index_t i = b_first; i <= b_last; i += 5)
        b_get(li, sb, i);
    if (b_last >= 8)
        b_get_batch(li, sb, b_last - 7, 8);
    if (b_last >= 20) {
        CHECK_RC(raft_store_sync(sb)); /* (a pop of synced entries) */
        int rc;
        CALL(rc, li->pop(sb, b_last - 5, NULL, NULL));
        if (rc == 0)
            b_last -= 6;
        ASSERT_EQ(b_last, li->current_idx(sb));
    }
    for (int v = 41; v <= 45; v++)
        b_append(li, sb, v);
    if (b_last >= 12) {
        int rc;
        CALL(rc, li->poll(sb, 10));
        if (rc == 0)
            b_first = 10;
        ASSERT_EQ(b_first, li->first_idx(sb));
    }
    {
        int rc;
        CALL(rc, raft_store_persist_metadata(sb, 7, 2));
        if (rc == 0)
            b_term = 7, b_vote = 2;
    }
    CHECK_RC(raft_store_sync(sb));

    fh_disarm();

    /* Memory is back: everything syncs, and survives a reopen. */
    ASSERT_EQ(0, raft_store_sync(sa));
    ASSERT_EQ(0, raft_store_sync(sb));
    ASSERT_EQ(a_last, raft_store_synced_idx(sa));
    ASSERT_EQ(b_last, raft_store_synced_idx(sb));
    raft_destroy(r);
    ASSERT_EQ(0, raft_store_close(sa));
    ASSERT_EQ(0, raft_store_close(sb));
    check_reopened(dir_a, dir_b);
    /* Nothing the failures interrupted was leaked. The one block the
     * library keeps is this thread's last error message; an error now
     * makes sure it is there. */
    ASSERT(raft_store_sync(NULL) != 0);
    ASSERT_EQ(1, fh_live);
    ASSERT_EQ(0, fh_foreign);
    tmpdir_remove(dir_a);
    tmpdir_remove(dir_b);
}

/* Every allocation point of the session (STORE_OOM_* variables:
 * support/failing_heap.h). */
static long sweep(long fail_len)
{
    return fh_sweep("store session", "STORE_OOM", store_script, fail_len, 0);
}

/* raft_store_new_server with its k-th allocation failing, for every k:
 * NULL, nothing kept, and the store can be bound afterwards. */
TEST(store_oom_new_server_returns_null)
{
    char dir[64];
    make_dir(dir, sizeof dir);
    fh_install();
    raft_store_t *st = open_store(dir, RAFT_STORE_FSYNC_NONE);
    long base = fh_live;
    for (long k = 1;; k++) {
        fh_arm(k, 1);
        raft_server_t *r = raft_store_new_server(st);
        fh_disarm();
        if (fh_failed == 0) {
            ASSERT(r != NULL);
            raft_destroy(r);
            break;
        }
        ASSERT(r == NULL);
        ASSERT(fh_live <= base + 1); /* (+ the last error's message) */
        base = fh_live;
        ASSERT(k < 1000);
    }
    ASSERT_EQ(0, raft_store_close(st));
    ASSERT(raft_store_sync(NULL) != 0);
    ASSERT_EQ(1, fh_live); /* the last error's message only */
    tmpdir_remove(dir);
}

TEST(store_oom_each_allocation)
{
    sweep(1);
}

TEST(store_oom_runs_of_failures)
{
    sweep(16);
}

TEST(store_oom_long_outage)
{
    sweep(1000);
}

TEST_MAIN()
