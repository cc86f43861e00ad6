/*
 * alertrule.c - the built-in alert rules and their state machine (see
 * alertrule.h).  Each rule reads its inputs and appends the conditions
 * that hold; the state machine decides what is pending, firing, held and
 * resolved.
 */
#include "alertrule.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util.h"

#define MIN_MS (60 * 1000LL)

static const char *const names[AR_COUNT] = {
    "VomoServerErrors", "TenantFailing", "ErrorClassSpike", "DlqGrowthAccelerating",
    "PollingLag",       "TenantStopped", "ErrorBudgetBurn",
};
/* Fixed 128-bit ids (journalctl MESSAGE_ID=...): never change them. */
static const char *const message_ids[AR_COUNT] = {
    "3f1c6a0e8b7d4c2a9e5f0b1d2c3a4e01", "3f1c6a0e8b7d4c2a9e5f0b1d2c3a4e02",
    "3f1c6a0e8b7d4c2a9e5f0b1d2c3a4e03", "3f1c6a0e8b7d4c2a9e5f0b1d2c3a4e04",
    "3f1c6a0e8b7d4c2a9e5f0b1d2c3a4e05", "3f1c6a0e8b7d4c2a9e5f0b1d2c3a4e06",
    "3f1c6a0e8b7d4c2a9e5f0b1d2c3a4e07",
};

const char *alertrule_name(enum alert_rule r)
{
    return (unsigned)r < AR_COUNT ? names[r] : "?";
}

const char *alertrule_message_id(enum alert_rule r)
{
    return (unsigned)r < AR_COUNT ? message_ids[r] : "00000000000000000000000000000000";
}

const char *alert_severity_name(enum alert_severity s)
{
    return s == ALERT_CRITICAL ? "critical" : "warning";
}

void alertrule_defaults(struct alert_params *p)
{
    *p = (struct alert_params){.server_window_ms = 5 * MIN_MS,
                               .server_min = 5,
                               .failing_window_ms = 15 * MIN_MS,
                               .failing_ratio = 0.20,
                               .failing_min = 10,
                               .others_ratio = 0.02,
                               .spike_after_start_ms = 60 * MIN_MS,
                               .spike_factor = 3,
                               .spike_min = 5,
                               .spike_days = 7,
                               .dlq_window_ms = 30 * MIN_MS,
                               .dlq_factor = 2,
                               .dlq_min = 10,
                               .keep_firing_for_ms = 5 * MIN_MS};
    p->for_ms[AR_TENANT_FAILING] = 5 * MIN_MS;
    p->for_ms[AR_DLQ_GROWTH] = 5 * MIN_MS;
}

void alert_conds_free(struct alert_conds *c)
{
    free(c->v);
    *c = (struct alert_conds){0};
}

static void copy_cut(char *dst, size_t cap, const char *src)
{
    snprintf(dst, cap, "%s", src ? src : "");
}

static struct alert_cond *push(struct alert_conds *c, enum alert_rule r, enum alert_severity sev,
                               const char *tenant, const char *resource)
{
    if (c->n == c->cap) {
        c->cap = c->cap ? c->cap * 2 : 16;
        c->v = xrealloc(c->v, c->cap * sizeof(*c->v));
    }
    struct alert_cond *a = &c->v[c->n++];
    memset(a, 0, sizeof(*a));
    a->rule = r;
    a->severity = sev;
    copy_cut(a->tenant, sizeof(a->tenant), tenant);
    copy_cut(a->resource, sizeof(a->resource), resource);
    return a;
}

/*
 * Per tenant when only one tenant sees the errors; overall (tenant "")
 * when several do, so a VOMO-wide outage is one alert, not one per tenant.
 */
void alertrule_server_errors(const struct alert_params *p, const struct alert_tenant_in *t,
                             size_t n, struct alert_conds *out)
{
    int64_t total = 0;
    size_t seeing = 0;
    for (size_t i = 0; i < n; i++) {
        total += t[i].server_errors;
        seeing += t[i].server_errors > 0;
    }
    if (total < p->server_min)
        return;
    char win[CFG_UNIT_LEN];
    cfg_format_duration(p->server_window_ms, win);
    if (seeing > 1) {
        struct alert_cond *a = push(out, AR_VOMO_SERVER_ERRORS, ALERT_CRITICAL, "", "");
        snprintf(a->summary, sizeof(a->summary),
                 "VOMO answered %lld requests of %zu tenants with 5xx or timeouts in %s",
                 (long long)total, seeing, win);
        return;
    }
    for (size_t i = 0; i < n; i++)
        if (t[i].server_errors >= p->server_min) {
            struct alert_cond *a =
                push(out, AR_VOMO_SERVER_ERRORS, ALERT_CRITICAL, t[i].tenant, "");
            snprintf(a->summary, sizeof(a->summary),
                     "VOMO answered %lld requests of tenant %s with 5xx or timeouts in %s",
                     (long long)t[i].server_errors, t[i].tenant, win);
        }
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

/* The median failure ratio of the tenants with operations other than skip. */
static bool median_of_others(const struct alert_tenant_in *t, size_t n, size_t skip, double *med)
{
    double *r = xcalloc(n ? n : 1, sizeof(*r));
    size_t k = 0;
    for (size_t i = 0; i < n; i++)
        if (i != skip && t[i].ops > 0)
            r[k++] = (double)t[i].failures / (double)t[i].ops;
    if (k == 0) {
        free(r);
        return false;
    }
    qsort(r, k, sizeof(*r), cmp_double);
    *med = k % 2 ? r[k / 2] : (r[k / 2 - 1] + r[k / 2]) / 2;
    free(r);
    return true;
}

void alertrule_tenant_failing(const struct alert_params *p, const struct alert_tenant_in *t,
                              size_t n, struct alert_conds *out)
{
    for (size_t i = 0; i < n; i++) {
        if (t[i].ops <= 0 || t[i].failures < p->failing_min)
            continue;
        double ratio = (double)t[i].failures / (double)t[i].ops;
        double med;
        if (ratio <= p->failing_ratio || !median_of_others(t, n, i, &med) || med >= p->others_ratio)
            continue;
        struct alert_cond *a = push(out, AR_TENANT_FAILING, ALERT_WARNING, t[i].tenant, "");
        char win[CFG_UNIT_LEN];
        cfg_format_duration(p->failing_window_ms, win);
        snprintf(a->summary, sizeof(a->summary),
                 "tenant %s: %lld of %lld operations failed in %s (%.0f%%) while the "
                 "others' median is %.1f%%",
                 t[i].tenant, (long long)t[i].failures, (long long)t[i].ops, win, ratio * 100,
                 med * 100);
    }
}

void alertrule_class_spike(const struct alert_params *p, const struct alert_global_in *g,
                           int64_t now, struct alert_conds *out)
{
    if (now - g->started_ms > p->spike_after_start_ms || g->baseline_days <= 0)
        return;
    int best = -1;
    double best_ratio = 0;
    for (int c = EC_NONE + 1; c < EC_COUNT; c++) {
        int64_t recent = g->class_recent[c];
        double base = g->class_baseline[c];
        if (recent < p->spike_min || (double)recent <= p->spike_factor * base)
            continue;
        double ratio = base > 0 ? (double)recent / base : (double)recent;
        if (best < 0 || ratio > best_ratio) {
            best = c;
            best_ratio = ratio;
        }
    }
    if (best < 0)
        return;
    struct alert_cond *a = push(out, AR_ERROR_CLASS_SPIKE, ALERT_WARNING, "", "");
    snprintf(a->summary, sizeof(a->summary),
             "error class %s: %lld since the daemon started, against %.1f in the same hours "
             "of the previous %d day(s)",
             err_class_name((enum err_class)best), (long long)g->class_recent[best],
             g->class_baseline[best], g->baseline_days);
}

void alertrule_spike_note(const struct alert_params *p, const struct alert_global_in *g,
                          int64_t now, char *out, size_t len)
{
    out[0] = '\0';
    if (now - g->started_ms <= p->spike_after_start_ms && g->baseline_days <= 0)
        snprintf(out, len,
                 "no history of previous days yet: error classes are not compared after "
                 "this start");
}

void alertrule_dlq_growth(const struct alert_params *p, const struct alert_tenant_in *t,
                          struct alert_conds *out)
{
    if (!t->dlq_known)
        return;
    int64_t last = t->dlq_now - t->dlq_mid, before = t->dlq_mid - t->dlq_old;
    if (last < p->dlq_min || (double)last <= p->dlq_factor * (double)(before > 0 ? before : 0))
        return;
    struct alert_cond *a = push(out, AR_DLQ_GROWTH, ALERT_WARNING, t->tenant, "");
    char win[CFG_UNIT_LEN];
    cfg_format_duration(p->dlq_window_ms, win);
    snprintf(a->summary, sizeof(a->summary),
             "tenant %s: the DLQ grew by %lld rows in %s, after %lld in the %s before", t->tenant,
             (long long)last, win, (long long)before, win);
}

void alertrule_polling_lag(const struct alert_global_in *g, const struct alert_tenant_in *t,
                           int64_t now, struct alert_conds *out)
{
    if (t->stopped)
        return;
    int64_t bound = 2 * g->poll_interval_ms + g->poll_jitter_ms;
    for (int i = 0; i < t->nslots; i++) {
        const struct alert_slot_in *s = &t->slots[i];
        int64_t since = s->last_complete_ms > g->started_ms ? s->last_complete_ms : g->started_ms;
        if (s->stopped || now - since <= bound)
            continue;
        struct alert_cond *a = push(out, AR_POLLING_LAG, ALERT_WARNING, t->tenant, s->resource);
        char lim[CFG_UNIT_LEN], at[TS_LEN];
        cfg_format_duration(bound, lim);
        if (s->last_complete_ms > 0) {
            ts_format(s->last_complete_ms, at);
            snprintf(a->summary, sizeof(a->summary),
                     "%s/%s: no complete scan since %s (more than %s)", t->tenant, s->resource, at,
                     lim);
        } else {
            snprintf(a->summary, sizeof(a->summary),
                     "%s/%s: no complete scan since the daemon started (more than %s)", t->tenant,
                     s->resource, lim);
        }
    }
}

void alertrule_stopped(const struct alert_tenant_in *t, struct alert_conds *out)
{
    if (t->stopped) {
        struct alert_cond *a = push(out, AR_TENANT_STOPPED, ALERT_CRITICAL, t->tenant, "");
        snprintf(a->summary, sizeof(a->summary), "tenant %s is stopped: %s", t->tenant, t->stopped);
        return;
    }
    for (int i = 0; i < t->nslots; i++)
        if (t->slots[i].stopped) {
            struct alert_cond *a =
                push(out, AR_TENANT_STOPPED, ALERT_WARNING, t->tenant, t->slots[i].resource);
            snprintf(a->summary, sizeof(a->summary), "%s/%s is stopped: VOMO refused it (403)",
                     t->tenant, t->slots[i].resource);
        }
}

void alertrule_budget(const struct alert_tenant_in *t, struct alert_conds *out)
{
    if (!t->slo || t->slo->level <= 0)
        return;
    struct alert_cond *a = push(out, AR_ERROR_BUDGET_BURN,
                                t->slo->level >= 2 ? ALERT_CRITICAL : ALERT_WARNING, t->tenant, "");
    snprintf(a->summary, sizeof(a->summary), "tenant %s: %s", t->tenant, t->slo->why);
}

void alertrule_eval(const struct alert_params *p, const struct alert_global_in *g,
                    const struct alert_tenant_in *t, size_t n, int64_t now, struct alert_conds *out)
{
    out->n = 0;
    alertrule_server_errors(p, t, n, out);
    alertrule_tenant_failing(p, t, n, out);
    alertrule_class_spike(p, g, now, out);
    for (size_t i = 0; i < n; i++) {
        alertrule_dlq_growth(p, &t[i], out);
        alertrule_polling_lag(g, &t[i], now, out);
        alertrule_stopped(&t[i], out);
        alertrule_budget(&t[i], out);
    }
}

/* ---- the state machine ---- */

void alertsm_free(struct alert_sm *sm)
{
    free(sm->v);
    *sm = (struct alert_sm){0};
}

static struct alert_state *find(struct alert_sm *sm, enum alert_rule r, const char *tenant,
                                const char *resource)
{
    for (size_t i = 0; i < sm->n; i++) {
        struct alert_state *s = &sm->v[i];
        if (s->rule == r && strcmp(s->tenant, tenant) == 0 && strcmp(s->resource, resource) == 0)
            return s;
    }
    return NULL;
}

static struct alert_state *add(struct alert_sm *sm, enum alert_rule r, const char *tenant,
                               const char *resource)
{
    if (sm->n == sm->cap) {
        sm->cap = sm->cap ? sm->cap * 2 : 16;
        sm->v = xrealloc(sm->v, sm->cap * sizeof(*sm->v));
    }
    struct alert_state *s = &sm->v[sm->n++];
    memset(s, 0, sizeof(*s));
    s->rule = r;
    copy_cut(s->tenant, sizeof(s->tenant), tenant);
    copy_cut(s->resource, sizeof(s->resource), resource);
    return s;
}

struct alert_state *alertsm_adopt(struct alert_sm *sm, enum alert_rule r, const char *tenant,
                                  const char *resource, enum alert_severity sev,
                                  const char *summary, int64_t fired_at, int64_t now, int64_t id)
{
    struct alert_state *s = find(sm, r, tenant, resource);
    if (!s)
        s = add(sm, r, tenant, resource);
    s->phase = ALERT_FIRING;
    s->severity = sev;
    copy_cut(s->summary, sizeof(s->summary), summary);
    s->active_since = s->fired_at = fired_at;
    s->last_active = now; /* held for keep_firing_for unless it holds again */
    s->id = id;
    return s;
}

size_t alertsm_firing(const struct alert_sm *sm, enum alert_rule r)
{
    size_t k = 0;
    for (size_t i = 0; i < sm->n; i++)
        k += sm->v[i].phase == ALERT_FIRING && (r == AR_COUNT || sm->v[i].rule == r);
    return k;
}

static void activate(struct alert_state *s, const struct alert_params *p,
                     const struct alert_cond *c, int64_t now, alertsm_fn fn, void *arg)
{
    if (s->phase == ALERT_INACTIVE) {
        s->phase = ALERT_PENDING;
        s->active_since = now;
        s->severity = c->severity;
    }
    s->last_active = now;
    copy_cut(s->summary, sizeof(s->summary), c->summary);
    if (s->phase == ALERT_PENDING) {
        if (c->severity > s->severity)
            s->severity = c->severity;
        if (now - s->active_since >= p->for_ms[s->rule]) {
            s->phase = ALERT_FIRING;
            s->fired_at = now;
            s->resolved_at = 0;
            fn(arg, s, ALERT_TR_FIRING);
        }
    } else if (c->severity > s->severity) {
        /* A new episode at the higher severity: targets that key on the
         * episode and state (the webhook's Idempotency-Key) see it. */
        s->resolved_at = now;
        fn(arg, s, ALERT_TR_RESOLVED);
        s->severity = c->severity;
        s->fired_at = now;
        s->resolved_at = 0;
        s->id = 0;
        fn(arg, s, ALERT_TR_FIRING);
    }
}

void alertsm_step(struct alert_sm *sm, const struct alert_params *p, const struct alert_conds *c,
                  int64_t now, alertsm_fn fn, void *arg)
{
    for (size_t i = 0; i < c->n; i++) {
        const struct alert_cond *a = &c->v[i];
        struct alert_state *s = find(sm, a->rule, a->tenant, a->resource);
        if (!s)
            s = add(sm, a->rule, a->tenant, a->resource);
        activate(s, p, a, now, fn, arg);
    }
    for (size_t i = 0; i < sm->n; i++) {
        struct alert_state *s = &sm->v[i];
        if (s->last_active == now)
            continue;
        if (s->phase == ALERT_PENDING) {
            s->phase = ALERT_INACTIVE;
        } else if (s->phase == ALERT_FIRING && now - s->last_active >= p->keep_firing_for_ms) {
            s->phase = ALERT_INACTIVE;
            s->resolved_at = now;
            fn(arg, s, ALERT_TR_RESOLVED);
        }
    }
    size_t k = 0;
    for (size_t i = 0; i < sm->n; i++)
        if (sm->v[i].phase != ALERT_INACTIVE)
            sm->v[k++] = sm->v[i];
    sm->n = k;
}
