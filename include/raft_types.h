/* libraft: the scalar types of raft.h (the widths the ABI is built on). */
#ifndef RAFT_DEFS_H_
#define RAFT_DEFS_H_

typedef int raft_entry_id_t;            /* unique entry id, for debugging */
typedef long int raft_term_t;           /* monotonic term counter */
typedef long int raft_index_t;          /* log index; also an entry count */
typedef unsigned long long raft_size_t; /* byte size, at least 64 bits */
typedef int raft_node_id_t;             /* node id */
typedef unsigned long raft_msg_id_t;    /* message id */
typedef long long raft_time_t;          /* time */

#endif /* RAFT_DEFS_H_ */
