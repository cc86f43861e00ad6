/*
 * store_history.c - the alert history in SQLite (see store_history.h).
 * Statements are prepared per call, like store_scrape.c: the evaluator
 * runs a few dozen per tick, and keeping them out of the per-record cache
 * keeps that cache about records.
 */
#include "store_history.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "classify.h"
#include "store_priv.h"

static int64_t floor_to(int64_t ms, int64_t width)
{
    int64_t q = ms / width;
    if (ms < 0 && q * width != ms)
        q--;
    return q * width;
}

static const char add_sql[] =
    "INSERT INTO history (series, at, tenant, resource, value) VALUES (?1, ?2, ?3, ?4, ?5) "
    "ON CONFLICT (series, at, tenant, resource) DO UPDATE SET value = value + excluded.value";
static const char set_sql[] =
    "INSERT INTO history (series, at, tenant, resource, value) VALUES (?1, ?2, ?3, ?4, ?5) "
    "ON CONFLICT (series, at, tenant, resource) DO UPDATE SET value = excluded.value";
static const char hourly_sql[] =
    "INSERT INTO history_hourly (series, at, tenant, resource, value) "
    "VALUES (?1, ?2, ?3, ?4, ?5) "
    "ON CONFLICT (series, at, tenant, resource) DO UPDATE SET value = value + excluded.value";

static int put(struct store *s, sqlite3_stmt *st, const struct history_entry *e, int64_t at)
{
    sqlite3_bind_text(st, 1, e->series, -1, SQLITE_STATIC);
    store_bind_ms(st, 2, at);
    sqlite3_bind_text(st, 3, e->tenant, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 4, e->resource, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 5, e->value);
    int r = sqlite3_step(st);
    sqlite3_reset(st);
    sqlite3_clear_bindings(st);
    return r == SQLITE_DONE ? 0 : store_fail(s, r, "writing the alert history");
}

int store_history_write(struct store *s, const struct history_entry *v, size_t n, int64_t rollup_ms)
{
    if (n == 0)
        return 0;
    sqlite3_stmt *add = NULL, *set = NULL, *hour = NULL;
    int rc = store_prepare_once(s, add_sql, &add, "preparing the alert history");
    if (rc == 0)
        rc = store_prepare_once(s, set_sql, &set, "preparing the alert history");
    if (rc == 0)
        rc = store_prepare_once(s, hourly_sql, &hour, "preparing the alert history");
    if (rc == 0)
        rc = store_begin(s);
    for (size_t i = 0; rc == 0 && i < n; i++) {
        const struct history_entry *e = &v[i];
        rc = put(s, e->sample ? set : add, e, e->at_ms);
        if (rc == 0 && !e->sample)
            rc = put(s, hour, e, floor_to(e->at_ms, rollup_ms));
    }
    sqlite3_finalize(add);
    sqlite3_finalize(set);
    sqlite3_finalize(hour);
    if (rc == 0)
        rc = store_commit(s);
    if (rc < 0)
        store_rollback(s);
    return rc;
}

/* Every series the daemon writes: pruning walks each one's key range
 * instead of the whole table. */
static int each_series(int (*fn)(struct store *s, const char *series, void *arg), struct store *s,
                       void *arg)
{
    static const char *const fixed[] = {HS_VOMO_5XX, HS_OPS,     HS_OPS_ERROR, HS_OPS_DATA,
                                        HS_DLQ_ROWS, HS_MINUTES, HS_FRESH};
    for (size_t i = 0; i < ARRAY_SIZE(fixed); i++) {
        int rc = fn(s, fixed[i], arg);
        if (rc < 0)
            return rc;
    }
    for (int c = EC_NONE + 1; c < EC_COUNT; c++) {
        char series[HISTORY_SERIES_LEN];
        snprintf(series, sizeof(series), "%s%s", HS_ERROR_PREFIX,
                 err_class_name((enum err_class)c));
        int rc = fn(s, series, arg);
        if (rc < 0)
            return rc;
    }
    return 0;
}

struct prune_ctx {
    int64_t before[2];
    int64_t deleted;
};

static int prune_series(struct store *s, const char *series, void *arg)
{
    static const char *const sql[] = {"DELETE FROM history WHERE series = ?1 AND at < ?2",
                                      "DELETE FROM history_hourly WHERE series = ?1 AND at < ?2"};
    struct prune_ctx *c = arg;
    for (int i = 0; i < 2; i++) {
        sqlite3_stmt *st;
        int rc = store_prepare_once(s, sql[i], &st, "pruning the alert history");
        if (rc < 0)
            return rc;
        sqlite3_bind_text(st, 1, series, -1, SQLITE_STATIC);
        store_bind_ms(st, 2, c->before[i]);
        int r = sqlite3_step(st);
        sqlite3_finalize(st);
        if (r != SQLITE_DONE)
            return store_fail(s, r, "pruning the alert history");
        c->deleted += sqlite3_changes(s->db);
    }
    return 0;
}

int store_history_prune(struct store *s, int64_t minutes_before_ms, int64_t hourly_before_ms,
                        int64_t *deleted)
{
    struct prune_ctx c = {{minutes_before_ms, hourly_before_ms}, 0};
    int rc = store_begin(s);
    if (rc == 0)
        rc = each_series(prune_series, s, &c);
    if (rc == 0)
        rc = store_commit(s);
    if (rc < 0)
        store_rollback(s);
    if (deleted)
        *deleted = c.deleted;
    return rc;
}

int store_history_sums(struct store *s, enum store_history_table t, const char *series,
                       int64_t from_ms, int64_t to_ms,
                       void (*fn)(void *arg, const char *tenant, const char *resource, int64_t sum),
                       void *arg)
{
    static const char *const sql[] = {
        "SELECT tenant, resource, sum(value) FROM history "
        "WHERE series = ?1 AND at >= ?2 AND at < ?3 GROUP BY tenant, resource",
        "SELECT tenant, resource, sum(value) FROM history_hourly "
        "WHERE series = ?1 AND at >= ?2 AND at < ?3 GROUP BY tenant, resource"};
    sqlite3_stmt *st;
    int rc = store_prepare_once(s, sql[t == HIST_HOURLY], &st, "reading the alert history");
    if (rc < 0)
        return rc;
    sqlite3_bind_text(st, 1, series, -1, SQLITE_STATIC);
    store_bind_ms(st, 2, from_ms);
    store_bind_ms(st, 3, to_ms);
    int r;
    while ((r = sqlite3_step(st)) == SQLITE_ROW)
        fn(arg, store_col_text(st, 0), store_col_text(st, 1), sqlite3_column_int64(st, 2));
    sqlite3_finalize(st);
    return r == SQLITE_DONE ? 0 : store_fail(s, r, "reading the alert history");
}

int store_history_total(struct store *s, const char *series, int64_t from_ms, int64_t to_ms,
                        int64_t *sum)
{
    sqlite3_stmt *st;
    int rc = store_prepare_once(s,
                                "SELECT coalesce(sum(value), 0) FROM history "
                                "WHERE series = ?1 AND at >= ?2 AND at < ?3",
                                &st, "reading the alert history");
    if (rc < 0)
        return rc;
    sqlite3_bind_text(st, 1, series, -1, SQLITE_STATIC);
    store_bind_ms(st, 2, from_ms);
    store_bind_ms(st, 3, to_ms);
    int r = sqlite3_step(st);
    *sum = r == SQLITE_ROW ? sqlite3_column_int64(st, 0) : 0;
    sqlite3_finalize(st);
    return r == SQLITE_ROW ? 0 : store_fail(s, r, "reading the alert history");
}

int store_history_samples(struct store *s, const char *series, int64_t from_ms, int64_t to_ms,
                          void (*fn)(void *arg, const char *tenant, int64_t at_ms, int64_t value),
                          void *arg)
{
    sqlite3_stmt *st;
    int rc = store_prepare_once(
        s,
        "SELECT tenant, at, sum(value) FROM history WHERE series = ?1 AND at >= ?2 "
        "AND at <= ?3 GROUP BY at, tenant ORDER BY at",
        &st, "reading the alert history");
    if (rc < 0)
        return rc;
    sqlite3_bind_text(st, 1, series, -1, SQLITE_STATIC);
    store_bind_ms(st, 2, from_ms);
    store_bind_ms(st, 3, to_ms);
    int r;
    while ((r = sqlite3_step(st)) == SQLITE_ROW) {
        int64_t at = 0;
        if (ts_parse(store_col_text(st, 1), &at) == 0)
            fn(arg, store_col_text(st, 0), at, sqlite3_column_int64(st, 2));
    }
    sqlite3_finalize(st);
    return r == SQLITE_DONE ? 0 : store_fail(s, r, "reading the alert history");
}

int store_history_any(struct store *s, const char *series, int64_t from_ms, int64_t to_ms,
                      bool *any)
{
    sqlite3_stmt *st;
    int rc = store_prepare_once(
        s, "SELECT 1 FROM history WHERE series = ?1 AND at >= ?2 AND at < ?3 LIMIT 1", &st,
        "reading the alert history");
    if (rc < 0)
        return rc;
    sqlite3_bind_text(st, 1, series, -1, SQLITE_STATIC);
    store_bind_ms(st, 2, from_ms);
    store_bind_ms(st, 3, to_ms);
    int r = sqlite3_step(st);
    sqlite3_finalize(st);
    *any = r == SQLITE_ROW;
    return r == SQLITE_ROW || r == SQLITE_DONE ? 0 : store_fail(s, r, "reading the alert history");
}

int store_history_last_complete(struct store *s, const char *tenant, const char *resource,
                                int64_t *at_ms)
{
    sqlite3_stmt *st;
    int rc = store_prepare_once(s,
                                "SELECT finished_at FROM scans WHERE tenant = ?1 AND resource = ?2 "
                                "AND status = 'complete' ORDER BY id DESC LIMIT 1",
                                &st, "reading the last complete scan");
    if (rc < 0)
        return rc;
    sqlite3_bind_text(st, 1, tenant, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, resource, -1, SQLITE_STATIC);
    int r = sqlite3_step(st);
    *at_ms = 0;
    if (r == SQLITE_ROW && ts_parse(store_col_text(st, 0), at_ms) < 0)
        *at_ms = 0;
    sqlite3_finalize(st);
    return r == SQLITE_ROW || r == SQLITE_DONE ? 0
                                               : store_fail(s, r, "reading the last complete scan");
}
