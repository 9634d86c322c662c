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
 * Usage: sim [--key=value ...]   (see usage() in main.c)
 *
 * Files: world.c (PRNG, trace, nodes), records.c (cross-node records),
 * store.c (--store), log.c (each node's log and snapshots), callbacks.c,
 * node.c (boot, crash, restart), deliver.c (network), actions.c (what the
 * schedule does), checks.c (per-step and end-of-run checks), main.c (step,
 * run, options). This header holds the types, the globals and every
 * function declaration, grouped by the file that defines it.
 */
#ifndef LIBRAFT_SIM_H
#define LIBRAFT_SIM_H

#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
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

#define EVLEN 200 /* bytes of one traced event */

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

typedef struct {
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
} world_t;

#define SNAP_MAGIC 0x534e4150u /* a snapshot image starts with it */

extern hs_rng_t g_rng;
extern cfg_t C;
extern char (*g_ring)[EVLEN];
extern long g_ring_n;
extern long g_step;
extern uint64_t g_digest;
extern world_t W;
extern stats_t g_total;
extern const raft_log_impl_t *SI;
extern char g_store_root[64];
extern raft_log_cbs_t mirror_cbs;
extern raft_cbs_t sim_cbs;
extern const char *g_argv0;

/* world.c */
uint64_t rnd64(void);
double rndf(void);
long rndn(long n);
long rndr(long lo, long hi);
int chance(double p);
uint64_t mix64(uint64_t h, uint64_t v);
uint64_t fnv(const void *p, size_t n);
void ev(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void violation(const char *prop, const char *fmt, ...) __attribute__((format(printf, 2, 3), noreturn));
node_t *node_get(int id);
node_t *node_slot(int id);
int *scratch_ids(void);
long inflight_get(const node_t *n, int to);
void inflight_add(node_t *n, int to, long k);

/* records.c */
cinfo_t *com_at(raft_index_t idx);
uint64_t ety_hash(raft_entry_t *e);
int cfg_node_id(raft_entry_t *e);
int key_of(raft_entry_t *e);
int is_cfg(short type);
void record_commit(raft_index_t idx, raft_entry_t *e, raft_term_t obs_term, int who);
uint64_t canon_key(raft_index_t idx, raft_term_t term);
canon_t *canon_find(raft_index_t idx, raft_term_t term, int create);
void canon_check(node_t *n, raft_index_t idx, raft_entry_t *e, raft_term_t prev);
void check_leader(node_t *n, raft_term_t t);

/* store.c */
void store_check(node_t *n, int rc, const char *what);
void store_dir(const node_t *n, char *buf, size_t len);
void store_open(node_t *n);
void store_check_boot(node_t *n);
void store_rebase(node_t *n);
void store_cleanup(void);
void store_crash(node_t *n);

/* log.c */
raft_entry_t *store_get(hs_log_t *l, raft_index_t idx, raft_entry_t *mine);
void lg_attach(void *arg, hs_log_t *l, void *raft);
void lg_detach(void *arg, hs_log_t *l);
void lg_reset(void *arg, hs_log_t *l, raft_index_t first_idx, raft_term_t term);
void lg_append(void *arg, hs_log_t *l, raft_index_t idx, raft_entry_t *e, raft_term_t prev);
void lg_poll(void *arg, hs_log_t *l, raft_index_t first_idx);
void lg_pop_entry(void *arg, hs_log_t *l, raft_index_t i, raft_entry_t *e);
void lg_pop(void *arg, hs_log_t *l, raft_index_t from_idx);
void lg_sync(void *arg, hs_log_t *l);
raft_entry_t *lg_store_get(void *arg, hs_log_t *l, raft_index_t idx, raft_entry_t *mine);
raft_index_t lg_store_get_batch(void *arg, hs_log_t *l, raft_index_t idx, raft_index_t n,
                                       raft_entry_t **out);
void log_bind(node_t *n);
int mirror_offer(raft_server_t *r, void *ud, raft_entry_t *e, raft_index_t idx);
int mirror_poll(raft_server_t *r, void *ud, raft_entry_t *e, raft_index_t idx);
int mirror_pop(raft_server_t *r, void *ud, raft_entry_t *e, raft_index_t idx);
int mirror_clear(raft_server_t *r, void *ud, raft_entry_t *e, raft_index_t idx);
void mirror_rebase(node_t *n, raft_index_t idx, raft_term_t term);
size_t snap_serialize(const snap_t *s, unsigned char **out);
int snap_parse(const unsigned char *b, size_t len, snap_t *s);
void node_save_snap(node_t *n, const snap_t *snap);
void mem_apply(member_t *mem, int *nmem, short type, int id);
void membership_at(node_t *n, raft_index_t idx, member_t *mem, int *nmem);

/* callbacks.c */
int node_of(raft_node_t *rn);
void check_persisted(node_t *n, raft_term_t term, const char *what);
int cb_send_rv(raft_server_t *r, void *ud, raft_node_t *rn, raft_requestvote_req_t *req);
int cb_send_ae(raft_server_t *r, void *ud, raft_node_t *rn, raft_appendentries_req_t *req);
int cb_send_sn(raft_server_t *r, void *ud, raft_node_t *rn, raft_snapshot_req_t *req);
int cb_send_tn(raft_server_t *r, void *ud, raft_node_t *rn);
void sm_advance_skipping(node_t *n, raft_index_t upto);
int cb_applylog(raft_server_t *r, void *ud, raft_entry_t *e, raft_index_t idx);
int cb_persist(raft_server_t *r, void *ud, raft_term_t term, raft_node_id_t vote);
raft_node_id_t cb_get_node_id(raft_server_t *r, void *ud, raft_entry_t *e, raft_index_t idx);
int cb_sufficient(raft_server_t *r, void *ud, raft_node_t *rn);
void cb_membership(raft_server_t *r, void *ud, raft_node_t *rn, raft_entry_t *e,
                          raft_membership_e type);
void cb_state(raft_server_t *r, void *ud, raft_state_e state);
void cb_transfer(raft_server_t *r, void *ud, raft_leader_transfer_e res);
void cb_log(raft_server_t *r, raft_node_id_t id, void *ud, const char *buf);
void load_snapshot_members(node_t *n, raft_server_t *r, const snap_t *s);
void load_snapshot_state(node_t *n, const snap_t *s, cinfo_t *c);
int cb_load_snapshot(raft_server_t *r, void *ud, raft_term_t term, raft_index_t idx);
int cb_get_chunk(raft_server_t *r, void *ud, raft_node_t *rn, raft_size_t off,
                        raft_snapshot_chunk_t *ch);
int cb_store_chunk(raft_server_t *r, void *ud, raft_index_t sidx, raft_size_t off,
                          raft_snapshot_chunk_t *ch);
int cb_clear_snapshot(raft_server_t *r, void *ud);
int cb_backpressure(raft_server_t *r, void *ud, raft_node_t *rn);
raft_index_t cb_get_entries(raft_server_t *r, void *ud, raft_node_t *rn, raft_index_t idx,
                                   raft_index_t max, raft_entry_t **out);
raft_time_t cb_timestamp(raft_server_t *r, void *ud);

/* node.c */
raft_server_t *boot_new_server(node_t *n);
void boot_members(node_t *n, raft_server_t *r);
void boot_restore_metadata(node_t *n, raft_server_t *r);
int boot_restore(node_t *n, raft_server_t *r, raft_entry_t **old, long nold);
void node_boot(node_t *n);
void abandon_reads(node_t *n);
void node_stop(node_t *n, int status);
void node_crash(node_t *n, const char *why);
node_t *node_create(int id, int initial);

/* deliver.c */
void net_send(msg_t *m);
void net_init(void);
int rc_shutdown(node_t *n, int rc, const char *what);
void deliver_rv(node_t *d, raft_node_t *sender, msg_t *m);
void deliver_ae(node_t *d, raft_node_t *sender, msg_t *m);
void deliver_snapshot(node_t *d, raft_node_t *sender, msg_t *m);
void deliver_other(node_t *d, raft_node_t *sender, msg_t *m);
void deliver(msg_t *m);
void deliver_due(void);

/* actions.c */
node_t *leader(void);
node_t *random_up(void);
int propose(node_t *n, short type, int node_id);
void act_propose(void);
void read_cb(void *arg, int can_read);
void act_read(void);
void act_transfer(void);
int count_members(node_t *l, int *voters);
void act_member(void);
void do_promotions(void);
void snapshot_finish(node_t *n);
void act_compact(node_t *n);
void act_partition(void);
void heal_partitions(void);

/* checks.c */
int durable_has(node_t *v, raft_index_t idx, raft_term_t term);
void check_durable_majority(node_t *l, raft_index_t idx, raft_term_t term);
void observe_log(node_t *n, raft_server_t *r);
void observe_commit(node_t *n, raft_server_t *r, raft_term_t t, int is_leader);
void observe_leader(node_t *n, raft_server_t *r, raft_term_t t);
void observe(void);
void check_reads(void);
int readd_pending(int id, raft_index_t after);
void retire_removed(void);
int cmp_long(const void *a, const void *b);
long *committed_writes_by_index(long *nw_out);
void check_writes_real_time(const long *byidx, long nw);
raft_index_t read_value_index(long i, const readrec_t *rr);
raft_index_t read_point(long i, const long *byidx, long nw, const long *resp_sorted, long nr_done,
                               const raft_index_t *point);
void check_linearizable(void);

/* main.c */
void print_cmdline(FILE *f);
void start_heal(void);
void node_sync(node_t *n);
void step_time(void);
void compact_some(void);
void step_actions(void);
int catchup_lagging(node_t *l, char *lag, size_t size);
void no_leader_violation(void);
void check_liveness(void);
void step(void);
void world_free(void);
void randomize_cfg(void);
void stats_add(stats_t *a, const stats_t *b);
uint64_t run_one(void);
void usage(void);
void set_profile(const char *p);
void set_defaults(void);
int parse_opt(const char *a);
int parse_args(int argc, char **argv);
int store_setup(void);
int run_seed(void);
void print_summary(long seconds);
int coverage_missing(void);

#endif
