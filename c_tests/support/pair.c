/* See pair.h. */
#include "pair.h"

#include <string.h>

/* A follower in term 0, node 1 of the voters 1..n. */
static raft_server_t *follower_of(int n, const raft_cbs_t *cbs, void *udata)
{
    raft_server_t *r = raft_new();
    if (r == NULL)
        return NULL;
    raft_cbs_t copy;
    memset(&copy, 0, sizeof(copy));
    if (cbs != NULL)
        copy = *cbs;
    raft_set_callbacks(r, &copy, udata);
    for (int id = 1; id <= n; id++) {
        if (raft_add_node(r, NULL, id, id == 1) == NULL) {
            raft_destroy(r);
            return NULL;
        }
    }
    return r;
}

raft_server_t *pair_follower_new(const raft_cbs_t *cbs, void *udata)
{
    return follower_of(2, cbs, udata);
}

raft_server_t *trio_follower_new(const raft_cbs_t *cbs, void *udata)
{
    return follower_of(3, cbs, udata);
}

raft_server_t *pair_leader_new(const raft_cbs_t *cbs, void *udata)
{
    raft_server_t *r = pair_follower_new(cbs, udata);
    if (r == NULL)
        return NULL;
    if (raft_set_current_term(r, 1) != 0 || raft_become_leader(r) != 0 || !raft_is_leader(r)) {
        raft_destroy(r);
        return NULL;
    }
    return r;
}

raft_server_t *pair_leader_manual_flush_new(const raft_cbs_t *cbs, void *udata)
{
    raft_server_t *r = pair_leader_new(cbs, udata);
    if (r == NULL)
        return NULL;
    if (raft_config(r, 1, RAFT_CONFIG_AUTO_FLUSH, 0) != 0 || raft_flush(r, raft_get_index_to_sync(r)) != 0) {
        raft_destroy(r);
        return NULL;
    }
    return r;
}

int propose_text(raft_server_t *r, const char *text)
{
    size_t n = strlen(text);
    raft_entry_t *e = raft_entry_new((unsigned)n);
    if (e == NULL)
        return RAFT_ERR_NOMEM;
    memcpy(e->data, text, n);
    raft_entry_resp_t resp;
    int rc = raft_recv_entry(r, e, &resp);
    raft_entry_release(e);
    return rc;
}
