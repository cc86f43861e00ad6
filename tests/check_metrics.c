/*
 * check_metrics.c - the metrics registry and its Prometheus text writer:
 * exact exposition of counters, gauges and histograms (HELP, TYPE,
 * cumulative buckets, +Inf, _sum, _count), label value escaping,
 * pre-initialised series, bounded families, collectors run per scrape, and
 * names Prometheus would refuse.
 */
#include <check.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "metrics.h"

static char *scrape(struct metrics *m)
{
    struct buf b;
    buf_init(&b, 0);
    ck_assert_int_eq(metrics_write(m, &b), 0);
    return buf_steal(&b);
}

START_TEST(counter_exposition)
{
    struct metrics *m = metrics_new();
    struct metric_family *f =
        metrics_register(m, METRIC_COUNTER, "vomo_sync_x_total", "Things that happened.",
                         METRIC_L("tenant", "code", NULL), NULL, 0);
    ck_assert_ptr_nonnull(f);
    metrics_touch(f, METRIC_L("acme", "200"));
    metrics_add(f, METRIC_L("beta", "503"), 2);
    metrics_add(f, METRIC_L("acme", "200"), 1);
    metrics_add(f, METRIC_L("acme", "200"), 1);
    metrics_add(f, METRIC_L("acme", "200"), -5); /* counters never go down */
    char *text = scrape(m);
    ck_assert_str_eq(text, "# HELP vomo_sync_x_total Things that happened.\n"
                           "# TYPE vomo_sync_x_total counter\n"
                           "vomo_sync_x_total{tenant=\"acme\",code=\"200\"} 2\n"
                           "vomo_sync_x_total{tenant=\"beta\",code=\"503\"} 2\n");
    ck_assert(metrics_value(f, METRIC_L("acme", "200")) == 2);
    ck_assert(metrics_value(f, METRIC_L("nobody", "200")) == -1);
    free(text);
    metrics_free(m);
}
END_TEST

START_TEST(gauge_without_labels_and_values)
{
    struct metrics *m = metrics_new();
    struct metric_family *g =
        metrics_register(m, METRIC_GAUGE, "vomo_sync_g", "A gauge.", NULL, NULL, 0);
    struct metric_family *unused =
        metrics_register(m, METRIC_GAUGE, "vomo_sync_unused", "No series.", NULL, NULL, 0);
    ck_assert_ptr_nonnull(unused);
    metrics_set(g, NULL, 0.25);
    char *text = scrape(m);
    ck_assert_str_eq(text, "# HELP vomo_sync_g A gauge.\n# TYPE vomo_sync_g gauge\n"
                           "vomo_sync_g 0.25\n");
    free(text);
    metrics_set(g, NULL, 1e300);
    text = scrape(m);
    ck_assert_ptr_nonnull(strstr(text, "vomo_sync_g 1e+300\n"));
    free(text);
    metrics_set(g, NULL, 0.1);
    text = scrape(m);
    ck_assert_ptr_nonnull(strstr(text, "vomo_sync_g 0.1\n"));
    free(text);
    metrics_set(g, NULL, -INFINITY);
    text = scrape(m);
    ck_assert_ptr_nonnull(strstr(text, "vomo_sync_g -Inf\n"));
    free(text);
    metrics_free(m);
}
END_TEST

START_TEST(histogram_exposition)
{
    struct metrics *m = metrics_new();
    static const double b[] = {0.1, 1, 10};
    struct metric_family *h = metrics_register(m, METRIC_HISTOGRAM, "vomo_sync_d_seconds",
                                               "Durations.", METRIC_L("tenant", NULL), b, 3);
    ck_assert_ptr_nonnull(h);
    metrics_observe(h, METRIC_L("acme"), 0.05);
    metrics_observe(h, METRIC_L("acme"), 0.1); /* le is inclusive */
    metrics_observe(h, METRIC_L("acme"), 5);
    metrics_observe(h, METRIC_L("acme"), 100);
    metrics_observe(h, METRIC_L("acme"), NAN); /* ignored */
    char *text = scrape(m);
    ck_assert_str_eq(text, "# HELP vomo_sync_d_seconds Durations.\n"
                           "# TYPE vomo_sync_d_seconds histogram\n"
                           "vomo_sync_d_seconds_bucket{tenant=\"acme\",le=\"0.1\"} 2\n"
                           "vomo_sync_d_seconds_bucket{tenant=\"acme\",le=\"1\"} 2\n"
                           "vomo_sync_d_seconds_bucket{tenant=\"acme\",le=\"10\"} 3\n"
                           "vomo_sync_d_seconds_bucket{tenant=\"acme\",le=\"+Inf\"} 4\n"
                           "vomo_sync_d_seconds_sum{tenant=\"acme\"} 105.15\n"
                           "vomo_sync_d_seconds_count{tenant=\"acme\"} 4\n");
    ck_assert(metrics_value(h, METRIC_L("acme")) == 4);
    free(text);
    metrics_free(m);
}
END_TEST

START_TEST(label_values_escaped)
{
    struct metrics *m = metrics_new();
    struct metric_family *f = metrics_register(
        m, METRIC_GAUGE, "vomo_sync_e", "Help with \\ and\nnewline.", METRIC_L("v", NULL), NULL, 0);
    metrics_set(f, METRIC_L("a\\b\"c\nd"), 1);
    char *text = scrape(m);
    ck_assert_str_eq(text, "# HELP vomo_sync_e Help with \\\\ and\\nnewline.\n"
                           "# TYPE vomo_sync_e gauge\n"
                           "vomo_sync_e{v=\"a\\\\b\\\"c\\nd\"} 1\n");
    free(text);
    char small[6];
    ck_assert_uint_eq(metrics_escape_label("\"\"\"\"", small, sizeof(small)), 4);
    ck_assert_str_eq(small, "\\\"\\\"");
    metrics_free(m);
}
END_TEST

START_TEST(bad_names_refused)
{
    struct metrics *m = metrics_new();
    static const double b[] = {1, 2};
    static const double unsorted[] = {2, 1};
    ck_assert_ptr_null(metrics_register(m, METRIC_GAUGE, "9lives", "", NULL, NULL, 0));
    ck_assert_ptr_null(metrics_register(m, METRIC_GAUGE, "has-dash", "", NULL, NULL, 0));
    ck_assert_ptr_null(
        metrics_register(m, METRIC_GAUGE, "ok", "", METRIC_L("__reserved", NULL), NULL, 0));
    ck_assert_ptr_null(metrics_register(m, METRIC_GAUGE, "ok", "", METRIC_L("a:b", NULL), NULL, 0));
    ck_assert_ptr_null(metrics_register(m, METRIC_HISTOGRAM, "h", "", METRIC_L("le", NULL), b, 2));
    ck_assert_ptr_null(metrics_register(m, METRIC_HISTOGRAM, "h", "", NULL, unsorted, 2));
    ck_assert_ptr_null(metrics_register(m, METRIC_HISTOGRAM, "h", "", NULL, NULL, 0));
    ck_assert_ptr_null(metrics_register(m, METRIC_COUNTER, "c", "", NULL, b, 2));
    ck_assert_ptr_null(metrics_register(m, METRIC_GAUGE, "five", "",
                                        METRIC_L("a", "b", "c", "d", "e", NULL), NULL, 0));
    ck_assert_ptr_nonnull(metrics_register(m, METRIC_GAUGE, "ok:x", "", NULL, NULL, 0));
    ck_assert_ptr_null(metrics_register(m, METRIC_GAUGE, "ok:x", "", NULL, NULL, 0));
    /* NULL families accept everything and do nothing. */
    metrics_add(NULL, NULL, 1);
    metrics_observe(NULL, NULL, 1);
    ck_assert(metrics_value(NULL, NULL) == -1);
    metrics_free(m);
}
END_TEST

START_TEST(families_are_bounded)
{
    struct metrics *m = metrics_new();
    struct metric_family *f =
        metrics_register(m, METRIC_COUNTER, "c_total", "", METRIC_L("id", NULL), NULL, 0);
    char id[32];
    for (int i = 0; i < METRICS_MAX_SERIES + 10; i++) {
        snprintf(id, sizeof(id), "%d", i);
        metrics_add(f, METRIC_L(id), 1);
    }
    ck_assert_uint_eq(metrics_dropped(f), 10);
    ck_assert(metrics_value(f, METRIC_L("0")) == 1);
    snprintf(id, sizeof(id), "%d", METRICS_MAX_SERIES - 1);
    ck_assert(metrics_value(f, METRIC_L(id)) == 1);
    metrics_add(f, METRIC_L(id), 1); /* existing series still count */
    ck_assert(metrics_value(f, METRIC_L(id)) == 2);
    metrics_free(m);
}
END_TEST

static void collect(struct metrics *m, void *arg)
{
    int *calls = arg;
    (*calls)++;
    struct metric_family *g = metrics_find(m, "q");
    metrics_clear(g);
    if (*calls == 1)
        metrics_set(g, METRIC_L("old"), 1);
    else
        metrics_set(g, METRIC_L("new"), 2);
}

START_TEST(collectors_run_per_scrape)
{
    struct metrics *m = metrics_new();
    int calls = 0;
    metrics_register(m, METRIC_GAUGE, "q", "Queue.", METRIC_L("s", NULL), NULL, 0);
    metrics_on_collect(m, collect, &calls);
    char *a = scrape(m);
    char *b = scrape(m);
    ck_assert_int_eq(calls, 2);
    ck_assert_ptr_nonnull(strstr(a, "q{s=\"old\"} 1\n"));
    ck_assert_ptr_null(strstr(b, "old"));
    ck_assert_ptr_nonnull(strstr(b, "q{s=\"new\"} 2\n"));
    free(a);
    free(b);
    metrics_free(m);
}
END_TEST

START_TEST(output_cap_is_an_error)
{
    struct metrics *m = metrics_new();
    struct metric_family *f = metrics_register(m, METRIC_GAUGE, "g", "", NULL, NULL, 0);
    metrics_set(f, NULL, 1);
    struct buf b;
    buf_init(&b, 10);
    ck_assert_int_eq(metrics_write(m, &b), -E2BIG);
    buf_free(&b);
    metrics_free(m);
}
END_TEST

START_TEST(many_series_stay_findable)
{
    /* The table grows: every series is found again after thousands more. */
    struct metrics *m = metrics_new();
    struct metric_family *f = metrics_register(m, METRIC_COUNTER, "c_total", "",
                                               METRIC_L("tenant", "resource", NULL), NULL, 0);
    char t[32];
    for (int i = 0; i < 3000; i++) {
        snprintf(t, sizeof(t), "t%d", i);
        metrics_add(f, METRIC_L(t, "users"), (double)i);
    }
    for (int i = 0; i < 3000; i += 7) {
        snprintf(t, sizeof(t), "t%d", i);
        ck_assert(metrics_value(f, METRIC_L(t, "users")) == (double)i);
    }
    metrics_free(m);
}
END_TEST

static Suite *metrics_suite(void)
{
    Suite *s = suite_create("metrics");
    TCase *tc = tcase_create("core");
    tcase_add_test(tc, counter_exposition);
    tcase_add_test(tc, gauge_without_labels_and_values);
    tcase_add_test(tc, histogram_exposition);
    tcase_add_test(tc, label_values_escaped);
    tcase_add_test(tc, bad_names_refused);
    tcase_add_test(tc, families_are_bounded);
    tcase_add_test(tc, collectors_run_per_scrape);
    tcase_add_test(tc, output_cap_is_an_error);
    tcase_add_test(tc, many_series_stay_findable);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(metrics_suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
