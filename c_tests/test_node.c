/* Nodes: adding, removing, looking up, counting, and every raft_node_*
 * accessor (contract and compat). */
#include "raft.h"
#include "raft_compat.h"
#include "test.h"

static int ud1, ud2, ud3;

TEST(node_add_self_makes_it_my_node)
{
    raft_server_t *r = raft_new();
    raft_node_t *n = raft_add_node(r, &ud1, 1, 1);
    ASSERT(n != NULL);
    ASSERT_EQ(1, raft_node_get_id(n));
    ASSERT_PTR_EQ(&ud1, raft_node_get_udata(n));
    ASSERT_EQ(1, raft_get_nodeid(r));
    ASSERT_PTR_EQ(n, raft_get_my_node(r));
    ASSERT_PTR_EQ(n, raft_get_node(r, 1));
    ASSERT(raft_node_is_voting(n));
    ASSERT(raft_node_is_active(n));
    raft_destroy(r);
}

TEST(node_add_other_does_not_change_my_node)
{
    raft_server_t *r = raft_new();
    raft_node_t *me = raft_add_node(r, NULL, 1, 1);
    raft_node_t *other = raft_add_node(r, &ud2, 2, 0);
    ASSERT(other != NULL && other != me);
    ASSERT_EQ(1, raft_get_nodeid(r));
    ASSERT_PTR_EQ(me, raft_get_my_node(r));
    ASSERT_PTR_EQ(other, raft_get_node(r, 2));
    ASSERT_EQ(2, raft_get_num_nodes(r));
    ASSERT_EQ(2, raft_get_num_voting_nodes(r));
    raft_destroy(r);
}

TEST(node_without_self_has_no_node_id)
{
    raft_server_t *r = raft_new();
    raft_add_node(r, NULL, 2, 0);
    ASSERT_EQ(RAFT_NODE_ID_NONE, raft_get_nodeid(r));
    ASSERT(raft_get_my_node(r) == NULL);
    raft_destroy(r);
}

TEST(node_adding_a_duplicate_voting_node_returns_null)
{
    raft_server_t *r = raft_new();
    raft_node_t *n = raft_add_node(r, NULL, 1, 1);
    ASSERT(raft_add_node(r, NULL, 1, 1) == NULL);
    ASSERT(raft_add_node(r, NULL, 1, 0) == NULL);
    ASSERT(raft_add_non_voting_node(r, NULL, 1, 0) == NULL);
    ASSERT_EQ(1, raft_get_num_nodes(r));
    ASSERT_PTR_EQ(n, raft_get_node(r, 1));
    raft_destroy(r);
}

TEST(node_adding_a_duplicate_non_voting_node_returns_null)
{
    raft_server_t *r = raft_new();
    raft_add_node(r, NULL, 1, 1);
    ASSERT(raft_add_non_voting_node(r, NULL, 2, 0) != NULL);
    ASSERT(raft_add_non_voting_node(r, NULL, 2, 0) == NULL);
    ASSERT_EQ(2, raft_get_num_nodes(r));
    raft_destroy(r);
}

/* raft.h: "If a *voting* node already exists the call will fail": adding an
 * existing non-voting node as a voter promotes that same node. */
TEST(node_add_node_on_an_existing_non_voting_node_makes_it_voting)
{
    raft_server_t *r = raft_new();
    raft_add_node(r, NULL, 1, 1);
    raft_node_t *n = raft_add_non_voting_node(r, &ud2, 2, 0);
    ASSERT_EQ(1, raft_get_num_voting_nodes(r));
    raft_node_t *again = raft_add_node(r, &ud2, 2, 0);
    ASSERT_PTR_EQ(n, again);
    ASSERT(raft_node_is_voting(n));
    ASSERT_EQ(2, raft_get_num_nodes(r));
    ASSERT_EQ(2, raft_get_num_voting_nodes(r));
    raft_destroy(r);
}

TEST(node_non_voting_nodes_are_counted_but_do_not_vote)
{
    raft_server_t *r = raft_new();
    raft_add_node(r, NULL, 1, 1);
    raft_node_t *n2 = raft_add_non_voting_node(r, &ud2, 2, 0);
    raft_node_t *n3 = raft_add_node(r, &ud3, 3, 0);
    ASSERT(n2 && n3);
    ASSERT_EQ(0, raft_node_is_voting(n2));
    ASSERT_EQ(1, raft_node_is_voting(n3));
    ASSERT_EQ(3, raft_get_num_nodes(r));
    ASSERT_EQ(2, raft_get_num_voting_nodes(r));
    raft_destroy(r);
}

TEST(node_self_may_be_non_voting)
{
    raft_server_t *r = raft_new();
    raft_node_t *me = raft_add_non_voting_node(r, NULL, 1, 1);
    ASSERT(me != NULL);
    ASSERT_EQ(1, raft_get_nodeid(r));
    ASSERT_EQ(0, raft_node_is_voting(me));
    ASSERT_EQ(1, raft_get_num_nodes(r));
    ASSERT_EQ(0, raft_get_num_voting_nodes(r));
    raft_destroy(r);
}

TEST(node_remove_forgets_the_node)
{
    raft_server_t *r = raft_new();
    raft_add_node(r, NULL, 1, 1);
    raft_node_t *n2 = raft_add_node(r, NULL, 2, 0);
    raft_add_node(r, NULL, 3, 0);
    raft_remove_node(r, n2);
    ASSERT(raft_get_node(r, 2) == NULL);
    ASSERT_EQ(2, raft_get_num_nodes(r));
    ASSERT_EQ(2, raft_get_num_voting_nodes(r));
    ASSERT(raft_get_node(r, 1) != NULL);
    ASSERT(raft_get_node(r, 3) != NULL);
    /* The id can be added again afterwards. */
    ASSERT(raft_add_node(r, NULL, 2, 0) != NULL);
    ASSERT_EQ(3, raft_get_num_nodes(r));
    raft_destroy(r);
}

TEST(node_get_node_from_idx_iterates_every_node)
{
    raft_server_t *r = raft_new();
    raft_add_node(r, NULL, 1, 1);
    raft_add_node(r, NULL, 5, 0);
    raft_add_non_voting_node(r, NULL, 9, 0);
    int seen = 0;
    for (raft_index_t i = 0; i < raft_get_num_nodes(r); i++) {
        raft_node_t *n = raft_get_node_from_idx(r, i);
        ASSERT(n != NULL);
        ASSERT_PTR_EQ(n, raft_get_node(r, raft_node_get_id(n)));
        seen |= 1 << raft_node_get_id(n);
    }
    ASSERT_EQ((1 << 1) | (1 << 5) | (1 << 9), seen);
    ASSERT(raft_get_node_from_idx(r, 3) == NULL);
    ASSERT(raft_get_node_from_idx(r, -1) == NULL);
    raft_destroy(r);
}

TEST(node_get_unknown_id_returns_null)
{
    raft_server_t *r = raft_new();
    ASSERT(raft_get_node(r, 1) == NULL);
    raft_add_node(r, NULL, 1, 1);
    ASSERT(raft_get_node(r, 2) == NULL);
    ASSERT(raft_get_node(r, RAFT_NODE_ID_NONE) == NULL);
    raft_destroy(r);
}

TEST(node_pointer_is_stable_while_other_nodes_come_and_go)
{
    raft_server_t *r = raft_new();
    raft_node_t *me = raft_add_node(r, &ud1, 1, 1);
    for (int i = 2; i < 100; i++)
        ASSERT(raft_add_node(r, NULL, i, 0) != NULL);
    for (int i = 2; i < 100; i += 2)
        raft_remove_node(r, raft_get_node(r, i));
    ASSERT_PTR_EQ(me, raft_get_node(r, 1));
    ASSERT_PTR_EQ(&ud1, raft_node_get_udata(me));
    ASSERT_EQ(50, raft_get_num_nodes(r));
    raft_destroy(r);
}

TEST(node_accessors_set_and_get)
{
    raft_server_t *r = raft_new();
    raft_node_t *n = raft_add_node(r, &ud1, 2, 0);
    ASSERT_EQ(1, raft_node_get_next_idx(n)); /* fresh log: next is 1 */
    ASSERT_EQ(0, raft_node_get_match_idx(n));

    raft_node_set_next_idx(n, 7);
    ASSERT_EQ(7, raft_node_get_next_idx(n));
    raft_node_set_match_idx(n, 6);
    ASSERT_EQ(6, raft_node_get_match_idx(n));

    raft_node_set_udata(n, &ud2);
    ASSERT_PTR_EQ(&ud2, raft_node_get_udata(n));

    raft_node_set_voting(n, 0);
    ASSERT_EQ(0, raft_node_is_voting(n));
    ASSERT_EQ(0, raft_get_num_voting_nodes(r));
    raft_node_set_voting(n, 1);
    ASSERT_EQ(1, raft_node_is_voting(n));
    ASSERT_EQ(1, raft_get_num_voting_nodes(r));

    raft_node_set_active(n, 0);
    ASSERT_EQ(0, raft_node_is_active(n));
    raft_node_set_active(n, 1);
    ASSERT_EQ(1, raft_node_is_active(n));

    raft_node_set_voting_committed(n, 1);
    ASSERT_EQ(1, raft_node_is_voting_committed(n));
    raft_node_set_voting_committed(n, 0);
    ASSERT_EQ(0, raft_node_is_voting_committed(n));

    raft_node_set_addition_committed(n, 1);
    ASSERT_EQ(1, raft_node_is_addition_committed(n));
    raft_node_set_addition_committed(n, 0);
    ASSERT_EQ(0, raft_node_is_addition_committed(n));

    raft_node_set_has_sufficient_logs(n, 1);
    ASSERT_EQ(1, raft_node_has_sufficient_logs(n));
    raft_node_set_has_sufficient_logs(n, 0);
    ASSERT_EQ(0, raft_node_has_sufficient_logs(n));
    raft_destroy(r);
}

TEST(node_compat_vote_flags)
{
    raft_server_t *r = raft_new();
    raft_node_t *n = raft_add_node(r, NULL, 2, 0);
    ASSERT_EQ(0, raft_node_has_vote_for_me(n));
    raft_node_vote_for_me(n, 1);
    ASSERT_EQ(1, raft_node_has_vote_for_me(n));
    raft_node_vote_for_me(n, 0);
    ASSERT_EQ(0, raft_node_has_vote_for_me(n));
    raft_node_vote_for_me(n, 1);
    raft_node_clear_flags(n);
    ASSERT_EQ(0, raft_node_has_vote_for_me(n));
    raft_destroy(r);
}

TEST(node_compat_msg_ids)
{
    raft_server_t *r = raft_new();
    raft_node_t *n = raft_add_node(r, NULL, 2, 0);
    raft_node_set_next_msgid(n, 10);
    ASSERT_EQ(10, raft_node_get_next_msgid(n));
    raft_node_set_match_msgid(n, 8);
    ASSERT_EQ(8, raft_node_get_match_msgid(n));
    /* "update max seen" keeps the largest id seen. */
    raft_node_update_max_seen_msg_id(n, 5);
    ASSERT_EQ(5, raft_node_get_max_seen_msg_id(n));
    raft_node_update_max_seen_msg_id(n, 9);
    ASSERT_EQ(9, raft_node_get_max_seen_msg_id(n));
    raft_node_update_max_seen_msg_id(n, 3);
    ASSERT_EQ(9, raft_node_get_max_seen_msg_id(n));
    raft_destroy(r);
}

TEST(node_compat_snapshot_offset)
{
    raft_server_t *r = raft_new();
    raft_node_t *n = raft_add_node(r, NULL, 2, 0);
    ASSERT_EQ(0, raft_node_get_snapshot_offset(n));
    raft_node_set_snapshot_offset(n, 123456789012ULL);
    ASSERT_EQ(123456789012LL, (long long)raft_node_get_snapshot_offset(n));
    raft_destroy(r);
}

TEST(node_compat_new_and_free_a_standalone_node)
{
    raft_node_t *n = raft_node_new(&ud3, 42);
    ASSERT(n != NULL);
    ASSERT_EQ(42, raft_node_get_id(n));
    ASSERT_PTR_EQ(&ud3, raft_node_get_udata(n));
    ASSERT_EQ(1, raft_node_get_next_idx(n));
    ASSERT_EQ(0, raft_node_get_match_idx(n));
    ASSERT_EQ(1, raft_node_is_voting(n));
    raft_node_set_next_idx(n, 4);
    ASSERT_EQ(4, raft_node_get_next_idx(n));
    raft_node_free(n);
}

TEST(node_add_and_remove_work_without_callbacks)
{
    raft_server_t *r = raft_new();
    raft_cbs_t cbs;
    memset(&cbs, 0, sizeof(cbs));
    raft_set_callbacks(r, &cbs, NULL);
    raft_node_t *n = raft_add_node(r, NULL, 2, 0);
    raft_remove_node(r, n);
    ASSERT_EQ(0, raft_get_num_nodes(r));
    raft_destroy(r);
}

TEST_MAIN()
