/*
 * bench_alerts.c - `make bench`: the cost of one alert evaluation with 100
 * tenants.  A state database gets the history a long-running daemon would
 * hold: 8 days of per-minute counts for every tenant (operations,
 * freshness, DLQ samples, and some errors: about 5 million rows) and 30
 * days of hourly rollups; then an engine with the 100 tenants (against the
 * in-process fake, one scan each) runs alerts_evaluate() repeatedly.
 * Prints the milliseconds per evaluation (median, p90, worst) and the
 * rows; asserts only that every tenant got its error budget.
 *
 * Usage: bench_alerts [DAYS]   (default 8)
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "alerts.h"
#include "benchutil.h"
#include "testutil.h"
#include "util.h"

#define TENANTS 100
#define EVALS 30

/* `days` of minutes ending now for every tenant, 30 days of hours. */
static int64_t fill_history(struct tu_env *env, int days)
{
    struct store *s;
    if (store_open(env->db_path, &s) < 0 || store_migrate(s, NULL, NULL) < 0) {
        fprintf(stderr, "bench_alerts: cannot create %s\n", env->db_path);
        exit(1);
    }
    store_close(s);
    sqlite3 *db;
    sqlite3_open(env->db_path, &db);
    double t0 = bench_now_ms();
    int64_t end = clock_wall_ms() / 60000 * 60;
    int64_t minutes = (int64_t)days * 1440, hours = 30 * 24;
    char sql[2048];
    bench_exec(db, "bench_alerts", "BEGIN IMMEDIATE");
    snprintf(sql, sizeof(sql),
             "WITH RECURSIVE m(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM m WHERE i < %lld), "
             "t(j) AS (SELECT 0 UNION ALL SELECT j + 1 FROM t WHERE j < %d), "
             "s(name, every) AS (VALUES ('ops', 1), ('minutes', 1), ('fresh', 1), "
             "('dlq_rows', 1), ('ops_error', 17), ('error_transient', 29)) "
             "INSERT INTO history (series, at, tenant, resource, value) "
             "SELECT s.name, strftime('%%Y-%%m-%%dT%%H:%%M:%%fZ', %lld - i * 60, 'unixepoch'), "
             "printf('t%%03d', j), '', CASE s.name WHEN 'ops' THEN 40 WHEN 'dlq_rows' THEN j "
             "ELSE 1 END FROM s, m, t WHERE (i + j) %% s.every = 0",
             (long long)minutes - 1, TENANTS - 1, (long long)end);
    bench_exec(db, "bench_alerts", sql);
    snprintf(sql, sizeof(sql),
             "WITH RECURSIVE h(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM h WHERE i < %lld), "
             "t(j) AS (SELECT 0 UNION ALL SELECT j + 1 FROM t WHERE j < %d), "
             "s(name, v) AS (VALUES ('ops', 2400), ('ops_error', 4), ('minutes', 60), "
             "('fresh', 60)) "
             "INSERT INTO history_hourly (series, at, tenant, resource, value) "
             "SELECT s.name, strftime('%%Y-%%m-%%dT%%H:00:00.000Z', %lld - i * 3600, "
             "'unixepoch'), printf('t%%03d', j), '', s.v FROM s, h, t",
             (long long)hours - 1, TENANTS - 1, (long long)end);
    bench_exec(db, "bench_alerts", sql);
    bench_exec(db, "bench_alerts", "COMMIT");
    sqlite3_stmt *st;
    sqlite3_prepare_v2(db,
                       "SELECT (SELECT count(*) FROM history), "
                       "(SELECT count(*) FROM history_hourly)",
                       -1, &st, NULL);
    sqlite3_step(st);
    int64_t rows = sqlite3_column_int64(st, 0), hourly = sqlite3_column_int64(st, 1);
    sqlite3_finalize(st);
    sqlite3_close(db);
    printf("bench_alerts: %lld minute rows (%d days) and %lld hourly rows for %d tenants "
           "written in %.1f s\n",
           (long long)rows, days, (long long)hourly, TENANTS, (bench_now_ms() - t0) / 1000.0);
    return rows;
}

static bool first_sync(void *arg)
{
    return tu_scans_at_least(arg, 1);
}

static int days = 8;

START_TEST(bench_evaluation)
{
    struct tu_env env;
    tu_env_init(&env, NULL);
    struct buf ini;
    buf_init(&ini, 0);
    for (int i = 0; i < TENANTS; i++) {
        char name[16];
        snprintf(name, sizeof(name), "t%03d", i);
        tu_tenant(&env, name, 3, 1, 1);
        char *t = tu_tenant_ini(name, NULL);
        (void)!buf_puts(&ini, t);
        free(t);
    }
    tu_fake_start(&env);
    /* The shipped interval: the timer's own evaluations stay out of the way. */
    tu_config(&env, "poll.interval = 1h\nalerts.interval = 30s\n", ini.data);
    buf_free(&ini);
    fill_history(&env, days);
    struct tu_engine te;
    tu_engine_start(&env, &te);
    ck_assert_msg(tu_run_until(&te, first_sync, te.e, 120000),
                  "the tenants did not finish their first scans");
    double t[EVALS];
    for (int i = 0; i < EVALS; i++) {
        double t0 = bench_now_ms();
        alerts_evaluate(te.e->alerts, clock_wall_ms());
        t[i] = bench_now_ms() - t0;
    }
    double first = t[0]; /* every window read, the history pruned */
    qsort(t, EVALS, sizeof(double), bench_cmp_double);
    int64_t budgets = tu_db_int(&env, "SELECT count(*) FROM slo_status", NULL);
    printf("alerts: %d tenants x 3 resources, %d days of history: median %.2f ms, p90 %.2f ms, "
           "worst %.2f ms per evaluation over %d (default interval 30 s; each reads one of "
           "the hourly windows again); the first, which reads all of them and prunes: %.2f "
           "ms; %lld budgets, %zu alert(s) firing\n",
           TENANTS, days, t[EVALS / 2], t[EVALS * 9 / 10], t[EVALS - 1], EVALS, first,
           (long long)budgets, alerts_firing_count(te.e->alerts));
    fflush(stdout);
    tu_engine_stop(&te);
    tu_env_cleanup(&env);
    ck_assert_int_eq(budgets, TENANTS);
}
END_TEST

int main(int argc, char **argv)
{
    int64_t d = 8;
    if (argc > 1 && (parse_i64(argv[1], &d) < 0 || d < 1 || d > 8)) {
        fprintf(stderr, "usage: bench_alerts [DAYS (1..8)]\n");
        return 2;
    }
    days = (int)d;
    Suite *s = suite_create("bench_alerts");
    TCase *tc = tcase_create("alerts");
    tcase_set_timeout(tc, 900);
    tcase_add_test(tc, bench_evaluation);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_set_fork_status(sr, CK_NOFORK);
    srunner_run_all(sr, CK_SILENT);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? 1 : 0;
}
