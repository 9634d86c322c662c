/* A user log (raft_log_impl_t) given to raft_new_with_log receives every log
 * access the server makes. */
#include "raft.h"
#include "test.h"

struct ulog {
    void *raft, *arg;
    raft_index_t first;       /* index of entries[0] */
    raft_entry_t *entries[256];
    raft_index_t n;
};

static struct calls {
    int init, free, reset, append, poll, pop, get, get_batch, first_idx,
        current_idx, count, sync;
    struct ulog *log;
    raft_entry_t *last_appended;
    raft_index_t last_get_idx;
} calls;

static void *u_init(void *raft, void *arg)
{
    calls.init++;
    struct ulog *l = calloc(1, sizeof(*l));
    l->raft = raft;
    l->arg = arg;
    l->first = 1;
    calls.log = l;
    return l;
}

static void u_free(void *log)
{
    calls.free++;
    struct ulog *l = log;
    raft_entry_release_list(l->entries, (size_t)l->n);
    free(l);
}

static void u_reset(void *log, raft_index_t first_idx, raft_term_t term)
{
    (void)term;
    calls.reset++;
    struct ulog *l = log;
    raft_entry_release_list(l->entries, (size_t)l->n);
    l->n = 0;
    l->first = first_idx;
}

static int u_append(void *log, raft_entry_t *e)
{
    calls.append++;
    calls.last_appended = e;
    struct ulog *l = log;
    if (l->n == 256)
        return RAFT_ERR_NOMEM;
    raft_entry_hold(e);
    l->entries[l->n++] = e;
    return 0;
}

static int u_poll(void *log, raft_index_t first_idx)
{
    calls.poll++;
    struct ulog *l = log;
    while (l->n > 0 && l->first < first_idx) {
        raft_entry_release(l->entries[0]);
        memmove(l->entries, l->entries + 1, (size_t)(l->n - 1) * sizeof(l->entries[0]));
        l->n--;
        l->first++;
    }
    return 0;
}

static int u_pop(void *log, raft_index_t from_idx, raft_entry_notify_f cb, void *arg)
{
    calls.pop++;
    struct ulog *l = log;
    while (l->n > 0 && l->first + l->n - 1 >= from_idx) {
        raft_entry_t *e = l->entries[l->n - 1];
        if (cb)
            cb(arg, e, l->first + l->n - 1);
        raft_entry_release(e);
        l->n--;
    }
    return 0;
}

static raft_entry_t *u_get(void *log, raft_index_t idx)
{
    calls.get++;
    calls.last_get_idx = idx;
    struct ulog *l = log;
    if (idx < l->first || idx >= l->first + l->n)
        return NULL;
    raft_entry_t *e = l->entries[idx - l->first];
    raft_entry_hold(e);
    return e;
}

static raft_index_t u_get_batch(void *log, raft_index_t idx, raft_index_t n, raft_entry_t **out)
{
    calls.get_batch++;
    struct ulog *l = log;
    raft_index_t i = 0;
    for (; i < n && idx + i < l->first + l->n && idx + i >= l->first; i++) {
        out[i] = l->entries[idx + i - l->first];
        raft_entry_hold(out[i]);
    }
    return i;
}

static raft_index_t u_first_idx(void *log) { calls.first_idx++; return ((struct ulog *)log)->first; }
static raft_index_t u_current_idx(void *log)
{
    calls.current_idx++;
    struct ulog *l = log;
    return l->first + l->n - 1;
}
static raft_index_t u_count(void *log) { calls.count++; return ((struct ulog *)log)->n; }
static int u_sync(void *log) { (void)log; calls.sync++; return 0; }

static const raft_log_impl_t ulog_impl = {
    .init = u_init, .free = u_free, .reset = u_reset, .append = u_append,
    .poll = u_poll, .pop = u_pop, .get = u_get, .get_batch = u_get_batch,
    .first_idx = u_first_idx, .current_idx = u_current_idx,
    .count = u_count, .sync = u_sync,
};

static int log_arg;

TEST(custom_log_init_is_called_once_with_the_server_and_arg)
{
    raft_server_t *r = raft_new_with_log(&ulog_impl, &log_arg);
    ASSERT(r != NULL);
    ASSERT_EQ(1, calls.init);
    ASSERT_PTR_EQ(&log_arg, calls.log->arg);
    ASSERT_PTR_EQ(r, calls.log->raft);
    ASSERT_PTR_EQ(calls.log, raft_get_log(r));
    raft_destroy(r);
    ASSERT_EQ(1, calls.init);
}

TEST(custom_log_receives_appends)
{
    raft_server_t *r = raft_new_with_log(&ulog_impl, &log_arg);
    raft_entry_t *e = raft_entry_new(3);
    e->term = 1;
    int before = calls.append;
    ASSERT_EQ(0, raft_append_entry(r, e));
    ASSERT_EQ(before + 1, calls.append);
    ASSERT_PTR_EQ(e, calls.last_appended);
    ASSERT_EQ(1, calls.log->n);
    raft_entry_release(e);
    raft_destroy(r);
}

TEST(custom_log_append_failure_is_returned)
{
    raft_server_t *r = raft_new_with_log(&ulog_impl, &log_arg);
    for (int i = 0; i < 256; i++) {
        raft_entry_t *e = raft_entry_new(0);
        e->term = 1;
        ASSERT_EQ(0, raft_append_entry(r, e));
        raft_entry_release(e);
    }
    raft_entry_t *e = raft_entry_new(0);
    e->term = 1;
    ASSERT_EQ(RAFT_ERR_NOMEM, raft_append_entry(r, e));
    raft_entry_release(e);
    raft_destroy(r);
}

TEST(custom_log_serves_raft_get_entry_from_idx)
{
    raft_server_t *r = raft_new_with_log(&ulog_impl, &log_arg);
    raft_entry_t *e = raft_entry_new(0);
    e->term = 1;
    e->id = 77;
    raft_append_entry(r, e);
    raft_entry_release(e);
    int before = calls.get;
    raft_entry_t *g = raft_get_entry_from_idx(r, 1);
    ASSERT(calls.get > before);
    ASSERT_EQ(1, calls.last_get_idx);
    ASSERT_PTR_EQ(e, g);
    raft_entry_release(g);
    raft_destroy(r);
}

TEST(custom_log_serves_raft_get_current_idx)
{
    raft_server_t *r = raft_new_with_log(&ulog_impl, &log_arg);
    for (int i = 0; i < 3; i++) {
        raft_entry_t *e = raft_entry_new(0);
        e->term = 1;
        raft_append_entry(r, e);
        raft_entry_release(e);
    }
    int before = calls.current_idx;
    ASSERT_EQ(3, raft_get_current_idx(r));
    ASSERT(calls.current_idx > before);
    raft_destroy(r);
}

TEST(custom_log_serves_a_server_that_was_reset_to_a_later_index)
{
    /* Whatever the log says is the server's view: a log whose next index is
     * 11 makes the server's current index 10. */
    raft_server_t *r = raft_new_with_log(&ulog_impl, &log_arg);
    calls.log->first = 11;
    ASSERT_EQ(10, raft_get_current_idx(r));
    raft_destroy(r);
}

TEST(custom_log_pop_entry_reaches_the_log)
{
    raft_server_t *r = raft_new_with_log(&ulog_impl, &log_arg);
    for (int i = 0; i < 2; i++) {
        raft_entry_t *e = raft_entry_new(0);
        e->term = 1;
        raft_append_entry(r, e);
        raft_entry_release(e);
    }
    int before = calls.pop;
    ASSERT_EQ(0, raft_pop_entry(r));
    ASSERT(calls.pop > before);
    ASSERT_EQ(1, calls.log->n);
    raft_destroy(r);
}

TEST(custom_log_is_freed_once_by_raft_destroy)
{
    raft_server_t *r = raft_new_with_log(&ulog_impl, &log_arg);
    raft_entry_t *e = raft_entry_new(0);
    e->term = 1;
    raft_append_entry(r, e);
    ASSERT_EQ(0, calls.free);
    raft_destroy(r);
    ASSERT_EQ(1, calls.free);
    ASSERT_EQ(1, e->refs);
    raft_entry_release(e);
}

static int applied_n;
static int cb_apply(raft_server_t *r, void *ud, raft_entry_t *e, raft_index_t idx)
{
    (void)r; (void)ud; (void)e; (void)idx;
    applied_n++;
    return 0;
}
static int cb_persist(raft_server_t *r, void *ud, raft_term_t t, raft_node_id_t v)
{
    (void)r; (void)ud; (void)t; (void)v;
    return 0;
}

TEST(custom_log_backs_a_single_node_leader)
{
    raft_server_t *r = raft_new_with_log(&ulog_impl, &log_arg);
    raft_cbs_t cbs;
    memset(&cbs, 0, sizeof(cbs));
    cbs.applylog = cb_apply;
    cbs.persist_metadata = cb_persist;
    raft_set_callbacks(r, &cbs, NULL);
    raft_add_node(r, NULL, 1, 1);
    ASSERT_EQ(0, raft_periodic(r));
    ASSERT(raft_is_leader(r));
    raft_entry_t *e = raft_entry_new(1);
    raft_entry_resp_t resp;
    ASSERT_EQ(0, raft_recv_entry(r, e, &resp));
    raft_entry_release(e);
    /* The no-op of the new term and our entry are both in the user log. */
    ASSERT_EQ(2, calls.log->n);
    ASSERT_EQ(2, resp.idx);
    ASSERT_EQ(2, raft_get_commit_idx(r));
    ASSERT_EQ(2, applied_n);
    ASSERT(calls.sync >= 1); /* auto flush syncs the log */
    raft_destroy(r);
}

TEST_MAIN()
