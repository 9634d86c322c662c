/* The durable store (raft_store.h): open, bind, restore, close through a
 * real server, with auto flush on and off, background sync, compaction,
 * configuration restored from the log, errors and injected faults. */
#include "raft.h"
#include "raft_compat.h"
#include "raft_store.h"
#include "support/tmpdir.h"
#include "test.h"

#include <errno.h>
#include <poll.h>
#include <stdint.h>
#include <sys/stat.h>

static char *tmpdir(void)
{
    static char buf[64];
    if (!tmpdir_make(buf, sizeof buf, "raft-store-c"))
        FAIL_AT("mkdtemp: %s", strerror(errno));
    return buf;
}

static raft_node_id_t node_id_of(raft_server_t *r, void *ud, raft_entry_t *e, raft_index_t idx)
{
    (void)r, (void)ud, (void)idx;
    int id;
    memcpy(&id, e->data, sizeof id);
    return id;
}

static int applied;
static int applylog(raft_server_t *r, void *ud, raft_entry_t *e, raft_index_t idx)
{
    (void)r, (void)ud, (void)e, (void)idx;
    applied++;
    return 0;
}

static int send_ae(raft_server_t *r, void *ud, raft_node_t *n, raft_appendentries_req_t *m)
{
    (void)r, (void)ud, (void)n, (void)m;
    return 0;
}

static raft_cbs_t cbs(void)
{
    raft_cbs_t c;
    memset(&c, 0, sizeof c);
    c.persist_metadata = raft_store_persist_metadata_cb;
    c.get_node_id = node_id_of;
    c.applylog = applylog;
    c.send_appendentries = send_ae;
    return c;
}

/* Opens the store and a server on it: node 1, plus the nodes the log
 * configures, restored. */
static raft_server_t *start(const char *dir, raft_store_t **st, int auto_flush)
{
    raft_store_options_t o;
    raft_store_options_init(&o);
    o.segment_size = 64 * 1024;
    int rc = raft_store_open(dir, &o, st);
    if (rc != 0)
        FAIL_AT("open: %s: %s", raft_store_strerror(rc), raft_store_last_error());
    raft_server_t *r = raft_store_new_server(*st);
    ASSERT(r != NULL);
    raft_cbs_t c = cbs();
    raft_set_callbacks(r, &c, NULL);
    raft_config(r, 1, RAFT_CONFIG_AUTO_FLUSH, auto_flush);
    raft_add_node(r, NULL, 1, 1); /* as its snapshot or config file says */
    rc = raft_store_restore(*st, r, 0, 0);
    if (rc != 0)
        FAIL_AT("restore: %d %s", rc, raft_store_last_error());
    return r;
}

static void stop(raft_server_t *r, raft_store_t *st)
{
    raft_destroy(r);
    ASSERT_EQ(0, raft_store_close(st));
}

/* The index raft_recv_entry reported for the last proposal (also when the
 * sync after the append failed: the entry is in the log all the same). */
static raft_index_t last_proposed_idx;

static int propose(raft_server_t *r, int i)
{
    raft_entry_req_t *e = raft_entry_new(sizeof(int) + 100);
    memcpy(e->data, &i, sizeof i);
    memset(e->data + sizeof i, 'a' + i % 26, 100);
    raft_entry_resp_t resp;
    memset(&resp, 0, sizeof resp);
    int rc = raft_recv_entry(r, e, &resp);
    raft_entry_release(e);
    last_proposed_idx = resp.idx;
    return rc;
}

static void check_entry(raft_server_t *r, raft_index_t idx, int i)
{
    raft_entry_t *e = raft_get_entry_from_idx(r, idx);
    if (!e)
        FAIL_AT("entry %ld missing", idx);
    int got;
    memcpy(&got, e->data, sizeof got);
    ASSERT_EQ(i, got);
    ASSERT_EQ(sizeof(int) + 100, e->data_len);
    ASSERT_EQ('a' + i % 26, e->data[sizeof(int) + 99]);
    raft_entry_release(e);
}

static void become_leader(raft_server_t *r)
{
    raft_periodic_internal(r, 3000);
    ASSERT(raft_is_leader(r));
}

TEST(store_open_bind_restore_close_with_auto_flush_on)
{
    char *dir = tmpdir();
    raft_store_t *st;
    raft_server_t *r = start(dir, &st, 1);
    become_leader(r); /* term 1, the no-op at 1 */
    for (int i = 0; i < 50; i++)
        ASSERT_EQ(0, propose(r, i));
    ASSERT_EQ(51, raft_get_current_idx(r));
    ASSERT_EQ(51, raft_store_synced_idx(st)); /* every recv_entry synced */
    ASSERT_EQ(51, raft_get_commit_idx(r));
    raft_term_t term = raft_get_current_term(r);
    stop(r, st);

    r = start(dir, &st, 1);
    ASSERT_EQ(51, raft_get_current_idx(r));
    ASSERT_EQ(term, raft_get_current_term(r));
    ASSERT_EQ(1, raft_get_voted_for(r));
    for (int i = 0; i < 50; i++)
        check_entry(r, 2 + i, i);
    /* It goes on: a new election (a later term) and more entries. */
    become_leader(r);
    ASSERT(raft_get_current_term(r) > term);
    ASSERT_EQ(0, propose(r, 77));
    stop(r, st);
    r = start(dir, &st, 1);
    check_entry(r, 53, 77);
    stop(r, st);
    tmpdir_remove(dir);
}

TEST(store_group_commit_with_auto_flush_off_uses_one_fsync_per_flush)
{
    char *dir = tmpdir();
    raft_store_t *st;
    raft_server_t *r = start(dir, &st, 0);
    become_leader(r);
    for (int round = 0; round < 5; round++) {
        for (int i = 0; i < 64; i++)
            ASSERT_EQ(0, propose(r, round * 64 + i));
        raft_index_t idx = raft_get_index_to_sync(r);
        ASSERT_EQ(raft_get_current_idx(r), idx);
        unsigned long before = raft_store_fsync_count(st);
        ASSERT_EQ(0, raft_store_sync(st));
        ASSERT_EQ(before + 1, raft_store_fsync_count(st));
        ASSERT_EQ(0, raft_flush(r, idx));
        ASSERT_EQ(idx, raft_get_commit_idx(r));
    }
    ASSERT_EQ(321, raft_store_synced_idx(st));
    stop(r, st);
    r = start(dir, &st, 0);
    ASSERT_EQ(321, raft_get_current_idx(r));
    check_entry(r, 321, 319);
    stop(r, st);
    tmpdir_remove(dir);
}

TEST(store_background_sync_completes_through_the_fd)
{
    char *dir = tmpdir();
    raft_store_t *st;
    raft_server_t *r = start(dir, &st, 0);
    become_leader(r);
    int fd = raft_store_sync_fd(st);
    ASSERT(fd >= 0);
    raft_index_t synced = 0;
    ASSERT_EQ(RAFT_STORE_ERR_AGAIN, raft_store_sync_poll(st, &synced));
    for (int round = 0; round < 10; round++) {
        for (int i = 0; i < 10; i++)
            ASSERT_EQ(0, propose(r, i));
        raft_index_t idx = raft_get_index_to_sync(r);
        ASSERT(idx > 0);
        ASSERT_EQ(0, raft_store_sync_start(st));
        /* The loop goes on while the disk works; then the fd says done. */
        struct pollfd p = {.fd = fd, .events = POLLIN};
        int rc = 0;
        do {
            ASSERT_EQ(1, poll(&p, 1, 5000));
            rc = raft_store_sync_poll(st, &synced);
        } while (rc == RAFT_STORE_ERR_AGAIN || synced < idx);
        ASSERT_EQ(0, rc);
        ASSERT_EQ(idx, synced);
        ASSERT_EQ(0, raft_flush(r, synced));
        ASSERT_EQ(idx, raft_get_commit_idx(r));
    }
    ASSERT_EQ(0, raft_store_sync_wait(st, &synced));
    ASSERT_EQ(raft_get_current_idx(r), synced);
    stop(r, st);
    tmpdir_remove(dir);
}

TEST(store_follower_appends_are_synced_before_it_answers)
{
    char *dir = tmpdir();
    raft_store_options_t o;
    raft_store_options_init(&o);
    raft_store_t *st;
    ASSERT_EQ(0, raft_store_open(dir, &o, &st));
    raft_server_t *r = raft_store_new_server(st);
    raft_cbs_t c = cbs();
    raft_set_callbacks(r, &c, NULL);
    raft_config(r, 1, RAFT_CONFIG_AUTO_FLUSH, 0);
    raft_add_node(r, NULL, 2, 1);
    raft_node_t *leader = raft_add_node(r, NULL, 1, 0);
    ASSERT_EQ(0, raft_store_restore(st, r, 0, 0));

    raft_entry_req_t *es[3];
    for (int i = 0; i < 3; i++) {
        es[i] = raft_entry_new(sizeof(int) + 100);
        es[i]->term = 1;
        memcpy(es[i]->data, &i, sizeof i);
        memset(es[i]->data + sizeof i, 'a' + i, 100);
    }
    raft_appendentries_req_t ae;
    memset(&ae, 0, sizeof ae);
    ae.leader_id = 1;
    ae.term = 1;
    ae.msg_id = 1;
    ae.n_entries = 3;
    ae.entries = es;
    raft_appendentries_resp_t resp;
    ASSERT_EQ(0, raft_recv_appendentries(r, leader, &ae, &resp));
    ASSERT_EQ(1, resp.success);
    ASSERT_EQ(3, resp.current_idx);
    ASSERT_EQ(3, raft_store_synced_idx(st));
    /* A conflicting entry at 3 from a newer leader: popped, replaced, synced. */
    raft_entry_t *n = raft_entry_new(sizeof(int) + 100);
    n->term = 2;
    int nine = 9;
    memcpy(n->data, &nine, sizeof nine);
    memset(n->data + sizeof nine, 'a' + 9, 100);
    ae.term = 2;
    ae.msg_id = 2;
    ae.prev_log_idx = 2;
    ae.prev_log_term = 1;
    ae.n_entries = 1;
    ae.entries = &n;
    ASSERT_EQ(0, raft_recv_appendentries(r, leader, &ae, &resp));
    ASSERT_EQ(1, resp.success);
    ASSERT_EQ(3, raft_store_synced_idx(st));
    for (int i = 0; i < 3; i++)
        raft_entry_release(es[i]);
    raft_entry_release(n);
    stop(r, st);

    ASSERT_EQ(0, raft_store_open(dir, &o, &st));
    r = raft_store_new_server(st);
    raft_set_callbacks(r, &c, NULL);
    raft_add_node(r, NULL, 2, 1);
    raft_add_node(r, NULL, 1, 0);
    ASSERT_EQ(0, raft_store_restore(st, r, 0, 0));
    ASSERT_EQ(3, raft_get_current_idx(r));
    ASSERT_EQ(2, raft_get_current_term(r));
    check_entry(r, 3, 9);
    raft_entry_t *e = raft_get_entry_from_idx(r, 3);
    ASSERT_EQ(2, e->term);
    raft_entry_release(e);
    stop(r, st);
    tmpdir_remove(dir);
}

TEST(store_restores_the_configuration_from_the_log)
{
    char *dir = tmpdir();
    raft_store_t *st;
    raft_server_t *r = start(dir, &st, 1);
    become_leader(r);
    raft_entry_req_t *e = raft_entry_new(sizeof(int));
    int two = 2;
    memcpy(e->data, &two, sizeof two);
    e->type = RAFT_LOGTYPE_ADD_NONVOTING_NODE;
    raft_entry_resp_t resp;
    ASSERT_EQ(0, raft_recv_entry(r, e, &resp));
    raft_entry_release(e);
    ASSERT_EQ(2, raft_get_num_nodes(r));
    stop(r, st);

    r = start(dir, &st, 1);
    ASSERT_EQ(2, raft_get_num_nodes(r));
    ASSERT(raft_get_node(r, 2) != NULL);
    stop(r, st);
    tmpdir_remove(dir);
}

TEST(store_compaction_keeps_the_snapshot_position_across_restart)
{
    char *dir = tmpdir();
    raft_store_t *st;
    raft_server_t *r = start(dir, &st, 1);
    become_leader(r);
    for (int i = 0; i < 2000; i++)
        ASSERT_EQ(0, propose(r, i));
    ASSERT_EQ(2001, raft_get_last_applied_idx(r));
    ASSERT_EQ(0, raft_begin_snapshot(r));
    ASSERT_EQ(0, raft_end_snapshot(r));
    ASSERT_EQ(2002, raft_store_first_idx(st));
    raft_term_t sterm;
    raft_index_t sidx;
    ASSERT_EQ(0, raft_store_get_snapshot(st, &sterm, &sidx));
    ASSERT_EQ(2001, sidx);
    ASSERT_EQ(raft_get_current_term(r), sterm);
    for (int i = 0; i < 5; i++)
        ASSERT_EQ(0, propose(r, 5000 + i));
    stop(r, st);

    /* The program's snapshot (nodes from it re-added) at the same place. */
    raft_store_options_t o;
    raft_store_options_init(&o);
    ASSERT_EQ(0, raft_store_open(dir, &o, &st));
    r = raft_store_new_server(st);
    raft_cbs_t c = cbs();
    raft_set_callbacks(r, &c, NULL);
    raft_add_node(r, NULL, 1, 1);
    ASSERT_EQ(0, raft_store_restore(st, r, sterm, sidx));
    ASSERT_EQ(2001, raft_get_snapshot_last_idx(r));
    ASSERT_EQ(2006, raft_get_current_idx(r));
    check_entry(r, 2006, 5004);
    ASSERT(raft_get_entry_from_idx(r, 2000) == NULL);
    become_leader(r);
    ASSERT_EQ(0, propose(r, 6000));
    stop(r, st);
    tmpdir_remove(dir);
}

TEST(store_a_newer_program_snapshot_drops_the_entries_it_covers)
{
    char *dir = tmpdir();
    raft_store_t *st;
    raft_server_t *r = start(dir, &st, 1);
    become_leader(r);
    for (int i = 0; i < 10; i++)
        ASSERT_EQ(0, propose(r, i));
    raft_term_t term = raft_get_current_term(r);
    stop(r, st);

    raft_store_options_t o;
    raft_store_options_init(&o);
    ASSERT_EQ(0, raft_store_open(dir, &o, &st));
    r = raft_store_new_server(st);
    raft_cbs_t c = cbs();
    raft_set_callbacks(r, &c, NULL);
    raft_add_node(r, NULL, 1, 1);
    /* Saved a snapshot at 6, crashed before the log was compacted. */
    ASSERT_EQ(0, raft_store_restore(st, r, term, 6));
    ASSERT_EQ(7, raft_store_first_idx(st));
    ASSERT_EQ(6, raft_get_snapshot_last_idx(r));
    ASSERT_EQ(11, raft_get_current_idx(r));
    /* Twice is refused. */
    ASSERT_EQ(RAFT_STORE_ERR_INVALID, raft_store_restore(st, r, 0, 0));
    stop(r, st);
    /* A snapshot older than the log's start is refused. */
    ASSERT_EQ(0, raft_store_open(dir, &o, &st));
    r = raft_store_new_server(st);
    raft_add_node(r, NULL, 1, 1);
    ASSERT_EQ(RAFT_STORE_ERR_INVALID, raft_store_restore(st, r, term, 3));
    ASSERT(strstr(raft_store_last_error(), "older") != NULL);
    stop(r, st);
    tmpdir_remove(dir);
}

TEST(store_bad_calls_get_error_codes)
{
    char *dir = tmpdir();
    raft_store_t *st = (raft_store_t *)1;
    ASSERT_EQ(RAFT_STORE_ERR_INVALID, raft_store_open(NULL, NULL, &st));
    ASSERT(st == NULL);
    ASSERT_EQ(RAFT_STORE_ERR_INVALID, raft_store_open(dir, NULL, NULL));
    raft_store_options_t o;
    raft_store_options_init(&o);
    o.segment_size = 10;
    ASSERT_EQ(RAFT_STORE_ERR_INVALID, raft_store_open(dir, &o, &st));
    ASSERT(strstr(raft_store_last_error(), "segment size") != NULL);
    raft_store_options_init(&o);
    o.flags = 0;
    char missing[128];
    snprintf(missing, sizeof missing, "%s/no/such", dir);
    ASSERT_EQ(RAFT_STORE_ERR_OTHER, raft_store_open(missing, &o, &st));
    ASSERT(strstr(raft_store_last_error(), missing) != NULL);

    ASSERT_EQ(0, raft_store_open(dir, NULL, &st));
    raft_store_t *st2;
    ASSERT_EQ(RAFT_STORE_ERR_LOCKED, raft_store_open(dir, NULL, &st2));
    raft_server_t *r = raft_store_new_server(st);
    ASSERT(r != NULL);
    ASSERT(raft_store_new_server(st) == NULL); /* one server at a time */
    ASSERT_EQ(RAFT_STORE_ERR_INVALID, raft_store_close(st));
    ASSERT_EQ(RAFT_STORE_ERR_INVALID, raft_store_restore(st, NULL, 0, 0));
    ASSERT_EQ(RAFT_STORE_ERR_INVALID, raft_store_persist_metadata_cb(NULL, NULL, 1, 1));
    ASSERT_EQ(RAFT_STORE_ERR_INVALID, raft_store_sync(NULL));
    ASSERT_EQ(RAFT_STORE_ERR_INVALID, raft_store_inject_fault(st, 1, 99, 0, 0, 0));
    ASSERT_EQ(0, raft_store_current_idx(NULL));
    ASSERT_EQ(-1, raft_store_sync_fd(NULL));
    ASSERT_EQ(0, raft_store_close(NULL));
    ASSERT(strlen(raft_store_strerror(RAFT_STORE_ERR_CORRUPT)) > 0);
    ASSERT_STR_EQ(raft_get_error_str(RAFT_ERR_NOT_LEADER), raft_store_strerror(RAFT_ERR_NOT_LEADER));
    raft_destroy(r);
    ASSERT_EQ(0, raft_store_close(st));
    tmpdir_remove(dir);
}

TEST(store_write_and_sync_faults_come_back_through_the_server)
{
    char *dir = tmpdir();
    raft_store_t *st;
    raft_server_t *r = start(dir, &st, 1);
    become_leader(r);
    ASSERT_EQ(0, propose(r, 1));
    /* ENOSPC on the write: the entry is kept in memory, a retry succeeds. */
    ASSERT_EQ(0, raft_store_inject_fault(st, RAFT_STORE_OP_WRITE, RAFT_STORE_FAULT_ENOSPC, 0, 0, 0));
    ASSERT_EQ(RAFT_STORE_ERR_NOSPACE, propose(r, 2));
    ASSERT_EQ(3, last_proposed_idx); /* appended, and the answer says where */
    ASSERT(strstr(raft_store_last_error(), "open-") != NULL);
    ASSERT_EQ(2, raft_store_synced_idx(st));
    ASSERT_EQ(0, raft_store_sync(st));
    ASSERT_EQ(3, raft_store_synced_idx(st));
    ASSERT_EQ(0, propose(r, 3));
    /* EIO on fdatasync: the store refuses from then on. */
    ASSERT_EQ(0, raft_store_inject_fault(st, RAFT_STORE_OP_SYNC, RAFT_STORE_FAULT_EIO, 0, 0, 0));
    ASSERT_EQ(RAFT_STORE_ERR_IO, propose(r, 4));
    ASSERT_EQ(RAFT_STORE_ERR_FAILED, propose(r, 5));
    ASSERT_EQ(RAFT_STORE_ERR_FAILED, raft_store_persist_metadata(st, 9, 1));
    raft_destroy(r);
    ASSERT_EQ(0, raft_store_close(st));
    /* Reopened: everything that was synced is there. */
    r = start(dir, &st, 1);
    ASSERT(raft_get_current_idx(r) >= 4);
    check_entry(r, 3, 2);
    check_entry(r, 4, 3);
    stop(r, st);
    tmpdir_remove(dir);
}

static int diag_lines;
static char diag_last[512];
static void diag(void *arg, int level, const char *msg)
{
    (void)arg;
    if (level <= RAFT_STORE_LOG_WARN) {
        diag_lines++;
        snprintf(diag_last, sizeof diag_last, "%s", msg);
    }
}

TEST(store_a_torn_tail_is_cut_and_reported_to_the_log_callback)
{
    char *dir = tmpdir();
    raft_store_t *st;
    raft_server_t *r = start(dir, &st, 1);
    become_leader(r);
    for (int i = 0; i < 5; i++)
        ASSERT_EQ(0, propose(r, i));
    stop(r, st);
    char path[256];
    snprintf(path, sizeof path, "%s/open-00000000000000000001", dir);
    struct stat sb;
    ASSERT_EQ(0, stat(path, &sb));
    ASSERT_EQ(0, truncate(path, sb.st_size - 7));

    raft_store_options_t o;
    raft_store_options_init(&o);
    o.log_cb = diag;
    ASSERT_EQ(0, raft_store_open(dir, &o, &st));
    ASSERT_EQ(1, diag_lines);
    ASSERT(strstr(diag_last, "torn tail") != NULL);
    ASSERT_EQ(5, raft_store_current_idx(st));
    ASSERT_EQ(0, raft_store_close(st));

    /* Damage in the middle is an error naming the file. */
    FILE *f = fopen(path, "r+b");
    ASSERT(f != NULL);
    fseek(f, 200, SEEK_SET);
    fputc(0x42 ^ fgetc(f), f);
    fclose(f);
    ASSERT_EQ(RAFT_STORE_ERR_CORRUPT, raft_store_open(dir, &o, &st));
    ASSERT(strstr(raft_store_last_error(), path) != NULL);
    tmpdir_remove(dir);
}

/* A store call made from inside another on the same store (here from the
 * allocator hook, which the store's read of an entry calls) is refused
 * with RAFT_STORE_ERR_INVALID, not run on a store in the middle of a call. */
static raft_store_t *hook_store;
static int hook_armed, hook_rc = 1;
static void *hook_malloc(size_t n)
{
    if (hook_armed) {
        hook_armed = 0;
        hook_rc = raft_store_sync(hook_store);
    }
    return malloc(n);
}
static void *hook_calloc(size_t n, size_t m) { return calloc(n, m); }
static void *hook_realloc(void *p, size_t n) { return realloc(p, n); }

TEST(store_a_call_from_inside_a_store_call_is_refused)
{
    raft_set_heap_functions(hook_malloc, hook_calloc, hook_realloc, free);
    char *dir = tmpdir();
    raft_store_options_t o;
    raft_store_options_init(&o);
    o.cache_size = 0; /* reads come from the file */
    raft_store_t *st;
    ASSERT_EQ(0, raft_store_open(dir, &o, &st));
    raft_server_t *r = raft_store_new_server(st);
    raft_cbs_t c = cbs();
    raft_set_callbacks(r, &c, NULL);
    raft_add_node(r, NULL, 1, 1);
    ASSERT_EQ(0, raft_store_restore(st, r, 0, 0));
    become_leader(r);
    ASSERT_EQ(0, propose(r, 5));
    hook_store = st;
    hook_armed = 1;
    /* The no-op at 1, read back from the file (the apply of 2 read 2 last). */
    raft_entry_t *e = raft_get_entry_from_idx(r, 1);
    ASSERT_EQ(0, hook_armed);
    ASSERT_EQ(RAFT_STORE_ERR_INVALID, hook_rc);
    ASSERT(e != NULL); /* the outer call went on */
    ASSERT_EQ(RAFT_LOGTYPE_NO_OP, e->type);
    raft_entry_release(e);
    check_entry(r, 2, 5);
    ASSERT_EQ(0, raft_store_sync(st)); /* and the store is fine after */
    stop(r, st);
    tmpdir_remove(dir);
}

TEST_MAIN()
