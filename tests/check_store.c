/*
 * check_store.c - the state database against real SQLite files in a fresh
 * temporary directory per test: pragmas, migrations (fresh, from every
 * older version, refusal of newer and foreign files), error mapping (locked,
 * full disk), and every query the daemon runs, asserted by reading the rows.
 */
#include <check.h>
#include <sys/stat.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "migrations.h"
#include "store.h"
#include "testutil.h"

static char dir[64];
static char path[128];
static struct store *st;

static void setup(void)
{
    store_set_log_errors(0);
    snprintf(dir, sizeof(dir), "/tmp/check_store.XXXXXX");
    ck_assert_ptr_nonnull(mkdtemp(dir));
    snprintf(path, sizeof(path), "%s/state.db", dir);
    st = NULL;
}

static void teardown(void)
{
    store_close(st);
    tu_rm_tree(dir);
}

/* Opens and migrates st at path. */
static void open_migrated(void)
{
    ck_assert_int_eq(store_open(path, &st), 0);
    ck_assert_int_eq(store_migrate(st, NULL, NULL), 0);
}

static int64_t q_int(sqlite3 *db, const char *sql)
{
    sqlite3_stmt *s;
    ck_assert_int_eq(sqlite3_prepare_v2(db, sql, -1, &s, NULL), SQLITE_OK);
    ck_assert_int_eq(sqlite3_step(s), SQLITE_ROW);
    int64_t v = sqlite3_column_int64(s, 0);
    sqlite3_finalize(s);
    return v;
}

/* The first column of the first row as text ("" for NULL), copied to out. */
static const char *q_text(sqlite3 *db, const char *sql, char *out, size_t size)
{
    sqlite3_stmt *s;
    ck_assert_int_eq(sqlite3_prepare_v2(db, sql, -1, &s, NULL), SQLITE_OK);
    ck_assert_int_eq(sqlite3_step(s), SQLITE_ROW);
    const unsigned char *v = sqlite3_column_text(s, 0);
    snprintf(out, size, "%s", v ? (const char *)v : "");
    sqlite3_finalize(s);
    return out;
}

static void exec_raw(sqlite3 *db, const char *sql)
{
    char *err = NULL;
    int r = sqlite3_exec(db, sql, NULL, NULL, &err);
    ck_assert_msg(r == SQLITE_OK, "%s: %s", sql, err ? err : "?");
}

START_TEST(test_open_pragmas)
{
    char buf[64];
    mode_t old = umask(022);
    ck_assert_int_eq(store_open(path, &st), 0);
    umask(old);
    struct stat sb;
    ck_assert_int_eq(stat(path, &sb), 0);
    ck_assert_int_eq(sb.st_mode & 0777, 0600); /* personal data: owner only */
    sqlite3 *db = store_db(st);
    ck_assert_str_eq(q_text(db, "PRAGMA journal_mode", buf, sizeof(buf)), "wal");
    ck_assert_int_eq(q_int(db, "PRAGMA synchronous"), 2);
    ck_assert_int_eq(q_int(db, "PRAGMA foreign_keys"), 1);
    ck_assert_int_eq(q_int(db, "PRAGMA application_id"), STORE_APPLICATION_ID);
    int v = -1;
    ck_assert_int_eq(store_version(st, &v), 0);
    ck_assert_int_eq(v, 0);
}
END_TEST

START_TEST(test_open_errors)
{
    char bad[160];
    snprintf(bad, sizeof(bad), "%s/missing-dir/state.db", dir);
    ck_assert_int_lt(store_open(bad, &st), 0);
    ck_assert_ptr_null(st);
    ck_assert_ptr_nonnull(strstr(store_errmsg(NULL), bad));
    ck_assert_int_eq(store_open_existing(path, &st), -ENOENT);
    ck_assert_ptr_nonnull(strstr(store_errmsg(NULL), "no state database at"));
    ck_assert_int_eq(access(path, F_OK), -1); /* not created */
}
END_TEST

START_TEST(test_migrate_fresh)
{
    int from = -1, to = -1;
    ck_assert_int_eq(store_open(path, &st), 0);
    ck_assert_int_eq(store_migrate(st, &from, &to), 0);
    ck_assert_int_eq(from, 0);
    ck_assert_int_eq(to, migrations_count);
    ck_assert_int_eq(q_int(store_db(st), "PRAGMA user_version"), migrations_count);
    ck_assert_int_eq(q_int(store_db(st), "SELECT count(*) FROM sqlite_master WHERE name IN "
                                         "('checkpoints','records','dlq','dlq_events','holds',"
                                         "'scans','tenant_state','breakers','dlq_summary')"),
                     9);
    ck_assert_int_eq(store_migrate(st, &from, &to), 0);
    ck_assert_int_eq(from, migrations_count);
    ck_assert_int_eq(to, migrations_count);
    store_close(st);
    ck_assert_int_eq(store_open_existing(path, &st), 0);
    ck_assert_int_eq(q_int(store_db(st), "SELECT count(*) FROM dlq"), 0);
}
END_TEST

/* For every k < latest: a database built by applying 1..k by hand, as an
 * older vomo-sync would have left it, upgrades to the latest. */
START_TEST(test_migrate_from_each_older)
{
    for (int k = 1; k < migrations_count; k++) {
        sqlite3 *db;
        unlink(path);
        ck_assert_int_eq(sqlite3_open(path, &db), SQLITE_OK);
        char sql[64];
        snprintf(sql, sizeof(sql), "PRAGMA application_id = %d", STORE_APPLICATION_ID);
        exec_raw(db, sql);
        for (int i = 0; i < k; i++)
            exec_raw(db, migrations[i].sql);
        snprintf(sql, sizeof(sql), "PRAGMA user_version = %d", k);
        exec_raw(db, sql);
        sqlite3_close(db);
        int from = -1, to = -1;
        ck_assert_int_eq(store_open(path, &st), 0);
        ck_assert_int_eq(store_migrate(st, &from, &to), 0);
        ck_assert_int_eq(from, k);
        ck_assert_int_eq(to, migrations_count);
        store_close(st);
        st = NULL;
    }
}
END_TEST

/* An upgrade is all or nothing: when a later step fails (here 0004, whose
 * outbox table is in the way), the steps before it are not kept either. */
START_TEST(test_migrate_all_or_nothing)
{
    sqlite3 *db;
    unlink(path);
    ck_assert_int_eq(sqlite3_open(path, &db), SQLITE_OK);
    char sql[64];
    snprintf(sql, sizeof(sql), "PRAGMA application_id = %d", STORE_APPLICATION_ID);
    exec_raw(db, sql);
    exec_raw(db, migrations[0].sql);
    exec_raw(db, "PRAGMA user_version = 1");
    exec_raw(db, "CREATE TABLE outbox (x)");
    sqlite3_close(db);
    ck_assert_int_eq(store_open(path, &st), 0);
    store_set_log_errors(0);
    ck_assert_int_lt(store_migrate(st, NULL, NULL), 0);
    store_set_log_errors(1);
    ck_assert_int_eq(q_int(store_db(st), "PRAGMA user_version"), 1);
    ck_assert_int_eq(q_int(store_db(st), "SELECT count(*) FROM sqlite_master WHERE name IN "
                                         "('dlq_counts', 'dlq_tenant_due_idx')"),
                     0);
}
END_TEST

START_TEST(test_migrate_refuses_newer)
{
    open_migrated();
    char sql[64];
    snprintf(sql, sizeof(sql), "PRAGMA user_version = %d", migrations_count + 1);
    exec_raw(store_db(st), sql);
    int64_t objects = q_int(store_db(st), "SELECT count(*) FROM sqlite_master");
    ck_assert_int_eq(store_migrate(st, NULL, NULL), -STORE_ENEWER);
    ck_assert_ptr_nonnull(strstr(store_errmsg(st), "upgrade vomo-sync"));
    ck_assert_int_eq(q_int(store_db(st), "PRAGMA user_version"), migrations_count + 1);
    ck_assert_int_eq(q_int(store_db(st), "SELECT count(*) FROM sqlite_master"), objects);
}
END_TEST

START_TEST(test_refuses_foreign_database)
{
    sqlite3 *db;
    ck_assert_int_eq(sqlite3_open(path, &db), SQLITE_OK);
    exec_raw(db, "CREATE TABLE other (x); PRAGMA application_id = 1234");
    sqlite3_close(db);
    ck_assert_int_eq(store_open(path, &st), -EINVAL);
    ck_assert_ptr_null(st);
    ck_assert_ptr_nonnull(strstr(store_errmsg(NULL), "not a vomo-sync state database"));
    /* application_id 0 but not empty: also somebody else's */
    ck_assert_int_eq(sqlite3_open(path, &db), SQLITE_OK);
    exec_raw(db, "PRAGMA application_id = 0");
    sqlite3_close(db);
    ck_assert_int_eq(store_open(path, &st), -EINVAL);
    ck_assert_int_eq(sqlite3_open(path, &db), SQLITE_OK);
    ck_assert_int_eq(q_int(db, "PRAGMA user_version"), 0);
    ck_assert_int_eq(q_int(db, "SELECT count(*) FROM sqlite_master"), 1);
    sqlite3_close(db);
}
END_TEST

START_TEST(test_locked_is_ebusy)
{
    open_migrated();
    sqlite3 *other;
    ck_assert_int_eq(sqlite3_open(path, &other), SQLITE_OK);
    exec_raw(other, "BEGIN IMMEDIATE");
    store_set_busy_timeout(st, 30);
    ck_assert_int_eq(
        store_checkpoint_set(st, "acme", "users", NULL, "2026-01-01T00:00:00.000Z", "complete", 0),
        -EBUSY);
    ck_assert_ptr_nonnull(strstr(store_errmsg(st), "locked"));
    ck_assert_int_eq(store_begin(st), -EBUSY);
    exec_raw(other, "ROLLBACK");
    sqlite3_close(other);
    ck_assert_int_eq(
        store_checkpoint_set(st, "acme", "users", NULL, "2026-01-01T00:00:00.000Z", "complete", 0),
        0);
}
END_TEST

START_TEST(test_full_disk_is_enospc)
{
    open_migrated();
    char sql[64];
    snprintf(sql, sizeof(sql), "PRAGMA max_page_count = %lld",
             (long long)q_int(store_db(st), "PRAGMA page_count"));
    exec_raw(store_db(st), sql);
    size_t n = 200000;
    char *big = malloc(n + 1);
    memset(big, 'x', n);
    big[n] = '\0';
    ck_assert_int_eq(store_record_put(st, "acme", "users", "1", "2026-01-01T00:00:00.000Z", big,
                                      "h", "2026-01-01T00:00:00.000Z"),
                     -ENOSPC);
    free(big);
    ck_assert_int_eq(q_int(store_db(st), "SELECT count(*) FROM records"), 0);
}
END_TEST

START_TEST(test_checkpoints)
{
    struct checkpoint cp;
    char old[TS_LEN];
    open_migrated();
    ck_assert_int_eq(store_checkpoint_get(st, "acme", "users", &cp), 0);
    ck_assert_str_eq(cp.updated_after, "1970-01-01T00:00:00.000Z");
    ck_assert_str_eq(cp.last_scan_at, "");
    ck_assert_int_eq(store_checkpoint_set(st, "acme", "users", "2026-03-01T10:00:00.000Z",
                                          "2026-03-01T10:05:00.000Z", "complete", 0),
                     0);
    ck_assert_int_eq(store_checkpoint_set(st, "acme", "users", NULL, "2026-03-01T11:00:00.000Z",
                                          "incomplete", 1),
                     0);
    ck_assert_int_eq(store_checkpoint_get(st, "acme", "users", &cp), 0);
    ck_assert_str_eq(cp.updated_after, "2026-03-01T10:00:00.000Z");
    ck_assert_str_eq(cp.last_scan_at, "2026-03-01T11:00:00.000Z");
    ck_assert_str_eq(cp.last_full_scan_at, "2026-03-01T11:00:00.000Z");
    ck_assert_int_eq(store_checkpoint_get(st, "acme", "groups", &cp), 0);
    ck_assert_str_eq(cp.updated_after, "1970-01-01T00:00:00.000Z");
    ck_assert_int_eq(store_checkpoint_reset(st, "acme", "users", "2026-01-01T00:00:00.000Z",
                                            "2026-03-02T00:00:00.000Z", old),
                     0);
    ck_assert_str_eq(old, "2026-03-01T10:00:00.000Z");
    ck_assert_int_eq(store_checkpoint_get(st, "acme", "users", &cp), 0);
    ck_assert_str_eq(cp.updated_after, "2026-01-01T00:00:00.000Z");
    ck_assert_str_eq(cp.last_scan_at, "2026-03-01T11:00:00.000Z");
}
END_TEST

/* The ids stream from an open query: the callback only reads (the ids
 * are valid during the call), deletions are made afterwards. */
struct live_ids {
    int n;
    char ids[4][16];
};

static int collect_ids(const char *id, void *arg)
{
    struct live_ids *l = arg;
    if (l->n < 4)
        snprintf(l->ids[l->n], sizeof(l->ids[0]), "%s", id);
    l->n++;
    return 0;
}

static int stop_at_first(const char *id, void *arg)
{
    (void)id;
    (*(int *)arg)++;
    return 1;
}

START_TEST(test_records)
{
    struct record_state rs;
    int64_t live = -1;
    int seen = 0;
    const char *t1 = "2026-03-01T00:00:00.000Z", *now = "2026-03-02T00:00:00.000Z";
    open_migrated();
    ck_assert_int_eq(store_record_get(st, "acme", "users", "1", &rs), -ENOENT);
    ck_assert_int_eq(store_record_put(st, "acme", "users", "1", t1, "{\"id\":1}", "aa", now), 0);
    ck_assert_int_eq(store_record_put(st, "acme", "users", "2", t1, "{\"id\":2}", "bb", now), 0);
    ck_assert_int_eq(store_record_put(st, "acme", "groups", "9", t1, "{}", "cc", now), 0);
    ck_assert_int_eq(store_record_get(st, "acme", "users", "1", &rs), 0);
    ck_assert_str_eq(rs.updated_at, t1);
    ck_assert_str_eq(rs.hash, "aa");
    ck_assert_int_eq(rs.deleted, 0);
    ck_assert_int_eq(store_record_mark_deleted(st, "acme", "users", "1", now), 0);
    ck_assert_int_eq(store_record_mark_deleted(st, "acme", "users", "404", now), -ENOENT);
    ck_assert_int_eq(store_record_get(st, "acme", "users", "1", &rs), 0);
    ck_assert_int_eq(rs.deleted, 1);
    ck_assert_int_eq(store_record_count(st, "acme", "users", &live), 0);
    ck_assert_int_eq(live, 1);
    ck_assert_int_eq(store_record_each_live(st, "acme", "users", stop_at_first, &seen), 0);
    ck_assert_int_eq(seen, 1);
    /* put brings a deleted record back */
    ck_assert_int_eq(
        store_record_put(st, "acme", "users", "1", "2026-03-04T00:00:00.000Z", "{}", "dd", now), 0);
    ck_assert_int_eq(store_record_get(st, "acme", "users", "1", &rs), 0);
    ck_assert_int_eq(rs.deleted, 0);
    ck_assert_str_eq(rs.hash, "dd");
    /* an older version arriving late never replaces a newer one */
    ck_assert_int_eq(store_record_put(st, "acme", "users", "1", t1, "{\"old\":1}", "ee", now), 0);
    ck_assert_int_eq(store_record_get(st, "acme", "users", "1", &rs), 0);
    ck_assert_str_eq(rs.updated_at, "2026-03-04T00:00:00.000Z");
    ck_assert_str_eq(rs.hash, "dd");
    /* the same version with new content (second-precision timestamps) does */
    ck_assert_int_eq(
        store_record_put(st, "acme", "users", "1", "2026-03-04T00:00:00.000Z", "{}", "ff", now), 0);
    ck_assert_int_eq(store_record_get(st, "acme", "users", "1", &rs), 0);
    ck_assert_str_eq(rs.hash, "ff");
    struct live_ids l = {0};
    ck_assert_int_eq(store_record_each_live(st, "acme", "users", collect_ids, &l), 0);
    ck_assert_int_eq(l.n, 2);
    ck_assert_str_eq(l.ids[0], "1"); /* in id order */
    ck_assert_str_eq(l.ids[1], "2");
    for (int i = 0; i < l.n; i++)
        ck_assert_int_eq(
            store_record_mark_deleted(st, "acme", "users", l.ids[i], "2026-03-03T00:00:00.000Z"),
            0);
    ck_assert_int_eq(store_record_count(st, "acme", "users", &live), 0);
    ck_assert_int_eq(live, 0);
    ck_assert_int_eq(store_record_count(st, "acme", "groups", &live), 0);
    ck_assert_int_eq(live, 1);
}
END_TEST

static struct dlq_new new_failure(const char *record_id, const char *version, const char *status,
                                  const char *now)
{
    return (struct dlq_new){.tenant = "acme",
                            .resource = "users",
                            .record_id = record_id,
                            .record_updated_at = version,
                            .status = status,
                            .error_class = "transient",
                            .http_status = 503,
                            .attempts = 1,
                            .next_attempt_at = strcmp(status, "pending") == 0 ? now : NULL,
                            .last_error = "HTTP 503",
                            .payload = "{\"id\":\"7\"}",
                            .now = now};
}

static int64_t count_where(const char *sql)
{
    return q_int(store_db(st), sql);
}

START_TEST(test_dlq_add_dedupe_and_supersede)
{
    const char *v1 = "2026-03-01T00:00:00.000Z", *v2 = "2026-03-02T00:00:00.000Z";
    int64_t id1 = 0, id1b = 0, id2 = 0, id3 = 0, open_id = 0;
    char ver[TS_LEN];
    struct dlq_row row;
    open_migrated();
    struct dlq_new n = new_failure("7", v1, "pending", "2026-03-05T00:00:00.000Z");
    ck_assert_int_eq(store_dlq_add(st, &n, &id1), 0);
    n.attempts = 3;
    n.error_class = "server_error";
    ck_assert_int_eq(store_dlq_add(st, &n, &id1b), 0);
    ck_assert_int_eq(id1, id1b);
    ck_assert_int_eq(count_where("SELECT count(*) FROM dlq"), 1);
    ck_assert_int_eq(store_dlq_get(st, id1, &row), 0);
    ck_assert_int_eq(row.attempts, 3);
    ck_assert_str_eq(row.error_class, "server_error");
    ck_assert_str_eq(row.record_updated_at, v1);
    ck_assert_int_eq(row.http_status, 503);
    dlq_row_free(&row);
    ck_assert_int_eq(count_where("SELECT count(*) FROM dlq_events WHERE dlq_id = 1"), 2);

    struct dlq_new n2 = new_failure("7", v2, "manual_review", "2026-03-06T00:00:00.000Z");
    n2.error_class = "validation";
    ck_assert_int_eq(store_dlq_add(st, &n2, &id2), 0);
    ck_assert_int_ne(id2, id1);
    ck_assert_int_eq(store_dlq_get(st, id1, &row), 0);
    ck_assert_str_eq(row.status, "resolved");
    ck_assert_str_eq(row.resolution, "superseded");
    ck_assert_str_eq(row.next_attempt_at, "");
    dlq_row_free(&row);
    ck_assert_int_eq(store_dlq_get(st, id2, &row), 0);
    ck_assert_str_eq(row.status, "manual_review");
    ck_assert_str_eq(row.next_attempt_at, "");
    dlq_row_free(&row);
    ck_assert_int_eq(store_dlq_open_for(st, "acme", "users", "7", &open_id, ver), 0);
    ck_assert_int_eq(open_id, id2);
    ck_assert_str_eq(ver, v2);
    /* a late failure of the older version does not add a row */
    ck_assert_int_eq(store_dlq_add(st, &n, &id3), 0);
    ck_assert_int_eq(id3, id2);
    /* the same version again as pending: escalation sticks */
    n2.status = "pending";
    n2.next_attempt_at = "2026-03-07T00:00:00.000Z";
    ck_assert_int_eq(store_dlq_add(st, &n2, &id3), 0);
    ck_assert_int_eq(id3, id2);
    ck_assert_int_eq(store_dlq_get(st, id2, &row), 0);
    ck_assert_str_eq(row.status, "manual_review");
    ck_assert_str_eq(row.next_attempt_at, "");
    dlq_row_free(&row);
    ck_assert_int_eq(count_where("SELECT count(*) FROM dlq"), 2);
    ck_assert_int_eq(store_dlq_open_for(st, "acme", "users", "8", &open_id, ver), -ENOENT);
    ck_assert_int_eq(count_where("SELECT count(*) FROM dlq_events WHERE action = 'superseded'"), 1);
}
END_TEST

START_TEST(test_dlq_supersede_and_unknown_version)
{
    int64_t a = 0, b = 0;
    struct dlq_row row;
    open_migrated();
    struct dlq_new n = new_failure("5", NULL, "manual_review", "2026-03-05T00:00:00.000Z");
    n.error_class = "bad_data";
    ck_assert_int_eq(store_dlq_add(st, &n, &a), 0);
    ck_assert_int_eq(store_dlq_add(st, &n, &b), 0);
    ck_assert_int_eq(a, b); /* unknown == unknown */
    ck_assert_int_eq(store_dlq_supersede(st, "acme", "users", "5", "2026-03-01T00:00:00.000Z",
                                         "2026-03-08T"
                                         "00:00:00.000Z"),
                     0);
    ck_assert_int_eq(store_dlq_get(st, a, &row), 0);
    ck_assert_str_eq(row.status, "resolved");
    ck_assert_str_eq(row.resolution, "superseded");
    dlq_row_free(&row);
    /* a newer open version than the applied one stays */
    n = new_failure("6", "2026-03-09T00:00:00.000Z", "pending", "2026-03-09T00:00:00.000Z");
    ck_assert_int_eq(store_dlq_add(st, &n, &a), 0);
    ck_assert_int_eq(store_dlq_supersede(st, "acme", "users", "6", "2026-03-01T00:00:00.000Z",
                                         "2026-03-09T"
                                         "00:00:00.000Z"),
                     0);
    ck_assert_int_eq(store_dlq_get(st, a, &row), 0);
    ck_assert_str_eq(row.status, "pending");
    dlq_row_free(&row);
}
END_TEST

/*
 * The plan of the due query exactly as the store prepared it (found among
 * the connection's cached statements): a search of the partial index
 * dlq_due_idx, no table scan, no sort.
 */
static void ck_assert_plan_uses_due_index(void)
{
    sqlite3 *db = store_db(st);
    char *sql = NULL;
    for (sqlite3_stmt *p = sqlite3_next_stmt(db, NULL); p; p = sqlite3_next_stmt(db, p))
        if (strstr(sqlite3_sql(p), "next_attempt_at <= ?1"))
            sql = sqlite3_mprintf("EXPLAIN QUERY PLAN %s", sqlite3_sql(p));
    ck_assert_ptr_nonnull(sql);
    sqlite3_stmt *q;
    ck_assert_int_eq(sqlite3_prepare_v2(db, sql, -1, &q, NULL), SQLITE_OK);
    sqlite3_free(sql);
    int uses_index = 0, scans = 0, sorts = 0;
    while (sqlite3_step(q) == SQLITE_ROW) {
        const char *d = (const char *)sqlite3_column_text(q, 3);
        uses_index |= strstr(d, "SEARCH dlq USING INDEX dlq_due_idx") != NULL;
        scans |= strncmp(d, "SCAN", 4) == 0;
        sorts |= strstr(d, "TEMP B-TREE") != NULL;
    }
    sqlite3_finalize(q);
    ck_assert(uses_index);
    ck_assert(!scans);
    ck_assert(!sorts);
}

START_TEST(test_dlq_due_order_limit_and_index)
{
    struct dlq_row *rows = NULL;
    size_t n = 0;
    open_migrated();
    const char *due[] = {"2026-03-01T00:00:03.000Z", "2026-03-01T00:00:01.000Z",
                         "2026-03-01T00:00:02.000Z", "2026-03-01T09:00:00.000Z"};
    char rid[16];
    for (int i = 0; i < 4; i++) {
        snprintf(rid, sizeof(rid), "r%d", i);
        struct dlq_new d = new_failure(rid, "2026-02-01T00:00:00.000Z", "pending", due[i]);
        ck_assert_int_eq(store_dlq_add(st, &d, NULL), 0);
    }
    struct dlq_new m = new_failure("m", NULL, "manual_review", "2026-01-01T00:00:00.000Z");
    ck_assert_int_eq(store_dlq_add(st, &m, NULL), 0);
    ck_assert_int_eq(store_dlq_due(st, "2026-03-01T01:00:00.000Z", 10, &rows, &n), 0);
    ck_assert_uint_eq(n, 3);
    ck_assert_str_eq(rows[0].record_id, "r1");
    ck_assert_str_eq(rows[1].record_id, "r2");
    ck_assert_str_eq(rows[2].record_id, "r0");
    ck_assert_str_eq(rows[0].payload, "{\"id\":\"7\"}");
    dlq_rows_free(rows, n);
    ck_assert_int_eq(store_dlq_due(st, "2026-03-01T01:00:00.000Z", 2, &rows, &n), 0);
    ck_assert_uint_eq(n, 2);
    ck_assert_str_eq(rows[1].record_id, "r2");
    dlq_rows_free(rows, n);
    ck_assert_int_eq(store_dlq_due(st, "2025-01-01T00:00:00.000Z", 2, &rows, &n), 0);
    ck_assert_uint_eq(n, 0);
    dlq_rows_free(rows, n);

    ck_assert_plan_uses_due_index();
}
END_TEST

START_TEST(test_dlq_attempts_close_requeue)
{
    int64_t id = 0, other = 0;
    struct dlq_row row;
    char prev[16];
    open_migrated();
    struct dlq_new n =
        new_failure("7", "2026-03-01T00:00:00.000Z", "pending", "2026-03-05T00:00:00.000Z");
    ck_assert_int_eq(store_dlq_add(st, &n, &id), 0);
    ck_assert_int_eq(store_dlq_attempt_failed(st, id, 2, "pending", "2026-03-05T00:02:00.000Z",
                                              "rate_limited", 429, "slow down",
                                              "2026-03-05T00:01:00.000Z"),
                     0);
    ck_assert_int_eq(store_dlq_get(st, id, &row), 0);
    ck_assert_int_eq(row.attempts, 2);
    ck_assert_str_eq(row.next_attempt_at, "2026-03-05T00:02:00.000Z");
    ck_assert_str_eq(row.error_class, "rate_limited");
    ck_assert_str_eq(row.last_error, "slow down");
    dlq_row_free(&row);
    ck_assert_int_eq(store_dlq_attempt_failed(st, id, 10, "manual_review", NULL, "server_error",
                                              500, "boom", "2026-03-06T00:00:00.000Z"),
                     0);
    ck_assert_int_eq(store_dlq_get(st, id, &row), 0);
    ck_assert_str_eq(row.status, "manual_review");
    ck_assert_str_eq(row.next_attempt_at, "");
    dlq_row_free(&row);
    ck_assert_int_eq(count_where("SELECT count(*) FROM dlq_events WHERE action = 'escalated' "
                                 "AND http_status = 500"),
                     1);

    ck_assert_int_eq(store_dlq_retry(st, id, 0, "alice", "2026-03-07T00:00:00.000Z", prev), 0);
    ck_assert_str_eq(prev, "manual_review");
    ck_assert_int_eq(store_dlq_get(st, id, &row), 0);
    ck_assert_str_eq(row.status, "pending");
    ck_assert_int_eq(row.attempts, 10);
    ck_assert_str_eq(row.next_attempt_at, "2026-03-07T00:00:00.000Z");
    dlq_row_free(&row);
    ck_assert_int_eq(count_where("SELECT count(*) FROM dlq_events WHERE action = 'retry' AND "
                                 "actor = 'alice' AND note = 'manual_review -> pending'"),
                     1);

    ck_assert_int_eq(store_dlq_close(st, id, "resolved", "manual", "fixed upstream", "bob",
                                     "2026-03-08T00:00:00.000Z"),
                     0);
    ck_assert_int_eq(store_dlq_get(st, id, &row), 0);
    ck_assert_str_eq(row.status, "resolved");
    ck_assert_str_eq(row.resolution, "manual");
    ck_assert_str_eq(row.note, "fixed upstream");
    dlq_row_free(&row);
    ck_assert_int_eq(
        store_dlq_close(st, id, "discarded", "discarded", NULL, "bob", "2026-03-08T00:00:00.000Z"),
        -EALREADY);
    ck_assert_ptr_nonnull(strstr(store_errmsg(st), "already resolved"));
    ck_assert_int_eq(store_dlq_close(st, 999, "resolved", "manual", NULL, "bob", "x"), -ENOENT);
    ck_assert_int_eq(store_dlq_close(st, id, "pending", "manual", NULL, "bob", "x"), -EINVAL);
    ck_assert_int_eq(store_dlq_requeue(st, id, "alice", "2026-03-09T00:00:00.000Z"), -EALREADY);
    ck_assert_int_eq(
        store_dlq_retry(st, id, STORE_RETRY_DISCARDED, "alice", "2026-03-09T00:00:00.000Z", prev),
        -EALREADY);
    ck_assert_int_eq(store_dlq_requeue(st, 999, "alice", "2026-03-09T00:00:00.000Z"), -ENOENT);

    /* a discarded row comes back only with the flag, and only alone */
    n = new_failure("8", "2026-03-01T00:00:00.000Z", "manual_review", "2026-03-05T00:00:00.000Z");
    ck_assert_int_eq(store_dlq_add(st, &n, &other), 0);
    ck_assert_int_eq(store_dlq_close(st, other, "discarded", "discarded", "noise", "bob",
                                     "2026-03-08T00:00:00.000Z"),
                     0);
    ck_assert_int_eq(store_dlq_requeue(st, other, "alice", "2026-03-09T00:00:00.000Z"), -EALREADY);
    ck_assert_int_eq(store_dlq_retry(st, other, STORE_RETRY_DISCARDED, "alice",
                                     "2026-03-09T00:00:00.000Z", prev),
                     0);
    ck_assert_str_eq(prev, "discarded");
    ck_assert_int_eq(count_where("SELECT count(*) FROM dlq WHERE status = 'pending' AND "
                                 "resolution IS NULL AND record_id = '8'"),
                     1);
}
END_TEST

START_TEST(test_dlq_events_and_purge)
{
    int64_t a = 0, b = 0, c = 0, deleted = -1;
    open_migrated();
    struct dlq_new n =
        new_failure("1", "2026-01-01T00:00:00.000Z", "pending", "2026-01-01T00:00:00.000Z");
    ck_assert_int_eq(store_dlq_add(st, &n, &a), 0);
    n.record_id = "2";
    ck_assert_int_eq(store_dlq_add(st, &n, &b), 0);
    n.record_id = "3";
    ck_assert_int_eq(store_dlq_add(st, &n, &c), 0);
    ck_assert_int_eq(store_dlq_event(st, a, "carol", "note", NULL, 0, "looked at it",
                                     "2026-01-02T00:00:00.000Z"),
                     0);
    ck_assert_int_eq(count_where("SELECT count(*) FROM dlq_events WHERE dlq_id = 1 AND actor = "
                                 "'carol' AND http_status IS NULL"),
                     1);
    ck_assert_int_eq(
        store_dlq_close(st, a, "resolved", "manual", NULL, "carol", "2026-01-03T00:00:00.000Z"), 0);
    ck_assert_int_eq(
        store_dlq_close(st, b, "discarded", "discarded", NULL, "carol", "2026-02-20T00:00:00.000Z"),
        0);
    /* Resolved by hand, and nothing newer of record 1 known: kept. */
    ck_assert_int_eq(store_dlq_purge(st, "2026-02-01T00:00:00.000Z", &deleted), 0);
    ck_assert_int_eq(deleted, 0);
    /* A later failure of a newer version of record 1 is that evidence. */
    n.record_id = "1";
    n.record_updated_at = "2026-01-05T00:00:00.000Z";
    int64_t d = 0;
    ck_assert_int_eq(store_dlq_add(st, &n, &d), 0);
    ck_assert_int_eq(store_dlq_purge(st, "2026-02-01T00:00:00.000Z", &deleted), 0);
    ck_assert_int_eq(deleted, 1);
    ck_assert_int_eq(count_where("SELECT count(*) FROM dlq WHERE id = 1"), 0);
    ck_assert_int_eq(count_where("SELECT count(*) FROM dlq_events WHERE dlq_id = 1"), 0);
    /* The discarded row is never purged; open rows neither. */
    ck_assert_int_eq(store_dlq_purge(st, "2027-01-01T00:00:00.000Z", &deleted), 0);
    ck_assert_int_eq(deleted, 0);
    ck_assert_int_eq(count_where("SELECT count(*) FROM dlq"), 3);
}
END_TEST

START_TEST(test_transaction_rollback_covers_dlq)
{
    open_migrated();
    struct dlq_new n =
        new_failure("1", "2026-01-01T00:00:00.000Z", "pending", "2026-01-01T00:00:00.000Z");
    ck_assert_int_eq(store_begin(st), 0);
    ck_assert_int_eq(store_dlq_add(st, &n, NULL), 0);
    ck_assert_int_eq(store_checkpoint_set(st, "acme", "users", "2026-01-01T00:00:00.000Z",
                                          "2026-01-01T00:00:00.000Z", "complete", 0),
                     0);
    store_rollback(st);
    ck_assert_int_eq(count_where("SELECT count(*) FROM dlq"), 0);
    ck_assert_int_eq(count_where("SELECT count(*) FROM dlq_events"), 0);
    ck_assert_int_eq(count_where("SELECT count(*) FROM checkpoints"), 0);
    ck_assert_int_eq(store_begin(st), 0);
    ck_assert_int_eq(store_dlq_add(st, &n, NULL), 0);
    ck_assert_int_eq(store_commit(st), 0);
    ck_assert_int_eq(count_where("SELECT count(*) FROM dlq"), 1);
}
END_TEST

START_TEST(test_holds)
{
    int attempts = 0;
    char v[TS_LEN];
    open_migrated();
    ck_assert_int_eq(store_hold_oldest(st, "acme", "users", v), -ENOENT);
    ck_assert_int_eq(store_hold_fail(st, "acme", "users", "1", "2026-01-05T00:00:00.000Z",
                                     "transient", 503, "x", "2026-01-06T00:00:00.000Z", &attempts),
                     0);
    ck_assert_int_eq(attempts, 1);
    ck_assert_int_eq(store_hold_fail(st, "acme", "users", "1", "2026-01-05T00:00:00.000Z",
                                     "transient", 0, "y", "2026-01-07T00:00:00.000Z", &attempts),
                     0);
    ck_assert_int_eq(attempts, 2);
    ck_assert_int_eq(store_hold_fail(st, "acme", "users", "2", "2026-01-03T00:00:00.000Z",
                                     "validation", 422, "z", "2026-01-07T00:00:00.000Z", &attempts),
                     0);
    ck_assert_int_eq(attempts, 1);
    ck_assert_int_eq(store_hold_oldest(st, "acme", "users", v), 0);
    ck_assert_str_eq(v, "2026-01-03T00:00:00.000Z");
    ck_assert_int_eq(store_hold_clear(st, "acme", "users", "2"), 0);
    ck_assert_int_eq(store_hold_oldest(st, "acme", "users", v), 0);
    ck_assert_str_eq(v, "2026-01-05T00:00:00.000Z");
    ck_assert_int_eq(store_hold_oldest(st, "acme", "groups", v), -ENOENT);
    ck_assert_int_eq(count_where("SELECT count(*) FROM holds WHERE record_id = '1' AND "
                                 "first_failed_at = '2026-01-06T00:00:00.000Z' AND "
                                 "http_status IS NULL"),
                     1);
}
END_TEST

START_TEST(test_runtime_state_scans_and_views)
{
    char buf[64];
    open_migrated();
    sqlite3 *db = store_db(st);
    ck_assert_int_eq(store_tenant_state_set(st, "acme", "ok", NULL, "2026-01-01T00:00:00.000Z"), 0);
    ck_assert_int_eq(
        store_tenant_state_set(st, "acme", "auth_failed", "HTTP 401", "2026-01-02T00:00:00.000Z"),
        0);
    ck_assert_str_eq(
        q_text(db, "SELECT status || '/' || reason FROM tenant_state", buf, sizeof(buf)),
        "auth_failed/HTTP 401");
    ck_assert_int_eq(store_breaker_set(st, "vomo", "open", 5, "503", "2026-01-01T00:00:00.000Z"),
                     0);
    ck_assert_int_eq(store_breaker_set(st, "vomo", "open", 6, "503", "2026-01-01T00:01:00.000Z"),
                     0);
    ck_assert_str_eq(q_text(db, "SELECT opened_at FROM breakers", buf, sizeof(buf)),
                     "2026-01-01T00:00:00.000Z");
    ck_assert_int_eq(
        store_breaker_set(st, "vomo", "half_open", 6, NULL, "2026-01-01T00:02:00.000Z"), 0);
    ck_assert_str_eq(q_text(db, "SELECT opened_at FROM breakers", buf, sizeof(buf)),
                     "2026-01-01T00:00:00.000Z");
    ck_assert_int_eq(store_breaker_set(st, "vomo", "closed", 0, NULL, "2026-01-01T00:03:00.000Z"),
                     0);
    ck_assert_int_eq(q_int(db, "SELECT opened_at IS NULL AND failures = 0 FROM breakers"), 1);

    struct scan_summary sum = {.tenant = "acme",
                               .resource = "users",
                               .trace_id = "abc",
                               .kind = "incremental",
                               .status = "complete",
                               .pages = 2,
                               .records = 150,
                               .applied = 140,
                               .skipped = 9,
                               .failed = 1};
    snprintf(sum.started_at, TS_LEN, "2026-01-01T00:00:00.000Z");
    snprintf(sum.finished_at, TS_LEN, "2026-01-01T00:00:05.000Z");
    ck_assert_int_eq(store_scan_insert(st, &sum), 0);
    sum.kind = "full";
    sum.records = 151;
    ck_assert_int_eq(store_scan_insert(st, &sum), 0);
    ck_assert_int_eq(q_int(db, "SELECT records FROM last_scans WHERE tenant = 'acme'"), 151);
    sum.kind = "bogus";
    ck_assert_int_eq(store_scan_insert(st, &sum), -EIO);
    /* The history is bounded per (tenant, resource); other slots keep theirs. */
    sum.kind = "incremental";
    sum.resource = "groups";
    ck_assert_int_eq(store_scan_insert(st, &sum), 0);
    sum.resource = "users";
    ck_assert_int_eq(store_begin(st), 0);
    for (int i = 0; i < STORE_SCANS_KEPT + 5; i++) {
        sum.records = i;
        ck_assert_int_eq(store_scan_insert(st, &sum), 0);
    }
    ck_assert_int_eq(store_commit(st), 0);
    ck_assert_int_eq(q_int(db, "SELECT count(*) FROM scans WHERE resource = 'users'"),
                     STORE_SCANS_KEPT);
    ck_assert_int_eq(q_int(db, "SELECT min(records) FROM scans WHERE resource = 'users'"), 5);
    ck_assert_int_eq(q_int(db, "SELECT count(*) FROM scans WHERE resource = 'groups'"), 1);
    /* A scan that defers the pruning adds its row and deletes none; the
     * next that prunes brings the history back to the newest ones. */
    sum.defer_prune = true;
    for (int i = 0; i < STORE_SCANS_PRUNE_EVERY - 1; i++)
        ck_assert_int_eq(store_scan_insert(st, &sum), 0);
    ck_assert_int_eq(q_int(db, "SELECT count(*) FROM scans WHERE resource = 'users'"),
                     STORE_SCANS_KEPT + STORE_SCANS_PRUNE_EVERY - 1);
    sum.defer_prune = false;
    sum.records = -1;
    ck_assert_int_eq(store_scan_insert(st, &sum), 0);
    ck_assert_int_eq(q_int(db, "SELECT count(*) FROM scans WHERE resource = 'users'"),
                     STORE_SCANS_KEPT);
    ck_assert_int_eq(q_int(db, "SELECT count(*) FROM scans WHERE resource = 'users' AND "
                               "records = -1"),
                     1);
    ck_assert_int_eq(q_int(db, "SELECT count(*) FROM scans WHERE resource = 'groups'"), 1);

    struct dlq_new n =
        new_failure("1", "2026-01-01T00:00:00.000Z", "pending", "2026-01-01T00:00:00.000Z");
    ck_assert_int_eq(store_dlq_add(st, &n, NULL), 0);
    n.record_id = "2";
    ck_assert_int_eq(store_dlq_add(st, &n, NULL), 0);
    n.record_id = "3";
    n.status = "manual_review";
    ck_assert_int_eq(store_dlq_add(st, &n, NULL), 0);
    ck_assert_int_eq(q_int(db, "SELECT rows FROM dlq_summary WHERE tenant = 'acme' AND status = "
                               "'pending' AND error_class = 'transient'"),
                     2);
    ck_assert_int_eq(q_int(db, "SELECT count(*) FROM dlq_manual_review"), 1);
    ck_assert_int_eq(q_int(db, "SELECT count(*) FROM dlq_due"), 2);
    ck_assert_int_eq(store_record_put(st, "acme", "users", "1", "2026-01-01T00:00:00.000Z", "{}",
                                      "h", "2026-01-01T00:00:00.000Z"),
                     0);
    ck_assert_int_eq(store_record_put(st, "acme", "users", "2", "2026-01-02T00:00:00.000Z", "{}",
                                      "h", "2026-01-01T00:00:00.000Z"),
                     0);
    ck_assert_int_eq(
        store_record_mark_deleted(st, "acme", "users", "1", "2026-01-03T00:00:00.000Z"), 0);
    ck_assert_str_eq(q_text(db,
                            "SELECT live || '/' || deleted || '/' || newest_updated_at FROM "
                            "record_counts",
                            buf, sizeof(buf)),
                     "1/1/2026-01-02T00:00:00.000Z");
}
END_TEST

/*
 * store_lookup_page answers the skip rule's three questions for each record
 * of a page exactly as store_record_get, store_dlq_open_for and
 * store_dlq_settled do one by one (the DLQ ones for records not unchanged),
 * outside and inside a transaction.
 */
START_TEST(test_lookup_page_agrees_with_single_lookups)
{
    const char *v1 = "2026-03-01T00:00:00.000Z", *v2 = "2026-03-02T00:00:00.000Z";
    const char *now = "2026-03-03T00:00:00.000Z";
    open_migrated();
    ck_assert_int_eq(store_record_put(st, "acme", "users", "1", v1, "{}", "h1", now), 0);
    ck_assert_int_eq(store_record_put(st, "acme", "users", "2", v2, "{}", "h2", now), 0);
    ck_assert_int_eq(store_record_mark_deleted(st, "acme", "users", "2", now), 0);
    ck_assert_int_eq(store_record_put(st, "other", "users", "4", v2, "{}", "h4", now), 0);
    struct dlq_new open3 = new_failure("3", v1, "pending", now);
    ck_assert_int_eq(store_dlq_add(st, &open3, NULL), 0);
    struct dlq_new review5 = new_failure("5", v1, "manual_review", now);
    ck_assert_int_eq(store_dlq_add(st, &review5, NULL), 0);
    struct dlq_new newer5 = new_failure("5", v2, "pending", now);
    ck_assert_int_eq(store_dlq_add(st, &newer5, NULL), 0); /* supersedes the v1 row */
    int64_t id6 = 0;
    struct dlq_new gone6 = new_failure("6", v1, "pending", now);
    ck_assert_int_eq(store_dlq_add(st, &gone6, &id6), 0);
    ck_assert_int_eq(store_dlq_close(st, id6, "discarded", "discarded", NULL, "ops", now), 0);
    const char *v0 = "2026-02-01T00:00:00.000Z";
    struct record_lookup l[] = {
        {.id = "1", .updated_at = v1, .hash = "x"},  {.id = "2", .updated_at = v2, .hash = "h2"},
        {.id = "3", .updated_at = v1, .hash = "x"},  {.id = "3", .updated_at = v2, .hash = "x"},
        {.id = "4", .updated_at = v2, .hash = "h4"}, {.id = "5", .updated_at = v1, .hash = "x"},
        {.id = "5", .updated_at = v2, .hash = "x"},  {.id = "6", .updated_at = v1, .hash = "x"},
        {.id = "6", .updated_at = v2, .hash = "x"},  {.id = "1", .updated_at = v1, .hash = "h1"},
        {.id = "1", .updated_at = v0, .hash = "x"}};
    for (int in_txn = 0; in_txn < 2; in_txn++) {
        if (in_txn)
            ck_assert_int_eq(store_begin(st), 0);
        ck_assert_int_eq(store_lookup_page(st, "acme", "users", l, ARRAY_SIZE(l)), 0);
        for (size_t i = 0; i < ARRAY_SIZE(l); i++) {
            struct record_state rs;
            int64_t id;
            char ver[TS_LEN];
            int got = store_record_get(st, "acme", "users", l[i].id, &rs);
            ck_assert_int_eq(l[i].found, got == 0);
            if (got == 0) {
                ck_assert_str_eq(l[i].rec.updated_at, rs.updated_at);
                ck_assert_str_eq(l[i].rec.hash, rs.hash);
                ck_assert_int_eq(l[i].rec.deleted, rs.deleted);
            }
            if (l[i].unchanged) /* the DLQ is not consulted */
                continue;
            got = store_dlq_open_for(st, "acme", "users", l[i].id, &id, ver);
            ck_assert_int_eq(l[i].open_same, got == 0 && strcmp(ver, l[i].updated_at) == 0);
            ck_assert_int_eq(l[i].settled,
                             store_dlq_settled(st, "acme", "users", l[i].id, l[i].updated_at));
        }
        if (in_txn)
            ck_assert_int_eq(store_commit(st), 0);
    }
    ck_assert(l[0].found && !l[0].rec.deleted && strcmp(l[0].rec.hash, "h1") == 0);
    ck_assert(!l[0].unchanged && l[9].unchanged && l[10].unchanged); /* other content; newer held */
    ck_assert(l[1].found && l[1].rec.deleted && !l[1].unchanged);
    ck_assert(!l[4].found); /* another tenant's record */
    ck_assert(l[2].open_same && !l[3].open_same);
    ck_assert(!l[5].open_same && l[6].open_same);
    ck_assert(l[7].settled && !l[8].settled && !l[7].open_same);
    ck_assert_int_eq(sqlite3_get_autocommit(store_db(st)), 1); /* no transaction left open */
    ck_assert_int_eq(store_lookup_page(st, "acme", "users", l, 0), 0);
}
END_TEST

/* The open-dead-letter counts (kept by triggers) agree with a count of the
 * rows after every kind of change: adds, escalation, supersede, close,
 * retry, purge, and an operator's own SQL. */
static void ck_assert_counts_true(void)
{
    int64_t pending = -1, review = -1;
    ck_assert_int_eq(store_dlq_counts(st, &pending, &review), 0);
    ck_assert_int_eq(pending, count_where("SELECT count(*) FROM dlq WHERE status = 'pending'"));
    ck_assert_int_eq(review,
                     count_where("SELECT count(*) FROM dlq WHERE status = 'manual_review'"));
}

START_TEST(test_dlq_open_counts_follow_every_change)
{
    const char *v1 = "2026-03-01T00:00:00.000Z", *v2 = "2026-03-02T00:00:00.000Z";
    const char *now = "2026-03-03T00:00:00.000Z";
    int64_t a = 0, b = 0, c = 0;
    open_migrated();
    ck_assert_counts_true();
    struct dlq_new na = new_failure("1", v1, "pending", now);
    ck_assert_int_eq(store_dlq_add(st, &na, &a), 0);
    struct dlq_new nb = new_failure("2", v1, "manual_review", now);
    ck_assert_int_eq(store_dlq_add(st, &nb, &b), 0);
    struct dlq_new nc = new_failure("3", v1, "pending", now);
    ck_assert_int_eq(store_dlq_add(st, &nc, &c), 0);
    ck_assert_counts_true();
    int64_t pending = 0, review = 0;
    ck_assert_int_eq(store_dlq_counts(st, &pending, &review), 0);
    ck_assert_int_eq(pending, 2);
    ck_assert_int_eq(review, 1);
    /* escalation, supersede by a newer version, close, retry */
    ck_assert_int_eq(store_dlq_attempt_failed(st, a, 5, "manual_review", NULL, "transient", 503,
                                              "HTTP 503", now),
                     0);
    ck_assert_counts_true();
    ck_assert_int_eq(store_dlq_supersede(st, "acme", "users", "3", v2, now), 0);
    ck_assert_counts_true();
    ck_assert_int_eq(store_dlq_close(st, b, "discarded", "discarded", NULL, "ops", now), 0);
    ck_assert_counts_true();
    ck_assert_int_eq(store_dlq_retry(st, b, STORE_RETRY_DISCARDED, "ops", now, NULL), 0);
    ck_assert_counts_true();
    ck_assert_int_eq(store_dlq_close(st, a, "resolved", "manual", NULL, "ops", now), 0);
    int64_t purged = 0;
    ck_assert_int_eq(store_dlq_purge(st, "2099-01-01T00:00:00.000Z", &purged), 0);
    ck_assert_int_ge(purged, 1);
    ck_assert_counts_true();
    /* what an operator might do by hand */
    sqlite3 *db = store_db(st);
    exec_raw(db, "UPDATE dlq SET status = 'manual_review' WHERE status = 'pending'");
    ck_assert_counts_true();
    exec_raw(db, "DELETE FROM dlq");
    ck_assert_counts_true();
    ck_assert_int_eq(store_dlq_counts(st, &pending, &review), 0);
    ck_assert_int_eq(pending + review, 0);
}
END_TEST

/* A database that had dead letters before the counts existed starts with
 * them counted. */
START_TEST(test_dlq_open_counts_seeded_by_the_migration)
{
    sqlite3 *db;
    ck_assert_int_eq(sqlite3_open(path, &db), SQLITE_OK);
    char sql[64];
    snprintf(sql, sizeof(sql), "PRAGMA application_id = %d", STORE_APPLICATION_ID);
    exec_raw(db, sql);
    exec_raw(db, migrations[0].sql);
    exec_raw(db, migrations[1].sql);
    exec_raw(db, "PRAGMA user_version = 2");
    exec_raw(db, "INSERT INTO dlq (tenant, resource, record_id, status, error_class, created_at, "
                 "updated_at) VALUES ('acme', 'users', '1', 'pending', 'transient', 'x', 'x'), "
                 "('acme', 'users', '2', 'pending', 'transient', 'x', 'x'), "
                 "('acme', 'users', '3', 'manual_review', 'validation', 'x', 'x'), "
                 "('acme', 'users', '4', 'resolved', 'transient', 'x', 'x')");
    sqlite3_close(db);
    ck_assert_int_eq(store_open(path, &st), 0);
    ck_assert_int_eq(store_migrate(st, NULL, NULL), 0);
    int64_t pending = 0, review = 0;
    ck_assert_int_eq(store_dlq_counts(st, &pending, &review), 0);
    ck_assert_int_eq(pending, 2);
    ck_assert_int_eq(review, 1);
}
END_TEST

static Suite *store_suite(void)
{
    Suite *s = suite_create("store");
    TCase *tc = tcase_create("store");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, 20);
    tcase_add_test(tc, test_open_pragmas);
    tcase_add_test(tc, test_open_errors);
    tcase_add_test(tc, test_migrate_fresh);
    tcase_add_test(tc, test_migrate_from_each_older);
    tcase_add_test(tc, test_migrate_all_or_nothing);
    tcase_add_test(tc, test_migrate_refuses_newer);
    tcase_add_test(tc, test_refuses_foreign_database);
    tcase_add_test(tc, test_locked_is_ebusy);
    tcase_add_test(tc, test_full_disk_is_enospc);
    tcase_add_test(tc, test_checkpoints);
    tcase_add_test(tc, test_records);
    tcase_add_test(tc, test_lookup_page_agrees_with_single_lookups);
    tcase_add_test(tc, test_dlq_add_dedupe_and_supersede);
    tcase_add_test(tc, test_dlq_supersede_and_unknown_version);
    tcase_add_test(tc, test_dlq_due_order_limit_and_index);
    tcase_add_test(tc, test_dlq_attempts_close_requeue);
    tcase_add_test(tc, test_dlq_events_and_purge);
    tcase_add_test(tc, test_transaction_rollback_covers_dlq);
    tcase_add_test(tc, test_holds);
    tcase_add_test(tc, test_dlq_open_counts_follow_every_change);
    tcase_add_test(tc, test_dlq_open_counts_seeded_by_the_migration);
    tcase_add_test(tc, test_runtime_state_scans_and_views);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(store_suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
