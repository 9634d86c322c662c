/* durable_counter: a single-node server whose log lives on disk.
 *
 * Each run opens the store in a directory, restores the server from it
 * (snapshot position, log and configuration, term and vote), becomes
 * leader of a new term, appends a few "increment" entries with group
 * commit through the store's background sync, and exits. The counter is
 * the number of increments in the log: run it again and it goes on from
 * where it stopped, also after `kill -9`.
 *
 *   make examples && ./build/examples/durable_counter /tmp/counter
 */
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include "raft.h"
#include "raft_store.h"

static long counter;

static int applylog(raft_server_t *raft, void *udata, raft_entry_t *entry, raft_index_t idx)
{
    (void)raft; (void)udata; (void)idx;
    if (entry->type == RAFT_LOGTYPE_NORMAL)
        counter++;
    return 0;
}

/* The server's configuration entries name the node in their data. */
static raft_node_id_t get_node_id(raft_server_t *raft, void *udata, raft_entry_t *entry, raft_index_t idx)
{
    (void)raft; (void)udata; (void)idx;
    raft_node_id_t id;
    memcpy(&id, entry->data, sizeof id);
    return id;
}

static void store_log(void *arg, int level, const char *msg)
{
    (void)arg;
    fprintf(stderr, "store (%d): %s\n", level, msg);
}

int main(int argc, char **argv)
{
    const char *dir = argc > 1 ? argv[1] : "durable_counter.d";

    /* 1. Open the store (recovery runs here: a torn tail is cut off). */
    raft_store_options_t opts;
    raft_store_options_init(&opts);
    opts.log_cb = store_log;
    raft_store_t *st;
    int rc = raft_store_open(dir, &opts, &st);
    if (rc != 0) {
        fprintf(stderr, "%s: %s\n", raft_store_strerror(rc), raft_store_last_error());
        return 1;
    }

    /* 2. A new server on the store; term and vote persist through it. */
    raft_server_t *raft = raft_store_new_server(st);
    raft_cbs_t cbs;
    memset(&cbs, 0, sizeof cbs);
    cbs.applylog = applylog;
    cbs.get_node_id = get_node_id;
    cbs.persist_metadata = raft_store_persist_metadata_cb;
    raft_set_callbacks(raft, &cbs, NULL);
    raft_config(raft, 1, RAFT_CONFIG_AUTO_FLUSH, 0); /* group commit */

    /* 3. The nodes a snapshot would list (none kept here but this one),
     *    then restore: snapshot position, log + configuration, term/vote. */
    raft_add_node(raft, NULL, 1, 1);
    if ((rc = raft_store_restore(st, raft, 0, 0)) != 0) {
        fprintf(stderr, "restore: %d %s\n", rc, raft_store_last_error());
        return 1;
    }
    printf("restored: log %ld..%ld, term %ld\n", raft_store_first_idx(st), raft_store_current_idx(st),
           raft_get_current_term(raft));

    /* 4. Lead and apply what the log already holds. */
    raft_periodic(raft);
    if (!raft_is_leader(raft)) {
        fprintf(stderr, "not leader\n");
        return 1;
    }

    /* 5. Append; the disk syncs in the background while more arrive. */
    for (int i = 0; i < 5; i++) {
        raft_entry_req_t *e = raft_entry_new(sizeof(int));
        memcpy(e->data, &i, sizeof i);
        raft_entry_resp_t resp;
        rc = raft_recv_entry(raft, e, &resp);
        raft_entry_release(e);
        if (rc != 0) {
            fprintf(stderr, "append: %s\n", raft_store_strerror(rc));
            break;
        }
        if (raft_get_index_to_sync(raft) > 0)
            raft_store_sync_start(st);
        raft_index_t synced;
        if (raft_store_sync_poll(st, &synced) == 0) /* done already? */
            raft_flush(raft, synced);
    }
    /* An event loop polls raft_store_sync_fd(st); here: wait for it. */
    struct pollfd p = {.fd = raft_store_sync_fd(st), .events = POLLIN};
    raft_index_t synced = 0;
    while (synced < raft_get_current_idx(raft)) {
        poll(&p, 1, 1000);
        if (raft_store_sync_poll(st, &synced) != 0)
            raft_store_sync_wait(st, &synced);
        raft_flush(raft, synced); /* commits and applies */
    }
    printf("counter = %ld (log ends at %ld, durable)\n", counter, synced);

    /* 6. Shut down: the server first (it unbinds the store). */
    raft_destroy(raft);
    return raft_store_close(st) == 0 ? 0 : 1;
}
