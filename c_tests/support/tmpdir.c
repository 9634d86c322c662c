/* Temporary directories: tmpdir.h. */
#define _XOPEN_SOURCE 700
#include "tmpdir.h"

#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

char *tmpdir_make(char *buf, size_t size, const char *prefix)
{
    if (snprintf(buf, size, "/tmp/%s-XXXXXX", prefix) >= (int)size)
        return NULL;
    return mkdtemp(buf);
}

static int remove_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st, (void)ftw;
    int rc = (flag == FTW_DP) ? rmdir(path) : unlink(path);
    if (rc != 0)
        perror(path);
    return 0; /* go on: remove what can be removed */
}

int tmpdir_remove(const char *dir)
{
    nftw(dir, remove_one, 16, FTW_DEPTH | FTW_PHYS);
    if (access(dir, F_OK) != 0)
        return 0;
    fprintf(stderr, "could not remove %s\n", dir);
    return -1;
}
