/*
 * store_alerts.h - the store's side of the built-in alerts and error
 * budgets (migration 0008): one `alerts` row per episode, the evaluator's
 * per-tenant error-budget status and notes for `vomo-sync status`, and the
 * resume requests `vomo-sync resume` leaves for the running daemon.  Part
 * of the store module; see store.h for ownership and errors.
 */
#ifndef VOMO_STORE_ALERTS_H
#define VOMO_STORE_ALERTS_H

#include <stdbool.h>
#include <stdint.h>

#include "store.h"

/* One row of `alerts`; the strings are valid during the callback only. */
struct store_alert {
    int64_t id;
    const char *name, *tenant, *resource, *severity, *state, *summary;
    int64_t started_at, resolved_at; /* wall ms; resolved_at 0 while firing */
};

/* Inserts a firing episode; *id gets alerts.id. */
int store_alert_fire(struct store *s, const char *name, const char *tenant, const char *resource,
                     const char *severity, int64_t started_ms, const char *summary,
                     int64_t *id) WUR;
/* Resolves a firing episode (no-op for another state). */
int store_alert_resolve(struct store *s, int64_t id, int64_t resolved_ms) WUR;
/* Every firing episode, oldest first; with all, every episode started at
 * or after since_ms (ms since the epoch) too (newest first, at most limit
 * rows). */
int store_alert_each(struct store *s, bool all, int64_t since_ms, int limit,
                     void (*fn)(void *arg, const struct store_alert *a), void *arg) WUR;

/* The evaluator's per-tenant error budget, replaced at each tick. */
struct store_slo_status {
    const char *tenant;
    double target;
    int64_t operations, errors;
    double consumed, remaining_ratio;
    double burn_5m, burn_30m, burn_1h, burn_6h, burn_3d;
    double freshness; /* < 0: not known yet */
    const char *action;
};
int store_slo_status_put(struct store *s, const struct store_slo_status *v, size_t n,
                         int64_t now_ms) WUR;
/* Tenants whose writes the evaluator last reported paused (action
 * writes_paused), with when that was written (wall ms). */
int store_slo_paused_each(struct store *s, void (*fn)(void *arg, const char *tenant, int64_t at_ms),
                          void *arg) WUR;
/* A note beside an alert (NULL or "" note removes it). */
int store_alert_note(struct store *s, const char *name, const char *note, int64_t now_ms) WUR;

/* `vomo-sync resume TENANT`: records the request (by: the Unix user). */
int store_slo_resume_request(struct store *s, const char *tenant, const char *by,
                             int64_t now_ms) WUR;
/* When the last resume of tenant was asked for (wall ms; 0 when never). */
int store_slo_resume_at(struct store *s, const char *tenant, int64_t *at_ms) WUR;

#endif
