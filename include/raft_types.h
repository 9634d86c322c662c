/* libraft: the scalar types of raft.h (the widths the ABI is built on). */
/**
 * @file raft_types.h
 * @brief The scalar types of raft.h. Included by raft.h; no need to include
 * it yourself.
 */
#ifndef RAFT_DEFS_H_
#define RAFT_DEFS_H_

/** The application's id of an entry (`raft_entry_t.id`); the library only
 * reports it back. */
typedef int raft_entry_id_t;
/** A term: increases with every election; 0 before the first. */
typedef long int raft_term_t;
/** An index in the log, starting at 1 (0: none); also a count of entries. */
typedef long int raft_index_t;
/** A size or offset in bytes (snapshot chunks); at least 64 bits. */
typedef unsigned long long raft_size_t;
/** A node id, chosen by the application; RAFT_NODE_ID_NONE (-1) means none. */
typedef int raft_node_id_t;
/** A message id: increases with every message a leader sends, echoed in
 * answers so they can be matched to requests. */
typedef unsigned long raft_msg_id_t;
/** A time or duration (milliseconds, or microseconds for the `timestamp`
 * callback). */
typedef long long raft_time_t;

#endif /* RAFT_DEFS_H_ */
