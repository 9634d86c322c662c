/* Each node's log: the harness log with the simulator's checks on its
 * hooks, the built-in log's mirror, snapshot images and membership. */
#include "sim.h"

/* ------------------------------------------------------------------------ */
/* The node's log: the harness's log (hs_log_impl) with the simulator's
 * checks and, in store mode, the store, on its hooks. */

void lg_attach(void *arg, hs_log_t *l, void *raft)
{
    node_t *n = arg;
    (void)l;
    if (n->st && !SI->init(raft, n->st))
        violation("store", "node %d: the store is already bound", n->id);
}

void lg_detach(void *arg, hs_log_t *l)
{
    node_t *n = arg;
    (void)l; /* entries stay: they are the node's disk */
    if (n->st)
        SI->free(n->st);
}

void lg_reset(void *arg, hs_log_t *l, raft_index_t first_idx, raft_term_t term)
{
    node_t *n = arg;
    (void)l;
    if (n->st)
        SI->reset(n->st, first_idx, term);
    ev("n%d log reset first=%ld term=%ld", n->id, first_idx, term);
}

void lg_append(void *arg, hs_log_t *l, raft_index_t idx, raft_entry_t *e, raft_term_t prev)
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

void lg_poll(void *arg, hs_log_t *l, raft_index_t first_idx)
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
void lg_pop_entry(void *arg, hs_log_t *l, raft_index_t i, raft_entry_t *e)
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

void lg_pop(void *arg, hs_log_t *l, raft_index_t from_idx)
{
    node_t *n = arg;
    (void)l;
    if (n->st)
        store_check(n, SI->pop(n->st, from_idx, NULL, NULL), "store pop");
    ev("n%d log pop from=%ld", n->id, from_idx);
}

void lg_sync(void *arg, hs_log_t *l)
{
    node_t *n = arg;
    (void)l;
    if (n->st)
        store_check(n, raft_store_sync(n->st), "raft_store_sync");
}

/* In store mode a read comes from the store, checked against the log. */
raft_entry_t *store_get(hs_log_t *l, raft_index_t idx, raft_entry_t *mine)
{
    node_t *n = l->hook_arg;
    raft_entry_t *e = SI->get(n->st, idx);
    if (!e != !mine || (e && !hs_entry_equal(e, mine)))
        violation("store", "node %d: the store's entry %ld %s", n->id, idx,
                  !e ? "is missing" : mine ? "differs" : "exists beyond the log");
    return e;
}

raft_entry_t *lg_store_get(void *arg, hs_log_t *l, raft_index_t idx, raft_entry_t *mine)
{
    (void)arg;
    return store_get(l, idx, mine);
}

raft_index_t lg_store_get_batch(void *arg, hs_log_t *l, raft_index_t idx, raft_index_t n,
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

void log_bind(node_t *n)
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
int mirror_offer(raft_server_t *r, void *ud, raft_entry_t *e, raft_index_t idx)
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

int mirror_poll(raft_server_t *r, void *ud, raft_entry_t *e, raft_index_t idx)
{
    node_t *n = ud;
    hs_log_t *l = &n->log;
    (void)r;
    if (idx != l->base + 1 || hs_log_at(l, idx) != e)
        violation("api", "node %d: built-in log compacts entry %ld, its log starts at %ld", n->id,
                  idx, l->base + 1);
    return hs_log_poll(l, idx + 1);
}

int mirror_pop(raft_server_t *r, void *ud, raft_entry_t *e, raft_index_t idx)
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
int mirror_clear(raft_server_t *r, void *ud, raft_entry_t *e, raft_index_t idx)
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
void mirror_rebase(node_t *n, raft_index_t idx, raft_term_t term)
{
    if (n->builtin && n->log.n == 0) {
        n->log.base = idx;
        n->log.base_term = term;
        n->log.synced = 0;
    }
}

raft_log_cbs_t mirror_cbs = {
    .log_offer = mirror_offer,
    .log_poll = mirror_poll,
    .log_pop = mirror_pop,
    .log_clear = mirror_clear,
};

/* ------------------------------------------------------------------------ */
/* Snapshots: serialized state machine + membership */


size_t snap_serialize(const snap_t *s, unsigned char **out)
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

int snap_parse(const unsigned char *b, size_t len, snap_t *s)
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
void node_save_snap(node_t *n, const snap_t *snap)
{
    unsigned char *img;
    size_t len = snap_serialize(snap, &img);
    hs_disk_save_snapshot(&n->disk, img, len, snap->idx, snap->term);
    free(img);
}

void mem_apply(member_t *mem, int *nmem, short type, int id)
{
    if (hs_members_apply(mem, nmem, MAXMEM, type, id) != 0)
        violation("simulator limit", "a configuration with more than %d members (MAXMEM) cannot be "
                  "recorded in a snapshot; raise MAXMEM in sim/sim.h", MAXMEM);
}

/* Membership as of idx, from the durable snapshot (or bootstrap) and the log. */
void membership_at(node_t *n, raft_index_t idx, member_t *mem, int *nmem)
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
