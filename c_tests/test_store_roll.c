/* The durable store closes a full segment only at a sync boundary: through
 * a real server, every sync (auto flush, blocking group commit, background
 * group commit) costs at most one fdatasync also when segments roll, and
 * the log survives restarts across many segments. */
#include "raft.h"
#include "raft_compat.h"
#include "raft_store.h"
#include "support/tmpdir.h"
#include "test.h"

#include <dirent.h>
#include <errno.h>
#include <poll.h>

static char *tmpdir(void)
{
    static char buf[64];
    if (!tmpdir_make(buf, sizeof buf, "raft-store-roll"))
        FAIL_AT("mkdtemp: %s", strerror(errno));
    return buf;
}

/* Segment files (open-* or digits) in `dir`. */
static int segment_count(const char *dir)
{
    DIR *d = opendir(dir);
    ASSERT(d != NULL);
    int n = 0;
    struct dirent *e;
    while ((e = readdir(d)) != NULL)
        if (strncmp(e->d_name, "open-", 5) == 0 || (e->d_name[0] >= '0' && e->d_name[0] <= '9'))
            n++;
    closedir(d);
    return n;
}

static raft_node_id_t node_id_of(raft_server_t *r, void *ud, raft_entry_t *e, raft_index_t idx)
{
    (void)r, (void)ud, (void)e, (void)idx;
    return 1;
}

static int applylog(raft_server_t *r, void *ud, raft_entry_t *e, raft_index_t idx)
{
    (void)r, (void)ud, (void)e, (void)idx;
    return 0;
}

static raft_server_t *start(const char *dir, raft_store_t **st, int auto_flush)
{
    raft_store_options_t o;
    raft_store_options_init(&o);
    o.segment_size = 4096; /* a roll every few syncs */
    int rc = raft_store_open(dir, &o, st);
    if (rc != 0)
        FAIL_AT("open: %s: %s", raft_store_strerror(rc), raft_store_last_error());
    raft_server_t *r = raft_store_new_server(*st);
    ASSERT(r != NULL);
    raft_cbs_t c;
    memset(&c, 0, sizeof c);
    c.persist_metadata = raft_store_persist_metadata_cb;
    c.get_node_id = node_id_of;
    c.applylog = applylog;
    raft_set_callbacks(r, &c, NULL);
    raft_config(r, 1, RAFT_CONFIG_AUTO_FLUSH, auto_flush);
    raft_add_node(r, NULL, 1, 1);
    rc = raft_store_restore(*st, r, 0, 0);
    if (rc != 0)
        FAIL_AT("restore: %d %s", rc, raft_store_last_error());
    return r;
}

static int propose(raft_server_t *r, int i)
{
    raft_entry_req_t *e = raft_entry_new(300);
    memset(e->data, 'a' + i % 26, 300);
    memcpy(e->data, &i, sizeof i);
    raft_entry_resp_t resp;
    int rc = raft_recv_entry(r, e, &resp);
    raft_entry_release(e);
    return rc;
}

static void check_log(raft_server_t *r, raft_index_t from, raft_index_t to)
{
    for (raft_index_t idx = from; idx <= to; idx++) {
        raft_entry_t *e = raft_get_entry_from_idx(r, idx);
        ASSERT(e != NULL);
        ASSERT_EQ(300, (long)e->data_len);
        int i;
        memcpy(&i, e->data, sizeof i);
        ASSERT_EQ((char)('a' + i % 26), e->data[299]);
        raft_entry_release(e);
    }
}

/* mode 0: auto flush; 1: blocking group commit; 2: background. */
static void run(int mode)
{
    char *dir = tmpdir();
    raft_store_t *st;
    raft_server_t *r = start(dir, &st, mode == 0);
    raft_periodic_internal(r, 3000);
    ASSERT(raft_is_leader(r));
    int fd = raft_store_sync_fd(st);
    unsigned long syncs = 0, f0 = raft_store_fsync_count(st);
    for (int round = 0; round < 60; round++) {
        for (int i = 0; i < 4; i++) {
            unsigned long before = raft_store_fsync_count(st);
            ASSERT_EQ(0, propose(r, round * 4 + i));
            if (mode == 0)
                ASSERT_EQ(before + 1, raft_store_fsync_count(st)); /* one per entry, rolls included */
            else if (mode == 1) /* (in mode 2 earlier requests may finish meanwhile) */
                ASSERT_EQ(before, raft_store_fsync_count(st)); /* a roll syncs nothing itself */
        }
        raft_index_t idx = raft_get_index_to_sync(r);
        if (mode == 1) {
            unsigned long before = raft_store_fsync_count(st);
            ASSERT_EQ(0, raft_store_sync(st));
            ASSERT_EQ(before + 1, raft_store_fsync_count(st));
            ASSERT_EQ(0, raft_flush(r, idx));
        } else if (mode == 2) {
            ASSERT_EQ(0, raft_store_sync_start(st));
            syncs++;
            struct pollfd p = {.fd = fd, .events = POLLIN};
            raft_index_t synced;
            if (round % 2 == 1 && poll(&p, 1, -1) == 1 && raft_store_sync_poll(st, &synced) == 0)
                ASSERT_EQ(0, raft_flush(r, synced));
        }
    }
    if (mode == 2) {
        raft_index_t synced;
        ASSERT_EQ(0, raft_store_sync_wait(st, &synced));
        ASSERT_EQ(raft_get_current_idx(r), synced);
        ASSERT(raft_store_fsync_count(st) - f0 <= syncs);
        ASSERT_EQ(0, raft_flush(r, synced));
    }
    raft_index_t last = raft_get_current_idx(r);
    ASSERT_EQ(241, last);
    ASSERT_EQ(last, raft_get_commit_idx(r));
    ASSERT(segment_count(dir) > 5);
    raft_destroy(r);
    ASSERT_EQ(0, raft_store_close(st));
    r = start(dir, &st, 1);
    ASSERT_EQ(last, raft_get_current_idx(r));
    check_log(r, 2, last);
    raft_destroy(r);
    ASSERT_EQ(0, raft_store_close(st));
    tmpdir_remove(dir);
}

TEST(store_roll_with_auto_flush_costs_one_fdatasync_per_entry)
{
    run(0);
}

TEST(store_roll_with_blocking_group_commit_costs_one_fdatasync_per_sync)
{
    run(1);
}

TEST(store_roll_with_background_sync_costs_at_most_one_fdatasync_per_request)
{
    run(2);
}

TEST_MAIN()
