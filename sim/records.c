/* Global records checked across nodes: entries committed at each index, the
 * canonical (index, term) table of log matching, the leader of each term. */
#include "sim.h"

/* ------------------------------------------------------------------------ */
/* Global records: committed entries, canonical (idx, term) table, leaders */

cinfo_t *com_at(raft_index_t idx)
{
    if (idx >= W.com_cap) {
        raft_index_t nc = W.com_cap ? W.com_cap : 1024;
        while (nc <= idx)
            nc *= 2;
        W.com = realloc(W.com, (size_t)nc * sizeof *W.com);
        memset(W.com + W.com_cap, 0, (size_t)(nc - W.com_cap) * sizeof *W.com);
        W.com_cap = nc;
    }
    return &W.com[idx];
}

uint64_t ety_hash(raft_entry_t *e) { return fnv(e->data, e->data_len); }

int cfg_node_id(raft_entry_t *e)
{
    int id;
    if (e->data_len < sizeof id)
        return -1;
    memcpy(&id, e->data, sizeof id);
    return id;
}

/* The key a write (a NORMAL entry) sets; its value is the entry's id. */
int key_of(raft_entry_t *e)
{
    return e->data_len > KEY_AT ? (unsigned char)e->data[KEY_AT] % NKEYS : 0;
}

int is_cfg(short type)
{
    return type == RAFT_LOGTYPE_ADD_NONVOTING_NODE || type == RAFT_LOGTYPE_ADD_NODE ||
           type == RAFT_LOGTYPE_REMOVE_NODE;
}

void record_commit(raft_index_t idx, raft_entry_t *e, raft_term_t obs_term, int who)
{
    cinfo_t *c = com_at(idx);
    uint64_t dh = ety_hash(e);
    if (c->set) {
        if (c->term != e->term || c->id != e->id || c->type != e->type || c->dh != dh)
            violation("state machine safety",
                      "node %d has committed idx %ld = (term %ld, id %d, type %d) but idx %ld was "
                      "committed as (term %ld, id %d, type %d)",
                      who, idx, e->term, e->id, e->type, idx, c->term, c->id, c->type);
        return;
    }
    c->set = 1;
    c->term = e->term;
    c->id = e->id;
    c->type = e->type;
    c->dh = dh;
    c->obs_term = obs_term;
    if (idx > W.com_max)
        W.com_max = idx;
    ev("commit idx=%ld term=%ld id=%d type=%d (seen at n%d)", idx, e->term, e->id, e->type, who);
    if (e->type == RAFT_LOGTYPE_NORMAL && e->id > 0 && e->id < W.writes_cap &&
        W.writes[e->id].is_write) {
        W.writes[e->id].idx = idx;
        W.writes[e->id].comp = ++W.hclock;
    }
    if (e->type == RAFT_LOGTYPE_REMOVE_NODE) {
        int id = cfg_node_id(e);
        node_t *n = node_get(id);
        if (n && idx > n->retire)
            n->retire = idx;
    }
    if (is_cfg(e->type) && e->type != RAFT_LOGTYPE_REMOVE_NODE) {
        /* A re-addition committed after the removal: the node stays. */
        int id = cfg_node_id(e);
        node_t *n = node_get(id);
        if (n && n->retire && idx > n->retire) {
            W.st.readds++;
            ev("n%d re-added at %ld after its removal at %ld: not retired", id, idx, n->retire);
            n->retire = 0;
        }
    }
    if (e->type == RAFT_LOGTYPE_ADD_NONVOTING_NODE) {
        int id = cfg_node_id(e);
        W.st.adds++;
        if (node_get(id))
            node_get(id)->joining = 0;
    }
    if (e->type == RAFT_LOGTYPE_ADD_NODE)
        W.st.promotes++;
}

uint64_t canon_key(raft_index_t idx, raft_term_t term)
{
    return mix64((uint64_t)idx * 0x100000001B3ULL, (uint64_t)term);
}

canon_t *canon_find(raft_index_t idx, raft_term_t term, int create)
{
    if (create && (W.canon_n + 1) * 2 > W.canon_cap) {
        long oc = W.canon_cap;
        canon_t *old = W.canon;
        W.canon_cap = oc ? oc * 2 : 4096;
        W.canon = calloc((size_t)W.canon_cap, sizeof *W.canon);
        W.canon_n = 0;
        for (long i = 0; i < oc; i++)
            if (old[i].used) {
                canon_t *d = canon_find(old[i].idx, old[i].term, 1);
                *d = old[i];
                W.canon_n++;
            }
        free(old);
    }
    if (!W.canon_cap)
        return NULL;
    uint64_t h = canon_key(idx, term) & (uint64_t)(W.canon_cap - 1);
    for (;;) {
        canon_t *c = &W.canon[h];
        if (!c->used)
            return create ? c : NULL;
        if (c->idx == idx && c->term == term)
            return c;
        h = (h + 1) & (uint64_t)(W.canon_cap - 1);
    }
}

/* Log matching: an (index, term) pair names one entry and one predecessor
 * term everywhere; by induction identical prefixes. */
void canon_check(node_t *n, raft_index_t idx, raft_entry_t *e, raft_term_t prev)
{
    uint64_t dh = ety_hash(e);
    canon_t *c = canon_find(idx, e->term, 1);
    if (!c->used) {
        c->used = 1;
        c->idx = idx;
        c->term = e->term;
        c->id = e->id;
        c->type = e->type;
        c->dh = dh;
        c->prev = prev;
        W.canon_n++;
        return;
    }
    if (c->id != e->id || c->type != e->type || c->dh != dh)
        violation("log matching",
                  "node %d appended idx %ld term %ld id %d type %d, but another log holds idx %ld "
                  "term %ld with id %d type %d",
                  n->id, idx, e->term, e->id, e->type, idx, c->term, c->id, c->type);
    if (prev >= 0 && c->prev >= 0 && prev != c->prev)
        violation("log matching",
                  "node %d holds idx %ld term %ld after an entry of term %ld, another log after "
                  "term %ld",
                  n->id, idx, e->term, prev, c->prev);
    if (c->prev < 0)
        c->prev = prev;
}

void check_leader(node_t *n, raft_term_t t)
{
    raft_node_id_t was = hs_terms_leader(&W.leaders, t, n->id);
    if (was == RAFT_NODE_ID_NONE) {
        W.st.elections++;
        ev("n%d is leader of term %ld", n->id, t);
    } else if (was != n->id) {
        violation("election safety", "nodes %d and %d are both leader of term %ld", was, n->id, t);
    }
}
