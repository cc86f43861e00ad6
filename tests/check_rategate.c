/*
 * check_rategate.c - the per-token rate gate: Retry-After in both of its
 * formats, absurd values clamped and reported, a 429 blocking every
 * request of the token until its time and never being shortened, and the
 * window's budget from X-RateLimit-Limit / -Remaining that counts requests
 * in flight, learns the window's reset, and (in a simulated VOMO) uses the
 * quota without running into 429s.
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
    ck_assert_int_eq(w, 90 * SEC + 1); /* rounded up, never before the date */
    ck_assert_int_eq(retry_after_parse("Wed, 21 Oct 2015 07:28:00 GMT", DATE_MS - 1, &w), 0);
    ck_assert_int_eq(w, 2);
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
    ck_assert_int_eq(rategate_on_response(&g, now, now, 429, "30", -1, -1, 0, &clamped), 30 * SEC);
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
    ck_assert_int_eq(rategate_on_response(&g, DATE_MS - 45 * SEC, DATE_MS - 45 * SEC, 429,
                                          "Wed, 21 Oct 2015 07:28:00 GMT", -1, -1, 0, &clamped),
                     45 * SEC + 1);
    ck_assert(!clamped);
    ck_assert_int_eq(rategate_next_start(&g, DATE_MS - 10 * SEC), DATE_MS + 1);
    /* Past date: no wait, not clamped. */
    rategate_init(&g);
    ck_assert_int_eq(rategate_on_response(&g, DATE_MS + SEC, DATE_MS + SEC, 429,
                                          "Wed, 21 Oct 2015 07:28:00 GMT", -1, -1, 0, &clamped),
                     0);
    ck_assert(!clamped);
    ck_assert_int_eq(rategate_next_start(&g, DATE_MS + SEC), DATE_MS + SEC);
}
END_TEST

/* The gate runs on the monotonic clock: an HTTP date is turned into a wait
 * against the wall clock, and that wait is measured from the monotonic now. */
START_TEST(http_date_is_read_on_the_wall_clock_and_waited_on_the_monotonic_one)
{
    struct rategate g;
    bool clamped = true;
    const int64_t mono = 5 * SEC; /* seconds since boot, nowhere near the date */

    rategate_init(&g);
    ck_assert_int_eq(rategate_on_response(&g, mono, DATE_MS - 20 * SEC, 429,
                                          "Wed, 21 Oct 2015 07:28:00 GMT", -1, -1, 0, &clamped),
                     20 * SEC + 1);
    ck_assert(!clamped);
    ck_assert_int_eq(rategate_next_start(&g, mono), mono + 20 * SEC + 1);
    ck_assert_int_eq(rategate_next_start(&g, mono + 20 * SEC + 1), mono + 20 * SEC + 1);
}
END_TEST

START_TEST(zero_waits_nothing_and_is_not_clamped)
{
    struct rategate g;
    bool clamped = true;

    rategate_init(&g);
    ck_assert_int_eq(rategate_on_response(&g, DATE_MS, DATE_MS, 429, "0", -1, -1, 0, &clamped), 0);
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
        ck_assert_int_eq(
            rategate_on_response(&g, DATE_MS, DATE_MS, 429, unusable[i], -1, -1, 0, &clamped),
            RATEGATE_DEFAULT_WAIT_MS);
        ck_assert_msg(clamped, "value %zu", i);
        ck_assert_int_eq(rategate_next_start(&g, DATE_MS), DATE_MS + RATEGATE_DEFAULT_WAIT_MS);
    }
    static const char *const huge[] = {"86400", "99999999999999999999999",
                                       "Fri, 01 Jan 2100 00:00:00 GMT"};
    for (size_t i = 0; i < ARRAY_SIZE(huge); i++) {
        rategate_init(&g);
        clamped = false;
        ck_assert_int_eq(
            rategate_on_response(&g, DATE_MS, DATE_MS, 429, huge[i], -1, -1, 0, &clamped),
            RATEGATE_MAX_WAIT_MS);
        ck_assert_msg(clamped, "value %s", huge[i]);
        ck_assert_int_eq(rategate_next_start(&g, DATE_MS), DATE_MS + RATEGATE_MAX_WAIT_MS);
    }
    /* Exactly the maximum is honoured as it is. */
    rategate_init(&g);
    ck_assert_int_eq(rategate_on_response(&g, DATE_MS, DATE_MS, 429, "900", -1, -1, 0, &clamped),
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
    ck_assert_int_eq(rategate_on_response(&g, now, now, 429, "60", -1, -1, 0, &clamped), 60 * SEC);
    /* A later 429 asking less, a 429 with "0", and successes: still blocked. */
    ck_assert_int_eq(
        rategate_on_response(&g, now + 10 * SEC, now + 10 * SEC, 429, "5", -1, -1, 0, &clamped),
        50 * SEC);
    ck_assert_int_eq(
        rategate_on_response(&g, now + 11 * SEC, now + 11 * SEC, 429, "0", -1, -1, 0, &clamped),
        49 * SEC);
    ck_assert_int_eq(
        rategate_on_response(&g, now + 12 * SEC, now + 12 * SEC, 200, NULL, 100, 100, 0, &clamped),
        0);
    ck_assert(!clamped);
    ck_assert_int_eq(rategate_next_start(&g, now + 12 * SEC), now + 60 * SEC);
    /* A later 429 asking more extends it. */
    ck_assert_int_eq(
        rategate_on_response(&g, now + 20 * SEC, now + 20 * SEC, 429, "120", -1, -1, 0, &clamped),
        120 * SEC);
    ck_assert_int_eq(rategate_next_start(&g, now + 21 * SEC), now + 140 * SEC);
}
END_TEST

/* Starts one request at t and returns its sequence number. */
static int64_t start(struct rategate *g, int64_t t)
{
    ck_assert_int_le(rategate_next_start(g, t), t);
    return rategate_on_start(g, t);
}

START_TEST(budget_counts_requests_in_flight)
{
    struct rategate g;
    bool clamped;
    int64_t t = DATE_MS + 300;

    rategate_init(&g);
    /* Before any header: nothing but the lane's own limits. */
    ck_assert_int_eq(rategate_budget(&g, t), INT64_MAX);
    int64_t first = start(&g, t);
    for (int i = 0; i < 3; i++)
        start(&g, t);
    /* The first answer: 19 of 20 left, and three more are in flight. */
    ck_assert_int_eq(rategate_on_response(&g, t + 2, t + 2, 200, NULL, 20, 19, first, &clamped), 0);
    ck_assert_int_eq(rategate_budget(&g, t + 2), 16);
    for (int i = 0; i < 16; i++)
        start(&g, t + 3);
    ck_assert_int_eq(rategate_budget(&g, t + 3), 0);
    /* Spent: the next request waits for the window to end (it began with the
     * first request, or up to its 2 ms round trip later) and the margin,
     * whatever the answers in between say. */
    ck_assert_int_eq(rategate_next_start(&g, t + 3),
                     t + RATEGATE_WINDOW_MS + RATEGATE_MARGIN_MS + 2);
    rategate_on_response(&g, t + 4, t + 4, 200, NULL, 20, 16, first + 3, &clamped);
    ck_assert_int_eq(rategate_budget(&g, t + 4), 0);
    /* An answer arriving late, for an older request, changes nothing. */
    rategate_on_response(&g, t + 5, t + 5, 200, NULL, 20, 17, first + 1, &clamped);
    ck_assert_int_eq(rategate_budget(&g, t + 5), 0);
    /* The next window: the limit again, counted from its first start. */
    int64_t next = rategate_next_start(&g, t + 5);
    ck_assert_int_eq(rategate_budget(&g, next), 20);
    start(&g, next);
    ck_assert_int_eq(rategate_budget(&g, next), 19);
}
END_TEST

START_TEST(reset_seen_in_remaining_moves_the_window)
{
    struct rategate g;
    bool clamped;
    int64_t t = DATE_MS + 900;

    rategate_init(&g);
    int64_t a = start(&g, t);
    rategate_on_response(&g, t + 1, t + 1, 200, NULL, 20, 2, a, &clamped);
    ck_assert_int_eq(rategate_budget(&g, t + 1), 2);
    int64_t b = start(&g, t + 100);
    /* 2 left before, so at most 1 now: 19 means VOMO's window reset between
     * the two starts; the new window's phase is b's start.  Both starts stay
     * counted against it (a reordering could look the same), so 18. */
    rategate_on_response(&g, t + 101, t + 101, 200, NULL, 20, 19, b, &clamped);
    ck_assert_int_eq(rategate_budget(&g, t + 101), 18);
    ck_assert_int_eq(g.window_start, t + 100);
    /* A 429 without the header counts as nothing left. */
    int64_t c = start(&g, t + 102);
    ck_assert_int_eq(rategate_on_response(&g, t + 103, t + 103, 429, "1", -1, -1, c, &clamped),
                     SEC);
    ck_assert_int_eq(rategate_budget(&g, t + 103), 0);
    /* The block ends before the window does: the window wins (it began
     * with b, or up to b's 1 ms round trip later). */
    ck_assert_int_eq(rategate_next_start(&g, t + 103),
                     t + 100 + RATEGATE_WINDOW_MS + RATEGATE_MARGIN_MS + 1);
}
END_TEST

START_TEST(no_headers_no_budget)
{
    struct rategate g;
    bool clamped;

    rategate_init(&g);
    for (int i = 0; i < 100; i++) {
        int64_t s = start(&g, DATE_MS + i);
        ck_assert_int_eq(
            rategate_on_response(&g, DATE_MS + i, DATE_MS + i, 200, NULL, -1, -1, s, &clamped), 0);
    }
    ck_assert_int_eq(rategate_budget(&g, DATE_MS + 100), INT64_MAX);
    ck_assert_int_eq(rategate_next_start(&g, DATE_MS + 100), DATE_MS + 100);
}
END_TEST

/*
 * A simulated VOMO: fixed one-second windows on the wall-clock second, 20
 * requests each, counted when a request arrives (latency after its start),
 * and a client keeping 4 requests in flight and starting each one as soon
 * as the gate allows.  Over 30 simulated seconds, from any phase and
 * latency, the client gets at least 95% of the quota and at most 1% of its
 * requests are answered 429.
 */
struct sim_req {
    int64_t seq, arrive, answer;
    long remaining;
    bool limited;
};

static void simulate(int64_t phase_ms, int64_t latency_ms, int64_t jitter_ms, int64_t *ok,
                     int64_t *limited)
{
    uint64_t rnd = 0x9e3779b97f4a7c15ULL ^ (uint64_t)(phase_ms * 31 + latency_ms);
    struct rategate g;
    struct sim_req fly[4];
    int nfly = 0;
    int64_t t = DATE_MS + phase_ms, end = t + 30 * SEC, win = -1, count = 0;
    bool clamped;

    rategate_init(&g);
    *ok = *limited = 0;
    while (t < end) {
        /* start what the gate admits */
        while (nfly < 4 && rategate_next_start(&g, t) <= t) {
            struct sim_req *r = &fly[nfly++];
            r->seq = rategate_on_start(&g, t);
            /* A round trip of latency plus up to jitter, counted by VOMO at
             * any instant of it (its middle when there is no jitter). */
            rnd = rnd * 6364136223846793005ULL + 1442695040888963407ULL;
            int64_t rtt =
                latency_ms + (jitter_ms ? (int64_t)((rnd >> 33) % (uint64_t)(jitter_ms + 1)) : 0);
            int64_t at = jitter_ms ? (int64_t)((rnd >> 20) % 101) : 50;
            r->arrive = t + rtt * at / 100;
            r->answer = t + rtt;
            if (r->arrive / SEC != win) {
                win = r->arrive / SEC;
                count = 0;
            }
            count++;
            r->limited = count > 20;
            r->remaining = count >= 20 ? 0 : 20 - count;
        }
        /* the next event: an answer, or the gate opening */
        int64_t next = nfly < 4 ? rategate_next_start(&g, t) : INT64_MAX;
        for (int i = 0; i < nfly; i++)
            next = fly[i].answer < next ? fly[i].answer : next;
        t = next > t ? next : t + 1;
        for (int i = 0; i < nfly;) {
            if (fly[i].answer > t) {
                i++;
                continue;
            }
            rategate_on_response(&g, t, t, fly[i].limited ? 429 : 200, fly[i].limited ? "1" : NULL,
                                 20, fly[i].remaining, fly[i].seq, &clamped);
            *(fly[i].limited ? limited : ok) += 1;
            fly[i] = fly[--nfly];
        }
    }
}

START_TEST(simulated_quota_used_without_429s)
{
    int64_t phases[] = {0, 1, 137, 500, 981, 999};
    int64_t latencies[] = {0, 2, 20, 90};
    for (size_t p = 0; p < sizeof(phases) / sizeof(phases[0]); p++)
        for (size_t l = 0; l < sizeof(latencies) / sizeof(latencies[0]); l++) {
            int64_t ok, limited;
            simulate(phases[p], latencies[l], 0, &ok, &limited);
            /* 30 windows of 20: at least 95% of 600 answered 200 */
            ck_assert_msg(ok >= 570, "phase %lld latency %lld: %lld ok", (long long)phases[p],
                          (long long)latencies[l], (long long)ok);
            ck_assert_msg(limited * 100 <= ok + limited, "phase %lld latency %lld: %lld 429s",
                          (long long)phases[p], (long long)latencies[l], (long long)limited);
        }
}
END_TEST

/*
 * The same VOMO on a loaded machine: round trips that vary by up to 40 or
 * 120 ms, each request counted at any instant of its round trip (so
 * requests in flight together reach it in any order).  Without the round
 * trip added to the wait for the next window, the budget that trusts the
 * smaller count left 548 of 600 at phase 500, latency 60, jitter 120.
 */
START_TEST(jittery_round_trips_stay_inside_the_quota)
{
    int64_t phases[] = {0, 137, 500, 981};
    int64_t latencies[] = {2, 20, 60};
    int64_t jitters[] = {40, 120};
    for (size_t p = 0; p < sizeof(phases) / sizeof(phases[0]); p++)
        for (size_t l = 0; l < sizeof(latencies) / sizeof(latencies[0]); l++)
            for (size_t j = 0; j < sizeof(jitters) / sizeof(jitters[0]); j++) {
                int64_t ok, limited;
                simulate(phases[p], latencies[l], jitters[j], &ok, &limited);
                ck_assert_msg(ok >= 570, "phase %lld latency %lld jitter %lld: %lld ok",
                              (long long)phases[p], (long long)latencies[l], (long long)jitters[j],
                              (long long)ok);
                ck_assert_msg(limited * 100 <= ok + limited,
                              "phase %lld latency %lld jitter %lld: %lld 429s of %lld",
                              (long long)phases[p], (long long)latencies[l], (long long)jitters[j],
                              (long long)limited, (long long)(ok + limited));
            }
}
END_TEST

/*
 * Four requests in flight reach VOMO in another order than they started:
 * the first answered (seq 1) was counted fourth (Remaining 16), the next
 * (seq 2) first (Remaining 19).  That looked like a reset and the window
 * was counted again from seq 2 (a bench run sent 21 requests into a window
 * of 20); whatever the answers say, no more than the limit start in one
 * window.
 */
START_TEST(reordered_arrivals_never_exceed_the_limit)
{
    struct rategate g;
    bool clamped;
    int64_t t = DATE_MS + 300;

    rategate_init(&g);
    int64_t first = start(&g, t);
    for (int i = 0; i < 3; i++)
        start(&g, t);
    rategate_on_response(&g, t + 5, t + 5, 200, NULL, 20, 16, first, &clamped);
    rategate_on_response(&g, t + 6, t + 6, 200, NULL, 20, 19, first + 1, &clamped);
    int started = 4;
    while (rategate_next_start(&g, t + 7) <= t + 7) {
        start(&g, t + 7);
        started++;
    }
    ck_assert_int_eq(started, 20);
    /* The answer of a later start counted early cannot raise it either. */
    rategate_on_response(&g, t + 8, t + 8, 200, NULL, 20, 18, first + 5, &clamped);
    ck_assert_int_le(rategate_budget(&g, t + 8), 0);
}
END_TEST

static Suite *rategate_suite(void)
{
    Suite *s = suite_create("rategate");
    TCase *tc = tcase_create("core");

    tcase_add_test(tc, retry_after_seconds);
    tcase_add_test(tc, retry_after_http_date);
    tcase_add_test(tc, http_date_is_read_on_the_wall_clock_and_waited_on_the_monotonic_one);
    tcase_add_test(tc, retry_after_garbage);
    tcase_add_test(tc, block_covers_every_request_until_the_time);
    tcase_add_test(tc, block_from_http_date);
    tcase_add_test(tc, zero_waits_nothing_and_is_not_clamped);
    tcase_add_test(tc, absurd_values_clamped);
    tcase_add_test(tc, block_never_shortened);
    tcase_add_test(tc, budget_counts_requests_in_flight);
    tcase_add_test(tc, reset_seen_in_remaining_moves_the_window);
    tcase_add_test(tc, no_headers_no_budget);
    tcase_add_test(tc, simulated_quota_used_without_429s);
    tcase_add_test(tc, jittery_round_trips_stay_inside_the_quota);
    tcase_add_test(tc, reordered_arrivals_never_exceed_the_limit);
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
