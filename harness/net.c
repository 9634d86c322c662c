/* The harness's network: see harness.h. */
#include "harness.h"

#include <stdlib.h>
#include <string.h>

const char *const hs_msg_name[HS_MSG_NTYPES] = {"?", "RV", "RVR", "AE", "AER", "SN", "SNR", "TN"};

/* ------------------------------------------------------------------ */
/* Messages                                                             */

hs_msg_t *hs_msg_new(int type, raft_node_id_t from, raft_node_id_t to)
{
    hs_msg_t *m = hs_realloc(NULL, sizeof(*m));
    memset(m, 0, sizeof(*m));
    m->type = type;
    m->from = from;
    m->to = to;
    return m;
}

hs_msg_t *hs_msg_requestvote(raft_node_id_t from, raft_node_id_t to, const raft_requestvote_req_t *req)
{
    hs_msg_t *m = hs_msg_new(HS_MSG_RV, from, to);
    m->u.rv = *req;
    return m;
}

/* NULL for none, and with *failed set when an entry could not be copied
 * (out of memory; the copies made are released). */
static raft_entry_t **copy_entries(raft_entry_t *const *src, raft_index_t n, int *failed)
{
    raft_entry_t **es;
    *failed = 0;
    if (n <= 0 || !src)
        return NULL;
    es = hs_realloc(NULL, (size_t)n * sizeof(*es));
    for (raft_index_t i = 0; i < n; i++) {
        es[i] = hs_entry_copy(src[i]);
        if (!es[i]) {
            while (i > 0)
                raft_entry_release(es[--i]);
            free(es);
            *failed = 1;
            return NULL;
        }
    }
    return es;
}

hs_msg_t *hs_msg_appendentries(raft_node_id_t from, raft_node_id_t to, const raft_appendentries_req_t *req)
{
    hs_msg_t *m = hs_msg_new(HS_MSG_AE, from, to);
    int failed;
    m->u.ae = *req;
    if (m->u.ae.n_entries < 0)
        m->u.ae.n_entries = 0;
    m->u.ae.entries = copy_entries(req->entries, m->u.ae.n_entries, &failed);
    if (failed) {
        free(m);
        return NULL;
    }
    if (!m->u.ae.entries)
        m->u.ae.n_entries = 0;
    return m;
}

static void *copy_bytes(const void *p, raft_size_t len)
{
    void *c = hs_realloc(NULL, (size_t)len + 1);
    if (len)
        memcpy(c, p, (size_t)len);
    return c;
}

hs_msg_t *hs_msg_snapshot(raft_node_id_t from, raft_node_id_t to, const raft_snapshot_req_t *req)
{
    hs_msg_t *m = hs_msg_new(HS_MSG_SNAP, from, to);
    m->u.snap = *req;
    m->u.snap.chunk.data = copy_bytes(req->chunk.data, req->chunk.len);
    return m;
}

hs_msg_t *hs_msg_clone(const hs_msg_t *m)
{
    hs_msg_t *c = hs_realloc(NULL, sizeof(*c));
    int failed = 0;
    *c = *m;
    if (m->type == HS_MSG_AE)
        c->u.ae.entries = copy_entries(m->u.ae.entries, m->u.ae.n_entries, &failed);
    if (failed) {
        free(c);
        return NULL;
    }
    if (m->type == HS_MSG_SNAP)
        c->u.snap.chunk.data = copy_bytes(m->u.snap.chunk.data, m->u.snap.chunk.len);
    return c;
}

void hs_msg_free(hs_msg_t *m)
{
    if (!m)
        return;
    if (m->type == HS_MSG_AE && m->u.ae.entries) {
        raft_entry_release_list(m->u.ae.entries, (size_t)m->u.ae.n_entries);
        free(m->u.ae.entries);
    }
    if (m->type == HS_MSG_SNAP)
        free(m->u.snap.chunk.data);
    free(m);
}

int hs_msg_deliver(raft_server_t *r, raft_node_t *sender, const hs_msg_t *m, hs_msg_t *reply)
{
    int rc = 0;
    reply->from = m->to;
    reply->to = m->from;
    switch (m->type) {
    case HS_MSG_RV:
        reply->type = HS_MSG_RV_RESP;
        return raft_recv_requestvote(r, sender, (raft_requestvote_req_t *)&m->u.rv, &reply->u.rvr);
    case HS_MSG_AE:
        reply->type = HS_MSG_AE_RESP;
        return raft_recv_appendentries(r, sender, (raft_appendentries_req_t *)&m->u.ae, &reply->u.aer);
    case HS_MSG_SNAP:
        reply->type = HS_MSG_SNAP_RESP;
        return raft_recv_snapshot(r, sender, (raft_snapshot_req_t *)&m->u.snap, &reply->u.snapr);
    case HS_MSG_RV_RESP:
        rc = raft_recv_requestvote_response(r, sender, (raft_requestvote_resp_t *)&m->u.rvr);
        break;
    case HS_MSG_AE_RESP:
        rc = raft_recv_appendentries_response(r, sender, (raft_appendentries_resp_t *)&m->u.aer);
        break;
    case HS_MSG_SNAP_RESP:
        rc = raft_recv_snapshot_response(r, sender, (raft_snapshot_resp_t *)&m->u.snapr);
        break;
    case HS_MSG_TIMEOUTNOW:
        rc = raft_timeout_now(r);
        break;
    default:
        break;
    }
    reply->type = 0;
    return rc;
}

/* ------------------------------------------------------------------ */
/* The queue                                                            */

void hs_net_init(hs_net_t *net, hs_rng_t *rng)
{
    memset(net, 0, sizeof(*net));
    net->rng = rng;
}

void hs_net_free(hs_net_t *net)
{
    hs_net_drop_all(net);
    free(net->q);
    free(net->blocked);
    net->q = NULL;
    net->blocked = NULL;
    net->qcap = 0;
    net->links_n = 0;
}

void hs_net_push(hs_net_t *net, hs_msg_t *m)
{
    if (net->qlen == net->qcap) {
        net->qcap = net->qcap ? net->qcap * 2 : 1024;
        net->q = hs_realloc(net->q, (size_t)net->qcap * sizeof(*net->q));
    }
    m->seq = net->seq++;
    net->q[net->qlen++] = m;
}

int hs_net_send(hs_net_t *net, hs_msg_t *m, long now)
{
    hs_faults_t *f = &net->faults;
    hs_rng_t *g = net->rng;
    int queued = 1;
    net->st.sent++;
    m->at = now + f->tick * (f->latency_max > f->latency_min ? hs_rng_range(g, f->latency_min, f->latency_max)
                                                             : f->latency_min);
    if (!f->off) {
        if ((f->max_queue > 0 && net->qlen > f->max_queue) || hs_rng_chance(g, f->drop)) {
            net->st.drops++;
            hs_msg_free(m);
            return 0;
        }
        if (hs_rng_chance(g, f->reorder)) {
            net->st.reorders++;
            m->at += f->tick * hs_rng_range(g, 0, 6);
        }
        if (hs_rng_chance(g, f->delay)) {
            net->st.delays++;
            m->at += f->tick * hs_rng_range(g, 10, 80);
        }
        if (hs_rng_chance(g, f->dup)) {
            hs_msg_t *d = hs_msg_clone(m);
            if (d) { /* (NULL: out of memory, no duplicate) */
                net->st.dups++;
                d->at += f->tick * hs_rng_range(g, 0, 8);
                hs_net_push(net, d);
                queued++;
            }
        }
    }
    hs_net_push(net, m);
    return queued;
}

hs_msg_t *hs_net_take(hs_net_t *net, int i)
{
    hs_msg_t *m;
    if (i < 0 || i >= net->qlen)
        return NULL;
    m = net->q[i];
    memmove(net->q + i, net->q + i + 1, (size_t)(net->qlen - i - 1) * sizeof(*net->q));
    net->qlen--;
    return m;
}

static int msg_cmp(const void *a, const void *b)
{
    const hs_msg_t *x = *(hs_msg_t *const *)a, *y = *(hs_msg_t *const *)b;
    if (x->at != y->at)
        return x->at < y->at ? -1 : 1;
    return x->seq < y->seq ? -1 : x->seq > y->seq;
}

int hs_net_take_due(hs_net_t *net, long now, hs_msg_t ***out)
{
    int k = 0, nd = 0;
    hs_msg_t **due = hs_realloc(NULL, (size_t)(net->qlen + 1) * sizeof(*due));
    for (int i = 0; i < net->qlen; i++) {
        if (net->q[i]->at <= now)
            due[nd++] = net->q[i];
        else
            net->q[k++] = net->q[i];
    }
    net->qlen = k;
    qsort(due, (size_t)nd, sizeof(*due), msg_cmp);
    *out = due;
    return nd;
}

static int matches(const hs_msg_t *m, int type, raft_node_id_t from, raft_node_id_t to)
{
    return (!type || m->type == type) && (!from || m->from == from) && (!to || m->to == to);
}

int hs_net_find(const hs_net_t *net, int type, raft_node_id_t from, raft_node_id_t to, int nth)
{
    for (int i = 0; i < net->qlen; i++)
        if (matches(net->q[i], type, from, to) && nth-- == 0)
            return i;
    return -1;
}

int hs_net_count(const hs_net_t *net, int type, raft_node_id_t from, raft_node_id_t to)
{
    int n = 0;
    for (int i = 0; i < net->qlen; i++)
        n += matches(net->q[i], type, from, to);
    return n;
}

void hs_net_drop_all(hs_net_t *net)
{
    for (int i = 0; i < net->qlen; i++)
        hs_msg_free(net->q[i]);
    net->qlen = 0;
}

/* ------------------------------------------------------------------ */
/* Links                                                                */

static void links_grow(hs_net_t *net, int id)
{
    int n = net->links_n ? net->links_n : 16;
    unsigned char *b;
    while (n <= id)
        n *= 2;
    if (n == net->links_n)
        return;
    b = hs_realloc(NULL, (size_t)n * (size_t)n);
    memset(b, 0, (size_t)n * (size_t)n);
    for (int i = 0; i < net->links_n; i++)
        memcpy(b + (size_t)i * (size_t)n, net->blocked + (size_t)i * (size_t)net->links_n, (size_t)net->links_n);
    free(net->blocked);
    net->blocked = b;
    net->links_n = n;
}

void hs_net_block(hs_net_t *net, raft_node_id_t from, raft_node_id_t to, int blocked)
{
    if (from < 0 || to < 0)
        return;
    if (from >= net->links_n || to >= net->links_n) {
        if (!blocked)
            return;
        links_grow(net, from > to ? from : to);
    }
    net->blocked[(size_t)from * (size_t)net->links_n + (size_t)to] = (unsigned char)(blocked != 0);
}

int hs_net_blocked(const hs_net_t *net, raft_node_id_t from, raft_node_id_t to)
{
    if (from < 0 || to < 0 || from >= net->links_n || to >= net->links_n)
        return 0;
    return net->blocked[(size_t)from * (size_t)net->links_n + (size_t)to];
}

void hs_net_heal(hs_net_t *net)
{
    if (net->blocked)
        memset(net->blocked, 0, (size_t)net->links_n * (size_t)net->links_n);
}

void hs_net_split(hs_net_t *net, const unsigned char *side, int n)
{
    for (int a = 1; a <= n; a++)
        for (int b = 1; b <= n; b++)
            if (!side[a] != !side[b])
                hs_net_block(net, a, b, 1);
}
