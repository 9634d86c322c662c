/* A read that arrives while a server is becoming leader (from its
 * `notify_state_event`, which runs before the new term's no-op is
 * appended) must wait, like any other read of the new leadership, for an
 * entry of the new term to commit: until then the new leader's commit
 * index may lag what the old leader committed.
 *
 * Node 1 of {1, 2, 3} holds entries 1 and 2 of term 1 from leader 2, which
 * committed both (on itself and node 1) but told node 1 only of entry 1.
 * Node 1 then leads term 2 with node 3's vote; node 3 holds entry 1 only.
 * Node 3's answer to the new leader (of term 2, a rejection) makes a
 * majority acknowledging the leadership after the read arrived, but the
 * state machine has applied entry 1 only: serving the read then would
 * miss entry 2, a committed write. */
#include "raft.h"
#include "raft_compat.h"
#include "test.h"
#include "support/pair.h"

static struct {
    raft_server_t *r;
    int read_on_leader;     /* queue a read from notify_state_event(LEADER) */
    int read_rc;
    int reads_done, can_read;
    raft_index_t applied_when_read;
    raft_msg_id_t last_msg_to_3;
} s;

static void read_done(void *arg, int can_read)
{
    (void)arg;
    s.reads_done++;
    s.can_read = can_read;
    s.applied_when_read = raft_get_last_applied_idx(s.r);
}

static void cb_state(raft_server_t *r, void *ud, raft_state_e state)
{
    (void)ud;
    if (state == RAFT_STATE_LEADER && s.read_on_leader) {
        s.read_on_leader = 0;
        s.read_rc = raft_recv_read_request(r, read_done, NULL);
    }
}

static int cb_send_ae(raft_server_t *r, void *ud, raft_node_t *n, raft_appendentries_req_t *m)
{
    (void)r; (void)ud;
    if (raft_node_get_id(n) == 3)
        s.last_msg_to_3 = m->msg_id;
    return 0;
}

static int cb_send_rv(raft_server_t *r, void *ud, raft_node_t *n, raft_requestvote_req_t *m)
{
    (void)r; (void)ud; (void)n; (void)m;
    return 0;
}

static raft_entry_t *entry_of_term(raft_term_t term)
{
    raft_entry_t *e = raft_entry_new(1);
    ASSERT(e != NULL);
    e->term = term;
    e->type = RAFT_LOGTYPE_NORMAL;
    e->data[0] = 'x';
    return e;
}

static void answer_from_3(int success, raft_index_t current_idx)
{
    raft_appendentries_resp_t resp = {
        .msg_id = s.last_msg_to_3,
        .term = raft_get_current_term(s.r),
        .success = success,
        .current_idx = current_idx,
    };
    ASSERT_EQ(0, raft_recv_appendentries_response(s.r, raft_get_node(s.r, 3), &resp));
}

/* Node 1 following leader 2 of term 1, entries 1 and 2 held, 1 committed
 * and applied. */
static raft_server_t *follower_with_entry_2_uncommitted(void)
{
    memset(&s, 0, sizeof(s));
    raft_cbs_t cbs;
    memset(&cbs, 0, sizeof(cbs));
    cbs.send_appendentries = cb_send_ae;
    cbs.send_requestvote = cb_send_rv;
    cbs.notify_state_event = cb_state;
    raft_server_t *r = trio_follower_new(&cbs, NULL);
    ASSERT(r != NULL);
    s.r = r;
    raft_entry_t *entries[2] = { entry_of_term(1), entry_of_term(1) };
    raft_appendentries_req_t req = {
        .leader_id = 2, .msg_id = 1, .term = 1, .prev_log_idx = 0, .prev_log_term = 0,
        .leader_commit = 1, .n_entries = 2, .entries = entries,
    };
    raft_appendentries_resp_t resp;
    ASSERT_EQ(0, raft_recv_appendentries(r, raft_get_node(r, 2), &req, &resp));
    raft_entry_release(entries[0]);
    raft_entry_release(entries[1]);
    ASSERT(resp.success);
    ASSERT_EQ(2, raft_get_current_idx(r));
    ASSERT_EQ(1, raft_get_commit_idx(r));
    ASSERT_EQ(1, raft_get_last_applied_idx(r));
    return r;
}

static void check_read_waits_for_the_new_terms_entry(raft_server_t *r)
{
    ASSERT(raft_is_leader(r));
    ASSERT_EQ(0, s.read_rc);
    ASSERT_EQ(3, raft_get_current_idx(r));     /* the no-op of term 2 */
    /* Node 3 (entry 1 only) rejects the first message: it acknowledges the
     * leadership of term 2, and nothing new commits. */
    answer_from_3(0, 1);
    ASSERT_EQ(1, raft_get_commit_idx(r));
    ASSERT_EQ(0, raft_periodic_internal(r, 1));
    ASSERT_EQ(0, s.reads_done);
    /* Node 3 catches up: the no-op commits (entry 2 with it), and the read is
     * served once both are applied. */
    ASSERT_EQ(0, raft_send_appendentries(r, raft_get_node(r, 3)));
    answer_from_3(1, 3);
    ASSERT_EQ(3, raft_get_commit_idx(r));
    ASSERT_EQ(0, raft_periodic_internal(r, 1));
    ASSERT_EQ(1, s.reads_done);
    ASSERT_EQ(1, s.can_read);
    ASSERT(s.applied_when_read >= 3);
}

TEST(review_read_queued_by_notify_state_event_waits_for_the_new_terms_entry)
{
    raft_server_t *r = follower_with_entry_2_uncommitted();
    ASSERT_EQ(0, raft_set_current_term(r, 2));
    s.read_on_leader = 1;
    ASSERT_EQ(0, raft_become_leader(r));
    check_read_waits_for_the_new_terms_entry(r);
    raft_destroy(r);
}

/* The same, the leadership won by an election (the vote of node 3). */
TEST(review_read_queued_on_winning_an_election_waits_for_the_new_terms_entry)
{
    raft_server_t *r = follower_with_entry_2_uncommitted();
    ASSERT_EQ(0, raft_become_candidate(r));
    ASSERT_EQ(2, raft_get_current_term(r));
    s.read_on_leader = 1;
    raft_requestvote_resp_t vote = { .prevote = 0, .request_term = 2, .term = 2, .vote_granted = 1 };
    ASSERT_EQ(0, raft_recv_requestvote_response(r, raft_get_node(r, 3), &vote));
    check_read_waits_for_the_new_terms_entry(r);
    raft_destroy(r);
}

TEST_MAIN()
