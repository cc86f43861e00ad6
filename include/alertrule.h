/*
 * alertrule.h - the built-in alert rules and their state machine, pure:
 * no I/O, no clock.  The evaluator (alerts.c) reads the history, fills the
 * inputs below, and hands them with `now` to alertrule_eval(), which says
 * which alert conditions hold; alertsm_step() then walks each alert
 * through the states of Prometheus: inactive, pending (the condition holds
 * but not yet for `for`), firing, and back to inactive (resolved) once the
 * condition has been false for keep_firing_for, so an alert that flaps is
 * held firing instead of notifying on every flip.
 *
 * The rules (ARCHITECTURE.md "Alerts and error budgets"; the defaults of
 * alertrule_defaults()):
 *   VomoServerErrors      >= 5 VOMO 5xx or timeouts in 5 min: per tenant
 *                         when one tenant sees them, overall (tenant "")
 *                         when several do; one in an hour is silence.
 *   TenantFailing         one tenant > 20% failed operations and >= 10
 *                         failures over 15 min while the median of the
 *                         others is < 2% (never when all fail).
 *   ErrorClassSpike       within 1 h after start, an error class > 3x its
 *                         rate in the same hours of the previous days and
 *                         >= 5 events; no history: a note, no alert.
 *   DlqGrowthAccelerating net DLQ growth of the last 30 min > 2x that of
 *                         the 30 min before and >= 10 rows.
 *   PollingLag            no complete scan for > 2x poll.interval + jitter
 *                         while the tenant is not stopped.
 *   TenantStopped         the tenant (or a resource) was stopped by 401/403.
 *   ErrorBudgetBurn       slo.h: consumed > 100% warning, > 200% critical,
 *                         or a multi-window burn pair (page: critical,
 *                         ticket: warning).
 *
 * Ownership: the caller owns every input; conditions and states copy what
 * they keep (names cut to their caps).
 */
#ifndef VOMO_ALERTRULE_H
#define VOMO_ALERTRULE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "classify.h"
#include "config.h"
#include "slo.h"

enum alert_rule {
    AR_VOMO_SERVER_ERRORS,
    AR_TENANT_FAILING,
    AR_ERROR_CLASS_SPIKE,
    AR_DLQ_GROWTH,
    AR_POLLING_LAG,
    AR_TENANT_STOPPED,
    AR_ERROR_BUDGET_BURN,
    AR_COUNT
};
enum alert_severity { ALERT_WARNING, ALERT_CRITICAL };

const char *alertrule_name(enum alert_rule r);
/* The fixed journal MESSAGE_ID (32 hex digits) of an alert. */
const char *alertrule_message_id(enum alert_rule r);
const char *alert_severity_name(enum alert_severity s);

struct alert_params {
    int64_t server_window_ms;     /* 5m */
    int64_t server_min;           /* 5 */
    int64_t failing_window_ms;    /* 15m */
    double failing_ratio;         /* 0.20 */
    int64_t failing_min;          /* 10 */
    double others_ratio;          /* 0.02: the others' median must stay below */
    int64_t spike_after_start_ms; /* 1h */
    double spike_factor;          /* 3 */
    int64_t spike_min;            /* 5 */
    int spike_days;               /* 7: previous days compared */
    int64_t dlq_window_ms;        /* 30m */
    double dlq_factor;            /* 2 */
    int64_t dlq_min;              /* 10 */
    int64_t for_ms[AR_COUNT];     /* pending time of each rule */
    int64_t keep_firing_for_ms;   /* 5m */
};
void alertrule_defaults(struct alert_params *p);

#define ALERT_TENANT_LEN 65
#define ALERT_RESOURCE_LEN 16
#define ALERT_SUMMARY_LEN 256

/* What the evaluator knows of one resource of a tenant. */
struct alert_slot_in {
    const char *resource;
    int64_t last_complete_ms; /* 0: none since records began */
    bool stopped;             /* 403: this resource is stopped on purpose */
};

/* What the evaluator knows of one tenant. */
struct alert_tenant_in {
    const char *tenant;
    const char *stopped;               /* NULL, or why the tenant is stopped ("auth_failed: ...") */
    int64_t server_errors;             /* VOMO 5xx + timeouts in server_window */
    int64_t ops, failures;             /* operations and integration errors in failing_window */
    bool dlq_known;                    /* the three samples below exist */
    int64_t dlq_now, dlq_mid, dlq_old; /* open DLQ rows now, dlq_window and 2x ago */
    struct alert_slot_in slots[RES_COUNT];
    int nslots;
    const struct slo_result *slo; /* NULL: no budget evaluated */
};

/* What the evaluator knows of the whole daemon. */
struct alert_global_in {
    int64_t started_ms; /* when this process started (wall clock) */
    int64_t poll_interval_ms, poll_jitter_ms;
    /* ErrorClassSpike: events per class since max(start, now - 1h) ... */
    int64_t class_recent[EC_COUNT];
    /* ... and the mean count of the same hours on the previous days that
     * have history (baseline_days of them; 0: no history yet). */
    double class_baseline[EC_COUNT];
    int baseline_days;
};

struct alert_cond {
    enum alert_rule rule;
    enum alert_severity severity;
    char tenant[ALERT_TENANT_LEN];
    char resource[ALERT_RESOURCE_LEN];
    char summary[ALERT_SUMMARY_LEN];
};

struct alert_conds {
    struct alert_cond *v;
    size_t n, cap;
};
void alert_conds_free(struct alert_conds *c);

/* Appends every condition that holds at now (c is emptied first). */
void alertrule_eval(const struct alert_params *p, const struct alert_global_in *g,
                    const struct alert_tenant_in *t, size_t n, int64_t now,
                    struct alert_conds *out);
/* A line for status about ErrorClassSpike ("" when nothing to say). */
void alertrule_spike_note(const struct alert_params *p, const struct alert_global_in *g,
                          int64_t now, char *out, size_t len);

/* The single rules, for tests. */
void alertrule_server_errors(const struct alert_params *p, const struct alert_tenant_in *t,
                             size_t n, struct alert_conds *out);
void alertrule_tenant_failing(const struct alert_params *p, const struct alert_tenant_in *t,
                              size_t n, struct alert_conds *out);
void alertrule_class_spike(const struct alert_params *p, const struct alert_global_in *g,
                           int64_t now, struct alert_conds *out);
void alertrule_dlq_growth(const struct alert_params *p, const struct alert_tenant_in *t,
                          struct alert_conds *out);
void alertrule_polling_lag(const struct alert_global_in *g, const struct alert_tenant_in *t,
                           int64_t now, struct alert_conds *out);
void alertrule_stopped(const struct alert_tenant_in *t, struct alert_conds *out);
void alertrule_budget(const struct alert_tenant_in *t, struct alert_conds *out);

/* ---- the state machine ---- */
enum alert_phase { ALERT_INACTIVE, ALERT_PENDING, ALERT_FIRING };
enum alert_transition { ALERT_TR_FIRING, ALERT_TR_RESOLVED };

struct alert_state {
    enum alert_rule rule;
    char tenant[ALERT_TENANT_LEN];
    char resource[ALERT_RESOURCE_LEN];
    enum alert_phase phase;
    enum alert_severity severity;
    char summary[ALERT_SUMMARY_LEN];
    int64_t active_since; /* the condition holds since (pending, firing) */
    int64_t last_active;  /* last evaluation it held */
    int64_t fired_at, resolved_at;
    int64_t id; /* the evaluator's alerts.id (0 before it is recorded) */
};

struct alert_sm {
    struct alert_state *v;
    size_t n, cap;
};
void alertsm_free(struct alert_sm *sm);
/* Adopts an episode already firing (from the table at start). */
struct alert_state *alertsm_adopt(struct alert_sm *sm, enum alert_rule r, const char *tenant,
                                  const char *resource, enum alert_severity sev,
                                  const char *summary, int64_t fired_at, int64_t now, int64_t id);
/* Firing alerts now. */
size_t alertsm_firing(const struct alert_sm *sm, enum alert_rule r);

typedef void (*alertsm_fn)(void *arg, struct alert_state *st, enum alert_transition tr);
/*
 * One evaluation: conditions that hold at now move their alert to pending
 * or (after for_ms of the rule) to firing; a firing alert whose severity
 * rises resolves and fires again as a new episode at the higher severity
 * (severity never falls within an episode); an alert whose condition has
 * not held for keep_firing_for resolves.  fn is called for each transition, after the state
 * changed. Inactive states are forgotten.
 */
void alertsm_step(struct alert_sm *sm, const struct alert_params *p, const struct alert_conds *c,
                  int64_t now, alertsm_fn fn, void *arg);

#endif
