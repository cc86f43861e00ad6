/*
 * config_units.c - the value syntaxes of the configuration file that other
 * code may also want: durations ("250ms", "30s", "15m", "6h", "2d"), sizes
 * ("512KiB", "8MiB", "1GiB"), resource names, and the URL rule (TLS always,
 * plain http only to a loopback host so tests can talk to a local fake).
 *
 * A value is one whole number written in decimal, directly followed by its
 * unit (no space in between: "5 s" is rejected, so a typo cannot silently
 * change the meaning); white space around the value is allowed.  Negative
 * numbers, fractions, signs and anything that overflows 64 bits in
 * milliseconds or bytes are rejected.
 */
#include "config.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

struct unit {
    const char *name;
    int64_t factor;
};

static const struct unit duration_units[] = {
    {"ms", 1}, {"s", 1000}, {"m", 60 * 1000}, {"h", 3600 * 1000}, {"d", 86400 * 1000},
};

static const struct unit size_units[] = {
    {"B", 1},
    {"KiB", 1024},
    {"MiB", 1024 * 1024},
    {"GiB", 1024 * 1024 * 1024},
};

/*
 * Parses "<digits><unit>" with optional surrounding white space; a missing
 * unit means `bare`.  -EINVAL for bad syntax, -ERANGE for overflow.
 */
static int parse_with_units(const char *s, const struct unit *units, size_t nunits, int64_t bare,
                            int64_t *out)
{
    if (!s)
        return -EINVAL;
    while (isspace((unsigned char)*s))
        s++;
    if (!isdigit((unsigned char)*s))
        return -EINVAL;
    int64_t v = 0;
    int overflow = 0;
    for (; isdigit((unsigned char)*s); s++) {
        int d = *s - '0';
        if (v > (INT64_MAX - d) / 10)
            overflow = 1;
        else
            v = v * 10 + d;
    }
    const char *unit = s;
    while (*s && !isspace((unsigned char)*s))
        s++;
    size_t ulen = (size_t)(s - unit);
    while (isspace((unsigned char)*s))
        s++;
    if (*s)
        return -EINVAL;
    int64_t factor = 0;
    if (ulen == 0)
        factor = bare;
    for (size_t i = 0; i < nunits && !factor; i++)
        if (strlen(units[i].name) == ulen && memcmp(units[i].name, unit, ulen) == 0)
            factor = units[i].factor;
    if (!factor)
        return -EINVAL;
    if (overflow || v > INT64_MAX / factor)
        return -ERANGE;
    *out = v * factor;
    return 0;
}

int cfg_parse_duration(const char *s, int64_t *ms)
{
    return parse_with_units(s, duration_units, ARRAY_SIZE(duration_units), 1000, ms);
}

int cfg_parse_size(const char *s, int64_t *bytes)
{
    return parse_with_units(s, size_units, ARRAY_SIZE(size_units), 1, bytes);
}

/* Writes v with the largest unit dividing it exactly; `bare` names the unit
 * a bare number means, which is then printed without a unit. */
static void format_with_units(int64_t v, const struct unit *units, size_t nunits, const char *bare,
                              char out[CFG_UNIT_LEN])
{
    size_t best = 0;
    for (size_t i = 0; i < nunits; i++)
        if (v != 0 && v % units[i].factor == 0)
            best = i;
    if (v == 0) {
        snprintf(out, CFG_UNIT_LEN, "0");
        return;
    }
    const char *name = strcmp(units[best].name, bare) == 0 ? "" : units[best].name;
    snprintf(out, CFG_UNIT_LEN, "%lld%s", (long long)(v / units[best].factor), name);
}

void cfg_format_duration(int64_t ms, char out[CFG_UNIT_LEN])
{
    format_with_units(ms, duration_units, ARRAY_SIZE(duration_units), "", out);
}

void cfg_format_size(int64_t bytes, char out[CFG_UNIT_LEN])
{
    format_with_units(bytes, size_units, ARRAY_SIZE(size_units), "B", out);
}

static const char *const resource_names[RES_COUNT] = {"users", "groups", "projects"};

const char *resource_name(enum resource r)
{
    return (unsigned)r < RES_COUNT ? resource_names[r] : "unknown";
}

int resource_parse(const char *s, enum resource *out)
{
    for (int r = 0; r < RES_COUNT; r++)
        if (s && strcmp(s, resource_names[r]) == 0) {
            *out = (enum resource)r;
            return 0;
        }
    return -EINVAL;
}

/* True for 127.0.0.0/8, localhost and [::1] (host as written in the URL). */
static int host_is_loopback(const char *host, size_t len)
{
    char h[64];
    if (len == 0 || len >= sizeof(h))
        return 0;
    memcpy(h, host, len);
    h[len] = '\0';
    if (strcasecmp(h, "localhost") == 0 || strcmp(h, "[::1]") == 0)
        return 1;
    struct in_addr a;
    if (inet_pton(AF_INET, h, &a) == 1)
        return (ntohl(a.s_addr) >> 24) == 127;
    return 0;
}

/* Splits the authority of url (after the scheme) into host and port and
 * checks both; returns NULL or what is wrong. */
static const char *check_authority(const char *auth, const char **host, size_t *hostlen)
{
    size_t len = strcspn(auth, "/?#");
    const char *end = auth + len;
    if (memchr(auth, '@', len))
        return "must not contain user name or password";
    const char *port = NULL;
    if (*auth == '[') {
        const char *rb = memchr(auth, ']', len);
        if (!rb)
            return "has an unterminated [IPv6] host";
        *hostlen = (size_t)(rb - auth) + 1;
        if (rb + 1 < end && rb[1] != ':')
            return "has garbage after the [IPv6] host";
        port = rb + 1 < end ? rb + 2 : NULL;
    } else {
        const char *colon = memchr(auth, ':', len);
        *hostlen = colon ? (size_t)(colon - auth) : len;
        port = colon ? colon + 1 : NULL;
    }
    *host = auth;
    if (*hostlen == 0)
        return "has no host";
    if (port) {
        long p = 0;
        if (port == end)
            return "has an empty port";
        for (const char *c = port; c < end; c++) {
            if (!isdigit((unsigned char)*c) || (p = p * 10 + (*c - '0')) > 65535)
                return "has an invalid port (accepted: 1..65535)";
        }
        if (p == 0)
            return "has an invalid port (accepted: 1..65535)";
    }
    return NULL;
}

int cfg_check_url(const char *url, const char **why)
{
    const char *auth;
    int plain = 0;
    for (const char *c = url; *c; c++)
        if (isspace((unsigned char)*c) || iscntrl((unsigned char)*c)) {
            *why = "must not contain white space or control characters";
            return -EINVAL;
        }
    if (strncasecmp(url, "https://", 8) == 0) {
        auth = url + 8;
    } else if (strncasecmp(url, "http://", 7) == 0) {
        auth = url + 7;
        plain = 1;
    } else {
        *why = "must start with https:// (accepted: https://HOST[:PORT][/PATH])";
        return -EINVAL;
    }
    const char *host;
    size_t hostlen;
    const char *bad = check_authority(auth, &host, &hostlen);
    if (bad) {
        *why = bad;
        return -EINVAL;
    }
    if (plain && !host_is_loopback(host, hostlen)) {
        *why = "must use https://: plain http:// is accepted only for a loopback host "
               "(127.0.0.0/8, localhost, [::1]); TLS verification is never turned off";
        return -EINVAL;
    }
    return 0;
}
