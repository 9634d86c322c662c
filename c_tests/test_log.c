/* The built-in in-memory log: through its raft_log_impl_t vtable
 * (raft_log_internal_impl), through the compat raft_log_* functions, and
 * observed with raft_log_set_callbacks on a server's log. */
#include "raft.h"
#include "raft_compat.h"
#include "test.h"

/* Declared by the contract's raft.h; repeated here (a compatible
 * redeclaration) so that this file still builds while include/raft.h lacks
 * it. test_header.c checks that raft.h itself declares it. */
extern const raft_log_impl_t raft_log_internal_impl;

static int n_freed;
static void count_free(raft_entry_t *e) { n_freed++; free(e); }

static raft_entry_t *mk(raft_term_t term, int id)
{
    raft_entry_t *e = raft_entry_new(4);
    e->term = term;
    e->id = id;
    e->free_func = count_free;
    return e;
}

/* Appends and drops our own reference: the log holds the only one. */
static void append_owned(const raft_log_impl_t *impl, void *log, raft_term_t t, int id)
{
    raft_entry_t *e = mk(t, id);
    ASSERT_EQ(0, impl->append(log, e));
    raft_entry_release(e);
}

static void *impl_new(const raft_log_impl_t *impl, raft_server_t **rp)
{
    *rp = raft_new();
    void *log = impl->init(*rp, NULL);
    ASSERT(log != NULL);
    return log;
}

/* ---------------------------------------------------------------- vtable */

TEST(log_impl_fresh_log_is_empty_and_starts_at_index_one)
{
    const raft_log_impl_t *impl = &raft_log_internal_impl;
    raft_server_t *r;
    void *log = impl_new(impl, &r);
    ASSERT_EQ(1, impl->first_idx(log));
    ASSERT_EQ(0, impl->current_idx(log));
    ASSERT_EQ(0, impl->count(log));
    ASSERT(impl->get(log, 1) == NULL);
    impl->free(log);
    raft_destroy(r);
}

TEST(log_impl_has_every_operation)
{
    const raft_log_impl_t *impl = &raft_log_internal_impl;
    ASSERT(impl->init && impl->free && impl->reset && impl->append &&
           impl->poll && impl->pop && impl->get && impl->get_batch &&
           impl->first_idx && impl->current_idx && impl->count);
}

TEST(log_impl_append_holds_the_entry_and_get_holds_it_again)
{
    const raft_log_impl_t *impl = &raft_log_internal_impl;
    raft_server_t *r;
    void *log = impl_new(impl, &r);
    raft_entry_t *e = mk(1, 10);
    ASSERT_EQ(0, impl->append(log, e));
    ASSERT_EQ(2, e->refs);
    ASSERT_EQ(1, impl->current_idx(log));
    ASSERT_EQ(1, impl->count(log));
    raft_entry_t *g = impl->get(log, 1);
    ASSERT_PTR_EQ(e, g);
    ASSERT_EQ(3, e->refs);
    raft_entry_release(g);
    raft_entry_release(e);
    ASSERT_EQ(1, e->refs);
    impl->free(log);
    ASSERT_EQ(1, n_freed);
    raft_destroy(r);
}

TEST(log_impl_get_outside_the_log_returns_null)
{
    const raft_log_impl_t *impl = &raft_log_internal_impl;
    raft_server_t *r;
    void *log = impl_new(impl, &r);
    append_owned(impl, log, 1, 1);
    ASSERT(impl->get(log, 0) == NULL);
    ASSERT(impl->get(log, 2) == NULL);
    ASSERT(impl->get(log, -1) == NULL);
    impl->free(log);
    raft_destroy(r);
}

TEST(log_impl_get_batch_returns_held_entries_in_order)
{
    const raft_log_impl_t *impl = &raft_log_internal_impl;
    raft_server_t *r;
    void *log = impl_new(impl, &r);
    for (int i = 1; i <= 3; i++)
        append_owned(impl, log, 1, i);
    raft_entry_t *arr[10];
    raft_index_t n = impl->get_batch(log, 1, 10, arr);
    ASSERT_EQ(3, n);
    for (int i = 0; i < 3; i++) {
        ASSERT_EQ(i + 1, arr[i]->id);
        ASSERT_EQ(2, arr[i]->refs);
    }
    raft_entry_release_list(arr, (size_t)n);

    n = impl->get_batch(log, 2, 1, arr);
    ASSERT_EQ(1, n);
    ASSERT_EQ(2, arr[0]->id);
    raft_entry_release_list(arr, (size_t)n);

    n = impl->get_batch(log, 3, 10, arr);
    ASSERT_EQ(1, n);
    ASSERT_EQ(3, arr[0]->id);
    raft_entry_release_list(arr, (size_t)n);

    /* Past the end: nothing fetched (0, or -1 as an error). */
    ASSERT(impl->get_batch(log, 4, 10, arr) <= 0);
    impl->free(log);
    ASSERT_EQ(3, n_freed);
    raft_destroy(r);
}

TEST(log_impl_poll_removes_entries_before_the_given_index)
{
    const raft_log_impl_t *impl = &raft_log_internal_impl;
    raft_server_t *r;
    void *log = impl_new(impl, &r);
    for (int i = 1; i <= 4; i++)
        append_owned(impl, log, 1, i);
    ASSERT_EQ(0, impl->poll(log, 3));
    ASSERT_EQ(2, n_freed);
    ASSERT_EQ(3, impl->first_idx(log));
    ASSERT_EQ(4, impl->current_idx(log));
    ASSERT_EQ(2, impl->count(log));
    ASSERT(impl->get(log, 2) == NULL);
    raft_entry_t *g = impl->get(log, 3);
    ASSERT(g != NULL);
    ASSERT_EQ(3, g->id);
    raft_entry_release(g);
    impl->free(log);
    raft_destroy(r);
}

struct popped { int n; raft_index_t idx[8]; int id[8]; void *arg; };
static void on_pop(void *arg, raft_entry_t *e, raft_index_t idx)
{
    struct popped *p = arg;
    p->arg = arg;
    if (p->n < 8) {
        p->idx[p->n] = idx;
        p->id[p->n] = e->id;
    }
    p->n++;
}

TEST(log_impl_pop_removes_from_the_end_and_calls_back_for_each)
{
    const raft_log_impl_t *impl = &raft_log_internal_impl;
    raft_server_t *r;
    void *log = impl_new(impl, &r);
    for (int i = 1; i <= 4; i++)
        append_owned(impl, log, 1, i);
    struct popped p;
    memset(&p, 0, sizeof(p));
    ASSERT_EQ(0, impl->pop(log, 3, on_pop, &p));
    ASSERT_EQ(2, p.n);
    ASSERT_PTR_EQ(&p, p.arg);
    /* Order of the callbacks is left open; both entries are named. */
    ASSERT_EQ(7, p.idx[0] + p.idx[1]);
    ASSERT_EQ(7, p.id[0] + p.id[1]);
    ASSERT_EQ(2, n_freed);
    ASSERT_EQ(2, impl->current_idx(log));
    ASSERT_EQ(2, impl->count(log));
    ASSERT(impl->get(log, 3) == NULL);
    /* Without a callback. */
    ASSERT_EQ(0, impl->pop(log, 2, NULL, NULL));
    ASSERT_EQ(1, impl->current_idx(log));
    impl->free(log);
    raft_destroy(r);
}

TEST(log_impl_reset_empties_the_log_and_sets_the_next_index)
{
    const raft_log_impl_t *impl = &raft_log_internal_impl;
    raft_server_t *r;
    void *log = impl_new(impl, &r);
    for (int i = 1; i <= 3; i++)
        append_owned(impl, log, 1, i);
    impl->reset(log, 10, 5);
    ASSERT_EQ(3, n_freed);
    ASSERT_EQ(0, impl->count(log));
    ASSERT_EQ(10, impl->first_idx(log));
    ASSERT_EQ(9, impl->current_idx(log));
    append_owned(impl, log, 6, 100);
    ASSERT_EQ(10, impl->current_idx(log));
    raft_entry_t *g = impl->get(log, 10);
    ASSERT(g != NULL);
    ASSERT_EQ(100, g->id);
    raft_entry_release(g);
    impl->free(log);
    raft_destroy(r);
}

TEST(log_impl_sync_succeeds_when_provided)
{
    const raft_log_impl_t *impl = &raft_log_internal_impl;
    raft_server_t *r;
    void *log = impl_new(impl, &r);
    append_owned(impl, log, 1, 1);
    if (impl->sync)
        ASSERT_EQ(0, impl->sync(log));
    impl->free(log);
    raft_destroy(r);
}

TEST(log_impl_free_releases_every_entry)
{
    const raft_log_impl_t *impl = &raft_log_internal_impl;
    raft_server_t *r;
    void *log = impl_new(impl, &r);
    for (int i = 1; i <= 50; i++)
        append_owned(impl, log, 1, i);
    ASSERT_EQ(50, impl->count(log));
    impl->free(log);
    ASSERT_EQ(50, n_freed);
    raft_destroy(r);
}

TEST(log_impl_keeps_many_entries_across_growth_and_wraparound)
{
    const raft_log_impl_t *impl = &raft_log_internal_impl;
    raft_server_t *r;
    void *log = impl_new(impl, &r);
    int next = 1;
    for (int round = 0; round < 20; round++) {
        for (int i = 0; i < 37; i++)
            append_owned(impl, log, 1, next++);
        ASSERT_EQ(0, impl->poll(log, impl->current_idx(log) - 5));
    }
    ASSERT_EQ(next - 1, impl->current_idx(log));
    for (raft_index_t i = impl->first_idx(log); i <= impl->current_idx(log); i++) {
        raft_entry_t *g = impl->get(log, i);
        ASSERT(g != NULL);
        ASSERT_EQ(i, g->id);
        raft_entry_release(g);
    }
    impl->free(log);
    ASSERT_EQ(next - 1, n_freed);
    raft_destroy(r);
}

/* ---------------------------------------------------------------- compat */

/* The seed library's raft_log_append_entry took over the caller's reference
 * (only the vtable's append held one of its own). Either convention is
 * accepted here: give() leaves the log with exactly one reference and the
 * caller with none, so the counts below hold for both. */
static void give(raft_log_t *l, raft_entry_t *e)
{
    unsigned short before = e->refs;
    ASSERT_EQ(0, raft_log_append_entry(l, e));
    if (e->refs == before + 1)
        raft_entry_release(e); /* the log held its own: drop ours */
    else
        ASSERT_EQ(before, e->refs);
}

TEST(log_compat_new_log_is_empty)
{
    raft_log_t *l = raft_log_new();
    ASSERT(l != NULL);
    ASSERT_EQ(0, raft_log_count(l));
    ASSERT_EQ(0, raft_log_get_current_idx(l));
    ASSERT_EQ(0, raft_log_get_base(l));
    ASSERT(raft_log_get_at_idx(l, 1) == NULL);
    ASSERT(raft_log_peektail(l) == NULL);
    raft_log_free(l);
}

TEST(log_compat_append_and_get_lend_entries)
{
    raft_log_t *l = raft_log_new();
    raft_entry_t *e[3];
    for (int i = 0; i < 3; i++) {
        e[i] = mk(1, i + 1);
        raft_entry_hold(e[i]); /* ours, kept across the test */
        give(l, e[i]);
        ASSERT_EQ(2, e[i]->refs);
    }
    ASSERT_EQ(3, raft_log_count(l));
    ASSERT_EQ(3, raft_log_get_current_idx(l));
    /* get_at_idx and get_from_idx lend; they take no reference. */
    ASSERT_PTR_EQ(e[1], raft_log_get_at_idx(l, 2));
    ASSERT_EQ(2, e[1]->refs);
    long n = 0;
    raft_entry_t **run = raft_log_get_from_idx(l, 1, &n);
    ASSERT(run != NULL);
    ASSERT_EQ(3, n);
    ASSERT_PTR_EQ(e[0], run[0]);
    ASSERT_PTR_EQ(e[2], run[2]);
    ASSERT_EQ(2, e[0]->refs);
    run = raft_log_get_from_idx(l, 3, &n);
    ASSERT_EQ(1, n);
    ASSERT_PTR_EQ(e[2], run[0]);
    ASSERT_PTR_EQ(e[2], raft_log_peektail(l));
    /* Freeing the log releases its references (the seed library leaked
     * them; libraft does better). */
    raft_log_free(l);
    for (int i = 0; i < 3; i++) {
        ASSERT_EQ(1, e[i]->refs);
        raft_entry_release(e[i]);
    }
    ASSERT_EQ(3, n_freed);
}

TEST(log_compat_poll_removes_the_oldest_entry)
{
    raft_log_t *l = raft_log_new();
    raft_entry_t *a = mk(1, 1), *b = mk(1, 2);
    raft_entry_hold(a);
    raft_entry_hold(b);
    give(l, a);
    give(l, b);
    raft_entry_t *out = NULL;
    ASSERT_EQ(0, raft_log_poll(l, &out));
    ASSERT_PTR_EQ(a, out);
    ASSERT_EQ(1, a->refs); /* the log's reference is gone, ours is left */
    ASSERT_EQ(1, raft_log_count(l));
    ASSERT_EQ(1, raft_log_get_base(l));
    ASSERT_EQ(2, raft_log_get_current_idx(l));
    ASSERT(raft_log_get_at_idx(l, 1) == NULL);
    ASSERT_PTR_EQ(b, raft_log_get_at_idx(l, 2));
    ASSERT_EQ(0, raft_log_poll(l, &out));
    ASSERT_PTR_EQ(b, out);
    ASSERT_EQ(1, b->refs);
    /* Nothing left to poll. */
    ASSERT(raft_log_poll(l, &out) != 0);
    raft_log_free(l);
    raft_entry_release(a);
    raft_entry_release(b);
    ASSERT_EQ(2, n_freed);
}

TEST(log_compat_delete_removes_the_index_and_everything_after)
{
    raft_log_t *l = raft_log_new();
    for (int i = 1; i <= 5; i++)
        give(l, mk(1, i));
    ASSERT_EQ(0, raft_log_delete(l, 3));
    ASSERT_EQ(3, n_freed);
    ASSERT_EQ(2, raft_log_count(l));
    ASSERT_EQ(2, raft_log_get_current_idx(l));
    ASSERT_EQ(2, raft_log_peektail(l)->id);
    raft_log_free(l);
    ASSERT_EQ(5, n_freed);
}

TEST(log_compat_load_from_snapshot_moves_the_base)
{
    raft_log_t *l = raft_log_new();
    give(l, mk(1, 1));
    ASSERT_EQ(0, raft_log_load_from_snapshot(l, 10, 3));
    ASSERT_EQ(0, raft_log_count(l));
    ASSERT_EQ(10, raft_log_get_base(l));
    ASSERT_EQ(10, raft_log_get_current_idx(l));
    give(l, mk(3, 11));
    ASSERT_EQ(11, raft_log_get_current_idx(l));
    ASSERT_EQ(11, raft_log_get_at_idx(l, 11)->id);
    raft_log_free(l);
    ASSERT_EQ(2, n_freed);
}

/* raft_log_clear: "drop every entry, keep the base" (compat-symbols.txt;
 * the seed library reset the base to 0, the contract says keep it). */
TEST(log_compat_clear_drops_entries_and_keeps_the_base)
{
    raft_log_t *l = raft_log_new();
    raft_log_load_from_snapshot(l, 4, 1);
    raft_entry_t *e = mk(1, 5);
    raft_entry_hold(e);
    give(l, e);
    raft_log_clear(l);
    ASSERT_EQ(0, raft_log_count(l));
    ASSERT_EQ(4, raft_log_get_base(l));
    ASSERT_EQ(4, raft_log_get_current_idx(l));
    raft_log_free(l);
    ASSERT_EQ(1, e->refs); /* no reference leaked by clear + free */
    raft_entry_release(e);
}

static int n_cleared;
static raft_index_t cleared_idx_sum;
static int lcb_count_clear(raft_server_t *r, void *ud, raft_entry_t *e, raft_index_t idx)
{
    (void)r; (void)ud; (void)e;
    n_cleared++;
    cleared_idx_sum += idx;
    return 0;
}

/* The log_clear callback sees each entry once (the seed library's loop ran
 * one past the end). */
TEST(log_compat_clear_entries_calls_log_clear_once_per_entry)
{
    raft_log_t *l = raft_log_new();
    raft_log_cbs_t cbs;
    memset(&cbs, 0, sizeof(cbs));
    cbs.log_clear = lcb_count_clear;
    raft_log_set_callbacks(l, &cbs, NULL);
    for (int i = 1; i <= 3; i++)
        give(l, mk(1, i));
    raft_log_clear_entries(l);
    ASSERT_EQ(3, n_cleared);
    ASSERT_EQ(1 + 2 + 3, cleared_idx_sum);
    raft_log_free(l);
    ASSERT_EQ(3, n_freed);
}

TEST(log_compat_empty_drops_every_entry)
{
    raft_log_t *l = raft_log_new();
    raft_entry_t *e = mk(1, 1);
    raft_entry_hold(e);
    give(l, e);
    raft_log_empty(l);
    ASSERT_EQ(0, raft_log_count(l));
    raft_log_free(l);
    ASSERT_EQ(1, e->refs); /* no reference leaked by empty + free */
    raft_entry_release(e);
}

TEST(log_compat_alloc_grows_past_its_initial_size)
{
    raft_log_t *l = raft_log_alloc(2);
    ASSERT(l != NULL);
    for (int i = 1; i <= 100; i++)
        give(l, mk(1, i));
    ASSERT_EQ(100, raft_log_count(l));
    for (int i = 1; i <= 100; i++)
        ASSERT_EQ(i, raft_log_get_at_idx(l, i)->id);
    raft_log_free(l);
    ASSERT_EQ(100, n_freed);
}

TEST(log_compat_functions_accept_a_servers_log)
{
    raft_server_t *r = raft_new();
    raft_log_t *l = raft_get_log(r);
    ASSERT(l != NULL);
    raft_entry_t *e = mk(1, 7);
    ASSERT_EQ(0, raft_append_entry(r, e));
    raft_entry_release(e);
    ASSERT_EQ(1, raft_log_count(l));
    ASSERT_EQ(1, raft_log_get_current_idx(l));
    ASSERT_EQ(7, raft_log_get_at_idx(l, 1)->id);
    raft_destroy(r);
    ASSERT_EQ(1, n_freed);
}

/* ------------------------------------------------------- log callbacks */

struct seen {
    int offer, poll, pop, clear;
    raft_server_t *raft;
    void *udata;
    raft_index_t last_idx;
    raft_entry_t *last_entry;
    int offer_rc;
};
static struct seen seen;

static int lcb_offer(raft_server_t *r, void *ud, raft_entry_t *e, raft_index_t idx)
{
    seen.offer++; seen.raft = r; seen.udata = ud; seen.last_idx = idx; seen.last_entry = e;
    return seen.offer_rc;
}
static int lcb_poll(raft_server_t *r, void *ud, raft_entry_t *e, raft_index_t idx)
{
    seen.poll++; seen.raft = r; seen.udata = ud; seen.last_idx = idx; seen.last_entry = e;
    return 0;
}
static int lcb_pop(raft_server_t *r, void *ud, raft_entry_t *e, raft_index_t idx)
{
    seen.pop++; seen.raft = r; seen.udata = ud; seen.last_idx = idx; seen.last_entry = e;
    return 0;
}
static int lcb_clear(raft_server_t *r, void *ud, raft_entry_t *e, raft_index_t idx)
{
    seen.clear++; seen.raft = r; seen.udata = ud; seen.last_idx = idx; seen.last_entry = e;
    return 0;
}

static int udata_marker;

static raft_server_t *server_with_log_cbs(void)
{
    raft_server_t *r = raft_new();
    raft_cbs_t cbs;
    memset(&cbs, 0, sizeof(cbs));
    raft_set_callbacks(r, &cbs, &udata_marker);
    /* A temporary: raft_log_set_callbacks copies it. */
    raft_log_cbs_t lcbs;
    memset(&lcbs, 0, sizeof(lcbs));
    lcbs.log_offer = lcb_offer;
    lcbs.log_poll = lcb_poll;
    lcbs.log_pop = lcb_pop;
    lcbs.log_clear = lcb_clear;
    raft_log_set_callbacks(raft_get_log(r), &lcbs, r);
    memset(&lcbs, 0xff, sizeof(lcbs));
    return r;
}

TEST(log_callbacks_see_offer_on_raft_append_entry)
{
    raft_server_t *r = server_with_log_cbs();
    raft_entry_t *e = mk(1, 1);
    ASSERT_EQ(0, raft_append_entry(r, e));
    ASSERT_EQ(1, seen.offer);
    ASSERT_PTR_EQ(r, seen.raft);
    ASSERT_PTR_EQ(&udata_marker, seen.udata);
    ASSERT_EQ(1, seen.last_idx);
    ASSERT_PTR_EQ(e, seen.last_entry);
    raft_entry_release(e);
    e = mk(1, 2);
    ASSERT_EQ(0, raft_append_entry(r, e));
    raft_entry_release(e);
    ASSERT_EQ(2, seen.offer);
    ASSERT_EQ(2, seen.last_idx);
    raft_destroy(r);
}

TEST(log_callbacks_see_pop_on_raft_pop_entry)
{
    raft_server_t *r = server_with_log_cbs();
    raft_entry_t *a = mk(1, 1), *b = mk(1, 2);
    raft_append_entry(r, a);
    raft_append_entry(r, b);
    ASSERT_EQ(0, raft_pop_entry(r));
    ASSERT_EQ(1, seen.pop);
    ASSERT_EQ(2, seen.last_idx);
    ASSERT_PTR_EQ(b, seen.last_entry);
    ASSERT_PTR_EQ(&udata_marker, seen.udata);
    ASSERT_EQ(1, raft_get_current_idx(r));
    ASSERT_EQ(1, b->refs);
    raft_entry_release(a);
    raft_entry_release(b);
    raft_destroy(r);
}

TEST(log_callbacks_see_poll_on_raft_log_poll)
{
    raft_server_t *r = server_with_log_cbs();
    raft_entry_t *a = mk(1, 1), *b = mk(1, 2);
    raft_append_entry(r, a);
    raft_append_entry(r, b);
    raft_entry_t *out = NULL;
    ASSERT_EQ(0, raft_log_poll(raft_get_log(r), &out));
    ASSERT_EQ(1, seen.poll);
    ASSERT_EQ(1, seen.last_idx);
    ASSERT_PTR_EQ(a, seen.last_entry);
    ASSERT_PTR_EQ(a, out);
    raft_entry_release(a);
    raft_entry_release(b);
    raft_destroy(r);
}

TEST(log_callbacks_see_clear_for_every_entry)
{
    raft_server_t *r = server_with_log_cbs();
    for (int i = 1; i <= 3; i++) {
        raft_entry_t *e = mk(1, i);
        raft_append_entry(r, e);
        raft_entry_release(e);
    }
    raft_log_clear_entries(raft_get_log(r));
    ASSERT_EQ(3, seen.clear);
    ASSERT_PTR_EQ(&udata_marker, seen.udata);
    raft_destroy(r);
    ASSERT_EQ(3, n_freed);
}

TEST(log_offer_failure_makes_the_append_fail)
{
    raft_server_t *r = server_with_log_cbs();
    seen.offer_rc = RAFT_ERR_SHUTDOWN;
    raft_entry_t *e = mk(1, 1);
    ASSERT_EQ(RAFT_ERR_SHUTDOWN, raft_append_entry(r, e));
    ASSERT_EQ(1, seen.offer);
    ASSERT_EQ(0, raft_get_current_idx(r));
    ASSERT_EQ(0, raft_get_log_count(r));
    ASSERT_EQ(1, e->refs); /* the log kept no reference */
    seen.offer_rc = 0;
    ASSERT_EQ(0, raft_append_entry(r, e));
    ASSERT_EQ(1, raft_get_current_idx(r));
    raft_entry_release(e);
    raft_destroy(r);
}

TEST_MAIN()
