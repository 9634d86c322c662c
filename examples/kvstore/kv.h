/* Shared helpers of the kvstore example: growable buffers, time, address
 * parsing, sockets. Header-only so that each tool is one .c file. */
#ifndef KV_H_
#define KV_H_

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

/* Longest client line (command and value) a server accepts. */
#define KV_MAX_LINE (1 << 20)
/* Largest value; above it SET answers "ERR value too large". */
#define KV_MAX_VALUE (512 * 1024)
#define KV_MAX_KEY 1024

static inline long long kv_now_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000000LL + ts.tv_nsec / 1000;
}

static inline long long kv_now_ms(void) { return kv_now_us() / 1000; }

/* A growable byte buffer with a read offset. */
typedef struct {
    char *d;
    size_t len, cap, off;
} kv_buf_t;

static inline void kv_buf_reserve(kv_buf_t *b, size_t more)
{
    if (b->off > 0 && b->off == b->len) {
        b->off = b->len = 0;
    }
    if (b->len + more <= b->cap)
        return;
    if (b->off > 0) { /* compact first */
        memmove(b->d, b->d + b->off, b->len - b->off);
        b->len -= b->off;
        b->off = 0;
        if (b->len + more <= b->cap)
            return;
    }
    size_t cap = b->cap ? b->cap : 4096;
    while (cap < b->len + more)
        cap *= 2;
    char *d = realloc(b->d, cap);
    if (!d) {
        fprintf(stderr, "out of memory\n");
        exit(2);
    }
    b->d = d;
    b->cap = cap;
}

static inline void kv_buf_add(kv_buf_t *b, const void *p, size_t n)
{
    kv_buf_reserve(b, n);
    memcpy(b->d + b->len, p, n);
    b->len += n;
}

static inline void kv_buf_printf(kv_buf_t *b, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    kv_buf_reserve(b, (size_t)n + 1);
    va_start(ap, fmt);
    vsnprintf(b->d + b->len, (size_t)n + 1, fmt, ap);
    va_end(ap);
    b->len += (size_t)n;
}

static inline size_t kv_buf_pending(const kv_buf_t *b) { return b->len - b->off; }

static inline void kv_buf_free(kv_buf_t *b)
{
    free(b->d);
    memset(b, 0, sizeof(*b));
}

static inline int kv_set_nonblock(int fd)
{
    int fl = fcntl(fd, F_GETFL);
    return fl < 0 ? -1 : fcntl(fd, F_SETFL, fl | O_NONBLOCK);
}

static inline void kv_nodelay(int fd)
{
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
}

/* Parses "host:port" into a socket address (IPv4; "localhost" resolves). */
static inline int kv_parse_addr(const char *s, struct sockaddr_in *out)
{
    char host[256];
    const char *colon = strrchr(s, ':');
    if (!colon || colon == s || (size_t)(colon - s) >= sizeof host)
        return -1;
    memcpy(host, s, (size_t)(colon - s));
    host[colon - s] = 0;
    char *end;
    long port = strtol(colon + 1, &end, 10);
    if (*end || port <= 0 || port > 65535)
        return -1;
    memset(out, 0, sizeof(*out));
    out->sin_family = AF_INET;
    out->sin_port = htons((unsigned short)port);
    if (inet_pton(AF_INET, host, &out->sin_addr) == 1)
        return 0;
    struct addrinfo hints, *res = NULL;
    memset(&hints, 0, sizeof hints);
    hints.ai_family = AF_INET;
    if (getaddrinfo(host, NULL, &hints, &res) != 0 || !res)
        return -1;
    out->sin_addr = ((struct sockaddr_in *)res->ai_addr)->sin_addr;
    freeaddrinfo(res);
    return 0;
}

/* Blocking connect with a timeout in ms; returns the fd or -1. */
static inline int kv_connect(const char *addr, int timeout_ms)
{
    struct sockaddr_in sa;
    if (kv_parse_addr(addr, &sa) != 0)
        return -1;
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    if (fd < 0)
        return -1;
    struct timeval tv = { timeout_ms / 1000, (timeout_ms % 1000) * 1000 };
    setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    if (connect(fd, (struct sockaddr *)&sa, sizeof sa) != 0) {
        close(fd);
        return -1;
    }
    kv_nodelay(fd);
    return fd;
}

#endif
