/*
 * alertsink_policy.c - the pure half of the alert targets (alertsink.h):
 * the webhook's JSON document, its signature and Idempotency-Key, what an
 * answer means, how long to wait before a retry, when Alertmanager is sent
 * to next, the Alertmanager v2 body, and which queued message goes next.
 * No clock and no I/O here: every instant is a parameter, so the tests walk
 * the schedules through hours in microseconds.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "alertsink.h"
#include "rategate.h"
#include "sign.h"
#include "util.h"

/* "key":"escaped value" or "key":null for an empty or absent one. */
static int put_str_or_null(struct buf *b, const char *key, const char *v)
{
    int rc = buf_printf(b, "\"%s\":", key);
    if (!v || !*v)
        return rc | buf_puts(b, "null");
    rc |= buf_puts(b, "\"");
    rc |= buf_json_escape(b, v);
    return rc | buf_puts(b, "\"");
}

static int put_time(struct buf *b, const char *key, int64_t unix_s)
{
    if (unix_s <= 0)
        return buf_printf(b, "\"%s\":null", key);
    char ts[TS_LEN];
    ts_format(unix_s * 1000, ts);
    return buf_printf(b, "\"%s\":\"%s\"", key, ts);
}

char *alertsink_webhook_body(const struct alert_event *ev, const char *instance)
{
    struct buf b;
    buf_init(&b, 0);
    int rc = buf_puts(&b, "{\"source\":\"vomo-sync\",");
    rc |= put_str_or_null(&b, "instance", instance);
    rc |= buf_printf(&b, ",\"id\":%lld,", (long long)ev->id);
    rc |= put_str_or_null(&b, "alert", ev->name);
    rc |= buf_puts(&b, ",");
    rc |= put_str_or_null(&b, "state", ev->state);
    rc |= buf_puts(&b, ",");
    rc |= put_str_or_null(&b, "severity", ev->severity);
    rc |= buf_puts(&b, ",");
    rc |= put_str_or_null(&b, "tenant", ev->tenant);
    rc |= buf_puts(&b, ",");
    rc |= put_str_or_null(&b, "resource", ev->resource);
    rc |= buf_puts(&b, ",");
    rc |= put_str_or_null(&b, "summary", ev->summary);
    rc |= buf_puts(&b, ",");
    rc |= put_time(&b, "started_at", ev->started_at);
    rc |= buf_puts(&b, ",");
    rc |= put_time(&b, "resolved_at", ev->resolved_at);
    rc |= buf_puts(&b, "}");
    (void)rc; /* an uncapped buffer cannot refuse */
    return buf_steal(&b);
}

char *alertsink_idempotency_key(const struct alert_event *ev, const char *instance)
{
    return xasprintf("alert:%s:%lld:%s", instance && *instance ? instance : "vomo-sync",
                     (long long)ev->id, ev->state ? ev->state : "");
}

char *alertsink_signature(const char *secret, const char *body, size_t len)
{
    char sig[SHA256_HEX_LEN];
    sign_hmac_sha256_hex(secret, strlen(secret), body, len, sig);
    return xasprintf("sha256=%s", sig);
}

enum alertsink_verdict alertsink_verdict(int curl_code, long status)
{
    if (curl_code != 0 || status == 0)
        return ALERTSINK_RETRY;
    if (status >= 200 && status <= 299)
        return ALERTSINK_DONE;
    if (status == 408 || status == 429 || status >= 500)
        return ALERTSINK_RETRY;
    return ALERTSINK_GIVE_UP;
}

int64_t alertsink_retry_delay(const struct backoff_policy *p, int retry, uint64_t r,
                              const char *retry_after, int64_t wall_now)
{
    int64_t d = backoff_delay(p, retry, r);
    int64_t wait;
    if (retry_after && retry_after_parse(retry_after, wall_now, &wait) == 0 && wait > d)
        d = wait;
    return d < ALERTSINK_MAX_WAIT_MS ? d : ALERTSINK_MAX_WAIT_MS;
}

int64_t alertsink_am_next(bool ok, int failures, int64_t now, int64_t resend_ms,
                          const struct backoff_policy *p, uint64_t r, const char *retry_after,
                          int64_t wall_now)
{
    if (ok)
        return now + resend_ms;
    int64_t d = alertsink_retry_delay(p, failures, r, retry_after, wall_now);
    return now + (d < resend_ms ? d : resend_ms);
}

/* ,"name":"value" into a labels object; nothing for an empty value, which
 * Prometheus and Alertmanager take as an absent label anyway. */
static int put_label(struct buf *b, bool *first, const char *name, const char *v)
{
    if (!v || !*v)
        return 0;
    int rc = buf_printf(b, "%s\"%s\":\"", *first ? "" : ",", name);
    *first = false;
    rc |= buf_json_escape(b, v);
    return rc | buf_puts(b, "\"");
}

static int put_am_alert(struct buf *b, const struct alertsink_am_alert *a, const char *instance,
                        int64_t wall_now_ms, int64_t ends_ahead_ms)
{
    bool first = true;
    int rc = buf_puts(b, "{\"labels\":{");
    rc |= put_label(b, &first, "alertname", a->name);
    rc |= put_label(b, &first, "severity", a->severity);
    rc |= put_label(b, &first, "instance", instance && *instance ? instance : "vomo-sync");
    rc |= put_label(b, &first, "tenant", a->tenant);
    rc |= put_label(b, &first, "resource", a->resource);
    rc |= buf_puts(b, "},\"annotations\":{\"summary\":\"");
    rc |= buf_json_escape(b, a->summary ? a->summary : "");
    char starts[TS_LEN], ends[TS_LEN];
    ts_format(a->started_at * 1000, starts);
    ts_format(a->resolved_at > 0 ? a->resolved_at * 1000 : wall_now_ms + ends_ahead_ms, ends);
    rc |= buf_printf(b, "\"},\"startsAt\":\"%s\",\"endsAt\":\"%s\"}", starts, ends);
    return rc;
}

char *alertsink_am_body(const struct alertsink_am_alert *a, size_t n, const char *instance,
                        int64_t wall_now_ms, int64_t ends_ahead_ms)
{
    struct buf b;
    buf_init(&b, 0);
    int rc = buf_puts(&b, "[");
    for (size_t i = 0; i < n; i++) {
        if (i)
            rc |= buf_puts(&b, ",");
        rc |= put_am_alert(&b, &a[i], instance, wall_now_ms, ends_ahead_ms);
    }
    rc |= buf_puts(&b, "]");
    (void)rc;
    return buf_steal(&b);
}

static bool earlier_of_episode(const struct alertsink_msg *q, size_t i)
{
    for (size_t j = 0; j < i; j++)
        if (q[j].episode == q[i].episode)
            return true;
    return false;
}

long alertsink_pick(const struct alertsink_msg *q, size_t n, int64_t now, int64_t *wake)
{
    long pick = -1;
    *wake = INT64_MAX;
    for (size_t i = 0; i < n; i++) {
        if (q[i].in_flight || earlier_of_episode(q, i))
            continue;
        if (q[i].next_at <= now) {
            if (pick < 0)
                pick = (long)i;
        } else if (q[i].next_at < *wake) {
            *wake = q[i].next_at;
        }
    }
    return pick;
}

void alertsink_instance_name(const char *host, const char *config_path,
                             char out[ALERTSINK_INSTANCE_MAX])
{
    const char *h = host && *host ? host : "vomo-sync";
    const char *base = config_path ? strrchr(config_path, '/') : NULL;
    base = base ? base + 1 : config_path;
    size_t n = base ? strlen(base) : 0;
    if (n > 4 && strcmp(base + n - 4, ".ini") == 0 && strcmp(base, "vomo-sync.ini") != 0)
        snprintf(out, ALERTSINK_INSTANCE_MAX, "%s:%.*s", h, (int)(n - 4), base);
    else
        snprintf(out, ALERTSINK_INSTANCE_MAX, "%s", h);
}
