/* Fuzz target for the wire format (raft_wire.h): arbitrary bytes go to
 * raft_wire_peek and raft_wire_decode, as a peer's stream would; whatever
 * decodes must encode back to exactly the bytes it came from, and the
 * decoded entries must be well formed and released without leaks.
 *
 * libFuzzer: LLVMFuzzerTestOneInput. With -DFUZZ_STANDALONE, a driver that
 * mutates valid frames of every type with a seeded PRNG for --seconds=N
 * (or replays the files given as arguments). */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "raft.h"
#include "raft_wire.h"

static void check(int cond, const char *what)
{
    if (!cond) {
        fprintf(stderr, "fuzz_wire: %s\n", what);
        abort();
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    size_t off = 0;
    /* A stream: decode frames back to back until one fails. */
    while (off <= size) {
        size_t flen = 0, used = 0;
        int prc = raft_wire_peek(data + off, size - off, 1 << 20, &flen);
        raft_wire_msg_t m;
        int rc = raft_wire_decode(data + off, size - off, 1 << 20, &m, &used);
        if (rc != 0) {
            check(rc >= RAFT_WIRE_ERR_INVALID && rc <= RAFT_WIRE_ERR_TRUNCATED, "unknown error code");
            if (rc == RAFT_WIRE_ERR_TRUNCATED)
                check(used > size - off, "truncated but the bytes were there");
            break;
        }
        check(prc == 0 && flen == used, "peek and decode disagree on the length");
        check(used >= RAFT_WIRE_HEADER_LEN && used <= size - off, "bad consumed length");
        if (m.type == RAFT_WIRE_APPENDENTRIES) {
            for (raft_index_t i = 0; i < m.u.appendentries.n_entries; i++) {
                raft_entry_t *e = m.u.appendentries.entries[i];
                check(e && e->refs == 1, "decoded entry without one reference");
            }
        }
        size_t need = raft_wire_encoded_size(&m), wrote = 0;
        check(need == used, "re-encoded size differs");
        uint8_t *buf = malloc(need ? need : 1);
        check(raft_wire_encode(&m, buf, need, &wrote) == 0 && wrote == need, "re-encode failed");
        check(memcmp(buf, data + off, need) == 0, "re-encoded bytes differ");
        free(buf);
        raft_wire_msg_release(&m);
        off += used;
    }
    return 0;
}

#ifdef FUZZ_STANDALONE
static uint64_t rng = 0x2545F4914F6CDD1DULL;
static uint64_t rnd(void)
{
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return rng;
}

/* One valid frame of each type, as mutation seeds. */
static size_t seed_frame(int type, uint8_t *out, size_t cap)
{
    raft_wire_msg_t m;
    memset(&m, 0, sizeof m);
    m.type = type;
    m.from = 1;
    m.to = 2;
    raft_entry_t *ents[3] = { NULL, NULL, NULL };
    char chunk[40] = "chunk";
    switch (type) {
    case RAFT_WIRE_REQUESTVOTE: m.u.requestvote.term = 3; m.u.requestvote.last_log_idx = 9; break;
    case RAFT_WIRE_REQUESTVOTE_RESP: m.u.requestvote_resp.vote_granted = 1; break;
    case RAFT_WIRE_APPENDENTRIES:
        for (int i = 0; i < 3; i++) {
            ents[i] = raft_entry_new((unsigned)(rnd() % 20));
            ents[i]->term = 2;
            ents[i]->type = (short)(i * 2);
        }
        m.u.appendentries.term = 2;
        m.u.appendentries.n_entries = 3;
        m.u.appendentries.entries = ents;
        break;
    case RAFT_WIRE_APPENDENTRIES_RESP: m.u.appendentries_resp.current_idx = 5; break;
    case RAFT_WIRE_SNAPSHOT: m.u.snapshot.chunk.data = chunk; m.u.snapshot.chunk.len = sizeof chunk; break;
    case RAFT_WIRE_SNAPSHOT_RESP: m.u.snapshot_resp.offset = 4096; break;
    default: break;
    }
    size_t n = 0;
    if (raft_wire_encode(&m, out, cap, &n) != 0)
        n = 0;
    for (int i = 0; i < 3; i++)
        if (ents[i])
            raft_entry_release(ents[i]);
    return n;
}

int main(int argc, char **argv)
{
    double seconds = 10;
    int replay = 0;
    for (int i = 1; i < argc; i++) {
        if (!strncmp(argv[i], "--seconds=", 10)) {
            seconds = atof(argv[i] + 10);
            continue;
        }
        FILE *f = fopen(argv[i], "rb");
        if (!f)
            continue;
        static uint8_t buf[1 << 20];
        size_t n = fread(buf, 1, sizeof buf, f);
        fclose(f);
        LLVMFuzzerTestOneInput(buf, n);
        replay = 1;
    }
    if (replay)
        return 0;
    time_t end = time(NULL) + (time_t)seconds;
    unsigned long long iters = 0;
    uint8_t buf[4096];
    while (time(NULL) < end) {
        for (int k = 0; k < 1000; k++, iters++) {
            size_t n = 0;
            int frames = 1 + (int)(rnd() % 3);
            for (int f = 0; f < frames; f++)
                n += seed_frame(1 + (int)(rnd() % 7), buf + n, sizeof buf - n);
            int muts = (int)(rnd() % 4);
            for (int j = 0; j < muts && n > 0; j++) {
                switch (rnd() % 4) {
                case 0: buf[rnd() % n] = (uint8_t)rnd(); break;
                case 1: buf[rnd() % n] ^= (uint8_t)(1u << (rnd() % 8)); break;
                case 2: n = (size_t)(rnd() % (n + 1)); break;
                case 3: { size_t at = rnd() % n; buf[at] = (uint8_t)(rnd() % 2 ? 0xff : 0); } break;
                }
            }
            LLVMFuzzerTestOneInput(buf, n);
        }
    }
    printf("fuzz_wire: %llu inputs in %.0f s, no failure\n", iters, seconds);
    return 0;
}
#endif
