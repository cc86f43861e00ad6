/*
 * log.c - structured logging: JSON lines (the default, for log shippers),
 * text lines (for a terminal), or native journald entries with one journal
 * field per structured field, so `journalctl ERROR_CLASS=auth` works.
 * Each event is formatted into one buffer and written with a single call,
 * so lines from one process never interleave.
 */
#include "log.h"

#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <unistd.h>

#ifdef HAVE_LIBSYSTEMD
#include <systemd/sd-journal.h>
#endif

/*
 * The secrets to scrub, one slot per file they come from: the value in
 * force and the one before it (a line about a request sent just before a
 * rotation may still carry it).  Rotating a token replaces, never adds, so
 * the set stays as large as the configuration, with no fixed cap.
 */
struct secret_slot {
    char *source;
    char *current, *previous;
};

static enum log_level cur_level = LOG_INFO;
static enum log_format cur_format = LOG_FMT_JSON;
static FILE *cur_out;
static struct secret_slot *slots;
static size_t nslots;

static const char *const level_names[] = {"debug", "info", "warn", "error"};
static const char *const format_names[] = {"json", "text", "journal"};

void log_setup(enum log_level level, enum log_format format, FILE *out)
{
    cur_level = level;
    cur_format = format;
    cur_out = out;
}

enum log_level log_get_level(void)
{
    return cur_level;
}

int log_level_parse(const char *s, enum log_level *out)
{
    for (size_t i = 0; i < ARRAY_SIZE(level_names); i++)
        if (strcmp(s, level_names[i]) == 0) {
            *out = (enum log_level)i;
            return 0;
        }
    if (strcmp(s, "warning") == 0) {
        *out = LOG_WARN;
        return 0;
    }
    return -EINVAL;
}

int log_format_parse(const char *s, enum log_format *out)
{
    for (size_t i = 0; i < ARRAY_SIZE(format_names); i++)
        if (strcmp(s, format_names[i]) == 0) {
            *out = (enum log_format)i;
            return 0;
        }
    return -EINVAL;
}

const char *log_level_name(enum log_level level)
{
    return level_names[level];
}

const char *log_format_name(enum log_format format)
{
    return format_names[format];
}

static void free_secret(char *s)
{
    if (s) {
        explicit_bzero(s, strlen(s));
        free(s);
    }
}

void log_set_secret(const char *source, const char *secret)
{
    if (!source || !secret || !*secret)
        return;
    struct secret_slot *sl = NULL;
    for (size_t i = 0; i < nslots && !sl; i++)
        if (strcmp(slots[i].source, source) == 0)
            sl = &slots[i];
    if (!sl) {
        slots = xrealloc(slots, (nslots + 1) * sizeof(*slots));
        sl = &slots[nslots++];
        *sl = (struct secret_slot){.source = xstrdup(source)};
    }
    if (sl->current && strcmp(sl->current, secret) == 0)
        return;
    free_secret(sl->previous);
    sl->previous = sl->current;
    sl->current = xstrdup(secret);
}

void log_clear_secrets(void)
{
    for (size_t i = 0; i < nslots; i++) {
        free(slots[i].source);
        free_secret(slots[i].current);
        free_secret(slots[i].previous);
    }
    free(slots);
    slots = NULL;
    nslots = 0;
}

size_t log_secret_count(void)
{
    size_t n = 0;
    for (size_t i = 0; i < nslots; i++)
        n += (slots[i].current != NULL) + (slots[i].previous != NULL);
    return n;
}

#define REDACTED "[REDACTED]"

/* Length of the longest secret that s starts with, 0 if none. */
static size_t secret_at(const char *s)
{
    size_t best = 0;
    for (size_t i = 0; i < nslots; i++) {
        const char *cand[2] = {slots[i].current, slots[i].previous};
        for (int k = 0; k < 2; k++) {
            size_t n = cand[k] ? strlen(cand[k]) : 0;
            if (n > best && strncmp(s, cand[k], n) == 0)
                best = n;
        }
    }
    return best;
}

/* Start of a secret in piece[0..len) that ends in its last `tail` bytes,
 * or -1.  The earliest such start wins. */
static ptrdiff_t secret_ending(const char *piece, size_t len, size_t tail)
{
    ptrdiff_t first = -1;
    for (size_t i = 0; i < nslots; i++) {
        const char *cand[2] = {slots[i].current, slots[i].previous};
        for (int k = 0; k < 2; k++) {
            size_t n = cand[k] ? strlen(cand[k]) : 0;
            for (size_t end = len - tail + 1; n && end <= len; end++)
                if (end >= n && memcmp(piece + end - n, cand[k], n) == 0 &&
                    (first < 0 || (ptrdiff_t)(end - n) < first))
                    first = (ptrdiff_t)(end - n);
        }
    }
    return first;
}

/* Length of the well-formed UTF-8 character at s (RFC 3629), 0 if none. */
static size_t utf8_char(const unsigned char *s)
{
    unsigned c = s[0];
    size_t n;
    unsigned min;
    if (c < 0x80)
        return 1;
    if (c >= 0xc2 && c <= 0xdf)
        n = 2, min = 0x80;
    else if (c >= 0xe0 && c <= 0xef)
        n = 3, min = 0x800;
    else if (c >= 0xf0 && c <= 0xf4)
        n = 4, min = 0x10000;
    else
        return 0;
    unsigned cp = c & (0x3f >> (n - 1));
    for (size_t i = 1; i < n; i++) {
        if ((s[i] & 0xc0) != 0x80)
            return 0;
        cp = (cp << 6) | (s[i] & 0x3f);
    }
    if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
        return 0;
    return n;
}

/*
 * The text as it may be written: every registered secret replaced by
 * "[REDACTED]" and every byte that is not well-formed UTF-8 by U+FFFD.
 * One forward pass, so nothing is ever scanned twice (a secret inside the
 * marker itself cannot loop).  Secrets are matched on the raw bytes at
 * every position, longest first; since replacing bad bytes could itself
 * spell a secret, the text written since the last marker is checked again
 * after each character, so no stretch between two markers ever holds one.
 * Runs before any escaping, so a secret with a quote or backslash in it is
 * found as it was logged.
 */
static char *scrub(const char *in)
{
    struct buf b;
    buf_init(&b, 0);
    size_t piece = 0; /* where the text after the last marker starts in b */
    const char *p = in;
    while (*p) {
        size_t n = secret_at(p);
        if (n) {
            (void)!buf_puts(&b, REDACTED);
            piece = b.len;
            p += n;
            continue;
        }
        size_t c = utf8_char((const unsigned char *)p);
        for (size_t k = 1; k < c; k++)
            if (secret_at(p + k))
                c = 0; /* a secret starts inside: the lead byte goes alone */
        if (c)
            (void)!buf_append(&b, p, c);
        else
            (void)!buf_puts(&b, "\xEF\xBF\xBD");
        size_t added = c ? c : 3;
        p += c ? c : 1;
        ptrdiff_t at = secret_ending(b.data + piece, b.len - piece, added);
        if (at >= 0) {
            size_t cut = piece + (size_t)at;
            while (cut > piece && ((unsigned char)b.data[cut] & 0xc0) == 0x80)
                cut--; /* back to the start of that character */
            b.len = cut;
            (void)!buf_puts(&b, REDACTED);
            piece = b.len;
        }
    }
    return buf_steal(&b);
}

static void add_json_str(struct buf *b, const char *key, const char *val)
{
    if (!val)
        return;
    char *clean = scrub(val);
    (void)!buf_printf(b, ",\"%s\":\"", key);
    (void)!buf_json_escape(b, clean);
    (void)!buf_puts(b, "\"");
    free(clean);
}

static void add_text_str(struct buf *b, const char *key, const char *val)
{
    if (!val)
        return;
    char *clean = scrub(val);
    (void)!buf_printf(b, " %s=%s", key, clean);
    free(clean);
}

static void format_line(struct buf *b, enum log_level level, const struct log_fields *f,
                        const char *msg)
{
    char ts[TS_LEN];
    ts_format(clock_wall_ms(), ts);
    int json = cur_format == LOG_FMT_JSON;
    if (json) {
        (void)!buf_printf(b, "{\"ts\":\"%s\",\"level\":\"%s\",\"msg\":\"", ts, level_names[level]);
        (void)!buf_json_escape(b, msg);
        (void)!buf_puts(b, "\"");
    } else {
        (void)!buf_printf(b, "%s %-5s %s", ts, level_names[level], msg);
    }
    void (*str)(struct buf *, const char *, const char *) = json ? add_json_str : add_text_str;
    if (f) {
        str(b, "tenant", f->tenant);
        str(b, "resource", f->resource);
        str(b, "record_id", f->record_id);
        str(b, "trace_id", f->trace_id);
        str(b, "error_class", f->error_class);
        if (f->http_status)
            (void)!buf_printf(b, json ? ",\"http_status\":%d" : " http_status=%d", f->http_status);
        if (f->attempt)
            (void)!buf_printf(b, json ? ",\"attempt\":%d" : " attempt=%d", f->attempt);
        if (f->delay_ms >= 0 && (f->delay_ms || f->attempt))
            (void)!buf_printf(b, json ? ",\"delay_ms\":%lld" : " delay_ms=%lld",
                              (long long)f->delay_ms);
        for (size_t i = 0; i < f->nkv; i++) {
            const struct log_kv *kv = &f->kv[i];
            if (kv->type == LOG_KV_STR)
                str(b, kv->key, kv->s);
            else
                (void)!buf_printf(b, json ? ",\"%s\":%lld" : " %s=%lld", kv->key, (long long)kv->i);
        }
    }
    (void)!buf_puts(b, json ? "}\n" : "\n");
}

#ifdef HAVE_LIBSYSTEMD
static int journal_priority(enum log_level level)
{
    static const int prio[] = {LOG_DEBUG, LOG_INFO, LOG_WARNING, LOG_ERR};
    return prio[level];
}

static void journal_field(struct iovec *iov, size_t *n, char **owned, const char *key,
                          const char *val)
{
    if (!val)
        return;
    char *clean = scrub(val);
    char *s = xasprintf("%s=%s", key, clean);
    free(clean);
    owned[*n] = s;
    iov[*n].iov_base = s;
    iov[*n].iov_len = strlen(s);
    (*n)++;
}

/* Sends one entry with MESSAGE, PRIORITY and one field per structured field. */
static void journal_emit(enum log_level level, const struct log_fields *f, const char *msg)
{
    struct iovec iov[32];
    char *owned[32];
    size_t n = 0;
    char num[32];
    journal_field(iov, &n, owned, "MESSAGE", msg);
    snprintf(num, sizeof(num), "%d", journal_priority(level));
    journal_field(iov, &n, owned, "PRIORITY", num);
    journal_field(iov, &n, owned, "SYSLOG_IDENTIFIER", "vomo-sync");
    if (f) {
        journal_field(iov, &n, owned, "TENANT", f->tenant);
        journal_field(iov, &n, owned, "RESOURCE", f->resource);
        journal_field(iov, &n, owned, "RECORD_ID", f->record_id);
        journal_field(iov, &n, owned, "TRACE_ID", f->trace_id);
        journal_field(iov, &n, owned, "ERROR_CLASS", f->error_class);
        if (f->http_status) {
            snprintf(num, sizeof(num), "%d", f->http_status);
            journal_field(iov, &n, owned, "HTTP_STATUS", num);
        }
        if (f->attempt) {
            snprintf(num, sizeof(num), "%d", f->attempt);
            journal_field(iov, &n, owned, "ATTEMPT", num);
        }
        if (f->delay_ms > 0) {
            snprintf(num, sizeof(num), "%lld", (long long)f->delay_ms);
            journal_field(iov, &n, owned, "DELAY_MS", num);
        }
        for (size_t i = 0; i < f->nkv && n < ARRAY_SIZE(iov); i++) {
            char key[64];
            size_t k = 0;
            for (const char *p = f->kv[i].key; *p && k < sizeof(key) - 1; p++)
                key[k++] = (*p >= 'a' && *p <= 'z') ? (char)(*p - 'a' + 'A') : *p;
            key[k] = '\0';
            if (f->kv[i].type == LOG_KV_STR) {
                journal_field(iov, &n, owned, key, f->kv[i].s);
            } else {
                snprintf(num, sizeof(num), "%lld", (long long)f->kv[i].i);
                journal_field(iov, &n, owned, key, num);
            }
        }
    }
    sd_journal_sendv(iov, (int)n);
    for (size_t i = 0; i < n; i++)
        free(owned[i]);
}
#endif

struct boost {
    char tenant[65];
    int64_t until_ms;
};
static struct boost boosts[LOG_MAX_BOOSTS];
static size_t nboosts;

void log_tenant_debug(const char *tenant, int64_t until_ms)
{
    for (size_t i = 0; i < nboosts; i++)
        if (strcmp(boosts[i].tenant, tenant) == 0) {
            boosts[i].until_ms = until_ms;
            return;
        }
    if (nboosts < LOG_MAX_BOOSTS && strlen(tenant) < sizeof(boosts[0].tenant)) {
        snprintf(boosts[nboosts].tenant, sizeof(boosts[0].tenant), "%s", tenant);
        boosts[nboosts++].until_ms = until_ms;
    }
}

int log_tenant_debugging(const char *tenant, int64_t now_ms)
{
    for (size_t i = 0; i < nboosts; i++)
        if (strcmp(boosts[i].tenant, tenant) == 0)
            return now_ms < boosts[i].until_ms;
    return 0;
}

/* A debug line below the level still goes out when its tenant is boosted.
 * (0 is enum log_level's debug: <syslog.h> redefines LOG_DEBUG in this file.) */
static int boosted(enum log_level level, const struct log_fields *f)
{
    return nboosts > 0 && (int)level == 0 && f && f->tenant &&
           log_tenant_debugging(f->tenant, clock_wall_ms());
}

void log_emit(enum log_level level, const struct log_fields *f, const char *fmt, ...)
{
    if (level < cur_level && !boosted(level, f))
        return;
    va_list ap;
    va_start(ap, fmt);
    char *msg = xvasprintf(fmt, ap);
    va_end(ap);
#ifdef HAVE_LIBSYSTEMD
    if (cur_format == LOG_FMT_JOURNAL) {
        journal_emit(level, f, msg);
        free(msg);
        return;
    }
#endif
    struct buf b;
    buf_init(&b, 0);
    char *clean = scrub(msg);
    free(msg);
    format_line(&b, level, f, clean);
    free(clean);
    char *line = buf_steal(&b);
    FILE *out = cur_out ? cur_out : stderr;
    fputs(line, out);
    fflush(out);
    free(line);
}
