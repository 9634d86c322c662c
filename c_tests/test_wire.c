/* The wire format through the C API: round trips, entries a server accepts,
 * ownership, truncation and malformed input. */
#include <stdint.h>
#include "raft.h"
#include "raft_wire.h"
#include "test.h"

static size_t enc(const raft_wire_msg_t *m, unsigned char *buf, size_t cap)
{
    size_t n = 0;
    ASSERT_EQ(0, raft_wire_encode(m, buf, cap, &n));
    ASSERT_EQ(raft_wire_encoded_size(m), n);
    return n;
}

TEST(wire_version_and_strerror)
{
    ASSERT_EQ(RAFT_WIRE_VERSION, raft_wire_version());
    ASSERT_STR_EQ("success", raft_wire_strerror(0));
    ASSERT_STR_EQ("malformed frame", raft_wire_strerror(RAFT_WIRE_ERR_MALFORMED));
    ASSERT_STR_EQ("unknown error", raft_wire_strerror(12345));
}

TEST(wire_requestvote_round_trip)
{
    raft_wire_msg_t m = { .type = RAFT_WIRE_REQUESTVOTE, .from = 2, .to = 3 };
    m.u.requestvote.prevote = 1;
    m.u.requestvote.term = 9;
    m.u.requestvote.candidate_id = 2;
    m.u.requestvote.last_log_idx = 123456789012L;
    m.u.requestvote.last_log_term = 8;
    unsigned char buf[128];
    size_t n = enc(&m, buf, sizeof buf);
    ASSERT_EQ(RAFT_WIRE_HEADER_LEN + 29, n);
    size_t flen = 0;
    ASSERT_EQ(0, raft_wire_peek(buf, n, 0, &flen));
    ASSERT_EQ(n, flen);
    raft_wire_msg_t d;
    size_t used = 0;
    ASSERT_EQ(0, raft_wire_decode(buf, n, 0, &d, &used));
    ASSERT_EQ(n, used);
    ASSERT_EQ(RAFT_WIRE_REQUESTVOTE, d.type);
    ASSERT_EQ(2, d.from);
    ASSERT_EQ(3, d.to);
    ASSERT_EQ(1, d.u.requestvote.prevote);
    ASSERT_EQ(9, d.u.requestvote.term);
    ASSERT_EQ(2, d.u.requestvote.candidate_id);
    ASSERT_EQ(123456789012L, d.u.requestvote.last_log_idx);
    ASSERT_EQ(8, d.u.requestvote.last_log_term);
    raft_wire_msg_release(&d); /* no-op for this type */
}

TEST(wire_appendentries_entries_are_fresh_and_released_by_msg_release)
{
    raft_entry_t *e1 = raft_entry_new(5), *e2 = raft_entry_new(0);
    memcpy(e1->data, "hello", 5);
    e1->term = 4; e1->id = 77; e1->type = RAFT_LOGTYPE_NORMAL;
    e2->term = 4; e2->id = 78; e2->type = RAFT_LOGTYPE_ADD_NODE;
    raft_entry_t *ents[2] = { e1, e2 };
    raft_wire_msg_t m = { .type = RAFT_WIRE_APPENDENTRIES, .from = 1, .to = 2 };
    m.u.appendentries.leader_id = 1;
    m.u.appendentries.msg_id = 42;
    m.u.appendentries.term = 4;
    m.u.appendentries.prev_log_idx = 10;
    m.u.appendentries.prev_log_term = 3;
    m.u.appendentries.leader_commit = 9;
    m.u.appendentries.n_entries = 2;
    m.u.appendentries.entries = ents;
    unsigned char buf[256];
    size_t n = enc(&m, buf, sizeof buf);
    raft_entry_release(e1);
    raft_entry_release(e2);

    raft_wire_msg_t d;
    size_t used;
    ASSERT_EQ(0, raft_wire_decode(buf, n, 0, &d, &used));
    raft_appendentries_req_t *ae = &d.u.appendentries;
    ASSERT_EQ(42, ae->msg_id);
    ASSERT_EQ(10, ae->prev_log_idx);
    ASSERT_EQ(9, ae->leader_commit);
    ASSERT_EQ(2, ae->n_entries);
    ASSERT_EQ(1, ae->entries[0]->refs);
    ASSERT_EQ(5, ae->entries[0]->data_len);
    ASSERT(memcmp(ae->entries[0]->data, "hello", 5) == 0);
    ASSERT_EQ(77, ae->entries[0]->id);
    ASSERT_EQ(RAFT_LOGTYPE_ADD_NODE, ae->entries[1]->type);
    ASSERT_EQ(0, ae->entries[1]->data_len);
    raft_wire_msg_release(&d);
    ASSERT(d.u.appendentries.entries == NULL);
    ASSERT_EQ(0, d.u.appendentries.n_entries);
    raft_wire_msg_release(&d); /* twice is harmless */
}

/* A follower accepts decoded entries and keeps them after the message is
 * released (raft_recv_appendentries holds its own references). */
TEST(wire_decoded_appendentries_feed_a_follower)
{
    raft_server_t *r = raft_new();
    raft_add_node(r, NULL, 2, 1);
    raft_add_node(r, NULL, 1, 0);
    raft_entry_t *e = raft_entry_new(3);
    memcpy(e->data, "abc", 3);
    e->term = 1; e->id = 5;
    raft_entry_t *ents[1] = { e };
    raft_wire_msg_t m = { .type = RAFT_WIRE_APPENDENTRIES, .from = 1, .to = 2 };
    m.u.appendentries.leader_id = 1;
    m.u.appendentries.term = 1;
    m.u.appendentries.n_entries = 1;
    m.u.appendentries.entries = ents;
    unsigned char buf[256];
    size_t n = enc(&m, buf, sizeof buf);
    raft_entry_release(e);

    raft_wire_msg_t d;
    size_t used;
    ASSERT_EQ(0, raft_wire_decode(buf, n, 0, &d, &used));
    raft_appendentries_resp_t resp;
    ASSERT_EQ(0, raft_recv_appendentries(r, raft_get_node(r, d.from), &d.u.appendentries, &resp));
    raft_wire_msg_release(&d);
    ASSERT_EQ(1, resp.success);
    ASSERT_EQ(1, raft_get_current_idx(r));
    raft_entry_t *got = raft_get_entry_from_idx(r, 1);
    ASSERT(got != NULL);
    ASSERT(memcmp(got->data, "abc", 3) == 0);
    raft_entry_release(got);
    raft_destroy(r);
}

TEST(wire_snapshot_chunk_points_into_the_input)
{
    char chunk[] = "snapshot-bytes";
    raft_wire_msg_t m = { .type = RAFT_WIRE_SNAPSHOT, .from = 1, .to = 2 };
    m.u.snapshot.term = 3;
    m.u.snapshot.leader_id = 1;
    m.u.snapshot.msg_id = 7;
    m.u.snapshot.snapshot_index = 50;
    m.u.snapshot.snapshot_term = 2;
    m.u.snapshot.chunk.offset = 1000;
    m.u.snapshot.chunk.data = chunk;
    m.u.snapshot.chunk.len = sizeof chunk;
    m.u.snapshot.chunk.last_chunk = 1;
    unsigned char buf[256];
    size_t n = enc(&m, buf, sizeof buf);
    raft_wire_msg_t d;
    size_t used;
    ASSERT_EQ(0, raft_wire_decode(buf, n, 0, &d, &used));
    ASSERT_EQ(1000, d.u.snapshot.chunk.offset);
    ASSERT_EQ(sizeof chunk, d.u.snapshot.chunk.len);
    ASSERT(d.u.snapshot.chunk.data >= (void *)buf && d.u.snapshot.chunk.data < (void *)(buf + n));
    ASSERT(memcmp(d.u.snapshot.chunk.data, chunk, sizeof chunk) == 0);
    ASSERT_EQ(1, d.u.snapshot.chunk.last_chunk);
    ASSERT_EQ(50, d.u.snapshot.snapshot_index);
}

TEST(wire_responses_and_timeoutnow_round_trip)
{
    unsigned char buf[256];
    size_t used;
    raft_wire_msg_t d;
    raft_wire_msg_t a = { .type = RAFT_WIRE_APPENDENTRIES_RESP, .from = 3, .to = 1 };
    a.u.appendentries_resp.msg_id = 99;
    a.u.appendentries_resp.term = 6;
    a.u.appendentries_resp.success = 1;
    a.u.appendentries_resp.current_idx = 77;
    size_t n = enc(&a, buf, sizeof buf);
    ASSERT_EQ(0, raft_wire_decode(buf, n, 0, &d, &used));
    ASSERT_EQ(99, d.u.appendentries_resp.msg_id);
    ASSERT_EQ(77, d.u.appendentries_resp.current_idx);

    raft_wire_msg_t s = { .type = RAFT_WIRE_SNAPSHOT_RESP, .from = 3, .to = 1 };
    s.u.snapshot_resp.offset = 4096;
    s.u.snapshot_resp.success = 1;
    n = enc(&s, buf, sizeof buf);
    ASSERT_EQ(0, raft_wire_decode(buf, n, 0, &d, &used));
    ASSERT_EQ(4096, d.u.snapshot_resp.offset);

    raft_wire_msg_t v = { .type = RAFT_WIRE_REQUESTVOTE_RESP, .from = 3, .to = 1 };
    v.u.requestvote_resp.vote_granted = 1;
    v.u.requestvote_resp.request_term = 5;
    n = enc(&v, buf, sizeof buf);
    ASSERT_EQ(0, raft_wire_decode(buf, n, 0, &d, &used));
    ASSERT_EQ(1, d.u.requestvote_resp.vote_granted);
    ASSERT_EQ(5, d.u.requestvote_resp.request_term);

    raft_wire_msg_t t = { .type = RAFT_WIRE_TIMEOUTNOW, .from = 1, .to = 2 };
    n = enc(&t, buf, sizeof buf);
    ASSERT_EQ(RAFT_WIRE_HEADER_LEN, n);
    ASSERT_EQ(0, raft_wire_decode(buf, n, 0, &d, &used));
    ASSERT_EQ(RAFT_WIRE_TIMEOUTNOW, d.type);
}

TEST(wire_every_truncation_asks_for_more)
{
    raft_entry_t *e = raft_entry_new(10);
    raft_entry_t *ents[1] = { e };
    raft_wire_msg_t m = { .type = RAFT_WIRE_APPENDENTRIES, .from = 1, .to = 2 };
    m.u.appendentries.n_entries = 1;
    m.u.appendentries.entries = ents;
    unsigned char buf[256];
    size_t n = enc(&m, buf, sizeof buf);
    raft_entry_release(e);
    for (size_t cut = 0; cut < n; cut++) {
        raft_wire_msg_t d;
        size_t need = 0;
        ASSERT_EQ(RAFT_WIRE_ERR_TRUNCATED, raft_wire_decode(buf, cut, 0, &d, &need));
        ASSERT(need > cut);
    }
}

TEST(wire_bad_input_gets_error_codes)
{
    unsigned char buf[64];
    size_t n = 0;
    raft_wire_msg_t m = { .type = 99 };
    ASSERT_EQ(RAFT_WIRE_ERR_INVALID, raft_wire_encode(&m, buf, sizeof buf, &n));
    ASSERT_EQ(0, raft_wire_encoded_size(&m));
    ASSERT_EQ(0, raft_wire_encoded_size(NULL));
    ASSERT_EQ(RAFT_WIRE_ERR_INVALID, raft_wire_encode(NULL, buf, sizeof buf, &n));
    m.type = RAFT_WIRE_APPENDENTRIES;
    m.u.appendentries.n_entries = 1;
    m.u.appendentries.entries = NULL;
    ASSERT_EQ(RAFT_WIRE_ERR_INVALID, raft_wire_encode(&m, buf, sizeof buf, &n));
    m.u.appendentries.n_entries = -1;
    ASSERT_EQ(RAFT_WIRE_ERR_INVALID, raft_wire_encode(&m, buf, sizeof buf, &n));
    m.u.appendentries.n_entries = 0;
    ASSERT_EQ(RAFT_WIRE_ERR_SHORT_BUFFER, raft_wire_encode(&m, buf, 10, &n));
    ASSERT_EQ(RAFT_WIRE_HEADER_LEN + 48, n);

    raft_wire_msg_t d;
    size_t used;
    ASSERT_EQ(RAFT_WIRE_ERR_INVALID, raft_wire_decode(NULL, 5, 0, &d, &used));
    ASSERT_EQ(RAFT_WIRE_ERR_INVALID, raft_wire_decode(buf, 5, 0, NULL, &used));
    ASSERT_EQ(RAFT_WIRE_ERR_INVALID, raft_wire_peek(buf, 5, 0, NULL));

    ASSERT_EQ(0, raft_wire_encode(&m, buf, sizeof buf, &n));
    buf[4] = 9; /* version */
    ASSERT_EQ(RAFT_WIRE_ERR_VERSION, raft_wire_decode(buf, n, 0, &d, &used));
    buf[4] = RAFT_WIRE_VERSION;
    ASSERT_EQ(RAFT_WIRE_ERR_TOO_LARGE, raft_wire_decode(buf, n, 20, &d, &used));
    buf[0] = 0xff; /* a 4 GiB frame */
    ASSERT_EQ(RAFT_WIRE_ERR_TOO_LARGE, raft_wire_peek(buf, n, 0, &used));
    memset(buf, 0xff, sizeof buf);
    buf[0] = 0; buf[1] = 0; buf[2] = 0; buf[3] = 40; buf[4] = 1; buf[6] = 0; buf[7] = 0;
    ASSERT_EQ(RAFT_WIRE_ERR_MALFORMED, raft_wire_decode(buf, sizeof buf, 0, &d, &used));

    /* Random bytes: never a crash, always 0 or an error code. */
    srand(7);
    for (int i = 0; i < 20000; i++) {
        unsigned char junk[80];
        size_t len = (size_t)(rand() % (int)sizeof junk);
        for (size_t k = 0; k < len; k++)
            junk[k] = (unsigned char)rand();
        if (len >= 8 && (i & 1)) { /* plausible headers more often */
            junk[0] = 0; junk[1] = 0; junk[2] = 0; junk[3] = (unsigned char)(len - 4);
            junk[4] = 1; junk[5] = (unsigned char)(1 + rand() % 7); junk[6] = 0; junk[7] = 0;
        }
        int rc = raft_wire_decode(junk, len, 0, &d, &used);
        ASSERT(rc == 0 || (rc <= RAFT_WIRE_ERR_TRUNCATED && rc >= RAFT_WIRE_ERR_INVALID));
        if (rc == 0)
            raft_wire_msg_release(&d);
    }
}

/* The bytes are the ones docs/wire-format.md describes (big-endian, 16-byte
 * header); a change here is a new version of the format. */
TEST(wire_bytes_match_the_documented_format)
{
    unsigned char buf[256];
    size_t n;
    raft_wire_msg_t t = { .type = RAFT_WIRE_TIMEOUTNOW, .from = 1, .to = 2 };
    static const unsigned char tn[] = { 0x00, 0x00, 0x00, 0x0c, 0x01, 0x07, 0x00, 0x00,
                                        0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x02 };
    n = enc(&t, buf, sizeof buf);
    ASSERT_EQ(sizeof tn, n);
    ASSERT(memcmp(buf, tn, n) == 0);

    raft_wire_msg_t v = { .type = RAFT_WIRE_REQUESTVOTE, .from = 3, .to = 1 };
    v.u.requestvote.prevote = 1;
    v.u.requestvote.term = 7;
    v.u.requestvote.candidate_id = 3;
    v.u.requestvote.last_log_idx = 10;
    v.u.requestvote.last_log_term = 6;
    static const unsigned char rv[] = { 0x00, 0x00, 0x00, 0x29, 0x01, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x03, 0x00, 0x00, 0x00, 0x01, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x07, 0x00, 0x00, 0x00, 0x03, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x0a, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x06 };
    n = enc(&v, buf, sizeof buf);
    ASSERT_EQ(sizeof rv, n);
    ASSERT(memcmp(buf, rv, n) == 0);

    raft_entry_t *e = raft_entry_new(2);
    memcpy(e->data, "hi", 2);
    e->term = 7;
    e->id = 42;
    raft_entry_t *ents[1] = { e };
    raft_wire_msg_t a = { .type = RAFT_WIRE_APPENDENTRIES, .from = 1, .to = 2 };
    a.u.appendentries.leader_id = 1;
    a.u.appendentries.msg_id = 5;
    a.u.appendentries.term = 7;
    a.u.appendentries.prev_log_idx = 10;
    a.u.appendentries.prev_log_term = 6;
    a.u.appendentries.leader_commit = 9;
    a.u.appendentries.n_entries = 1;
    a.u.appendentries.entries = ents;
    static const unsigned char ae[] = { 0x00, 0x00, 0x00, 0x50, 0x01, 0x03, 0x00, 0x00, 0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x02, 0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x05, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x07, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x0a, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x06, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x09, 0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x07, 0x00, 0x00, 0x00, 0x2a, 0x00, 0x00, 0x00, 0x00, 0x00, 0x02, 0x68, 0x69 };
    n = enc(&a, buf, sizeof buf);
    raft_entry_release(e);
    ASSERT_EQ(sizeof ae, n);
    ASSERT(memcmp(buf, ae, n) == 0);
}

TEST_MAIN()
