/* What the schedule does to the cluster: client writes and reads,
 * transfers, membership changes, snapshots, partitions. */
#include "sim.h"

/* ------------------------------------------------------------------------ */
/* ------------------------------------------------------------------------ */
/* Actions */

node_t *leader(void)
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

node_t *random_up(void)
{
    int *ids = scratch_ids(), k = 0;
    for (int i = 1; i < W.next_id; i++)
        if (W.nodes[i]->status == N_UP)
            ids[k++] = i;
    return k ? W.nodes[ids[rndn(k)]] : NULL;
}

int propose(node_t *n, short type, int node_id)
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

void act_propose(void)
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

void read_cb(void *arg, int can_read)
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

void act_read(void)
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

void act_transfer(void)
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

int count_members(node_t *l, int *voters)
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

void act_member(void)
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

void do_promotions(void)
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

void snapshot_finish(node_t *n)
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

void act_compact(node_t *n)
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

void act_partition(void)
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

void heal_partitions(void)
{
    if (W.part_until) {
        hs_net_heal(&W.net);
        W.part_until = 0;
        ev("partitions healed");
    }
}
