/*
 * pidlock.c - the per-database daemon lock of pidlock.h, on flock(2).
 */
#include "pidlock.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <unistd.h>

static pid_t read_holder(int fd)
{
    char buf[32];
    ssize_t n = pread(fd, buf, sizeof(buf) - 1, 0);
    if (n <= 0)
        return 0;
    buf[n] = '\0';
    buf[strcspn(buf, "\n")] = '\0';
    int64_t pid;
    return parse_i64(buf, &pid) == 0 && pid > 0 ? (pid_t)pid : 0;
}

int pidlock_acquire(const char *state_db, int *fd, pid_t *holder)
{
    char *path = xasprintf("%s.lock", state_db);
    int f = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    free(path);
    if (f < 0)
        return -errno;
    if (flock(f, LOCK_EX | LOCK_NB) < 0) {
        int e = errno;
        *holder = read_holder(f);
        close(f);
        return e == EWOULDBLOCK ? -EBUSY : -e;
    }
    char pid[32];
    int len = snprintf(pid, sizeof(pid), "%ld\n", (long)getpid());
    if (ftruncate(f, 0) < 0 || pwrite(f, pid, (size_t)len, 0) != len) {
        /* The lock holds anyway; only the pid in the message would be missing. */
    }
    *fd = f;
    return 0;
}

void pidlock_release(int fd)
{
    if (fd >= 0)
        close(fd);
}
