/*
 * libraft: compatibility declarations.
 *
 * Functions and variables that the callback-driven C raft library declared
 * in its private headers (raft_private.h, raft_log.h) rather than in raft.h.
 * Existing test suites and simulators call them; libraft exports them with
 * these prototypes. Include this header after (or instead of) raft.h.
 */
#ifndef RAFT_COMPAT_H_
#define RAFT_COMPAT_H_

#include "raft.h"

#ifdef __cplusplus
extern "C" {
#endif

/** The built-in in-memory log, as raft_get_log() returns it for a server
 * made with raft_new(). */
typedef struct raft_log raft_log_t;

/* Heap hooks: the allocator every library allocation goes through,
 * libc's by default; set them with raft_set_heap_functions(). */
extern void *(*raft_malloc)(size_t size);
extern void *(*raft_calloc)(size_t nmemb, size_t size);
extern void *(*raft_realloc)(void *ptr, size_t size);
extern void (*raft_free)(void *ptr);

/* apply commit-pending entry last_applied+1; 0 if applied, -1 if nothing to apply */
int raft_apply_entry(raft_server_t* me);
int raft_become_candidate(raft_server_t* me);
int raft_become_precandidate(raft_server_t* me);
int raft_election_start(raft_server_t* me, int skip_precandidate);
/* apply committed entries and serve ready read requests */
int raft_exec_operations(raft_server_t *me);
raft_msg_id_t raft_get_msg_id(raft_server_t* me);
raft_msg_id_t raft_node_get_max_seen_msg_id(raft_node_t *me);
raft_msg_id_t raft_node_get_next_msgid(raft_node_t *me);
raft_node_t* raft_node_new(void* udata, raft_node_id_t id);
void raft_node_set_match_idx(raft_node_t* node, raft_index_t idx);
void raft_node_set_match_msgid(raft_node_t *me, raft_msg_id_t msgid);
void raft_node_set_next_msgid(raft_node_t *me, raft_msg_id_t msgid);
/* raft_periodic with an explicit elapsed time; -1 = read the timestamp callback */
int raft_periodic_internal(raft_server_t *me, raft_time_t milliseconds);
void raft_reset_transfer_leader(raft_server_t* me, int timed_out);
int raft_send_appendentries(raft_server_t* me, raft_node_t* node);
int raft_send_appendentries_all(raft_server_t* me);
int raft_send_requestvote(raft_server_t* me, raft_node_t* node);
void raft_set_last_applied_idx(raft_server_t* me, raft_index_t idx);
void raft_set_state(raft_server_t* me, int state);
int raft_votes_is_majority(int nnodes, int nvotes);
/* pop entries idx.. from the log, undoing config changes they carried */
int raft_delete_entry_from_idx(raft_server_t* me, raft_index_t idx);
/* the built-in in-memory log, used directly */
raft_log_t* raft_log_new(void);
raft_log_t* raft_log_alloc(raft_index_t initial_size);
void raft_log_free(raft_log_t* me);
void raft_log_set_callbacks(raft_log_t* me, raft_log_cbs_t* funcs, void* raft);
/* 0 on success */
int raft_log_append_entry(raft_log_t* me, raft_entry_t* c);
raft_index_t raft_log_count(raft_log_t* me);
/* delete idx and everything after it */
int raft_log_delete(raft_log_t* me, raft_index_t idx);
/* remove the oldest entry */
int raft_log_poll(raft_log_t * me, raft_entry_t **etyp);
/* borrowed, not held */
raft_entry_t* raft_log_get_at_idx(raft_log_t* me, raft_index_t idx);
/* borrowed contiguous run */
raft_entry_t** raft_log_get_from_idx(raft_log_t* me, raft_index_t idx, long *n_etys);
raft_entry_t *raft_log_peektail(raft_log_t * me);
raft_index_t raft_log_get_current_idx(raft_log_t* me);
raft_index_t raft_log_get_base(raft_log_t* me);
int raft_log_load_from_snapshot(raft_log_t *me, raft_index_t idx, raft_term_t term);
/* drop every entry, keep the base */
void raft_log_clear(raft_log_t* me);
void raft_log_clear_entries(raft_log_t* me);
void raft_log_empty(raft_log_t * me);
void raft_node_free(raft_node_t* me);
void raft_node_clear_flags(raft_node_t *me);
void raft_node_vote_for_me(raft_node_t* me, int vote);
int raft_node_has_vote_for_me(raft_node_t* me);
void raft_node_set_has_sufficient_logs(raft_node_t *me, int has_sufficient_log);
raft_msg_id_t raft_node_get_match_msgid(raft_node_t *me);
void raft_node_update_max_seen_msg_id(raft_node_t *me, raft_msg_id_t msg_id);
raft_size_t raft_node_get_snapshot_offset(raft_node_t *me);
void raft_node_set_snapshot_offset(raft_node_t *me, raft_size_t snapshot_offset);
int raft_is_single_node_voting_cluster(raft_server_t *me);
void raft_randomize_election_timeout(raft_server_t* me);
void raft_update_quorum_meta(raft_server_t* me, raft_msg_id_t id);

/** Non-variadic raft_config, for callers that cannot use varargs. */
int raft_config_set_value(raft_server_t *me, int config, int value);
int raft_config_get_value(raft_server_t *me, int config, int *value);

#ifdef __cplusplus
}
#endif

#endif /* RAFT_COMPAT_H_ */
