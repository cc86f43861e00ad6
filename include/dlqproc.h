/*
 * dlqproc.h - the DLQ processor: every dlq.interval it takes the due
 * `pending` rows (a bounded batch, through the partial index), re-fetches
 * each record's latest version from VOMO, resolves it as superseded when
 * the destination already holds that version or newer, else delivers it;
 * failures back off on the dlq schedule and escalate to manual_review.
 * Rows of a tenant whose VOMO or destination breaker is open, or that is
 * stopped, are left alone and no attempt is counted against them; so are
 * the rows of a resource VOMO refused (403) to this token, one of which
 * probes every breaker.open_timeout.  A 404 is retried on the schedule
 * (eventual consistency) and, when the attempts are spent, resolves the row
 * as gone without marking the record deleted.
 *
 * Ownership: created and owned by the engine; dlqproc_close() closes its
 * timer and frees it once no job runs (the engine is told through
 * engine_handle_closed()).
 */
#ifndef VOMO_DLQPROC_H
#define VOMO_DLQPROC_H

#include <stdint.h>

struct engine;
struct dlqproc;

struct dlqproc *dlqproc_new(struct engine *e);
void dlqproc_start(struct dlqproc *p);
/* Runs one tick now (tests, and `dlq retry` picked up at once). */
void dlqproc_tick(struct dlqproc *p);
/* No new ticks; running jobs finish. */
void dlqproc_stop(struct dlqproc *p);
void dlqproc_close(struct dlqproc *p);
/* Counts of pending and manual_review rows as of the last tick. */
void dlqproc_counts(const struct dlqproc *p, int64_t *pending, int64_t *review);
/* Rows resolved / failed again / escalated since start (tests, status). */
struct dlqproc_stats {
    int64_t ticks, resolved, superseded, gone, not_found, failed, escalated, skipped_breaker,
        skipped_forbidden;
};
const struct dlqproc_stats *dlqproc_stats(const struct dlqproc *p);

#endif
