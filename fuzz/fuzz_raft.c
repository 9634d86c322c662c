/*
 * libraft fuzz target: arbitrary appendentries, requestvote (and pre-vote),
 * snapshot and response messages, in arbitrary order, interleaved with time,
 * proposals, reads, compaction, transfers and role changes, fed to one server
 * that starts in any role (follower, pre-candidate, candidate, leader,
 * non-voting, restored from a log or a snapshot).
 *
 * It must never crash or hang, and it checks what a single server must keep
 * true whatever it is sent:
 *   - the term never goes back, and term and vote are persisted before any
 *     message carrying them is sent; one vote per term;
 *   - the commit index never goes back and never passes the log's end;
 *   - entries are applied once each, in index order, never beyond commit;
 *   - a committed entry is never removed or replaced (a conflicting leader
 *     must get RAFT_ERR_SHUTDOWN instead);
 *   - the library's view of the log matches the log implementation.
 *
 * The log, the metadata on disk and the standalone driver's PRNG are the
 * shared cluster harness's (harness/).
 *
 * Built two ways (mk/fuzz.mk): as a libFuzzer target (LLVMFuzzerTestOneInput)
 * with clang, or with -DFUZZ_STANDALONE as a self-contained driver that feeds
 * PRNG-generated inputs for a time budget and can replay a saved input.
 */
#define _GNU_SOURCE
#include <limits.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "harness.h"
#include "raft.h"

/* Compatibility entry points (compat-symbols.txt), declared here with the
 * contract's prototypes so the target builds with or without raft_compat.h. */
int raft_become_candidate(raft_server_t *me);
int raft_become_precandidate(raft_server_t *me);
int raft_periodic_internal(raft_server_t *me, raft_time_t milliseconds);

/* ------------------------------------------------------------------------ */
/* Input reader */

static const uint8_t *in_p;
static size_t in_n;

static uint8_t u8(void)
{
    if (!in_n)
        return 0;
    in_n--;
    return *in_p++;
}
static uint32_t u16(void) { return (uint32_t)u8() | (uint32_t)u8() << 8; }
static uint32_t u32(void) { return u16() | u16() << 16; }

/* Any 64-bit value. */
static long any64(void) { return (long)((uint64_t)u32() << 32 | u32()); }

/* The edges of the whole value range: the type's limits, libraft's limits
 * (RAFT_TERM_MAX == RAFT_INDEX_MAX) and either side of them. */
static long edge(void)
{
    static const long edges[] = {LONG_MAX, LONG_MIN, RAFT_TERM_MAX, RAFT_TERM_MAX + 1,
                                 RAFT_TERM_MAX - 1, LONG_MAX - 1, LONG_MIN + 1, -1, -2, 0};
    return edges[u8() % (sizeof edges / sizeof edges[0])];
}

/* A value near a reference point most of the time, sometimes anything in
 * the whole range (overflow is libraft's to refuse, not ours to avoid). */
static long near(long ref, int spread)
{
    uint8_t k = u8();
    if (k < 200)
        return (long)((unsigned long)ref + (unsigned long)(k % (2 * spread + 1)) -
                      (unsigned long)spread); /* wraps, never UB */
    if (k < 225)
        return (long)u16();
    if (k < 235)
        return (long)(int32_t)u32();
    if (k < 245)
        return edge();
    return any64();
}

/* A node id: mostly 0..6 (1..5 are the members), sometimes negative. */
static int any_id(void)
{
    uint8_t k = u8();
    if (k < 240)
        return k % 7;
    static const int odd[] = {RAFT_NODE_ID_NONE, -2, INT_MIN, INT_MAX};
    return odd[k % 4];
}

/* ------------------------------------------------------------------------ */
/* Invariant failures */

static void fail(const char *what, const char *fmt, ...) __attribute__((format(printf, 2, 3), noreturn));

#include <stdarg.h>
static void fail(const char *what, const char *fmt, ...)
{
    va_list ap;
    fprintf(stderr, "\n=== FUZZ INVARIANT BROKEN: %s ===\n", what);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fprintf(stderr, "\n");
    abort();
}

/* ------------------------------------------------------------------------ */
/* Host state for one input */

static struct {
    raft_server_t *r;
    hs_log_t log;
    int custom_log;
    hs_disk_t disk; /* term and vote */
    raft_term_t seen_term;
    raft_index_t seen_commit;
    raft_index_t applied;
    long now_ms;
    /* committed entries by index (any index up to RAFT_INDEX_MAX: a hash
     * table, open addressing, that grows) */
    struct committed {
        raft_index_t idx; /* 0: free slot */
        raft_term_t term;
        raft_entry_id_t id;
    } *com;
    raft_index_t com_cap, com_n;
    unsigned char snapbuf[64];
    int load_fail;
    int shutdown;
    long reads_pending;
} H;

static struct committed *com_slot(struct committed *t, raft_index_t cap, raft_index_t idx)
{
    uint64_t h = (uint64_t)idx * 0x9E3779B97F4A7C15ULL;
    for (raft_index_t i = (raft_index_t)(h & (uint64_t)(cap - 1));; i = (i + 1) & (cap - 1))
        if (t[i].idx == idx || t[i].idx == 0)
            return &t[i];
}

/* The record of a committed index: NULL when unknown (and grow is 0) or
 * for an index no log can hold. */
static struct committed *committed_at(raft_index_t idx, int grow)
{
    if (idx <= 0 || idx > RAFT_INDEX_MAX)
        return NULL;
    if (grow && (H.com_n + 1) * 2 > H.com_cap) {
        raft_index_t cap = H.com_cap ? H.com_cap * 2 : 1024;
        struct committed *t = hs_realloc(NULL, (size_t)cap * sizeof *t);
        memset(t, 0, (size_t)cap * sizeof *t);
        for (raft_index_t i = 0; i < H.com_cap; i++)
            if (H.com[i].idx)
                *com_slot(t, cap, H.com[i].idx) = H.com[i];
        free(H.com);
        H.com = t;
        H.com_cap = cap;
    }
    if (!H.com_cap)
        return NULL;
    struct committed *c = com_slot(H.com, H.com_cap, idx);
    if (c->idx == 0 && !grow)
        return NULL;
    return c;
}

static void record_committed(raft_index_t idx, raft_entry_t *e)
{
    struct committed *c = committed_at(idx, 1);
    if (!c)
        return;
    if (c->idx) {
        if (c->term != e->term || c->id != e->id)
            fail("committed entry replaced",
                 "idx %ld was committed as term %ld id %d, now holds term %ld id %d", idx,
                 c->term, c->id, e->term, e->id);
        return;
    }
    c->idx = idx;
    H.com_n++;
    c->term = e->term;
    c->id = e->id;
}

/* ------------------------------------------------------------------------ */
/* The custom log (used for half of the inputs; the others use the built-in
 * log through raft_new()): the harness's, with a committed entry never
 * replaced or removed checked on its hooks. */

static void on_append(void *arg, hs_log_t *l, raft_index_t idx, raft_entry_t *e, raft_term_t prev)
{
    (void)arg, (void)l, (void)prev;
    struct committed *c = committed_at(idx, 0);
    if (c && (c->term != e->term || c->id != e->id))
        fail("committed entry replaced", "append of term %ld id %d at committed idx %ld "
             "(term %ld id %d)", e->term, e->id, idx, c->term, c->id);
}

static void on_pop_entry(void *arg, hs_log_t *l, raft_index_t idx, raft_entry_t *e)
{
    (void)arg, (void)l;
    struct committed *c = committed_at(idx, 0);
    if (c)
        fail("committed entry removed", "pop of committed idx %ld (term %ld id %d)", idx,
             e->term, e->id);
}

static const hs_log_hooks_t fuzz_log_hooks = {
    .append = on_append,
    .pop_entry = on_pop_entry,
};

/* ------------------------------------------------------------------------ */
/* ------------------------------------------------------------------------ */
/* Callbacks */

static void check_sent_term(raft_term_t term, const char *what)
{
    if (term > H.disk.term)
        fail("persistence", "%s sent with term %ld, persisted term is %ld", what, term,
             H.disk.term);
}

static int cb_send_rv(raft_server_t *r, void *ud, raft_node_t *n, raft_requestvote_req_t *m)
{
    (void)r, (void)ud, (void)n;
    if (!m->prevote) {
        check_sent_term(m->term, "requestvote");
        if (H.disk.vote != raft_get_nodeid(r))
            fail("persistence", "requestvote for term %ld without a persisted self-vote", m->term);
    }
    return 0;
}
static int cb_send_ae(raft_server_t *r, void *ud, raft_node_t *n, raft_appendentries_req_t *m)
{
    (void)r, (void)ud, (void)n;
    check_sent_term(m->term, "appendentries");
    for (raft_index_t i = 0; i < m->n_entries; i++)
        if (!m->entries || !m->entries[i])
            fail("api", "appendentries with a NULL entry");
    return 0;
}
static int cb_send_sn(raft_server_t *r, void *ud, raft_node_t *n, raft_snapshot_req_t *m)
{
    (void)r, (void)ud, (void)n;
    check_sent_term(m->term, "snapshot");
    return 0;
}
static int cb_send_tn(raft_server_t *r, void *ud, raft_node_t *n)
{
    (void)r, (void)ud, (void)n;
    return 0;
}
static int cb_apply(raft_server_t *r, void *ud, raft_entry_t *e, raft_index_t idx)
{
    (void)ud;
    if (idx <= H.applied)
        fail("apply", "idx %ld applied after %ld", idx, H.applied);
    if (idx > raft_get_commit_idx(r))
        fail("apply", "idx %ld applied beyond commit %ld", idx, raft_get_commit_idx(r));
    record_committed(idx, e);
    H.applied = idx;
    return 0;
}
static int cb_persist(raft_server_t *r, void *ud, raft_term_t term, raft_node_id_t vote)
{
    (void)r, (void)ud;
    if (term < 0 || term > RAFT_TERM_MAX)
        fail("limits", "term %ld persisted", term);
    raft_term_t was_term = H.disk.term;
    raft_node_id_t was_vote = H.disk.vote;
    switch (hs_disk_persist(&H.disk, term, vote)) {
    case HS_META_TERM_BACK:
        fail("persistence", "term persisted as %ld after %ld", term, was_term);
    case HS_META_VOTE_CHANGED:
        fail("one vote per term", "term %ld: vote %d then %d", term, was_vote, vote);
    default:
        return 0;
    }
}
static raft_node_id_t cb_node_id(raft_server_t *r, void *ud, raft_entry_t *e, raft_index_t idx)
{
    (void)r, (void)ud, (void)idx;
    int id = -1;
    if (e->data_len >= sizeof id)
        memcpy(&id, e->data, sizeof id);
    return id;
}
static int cb_sufficient(raft_server_t *r, void *ud, raft_node_t *n)
{
    (void)r, (void)ud, (void)n;
    return 0;
}
static int cb_load(raft_server_t *r, void *ud, raft_term_t term, raft_index_t idx)
{
    (void)ud;
    if (H.load_fail)
        return -1;
    if (raft_begin_load_snapshot(r, term, idx) != 0)
        return -1;
    /* membership from "the snapshot": ourselves and two peers */
    for (int id = 2; id <= 3; id++)
        if (!raft_get_node(r, id))
            raft_add_node(r, NULL, id, 0);
    raft_end_load_snapshot(r);
    if (idx > H.applied)
        H.applied = idx;
    return 0;
}
static int cb_get_chunk(raft_server_t *r, void *ud, raft_node_t *n, raft_size_t off,
                        raft_snapshot_chunk_t *c)
{
    (void)r, (void)ud, (void)n;
    if (off >= sizeof H.snapbuf)
        return RAFT_ERR_DONE;
    c->data = H.snapbuf + off;
    c->len = sizeof H.snapbuf - off > 16 ? 16 : sizeof H.snapbuf - off;
    c->offset = off;
    c->last_chunk = off + c->len == sizeof H.snapbuf;
    return 0;
}
static int cb_store_chunk(raft_server_t *r, void *ud, raft_index_t idx, raft_size_t off,
                          raft_snapshot_chunk_t *c)
{
    (void)r, (void)ud, (void)idx, (void)off;
    if (c->len && !c->data)
        fail("api", "snapshot chunk of %llu bytes with NULL data", (unsigned long long)c->len);
    return 0;
}
static int cb_clear(raft_server_t *r, void *ud)
{
    (void)r, (void)ud;
    return 0;
}
static raft_time_t cb_time(raft_server_t *r, void *ud)
{
    (void)r, (void)ud;
    return (raft_time_t)H.now_ms * 1000;
}
static void read_cb(void *arg, int can_read)
{
    (void)arg, (void)can_read;
    H.reads_pending--;
}

static raft_cbs_t fuzz_cbs = {
    .send_requestvote = cb_send_rv,
    .send_appendentries = cb_send_ae,
    .send_snapshot = cb_send_sn,
    .load_snapshot = cb_load,
    .get_snapshot_chunk = cb_get_chunk,
    .store_snapshot_chunk = cb_store_chunk,
    .clear_snapshot = cb_clear,
    .applylog = cb_apply,
    .persist_metadata = cb_persist,
    .get_node_id = cb_node_id,
    .node_has_sufficient_logs = cb_sufficient,
    .send_timeoutnow = cb_send_tn,
    .timestamp = cb_time,
};

/* ------------------------------------------------------------------------ */
/* Checks after every operation */

static void check_state(void)
{
    raft_server_t *r = H.r;
    raft_term_t t = raft_get_current_term(r);
    raft_index_t ci = raft_get_commit_idx(r), cur = raft_get_current_idx(r);
    raft_index_t la = raft_get_last_applied_idx(r);
    if (t < 0 || t > RAFT_TERM_MAX)
        fail("limits", "term %ld", t);
    if (cur < 0 || cur > RAFT_INDEX_MAX || ci < 0 || la < 0 || raft_get_first_entry_idx(r) < 1)
        fail("limits", "indexes: current %ld commit %ld applied %ld first %ld", cur, ci, la,
             raft_get_first_entry_idx(r));
    if (t < H.seen_term)
        fail("term", "term went back from %ld to %ld", H.seen_term, t);
    H.seen_term = t;
    if (t > H.disk.term)
        fail("persistence", "in term %ld with term %ld persisted", t, H.disk.term);
    if (ci < H.seen_commit)
        fail("commit", "commit index went back from %ld to %ld", H.seen_commit, ci);
    H.seen_commit = ci;
    if (ci > cur)
        fail("commit", "commit index %ld beyond the log's end %ld", ci, cur);
    if (la > ci)
        fail("apply", "last applied %ld beyond commit %ld", la, ci);
    int st = raft_get_state(r);
    if (st < RAFT_STATE_FOLLOWER || st > RAFT_STATE_LEADER)
        fail("state", "state %d", st);
    if (H.custom_log) {
        hs_log_t *l = &H.log;
        if (cur != l->base + l->n)
            fail("log", "library says current index %ld, log ends at %ld", cur, l->base + l->n);
        for (raft_index_t i = H.seen_commit; i > l->base && i > ci - 8; i--)
            record_committed(i, hs_log_at(l, i));
    }
}

/* ------------------------------------------------------------------------ */
/* Message builders */

static raft_entry_t *mk_entry(raft_term_t term)
{
    uint8_t k = u8();
    short type = k < 160 ? RAFT_LOGTYPE_NORMAL
                 : k < 190 ? RAFT_LOGTYPE_ADD_NONVOTING_NODE
                 : k < 215 ? RAFT_LOGTYPE_ADD_NODE
                 : k < 240 ? RAFT_LOGTYPE_REMOVE_NODE
                 : k < 250 ? RAFT_LOGTYPE_NO_OP
                 : k < 253 ? (short)(RAFT_LOGTYPE_NUM + (k & 3))
                           : (short)(k == 253 ? -1 : k == 254 ? SHRT_MIN : SHRT_MAX);
    unsigned len = type == RAFT_LOGTYPE_NORMAL ? u8() % 16 : sizeof(int);
    raft_entry_t *e = raft_entry_new(len);
    e->term = term;
    e->id = (raft_entry_id_t)u16();
    e->type = type;
    if (type != RAFT_LOGTYPE_NORMAL) {
        int id = u8() % 16 ? 1 + u8() % 6 : any_id();
        memcpy(e->data, &id, sizeof id);
    } else {
        for (unsigned i = 0; i < len; i++)
            e->data[i] = (char)u8();
    }
    return e;
}

static raft_node_t *sender(void)
{
    int id = u8() % 7; /* 0 and 6: unknown to the server */
    return raft_get_node(H.r, id);
}

static int op_appendentries(raft_server_t *r, raft_term_t t, raft_index_t cur)
{
    raft_appendentries_req_t ae = {0};
    raft_appendentries_resp_t resp = {0};
    ae.term = near(t, 2);
    ae.leader_id = any_id();
    ae.msg_id = u16();
    ae.prev_log_idx = near(cur, 3);
    ae.prev_log_term = near(t, 2);
    ae.leader_commit = near(cur, 4);
    long n = u8() % 6;
    raft_entry_t *es[6];
    raft_term_t et = ae.prev_log_term;
    for (long i = 0; i < n; i++) {
        /* mostly rising, sometimes anything (falling, negative, huge) */
        et = u8() % 16 ? (raft_term_t)((unsigned long)et + (u8() % 4 == 0)) : near(t, 2);
        es[i] = mk_entry(et);
    }
    ae.n_entries = n;
    ae.entries = n ? es : NULL;
    int rc = raft_recv_appendentries(r, sender(), &ae, &resp);
    for (long i = 0; i < n; i++)
        raft_entry_release(es[i]);
    return rc;
}

static int op_appendentries_response(raft_server_t *r, raft_term_t t, raft_index_t cur)
{
    raft_appendentries_resp_t m = {0};
    m.term = near(t, 2);
    m.success = u8() & 1;
    m.current_idx = near(cur, 4);
    m.msg_id = u16() % 64;
    return raft_recv_appendentries_response(r, sender(), &m);
}

static int op_requestvote(raft_server_t *r, raft_term_t t, raft_index_t cur)
{
    raft_requestvote_req_t m = {0};
    raft_requestvote_resp_t resp = {0};
    m.prevote = u8() & 1;
    m.term = near(t, 2);
    m.candidate_id = any_id();
    m.last_log_idx = near(cur, 3);
    m.last_log_term = near(t, 2);
    int rc = raft_recv_requestvote(r, sender(), &m, &resp);
    if (rc == 0 && resp.vote_granted && !resp.prevote &&
        (H.disk.term != resp.request_term || H.disk.vote != m.candidate_id))
        fail("persistence", "vote granted to %d in term %ld but persisted %d in %ld",
             m.candidate_id, resp.request_term, H.disk.vote, H.disk.term);
    return rc;
}

static int op_requestvote_response(raft_server_t *r, raft_term_t t)
{
    raft_requestvote_resp_t m = {0};
    m.prevote = u8() & 1;
    m.request_term = near(t, 1);
    m.term = near(t, 1);
    m.vote_granted = u8() % 4 != 0;
    return raft_recv_requestvote_response(r, sender(), &m);
}

static int op_snapshot(raft_server_t *r, raft_term_t t, raft_index_t cur)
{
    raft_snapshot_req_t m = {0};
    raft_snapshot_resp_t resp = {0};
    unsigned char buf[32];
    m.term = near(t, 2);
    m.leader_id = any_id();
    m.msg_id = u16();
    m.snapshot_index = near(cur, 6);
    m.snapshot_term = near(t, 2);
    m.chunk.offset = u8() % 4 ? (raft_size_t)(u8() % 3) * 16 : u8() & 1 ? u32() : (raft_size_t)any64();
    /* the data is 32 bytes; a longer length only ever wraps the offset */
    m.chunk.len = u8() % 16 ? u8() % 33 : ULLONG_MAX - u8();
    for (unsigned i = 0; i < sizeof buf; i++)
        buf[i] = u8();
    m.chunk.data = buf;
    m.chunk.last_chunk = u8() & 1;
    H.load_fail = u8() % 5 == 0;
    return raft_recv_snapshot(r, sender(), &m, &resp);
}

static int op_snapshot_response(raft_server_t *r, raft_term_t t)
{
    raft_snapshot_resp_t m = {0};
    m.term = near(t, 1);
    m.msg_id = u16() % 64;
    m.offset = u8() % 16 ? (raft_size_t)(u8() % 5) * 16 : (raft_size_t)any64();
    m.success = u8() & 1;
    m.last_chunk = u8() & 1;
    return raft_recv_snapshot_response(r, sender(), &m);
}

static int op_time(raft_server_t *r)
{
    if (u8() % 32 == 0) {
        /* a huge or negative step (negative: the library reads the clock) */
        return raft_periodic_internal(r, u8() & 1 ? LLONG_MAX - u8() : any64());
    }
    long ms = u8() % 4 ? u8() * 4 : u16();
    H.now_ms += ms;
    return u8() & 1 ? raft_periodic(r) : raft_periodic_internal(r, ms);
}

static int op_compact(raft_server_t *r)
{
    int rc = 0;
    if (!raft_snapshot_is_in_progress(r)) {
        if (raft_begin_snapshot(r) == 0 && (u8() & 3)) {
            if (u8() & 7)
                rc = raft_end_snapshot(r);
            else
                rc = raft_cancel_snapshot(r);
        }
    } else {
        rc = raft_end_snapshot(r);
    }
    return rc == RAFT_ERR_SHUTDOWN ? rc : 0;
}

static int op_role(raft_server_t *r)
{
    switch (u8() % 4) {
    case 0: raft_become_follower(r); return 0;
    case 1: return raft_become_precandidate(r);
    case 2: return raft_become_candidate(r);
    default: return raft_become_leader(r);
    }
}

/* Requests from the application: proposals, reads, transfers, flush. */
static int op_request(raft_server_t *r, raft_term_t t, uint8_t o)
{
    int rc = 0;
    switch (o) {
    case 10: {
        raft_entry_t *e = mk_entry(t);
        raft_entry_resp_t resp;
        rc = raft_recv_entry(r, e, &resp);
        raft_entry_release(e);
        break;
    }
    case 11:
        H.reads_pending++;
        if (raft_recv_read_request(r, read_cb, NULL) != 0)
            H.reads_pending--;
        break;
    case 14:
        raft_transfer_leader(r, u8() % 5 == 0 ? RAFT_NODE_ID_NONE : any_id(),
                             u8() % 16 ? u8() * 4 : any64());
        break;
    default: {
        raft_index_t s = raft_get_index_to_sync(r);
        (void)s;
        rc = raft_flush(r, u8() & 1 ? raft_get_current_idx(r) : 0);
        break;
    }
    }
    return rc;
}

static int op(void)
{
    raft_server_t *r = H.r;
    raft_term_t t = raft_get_current_term(r);
    raft_index_t cur = raft_get_current_idx(r);
    uint8_t o = u8() % 18;
    switch (o) {
    case 0:
    case 1:
        return op_appendentries(r, t, cur);
    case 2:
        return op_appendentries_response(r, t, cur);
    case 3:
    case 4:
        return op_requestvote(r, t, cur);
    case 5:
        return op_requestvote_response(r, t);
    case 6:
        return op_snapshot(r, t, cur);
    case 7:
        return op_snapshot_response(r, t);
    case 8:
    case 9:
        return op_time(r);
    case 12:
        return op_compact(r);
    case 13:
        return raft_timeout_now(r);
    case 16:
        return op_role(r);
    case 17:
        return raft_apply_all(r);
    default:
        return op_request(r, t, o);
    }
}

/* ------------------------------------------------------------------------ */

/* The server, on the built-in log or the harness's, configured from the
 * input. */
static raft_server_t *setup_server(void)
{
    hs_disk_init(&H.disk);
    hs_log_init(&H.log, 0, 0);
    H.log.hooks = &fuzz_log_hooks;
    H.now_ms = 1000;
    H.custom_log = u8() & 1;
    if (H.custom_log) {
        H.r = raft_new_with_log(&hs_log_impl, &H.log);
    } else {
        H.r = raft_new();
    }
    if (!H.r)
        fail("api", "raft_new failed");
    raft_server_t *r = H.r;
    raft_set_random_seed(r, 1); /* an input replays exactly */
    raft_set_callbacks(r, &fuzz_cbs, NULL);
    raft_config(r, 1, RAFT_CONFIG_AUTO_FLUSH, u8() & 1);
    raft_config(r, 1, RAFT_CONFIG_NONBLOCKING_APPLY, u8() & 1);
    raft_config(r, 1, RAFT_CONFIG_ELECTION_TIMEOUT, 100 + u8());
    raft_config(r, 1, RAFT_CONFIG_REQUEST_TIMEOUT, 20 + u8() % 64);
    return r;
}

/* Membership: self = 1 (voting or not), peers 2..n (some non-voting).
 * Returns n. */
static int setup_members(raft_server_t *r)
{
    uint8_t m = u8();
    int n = 1 + m % 5;
    if (m & 0x80)
        raft_add_non_voting_node(r, NULL, 1, 1);
    else
        raft_add_node(r, NULL, 1, 1);
    for (int id = 2; id <= n; id++) {
        if (u8() % 5 == 0)
            raft_add_non_voting_node(r, NULL, id, 0);
        else
            raft_add_node(r, NULL, id, 0);
    }
    return n;
}

/* Restart state: an optional snapshot, entries, metadata (restores outside
 * the limits must be refused, inside them accepted). */
static void setup_restore(raft_server_t *r, int n)
{
    uint8_t rs = u8();
    raft_term_t term = 0;
    if (rs & 1) {
        raft_index_t si = u8() % 8 ? 1 + u8() % 20 : edge();
        term = u8() % 8 ? 1 + u8() % 3 : edge();
        /* The application's own log follows only a snapshot that is taken. */
        int ok = si >= 0 && si <= RAFT_INDEX_MAX && term >= 0 && term <= RAFT_TERM_MAX;
        if (H.custom_log && ok)
            hs_log_reset(&H.log, si + 1, term);
        int rc = raft_restore_snapshot(r, term, si);
        if ((rc == 0) != ok)
            fail("limits", "raft_restore_snapshot(%ld, %ld) returned %d", term, si, rc);
        if (!ok)
            term = 0;
        H.applied = raft_get_last_applied_idx(r);
    }
    int ne = (rs >> 1) % 8;
    for (int i = 0; i < ne; i++) {
        term += u8() % 3 == 0;
        if (term == 0)
            term = 1;
        raft_entry_t *e = mk_entry(term);
        raft_append_entry(r, e);
        raft_entry_release(e);
    }
    raft_term_t mt = u8() % 8 ? (raft_term_t)((unsigned long)term + u8() % 3) : edge();
    raft_node_id_t mv = u8() % 4 ? RAFT_NODE_ID_NONE : u8() % 8 ? 1 + u8() % n : any_id();
    if (raft_restore_metadata(r, mt, mv) == 0) {
        H.disk.term = mt;
        H.disk.vote = mv;
    } else if (mt >= 0 && mt <= RAFT_TERM_MAX && mv >= RAFT_NODE_ID_NONE) {
        fail("limits", "raft_restore_metadata(%ld, %d) refused", mt, mv);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    memset(&H, 0, sizeof H);
    in_p = data;
    in_n = size;
    raft_server_t *r = setup_server();
    setup_restore(r, setup_members(r));
    H.seen_term = raft_get_current_term(r);
    H.seen_commit = raft_get_commit_idx(r);
    H.applied = raft_get_last_applied_idx(r);
    if (H.disk.term < H.seen_term) /* restore paths may persist nothing */
        H.disk.term = H.seen_term;

    /* initial role */
    switch (u8() % 5) {
    case 1: raft_become_precandidate(r); break;
    case 2: raft_become_candidate(r); break;
    case 3: raft_become_leader(r); break;
    default: break;
    }
    check_state();

    for (int k = 0; k < 400 && in_n > 0; k++) {
        int rc = op();
        if (rc == RAFT_ERR_SHUTDOWN)
            break; /* the application must stop this server */
        check_state();
    }
    raft_destroy(r);
    hs_log_clear(&H.log);
    free(H.com);
    return 0;
}

#ifdef FUZZ_STANDALONE
/* Self-contained driver: PRNG inputs (splitmix64) for a time budget.
 *   fuzz_raft [--seconds=N] [--seed=S] [--max-len=N]   random inputs
 *   fuzz_raft FILE...                                  replay saved inputs */
static hs_rng_t g_rng;
static uint64_t rnd64(void) { return hs_rng_next(&g_rng); }

static uint8_t *g_cur;
static size_t g_cur_len;
static unsigned long long g_iter, g_seed;

static void save_current(const char *why)
{
    char name[128];
    snprintf(name, sizeof name, "fuzz-%s-seed%llu-iter%llu.bin", why, g_seed, g_iter);
    FILE *f = fopen(name, "wb");
    if (f) {
        fwrite(g_cur, 1, g_cur_len, f);
        fclose(f);
        fprintf(stderr, "input saved to %s (replay: fuzz_raft %s)\n", name, name);
    }
}

static void on_alarm(int sig)
{
    (void)sig;
    fprintf(stderr, "\n=== FUZZ HANG: one input ran for more than 10 s (seed %llu iteration %llu) "
            "===\n", g_seed, g_iter);
    save_current("hang");
    _exit(1);
}

static void on_abort(int sig)
{
    (void)sig;
    fprintf(stderr, "fuzz: failure on seed %llu iteration %llu\n", g_seed, g_iter);
    save_current("crash");
    signal(SIGABRT, SIG_DFL);
    _exit(1);
}

int main(int argc, char **argv)
{
    long seconds = 10, max_len = 2048;
    g_seed = (unsigned long long)time(NULL);
    int files = 0;
    for (int i = 1; i < argc; i++) {
        if (!strncmp(argv[i], "--seconds=", 10))
            seconds = atol(argv[i] + 10);
        else if (!strncmp(argv[i], "--seed=", 7))
            g_seed = strtoull(argv[i] + 7, NULL, 0);
        else if (!strncmp(argv[i], "--max-len=", 10))
            max_len = atol(argv[i] + 10);
        else {
            FILE *f = fopen(argv[i], "rb");
            if (!f) {
                perror(argv[i]);
                return 2;
            }
            static uint8_t buf[1 << 20];
            size_t n = fread(buf, 1, sizeof buf, f);
            fclose(f);
            LLVMFuzzerTestOneInput(buf, n);
            printf("%s: ok\n", argv[i]);
            files++;
        }
    }
    if (files)
        return 0;
    signal(SIGALRM, on_alarm);
    signal(SIGABRT, on_abort);
    g_rng.s = g_seed;
    g_cur = malloc((size_t)max_len);
    time_t end = time(NULL) + seconds;
    printf("fuzz: standalone driver, seed %llu, %ld s\n", g_seed, seconds);
    while (time(NULL) < end) {
        g_cur_len = (size_t)(rnd64() % (uint64_t)max_len);
        for (size_t i = 0; i < g_cur_len; i++)
            g_cur[i] = (uint8_t)rnd64();
        alarm(10);
        LLVMFuzzerTestOneInput(g_cur, g_cur_len);
        alarm(0);
        g_iter++;
    }
    printf("fuzz: %llu inputs, no crash, hang or broken invariant\n", g_iter);
    free(g_cur);
    return 0;
}
#endif
