/*
 * check_slo.c - the error budget: burn rates, the budget consumed over the
 * window, the multi-window pairs (page and ticket) with their volume
 * guard, and the actions walked through days of injected time: debug
 * logging once per entry above 100%, writes paused above 200% until the
 * burn falls below 100% or an operator resumes.
 */
#include <check.h>
#include <string.h>

#include "slo.h"

#define MIN (60 * 1000LL)
#define HOUR (60 * MIN)
#define T0 (1796000000000LL)

static struct slo_params P;

static void setup(void)
{
    slo_defaults(&P);
}

/* Every window sees `ops` operations of which `err` failed. */
static struct slo_counts flat(int64_t ops, int64_t err)
{
    struct slo_counts c;
    for (int w = 0; w < SLO_W_COUNT; w++) {
        c.ops[w] = ops;
        c.errors[w] = err;
    }
    return c;
}

START_TEST(burn_is_error_rate_over_allowance)
{
    ck_assert_double_eq_tol(slo_burn(1000, 5, 0.995), 1.0, 1e-9);
    ck_assert_double_eq_tol(slo_burn(1000, 10, 0.995), 2.0, 1e-9);
    ck_assert_double_eq_tol(slo_burn(0, 0, 0.995), 0.0, 1e-9);
    ck_assert_double_eq_tol(slo_burn(100, 100, 0.999), 1000.0, 1e-6);
    struct slo_counts c = flat(1000, 3);
    struct slo_result r;
    slo_compute(&P, &c, &r);
    ck_assert_double_eq_tol(r.consumed, 0.6, 1e-9);
    ck_assert_double_eq_tol(r.remaining, 0.4, 1e-9);
    ck_assert_int_eq(r.level, 0);
    ck_assert(!r.page && !r.ticket);
}
END_TEST

START_TEST(pairs_page_and_ticket)
{
    struct slo_result r;
    /* 10% errors in the last hour and 5 min, nothing before: 20x burn
     * there, a page, while the month is barely touched. */
    struct slo_counts c = flat(100000, 0);
    c.ops[SLO_W_1H] = 1000;
    c.errors[SLO_W_1H] = 100;
    c.ops[SLO_W_5M] = 100;
    c.errors[SLO_W_5M] = 10;
    slo_compute(&P, &c, &r);
    ck_assert(r.page);
    ck_assert_int_eq(r.level, 2);
    ck_assert_ptr_nonnull(strstr(r.why, "1h"));
    /* The 5 min window recovered: the pair no longer holds. */
    c.errors[SLO_W_5M] = 0;
    slo_compute(&P, &c, &r);
    ck_assert(!r.page);
    /* A slow burn of 1.5 over 3 days and 6 h: a ticket (warning). */
    c = flat(100000, 0);
    c.ops[SLO_W_3D] = c.ops[SLO_W_6H] = 10000;
    c.errors[SLO_W_3D] = c.errors[SLO_W_6H] = 75;
    slo_compute(&P, &c, &r);
    ck_assert(r.ticket && !r.page);
    ck_assert_int_eq(r.level, 1);
}
END_TEST

START_TEST(volume_guard)
{
    struct slo_result r;
    struct slo_counts c = flat(3, 1); /* three requests, one failure */
    slo_compute(&P, &c, &r);
    ck_assert(!r.volume_ok);
    ck_assert(!r.page && !r.ticket);
    ck_assert_int_eq(r.level, 0);
    ck_assert(r.consumed > 60); /* reported, but acted on by nobody */
}
END_TEST

START_TEST(levels_by_consumed)
{
    struct slo_result r;
    struct slo_counts c = flat(100000, 0);
    c.errors[SLO_W_BUDGET] = 750; /* 150% */
    slo_compute(&P, &c, &r);
    ck_assert_int_eq(r.level, 1);
    c.errors[SLO_W_BUDGET] = 1500; /* 300% */
    slo_compute(&P, &c, &r);
    ck_assert_int_eq(r.level, 2);
    ck_assert_ptr_nonnull(strstr(r.why, "300%"));
}
END_TEST

static struct slo_result at(double consumed)
{
    struct slo_counts c = flat(100000, 0);
    c.errors[SLO_W_BUDGET] = (int64_t)(consumed * 500);
    struct slo_result r;
    slo_compute(&P, &c, &r);
    return r;
}

START_TEST(actions_over_days)
{
    P.pause_writes = true;
    struct slo_tenant st = {0};
    int64_t now = T0;
    struct slo_result r = at(0.5);
    ck_assert_uint_eq(slo_step(&P, &r, 0, now, &st), SLO_CH_NONE);
    ck_assert_int_eq(slo_action(&st, now), SLO_ACT_NONE);
    /* 150%: debug logging for 30 minutes, once, however long it stays. */
    r = at(1.5);
    ck_assert_uint_eq(slo_step(&P, &r, 0, now, &st), SLO_CH_DEBUG);
    ck_assert_int_eq(slo_action(&st, now + 29 * MIN), SLO_ACT_DEBUG);
    for (int h = 1; h < 48; h++)
        ck_assert_uint_eq(slo_step(&P, &r, 0, now + h * HOUR, &st), SLO_CH_NONE);
    ck_assert_int_eq(slo_action(&st, now + 47 * HOUR), SLO_ACT_NONE);
    /* 250%: writes pause. */
    now += 48 * HOUR;
    r = at(2.5);
    ck_assert_uint_eq(slo_step(&P, &r, 0, now, &st), SLO_CH_PAUSE);
    ck_assert_int_eq(slo_action(&st, now), SLO_ACT_PAUSE);
    /* 150% again: still paused (only below 100% ends it). */
    r = at(1.5);
    ck_assert_uint_eq(slo_step(&P, &r, 0, now + HOUR, &st), SLO_CH_NONE);
    ck_assert(st.paused);
    r = at(0.9);
    ck_assert_uint_eq(slo_step(&P, &r, 0, now + 2 * HOUR, &st), SLO_CH_UNPAUSE);
    ck_assert_int_eq(slo_action(&st, now + 2 * HOUR), SLO_ACT_NONE);
}
END_TEST

START_TEST(resume_by_operator)
{
    P.pause_writes = true;
    struct slo_tenant st = {0};
    struct slo_result r = at(3);
    /* A resume asked for before the pause does not end it. */
    (void)slo_step(&P, &r, T0 - MIN, T0, &st);
    ck_assert(st.paused);
    ck_assert_uint_eq(slo_step(&P, &r, T0 - MIN, T0 + MIN, &st), SLO_CH_NONE);
    /* One asked for after it does, and the pause stays off while the
     * budget stays exhausted. */
    ck_assert_uint_eq(slo_step(&P, &r, T0 + 2 * MIN, T0 + 3 * MIN, &st), SLO_CH_UNPAUSE);
    for (int h = 1; h < 24; h++)
        ck_assert_uint_eq(slo_step(&P, &r, T0 + 2 * MIN, T0 + h * HOUR, &st), SLO_CH_NONE);
    ck_assert(!st.paused);
    /* Below 100% once, then exhausted anew: paused again. */
    struct slo_result ok = at(0.5);
    (void)slo_step(&P, &ok, T0 + 2 * MIN, T0 + 25 * HOUR, &st);
    ck_assert_uint_eq(slo_step(&P, &r, T0 + 2 * MIN, T0 + 26 * HOUR, &st),
                      SLO_CH_PAUSE | SLO_CH_DEBUG);
}
END_TEST

START_TEST(no_pause_when_off)
{
    struct slo_tenant st = {0};
    struct slo_result r = at(5);
    ck_assert_uint_eq(slo_step(&P, &r, 0, T0, &st), SLO_CH_DEBUG);
    ck_assert(!st.paused);
    ck_assert_str_eq(slo_action_name(slo_action(&st, T0)), "debug_logging");
    ck_assert_str_eq(slo_window_name(SLO_W_3D), "3d");
}
END_TEST

static Suite *slo_suite(void)
{
    Suite *s = suite_create("slo");
    TCase *tc = tcase_create("core");
    tcase_add_checked_fixture(tc, setup, NULL);
    tcase_add_test(tc, burn_is_error_rate_over_allowance);
    tcase_add_test(tc, pairs_page_and_ticket);
    tcase_add_test(tc, volume_guard);
    tcase_add_test(tc, levels_by_consumed);
    tcase_add_test(tc, actions_over_days);
    tcase_add_test(tc, resume_by_operator);
    tcase_add_test(tc, no_pause_when_off);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(slo_suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed == 0 ? 0 : 1;
}
