/* Node lifecycle: boot from the disk (snapshot, durable entries, term and
 * vote in a random order), stop, crash, create. */
#include "sim.h"

/* ------------------------------------------------------------------------ */
/* Node lifecycle */

/* A fresh server for n, on the built-in log or on n's log, with the
 * simulator's callbacks and configuration. */
raft_server_t *boot_new_server(node_t *n)
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
void boot_members(node_t *n, raft_server_t *r)
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

void boot_restore_metadata(node_t *n, raft_server_t *r)
{
    int rc = raft_restore_metadata(r, n->disk.term, n->disk.vote);
    if (rc != 0)
        violation("api", "node %d: raft_restore_metadata(%ld, %d) = %d", n->id, n->disk.term,
                  n->disk.vote, rc);
}

/* Restore the snapshot, then the durable entries (`old`, released here)
 * and the term and vote in a random order. Returns whether the metadata
 * came first. */
int boot_restore(node_t *n, raft_server_t *r, raft_entry_t **old, long nold)
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
void node_boot(node_t *n)
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

void abandon_reads(node_t *n)
{
    for (long i = 0; i < W.nreads; i++)
        if (W.reads[i].node == n->id && !W.reads[i].done)
            W.reads[i].done = 2;
}

void node_stop(node_t *n, int status)
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

void node_crash(node_t *n, const char *why)
{
    W.st.crashes++;
    ev("n%d crashes (%s), durable log %ld..%ld", n->id, why, n->log.base + 1,
       n->log.base + n->log.synced);
    node_stop(n, N_DOWN);
    n->restart_at = g_step + rndr(3, 80);
}

node_t *node_create(int id, int initial)
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
