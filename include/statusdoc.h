/*
 * statusdoc.h - the status document of `vomo-sync status --json` and of
 * GET /status: per tenant/resource the checkpoint, last scan, last complete
 * scan, records and dead letters; each tenant's state; each circuit
 * breaker, as the state database holds them; the room the database has.  Each section is computed
 * on its own: one that fails (a query that cannot run) becomes {"error": "..."} in its place and
 * the others are still there.
 *
 * Ownership: statusdoc_build() returns a new cJSON object the caller frees
 * with cJSON_Delete(); the store and configuration are only read.
 */
#ifndef VOMO_STATUSDOC_H
#define VOMO_STATUSDOC_H

#include <cjson/cJSON.h>
#include <stdbool.h>

#include "config.h"
#include "store.h"

/* Below this much free space on the database's file system, storage.disk_low. */
#define STATUSDOC_DISK_LOW_BYTES (64.0 * 1024 * 1024)

/* {database, schema_version, resources (with last_complete_scan_at, the
 * read API's as_of), tenants, breakers, storage (size_bytes, wal_bytes,
 * disk_free_bytes, disk_low), alerts (the firing episodes), error_budgets
 * (per tenant, as the evaluator last wrote them), alert_notes, hints (VOMO
 * webhooks per tenant)}.  *failed (may
 * be NULL) tells whether a section holds an error.  cfg may be NULL; its
 * tenants appear even before their first scan. */
cJSON *statusdoc_build(struct store *s, const char *db_path, const struct config *cfg,
                       bool *failed);
/* The free-space part of the storage section from a figure (the file
 * system's bytes available to the daemon): disk_free_bytes, and disk_low
 * below STATUSDOC_DISK_LOW_BYTES.  Pure, so the threshold can be tested
 * without filling a disk. */
void statusdoc_space(cJSON *storage, double free_bytes);
/* The error message of a section that failed, or NULL when it is data. */
const char *statusdoc_section_error(const cJSON *section);

#endif
