/*
 * rategate.c - the per-token gate that keeps vomo-sync inside VOMO's rate
 * limit.  A 429 blocks every request of the token (not only the one that
 * got it) until the instant Retry-After names; X-RateLimit-Remaining, when
 * VOMO sends it, spaces requests out before a 429 comes.  Pure: the clock
 * is a parameter and nothing here sleeps.
 *
 * Rules:
 * - Retry-After is delta seconds or an HTTP date (relative to `now`; a
 *   date in the past means 0).  A missing, unparseable or negative value
 *   waits RATEGATE_DEFAULT_WAIT_MS, and a value beyond
 *   RATEGATE_MAX_WAIT_MS waits that long: both report *clamped so the
 *   caller can log the absurd value once.  "0" waits 0 and is not clamped.
 * - A block is only ever extended: a later 429 with a shorter Retry-After
 *   (or a success) never lets requests start earlier than an earlier 429
 *   asked.
 * - Pacing: the remaining quota is low when remaining <= 1 or remaining is
 *   at most 10% of the limit.  Then requests start at least
 *   1000 ms / max(remaining, 1) apart, capped at 1 s: the fewer requests
 *   are left in the window, the slower they go, and at worst one request a
 *   second, which is far below what a 429 would cost.  Once a response
 *   shows a healthy remaining quota the pace goes back to 0.  A response
 *   without the headers leaves the pace as it was.
 */
#include "rategate.h"

#include <errno.h>
#include <string.h>

#define RATEGATE_PACE_MAX_MS 1000
#define RETRY_AFTER_MAX_LEN 64

void rategate_init(struct rategate *g)
{
    g->blocked_until = 0;
    g->pace_ms = 0;
    g->last_start = 0;
}

int64_t rategate_next_start(const struct rategate *g, int64_t now)
{
    int64_t t = now;

    if (g->blocked_until > t)
        t = g->blocked_until;
    if (g->pace_ms > 0 && g->last_start + g->pace_ms > t)
        t = g->last_start + g->pace_ms;
    return t;
}

void rategate_on_start(struct rategate *g, int64_t now)
{
    g->last_start = now;
}

static bool is_space(char c)
{
    return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

/* Copies s without surrounding white space into out; false when too long. */
static bool trim_copy(const char *s, char out[RETRY_AFTER_MAX_LEN])
{
    size_t len;

    while (is_space(*s))
        s++;
    len = strlen(s);
    while (len > 0 && is_space(s[len - 1]))
        len--;
    if (len == 0 || len >= RETRY_AFTER_MAX_LEN)
        return false;
    memcpy(out, s, len);
    out[len] = '\0';
    return true;
}

/* Delta seconds: digits only.  More seconds than fit in milliseconds
 * become INT64_MAX, which the caller clamps like any absurd value. */
static int parse_delta_seconds(const char *s, int64_t *wait_ms)
{
    int64_t secs;

    for (const char *p = s; *p; p++) {
        if (*p < '0' || *p > '9')
            return -EINVAL;
    }
    if (parse_i64(s, &secs) < 0 || secs > INT64_MAX / 1000) {
        *wait_ms = INT64_MAX;
        return 0;
    }
    *wait_ms = secs * 1000;
    return 0;
}

int retry_after_parse(const char *value, int64_t now, int64_t *wait_ms)
{
    char v[RETRY_AFTER_MAX_LEN];
    int64_t at;

    if (!value || !trim_copy(value, v))
        return -EINVAL;
    if (v[0] >= '0' && v[0] <= '9')
        return parse_delta_seconds(v, wait_ms);
    if (ts_parse_http_date(v, &at) < 0)
        return -EINVAL;
    *wait_ms = at > now ? at - now : 0;
    return 0;
}

static void update_pace(struct rategate *g, long limit, long remaining)
{
    bool low;

    if (remaining < 0)
        return;
    low = remaining <= 1 || (limit > 0 && remaining * 10 <= limit);
    if (!low) {
        g->pace_ms = 0;
        return;
    }
    g->pace_ms = RATEGATE_PACE_MAX_MS / (remaining > 1 ? remaining : 1);
}

int64_t rategate_on_response(struct rategate *g, int64_t now, long status, const char *retry_after,
                             long limit, long remaining, bool *clamped)
{
    int64_t wait;
    bool was_clamped = false;

    update_pace(g, limit, remaining);
    if (clamped)
        *clamped = false;
    if (status != 429)
        return 0;
    if (retry_after_parse(retry_after, now, &wait) < 0) {
        wait = RATEGATE_DEFAULT_WAIT_MS;
        was_clamped = true;
    } else if (wait > RATEGATE_MAX_WAIT_MS) {
        wait = RATEGATE_MAX_WAIT_MS;
        was_clamped = true;
    }
    if (clamped)
        *clamped = was_clamped;
    if (now + wait > g->blocked_until)
        g->blocked_until = now + wait;
    return g->blocked_until - now;
}
