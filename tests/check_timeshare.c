/*
 * check_timeshare.c - the read API's share of the loop, walked through
 * seconds with an injected clock: admitted below the limit, shed at it
 * with the time to the next window, a fresh window admits again, one long
 * piece of work cannot carry over, a clock that goes back starts a window.
 */
#include <check.h>
#include <stdlib.h>

#include "timeshare.h"

#define T0 1000000

START_TEST(admits_below_the_limit_and_sheds_at_it)
{
    struct timeshare t;
    int64_t retry = -1;
    timeshare_init(&t);
    ck_assert(timeshare_admit(&t, T0, 250000, &retry));
    timeshare_spend(&t, T0, 100000);
    ck_assert(timeshare_admit(&t, T0 + 10, 250000, &retry));
    timeshare_spend(&t, T0 + 10, 149999);
    ck_assert(timeshare_admit(&t, T0 + 20, 250000, &retry)); /* 249,999 us used */
    timeshare_spend(&t, T0 + 20, 1);
    ck_assert(!timeshare_admit(&t, T0 + 300, 250000, &retry));
    ck_assert_int_eq(retry, 700); /* the window opened at T0 */
    ck_assert(!timeshare_admit(&t, T0 + 999, 250000, &retry));
    ck_assert_int_eq(retry, 1);
    /* The next window admits again, with nothing spent. */
    ck_assert(timeshare_admit(&t, T0 + 1000, 250000, &retry));
    ck_assert_int_eq(t.used_us, 0);
}
END_TEST

START_TEST(one_long_piece_does_not_carry_over)
{
    struct timeshare t;
    int64_t retry = 0;
    timeshare_init(&t);
    ck_assert(timeshare_admit(&t, T0, 1000, &retry)); /* the first piece always runs */
    timeshare_spend(&t, T0, 5000000);                 /* and took 5 s of the loop */
    ck_assert(!timeshare_admit(&t, T0 + 1, 1000, &retry));
    /* Its window has passed once the clock is a second on (the 5 s were
     * spent inside it): the next window starts empty. */
    ck_assert(timeshare_admit(&t, T0 + 5000, 1000, &retry));
}
END_TEST

START_TEST(a_clock_that_goes_back_starts_a_window)
{
    struct timeshare t;
    timeshare_init(&t);
    timeshare_spend(&t, T0, 10000);
    ck_assert(!timeshare_admit(&t, T0 + 5, 10000, NULL));
    ck_assert(timeshare_admit(&t, T0 - 5, 10000, NULL));
    ck_assert_int_eq(t.used_us, 0);
}
END_TEST

START_TEST(negative_cost_counts_as_nothing)
{
    struct timeshare t;
    timeshare_init(&t);
    timeshare_spend(&t, T0, -50);
    ck_assert_int_eq(t.used_us, 0);
    ck_assert(timeshare_admit(&t, T0, 1, NULL));
    ck_assert(!timeshare_admit(&t, T0, 0, NULL)); /* a zero share admits nothing */
}
END_TEST

int main(void)
{
    Suite *s = suite_create("timeshare");
    TCase *tc = tcase_create("policy");
    tcase_add_test(tc, admits_below_the_limit_and_sheds_at_it);
    tcase_add_test(tc, one_long_piece_does_not_carry_over);
    tcase_add_test(tc, a_clock_that_goes_back_starts_a_window);
    tcase_add_test(tc, negative_cost_counts_as_nothing);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
