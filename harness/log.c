/* The harness's in-memory log: see harness.h. */
#include "harness.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void *hs_realloc(void *p, size_t n)
{
    void *q = realloc(p, n ? n : 1);
    if (!q) {
        fprintf(stderr, "harness: out of memory (%zu bytes)\n", n);
        abort();
    }
    return q;
}

raft_entry_t *hs_entry_copy(const raft_entry_t *e)
{
    raft_entry_t *c = raft_entry_new(e->data_len);
    if (!c)
        return NULL; /* out of memory (c_tests/test_oom.c makes it so) */
    c->term = e->term;
    c->id = e->id;
    c->type = e->type;
    if (e->data_len)
        memcpy(c->data, e->data, e->data_len);
    return c;
}

int hs_entry_equal(const raft_entry_t *a, const raft_entry_t *b)
{
    return a->term == b->term && a->id == b->id && a->type == b->type && a->data_len == b->data_len &&
           memcmp(a->data, b->data, a->data_len) == 0;
}

/* ------------------------------------------------------------------ */

void hs_log_init(hs_log_t *l, raft_index_t base, raft_term_t base_term)
{
    memset(l, 0, sizeof(*l));
    l->base = base;
    l->base_term = base_term;
}

hs_log_t *hs_log_new(raft_index_t base, raft_term_t base_term)
{
    hs_log_t *l = hs_realloc(NULL, sizeof(*l));
    hs_log_init(l, base, base_term);
    return l;
}

void hs_log_truncate(hs_log_t *l, raft_index_t keep)
{
    while (l->n > keep)
        raft_entry_release(l->e[--l->n]);
    if (l->synced > l->n)
        l->synced = l->n;
}

void hs_log_clear(hs_log_t *l)
{
    hs_log_truncate(l, 0);
    free(l->e);
    l->e = NULL;
    l->cap = 0;
}

void hs_log_free(hs_log_t *l)
{
    if (!l)
        return;
    hs_log_clear(l);
    free(l);
}

static void push(hs_log_t *l, raft_entry_t *e)
{
    if (l->n == l->cap) {
        l->cap = l->cap ? l->cap * 2 : 64;
        l->e = hs_realloc(l->e, (size_t)l->cap * sizeof(*l->e));
    }
    raft_entry_hold(e);
    l->e[l->n++] = e;
}

hs_log_t *hs_log_copy(const hs_log_t *src)
{
    hs_log_t *l = hs_log_new(src->base, src->base_term);
    for (raft_index_t i = 0; i < src->n; i++)
        push(l, src->e[i]);
    l->synced = src->synced;
    return l;
}

raft_entry_t *hs_log_at(const hs_log_t *l, raft_index_t idx)
{
    if (idx <= l->base || idx > l->base + l->n)
        return NULL;
    return l->e[idx - l->base - 1];
}

raft_term_t hs_log_term_at(const hs_log_t *l, raft_index_t idx)
{
    if (idx == l->base)
        return l->base_term;
    raft_entry_t *e = hs_log_at(l, idx);
    return e ? e->term : -1;
}

#define HOOK(l, name) ((l)->hooks && (l)->hooks->name)

int hs_log_append(hs_log_t *l, raft_entry_t *e)
{
    raft_index_t idx = l->base + l->n + 1;
    raft_term_t prev = l->n ? l->e[l->n - 1]->term : (l->base == 0 ? 0 : l->base_term);
    if (l->fail_append)
        return l->fail_append;
    push(l, e);
    l->appends++;
    if (l->durable_appends)
        l->synced = l->n;
    if (HOOK(l, append))
        l->hooks->append(l->hook_arg, l, idx, e, prev);
    return 0;
}

/* Removes the entries before first_idx; -1 if that passes the log's end. */
int hs_log_poll(hs_log_t *l, raft_index_t first_idx)
{
    if (first_idx <= l->base + 1)
        return 0;
    if (first_idx > l->base + l->n + 1)
        return -1;
    raft_index_t k = first_idx - 1 - l->base;
    l->base_term = l->e[k - 1]->term;
    for (raft_index_t i = 0; i < k; i++)
        raft_entry_release(l->e[i]);
    memmove(l->e, l->e + k, (size_t)(l->n - k) * sizeof(*l->e));
    l->n -= k;
    l->synced = l->synced > k ? l->synced - k : 0;
    l->base = first_idx - 1;
    l->polls++;
    if (HOOK(l, poll))
        l->hooks->poll(l->hook_arg, l, first_idx);
    return 0;
}

int hs_log_pop(hs_log_t *l, raft_index_t from_idx, raft_entry_notify_f cb, void *cb_arg)
{
    if (from_idx <= l->base)
        return -1;
    if (from_idx > l->base + l->n)
        return 0;
    for (raft_index_t i = l->base + l->n; i >= from_idx; i--) {
        raft_entry_t *e = l->e[l->n - 1];
        if (HOOK(l, pop_entry))
            l->hooks->pop_entry(l->hook_arg, l, i, e);
        if (cb)
            cb(cb_arg, e, i);
        l->n--;
        raft_entry_release(e);
        l->pops++;
    }
    if (l->synced > l->n)
        l->synced = l->n;
    if (HOOK(l, pop))
        l->hooks->pop(l->hook_arg, l, from_idx);
    return 0;
}

void hs_log_reset(hs_log_t *l, raft_index_t first_idx, raft_term_t term)
{
    hs_log_truncate(l, 0);
    l->base = first_idx - 1;
    l->base_term = term;
    l->synced = 0;
    l->resets++;
    if (HOOK(l, reset))
        l->hooks->reset(l->hook_arg, l, first_idx, term);
}

int hs_log_sync(hs_log_t *l)
{
    l->synced = l->n;
    l->syncs++;
    if (HOOK(l, sync))
        l->hooks->sync(l->hook_arg, l);
    return 0;
}

/* ------------------------------------------------------------------ */
/* raft_log_impl_t                                                      */

static void *impl_init(void *raft, void *arg)
{
    hs_log_t *l = arg;
    l->attached = 1;
    if (HOOK(l, attach))
        l->hooks->attach(l->hook_arg, l, raft);
    return l;
}

/* The log is the node's disk and outlives the server: entries stay. */
static void impl_free(void *log)
{
    hs_log_t *l = log;
    l->attached = 0;
    if (HOOK(l, detach))
        l->hooks->detach(l->hook_arg, l);
}

static void impl_reset(void *log, raft_index_t first_idx, raft_term_t term)
{
    hs_log_reset(log, first_idx, term);
}

static int impl_append(void *log, raft_entry_t *e)
{
    return hs_log_append(log, e);
}

static int impl_poll(void *log, raft_index_t first_idx)
{
    return hs_log_poll(log, first_idx);
}

static int impl_pop(void *log, raft_index_t from_idx, raft_entry_notify_f cb, void *cb_arg)
{
    return hs_log_pop(log, from_idx, cb, cb_arg);
}

static raft_entry_t *impl_get(void *log, raft_index_t idx)
{
    hs_log_t *l = log;
    raft_entry_t *e = hs_log_at(l, idx);
    l->gets++;
    if (HOOK(l, get))
        return l->hooks->get(l->hook_arg, l, idx, e);
    if (e)
        raft_entry_hold(e);
    return e;
}

static raft_index_t impl_get_batch(void *log, raft_index_t idx, raft_index_t n, raft_entry_t **out)
{
    hs_log_t *l = log;
    raft_index_t got = 0;
    if (HOOK(l, get_batch))
        return l->hooks->get_batch(l->hook_arg, l, idx, n, out);
    while (got < n) {
        raft_entry_t *e = hs_log_at(l, idx + got);
        if (!e)
            break;
        raft_entry_hold(e);
        out[got++] = e;
    }
    return got;
}

static raft_index_t impl_first_idx(void *log)
{
    return ((hs_log_t *)log)->base + 1;
}

static raft_index_t impl_current_idx(void *log)
{
    return hs_log_last(log);
}

static raft_index_t impl_count(void *log)
{
    return ((hs_log_t *)log)->n;
}

static int impl_sync(void *log)
{
    return hs_log_sync(log);
}

const raft_log_impl_t hs_log_impl = {
    .init = impl_init,
    .free = impl_free,
    .reset = impl_reset,
    .append = impl_append,
    .poll = impl_poll,
    .pop = impl_pop,
    .get = impl_get,
    .get_batch = impl_get_batch,
    .first_idx = impl_first_idx,
    .current_idx = impl_current_idx,
    .count = impl_count,
    .sync = impl_sync,
};
