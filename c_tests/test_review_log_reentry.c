/* The leader asks its log for the term of the index it is about to commit.
 * With a user log (raft_log_impl_t) that is the application's `get`, and
 * the entry's release (its free_func when the log handed out a copy): both
 * may re-enter and change the configuration. The commit must not be worked
 * out with the node list (or this server's own node) borrowed across that
 * call: the change would find it borrowed, and the server would fail for
 * good (every later call refused). */
#include "raft.h"
#include "raft_compat.h"
#include "test.h"

struct ulog {
    raft_index_t first;
    raft_entry_t *entries[64];
    raft_index_t n;
};

static struct {
    raft_server_t *r;
    int reenter;            /* 1: add node 9 from `get`; 2: remove this server's node */
    int reentered;
    raft_msg_id_t last_msg_to_2;
} s;

static void *u_init(void *raft, void *arg) { (void)raft; (void)arg; struct ulog *l = calloc(1, sizeof(*l)); l->first = 1; return l; }
static void u_free(void *log) { struct ulog *l = log; raft_entry_release_list(l->entries, (size_t)l->n); free(l); }
static void u_reset(void *log, raft_index_t first_idx, raft_term_t term)
{
    (void)term;
    struct ulog *l = log;
    raft_entry_release_list(l->entries, (size_t)l->n);
    l->n = 0;
    l->first = first_idx;
}
static int u_append(void *log, raft_entry_t *e)
{
    struct ulog *l = log;
    if (l->n == 64)
        return RAFT_ERR_NOMEM;
    raft_entry_hold(e);
    l->entries[l->n++] = e;
    return 0;
}
static int u_poll(void *log, raft_index_t first_idx) { (void)log; (void)first_idx; return 0; }
static int u_pop(void *log, raft_index_t from_idx, raft_entry_notify_f cb, void *arg)
{
    struct ulog *l = log;
    while (l->n > 0 && l->first + l->n - 1 >= from_idx) {
        if (cb)
            cb(arg, l->entries[l->n - 1], l->first + l->n - 1);
        raft_entry_release(l->entries[--l->n]);
    }
    return 0;
}
static raft_entry_t *u_get(void *log, raft_index_t idx)
{
    struct ulog *l = log;
    if (s.reenter) {
        int what = s.reenter;
        s.reenter = 0;
        s.reentered++;
        if (what == 1)
            ASSERT(raft_add_non_voting_node(s.r, NULL, 9, 0) != NULL);
        else
            raft_remove_node(s.r, raft_get_my_node(s.r));
    }
    if (idx < l->first || idx >= l->first + l->n)
        return NULL;
    raft_entry_hold(l->entries[idx - l->first]);
    return l->entries[idx - l->first];
}
static raft_index_t u_first_idx(void *log) { return ((struct ulog *)log)->first; }
static raft_index_t u_current_idx(void *log) { struct ulog *l = log; return l->first + l->n - 1; }
static raft_index_t u_count(void *log) { return ((struct ulog *)log)->n; }
static int u_sync(void *log) { (void)log; return 0; }

static const raft_log_impl_t ulog_impl = {
    .init = u_init, .free = u_free, .reset = u_reset, .append = u_append, .poll = u_poll,
    .pop = u_pop, .get = u_get, .first_idx = u_first_idx, .current_idx = u_current_idx,
    .count = u_count, .sync = u_sync,
};

static int cb_send_ae(raft_server_t *r, void *ud, raft_node_t *n, raft_appendentries_req_t *m)
{
    (void)r; (void)ud;
    if (raft_node_get_id(n) == 2)
        s.last_msg_to_2 = m->msg_id;
    return 0;
}

/* Node 1 leading {1, 2} in term 1 on the user log; its no-op is entry 1. */
static raft_server_t *leader(void)
{
    memset(&s, 0, sizeof(s));
    raft_server_t *r = raft_new_with_log(&ulog_impl, NULL);
    ASSERT(r != NULL);
    s.r = r;
    raft_cbs_t cbs;
    memset(&cbs, 0, sizeof(cbs));
    cbs.send_appendentries = cb_send_ae;
    raft_set_callbacks(r, &cbs, NULL);
    ASSERT(raft_add_node(r, NULL, 1, 1) != NULL);
    ASSERT(raft_add_node(r, NULL, 2, 0) != NULL);
    ASSERT_EQ(0, raft_set_current_term(r, 1));
    ASSERT_EQ(0, raft_become_leader(r));
    ASSERT_EQ(1, raft_get_current_idx(r));
    return r;
}

static int answer_from_2(raft_server_t *r, raft_index_t idx)
{
    raft_appendentries_resp_t resp = { .msg_id = s.last_msg_to_2, .term = 1, .success = 1, .current_idx = idx };
    return raft_recv_appendentries_response(r, raft_get_node(r, 2), &resp);
}

/* The count of voters was just dropped (a node added), so the answer
 * works the commit index out from every voter's match index. */
TEST(review_a_log_get_adding_a_node_while_the_leader_commits)
{
    raft_server_t *r = leader();
    ASSERT(raft_add_non_voting_node(r, NULL, 3, 0) != NULL);
    s.reenter = 1;
    ASSERT_EQ(0, answer_from_2(r, 1));
    ASSERT_EQ(1, s.reentered);
    ASSERT_EQ(1, raft_get_commit_idx(r));
    ASSERT(raft_get_node(r, 9) != NULL);
    /* The server still works. */
    ASSERT_EQ(4, raft_get_num_nodes(r));
    ASSERT(raft_is_leader(r));
    raft_destroy(r);
}

/* The leader's own flush (auto flush off) makes the majority: the commit
 * is worked out from there, and `get` removes this server's own node. */
TEST(review_a_log_get_removing_this_servers_node_while_its_flush_commits)
{
    raft_server_t *r = leader();
    ASSERT_EQ(0, answer_from_2(r, 1));
    ASSERT_EQ(1, raft_get_commit_idx(r));
    ASSERT_EQ(0, raft_config(r, 1, RAFT_CONFIG_AUTO_FLUSH, 0));
    raft_entry_t *e = raft_entry_new(1);
    ASSERT(e != NULL);
    raft_entry_resp_t er;
    ASSERT_EQ(0, raft_recv_entry(r, e, &er));
    raft_entry_release(e);
    ASSERT_EQ(2, er.idx);
    ASSERT_EQ(0, raft_flush(r, 0));
    ASSERT_EQ(0, answer_from_2(r, 2));
    ASSERT_EQ(1, raft_get_commit_idx(r));
    s.reenter = 2;
    ASSERT_EQ(0, raft_flush(r, 2));
    ASSERT_EQ(1, s.reentered);
    ASSERT(raft_get_my_node(r) == NULL);
    ASSERT_EQ(1, raft_get_num_nodes(r));
    /* The server still answers (it is no longer a member of its own
     * configuration, but nothing refuses the call). */
    ASSERT_EQ(2, raft_get_current_idx(r));
    ASSERT(raft_get_commit_idx(r) >= 1);
    raft_destroy(r);
}

TEST_MAIN()
