/*
 * rategate.h - the per-token gate for 429 / Retry-After and the
 * X-RateLimit-* headers.  A 429 pauses every request of that token until the
 * time Retry-After gives; X-RateLimit-Limit / -Remaining keep the token
 * inside its window's quota, counting the requests still in flight, so that
 * the last requests of a window are not sent into a 429.  Pure: the clock is
 * a parameter; `now` is monotonic (the gate measures durations), and only
 * an HTTP-date Retry-After is read against the wall clock (`wall_now`).
 */
#ifndef VOMO_RATEGATE_H
#define VOMO_RATEGATE_H

#include <stdbool.h>
#include <stdint.h>

#include "util.h"

#define RATEGATE_MAX_WAIT_MS (15 * 60 * 1000) /* absurd Retry-After values clamp here */
#define RATEGATE_DEFAULT_WAIT_MS 1000         /* 429 without a usable Retry-After */
#define RATEGATE_WINDOW_MS 1000               /* the quota's window, as VOMO counts it */
#define RATEGATE_MARGIN_MS 20                 /* after a window ends, before its next burst */
#define RATEGATE_STARTS_KEPT 64               /* start instants remembered, by sequence */
#define RATEGATE_SLACK_MAX_MS 250             /* most a window's start is taken to be uncertain */

struct rategate {
    int64_t blocked_until; /* no request before this instant (429) */
    int64_t seq;           /* requests started so far; the n-th start has sequence n */
    int64_t answered;      /* responses fed back so far (seq - answered are in flight) */
    int64_t started_at[RATEGATE_STARTS_KEPT]; /* start instant of sequence n, at n % KEPT */
    long limit;                               /* X-RateLimit-Limit, -1 until known */
    bool have_window;                         /* window_start is known */
    int64_t window_start; /* when the current window began, as far as we can tell */
    int64_t window_slack; /* how much later it may have begun (the round trip that told) */
    int64_t window_seq;   /* the first start counted in the current window */
    bool have_obs;        /* a response of the current window gave Remaining */
    int64_t obs_seq;      /* the newest such response's start ... */
    long obs_remaining;   /* ... and the Remaining it carried */
};

void rategate_init(struct rategate *g);
/* The earliest instant (>= now) a request of this token may start. */
int64_t rategate_next_start(const struct rategate *g, int64_t now);
/* A request starts now: returns its sequence number, which its response
 * passes back to rategate_on_response. */
int64_t rategate_on_start(struct rategate *g, int64_t now);
/* How many more requests the current window allows now, counting those in
 * flight; INT64_MAX when the headers never said. */
int64_t rategate_budget(const struct rategate *g, int64_t now);
/*
 * Parses a Retry-After value: delta seconds or an HTTP date (relative to
 * now).  0 and *wait_ms (never negative), or -EINVAL.
 */
int retry_after_parse(const char *value, int64_t now, int64_t *wait_ms) WUR;
/*
 * Feeds the response of the request started with sequence seq (0 when
 * unknown: taken as the newest).  For a 429 it blocks the token for
 * Retry-After (or the default; an HTTP date becomes a wait against
 * wall_now) from `now` and returns the wait chosen; *clamped tells
 * whether the value was absurd (negative, unparseable or beyond
 * RATEGATE_MAX_WAIT_MS) and was replaced.  limit/remaining are the
 * X-RateLimit-* values, -1 when absent: they set the window's budget.
 * Returns 0 when nothing is to be waited.
 */
int64_t rategate_on_response(struct rategate *g, int64_t now, int64_t wall_now, long status,
                             const char *retry_after, long limit, long remaining, int64_t seq,
                             bool *clamped);

#endif
