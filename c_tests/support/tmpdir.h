/* Removing the store tests' temporary directories without spawning a
 * shell (a `system("rm -rf")` per test point costs seconds under valgrind
 * with --trace-children). */
#ifndef LIBRAFT_C_TESTS_TMPDIR_H
#define LIBRAFT_C_TESTS_TMPDIR_H

/* Removes dir and everything under it; 0, or -1 when something stayed. */
int tmpdir_remove(const char *dir);

#endif
