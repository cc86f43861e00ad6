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

#endif
