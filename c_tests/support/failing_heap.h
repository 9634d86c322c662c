/* Heap hooks that count the library's allocations and fail chosen ones,
 * for the allocation-failure tests (test_oom.c, test_store_oom.c).
 *
 * fh_install() hands the hooks to raft_set_heap_functions. While armed,
 * allocation calls are numbered from 1 and calls number from .. from+len-1
 * return NULL; disarmed, nothing fails or is counted. Every block carries a
 * 16-byte header (malloc's alignment kept) with a marker, so a free knows a
 * block is one the hooks handed out and the live count is exact.
 *
 * fh_sweep() runs a script once counting its allocation points, then once
 * per chosen point with allocations failing from there. Environment, with
 * the prefix the test passes (e.g. "OOM"):
 *   PREFIX_SAMPLES=N   points spread over the run, first and last included
 *                      (default: the test's choice; 0 or above the count:
 *                      every point); PREFIX_ALL=1 every point
 *   PREFIX_ONLY=N      run point N only
 *   PREFIX_LEN=N       failures in a row instead of the test's length
 *   PREFIX_FORK=1      each point in a child, failures listed, not fatal
 *                      until the end
 *   PREFIX_VERBOSE=1   print each point
 */
#ifndef LIBRAFT_C_TESTS_FAILING_HEAP_H
#define LIBRAFT_C_TESTS_FAILING_HEAP_H

extern long fh_calls;   /* allocation calls since fh_arm */
extern long fh_failed;  /* allocations failed since fh_arm */
extern long fh_live;    /* live blocks handed out by the hooks */
extern long fh_foreign; /* frees of blocks the hooks did not hand out */

void fh_install(void);
void fh_arm(long from, long len);
void fh_disarm(void);
/* Neither count nor fail allocations until fh_resume (set-up inside an
 * armed run that is not under test). */
void fh_pause(void);
void fh_resume(void);

typedef void (*fh_script_fn)(long fail_from, long fail_len);

/* Returns the number of allocation points; exits with a message when a
 * forked point failed. `samples` is the default number of points tried (0:
 * all of them). */
long fh_sweep(const char *name, const char *env_prefix, fh_script_fn script, long fail_len,
              long samples);

#endif
