/*
 * check_backoff.c - the in-cycle retry backoff: the ceiling doubles from
 * base to max and never overflows, every delay stays within [0, ceiling],
 * and full jitter really spreads a crowd of workers that failed together.
 */
#include <check.h>
#include <stdint.h>
#include <stdlib.h>

#include "backoff.h"

static const struct backoff_policy defaults = {.base_ms = 1000, .max_ms = 60000, .max_attempts = 5};

/* splitmix64: a different, reproducible random value per worker. */
static uint64_t mix(uint64_t x)
{
    x += 0x9e3779b97f4a7c15ULL;
    x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
    x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
    return x ^ (x >> 31);
}

START_TEST(ceiling_doubles_then_caps)
{
    static const int64_t want[] = {1000, 2000, 4000, 8000, 16000, 32000, 60000, 60000, 60000};
    for (int retry = 1; retry <= 9; retry++)
        ck_assert_int_eq(backoff_ceiling(&defaults, retry), want[retry - 1]);
    ck_assert_int_eq(backoff_ceiling(&defaults, 0), 1000);
    ck_assert_int_eq(backoff_ceiling(&defaults, -3), 1000);
}
END_TEST

START_TEST(no_overflow_for_large_retries)
{
    struct backoff_policy huge = {.base_ms = 1000, .max_ms = INT64_MAX, .max_attempts = 200};
    ck_assert_int_eq(backoff_ceiling(&defaults, 100), 60000);
    ck_assert_int_eq(backoff_ceiling(&defaults, 1 << 30), 60000);
    ck_assert_int_eq(backoff_ceiling(&huge, 100), INT64_MAX);
    ck_assert_int_eq(backoff_ceiling(&huge, 11), 1024000);
    int64_t d = backoff_delay(&huge, 100, UINT64_MAX);
    ck_assert(d >= 0);
    ck_assert_int_le(backoff_delay(&defaults, 100, UINT64_MAX), 60000);
}
END_TEST

START_TEST(delay_within_bounds_for_each_retry)
{
    for (int retry = 1; retry <= 12; retry++) {
        int64_t c = backoff_ceiling(&defaults, retry);
        int64_t lo = INT64_MAX, hi = -1;
        for (uint64_t w = 0; w < 2000; w++) {
            int64_t d = backoff_delay(&defaults, retry, mix(w * 131 + (uint64_t)retry));
            ck_assert_int_ge(d, 0);
            ck_assert_int_le(d, c);
            lo = d < lo ? d : lo;
            hi = d > hi ? d : hi;
        }
        /* The draws reach both ends of the range. */
        ck_assert_int_lt(lo, c / 20 + 1);
        ck_assert_int_gt(hi, c - c / 20 - 1);
    }
    /* Both ends are reachable exactly. */
    ck_assert_int_eq(backoff_delay(&defaults, 1, 0), 0);
    ck_assert_int_eq(backoff_delay(&defaults, 1, 1000), 1000);
    ck_assert_int_eq(backoff_delay(&defaults, 1, 1001), 0);
}
END_TEST

static int cmp_i64(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return (x > y) - (x < y);
}

/* 1000 workers that failed at the same instant must not come back at the
 * same instant: nearly all delays differ and their mean sits near half the
 * ceiling. */
START_TEST(jitter_spreads_workers)
{
    enum { WORKERS = 1000 };
    int64_t d[WORKERS];
    double sum = 0;
    int64_t c = backoff_ceiling(&defaults, 7);

    for (int w = 0; w < WORKERS; w++) {
        d[w] = backoff_delay(&defaults, 7, mix((uint64_t)w));
        sum += (double)d[w];
    }
    qsort(d, WORKERS, sizeof(d[0]), cmp_i64);
    int distinct = 1;
    for (int w = 1; w < WORKERS; w++)
        distinct += d[w] != d[w - 1];
    ck_assert_int_ge(distinct, 900);
    double mean = sum / WORKERS;
    ck_assert_msg(mean > c * 0.45 && mean < c * 0.55, "mean %f, ceiling %lld", mean, (long long)c);
    /* No second of the window gets more than 5% of the workers. */
    int per_second[61] = {0};
    for (int w = 0; w < WORKERS; w++)
        per_second[d[w] / 1000]++;
    for (int s = 0; s <= 60; s++)
        ck_assert_int_le(per_second[s], 50);
}
END_TEST

START_TEST(exhausted_counts_total_tries)
{
    ck_assert(!backoff_exhausted(&defaults, 0));
    ck_assert(!backoff_exhausted(&defaults, 1));
    ck_assert(!backoff_exhausted(&defaults, 4));
    ck_assert(backoff_exhausted(&defaults, 5));
    ck_assert(backoff_exhausted(&defaults, 6));
    struct backoff_policy once = {.base_ms = 1000, .max_ms = 1000, .max_attempts = 1};
    ck_assert(backoff_exhausted(&once, 1));
}
END_TEST

START_TEST(degenerate_policies)
{
    struct backoff_policy zero = {.base_ms = 0, .max_ms = 60000, .max_attempts = 3};
    struct backoff_policy small_max = {.base_ms = 5000, .max_ms = 2000, .max_attempts = 3};
    ck_assert_int_eq(backoff_ceiling(&zero, 5), 0);
    ck_assert_int_eq(backoff_delay(&zero, 5, 12345), 0);
    ck_assert_int_eq(backoff_ceiling(&small_max, 1), 2000);
    ck_assert_int_eq(backoff_ceiling(&small_max, 4), 2000);
}
END_TEST

static Suite *backoff_suite(void)
{
    Suite *s = suite_create("backoff");
    TCase *tc = tcase_create("core");

    tcase_add_test(tc, ceiling_doubles_then_caps);
    tcase_add_test(tc, no_overflow_for_large_retries);
    tcase_add_test(tc, delay_within_bounds_for_each_retry);
    tcase_add_test(tc, jitter_spreads_workers);
    tcase_add_test(tc, exhausted_counts_total_tries);
    tcase_add_test(tc, degenerate_policies);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(backoff_suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed == 0 ? 0 : 1;
}
