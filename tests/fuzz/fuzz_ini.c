/*
 * fuzz_ini.c - any file as the INI configuration (config*.c, inih).
 * Properties: nothing crashes or leaks, a refused file always says why,
 * and what check-config prints for an accepted file (cfg_print) loads
 * again to the very same configuration.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "config.h"
#include "fuzz.h"

/* An in-memory file holding text; its path goes to *path. */
static int memfile(const void *text, size_t n, char path[64])
{
    int fd = memfd_create("vomo-fuzz.ini", MFD_CLOEXEC);
    if (fd < 0)
        fuzz_fail("ini", "memfd_create failed");
    if (n && write(fd, text, n) != (ssize_t)n)
        fuzz_fail("ini", "writing the memory file failed");
    snprintf(path, 64, "/proc/self/fd/%d", fd);
    return fd;
}

static char *printed(const struct config *cfg, size_t *n)
{
    char *out = NULL;
    FILE *f = open_memstream(&out, n);
    cfg_print(cfg, f);
    fclose(f);
    return out;
}

int fuzz_ini(const uint8_t *data, size_t size)
{
    char path[64], path2[64];
    int fd = memfile(data, size, path);
    struct config *cfg, *again;
    struct cfg_errors errs;
    int rc = cfg_load(path, CFG_SKIP_SECRETS, &cfg, &errs);
    if (rc != 0 && errs.count == 0)
        fuzz_fail("ini", "a refused configuration without an error");
    if (rc == 0) {
        size_t n, n2;
        char *text = printed(cfg, &n);
        int fd2 = memfile(text, n, path2);
        struct cfg_errors errs2;
        if (cfg_load(path2, CFG_SKIP_SECRETS, &again, &errs2) != 0) {
            cfg_errors_print(&errs2, stderr);
            fuzz_fail("ini", "what check-config prints does not load");
        }
        char *text2 = printed(again, &n2);
        const char *a = strchr(text, '\n'), *b = strchr(text2, '\n');
        if (!a || !b || strcmp(a, b) != 0)
            fuzz_fail("ini", "the printed configuration loads to another one");
        free(text2);
        cfg_free(again);
        cfg_errors_free(&errs2);
        close(fd2);
        free(text);
        cfg_free(cfg);
    }
    cfg_errors_free(&errs);
    close(fd);
    return 0;
}

FUZZ_ENTRY(fuzz_ini)
