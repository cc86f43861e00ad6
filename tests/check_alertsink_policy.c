/*
 * check_alertsink_policy.c - the pure half of the alert targets
 * (alertsink_policy.c, declared in alertsink.h), with every instant
 * injected: the webhook body's nulls and escapes, the Idempotency-Key's
 * defaults, the signature against a known HMAC, the verdict at each edge
 * of the status ranges, the retry delay's clamp exactly at
 * ALERTSINK_MAX_WAIT_MS, the Alertmanager schedule walked through a day
 * of alternating failures, the v2 body with absent labels, the queue's
 * pick at the first and the last message and at next_at == now, and the
 * instance name's edges.  check_alertsink.c keeps the end-to-end cases.
 */
#include <check.h>
#include <cjson/cJSON.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "alertsink.h"
#include "backoff.h"
#include "util.h"

#define T0 1796100000LL /* unix seconds */

static const struct backoff_policy pol = {.base_ms = 1000, .max_ms = 300000, .max_attempts = 12};

static cJSON *get(cJSON *o, const char *k)
{
    return cJSON_GetObjectItem(o, k);
}

START_TEST(webhook_body_fields_nulls_and_escapes)
{
    struct alert_event ev = {.id = 42,
                             .name = "VomoServerErrors",
                             .state = "firing",
                             .severity = "critical",
                             .tenant = "ac\"me\\",
                             .resource = "",
                             .summary = "line1\nline2",
                             .started_at = T0,
                             .resolved_at = 0};
    char *body = alertsink_webhook_body(&ev, NULL);
    cJSON *j = cJSON_Parse(body);
    ck_assert_msg(j != NULL, "not JSON: %s", body);
    ck_assert_str_eq(get(j, "source")->valuestring, "vomo-sync");
    ck_assert(cJSON_IsNull(get(j, "instance"))); /* absent instance: null */
    ck_assert_int_eq((int64_t)get(j, "id")->valuedouble, 42);
    ck_assert_str_eq(get(j, "alert")->valuestring, "VomoServerErrors");
    ck_assert_str_eq(get(j, "state")->valuestring, "firing");
    ck_assert_str_eq(get(j, "tenant")->valuestring, "ac\"me\\");
    ck_assert(cJSON_IsNull(get(j, "resource"))); /* empty: null */
    ck_assert_str_eq(get(j, "summary")->valuestring, "line1\nline2");
    char ts[TS_LEN];
    ts_format(T0 * 1000, ts);
    ck_assert_str_eq(get(j, "started_at")->valuestring, ts);
    ck_assert(cJSON_IsNull(get(j, "resolved_at"))); /* firing: not resolved */
    cJSON_Delete(j);
    free(body);

    /* Resolved, every string absent: still a valid document. */
    struct alert_event bare = {.id = 0, .resolved_at = T0 + 1, .started_at = -5};
    body = alertsink_webhook_body(&bare, "");
    j = cJSON_Parse(body);
    ck_assert_msg(j != NULL, "not JSON: %s", body);
    ck_assert(cJSON_IsNull(get(j, "instance")));
    ck_assert(cJSON_IsNull(get(j, "alert")));
    ck_assert(cJSON_IsNull(get(j, "state")));
    ck_assert(cJSON_IsNull(get(j, "summary")));
    ck_assert(cJSON_IsNull(get(j, "started_at"))); /* <= 0: null */
    ts_format((T0 + 1) * 1000, ts);
    ck_assert_str_eq(get(j, "resolved_at")->valuestring, ts);
    cJSON_Delete(j);
    free(body);
}
END_TEST

START_TEST(idempotency_key_defaults)
{
    struct alert_event ev = {.id = 7, .state = "resolved"};
    char *k = alertsink_idempotency_key(&ev, "h1:acme");
    ck_assert_str_eq(k, "alert:h1:acme:7:resolved");
    free(k);
    k = alertsink_idempotency_key(&ev, NULL);
    ck_assert_str_eq(k, "alert:vomo-sync:7:resolved");
    free(k);
    k = alertsink_idempotency_key(&ev, "");
    ck_assert_str_eq(k, "alert:vomo-sync:7:resolved");
    free(k);
    ev.state = NULL;
    ev.id = -1;
    k = alertsink_idempotency_key(&ev, "h");
    ck_assert_str_eq(k, "alert:h:-1:");
    free(k);
}
END_TEST

START_TEST(signature_is_hmac_sha256_of_exactly_len_bytes)
{
    /* RFC 4231 test case 2: key "Jefe", data "what do ya want for nothing?". */
    const char *data = "what do ya want for nothing?";
    char *sig = alertsink_signature("Jefe", data, strlen(data));
    ck_assert_str_eq(sig,
                     "sha256=5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
    free(sig);
    /* Only len bytes are signed: a longer buffer cut at len signs the same. */
    char *cut = alertsink_signature("Jefe", "what do ya want for nothing?TRAILER", strlen(data));
    ck_assert_str_eq(cut,
                     "sha256=5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
    free(cut);
    char *empty = alertsink_signature("k", "", 0);
    ck_assert_int_eq(strlen(empty), strlen("sha256=") + 64);
    free(empty);
}
END_TEST

START_TEST(verdict_at_every_edge)
{
    /* A transport error means retry whatever the status says. */
    ck_assert_int_eq(alertsink_verdict(7, 200), ALERTSINK_RETRY);
    ck_assert_int_eq(alertsink_verdict(0, 0), ALERTSINK_RETRY);
    ck_assert_int_eq(alertsink_verdict(0, 199), ALERTSINK_GIVE_UP);
    ck_assert_int_eq(alertsink_verdict(0, 200), ALERTSINK_DONE);
    ck_assert_int_eq(alertsink_verdict(0, 299), ALERTSINK_DONE);
    ck_assert_int_eq(alertsink_verdict(0, 300), ALERTSINK_GIVE_UP);
    ck_assert_int_eq(alertsink_verdict(0, 407), ALERTSINK_GIVE_UP);
    ck_assert_int_eq(alertsink_verdict(0, 408), ALERTSINK_RETRY);
    ck_assert_int_eq(alertsink_verdict(0, 409), ALERTSINK_GIVE_UP);
    ck_assert_int_eq(alertsink_verdict(0, 428), ALERTSINK_GIVE_UP);
    ck_assert_int_eq(alertsink_verdict(0, 429), ALERTSINK_RETRY);
    ck_assert_int_eq(alertsink_verdict(0, 430), ALERTSINK_GIVE_UP);
    ck_assert_int_eq(alertsink_verdict(0, 499), ALERTSINK_GIVE_UP);
    ck_assert_int_eq(alertsink_verdict(0, 500), ALERTSINK_RETRY);
    ck_assert_int_eq(alertsink_verdict(0, 599), ALERTSINK_RETRY);
}
END_TEST

START_TEST(retry_delay_clamp_boundaries)
{
    int64_t wall = T0 * 1000;
    int64_t max_s = ALERTSINK_MAX_WAIT_MS / 1000;
    char v[32];
    /* Exactly the clamp, one second under, one second over. */
    snprintf(v, sizeof(v), "%lld", (long long)max_s);
    ck_assert_int_eq(alertsink_retry_delay(&pol, 1, 0, v, wall), ALERTSINK_MAX_WAIT_MS);
    snprintf(v, sizeof(v), "%lld", (long long)max_s - 1);
    ck_assert_int_eq(alertsink_retry_delay(&pol, 1, 0, v, wall), ALERTSINK_MAX_WAIT_MS - 1000);
    snprintf(v, sizeof(v), "%lld", (long long)max_s + 1);
    ck_assert_int_eq(alertsink_retry_delay(&pol, 1, 0, v, wall), ALERTSINK_MAX_WAIT_MS);
    /* "0" and an empty header: the backoff alone. */
    ck_assert_int_eq(alertsink_retry_delay(&pol, 2, 1500, "0", wall), 1500);
    ck_assert_int_eq(alertsink_retry_delay(&pol, 2, 1500, "", wall), 1500);
    /* A backoff policy whose ceiling exceeds the clamp is clamped too. */
    struct backoff_policy big = {.base_ms = 1000, .max_ms = 3600000, .max_attempts = 30};
    for (int retry = 1; retry <= 30; retry++) {
        int64_t d = alertsink_retry_delay(&big, retry, UINT64_MAX, NULL, wall);
        ck_assert_int_ge(d, 0);
        ck_assert_int_le(d, ALERTSINK_MAX_WAIT_MS);
    }
    ck_assert_int_eq(alertsink_retry_delay(&big, 30, 3600000, NULL, wall), ALERTSINK_MAX_WAIT_MS);
    /* An HTTP date in the past does not wait. */
    ck_assert_int_eq(alertsink_retry_delay(&pol, 1, 0, "Thu, 01 Jan 1970 00:00:01 GMT", wall), 0);
}
END_TEST

START_TEST(alertmanager_schedule_through_a_day_of_flapping)
{
    /* Monotonic ms from 0; sends succeed and fail in turn for 24 h: never
     * a send later than resend_ms after the previous one, never before it,
     * and the failure count resets are the caller's (here: 1 each time). */
    const int64_t resend = 60000;
    int64_t t = 0, wall = T0 * 1000;
    int sends = 0;
    bool ok = true;
    while (t < 24 * 3600 * 1000LL) {
        int64_t next = alertsink_am_next(ok, ok ? 0 : 1, t, resend, &pol, 999, NULL, wall);
        ck_assert_int_ge(next, t);
        ck_assert_int_le(next - t, resend);
        ck_assert_int_eq(next - t, ok ? resend : 999); /* first failure: the jittered 999 ms */
        wall += next - t;
        t = next;
        ok = !ok;
        sends++;
    }
    ck_assert_int_gt(sends, 24 * 60);
    /* A Retry-After equal to resend waits exactly resend; the backoff of a
     * long failure streak is capped by resend, not by the clamp. */
    ck_assert_int_eq(alertsink_am_next(false, 1, 1000, resend, &pol, 0, "60", wall), 1000 + resend);
    ck_assert_int_eq(alertsink_am_next(false, 50, 1000, resend, &pol, 300000, NULL, wall),
                     1000 + resend);
    /* A resend period above the clamp: failures wait at most the clamp. */
    ck_assert_int_eq(alertsink_am_next(false, 1, 0, 3600000, &pol, 0, "86400", wall),
                     ALERTSINK_MAX_WAIT_MS);
}
END_TEST

START_TEST(alertmanager_body_labels_and_defaults)
{
    struct alertsink_am_alert a[3] = {
        {.id = 1, .name = (char *)"A", .started_at = T0}, /* no severity, tenant, summary */
        {.id = 2,
         .name = (char *)"B",
         .severity = (char *)"warning",
         .tenant = (char *)"t\"x",
         .resource = (char *)"users",
         .summary = (char *)"",
         .started_at = T0 + 1,
         .resolved_at = T0 + 100},
        {.id = 3, .name = (char *)"C", .started_at = T0 + 2},
    };
    int64_t wall = (T0 + 200) * 1000;
    char *body = alertsink_am_body(a, 3, NULL, wall, 240000);
    cJSON *j = cJSON_Parse(body);
    ck_assert_msg(j != NULL, "not JSON: %s", body);
    ck_assert_int_eq(cJSON_GetArraySize(j), 3);
    cJSON *x = cJSON_GetArrayItem(j, 0), *y = cJSON_GetArrayItem(j, 1),
          *z = cJSON_GetArrayItem(j, 2);
    cJSON *lx = get(x, "labels"), *ly = get(y, "labels");
    /* The first alert: only alertname and the default instance. */
    ck_assert_int_eq(cJSON_GetArraySize(lx), 2);
    ck_assert_str_eq(get(lx, "alertname")->valuestring, "A");
    ck_assert_str_eq(get(lx, "instance")->valuestring, "vomo-sync");
    ck_assert_str_eq(get(get(x, "annotations"), "summary")->valuestring, "");
    ck_assert_int_eq(cJSON_GetArraySize(ly), 5);
    ck_assert_str_eq(get(ly, "tenant")->valuestring, "t\"x");
    ck_assert_str_eq(get(ly, "resource")->valuestring, "users");
    char ts[TS_LEN];
    ts_format((T0 + 100) * 1000, ts);
    ck_assert_str_eq(get(y, "endsAt")->valuestring, ts);
    /* The last alert is firing: endsAt ahead of the wall clock. */
    ts_format(wall + 240000, ts);
    ck_assert_str_eq(get(z, "endsAt")->valuestring, ts);
    ts_format((T0 + 2) * 1000, ts);
    ck_assert_str_eq(get(z, "startsAt")->valuestring, ts);
    cJSON_Delete(j);
    free(body);
}
END_TEST

START_TEST(pick_first_last_and_due_now)
{
    int64_t wake = 0;
    /* Empty queue. */
    ck_assert_int_eq(alertsink_pick(NULL, 0, 1000, &wake), -1);
    ck_assert_int_eq(wake, INT64_MAX);
    /* next_at == now is due; the first due one is taken. */
    struct alertsink_msg q[3] = {
        {.episode = 1, .next_at = 1000},
        {.episode = 2, .next_at = 1000},
        {.episode = 3, .next_at = 1001},
    };
    ck_assert_int_eq(alertsink_pick(q, 3, 1000, &wake), 0);
    ck_assert_int_eq(wake, 1001);
    ck_assert_int_eq(alertsink_pick(q, 3, 999, &wake), -1);
    ck_assert_int_eq(wake, 1000);
    /* Only the last one due. */
    q[0].in_flight = q[1].in_flight = true;
    ck_assert_int_eq(alertsink_pick(q, 3, 1001, &wake), 2);
    ck_assert_int_eq(wake, INT64_MAX);
    /* Everything in flight: nothing, and no wake-up. */
    q[2].in_flight = true;
    ck_assert_int_eq(alertsink_pick(q, 3, 5000, &wake), -1);
    ck_assert_int_eq(wake, INT64_MAX);
    /* A later message of an in-flight episode waits for it, and does not
     * set the wake-up either (it cannot go when its time comes). */
    struct alertsink_msg r[2] = {
        {.episode = 9, .next_at = 0, .in_flight = true},
        {.episode = 9, .next_at = 10},
    };
    ck_assert_int_eq(alertsink_pick(r, 2, 100, &wake), -1);
    ck_assert_int_eq(wake, INT64_MAX);
}
END_TEST

START_TEST(instance_name_edges)
{
    char out[ALERTSINK_INSTANCE_MAX];
    alertsink_instance_name(NULL, NULL, out);
    ck_assert_str_eq(out, "vomo-sync");
    alertsink_instance_name("h", "acme.ini", out); /* no directory */
    ck_assert_str_eq(out, "h:acme");
    alertsink_instance_name("h", "/etc/.ini", out); /* nothing before .ini */
    ck_assert_str_eq(out, "h");
    alertsink_instance_name("h", "/etc/a.ini", out); /* shortest name */
    ck_assert_str_eq(out, "h:a");
    alertsink_instance_name("h", "/etc/x.conf", out);
    ck_assert_str_eq(out, "h");
    alertsink_instance_name("h", "/srv/vomo-sync.ini/acme.ini", out);
    ck_assert_str_eq(out, "h:acme");
    alertsink_instance_name("h", "/etc/", out);
    ck_assert_str_eq(out, "h");
    /* A long host and name are cut to the buffer, NUL-terminated. */
    char host[300];
    memset(host, 'x', sizeof(host) - 1);
    host[sizeof(host) - 1] = '\0';
    alertsink_instance_name(host, "/etc/acme.ini", out);
    ck_assert_int_eq(strlen(out), ALERTSINK_INSTANCE_MAX - 1);
}
END_TEST

static Suite *alertsink_policy_suite(void)
{
    Suite *s = suite_create("alertsink_policy");
    TCase *tc = tcase_create("core");
    tcase_add_test(tc, webhook_body_fields_nulls_and_escapes);
    tcase_add_test(tc, idempotency_key_defaults);
    tcase_add_test(tc, signature_is_hmac_sha256_of_exactly_len_bytes);
    tcase_add_test(tc, verdict_at_every_edge);
    tcase_add_test(tc, retry_delay_clamp_boundaries);
    tcase_add_test(tc, alertmanager_schedule_through_a_day_of_flapping);
    tcase_add_test(tc, alertmanager_body_labels_and_defaults);
    tcase_add_test(tc, pick_first_last_and_due_now);
    tcase_add_test(tc, instance_name_edges);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(alertsink_policy_suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed == 0 ? 0 : 1;
}
