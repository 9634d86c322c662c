/*
 * raft_bench: throughput, CPU and memory of a raft.h implementation.
 *
 * An in-process cluster driven only through the public raft.h API and its
 * callbacks, so the same source links against any library with this ABI
 * (see bench/README.md and RAFT_LIB in mk/bench.mk):
 *
 *  - messages go through one preallocated FIFO ring (it grows only if ever
 *    full); appendentries slots keep their entry-pointer arrays for reuse, so
 *    the harness does no per-message allocation;
 *  - entries in flight are held (raft_entry_hold) while queued and released
 *    after the follower has received them;
 *  - time is a fake clock handed to the library through the `timestamp`
 *    callback (microseconds);
 *  - auto flush is off on every node: the leader proposes a batch with
 *    raft_recv_entry, "syncs" up to raft_get_index_to_sync (a no-op: the
 *    log is in memory) and calls raft_flush, then every queued message and
 *    response is delivered until the network is quiet;
 *  - applylog counts NORMAL entries per node and checks they arrive once and
 *    in order (each entry carries a sequence number in its first 8 bytes);
 *  - library heap is counted through raft_set_heap_functions.
 *
 * The election and a warm-up are excluded from the measurement. A scenario
 * ends when every node has applied every proposed entry.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <inttypes.h>
#include <malloc.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sys/resource.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include "raft.h"

#define MAX_NODES 64

/* ------------------------------------------------------------ scenarios */

typedef struct {
    const char *name;
    int nodes;
    unsigned int entry_size;
    int batch;
    int drop_pct;
    long default_entries;
    long instr_entries;        /* entries for a callgrind run (bench.py) */
    long snapshot_every;       /* every node compacts every N applied entries */
    int read_ticks;            /* tick mode (one read per tick, one hop per
                                * poll) with a batch every read_ticks ticks */
    const char *what;
} scenario_t;

/* Scenarios users run: the lossless baseline, single entries, larger
 * clusters at both batch sizes, big entries, loss, compaction on every node
 * and a read on every tick. */
static const scenario_t scenarios[] = {
    {"3n-64b-b64", 3, 64, 64, 0, 500000, 20000, 0, 0,
     "3 nodes, 64-byte entries, batches of 64"},
    {"3n-64b-b1", 3, 64, 1, 0, 200000, 5000, 0, 0,
     "3 nodes, 64-byte entries, batches of 1"},
    {"5n-64b-b64", 5, 64, 64, 0, 500000, 20000, 0, 0,
     "5 nodes, 64-byte entries, batches of 64"},
    {"3n-1k-b64", 3, 1024, 64, 0, 50000, 10000, 0, 0,
     "3 nodes, 1 KiB entries, batches of 64"},
    {"3n-16k-b64", 3, 16384, 64, 0, 5000, 2000, 0, 0,
     "3 nodes, 16 KiB entries, batches of 64"},
    {"3n-64b-b64-loss5", 3, 64, 64, 5, 500000, 20000, 0, 0,
     "3 nodes, 64-byte entries, batches of 64, 5% of messages dropped"},
    {"3n-64b-b64-snap10k", 3, 64, 64, 0, 500000, 40000, 10000, 0,
     "3 nodes, 64-byte entries, batches of 64, every node snapshots every 10000 entries"},
    {"3n-64b-b1-snap10k", 3, 64, 1, 0, 200000, 20000, 10000, 0,
     "3 nodes, 64-byte entries, batches of 1, every node snapshots every 10000 entries"},
    {"9n-64b-b1", 9, 64, 1, 0, 50000, 2000, 0, 0,
     "9 nodes, 64-byte entries, batches of 1"},
    {"9n-64b-b64", 9, 64, 64, 0, 500000, 20000, 0, 0,
     "9 nodes, 64-byte entries, batches of 64"},
    {"25n-64b-b1", 25, 64, 1, 0, 20000, 1000, 0, 0,
     "25 nodes, 64-byte entries, batches of 1"},
    {"25n-64b-b64", 25, 64, 64, 0, 200000, 10000, 0, 0,
     "25 nodes, 64-byte entries, batches of 64"},
    {"51n-64b-b1", 51, 64, 1, 0, 5000, 500, 0, 0,
     "51 nodes, 64-byte entries, batches of 1"},
    {"51n-64b-b64", 51, 64, 64, 0, 100000, 5000, 0, 0,
     "51 nodes, 64-byte entries, batches of 64"},
    {"3n-read-b1", 3, 64, 1, 0, 100000, 2000, 0, 1,
     "3 nodes, 64-byte entries, per tick: one write, every node's periodic "
     "(10 ms) and flush, one hop of messages, one read, one hop"},
    {"3n-read-w8", 3, 64, 1, 0, 20000, 500, 0, 8,
     "as 3n-read-b1, but one write every 8 ticks (7 ticks of reads alone)"},
};
#define N_SCENARIOS ((int) (sizeof(scenarios) / sizeof(scenarios[0])))

/* ------------------------------------------------------------ heap hooks */

/* Every library allocation gets a 16-byte header holding its size, so live
 * bytes can be tracked without relying on malloc_usable_size. 16 bytes keep
 * malloc's alignment. */
#define HDR 16
static size_t heap_live;       /* bytes the library holds now */
static size_t heap_peak;
static uint64_t heap_allocs;   /* malloc + calloc + realloc calls */
static uint64_t heap_frees;

static void *hk_malloc(size_t n)
{
    size_t *p = malloc(n + HDR);
    if (!p)
        return NULL;
    p[0] = n;
    heap_live += n;
    if (heap_live > heap_peak)
        heap_peak = heap_live;
    heap_allocs++;
    return (char *) p + HDR;
}

static void *hk_calloc(size_t nmemb, size_t size)
{
    if (size && nmemb > (SIZE_MAX - HDR) / size)
        return NULL;
    size_t n = nmemb * size;
    size_t *p = calloc(1, n + HDR);
    if (!p)
        return NULL;
    p[0] = n;
    heap_live += n;
    if (heap_live > heap_peak)
        heap_peak = heap_live;
    heap_allocs++;
    return (char *) p + HDR;
}

static void hk_free(void *ptr)
{
    if (!ptr)
        return;
    size_t *p = (size_t *) ((char *) ptr - HDR);
    heap_live -= p[0];
    heap_frees++;
    free(p);
}

static void *hk_realloc(void *ptr, size_t n)
{
    if (!ptr)
        return hk_malloc(n);
    size_t *old = (size_t *) ((char *) ptr - HDR);
    size_t old_n = old[0];
    size_t *p = realloc(old, n + HDR);
    if (!p)
        return NULL;
    p[0] = n;
    heap_live = heap_live - old_n + n;
    if (heap_live > heap_peak)
        heap_peak = heap_live;
    heap_allocs++;
    return (char *) p + HDR;
}

/* ------------------------------------------------------------ cluster */

typedef struct {
    raft_server_t *r;
    int idx;                          /* 0..nodes-1; raft node id = idx + 1 */
    raft_node_t *peer[MAX_NODES];     /* this server's handle for node j */
    uint64_t applied;                 /* NORMAL entries applied */
    uint64_t next_seq;                /* sequence number expected next */
    uint64_t apply_errors;            /* out of order / duplicate applies */
} node_t;

enum { MSG_RV = 1, MSG_RV_RESP, MSG_AE, MSG_AE_RESP, MSG_TIMEOUTNOW };

typedef struct {
    int type;
    int from, to;
    union {
        raft_requestvote_req_t rv;
        raft_requestvote_resp_t rv_resp;
        raft_appendentries_req_t ae;
        raft_appendentries_resp_t ae_resp;
    } u;
    raft_entry_t **ents;   /* kept with the slot and reused */
    long ents_cap;
} msg_t;

static node_t nodes[MAX_NODES];
static int n_nodes;
static int leader = -1;               /* index of the current leader */
static raft_time_t fake_now = 1000000; /* microseconds */

static msg_t *q;
static uint64_t q_cap = 256, q_head, q_tail;

static uint32_t rng_state = 0x9e3779b9u;
static uint32_t drop_below;           /* drop a message if rng() < this */

static struct {
    uint64_t sent, dropped, ae, ae_empty, ae_entries, ae_resp, rv, snapshot;
    uint64_t reads, reads_ok, reads_refused, read_rounds, read_seen;
    uint64_t snapshots_taken;
} net;

static int fatal_rc;                  /* RAFT_ERR_SHUTDOWN seen */

static uint32_t rng(void)
{
    uint32_t x = rng_state;
    x ^= x << 13;
    x ^= x >> 17;
    x ^= x << 5;
    return rng_state = x;
}

static void q_grow(void)
{
    /* Only when full: copy every slot in FIFO order (each keeps its entry
     * array), new slots start empty. */
    uint64_t ncap = q_cap * 2;
    msg_t *nq = calloc(ncap, sizeof(*nq));
    if (!nq) {
        fprintf(stderr, "raft_bench: out of memory growing the queue\n");
        exit(2);
    }
    for (uint64_t i = 0; i < q_cap; i++)
        nq[i] = q[(q_head + i) & (q_cap - 1)];
    free(q);
    q = nq;
    q_tail = q_tail - q_head;
    q_head = 0;
    q_cap = ncap;
}

/* A slot for a new message from -> to, or NULL if the network drops it. */
static msg_t *q_push(int type, int from, int to)
{
    net.sent++;
    if (drop_below && rng() < drop_below) {
        net.dropped++;
        return NULL;
    }
    if (q_tail - q_head == q_cap)
        q_grow();
    msg_t *m = &q[q_tail++ & (q_cap - 1)];
    m->type = type;
    m->from = from;
    m->to = to;
    return m;
}

static int peer_index(raft_node_t *node)
{
    return raft_node_get_id(node) - 1;
}

/* ------------------------------------------------------------ callbacks */

static int cb_send_requestvote(raft_server_t *r, void *ud, raft_node_t *node,
                               raft_requestvote_req_t *msg)
{
    (void) r;
    node_t *me = ud;
    net.rv++;
    msg_t *m = q_push(MSG_RV, me->idx, peer_index(node));
    if (m)
        m->u.rv = *msg;
    return 0;
}

static int cb_send_appendentries(raft_server_t *r, void *ud, raft_node_t *node,
                                 raft_appendentries_req_t *msg)
{
    (void) r;
    node_t *me = ud;
    net.ae++;
    msg_t *m = q_push(MSG_AE, me->idx, peer_index(node));
    if (!m)
        return 0;
    m->u.ae = *msg;
    m->u.ae.entries = NULL;
    long n = msg->n_entries;
    if (n <= 0)
        net.ae_empty++;
    if (n > 0) {
        if (n > m->ents_cap) {
            long cap = m->ents_cap ? m->ents_cap : 64;
            while (cap < n)
                cap *= 2;
            raft_entry_t **p = realloc(m->ents, cap * sizeof(*p));
            if (!p) {
                fprintf(stderr, "raft_bench: out of memory\n");
                exit(2);
            }
            m->ents = p;
            m->ents_cap = cap;
        }
        raft_entry_t **src = msg->entries, **dst = m->ents;
        for (long i = 0; i < n; i++) {
            raft_entry_hold(src[i]);
            dst[i] = src[i];
        }
        net.ae_entries += n;
    }
    return 0;
}

static int cb_send_snapshot(raft_server_t *r, void *ud, raft_node_t *node,
                            raft_snapshot_req_t *msg)
{
    (void) r; (void) ud; (void) node; (void) msg;
    /* No snapshot is ever taken, so none should be sent. */
    net.snapshot++;
    return 0;
}

static int cb_send_timeoutnow(raft_server_t *r, void *ud, raft_node_t *node)
{
    (void) r;
    node_t *me = ud;
    q_push(MSG_TIMEOUTNOW, me->idx, peer_index(node));
    return 0;
}

static int cb_applylog(raft_server_t *r, void *ud, raft_entry_t *ety,
                       raft_index_t idx)
{
    (void) r; (void) idx;
    node_t *me = ud;
    if (ety->type == RAFT_LOGTYPE_NORMAL) {
        uint64_t seq;
        memcpy(&seq, ety->data, sizeof(seq));
        if (seq != me->next_seq)
            me->apply_errors++;
        me->next_seq = seq + 1;
        me->applied++;
    }
    return 0;
}

static int cb_persist_metadata(raft_server_t *r, void *ud, raft_term_t term,
                               raft_node_id_t vote)
{
    (void) r; (void) ud; (void) term; (void) vote;
    return 0;
}

static raft_node_id_t cb_get_node_id(raft_server_t *r, void *ud,
                                     raft_entry_t *ety, raft_index_t idx)
{
    (void) r; (void) ud; (void) ety; (void) idx;
    return RAFT_NODE_ID_NONE;
}

static raft_time_t cb_timestamp(raft_server_t *r, void *ud)
{
    (void) r; (void) ud;
    return fake_now;
}

/* A read answered: can_read 1 (served) or 0 (refused, leadership lost). */
static void cb_read(void *arg, int can_read)
{
    (void) arg;
    if (can_read)
        net.reads_ok++;
    else
        net.reads_refused++;
}

/* A read round is a library call that answered at least one read: called
 * after every call that may answer reads. */
static void note_reads(void)
{
    if (net.reads_ok != net.read_seen) {
        net.read_rounds++;
        net.read_seen = net.reads_ok;
    }
}

/* ------------------------------------------------------------ driving */

static void check_rc(int rc, const char *what, int node)
{
    if (rc == RAFT_ERR_SHUTDOWN) {
        fprintf(stderr, "raft_bench: %s on node %d returned RAFT_ERR_SHUTDOWN\n",
                what, node + 1);
        fatal_rc = 1;
    }
}

/* Deliver one message (the one at the head of the queue). The slot stays
 * occupied while the library runs (its callbacks may enqueue more, even
 * grow the queue), so its entry array cannot be reused under our feet. */
static void deliver_one(void)
{
    msg_t *s = &q[q_head & (q_cap - 1)];
    int type = s->type, from = s->from, to = s->to;
    node_t *dst = &nodes[to];
    raft_node_t *src = dst->peer[from];
    int rc;

    switch (type) {
    case MSG_AE: {
        raft_appendentries_req_t req = s->u.ae;
        raft_entry_t **ents = s->ents;
        raft_appendentries_resp_t resp;
        memset(&resp, 0, sizeof(resp));
        req.entries = req.n_entries > 0 ? ents : NULL;
        rc = raft_recv_appendentries(dst->r, src, &req, &resp);
        check_rc(rc, "raft_recv_appendentries", to);
        for (long i = 0; i < req.n_entries; i++)
            raft_entry_release(ents[i]);
        q_head++;
        note_reads();
        net.ae_resp++;
        msg_t *m = q_push(MSG_AE_RESP, to, from);
        if (m)
            m->u.ae_resp = resp;
        return;
    }
    case MSG_AE_RESP: {
        raft_appendentries_resp_t resp = s->u.ae_resp;
        rc = raft_recv_appendentries_response(dst->r, src, &resp);
        check_rc(rc, "raft_recv_appendentries_response", to);
        break;
    }
    case MSG_RV: {
        raft_requestvote_req_t req = s->u.rv;
        raft_requestvote_resp_t resp;
        memset(&resp, 0, sizeof(resp));
        rc = raft_recv_requestvote(dst->r, src, &req, &resp);
        check_rc(rc, "raft_recv_requestvote", to);
        q_head++;
        note_reads();
        msg_t *m = q_push(MSG_RV_RESP, to, from);
        if (m)
            m->u.rv_resp = resp;
        return;
    }
    case MSG_RV_RESP: {
        raft_requestvote_resp_t resp = s->u.rv_resp;
        rc = raft_recv_requestvote_response(dst->r, src, &resp);
        check_rc(rc, "raft_recv_requestvote_response", to);
        break;
    }
    case MSG_TIMEOUTNOW:
        rc = raft_timeout_now(dst->r);
        check_rc(rc, "raft_timeout_now", to);
        break;
    default:
        fprintf(stderr, "raft_bench: corrupt queue\n");
        exit(2);
    }
    q_head++;
    note_reads();
}

static void deliver_all(void)
{
    while (q_head != q_tail)
        deliver_one();
}

/* One hop: deliver what was queued before this call, not the answers and
 * messages that delivering it queues. */
static void deliver_hop(void)
{
    uint64_t end = q_tail;
    while (q_head != end)
        deliver_one();
}

/* Apply on any node whose commit index is ahead of its applied index (some
 * implementations apply on raft_flush or raft_periodic only). */
static void apply_pending(void)
{
    for (int i = 0; i < n_nodes; i++) {
        raft_server_t *r = nodes[i].r;
        if (raft_get_commit_idx(r) > raft_get_last_applied_idx(r))
            check_rc(raft_apply_all(r), "raft_apply_all", i);
        note_reads();
    }
}

static void periodic_all(void)
{
    for (int i = 0; i < n_nodes; i++) {
        check_rc(raft_periodic(nodes[i].r), "raft_periodic", i);
        note_reads();
    }
}

/* Compaction: every node takes a snapshot (of nothing: the benchmark's state
 * machine is a counter) once it has applied `snapshot_every` entries since
 * its last one, and compacts its log up to its applied index. */
static long snapshot_every;
static raft_index_t snap_idx[MAX_NODES];

static void compact_all(void)
{
    if (!snapshot_every)
        return;
    for (int i = 0; i < n_nodes; i++) {
        raft_server_t *r = nodes[i].r;
        raft_index_t applied = raft_get_last_applied_idx(r);
        if (applied - snap_idx[i] < snapshot_every || raft_snapshot_is_in_progress(r))
            continue;
        int rc = raft_begin_snapshot(r);
        check_rc(rc, "raft_begin_snapshot", i);
        if (rc != 0)
            continue;
        rc = raft_end_snapshot(r);
        check_rc(rc, "raft_end_snapshot", i);
        if (rc == 0) {
            snap_idx[i] = applied;
            net.snapshots_taken++;
        }
    }
}

static int find_leader(void)
{
    int found = -1;
    for (int i = 0; i < n_nodes; i++) {
        if (raft_is_leader(nodes[i].r)) {
            if (found >= 0 &&
                raft_get_current_term(nodes[i].r) <= raft_get_current_term(nodes[found].r))
                continue;
            found = i;
        }
    }
    return found;
}

static int request_timeout_ms = 200, election_timeout_ms = 1000;
static uint64_t leader_changes;

/* Run the clock in 10 ms steps until there is a leader. */
static int elect(void)
{
    for (int step = 0; step < 100000 && !fatal_rc; step++) {
        int l = find_leader();
        if (l >= 0) {
            if (leader >= 0 && l != leader)
                leader_changes++;
            leader = l;
            return 0;
        }
        fake_now += 10000;
        periodic_all();
        deliver_all();
    }
    return -1;
}

static int all_applied(void)
{
    raft_index_t target = raft_get_current_idx(nodes[leader].r);
    for (int i = 0; i < n_nodes; i++)
        if (raft_get_last_applied_idx(nodes[i].r) < target)
            return 0;
    /* and every read answered */
    return net.reads == net.reads_ok + net.reads_refused;
}

/* Flush, deliver and heartbeat until every node has applied everything the
 * leader has. */
static int settle(void)
{
    for (int it = 0; it < 10000 && !fatal_rc; it++) {
        if (!raft_is_leader(nodes[leader].r) && elect() != 0)
            return -1;
        raft_server_t *L = nodes[leader].r;
        check_rc(raft_flush(L, raft_get_index_to_sync(L)), "raft_flush", leader);
        deliver_all();
        apply_pending();
        if (all_applied())
            return 0;
        /* Quiet and not done: let a heartbeat carry the commit index (or
         * repair what the network lost). */
        fake_now += (raft_time_t) request_timeout_ms * 1000 + 1000;
        periodic_all();
        deliver_all();
        apply_pending();
        if (all_applied())
            return 0;
    }
    return -1;
}

static uint64_t next_seq;             /* next sequence number to propose */
static uint64_t refused;

/* Propose up to `count` entries on the leader (fewer if it loses
 * leadership: a new one is elected). Returns -1 on a fatal error. */
static int propose(uint64_t count, unsigned int size)
{
    raft_entry_resp_t resp;
    raft_server_t *L = nodes[leader].r;
    for (uint64_t i = 0; i < count; i++) {
        raft_entry_t *e = raft_entry_new(size);
        if (!e) {
            fprintf(stderr, "raft_bench: raft_entry_new failed\n");
            return -1;
        }
        uint64_t seq = next_seq;
        memcpy(e->data, &seq, sizeof(seq));
        e->id = (raft_entry_id_t) seq;
        e->type = RAFT_LOGTYPE_NORMAL;
        int rc = raft_recv_entry(L, e, &resp);
        raft_entry_release(e);
        if (rc == 0) {
            next_seq++;
            continue;
        }
        check_rc(rc, "raft_recv_entry", leader);
        if (fatal_rc)
            return -1;
        if (++refused > 1000) {
            fprintf(stderr, "raft_bench: raft_recv_entry keeps failing "
                    "(%d) on the leader\n", rc);
            return -1;
        }
        /* Lost leadership (not expected here): elect and retry. */
        if (elect() != 0)
            return -1;
        break;
    }
    return 0;
}

/* Propose `count` entries in batches; returns 0 when all are applied on
 * every node. */
static int run_entries(uint64_t count, unsigned int size, int batch)
{
    uint64_t end = next_seq + count;
    uint64_t rounds = 0;

    refused = 0;
    while (next_seq < end && !fatal_rc) {
        uint64_t b = end - next_seq;
        if (b > (uint64_t) batch)
            b = batch;
        if (propose(b, size) != 0)
            return -1;
        raft_server_t *L = nodes[leader].r;
        check_rc(raft_flush(L, raft_get_index_to_sync(L)), "raft_flush", leader);
        deliver_all();
        apply_pending();
        compact_all();

        /* 50 us of fake time per round; raft_periodic every 20 rounds. */
        fake_now += 50;
        if (++rounds % 20 == 0) {
            periodic_all();
            deliver_all();
        }
    }
    return settle();
}

/* Tick mode, the shape of a simulator's loop with a read on every tick:
 * each tick the leader proposes a batch; the clock moves 10 ms and every
 * node gets raft_periodic and raft_flush(raft_get_index_to_sync()); one hop
 * of messages is delivered (a write only every `every` ticks); the leader
 * gets one raft_recv_read_request;
 * one more hop is delivered. Applying happens where the library does it
 * (no raft_apply_all from the harness), so reads are answered when the
 * library's own rules allow. */
static int run_ticks(uint64_t count, unsigned int size, int batch, int every)
{
    uint64_t end = next_seq + count, tick = 0;

    refused = 0;
    while (next_seq < end && !fatal_rc) {
        uint64_t b = end - next_seq;
        if (b > (uint64_t) batch)
            b = batch;
        if (tick++ % (uint64_t) every == 0 && propose(b, size) != 0)
            return -1;
        fake_now += 10000;
        for (int i = 0; i < n_nodes; i++) {
            raft_server_t *r = nodes[i].r;
            check_rc(raft_periodic(r), "raft_periodic", i);
            check_rc(raft_flush(r, raft_get_index_to_sync(r)), "raft_flush", i);
            note_reads();
        }
        deliver_hop();
        if (!raft_is_leader(nodes[leader].r) && elect() != 0)
            return -1;
        net.reads++;
        int rc = raft_recv_read_request(nodes[leader].r, cb_read, NULL);
        check_rc(rc, "raft_recv_read_request", leader);
        if (rc != 0)
            net.reads_refused++;
        note_reads();
        deliver_hop();
        compact_all();
    }
    return settle();
}

/* What is measured; kept out of line so that callgrind can collect exactly
 * this call (--toggle-collect=measured_run, see bench/bench.py). */
__attribute__((noinline)) int measured_run(uint64_t count, unsigned int size, int batch,
                                           int ticks)
{
    return ticks ? run_ticks(count, size, batch, ticks) : run_entries(count, size, batch);
}

/* ------------------------------------------------------------ setup */

static void cluster_init(int n, int drop_pct)
{
    raft_cbs_t cbs;
    memset(&cbs, 0, sizeof(cbs));
    cbs.send_requestvote = cb_send_requestvote;
    cbs.send_appendentries = cb_send_appendentries;
    cbs.send_snapshot = cb_send_snapshot;
    cbs.send_timeoutnow = cb_send_timeoutnow;
    cbs.applylog = cb_applylog;
    cbs.persist_metadata = cb_persist_metadata;
    cbs.get_node_id = cb_get_node_id;
    cbs.timestamp = cb_timestamp;

    n_nodes = n;
    leader = -1;
    next_seq = 0;
    leader_changes = 0;
    memset(&net, 0, sizeof(net));
    snapshot_every = 0;
    memset(snap_idx, 0, sizeof(snap_idx));
    drop_below = drop_pct > 0 ? (uint32_t) ((double) drop_pct / 100.0 * 4294967296.0) : 0;
    rng_state = 0x9e3779b9u;

    if (!q) {
        q = calloc(q_cap, sizeof(*q));
        if (!q) {
            fprintf(stderr, "raft_bench: out of memory\n");
            exit(2);
        }
    }
    q_head = q_tail = 0;

    for (int i = 0; i < n; i++) {
        node_t *nd = &nodes[i];
        memset(nd, 0, sizeof(*nd));
        nd->idx = i;
        nd->r = raft_new();
        if (!nd->r) {
            fprintf(stderr, "raft_bench: raft_new failed\n");
            exit(2);
        }
        raft_set_callbacks(nd->r, &cbs, nd);
        for (int j = 0; j < n; j++) {
            if (!raft_add_node(nd->r, NULL, j + 1, i == j)) {
                fprintf(stderr, "raft_bench: raft_add_node failed\n");
                exit(2);
            }
        }
        for (int j = 0; j < n; j++)
            nd->peer[j] = raft_get_node(nd->r, j + 1);
        raft_config(nd->r, 1, RAFT_CONFIG_AUTO_FLUSH, 0);
    }
    raft_config(nodes[0].r, 0, RAFT_CONFIG_REQUEST_TIMEOUT, &request_timeout_ms);
    raft_config(nodes[0].r, 0, RAFT_CONFIG_ELECTION_TIMEOUT, &election_timeout_ms);
    if (request_timeout_ms <= 0)
        request_timeout_ms = 200;
}

static void cluster_destroy(void)
{
    /* Drop whatever is still queued (holds included). */
    while (q_head != q_tail) {
        msg_t *s = &q[q_head++ & (q_cap - 1)];
        if (s->type == MSG_AE)
            for (long i = 0; i < s->u.ae.n_entries; i++)
                raft_entry_release(s->ents[i]);
    }
    for (int i = 0; i < n_nodes; i++) {
        raft_destroy(nodes[i].r);
        nodes[i].r = NULL;
    }
}

/* ------------------------------------------------------------ measuring */

typedef struct {
    const scenario_t *sc;
    uint64_t entries;          /* applied on every node during measurement */
    double wall_s, cpu_s;
    double heap_per_entry;     /* library heap bytes per entry (cluster) */
    double overhead_per_node;  /* beyond the entry block, per entry per node */
    double allocs_per_entry;
    double proc_heap_per_entry;
    double msgs_per_entry;
    uint64_t dropped, leader_changes, apply_errors, snapshots;
    uint64_t msgs, ae, ae_empty, reads, reads_ok, read_rounds, snapshots_taken;
    double faults_per_entry;   /* minor + major page faults per entry */
    size_t heap_left;          /* library heap left after raft_destroy */
    int ok;
} result_t;

static double now_s(clockid_t clk)
{
    struct timespec ts;
    clock_gettime(clk, &ts);
    return (double) ts.tv_sec + (double) ts.tv_nsec * 1e-9;
}

static double page_faults(void)
{
    struct rusage ru;
    if (getrusage(RUSAGE_SELF, &ru) != 0)
        return 0;
    return (double) ru.ru_minflt + (double) ru.ru_majflt;
}

static size_t proc_heap(void)
{
#if defined(__GLIBC__) && (__GLIBC__ > 2 || (__GLIBC__ == 2 && __GLIBC_MINOR__ >= 33))
    struct mallinfo2 mi = mallinfo2();
    return mi.uordblks + mi.hblkhd;
#else
    return 0;
#endif
}

static int run_scenario(const scenario_t *sc, long entries, result_t *res)
{
    memset(res, 0, sizeof(*res));
    res->sc = sc;
    if (sc->entry_size < sizeof(uint64_t)) {
        fprintf(stderr, "raft_bench: entries must hold at least 8 bytes\n");
        return -1;
    }
    cluster_init(sc->nodes, sc->drop_pct);

    if (elect() != 0) {
        fprintf(stderr, "raft_bench: %s: no leader elected\n", sc->name);
        cluster_destroy();
        return -1;
    }
    if (settle() != 0) {
        fprintf(stderr, "raft_bench: %s: the leader's first entries were not "
                "applied on every node\n", sc->name);
        cluster_destroy();
        return -1;
    }
    /* Warm-up: grows the queue's entry arrays and the logs' first chunks. */
    long warm = entries / 10 < 2000 ? entries / 10 : 2000;
    if (warm < sc->batch)
        warm = sc->batch;
    snapshot_every = sc->snapshot_every;
    if ((sc->read_ticks ? run_ticks(warm, sc->entry_size, sc->batch, sc->read_ticks)
                        : run_entries(warm, sc->entry_size, sc->batch)) != 0) {
        fprintf(stderr, "raft_bench: %s: warm-up entries were not applied on "
                "every node (leader %d, applied:", sc->name, leader + 1);
        for (int i = 0; i < n_nodes; i++)
            fprintf(stderr, " %" PRIu64, nodes[i].applied);
        fprintf(stderr, ")\n");
        cluster_destroy();
        return -1;
    }

    uint64_t applied0[MAX_NODES];
    for (int i = 0; i < n_nodes; i++)
        applied0[i] = nodes[i].applied;
    uint64_t sent0 = net.sent, ae0 = net.ae, aee0 = net.ae_empty, rd0 = net.reads,
             rdok0 = net.reads_ok, rr0 = net.read_rounds, snap0 = net.snapshots_taken;
    uint64_t lc0 = leader_changes;
    size_t heap0 = heap_live;
    uint64_t allocs0 = heap_allocs;
    size_t proc0 = proc_heap();
    double flt0 = page_faults();
    double w0 = now_s(CLOCK_MONOTONIC), c0 = now_s(CLOCK_PROCESS_CPUTIME_ID);

    int rc = measured_run((uint64_t) entries, sc->entry_size, sc->batch, sc->read_ticks);

    double c1 = now_s(CLOCK_PROCESS_CPUTIME_ID), w1 = now_s(CLOCK_MONOTONIC);
    size_t heap1 = heap_live;
    uint64_t allocs1 = heap_allocs;
    size_t proc1 = proc_heap();
    double flt1 = page_faults();

    uint64_t min_applied = UINT64_MAX;
    for (int i = 0; i < n_nodes; i++) {
        uint64_t a = nodes[i].applied - applied0[i];
        if (a < min_applied)
            min_applied = a;
        res->apply_errors += nodes[i].apply_errors;
    }
    res->entries = min_applied;
    res->wall_s = w1 - w0;
    res->cpu_s = c1 - c0;
    double n = (double) (entries > 0 ? entries : 1);
    res->heap_per_entry = ((double) heap1 - (double) heap0) / n;
    res->overhead_per_node = (res->heap_per_entry -
                              (double) (sizeof(raft_entry_t) + sc->entry_size)) / sc->nodes;
    res->allocs_per_entry = (double) (allocs1 - allocs0) / n;
    res->proc_heap_per_entry = ((double) proc1 - (double) proc0) / n;
    res->msgs_per_entry = (double) (net.sent - sent0) / n;
    res->msgs = net.sent - sent0;
    res->faults_per_entry = (flt1 - flt0) / n;
    res->ae = net.ae - ae0;
    res->ae_empty = net.ae_empty - aee0;
    res->reads = net.reads - rd0;
    res->reads_ok = net.reads_ok - rdok0;
    res->read_rounds = net.read_rounds - rr0;
    res->snapshots_taken = net.snapshots_taken - snap0;
    res->dropped = net.dropped;
    res->leader_changes = leader_changes - lc0;
    res->snapshots = net.snapshot;
    res->ok = rc == 0 && !fatal_rc && min_applied == (uint64_t) entries &&
              res->apply_errors == 0 && res->reads_ok == res->reads &&
              (!sc->snapshot_every || res->snapshots_taken > 0 ||
               entries < sc->snapshot_every);

    if (!res->ok) {
        fprintf(stderr, "raft_bench: %s: FAILED: proposed %ld, applied on every "
                "node %" PRIu64 " (per node:", sc->name, entries, min_applied);
        for (int i = 0; i < n_nodes; i++)
            fprintf(stderr, " %" PRIu64, nodes[i].applied - applied0[i]);
        fprintf(stderr, "), out-of-order applies %" PRIu64 ", leader %d, "
                "commit idx %ld, current idx %ld%s\n", res->apply_errors, leader + 1,
                (long) raft_get_commit_idx(nodes[leader].r),
                (long) raft_get_current_idx(nodes[leader].r),
                fatal_rc ? ", RAFT_ERR_SHUTDOWN seen" : "");
    }
    cluster_destroy();
    res->heap_left = heap_live;
    return res->ok ? 0 : -1;
}

static void print_header(void)
{
    printf("%-18s %9s %12s %10s %10s %12s %10s %9s %8s %8s %7s\n",
           "scenario", "entries", "entries/s", "ns CPU/e",
           "heap B/e", "ovh B/e/node", "proc B/e", "allocs/e", "msgs/e", "flt/e", "status");
}

static void print_row(const result_t *r)
{
    double cpu_ns = r->entries ? r->cpu_s * 1e9 / (double) r->entries : 0;
    double eps = r->wall_s > 0 ? (double) r->entries / r->wall_s : 0;
    printf("%-18s %9" PRIu64 " %12.0f %10.1f %10.1f %12.1f %10.1f %9.3f %8.3f %8.3f %7s\n",
           r->sc->name, r->entries, eps, cpu_ns, r->heap_per_entry,
           r->overhead_per_node, r->proc_heap_per_entry, r->allocs_per_entry,
           r->msgs_per_entry, r->faults_per_entry,
           r->ok ? "ok" : "FAILED");
    fflush(stdout);
}

static int tsv;                       /* --tsv: machine-readable rows */

/* One tab-separated line per scenario (read by bench/bench.py). */
static void print_tsv(const result_t *r)
{
    double cpu_ns = r->entries ? r->cpu_s * 1e9 / (double) r->entries : 0;
    double eps = r->wall_s > 0 ? (double) r->entries / r->wall_s : 0;
    printf("row\t%s\t%" PRIu64 "\t%.0f\t%.1f\t%.1f\t%.3f\t%" PRIu64 "\t%" PRIu64
           "\t%" PRIu64 "\t%" PRIu64 "\t%" PRIu64 "\t%" PRIu64 "\t%" PRIu64 "\t%.3f\t%s\n",
           r->sc->name, r->entries, eps, cpu_ns, r->heap_per_entry, r->allocs_per_entry,
           r->msgs, r->ae, r->ae_empty, r->reads, r->reads_ok, r->read_rounds,
           r->snapshots_taken, r->faults_per_entry, r->ok ? "ok" : "FAILED");
    fflush(stdout);
}

static void print_notes(const result_t *r)
{
    const char *name = r->sc->name;
    if (tsv) {
        print_tsv(r);
        return;
    }
    print_row(r);
    if (r->reads || r->sc->nodes > 5 || r->sc->batch == 1)
        printf("  (%s: %" PRIu64 " messages: %" PRIu64 " appendentries, %" PRIu64
               " of them empty; %" PRIu64 " reads, %" PRIu64 " served in %" PRIu64
               " read rounds)\n", name, r->msgs, r->ae, r->ae_empty, r->reads,
               r->reads_ok, r->read_rounds);
    if (r->snapshots_taken)
        printf("  (%s: %" PRIu64 " snapshots taken over all nodes)\n", name,
               r->snapshots_taken);
    /* Process heap growth beyond what the hooks saw plus glibc's per-chunk
     * cost of the hooked allocations (16-byte hook header, 8-byte chunk
     * header, 16-byte rounding), estimated on the entry block: memory the
     * library allocated without going through raft_malloc. */
    size_t n_ety = sizeof(raft_entry_t) + r->sc->entry_size;
    size_t chunk = (n_ety + HDR + 8 + 15) & ~(size_t) 15;
    double bypass = r->proc_heap_per_entry - r->heap_per_entry -
                    r->allocs_per_entry * (double) (chunk - n_ety);
    if (bypass > 2.0)
        printf("  (%s: about %.1f B/entry (%.1f per node) of process heap were "
               "allocated outside raft_set_heap_functions' hooks)\n",
               name, bypass, bypass / r->sc->nodes);
    if (r->dropped || r->leader_changes || r->snapshots)
        printf("  (%s: %" PRIu64 " messages dropped, %" PRIu64
               " leader changes, %" PRIu64 " snapshots sent)\n", name,
               r->dropped, r->leader_changes, r->snapshots);
    if (r->heap_left)
        printf("  (%s: %zu bytes of library heap still allocated after "
               "raft_destroy on every node)\n", name, r->heap_left);
    fflush(stdout);
}

/* Run a scenario, in a child process when `isolate` is set so that no run
 * starts on memory an earlier one has faulted in and freed (rows then read
 * the same as single-scenario runs). The child hands its result back
 * through a pipe. */
static int run_isolated(const scenario_t *sc, long n, result_t *res, int isolate)
{
    memset(res, 0, sizeof(*res));
    if (!isolate)
        return run_scenario(sc, n, res);

    int fd[2];
    if (pipe(fd) != 0) {
        perror("raft_bench: pipe");
        return -1;
    }
    fflush(stdout);
    fflush(stderr);
    pid_t pid = fork();
    if (pid < 0) {
        perror("raft_bench: fork");
        return -1;
    }
    if (pid == 0) {
        close(fd[0]);
        result_t r;
        int rc = run_scenario(sc, n, &r);
        ssize_t w = write(fd[1], &r, sizeof(r));
        _exit(rc == 0 && w == (ssize_t) sizeof(r) ? 0 : 1);
    }
    close(fd[1]);
    ssize_t got = read(fd[0], res, sizeof(*res));
    close(fd[0]);
    int status = 0;
    waitpid(pid, &status, 0);
    if (got != (ssize_t) sizeof(*res)) {
        memset(res, 0, sizeof(*res));
        if (WIFSIGNALED(status))
            printf("%-18s killed by signal %d\n", sc->name, WTERMSIG(status));
        else
            printf("%-18s exited with status %d\n", sc->name, WEXITSTATUS(status));
        return -1;
    }
    return WIFEXITED(status) && WEXITSTATUS(status) == 0 ? 0 : -1;
}

static void usage(FILE *f)
{
    fprintf(f,
            "usage: raft_bench [--scenario=NAME[,NAME...]] [--all] [--entries=N] [--list]\n"
            "  --scenario=NAME  run these scenarios (default: all)\n"
            "  --all            run every scenario and print a table\n"
            "  --entries=N      entries to commit per scenario (default: per scenario)\n"
            "  --repeat=N       run each scenario N times (each in its own process),\n"
            "                   report the run with the least CPU time\n"
            "  --list           list the scenarios\n"
            "  --list-tsv       the same, tab-separated: name, nodes, default entries,\n"
            "                   entries for a callgrind run\n"
            "  --tsv            one tab-separated row per scenario: name, entries,\n"
            "                   entries/s, ns CPU/e, heap B/e, allocs/e, messages,\n"
            "                   appendentries, empty appendentries, reads, reads served,\n"
            "                   read rounds, snapshots taken, page faults/e, status\n"
            "Columns: entries committed and applied on every node; entries/s (wall\n"
            "clock); ns CPU/e (CLOCK_PROCESS_CPUTIME_ID per entry, harness included);\n"
            "heap B/e (library heap growth per entry, whole cluster: entries are\n"
            "shared between the in-process nodes); ovh B/e/node (heap B/e minus the\n"
            "entry block sizeof(raft_entry_t)+payload, divided by the nodes: what\n"
            "each node's log costs per entry); allocs/e (library allocations per\n"
            "entry); proc B/e (process heap growth per entry from mallinfo2: the\n"
            "same plus malloc's overhead and the hooks' 16-byte header, plus any\n"
            "allocation that bypasses the hooks); msgs/e (messages sent per entry);\n"
            "flt/e (page faults of the process per entry: fresh memory costs kernel\n"
            "time, counted in ns CPU/e).\n");
}

int main(int argc, char **argv)
{
    const char *names = NULL;
    long entries = 0;
    int repeat = 1;

    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (!strncmp(a, "--scenario=", 11)) {
            names = a + 11;
        } else if (!strcmp(a, "--all")) {
            names = NULL;
        } else if (!strncmp(a, "--entries=", 10)) {
            char *end;
            errno = 0;
            entries = strtol(a + 10, &end, 10);
            if (errno || *end || entries <= 0) {
                fprintf(stderr, "raft_bench: bad --entries\n");
                return 2;
            }
        } else if (!strncmp(a, "--repeat=", 9)) {
            repeat = atoi(a + 9);
            if (repeat < 1 || repeat > 100) {
                fprintf(stderr, "raft_bench: bad --repeat\n");
                return 2;
            }
        } else if (!strcmp(a, "--tsv")) {
            tsv = 1;
        } else if (!strcmp(a, "--list-tsv")) {
            for (int s = 0; s < N_SCENARIOS; s++)
                printf("%s\t%d\t%ld\t%ld\n", scenarios[s].name, scenarios[s].nodes,
                       scenarios[s].default_entries, scenarios[s].instr_entries);
            return 0;
        } else if (!strcmp(a, "--list")) {
            for (int s = 0; s < N_SCENARIOS; s++)
                printf("%-18s %s (default %ld entries)\n", scenarios[s].name,
                       scenarios[s].what, scenarios[s].default_entries);
            return 0;
        } else if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
            usage(stdout);
            return 0;
        } else {
            fprintf(stderr, "raft_bench: unknown argument %s\n", a);
            usage(stderr);
            return 2;
        }
    }

    /* Before any other library call, so every allocation is counted. */
    raft_set_heap_functions(hk_malloc, hk_calloc, hk_realloc, hk_free);
    srand(1);

    int selected[N_SCENARIOS], n_sel = 0;
    if (!names) {
        for (int s = 0; s < N_SCENARIOS; s++)
            selected[n_sel++] = s;
    } else {
        const char *p = names;
        while (*p) {
            size_t len = strcspn(p, ",");
            int found = -1;
            for (int s = 0; s < N_SCENARIOS; s++)
                if (strlen(scenarios[s].name) == len && !strncmp(scenarios[s].name, p, len))
                    found = s;
            if (found < 0) {
                fprintf(stderr, "raft_bench: unknown scenario %.*s (see --list)\n",
                        (int) len, p);
                return 2;
            }
            if (n_sel < N_SCENARIOS)
                selected[n_sel++] = found;
            p += len;
            if (*p == ',')
                p++;
        }
    }

    int failed = 0;
    if (!tsv)
        print_header();
    fflush(stdout);
    for (int k = 0; k < n_sel; k++) {
        const scenario_t *sc = &scenarios[selected[k]];
        long n = entries ? entries : sc->default_entries;
        result_t best;
        int have = 0, ok = 1;
        for (int rep = 0; rep < repeat; rep++) {
            result_t res;
            if (run_isolated(sc, n, &res, n_sel > 1 || repeat > 1) != 0 || !res.ok)
                ok = 0;
            if (!res.sc)
                continue;
            if (!have || !res.ok || (best.ok && res.cpu_s < best.cpu_s))
                best = res;
            have = 1;
        }
        if (have)
            print_notes(&best);
        if (!ok || !have)
            failed++;
    }
    return failed ? 1 : 0;
}
