/*
 * rategate.h - the per-token gate for 429 / Retry-After and the
 * X-RateLimit-* headers.  A 429 pauses every request of that token until the
 * time Retry-After gives; a low X-RateLimit-Remaining spaces requests out
 * before a 429 comes.  Pure: the clock is a parameter.
 */
#ifndef VOMO_RATEGATE_H
#define VOMO_RATEGATE_H

#include <stdbool.h>
#include <stdint.h>

#include "util.h"

#define RATEGATE_MAX_WAIT_MS (15 * 60 * 1000) /* absurd Retry-After values clamp here */
#define RATEGATE_DEFAULT_WAIT_MS 1000         /* 429 without a usable Retry-After */

struct rategate {
    int64_t blocked_until; /* no request before this instant */
    int64_t pace_ms;       /* extra spacing while the remaining quota is low */
    int64_t last_start;    /* when the last request started */
};

void rategate_init(struct rategate *g);
/* The earliest instant (>= now) a request of this token may start. */
int64_t rategate_next_start(const struct rategate *g, int64_t now);
void rategate_on_start(struct rategate *g, int64_t now);
/*
 * Parses a Retry-After value: delta seconds or an HTTP date (relative to
 * now).  0 and *wait_ms (never negative), or -EINVAL.
 */
int retry_after_parse(const char *value, int64_t now, int64_t *wait_ms) WUR;
/*
 * Feeds a response.  For a 429 it blocks the token for Retry-After (or the
 * default) and returns the wait chosen; *clamped tells whether the value was
 * absurd (negative, unparseable or beyond RATEGATE_MAX_WAIT_MS) and was
 * replaced.  limit/remaining are the X-RateLimit-* values, -1 when absent:
 * they set the pacing.  Returns 0 when nothing is to be waited.
 */
int64_t rategate_on_response(struct rategate *g, int64_t now, long status, const char *retry_after,
                             long limit, long remaining, bool *clamped);

#endif
