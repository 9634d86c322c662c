/* Temporary directories: tmpdir.h. */
#define _XOPEN_SOURCE 700
#include "tmpdir.h"

#include <dirent.h>
#include <fcntl.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
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

static int copy_file(const char *from, const char *to)
{
    char buf[65536];
    ssize_t n;
    int in = open(from, O_RDONLY), out = -1, rc = -1;
    if (in < 0)
        goto done;
    out = open(to, O_WRONLY | O_CREAT | O_EXCL, 0644);
    if (out < 0)
        goto done;
    while ((n = read(in, buf, sizeof buf)) > 0)
        if (write(out, buf, (size_t)n) != n)
            goto done;
    rc = n == 0 ? 0 : -1;
done:
    if (rc != 0)
        perror(from);
    if (in >= 0)
        close(in);
    if (out >= 0)
        close(out);
    return rc;
}

int tmpdir_copy(const char *src, const char *dst)
{
    char from[4096], to[4096];
    struct dirent *e;
    struct stat st;
    int rc = 0;
    DIR *d = opendir(src);
    if (!d) {
        perror(src);
        return -1;
    }
    while ((e = readdir(d)) != NULL) {
        snprintf(from, sizeof from, "%s/%s", src, e->d_name);
        snprintf(to, sizeof to, "%s/%s", dst, e->d_name);
        if (stat(from, &st) == 0 && S_ISREG(st.st_mode) && copy_file(from, to) != 0)
            rc = -1;
    }
    closedir(d);
    return rc;
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

int tmpdir_listing(const char *dir, char *buf, size_t size)
{
    char *names[256], path[4096];
    struct dirent *e;
    struct stat st;
    size_t n = 0, len = 0;
    DIR *d = opendir(dir);
    if (!d || size == 0)
        return -1;
    while ((e = readdir(d)) != NULL && n < 256) {
        if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
            continue;
        names[n++] = strdup(e->d_name);
    }
    closedir(d);
    qsort(names, n, sizeof names[0], cmp_str);
    buf[0] = 0;
    for (size_t i = 0; i < n; i++) {
        snprintf(path, sizeof path, "%s/%s", dir, names[i]);
        long long sz = stat(path, &st) == 0 ? (long long)st.st_size : -1;
        if (len < size)
            len += (size_t)snprintf(buf + len, size - len, "%s %lld\n", names[i], sz);
        free(names[i]);
    }
    return (int)(len < size ? len : size - 1);
}
