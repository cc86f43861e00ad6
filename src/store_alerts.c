/*
 * store_alerts.c - alerts, error-budget status and resume requests in
 * SQLite (see store_alerts.h).  Statements are prepared per call: they run
 * on transitions and once per evaluation, never per record.
 */
#include "store_alerts.h"

#include <errno.h>

#include "store_priv.h"

int store_alert_fire(struct store *s, const char *name, const char *tenant, const char *resource,
                     const char *severity, int64_t started_ms, const char *summary, int64_t *id)
{
    sqlite3_stmt *st;
    int rc = store_prepare_once(
        s,
        "INSERT INTO alerts (name, tenant, resource, severity, state, started_at, "
        "summary, last_notified_at) VALUES (?1, ?2, ?3, ?4, 'firing', ?5, ?6, ?5)",
        &st, "recording an alert");
    if (rc < 0)
        return rc;
    sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, tenant, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 3, resource, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 4, severity, -1, SQLITE_STATIC);
    store_bind_ms(st, 5, started_ms);
    sqlite3_bind_text(st, 6, summary, -1, SQLITE_STATIC);
    rc = store_run_once(s, st, "recording an alert");
    if (rc == 0)
        *id = sqlite3_last_insert_rowid(s->db);
    return rc;
}

int store_alert_resolve(struct store *s, int64_t id, int64_t resolved_ms)
{
    sqlite3_stmt *st;
    int rc = store_prepare_once(
        s,
        "UPDATE alerts SET state = 'resolved', resolved_at = ?2, last_notified_at = ?2 "
        "WHERE id = ?1 AND state = 'firing'",
        &st, "resolving an alert");
    if (rc < 0)
        return rc;
    sqlite3_bind_int64(st, 1, id);
    store_bind_ms(st, 2, resolved_ms);
    return store_run_once(s, st, "resolving an alert");
}

int store_alert_each(struct store *s, bool all, int64_t since_ms, int limit,
                     void (*fn)(void *arg, const struct store_alert *a), void *arg)
{
    static const char firing_sql[] =
        "SELECT id, name, tenant, resource, severity, state, started_at, resolved_at, summary "
        "FROM alerts WHERE state = 'firing' ORDER BY started_at, id";
    static const char all_sql[] =
        "SELECT id, name, tenant, resource, severity, state, started_at, resolved_at, summary "
        "FROM alerts WHERE state = 'firing' OR started_at >= ?1 "
        "ORDER BY started_at DESC, id DESC LIMIT ?2";
    sqlite3_stmt *st;
    int rc = store_prepare_once(s, all ? all_sql : firing_sql, &st, "reading alerts");
    if (rc < 0)
        return rc;
    if (all) {
        store_bind_ms(st, 1, since_ms);
        sqlite3_bind_int(st, 2, limit);
    }
    int r;
    while ((r = sqlite3_step(st)) == SQLITE_ROW) {
        struct store_alert a = {.id = sqlite3_column_int64(st, 0),
                                .name = store_col_text(st, 1),
                                .tenant = store_col_text(st, 2),
                                .resource = store_col_text(st, 3),
                                .severity = store_col_text(st, 4),
                                .state = store_col_text(st, 5),
                                .started_at = store_col_ms(st, 6),
                                .resolved_at = store_col_ms(st, 7),
                                .summary = store_col_text(st, 8)};
        fn(arg, &a);
    }
    sqlite3_finalize(st);
    return r == SQLITE_DONE ? 0 : store_fail(s, r, "reading alerts");
}

static int put_status(struct store *s, sqlite3_stmt *st, const struct store_slo_status *v,
                      int64_t now_ms)
{
    sqlite3_bind_text(st, 1, v->tenant, -1, SQLITE_STATIC);
    sqlite3_bind_double(st, 2, v->target);
    sqlite3_bind_int64(st, 3, v->operations);
    sqlite3_bind_int64(st, 4, v->errors);
    sqlite3_bind_double(st, 5, v->consumed);
    sqlite3_bind_double(st, 6, v->remaining_ratio);
    const double burns[] = {v->burn_5m, v->burn_30m, v->burn_1h, v->burn_6h, v->burn_3d};
    for (int i = 0; i < 5; i++)
        sqlite3_bind_double(st, 7 + i, burns[i]);
    if (v->freshness >= 0)
        sqlite3_bind_double(st, 12, v->freshness);
    else
        sqlite3_bind_null(st, 12);
    sqlite3_bind_text(st, 13, v->action, -1, SQLITE_STATIC);
    store_bind_ms(st, 14, now_ms);
    int r = sqlite3_step(st);
    sqlite3_reset(st);
    sqlite3_clear_bindings(st);
    return r == SQLITE_DONE ? 0 : store_fail(s, r, "recording the error budget");
}

int store_slo_status_put(struct store *s, const struct store_slo_status *v, size_t n,
                         int64_t now_ms)
{
    sqlite3_stmt *st;
    int rc = store_prepare_once(
        s,
        "INSERT OR REPLACE INTO slo_status (tenant, target, operations, errors, "
        "consumed, remaining_ratio, burn_5m, burn_30m, burn_1h, burn_6h, burn_3d, "
        "freshness, action, updated_at) "
        "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14)",
        &st, "recording the error budget");
    if (rc < 0)
        return rc;
    rc = store_begin(s);
    sqlite3_stmt *del = NULL;
    if (rc == 0)
        rc = store_prepare_once(s, "DELETE FROM slo_status", &del, "recording the error budget");
    if (rc == 0)
        rc = store_run_once(s, del, "recording the error budget");
    for (size_t i = 0; rc == 0 && i < n; i++)
        rc = put_status(s, st, &v[i], now_ms);
    sqlite3_finalize(st);
    if (rc == 0)
        rc = store_commit(s);
    if (rc < 0)
        store_rollback(s);
    return rc;
}

int store_slo_paused_each(struct store *s, void (*fn)(void *arg, const char *tenant, int64_t at_ms),
                          void *arg)
{
    sqlite3_stmt *st;
    int rc = store_prepare_once(
        s, "SELECT tenant, updated_at FROM slo_status WHERE action = 'writes_paused'", &st,
        "reading the error budgets");
    if (rc < 0)
        return rc;
    int r;
    while ((r = sqlite3_step(st)) == SQLITE_ROW)
        fn(arg, store_col_text(st, 0), store_col_ms(st, 1));
    sqlite3_finalize(st);
    return r == SQLITE_DONE ? 0 : store_fail(s, r, "reading the error budgets");
}

int store_alert_note(struct store *s, const char *name, const char *note, int64_t now_ms)
{
    sqlite3_stmt *st;
    bool del = !note || !*note;
    int rc = store_prepare_once(s,
                                del ? "DELETE FROM alert_notes WHERE name = ?1"
                                    : "INSERT OR REPLACE INTO alert_notes (name, note, updated_at) "
                                      "VALUES (?1, ?2, ?3)",
                                &st, "recording an alert note");
    if (rc < 0)
        return rc;
    sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC);
    if (!del) {
        sqlite3_bind_text(st, 2, note, -1, SQLITE_STATIC);
        store_bind_ms(st, 3, now_ms);
    }
    return store_run_once(s, st, "recording an alert note");
}

int store_slo_resume_request(struct store *s, const char *tenant, const char *by, int64_t now_ms)
{
    sqlite3_stmt *st;
    int rc = store_prepare_once(
        s,
        "INSERT OR REPLACE INTO slo_resumes (tenant, requested_at, requested_by) "
        "VALUES (?1, ?2, ?3)",
        &st, "recording a resume");
    if (rc < 0)
        return rc;
    sqlite3_bind_text(st, 1, tenant, -1, SQLITE_STATIC);
    store_bind_ms(st, 2, now_ms);
    sqlite3_bind_text(st, 3, by, -1, SQLITE_STATIC);
    return store_run_once(s, st, "recording a resume");
}

int store_slo_resume_at(struct store *s, const char *tenant, int64_t *at_ms)
{
    sqlite3_stmt *st;
    int rc = store_prepare_once(s, "SELECT requested_at FROM slo_resumes WHERE tenant = ?1", &st,
                                "reading resume requests");
    if (rc < 0)
        return rc;
    sqlite3_bind_text(st, 1, tenant, -1, SQLITE_STATIC);
    int r = sqlite3_step(st);
    *at_ms = r == SQLITE_ROW ? store_col_ms(st, 0) : 0;
    sqlite3_finalize(st);
    return r == SQLITE_ROW || r == SQLITE_DONE ? 0 : store_fail(s, r, "reading resume requests");
}
