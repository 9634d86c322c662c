/* Allocation failure in raft_store_open, raft_store_restore and
 * raft_store_close (raft_store.h): each allocation point of the call failed
 * in turn, alone and in runs of 16 and 1000 in a row (the sessions of
 * test_store_oom.c fail the calls made between open and close).
 *
 * raft_store_open is tried on a directory that does not exist yet, and on
 * copies of directories a store left: closed segments, metadata with a
 * term, a vote and a compacted start, a configuration entry; one also with
 * a torn tail and an empty segment file left by a crash (recovery cuts the
 * one and removes the other), one with a damaged record that valid ones
 * follow, opened with RAFT_STORE_REPAIR (the cut bytes are quarantined).
 * Each time it requires: no abort; RAFT_ERR_NOMEM only when an allocation
 * failed during the call, and then *out NULL, "out of memory" from
 * raft_store_last_error, no block of the library left, and the directory
 * exactly as it was (names and sizes); a second open with memory to spare
 * then works, and every entry recovery should keep is there with its
 * contents, with the term, vote and snapshot position.
 *
 * raft_store_restore is tried on a bound server, with the store's own
 * snapshot position, with a later one it compacts to, and with one whose
 * term does not match (the log is reset): RAFT_ERR_NOMEM or success, and
 * after RAFT_ERR_NOMEM a second call completes the restore: entries,
 * configuration (the node the log's configuration entry added), term and
 * vote as after a restore that never failed.
 *
 * Opens, restores and raft_store_crash are also tried in a directory whose name
 * is over 400 bytes long (std copies such paths to the heap).
 *
 * raft_store_close, with entries appended but not written and a
 * background sync in flight, must make no allocation at all: it succeeds
 * with every allocation failing, and the entries are there after a reopen.
 *
 * STORE_OPEN_OOM_SAMPLES, _ONLY, _VERBOSE, _FORK as in
 * support/failing_heap.h.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <dirent.h>
#include <stdint.h>
#include <sys/stat.h>

#include "raft.h"
#include "raft_compat.h"
#include "raft_store.h"
#include "support/failing_heap.h"
#include "support/tmpdir.h"
#include "test.h"

/* ------------------------------------------------------------------ */
/* Fixtures                                                             */
/* ------------------------------------------------------------------ */

#define N_ENTRIES 120   /* entries 1..120 written */
#define FIRST 10        /* compacted to start at 10 */
#define CFG_IDX 50      /* adds node 2 (non-voting) */
#define TERM 6          /* persisted term and vote */
#define VOTE 1
#define DAMAGED 117     /* the record the repair fixture damages */

enum fixture { F_FRESH, F_CLEAN, F_TORN, F_REPAIR, F_COUNT };
static const char *fixture_name[F_COUNT] = {"a new directory", "a closed store", "a torn tail",
                                            "a damaged record (repair)"};

/* The template directories, made once per process. */
static char templates[F_COUNT][64];

static raft_term_t term_of(raft_index_t idx)
{
    return 1 + idx / 30;
}

/* Entry `idx`'s data: an int (the node id for the configuration entry,
 * else the index), then a marker naming the index. */
#define DATA_LEN 64
static void fill(char *p, raft_index_t idx)
{
    int id = idx == CFG_IDX ? 2 : (int)idx;
    memset(p, 0, DATA_LEN);
    memcpy(p, &id, sizeof id);
    snprintf(p + sizeof id, DATA_LEN - sizeof id, "ENTRY-%07ld-", (long)idx);
}

static void check_entry(const raft_entry_t *e, raft_index_t idx)
{
    char want[DATA_LEN];
    fill(want, idx);
    if (!e)
        FAIL_AT("entry %ld missing", (long)idx);
    if (e->data_len != DATA_LEN || memcmp(e->data, want, DATA_LEN) != 0)
        FAIL_AT("entry %ld has the wrong contents", (long)idx);
    ASSERT_EQ(term_of(idx), e->term);
    ASSERT_EQ(idx == CFG_IDX ? RAFT_LOGTYPE_ADD_NONVOTING_NODE : RAFT_LOGTYPE_NORMAL, e->type);
}

static raft_store_options_t options(int fixture)
{
    raft_store_options_t o;
    raft_store_options_init(&o);
    o.segment_size = 4096; /* a few segments */
    o.cache_size = 512;    /* reads go to the files */
    o.fsync_policy = RAFT_STORE_FSYNC_DATA;
    if (fixture == F_REPAIR)
        o.flags |= RAFT_STORE_REPAIR;
    return o;
}

/* The name of the open segment in dir, in buf. */
static void open_segment(const char *dir, char *buf, size_t size)
{
    DIR *d = opendir(dir);
    struct dirent *e;
    ASSERT(d != NULL);
    buf[0] = 0;
    while ((e = readdir(d)) != NULL)
        if (strncmp(e->d_name, "open-", 5) == 0)
            snprintf(buf, size, "%s/%s", dir, e->d_name);
    closedir(d);
    ASSERT(buf[0] != 0);
}

/* Writes the store the fixtures start from (with memory to spare). */
static void write_store(const char *dir)
{
    raft_store_options_t o = options(F_CLEAN);
    raft_store_t *st;
    const raft_log_impl_t *li = raft_store_log_impl();
    o.fsync_policy = RAFT_STORE_FSYNC_NONE;
    ASSERT_EQ(0, raft_store_open(dir, &o, &st));
    for (raft_index_t i = 1; i <= N_ENTRIES; i++) {
        raft_entry_t *e = raft_entry_new(DATA_LEN);
        ASSERT(e != NULL);
        e->term = term_of(i);
        e->type = i == CFG_IDX ? RAFT_LOGTYPE_ADD_NONVOTING_NODE : RAFT_LOGTYPE_NORMAL;
        fill(e->data, i);
        ASSERT_EQ(0, li->append(st, e));
        raft_entry_release(e);
        if (i % 10 == 0) /* (a full segment is closed at the append after a sync) */
            ASSERT_EQ(0, raft_store_sync(st));
    }
    ASSERT_EQ(0, raft_store_sync(st));
    ASSERT_EQ(0, li->poll(st, FIRST));
    ASSERT_EQ(0, raft_store_persist_metadata(st, TERM, VOTE));
    ASSERT_EQ(0, raft_store_close(st));
}

/* Flips a byte of entry `idx`'s marker in the open segment. */
static void damage(const char *dir, raft_index_t idx)
{
    char path[256], marker[32], buf[8192];
    open_segment(dir, path, sizeof path);
    snprintf(marker, sizeof marker, "ENTRY-%07ld-", (long)idx);
    int fd = open(path, O_RDWR);
    ASSERT(fd >= 0);
    ssize_t n = read(fd, buf, sizeof buf);
    ASSERT(n > 0 && n < (ssize_t)sizeof buf);
    char *at = NULL;
    for (ssize_t k = 0; !at && k + (ssize_t)strlen(marker) <= n; k++)
        if (memcmp(buf + k, marker, strlen(marker)) == 0)
            at = buf + k;
    ASSERT(at != NULL);
    at[6] ^= 1;
    ASSERT(pwrite(fd, at + 6, 1, at + 6 - buf) == 1);
    close(fd);
}

static void make_templates(void)
{
    char path[256];
    if (templates[0][0])
        return;
    for (int f = 0; f < F_COUNT; f++) {
        if (!tmpdir_make(templates[f], sizeof templates[f], "raft-open-oom-t"))
            FAIL_AT("mkdtemp: %s", strerror(errno));
        if (f != F_FRESH)
            write_store(templates[f]);
    }
    /* A crash: the last record torn, and a segment created but never
     * written. */
    open_segment(templates[F_TORN], path, sizeof path);
    struct stat s;
    ASSERT_EQ(0, stat(path, &s));
    ASSERT_EQ(0, truncate(path, s.st_size - 5));
    snprintf(path, sizeof path, "%s/open-%020d", templates[F_TORN], 999);
    int fd = open(path, O_CREAT | O_WRONLY, 0644);
    ASSERT(fd >= 0);
    close(fd);
    damage(templates[F_REPAIR], DAMAGED);
}

static void remove_templates(void)
{
    for (int f = 0; f < F_COUNT; f++)
        if (templates[f][0])
            tmpdir_remove(templates[f]);
    memset(templates, 0, sizeof templates);
}

/* Whether the store's directory gets a long name: over 400 bytes, so that
 * every path the store passes to the system is one that std copies to the
 * heap (from 384 bytes on), not to the stack. */
static int long_dir;

/* A fresh copy of fixture f: the store's directory (for F_FRESH, a
 * directory inside one, which open creates, with its parent for a long
 * name), in dir; the temporary directory holding it in top. */
static void copy_fixture(int f, char *top, size_t top_size, char *dir, size_t dir_size)
{
    char part[201];
    if (!tmpdir_make(top, top_size, "raft-open-oom"))
        FAIL_AT("mkdtemp: %s", strerror(errno));
    snprintf(dir, dir_size, "%s", top);
    if (long_dir) {
        memset(part, 'd', 200);
        part[200] = 0;
        snprintf(dir, dir_size, "%s/%s", top, part);
        ASSERT_EQ(0, mkdir(dir, 0755));
        part[0] = 'e';
        snprintf(dir + strlen(dir), dir_size - strlen(dir), "/%s", part);
        if (f != F_FRESH)
            ASSERT_EQ(0, mkdir(dir, 0755));
        ASSERT(strlen(dir) > 400);
    }
    if (f == F_FRESH) {
        snprintf(dir + strlen(dir), dir_size - strlen(dir), "/store");
        return;
    }
    ASSERT_EQ(0, tmpdir_copy(templates[f], dir));
}

/* The entries recovery keeps from fixture f: first and last index. */
static void expected(int f, raft_index_t *first, raft_index_t *last)
{
    switch (f) {
    case F_FRESH:
        *first = 1, *last = 0;
        break;
    case F_CLEAN:
        *first = FIRST, *last = N_ENTRIES;
        break;
    case F_TORN:
        *first = FIRST, *last = N_ENTRIES - 1;
        break;
    default:
        *first = FIRST, *last = DAMAGED - 1;
        break;
    }
}

/* The opened store holds what fixture f should give. */
static void check_store(raft_store_t *st, int f)
{
    const raft_log_impl_t *li = raft_store_log_impl();
    raft_index_t first, last, sidx;
    raft_term_t term, sterm;
    raft_node_id_t vote;
    expected(f, &first, &last);
    ASSERT_EQ(first, raft_store_first_idx(st));
    ASSERT_EQ(last, raft_store_current_idx(st));
    for (raft_index_t i = first; i <= last; i++) {
        raft_entry_t *e = li->get(st, i);
        check_entry(e, i);
        raft_entry_release(e);
    }
    ASSERT_EQ(0, raft_store_get_metadata(st, &term, &vote));
    ASSERT_EQ(0, raft_store_get_snapshot(st, &sterm, &sidx));
    if (f == F_FRESH) {
        ASSERT_EQ(0, term);
        ASSERT_EQ(-1, vote);
        ASSERT_EQ(0, sidx);
    } else {
        ASSERT_EQ(TERM, term);
        ASSERT_EQ(VOTE, vote);
        ASSERT_EQ(FIRST - 1, sidx);
        ASSERT_EQ(term_of(FIRST - 1), sterm);
    }
}

/* Nothing of the library's is left but this thread's last error message
 * (an error now makes sure it is there). */
static void check_no_leak(void)
{
    ASSERT(raft_store_sync(NULL) != 0);
    ASSERT_EQ(1, fh_live);
    ASSERT_EQ(0, fh_foreign);
}

/* ------------------------------------------------------------------ */
/* raft_store_open                                                      */
/* ------------------------------------------------------------------ */

static int open_fixture;

static void open_script(long fail_from, long fail_len)
{
    char top[64], dir[1024], before[4096], after[4096];
    raft_store_options_t o = options(open_fixture);
    raft_store_t *st = (raft_store_t *)&st; /* (open must overwrite it) */
    int rc;

    make_templates();
    copy_fixture(open_fixture, top, sizeof top, dir, sizeof dir);
    ASSERT(tmpdir_listing(dir, before, sizeof before) >= 0 || open_fixture == F_FRESH);
    ASSERT(raft_store_sync(NULL) != 0); /* (a last error message: 1 block) */
    long live = fh_live;

    fh_arm(fail_from, fail_len);
    rc = raft_store_open(dir, &o, &st);
    fh_disarm();

    if (rc == RAFT_ERR_NOMEM) {
        if (fh_failed == 0)
            FAIL_AT("open: RAFT_ERR_NOMEM with no allocation failed (%s)", raft_store_last_error());
        ASSERT(st == NULL);
        ASSERT_STR_EQ("out of memory", raft_store_last_error());
        /* No block left; the last error message went ("out of memory"
         * needs none). */
        ASSERT_EQ(live - 1, fh_live);
        if (open_fixture == F_FRESH) {
            /* Only the directory itself, the lock and empty metadata files
             * may have been made (the next open takes them for a new
             * store). */
            if (tmpdir_listing(dir, after, sizeof after) >= 0)
                for (char *line = strtok(after, "\n"); line; line = strtok(NULL, "\n"))
                    if (strcmp(line, "LOCK 0") != 0 && strcmp(line, "meta1 0") != 0 &&
                        strcmp(line, "meta2 0") != 0)
                        FAIL_AT("a failed open of a new store left '%s'", line);
        } else {
            ASSERT(tmpdir_listing(dir, after, sizeof after) >= 0);
            if (strcmp(before, after) != 0)
                FAIL_AT("a failed open changed the directory:\n%s---\n%s", before, after);
        }
        /* Memory is back: the open works. */
        rc = raft_store_open(dir, &o, &st);
    }
    if (rc != 0)
        FAIL_AT("open of %s: rc %d (%s; allocations failed: %ld)", fixture_name[open_fixture], rc,
                raft_store_last_error(), fh_failed);
    ASSERT(st != NULL);
    check_store(st, open_fixture);
    ASSERT_EQ(0, raft_store_close(st));
    /* Opened once more: the same. */
    ASSERT_EQ(0, raft_store_open(dir, &o, &st));
    check_store(st, open_fixture);
    ASSERT_EQ(0, raft_store_close(st));
    check_no_leak();
    tmpdir_remove(top);
}

static void sweep_open(int fixture, long fail_len)
{
    char name[128];
    open_fixture = fixture;
    snprintf(name, sizeof name, "open, %s%s", fixture_name[fixture], long_dir ? ", under a long name" : "");
    fh_sweep(name, "STORE_OPEN_OOM", open_script, fail_len, 0);
    remove_templates();
}

TEST(open_oom_a_new_directory)
{
    sweep_open(F_FRESH, 1);
    sweep_open(F_FRESH, 16);
    sweep_open(F_FRESH, 1000);
}

TEST(open_oom_a_closed_store)
{
    sweep_open(F_CLEAN, 1);
    sweep_open(F_CLEAN, 16);
    sweep_open(F_CLEAN, 1000);
}

TEST(open_oom_a_torn_tail_and_an_unwritten_segment)
{
    sweep_open(F_TORN, 1);
    sweep_open(F_TORN, 16);
    sweep_open(F_TORN, 1000);
}

TEST(open_oom_a_repair_that_quarantines)
{
    sweep_open(F_REPAIR, 1);
    sweep_open(F_REPAIR, 16);
    sweep_open(F_REPAIR, 1000);
}

TEST(open_oom_under_a_long_directory_name)
{
    long_dir = 1;
    sweep_open(F_FRESH, 1);
    sweep_open(F_FRESH, 16);
    sweep_open(F_REPAIR, 1);
    sweep_open(F_REPAIR, 16);
}

/* ------------------------------------------------------------------ */
/* raft_store_restore                                                   */
/* ------------------------------------------------------------------ */

static raft_node_id_t node_id_of(raft_server_t *r, void *ud, raft_entry_t *e, raft_index_t idx)
{
    (void)r, (void)ud, (void)idx;
    int id;
    memcpy(&id, e->data, sizeof id);
    return id;
}

static raft_server_t *bind(raft_store_t *st)
{
    raft_cbs_t c;
    raft_server_t *r = raft_store_new_server(st);
    ASSERT(r != NULL);
    memset(&c, 0, sizeof c);
    c.persist_metadata = raft_store_persist_metadata_cb;
    c.get_node_id = node_id_of;
    raft_set_callbacks(r, &c, NULL);
    ASSERT(raft_add_node(r, NULL, 1, 1) != NULL);
    return r;
}

/* Snapshot positions restore is tried with. */
enum { S_STORED, S_LATER, S_OTHER_TERM, S_COUNT };
static int restore_case;

static void restore_position(int c, raft_term_t *term, raft_index_t *idx)
{
    switch (c) {
    case S_STORED:
        *term = 0, *idx = 0;
        break;
    case S_LATER: /* inside the log: compacted to it */
        *idx = 40, *term = term_of(40);
        break;
    default: /* a term the log's entry does not have: the log is reset */
        *idx = 60, *term = 99;
        break;
    }
}

/* The server restored as restore_case says it should be. */
static void check_restored(raft_server_t *r, raft_store_t *st)
{
    raft_term_t term;
    raft_index_t idx;
    restore_position(restore_case, &term, &idx);
    ASSERT_EQ(TERM, raft_get_current_term(r));
    ASSERT_EQ(VOTE, raft_get_voted_for(r));
    switch (restore_case) {
    case S_STORED:
    case S_LATER:
        ASSERT_EQ(N_ENTRIES - 1, raft_get_current_idx(r)); /* (the torn one cut) */
        ASSERT_EQ(restore_case == S_STORED ? FIRST - 1 : idx, raft_get_snapshot_last_idx(r));
        ASSERT_EQ(restore_case == S_STORED ? FIRST : idx + 1, raft_store_first_idx(st));
        /* The configuration entry took effect. */
        ASSERT_EQ(2, raft_get_num_nodes(r));
        ASSERT(raft_get_node(r, 2) != NULL);
        for (raft_index_t i = raft_store_first_idx(st); i < N_ENTRIES; i++) {
            raft_entry_t *e = raft_get_entry_from_idx(r, i);
            check_entry(e, i);
            raft_entry_release(e);
        }
        break;
    default:
        ASSERT_EQ(idx, raft_get_current_idx(r));
        ASSERT_EQ(idx, raft_get_snapshot_last_idx(r));
        ASSERT_EQ(idx + 1, raft_store_first_idx(st));
        ASSERT_EQ(1, raft_get_num_nodes(r));
        break;
    }
}

static void restore_script(long fail_from, long fail_len)
{
    char top[64], dir[1024];
    raft_store_options_t o = options(F_TORN);
    raft_store_t *st;
    raft_term_t sterm;
    raft_index_t sidx;
    int rc;

    make_templates();
    copy_fixture(F_TORN, top, sizeof top, dir, sizeof dir);
    ASSERT_EQ(0, raft_store_open(dir, &o, &st));
    raft_server_t *r = bind(st);
    restore_position(restore_case, &sterm, &sidx);

    fh_arm(fail_from, fail_len);
    rc = raft_store_restore(st, r, sterm, sidx);
    fh_disarm();

    if (rc == RAFT_ERR_NOMEM) {
        if (fh_failed == 0)
            FAIL_AT("restore: RAFT_ERR_NOMEM with no allocation failed (%s)", raft_store_last_error());
        rc = raft_store_restore(st, r, sterm, sidx);
    }
    if (rc != 0)
        FAIL_AT("restore: rc %d (%s; allocations failed: %ld)", rc, raft_store_last_error(), fh_failed);
    check_restored(r, st);
    raft_destroy(r);
    ASSERT_EQ(0, raft_store_close(st));

    /* What the restore did to the store lasts. */
    ASSERT_EQ(0, raft_store_open(dir, &o, &st));
    r = bind(st);
    ASSERT_EQ(0, raft_store_restore(st, r, sterm, sidx));
    check_restored(r, st);
    raft_destroy(r);
    ASSERT_EQ(0, raft_store_close(st));
    check_no_leak();
    tmpdir_remove(top);
}

static void sweep_restore(int c, long fail_len)
{
    static const char *names[S_COUNT] = {"restore at the stored position", "restore compacting to a later one",
                                         "restore resetting the log"};
    restore_case = c;
    fh_sweep(names[c], "STORE_OPEN_OOM", restore_script, fail_len, 0);
    remove_templates();
}

TEST(restore_oom_at_the_stored_position)
{
    sweep_restore(S_STORED, 1);
    sweep_restore(S_STORED, 16);
    sweep_restore(S_STORED, 1000);
}

TEST(restore_oom_compacting)
{
    sweep_restore(S_LATER, 1);
    sweep_restore(S_LATER, 16);
    sweep_restore(S_LATER, 1000);
}

TEST(restore_oom_resetting)
{
    sweep_restore(S_OTHER_TERM, 1);
    sweep_restore(S_OTHER_TERM, 16);
    sweep_restore(S_OTHER_TERM, 1000);
}

/* A restore that ran out of memory after the server took the snapshot
 * position can only be resumed at that position: another one is refused
 * before the store changes. */
TEST(restore_resumed_at_another_position_is_refused)
{
    char top[64], dir[1024];
    raft_store_options_t o = options(F_TORN);
    raft_store_t *st;
    raft_server_t *r = NULL;
    int rc = RAFT_ERR_NOMEM;
    fh_install();
    make_templates();
    copy_fixture(F_TORN, top, sizeof top, dir, sizeof dir);
    /* The first failure that leaves the snapshot position taken (the
     * log's reads come after it). */
    for (long k = 1; k < 1000; k++) {
        ASSERT_EQ(0, raft_store_open(dir, &o, &st));
        r = bind(st);
        fh_arm(k, 1);
        rc = raft_store_restore(st, r, 0, 0);
        fh_disarm();
        if (rc == RAFT_ERR_NOMEM && raft_get_snapshot_last_idx(r) == FIRST - 1)
            break;
        raft_destroy(r);
        ASSERT_EQ(0, raft_store_close(st));
        r = NULL;
    }
    ASSERT(r != NULL);
    ASSERT_EQ(RAFT_ERR_NOMEM, rc);
    ASSERT_EQ(RAFT_STORE_ERR_INVALID, raft_store_restore(st, r, term_of(40), 40));
    ASSERT_EQ(FIRST, raft_store_first_idx(st)); /* not compacted */
    ASSERT_EQ(0, raft_store_restore(st, r, 0, 0));
    restore_case = S_STORED;
    check_restored(r, st);
    raft_destroy(r);
    ASSERT_EQ(0, raft_store_close(st));
    tmpdir_remove(top);
    remove_templates();
}

TEST(restore_oom_under_a_long_directory_name)
{
    long_dir = 1; /* (the compaction's and the reset's removals) */
    sweep_restore(S_LATER, 1);
    sweep_restore(S_OTHER_TERM, 1);
}

/* ------------------------------------------------------------------ */
/* raft_store_close                                                     */
/* ------------------------------------------------------------------ */

/* Appends entries first..last to st. */
static void append(raft_store_t *st, raft_index_t first, raft_index_t last)
{
    const raft_log_impl_t *li = raft_store_log_impl();
    for (raft_index_t i = first; i <= last; i++) {
        raft_entry_t *e = raft_entry_new(DATA_LEN);
        ASSERT(e != NULL);
        e->term = term_of(i);
        e->type = i == CFG_IDX ? RAFT_LOGTYPE_ADD_NONVOTING_NODE : RAFT_LOGTYPE_NORMAL;
        fill(e->data, i);
        ASSERT_EQ(0, li->append(st, e));
        raft_entry_release(e);
    }
}

TEST(close_needs_no_memory)
{
    char dir[64];
    raft_store_options_t o = options(F_CLEAN);
    raft_store_t *st;
    fh_install();
    for (int in_flight = 0; in_flight < 2; in_flight++) {
        if (!tmpdir_make(dir, sizeof dir, "raft-close-oom"))
            FAIL_AT("mkdtemp: %s", strerror(errno));
        ASSERT_EQ(0, raft_store_open(dir, &o, &st));
        append(st, 1, 60);
        if (in_flight) {
            /* Handed to the sync thread, then more appended. */
            ASSERT_EQ(0, raft_store_sync_start(st));
            append(st, 61, 90);
        }
        fh_arm(1, 1L << 40); /* every allocation fails */
        ASSERT_EQ(0, raft_store_close(st));
        fh_disarm();
        ASSERT_EQ(0, fh_calls);
        /* The final sync wrote everything. */
        ASSERT_EQ(0, raft_store_open(dir, &o, &st));
        ASSERT_EQ(in_flight ? 90 : 60, raft_store_current_idx(st));
        for (raft_index_t i = 1; i <= raft_store_current_idx(st); i++) {
            raft_entry_t *e = raft_store_log_impl()->get(st, i);
            check_entry(e, i);
            raft_entry_release(e);
        }
        ASSERT_EQ(0, raft_store_close(st));
        check_no_leak();
        tmpdir_remove(dir);
    }
}

/* Regression: a background write failed (its bytes cut back off the file)
 * and there was no memory to put them back in line, which makes the store
 * refuse writes; a blocking sync made then (or the one a close makes)
 * still synced the file and reported the lost entries durable. It must
 * fail, and nothing reported durable may be missing after a reopen. */
TEST(a_sync_after_background_bytes_were_lost_for_want_of_memory_fails)
{
    char dir[64];
    raft_store_options_t o = options(F_CLEAN);
    raft_store_t *st;
    struct pollfd pfd;
    fh_install();
    if (!tmpdir_make(dir, sizeof dir, "raft-lost-write"))
        FAIL_AT("mkdtemp: %s", strerror(errno));
    ASSERT_EQ(0, raft_store_open(dir, &o, &st));
    append(st, 1, 10);
    ASSERT_EQ(0, raft_store_inject_fault(st, RAFT_STORE_OP_WRITE, RAFT_STORE_FAULT_EIO, 0, 0, 0));
    /* The idle sync thread takes the write, which fails; it signals. */
    ASSERT_EQ(0, raft_store_sync_start(st));
    pfd.fd = raft_store_sync_fd(st);
    pfd.events = POLLIN;
    ASSERT_EQ(1, poll(&pfd, 1, 10000));
    fh_arm(1, 1L << 40); /* every allocation fails */
    int rc = raft_store_sync(st);
    fh_disarm();
    ASSERT(rc != 0);
    ASSERT_EQ(0, raft_store_synced_idx(st));
    ASSERT_EQ(0, raft_store_close(st)); /* (a store that refuses writes closes without a sync) */
    ASSERT_EQ(0, raft_store_open(dir, &o, &st));
    ASSERT_EQ(0, raft_store_current_idx(st));
    ASSERT_EQ(0, raft_store_close(st));
    tmpdir_remove(dir);
}

/* raft_store_crash (which simulates a power failure) may need memory for
 * a path: RAFT_ERR_NOMEM then keeps the store, and crashing it again works. */
static void crash_script(long fail_from, long fail_len)
{
    char top[64], dir[1024];
    raft_store_options_t o = options(F_CLEAN);
    raft_store_t *st;
    int rc;
    copy_fixture(F_FRESH, top, sizeof top, dir, sizeof dir);
    ASSERT_EQ(0, raft_store_open(dir, &o, &st));
    append(st, 1, 50);
    ASSERT_EQ(0, raft_store_sync(st)); /* 1..50 durable, past a segment's size */
    append(st, 51, 100);               /* 51 rolls to a new segment; none synced */
    fh_arm(fail_from, fail_len);
    rc = raft_store_crash(st);
    fh_disarm();
    if (rc == RAFT_ERR_NOMEM) {
        ASSERT(fh_failed > 0);
        rc = raft_store_crash(st);
    }
    ASSERT_EQ(0, rc);
    ASSERT_EQ(0, raft_store_open(dir, &o, &st));
    ASSERT(raft_store_current_idx(st) >= 50);
    for (raft_index_t i = 1; i <= raft_store_current_idx(st); i++) {
        raft_entry_t *e = raft_store_log_impl()->get(st, i);
        check_entry(e, i);
        raft_entry_release(e);
    }
    ASSERT_EQ(0, raft_store_close(st));
    check_no_leak();
    tmpdir_remove(top);
}

TEST(crash_oom_keeps_the_store)
{
    fh_sweep("crash", "STORE_OPEN_OOM", crash_script, 1, 0);
    fh_sweep("crash", "STORE_OPEN_OOM", crash_script, 16, 0);
    long_dir = 1; /* (the renames and removals with long paths) */
    fh_sweep("crash, under a long name", "STORE_OPEN_OOM", crash_script, 1, 0);
}

TEST_MAIN()
