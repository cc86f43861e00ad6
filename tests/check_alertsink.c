/*
 * check_alertsink.c - the alert targets of [alerts].  The pure policy
 * (bodies, keys, signatures, verdicts, retry delays, the Alertmanager
 * schedule and body, the queue's order) walked with injected instants;
 * the webhook against vomo-fake's sink, which verifies signatures (one
 * firing and one resolved POST, signed; a 503 retried; a 429 waits for
 * Retry-After; a 400 given up; a replayed episode not posted again); the
 * Alertmanager target against a recording server in the test (re-sent
 * while firing, replays included, retried after a 503, quiet once the
 * resolve was accepted) and against the real Alertmanager when the Debian
 * package prometheus-alertmanager is installed; and the real daemon with
 * both targets configured (runs, stops cleanly, never shows the secret).
 * What the targets did is counted, and read on a scrape of the registry:
 * vomo_sync_alert_notifications_total by target and outcome, and the
 * webhook queue's length.
 * Every case closes its handles and its loop.
 */
#include <arpa/inet.h>
#include <check.h>
#include <cjson/cJSON.h>
#include <curl/curl.h>
#include <errno.h>
#include <fcntl.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "alertsink.h"
#include "log.h"
#include "obs.h"
#include "sign.h"
#include "testutil.h"
#include "util.h"

#define T0 1796100000 /* 2026-12-02T... unix seconds */

static struct alert_event event(int64_t id, const char *state, bool replay)
{
    bool resolved = strcmp(state, "resolved") == 0;
    return (struct alert_event){
        .id = id,
        .name = "VomoServerErrors",
        .tenant = "acme",
        .resource = "",
        .severity = "critical",
        .state = state,
        .started_at = T0,
        .resolved_at = resolved ? T0 + 600 : 0,
        .summary = "7 VOMO 5xx in 5 min for \"acme\"",
        .replay = replay,
    };
}

/* ---- pure policy ------------------------------------------------------ */

START_TEST(webhook_body_has_the_fields)
{
    struct alert_event ev = event(42, "firing", false);
    char *body = alertsink_webhook_body(&ev, "host1");
    cJSON *j = cJSON_Parse(body);
    ck_assert_ptr_nonnull(j);
    ck_assert_str_eq(cJSON_GetObjectItem(j, "source")->valuestring, "vomo-sync");
    ck_assert_str_eq(cJSON_GetObjectItem(j, "instance")->valuestring, "host1");
    ck_assert_int_eq(cJSON_GetObjectItem(j, "id")->valueint, 42);
    ck_assert_str_eq(cJSON_GetObjectItem(j, "alert")->valuestring, "VomoServerErrors");
    ck_assert_str_eq(cJSON_GetObjectItem(j, "state")->valuestring, "firing");
    ck_assert_str_eq(cJSON_GetObjectItem(j, "severity")->valuestring, "critical");
    ck_assert_str_eq(cJSON_GetObjectItem(j, "tenant")->valuestring, "acme");
    ck_assert(cJSON_IsNull(cJSON_GetObjectItem(j, "resource")));
    ck_assert_str_eq(cJSON_GetObjectItem(j, "summary")->valuestring, ev.summary);
    char ts[TS_LEN];
    ts_format((int64_t)T0 * 1000, ts);
    ck_assert_str_eq(cJSON_GetObjectItem(j, "started_at")->valuestring, ts);
    ck_assert(cJSON_IsNull(cJSON_GetObjectItem(j, "resolved_at")));
    cJSON_Delete(j);
    free(body);

    ev = event(42, "resolved", false);
    ev.tenant = "";
    body = alertsink_webhook_body(&ev, "host1");
    j = cJSON_Parse(body);
    ck_assert_ptr_nonnull(j);
    ck_assert(cJSON_IsNull(cJSON_GetObjectItem(j, "tenant")));
    ts_format((int64_t)(T0 + 600) * 1000, ts);
    ck_assert_str_eq(cJSON_GetObjectItem(j, "resolved_at")->valuestring, ts);
    cJSON_Delete(j);
    free(body);
}
END_TEST

START_TEST(idempotency_key_is_stable_per_episode_and_state)
{
    struct alert_event f = event(7, "firing", false), r = event(7, "resolved", false);
    struct alert_event replayed = event(7, "firing", true), other = event(8, "firing", false);
    char *a = alertsink_idempotency_key(&f, "h"), *b = alertsink_idempotency_key(&replayed, "h");
    char *c = alertsink_idempotency_key(&r, "h"), *d = alertsink_idempotency_key(&other, "h");
    char *e = alertsink_idempotency_key(&f, "other-host");
    ck_assert_str_eq(a, "alert:h:7:firing");
    ck_assert_str_eq(a, b);
    ck_assert_str_eq(c, "alert:h:7:resolved");
    ck_assert_str_ne(a, d);
    ck_assert_str_ne(a, e);
    free(a), free(b), free(c), free(d), free(e);
}
END_TEST

START_TEST(signature_is_the_delivery_signature)
{
    const char *body = "{\"x\":1}";
    char want[SHA256_HEX_LEN];
    sign_hmac_sha256_hex("k3y", 3, body, strlen(body), want);
    char *sig = alertsink_signature("k3y", body, strlen(body));
    ck_assert_int_eq(strncmp(sig, "sha256=", 7), 0);
    ck_assert_str_eq(sig + 7, want);
    free(sig);
}
END_TEST

START_TEST(verdicts)
{
    ck_assert_int_eq(alertsink_verdict(0, 200), ALERTSINK_DONE);
    ck_assert_int_eq(alertsink_verdict(0, 204), ALERTSINK_DONE);
    ck_assert_int_eq(alertsink_verdict(CURLE_OPERATION_TIMEDOUT, 0), ALERTSINK_RETRY);
    ck_assert_int_eq(alertsink_verdict(CURLE_COULDNT_CONNECT, 0), ALERTSINK_RETRY);
    ck_assert_int_eq(alertsink_verdict(0, 408), ALERTSINK_RETRY);
    ck_assert_int_eq(alertsink_verdict(0, 429), ALERTSINK_RETRY);
    ck_assert_int_eq(alertsink_verdict(0, 500), ALERTSINK_RETRY);
    ck_assert_int_eq(alertsink_verdict(0, 503), ALERTSINK_RETRY);
    ck_assert_int_eq(alertsink_verdict(0, 400), ALERTSINK_GIVE_UP);
    ck_assert_int_eq(alertsink_verdict(0, 401), ALERTSINK_GIVE_UP);
    ck_assert_int_eq(alertsink_verdict(0, 404), ALERTSINK_GIVE_UP);
    ck_assert_int_eq(alertsink_verdict(0, 302), ALERTSINK_GIVE_UP);
}
END_TEST

START_TEST(retry_delay_grows_with_jitter_and_honours_retry_after)
{
    struct backoff_policy p = {.base_ms = 1000, .max_ms = 300000, .max_attempts = 12};
    int64_t wall = (int64_t)T0 * 1000;
    /* Full jitter: never above the ceiling, and the ceiling doubles. */
    for (int retry = 1; retry <= 12; retry++) {
        int64_t ceil = backoff_ceiling(&p, retry);
        ck_assert_int_eq(alertsink_retry_delay(&p, retry, UINT64_MAX - 1, NULL, wall) <= ceil, 1);
        ck_assert_int_eq(alertsink_retry_delay(&p, retry, (uint64_t)ceil, NULL, wall), ceil);
        ck_assert_int_eq(alertsink_retry_delay(&p, retry, 0, NULL, wall), 0);
    }
    ck_assert_int_eq(backoff_ceiling(&p, 3), 4000);
    ck_assert_int_eq(backoff_ceiling(&p, 12), 300000);
    /* Retry-After is a floor: seconds, an HTTP date, clamped, garbage ignored. */
    ck_assert_int_eq(alertsink_retry_delay(&p, 1, 0, "120", wall), 120000);
    char date[64];
    time_t t = (time_t)(T0 + 30);
    struct tm tm;
    gmtime_r(&t, &tm);
    strftime(date, sizeof(date), "%a, %d %b %Y %H:%M:%S GMT", &tm);
    ck_assert_int_eq(alertsink_retry_delay(&p, 1, 0, date, wall), 30001); /* never before it */
    ck_assert_int_eq(alertsink_retry_delay(&p, 1, 0, "86400", wall), ALERTSINK_MAX_WAIT_MS);
    ck_assert_int_eq(alertsink_retry_delay(&p, 1, 0, "soon", wall), 0);
    /* A Retry-After shorter than the backoff does not shorten it. */
    ck_assert_int_eq(alertsink_retry_delay(&p, 3, 4000, "1", wall), 4000);
}
END_TEST

START_TEST(alertmanager_schedule_over_hours)
{
    struct backoff_policy p = {.base_ms = 1000, .max_ms = 300000, .max_attempts = 12};
    int64_t wall = (int64_t)T0 * 1000, now = 5000, resend = 60000;
    /* While firing and answered: exactly once a minute for a day. */
    int sends = 0;
    for (int64_t t = now; t < now + 24 * 3600 * 1000LL;
         t = alertsink_am_next(true, 0, t, resend, &p, 7, NULL, wall))
        sends++;
    ck_assert_int_eq(sends, 24 * 60);
    /* Failing for hours: retries grow but never wait past the re-send period. */
    int64_t t = now;
    for (int f = 1; f <= 200; f++) {
        int64_t next = alertsink_am_next(false, f, t, resend, &p, UINT64_MAX, NULL, wall);
        ck_assert_int_gt(next, t - 1);
        ck_assert_int_le(next - t, resend);
        t = next;
    }
    ck_assert_int_eq(alertsink_am_next(false, 1, now, resend, &p, 0, "30", wall), now + 30000);
    ck_assert_int_eq(alertsink_am_next(false, 1, now, resend, &p, 0, "600", wall), now + resend);
}
END_TEST

static cJSON *label(cJSON *alert, const char *name)
{
    return cJSON_GetObjectItem(cJSON_GetObjectItem(alert, "labels"), name);
}

START_TEST(alertmanager_body)
{
    struct alertsink_am_alert a[2] = {
        {.id = 1,
         .name = (char *)"VomoServerErrors",
         .tenant = (char *)"acme",
         .resource = (char *)"",
         .severity = (char *)"critical",
         .summary = (char *)"s1",
         .started_at = T0},
        {.id = 2,
         .name = (char *)"PollingLag",
         .tenant = (char *)"beta",
         .resource = (char *)"users",
         .severity = (char *)"warning",
         .summary = (char *)"s\"2",
         .started_at = T0,
         .resolved_at = T0 + 90},
    };
    int64_t wall = (int64_t)(T0 + 60) * 1000;
    char *body = alertsink_am_body(a, 2, "host1:acme", wall, 240000);
    cJSON *j = cJSON_Parse(body);
    ck_assert_ptr_nonnull(j);
    ck_assert_int_eq(cJSON_GetArraySize(j), 2);
    cJSON *x = cJSON_GetArrayItem(j, 0), *y = cJSON_GetArrayItem(j, 1);
    ck_assert_str_eq(label(x, "alertname")->valuestring, "VomoServerErrors");
    ck_assert_str_eq(label(x, "tenant")->valuestring, "acme");
    ck_assert_str_eq(label(x, "severity")->valuestring, "critical");
    ck_assert_str_eq(label(x, "instance")->valuestring, "host1:acme");
    ck_assert_ptr_null(label(x, "resource")); /* empty = absent, as in Prometheus */
    ck_assert_str_eq(label(y, "resource")->valuestring, "users");
    ck_assert_str_eq(
        cJSON_GetObjectItem(cJSON_GetObjectItem(y, "annotations"), "summary")->valuestring, "s\"2");
    char ts[TS_LEN];
    ts_format((int64_t)T0 * 1000, ts);
    ck_assert_str_eq(cJSON_GetObjectItem(x, "startsAt")->valuestring, ts);
    ts_format(wall + 240000, ts); /* firing: a few minutes ahead */
    ck_assert_str_eq(cJSON_GetObjectItem(x, "endsAt")->valuestring, ts);
    ts_format((int64_t)(T0 + 90) * 1000, ts); /* resolved: when it was resolved */
    ck_assert_str_eq(cJSON_GetObjectItem(y, "endsAt")->valuestring, ts);
    cJSON_Delete(j);
    free(body);
    body = alertsink_am_body(a, 0, "h", wall, 240000);
    ck_assert_str_eq(body, "[]");
    free(body);
}
END_TEST

START_TEST(queue_order_keeps_an_episode_in_order)
{
    struct alertsink_msg q[4] = {
        {.episode = 1, .next_at = 500}, /* firing of 1, waiting for its retry */
        {.episode = 1, .next_at = 0},   /* resolved of 1: must not overtake */
        {.episode = 2, .next_at = 100, .in_flight = true},
        {.episode = 3, .next_at = 200},
    };
    int64_t wake;
    ck_assert_int_eq(alertsink_pick(q, 4, 100, &wake), -1);
    ck_assert_int_eq(wake, 200);
    ck_assert_int_eq(alertsink_pick(q, 4, 200, &wake), 3);
    ck_assert_int_eq(wake, 500);
    q[3].in_flight = true;
    ck_assert_int_eq(alertsink_pick(q, 4, 500, &wake), 0);
    ck_assert_int_eq(wake, INT64_MAX);
    /* The firing delivered (removed): its resolved goes next. */
    ck_assert_int_eq(alertsink_pick(q + 1, 3, 500, &wake), 0);
}
END_TEST

START_TEST(instance_names)
{
    char out[ALERTSINK_INSTANCE_MAX];
    alertsink_instance_name("h1", "/etc/vomo-sync/vomo-sync.ini", out);
    ck_assert_str_eq(out, "h1");
    alertsink_instance_name("h1", "/etc/vomo-sync/acme.ini", out);
    ck_assert_str_eq(out, "h1:acme");
    alertsink_instance_name("", "conf", out);
    ck_assert_str_eq(out, "vomo-sync");
}
END_TEST

/* ---- the sink on a loop ----------------------------------------------- */

struct rig {
    uv_loop_t loop;
    struct alertsink s;
    bool closed;
};

static void rig_start(struct rig *r, const struct alertsink_opts *o)
{
    static bool curl_ready;
    if (!curl_ready) {
        curl_global_init(CURL_GLOBAL_DEFAULT);
        curl_ready = true;
    }
    if (!getenv("VOMO_TEST_VERBOSE"))
        log_setup(LOG_ERROR, LOG_FMT_TEXT, stderr);
    memset(r, 0, sizeof(*r));
    ck_assert_int_eq(uv_loop_init(&r->loop), 0);
    ck_assert_int_eq(alertsink_init(&r->s, &r->loop, o), 0);
}

static void sleep_ms(int ms)
{
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

/* Runs the loop until pred(arg) or timeout_ms. */
static bool run_until(struct rig *r, bool (*pred)(void *), void *arg, int timeout_ms)
{
    int64_t end = clock_mono_ms() + timeout_ms;
    while (clock_mono_ms() < end) {
        uv_run(&r->loop, UV_RUN_NOWAIT);
        if (pred && pred(arg))
            return true;
        sleep_ms(2);
    }
    return pred ? pred(arg) : true;
}

static void on_closed(struct alertsink *s)
{
    container_of(s, struct rig, s)->closed = true;
}

static void rig_stop(struct rig *r)
{
    alertsink_close(&r->s, on_closed);
    uv_run(&r->loop, UV_RUN_DEFAULT);
    ck_assert(r->closed);
    ck_assert_int_eq(uv_loop_close(&r->loop), 0);
}

static void fast_opts(struct alertsink_opts *o)
{
    alertsink_opts_default(o);
    o->retry = (struct backoff_policy){.base_ms = 20, .max_ms = 100, .max_attempts = 4};
    o->timeout_ms = 2000;
    o->connect_timeout_ms = 1000;
    o->instance = "testhost";
}

/* ---- the webhook against vomo-fake ------------------------------------ */

struct hooks {
    struct tu_env *env;
    int want;
};

static int deliveries(struct tu_env *env, struct fake_delivery **d, size_t *n)
{
    ck_assert_int_eq(fake_deliveries(env->fake, d, n), 0);
    return (int)*n;
}

static bool has_deliveries(void *arg)
{
    struct hooks *h = arg;
    struct fake_delivery *d;
    size_t n;
    int k = deliveries(h->env, &d, &n);
    fake_deliveries_free(d, n);
    return k >= h->want;
}

static void webhook_rig(struct tu_env *env, struct rig *r, struct alertsink_opts *o, char *url,
                        size_t len)
{
    tu_env_init(env, NULL);
    tu_fake_start(env);
    ck_assert_int_eq(fake_set_webhook_secret(env->fake, "alerts", "al3rt-secret"), 0);
    snprintf(url, len, "http://127.0.0.1:%u/_hooks/alerts", env->port);
    fast_opts(o);
    o->webhook_url = url;
    o->webhook_secret = "al3rt-secret";
    rig_start(r, o);
}

START_TEST(webhook_posts_firing_and_resolved_signed)
{
    struct tu_env env;
    struct rig r;
    struct alertsink_opts o;
    char url[128];
    webhook_rig(&env, &r, &o, url, sizeof(url));
    struct alert_event f = event(5, "firing", false), res = event(5, "resolved", false);
    alertsink_notify(&r.s, &f);
    alertsink_notify(&r.s, &res);
    struct hooks h = {.env = &env, .want = 2};
    ck_assert(run_until(&r, has_deliveries, &h, 5000));
    run_until(&r, NULL, NULL, 100); /* nothing more comes */
    struct fake_delivery *d;
    size_t n;
    ck_assert_int_eq(deliveries(&env, &d, &n), 2);
    const char *states[] = {"firing", "resolved"};
    for (size_t i = 0; i < n; i++) {
        ck_assert_int_eq(d[i].status, 200);
        ck_assert(d[i].signature_ok);
        ck_assert_int_eq(strncmp(d[i].signature, "sha256=", 7), 0);
        char key[64];
        snprintf(key, sizeof(key), "alert:testhost:5:%s", states[i]);
        ck_assert_str_eq(d[i].idempotency_key, key);
        cJSON *j = cJSON_Parse(d[i].body);
        ck_assert_ptr_nonnull(j);
        ck_assert_str_eq(cJSON_GetObjectItem(j, "state")->valuestring, states[i]);
        ck_assert_str_eq(cJSON_GetObjectItem(j, "alert")->valuestring, "VomoServerErrors");
        ck_assert_str_eq(cJSON_GetObjectItem(j, "tenant")->valuestring, "acme");
        ck_assert_int_eq(cJSON_GetObjectItem(j, "id")->valueint, 5);
        cJSON_Delete(j);
    }
    fake_deliveries_free(d, n);
    ck_assert_uint_eq(r.s.wh_sent, 2);
    ck_assert_uint_eq(r.s.nqueue, 0);
    rig_stop(&r);
    tu_env_cleanup(&env);
}
END_TEST

START_TEST(webhook_retries_a_503_with_the_same_key)
{
    struct tu_env env;
    struct rig r;
    struct alertsink_opts o;
    char url[128];
    webhook_rig(&env, &r, &o, url, sizeof(url));
    struct fake_fault rule = {
        .path = "/_hooks/*", .kind = FAKE_FAULT_STATUS, .status = 503, .count = 1};
    ck_assert_int_gt(fake_add_fault(env.fake, &rule), 0);
    struct alert_event f = event(9, "firing", false);
    alertsink_notify(&r.s, &f);
    struct hooks h = {.env = &env, .want = 2};
    ck_assert(run_until(&r, has_deliveries, &h, 5000));
    run_until(&r, NULL, NULL, 200);
    struct fake_delivery *d;
    size_t n;
    ck_assert_int_eq(deliveries(&env, &d, &n), 2);
    ck_assert_int_eq(d[0].status, 503);
    ck_assert_int_eq(d[1].status, 200);
    ck_assert(d[1].signature_ok);
    ck_assert_str_eq(d[0].idempotency_key, d[1].idempotency_key);
    ck_assert_str_eq(d[0].body, d[1].body);
    fake_deliveries_free(d, n);
    ck_assert_uint_eq(r.s.wh_sent, 1);
    rig_stop(&r);
    tu_env_cleanup(&env);
}
END_TEST

START_TEST(webhook_waits_for_retry_after_on_429)
{
    struct tu_env env;
    struct rig r;
    struct alertsink_opts o;
    char url[128];
    webhook_rig(&env, &r, &o, url, sizeof(url));
    struct fake_fault rule = {.path = "/_hooks/*",
                              .kind = FAKE_FAULT_STATUS,
                              .status = 429,
                              .retry_after = "1",
                              .count = 1};
    ck_assert_int_gt(fake_add_fault(env.fake, &rule), 0);
    struct alert_event f = event(10, "firing", false);
    alertsink_notify(&r.s, &f);
    struct hooks h = {.env = &env, .want = 2};
    ck_assert(run_until(&r, has_deliveries, &h, 5000));
    struct fake_delivery *d;
    size_t n;
    ck_assert_int_eq(deliveries(&env, &d, &n), 2);
    ck_assert_int_eq(d[0].status, 429);
    ck_assert_int_eq(d[1].status, 200);
    /* The backoff alone would have retried within 100 ms. */
    ck_assert_int_ge(d[1].time_ms - d[0].time_ms, 900);
    fake_deliveries_free(d, n);
    rig_stop(&r);
    tu_env_cleanup(&env);
}
END_TEST

START_TEST(webhook_gives_up_on_a_refusal_and_after_its_last_try)
{
    struct tu_env env;
    struct rig r;
    struct alertsink_opts o;
    char url[128];
    webhook_rig(&env, &r, &o, url, sizeof(url));
    struct fake_fault refuse = {.path = "/_hooks/*",
                                .body_contains = "\"id\":11,",
                                .kind = FAKE_FAULT_STATUS,
                                .status = 400};
    struct fake_fault down = {.path = "/_hooks/*",
                              .body_contains = "\"id\":12,",
                              .kind = FAKE_FAULT_STATUS,
                              .status = 500};
    ck_assert_int_gt(fake_add_fault(env.fake, &refuse), 0);
    ck_assert_int_gt(fake_add_fault(env.fake, &down), 0);
    struct alert_event a = event(11, "firing", false), b = event(12, "firing", false);
    alertsink_notify(&r.s, &a);
    alertsink_notify(&r.s, &b);
    struct hooks h = {.env = &env, .want = 1 + 4};
    ck_assert(run_until(&r, has_deliveries, &h, 5000));
    run_until(&r, NULL, NULL, 400);
    struct fake_delivery *d;
    size_t n;
    ck_assert_int_eq(deliveries(&env, &d, &n), 5); /* one 400, four 500s (max_attempts) */
    fake_deliveries_free(d, n);
    ck_assert_uint_eq(r.s.wh_dropped, 2);
    ck_assert_uint_eq(r.s.nqueue, 0);
    rig_stop(&r);
    tu_env_cleanup(&env);
}
END_TEST

START_TEST(webhook_does_not_repost_a_replayed_episode)
{
    struct tu_env env;
    struct rig r;
    struct alertsink_opts o;
    char url[128];
    webhook_rig(&env, &r, &o, url, sizeof(url));
    struct alert_event replayed = event(20, "firing", true);
    alertsink_notify(&r.s, &replayed);
    run_until(&r, NULL, NULL, 300);
    struct fake_delivery *d;
    size_t n;
    ck_assert_int_eq(deliveries(&env, &d, &n), 0);
    fake_deliveries_free(d, n);
    /* Its resolve is a new transition: posted. */
    struct alert_event res = event(20, "resolved", false);
    alertsink_notify(&r.s, &res);
    struct hooks h = {.env = &env, .want = 1};
    ck_assert(run_until(&r, has_deliveries, &h, 5000));
    ck_assert_int_eq(deliveries(&env, &d, &n), 1);
    ck_assert_str_eq(d[0].idempotency_key, "alert:testhost:20:resolved");
    fake_deliveries_free(d, n);
    rig_stop(&r);
    tu_env_cleanup(&env);
}
END_TEST

START_TEST(full_queue_pushes_out_the_oldest)
{
    struct tu_env env;
    struct rig r;
    struct alertsink_opts o;
    char url[128];
    tu_env_init(&env, NULL);
    tu_fake_start(&env);
    snprintf(url, sizeof(url), "http://127.0.0.1:%u/_hooks/alerts", env.port);
    fast_opts(&o);
    o.webhook_url = url;
    o.webhook_secret = "x";
    o.max_queue = 3;
    rig_start(&r, &o);
    for (int i = 1; i <= 5; i++) {
        struct alert_event ev = event(100 + i, "firing", false);
        alertsink_notify(&r.s, &ev); /* nothing sent yet: the loop has not run */
    }
    ck_assert_uint_eq(r.s.nqueue, 3);
    ck_assert_uint_eq(r.s.wh_dropped, 2);
    ck_assert_int_eq(r.s.queue[0].episode, 103);
    struct hooks h = {.env = &env, .want = 3};
    ck_assert(run_until(&r, has_deliveries, &h, 5000));
    rig_stop(&r);
    tu_env_cleanup(&env);
}
END_TEST

/* ---- Alertmanager: a recording server --------------------------------- */

struct recorder {
    struct MHD_Daemon *d;
    uint16_t port;
    pthread_mutex_t mu;
    char *bodies[64];
    int64_t times[64];
    int n;
    int fail_next; /* answer 503 to this many */
};

struct upload {
    struct buf b;
};

static enum MHD_Result on_rec(void *cls, struct MHD_Connection *conn, const char *url,
                              const char *method, const char *version, const char *data,
                              size_t *size, void **con_cls)
{
    struct recorder *rec = cls;
    (void)version;
    struct upload *u = *con_cls;
    if (!u) {
        u = xcalloc(1, sizeof(*u));
        buf_init(&u->b, 1 << 20);
        *con_cls = u;
        return MHD_YES;
    }
    if (*size) {
        if (buf_append(&u->b, data, *size) < 0)
            return MHD_NO;
        *size = 0;
        return MHD_YES;
    }
    unsigned status = 200;
    pthread_mutex_lock(&rec->mu);
    if (strcmp(method, "POST") != 0 || strcmp(url, "/am/api/v2/alerts") != 0) {
        status = 404;
    } else if (rec->fail_next > 0) {
        rec->fail_next--;
        status = 503;
    } else if (rec->n < 64) {
        rec->times[rec->n] = clock_mono_ms();
        rec->bodies[rec->n++] = xstrdup(u->b.data ? u->b.data : "");
    }
    pthread_mutex_unlock(&rec->mu);
    struct MHD_Response *r = MHD_create_response_from_buffer(0, (void *)"", MHD_RESPMEM_PERSISTENT);
    enum MHD_Result rc = MHD_queue_response(conn, status, r);
    MHD_destroy_response(r);
    return rc;
}

static void on_rec_done(void *cls, struct MHD_Connection *c, void **con_cls,
                        enum MHD_RequestTerminationCode toe)
{
    (void)cls, (void)c, (void)toe;
    struct upload *u = *con_cls;
    if (u) {
        buf_free(&u->b);
        free(u);
    }
}

static void recorder_start(struct recorder *rec)
{
    memset(rec, 0, sizeof(*rec));
    pthread_mutex_init(&rec->mu, NULL);
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = 0};
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    rec->d = MHD_start_daemon(MHD_USE_INTERNAL_POLLING_THREAD, 0, NULL, NULL, on_rec, rec,
                              MHD_OPTION_SOCK_ADDR, &sa, MHD_OPTION_NOTIFY_COMPLETED, on_rec_done,
                              rec, MHD_OPTION_END);
    ck_assert_ptr_nonnull(rec->d);
    rec->port = MHD_get_daemon_info(rec->d, MHD_DAEMON_INFO_BIND_PORT)->port;
}

static int recorded(struct recorder *rec)
{
    pthread_mutex_lock(&rec->mu);
    int n = rec->n;
    pthread_mutex_unlock(&rec->mu);
    return n;
}

static void recorder_stop(struct recorder *rec)
{
    MHD_stop_daemon(rec->d);
    for (int i = 0; i < rec->n; i++)
        free(rec->bodies[i]);
    pthread_mutex_destroy(&rec->mu);
}

struct rec_want {
    struct recorder *rec;
    int n;
};

static bool has_recorded(void *arg)
{
    struct rec_want *w = arg;
    return recorded(w->rec) >= w->n;
}

static bool nothing_tracked(void *arg)
{
    return ((struct alertsink *)arg)->nam == 0;
}

START_TEST(alertmanager_resends_while_firing_and_stops_after_resolve)
{
    struct recorder rec;
    recorder_start(&rec);
    rec.fail_next = 1; /* the first send fails: retried with backoff */
    char url[128];
    snprintf(url, sizeof(url), "http://127.0.0.1:%u/am/", rec.port);
    struct alertsink_opts o;
    fast_opts(&o);
    o.alertmanager_url = url;
    o.am_resend_ms = 150;
    o.am_ends_ahead_ms = 600;
    struct rig r;
    rig_start(&r, &o);
    struct alert_event f = event(30, "firing", false), replayed = event(31, "firing", true);
    replayed.name = "TenantFailing";
    alertsink_notify(&r.s, &f);
    alertsink_notify(&r.s, &replayed); /* a replay is taken up again by Alertmanager */
    struct rec_want w = {.rec = &rec, .n = 4};
    ck_assert(run_until(&r, has_recorded, &w, 5000));
    pthread_mutex_lock(&rec.mu);
    for (int i = 0; i < 4; i++) {
        cJSON *j = cJSON_Parse(rec.bodies[i]);
        ck_assert_ptr_nonnull(j);
        ck_assert_int_eq(cJSON_GetArraySize(j), 2); /* both episodes, in one POST */
        cJSON *a = cJSON_GetArrayItem(j, 0);
        ck_assert_str_eq(label(a, "alertname")->valuestring, "VomoServerErrors");
        ck_assert_str_eq(label(cJSON_GetArrayItem(j, 1), "alertname")->valuestring,
                         "TenantFailing");
        /* endsAt is ahead of now while firing. */
        int64_t ends;
        ck_assert_int_eq(ts_parse(cJSON_GetObjectItem(a, "endsAt")->valuestring, &ends), 0);
        ck_assert_int_gt(ends, clock_wall_ms() - 1000);
        cJSON_Delete(j);
        if (i > 0) /* re-sent once per period, not in a tight loop */
            ck_assert_int_ge(rec.times[i] - rec.times[i - 1], 120);
    }
    pthread_mutex_unlock(&rec.mu);
    ck_assert_int_eq(r.s.am_failures, 0);
    struct alert_event res = event(30, "resolved", false), res2 = event(31, "resolved", false);
    alertsink_notify(&r.s, &res);
    alertsink_notify(&r.s, &res2);
    ck_assert(run_until(&r, nothing_tracked, &r.s, 5000)); /* the resolve was accepted */
    int sent = recorded(&rec);
    run_until(&r, NULL, NULL, 400); /* and nothing is re-sent after it */
    ck_assert_int_eq(recorded(&rec), sent);
    pthread_mutex_lock(&rec.mu);
    cJSON *j = cJSON_Parse(rec.bodies[sent - 1]);
    ck_assert_int_eq(cJSON_GetArraySize(j), 2);
    char ts[TS_LEN];
    ts_format((int64_t)(T0 + 600) * 1000, ts);
    for (int i = 0; i < 2; i++)
        ck_assert_str_eq(cJSON_GetObjectItem(cJSON_GetArrayItem(j, i), "endsAt")->valuestring, ts);
    cJSON_Delete(j);
    pthread_mutex_unlock(&rec.mu);
    ck_assert_uint_eq(r.s.nam, 0);
    rig_stop(&r);
    recorder_stop(&rec);
}
END_TEST

/* ---- metrics, read on a scrape ----------------------------------------- */

/* The process-wide registry with both targets configured (no tenants). */
static void obs_start(void)
{
    static char wh[] = "http://127.0.0.1/", am[] = "http://127.0.0.1/";
    struct config cfg;
    memset(&cfg, 0, sizeof(cfg));
    cfg.alert_webhook_url = wh;
    cfg.alertmanager_url = am;
    obs_open(&cfg);
}

/* The value of one series in a scrape ("name{a=\"x\"}" exactly), or -1. */
static double scraped(const char *series)
{
    struct buf b;
    buf_init(&b, 0);
    ck_assert_int_eq(metrics_write(obs_registry(), &b), 0);
    ck_assert_int_eq(buf_puts(&b, ""), 0);
    double v = -1;
    size_t n = strlen(series);
    for (const char *line = b.data; line && *line;
         line = strchr(line, '\n') ? strchr(line, '\n') + 1 : NULL)
        if (strncmp(line, series, n) == 0 && line[n] == ' ')
            v = strtod(line + n + 1, NULL);
    buf_free(&b);
    return v;
}

#define NOTIFIED(target, outcome)                                                                  \
    "vomo_sync_alert_notifications_total{target=\"" target "\",outcome=\"" outcome "\"}"

/*
 * The webhook: a 503 then a 200 for one message (retried 1, sent 1), a 400
 * for another (dropped 1), the queue's length as messages wait and once
 * they are gone.  Alertmanager: a failed POST then accepted ones.
 */
static bool am_sent_twice(void *arg)
{
    return ((struct alertsink *)arg)->am_sent >= 2;
}

START_TEST(notifications_are_counted_on_a_scrape)
{
    obs_start();
    ck_assert_double_eq(scraped(NOTIFIED("webhook", "sent")), 0);
    ck_assert_double_eq(scraped(NOTIFIED("alertmanager", "retried")), 0);
    ck_assert_double_eq(scraped("vomo_sync_alert_queue_length"), 0);
    struct tu_env env;
    struct rig r;
    struct alertsink_opts o;
    char url[128];
    webhook_rig(&env, &r, &o, url, sizeof(url));
    struct fake_fault once = {.path = "/_hooks/*",
                              .body_contains = "\"id\":9,",
                              .kind = FAKE_FAULT_STATUS,
                              .status = 503,
                              .count = 1};
    struct fake_fault refuse = {.path = "/_hooks/*",
                                .body_contains = "\"id\":11,",
                                .kind = FAKE_FAULT_STATUS,
                                .status = 400};
    ck_assert_int_gt(fake_add_fault(env.fake, &once), 0);
    ck_assert_int_gt(fake_add_fault(env.fake, &refuse), 0);
    struct alert_event a = event(9, "firing", false), b = event(11, "firing", false);
    alertsink_notify(&r.s, &a);
    alertsink_notify(&r.s, &b);
    ck_assert_double_eq(scraped("vomo_sync_alert_queue_length"), 2); /* the loop has not run */
    struct hooks h = {.env = &env, .want = 3};
    ck_assert(run_until(&r, has_deliveries, &h, 5000));
    run_until(&r, NULL, NULL, 200);
    ck_assert_double_eq(scraped(NOTIFIED("webhook", "sent")), 1);
    ck_assert_double_eq(scraped(NOTIFIED("webhook", "retried")), 1);
    ck_assert_double_eq(scraped(NOTIFIED("webhook", "dropped")), 1);
    ck_assert_double_eq(scraped("vomo_sync_alert_queue_length"), 0);
    ck_assert_uint_eq(r.s.wh_sent, 1);
    ck_assert_uint_eq(r.s.wh_dropped, 1);
    rig_stop(&r);
    tu_env_cleanup(&env);

    struct recorder rec;
    recorder_start(&rec);
    rec.fail_next = 1;
    snprintf(url, sizeof(url), "http://127.0.0.1:%u/am/", rec.port);
    fast_opts(&o);
    o.alertmanager_url = url;
    o.am_resend_ms = 100;
    rig_start(&r, &o);
    struct alert_event f = event(30, "firing", false);
    alertsink_notify(&r.s, &f);
    ck_assert(run_until(&r, am_sent_twice, &r.s, 5000));
    uint64_t sent = r.s.am_sent;
    rig_stop(&r);
    ck_assert_double_eq(scraped(NOTIFIED("alertmanager", "retried")), 1);
    ck_assert_double_eq(scraped(NOTIFIED("alertmanager", "sent")), (double)sent);
    ck_assert_int_ge(recorded(&rec), (int)sent);
    ck_assert_double_eq(scraped(NOTIFIED("webhook", "sent")), 1); /* untouched by the other */
    recorder_stop(&rec);
    obs_close();
}
END_TEST

/* SIGHUP: a new Alertmanager gets the tracked alerts at once, a refused
 * configuration (a webhook without secret) changes nothing, and a removed
 * Alertmanager is forgotten. */
START_TEST(reconfigure_moves_the_alertmanager)
{
    struct recorder one, two;
    recorder_start(&one);
    recorder_start(&two);
    char url1[128], url2[128];
    snprintf(url1, sizeof(url1), "http://127.0.0.1:%u/am", one.port);
    snprintf(url2, sizeof(url2), "http://127.0.0.1:%u/am", two.port);
    struct alertsink_opts o;
    fast_opts(&o);
    o.alertmanager_url = url1;
    o.am_resend_ms = 60000; /* no re-send during the test: only changes send */
    struct rig r;
    rig_start(&r, &o);
    struct alert_event f = event(50, "firing", false);
    alertsink_notify(&r.s, &f);
    struct rec_want w = {.rec = &one, .n = 1};
    ck_assert(run_until(&r, has_recorded, &w, 5000));
    struct alertsink_opts bad = o;
    bad.webhook_url = "http://127.0.0.1:9/x"; /* no secret */
    ck_assert_int_eq(alertsink_reconfigure(&r.s, &bad), -EINVAL);
    ck_assert_ptr_null(r.s.opts.webhook_url);
    o.alertmanager_url = url2;
    ck_assert_int_eq(alertsink_reconfigure(&r.s, &o), 0);
    w = (struct rec_want){.rec = &two, .n = 1};
    ck_assert(run_until(&r, has_recorded, &w, 5000));
    pthread_mutex_lock(&two.mu);
    ck_assert_ptr_nonnull(strstr(two.bodies[0], "\"alertname\":\"VomoServerErrors\""));
    pthread_mutex_unlock(&two.mu);
    ck_assert_int_eq(recorded(&one), 1);
    o.alertmanager_url = NULL;
    ck_assert_int_eq(alertsink_reconfigure(&r.s, &o), 0);
    ck_assert_uint_eq(r.s.nam, 0);
    run_until(&r, NULL, NULL, 100);
    ck_assert_int_eq(recorded(&two), 1);
    rig_stop(&r);
    recorder_stop(&one);
    recorder_stop(&two);
}
END_TEST

/* ---- the real Alertmanager -------------------------------------------- */

static const char *find_alertmanager(void)
{
    static const char *const paths[] = {"/usr/bin/prometheus-alertmanager",
                                        "/usr/local/bin/alertmanager", "/usr/bin/alertmanager"};
    for (size_t i = 0; i < ARRAY_SIZE(paths); i++)
        if (access(paths[i], X_OK) == 0)
            return paths[i];
    return NULL;
}

static uint16_t free_port(void)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in sa = {.sin_family = AF_INET};
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    ck_assert_int_eq(bind(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
    socklen_t len = sizeof(sa);
    ck_assert_int_eq(getsockname(fd, (struct sockaddr *)&sa, &len), 0);
    close(fd);
    return ntohs(sa.sin_port);
}

static pid_t am_spawn(const char *bin, struct tu_env *env, uint16_t port)
{
    const char *cfg = tu_write(env, "alertmanager.yml",
                               "route:\n  receiver: blackhole\n  group_wait: 1s\n"
                               "receivers:\n  - name: blackhole\n");
    char *cfg_arg = xasprintf("--config.file=%s", cfg);
    char *storage = xasprintf("--storage.path=%s/am-data", env->dir);
    char *listen = xasprintf("--web.listen-address=127.0.0.1:%u", port);
    char *logpath = xasprintf("%s/alertmanager.log", env->dir);
    pid_t pid = fork();
    ck_assert_int_ge(pid, 0);
    if (pid == 0) {
        int fd = open(logpath, O_WRONLY | O_CREAT | O_TRUNC, 0600);
        if (fd >= 0) {
            dup2(fd, 1);
            dup2(fd, 2);
        }
        execl(bin, bin, cfg_arg, storage, listen, "--cluster.listen-address=", "--log.level=warn",
              (char *)NULL);
        _exit(127);
    }
    free(cfg_arg), free(storage), free(listen), free(logpath);
    return pid;
}

static bool am_ready(void *arg)
{
    uint16_t port = (uint16_t)(uintptr_t)arg;
    char *body = NULL;
    long st = tu_http("GET", port, "/-/ready", &body, NULL);
    free(body);
    return st == 200;
}

/* The alert of alertname `name` in GET /api/v2/alerts, or NULL; *all keeps
 * the parsed answer (caller deletes). */
static cJSON *am_find(uint16_t port, const char *name, cJSON **all)
{
    char *body = NULL;
    ck_assert_int_eq(tu_http("GET", port, "/api/v2/alerts", &body, NULL), 200);
    *all = cJSON_Parse(body);
    free(body);
    ck_assert_ptr_nonnull(*all);
    cJSON *a;
    cJSON_ArrayForEach(a, *all)
    {
        cJSON *n = label(a, "alertname");
        if (n && cJSON_IsString(n) && strcmp(n->valuestring, name) == 0)
            return a;
    }
    return NULL;
}

struct am_wait {
    struct alertsink *s;
    uint64_t sent;
};

static bool am_sent(void *arg)
{
    struct am_wait *w = arg;
    return w->s->am_sent >= w->sent;
}

START_TEST(real_alertmanager_shows_then_resolves_the_alert)
{
    const char *bin = find_alertmanager();
    if (!bin) {
        printf("check_alertsink: prometheus-alertmanager is not installed (Debian package "
               "prometheus-alertmanager; scripts/setup installs it): the real-Alertmanager "
               "case was skipped\n");
        return;
    }
    struct tu_env env;
    tu_env_init(&env, NULL);
    uint16_t port = free_port();
    pid_t pid = am_spawn(bin, &env, port);
    ck_assert_msg(tu_wait(am_ready, (void *)(uintptr_t)port, 15000),
                  "Alertmanager did not become ready on 127.0.0.1:%u (see %s/alertmanager.log)",
                  port, env.dir);
    char url[128];
    snprintf(url, sizeof(url), "http://127.0.0.1:%u", port);
    struct alertsink_opts o;
    fast_opts(&o);
    o.alertmanager_url = url;
    struct rig r;
    rig_start(&r, &o);
    int64_t now_s = clock_wall_ms() / 1000;
    struct alert_event f = event(40, "firing", false);
    f.started_at = now_s - 60;
    f.resource = "users";
    alertsink_notify(&r.s, &f);
    struct am_wait w = {.s = &r.s, .sent = 1};
    ck_assert_msg(run_until(&r, am_sent, &w, 5000), "Alertmanager did not accept the alert");
    cJSON *all;
    cJSON *a = am_find(port, "VomoServerErrors", &all);
    ck_assert_msg(a != NULL, "GET /api/v2/alerts lacks the alert");
    ck_assert_str_eq(label(a, "tenant")->valuestring, "acme");
    ck_assert_str_eq(label(a, "resource")->valuestring, "users");
    ck_assert_str_eq(label(a, "severity")->valuestring, "critical");
    ck_assert_str_eq(label(a, "instance")->valuestring, "testhost");
    ck_assert_str_eq(
        cJSON_GetObjectItem(cJSON_GetObjectItem(a, "annotations"), "summary")->valuestring,
        f.summary);
    ck_assert_str_eq(cJSON_GetObjectItem(cJSON_GetObjectItem(a, "status"), "state")->valuestring,
                     "active");
    cJSON_Delete(all);

    struct alert_event res = f;
    res.state = "resolved";
    res.resolved_at = clock_wall_ms() / 1000;
    alertsink_notify(&r.s, &res);
    w.sent = 2;
    ck_assert(run_until(&r, am_sent, &w, 5000));
    sleep_ms(1100); /* endsAt (whole seconds) is in the past for Alertmanager */
    a = am_find(port, "VomoServerErrors", &all);
    ck_assert_msg(a == NULL, "the resolved alert is still listed as active");
    cJSON_Delete(all);
    ck_assert_uint_eq(r.s.nam, 0);
    rig_stop(&r);
    kill(pid, SIGTERM);
    ck_assert_int_eq(tu_daemon_wait(pid, 10000) >= 0, 1);
    tu_env_cleanup(&env);
}
END_TEST

/* ---- the real daemon ---------------------------------------------------- */

#define ALERT_SECRET "al3rt-s3cret-NEVER-LOGGED"

/* The daemon with both targets configured syncs, stops cleanly (no leak,
 * no handle left: ASan and the loop check), names its targets without the
 * secret, and check-config shows the secret only as [REDACTED]. */
START_TEST(daemon_runs_with_alert_targets)
{
    struct tu_env env;
    tu_env_init(&env, NULL);
    tu_tenant(&env, "acme", 20, 2, 2);
    tu_fake_start(&env);
    tu_write(&env, "alerts.secret", ALERT_SECRET "\n");
    char *tenant = tu_tenant_ini("acme", NULL);
    char *ini = xasprintf("%s[alerts]\nwebhook_url = http://127.0.0.1:%u/_hooks/alerts\n"
                          "webhook_secret_file = alerts.secret\n"
                          "alertmanager_url = http://127.0.0.1:%u/am\n",
                          tenant, env.port, env.port);
    tu_config(&env, "daemon.log_level = info\n", ini);
    const char *args[] = {"--exit-after-sync", NULL};
    pid_t pid = tu_daemon_spawn(&env, args, NULL);
    int rc = tu_daemon_wait(pid, 20000);
    char *log = tu_daemon_log(&env);
    ck_assert_msg(rc == 0, "daemon exit %d:\n%s", rc, log);
    ck_assert_msg(strstr(log, "alert targets: webhook on, alertmanager http://127.0.0.1:"), "%s",
                  log);
    ck_assert_ptr_null(strstr(log, ALERT_SECRET));
    free(log);

    char *cmd = xasprintf("'%s' --config '%s' check-config 2>&1", VOMO_SYNC_BIN, env.config_path);
    FILE *p = popen(cmd, "r");
    ck_assert_ptr_nonnull(p);
    char out[16384];
    size_t n = fread(out, 1, sizeof(out) - 1, p);
    out[n] = '\0';
    ck_assert_int_eq(pclose(p), 0);
    ck_assert_ptr_null(strstr(out, ALERT_SECRET));
    ck_assert_ptr_nonnull(strstr(out, "; alerts webhook secret: [REDACTED] (25 bytes from "));
    ck_assert_ptr_nonnull(strstr(out, "\nalertmanager_url = http://127.0.0.1:"));
    free(cmd);
    free(ini);
    free(tenant);
    tu_env_cleanup(&env);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("alertsink");
    TCase *tc = tcase_create("policy");
    tcase_add_test(tc, webhook_body_has_the_fields);
    tcase_add_test(tc, idempotency_key_is_stable_per_episode_and_state);
    tcase_add_test(tc, signature_is_the_delivery_signature);
    tcase_add_test(tc, verdicts);
    tcase_add_test(tc, retry_delay_grows_with_jitter_and_honours_retry_after);
    tcase_add_test(tc, alertmanager_schedule_over_hours);
    tcase_add_test(tc, alertmanager_body);
    tcase_add_test(tc, queue_order_keeps_an_episode_in_order);
    tcase_add_test(tc, instance_names);
    suite_add_tcase(s, tc);
    tc = tcase_create("webhook");
    tcase_set_timeout(tc, 30);
    tcase_add_test(tc, webhook_posts_firing_and_resolved_signed);
    tcase_add_test(tc, webhook_retries_a_503_with_the_same_key);
    tcase_add_test(tc, webhook_waits_for_retry_after_on_429);
    tcase_add_test(tc, webhook_gives_up_on_a_refusal_and_after_its_last_try);
    tcase_add_test(tc, webhook_does_not_repost_a_replayed_episode);
    tcase_add_test(tc, full_queue_pushes_out_the_oldest);
    suite_add_tcase(s, tc);
    tc = tcase_create("alertmanager");
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, alertmanager_resends_while_firing_and_stops_after_resolve);
    tcase_add_test(tc, reconfigure_moves_the_alertmanager);
    tcase_add_test(tc, notifications_are_counted_on_a_scrape);
    tcase_add_test(tc, real_alertmanager_shows_then_resolves_the_alert);
    suite_add_tcase(s, tc);
    tc = tcase_create("daemon");
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, daemon_runs_with_alert_targets);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
