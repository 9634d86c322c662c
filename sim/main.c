/* The step, the run of one seed, the options and main. The simulator as a
 * whole is described in sim.h and sim/README.md. */
#include "sim.h"

void start_heal(void)
{
    W.healing = 1;
    W.catchup = 0;
    W.heal_start = g_step;
    W.heal_commit = W.com_max;
    W.st.heals++;
    heal_partitions();
    for (int i = 1; i < W.next_id; i++)
        if (W.nodes[i]->status == N_DOWN) {
            W.st.restarts++;
            node_boot(W.nodes[i]);
        }
    ev("heal: all faults off, waiting for a leader and a commit beyond %ld", W.heal_commit);
}

/* Auto flush off: the background fsync of what raft_get_index_to_sync asks
 * for completes at random; raft_flush is told what is durable. */
void node_sync(node_t *n)
{
    raft_index_t t = raft_get_index_to_sync(n->r);
    if (t > n->sync_target)
        n->sync_target = t;
    if (n->st && t > 0) /* the store's thread starts the fdatasync */
        store_check(n, raft_store_sync_start(n->st), "raft_store_sync_start");
    raft_index_t done = 0;
    if (n->sync_target && chance(C.fsync)) { /* the background fsync completes */
        long want = (long)(n->sync_target - n->log.base);
        if (want > n->log.n)
            want = n->log.n;
        if (want > n->log.synced)
            n->log.synced = want;
        if (n->st) {
            /* What the background sync reports durable covers the
             * request (unless a pop since cut it: then sync again). */
            raft_index_t got = 0;
            store_check(n, raft_store_sync_wait(n->st, &got), "raft_store_sync_wait");
            if (got > raft_store_current_idx(n->st))
                violation("store", "node %d: background sync reports %ld past the log's end %ld", n->id,
                          got, raft_store_current_idx(n->st));
            if (got < n->log.base + want)
                store_check(n, raft_store_sync(n->st), "raft_store_sync");
        }
        done = n->log.base + n->log.synced;
        n->sync_target = 0;
    }
    int rc = raft_flush(n->r, done);
    rc_shutdown(n, rc, "flush");
}

/* Time passes on every node, in a random order. */
void step_time(void)
{
    int *order = hs_realloc(NULL, (size_t)W.next_id * sizeof *order), k = 0;
    for (int i = 1; i < W.next_id; i++)
        order[k++] = i;
    for (int i = k - 1; i > 0; i--) {
        int j = (int)rndn(i + 1), tmp = order[i];
        order[i] = order[j];
        order[j] = tmp;
    }
    for (int i = 0; i < k; i++) {
        node_t *n = W.nodes[order[i]];
        if (n->status != N_UP)
            continue;
        int rc = raft_periodic(n->r);
        if (rc_shutdown(n, rc, "periodic"))
            continue;
        if (n->snap_busy && --n->snap_wait <= 0)
            snapshot_finish(n);
        if (!n->autoflush)
            node_sync(n);
    }
    free(order);
}

void compact_some(void)
{
    for (int i = 1; i < W.next_id; i++) {
        node_t *n = W.nodes[i];
        if (n->status == N_UP && chance(C.compact))
            act_compact(n);
    }
}

/* Requests, and (unless healing) faults and membership changes. */
void step_actions(void)
{
    if (W.healing || W.final_heal) {
        if (chance(0.5))
            act_propose();
        if (chance(C.read))
            act_read();
        compact_some();
        return;
    }
    if (chance(C.propose))
        act_propose();
    if (chance(C.read))
        act_read();
    if (chance(C.transfer))
        act_transfer();
    if (chance(C.member))
        act_member();
    if (chance(C.partition)) {
        if (W.part_until && chance(0.3))
            heal_partitions();
        else
            act_partition();
    }
    if (chance(C.crash)) {
        node_t *n = random_up();
        if (n)
            node_crash(n, "fault");
    }
    compact_some();
}

/* Members the leader knows that have not applied the catch-up target, and
 * reads from before the heal still unanswered, described in lag. */
int catchup_lagging(node_t *l, char *lag, size_t size)
{
    int lagging = 0;
    for (int i = 1; i < W.next_id; i++) {
        node_t *n = W.nodes[i];
        raft_node_t *rn = raft_get_node(l->r, i);
        if (n->status != N_UP || !rn || !raft_node_is_active(rn) || n->sm_idx >= W.catchup_target)
            continue;
        lagging++;
        size_t dl = strlen(lag);
        snprintf(lag + dl, size - dl, " n%d:applied %ld", i, n->sm_idx);
    }
    for (long i = 0; i < W.nreads; i++) {
        readrec_t *rr = &W.reads[i];
        if (!rr->done && rr->step <= W.heal_start) {
            lagging++;
            size_t dl = strlen(lag);
            snprintf(lag + dl, size - dl, " read %ld unanswered", i);
            break;
        }
    }
    return lagging;
}

void no_leader_violation(void)
{
    char buf[512] = "";
    for (int i = 1; i < W.next_id; i++) {
        node_t *n = W.nodes[i];
        if (n->status != N_UP)
            continue;
        size_t dl = strlen(buf);
        snprintf(buf + dl, sizeof buf - dl, " n%d:%s/t%ld/idx%ld/c%ld/v%d", n->id,
                 raft_get_state_str(n->r), raft_get_current_term(n->r), raft_get_current_idx(n->r),
                 raft_get_commit_idx(n->r), raft_node_is_voting(raft_get_my_node(n->r)));
    }
    violation("liveness", "no leader committed a new entry within %d steps after the "
              "faults healed at step %ld (commit still %ld); nodes:%s",
              C.live_bound, W.heal_start, W.com_max, buf);
}

/* While healing: a leader must commit a new entry within the bound, then
 * every member must apply it within twice the bound. */
void check_liveness(void)
{
    node_t *l = leader();
    if (!W.catchup && l && W.com_max > W.heal_commit) {
        ev("liveness ok: leader n%d term %ld committed %ld after %ld steps", l->id,
           raft_get_current_term(l->r), W.com_max, g_step - W.heal_start);
        W.catchup = 1;
        W.catchup_target = W.com_max;
    }
    int lagging = 0;
    char lag[512] = "";
    if (W.catchup && l)
        lagging = catchup_lagging(l, lag, sizeof lag);
    if (W.catchup && l && !lagging) {
        ev("catch-up ok: every member applied %ld after %ld steps", W.catchup_target,
           g_step - W.heal_start);
        W.st.catchups++;
        W.healing = 0;
        W.catchup = 0;
    } else if (W.catchup && g_step - W.heal_start > 2 * C.live_bound) {
        violation("liveness", "after the faults healed at step %ld, members still lag behind "
                  "commit %ld after %d steps:%s%s", W.heal_start, W.catchup_target,
                  2 * C.live_bound, lag, l ? "" : " (no leader)");
    } else if (!W.catchup && g_step - W.heal_start > C.live_bound) {
        no_leader_violation();
    }
}

void step(void)
{
    g_step++;
    hs_clock_advance_ms(&W.clock, TICK_MS);

    if (W.part_until && g_step >= W.part_until)
        heal_partitions();
    for (int i = 1; i < W.next_id; i++) {
        node_t *n = W.nodes[i];
        if (n->status == N_DOWN && (W.healing || g_step >= n->restart_at)) {
            W.st.restarts++;
            node_boot(n);
        }
    }

    deliver_due();
    step_time();
    observe();
    step_actions();
    do_promotions();

    observe();
    check_reads();
    retire_removed();

    if (W.healing) {
        check_liveness();
    } else if (!W.final_heal &&
               ((C.heal_every > 0 && g_step % C.heal_every == 0 &&
                 g_step < C.steps - 4 * C.live_bound - 2) ||
                g_step >= C.steps - 2 * C.live_bound - 2)) {
        W.final_heal = g_step >= C.steps - 4 * C.live_bound - 2;
        start_heal();
    }
}

/* ------------------------------------------------------------------------ */
/* Run */

void world_free(void)
{
    for (int i = 1; i < W.next_id; i++) {
        node_t *n = W.nodes[i];
        if (n->status == N_UP) {
            raft_destroy(n->r);
            n->r = NULL;
        }
        hs_log_truncate(&n->log, 0);
        store_crash(n);
        free(n->log.e);
        hs_disk_free(&n->disk);
        free(n->inflight_ae);
        free(n);
    }
    free(W.nodes);
    hs_net_free(&W.net);
    free(W.com);
    free(W.canon);
    hs_terms_free(&W.leaders);
    free(W.reads);
    free(W.writes);
    memset(&W, 0, sizeof W);
}

void randomize_cfg(void)
{
    hs_rng_t save = g_rng;
    g_rng.s = C.seed ^ 0xC0FFEEULL;
    C.nodes = (int)rndr(3, 9);
    C.drop = rndf() * 0.15;
    C.dup = rndf() * 0.08;
    C.reorder = rndf() * 0.3;
    C.delay = rndf() * 0.05;
    C.partition = rndf() * 0.02;
    C.oneway = rndf();
    C.crash = rndf() * 0.01;
    C.compact = rndf() * 0.05;
    C.member = rndf() * 0.03;
    C.read = rndf() * 0.2;
    C.transfer = rndf() * 0.01;
    C.propose = 0.1 + rndf() * 0.6;
    C.disk_fail = rndf() < 0.5 ? 0 : rndf() * 0.02;
    C.fsync = 0.05 + rndf() * 0.95;
    C.autoflush = (int)rndr(-1, 1);
    C.nonblocking = (int)rndr(-1, 1);
    g_rng = save;
}

void stats_add(stats_t *a, const stats_t *b)
{
    long *x = (long *)a;
    const long *y = (const long *)b;
    for (size_t i = 0; i < sizeof *a / sizeof(long); i++)
        x[i] += y[i];
}

uint64_t run_one(void)
{
    memset(&W, 0, sizeof W);
    g_rng.s = C.seed * 0x2545F4914F6CDD1DULL + 1;
    g_step = 0;
    g_ring_n = 0;
    g_digest = 0;
    W.clock.now_us = 1000 * 1000;
    net_init();
    W.next_entry_id = 1;
    W.chunk_size = (int)rndr(8, 64);
    W.use_backpressure = (int)rndn(2);
    W.use_get_entries = (int)rndn(2);
    W.next_id = C.nodes + 1;
    for (int i = 1; i <= C.nodes; i++)
        node_slot(i);
    for (int i = 1; i <= C.nodes; i++)
        node_create(i, 1);
    while (g_step < C.steps)
        step();
    /* End of run: the final heal phase must have completed. */
    if (W.healing)
        violation("liveness", "run ended %ld steps into the final heal without a new commit",
                  g_step - W.heal_start);
    check_linearizable();
    W.st.msgs = W.net.st.sent;
    W.st.drops = W.net.st.drops;
    W.st.dups = W.net.st.dups;
    W.st.reorders = W.net.st.reorders;
    W.st.delays = W.net.st.delays;
    return g_digest;
}

const char *g_argv0 = "sim";

void print_cmdline(FILE *f)
{
    fprintf(f, "%s --seed=%llu", g_argv0, (unsigned long long)C.seed);
    if (C.randomize) {
        fprintf(f, " --random-config");
    } else {
        fprintf(f, " --nodes=%d --drop=%g --dup=%g --reorder=%g --delay=%g --partition=%g "
                   "--oneway=%g --crash=%g --compact=%g --member=%g --read=%g --transfer=%g "
                   "--propose=%g --disk-fail=%g --fsync=%g --autoflush=%d --nonblocking=%d",
                C.nodes, C.drop, C.dup, C.reorder, C.delay, C.partition, C.oneway, C.crash,
                C.compact, C.member, C.read, C.transfer, C.propose, C.disk_fail, C.fsync, C.autoflush,
                C.nonblocking);
    }
    fprintf(f, " --builtin-log=%d --steps=%ld --heal-every=%d --live-bound=%d --max-ids=%d --snapshot-span=%d%s%s -v\n",
            C.builtin_log, C.steps, C.heal_every, C.live_bound, C.max_ids, C.snap_span,
            C.no_membership_check ? " --no-membership-check" : "", C.store ? " --store=1" : "");
    if (C.stale_reads)
        fprintf(f, "  (with --stale-reads)\n");
}

void usage(void)
{
    printf(
        "usage: sim [options]\n"
        "  --seed=N          first seed (default 1)\n"
        "  --seeds=N         number of consecutive seeds to run (default 1)\n"
        "  --steps=N         steps per run, %d ms of virtual time each (default 5000)\n"
        "  --nodes=N         initial cluster size, 3..9 (default 5)\n"
        "  --drop=P --dup=P --reorder=P --delay=P   per-message fault rates\n"
        "  --partition=P     per-step rate of partition changes\n"
        "  --oneway=P        fraction of partitions that are one-way\n"
        "  --crash=P         per-step rate of crash (restart follows from disk)\n"
        "  --compact=P       per-node per-step rate of snapshot + log compaction\n"
        "  --member=P        per-step rate of membership changes (add/promote/remove)\n"
        "  --read=P --transfer=P --propose=P   per-step request rates\n"
        "  --disk-fail=P     rate of persist_metadata failures (x10 for load_snapshot)\n"
        "  --fsync=P         auto flush off: per-step chance a background fsync completes\n"
        "  --autoflush=0|1|-1   auto flush off, on, random per node (default -1)\n"
        "  --nonblocking=0|1|-1 nonblocking apply (default -1)\n"
        "  --builtin-log=0|1|-1 the built-in log (raft_new, mirrored to disk through its\n"
        "                    observers), the simulator's own, random per boot (default -1)\n"
        "  --store=1         nodes keep log, term and vote on a raft_store (raft_store.h)\n"
        "                    in a temporary directory; crashes are power failures there\n"
        "  --heal-every=N    heal all faults every N steps and require progress\n"
        "  --live-bound=N    steps allowed to elect and commit after a heal (default 400)\n"
        "  --max-ids=N       node ids 1..N over one run; no node joins after that (default 63)\n"
        "  --snapshot-span=N a local snapshot spans 0..N steps (default 3)\n"
        "  --random-config   derive nodes and all rates from each seed\n"
        "  --no-membership-check  do not stop when a leader accepts a voting change before\n"
        "                    committing an entry of its term (to look past that bug)\n"
        "  --stale-reads     self-test of the linearizability check: the simulator's own\n"
        "                    state machine answers reads with a key's previous value\n"
        "  --profile=NAME    calm|lossy|partition|crash|member|all (default all)\n"
        "  --replay-check    run each seed twice and compare event digests\n"
        "  --require-coverage  fail unless every fault kind occurred\n"
        "  --trace=N         events kept for a violation report (default 50)\n"
        "  -v, -vv           print events (and library log lines)\n"
        "  -q                only print the summary\n",
        TICK_MS);
}

void set_profile(const char *p)
{
    C.drop = C.dup = C.reorder = C.delay = C.partition = C.crash = C.compact = C.member =
        C.transfer = C.disk_fail = 0;
    C.read = 0.1;
    C.propose = 0.4;
    C.oneway = 0.4;
    if (!strcmp(p, "calm"))
        return;
    if (!strcmp(p, "lossy") || !strcmp(p, "all")) {
        C.drop = 0.05, C.dup = 0.03, C.reorder = 0.15, C.delay = 0.02;
    }
    if (!strcmp(p, "partition") || !strcmp(p, "all"))
        C.partition = 0.01;
    if (!strcmp(p, "crash") || !strcmp(p, "all"))
        C.crash = 0.005;
    if (!strcmp(p, "member") || !strcmp(p, "all"))
        C.member = 0.02, C.transfer = 0.005;
    if (!strcmp(p, "all"))
        C.compact = 0.02, C.disk_fail = 0.01;
    if (!strcmp(p, "member"))
        C.compact = 0.02;
    if (strcmp(p, "calm") && strcmp(p, "lossy") && strcmp(p, "partition") &&
        strcmp(p, "crash") && strcmp(p, "member") && strcmp(p, "all")) {
        fprintf(stderr, "unknown profile %s\n", p);
        exit(2);
    }
}

void set_defaults(void)
{
    C.seed = 1;
    C.seeds = 1;
    C.nodes = 5;
    C.steps = 5000;
    C.autoflush = -1;
    C.nonblocking = -1;
    C.builtin_log = -1;
    C.heal_every = 1500;
    C.live_bound = 400;
    C.max_ids = 63;
    C.trace = 50;
    C.snap_span = 3;
    C.fsync = 0.6;
    set_profile("all");
}

/* --name=value options: what each sets. */
static const struct {
    const char *name;
    char kind; /* u: uint64, l: long, i: int, d: double, p: profile */
    void *p;
} g_opts[] = {
    {"seed", 'u', &C.seed}, {"seeds", 'l', &C.seeds}, {"steps", 'l', &C.steps},
    {"nodes", 'i', &C.nodes}, {"drop", 'd', &C.drop}, {"dup", 'd', &C.dup},
    {"reorder", 'd', &C.reorder}, {"delay", 'd', &C.delay}, {"partition", 'd', &C.partition},
    {"oneway", 'd', &C.oneway}, {"crash", 'd', &C.crash}, {"compact", 'd', &C.compact},
    {"member", 'd', &C.member}, {"read", 'd', &C.read}, {"transfer", 'd', &C.transfer},
    {"fsync", 'd', &C.fsync}, {"disk-fail", 'd', &C.disk_fail}, {"propose", 'd', &C.propose},
    {"autoflush", 'i', &C.autoflush}, {"nonblocking", 'i', &C.nonblocking},
    {"builtin-log", 'i', &C.builtin_log}, {"store", 'i', &C.store}, {"heal-every", 'i', &C.heal_every},
    {"live-bound", 'i', &C.live_bound}, {"max-ids", 'i', &C.max_ids}, {"snapshot-span", 'i', &C.snap_span},
    {"trace", 'i', &C.trace}, {"profile", 'p', NULL},
};

/* Options without a value. */
static const struct {
    const char *name;
    int *p;
    int v;
} g_flags[] = {
    {"--no-membership-check", &C.no_membership_check, 1}, {"--stale-reads", &C.stale_reads, 1},
    {"--random-config", &C.randomize, 1}, {"--replay-check", &C.replay_check, 1},
    {"--require-coverage", &C.require_coverage, 1}, {"-v", &C.verbose, 1}, {"-vv", &C.verbose, 2},
    {"-q", &C.quiet, 1},
};

/* One argument; 0 if it is not an option. */
int parse_opt(const char *a)
{
    for (size_t k = 0; k < sizeof g_flags / sizeof g_flags[0]; k++)
        if (!strcmp(a, g_flags[k].name)) {
            *g_flags[k].p = g_flags[k].v;
            return 1;
        }
    const char *v = strchr(a, '=');
    if (strncmp(a, "--", 2) || !v)
        return 0;
    for (size_t k = 0; k < sizeof g_opts / sizeof g_opts[0]; k++) {
        if (strlen(g_opts[k].name) != (size_t)(v - a - 2) || strncmp(a + 2, g_opts[k].name, (size_t)(v - a - 2)))
            continue;
        v++;
        switch (g_opts[k].kind) {
        case 'u': *(uint64_t *)g_opts[k].p = strtoull(v, NULL, 0); break;
        case 'l': *(long *)g_opts[k].p = atol(v); break;
        case 'i': *(int *)g_opts[k].p = atoi(v); break;
        case 'd': *(double *)g_opts[k].p = atof(v); break;
        default: set_profile(v); break;
        }
        return 1;
    }
    return 0;
}

/* Returns -1 to run, or the exit status. */
int parse_args(int argc, char **argv)
{
    set_defaults();
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "-h") || !strcmp(argv[i], "--help")) {
            usage();
            return 0;
        }
        if (!parse_opt(argv[i])) {
            fprintf(stderr, "unknown option %s\n", argv[i]);
            usage();
            return 2;
        }
    }
    if (C.nodes < 3 || C.nodes > MAXLIVE) {
        fprintf(stderr, "--nodes must be 3..%d (MAXLIVE, the most members a cluster has)\n", MAXLIVE);
        return 2;
    }
    if (C.max_ids < C.nodes) {
        fprintf(stderr, "--max-ids must be at least --nodes\n");
        return 2;
    }
    if (C.steps < C.live_bound * 4)
        C.steps = C.live_bound * 4;
    if (C.trace < 1)
        C.trace = 1;
    return -1;
}

/* Store mode: the stores live in a temporary directory removed at exit. */
int store_setup(void)
{
    SI = raft_store_log_impl();
    C.builtin_log = 0; /* the server's reads go through the store */
    snprintf(g_store_root, sizeof g_store_root, "/tmp/raft-sim-store-XXXXXX");
    if (!mkdtemp(g_store_root)) {
        perror("mkdtemp");
        return 1;
    }
    atexit(store_cleanup);
    return 0;
}

/* One seed (twice with --replay-check); 1 if the two runs diverged. */
int run_seed(void)
{
    if (C.randomize)
        randomize_cfg();
    uint64_t d = run_one();
    stats_t st = W.st;
    raft_index_t commits = W.com_max;
    world_free();
    if (C.replay_check) {
        int v = C.verbose;
        C.verbose = 0;
        uint64_t d2 = run_one();
        world_free();
        C.verbose = v;
        if (d2 != d) {
            fprintf(stderr, "=== VIOLATION: determinism ===\nseed=%llu: two runs of the same "
                    "seed diverged (digest %016llx vs %016llx)\nreplay: ",
                    (unsigned long long)C.seed, (unsigned long long)d,
                    (unsigned long long)d2);
            print_cmdline(stderr);
            return 1;
        }
    }
    stats_add(&g_total, &st);
    if (!C.quiet)
        printf("seed %llu ok: nodes=%d steps=%ld commits=%ld elections=%ld crashes=%ld "
               "partitions=%ld snapshots=%ld/%ld loads adds=%ld promotes=%ld removes=%ld "
               "reads=%ld/%ld transfers=%ld digest=%016llx\n",
               (unsigned long long)C.seed, C.nodes, C.steps, commits, st.elections,
               st.crashes, st.partitions, st.snapshots, st.snap_loads, st.adds, st.promotes,
               st.removes, st.reads_ok, st.reads_ok + st.reads_fail, st.transfers,
               (unsigned long long)d);
    return 0;
}

void print_summary(long seconds)
{
    const stats_t *T = &g_total;
    printf("sim: %ld seeds x %ld steps passed in %lds | msgs=%ld drops=%ld dups=%ld "
           "reorders=%ld delays=%ld partitions=%ld (one-way %ld, two-way %ld) crashes=%ld "
           "restarts=%ld snapshots=%ld snapshot-loads=%ld cancels=%ld adds=%ld promotes=%ld "
           "removes=%ld (leader %ld) reads=%ld ok/%ld refused transfers=%ld (%ld events) "
           "proposals=%ld (%ld accepted) elections=%ld heals=%ld shutdowns=%ld "
           "autoflush-off-nodes=%ld builtin-log-boots=%ld persist-failures=%ld load-failures=%ld "
           "catch-ups=%ld re-added-before-retire=%ld reads-checked-by-value=%ld\n",
           C.seeds, C.steps, seconds, T->msgs, T->drops, T->dups, T->reorders,
           T->delays, T->partitions, T->oneway, T->twoway, T->crashes, T->restarts, T->snapshots,
           T->snap_loads, T->snap_cancel, T->adds, T->promotes, T->removes, T->leader_removes,
           T->reads_ok, T->reads_fail, T->transfers, T->transfer_events, T->proposals,
           T->proposals_ok, T->elections, T->heals, T->shutdowns, T->autoflush_off,
           T->builtin_boots, T->persist_fails, T->load_fails, T->catchups, T->readds, T->lin_reads);
}

/* --require-coverage: 1 (and a line for each) if a fault kind never happened. */
int coverage_missing(void)
{
    const stats_t *T = &g_total;
    struct { const char *name; long v; } cov[] = {
        {"drop", T->drops}, {"duplication", T->dups}, {"reordering", T->reorders},
        {"delay", T->delays}, {"one-way partition", T->oneway},
        {"two-way partition", T->twoway}, {"crash/restart", T->restarts},
        {"compaction", T->snapshots}, {"snapshot install", T->snap_loads},
        {"add non-voting", T->adds}, {"promote", T->promotes}, {"remove", T->removes},
        {"leader removal", T->leader_removes}, {"read answered", T->reads_ok},
        {"transfer", T->transfers}, {"proposal committed", T->proposals_ok},
        {"auto flush off", T->autoflush_off}, {"built-in log", T->builtin_boots},
        {"heal + liveness", T->heals},
        {"persist failure", T->persist_fails}, {"snapshot load failure", T->load_fails},
        {"catch-up after heal", T->catchups},
    };
    int missing = 0;
    for (size_t i = 0; i < sizeof cov / sizeof cov[0]; i++)
        if (cov[i].v == 0) {
            fprintf(stderr, "coverage: no %s happened\n", cov[i].name);
            missing = 1;
        }
    return missing;
}

int main(int argc, char **argv)
{
    g_argv0 = argv[0];
    int rc = parse_args(argc, argv);
    if (rc >= 0)
        return rc;
    g_ring = calloc((size_t)C.trace, EVLEN);
    setvbuf(stdout, NULL, _IOLBF, 0);
    if (C.store && store_setup() != 0)
        return 1;
    uint64_t first = C.seed;
    time_t t0 = time(NULL);
    for (long s = 0; s < C.seeds; s++) {
        C.seed = first + (uint64_t)s;
        if (run_seed() != 0)
            return 1;
    }
    print_summary((long)(time(NULL) - t0));
    free(g_ring);
    if (C.require_coverage && coverage_missing())
        return 1;
    return 0;
}
