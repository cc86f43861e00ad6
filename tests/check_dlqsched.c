/*
 * check_dlqsched.c - the DLQ retry schedule: nominal delays per attempt
 * and their cap, jitter within [0.8, 1.2] x nominal that spreads rows
 * failed together, escalation after max_attempts, immediate escalation for
 * classes that retrying cannot fix, the total span with the defaults
 * (about a day: factor 3 from 1 min, capped at 6 h), and overflow safety.
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
    static const int64_t minutes[] = {1, 3, 9, 27, 81, 243};
    for (int a = 1; a <= 6; a++)
        ck_assert_int_eq(dlqsched_nominal_delay(&defaults, a), minutes[a - 1] * MIN);
    for (int a = 7; a <= 10; a++) /* 729 min and up: capped */
        ck_assert_int_eq(dlqsched_nominal_delay(&defaults, a), 6 * HOUR);
    ck_assert_int_eq(dlqsched_nominal_delay(&defaults, 11), 6 * HOUR);
    ck_assert_int_eq(dlqsched_nominal_delay(&defaults, 1000), 6 * HOUR);
    ck_assert_int_eq(dlqsched_nominal_delay(&defaults, 0), MIN);
    ck_assert_int_eq(dlqsched_nominal_delay(&defaults, -5), MIN);
}
END_TEST

/* Growth stops at the cap without overflowing, even near INT64_MAX. */
START_TEST(no_overflow_near_the_limits)
{
    struct dlq_policy huge = {.base_ms = INT64_MAX / 2, .max_ms = INT64_MAX, .max_attempts = 100};
    ck_assert_int_eq(dlqsched_nominal_delay(&huge, 1), INT64_MAX / 2);
    ck_assert_int_eq(dlqsched_nominal_delay(&huge, 2), INT64_MAX);
    ck_assert_int_eq(dlqsched_nominal_delay(&huge, 100), INT64_MAX);
    struct dlq_policy third = {.base_ms = 1, .max_ms = INT64_MAX, .max_attempts = 100};
    int64_t prev = 0;
    for (int a = 1; a <= 100; a++) {
        int64_t d = dlqsched_nominal_delay(&third, a);
        ck_assert_int_ge(d, prev);
        ck_assert_int_gt(d, 0);
        prev = d;
    }
    ck_assert_int_eq(prev, INT64_MAX);
    /* A cap that is not a power of 3 times base is reached exactly. */
    struct dlq_policy odd = {.base_ms = 10, .max_ms = 100, .max_attempts = 10};
    ck_assert_int_eq(dlqsched_nominal_delay(&odd, 3), 90);
    ck_assert_int_eq(dlqsched_nominal_delay(&odd, 4), 100);
    /* Jitter near INT64_MAX stays in range too. */
    struct dlq_decision d = dlqsched_after_failure(&huge, EC_TRANSIENT, 50, 0, UINT64_MAX);
    ck_assert_int_le(d.next_attempt_at, INT64_MAX);
    ck_assert_int_ge(d.next_attempt_at, INT64_MAX - INT64_MAX / 5);
}
END_TEST

START_TEST(jitter_within_bounds_and_capped)
{
    for (int a = 1; a <= 9; a++) {
        int64_t n = dlqsched_nominal_delay(&defaults, a);
        int64_t lo = INT64_MAX, hi = 0;
        ck_assert_int_le(n, defaults.max_ms);
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
    /* Spread over most of the 7.2 to 10.8 min band (9 min nominal). */
    ck_assert_int_ge(at[ROWS - 1] - at[0], 3 * MIN);
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
 * the 10th failure: nine delays, 1 + 3 + 9 + 27 + 81 + 243 min and three
 * at the 6 h cap = 1444 min nominal, "about a day" as the documentation
 * promises.  Walk a row through its whole life and check the span for the
 * nominal schedule and for every jitter draw, and each draw's own bounds.
 */
START_TEST(total_span_with_defaults)
{
    int64_t nominal = 0;
    for (int a = 1; a < defaults.max_attempts; a++)
        nominal += dlqsched_nominal_delay(&defaults, a);
    ck_assert_int_eq(nominal, 1444 * MIN);
    ck_assert_int_ge(nominal, 20 * HOUR);
    ck_assert_int_le(nominal, 30 * HOUR);

    for (uint64_t seed = 0; seed < 200; seed++) {
        int64_t now = T0;
        int attempts = 1;
        for (;;) {
            struct dlq_decision d = dlqsched_after_failure(&defaults, EC_TRANSIENT, attempts, now,
                                                           mix(seed * 31 + (uint64_t)attempts));
            if (d.escalate)
                break;
            int64_t n = dlqsched_nominal_delay(&defaults, attempts);
            ck_assert_int_ge(d.next_attempt_at - now, n - n / 5);
            ck_assert_int_le(d.next_attempt_at - now, n + n / 5);
            ck_assert_int_le(d.next_attempt_at - now, defaults.max_ms);
            now = d.next_attempt_at;
            attempts++;
        }
        ck_assert_int_eq(attempts, 10);
        ck_assert_int_ge(now - T0, nominal * 8 / 10);
        ck_assert_int_le(now - T0, nominal * 12 / 10);
        ck_assert_int_ge(now - T0, 16 * HOUR);
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
    tcase_add_test(tc, no_overflow_near_the_limits);
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
