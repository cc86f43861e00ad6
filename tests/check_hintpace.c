/*
 * check_hintpace.c - unit suite of the pace of deletion reads: a burst of
 * HINTPACE_BURST, then one read per interval; the wait it names; a quiet
 * time fills the bucket to the burst and no more; and, walking a greedy
 * taker through a simulated minute, no window of t ms ever holds more than
 * hintpace_bound(t) starts.
 */
#include <check.h>
#include <stdlib.h>

#include "hintpace.h"

START_TEST(burst_then_one_per_interval)
{
    struct hintpace p = {0};
    int64_t t = 1000;
    for (int i = 0; i < HINTPACE_BURST; i++)
        ck_assert(hintpace_take(&p, 200, t));
    ck_assert(!hintpace_take(&p, 200, t));
    ck_assert_int_eq(hintpace_wait(&p, 200, t), 200);
    ck_assert_int_eq(hintpace_wait(&p, 200, t + 150), 50);
    ck_assert(!hintpace_take(&p, 200, t + 199));
    ck_assert(hintpace_take(&p, 200, t + 200));
    ck_assert(!hintpace_take(&p, 200, t + 200));
    ck_assert_int_eq(hintpace_wait(&p, 200, t + 200), 200);
    /* two intervals later, two reads */
    ck_assert(hintpace_take(&p, 200, t + 600));
    ck_assert(hintpace_take(&p, 200, t + 600));
    ck_assert(!hintpace_take(&p, 200, t + 600));
}
END_TEST

START_TEST(quiet_time_fills_to_the_burst_only)
{
    struct hintpace p = {0};
    ck_assert_int_eq(hintpace_wait(&p, 100, 0), 0);
    ck_assert(hintpace_take(&p, 100, 0));
    int64_t later = 3600 * 1000;
    int n = 0;
    while (hintpace_take(&p, 100, later))
        n++;
    ck_assert_int_eq(n, HINTPACE_BURST);
    ck_assert_int_eq(hintpace_wait(&p, 100, later), 100);
}
END_TEST

/* A taker that takes whenever it may, ticking 1 ms at a time for a
 * minute, with a few quiet stretches: every window of starts obeys the
 * bound. */
START_TEST(no_window_exceeds_the_bound)
{
    const int64_t interval = 37;
    struct hintpace p = {0};
    int64_t *starts = calloc(100000, sizeof(*starts));
    size_t n = 0;
    for (int64_t t = 0; t < 60000; t++) {
        if ((t / 5000) % 3 == 2)
            continue; /* quiet */
        while (hintpace_take(&p, interval, t))
            starts[n++] = t;
    }
    ck_assert_uint_gt(n, 60000 / 3 / interval);
    for (size_t i = 0; i < n; i++)
        for (size_t j = i; j < n && starts[j] - starts[i] <= 2000; j++)
            ck_assert_msg((int64_t)(j - i + 1) <= hintpace_bound(starts[j] - starts[i], interval),
                          "%zu starts in %lld ms", j - i + 1, (long long)(starts[j] - starts[i]));
    free(starts);
    ck_assert_int_eq(hintpace_bound(0, 100), HINTPACE_BURST);
    ck_assert_int_eq(hintpace_bound(1000, 100), HINTPACE_BURST + 10);
    ck_assert_int_eq(hintpace_bound(-5, 0), HINTPACE_BURST);
}
END_TEST

static Suite *suite(void)
{
    Suite *s = suite_create("hintpace");
    TCase *tc = tcase_create("hintpace");
    tcase_add_test(tc, burst_then_one_per_interval);
    tcase_add_test(tc, quiet_time_fills_to_the_burst_only);
    tcase_add_test(tc, no_window_exceeds_the_bound);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? 1 : 0;
}
