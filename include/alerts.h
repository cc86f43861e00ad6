/*
 * alerts.h - the built-in alert evaluator: the thin I/O around the pure
 * rules (alertrule.h) and error budget (slo.h).  A libuv timer every
 * [alerts] interval (30 s) samples what it samples (DLQ size, freshness),
 * writes the history accumulator (history.h) to SQLite once per bucket in
 * one transaction, reads the windows it needs with indexed range queries
 * (plus what is still buffered), runs the rules, and for each transition
 * writes the episode's `alerts` row and hands an alert_event to every
 * notifier (the log and journal first; the daemon adds the optional
 * targets of alertsink).  It also applies the error budget's actions:
 * debug logging of a tenant for a while, and with pause_on_exhausted =
 * writes, the outbox's per-tenant pause (outboxproc.h), lifted by the burn
 * falling below 100% or by `vomo-sync resume TENANT` (a row the CLI writes
 * and the evaluator reads).
 *
 * At start, episodes the table still shows firing are adopted and handed
 * to the notifiers with replay = true.
 *
 * Ownership: created and owned by the engine (engine_new); the notifier
 * contexts are the caller's and must outlive the evaluator.
 * alerts_close() closes the timer and frees the evaluator in its close
 * callback, telling the engine through engine_handle_closed().
 */
#ifndef VOMO_ALERTS_H
#define VOMO_ALERTS_H

#include <cjson/cJSON.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "alert_event.h"
#include "alertrule.h"
#include "slo.h"

struct engine;
struct alerts;

/* What the owner knows of one tenant's resources (the engine hands it down). */
struct alerts_slot_view {
    const char *tenant;
    const char *resource;
    const char *tenant_stopped; /* NULL, or why the tenant is stopped */
    bool resource_stopped;      /* 403: the resource is stopped on purpose */
};
typedef void (*alerts_view_fn)(void *arg, const struct alerts_slot_view *v);
typedef void (*alerts_slots_fn)(void *ctx, alerts_view_fn fn, void *arg);

struct alerts *alerts_new(struct engine *e, alerts_slots_fn slots, void *slots_ctx);
/* Notifiers are called in the order they were added (at most 8). */
void alerts_add_notifier(struct alerts *a, alert_notify_fn fn, void *ctx);
/* Adopts and replays firing episodes, seeds the last complete scans, and
 * starts the timer. */
void alerts_start(struct alerts *a);
/* One evaluation at now (the timer's work; tests and the benchmark). */
void alerts_evaluate(struct alerts *a, int64_t now_ms);
/* Writes what the accumulator still holds (at shutdown). */
void alerts_flush(struct alerts *a);
/* Re-reads [slo] from the engine's configuration (after a reload). */
void alerts_configure(struct alerts *a);
void alerts_stop(struct alerts *a);
void alerts_close(struct alerts *a);

/* The policy's parameters, read at every evaluation (tests shrink them). */
struct alert_params *alerts_params(struct alerts *a);
struct slo_params *alerts_slo_params(struct alerts *a);
/* The history's bucket width (60 s) and minute retention (8 days). */
void alerts_set_resolution(struct alerts *a, int64_t resolution_ms, int64_t retention_ms);

/* Alerts firing now (all names). */
size_t alerts_firing_count(const struct alerts *a);
struct alerts_stats {
    int64_t evaluations, flushes, flush_failures, transitions;
    int64_t last_eval_us; /* how long the last evaluation took */
};
const struct alerts_stats *alerts_stats(const struct alerts *a);
/* {firing: [...], error_budgets: [...], notes: {...}} for GET /status. */
cJSON *alerts_status_json(const struct alerts *a, int64_t now_ms);

#endif
