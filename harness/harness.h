/* The C cluster harness: the pieces every in-process run of libraft servers
 * needs, written once and shared by the C tests (c_tests/support/cluster.c),
 * the simulator (sim/) and the fuzz target (fuzz/fuzz_raft.c).
 *
 *   rng     a seeded PRNG (splitmix64); nothing here calls rand()
 *   clock   a fake clock for the timestamp callback
 *   log     an in-memory log: a raft_log_impl_t over an array, with a
 *           durable prefix (what survives a crash) and hooks through which
 *           a user checks or mirrors every change
 *   disk    what a server keeps on disk besides the log: term and vote,
 *           the snapshot it took or loaded, the snapshot being received
 *   net     messages copied at send time (entries and chunks included), a
 *           queue with delivery times, per-link blocking (partitions, also
 *           one-way), and the faults applied at send time: drop, duplicate,
 *           reorder, delay, all drawn from the net's PRNG
 *   deliver one call that hands a message to the raft_recv_* function of
 *           its type and builds the response message
 *
 * Everything goes through the public raft.h, as an application would. The
 * harness checks nothing about Raft itself: its users do, through the hooks
 * and the return values (each reports a broken rule its own way).
 *
 * Node ids index the link table, which grows as ids appear: there is no
 * fixed limit on ids or on the queue.
 */
#ifndef LIBRAFT_HARNESS_H
#define LIBRAFT_HARNESS_H

#include <stddef.h>
#include <stdint.h>

#include "raft.h"

/* ------------------------------------------------------------------ */
/* rng: splitmix64                                                      */

typedef struct {
    uint64_t s;
} hs_rng_t;

static inline uint64_t hs_rng_next(hs_rng_t *g)
{
    uint64_t z = (g->s += 0x9E3779B97F4A7C15ULL);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
    return z ^ (z >> 31);
}
/* Uniform in [0, 1). */
static inline double hs_rng_unit(hs_rng_t *g)
{
    return (double)(hs_rng_next(g) >> 11) * (1.0 / 9007199254740992.0);
}
/* Uniform in [0, n); 0 (drawing nothing) when n <= 0. */
static inline long hs_rng_below(hs_rng_t *g, long n)
{
    return n <= 0 ? 0 : (long)(hs_rng_next(g) % (uint64_t)n);
}
/* Uniform in [lo, hi]. */
static inline long hs_rng_range(hs_rng_t *g, long lo, long hi)
{
    return lo + hs_rng_below(g, hi - lo + 1);
}
/* True with probability p; draws nothing when p <= 0. */
static inline int hs_rng_chance(hs_rng_t *g, double p)
{
    return p > 0 && hs_rng_unit(g) < p;
}

/* ------------------------------------------------------------------ */
/* clock                                                                */

typedef struct {
    raft_time_t now_us;
} hs_clock_t;

static inline void hs_clock_advance_ms(hs_clock_t *c, long ms) { c->now_us += (raft_time_t)ms * 1000; }
static inline long hs_clock_ms(const hs_clock_t *c) { return (long)(c->now_us / 1000); }

/* ------------------------------------------------------------------ */
/* memory                                                               */

/* realloc that never returns NULL (prints and aborts instead). */
void *hs_realloc(void *p, size_t n);
/* A fresh entry with the same term, id, type and data; NULL when
 * raft_entry_new fails (the heap hooks are out of memory). */
raft_entry_t *hs_entry_copy(const raft_entry_t *e);
int hs_entry_equal(const raft_entry_t *a, const raft_entry_t *b);

/* ------------------------------------------------------------------ */
/* log                                                                  */

typedef struct hs_log hs_log_t;

/* Optional hooks, called with hook_arg. A hook that finds a broken rule
 * reports it (and may exit); the log itself never refuses a change. */
typedef struct {
    /* after the entry was appended at idx; prev_term is the term of the
     * entry before it (0 at index 1) */
    void (*append)(void *arg, hs_log_t *l, raft_index_t idx, raft_entry_t *e, raft_term_t prev_term);
    /* after entries before first_idx were removed */
    void (*poll)(void *arg, hs_log_t *l, raft_index_t first_idx);
    /* for each entry, newest first, before it is popped */
    void (*pop_entry)(void *arg, hs_log_t *l, raft_index_t idx, raft_entry_t *e);
    /* after entries from from_idx on were popped */
    void (*pop)(void *arg, hs_log_t *l, raft_index_t from_idx);
    /* after the log was emptied to start after first_idx - 1 */
    void (*reset)(void *arg, hs_log_t *l, raft_index_t first_idx, raft_term_t term);
    /* after the log was synced */
    void (*sync)(void *arg, hs_log_t *l);
    /* raft_log_impl_t init/free: the server took or released the log */
    void (*attach)(void *arg, hs_log_t *l, void *raft);
    void (*detach)(void *arg, hs_log_t *l);
    /* replace get/get_batch (e.g. read from another store); `mine` is the
     * log's own entry, borrowed; the result is held for the caller */
    raft_entry_t *(*get)(void *arg, hs_log_t *l, raft_index_t idx, raft_entry_t *mine);
    raft_index_t (*get_batch)(void *arg, hs_log_t *l, raft_index_t idx, raft_index_t n, raft_entry_t **out);
} hs_log_hooks_t;

struct hs_log {
    raft_entry_t **e;       /* e[i] is the entry at base + 1 + i (held) */
    raft_index_t n, cap;
    raft_index_t base;      /* index of the entry before e[0] */
    raft_term_t base_term;
    raft_index_t synced;    /* e[0..synced) are durable: they survive a crash */
    int durable_appends;    /* appends are durable at once (replaying a disk) */
    int fail_append;        /* append returns this when non-zero */
    int attached;           /* a server uses it (between init and free) */
    int syncs, appends, pops, polls, resets, gets;
    const hs_log_hooks_t *hooks;
    void *hook_arg;
};

/* The raft_log_impl_t to give raft_new_with_log with an hs_log_t as the
 * argument. The log outlives the server: free does not release entries. */
extern const raft_log_impl_t hs_log_impl;

void hs_log_init(hs_log_t *l, raft_index_t base, raft_term_t base_term);
hs_log_t *hs_log_new(raft_index_t base, raft_term_t base_term);
void hs_log_free(hs_log_t *l);       /* hs_log_new'd: release entries, free */
void hs_log_clear(hs_log_t *l);      /* release every entry and the array */
hs_log_t *hs_log_copy(const hs_log_t *src); /* a new log holding the same entries */

raft_entry_t *hs_log_at(const hs_log_t *l, raft_index_t idx); /* borrowed; NULL outside */
/* Term at idx: base_term at base, -1 outside the log. */
raft_term_t hs_log_term_at(const hs_log_t *l, raft_index_t idx);
static inline raft_index_t hs_log_last(const hs_log_t *l) { return l->base + l->n; }
static inline raft_index_t hs_log_synced_idx(const hs_log_t *l) { return l->base + l->synced; }

/* The operations of hs_log_impl, callable directly (the hooks run). */
int hs_log_append(hs_log_t *l, raft_entry_t *e);
int hs_log_poll(hs_log_t *l, raft_index_t first_idx);
int hs_log_pop(hs_log_t *l, raft_index_t from_idx, raft_entry_notify_f cb, void *cb_arg);
void hs_log_reset(hs_log_t *l, raft_index_t first_idx, raft_term_t term);
int hs_log_sync(hs_log_t *l);
/* Keep the first `keep` entries, release the rest (no hooks). */
void hs_log_truncate(hs_log_t *l, raft_index_t keep);
/* A crash: every entry not synced is lost (no hooks). */
static inline void hs_log_drop_unsynced(hs_log_t *l) { hs_log_truncate(l, l->synced); }

/* ------------------------------------------------------------------ */
/* disk                                                                 */

typedef struct {
    /* metadata */
    raft_term_t term;
    raft_node_id_t vote;
    int persists;
    /* the snapshot taken or loaded: an opaque image */
    unsigned char *snap;
    size_t snap_len;
    raft_index_t snap_idx;
    raft_term_t snap_term;
    /* the snapshot being received, chunk by chunk */
    unsigned char *in;
    size_t in_len, in_cap;
    raft_index_t in_idx;
} hs_disk_t;

enum {
    HS_META_OK = 0,
    HS_META_TERM_BACK,      /* a lower term than the one on disk */
    HS_META_VOTE_CHANGED,   /* another vote in the same term */
};

void hs_disk_init(hs_disk_t *d);
void hs_disk_free(hs_disk_t *d);
/* Write term and vote. Returns HS_META_OK, or what rule the write broke
 * (it is written anyway: the caller decides what that means). */
int hs_disk_persist(hs_disk_t *d, raft_term_t term, raft_node_id_t vote);
/* Replace the snapshot (the image is copied). */
void hs_disk_save_snapshot(hs_disk_t *d, const void *img, size_t len, raft_index_t idx, raft_term_t term);
/* Fill a chunk of at most max bytes of the snapshot from off (off <= the
 * image's length). */
void hs_disk_read_chunk(const hs_disk_t *d, raft_size_t off, raft_size_t max, raft_snapshot_chunk_t *chunk);
/* Store a received chunk: off 0 starts a new image. Returns 0, or -1 for a
 * gap (off beyond what was received) or a chunk of another snapshot. */
int hs_disk_store_chunk(hs_disk_t *d, raft_index_t snap_idx, raft_size_t off, const raft_snapshot_chunk_t *chunk);
/* The received image becomes the snapshot. */
void hs_disk_install_received(hs_disk_t *d, raft_index_t idx, raft_term_t term);

/* ------------------------------------------------------------------ */
/* messages                                                             */

typedef enum {
    HS_MSG_RV = 1,
    HS_MSG_RV_RESP,
    HS_MSG_AE,
    HS_MSG_AE_RESP,
    HS_MSG_SNAP,
    HS_MSG_SNAP_RESP,
    HS_MSG_TIMEOUTNOW,
    HS_MSG_NTYPES
} hs_msg_type_e;

extern const char *const hs_msg_name[HS_MSG_NTYPES];

/* A message owns its entries (copies, held) and its chunk data (a copy). */
typedef struct hs_msg {
    int type;
    raft_node_id_t from, to;
    long at;        /* due time, in the user's time unit */
    uint64_t seq;   /* send order */
    union {
        raft_requestvote_req_t rv;
        raft_requestvote_resp_t rvr;
        raft_appendentries_req_t ae;
        raft_appendentries_resp_t aer;
        raft_snapshot_req_t snap;
        raft_snapshot_resp_t snapr;
    } u;
} hs_msg_t;

hs_msg_t *hs_msg_new(int type, raft_node_id_t from, raft_node_id_t to);
hs_msg_t *hs_msg_requestvote(raft_node_id_t from, raft_node_id_t to, const raft_requestvote_req_t *req);
/* NULL when an entry could not be copied (out of memory): a lost message. */
hs_msg_t *hs_msg_appendentries(raft_node_id_t from, raft_node_id_t to, const raft_appendentries_req_t *req);
hs_msg_t *hs_msg_snapshot(raft_node_id_t from, raft_node_id_t to, const raft_snapshot_req_t *req);
/* NULL as hs_msg_appendentries. */
hs_msg_t *hs_msg_clone(const hs_msg_t *m);
void hs_msg_free(hs_msg_t *m);

/* Hand m to the server's raft_recv_* function of its type (sender may be
 * NULL). For a request, *reply gets the response message (type, from, to
 * and the response the call filled in; its fields start as the caller set
 * them, so a caller can tell what a failing call left unwritten). For a
 * response or timeoutnow reply->type is set to 0. Returns the call's rc. */
int hs_msg_deliver(raft_server_t *r, raft_node_t *sender, const hs_msg_t *m, hs_msg_t *reply);

/* ------------------------------------------------------------------ */
/* net                                                                  */

/* Faults applied when a message is sent (rates per message). A sent
 * message is due latency_min..latency_max ticks later (0 and 0: at once,
 * drawing nothing); reordering adds 0..6 ticks, a long delay 10..80, a
 * duplicate gets 0..8 ticks of its own. */
typedef struct {
    double drop, dup, reorder, delay;
    long tick;                  /* one tick, in the user's time unit */
    long latency_min, latency_max;
    long max_queue;             /* drop while more are queued (0: no limit) */
    int off;                    /* no faults (healing) */
} hs_faults_t;

typedef struct {
    long sent, drops, dups, reorders, delays;
} hs_net_stats_t;

typedef struct {
    hs_msg_t **q;       /* in send order */
    int qlen, qcap;
    uint64_t seq;
    hs_rng_t *rng;
    hs_faults_t faults;
    hs_net_stats_t st;
    /* blocked[from * links_n + to]: messages on that link are lost */
    unsigned char *blocked;
    int links_n;
} hs_net_t;

void hs_net_init(hs_net_t *net, hs_rng_t *rng);
void hs_net_free(hs_net_t *net);    /* drops everything queued */

/* Send m (the net owns it): faults are applied, the copies that survive
 * are queued due at now + latency. Returns the number queued (0..2). */
int hs_net_send(hs_net_t *net, hs_msg_t *m, long now);
/* Queue m as is: due now, no faults. */
void hs_net_push(hs_net_t *net, hs_msg_t *m);
/* Take the i-th queued message out (NULL when out of range). */
hs_msg_t *hs_net_take(hs_net_t *net, int i);
/* Take every message due at `now`, ordered by (due time, send order);
 * *out is allocated (free it). Returns the count. */
int hs_net_take_due(hs_net_t *net, long now, hs_msg_t ***out);
/* Index of the nth queued message matching type/from/to (0 = any), -1. */
int hs_net_find(const hs_net_t *net, int type, raft_node_id_t from, raft_node_id_t to, int nth);
int hs_net_count(const hs_net_t *net, int type, raft_node_id_t from, raft_node_id_t to);
void hs_net_drop_all(hs_net_t *net);

/* Links (ids >= 0; the table grows). */
void hs_net_block(hs_net_t *net, raft_node_id_t from, raft_node_id_t to, int blocked);
int hs_net_blocked(const hs_net_t *net, raft_node_id_t from, raft_node_id_t to);
void hs_net_heal(hs_net_t *net);
/* Block every link between the two sides: side[id] != 0 is side A, for
 * ids 1..n (ids not listed are side B). */
void hs_net_split(hs_net_t *net, const unsigned char *side, int n);

/* ------------------------------------------------------------------ */
/* members (members.c)                                                  */

/* A configuration member as the application records it. */
typedef struct {
    raft_node_id_t id;
    int voting;
} hs_member_t;

/* Apply a configuration entry (RAFT_LOGTYPE_ADD_NONVOTING_NODE, ADD_NODE,
 * REMOVE_NODE) about id to a list of at most max members. Returns 0, or -1
 * when the list is full (nothing changed). */
int hs_members_apply(hs_member_t *m, int *n, int max, int type, raft_node_id_t id);
/* Make the server's nodes the members, each committed (active, voting as
 * listed, addition committed), as after loading a snapshot or at a
 * restart. A server that is not a member stays as a non-voting node. */
void hs_members_install(raft_server_t *r, raft_node_id_t self, const hs_member_t *m, int n);

/* ------------------------------------------------------------------ */
/* election safety (members.c)                                          */

/* The leader of each term seen so far (grows with the terms). */
typedef struct {
    raft_node_id_t *leader;
    raft_term_t cap;
} hs_terms_t;

/* Record id as the leader of term (term >= 0). Returns the leader recorded
 * before: RAFT_NODE_ID_NONE if id is the first, or id, or another node
 * (two leaders in one term). */
raft_node_id_t hs_terms_leader(hs_terms_t *t, raft_term_t term, raft_node_id_t id);
void hs_terms_free(hs_terms_t *t);

#endif
