/* A tiny test harness for the C suite.
 *
 * Each test file defines tests with TEST(name) { ... } and ends with
 * TEST_MAIN(). Every test runs in a forked child, so a crash or abort in one
 * test is reported as that test's failure and the rest still run. The runner
 * prints one line per failure and closes with "N passed, N failed".
 * Set TEST_NOFORK=1 to run tests in-process (handy under gdb or valgrind).
 */
#ifndef LIBRAFT_C_TEST_H
#define LIBRAFT_C_TEST_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/wait.h>

typedef void (*test_fn_t)(void);
struct test_case { const char *name; test_fn_t fn; };

#define TEST_MAX 512
static struct test_case test_cases__[TEST_MAX];
static int test_count__;

static void test_register__(const char *name, test_fn_t fn)
{
    if (test_count__ < TEST_MAX) {
        test_cases__[test_count__].name = name;
        test_cases__[test_count__].fn = fn;
        test_count__++;
    }
}

#define TEST(name)                                                          \
    static void name(void);                                                 \
    __attribute__((constructor)) static void register_##name(void)          \
    { test_register__(#name, name); }                                       \
    static void name(void)

#define FAIL_AT(fmt, ...)                                                   \
    do {                                                                    \
        fprintf(stderr, "  %s:%d: " fmt "\n", __FILE__, __LINE__, __VA_ARGS__); \
        exit(1);                                                            \
    } while (0)

#define ASSERT(cond)                                                        \
    do { if (!(cond)) FAIL_AT("assertion failed: %s", #cond); } while (0)

#define ASSERT_EQ(expected, actual)                                         \
    do {                                                                    \
        long long e__ = (long long)(expected), a__ = (long long)(actual);   \
        if (e__ != a__)                                                     \
            FAIL_AT("%s == %s: expected %lld, got %lld", #expected, #actual, e__, a__); \
    } while (0)

#define ASSERT_NE(unexpected, actual)                                       \
    do {                                                                    \
        long long e__ = (long long)(unexpected), a__ = (long long)(actual); \
        if (e__ == a__)                                                     \
            FAIL_AT("%s != %s: both are %lld", #unexpected, #actual, a__);  \
    } while (0)

#define ASSERT_PTR_EQ(expected, actual)                                     \
    do {                                                                    \
        const void *e__ = (const void *)(expected), *a__ = (const void *)(actual); \
        if (e__ != a__)                                                     \
            FAIL_AT("%s == %s: expected %p, got %p", #expected, #actual, e__, a__); \
    } while (0)

#define ASSERT_STR_EQ(expected, actual)                                     \
    do {                                                                    \
        const char *e__ = (expected), *a__ = (actual);                      \
        if (!e__ || !a__ || strcmp(e__, a__) != 0)                          \
            FAIL_AT("%s == %s: expected \"%s\", got \"%s\"", #expected, #actual, \
                    e__ ? e__ : "(null)", a__ ? a__ : "(null)");            \
    } while (0)

static int test_run_one__(const struct test_case *t)
{
    if (getenv("TEST_NOFORK")) {
        t->fn();
        return 0;
    }
    fflush(stdout);
    fflush(stderr);
    pid_t pid = fork();
    if (pid == 0) {
        t->fn();
        exit(0);
    }
    int status = 0;
    if (pid < 0 || waitpid(pid, &status, 0) < 0)
        return 1;
    if (WIFSIGNALED(status)) {
        fprintf(stderr, "  killed by signal %d\n", WTERMSIG(status));
        return 1;
    }
    return WEXITSTATUS(status) != 0;
}

/* argv[1], when given, runs only the tests whose name contains it. */
#define TEST_MAIN()                                                         \
    int main(int argc, char **argv)                                         \
    {                                                                       \
        int passed = 0, failed = 0;                                         \
        for (int i = 0; i < test_count__; i++) {                            \
            const struct test_case *t = &test_cases__[i];                   \
            if (argc > 1 && !strstr(t->name, argv[1]))                      \
                continue;                                                   \
            if (test_run_one__(t) == 0) {                                   \
                passed++;                                                   \
            } else {                                                        \
                failed++;                                                   \
                printf("FAIL %s: %s\n", __FILE__, t->name);                 \
            }                                                               \
        }                                                                   \
        printf("%s: %d passed, %d failed\n", __FILE__, passed, failed);     \
        return failed != 0;                                                 \
    }

#endif
