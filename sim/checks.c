/* Checks made every step from the outside (terms, logs, commit, apply,
 * leader completeness, reads, retirement) and the linearizability check of
 * the whole history at the end of a run. */
#include "sim.h"

/* ------------------------------------------------------------------------ */
/* Per-step observation and invariants */

int durable_has(node_t *v, raft_index_t idx, raft_term_t term)
{
    if (v->snap.idx >= idx)
        return 1;
    if (idx <= v->log.base || idx > v->log.base + v->log.synced)
        return 0;
    return v->log.e[idx - v->log.base - 1]->term == term;
}

void check_durable_majority(node_t *l, raft_index_t idx, raft_term_t term)
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
void observe_log(node_t *n, raft_server_t *r)
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
void observe_commit(node_t *n, raft_server_t *r, raft_term_t t, int is_leader)
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
void observe_leader(node_t *n, raft_server_t *r, raft_term_t t)
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
void observe(void)
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
void check_reads(void)
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
int readd_pending(int id, raft_index_t after)
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
void retire_removed(void)
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
int cmp_long(const void *a, const void *b)
{
    long x = *(const long *)a, y = *(const long *)b;
    return (x > y) - (x < y);
}

/* The ids of the committed writes, in index order; *nw gets the count. */
long *committed_writes_by_index(long *nw_out)
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
void check_writes_real_time(const long *byidx, long nw)
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
raft_index_t read_value_index(long i, const readrec_t *rr)
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
raft_index_t read_point(long i, const long *byidx, long nw, const long *resp_sorted, long nr_done,
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

void check_linearizable(void)
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
