/*
 * check_lifecycle.c - closing a tenant is safe from every state it can be
 * in.  A reload (in-process engine_reload, and SIGHUP to the real binary)
 * removes or changes tenant acme while its work is queued behind an open
 * VOMO breaker, waits out a backoff or a Retry-After, is in flight, waits
 * behind a paused webhook destination, is stopped by a 401, or while a DLQ
 * job of it runs.  Each time the daemon goes on, the other tenant (beta)
 * keeps scanning, the retired tenant sends nothing more and frees every
 * handle it had, a second tenant_close() of it changes nothing, and the
 * engine stops with every handle closed (uv_loop_close() == 0); the real
 * binary exits 0 on SIGTERM afterwards.
 */
#include <check.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

#include "breaker.h"
#include "tenant.h"
#include "testutil.h"
#include "util.h"

/* ---- fixtures ---- */

static void add_fault(struct tu_env *env, const struct fake_fault *rule, int *id)
{
    int r = fake_add_fault(env->fake, rule);
    ck_assert_int_gt(r, 0);
    if (id)
        *id = r;
}

/* Applies the configuration file as SIGHUP would. */
static void reload(struct tu_env *env, struct tu_engine *te)
{
    struct cfg_errors errs;
    cfg_errors_init(&errs);
    struct config *cfg = NULL;
    if (cfg_load(env->config_path, 0, &cfg, &errs) < 0)
        cfg_errors_print(&errs, stderr);
    cfg_errors_free(&errs);
    ck_assert_ptr_nonnull(cfg);
    engine_reload(te->e, cfg);
}

static int requests_of(struct tu_env *env, const char *tenant)
{
    struct fake_request *reqs;
    size_t n;
    ck_assert_int_eq(fake_requests(env->fake, &reqs, &n), 0);
    int c = 0;
    for (size_t i = 0; i < n; i++)
        c += strcmp(reqs[i].tenant, tenant) == 0;
    fake_requests_free(reqs, n);
    return c;
}

static int64_t complete_of(struct engine *e, const char *tenant)
{
    struct tenant *t = engine_tenant(e, tenant);
    int64_t n = 0;
    for (int r = 0; t && r < RES_COUNT; r++)
        n += t->slots[r].scans_complete;
    return n;
}

struct progress {
    struct engine *e;
    const char *tenant;
    int64_t want;
};

static bool progressed(void *arg)
{
    struct progress *p = arg;
    return complete_of(p->e, p->tenant) >= p->want;
}

static bool beta_complete(void *arg)
{
    return complete_of(arg, "beta") >= 3; /* users, groups, projects once */
}

struct handles {
    struct engine *e;
    int want;
};

static bool handles_back(void *arg)
{
    struct handles *h = arg;
    return h->e->open_handles == h->want;
}

/* Which state acme must be in before the reload. */
typedef bool (*state_fn)(struct engine *e, struct tenant *acme);

struct state_arg {
    struct engine *e;
    state_fn fn;
};

static bool in_state(void *arg)
{
    struct state_arg *s = arg;
    struct tenant *t = engine_tenant(s->e, "acme");
    return t && s->fn(s->e, t);
}

static bool queued_behind_open_breaker(struct engine *e, struct tenant *t)
{
    return e->vomo_breaker.state == BREAKER_OPEN && t->vomo_lane.head != NULL;
}

/* A retry waits (its own not_before, or the rate gate after a 429) for at
 * least another half second. */
static bool retry_waiting(struct engine *e, struct tenant *t)
{
    (void)e;
    int64_t now = clock_mono_ms();
    for (struct lane_job *j = t->vomo_lane.head; j; j = j->next)
        if (j->not_before > now + 500)
            return true;
    return false;
}

static bool request_in_flight(struct engine *e, struct tenant *t)
{
    (void)e;
    return t->vomo_lane.in_flight > 0;
}

static bool destination_paused(struct engine *e, struct tenant *t)
{
    (void)e;
    return t->dest_paused && t->dest_lane.head != NULL;
}

static bool stopped_by_401(struct engine *e, struct tenant *t)
{
    (void)e;
    int scans = 0;
    for (int r = 0; r < RES_COUNT; r++)
        scans += t->slots[r].scan != NULL;
    return t->status == TENANT_AUTH_FAILED && scans == 0;
}

static bool dlq_job_running(struct engine *e, struct tenant *t)
{
    (void)e;
    int scans = 0;
    for (int r = 0; r < RES_COUNT; r++)
        scans += t->slots[r].scan != NULL;
    return t->busy > scans; /* the rest is DLQ work */
}

enum change { REMOVE, CHANGE };

struct scenario {
    const char *overrides;
    const char *acme;         /* acme's section as it runs first */
    const char *acme_changed; /* CHANGE: its section after the reload */
    enum change how;
    state_fn state;
    bool webhook; /* acme delivers to the fake's webhook sink */
};

static char *acme_ini(struct tu_env *env, const struct scenario *sc, const char *more)
{
    if (sc->webhook)
        return tu_webhook_tenant_ini(env, "acme", "users", "s3cret-value", NULL, more);
    return tu_tenant_ini("acme", more);
}

/*
 * Runs the engine until acme is in the scenario's state, reloads with acme
 * removed or changed, and checks that nothing is lost: the retired tenant
 * frees all it had (the engine's open handles come back to what they were),
 * a second close of it changes nothing, beta goes on, and the engine
 * stops with every handle closed.
 */
static void close_from(struct tu_env *env, const struct scenario *sc,
                       void (*provoke)(struct tu_env *env, struct tu_engine *te))
{
    char *a = acme_ini(env, sc, sc->acme);
    char *b = tu_tenant_ini("beta", NULL);
    char *both = xasprintf("%s%s", a, b);
    tu_config(env, sc->overrides, both);
    struct tu_engine te;
    tu_engine_start(env, &te);
    ck_assert(tu_run_until(&te, beta_complete, te.e, 10000));
    provoke(env, &te);
    struct state_arg st = {te.e, sc->state};
    ck_assert_msg(tu_run_until(&te, in_state, &st, 10000), "acme never reached the state");

    struct handles h = {te.e, te.e->open_handles};
    struct tenant *old = engine_tenant(te.e, "acme");
    char *after = NULL;
    if (sc->how == CHANGE) {
        char *a2 = acme_ini(env, sc, sc->acme_changed);
        after = xasprintf("%s%s", a2, b);
        free(a2);
    } else {
        after = xstrdup(b);
    }
    tu_config(env, sc->overrides, after);
    reload(env, &te);
    ck_assert_ptr_ne(engine_tenant(te.e, "acme"), old);
    tenant_close(old); /* closing twice is harmless (it is not freed before the loop runs) */
    ck_assert_msg(tu_run_until(&te, handles_back, &h, 10000),
                  "the retired tenant kept %d handle(s) open", te.e->open_handles - h.want);

    /* The other tenant keeps scanning. */
    struct progress p = {te.e, "beta", complete_of(te.e, "beta") + 3};
    ck_assert(fake_mutate(env->fake, "beta", "users", 2) == 2);
    fake_clear_faults(env->fake);
    ck_assert_msg(tu_run_until(&te, progressed, &p, 10000), "beta stopped scanning");
    ck_assert_int_eq(tu_mirror_diff(env, "beta", "users"), 0);
    if (sc->how == REMOVE) {
        /* The removed tenant sends nothing more. */
        fake_requests_clear(env->fake);
        tu_run_for(&te, 600);
        ck_assert_int_eq(requests_of(env, "acme"), 0);
    } else {
        /* The changed tenant starts again under its new settings. */
        struct progress pa = {te.e, "acme", 1};
        ck_assert_msg(tu_run_until(&te, progressed, &pa, 10000), "the changed tenant never ran");
    }
    tu_engine_stop(&te); /* asserts uv_loop_close() == 0 */
    free(a);
    free(b);
    free(both);
    free(after);
}

static void fail_acme_503(struct tu_env *env, struct tu_engine *te)
{
    add_fault(env, &(struct fake_fault){.tenant = "acme", .kind = FAKE_FAULT_STATUS, .status = 503},
              NULL);
    ck_assert(fake_mutate(env->fake, "acme", "users", 1) == 1);
    (void)te;
}

static void fail_acme_429(struct tu_env *env, struct tu_engine *te)
{
    add_fault(env,
              &(struct fake_fault){
                  .tenant = "acme", .kind = FAKE_FAULT_STATUS, .status = 429, .retry_after = "20"},
              NULL);
    ck_assert(fake_mutate(env->fake, "acme", "users", 1) == 1);
    (void)te;
}

static void delay_acme(struct tu_env *env, struct tu_engine *te)
{
    add_fault(env,
              &(struct fake_fault){.tenant = "acme", .kind = FAKE_FAULT_DELAY, .delay_ms = 800},
              NULL);
    ck_assert(fake_mutate(env->fake, "acme", "users", 1) == 1);
    (void)te;
}

static void refuse_acme_webhook(struct tu_env *env, struct tu_engine *te)
{
    add_fault(
        env, &(struct fake_fault){.path = "/_hooks/acme", .kind = FAKE_FAULT_STATUS, .status = 401},
        NULL);
    ck_assert(fake_mutate(env->fake, "acme", "users", 20) == 20);
    (void)te;
}

static void revoke_acme(struct tu_env *env, struct tu_engine *te)
{
    ck_assert_int_eq(fake_revoke(env->fake, "acme", true), 0);
    ck_assert(fake_mutate(env->fake, "acme", "users", 1) == 1);
    (void)te;
}

/* A dead letter of acme due now, whose re-fetch VOMO answers slowly. */
static void dead_letter_acme(struct tu_env *env, struct tu_engine *te)
{
    add_fault(env,
              &(struct fake_fault){.method = "GET",
                                   .path = "/v1/users/*",
                                   .tenant = "acme",
                                   .kind = FAKE_FAULT_DELAY,
                                   .delay_ms = 1500},
              NULL);
    char now[TS_LEN];
    ts_format(clock_wall_ms(), now);
    struct dlq_new n = {.tenant = "acme",
                        .resource = "users",
                        .record_id = "3",
                        .record_updated_at = "2020-01-01T00:00:00.000Z",
                        .status = "pending",
                        .error_class = "transient",
                        .http_status = 503,
                        .attempts = 1,
                        .next_attempt_at = TS_EPOCH,
                        .last_error = "HTTP 503",
                        .payload = "{}",
                        .now = now};
    ck_assert_int_eq(store_dlq_add(te->store, &n, NULL), 0);
}

#define FAST "breaker.failure_threshold = 50\n"

START_TEST(remove_while_queued_behind_open_breaker)
{
    struct tu_env env;
    tu_env_init(&env, NULL);
    tu_tenant(&env, "acme", 30, 3, 3);
    tu_tenant(&env, "beta", 20, 3, 3);
    tu_fake_start(&env);
    struct scenario sc = {.overrides = "breaker.failure_threshold = 1\nbreaker.open_timeout = 1s\n",
                          .acme = "resources = users",
                          .how = REMOVE,
                          .state = queued_behind_open_breaker};
    close_from(&env, &sc, fail_acme_503);
    tu_env_cleanup(&env);
}
END_TEST

START_TEST(change_while_queued_behind_open_breaker)
{
    struct tu_env env;
    tu_env_init(&env, NULL);
    tu_tenant(&env, "acme", 30, 3, 3);
    tu_tenant(&env, "beta", 20, 3, 3);
    tu_fake_start(&env);
    struct scenario sc = {.overrides = "breaker.failure_threshold = 1\nbreaker.open_timeout = 1s\n",
                          .acme = "resources = users",
                          .acme_changed = "resources = users, groups",
                          .how = CHANGE,
                          .state = queued_behind_open_breaker};
    close_from(&env, &sc, fail_acme_503);
    tu_env_cleanup(&env);
}
END_TEST

START_TEST(change_while_waiting_out_a_backoff)
{
    struct tu_env env;
    tu_env_init(&env, NULL);
    tu_tenant(&env, "acme", 30, 3, 3);
    tu_tenant(&env, "beta", 20, 3, 3);
    tu_fake_start(&env);
    struct scenario sc = {
        .overrides =
            FAST "retry.base_delay = 10s\nretry.max_delay = 10s\nretry.max_attempts = 20\n",
        .acme = "resources = users",
        .acme_changed = "resources = users, projects",
        .how = CHANGE,
        .state = retry_waiting};
    close_from(&env, &sc, fail_acme_503);
    tu_env_cleanup(&env);
}
END_TEST

START_TEST(remove_while_waiting_out_a_retry_after)
{
    struct tu_env env;
    tu_env_init(&env, NULL);
    tu_tenant(&env, "acme", 30, 3, 3);
    tu_tenant(&env, "beta", 20, 3, 3);
    tu_fake_start(&env);
    struct scenario sc = {
        .overrides = FAST, .acme = "resources = users", .how = REMOVE, .state = retry_waiting};
    close_from(&env, &sc, fail_acme_429);
    tu_env_cleanup(&env);
}
END_TEST

START_TEST(remove_while_a_request_is_in_flight)
{
    struct tu_env env;
    tu_env_init(&env, NULL);
    tu_tenant(&env, "acme", 30, 3, 3);
    tu_tenant(&env, "beta", 20, 3, 3);
    tu_fake_start(&env);
    struct scenario sc = {
        .overrides = FAST, .acme = "resources = users", .how = REMOVE, .state = request_in_flight};
    close_from(&env, &sc, delay_acme);
    tu_env_cleanup(&env);
}
END_TEST

START_TEST(remove_while_the_destination_is_paused)
{
    struct tu_env env;
    tu_env_init(&env, NULL);
    tu_tenant(&env, "acme", 30, 3, 3);
    tu_tenant(&env, "beta", 20, 3, 3);
    tu_fake_start(&env);
    struct scenario sc = {.overrides = FAST "breaker.open_timeout = 5s\n",
                          .how = REMOVE,
                          .state = destination_paused,
                          .webhook = true};
    close_from(&env, &sc, refuse_acme_webhook);
    tu_env_cleanup(&env);
}
END_TEST

START_TEST(change_while_the_destination_is_paused)
{
    struct tu_env env;
    tu_env_init(&env, NULL);
    tu_tenant(&env, "acme", 30, 3, 3);
    tu_tenant(&env, "beta", 20, 3, 3);
    tu_fake_start(&env);
    struct scenario sc = {.overrides = FAST "breaker.open_timeout = 5s\n",
                          .acme_changed = "checkpoint_mode = hold",
                          .how = CHANGE,
                          .state = destination_paused,
                          .webhook = true};
    close_from(&env, &sc, refuse_acme_webhook);
    tu_env_cleanup(&env);
}
END_TEST

START_TEST(remove_while_stopped_by_401)
{
    struct tu_env env;
    tu_env_init(&env, NULL);
    tu_tenant(&env, "acme", 30, 3, 3);
    tu_tenant(&env, "beta", 20, 3, 3);
    tu_fake_start(&env);
    struct scenario sc = {
        .overrides = FAST, .acme = "resources = users", .how = REMOVE, .state = stopped_by_401};
    close_from(&env, &sc, revoke_acme);
    tu_env_cleanup(&env);
}
END_TEST

START_TEST(remove_while_a_dlq_job_runs)
{
    struct tu_env env;
    tu_env_init(&env, NULL);
    tu_tenant(&env, "acme", 30, 3, 3);
    tu_tenant(&env, "beta", 20, 3, 3);
    tu_fake_start(&env);
    struct scenario sc = {
        .overrides = FAST, .acme = "resources = users", .how = REMOVE, .state = dlq_job_running};
    close_from(&env, &sc, dead_letter_acme);
    tu_env_cleanup(&env);
}
END_TEST

/* ---- the real binary ---- */

static bool log_has(struct tu_env *env, const char *needle)
{
    char *log = tu_daemon_log(env);
    bool has = strstr(log, needle) != NULL;
    free(log);
    return has;
}

struct log_arg {
    struct tu_env *env;
    const char *needle;
};

static bool log_says(void *arg)
{
    struct log_arg *l = arg;
    return log_has(l->env, l->needle);
}

static bool vomo_breaker_open(void *arg)
{
    char *s = tu_db_text(arg, "SELECT state FROM breakers WHERE name = 'vomo'", NULL);
    bool open = s && strcmp(s, "open") == 0;
    free(s);
    return open;
}

struct hits_arg {
    struct tu_env *env;
    int id;
};

static bool fault_hit(void *arg)
{
    struct hits_arg *h = arg;
    return fake_fault_hits(h->env->fake, h->id) >= 1;
}

static bool beta_mirrored(void *arg)
{
    return tu_mirror_diff(arg, "beta", "users") == 0;
}

static bool still_running(pid_t pid)
{
    int status;
    return waitpid(pid, &status, WNOHANG) == 0;
}

/* The daemon with acme and beta; once `ready` holds, SIGHUP with acme
 * removed: the daemon keeps running, beta keeps syncing, SIGTERM exits 0. */
static void sighup_from(const char *overrides, const struct fake_fault *fault,
                        bool (*ready)(void *arg), bool wait_on_hits)
{
    struct tu_env env;
    tu_env_init(&env, NULL);
    tu_tenant(&env, "acme", 30, 3, 3);
    tu_tenant(&env, "beta", 20, 3, 3);
    tu_fake_start(&env);
    char *a = tu_tenant_ini("acme", "resources = users"), *b = tu_tenant_ini("beta", NULL);
    char *both = xasprintf("%s%s", a, b);
    char *ov = xasprintf("daemon.log_level = info\n%s", overrides);
    tu_config(&env, ov, both);
    pid_t pid = tu_daemon_spawn(&env, NULL, NULL);
    struct log_arg started = {&env, "sync engine started"};
    ck_assert_msg(tu_wait(log_says, &started, 10000), "the daemon did not start");
    ck_assert(tu_wait(beta_mirrored, &env, 10000));
    struct hits_arg h = {&env, 0};
    add_fault(&env, fault, &h.id);
    ck_assert(fake_mutate(env.fake, "acme", "users", 1) == 1);
    ck_assert_msg(
        tu_wait(wait_on_hits ? fault_hit : ready, wait_on_hits ? (void *)&h : &env, 10000),
        "acme never reached the state");
    tu_config(&env, ov, b);
    ck_assert_int_eq(kill(pid, SIGHUP), 0);
    struct log_arg l = {&env, "configuration reloaded: 1 tenant(s)"};
    ck_assert_msg(tu_wait(log_says, &l, 5000), "no reload in the log (the daemon %s)",
                  still_running(pid) ? "runs" : "died");
    ck_assert_msg(still_running(pid), "the daemon died on SIGHUP");
    ck_assert(fake_mutate(env.fake, "beta", "users", 3) == 3);
    ck_assert_msg(tu_wait(beta_mirrored, &env, 10000), "beta stopped syncing after the reload");
    ck_assert(still_running(pid));
    ck_assert_int_eq(kill(pid, SIGTERM), 0);
    ck_assert_int_eq(tu_daemon_wait(pid, 10000), 0);
    free(a);
    free(b);
    free(both);
    free(ov);
    tu_env_cleanup(&env);
}

START_TEST(binary_sighup_while_queued_behind_open_breaker)
{
    sighup_from("breaker.failure_threshold = 1\nbreaker.open_timeout = 2s\n",
                &(struct fake_fault){.tenant = "acme", .kind = FAKE_FAULT_STATUS, .status = 503},
                vomo_breaker_open, false);
}
END_TEST

START_TEST(binary_sighup_while_waiting_out_a_retry_after)
{
    sighup_from(
        FAST,
        &(struct fake_fault){
            .tenant = "acme", .kind = FAKE_FAULT_STATUS, .status = 429, .retry_after = "20"},
        NULL, true);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("lifecycle");
    TCase *tc = tcase_create("close");
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, remove_while_queued_behind_open_breaker);
    tcase_add_test(tc, change_while_queued_behind_open_breaker);
    tcase_add_test(tc, change_while_waiting_out_a_backoff);
    tcase_add_test(tc, remove_while_waiting_out_a_retry_after);
    tcase_add_test(tc, remove_while_a_request_is_in_flight);
    tcase_add_test(tc, remove_while_the_destination_is_paused);
    tcase_add_test(tc, change_while_the_destination_is_paused);
    tcase_add_test(tc, remove_while_stopped_by_401);
    tcase_add_test(tc, remove_while_a_dlq_job_runs);
    suite_add_tcase(s, tc);
    TCase *bin = tcase_create("binary");
    tcase_set_timeout(bin, 60);
    tcase_add_test(bin, binary_sighup_while_queued_behind_open_breaker);
    tcase_add_test(bin, binary_sighup_while_waiting_out_a_retry_after);
    suite_add_tcase(s, bin);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
