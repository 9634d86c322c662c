/* The ABI as the C compiler sees it: every contract struct has the size,
 * alignment and member offsets of the contract's definition (mirrored here
 * member by member from the seed header), the scalar types have the
 * contract's widths and signedness, every enum constant has its value, and
 * every callback typedef accepts a function of the contract prototype
 * (a mismatch is a compile error under -Werror). */
#include <stddef.h>
#include "raft.h"
#include "test.h"

/* Declared by the contract's raft.h; repeated here (a compatible
 * redeclaration) so that this file still builds while include/raft.h lacks
 * it. test_header.c checks that raft.h itself declares it. */
extern const raft_log_impl_t raft_log_internal_impl;

#define ALIGNOF(T) offsetof(struct { char c; T t; }, t)

#define SAME_LAYOUT(ours, mirror)                                           \
    do {                                                                    \
        ASSERT_EQ(sizeof(mirror), sizeof(ours));                            \
        ASSERT_EQ(ALIGNOF(mirror), ALIGNOF(ours));                          \
    } while (0)

#define SAME_MEMBER(ours, mirror, m)                                        \
    do {                                                                    \
        ASSERT_EQ(offsetof(mirror, m), offsetof(ours, m));                  \
        ASSERT_EQ(sizeof(((mirror *)0)->m), sizeof(((ours *)0)->m));        \
    } while (0)

/* ------------------------------------------------ the contract, mirrored */
typedef int c_entry_id_t;
typedef long c_term_t;
typedef long c_index_t;
typedef unsigned long long c_size_t;
typedef int c_node_id_t;
typedef unsigned long c_msg_id_t;
typedef long long c_time_t;

struct c_entry {
    c_term_t term;
    c_entry_id_t id;
    short type;
    unsigned short refs;
    void *user_data;
    void (*free_func)(struct c_entry *entry);
    unsigned int data_len;
    char data[];
};
typedef struct { c_entry_id_t id; c_term_t term; c_index_t idx; } c_entry_resp;
typedef struct { c_size_t offset; void *data; c_size_t len; int last_chunk; } c_chunk;
typedef struct {
    int prevote; c_term_t term; c_node_id_t candidate_id;
    c_index_t last_log_idx; c_term_t last_log_term;
} c_rv_req;
typedef struct { int prevote; c_term_t request_term; c_term_t term; int vote_granted; } c_rv_resp;
typedef struct {
    c_term_t term; c_node_id_t leader_id; c_msg_id_t msg_id;
    c_index_t snapshot_index; c_term_t snapshot_term; c_chunk chunk;
} c_snap_req;
typedef struct {
    c_msg_id_t msg_id; c_term_t term; c_size_t offset; int success; int last_chunk;
} c_snap_resp;
typedef struct {
    c_node_id_t leader_id; c_msg_id_t msg_id; c_term_t term;
    c_index_t prev_log_idx; c_term_t prev_log_term; c_index_t leader_commit;
    c_index_t n_entries; struct c_entry **entries;
} c_ae_req;
typedef struct { c_msg_id_t msg_id; c_term_t term; int success; c_index_t current_idx; } c_ae_resp;
typedef void (*c_fn)(void);
typedef struct {
    c_fn send_requestvote, send_appendentries, send_snapshot, load_snapshot,
        get_snapshot_chunk, store_snapshot_chunk, clear_snapshot, applylog,
        persist_metadata, get_node_id, node_has_sufficient_logs,
        notify_membership_event, notify_state_event, notify_transfer_event,
        log, send_timeoutnow, backpressure, get_entries_to_send, timestamp;
} c_cbs;
typedef struct { c_fn log_offer, log_poll, log_pop, log_clear; } c_log_cbs;
typedef struct {
    c_fn init, free, reset, append, poll, pop, get, get_batch, first_idx,
        current_idx, count, sync;
} c_log_impl;

/* ---------------------------------------------------------------- tests */

TEST(abi_scalar_types_have_the_contract_widths_and_signedness)
{
    ASSERT_EQ(sizeof(c_term_t), sizeof(raft_term_t));
    ASSERT_EQ(sizeof(c_index_t), sizeof(raft_index_t));
    ASSERT_EQ(sizeof(c_entry_id_t), sizeof(raft_entry_id_t));
    ASSERT_EQ(sizeof(c_node_id_t), sizeof(raft_node_id_t));
    ASSERT_EQ(sizeof(c_msg_id_t), sizeof(raft_msg_id_t));
    ASSERT_EQ(sizeof(c_size_t), sizeof(raft_size_t));
    ASSERT_EQ(sizeof(c_time_t), sizeof(raft_time_t));
    ASSERT((raft_term_t)-1 < 0);
    ASSERT((raft_index_t)-1 < 0);
    ASSERT((raft_entry_id_t)-1 < 0);
    ASSERT((raft_node_id_t)-1 < 0);
    ASSERT((raft_time_t)-1 < 0);
    ASSERT((raft_msg_id_t)-1 > 0);
    ASSERT((raft_size_t)-1 > 0);
    ASSERT(sizeof(raft_size_t) >= 8);
    /* The pointer types are interchangeable with the contract's. */
    long l = 0; int i = 0; unsigned long ul = 0; long long ll = 0;
    unsigned long long ull = 0;
    raft_term_t *pt = &l; raft_index_t *pi = &l; raft_node_id_t *pn = &i;
    raft_entry_id_t *pe = &i; raft_msg_id_t *pm = &ul; raft_time_t *ptm = &ll;
    raft_size_t *ps = &ull;
    (void)pt; (void)pi; (void)pn; (void)pe; (void)pm; (void)ptm; (void)ps;
}

TEST(abi_entry_layout)
{
    SAME_LAYOUT(raft_entry_t, struct c_entry);
    SAME_MEMBER(raft_entry_t, struct c_entry, term);
    SAME_MEMBER(raft_entry_t, struct c_entry, id);
    SAME_MEMBER(raft_entry_t, struct c_entry, type);
    SAME_MEMBER(raft_entry_t, struct c_entry, refs);
    SAME_MEMBER(raft_entry_t, struct c_entry, user_data);
    SAME_MEMBER(raft_entry_t, struct c_entry, free_func);
    SAME_MEMBER(raft_entry_t, struct c_entry, data_len);
    ASSERT_EQ(offsetof(struct c_entry, data), offsetof(raft_entry_t, data));
    ASSERT_EQ(sizeof(raft_entry_t), sizeof(raft_entry_req_t));
    raft_entry_t e;
    ASSERT((short)-1 == (e.type = -1));
    ASSERT((unsigned short)65535 == (e.refs = 65535));
}

TEST(abi_message_layouts)
{
    SAME_LAYOUT(raft_entry_resp_t, c_entry_resp);
    SAME_MEMBER(raft_entry_resp_t, c_entry_resp, id);
    SAME_MEMBER(raft_entry_resp_t, c_entry_resp, term);
    SAME_MEMBER(raft_entry_resp_t, c_entry_resp, idx);

    SAME_LAYOUT(raft_snapshot_chunk_t, c_chunk);
    SAME_MEMBER(raft_snapshot_chunk_t, c_chunk, offset);
    SAME_MEMBER(raft_snapshot_chunk_t, c_chunk, data);
    SAME_MEMBER(raft_snapshot_chunk_t, c_chunk, len);
    SAME_MEMBER(raft_snapshot_chunk_t, c_chunk, last_chunk);

    SAME_LAYOUT(raft_requestvote_req_t, c_rv_req);
    SAME_MEMBER(raft_requestvote_req_t, c_rv_req, prevote);
    SAME_MEMBER(raft_requestvote_req_t, c_rv_req, term);
    SAME_MEMBER(raft_requestvote_req_t, c_rv_req, candidate_id);
    SAME_MEMBER(raft_requestvote_req_t, c_rv_req, last_log_idx);
    SAME_MEMBER(raft_requestvote_req_t, c_rv_req, last_log_term);

    SAME_LAYOUT(raft_requestvote_resp_t, c_rv_resp);
    SAME_MEMBER(raft_requestvote_resp_t, c_rv_resp, prevote);
    SAME_MEMBER(raft_requestvote_resp_t, c_rv_resp, request_term);
    SAME_MEMBER(raft_requestvote_resp_t, c_rv_resp, term);
    SAME_MEMBER(raft_requestvote_resp_t, c_rv_resp, vote_granted);

    SAME_LAYOUT(raft_snapshot_req_t, c_snap_req);
    SAME_MEMBER(raft_snapshot_req_t, c_snap_req, term);
    SAME_MEMBER(raft_snapshot_req_t, c_snap_req, leader_id);
    SAME_MEMBER(raft_snapshot_req_t, c_snap_req, msg_id);
    SAME_MEMBER(raft_snapshot_req_t, c_snap_req, snapshot_index);
    SAME_MEMBER(raft_snapshot_req_t, c_snap_req, snapshot_term);
    SAME_MEMBER(raft_snapshot_req_t, c_snap_req, chunk);

    SAME_LAYOUT(raft_snapshot_resp_t, c_snap_resp);
    SAME_MEMBER(raft_snapshot_resp_t, c_snap_resp, msg_id);
    SAME_MEMBER(raft_snapshot_resp_t, c_snap_resp, term);
    SAME_MEMBER(raft_snapshot_resp_t, c_snap_resp, offset);
    SAME_MEMBER(raft_snapshot_resp_t, c_snap_resp, success);
    SAME_MEMBER(raft_snapshot_resp_t, c_snap_resp, last_chunk);

    SAME_LAYOUT(raft_appendentries_req_t, c_ae_req);
    SAME_MEMBER(raft_appendentries_req_t, c_ae_req, leader_id);
    SAME_MEMBER(raft_appendentries_req_t, c_ae_req, msg_id);
    SAME_MEMBER(raft_appendentries_req_t, c_ae_req, term);
    SAME_MEMBER(raft_appendentries_req_t, c_ae_req, prev_log_idx);
    SAME_MEMBER(raft_appendentries_req_t, c_ae_req, prev_log_term);
    SAME_MEMBER(raft_appendentries_req_t, c_ae_req, leader_commit);
    SAME_MEMBER(raft_appendentries_req_t, c_ae_req, n_entries);
    SAME_MEMBER(raft_appendentries_req_t, c_ae_req, entries);

    SAME_LAYOUT(raft_appendentries_resp_t, c_ae_resp);
    SAME_MEMBER(raft_appendentries_resp_t, c_ae_resp, msg_id);
    SAME_MEMBER(raft_appendentries_resp_t, c_ae_resp, term);
    SAME_MEMBER(raft_appendentries_resp_t, c_ae_resp, success);
    SAME_MEMBER(raft_appendentries_resp_t, c_ae_resp, current_idx);
}

TEST(abi_callback_table_layouts)
{
    SAME_LAYOUT(raft_cbs_t, c_cbs);
    SAME_MEMBER(raft_cbs_t, c_cbs, send_requestvote);
    SAME_MEMBER(raft_cbs_t, c_cbs, send_appendentries);
    SAME_MEMBER(raft_cbs_t, c_cbs, send_snapshot);
    SAME_MEMBER(raft_cbs_t, c_cbs, load_snapshot);
    SAME_MEMBER(raft_cbs_t, c_cbs, get_snapshot_chunk);
    SAME_MEMBER(raft_cbs_t, c_cbs, store_snapshot_chunk);
    SAME_MEMBER(raft_cbs_t, c_cbs, clear_snapshot);
    SAME_MEMBER(raft_cbs_t, c_cbs, applylog);
    SAME_MEMBER(raft_cbs_t, c_cbs, persist_metadata);
    SAME_MEMBER(raft_cbs_t, c_cbs, get_node_id);
    SAME_MEMBER(raft_cbs_t, c_cbs, node_has_sufficient_logs);
    SAME_MEMBER(raft_cbs_t, c_cbs, notify_membership_event);
    SAME_MEMBER(raft_cbs_t, c_cbs, notify_state_event);
    SAME_MEMBER(raft_cbs_t, c_cbs, notify_transfer_event);
    SAME_MEMBER(raft_cbs_t, c_cbs, log);
    SAME_MEMBER(raft_cbs_t, c_cbs, send_timeoutnow);
    SAME_MEMBER(raft_cbs_t, c_cbs, backpressure);
    SAME_MEMBER(raft_cbs_t, c_cbs, get_entries_to_send);
    SAME_MEMBER(raft_cbs_t, c_cbs, timestamp);

    SAME_LAYOUT(raft_log_cbs_t, c_log_cbs);
    SAME_MEMBER(raft_log_cbs_t, c_log_cbs, log_offer);
    SAME_MEMBER(raft_log_cbs_t, c_log_cbs, log_poll);
    SAME_MEMBER(raft_log_cbs_t, c_log_cbs, log_pop);
    SAME_MEMBER(raft_log_cbs_t, c_log_cbs, log_clear);

    SAME_LAYOUT(raft_log_impl_t, c_log_impl);
    SAME_MEMBER(raft_log_impl_t, c_log_impl, init);
    SAME_MEMBER(raft_log_impl_t, c_log_impl, free);
    SAME_MEMBER(raft_log_impl_t, c_log_impl, reset);
    SAME_MEMBER(raft_log_impl_t, c_log_impl, append);
    SAME_MEMBER(raft_log_impl_t, c_log_impl, poll);
    SAME_MEMBER(raft_log_impl_t, c_log_impl, pop);
    SAME_MEMBER(raft_log_impl_t, c_log_impl, get);
    SAME_MEMBER(raft_log_impl_t, c_log_impl, get_batch);
    SAME_MEMBER(raft_log_impl_t, c_log_impl, first_idx);
    SAME_MEMBER(raft_log_impl_t, c_log_impl, current_idx);
    SAME_MEMBER(raft_log_impl_t, c_log_impl, count);
    SAME_MEMBER(raft_log_impl_t, c_log_impl, sync);
}

/* The numbers on the platforms we ship for (LP64). */
TEST(abi_lp64_sizes_and_offsets)
{
#if defined(__LP64__)
    ASSERT_EQ(40, sizeof(raft_entry_t));
    ASSERT_EQ(8, offsetof(raft_entry_t, id));
    ASSERT_EQ(12, offsetof(raft_entry_t, type));
    ASSERT_EQ(14, offsetof(raft_entry_t, refs));
    ASSERT_EQ(16, offsetof(raft_entry_t, user_data));
    ASSERT_EQ(24, offsetof(raft_entry_t, free_func));
    ASSERT_EQ(32, offsetof(raft_entry_t, data_len));
    ASSERT_EQ(36, offsetof(raft_entry_t, data));
    ASSERT_EQ(24, sizeof(raft_entry_resp_t));
    ASSERT_EQ(32, sizeof(raft_snapshot_chunk_t));
    ASSERT_EQ(40, sizeof(raft_requestvote_req_t));
    ASSERT_EQ(32, sizeof(raft_requestvote_resp_t));
    ASSERT_EQ(72, sizeof(raft_snapshot_req_t));
    ASSERT_EQ(40, offsetof(raft_snapshot_req_t, chunk));
    ASSERT_EQ(32, sizeof(raft_snapshot_resp_t));
    ASSERT_EQ(64, sizeof(raft_appendentries_req_t));
    ASSERT_EQ(56, offsetof(raft_appendentries_req_t, entries));
    ASSERT_EQ(32, sizeof(raft_appendentries_resp_t));
    ASSERT_EQ(24, offsetof(raft_appendentries_resp_t, current_idx));
    ASSERT_EQ(19 * 8, sizeof(raft_cbs_t));
    ASSERT_EQ(4 * 8, sizeof(raft_log_cbs_t));
    ASSERT_EQ(12 * 8, sizeof(raft_log_impl_t));
#endif
}

TEST(abi_enum_constants_have_the_contract_values)
{
    ASSERT_EQ(-2, RAFT_ERR_NOT_LEADER);
    ASSERT_EQ(-3, RAFT_ERR_ONE_VOTING_CHANGE_ONLY);
    ASSERT_EQ(-4, RAFT_ERR_SHUTDOWN);
    ASSERT_EQ(-5, RAFT_ERR_NOMEM);
    ASSERT_EQ(-6, RAFT_ERR_SNAPSHOT_IN_PROGRESS);
    ASSERT_EQ(-7, RAFT_ERR_SNAPSHOT_ALREADY_LOADED);
    ASSERT_EQ(-8, RAFT_ERR_INVALID_NODEID);
    ASSERT_EQ(-9, RAFT_ERR_LEADER_TRANSFER_IN_PROGRESS);
    ASSERT_EQ(-10, RAFT_ERR_DONE);
    ASSERT_EQ(-11, RAFT_ERR_STALE_TERM);
    ASSERT_EQ(-12, RAFT_ERR_NOTFOUND);
    ASSERT_EQ(-13, RAFT_ERR_MISUSE);
    ASSERT_EQ(0, RAFT_MEMBERSHIP_ADD);
    ASSERT_EQ(1, RAFT_MEMBERSHIP_REMOVE);
    ASSERT_EQ(1, RAFT_STATE_FOLLOWER);
    ASSERT_EQ(2, RAFT_STATE_PRECANDIDATE);
    ASSERT_EQ(3, RAFT_STATE_CANDIDATE);
    ASSERT_EQ(4, RAFT_STATE_LEADER);
    ASSERT_EQ(0, RAFT_LEADER_TRANSFER_TIMEOUT);
    ASSERT_EQ(1, RAFT_LEADER_TRANSFER_UNEXPECTED_LEADER);
    ASSERT_EQ(2, RAFT_LEADER_TRANSFER_EXPECTED_LEADER);
    ASSERT_EQ(1, RAFT_CONFIG_ELECTION_TIMEOUT);
    ASSERT_EQ(2, RAFT_CONFIG_REQUEST_TIMEOUT);
    ASSERT_EQ(3, RAFT_CONFIG_AUTO_FLUSH);
    ASSERT_EQ(4, RAFT_CONFIG_LOG_ENABLED);
    ASSERT_EQ(5, RAFT_CONFIG_NONBLOCKING_APPLY);
    ASSERT_EQ(6, RAFT_CONFIG_DISABLE_APPLY);
    ASSERT_EQ(-1, RAFT_NODE_ID_NONE);
    ASSERT_EQ(0, RAFT_LOGTYPE_NORMAL);
    ASSERT_EQ(1, RAFT_LOGTYPE_ADD_NONVOTING_NODE);
    ASSERT_EQ(2, RAFT_LOGTYPE_ADD_NODE);
    ASSERT_EQ(3, RAFT_LOGTYPE_REMOVE_NODE);
    ASSERT_EQ(4, RAFT_LOGTYPE_NO_OP);
    ASSERT_EQ(100, RAFT_LOGTYPE_NUM);
    /* The enum typedefs exist under their contract names. */
    raft_error_e err = RAFT_ERR_DONE;
    raft_membership_e mem = RAFT_MEMBERSHIP_ADD;
    raft_state_e st = RAFT_STATE_LEADER;
    raft_leader_transfer_e tr = RAFT_LEADER_TRANSFER_TIMEOUT;
    raft_config_e cf = RAFT_CONFIG_AUTO_FLUSH;
    raft_logtype_e lt = RAFT_LOGTYPE_NO_OP;
    (void)err; (void)mem; (void)st; (void)tr; (void)cf; (void)lt;
}

/* -------------------------------- callback typedefs, checked by the compiler */
static int f_send_rv(raft_server_t *r, void *u, raft_node_t *n, raft_requestvote_req_t *m) { (void)r; (void)u; (void)n; (void)m; return 0; }
static int f_send_ae(raft_server_t *r, void *u, raft_node_t *n, raft_appendentries_req_t *m) { (void)r; (void)u; (void)n; (void)m; return 0; }
static int f_send_snap(raft_server_t *r, void *u, raft_node_t *n, raft_snapshot_req_t *m) { (void)r; (void)u; (void)n; (void)m; return 0; }
static int f_load_snap(raft_server_t *r, void *u, raft_term_t t, raft_index_t i) { (void)r; (void)u; (void)t; (void)i; return 0; }
static int f_get_chunk(raft_server_t *r, void *u, raft_node_t *n, raft_size_t o, raft_snapshot_chunk_t *c) { (void)r; (void)u; (void)n; (void)o; (void)c; return 0; }
static int f_store_chunk(raft_server_t *r, void *u, raft_index_t i, raft_size_t o, raft_snapshot_chunk_t *c) { (void)r; (void)u; (void)i; (void)o; (void)c; return 0; }
static int f_clear_snap(raft_server_t *r, void *u) { (void)r; (void)u; return 0; }
static int f_sufficient(raft_server_t *r, void *u, raft_node_t *n) { (void)r; (void)u; (void)n; return 0; }
static void f_log(raft_server_t *r, raft_node_id_t id, void *u, const char *b) { (void)r; (void)id; (void)u; (void)b; }
static int f_persist(raft_server_t *r, void *u, raft_term_t t, raft_node_id_t v) { (void)r; (void)u; (void)t; (void)v; return 0; }
static int f_entry_ev(raft_server_t *r, void *u, raft_entry_t *e, raft_index_t i) { (void)r; (void)u; (void)e; (void)i; return 0; }
static raft_node_id_t f_node_id(raft_server_t *r, void *u, raft_entry_t *e, raft_index_t i) { (void)r; (void)u; (void)e; (void)i; return 0; }
static void f_membership(raft_server_t *r, void *u, raft_node_t *n, raft_entry_t *e, raft_membership_e t) { (void)r; (void)u; (void)n; (void)e; (void)t; }
static void f_state(raft_server_t *r, void *u, raft_state_e s) { (void)r; (void)u; (void)s; }
static void f_transfer(raft_server_t *r, void *u, raft_leader_transfer_e s) { (void)r; (void)u; (void)s; }
static int f_timeoutnow(raft_server_t *r, void *u, raft_node_t *n) { (void)r; (void)u; (void)n; return 0; }
static int f_backpressure(raft_server_t *r, void *u, raft_node_t *n) { (void)r; (void)u; (void)n; return 0; }
static raft_index_t f_entries(raft_server_t *r, void *u, raft_node_t *n, raft_index_t i, raft_index_t c, raft_entry_t **e) { (void)r; (void)u; (void)n; (void)i; (void)c; (void)e; return 0; }
static raft_time_t f_timestamp(raft_server_t *r, void *u) { (void)r; (void)u; return 0; }
static void f_notify(void *a, raft_entry_t *e, raft_index_t i) { (void)a; (void)e; (void)i; }
static void f_read(void *a, int c) { (void)a; (void)c; }

TEST(abi_callback_typedefs_take_the_contract_prototypes)
{
    raft_cbs_t cbs = {
        .send_requestvote = f_send_rv, .send_appendentries = f_send_ae,
        .send_snapshot = f_send_snap, .load_snapshot = f_load_snap,
        .get_snapshot_chunk = f_get_chunk, .store_snapshot_chunk = f_store_chunk,
        .clear_snapshot = f_clear_snap, .applylog = f_entry_ev,
        .persist_metadata = f_persist, .get_node_id = f_node_id,
        .node_has_sufficient_logs = f_sufficient,
        .notify_membership_event = f_membership, .notify_state_event = f_state,
        .notify_transfer_event = f_transfer, .log = f_log,
        .send_timeoutnow = f_timeoutnow, .backpressure = f_backpressure,
        .get_entries_to_send = f_entries, .timestamp = f_timestamp,
    };
    raft_log_cbs_t lcbs = { f_entry_ev, f_entry_ev, f_entry_ev, f_entry_ev };
    raft_entry_notify_f nf = f_notify;
    raft_read_request_callback_f rf = f_read;
    raft_logentry_event_f le = f_entry_ev;
    (void)nf; (void)rf; (void)le;
    ASSERT(cbs.timestamp == f_timestamp);
    ASSERT(lcbs.log_clear == f_entry_ev);
    /* And the server takes them. */
    raft_server_t *r = raft_new();
    raft_set_callbacks(r, &cbs, NULL);
    raft_destroy(r);
}

TEST(abi_builtin_log_vtable_is_exported)
{
    const raft_log_impl_t *impl = &raft_log_internal_impl;
    ASSERT(impl->init != NULL);
    ASSERT(impl->append != NULL);
}

TEST_MAIN()
