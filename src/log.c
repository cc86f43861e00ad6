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

#define LOG_MAX_SECRETS 64

static enum log_level cur_level = LOG_INFO;
static enum log_format cur_format = LOG_FMT_JSON;
static FILE *cur_out;
static char *secrets[LOG_MAX_SECRETS];
static size_t nsecrets;

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

void log_add_secret(const char *secret)
{
    if (!secret || strlen(secret) < 4 || nsecrets == LOG_MAX_SECRETS)
        return;
    for (size_t i = 0; i < nsecrets; i++)
        if (strcmp(secrets[i], secret) == 0)
            return;
    secrets[nsecrets++] = xstrdup(secret);
}

void log_clear_secrets(void)
{
    for (size_t i = 0; i < nsecrets; i++)
        free(secrets[i]);
    nsecrets = 0;
}

/* Replaces every registered secret in s (in place, growing as needed). */
static char *redact(char *s)
{
    for (size_t i = 0; i < nsecrets; i++) {
        char *hit;
        size_t slen = strlen(secrets[i]);
        while ((hit = strstr(s, secrets[i])) != NULL) {
            char *n = xasprintf("%.*s[REDACTED]%s", (int)(hit - s), s, hit + slen);
            free(s);
            s = n;
        }
    }
    return s;
}

static void add_json_str(struct buf *b, const char *key, const char *val)
{
    if (!val)
        return;
    (void)!buf_printf(b, ",\"%s\":\"", key);
    (void)!buf_json_escape(b, val);
    (void)!buf_puts(b, "\"");
}

static void add_text_str(struct buf *b, const char *key, const char *val)
{
    if (val)
        (void)!buf_printf(b, " %s=%s", key, val);
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
    char *s = redact(xasprintf("%s=%s", key, val));
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

void log_emit(enum log_level level, const struct log_fields *f, const char *fmt, ...)
{
    if (level < cur_level)
        return;
    va_list ap;
    va_start(ap, fmt);
    char *msg = xvasprintf(fmt, ap);
    va_end(ap);
#ifdef HAVE_LIBSYSTEMD
    if (cur_format == LOG_FMT_JOURNAL) {
        msg = redact(msg);
        journal_emit(level, f, msg);
        free(msg);
        return;
    }
#endif
    struct buf b;
    buf_init(&b, 0);
    format_line(&b, level, f, msg);
    free(msg);
    char *line = redact(buf_steal(&b));
    FILE *out = cur_out ? cur_out : stderr;
    fputs(line, out);
    fflush(out);
    free(line);
}
