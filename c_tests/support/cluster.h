/* An in-memory network of libraft servers in one process, for the protocol
 * tests. Everything goes through the public raft.h, as a C user would. The
 * network, log, disk, clock and PRNG are the shared harness (harness/); this
 * file adds what the tests need on top: N servers with their callbacks, a
 * state machine, step-by-step delivery and the checks below.
 *
 * - Servers have node ids 1..N (N <= CL_MAX, checked). Each has its own
 *   callbacks and its own disk: a log kept by the harness's raft_log_impl_t
 *   (entries are held while in it; every append counts as durable), the
 *   persisted term and vote, and the persisted snapshot (hs_disk_t).
 *   cl_crash() destroys the raft server but keeps the disk; cl_restart()
 *   builds a new server from it (snapshot, entries, metadata).
 * - Messages are copied into the harness queue (hs_net_t, due at once, no
 *   send-time faults). cl_deliver_*() hands them to raft_recv_* on the
 *   receiver and queues the response back. Drops: everything, per link
 *   (partitions), or at a random rate from the seeded PRNG.
 * - Time is a fake clock: the timestamp callback returns the cluster's
 *   microsecond counter, and cl_tick() advances it and calls raft_periodic on
 *   every live server.
 * - Invariants are checked as the cluster runs and counted as violations
 *   (with a message on stderr): at most one leader per term (§3.6.3 Election
 *   Safety), the same entry applied at the same index everywhere (State
 *   Machine Safety), entries applied in order, term/vote persisted before a
 *   message depending on them is sent.
 *
 * Entry data encoding: every entry the cluster makes carries an int at
 * data[0..4]. For configuration entries (RAFT_LOGTYPE_ADD_NONVOTING_NODE,
 * ADD_NODE, REMOVE_NODE) it is the node id the change is about, which is
 * what get_node_id returns. For normal entries it is an arbitrary value.
 */
#ifndef LIBRAFT_C_TESTS_CLUSTER_H
#define LIBRAFT_C_TESTS_CLUSTER_H

#include "harness.h"
#include "raft.h"

#define CL_MAX 9

enum {
    CL_MSG_RV = HS_MSG_RV,
    CL_MSG_RV_RESP = HS_MSG_RV_RESP,
    CL_MSG_AE = HS_MSG_AE,
    CL_MSG_AE_RESP = HS_MSG_AE_RESP,
    CL_MSG_SNAP = HS_MSG_SNAP,
    CL_MSG_SNAP_RESP = HS_MSG_SNAP_RESP,
    CL_MSG_TIMEOUTNOW = HS_MSG_TIMEOUTNOW,
};

typedef hs_msg_t cl_msg_t;

/* One applied entry, as the state machine saw it. */
typedef struct {
    raft_index_t idx;
    raft_term_t term;
    raft_entry_id_t id;
    int type;
    int val;
} cl_applied_t;

/* A configuration member as the application sees it. */
typedef hs_member_t cl_member_t;

/* The disk log: the harness's log (hs_log_impl). */
typedef hs_log_t cl_log_t;

typedef struct cluster cluster_t;

typedef struct cl_server {
    cluster_t *c;
    raft_node_id_t id;
    int exists;             /* slot in use */
    int alive;              /* not crashed */
    raft_server_t *r;
    cl_log_t *log;          /* the live log of r, which is also the disk */
    cl_log_t *crashed_log;  /* what survived a crash, until the restart */

    /* persisted term and vote (disk.term, disk.vote, disk.persists), the
     * persisted snapshot (disk.snap*) and the one being received */
    hs_disk_t disk;
    int fail_persist;       /* persist_metadata returns -1 while set */

    /* state machine */
    cl_applied_t *applied;
    raft_index_t n_applied, cap_applied;
    raft_index_t applied_upto;  /* index of the last applied entry */
    cl_member_t cfg[CL_MAX + 1]; /* membership as applied */
    int n_cfg;
    cl_member_t boot[CL_MAX + 1]; /* membership the server is created with */
    int n_boot;

    /* knobs */
    raft_index_t apply_fail_idx;  /* applylog returns apply_fail_rc at it */
    int apply_fail_rc;
    raft_time_t apply_cost_us; /* applylog advances the clock by this */
    int fail_load;          /* load_snapshot fails this many more times */
    int chunk_done;         /* get_snapshot_chunk returns DONE this many more times */
    int backpressure;       /* backpressure callback returns this */
    raft_index_t max_entries_per_msg; /* get_entries_to_send limit, 0 = all */
    int promote_on_sufficient; /* submit ADD_NODE from the test loop */

    /* counters */
    int sent[CL_MSG_TIMEOUTNOW + 1];
    int sent_prevote, sent_vote, sent_heartbeats;
    int apply_calls, load_calls, chunk_calls, store_calls, clear_calls;
    int backpressure_calls, entries_cb_calls;
    int sufficient_calls;
    raft_node_id_t sufficient_node;
    int membership_add, membership_remove;
    raft_node_id_t last_membership_node;
    int state_events[RAFT_STATE_LEADER + 1];
    int last_state_event;
    int transfer_events[RAFT_LEADER_TRANSFER_EXPECTED_LEADER + 1];
    int last_transfer_event;
    int recv_errors;
    int last_recv_error;
    int periodic_errors;
    int last_periodic_error;
} cl_server_t;

typedef struct {
    int election_timeout;   /* ms, default 1000 */
    int request_timeout;    /* ms, default 200 */
    int tick_ms;            /* default 10 */
    raft_size_t chunk_size; /* snapshot chunk size, default 64 */
    int use_entries_cb;     /* install get_entries_to_send */
    int use_backpressure;   /* install backpressure */
    int auto_flush;         /* -1: leave the default */
} cl_opts_t;

struct cluster {
    cl_server_t s[CL_MAX + 1]; /* indexed by node id; s[0] unused */
    int n;                     /* highest id in use */
    cl_opts_t o;
    hs_clock_t clock;
    hs_rng_t rng;
    hs_net_t net;           /* net.q[0..net.qlen): the queue, oldest first */

    int drop_all;
    int drop_per_mille;
    int hold_delivery;      /* cl_tick does not deliver */

    /* return 1 to drop a message just before delivery */
    int (*filter)(cluster_t *c, cl_msg_t *m, void *arg);
    void *filter_arg;

    cl_member_t boot[CL_MAX + 1]; /* the static bootstrap membership */
    int n_boot;
    raft_entry_id_t next_entry_id;
    hs_terms_t term_leader; /* the leader of each term */
    cl_applied_t *global;   /* first entry applied at each index */
    raft_index_t n_global;
    int violations;
    int verbose;
    long delivered, dropped;
};

/* Create n voting servers with ids 1..n that all know each other. */
cluster_t *cl_new(int n, unsigned seed);
cluster_t *cl_new_opts(int n, unsigned seed, const cl_opts_t *opts);
void cl_default_opts(cl_opts_t *o);
void cl_free(cluster_t *c);

cl_server_t *cl_srv(cluster_t *c, raft_node_id_t id);
raft_server_t *cl_raft(cluster_t *c, raft_node_id_t id);
raft_node_t *cl_node(cluster_t *c, raft_node_id_t on, raft_node_id_t of);

/* Start a new server that knows the boot membership of the cluster plus
 * itself as a non-voting node (a server about to join). */
cl_server_t *cl_add_server(cluster_t *c, raft_node_id_t id);

/* Time. cl_tick advances the clock by ms, calls raft_periodic on every live
 * server, then delivers everything queued (unless hold_delivery). */
void cl_tick(cluster_t *c, int ms);
void cl_step(cluster_t *c); /* cl_tick(c, tick_ms) */
/* Step until cond holds; returns 1 if it did within max_ms. */
int cl_run_until(cluster_t *c, int (*cond)(cluster_t *, void *), void *arg, int max_ms);
void cl_run(cluster_t *c, int ms);
/* raft_periodic on one server only (with the clock advanced by ms). */
int cl_periodic_one(cluster_t *c, raft_node_id_t id, int ms);

/* Network. */
int cl_deliver_one(cluster_t *c);        /* 0 when the queue is empty */
int cl_deliver_at(cluster_t *c, int i);  /* deliver the i-th queued message */
void cl_deliver_all(cluster_t *c);
void cl_drop_at(cluster_t *c, int i);
void cl_drop_queue(cluster_t *c);
int cl_queue_count(cluster_t *c, int type, raft_node_id_t from, raft_node_id_t to); /* 0 = any */
int cl_queue_find(cluster_t *c, int type, raft_node_id_t from, raft_node_id_t to, int nth);
void cl_link(cluster_t *c, raft_node_id_t a, raft_node_id_t b, int up); /* both ways */
void cl_isolate(cluster_t *c, raft_node_id_t id);
void cl_heal(cluster_t *c);
/* Split into two sides: ids listed in side_a vs everyone else. */
void cl_partition(cluster_t *c, const raft_node_id_t *side_a, int n_a);

/* Leaders. */
raft_node_id_t cl_leader(cluster_t *c);   /* live leader of the highest term, 0 if none */
int cl_count_leaders(cluster_t *c);       /* live servers that think they lead */
raft_node_id_t cl_elect(cluster_t *c, int max_ms); /* run until a leader, return it */
/* Make id leader: tick only it until it wins (others must be reachable). */
raft_node_id_t cl_elect_node(cluster_t *c, raft_node_id_t id, int max_ms);

/* Client requests. */
/* NULL when raft_entry_new fails; cl_submit* then return RAFT_ERR_NOMEM. */
raft_entry_t *cl_entry(cluster_t *c, int type, int val);
int cl_submit(cluster_t *c, raft_node_id_t id, int val, raft_entry_resp_t *resp);
int cl_submit_cfg(cluster_t *c, raft_node_id_t id, int type, raft_node_id_t node, raft_entry_resp_t *resp);
/* Submit one entry to the current leader and run until it is applied by all
 * live members; returns 1 on success. */
int cl_replicate(cluster_t *c, int val, int max_ms);
/* Run until every live server in the leader's configuration has applied up
 * to the leader's commit index; returns 1 on success. */
int cl_converge(cluster_t *c, int max_ms);

/* Snapshots: begin, capture the state machine, end. Returns the rc of
 * raft_end_snapshot (or of raft_begin_snapshot on failure). */
int cl_snapshot(cluster_t *c, raft_node_id_t id);

/* Crash and restart from the disk. cl_restart uses raft_append_entry to
 * replay the log; cl_restart_with_log hands a log that already holds the
 * entries to raft_new_with_log. metadata_first: call raft_restore_metadata
 * before the entries instead of after. */
void cl_crash(cluster_t *c, raft_node_id_t id);
int cl_restart(cluster_t *c, raft_node_id_t id, int metadata_first);
int cl_restart_with_log(cluster_t *c, raft_node_id_t id);

/* Checks. */
void cl_check_leaders(cluster_t *c);
int cl_violations(cluster_t *c);
void cl_violation(cluster_t *c, const char *fmt, ...);
/* 1 if a and b applied the same sequence up to the shorter one and the same
 * number of entries */
int cl_same_applied(cluster_t *c, raft_node_id_t a, raft_node_id_t b);
int cl_is_member(cluster_t *c, raft_node_id_t on, raft_node_id_t who);

unsigned cl_rand(cluster_t *c);

#endif
