/*
 * log.h - one line per event, as JSON, text, or native journald entries.
 *
 * Every event has a level, a message, and optional structured fields
 * (tenant, resource, record id, trace id, error class, HTTP status, attempt,
 * delay) plus free key/value pairs.  Secrets registered with
 * log_set_secret() are replaced by "[REDACTED]" in every value before it is
 * escaped, and bytes that are not UTF-8 by U+FFFD, so every JSON line
 * parses; a last line of defence: code must not pass secrets to the log in
 * the first place.
 */
#ifndef VOMO_LOG_H
#define VOMO_LOG_H

#include <stdint.h>
#include <stdio.h>

#include "util.h"

enum log_level { LOG_DEBUG, LOG_INFO, LOG_WARN, LOG_ERROR };
enum log_format { LOG_FMT_JSON, LOG_FMT_TEXT, LOG_FMT_JOURNAL };

enum log_kv_type { LOG_KV_STR, LOG_KV_INT };
struct log_kv {
    const char *key;
    enum log_kv_type type;
    const char *s;
    int64_t i;
};
#define LOG_STR(k, v) ((struct log_kv){.key = (k), .type = LOG_KV_STR, .s = (v)})
#define LOG_INT(k, v) ((struct log_kv){.key = (k), .type = LOG_KV_INT, .i = (int64_t)(v)})

/* Fields left NULL / 0 are omitted.  http_status 0 = none, attempt 0 = none,
 * delay_ms < 0 = none (use LOG_NO_DELAY). */
struct log_fields {
    const char *tenant;
    const char *resource;
    const char *record_id;
    const char *trace_id;
    const char *error_class;
    int http_status;
    int attempt;
    int64_t delay_ms;
    const struct log_kv *kv;
    size_t nkv;
};
#define LOG_NO_DELAY (-1)

/* Sets level, format and destination stream (NULL = stderr). */
void log_setup(enum log_level level, enum log_format format, FILE *out);
enum log_level log_get_level(void);
/* Parses "debug|info|warn|error" / "json|text|journal": 0 or -EINVAL. */
int log_level_parse(const char *s, enum log_level *out) WUR;
int log_format_parse(const char *s, enum log_format *out) WUR;
const char *log_level_name(enum log_level level);
const char *log_format_name(enum log_format format);

/*
 * Registers the secret read from `source` (its file; both copied) to be
 * redacted from every later line, whatever its length.  A new value from
 * the same source replaces the one in force, which is still redacted as
 * the previous one until the next change; older values are forgotten, so
 * token rotations do not grow the set.
 */
void log_set_secret(const char *source, const char *secret);
void log_clear_secrets(void);
/* How many values are redacted now (in force and previous ones). */
size_t log_secret_count(void);

/*
 * Lets the debug lines of one tenant (those whose fields name it) through
 * until until_ms (wall clock), whatever the level: the error budget's
 * heightened monitoring.  until_ms <= now ends it.  At most LOG_MAX_BOOSTS
 * tenants at once; more are ignored.
 */
#define LOG_MAX_BOOSTS 64
void log_tenant_debug(const char *tenant, int64_t until_ms);
/* Whether the tenant's debug lines are let through at now. */
int log_tenant_debugging(const char *tenant, int64_t now_ms);

void log_emit(enum log_level level, const struct log_fields *f, const char *fmt, ...)
    PRINTF_LIKE(3, 4);

#define log_debug(...) log_emit(LOG_DEBUG, NULL, __VA_ARGS__)
#define log_info(...) log_emit(LOG_INFO, NULL, __VA_ARGS__)
#define log_warn(...) log_emit(LOG_WARN, NULL, __VA_ARGS__)
#define log_error(...) log_emit(LOG_ERROR, NULL, __VA_ARGS__)

#endif
