/* The counting, failing heap hooks of failing_heap.h. */
#include "failing_heap.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

#include "raft.h"

#define HDR 16
#define MAGIC 0x6f6f6d6c69766521ULL
#define DEAD 0x6465616462656566ULL

/* The store's background thread allocates too: the counters are updated
 * atomically (the tests read them while no other thread runs). */
long fh_calls, fh_failed, fh_live, fh_foreign;
static int counting;
static long fail_from, fail_to; /* fail calls fail_from .. fail_to - 1 */

static long bump(long *counter, long by)
{
    return __atomic_add_fetch(counter, by, __ATOMIC_RELAXED);
}

static int should_fail(void)
{
    if (!__atomic_load_n(&counting, __ATOMIC_RELAXED))
        return 0;
    long n = bump(&fh_calls, 1);
    if (n >= fail_from && n < fail_to) {
        bump(&fh_failed, 1);
        return 1;
    }
    return 0;
}

static void *wrap(unsigned char *raw)
{
    if (!raw)
        return NULL;
    *(uint64_t *)raw = MAGIC;
    bump(&fh_live, 1);
    return raw + HDR;
}

/* The block behind `p`, or NULL (counted) when the hooks did not hand it
 * out. */
static unsigned char *raw_of(void *p)
{
    unsigned char *raw = (unsigned char *)p - HDR;
    if (*(uint64_t *)raw != MAGIC) {
        bump(&fh_foreign, 1);
        return NULL;
    }
    return raw;
}

static void *fh_malloc(size_t n)
{
    if (n > SIZE_MAX - HDR || should_fail())
        return NULL;
    return wrap(malloc(n + HDR));
}

static void *fh_calloc(size_t a, size_t b)
{
    if (b && a > (SIZE_MAX - HDR) / b)
        return NULL;
    if (should_fail())
        return NULL;
    return wrap(calloc(1, a * b + HDR));
}

static void *fh_realloc(void *p, size_t n)
{
    unsigned char *raw, *q;
    if (!p)
        return fh_malloc(n);
    raw = raw_of(p);
    if (!raw || n > SIZE_MAX - HDR)
        return NULL;
    if (should_fail())
        return NULL; /* the old block stays live */
    q = realloc(raw, n + HDR);
    return q ? q + HDR : NULL;
}

static void fh_free(void *p)
{
    unsigned char *raw;
    if (!p)
        return;
    raw = raw_of(p);
    if (!raw)
        return;
    *(uint64_t *)raw = DEAD;
    bump(&fh_live, -1);
    free(raw);
}

void fh_install(void)
{
    raft_set_heap_functions(fh_malloc, fh_calloc, fh_realloc, fh_free);
}

void fh_arm(long from, long len)
{
    fh_calls = 0;
    fh_failed = 0;
    fail_from = from;
    fail_to = from + len;
    __atomic_store_n(&counting, 1, __ATOMIC_RELAXED);
}

void fh_disarm(void)
{
    __atomic_store_n(&counting, 0, __ATOMIC_RELAXED);
    fail_to = 0;
}

void fh_pause(void)
{
    __atomic_store_n(&counting, 0, __ATOMIC_RELAXED);
}

void fh_resume(void)
{
    __atomic_store_n(&counting, 1, __ATOMIC_RELAXED);
}

static const char *env(const char *prefix, const char *name)
{
    char key[64];
    snprintf(key, sizeof key, "%s_%s", prefix, name);
    return getenv(key);
}

/* Point number k of `samples` spread over 1..points, both ends included. */
static long spread(long k, long samples, long points)
{
    return samples == 1 ? 1 : 1 + k * (points - 1) / (samples - 1);
}

static int run_forked(fh_script_fn script, long n, long fail_len)
{
    int status = 0;
    pid_t pid;
    fflush(stdout);
    fflush(stderr);
    if ((pid = fork()) == 0) {
        script(n, fail_len);
        exit(0);
    }
    waitpid(pid, &status, 0);
    return WIFEXITED(status) && WEXITSTATUS(status) == 0 ? 0 : status ? status : 1;
}

long fh_sweep(const char *name, const char *prefix, fh_script_fn script, long fail_len, long samples)
{
    long points, failures = 0;
    const char *v;
    fh_install();
    if ((v = env(prefix, "LEN")) != NULL && atol(v) > 0)
        fail_len = atol(v);
    script(0, 0);
    points = fh_calls;
    if (points <= 0) {
        fprintf(stderr, "  %s: the script made no allocation\n", name);
        exit(1);
    }
    if ((v = env(prefix, "ONLY")) != NULL) {
        script(atol(v), fail_len);
        return points;
    }
    if ((v = env(prefix, "SAMPLES")) != NULL)
        samples = atol(v);
    if (env(prefix, "ALL") || samples <= 0 || samples > points)
        samples = points;
    for (long k = 0; k < samples; k++) {
        long n = spread(k, samples, points);
        if (env(prefix, "VERBOSE"))
            fprintf(stderr, "%s: failing allocation %ld (+%ld) of %ld\n", name, n, fail_len - 1, points);
        if (!env(prefix, "FORK")) {
            script(n, fail_len);
            continue;
        }
        int status = run_forked(script, n, fail_len);
        if (status) {
            fprintf(stderr, "%s: point %ld (+%ld): status %d\n", name, n, fail_len - 1, status);
            failures++;
        }
    }
    if (failures) {
        fprintf(stderr, "  %s: %ld of %ld points failed\n", name, failures, samples);
        exit(1);
    }
    printf("  %s: %ld allocation points, %ld tried, failing %ld at a time\n", name, points, samples, fail_len);
    return points;
}
