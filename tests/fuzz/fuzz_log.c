/*
 * fuzz_log.c - the log writer (log.c) with secrets registered.  The input
 * is split at NUL bytes: the first piece is the message, the others (up to
 * 16) are secrets, each from its own file.  Properties of the JSON line:
 * it is one line that cJSON parses, no registered secret appears in the
 * text of msg or tenant between "[REDACTED]" markers, it is valid UTF-8,
 * and when message and secrets are valid UTF-8 the message round-trips:
 * it reads as the input with every secret (leftmost, longest first)
 * replaced by the marker.
 */
#include <cjson/cJSON.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"
#include "log.h"

#define MARK "[REDACTED]"
#define MAX_SECRETS 16

/* Strict UTF-8 (RFC 3629): no overlongs, surrogates or values past U+10FFFF. */
static bool valid_utf8(const unsigned char *s, size_t n)
{
    for (size_t i = 0; i < n;) {
        unsigned c = s[i];
        size_t len = c < 0x80 ? 1 : c >= 0xc2 && c <= 0xdf ? 2 : c >= 0xe0 && c <= 0xef ? 3
                                  : c >= 0xf0 && c <= 0xf4 ? 4 : 0;
        if (!len || i + len > n)
            return false;
        unsigned cp = len == 1 ? c : c & (0x3f >> (len - 1));
        for (size_t k = 1; k < len; k++) {
            if ((s[i + k] & 0xc0) != 0x80)
                return false;
            cp = (cp << 6) | (s[i + k] & 0x3f);
        }
        if ((len == 3 && cp < 0x800) || (len == 4 && (cp < 0x10000 || cp > 0x10ffff)) ||
            (cp >= 0xd800 && cp <= 0xdfff))
            return false;
        i += len;
    }
    return true;
}

/* The expected message: leftmost, longest secret first, replaced. */
static char *reference(const char *msg, char *const *secrets, size_t n)
{
    struct buf b;
    buf_init(&b, 0);
    for (const char *p = msg; *p;) {
        size_t best = 0;
        for (size_t i = 0; i < n; i++) {
            size_t l = strlen(secrets[i]);
            if (l > best && strncmp(p, secrets[i], l) == 0)
                best = l;
        }
        if (best) {
            (void)!buf_puts(&b, MARK);
            p += best;
        } else {
            (void)!buf_append(&b, p++, 1);
        }
    }
    return buf_steal(&b);
}

/* No secret between two markers of value. */
static void check_no_secret(const char *value, char *const *secrets, size_t n)
{
    size_t vlen = strlen(value);
    for (const char *p = value; p <= value + vlen;) {
        const char *m = strstr(p, MARK);
        size_t len = m ? (size_t)(m - p) : strlen(p);
        for (size_t i = 0; i < n; i++)
            if (memmem(p, len, secrets[i], strlen(secrets[i])))
                fuzz_fail("log", "a registered secret is in the line");
        if (!m)
            break;
        p = m + strlen(MARK);
    }
}

int fuzz_log(const uint8_t *data, size_t size)
{
    char *secrets[MAX_SECRETS];
    size_t nsec = 0;
    const uint8_t *end = data + size, *nul = memchr(data, 0, size);
    char *msg = fuzz_string(data, nul ? (size_t)(nul - data) : size);
    log_clear_secrets();
    for (const uint8_t *p = nul ? nul + 1 : end; p < end && nsec < MAX_SECRETS;) {
        const uint8_t *q = memchr(p, 0, (size_t)(end - p));
        size_t len = q ? (size_t)(q - p) : (size_t)(end - p);
        if (len) {
            char src[32];
            secrets[nsec] = fuzz_string(p, len);
            snprintf(src, sizeof(src), "/fuzz/%zu.token", nsec);
            log_set_secret(src, secrets[nsec]);
            nsec++;
        }
        p += len + 1;
    }
    char *out = NULL;
    size_t outlen = 0;
    FILE *f = open_memstream(&out, &outlen);
    log_setup(LOG_DEBUG, LOG_FMT_JSON, f);
    struct log_fields fl = {.tenant = msg, .delay_ms = LOG_NO_DELAY};
    log_emit(LOG_INFO, &fl, "%s", msg);
    fclose(f);
    log_setup(LOG_INFO, LOG_FMT_JSON, NULL);

    if (outlen == 0 || out[outlen - 1] != '\n' || memchr(out, '\n', outlen - 1))
        fuzz_fail("log", "not exactly one line");
    if (!valid_utf8((const unsigned char *)out, outlen))
        fuzz_fail("log", "the line is not valid UTF-8");
    cJSON *j = cJSON_ParseWithLength(out, outlen);
    const char *m = j ? cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(j, "msg")) : NULL;
    const char *t = j ? cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(j, "tenant")) : NULL;
    if (!m || !t)
        fuzz_fail("log", "the line is not a JSON object with msg and tenant");
    check_no_secret(m, secrets, nsec);
    check_no_secret(t, secrets, nsec);
    bool clean = valid_utf8((const unsigned char *)msg, strlen(msg));
    for (size_t i = 0; i < nsec && clean; i++)
        clean = valid_utf8((const unsigned char *)secrets[i], strlen(secrets[i]));
    if (clean) {
        char *want = reference(msg, secrets, nsec);
        if (strcmp(m, want) != 0 || strcmp(t, want) != 0)
            fuzz_fail("log", "the message does not round-trip");
        free(want);
    }
    cJSON_Delete(j);
    free(out);
    for (size_t i = 0; i < nsec; i++)
        free(secrets[i]);
    free(msg);
    log_clear_secrets();
    return 0;
}

FUZZ_ENTRY(fuzz_log)
