/*
 * check_dlqsched.c - the DLQ retry schedule: nominal delays per attempt
 * and their cap, jitter within [0.8, 1.2] x nominal that spreads rows
 * failed together, escalation after max_attempts, immediate escalation for
 * classes that retrying cannot fix, and the total span with the defaults.
 */
#include <check.h>
#include <stdlib.h>

#include "dlqsched.h"

#define T0 1700000000000LL
#define MIN (60 * 1000LL)
#define HOUR (60 * MIN)

static const struct dlq_policy defaults = {.base_ms = MIN, .max_ms = 6 * HOUR, .max_attempts = 10};

static uint64_t mix(uint64_t x)
{
    x += 0x9e3779b97f4a7c15ULL;
    x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
    x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
    return x ^ (x >> 31);
}

START_TEST(nominal_delays_per_attempt)
{
    for (int a = 1; a <= 9; a++)
        ck_assert_int_eq(dlqsched_nominal_delay(&defaults, a), MIN << (a - 1));
    ck_assert_int_eq(dlqsched_nominal_delay(&defaults, 10), 6 * HOUR); /* 512 min capped */
    ck_assert_int_eq(dlqsched_nominal_delay(&defaults, 11), 6 * HOUR);
    ck_assert_int_eq(dlqsched_nominal_delay(&defaults, 1000), 6 * HOUR);
    ck_assert_int_eq(dlqsched_nominal_delay(&defaults, 0), MIN);
}
END_TEST

START_TEST(jitter_within_bounds_and_capped)
{
    for (int a = 1; a <= 9; a++) {
        int64_t n = dlqsched_nominal_delay(&defaults, a);
        int64_t lo = INT64_MAX, hi = 0;
        for (uint64_t i = 0; i < 2000; i++) {
            struct dlq_decision d =
                dlqsched_after_failure(&defaults, EC_TRANSIENT, a, T0, mix(i + 7919 * (uint64_t)a));
            ck_assert(!d.escalate);
            int64_t delay = d.next_attempt_at - T0;
            ck_assert_int_ge(delay, n - n / 5);
            ck_assert_int_le(delay, n + n / 5);
            ck_assert_int_le(delay, defaults.max_ms);
            lo = delay < lo ? delay : lo;
            hi = delay > hi ? delay : hi;
        }
        /* The draws cover most of the band. */
        ck_assert_int_lt(lo, n - n / 5 + n / 50);
        if (n + n / 5 <= defaults.max_ms)
            ck_assert_int_gt(hi, n + n / 5 - n / 50);
    }
    /* At the cap, jitter only shortens: never past max_delay. */
    struct dlq_policy capped = {.base_ms = MIN, .max_ms = 6 * HOUR, .max_attempts = 100};
    for (uint64_t i = 0; i < 1000; i++) {
        struct dlq_decision d = dlqsched_after_failure(&capped, EC_TRANSIENT, 50, T0, mix(i));
        ck_assert_int_le(d.next_attempt_at - T0, 6 * HOUR);
        ck_assert_int_ge(d.next_attempt_at - T0, 6 * HOUR - 72 * MIN);
    }
}
END_TEST

START_TEST(never_below_one_ms)
{
    struct dlq_policy tiny = {.base_ms = 0, .max_ms = 10, .max_attempts = 5};
    struct dlq_policy one = {.base_ms = 1, .max_ms = 10, .max_attempts = 5};
    for (uint64_t i = 0; i < 100; i++) {
        ck_assert_int_eq(dlqsched_after_failure(&tiny, EC_TRANSIENT, 1, T0, mix(i)).next_attempt_at,
                         T0 + 1);
        ck_assert_int_eq(dlqsched_after_failure(&one, EC_TRANSIENT, 1, T0, mix(i)).next_attempt_at,
                         T0 + 1);
    }
}
END_TEST

static int cmp_i64(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return (x > y) - (x < y);
}

/* 1000 rows dead-lettered in one outage do not all come due together. */
START_TEST(spread)
{
    enum { ROWS = 1000 };
    int64_t at[ROWS];
    for (int i = 0; i < ROWS; i++)
        at[i] = dlqsched_after_failure(&defaults, EC_TRANSIENT, 3, T0, mix((uint64_t)i))
                    .next_attempt_at;
    qsort(at, ROWS, sizeof(at[0]), cmp_i64);
    int distinct = 1;
    for (int i = 1; i < ROWS; i++)
        distinct += at[i] != at[i - 1];
    ck_assert_int_ge(distinct, 950);
    /* Spread over about 1.6 min of the 3.2 to 4.8 min band. */
    ck_assert_int_ge(at[ROWS - 1] - at[0], 90 * 1000);
}
END_TEST

START_TEST(escalates_after_max_attempts)
{
    for (int a = 1; a < 10; a++)
        ck_assert(!dlqsched_after_failure(&defaults, EC_TRANSIENT, a, T0, 1).escalate);
    ck_assert(dlqsched_after_failure(&defaults, EC_TRANSIENT, 10, T0, 1).escalate);
    ck_assert(dlqsched_after_failure(&defaults, EC_SERVER_ERROR, 11, T0, 1).escalate);
    ck_assert(dlqsched_after_failure(&defaults, EC_UNKNOWN, 10, T0, 1).escalate);
}
END_TEST

START_TEST(escalates_at_once_when_retrying_cannot_help)
{
    ck_assert(dlqsched_after_failure(&defaults, EC_VALIDATION, 1, T0, 1).escalate);
    ck_assert(dlqsched_after_failure(&defaults, EC_FORBIDDEN, 1, T0, 1).escalate);
    ck_assert(dlqsched_after_failure(&defaults, EC_BAD_DATA, 1, T0, 1).escalate);
    ck_assert(!dlqsched_retryable(EC_VALIDATION));
    ck_assert(!dlqsched_retryable(EC_FORBIDDEN));
    ck_assert(!dlqsched_retryable(EC_BAD_DATA));
    /* The tenant stops on auth; its rows wait, pending. */
    static const enum err_class retryable[] = {EC_TRANSIENT, EC_RATE_LIMITED, EC_AUTH,
                                               EC_NOT_FOUND, EC_SERVER_ERROR, EC_CONFLICT,
                                               EC_UNKNOWN};
    for (size_t i = 0; i < sizeof(retryable) / sizeof(retryable[0]); i++) {
        ck_assert(dlqsched_retryable(retryable[i]));
        ck_assert(!dlqsched_after_failure(&defaults, retryable[i], 1, T0, 1).escalate);
    }
}
END_TEST

/*
 * With the defaults a row is created with attempts = 1 and escalates at
 * the 10th failure: nine delays, 1 + 2 + ... + 256 min = 511 min nominal.
 * Walk a row through its whole life and check the span stays within the
 * promised bounds for the nominal schedule and for every jitter draw.
 */
START_TEST(total_span_with_defaults)
{
    int64_t nominal = 0;
    for (int a = 1; a < defaults.max_attempts; a++)
        nominal += dlqsched_nominal_delay(&defaults, a);
    ck_assert_int_eq(nominal, 511 * MIN);
    ck_assert_int_ge(nominal, 8 * HOUR);
    ck_assert_int_le(nominal, 30 * HOUR);

    for (uint64_t seed = 0; seed < 200; seed++) {
        int64_t now = T0;
        int attempts = 1;
        for (;;) {
            struct dlq_decision d = dlqsched_after_failure(&defaults, EC_TRANSIENT, attempts, now,
                                                           mix(seed * 31 + (uint64_t)attempts));
            if (d.escalate)
                break;
            ck_assert_int_gt(d.next_attempt_at, now);
            now = d.next_attempt_at;
            attempts++;
        }
        ck_assert_int_eq(attempts, 10);
        ck_assert_int_ge(now - T0, nominal * 8 / 10);
        ck_assert_int_le(now - T0, nominal * 12 / 10);
        ck_assert_int_le(now - T0, 30 * HOUR);
    }
    /* The middle draw gives the nominal span. */
    int64_t now = T0;
    for (int a = 1; a < 10; a++) {
        int64_t n = dlqsched_nominal_delay(&defaults, a);
        now = dlqsched_after_failure(&defaults, EC_TRANSIENT, a, now, (uint64_t)(n / 5))
                  .next_attempt_at;
    }
    ck_assert_int_eq(now - T0, nominal);
}
END_TEST

static Suite *dlqsched_suite(void)
{
    Suite *s = suite_create("dlqsched");
    TCase *tc = tcase_create("core");

    tcase_add_test(tc, nominal_delays_per_attempt);
    tcase_add_test(tc, jitter_within_bounds_and_capped);
    tcase_add_test(tc, never_below_one_ms);
    tcase_add_test(tc, spread);
    tcase_add_test(tc, escalates_after_max_attempts);
    tcase_add_test(tc, escalates_at_once_when_retrying_cannot_help);
    tcase_add_test(tc, total_span_with_defaults);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(dlqsched_suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed == 0 ? 0 : 1;
}
