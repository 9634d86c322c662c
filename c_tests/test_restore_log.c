/* raft_restore_log: on restart, a log implementation that loaded its
 * entries from disk by itself hands them to a new server; raft_restore_log
 * lets the configuration entries among them take effect (restart order:
 * raft_restore_snapshot, raft_restore_log, raft_restore_metadata). */
#include "raft.h"
#include "test.h"

/* A log implementation that may be filled before raft_new_with_log, as a
 * program's disk-backed log is after reading its file. */
struct dlog {
    raft_index_t base; /* index before entries[0] */
    raft_term_t base_term;
    raft_entry_t *e[64];
    raft_index_t n;
    int appends, gets, gets_at_or_below_base;
};

static void *d_init(void *raft, void *arg)
{
    (void)raft;
    return arg;
}

static void d_free(void *log)
{
    struct dlog *l = log;
    raft_entry_release_list(l->e, (size_t)l->n);
    l->n = 0;
}

static void d_reset(void *log, raft_index_t first_idx, raft_term_t term)
{
    struct dlog *l = log;
    raft_entry_release_list(l->e, (size_t)l->n);
    l->n = 0;
    l->base = first_idx - 1;
    l->base_term = term;
}

static int d_append(void *log, raft_entry_t *e)
{
    struct dlog *l = log;
    l->appends++;
    if (l->n == 64)
        return RAFT_ERR_NOMEM;
    raft_entry_hold(e);
    l->e[l->n++] = e;
    return 0;
}

static int d_poll(void *log, raft_index_t first_idx)
{
    struct dlog *l = log;
    while (l->n > 0 && l->base + 1 < first_idx) {
        raft_entry_release(l->e[0]);
        memmove(l->e, l->e + 1, (size_t)(l->n - 1) * sizeof(l->e[0]));
        l->n--;
        l->base++;
    }
    return 0;
}

static int d_pop(void *log, raft_index_t from_idx, raft_entry_notify_f cb, void *arg)
{
    struct dlog *l = log;
    while (l->n > 0 && l->base + l->n >= from_idx) {
        raft_entry_t *e = l->e[--l->n];
        if (cb)
            cb(arg, e, l->base + l->n + 1);
        raft_entry_release(e);
    }
    return 0;
}

static raft_entry_t *d_get(void *log, raft_index_t idx)
{
    struct dlog *l = log;
    l->gets++;
    if (idx <= l->base)
        l->gets_at_or_below_base++;
    if (idx <= l->base || idx > l->base + l->n)
        return NULL;
    raft_entry_hold(l->e[idx - l->base - 1]);
    return l->e[idx - l->base - 1];
}

static raft_index_t d_get_batch(void *log, raft_index_t idx, raft_index_t n, raft_entry_t **out)
{
    raft_index_t i = 0;
    for (; i < n; i++) {
        out[i] = d_get(log, idx + i);
        if (!out[i])
            break;
    }
    return i;
}

static raft_index_t d_first_idx(void *log)
{
    return ((struct dlog *)log)->base + 1;
}

static raft_index_t d_current_idx(void *log)
{
    struct dlog *l = log;
    return l->base + l->n;
}

static raft_index_t d_count(void *log)
{
    return ((struct dlog *)log)->n;
}

static int d_sync(void *log)
{
    (void)log;
    return 0;
}

static const raft_log_impl_t dlog_impl = {
    d_init, d_free, d_reset, d_append, d_poll, d_pop, d_get, d_get_batch,
    d_first_idx, d_current_idx, d_count, d_sync,
};

/* Entries carry the node id a configuration change names in data. */
static raft_entry_t *ety(raft_term_t term, int type, raft_node_id_t id)
{
    raft_entry_t *e = raft_entry_new(sizeof(id));
    e->term = term;
    e->type = (short)type;
    memcpy(e->data, &id, sizeof(id));
    return e;
}

static void put(struct dlog *l, raft_term_t term, int type, raft_node_id_t id)
{
    raft_entry_t *e = ety(term, type, id);
    l->e[l->n++] = e; /* the log keeps the creation reference */
}

static struct events {
    int adds, removes, applied, persists;
} ev;

static raft_node_id_t get_node_id(raft_server_t *r, void *ud, raft_entry_t *e, raft_index_t idx)
{
    (void)r, (void)ud, (void)idx;
    raft_node_id_t id;
    memcpy(&id, e->data, sizeof(id));
    return id;
}

static void membership(raft_server_t *r, void *ud, raft_node_t *n, raft_entry_t *e, raft_membership_e t)
{
    (void)r, (void)ud, (void)n, (void)e;
    if (t == RAFT_MEMBERSHIP_ADD)
        ev.adds++;
    else
        ev.removes++;
}

static int applylog(raft_server_t *r, void *ud, raft_entry_t *e, raft_index_t idx)
{
    (void)r, (void)ud, (void)e, (void)idx;
    ev.applied++;
    return 0;
}

static int persist(raft_server_t *r, void *ud, raft_term_t term, raft_node_id_t vote)
{
    (void)r, (void)ud, (void)term, (void)vote;
    ev.persists++;
    return 0;
}

static int send_ae(raft_server_t *r, void *ud, raft_node_t *n, raft_appendentries_req_t *m)
{
    (void)r, (void)ud, (void)n, (void)m;
    return 0;
}

static int send_rv(raft_server_t *r, void *ud, raft_node_t *n, raft_requestvote_req_t *m)
{
    (void)r, (void)ud, (void)n, (void)m;
    return 0;
}

static raft_server_t *server_on(struct dlog *l)
{
    raft_cbs_t cbs;
    memset(&cbs, 0, sizeof(cbs));
    cbs.get_node_id = get_node_id;
    cbs.notify_membership_event = membership;
    cbs.applylog = applylog;
    cbs.persist_metadata = persist;
    cbs.send_appendentries = send_ae;
    cbs.send_requestvote = send_rv;
    raft_server_t *r = raft_new_with_log(&dlog_impl, l);
    ASSERT(r != NULL);
    raft_set_callbacks(r, &cbs, NULL);
    memset(&ev, 0, sizeof(ev));
    return r;
}

TEST(restore_log_adds_the_nodes_the_log_names_and_marks_the_pending_voting_change)
{
    static struct dlog l;
    memset(&l, 0, sizeof(l));
    put(&l, 1, RAFT_LOGTYPE_ADD_NODE, 1);
    put(&l, 1, RAFT_LOGTYPE_NO_OP, 0);
    put(&l, 1, RAFT_LOGTYPE_ADD_NONVOTING_NODE, 2);
    put(&l, 1, RAFT_LOGTYPE_ADD_NODE, 2);
    put(&l, 2, RAFT_LOGTYPE_NORMAL, 0);
    put(&l, 2, RAFT_LOGTYPE_ADD_NONVOTING_NODE, 3);
    raft_server_t *r = server_on(&l);
    ASSERT(raft_add_non_voting_node(r, NULL, 1, 1) != NULL);
    ASSERT_EQ(6, raft_get_current_idx(r));
    ev.adds = 0;

    ASSERT_EQ(0, raft_restore_log(r));
    ASSERT_EQ(0, l.appends); /* nothing was appended again */
    ASSERT_EQ(6, raft_get_current_idx(r));
    ASSERT_EQ(3, raft_get_num_nodes(r));
    ASSERT_EQ(2, raft_get_num_voting_nodes(r));
    ASSERT(raft_node_is_voting(raft_get_my_node(r)));
    ASSERT(raft_node_is_voting(raft_get_node(r, 2)));
    ASSERT(!raft_node_is_voting(raft_get_node(r, 3)));
    ASSERT(raft_node_is_active(raft_get_node(r, 3)));
    ASSERT_EQ(2, ev.adds); /* nodes 2 and 3 */
    /* entry 4 (ADD_NODE 2) is not known to be committed */
    ASSERT_EQ(1, raft_voting_change_is_in_progress(r));
    ASSERT_EQ(0, ev.applied);

    ASSERT_EQ(0, raft_restore_metadata(r, 2, 1));
    ASSERT_EQ(2, raft_get_current_term(r));
    ASSERT_EQ(1, raft_get_voted_for(r));
    raft_destroy(r);
}

TEST(restore_log_ignores_what_the_snapshot_covers)
{
    static struct dlog l;
    memset(&l, 0, sizeof(l));
    l.base = 3; /* entries 1..3 are in the snapshot, which names nodes 1, 2 */
    l.base_term = 1;
    put(&l, 1, RAFT_LOGTYPE_NORMAL, 0);
    put(&l, 2, RAFT_LOGTYPE_ADD_NONVOTING_NODE, 4);
    raft_server_t *r = server_on(&l);
    ASSERT(raft_add_node(r, NULL, 1, 1) != NULL);
    ASSERT(raft_add_node(r, NULL, 2, 0) != NULL);
    ASSERT_EQ(0, raft_restore_snapshot(r, 1, 3));
    ASSERT_EQ(0, raft_restore_log(r));
    ASSERT_EQ(0, l.gets_at_or_below_base);
    ASSERT_EQ(3, raft_get_num_nodes(r));
    ASSERT(raft_get_node(r, 4) != NULL);
    ASSERT(!raft_node_is_voting(raft_get_node(r, 4)));
    ASSERT_EQ(0, raft_voting_change_is_in_progress(r));
    ASSERT_EQ(3, raft_get_commit_idx(r));
    ASSERT_EQ(5, raft_get_current_idx(r));
    ASSERT_EQ(0, l.appends);
    raft_destroy(r);
}

/* A single server restarts from its own log: its bootstrap ADD_NODE makes it
 * the only voter again, so it leads on the next periodic. */
TEST(restored_single_server_elects_itself_again)
{
    static struct dlog l;
    memset(&l, 0, sizeof(l));
    put(&l, 1, RAFT_LOGTYPE_ADD_NODE, 7);
    put(&l, 1, RAFT_LOGTYPE_NO_OP, 0);
    put(&l, 1, RAFT_LOGTYPE_NORMAL, 0);
    raft_server_t *r = server_on(&l);
    ASSERT(raft_add_non_voting_node(r, NULL, 7, 1) != NULL);
    ASSERT_EQ(0, raft_get_num_voting_nodes(r));
    ASSERT_EQ(0, raft_restore_log(r));
    ASSERT_EQ(0, raft_restore_metadata(r, 1, 7));
    ASSERT_EQ(1, raft_get_num_voting_nodes(r));
    ASSERT_EQ(0, raft_periodic(r));
    ASSERT(raft_is_leader(r));
    ASSERT_EQ(2, raft_get_current_term(r));
    /* the new term's no-op commits and everything before it is applied */
    ASSERT_EQ(4, raft_get_current_idx(r));
    ASSERT_EQ(4, raft_get_commit_idx(r));
    ASSERT_EQ(4, ev.applied);
    raft_destroy(r);
}

TEST(restore_log_is_refused_once_entries_have_been_applied)
{
    static struct dlog l;
    memset(&l, 0, sizeof(l));
    put(&l, 1, RAFT_LOGTYPE_NORMAL, 0);
    put(&l, 1, RAFT_LOGTYPE_NORMAL, 0);
    raft_server_t *r = server_on(&l);
    ASSERT(raft_add_node(r, NULL, 1, 1) != NULL);
    raft_set_commit_idx(r, 2);
    ASSERT_EQ(0, raft_apply_all(r));
    ASSERT_EQ(2, raft_get_last_applied_idx(r));
    ASSERT_EQ(RAFT_ERR_MISUSE, raft_restore_log(r));
    ASSERT_EQ(RAFT_ERR_MISUSE, raft_restore_log(NULL));
    raft_destroy(r);
}

TEST_MAIN()
