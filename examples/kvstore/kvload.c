/* kvload: closed-loop load generator for kvserver (and, for comparison,
 * etcd's v3 JSON gateway).
 *
 *   kvload -s 127.0.0.1:7001,127.0.0.1:7002 -c 64 -d 10 -r 0.5 -v 100
 *   kvload --etcd 127.0.0.1:2379 -c 64 -d 10 -r 0 -v 100
 *
 * N connections each keep one request outstanding (the next is sent when
 * the reply arrives); keys are drawn from -k keys, reads with probability
 * -r. A progress line goes to stderr every second; at the end it prints
 * ops/s and latency percentiles (p50, p99, p99.9) for writes and reads.
 * kvserver reads are linearizable GETs; etcd reads are its default
 * (linearizable) range requests.
 */
#include <poll.h>
#include <signal.h>

#include "kv.h"

typedef struct {
    int fd;
    int is_read;
    long long start;
    kv_buf_t out, in;
    long long retry_at;
} lconn_t;

typedef struct {
    long long *v;
    size_t n, cap;
} lat_t;

static void lat_add(lat_t *l, long long us)
{
    if (l->n == l->cap) {
        l->cap = l->cap ? l->cap * 2 : 65536;
        l->v = realloc(l->v, l->cap * sizeof *l->v);
    }
    l->v[l->n++] = us;
}

static int cmp_ll(const void *a, const void *b)
{
    long long x = *(const long long *)a, y = *(const long long *)b;
    return x < y ? -1 : x > y;
}

static double pct(lat_t *l, double p)
{
    if (!l->n)
        return 0;
    size_t i = (size_t)(p / 100.0 * (double)(l->n - 1) + 0.5);
    return (double)l->v[i] / 1000.0;
}

static const char b64c[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
static void b64(kv_buf_t *b, const char *s, size_t n)
{
    for (size_t i = 0; i < n; i += 3) {
        unsigned v = (unsigned char)s[i] << 16;
        if (i + 1 < n) v |= (unsigned char)s[i + 1] << 8;
        if (i + 2 < n) v |= (unsigned char)s[i + 2];
        char o[4] = { b64c[(v >> 18) & 63], b64c[(v >> 12) & 63], i + 1 < n ? b64c[(v >> 6) & 63] : '=',
                      i + 2 < n ? b64c[v & 63] : '=' };
        kv_buf_add(b, o, 4);
    }
}

static char target[256];
static int etcd;
static int keys = 10000, vsize = 100;
static double read_ratio = 0.5;
static char *value;
static unsigned long long rng = 88172645463325252ULL;
static unsigned long long next_rand(void)
{
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return rng;
}

static void make_request(lconn_t *c)
{
    char key[32];
    int kl = snprintf(key, sizeof key, "key%07d", (int)(next_rand() % (unsigned)keys));
    c->is_read = (double)(next_rand() % 1000000) / 1e6 < read_ratio;
    c->out.len = c->out.off = 0;
    c->in.len = c->in.off = 0;
    if (!etcd) {
        if (c->is_read)
            kv_buf_printf(&c->out, "GET %s\n", key);
        else
            kv_buf_printf(&c->out, "SET %s %s\n", key, value);
    } else {
        kv_buf_t body = { 0 };
        kv_buf_add(&body, "{\"key\":\"", 8);
        b64(&body, key, (size_t)kl);
        if (!c->is_read) {
            kv_buf_add(&body, "\",\"value\":\"", 11);
            b64(&body, value, strlen(value));
        }
        kv_buf_add(&body, "\"}", 2);
        kv_buf_printf(&c->out, "POST /v3/kv/%s HTTP/1.1\r\nHost: %s\r\nContent-Type: application/json\r\nContent-Length: %zu\r\n\r\n",
                      c->is_read ? "range" : "put", target, body.len);
        kv_buf_add(&c->out, body.d, body.len);
        kv_buf_free(&body);
    }
    c->start = kv_now_us();
}

/* Whole reply in c->in? Returns 1 done (ok), 2 done (error), 0 not yet. */
static int reply_done(lconn_t *c)
{
    if (!etcd) {
        char *nl = memchr(c->in.d, '\n', c->in.len);
        if (!nl)
            return 0;
        return (!strncmp(c->in.d, "OK", 2) || !strncmp(c->in.d, "VALUE", 5) || !strncmp(c->in.d, "NOTFOUND", 8)) ? 1 : 2;
    }
    kv_buf_add(&c->in, "", 1);
    c->in.len--;
    char *hend = strstr(c->in.d, "\r\n\r\n");
    if (!hend)
        return 0;
    char *cl = strcasestr(c->in.d, "Content-Length:");
    size_t blen = cl && cl < hend ? (size_t)atol(cl + 15) : 0;
    if (c->in.len < (size_t)(hend + 4 - c->in.d) + blen)
        return 0;
    return !strncmp(c->in.d, "HTTP/1.1 200", 12) ? 1 : 2;
}

static void find_leader(char **servers, int n)
{
    for (int tries = 0; tries < 100; tries++) {
        for (int i = 0; i < n; i++) {
            int fd = kv_connect(servers[i], 1000);
            if (fd < 0)
                continue;
            char buf[512] = "";
            if (send(fd, "GET __kvload_probe\n", 19, MSG_NOSIGNAL) == 19) {
                ssize_t r = recv(fd, buf, sizeof buf - 1, 0);
                buf[r > 0 ? r : 0] = 0;
            }
            close(fd);
            if (!strncmp(buf, "VALUE", 5) || !strncmp(buf, "NOTFOUND", 8)) {
                snprintf(target, sizeof target, "%s", servers[i]);
                return;
            }
            if (!strncmp(buf, "REDIRECT ", 9)) {
                char *sp = strchr(buf + 9, ' ');
                if (sp) {
                    sp[strcspn(sp, "\r\n")] = 0;
                    snprintf(target, sizeof target, "%s", sp + 1);
                    return;
                }
            }
        }
        usleep(100000);
    }
    fprintf(stderr, "kvload: no leader found\n");
    exit(2);
}

int main(int argc, char **argv)
{
    int nconn = 32;
    double duration = 10;
    char *servers[64];
    int n_servers = 0;
    const char *list = "127.0.0.1:7001,127.0.0.1:7002,127.0.0.1:7003";
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (!strcmp(a, "-s") && v) list = v, i++;
        else if (!strcmp(a, "--etcd") && v) etcd = 1, list = v, i++;
        else if (!strcmp(a, "-c") && v) nconn = atoi(v), i++;
        else if (!strcmp(a, "-d") && v) duration = atof(v), i++;
        else if (!strcmp(a, "-r") && v) read_ratio = atof(v), i++;
        else if (!strcmp(a, "-v") && v) vsize = atoi(v), i++;
        else if (!strcmp(a, "-k") && v) keys = atoi(v), i++;
        else {
            fprintf(stderr, "usage: kvload [-s host:port,... | --etcd host:port] [-c conns] [-d seconds]\n"
                            "              [-r read-ratio] [-v value-bytes] [-k keys]\n");
            return 2;
        }
    }
    if (nconn < 1 || vsize < 1 || keys < 1)
        return 2;
    signal(SIGPIPE, SIG_IGN);
    char *copy = strdup(list);
    for (char *t = strtok(copy, ","); t && n_servers < 64; t = strtok(NULL, ","))
        servers[n_servers++] = t;
    if (etcd)
        snprintf(target, sizeof target, "%s", servers[0]);
    else
        find_leader(servers, n_servers);
    value = malloc((size_t)vsize + 1);
    for (int i = 0; i < vsize; i++)
        value[i] = (char)('a' + i % 26);
    value[vsize] = 0;

    lconn_t *cs = calloc((size_t)nconn, sizeof *cs);
    struct pollfd *pf = calloc((size_t)nconn, sizeof *pf);
    lat_t wl = { 0 }, rl = { 0 };
    long long errors = 0, done_ops = 0, last_ops = 0;
    long long t0 = kv_now_us(), end = t0 + (long long)(duration * 1e6), next_report = t0 + 1000000;
    for (int i = 0; i < nconn; i++)
        cs[i].fd = -1;
    fprintf(stderr, "kvload: %d connections to %s%s, %.0f%% reads, %d-byte values, %d keys, %.0f s\n", nconn,
            target, etcd ? " (etcd)" : "", read_ratio * 100, vsize, keys, duration);
    while (kv_now_us() < end) {
        long long now = kv_now_us();
        for (int i = 0; i < nconn; i++) {
            lconn_t *c = &cs[i];
            if (c->fd < 0 && now / 1000 >= c->retry_at) {
                c->fd = kv_connect(target, 1000);
                if (c->fd < 0) {
                    c->retry_at = now / 1000 + 100;
                    if (!etcd && i == 0)
                        find_leader(servers, n_servers);
                    continue;
                }
                kv_set_nonblock(c->fd);
                make_request(c);
            }
            pf[i].fd = c->fd;
            pf[i].events = (short)(c->fd >= 0 ? (POLLIN | (kv_buf_pending(&c->out) ? POLLOUT : 0)) : 0);
            pf[i].revents = 0;
        }
        poll(pf, (nfds_t)nconn, 10);
        now = kv_now_us();
        for (int i = 0; i < nconn; i++) {
            lconn_t *c = &cs[i];
            if (c->fd < 0 || !pf[i].revents)
                continue;
            if (pf[i].revents & POLLOUT) {
                ssize_t n = send(c->fd, c->out.d + c->out.off, kv_buf_pending(&c->out), MSG_NOSIGNAL);
                if (n > 0)
                    c->out.off += (size_t)n;
            }
            if (pf[i].revents & (POLLIN | POLLHUP | POLLERR)) {
                char tmp[65536];
                ssize_t n = recv(c->fd, tmp, sizeof tmp, 0);
                if (n <= 0) {
                    if (n < 0 && errno == EAGAIN)
                        continue;
                    close(c->fd);
                    c->fd = -1;
                    errors++;
                    c->retry_at = now / 1000 + 100;
                    continue;
                }
                kv_buf_add(&c->in, tmp, (size_t)n);
                int d = reply_done(c);
                if (d == 0)
                    continue;
                if (d == 1) {
                    lat_add(c->is_read ? &rl : &wl, now - c->start);
                    done_ops++;
                } else {
                    errors++;
                    if (!etcd && !strncmp(c->in.d, "REDIRECT", 8)) { /* leader moved */
                        close(c->fd);
                        c->fd = -1;
                        if (i == 0)
                            find_leader(servers, n_servers);
                        continue;
                    }
                }
                make_request(c);
            }
        }
        if (now >= next_report) {
            fprintf(stderr, "  [%3.0fs] %lld ops/s, %lld ops, %lld errors\n", (now - t0) / 1e6,
                    done_ops - last_ops, done_ops, errors);
            last_ops = done_ops;
            next_report += 1000000;
        }
    }
    double secs = (kv_now_us() - t0) / 1e6;
    qsort(wl.v, wl.n, sizeof *wl.v, cmp_ll);
    qsort(rl.v, rl.n, sizeof *rl.v, cmp_ll);
    printf("%s: %d conns, %d-byte values, %.0f%% reads, %.1f s\n", etcd ? "etcd" : "kvstore", nconn, vsize,
           read_ratio * 100, secs);
    printf("  total  %.0f ops/s (%lld ops, %lld errors)\n", (double)done_ops / secs, done_ops, errors);
    if (wl.n)
        printf("  writes %.0f ops/s  latency ms p50 %.2f  p99 %.2f  p99.9 %.2f\n", (double)wl.n / secs,
               pct(&wl, 50), pct(&wl, 99), pct(&wl, 99.9));
    if (rl.n)
        printf("  reads  %.0f ops/s  latency ms p50 %.2f  p99 %.2f  p99.9 %.2f\n", (double)rl.n / secs,
               pct(&rl, 50), pct(&rl, 99), pct(&rl, 99.9));
    return 0;
}
