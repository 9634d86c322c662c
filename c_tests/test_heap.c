/* Heap hooks: raft_set_heap_functions, and the raft_malloc/raft_calloc/
 * raft_realloc/raft_free variables. */
#include "raft.h"
#include "test.h"

/* The hooks are exported variables (compat data symbols). Declared here with
 * the contract's types; identical to raft_compat.h's declarations. */
extern void *(*raft_malloc)(size_t size);
extern void *(*raft_calloc)(size_t nmemb, size_t size);
extern void *(*raft_realloc)(void *ptr, size_t size);
extern void (*raft_free)(void *ptr);

/* Counting allocator: remembers every live block so that a double free or a
 * free of a block it never handed out is caught. */
#define MAX_LIVE 65536
static void *live[MAX_LIVE];
static int n_live;
static long n_allocs, n_frees, n_double_or_foreign;

static void track(void *p)
{
    if (!p)
        return;
    n_allocs++;
    if (n_live < MAX_LIVE)
        live[n_live++] = p;
}

static int untrack(void *p)
{
    for (int i = n_live - 1; i >= 0; i--) {
        if (live[i] == p) {
            live[i] = live[--n_live];
            return 1;
        }
    }
    return 0;
}

static void *c_malloc(size_t n) { void *p = malloc(n); track(p); return p; }
static void *c_calloc(size_t a, size_t b) { void *p = calloc(a, b); track(p); return p; }
static void *c_realloc(void *p, size_t n)
{
    if (p && !untrack(p))
        n_double_or_foreign++;
    void *q = realloc(p, n);
    if (!q && n && p)
        track(p); /* realloc failed: the old block is still live */
    else
        track(q);
    if (p)
        n_frees++;
    return q;
}
static void c_free(void *p)
{
    if (!p)
        return;
    n_frees++;
    if (!untrack(p))
        n_double_or_foreign++;
    else
        free(p);
}

static void install_counting_heap(void)
{
    raft_set_heap_functions(c_malloc, c_calloc, c_realloc, c_free);
}

TEST(heap_hooks_default_to_working_libc_functions)
{
    ASSERT(raft_malloc != NULL);
    ASSERT(raft_calloc != NULL);
    ASSERT(raft_realloc != NULL);
    ASSERT(raft_free != NULL);
    /* Default hooks are libc's: a block from one side can be freed by the
     * other, which is what hand-built entries rely on. */
    void *p = raft_malloc(32);
    ASSERT(p != NULL);
    free(p);
    p = malloc(32);
    raft_free(p);
    p = raft_calloc(4, 8);
    ASSERT(p != NULL);
    for (int i = 0; i < 32; i++)
        ASSERT_EQ(0, ((unsigned char *)p)[i]);
    p = raft_realloc(p, 64);
    ASSERT(p != NULL);
    raft_free(p);
}

TEST(heap_set_functions_stores_them_in_the_exported_variables)
{
    install_counting_heap();
    ASSERT(raft_malloc == c_malloc);
    ASSERT(raft_calloc == c_calloc);
    ASSERT(raft_realloc == c_realloc);
    ASSERT(raft_free == c_free);
    void *p = raft_malloc(10);
    ASSERT_EQ(1, n_allocs);
    raft_free(p);
    ASSERT_EQ(1, n_frees);
    ASSERT_EQ(0, n_live);
}

TEST(heap_entry_new_allocates_through_the_hooks)
{
    install_counting_heap();
    raft_entry_t *e = raft_entry_new(100);
    ASSERT(e != NULL);
    ASSERT_EQ(1, n_allocs);
    ASSERT_EQ(1, n_live);
    raft_entry_release(e);
    ASSERT_EQ(1, n_frees);
    ASSERT_EQ(0, n_live);
    ASSERT_EQ(0, n_double_or_foreign);
}

static int applied;
static int cb_apply(raft_server_t *r, void *ud, raft_entry_t *e, raft_index_t idx)
{
    (void)r; (void)ud; (void)e; (void)idx;
    applied++;
    return 0;
}
static int cb_persist(raft_server_t *r, void *ud, raft_term_t t, raft_node_id_t v)
{
    (void)r; (void)ud; (void)t; (void)v;
    return 0;
}
static int cb_send_ae(raft_server_t *r, void *ud, raft_node_t *n, raft_appendentries_req_t *m)
{
    (void)r; (void)ud; (void)n; (void)m;
    return 0;
}
static int cb_send_rv(raft_server_t *r, void *ud, raft_node_t *n, raft_requestvote_req_t *m)
{
    (void)r; (void)ud; (void)n; (void)m;
    return 0;
}

/* A whole server life: every block handed out by the hooks is handed back
 * exactly once, and nothing the hooks never allocated is freed by them. */
TEST(heap_every_allocation_is_freed_exactly_once_after_destroy)
{
    install_counting_heap();
    raft_server_t *r = raft_new();
    ASSERT(r != NULL);
    raft_cbs_t cbs;
    memset(&cbs, 0, sizeof(cbs));
    cbs.applylog = cb_apply;
    cbs.persist_metadata = cb_persist;
    cbs.send_appendentries = cb_send_ae;
    cbs.send_requestvote = cb_send_rv;
    raft_set_callbacks(r, &cbs, NULL);
    ASSERT(raft_add_node(r, NULL, 1, 1) != NULL);
    ASSERT_EQ(0, raft_periodic(r));
    ASSERT(raft_is_leader(r));
    for (int i = 0; i < 20; i++) {
        raft_entry_t *e = raft_entry_new(16);
        raft_entry_resp_t resp;
        ASSERT_EQ(0, raft_recv_entry(r, e, &resp));
        raft_entry_release(e);
    }
    ASSERT(raft_add_non_voting_node(r, NULL, 2, 0) != NULL);
    raft_entry_t *got = raft_get_entry_from_idx(r, 2);
    ASSERT(got != NULL);
    raft_entry_release(got);
    ASSERT(n_allocs >= 20); /* the entries at least went through the hooks */
    raft_destroy(r);
    ASSERT_EQ(0, n_live);
    ASSERT_EQ(0, n_double_or_foreign);
    ASSERT_EQ(n_allocs, n_frees);
}

TEST(heap_entries_outlive_the_server_while_held)
{
    install_counting_heap();
    raft_server_t *r = raft_new();
    raft_entry_t *e = raft_entry_new(8);
    e->term = 1;
    ASSERT_EQ(0, raft_append_entry(r, e));
    raft_destroy(r);
    /* We still hold our reference, so the entry is alive. */
    ASSERT_EQ(1, e->refs);
    raft_entry_release(e);
    ASSERT_EQ(0, n_live);
    ASSERT_EQ(0, n_double_or_foreign);
}

TEST(heap_restoring_libc_functions_works)
{
    install_counting_heap();
    void *p = raft_malloc(4);
    raft_free(p);
    raft_set_heap_functions(malloc, calloc, realloc, free);
    long before = n_allocs;
    raft_entry_t *e = raft_entry_new(4);
    raft_entry_release(e);
    ASSERT_EQ(before, n_allocs);
}

TEST_MAIN()
