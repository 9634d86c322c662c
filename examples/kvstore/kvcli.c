/* kvcli: command-line client of kvserver.
 *
 *   kvcli -s 127.0.0.1:7001,127.0.0.1:7002 SET greeting hello
 *   kvcli -s 127.0.0.1:7001 GET greeting
 *   kvcli -s 127.0.0.1:7001 --direct STATUS        (no redirection)
 *   kvcli -s 127.0.0.1:7001                        (commands from stdin)
 *
 * Follows "REDIRECT id addr" to the leader and, while the cluster has no
 * leader ("ERR no leader", refused connections), tries the servers in turn
 * until the timeout (-t seconds, default 10). Prints the reply line; exits
 * 0 for OK/VALUE/NOTFOUND/STATUS/PONG, 1 for an ERR reply, 2 when no server
 * answered in time.
 */
#include "kv.h"

static char *servers[64];
static int n_servers;
static int direct;
static double timeout_s = 10;

/* Sends line, reads one reply line into out. 0 on success. */
static int exchange(int fd, const char *line, kv_buf_t *out)
{
    size_t len = strlen(line);
    kv_buf_t req = { 0 };
    kv_buf_add(&req, line, len);
    kv_buf_add(&req, "\n", 1);
    size_t off = 0;
    while (off < req.len) {
        ssize_t n = send(fd, req.d + off, req.len - off, MSG_NOSIGNAL);
        if (n <= 0) {
            kv_buf_free(&req);
            return -1;
        }
        off += (size_t)n;
    }
    kv_buf_free(&req);
    out->len = out->off = 0;
    for (;;) {
        char c;
        ssize_t n = recv(fd, &c, 1, 0);
        if (n <= 0)
            return -1;
        if (c == '\n')
            break;
        kv_buf_add(out, &c, 1);
    }
    kv_buf_add(out, "", 1);
    return 0;
}

static int run(const char *line)
{
    long long deadline = kv_now_ms() + (long long)(timeout_s * 1000);
    char target[256] = "";
    int next = 0, redirects = 0;
    kv_buf_t rep = { 0 };
    while (kv_now_ms() < deadline) {
        const char *addr = target[0] ? target : servers[next++ % n_servers];
        int fd = kv_connect(addr, 2000);
        target[0] = 0;
        if (fd < 0) {
            if (direct) {
                fprintf(stderr, "kvcli: cannot connect to %s\n", addr);
                return 2;
            }
            usleep(100000);
            continue;
        }
        int rc = exchange(fd, line, &rep);
        close(fd);
        if (rc != 0) {
            if (direct) {
                fprintf(stderr, "kvcli: no reply from %s\n", addr);
                return 2;
            }
            usleep(100000);
            continue;
        }
        if (!direct && !strncmp(rep.d, "REDIRECT ", 9) && redirects++ < 10) {
            const char *sp = strchr(rep.d + 9, ' ');
            if (sp)
                snprintf(target, sizeof target, "%s", sp + 1);
            continue;
        }
        if (!direct && !strcmp(rep.d, "ERR no leader")) {
            usleep(100000);
            continue;
        }
        printf("%s\n", rep.d);
        fflush(stdout);
        int bad = !strncmp(rep.d, "ERR", 3);
        kv_buf_free(&rep);
        return bad ? 1 : 0;
    }
    kv_buf_free(&rep);
    fprintf(stderr, "kvcli: no answer within %.0f s\n", timeout_s);
    return 2;
}

int main(int argc, char **argv)
{
    int i = 1;
    const char *list = "127.0.0.1:7001,127.0.0.1:7002,127.0.0.1:7003";
    for (; i < argc && argv[i][0] == '-'; i++) {
        if (!strcmp(argv[i], "-s") && i + 1 < argc)
            list = argv[++i];
        else if (!strcmp(argv[i], "-t") && i + 1 < argc)
            timeout_s = atof(argv[++i]);
        else if (!strcmp(argv[i], "--direct"))
            direct = 1;
        else {
            fprintf(stderr, "usage: kvcli [-s host:port,...] [-t seconds] [--direct] [COMMAND ARGS...]\n");
            return 2;
        }
    }
    char *copy = strdup(list);
    for (char *t = strtok(copy, ","); t && n_servers < 64; t = strtok(NULL, ","))
        servers[n_servers++] = t;
    if (n_servers == 0)
        return 2;
    if (i < argc) {
        kv_buf_t line = { 0 };
        for (; i < argc; i++)
            kv_buf_printf(&line, "%s%s", line.len ? " " : "", argv[i]);
        kv_buf_add(&line, "", 1);
        return run(line.d);
    }
    char buf[KV_MAX_LINE];
    int worst = 0;
    while (fgets(buf, sizeof buf, stdin)) {
        buf[strcspn(buf, "\r\n")] = 0;
        if (!buf[0])
            continue;
        int rc = run(buf);
        if (rc > worst)
            worst = rc;
    }
    return worst;
}
