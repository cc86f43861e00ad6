/*
 * hintpace.h - the pace of the reads by id that VOMO's deletion hints
 * cause, for one (tenant, resource): a token bucket of HINTPACE_BURST
 * reads, refilled with one read every `interval_ms`.
 *
 * A deletion hint cannot be coalesced into a scan (no incremental scan
 * lists a deletion), and its read is confirmed like a reconciliation's
 * read-back: a 404 is taken for a deletion only after every [retry]
 * attempt answered it, so each read of a deleted record costs VOMO up to
 * retry.max_attempts GETs.  Pacing the starts of these reads bounds what a
 * burst of deletion hints costs VOMO in any stretch of time t: at most
 * hintpace_bound(t) reads begin, whatever the size of the burst; the hints
 * that wait stay pending in vomo_hints (they are recorded already).
 *
 * Pure: `now` is a monotonic time in milliseconds passed in; no clock, no
 * I/O.  The caller owns the struct (embedded in its own state).
 */
#ifndef VOMO_HINTPACE_H
#define VOMO_HINTPACE_H

#include <stdbool.h>
#include <stdint.h>

#define HINTPACE_BURST 5 /* reads that may begin at once after a quiet time */

struct hintpace {
    bool started;      /* false until the first call: the bucket is full */
    int64_t tokens;    /* whole reads that may begin now, at most HINTPACE_BURST */
    int64_t refill_at; /* monotonic ms the next token arrives (when tokens < BURST) */
};

/* Takes one read if the bucket has one at `now`; false: wait for
 * hintpace_wait() milliseconds.  interval_ms >= 1. */
bool hintpace_take(struct hintpace *p, int64_t interval_ms, int64_t now);
/* Milliseconds from `now` until a read may begin (0: now). */
int64_t hintpace_wait(const struct hintpace *p, int64_t interval_ms, int64_t now);
/* The most reads the bucket lets begin within any `elapsed_ms` (from the
 * first start to the last included): HINTPACE_BURST + elapsed_ms /
 * interval_ms. */
int64_t hintpace_bound(int64_t elapsed_ms, int64_t interval_ms);

#endif
