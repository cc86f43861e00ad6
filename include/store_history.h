/*
 * store_history.h - the store's side of the alert history (migration
 * 0008): writing the accumulator's buckets (history.h) in one transaction,
 * rolling them up per hour, pruning both tables, and the range reads the
 * evaluator runs.  Every read is a range of the primary key (series, at):
 * its cost follows the window, not the size of the table.  Part of the
 * store module; see store.h for ownership and errors.
 */
#ifndef VOMO_STORE_HISTORY_H
#define VOMO_STORE_HISTORY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "history.h"
#include "store.h"

enum store_history_table { HIST_MINUTES, HIST_HOURLY };

/*
 * Writes n buffered entries in one BEGIN IMMEDIATE transaction: counters
 * add to their bucket's row, samples replace it; counters also add to the
 * hourly row of their bucket (rollup_ms wide).  Nothing is written on
 * failure (the caller keeps its buffer and tries again).
 */
int store_history_write(struct store *s, const struct history_entry *v, size_t n,
                        int64_t rollup_ms) WUR;
/* Deletes rows older than minutes_before (minute table) and hourly_before
 * (hourly table) of every series the daemon writes (history.h), in one
 * transaction; *deleted (may be NULL) gets the number of rows. */
int store_history_prune(struct store *s, int64_t minutes_before_ms, int64_t hourly_before_ms,
                        int64_t *deleted) WUR;

/* Sums of series over buckets in [from, to), per (tenant, resource). */
int store_history_sums(struct store *s, enum store_history_table t, const char *series,
                       int64_t from_ms, int64_t to_ms,
                       void (*fn)(void *arg, const char *tenant, const char *resource, int64_t sum),
                       void *arg) WUR;
/* The sum of series over [from, to), all tenants and resources. */
int store_history_total(struct store *s, const char *series, int64_t from_ms, int64_t to_ms,
                        int64_t *sum) WUR;
/* The values of series in the buckets starting in [from, to], per bucket
 * and tenant (resources summed), oldest bucket first. */
int store_history_samples(struct store *s, const char *series, int64_t from_ms, int64_t to_ms,
                          void (*fn)(void *arg, const char *tenant, int64_t at_ms, int64_t value),
                          void *arg) WUR;
/* Whether series has any row in [from, to) (minute table). */
int store_history_any(struct store *s, const char *series, int64_t from_ms, int64_t to_ms,
                      bool *any) WUR;
/* When the last complete scan of (tenant, resource) finished (wall ms; 0
 * when there was none), from the scans table. */
int store_history_last_complete(struct store *s, const char *tenant, const char *resource,
                                int64_t *at_ms) WUR;

#endif
