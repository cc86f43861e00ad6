/*
 * check_rategate.c - the per-token rate gate: Retry-After in both of its
 * formats, absurd values clamped and reported, a 429 blocking every
 * request of the token until its time and never being shortened, and
 * pacing from X-RateLimit-Remaining that starts when the quota runs low
 * and stops when it is healthy again.
 */
#include <check.h>
#include <errno.h>

#include "rategate.h"

/* Wed, 21 Oct 2015 07:28:00 GMT */
#define DATE_MS 1445412480000LL
#define SEC 1000LL

START_TEST(retry_after_seconds)
{
    int64_t w = -1;
    ck_assert_int_eq(retry_after_parse("120", DATE_MS, &w), 0);
    ck_assert_int_eq(w, 120 * SEC);
    ck_assert_int_eq(retry_after_parse("  7\r\n", DATE_MS, &w), 0);
    ck_assert_int_eq(w, 7 * SEC);
    ck_assert_int_eq(retry_after_parse("0", DATE_MS, &w), 0);
    ck_assert_int_eq(w, 0);
}
END_TEST

START_TEST(retry_after_http_date)
{
    int64_t w = -1;
    ck_assert_int_eq(retry_after_parse("Wed, 21 Oct 2015 07:28:00 GMT", DATE_MS - 90 * SEC, &w), 0);
    ck_assert_int_eq(w, 90 * SEC);
    /* A date in the past (clock skew, a slow response) means "now". */
    ck_assert_int_eq(retry_after_parse("Wed, 21 Oct 2015 07:28:00 GMT", DATE_MS + 5 * SEC, &w), 0);
    ck_assert_int_eq(w, 0);
    ck_assert_int_eq(retry_after_parse("Wed, 21 Oct 2015 07:28:00 GMT", DATE_MS, &w), 0);
    ck_assert_int_eq(w, 0);
}
END_TEST

START_TEST(retry_after_garbage)
{
    int64_t w = 42;
    ck_assert_int_eq(retry_after_parse(NULL, DATE_MS, &w), -EINVAL);
    ck_assert_int_eq(retry_after_parse("", DATE_MS, &w), -EINVAL);
    ck_assert_int_eq(retry_after_parse("   ", DATE_MS, &w), -EINVAL);
    ck_assert_int_eq(retry_after_parse("-5", DATE_MS, &w), -EINVAL);
    ck_assert_int_eq(retry_after_parse("1.5", DATE_MS, &w), -EINVAL);
    ck_assert_int_eq(retry_after_parse("12abc", DATE_MS, &w), -EINVAL);
    ck_assert_int_eq(retry_after_parse("soon", DATE_MS, &w), -EINVAL);
    ck_assert_int_eq(retry_after_parse("Wed, 21 Oct 2015 07:28:00 PST", DATE_MS, &w), -EINVAL);
    ck_assert_int_eq(w, 42);
    /* Huge numbers parse (as "very long") and are clamped by the gate. */
    ck_assert_int_eq(retry_after_parse("99999999999999999999999999", DATE_MS, &w), 0);
    ck_assert_int_gt(w, RATEGATE_MAX_WAIT_MS);
}
END_TEST

START_TEST(block_covers_every_request_until_the_time)
{
    struct rategate g;
    bool clamped = true;
    int64_t now = DATE_MS;

    rategate_init(&g);
    ck_assert_int_eq(rategate_next_start(&g, now), now);
    ck_assert_int_eq(rategate_on_response(&g, now, 429, "30", -1, -1, &clamped), 30 * SEC);
    ck_assert(!clamped);
    /* Whatever request of this token asks, at any instant before the end,
     * the answer is the end of the block. */
    for (int64_t t = now; t < now + 30 * SEC; t += 123)
        ck_assert_int_eq(rategate_next_start(&g, t), now + 30 * SEC);
    ck_assert_int_eq(rategate_next_start(&g, now + 30 * SEC), now + 30 * SEC);
    ck_assert_int_eq(rategate_next_start(&g, now + 31 * SEC), now + 31 * SEC);
}
END_TEST

START_TEST(block_from_http_date)
{
    struct rategate g;
    bool clamped = true;

    rategate_init(&g);
    ck_assert_int_eq(rategate_on_response(&g, DATE_MS - 45 * SEC, 429,
                                          "Wed, 21 Oct 2015 07:28:00 GMT", -1, -1, &clamped),
                     45 * SEC);
    ck_assert(!clamped);
    ck_assert_int_eq(rategate_next_start(&g, DATE_MS - 10 * SEC), DATE_MS);
    /* Past date: no wait, not clamped. */
    rategate_init(&g);
    ck_assert_int_eq(rategate_on_response(&g, DATE_MS + SEC, 429, "Wed, 21 Oct 2015 07:28:00 GMT",
                                          -1, -1, &clamped),
                     0);
    ck_assert(!clamped);
    ck_assert_int_eq(rategate_next_start(&g, DATE_MS + SEC), DATE_MS + SEC);
}
END_TEST

START_TEST(zero_waits_nothing_and_is_not_clamped)
{
    struct rategate g;
    bool clamped = true;

    rategate_init(&g);
    ck_assert_int_eq(rategate_on_response(&g, DATE_MS, 429, "0", -1, -1, &clamped), 0);
    ck_assert(!clamped);
    ck_assert_int_eq(rategate_next_start(&g, DATE_MS), DATE_MS);
}
END_TEST

START_TEST(absurd_values_clamped)
{
    static const char *const unusable[] = {NULL, "", "-5", "garbage", "Thu, 99 Foo 2015"};
    struct rategate g;
    bool clamped;

    for (size_t i = 0; i < ARRAY_SIZE(unusable); i++) {
        rategate_init(&g);
        clamped = false;
        ck_assert_int_eq(rategate_on_response(&g, DATE_MS, 429, unusable[i], -1, -1, &clamped),
                         RATEGATE_DEFAULT_WAIT_MS);
        ck_assert_msg(clamped, "value %zu", i);
        ck_assert_int_eq(rategate_next_start(&g, DATE_MS), DATE_MS + RATEGATE_DEFAULT_WAIT_MS);
    }
    static const char *const huge[] = {"86400", "99999999999999999999999",
                                       "Fri, 01 Jan 2100 00:00:00 GMT"};
    for (size_t i = 0; i < ARRAY_SIZE(huge); i++) {
        rategate_init(&g);
        clamped = false;
        ck_assert_int_eq(rategate_on_response(&g, DATE_MS, 429, huge[i], -1, -1, &clamped),
                         RATEGATE_MAX_WAIT_MS);
        ck_assert_msg(clamped, "value %s", huge[i]);
        ck_assert_int_eq(rategate_next_start(&g, DATE_MS), DATE_MS + RATEGATE_MAX_WAIT_MS);
    }
    /* Exactly the maximum is honoured as it is. */
    rategate_init(&g);
    ck_assert_int_eq(rategate_on_response(&g, DATE_MS, 429, "900", -1, -1, &clamped),
                     RATEGATE_MAX_WAIT_MS);
    ck_assert(!clamped);
}
END_TEST

START_TEST(block_never_shortened)
{
    struct rategate g;
    bool clamped;
    int64_t now = DATE_MS;

    rategate_init(&g);
    ck_assert_int_eq(rategate_on_response(&g, now, 429, "60", -1, -1, &clamped), 60 * SEC);
    /* A later 429 asking less, a 429 with "0", and successes: still blocked. */
    ck_assert_int_eq(rategate_on_response(&g, now + 10 * SEC, 429, "5", -1, -1, &clamped),
                     50 * SEC);
    ck_assert_int_eq(rategate_on_response(&g, now + 11 * SEC, 429, "0", -1, -1, &clamped),
                     49 * SEC);
    ck_assert_int_eq(rategate_on_response(&g, now + 12 * SEC, 200, NULL, 100, 100, &clamped), 0);
    ck_assert(!clamped);
    ck_assert_int_eq(rategate_next_start(&g, now + 12 * SEC), now + 60 * SEC);
    /* A later 429 asking more extends it. */
    ck_assert_int_eq(rategate_on_response(&g, now + 20 * SEC, 429, "120", -1, -1, &clamped),
                     120 * SEC);
    ck_assert_int_eq(rategate_next_start(&g, now + 21 * SEC), now + 140 * SEC);
}
END_TEST

START_TEST(pacing_when_remaining_low)
{
    struct rategate g;
    bool clamped;
    int64_t now = DATE_MS;

    rategate_init(&g);
    /* Healthy: no pacing, back-to-back starts. */
    ck_assert_int_eq(rategate_on_response(&g, now, 200, NULL, 60, 30, &clamped), 0);
    ck_assert_int_eq(g.pace_ms, 0);
    rategate_on_start(&g, now);
    ck_assert_int_eq(rategate_next_start(&g, now), now);

    /* 5 of 60 left (<= 10%): 1000 / 5 = 200 ms apart. */
    rategate_on_response(&g, now, 200, NULL, 60, 5, &clamped);
    ck_assert_int_eq(g.pace_ms, 200);
    rategate_on_start(&g, now);
    ck_assert_int_eq(rategate_next_start(&g, now), now + 200);
    ck_assert_int_eq(rategate_next_start(&g, now + 150), now + 200);
    ck_assert_int_eq(rategate_next_start(&g, now + 500), now + 500);

    /* 1 left, or none: one request a second. */
    rategate_on_response(&g, now, 200, NULL, 60, 1, &clamped);
    ck_assert_int_eq(g.pace_ms, 1000);
    rategate_on_response(&g, now, 200, NULL, 60, 0, &clamped);
    ck_assert_int_eq(g.pace_ms, 1000);
    ck_assert_int_eq(rategate_next_start(&g, now), now + 1000);
    /* Without a limit, only remaining <= 1 counts as low. */
    rategate_on_response(&g, now, 200, NULL, -1, 3, &clamped);
    ck_assert_int_eq(g.pace_ms, 0);
    rategate_on_response(&g, now, 200, NULL, -1, 1, &clamped);
    ck_assert_int_eq(g.pace_ms, 1000);
    /* A response without the headers keeps the pace. */
    rategate_on_response(&g, now, 200, NULL, -1, -1, &clamped);
    ck_assert_int_eq(g.pace_ms, 1000);
    /* The window resets: healthy again, pacing released. */
    rategate_on_response(&g, now + 60 * SEC, 200, NULL, 60, 59, &clamped);
    ck_assert_int_eq(g.pace_ms, 0);
    ck_assert_int_eq(rategate_next_start(&g, now + 60 * SEC), now + 60 * SEC);
}
END_TEST

/* Simulated minute of requests against a 60-per-minute quota: once low,
 * the requests spread out and the remaining quota lasts longer. */
START_TEST(pacing_spreads_the_rest_of_the_window)
{
    struct rategate g;
    bool clamped;
    int64_t t = DATE_MS;
    long remaining = 60;

    rategate_init(&g);
    while (remaining > 0) {
        t = rategate_next_start(&g, t);
        rategate_on_start(&g, t);
        remaining--;
        rategate_on_response(&g, t, 200, NULL, 60, remaining, &clamped);
    }
    /* The last six requests are paced: 1000/6 + 1000/5 + ... + 1000/1. */
    ck_assert_int_ge(t - DATE_MS, 2000);
    ck_assert_int_le(t - DATE_MS, 3000);
    /* A 429 on top of pacing wins when it is longer. */
    ck_assert_int_eq(rategate_on_response(&g, t, 429, "10", 60, 0, &clamped), 10 * SEC);
    ck_assert_int_eq(rategate_next_start(&g, t), t + 10 * SEC);
}
END_TEST

static Suite *rategate_suite(void)
{
    Suite *s = suite_create("rategate");
    TCase *tc = tcase_create("core");

    tcase_add_test(tc, retry_after_seconds);
    tcase_add_test(tc, retry_after_http_date);
    tcase_add_test(tc, retry_after_garbage);
    tcase_add_test(tc, block_covers_every_request_until_the_time);
    tcase_add_test(tc, block_from_http_date);
    tcase_add_test(tc, zero_waits_nothing_and_is_not_clamped);
    tcase_add_test(tc, absurd_values_clamped);
    tcase_add_test(tc, block_never_shortened);
    tcase_add_test(tc, pacing_when_remaining_low);
    tcase_add_test(tc, pacing_spreads_the_rest_of_the_window);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(rategate_suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed == 0 ? 0 : 1;
}
