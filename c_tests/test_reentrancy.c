/* Callbacks call back into the same server. DESIGN.md: a re-entrant read is
 * fine, a conflicting re-entrant mutation returns RAFT_ERR_MISUSE (never UB),
 * and raft_destroy from inside a callback is refused (README.md), so the
 * server is still there, and usable, once the outer call returns. */
#include "raft.h"
#include "raft_compat.h"
#include "support/pair.h"
#include "test.h"

#define OK_OR_MISUSE(rc) ASSERT((rc) == 0 || (rc) == RAFT_ERR_MISUSE)

static struct {
    int applied, offered, popped, states, memberships, persisted, sends, reads;
    int propose_from_apply, destroy_from_apply, destroy_from_state,
        destroy_from_send, remove_from_membership, respond_in_send,
        periodic_from_apply, truncate_in_send, truncate_in_apply;
    int nested_rc;
    int checked;            /* entries whose data a callback read back */
    int depth;
    raft_entry_t *kept;     /* an entry held beyond a send callback */
    raft_node_id_t cfg_node;
    raft_index_t disable_apply_at;      /* applylog turns applying off here */
    raft_index_t jump_at, jump_to;      /* applylog moves last applied here */
    raft_index_t swap_cbs_at;           /* applylog installs other callbacks */
    int applied_by_other;               /* entries the other applylog saw */
    void *other_udata;                  /* user data the other applylog got */
    raft_index_t order[16];             /* indexes applylog saw, in order */
} s;

static int cb_persist(raft_server_t *r, void *ud, raft_term_t t, raft_node_id_t v)
{
    (void)ud; (void)t; (void)v;
    s.persisted++;
    (void)raft_get_current_term(r);
    (void)raft_get_voted_for(r);
    (void)raft_get_state(r);
    return 0;
}

static void swap_callbacks(raft_server_t *r);

static int cb_apply(raft_server_t *r, void *ud, raft_entry_t *e, raft_index_t idx)
{
    (void)ud;
    if (s.applied < (int)(sizeof(s.order) / sizeof(s.order[0])))
        s.order[s.applied] = idx;
    s.applied++;
    if (s.disable_apply_at == idx)
        s.nested_rc = raft_config(r, 1, RAFT_CONFIG_DISABLE_APPLY, 1);
    if (s.truncate_in_apply) {
        /* Pull every later entry out of the log behind the server's back
         * (once), then read this one: it must still be intact. */
        if (s.truncate_in_apply == 1) {
            s.truncate_in_apply = 2;
            s.nested_rc = raft_log_delete(raft_get_log(r), idx + 1);
        }
        ASSERT_EQ(4, e->data_len);
        ASSERT_EQ(0, memcmp(e->data, "data", 4));
        s.checked++;
        return 0;
    }
    ASSERT(raft_get_commit_idx(r) >= idx);
    raft_index_t la = raft_get_last_applied_idx(r);
    ASSERT(la == idx || la == idx - 1);
    raft_entry_t *g = raft_get_entry_from_idx(r, idx);
    ASSERT_PTR_EQ(e, g);
    raft_entry_release(g);
    (void)raft_get_current_term(r);
    (void)raft_is_leader(r);
    (void)raft_node_get_match_idx(raft_get_my_node(r));
    (void)raft_get_num_nodes(r);
    (void)raft_pending_operations(r);
    if (s.propose_from_apply) {
        s.propose_from_apply = 0;
        raft_entry_t *n = raft_entry_new(3);
        memcpy(n->data, "new", 3);
        raft_entry_resp_t resp;
        s.nested_rc = raft_recv_entry(r, n, &resp);
        OK_OR_MISUSE(s.nested_rc);
        raft_entry_release(n);
    }
    if (s.periodic_from_apply) {
        s.periodic_from_apply = 0;
        s.nested_rc = raft_periodic(r);
        OK_OR_MISUSE(s.nested_rc);
    }
    if (s.destroy_from_apply) {
        s.destroy_from_apply = 0;
        raft_destroy(r); /* refused */
        raft_entry_t *g2 = raft_get_entry_from_idx(r, idx);
        ASSERT_PTR_EQ(e, g2);
        raft_entry_release(g2);
    }
    if (s.jump_at == idx)
        raft_set_last_applied_idx(r, s.jump_to);
    if (s.swap_cbs_at == idx)
        swap_callbacks(r);
    return 0;
}

static int cb_offer(raft_server_t *r, void *ud, raft_entry_t *e, raft_index_t idx)
{
    (void)ud; (void)e;
    s.offered++;
    raft_index_t cur = raft_get_current_idx(r);
    ASSERT(cur == idx || cur == idx - 1);
    (void)raft_get_log_count(r);
    if (idx > 1) {
        raft_entry_t *prev = raft_get_entry_from_idx(r, idx - 1);
        ASSERT(prev != NULL);
        raft_entry_release(prev);
    }
    return 0;
}

static int cb_pop(raft_server_t *r, void *ud, raft_entry_t *e, raft_index_t idx)
{
    (void)ud; (void)e; (void)idx;
    s.popped++;
    (void)raft_get_current_idx(r);
    (void)raft_get_log_count(r);
    return 0;
}

static void cb_state(raft_server_t *r, void *ud, raft_state_e st)
{
    (void)ud;
    s.states++;
    ASSERT_EQ(st, raft_get_state(r));
    ASSERT_EQ(st == RAFT_STATE_LEADER, raft_is_leader(r));
    (void)raft_get_state_str(r);
    (void)raft_get_leader_id(r);
    if (s.destroy_from_state) {
        s.destroy_from_state = 0;
        raft_destroy(r); /* refused */
        (void)raft_get_current_term(r);
    }
}

static raft_node_id_t cb_node_id(raft_server_t *r, void *ud, raft_entry_t *e, raft_index_t idx)
{
    (void)r; (void)ud; (void)e; (void)idx;
    return s.cfg_node;
}

static void cb_membership(raft_server_t *r, void *ud, raft_node_t *node, raft_entry_t *e,
                          raft_membership_e type)
{
    (void)ud; (void)e;
    s.memberships++;
    (void)raft_get_num_nodes(r);
    (void)raft_get_num_voting_nodes(r);
    (void)raft_voting_change_is_in_progress(r);
    if (node) {
        raft_node_id_t id = raft_node_get_id(node);
        if (type == RAFT_MEMBERSHIP_ADD)
            ASSERT_PTR_EQ(node, raft_get_node(r, id));
        (void)raft_node_is_voting(node);
        if (s.remove_from_membership && id != raft_get_nodeid(r)) {
            s.remove_from_membership = 0;
            raft_remove_node(r, node); /* refused or deferred */
        }
    }
}

static int cb_send_rv(raft_server_t *r, void *ud, raft_node_t *n, raft_requestvote_req_t *m)
{
    (void)ud; (void)m;
    s.sends++;
    (void)raft_node_get_id(n);
    (void)raft_get_current_term(r);
    return 0;
}

static int cb_send_ae(raft_server_t *r, void *ud, raft_node_t *n, raft_appendentries_req_t *m)
{
    (void)ud;
    s.sends++;
    ASSERT(raft_is_leader(r));
    ASSERT_EQ(m->term, raft_get_current_term(r));
    (void)raft_node_get_next_idx(n);
    (void)raft_node_get_match_idx(n);
    for (raft_index_t i = 0; i < m->n_entries && !s.truncate_in_send; i++) {
        raft_entry_t *g = raft_get_entry_from_idx(r, m->prev_log_idx + 1 + i);
        ASSERT(g != NULL);
        ASSERT_PTR_EQ(m->entries[i], g);
        raft_entry_release(g);
        if (m->entries[i]->type == RAFT_LOGTYPE_NORMAL && !s.kept) {
            /* Messages are only valid during the callback: hold what we keep. */
            s.kept = m->entries[i];
            raft_entry_hold(s.kept);
        }
    }
    if (s.truncate_in_send) {
        /* Drop the entries being sent from the log, then read them: the
         * message stays valid for the whole callback. */
        s.truncate_in_send = 0;
        s.nested_rc = raft_log_delete(raft_get_log(r), m->prev_log_idx + 1);
        for (raft_index_t i = 0; i < m->n_entries; i++) {
            ASSERT(m->entries[i]->data_len == 4);
            ASSERT_EQ(0, memcmp(m->entries[i]->data, "data", 4));
            s.checked++;
        }
    }
    if (s.destroy_from_send) {
        s.destroy_from_send = 0;
        raft_destroy(r); /* refused */
    }
    if (s.respond_in_send && s.depth < 8) {
        raft_appendentries_resp_t resp;
        memset(&resp, 0, sizeof(resp));
        resp.msg_id = m->msg_id;
        resp.term = m->term;
        resp.success = 1;
        resp.current_idx = m->prev_log_idx + m->n_entries;
        s.depth++;
        s.nested_rc = raft_recv_appendentries_response(r, n, &resp);
        s.depth--;
        OK_OR_MISUSE(s.nested_rc);
    }
    return 0;
}

static raft_index_t cb_entries_to_send(raft_server_t *r, void *ud, raft_node_t *n,
                                       raft_index_t idx, raft_index_t max,
                                       raft_entry_t **entries)
{
    (void)ud; (void)n;
    raft_index_t got = 0;
    while (got < max && got < 2) { /* at most two per message */
        raft_entry_t *e = raft_get_entry_from_idx(r, idx + got);
        if (!e)
            break;
        entries[got++] = e;
    }
    return got;
}

static raft_cbs_t callbacks(void)
{
    raft_cbs_t cbs;
    memset(&cbs, 0, sizeof(cbs));
    cbs.persist_metadata = cb_persist;
    cbs.applylog = cb_apply;
    cbs.notify_state_event = cb_state;
    cbs.notify_membership_event = cb_membership;
    cbs.get_node_id = cb_node_id;
    cbs.send_appendentries = cb_send_ae;
    cbs.send_requestvote = cb_send_rv;
    return cbs;
}

static int cb_apply_other(raft_server_t *r, void *ud, raft_entry_t *e, raft_index_t idx)
{
    (void)r; (void)e;
    if (s.applied < (int)(sizeof(s.order) / sizeof(s.order[0])))
        s.order[s.applied] = idx;
    s.applied++;
    s.applied_by_other++;
    s.other_udata = ud;
    return 0;
}

/* Replaces the callback table from inside applylog: the rest of the run
 * must go to the new applylog, with the new user data. */
static void swap_callbacks(raft_server_t *r)
{
    raft_cbs_t cbs = callbacks();
    cbs.applylog = cb_apply_other;
    raft_set_callbacks(r, &cbs, &s);
}

static raft_server_t *single(void)
{
    raft_server_t *r = raft_new();
    raft_cbs_t cbs = callbacks();
    raft_set_callbacks(r, &cbs, NULL);
    raft_log_cbs_t lcbs;
    memset(&lcbs, 0, sizeof(lcbs));
    lcbs.log_offer = cb_offer;
    lcbs.log_pop = cb_pop;
    raft_log_set_callbacks(raft_get_log(r), &lcbs, r);
    raft_add_node(r, NULL, 1, 1);
    return r;
}

/* Node 1 of {1, 2}, a follower that node 2's appendentries can reach. */
static raft_server_t *follower_of_node_2(void)
{
    raft_cbs_t cbs = callbacks();
    raft_server_t *r = pair_follower_new(&cbs, NULL);
    ASSERT(r != NULL);
    return r;
}

/* Leader of {1, 2}: term 1, node 2 not yet answered. */
static raft_server_t *pair_leader(void)
{
    raft_cbs_t cbs = callbacks();
    raft_server_t *r = pair_leader_new(&cbs, NULL);
    ASSERT(r != NULL);
    return r;
}

TEST(reentrancy_state_callback_reads_the_new_state)
{
    raft_server_t *r = single();
    ASSERT_EQ(0, raft_periodic(r));
    ASSERT(raft_is_leader(r));
    ASSERT(s.states >= 1);
    ASSERT(s.persisted >= 1);
    raft_destroy(r);
}

TEST(reentrancy_log_offer_may_read_the_server)
{
    raft_server_t *r = single();
    raft_periodic(r);
    for (int i = 0; i < 3; i++)
        ASSERT_EQ(0, propose_text(r, "x"));
    ASSERT_EQ(4, s.offered); /* the no-op and three entries */
    raft_destroy(r);
}

TEST(reentrancy_log_pop_may_read_the_server)
{
    raft_server_t *r = single();
    raft_entry_t *e = raft_entry_new(0);
    e->term = 1;
    raft_append_entry(r, e);
    raft_append_entry(r, e);
    raft_entry_release(e);
    ASSERT_EQ(0, raft_pop_entry(r));
    ASSERT_EQ(1, s.popped);
    ASSERT_EQ(1, raft_get_current_idx(r));
    raft_destroy(r);
}

TEST(reentrancy_applylog_may_read_the_server_and_fetch_its_entry)
{
    raft_server_t *r = single();
    raft_periodic(r);
    for (int i = 0; i < 5; i++)
        ASSERT_EQ(0, propose_text(r, "abc"));
    ASSERT_EQ(6, s.applied);
    ASSERT_EQ(6, raft_get_last_applied_idx(r));
    raft_destroy(r);
}

TEST(reentrancy_applylog_may_propose_a_new_entry)
{
    raft_server_t *r = single();
    raft_periodic(r);
    s.propose_from_apply = 1;
    ASSERT_EQ(0, propose_text(r, "first"));
    if (s.nested_rc == 0) {
        /* Accepted: it is in the log and gets applied, now or on the next
         * periodic. */
        ASSERT_EQ(3, raft_get_current_idx(r));
        for (int i = 0; i < 3 && raft_get_last_applied_idx(r) < 3; i++)
            raft_periodic(r);
        ASSERT_EQ(3, raft_get_last_applied_idx(r));
    } else {
        ASSERT_EQ(2, raft_get_current_idx(r));
    }
    raft_entry_t *e = raft_get_entry_from_idx(r, 2);
    ASSERT(e != NULL && e->data_len == 5 && memcmp(e->data, "first", 5) == 0);
    raft_entry_release(e);
    raft_destroy(r);
}

TEST(reentrancy_applylog_may_call_periodic)
{
    raft_server_t *r = single();
    raft_periodic(r);
    s.periodic_from_apply = 1;
    ASSERT_EQ(0, propose_text(r, "tick"));
    ASSERT(raft_is_leader(r));
    ASSERT_EQ(2, raft_get_last_applied_idx(r));
    raft_destroy(r);
}

TEST(reentrancy_destroy_from_applylog_is_refused)
{
    raft_server_t *r = single();
    raft_periodic(r);
    s.destroy_from_apply = 1;
    ASSERT_EQ(0, propose_text(r, "boom"));
    /* Still alive and working. */
    ASSERT(raft_is_leader(r));
    ASSERT_EQ(2, raft_get_last_applied_idx(r));
    ASSERT_EQ(0, propose_text(r, "after"));
    ASSERT_EQ(3, raft_get_last_applied_idx(r));
    raft_destroy(r);
}

TEST(reentrancy_destroy_from_state_callback_is_refused)
{
    raft_server_t *r = single();
    s.destroy_from_state = 1;
    raft_periodic(r);
    ASSERT(raft_is_leader(r));
    ASSERT_EQ(0, propose_text(r, "still here"));
    raft_destroy(r);
}

TEST(reentrancy_send_callback_may_read_and_hold_entries)
{
    raft_server_t *r = pair_leader();
    ASSERT_EQ(0, propose_text(r, "kept"));
    ASSERT(s.sends >= 1);
    /* The leader's own heartbeat can be the only send before the entry;
     * a send of everything from the start settles it. */
    if (!s.kept) {
        raft_node_set_next_idx(raft_get_node(r, 2), 1);
        ASSERT_EQ(0, raft_send_appendentries(r, raft_get_node(r, 2)));
    }
    raft_destroy(r);
    ASSERT(s.kept != NULL);
    ASSERT_EQ(4, s.kept->data_len);
    ASSERT_EQ(0, memcmp(s.kept->data, "kept", 4));
    ASSERT_EQ(1, s.kept->refs);
    raft_entry_release(s.kept);
}

TEST(reentrancy_send_callback_may_deliver_the_response_at_once)
{
    raft_server_t *r = pair_leader();
    s.respond_in_send = 1;
    for (int i = 0; i < 3; i++)
        ASSERT_EQ(0, propose_text(r, "sync"));
    ASSERT(raft_is_leader(r));
    if (s.nested_rc == 0) {
        /* Accepted in place: everything is committed without further help,
         * at most after a flush of pending work. */
        for (int i = 0; i < 3 && raft_get_commit_idx(r) < 4; i++)
            raft_periodic_internal(r, 1);
        ASSERT_EQ(4, raft_get_commit_idx(r));
    }
    /* Whatever happened, a response delivered now is accepted. */
    s.respond_in_send = 0;
    raft_destroy(r);
    if (s.kept)
        raft_entry_release(s.kept);
}

TEST(reentrancy_destroy_from_send_callback_is_refused)
{
    raft_server_t *r = pair_leader();
    s.destroy_from_send = 1;
    ASSERT_EQ(0, propose_text(r, "x"));
    ASSERT(raft_is_leader(r));
    ASSERT_EQ(0, raft_send_appendentries_all(r));
    raft_destroy(r);
    if (s.kept)
        raft_entry_release(s.kept);
}

TEST(reentrancy_get_entries_to_send_may_fetch_entries)
{
    raft_cbs_t cbs = callbacks();
    cbs.get_entries_to_send = cb_entries_to_send;
    raft_server_t *r = pair_leader_new(&cbs, NULL);
    ASSERT(r != NULL);
    for (int i = 0; i < 5; i++)
        ASSERT_EQ(0, propose_text(r, "batch"));
    raft_node_set_next_idx(raft_get_node(r, 2), 1);
    ASSERT_EQ(0, raft_send_appendentries(r, raft_get_node(r, 2)));
    ASSERT(s.sends >= 1);
    raft_destroy(r);
    if (s.kept)
        raft_entry_release(s.kept);
}

/* Regression: sending and applying lend runs of the log without holding each
 * entry; a callback that removes them from the log must not free them under
 * the library's feet (valgrind in `make test-asan` checks the reads). */
TEST(reentrancy_send_callback_may_remove_the_entries_it_is_sent)
{
    raft_server_t *r = pair_leader();
    for (int i = 0; i < 4; i++)
        ASSERT_EQ(0, propose_text(r, "data"));
    raft_node_set_next_idx(raft_get_node(r, 2), 2);
    s.truncate_in_send = 1;
    ASSERT_EQ(0, raft_send_appendentries(r, raft_get_node(r, 2)));
    ASSERT_EQ(0, s.nested_rc);
    ASSERT_EQ(4, s.checked);
    ASSERT_EQ(1, raft_get_current_idx(r));
    /* The server goes on: it can take and send new entries. */
    ASSERT_EQ(0, propose_text(r, "more"));
    ASSERT_EQ(2, raft_get_current_idx(r));
    raft_destroy(r);
    if (s.kept)
        raft_entry_release(s.kept);
}

static int append_committed(raft_server_t *r, int n)
{
    raft_entry_t *ents[8];
    for (int i = 0; i < n; i++) {
        ents[i] = raft_entry_new(4);
        memcpy(ents[i]->data, "data", 4);
        ents[i]->term = 1;
    }
    raft_appendentries_req_t req;
    memset(&req, 0, sizeof(req));
    req.term = 1;
    req.leader_id = 2;
    req.msg_id = 1;
    req.leader_commit = n;
    req.n_entries = n;
    req.entries = ents;
    raft_appendentries_resp_t resp;
    int rc = raft_recv_appendentries(r, raft_get_node(r, 2), &req, &resp);
    for (int i = 0; i < n; i++)
        raft_entry_release(ents[i]);
    return rc == 0 && resp.success ? 0 : -1;
}

TEST(reentrancy_applylog_may_remove_entries_being_applied)
{
    raft_server_t *r = follower_of_node_2();
    s.truncate_in_apply = 1;
    ASSERT_EQ(0, append_committed(r, 6));
    ASSERT_EQ(0, s.nested_rc);
    ASSERT_EQ(1, raft_get_current_idx(r));
    /* Every entry handed to applylog was intact, removed or not. */
    ASSERT(s.checked >= 1);
    ASSERT_EQ(s.applied, s.checked);
    raft_periodic(r);
    raft_destroy(r);
}

/* Entries 1..n were each handed to applylog once, in order. */
static void assert_applied_once_in_order(raft_server_t *r, int n)
{
    ASSERT_EQ(n, raft_get_last_applied_idx(r));
    ASSERT_EQ(n, s.applied);
    for (int i = 0; i < n; i++)
        ASSERT_EQ(i + 1, s.order[i]);
}

TEST(reentrancy_applylog_disabling_apply_stops_after_that_entry)
{
    raft_server_t *r = follower_of_node_2();
    s.disable_apply_at = 3;
    ASSERT_EQ(0, append_committed(r, 6));
    ASSERT_EQ(0, raft_periodic(r));
    ASSERT_EQ(0, s.nested_rc);
    ASSERT_EQ(3, s.applied);
    ASSERT_EQ(3, raft_get_last_applied_idx(r));
    ASSERT_EQ(0, raft_periodic(r));
    ASSERT_EQ(3, s.applied);
    ASSERT_EQ(0, raft_config(r, 1, RAFT_CONFIG_DISABLE_APPLY, 0));
    ASSERT_EQ(0, raft_periodic(r));
    assert_applied_once_in_order(r, 6);
    raft_destroy(r);
}

TEST(reentrancy_applylog_moving_the_last_applied_index_is_respected)
{
    raft_server_t *r = follower_of_node_2();
    /* While entry 2 is applied, the application says 4 is applied already:
     * 2 is not counted over that, and applying goes on after 4. */
    s.jump_at = 2;
    s.jump_to = 4;
    ASSERT_EQ(0, append_committed(r, 6));
    ASSERT_EQ(0, raft_periodic(r));
    ASSERT_EQ(6, raft_get_last_applied_idx(r));
    ASSERT_EQ(4, s.applied);
    ASSERT_EQ(1, s.order[0]);
    ASSERT_EQ(2, s.order[1]);
    ASSERT_EQ(5, s.order[2]);
    ASSERT_EQ(6, s.order[3]);
    raft_destroy(r);
}

TEST(reentrancy_applylog_replacing_the_callbacks_takes_effect_at_the_next_entry)
{
    raft_server_t *r = follower_of_node_2();
    s.swap_cbs_at = 2;
    ASSERT_EQ(0, append_committed(r, 6));
    ASSERT_EQ(0, raft_periodic(r));
    assert_applied_once_in_order(r, 6);
    ASSERT_EQ(4, s.applied_by_other);
    ASSERT_PTR_EQ((void *)&s, s.other_udata);
    raft_destroy(r);
}

TEST(reentrancy_periodic_from_applylog_applies_each_entry_once)
{
    raft_server_t *r = follower_of_node_2();
    /* The nested raft_periodic must neither hand the entry in flight to
     * applylog again nor apply the later ones under the outer loop. */
    s.periodic_from_apply = 1;
    ASSERT_EQ(0, append_committed(r, 6));
    ASSERT_EQ(0, raft_periodic(r));
    ASSERT_EQ(0, s.nested_rc);
    assert_applied_once_in_order(r, 6);
    raft_destroy(r);
}

TEST(reentrancy_membership_callback_may_read_the_server)
{
    raft_server_t *r = single();
    raft_periodic(r);
    s.cfg_node = 2;
    raft_entry_t *e = raft_entry_new(0);
    e->type = RAFT_LOGTYPE_ADD_NONVOTING_NODE;
    raft_entry_resp_t resp;
    ASSERT_EQ(0, raft_recv_entry(r, e, &resp));
    raft_entry_release(e);
    ASSERT(s.memberships >= 1);
    ASSERT(raft_get_node(r, 2) != NULL);
    ASSERT_EQ(2, raft_get_num_nodes(r));
    raft_destroy(r);
}

TEST(reentrancy_remove_node_from_membership_callback_does_not_crash)
{
    raft_server_t *r = single();
    raft_periodic(r);
    s.cfg_node = 2;
    s.remove_from_membership = 1;
    raft_entry_t *e = raft_entry_new(0);
    e->type = RAFT_LOGTYPE_ADD_NONVOTING_NODE;
    raft_entry_resp_t resp;
    (void)raft_recv_entry(r, e, &resp);
    raft_entry_release(e);
    /* Refused or deferred: either way the node table is consistent. */
    raft_node_t *n = raft_get_node(r, 2);
    ASSERT_EQ(n ? 2 : 1, raft_get_num_nodes(r));
    for (raft_index_t i = 0; i < raft_get_num_nodes(r); i++)
        ASSERT(raft_get_node_from_idx(r, i) != NULL);
    ASSERT(raft_is_leader(r));
    raft_destroy(r);
}

static void read_cb(void *arg, int can_read)
{
    raft_server_t *r = arg;
    s.reads++;
    ASSERT(can_read);
    (void)raft_get_commit_idx(r);
    (void)raft_get_last_applied_idx(r);
    ASSERT(raft_is_leader(r));
}

TEST(reentrancy_read_request_callback_may_read_the_server)
{
    raft_server_t *r = single();
    raft_periodic(r);
    ASSERT_EQ(0, raft_recv_read_request(r, read_cb, r));
    for (int i = 0; i < 5 && s.reads == 0; i++)
        raft_periodic_internal(r, 10);
    ASSERT_EQ(1, s.reads);
    raft_destroy(r);
}

TEST_MAIN()
