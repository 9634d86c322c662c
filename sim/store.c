/* Store mode (--store=1): every node also keeps its log, term and vote on a
 * raft_store. */
#include "sim.h"

/* ------------------------------------------------------------------------ */
/* Store mode (--store=1): every node also keeps its log, term and vote in a
 * raft_store (raft_store.h) in a temporary directory. The simulator's log
 * forwards every change to the store through the store's raft_log_impl_t
 * and serves the server's reads from the store, checked against its own
 * copy. A crash is a simulated power failure (raft_store_crash drops what
 * was not synced); a restart reopens the store, which must hold exactly
 * the durable log (entries written but never reported synced may survive
 * and are removed), term and vote. */

const raft_log_impl_t *SI;
char g_store_root[64];

void store_dir(const node_t *n, char *buf, size_t len)
{
    snprintf(buf, len, "%s/n%d", g_store_root, n->id);
}

void store_open(node_t *n)
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
void store_check_boot(node_t *n)
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
void store_rebase(node_t *n)
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

void store_cleanup(void)
{
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf %s", g_store_root);
    if (g_store_root[0] && system(cmd) != 0)
        fprintf(stderr, "could not remove %s\n", g_store_root);
}

void store_crash(node_t *n)
{
    if (!n->st)
        return;
    if (raft_store_crash(n->st) != 0)
        violation("store", "node %d: raft_store_crash: %s", n->id, raft_store_last_error());
    n->st = NULL;
}

void store_check(node_t *n, int rc, const char *what)
{
    if (rc != 0)
        violation("store", "node %d: %s = %d: %s", n->id, what, rc, raft_store_last_error());
}
