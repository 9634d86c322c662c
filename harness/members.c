/* Membership lists and the one-leader-per-term record: see harness.h. */
#include "harness.h"

#include <stdlib.h>

int hs_members_apply(hs_member_t *m, int *n, int max, int type, raft_node_id_t id)
{
    int i;
    for (i = 0; i < *n; i++)
        if (m[i].id == id)
            break;
    if (type == RAFT_LOGTYPE_REMOVE_NODE) {
        if (i < *n)
            m[i] = m[--*n];
        return 0;
    }
    if (i == *n) {
        if (*n >= max)
            return -1;
        m[i].id = id;
        m[i].voting = 0;
        (*n)++;
    }
    if (type == RAFT_LOGTYPE_ADD_NODE)
        m[i].voting = 1;
    return 0;
}

void hs_members_install(raft_server_t *r, raft_node_id_t self, const hs_member_t *m, int n)
{
    int self_found = 0;
    for (int i = 0; i < n; i++) {
        raft_node_t *node = raft_get_node(r, m[i].id);
        int is_self = m[i].id == self;
        self_found |= is_self;
        if (!node)
            node = m[i].voting ? raft_add_node(r, NULL, m[i].id, is_self)
                               : raft_add_non_voting_node(r, NULL, m[i].id, is_self);
        else
            raft_node_set_voting(node, m[i].voting);
        if (node) {
            raft_node_set_active(node, 1);
            raft_node_set_voting_committed(node, m[i].voting);
            raft_node_set_addition_committed(node, 1);
        }
    }
    if (!self_found) {
        raft_node_t *me = raft_get_node(r, self);
        if (!me)
            raft_add_non_voting_node(r, NULL, self, 1);
        else
            raft_node_set_voting(me, 0);
    }
}

raft_node_id_t hs_terms_leader(hs_terms_t *t, raft_term_t term, raft_node_id_t id)
{
    if (term < 0)
        return RAFT_NODE_ID_NONE;
    if (term >= t->cap) {
        raft_term_t cap = t->cap ? t->cap : 256;
        while (cap <= term)
            cap *= 2;
        t->leader = hs_realloc(t->leader, (size_t)cap * sizeof(*t->leader));
        for (raft_term_t i = t->cap; i < cap; i++)
            t->leader[i] = RAFT_NODE_ID_NONE;
        t->cap = cap;
    }
    raft_node_id_t was = t->leader[term];
    if (was == RAFT_NODE_ID_NONE)
        t->leader[term] = id;
    return was;
}

void hs_terms_free(hs_terms_t *t)
{
    free(t->leader);
    t->leader = NULL;
    t->cap = 0;
}
