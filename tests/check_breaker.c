/*
 * check_breaker.c - the circuit breaker walked through hours of injected
 * time: the full closed -> open -> half-open -> closed cycle, a failed
 * probe re-opening with a new opened_at, one probe at a time, a success
 * resetting the count of consecutive failures, neutral outcomes, and an
 * event for every change of state and for nothing else.
 */
#include <check.h>

#include "breaker.h"

#define T0 1700000000000LL /* an arbitrary wall-clock instant, in ms */
#define SEC 1000LL
#define HOUR (3600 * SEC)

static void trip(struct breaker *b, int64_t now)
{
    for (int i = 0; i < b->threshold - 1; i++)
        ck_assert_int_eq(breaker_failure(b, now), BREAKER_EV_NONE);
    ck_assert_int_eq(breaker_failure(b, now), BREAKER_EV_OPENED);
}

START_TEST(full_cycle)
{
    struct breaker b;
    enum breaker_event ev = BREAKER_EV_REOPENED;

    breaker_init(&b, 5, 60 * SEC);
    ck_assert(breaker_allow(&b, T0, &ev));
    ck_assert_int_eq(ev, BREAKER_EV_NONE);
    ck_assert_int_eq(breaker_next_probe_at(&b), 0);

    for (int i = 0; i < 4; i++) {
        ck_assert_int_eq(breaker_failure(&b, T0 + i), BREAKER_EV_NONE);
        ck_assert_int_eq(b.state, BREAKER_CLOSED);
    }
    ck_assert_int_eq(breaker_failure(&b, T0 + 10), BREAKER_EV_OPENED);
    ck_assert_int_eq(b.state, BREAKER_OPEN);
    ck_assert_int_eq(b.opened_at, T0 + 10);
    ck_assert_int_eq(breaker_next_probe_at(&b), T0 + 10 + 60 * SEC);

    /* Refused through the whole timeout, to the millisecond. */
    for (int64_t t = T0 + 10; t < T0 + 10 + 60 * SEC; t += 997) {
        ck_assert(!breaker_allow(&b, t, &ev));
        ck_assert_int_eq(ev, BREAKER_EV_NONE);
    }
    ck_assert(!breaker_allow(&b, T0 + 10 + 60 * SEC - 1, &ev));

    ck_assert(breaker_allow(&b, T0 + 10 + 60 * SEC, &ev));
    ck_assert_int_eq(ev, BREAKER_EV_HALF_OPEN);
    ck_assert_int_eq(b.state, BREAKER_HALF_OPEN);
    ck_assert(b.probe_in_flight);

    ck_assert_int_eq(breaker_success(&b, T0 + 61 * SEC), BREAKER_EV_CLOSED);
    ck_assert_int_eq(b.state, BREAKER_CLOSED);
    ck_assert_int_eq(b.failures, 0);
    ck_assert(!b.probe_in_flight);
    ck_assert(breaker_allow(&b, T0 + 61 * SEC, &ev));
    ck_assert_int_eq(ev, BREAKER_EV_NONE);
    /* Closed again with a fresh count: it takes the whole threshold. */
    trip(&b, T0 + 62 * SEC);
}
END_TEST

START_TEST(failed_probe_reopens_with_new_opened_at)
{
    struct breaker b;
    enum breaker_event ev;

    breaker_init(&b, 3, 60 * SEC);
    trip(&b, T0);
    ck_assert(breaker_allow(&b, T0 + 60 * SEC, &ev));
    ck_assert_int_eq(ev, BREAKER_EV_HALF_OPEN);
    ck_assert_int_eq(breaker_failure(&b, T0 + 65 * SEC), BREAKER_EV_REOPENED);
    ck_assert_int_eq(b.state, BREAKER_OPEN);
    ck_assert_int_eq(b.opened_at, T0 + 65 * SEC);
    ck_assert_int_eq(breaker_next_probe_at(&b), T0 + 125 * SEC);
    ck_assert(!b.probe_in_flight);
    /* The old deadline no longer lets anything through. */
    ck_assert(!breaker_allow(&b, T0 + 120 * SEC, &ev));
    ck_assert(breaker_allow(&b, T0 + 125 * SEC, &ev));
    ck_assert_int_eq(ev, BREAKER_EV_HALF_OPEN);
}
END_TEST

/* VOMO down for three hours: one probe per minute, nothing else gets out,
 * and it closes on the first probe after VOMO is back. */
START_TEST(hours_of_outage_one_probe_per_timeout)
{
    struct breaker b;
    enum breaker_event ev;
    int probes = 0, opened = 0;
    int64_t back_at = T0 + 3 * HOUR;
    int64_t closed_at = 0;

    breaker_init(&b, 5, 60 * SEC);
    for (int64_t t = T0; t < T0 + 4 * HOUR && !closed_at; t += 250) {
        if (!breaker_allow(&b, t, &ev))
            continue;
        if (ev == BREAKER_EV_HALF_OPEN)
            probes++;
        if (t < back_at) {
            enum breaker_event e = breaker_failure(&b, t);
            opened += e == BREAKER_EV_OPENED;
        } else if (breaker_success(&b, t) == BREAKER_EV_CLOSED) {
            closed_at = t;
        }
    }
    ck_assert_int_eq(opened, 1);
    ck_assert_int_ge(probes, 175);
    ck_assert_int_le(probes, 181);
    ck_assert_int_gt(closed_at, back_at - 1);
    ck_assert_int_le(closed_at, back_at + 60 * SEC);
    ck_assert_int_eq(b.state, BREAKER_CLOSED);
}
END_TEST

START_TEST(only_one_probe_in_flight)
{
    struct breaker b;
    enum breaker_event ev;

    breaker_init(&b, 1, 10 * SEC);
    ck_assert_int_eq(breaker_failure(&b, T0), BREAKER_EV_OPENED);
    ck_assert(breaker_allow(&b, T0 + 10 * SEC, &ev));
    ck_assert_int_eq(ev, BREAKER_EV_HALF_OPEN);
    for (int i = 1; i <= 100; i++) {
        ck_assert(!breaker_allow(&b, T0 + 10 * SEC + i * SEC, &ev));
        ck_assert_int_eq(ev, BREAKER_EV_NONE);
    }
    ck_assert_int_eq(b.state, BREAKER_HALF_OPEN);
    ck_assert_int_eq(breaker_success(&b, T0 + 200 * SEC), BREAKER_EV_CLOSED);
    ck_assert(breaker_allow(&b, T0 + 200 * SEC, &ev));
    ck_assert(breaker_allow(&b, T0 + 200 * SEC, &ev));
}
END_TEST

START_TEST(success_resets_failure_count)
{
    struct breaker b;

    breaker_init(&b, 3, 60 * SEC);
    for (int round = 0; round < 50; round++) {
        ck_assert_int_eq(breaker_failure(&b, T0 + round), BREAKER_EV_NONE);
        ck_assert_int_eq(breaker_failure(&b, T0 + round), BREAKER_EV_NONE);
        ck_assert_int_eq(b.failures, 2);
        ck_assert_int_eq(breaker_success(&b, T0 + round), BREAKER_EV_NONE);
        ck_assert_int_eq(b.failures, 0);
    }
    ck_assert_int_eq(b.state, BREAKER_CLOSED);
    trip(&b, T0 + 100);
}
END_TEST

START_TEST(neutral_outcomes)
{
    struct breaker b;
    enum breaker_event ev;

    breaker_init(&b, 2, 30 * SEC);
    /* Closed: an answer (a 404, say) breaks the run of failures. */
    ck_assert_int_eq(breaker_failure(&b, T0), BREAKER_EV_NONE);
    ck_assert_int_eq(breaker_neutral(&b, T0), BREAKER_EV_NONE);
    ck_assert_int_eq(breaker_failure(&b, T0), BREAKER_EV_NONE);
    ck_assert_int_eq(b.state, BREAKER_CLOSED);
    ck_assert_int_eq(breaker_failure(&b, T0 + 1), BREAKER_EV_OPENED);
    /* Open: a late answer from before the opening changes nothing. */
    ck_assert_int_eq(breaker_neutral(&b, T0 + 2), BREAKER_EV_NONE);
    ck_assert_int_eq(breaker_success(&b, T0 + 2), BREAKER_EV_NONE);
    ck_assert_int_eq(breaker_failure(&b, T0 + 3), BREAKER_EV_NONE);
    ck_assert_int_eq(b.state, BREAKER_OPEN);
    ck_assert_int_eq(b.opened_at, T0 + 1);
    /* Half-open: a neutral probe releases the slot and closes. */
    ck_assert(breaker_allow(&b, T0 + 1 + 30 * SEC, &ev));
    ck_assert_int_eq(ev, BREAKER_EV_HALF_OPEN);
    ck_assert_int_eq(breaker_neutral(&b, T0 + 31 * SEC), BREAKER_EV_CLOSED);
    ck_assert_int_eq(b.state, BREAKER_CLOSED);
    ck_assert(!b.probe_in_flight);
    ck_assert(breaker_allow(&b, T0 + 31 * SEC, NULL));
}
END_TEST

START_TEST(names)
{
    ck_assert_str_eq(breaker_state_name(BREAKER_CLOSED), "closed");
    ck_assert_str_eq(breaker_state_name(BREAKER_OPEN), "open");
    ck_assert_str_eq(breaker_state_name(BREAKER_HALF_OPEN), "half_open");
    ck_assert_str_eq(breaker_event_name(BREAKER_EV_NONE), "none");
    ck_assert_str_eq(breaker_event_name(BREAKER_EV_OPENED), "opened");
    ck_assert_str_eq(breaker_event_name(BREAKER_EV_HALF_OPEN), "half_open");
    ck_assert_str_eq(breaker_event_name(BREAKER_EV_CLOSED), "closed");
    ck_assert_str_eq(breaker_event_name(BREAKER_EV_REOPENED), "reopened");
}
END_TEST

static Suite *breaker_suite(void)
{
    Suite *s = suite_create("breaker");
    TCase *tc = tcase_create("core");

    tcase_add_test(tc, full_cycle);
    tcase_add_test(tc, failed_probe_reopens_with_new_opened_at);
    tcase_add_test(tc, hours_of_outage_one_probe_per_timeout);
    tcase_add_test(tc, only_one_probe_in_flight);
    tcase_add_test(tc, success_resets_failure_count);
    tcase_add_test(tc, neutral_outcomes);
    tcase_add_test(tc, names);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(breaker_suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed == 0 ? 0 : 1;
}
