/* kvserver: one node of a replicated key-value store on libraft.
 *
 * One process per node. Peers talk raft over TCP in the library's wire
 * format (raft_wire.h); clients talk a line protocol on the same port (a
 * connection whose first byte is 0 is a peer, since every frame starts with
 * a big-endian length below 16 MiB; anything else is a client). The log,
 * term and vote live in the durable store (raft_store.h); the map is
 * snapshotted to <dir>/snapshot when the log grows past a bound.
 *
 * One poll() loop drives everything: raft_periodic every 10 ms, reads and
 * writes of every socket, and group commit: auto flush is off, so the
 * leader appends client entries without syncing, asks the store for one
 * background fdatasync covering all of them, and calls raft_flush when the
 * store's sync fd says it is done.
 *
 *   kvserver --id 1 --dir data/1 \
 *            --peers 1=127.0.0.1:7001,2=127.0.0.1:7002,3=127.0.0.1:7003
 *
 * Client protocol (one command per line, one reply line per command):
 *   SET k v         OK
 *   GET k           VALUE v | NOTFOUND        (linearizable, on the leader)
 *   GETLOCAL k      VALUE v | NOTFOUND        (this node's applied state)
 *   DEL k           OK
 *   ADD-NODE id host:port      OK (added as non-voting; promoted when caught up)
 *   REMOVE-NODE id  OK
 *   TRANSFER id     OK | ERR ...              (after the transfer ends)
 *   STATUS          STATUS id=.. state=.. ...
 * A follower answers "REDIRECT <id> <host:port>" (or "ERR no leader") to
 * commands that need the leader. Errors are "ERR <reason>"; "ERR unknown
 * outcome" means a write may or may not have been applied.
 * With --enable-faults, "PARTITION id,id" drops all traffic with those
 * nodes and "HEAL" ends it (for the fault test).
 */
#include <poll.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include "kv.h"
#include "raft.h"
#include "raft_store.h"
#include "raft_wire.h"

#define MAX_NODES 64
#define MAX_FDS 8192
#define PEER_FRAME_MAX ((16u << 20) - 1)   /* keeps a frame's first byte 0 */
#define PEER_OUT_BACKPRESSURE (4u << 20)  /* skip appendentries above this */
#define PEER_OUT_LIMIT (64u << 20)        /* drop the connection above this */
#define AE_BYTES_BUDGET (2u << 20)        /* entry bytes per appendentries */
#define PERIODIC_MS 10

/* ------------------------------------------------------------ state */
typedef struct { int id; char addr[128]; } book_t;
typedef struct { int id; int voting; } member_t;

typedef struct {
    int id;
    int fd;
    int connecting;      /* non-blocking connect under way */
    kv_buf_t out;
    long long next_try;  /* ms */
    int backoff;         /* ms */
    int warned;
} peer_t;

enum { CONN_NEW, CONN_PEER, CONN_CLIENT };
typedef struct {
    int fd;
    int kind;
    unsigned gen;
    kv_buf_t in, out;
    int dead;
    int busy; /* a command awaits its reply: later lines wait (replies stay in order) */
} conn_t;

typedef struct {
    raft_index_t idx;
    raft_term_t term;
    int fd;
    unsigned gen;
} pending_t;

typedef struct read_req {
    int fd;
    unsigned gen;
    char key[];
} read_req_t;

typedef struct kv_item {
    struct kv_item *next;
    char *key, *val;
    size_t vlen;
} kv_item_t;

static struct {
    int id;
    const char *dir;
    char listen_addr[128];
    int faults;
    int verbose;
    long snap_entries;
    size_t snap_chunk;
    int election_timeout, request_timeout;

    raft_server_t *r;
    raft_store_t *st;
    int lfd;

    book_t book[MAX_NODES];
    int n_book;
    member_t boot[MAX_NODES];
    int n_boot;
    member_t members[MAX_NODES]; /* the applied configuration */
    int n_members;
    int blocked[MAX_NODES];      /* PARTITION'ed ids */
    int n_blocked;

    peer_t peers[MAX_NODES];
    int n_peers;
    conn_t *conns[MAX_FDS];
    unsigned next_gen;
    int maxfd;

    pending_t *pend;
    int n_pend, cap_pend;

    int transfer_fd;
    unsigned transfer_gen;

    kv_item_t **tab;
    size_t tab_cap, n_keys;

    char *snap;              /* current snapshot file, for sending */
    size_t snap_len;
    raft_term_t snap_term;
    raft_index_t snap_idx;
    kv_buf_t in_snap;        /* snapshot being received */
    pid_t snap_child;        /* writing a snapshot, or 0 */
    raft_term_t child_term;
    raft_index_t child_idx;

    int sync_running;
    int removed;
    int entries_added;
} S;

static void kvlog(const char *fmt, ...)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    struct tm tm;
    localtime_r(&ts.tv_sec, &tm);
    char msg[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    fprintf(stderr, "[node %d %02d:%02d:%02d.%03ld] %s\n", S.id, tm.tm_hour, tm.tm_min, tm.tm_sec,
            ts.tv_nsec / 1000000, msg);
}

static void die(const char *fmt, ...)
{
    char msg[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    kvlog("fatal: %s", msg);
    exit(1);
}

/* ------------------------------------------------------------ the map */
static unsigned long long hash_str(const char *s, size_t n)
{
    unsigned long long h = 1469598103934665603ULL;
    for (size_t i = 0; i < n; i++)
        h = (h ^ (unsigned char)s[i]) * 1099511628211ULL;
    return h;
}

static kv_item_t **map_slot(const char *key)
{
    if (!S.tab) {
        S.tab_cap = 1024;
        S.tab = calloc(S.tab_cap, sizeof *S.tab);
    }
    kv_item_t **p = &S.tab[hash_str(key, strlen(key)) & (S.tab_cap - 1)];
    while (*p && strcmp((*p)->key, key) != 0)
        p = &(*p)->next;
    return p;
}

static void map_grow(void)
{
    size_t cap = S.tab_cap * 2;
    kv_item_t **t = calloc(cap, sizeof *t);
    for (size_t i = 0; i < S.tab_cap; i++) {
        for (kv_item_t *it = S.tab[i], *nx; it; it = nx) {
            nx = it->next;
            size_t h = hash_str(it->key, strlen(it->key)) & (cap - 1);
            it->next = t[h];
            t[h] = it;
        }
    }
    free(S.tab);
    S.tab = t;
    S.tab_cap = cap;
}

static void map_set(const char *key, const char *val, size_t vlen)
{
    kv_item_t **p = map_slot(key);
    if (*p) {
        free((*p)->val);
    } else {
        *p = calloc(1, sizeof **p);
        (*p)->key = strdup(key);
        if (++S.n_keys > S.tab_cap)
            map_grow(), p = map_slot(key);
    }
    (*p)->val = malloc(vlen + 1);
    memcpy((*p)->val, val, vlen);
    (*p)->val[vlen] = 0;
    (*p)->vlen = vlen;
}

static void map_del(const char *key)
{
    kv_item_t **p = map_slot(key);
    if (*p) {
        kv_item_t *it = *p;
        *p = it->next;
        free(it->key);
        free(it->val);
        free(it);
        S.n_keys--;
    }
}

static kv_item_t *map_get(const char *key) { return *map_slot(key); }

static void map_clear(void)
{
    for (size_t i = 0; i < S.tab_cap; i++) {
        for (kv_item_t *it = S.tab[i], *nx; it; it = nx) {
            nx = it->next;
            free(it->key);
            free(it->val);
            free(it);
        }
        S.tab[i] = NULL;
    }
    S.n_keys = 0;
}

/* ------------------------------------------------------------ config */
static const char *book_get(int id)
{
    for (int i = 0; i < S.n_book; i++)
        if (S.book[i].id == id)
            return S.book[i].addr;
    return NULL;
}

static void book_set(int id, const char *addr)
{
    for (int i = 0; i < S.n_book; i++) {
        if (S.book[i].id == id) {
            snprintf(S.book[i].addr, sizeof S.book[i].addr, "%s", addr);
            return;
        }
    }
    if (S.n_book < MAX_NODES) {
        S.book[S.n_book].id = id;
        snprintf(S.book[S.n_book].addr, sizeof S.book[S.n_book].addr, "%s", addr);
        S.n_book++;
    }
}

static member_t *member_find(int id)
{
    for (int i = 0; i < S.n_members; i++)
        if (S.members[i].id == id)
            return &S.members[i];
    return NULL;
}

static void member_set(int id, int voting)
{
    member_t *m = member_find(id);
    if (m) {
        m->voting = voting;
    } else if (S.n_members < MAX_NODES) {
        S.members[S.n_members].id = id;
        S.members[S.n_members].voting = voting;
        S.n_members++;
    }
}

static void member_remove(int id)
{
    for (int i = 0; i < S.n_members; i++) {
        if (S.members[i].id == id) {
            S.members[i] = S.members[--S.n_members];
            return;
        }
    }
}

static int is_blocked(int id)
{
    for (int i = 0; i < S.n_blocked; i++)
        if (S.blocked[i] == id)
            return 1;
    return 0;
}

/* Adds raft nodes for a membership list (at start and on snapshot load);
 * this node stays a non-voting member when the list does not name it. */
static void configure_nodes(const member_t *m, int n)
{
    int self_found = 0;
    for (int i = 0; i < n; i++) {
        int is_self = m[i].id == S.id;
        self_found |= is_self;
        raft_node_t *node = raft_get_node(S.r, m[i].id);
        if (!node)
            node = m[i].voting ? raft_add_node(S.r, NULL, m[i].id, is_self)
                               : raft_add_non_voting_node(S.r, NULL, m[i].id, is_self);
        else
            raft_node_set_voting(node, m[i].voting);
        if (node) {
            raft_node_set_active(node, 1);
            raft_node_set_voting_committed(node, m[i].voting);
            raft_node_set_addition_committed(node, 1);
        }
    }
    if (!self_found && !raft_get_node(S.r, S.id))
        raft_add_non_voting_node(S.r, NULL, S.id, 1);
}

/* ------------------------------------------------------------ clients */
static void conn_close(conn_t *c)
{
    if (!c)
        return;
    S.conns[c->fd] = NULL;
    close(c->fd);
    kv_buf_free(&c->in);
    kv_buf_free(&c->out);
    free(c);
}

static void reply(int fd, unsigned gen, const char *fmt, ...)
{
    if (fd < 0 || fd >= MAX_FDS || !S.conns[fd] || S.conns[fd]->gen != gen)
        return; /* the client went away */
    conn_t *c = S.conns[fd];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    kv_buf_reserve(&c->out, (size_t)n + 2);
    va_start(ap, fmt);
    vsnprintf(c->out.d + c->out.len, (size_t)n + 1, fmt, ap);
    va_end(ap);
    c->out.len += (size_t)n;
    kv_buf_add(&c->out, "\n", 1);    c->busy = 0;
}

static void reply_value(int fd, unsigned gen, const kv_item_t *it)
{
    if (fd < 0 || fd >= MAX_FDS || !S.conns[fd] || S.conns[fd]->gen != gen)
        return;
    conn_t *c = S.conns[fd];
    c->busy = 0;
    if (!it) {
        kv_buf_add(&c->out, "NOTFOUND\n", 9);
        return;
    }
    kv_buf_add(&c->out, "VALUE ", 6);
    kv_buf_add(&c->out, it->val, it->vlen);
    kv_buf_add(&c->out, "\n", 1);
}

static void reply_not_leader(int fd, unsigned gen)
{
    int lid = raft_get_leader_id(S.r);
    const char *a = lid != RAFT_NODE_ID_NONE && lid != S.id ? book_get(lid) : NULL;
    if (a)
        reply(fd, gen, "REDIRECT %d %s", lid, a);
    else
        reply(fd, gen, "ERR no leader");
}

static void pending_add(raft_index_t idx, raft_term_t term, int fd, unsigned gen)
{
    if (S.n_pend == S.cap_pend) {
        S.cap_pend = S.cap_pend ? S.cap_pend * 2 : 64;
        S.pend = realloc(S.pend, (size_t)S.cap_pend * sizeof *S.pend);
    }
    S.pend[S.n_pend++] = (pending_t){ idx, term, fd, gen };
}

/* Entry idx (of term) was applied: answer the client waiting for it. */
static void pending_applied(raft_index_t idx, raft_term_t term)
{
    for (int i = 0; i < S.n_pend; i++) {
        if (S.pend[i].idx != idx)
            continue;
        if (S.pend[i].term == term)
            reply(S.pend[i].fd, S.pend[i].gen, "OK");
        else
            reply(S.pend[i].fd, S.pend[i].gen, "ERR not committed: leadership changed, retry");
        S.pend[i--] = S.pend[--S.n_pend];
    }
}

/* The log jumped (a snapshot was loaded): outcomes at or below idx are
 * unknown to this node. */
static void pending_unknown_upto(raft_index_t idx)
{
    for (int i = 0; i < S.n_pend; i++) {
        if (S.pend[i].idx <= idx) {
            reply(S.pend[i].fd, S.pend[i].gen, "ERR unknown outcome");
            S.pend[i--] = S.pend[--S.n_pend];
        }
    }
}

static void propose(int fd, unsigned gen, int type, const void *data, size_t len)
{
    if (!raft_is_leader(S.r)) {
        reply_not_leader(fd, gen);
        return;
    }
    raft_entry_t *e = raft_entry_new((unsigned)len);
    if (!e) {
        reply(fd, gen, "ERR out of memory");
        return;
    }
    memcpy(e->data, data, len);
    e->type = (short)type;
    e->id = rand();
    raft_entry_resp_t resp;
    int rc = raft_recv_entry(S.r, e, &resp);
    raft_entry_release(e);
    if (rc == RAFT_ERR_NOT_LEADER) {
        reply_not_leader(fd, gen);
        return;
    }
    if (rc != 0) {
        reply(fd, gen, "ERR %s", raft_get_error_str(rc));
        return;
    }
    pending_add(resp.idx, resp.term, fd, gen);
    S.entries_added = 1;
}

static void read_done(void *arg, int can_read)
{
    read_req_t *q = arg;
    if (can_read)
        reply_value(q->fd, q->gen, map_get(q->key));
    else
        reply_not_leader(q->fd, q->gen);
    free(q);
}

static int parse_id(const char *s, int *out)
{
    char *end;
    long v = strtol(s, &end, 10);
    if (!*s || *end || v <= 0 || v > 1000000)
        return -1;
    *out = (int)v;
    return 0;
}

static void status(int fd, unsigned gen)
{
    kv_buf_t b = { 0 };
    kv_buf_printf(&b, "STATUS id=%d state=%s term=%ld leader=%d commit=%ld applied=%ld last=%ld snapshot=%ld keys=%zu fsyncs=%lu nodes=",
                  S.id, raft_get_state_str(S.r), raft_get_current_term(S.r), raft_get_leader_id(S.r),
                  raft_get_commit_idx(S.r), raft_get_last_applied_idx(S.r), raft_get_current_idx(S.r),
                  raft_get_snapshot_last_idx(S.r), S.n_keys, raft_store_fsync_count(S.st));
    for (int i = 0; i < raft_get_num_nodes(S.r); i++) {
        raft_node_t *n = raft_get_node_from_idx(S.r, i);
        if (!n)
            continue;
        kv_buf_printf(&b, "%s%d:%s", i ? "," : "", raft_node_get_id(n),
                      !raft_node_is_active(n) ? "removing" : raft_node_is_voting(n) ? "voter" : "nonvoter");
    }
    kv_buf_add(&b, "", 1);
    reply(fd, gen, "%s", b.d);
    kv_buf_free(&b);
}

static void client_command(conn_t *c, char *line)
{
    int fd = c->fd;
    unsigned gen = c->gen;
    char *cmd = line, *rest = strchr(line, ' ');
    if (rest)
        *rest++ = 0;
    else
        rest = line + strlen(line);
    for (char *p = cmd; *p; p++)
        if (*p >= 'a' && *p <= 'z')
            *p = (char)(*p - 32);

    if (!strcmp(cmd, "SET")) {
        char *val = strchr(rest, ' ');
        if (!val || val == rest) {
            reply(fd, gen, "ERR usage: SET key value");
            return;
        }
        *val++ = 0;
        size_t klen = strlen(rest), vlen = strlen(val);
        if (klen > KV_MAX_KEY) {
            reply(fd, gen, "ERR key too large");
            return;
        }
        if (vlen > KV_MAX_VALUE) {
            reply(fd, gen, "ERR value too large (limit %d bytes)", KV_MAX_VALUE);
            return;
        }
        /* entry data: 'S', key, NUL, value */
        size_t len = 1 + klen + 1 + vlen;
        char *d = malloc(len);
        d[0] = 'S';
        memcpy(d + 1, rest, klen + 1);
        memcpy(d + 2 + klen, val, vlen);
        propose(fd, gen, RAFT_LOGTYPE_NORMAL, d, len);
        free(d);
    } else if (!strcmp(cmd, "DEL")) {
        if (!*rest || strchr(rest, ' ') || strlen(rest) > KV_MAX_KEY) {
            reply(fd, gen, "ERR usage: DEL key");
            return;
        }
        size_t klen = strlen(rest);
        char *d = malloc(klen + 2);
        d[0] = 'D';
        memcpy(d + 1, rest, klen + 1);
        propose(fd, gen, RAFT_LOGTYPE_NORMAL, d, klen + 2);
        free(d);
    } else if (!strcmp(cmd, "GET")) {
        if (!*rest || strchr(rest, ' ') || strlen(rest) > KV_MAX_KEY) {
            reply(fd, gen, "ERR usage: GET key");
            return;
        }
        if (!raft_is_leader(S.r)) {
            reply_not_leader(fd, gen);
            return;
        }
        read_req_t *q = malloc(sizeof *q + strlen(rest) + 1);
        q->fd = fd;
        q->gen = gen;
        strcpy(q->key, rest);
        int rc = raft_recv_read_request(S.r, read_done, q);
        if (rc != 0) {
            free(q);
            if (rc == RAFT_ERR_NOT_LEADER)
                reply_not_leader(fd, gen);
            else
                reply(fd, gen, "ERR %s", raft_get_error_str(rc));
        }
    } else if (!strcmp(cmd, "GETLOCAL")) {
        reply_value(fd, gen, *rest ? map_get(rest) : NULL);
    } else if (!strcmp(cmd, "ADD-NODE")) {
        char *addr = strchr(rest, ' ');
        int id;
        struct sockaddr_in sa;
        if (!addr || (*addr++ = 0, parse_id(rest, &id) != 0) || kv_parse_addr(addr, &sa) != 0) {
            reply(fd, gen, "ERR usage: ADD-NODE id host:port");
            return;
        }
        if (raft_is_leader(S.r) && raft_get_node(S.r, id)) {
            reply(fd, gen, "ERR node %d is already a member", id);
            return;
        }
        char d[200];
        int len = snprintf(d, sizeof d, "%d %s", id, addr);
        propose(fd, gen, RAFT_LOGTYPE_ADD_NONVOTING_NODE, d, (size_t)len);
    } else if (!strcmp(cmd, "REMOVE-NODE")) {
        int id;
        if (parse_id(rest, &id) != 0) {
            reply(fd, gen, "ERR usage: REMOVE-NODE id");
            return;
        }
        if (raft_is_leader(S.r) && !raft_get_node(S.r, id)) {
            reply(fd, gen, "ERR unknown node %d", id);
            return;
        }
        char d[200];
        const char *a = book_get(id);
        int len = snprintf(d, sizeof d, "%d %s", id, a ? a : "-");
        propose(fd, gen, RAFT_LOGTYPE_REMOVE_NODE, d, (size_t)len);
    } else if (!strcmp(cmd, "TRANSFER")) {
        int id;
        if (parse_id(rest, &id) != 0) {
            reply(fd, gen, "ERR usage: TRANSFER id");
            return;
        }
        if (!raft_is_leader(S.r)) {
            reply_not_leader(fd, gen);
            return;
        }
        int rc = raft_transfer_leader(S.r, id, 0);
        if (rc != 0) {
            reply(fd, gen, "ERR %s", raft_get_error_str(rc));
            return;
        }
        S.transfer_fd = fd;
        S.transfer_gen = gen;
    } else if (!strcmp(cmd, "STATUS")) {
        status(fd, gen);
    } else if (!strcmp(cmd, "PING")) {
        reply(fd, gen, "PONG");
    } else if (S.faults && !strcmp(cmd, "PARTITION")) {
        S.n_blocked = 0;
        for (char *t = strtok(rest, ","); t && S.n_blocked < MAX_NODES; t = strtok(NULL, ","))
            S.blocked[S.n_blocked++] = atoi(t);
        /* close what exists, so that in-flight bytes are lost too */
        for (int i = 0; i < S.n_peers; i++) {
            if (is_blocked(S.peers[i].id) && S.peers[i].fd >= 0) {
                close(S.peers[i].fd);
                S.peers[i].fd = -1;
                kv_buf_free(&S.peers[i].out);
            }
        }
        reply(fd, gen, "OK");
    } else if (S.faults && !strcmp(cmd, "HEAL")) {
        S.n_blocked = 0;
        reply(fd, gen, "OK");
    } else {
        reply(fd, gen, "ERR unknown command");
    }
}

/* ------------------------------------------------------------ peers */
static peer_t *peer_get(int id)
{
    for (int i = 0; i < S.n_peers; i++)
        if (S.peers[i].id == id)
            return &S.peers[i];
    if (S.n_peers == MAX_NODES)
        return NULL;
    peer_t *p = &S.peers[S.n_peers++];
    memset(p, 0, sizeof *p);
    p->id = id;
    p->fd = -1;
    p->backoff = 50;
    return p;
}

static void peer_drop(peer_t *p, const char *why)
{
    if (p->fd >= 0) {
        if (S.verbose || !p->connecting)
            kvlog("connection to node %d lost (%s)", p->id, why);
        close(p->fd);
    }
    p->fd = -1;
    p->connecting = 0;
    p->out.len = p->out.off = 0;
    p->next_try = kv_now_ms() + p->backoff;
    p->backoff = p->backoff * 2 > 2000 ? 2000 : p->backoff * 2;
}

static void peer_connect(peer_t *p)
{
    const char *a = book_get(p->id);
    struct sockaddr_in sa;
    if (!a || kv_parse_addr(a, &sa) != 0) {
        if (!p->warned)
            kvlog("no address for node %d", p->id);
        p->warned = 1;
        p->next_try = kv_now_ms() + 1000;
        return;
    }
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    if (fd < 0 || fd >= MAX_FDS) {
        if (fd >= 0)
            close(fd);
        p->next_try = kv_now_ms() + p->backoff;
        return;
    }
    kv_set_nonblock(fd);
    kv_nodelay(fd);
    p->fd = fd;
    p->out.len = p->out.off = 0;
    if (connect(fd, (struct sockaddr *)&sa, sizeof sa) == 0) {
        p->connecting = 0;
    } else if (errno == EINPROGRESS) {
        p->connecting = 1;
    } else {
        peer_drop(p, strerror(errno));
    }
}

static void peer_flush(peer_t *p)
{
    while (p->fd >= 0 && !p->connecting && kv_buf_pending(&p->out)) {
        ssize_t n = send(p->fd, p->out.d + p->out.off, kv_buf_pending(&p->out), MSG_NOSIGNAL);
        if (n > 0) {
            p->out.off += (size_t)n;
        } else if (n < 0 && (errno == EAGAIN || errno == EINTR)) {
            return;
        } else {
            peer_drop(p, n == 0 ? "closed" : strerror(errno));
        }
    }
}

/* Queues one frame to node `to`; dropped when there is no connection
 * (raft retransmits). */
static void send_msg(int to, raft_wire_msg_t *m)
{
    if (is_blocked(to) || to == S.id)
        return;
    peer_t *p = peer_get(to);
    if (!p)
        return;
    if (p->fd < 0) {
        if (kv_now_ms() >= p->next_try)
            peer_connect(p);
        if (p->fd < 0)
            return;
    }
    if (p->connecting)
        return;
    m->from = S.id;
    m->to = to;
    size_t need = raft_wire_encoded_size(m), n = 0;
    if (need == 0 || need > PEER_FRAME_MAX) {
        kvlog("cannot encode a message of type %d for node %d", m->type, to);
        return;
    }
    kv_buf_reserve(&p->out, need);
    int rc = raft_wire_encode(m, p->out.d + p->out.len, p->out.cap - p->out.len, &n);
    if (rc != 0) {
        kvlog("encode: %s", raft_wire_strerror(rc));
        return;
    }
    p->out.len += n;
    if (kv_buf_pending(&p->out) > PEER_OUT_LIMIT)
        peer_drop(p, "output backlog over the limit");
}

static int cb_send_requestvote(raft_server_t *r, void *ud, raft_node_t *node, raft_requestvote_req_t *msg)
{
    (void)r, (void)ud;
    raft_wire_msg_t m = { .type = RAFT_WIRE_REQUESTVOTE };
    m.u.requestvote = *msg;
    send_msg(raft_node_get_id(node), &m);
    return 0;
}

static int cb_send_appendentries(raft_server_t *r, void *ud, raft_node_t *node, raft_appendentries_req_t *msg)
{
    (void)r, (void)ud;
    raft_wire_msg_t m = { .type = RAFT_WIRE_APPENDENTRIES };
    m.u.appendentries = *msg;
    send_msg(raft_node_get_id(node), &m);
    return 0;
}

static int cb_send_snapshot(raft_server_t *r, void *ud, raft_node_t *node, raft_snapshot_req_t *msg)
{
    (void)r, (void)ud;
    raft_wire_msg_t m = { .type = RAFT_WIRE_SNAPSHOT };
    m.u.snapshot = *msg;
    send_msg(raft_node_get_id(node), &m);
    return 0;
}

static int cb_send_timeoutnow(raft_server_t *r, void *ud, raft_node_t *node)
{
    (void)r, (void)ud;
    raft_wire_msg_t m = { .type = RAFT_WIRE_TIMEOUTNOW };
    send_msg(raft_node_get_id(node), &m);
    return 0;
}

static int cb_backpressure(raft_server_t *r, void *ud, raft_node_t *node)
{
    (void)r, (void)ud;
    peer_t *p = peer_get(raft_node_get_id(node));
    return p && kv_buf_pending(&p->out) > PEER_OUT_BACKPRESSURE;
}

/* Bounds the bytes of one appendentries (a frame must stay under 16 MiB). */
static raft_index_t cb_get_entries_to_send(raft_server_t *r, void *ud, raft_node_t *node, raft_index_t idx,
                                           raft_index_t n, raft_entry_t **entries)
{
    (void)ud, (void)node;
    size_t bytes = 0;
    raft_index_t got = 0;
    while (got < n && bytes < AE_BYTES_BUDGET) {
        raft_entry_t *e = raft_get_entry_from_idx(r, idx + got);
        if (!e)
            break;
        bytes += e->data_len + 32;
        entries[got++] = e;
    }
    return got;
}

/* A frame from a peer. */
static int peer_frame(raft_wire_msg_t *m)
{
    if (m->to != S.id) {
        kvlog("frame for node %d arrived at node %d: closing the connection", m->to, S.id);
        return -1;
    }
    if (is_blocked(m->from))
        return 0;
    raft_node_t *node = raft_get_node(S.r, m->from);
    if (!node && !book_get(m->from)) {
        /* Neither a member nor a configured peer: a node joining the cluster
         * accepts appendentries from a leader it does not know yet, but
         * only from an address-book entry. */
        kvlog("frame from unknown node id %d: closing the connection", m->from);
        return -1;
    }
    raft_wire_msg_t out = { 0 };
    int rc = 0;
    switch (m->type) {
    case RAFT_WIRE_REQUESTVOTE:
        if (!node)
            break; /* not a member: no vote */
        out.type = RAFT_WIRE_REQUESTVOTE_RESP;
        rc = raft_recv_requestvote(S.r, node, &m->u.requestvote, &out.u.requestvote_resp);
        if (rc == 0)
            send_msg(m->from, &out);
        break;
    case RAFT_WIRE_REQUESTVOTE_RESP:
        if (node)
            rc = raft_recv_requestvote_response(S.r, node, &m->u.requestvote_resp);
        break;
    case RAFT_WIRE_APPENDENTRIES:
        /* node may be NULL: a leader that this (new) node does not know yet */
        out.type = RAFT_WIRE_APPENDENTRIES_RESP;
        rc = raft_recv_appendentries(S.r, node, &m->u.appendentries, &out.u.appendentries_resp);
        raft_wire_msg_release(m);
        if (rc == 0)
            send_msg(m->from, &out);
        break;
    case RAFT_WIRE_APPENDENTRIES_RESP:
        if (node)
            rc = raft_recv_appendentries_response(S.r, node, &m->u.appendentries_resp);
        break;
    case RAFT_WIRE_SNAPSHOT:
        out.type = RAFT_WIRE_SNAPSHOT_RESP;
        rc = raft_recv_snapshot(S.r, node, &m->u.snapshot, &out.u.snapshot_resp);
        if (rc == 0)
            send_msg(m->from, &out);
        break;
    case RAFT_WIRE_SNAPSHOT_RESP:
        if (node)
            rc = raft_recv_snapshot_response(S.r, node, &m->u.snapshot_resp);
        break;
    case RAFT_WIRE_TIMEOUTNOW:
        if (node && raft_get_leader_id(S.r) == m->from)
            rc = raft_timeout_now(S.r);
        break;
    }
    if (rc == RAFT_ERR_SHUTDOWN)
        die("raft asked to shut down (message type %d from node %d)", m->type, m->from);
    if (rc != 0 && S.verbose)
        kvlog("message type %d from node %d: %s", m->type, m->from, raft_get_error_str(rc));
    return 0;
}

/* ------------------------------------------------------------ snapshots */
static void put32(kv_buf_t *b, unsigned v)
{
    unsigned char x[4] = { (unsigned char)(v >> 24), (unsigned char)(v >> 16), (unsigned char)(v >> 8),
                           (unsigned char)v };
    kv_buf_add(b, x, 4);
}

static void put64(kv_buf_t *b, unsigned long long v)
{
    put32(b, (unsigned)(v >> 32));
    put32(b, (unsigned)v);
}

typedef struct { const unsigned char *p; size_t len, off; int bad; } rd_t;

static unsigned long long get_n(rd_t *r, int n)
{
    unsigned long long v = 0;
    if (r->off + (size_t)n > r->len) {
        r->bad = 1;
        return 0;
    }
    for (int i = 0; i < n; i++)
        v = (v << 8) | r->p[r->off++];
    return v;
}

static const unsigned char *get_bytes(rd_t *r, size_t n)
{
    if (n > r->len - r->off) {
        r->bad = 1;
        return NULL;
    }
    r->off += n;
    return r->p + r->off - n;
}

/* Snapshot image: "KVSNAP1\n", term, index, members (id, voting, address),
 * keys and values, FNV-1a of everything before it. */
static void snap_build(kv_buf_t *b, raft_term_t term, raft_index_t idx)
{
    kv_buf_add(b, "KVSNAP1\n", 8);
    put64(b, (unsigned long long)term);
    put64(b, (unsigned long long)idx);
    put32(b, (unsigned)S.n_members);
    for (int i = 0; i < S.n_members; i++) {
        const char *a = book_get(S.members[i].id);
        a = a ? a : "";
        put32(b, (unsigned)S.members[i].id);
        put32(b, (unsigned)S.members[i].voting);
        put32(b, (unsigned)strlen(a));
        kv_buf_add(b, a, strlen(a));
    }
    put64(b, S.n_keys);
    for (size_t i = 0; i < S.tab_cap; i++) {
        for (kv_item_t *it = S.tab[i]; it; it = it->next) {
            put32(b, (unsigned)strlen(it->key));
            kv_buf_add(b, it->key, strlen(it->key));
            put32(b, (unsigned)it->vlen);
            kv_buf_add(b, it->val, it->vlen);
        }
    }
    put64(b, hash_str(b->d, b->len));
}

/* Parses an image; with apply, replaces the map, members and addresses. */
static int snap_parse(const char *d, size_t len, raft_term_t *term, raft_index_t *idx, int apply)
{
    if (len < 8 + 16 + 8 || memcmp(d, "KVSNAP1\n", 8) != 0)
        return -1;
    rd_t r = { (const unsigned char *)d, len - 8, 8, 0 };
    rd_t h = { (const unsigned char *)d, len, len - 8, 0 };
    if (get_n(&h, 8) != hash_str(d, len - 8))
        return -1;
    *term = (raft_term_t)get_n(&r, 8);
    *idx = (raft_index_t)get_n(&r, 8);
    unsigned nm = (unsigned)get_n(&r, 4);
    if (nm > MAX_NODES || r.bad)
        return -1;
    member_t m[MAX_NODES];
    char addrs[MAX_NODES][128];
    for (unsigned i = 0; i < nm; i++) {
        m[i].id = (int)get_n(&r, 4);
        m[i].voting = (int)get_n(&r, 4);
        size_t al = (size_t)get_n(&r, 4);
        const unsigned char *a = get_bytes(&r, al);
        if (r.bad || al >= 128)
            return -1;
        memcpy(addrs[i], a, al);
        addrs[i][al] = 0;
    }
    if (!apply)
        return 0;
    map_clear();
    unsigned long long nk = get_n(&r, 8);
    for (unsigned long long i = 0; i < nk && !r.bad; i++) {
        size_t kl = (size_t)get_n(&r, 4);
        const unsigned char *k = get_bytes(&r, kl);
        size_t vl = (size_t)get_n(&r, 4);
        const unsigned char *v = get_bytes(&r, vl);
        if (r.bad)
            break;
        char *key = malloc(kl + 1);
        memcpy(key, k, kl);
        key[kl] = 0;
        map_set(key, (const char *)v, vl);
        free(key);
    }
    if (r.bad)
        return -1;
    S.n_members = 0;
    for (unsigned i = 0; i < nm; i++) {
        member_set(m[i].id, m[i].voting);
        if (addrs[i][0])
            book_set(m[i].id, addrs[i]);
    }
    return 0;
}

static int write_file_durably(const char *name, const void *d, size_t len)
{
    char path[4096], tmp[4200];
    snprintf(path, sizeof path, "%s/%s", S.dir, name);
    snprintf(tmp, sizeof tmp, "%s.tmp", path);
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (fd < 0)
        return -1;
    size_t off = 0;
    while (off < len) {
        ssize_t n = write(fd, (const char *)d + off, len - off);
        if (n <= 0) {
            close(fd);
            return -1;
        }
        off += (size_t)n;
    }
    if (fsync(fd) != 0 || close(fd) != 0 || rename(tmp, path) != 0)
        return -1;
    int dfd = open(S.dir, O_RDONLY);
    if (dfd >= 0) {
        fsync(dfd);
        close(dfd);
    }
    return 0;
}

static char *read_file(const char *name, size_t *len)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/%s", S.dir, name);
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    kv_buf_t b = { 0 };
    char tmp[65536];
    size_t n;
    while ((n = fread(tmp, 1, sizeof tmp, f)) > 0)
        kv_buf_add(&b, tmp, n);
    fclose(f);
    *len = b.len;
    if (!b.d)
        b.d = calloc(1, 1);
    return b.d;
}

/* Snapshots are written by a forked child from its copy-on-write image of
 * the map (as Redis does), so the loop keeps serving while a large map goes
 * to disk; applies continue meanwhile (RAFT_CONFIG_NONBLOCKING_APPLY) and
 * raft_end_snapshot compacts the log once the child has made the file
 * durable. */
static void take_snapshot(void)
{
    if (S.snap_child > 0 || raft_snapshot_is_in_progress(S.r) || raft_begin_snapshot(S.r) != 0)
        return;
    raft_index_t idx = raft_get_last_applied_idx(S.r);
    raft_term_t term = raft_get_last_applied_term(S.r);
    fflush(stderr);
    pid_t pid = fork();
    if (pid == 0) {
        prctl(PR_SET_PDEATHSIG, SIGKILL); /* dies with its parent: no orphan holds the lock */
        if (getppid() == 1)
            _exit(1);
        kv_buf_t b = { 0 };
        snap_build(&b, term, idx);
        _exit(write_file_durably("snapshot", b.d, b.len) == 0 ? 0 : 1);
    }
    if (pid < 0) {
        kvlog("fork for the snapshot failed: %s", strerror(errno));
        raft_cancel_snapshot(S.r);
        return;
    }
    S.snap_child = pid;
    S.child_term = term;
    S.child_idx = idx;
}

/* Called from the loop: finishes the snapshot once the child is done. */
static void snapshot_reap(void)
{
    int st;
    if (S.snap_child <= 0 || waitpid(S.snap_child, &st, WNOHANG) != S.snap_child)
        return;
    S.snap_child = 0;
    if (!WIFEXITED(st) || WEXITSTATUS(st) != 0) {
        kvlog("writing the snapshot at index %ld failed", S.child_idx);
        raft_cancel_snapshot(S.r);
        return;
    }
    int rc = raft_end_snapshot(S.r);
    if (rc != 0) {
        kvlog("raft_end_snapshot: %s", raft_get_error_str(rc));
        return;
    }
    size_t len = 0;
    char *img = read_file("snapshot", &len);
    if (img) {
        free(S.snap);
        S.snap = img;
        S.snap_len = len;
        S.snap_term = S.child_term;
        S.snap_idx = S.child_idx;
    }
    kvlog("snapshot at index %ld (%zu bytes); log compacted", S.child_idx, len);
}

static int cb_get_snapshot_chunk(raft_server_t *r, void *ud, raft_node_t *node, raft_size_t offset,
                                 raft_snapshot_chunk_t *chunk)
{
    (void)r, (void)ud;
    peer_t *p = peer_get(raft_node_get_id(node));
    if (p && kv_buf_pending(&p->out) > PEER_OUT_BACKPRESSURE)
        return RAFT_ERR_DONE;
    if (!S.snap || offset > S.snap_len)
        return -1;
    size_t left = S.snap_len - (size_t)offset;
    chunk->data = S.snap + offset;
    chunk->len = left < S.snap_chunk ? left : S.snap_chunk;
    chunk->last_chunk = chunk->len == left;
    return 0;
}

static int cb_store_snapshot_chunk(raft_server_t *r, void *ud, raft_index_t snapshot_index, raft_size_t offset,
                                   raft_snapshot_chunk_t *chunk)
{
    (void)r, (void)ud, (void)snapshot_index;
    if (offset == 0)
        S.in_snap.len = S.in_snap.off = 0;
    if (offset != S.in_snap.len)
        return -1;
    kv_buf_add(&S.in_snap, chunk->data, (size_t)chunk->len);
    return 0;
}

static int cb_clear_snapshot(raft_server_t *r, void *ud)
{
    (void)r, (void)ud;
    S.in_snap.len = S.in_snap.off = 0;
    return 0;
}

static int cb_load_snapshot(raft_server_t *r, void *ud, raft_term_t term, raft_index_t idx)
{
    (void)ud;
    raft_term_t t;
    raft_index_t i;
    if (S.snap_child > 0)
        return -1; /* our own snapshot is being written: the leader retries */
    if (snap_parse(S.in_snap.d, S.in_snap.len, &t, &i, 0) != 0 || t != term || i != idx) {
        kvlog("received snapshot at index %ld does not verify", idx);
        return -1;
    }
    if (write_file_durably("snapshot", S.in_snap.d, S.in_snap.len) != 0) {
        kvlog("storing the received snapshot failed: %s", strerror(errno));
        return -1;
    }
    int rc = raft_begin_load_snapshot(r, term, idx);
    if (rc == RAFT_ERR_SNAPSHOT_ALREADY_LOADED)
        return 0;
    if (rc != 0)
        return -1;
    snap_parse(S.in_snap.d, S.in_snap.len, &t, &i, 1);
    configure_nodes(S.members, S.n_members);
    rc = raft_end_load_snapshot(r);
    free(S.snap);
    S.snap = malloc(S.in_snap.len);
    memcpy(S.snap, S.in_snap.d, S.in_snap.len);
    S.snap_len = S.in_snap.len;
    S.snap_term = term;
    S.snap_idx = idx;
    pending_unknown_upto(idx);
    kvlog("loaded a snapshot at index %ld from the leader (%zu keys)", idx, S.n_keys);
    return rc == 0 ? 0 : -1;
}

/* ------------------------------------------------------------ raft callbacks */
/* Config entry data: "<id> <host:port>". */
static int cfg_parse(const raft_entry_t *e, int *id, char *addr, size_t cap)
{
    char tmp[256];
    size_t n = e->data_len < sizeof tmp - 1 ? e->data_len : sizeof tmp - 1;
    memcpy(tmp, e->data, n);
    tmp[n] = 0;
    char a[200] = "";
    if (sscanf(tmp, "%d %199s", id, a) < 1)
        return -1;
    snprintf(addr, cap, "%s", a);
    return 0;
}

static int cb_applylog(raft_server_t *r, void *ud, raft_entry_t *e, raft_index_t idx)
{
    (void)r, (void)ud;
    int id;
    char addr[200];
    switch (e->type) {
    case RAFT_LOGTYPE_NORMAL:
        if (e->data_len >= 2) {
            const char *key = e->data + 1;
            size_t klen = strnlen(key, e->data_len - 1);
            if (klen < e->data_len - 1) {
                if (e->data[0] == 'S')
                    map_set(key, key + klen + 1, e->data_len - 2 - klen);
                else if (e->data[0] == 'D')
                    map_del(key);
            }
        }
        break;
    case RAFT_LOGTYPE_ADD_NONVOTING_NODE:
    case RAFT_LOGTYPE_ADD_NODE:
        if (cfg_parse(e, &id, addr, sizeof addr) == 0) {
            if (addr[0] && strcmp(addr, "-"))
                book_set(id, addr);
            member_set(id, e->type == RAFT_LOGTYPE_ADD_NODE);
            kvlog("node %d is now a %s member", id, e->type == RAFT_LOGTYPE_ADD_NODE ? "voting" : "non-voting");
        }
        break;
    case RAFT_LOGTYPE_REMOVE_NODE:
        if (cfg_parse(e, &id, addr, sizeof addr) == 0) {
            member_remove(id);
            kvlog("node %d was removed from the cluster", id);
            if (id == S.id)
                S.removed = 1;
        }
        break;
    default:
        break;
    }
    pending_applied(idx, e->term);
    return 0;
}

static raft_node_id_t cb_get_node_id(raft_server_t *r, void *ud, raft_entry_t *e, raft_index_t idx)
{
    (void)r, (void)ud, (void)idx;
    int id;
    char addr[200];
    return cfg_parse(e, &id, addr, sizeof addr) == 0 ? id : RAFT_NODE_ID_NONE;
}

static void cb_membership(raft_server_t *r, void *ud, raft_node_t *node, raft_entry_t *e, raft_membership_e t)
{
    (void)r, (void)ud, (void)node;
    int id;
    char addr[200];
    /* learn the new node's address when its entry is appended */
    if (t == RAFT_MEMBERSHIP_ADD && e && cfg_parse(e, &id, addr, sizeof addr) == 0 && addr[0] &&
        strcmp(addr, "-") && !book_get(id))
        book_set(id, addr);
}

static int cb_sufficient_logs(raft_server_t *r, void *ud, raft_node_t *node)
{
    (void)ud;
    int id = raft_node_get_id(node);
    const char *a = book_get(id);
    char d[200];
    int len = snprintf(d, sizeof d, "%d %s", id, a ? a : "-");
    raft_entry_t *e = raft_entry_new((unsigned)len);
    memcpy(e->data, d, (size_t)len);
    e->type = RAFT_LOGTYPE_ADD_NODE;
    e->id = rand();
    raft_entry_resp_t resp;
    int rc = raft_recv_entry(r, e, &resp);
    raft_entry_release(e);
    kvlog("node %d has caught up: %s", id, rc == 0 ? "promoting it to voter" : raft_get_error_str(rc));
    S.entries_added = 1;
    return rc == 0 ? 0 : -1;
}

static void cb_state(raft_server_t *r, void *ud, raft_state_e state)
{
    (void)ud;
    if (state == RAFT_STATE_LEADER)
        kvlog("became leader in term %ld", raft_get_current_term(r));
    else if (state == RAFT_STATE_FOLLOWER && S.verbose)
        kvlog("follower in term %ld", raft_get_current_term(r));
}

static void cb_transfer(raft_server_t *r, void *ud, raft_leader_transfer_e result)
{
    (void)r, (void)ud;
    const char *what = result == RAFT_LEADER_TRANSFER_EXPECTED_LEADER ? "OK"
                       : result == RAFT_LEADER_TRANSFER_UNEXPECTED_LEADER ? "ERR another node became leader"
                                                                           : "ERR transfer timed out";
    kvlog("leadership transfer: %s", what);
    reply(S.transfer_fd, S.transfer_gen, "%s", what);
    S.transfer_fd = -1;
}

static void cb_log(raft_server_t *r, raft_node_id_t node, void *ud, const char *buf)
{
    (void)r, (void)ud;
    kvlog("raft (%d): %s", node, buf);
}

/* ------------------------------------------------------------ connections */
/* Runs the complete lines a client has sent, one at a time: a command
 * that waits for raft (a write, a read, a transfer) holds back the next
 * one, so a client that pipelines gets its replies in order. */
static void client_lines(conn_t *c)
{
    while (!c->dead && !c->busy) {
        char *start = c->in.d + c->in.off;
        size_t avail = kv_buf_pending(&c->in);
        char *nl = avail ? memchr(start, '\n', avail) : NULL;
        if (!nl) {
            if (avail > KV_MAX_LINE) {
                reply(c->fd, c->gen, "ERR line too long");
                c->dead = 2; /* write the error, then close */
            }
            break;
        }
        *nl = 0;
        if (nl > start && nl[-1] == '\r')
            nl[-1] = 0;
        c->in.off += (size_t)(nl - start) + 1;
        if (memchr(start, 0, (size_t)(nl - start))) {
            reply(c->fd, c->gen, "ERR NUL byte in command");
            continue;
        }
        if (*start) {
            c->busy = 1; /* cleared by its reply */
            client_command(c, start);
        }
    }
}

static void conn_read(conn_t *c)
{
    char tmp[65536];
    for (;;) {
        ssize_t n = recv(c->fd, tmp, sizeof tmp, 0);
        if (n > 0) {
            kv_buf_add(&c->in, tmp, (size_t)n);
            if ((size_t)n < sizeof tmp)
                break;
            continue;
        }
        if (n < 0 && (errno == EAGAIN || errno == EINTR))
            break;
        c->dead = 1; /* closed (a partial command is dropped) or failed */
        break;
    }
    if (c->kind == CONN_NEW && kv_buf_pending(&c->in) > 0)
        c->kind = c->in.d[c->in.off] == 0 ? CONN_PEER : CONN_CLIENT;
    if (c->kind == CONN_PEER) {
        while (!c->dead && kv_buf_pending(&c->in) > 0) {
            raft_wire_msg_t m;
            size_t used = 0;
            int rc = raft_wire_decode(c->in.d + c->in.off, kv_buf_pending(&c->in), PEER_FRAME_MAX, &m, &used);
            if (rc == RAFT_WIRE_ERR_TRUNCATED)
                break;
            if (rc != 0) {
                kvlog("bad frame from a peer (%s): closing the connection", raft_wire_strerror(rc));
                c->dead = 1;
                break;
            }
            if (peer_frame(&m) != 0)
                c->dead = 1;
            raft_wire_msg_release(&m);
            c->in.off += used;
        }
    } else if (c->kind == CONN_CLIENT) {
        client_lines(c);
    }
}

static void conn_flush(conn_t *c)
{
    while (kv_buf_pending(&c->out)) {
        ssize_t n = send(c->fd, c->out.d + c->out.off, kv_buf_pending(&c->out), MSG_NOSIGNAL);
        if (n > 0) {
            c->out.off += (size_t)n;
        } else {
            if (n < 0 && (errno == EAGAIN || errno == EINTR))
                return;
            c->dead = 1;
            return;
        }
    }
}

static void accept_all(void)
{
    for (;;) {
        int fd = accept(S.lfd, NULL, NULL);
        if (fd < 0)
            return;
        if (fd >= MAX_FDS) {
            close(fd);
            continue;
        }
        kv_set_nonblock(fd);
        kv_nodelay(fd);
        conn_t *c = calloc(1, sizeof *c);
        c->fd = fd;
        c->gen = ++S.next_gen;
        S.conns[fd] = c;
        if (fd > S.maxfd)
            S.maxfd = fd;
    }
}

/* ------------------------------------------------------------ start */
/* "id=host:port,..." or "@file" with one id=host:port per line (blank
 * lines and #-comments allowed). */
static void parse_peers(const char *s)
{
    char *copy;
    if (s[0] == '@') {
        FILE *f = fopen(s + 1, "r");
        if (!f)
            die("cannot read %s: %s", s + 1, strerror(errno));
        kv_buf_t b = { 0 };
        char line[512];
        while (fgets(line, sizeof line, f)) {
            line[strcspn(line, "#\r\n")] = 0;
            char *t = line + strspn(line, " \t");
            t[strcspn(t, " \t")] = 0;
            if (*t)
                kv_buf_printf(&b, "%s%s", b.len ? "," : "", t);
        }
        fclose(f);
        kv_buf_add(&b, "", 1);
        copy = b.d;
    } else {
        copy = strdup(s);
    }
    for (char *t = strtok(copy, ","); t; t = strtok(NULL, ",")) {
        char *eq = strchr(t, '=');
        int id;
        struct sockaddr_in sa;
        if (!eq || (*eq = 0, parse_id(t, &id) != 0) || kv_parse_addr(eq + 1, &sa) != 0)
            die("bad --peers element '%s' (want id=host:port)", t);
        book_set(id, eq + 1);
    }
    free(copy);
}

static void usage(void)
{
    fprintf(stderr,
            "usage: kvserver --id N --dir DIR --peers ID=HOST:PORT,...|@FILE [options]\n"
            "  --peers @FILE          the same, one ID=HOST:PORT per line (# comments)\n"
            "  --bootstrap ID,...     initial voters (default: every node in --peers,\n"
            "                         or every other node with --join)\n"
            "  --join                 start outside the initial membership; wait to be added\n"
            "  --listen HOST:PORT     address to listen on (default: this node's --peers entry)\n"
            "  --snapshot-entries N   snapshot when the log holds more than N entries (100000)\n"
            "  --snapshot-chunk B     bytes per snapshot chunk sent to a lagging node (262144)\n"
            "  --election-timeout MS  (default 500)  --request-timeout MS (default 100)\n"
            "  --no-fsync             do not fsync the log (benchmarks only)\n"
            "  --enable-faults        accept PARTITION/HEAL (tests)\n"
            "  -v                     verbose\n");
    exit(2);
}

static void on_signal(int sig)
{
    (void)sig;
    _exit(0);
}

int main(int argc, char **argv)
{
    const char *peers = NULL, *bootstrap = NULL, *listen_at = NULL;
    int join = 0, fsync_on = 1;
    S.snap_entries = 100000;
    S.snap_chunk = 256 << 10;
    S.election_timeout = 500;
    S.request_timeout = 100;
    S.transfer_fd = -1;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        const char *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (!strcmp(a, "--id") && v) S.id = atoi(v), i++;
        else if (!strcmp(a, "--dir") && v) S.dir = v, i++;
        else if (!strcmp(a, "--peers") && v) peers = v, i++;
        else if (!strcmp(a, "--bootstrap") && v) bootstrap = v, i++;
        else if (!strcmp(a, "--listen") && v) listen_at = v, i++;
        else if (!strcmp(a, "--snapshot-entries") && v) S.snap_entries = atol(v), i++;
        else if (!strcmp(a, "--snapshot-chunk") && v) S.snap_chunk = (size_t)atol(v), i++;
        else if (!strcmp(a, "--election-timeout") && v) S.election_timeout = atoi(v), i++;
        else if (!strcmp(a, "--request-timeout") && v) S.request_timeout = atoi(v), i++;
        else if (!strcmp(a, "--join")) join = 1;
        else if (!strcmp(a, "--no-fsync")) fsync_on = 0;
        else if (!strcmp(a, "--enable-faults")) S.faults = 1;
        else if (!strcmp(a, "-v")) S.verbose = 1;
        else usage();
    }
    if (S.id <= 0 || !S.dir || !peers || S.snap_chunk == 0 || S.snap_chunk > (8u << 20))
        usage();
    signal(SIGPIPE, SIG_IGN);
    signal(SIGTERM, on_signal);
    signal(SIGINT, on_signal);
    srand((unsigned)(kv_now_us() ^ (getpid() << 16)));
    parse_peers(peers);
    if (!listen_at)
        listen_at = book_get(S.id);
    if (!listen_at)
        die("no address for node %d: add it to --peers or give --listen", S.id);
    snprintf(S.listen_addr, sizeof S.listen_addr, "%s", listen_at);
    char mk[4096];
    snprintf(mk, sizeof mk, "%s", S.dir);
    for (char *q = mk + 1; *q; q++)
        if (*q == '/')
            *q = 0, mkdir(mk, 0755), *q = '/';
    if (mkdir(mk, 0755) != 0 && errno != EEXIST)
        die("cannot create %s: %s", S.dir, strerror(errno));

    /* The boot membership is fixed at the first start and kept in <dir>/boot:
     * later starts rebuild the configuration from it plus the log. */
    size_t blen = 0;
    char *bfile = read_file("boot", &blen);
    kv_buf_t bl = { 0 };
    if (bfile) {
        kv_buf_add(&bl, bfile, blen);
        free(bfile);
    } else if (bootstrap) {
        kv_buf_printf(&bl, "%s", bootstrap);
    } else {
        for (int i = 0; i < S.n_book; i++)
            if (!join || S.book[i].id != S.id)
                kv_buf_printf(&bl, "%s%d", bl.len ? "," : "", S.book[i].id);
    }
    kv_buf_add(&bl, "", 1);
    if (!bfile && write_file_durably("boot", bl.d, strlen(bl.d)) != 0)
        die("cannot write %s/boot: %s", S.dir, strerror(errno));
    for (char *t = strtok(bl.d, ",\n"); t && S.n_boot < MAX_NODES; t = strtok(NULL, ",\n")) {
        S.boot[S.n_boot].id = atoi(t);
        S.boot[S.n_boot].voting = 1;
        S.n_boot++;
    }
    kv_buf_free(&bl);

    /* Storage. */
    char logdir[4096];
    snprintf(logdir, sizeof logdir, "%s/log", S.dir);
    raft_store_options_t o;
    raft_store_options_init(&o);
    if (!fsync_on)
        o.fsync_policy = RAFT_STORE_FSYNC_NONE;
    int rc = raft_store_open(logdir, &o, &S.st);
    /* A snapshot writer forked by a killed predecessor may still hold the
     * directory's lock for a moment. */
    for (int tries = 0; rc == RAFT_STORE_ERR_LOCKED && tries < 50; tries++) {
        usleep(100000);
        rc = raft_store_open(logdir, &o, &S.st);
    }
    if (rc != 0)
        die("opening the store in %s: %s (%s)", logdir, raft_store_strerror(rc), raft_store_last_error());
    S.r = raft_store_new_server(S.st);
    if (!S.r)
        die("raft_store_new_server failed");
    raft_cbs_t cbs;
    memset(&cbs, 0, sizeof cbs);
    cbs.send_requestvote = cb_send_requestvote;
    cbs.send_appendentries = cb_send_appendentries;
    cbs.send_snapshot = cb_send_snapshot;
    cbs.send_timeoutnow = cb_send_timeoutnow;
    cbs.load_snapshot = cb_load_snapshot;
    cbs.get_snapshot_chunk = cb_get_snapshot_chunk;
    cbs.store_snapshot_chunk = cb_store_snapshot_chunk;
    cbs.clear_snapshot = cb_clear_snapshot;
    cbs.applylog = cb_applylog;
    cbs.persist_metadata = raft_store_persist_metadata_cb;
    cbs.get_node_id = cb_get_node_id;
    cbs.node_has_sufficient_logs = cb_sufficient_logs;
    cbs.notify_membership_event = cb_membership;
    cbs.notify_state_event = cb_state;
    cbs.notify_transfer_event = cb_transfer;
    cbs.backpressure = cb_backpressure;
    cbs.get_entries_to_send = cb_get_entries_to_send;
    if (S.verbose)
        cbs.log = cb_log;
    raft_set_callbacks(S.r, &cbs, NULL);
    raft_config(S.r, 1, RAFT_CONFIG_AUTO_FLUSH, 0);
    raft_config(S.r, 1, RAFT_CONFIG_NONBLOCKING_APPLY, 1);
    raft_config(S.r, 1, RAFT_CONFIG_ELECTION_TIMEOUT, S.election_timeout);
    raft_config(S.r, 1, RAFT_CONFIG_REQUEST_TIMEOUT, S.request_timeout);
    if (S.verbose)
        raft_config(S.r, 1, RAFT_CONFIG_LOG_ENABLED, 1);

    raft_term_t sterm = 0;
    raft_index_t sidx = 0;
    S.snap = read_file("snapshot", &S.snap_len);
    if (S.snap && S.snap_len > 0) {
        if (snap_parse(S.snap, S.snap_len, &sterm, &sidx, 1) != 0)
            die("%s/snapshot does not verify", S.dir);
        S.snap_term = sterm;
        S.snap_idx = sidx;
        configure_nodes(S.members, S.n_members);
    } else {
        free(S.snap);
        S.snap = NULL;
        memcpy(S.members, S.boot, sizeof S.boot);
        S.n_members = S.n_boot;
        configure_nodes(S.boot, S.n_boot);
    }
    rc = raft_store_restore(S.st, S.r, sterm, sidx);
    if (rc != 0)
        die("restoring from the store: %s (%s)", raft_store_strerror(rc), raft_store_last_error());
    kvlog("started: listening on %s, log %ld..%ld, snapshot at %ld, term %ld", S.listen_addr,
          raft_store_first_idx(S.st), raft_store_current_idx(S.st), sidx, raft_get_current_term(S.r));

    struct sockaddr_in sa;
    if (kv_parse_addr(S.listen_addr, &sa) != 0)
        die("bad listen address %s", S.listen_addr);
    S.lfd = socket(AF_INET, SOCK_STREAM, 0);
    int one = 1;
    setsockopt(S.lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    if (bind(S.lfd, (struct sockaddr *)&sa, sizeof sa) != 0 || listen(S.lfd, 1024) != 0)
        die("cannot listen on %s: %s", S.listen_addr, strerror(errno));
    kv_set_nonblock(S.lfd);

    struct pollfd *pfds = calloc(MAX_FDS + MAX_NODES + 2, sizeof *pfds);
    long long last_periodic = kv_now_ms();
    for (;;) {
        int n = 0;
        pfds[n++] = (struct pollfd){ S.lfd, POLLIN, 0 };
        pfds[n++] = (struct pollfd){ raft_store_sync_fd(S.st), POLLIN, 0 };
        int conn_base = n;
        for (int fd = 0; fd <= S.maxfd; fd++) {
            conn_t *c = S.conns[fd];
            if (!c)
                continue;
            short ev = kv_buf_pending(&c->out) ? POLLOUT : 0;
            if (!(c->busy && kv_buf_pending(&c->in) > KV_MAX_LINE))
                ev |= POLLIN; /* a waiting client's backlog is bounded */
            pfds[n++] = (struct pollfd){ fd, ev, 0 };
        }
        int peer_base = n;
        for (int i = 0; i < S.n_peers; i++) {
            peer_t *p = &S.peers[i];
            short ev = POLLIN;
            if (p->connecting || kv_buf_pending(&p->out))
                ev |= POLLOUT;
            pfds[n++] = (struct pollfd){ p->fd, p->fd >= 0 ? ev : 0, 0 };
        }
        long long now = kv_now_ms();
        int timeout = (int)(last_periodic + PERIODIC_MS - now);
        if (timeout < 0 || raft_pending_operations(S.r))
            timeout = 0;
        if (poll(pfds, (nfds_t)n, timeout) < 0 && errno != EINTR)
            die("poll: %s", strerror(errno));

        if (pfds[0].revents)
            accept_all();
        if (pfds[1].revents & POLLIN) {
            raft_index_t synced = 0;
            rc = raft_store_sync_poll(S.st, &synced);
            if (rc == 0) {
                S.sync_running = 0;
                rc = raft_flush(S.r, synced);
                if (rc == RAFT_ERR_SHUTDOWN)
                    die("raft_flush: shut down");
            } else if (rc != RAFT_STORE_ERR_AGAIN) {
                die("log sync failed: %s (%s)", raft_store_strerror(rc), raft_store_last_error());
            }
        }
        for (int i = conn_base; i < peer_base; i++) {
            conn_t *c = S.conns[pfds[i].fd];
            if (!c)
                continue;
            if (pfds[i].revents & (POLLIN | POLLHUP | POLLERR))
                conn_read(c);
        }
        for (int i = peer_base; i < n; i++) {
            peer_t *p = &S.peers[i - peer_base];
            if (p->fd < 0 || pfds[i].fd != p->fd || !pfds[i].revents)
                continue;
            if (p->connecting && (pfds[i].revents & (POLLOUT | POLLERR | POLLHUP))) {
                int err = 0;
                socklen_t el = sizeof err;
                getsockopt(p->fd, SOL_SOCKET, SO_ERROR, &err, &el);
                if (err) {
                    peer_drop(p, strerror(err));
                    continue;
                }
                p->connecting = 0;
                p->backoff = 50;
                p->warned = 0;
                kvlog("connected to node %d", p->id);
            }
            if (pfds[i].revents & POLLIN) { /* peers never send on this direction: EOF */
                char tmp[256];
                ssize_t r = recv(p->fd, tmp, sizeof tmp, 0);
                if (r == 0 || (r < 0 && errno != EAGAIN && errno != EINTR)) {
                    peer_drop(p, "closed by the peer");
                    continue;
                }
            }
        }

        now = kv_now_ms();
        if (now - last_periodic >= PERIODIC_MS) {
            rc = raft_periodic(S.r);
            if (rc == RAFT_ERR_SHUTDOWN)
                die("raft_periodic: shut down");
            last_periodic = now;
            for (int i = 0; i < S.n_peers; i++) { /* reconnect with back-off */
                peer_t *p = &S.peers[i];
                if (p->fd < 0 && now >= p->next_try && !is_blocked(p->id) && raft_get_node(S.r, p->id))
                    peer_connect(p);
            }
        }

        /* Group commit: one background sync covers everything appended. */
        raft_index_t to_sync = raft_get_index_to_sync(S.r);
        if (to_sync > 0) {
            rc = raft_store_sync_start(S.st);
            if (rc != 0)
                die("starting a log sync: %s (%s)", raft_store_strerror(rc), raft_store_last_error());
            S.sync_running = 1;
        }
        if (S.entries_added || raft_pending_operations(S.r)) {
            rc = raft_flush(S.r, 0);
            if (rc == RAFT_ERR_SHUTDOWN)
                die("raft_flush: shut down");
            S.entries_added = 0;
        }

        snapshot_reap();
        if (S.snap_entries > 0 && raft_get_num_snapshottable_logs(S.r) > S.snap_entries)
            take_snapshot();

        for (int fd = 0; fd <= S.maxfd; fd++) { /* replies arrived: next commands */
            conn_t *c = S.conns[fd];
            if (c && c->kind == CONN_CLIENT && !c->busy && !c->dead && kv_buf_pending(&c->in))
                client_lines(c);
        }
        for (int i = 0; i < S.n_peers; i++)
            peer_flush(&S.peers[i]);
        for (int fd = 0; fd <= S.maxfd; fd++) {
            conn_t *c = S.conns[fd];
            if (!c)
                continue;
            if (c->dead != 1)
                conn_flush(c);
            if (c->dead == 1 || (c->dead == 2 && !kv_buf_pending(&c->out)))
                conn_close(c);
        }
        if (S.removed) {
            kvlog("this node was removed from the cluster: exiting");
            for (int fd = 0; fd <= S.maxfd; fd++)
                if (S.conns[fd])
                    conn_flush(S.conns[fd]);
            if (S.snap_child > 0)
                waitpid(S.snap_child, NULL, 0);
            raft_destroy(S.r);
            raft_store_close(S.st);
            return 0;
        }
    }
}
