/*
 * check_ts.c - timestamps (util.c): ISO 8601 as VOMO sends it, HTTP dates
 * as Date and Retry-After carry them, and the normalised form.  Only
 * instants in 0001..9999 UTC (after the offset) on real calendar days are
 * accepted; the inputs fuzzing found are regression cases here; and every
 * normalised timestamp parses back to the same instant, checked against
 * the C library's own calendar for many random inputs.
 */
#include <check.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "rategate.h"
#include "util.h"
#include "vomo.h"

#define MS_MIN (-62135596800000LL)   /* 0001-01-01T00:00:00.000Z */
#define MS_MAX (253402300799999LL)   /* 9999-12-31T23:59:59.999Z */

static void expect_norm(const char *in, const char *want)
{
    char out[TS_LEN];
    int rc = ts_normalise(in, out);
    ck_assert_msg(rc == 0, "%s: rejected", in);
    ck_assert_msg(strcmp(out, want) == 0, "%s: normalised to %s, want %s", in, out, want);
}

static void expect_bad(const char *in)
{
    int64_t ms = 42;
    char out[TS_LEN] = "untouched";
    ck_assert_msg(ts_parse(in, &ms) == -EINVAL, "%s: accepted", in);
    ck_assert_int_eq(ms, 42);
    ck_assert_int_eq(ts_normalise(in, out), -EINVAL);
}

START_TEST(test_iso_accepts)
{
    expect_norm("2026-11-28T08:43:07Z", "2026-11-28T08:43:07.000Z");
    expect_norm("2026-11-28T08:43:07.5+01:00", "2026-11-28T07:43:07.500Z");
    expect_norm("2026-11-28 08:43:07.123456-0230", "2026-11-28T11:13:07.123Z");
    expect_norm("2024-02-29T00:00:00Z", "2024-02-29T00:00:00.000Z");
    expect_norm("2000-02-29T12:00:00", "2000-02-29T12:00:00.000Z");
    expect_norm("0001-01-01T00:00:00Z", "0001-01-01T00:00:00.000Z");
    expect_norm("9999-12-31T23:59:59.999Z", "9999-12-31T23:59:59.999Z");
    expect_norm("9999-12-31T23:30:00+01:00", "9999-12-31T22:30:00.000Z");
    expect_norm("0001-01-01T00:30:00-01:00", "0001-01-01T01:30:00.000Z");
    expect_norm("1970-01-01T00:00:00Z", TS_EPOCH);
    expect_norm("2016-12-31T23:59:60Z", "2017-01-01T00:00:00.000Z"); /* leap second */
}
END_TEST

/* Issue 10 item 16: out-of-range instants and impossible dates. */
START_TEST(test_iso_rejects)
{
    expect_bad("0000-01-01T00:00:00+02");    /* was -001-12-31T22:00:00.000Z */
    expect_bad("9999-12-31T23:30:00-01:00"); /* was 0000-01-01T00:30:00.000Z */
    expect_bad("0001-01-01T00:30:00+01:00");
    expect_bad("0000-06-01T00:00:00Z");
    expect_bad("9999-12-31T23:59:60Z");
    expect_bad("2025-02-29T00:00:00Z");
    expect_bad("2100-02-29T00:00:00Z");
    expect_bad("2025-04-31T00:00:00Z");
    expect_bad("2025-13-01T00:00:00Z");
    expect_bad("2025-00-01T00:00:00Z");
    expect_bad("2025-01-00T00:00:00Z");
    expect_bad("2025-01-01T24:00:00Z");
    expect_bad("2025-01-01T23:60:00Z");
    expect_bad("2025-01-01T23:00:61Z");
    expect_bad("2025-01-01T23:00:00+24:00");
    expect_bad("2025-01-01T23:00:00.Z");
    expect_bad("2025-01-01");
    expect_bad("");
    ck_assert_int_eq(ts_parse(NULL, &(int64_t){0}), -EINVAL);
}
END_TEST

START_TEST(test_format_never_wraps)
{
    char out[TS_LEN];
    ts_format(MS_MIN, out);
    ck_assert_str_eq(out, "0001-01-01T00:00:00.000Z");
    ts_format(MS_MAX, out);
    ck_assert_str_eq(out, "9999-12-31T23:59:59.999Z");
    ts_format(INT64_MIN, out);
    ck_assert_str_eq(out, "0001-01-01T00:00:00.000Z");
    ts_format(INT64_MAX, out);
    ck_assert_str_eq(out, "9999-12-31T23:59:59.999Z");
    ts_format(MS_MAX + 1, out);
    ck_assert_str_eq(out, "9999-12-31T23:59:59.999Z");
    ts_format(-1, out);
    ck_assert_str_eq(out, "1969-12-31T23:59:59.999Z");
}
END_TEST

static int64_t http(const char *s)
{
    int64_t ms = 42;
    return ts_parse_http_date(s, &ms) == 0 ? ms : -1;
}

START_TEST(test_http_date)
{
    ck_assert_int_eq(http("Sun, 06 Nov 1994 08:49:37 GMT"), 784111777000LL);
    ck_assert_int_eq(http("Sun, 6 Nov 1994 08:49:37 UTC"), 784111777000LL);
    ck_assert_int_eq(http("Wed, 21 Oct 2015 07:28:00 GMT"), 1445412480000LL);
    ck_assert_int_eq(http("Fri, 31 Dec 9999 23:59:59 GMT"), MS_MAX - 999);
    /* Fuzzing: a signed overflow on the year (UBSan) and unbounded years. */
    ck_assert_int_eq(http("Sun,6Nov999919994 8:4:3UTC"), -1);
    ck_assert_int_eq(http("Fri,3Dec99992 3:5:5GMT"), -1);
    ck_assert_int_eq(http("Fri, 03 Dec 99992 03:05:05 GMT"), -1);
    ck_assert_int_eq(http("Sun, 06 Nov 2147483647 08:49:37 GMT"), -1);
    ck_assert_int_eq(http("Sun, 06 Nov -1994 08:49:37 GMT"), -1);
    ck_assert_int_eq(http("Sat, 29 Feb 2025 00:00:00 GMT"), -1);
    ck_assert_int_eq(http("Sun, 06 Nov 1994 24:00:00 GMT"), -1);
    ck_assert_int_eq(http("Sun, 06 Nov 1994 08:49:37 PST"), -1);
    ck_assert_int_eq(http("Sun, 06 Nov 1994 08:49:37 GMT trailing"), -1);
    ck_assert_int_eq(http("Sun, 006 Nov 1994 08:49:37 GMT"), -1);
    ck_assert_int_eq(http("Sun, 06 Nov 1994 08:49:370 GMT"), -1);
    ck_assert_int_eq(http(""), -1);
    ck_assert_int_eq(http(NULL), -1);
}
END_TEST

/* A header carrying such a date is ignored: Retry-After falls back to the
 * default wait (and call.c says so in the log). */
START_TEST(test_retry_after_bad_dates)
{
    int64_t w = -7;
    ck_assert_int_eq(retry_after_parse("Sun,6Nov999919994 8:4:3UTC", 0, &w), -EINVAL);
    ck_assert_int_eq(retry_after_parse("Fri,3Dec99992 3:5:5GMT", 0, &w), -EINVAL);
    ck_assert_int_eq(retry_after_parse("Sat, 29 Feb 2025 00:00:00 GMT", 0, &w), -EINVAL);
    ck_assert_int_eq(w, -7);
}
END_TEST

/* A record carrying such a timestamp is bad data (dead-lettered alone). */
START_TEST(test_record_with_bad_timestamp)
{
    static const char *const bad[] = {"9999-12-31T23:30:00-01:00", "0000-01-01T00:00:00+02",
                                      "2025-02-29T10:00:00Z"};
    for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
        char *body = xasprintf("{\"id\":7,\"updated_at\":\"%s\"}", bad[i]);
        struct vomo_record r;
        const char *err;
        ck_assert_int_eq(vomo_parse_record(body, strlen(body), &r, &err), 0);
        ck_assert_ptr_nonnull(r.error);
        ck_assert_str_eq(r.error, "updated_at is not a valid timestamp");
        ck_assert_str_eq(r.updated_at, "");
        vomo_record_free(&r);
        free(body);
    }
}
END_TEST

/* The C library's answer: valid iff timegm leaves the fields unchanged. */
static int reference(int y, int mo, int d, int h, int mi, int s, int64_t *secs)
{
    struct tm tm = {.tm_year = y - 1900, .tm_mon = mo - 1, .tm_mday = d,
                    .tm_hour = h, .tm_min = mi, .tm_sec = s};
    time_t t = timegm(&tm);
    if (tm.tm_year != y - 1900 || tm.tm_mon != mo - 1 || tm.tm_mday != d || tm.tm_hour != h ||
        tm.tm_min != mi || tm.tm_sec != s)
        return -1;
    *secs = (int64_t)t;
    return 0;
}

static int pick(int lo, int hi)
{
    return lo + (int)rand_below((uint64_t)(hi - lo + 1));
}

/*
 * Property: for random fields (many of them impossible), ts_parse accepts
 * exactly the real calendar instants within range, agrees with timegm on
 * the instant, and what ts_normalise writes parses back to the same
 * instant and normalises to itself.
 */
START_TEST(test_roundtrip_property)
{
    for (int i = 0; i < 60000; i++) {
        int y = i % 3 ? pick(0, 10000) : pick(1, 3) * (i % 2 ? 1 : 3333);
        int mo = pick(0, 13), d = pick(0, 32), h = pick(0, 24), mi = pick(0, 60), s = pick(0, 59);
        int off = i % 4 ? pick(-23 * 60 - 59, 23 * 60 + 59) : 0, ms = pick(0, 999);
        char in[64];
        snprintf(in, sizeof(in), "%04d-%02d-%02dT%02d:%02d:%02d.%03d%c%02d:%02d", y % 10000, mo, d,
                 h, mi, s, ms, off < 0 ? '-' : '+', abs(off) / 60, abs(off) % 60);
        int64_t secs, got = 0;
        int64_t want = 0;
        int valid = reference(y % 10000, mo, d, h, mi, s, &secs) == 0;
        if (valid) {
            want = secs * 1000 + ms - (int64_t)off * 60000;
            valid = want >= MS_MIN && want <= MS_MAX;
        }
        int rc = ts_parse(in, &got);
        ck_assert_msg((rc == 0) == valid, "%s: ts_parse %d, expected %s", in, rc,
                      valid ? "valid" : "invalid");
        if (!valid)
            continue;
        ck_assert_msg(got == want, "%s: %lld, want %lld", in, (long long)got, (long long)want);
        char norm[TS_LEN], again[TS_LEN];
        ck_assert_int_eq(ts_normalise(in, norm), 0);
        int64_t back;
        ck_assert_msg(ts_parse(norm, &back) == 0 && back == got, "%s -> %s does not parse back",
                      in, norm);
        ck_assert_int_eq(ts_normalise(norm, again), 0);
        ck_assert_str_eq(again, norm);
    }
    /* Formatting any instant in range parses back to it, and order holds. */
    char prev[TS_LEN] = "";
    for (int i = 0; i < 30000; i++) {
        int64_t ms = MS_MIN + (int64_t)(((double)i / 30000) * (double)(MS_MAX - MS_MIN)) +
                     (int64_t)rand_below(1000);
        if (ms > MS_MAX)
            ms = MS_MAX;
        char out[TS_LEN];
        int64_t back;
        ts_format(ms, out);
        ck_assert_msg(ts_parse(out, &back) == 0 && back == ms, "%lld -> %s", (long long)ms, out);
        ck_assert_msg(strcmp(prev, out) <= 0, "%s sorts after %s", prev, out);
        memcpy(prev, out, TS_LEN);
    }
}
END_TEST

static Suite *ts_suite(void)
{
    Suite *s = suite_create("ts");
    TCase *tc = tcase_create("ts");
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, test_iso_accepts);
    tcase_add_test(tc, test_iso_rejects);
    tcase_add_test(tc, test_format_never_wraps);
    tcase_add_test(tc, test_http_date);
    tcase_add_test(tc, test_retry_after_bad_dates);
    tcase_add_test(tc, test_record_with_bad_timestamp);
    tcase_add_test(tc, test_roundtrip_property);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(ts_suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
