/* The network (the harness net, faults off while healing) and delivery
 * of due messages, with the checks a response allows. */
#include "sim.h"

/* ------------------------------------------------------------------------ */
/* Network: the harness's (hs_net_t); faults are off while healing */

void net_send(msg_t *m)
{
    int type = m->type, from = m->from, to = m->to;
    W.net.faults.off = W.healing;
    int queued = hs_net_send(&W.net, m, hs_clock_ms(&W.clock));
    if (queued == 0)
        ev("drop %s n%d->n%d", hs_msg_name[type], from, to);
    if (type == HS_MSG_AE)
        inflight_add(W.nodes[from], to, queued);
}

void net_init(void)
{
    hs_net_init(&W.net, &g_rng);
    W.net.faults = (hs_faults_t){.drop = C.drop, .dup = C.dup, .reorder = C.reorder, .delay = C.delay,
                                 .tick = TICK_MS, .latency_min = 1, .latency_max = 2, .max_queue = 20000};
}

/* ------------------------------------------------------------------------ */
/* Message delivery */

int rc_shutdown(node_t *n, int rc, const char *what)
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
void deliver_rv(node_t *d, raft_node_t *sender, msg_t *m)
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
void deliver_ae(node_t *d, raft_node_t *sender, msg_t *m)
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

void deliver_snapshot(node_t *d, raft_node_t *sender, msg_t *m)
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
void deliver_other(node_t *d, raft_node_t *sender, msg_t *m)
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

void deliver(msg_t *m)
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

void deliver_due(void)
{
    msg_t **due;
    int nd = hs_net_take_due(&W.net, hs_clock_ms(&W.clock), &due);
    for (int i = 0; i < nd; i++) {
        deliver(due[i]);
        hs_msg_free(due[i]);
    }
    free(due);
}
