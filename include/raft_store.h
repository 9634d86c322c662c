/*
 * libraft: durable storage for a Raft server.
 *
 * A raft_store_t keeps a server's log entries, its term and vote, and the
 * position of its last snapshot in one directory, so that a program which
 * restarts (or crashes) comes back with everything it had made durable.
 * The on-disk format and its crash-safety argument are described in
 * docs/store-format.md.
 *
 * Life cycle:
 *
 *     raft_store_options_t o;
 *     raft_store_options_init(&o);
 *     raft_store_t *st;
 *     if (raft_store_open("/var/lib/app/raft", &o, &st) != 0)
 *         die(raft_store_last_error());
 *     raft_server_t *r = raft_store_new_server(st);   // bind
 *     raft_set_callbacks(r, &cbs, app);               // persist_metadata:
 *                                                     // raft_store_persist_metadata_cb
 *     raft_add_node(r, NULL, my_id, 1); ...           // nodes of the snapshot, if any
 *     raft_store_restore(st, r, 0, 0);                // snapshot pos, log, term/vote
 *     ... run ...
 *     raft_destroy(r);                                // unbinds the store
 *     raft_store_close(st);
 *
 * Durability: an appended entry is durable once a sync that covers it has
 * returned (raft_store_sync, the log's own sync callback, or a background
 * sync that raft_store_sync_poll reported). Nothing that was reported
 * durable is ever lost; entries appended but not yet reported may be lost
 * in a crash (a torn tail is cut off on the next open, and reported).
 *
 * Threads: a store and its server are used from one thread at a time (the
 * program's event loop). The store's own background thread only runs the
 * writes and fdatasync calls that raft_store_sync_start asks for.
 *
 * Errors: functions that can fail return 0 or one of the RAFT_STORE_ERR_*
 * codes below (all negative, distinct from RAFT_ERR_*). The same codes come
 * back through the server's log callbacks, so e.g. raft_recv_entry returns
 * RAFT_STORE_ERR_NOSPACE when the sync it made failed for want of space.
 * raft_store_last_error() describes the last failure on the calling thread
 * (file name, offset, system error).
 *
 * Out of memory: nothing aborts when the heap functions fail. Appends (the
 * log callbacks), raft_store_sync, raft_store_sync_start, _poll and _wait,
 * reads, truncation, compaction and raft_store_persist_metadata return
 * RAFT_ERR_NOMEM (the RAFT_ERR_* code; a read gives NULL or fewer entries)
 * and change nothing: call again once memory is back.
 * raft_store_last_error() then says "out of memory".
 * raft_store_new_server returns NULL. raft_store_open returns
 * RAFT_ERR_NOMEM with *out NULL, nothing kept, and the directory as it was
 * (recovery makes every check and allocation before its first repair; in a
 * new directory only the directory, its lock file and empty metadata
 * files may have been created, which the next open takes for a new store).
 * raft_store_restore returns RAFT_ERR_NOMEM leaving the server part-way
 * restored: call it again with the same arguments and it completes the
 * restore (it skips the steps already done). raft_store_close needs no
 * memory. This holds for directory names of any length.
 */
/**
 * @file raft_store.h
 * @brief Durable storage for a server: its log, term and vote, and snapshot
 * position in one directory, with group commit and a background sync.
 *
 * An extension of libraft (not part of the original raft.h). The comment at
 * the top of this header shows the life cycle; the on-disk format and its
 * crash-safety argument are in docs/store-format.md.
 */
#ifndef RAFT_STORE_H_
#define RAFT_STORE_H_

#include <stddef.h>
#include "raft.h"

#ifdef __cplusplus
extern "C" {
#endif

/** An open store directory (opaque). */
typedef struct raft_store raft_store_t;

/** Error codes. */
enum {
    /** I/O error (EIO) from the disk. */
    RAFT_STORE_ERR_IO = -100,
    /** No space left on the device (ENOSPC, EDQUOT). The data that did not
     * fit is kept in memory; a later sync retries it. */
    RAFT_STORE_ERR_NOSPACE = -101,
    /** The file system is read-only (EROFS) or access is denied
     * (EACCES, EPERM). */
    RAFT_STORE_ERR_READONLY = -102,
    /** The directory holds data that does not verify (a bad checksum or
     * record outside the tail of the last segment, a gap or overlap
     * between segments, a bad metadata file); raft_store_last_error()
     * names the file and offset. Nothing was changed on disk. */
    RAFT_STORE_ERR_CORRUPT = -103,
    /** Bad argument or call out of order (NULL pointer, store already
     * bound, restore twice, index out of range, ...). */
    RAFT_STORE_ERR_INVALID = -104,
    /** The store refuses further writes: an fdatasync failed, after which
     * the kernel's page cache can no longer be trusted to hold the data.
     * Close the store and open it again (recovery re-reads the disk). */
    RAFT_STORE_ERR_FAILED = -105,
    /** Nothing new: no background sync finished since the last poll. */
    RAFT_STORE_ERR_AGAIN = -106,
    /** Another process (or another open store) holds the directory's
     * lock. */
    RAFT_STORE_ERR_LOCKED = -107,
    /** Another system error; raft_store_last_error() has the details. */
    RAFT_STORE_ERR_OTHER = -108
};

/** When the store calls fdatasync. */
typedef enum {
    /** fdatasync on every sync (the default). */
    RAFT_STORE_FSYNC_DATA = 0,
    /** fsync instead of fdatasync (for file systems where fdatasync does
     * not cover the file size). */
    RAFT_STORE_FSYNC_FULL = 1,
    /** Never sync: writes reach the page cache only. For tests and
     * benchmarks; a crash of the machine (not of the process) loses data. */
    RAFT_STORE_FSYNC_NONE = 2
} raft_store_fsync_e;

/** Diagnostic levels, as the `log` crate's. */
typedef enum {
    RAFT_STORE_LOG_ERROR = 1,
    RAFT_STORE_LOG_WARN = 2,
    RAFT_STORE_LOG_INFO = 3,
    RAFT_STORE_LOG_DEBUG = 4
} raft_store_log_level_e;

/** Receives one diagnostic line (recovery cut a torn tail, removed a stale
 * segment left by an interrupted compaction, ...). `msg` is valid for the
 * duration of the call. Called on the thread that made the store call. */
typedef void (*raft_store_log_f)(void *arg, int level, const char *msg);

/** Flags for raft_store_options_t.flags. */
enum {
    /** Create the directory if it does not exist (set by default). */
    RAFT_STORE_CREATE = 1,
    /** Repair instead of refusing: a corrupt record in the last segment is
     * cut off together with everything after it (reported at WARN), even
     * when valid records follow it; the bytes cut are kept in a
     * `quarantine-SEGMENT-OFFSET` file in the directory. Use only to bring
     * up a node whose peers hold the data; without it such a log is
     * RAFT_STORE_ERR_CORRUPT. */
    RAFT_STORE_REPAIR = 2
};

/** Options of raft_store_open; fill with raft_store_options_init first,
 * then change what you need. */
typedef struct raft_store_options {
    /** Target size of a segment file. A segment that reached it is closed
     * (and a new one started) at the first append after a sync covered
     * all of it, so closing costs no fdatasync; a segment may exceed the
     * target by up to one sync batch. Default 8 MiB; at least 4096. */
    size_t segment_size;
    /** Bytes of recent entries kept in memory; older ones are read back
     * from disk by the log's get/get_batch. Default 8 MiB (a larger cache
     * costs more per append than it saves: its entries fall out of the CPU
     * caches); 0 keeps none beyond those not yet written. */
    size_t cache_size;
    /** A raft_store_fsync_e. */
    int fsync_policy;
    /** RAFT_STORE_CREATE | RAFT_STORE_REPAIR. Default RAFT_STORE_CREATE. */
    int flags;
    /** Optional diagnostics sink. */
    raft_store_log_f log_cb;
    /** The argument `log_cb` receives. */
    void *log_arg;
    /** Most verbose level passed to log_cb. Default RAFT_STORE_LOG_INFO. */
    int log_level;
    /** Zero; room for later options. */
    void *reserved[5];
} raft_store_options_t;

/** Fills `opts` with the defaults. No-op for NULL. */
void raft_store_options_init(raft_store_options_t *opts);

/** Opens (and with RAFT_STORE_CREATE, creates) the store in directory
 * `dir`, takes its lock and recovers its contents: a torn or zero-filled
 * tail of the last segment is cut off (reported through log_cb), files left
 * by an interrupted compaction, truncation or reset are removed.
 * `opts` may be NULL for the defaults.
 * @return 0 and *out set; RAFT_STORE_ERR_INVALID (NULL dir or out, bad
 * option), RAFT_STORE_ERR_CORRUPT, RAFT_STORE_ERR_LOCKED, an I/O code, or
 * RAFT_ERR_NOMEM (nothing repaired yet: open again once memory is back).
 * On error *out is NULL and raft_store_last_error() says why. */
int raft_store_open(const char *dir, const raft_store_options_t *opts, raft_store_t **out);

/** Makes a new server whose log is this store (raft_new_with_log with the
 * store's raft_log_impl_t). A store serves one server at a time; the
 * server's raft_destroy unbinds it. Set the callbacks next, then call
 * raft_store_restore (also on a fresh, empty store).
 * @return the server; NULL for a NULL store, a store already bound, or a
 * failed server allocation. */
raft_server_t *raft_store_new_server(raft_store_t *st);

/** Restores server `r` (made by raft_store_new_server on `st`, its nodes
 * from the snapshot re-added, nothing else done yet) from the store, in
 * this order: the snapshot position (raft_restore_snapshot), the log
 * entries and the configuration they carry (raft_restore_log), then term
 * and vote (raft_restore_metadata).
 *
 * The snapshot position is the one the program loaded (`snap_term`,
 * `snap_idx`); pass 0, 0 to use the one the store recorded at its last
 * compaction or reset (raft_store_get_snapshot). Entries the snapshot
 * covers are dropped from the log.
 * @return 0; RAFT_STORE_ERR_INVALID (NULL, `r` not bound to `st`, restored
 * twice, a snapshot position older than the log's start, or one other than
 * that of a call that ran out of memory); RAFT_ERR_NOMEM: the steps done so
 * far are kept (the store's compaction or reset to the snapshot, the
 * server's snapshot position, the log), so call it again, with the same
 * arguments, once memory is back; or the server's error code from the
 * restore call that failed. */
int raft_store_restore(raft_store_t *st, raft_server_t *r, raft_term_t snap_term, raft_index_t snap_idx);

/** Closes the store: writes and syncs anything appended but not yet
 * written (unless a sync failed before), waits for the background thread,
 * releases the lock and frees the store.
 * Allocates nothing: it works (and frees everything) when the heap
 * functions fail.
 * @return 0; RAFT_STORE_ERR_INVALID (and nothing is closed) while a server
 * is still bound (raft_destroy it first); else the store is freed and the
 * code says whether the final sync failed. NULL is a no-op (0). */
int raft_store_close(raft_store_t *st);

/** The store's raft_log_impl_t, for a program that wraps the store in a
 * log implementation of its own (to observe or check what the server
 * does, as the cluster simulator does). Its functions take the store as
 * their `log` argument; `init(raft, st)` binds the store to `raft` (NULL
 * if already bound) and `free(st)` unbinds it. Entries appended through
 * it get the index after the store's current one. Never NULL. */
const raft_log_impl_t *raft_store_log_impl(void);

/* ----------------------------------------------------------- metadata */

/** Durably records term and vote (a crash at any point leaves either the
 * old or the new pair). Call it from the server's persist_metadata
 * callback (or install raft_store_persist_metadata_cb as that callback).
 * @return 0, RAFT_STORE_ERR_INVALID for NULL, RAFT_STORE_ERR_FAILED after a
 * failed sync, or an I/O code (the old pair is still on disk). */
int raft_store_persist_metadata(raft_store_t *st, raft_term_t term, raft_node_id_t vote);

/** A ready-made persist_metadata callback for raft_cbs_t: finds the store
 * bound to `r` and calls raft_store_persist_metadata. `user_data` is not
 * used. @return as raft_store_persist_metadata; RAFT_STORE_ERR_INVALID when
 * `r` is not bound to a store. */
int raft_store_persist_metadata_cb(raft_server_t *r, void *user_data, raft_term_t term, raft_node_id_t vote);

/** Term and vote as last persisted (0 and -1 in a new store).
 * @return 0, RAFT_STORE_ERR_INVALID for a NULL argument. */
int raft_store_get_metadata(raft_store_t *st, raft_term_t *term, raft_node_id_t *vote);

/** Index and term of the last entry before the log's first entry (the
 * snapshot position recorded at the last compaction or reset; 0, 0 in a
 * new store). @return 0, RAFT_STORE_ERR_INVALID for a NULL argument. */
int raft_store_get_snapshot(raft_store_t *st, raft_term_t *term, raft_index_t *idx);

/** Index of the first entry of the stored log (one past the snapshot when
 * the log is empty); 0 for NULL. */
raft_index_t raft_store_first_idx(raft_store_t *st);
/** Index of the last entry of the stored log (the snapshot's index when the
 * log is empty, so first > last); 0 for NULL. */
raft_index_t raft_store_current_idx(raft_store_t *st);

/* ----------------------------------------------------------- sync */

/** Blocking sync: writes every appended entry not yet written (one write
 * call) and makes it durable (one fdatasync, plus one directory fsync after
 * a segment was created since the last sync: once per segment). With auto flush on, the server calls this through
 * the log's sync callback; with it off, a program doing group commit calls
 *     idx = raft_get_index_to_sync(r);
 *     if (idx > 0 && raft_store_sync(st) == 0) raft_flush(r, idx);
 * @return 0 (everything appended is durable), RAFT_STORE_ERR_INVALID for
 * NULL, or the error: after a failed write the unwritten entries stay in
 * memory and the next sync retries; after a failed fdatasync the store
 * refuses writes with RAFT_STORE_ERR_FAILED. */
int raft_store_sync(raft_store_t *st);

/** Index up to which the log is known to be durable; 0 for NULL. */
raft_index_t raft_store_synced_idx(raft_store_t *st);

/** Background sync: has what was appended written (one write call) and
 * fdatasynced, off the calling thread where it can, and returns at once.
 * The write is made by the store's thread just before its fdatasync when
 * that thread is idle, else (while it runs an earlier fdatasync) here, so
 * that it overlaps that fdatasync (after a segment was created, the thread
 * also fsyncs the directory before it reports completion). An append that
 * closes a full segment while a sync covering all of it runs waits for
 * that sync to end. Requests made while one is running are
 * covered by one later fdatasync (group commit). Completion is signalled
 * on raft_store_sync_fd(); then call raft_store_sync_poll and hand its
 * index to raft_flush.
 * @return 0, RAFT_STORE_ERR_INVALID for NULL, or a write error: of the
 * write made here, or of a background write not yet reported by
 * raft_store_sync_poll (either way nothing was started and the entries
 * stay in memory; call again to retry); RAFT_STORE_ERR_FAILED after a
 * failed fdatasync. */
int raft_store_sync_start(raft_store_t *st);

/** A file descriptor that becomes readable when a background sync
 * completes (poll/epoll it for POLLIN; do not read or close it). -1 for
 * NULL. */
int raft_store_sync_fd(raft_store_t *st);

/** Collects finished background syncs (and drains the fd).
 * @return 0 with *synced_idx set to the index up to which the log is now
 * durable (pass it to raft_flush); RAFT_STORE_ERR_AGAIN when none finished
 * since the last call; the error of a failed background fdatasync (the
 * store then refuses writes with RAFT_STORE_ERR_FAILED); the error of a
 * failed background write (RAFT_STORE_ERR_IO, _NOSPACE, _READONLY: the file
 * was cut back, the entries are in memory again and the fdatasync asked
 * for was dropped; raft_store_sync_start retries them);
 * RAFT_STORE_ERR_INVALID for NULL. */
int raft_store_sync_poll(raft_store_t *st, raft_index_t *synced_idx);

/** Waits for every background sync requested so far, then behaves as
 * raft_store_sync_poll (never RAFT_STORE_ERR_AGAIN). */
int raft_store_sync_wait(raft_store_t *st, raft_index_t *synced_idx);

/** fdatasync (or fsync) calls the store has made on its files so far,
 * blocking and background (directory fsyncs, one per segment created, not
 * counted); 0 for NULL. For
 * benchmarks and tests: group commit shows as one per raft_flush. */
unsigned long raft_store_fsync_count(raft_store_t *st);

/* ----------------------------------------------------------- errors */

/** A static description of a RAFT_STORE_ERR_* code (or of a RAFT_ERR_*
 * code, via raft_get_error_str). Never NULL. */
const char *raft_store_strerror(int err);

/** The message of the last failure of a raft_store_* call (or of a log
 * callback on a store) on this thread: which file, which offset, which
 * system error. "" if none. Valid until the next raft_store_* call on this
 * thread. */
const char *raft_store_last_error(void);

/* ----------------------------------------------------------- testing */

/** File operations a fault can be injected into (a bit mask). */
enum {
    RAFT_STORE_OP_WRITE = 1,   /**< writes of records and metadata */
    RAFT_STORE_OP_SYNC = 2,    /**< fdatasync / fsync of files */
    RAFT_STORE_OP_DIRSYNC = 4, /**< fsync of the directory */
    RAFT_STORE_OP_TRUNCATE = 8,
    RAFT_STORE_OP_RENAME = 16,
    RAFT_STORE_OP_CREATE = 32,
    RAFT_STORE_OP_REMOVE = 64
};

/** Fault kinds: an errno the operation fails with, or a short write. */
enum {
    RAFT_STORE_FAULT_EIO = 1,
    RAFT_STORE_FAULT_ENOSPC = 2,
    RAFT_STORE_FAULT_EROFS = 3,
    /** The write stores only part of its bytes and then fails with EIO
     * (as a full disk does mid-write). */
    RAFT_STORE_FAULT_SHORT = 4
};

/** TEST ONLY: from now on, operations in `ops` fail with `fault`. With
 * `ppm` = 0, exactly the (skip+1)-th matching operation fails once; with
 * `ppm` > 0, every matching operation after the first `skip` fails with
 * probability ppm / 1000000, drawn from a generator seeded with `seed`.
 * `ops` = 0 clears the plan. The same can be set for every store a process
 * opens with the environment variable RAFT_STORE_FAULTS="ops,fault,skip,
 * ppm,seed" (decimal numbers), read by raft_store_open.
 * @return 0; RAFT_STORE_ERR_INVALID for NULL or an unknown fault. */
int raft_store_inject_fault(raft_store_t *st, int ops, int fault, unsigned long skip, unsigned int ppm,
                            unsigned long seed);

/** TEST ONLY: simulates a power failure: every byte written since the
 * last successful sync of its file is dropped from the files (they are
 * truncated back to their synced length), the names of a segment close
 * that no directory sync covered yet are undone (the closed segment gets
 * its open name back; the segment it started is removed, or kept when its
 * first index is odd), then the store is closed as by
 * raft_store_close without its final sync. The bound server must have
 * been destroyed. @return as raft_store_close, or RAFT_ERR_NOMEM (no memory
 * for a file's path): the store is then still open, some files may have
 * been cut back already, and calling it again finishes the job. */
int raft_store_crash(raft_store_t *st);

#ifdef __cplusplus
}
#endif

#endif /* RAFT_STORE_H_ */
