/* Crash test of the durable store (raft_store.h) under a real libraft
 * server.
 *
 * A writer process opens the store, restores a single-node server from it,
 * becomes leader (a new term each time) and appends entries as fast as it
 * can, in one of three modes chosen per run: auto flush (every
 * raft_recv_entry synced), group commit (raft_get_index_to_sync +
 * raft_store_sync + raft_flush) and background sync (raft_store_sync_start,
 * poll on the fd, raft_store_sync_poll + raft_flush); now and then it
 * compacts the log. After every sync that returned, it tells the parent
 * through a pipe what is durable ("A idx", "T term vote"). The parent kills
 * it with SIGKILL at a random moment, reopens the store and checks that
 * every acknowledged entry is there, in order, with the right contents,
 * and that term and vote are at least the acknowledged ones. Some runs set
 * RAFT_STORE_FAULTS, so writes and syncs fail with EIO/ENOSPC/short writes
 * at random; the writer then stops (or goes on after a retryable error),
 * and the same checks apply.
 *
 * usage: store_crash [-n kills] [-s seed] [-d dir] [-v]
 * Prints one line per failure and ends with "N passed, N failed".
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "raft.h"
#include "raft_compat.h"
#include "raft_store.h"

static uint64_t rng;
static uint64_t next_rand(void)
{
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return rng;
}

/* Entry contents are a function of the index: 8 bytes of index, then a
 * length and filler derived from it. */
static unsigned entry_len(raft_index_t idx)
{
    return 8 + (unsigned)((idx * 2654435761u) % 1500);
}

static void fill(raft_entry_t *e, raft_index_t idx)
{
    memcpy(e->data, &idx, 8);
    for (unsigned i = 8; i < e->data_len; i++)
        e->data[i] = (char)(idx + i);
}

static int check_data(raft_entry_t *e, raft_index_t idx)
{
    raft_index_t got;
    if (e->data_len != entry_len(idx))
        return 0;
    memcpy(&got, e->data, 8);
    if (got != idx)
        return 0;
    for (unsigned i = 8; i < e->data_len; i++)
        if (e->data[i] != (char)(idx + i))
            return 0;
    return 1;
}

/* ------------------------------------------------------------ writer */

static int out_fd;

static void say(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void say(const char *fmt, ...)
{
    char buf[128];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    if (write(out_fd, buf, (size_t)n) != n)
        _exit(9);
}

static int persist(raft_server_t *r, void *ud, raft_term_t term, raft_node_id_t vote)
{
    int rc = raft_store_persist_metadata_cb(r, ud, term, vote);
    if (rc == 0)
        say("T %ld %d\n", term, vote);
    return rc;
}

static int applylog(raft_server_t *r, void *ud, raft_entry_t *e, raft_index_t idx)
{
    (void)r, (void)ud, (void)e, (void)idx;
    return 0;
}

static raft_node_id_t node_id(raft_server_t *r, void *ud, raft_entry_t *e, raft_index_t idx)
{
    (void)r, (void)ud, (void)e, (void)idx;
    return 1;
}

static int propose(raft_server_t *r)
{
    raft_index_t idx = raft_get_current_idx(r) + 1;
    raft_entry_req_t *e = raft_entry_new(entry_len(idx));
    fill(e, idx);
    raft_entry_resp_t resp;
    int rc = raft_recv_entry(r, e, &resp);
    raft_entry_release(e);
    if (rc == 0 && resp.idx != idx)
        _exit(8);
    return rc;
}

static int writer(const char *dir, int mode, uint64_t seed)
{
    rng = seed | 1;
    raft_store_options_t o;
    raft_store_options_init(&o);
    o.segment_size = 64 * 1024;
    o.cache_size = 32 * 1024;
    raft_store_t *st;
    if (raft_store_open(dir, &o, &st) != 0) {
        fprintf(stderr, "writer: open: %s\n", raft_store_last_error());
        return 2;
    }
    raft_server_t *r = raft_store_new_server(st);
    raft_cbs_t c;
    memset(&c, 0, sizeof c);
    c.persist_metadata = persist;
    c.applylog = applylog;
    c.get_node_id = node_id;
    raft_set_callbacks(r, &c, NULL);
    raft_config(r, 1, RAFT_CONFIG_AUTO_FLUSH, mode == 0);
    raft_add_node(r, NULL, 1, 1);
    if (raft_store_restore(st, r, 0, 0) != 0) {
        fprintf(stderr, "writer: restore: %s\n", raft_store_last_error());
        return 2;
    }
    raft_periodic_internal(r, 3000);
    if (!raft_is_leader(r))
        return 0; /* e.g. the term could not be persisted (faults) */
    say("R\nA %ld\n", raft_store_synced_idx(st));
    for (;;) {
        int batch = mode == 0 ? 1 : 1 + (int)(next_rand() % 64);
        for (int i = 0; i < batch; i++) {
            int rc = propose(r);
            if (rc == 0 && mode == 0)
                say("A %ld\n", raft_get_current_idx(r));
            if (rc == RAFT_STORE_ERR_FAILED)
                return 3;
        }
        if (mode == 1) {
            raft_index_t idx = raft_get_index_to_sync(r);
            if (idx > 0 && raft_store_sync(st) == 0) {
                say("A %ld\n", idx);
                raft_flush(r, idx);
            }
        } else if (mode == 2) {
            if (raft_store_sync_start(st) == 0) {
                struct pollfd p = {.fd = raft_store_sync_fd(st), .events = POLLIN};
                poll(&p, 1, 1000);
                raft_index_t synced;
                int rc = raft_store_sync_poll(st, &synced);
                if (rc == 0) {
                    say("A %ld\n", synced);
                    raft_flush(r, synced);
                } else if (rc != RAFT_STORE_ERR_AGAIN) {
                    return 3;
                }
            }
        }
        if (next_rand() % 50 == 0 && raft_get_last_applied_idx(r) > 10) {
            if (raft_begin_snapshot(r) == 0)
                raft_end_snapshot(r);
        }
    }
}

/* ------------------------------------------------------------ parent */

struct acked {
    raft_index_t idx;
    raft_term_t term;
    raft_node_id_t vote;
};

/* Returns whether the writer said it is ready (leader, appending). */
static int read_acks(int fd, struct acked *a, char *buf, size_t *len)
{
    int ready = 0;
    for (;;) {
        ssize_t n = read(fd, buf + *len, 4095 - *len);
        if (n <= 0)
            break;
        *len += (size_t)n;
        buf[*len] = 0;
        char *line = buf, *nl;
        while ((nl = strchr(line, '\n'))) {
            *nl = 0;
            long x;
            int v;
            if (line[0] == 'R')
                ready = 1;
            else if (sscanf(line, "A %ld", &x) == 1 && x > a->idx)
                a->idx = x;
            else if (sscanf(line, "T %ld %d", &x, &v) == 2 && x >= a->term) {
                a->term = x;
                a->vote = v;
            }
            line = nl + 1;
        }
        *len = strlen(line);
        memmove(buf, line, *len);
    }
    return ready;
}

static long long now_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1000000LL + ts.tv_nsec / 1000;
}

/* Reopens the store and checks what the writer acknowledged. */
static int verify(const char *dir, const struct acked *a, int run, int verbose)
{
    raft_store_t *st;
    int rc = raft_store_open(dir, NULL, &st);
    if (rc != 0) {
        printf("FAIL run %d: reopen: %s: %s\n", run, raft_store_strerror(rc), raft_store_last_error());
        return 0;
    }
    int ok = 1;
    raft_term_t term;
    raft_node_id_t vote;
    raft_store_get_metadata(st, &term, &vote);
    if (term < a->term || (term == a->term && vote != a->vote)) {
        printf("FAIL run %d: term/vote %ld/%d, acknowledged %ld/%d\n", run, term, vote, a->term, a->vote);
        ok = 0;
    }
    raft_index_t first = raft_store_first_idx(st), last = raft_store_current_idx(st);
    if (last < a->idx) {
        printf("FAIL run %d: log ends at %ld, %ld was acknowledged\n", run, last, a->idx);
        ok = 0;
    }
    /* Read every entry through a server, as a restarted program would. */
    raft_server_t *r = raft_store_new_server(st);
    raft_add_node(r, NULL, 1, 1);
    rc = raft_store_restore(st, r, 0, 0);
    if (rc != 0) {
        printf("FAIL run %d: restore: %d %s\n", run, rc, raft_store_last_error());
        ok = 0;
    }
    for (raft_index_t i = first; ok && i <= last; i++) {
        raft_entry_t *e = raft_get_entry_from_idx(r, i);
        if (!e) {
            printf("FAIL run %d: entry %ld missing (log %ld..%ld)\n", run, i, first, last);
            ok = 0;
            break;
        }
        /* Entry 1 of each term is the leader's no-op. */
        if (e->type == RAFT_LOGTYPE_NORMAL && !check_data(e, i)) {
            printf("FAIL run %d: entry %ld has wrong contents\n", run, i);
            ok = 0;
        }
        raft_entry_release(e);
    }
    if (verbose)
        printf("run %d: log %ld..%ld, acked %ld, term %ld\n", run, first, last, a->idx, term);
    raft_destroy(r);
    raft_store_close(st);
    return ok;
}

int main(int argc, char **argv)
{
    if (argc == 5 && strcmp(argv[1], "--writer") == 0) {
        out_fd = 1;
        return writer(argv[2], atoi(argv[3]), strtoull(argv[4], NULL, 10));
    }
    int kills = 30, verbose = 0;
    uint64_t seed = (uint64_t)time(NULL);
    char dir[256] = "";
    int opt;
    while ((opt = getopt(argc, argv, "n:s:d:v")) != -1) {
        if (opt == 'n')
            kills = atoi(optarg);
        else if (opt == 's')
            seed = strtoull(optarg, NULL, 10);
        else if (opt == 'd')
            snprintf(dir, sizeof dir, "%s", optarg);
        else if (opt == 'v')
            verbose = 1;
    }
    char tmpl[] = "/tmp/raft-store-crash-XXXXXX";
    int own_dir = !dir[0];
    if (own_dir) {
        if (!mkdtemp(tmpl)) {
            perror("mkdtemp");
            return 1;
        }
        snprintf(dir, sizeof dir, "%s/store", tmpl);
    }
    printf("store_crash: seed %llu, %d kills, %s\n", (unsigned long long)seed, kills, dir);
    rng = seed | 1;
    int passed = 0, failed = 0, faulted = 0, stopped_by_fault = 0;
    struct acked a = {0, 0, -1};
    for (int run = 0; run < kills; run++) {
        int mode = (int)(next_rand() % 3);
        int faults = next_rand() % 5 == 0;
        int p[2];
        if (pipe(p) != 0) {
            perror("pipe");
            return 1;
        }
        char mode_s[8], seed_s[32];
        snprintf(mode_s, sizeof mode_s, "%d", mode);
        snprintf(seed_s, sizeof seed_s, "%llu", (unsigned long long)next_rand());
        char spec[96];
        /* ops: write|sync|dirsync|truncate|rename|create; faults EIO, ENOSPC, short. */
        static const int kinds[] = {1, 2, 4};
        snprintf(spec, sizeof spec, "63,%d,%llu,%u,%llu", kinds[next_rand() % 3],
                 (unsigned long long)(next_rand() % 50), 5000 + (unsigned)(next_rand() % 95000),
                 (unsigned long long)next_rand());
        pid_t pid = fork();
        if (pid == 0) {
            close(p[0]);
            dup2(p[1], 1);
            if (faults)
                setenv("RAFT_STORE_FAULTS", spec, 1);
            else
                unsetenv("RAFT_STORE_FAULTS");
            execl("/proc/self/exe", argv[0], "--writer", dir, mode_s, seed_s, (char *)NULL);
            _exit(7);
        }
        close(p[1]);
        fcntl(p[0], F_SETFL, O_NONBLOCK);
        char buf[4096];
        size_t len = 0;
        /* Most kills come while the writer appends (up to 40 ms after it
         * is ready), one in ten during its recovery and election. */
        int early = next_rand() % 10 == 0;
        long long span = early ? (long long)(next_rand() % 10000) : (long long)(next_rand() % 40000);
        long long deadline = now_us() + (early ? span : 10000000);
        int status = 0, exited = 0;
        while (now_us() < deadline) {
            struct pollfd pf = {.fd = p[0], .events = POLLIN};
            poll(&pf, 1, 1);
            if (read_acks(p[0], &a, buf, &len) && !early)
                deadline = now_us() + span;
            if (waitpid(pid, &status, WNOHANG) == pid) {
                exited = 1;
                break;
            }
        }
        if (!exited) {
            kill(pid, SIGKILL);
            waitpid(pid, &status, 0);
        }
        /* Everything the writer said before it died counts. */
        fcntl(p[0], F_SETFL, 0);
        read_acks(p[0], &a, buf, &len);
        close(p[0]);
        if (exited && !faults && !(WIFEXITED(status) && WEXITSTATUS(status) == 0)) {
            printf("FAIL run %d: writer (mode %d) exited with status %d\n", run, mode, status);
            failed++;
            continue;
        }
        faulted += faults;
        if (exited && faults)
            stopped_by_fault++;
        if (verbose)
            printf("run %d: mode %d%s, writer %s\n", run, mode, faults ? " with faults" : "",
                   exited ? "stopped by itself" : "killed");
        if (verify(dir, &a, run, verbose))
            passed++;
        else
            failed++;
    }
    if (own_dir) {
        char cmd[300];
        snprintf(cmd, sizeof cmd, "rm -rf %s", tmpl);
        if (system(cmd) != 0)
            fprintf(stderr, "could not remove %s\n", tmpl);
    }
    printf("store_crash: %d runs with injected faults (%d stopped by them), last acknowledged index %ld, term %ld\n",
           faulted, stopped_by_fault, a.idx, a.term);
    printf("store_crash: %d passed, %d failed\n", passed, failed);
    return failed != 0;
}
