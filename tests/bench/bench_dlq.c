/*
 * bench_dlq.c - `make bench`: the DLQ processor's tick against a large
 * queue.  A state database gets 1,000,000 dlq rows (most resolved, a tenth
 * pending but not due, 100 due), then the processor's due query
 * (store_dlq_due, limit 100, through dlq_due_idx), its counts query and one
 * whole dlqproc_tick of an engine against the in-process fake VOMO are
 * timed.  Prints the figures and the query plan; asserts only that the
 * rows found are the due ones.
 *
 * Usage: bench_dlq [ROWS]   (default 1000000)
 */
#include <check.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "dlqproc.h"
#include "benchutil.h"
#include "testutil.h"
#include "util.h"

#define DUE 100
#define REPS 20

static void die_sql(sqlite3 *db, const char *what)
{
    fprintf(stderr, "bench_dlq: %s: %s\n", what, sqlite3_errmsg(db));
    exit(1);
}

static void exec_sql(sqlite3 *db, const char *sql)
{
    if (sqlite3_exec(db, sql, NULL, NULL, NULL) != SQLITE_OK)
        die_sql(db, sql);
}

/*
 * Row i: the first DUE rows belong to the fake's users and wait far in
 * the future (made due later, once the engine runs); every tenth other row
 * is pending and not due for an hour or more; the rest are resolved.
 */
static void bind_row(sqlite3_stmt *st, int64_t i, const struct fake_record *users, const char *now,
                     int64_t now_ms)
{
    char rid[32], next[TS_LEN];
    const char *status = "resolved";
    const char *version = now;
    bool has_next = false;
    if (i < DUE) {
        snprintf(rid, sizeof(rid), "%s", users[i].id);
        version = users[i].updated_at;
        status = "pending";
        snprintf(next, sizeof(next), "2099-01-01T00:00:00.000Z");
        has_next = true;
    } else {
        snprintf(rid, sizeof(rid), "%lld", (long long)(100000 + i));
        if (i % 10 == 0) {
            status = "pending";
            ts_format(now_ms + 3600 * 1000 + i, next);
            has_next = true;
        }
    }
    sqlite3_bind_text(st, 1, "acme", -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, "users", -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 3, rid, -1, SQLITE_TRANSIENT);
    sqlite3_bind_text(st, 4, version, -1, SQLITE_TRANSIENT);
    sqlite3_bind_text(st, 5, status, -1, SQLITE_STATIC);
    if (has_next)
        sqlite3_bind_text(st, 6, next, -1, SQLITE_TRANSIENT);
    else
        sqlite3_bind_null(st, 6);
    sqlite3_bind_text(st, 7, strcmp(status, "resolved") == 0 ? "delivered" : NULL, -1,
                      SQLITE_STATIC);
    sqlite3_bind_text(st, 8, now, -1, SQLITE_TRANSIENT);
}

/* Fills the dlq table in one transaction with one prepared statement. */
static void fill(struct tu_env *env, int64_t rows, const struct fake_record *users)
{
    struct store *s;
    if (store_open(env->db_path, &s) < 0 || store_migrate(s, NULL, NULL) < 0) {
        fprintf(stderr, "bench_dlq: %s\n", store_errmsg(s));
        exit(1);
    }
    sqlite3 *db = store_db(s);
    int64_t now_ms = clock_wall_ms();
    char now[TS_LEN];
    ts_format(now_ms, now);
    sqlite3_stmt *st;
    if (sqlite3_prepare_v2(db,
                           "INSERT INTO dlq (tenant, resource, record_id, record_updated_at, "
                           "status, error_class, http_status, attempts, next_attempt_at, "
                           "last_error, resolution, created_at, updated_at) VALUES (?1, ?2, ?3, "
                           "?4, ?5, 'transient', 503, 3, ?6, 'HTTP 503', ?7, ?8, ?8)",
                           -1, &st, NULL) != SQLITE_OK)
        die_sql(db, "prepare");
    int64_t t0 = clock_mono_ms();
    exec_sql(db, "BEGIN IMMEDIATE");
    for (int64_t i = 0; i < rows; i++) {
        bind_row(st, i, users, now, now_ms);
        if (sqlite3_step(st) != SQLITE_DONE)
            die_sql(db, "insert");
        sqlite3_reset(st);
    }
    exec_sql(db, "COMMIT");
    sqlite3_finalize(st);
    exec_sql(db, "ANALYZE");
    printf("bench_dlq: inserted %lld dlq rows in %.2f s\n", (long long)rows,
           (double)(clock_mono_ms() - t0) / 1000.0);
    store_close(s);
}

/* The plan SQLite picks for the processor's due query. */
static void print_plan(sqlite3 *db)
{
    sqlite3_stmt *st;
    if (sqlite3_prepare_v2(db,
                           "EXPLAIN QUERY PLAN SELECT id FROM dlq INDEXED BY dlq_due_idx "
                           "WHERE status = 'pending' AND next_attempt_at <= ?1 "
                           "ORDER BY next_attempt_at, id LIMIT ?2",
                           -1, &st, NULL) != SQLITE_OK)
        die_sql(db, "explain");
    while (sqlite3_step(st) == SQLITE_ROW)
        printf("bench_dlq: query plan: %s\n", (const char *)sqlite3_column_text(st, 3));
    sqlite3_finalize(st);
}

static double elapsed_ms(struct timespec *t0)
{
    struct timespec t1;
    clock_gettime(CLOCK_MONOTONIC, &t1);
    return (double)(t1.tv_sec - t0->tv_sec) * 1e3 + (double)(t1.tv_nsec - t0->tv_nsec) / 1e6;
}

/* Times the due query and the counts query REPS times each. */
static void time_queries(struct store *s, size_t *found)
{
    double due[REPS], counts[REPS];
    char now[TS_LEN];
    ts_format(clock_wall_ms(), now);
    for (int r = 0; r < REPS; r++) {
        struct timespec t0;
        clock_gettime(CLOCK_MONOTONIC, &t0);
        struct dlq_row *rows;
        size_t n;
        if (store_dlq_due(s, now, DUE, &rows, &n) < 0)
            exit(1);
        due[r] = elapsed_ms(&t0);
        dlq_rows_free(rows, n);
        *found = n;
        int64_t pending, review;
        clock_gettime(CLOCK_MONOTONIC, &t0);
        if (store_dlq_counts(s, &pending, &review) < 0)
            exit(1);
        counts[r] = elapsed_ms(&t0);
    }
    qsort(due, REPS, sizeof(due[0]), bench_cmp_double);
    qsort(counts, REPS, sizeof(counts[0]), bench_cmp_double);
    printf("bench_dlq: store_dlq_due(limit %d): %zu rows, %.3f ms median, %.3f ms max "
           "(%d runs)\n",
           DUE, *found, due[REPS / 2], due[REPS - 1], REPS);
    printf("bench_dlq: store_dlq_counts (every tick): %.3f ms median, %.3f ms max\n",
           counts[REPS / 2], counts[REPS - 1]);
}

static bool all_resolved(void *arg)
{
    struct tu_engine *te = arg;
    const struct dlqproc_stats *st = dlqproc_stats(te->e->dlq);
    return st->resolved + st->superseded >= DUE;
}

static int64_t count_rows(sqlite3 *db, const char *status)
{
    sqlite3_stmt *st;
    if (sqlite3_prepare_v2(db, "SELECT count(*) FROM dlq WHERE ?1 IS NULL OR status = ?1", -1, &st,
                           NULL) != SQLITE_OK)
        die_sql(db, "count");
    sqlite3_bind_text(st, 1, status, -1, SQLITE_STATIC);
    int64_t n = sqlite3_step(st) == SQLITE_ROW ? sqlite3_column_int64(st, 0) : -1;
    sqlite3_finalize(st);
    return n;
}

/* One whole processor tick with the fake: the query, then 100 jobs. */
static void time_tick(struct tu_env *env)
{
    struct tu_engine te;
    tu_engine_start(env, &te);
    sqlite3 *db = store_db(te.store);
    char now[TS_LEN];
    ts_format(clock_wall_ms() - 1000, now);
    sqlite3_stmt *st;
    if (sqlite3_prepare_v2(db, "UPDATE dlq SET next_attempt_at = ?1 WHERE id <= ?2", -1, &st,
                           NULL) != SQLITE_OK)
        die_sql(db, "update");
    sqlite3_bind_text(st, 1, now, -1, SQLITE_TRANSIENT);
    sqlite3_bind_int(st, 2, DUE);
    if (sqlite3_step(st) != SQLITE_DONE)
        die_sql(db, "update");
    sqlite3_finalize(st);
    print_plan(db);
    printf("bench_dlq: %lld rows in dlq: %lld resolved, %lld pending (%d of them due)\n",
           (long long)count_rows(db, NULL), (long long)count_rows(db, "resolved"),
           (long long)count_rows(db, "pending"), DUE);
    size_t found = 0;
    time_queries(te.store, &found);
    if (found != DUE) {
        fprintf(stderr, "bench_dlq: expected %d due rows, found %zu\n", DUE, found);
        exit(1);
    }
    struct timespec t0;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    dlqproc_tick(te.e->dlq);
    double tick = elapsed_ms(&t0);
    bool done = tu_run_until(&te, all_resolved, &te, 30000);
    double drain = elapsed_ms(&t0);
    int64_t resolved = dlqproc_stats(te.e->dlq)->resolved;
    tu_engine_stop(&te);
    printf("bench_dlq: dlqproc_tick: %.3f ms to pick %d due rows and start their jobs; "
           "%.1f ms until all were re-fetched and delivered (%lld delivered)%s\n",
           tick, DUE, drain, (long long)resolved, done ? "" : " [TIMED OUT]");
    if (!done)
        exit(1);
}

static int64_t total_rows = 1000000;

/* testutil asserts with Check, so the benchmark runs as one (unforked) test. */
START_TEST(bench_dlq)
{
    struct tu_env env;
    tu_env_init(&env, NULL);
    tu_tenant(&env, "acme", DUE, 5, 0);
    tu_fake_start(&env);
    struct fake_record *users;
    size_t n;
    if (fake_records(env.fake, "acme", "users", &users, &n) < 0 || n < DUE)
        ck_abort_msg("no users in the fake");
    /* The tenant scans groups only: the users are the DLQ's to deliver. */
    char *ini = tu_tenant_ini("acme", "resources = groups");
    tu_config(&env, "poll.interval = 1h\ndlq.interval = 1h\nvomo.max_concurrency = 8\n", ini);
    free(ini);
    fill(&env, total_rows, users);
    fake_records_free(users, n);
    time_tick(&env);
    tu_env_cleanup(&env);
}
END_TEST

int main(int argc, char **argv)
{
    if (argc > 1 && parse_i64(argv[1], &total_rows) < 0) {
        fprintf(stderr, "usage: bench_dlq [ROWS]\n");
        return 2;
    }
    if (total_rows < DUE)
        total_rows = DUE;
    Suite *s = suite_create("bench_dlq");
    TCase *tc = tcase_create("tick");
    tcase_set_timeout(tc, 900);
    tcase_add_test(tc, bench_dlq);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_set_fork_status(sr, CK_NOFORK);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? 1 : 0;
}
