/*
 * obs.c - vomo-sync's metric families and the hooks that feed them (see
 * obs.h).  Families are registered once per process; each (re)open
 * pre-initialises the series of every configured tenant, so an operator's
 * increase() sees the first error instead of a series appearing from
 * nowhere.  Series of a tenant removed by a reload stay (counters must not
 * go back) but no new ones are made for it beyond what it already had.
 */
#include "obs.h"

#include <stdio.h>
#include <string.h>

#include "classify.h"
#include "history.h"
#include "util.h"

static struct metrics *reg;

/* Seconds: from 5 ms (a local mirror) to 5 minutes (a whole backfill page
 * sequence). */
static const double latency_buckets[] = {0.005, 0.01, 0.025, 0.05, 0.1, 0.25,
                                         0.5,   1,    2.5,   5,    10,  30};
static const double scan_buckets[] = {0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 900};

/* Codes worth a zero from the start: success, VOMO's throttling and
 * outages, and the network failures. */
static const char *const preset_codes[] = {"200",     "429",     "500",   "502", "503", "504",
                                           "timeout", "connect", "reset", "dns", "tls"};
static const char *const outcomes[] = {"applied", "skipped", "failed", "deleted"};
static const char *const kinds[] = {"incremental", "full"};
static const char *const statuses[] = {"complete", "incomplete", "failed", "aborted"};
static const char *const op_kinds[] = {"request", "delivery"};
static const char *const op_outcomes[] = {"ok", "error", "data"};
static const char *const live_outcomes[] = {"forwarded", "fallback", "refused",
                                            "recent",    "shed",     "cancelled"};
static const char *const alert_outcomes[] = {"sent", "retried", "dropped"};

#define C METRIC_COUNTER
#define G METRIC_GAUGE
#define H METRIC_HISTOGRAM
#define TR METRIC_L("tenant", "resource", NULL)
#define T METRIC_L("tenant", NULL)
#define T_OUTCOME METRIC_L("tenant", "outcome", NULL)

struct family_def {
    enum metric_kind kind;
    const char *name, *help;
    const char *const *labels;
    const double *buckets;
    size_t nbuckets;
};

static const struct family_def families[] = {
    {.kind = G,
     .name = "vomo_sync_build_info",
     .help = "The running version (value 1).",
     .labels = METRIC_L("version", NULL)},
    {.kind = G,
     .name = "vomo_sync_process_start_time_seconds",
     .help = "When the daemon started, Unix time."},
    {.kind = G,
     .name = "vomo_sync_poll_interval_seconds",
     .help = "[poll] interval: the pause between scans."},
    {.kind = C,
     .name = "vomo_sync_vomo_requests_total",
     .help = "HTTP requests to VOMO by outcome: the status, or timeout, reset, dns, tls, connect.",
     .labels = METRIC_L("tenant", "resource", "code", NULL)},
    {.kind = H,
     .name = "vomo_sync_vomo_request_duration_seconds",
     .help = "Time of one VOMO request, each attempt.",
     .labels = T,
     .buckets = latency_buckets,
     .nbuckets = ARRAY_SIZE(latency_buckets)},
    {.kind = C,
     .name = "vomo_sync_retry_after_wait_seconds_total",
     .help = "Seconds VOMO's 429 answers (Retry-After) told the tenant's requests to wait.",
     .labels = T},
    {.kind = C,
     .name = "vomo_sync_records_total",
     .help = "Records handled by scans: applied, skipped, failed, deleted.",
     .labels = METRIC_L("tenant", "resource", "outcome", NULL)},
    {.kind = C,
     .name = "vomo_sync_errors_total",
     .help = "Operations that failed after their retries, by error class.",
     .labels = METRIC_L("tenant", "resource", "class", NULL)},
    {.kind = C,
     .name = "vomo_sync_operations_total",
     .help = "Operations that ended after their retries (the error budget's SLI): VOMO requests "
             "and deliveries; outcome ok, error, or data (the record's own data was refused).",
     .labels = METRIC_L("tenant", "kind", "outcome", NULL)},
    {.kind = G,
     .name = "vomo_sync_alerts_firing",
     .help = "Built-in alerts firing now, by alert name.",
     .labels = METRIC_L("alert", NULL)},
    {.kind = G,
     .name = "vomo_sync_error_budget_remaining_ratio",
     .help = "Share of the tenant's error budget over [slo] window still left (1 = untouched, "
             "below 0 = overspent).",
     .labels = T},
    {.kind = G,
     .name = "vomo_sync_error_budget_burn_rate",
     .help = "Error rate divided by the rate the budget allows (1 - [slo] target), per window.",
     .labels = METRIC_L("tenant", "window", NULL)},
    {.kind = G,
     .name = "vomo_sync_error_budget_action",
     .help = "The error budget's action in force for the tenant: 1 for the current one (none, "
             "debug_logging, writes_paused).",
     .labels = METRIC_L("tenant", "action", NULL)},
    {.kind = G,
     .name = "vomo_sync_freshness_ratio",
     .help = "Freshness SLI: share of minutes in which every resource of the tenant had a "
             "complete scan younger than 2x the poll interval.",
     .labels = T},
    {.kind = C,
     .name = "vomo_sync_scans_total",
     .help = "Scans that ended, by kind and status.",
     .labels = METRIC_L("tenant", "resource", "kind", "status", NULL)},
    {.kind = C,
     .name = "vomo_sync_scan_pages_total",
     .help = "Pages of VOMO results scanned and committed.",
     .labels = TR},
    {.kind = H,
     .name = "vomo_sync_scan_duration_seconds",
     .help = "Time of one scan, first page to checkpoint.",
     .labels = TR,
     .buckets = scan_buckets,
     .nbuckets = ARRAY_SIZE(scan_buckets)},
    {.kind = G,
     .name = "vomo_sync_last_scan_success_timestamp_seconds",
     .help = "When the last complete scan of the resource ended, Unix time.",
     .labels = TR},
    {.kind = C,
     .name = "vomo_sync_webhook_deliveries_total",
     .help = "Deliveries to webhook destinations by outcome: the status, or a network failure.",
     .labels = METRIC_L("tenant", "code", NULL)},
    {.kind = H,
     .name = "vomo_sync_webhook_delivery_duration_seconds",
     .help = "Time of one webhook delivery attempt.",
     .labels = T,
     .buckets = latency_buckets,
     .nbuckets = ARRAY_SIZE(latency_buckets)},
    {.kind = G,
     .name = "vomo_sync_dlq_rows",
     .help = "Dead letters by status.",
     .labels = METRIC_L("tenant", "status", NULL)},
    {.kind = G,
     .name = "vomo_sync_outbox_rows",
     .help = "Writes to VOMO not finished, by state (pending, in_flight, unknown, manual_review).",
     .labels = METRIC_L("tenant", "state", NULL)},
    {.kind = G,
     .name = "vomo_sync_dlq_oldest_pending_age_seconds",
     .help = "Age of the oldest pending dead letter (0 when none).",
     .labels = T},
    {.kind = G,
     .name = "vomo_sync_holds",
     .help = "Records held by checkpoint_mode = hold.",
     .labels = TR},
    {.kind = G,
     .name = "vomo_sync_checkpoint_lag_seconds",
     .help = "Now minus the checkpoint: how far behind VOMO the next scan starts.",
     .labels = TR},
    {.kind = G,
     .name = "vomo_sync_breaker_state",
     .help = "Circuit breakers: 1 for the current state.",
     .labels = METRIC_L("breaker", "state", NULL)},
    {.kind = G,
     .name = "vomo_sync_tenant_state",
     .help = "Tenants: 1 for the current state.",
     .labels = METRIC_L("tenant", "state", NULL)},
    {.kind = G,
     .name = "vomo_sync_retry_budget_tokens",
     .help = "Tokens left in the tenant's retry budget.",
     .labels = T},
    {.kind = G,
     .name = "vomo_sync_rate_gate_wait_seconds",
     .help = "How long the tenant's next VOMO request must wait for the rate gate.",
     .labels = T},
    {.kind = G,
     .name = "vomo_sync_lane_queued_jobs",
     .help = "Jobs waiting in a lane (vomo or destination).",
     .labels = METRIC_L("tenant", "lane", NULL)},
    {.kind = G,
     .name = "vomo_sync_scans_running",
     .help = "Scans in progress (0 or 1).",
     .labels = TR},
    {.kind = G,
     .name = "vomo_sync_scan_pages_done",
     .help = "Pages done by the scan in progress.",
     .labels = TR},
    {.kind = C,
     .name = "vomo_sync_record_fetches_total",
     .help = "Records read from VOMO by id outside scans (webhook hints, live reads), by "
             "outcome.",
     .labels = METRIC_L("tenant", "resource", "outcome", NULL)},
    {.kind = C,
     .name = "vomo_sync_vomo_hints_total",
     .help = "VOMO webhooks (hints) by type and outcome: replay and ignored when received, "
             "else what their processing did.",
     .labels = METRIC_L("tenant", "type", "outcome", NULL)},
    {.kind = C,
     .name = "vomo_sync_vomo_hint_bad_signatures_total",
     .help = "VOMO webhooks refused with 401: vomo-signature missing or wrong.",
     .labels = T},
    {.kind = G,
     .name = "vomo_sync_vomo_hint_gap_ratio",
     .help = "Of the changes that reached the destination since the start, the share that "
             "incremental polls found and no hint announced.",
     .labels = TR},
    {.kind = C,
     .name = "vomo_sync_api_requests_total",
     .help = "Read API requests by HTTP status and Cache-Status decision (cache: hit, fwd, "
             "stale, refused, none); tenant and resource are configured names or other.",
     .labels = METRIC_L("tenant", "resource", "code", "cache", NULL)},
    {.kind = H,
     .name = "vomo_sync_api_request_duration_seconds",
     .help = "Time of one read API request, from the route to the answer (live reads "
             "included).",
     .labels = T,
     .buckets = latency_buckets,
     .nbuckets = ARRAY_SIZE(latency_buckets)},
    {.kind = C,
     .name = "vomo_sync_api_live_reads_total",
     .help = "Read API live reads by outcome: forwarded, fallback, refused, recent, shed, "
             "cancelled.",
     .labels = T_OUTCOME},
    {.kind = C,
     .name = "vomo_sync_alert_notifications_total",
     .help = "Alert target sends by target (webhook, alertmanager) and outcome (sent, retried, "
             "dropped).",
     .labels = METRIC_L("target", "outcome", NULL)},
    {.kind = G,
     .name = "vomo_sync_alert_queue_length",
     .help = "Alert webhook messages waiting, in flight or waiting for a retry."},
};

static void register_all(void)
{
    for (size_t i = 0; i < ARRAY_SIZE(families); i++) {
        const struct family_def *d = &families[i];
        (void)metrics_register(reg, d->kind, d->name, d->help, d->labels, d->buckets, d->nbuckets);
    }
    metrics_set(obs_family("vomo_sync_build_info"), METRIC_L(VOMO_SYNC_VERSION), 1);
    metrics_set(obs_family("vomo_sync_process_start_time_seconds"), NULL,
                (double)clock_wall_ms() / 1000.0);
}

static void preset_slot(const char *t, const char *r)
{
    for (size_t i = 0; i < ARRAY_SIZE(preset_codes); i++)
        metrics_touch(obs_family("vomo_sync_vomo_requests_total"), METRIC_L(t, r, preset_codes[i]));
    for (size_t i = 0; i < ARRAY_SIZE(outcomes); i++)
        metrics_touch(obs_family("vomo_sync_records_total"), METRIC_L(t, r, outcomes[i]));
    for (int c = EC_NONE + 1; c < EC_COUNT; c++)
        metrics_touch(obs_family("vomo_sync_errors_total"),
                      METRIC_L(t, r, err_class_name((enum err_class)c)));
    for (size_t k = 0; k < ARRAY_SIZE(kinds); k++)
        for (size_t s = 0; s < ARRAY_SIZE(statuses); s++)
            metrics_touch(obs_family("vomo_sync_scans_total"),
                          METRIC_L(t, r, kinds[k], statuses[s]));
    metrics_touch(obs_family("vomo_sync_scan_pages_total"), METRIC_L(t, r));
    metrics_touch(obs_family("vomo_sync_scan_duration_seconds"), METRIC_L(t, r));
}

static void preset_tenant(const struct tenant_cfg *tc)
{
    const char *t = tc->name;
    for (int r = 0; r < RES_COUNT; r++)
        if (tc->resources & RES_BIT(r)) {
            preset_slot(t, resource_name((enum resource)r));
            metrics_touch(obs_family("vomo_sync_api_requests_total"),
                          METRIC_L(t, resource_name((enum resource)r), "200", "hit"));
        }
    metrics_touch(obs_family("vomo_sync_vomo_request_duration_seconds"), METRIC_L(t));
    metrics_touch(obs_family("vomo_sync_retry_after_wait_seconds_total"), METRIC_L(t));
    for (size_t k = 0; k < ARRAY_SIZE(op_kinds); k++)
        for (size_t o = 0; o < ARRAY_SIZE(op_outcomes); o++)
            metrics_touch(obs_family("vomo_sync_operations_total"),
                          METRIC_L(t, op_kinds[k], op_outcomes[o]));
    if (tc->vomo_webhook_secret_file) {
        metrics_touch(obs_family("vomo_sync_vomo_hint_bad_signatures_total"), METRIC_L(t));
        for (int r = 0; r < RES_COUNT; r++)
            if (tc->resources & RES_BIT(r))
                metrics_touch(obs_family("vomo_sync_vomo_hint_gap_ratio"),
                              METRIC_L(t, resource_name((enum resource)r)));
    }
    metrics_touch(obs_family("vomo_sync_api_request_duration_seconds"), METRIC_L(t));
    for (size_t o = 0; o < ARRAY_SIZE(live_outcomes); o++)
        metrics_touch(obs_family("vomo_sync_api_live_reads_total"), METRIC_L(t, live_outcomes[o]));
    if (tc->destination == DEST_WEBHOOK) {
        metrics_touch(obs_family("vomo_sync_webhook_deliveries_total"), METRIC_L(t, "200"));
        metrics_touch(obs_family("vomo_sync_webhook_delivery_duration_seconds"), METRIC_L(t));
    }
}

void obs_open(const struct config *cfg)
{
    if (!reg) {
        reg = metrics_new();
        register_all();
    }
    metrics_set(obs_family("vomo_sync_poll_interval_seconds"), NULL,
                (double)cfg->poll_interval_ms / 1000.0);
    for (size_t i = 0; i < cfg->ntenants; i++)
        preset_tenant(&cfg->tenants[i]);
    for (size_t o = 0; o < ARRAY_SIZE(alert_outcomes); o++) {
        if (cfg->alert_webhook_url)
            metrics_touch(obs_family("vomo_sync_alert_notifications_total"),
                          METRIC_L("webhook", alert_outcomes[o]));
        if (cfg->alertmanager_url)
            metrics_touch(obs_family("vomo_sync_alert_notifications_total"),
                          METRIC_L("alertmanager", alert_outcomes[o]));
    }
    metrics_touch(obs_family("vomo_sync_alert_queue_length"), NULL);
}

void obs_close(void)
{
    metrics_free(reg);
    reg = NULL;
}

struct metrics *obs_registry(void)
{
    return reg;
}

struct metric_family *obs_family(const char *name)
{
    return reg ? metrics_find(reg, name) : NULL;
}

const char *obs_code(long status, int curl_code, char buf[8])
{
    if (status >= 100 && status <= 599) {
        snprintf(buf, 8, "%ld", status);
        return buf;
    }
    switch (curl_code) {
    case CURLE_OPERATION_TIMEDOUT:
        return "timeout";
    case CURLE_COULDNT_RESOLVE_HOST:
    case CURLE_COULDNT_RESOLVE_PROXY:
        return "dns";
    case CURLE_COULDNT_CONNECT:
        return "connect";
    case CURLE_SSL_CONNECT_ERROR:
    case CURLE_PEER_FAILED_VERIFICATION:
    case CURLE_SSL_CERTPROBLEM:
    case CURLE_SSL_CIPHER:
    case CURLE_SSL_CACERT_BADFILE:
        return "tls";
    case CURLE_RECV_ERROR:
    case CURLE_SEND_ERROR:
    case CURLE_GOT_NOTHING:
    case CURLE_PARTIAL_FILE:
        return "reset";
    default:
        return "error";
    }
}

void obs_http_attempt(bool webhook, const char *tenant, const char *resource,
                      const struct http_response *resp, int64_t wait_ms)
{
    if (!reg || !tenant)
        return;
    char buf[8];
    const char *code = obs_code(resp->status, resp->curl_code, buf);
    if (webhook) {
        metrics_add(obs_family("vomo_sync_webhook_deliveries_total"), METRIC_L(tenant, code), 1);
        metrics_observe(obs_family("vomo_sync_webhook_delivery_duration_seconds"), METRIC_L(tenant),
                        resp->total_time_s);
        return;
    }
    metrics_add(obs_family("vomo_sync_vomo_requests_total"),
                METRIC_L(tenant, resource ? resource : "", code), 1);
    if (resp->status >= 500 || (resp->status == 0 && resp->curl_code == CURLE_OPERATION_TIMEDOUT))
        history_hook_add(HS_VOMO_5XX, tenant, resource, 1);
    metrics_observe(obs_family("vomo_sync_vomo_request_duration_seconds"), METRIC_L(tenant),
                    resp->total_time_s);
    if (wait_ms > 0)
        metrics_add(obs_family("vomo_sync_retry_after_wait_seconds_total"), METRIC_L(tenant),
                    (double)wait_ms / 1000.0);
}

void obs_error(const char *tenant, const char *resource, const char *cls)
{
    if (!reg || !tenant)
        return;
    metrics_add(obs_family("vomo_sync_errors_total"),
                METRIC_L(tenant, resource ? resource : "", cls), 1);
    char series[HISTORY_SERIES_LEN];
    snprintf(series, sizeof(series), "%s%s", HS_ERROR_PREFIX, cls);
    history_hook_add(series, tenant, resource, 1);
}

const char *obs_outcome(enum op_context ctx, enum err_class cls)
{
    if (cls == EC_NONE)
        return "ok";
    if (cls == EC_VALIDATION)
        return "data";
    /* A record VOMO no longer has is an answer, not a failure. */
    if (cls == EC_NOT_FOUND && (ctx == OP_VOMO_GET || ctx == OP_VOMO_DELETE))
        return "ok";
    return "error";
}

void obs_operation(enum op_context ctx, const char *tenant, const char *resource,
                   enum err_class cls)
{
    if (!reg || !tenant)
        return;
    const char *outcome = obs_outcome(ctx, cls);
    metrics_add(obs_family("vomo_sync_operations_total"),
                METRIC_L(tenant, ctx == OP_WEBHOOK ? "delivery" : "request", outcome), 1);
    /* Per tenant: the SLI is, and these are the dense series. */
    (void)resource;
    history_hook_add(HS_OPS, tenant, "", 1);
    if (outcome[0] == 'e')
        history_hook_add(HS_OPS_ERROR, tenant, "", 1);
    else if (outcome[0] == 'd')
        history_hook_add(HS_OPS_DATA, tenant, "", 1);
}

void obs_scan_page(const char *tenant, const char *resource)
{
    if (reg)
        metrics_add(obs_family("vomo_sync_scan_pages_total"), METRIC_L(tenant, resource), 1);
}

void obs_records(const char *t, const char *r, int64_t applied, int64_t skipped, int64_t failed,
                 int64_t deleted)
{
    if (!reg)
        return;
    struct metric_family *rec = obs_family("vomo_sync_records_total");
    metrics_add(rec, METRIC_L(t, r, "applied"), (double)applied);
    metrics_add(rec, METRIC_L(t, r, "skipped"), (double)skipped);
    metrics_add(rec, METRIC_L(t, r, "failed"), (double)failed);
    metrics_add(rec, METRIC_L(t, r, "deleted"), (double)deleted);
}

void obs_scan_end(const struct obs_scan *s)
{
    if (!reg)
        return;
    const char *t = s->tenant, *r = s->resource;
    obs_records(t, r, s->applied, s->skipped, s->failed, s->deleted);
    metrics_add(obs_family("vomo_sync_scans_total"), METRIC_L(t, r, s->kind, s->status), 1);
    metrics_observe(obs_family("vomo_sync_scan_duration_seconds"), METRIC_L(t, r), s->seconds);
    if (strcmp(s->status, "complete") == 0)
        history_hook_scan_complete(t, r);
    if (strcmp(s->status, "complete") == 0)
        metrics_set(obs_family("vomo_sync_last_scan_success_timestamp_seconds"), METRIC_L(t, r),
                    (double)clock_wall_ms() / 1000.0);
}

void obs_record_fetch(const char *tenant, const char *resource, const char *outcome)
{
    metrics_add(obs_family("vomo_sync_record_fetches_total"), METRIC_L(tenant, resource, outcome),
                1);
}

void obs_hint(const char *tenant, const char *type, const char *outcome)
{
    metrics_add(obs_family("vomo_sync_vomo_hints_total"), METRIC_L(tenant, type, outcome), 1);
}

void obs_hint_bad_signature(const char *tenant)
{
    metrics_add(obs_family("vomo_sync_vomo_hint_bad_signatures_total"), METRIC_L(tenant), 1);
}

void obs_hint_gap(const char *tenant, const char *resource, double ratio)
{
    metrics_set(obs_family("vomo_sync_vomo_hint_gap_ratio"), METRIC_L(tenant, resource), ratio);
}

void obs_api_request(const char *tenant, const char *resource, const char *code, const char *cache,
                     double seconds)
{
    metrics_add(obs_family("vomo_sync_api_requests_total"), METRIC_L(tenant, resource, code, cache),
                1);
    metrics_observe(obs_family("vomo_sync_api_request_duration_seconds"), METRIC_L(tenant),
                    seconds);
}

void obs_api_live(const char *tenant, const char *outcome)
{
    metrics_add(obs_family("vomo_sync_api_live_reads_total"), METRIC_L(tenant, outcome), 1);
}

void obs_alert_notification(const char *target, const char *outcome)
{
    metrics_add(obs_family("vomo_sync_alert_notifications_total"), METRIC_L(target, outcome), 1);
}

void obs_alert_queue(size_t n)
{
    metrics_set(obs_family("vomo_sync_alert_queue_length"), NULL, (double)n);
}
