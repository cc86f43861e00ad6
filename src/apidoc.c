/*
 * apidoc.c - the read API's pure half (see apidoc.h): parsing the path and
 * the query, the freshness of an answer, and the JSON bodies in VOMO's
 * envelope.  Everything that depends on time takes it as an argument.
 */
#include "apidoc.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <time.h>

static const char *const upstream_names[] = {"ok", "breaker_open", "auth_failed", "unreachable"};

const char *apidoc_upstream_name(enum api_upstream u)
{
    return (unsigned)u < ARRAY_SIZE(upstream_names) ? upstream_names[u] : "unknown";
}

/* Tenant names and record ids alike: letters, digits, '_' and '-'. */
static bool name_char(char c)
{
    return isalnum((unsigned char)c) || c == '_' || c == '-';
}

/* Copies the next '/'-separated part of *p into out[size]: its length, or
 * -1 when it does not fit or holds a character names never have. */
static int next_part(const char **p, char *out, size_t size)
{
    size_t n = 0;
    while (**p && **p != '/') {
        if (n + 1 >= size || !name_char(**p))
            return -1;
        out[n++] = *(*p)++;
    }
    out[n] = '\0';
    return (int)n;
}

int apidoc_parse_path(const char *rest, struct api_path *out, const char **why)
{
    memset(out, 0, sizeof(*out));
    const char *p = rest;
    *why = "expected /api/v1/TENANT/RESOURCE or /api/v1/TENANT/RESOURCE/ID";
    int n = next_part(&p, out->tenant, sizeof(out->tenant));
    if (n < 0) {
        *why = "no such tenant";
        return -ENOENT;
    }
    if (n == 0 || *p != '/')
        return -EINVAL;
    p++;
    n = next_part(&p, out->resource, sizeof(out->resource));
    if (n < 0) {
        *why = "no such resource; accepted: users, groups, projects";
        return -ENOENT;
    }
    if (n == 0 || (*p && p[1] == '\0'))
        return -EINVAL; /* empty resource, or a trailing slash */
    if (!*p)
        return 0;
    p++;
    n = next_part(&p, out->id, sizeof(out->id));
    if (n <= 0 || *p) {
        *why = n < 0 || n == 0 ? "a record id is 1 to 127 of A-Z a-z 0-9 _ -"
                               : "expected /api/v1/TENANT/RESOURCE/ID";
        return -EINVAL;
    }
    out->has_id = true;
    return 0;
}

void apidoc_query_init(struct api_query *q)
{
    memset(q, 0, sizeof(*q));
    q->page = 1;
}

static int parse_updated_after(struct api_query *q, const char *value, const char **why)
{
    char copy[64];
    if (!value || !*value || strlen(value) >= sizeof(copy)) {
        *why = "updated_after must be an ISO 8601 time, e.g. 2026-11-28T08:43:07Z";
        return -EINVAL;
    }
    snprintf(copy, sizeof(copy), "%s", value);
    for (size_t i = 19; copy[i]; i++) /* an unencoded '+' arrives as a space */
        if (copy[i] == ' ')
            copy[i] = '+';
    if (ts_normalise(copy, q->updated_after) < 0) {
        *why = "updated_after must be an ISO 8601 time, e.g. 2026-11-28T08:43:07Z";
        return -EINVAL;
    }
    return 0;
}

int apidoc_query_arg(struct api_query *q, bool list, const char *key, const char *value,
                     const char **why)
{
    int64_t n;
    if (strcmp(key, "live") == 0) {
        if (value && (strcmp(value, "1") == 0 || strcmp(value, "true") == 0))
            q->live = true;
        else if (value && (strcmp(value, "0") == 0 || strcmp(value, "false") == 0))
            q->live = false;
        else
            return *why = "live must be 1 or 0", -EINVAL;
        return 0;
    }
    if (!list && (strcmp(key, "page") == 0 || strcmp(key, "updated_after") == 0))
        return *why = "page and updated_after apply to lists, not to one record", -EINVAL;
    if (strcmp(key, "page") == 0) {
        if (!value || parse_i64(value, &n) < 0 || n < 1 || n > APIDOC_MAX_PAGE)
            return *why = "page must be a whole number from 1", -EINVAL;
        q->page = n;
        return 0;
    }
    if (strcmp(key, "updated_after") == 0)
        return parse_updated_after(q, value, why);
    *why = list ? "unknown query parameter; accepted: updated_after, page, live"
                : "unknown query parameter; accepted: live";
    return -EINVAL;
}

/* Whether a Cache-Control value holds the no-cache directive (a token of
 * the comma-separated list, case-insensitive, with or without a value). */
static bool has_no_cache(const char *cc)
{
    const char *p = cc;
    while (*p) {
        while (*p == ' ' || *p == '\t' || *p == ',')
            p++;
        size_t n = strcspn(p, ",= \t");
        if (n == 8 && strncasecmp(p, "no-cache", 8) == 0)
            return true;
        p += strcspn(p, ",");
    }
    return false;
}

bool apidoc_wants_live(const struct api_query *q, const char *cache_control)
{
    return q->live || (cache_control && has_no_cache(cache_control));
}

/* The mirror's side: how old its last complete scan is. */
static void fresh_mirror(const struct api_fresh_in *in, enum api_source src, struct api_fresh *o)
{
    bool never = in->last_complete < 0;
    int64_t age = never ? 0 : in->now - in->last_complete;
    if (age < 0)
        age = 0; /* the clock stepped back: not older than now */
    o->as_of = never ? -1 : in->last_complete;
    o->age_s = never ? -1 : age / 1000;
    o->stale = never || age > 2 * in->poll_interval_ms || src == API_SRC_FALLBACK;
    o->refuse = never || age > in->max_stale_ms;
    int64_t ra = (in->poll_interval_ms + 999) / 1000;
    o->retry_after_s = (int)(ra < 1 ? 1 : ra > 300 ? 300 : ra);
}

void apidoc_fresh(const struct api_fresh_in *in, enum api_source src, int fwd_status,
                  struct api_fresh *o)
{
    memset(o, 0, sizeof(*o));
    const char *cs = "vomo-sync; hit";
    switch (src) {
    case API_SRC_LIVE:
    case API_SRC_PASSED:
        o->as_of = in->now;
        o->age_s = 0;
        snprintf(o->cache_status, sizeof(o->cache_status), "vomo-sync; fwd=miss; fwd-status=%d",
                 fwd_status);
        return;
    case API_SRC_FALLBACK:
        cs = "vomo-sync; hit; detail=upstream-down";
        break;
    case API_SRC_SCANNED:
        cs = "vomo-sync; fwd=miss; fwd-status=200; detail=scan";
        break;
    case API_SRC_PENDING:
        cs = "vomo-sync; hit; detail=scan-pending";
        break;
    case API_SRC_REFUSED:
        cs = "vomo-sync; detail=upstream-refused";
        break;
    case API_SRC_MIRROR:
        break;
    }
    fresh_mirror(in, src, o);
    snprintf(o->cache_status, sizeof(o->cache_status), "%s", cs);
}

enum api_live apidoc_live_outcome(long status, bool body_ok)
{
    if (status == 200 && body_ok)
        return API_LIVE_FRESH;
    if (status == 401 || status == 403 || status == 404)
        return API_LIVE_PASS;
    return API_LIVE_FALLBACK; /* 5xx, 429, timeouts, connections, bad bodies */
}

const char *apidoc_cache_label(const char *cache_status)
{
    if (!cache_status)
        return "none";
    if (strstr(cache_status, "fwd="))
        return "fwd";
    if (strstr(cache_status, "detail=upstream-down"))
        return "stale";
    if (strstr(cache_status, "detail=upstream-refused"))
        return "refused";
    return "hit";
}

void apidoc_http_date(int64_t ms, char out[APIDOC_HTTP_DATE_LEN])
{
    static const char *const days[] = {"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"};
    static const char *const months[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                         "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
    /* Years past 9999 (never a stored time: ts_parse refuses them) clamp. */
    int64_t max_ms = 253402300799000LL; /* 9999-12-31T23:59:59Z */
    time_t t = (time_t)((ms < 0 ? 0 : ms > max_ms ? max_ms : ms) / 1000);
    struct tm tm;
    gmtime_r(&t, &tm);
    char tmp[64]; /* room for any int the compiler imagines; the real text is 29 */
    snprintf(tmp, sizeof(tmp), "%s, %02d %s %04d %02d:%02d:%02d GMT", days[tm.tm_wday % 7],
             tm.tm_mday, months[tm.tm_mon % 12], tm.tm_year + 1900, tm.tm_hour, tm.tm_min,
             tm.tm_sec);
    snprintf(out, APIDOC_HTTP_DATE_LEN, "%.29s", tmp);
}

bool apidoc_host_ok(const char *host)
{
    size_t n = 0;
    for (const char *p = host; *p; p++, n++)
        if (!isalnum((unsigned char)*p) && !strchr(".-:[]", *p))
            return false;
    return n > 0 && n <= 255;
}

/* "as_of": ..., "stale": ..., "upstream": ... (no braces). */
static int meta_fields(struct buf *b, const struct api_fresh *f, enum api_upstream up)
{
    char ts[TS_LEN];
    int rc;
    if (f->as_of >= 0) {
        ts_format(f->as_of, ts);
        rc = buf_printf(b, "\"as_of\": \"%s\", ", ts);
    } else {
        rc = buf_puts(b, "\"as_of\": null, ");
    }
    if (rc == 0)
        rc = buf_printf(b, "\"stale\": %s, \"upstream\": \"%s\"", f->stale ? "true" : "false",
                        apidoc_upstream_name(up));
    return rc;
}

int apidoc_record(struct buf *b, const char *payload, const struct api_fresh *f,
                  enum api_upstream up)
{
    int rc = buf_puts(b, "{\"data\": ");
    if (rc == 0)
        rc = buf_puts(b, payload);
    if (rc == 0)
        rc = buf_puts(b, ", \"meta\": {");
    if (rc == 0)
        rc = meta_fields(b, f, up);
    if (rc == 0)
        rc = buf_puts(b, "}}\n");
    return rc;
}

int apidoc_gone(struct buf *b, const char *id, const char *deleted_at, const struct api_fresh *f,
                enum api_upstream up)
{
    int rc = buf_puts(b, "{\"error\": \"the record was deleted in VOMO\", \"id\": \"");
    if (rc == 0)
        rc = buf_json_escape(b, id);
    if (rc == 0)
        rc = buf_printf(b, "\", \"deleted_at\": \"%s\", \"meta\": {", deleted_at);
    if (rc == 0)
        rc = meta_fields(b, f, up);
    if (rc == 0)
        rc = buf_puts(b, "}}\n");
    return rc;
}

int apidoc_error(struct buf *b, const char *msg, int upstream_status, const struct api_fresh *f,
                 enum api_upstream up)
{
    int rc = buf_puts(b, "{\"error\": \"");
    if (rc == 0)
        rc = buf_json_escape(b, msg);
    if (rc == 0)
        rc = buf_puts(b, "\", ");
    if (rc == 0 && upstream_status)
        rc = buf_printf(b, "\"upstream_status\": %d, ", upstream_status);
    if (rc == 0)
        rc = buf_puts(b, "\"meta\": {");
    if (rc == 0)
        rc = meta_fields(b, f, up);
    if (rc == 0)
        rc = buf_puts(b, "}}\n");
    return rc;
}

int apidoc_page_open(struct buf *b)
{
    return buf_puts(b, "{\"data\": [");
}

int apidoc_page_item(struct buf *b, const char *payload, size_t index)
{
    int rc = index ? buf_puts(b, ", ") : 0;
    return rc == 0 ? buf_puts(b, payload) : rc;
}

int64_t apidoc_last_page(int64_t total)
{
    return total <= 0 ? 1 : (total + APIDOC_PER_PAGE - 1) / APIDOC_PER_PAGE;
}

/* Percent-encodes everything but RFC 3986's unreserved characters. */
static int url_encode(struct buf *b, const char *s)
{
    int rc = 0;
    for (const unsigned char *p = (const unsigned char *)s; *p && rc == 0; p++)
        rc = isalnum(*p) || strchr("-._~", *p) ? buf_append(b, p, 1) : buf_printf(b, "%%%02X", *p);
    return rc;
}

/* "name": "PATH?page=N[&updated_after=...]", or null when page < 1. */
static int link(struct buf *b, const char *name, const struct api_page *p, int64_t page)
{
    if (page < 1)
        return buf_printf(b, "\"%s\": null", name);
    int rc = buf_printf(b, "\"%s\": \"", name);
    if (rc == 0)
        rc = buf_json_escape(b, p->path);
    if (rc == 0)
        rc = buf_printf(b, "?page=%lld", (long long)page);
    if (rc == 0 && p->updated_after[0]) {
        rc = buf_puts(b, "&updated_after=");
        if (rc == 0)
            rc = url_encode(b, p->updated_after);
    }
    return rc == 0 ? buf_puts(b, "\"") : rc;
}

static int page_meta(struct buf *b, const struct api_page *p)
{
    int64_t last = apidoc_last_page(p->total);
    int64_t from = (p->page - 1) * APIDOC_PER_PAGE + 1;
    int rc = buf_printf(b, "\"current_page\": %lld, ", (long long)p->page);
    if (rc == 0 && p->count)
        rc = buf_printf(b, "\"from\": %lld, \"to\": %lld, ", (long long)from,
                        (long long)(from + (int64_t)p->count - 1));
    else if (rc == 0)
        rc = buf_puts(b, "\"from\": null, \"to\": null, ");
    if (rc == 0)
        rc = buf_printf(b, "\"last_page\": %lld, \"path\": \"", (long long)last);
    if (rc == 0)
        rc = buf_json_escape(b, p->path);
    if (rc == 0)
        rc = buf_printf(b, "\", \"per_page\": %d, \"total\": %lld, ", APIDOC_PER_PAGE,
                        (long long)p->total);
    if (rc == 0 && p->live)
        rc = buf_printf(b, "\"live\": \"%s\", ", p->live);
    return rc;
}

int apidoc_page_close(struct buf *b, const struct api_page *p, const struct api_fresh *f,
                      enum api_upstream up)
{
    int64_t last = apidoc_last_page(p->total);
    int rc = buf_puts(b, "], \"links\": {");
    if (rc == 0)
        rc = link(b, "first", p, 1);
    if (rc == 0)
        rc = buf_puts(b, ", ");
    if (rc == 0)
        rc = link(b, "last", p, last);
    if (rc == 0)
        rc = buf_puts(b, ", ");
    if (rc == 0)
        rc = link(b, "prev", p, p->page - 1);
    if (rc == 0)
        rc = buf_puts(b, ", ");
    if (rc == 0)
        rc = link(b, "next", p, p->page < last ? p->page + 1 : 0);
    if (rc == 0)
        rc = buf_puts(b, "}, \"meta\": {");
    if (rc == 0)
        rc = page_meta(b, p);
    if (rc == 0)
        rc = meta_fields(b, f, up);
    if (rc == 0)
        rc = buf_puts(b, "}}\n");
    return rc;
}
