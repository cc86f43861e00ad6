/*
 * store_outbox.c - the outbox table (see store_outbox.h): every state
 * change of a write as one unit with its outbox_events row, and the link
 * to the manual-review queue (a dlq row of kind 'write' per write that
 * needs a person, with record_id "outbox:ID" so it can never be mistaken
 * for a read's dead letter of a VOMO record, and no next_attempt_at so the
 * DLQ processor never picks it).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store_outbox.h"
#include "store_priv.h"

#define OB_COLS                                                                                    \
    "id, tenant, resource, op, target_id, payload, remote_id, last_error, op_key, record_key, "    \
    "state, error_class, attempts, last_http_status, maybe_applied, next_attempt_at, "             \
    "first_sent_at, created_at"
#define OB_OPEN "('pending', 'in_flight', 'unknown')"

void outbox_row_free(struct outbox_row *r)
{
    if (!r)
        return;
    free(r->tenant);
    free(r->resource);
    free(r->op);
    free(r->target_id);
    free(r->payload);
    free(r->remote_id);
    free(r->last_error);
    free(r->op_key);
    free(r->record_key);
    memset(r, 0, sizeof(*r));
}

void outbox_rows_free(struct outbox_row *rows, size_t n)
{
    for (size_t i = 0; rows && i < n; i++)
        outbox_row_free(&rows[i]);
    free(rows);
}

static void copy_small(sqlite3_stmt *st, int i, char *out, size_t size)
{
    const unsigned char *v = sqlite3_column_text(st, i);
    snprintf(out, size, "%s", v ? (const char *)v : "");
}

static void read_row(sqlite3_stmt *st, struct outbox_row *r)
{
    memset(r, 0, sizeof(*r));
    r->id = sqlite3_column_int64(st, 0);
    r->tenant = store_col_dup(st, 1);
    r->resource = store_col_dup(st, 2);
    r->op = store_col_dup(st, 3);
    r->target_id = store_col_dup(st, 4);
    r->payload = store_col_dup(st, 5);
    r->remote_id = store_col_dup(st, 6);
    r->last_error = store_col_dup(st, 7);
    r->op_key = store_col_dup(st, 8);
    r->record_key = store_col_dup(st, 9);
    copy_small(st, 10, r->state, sizeof(r->state));
    copy_small(st, 11, r->error_class, sizeof(r->error_class));
    r->attempts = sqlite3_column_int(st, 12);
    r->last_http_status = sqlite3_column_int(st, 13);
    r->maybe_applied = sqlite3_column_int(st, 14);
    store_col_ts(st, 15, r->next_attempt_at);
    store_col_ts(st, 16, r->first_sent_at);
    store_col_ts(st, 17, r->created_at);
    if (!r->tenant)
        r->tenant = xstrdup("");
    if (!r->resource)
        r->resource = xstrdup("");
    if (!r->op)
        r->op = xstrdup("");
}

static void bind_status(sqlite3_stmt *st, int i, int http_status)
{
    if (http_status > 0)
        sqlite3_bind_int(st, i, http_status);
    else
        sqlite3_bind_null(st, i);
}

int store_outbox_event(struct store *s, int64_t id, const char *actor, const char *action,
                       const char *error_class, int http_status, const char *note, const char *now)
{
    int rc = 0;
    sqlite3_stmt *st = store_stmt(s, STMT_OB_EVENT,
                                  "INSERT INTO outbox_events (outbox_id, at, actor, action, "
                                  "error_class, http_status, note) VALUES (?1, ?2, ?3, ?4, ?5, "
                                  "?6, ?7)",
                                  &rc);
    if (!st)
        return rc;
    sqlite3_bind_int64(st, 1, id);
    store_bind_text(st, 2, now);
    store_bind_text(st, 3, actor ? actor : "daemon");
    store_bind_text(st, 4, action);
    store_bind_text(st, 5, error_class);
    bind_status(st, 6, http_status);
    store_bind_text(st, 7, note);
    return store_exec_stmt(s, st, "recording an outbox event");
}

/* Steps a single-row query into *out: 0, -ENOENT, or an error. */
static int one_row(struct store *s, sqlite3_stmt *st, struct outbox_row *out, const char *what)
{
    int r = sqlite3_step(st);
    if (r == SQLITE_ROW)
        read_row(st, out);
    store_done(st);
    if (r == SQLITE_DONE)
        return -ENOENT;
    return r == SQLITE_ROW ? 0 : store_fail(s, r, what);
}

int store_outbox_get(struct store *s, int64_t id, struct outbox_row *out)
{
    int rc = 0;
    sqlite3_stmt *st =
        store_stmt(s, STMT_OB_GET, "SELECT " OB_COLS " FROM outbox WHERE id = ?1", &rc);
    if (!st)
        return rc;
    sqlite3_bind_int64(st, 1, id);
    rc = one_row(s, st, out, "reading an outbox row");
    if (rc == -ENOENT)
        snprintf(s->errmsg, sizeof(s->errmsg), "no outbox row with id %lld", (long long)id);
    return rc;
}

/* The row of (tenant, op_key): 0 and its id, -ENOENT, or an error. */
static int by_key(struct store *s, const char *tenant, const char *op_key, int64_t *id)
{
    int rc = 0;
    sqlite3_stmt *st = store_stmt(s, STMT_OB_BY_KEY,
                                  "SELECT id FROM outbox WHERE tenant = ?1 AND op_key = ?2", &rc);
    if (!st)
        return rc;
    store_bind_text(st, 1, tenant);
    store_bind_text(st, 2, op_key);
    int r = sqlite3_step(st);
    if (r == SQLITE_ROW)
        *id = sqlite3_column_int64(st, 0);
    store_done(st);
    if (r == SQLITE_DONE)
        return -ENOENT;
    return r == SQLITE_ROW ? 0 : store_fail(s, r, "looking up an op_key");
}

static int add_in_unit(struct store *s, const struct outbox_new *n, int64_t *id, int *existed)
{
    int rc = 0;
    *existed = 0;
    if (n->op_key && (rc = by_key(s, n->tenant, n->op_key, id)) != -ENOENT) {
        *existed = rc == 0;
        return rc;
    }
    sqlite3_stmt *st = store_stmt(
        s, STMT_OB_ADD,
        "INSERT INTO outbox (tenant, resource, op, target_id, payload, op_key, record_key, "
        "state, next_attempt_at, created_at, updated_at) "
        "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, 'pending', ?8, ?8, ?8)",
        &rc);
    if (!st)
        return rc;
    store_bind_text(st, 1, n->tenant);
    store_bind_text(st, 2, n->resource);
    store_bind_text(st, 3, n->op);
    store_bind_opt_text(st, 4, n->target_id);
    store_bind_text(st, 5, n->payload);
    store_bind_text(st, 6, n->op_key);
    store_bind_text(st, 7, n->record_key ? n->record_key : "");
    store_bind_text(st, 8, n->now);
    if ((rc = store_exec_stmt(s, st, "adding a write to the outbox")) < 0)
        return rc;
    *id = sqlite3_last_insert_rowid(s->db);
    return store_outbox_event(s, *id, n->actor, "created", NULL, 0, NULL, n->now);
}

int store_outbox_add(struct store *s, const struct outbox_new *n, int64_t *id, int *existed)
{
    int rc = store_savepoint(s);
    if (rc < 0)
        return rc;
    return store_unit_end(s, add_in_unit(s, n, id, existed));
}

static int collect(struct store *s, sqlite3_stmt *st, struct outbox_row **rows, size_t *n)
{
    int r;
    size_t cap = 0;
    *rows = NULL;
    *n = 0;
    while ((r = sqlite3_step(st)) == SQLITE_ROW) {
        if (*n == cap) {
            cap = cap ? cap * 2 : 16;
            *rows = xrealloc(*rows, cap * sizeof(**rows));
        }
        read_row(st, &(*rows)[(*n)++]);
    }
    store_done(st);
    if (r == SQLITE_DONE)
        return 0;
    outbox_rows_free(*rows, *n);
    *rows = NULL;
    *n = 0;
    return store_fail(s, r, "listing outbox rows");
}

int store_outbox_unvalidated(struct store *s, int limit, struct outbox_row **rows, size_t *n)
{
    int rc = 0;
    *rows = NULL;
    *n = 0;
    sqlite3_stmt *st = store_stmt(s, STMT_OB_UNVALIDATED,
                                  "SELECT " OB_COLS " FROM outbox INDEXED BY "
                                  "outbox_unvalidated_idx WHERE record_key IS NULL "
                                  "ORDER BY id LIMIT ?1",
                                  &rc);
    if (!st)
        return rc;
    sqlite3_bind_int(st, 1, limit);
    return collect(s, st, rows, n);
}

int store_outbox_set_key(struct store *s, int64_t id, const char *record_key)
{
    int rc = 0;
    sqlite3_stmt *st =
        store_stmt(s, STMT_OB_SET_KEY, "UPDATE outbox SET record_key = ?2 WHERE id = ?1", &rc);
    if (!st)
        return rc;
    sqlite3_bind_int64(st, 1, id);
    store_bind_text(st, 2, record_key);
    return store_exec_stmt(s, st, "marking an outbox row validated");
}

int store_outbox_due_for(struct store *s, const char *tenant, const char *now, int limit,
                         struct outbox_row **rows, size_t *n)
{
    int rc = 0;
    *rows = NULL;
    *n = 0;
    sqlite3_stmt *st = store_stmt(
        s, STMT_OB_DUE,
        "SELECT " OB_COLS " FROM outbox INDEXED BY outbox_due_idx "
        "WHERE tenant = ?1 AND state IN ('pending', 'unknown') AND record_key IS NOT NULL "
        "AND (next_attempt_at IS NULL OR next_attempt_at <= ?2) ORDER BY id LIMIT ?3",
        &rc);
    if (!st)
        return rc;
    store_bind_text(st, 1, tenant);
    store_bind_text(st, 2, now);
    sqlite3_bind_int(st, 3, limit);
    return collect(s, st, rows, n);
}

/* Whether a query with parameters (text, text, text or NULL, int64)
 * finds a row: 1, 0, or a negative errno. */
static int exists(struct store *s, enum store_stmt_id id, const char *sql, const char *a,
                  const char *b, const char *c, int64_t d)
{
    int rc = 0;
    sqlite3_stmt *st = store_stmt(s, id, sql, &rc);
    if (!st)
        return rc;
    store_bind_text(st, 1, a);
    store_bind_text(st, 2, b);
    store_bind_text(st, 3, c);
    sqlite3_bind_int64(st, 4, d);
    int r = sqlite3_step(st);
    store_done(st);
    if (r == SQLITE_ROW)
        return 1;
    return r == SQLITE_DONE ? 0 : store_fail(s, r, "looking up outbox rows");
}

int store_outbox_blocked(struct store *s, const char *tenant, const char *record_key, int64_t id)
{
    if (!record_key || !*record_key)
        return 0; /* a create orders nothing */
    return exists(s, STMT_OB_BLOCKED,
                  "SELECT 1 FROM outbox INDEXED BY outbox_record_idx WHERE tenant = ?1 AND "
                  "record_key = ?2 AND state IN " OB_OPEN " AND id < ?4 LIMIT 1",
                  tenant, record_key, NULL, id);
}

int store_outbox_remote_taken(struct store *s, const char *tenant, const char *resource,
                              const char *remote_id, int64_t except_id)
{
    return exists(s, STMT_OB_TAKEN,
                  "SELECT 1 FROM outbox WHERE tenant = ?1 AND resource = ?2 AND "
                  "remote_id = ?3 AND id <> ?4 LIMIT 1",
                  tenant, resource, remote_id, except_id);
}

int store_outbox_begin_send(struct store *s, int64_t id, const char *from_state, const char *now)
{
    int rc = store_savepoint(s);
    if (rc < 0)
        return rc;
    sqlite3_stmt *st = store_stmt(
        s, STMT_OB_BEGIN,
        "UPDATE outbox SET state = 'in_flight', attempts = attempts + 1, "
        "first_sent_at = coalesce(first_sent_at, ?3), last_sent_at = ?3, updated_at = ?3 "
        "WHERE id = ?1 AND state = ?2",
        &rc);
    if (st) {
        sqlite3_bind_int64(st, 1, id);
        store_bind_text(st, 2, from_state);
        store_bind_text(st, 3, now);
        rc = store_exec_stmt(s, st, "marking a write in flight");
    }
    if (rc == 0 && sqlite3_changes(s->db) == 0)
        rc = -ESTALE;
    if (rc == 0)
        rc = store_outbox_event(s, id, "daemon", "sent", NULL, 0, NULL, now);
    return store_unit_end(s, rc);
}

/* Closes the open dlq row of a write (if any) with a status and resolution. */
static int dlq_close_for(struct store *s, int64_t outbox_id, const char *status,
                         const char *resolution, const char *actor, const char *now)
{
    int rc = 0;
    sqlite3_stmt *st = store_stmt(s, STMT_OB_DLQ_CLOSE,
                                  "UPDATE dlq SET status = ?2, resolution = ?3, "
                                  "next_attempt_at = NULL, updated_at = ?4 WHERE outbox_id = ?1 "
                                  "AND status IN ('pending', 'manual_review') RETURNING id",
                                  &rc);
    if (!st)
        return rc;
    sqlite3_bind_int64(st, 1, outbox_id);
    store_bind_text(st, 2, status);
    store_bind_text(st, 3, resolution);
    store_bind_text(st, 4, now);
    int64_t ids[8];
    size_t n = 0;
    int r;
    while ((r = sqlite3_step(st)) == SQLITE_ROW)
        if (n < ARRAY_SIZE(ids))
            ids[n++] = sqlite3_column_int64(st, 0);
    store_done(st);
    if (r != SQLITE_DONE)
        return store_fail(s, r, "closing the dead letter of a write");
    for (size_t i = 0; rc == 0 && i < n; i++)
        rc = store_dlq_event(s, ids[i], actor,
                             strcmp(status, "discarded") == 0 ? "discarded" : "resolved", NULL, 0,
                             resolution, now);
    return rc;
}

int store_outbox_done(struct store *s, int64_t id, const char *remote_id, const char *resolution,
                      int http_status, const char *now)
{
    int rc = store_savepoint(s);
    if (rc < 0)
        return rc;
    sqlite3_stmt *st = store_stmt(
        s, STMT_OB_DONE,
        "UPDATE outbox SET state = 'done', remote_id = coalesce(?2, remote_id), "
        "resolution = ?3, last_http_status = ?4, next_attempt_at = NULL, error_class = NULL, "
        "updated_at = ?5 WHERE id = ?1 AND state IN ('in_flight', 'unknown')",
        &rc);
    if (st) {
        sqlite3_bind_int64(st, 1, id);
        store_bind_text(st, 2, remote_id && *remote_id ? remote_id : NULL);
        store_bind_text(st, 3, resolution);
        bind_status(st, 4, http_status);
        store_bind_text(st, 5, now);
        rc = store_exec_stmt(s, st, "recording a write as done");
    }
    if (rc == 0 && sqlite3_changes(s->db) == 0)
        rc = -ESTALE;
    if (rc == 0)
        rc = store_outbox_event(s, id, "daemon",
                                strcmp(resolution, "adopted") == 0 ? "adopted" : "done", NULL,
                                http_status, remote_id, now);
    if (rc == 0)
        rc = dlq_close_for(s, id, "resolved", "delivered", "daemon", now);
    return store_unit_end(s, rc);
}

/* The write's dlq row, if any: 0 and its id, or -ENOENT. */
static int dlq_of(struct store *s, int64_t outbox_id, int64_t *dlq_id)
{
    int rc = 0;
    sqlite3_stmt *st = store_stmt(s, STMT_OB_DLQ_FIND,
                                  "SELECT id FROM dlq WHERE outbox_id = ?1 ORDER BY id DESC "
                                  "LIMIT 1",
                                  &rc);
    if (!st)
        return rc;
    sqlite3_bind_int64(st, 1, outbox_id);
    int r = sqlite3_step(st);
    if (r == SQLITE_ROW)
        *dlq_id = sqlite3_column_int64(st, 0);
    store_done(st);
    if (r == SQLITE_DONE)
        return -ENOENT;
    return r == SQLITE_ROW ? 0 : store_fail(s, r, "looking up the dead letter of a write");
}

/* Opens (or reopens) the manual-review dlq row of a write. */
static int dlq_escalate(struct store *s, int64_t id, const struct outbox_failure *f)
{
    int64_t dlq_id = 0;
    int rc = dlq_of(s, id, &dlq_id);
    if (rc < 0 && rc != -ENOENT)
        return rc;
    bool reopen = rc == 0;
    sqlite3_stmt *st =
        reopen ? store_stmt(s, STMT_OB_DLQ_REOPEN,
                            "UPDATE dlq SET status = 'manual_review', resolution = NULL, "
                            "next_attempt_at = NULL, error_class = ?2, http_status = ?3, "
                            "attempts = ?4, last_error = ?5, updated_at = ?6 WHERE id = ?1",
                            &rc)
               : store_stmt(s, STMT_OB_DLQ_INSERT,
                            "INSERT INTO dlq (tenant, resource, record_id, status, error_class, "
                            "http_status, attempts, last_error, payload, kind, outbox_id, "
                            "created_at, updated_at) SELECT tenant, resource, 'outbox:' || id, "
                            "'manual_review', ?2, ?3, ?4, ?5, payload, 'write', id, ?6, ?6 "
                            "FROM outbox WHERE id = ?1",
                            &rc);
    if (!st)
        return rc;
    sqlite3_bind_int64(st, 1, reopen ? dlq_id : id);
    store_bind_text(st, 2, f->error_class);
    bind_status(st, 3, f->http_status);
    sqlite3_bind_int(st, 4, f->attempts > 0 ? f->attempts : 1);
    store_bind_text(st, 5, f->message);
    store_bind_text(st, 6, f->now);
    if ((rc = store_exec_stmt(s, st, "sending a write to manual review")) < 0)
        return rc;
    if (!reopen)
        dlq_id = sqlite3_last_insert_rowid(s->db);
    return store_dlq_event(s, dlq_id, "daemon", "escalated", f->error_class, f->http_status,
                           f->message, f->now);
}

int store_outbox_failed(struct store *s, int64_t id, const struct outbox_failure *f)
{
    bool review = strcmp(f->state, "manual_review") == 0;
    int rc = store_savepoint(s);
    if (rc < 0)
        return rc;
    sqlite3_stmt *st = store_stmt(
        s, STMT_OB_FAILED,
        "UPDATE outbox SET state = ?2, attempts = ?3, next_attempt_at = ?4, error_class = ?5, "
        "last_http_status = ?6, last_error = ?7, maybe_applied = max(maybe_applied, ?8), "
        "updated_at = ?9 WHERE id = ?1 AND state IN " OB_OPEN,
        &rc);
    if (st) {
        sqlite3_bind_int64(st, 1, id);
        store_bind_text(st, 2, f->state);
        sqlite3_bind_int(st, 3, f->attempts);
        store_bind_opt_text(st, 4, review ? NULL : f->next_attempt_at);
        store_bind_text(st, 5, f->error_class);
        bind_status(st, 6, f->http_status);
        store_bind_text(st, 7, f->message);
        sqlite3_bind_int(st, 8, f->maybe_applied ? 1 : 0);
        store_bind_text(st, 9, f->now);
        rc = store_exec_stmt(s, st, "recording a failed write");
    }
    if (rc == 0 && sqlite3_changes(s->db) == 0)
        rc = -ESTALE;
    if (rc == 0)
        rc = store_outbox_event(s, id, "daemon", f->action, f->error_class, f->http_status,
                                f->message, f->now);
    if (rc == 0 && review)
        rc = dlq_escalate(s, id, f);
    return store_unit_end(s, rc);
}

int store_outbox_recover(struct store *s, const char *now, int64_t *changed)
{
    int rc = 0;
    sqlite3_stmt *st = store_stmt(s, STMT_OB_RECOVER,
                                  "UPDATE outbox SET state = 'unknown', maybe_applied = 1, "
                                  "next_attempt_at = NULL, updated_at = ?1 "
                                  "WHERE state = 'in_flight'",
                                  &rc);
    if (!st)
        return rc;
    store_bind_text(st, 1, now);
    rc = store_exec_stmt(s, st, "recovering writes in flight");
    if (rc == 0 && changed)
        *changed = sqlite3_changes64(s->db);
    return rc;
}

/* Refuses what a state does not allow: -EALREADY closed, -EBUSY in flight. */
static int check_changeable(struct store *s, const struct outbox_row *row)
{
    if (strcmp(row->state, "done") == 0 || strcmp(row->state, "cancelled") == 0) {
        snprintf(s->errmsg, sizeof(s->errmsg), "outbox %lld is already %s", (long long)row->id,
                 row->state);
        return -EALREADY;
    }
    if (strcmp(row->state, "in_flight") == 0) {
        snprintf(s->errmsg, sizeof(s->errmsg),
                 "outbox %lld is being sent right now; wait for its outcome", (long long)row->id);
        return -EBUSY;
    }
    return 0;
}

static int retry_in_unit(struct store *s, int64_t id, const char *actor, const char *now,
                         char prev[16])
{
    struct outbox_row row;
    int rc = store_outbox_get(s, id, &row);
    if (rc < 0)
        return rc;
    rc = check_changeable(s, &row);
    sqlite3_stmt *st = NULL;
    if (rc == 0)
        st = store_stmt(s, STMT_OB_REQUEUE,
                        "UPDATE outbox SET state = CASE WHEN maybe_applied THEN 'unknown' "
                        "ELSE 'pending' END, next_attempt_at = ?2, resolution = NULL, "
                        "updated_at = ?2 WHERE id = ?1",
                        &rc);
    if (st) {
        sqlite3_bind_int64(st, 1, id);
        store_bind_text(st, 2, now);
        rc = store_exec_stmt(s, st, "requeueing a write");
    }
    if (rc == 0) {
        char note[64];
        snprintf(note, sizeof(note), "%s -> %s", row.state,
                 row.maybe_applied ? "unknown" : "pending");
        rc = store_outbox_event(s, id, actor, "retry", NULL, 0, note, now);
    }
    if (rc == 0 && prev)
        snprintf(prev, 16, "%s", row.state);
    outbox_row_free(&row);
    return rc;
}

/* The dlq row of a write being retried waits as pending without a
 * next_attempt_at: the outbox row holds the schedule, the DLQ processor
 * never picks it. */
static int dlq_keep_off_schedule(struct store *s, int64_t dlq_id, const char *now)
{
    int rc = 0;
    sqlite3_stmt *st = store_stmt(s, STMT_OB_DLQ_NO_DUE,
                                  "UPDATE dlq SET status = 'pending', next_attempt_at = NULL, "
                                  "resolution = NULL, updated_at = ?2 WHERE id = ?1 AND status "
                                  "IN ('pending', 'manual_review')",
                                  &rc);
    if (!st)
        return rc;
    sqlite3_bind_int64(st, 1, dlq_id);
    store_bind_text(st, 2, now);
    return store_exec_stmt(s, st, "requeueing the dead letter of a write");
}

int store_outbox_retry(struct store *s, int64_t id, const char *actor, const char *now,
                       char prev[16])
{
    int rc = store_savepoint(s);
    if (rc < 0)
        return rc;
    rc = retry_in_unit(s, id, actor, now, prev);
    int64_t dlq_id = 0;
    if (rc == 0 && dlq_of(s, id, &dlq_id) == 0)
        rc = dlq_keep_off_schedule(s, dlq_id, now);
    return store_unit_end(s, rc);
}

static int cancel_in_unit(struct store *s, int64_t id, const char *resolution, const char *note,
                          const char *actor, const char *now)
{
    struct outbox_row row;
    int rc = store_outbox_get(s, id, &row);
    if (rc < 0)
        return rc;
    rc = check_changeable(s, &row);
    outbox_row_free(&row);
    sqlite3_stmt *st = NULL;
    if (rc == 0)
        st = store_stmt(s, STMT_OB_CANCEL,
                        "UPDATE outbox SET state = 'cancelled', resolution = ?2, "
                        "note = coalesce(?3, note), next_attempt_at = NULL, updated_at = ?4 "
                        "WHERE id = ?1",
                        &rc);
    if (st) {
        sqlite3_bind_int64(st, 1, id);
        store_bind_text(st, 2, resolution);
        store_bind_text(st, 3, note);
        store_bind_text(st, 4, now);
        rc = store_exec_stmt(s, st, "cancelling a write");
    }
    if (rc == 0)
        rc = store_outbox_event(s, id, actor, "cancelled", NULL, 0, note ? note : resolution, now);
    return rc;
}

int store_outbox_cancel(struct store *s, int64_t id, const char *resolution, const char *note,
                        const char *actor, const char *now)
{
    int rc = store_savepoint(s);
    if (rc < 0)
        return rc;
    rc = cancel_in_unit(s, id, resolution, note, actor, now);
    if (rc == 0)
        rc = dlq_close_for(s, id, "discarded", "discarded", actor, now);
    return store_unit_end(s, rc);
}

int store_outbox_purge(struct store *s, const char *before, int64_t *deleted)
{
    int rc = 0;
    sqlite3_stmt *st = store_stmt(s, STMT_OB_PURGE,
                                  "DELETE FROM outbox WHERE state IN ('done', 'cancelled') "
                                  "AND updated_at < ?1",
                                  &rc);
    if (!st)
        return rc;
    store_bind_text(st, 1, before);
    rc = store_exec_stmt(s, st, "purging the outbox");
    if (rc == 0 && deleted)
        *deleted = sqlite3_changes64(s->db);
    return rc;
}

int store_outbox_counts(struct store *s, int64_t *open, int64_t *review)
{
    int rc = 0;
    sqlite3_stmt *st = store_stmt(s, STMT_OB_COUNTS,
                                  "SELECT coalesce(sum(state IN " OB_OPEN "), 0), "
                                  "coalesce(sum(state = 'manual_review'), 0) FROM outbox "
                                  "INDEXED BY outbox_state_idx "
                                  "WHERE state IN ('pending', 'in_flight', 'unknown', "
                                  "'manual_review')",
                                  &rc);
    if (!st)
        return rc;
    int r = sqlite3_step(st);
    if (r == SQLITE_ROW) {
        *open = sqlite3_column_int64(st, 0);
        *review = sqlite3_column_int64(st, 1);
    }
    store_done(st);
    return r == SQLITE_ROW ? 0 : store_fail(s, r, "counting outbox rows");
}

int store_outbox_count_rows(struct store *s,
                            void (*fn)(void *arg, const char *tenant, const char *state,
                                       int64_t rows),
                            void *arg)
{
    int rc = 0;
    sqlite3_stmt *st = store_stmt(s, STMT_OB_SCRAPE,
                                  "SELECT tenant, state, count(*) FROM outbox INDEXED BY "
                                  "outbox_state_idx WHERE state IN ('pending', 'in_flight', "
                                  "'unknown', 'manual_review') GROUP BY tenant, state",
                                  &rc);
    if (!st)
        return rc;
    int r;
    while ((r = sqlite3_step(st)) == SQLITE_ROW)
        fn(arg, (const char *)sqlite3_column_text(st, 0), (const char *)sqlite3_column_text(st, 1),
           sqlite3_column_int64(st, 2));
    store_done(st);
    return r == SQLITE_DONE ? 0 : store_fail(s, r, "counting outbox rows");
}

int store_outbox_follow_dlq(struct store *s, int64_t dlq_id, const char *action, const char *actor,
                            const char *now)
{
    int rc = 0;
    sqlite3_stmt *st = store_stmt(s, STMT_OB_DLQ_OF,
                                  "SELECT outbox_id FROM dlq WHERE id = ?1 AND kind = 'write' "
                                  "AND outbox_id IS NOT NULL",
                                  &rc);
    if (!st)
        return rc;
    sqlite3_bind_int64(st, 1, dlq_id);
    int r = sqlite3_step(st);
    int64_t id = r == SQLITE_ROW ? sqlite3_column_int64(st, 0) : 0;
    store_done(st);
    if (r != SQLITE_ROW)
        return r == SQLITE_DONE ? 0 : store_fail(s, r, "looking up the write of a dead letter");
    if (strcmp(action, "retry") != 0)
        return cancel_in_unit(s, id, action, NULL, actor, now);
    rc = retry_in_unit(s, id, actor, now, NULL);
    if (rc == 0)
        rc = dlq_keep_off_schedule(s, dlq_id, now);
    return rc;
}
