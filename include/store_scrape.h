/*
 * store_scrape.h - the store's reads for the metrics endpoint
 * (store_scrape.c): each one an index seek or a read of a small table, so
 * a scrape costs the same with a million dead letters as with none.  Part
 * of the store module; see store.h for ownership and errors.
 */
#ifndef VOMO_STORE_SCRAPE_H
#define VOMO_STORE_SCRAPE_H

#include <stdint.h>

#include "store.h"

/* Dead letters per (tenant, status), from dlq_counts (migration 0003). */
int store_dlq_count_rows(struct store *s,
                         void (*fn)(void *arg, const char *tenant, const char *status,
                                    int64_t rows),
                         void *arg) WUR;
/* For each of the n tenants: created_at of its oldest pending dead letter,
 * or "" when it has none (one statement, one index seek per tenant). */
int store_dlq_oldest_pending(struct store *s, const char *const *tenants, size_t n,
                             void (*fn)(void *arg, const char *tenant, const char *created),
                             void *arg) WUR;
/* Held records per (tenant, resource). */
int store_hold_counts(struct store *s,
                      void (*fn)(void *arg, const char *tenant, const char *resource, int64_t n),
                      void *arg) WUR;
/* Every checkpoint row: tenant, resource, updated_after, last_scan_status
 * ("" when none), last_scan_at ("" when none). */
int store_checkpoint_each(struct store *s,
                          void (*fn)(void *arg, const char *tenant, const char *resource,
                                     const char *updated_after, const char *last_status,
                                     const char *last_at),
                          void *arg) WUR;

#endif
