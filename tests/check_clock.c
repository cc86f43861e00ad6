/*
 * check_clock.c - durations are measured on the monotonic clock.  The wall
 * clock of this process is stepped back an hour (clock_wall_step, a test
 * hook in util) while the VOMO breaker is open, while a retry waits out
 * its backoff, and while a 429's Retry-After holds the token: the breaker
 * still half-opens and closes after breaker.open_timeout, and neither wait
 * is extended by the step.  Stored and logged times still follow the wall
 * clock.
 */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "breaker.h"
#include "tenant.h"
#include "testutil.h"
#include "util.h"

#define HOUR_MS (3600 * 1000)

static void add_fault(struct tu_env *env, const struct fake_fault *rule)
{
    ck_assert_int_gt(fake_add_fault(env->fake, rule), 0);
}

static bool first_scans_done(void *arg)
{
    return tu_scans_at_least(arg, 1);
}

static bool breaker_open(void *arg)
{
    return ((struct engine *)arg)->vomo_breaker.state == BREAKER_OPEN;
}

static bool breaker_closed(void *arg)
{
    return ((struct engine *)arg)->vomo_breaker.state == BREAKER_CLOSED;
}

/* A retry of acme's waits in its lane (its own not_before). */
static bool retry_queued(void *arg)
{
    struct tenant *t = engine_tenant(arg, "acme");
    for (struct lane_job *j = t ? t->vomo_lane.head : NULL; j; j = j->next)
        if (j->not_before > 0)
            return true;
    return false;
}

/* The rate gate of acme holds its requests after a 429. */
static bool token_held(void *arg)
{
    struct tenant *t = engine_tenant(arg, "acme");
    return t && t->gate.blocked_until > 0 && t->vomo_lane.head != NULL;
}

struct complete {
    struct engine *e;
    int64_t want;
};

static bool users_complete(void *arg)
{
    struct complete *c = arg;
    struct tenant *t = engine_tenant(c->e, "acme");
    return t && t->slots[RES_USERS].scans_complete >= c->want;
}

static void start(struct tu_env *env, struct tu_engine *te, const char *overrides)
{
    tu_env_init(env, NULL);
    tu_tenant(env, "acme", 30, 1, 1);
    tu_fake_start(env);
    char *ini = tu_tenant_ini("acme", "resources = users");
    tu_config(env, overrides, ini);
    free(ini);
    tu_engine_start(env, te);
    ck_assert(tu_run_until(te, first_scans_done, te->e, 10000));
}

static void finish(struct tu_env *env, struct tu_engine *te)
{
    tu_engine_stop(te);
    clock_wall_step(0);
    tu_env_cleanup(env);
}

START_TEST(breaker_half_opens_after_open_timeout_when_the_wall_clock_steps_back)
{
    struct tu_env env;
    struct tu_engine te;
    start(&env, &te,
          "breaker.failure_threshold = 1\nbreaker.open_timeout = 300ms\npoll.interval = 100ms\n");
    add_fault(&env,
              &(struct fake_fault){.path = "/v1/*", .kind = FAKE_FAULT_STATUS, .status = 503});
    ck_assert(tu_run_until(&te, breaker_open, te.e, 5000));
    int64_t opened = clock_mono_ms();
    clock_wall_step(-HOUR_MS);
    fake_clear_faults(env.fake);
    ck_assert_msg(tu_run_until(&te, breaker_closed, te.e, 5000),
                  "the breaker stayed open after the wall clock stepped back");
    int64_t took = clock_mono_ms() - opened;
    ck_assert_msg(took < 3000, "closed only after %lld ms", (long long)took);
    /* and scans go on */
    struct complete c = {te.e, engine_tenant(te.e, "acme")->slots[RES_USERS].scans_complete + 2};
    ck_assert(tu_run_until(&te, users_complete, &c, 5000));
    finish(&env, &te);
}
END_TEST

START_TEST(backoff_is_not_extended_when_the_wall_clock_steps_back)
{
    struct tu_env env;
    struct tu_engine te;
    start(&env, &te, "retry.base_delay = 300ms\nretry.max_delay = 300ms\npoll.interval = 1h\n");
    struct complete c = {te.e, engine_tenant(te.e, "acme")->slots[RES_USERS].scans_complete + 1};
    add_fault(&env, &(struct fake_fault){.path = "/v1/users",
                                         .kind = FAKE_FAULT_STATUS,
                                         .status = 503,
                                         .count = 3}); /* three chances for a jittered wait */
    ck_assert_int_eq(fake_mutate(env.fake, "acme", "users", 2), 2);
    slot_schedule(&engine_tenant(te.e, "acme")->slots[RES_USERS], 0);
    ck_assert(tu_run_until(&te, retry_queued, te.e, 5000));
    int64_t queued = clock_mono_ms();
    clock_wall_step(-HOUR_MS);
    ck_assert_msg(tu_run_until(&te, users_complete, &c, 5000),
                  "the retry was held by the wall clock step");
    int64_t took = clock_mono_ms() - queued;
    ck_assert_msg(took < 2000, "the scan ended %lld ms later (three waits of at most 300)",
                  (long long)took);
    ck_assert_int_eq(tu_mirror_diff(&env, "acme", "users"), 0);
    finish(&env, &te);
}
END_TEST

START_TEST(retry_after_is_not_extended_when_the_wall_clock_steps_back)
{
    struct tu_env env;
    struct tu_engine te;
    start(&env, &te, "poll.interval = 1h\n");
    struct complete c = {te.e, engine_tenant(te.e, "acme")->slots[RES_USERS].scans_complete + 1};
    add_fault(&env, &(struct fake_fault){.path = "/v1/users",
                                         .kind = FAKE_FAULT_STATUS,
                                         .status = 429,
                                         .retry_after = "1",
                                         .count = 1});
    ck_assert_int_eq(fake_mutate(env.fake, "acme", "users", 2), 2);
    slot_schedule(&engine_tenant(te.e, "acme")->slots[RES_USERS], 0);
    ck_assert(tu_run_until(&te, token_held, te.e, 5000));
    int64_t held = clock_mono_ms();
    clock_wall_step(-HOUR_MS);
    ck_assert_msg(tu_run_until(&te, users_complete, &c, 6000),
                  "the Retry-After wait was extended by the wall clock step");
    int64_t took = clock_mono_ms() - held;
    ck_assert_msg(took >= 900 && took < 3000, "the retry came after %lld ms (Retry-After 1 s)",
                  (long long)took);
    ck_assert_int_eq(tu_mirror_diff(&env, "acme", "users"), 0);
    finish(&env, &te);
}
END_TEST

/* The hook itself: the wall clock moves, the monotonic one does not. */
START_TEST(the_wall_clock_step_moves_only_the_wall_clock)
{
    int64_t w0 = clock_wall_ms(), m0 = clock_mono_ms();
    clock_wall_step(-HOUR_MS);
    int64_t w1 = clock_wall_ms(), m1 = clock_mono_ms();
    clock_wall_step(0);
    ck_assert_int_le(w1, w0 - HOUR_MS + 1000);
    ck_assert_int_ge(m1, m0);
    ck_assert_int_lt(m1 - m0, 1000);
    ck_assert_int_ge(clock_wall_ms(), w0);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("clock");
    TCase *tc = tcase_create("monotonic");
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, the_wall_clock_step_moves_only_the_wall_clock);
    tcase_add_test(tc, breaker_half_opens_after_open_timeout_when_the_wall_clock_steps_back);
    tcase_add_test(tc, backoff_is_not_extended_when_the_wall_clock_steps_back);
    tcase_add_test(tc, retry_after_is_not_extended_when_the_wall_clock_steps_back);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
