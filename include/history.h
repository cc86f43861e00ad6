/*
 * history.h - the in-memory accumulator of the alert history: what the
 * narrow hooks of obs.c (an HTTP attempt, an error class, an operation, a
 * scan) and the evaluator's own samples (DLQ size, freshness) count, per
 * (series, tenant, resource) and time bucket ([alerts] resolution, one
 * minute by default).  Nothing here touches SQLite: the evaluator
 * (alerts.c) writes the buffered buckets in one transaction per
 * resolution (store_history.h) and then forgets them, so an event costs
 * a hash lookup, never a write.
 *
 * Counters add up within their bucket; samples (gauges) keep the last
 * value of the bucket.  The buffer is bounded (HISTORY_MAX_ENTRIES keys):
 * beyond it new keys are dropped and counted.  Series, tenant and
 * resource are copied (cut to their caps).
 *
 * Besides the buckets, the accumulator remembers when each (tenant,
 * resource) last completed a scan (PollingLag), which the evaluator seeds
 * from the scans table at start.
 *
 * Like the metrics registry the accumulator is process-wide: the engine
 * opens it, every hook is a no-op while it is closed.  Single-threaded.
 * Pure apart from history_hook_* (which read the wall clock).
 */
#ifndef VOMO_HISTORY_H
#define VOMO_HISTORY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define HISTORY_SERIES_LEN 40
#define HISTORY_TENANT_LEN 65
#define HISTORY_RESOURCE_LEN 16
#define HISTORY_MAX_ENTRIES 65536
#define HISTORY_MAX_SLOTS 4096

/* The series the daemon records (ARCHITECTURE.md "Alerts and error budgets"). */
#define HS_VOMO_5XX "vomo_5xx"   /* VOMO attempts answered 5xx or timed out */
#define HS_ERROR_PREFIX "error_" /* error_<class>: operations failed for good */
/* The SLI's series are per tenant (resource ""): they are the dense ones. */
#define HS_OPS "ops"             /* operations that ended (the SLI's total) */
#define HS_OPS_ERROR "ops_error" /* ... that ended in an integration error */
#define HS_OPS_DATA "ops_data"   /* ... that failed on the record's own data */
#define HS_DLQ_ROWS "dlq_rows"   /* sample: open dead letters of the tenant */
#define HS_MINUTES "minutes"     /* buckets the freshness SLI observed */
#define HS_FRESH "fresh"         /* ... in which every slot was fresh */

struct history_entry {
    char series[HISTORY_SERIES_LEN];
    char tenant[HISTORY_TENANT_LEN];
    char resource[HISTORY_RESOURCE_LEN];
    int64_t at_ms; /* start of the bucket, wall clock */
    int64_t value;
    bool sample; /* last value wins (a gauge), else the values add up */
};

struct history;

/* A new, empty accumulator with buckets of resolution_ms (> 0). */
struct history *history_new(int64_t resolution_ms);
void history_free(struct history *h);
int64_t history_resolution(const struct history *h);
/* Changes the bucket width (tests); buffered entries keep theirs. */
void history_set_resolution(struct history *h, int64_t resolution_ms);
/* The start of the bucket that holds now. */
int64_t history_bucket(const struct history *h, int64_t now_ms);

/* Adds n to the counter (series, tenant, resource) of now's bucket. */
void history_add(struct history *h, int64_t now_ms, const char *series, const char *tenant,
                 const char *resource, int64_t n);
/* Sets the sample (series, tenant, resource) of now's bucket. */
void history_sample(struct history *h, int64_t now_ms, const char *series, const char *tenant,
                    const char *resource, int64_t value);

/* The buffered entries (valid until the next change) and their number. */
const struct history_entry *history_entries(const struct history *h, size_t *n);
/* Forgets every buffered entry (after they were written). */
void history_clear(struct history *h);
/* Keys refused because the buffer was full, since history_new(). */
uint64_t history_dropped(const struct history *h);

/* When (tenant, resource) last completed a scan (wall ms), 0 if never
 * seen.  history_scan_complete keeps the later of the two times. */
void history_scan_complete(struct history *h, const char *tenant, const char *resource,
                           int64_t at_ms);
int64_t history_last_complete(const struct history *h, const char *tenant, const char *resource);

/* ---- the process-wide accumulator the hooks feed ---- */
/* Opens it (or changes its resolution when open). */
void history_open(int64_t resolution_ms);
void history_close(void);
/* NULL while closed. */
struct history *history_global(void);
/* Hooks for obs.c: no-ops while closed; now is the wall clock. */
void history_hook_add(const char *series, const char *tenant, const char *resource, int64_t n);
void history_hook_scan_complete(const char *tenant, const char *resource);

#endif
