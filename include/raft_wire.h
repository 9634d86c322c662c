/*
 * raft_wire.h: a versioned binary encoding of every Raft message, so that
 * programs which send raft.h's messages between processes share one tested
 * format instead of each writing its own. An extension of libraft (not part
 * of the contract's raft.h); the bytes are described in docs/wire-format.md.
 *
 * A frame is a 16-byte header (big-endian u32 length of what follows, u8
 * version, u8 type, u16 reserved flags = 0, i32 sender id, i32 receiver id)
 * and the message's fields. Frames can be written back to back on a stream:
 * raft_wire_peek tells how long the next one is, raft_wire_decode reads it.
 *
 * Sending, e.g. from a send_appendentries callback:
 *
 *     raft_wire_msg_t m = { .type = RAFT_WIRE_APPENDENTRIES,
 *                           .from = my_id, .to = raft_node_get_id(node) };
 *     m.u.appendentries = *msg;
 *     size_t n;
 *     int rc = raft_wire_encode(&m, buf, cap, &n);   // n bytes to send
 *
 * Receiving:
 *
 *     raft_wire_msg_t m; size_t used;
 *     int rc = raft_wire_decode(in, in_len, 0, &m, &used);
 *     if (rc == RAFT_WIRE_ERR_TRUNCATED) -> read more (used = bytes needed)
 *     else if (rc != 0)                  -> drop the connection
 *     else switch (m.type) {
 *       case RAFT_WIRE_APPENDENTRIES:
 *         raft_recv_appendentries(r, node, &m.u.appendentries, &resp);
 *         raft_wire_msg_release(&m);       // the log holds its own refs
 *         ...
 *     }
 *
 * Every function is safe to call with any bytes: malformed input gets an
 * error code, never a crash. Functions never keep a pointer they are given.
 */
/**
 * @file raft_wire.h
 * @brief The wire format: a versioned binary encoding of every message of
 * raft.h, one frame per message, for programs that send them between
 * processes.
 *
 * An extension of libraft (not part of the original raft.h). The comment at
 * the top of this header shows sending and receiving; the bytes are
 * described in docs/wire-format.md.
 */
#ifndef RAFT_WIRE_H_
#define RAFT_WIRE_H_

#include <stddef.h>
#include "raft.h"

#ifdef __cplusplus
extern "C" {
#endif

/** The version of the format this library writes and accepts. */
#define RAFT_WIRE_VERSION 1

/** Bytes of a frame header; the smallest frame (timeoutnow) is this long. */
#define RAFT_WIRE_HEADER_LEN 16

/** The frame size limit used when a function is given max_frame = 0. */
#define RAFT_WIRE_MAX_FRAME (64u << 20)

/** Message types (the frame's type byte). */
typedef enum {
    RAFT_WIRE_REQUESTVOTE = 1,
    RAFT_WIRE_REQUESTVOTE_RESP = 2,
    RAFT_WIRE_APPENDENTRIES = 3,
    RAFT_WIRE_APPENDENTRIES_RESP = 4,
    RAFT_WIRE_SNAPSHOT = 5,
    RAFT_WIRE_SNAPSHOT_RESP = 6,
    /** No body; the receiver calls raft_timeout_now(). */
    RAFT_WIRE_TIMEOUTNOW = 7,
} raft_wire_type_e;

/** Error codes (distinct from RAFT_ERR_* and RAFT_STORE_ERR_*). */
typedef enum {
    /** The input ends before the frame does: read more bytes. */
    RAFT_WIRE_ERR_TRUNCATED = -200,
    /** The output buffer is too small; the size needed is reported. */
    RAFT_WIRE_ERR_SHORT_BUFFER = -201,
    /** The frame has another version of the format. */
    RAFT_WIRE_ERR_VERSION = -202,
    /** The frame is larger than the limit (or its data than 4 GiB). */
    RAFT_WIRE_ERR_TOO_LARGE = -203,
    /** Not a valid frame: unknown type, non-zero reserved flags, a length
     * that disagrees with the body, a boolean other than 0 or 1, a negative
     * term or index, an entry count or data length past the frame's end. */
    RAFT_WIRE_ERR_MALFORMED = -204,
    /** The heap hooks failed (decoding entries, or encoding a message). */
    RAFT_WIRE_ERR_NOMEM = -205,
    /** A NULL pointer or an invalid message was passed. */
    RAFT_WIRE_ERR_INVALID = -206,
} raft_wire_error_e;

/** One frame: who sent it, to whom, and the message. The member of `u`
 * named by `type` is the live one (none for RAFT_WIRE_TIMEOUTNOW). */
typedef struct {
    /** a raft_wire_type_e */
    int type;
    /** sender's node id (the receiver finds its raft_node_t with it) */
    raft_node_id_t from;
    /** receiver's node id (lets the receiver refuse misdirected frames) */
    raft_node_id_t to;
    /** the message; the member named by `type` is the live one */
    union {
        raft_requestvote_req_t requestvote;
        raft_requestvote_resp_t requestvote_resp;
        raft_appendentries_req_t appendentries;
        raft_appendentries_resp_t appendentries_resp;
        raft_snapshot_req_t snapshot;
        raft_snapshot_resp_t snapshot_resp;
    } u;
} raft_wire_msg_t;

/** @return the version of the format the library speaks (RAFT_WIRE_VERSION). */
int raft_wire_version(void);

/** Bytes raft_wire_encode() will write for msg, header included.
 * @return the size, or 0 when msg is NULL or invalid (see raft_wire_encode)
 *         or when out of memory. */
size_t raft_wire_encoded_size(const raft_wire_msg_t *msg);

/** Encode msg as one frame at the front of buf.
 *
 * Entries of an appendentries are read through their pointers (term, id,
 * type, data_len bytes of data); a snapshot's chunk.len bytes at chunk.data
 * are copied. Nothing is retained; buf must not overlap the message's data.
 *
 * @param[in]  msg     message to encode
 * @param[out] buf     output, cap bytes (may be NULL when cap is 0)
 * @param[in]  cap     size of buf
 * @param[out] written frame size on success; the size needed on
 *                     RAFT_WIRE_ERR_SHORT_BUFFER
 * @return 0 on success;
 *         RAFT_WIRE_ERR_SHORT_BUFFER (nothing written);
 *         RAFT_WIRE_ERR_TOO_LARGE;
 *         RAFT_WIRE_ERR_NOMEM (the heap hooks failed; nothing written);
 *         RAFT_WIRE_ERR_INVALID: NULL msg or written, NULL buf with cap > 0,
 *         unknown type, negative n_entries, NULL entries array or entry,
 *         NULL chunk data with a non-zero length. */
int raft_wire_encode(const raft_wire_msg_t *msg, void *buf, size_t cap, size_t *written);

/** Read the header at the front of buf and tell how long the frame is.
 *
 * @param[in]  buf       received bytes, len of them (may be NULL if len is 0)
 * @param[in]  len       number of bytes at buf
 * @param[in]  max_frame largest frame accepted, 0 for RAFT_WIRE_MAX_FRAME
 * @param[out] frame_len on 0, the whole frame's size (may be more than len:
 *                       read until that many bytes are there); on
 *                       RAFT_WIRE_ERR_TRUNCATED, RAFT_WIRE_HEADER_LEN
 * @return 0; RAFT_WIRE_ERR_TRUNCATED (fewer than 16 bytes);
 *         RAFT_WIRE_ERR_VERSION; RAFT_WIRE_ERR_TOO_LARGE;
 *         RAFT_WIRE_ERR_MALFORMED; RAFT_WIRE_ERR_INVALID (NULL pointers). */
int raft_wire_peek(const void *buf, size_t len, size_t max_frame, size_t *frame_len);

/** Decode the frame at the front of buf (more bytes may follow it).
 *
 * Ownership: for RAFT_WIRE_APPENDENTRIES, msg->u.appendentries.entries is an
 * array from raft_malloc of n_entries entries made with raft_entry_new(),
 * one reference each, owned by *msg: pass the message to
 * raft_recv_appendentries() (which holds its own references on what it
 * keeps) and then call raft_wire_msg_release(msg). For RAFT_WIRE_SNAPSHOT,
 * chunk.data points into buf (no copy): use it before buf changes. Other
 * types own nothing. On error *msg is untouched and owns nothing.
 *
 * @param[in]  buf       received bytes, len of them
 * @param[in]  len       number of bytes at buf
 * @param[in]  max_frame largest frame accepted, 0 for RAFT_WIRE_MAX_FRAME
 * @param[out] msg       the message
 * @param[out] consumed  on 0, the frame's size (drop that many bytes); on
 *                       RAFT_WIRE_ERR_TRUNCATED, the bytes needed (16 while
 *                       the header is incomplete, then the frame's size)
 * @return 0; RAFT_WIRE_ERR_TRUNCATED; RAFT_WIRE_ERR_VERSION;
 *         RAFT_WIRE_ERR_TOO_LARGE; RAFT_WIRE_ERR_MALFORMED;
 *         RAFT_WIRE_ERR_NOMEM; RAFT_WIRE_ERR_INVALID (NULL pointers).
 *         After any error but TRUNCATED the stream cannot be resynchronised:
 *         close the connection. */
int raft_wire_decode(const void *buf, size_t len, size_t max_frame, raft_wire_msg_t *msg,
                     size_t *consumed);

/** Release what raft_wire_decode() gave msg: one reference on each entry of
 * an appendentries and the array (entries becomes NULL, n_entries 0).
 * Nothing to do for other types. NULL is a no-op; a second call is harmless. */
void raft_wire_msg_release(raft_wire_msg_t *msg);

/** @return a static description of a RAFT_WIRE_ERR_* code ("success" for 0). */
const char *raft_wire_strerror(int err);

#ifdef __cplusplus
}
#endif

#endif /* RAFT_WIRE_H_ */
