/* include/raft.h declares everything the contract header declares, so a
 * program written against the seed header compiles unchanged. This file
 * uses each non-function declaration of the contract without declaring
 * anything itself: a missing one is a compile error, reported by `make test`
 * as this file failing to build. (Functions and layouts are covered by
 * test_abi.c, and by the contract checker where it is installed.) */
#include "raft.h"
#include "test.h"

TEST(header_declares_the_builtin_log_vtable)
{
    const raft_log_impl_t *impl = &raft_log_internal_impl;
    ASSERT(impl->init != NULL);
}

TEST(header_declares_every_contract_typedef)
{
    raft_entry_req_t *req = NULL;
    raft_entry_resp_t resp;
    raft_snapshot_chunk_t chunk;
    raft_requestvote_req_t rv;
    raft_requestvote_resp_t rvr;
    raft_snapshot_req_t sr;
    raft_snapshot_resp_t srr;
    raft_appendentries_req_t ae;
    raft_appendentries_resp_t aer;
    raft_server_t *server = NULL;
    raft_node_t *node = NULL;
    raft_cbs_t cbs;
    raft_log_cbs_t lcbs;
    raft_log_impl_t impl;
    raft_entry_notify_f nf = NULL;
    raft_read_request_callback_f rf = NULL;
    struct raft_entry *tagged = req;
    struct raft_log_impl *tagged_impl = &impl;
    (void)resp; (void)chunk; (void)rv; (void)rvr; (void)sr; (void)srr;
    (void)ae; (void)aer; (void)server; (void)node; (void)cbs; (void)lcbs;
    (void)nf; (void)rf; (void)tagged; (void)tagged_impl;
}

TEST_MAIN()
