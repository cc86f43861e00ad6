/*
 * alerts_input.c - the evaluator's reads (see alerts_int.h): the tenants
 * of the configuration, what the owner says of their resources, the DLQ
 * and freshness samples it adds to the history, and every window the
 * rules and the error budget need, each one range query of the history
 * (the minute table, or the hourly one for windows of 6 rollups and more)
 * plus what the accumulator still buffers.
 */
#include <stdlib.h>
#include <string.h>

#include "alerts_int.h"
#include "engine.h"
#include "log.h"
#include "store_history.h"
#include "store_scrape.h"

#define DAY_MS (24 * 3600 * 1000LL)

int64_t alerts_resolution(const struct alerts *a)
{
    (void)a;
    struct history *h = history_global();
    return h ? history_resolution(h) : 60000;
}

static int cmp_name(const void *k, const void *v)
{
    return strcmp(k, ((const struct alerts_tenant *)v)->name);
}

static int cmp_tenants(const void *x, const void *y)
{
    return strcmp(((const struct alerts_tenant *)x)->name, ((const struct alerts_tenant *)y)->name);
}

struct alerts_tenant *alerts_tenant_find(struct alerts *a, const char *name)
{
    if (a->ntenants == 0)
        return NULL;
    return bsearch(name, a->tenants, a->ntenants, sizeof(*a->tenants), cmp_name);
}

static int64_t floor_to(int64_t ms, int64_t width)
{
    int64_t q = ms / width;
    if (ms < 0 && q * width != ms)
        q--;
    return q * width;
}

struct alerts_tenant *alerts_tenant_add(struct alerts *a, const char *name)
{
    struct alerts_tenant *t = alerts_tenant_find(a, name);
    if (t)
        return t;
    if (a->ntenants == a->cap) {
        a->cap = a->cap ? a->cap * 2 : 8;
        a->tenants = xrealloc(a->tenants, a->cap * sizeof(*a->tenants));
    }
    t = &a->tenants[a->ntenants++];
    memset(t, 0, sizeof(*t));
    snprintf(t->name, sizeof(t->name), "%s", name);
    qsort(a->tenants, a->ntenants, sizeof(*a->tenants), cmp_tenants);
    return alerts_tenant_find(a, name);
}

/* Tenants of the configuration: new ones added, kept ones reset. */
static void sync_tenants(struct alerts *a)
{
    const struct config *cfg = a->e->cfg;
    for (size_t i = 0; i < a->ntenants; i++)
        a->tenants[i].configured = false;
    for (size_t i = 0; i < cfg->ntenants; i++)
        alerts_tenant_add(a, cfg->tenants[i].name)->configured = true;
    for (size_t i = 0; i < a->ntenants; i++) {
        struct alerts_tenant *t = &a->tenants[i];
        memset(&t->in, 0, sizeof(t->in));
        t->in.tenant = t->name;
        t->stopped_why[0] = '\0';
    }
}

static void on_slot(void *arg, const struct alerts_slot_view *v)
{
    struct alerts *a = arg;
    struct alerts_tenant *t = alerts_tenant_find(a, v->tenant);
    if (!t || t->in.nslots >= RES_COUNT)
        return;
    if (v->tenant_stopped) {
        snprintf(t->stopped_why, sizeof(t->stopped_why), "%s", v->tenant_stopped);
        t->in.stopped = t->stopped_why;
    }
    int k = t->in.nslots++;
    snprintf(t->resources[k], sizeof(t->resources[k]), "%s", v->resource);
    struct history *h = history_global();
    t->in.slots[k] = (struct alert_slot_in){
        .resource = t->resources[k],
        .last_complete_ms = h ? history_last_complete(h, v->tenant, v->resource) : 0,
        .stopped = v->resource_stopped};
}

/* ---- windows ---- */

struct sum_ctx {
    struct alerts *a;
    size_t off;
};

static int64_t *field(struct alerts_tenant *t, size_t off)
{
    return (int64_t *)(void *)((char *)t + off);
}

static void on_sum(void *arg, const char *tenant, const char *resource, int64_t sum)
{
    (void)resource;
    struct sum_ctx *c = arg;
    struct alerts_tenant *t = alerts_tenant_find(c->a, tenant);
    if (t)
        *field(t, c->off) += sum;
}

static void read_failed(struct alerts *a, const char *what)
{
    log_warn("alerts: %s: %s", what, store_errmsg(a->e->store));
}

/* [from, to) of a window ending with now's bucket; *hourly when the
 * hourly table answers it. */
static void window_bounds(const struct alerts *a, int64_t window_ms, int64_t now, int64_t *from,
                          int64_t *to, bool *hourly)
{
    int64_t res = alerts_resolution(a), rollup = 60 * res;
    *to = floor_to(now, res) + res;
    *hourly = window_ms >= 6 * rollup;
    *from = *hourly ? floor_to(now - window_ms, rollup) : *to - window_ms;
}

/* Sets the int64 at off of every tenant to the sum of series over the
 * window ending now. */
static void window_sum(struct alerts *a, const char *series, int64_t window_ms, int64_t now,
                       size_t off, int slot)
{
    int64_t from, to;
    bool hourly;
    window_bounds(a, window_ms, now, &from, &to, &hourly);
    /* Windows of hours and days move little between evaluations and are
     * the costly reads: each is read at first, then again in its turn
     * (one per evaluation), and keeps its sums in between. */
    uint32_t bit = 1u << slot;
    if (hourly && (a->hourly_done & bit) && slot != (int)(a->hourly_turn % ALERTS_HOURLY_SLOTS))
        return;
    if (hourly)
        a->hourly_done |= bit;
    for (size_t i = 0; i < a->ntenants; i++)
        *field(&a->tenants[i], off) = 0;
    struct sum_ctx c = {a, off};
    if (store_history_sums(a->e->store, hourly ? HIST_HOURLY : HIST_MINUTES, series, from, to,
                           on_sum, &c) < 0)
        read_failed(a, "reading the history");
    struct history *h = history_global();
    size_t n = 0;
    const struct history_entry *v = h ? history_entries(h, &n) : NULL;
    for (size_t i = 0; i < n; i++)
        if (!v[i].sample && v[i].at_ms >= from && v[i].at_ms < to &&
            strcmp(v[i].series, series) == 0)
            on_sum(&c, v[i].tenant, v[i].resource, v[i].value);
}

/* ---- samples ---- */

static void on_dlq_rows(void *arg, const char *tenant, const char *status, int64_t rows)
{
    struct alerts_tenant *t = alerts_tenant_find(arg, tenant);
    if (t && (strcmp(status, "pending") == 0 || strcmp(status, "manual_review") == 0))
        t->in.dlq_now += rows;
}

/* A sample: the latest one at or before the instant asked for wins. */
static void on_sample(void *arg, const char *tenant, int64_t at_ms, int64_t value)
{
    struct sum_ctx *c = arg;
    struct alerts_tenant *t = alerts_tenant_find(c->a, tenant);
    if (t && at_ms >= t->sample_at) {
        t->sample_at = at_ms;
        *field(t, c->off) = value;
    }
}

/* How far back a DLQ sample may be and still stand for an instant: a
 * missed evaluation or two (a busy loop, an interval near the bucket
 * width) must not silence the rule. */
#define SAMPLE_REACH 5

/* Into the int64 at off, the latest DLQ sample of the bucket at `at` or
 * of the SAMPLE_REACH buckets before it (-1: none). */
static void dlq_at(struct alerts *a, int64_t at, size_t off)
{
    for (size_t i = 0; i < a->ntenants; i++) {
        *field(&a->tenants[i], off) = -1;
        a->tenants[i].sample_at = INT64_MIN;
    }
    int64_t from = at - SAMPLE_REACH * alerts_resolution(a);
    struct sum_ctx c = {a, off};
    if (store_history_samples(a->e->store, HS_DLQ_ROWS, from, at, on_sample, &c) < 0)
        read_failed(a, "reading DLQ samples");
    struct history *h = history_global();
    size_t n = 0;
    const struct history_entry *v = h ? history_entries(h, &n) : NULL;
    for (size_t i = 0; i < n; i++)
        if (v[i].sample && v[i].at_ms >= from && v[i].at_ms <= at &&
            strcmp(v[i].series, HS_DLQ_ROWS) == 0)
            on_sample(&c, v[i].tenant, v[i].at_ms, v[i].value);
}

static void sample_dlq(struct alerts *a, int64_t now)
{
    if (store_dlq_count_rows(a->e->store, on_dlq_rows, a) < 0)
        read_failed(a, "counting dead letters");
    struct history *h = history_global();
    for (size_t i = 0; h && i < a->ntenants; i++)
        if (a->tenants[i].configured)
            history_sample(h, now, HS_DLQ_ROWS, a->tenants[i].name, "", a->tenants[i].in.dlq_now);
    int64_t res = alerts_resolution(a), w = a->params.dlq_window_ms;
    dlq_at(a, floor_to(now - w, res), offsetof(struct alerts_tenant, dlq_mid));
    dlq_at(a, floor_to(now - 2 * w, res), offsetof(struct alerts_tenant, dlq_old));
    for (size_t i = 0; i < a->ntenants; i++) {
        struct alerts_tenant *t = &a->tenants[i];
        t->in.dlq_known = t->dlq_mid >= 0 && t->dlq_old >= 0;
        t->in.dlq_mid = t->dlq_mid;
        t->in.dlq_old = t->dlq_old;
    }
}

/* Freshness: once per bucket, whether every running slot of each running
 * tenant had a complete scan within 2x the interval (+ jitter). */
static void sample_freshness(struct alerts *a, int64_t now)
{
    struct history *h = history_global();
    int64_t bucket = floor_to(now, alerts_resolution(a));
    if (!h || bucket == a->fresh_bucket)
        return;
    a->fresh_bucket = bucket;
    const struct config *cfg = a->e->cfg;
    int64_t bound = 2 * cfg->poll_interval_ms + cfg->poll_jitter_ms;
    for (size_t i = 0; i < a->ntenants; i++) {
        struct alerts_tenant *t = &a->tenants[i];
        if (!t->configured || t->in.stopped)
            continue;
        bool fresh = true;
        for (int k = 0; k < t->in.nslots; k++) {
            int64_t last = t->in.slots[k].last_complete_ms;
            int64_t since = last > a->started_ms ? last : a->started_ms;
            fresh = fresh && (t->in.slots[k].stopped || now - since <= bound);
        }
        history_add(h, now, HS_MINUTES, t->name, "", 1);
        if (fresh)
            history_add(h, now, HS_FRESH, t->name, "", 1);
    }
}

/* ---- ErrorClassSpike ---- */

struct spike_ctx {
    int64_t *counts;
};

static void on_class(void *arg, const char *series, int64_t sum)
{
    struct spike_ctx *c = arg;
    enum err_class cls;
    if (err_class_parse(series + strlen(HS_ERROR_PREFIX), &cls) == 0)
        c->counts[cls] += sum;
}

/* Per class, one range of the key each: a prefix range of series would
 * read every error row of the days in between. */
static void class_sums(struct alerts *a, int64_t from, int64_t to, int64_t *counts)
{
    for (int c = EC_NONE + 1; c < EC_COUNT; c++) {
        char series[HISTORY_SERIES_LEN];
        snprintf(series, sizeof(series), "%s%s", HS_ERROR_PREFIX,
                 err_class_name((enum err_class)c));
        int64_t sum = 0;
        if (store_history_total(a->e->store, series, from, to, &sum) < 0)
            read_failed(a, "reading error classes");
        counts[c] += sum;
    }
}

static void read_spike(struct alerts *a, int64_t now)
{
    struct alert_global_in *g = &a->global;
    memset(g->class_recent, 0, sizeof(g->class_recent));
    memset(g->class_baseline, 0, sizeof(g->class_baseline));
    g->baseline_days = 0;
    if (now - a->started_ms > a->params.spike_after_start_ms)
        return;
    int64_t res = alerts_resolution(a);
    int64_t from = floor_to(a->started_ms, res), to = floor_to(now, res) + res;
    class_sums(a, from, to, g->class_recent);
    struct history *h = history_global();
    size_t n = 0;
    const struct history_entry *v = h ? history_entries(h, &n) : NULL;
    for (size_t i = 0; i < n; i++)
        if (!v[i].sample && strncmp(v[i].series, HS_ERROR_PREFIX, strlen(HS_ERROR_PREFIX)) == 0 &&
            v[i].at_ms >= from) {
            const char *name = v[i].series;
            struct spike_ctx c = {g->class_recent};
            on_class(&c, name, v[i].value);
        }
    int64_t base[EC_COUNT] = {0};
    for (int d = 1; d <= a->params.spike_days; d++) {
        bool any = false;
        if (store_history_any(a->e->store, HS_MINUTES, from - d * DAY_MS, to - d * DAY_MS, &any) <
            0)
            read_failed(a, "reading the history");
        if (!any)
            continue;
        g->baseline_days++;
        class_sums(a, from - d * DAY_MS, to - d * DAY_MS, base);
    }
    for (int c = 0; c < EC_COUNT && g->baseline_days > 0; c++)
        g->class_baseline[c] = (double)base[c] / g->baseline_days;
}

/* ---- everything ---- */

#define OFF(f) offsetof(struct alerts_tenant, f)

void alerts_read_inputs(struct alerts *a, int64_t now)
{
    const struct config *cfg = a->e->cfg;
    sync_tenants(a);
    a->slots(a->slots_ctx, on_slot, a);
    a->global.started_ms = a->started_ms;
    a->global.poll_interval_ms = cfg->poll_interval_ms;
    a->global.poll_jitter_ms = cfg->poll_jitter_ms;
    sample_dlq(a, now);
    sample_freshness(a, now);
    const struct alert_params *p = &a->params;
    window_sum(a, HS_VOMO_5XX, p->server_window_ms, now, OFF(in.server_errors), 0);
    window_sum(a, HS_OPS, p->failing_window_ms, now, OFF(in.ops), 1);
    window_sum(a, HS_OPS_ERROR, p->failing_window_ms, now, OFF(in.failures), 2);
    for (int w = 0; w < SLO_W_COUNT; w++) {
        window_sum(a, HS_OPS, a->slo.window_ms[w], now, OFF(counts.ops[w]), 3 + 2 * w);
        window_sum(a, HS_OPS_ERROR, a->slo.window_ms[w], now, OFF(counts.errors[w]), 4 + 2 * w);
    }
    int64_t budget = a->slo.window_ms[SLO_W_BUDGET];
    window_sum(a, HS_MINUTES, budget, now, OFF(minutes), 3 + 2 * SLO_W_COUNT);
    window_sum(a, HS_FRESH, budget, now, OFF(fresh), 4 + 2 * SLO_W_COUNT);
    a->hourly_turn++;
    for (size_t i = 0; i < a->ntenants; i++) {
        struct alerts_tenant *t = &a->tenants[i];
        slo_compute(&a->slo, &t->counts, &t->slo);
        t->in.slo = &t->slo;
    }
    read_spike(a, now);
}
