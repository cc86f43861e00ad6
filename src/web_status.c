/*
 * web_status.c - GET /status: the status document of the state database
 * (statusdoc.h, the same as `vomo-sync status --json`) and a "live"
 * section with what only the running daemon knows: breakers with their
 * timers, each tenant's lanes, rate gate and retry budget, the scans in
 * progress with their pages, the DLQ processor's counts, the alerts firing
 * and pending with each tenant's error budget.  A section that
 * fails says so in its place; the page is still 200.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "alerts.h"
#include "dlqproc.h"
#include "engine.h"
#include "scan.h"
#include "statusdoc.h"
#include "web_int.h"

static const char *const phases[] = {"starting", "ready", "stopping"};

static cJSON *breaker_json(const char *name, const struct breaker *b, int64_t now)
{
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "name", name);
    cJSON_AddStringToObject(o, "state", breaker_state_name(b->state));
    cJSON_AddNumberToObject(o, "failures", b->failures);
    if (b->state != BREAKER_CLOSED) {
        char at[TS_LEN];
        ts_format(b->opened_at, at);
        cJSON_AddStringToObject(o, "opened_at", at);
        int64_t left = b->opened_at + b->open_timeout_ms - now;
        cJSON_AddNumberToObject(o, "probe_in_ms", (double)(left > 0 ? left : 0));
    }
    return o;
}

static cJSON *lane_json(const struct lane *l)
{
    int64_t queued = 0;
    for (const struct lane_job *j = l->head; j; j = j->next)
        queued++;
    cJSON *o = cJSON_CreateObject();
    cJSON_AddNumberToObject(o, "queued", (double)queued);
    cJSON_AddNumberToObject(o, "in_flight", l->in_flight);
    cJSON_AddNumberToObject(o, "max_in_flight", l->max_in_flight);
    return o;
}

static cJSON *tenant_json(const struct tenant *t, int64_t now)
{
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "tenant", t->name);
    cJSON_AddStringToObject(o, "state",
                            t->status != TENANT_OK ? "auth_failed"
                            : t->dest_paused       ? "destination_paused"
                                                   : "ok");
    cJSON_AddNumberToObject(o, "retry_budget_tokens", t->budget.tokens);
    int64_t wait = rategate_next_start(&t->gate, now) - now;
    cJSON_AddNumberToObject(o, "rate_gate_wait_ms", (double)(wait > 0 ? wait : 0));
    cJSON_AddItemToObject(o, "vomo_lane", lane_json(&t->vomo_lane));
    if (t->dest_kind == DEST_WEBHOOK)
        cJSON_AddItemToObject(o, "destination_lane", lane_json(&t->dest_lane));
    return o;
}

static void add_scans(cJSON *arr, const struct tenant *t, int64_t mono)
{
    for (int r = 0; r < RES_COUNT; r++) {
        const struct scan *sc = t->slots[r].scan;
        if (!sc)
            continue;
        int done, last;
        int64_t records, started;
        scan_progress(sc, &done, &last, &records, &started);
        cJSON *o = cJSON_CreateObject();
        cJSON_AddStringToObject(o, "tenant", t->name);
        cJSON_AddStringToObject(o, "resource", resource_name((enum resource)r));
        cJSON_AddNumberToObject(o, "pages_done", done);
        cJSON_AddNumberToObject(o, "last_page", last);
        cJSON_AddNumberToObject(o, "records", (double)records);
        cJSON_AddNumberToObject(o, "running_ms", (double)(mono - started));
        cJSON_AddItemToArray(arr, o);
    }
}

static cJSON *live_section(const struct web *w)
{
    const struct engine *e = w->e;
    int64_t now = clock_wall_ms(), mono = clock_mono_ms();
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "phase", phases[w->phase]);
    cJSON_AddStringToObject(o, "http", w->address);
    cJSON *br = cJSON_AddArrayToObject(o, "breakers");
    cJSON_AddItemToArray(br, breaker_json("vomo", &e->vomo_breaker, now));
    cJSON *tenants = cJSON_AddArrayToObject(o, "tenants");
    cJSON *scans = cJSON_AddArrayToObject(o, "scans");
    for (const struct tenant *t = e->tenants; t; t = t->next) {
        if (t->dest_kind == DEST_WEBHOOK)
            cJSON_AddItemToArray(br, breaker_json(t->dest_breaker_name, &t->dest_breaker, now));
        cJSON_AddItemToArray(tenants, tenant_json(t, now));
        add_scans(scans, t, mono);
    }
    int64_t pending = 0, review = 0;
    dlqproc_counts(e->dlq, &pending, &review);
    cJSON *dlq = cJSON_AddObjectToObject(o, "dlq");
    cJSON_AddNumberToObject(dlq, "pending", (double)pending);
    cJSON_AddNumberToObject(dlq, "manual_review", (double)review);
    cJSON_AddNumberToObject(o, "jobs_running", e->busy);
    if (w->api)
        cJSON_AddItemToObject(o, "read_api", web_api_live_json(w));
    if (e->alerts)
        cJSON_AddItemToObject(o, "alerts", alerts_status_json(e->alerts, now));
    return o;
}

static void on_status(const struct httpd_request *req, struct httpd_reply *rep, void *ctx)
{
    (void)req;
    struct web *w = ctx;
    const struct engine *e = w->e;
    cJSON *doc = statusdoc_build(e->store, e->cfg->state_db, e->cfg, NULL);
    cJSON_AddItemToObject(doc, "live", live_section(w));
    char *text = cJSON_Print(doc);
    cJSON_Delete(doc);
    if (!text || buf_puts(&rep->body, text) < 0 || buf_puts(&rep->body, "\n") < 0)
        httpd_reply_error(rep, 500, "the status document could not be written");
    free(text);
}

int web_status_routes(struct web *w)
{
    return httpd_route_add(w->srv, "GET", "/status", on_status, w);
}
