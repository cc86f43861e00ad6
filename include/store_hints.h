/*
 * store_hints.h - the vomo_hints table (migration 0009): VOMO's webhooks
 * recorded as hints before they are answered, the processor's queue of
 * pending ones, their outcomes, and their bounded retention.  Part of the
 * store module; see store.h for ownership and errors.  Hints are few (a
 * webhook per change at most), so each statement is prepared per call and
 * keeps the record statements' cache about records.
 */
#ifndef VOMO_STORE_HINTS_H
#define VOMO_STORE_HINTS_H

#include <stdbool.h>
#include <stdint.h>

#include "store.h"

/* Processed hints older than this are deleted; so are the oldest beyond
 * STORE_HINTS_KEPT rows.  Pending ones older than a day are expired. */
#define STORE_HINTS_RETAIN_MS (7LL * 24 * 3600 * 1000)
#define STORE_HINTS_KEPT 100000
#define STORE_HINTS_EXPIRE_MS (24LL * 3600 * 1000)

struct hint_new {
    const char *tenant;
    const char *event_key; /* "id:..." or "sha256:..." */
    const char *type;
    const char *resource;  /* NULL: not a resource vomo-sync syncs */
    const char *record_id; /* NULL: the event names none */
    const char *organization_id;
    const char *outcome; /* "pending", or "ignored" (then processed at once) */
    const char *now;
};

/* Records a hint.  *id gets its row; *replay is set when the same
 * (tenant, event_key) was recorded before (its replays count grows and
 * nothing else changes). */
int store_hint_add(struct store *s, const struct hint_new *h, int64_t *id, bool *replay) WUR;

struct hint_row {
    int64_t id;
    char *tenant, *type, *resource, *record_id;
};
/* Pending hints, at most max, oldest first but deletion hints (`*.deleted`)
 * after the others: they wait for their pace (hintpace.h), and however many
 * wait, a batch still takes the updates that came after them.  Free with
 * store_hint_rows_free. */
int store_hints_pending(struct store *s, int max, struct hint_row **out, size_t *n) WUR;
void store_hint_rows_free(struct hint_row *rows, size_t n);
/* Sets the outcome of pending hint `id` (processed_at = now). */
int store_hint_finish(struct store *s, int64_t id, const char *outcome, const char *now) WUR;
/* Expires pending hints received before expire_before and deletes
 * processed ones received before delete_before, and the oldest beyond
 * STORE_HINTS_KEPT.  *removed (may be NULL) gets how many rows went. */
int store_hints_prune(struct store *s, const char *expire_before, const char *delete_before,
                      int64_t *removed) WUR;
/* Rows per (tenant, outcome), and replays per tenant as outcome "replay". */
int store_hint_counts(struct store *s,
                      void (*fn)(void *arg, const char *tenant, const char *outcome, int64_t n),
                      void *arg) WUR;
/* The newest scan of (tenant, resource): whether it was incremental and
 * how many records it applied; -ENOENT when none (for the gap ratio). */
int store_scan_last(struct store *s, const char *tenant, const char *resource, bool *incremental,
                    int64_t *applied) WUR;

#endif
