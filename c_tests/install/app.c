/* A program built against an installed libraft (c_tests/install/check.sh):
 * one server that is its own majority commits and applies an entry. */
#include <stdio.h>
#include <string.h>
#include <raft.h>

static int applied;

static int persist_metadata(raft_server_t *r, void *u, raft_term_t t, raft_node_id_t v)
{
    (void)r; (void)u; (void)t; (void)v;
    return 0;
}

static int applylog(raft_server_t *r, void *u, raft_entry_t *e, raft_index_t idx)
{
    (void)r; (void)u; (void)idx;
    if (e->type == RAFT_LOGTYPE_NORMAL && e->data_len == 5 && memcmp(e->data, "hello", 5) == 0)
        applied++;
    return 0;
}

int main(void)
{
    raft_server_t *r = raft_new();
    raft_cbs_t cbs;
    raft_entry_t *e;
    raft_entry_resp_t resp;
    if (!r)
        return 1;
    memset(&cbs, 0, sizeof(cbs));
    cbs.persist_metadata = persist_metadata;
    cbs.applylog = applylog;
    raft_set_callbacks(r, &cbs, NULL);
    if (!raft_add_node(r, NULL, 1, 1) || raft_periodic(r) != 0 || !raft_is_leader(r))
        return 2;
    e = raft_entry_new(5);
    memcpy(e->data, "hello", 5);
    if (raft_recv_entry(r, e, &resp) != 0)
        return 3;
    raft_entry_release(e);
    if (raft_periodic(r) != 0 || applied != 1)
        return 4;
    raft_destroy(r);
    printf("installed libraft: entry %ld applied\n", resp.idx);
    return 0;
}
