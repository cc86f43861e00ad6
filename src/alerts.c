/*
 * alerts.c - the built-in alert evaluator (see alerts.h): its timer, the
 * flush and pruning of the history, the transitions of the state machine
 * (one `alerts` row per episode, one event per notifier), the error
 * budget's actions, and what it shows (metrics, /status, the slo_status
 * rows `vomo-sync status` reads).  alerts_input.c gathers the inputs.
 */
#include <stdlib.h>
#include <string.h>

#include "alerts_int.h"
#include "engine.h"
#include "log.h"
#include "obs.h"
#include "outboxproc.h"
#include "store_alerts.h"
#include "store_history.h"

#define DEFAULT_RESOLUTION_MS (60 * 1000LL)
#define DEFAULT_RETENTION_MS (8 * 24 * 3600 * 1000LL)

static void configure(struct alerts *a)
{
    const struct config *c = a->e->cfg;
    a->slo.target = c->slo_target;
    a->slo.window_ms[SLO_W_BUDGET] = c->slo_window_ms;
    a->slo.min_operations = c->slo_min_operations;
    a->slo.pause_writes = c->slo_pause == SLO_PAUSE_WRITES;
}

struct alerts *alerts_new(struct engine *e, alerts_slots_fn slots, void *slots_ctx)
{
    struct alerts *a = xcalloc(1, sizeof(*a));
    a->e = e;
    a->slots = slots;
    a->slots_ctx = slots_ctx;
    alertrule_defaults(&a->params);
    slo_defaults(&a->slo);
    configure(a);
    a->retention_ms = DEFAULT_RETENTION_MS;
    a->started_ms = clock_wall_ms();
    a->flushed_bucket = a->fresh_bucket = INT64_MIN;
    history_open(DEFAULT_RESOLUTION_MS);
    uv_timer_init(e->loop, &a->timer);
    a->timer.data = a;
    return a;
}

void alerts_add_notifier(struct alerts *a, alert_notify_fn fn, void *ctx)
{
    if (a->nnotifiers < ALERTS_MAX_NOTIFIERS) {
        a->notifiers[a->nnotifiers].fn = fn;
        a->notifiers[a->nnotifiers++].ctx = ctx;
    } else {
        log_error("alerts: more than %d notifiers; one is ignored", ALERTS_MAX_NOTIFIERS);
    }
}

struct alert_params *alerts_params(struct alerts *a)
{
    return &a->params;
}

struct slo_params *alerts_slo_params(struct alerts *a)
{
    return &a->slo;
}

void alerts_set_resolution(struct alerts *a, int64_t resolution_ms, int64_t retention_ms)
{
    history_open(resolution_ms);
    a->retention_ms = retention_ms;
    a->flushed_bucket = a->fresh_bucket = INT64_MIN;
    a->hourly_done = 0;
}

size_t alerts_firing_count(const struct alerts *a)
{
    return alertsm_firing(&a->sm, AR_COUNT);
}

const struct alerts_stats *alerts_stats(const struct alerts *a)
{
    return &a->stats;
}

static int rule_of(const char *name)
{
    for (int r = 0; r < AR_COUNT; r++)
        if (strcmp(alertrule_name((enum alert_rule)r), name) == 0)
            return r;
    return -1;
}

/* ---- notifying ---- */

static void notify(struct alerts *a, const struct alert_state *s, const char *state, bool replay)
{
    struct alert_event ev = {.id = s->id,
                             .name = alertrule_name(s->rule),
                             .tenant = s->tenant,
                             .resource = s->resource,
                             .severity = alert_severity_name(s->severity),
                             .state = state,
                             .started_at = s->fired_at / 1000,
                             .resolved_at = s->resolved_at / 1000,
                             .summary = s->summary,
                             .replay = replay};
    for (size_t i = 0; i < a->nnotifiers; i++)
        a->notifiers[i].fn(a->notifiers[i].ctx, &ev);
}

static void on_transition(void *arg, struct alert_state *s, enum alert_transition tr)
{
    struct alerts *a = arg;
    struct store *st = a->e->store;
    const char *name = alertrule_name(s->rule), *sev = alert_severity_name(s->severity);
    int rc = 0;
    a->stats.transitions++;
    if (tr == ALERT_TR_FIRING)
        rc = store_alert_fire(st, name, s->tenant, s->resource, sev, s->fired_at, s->summary,
                              &s->id);
    else if (tr == ALERT_TR_RESOLVED && s->id > 0)
        rc = store_alert_resolve(st, s->id, s->resolved_at);
    if (rc < 0)
        log_warn("alerts: could not record %s: %s (notifying anyway)", name, store_errmsg(st));
    notify(a, s, tr == ALERT_TR_RESOLVED ? "resolved" : "firing", false);
}

/* ---- start ---- */

static void on_firing_row(void *arg, const struct store_alert *row)
{
    struct alerts *a = arg;
    int r = rule_of(row->name);
    if (r < 0)
        return; /* a name this version does not evaluate: left as it is */
    struct alert_state *s =
        alertsm_adopt(&a->sm, (enum alert_rule)r, row->tenant, row->resource,
                      strcmp(row->severity, "critical") == 0 ? ALERT_CRITICAL : ALERT_WARNING,
                      row->summary, row->started_at, clock_wall_ms(), row->id);
    notify(a, s, "firing", true);
}

static void on_seed_slot(void *arg, const struct alerts_slot_view *v)
{
    struct alerts *a = arg;
    int64_t at = 0;
    struct history *h = history_global();
    if (h && store_history_last_complete(a->e->store, v->tenant, v->resource, &at) == 0 && at > 0)
        history_scan_complete(h, v->tenant, v->resource, at);
}

/* A pause the previous run left in force stays until it is lifted the
 * usual way (burn below 100%, or a resume asked for after it began). */
static void on_paused_row(void *arg, const char *tenant, int64_t at_ms)
{
    struct alerts *a = arg;
    if (!a->slo.pause_writes || !cfg_tenant(a->e->cfg, tenant))
        return;
    struct alerts_tenant *t = alerts_tenant_add(a, tenant);
    t->act.paused = true;
    t->act.paused_at = at_ms;
    t->act.in_warning_band = true;
    outboxproc_pause_writes(a->e->outbox, tenant, true,
                            "error budget exhausted (paused before this start)");
}

static void on_tick(uv_timer_t *t);

static void arm(struct alerts *a)
{
    int64_t iv = a->e->cfg->alerts_interval_ms;
    a->timer_interval_ms = iv;
    uv_timer_start(&a->timer, on_tick, (uint64_t)iv, (uint64_t)iv);
}

void alerts_start(struct alerts *a)
{
    if (a->started)
        return;
    a->started = true;
    if (store_alert_each(a->e->store, false, 0, 0, on_firing_row, a) < 0)
        log_warn("alerts: cannot read firing alerts: %s", store_errmsg(a->e->store));
    a->slots(a->slots_ctx, on_seed_slot, a);
    if (store_slo_paused_each(a->e->store, on_paused_row, a) < 0)
        log_warn("alerts: cannot read paused tenants: %s", store_errmsg(a->e->store));
    struct metric_family *f = obs_family("vomo_sync_alerts_firing");
    for (int r = 0; r < AR_COUNT; r++)
        metrics_set(f, METRIC_L(alertrule_name((enum alert_rule)r)),
                    (double)alertsm_firing(&a->sm, (enum alert_rule)r));
    arm(a);
}

/* ---- history upkeep ---- */

void alerts_flush(struct alerts *a)
{
    struct history *h = history_global();
    size_t n = 0;
    const struct history_entry *v = h ? history_entries(h, &n) : NULL;
    if (n == 0)
        return;
    int rc = store_history_write(a->e->store, v, n, 60 * history_resolution(h));
    if (rc < 0) {
        a->stats.flush_failures++;
        if (!a->flush_failing)
            log_warn("alerts: cannot write the alert history (%s): kept in memory, tried again "
                     "at the next evaluation",
                     store_errmsg(a->e->store));
        a->flush_failing = true;
        return;
    }
    a->flush_failing = false;
    a->stats.flushes++;
    history_clear(h);
}

static void upkeep(struct alerts *a, int64_t now)
{
    int64_t res = alerts_resolution(a);
    int64_t bucket = now - (now % res);
    if (bucket != a->flushed_bucket) {
        a->flushed_bucket = bucket;
        alerts_flush(a);
    }
    if (now < a->next_prune_ms)
        return;
    a->next_prune_ms = now + 60 * res;
    int64_t deleted = 0;
    int64_t hourly_keep = a->slo.window_ms[SLO_W_BUDGET] + 60 * res;
    if (store_history_prune(a->e->store, now - a->retention_ms, now - hourly_keep, &deleted) < 0)
        log_warn("alerts: cannot prune the alert history: %s", store_errmsg(a->e->store));
}

/* ---- the error budget's actions ---- */

static void apply_actions(struct alerts *a, struct alerts_tenant *t, int64_t now)
{
    int64_t resume_at = 0;
    if (t->act.paused && store_slo_resume_at(a->e->store, t->name, &resume_at) < 0)
        resume_at = 0;
    unsigned ch = slo_step(&a->slo, &t->slo, resume_at, now, &t->act);
    struct log_kv kv[] = {LOG_INT("budget_consumed_pct", (int64_t)(t->slo.consumed * 100))};
    struct log_fields f = {
        .tenant = t->name, .delay_ms = LOG_NO_DELAY, .kv = kv, .nkv = ARRAY_SIZE(kv)};
    if (ch & SLO_CH_DEBUG) {
        log_tenant_debug(t->name, t->act.debug_until);
        log_emit(LOG_WARN, &f,
                 "error budget of tenant %s over 100%% (%.0f%%): its debug lines are logged "
                 "for %lld s",
                 t->name, t->slo.consumed * 100, (long long)(a->slo.debug_for_ms / 1000));
    }
    if (ch & SLO_CH_PAUSE) {
        char why[256];
        snprintf(why, sizeof(why),
                 "error budget exhausted (%.0f%% consumed, pause_on_exhausted = writes); "
                 "`vomo-sync resume %s` sends them again",
                 t->slo.consumed * 100, t->name);
        outboxproc_pause_writes(a->e->outbox, t->name, true, why);
    }
    if (ch & SLO_CH_UNPAUSE)
        outboxproc_pause_writes(a->e->outbox, t->name, false,
                                t->slo.consumed < 1.0 ? "error budget burn below 100%"
                                                      : "resumed by an operator");
}

/* ---- what it shows ---- */

static void publish(struct alerts *a, int64_t now)
{
    struct metric_family *firing = obs_family("vomo_sync_alerts_firing");
    for (int r = 0; r < AR_COUNT; r++)
        metrics_set(firing, METRIC_L(alertrule_name((enum alert_rule)r)),
                    (double)alertsm_firing(&a->sm, (enum alert_rule)r));
    struct metric_family *rem = obs_family("vomo_sync_error_budget_remaining_ratio");
    struct metric_family *burn = obs_family("vomo_sync_error_budget_burn_rate");
    struct metric_family *act = obs_family("vomo_sync_error_budget_action");
    struct metric_family *fresh = obs_family("vomo_sync_freshness_ratio");
    struct store_slo_status *rows = xcalloc(a->ntenants ? a->ntenants : 1, sizeof(*rows));
    size_t n = 0;
    for (size_t i = 0; i < a->ntenants; i++) {
        struct alerts_tenant *t = &a->tenants[i];
        if (!t->configured)
            continue;
        metrics_set(rem, METRIC_L(t->name), t->slo.remaining);
        for (int w = 0; w < SLO_W_COUNT; w++)
            metrics_set(burn, METRIC_L(t->name, slo_window_name((enum slo_window)w)),
                        t->slo.burn[w]);
        enum slo_action in_force = slo_action(&t->act, now);
        for (int k = SLO_ACT_NONE; k <= SLO_ACT_PAUSE; k++)
            metrics_set(act, METRIC_L(t->name, slo_action_name((enum slo_action)k)),
                        k == (int)in_force);
        double fr = t->minutes > 0 ? (double)t->fresh / (double)t->minutes : -1;
        if (fr >= 0)
            metrics_set(fresh, METRIC_L(t->name), fr);
        rows[n++] = (struct store_slo_status){.tenant = t->name,
                                              .target = a->slo.target,
                                              .operations = t->counts.ops[SLO_W_BUDGET],
                                              .errors = t->counts.errors[SLO_W_BUDGET],
                                              .consumed = t->slo.consumed,
                                              .remaining_ratio = t->slo.remaining,
                                              .burn_5m = t->slo.burn[SLO_W_5M],
                                              .burn_30m = t->slo.burn[SLO_W_30M],
                                              .burn_1h = t->slo.burn[SLO_W_1H],
                                              .burn_6h = t->slo.burn[SLO_W_6H],
                                              .burn_3d = t->slo.burn[SLO_W_3D],
                                              .freshness = fr,
                                              .action = slo_action_name(in_force)};
    }
    if (store_slo_status_put(a->e->store, rows, n, now) < 0)
        log_warn("alerts: cannot record the error budgets: %s", store_errmsg(a->e->store));
    free(rows);
    char note[ALERTS_NOTE_LEN];
    alertrule_spike_note(&a->params, &a->global, now, note, sizeof(note));
    if (strcmp(note, a->spike_note) != 0) {
        snprintf(a->spike_note, sizeof(a->spike_note), "%s", note);
        if (store_alert_note(a->e->store, "ErrorClassSpike", note, now) < 0)
            log_warn("alerts: cannot record a note: %s", store_errmsg(a->e->store));
    }
}

/* Tenants removed from the configuration: their pause is lifted, then
 * they are forgotten. */
static void drop_removed(struct alerts *a)
{
    size_t k = 0;
    for (size_t i = 0; i < a->ntenants; i++) {
        struct alerts_tenant *t = &a->tenants[i];
        if (!t->configured) {
            if (t->act.paused)
                outboxproc_pause_writes(a->e->outbox, t->name, false,
                                        "tenant removed from the configuration");
            continue;
        }
        a->tenants[k++] = *t;
    }
    a->ntenants = k;
}

void alerts_evaluate(struct alerts *a, int64_t now)
{
    int64_t t0 = uv_hrtime();
    upkeep(a, now);
    alerts_read_inputs(a, now);
    drop_removed(a);
    struct alert_tenant_in *in = xcalloc(a->ntenants ? a->ntenants : 1, sizeof(*in));
    for (size_t i = 0; i < a->ntenants; i++)
        in[i] = a->tenants[i].in;
    alertrule_eval(&a->params, &a->global, in, a->ntenants, now, &a->conds);
    free(in);
    alertsm_step(&a->sm, &a->params, &a->conds, now, on_transition, a);
    for (size_t i = 0; i < a->ntenants; i++)
        apply_actions(a, &a->tenants[i], now);
    publish(a, now);
    a->stats.evaluations++;
    a->stats.last_eval_us = (int64_t)((uv_hrtime() - (uint64_t)t0) / 1000);
}

static void on_tick(uv_timer_t *t)
{
    struct alerts *a = t->data;
    if (a->stopping)
        return;
    alerts_evaluate(a, clock_wall_ms());
    if (a->e->cfg->alerts_interval_ms != a->timer_interval_ms)
        arm(a); /* a reload changed [alerts] interval */
}

void alerts_configure(struct alerts *a)
{
    configure(a);
}

void alerts_stop(struct alerts *a)
{
    a->stopping = true;
    uv_timer_stop(&a->timer);
    alerts_flush(a);
}

static void on_closed(uv_handle_t *h)
{
    struct alerts *a = h->data;
    struct engine *e = a->e;
    alertsm_free(&a->sm);
    alert_conds_free(&a->conds);
    free(a->tenants);
    free(a);
    e->open_handles--;
    engine_handle_closed(e);
}

void alerts_close(struct alerts *a)
{
    if (!a || a->closing)
        return;
    a->closing = true;
    uv_timer_stop(&a->timer);
    uv_close((uv_handle_t *)&a->timer, on_closed);
}

/* ---- /status ---- */

static cJSON *state_json(const struct alert_state *s)
{
    cJSON *o = cJSON_CreateObject();
    char at[TS_LEN];
    cJSON_AddNumberToObject(o, "id", (double)s->id);
    cJSON_AddStringToObject(o, "name", alertrule_name(s->rule));
    cJSON_AddStringToObject(o, "tenant", s->tenant);
    cJSON_AddStringToObject(o, "resource", s->resource);
    cJSON_AddStringToObject(o, "severity", alert_severity_name(s->severity));
    ts_format(s->fired_at, at);
    cJSON_AddStringToObject(o, "started_at", at);
    cJSON_AddStringToObject(o, "summary", s->summary);
    return o;
}

cJSON *alerts_status_json(const struct alerts *a, int64_t now_ms)
{
    cJSON *o = cJSON_CreateObject();
    cJSON *firing = cJSON_AddArrayToObject(o, "firing");
    for (size_t i = 0; i < a->sm.n; i++)
        if (a->sm.v[i].phase == ALERT_FIRING)
            cJSON_AddItemToArray(firing, state_json(&a->sm.v[i]));
    cJSON *pending = cJSON_AddArrayToObject(o, "pending");
    for (size_t i = 0; i < a->sm.n; i++)
        if (a->sm.v[i].phase == ALERT_PENDING)
            cJSON_AddItemToArray(pending, state_json(&a->sm.v[i]));
    cJSON *budgets = cJSON_AddArrayToObject(o, "error_budgets");
    for (size_t i = 0; i < a->ntenants; i++) {
        const struct alerts_tenant *t = &a->tenants[i];
        cJSON *b = cJSON_CreateObject();
        cJSON_AddStringToObject(b, "tenant", t->name);
        cJSON_AddNumberToObject(b, "consumed_pct", t->slo.consumed * 100);
        cJSON_AddNumberToObject(b, "remaining_ratio", t->slo.remaining);
        cJSON *burn = cJSON_AddObjectToObject(b, "burn");
        for (int w = 0; w < SLO_W_COUNT; w++)
            cJSON_AddNumberToObject(burn, slo_window_name((enum slo_window)w), t->slo.burn[w]);
        cJSON_AddStringToObject(b, "action", slo_action_name(slo_action(&t->act, now_ms)));
        cJSON_AddItemToArray(budgets, b);
    }
    cJSON *notes = cJSON_AddObjectToObject(o, "notes");
    if (a->spike_note[0])
        cJSON_AddStringToObject(notes, "ErrorClassSpike", a->spike_note);
    cJSON_AddNumberToObject(o, "evaluations", (double)a->stats.evaluations);
    cJSON_AddNumberToObject(o, "last_evaluation_us", (double)a->stats.last_eval_us);
    return o;
}
