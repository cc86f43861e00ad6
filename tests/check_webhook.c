/*
 * check_webhook.c - a webhook destination that answers as misconfigured
 * (401, 403, 404, 410, or a signature it rejects) pauses: records wait,
 * nothing is dead-lettered, the operator is told (tenant_state), one probe
 * goes out every breaker.open_timeout, and deliveries resume by themselves
 * when the endpoint recovers or at once when the secret file changes.
 */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "testutil.h"
#include "util.h"

struct ctx {
    struct tu_env *env;
    int64_t want;
};

static int deliveries(struct tu_env *env, int status)
{
    struct fake_delivery *d;
    size_t n;
    ck_assert_int_eq(fake_deliveries(env->fake, &d, &n), 0);
    int k = 0;
    for (size_t i = 0; i < n; i++)
        if (status == 0 || d[i].status == status)
            k++;
    fake_deliveries_free(d, n);
    return k;
}

static bool paused(void *arg)
{
    struct ctx *c = arg;
    char *st = tu_db_text(c->env, "SELECT status FROM tenant_state WHERE tenant = 'acme'", NULL);
    bool yes = st && strcmp(st, "destination_paused") == 0;
    free(st);
    return yes;
}

static bool all_held(void *arg)
{
    struct ctx *c = arg;
    return tu_db_int(c->env, "SELECT count(*) FROM records WHERE tenant = 'acme'", NULL) == c->want;
}

/* The endpoint answers `status` until it is fixed: a pause, probes at the
 * open_timeout pace, then everything delivered and nothing dead-lettered. */
static void misconfigured_endpoint(int status)
{
    struct tu_env env;
    tu_env_init(&env, NULL);
    tu_tenant(&env, "acme", 40, 0, 0);
    tu_fake_start(&env);
    struct fake_fault rule = {.path = "/_hooks/*", .kind = FAKE_FAULT_STATUS, .status = status};
    ck_assert_int_gt(fake_add_fault(env.fake, &rule), 0);
    char *ini = tu_webhook_tenant_ini(&env, "acme", "users", "s3cret-value", NULL, NULL);
    tu_config(&env, "breaker.open_timeout = 400ms\nretry.max_attempts = 3\n", ini);
    struct tu_engine te;
    tu_engine_start(&env, &te);
    struct ctx c = {.env = &env, .want = 40};
    ck_assert(tu_run_until(&te, paused, &c, 5000));
    int before = deliveries(&env, 0);
    tu_run_for(&te, 1000);
    int during = deliveries(&env, 0) - before;
    /* One probe per 400 ms over 1 s: 2 or 3, never the whole backlog. */
    ck_assert_int_ge(during, 1);
    ck_assert_int_le(during, 4);
    ck_assert_int_eq(tu_db_int(&env, "SELECT count(*) FROM dlq", NULL), 0);
    ck_assert_int_eq(tu_db_int(&env, "SELECT count(*) FROM records", NULL), 0);
    fake_clear_faults(env.fake);
    ck_assert(tu_run_until(&te, all_held, &c, 5000));
    tu_engine_stop(&te);
    ck_assert_int_eq(deliveries(&env, 200), 40);
    ck_assert_int_eq(tu_db_int(&env, "SELECT count(*) FROM dlq", NULL), 0);
    char *st = tu_db_text(&env, "SELECT status FROM tenant_state WHERE tenant = 'acme'", NULL);
    ck_assert_str_eq(st, "ok");
    free(st);
    free(ini);
    tu_env_cleanup(&env);
}

START_TEST(unauthorized_endpoint_pauses_then_resumes)
{
    misconfigured_endpoint(401);
}
END_TEST

START_TEST(forbidden_endpoint_pauses_then_resumes)
{
    misconfigured_endpoint(403);
}
END_TEST

START_TEST(missing_endpoint_pauses_then_resumes)
{
    misconfigured_endpoint(404);
}
END_TEST

START_TEST(gone_endpoint_pauses_then_resumes)
{
    misconfigured_endpoint(410);
}
END_TEST

/* A wrong secret: the sink rejects every signature.  Probes are an hour
 * apart, so only the fixed secret file can resume deliveries - at once. */
START_TEST(fixed_secret_file_resumes_at_once)
{
    struct tu_env env;
    tu_env_init(&env, NULL);
    tu_tenant(&env, "acme", 30, 0, 0);
    tu_fake_start(&env);
    char *ini =
        tu_webhook_tenant_ini(&env, "acme", "users", "the-wrong-secret", "the-right-secret", NULL);
    tu_config(&env, "breaker.open_timeout = 1h\n", ini);
    struct tu_engine te;
    tu_engine_start(&env, &te);
    struct ctx c = {.env = &env, .want = 30};
    ck_assert(tu_run_until(&te, paused, &c, 5000));
    tu_run_for(&te, 300);
    int rejected = deliveries(&env, 401);
    ck_assert_int_ge(rejected, 1);
    ck_assert_int_eq(deliveries(&env, 200), 0);
    tu_write(&env, "acme.secret", "the-right-secret\n");
    ck_assert(tu_run_until(&te, all_held, &c, 6000)); /* the watch reads it within 2 s */
    tu_engine_stop(&te);
    ck_assert_int_eq(deliveries(&env, 200), 30);
    ck_assert_int_eq(deliveries(&env, 401), rejected);
    ck_assert_int_eq(tu_db_int(&env, "SELECT count(*) FROM dlq", NULL), 0);
    struct fake_delivery *d;
    size_t n;
    ck_assert_int_eq(fake_deliveries(env.fake, &d, &n), 0);
    for (size_t i = 0; i < n; i++)
        if (d[i].status == 200)
            ck_assert(d[i].signature_ok);
    fake_deliveries_free(d, n);
    free(ini);
    tu_env_cleanup(&env);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("webhook");
    TCase *tc = tcase_create("pause");
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, unauthorized_endpoint_pauses_then_resumes);
    tcase_add_test(tc, forbidden_endpoint_pauses_then_resumes);
    tcase_add_test(tc, missing_endpoint_pauses_then_resumes);
    tcase_add_test(tc, gone_endpoint_pauses_then_resumes);
    tcase_add_test(tc, fixed_secret_file_resumes_at_once);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
