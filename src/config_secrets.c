/*
 * config_secrets.c - reads the token and webhook secret files a tenant
 * names.  A secret file holds one value: surrounding white space (a final
 * newline from an editor or `echo`) is trimmed, an empty file or one with
 * line breaks or control characters inside is refused (a token is pasted
 * into an HTTP header, so a newline there would be header injection), the
 * size is capped, and a file that group or others can read or write is
 * accepted with a warning that says how to fix it.
 */
#include "config_int.h"

#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

static char *trim_secret(char *data, size_t len, size_t *outlen)
{
    size_t start = 0;
    while (start < len && isspace((unsigned char)data[start]))
        start++;
    while (len > start && isspace((unsigned char)data[len - 1]))
        len--;
    *outlen = len - start;
    return xstrndup(data + start, len - start);
}

static char *perm_warning(const char *path)
{
    struct stat st;
    if (stat(path, &st) < 0 || !(st.st_mode & (S_IRGRP | S_IWGRP | S_IROTH | S_IWOTH)))
        return NULL;
    return xasprintf("%s is readable or writable by group or others (mode %04o); "
                     "run: chmod 600 %s",
                     path, (unsigned)(st.st_mode & 07777), path);
}

int cfg_secret_read(const char *path, char **out, char **why, char **warning)
{
    struct stat st;
    *out = NULL;
    *why = NULL;
    *warning = NULL;
    if (stat(path, &st) == 0 && !S_ISREG(st.st_mode)) {
        *why = xasprintf("%s is not a regular file", path);
        return -EINVAL;
    }
    char *data;
    size_t len;
    int rc = read_whole_file(path, CFG_SECRET_MAX, &data, &len);
    if (rc == -EFBIG) {
        *why = xasprintf("%s is larger than %d KiB; it must hold just one value", path,
                         CFG_SECRET_MAX / 1024);
        return rc;
    }
    if (rc < 0) {
        *why = xasprintf("cannot read %s: %s", path, strerror(-rc));
        return rc;
    }
    size_t n;
    char *value = trim_secret(data, len, &n);
    explicit_bzero(data, len);
    free(data);
    rc = 0;
    if (n == 0) {
        *why = xasprintf("%s is empty; it must hold the value on one line", path);
        rc = -EINVAL;
    }
    for (size_t i = 0; i < n && rc == 0; i++)
        if (iscntrl((unsigned char)value[i]) || value[i] == '\0') {
            *why = xasprintf("%s contains a line break or control character inside its "
                             "value; it must hold exactly one value on one line",
                             path);
            rc = -EINVAL;
        }
    if (rc < 0) {
        explicit_bzero(value, n);
        free(value);
        return rc;
    }
    *warning = perm_warning(path);
    *out = value;
    return 0;
}
