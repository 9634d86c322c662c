/*
 * malloc_floor: what glibc's malloc and free cost per entry-sized block,
 * with nothing else running. The raft benchmark allocates one block per
 * entry (raft_entry_new, through the counting heap hooks: 40-byte header,
 * 64 bytes of data, 16 bytes of hook header = 120 bytes) and frees it at
 * raft_destroy; this does the same N times, so that
 *
 *   make bench-malloc-floor
 *
 * shows the part of `make bench-instr` that no raft library allocating its
 * entries one by one can avoid. Arguments as raft_bench's (--entries=N; any
 * other is ignored) so that bench/instr.sh can drive it.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define BLOCK 120

int main(int argc, char **argv)
{
    long n = 40000;
    for (int i = 1; i < argc; i++)
        if (strncmp(argv[i], "--entries=", 10) == 0)
            n = atol(argv[i] + 10);
    if (n <= 0) {
        fprintf(stderr, "malloc_floor: --entries must be positive\n");
        return 2;
    }
    void **blocks = malloc((size_t) n * sizeof(*blocks));
    if (!blocks)
        return 2;
    unsigned long sum = 0;
    for (long i = 0; i < n; i++) {
        blocks[i] = malloc(BLOCK);
        if (!blocks[i])
            return 2;
        sum += (unsigned long) blocks[i] & 0xff;
    }
    /* Printed before the frees, like raft_bench's first line: stdout's
     * buffer, allocated after them, would make glibc consolidate every
     * freed block, a cost the benchmark does not have. */
    printf("malloc_floor: %ld blocks of %d bytes allocated, then freed\n", n, BLOCK);
    printf("(checksum %lu)\n", sum);
    fflush(stdout);
    for (long i = 0; i < n; i++)
        free(blocks[i]);
    free(blocks);
    return 0;
}
