/* The store tests' temporary directories, removed without spawning a
 * shell (a `system("rm -rf")` per test point costs seconds under valgrind
 * with --trace-children). */
#ifndef LIBRAFT_C_TESTS_TMPDIR_H
#define LIBRAFT_C_TESTS_TMPDIR_H

#include <stddef.h>

/* Makes a fresh directory /tmp/<prefix>-XXXXXX, its name in buf (size at
 * least strlen(prefix) + 13); buf, or NULL with errno set. */
char *tmpdir_make(char *buf, size_t size, const char *prefix);

/* Removes dir and everything under it; 0, or -1 (said on stderr) when
 * something stayed. */
int tmpdir_remove(const char *dir);

#endif
