/*
 * fuzz_common.c - what every fuzz target shares: failing loudly (abort, so
 * libFuzzer and the replay suite both see it) and turning raw input into a
 * C string.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"
#include "util.h"

void fuzz_fail(const char *target, const char *what)
{
    fprintf(stderr, "fuzz_%s: property violated: %s\n", target, what);
    abort();
}

char *fuzz_string(const uint8_t *data, size_t size)
{
    char *s = xmalloc(size + 1);
    if (size)
        memcpy(s, data, size);
    s[size] = '\0';
    return s;
}
