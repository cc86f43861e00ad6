/*
 * alerts_int.h - what the two files of the evaluator share (alerts.c: the
 * timer, transitions, actions and status; alerts_input.c: reading the
 * history into the rules' inputs) and nobody else sees.
 */
#ifndef VOMO_ALERTS_INT_H
#define VOMO_ALERTS_INT_H

#include <uv.h>

#include "alerts.h"
#include "config.h"
#include "history.h"

#define ALERTS_MAX_NOTIFIERS 8
#define ALERTS_NOTE_LEN 200
#define ALERTS_HOURLY_SLOTS (5 + 2 * SLO_W_COUNT) /* window_sum() calls per evaluation */

/* The evaluator's view of one configured tenant. */
struct alerts_tenant {
    char name[ALERT_TENANT_LEN];
    char stopped_why[160];
    bool configured; /* still in the configuration at this evaluation */
    struct alert_tenant_in in;
    char resources[RES_COUNT][ALERT_RESOURCE_LEN];
    int64_t dlq_mid, dlq_old; /* read from the history; -1 when missing */
    int64_t sample_at;        /* scratch: the bucket of the sample kept */
    struct slo_counts counts;
    struct slo_result slo;
    struct slo_tenant act;
    int64_t minutes, fresh; /* freshness SLI over the budget window */
};

struct alerts {
    struct engine *e;
    uv_timer_t timer;
    int64_t timer_interval_ms;
    alerts_slots_fn slots;
    void *slots_ctx;
    struct {
        alert_notify_fn fn;
        void *ctx;
    } notifiers[ALERTS_MAX_NOTIFIERS];
    size_t nnotifiers;
    struct alert_params params;
    struct slo_params slo;
    int64_t retention_ms; /* minute table */
    int64_t started_ms;
    int64_t flushed_bucket, fresh_bucket, next_prune_ms;
    uint32_t hourly_done; /* windows of the hourly table read once (bit per slot) */
    uint32_t hourly_turn; /* the slot read again at this evaluation */
    bool flush_failing;
    struct alert_sm sm;
    struct alert_conds conds;
    struct alert_global_in global;
    struct alerts_tenant *tenants; /* sorted by name */
    size_t ntenants, cap;
    char spike_note[ALERTS_NOTE_LEN];
    struct alerts_stats stats;
    bool started, stopping, closing;
};

/* alerts_input.c: fills every tenant's and the global inputs at now. */
void alerts_read_inputs(struct alerts *a, int64_t now);
/* The tenant called name, added when new (the array stays sorted). */
struct alerts_tenant *alerts_tenant_add(struct alerts *a, const char *name);
/* The tenant called name, or NULL. */
struct alerts_tenant *alerts_tenant_find(struct alerts *a, const char *name);
/* The history bucket width (the accumulator's). */
int64_t alerts_resolution(const struct alerts *a);

#endif
