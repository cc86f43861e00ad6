/*
 * store_dlq.c - the dead-letter queue: adding failed records (one open row
 * per record version, older versions superseded), the processor's due query
 * over the partial index dlq_due_idx, failed attempts and escalation,
 * closing, the operator's retry, purging closed rows, and the dlq_events
 * history that every change writes.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store.h"
#include "store_outbox.h"
#include "store_priv.h"

#define DLQ_COLS                                                                                   \
    "id, tenant, resource, record_id, record_updated_at, status, error_class, http_status, "       \
    "attempts, next_attempt_at, last_error, payload, resolution, note, created_at, updated_at, "   \
    "action"
#define OPEN_STATUSES "('pending', 'manual_review')"

void dlq_row_free(struct dlq_row *r)
{
    if (!r)
        return;
    free(r->tenant);
    free(r->resource);
    free(r->record_id);
    free(r->last_error);
    free(r->payload);
    free(r->resolution);
    free(r->note);
    memset(r, 0, sizeof(*r));
}

void dlq_rows_free(struct dlq_row *rows, size_t n)
{
    for (size_t i = 0; rows && i < n; i++)
        dlq_row_free(&rows[i]);
    free(rows);
}

static void copy_small(sqlite3_stmt *st, int i, char *out, size_t size)
{
    const unsigned char *v = sqlite3_column_text(st, i);
    snprintf(out, size, "%s", v ? (const char *)v : "");
}

/* Fills *r from a row selected with DLQ_COLS. */
static void read_row(sqlite3_stmt *st, struct dlq_row *r)
{
    memset(r, 0, sizeof(*r));
    r->id = sqlite3_column_int64(st, 0);
    r->tenant = store_col_dup(st, 1);
    r->resource = store_col_dup(st, 2);
    r->record_id = store_col_dup(st, 3);
    store_col_ts(st, 4, r->record_updated_at);
    copy_small(st, 5, r->status, sizeof(r->status));
    copy_small(st, 6, r->error_class, sizeof(r->error_class));
    r->http_status = sqlite3_column_int(st, 7);
    r->attempts = sqlite3_column_int(st, 8);
    store_col_ts(st, 9, r->next_attempt_at);
    r->last_error = store_col_dup(st, 10);
    r->payload = store_col_dup(st, 11);
    r->resolution = store_col_dup(st, 12);
    r->note = store_col_dup(st, 13);
    store_col_ts(st, 14, r->created_at);
    store_col_ts(st, 15, r->updated_at);
    const unsigned char *action = sqlite3_column_text(st, 16);
    r->is_delete = action && strcmp((const char *)action, "delete") == 0;
}

static void bind_http_status(sqlite3_stmt *st, int i, int http_status)
{
    if (http_status > 0)
        sqlite3_bind_int(st, i, http_status);
    else
        sqlite3_bind_null(st, i);
}

int store_dlq_event(struct store *s, int64_t dlq_id, const char *actor, const char *action,
                    const char *error_class, int http_status, const char *note, const char *now)
{
    int rc = 0;
    sqlite3_stmt *st = store_stmt(s, STMT_DLQ_EVENT,
                                  "INSERT INTO dlq_events (dlq_id, at, actor, action, "
                                  "error_class, http_status, note) VALUES (?1, ?2, ?3, ?4, ?5, "
                                  "?6, ?7)",
                                  &rc);
    if (!st)
        return rc;
    sqlite3_bind_int64(st, 1, dlq_id);
    store_bind_text(st, 2, now);
    store_bind_text(st, 3, actor ? actor : "daemon");
    store_bind_text(st, 4, action);
    store_bind_text(st, 5, error_class);
    bind_http_status(st, 6, http_status);
    store_bind_text(st, 7, note);
    return store_exec_stmt(s, st, "recording a dead-letter event");
}

int store_dlq_get(struct store *s, int64_t id, struct dlq_row *out)
{
    int rc = 0;
    sqlite3_stmt *st =
        store_stmt(s, STMT_DLQ_GET, "SELECT " DLQ_COLS " FROM dlq WHERE id = ?1", &rc);
    if (!st)
        return rc;
    sqlite3_bind_int64(st, 1, id);
    int r = sqlite3_step(st);
    if (r == SQLITE_ROW)
        read_row(st, out);
    store_done(st);
    if (r == SQLITE_DONE)
        return -ENOENT;
    return r == SQLITE_ROW ? 0 : store_fail(s, r, "reading a dead letter");
}

/* The open rows of one record, oldest first: ids and versions ("" = unknown). */
struct open_rows {
    int64_t *ids;
    char (*versions)[TS_LEN];
    size_t n;
};

static void open_rows_free(struct open_rows *o)
{
    free(o->ids);
    free(o->versions);
}

static int open_rows_get(struct store *s, const char *tenant, const char *resource,
                         const char *record_id, struct open_rows *o)
{
    int rc = 0, r;
    size_t cap = 0;
    memset(o, 0, sizeof(*o));
    sqlite3_stmt *st =
        store_stmt(s, STMT_DLQ_OPEN_ROWS,
                   "SELECT id, record_updated_at FROM dlq WHERE tenant = ?1 AND "
                   "resource = ?2 AND record_id = ?3 AND status IN " OPEN_STATUSES " ORDER BY id",
                   &rc);
    if (!st)
        return rc;
    store_bind_ref(st, 1, tenant);
    store_bind_ref(st, 2, resource);
    store_bind_ref(st, 3, record_id);
    while ((r = sqlite3_step(st)) == SQLITE_ROW) {
        if (o->n == cap) {
            cap = cap ? cap * 2 : 4;
            o->ids = xrealloc(o->ids, cap * sizeof(*o->ids));
            o->versions = xrealloc(o->versions, cap * sizeof(*o->versions));
        }
        o->ids[o->n] = sqlite3_column_int64(st, 0);
        store_col_ts(st, 1, o->versions[o->n]);
        o->n++;
    }
    store_done(st);
    return r == SQLITE_DONE ? 0 : store_fail(s, r, "looking up open dead letters");
}

/* Why a row cannot change: -ENOENT when it does not exist, -EALREADY when
 * it is closed (resolved or discarded). */
static int why_unchanged(struct store *s, int64_t id)
{
    struct dlq_row row;
    int rc = store_dlq_get(s, id, &row);
    if (rc == 0) {
        rc = -EALREADY;
        snprintf(s->errmsg, sizeof(s->errmsg), "dlq %lld is already %s", (long long)id, row.status);
        dlq_row_free(&row);
    } else if (rc == -ENOENT) {
        snprintf(s->errmsg, sizeof(s->errmsg), "no dlq row with id %lld", (long long)id);
    }
    return rc;
}

/*
 * A dead letter was closed or retried: a hold on its record at that version
 * or before has nothing left to wait for (the row's version was delivered,
 * superseded, found gone, settled by a person, or is the DLQ's again).  A
 * hold on a newer version is a newer failure and stays.
 */
static int release_row_hold(struct store *s, int64_t id)
{
    struct dlq_row row;
    int rc = store_dlq_get(s, id, &row);
    if (rc < 0)
        return rc;
    if (row.record_updated_at[0])
        rc = store_hold_release(s, row.tenant, row.resource, row.record_id, row.record_updated_at);
    dlq_row_free(&row);
    return rc;
}

/* Closes one open row and records the event, inside the caller's unit. */
static int close_row(struct store *s, int64_t id, const char *status, const char *resolution,
                     const char *note, const char *actor, const char *now)
{
    int rc = 0;
    sqlite3_stmt *st = store_stmt(s, STMT_DLQ_CLOSE,
                                  "UPDATE dlq SET status = ?2, resolution = ?3, "
                                  "note = coalesce(?4, note), next_attempt_at = NULL, "
                                  "updated_at = ?5 WHERE id = ?1 AND status IN " OPEN_STATUSES,
                                  &rc);
    if (!st)
        return rc;
    sqlite3_bind_int64(st, 1, id);
    store_bind_text(st, 2, status);
    store_bind_text(st, 3, resolution);
    store_bind_text(st, 4, note);
    store_bind_text(st, 5, now);
    if ((rc = store_exec_stmt(s, st, "closing a dead letter")) < 0)
        return rc;
    if (sqlite3_changes(s->db) == 0)
        return why_unchanged(s, id);
    if ((rc = release_row_hold(s, id)) < 0)
        return rc;
    const char *action = strcmp(status, "discarded") == 0        ? "discarded"
                         : strcmp(resolution, "superseded") == 0 ? "superseded"
                                                                 : "resolved";
    return store_dlq_event(s, id, actor, action, NULL, 0, note ? note : resolution, now);
}

int store_dlq_close(struct store *s, int64_t id, const char *status, const char *resolution,
                    const char *note, const char *actor, const char *now)
{
    if (strcmp(status, "resolved") != 0 && strcmp(status, "discarded") != 0)
        return -EINVAL;
    int rc = store_savepoint(s);
    if (rc < 0)
        return rc;
    rc = close_row(s, id, status, resolution, note, actor, now);
    if (rc == 0) /* a failed write behind the row is cancelled with it */
        rc = store_outbox_follow_dlq(s, id, status, actor, now);
    return store_unit_end(s, rc);
}

/*
 * The same version failed again: the row is refreshed in place.  Escalation
 * sticks (a manual_review row waits for a person) and attempts never go down.
 */
static int update_same(struct store *s, int64_t id, const struct dlq_new *n)
{
    int rc = 0;
    sqlite3_stmt *st = store_stmt(
        s, STMT_DLQ_UPDATE_SAME,
        "UPDATE dlq SET status = CASE WHEN status = 'manual_review' THEN status ELSE ?2 END, "
        "  error_class = ?3, http_status = ?4, attempts = max(attempts, ?5), "
        "  next_attempt_at = CASE WHEN status = 'manual_review' OR ?2 = 'manual_review' "
        "                    THEN NULL ELSE ?6 END, "
        "  last_error = ?7, payload = coalesce(?8, payload), updated_at = ?9 WHERE id = ?1",
        &rc);
    if (!st)
        return rc;
    sqlite3_bind_int64(st, 1, id);
    store_bind_text(st, 2, n->status);
    store_bind_text(st, 3, n->error_class);
    bind_http_status(st, 4, n->http_status);
    sqlite3_bind_int(st, 5, n->attempts);
    store_bind_opt_text(st, 6, n->next_attempt_at);
    store_bind_text(st, 7, n->last_error);
    store_bind_text(st, 8, n->payload);
    store_bind_text(st, 9, n->now);
    rc = store_exec_stmt(s, st, "updating a dead letter");
    if (rc == 0)
        rc = store_dlq_event(s, id, "daemon", "attempt", n->error_class, n->http_status,
                             n->last_error, n->now);
    return rc;
}

static int insert_row(struct store *s, const struct dlq_new *n, int64_t *id)
{
    int rc = 0;
    sqlite3_stmt *st = store_stmt(
        s, STMT_DLQ_INSERT,
        "INSERT INTO dlq (tenant, resource, record_id, record_updated_at, status, error_class, "
        "  http_status, attempts, next_attempt_at, last_error, payload, created_at, updated_at, "
        "  action) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?12, ?13)",
        &rc);
    if (!st)
        return rc;
    int manual = strcmp(n->status, "manual_review") == 0;
    store_bind_text(st, 1, n->tenant);
    store_bind_text(st, 2, n->resource);
    store_bind_text(st, 3, n->record_id);
    store_bind_opt_text(st, 4, n->record_updated_at);
    store_bind_text(st, 5, n->status);
    store_bind_text(st, 6, n->error_class);
    bind_http_status(st, 7, n->http_status);
    sqlite3_bind_int(st, 8, n->attempts > 0 ? n->attempts : 1);
    store_bind_opt_text(st, 9, manual ? NULL : n->next_attempt_at);
    store_bind_text(st, 10, n->last_error);
    store_bind_text(st, 11, n->payload);
    store_bind_text(st, 12, n->now);
    store_bind_text(st, 13, n->is_delete ? "delete" : "upsert");
    if ((rc = store_exec_stmt(s, st, "adding a dead letter")) < 0)
        return rc;
    *id = sqlite3_last_insert_rowid(s->db);
    return store_dlq_event(s, *id, "daemon", manual ? "escalated" : "created", n->error_class,
                           n->http_status, n->last_error, n->now);
}

/*
 * Compares an open row's version with the failing one: 0 same version,
 * < 0 the row is older (or either version is unknown: the new failure is
 * the later observation), > 0 the row holds a newer version.
 */
static int version_cmp(const char *row, const char *failing)
{
    const char *f = failing ? failing : "";
    if (strcmp(row, f) == 0)
        return 0;
    if (!*row || !*f)
        return -1;
    return strcmp(row, f) < 0 ? -1 : 1;
}

static int add_in_unit(struct store *s, const struct dlq_new *n, int64_t *id)
{
    struct open_rows o;
    int64_t same = 0, newer = 0;
    /* The dead letter owns the record now: a hold on it would pin the
     * checkpoint while scans skip the version the dead letter owns. */
    int rc = store_hold_release(s, n->tenant, n->resource, n->record_id, NULL);
    if (rc == 0)
        rc = open_rows_get(s, n->tenant, n->resource, n->record_id, &o);
    else
        memset(&o, 0, sizeof(o));
    for (size_t i = 0; rc == 0 && i < o.n; i++) {
        int c = version_cmp(o.versions[i], n->record_updated_at);
        if (c == 0)
            same = o.ids[i];
        else if (c > 0)
            newer = o.ids[i];
        else
            rc = close_row(s, o.ids[i], "resolved", "superseded", NULL, "daemon", n->now);
    }
    open_rows_free(&o);
    if (rc < 0)
        return rc;
    if (same) {
        *id = same;
        return update_same(s, same, n);
    }
    if (newer) {
        *id = newer; /* a newer version is already waiting: it covers the record */
        return 0;
    }
    return insert_row(s, n, id);
}

int store_dlq_add(struct store *s, const struct dlq_new *n, int64_t *id)
{
    int64_t got = 0;
    int rc = store_savepoint(s);
    if (rc < 0)
        return rc;
    rc = store_unit_end(s, add_in_unit(s, n, &got));
    if (rc == 0 && id)
        *id = got;
    return rc;
}

int store_dlq_open_for(struct store *s, const char *tenant, const char *resource,
                       const char *record_id, int64_t *id, char version[TS_LEN])
{
    struct open_rows o;
    int rc = open_rows_get(s, tenant, resource, record_id, &o);
    if (rc == 0 && o.n == 0)
        rc = -ENOENT;
    if (rc == 0) {
        if (id)
            *id = o.ids[o.n - 1];
        if (version)
            snprintf(version, TS_LEN, "%s", o.versions[o.n - 1]);
    }
    open_rows_free(&o);
    return rc;
}

int store_dlq_any(struct store *s, const char *tenant, const char *resource, int *any)
{
    int rc = 0;
    sqlite3_stmt *st = store_stmt(s, STMT_DLQ_ANY, STORE_SQL_DLQ_ANY, &rc);
    if (!st)
        return rc;
    store_bind_ref(st, 1, tenant);
    store_bind_ref(st, 2, resource);
    int r = sqlite3_step(st);
    store_done(st);
    if (r != SQLITE_ROW && r != SQLITE_DONE)
        return store_fail(s, r, "looking for dead letters");
    *any = r == SQLITE_ROW;
    return 0;
}

int store_dlq_supersede(struct store *s, const char *tenant, const char *resource,
                        const char *record_id, const char *applied_version, const char *now)
{
    struct open_rows o;
    /* Nearly every applied record has no dead letter: one indexed lookup,
     * and a savepoint only when there is something to close. */
    int rc = open_rows_get(s, tenant, resource, record_id, &o);
    if (rc < 0 || o.n == 0)
        return rc;
    if ((rc = store_savepoint(s)) < 0) {
        open_rows_free(&o);
        return rc;
    }
    for (size_t i = 0; rc == 0 && i < o.n; i++)
        if (!o.versions[i][0] || strcmp(o.versions[i], applied_version) <= 0)
            rc = close_row(s, o.ids[i], "resolved", "superseded", NULL, "daemon", now);
    open_rows_free(&o);
    return store_unit_end(s, rc);
}

/* Steps a bound due-rows query into a freshly allocated array. */
static int collect_rows(struct store *s, sqlite3_stmt *st, struct dlq_row **rows, size_t *n)
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
    dlq_rows_free(*rows, *n);
    *rows = NULL;
    *n = 0;
    return store_fail(s, r, "listing due dead letters");
}

int store_dlq_due(struct store *s, const char *now, int limit, struct dlq_row **rows, size_t *n)
{
    int rc = 0;
    *rows = NULL;
    *n = 0;
    sqlite3_stmt *st = store_stmt(s, STMT_DLQ_DUE,
                                  "SELECT " DLQ_COLS " FROM dlq INDEXED BY dlq_due_idx "
                                  "WHERE status = 'pending' AND next_attempt_at <= ?1 "
                                  "ORDER BY next_attempt_at, id LIMIT ?2",
                                  &rc);
    if (!st)
        return rc;
    store_bind_text(st, 1, now);
    sqlite3_bind_int(st, 2, limit);
    return collect_rows(s, st, rows, n);
}

int store_dlq_due_for(struct store *s, const char *tenant, const char *skip, const char *now,
                      int limit, struct dlq_row **rows, size_t *n)
{
    int rc = 0;
    *rows = NULL;
    *n = 0;
    sqlite3_stmt *st = store_stmt(s, STMT_DLQ_DUE_FOR,
                                  "SELECT " DLQ_COLS " FROM dlq INDEXED BY dlq_tenant_due_idx "
                                  "WHERE status = 'pending' AND tenant = ?1 AND "
                                  "next_attempt_at <= ?2 AND (?4 IS NULL OR "
                                  "instr(?4, ',' || resource || ',') = 0) "
                                  "ORDER BY next_attempt_at, id LIMIT ?3",
                                  &rc);
    if (!st)
        return rc;
    store_bind_text(st, 1, tenant);
    store_bind_text(st, 2, now);
    sqlite3_bind_int(st, 3, limit);
    store_bind_text(st, 4, skip);
    return collect_rows(s, st, rows, n);
}

int store_dlq_attempt_failed(struct store *s, int64_t id, int attempts, const char *status,
                             const char *next_attempt_at, const char *error_class, int http_status,
                             const char *last_error, const char *now)
{
    int manual = strcmp(status, "manual_review") == 0;
    int rc = store_savepoint(s);
    if (rc < 0)
        return rc;
    sqlite3_stmt *st = store_stmt(s, STMT_DLQ_FAILED,
                                  "UPDATE dlq SET attempts = ?2, status = ?3, "
                                  "next_attempt_at = ?4, error_class = ?5, http_status = ?6, "
                                  "last_error = ?7, updated_at = ?8 "
                                  "WHERE id = ?1 AND status IN " OPEN_STATUSES,
                                  &rc);
    if (st) {
        sqlite3_bind_int64(st, 1, id);
        sqlite3_bind_int(st, 2, attempts);
        store_bind_text(st, 3, status);
        store_bind_opt_text(st, 4, manual ? NULL : next_attempt_at);
        store_bind_text(st, 5, error_class);
        bind_http_status(st, 6, http_status);
        store_bind_text(st, 7, last_error);
        store_bind_text(st, 8, now);
        rc = store_exec_stmt(s, st, "recording a failed attempt");
    }
    if (rc == 0 && sqlite3_changes(s->db) == 0)
        rc = why_unchanged(s, id);
    if (rc == 0)
        rc = store_dlq_event(s, id, "daemon", manual ? "escalated" : "attempt", error_class,
                             http_status, last_error, now);
    return store_unit_end(s, rc);
}

/* Refuses to reopen a discarded row while another row of the same record is
 * open: that newer failure already owns the record. */
static int check_no_other_open(struct store *s, const struct dlq_row *row)
{
    int64_t other = 0;
    int rc = store_dlq_open_for(s, row->tenant, row->resource, row->record_id, &other, NULL);
    if (rc == -ENOENT)
        return 0;
    if (rc == 0) {
        snprintf(s->errmsg, sizeof(s->errmsg),
                 "dlq %lld cannot be reopened: dlq %lld is open for the same record",
                 (long long)row->id, (long long)other);
        rc = -EEXIST;
    }
    return rc;
}

static int retry_in_unit(struct store *s, int64_t id, unsigned flags, const char *actor,
                         const char *now, char prev_status[16])
{
    struct dlq_row row;
    int rc = store_dlq_get(s, id, &row);
    if (rc == -ENOENT)
        snprintf(s->errmsg, sizeof(s->errmsg), "no dlq row with id %lld", (long long)id);
    if (rc < 0)
        return rc;
    int open = strcmp(row.status, "pending") == 0 || strcmp(row.status, "manual_review") == 0;
    int reopen = strcmp(row.status, "discarded") == 0 && (flags & STORE_RETRY_DISCARDED);
    if (!open && !reopen) {
        snprintf(s->errmsg, sizeof(s->errmsg), "dlq %lld is already %s", (long long)id, row.status);
        rc = -EALREADY;
    } else if (reopen) {
        rc = check_no_other_open(s, &row);
    }
    sqlite3_stmt *st = NULL;
    if (rc == 0)
        st = store_stmt(s, STMT_DLQ_REQUEUE,
                        "UPDATE dlq SET status = 'pending', next_attempt_at = ?2, "
                        "resolution = NULL, updated_at = ?2 WHERE id = ?1",
                        &rc);
    if (st) {
        sqlite3_bind_int64(st, 1, id);
        store_bind_text(st, 2, now);
        rc = store_exec_stmt(s, st, "requeueing a dead letter");
    }
    if (rc == 0)
        rc = release_row_hold(s, id);
    if (rc == 0) {
        char note[64];
        snprintf(note, sizeof(note), "%s -> pending", row.status);
        rc = store_dlq_event(s, id, actor, "retry", NULL, 0, note, now);
    }
    if (rc == 0) /* a failed write behind the row is sent again by the outbox */
        rc = store_outbox_follow_dlq(s, id, "retry", actor, now);
    if (rc == 0 && prev_status)
        snprintf(prev_status, 16, "%s", row.status);
    dlq_row_free(&row);
    return rc;
}

int store_dlq_retry(struct store *s, int64_t id, unsigned flags, const char *actor, const char *now,
                    char prev_status[16])
{
    int rc = store_savepoint(s);
    if (rc < 0)
        return rc;
    return store_unit_end(s, retry_in_unit(s, id, flags, actor, now, prev_status));
}

int store_dlq_requeue(struct store *s, int64_t id, const char *actor, const char *now)
{
    return store_dlq_retry(s, id, 0, actor, now, NULL);
}

/*
 * What purging may delete: resolved rows only (a discarded row is a
 * person's decision that its version is not to be sent, and the skip rule
 * reads it), and of those not a version resolved by hand while nothing
 * newer of the record is known (a later dead letter at a newer version, or
 * a newer version the destination holds): the skip rule reads that one
 * too.  A row of a malformed record (no version) resolved by hand goes
 * once a later dead letter of the same record exists.
 */
#define PURGEABLE                                                                                  \
    "status = 'resolved' AND updated_at < ?1 AND (resolution IS NOT 'manual' OR EXISTS ("          \
    "  SELECT 1 FROM dlq n WHERE n.tenant = dlq.tenant AND n.resource = dlq.resource AND "         \
    "  n.record_id = dlq.record_id AND CASE WHEN dlq.record_updated_at IS NULL "                   \
    "  THEN n.id > dlq.id ELSE n.record_updated_at > dlq.record_updated_at END) OR EXISTS ("       \
    "  SELECT 1 FROM records r WHERE r.tenant = dlq.tenant AND r.resource = dlq.resource AND "     \
    "  r.id = dlq.record_id AND r.updated_at > dlq.record_updated_at))"

int store_dlq_purge(struct store *s, const char *closed_before, int64_t *deleted)
{
    int rc = 0;
    sqlite3_stmt *st = store_stmt(s, STMT_DLQ_PURGE, "DELETE FROM dlq WHERE " PURGEABLE, &rc);
    if (!st)
        return rc;
    store_bind_text(st, 1, closed_before);
    rc = store_exec_stmt(s, st, "purging resolved dead letters");
    if (rc == 0 && deleted)
        *deleted = sqlite3_changes64(s->db);
    return rc;
}

/* Whether the query (four text parameters) finds a row: 1, 0, or a
 * negative errno. */
static int dlq_exists(struct store *s, enum store_stmt_id id, const char *sql, const char *p1,
                      const char *p2, const char *p3, const char *p4)
{
    int rc = 0;
    sqlite3_stmt *st = store_stmt(s, id, sql, &rc);
    if (!st)
        return rc;
    store_bind_text(st, 1, p1);
    store_bind_text(st, 2, p2);
    store_bind_text(st, 3, p3);
    store_bind_text(st, 4, p4);
    int r = sqlite3_step(st);
    store_done(st);
    if (r == SQLITE_ROW)
        return 1;
    return r == SQLITE_DONE ? 0 : store_fail(s, r, "looking up a dead letter");
}

int store_dlq_has_payload(struct store *s, const char *tenant, const char *resource,
                          const char *record_id, const char *payload)
{
    return dlq_exists(s, STMT_DLQ_HAS_PAYLOAD,
                      "SELECT 1 FROM dlq WHERE tenant = ?1 AND resource = ?2 AND "
                      "record_id = ?3 AND payload = ?4 LIMIT 1",
                      tenant, resource, record_id, payload);
}

int store_dlq_settled(struct store *s, const char *tenant, const char *resource,
                      const char *record_id, const char *version)
{
    return dlq_exists(s, STMT_DLQ_SETTLED,
                      "SELECT 1 FROM dlq WHERE tenant = ?1 AND resource = ?2 AND "
                      "record_id = ?3 AND record_updated_at = ?4 AND "
                      "(status = 'discarded' OR resolution = 'manual') LIMIT 1",
                      tenant, resource, record_id, version);
}
