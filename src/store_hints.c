/*
 * store_hints.c - the vomo_hints table (see store_hints.h).  Every
 * statement is prepared per call: hints come one per VOMO webhook, and the
 * persistent cache stays for the statements run per record.
 */
#include "store_hints.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "store_priv.h"

static int find_key(struct store *s, const char *tenant, const char *key, int64_t *id)
{
    sqlite3_stmt *st;
    int rc = store_prepare_once(s, "SELECT id FROM vomo_hints WHERE tenant = ?1 AND event_key = ?2",
                                &st, "looking up a hint");
    if (rc < 0)
        return rc;
    store_bind_text(st, 1, tenant);
    store_bind_text(st, 2, key);
    int r = sqlite3_step(st);
    *id = r == SQLITE_ROW ? sqlite3_column_int64(st, 0) : 0;
    sqlite3_finalize(st);
    if (r == SQLITE_ROW)
        return 1;
    return r == SQLITE_DONE ? 0 : store_fail(s, r, "looking up a hint");
}

int store_hint_add(struct store *s, const struct hint_new *h, int64_t *id, bool *replay)
{
    *replay = false;
    int rc = find_key(s, h->tenant, h->event_key, id);
    sqlite3_stmt *st;
    if (rc > 0) {
        *replay = true;
        if ((rc = store_prepare_once(s, "UPDATE vomo_hints SET replays = replays + 1 WHERE id = ?1",
                                     &st, "counting a replayed hint")) < 0)
            return rc;
        sqlite3_bind_int64(st, 1, *id);
        return store_run_once(s, st, "counting a replayed hint");
    }
    if (rc < 0)
        return rc;
    bool done = h->outcome && h->outcome[0] != 'p';
    rc = store_prepare_once(s,
                            "INSERT INTO vomo_hints (tenant, event_key, type, resource, record_id, "
                            "organization_id, received_at, outcome, processed_at) "
                            "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
                            &st, "recording a hint");
    if (rc < 0)
        return rc;
    store_bind_text(st, 1, h->tenant);
    store_bind_text(st, 2, h->event_key);
    store_bind_text(st, 3, h->type);
    store_bind_text(st, 4, h->resource);
    store_bind_text(st, 5, h->record_id);
    store_bind_text(st, 6, h->organization_id);
    store_bind_text(st, 7, h->now);
    store_bind_text(st, 8, h->outcome ? h->outcome : "pending");
    store_bind_text(st, 9, done ? h->now : NULL);
    rc = store_run_once(s, st, "recording a hint");
    if (rc == 0)
        *id = sqlite3_last_insert_rowid(s->db);
    return rc;
}

int store_hints_pending(struct store *s, int max, struct hint_row **out, size_t *n)
{
    *out = NULL;
    *n = 0;
    sqlite3_stmt *st;
    int rc = store_prepare_once(s,
                                "SELECT id, tenant, type, resource, record_id FROM vomo_hints "
                                "INDEXED BY vomo_hints_pending_idx WHERE outcome = 'pending' "
                                "ORDER BY substr(type, -8) = '.deleted', id LIMIT ?1",
                                &st, "reading pending hints");
    if (rc < 0)
        return rc;
    sqlite3_bind_int(st, 1, max);
    int r;
    size_t cap = 0;
    while ((r = sqlite3_step(st)) == SQLITE_ROW) {
        if (*n == cap) {
            cap = cap ? cap * 2 : 16;
            *out = xrealloc(*out, cap * sizeof(**out));
        }
        struct hint_row *h = &(*out)[(*n)++];
        h->id = sqlite3_column_int64(st, 0);
        h->tenant = store_col_dup(st, 1);
        h->type = store_col_dup(st, 2);
        h->resource = store_col_dup(st, 3);
        h->record_id = store_col_dup(st, 4);
    }
    sqlite3_finalize(st);
    if (r == SQLITE_DONE)
        return 0;
    store_hint_rows_free(*out, *n);
    *out = NULL;
    *n = 0;
    return store_fail(s, r, "reading pending hints");
}

void store_hint_rows_free(struct hint_row *rows, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        free(rows[i].tenant);
        free(rows[i].type);
        free(rows[i].resource);
        free(rows[i].record_id);
    }
    free(rows);
}

int store_hint_finish(struct store *s, int64_t id, const char *outcome, const char *now)
{
    sqlite3_stmt *st;
    int rc = store_prepare_once(s,
                                "UPDATE vomo_hints SET outcome = ?2, processed_at = ?3 "
                                "WHERE id = ?1 AND outcome = 'pending'",
                                &st, "recording a hint's outcome");
    if (rc < 0)
        return rc;
    sqlite3_bind_int64(st, 1, id);
    store_bind_text(st, 2, outcome);
    store_bind_text(st, 3, now);
    return store_run_once(s, st, "recording a hint's outcome");
}

int store_hints_prune(struct store *s, const char *expire_before, const char *delete_before,
                      int64_t *removed)
{
    static const char *const sql[] = {
        "UPDATE vomo_hints SET outcome = 'expired', processed_at = ?1 "
        "WHERE outcome = 'pending' AND received_at < ?1",
        "DELETE FROM vomo_hints WHERE outcome != 'pending' AND received_at < ?1",
        "DELETE FROM vomo_hints WHERE outcome != 'pending' AND id <= "
        "(SELECT id FROM vomo_hints ORDER BY id DESC LIMIT 1 OFFSET ?2)",
    };
    int64_t gone = 0;
    for (size_t i = 0; i < 3; i++) {
        sqlite3_stmt *st;
        int rc = store_prepare_once(s, sql[i], &st, "pruning hints");
        if (rc < 0)
            return rc;
        if (i < 2)
            store_bind_text(st, 1, i == 0 ? expire_before : delete_before);
        else
            sqlite3_bind_int(st, 2, STORE_HINTS_KEPT);
        if ((rc = store_run_once(s, st, "pruning hints")) < 0)
            return rc;
        if (i > 0)
            gone += sqlite3_changes(s->db);
    }
    if (removed)
        *removed = gone;
    return 0;
}

int store_hint_counts(struct store *s,
                      void (*fn)(void *arg, const char *tenant, const char *outcome, int64_t n),
                      void *arg)
{
    sqlite3_stmt *st;
    int rc = store_prepare_once(
        s,
        "SELECT tenant, outcome, count(*) FROM vomo_hints GROUP BY tenant, outcome "
        "UNION ALL SELECT tenant, 'replay', sum(replays) FROM vomo_hints "
        "GROUP BY tenant HAVING sum(replays) > 0 ORDER BY 1, 2",
        &st, "counting hints");
    if (rc < 0)
        return rc;
    int r;
    while ((r = sqlite3_step(st)) == SQLITE_ROW) {
        const unsigned char *t = sqlite3_column_text(st, 0), *o = sqlite3_column_text(st, 1);
        fn(arg, t ? (const char *)t : "", o ? (const char *)o : "", sqlite3_column_int64(st, 2));
    }
    sqlite3_finalize(st);
    return r == SQLITE_DONE ? 0 : store_fail(s, r, "counting hints");
}

int store_scan_last(struct store *s, const char *tenant, const char *resource, bool *incremental,
                    int64_t *applied)
{
    sqlite3_stmt *st;
    int rc =
        store_prepare_once(s,
                           "SELECT kind, applied FROM scans WHERE tenant = ?1 AND resource = ?2 "
                           "ORDER BY id DESC LIMIT 1",
                           &st, "reading the last scan");
    if (rc < 0)
        return rc;
    store_bind_text(st, 1, tenant);
    store_bind_text(st, 2, resource);
    int r = sqlite3_step(st);
    if (r == SQLITE_ROW) {
        const unsigned char *k = sqlite3_column_text(st, 0);
        *incremental = k && strcmp((const char *)k, "incremental") == 0;
        *applied = sqlite3_column_int64(st, 1);
    }
    sqlite3_finalize(st);
    if (r == SQLITE_ROW)
        return 0;
    return r == SQLITE_DONE ? -ENOENT : store_fail(s, r, "reading the last scan");
}
