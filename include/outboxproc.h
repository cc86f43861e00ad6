/*
 * outboxproc.h - the outbox processor: sends the writes of the outbox table
 * to VOMO.  A timer (every dlq.interval, at most every second) takes each
 * tenant's due rows in creation order; a write of a record waits while an
 * earlier write of the same record is open, writes of different records go
 * concurrently.  Every request goes through the tenant's VOMO lane, so the
 * concurrency limit, rate gate, breaker, retry budget and 401/403 handling
 * are those of reads.  A row is committed in_flight before its request
 * leaves; at start-up every in_flight row becomes unknown.  Outcomes follow
 * outbox_ops.h; failures back off on the DLQ schedule (dlqsched) and reach
 * manual review after dlq.max_attempts.  An unknown create is searched for
 * in VOMO and adopted before it is ever sent again.
 *
 * Ownership: created and owned by the engine; outboxproc_close() closes its
 * timer and frees it once no job runs (the engine is told through
 * engine_handle_closed()).
 */
#ifndef VOMO_OUTBOXPROC_H
#define VOMO_OUTBOXPROC_H

#include <stdbool.h>
#include <stdint.h>

struct engine;
struct outboxproc;

struct outboxproc *outboxproc_new(struct engine *e);
/* Turns rows left in_flight by a previous run into unknown, then ticks. */
void outboxproc_start(struct outboxproc *p);
/* Runs one tick now (tests; also after each finished write). */
void outboxproc_tick(struct outboxproc *p);
void outboxproc_stop(struct outboxproc *p);
void outboxproc_close(struct outboxproc *p);

/*
 * The per-tenant "writes paused" switch: while paused, no write of the
 * tenant is started (rows wait, no attempt is counted); reads go on.  For
 * the error-budget policy (slo.pause_on_exhausted = writes).  `why` is
 * logged.  Unknown tenants are remembered by name.
 */
void outboxproc_pause_writes(struct outboxproc *p, const char *tenant, bool paused,
                             const char *why);
bool outboxproc_writes_paused(const struct outboxproc *p, const char *tenant);

struct outboxproc_stats {
    int64_t ticks, sent, done, adopted, searches, unknown, failed, escalated, invalid;
    int64_t skipped_breaker, requests;
};
const struct outboxproc_stats *outboxproc_stats(const struct outboxproc *p);

#endif
