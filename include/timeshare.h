/*
 * timeshare.h - how much of each second one kind of work may take of the
 * event loop.  The read API answers from the mirror on the loop itself (a
 * page of a large mirror costs milliseconds of SQLite), so a client that
 * asks as fast as it can would otherwise take the loop from the scans, the
 * DLQ and the other clients.  Work is admitted while what it spent in the
 * current one-second window is below the limit; beyond, the caller sheds
 * (the read API answers 429 with Retry-After).  Pure: the caller passes
 * the monotonic now and what each piece of work cost.
 */
#ifndef VOMO_TIMESHARE_H
#define VOMO_TIMESHARE_H

#include <stdbool.h>
#include <stdint.h>

#define TIMESHARE_WINDOW_MS 1000

struct timeshare {
    int64_t window_start_ms; /* monotonic; the window is [start, start + 1 s) */
    int64_t used_us;         /* spent in this window */
};

void timeshare_init(struct timeshare *t);
/* Whether work may start at now_ms with limit_us a window.  When not,
 * *retry_ms (may be NULL) is when the next window opens, from now (>= 1). */
bool timeshare_admit(struct timeshare *t, int64_t now_ms, int64_t limit_us, int64_t *retry_ms);
/* Work admitted at now_ms took used_us (negative counts as 0). */
void timeshare_spend(struct timeshare *t, int64_t now_ms, int64_t used_us);

#endif
