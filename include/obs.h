/*
 * obs.h - what vomo-sync counts for Prometheus: the metric families every
 * release keeps (ARCHITECTURE.md, "The local HTTP endpoint") and the few
 * narrow hooks that feed them from where things happen: an HTTP attempt
 * ends (call.c), an operation fails for good (call.c), a page of a scan
 * ends (scan.c), a scan ends (scan_end.c), an operation ends (call.c).
 * The hooks also feed the alert history (history.h).  Gauges that are read rather
 * than counted (breakers, queues, DLQ rows) are set at scrape time by
 * web_metrics.c.
 *
 * Like the log, the registry is process-wide: the engine opens it with its
 * configuration (obs_open, again on reload to pre-initialise new tenants)
 * and closes it when freed.  Every hook is a no-op while it is closed.
 * Labels come only from bounded sets: configured tenants, the three
 * resources, error classes, scan kinds and statuses, HTTP statuses (one
 * label value per status code VOMO can send, 100..599) and the five
 * network failure names.  Counters start at 0 with the process.
 */
#ifndef VOMO_OBS_H
#define VOMO_OBS_H

#include <stdint.h>

#include "classify.h"
#include "config.h"
#include "http.h"
#include "metrics.h"

/* Opens the registry (or re-reads the configuration when open): every
 * labelled counter of every configured tenant/resource starts at 0. */
void obs_open(const struct config *cfg);
void obs_close(void);
/* The registry, or NULL while closed. */
struct metrics *obs_registry(void);
/* A family of the registry by name (NULL while closed or unknown). */
struct metric_family *obs_family(const char *name);

/* The code label of an HTTP attempt: the status ("200", "503"), or
 * "timeout", "reset", "dns", "tls", "connect" (or "error") without one. */
const char *obs_code(long status, int curl_code, char buf[8]);

/* One HTTP attempt ended (cancelled ones are not counted).  webhook: a
 * delivery to a customer endpoint, else a VOMO request.  wait_ms: the
 * Retry-After wait a 429 imposed (0 when none). */
void obs_http_attempt(bool webhook, const char *tenant, const char *resource,
                      const struct http_response *resp, int64_t wait_ms);
/* An operation ended with an error class after its retries. */
void obs_error(const char *tenant, const char *resource, const char *cls);
/*
 * An operation ended after its in-cycle retries (not cancelled): a VOMO
 * request, or a delivery to a webhook destination (ctx OP_WEBHOOK).  Feeds
 * vomo_sync_operations_total{tenant,kind,outcome} and the error budget's
 * history.  The outcome (obs_outcome): ok; data when the record's own data
 * was refused (validation: the customer's problem, not an error of the
 * integration); error otherwise.
 */
void obs_operation(enum op_context ctx, const char *tenant, const char *resource,
                   enum err_class cls);
const char *obs_outcome(enum op_context ctx, enum err_class cls);
/* One page of a scan was decided and committed. */
void obs_scan_page(const char *tenant, const char *resource);

struct obs_scan {
    const char *tenant, *resource, *kind, *status;
    double seconds;
    int64_t applied, skipped, failed, deleted;
};
/* A scan ended (status complete, incomplete, failed or aborted). */
void obs_scan_end(const struct obs_scan *s);
/* Records handled outside a scan (a read of one record by id). */
void obs_records(const char *tenant, const char *resource, int64_t applied, int64_t skipped,
                 int64_t failed, int64_t deleted);
/* A read of one record by id ended (recordfetch.c): applied, skipped,
 * deleted, gone, failed, none. */
void obs_record_fetch(const char *tenant, const char *resource, const char *outcome);
/* VOMO webhooks: a hint's outcome (type is vomohint's bounded label), a
 * refused signature, and the gap ratio of hintproc.h. */
void obs_hint(const char *tenant, const char *type, const char *outcome);
void obs_hint_bad_signature(const char *tenant);
void obs_hint_gap(const char *tenant, const char *resource, double ratio);

/*
 * The read API (web_api.c): one request ended.  The caller bounds the
 * labels: tenant and resource are configured names or OBS_API_OTHER;
 * code is the HTTP status sent, or OBS_API_GONE when the client went away
 * before an answer; cache is apidoc_cache_label()'s name.
 */
#define OBS_API_OTHER "other"
#define OBS_API_GONE "gone"
void obs_api_request(const char *tenant, const char *resource, const char *code, const char *cache,
                     double seconds);
/* A live read ended: forwarded, fallback, refused, recent, shed or
 * cancelled (README, metrics section). */
void obs_api_live(const char *tenant, const char *outcome);
/* The alert targets (alertsink.c): target "webhook" or "alertmanager",
 * outcome sent, retried or dropped; and the webhook messages queued. */
void obs_alert_notification(const char *target, const char *outcome);
void obs_alert_queue(size_t n);

#endif
