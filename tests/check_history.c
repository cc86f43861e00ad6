/*
 * check_history.c - the alert history: the in-memory accumulator (buckets,
 * counters and samples, the bound on keys, last complete scans) and its
 * SQL (store_history.c, store_alerts.c): one transaction per write,
 * counters adding up and rolled up per hour, samples replacing, range
 * reads, pruning by age, and the alerts, status and resume rows.
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "history.h"
#include "store.h"
#include "store_alerts.h"
#include "store_history.h"

#define MIN (60 * 1000LL)
#define HOUR (60 * MIN)
#define T0 (1796000400000LL) /* a whole hour */

static struct store *st;
static char dir[] = "/tmp/check_history.XXXXXX";
static char path[128];

static void setup(void)
{
    strcpy(dir, "/tmp/check_history.XXXXXX");
    ck_assert_ptr_nonnull(mkdtemp(dir));
    snprintf(path, sizeof(path), "%s/state.db", dir);
    ck_assert_int_eq(store_open(path, &st), 0);
    ck_assert_int_eq(store_migrate(st, NULL, NULL), 0);
}

static void teardown(void)
{
    store_close(st);
    char cmd[200];
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
    ck_assert_int_eq(system(cmd), 0);
}

START_TEST(accumulator_buckets)
{
    struct history *h = history_new(MIN);
    history_add(h, T0 + 1000, HS_OPS, "acme", "users", 1);
    history_add(h, T0 + 59999, HS_OPS, "acme", "users", 2);
    history_add(h, T0 + MIN, HS_OPS, "acme", "users", 4); /* next bucket */
    history_add(h, T0, HS_OPS, "beta", "users", 8);
    history_sample(h, T0, HS_DLQ_ROWS, "acme", "", 5);
    history_sample(h, T0 + 10, HS_DLQ_ROWS, "acme", "", 7);
    size_t n;
    const struct history_entry *v = history_entries(h, &n);
    ck_assert_uint_eq(n, 4);
    ck_assert_int_eq(v[0].value, 3);
    ck_assert_int_eq(v[0].at_ms, T0);
    ck_assert_int_eq(v[1].value, 4);
    ck_assert_int_eq(v[1].at_ms, T0 + MIN);
    ck_assert_int_eq(v[3].value, 7);
    ck_assert(v[3].sample);
    history_clear(h);
    (void)history_entries(h, &n);
    ck_assert_uint_eq(n, 0);
    history_add(h, T0, HS_OPS, "acme", "users", 1);
    v = history_entries(h, &n);
    ck_assert_uint_eq(n, 1);
    ck_assert_int_eq(v[0].value, 1);
    history_scan_complete(h, "acme", "users", T0 + 5);
    history_scan_complete(h, "acme", "users", T0 + 1); /* older: kept the later */
    ck_assert_int_eq(history_last_complete(h, "acme", "users"), T0 + 5);
    ck_assert_int_eq(history_last_complete(h, "acme", "groups"), 0);
    history_free(h);
}
END_TEST

START_TEST(accumulator_is_bounded)
{
    struct history *h = history_new(1);
    for (int64_t i = 0; i < HISTORY_MAX_ENTRIES + 10; i++)
        history_add(h, i, HS_OPS, "acme", "", 1);
    size_t n;
    (void)history_entries(h, &n);
    ck_assert_uint_eq(n, HISTORY_MAX_ENTRIES);
    ck_assert_uint_eq(history_dropped(h), 10);
    history_free(h);
}
END_TEST

struct sums {
    int64_t acme, beta, rows;
};

static void on_sum(void *arg, const char *tenant, const char *resource, int64_t sum)
{
    struct sums *s = arg;
    (void)resource;
    s->rows++;
    if (strcmp(tenant, "acme") == 0)
        s->acme += sum;
    else if (strcmp(tenant, "beta") == 0)
        s->beta += sum;
}

static void on_sample(void *arg, const char *tenant, int64_t at_ms, int64_t value)
{
    struct sums *s = arg;
    if (strcmp(tenant, "acme") == 0 && at_ms == T0 + 5 * MIN)
        s->beta = value; /* the sample of minute 5 */
    on_sum(arg, tenant, "", value);
}

static void write_all(struct history *h)
{
    size_t n;
    const struct history_entry *v = history_entries(h, &n);
    ck_assert_int_eq(store_history_write(st, v, n, 60 * history_resolution(h)), 0);
    history_clear(h);
}

START_TEST(store_writes_reads_prunes)
{
    struct history *h = history_new(MIN);
    /* Two hours of one operation a minute for acme, and errors. */
    for (int64_t m = 0; m < 120; m++) {
        history_add(h, T0 + m * MIN, HS_OPS, "acme", "users", 1);
        history_sample(h, T0 + m * MIN, HS_DLQ_ROWS, "acme", "", m);
        if (m % 10 == 0)
            history_add(h, T0 + m * MIN, "error_auth", "acme", "users", 1);
    }
    history_add(h, T0, HS_OPS, "beta", "groups", 5);
    write_all(h);
    /* Written again (the next flush of the same minute): adds up. */
    history_add(h, T0, HS_OPS, "beta", "groups", 5);
    history_sample(h, T0, HS_DLQ_ROWS, "acme", "", 99);
    write_all(h);
    struct sums s = {0};
    ck_assert_int_eq(store_history_sums(st, HIST_MINUTES, HS_OPS, T0, T0 + 30 * MIN, on_sum, &s),
                     0);
    ck_assert_int_eq(s.acme, 30);
    ck_assert_int_eq(s.beta, 10);
    s = (struct sums){0};
    ck_assert_int_eq(store_history_sums(st, HIST_HOURLY, HS_OPS, T0, T0 + 2 * HOUR, on_sum, &s), 0);
    ck_assert_int_eq(s.acme, 120);
    ck_assert_int_eq(s.rows, 2); /* acme/users (two hours), beta/groups */
    s = (struct sums){0};
    ck_assert_int_eq(store_history_samples(st, HS_DLQ_ROWS, T0, T0, on_sample, &s), 0);
    ck_assert_int_eq(s.acme, 99);
    s = (struct sums){0};
    ck_assert_int_eq(store_history_samples(st, HS_DLQ_ROWS, T0 + MIN, T0 + 5 * MIN, on_sample, &s),
                     0);
    ck_assert_int_eq(s.rows, 5); /* minutes 1..5, in order */
    ck_assert_int_eq(s.beta, 5);
    int64_t total = 0;
    ck_assert_int_eq(store_history_total(st, "error_auth", T0, T0 + HOUR, &total), 0);
    ck_assert_int_eq(total, 6);
    ck_assert_int_eq(store_history_total(st, "error_conflict", T0, T0 + HOUR, &total), 0);
    ck_assert_int_eq(total, 0);
    bool any;
    ck_assert_int_eq(store_history_any(st, HS_OPS, T0 - HOUR, T0, &any), 0);
    ck_assert(!any);
    ck_assert_int_eq(store_history_any(st, HS_OPS, T0, T0 + 1, &any), 0);
    ck_assert(any);
    int64_t deleted;
    ck_assert_int_eq(store_history_prune(st, T0 + HOUR, T0 + HOUR, &deleted), 0);
    /* minutes: ops, samples, errors, beta; hourly: ops, errors, beta */
    ck_assert_int_eq(deleted, 60 + 60 + 6 + 1 + 3);
    s = (struct sums){0};
    ck_assert_int_eq(store_history_sums(st, HIST_MINUTES, HS_OPS, T0, T0 + 3 * HOUR, on_sum, &s),
                     0);
    ck_assert_int_eq(s.acme, 60);
    history_free(h);
}
END_TEST

struct alerts_seen {
    int n;
    int64_t id;
    char state[16], severity[16], summary[64];
    int64_t resolved_at;
};

static void on_alert(void *arg, const struct store_alert *a)
{
    struct alerts_seen *s = arg;
    s->n++;
    s->id = a->id;
    snprintf(s->state, sizeof(s->state), "%s", a->state);
    snprintf(s->severity, sizeof(s->severity), "%s", a->severity);
    snprintf(s->summary, sizeof(s->summary), "%s", a->summary);
    s->resolved_at = a->resolved_at;
}

START_TEST(alerts_rows_per_episode)
{
    int64_t id;
    ck_assert_int_eq(
        store_alert_fire(st, "TenantFailing", "acme", "", "warning", T0, "bad things", &id), 0);
    ck_assert_int_gt(id, 0);
    struct alerts_seen s = {0};
    ck_assert_int_eq(store_alert_each(st, false, 0, 100, on_alert, &s), 0);
    ck_assert_int_eq(s.n, 1);
    ck_assert_str_eq(s.state, "firing");
    ck_assert_int_eq(store_alert_resolve(st, id, T0 + MIN), 0);
    s = (struct alerts_seen){0};
    ck_assert_int_eq(store_alert_each(st, false, 0, 100, on_alert, &s), 0);
    ck_assert_int_eq(s.n, 0);
    ck_assert_int_eq(store_alert_each(st, true, T0 - HOUR, 100, on_alert, &s), 0);
    ck_assert_int_eq(s.n, 1);
    ck_assert_str_eq(s.state, "resolved");
    ck_assert_str_eq(s.severity, "warning");
    ck_assert_int_eq(s.resolved_at, T0 + MIN);
    /* The view shows firing episodes only. */
    sqlite3_stmt *q;
    ck_assert_int_eq(
        sqlite3_prepare_v2(store_db(st), "SELECT count(*) FROM alerts_firing", -1, &q, NULL), 0);
    ck_assert_int_eq(sqlite3_step(q), SQLITE_ROW);
    ck_assert_int_eq(sqlite3_column_int(q, 0), 0);
    sqlite3_finalize(q);
    /* Resume requests and status rows. */
    int64_t at;
    ck_assert_int_eq(store_slo_resume_at(st, "acme", &at), 0);
    ck_assert_int_eq(at, 0);
    ck_assert_int_eq(store_slo_resume_request(st, "acme", "root", T0 + 5), 0);
    ck_assert_int_eq(store_slo_resume_at(st, "acme", &at), 0);
    ck_assert_int_eq(at, T0 + 5);
    struct store_slo_status v = {
        .tenant = "acme", .target = 0.995, .freshness = -1, .action = "none"};
    ck_assert_int_eq(store_slo_status_put(st, &v, 1, T0), 0);
    ck_assert_int_eq(store_slo_status_put(st, &v, 1, T0 + 1), 0);
    ck_assert_int_eq(store_alert_note(st, "ErrorClassSpike", "no history yet", T0), 0);
    ck_assert_int_eq(store_alert_note(st, "ErrorClassSpike", NULL, T0), 0);
}
END_TEST

static Suite *history_suite(void)
{
    Suite *s = suite_create("history");
    TCase *tc = tcase_create("core");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, accumulator_buckets);
    tcase_add_test(tc, accumulator_is_bounded);
    tcase_add_test(tc, store_writes_reads_prunes);
    tcase_add_test(tc, alerts_rows_per_episode);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(history_suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed == 0 ? 0 : 1;
}
