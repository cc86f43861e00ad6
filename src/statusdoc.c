/*
 * statusdoc.c - the status document (see statusdoc.h).  The queries read
 * the state database only; the CLI runs them without a daemon, the daemon
 * serves them on /status and adds what only it knows (web_status.c).
 */
#include "statusdoc.h"

#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statvfs.h>

#include "migrations.h"
#include "util.h"

/* Every (tenant, resource) known to the database or the configuration
 * (?1: a JSON array of [tenant, resource] pairs). */
static const char resources_sql[] =
    "WITH keys (tenant, resource) AS ("
    "  SELECT tenant, resource FROM checkpoints UNION SELECT tenant, resource FROM scans"
    "  UNION SELECT tenant, resource FROM holds"
    "  UNION SELECT tenant, resource FROM records UNION SELECT tenant, resource FROM dlq"
    "  UNION SELECT json_extract(value, '$[0]'), json_extract(value, '$[1]')"
    "        FROM json_each(?1)) "
    "SELECT k.tenant, k.resource, "
    "  coalesce(c.updated_after, '" TS_EPOCH "') AS checkpoint, "
    "  l.finished_at AS last_scan_at, l.kind AS last_scan_kind, "
    "  l.status AS last_scan_status, l.records AS last_scan_records, "
    "  (SELECT max(s.finished_at) FROM scans s WHERE s.tenant = k.tenant"
    "   AND s.resource = k.resource AND s.status = 'complete') AS last_complete_scan_at, "
    "  c.last_full_scan_at, coalesce(rc.live, 0) AS live, coalesce(rc.deleted, 0) AS deleted, "
    "  (SELECT count(*) FROM dlq d WHERE d.tenant = k.tenant AND d.resource = k.resource"
    "   AND d.status = 'pending') AS dlq_pending, "
    "  (SELECT count(*) FROM dlq d WHERE d.tenant = k.tenant AND d.resource = k.resource"
    "   AND d.status = 'manual_review') AS dlq_manual_review, "
    "  (SELECT count(*) FROM holds h WHERE h.tenant = k.tenant AND h.resource = k.resource)"
    "   AS holds, "
    "  (SELECT count(*) FROM holds h WHERE h.tenant = k.tenant AND h.resource = k.resource"
    "   AND h.first_failed_at < strftime('%Y-%m-%dT%H:%M:%fZ', 'now', '-1 day'))"
    "   AS holds_over_1d, "
    "  (SELECT min(first_failed_at) FROM holds h WHERE h.tenant = k.tenant"
    "   AND h.resource = k.resource) AS oldest_hold_at, "
    "  b.candidates AS reconcile_refused, b.held AS reconcile_refused_held, "
    "  b.updated_at AS reconcile_refused_at "
    "FROM keys k LEFT JOIN checkpoints c ON c.tenant = k.tenant AND c.resource = k.resource "
    "LEFT JOIN last_scans l ON l.tenant = k.tenant AND l.resource = k.resource "
    "LEFT JOIN record_counts rc ON rc.tenant = k.tenant AND rc.resource = k.resource "
    "LEFT JOIN reconcile_blocks b ON b.tenant = k.tenant AND b.resource = k.resource "
    "ORDER BY k.tenant, k.resource";

static const char tenants_sql[] =
    "SELECT tenant, status, reason, updated_at FROM tenant_state ORDER BY tenant";
/* VOMO webhooks (migration 0009) per tenant: what came of them. */
static const char hints_sql[] =
    "SELECT tenant, count(*) AS received, sum(outcome = 'pending') AS pending, "
    "  sum(outcome IN ('applied', 'deleted')) AS changed, sum(outcome = 'skipped') AS skipped, "
    "  sum(outcome = 'gone') AS gone, sum(outcome = 'scanned') AS scanned, "
    "  sum(outcome IN ('failed', 'unreachable', 'expired')) AS failed, "
    "  sum(outcome = 'ignored') AS ignored, sum(replays) AS replays, "
    "  max(received_at) AS last_received_at "
    "FROM vomo_hints GROUP BY tenant ORDER BY tenant";
static const char breakers_sql[] =
    "SELECT name, state, failures, reason, opened_at, updated_at FROM breakers ORDER BY name";
static const char alerts_sql[] =
    "SELECT id, name, tenant, resource, severity, started_at, summary FROM alerts_firing";
/* As the evaluator last wrote it; consumed_pct rounded for people. */
static const char budgets_sql[] =
    "SELECT tenant, round(consumed * 100, 1) AS consumed_pct, remaining_ratio, target, "
    "operations, errors, burn_5m, burn_30m, burn_1h, burn_6h, burn_3d, freshness, action, "
    "updated_at FROM slo_status ORDER BY tenant";
static const char notes_sql[] = "SELECT name, note, updated_at FROM alert_notes ORDER BY name";

static cJSON *column_value(sqlite3_stmt *st, int i)
{
    switch (sqlite3_column_type(st, i)) {
    case SQLITE_INTEGER:
        return cJSON_CreateNumber((double)sqlite3_column_int64(st, i));
    case SQLITE_FLOAT:
        return cJSON_CreateNumber(sqlite3_column_double(st, i));
    case SQLITE_NULL:
        return cJSON_CreateNull();
    default:
        return cJSON_CreateString((const char *)sqlite3_column_text(st, i));
    }
}

static cJSON *section_error(const char *what, sqlite3 *db)
{
    cJSON *o = cJSON_CreateObject();
    char msg[400];
    snprintf(msg, sizeof(msg), "%s: %s", what, sqlite3_errmsg(db));
    cJSON_AddStringToObject(o, "error", msg);
    return o;
}

/* Rows of sql as an array of objects, or an {"error"} object. */
static cJSON *query(sqlite3 *db, const char *sql, const char *param, const char *what, bool *failed)
{
    sqlite3_stmt *st = NULL;
    if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) != SQLITE_OK) {
        *failed = true;
        return section_error(what, db);
    }
    if (param)
        sqlite3_bind_text(st, 1, param, -1, SQLITE_TRANSIENT);
    cJSON *arr = cJSON_CreateArray();
    int r;
    while ((r = sqlite3_step(st)) == SQLITE_ROW) {
        cJSON *row = cJSON_CreateObject();
        for (int i = 0; i < sqlite3_column_count(st); i++)
            cJSON_AddItemToObject(row, sqlite3_column_name(st, i), column_value(st, i));
        cJSON_AddItemToArray(arr, row);
    }
    if (r != SQLITE_DONE) {
        cJSON_Delete(arr);
        arr = section_error(what, db);
        *failed = true;
    }
    sqlite3_finalize(st);
    return arr;
}

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

static double file_size(const char *path, const char *suffix)
{
    char p[4200];
    struct stat st;
    snprintf(p, sizeof(p), "%s%s", path, suffix);
    return stat(p, &st) == 0 ? (double)st.st_size : 0;
}

/*
 * The "state database full" tier: how big the database is and how much
 * room its file system has left.  While it has none, reads (status, the
 * read API) go on and every write (a page, a checkpoint, a dead letter)
 * fails whole and is retried: nothing is lost, nothing advances.
 */
static cJSON *storage_section(const char *db_path, bool *failed)
{
    cJSON *o = cJSON_CreateObject();
    if (strcmp(db_path, ":memory:") == 0)
        return o;
    cJSON_AddNumberToObject(o, "size_bytes", file_size(db_path, ""));
    cJSON_AddNumberToObject(o, "wal_bytes", file_size(db_path, "-wal"));
    char dir[4100];
    snprintf(dir, sizeof(dir), "%s", db_path);
    char *slash = strrchr(dir, '/');
    if (slash)
        *(slash == dir ? slash + 1 : slash) = '\0';
    else
        snprintf(dir, sizeof(dir), ".");
    struct statvfs v;
    if (statvfs(dir, &v) < 0) {
        cJSON_AddStringToObject(o, "error", "the file system of the state database is unreadable");
        *failed = true;
        return o;
    }
    statusdoc_space(o, (double)v.f_bavail * (double)v.f_frsize);
    return o;
}

void statusdoc_space(cJSON *storage, double free_bytes)
{
    cJSON_AddNumberToObject(storage, "disk_free_bytes", free_bytes);
    cJSON_AddBoolToObject(storage, "disk_low", free_bytes < STATUSDOC_DISK_LOW_BYTES);
}

cJSON *statusdoc_build(struct store *s, const char *db_path, const struct config *cfg, bool *failed)
{
    bool bad = false;
    sqlite3 *db = store_db(s);
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "database", db_path);
    cJSON_AddNumberToObject(o, "schema_version", migrations_count);
    char *pairs = configured_pairs(cfg);
    cJSON_AddItemToObject(o, "resources",
                          query(db, resources_sql, pairs, "reading the resources", &bad));
    cJSON_free(pairs);
    cJSON_AddItemToObject(o, "tenants",
                          query(db, tenants_sql, NULL, "reading tenant states", &bad));
    cJSON_AddItemToObject(o, "breakers", query(db, breakers_sql, NULL, "reading breakers", &bad));
    cJSON_AddItemToObject(o, "storage", storage_section(db_path, &bad));
    cJSON_AddItemToObject(o, "alerts", query(db, alerts_sql, NULL, "reading alerts", &bad));
    cJSON_AddItemToObject(o, "error_budgets",
                          query(db, budgets_sql, NULL, "reading error budgets", &bad));
    cJSON_AddItemToObject(o, "alert_notes",
                          query(db, notes_sql, NULL, "reading alert notes", &bad));
    cJSON_AddItemToObject(o, "hints",
                          query(db, hints_sql, NULL, "reading VOMO webhook hints", &bad));
    if (failed)
        *failed = bad;
    return o;
}

const char *statusdoc_section_error(const cJSON *section)
{
    const cJSON *e = cJSON_IsObject(section) ? cJSON_GetObjectItem(section, "error") : NULL;
    return cJSON_IsString(e) ? e->valuestring : NULL;
}
