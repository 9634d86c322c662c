/* The world: the PRNG, the event trace and violation reports, the nodes by
 * id and their in-flight counts. */
#include "sim.h"

/* ------------------------------------------------------------------------ */
/* PRNG: the harness's splitmix64, one stream per run. Never rand(). */

hs_rng_t g_rng;
uint64_t rnd64(void) { return hs_rng_next(&g_rng); }
double rndf(void) { return hs_rng_unit(&g_rng); }
long rndn(long n) { return hs_rng_below(&g_rng, n); }
long rndr(long lo, long hi) { return hs_rng_range(&g_rng, lo, hi); }
int chance(double p) { return hs_rng_chance(&g_rng, p); }

uint64_t mix64(uint64_t h, uint64_t v)
{
    h ^= v + 0x9E3779B97F4A7C15ULL + (h << 6) + (h >> 2);
    h *= 0xff51afd7ed558ccdULL;
    return h ^ (h >> 33);
}
uint64_t fnv(const void *p, size_t n)
{
    const unsigned char *b = p;
    uint64_t h = 1469598103934665603ULL;
    for (size_t i = 0; i < n; i++) {
        h ^= b[i];
        h *= 1099511628211ULL;
    }
    return h;
}

cfg_t C;

/* ------------------------------------------------------------------------ */
/* Trace ring buffer */

char (*g_ring)[EVLEN];
long g_ring_n;
long g_step;
uint64_t g_digest;

void ev(const char *fmt, ...)
{
    char buf[EVLEN];
    int k = snprintf(buf, sizeof buf, "[%ld] ", g_step);
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf + k, sizeof buf - (size_t)k, fmt, ap);
    va_end(ap);
    g_digest = mix64(g_digest, fnv(buf, strlen(buf)));
    if (C.verbose)
        printf("%s\n", buf);
    if (C.trace > 0) {
        memcpy(g_ring[g_ring_n % C.trace], buf, EVLEN);
        g_ring_n++;
    }
}


void violation(const char *prop, const char *fmt, ...)
{
    char buf[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    fflush(stdout);
    fprintf(stderr, "\n=== VIOLATION: %s ===\n", prop);
    fprintf(stderr, "seed=%llu step=%ld\n%s\n", (unsigned long long)C.seed, g_step, buf);
    fprintf(stderr, "replay: ");
    print_cmdline(stderr);
    long n = g_ring_n < C.trace ? g_ring_n : C.trace;
    fprintf(stderr, "last %ld events:\n", n);
    for (long i = g_ring_n - n; i < g_ring_n; i++)
        fprintf(stderr, "  %s\n", g_ring[i % C.trace]);
    fflush(stderr);
    _exit(1);
}
world_t W;

stats_t g_total;

/* The node with that id, NULL if there is none. */
node_t *node_get(int id)
{
    return id > 0 && id < W.next_id && id < W.nodes_cap ? W.nodes[id] : NULL;
}

/* The (zeroed, N_UNUSED) node of a new id. */
node_t *node_slot(int id)
{
    if (id >= W.nodes_cap) {
        int cap = W.nodes_cap ? W.nodes_cap * 2 : 16;
        while (cap <= id)
            cap *= 2;
        W.nodes = hs_realloc(W.nodes, (size_t)cap * sizeof *W.nodes);
        memset(W.nodes + W.nodes_cap, 0, (size_t)(cap - W.nodes_cap) * sizeof *W.nodes);
        W.nodes_cap = cap;
    }
    if (!W.nodes[id]) {
        W.nodes[id] = hs_realloc(NULL, sizeof *W.nodes[id]);
        memset(W.nodes[id], 0, sizeof *W.nodes[id]);
    }
    return W.nodes[id];
}

/* An array with room for every node id (reused: one user at a time). */
int *scratch_ids(void)
{
    static int *buf;
    static int cap;
    if (cap < W.next_id + 1) {
        cap = 2 * (W.next_id + 1);
        buf = hs_realloc(buf, (size_t)cap * sizeof *buf);
    }
    return buf;
}

long inflight_get(const node_t *n, int to)
{
    return to >= 0 && to < n->inflight_n ? n->inflight_ae[to] : 0;
}

void inflight_add(node_t *n, int to, long k)
{
    if (to < 0)
        return;
    if (to >= n->inflight_n) {
        int cap = n->inflight_n ? n->inflight_n : 16;
        while (cap <= to)
            cap *= 2;
        n->inflight_ae = hs_realloc(n->inflight_ae, (size_t)cap * sizeof *n->inflight_ae);
        memset(n->inflight_ae + n->inflight_n, 0, (size_t)(cap - n->inflight_n) * sizeof *n->inflight_ae);
        n->inflight_n = cap;
    }
    n->inflight_ae[to] += k;
}
