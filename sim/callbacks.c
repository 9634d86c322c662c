/* The raft callbacks: sends, apply, persistence, membership and snapshot
 * callbacks, each checking what it reveals. */
#include "sim.h"

/* ------------------------------------------------------------------------ */
/* Callbacks */

int node_of(raft_node_t *rn) { return raft_node_get_id(rn); }

/* Anything a message says about term and vote must already be on disk. */
void check_persisted(node_t *n, raft_term_t term, const char *what)
{
    if (term > n->disk.term)
        violation("persistence", "node %d sends %s of term %ld but has persisted term %ld",
                  n->id, what, term, n->disk.term);
}

int cb_send_rv(raft_server_t *r, void *ud, raft_node_t *rn, raft_requestvote_req_t *req)
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

int cb_send_ae(raft_server_t *r, void *ud, raft_node_t *rn, raft_appendentries_req_t *req)
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

int cb_send_sn(raft_server_t *r, void *ud, raft_node_t *rn, raft_snapshot_req_t *req)
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

int cb_send_tn(raft_server_t *r, void *ud, raft_node_t *rn)
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

void sm_advance_skipping(node_t *n, raft_index_t upto)
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

int cb_applylog(raft_server_t *r, void *ud, raft_entry_t *e, raft_index_t idx)
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

int cb_persist(raft_server_t *r, void *ud, raft_term_t term, raft_node_id_t vote)
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

raft_node_id_t cb_get_node_id(raft_server_t *r, void *ud, raft_entry_t *e, raft_index_t idx)
{
    (void)r, (void)ud, (void)idx;
    return cfg_node_id(e);
}

int cb_sufficient(raft_server_t *r, void *ud, raft_node_t *rn)
{
    node_t *n = ud;
    (void)r;
    int id = node_of(rn);
    ev("n%d: n%d has sufficient logs", n->id, id);
    if (node_get(id))
        node_get(id)->promo = 1;
    return 0;
}

void cb_membership(raft_server_t *r, void *ud, raft_node_t *rn, raft_entry_t *e,
                          raft_membership_e type)
{
    node_t *n = ud;
    (void)r, (void)e;
    ev("n%d membership %s n%d", n->id, type == RAFT_MEMBERSHIP_ADD ? "add" : "remove",
       rn ? node_of(rn) : -1);
}

void cb_state(raft_server_t *r, void *ud, raft_state_e state)
{
    node_t *n = ud;
    ev("n%d becomes %d in term %ld", n->id, (int)state, raft_get_current_term(r));
    if (state == RAFT_STATE_LEADER)
        check_leader(n, raft_get_current_term(r));
}

void cb_transfer(raft_server_t *r, void *ud, raft_leader_transfer_e res)
{
    node_t *n = ud;
    (void)r;
    W.st.transfer_events++;
    ev("n%d transfer event %d", n->id, (int)res);
}

void cb_log(raft_server_t *r, raft_node_id_t id, void *ud, const char *buf)
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
void load_snapshot_members(node_t *n, raft_server_t *r, const snap_t *s)
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
void load_snapshot_state(node_t *n, const snap_t *s, cinfo_t *c)
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

int cb_load_snapshot(raft_server_t *r, void *ud, raft_term_t term, raft_index_t idx)
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

int cb_get_chunk(raft_server_t *r, void *ud, raft_node_t *rn, raft_size_t off,
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

int cb_store_chunk(raft_server_t *r, void *ud, raft_index_t sidx, raft_size_t off,
                          raft_snapshot_chunk_t *ch)
{
    node_t *n = ud;
    (void)r;
    return hs_disk_store_chunk(&n->disk, sidx, off, ch);
}

int cb_clear_snapshot(raft_server_t *r, void *ud)
{
    node_t *n = ud;
    (void)r;
    n->disk.in_len = 0;
    return 0;
}

int cb_backpressure(raft_server_t *r, void *ud, raft_node_t *rn)
{
    node_t *n = ud;
    (void)r;
    int to = node_of(rn);
    if (inflight_get(n, to) > 8)
        return 1;
    return 0;
}

raft_index_t cb_get_entries(raft_server_t *r, void *ud, raft_node_t *rn, raft_index_t idx,
                                   raft_index_t max, raft_entry_t **out)
{
    node_t *n = ud;
    (void)r, (void)rn;
    raft_index_t lim = rndr(1, 6);
    if (max > lim)
        max = lim;
    return hs_log_impl.get_batch(&n->log, idx, max, out);
}

raft_time_t cb_timestamp(raft_server_t *r, void *ud)
{
    (void)r, (void)ud;
    return W.clock.now_us;
}

raft_cbs_t sim_cbs = {
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
