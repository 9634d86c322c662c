/* Scenario tests as data: every file c_tests/scenarios/NAME.txt is one test, a
 * script of commands run against an in-process cluster (support/cluster.c),
 * each followed by the output it must print:
 *
 *     # a comment
 *     propose 1 7
 *     ----
 *     ok idx=2 term=1
 *
 * A command's output is compared line by line; a block ends at a blank
 * line. A command that prints nothing has no ---- block. The cluster's own checks (one leader per term, the same entry
 * applied at an index everywhere, term and vote persisted before use) must
 * report no violation by the end of the script.
 *
 * SCENARIO_REWRITE=1 writes what the commands printed back into the files
 * (to write a new script: then read every output, it is the assertion).
 *
 * Commands (ids are node ids, or `leader` for the current leader's; ms are
 * milliseconds of the fake clock):
 *   cluster N [seed=S] [election=MS] [request=MS] [chunk=BYTES]
 *                           N voters 1..N (one per script, first)
 *   campaign ID             tick ID alone until it leads, then a step
 *   elect                   run until a stable leader; prints it
 *   run MS                  advance time, delivering as it goes
 *   tick ID MS              raft_periodic on ID alone after MS
 *   deliver [all|one]       deliver queued messages (all: and the replies)
 *   hold on|off             cl_tick delivers nothing while on
 *   queue                   the queued messages, oldest first
 *   propose ID VAL          a client entry on ID
 *   replicate VAL           an entry through the leader, run until applied
 *   converge                run until every member applied the commit
 *   isolate ID | heal | partition A B ... | C D ...
 *   crash ID | restart ID
 *   snapshot ID             take a snapshot of what ID applied
 *   add ID | promote ID | remove ID   membership entries, via the leader
 *   transfer ID [TARGET]    leadership transfer from ID (0: automatic)
 *   read ID                 a read request on ID; `reads` lists answers
 *   status                  every server: role, term, log, commit, applied
 *   applied ID              the entries ID applied (index/term/value)
 */
#ifndef _DEFAULT_SOURCE
#define _DEFAULT_SOURCE 1
#endif
#include <dirent.h>
#include <stdarg.h>

#include "raft.h"
#include "support/cluster.h"
#include "test.h"

#define SC_MAX_FILES 64
#define SC_LINE 512

/* ------------------------------------------------------------------ */
/* Output of one command                                                */

static char *g_out;
static size_t g_out_len, g_out_cap;

static void out(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void out(const char *fmt, ...)
{
    char buf[SC_LINE];
    va_list ap;
    va_start(ap, fmt);
    int k = vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    if (k < 0)
        return;
    size_t n = strlen(buf);
    if (g_out_len + n + 2 > g_out_cap) {
        g_out_cap = (g_out_len + n + 2) * 2;
        g_out = hs_realloc(g_out, g_out_cap);
    }
    memcpy(g_out + g_out_len, buf, n);
    g_out_len += n;
    g_out[g_out_len++] = '\n';
    g_out[g_out_len] = 0;
}

/* ------------------------------------------------------------------ */
/* Command context                                                      */

typedef struct {
    cluster_t *c;
    int reads_n;
    int read_node[64];
    int read_ans[64]; /* -1: not answered yet */
} scenario_t;

static scenario_t *g_sc;

static void on_read(void *arg, int can_read)
{
    int i = (int)(long)arg;
    if (i >= 0 && i < g_sc->reads_n)
        g_sc->read_ans[i] = can_read;
}

/* Argument i as a number; "leader" is the current leader's id (0: none). */
static int argi(char **argv, int argc, int i, int dflt)
{
    if (i >= argc)
        return dflt;
    if (!strcmp(argv[i], "leader"))
        return g_sc && g_sc->c ? cl_leader(g_sc->c) : 0;
    return atoi(argv[i]);
}

static void print_rc(int rc)
{
    if (rc == 0)
        out("ok");
    else
        out("error %d", rc);
}

static void cmd_cluster(scenario_t *sc, char **argv, int argc)
{
    cl_opts_t o;
    unsigned seed = 1;
    cl_default_opts(&o);
    for (int i = 2; i < argc; i++) {
        if (!strncmp(argv[i], "seed=", 5))
            seed = (unsigned)atoi(argv[i] + 5);
        else if (!strncmp(argv[i], "election=", 9))
            o.election_timeout = atoi(argv[i] + 9);
        else if (!strncmp(argv[i], "request=", 8))
            o.request_timeout = atoi(argv[i] + 8);
        else if (!strncmp(argv[i], "chunk=", 6))
            o.chunk_size = (raft_size_t)atoi(argv[i] + 6);
        else
            out("unknown option %s", argv[i]);
    }
    sc->c = cl_new_opts(argi(argv, argc, 1, 3), seed, &o);
}

static void cmd_status(cluster_t *c)
{
    for (int i = 1; i <= c->n; i++) {
        cl_server_t *s = &c->s[i];
        if (!s->exists)
            continue;
        if (!s->alive) {
            out("n%d down", i);
            continue;
        }
        raft_server_t *r = s->r;
        raft_node_t *me = raft_get_my_node(r);
        out("n%d %s%s term=%ld lead=%d last=%ld commit=%ld applied=%ld", i, raft_get_state_str(r),
            me && raft_node_is_voting(me) ? "" : " (non-voting)", raft_get_current_term(r),
            raft_get_leader_id(r), raft_get_current_idx(r), raft_get_commit_idx(r),
            raft_get_last_applied_idx(r));
    }
}

static void cmd_queue(cluster_t *c)
{
    if (c->net.qlen == 0)
        out("(empty)");
    for (int i = 0; i < c->net.qlen; i++) {
        cl_msg_t *m = c->net.q[i];
        switch (m->type) {
        case CL_MSG_RV:
            out("%d->%d %s term=%ld last=%ld/%ld", m->from, m->to, m->u.rv.prevote ? "prevote" : "vote",
                m->u.rv.term, m->u.rv.last_log_idx, m->u.rv.last_log_term);
            break;
        case CL_MSG_RV_RESP:
            out("%d->%d %s-resp term=%ld granted=%d", m->from, m->to, m->u.rvr.prevote ? "prevote" : "vote",
                m->u.rvr.term, m->u.rvr.vote_granted);
            break;
        case CL_MSG_AE:
            out("%d->%d append term=%ld prev=%ld/%ld entries=%ld commit=%ld", m->from, m->to, m->u.ae.term,
                m->u.ae.prev_log_idx, m->u.ae.prev_log_term, m->u.ae.n_entries, m->u.ae.leader_commit);
            break;
        case CL_MSG_AE_RESP:
            out("%d->%d append-resp term=%ld success=%d current=%ld", m->from, m->to, m->u.aer.term,
                m->u.aer.success, m->u.aer.current_idx);
            break;
        case CL_MSG_SNAP:
            out("%d->%d snapshot term=%ld idx=%ld/%ld offset=%llu last=%d", m->from, m->to, m->u.snap.term,
                m->u.snap.snapshot_index, m->u.snap.snapshot_term,
                (unsigned long long)m->u.snap.chunk.offset, m->u.snap.chunk.last_chunk);
            break;
        case CL_MSG_SNAP_RESP:
            out("%d->%d snapshot-resp term=%ld success=%d", m->from, m->to, m->u.snapr.term,
                m->u.snapr.success);
            break;
        default:
            out("%d->%d timeoutnow", m->from, m->to);
            break;
        }
    }
}

static void cmd_applied(cluster_t *c, raft_node_id_t id)
{
    cl_server_t *s = cl_srv(c, id);
    char line[SC_LINE] = "";
    for (raft_index_t i = 0; i < s->n_applied; i++) {
        size_t k = strlen(line);
        const cl_applied_t *a = &s->applied[i];
        if (a->type == RAFT_LOGTYPE_NORMAL)
            snprintf(line + k, sizeof line - k, "%s%ld/%ld:%d", k ? " " : "", a->idx, a->term, a->val);
        else
            snprintf(line + k, sizeof line - k, "%s%ld/%ld:%s", k ? " " : "", a->idx, a->term,
                     a->type == RAFT_LOGTYPE_NO_OP ? "noop" : "cfg");
    }
    out("%s", line[0] ? line : "(none)");
}

static void cmd_partition(cluster_t *c, char **argv, int argc)
{
    raft_node_id_t side[CL_MAX];
    int n = 0;
    for (int i = 1; i < argc && strcmp(argv[i], "|") && n < CL_MAX; i++)
        side[n++] = atoi(argv[i]);
    cl_partition(c, side, n);
}

static void cmd_membership(cluster_t *c, const char *what, raft_node_id_t id)
{
    raft_entry_resp_t resp;
    raft_node_id_t l = cl_leader(c);
    int type = !strcmp(what, "add") ? RAFT_LOGTYPE_ADD_NONVOTING_NODE
               : !strcmp(what, "promote") ? RAFT_LOGTYPE_ADD_NODE
                                          : RAFT_LOGTYPE_REMOVE_NODE;
    if (!l) {
        out("no leader");
        return;
    }
    if (type == RAFT_LOGTYPE_ADD_NONVOTING_NODE && !c->s[id].exists)
        cl_add_server(c, id);
    int rc = cl_submit_cfg(c, l, type, id, &resp);
    if (rc == 0)
        out("ok idx=%ld term=%ld", resp.idx, resp.term);
    else
        print_rc(rc);
}

static void cmd_read(scenario_t *sc, raft_node_id_t id)
{
    int i = sc->reads_n;
    if (i >= 64) {
        out("too many reads");
        return;
    }
    sc->read_node[i] = id;
    sc->read_ans[i] = -1;
    sc->reads_n++;
    int rc = raft_recv_read_request(cl_raft(sc->c, id), on_read, (void *)(long)i);
    if (rc != 0)
        sc->reads_n--;
    if (rc == 0)
        out("read %d on n%d: %s", i, id, sc->read_ans[i] < 0 ? "pending" : sc->read_ans[i] ? "can read" : "refused");
    else
        print_rc(rc);
}

static void cmd_reads(scenario_t *sc)
{
    if (sc->reads_n == 0)
        out("(none)");
    for (int i = 0; i < sc->reads_n; i++)
        out("read %d on n%d: %s", i, sc->read_node[i],
            sc->read_ans[i] < 0 ? "pending" : sc->read_ans[i] ? "can read" : "refused");
}

/* Commands that take no cluster-wide decision: time and the network. */
static int run_time_cmd(cluster_t *c, char **argv, int argc)
{
    const char *cmd = argv[0];
    if (!strcmp(cmd, "run"))
        cl_run(c, argi(argv, argc, 1, 0));
    else if (!strcmp(cmd, "tick"))
        print_rc(cl_periodic_one(c, argi(argv, argc, 1, 1), argi(argv, argc, 2, 0)));
    else if (!strcmp(cmd, "deliver") && argc > 1 && !strcmp(argv[1], "one"))
        out(cl_deliver_one(c) ? "delivered" : "nothing queued");
    else if (!strcmp(cmd, "deliver"))
        cl_deliver_all(c);
    else if (!strcmp(cmd, "hold"))
        c->hold_delivery = argc > 1 && !strcmp(argv[1], "on");
    else if (!strcmp(cmd, "queue"))
        cmd_queue(c);
    else if (!strcmp(cmd, "isolate"))
        cl_isolate(c, argi(argv, argc, 1, 1));
    else if (!strcmp(cmd, "heal"))
        cl_heal(c);
    else if (!strcmp(cmd, "partition"))
        cmd_partition(c, argv, argc);
    else
        return 0;
    return 1;
}

static int run_server_cmd(scenario_t *sc, char **argv, int argc)
{
    cluster_t *c = sc->c;
    const char *cmd = argv[0];
    raft_node_id_t id = argi(argv, argc, 1, 0);
    raft_entry_resp_t resp;
    if (!strcmp(cmd, "campaign")) {
        raft_node_id_t l = cl_elect_node(c, id, 10000);
        out(l ? "n%d leads term %ld" : "n%d did not win", id, raft_get_current_term(cl_raft(c, id)));
    } else if (!strcmp(cmd, "elect")) {
        raft_node_id_t l = cl_elect(c, 20000);
        if (l)
            out("n%d leads term %ld", l, raft_get_current_term(cl_raft(c, l)));
        else
            out("no leader");
    } else if (!strcmp(cmd, "propose")) {
        int rc = cl_submit(c, id, argi(argv, argc, 2, 0), &resp);
        if (rc == 0)
            out("ok idx=%ld term=%ld", resp.idx, resp.term);
        else
            print_rc(rc);
    } else if (!strcmp(cmd, "replicate")) {
        out(cl_replicate(c, id, 10000) ? "applied by every member" : "not applied by every member");
    } else if (!strcmp(cmd, "converge")) {
        out(cl_converge(c, 20000) ? "converged" : "did not converge");
    } else if (!strcmp(cmd, "crash")) {
        cl_crash(c, id);
    } else if (!strcmp(cmd, "restart")) {
        print_rc(cl_restart(c, id, 0));
    } else if (!strcmp(cmd, "snapshot")) {
        int rc = cl_snapshot(c, id);
        if (rc == 0)
            out("ok snapshot at %ld", raft_get_snapshot_last_idx(cl_raft(c, id)));
        else
            print_rc(rc);
    } else if (!strcmp(cmd, "add") || !strcmp(cmd, "promote") || !strcmp(cmd, "remove")) {
        cmd_membership(c, cmd, id);
    } else if (!strcmp(cmd, "transfer")) {
        raft_node_id_t target = argi(argv, argc, 2, 0);
        print_rc(raft_transfer_leader(cl_raft(c, id), target ? target : RAFT_NODE_ID_NONE, 0));
    } else {
        return 0;
    }
    return 1;
}

static void run_command(scenario_t *sc, char **argv, int argc)
{
    if (!strcmp(argv[0], "cluster")) {
        if (sc->c)
            out("a script has one cluster");
        else
            cmd_cluster(sc, argv, argc);
        return;
    }
    if (!sc->c) {
        out("no cluster yet");
        return;
    }
    if (!strcmp(argv[0], "status"))
        cmd_status(sc->c);
    else if (!strcmp(argv[0], "applied"))
        cmd_applied(sc->c, argi(argv, argc, 1, 1));
    else if (!strcmp(argv[0], "read"))
        cmd_read(sc, argi(argv, argc, 1, 1));
    else if (!strcmp(argv[0], "reads"))
        cmd_reads(sc);
    else if (!run_time_cmd(sc->c, argv, argc) && !run_server_cmd(sc, argv, argc))
        out("unknown command %s", argv[0]);
}

/* ------------------------------------------------------------------ */
/* Scripts                                                              */

static char *g_dir;
static char *g_files[SC_MAX_FILES];
static int g_nfiles;

static char *read_file(const char *path)
{
    FILE *f = fopen(path, "r");
    if (!f)
        return NULL;
    char *buf = NULL;
    size_t len = 0, cap = 0, k;
    char chunk[4096];
    while ((k = fread(chunk, 1, sizeof chunk, f)) > 0) {
        if (len + k + 1 > cap) {
            cap = (len + k + 1) * 2;
            buf = hs_realloc(buf, cap);
        }
        memcpy(buf + len, chunk, k);
        len += k;
    }
    fclose(f);
    if (!buf)
        buf = hs_realloc(NULL, 1);
    buf[len] = 0;
    return buf;
}

static int split_words(char *line, char **argv, int max)
{
    int n = 0;
    for (char *t = strtok(line, " \t"); t && n < max; t = strtok(NULL, " \t"))
        argv[n++] = t;
    return n;
}

typedef struct {
    char *p;
    size_t len, cap;
} buf_t;

static void buf_add(buf_t *b, const char *s)
{
    size_t n = strlen(s);
    if (b->len + n + 1 > b->cap) {
        b->cap = (b->len + n + 1) * 2;
        b->p = hs_realloc(b->p, b->cap);
    }
    memcpy(b->p + b->len, s, n);
    b->len += n;
    b->p[b->len] = 0;
}

/* After a command line at *p: a ---- line, then the expected output up to
 * a blank line (or nothing). */
static void parse_expected(const char **p, int *lineno, char *expected, size_t size)
{
    expected[0] = 0;
    if (strncmp(*p, "----\n", 5) != 0)
        return;
    *p += 5;
    (*lineno)++;
    while (**p && **p != '\n') {
        const char *e = strchr(*p, '\n');
        size_t m = e ? (size_t)(e - *p + 1) : strlen(*p);
        size_t k = strlen(expected);
        snprintf(expected + k, size - k, "%.*s%s", (int)m, *p, e ? "" : "\n");
        *p += m;
        (*lineno)++;
    }
}

/* The command's output as the rewritten script has it. */
static void emit_block(buf_t *rw, const char *cmdline, const char *got, const char *rest)
{
    buf_add(rw, cmdline);
    buf_add(rw, "\n");
    if (!got[0])
        return;
    buf_add(rw, "----\n");
    buf_add(rw, got);
    if (*rest && *rest != '\n')
        buf_add(rw, "\n"); /* an output block ends at a blank line */
}

/* Runs the script text; the rewritten script goes to rw. Returns the number
 * of blocks whose output differed, plus one for a missing cluster or for
 * violations the cluster reported. */
static int run_script(const char *path, const char *text, buf_t *rw)
{
    scenario_t sc;
    int bad = 0, lineno = 0;
    memset(&sc, 0, sizeof sc);
    g_sc = &sc;
    const char *p = text;
    while (*p) {
        const char *nl = strchr(p, '\n');
        size_t n = nl ? (size_t)(nl - p) : strlen(p);
        char line[SC_LINE], cmdline[SC_LINE], expected[8192];
        snprintf(line, sizeof line, "%.*s", (int)n, p);
        p += n + (nl ? 1 : 0);
        lineno++;
        if (!line[0] || line[0] == '#') {
            buf_add(rw, line);
            buf_add(rw, "\n");
            continue;
        }
        snprintf(cmdline, sizeof cmdline, "%s", line);
        int cmd_line = lineno;
        parse_expected(&p, &lineno, expected, sizeof expected);
        char *argv[32];
        int argc = split_words(line, argv, 32);
        g_out_len = 0;
        if (g_out)
            g_out[0] = 0;
        run_command(&sc, argv, argc);
        const char *got = g_out_len ? g_out : "";
        if (strcmp(got, expected) != 0) {
            bad++;
            fprintf(stderr, "  %s:%d: %s\n  expected:\n%s  got:\n%s", path, cmd_line, cmdline, expected, got);
        }
        emit_block(rw, cmdline, got, p);
    }
    if (!sc.c) {
        fprintf(stderr, "  %s: the script starts no cluster\n", path);
        bad++;
    } else {
        if (cl_violations(sc.c) != 0) {
            fprintf(stderr, "  %s: the cluster reported %d violation(s)\n", path, cl_violations(sc.c));
            bad++;
        }
        cl_free(sc.c);
    }
    g_sc = NULL;
    return bad;
}

static void run_scenario(const char *file)
{
    char path[1024];
    snprintf(path, sizeof path, "%s/%s", g_dir, file);
    char *text = read_file(path);
    if (!text)
        FAIL_AT("cannot read %s", path);
    buf_t rw = {NULL, 0, 0};
    buf_add(&rw, "");
    int bad = run_script(path, text, &rw);
    if (getenv("SCENARIO_REWRITE")) {
        FILE *f = fopen(path, "w");
        if (!f || fwrite(rw.p, 1, rw.len, f) != rw.len)
            FAIL_AT("cannot rewrite %s", path);
        fclose(f);
        fprintf(stderr, "  rewrote %s\n", path);
        bad = 0;
    }
    free(rw.p);
    free(text);
    ASSERT_EQ(0, bad);
}

/* One test per script; test names are static, so each script has a slot. */
#define SCENARIO_SLOT(k)                                                                     \
    static void scenario_##k(void) { run_scenario(g_files[k]); }
SCENARIO_SLOT(0) SCENARIO_SLOT(1) SCENARIO_SLOT(2) SCENARIO_SLOT(3) SCENARIO_SLOT(4)
SCENARIO_SLOT(5) SCENARIO_SLOT(6) SCENARIO_SLOT(7) SCENARIO_SLOT(8) SCENARIO_SLOT(9)
SCENARIO_SLOT(10) SCENARIO_SLOT(11) SCENARIO_SLOT(12) SCENARIO_SLOT(13) SCENARIO_SLOT(14)
SCENARIO_SLOT(15)
static test_fn_t g_slots[] = {
    scenario_0, scenario_1, scenario_2,  scenario_3,  scenario_4,  scenario_5,  scenario_6,  scenario_7,
    scenario_8, scenario_9, scenario_10, scenario_11, scenario_12, scenario_13, scenario_14, scenario_15,
};

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static void no_scenarios(void)
{
    FAIL_AT("no scenario scripts in %s (or more than %d)", g_dir, (int)(sizeof g_slots / sizeof g_slots[0]));
}

/* The scripts live beside this file: c_tests/scenarios/, found from the
 * repository root (where the suite runs) or SCENARIO_DIR. */
__attribute__((constructor)) static void register_scenarios(void)
{
    const char *env = getenv("SCENARIO_DIR");
    const char *src = __FILE__;
    const char *slash = strrchr(src, '/');
    char dir[1024];
    if (env)
        snprintf(dir, sizeof dir, "%s", env);
    else
        snprintf(dir, sizeof dir, "%.*sscenarios", slash ? (int)(slash - src + 1) : 0, src);
    g_dir = strdup(dir);
    DIR *d = opendir(dir);
    struct dirent *de;
    while (d && (de = readdir(d)) != NULL) {
        size_t n = strlen(de->d_name);
        if (n > 4 && !strcmp(de->d_name + n - 4, ".txt") && g_nfiles < SC_MAX_FILES)
            g_files[g_nfiles++] = strdup(de->d_name);
    }
    if (d)
        closedir(d);
    qsort(g_files, (size_t)g_nfiles, sizeof g_files[0], cmp_str);
    int slots = (int)(sizeof g_slots / sizeof g_slots[0]);
    if (g_nfiles == 0 || g_nfiles > slots) {
        test_register__("scenarios_found", no_scenarios);
        return;
    }
    for (int k = 0; k < g_nfiles; k++)
        test_register__(g_files[k], g_slots[k]);
}

TEST_MAIN()
