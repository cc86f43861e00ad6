/*
 * cli_status.c - `vomo-sync status`: what an operator asks first.  Per
 * tenant/resource: the checkpoint, the last scan, record counts and DLQ
 * counts; then the state each tenant is in and each circuit breaker, as the
 * running daemon last published them in the state database.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "cli_common.h"
#include "migrations.h"
#include "store.h"

static const char status_usage[] =
    "usage: vomo-sync [--config FILE] status [--json] [--db FILE]\n\n"
    "Shows, per tenant and resource, the checkpoint (records updated on or after it\n"
    "are read next), the last scan (when, outcome, records seen), records held\n"
    "(live/deleted) and dead letters (pending/manual_review); then each tenant's\n"
    "state (ok, auth_failed, destination_paused, ...) and each circuit breaker.\n"
    "Tenants in the configuration appear even before their first scan.\n\n"
    "options:\n"
    "  --json     print one JSON object {database, schema_version, resources,\n"
    "             tenants, breakers}\n"
    "  --db FILE  use this database file instead of the configured state_db\n"
    "  --help     this text\n";

/* Every (tenant, resource) known to the database or the configuration
 * (?1: a JSON array of [tenant, resource] pairs). */
static const char resources_sql[] =
    "WITH keys (tenant, resource) AS ("
    "  SELECT tenant, resource FROM checkpoints UNION SELECT tenant, resource FROM scans"
    "  UNION SELECT tenant, resource FROM records UNION SELECT tenant, resource FROM dlq"
    "  UNION SELECT json_extract(value, '$[0]'), json_extract(value, '$[1]')"
    "        FROM json_each(?1)) "
    "SELECT k.tenant, k.resource, "
    "  coalesce(c.updated_after, '" TS_EPOCH "') AS checkpoint, "
    "  l.finished_at AS last_scan_at, l.kind AS last_scan_kind, "
    "  l.status AS last_scan_status, l.records AS last_scan_records, "
    "  c.last_full_scan_at, coalesce(rc.live, 0) AS live, coalesce(rc.deleted, 0) AS deleted, "
    "  (SELECT count(*) FROM dlq d WHERE d.tenant = k.tenant AND d.resource = k.resource"
    "   AND d.status = 'pending') AS dlq_pending, "
    "  (SELECT count(*) FROM dlq d WHERE d.tenant = k.tenant AND d.resource = k.resource"
    "   AND d.status = 'manual_review') AS dlq_manual_review "
    "FROM keys k LEFT JOIN checkpoints c ON c.tenant = k.tenant AND c.resource = k.resource "
    "LEFT JOIN last_scans l ON l.tenant = k.tenant AND l.resource = k.resource "
    "LEFT JOIN record_counts rc ON rc.tenant = k.tenant AND rc.resource = k.resource "
    "ORDER BY k.tenant, k.resource";

static char *configured_pairs(const struct config *cfg)
{
    cJSON *arr = cJSON_CreateArray();
    for (size_t i = 0; cfg && i < cfg->ntenants; i++)
        for (int r = 0; r < RES_COUNT; r++) {
            if (!(cfg->tenants[i].resources & RES_BIT(r)))
                continue;
            cJSON *pair = cJSON_CreateArray();
            cJSON_AddItemToArray(pair, cJSON_CreateString(cfg->tenants[i].name));
            cJSON_AddItemToArray(pair, cJSON_CreateString(resource_name((enum resource)r)));
            cJSON_AddItemToArray(arr, pair);
        }
    char *s = cJSON_PrintUnformatted(arr);
    cJSON_Delete(arr);
    return s;
}

struct status_data {
    cJSON *resources, *tenants, *breakers;
};

static int load(struct store *s, const struct config *cfg, struct status_data *d)
{
    char *pairs = configured_pairs(cfg);
    const char *params[] = {pairs};
    int rc = cli_query(s, resources_sql, params, 1, &d->resources);
    cJSON_free(pairs);
    if (rc == 0)
        rc = cli_query(s,
                       "SELECT tenant, status, reason, updated_at FROM tenant_state "
                       "ORDER BY tenant",
                       NULL, 0, &d->tenants);
    if (rc == 0)
        rc = cli_query(s,
                       "SELECT name, state, failures, reason, opened_at, updated_at "
                       "FROM breakers ORDER BY name",
                       NULL, 0, &d->breakers);
    return rc;
}

static void print_text(const char *path, const struct status_data *d)
{
    static const char *const rcols[] = {
        "tenant",           "resource",          "checkpoint", "last_scan_at",
        "last_scan_status", "last_scan_records", "live",       "deleted",
        "dlq_pending",      "dlq_manual_review"};
    static const char *const tcols[] = {"tenant", "status", "reason", "updated_at"};
    static const char *const bcols[] = {"name",   "state",     "failures",
                                        "reason", "opened_at", "updated_at"};
    printf("state database %s (schema version %d)\n\nresources:\n", path, migrations_count);
    if (cJSON_GetArraySize(d->resources) == 0)
        printf("  none yet (no configured tenant has been scanned)\n");
    else
        cli_table(stdout, d->resources, rcols, ARRAY_SIZE(rcols));
    printf("\ntenants:\n");
    if (cJSON_GetArraySize(d->tenants) == 0)
        printf("  no state published yet (the daemon has not run)\n");
    else
        cli_table(stdout, d->tenants, tcols, ARRAY_SIZE(tcols));
    printf("\nbreakers:\n");
    if (cJSON_GetArraySize(d->breakers) == 0)
        printf("  none recorded (all closed)\n");
    else
        cli_table(stdout, d->breakers, bcols, ARRAY_SIZE(bcols));
}

static void print_json(const char *path, struct status_data *d)
{
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "database", path);
    cJSON_AddNumberToObject(o, "schema_version", migrations_count);
    cJSON_AddItemToObject(o, "resources", d->resources);
    cJSON_AddItemToObject(o, "tenants", d->tenants);
    cJSON_AddItemToObject(o, "breakers", d->breakers);
    d->resources = d->tenants = d->breakers = NULL;
    cli_print_json(stdout, o);
    cJSON_Delete(o);
}

static int run_status(const char *path, const struct config *cfg, int json)
{
    struct store *s = NULL;
    struct status_data d = {0};
    int rc = cli_open(path, &s);
    if (rc != 0)
        return rc;
    if (load(s, cfg, &d) < 0)
        rc = EXIT_RUNTIME;
    else if (json)
        print_json(path, &d);
    else
        print_text(path, &d);
    cJSON_Delete(d.resources);
    cJSON_Delete(d.tenants);
    cJSON_Delete(d.breakers);
    store_close(s);
    return rc;
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
