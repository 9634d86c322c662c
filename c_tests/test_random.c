/* Election timeouts are random per server: servers in different processes
 * (or created together in one) draw different timeouts, and
 * raft_set_random_seed makes a run repeatable. */
#include <stdlib.h>
#include <sys/wait.h>
#include "raft.h"
#include "raft_compat.h"
#include "test.h"

static int cb_persist(raft_server_t *r, void *ud, raft_term_t term, raft_node_id_t vote)
{
    (void)r; (void)ud; (void)term; (void)vote;
    return 0;
}

static raft_server_t *follower(void)
{
    raft_cbs_t cbs = { .persist_metadata = cb_persist };
    raft_server_t *r = raft_new();
    raft_set_callbacks(r, &cbs, NULL);
    raft_add_node(r, NULL, 1, 1);
    raft_add_node(r, NULL, 2, 0);
    raft_add_node(r, NULL, 3, 0);
    return r;
}

/* Milliseconds until the follower's election timer fires. */
static int timeout_of(raft_server_t *r)
{
    for (int ms = 1; ms <= 2100; ms++) {
        ASSERT_EQ(0, raft_periodic_internal(r, 1));
        if (raft_is_precandidate(r))
            return ms;
    }
    FAIL_AT("%s", "no election within two election timeouts");
}

/* A few timeouts in a row from one server. */
static void timeouts(raft_server_t *r, int *out, int n)
{
    for (int i = 0; i < n; i++) {
        out[i] = timeout_of(r);
        ASSERT(out[i] >= 1000 && out[i] < 2000);
        raft_become_follower(r);
    }
}

TEST(random_a_fixed_seed_repeats_the_timeouts)
{
    int a[5], b[5], c[5];
    raft_server_t *r = follower();
    ASSERT_EQ(0, raft_set_random_seed(r, 12345));
    timeouts(r, a, 5);
    raft_destroy(r);
    r = follower();
    ASSERT_EQ(0, raft_set_random_seed(r, 12345));
    timeouts(r, b, 5);
    raft_destroy(r);
    ASSERT_EQ(0, memcmp(a, b, sizeof(a)));
    r = follower();
    ASSERT_EQ(0, raft_set_random_seed(r, 54321));
    timeouts(r, c, 5);
    raft_destroy(r);
    ASSERT(memcmp(a, c, sizeof(a)) != 0);
    ASSERT_EQ(RAFT_ERR_MISUSE, raft_set_random_seed(NULL, 1));
}

TEST(random_servers_created_together_draw_different_timeouts)
{
    int a[4], b[4];
    raft_server_t *r1 = follower(), *r2 = follower();
    timeouts(r1, a, 4);
    timeouts(r2, b, 4);
    ASSERT(memcmp(a, b, sizeof(a)) != 0);
    raft_destroy(r1);
    raft_destroy(r2);
}

TEST(random_servers_in_different_processes_draw_different_timeouts)
{
    /* Two processes forked from one (same memory, same libc rand() state)
     * create a server each, as processes started together would. */
    int fds[2][2], got[2][4];
    for (int p = 0; p < 2; p++) {
        ASSERT_EQ(0, pipe(fds[p]));
        pid_t pid = fork();
        ASSERT(pid >= 0);
        if (pid == 0) {
            raft_server_t *r = follower();
            int t[4];
            timeouts(r, t, 4);
            raft_destroy(r);
            _exit(write(fds[p][1], t, sizeof(t)) == (ssize_t)sizeof(t) ? 0 : 1);
        }
        int status;
        ASSERT_EQ(pid, waitpid(pid, &status, 0));
        ASSERT(WIFEXITED(status) && WEXITSTATUS(status) == 0);
        ASSERT_EQ((ssize_t)sizeof(got[p]), read(fds[p][0], got[p], sizeof(got[p])));
        close(fds[p][0]);
        close(fds[p][1]);
    }
    ASSERT(memcmp(got[0], got[1], sizeof(got[0])) != 0);
}

TEST(random_srand_does_not_make_servers_agree)
{
    int a[4], b[4];
    srand(7);
    raft_server_t *r1 = follower();
    timeouts(r1, a, 4);
    srand(7);
    raft_server_t *r2 = follower();
    timeouts(r2, b, 4);
    ASSERT(memcmp(a, b, sizeof(a)) != 0);
    raft_destroy(r1);
    raft_destroy(r2);
}

TEST_MAIN()
