/* Whole clusters of 3 and 5 servers on the in-memory network: elect,
 * replicate thousands of entries, lose and regain the leader, heal, restart
 * from persisted state. The harness checks Election Safety and State Machine
 * Safety (§3.6.3 of Ongaro's thesis) on every step. */
#include "raft.h"
#include "support/cluster.h"
#include "test.h"

static void all_same(cluster_t *c, int n)
{
    for (int i = 2; i <= n; i++)
        ASSERT(cl_same_applied(c, 1, i));
}

static void replicate_many(cluster_t *c, int n, int batch)
{
    for (int i = 0; i < n; i++) {
        raft_node_id_t l = cl_leader(c);
        ASSERT(l != 0);
        ASSERT_EQ(0, cl_submit(c, l, i, NULL));
        if (i % batch == batch - 1)
            cl_step(c);
    }
    ASSERT(cl_converge(c, 10000));
}

static void scenario(int n, unsigned seed)
{
    cluster_t *c = cl_new(n, seed);
    raft_node_id_t l = cl_elect(c, 20000), nl, f;
    raft_index_t before;
    ASSERT(l != 0);
    replicate_many(c, 3000, 25);
    all_same(c, n);
    ASSERT_EQ(3000 + 1, cl_srv(c, 1)->n_applied);

    /* the leader is cut off; the others elect another and go on */
    cl_isolate(c, l);
    nl = cl_elect(c, 20000);
    ASSERT(nl != 0 && nl != l);
    for (int i = 0; i < 500; i++)
        ASSERT_EQ(0, cl_submit(c, nl, 10000 + i, NULL));
    /* the old leader still takes requests it can never commit */
    if (raft_is_leader(cl_raft(c, l)))
        cl_submit(c, l, -1, NULL);
    cl_run(c, 500);
    cl_heal(c);
    ASSERT(cl_converge(c, 20000));
    all_same(c, n);
    ASSERT(!raft_is_leader(cl_raft(c, l)) || cl_leader(c) == l);

    /* a follower restarts from what it persisted */
    f = cl_leader(c) % n + 1;
    before = cl_srv(c, f)->applied_upto;
    cl_crash(c, f);
    replicate_many(c, 200, 20);
    ASSERT_EQ(0, cl_restart(c, f, 0));
    replicate_many(c, 200, 20);
    ASSERT(cl_srv(c, f)->applied_upto > before);
    all_same(c, n);
    ASSERT_EQ(0, cl_violations(c));
    cl_free(c);
}

TEST(three_servers_elect_replicate_survive_leader_isolation_and_restart)
{
    scenario(3, 1);
}

TEST(five_servers_elect_replicate_survive_leader_isolation_and_restart)
{
    scenario(5, 2);
}

/* Random message loss: progress continues and safety holds. */
TEST(five_servers_make_progress_with_ten_percent_message_loss)
{
    cluster_t *c = cl_new(5, 3);
    ASSERT(cl_elect(c, 20000) != 0);
    c->drop_per_mille = 100;
    for (int i = 0; i < 500; i++) {
        raft_node_id_t l = cl_leader(c);
        if (l)
            cl_submit(c, l, i, NULL);
        cl_step(c);
    }
    c->drop_per_mille = 0;
    ASSERT(cl_converge(c, 20000));
    all_same(c, 5);
    ASSERT(cl_srv(c, 1)->n_applied > 100);
    ASSERT_EQ(0, cl_violations(c));
    cl_free(c);
}

/* Rolling partitions and crashes across many seeds. */
TEST(random_partitions_and_crashes_keep_safety_and_converge_after_healing)
{
    for (unsigned seed = 10; seed < 16; seed++) {
        cluster_t *c = cl_new(5, seed);
        for (int round = 0; round < 8; round++) {
            raft_node_id_t side[2];
            side[0] = (raft_node_id_t)(cl_rand(c) % 5 + 1);
            side[1] = (raft_node_id_t)(cl_rand(c) % 5 + 1);
            cl_partition(c, side, side[0] == side[1] ? 1 : 2);
            for (int t = 0; t < 150; t++) {
                raft_node_id_t l = cl_leader(c);
                if (l && t % 3 == 0)
                    cl_submit(c, l, round * 1000 + t, NULL);
                cl_step(c);
            }
            if (round % 3 == 2) {
                raft_node_id_t v = (raft_node_id_t)(cl_rand(c) % 5 + 1);
                cl_crash(c, v);
                cl_run(c, 300);
                ASSERT_EQ(0, cl_restart(c, v, (int)(cl_rand(c) % 2)));
            }
        }
        cl_heal(c);
        ASSERT(cl_elect(c, 20000) != 0);
        ASSERT_EQ(0, cl_submit(c, cl_leader(c), 424242, NULL));
        ASSERT(cl_converge(c, 20000));
        all_same(c, 5);
        ASSERT_EQ(0, cl_violations(c));
        cl_free(c);
    }
}

/* Nine servers (the harness maximum) behave like three. */
TEST(nine_servers_elect_and_replicate)
{
    cluster_t *c = cl_new(9, 4);
    ASSERT(cl_elect(c, 20000) != 0);
    replicate_many(c, 300, 10);
    all_same(c, 9);
    ASSERT_EQ(0, cl_violations(c));
    cl_free(c);
}

TEST_MAIN()
