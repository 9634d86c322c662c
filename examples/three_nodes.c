/* three_nodes: three libraft servers in one process.
 *
 * The "network" is an in-memory queue: each send callback copies its message
 * into the queue, and the main loop delivers queued messages to the
 * addressee and queues its response. Time is simulated through the
 * timestamp callback, so the run is quick and needs no threads.
 *
 * The servers elect a leader, the leader replicates a few entries, and every
 * server applies them in the same order.
 *
 *   make examples && ./build/examples/three_nodes
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "raft.h"

#define N 3

struct server {
    raft_node_id_t id;
    raft_server_t *raft;
    int applied;          /* normal entries applied */
    char last[64];        /* the last one, for the summary */
};
static struct server servers[N + 1]; /* indexed by node id, 1..N */

static raft_time_t now_us; /* the simulated clock */

/* ------------------------------------------------------------ the network */
enum kind { RV, RV_RESP, AE, AE_RESP };
struct msg {
    enum kind kind;
    raft_node_id_t from, to;
    union {
        raft_requestvote_req_t rv;
        raft_requestvote_resp_t rv_resp;
        raft_appendentries_req_t ae;
        raft_appendentries_resp_t ae_resp;
    } u;
};
#define QMAX 4096
static struct msg queue[QMAX];
static int q_head, q_len;

static struct msg *enqueue(enum kind kind, raft_node_id_t from, raft_node_id_t to)
{
    if (q_len == QMAX)
        return NULL; /* dropped, as a real network may; raft retries */
    struct msg *m = &queue[(q_head + q_len++) % QMAX];
    m->kind = kind;
    m->from = from;
    m->to = to;
    return m;
}

static int send_requestvote(raft_server_t *raft, void *udata, raft_node_t *node,
                            raft_requestvote_req_t *req)
{
    (void)raft;
    struct server *s = udata;
    struct msg *m = enqueue(RV, s->id, raft_node_get_id(node));
    if (m)
        m->u.rv = *req;
    return 0;
}

/* The message is only valid during this callback: copy it, and hold each
 * entry (entries are reference counted) until it has been delivered. */
static int send_appendentries(raft_server_t *raft, void *udata, raft_node_t *node,
                              raft_appendentries_req_t *req)
{
    (void)raft;
    struct server *s = udata;
    struct msg *m = enqueue(AE, s->id, raft_node_get_id(node));
    if (!m)
        return 0;
    m->u.ae = *req;
    m->u.ae.entries = NULL;
    if (req->n_entries > 0) {
        m->u.ae.entries = malloc(sizeof(raft_entry_t *) * (size_t)req->n_entries);
        for (raft_index_t i = 0; i < req->n_entries; i++) {
            m->u.ae.entries[i] = req->entries[i];
            raft_entry_hold(req->entries[i]);
        }
    }
    return 0;
}

static void drop_entries(struct msg *m)
{
    if (m->kind == AE && m->u.ae.entries) {
        raft_entry_release_list(m->u.ae.entries, (size_t)m->u.ae.n_entries);
        free(m->u.ae.entries);
        m->u.ae.entries = NULL;
    }
}

/* Delivers what is queued now; responses join the back of the queue. */
static void deliver_all(void)
{
    int n = q_len;
    while (n-- > 0) {
        struct msg m = queue[q_head];
        q_head = (q_head + 1) % QMAX;
        q_len--;
        raft_server_t *to = servers[m.to].raft;
        raft_node_t *from = raft_get_node(to, m.from);
        switch (m.kind) {
        case RV: {
            raft_requestvote_resp_t resp;
            raft_recv_requestvote(to, from, &m.u.rv, &resp);
            struct msg *r = enqueue(RV_RESP, m.to, m.from);
            if (r)
                r->u.rv_resp = resp;
            break;
        }
        case RV_RESP:
            raft_recv_requestvote_response(to, from, &m.u.rv_resp);
            break;
        case AE: {
            raft_appendentries_resp_t resp;
            raft_recv_appendentries(to, from, &m.u.ae, &resp);
            drop_entries(&m); /* the receiver held what it keeps */
            struct msg *r = enqueue(AE_RESP, m.to, m.from);
            if (r)
                r->u.ae_resp = resp;
            break;
        }
        case AE_RESP:
            raft_recv_appendentries_response(to, from, &m.u.ae_resp);
            break;
        }
    }
}

/* ---------------------------------------------------- the other callbacks */
static int persist_metadata(raft_server_t *raft, void *udata, raft_term_t term,
                            raft_node_id_t vote)
{
    (void)raft; (void)udata; (void)term; (void)vote;
    return 0; /* a real server writes term and vote to disk here */
}

static int applylog(raft_server_t *raft, void *udata, raft_entry_t *e, raft_index_t idx)
{
    (void)raft;
    struct server *s = udata;
    if (e->type != RAFT_LOGTYPE_NORMAL)
        return 0;
    s->applied++;
    snprintf(s->last, sizeof(s->last), "%.*s", (int)e->data_len, e->data);
    printf("  server %d applies entry %ld: %s\n", s->id, idx, s->last);
    return 0;
}

static void notify_state(raft_server_t *raft, void *udata, raft_state_e state)
{
    struct server *s = udata;
    if (state == RAFT_STATE_LEADER)
        printf("server %d is leader of term %ld\n", s->id, raft_get_current_term(raft));
}

static raft_time_t timestamp(raft_server_t *raft, void *udata)
{
    (void)raft; (void)udata;
    return now_us;
}

/* One step of 10 simulated milliseconds. */
static void tick(void)
{
    now_us += 10 * 1000;
    for (int i = 1; i <= N; i++)
        raft_periodic(servers[i].raft);
    deliver_all();
}

static struct server *leader(void)
{
    for (int i = 1; i <= N; i++)
        if (raft_is_leader(servers[i].raft))
            return &servers[i];
    return NULL;
}

int main(void)
{
    raft_cbs_t cbs;
    memset(&cbs, 0, sizeof(cbs));
    cbs.send_requestvote = send_requestvote;
    cbs.send_appendentries = send_appendentries;
    cbs.persist_metadata = persist_metadata;
    cbs.applylog = applylog;
    cbs.notify_state_event = notify_state;
    cbs.timestamp = timestamp;

    for (int i = 1; i <= N; i++) {
        servers[i].id = i;
        servers[i].raft = raft_new();
        raft_set_callbacks(servers[i].raft, &cbs, &servers[i]);
        for (int j = 1; j <= N; j++)
            raft_add_node(servers[i].raft, NULL, j, i == j);
    }

    /* Election timeouts are random in [1 s, 2 s): a leader within 5 s. */
    for (int t = 0; t < 500 && !leader(); t++)
        tick();
    struct server *l = leader();
    if (!l) {
        fprintf(stderr, "no leader elected\n");
        return 1;
    }

    const char *commands[] = { "set x = 1", "set y = 2", "incr x", "delete y" };
    int n_commands = (int)(sizeof(commands) / sizeof(commands[0]));
    for (int i = 0; i < n_commands; i++) {
        size_t len = strlen(commands[i]);
        raft_entry_t *e = raft_entry_new((unsigned int)len);
        memcpy(e->data, commands[i], len);
        raft_entry_resp_t resp;
        int rc = raft_recv_entry(l->raft, e, &resp);
        raft_entry_release(e);
        if (rc != 0) {
            fprintf(stderr, "raft_recv_entry: %d\n", rc);
            return 1;
        }
        printf("leader %d stored \"%s\" at index %ld\n", l->id, commands[i], resp.idx);
    }

    /* Replicate, commit, and let the followers learn the commit index. */
    for (int t = 0; t < 200; t++) {
        tick();
        int done = 1;
        for (int i = 1; i <= N; i++)
            done &= servers[i].applied == n_commands;
        if (done)
            break;
    }

    int ok = 1;
    printf("result:\n");
    for (int i = 1; i <= N; i++) {
        struct server *s = &servers[i];
        printf("  server %d: %-9s term %ld, commit %ld, applied %d entries, last \"%s\"\n",
               s->id, raft_get_state_str(s->raft), raft_get_current_term(s->raft),
               raft_get_commit_idx(s->raft), s->applied, s->last);
        ok &= s->applied == n_commands && strcmp(s->last, commands[n_commands - 1]) == 0;
    }

    /* Drop undelivered messages (releasing their entries), then the servers. */
    while (q_len > 0) {
        drop_entries(&queue[q_head]);
        q_head = (q_head + 1) % QMAX;
        q_len--;
    }
    for (int i = 1; i <= N; i++)
        raft_destroy(servers[i].raft);

    printf(ok ? "all servers applied the same %d entries\n"
              : "servers disagree after %d entries\n", n_commands);
    return ok ? 0 : 1;
}
