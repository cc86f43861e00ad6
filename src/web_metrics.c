/*
 * web_metrics.c - GET /metrics: the registry of obs.h in the Prometheus
 * text format, after the gauges that are read rather than counted have
 * been set from the running engine (breakers, tenant states, budgets,
 * gates, lanes, scans in progress) and from the state database with a few
 * cheap reads (store_scrape.h): dead letters per status, each tenant's
 * oldest pending one, holds, checkpoint lag.  Once per scrape, never per
 * record.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine.h"
#include "log.h"
#include "obs.h"
#include "scan.h"
#include "store_outbox.h"
#include "store_scrape.h"
#include "web_int.h"

#define METRICS_MAX_TEXT (64u * 1024 * 1024)

static const char *const dlq_statuses[] = {"pending", "manual_review", "resolved", "discarded"};
static const char *const outbox_states[] = {"pending", "in_flight", "unknown", "manual_review"};
static const char *const breaker_states[] = {"closed", "open", "half_open"};
static const char *const tenant_states[] = {"ok", "auth_failed", "destination_paused"};

static struct metric_family *fresh(const char *name)
{
    struct metric_family *f = obs_family(name);
    metrics_clear(f);
    return f;
}

static void breaker_gauge(const char *name, const struct breaker *b)
{
    struct metric_family *f = obs_family("vomo_sync_breaker_state");
    const char *cur = breaker_state_name(b->state);
    for (size_t i = 0; i < ARRAY_SIZE(breaker_states); i++)
        metrics_set(f, METRIC_L(name, breaker_states[i]), strcmp(cur, breaker_states[i]) == 0);
}

static int64_t queued(const struct lane *l)
{
    int64_t n = 0;
    for (const struct lane_job *j = l->head; j; j = j->next)
        n++;
    return n;
}

static void tenant_gauges(const struct tenant *t, int64_t now)
{
    const char *state = t->status != TENANT_OK ? "auth_failed"
                        : t->dest_paused       ? "destination_paused"
                                               : "ok";
    struct metric_family *ts = obs_family("vomo_sync_tenant_state");
    for (size_t i = 0; i < ARRAY_SIZE(tenant_states); i++)
        metrics_set(ts, METRIC_L(t->name, tenant_states[i]), strcmp(state, tenant_states[i]) == 0);
    metrics_set(obs_family("vomo_sync_retry_budget_tokens"), METRIC_L(t->name), t->budget.tokens);
    int64_t wait = rategate_next_start(&t->gate, now) - now;
    metrics_set(obs_family("vomo_sync_rate_gate_wait_seconds"), METRIC_L(t->name),
                wait > 0 ? (double)wait / 1000.0 : 0);
    struct metric_family *lq = obs_family("vomo_sync_lane_queued_jobs");
    metrics_set(lq, METRIC_L(t->name, "vomo"), (double)queued(&t->vomo_lane));
    if (t->dest_kind == DEST_WEBHOOK) {
        metrics_set(lq, METRIC_L(t->name, "destination"), (double)queued(&t->dest_lane));
        char name[96];
        snprintf(name, sizeof(name), "destination:%s", t->name);
        breaker_gauge(name, &t->dest_breaker);
    }
    for (int r = 0; r < RES_COUNT; r++) {
        if (!(t->resources & RES_BIT(r)))
            continue;
        const char *res = resource_name((enum resource)r);
        const struct scan *sc = t->slots[r].scan;
        int done = 0, last = 0;
        int64_t records = 0, started = 0;
        if (sc)
            scan_progress(sc, &done, &last, &records, &started);
        metrics_set(obs_family("vomo_sync_scans_running"), METRIC_L(t->name, res), sc != NULL);
        metrics_set(obs_family("vomo_sync_scan_pages_done"), METRIC_L(t->name, res), done);
    }
}

static void on_dlq_rows(void *arg, const char *tenant, const char *status, int64_t rows)
{
    (void)arg;
    metrics_set(obs_family("vomo_sync_dlq_rows"), METRIC_L(tenant, status), (double)rows);
}

static void on_outbox_rows(void *arg, const char *tenant, const char *state, int64_t rows)
{
    (void)arg;
    metrics_set(obs_family("vomo_sync_outbox_rows"), METRIC_L(tenant, state), (double)rows);
}

static void on_holds(void *arg, const char *tenant, const char *resource, int64_t n)
{
    (void)arg;
    metrics_set(obs_family("vomo_sync_holds"), METRIC_L(tenant, resource), (double)n);
}

static void on_checkpoint(void *arg, const char *tenant, const char *resource,
                          const char *updated_after, const char *last_status, const char *last_at)
{
    const int64_t *now = arg;
    int64_t ms;
    if (ts_parse(updated_after, &ms) == 0)
        metrics_set(obs_family("vomo_sync_checkpoint_lag_seconds"), METRIC_L(tenant, resource),
                    (double)(*now - ms) / 1000.0);
    /* Before this process finished a scan, the last success is the
     * database's (a restart does not make a resource look stale). */
    struct metric_family *ok = obs_family("vomo_sync_last_scan_success_timestamp_seconds");
    if (strcmp(last_status, "complete") == 0 && metrics_value(ok, METRIC_L(tenant, resource)) < 0 &&
        ts_parse(last_at, &ms) == 0)
        metrics_set(ok, METRIC_L(tenant, resource), (double)ms / 1000.0);
}

static void on_oldest(void *arg, const char *tenant, const char *created)
{
    const int64_t *now = arg;
    int64_t ms;
    double age = 0;
    if (created[0] && ts_parse(created, &ms) == 0 && *now > ms)
        age = (double)(*now - ms) / 1000.0;
    metrics_set(obs_family("vomo_sync_dlq_oldest_pending_age_seconds"), METRIC_L(tenant), age);
}

/* The database part: each read on its own, a failing one logged. */
static void store_gauges(struct engine *e, int64_t now)
{
    struct store *st = e->store;
    if (store_dlq_count_rows(st, on_dlq_rows, NULL) < 0)
        log_warn("metrics: %s", store_errmsg(st));
    if (store_outbox_count_rows(st, on_outbox_rows, NULL) < 0)
        log_warn("metrics: %s", store_errmsg(st));
    if (store_hold_counts(st, on_holds, NULL) < 0)
        log_warn("metrics: %s", store_errmsg(st));
    if (store_checkpoint_each(st, on_checkpoint, &now) < 0)
        log_warn("metrics: %s", store_errmsg(st));
    const char *names[512];
    size_t n = 0;
    for (const struct tenant *t = e->tenants; t && n < ARRAY_SIZE(names); t = t->next)
        names[n++] = t->name;
    if (store_dlq_oldest_pending(st, names, n, on_oldest, &now) < 0)
        log_warn("metrics: %s", store_errmsg(st));
}

static void collect(struct metrics *m, void *arg)
{
    (void)m;
    struct web *w = arg;
    struct engine *e = w->e;
    int64_t now = clock_wall_ms();
    static const char *const scraped[] = {"vomo_sync_dlq_rows",
                                          "vomo_sync_outbox_rows",
                                          "vomo_sync_dlq_oldest_pending_age_seconds",
                                          "vomo_sync_holds",
                                          "vomo_sync_checkpoint_lag_seconds",
                                          "vomo_sync_breaker_state",
                                          "vomo_sync_tenant_state",
                                          "vomo_sync_retry_budget_tokens",
                                          "vomo_sync_rate_gate_wait_seconds",
                                          "vomo_sync_lane_queued_jobs",
                                          "vomo_sync_scans_running",
                                          "vomo_sync_scan_pages_done"};
    for (size_t i = 0; i < ARRAY_SIZE(scraped); i++)
        (void)fresh(scraped[i]);
    breaker_gauge("vomo", &e->vomo_breaker);
    struct metric_family *dlq = obs_family("vomo_sync_dlq_rows");
    for (const struct tenant *t = e->tenants; t; t = t->next) {
        tenant_gauges(t, now);
        for (size_t i = 0; i < ARRAY_SIZE(dlq_statuses); i++)
            metrics_set(dlq, METRIC_L(t->name, dlq_statuses[i]), 0);
        for (size_t i = 0; i < ARRAY_SIZE(outbox_states); i++)
            metrics_set(obs_family("vomo_sync_outbox_rows"), METRIC_L(t->name, outbox_states[i]),
                        0);
    }
    store_gauges(e, now);
}

static void on_metrics(const struct httpd_request *req, struct httpd_reply *rep, void *ctx)
{
    (void)req;
    (void)ctx;
    struct metrics *m = obs_registry();
    if (!m) {
        httpd_reply_error(rep, 503, "metrics are not available: the engine is not running");
        return;
    }
    rep->body.cap_limit = METRICS_MAX_TEXT;
    if (metrics_write(m, &rep->body) < 0) {
        httpd_reply_error(rep, 500, "the metrics text grew past its cap");
        return;
    }
    rep->content_type = METRICS_CONTENT_TYPE;
}

int web_metrics_routes(struct web *w)
{
    if (obs_registry())
        metrics_on_collect(obs_registry(), collect, w);
    return httpd_route_add(w->srv, "GET", "/metrics", on_metrics, w);
}
