/*
 * scan.h - one scan of one (tenant, resource): every page of
 * `updated_after = checkpoint` (or no filter for a full scan), records
 * de-duplicated by id, each record applied, skipped or dead-lettered on its
 * own, one transaction per page, passes repeated until the distinct ids
 * reach meta.total (bounded), then the checkpoint; a complete full scan
 * also marks what VOMO no longer has as deleted.
 *
 * Ownership: scan_start() allocates the scan; it calls `done` exactly once
 * and the callback frees it with scan_free().
 */
#ifndef VOMO_SCAN_H
#define VOMO_SCAN_H

#include <stdbool.h>
#include <stdint.h>

#include "classify.h"
#include "tenant.h"

struct scan;
typedef void (*scan_done_fn)(struct scan *s, const char *status);

/* Starts a scan of the slot; full = no updated_after filter (backfill or
 * reconciliation).  The slot's tenant must be running. */
struct scan *scan_start(struct slot *slot, bool full, scan_done_fn done);
void scan_free(struct scan *s);
struct slot *scan_slot(const struct scan *s);
/* Live figures for progress lines. */
void scan_progress(const struct scan *s, int *pages_done, int *last_page, int64_t *records,
                   int64_t *started_mono_ms);

/*
 * A read of one record by id (recordfetch.h builds on it): GET
 * /{resource}/{id} through the tenant's VOMO lane, taken exactly like the
 * read-back of a record a complete scan did not list (scan_confirm.c): a
 * 200 is applied like any record of a page (skip rule, claims, dead letter
 * on a failed delivery), a 404 is a confirmed deletion of a record the
 * destination holds (after the [retry] attempts, as in reconciliation).
 * It moves no checkpoint and writes no scans row.
 *
 * scan_fetch_new() allocates it (the tenant must be running and its VOMO
 * lane not stopped), scan_fetch_run() starts it; done runs exactly once,
 * possibly inside scan_fetch_run(), with "complete", "failed" or
 * "aborted", and frees it with scan_free().  on_answer (may be NULL) runs
 * after each attempt VOMO answered or failed, before any retry.
 */
struct scan_fetch_opts {
    int64_t timeout_ms; /* per attempt; 0 or more than vomo.request_timeout: that */
    void (*on_answer)(struct scan *s);
    void *arg;
};

/* What VOMO answered the fetch's latest attempt, and what came of it. */
struct scan_fetch_answer {
    bool answered; /* an attempt ended (else nothing is known yet) */
    long status;   /* HTTP status, 0 when none arrived */
    int curl_code; /* CURLcode: CURLE_OK when a response arrived */
    enum err_class cls;
    char *body; /* the body as VOMO sent it (owned by the scan), or NULL */
    size_t body_len;
    int attempts;                              /* attempts made so far */
    bool was_held;                             /* the destination held the record live before */
    int64_t applied, skipped, failed, deleted; /* set when done runs */
    char message[256];                         /* what went wrong, "" when nothing */
};

struct scan *scan_fetch_new(struct tenant *t, enum resource res, const char *id,
                            const struct scan_fetch_opts *o, scan_done_fn done);
void scan_fetch_run(struct scan *s);
/* Valid until scan_free(). */
const struct scan_fetch_answer *scan_fetch_answer(const struct scan *s);
void *scan_fetch_arg(const struct scan *s);

#endif
