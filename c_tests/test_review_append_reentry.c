/* A follower appending a leader's entries runs callbacks between them: the
 * built-in log's `log_offer` observer before each entry, and
 * `notify_membership_event` for each configuration change. A message
 * handled from inside one of them (an application pumping its network)
 * must not change the log under the append: the rest of the leader's
 * entries would land after entries of another leader (a log no leader
 * has: an entry of term 2 after one of term 3), or one index further than
 * the message says. Such a nested message is refused, as if lost (the
 * sender retries), and the outer append completes as the leader sent it.
 *
 * Node 1 of {1, 2, 3} follows node 2 in term 2 and holds entry 1 (term 1).
 * Node 2 sends entries 2 (a configuration change adding node 4) and 3
 * (term 2). The nested message is node 3's, of term 3, with its own entry 2
 * (term 3). */
#include "raft.h"
#include "raft_compat.h"
#include "test.h"
#include "support/pair.h"

static struct {
    raft_server_t *r;
    int nest_in_membership, nest_in_offer;
    int nested_rc, nested;
    raft_appendentries_resp_t nested_resp;
} s;

static raft_entry_t *entry_of_term(raft_term_t term, int type, char c)
{
    raft_entry_t *e = raft_entry_new(1);
    ASSERT(e != NULL);
    e->term = term;
    e->type = (short)type;
    e->data[0] = c;
    return e;
}

static void nested_message_from_3(void)
{
    s.nested++;
    raft_entry_t *x = entry_of_term(3, RAFT_LOGTYPE_NORMAL, 'x');
    raft_entry_t *entries[1] = { x };
    raft_appendentries_req_t req = {
        .leader_id = 3, .msg_id = 9, .term = 3, .prev_log_idx = 1, .prev_log_term = 1,
        .leader_commit = 1, .n_entries = 1, .entries = entries,
    };
    s.nested_rc = raft_recv_appendentries(s.r, raft_get_node(s.r, 3), &req, &s.nested_resp);
    raft_entry_release(x);
}

static void cb_membership(raft_server_t *r, void *ud, raft_node_t *n, raft_entry_t *e, raft_membership_e t)
{
    (void)r; (void)ud; (void)n; (void)e;
    if (t == RAFT_MEMBERSHIP_ADD && s.nest_in_membership) {
        s.nest_in_membership = 0;
        nested_message_from_3();
    }
}

static raft_node_id_t cb_node_id(raft_server_t *r, void *ud, raft_entry_t *e, raft_index_t idx)
{
    (void)r; (void)ud; (void)e; (void)idx;
    return 4;
}

static int offer(raft_server_t *r, void *ud, raft_entry_t *e, raft_index_t idx)
{
    (void)r; (void)ud; (void)e;
    /* Before entry 3, after the configuration change went in. */
    if (idx == 3 && s.nest_in_offer) {
        s.nest_in_offer = 0;
        nested_message_from_3();
    }
    return 0;
}

static raft_server_t *follower(void)
{
    memset(&s, 0, sizeof(s));
    raft_cbs_t cbs;
    memset(&cbs, 0, sizeof(cbs));
    cbs.notify_membership_event = cb_membership;
    cbs.get_node_id = cb_node_id;
    raft_server_t *r = trio_follower_new(&cbs, NULL);
    ASSERT(r != NULL);
    s.r = r;
    raft_log_cbs_t lcbs;
    memset(&lcbs, 0, sizeof(lcbs));
    lcbs.log_offer = offer;
    raft_log_set_callbacks(raft_get_log(r), &lcbs, r);
    raft_entry_t *a = entry_of_term(1, RAFT_LOGTYPE_NORMAL, 'a');
    raft_entry_t *entries[1] = { a };
    raft_appendentries_req_t req = {
        .leader_id = 2, .msg_id = 1, .term = 2, .prev_log_idx = 0, .prev_log_term = 0,
        .leader_commit = 1, .n_entries = 1, .entries = entries,
    };
    raft_appendentries_resp_t resp;
    ASSERT_EQ(0, raft_recv_appendentries(r, raft_get_node(r, 2), &req, &resp));
    raft_entry_release(a);
    ASSERT(resp.success);
    ASSERT_EQ(2, raft_get_current_term(r));
    return r;
}

static void leader_2_sends_entries_2_and_3(raft_server_t *r)
{
    raft_entry_t *c = entry_of_term(2, RAFT_LOGTYPE_ADD_NONVOTING_NODE, 'c');
    raft_entry_t *y = entry_of_term(2, RAFT_LOGTYPE_NORMAL, 'y');
    raft_entry_t *entries[2] = { c, y };
    raft_appendentries_req_t req = {
        .leader_id = 2, .msg_id = 2, .term = 2, .prev_log_idx = 1, .prev_log_term = 1,
        .leader_commit = 1, .n_entries = 2, .entries = entries,
    };
    raft_appendentries_resp_t resp;
    ASSERT_EQ(0, raft_recv_appendentries(r, raft_get_node(r, 2), &req, &resp));
    raft_entry_release(c);
    raft_entry_release(y);
    ASSERT_EQ(1, s.nested);
    /* The nested message was refused (nothing of it taken) ... */
    ASSERT_EQ(0, s.nested_resp.success);
    /* ... and node 2's entries went in as sent. */
    ASSERT(resp.success);
    ASSERT_EQ(3, resp.current_idx);
    ASSERT_EQ(2, raft_get_current_term(r));
    ASSERT_EQ(3, raft_get_current_idx(r));
    const char want[] = { 'a', 'c', 'y' };
    const raft_term_t terms[] = { 1, 2, 2 };
    for (raft_index_t i = 1; i <= 3; i++) {
        raft_entry_t *e = raft_get_entry_from_idx(r, i);
        ASSERT(e != NULL);
        ASSERT_EQ(terms[i - 1], e->term);
        ASSERT_EQ(want[i - 1], e->data[0]);
        raft_entry_release(e);
    }
}

TEST(review_a_message_handled_in_notify_membership_event_does_not_change_the_log_under_an_append)
{
    raft_server_t *r = follower();
    s.nest_in_membership = 1;
    leader_2_sends_entries_2_and_3(r);
    raft_destroy(r);
}

TEST(review_a_message_handled_in_log_offer_does_not_change_the_log_under_an_append)
{
    raft_server_t *r = follower();
    s.nest_in_offer = 1;
    leader_2_sends_entries_2_and_3(r);
    raft_destroy(r);
}

/* Once the append is answered, the same message is taken as usual. */
TEST(review_a_message_after_the_append_is_taken)
{
    raft_server_t *r = follower();
    {
        raft_entry_t *y = entry_of_term(2, RAFT_LOGTYPE_NORMAL, 'y');
        raft_entry_t *entries[1] = { y };
        raft_appendentries_req_t req = {
            .leader_id = 2, .msg_id = 2, .term = 2, .prev_log_idx = 1, .prev_log_term = 1,
            .leader_commit = 1, .n_entries = 1, .entries = entries,
        };
        raft_appendentries_resp_t resp;
        ASSERT_EQ(0, raft_recv_appendentries(r, raft_get_node(r, 2), &req, &resp));
        raft_entry_release(y);
        ASSERT(resp.success);
    }
    nested_message_from_3();
    ASSERT_EQ(0, s.nested_rc);
    ASSERT(s.nested_resp.success);
    ASSERT_EQ(3, raft_get_current_term(r));
    raft_entry_t *e = raft_get_entry_from_idx(r, 2);
    ASSERT(e != NULL);
    ASSERT_EQ(3, e->term);
    raft_entry_release(e);
    raft_destroy(r);
}

TEST_MAIN()
