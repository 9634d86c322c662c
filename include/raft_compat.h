/*
 * libraft: compatibility declarations.
 */
/**
 * @file raft_compat.h
 * @brief Functions the original library declared in its private headers.
 *
 * The callback-driven C raft library declared these functions and
 * variables in private headers (raft_private.h, raft_log.h) rather than in
 * raft.h. Existing test suites, simulators and tools call them, so libraft
 * exports them with the same prototypes. Most reach below the protocol
 * (setting a role, an index or a vote directly) and are meant for tests
 * and tools: a program that only drives a cluster needs none of them, with
 * two exceptions: the heap hooks and the `raft_log_*` functions on the
 * built-in log (`raft_get_log`), for example `raft_log_set_callbacks`.
 *
 * Include this header after (or instead of) raft.h. The conventions of
 * raft.h hold here too (NULL handles are harmless, one thread per server).
 */
#ifndef RAFT_COMPAT_H_
#define RAFT_COMPAT_H_

#include "raft.h"

#ifdef __cplusplus
extern "C" {
#endif

/** The built-in in-memory log: what `raft_get_log()` returns for a server
 * made with `raft_new()`, or a free-standing one from `raft_log_new()`. */
typedef struct raft_log raft_log_t;

/** @name Heap hooks
 * The allocator every library allocation goes through, libc's by default.
 * Set them with `raft_set_heap_functions()` before creating any server or
 * entry; blocks the library hands over (entries without a `free_func`,
 * arrays from `raft_get_entries_from_idx`) are freed with `raft_free`.
 * @{ */
/** Allocator (libc's `malloc` by default). */
extern void *(*raft_malloc)(size_t size);
/** Zeroing allocator (libc's `calloc` by default). */
extern void *(*raft_calloc)(size_t nmemb, size_t size);
/** Reallocator (libc's `realloc` by default). */
extern void *(*raft_realloc)(void *ptr, size_t size);
/** Frees what the other hooks returned (libc's `free` by default). */
extern void (*raft_free)(void *ptr);
/** @} */

/** @name Applying, elections and messages (tests and tools)
 * @{ */

/** Applies the one committed entry after the last applied one.
 * @return 0 if an entry was applied; -1 if there is none to apply (or when
 * called from a callback of a running apply, which goes on by itself);
 * the `applylog` callback's code if it failed. */
int raft_apply_entry(raft_server_t* me);
/** Starts a real election now: term + 1 and a vote for itself, persisted
 * through `persist_metadata` first, then vote requests to every voter.
 * @return 0; the `persist_metadata` code on failure (nothing changed);
 * RAFT_ERR_MISUSE for NULL. */
int raft_become_candidate(raft_server_t* me);
/** Starts a pre-vote round now (the term does not change). A server whose
 * own vote is a majority stays a pre-candidate too: `raft_periodic` then
 * makes a sole voter leader.
 * @return 0; RAFT_ERR_MISUSE for NULL. */
int raft_become_precandidate(raft_server_t* me);
/** Starts an election as the election timer would.
 * @param me the server
 * @param skip_precandidate non-zero to skip the pre-vote round
 * @return as `raft_become_candidate` / `raft_become_precandidate`;
 * RAFT_ERR_NOMEM when a sole voter cannot make its no-op entry (it stays a
 * candidate). */
int raft_election_start(raft_server_t* me, int skip_precandidate);
/** Applies committed entries (with the time limit of `raft_periodic`) and
 * answers read requests that are ready. Every `raft_recv_*` call and
 * `raft_periodic` already do this.
 * @return 0; an `applylog` code; RAFT_ERR_MISUSE for NULL. */
int raft_exec_operations(raft_server_t *me);
/** The `msg_id` of the last message this server sent (0 before any, and
 * for NULL). */
raft_msg_id_t raft_get_msg_id(raft_server_t* me);
/** On a follower, the highest `msg_id` heard from this node (its leader)
 * in appendentries and snapshot messages (0 for NULL). A leader keeps the
 * `msg_id`s its followers answer apart, for reads. */
raft_msg_id_t raft_node_get_max_seen_msg_id(raft_node_t *me);
/** The `msg_id` of the last message sent to this node (0 for NULL). */
raft_msg_id_t raft_node_get_next_msgid(raft_node_t *me);
/** Makes a node that belongs to no server, for unit tests of node
 * functions. Free it with `raft_node_free`.
 * @return the node; NULL if allocation failed. */
raft_node_t* raft_node_new(void* udata, raft_node_id_t id);
/** Sets the index the leader believes the node holds (tests). */
void raft_node_set_match_idx(raft_node_t* node, raft_index_t idx);
/** Sets the `msg_id` of the node's last successful answer (tests); as in
 * the original library it also counts as the node's acknowledgement of
 * that message for read requests (not for check-quorum). */
void raft_node_set_match_msgid(raft_node_t *me, raft_msg_id_t msgid);
/** Sets the `msg_id` of the last message sent to the node (tests). */
void raft_node_set_next_msgid(raft_node_t *me, raft_msg_id_t msgid);
/** `raft_periodic` with an explicit elapsed time, for simulations that
 * keep their own clock.
 * @param me the server
 * @param milliseconds the time elapsed since the last call; negative to
 * read the clock as `raft_periodic` does
 * @return as `raft_periodic`. */
int raft_periodic_internal(raft_server_t *me, raft_time_t milliseconds);
/** Ends the leadership transfer in progress and reports its outcome
 * through `notify_transfer_event`: timeout if `timed_out`, else expected or
 * unexpected leader depending on who leads now. Nothing happens when no
 * transfer is in progress. */
void raft_reset_transfer_leader(raft_server_t* me, int timed_out);
/** Sends one appendentries message to a node now (a snapshot chunk when it
 * needs compacted entries), on the leader.
 * A callback it calls first (`backpressure`, `get_entries_to_send`,
 * `get_snapshot_chunk`, or `send_snapshot` for an earlier chunk) that
 * re-enters and ends the leadership stops it: nothing more is sent in the
 * old leadership's name (the original library went on and sent a message
 * of the newer term).
 * @return 0; -1 for a node that is not this server's;
 * RAFT_ERR_NOT_LEADER, also when a callback ended the leadership; the
 * `send_appendentries` code if it failed. */
int raft_send_appendentries(raft_server_t* me, raft_node_t* node);
/** On the leader, sends every other active node an appendentries message
 * now (a heartbeat, or entries from its next index), then as many more as
 * it takes to send every entry the node lacks (each message as large as
 * `get_entries_to_send` allows; `backpressure` may hold them back), and
 * restarts the heartbeat timer. A server that is not the leader sends
 * nothing.
 * @return 0; RAFT_ERR_MISUSE for NULL. */
int raft_send_appendentries_all(raft_server_t* me);
/** Sends a vote request to a node now (a pre-vote while pre-candidate).
 * @return 0; -1 for a node that is not this server's; the
 * `send_requestvote` code if it failed. */
int raft_send_requestvote(raft_server_t* me, raft_node_t* node);
/** Sets the last applied index without applying anything (negative values
 * are ignored). Tests and tools. */
void raft_set_last_applied_idx(raft_server_t* me, raft_index_t idx);
/** Sets the role directly, without any of the work a role change does
 * (`notify_state_event` is still called).
 * @param me the server
 * @param state a `raft_state_e` value; other values are ignored */
void raft_set_state(raft_server_t* me, int state);
/** @return 1 if `nvotes` is a strict majority of `nnodes`, else 0 (and for
 * negative values). */
int raft_votes_is_majority(int nnodes, int nvotes);
/** Removes the entry at `idx` and every later one (newest first, through
 * the log's `pop`), undoing the configuration changes they carried.
 * @return 0; RAFT_ERR_SHUTDOWN if that would remove a committed entry, an
 * index of 0 or below included (nothing is removed); a `pop` error;
 * RAFT_ERR_NOMEM when out of memory (nothing is removed); RAFT_ERR_MISUSE
 * for NULL. */
int raft_delete_entry_from_idx(raft_server_t* me, raft_index_t idx);
/** @} */

/** @name The built-in log, used directly
 * Entries returned by these functions are borrowed unless stated: no
 * reference is taken, and they stay valid while the log holds them.
 * @{ */

/** Makes a free-standing built-in log (not attached to a server).
 * @return the log, to be freed with `raft_log_free`; NULL on failure (out
 * of memory). */
raft_log_t* raft_log_new(void);
/** `raft_log_new` with room for `initial_size` entries before the log
 * grows (values are clamped to 0..1048576). NULL when out of memory. */
raft_log_t* raft_log_alloc(raft_index_t initial_size);
/** Frees a log made by `raft_log_new` / `raft_log_alloc`, releasing its
 * entries (each reported to `log_clear` first). Never free the log of a
 * server: `raft_destroy` does. NULL is ignored. */
void raft_log_free(raft_log_t* me);
/** Sets the observers of the log (see `raft_log_cbs_t`); the table is
 * copied, NULL removes them. Works on a server's log too
 * (`raft_log_set_callbacks(raft_get_log(r), &cbs, r)`).
 * @param me the log; NULL is ignored
 * @param funcs the observers, copied; NULL removes them
 * @param raft the pointer passed to the observers as their first argument;
 * when it is a live server (the one owning the log or any other), they
 * also get that server's callback user data (else NULL: a pointer that is
 * not a live server is never read) */
void raft_log_set_callbacks(raft_log_t* me, raft_log_cbs_t* funcs, void* raft);
/** Appends an entry (asking `log_offer` first); the log takes its own
 * reference. On a server's log this bypasses the protocol: tests only.
 * @return 0; the `log_offer` code when it refused; RAFT_ERR_NOMEM when out
 * of memory (nothing appended); -1 for NULL. */
int raft_log_append_entry(raft_log_t* me, raft_entry_t* c);
/** Number of entries held (0 for NULL). */
raft_index_t raft_log_count(raft_log_t* me);
/** Removes the entry at `idx` and every later one, newest first, each
 * reported to `log_pop` first.
 * @return 0; the `log_pop` code when it refused (entries removed before
 * stay removed); -1 for an index of 0 or below (nothing is removed) and for
 * NULL; RAFT_ERR_NOMEM when out of memory while the entries are lent to a
 * callback (nothing is removed). */
int raft_log_delete(raft_log_t* me, raft_index_t idx);
/** Removes the oldest entry (reported to `log_poll` first) and stores its
 * pointer in `*etyp` (if not NULL). The log's reference is released with
 * it: read the entry only if you hold a reference of your own.
 * @return 0; -1 when the log is empty or NULL; the `log_poll` code when it
 * refused; RAFT_ERR_NOMEM when out of memory while the entries are lent to a
 * callback (nothing is removed). */
int raft_log_poll(raft_log_t * me, raft_entry_t **etyp);
/** The entry at `idx`, borrowed; NULL if the log does not hold it. */
raft_entry_t* raft_log_get_at_idx(raft_log_t* me, raft_index_t idx);
/** The entries from `idx` to the end as one borrowed array, valid until
 * the log next changes; `*n_etys` (if not NULL) gets their number.
 * @return the array; NULL when there are none. */
raft_entry_t** raft_log_get_from_idx(raft_log_t* me, raft_index_t idx, long *n_etys);
/** The newest entry, borrowed; NULL if the log is empty. */
raft_entry_t *raft_log_peektail(raft_log_t * me);
/** Index of the newest entry (the base when empty; 0 for NULL). */
raft_index_t raft_log_get_current_idx(raft_log_t* me);
/** The base: index of the last compacted entry, so the oldest entry held is
 * base + 1 (0 when nothing was compacted, and for NULL). */
raft_index_t raft_log_get_base(raft_log_t* me);
/** Empties the log (each entry reported to `log_clear`) so that it goes on
 * after a snapshot ending at `idx` of term `term`.
 * @return 0; -1 for NULL or a negative index. */
int raft_log_load_from_snapshot(raft_log_t *me, raft_index_t idx, raft_term_t term);
/** Drops every entry (no observer is called); the base is kept. */
void raft_log_clear(raft_log_t* me);
/** Reports every entry to `log_clear`; the entries stay in the log. */
void raft_log_clear_entries(raft_log_t* me);
/** Same as `raft_log_clear`. */
void raft_log_empty(raft_log_t * me);
/** @} */

/** @name Node and server internals (tests and tools)
 * @{ */

/** Frees a node made by `raft_node_new`. Never pass a node a server owns.
 * NULL is ignored. */
void raft_node_free(raft_node_t* me);
/** Forgets the node's vote for this server and its "sufficient logs"
 * flag. */
void raft_node_clear_flags(raft_node_t *me);
/** Records whether the node voted for this server in the current
 * election. */
void raft_node_vote_for_me(raft_node_t* me, int vote);
/** @return 1 if the node voted for this server in the current election,
 * else 0 (and for NULL). */
int raft_node_has_vote_for_me(raft_node_t* me);
/** Sets the flag `raft_node_has_sufficient_logs` reads. */
void raft_node_set_has_sufficient_logs(raft_node_t *me, int has_sufficient_log);
/** The `msg_id` of the node's last successful appendentries answer (0 for
 * NULL). */
raft_msg_id_t raft_node_get_match_msgid(raft_node_t *me);
/** Raises the highest `msg_id` heard from the node (see
 * `raft_node_get_max_seen_msg_id`) to `msg_id`; never lowers it. */
void raft_node_update_max_seen_msg_id(raft_node_t *me, raft_msg_id_t msg_id);
/** Offset of the next snapshot chunk the leader sends to the node (0 for
 * NULL). */
raft_size_t raft_node_get_snapshot_offset(raft_node_t *me);
/** Sets the offset of the next snapshot chunk sent to the node. */
void raft_node_set_snapshot_offset(raft_node_t *me, raft_size_t snapshot_offset);
/** @return 1 if this server is the only active voter of its configuration
 * (it then makes itself leader on `raft_periodic`), else 0. */
int raft_is_single_node_voting_cluster(raft_server_t *me);
/** Draws a new random election timeout between one and two
 * RAFT_CONFIG_ELECTION_TIMEOUT. The draw uses libc's `rand()`, so a
 * simulation that calls `srand()` replays the same timeouts. */
void raft_randomize_election_timeout(raft_server_t* me);
/** Records that a majority has acknowledged message `id` now (counts for
 * check-quorum and read requests). */
void raft_update_quorum_meta(raft_server_t* me, raft_msg_id_t id);
/** @} */

/** Non-variadic `raft_config`, for callers that cannot use varargs (also
 * declared, with its documentation, in raft.h). */
int raft_config_set_value(raft_server_t *me, int config, int value);
/** Non-variadic `raft_config` read (also declared in raft.h). */
int raft_config_get_value(raft_server_t *me, int config, int *value);

#ifdef __cplusplus
}
#endif

#endif /* RAFT_COMPAT_H_ */
