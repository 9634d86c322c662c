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

/* Copies the regular files directly in `src` into `dst` (an existing,
 * empty directory); 0, or -1 (said on stderr). */
int tmpdir_copy(const char *src, const char *dst);

/* What `dir` holds: its file names and sizes, sorted, one "name size" line
 * each, in buf (cut at size bytes); the length written, or -1. */
int tmpdir_listing(const char *dir, char *buf, size_t size);

#endif
