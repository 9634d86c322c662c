/* In-memory cluster of libraft servers: see cluster.h. */
#include "cluster.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ------------------------------------------------------------------ */
/* Small helpers                                                        */
/* ------------------------------------------------------------------ */


void cl_violation(cluster_t *c, const char *fmt, ...)
{
    va_list ap;
    c->violations++;
    if (c->violations > 20)
        return;
    fprintf(stderr, "  cluster violation: ");
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fprintf(stderr, "\n");
}

int cl_violations(cluster_t *c)
{
    return c->violations;
}

unsigned cl_rand(cluster_t *c)
{
    return (unsigned)(hs_rng_next(&c->rng) >> 32);
}

static int entry_val(raft_entry_t *e)
{
    int v = 0;
    if (e && e->data_len >= sizeof(int))
        memcpy(&v, e->data, sizeof(int));
    return v;
}

static int is_cfg_type(int type)
{
    return type == RAFT_LOGTYPE_ADD_NONVOTING_NODE ||
           type == RAFT_LOGTYPE_ADD_NODE ||
           type == RAFT_LOGTYPE_REMOVE_NODE;
}

/* ------------------------------------------------------------------ */
/* Messages                                                             */
/* ------------------------------------------------------------------ */


static void enqueue(cluster_t *c, cl_msg_t *m)
{
    hs_net_push(&c->net, m);
}

/* ------------------------------------------------------------------ */
/* Callbacks                                                            */
/* ------------------------------------------------------------------ */

static raft_node_id_t node_id_of(raft_node_t *node)
{
    return node ? raft_node_get_id(node) : RAFT_NODE_ID_NONE;
}

static int cb_send_requestvote(raft_server_t *r, void *ud, raft_node_t *node, raft_requestvote_req_t *msg)
{
    cl_server_t *s = ud;
    cluster_t *c = s->c;
    (void)r;
    s->sent[CL_MSG_RV]++;
    if (msg->prevote) {
        s->sent_prevote++;
    } else {
        s->sent_vote++;
        /* §3.8: term and vote are persisted before the request goes out */
        if (s->disk.term != msg->term || s->disk.vote != s->id)
            cl_violation(c, "node %d sent requestvote term %ld before persisting it (persisted term %ld vote %d)",
                         s->id, msg->term, s->disk.term, s->disk.vote);
    }
    if (!msg->prevote && msg->term > s->disk.term)
        cl_violation(c, "node %d sent term %ld > persisted %ld", s->id, msg->term, s->disk.term);
    enqueue(c, hs_msg_requestvote(s->id, node_id_of(node), msg));
    return 0;
}

static int cb_send_appendentries(raft_server_t *r, void *ud, raft_node_t *node, raft_appendentries_req_t *msg)
{
    cl_server_t *s = ud;
    cluster_t *c = s->c;
    (void)r;
    s->sent[CL_MSG_AE]++;
    if (msg->n_entries == 0)
        s->sent_heartbeats++;
    if (msg->term > s->disk.term)
        cl_violation(c, "node %d sent appendentries term %ld > persisted %ld", s->id, msg->term, s->disk.term);
    cl_msg_t *m = hs_msg_appendentries(s->id, node_id_of(node), msg);
    if (!m)
        return -1; /* out of memory copying the entries: the message is lost */
    enqueue(c, m);
    return 0;
}

static int cb_send_snapshot(raft_server_t *r, void *ud, raft_node_t *node, raft_snapshot_req_t *msg)
{
    cl_server_t *s = ud;
    (void)r;
    s->sent[CL_MSG_SNAP]++;
    enqueue(s->c, hs_msg_snapshot(s->id, node_id_of(node), msg));
    return 0;
}

static int cb_send_timeoutnow(raft_server_t *r, void *ud, raft_node_t *node)
{
    cl_server_t *s = ud;
    (void)r;
    s->sent[CL_MSG_TIMEOUTNOW]++;
    enqueue(s->c, hs_msg_new(CL_MSG_TIMEOUTNOW, s->id, node_id_of(node)));
    return 0;
}

/* Snapshot image: int n_cfg; cl_member_t cfg[n_cfg]; raft_index_t n;
 * cl_applied_t applied[n]. */
static char *snap_serialize(cl_server_t *s, raft_size_t *len)
{
    size_t n = (size_t)s->n_applied;
    size_t sz = sizeof(int) + (size_t)s->n_cfg * sizeof(cl_member_t) + sizeof(raft_index_t) +
                n * sizeof(cl_applied_t);
    char *buf = hs_realloc(NULL, sz), *p = buf;
    memcpy(p, &s->n_cfg, sizeof(int));
    p += sizeof(int);
    memcpy(p, s->cfg, (size_t)s->n_cfg * sizeof(cl_member_t));
    p += (size_t)s->n_cfg * sizeof(cl_member_t);
    memcpy(p, &s->n_applied, sizeof(raft_index_t));
    p += sizeof(raft_index_t);
    if (n)
        memcpy(p, s->applied, n * sizeof(cl_applied_t));
    *len = sz;
    return buf;
}

static int snap_parse(const char *buf, raft_size_t len, cl_member_t *cfg, int *n_cfg,
                      cl_applied_t **applied, raft_index_t *n_applied)
{
    const char *p = buf;
    raft_size_t need = sizeof(int);
    int nc;
    raft_index_t na;
    if (!buf || len < need)
        return -1;
    memcpy(&nc, p, sizeof(int));
    p += sizeof(int);
    if (nc < 0 || nc > CL_MAX)
        return -1;
    need += (raft_size_t)nc * sizeof(cl_member_t) + sizeof(raft_index_t);
    if (len < need)
        return -1;
    memcpy(cfg, p, (size_t)nc * sizeof(cl_member_t));
    p += (size_t)nc * sizeof(cl_member_t);
    memcpy(&na, p, sizeof(raft_index_t));
    p += sizeof(raft_index_t);
    if (na < 0 || len != need + (raft_size_t)na * sizeof(cl_applied_t))
        return -1;
    *n_cfg = nc;
    *n_applied = na;
    *applied = hs_realloc(NULL, (size_t)(na ? na : 1) * sizeof(cl_applied_t));
    if (na)
        memcpy(*applied, p, (size_t)na * sizeof(cl_applied_t));
    return 0;
}

static void global_check(cluster_t *c, raft_node_id_t who, const cl_applied_t *a)
{
    if (a->idx >= c->n_global) {
        raft_index_t n = c->n_global ? c->n_global : 1024;
        while (n <= a->idx)
            n *= 2;
        c->global = hs_realloc(c->global, (size_t)n * sizeof(cl_applied_t));
        memset(c->global + c->n_global, 0, (size_t)(n - c->n_global) * sizeof(cl_applied_t));
        c->n_global = n;
    }
    cl_applied_t *g = &c->global[a->idx];
    if (g->idx == 0) {
        *g = *a;
        return;
    }
    if (g->term != a->term || g->id != a->id || g->type != a->type || g->val != a->val)
        cl_violation(c, "state machine safety: node %d applied (term %ld id %d type %d) at %ld, another applied (term %ld id %d type %d)",
                     who, a->term, a->id, a->type, a->idx, g->term, g->id, g->type);
}

static void cfg_apply(cl_member_t *cfg, int *n, int type, raft_node_id_t id)
{
    hs_members_apply(cfg, n, CL_MAX + 1, type, id);
}

static void applied_push(cl_server_t *s, const cl_applied_t *a)
{
    if (s->n_applied == s->cap_applied) {
        s->cap_applied = s->cap_applied ? s->cap_applied * 2 : 256;
        s->applied = hs_realloc(s->applied, (size_t)s->cap_applied * sizeof(cl_applied_t));
    }
    s->applied[s->n_applied++] = *a;
}

static int cb_applylog(raft_server_t *r, void *ud, raft_entry_t *e, raft_index_t idx)
{
    cl_server_t *s = ud;
    cl_applied_t a;
    (void)r;
    s->apply_calls++;
    s->c->clock.now_us += s->apply_cost_us;
    if (s->apply_fail_idx && idx == s->apply_fail_idx)
        return s->apply_fail_rc;
    if (idx != s->applied_upto + 1)
        cl_violation(s->c, "node %d applied index %ld after %ld", s->id, idx, s->applied_upto);
    a.idx = idx;
    a.term = e->term;
    a.id = e->id;
    a.type = e->type;
    a.val = e->type == RAFT_LOGTYPE_NORMAL ? entry_val(e) : 0;
    if (is_cfg_type(e->type))
        a.val = entry_val(e);
    applied_push(s, &a);
    s->applied_upto = idx;
    global_check(s->c, s->id, &a);
    if (is_cfg_type(e->type))
        cfg_apply(s->cfg, &s->n_cfg, e->type, entry_val(e));
    return 0;
}

static int cb_persist_metadata(raft_server_t *r, void *ud, raft_term_t term, raft_node_id_t vote)
{
    cl_server_t *s = ud;
    (void)r;
    if (s->fail_persist) {
        s->disk.persists++;
        return -1;
    }
    switch (hs_disk_persist(&s->disk, term, vote)) {
    case HS_META_TERM_BACK:
        cl_violation(s->c, "node %d persisted term %ld after a higher one", s->id, term);
        break;
    case HS_META_VOTE_CHANGED:
        cl_violation(s->c, "node %d changed its vote in term %ld to %d", s->id, term, vote);
        break;
    default:
        break;
    }
    return 0;
}

static raft_node_id_t cb_get_node_id(raft_server_t *r, void *ud, raft_entry_t *e, raft_index_t idx)
{
    (void)r;
    (void)ud;
    (void)idx;
    if (!e || e->data_len < sizeof(int))
        return RAFT_NODE_ID_NONE;
    return entry_val(e);
}

static int cb_node_has_sufficient_logs(raft_server_t *r, void *ud, raft_node_t *node)
{
    cl_server_t *s = ud;
    (void)r;
    s->sufficient_calls++;
    s->sufficient_node = node_id_of(node);
    return 0;
}

static void cb_membership(raft_server_t *r, void *ud, raft_node_t *node, raft_entry_t *e, raft_membership_e type)
{
    cl_server_t *s = ud;
    (void)r;
    (void)e;
    if (type == RAFT_MEMBERSHIP_ADD)
        s->membership_add++;
    else
        s->membership_remove++;
    s->last_membership_node = node_id_of(node);
}

static void cb_state(raft_server_t *r, void *ud, raft_state_e state)
{
    cl_server_t *s = ud;
    (void)r;
    if ((int)state >= 0 && state <= RAFT_STATE_LEADER)
        s->state_events[state]++;
    s->last_state_event = state;
}

static void cb_transfer(raft_server_t *r, void *ud, raft_leader_transfer_e result)
{
    cl_server_t *s = ud;
    (void)r;
    if ((int)result >= 0 && result <= RAFT_LEADER_TRANSFER_EXPECTED_LEADER)
        s->transfer_events[result]++;
    s->last_transfer_event = result;
}

static void cb_log(raft_server_t *r, raft_node_id_t node, void *ud, const char *buf)
{
    cl_server_t *s = ud;
    (void)r;
    if (s->c->verbose)
        fprintf(stderr, "[%lld %d->%d] %s\n", s->c->clock.now_us / 1000, s->id, node, buf);
}

static int cb_backpressure(raft_server_t *r, void *ud, raft_node_t *node)
{
    cl_server_t *s = ud;
    (void)r;
    (void)node;
    s->backpressure_calls++;
    return s->backpressure;
}

static raft_index_t cb_get_entries_to_send(raft_server_t *r, void *ud, raft_node_t *node, raft_index_t idx,
                                           raft_index_t entries_n, raft_entry_t **entries)
{
    cl_server_t *s = ud;
    raft_index_t n = entries_n, got = 0;
    (void)node;
    s->entries_cb_calls++;
    if (s->max_entries_per_msg > 0 && n > s->max_entries_per_msg)
        n = s->max_entries_per_msg;
    while (got < n) {
        raft_entry_t *e = raft_get_entry_from_idx(r, idx + got);
        if (!e)
            break;
        entries[got++] = e;
    }
    return got;
}

static raft_time_t cb_timestamp(raft_server_t *r, void *ud)
{
    cl_server_t *s = ud;
    (void)r;
    return s->c->clock.now_us;
}

static int cb_get_snapshot_chunk(raft_server_t *r, void *ud, raft_node_t *node, raft_size_t offset,
                                 raft_snapshot_chunk_t *chunk)
{
    cl_server_t *s = ud;
    (void)r;
    (void)node;
    s->chunk_calls++;
    if (s->chunk_done > 0) {
        s->chunk_done--;
        return RAFT_ERR_DONE;
    }
    if (!s->disk.snap || offset > s->disk.snap_len)
        return -1;
    hs_disk_read_chunk(&s->disk, offset, s->c->o.chunk_size, chunk);
    return 0;
}

static int cb_store_snapshot_chunk(raft_server_t *r, void *ud, raft_index_t snapshot_index, raft_size_t offset,
                                   raft_snapshot_chunk_t *chunk)
{
    cl_server_t *s = ud;
    (void)r;
    s->store_calls++;
    if (hs_disk_store_chunk(&s->disk, snapshot_index, offset, chunk) != 0)
        cl_violation(s->c, "node %d stored snapshot chunk at %llu of snapshot %ld with only %zu bytes of "
                     "snapshot %ld received", s->id, offset, snapshot_index, s->disk.in_len, s->disk.in_idx);
    return 0;
}

static int cb_clear_snapshot(raft_server_t *r, void *ud)
{
    cl_server_t *s = ud;
    (void)r;
    s->clear_calls++;
    s->disk.in_len = 0;
    return 0;
}

/* Configure r's nodes from a membership list (begin/end load or restart). */
static void configure_nodes(cl_server_t *s, const cl_member_t *cfg, int n_cfg)
{
    hs_members_install(s->r, s->id, cfg, n_cfg);
}

static void set_state_machine(cl_server_t *s, const cl_member_t *cfg, int n_cfg, cl_applied_t *applied,
                              raft_index_t n_applied, raft_index_t upto)
{
    free(s->applied);
    s->applied = applied;
    s->n_applied = n_applied;
    s->cap_applied = applied ? (n_applied ? n_applied : 1) : 0;
    s->applied_upto = upto;
    memcpy(s->cfg, cfg, (size_t)n_cfg * sizeof(cl_member_t));
    s->n_cfg = n_cfg;
}

static int cb_load_snapshot(raft_server_t *r, void *ud, raft_term_t term, raft_index_t idx)
{
    cl_server_t *s = ud;
    cl_member_t cfg[CL_MAX + 1];
    int n_cfg = 0, rc;
    cl_applied_t *applied = NULL;
    raft_index_t n_applied = 0;
    s->load_calls++;
    if (s->fail_load > 0) {
        s->fail_load--;
        return -1;
    }
    if (snap_parse((char *)s->disk.in, s->disk.in_len, cfg, &n_cfg, &applied, &n_applied) != 0) {
        cl_violation(s->c, "node %d: received snapshot (%zu bytes) does not parse", s->id, s->disk.in_len);
        return -1;
    }
    if (n_applied > 0 && applied[n_applied - 1].idx != idx)
        cl_violation(s->c, "node %d: snapshot index %ld but its image ends at %ld", s->id, idx,
                     applied[n_applied - 1].idx);
    rc = raft_begin_load_snapshot(r, term, idx);
    if (rc != 0) {
        free(applied);
        return -1;
    }
    configure_nodes(s, cfg, n_cfg);
    rc = raft_end_load_snapshot(r);
    if (rc != 0) {
        free(applied);
        return -1;
    }
    for (raft_index_t i = 0; i < n_applied; i++)
        global_check(s->c, s->id, &applied[i]);
    set_state_machine(s, cfg, n_cfg, applied, n_applied, idx);
    hs_disk_install_received(&s->disk, idx, term);
    return 0;
}

/* ------------------------------------------------------------------ */
/* Servers                                                              */
/* ------------------------------------------------------------------ */

static void srv_setup(cl_server_t *s)
{
    cluster_t *c = s->c;
    raft_cbs_t cbs;
    memset(&cbs, 0, sizeof(cbs));
    cbs.send_requestvote = cb_send_requestvote;
    cbs.send_appendentries = cb_send_appendentries;
    cbs.send_snapshot = cb_send_snapshot;
    cbs.load_snapshot = cb_load_snapshot;
    cbs.get_snapshot_chunk = cb_get_snapshot_chunk;
    cbs.store_snapshot_chunk = cb_store_snapshot_chunk;
    cbs.clear_snapshot = cb_clear_snapshot;
    cbs.applylog = cb_applylog;
    cbs.persist_metadata = cb_persist_metadata;
    cbs.get_node_id = cb_get_node_id;
    cbs.node_has_sufficient_logs = cb_node_has_sufficient_logs;
    cbs.notify_membership_event = cb_membership;
    cbs.notify_state_event = cb_state;
    cbs.notify_transfer_event = cb_transfer;
    cbs.log = cb_log;
    cbs.send_timeoutnow = cb_send_timeoutnow;
    if (c->o.use_backpressure)
        cbs.backpressure = cb_backpressure;
    if (c->o.use_entries_cb)
        cbs.get_entries_to_send = cb_get_entries_to_send;
    cbs.timestamp = cb_timestamp;
    raft_set_callbacks(s->r, &cbs, s);
    /* Election timeouts seeded from the cluster's seeded PRNG state (not
     * drawn from it, so its sequence is unchanged): runs repeat. */
    raft_set_random_seed(s->r, c->rng.s ^ ((unsigned long long)s->id << 48));
    raft_config(s->r, 1, RAFT_CONFIG_ELECTION_TIMEOUT, c->o.election_timeout);
    raft_config(s->r, 1, RAFT_CONFIG_REQUEST_TIMEOUT, c->o.request_timeout);
    if (c->o.auto_flush >= 0)
        raft_config(s->r, 1, RAFT_CONFIG_AUTO_FLUSH, c->o.auto_flush);
    if (c->verbose)
        raft_config(s->r, 1, RAFT_CONFIG_LOG_ENABLED, 1);
}

static void srv_create(cluster_t *c, raft_node_id_t id, const cl_member_t *boot, int n_boot)
{
    cl_server_t *s = &c->s[id];
    memset(s, 0, sizeof(*s));
    s->c = c;
    s->id = id;
    s->exists = 1;
    s->alive = 1;
    hs_disk_init(&s->disk);
    memcpy(s->boot, boot, (size_t)n_boot * sizeof(cl_member_t));
    s->n_boot = n_boot;
    /* the state machine starts from the cluster's static bootstrap */
    memcpy(s->cfg, c->boot, (size_t)c->n_boot * sizeof(cl_member_t));
    s->n_cfg = c->n_boot;
    s->log = hs_log_new(0, 0);
    s->r = raft_new_with_log(&hs_log_impl, s->log);
    if (!s->r) {
        fprintf(stderr, "cluster: raft_new_with_log failed\n");
        exit(1);
    }
    srv_setup(s);
    configure_nodes(s, boot, n_boot);
    if (id > c->n)
        c->n = id;
}

void cl_default_opts(cl_opts_t *o)
{
    memset(o, 0, sizeof(*o));
    o->election_timeout = 1000;
    o->request_timeout = 200;
    o->tick_ms = 10;
    o->chunk_size = 256;
    o->auto_flush = -1;
}

cluster_t *cl_new_opts(int n, unsigned seed, const cl_opts_t *opts)
{
    cluster_t *c = calloc(1, sizeof(*c));
    if (!c)
        abort();
    if (n < 1 || n > CL_MAX) {
        fprintf(stderr, "cluster: bad size %d (a cluster has 1..CL_MAX = %d servers)\n", n, CL_MAX);
        exit(1);
    }
    if (opts)
        c->o = *opts;
    else
        cl_default_opts(&c->o);
    c->rng.s = 0x9E3779B97F4A7C15ULL ^ ((unsigned long long)seed * 0x100000001B3ULL) ^ 1;
    hs_net_init(&c->net, &c->rng);
    c->clock.now_us = 1000000000LL; /* a clock that does not start at zero */
    if (getenv("CL_VERBOSE"))
        c->verbose = 1;
    for (int i = 0; i < n; i++) {
        c->boot[i].id = i + 1;
        c->boot[i].voting = 1;
    }
    c->n_boot = n;
    for (int i = 1; i <= n; i++)
        srv_create(c, i, c->boot, n);
    return c;
}

cluster_t *cl_new(int n, unsigned seed)
{
    return cl_new_opts(n, seed, NULL);
}

void cl_free(cluster_t *c)
{
    cl_drop_queue(c);
    for (int i = 1; i <= c->n; i++) {
        cl_server_t *s = &c->s[i];
        if (!s->exists)
            continue;
        if (s->r)
            raft_destroy(s->r);
        hs_log_free(s->log);
        hs_log_free(s->crashed_log);
        free(s->applied);
        hs_disk_free(&s->disk);
    }
    hs_net_free(&c->net);
    hs_terms_free(&c->term_leader);
    free(c->global);
    free(c);
}

cl_server_t *cl_srv(cluster_t *c, raft_node_id_t id)
{
    if (id < 1 || id > CL_MAX || !c->s[id].exists) {
        fprintf(stderr, "cluster: no server %d\n", id);
        exit(1);
    }
    return &c->s[id];
}

raft_server_t *cl_raft(cluster_t *c, raft_node_id_t id)
{
    return cl_srv(c, id)->r;
}

raft_node_t *cl_node(cluster_t *c, raft_node_id_t on, raft_node_id_t of)
{
    return raft_get_node(cl_raft(c, on), of);
}

cl_server_t *cl_add_server(cluster_t *c, raft_node_id_t id)
{
    cl_member_t boot[CL_MAX + 1];
    int n = c->n_boot;
    if (id < 1 || id > CL_MAX || c->s[id].exists) {
        fprintf(stderr, "cluster: cannot add server %d (ids are 1..CL_MAX = %d, each used once)\n", id, CL_MAX);
        exit(1);
    }
    memcpy(boot, c->boot, (size_t)n * sizeof(cl_member_t));
    boot[n].id = id;
    boot[n].voting = 0;
    srv_create(c, id, boot, n + 1);
    return &c->s[id];
}

/* ------------------------------------------------------------------ */
/* Delivery                                                             */
/* ------------------------------------------------------------------ */

static void note_rc(cl_server_t *s, int rc)
{
    if (rc != 0) {
        s->recv_errors++;
        s->last_recv_error = rc;
    }
}

static int should_drop(cluster_t *c, cl_msg_t *m)
{
    if (m->to < 1 || m->to > CL_MAX || !c->s[m->to].exists || !c->s[m->to].alive)
        return 1;
    if (c->drop_all)
        return 1;
    if (hs_net_blocked(&c->net, m->from, m->to))
        return 1;
    if (c->drop_per_mille > 0 && (int)(cl_rand(c) % 1000) < c->drop_per_mille)
        return 1;
    if (c->filter && c->filter(c, m, c->filter_arg))
        return 1;
    return 0;
}

/* Whether the response a server produced is sent back. A call that failed
 * may leave a half-filled response, which a careful application does not
 * send; a response carrying a term or vote not yet persisted is a
 * violation. */
static int reply_ok(cluster_t *c, cl_server_t *to, const cl_msg_t *m, const cl_msg_t *rm, int rc)
{
    switch (rm->type) {
    case CL_MSG_RV_RESP: {
        const raft_requestvote_resp_t *resp = &rm->u.rvr;
        int bad_term, bad_vote;
        if (resp->term < 0)
            return 0;
        bad_term = resp->term > to->disk.term;
        bad_vote = !resp->prevote && resp->vote_granted &&
                   (to->disk.vote != m->u.rv.candidate_id || to->disk.term != m->u.rv.term);
        if (rc != 0 && (bad_term || bad_vote))
            return 0;
        if (bad_term)
            cl_violation(c, "node %d answered requestvote with term %ld > persisted %ld", to->id, resp->term,
                         to->disk.term);
        if (bad_vote)
            cl_violation(c, "node %d granted its vote to %d in term %ld before persisting it", to->id,
                         m->u.rv.candidate_id, m->u.rv.term);
        return 1;
    }
    case CL_MSG_AE_RESP:
        if (rm->u.aer.term < 0 || (rc != 0 && rm->u.aer.term > to->disk.term))
            return 0;
        if (rm->u.aer.term > to->disk.term)
            cl_violation(c, "node %d answered appendentries with term %ld > persisted %ld", to->id,
                         rm->u.aer.term, to->disk.term);
        return 1;
    case CL_MSG_SNAP_RESP:
        return rm->u.snapr.term >= 0;
    default:
        return 0;
    }
}

static void deliver(cluster_t *c, cl_msg_t *m)
{
    cl_server_t *to;
    cl_msg_t reply;

    if (should_drop(c, m)) {
        c->dropped++;
        hs_msg_free(m);
        return;
    }
    c->delivered++;
    to = &c->s[m->to];
    memset(&reply, 0, sizeof(reply));
    /* term -1: the call did not fill the response in */
    if (m->type == CL_MSG_RV)
        reply.u.rvr.term = -1;
    else if (m->type == CL_MSG_AE)
        reply.u.aer.term = -1;
    else if (m->type == CL_MSG_SNAP)
        reply.u.snapr.term = -1;
    int rc = hs_msg_deliver(to->r, raft_get_node(to->r, m->from), m, &reply);
    note_rc(to, rc);
    if (reply.type && reply_ok(c, to, m, &reply, rc))
        enqueue(c, hs_msg_clone(&reply)); /* (a reply has no entries: never NULL) */
    hs_msg_free(m);
    cl_check_leaders(c);
}

int cl_deliver_one(cluster_t *c)
{
    cl_msg_t *m = hs_net_take(&c->net, 0);
    if (!m)
        return 0;
    deliver(c, m);
    return 1;
}

int cl_deliver_at(cluster_t *c, int i)
{
    cl_msg_t *m = hs_net_take(&c->net, i);
    if (!m)
        return 0;
    deliver(c, m);
    return 1;
}

void cl_deliver_all(cluster_t *c)
{
    long budget = 1000000;
    while (c->net.qlen > 0 && budget-- > 0)
        cl_deliver_one(c);
}

void cl_drop_at(cluster_t *c, int i)
{
    cl_msg_t *m = hs_net_take(&c->net, i);
    if (m) {
        c->dropped++;
        hs_msg_free(m);
    }
}

void cl_drop_queue(cluster_t *c)
{
    while (c->net.qlen > 0)
        cl_drop_at(c, 0);
}

int cl_queue_find(cluster_t *c, int type, raft_node_id_t from, raft_node_id_t to, int nth)
{
    for (int i = 0; i < c->net.qlen; i++) {
        cl_msg_t *m = c->net.q[i];
        if ((type && m->type != type) || (from && m->from != from) || (to && m->to != to))
            continue;
        if (nth-- == 0)
            return i;
    }
    return -1;
}

int cl_queue_count(cluster_t *c, int type, raft_node_id_t from, raft_node_id_t to)
{
    int n = 0;
    for (int i = 0; i < c->net.qlen; i++) {
        cl_msg_t *m = c->net.q[i];
        if ((type && m->type != type) || (from && m->from != from) || (to && m->to != to))
            continue;
        n++;
    }
    return n;
}

void cl_link(cluster_t *c, raft_node_id_t a, raft_node_id_t b, int up)
{
    hs_net_block(&c->net, a, b, !up);
    hs_net_block(&c->net, b, a, !up);
}

void cl_isolate(cluster_t *c, raft_node_id_t id)
{
    for (int i = 1; i <= CL_MAX; i++)
        if (i != id)
            cl_link(c, id, i, 0);
}

void cl_heal(cluster_t *c)
{
    hs_net_heal(&c->net);
}

void cl_partition(cluster_t *c, const raft_node_id_t *side_a, int n_a)
{
    unsigned char in_a[CL_MAX + 1] = {0};
    cl_heal(c);
    for (int i = 0; i < n_a; i++)
        if (side_a[i] >= 1 && side_a[i] <= CL_MAX)
            in_a[side_a[i]] = 1;
    hs_net_split(&c->net, in_a, CL_MAX);
}

/* ------------------------------------------------------------------ */
/* Time                                                                 */
/* ------------------------------------------------------------------ */

static void note_periodic(cl_server_t *s, int rc)
{
    if (rc != 0) {
        s->periodic_errors++;
        s->last_periodic_error = rc;
    }
}

void cl_tick(cluster_t *c, int ms)
{
    hs_clock_advance_ms(&c->clock, ms);
    for (int i = 1; i <= c->n; i++) {
        cl_server_t *s = &c->s[i];
        if (s->exists && s->alive)
            note_periodic(s, raft_periodic(s->r));
    }
    cl_check_leaders(c);
    if (!c->hold_delivery)
        cl_deliver_all(c);
}

void cl_step(cluster_t *c)
{
    cl_tick(c, c->o.tick_ms);
}

int cl_periodic_one(cluster_t *c, raft_node_id_t id, int ms)
{
    cl_server_t *s = cl_srv(c, id);
    int rc;
    hs_clock_advance_ms(&c->clock, ms);
    rc = raft_periodic(s->r);
    note_periodic(s, rc);
    cl_check_leaders(c);
    return rc;
}

int cl_run_until(cluster_t *c, int (*cond)(cluster_t *, void *), void *arg, int max_ms)
{
    int t = 0;
    while (!cond(c, arg)) {
        if (t >= max_ms)
            return 0;
        cl_step(c);
        t += c->o.tick_ms;
    }
    return 1;
}

void cl_run(cluster_t *c, int ms)
{
    for (int t = 0; t < ms; t += c->o.tick_ms)
        cl_step(c);
}

/* ------------------------------------------------------------------ */
/* Leaders                                                              */
/* ------------------------------------------------------------------ */

void cl_check_leaders(cluster_t *c)
{
    for (int i = 1; i <= c->n; i++) {
        cl_server_t *s = &c->s[i];
        raft_term_t t;
        if (!s->exists || !s->alive || !raft_is_leader(s->r))
            continue;
        t = raft_get_current_term(s->r);
        if (t < 0)
            continue;
        raft_node_id_t was = hs_terms_leader(&c->term_leader, t, s->id);
        if (was != RAFT_NODE_ID_NONE && was != s->id)
            cl_violation(c, "election safety: nodes %d and %d both led term %ld", was, s->id, t);
    }
}

raft_node_id_t cl_leader(cluster_t *c)
{
    raft_node_id_t best = 0;
    raft_term_t best_term = -1;
    for (int i = 1; i <= c->n; i++) {
        cl_server_t *s = &c->s[i];
        if (!s->exists || !s->alive || !raft_is_leader(s->r))
            continue;
        if (raft_get_current_term(s->r) > best_term) {
            best_term = raft_get_current_term(s->r);
            best = s->id;
        }
    }
    return best;
}

int cl_count_leaders(cluster_t *c)
{
    int n = 0;
    for (int i = 1; i <= c->n; i++) {
        cl_server_t *s = &c->s[i];
        if (s->exists && s->alive && raft_is_leader(s->r))
            n++;
    }
    return n;
}

/* A leader followed by a majority of its voters (so not a leader that was
 * just cut off), and by every other live, reachable server. */
static int cond_stable_leader(cluster_t *c, void *arg)
{
    raft_node_id_t l = cl_leader(c);
    raft_server_t *lr;
    int votes = 1;
    (void)arg;
    if (!l)
        return 0;
    lr = c->s[l].r;
    for (int i = 1; i <= c->n; i++) {
        cl_server_t *s = &c->s[i];
        raft_node_t *n;
        if (!s->exists || !s->alive || i == l || hs_net_blocked(&c->net, l, i) || hs_net_blocked(&c->net, i, l))
            continue;
        n = raft_get_node(lr, i);
        if (!n)
            continue;
        if (raft_get_leader_id(s->r) != l)
            return 0;
        if (raft_node_is_voting(n))
            votes++;
    }
    return votes * 2 > raft_get_num_voting_nodes(lr);
}

raft_node_id_t cl_elect(cluster_t *c, int max_ms)
{
    if (!cl_run_until(c, cond_stable_leader, NULL, max_ms))
        return 0;
    return cl_leader(c);
}

raft_node_id_t cl_elect_node(cluster_t *c, raft_node_id_t id, int max_ms)
{
    for (int t = 0; t <= max_ms; t += c->o.tick_ms) {
        if (raft_is_leader(cl_raft(c, id))) {
            cl_step(c);
            return raft_is_leader(cl_raft(c, id)) ? id : 0;
        }
        cl_periodic_one(c, id, c->o.tick_ms);
        cl_deliver_all(c);
    }
    return 0;
}

/* ------------------------------------------------------------------ */
/* Client requests                                                      */
/* ------------------------------------------------------------------ */

raft_entry_t *cl_entry(cluster_t *c, int type, int val)
{
    raft_entry_t *e = raft_entry_new(sizeof(int));
    if (!e)
        return NULL; /* out of memory (the allocation sweep makes it so) */
    e->type = (short)type;
    e->id = ++c->next_entry_id;
    memcpy(e->data, &val, sizeof(int));
    return e;
}

int cl_submit(cluster_t *c, raft_node_id_t id, int val, raft_entry_resp_t *resp)
{
    raft_entry_resp_t tmp;
    raft_entry_t *e = cl_entry(c, RAFT_LOGTYPE_NORMAL, val);
    int rc;
    if (!e)
        return RAFT_ERR_NOMEM;
    rc = raft_recv_entry(cl_raft(c, id), e, resp ? resp : &tmp);
    raft_entry_release(e);
    return rc;
}

int cl_submit_cfg(cluster_t *c, raft_node_id_t id, int type, raft_node_id_t node, raft_entry_resp_t *resp)
{
    raft_entry_resp_t tmp;
    raft_entry_t *e = cl_entry(c, type, node);
    int rc;
    if (!e)
        return RAFT_ERR_NOMEM;
    rc = raft_recv_entry(cl_raft(c, id), e, resp ? resp : &tmp);
    raft_entry_release(e);
    return rc;
}

int cl_is_member(cluster_t *c, raft_node_id_t on, raft_node_id_t who)
{
    cl_server_t *s = cl_srv(c, on);
    return s->r && raft_get_node(s->r, who) != NULL;
}

static int cond_converged(cluster_t *c, void *arg)
{
    raft_node_id_t l = cl_leader(c);
    raft_server_t *lr;
    (void)arg;
    if (!l)
        return 0;
    lr = c->s[l].r;
    if (raft_get_commit_idx(lr) != raft_get_current_idx(lr))
        return 0;
    for (int i = 1; i <= c->n; i++) {
        cl_server_t *s = &c->s[i];
        if (!s->exists || !s->alive || !raft_get_node(lr, i))
            continue;
        if (raft_get_last_applied_idx(s->r) != raft_get_commit_idx(lr))
            return 0;
        if (raft_get_current_idx(s->r) != raft_get_current_idx(lr))
            return 0;
    }
    return 1;
}

int cl_converge(cluster_t *c, int max_ms)
{
    return cl_run_until(c, cond_converged, NULL, max_ms);
}

struct applied_by_all { raft_index_t idx; };

static int cond_applied_by_all(cluster_t *c, void *arg)
{
    struct applied_by_all *a = arg;
    raft_node_id_t l = cl_leader(c);
    if (!l)
        return 0;
    for (int i = 1; i <= c->n; i++) {
        cl_server_t *s = &c->s[i];
        if (!s->exists || !s->alive || !raft_get_node(c->s[l].r, i))
            continue;
        if (raft_get_last_applied_idx(s->r) < a->idx)
            return 0;
    }
    return 1;
}

int cl_replicate(cluster_t *c, int val, int max_ms)
{
    raft_entry_resp_t resp;
    struct applied_by_all a;
    raft_node_id_t l = cl_leader(c);
    if (!l || cl_submit(c, l, val, &resp) != 0)
        return 0;
    a.idx = resp.idx;
    return cl_run_until(c, cond_applied_by_all, &a, max_ms);
}

int cl_same_applied(cluster_t *c, raft_node_id_t a, raft_node_id_t b)
{
    cl_server_t *x = cl_srv(c, a), *y = cl_srv(c, b);
    raft_index_t i = 0, j = 0;
    if (x->applied_upto != y->applied_upto)
        return 0;
    /* the lists may start at different indexes after snapshots */
    while (i < x->n_applied && j < y->n_applied) {
        if (x->applied[i].idx < y->applied[j].idx) {
            i++;
            continue;
        }
        if (x->applied[i].idx > y->applied[j].idx) {
            j++;
            continue;
        }
        if (x->applied[i].term != y->applied[j].term || x->applied[i].id != y->applied[j].id ||
            x->applied[i].val != y->applied[j].val)
            return 0;
        i++;
        j++;
    }
    return 1;
}

/* ------------------------------------------------------------------ */
/* Snapshots and restarts                                               */
/* ------------------------------------------------------------------ */

int cl_snapshot(cluster_t *c, raft_node_id_t id)
{
    cl_server_t *s = cl_srv(c, id);
    raft_size_t len;
    char *img;
    int rc = raft_begin_snapshot(s->r);
    if (rc != 0)
        return rc;
    if (raft_get_last_applied_idx(s->r) != s->applied_upto)
        cl_violation(c, "node %d: last applied %ld but applylog saw %ld", id, raft_get_last_applied_idx(s->r),
                     s->applied_upto);
    img = snap_serialize(s, &len);
    rc = raft_end_snapshot(s->r);
    if (rc != 0) {
        free(img);
        return rc;
    }
    if (raft_get_snapshot_last_idx(s->r) != s->applied_upto)
        cl_violation(c, "node %d: snapshot index %ld, applied index was %ld", id, raft_get_snapshot_last_idx(s->r),
                     s->applied_upto);
    hs_disk_save_snapshot(&s->disk, img, (size_t)len, raft_get_snapshot_last_idx(s->r),
                          raft_get_snapshot_last_term(s->r));
    free(img);
    return 0;
}

void cl_crash(cluster_t *c, raft_node_id_t id)
{
    cl_server_t *s = cl_srv(c, id);
    if (!s->alive)
        return;
    hs_log_free(s->crashed_log);
    s->crashed_log = hs_log_copy(s->log);
    s->crashed_log->appends = 0;
    raft_destroy(s->r);
    s->r = NULL;
    hs_log_free(s->log);
    s->log = NULL;
    s->alive = 0;
    s->disk.in_len = 0;
}

/* Build r and its state machine from the persisted snapshot (or the boot
 * membership), as an application does on start. */
static void restart_common(cluster_t *c, cl_server_t *s)
{
    srv_setup(s);
    if (s->disk.snap) {
        cl_member_t cfg[CL_MAX + 1];
        int n_cfg = 0;
        cl_applied_t *applied = NULL;
        raft_index_t n_applied = 0;
        if (snap_parse((char *)s->disk.snap, s->disk.snap_len, cfg, &n_cfg, &applied, &n_applied) != 0) {
            cl_violation(c, "node %d: persisted snapshot does not parse", s->id);
            return;
        }
        configure_nodes(s, cfg, n_cfg);
        set_state_machine(s, cfg, n_cfg, applied, n_applied, s->disk.snap_idx);
    } else {
        configure_nodes(s, s->boot, s->n_boot);
        set_state_machine(s, c->boot, c->n_boot, NULL, 0, 0);
    }
}

int cl_restart(cluster_t *c, raft_node_id_t id, int metadata_first)
{
    cl_server_t *s = cl_srv(c, id);
    cl_log_t *disk = s->crashed_log;
    int rc = 0, e;
    if (s->alive || !disk)
        return -1;
    s->crashed_log = NULL;
    s->log = hs_log_new(s->disk.snap ? s->disk.snap_idx : 0, s->disk.snap ? s->disk.snap_term : 0);
    s->r = raft_new_with_log(&hs_log_impl, s->log);
    s->alive = 1;
    restart_common(c, s);
    if (s->disk.snap) {
        e = raft_restore_snapshot(s->r, s->disk.snap_term, s->disk.snap_idx);
        if (e && !rc)
            rc = e;
    }
    if (metadata_first) {
        e = raft_restore_metadata(s->r, s->disk.term, s->disk.vote);
        if (e && !rc)
            rc = e;
    }
    for (raft_index_t i = 0; i < disk->n; i++) {
        if (disk->base + 1 + i <= (s->disk.snap ? s->disk.snap_idx : 0))
            continue;
        e = raft_append_entry(s->r, disk->e[i]);
        if (e && !rc)
            rc = e;
    }
    if (!metadata_first) {
        e = raft_restore_metadata(s->r, s->disk.term, s->disk.vote);
        if (e && !rc)
            rc = e;
    }
    hs_log_free(disk);
    return rc;
}

int cl_restart_with_log(cluster_t *c, raft_node_id_t id)
{
    cl_server_t *s = cl_srv(c, id);
    int rc = 0, e;
    if (s->alive || !s->crashed_log)
        return -1;
    s->log = s->crashed_log;
    s->crashed_log = NULL;
    s->r = raft_new_with_log(&hs_log_impl, s->log);
    s->alive = 1;
    restart_common(c, s);
    if (s->disk.snap) {
        e = raft_restore_snapshot(s->r, s->disk.snap_term, s->disk.snap_idx);
        if (e && !rc)
            rc = e;
    }
    e = raft_restore_metadata(s->r, s->disk.term, s->disk.vote);
    if (e && !rc)
        rc = e;
    return rc;
}
