/* single_node: the smallest libraft program.
 *
 * One server, one voting node (itself): raft_periodic makes it leader at
 * once, every entry it receives is committed by its own vote alone, and
 * applylog hands each committed entry to the "state machine", which here
 * just prints it.
 *
 *   make examples && ./build/examples/single_node
 */
#include <stdio.h>
#include <string.h>
#include "raft.h"

/* Persist term and vote; a real program writes them to disk and syncs. */
static int persist_metadata(raft_server_t *raft, void *udata, raft_term_t term,
                            raft_node_id_t vote)
{
    (void)raft; (void)udata;
    printf("persist: term %ld, vote %d\n", term, vote);
    return 0;
}

/* The state machine: called in log order for each committed entry. */
static int applylog(raft_server_t *raft, void *udata, raft_entry_t *entry,
                    raft_index_t idx)
{
    (void)raft; (void)udata;
    if (entry->type == RAFT_LOGTYPE_NO_OP) {
        printf("apply %ld: (no-op of term %ld)\n", idx, entry->term);
        return 0;
    }
    printf("apply %ld: \"%.*s\"\n", idx, (int)entry->data_len, entry->data);
    return 0;
}

int main(void)
{
    raft_server_t *raft = raft_new();
    if (!raft)
        return 1;

    raft_cbs_t cbs;
    memset(&cbs, 0, sizeof(cbs));
    cbs.persist_metadata = persist_metadata;
    cbs.applylog = applylog;
    raft_set_callbacks(raft, &cbs, NULL); /* copied: cbs may go away */

    raft_add_node(raft, NULL, 1, 1); /* node 1 is this server */

    if (raft_periodic(raft) != 0 || !raft_is_leader(raft)) {
        fprintf(stderr, "did not become leader\n");
        raft_destroy(raft);
        return 1;
    }
    printf("node %d is %s of term %ld\n", raft_get_nodeid(raft),
           raft_get_state_str(raft), raft_get_current_term(raft));

    const char *commands[] = { "set x = 1", "set y = 2", "delete x" };
    for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++) {
        size_t len = strlen(commands[i]);
        raft_entry_t *e = raft_entry_new((unsigned int)len);
        memcpy(e->data, commands[i], len);
        e->id = (raft_entry_id_t)i;

        raft_entry_resp_t resp;
        int rc = raft_recv_entry(raft, e, &resp);
        raft_entry_release(e); /* the log holds its own reference */
        if (rc != 0) {
            fprintf(stderr, "raft_recv_entry: %d\n", rc);
            raft_destroy(raft);
            return 1;
        }
        printf("entry %d stored at index %ld, committed: %d\n", resp.id,
               resp.idx, raft_msg_entry_response_committed(raft, &resp));
    }

    printf("commit index %ld, last applied %ld\n", raft_get_commit_idx(raft),
           raft_get_last_applied_idx(raft));
    raft_destroy(raft);
    return 0;
}
