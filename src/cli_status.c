/*
 * cli_status.c - `vomo-sync status`: what an operator asks first.  Per
 * tenant/resource: the checkpoint, the last scan, record counts and DLQ
 * counts; then the state each tenant is in and each circuit breaker, as the
 * running daemon last published them in the state database (statusdoc.c).
 * When the daemon runs, its /status adds the live part: breaker timers,
 * lanes, rate gates, scans in progress.
 */
#include <getopt.h>
#include <limits.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <curl/curl.h>

#include "cli.h"
#include "cli_common.h"
#include "migrations.h"
#include "netaddr.h"
#include "statusdoc.h"
#include "store.h"

static const char status_usage[] =
    "usage: vomo-sync [--config FILE] status [--json] [--db FILE]\n\n"
    "Shows, per tenant and resource, the checkpoint (records updated on or after it\n"
    "are read next), the last scan (when, outcome, records seen), records held\n"
    "(live/deleted) and dead letters (pending/manual_review); then each tenant's\n"
    "state (ok, auth_failed, destination_paused, ...) and each circuit breaker.\n"
    "Tenants in the configuration appear even before their first scan.  When the\n"
    "daemon runs, the live part of its /status is added (breaker timers, lanes,\n"
    "rate gates, scans in progress).\n\n"
    "options:\n"
    "  --json     print one JSON object {database, schema_version, resources,\n"
    "             tenants, breakers, hints, live}; live comes from the running daemon's\n"
    "             /status ([http] listen) or holds {\"error\": ...} without one\n"
    "  --db FILE  use this database file instead of the configured state_db\n"
    "  --help     this text\n";

/* Asks the running daemon for the live section of its /status; any
 * failure becomes {"error": "..."} (the daemon may simply not run). */
static size_t collect(char *p, size_t size, size_t n, void *arg)
{
    return buf_append(arg, p, size * n) < 0 ? 0 : size * n;
}

static cJSON *live_error(const char *fmt, ...) PRINTF_LIKE(1, 2);
static cJSON *live_error(const char *fmt, ...)
{
    char msg[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "error", msg);
    return o;
}

static bool same_file(const char *a, const char *b)
{
    char ra[PATH_MAX], rb[PATH_MAX];
    if (!realpath(a, ra) || !realpath(b, rb))
        return strcmp(a, b) == 0;
    return strcmp(ra, rb) == 0;
}

static cJSON *fetch_live(const struct config *cfg, const char *db_path)
{
    const char *listen = cfg && cfg->http_listen ? cfg->http_listen : "off";
    struct netaddr a;
    const char *why;
    if (strcmp(listen, "off") == 0 || netaddr_parse(listen, &a, &why) < 0 || !netaddr_port(&a))
        return live_error("no live figures: the daemon's HTTP endpoint is not known ([http] "
                          "listen = %s)",
                          listen);
    char url[128];
    snprintf(url, sizeof(url), "http://%s/status", listen);
    struct buf b;
    buf_init(&b, 16 * 1024 * 1024);
    CURL *c = curl_easy_init();
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, 3000L);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, collect);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, &b);
    CURLcode rc = curl_easy_perform(c);
    long status = 0;
    curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
    curl_easy_cleanup(c);
    cJSON *doc = rc == CURLE_OK && status == 200 && b.data ? cJSON_Parse(b.data) : NULL;
    buf_free(&b);
    /* Another daemon (another state database) may own the port. */
    const cJSON *db = cJSON_GetObjectItem(doc, "database");
    if (doc && (!cJSON_IsString(db) || !same_file(db->valuestring, db_path))) {
        cJSON *e = live_error("no live figures: the daemon at %s serves another state database "
                              "(%s)",
                              listen, cJSON_IsString(db) ? db->valuestring : "?");
        cJSON_Delete(doc);
        return e;
    }
    cJSON *live = doc ? cJSON_DetachItemFromObject(doc, "live") : NULL;
    cJSON_Delete(doc);
    if (!live)
        return live_error("no live figures: no daemon answers at %s (%s); the figures above are "
                          "from the state database",
                          listen, rc != CURLE_OK ? curl_easy_strerror(rc) : "not a status page");
    return live;
}

/* A section of the document as a table, or the error it holds. */
static void print_section(const char *title, const cJSON *rows, const char *const *cols,
                          size_t ncols, const char *none)
{
    printf("\n%s:\n", title);
    const char *err = statusdoc_section_error(rows);
    if (err)
        printf("  error: %s\n", err);
    else if (cJSON_GetArraySize(rows) == 0)
        printf("  %s\n", none);
    else
        cli_table(stdout, rows, cols, ncols);
}

static double num(const cJSON *o, const char *k)
{
    const cJSON *v = cJSON_GetObjectItem(o, k);
    return cJSON_IsNumber(v) ? v->valuedouble : 0;
}

static const char *str(const cJSON *o, const char *k)
{
    const cJSON *v = cJSON_GetObjectItem(o, k);
    return cJSON_IsString(v) ? v->valuestring : "-";
}

static void print_live(const cJSON *live)
{
    const char *err = statusdoc_section_error(live);
    if (err) {
        printf("\nlive: %s\n", err);
        return;
    }
    printf("\nlive (the running daemon at %s, %s):\n", str(live, "http"), str(live, "phase"));
    const cJSON *it;
    cJSON_ArrayForEach(it, cJSON_GetObjectItem(live, "breakers"))
    {
        printf("  breaker %-24s %-9s failures %.0f", str(it, "name"), str(it, "state"),
               num(it, "failures"));
        if (cJSON_GetObjectItem(it, "probe_in_ms"))
            printf(", probe in %.0f ms", num(it, "probe_in_ms"));
        printf("\n");
    }
    cJSON_ArrayForEach(it, cJSON_GetObjectItem(live, "scans"))
        printf("  scan %s/%s: page %.0f of %.0f, %.0f records, %.1f s\n", str(it, "tenant"),
               str(it, "resource"), num(it, "pages_done"), num(it, "last_page"), num(it, "records"),
               num(it, "running_ms") / 1000.0);
    cJSON_ArrayForEach(it, cJSON_GetObjectItem(live, "tenants"))
    {
        const cJSON *lane = cJSON_GetObjectItem(it, "vomo_lane");
        printf("  tenant %s: %s, retry budget %.0f, rate gate wait %.0f ms, VOMO lane %.0f queued "
               "/ %.0f in flight\n",
               str(it, "tenant"), str(it, "state"), num(it, "retry_budget_tokens"),
               num(it, "rate_gate_wait_ms"), num(lane, "queued"), num(lane, "in_flight"));
    }
    const cJSON *dlq = cJSON_GetObjectItem(live, "dlq");
    printf("  DLQ processor: %.0f pending, %.0f for review\n", num(dlq, "pending"),
           num(dlq, "manual_review"));
}

static int64_t int_of(const cJSON *row, const char *key)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(row, key);
    return cJSON_IsNumber(v) ? (int64_t)v->valuedouble : 0;
}

static const char *text_of(const cJSON *row, const char *key)
{
    const char *v = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(row, key));
    return v ? v : "-";
}

/* What needs a person: records held for more than a day (the checkpoint
 * waits for them) and reconciliations that refused to delete. */
static void print_attention(const cJSON *resources)
{
    int lines = 0;
    const cJSON *r;
    printf("\nneeds a person:\n");
    cJSON_ArrayForEach(r, resources)
    {
        const char *t = text_of(r, "tenant"), *res = text_of(r, "resource");
        bool held = int_of(r, "holds_over_1d") > 0, refused = int_of(r, "reconcile_refused") > 0;
        lines += held + refused;
        if (held)
            printf("  %s/%s: %lld record(s) held for more than a day (failing since %s); the "
                   "checkpoint stays before them: see the holds table\n",
                   t, res, (long long)int_of(r, "holds_over_1d"), text_of(r, "oldest_hold_at"));
        if (refused)
            printf("  %s/%s: reconciliation at %s found %lld of %lld records missing from VOMO, "
                   "too many to delete at once: nothing was deleted; check the organization and "
                   "its token in VOMO, then `vomo-sync reconcile allow %s %s` if they are gone\n",
                   t, res, text_of(r, "reconcile_refused_at"),
                   (long long)int_of(r, "reconcile_refused"),
                   (long long)int_of(r, "reconcile_refused_held"), t, res);
    }
    if (lines == 0)
        printf("  nothing\n");
}

static void print_storage(const cJSON *st)
{
    if (!cJSON_GetObjectItem(st, "disk_free_bytes"))
        return;
    printf("\nstorage: %.1f MiB database, %.1f MiB WAL, %.1f MiB free on its file system%s\n",
           num(st, "size_bytes") / 1048576, num(st, "wal_bytes") / 1048576,
           num(st, "disk_free_bytes") / 1048576,
           cJSON_IsTrue(cJSON_GetObjectItem(st, "disk_low"))
               ? " (LOW: when it runs out, syncing stops and the read API serves what it has)"
               : "");
}

static void print_text(const char *path, const cJSON *doc)
{
    static const char *const rcols[] = {"tenant",
                                        "resource",
                                        "checkpoint",
                                        "last_scan_at",
                                        "last_scan_status",
                                        "last_complete_scan_at",
                                        "last_scan_records",
                                        "live",
                                        "deleted",
                                        "dlq_pending",
                                        "dlq_manual_review",
                                        "holds"};
    static const char *const tcols[] = {"tenant", "status", "reason", "updated_at"};
    static const char *const bcols[] = {"name",   "state",     "failures",
                                        "reason", "opened_at", "updated_at"};
    printf("state database %s (schema version %d)\n", path, migrations_count);
    print_section("resources", cJSON_GetObjectItem(doc, "resources"), rcols, ARRAY_SIZE(rcols),
                  "none yet (no configured tenant has been scanned)");
    print_attention(cJSON_GetObjectItem(doc, "resources"));
    print_section("tenants", cJSON_GetObjectItem(doc, "tenants"), tcols, ARRAY_SIZE(tcols),
                  "no state published yet (the daemon has not run)");
    print_section("breakers", cJSON_GetObjectItem(doc, "breakers"), bcols, ARRAY_SIZE(bcols),
                  "none recorded (all closed)");
    static const char *const acols[] = {"id",       "name",       "tenant", "resource",
                                        "severity", "started_at", "summary"};
    print_section("alerts firing", cJSON_GetObjectItem(doc, "alerts"), acols, ARRAY_SIZE(acols),
                  "none");
    static const char *const ecols[] = {"tenant",    "consumed_pct", "remaining_ratio",
                                        "burn_1h",   "burn_6h",      "burn_3d",
                                        "freshness", "action",       "updated_at"};
    print_section(
        "error budgets", cJSON_GetObjectItem(doc, "error_budgets"), ecols, ARRAY_SIZE(ecols),
        "not evaluated yet (the daemon evaluates them every [alerts] interval while it runs)");
    const cJSON *notes = cJSON_GetObjectItem(doc, "alert_notes"), *n;
    if (cJSON_IsArray(notes))
        cJSON_ArrayForEach(n, notes)
            printf("  note on %s: %s\n", text_of(n, "name"), text_of(n, "note"));
    static const char *const hcols[] = {"tenant",  "received", "pending",         "changed",
                                        "skipped", "gone",     "scanned",         "failed",
                                        "ignored", "replays",  "last_received_at"};
    print_section("VOMO webhook hints", cJSON_GetObjectItem(doc, "hints"), hcols, ARRAY_SIZE(hcols),
                  "none received");
    print_storage(cJSON_GetObjectItem(doc, "storage"));
    print_live(cJSON_GetObjectItem(doc, "live"));
}

static int run_status(const char *path, const struct config *cfg, int json)
{
    struct store *s = NULL;
    int rc = cli_open(path, &s);
    if (rc != 0)
        return rc;
    bool failed = false;
    cJSON *doc = statusdoc_build(s, path, cfg, &failed);
    cJSON_AddItemToObject(doc, "live", fetch_live(cfg, path));
    if (json)
        cli_print_json(stdout, doc);
    else
        print_text(path, doc);
    cJSON_Delete(doc);
    store_close(s);
    return failed ? EXIT_RUNTIME : rc;
}

int cmd_status(int argc, char **argv, const char *config_path)
{
    static const struct option opts[] = {{"db", required_argument, NULL, 'd'},
                                         {"json", no_argument, NULL, 'j'},
                                         {"help", no_argument, NULL, 'h'},
                                         {0, 0, 0, 0}};
    const char *db = NULL;
    int json = 0, c;
    cli_init();
    opterr = 0;
    while ((c = getopt_long(argc, argv, ":h", opts, NULL)) != -1) {
        if (c == 'h') {
            fputs(status_usage, stdout);
            return EXIT_OK;
        } else if (c == 'd') {
            db = optarg;
        } else if (c == 'j') {
            json = 1;
        } else {
            return cli_usage_error(status_usage, "status: bad option '%s'", argv[optind - 1]);
        }
    }
    if (optind < argc)
        return cli_usage_error(status_usage, "status: unexpected argument '%s'", argv[optind]);
    struct config *cfg = NULL;
    char *path = NULL;
    int rc = cli_db_path(db, config_path, &path, &cfg);
    if (rc == 0)
        rc = run_status(path, cfg, json);
    cfg_free(cfg);
    free(path);
    return rc;
}
