/*
 * libraft deterministic cluster simulator.
 *
 * Drives many libraft servers through the public raft_* entry points, with a
 * seeded PRNG as the only source of randomness, a fake clock (the timestamp
 * callback) and a simulated network and disk. Faults: message drop,
 * duplication, reordering and delay, one-way and two-way partitions, crashes
 * with restart from exactly what was made durable, log compaction and
 * snapshot transfer, membership changes (add non-voting, promote, remove,
 * including the leader), read requests, leadership transfers, client
 * proposals, auto flush on or off.
 *
 * Safety properties are checked from the outside on every step (and, where
 * the event itself is observable, at the callback that reveals it):
 *   election safety, log matching, leader completeness, state machine safety,
 *   durability of committed entries across crashes, persistence of term and
 *   vote before messages that depend on them, linearizable reads, and
 *   liveness after faults heal.
 *
 * On a violation the simulator prints the seed, the step, the property, the
 * command line that replays the run and the last events, and exits 1.
 *
 * Usage: sim [--key=value ...]   (see usage() below)
 */
#define _GNU_SOURCE
#include <limits.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "harness.h"
#include "raft.h"
#include "raft_compat.h"
#include "raft_store.h"

#define MAXMEM 32  /* members in a snapshot or a boot configuration (checked) */
#define MAXLIVE 9  /* cluster members at most */
#define TICK_MS 10 /* virtual time per step */
#define NKEYS 8    /* keys of the key-value state machine */
#define KEY_AT 4   /* byte of a write's data that holds its key */
#define INDEX_INF LONG_MAX

/* ------------------------------------------------------------------------ */
/* PRNG: the harness's splitmix64, one stream per run. Never rand(). */

static hs_rng_t g_rng;
static uint64_t rnd64(void) { return hs_rng_next(&g_rng); }
static double rndf(void) { return hs_rng_unit(&g_rng); }
static long rndn(long n) { return hs_rng_below(&g_rng, n); }
static long rndr(long lo, long hi) { return hs_rng_range(&g_rng, lo, hi); }
static int chance(double p) { return hs_rng_chance(&g_rng, p); }

static uint64_t mix64(uint64_t h, uint64_t v)
{
    h ^= v + 0x9E3779B97F4A7C15ULL + (h << 6) + (h >> 2);
    h *= 0xff51afd7ed558ccdULL;
    return h ^ (h >> 33);
}
static uint64_t fnv(const void *p, size_t n)
{
    const unsigned char *b = p;
    uint64_t h = 1469598103934665603ULL;
    for (size_t i = 0; i < n; i++) {
        h ^= b[i];
        h *= 1099511628211ULL;
    }
    return h;
}

/* ------------------------------------------------------------------------ */
/* Configuration */

typedef struct {
    uint64_t seed;
    int nodes;
    long steps;
    double drop, dup, reorder, delay;
    double partition, oneway; /* oneway: fraction of partitions that are one-way */
    double crash, compact, member, read, transfer, propose;
    double disk_fail; /* persist_metadata / load_snapshot failures */
    double fsync;     /* per-step chance that a pending background fsync completes */
    int autoflush;   /* 1 on, 0 off, -1 random per node */
    int builtin_log; /* 1 built-in log, 0 the simulator's, -1 random per boot */
    int store;       /* 1: every node's log and metadata also on a raft_store (see store_*) */
    int nonblocking; /* nonblocking apply: 1, 0, -1 random per node */
    int heal_every;  /* steps between forced heals (0: only at the end) */
    int snap_span;   /* a local snapshot spans up to this many steps */
    int no_membership_check; /* skip the single-server change rule check */
    int stale_reads; /* self-test: reads return a key's previous value */
    int live_bound;  /* steps allowed after a heal to elect and commit */
    int max_ids;     /* node ids 1..max_ids over one run (joiners stop there) */
    int randomize;   /* derive the whole configuration from the seed */
    int verbose;
    int trace;       /* events kept in the ring buffer */
    long seeds;      /* number of consecutive seeds to run */
    int replay_check;
    int require_coverage;
    int quiet;
} cfg_t;

static cfg_t C;

/* ------------------------------------------------------------------------ */
/* Trace ring buffer */

#define EVLEN 200
static char (*g_ring)[EVLEN];
static long g_ring_n;
static long g_step;
static uint64_t g_digest;

static void ev(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void ev(const char *fmt, ...)
{
    char buf[EVLEN];
    int k = snprintf(buf, sizeof buf, "[%ld] ", g_step);
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf + k, sizeof buf - (size_t)k, fmt, ap);
    va_end(ap);
    g_digest = mix64(g_digest, fnv(buf, strlen(buf)));
    if (C.verbose)
        printf("%s\n", buf);
    if (C.trace > 0) {
        memcpy(g_ring[g_ring_n % C.trace], buf, EVLEN);
        g_ring_n++;
    }
}

static void print_cmdline(FILE *f);

static void violation(const char *prop, const char *fmt, ...) __attribute__((format(printf, 2, 3), noreturn));
static void violation(const char *prop, const char *fmt, ...)
{
    char buf[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    fflush(stdout);
    fprintf(stderr, "\n=== VIOLATION: %s ===\n", prop);
    fprintf(stderr, "seed=%llu step=%ld\n%s\n", (unsigned long long)C.seed, g_step, buf);
    fprintf(stderr, "replay: ");
    print_cmdline(stderr);
    long n = g_ring_n < C.trace ? g_ring_n : C.trace;
    fprintf(stderr, "last %ld events:\n", n);
    for (long i = g_ring_n - n; i < g_ring_n; i++)
        fprintf(stderr, "  %s\n", g_ring[i % C.trace]);
    fflush(stderr);
    _exit(1);
}

/* ------------------------------------------------------------------------ */
/* World */

typedef hs_member_t member_t;

typedef struct {
    raft_index_t idx;
    raft_term_t term;
    raft_index_t sm_idx;
    uint64_t sm_hash;
    int32_t kv[NKEYS]; /* the key-value map: per key, the id of its last write */
    int nmem;
    member_t mem[MAXMEM];
} snap_t;


enum { N_UNUSED, N_UP, N_DOWN, N_RETIRED };

typedef struct node {
    int id;
    int status;
    raft_server_t *r;
    int boots;
    /* durable: the log (given to the library through raft_new_with_log, or
     * the built-in log's mirror; entries [base+1, base+synced] survive a
     * crash), term and vote, the snapshot image (disk.snap) and its parsed
     * form (snap) */
    hs_log_t log;
    hs_disk_t disk; /* also the snapshot being received (disk.in) */
    snap_t snap;
    member_t boot[MAXMEM];
    int nboot;
    /* volatile */
    raft_index_t sm_idx;
    uint64_t sm_hash;
    int32_t kv[NKEYS];
    int32_t kv_prev[NKEYS]; /* each key's value before its last write (--stale-reads) */
    raft_index_t seen_commit;
    raft_index_t lc_checked; /* leader completeness verified up to, this term */
    raft_term_t lc_term;
    int autoflush, nonblocking;
    int builtin;    /* this boot runs on the built-in log, mirrored to `log` */
    int destroying; /* inside raft_destroy: log_clear is not a reset */
    raft_index_t sync_target;
    int snap_busy, snap_wait;
    raft_index_t loading_idx; /* snapshot being loaded (inside load_snapshot) */
    snap_t pending;
    long restart_at;
    int joining;
    long *inflight_ae; /* appendentries queued to each node id */
    int inflight_n;
    int promo;           /* has sufficient logs: to be promoted */
    raft_index_t retire; /* index of its committed removal, until retired */
    raft_store_t *st; /* --store: the node's durable store (NULL while down) */
} node_t;

typedef hs_msg_t msg_t;

typedef struct {
    raft_term_t term;
    raft_entry_id_t id;
    short type;
    char set, smset;
    uint64_t dh;
    raft_term_t obs_term;
    uint64_t smhash;
    int dur_checked;
} cinfo_t;

typedef struct {
    raft_index_t idx;
    raft_term_t term;
    raft_entry_id_t id;
    short type;
    char used;
    uint64_t dh;
    raft_term_t prev;
} canon_t;

typedef struct {
    int node, boot;
    raft_term_t term;
    raft_index_t floor;
    long step;
    int done;
    int key;
    int32_t value;   /* what the read returned (can_read = 1) */
    long inv, resp;  /* history clock at request and at answer */
} readrec_t;

/* A client write: entry id -> key, when it was proposed, where and when
 * it committed (first applied anywhere). */
typedef struct {
    int key;
    char is_write;
    long inv, comp;
    raft_index_t idx;
} wrec_t;

typedef struct {
    long drops, dups, delays, reorders, partitions, oneway, twoway, crashes,
        restarts, snapshots, snap_loads, snap_cancel, adds, promotes, removes,
        leader_removes, retired, reads_ok, reads_fail, transfers,
        transfer_events, proposals, proposals_ok, elections, heals,
        shutdowns, autoflush_off, builtin_boots, msgs, persist_fails, load_fails, catchups,
        readds, lin_reads;
} stats_t;

static struct {
    node_t **nodes; /* by id, 1..next_id-1 (each allocated on its own: pointers stay) */
    int nodes_cap;
    int next_id;
    hs_net_t net;     /* the queue, the links (partitions) and message faults */
    hs_clock_t clock; /* what the timestamp callback returns */
    long part_until;
    cinfo_t *com;
    raft_index_t com_cap, com_max;
    canon_t *canon;
    long canon_cap, canon_n;
    hs_terms_t leaders; /* the leader of each term */
    readrec_t *reads;
    long nreads, reads_cap;
    wrec_t *writes;
    long writes_cap;
    long hclock; /* history clock: one tick per invocation or completion */
    int healing, final_heal, catchup;
    raft_index_t catchup_target;
    long heal_start;
    raft_index_t heal_commit;
    raft_entry_id_t next_entry_id;
    int chunk_size;
    int use_backpressure, use_get_entries;
    stats_t st;
} W;

static stats_t g_total;

/* The node with that id, NULL if there is none. */
static node_t *node_get(int id)
{
    return id > 0 && id < W.next_id && id < W.nodes_cap ? W.nodes[id] : NULL;
}

/* The (zeroed, N_UNUSED) node of a new id. */
static node_t *node_slot(int id)
{
    if (id >= W.nodes_cap) {
        int cap = W.nodes_cap ? W.nodes_cap * 2 : 16;
        while (cap <= id)
            cap *= 2;
        W.nodes = hs_realloc(W.nodes, (size_t)cap * sizeof *W.nodes);
        memset(W.nodes + W.nodes_cap, 0, (size_t)(cap - W.nodes_cap) * sizeof *W.nodes);
        W.nodes_cap = cap;
    }
    if (!W.nodes[id]) {
        W.nodes[id] = hs_realloc(NULL, sizeof *W.nodes[id]);
        memset(W.nodes[id], 0, sizeof *W.nodes[id]);
    }
    return W.nodes[id];
}

/* An array with room for every node id (reused: one user at a time). */
static int *scratch_ids(void)
{
    static int *buf;
    static int cap;
    if (cap < W.next_id + 1) {
        cap = 2 * (W.next_id + 1);
        buf = hs_realloc(buf, (size_t)cap * sizeof *buf);
    }
    return buf;
}

static long inflight_get(const node_t *n, int to)
{
    return to >= 0 && to < n->inflight_n ? n->inflight_ae[to] : 0;
}

static void inflight_add(node_t *n, int to, long k)
{
    if (to < 0)
        return;
    if (to >= n->inflight_n) {
        int cap = n->inflight_n ? n->inflight_n : 16;
        while (cap <= to)
            cap *= 2;
        n->inflight_ae = hs_realloc(n->inflight_ae, (size_t)cap * sizeof *n->inflight_ae);
        memset(n->inflight_ae + n->inflight_n, 0, (size_t)(cap - n->inflight_n) * sizeof *n->inflight_ae);
        n->inflight_n = cap;
    }
    n->inflight_ae[to] += k;
}

/* ------------------------------------------------------------------------ */
/* Global records: committed entries, canonical (idx, term) table, leaders */

static cinfo_t *com_at(raft_index_t idx)
{
    if (idx >= W.com_cap) {
        raft_index_t nc = W.com_cap ? W.com_cap : 1024;
        while (nc <= idx)
            nc *= 2;
        W.com = realloc(W.com, (size_t)nc * sizeof *W.com);
        memset(W.com + W.com_cap, 0, (size_t)(nc - W.com_cap) * sizeof *W.com);
        W.com_cap = nc;
    }
    return &W.com[idx];
}

static uint64_t ety_hash(raft_entry_t *e) { return fnv(e->data, e->data_len); }

static int cfg_node_id(raft_entry_t *e)
{
    int id;
    if (e->data_len < sizeof id)
        return -1;
    memcpy(&id, e->data, sizeof id);
    return id;
}

/* The key a write (a NORMAL entry) sets; its value is the entry's id. */
static int key_of(raft_entry_t *e)
{
    return e->data_len > KEY_AT ? (unsigned char)e->data[KEY_AT] % NKEYS : 0;
}

static int is_cfg(short type)
{
    return type == RAFT_LOGTYPE_ADD_NONVOTING_NODE || type == RAFT_LOGTYPE_ADD_NODE ||
           type == RAFT_LOGTYPE_REMOVE_NODE;
}

static void record_commit(raft_index_t idx, raft_entry_t *e, raft_term_t obs_term, int who)
{
    cinfo_t *c = com_at(idx);
    uint64_t dh = ety_hash(e);
    if (c->set) {
        if (c->term != e->term || c->id != e->id || c->type != e->type || c->dh != dh)
            violation("state machine safety",
                      "node %d has committed idx %ld = (term %ld, id %d, type %d) but idx %ld was "
                      "committed as (term %ld, id %d, type %d)",
                      who, idx, e->term, e->id, e->type, idx, c->term, c->id, c->type);
        return;
    }
    c->set = 1;
    c->term = e->term;
    c->id = e->id;
    c->type = e->type;
    c->dh = dh;
    c->obs_term = obs_term;
    if (idx > W.com_max)
        W.com_max = idx;
    ev("commit idx=%ld term=%ld id=%d type=%d (seen at n%d)", idx, e->term, e->id, e->type, who);
    if (e->type == RAFT_LOGTYPE_NORMAL && e->id > 0 && e->id < W.writes_cap &&
        W.writes[e->id].is_write) {
        W.writes[e->id].idx = idx;
        W.writes[e->id].comp = ++W.hclock;
    }
    if (e->type == RAFT_LOGTYPE_REMOVE_NODE) {
        int id = cfg_node_id(e);
        node_t *n = node_get(id);
        if (n && idx > n->retire)
            n->retire = idx;
    }
    if (is_cfg(e->type) && e->type != RAFT_LOGTYPE_REMOVE_NODE) {
        /* A re-addition committed after the removal: the node stays. */
        int id = cfg_node_id(e);
        node_t *n = node_get(id);
        if (n && n->retire && idx > n->retire) {
            W.st.readds++;
            ev("n%d re-added at %ld after its removal at %ld: not retired", id, idx, n->retire);
            n->retire = 0;
        }
    }
    if (e->type == RAFT_LOGTYPE_ADD_NONVOTING_NODE) {
        int id = cfg_node_id(e);
        W.st.adds++;
        if (node_get(id))
            node_get(id)->joining = 0;
    }
    if (e->type == RAFT_LOGTYPE_ADD_NODE)
        W.st.promotes++;
}

static uint64_t canon_key(raft_index_t idx, raft_term_t term)
{
    return mix64((uint64_t)idx * 0x100000001B3ULL, (uint64_t)term);
}

static canon_t *canon_find(raft_index_t idx, raft_term_t term, int create)
{
    if (create && (W.canon_n + 1) * 2 > W.canon_cap) {
        long oc = W.canon_cap;
        canon_t *old = W.canon;
        W.canon_cap = oc ? oc * 2 : 4096;
        W.canon = calloc((size_t)W.canon_cap, sizeof *W.canon);
        W.canon_n = 0;
        for (long i = 0; i < oc; i++)
            if (old[i].used) {
                canon_t *d = canon_find(old[i].idx, old[i].term, 1);
                *d = old[i];
                W.canon_n++;
            }
        free(old);
    }
    if (!W.canon_cap)
        return NULL;
    uint64_t h = canon_key(idx, term) & (uint64_t)(W.canon_cap - 1);
    for (;;) {
        canon_t *c = &W.canon[h];
        if (!c->used)
            return create ? c : NULL;
        if (c->idx == idx && c->term == term)
            return c;
        h = (h + 1) & (uint64_t)(W.canon_cap - 1);
    }
}

/* Log matching: an (index, term) pair names one entry and one predecessor
 * term everywhere; by induction identical prefixes. */
static void canon_check(node_t *n, raft_index_t idx, raft_entry_t *e, raft_term_t prev)
{
    uint64_t dh = ety_hash(e);
    canon_t *c = canon_find(idx, e->term, 1);
    if (!c->used) {
        c->used = 1;
        c->idx = idx;
        c->term = e->term;
        c->id = e->id;
        c->type = e->type;
        c->dh = dh;
        c->prev = prev;
        W.canon_n++;
        return;
    }
    if (c->id != e->id || c->type != e->type || c->dh != dh)
        violation("log matching",
                  "node %d appended idx %ld term %ld id %d type %d, but another log holds idx %ld "
                  "term %ld with id %d type %d",
                  n->id, idx, e->term, e->id, e->type, idx, c->term, c->id, c->type);
    if (prev >= 0 && c->prev >= 0 && prev != c->prev)
        violation("log matching",
                  "node %d holds idx %ld term %ld after an entry of term %ld, another log after "
                  "term %ld",
                  n->id, idx, e->term, prev, c->prev);
    if (c->prev < 0)
        c->prev = prev;
}

static void check_leader(node_t *n, raft_term_t t)
{
    raft_node_id_t was = hs_terms_leader(&W.leaders, t, n->id);
    if (was == RAFT_NODE_ID_NONE) {
        W.st.elections++;
        ev("n%d is leader of term %ld", n->id, t);
    } else if (was != n->id) {
        violation("election safety", "nodes %d and %d are both leader of term %ld", was, n->id, t);
    }
}

/* ------------------------------------------------------------------------ */
/* Store mode (--store=1): every node also keeps its log, term and vote in a
 * raft_store (raft_store.h) in a temporary directory. The simulator's log
 * forwards every change to the store through the store's raft_log_impl_t
 * and serves the server's reads from the store, checked against its own
 * copy. A crash is a simulated power failure (raft_store_crash drops what
 * was not synced); a restart reopens the store, which must hold exactly
 * the durable log (entries written but never reported synced may survive
 * and are removed), term and vote. */

static const raft_log_impl_t *SI;
static char g_store_root[64];
static void store_check(node_t *n, int rc, const char *what);
static raft_entry_t *store_get(hs_log_t *l, raft_index_t idx, raft_entry_t *mine);

static void store_dir(const node_t *n, char *buf, size_t len)
{
    snprintf(buf, len, "%s/n%d", g_store_root, n->id);
}

static void store_open(node_t *n)
{
    char dir[128];
    store_dir(n, dir, sizeof dir);
    if (n->boots == 0) { /* a new node (an earlier seed may have left the id's files) */
        char cmd[160];
        snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
        if (system(cmd) != 0)
            violation("store", "node %d: cannot clear %s", n->id, dir);
    }
    raft_store_options_t o;
    raft_store_options_init(&o);
    o.segment_size = 4096; /* many segments: rollovers, whole-segment compaction */
    o.cache_size = 2048;   /* most reads come from the files */
    o.fsync_policy = RAFT_STORE_FSYNC_NONE; /* durability is what raft_store_crash keeps */
    if (raft_store_open(dir, &o, &n->st) != 0)
        violation("store", "node %d: raft_store_open: %s", n->id, raft_store_last_error());
}

/* After a restart: the store holds the node's durable log, term and vote. */
static void store_check_boot(node_t *n)
{
    hs_log_t *l = &n->log;
    raft_store_t *st = n->st;
    raft_index_t first = raft_store_first_idx(st), last = raft_store_current_idx(st);
    if (first != l->base + 1)
        violation("store", "node %d: the store's log starts at %ld, the durable log at %ld", n->id, first,
                  l->base + 1);
    if (last < l->base + l->n)
        violation("store", "node %d: the store's log ends at %ld, synced entries reach %ld", n->id, last,
                  l->base + l->n);
    for (raft_index_t i = l->base + 1; i <= l->base + l->n; i++) {
        raft_entry_t *e = SI->get(st, i);
        if (!e || !hs_entry_equal(e, hs_log_at(l, i)))
            violation("store", "node %d: the store's entry %ld %s", n->id, i, e ? "differs" : "is missing");
        raft_entry_release(e);
    }
    if (last > l->base + l->n && SI->pop(st, l->base + l->n + 1, NULL, NULL) != 0)
        violation("store", "node %d: pop of unsynced entries: %s", n->id, raft_store_last_error());
    raft_term_t term;
    raft_node_id_t vote;
    if (n->boots == 0 && n->disk.term > 0) /* a new node's initial term */
        store_check(n, raft_store_persist_metadata(st, n->disk.term, n->disk.vote), "raft_store_persist_metadata");
    raft_store_get_metadata(st, &term, &vote);
    if (term != n->disk.term || vote != n->disk.vote)
        violation("store", "node %d: the store has term %ld vote %d, persisted were %ld and %d", n->id, term,
                  vote, n->disk.term, n->disk.vote);
}

/* The store follows the log to the snapshot the node boots from. */
static void store_rebase(node_t *n)
{
    raft_store_t *st = n->st;
    raft_index_t want = n->snap.idx + 1;
    if (raft_store_first_idx(st) == want)
        return;
    int rc = raft_store_current_idx(st) >= want - 1 && raft_store_first_idx(st) < want ? SI->poll(st, want) : 0;
    if (raft_store_first_idx(st) != want) {
        SI->reset(st, want, n->snap.term);
        rc = raft_store_first_idx(st) == want ? 0 : -1;
    }
    if (rc != 0)
        violation("store", "node %d: rebasing the store to %ld: %s", n->id, want, raft_store_last_error());
}

static void store_cleanup(void)
{
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf %s", g_store_root);
    if (g_store_root[0] && system(cmd) != 0)
        fprintf(stderr, "could not remove %s\n", g_store_root);
}

static void store_crash(node_t *n)
{
    if (!n->st)
        return;
    if (raft_store_crash(n->st) != 0)
        violation("store", "node %d: raft_store_crash: %s", n->id, raft_store_last_error());
    n->st = NULL;
}

static void store_check(node_t *n, int rc, const char *what)
{
    if (rc != 0)
        violation("store", "node %d: %s = %d: %s", n->id, what, rc, raft_store_last_error());
}

/* ------------------------------------------------------------------------ */
/* The node's log: the harness's log (hs_log_impl) with the simulator's
 * checks and, in store mode, the store, on its hooks. */

static void lg_attach(void *arg, hs_log_t *l, void *raft)
{
    node_t *n = arg;
    (void)l;
    if (n->st && !SI->init(raft, n->st))
        violation("store", "node %d: the store is already bound", n->id);
}

static void lg_detach(void *arg, hs_log_t *l)
{
    node_t *n = arg;
    (void)l; /* entries stay: they are the node's disk */
    if (n->st)
        SI->free(n->st);
}

static void lg_reset(void *arg, hs_log_t *l, raft_index_t first_idx, raft_term_t term)
{
    node_t *n = arg;
    (void)l;
    if (n->st)
        SI->reset(n->st, first_idx, term);
    ev("n%d log reset first=%ld term=%ld", n->id, first_idx, term);
}

static void lg_append(void *arg, hs_log_t *l, raft_index_t idx, raft_entry_t *e, raft_term_t prev)
{
    node_t *n = arg;
    canon_check(n, idx, e, prev);
    if (n->st && l->durable_appends) { /* restoring: the store has it already */
        raft_entry_release(store_get(l, idx, e));
    } else if (n->st) {
        store_check(n, SI->append(n->st, e), "store append");
        if (raft_store_current_idx(n->st) != idx)
            violation("store", "node %d: the store's log ends at %ld after append of %ld", n->id,
                      raft_store_current_idx(n->st), idx);
    }
}

static void lg_poll(void *arg, hs_log_t *l, raft_index_t first_idx)
{
    node_t *n = arg;
    (void)l;
    raft_index_t limit = n->snap.idx;
    if (n->snap_busy && n->pending.idx > limit)
        limit = n->pending.idx;
    if (n->loading_idx > limit)
        limit = n->loading_idx;
    if (first_idx - 1 > limit)
        violation("durability", "node %d compacts its log through %ld beyond its snapshot at %ld",
                  n->id, first_idx - 1, limit);
    if (n->st)
        store_check(n, SI->poll(n->st, first_idx), "store poll");
    ev("n%d log poll first=%ld", n->id, first_idx);
}

/* A node that was not part of the committing majority may still hold a
 * committed entry that a stale leader (of a term no later than the commit)
 * overwrites. A leader of a later term must hold the entry (leader
 * completeness), so it can never conflict. */
static void lg_pop_entry(void *arg, hs_log_t *l, raft_index_t i, raft_entry_t *e)
{
    node_t *n = arg;
    (void)l;
    raft_term_t now_term = n->r ? raft_get_current_term(n->r) : 0;
    if (i < W.com_cap && W.com[i].set && W.com[i].term == e->term && W.com[i].id == e->id &&
        (now_term > W.com[i].obs_term || (n->r && i <= raft_get_commit_idx(n->r))))
        violation("committed entry lost", "node %d in term %ld pops idx %ld (term %ld id %d), "
                  "committed in term %ld%s", n->id, now_term, i, e->term, e->id,
                  W.com[i].obs_term,
                  n->r && i <= raft_get_commit_idx(n->r) ? ", below its own commit index" : "");
}

static void lg_pop(void *arg, hs_log_t *l, raft_index_t from_idx)
{
    node_t *n = arg;
    (void)l;
    if (n->st)
        store_check(n, SI->pop(n->st, from_idx, NULL, NULL), "store pop");
    ev("n%d log pop from=%ld", n->id, from_idx);
}

static void lg_sync(void *arg, hs_log_t *l)
{
    node_t *n = arg;
    (void)l;
    if (n->st)
        store_check(n, raft_store_sync(n->st), "raft_store_sync");
}

/* In store mode a read comes from the store, checked against the log. */
static raft_entry_t *store_get(hs_log_t *l, raft_index_t idx, raft_entry_t *mine)
{
    node_t *n = l->hook_arg;
    raft_entry_t *e = SI->get(n->st, idx);
    if (!e != !mine || (e && !hs_entry_equal(e, mine)))
        violation("store", "node %d: the store's entry %ld %s", n->id, idx,
                  !e ? "is missing" : mine ? "differs" : "exists beyond the log");
    return e;
}

static raft_entry_t *lg_store_get(void *arg, hs_log_t *l, raft_index_t idx, raft_entry_t *mine)
{
    (void)arg;
    return store_get(l, idx, mine);
}

static raft_index_t lg_store_get_batch(void *arg, hs_log_t *l, raft_index_t idx, raft_index_t n,
                                       raft_entry_t **out)
{
    node_t *o = arg;
    raft_index_t k = SI->get_batch(o->st, idx, n, out);
    for (raft_index_t i = 0; i < k; i++) {
        raft_entry_t *mine = hs_log_at(l, idx + i);
        if (!mine || !hs_entry_equal(out[i], mine))
            violation("store", "node %d: get_batch: the store's entry %ld differs", o->id, idx + i);
    }
    if (k < n && hs_log_at(l, idx + k))
        violation("store", "node %d: get_batch stopped at %ld, the log goes on", o->id, idx + k);
    return k;
}

static const hs_log_hooks_t sim_log_hooks = {
    .append = lg_append,
    .poll = lg_poll,
    .pop_entry = lg_pop_entry,
    .pop = lg_pop,
    .reset = lg_reset,
    .sync = lg_sync,
    .attach = lg_attach,
    .detach = lg_detach,
};

/* Store mode: the server's reads come from the store. */
static const hs_log_hooks_t sim_store_log_hooks = {
    .append = lg_append,
    .poll = lg_poll,
    .pop_entry = lg_pop_entry,
    .pop = lg_pop,
    .reset = lg_reset,
    .sync = lg_sync,
    .attach = lg_attach,
    .detach = lg_detach,
    .get = lg_store_get,
    .get_batch = lg_store_get_batch,
};

static void log_bind(node_t *n)
{
    n->log.hooks = C.store ? &sim_store_log_hooks : &sim_log_hooks;
    n->log.hook_arg = n;
}

/* The built-in log (raft_new) mirrored into the node's `log` through the
 * raft_log_cbs_t observers, the way an application keeps the built-in log
 * on disk: each observer sees one entry, before the library changes its
 * own log. The built-in log has no sync, so what is offered is durable.
 * The invariant checks of every step then compare the library's log with
 * the mirror (count, current index, entries). */
static int mirror_offer(raft_server_t *r, void *ud, raft_entry_t *e, raft_index_t idx)
{
    node_t *n = ud;
    hs_log_t *l = &n->log;
    (void)r;
    if (idx != l->base + l->n + 1)
        violation("api", "node %d: built-in log offers entry %ld, its log ends at %ld", n->id, idx,
                  l->base + l->n);
    hs_log_append(l, e);
    l->synced = l->n;
    return 0;
}

static int mirror_poll(raft_server_t *r, void *ud, raft_entry_t *e, raft_index_t idx)
{
    node_t *n = ud;
    hs_log_t *l = &n->log;
    (void)r;
    if (idx != l->base + 1 || hs_log_at(l, idx) != e)
        violation("api", "node %d: built-in log compacts entry %ld, its log starts at %ld", n->id,
                  idx, l->base + 1);
    return hs_log_poll(l, idx + 1);
}

static int mirror_pop(raft_server_t *r, void *ud, raft_entry_t *e, raft_index_t idx)
{
    node_t *n = ud;
    hs_log_t *l = &n->log;
    (void)r;
    if (idx != l->base + l->n || hs_log_at(l, idx) != e)
        violation("api", "node %d: built-in log pops entry %ld, its log ends at %ld", n->id, idx,
                  l->base + l->n);
    return hs_log_pop(l, idx, NULL, NULL);
}

/* Every entry, oldest first, when the log is reset (a snapshot replaces it)
 * or destroyed. A reset empties the mirror at its first entry; the new base
 * is set once raft_begin_load_snapshot returns (mirror_rebase). */
static int mirror_clear(raft_server_t *r, void *ud, raft_entry_t *e, raft_index_t idx)
{
    node_t *n = ud;
    (void)r;
    (void)e;
    if (n->destroying)
        return 0; /* the mirror is the node's disk */
    if (idx == n->log.base + 1)
        hs_log_truncate(&n->log, 0);
    return 0;
}

/* After a snapshot at idx replaced the built-in log: an empty mirror starts
 * after it. */
static void mirror_rebase(node_t *n, raft_index_t idx, raft_term_t term)
{
    if (n->builtin && n->log.n == 0) {
        n->log.base = idx;
        n->log.base_term = term;
        n->log.synced = 0;
    }
}

static raft_log_cbs_t mirror_cbs = {
    .log_offer = mirror_offer,
    .log_poll = mirror_poll,
    .log_pop = mirror_pop,
    .log_clear = mirror_clear,
};

/* ------------------------------------------------------------------------ */
/* Snapshots: serialized state machine + membership */

#define SNAP_MAGIC 0x534e4150u

static size_t snap_serialize(const snap_t *s, unsigned char **out)
{
    size_t len = 4 + 8 * 4 + sizeof s->kv + 4 + (size_t)s->nmem * 8 + 8;
    unsigned char *b = malloc(len), *p = b;
    uint32_t magic = SNAP_MAGIC;
    int32_t nm = s->nmem;
    int64_t v[4] = {s->idx, s->term, s->sm_idx, (int64_t)s->sm_hash};
    memcpy(p, &magic, 4), p += 4;
    memcpy(p, v, 32), p += 32;
    memcpy(p, s->kv, sizeof s->kv), p += sizeof s->kv;
    memcpy(p, &nm, 4), p += 4;
    for (int i = 0; i < s->nmem; i++) {
        int32_t m[2] = {s->mem[i].id, s->mem[i].voting};
        memcpy(p, m, 8), p += 8;
    }
    uint64_t ck = fnv(b, (size_t)(p - b));
    memcpy(p, &ck, 8);
    *out = b;
    return len;
}

static int snap_parse(const unsigned char *b, size_t len, snap_t *s)
{
    uint32_t magic;
    int32_t nm;
    int64_t v[4];
    uint64_t ck;
    const size_t head = 36 + sizeof s->kv; /* magic, v, kv */
    if (len < head + 12)
        return -1;
    memcpy(&magic, b, 4);
    memcpy(v, b + 4, 32);
    memcpy(&nm, b + head, 4);
    if (magic != SNAP_MAGIC || nm < 0 || nm > MAXMEM || len != head + 12 + (size_t)nm * 8)
        return -1;
    memcpy(&ck, b + len - 8, 8);
    if (ck != fnv(b, len - 8))
        return -1;
    memset(s, 0, sizeof *s);
    s->idx = v[0];
    s->term = v[1];
    s->sm_idx = v[2];
    s->sm_hash = (uint64_t)v[3];
    memcpy(s->kv, b + 36, sizeof s->kv);
    s->nmem = nm;
    for (int i = 0; i < nm; i++) {
        int32_t m[2];
        memcpy(m, b + head + 4 + (size_t)i * 8, 8);
        s->mem[i].id = m[0];
        s->mem[i].voting = m[1];
    }
    return 0;
}

/* The snapshot becomes the node's durable one: its image on the disk. */
static void node_save_snap(node_t *n, const snap_t *snap)
{
    unsigned char *img;
    size_t len = snap_serialize(snap, &img);
    hs_disk_save_snapshot(&n->disk, img, len, snap->idx, snap->term);
    free(img);
}

static void mem_apply(member_t *mem, int *nmem, short type, int id)
{
    if (hs_members_apply(mem, nmem, MAXMEM, type, id) != 0)
        violation("simulator limit", "a configuration with more than %d members (MAXMEM) cannot be "
                  "recorded in a snapshot; raise MAXMEM in sim/sim.c", MAXMEM);
}

/* Membership as of idx, from the durable snapshot (or bootstrap) and the log. */
static void membership_at(node_t *n, raft_index_t idx, member_t *mem, int *nmem)
{
    raft_index_t from;
    if (n->snap.idx > 0) {
        memcpy(mem, n->snap.mem, sizeof n->snap.mem);
        *nmem = n->snap.nmem;
        from = n->snap.idx + 1;
    } else {
        memcpy(mem, n->boot, sizeof n->boot);
        *nmem = n->nboot;
        from = 1;
    }
    for (raft_index_t i = from; i <= idx; i++) {
        raft_entry_t *e = hs_log_at(&n->log, i);
        if (!e)
            violation("durability", "node %d: entry %ld needed for the snapshot membership is "
                      "missing (log base %ld, snapshot %ld)", n->id, i, n->log.base, n->snap.idx);
        if (is_cfg(e->type))
            mem_apply(mem, nmem, e->type, cfg_node_id(e));
    }
}

/* ------------------------------------------------------------------------ */
/* Network: the harness's (hs_net_t); faults are off while healing */

static void net_send(msg_t *m)
{
    int type = m->type, from = m->from, to = m->to;
    W.net.faults.off = W.healing;
    int queued = hs_net_send(&W.net, m, hs_clock_ms(&W.clock));
    if (queued == 0)
        ev("drop %s n%d->n%d", hs_msg_name[type], from, to);
    if (type == HS_MSG_AE)
        inflight_add(W.nodes[from], to, queued);
}

static void net_init(void)
{
    hs_net_init(&W.net, &g_rng);
    W.net.faults = (hs_faults_t){.drop = C.drop, .dup = C.dup, .reorder = C.reorder, .delay = C.delay,
                                 .tick = TICK_MS, .latency_min = 1, .latency_max = 2, .max_queue = 20000};
}

/* ------------------------------------------------------------------------ */
/* Callbacks */

static int node_of(raft_node_t *rn) { return raft_node_get_id(rn); }

/* Anything a message says about term and vote must already be on disk. */
static void check_persisted(node_t *n, raft_term_t term, const char *what)
{
    if (term > n->disk.term)
        violation("persistence", "node %d sends %s of term %ld but has persisted term %ld",
                  n->id, what, term, n->disk.term);
}

static int cb_send_rv(raft_server_t *r, void *ud, raft_node_t *rn, raft_requestvote_req_t *req)
{
    node_t *n = ud;
    (void)r;
    int to = node_of(rn);
    if (!req->prevote) {
        check_persisted(n, req->term, "requestvote");
        if (n->disk.term != req->term || n->disk.vote != n->id)
            violation("persistence", "node %d requests votes in term %ld without a persisted vote "
                      "for itself (persisted term %ld vote %d)", n->id, req->term, n->disk.term,
                      n->disk.vote);
    }
    {
        hs_log_t *l = &n->log;
        raft_index_t last = l->base + l->n;
        if (req->last_log_idx != last || req->last_log_term != hs_log_term_at(l, last))
            violation("election safety", "node %d asks for votes with last entry %ld/%ld but its "
                      "log ends at %ld/%ld", n->id, req->last_log_idx, req->last_log_term, last,
                      hs_log_term_at(l, last));
    }
    if (!node_get(to))
        return 0;
    net_send(hs_msg_requestvote(n->id, to, req));
    return 0;
}

static int cb_send_ae(raft_server_t *r, void *ud, raft_node_t *rn, raft_appendentries_req_t *req)
{
    node_t *n = ud;
    (void)r;
    int to = node_of(rn);
    check_persisted(n, req->term, "appendentries");
    if (!node_get(to))
        return 0;
    {
        hs_log_t *l = &n->log;
        raft_term_t pt = hs_log_term_at(l, req->prev_log_idx);
        if (req->prev_log_idx >= l->base && pt >= 0 && pt != req->prev_log_term)
            violation("log matching", "leader %d sends prev %ld/%ld but holds term %ld there",
                      n->id, req->prev_log_idx, req->prev_log_term, pt);
        for (raft_index_t i = 0; i < req->n_entries; i++) {
            raft_entry_t *e = hs_log_at(l, req->prev_log_idx + 1 + i);
            raft_entry_t *x = req->entries[i];
            if (e && (e->term != x->term || e->id != x->id || e->type != x->type))
                violation("log matching", "leader %d sends entry %ld as %ld/%d but holds %ld/%d",
                          n->id, req->prev_log_idx + 1 + i, x->term, x->id, e->term, e->id);
        }
        if (r && req->leader_commit > raft_get_commit_idx(r))
            violation("state machine safety", "leader %d sends commit %ld beyond its own %ld",
                      n->id, req->leader_commit, raft_get_commit_idx(r));
    }
    net_send(hs_msg_appendentries(n->id, to, req));
    return 0;
}

static int cb_send_sn(raft_server_t *r, void *ud, raft_node_t *rn, raft_snapshot_req_t *req)
{
    node_t *n = ud;
    (void)r;
    int to = node_of(rn);
    check_persisted(n, req->term, "snapshot");
    if (!node_get(to))
        return 0;
    net_send(hs_msg_snapshot(n->id, to, req));
    return 0;
}

static int cb_send_tn(raft_server_t *r, void *ud, raft_node_t *rn)
{
    node_t *n = ud;
    (void)r;
    int to = node_of(rn);
    if (!node_get(to))
        return 0;
    ev("n%d sends timeoutnow to n%d", n->id, to);
    net_send(hs_msg_new(HS_MSG_TIMEOUTNOW, n->id, to));
    return 0;
}

static void sm_advance_skipping(node_t *n, raft_index_t upto)
{
    /* The library may skip applylog for entries with no application meaning
     * (no-op, configuration); application entries must never be skipped. */
    for (raft_index_t i = n->sm_idx + 1; i <= upto; i++) {
        raft_entry_t *e = hs_log_at(&n->log, i);
        if (!e)
            violation("state machine safety", "node %d applied through %ld but entry %ld is not "
                      "in its log (base %ld)", n->id, upto, i, n->log.base);
        if (e->type == RAFT_LOGTYPE_NORMAL)
            violation("state machine safety", "node %d skipped applying entry %ld (id %d)",
                      n->id, i, e->id);
        n->sm_hash = mix64(n->sm_hash, mix64((uint64_t)e->term, ((uint64_t)(uint32_t)e->id << 8) ^
                                                                    (uint64_t)e->type) ^ ety_hash(e));
        n->sm_idx = i;
        cinfo_t *c = com_at(i);
        if (!c->smset) {
            c->smset = 1;
            c->smhash = n->sm_hash;
        }
    }
}

static int cb_applylog(raft_server_t *r, void *ud, raft_entry_t *e, raft_index_t idx)
{
    node_t *n = ud;
    if (idx <= n->sm_idx)
        violation("state machine safety", "node %d applies idx %ld again (applied %ld)", n->id,
                  idx, n->sm_idx);
    if (idx > raft_get_commit_idx(r))
        violation("state machine safety", "node %d applies idx %ld beyond its commit index %ld",
                  n->id, idx, raft_get_commit_idx(r));
    sm_advance_skipping(n, idx - 1);
    record_commit(idx, e, raft_get_current_term(r), n->id);
    if (e->type == RAFT_LOGTYPE_NORMAL) {
        n->kv_prev[key_of(e)] = n->kv[key_of(e)];
        n->kv[key_of(e)] = e->id;
    }
    n->sm_hash = mix64(n->sm_hash, mix64((uint64_t)e->term, ((uint64_t)(uint32_t)e->id << 8) ^
                                                                (uint64_t)e->type) ^ ety_hash(e));
    n->sm_idx = idx;
    cinfo_t *c = com_at(idx);
    if (!c->smset) {
        c->smset = 1;
        c->smhash = n->sm_hash;
    } else if (c->smhash != n->sm_hash) {
        violation("state machine safety", "node %d state after applying idx %ld differs from "
                  "another node's", n->id, idx);
    }
    return 0;
}

static int cb_persist(raft_server_t *r, void *ud, raft_term_t term, raft_node_id_t vote)
{
    node_t *n = ud;
    (void)r;
    if (!W.healing && chance(C.disk_fail)) {
        W.st.persist_fails++;
        ev("n%d persist_metadata(%ld, %d) fails (injected)", n->id, term, vote);
        return -1;
    }
    if (term < n->disk.term)
        violation("persistence", "node %d persists term %ld after term %ld", n->id, term,
                  n->disk.term);
    if (term == n->disk.term && n->disk.vote != RAFT_NODE_ID_NONE && vote != n->disk.vote)
        violation("election safety", "node %d changes its vote in term %ld from %d to %d", n->id,
                  term, n->disk.vote, vote);
    n->disk.term = term;
    n->disk.vote = vote;
    if (n->st)
        store_check(n, raft_store_persist_metadata(n->st, term, vote), "raft_store_persist_metadata");
    return 0;
}

static raft_node_id_t cb_get_node_id(raft_server_t *r, void *ud, raft_entry_t *e, raft_index_t idx)
{
    (void)r, (void)ud, (void)idx;
    return cfg_node_id(e);
}

static int cb_sufficient(raft_server_t *r, void *ud, raft_node_t *rn)
{
    node_t *n = ud;
    (void)r;
    int id = node_of(rn);
    ev("n%d: n%d has sufficient logs", n->id, id);
    if (node_get(id))
        node_get(id)->promo = 1;
    return 0;
}

static void cb_membership(raft_server_t *r, void *ud, raft_node_t *rn, raft_entry_t *e,
                          raft_membership_e type)
{
    node_t *n = ud;
    (void)r, (void)e;
    ev("n%d membership %s n%d", n->id, type == RAFT_MEMBERSHIP_ADD ? "add" : "remove",
       rn ? node_of(rn) : -1);
}

static void cb_state(raft_server_t *r, void *ud, raft_state_e state)
{
    node_t *n = ud;
    ev("n%d becomes %d in term %ld", n->id, (int)state, raft_get_current_term(r));
    if (state == RAFT_STATE_LEADER)
        check_leader(n, raft_get_current_term(r));
}

static void cb_transfer(raft_server_t *r, void *ud, raft_leader_transfer_e res)
{
    node_t *n = ud;
    (void)r;
    W.st.transfer_events++;
    ev("n%d transfer event %d", n->id, (int)res);
}

static void cb_log(raft_server_t *r, raft_node_id_t id, void *ud, const char *buf)
{
    node_t *n = ud;
    (void)r, (void)id;
    if (C.verbose > 1)
        printf("    [n%d] %s\n", n->id, buf);
}

/* The membership a loaded snapshot records becomes the server's, every
 * member committed. Unlike hs_members_install, the node's own entry is
 * never added back: a server that lost its own node keeps running without
 * it (as an application that installs only its peers would), which the
 * simulator has always exercised. */
static void load_snapshot_members(node_t *n, raft_server_t *r, const snap_t *s)
{
    int self_found = 0;
    for (int i = 0; i < s->nmem; i++) {
        const member_t *m = &s->mem[i];
        raft_node_t *rn;
        if (m->id == n->id) {
            self_found = 1;
            rn = raft_get_my_node(r);
            if (rn)
                raft_node_set_voting(rn, m->voting);
        } else {
            rn = raft_get_node(r, m->id);
            if (!rn)
                rn = m->voting ? raft_add_node(r, NULL, m->id, 0)
                               : raft_add_non_voting_node(r, NULL, m->id, 0);
            else
                raft_node_set_voting(rn, m->voting);
        }
        if (rn) {
            raft_node_set_active(rn, 1);
            raft_node_set_voting_committed(rn, m->voting);
            raft_node_set_addition_committed(rn, 1);
        }
    }
    if (!self_found && raft_get_my_node(r))
        raft_node_set_voting(raft_get_my_node(r), 0);
}

/* The loaded snapshot becomes the node's durable snapshot and its state
 * machine. */
static void load_snapshot_state(node_t *n, const snap_t *s, cinfo_t *c)
{
    n->snap = *s;
    node_save_snap(n, s);
    n->sm_idx = s->sm_idx;
    n->sm_hash = s->sm_hash;
    memcpy(n->kv, s->kv, sizeof n->kv);
    if (!c->smset) {
        c->smset = 1;
        c->smhash = s->sm_hash;
    }
    if (n->seen_commit < s->idx)
        n->seen_commit = s->idx;
    W.st.snap_loads++;
    n->disk.in_len = 0;
}

static int cb_load_snapshot(raft_server_t *r, void *ud, raft_term_t term, raft_index_t idx)
{
    node_t *n = ud;
    snap_t s;
    if (snap_parse(n->disk.in, n->disk.in_len, &s) != 0)
        violation("snapshot integrity", "node %d asked to load snapshot %ld/%ld from %zu stored "
                  "bytes that do not form one snapshot", n->id, idx, term, n->disk.in_len);
    if (s.idx != idx || s.term != term)
        violation("snapshot integrity", "node %d asked to load snapshot %ld/%ld but the stored "
                  "chunks hold snapshot %ld/%ld", n->id, idx, term, s.idx, s.term);
    if (!W.healing && chance(C.disk_fail * 10)) {
        W.st.load_fails++;
        ev("n%d load_snapshot %ld fails (injected)", n->id, idx);
        n->disk.in_len = 0;
        return -1;
    }
    cinfo_t *c = com_at(s.sm_idx);
    if (c->smset && c->smhash != s.sm_hash)
        violation("state machine safety", "snapshot at %ld loaded by node %d differs from the "
                  "state other nodes reached at %ld", idx, n->id, idx);
    n->loading_idx = idx;
    int rc = raft_begin_load_snapshot(r, term, idx);
    n->loading_idx = 0;
    if (rc != 0) {
        ev("n%d begin_load_snapshot %ld -> %d", n->id, idx, rc);
        return -1;
    }
    mirror_rebase(n, idx, term);
    if (idx < n->sm_idx)
        violation("state machine safety", "node %d loads snapshot %ld older than its applied "
                  "index %ld", n->id, idx, n->sm_idx);
    load_snapshot_members(n, r, &s);
    rc = raft_end_load_snapshot(r);
    if (rc != 0)
        violation("api", "node %d raft_end_load_snapshot failed: %d", n->id, rc);
    load_snapshot_state(n, &s, c);
    ev("n%d loaded snapshot idx=%ld term=%ld", n->id, idx, term);
    return 0;
}

static int cb_get_chunk(raft_server_t *r, void *ud, raft_node_t *rn, raft_size_t off,
                        raft_snapshot_chunk_t *ch)
{
    node_t *n = ud;
    (void)r, (void)rn;
    if (!n->disk.snap)
        return -1;
    if (off >= n->disk.snap_len)
        return RAFT_ERR_DONE;
    if (chance(0.05))
        return RAFT_ERR_DONE; /* backpressure */
    hs_disk_read_chunk(&n->disk, off, (raft_size_t)W.chunk_size, ch);
    return 0;
}

static int cb_store_chunk(raft_server_t *r, void *ud, raft_index_t sidx, raft_size_t off,
                          raft_snapshot_chunk_t *ch)
{
    node_t *n = ud;
    (void)r;
    return hs_disk_store_chunk(&n->disk, sidx, off, ch);
}

static int cb_clear_snapshot(raft_server_t *r, void *ud)
{
    node_t *n = ud;
    (void)r;
    n->disk.in_len = 0;
    return 0;
}

static int cb_backpressure(raft_server_t *r, void *ud, raft_node_t *rn)
{
    node_t *n = ud;
    (void)r;
    int to = node_of(rn);
    if (inflight_get(n, to) > 8)
        return 1;
    return 0;
}

static raft_index_t cb_get_entries(raft_server_t *r, void *ud, raft_node_t *rn, raft_index_t idx,
                                   raft_index_t max, raft_entry_t **out)
{
    node_t *n = ud;
    (void)r, (void)rn;
    raft_index_t lim = rndr(1, 6);
    if (max > lim)
        max = lim;
    return hs_log_impl.get_batch(&n->log, idx, max, out);
}

static raft_time_t cb_timestamp(raft_server_t *r, void *ud)
{
    (void)r, (void)ud;
    return W.clock.now_us;
}

static raft_cbs_t sim_cbs = {
    .send_requestvote = cb_send_rv,
    .send_appendentries = cb_send_ae,
    .send_snapshot = cb_send_sn,
    .load_snapshot = cb_load_snapshot,
    .get_snapshot_chunk = cb_get_chunk,
    .store_snapshot_chunk = cb_store_chunk,
    .clear_snapshot = cb_clear_snapshot,
    .applylog = cb_applylog,
    .persist_metadata = cb_persist,
    .get_node_id = cb_get_node_id,
    .node_has_sufficient_logs = cb_sufficient,
    .notify_membership_event = cb_membership,
    .notify_state_event = cb_state,
    .notify_transfer_event = cb_transfer,
    .log = cb_log,
    .send_timeoutnow = cb_send_tn,
    .backpressure = NULL,
    .get_entries_to_send = NULL,
    .timestamp = cb_timestamp,
};

/* ------------------------------------------------------------------------ */
/* Node lifecycle */

/* A fresh server for n, on the built-in log or on n's log, with the
 * simulator's callbacks and configuration. */
static raft_server_t *boot_new_server(node_t *n)
{
    n->builtin = C.builtin_log < 0 ? (int)rndn(2) : C.builtin_log;
    raft_server_t *r = n->builtin ? raft_new() : raft_new_with_log(&hs_log_impl, &n->log);
    if (!r)
        violation("api", "raft_new%s returned NULL for node %d", n->builtin ? "" : "_with_log", n->id);
    n->r = r;
    n->boots++;
    /* The library seeds each server from the system; fix it from the run's
     * seed so that a seed replays exactly. */
    raft_set_random_seed(r, C.seed * 0x9E3779B97F4A7C15ULL ^ ((uint64_t)n->id << 40) ^ (uint64_t)n->boots);
    raft_cbs_t cbs = sim_cbs;
    if (W.use_backpressure)
        cbs.backpressure = cb_backpressure;
    if (W.use_get_entries)
        cbs.get_entries_to_send = cb_get_entries;
    raft_set_callbacks(r, &cbs, n);
    if (n->builtin) {
        W.st.builtin_boots++;
        raft_log_set_callbacks(raft_get_log(r), &mirror_cbs, r);
    }
    raft_config(r, 1, RAFT_CONFIG_ELECTION_TIMEOUT, 200);
    raft_config(r, 1, RAFT_CONFIG_REQUEST_TIMEOUT, 50);
    raft_config(r, 1, RAFT_CONFIG_AUTO_FLUSH, n->autoflush);
    raft_config(r, 1, RAFT_CONFIG_NONBLOCKING_APPLY, n->nonblocking);
    if (C.verbose > 1)
        raft_config(r, 1, RAFT_CONFIG_LOG_ENABLED, 1);
    return r;
}

/* The members recorded in the snapshot (or the boot configuration), and
 * the node itself as non-voting if it is not one of them. */
static void boot_members(node_t *n, raft_server_t *r)
{
    const member_t *mem = n->snap.idx > 0 ? n->snap.mem : n->boot;
    int nmem = n->snap.idx > 0 ? n->snap.nmem : n->nboot;
    int self = 0;
    for (int i = 0; i < nmem; i++) {
        int is_self = mem[i].id == n->id;
        self |= is_self;
        raft_node_t *rn = mem[i].voting ? raft_add_node(r, NULL, mem[i].id, is_self)
                                        : raft_add_non_voting_node(r, NULL, mem[i].id, is_self);
        if (!rn)
            violation("api", "node %d: adding member %d at boot failed", n->id, mem[i].id);
    }
    if (!self && !raft_add_non_voting_node(r, NULL, n->id, 1))
        violation("api", "node %d: adding itself at boot failed", n->id);
}

static void boot_restore_metadata(node_t *n, raft_server_t *r)
{
    int rc = raft_restore_metadata(r, n->disk.term, n->disk.vote);
    if (rc != 0)
        violation("api", "node %d: raft_restore_metadata(%ld, %d) = %d", n->id, n->disk.term,
                  n->disk.vote, rc);
}

/* Restore the snapshot, then the durable entries (`old`, released here)
 * and the term and vote in a random order. Returns whether the metadata
 * came first. */
static int boot_restore(node_t *n, raft_server_t *r, raft_entry_t **old, long nold)
{
    n->sm_idx = 0;
    n->sm_hash = 0;
    memset(n->kv, 0, sizeof n->kv);
    if (n->snap.idx > 0) {
        int rc = raft_restore_snapshot(r, n->snap.term, n->snap.idx);
        if (rc != 0)
            violation("api", "node %d: raft_restore_snapshot(%ld, %ld) = %d", n->id, n->snap.term,
                      n->snap.idx, rc);
        n->sm_idx = n->snap.sm_idx;
        n->sm_hash = n->snap.sm_hash;
        memcpy(n->kv, n->snap.kv, sizeof n->kv);
    }
    int meta_first = (int)rndn(2);
    if (meta_first)
        boot_restore_metadata(n, r);
    n->log.durable_appends = 1;
    for (long i = 0; i < nold; i++) {
        int rc = raft_append_entry(r, old[i]);
        if (rc != 0)
            violation("api", "node %d: replaying entry %ld: raft_append_entry = %d", n->id,
                      n->snap.idx + 1 + i, rc);
        raft_entry_release(old[i]);
    }
    n->log.durable_appends = 0;
    if (!meta_first)
        boot_restore_metadata(n, r);
    if (raft_get_current_term(r) != n->disk.term)
        violation("api", "node %d restored term %ld but reports %ld", n->id, n->disk.term,
                  raft_get_current_term(r));
    return meta_first;
}

/* Start (or restart) n from what its disk holds. */
static void node_boot(node_t *n)
{
    if (C.store) {
        store_open(n);
        store_check_boot(n);
    }
    /* Take the durable entries out of the log and hand a log positioned at the
     * snapshot to a fresh server, then replay through the public API. */
    raft_entry_t **old = n->log.e;
    long nold = n->log.n;
    n->log.e = NULL;
    n->log.n = n->log.cap = n->log.synced = 0;
    n->log.base = n->snap.idx;
    n->log.base_term = n->snap.term;
    log_bind(n);
    if (n->st)
        store_rebase(n);

    raft_server_t *r = boot_new_server(n);
    boot_members(n, r);
    int meta_first = boot_restore(n, r, old, nold);
    free(old);
    n->status = N_UP;
    n->seen_commit = raft_get_commit_idx(r);
    n->lc_term = 0;
    n->lc_checked = 0;
    n->sync_target = 0;
    n->snap_busy = 0;
    ev("n%d boots (#%d) snap=%ld log=%ld..%ld term=%ld vote=%d meta_%s", n->id, n->boots,
       n->snap.idx, n->log.base + 1, n->log.base + n->log.n, n->disk.term, n->disk.vote,
       meta_first ? "first" : "last");
}

static void abandon_reads(node_t *n)
{
    for (long i = 0; i < W.nreads; i++)
        if (W.reads[i].node == n->id && !W.reads[i].done)
            W.reads[i].done = 2;
}

static void node_stop(node_t *n, int status)
{
    if (n->status == N_UP) {
        n->destroying = 1;
        raft_destroy(n->r);
        n->destroying = 0;
        n->r = NULL;
    }
    abandon_reads(n);
    /* Lose whatever was not synced. */
    hs_log_truncate(&n->log, n->log.synced);
    store_crash(n);
    n->disk.in_len = 0;
    n->snap_busy = 0;
    n->sync_target = 0;
    n->status = status;
    if (n->inflight_ae)
        memset(n->inflight_ae, 0, (size_t)n->inflight_n * sizeof *n->inflight_ae);
    if (status == N_RETIRED)
        hs_log_truncate(&n->log, 0);
}

static void node_crash(node_t *n, const char *why)
{
    W.st.crashes++;
    ev("n%d crashes (%s), durable log %ld..%ld", n->id, why, n->log.base + 1,
       n->log.base + n->log.synced);
    node_stop(n, N_DOWN);
    n->restart_at = g_step + rndr(3, 80);
}

static node_t *node_create(int id, int initial)
{
    node_t *n = node_slot(id);
    memset(n, 0, sizeof *n);
    n->id = id;
    hs_disk_init(&n->disk);
    log_bind(n);
    if (initial) {
        /* The initial configuration is a snapshot at index 1, term 1, on
         * every initial node: a node that joins later learns the members
         * from it (the log itself only records changes). */
        for (int i = 1; i <= C.nodes; i++) {
            n->boot[n->nboot].id = i;
            n->boot[n->nboot++].voting = 1;
        }
        n->snap.idx = 1;
        n->snap.term = 1;
        n->snap.sm_idx = 1;
        n->snap.sm_hash = 0x5eed;
        n->snap.nmem = n->nboot;
        memcpy(n->snap.mem, n->boot, sizeof n->boot);
        node_save_snap(n, &n->snap);
        n->disk.term = 1;
        cinfo_t *c = com_at(1);
        c->smset = 1;
        c->smhash = n->snap.sm_hash;
    } else {
        n->boot[0].id = id;
        n->boot[0].voting = 0;
        n->nboot = 1;
        n->joining = 1;
    }
    n->autoflush = C.autoflush >= 0 ? C.autoflush : (int)rndn(2);
    n->nonblocking = C.nonblocking >= 0 ? C.nonblocking : (int)rndn(2);
    if (!n->autoflush)
        W.st.autoflush_off++;
    node_boot(n);
    return n;
}

/* ------------------------------------------------------------------------ */
/* Message delivery */

static int rc_shutdown(node_t *n, int rc, const char *what)
{
    if (rc == RAFT_ERR_SHUTDOWN) {
        W.st.shutdowns++;
        ev("n%d: %s returned RAFT_ERR_SHUTDOWN", n->id, what);
        node_crash(n, "shutdown");
        return 1;
    }
    return 0;
}

/* A requestvote: the vote must respect the election restriction, and a
 * granted vote must be on disk before the answer leaves. */
static void deliver_rv(node_t *d, raft_node_t *sender, msg_t *m)
{
    msg_t o;
    memset(&o, 0, sizeof o);
    raft_index_t my_last = d->log.base + d->log.n;
    raft_term_t my_last_term = hs_log_term_at(&d->log, my_last);
    int rc = hs_msg_deliver(d->r, sender, m, &o);
    raft_requestvote_resp_t resp = o.u.rvr;
    if (rc == 0 && resp.vote_granted == 1 &&
        (m->u.rv.last_log_term < my_last_term ||
         (m->u.rv.last_log_term == my_last_term && m->u.rv.last_log_idx < my_last)))
        violation("election safety", "node %d grants its %svote to %d whose log ends at "
                  "%ld/%ld, before its own %ld/%ld (election restriction)", d->id,
                  m->u.rv.prevote ? "pre-" : "", m->from, m->u.rv.last_log_idx,
                  m->u.rv.last_log_term, my_last, my_last_term);
    ev("n%d<-n%d RV%s t=%ld last=%ld/%ld -> rc=%d granted=%d t=%ld", d->id, m->from,
       m->u.rv.prevote ? "(pre)" : "", m->u.rv.term, m->u.rv.last_log_idx,
       m->u.rv.last_log_term, rc, resp.vote_granted, resp.term);
    if (rc_shutdown(d, rc, "recv_requestvote") || rc != 0)
        return;
    check_persisted(d, resp.term, "requestvote response");
    if (resp.vote_granted == 1 && !resp.prevote &&
        (d->disk.term != resp.request_term || d->disk.vote != m->from))
        violation("persistence", "node %d grants its vote to %d in term %ld without "
                  "persisting it (persisted term %ld vote %d)", d->id, m->from,
                  resp.request_term, d->disk.term, d->disk.vote);
    net_send(hs_msg_clone(&o));
}

/* An appendentries: a success answer only for synced entries. */
static void deliver_ae(node_t *d, raft_node_t *sender, msg_t *m)
{
    msg_t o;
    memset(&o, 0, sizeof o);
    int rc = hs_msg_deliver(d->r, sender, m, &o);
    const raft_appendentries_req_t *req = &m->u.ae;
    raft_appendentries_resp_t resp = o.u.aer;
    ev("n%d<-n%d AE t=%ld prev=%ld/%ld n=%ld commit=%ld mid=%lu -> rc=%d ok=%d cur=%ld",
       d->id, m->from, req->term, req->prev_log_idx, req->prev_log_term, req->n_entries,
       req->leader_commit, req->msg_id, rc, resp.success, resp.current_idx);
    if (rc_shutdown(d, rc, "recv_appendentries") || rc != 0)
        return;
    check_persisted(d, resp.term, "appendentries response");
    if (resp.success && d->log.base + d->log.synced < resp.current_idx)
        violation("durability", "node %d acknowledges appendentries up to %ld with "
                  "entries %ld..%ld not synced", d->id, resp.current_idx,
                  d->log.base + d->log.synced + 1, resp.current_idx);
    net_send(hs_msg_clone(&o));
}

static void deliver_snapshot(node_t *d, raft_node_t *sender, msg_t *m)
{
    msg_t o;
    memset(&o, 0, sizeof o);
    int rc = hs_msg_deliver(d->r, sender, m, &o);
    const raft_snapshot_req_t *req = &m->u.snap;
    ev("n%d<-n%d SN t=%ld snap=%ld/%ld off=%llu len=%llu last=%d -> rc=%d ok=%d", d->id,
       m->from, req->term, req->snapshot_index, req->snapshot_term,
       (unsigned long long)req->chunk.offset, (unsigned long long)req->chunk.len,
       req->chunk.last_chunk, rc, o.u.snapr.success);
    if (rc_shutdown(d, rc, "recv_snapshot") || rc != 0)
        return;
    check_persisted(d, o.u.snapr.term, "snapshot response");
    net_send(hs_msg_clone(&o));
}

/* A response (dropped if the sender is not a known node) or timeoutnow. */
static void deliver_other(node_t *d, raft_node_t *sender, msg_t *m)
{
    msg_t o;
    if (!sender && m->type != HS_MSG_TIMEOUTNOW)
        return;
    int rc = hs_msg_deliver(d->r, sender, m, &o);
    switch (m->type) {
    case HS_MSG_RV_RESP:
        ev("n%d<-n%d RVR%s t=%ld granted=%d -> rc=%d", d->id, m->from,
           m->u.rvr.prevote ? "(pre)" : "", m->u.rvr.term, m->u.rvr.vote_granted, rc);
        rc_shutdown(d, rc, "recv_requestvote_response");
        break;
    case HS_MSG_AE_RESP:
        ev("n%d<-n%d AER t=%ld ok=%d cur=%ld mid=%lu -> rc=%d", d->id, m->from, m->u.aer.term,
           m->u.aer.success, m->u.aer.current_idx, m->u.aer.msg_id, rc);
        rc_shutdown(d, rc, "recv_appendentries_response");
        break;
    case HS_MSG_SNAP_RESP:
        ev("n%d<-n%d SNR t=%ld ok=%d off=%llu last=%d -> rc=%d", d->id, m->from, m->u.snapr.term,
           m->u.snapr.success, (unsigned long long)m->u.snapr.offset, m->u.snapr.last_chunk, rc);
        rc_shutdown(d, rc, "recv_snapshot_response");
        break;
    default:
        ev("n%d<-n%d timeoutnow -> rc=%d", d->id, m->from, rc);
        rc_shutdown(d, rc, "timeout_now");
        break;
    }
}

static void deliver(msg_t *m)
{
    if (m->type == HS_MSG_AE && inflight_get(W.nodes[m->from], m->to) > 0)
        inflight_add(W.nodes[m->from], m->to, -1);
    node_t *d = W.nodes[m->to];
    if (d->status != N_UP || hs_net_blocked(&W.net, m->from, m->to))
        return;
    raft_node_t *sender = raft_get_node(d->r, m->from);
    switch (m->type) {
    case HS_MSG_RV:
        deliver_rv(d, sender, m);
        break;
    case HS_MSG_AE:
        deliver_ae(d, sender, m);
        break;
    case HS_MSG_SNAP:
        deliver_snapshot(d, sender, m);
        break;
    default:
        deliver_other(d, sender, m);
        break;
    }
}

static void deliver_due(void)
{
    msg_t **due;
    int nd = hs_net_take_due(&W.net, hs_clock_ms(&W.clock), &due);
    for (int i = 0; i < nd; i++) {
        deliver(due[i]);
        hs_msg_free(due[i]);
    }
    free(due);
}

/* ------------------------------------------------------------------------ */
/* ------------------------------------------------------------------------ */
/* Actions */

static node_t *leader(void)
{
    node_t *best = NULL;
    for (int i = 1; i < W.next_id; i++) {
        node_t *n = W.nodes[i];
        if (n->status == N_UP && raft_is_leader(n->r) &&
            (!best || raft_get_current_term(n->r) > raft_get_current_term(best->r)))
            best = n;
    }
    return best;
}

static node_t *random_up(void)
{
    int *ids = scratch_ids(), k = 0;
    for (int i = 1; i < W.next_id; i++)
        if (W.nodes[i]->status == N_UP)
            ids[k++] = i;
    return k ? W.nodes[ids[rndn(k)]] : NULL;
}

static int propose(node_t *n, short type, int node_id)
{
    unsigned len = type == RAFT_LOGTYPE_NORMAL ? (unsigned)rndr(KEY_AT + 1, 24) : sizeof(int);
    raft_entry_t *e = raft_entry_new(len);
    e->id = W.next_entry_id++;
    e->type = type;
    if (type == RAFT_LOGTYPE_NORMAL) {
        for (unsigned i = 0; i < len; i++)
            e->data[i] = (char)rnd64();
        memcpy(e->data, &e->id, sizeof e->id);
        /* A write of key data[KEY_AT] % NKEYS; its value is its id. */
        if (e->id >= W.writes_cap) {
            long cap = W.writes_cap ? W.writes_cap * 2 : 1024;
            while (cap <= e->id)
                cap *= 2;
            W.writes = realloc(W.writes, (size_t)cap * sizeof *W.writes);
            memset(W.writes + W.writes_cap, 0, (size_t)(cap - W.writes_cap) * sizeof *W.writes);
            W.writes_cap = cap;
        }
        W.writes[e->id] = (wrec_t){.key = key_of(e), .is_write = 1, .inv = ++W.hclock};
    } else {
        memcpy(e->data, &node_id, sizeof node_id);
    }
    raft_entry_resp_t resp;
    memset(&resp, 0, sizeof resp);
    /* Single-server membership changes are safe only if a leader appends a
     * quorum-changing entry after committing an entry of its own term
     * (Ongaro, raft-dev 2015, the thesis' section 4.1 erratum). */
    int quorum_change = 0;
    if (type == RAFT_LOGTYPE_ADD_NODE) {
        quorum_change = 1;
    } else if (type == RAFT_LOGTYPE_REMOVE_NODE) {
        raft_node_t *rn = raft_get_node(n->r, node_id);
        quorum_change = rn && raft_node_is_voting(rn);
    }
    raft_term_t t = raft_get_current_term(n->r);
    int term_committed = hs_log_term_at(&n->log, raft_get_commit_idx(n->r)) == t ||
                         (raft_get_commit_idx(n->r) == n->log.base && n->log.base_term == t);
    int was_leader = raft_is_leader(n->r);
    /* The rule matters only where another voter could lead a rival
     * configuration; a sole voter (or none: a bootstrap) changes at once. */
    raft_node_t *self = raft_get_my_node(n->r);
    int other_voters = raft_get_num_voting_nodes(n->r) -
                       (self && raft_node_is_voting(self) && raft_node_is_active(self) ? 1 : 0);
    int rc = raft_recv_entry(n->r, e, &resp);
    if (rc == 0 && quorum_change && was_leader && !term_committed && other_voters > 0 &&
        !C.no_membership_check)
        violation("membership safety", "leader %d accepted a voting change (type %d, node %d) "
                  "at idx %ld in term %ld before committing an entry of its term (commit %ld)",
                  n->id, type, node_id, resp.idx, t, raft_get_commit_idx(n->r));
    ev("n%d recv_entry id=%d type=%d%s%d -> rc=%d idx=%ld", n->id, e->id, type,
       type == RAFT_LOGTYPE_NORMAL ? " " : " node=", type == RAFT_LOGTYPE_NORMAL ? 0 : node_id, rc,
       resp.idx);
    raft_entry_release(e);
    if (rc == 0)
        W.st.proposals_ok++;
    rc_shutdown(n, rc, "recv_entry");
    return rc;
}

static void act_propose(void)
{
    long k = rndr(1, 3);
    for (long i = 0; i < k; i++) {
        node_t *n = chance(0.9) ? leader() : random_up();
        if (!n)
            n = random_up();
        if (!n)
            return;
        W.st.proposals++;
        propose(n, RAFT_LOGTYPE_NORMAL, 0);
    }
}

static void read_cb(void *arg, int can_read)
{
    long i = (long)(intptr_t)arg;
    if (i < 0 || i >= W.nreads)
        violation("linearizable reads", "read callback with unknown argument %ld", i);
    readrec_t *rr = &W.reads[i];
    if (rr->done == 1)
        violation("linearizable reads", "read %ld answered twice", i);
    int was = rr->done;
    rr->done = 1;
    node_t *n = W.nodes[rr->node];
    ev("read %ld on n%d answered can_read=%d (applied %ld, floor %ld)", i, rr->node, can_read,
       n->sm_idx, rr->floor);
    if (!can_read) {
        W.st.reads_fail++;
        return;
    }
    if (was == 2 || n->status != N_UP || n->boots != rr->boot)
        violation("linearizable reads", "read %ld answered can_read=1 after node %d restarted",
                  i, rr->node);
    if (n->sm_idx < rr->floor)
        violation("linearizable reads", "read %ld on node %d (requested at step %ld) sees applied "
                  "index %ld, but index %ld was committed before the read was requested",
                  i, rr->node, rr->step, n->sm_idx, rr->floor);
    /* The read is served from the state machine now: it returns a value. */
    rr->value = C.stale_reads ? n->kv_prev[rr->key] : n->kv[rr->key];
    rr->resp = ++W.hclock;
    ev("read %ld returns key %d = %d", i, rr->key, rr->value);
    W.st.reads_ok++;
}

static void act_read(void)
{
    node_t *n = chance(0.85) ? leader() : random_up();
    if (!n)
        return;
    if (W.nreads == W.reads_cap) {
        W.reads_cap = W.reads_cap ? W.reads_cap * 2 : 256;
        W.reads = realloc(W.reads, (size_t)W.reads_cap * sizeof *W.reads);
    }
    long i = W.nreads++;
    W.reads[i] = (readrec_t){.node = n->id, .boot = n->boots, .floor = W.com_max, .step = g_step,
                             .term = raft_get_current_term(n->r), .key = (int)rndn(NKEYS),
                             .inv = ++W.hclock};
    int rc = raft_recv_read_request(n->r, read_cb, (void *)(intptr_t)i);
    ev("n%d read request %ld floor=%ld -> rc=%d", n->id, i, W.com_max, rc);
    if (rc != 0 && !W.reads[i].done)
        W.reads[i].done = 3;
    rc_shutdown(n, rc, "recv_read_request");
}

static void act_transfer(void)
{
    node_t *l = leader();
    if (!l)
        return;
    int nn = raft_get_num_nodes(l->r), k = 0;
    int *cand = hs_realloc(NULL, (size_t)(nn > 0 ? nn : 1) * sizeof *cand);
    for (int i = 0; i < nn; i++) {
        raft_node_t *rn = raft_get_node_from_idx(l->r, i);
        if (rn && raft_node_is_voting(rn) && raft_node_is_active(rn) && node_of(rn) != l->id)
            cand[k++] = node_of(rn);
    }
    int target = k && !chance(0.15) ? cand[rndn(k)] : RAFT_NODE_ID_NONE;
    free(cand);
    long timeout = chance(0.2) ? 0 : rndr(50, 600);
    int rc = raft_transfer_leader(l->r, target, timeout);
    W.st.transfers++;
    ev("n%d transfer leadership to %d timeout=%ld -> rc=%d", l->id, target, timeout, rc);
}

static int count_members(node_t *l, int *voters)
{
    int nn = raft_get_num_nodes(l->r), nm = 0;
    *voters = 0;
    for (int i = 0; i < nn; i++) {
        raft_node_t *rn = raft_get_node_from_idx(l->r, i);
        if (!rn || !raft_node_is_active(rn))
            continue;
        nm++;
        if (raft_node_is_voting(rn))
            (*voters)++;
    }
    return nm;
}

static void act_member(void)
{
    node_t *l = leader();
    if (!l)
        return;
    int voters, nm = count_members(l, &voters);
    long kind = rndn(3);
    if (kind == 0) {
        /* add: re-propose a stranded joiner, or start a new node */
        for (int i = 1; i < W.next_id; i++) {
            node_t *j = W.nodes[i];
            if (j->status == N_UP && j->joining && !raft_get_node(l->r, j->id)) {
                propose(l, RAFT_LOGTYPE_ADD_NONVOTING_NODE, j->id);
                return;
            }
        }
        int joining = 0;
        for (int i = 1; i < W.next_id; i++)
            joining += W.nodes[i]->status != N_RETIRED && W.nodes[i]->status != N_UNUSED &&
                       W.nodes[i]->joining;
        if (nm >= MAXLIVE || joining >= 2 || W.next_id > C.max_ids)
            return;
        int id = W.next_id++;
        ev("new node n%d joins through n%d", id, l->id);
        node_create(id, 0);
        propose(l, RAFT_LOGTYPE_ADD_NONVOTING_NODE, id);
    } else if (kind == 1) {
        /* promote a caught-up non-voting node */
        int nn = raft_get_num_nodes(l->r);
        for (int i = 0; i < nn; i++) {
            raft_node_t *rn = raft_get_node_from_idx(l->r, i);
            if (rn && !raft_node_is_voting(rn) && raft_node_has_sufficient_logs(rn)) {
                propose(l, RAFT_LOGTYPE_ADD_NODE, node_of(rn));
                return;
            }
        }
    } else {
        /* remove a member, the leader included */
        int nn = raft_get_num_nodes(l->r);
        if (nn <= 0)
            return;
        raft_node_t *rn = raft_get_node_from_idx(l->r, (raft_index_t)rndn(nn));
        if (!rn || !raft_node_is_active(rn))
            return;
        if (raft_node_is_voting(rn) && voters <= 3)
            return;
        int id = node_of(rn);
        if (propose(l, RAFT_LOGTYPE_REMOVE_NODE, id) == 0 && id == l->id)
            W.st.leader_removes++;
    }
}

static void do_promotions(void)
{
    node_t *l = leader();
    if (!l)
        return;
    for (int id = 1; id < W.next_id; id++) {
        if (!W.nodes[id]->promo)
            continue;
        raft_node_t *rn = raft_get_node(l->r, id);
        if (!rn || raft_node_is_voting(rn)) {
            W.nodes[id]->promo = 0;
            continue;
        }
        int rc = propose(l, RAFT_LOGTYPE_ADD_NODE, id);
        if (rc != RAFT_ERR_ONE_VOTING_CHANGE_ONLY)
            W.nodes[id]->promo = 0;
        if (l->status != N_UP)
            return;
    }
}

static void snapshot_finish(node_t *n)
{
    if (chance(0.1)) {
        n->snap_busy = 0;
        int rc = raft_cancel_snapshot(n->r);
        W.st.snap_cancel++;
        ev("n%d cancels snapshot at %ld -> rc=%d", n->id, n->pending.idx, rc);
        return;
    }
    int rc = raft_end_snapshot(n->r); /* compacts through pending.idx */
    n->snap_busy = 0;
    if (rc != 0) {
        ev("n%d end_snapshot -> rc=%d", n->id, rc);
        return;
    }
    if (n->pending.idx < n->snap.idx) {
        /* A newer snapshot from the leader was loaded while this one was
         * being taken; this one is stale and must not replace it. */
        if (raft_get_snapshot_last_idx(n->r) < n->snap.idx)
            violation("snapshot integrity", "node %d loaded snapshot %ld while taking its own at "
                      "%ld; raft_end_snapshot then moved the snapshot index back to %ld (log "
                      "starts at %ld)", n->id, n->snap.idx, n->pending.idx,
                      raft_get_snapshot_last_idx(n->r), n->log.base + 1);
        return;
    }
    if (raft_get_snapshot_last_idx(n->r) != n->pending.idx ||
        raft_get_snapshot_last_term(n->r) != n->pending.term)
        violation("api", "node %d took a snapshot at %ld/%ld but reports %ld/%ld", n->id,
                  n->pending.idx, n->pending.term, raft_get_snapshot_last_idx(n->r),
                  raft_get_snapshot_last_term(n->r));
    n->snap = n->pending;
    node_save_snap(n, &n->snap);
    W.st.snapshots++;
    ev("n%d snapshot at %ld term %ld (%d members), log now %ld..%ld", n->id, n->snap.idx,
       n->snap.term, n->snap.nmem, n->log.base + 1, n->log.base + n->log.n);
}

static void act_compact(node_t *n)
{
    if (n->snap_busy || raft_snapshot_is_in_progress(n->r))
        return;
    if (raft_get_num_snapshottable_logs(n->r) <= 0)
        return;
    int rc = raft_begin_snapshot(n->r);
    if (rc != 0) {
        ev("n%d begin_snapshot -> rc=%d", n->id, rc);
        return;
    }
    raft_index_t s = raft_get_last_applied_idx(n->r);
    sm_advance_skipping(n, s);
    if (n->sm_idx != s)
        violation("api", "node %d snapshot at applied index %ld but the state machine is at %ld",
                  n->id, s, n->sm_idx);
    snap_t *p = &n->pending;
    memset(p, 0, sizeof *p);
    p->idx = s;
    p->term = hs_log_term_at(&n->log, s);
    p->sm_idx = n->sm_idx;
    p->sm_hash = n->sm_hash;
    memcpy(p->kv, n->kv, sizeof p->kv);
    membership_at(n, s, p->mem, &p->nmem);
    n->snap_busy = 1;
    n->snap_wait = (int)rndr(0, C.snap_span);
    ev("n%d begins snapshot at %ld", n->id, s);
    if (n->snap_wait == 0)
        snapshot_finish(n);
}

static void act_partition(void)
{
    hs_net_heal(&W.net);
    int *ids = scratch_ids(), k = 0;
    for (int i = 1; i < W.next_id; i++)
        if (W.nodes[i]->status != N_RETIRED)
            ids[k++] = i;
    if (k < 2)
        return;
    W.st.partitions++;
    W.part_until = g_step + rndr(20, 300);
    if (chance(C.oneway)) {
        W.st.oneway++;
        long links = rndr(1, k);
        for (long i = 0; i < links; i++) {
            int a = ids[rndn(k)], b = ids[rndn(k)];
            if (chance(0.3)) { /* a node that hears nothing, or cannot be heard */
                for (int j = 0; j < k; j++) {
                    if (chance(0.5))
                        hs_net_block(&W.net, a, ids[j], 1);
                    else
                        hs_net_block(&W.net, ids[j], a, 1);
                }
            } else if (a != b)
                hs_net_block(&W.net, a, b, 1);
        }
        ev("one-way partition until %ld", W.part_until);
    } else {
        W.st.twoway++;
        unsigned char *side = hs_realloc(NULL, (size_t)W.next_id);
        memset(side, 0, (size_t)W.next_id);
        if (chance(0.5)) {
            side[ids[rndn(k)]] = 1;
        } else {
            for (int j = 0; j < k; j++)
                side[ids[j]] = (unsigned char)rndn(2);
        }
        char desc[256] = "";
        for (int a = 0; a < k; a++) {
            size_t dl = strlen(desc);
            snprintf(desc + dl, sizeof desc - dl, "%s%d", side[ids[a]] ? "*" : " ", ids[a]);
            for (int b = 0; b < k; b++)
                if (side[ids[a]] != side[ids[b]])
                    hs_net_block(&W.net, ids[a], ids[b], 1);
        }
        ev("two-way partition {%s } until %ld", desc, W.part_until);
        free(side);
    }
}

static void heal_partitions(void)
{
    if (W.part_until) {
        hs_net_heal(&W.net);
        W.part_until = 0;
        ev("partitions healed");
    }
}

/* ------------------------------------------------------------------------ */
/* Per-step observation and invariants */

static int durable_has(node_t *v, raft_index_t idx, raft_term_t term)
{
    if (v->snap.idx >= idx)
        return 1;
    if (idx <= v->log.base || idx > v->log.base + v->log.synced)
        return 0;
    return v->log.e[idx - v->log.base - 1]->term == term;
}

static void check_durable_majority(node_t *l, raft_index_t idx, raft_term_t term)
{
    cinfo_t *c = com_at(idx);
    if (c->dur_checked)
        return;
    c->dur_checked = 1;
    int nn = raft_get_num_nodes(l->r), nv = 0, have = 0;
    for (int i = 0; i < nn; i++) {
        raft_node_t *rn = raft_get_node_from_idx(l->r, i);
        if (!rn || !raft_node_is_voting(rn) || !raft_node_is_active(rn))
            continue;
        nv++;
        int id = node_of(rn);
        if (node_get(id) && node_get(id)->status != N_UNUSED && durable_has(node_get(id), idx, term))
            have++;
    }
    /* One voting change may be in flight, so the commit may have been decided
     * under a configuration with one voter fewer. */
    int need = nv > 0 ? (nv - 1) / 2 + 1 : 0;
    if (have < need)
        violation("durability", "leader %d commits idx %ld (term %ld) stored durably on %d of %d "
                  "voters", l->id, idx, term, have, nv);
}

/* The library's view of n's log matches the log (count, end), and entries
 * never change once appended: the newest ones, and the whole log now and
 * then, against the table of every (index, term) ever appended. */
static void observe_log(node_t *n, raft_server_t *r)
{
    if (raft_get_log_count(r) != n->log.n)
        violation("api", "node %d reports %ld log entries, its log holds %ld", n->id,
                  raft_get_log_count(r), n->log.n);
    long from_k = (g_step % 500 == 0) ? 0 : (n->log.n > 32 ? n->log.n - 32 : 0);
    for (long k = from_k; k < n->log.n; k++) {
        raft_entry_t *e = n->log.e[k];
        canon_t *c = canon_find(n->log.base + 1 + k, e->term, 0);
        if (!c || c->id != e->id || c->type != e->type)
            violation("log matching", "node %d: entry %ld (term %ld id %d) changed after it "
                      "was appended", n->id, n->log.base + 1 + k, e->term, e->id);
    }
    if (raft_get_current_idx(r) != n->log.base + n->log.n)
        violation("api", "node %d reports current index %ld, its log ends at %ld", n->id,
                  raft_get_current_idx(r), n->log.base + n->log.n);
}

/* Newly committed entries are recorded (a leader's must be durable on a
 * majority); commit never goes back, applying never passes it. */
static void observe_commit(node_t *n, raft_server_t *r, raft_term_t t, int is_leader)
{
    raft_index_t ci = raft_get_commit_idx(r), cur = raft_get_current_idx(r);
    if (ci < n->seen_commit)
        violation("state machine safety", "node %d commit index went back from %ld to %ld",
                  n->id, n->seen_commit, ci);
    raft_index_t upto = ci < cur ? ci : cur;
    for (raft_index_t k = n->seen_commit + 1; k <= upto; k++) {
        raft_entry_t *e = hs_log_at(&n->log, k);
        if (!e)
            continue;
        record_commit(k, e, t, n->id);
        if (is_leader)
            check_durable_majority(n, k, e->term);
    }
    if (ci > n->seen_commit)
        n->seen_commit = ci;
    raft_index_t la = raft_get_last_applied_idx(r);
    if (la > ci)
        violation("state machine safety", "node %d applied %ld beyond commit %ld", n->id, la,
                  ci);
    if (la > n->sm_idx)
        sm_advance_skipping(n, la);
    if (la != n->sm_idx)
        violation("api", "node %d reports last applied %ld, the state machine is at %ld",
                  n->id, la, n->sm_idx);
}

/* A leader counts only synced entries for itself, and holds every entry
 * committed in an earlier term (leader completeness). */
static void observe_leader(node_t *n, raft_server_t *r, raft_term_t t)
{
    if (raft_get_my_node(r)) {
        /* The leader counts itself in a majority through its own match
         * index: only what is synced may be counted (ABI: raft_flush
         * updates it with the synced index). */
        raft_index_t self_match = raft_node_get_match_idx(raft_get_my_node(r));
        if (self_match > n->log.base + n->log.synced && self_match > n->snap.idx)
            violation("durability", "leader %d counts itself as holding %ld but only %ld is "
                      "synced", n->id, self_match, n->log.base + n->log.synced);
    }
    if (n->lc_term != t) {
        n->lc_term = t;
        n->lc_checked = 0;
    }
    raft_index_t from = n->lc_checked + 1;
    if (from <= n->log.base)
        from = n->log.base + 1;
    for (raft_index_t k = from; k <= W.com_max; k++) {
        cinfo_t *c = &W.com[k];
        if (!c->set || c->obs_term >= t)
            continue;
        raft_entry_t *e = hs_log_at(&n->log, k);
        if (!e || e->term != c->term || e->id != c->id)
            violation("leader completeness", "leader %d of term %ld lacks idx %ld "
                      "(term %ld, id %d) committed in term %ld; it has %s", n->id, t, k,
                      c->term, c->id, c->obs_term, e ? "another entry" : "nothing");
        n->lc_checked = k;
    }
}

/* Every step, from the outside: each running node's term, log, commit and
 * state machine. */
static void observe(void)
{
    for (int i = 1; i < W.next_id; i++) {
        node_t *n = W.nodes[i];
        if (n->status != N_UP)
            continue;
        raft_server_t *r = n->r;
        raft_term_t t = raft_get_current_term(r);
        int is_leader = raft_is_leader(r);
        if (is_leader)
            check_leader(n, t);
        if (t != n->disk.term)
            violation("persistence", "node %d is in term %ld but persisted term %ld", n->id, t,
                      n->disk.term);
        observe_log(n, r);
        observe_commit(n, r, t, is_leader);
        if (is_leader)
            observe_leader(n, r, t);
    }
}

/* A read pending on a server that is no longer leader must have been
 * answered (can_read = 0) when it lost leadership. */
static void check_reads(void)
{
    for (long i = 0; i < W.nreads; i++) {
        readrec_t *rr = &W.reads[i];
        if (rr->done)
            continue;
        node_t *n = W.nodes[rr->node];
        if (n->status != N_UP || n->boots != rr->boot) {
            rr->done = 2;
            continue;
        }
        if (raft_is_leader(n->r) && raft_get_current_term(n->r) != rr->term)
            violation("linearizable reads", "read %ld on node %d (step %ld, term %ld) is still "
                      "pending in term %ld", i, n->id, rr->step, rr->term,
                      raft_get_current_term(n->r));
        if (!raft_is_leader(n->r))
            violation("linearizable reads", "read %ld on node %d (step %ld) is still pending "
                      "after the node stopped being leader", i, n->id, rr->step);
    }
}

/* True when an entry that adds node `id` back, at an index after `after`,
 * is still in some node's log or in flight: it may yet commit, and the node
 * must then be there to serve. */
static int readd_pending(int id, raft_index_t after)
{
    for (int i = 1; i < W.next_id; i++) {
        node_t *n = W.nodes[i];
        if (n->status != N_UP && n->status != N_DOWN)
            continue;
        hs_log_t *l = &n->log;
        for (raft_index_t idx = (after > l->base ? after : l->base) + 1; idx <= l->base + l->n; idx++) {
            raft_entry_t *e = hs_log_at(l, idx);
            if (e && is_cfg(e->type) && e->type != RAFT_LOGTYPE_REMOVE_NODE && cfg_node_id(e) == id)
                return 1;
        }
    }
    for (int q = 0; q < W.net.qlen; q++) {
        msg_t *m = W.net.q[q];
        if (m->type != HS_MSG_AE)
            continue;
        for (long k = 0; k < m->u.ae.n_entries; k++) {
            raft_entry_t *p = m->u.ae.entries[k];
            if (m->u.ae.prev_log_idx + 1 + k <= after || !is_cfg(p->type) ||
                p->type == RAFT_LOGTYPE_REMOVE_NODE || cfg_node_id(p) != id)
                continue;
            return 1;
        }
    }
    return 0;
}

/* A node whose removal committed is stopped for good, unless it was added
 * back after the removal (the leader may re-propose a stranded joiner
 * while the removal is still uncommitted): then it waits until that entry
 * commits (the node stays) or is gone from every log and message. */
static void retire_removed(void)
{
    for (int id = 1; id < W.next_id; id++) {
        if (!W.nodes[id]->retire)
            continue;
        if (readd_pending(id, W.nodes[id]->retire))
            continue;
        W.nodes[id]->retire = 0;
        node_t *n = W.nodes[id];
        if (n->status == N_UP || n->status == N_DOWN) {
            W.st.retired++;
            W.st.removes++;
            ev("n%d retired (removal committed)", id);
            node_stop(n, N_RETIRED);
            W.nodes[id]->promo = 0;
        }
    }
}

/* ------------------------------------------------------------------------ */
/* Step */

/* Linearizability of the key-value history. Writes take effect in log
 * order (their commit index). A read that returned value v of key k takes
 * effect at some point p of that order with w(v) <= p < the index of the
 * next write to k, p at or after every write completed before the read was
 * requested, p before every write requested after it was answered, and p
 * no earlier than the point of any read answered before it was requested.
 * Reads taken in request order, each at its earliest admissible point,
 * find a linearization whenever one exists. Writes must also respect real
 * time: one requested after another completed commits after it. */
static int cmp_long(const void *a, const void *b)
{
    long x = *(const long *)a, y = *(const long *)b;
    return (x > y) - (x < y);
}

/* The ids of the committed writes, in index order; *nw gets the count. */
static long *committed_writes_by_index(long *nw_out)
{
    long nw = 0;
    long *byidx = malloc(((size_t)W.writes_cap + 1) * sizeof *byidx);
    for (long id = 1; id < W.writes_cap; id++)
        if (W.writes[id].is_write && W.writes[id].idx > 0)
            byidx[nw++] = id;
    long *keys = malloc(((size_t)nw + 1) * 2 * sizeof *keys);
    for (long i = 0; i < nw; i++) {
        keys[2 * i] = (long)W.writes[byidx[i]].idx;
        keys[2 * i + 1] = byidx[i];
    }
    qsort(keys, (size_t)nw, 2 * sizeof *keys, cmp_long);
    for (long i = 0; i < nw; i++)
        byidx[i] = keys[2 * i + 1];
    free(keys);
    *nw_out = nw;
    return byidx;
}

/* Writes: real-time order agrees with log order. */
static void check_writes_real_time(const long *byidx, long nw)
{
    long later_min_comp = LONG_MAX;
    for (long i = nw - 1; i >= 0; i--) {
        wrec_t *w = &W.writes[byidx[i]];
        if (later_min_comp < w->inv)
            violation("linearizability", "write %ld (idx %ld) was requested after a write "
                      "committed at a later index had completed", byidx[i], w->idx);
        if (w->comp < later_min_comp)
            later_min_comp = w->comp;
    }
}

/* The index of the write whose value read i returned (0: the initial
 * value), which must be a committed write of that key. */
static raft_index_t read_value_index(long i, const readrec_t *rr)
{
    if (rr->value == 0)
        return 0;
    if (rr->value >= W.writes_cap || !W.writes[rr->value].is_write ||
        W.writes[rr->value].key != rr->key)
        violation("linearizability", "read %ld of key %d returned %d, which no write of "
                  "that key wrote", i, rr->key, rr->value);
    wrec_t *w = &W.writes[rr->value];
    if (w->idx == 0)
        violation("linearizability", "read %ld returned the value of write %d, which "
                  "never committed", i, rr->value);
    if (w->inv > rr->resp)
        violation("linearizability", "read %ld returned the value of write %d, "
                  "requested after the read was answered", i, rr->value);
    return w->idx;
}

/* Read i takes effect at the earliest admissible point lo < hi: at or
 * after the value's write, every write completed before the request and
 * every earlier read's point; before every write requested after the
 * answer and the next write of its key. Returns lo. */
static raft_index_t read_point(long i, const long *byidx, long nw, const long *resp_sorted, long nr_done,
                               const raft_index_t *point)
{
    readrec_t *rr = &W.reads[i];
    raft_index_t w_idx = read_value_index(i, rr);
    raft_index_t lo = w_idx, hi = INDEX_INF;
    for (long k = 0; k < nw; k++) {
        wrec_t *w = &W.writes[byidx[k]];
        if (w->comp < rr->inv && w->idx > lo)
            lo = w->idx;
        if (w->inv > rr->resp && w->idx < hi)
            hi = w->idx;
        if (w->key == rr->key && w->idx > w_idx && w->idx < hi)
            hi = w->idx; /* the next write of this key overwrites v */
    }
    for (long k = 0; k < nr_done; k++) {
        long j = resp_sorted[k];
        if (j < i && W.reads[j].resp < rr->inv && point[j] > lo)
            lo = point[j];
    }
    if (lo >= hi)
        violation("linearizability", "read %ld (node %d, key %d, requested at step %ld) "
                  "returned %d (write at idx %ld), but it must take effect at or after idx "
                  "%ld and before idx %ld", i, rr->node, rr->key, rr->step, rr->value, w_idx,
                  lo, hi);
    return lo;
}

static void check_linearizable(void)
{
    long nw;
    long *byidx = committed_writes_by_index(&nw);
    check_writes_real_time(byidx, nw);
    /* reads in request order (their index in W.reads is request order) */
    long nr_done = 0;
    raft_index_t *point = calloc((size_t)W.nreads + 1, sizeof *point);
    long *resp_sorted = malloc(((size_t)W.nreads + 1) * sizeof *resp_sorted);
    for (long i = 0; i < W.nreads; i++)
        if (W.reads[i].resp > 0)
            resp_sorted[nr_done++] = i;
    for (long i = 0; i < W.nreads; i++) {
        if (W.reads[i].resp == 0)
            continue; /* refused or never answered: no value */
        point[i] = read_point(i, byidx, nw, resp_sorted, nr_done, point);
        W.st.lin_reads++;
    }
    free(point);
    free(resp_sorted);
    free(byidx);
}

static void start_heal(void)
{
    W.healing = 1;
    W.catchup = 0;
    W.heal_start = g_step;
    W.heal_commit = W.com_max;
    W.st.heals++;
    heal_partitions();
    for (int i = 1; i < W.next_id; i++)
        if (W.nodes[i]->status == N_DOWN) {
            W.st.restarts++;
            node_boot(W.nodes[i]);
        }
    ev("heal: all faults off, waiting for a leader and a commit beyond %ld", W.heal_commit);
}

/* Auto flush off: the background fsync of what raft_get_index_to_sync asks
 * for completes at random; raft_flush is told what is durable. */
static void node_sync(node_t *n)
{
    raft_index_t t = raft_get_index_to_sync(n->r);
    if (t > n->sync_target)
        n->sync_target = t;
    if (n->st && t > 0) /* the store's thread starts the fdatasync */
        store_check(n, raft_store_sync_start(n->st), "raft_store_sync_start");
    raft_index_t done = 0;
    if (n->sync_target && chance(C.fsync)) { /* the background fsync completes */
        long want = (long)(n->sync_target - n->log.base);
        if (want > n->log.n)
            want = n->log.n;
        if (want > n->log.synced)
            n->log.synced = want;
        if (n->st) {
            /* What the background sync reports durable covers the
             * request (unless a pop since cut it: then sync again). */
            raft_index_t got = 0;
            store_check(n, raft_store_sync_wait(n->st, &got), "raft_store_sync_wait");
            if (got > raft_store_current_idx(n->st))
                violation("store", "node %d: background sync reports %ld past the log's end %ld", n->id,
                          got, raft_store_current_idx(n->st));
            if (got < n->log.base + want)
                store_check(n, raft_store_sync(n->st), "raft_store_sync");
        }
        done = n->log.base + n->log.synced;
        n->sync_target = 0;
    }
    int rc = raft_flush(n->r, done);
    rc_shutdown(n, rc, "flush");
}

/* Time passes on every node, in a random order. */
static void step_time(void)
{
    int *order = hs_realloc(NULL, (size_t)W.next_id * sizeof *order), k = 0;
    for (int i = 1; i < W.next_id; i++)
        order[k++] = i;
    for (int i = k - 1; i > 0; i--) {
        int j = (int)rndn(i + 1), tmp = order[i];
        order[i] = order[j];
        order[j] = tmp;
    }
    for (int i = 0; i < k; i++) {
        node_t *n = W.nodes[order[i]];
        if (n->status != N_UP)
            continue;
        int rc = raft_periodic(n->r);
        if (rc_shutdown(n, rc, "periodic"))
            continue;
        if (n->snap_busy && --n->snap_wait <= 0)
            snapshot_finish(n);
        if (!n->autoflush)
            node_sync(n);
    }
    free(order);
}

static void compact_some(void)
{
    for (int i = 1; i < W.next_id; i++) {
        node_t *n = W.nodes[i];
        if (n->status == N_UP && chance(C.compact))
            act_compact(n);
    }
}

/* Requests, and (unless healing) faults and membership changes. */
static void step_actions(void)
{
    if (W.healing || W.final_heal) {
        if (chance(0.5))
            act_propose();
        if (chance(C.read))
            act_read();
        compact_some();
        return;
    }
    if (chance(C.propose))
        act_propose();
    if (chance(C.read))
        act_read();
    if (chance(C.transfer))
        act_transfer();
    if (chance(C.member))
        act_member();
    if (chance(C.partition)) {
        if (W.part_until && chance(0.3))
            heal_partitions();
        else
            act_partition();
    }
    if (chance(C.crash)) {
        node_t *n = random_up();
        if (n)
            node_crash(n, "fault");
    }
    compact_some();
}

/* Members the leader knows that have not applied the catch-up target, and
 * reads from before the heal still unanswered, described in lag. */
static int catchup_lagging(node_t *l, char *lag, size_t size)
{
    int lagging = 0;
    for (int i = 1; i < W.next_id; i++) {
        node_t *n = W.nodes[i];
        raft_node_t *rn = raft_get_node(l->r, i);
        if (n->status != N_UP || !rn || !raft_node_is_active(rn) || n->sm_idx >= W.catchup_target)
            continue;
        lagging++;
        size_t dl = strlen(lag);
        snprintf(lag + dl, size - dl, " n%d:applied %ld", i, n->sm_idx);
    }
    for (long i = 0; i < W.nreads; i++) {
        readrec_t *rr = &W.reads[i];
        if (!rr->done && rr->step <= W.heal_start) {
            lagging++;
            size_t dl = strlen(lag);
            snprintf(lag + dl, size - dl, " read %ld unanswered", i);
            break;
        }
    }
    return lagging;
}

static void no_leader_violation(void)
{
    char buf[512] = "";
    for (int i = 1; i < W.next_id; i++) {
        node_t *n = W.nodes[i];
        if (n->status != N_UP)
            continue;
        size_t dl = strlen(buf);
        snprintf(buf + dl, sizeof buf - dl, " n%d:%s/t%ld/idx%ld/c%ld/v%d", n->id,
                 raft_get_state_str(n->r), raft_get_current_term(n->r), raft_get_current_idx(n->r),
                 raft_get_commit_idx(n->r), raft_node_is_voting(raft_get_my_node(n->r)));
    }
    violation("liveness", "no leader committed a new entry within %d steps after the "
              "faults healed at step %ld (commit still %ld); nodes:%s",
              C.live_bound, W.heal_start, W.com_max, buf);
}

/* While healing: a leader must commit a new entry within the bound, then
 * every member must apply it within twice the bound. */
static void check_liveness(void)
{
    node_t *l = leader();
    if (!W.catchup && l && W.com_max > W.heal_commit) {
        ev("liveness ok: leader n%d term %ld committed %ld after %ld steps", l->id,
           raft_get_current_term(l->r), W.com_max, g_step - W.heal_start);
        W.catchup = 1;
        W.catchup_target = W.com_max;
    }
    int lagging = 0;
    char lag[512] = "";
    if (W.catchup && l)
        lagging = catchup_lagging(l, lag, sizeof lag);
    if (W.catchup && l && !lagging) {
        ev("catch-up ok: every member applied %ld after %ld steps", W.catchup_target,
           g_step - W.heal_start);
        W.st.catchups++;
        W.healing = 0;
        W.catchup = 0;
    } else if (W.catchup && g_step - W.heal_start > 2 * C.live_bound) {
        violation("liveness", "after the faults healed at step %ld, members still lag behind "
                  "commit %ld after %d steps:%s%s", W.heal_start, W.catchup_target,
                  2 * C.live_bound, lag, l ? "" : " (no leader)");
    } else if (!W.catchup && g_step - W.heal_start > C.live_bound) {
        no_leader_violation();
    }
}

static void step(void)
{
    g_step++;
    hs_clock_advance_ms(&W.clock, TICK_MS);

    if (W.part_until && g_step >= W.part_until)
        heal_partitions();
    for (int i = 1; i < W.next_id; i++) {
        node_t *n = W.nodes[i];
        if (n->status == N_DOWN && (W.healing || g_step >= n->restart_at)) {
            W.st.restarts++;
            node_boot(n);
        }
    }

    deliver_due();
    step_time();
    observe();
    step_actions();
    do_promotions();

    observe();
    check_reads();
    retire_removed();

    if (W.healing) {
        check_liveness();
    } else if (!W.final_heal &&
               ((C.heal_every > 0 && g_step % C.heal_every == 0 &&
                 g_step < C.steps - 4 * C.live_bound - 2) ||
                g_step >= C.steps - 2 * C.live_bound - 2)) {
        W.final_heal = g_step >= C.steps - 4 * C.live_bound - 2;
        start_heal();
    }
}

/* ------------------------------------------------------------------------ */
/* Run */

static void world_free(void)
{
    for (int i = 1; i < W.next_id; i++) {
        node_t *n = W.nodes[i];
        if (n->status == N_UP) {
            raft_destroy(n->r);
            n->r = NULL;
        }
        hs_log_truncate(&n->log, 0);
        store_crash(n);
        free(n->log.e);
        hs_disk_free(&n->disk);
        free(n->inflight_ae);
        free(n);
    }
    free(W.nodes);
    hs_net_free(&W.net);
    free(W.com);
    free(W.canon);
    hs_terms_free(&W.leaders);
    free(W.reads);
    free(W.writes);
    memset(&W, 0, sizeof W);
}

static void randomize_cfg(void)
{
    hs_rng_t save = g_rng;
    g_rng.s = C.seed ^ 0xC0FFEEULL;
    C.nodes = (int)rndr(3, 9);
    C.drop = rndf() * 0.15;
    C.dup = rndf() * 0.08;
    C.reorder = rndf() * 0.3;
    C.delay = rndf() * 0.05;
    C.partition = rndf() * 0.02;
    C.oneway = rndf();
    C.crash = rndf() * 0.01;
    C.compact = rndf() * 0.05;
    C.member = rndf() * 0.03;
    C.read = rndf() * 0.2;
    C.transfer = rndf() * 0.01;
    C.propose = 0.1 + rndf() * 0.6;
    C.disk_fail = rndf() < 0.5 ? 0 : rndf() * 0.02;
    C.fsync = 0.05 + rndf() * 0.95;
    C.autoflush = (int)rndr(-1, 1);
    C.nonblocking = (int)rndr(-1, 1);
    g_rng = save;
}

static void stats_add(stats_t *a, const stats_t *b)
{
    long *x = (long *)a;
    const long *y = (const long *)b;
    for (size_t i = 0; i < sizeof *a / sizeof(long); i++)
        x[i] += y[i];
}

static uint64_t run_one(void)
{
    memset(&W, 0, sizeof W);
    g_rng.s = C.seed * 0x2545F4914F6CDD1DULL + 1;
    g_step = 0;
    g_ring_n = 0;
    g_digest = 0;
    W.clock.now_us = 1000 * 1000;
    net_init();
    W.next_entry_id = 1;
    W.chunk_size = (int)rndr(8, 64);
    W.use_backpressure = (int)rndn(2);
    W.use_get_entries = (int)rndn(2);
    W.next_id = C.nodes + 1;
    for (int i = 1; i <= C.nodes; i++)
        node_slot(i);
    for (int i = 1; i <= C.nodes; i++)
        node_create(i, 1);
    while (g_step < C.steps)
        step();
    /* End of run: the final heal phase must have completed. */
    if (W.healing)
        violation("liveness", "run ended %ld steps into the final heal without a new commit",
                  g_step - W.heal_start);
    check_linearizable();
    W.st.msgs = W.net.st.sent;
    W.st.drops = W.net.st.drops;
    W.st.dups = W.net.st.dups;
    W.st.reorders = W.net.st.reorders;
    W.st.delays = W.net.st.delays;
    return g_digest;
}

static const char *g_argv0 = "sim";

static void print_cmdline(FILE *f)
{
    fprintf(f, "%s --seed=%llu", g_argv0, (unsigned long long)C.seed);
    if (C.randomize) {
        fprintf(f, " --random-config");
    } else {
        fprintf(f, " --nodes=%d --drop=%g --dup=%g --reorder=%g --delay=%g --partition=%g "
                   "--oneway=%g --crash=%g --compact=%g --member=%g --read=%g --transfer=%g "
                   "--propose=%g --disk-fail=%g --fsync=%g --autoflush=%d --nonblocking=%d",
                C.nodes, C.drop, C.dup, C.reorder, C.delay, C.partition, C.oneway, C.crash,
                C.compact, C.member, C.read, C.transfer, C.propose, C.disk_fail, C.fsync, C.autoflush,
                C.nonblocking);
    }
    fprintf(f, " --builtin-log=%d --steps=%ld --heal-every=%d --live-bound=%d --max-ids=%d --snapshot-span=%d%s%s -v\n",
            C.builtin_log, C.steps, C.heal_every, C.live_bound, C.max_ids, C.snap_span,
            C.no_membership_check ? " --no-membership-check" : "", C.store ? " --store=1" : "");
    if (C.stale_reads)
        fprintf(f, "  (with --stale-reads)\n");
}

static void usage(void)
{
    printf(
        "usage: sim [options]\n"
        "  --seed=N          first seed (default 1)\n"
        "  --seeds=N         number of consecutive seeds to run (default 1)\n"
        "  --steps=N         steps per run, %d ms of virtual time each (default 5000)\n"
        "  --nodes=N         initial cluster size, 3..9 (default 5)\n"
        "  --drop=P --dup=P --reorder=P --delay=P   per-message fault rates\n"
        "  --partition=P     per-step rate of partition changes\n"
        "  --oneway=P        fraction of partitions that are one-way\n"
        "  --crash=P         per-step rate of crash (restart follows from disk)\n"
        "  --compact=P       per-node per-step rate of snapshot + log compaction\n"
        "  --member=P        per-step rate of membership changes (add/promote/remove)\n"
        "  --read=P --transfer=P --propose=P   per-step request rates\n"
        "  --disk-fail=P     rate of persist_metadata failures (x10 for load_snapshot)\n"
        "  --fsync=P         auto flush off: per-step chance a background fsync completes\n"
        "  --autoflush=0|1|-1   auto flush off, on, random per node (default -1)\n"
        "  --nonblocking=0|1|-1 nonblocking apply (default -1)\n"
        "  --builtin-log=0|1|-1 the built-in log (raft_new, mirrored to disk through its\n"
        "                    observers), the simulator's own, random per boot (default -1)\n"
        "  --store=1         nodes keep log, term and vote on a raft_store (raft_store.h)\n"
        "                    in a temporary directory; crashes are power failures there\n"
        "  --heal-every=N    heal all faults every N steps and require progress\n"
        "  --live-bound=N    steps allowed to elect and commit after a heal (default 400)\n"
        "  --max-ids=N       node ids 1..N over one run; no node joins after that (default 63)\n"
        "  --snapshot-span=N a local snapshot spans 0..N steps (default 3)\n"
        "  --random-config   derive nodes and all rates from each seed\n"
        "  --no-membership-check  do not stop when a leader accepts a voting change before\n"
        "                    committing an entry of its term (to look past that bug)\n"
        "  --stale-reads     self-test of the linearizability check: the simulator's own\n"
        "                    state machine answers reads with a key's previous value\n"
        "  --profile=NAME    calm|lossy|partition|crash|member|all (default all)\n"
        "  --replay-check    run each seed twice and compare event digests\n"
        "  --require-coverage  fail unless every fault kind occurred\n"
        "  --trace=N         events kept for a violation report (default 50)\n"
        "  -v, -vv           print events (and library log lines)\n"
        "  -q                only print the summary\n",
        TICK_MS);
}

static void set_profile(const char *p)
{
    C.drop = C.dup = C.reorder = C.delay = C.partition = C.crash = C.compact = C.member =
        C.transfer = C.disk_fail = 0;
    C.read = 0.1;
    C.propose = 0.4;
    C.oneway = 0.4;
    if (!strcmp(p, "calm"))
        return;
    if (!strcmp(p, "lossy") || !strcmp(p, "all")) {
        C.drop = 0.05, C.dup = 0.03, C.reorder = 0.15, C.delay = 0.02;
    }
    if (!strcmp(p, "partition") || !strcmp(p, "all"))
        C.partition = 0.01;
    if (!strcmp(p, "crash") || !strcmp(p, "all"))
        C.crash = 0.005;
    if (!strcmp(p, "member") || !strcmp(p, "all"))
        C.member = 0.02, C.transfer = 0.005;
    if (!strcmp(p, "all"))
        C.compact = 0.02, C.disk_fail = 0.01;
    if (!strcmp(p, "member"))
        C.compact = 0.02;
    if (strcmp(p, "calm") && strcmp(p, "lossy") && strcmp(p, "partition") &&
        strcmp(p, "crash") && strcmp(p, "member") && strcmp(p, "all")) {
        fprintf(stderr, "unknown profile %s\n", p);
        exit(2);
    }
}

static void set_defaults(void)
{
    C.seed = 1;
    C.seeds = 1;
    C.nodes = 5;
    C.steps = 5000;
    C.autoflush = -1;
    C.nonblocking = -1;
    C.builtin_log = -1;
    C.heal_every = 1500;
    C.live_bound = 400;
    C.max_ids = 63;
    C.trace = 50;
    C.snap_span = 3;
    C.fsync = 0.6;
    set_profile("all");
}

/* --name=value options: what each sets. */
static const struct {
    const char *name;
    char kind; /* u: uint64, l: long, i: int, d: double, p: profile */
    void *p;
} g_opts[] = {
    {"seed", 'u', &C.seed}, {"seeds", 'l', &C.seeds}, {"steps", 'l', &C.steps},
    {"nodes", 'i', &C.nodes}, {"drop", 'd', &C.drop}, {"dup", 'd', &C.dup},
    {"reorder", 'd', &C.reorder}, {"delay", 'd', &C.delay}, {"partition", 'd', &C.partition},
    {"oneway", 'd', &C.oneway}, {"crash", 'd', &C.crash}, {"compact", 'd', &C.compact},
    {"member", 'd', &C.member}, {"read", 'd', &C.read}, {"transfer", 'd', &C.transfer},
    {"fsync", 'd', &C.fsync}, {"disk-fail", 'd', &C.disk_fail}, {"propose", 'd', &C.propose},
    {"autoflush", 'i', &C.autoflush}, {"nonblocking", 'i', &C.nonblocking},
    {"builtin-log", 'i', &C.builtin_log}, {"store", 'i', &C.store}, {"heal-every", 'i', &C.heal_every},
    {"live-bound", 'i', &C.live_bound}, {"max-ids", 'i', &C.max_ids}, {"snapshot-span", 'i', &C.snap_span},
    {"trace", 'i', &C.trace}, {"profile", 'p', NULL},
};

/* Options without a value. */
static const struct {
    const char *name;
    int *p;
    int v;
} g_flags[] = {
    {"--no-membership-check", &C.no_membership_check, 1}, {"--stale-reads", &C.stale_reads, 1},
    {"--random-config", &C.randomize, 1}, {"--replay-check", &C.replay_check, 1},
    {"--require-coverage", &C.require_coverage, 1}, {"-v", &C.verbose, 1}, {"-vv", &C.verbose, 2},
    {"-q", &C.quiet, 1},
};

/* One argument; 0 if it is not an option. */
static int parse_opt(const char *a)
{
    for (size_t k = 0; k < sizeof g_flags / sizeof g_flags[0]; k++)
        if (!strcmp(a, g_flags[k].name)) {
            *g_flags[k].p = g_flags[k].v;
            return 1;
        }
    const char *v = strchr(a, '=');
    if (strncmp(a, "--", 2) || !v)
        return 0;
    for (size_t k = 0; k < sizeof g_opts / sizeof g_opts[0]; k++) {
        if (strlen(g_opts[k].name) != (size_t)(v - a - 2) || strncmp(a + 2, g_opts[k].name, (size_t)(v - a - 2)))
            continue;
        v++;
        switch (g_opts[k].kind) {
        case 'u': *(uint64_t *)g_opts[k].p = strtoull(v, NULL, 0); break;
        case 'l': *(long *)g_opts[k].p = atol(v); break;
        case 'i': *(int *)g_opts[k].p = atoi(v); break;
        case 'd': *(double *)g_opts[k].p = atof(v); break;
        default: set_profile(v); break;
        }
        return 1;
    }
    return 0;
}

/* Returns -1 to run, or the exit status. */
static int parse_args(int argc, char **argv)
{
    set_defaults();
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "-h") || !strcmp(argv[i], "--help")) {
            usage();
            return 0;
        }
        if (!parse_opt(argv[i])) {
            fprintf(stderr, "unknown option %s\n", argv[i]);
            usage();
            return 2;
        }
    }
    if (C.nodes < 3 || C.nodes > MAXLIVE) {
        fprintf(stderr, "--nodes must be 3..%d (MAXLIVE, the most members a cluster has)\n", MAXLIVE);
        return 2;
    }
    if (C.max_ids < C.nodes) {
        fprintf(stderr, "--max-ids must be at least --nodes\n");
        return 2;
    }
    if (C.steps < C.live_bound * 4)
        C.steps = C.live_bound * 4;
    if (C.trace < 1)
        C.trace = 1;
    return -1;
}

/* Store mode: the stores live in a temporary directory removed at exit. */
static int store_setup(void)
{
    SI = raft_store_log_impl();
    C.builtin_log = 0; /* the server's reads go through the store */
    snprintf(g_store_root, sizeof g_store_root, "/tmp/raft-sim-store-XXXXXX");
    if (!mkdtemp(g_store_root)) {
        perror("mkdtemp");
        return 1;
    }
    atexit(store_cleanup);
    return 0;
}

/* One seed (twice with --replay-check); 1 if the two runs diverged. */
static int run_seed(void)
{
    if (C.randomize)
        randomize_cfg();
    uint64_t d = run_one();
    stats_t st = W.st;
    raft_index_t commits = W.com_max;
    world_free();
    if (C.replay_check) {
        int v = C.verbose;
        C.verbose = 0;
        uint64_t d2 = run_one();
        world_free();
        C.verbose = v;
        if (d2 != d) {
            fprintf(stderr, "=== VIOLATION: determinism ===\nseed=%llu: two runs of the same "
                    "seed diverged (digest %016llx vs %016llx)\nreplay: ",
                    (unsigned long long)C.seed, (unsigned long long)d,
                    (unsigned long long)d2);
            print_cmdline(stderr);
            return 1;
        }
    }
    stats_add(&g_total, &st);
    if (!C.quiet)
        printf("seed %llu ok: nodes=%d steps=%ld commits=%ld elections=%ld crashes=%ld "
               "partitions=%ld snapshots=%ld/%ld loads adds=%ld promotes=%ld removes=%ld "
               "reads=%ld/%ld transfers=%ld digest=%016llx\n",
               (unsigned long long)C.seed, C.nodes, C.steps, commits, st.elections,
               st.crashes, st.partitions, st.snapshots, st.snap_loads, st.adds, st.promotes,
               st.removes, st.reads_ok, st.reads_ok + st.reads_fail, st.transfers,
               (unsigned long long)d);
    return 0;
}

static void print_summary(long seconds)
{
    const stats_t *T = &g_total;
    printf("sim: %ld seeds x %ld steps passed in %lds | msgs=%ld drops=%ld dups=%ld "
           "reorders=%ld delays=%ld partitions=%ld (one-way %ld, two-way %ld) crashes=%ld "
           "restarts=%ld snapshots=%ld snapshot-loads=%ld cancels=%ld adds=%ld promotes=%ld "
           "removes=%ld (leader %ld) reads=%ld ok/%ld refused transfers=%ld (%ld events) "
           "proposals=%ld (%ld accepted) elections=%ld heals=%ld shutdowns=%ld "
           "autoflush-off-nodes=%ld builtin-log-boots=%ld persist-failures=%ld load-failures=%ld "
           "catch-ups=%ld re-added-before-retire=%ld reads-checked-by-value=%ld\n",
           C.seeds, C.steps, seconds, T->msgs, T->drops, T->dups, T->reorders,
           T->delays, T->partitions, T->oneway, T->twoway, T->crashes, T->restarts, T->snapshots,
           T->snap_loads, T->snap_cancel, T->adds, T->promotes, T->removes, T->leader_removes,
           T->reads_ok, T->reads_fail, T->transfers, T->transfer_events, T->proposals,
           T->proposals_ok, T->elections, T->heals, T->shutdowns, T->autoflush_off,
           T->builtin_boots, T->persist_fails, T->load_fails, T->catchups, T->readds, T->lin_reads);
}

/* --require-coverage: 1 (and a line for each) if a fault kind never happened. */
static int coverage_missing(void)
{
    const stats_t *T = &g_total;
    struct { const char *name; long v; } cov[] = {
        {"drop", T->drops}, {"duplication", T->dups}, {"reordering", T->reorders},
        {"delay", T->delays}, {"one-way partition", T->oneway},
        {"two-way partition", T->twoway}, {"crash/restart", T->restarts},
        {"compaction", T->snapshots}, {"snapshot install", T->snap_loads},
        {"add non-voting", T->adds}, {"promote", T->promotes}, {"remove", T->removes},
        {"leader removal", T->leader_removes}, {"read answered", T->reads_ok},
        {"transfer", T->transfers}, {"proposal committed", T->proposals_ok},
        {"auto flush off", T->autoflush_off}, {"built-in log", T->builtin_boots},
        {"heal + liveness", T->heals},
        {"persist failure", T->persist_fails}, {"snapshot load failure", T->load_fails},
        {"catch-up after heal", T->catchups},
    };
    int missing = 0;
    for (size_t i = 0; i < sizeof cov / sizeof cov[0]; i++)
        if (cov[i].v == 0) {
            fprintf(stderr, "coverage: no %s happened\n", cov[i].name);
            missing = 1;
        }
    return missing;
}

int main(int argc, char **argv)
{
    g_argv0 = argv[0];
    int rc = parse_args(argc, argv);
    if (rc >= 0)
        return rc;
    g_ring = calloc((size_t)C.trace, EVLEN);
    setvbuf(stdout, NULL, _IOLBF, 0);
    if (C.store && store_setup() != 0)
        return 1;
    uint64_t first = C.seed;
    time_t t0 = time(NULL);
    for (long s = 0; s < C.seeds; s++) {
        C.seed = first + (uint64_t)s;
        if (run_seed() != 0)
            return 1;
    }
    print_summary((long)(time(NULL) - t0));
    free(g_ring);
    if (C.require_coverage && coverage_missing())
        return 1;
    return 0;
}
