/* What a simulated server keeps on disk besides its log: see harness.h. */
#include "harness.h"

#include <stdlib.h>
#include <string.h>

void hs_disk_init(hs_disk_t *d)
{
    memset(d, 0, sizeof(*d));
    d->vote = RAFT_NODE_ID_NONE;
}

void hs_disk_free(hs_disk_t *d)
{
    free(d->snap);
    free(d->in);
    d->snap = d->in = NULL;
    d->snap_len = d->in_len = d->in_cap = 0;
}

int hs_disk_persist(hs_disk_t *d, raft_term_t term, raft_node_id_t vote)
{
    int rc = HS_META_OK;
    if (term < d->term)
        rc = HS_META_TERM_BACK;
    else if (term == d->term && d->vote != RAFT_NODE_ID_NONE && vote != d->vote)
        rc = HS_META_VOTE_CHANGED;
    d->term = term;
    d->vote = vote;
    d->persists++;
    return rc;
}

void hs_disk_save_snapshot(hs_disk_t *d, const void *img, size_t len, raft_index_t idx, raft_term_t term)
{
    unsigned char *copy = hs_realloc(NULL, len);
    if (len)
        memcpy(copy, img, len);
    free(d->snap);
    d->snap = copy;
    d->snap_len = len;
    d->snap_idx = idx;
    d->snap_term = term;
}

void hs_disk_read_chunk(const hs_disk_t *d, raft_size_t off, raft_size_t max, raft_snapshot_chunk_t *chunk)
{
    raft_size_t len = d->snap_len - off;
    if (len > max)
        len = max;
    chunk->offset = off;
    chunk->data = d->snap + off;
    chunk->len = len;
    chunk->last_chunk = off + len == d->snap_len;
}

int hs_disk_store_chunk(hs_disk_t *d, raft_index_t snap_idx, raft_size_t off, const raft_snapshot_chunk_t *chunk)
{
    if (off == 0) {
        d->in_len = 0;
        d->in_idx = snap_idx;
    }
    if (off > d->in_len || (off > 0 && snap_idx != d->in_idx))
        return -1;
    if (off + chunk->len > d->in_cap) {
        d->in_cap = (size_t)(off + chunk->len) * 2 + 64;
        d->in = hs_realloc(d->in, d->in_cap);
    }
    if (chunk->len)
        memcpy(d->in + off, chunk->data, (size_t)chunk->len);
    d->in_len = (size_t)(off + chunk->len);
    return 0;
}

void hs_disk_install_received(hs_disk_t *d, raft_index_t idx, raft_term_t term)
{
    hs_disk_save_snapshot(d, d->in, d->in_len, idx, term);
}
