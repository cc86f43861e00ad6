/*
 * engine.c - the sync engine (see engine.h): builds the tenants from the
 * configuration, starts their schedules and the DLQ processor, applies
 * reloads, publishes breaker states, shows live progress on a terminal,
 * and shuts down in order: no new scans, in-flight work finishes within
 * daemon.shutdown_timeout, then whatever is left is cancelled and every
 * handle is closed.
 */
#include "engine.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "alertlog.h"
#include "alerts.h"
#include "dlqproc.h"
#include "history.h"
#include "log.h"
#include "obs.h"
#include "outboxproc.h"
#include "scan.h"
#include "store.h"
#include "util.h"

#define PROGRESS_MS 500

static void set_policies(struct engine *e)
{
    const struct config *c = e->cfg;
    e->retry_policy = (struct backoff_policy){.base_ms = c->retry_base_delay_ms,
                                              .max_ms = c->retry_max_delay_ms,
                                              .max_attempts = c->retry_max_attempts};
    e->dlq_policy = (struct dlq_policy){.base_ms = c->dlq_base_delay_ms,
                                        .max_ms = c->dlq_max_delay_ms,
                                        .max_attempts = c->dlq_max_attempts};
}

/* What the alert evaluator may know of the tenants' resources. */
static void each_slot(void *ctx, alerts_view_fn fn, void *arg)
{
    struct engine *e = ctx;
    for (struct tenant *t = e->tenants; t; t = t->next) {
        const char *why = t->status != TENANT_OK ? "auth_failed: VOMO refused its token (401)"
                          : t->dest_paused
                              ? "destination_paused: the webhook refused the deliveries"
                              : NULL;
        for (int r = 0; r < RES_COUNT; r++)
            if (t->resources & RES_BIT(r)) {
                struct alerts_slot_view v = {.tenant = t->name,
                                             .resource = resource_name((enum resource)r),
                                             .tenant_stopped = why,
                                             .resource_stopped = t->slots[r].forbidden};
                fn(arg, &v);
            }
    }
}

int engine_new(uv_loop_t *loop, struct config *cfg, struct store *store, struct engine **out)
{
    struct engine *e = xcalloc(1, sizeof(*e));
    e->loop = loop;
    e->cfg = cfg;
    e->store = store;
    obs_open(cfg);
    int rc = http_init(&e->http, loop);
    if (rc < 0) {
        free(e);
        return rc;
    }
    e->open_handles = 5; /* http client, stop, progress, commit and WAL timers */
    breaker_init(&e->vomo_breaker, cfg->breaker_failure_threshold, cfg->breaker_open_timeout_ms);
    set_policies(e);
    uv_timer_init(loop, &e->stop_timer);
    uv_timer_init(loop, &e->progress_timer);
    uv_timer_init(loop, &e->commit_timer);
    walguard_init(&e->wal, loop, store);
    e->progress = isatty(STDOUT_FILENO) && log_get_level() > LOG_DEBUG;
    struct tenant **tail = &e->tenants;
    for (size_t i = 0; i < cfg->ntenants; i++) {
        *tail = tenant_new(e, &cfg->tenants[i]);
        tail = &(*tail)->next;
    }
    e->dlq = dlqproc_new(e);
    e->outbox = outboxproc_new(e);
    e->alerts = alerts_new(e, each_slot, e);
    alerts_add_notifier(e->alerts, alertlog_notify, NULL);
    e->open_handles += 3;
    *out = e;
    return 0;
}

static void on_progress(uv_timer_t *timer);

int engine_start(struct engine *e)
{
    engine_breaker_changed(e, "vomo", &e->vomo_breaker, BREAKER_EV_NONE, "started");
    for (struct tenant *t = e->tenants; t; t = t->next)
        tenant_start(t);
    dlqproc_start(e->dlq);
    outboxproc_start(e->outbox);
    alerts_start(e->alerts);
    walguard_start(&e->wal, e->cfg);
    if (e->progress)
        uv_timer_start(&e->progress_timer, on_progress, PROGRESS_MS, PROGRESS_MS);
    log_info("sync engine started: %zu tenant(s), poll interval %lld ms", e->cfg->ntenants,
             (long long)e->cfg->poll_interval_ms);
    return 0;
}

struct tenant *engine_tenant(struct engine *e, const char *name)
{
    for (struct tenant *t = e->tenants; t; t = t->next)
        if (strcmp(t->name, name) == 0)
            return t;
    return NULL;
}

/* ---- breakers ---- */

void engine_breaker_changed(struct engine *e, const char *name, const struct breaker *b,
                            enum breaker_event ev, const char *reason)
{
    char now[TS_LEN];
    ts_format(clock_wall_ms(), now);
    struct log_kv kv[] = {LOG_STR("breaker", name), LOG_STR("state", breaker_state_name(b->state)),
                          LOG_INT("failures", b->failures)};
    struct log_fields f = {.delay_ms = LOG_NO_DELAY, .kv = kv, .nkv = ARRAY_SIZE(kv)};
    if (ev == BREAKER_EV_OPENED || ev == BREAKER_EV_REOPENED) {
        f.delay_ms = b->open_timeout_ms;
        log_emit(LOG_ERROR, &f, "circuit breaker %s %s: requests to it wait; one probe in %lld ms",
                 name, ev == BREAKER_EV_OPENED ? "opened" : "re-opened after a failed probe",
                 (long long)b->open_timeout_ms);
    } else if (ev == BREAKER_EV_HALF_OPEN) {
        log_emit(LOG_INFO, &f, "circuit breaker %s half-open: probing", name);
    } else if (ev == BREAKER_EV_CLOSED) {
        log_emit(LOG_INFO, &f, "circuit breaker %s closed: the service answers again", name);
    }
    if (store_breaker_set(e->store, name, breaker_state_name(b->state), b->failures,
                          reason ? reason : breaker_event_name(ev), now) < 0)
        log_warn("could not record breaker %s: %s", name, store_errmsg(e->store));
}

/* ---- progress on a terminal ---- */

static void on_progress(uv_timer_t *timer)
{
    struct engine *e = container_of(timer, struct engine, progress_timer);
    for (struct tenant *t = e->tenants; t; t = t->next)
        for (int r = 0; r < RES_COUNT; r++) {
            struct scan *s = t->slots[r].scan;
            if (!s)
                continue;
            int done, last;
            int64_t records, started;
            scan_progress(s, &done, &last, &records, &started);
            if (last < 4)
                continue; /* only long scans are worth a progress line */
            double secs = (double)(clock_mono_ms() - started) / 1000.0;
            printf("%s/%s: page %d of %d, %lld records, %.0f records/s\n", t->name,
                   resource_name((enum resource)r), done, last, (long long)records,
                   secs > 0 ? (double)records / secs : 0.0);
        }
    fflush(stdout);
}

void engine_summary(struct engine *e, char *out, size_t len)
{
    int tenants = 0, stopped = 0, running = 0;
    for (struct tenant *t = e->tenants; t; t = t->next) {
        tenants++;
        stopped += t->status != TENANT_OK;
        for (int r = 0; r < RES_COUNT; r++)
            running += t->slots[r].scan != NULL;
    }
    int64_t pending = 0, review = 0;
    dlqproc_counts(e->dlq, &pending, &review);
    snprintf(out, len,
             "%d tenant(s)%s, %d scan(s) running, %lld complete, %lld failed; DLQ %lld pending, "
             "%lld for review; VOMO breaker %s; %zu alert(s) firing",
             tenants, stopped ? " (some stopped)" : "", running, (long long)e->stats.scans_complete,
             (long long)e->stats.scans_failed, (long long)pending, (long long)review,
             breaker_state_name(e->vomo_breaker.state), alerts_firing_count(e->alerts));
}

/* ---- reload ---- */

static void retire(struct engine *e, struct tenant *t, const char *why)
{
    struct tenant **pp = &e->tenants;
    while (*pp && *pp != t)
        pp = &(*pp)->next;
    if (*pp)
        *pp = t->next;
    struct log_fields f = {.tenant = t->name, .delay_ms = LOG_NO_DELAY};
    log_emit(LOG_INFO, &f, "tenant %s: in-flight work finishes, then it stops", why);
    tenant_close(t);
}

static void apply_limits(struct engine *e)
{
    const struct config *c = e->cfg;
    e->vomo_breaker.threshold = c->breaker_failure_threshold;
    e->vomo_breaker.open_timeout_ms = c->breaker_open_timeout_ms;
    set_policies(e);
    for (struct tenant *t = e->tenants; t; t = t->next) {
        t->vomo_lane.max_in_flight = c->max_concurrency;
        t->dest_lane.max_in_flight = c->webhook_max_concurrency;
        t->dest_breaker.threshold = c->breaker_failure_threshold;
        t->dest_breaker.open_timeout_ms = c->breaker_open_timeout_ms;
        t->budget.capacity = c->retry_budget;
        t->budget.cost = c->retry_budget_cost;
        t->budget.refill = c->retry_budget_refill;
        if (t->budget.tokens > t->budget.capacity)
            t->budget.tokens = t->budget.capacity;
    }
}

void engine_reload(struct engine *e, struct config *cfg)
{
    struct config *old = e->cfg;
    e->cfg = cfg;
    obs_open(cfg); /* new tenants' series start at 0 */
    for (struct tenant *t = e->tenants, *next; t; t = next) {
        next = t->next;
        const struct tenant_cfg *tc = cfg_tenant(cfg, t->name);
        if (!tc)
            retire(e, t, "removed from the configuration");
        else if (tenant_cfg_changed(t, tc))
            retire(e, t, "changed in the configuration");
    }
    struct tenant **tail = &e->tenants;
    while (*tail)
        tail = &(*tail)->next;
    apply_limits(e);
    alerts_configure(e->alerts);
    walguard_configure(&e->wal, cfg);
    for (size_t i = 0; i < cfg->ntenants; i++) {
        struct tenant *t = engine_tenant(e, cfg->tenants[i].name);
        if (t) {
            tenant_refresh(t, true);
            continue;
        }
        *tail = tenant_new(e, &cfg->tenants[i]);
        tenant_start(*tail);
        struct log_fields f = {.tenant = (*tail)->name, .delay_ms = LOG_NO_DELAY};
        log_emit(LOG_INFO, &f, "tenant added");
        tail = &(*tail)->next;
    }
    cfg_free(old);
    log_info("configuration reloaded: %zu tenant(s)", cfg->ntenants);
}

/* ---- shutdown ---- */

static void maybe_stopped(struct engine *e)
{
    if (e->stopping && e->open_handles == 0 && e->on_stopped) {
        void (*cb)(struct engine *) = e->on_stopped;
        e->on_stopped = NULL;
        cb(e);
    }
}

void engine_handle_closed(struct engine *e)
{
    maybe_stopped(e);
}

static void on_engine_handle_closed(uv_handle_t *h)
{
    struct engine *e = h->data;
    e->open_handles--;
    maybe_stopped(e);
}

static void on_http_closed(struct http_client *c)
{
    struct engine *e = c->data;
    e->open_handles--;
    maybe_stopped(e);
}

static void close_http(struct engine *e)
{
    if (e->http_closed)
        return;
    e->http_closed = true;
    e->http.data = e;
    http_close(&e->http, on_http_closed);
}

/* Everything has ended (or was cancelled): close every handle. */
static void teardown(struct engine *e)
{
    if (e->torn_down)
        return;
    e->torn_down = true;
    while (e->tenants) {
        struct tenant *t = e->tenants;
        e->tenants = t->next;
        tenant_close(t);
    }
    dlqproc_close(e->dlq);
    outboxproc_close(e->outbox);
    alerts_close(e->alerts);
    close_http(e);
    e->stop_timer.data = e;
    e->progress_timer.data = e;
    uv_close((uv_handle_t *)&e->stop_timer, on_engine_handle_closed);
    uv_close((uv_handle_t *)&e->progress_timer, on_engine_handle_closed);
    e->commit_timer.data = e;
    uv_close((uv_handle_t *)&e->commit_timer, on_engine_handle_closed);
    e->wal.timer.data = e;
    walguard_close(&e->wal, on_engine_handle_closed);
}

void engine_idle_check(struct engine *e)
{
    if (e->stopping && e->busy == 0)
        teardown(e);
}

/* The shutdown bound passed: cancel what still runs. */
static void on_stop_timeout(uv_timer_t *timer)
{
    struct engine *e = container_of(timer, struct engine, stop_timer);
    log_warn("shutdown_timeout reached with %d job(s) running: cancelling them (their "
             "records stay ahead of the checkpoint)",
             e->busy);
    for (struct tenant *t = e->tenants; t; t = t->next) {
        lane_stop(&t->vomo_lane);
        lane_stop(&t->dest_lane);
    }
    close_http(e);
    engine_idle_check(e);
}

void engine_stop(struct engine *e, void (*stopped)(struct engine *e))
{
    e->on_stopped = stopped;
    if (e->stopping)
        return;
    e->stopping = true;
    uv_timer_stop(&e->progress_timer);
    for (struct tenant *t = e->tenants; t; t = t->next)
        for (int r = 0; r < RES_COUNT; r++)
            uv_timer_stop(&t->slots[r].timer);
    dlqproc_stop(e->dlq);
    outboxproc_stop(e->outbox);
    alerts_stop(e->alerts);
    log_info("stopping: %d job(s) in flight may finish within %lld ms", e->busy,
             (long long)e->cfg->shutdown_timeout_ms);
    uv_timer_start(&e->stop_timer, on_stop_timeout, (uint64_t)e->cfg->shutdown_timeout_ms, 0);
    engine_idle_check(e);
}

void engine_free(struct engine *e)
{
    if (!e)
        return;
    cfg_free(e->cfg);
    free(e);
    obs_close();
    history_close();
}
