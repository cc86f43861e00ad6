/*
 * check_budget.c - the per-tenant retry budget: it drains to exhaustion
 * during a broad failure, failed spends cost nothing, successes earn tokens
 * back, and the bucket never holds more than its capacity.
 */
#include <check.h>

#include "budget.h"

START_TEST(drains_to_exhaustion)
{
    struct retry_budget b;
    budget_init(&b, 500, 5, 1);
    ck_assert_int_eq(b.tokens, 500);
    int allowed = 0;
    while (budget_try_spend(&b))
        allowed++;
    ck_assert_int_eq(allowed, 100);
    ck_assert_int_eq(b.tokens, 0);
    /* Refused spends take nothing. */
    for (int i = 0; i < 10; i++)
        ck_assert(!budget_try_spend(&b));
    ck_assert_int_eq(b.tokens, 0);
}
END_TEST

START_TEST(partial_tokens_do_not_buy_a_retry)
{
    struct retry_budget b;
    budget_init(&b, 12, 5, 1);
    ck_assert(budget_try_spend(&b));
    ck_assert(budget_try_spend(&b));
    ck_assert_int_eq(b.tokens, 2);
    ck_assert(!budget_try_spend(&b));
    ck_assert_int_eq(b.tokens, 2);
}
END_TEST

START_TEST(successes_refill)
{
    struct retry_budget b;
    budget_init(&b, 10, 5, 1);
    ck_assert(budget_try_spend(&b));
    ck_assert(budget_try_spend(&b));
    ck_assert(!budget_try_spend(&b));
    for (int i = 0; i < 4; i++) {
        budget_on_success(&b);
        ck_assert(!budget_try_spend(&b));
    }
    budget_on_success(&b);
    ck_assert_int_eq(b.tokens, 5);
    ck_assert(budget_try_spend(&b));
    ck_assert_int_eq(b.tokens, 0);
}
END_TEST

START_TEST(never_above_capacity)
{
    struct retry_budget b;
    budget_init(&b, 10, 5, 3);
    for (int i = 0; i < 100; i++)
        budget_on_success(&b);
    ck_assert_int_eq(b.tokens, 10);
    ck_assert(budget_try_spend(&b));
    budget_on_success(&b);
    ck_assert_int_eq(b.tokens, 8);
    budget_on_success(&b);
    ck_assert_int_eq(b.tokens, 10);
    budget_on_success(&b);
    ck_assert_int_eq(b.tokens, 10);
}
END_TEST

START_TEST(zero_capacity_refuses)
{
    struct retry_budget b;
    budget_init(&b, 0, 5, 1);
    ck_assert(!budget_try_spend(&b));
    budget_on_success(&b);
    ck_assert_int_eq(b.tokens, 0);
    ck_assert(!budget_try_spend(&b));
}
END_TEST

static Suite *budget_suite(void)
{
    Suite *s = suite_create("budget");
    TCase *tc = tcase_create("core");

    tcase_add_test(tc, drains_to_exhaustion);
    tcase_add_test(tc, partial_tokens_do_not_buy_a_retry);
    tcase_add_test(tc, successes_refill);
    tcase_add_test(tc, never_above_capacity);
    tcase_add_test(tc, zero_capacity_refuses);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(budget_suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed == 0 ? 0 : 1;
}
