/*
 * check_crash.c - crash safety of the real daemon: `vomo-sync run` is killed
 * with SIGKILL at random moments of a backfill against the in-process fake
 * VOMO and started again, several times; when it is finally let to finish,
 * the mirror equals VOMO's dataset exactly (no record missing, none extra,
 * the database intact), and a webhook destination has been sent every
 * record at least once.  This is ARCHITECTURE.md's "nothing is lost,
 * nothing is doubled" under kill -9.
 */
#include <check.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "testutil.h"
#include "util.h"

#define SQLITE_USERS 3000
#define HOOK_USERS 400

static void sleep_ms(int ms)
{
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

/* Sets up a fake with some latency, a sqlite tenant and a webhook tenant. */
static void crash_env(struct tu_env *env, char **ini)
{
    struct fake_opts o;
    fake_opts_default(&o);
    o.latency_ms = 8;
    tu_env_init(env, &o);
    tu_tenant(env, "acme", SQLITE_USERS, 60, 40);
    tu_tenant(env, "hook", HOOK_USERS, 0, 0);
    tu_fake_start(env);
    tu_write(env, "hook.secret", "hook-secret-0123");
    ck_assert_int_eq(fake_set_webhook_secret(env->fake, "hook", "hook-secret-0123"), 0);
    char *a = tu_tenant_ini("acme", NULL);
    char *more = xasprintf("resources = users\ndestination = webhook\n"
                           "webhook_url = http://127.0.0.1:%u/_hooks/hook\n"
                           "webhook_secret_file = hook.secret\n",
                           env->port);
    char *h = tu_tenant_ini("hook", more);
    *ini = xasprintf("%s%s", a, h);
    free(a);
    free(more);
    free(h);
    tu_config(env, "daemon.log_level = warn\n", *ini);
}

/* Runs the daemon to completion of one scan per resource. */
static void run_to_end(struct tu_env *env)
{
    const char *args[] = {"--exit-after-sync", NULL};
    pid_t pid = tu_daemon_spawn(env, args, NULL);
    int rc = tu_daemon_wait(pid, 15000);
    if (rc != 0) {
        char *log = tu_daemon_log(env);
        fprintf(stderr, "%s\n", log);
        free(log);
    }
    ck_assert_int_eq(rc, 0);
}

/* Every record of the webhook tenant was accepted by the sink at least once. */
static int undelivered(struct tu_env *env, const char *tenant)
{
    struct fake_record *recs;
    size_t n;
    ck_assert_int_eq(fake_records(env->fake, tenant, "users", &recs, &n), 0);
    struct fake_delivery *d;
    size_t nd;
    ck_assert_int_eq(fake_deliveries(env->fake, &d, &nd), 0);
    int missing = 0;
    for (size_t i = 0; i < n; i++) {
        char key[128];
        snprintf(key, sizeof(key), "%s:users:%s:%s", tenant, recs[i].id, recs[i].updated_at);
        bool seen = false;
        for (size_t k = 0; k < nd && !seen; k++)
            seen = d[k].status / 100 == 2 && d[k].signature_ok &&
                   strcmp(d[k].idempotency_key, key) == 0;
        missing += !seen;
    }
    fake_deliveries_free(d, nd);
    fake_records_free(recs, n);
    return missing;
}

static void check_state(struct tu_env *env)
{
    char *ok = tu_db_text(env, "PRAGMA integrity_check", NULL);
    ck_assert_ptr_nonnull(ok);
    ck_assert_str_eq(ok, "ok");
    free(ok);
    const char *res[] = {"users", "groups", "projects"};
    for (int r = 0; r < 3; r++) {
        ck_assert_msg(tu_mirror_diff(env, "acme", res[r]) == 0, "acme/%s differs", res[r]);
        ck_assert_int_eq(tu_db_int(env,
                                   "SELECT count(*) FROM records WHERE tenant = 'acme' AND "
                                   "resource = ?1",
                                   res[r], NULL),
                         fake_count(env->fake, "acme", res[r]));
    }
    ck_assert_int_eq(tu_mirror_diff(env, "hook", "users"), 0);
    ck_assert_int_eq(tu_db_int(env, "SELECT count(*) FROM records WHERE tenant = 'hook'", NULL),
                     HOOK_USERS);
    ck_assert_int_eq(
        tu_db_int(env, "SELECT count(*) FROM records WHERE deleted_at IS NOT NULL", NULL), 0);
    ck_assert_int_eq(tu_db_int(env, "SELECT count(*) FROM dlq", NULL), 0);
    ck_assert_int_eq(undelivered(env, "hook"), 0);
    ck_assert_int_eq(tu_db_int(env,
                               "SELECT count(*) FROM checkpoints WHERE last_scan_status = "
                               "'complete' AND updated_after > '1970-01-01T00:00:00.000Z'",
                               NULL),
                     4);
}

START_TEST(uninterrupted_run_is_the_reference)
{
    struct tu_env env;
    char *ini;
    crash_env(&env, &ini);
    run_to_end(&env);
    check_state(&env);
    free(ini);
    tu_env_cleanup(&env);
}
END_TEST

START_TEST(sigkill_at_random_moments_loses_nothing)
{
    struct tu_env env;
    char *ini;
    crash_env(&env, &ini);
    unsigned seed = (unsigned)time(NULL);
    fprintf(stderr, "crash seed %u\n", seed);
    for (int round = 0; round < 6; round++) {
        pid_t pid = tu_daemon_spawn(&env, NULL, NULL);
        sleep_ms(30 + (int)(rand_r(&seed) % 900));
        ck_assert_int_eq(kill(pid, SIGKILL), 0);
        ck_assert_int_eq(tu_daemon_wait(pid, 5000), 128 + SIGKILL);
        if (getenv("VOMO_TEST_VERBOSE") && access(env.db_path, F_OK) == 0)
            fprintf(stderr, "round %d: %lld records\n", round,
                    (long long)tu_db_int(&env, "SELECT count(*) FROM records", NULL));
        /* Between crashes VOMO changes too. */
        ck_assert_int_ge(fake_mutate(env.fake, "acme", "users", 400), 0);
        ck_assert_int_ge(fake_mutate(env.fake, "hook", "users", 100), 0);
    }
    run_to_end(&env);
    check_state(&env);
    free(ini);
    tu_env_cleanup(&env);
}
END_TEST

static Suite *crash_suite(void)
{
    Suite *s = suite_create("crash");
    TCase *tc = tcase_create("sigkill");
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, uninterrupted_run_is_the_reference);
    tcase_add_test(tc, sigkill_at_random_moments_loses_nothing);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(crash_suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
